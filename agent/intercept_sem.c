/* intercept_sem.c — POSIX semaphores: a semaphore is held by the last thread
 * that took it; any thread may post it (CPython locks work this way). */
#include "fw_lockops.h"
#include "fw_real.h"

typedef sem_t *S;
typedef const struct timespec *TS;
#define SK FW_KIND_SEMAPHORE

FW_ACQ_WRAP(sem_wait, sem_wait, SK, FW_ACQ_BLOCKING, s, rc == 0,
            (S s), (s), (S s, uint64_t cs), (s, cs))
FW_ACQ_WRAP(sem_trywait, sem_trywait, SK, FW_ACQ_TRY, s, rc == 0,
            (S s), (s), (S s, uint64_t cs), (s, cs))
FW_ACQ_WRAP(sem_timedwait, sem_timedwait, SK, FW_ACQ_TIMED, s, rc == 0,
            (S s, TS t), (s, t), (S s, TS t, uint64_t cs), (s, t, cs))
FW_ACQ_WRAP(sem_clockwait, sem_clockwait, SK, FW_ACQ_TIMED, s, rc == 0,
            (S s, clockid_t c, TS t), (s, c, t), (S s, clockid_t c, TS t, uint64_t cs), (s, c, t, cs))

FW_EXPORT int sem_post(sem_t *s)
{
    fw_sem_release(s);
    return FW_REAL(sem_post)(s);
}

FW_EXPORT int sem_init(sem_t *s, int pshared, unsigned int value)
{
    fw_lock_reinit(s, FW_KIND_SEMAPHORE, 0);
    return FW_REAL(sem_init)(s, pshared, value);
}

FW_EXPORT int sem_destroy(sem_t *s)
{
    fw_lock_reinit(s, FW_KIND_SEMAPHORE, 1);
    return FW_REAL(sem_destroy)(s);
}
