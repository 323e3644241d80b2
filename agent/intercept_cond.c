/* intercept_cond.c — pthread_cond_*wait: the mutex is released during the wait.
 * The real functions are the GLIBC_2.3.2 ones (see fw_real.c).
 *
 * A wait is a cancellation point: when the waiter is cancelled, glibc takes the
 * mutex back before the thread's cleanup handlers run (which usually unlock it),
 * and unwinds through this wrapper. A cleanup handler of our own marks the entry
 * HELD again on that way out, so that the program's handler finds it and the
 * unlock removes it (pthread_cleanup_push works in C without -fexceptions). */
#include "fw_gil.h"
#include "fw_lockops.h"
#include "fw_real.h"

static void cond_wait_cancelled(void *e)
{
    fw_cond_wait_end(e);
}

/* In a fork child whose GIL a vanished thread holds, a wait on the GIL's cond
 * (take_gil) is reported before it blocks; otherwise one predictable branch. */
#define COND_WAIT(CALL)                                     \
    if (FW_UNLIKELY(fw_gil_watch))                          \
        fw_gil_on_cond_wait(c, FW_CALL_SITE());             \
    struct fw_held *volatile e = fw_cond_wait_begin(m);   /* kept across setjmp */              \
    int rc;                                                 \
    pthread_cleanup_push(cond_wait_cancelled, e);           \
    rc = CALL;                                              \
    pthread_cleanup_pop(0);                                 \
    fw_cond_wait_end(e);                                    \
    return rc

FW_EXPORT int pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m)
{
    COND_WAIT(FW_REAL(cond_wait)(c, m));
}

FW_EXPORT int pthread_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m, const struct timespec *t)
{
    COND_WAIT(FW_REAL(cond_timedwait)(c, m, t));
}

FW_EXPORT int pthread_cond_clockwait(pthread_cond_t *c, pthread_mutex_t *m, clockid_t clk,
                                     const struct timespec *t)
{
    COND_WAIT(FW_REAL(cond_clockwait)(c, m, clk, t));
}
