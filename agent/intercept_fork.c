/* intercept_fork.c — fork, _Fork, forkpty (glibc's forkpty calls its internal
 * fork, so it needs its own wrapper). vfork is left alone on purpose. */
#include "fw_fork.h"
#include "fw_real.h"
#include "fw_registry.h"
#include "fw_thread.h"

#include <pty.h>

static inline int tracked(void)
{
    return fw_enabled && !fw_tls_guard;
}

static inline void after(pid_t pid)
{
    if (pid == 0)
        fw_fork_child();
    else
        fw_fork_parent(pid);
}

FW_EXPORT pid_t fork(void)
{
    if (!tracked())
        return FW_REAL(fork)();
    fw_fork_prepare(FW_VIA_FORK);
    pid_t pid = FW_REAL(fork)();
    after(pid);
    return pid;
}

FW_EXPORT pid_t _Fork(void)
{
    if (!tracked())
        return FW_REAL(underscore_fork)();
    fw_fork_prepare(FW_VIA_UNDERSCORE_FORK);
    pid_t pid = FW_REAL(underscore_fork)();
    after(pid);
    return pid;
}

FW_EXPORT pid_t forkpty(int *amaster, char *name, const struct termios *tp, const struct winsize *wp)
{
    if (!tracked())
        return FW_REAL(forkpty)(amaster, name, tp, wp);
    fw_fork_prepare(FW_VIA_FORKPTY);
    pid_t pid = FW_REAL(forkpty)(amaster, name, tp, wp);
    after(pid);
    return pid;
}
