/* intercept_mutex.c — pthread_mutex_*: thin wrappers around fw_lockops.h. */
#include "fw_lockops.h"
#include "fw_real.h"

#include <errno.h>

/* A robust mutex whose owner died is acquired with EOWNERDEAD. */
static inline int mutex_acquired(int rc)
{
    return rc == 0 || rc == EOWNERDEAD;
}

FW_EXPORT int pthread_mutex_lock(pthread_mutex_t *m)
{
    struct fw_op op;
    fw_acquire_begin(&op, m, FW_KIND_MUTEX, FW_ACQ_BLOCKING, FW_CALL_SITE());
    int rc = FW_REAL(mutex_lock)(m);
    fw_acquire_end(&op, mutex_acquired(rc), FW_KIND_MUTEX);
    return rc;
}

FW_EXPORT int pthread_mutex_trylock(pthread_mutex_t *m)
{
    struct fw_op op;
    fw_acquire_begin(&op, m, FW_KIND_MUTEX, FW_ACQ_TRY, FW_CALL_SITE());
    int rc = FW_REAL(mutex_trylock)(m);
    fw_acquire_end(&op, mutex_acquired(rc), FW_KIND_MUTEX);
    return rc;
}

FW_EXPORT int pthread_mutex_timedlock(pthread_mutex_t *m, const struct timespec *abstime)
{
    struct fw_op op;
    fw_acquire_begin(&op, m, FW_KIND_MUTEX, FW_ACQ_TIMED, FW_CALL_SITE());
    int rc = FW_REAL(mutex_timedlock)(m, abstime);
    fw_acquire_end(&op, mutex_acquired(rc), FW_KIND_MUTEX);
    return rc;
}

FW_EXPORT int pthread_mutex_clocklock(pthread_mutex_t *m, clockid_t clk, const struct timespec *abstime)
{
    struct fw_op op;
    fw_acquire_begin(&op, m, FW_KIND_MUTEX, FW_ACQ_TIMED, FW_CALL_SITE());
    int rc = FW_REAL(mutex_clocklock)(m, clk, abstime);
    fw_acquire_end(&op, mutex_acquired(rc), FW_KIND_MUTEX);
    return rc;
}

FW_EXPORT int pthread_mutex_unlock(pthread_mutex_t *m)
{
    fw_release(m, FW_KIND_MUTEX);
    return FW_REAL(mutex_unlock)(m);
}

FW_EXPORT int pthread_mutex_init(pthread_mutex_t *m, const pthread_mutexattr_t *attr)
{
    fw_lock_reinit(m, FW_KIND_MUTEX, 0);
    return FW_REAL(mutex_init)(m, attr);
}

FW_EXPORT int pthread_mutex_destroy(pthread_mutex_t *m)
{
    fw_lock_reinit(m, FW_KIND_MUTEX, 1);
    return FW_REAL(mutex_destroy)(m);
}
