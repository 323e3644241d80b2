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

/* The inline acquire of a free semaphore by a tracked thread: glibc's
 * __new_sem_wait_fast (one CAS value -> value-1, acquire). The entry is filled
 * HELD just past held_used before the CAS (the in-flight marker of an inline
 * acquire, written only once the value was seen non-zero: a thread about to
 * block never looks like a holder) and published by raising held_used after it.
 * 1 = acquired and recorded; 0 = nothing changed (busy, CAS lost, or not a
 * case for the inline path); 2 = nothing changed, the call site is not in the
 * thread's cache (the caller refills it out of line and tries once more). */
static inline __attribute__((always_inline)) int sem_take_fast(sem_t *s, uint64_t cs)
{
    struct fw_thread *t = fw_tls.slot;
    if (FW_UNLIKELY(!t) || FW_UNLIKELY(fw_tls.guard | fw_hot_sem))
        return 0;
    uint32_t used = t->held_used;
    uint64_t stack_id;
    if (FW_UNLIKELY(used >= FW_MAX_HELD))
        return 0;
    if (FW_UNLIKELY(!fw_sc_hit(cs, &stack_id)))
        return 2;
    uint64_t *data = (uint64_t *)(void *)s;
    uint64_t d = __atomic_load_n(data, __ATOMIC_RELAXED);
    if ((d & SEM_VALUE_MASK) == 0)
        return 0;
    /* Held by this thread already (a CPython Condition waiter's lock; or its
     * entry sits below others: a CPython thread always holds its _tstate_lock)?
     * Then it keeps its one entry and needs no marker. Inline: it runs on every
     * Python lock acquire. */
    if (used != 0) {   /* (the test keeps the loop's set-up off the used == 0 path) */
        for (const struct fw_held *o = t->held + used; o != t->held;) {
            o--;
            if (FW_UNLIKELY(o->lock_addr == (uint64_t)(uintptr_t)s) &&
                __atomic_load_n(&o->state, __ATOMIC_RELAXED) == FW_HOLD_HELD)
                return __atomic_compare_exchange_n(data, &d, d - 1, 0, __ATOMIC_ACQUIRE,
                                                   __ATOMIC_RELAXED);
        }
    }
    /* The entry past held_used is the in-flight marker (fw_held_inflight);
     * acq_rel: it is visible before the semaphore changes. */
    struct fw_held *e = &t->held[used];
    fw_held_fill(t, e, (uint64_t)(uintptr_t)s, cs, SK, stack_id, FW_HOLD_HELD);
    if (FW_UNLIKELY(!__atomic_compare_exchange_n(data, &d, d - 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))) {
        __atomic_store_n(&e->state, FW_HOLD_EMPTY, __ATOMIC_RELEASE);
        return 0;
    }
    __atomic_store_n(&t->held_used, used + 1, __ATOMIC_RELEASE);
    return 1;
}

/* A cache miss: refill from the shared hash, one more inline attempt, else the
 * full path (which captures the stack of a new call site). */
static __attribute__((noinline)) int sem_wait_refill(sem_t *s, uint64_t cs)
{
    if (fw_sc_refill(cs) && sem_take_fast(s, cs) == 1)
        return 0;
    return sem_wait_cs(s, cs);
}

/* sem_wait = a cancellation check + glibc's non-blocking decrement + the
 * blocking wait. A free semaphore taken by a tracked thread goes through the
 * first two here (no call into glibc's sem_wait); anything else (busy, agent
 * guard, orphans in a child) takes the full path, which publishes ACQUIRING
 * before it may block. */
FW_EXPORT int sem_wait(sem_t *s)
{
    if (FW_LIKELY(fw_sem_inline_ok)) {
        /* A cancellation point even when it does not block (first: nothing of
         * ours is live across the call). The full path's sem_wait checks again.
         * The call site is read after it: only s lives across the call. */
        pthread_testcancel();
        uint64_t cs = FW_CALL_SITE();
        int r = sem_take_fast(s, cs);
        if (FW_LIKELY(r == 1))
            return 0;
        if (r == 2)
            return sem_wait_refill(s, cs);
        return sem_wait_cs(s, cs);
    }
    return sem_wait_cs(s, FW_CALL_SITE());
}

FW_ACQ_WRAP_CS(static __attribute__((noinline)), sem_trywait_cs, sem_trywait, SK, FW_ACQ_TRY, s, rc == 0,
               (S s, uint64_t cs), (s), (s, cs))

static __attribute__((noinline)) int sem_trywait_refill(sem_t *s, uint64_t cs)
{
    if (fw_sc_refill(cs) && sem_take_fast(s, cs) == 1)
        return 0;
    return sem_trywait_cs(s, cs);
}

