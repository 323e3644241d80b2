/* fw_lockops.h — the bookkeeping around each real lock call, inlined into the
 * interposers. Rules (DESIGN.md): an entry becomes HELD only after the real
 * acquire succeeded and stops being HELD before the real release. */
#ifndef FW_LOCKOPS_H
#define FW_LOCKOPS_H

#include "fw_config.h"
#include "fw_orphan.h"
#include "fw_stacks.h"
#include "fw_thread.h"

#define FW_LIKELY(x) __builtin_expect(!!(x), 1)
#define FW_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define FW_CALL_SITE() ((uint64_t)(uintptr_t)__builtin_return_address(0))

struct fw_op {
    struct fw_thread *t;
    struct fw_held *e;
};

/* A semaphore taken again by a thread that already holds it keeps one entry. */
void fw_sem_dedupe(struct fw_thread *t, struct fw_held *e);

/* The stack id of a call site through the calling thread's cache. */
static inline uint32_t fw_stack_id_cached(uint64_t call_site)
{
    uintptr_t o = FW_SC_OFF(call_site);
    if (FW_LIKELY(FW_SC_AT(fw_tls.sc_site, o) == call_site))
        return (uint32_t)FW_SC_AT(fw_tls.sc_id, o);
    uint32_t id = fw_cfg.stacks ? fw_stack_id_fast(call_site, !fw_in_fork_child) : 0;
    if (id != 0 || !fw_cfg.stacks) {   /* final answers only (0 may mean "being captured") */
        FW_SC_AT(fw_tls.sc_site, o) = call_site;
        FW_SC_AT(fw_tls.sc_id, o) = id;
    }
    return id;
}

/* The calling thread's cache only: 1 with *id set on a hit. */
static inline __attribute__((always_inline)) int fw_sc_hit(uint64_t call_site, uint64_t *id)
{
    uintptr_t o = FW_SC_OFF(call_site);
    *id = FW_SC_AT(fw_tls.sc_id, o);
    return FW_SC_AT(fw_tls.sc_site, o) == call_site;
}

/* The hot paths' stack id: 1 with *id set when the thread's cache or the call
 * site's home slot in the shared hash has a final answer; 0 = take the full path. */
static inline int fw_stack_id_hot(uint64_t call_site, uint32_t *id)
{
    uintptr_t o = FW_SC_OFF(call_site);
    if (FW_LIKELY(FW_SC_AT(fw_tls.sc_site, o) == call_site)) {
        *id = (uint32_t)FW_SC_AT(fw_tls.sc_id, o);
        return 1;
    }
    const struct fw_stack_site *s = &fw_stack_sites[fw_stack_hash(call_site)];
    if (!fw_cfg.stacks || __atomic_load_n(&s->call_site, __ATOMIC_ACQUIRE) != call_site)
        return 0;
    uint32_t v = __atomic_load_n(&s->stack_id, __ATOMIC_ACQUIRE);
    if (v == 0)
        return 0;   /* being captured */
    v = v == FW_STACK_NONE ? 0 : v;
    FW_SC_AT(fw_tls.sc_site, o) = call_site;
    FW_SC_AT(fw_tls.sc_id, o) = v;
    *id = v;
    return 1;
}

/* Fills the cache entry of call_site from the shared hash (a first op of this
 * thread from a call site another thread has seen, or two call sites sharing
 * one cache entry). 1 = the cache now answers; 0 = take the full path. */
int fw_sc_refill(uint64_t call_site);

/* Fills an entry reserved at index `used` of t; the state word is stored last
 * (kind and state share one aligned 64-bit store). */
