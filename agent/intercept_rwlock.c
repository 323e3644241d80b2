/* intercept_rwlock.c — pthread_rwlock_*: thin wrappers around fw_lockops.h,
 * with glibc's uncontended reader protocol inlined (fw_rwlock_inline_ok). */
#include "fw_lockops.h"
#include "fw_real.h"

#define RD FW_KIND_RWLOCK_READ
#define WR FW_KIND_RWLOCK_WRITE
#define B FW_ACQ_BLOCKING
#define T FW_ACQ_TRY
#define TM FW_ACQ_TIMED
typedef pthread_rwlock_t *R;
typedef const struct timespec *TS;

/* glibc 2.25+ (nptl/pthread_rwlock_common.c): __readers holds WRPHASE (1),
 * WRLOCKED (2), RWAITING (4) and the reader count from bit 3. */
#define RW_FLAGS 7u
#define RW_READER_INC 8u
#define RW_READERS_SAFE (1u << 30)   /* far below glibc's overflow bit */

FW_ACQ_WRAP_CS(static __attribute__((noinline)), rdlock_cs, rwlock_rdlock, RD, B, rw, rc == 0,
               (R rw, uint64_t cs), (rw), (rw, cs))
FW_ACQ_WRAP_CS(static __attribute__((noinline)), tryrdlock_cs, rwlock_tryrdlock, RD, T, rw, rc == 0,
               (R rw, uint64_t cs), (rw), (rw, cs))

/* A read lock taken by a tracked thread in a read phase with no writer and no
 * waiting flag: glibc's rdlock (and tryrdlock) register the reader with one
 * atomic add and return; a CAS of the same value does exactly that. The
 * entry, filled HELD just past held_used before the CAS (the in-flight marker
 * of an inline acquire, once the lock was seen free of writers), is published
 * by raising held_used after it. 1 = acquired and
 * recorded; 0 = nothing changed, glibc takes over. */
static inline __attribute__((always_inline)) int rd_take_fast(pthread_rwlock_t *rw, uint64_t cs)
{
    struct fw_thread *t = fw_tls.slot;
    if (FW_UNLIKELY(!t) || FW_UNLIKELY(fw_tls.guard | fw_hot_rwlock))
        return 0;
    uint32_t used = t->held_used;
    uint64_t stack_id;
    if (FW_UNLIKELY(used >= FW_MAX_HELD))
        return 0;
    if (FW_UNLIKELY(!fw_sc_hit(cs, &stack_id)))
        return 2;   /* not in the thread's cache: the caller refills it out of line */
    unsigned *w = &rw->__data.__readers;
    unsigned r = __atomic_load_n(w, __ATOMIC_RELAXED);
    if ((r & RW_FLAGS) != 0 || r >= RW_READERS_SAFE)
        return 0;
    /* The entry past held_used is the in-flight marker (fw_held_inflight). */
    struct fw_held *e = &t->held[used];
    fw_held_fill(t, e, (uint64_t)(uintptr_t)rw, cs, RD, stack_id, FW_HOLD_HELD);
    if (FW_UNLIKELY(!__atomic_compare_exchange_n(w, &r, r + RW_READER_INC, 0, __ATOMIC_ACQ_REL,
                                                 __ATOMIC_RELAXED))) {
        __atomic_store_n(&e->state, FW_HOLD_EMPTY, __ATOMIC_RELEASE);
        return 0;
    }
    __atomic_store_n(&t->held_used, used + 1, __ATOMIC_RELEASE);
    return 1;
}

static __attribute__((noinline)) int rdlock_refill(pthread_rwlock_t *rw, uint64_t cs, int try)
{
    if (fw_sc_refill(cs) && rd_take_fast(rw, cs) == 1)
        return 0;
    return try ? tryrdlock_cs(rw, cs) : rdlock_cs(rw, cs);
}

FW_EXPORT int pthread_rwlock_rdlock(pthread_rwlock_t *rw)
{
    uint64_t cs = FW_CALL_SITE();
    int r = rd_take_fast(rw, cs);
    if (FW_LIKELY(r == 1))
        return 0;
    if (r == 2)
        return rdlock_refill(rw, cs, 0);
    return rdlock_cs(rw, cs);
}

FW_EXPORT int pthread_rwlock_tryrdlock(pthread_rwlock_t *rw)
{
    uint64_t cs = FW_CALL_SITE();
    int r = rd_take_fast(rw, cs);
    if (FW_LIKELY(r == 1))
        return 0;
    if (r == 2)
        return rdlock_refill(rw, cs, 1);
    return tryrdlock_cs(rw, cs);
}

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

/* glibc's rdunlock when this is not the last reader of a phase with a writer
 * or readers waiting (flags all clear): one CAS, release, waking nobody. */
static inline int rd_unlock_fast(pthread_rwlock_t *rw)
{
    unsigned *w = &rw->__data.__readers;
    unsigned r = __atomic_load_n(w, __ATOMIC_RELAXED);
    if ((r & RW_FLAGS) != 0 || r < RW_READER_INC)
        return 0;
    return __atomic_compare_exchange_n(w, &r, r - RW_READER_INC, 0, __ATOMIC_RELEASE, __ATOMIC_RELAXED);
}

/* Everything but "a read lock that is the calling thread's top entry". */
static __attribute__((noinline)) int rwlock_unlock_slow(pthread_rwlock_t *rw)
{
    struct fw_thread *t = fw_release_rwlock_slow(rw);
    int rc = FW_REAL(rwlock_unlock)(rw);
    if (t)
        fw_inflight_clear(t);
    return rc;
}

/* The fast unlock's own CAS could not be done: glibc unlocks, then the
 * in-flight entry goes. */
static __attribute__((noinline)) int rwlock_unlock_real(struct fw_held *e, pthread_rwlock_t *rw)
{
    int rc = FW_REAL(rwlock_unlock)(rw);
    __atomic_store_n(&e->state, FW_HOLD_EMPTY, __ATOMIC_RELEASE);
    return rc;
}

FW_EXPORT int pthread_rwlock_unlock(pthread_rwlock_t *rw)
{
    /* read or write: whichever this thread holds */
    struct fw_thread *t = fw_tls.slot;
    if (FW_LIKELY(t != 0) && FW_LIKELY((fw_tls.guard | fw_hot_rwlock) == 0)) {
        uint32_t used = t->held_used;
        if (FW_LIKELY(used - 1 < FW_MAX_HELD)) {   /* used == 0 too */
            struct fw_held *e = &t->held[used - 1];
            if (FW_LIKELY(e->lock_addr == (uint64_t)(uintptr_t)rw) &&
                FW_LIKELY(*(const fw_u64_alias *)&e->kind == ((uint64_t)RD | ((uint64_t)FW_HOLD_HELD << 32))) &&
                FW_LIKELY(used == 1 || e[-1].state != FW_HOLD_EMPTY)) {
                /* A read lock names no owner: the entry, HELD past held_used
                 * and flagged as a release in flight, covers the unlock (as
                 * in sem_post). */
                __atomic_store_n(&t->held_used, used - 1, __ATOMIC_RELEASE);
                __atomic_store_n(&e->kind, RD | FW_KIND_INFL_RELEASE, __ATOMIC_RELEASE);
                if (FW_UNLIKELY(!rd_unlock_fast(rw)))
                    return rwlock_unlock_real(e, rw);
                __atomic_store_n(&e->state, FW_HOLD_EMPTY, __ATOMIC_RELEASE);
                return 0;
            }
        }
    }
    return rwlock_unlock_slow(rw);
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