/* glibc's sem_trywait is one attempt of the same CAS (EAGAIN otherwise, no
 * cancellation point). CPython tries every lock this way first. */
FW_EXPORT int sem_trywait(sem_t *s)
{
    uint64_t cs = FW_CALL_SITE();
    int r = sem_take_fast(s, cs);
    if (FW_LIKELY(r == 1))
        return 0;
    if (r == 2)
        return sem_trywait_refill(s, cs);
    return sem_trywait_cs(s, cs);
}
FW_ACQ_WRAP(sem_timedwait, sem_timedwait, SK, FW_ACQ_TIMED, s, rc == 0,
            (S s, TS t), (s, t), (S s, TS t, uint64_t cs), (s, t, cs))
FW_ACQ_WRAP(sem_clockwait, sem_clockwait, SK, FW_ACQ_TIMED, s, rc == 0,
            (S s, clockid_t c, TS t), (s, c, t), (S s, clockid_t c, TS t, uint64_t cs), (s, c, t, cs))

/* glibc's post when no waiter is registered and the value cannot overflow: one
 * CAS value -> value+1 (release) that wakes nobody; anything else is glibc's. */
static inline int sem_post_real(sem_t *s)
{
    if (FW_LIKELY(fw_sem_inline_ok)) {
        uint64_t *data = (uint64_t *)(void *)s;
        uint64_t d = __atomic_load_n(data, __ATOMIC_RELAXED);
        if ((d >> SEM_NWAITERS_SHIFT) == 0 && (d & SEM_VALUE_MASK) < SEM_VALUE_MAX_ &&
            __atomic_compare_exchange_n(data, &d, d + 1, 0, __ATOMIC_RELEASE, __ATOMIC_RELAXED))
            return 0;
    }
    return FW_REAL(sem_post)(s);
}

static __attribute__((noinline)) int sem_post_slow(sem_t *s)
{
    struct fw_thread *t = fw_sem_release(s);
    int rc = sem_post_real(s);
    if (t)
        fw_inflight_clear(t);
    return rc;
}

/* The fast post's CAS lost (the value or the waiters changed): glibc posts,
 * then the in-flight entry goes (out of line: no frame on the fast path). */
static __attribute__((noinline)) int sem_post_cas_lost(struct fw_held *e, sem_t *s)
{
    int rc = FW_REAL(sem_post)(s);
    __atomic_store_n(&e->state, FW_HOLD_EMPTY, __ATOMIC_RELEASE);
    return rc;
}

/* The common post: the semaphore is the calling thread's top entry, no waiter
 * is registered and the value cannot overflow. The entry leaves the published
 * ones (held_used lowered) before the value goes up, as the ordering rule asks,
 * but stays HELD past held_used, flagged as a release in flight, until after
 * the CAS: the child adopts it if the post had not happened (fw_orphan.c). A
 * CAS lost to another thread leaves the post to glibc. */
FW_EXPORT int sem_post(sem_t *s)
{
    struct fw_thread *t = fw_tls.slot;
    if (FW_LIKELY(t != 0) && FW_LIKELY((fw_tls.guard | fw_hot_sem) == 0)) {
        uint32_t used = t->held_used;
        if (FW_LIKELY(used - 1 < FW_MAX_HELD)) {   /* used == 0 too */
            struct fw_held *e = &t->held[used - 1];
            uint64_t *data = (uint64_t *)(void *)s;
            uint64_t d = __atomic_load_n(data, __ATOMIC_RELAXED);
            if (FW_LIKELY(e->lock_addr == (uint64_t)(uintptr_t)s) &&
                FW_LIKELY(*(const fw_u64_alias *)&e->kind ==
                          ((uint64_t)SK | ((uint64_t)FW_HOLD_HELD << 32))) &&
                FW_LIKELY(used == 1 || e[-1].state != FW_HOLD_EMPTY) &&
                FW_LIKELY((d >> SEM_NWAITERS_SHIFT) == 0) &&
                FW_LIKELY((d & SEM_VALUE_MASK) < SEM_VALUE_MAX_)) {
                __atomic_store_n(&t->held_used, used - 1, __ATOMIC_RELEASE);
                __atomic_store_n(&e->kind, SK | FW_KIND_INFL_RELEASE, __ATOMIC_RELEASE);
                if (FW_UNLIKELY(!__atomic_compare_exchange_n(data, &d, d + 1, 0, __ATOMIC_RELEASE,
                                                             __ATOMIC_RELAXED)))
                    return sem_post_cas_lost(e, s);
                __atomic_store_n(&e->state, FW_HOLD_EMPTY, __ATOMIC_RELEASE);
                return 0;
            }
        }
    }
    return sem_post_slow(s);
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
