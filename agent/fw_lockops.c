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

void fw_sem_release_slow(const void *sem)
{
    if (FW_UNLIKELY(fw_tls_guard || !fw_enabled))
        return;
    uint64_t addr = (uint64_t)(uintptr_t)sem;
    struct fw_thread *t = fw_tls_slot;
    struct fw_held *e = t ? fw_held_find(t, addr, FW_HOLD_HELD, FW_KIND_SEMAPHORE) : 0;
    if (e) {
        fw_held_clear(t, e);
        return;
    }
    fw_held_remove_remote(t, addr, FW_KIND_SEMAPHORE);
    /* In a child the holder may be a vanished thread: the orphan is settled too. */
    if (FW_UNLIKELY(fw_orphans_active))
        fw_orphan_on_release(sem);
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

void fw_release_slow(const void *lock, uint32_t kind)
{
    fw_release(lock, kind);
}
