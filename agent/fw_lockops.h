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

/* Before the real acquire. Returns 0 when the op is not tracked. */
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
    uint32_t stack_id = fw_cfg.stacks ? fw_stack_id_fast(call_site, !fw_in_fork_child) : 0;
    if (mode == FW_ACQ_TRY) {
        /* Not published: a try either succeeds at once or leaves no trace. */
        e->lock_addr = (uint64_t)(uintptr_t)lock;
        e->call_site = call_site;
        e->kind = kind;
        e->stack_id = stack_id;
        e->seq = t->next_seq++;
    } else {
        fw_held_publish(t, e, (uint64_t)(uintptr_t)lock, call_site, kind, stack_id,
                        FW_HOLD_ACQUIRING);
    }
    op->t = t;
    op->e = e;
    return 1;
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

/* Before the real release of a mutex/rwlock/c11 mutex (kind 0 = any kind). */
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

/* Before sem_post: the poster's own entry, else whichever thread holds it. */
void fw_sem_release_slow(const void *sem);
static inline void fw_sem_release(const void *sem)
{
    struct fw_thread *t = fw_tls_slot;
    if (FW_LIKELY(t != 0) && FW_LIKELY(!fw_tls_guard) && FW_LIKELY(!fw_orphans_active)) {
        struct fw_held *e = fw_held_find(t, (uint64_t)(uintptr_t)sem, FW_HOLD_HELD, FW_KIND_SEMAPHORE);
        if (FW_LIKELY(e != 0)) {
            fw_held_clear(t, e);
            return;
        }
    }
    fw_sem_release_slow(sem);
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
