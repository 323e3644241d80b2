/* intercept_rwlock.c — pthread_rwlock_*: thin wrappers around fw_lockops.h. */
#include "fw_lockops.h"
#include "fw_real.h"

#define RD FW_KIND_RWLOCK_READ
#define WR FW_KIND_RWLOCK_WRITE
#define B FW_ACQ_BLOCKING
#define T FW_ACQ_TRY
#define TM FW_ACQ_TIMED
typedef pthread_rwlock_t *R;
typedef const struct timespec *TS;

FW_ACQ_WRAP(pthread_rwlock_rdlock, rwlock_rdlock, RD, B, rw, rc == 0,
            (R rw), (rw), (R rw, uint64_t cs), (rw, cs))
FW_ACQ_WRAP(pthread_rwlock_tryrdlock, rwlock_tryrdlock, RD, T, rw, rc == 0,
            (R rw), (rw), (R rw, uint64_t cs), (rw, cs))
FW_ACQ_WRAP(pthread_rwlock_timedrdlock, rwlock_timedrdlock, RD, TM, rw, rc == 0,
            (R rw, TS t), (rw, t), (R rw, TS t, uint64_t cs), (rw, t, cs))
FW_ACQ_WRAP(pthread_rwlock_clockrdlock, rwlock_clockrdlock, RD, TM, rw, rc == 0,
            (R rw, clockid_t c, TS t), (rw, c, t), (R rw, clockid_t c, TS t, uint64_t cs), (rw, c, t, cs))
FW_ACQ_WRAP(pthread_rwlock_wrlock, rwlock_wrlock, WR, B, rw, rc == 0,
            (R rw), (rw), (R rw, uint64_t cs), (rw, cs))
FW_ACQ_WRAP(pthread_rwlock_trywrlock, rwlock_trywrlock, WR, T, rw, rc == 0,
            (R rw), (rw), (R rw, uint64_t cs), (rw, cs))
FW_ACQ_WRAP(pthread_rwlock_timedwrlock, rwlock_timedwrlock, WR, TM, rw, rc == 0,
            (R rw, TS t), (rw, t), (R rw, TS t, uint64_t cs), (rw, t, cs))
FW_ACQ_WRAP(pthread_rwlock_clockwrlock, rwlock_clockwrlock, WR, TM, rw, rc == 0,
            (R rw, clockid_t c, TS t), (rw, c, t), (R rw, clockid_t c, TS t, uint64_t cs), (rw, c, t, cs))

FW_EXPORT int pthread_rwlock_unlock(pthread_rwlock_t *rw)
{
    /* read or write: whichever this thread holds */
    if (FW_UNLIKELY(!fw_rel_fast(rw, FW_KIND_NONE)))
        fw_release_slow(rw, FW_KIND_NONE);
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
