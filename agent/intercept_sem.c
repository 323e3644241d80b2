/* intercept_sem.c — POSIX semaphores: a semaphore is held by the last thread
 * that took it; any thread may post it (CPython locks work this way). */
#include "fw_lockops.h"
#include "fw_real.h"

FW_EXPORT int sem_wait(sem_t *s)
{
    struct fw_op op;
    fw_acquire_begin(&op, s, FW_KIND_SEMAPHORE, FW_ACQ_BLOCKING, FW_CALL_SITE());
    int rc = FW_REAL(sem_wait)(s);
    fw_acquire_end(&op, rc == 0, FW_KIND_SEMAPHORE);
    return rc;
}

FW_EXPORT int sem_trywait(sem_t *s)
{
    struct fw_op op;
    fw_acquire_begin(&op, s, FW_KIND_SEMAPHORE, FW_ACQ_TRY, FW_CALL_SITE());
    int rc = FW_REAL(sem_trywait)(s);
    fw_acquire_end(&op, rc == 0, FW_KIND_SEMAPHORE);
    return rc;
}

FW_EXPORT int sem_timedwait(sem_t *s, const struct timespec *t)
{
    struct fw_op op;
    fw_acquire_begin(&op, s, FW_KIND_SEMAPHORE, FW_ACQ_TIMED, FW_CALL_SITE());
    int rc = FW_REAL(sem_timedwait)(s, t);
    fw_acquire_end(&op, rc == 0, FW_KIND_SEMAPHORE);
    return rc;
}

FW_EXPORT int sem_clockwait(sem_t *s, clockid_t clk, const struct timespec *t)
{
    struct fw_op op;
    fw_acquire_begin(&op, s, FW_KIND_SEMAPHORE, FW_ACQ_TIMED, FW_CALL_SITE());
    int rc = FW_REAL(sem_clockwait)(s, clk, t);
    fw_acquire_end(&op, rc == 0, FW_KIND_SEMAPHORE);
    return rc;
}

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
