/* fw_orphan.c — see fw_orphan.h. Everything here runs in a fork child:
 * async-signal-safe code only (memory, write(2), _exit). */
#include "fw_orphan.h"

#include "fw_config.h"
#include "fw_buf.h"
#include "fw_event.h"
#include "fw_python.h"
#include "fw_registry.h"
#include "fw_thread.h"

#include <string.h>
#include <unistd.h>

#define HASH_SIZE 2048u   /* power of two, 2x FW_MAX_FORK_HELD */

int fw_orphans_active;
static int32_t hash_index[HASH_SIZE];   /* fork_held index + 1; 0 = empty */
static uint8_t hazard_reported[FW_MAX_FORK_HELD];

static inline uint32_t hash_addr(uint64_t a)
{
    return (uint32_t)((a * 0x9e3779b97f4a7c15ull) >> 40) & (HASH_SIZE - 1);
}

void fw_orphan_reset(void)
{
    memset(hash_index, 0, sizeof hash_index);
    memset(hazard_reported, 0, sizeof hazard_reported);
    fw_orphans_active = 0;
}

static void hash_insert(uint32_t idx)
{
    struct fw_fork_held *fh = forkwatch_registry.fork_held;
    uint64_t addr = fh[idx].lock_addr;
    for (uint32_t p = 0; p < HASH_SIZE; p++) {
        int32_t *slot = &hash_index[(hash_addr(addr) + p) & (HASH_SIZE - 1)];
        if (*slot == 0) {
            *slot = (int32_t)idx + 1;
            return;
        }
        if (fh[*slot - 1].lock_addr == addr) {
            /* Same lock held twice (readers, a re-taken semaphore): a writer wins. */
            if (fh[idx].kind == FW_KIND_RWLOCK_WRITE)
                *slot = (int32_t)idx + 1;
            return;
        }
    }
}

/* The parent's snapshot is taken just before the real fork; a lock taken in
 * between is still in the vanished thread's own entries, which this memory
 * copied at the very instant of the fork. Add those (without the extras that
 * only the parent can compute: call-site name, fresh thread name). */
static void add_missing(void)
{
    struct fw_registry *r = &forkwatch_registry;
    uint32_t n = r->header.fork_held.used;
    uint32_t nthreads = r->header.threads.used;
    for (uint32_t i = 0; i < nthreads && i < FW_MAX_THREADS; i++) {
        const struct fw_thread *t = &r->threads[i];
        if (t->state != FW_THREAD_VANISHED)
            continue;
        uint32_t used = t->held_used < FW_MAX_HELD ? t->held_used : FW_MAX_HELD;
        for (uint32_t k = 0; k < used; k++) {
            const struct fw_held *e = &t->held[k];
            if (e->state != FW_HOLD_HELD || fw_orphan_lookup(e->lock_addr) >= 0)
                continue;
            if (e->kind == FW_KIND_SEMAPHORE && fw_thread_is_acquiring(t, used, e->lock_addr))
                continue;
            if (!fw_lockword_held(e->kind, (const void *)(uintptr_t)e->lock_addr))
                continue;
            if (n >= FW_MAX_FORK_HELD) {
                fw_registry_set_flag(FW_FLAG_FORK_HELD_FULL);
                goto done;
            }
            struct fw_fork_held *fh = &r->fork_held[n];
            fh->lock_addr = e->lock_addr;
            fh->call_site = e->call_site;
            fh->kind = e->kind;
            fh->stack_id = e->stack_id;
            fh->holder_tid = t->tid;
            fh->holder_slot = i;
            fh->holder_pthread = t->pthread_id;
            fh->py_thread = fw_python_thread_index(t->pthread_id);
            fw_copy_str(fh->holder_name, sizeof fh->holder_name, t->name);
            fh->call_site_function[0] = '\0';
            fh->orphan_state = FW_ORPHAN_LIVE;
            hash_insert(n);
            n++;
            fw_orphans_active = 1;
        }
    }
done:
    r->header.fork_held_count = n;
    __atomic_store_n(&r->header.fork_held.used, n, __ATOMIC_RELEASE);
}

