/* fw_lockops.c — the less frequent halves of fw_lockops.h. */
#include "fw_lockops.h"

void fw_sem_dedupe(struct fw_thread *t, struct fw_held *e)
{
    /* A thread waiting on a semaphore it already holds (a CPython Condition
     * waiter, a parking-lot semaphore) must not pile up entries: keep one. */
    for (uint32_t i = 0; i < t->held_used; i++) {
        struct fw_held *o = &t->held[i];
        if (o != e && o->lock_addr == e->lock_addr &&
            __atomic_load_n(&o->state, __ATOMIC_ACQUIRE) == FW_HOLD_HELD) {
            fw_held_clear(t, e);
            return;
        }
    }
    __atomic_store_n(&e->state, FW_HOLD_HELD, __ATOMIC_RELEASE);
}

struct fw_thread *fw_sem_release_slow(const void *sem)
{
    if (FW_UNLIKELY(fw_tls_guard || !fw_enabled))
        return 0;
    uint64_t addr = (uint64_t)(uintptr_t)sem;
    struct fw_thread *t = fw_tls_slot;
    struct fw_held *e = t ? fw_held_find(t, addr, FW_HOLD_HELD, FW_KIND_SEMAPHORE) : 0;
    if (e) {
        fw_inflight_set(t, FW_INFL_SEM_REL, sem);
        fw_held_clear(t, e);
        return t;
    }
    fw_held_remove_remote(t, addr, FW_KIND_SEMAPHORE);   /* sets t's marker when it removes */
    /* In a child the holder may be a vanished thread: the orphan is settled too. */
    if (FW_UNLIKELY(fw_orphans_active))
        fw_orphan_on_release(sem);
    return t;
}

void fw_lock_reinit(const void *lock, uint32_t kind, int destroyed)
{
    if (FW_UNLIKELY(fw_tls_guard || !fw_enabled))
        return;
    if (FW_UNLIKELY(fw_orphans_active))
        fw_orphan_on_reinit(lock);
    if (!destroyed)
        return;
    /* A destroyed lock may still have entries (a semaphore whose holder never
     * posted it): drop them so that a later lock at this address starts clean. */
    uint64_t addr = (uint64_t)(uintptr_t)lock;
    struct fw_thread *t = fw_tls_slot;
    if (t) {
        struct fw_held *e;
        while ((e = fw_held_find(t, addr, FW_HOLD_HELD, 0)) != 0)
            fw_held_clear(t, e);
    }
    /* Entries only exist for held locks: a lock destroyed free (the usual case:
     * CPython frees every unlocked Lock this way) needs no scan of all threads. */
    if (fw_lockword_held(kind, lock))
        fw_held_forget_everywhere(addr);
}

void fw_acq_finish_slow(struct fw_held *e, int acquired, uint32_t kind)
{
    struct fw_op op = { fw_tls_slot, e };
    fw_acquire_end(&op, acquired, kind);
}

struct fw_thread *fw_release_rwlock_slow(const void *rw)
{
    struct fw_thread *t = fw_tls_slot;
    if (FW_UNLIKELY(!t || fw_tls_guard)) {
        fw_release(rw, FW_KIND_NONE);   /* orphan bookkeeping of a thread new in the child */
        return 0;
    }
    struct fw_held *e = fw_held_find(t, (uint64_t)(uintptr_t)rw, FW_HOLD_HELD, FW_KIND_NONE);
    if (FW_LIKELY(e != 0)) {
        int reader = e->kind == FW_KIND_RWLOCK_READ;
        if (reader)
            fw_inflight_set(t, FW_INFL_RD_REL, rw);
        fw_held_clear(t, e);
        return reader ? t : 0;
    }
    if (FW_UNLIKELY(fw_orphans_active))
        fw_orphan_on_release(rw);
    return 0;
}

void fw_release_slow(const void *lock, uint32_t kind)
{
    fw_release(lock, kind);
}

int fw_sc_refill(uint64_t call_site)
{
    uint32_t id;
    return fw_stack_id_hot(call_site, &id);
}
