/* intercept_cond.c — pthread_cond_*wait: the mutex is released during the wait.
 * The real functions are the GLIBC_2.3.2 ones (see fw_real.c). */
#include "fw_lockops.h"
#include "fw_real.h"

FW_EXPORT int pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m)
{
    struct fw_held *e = fw_cond_wait_begin(m);
    int rc = FW_REAL(cond_wait)(c, m);
    fw_cond_wait_end(e);
    return rc;
}

FW_EXPORT int pthread_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m, const struct timespec *t)
{
    struct fw_held *e = fw_cond_wait_begin(m);
    int rc = FW_REAL(cond_timedwait)(c, m, t);
    fw_cond_wait_end(e);
    return rc;
}

FW_EXPORT int pthread_cond_clockwait(pthread_cond_t *c, pthread_mutex_t *m, clockid_t clk,
                                     const struct timespec *t)
{
    struct fw_held *e = fw_cond_wait_begin(m);
    int rc = FW_REAL(cond_clockwait)(c, m, clk, t);
    fw_cond_wait_end(e);
    return rc;
}
