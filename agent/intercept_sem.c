/* intercept_sem.c — POSIX semaphores: a semaphore is held by the last thread
 * that took it; any thread may post it (CPython locks work this way). */
#include "fw_lockops.h"
#include "fw_real.h"

typedef sem_t *S;
typedef const struct timespec *TS;
#define SK FW_KIND_SEMAPHORE

FW_ACQ_WRAP_CS(static __attribute__((noinline)), sem_wait_cs, sem_wait, SK, FW_ACQ_BLOCKING, s, rc == 0,
               (S s, uint64_t cs), (s), (s, cs))

/* glibc's 64-bit semaphore word (see fw_sem_inline_ok in fw_real.c). */
#define SEM_VALUE_MASK 0xffffffffull
#define SEM_VALUE_MAX_ 0x7fffffffull
#define SEM_NWAITERS_SHIFT 32

/* sem_wait = a cancellation check + glibc's non-blocking decrement + the
 * blocking wait. A free semaphore taken by a tracked thread goes through the
 * first two here (no call into glibc's sem_wait) and is recorded HELD just
 * after; anything else (busy, agent guard, orphans in a child) takes the full
 * path, which publishes ACQUIRING before it may block. */
FW_EXPORT int sem_wait(sem_t *s)
{
    uint64_t cs = FW_CALL_SITE();
    if (FW_UNLIKELY(!fw_sem_inline_ok))
        return sem_wait_cs(s, cs);
    /* A cancellation point even when it does not block (first: nothing of ours
     * is live across the call). The full path's glibc sem_wait checks again. */
    pthread_testcancel();
    struct fw_thread *t = fw_tls.slot;
    if (FW_LIKELY(t != 0) && FW_LIKELY(!(fw_tls.guard | fw_orphans_active))) {
        uint32_t used = t->held_used;
        uint32_t stack_id;
        if (FW_LIKELY(used < FW_MAX_HELD) && FW_LIKELY(fw_stack_id_hot(cs, &stack_id))) {
            uint64_t *data = (uint64_t *)(void *)s;
            uint64_t d = __atomic_load_n(data, __ATOMIC_RELAXED);
            if ((d & SEM_VALUE_MASK) != 0 &&
                __atomic_compare_exchange_n(data, &d, d - 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
                struct fw_held *e = &t->held[used];
                __atomic_store_n(&t->held_used, used + 1, __ATOMIC_RELEASE);
                fw_held_fill(t, e, (uint64_t)(uintptr_t)s, cs, SK, stack_id,
                             used == 0 ? FW_HOLD_HELD : FW_HOLD_EMPTY);
                if (used != 0)
                    fw_sem_dedupe(t, e);   /* held already by this thread: keep one entry */
                return 0;
            }
        }
    }
    return sem_wait_cs(s, cs);
}
FW_ACQ_WRAP(sem_trywait, sem_trywait, SK, FW_ACQ_TRY, s, rc == 0,
            (S s), (s), (S s, uint64_t cs), (s, cs))
FW_ACQ_WRAP(sem_timedwait, sem_timedwait, SK, FW_ACQ_TIMED, s, rc == 0,
            (S s, TS t), (s, t), (S s, TS t, uint64_t cs), (s, t, cs))
FW_ACQ_WRAP(sem_clockwait, sem_clockwait, SK, FW_ACQ_TIMED, s, rc == 0,
            (S s, clockid_t c, TS t), (s, c, t), (S s, clockid_t c, TS t, uint64_t cs), (s, c, t, cs))

FW_EXPORT int sem_post(sem_t *s)
{
    fw_sem_release(s);
    if (FW_LIKELY(fw_sem_inline_ok)) {
        /* no waiter registered and no overflow: glibc's post is this CAS alone */
        uint64_t *data = (uint64_t *)(void *)s;
        uint64_t d = __atomic_load_n(data, __ATOMIC_RELAXED);
        if ((d >> SEM_NWAITERS_SHIFT) == 0 && (d & SEM_VALUE_MASK) < SEM_VALUE_MAX_ &&
            __atomic_compare_exchange_n(data, &d, d + 1, 0, __ATOMIC_RELEASE, __ATOMIC_RELAXED))
            return 0;
    }
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