typedef uint64_t __attribute__((may_alias)) fw_u64_alias;
static inline __attribute__((always_inline)) void
fw_held_fill(struct fw_thread *t, struct fw_held *e, uint64_t addr, uint64_t call_site,
             uint32_t kind, uint64_t stack_id, uint32_t state)
{
    /* the entry as four 64-bit words: lock_addr, call_site, kind|state, stack_id|seq */
    fw_u64_alias *w = (fw_u64_alias *)(void *)e;
    uint32_t seq = t->next_seq;
    t->next_seq = seq + 1;
    w[0] = addr;
    w[1] = call_site;
    w[3] = stack_id | ((uint64_t)seq << 32);
    __atomic_store_n(&w[2], (uint64_t)kind | ((uint64_t)state << 32), __ATOMIC_RELEASE);
}

/* Hot path of an acquire: the calling thread has a slot, nothing unusual is
 * going on (no guard, no orphans, room at the top of its table, the call site's
 * stack id is in its cache). Reserves the top entry, fills it (published as
 * ACQUIRING unless `state` is EMPTY, for a try) and returns it; NULL means
 * "take the full path" (fw_acquire_begin). No call, no atomic RMW. */
static inline struct fw_held *fw_acq_fast(const void *lock, uint32_t kind, uint32_t state,
                                          uint64_t call_site)
{
    struct fw_thread *t = fw_tls.slot;
    if (FW_UNLIKELY(!t || fw_tls.guard || fw_orphans_active))
        return 0;
    uint32_t used = t->held_used;
    uint32_t stack_id;
    if (FW_UNLIKELY(used >= FW_MAX_HELD || !fw_stack_id_hot(call_site, &stack_id)))
        return 0;
    struct fw_held *e = &t->held[used];
    __atomic_store_n(&t->held_used, used + 1, __ATOMIC_RELEASE);
    fw_held_fill(t, e, (uint64_t)(uintptr_t)lock, call_site, kind, stack_id, state);
    return e;
}

/* Hot path of a release: the lock is the calling thread's top entry, HELD, of
 * this kind (0 = any), and the entry below it is in use (no hole to trim).
 * Clears it and returns 1; 0 means "take the full path" (fw_release). */
static inline int fw_rel_fast(const void *lock, uint32_t kind)
{
    struct fw_thread *t = fw_tls.slot;
    if (FW_UNLIKELY(!t || fw_tls.guard))
        return 0;
    uint32_t used = t->held_used;
    if (FW_UNLIKELY(used - 1 >= FW_MAX_HELD))   /* used == 0 too */
        return 0;
    struct fw_held *e = &t->held[used - 1];
    if (FW_UNLIKELY(e->lock_addr != (uint64_t)(uintptr_t)lock))
        return 0;
    if (kind != FW_KIND_NONE) {
        if (FW_UNLIKELY(*(const fw_u64_alias *)&e->kind != ((uint64_t)kind | ((uint64_t)FW_HOLD_HELD << 32))))
            return 0;
    } else if (FW_UNLIKELY(e->state != FW_HOLD_HELD)) {
        return 0;
    }
    if (FW_UNLIKELY(used > 1 && t->held[used - 2].state == FW_HOLD_EMPTY))
        return 0;
    __atomic_store_n(&e->state, FW_HOLD_EMPTY, __ATOMIC_RELEASE);
    __atomic_store_n(&t->held_used, used - 1, __ATOMIC_RELEASE);
    return 1;
}

/* Before the real acquire (full path). Returns 0 when the op is not tracked. */
static inline int fw_acquire_begin(struct fw_op *op, const void *lock, uint32_t kind, int mode,
                                   uint64_t call_site)
{
    op->e = 0;
    op->t = 0;
    /* A slot exists only while the agent is enabled: one TLS load decides. */
    struct fw_thread *t = fw_tls_slot;
    if (FW_UNLIKELY(!t)) {
        if (fw_tls_guard || !fw_enabled || !(t = fw_thread_claim()))
            return 0;
    }
    if (FW_UNLIKELY(fw_tls_guard))
        return 0;
    if (FW_UNLIKELY(fw_orphans_active))
        fw_orphan_on_acquire(lock, kind, mode, call_site);
    struct fw_held *e = fw_held_reserve(t);
    if (FW_UNLIKELY(!e))
        return 0;
    if (kind == FW_KIND_SEMAPHORE && mode != FW_ACQ_TRY)
        fw_sem_hint_set(t, (uint64_t)(uintptr_t)lock);   /* may be posted by another thread */
    uint32_t stack_id = fw_stack_id_cached(call_site);
    fw_held_fill(t, e, (uint64_t)(uintptr_t)lock, call_site, kind, stack_id,
                 mode == FW_ACQ_TRY ? FW_HOLD_EMPTY   /* a try succeeds at once or leaves no trace */
                                    : FW_HOLD_ACQUIRING);
    op->t = t;
    op->e = e;
    return 1;
}

