/* intercept_mutex.c — pthread_mutex_*: thin wrappers around fw_lockops.h. */
#include "fw_lockops.h"
#include "fw_real.h"

#include <errno.h>
#include <linux/futex.h>
#include <sys/single_threaded.h>
#include <sys/syscall.h>
#include <unistd.h>

/* A robust mutex whose owner died is acquired with EOWNERDEAD. */
static inline int mutex_acquired(int rc)
{
    return rc == 0 || rc == EOWNERDEAD;
}

typedef pthread_mutex_t *M;
typedef const struct timespec *TS;
#define MX FW_KIND_MUTEX

FW_ACQ_WRAP_CS(static __attribute__((noinline)), mutex_lock_cs, mutex_lock, MX, FW_ACQ_BLOCKING, m, mutex_acquired(rc),
               (M m, uint64_t cs), (m), (m, cs))

/* glibc's uncontended fast path for a default mutex (__kind 0), exactly as
 * nptl does it (see fw_mutex_inline_ok in fw_real.c): 1 = acquired, 0 = not
 * attempted or busy (nothing was changed; glibc's lock takes over). */
static inline int default_mutex_try_fast(pthread_mutex_t *m, int32_t tid)
{
    if (__libc_single_threaded) {
        if (m->__data.__lock != 0)
            return 0;
        m->__data.__lock = 1;
    } else {
        int free_word = 0;
        if (!__atomic_compare_exchange_n(&m->__data.__lock, &free_word, 1, 0,
                                         __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
            return 0;
    }
    m->__data.__owner = tid;
    ++m->__data.__nusers;
    return 1;
}

/* The hot path of the whole agent: a default mutex taken uncontended by a
 * tracked thread costs no call into glibc and no store before the lock's own
 * atomic (the entry is published HELD right after it, as the ordering rule asks).
 * One global word (fw_hot_mutex: inline path allowed, no orphans), the thread's
 * guard and the mutex kind are tested together; the call site's stack id comes
 * from the thread's cache (a miss refills it from the shared hash out of line). */
static __attribute__((noinline)) int mutex_lock_refill(pthread_mutex_t *m, uint64_t cs);
static inline __attribute__((always_inline)) int mutex_lock_fast(pthread_mutex_t *m, uint64_t cs,
                                                                  int refilled)
{
    struct fw_thread *t = fw_tls.slot;
    if (FW_LIKELY(t != 0) && FW_LIKELY((m->__data.__kind | fw_tls.guard | fw_hot_mutex) == 0)) {
        uint32_t used = t->held_used;
        uint64_t stack_id;
        if (FW_UNLIKELY(used >= FW_MAX_HELD))
            return mutex_lock_cs(m, cs);
        if (FW_UNLIKELY(!fw_sc_hit(cs, &stack_id)))
            return refilled ? mutex_lock_cs(m, cs) : mutex_lock_refill(m, cs);
        if (FW_LIKELY(default_mutex_try_fast(m, t->tid))) {
            struct fw_held *e = &t->held[used];
            __atomic_store_n(&t->held_used, used + 1, __ATOMIC_RELEASE);
            fw_held_fill(t, e, (uint64_t)(uintptr_t)m, cs, FW_KIND_MUTEX, stack_id,
                         FW_HOLD_HELD);
            return 0;
        }
    }
    return mutex_lock_cs(m, cs);
}

static __attribute__((noinline)) int mutex_lock_refill(pthread_mutex_t *m, uint64_t cs)
{
    if (fw_sc_refill(cs))
        return mutex_lock_fast(m, cs, 1);
    return mutex_lock_cs(m, cs);
}

FW_EXPORT int pthread_mutex_lock(pthread_mutex_t *m)
{
    return mutex_lock_fast(m, FW_CALL_SITE(), 0);
}
FW_ACQ_WRAP(pthread_mutex_trylock, mutex_trylock, MX, FW_ACQ_TRY, m, mutex_acquired(rc),
            (M m), (m), (M m, uint64_t cs), (m, cs))
FW_ACQ_WRAP(pthread_mutex_timedlock, mutex_timedlock, MX, FW_ACQ_TIMED, m, mutex_acquired(rc),
            (M m, TS t), (m, t), (M m, TS t, uint64_t cs), (m, t, cs))
FW_ACQ_WRAP(pthread_mutex_clocklock, mutex_clocklock, MX, FW_ACQ_TIMED, m, mutex_acquired(rc),
            (M m, clockid_t c, TS t), (m, c, t), (M m, clockid_t c, TS t, uint64_t cs), (m, c, t, cs))

/* glibc's __pthread_mutex_unlock_usercnt(m, 1) for a default mutex. */
static inline __attribute__((always_inline)) void default_mutex_unlock_fast(pthread_mutex_t *m)
{
    m->__data.__owner = 0;
    --m->__data.__nusers;
    if (__libc_single_threaded)
        m->__data.__lock = 0;
    else if (__atomic_exchange_n(&m->__data.__lock, 0, __ATOMIC_RELEASE) > 1)
        syscall(SYS_futex, &m->__data.__lock, FUTEX_WAKE_PRIVATE, 1, 0, 0, 0);
}

/* Anything but "a default mutex that is the top entry of the calling thread". */
static __attribute__((noinline)) int mutex_unlock_slow(pthread_mutex_t *m)
{
    if (FW_UNLIKELY(!fw_rel_fast(m, FW_KIND_MUTEX)))
        fw_release_slow(m, FW_KIND_MUTEX);
    if (FW_LIKELY(m->__data.__kind == 0) && FW_LIKELY(fw_mutex_inline_ok)) {
        default_mutex_unlock_fast(m);
        return 0;
    }
    return FW_REAL(mutex_unlock)(m);
}

FW_EXPORT int pthread_mutex_unlock(pthread_mutex_t *m)
{
    struct fw_thread *t = fw_tls.slot;
    if (FW_LIKELY(t != 0) && FW_LIKELY((m->__data.__kind | fw_tls.guard | fw_hot_mutex) == 0)) {
        uint32_t used = t->held_used;
        if (FW_LIKELY(used - 1 < FW_MAX_HELD)) {   /* used == 0 too */
            struct fw_held *e = &t->held[used - 1];
            if (FW_LIKELY(e->lock_addr == (uint64_t)(uintptr_t)m) &&
                FW_LIKELY(*(const fw_u64_alias *)&e->kind ==
                          ((uint64_t)FW_KIND_MUTEX | ((uint64_t)FW_HOLD_HELD << 32))) &&
                FW_LIKELY(used == 1 || e[-1].state != FW_HOLD_EMPTY)) {
                __atomic_store_n(&e->state, FW_HOLD_EMPTY, __ATOMIC_RELEASE);
                __atomic_store_n(&t->held_used, used - 1, __ATOMIC_RELEASE);
                default_mutex_unlock_fast(m);
                return 0;
            }
        }
    }
    return mutex_unlock_slow(m);
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