void fw_orphan_build(void)
{
    struct fw_registry *r = &forkwatch_registry;
    fw_orphan_reset();
    uint32_t n = r->header.fork_held.used;
    int live = 0;
    for (uint32_t i = 0; i < n && i < FW_MAX_FORK_HELD; i++) {
        struct fw_fork_held *fh = &r->fork_held[i];
        /* The snapshot was taken just before fork(): trust only what the lock word
         * in the child's memory still says. */
        if (!fw_lockword_held(fh->kind, (const void *)(uintptr_t)fh->lock_addr)) {
            fh->orphan_state = FW_ORPHAN_NOT_CHILD;
            continue;
        }
        fh->orphan_state = FW_ORPHAN_LIVE;
        hash_insert(i);
        live = 1;
    }
    fw_orphans_active = live;
    add_missing();
}

int fw_orphan_lookup(uint64_t addr)
{
    for (uint32_t p = 0; p < HASH_SIZE; p++) {
        int32_t v = hash_index[(hash_addr(addr) + p) & (HASH_SIZE - 1)];
        if (v == 0)
            return -1;
        if (forkwatch_registry.fork_held[v - 1].lock_addr == addr)
            return v - 1;
    }
    return -1;
}

static struct fw_fork_held *live_orphan(const void *lock, int *index)
{
    int i = fw_orphan_lookup((uint64_t)(uintptr_t)lock);
    if (i < 0)
        return 0;
    struct fw_fork_held *fh = &forkwatch_registry.fork_held[i];
    uint32_t st = __atomic_load_n(&fh->orphan_state, __ATOMIC_ACQUIRE);
    if (st != FW_ORPHAN_LIVE && st != FW_ORPHAN_REPORTED)
        return 0;
    *index = i;
    return fh;
}

void fw_orphan_on_acquire(const void *lock, uint32_t kind, int mode, uint64_t call_site)
{
    int idx;
    struct fw_fork_held *fh = live_orphan(lock, &idx);
    if (!fh)
        return;
    /* Readers do not wait for readers. */
    if (kind == FW_KIND_RWLOCK_READ && fh->kind == FW_KIND_RWLOCK_READ)
        return;
    if (!fw_lockword_held(fh->kind, lock))
        return;   /* someone in the child released it: nothing to wait for */
    if (fw_cfg.policy == FW_POLICY_OFF)
        return;
    if (mode == FW_ACQ_BLOCKING) {
        __atomic_add_fetch(&forkwatch_registry.header.deadlocks_reported, 1, __ATOMIC_RELAXED);
        __atomic_store_n(&fh->orphan_state, FW_ORPHAN_REPORTED, __ATOMIC_RELEASE);
        fw_event_report(FW_EVENT_DEADLOCK, (uint32_t)idx, kind, mode, call_site);
        if (fw_cfg.policy == FW_POLICY_ABORT) {
            fw_event_say_exit();
            _exit(fw_cfg.exit_status);
        }
        return;
    }
    /* CPython tries every lock (sem_trywait) before it blocks on it: a failed try
     * of a semaphore is followed by the real wait, which is what we report. */
    if (mode == FW_ACQ_TRY && fh->kind == FW_KIND_SEMAPHORE)
        return;
    if (hazard_reported[idx])
        return;
    hazard_reported[idx] = 1;
    __atomic_add_fetch(&forkwatch_registry.header.hazards_reported, 1, __ATOMIC_RELAXED);
    fw_event_report(FW_EVENT_HAZARD, (uint32_t)idx, kind, mode, call_site);
}

static void settle(const void *lock)
{
    int idx;
    struct fw_fork_held *fh = live_orphan(lock, &idx);
    if (fh)
        __atomic_store_n(&fh->orphan_state, FW_ORPHAN_REINITIALISED, __ATOMIC_RELEASE);
}

void fw_orphan_on_release(const void *lock)
{
    /* A Python Lock may be released by any thread: once the child releases an
     * orphan it is an ordinary lock again (REINITIALISED = "no longer a hazard"). */
    settle(lock);
}

void fw_orphan_on_reinit(const void *lock)
{
    settle(lock);
}