/* After the real acquire, when the fast path's entry e needs more than "HELD"
 * (the acquire failed, a robust owner died, a semaphore may be a duplicate). */
void fw_acq_finish_slow(struct fw_held *e, int acquired, uint32_t kind);

/* An interposed acquire: NAME PARAMS calls fw_real.FIELD ARGS; OK says whether rc
 * means "acquired". The fast path is inlined; anything unusual goes to NAME_full
 * (the general bookkeeping), which gets the call site as its last argument. */
#define FW_ACQ_WRAP(NAME, FIELD, KIND, MODE, LOCK, OK, PARAMS, ARGS, PARAMS_CS, ARGS_CS)    \
    FW_ACQ_WRAP_CS(static inline, NAME##_cs, FIELD, KIND, MODE, LOCK, OK, PARAMS_CS, ARGS, ARGS_CS) \
    FW_EXPORT int NAME PARAMS                                                                 \
    {                                                                                         \
        uint64_t cs = FW_CALL_SITE();                                                         \
        return NAME##_cs ARGS_CS;                                                             \
    }

/* The same body as a function NAME taking the call site as its last argument. */
#define FW_ACQ_WRAP_CS(ATTR, NAME, FIELD, KIND, MODE, LOCK, OK, PARAMS_CS, ARGS, ARGS_CS)      \
    static __attribute__((noinline)) int NAME##_full PARAMS_CS                                \
    {                                                                                         \
        struct fw_op op;                                                                      \
        fw_acquire_begin(&op, LOCK, KIND, MODE, cs);                                          \
        int rc = FW_REAL(FIELD) ARGS;                                                         \
        fw_acquire_end(&op, OK, KIND);                                                        \
        return rc;                                                                            \
    }                                                                                         \
    ATTR int NAME PARAMS_CS                                                                   \
    {                                                                                         \
        struct fw_held *e = fw_acq_fast(LOCK, KIND,                                           \
                                        (MODE) == FW_ACQ_TRY ? FW_HOLD_EMPTY : FW_HOLD_ACQUIRING, cs); \
        if (FW_UNLIKELY(!e))                                                                  \
            return NAME##_full ARGS_CS;                                                       \
        if ((KIND) == FW_KIND_SEMAPHORE && (MODE) != FW_ACQ_TRY)                              \
            fw_sem_hint_set(fw_tls.slot, (uint64_t)(uintptr_t)(LOCK));                        \
        int rc = FW_REAL(FIELD) ARGS;                                                         \
        if (FW_LIKELY(rc == 0) &&                                                             \
            ((KIND) != FW_KIND_SEMAPHORE || FW_LIKELY(fw_tls.slot->held_used == 1))) {        \
            __atomic_store_n(&e->state, FW_HOLD_HELD, __ATOMIC_RELEASE);                      \
            return rc;                                                                        \
        }                                                                                     \
        fw_acq_finish_slow(e, OK, KIND);                                                      \
        return rc;                                                                            \
    }

/* After the real acquire (kind: a constant in each wrapper). */
static inline void fw_acquire_end(struct fw_op *op, int acquired, uint32_t kind)
{
    struct fw_held *e = op->e;
    if (!e)
        return;
    if (!acquired) {
        fw_held_clear(op->t, e);
        return;
    }
    if (kind == FW_KIND_SEMAPHORE && op->t->held_used > 1) {
        fw_sem_dedupe(op->t, e);   /* only another entry can be a duplicate */
        return;
    }
    __atomic_store_n(&e->state, FW_HOLD_HELD, __ATOMIC_RELEASE);
}

/* Before the real release of a mutex/rwlock/c11 mutex (kind 0 = any kind):
 * the general path (fw_rel_fast failed). */
void fw_release_slow(const void *lock, uint32_t kind);
static inline void fw_release(const void *lock, uint32_t kind)
{
    struct fw_thread *t = fw_tls_slot;
    if (FW_UNLIKELY(!t || fw_tls_guard)) {
        if (t == 0 && !fw_tls_guard && fw_enabled && FW_UNLIKELY(fw_orphans_active))
            fw_orphan_on_release(lock);   /* a thread new in the child unlocks an orphan */
        return;
    }
    struct fw_held *e = fw_held_find(t, (uint64_t)(uintptr_t)lock, FW_HOLD_HELD, kind);
    if (FW_LIKELY(e != 0))
        fw_held_clear(t, e);
    else if (FW_UNLIKELY(fw_orphans_active))
        fw_orphan_on_release(lock);
}

/* Before the real release of a rwlock (read or write, whichever the calling
 * thread holds), the general path. A read entry leaves the in-flight marker
 * set: the caller clears it on the returned thread after the real unlock. */
struct fw_thread *fw_release_rwlock_slow(const void *rw);

/* Before sem_post: clears the poster's own entry, else whichever thread holds
 * the semaphore, and leaves the calling thread's in-flight marker naming the
 * release until the caller has really posted (it then calls fw_inflight_clear
 * on the returned thread; NULL: nothing to clear). */
struct fw_thread *fw_sem_release_slow(const void *sem);
static inline struct fw_thread *fw_sem_release(const void *sem)
{
    struct fw_thread *t = fw_tls.slot;
    if (FW_LIKELY(t != 0) && FW_LIKELY(!(fw_tls.guard | fw_orphans_active))) {
        uint32_t used = t->held_used;
        struct fw_held *e;
        if (FW_LIKELY(used - 1 < FW_MAX_HELD) && (e = &t->held[used - 1], 1) &&
            FW_LIKELY(e->lock_addr == (uint64_t)(uintptr_t)sem) &&
            FW_LIKELY(*(const fw_u64_alias *)&e->kind ==
                      ((uint64_t)FW_KIND_SEMAPHORE | ((uint64_t)FW_HOLD_HELD << 32))) &&
            FW_LIKELY(used == 1 || t->held[used - 2].state != FW_HOLD_EMPTY)) {
            fw_inflight_set(t, FW_INFL_SEM_REL, sem);
            __atomic_store_n(&e->state, FW_HOLD_EMPTY, __ATOMIC_RELEASE);
            __atomic_store_n(&t->held_used, used - 1, __ATOMIC_RELEASE);
            return t;
        }
    }
    return fw_sem_release_slow(sem);
}

/* *_init and *_destroy: the memory is (no longer) a lock we know. kind: how to
 * read its lock word (any rwlock kind reads readers and writer). */
void fw_lock_reinit(const void *lock, uint32_t kind, int destroyed);

/* pthread_cond_*wait / cnd_*wait: the mutex is released for the wait. */
static inline struct fw_held *fw_cond_wait_begin(const void *mutex)
{
    struct fw_thread *t = fw_tls_slot;
    if (FW_UNLIKELY(!t || fw_tls_guard))
        return 0;
    struct fw_held *e = fw_held_find(t, (uint64_t)(uintptr_t)mutex, FW_HOLD_HELD, 0);
    if (e)
        __atomic_store_n(&e->state, FW_HOLD_COND_RELEASED, __ATOMIC_RELEASE);
    return e;
}

static inline void fw_cond_wait_end(struct fw_held *e)
{
    if (e)
        __atomic_store_n(&e->state, FW_HOLD_HELD, __ATOMIC_RELEASE);
}

#endif
