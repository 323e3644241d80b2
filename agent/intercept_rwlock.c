/* intercept_rwlock.c — pthread_rwlock_*: thin wrappers around fw_lockops.h. */
#include "fw_lockops.h"
#include "fw_real.h"

#define RD FW_KIND_RWLOCK_READ
#define WR FW_KIND_RWLOCK_WRITE

#define RW_WRAP(name, field, kind, mode, PARAMS, ARGS)              \
    FW_EXPORT int name PARAMS                                       \
    {                                                               \
        struct fw_op op;                                            \
        fw_acquire_begin(&op, rw, kind, mode, FW_CALL_SITE());      \
        int rc = FW_REAL(field) ARGS;                               \
        fw_acquire_end(&op, rc == 0, kind);                               \
        return rc;                                                  \
    }

RW_WRAP(pthread_rwlock_rdlock, rwlock_rdlock, RD, FW_ACQ_BLOCKING, (pthread_rwlock_t *rw), (rw))
RW_WRAP(pthread_rwlock_tryrdlock, rwlock_tryrdlock, RD, FW_ACQ_TRY, (pthread_rwlock_t *rw), (rw))
RW_WRAP(pthread_rwlock_timedrdlock, rwlock_timedrdlock, RD, FW_ACQ_TIMED,
        (pthread_rwlock_t *rw, const struct timespec *t), (rw, t))
RW_WRAP(pthread_rwlock_clockrdlock, rwlock_clockrdlock, RD, FW_ACQ_TIMED,
        (pthread_rwlock_t *rw, clockid_t c, const struct timespec *t), (rw, c, t))
RW_WRAP(pthread_rwlock_wrlock, rwlock_wrlock, WR, FW_ACQ_BLOCKING, (pthread_rwlock_t *rw), (rw))
RW_WRAP(pthread_rwlock_trywrlock, rwlock_trywrlock, WR, FW_ACQ_TRY, (pthread_rwlock_t *rw), (rw))
RW_WRAP(pthread_rwlock_timedwrlock, rwlock_timedwrlock, WR, FW_ACQ_TIMED,
        (pthread_rwlock_t *rw, const struct timespec *t), (rw, t))
RW_WRAP(pthread_rwlock_clockwrlock, rwlock_clockwrlock, WR, FW_ACQ_TIMED,
        (pthread_rwlock_t *rw, clockid_t c, const struct timespec *t), (rw, c, t))

FW_EXPORT int pthread_rwlock_unlock(pthread_rwlock_t *rw)
{
    fw_release(rw, FW_KIND_NONE);   /* read or write: whichever this thread holds */
    return FW_REAL(rwlock_unlock)(rw);
}

FW_EXPORT int pthread_rwlock_init(pthread_rwlock_t *rw, const pthread_rwlockattr_t *attr)
{
    fw_lock_reinit(rw, FW_KIND_RWLOCK_WRITE, 0);
    return FW_REAL(rwlock_init)(rw, attr);
}

FW_EXPORT int pthread_rwlock_destroy(pthread_rwlock_t *rw)
{
    fw_lock_reinit(rw, FW_KIND_RWLOCK_WRITE, 1);
    return FW_REAL(rwlock_destroy)(rw);
}
