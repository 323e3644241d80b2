/* intercept_setname.c — pthread_setname_np keeps the slot's name fresh. */
#include "fw_real.h"
#include "fw_registry.h"
#include "fw_thread.h"

FW_EXPORT int pthread_setname_np(pthread_t thread, const char *name)
{
    int rc = FW_REAL(setname_np)(thread, name);
    if (rc == 0 && fw_enabled)
        fw_thread_rename(thread, name);
    return rc;
}
