/* fw_orphan.c — see fw_orphan.h. Everything here runs in a fork child:
 * async-signal-safe code only (memory, write(2), _exit). */
#include "fw_orphan.h"
#include "fw_saferead.h"

#include "fw_config.h"
#include "fw_buf.h"
#include "fw_event.h"
#include "fw_pymutex.h"
#include "fw_python.h"
#include "fw_real.h"
#include "fw_log.h"
#include "fw_registry.h"
#include "fw_thread.h"

#include <string.h>
#include <unistd.h>

#define HASH_SIZE 2048u   /* power of two, 2x FW_MAX_FORK_HELD */

int fw_orphans_active;
static int32_t hash_index[HASH_SIZE];   /* fork_held index + 1; 0 = empty */
static uint8_t hazard_reported[FW_MAX_FORK_HELD];

static struct fw_fork_held *live_at(int i, int *index);

static inline uint32_t hash_addr(uint64_t a)
{
    return (uint32_t)((a * 0x9e3779b97f4a7c15ull) >> 40) & (HASH_SIZE - 1);
}

void fw_orphan_reset(void)
{
    memset(hash_index, 0, sizeof hash_index);
    memset(hazard_reported, 0, sizeof hazard_reported);
    fw_orphans_active = 0;
    fw_hot_refresh();
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

/* ---- building the orphan set in the child ----
 *
 * The parent's snapshot (fork_held) is taken just before the real fork and
 * carries what only the parent can compute (call-site names, fresh thread
 * names, Python stacks). The truth is this process's own copy of the thread
 * table, made at the very instant of the fork: every snapshot entry is checked
 * against it, and locks the snapshot missed are added from it. */

/* How many live orphans each (lock, holder slot) pair has so far: a recursive
 * mutex held twice is two entries, and stays two. */
#define SEEN_SIZE 4096u
static int32_t seen_first[SEEN_SIZE];    /* fork_held index + 1 of the pair's first orphan */
static uint32_t seen_count[SEEN_SIZE];

static uint32_t seen_hash(uint64_t addr, uint32_t slot)
{
    return hash_addr(addr ^ ((uint64_t)slot << 48)) & (SEEN_SIZE - 1);
}

/* The pair's counter; with insert_index != UINT32_MAX a missing pair is created. */
static uint32_t *seen(uint64_t addr, uint32_t slot, uint32_t insert_index)
{
    static uint32_t full = UINT32_MAX;   /* table full: "plenty", so nothing is added */
    const struct fw_fork_held *fh = forkwatch_registry.fork_held;
    for (uint32_t p = 0; p < SEEN_SIZE; p++) {
        uint32_t at = (seen_hash(addr, slot) + p) & (SEEN_SIZE - 1);
        int32_t first = seen_first[at];
        if (first == 0) {
            if (insert_index == UINT32_MAX)
                return 0;
            seen_first[at] = (int32_t)insert_index + 1;
            seen_count[at] = 0;
            return &seen_count[at];
        }
        if (fh[first - 1].lock_addr == addr && fh[first - 1].holder_slot == slot)
            return &seen_count[at];
    }
    return &full;
}

static uint32_t seen_so_far(uint64_t addr, uint32_t slot)
{
    const uint32_t *c = seen(addr, slot, UINT32_MAX);
    return c ? *c : 0;
}

/* Does entry e of thread t say t held its lock at the fork? HELD does; so does
 * ACQUIRING when the lock word names t as the owner (the fork fell between the
 * real acquire and our store). A semaphore its holder waits for again (a
 * CPython Condition waiter) has no holder anybody could wait on. */
static int entry_held_at_fork(const struct fw_thread *t, uint32_t used, const struct fw_held *e)
{
    if (e->state == FW_HOLD_HELD)
        return !(e->kind == FW_KIND_SEMAPHORE && fw_thread_is_acquiring(t, used, e->lock_addr));
    return e->state == FW_HOLD_ACQUIRING &&
           fw_lockword_owner_at(e->kind, e->lock_addr) == t->tid;
}

/* How many times thread t held lock addr (of this kind) at the fork. */
static uint32_t times_held_at_fork(const struct fw_thread *t, uint64_t addr, uint32_t kind)
{
    uint32_t used = t->held_used < FW_MAX_HELD ? t->held_used : FW_MAX_HELD, n = 0;
    for (uint32_t k = 0; k < used; k++)
        n += t->held[k].lock_addr == addr && t->held[k].kind == kind && entry_held_at_fork(t, used, &t->held[k]);
    return n;
}

static int32_t live_count;

static void make_live(uint32_t idx)
{
    struct fw_fork_held *fh = &forkwatch_registry.fork_held[idx];
    fh->orphan_state = FW_ORPHAN_LIVE;
    hash_insert(idx);
    ++*seen(fh->lock_addr, fh->holder_slot, idx);
    live_count++;
}

/* Appends an orphan held by vanished slot i (UINT32_MAX: holder unknown; entry
 * e may be NULL). */
static int append_orphan(uint32_t i, uint64_t addr, uint32_t kind, const struct fw_held *e)
{
    struct fw_registry *r = &forkwatch_registry;
    uint32_t n = r->header.fork_held.used;
    if (n >= FW_MAX_FORK_HELD) {
        fw_warn_flag_once(FW_FLAG_FORK_HELD_FULL, "more locks held at a fork than the table records");
        return -1;
    }
    struct fw_fork_held *fh = &r->fork_held[n];
    fh->lock_addr = addr;
    fh->call_site = e ? e->call_site : 0;
    fh->kind = kind;
    fh->stack_id = e ? e->stack_id : 0;
    if (i < FW_MAX_THREADS) {
        const struct fw_thread *t = &r->threads[i];
        fh->holder_tid = t->tid;
        fh->holder_pthread = t->pthread_id;
        fh->py_thread = fw_python_thread_index(t->pthread_id);
        fw_copy_str(fh->holder_name, sizeof fh->holder_name, t->name);
    } else {   /* an ownerless lock (a PyMutex Lock): memory does not say who */
        fh->holder_tid = 0;
        fh->holder_pthread = 0;
        fh->py_thread = -1;
        fh->holder_name[0] = '\0';
    }
    fh->holder_slot = i;
    fh->call_site_function[0] = '\0';
    fh->orphan_state = FW_ORPHAN_NOT_CHILD;
    r->header.fork_held_count = n + 1;
    __atomic_store_n(&r->header.fork_held.used, n + 1, __ATOMIC_RELEASE);
    return (int)n;
}

static void add_missing(void)
{
    struct fw_registry *r = &forkwatch_registry;
    uint32_t nthreads = r->header.threads.used;
    for (uint32_t i = 0; i < nthreads && i < FW_MAX_THREADS; i++) {
        const struct fw_thread *t = &r->threads[i];
        if (t->state != FW_THREAD_VANISHED)
            continue;
        uint32_t used = t->held_used < FW_MAX_HELD ? t->held_used : FW_MAX_HELD;
        for (uint32_t k = 0; k < used; k++) {
            const struct fw_held *e = &t->held[k];
            uint64_t addr = e->lock_addr;
            if (!entry_held_at_fork(t, used, e) || seen_so_far(addr, i) >= times_held_at_fork(t, addr, e->kind))
                continue;
            if (!fw_lockword_can_be_orphan_at(e->kind, addr) || !fw_lockword_held_at(e->kind, addr))
                continue;
            int idx = append_orphan(i, addr, e->kind, e);
            if (idx < 0)
                return;
            make_live((uint32_t)idx);
        }
    }
}

/* Is the lock, by its word, held in the way an in-flight marker of this kind
 * could account for? A read-phase rwlock with readers; a semaphore at 0. */
static int inflight_word_held(uint64_t what, uint64_t addr)
{
    if (what == FW_INFL_RD_ACQ || what == FW_INFL_RD_REL)
        return fw_lockword_read_held_at(addr);
    return fw_lockword_can_be_orphan_at(FW_KIND_SEMAPHORE, addr) &&
           fw_lockword_held_at(FW_KIND_SEMAPHORE, addr);
}

/* Does slot t hold addr (HELD) by its entries? */
static int slot_holds(const struct fw_thread *t, uint64_t addr)
{
    uint32_t used = t->held_used < FW_MAX_HELD ? t->held_used : FW_MAX_HELD;
    for (uint32_t k = 0; k < used; k++)
        if (t->held[k].lock_addr == addr && t->held[k].state == FW_HOLD_HELD)
            return 1;
    return 0;
}

/* One lock caught in flight by vanished thread i (what: FW_INFL_*). Returns
 * -1 when the orphan table is full. */
static int add_one_inflight(const struct fw_thread *self, uint32_t nthreads, uint32_t i,
                            uint64_t what, uint64_t addr)
{
    struct fw_registry *r = &forkwatch_registry;
    const struct fw_thread *t = &r->threads[i];
    uint32_t kind = what >= FW_INFL_RD_ACQ ? FW_KIND_RWLOCK_READ : FW_KIND_SEMAPHORE;
    /* Already an orphan (another holder's entry), or the forking
     * thread's own lock: nothing to add. */
    if (fw_orphan_lookup(addr) >= 0 || (self && slot_holds(self, addr)) || !inflight_word_held(what, addr))
        return 0;
    uint32_t holder = i;
    if (what == FW_INFL_SEM_REL_REMOTE) {
        uint32_t h = t->fw_inflight_holder;
        if (h == 0 || h > nthreads || h > FW_MAX_THREADS)
            return 0;
        holder = h - 1;
        const struct fw_thread *ht = &r->threads[holder];
        /* a Condition waiter being notified: no holder to wait for */
        if (ht->state == FW_THREAD_VANISHED &&
            fw_thread_is_acquiring(ht, ht->held_used < FW_MAX_HELD ? ht->held_used : FW_MAX_HELD, addr))
            return 0;
    }
    /* The holder's latest entry for the lock, even emptied (or the in-flight
     * one beyond held_used), names its call site. */
    const struct fw_thread *ht = &r->threads[holder];
    const struct fw_held *e = 0;
    for (uint32_t k = 0; k < FW_MAX_HELD; k++)
        if (ht->held[k].lock_addr == addr && (!e || ht->held[k].seq > e->seq))
            e = &ht->held[k];
    int idx = append_orphan(holder, addr, kind, e);
    if (idx < 0)
        return -1;
    make_live((uint32_t)idx);
    return 0;
}

/* Locks caught in flight by the fork (fw_thread.h, "in-flight marker"): a
 * vanished thread was between a semaphore's or read lock's own atomic and its
 * entry. When nothing else accounts for the lock and its word says held, it is
 * an orphan of that thread (or, for a post on another thread's behalf, of the
 * holder whose entry the poster had just taken). Acquires first: a release
 * marker next to an acquire marker of the same lock means the release is done.
 * An inline acquire or release is in flight as a HELD entry at
 * held[held_used] (fw_held_inflight; a release has FW_KIND_INFL_RELEASE). */
static void add_inflight(const struct fw_thread *self)
{
    struct fw_registry *r = &forkwatch_registry;
    uint32_t nthreads = r->header.threads.used;
    for (int pass = 0; pass < 2; pass++) {
        for (uint32_t i = 0; i < nthreads && i < FW_MAX_THREADS; i++) {
            const struct fw_thread *t = &r->threads[i];
            if (t->state != FW_THREAD_VANISHED)
                continue;
            const struct fw_held *fe = fw_held_inflight(t);
            if (fe) {
                uint32_t k = fe->kind & ~FW_KIND_INFL_RELEASE;
                int release = (fe->kind & FW_KIND_INFL_RELEASE) != 0;
                if (release == (pass == 1) && (k == FW_KIND_SEMAPHORE || k == FW_KIND_RWLOCK_READ) &&
                    add_one_inflight(self, nthreads, i,
                                     k == FW_KIND_SEMAPHORE ? (release ? FW_INFL_SEM_REL : FW_INFL_SEM_ACQ)
                                                            : (release ? FW_INFL_RD_REL : FW_INFL_RD_ACQ),
                                     fe->lock_addr) < 0)
                    return;
            }
            uint64_t m = t->fw_inflight;
            if (m == 0)
                continue;
            uint64_t what = m >> FW_INFL_SHIFT, addr = m & FW_INFL_ADDR_MASK;
            int acquire = what == FW_INFL_SEM_ACQ || what == FW_INFL_RD_ACQ;
            if (acquire != (pass == 0) || what < FW_INFL_SEM_ACQ || what > FW_INFL_RD_REL)
                continue;
            if (add_one_inflight(self, nthreads, i, what, addr) < 0)
                return;
        }
    }
}

/* Does vanished slot t wait for semaphore addr in glibc without holding it? */
static int acquiring_only(const struct fw_thread *t, uint64_t addr)
{
    uint32_t used = t->held_used < FW_MAX_HELD ? t->held_used : FW_MAX_HELD;
    return fw_thread_is_acquiring(t, used, addr) && !slot_holds(t, addr);
}

/* A semaphore or read-lock acquire that had to go through glibc (busy at the
 * inline attempt, a timed wait, FORKWATCH_INLINE=0) takes the lock inside
 * glibc, a few instructions before the agent stores HELD. glibc counts a thread blocked in sem_wait in
 * the semaphore's waiter count (high 32 bits) until it takes the token: at 0
 * with fewer registered waiters than vanished threads ACQUIRING it (and
 * nothing else accounting for it), one of those threads had just taken it. */
static void add_glibc_acquires(const struct fw_thread *self)
{
    struct fw_registry *r = &forkwatch_registry;
    uint32_t nthreads = r->header.threads.used < FW_MAX_THREADS ? r->header.threads.used : FW_MAX_THREADS;
    for (uint32_t i = 0; i < nthreads; i++) {
        const struct fw_thread *t = &r->threads[i];
        if (t->state != FW_THREAD_VANISHED)
            continue;
        uint32_t used = t->held_used < FW_MAX_HELD ? t->held_used : FW_MAX_HELD;
        for (uint32_t k = 0; k < used; k++) {
            const struct fw_held *e = &t->held[k];
            uint64_t addr = e->lock_addr;
            if (e->state != FW_HOLD_ACQUIRING || fw_orphan_lookup(addr) >= 0 || (self && slot_holds(self, addr)))
                continue;
            if (e->kind == FW_KIND_RWLOCK_READ) {
                /* glibc registers a reader (__readers += 8) before anything
                 * else that can wait; in a read phase a registered reader holds
                 * the lock. Other readers holding it would have made it an
                 * orphan already. */
                if (!fw_lockword_read_held_at(addr))
                    continue;
                int idx = append_orphan(i, addr, FW_KIND_RWLOCK_READ, e);
                if (idx < 0)
                    return;
                make_live((uint32_t)idx);
                continue;
            }
            if (e->kind != FW_KIND_SEMAPHORE || !acquiring_only(t, addr) ||
                !fw_lockword_can_be_orphan_at(FW_KIND_SEMAPHORE, addr))
                continue;
            uint64_t word;
            if (!fw_safe_read(addr, &word, sizeof word))
                continue;
            if ((word & 0xffffffffu) != 0)
                continue;
            uint32_t acquiring = 0;
            for (uint32_t j = 0; j < nthreads; j++)
                acquiring += r->threads[j].state == FW_THREAD_VANISHED && acquiring_only(&r->threads[j], addr);
            if (acquiring <= (uint32_t)(word >> 32))
                continue;   /* every one of them may be a registered, blocked waiter */
            int idx = append_orphan(i, addr, FW_KIND_SEMAPHORE, e);
            if (idx < 0)
                return;
            make_live((uint32_t)idx);
        }
    }
}

void fw_orphan_build(const struct fw_thread *self)
{
    struct fw_registry *r = &forkwatch_registry;
    fw_orphan_reset();
    memset(seen_first, 0, sizeof seen_first);
    live_count = 0;
    uint32_t n = r->header.fork_held.used;
    int vanished = 0;
    for (uint32_t i = 0; i < r->header.threads.used && i < FW_MAX_THREADS; i++)
        vanished |= r->threads[i].state == FW_THREAD_VANISHED;
    for (uint32_t i = 0; i < n && i < FW_MAX_FORK_HELD; i++) {
        struct fw_fork_held *fh = &r->fork_held[i];
        fh->orphan_state = FW_ORPHAN_NOT_CHILD;
        if (fh->holder_slot >= FW_MAX_THREADS)
            continue;
        const struct fw_thread *t = &r->threads[fh->holder_slot];
        /* Released (maybe re-taken by another thread, maybe in a reused slot)
         * between snapshot and fork? */
        if (t->state != FW_THREAD_VANISHED || t->tid != fh->holder_tid ||
            t->pthread_id != fh->holder_pthread ||
            seen_so_far(fh->lock_addr, fh->holder_slot) >= times_held_at_fork(t, fh->lock_addr, fh->kind) ||
            !fw_lockword_held_at(fh->kind, fh->lock_addr))
            continue;
        make_live(i);
    }
    add_missing();
    add_inflight(self);
    add_glibc_acquires(self);
    fw_orphans_active = live_count > 0 || vanished;
    fw_hot_refresh();
}

/* A blocking acquire in the child of a lock we have no orphan for, whose lock
 * word names a vanished thread as owner: the fork fell just after that thread
 * cleared its entry and before it really unlocked (or the entry was dropped).
 * Adopt it now. Returns the fork_held index or -1. */
static int adopt_by_owner(const void *lock, uint32_t kind)
{
    struct fw_registry *r = &forkwatch_registry;
    uint32_t lock_kind = kind == FW_KIND_RWLOCK_READ ? FW_KIND_RWLOCK_WRITE : kind;
    int32_t owner = fw_lockword_owner(lock_kind, lock);
    /* A write-locked rwlock names its writer like a mutex its owner (glibc
     * clears __cur_writer before the lock word on unlock: owner 0 there too). */
    int is_mutex = lock_kind == FW_KIND_MUTEX || lock_kind == FW_KIND_C11_MTX ||
                   (lock_kind == FW_KIND_RWLOCK_WRITE && fw_lockword_write_locked(lock));
    /* Semaphores and readers name no owner: a child may rightly wait on them. */
    if (owner < 0 || (owner == 0 && !is_mutex) || !fw_lockword_held(lock_kind, lock))
        return -1;
    /* owner 0 with the lock word held: the fork froze a thread between the lock
     * word and the owner field (glibc sets/clears them one after the other).
     * Then the vanished thread with an entry for this lock is the holder. */
    uint64_t addr = (uint64_t)(uintptr_t)lock;
    for (uint32_t i = 0; i < r->header.threads.used && i < FW_MAX_THREADS; i++) {
        const struct fw_thread *t = &r->threads[i];
        if (t->state != FW_THREAD_VANISHED || (owner != 0 && t->tid != owner))
            continue;
        const struct fw_held *e = 0;
        for (uint32_t k = 0; k < FW_MAX_HELD && !e; k++)
            if (t->held[k].lock_addr == addr && t->held[k].state != FW_HOLD_HELD)
                e = &t->held[k];   /* even emptied: it still names the call site */
        if (owner == 0 && !e)
            continue;
        int idx = append_orphan(i, addr, lock_kind, e);
        if (idx >= 0)
            make_live((uint32_t)idx);
        return idx;
    }
    return -1;
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
    return live_at(i, index);
}

static struct fw_fork_held *live_at(int i, int *index)
{
    struct fw_fork_held *fh = &forkwatch_registry.fork_held[i];
    uint32_t st = __atomic_load_n(&fh->orphan_state, __ATOMIC_ACQUIRE);
    if (st != FW_ORPHAN_LIVE && st != FW_ORPHAN_REPORTED)
        return 0;
    *index = i;
    return fh;
}

/* A PyMutex (CPython 3.13.1+) whose waiter parks in this child, at addr: the
 * fork_held index of its orphan, or -1 without evidence that nobody left can
 * release it. The holder took it with an inline atomic, so no entry names it;
 * the evidence is the lock's own memory — a 3.14+ RLock's owner ident naming a
 * thread lost in the fork — or, for an ownerless lock, a child whose only
 * thread is this one (none started since the fork, /proc agrees): the one
 * thread that could release it is the one about to sleep on it. */
static int pymutex_orphan(uint64_t addr)
{
    int idx = fw_orphan_lookup(addr);
    if (idx >= 0)
        return idx;
    uint64_t owner;
    fw_pymutex_kind(addr, &owner);
    struct fw_registry *r = &forkwatch_registry;
    if (owner != 0) {
        for (uint32_t i = 0; i < r->header.threads.used && i < FW_MAX_THREADS; i++) {
            const struct fw_thread *t = &r->threads[i];
            if (t->state == FW_THREAD_VANISHED && t->pthread_id == owner) {
                idx = append_orphan(i, addr, FW_KIND_PYMUTEX, 0);
                break;
            }
        }
    } else if (__atomic_load_n(&fw_threads_claimed_in_child, __ATOMIC_RELAXED) == 0 &&
               fw_child_is_single_threaded()) {
        idx = append_orphan(UINT32_MAX, addr, FW_KIND_PYMUTEX, 0);
    }
    if (idx >= 0)
        make_live((uint32_t)idx);
    return idx;
}

void fw_orphan_on_acquire(const void *lock, uint32_t kind, int mode, uint64_t call_site)
{
    int idx;
    const void *awaited = lock;
    struct fw_fork_held *fh = live_orphan(lock, &idx);
    if (!fh && fw_orphan_lookup((uint64_t)(uintptr_t)lock) < 0) {
        int adopted = adopt_by_owner(lock, kind);
        fh = adopted >= 0 ? live_at(adopted, &idx) : 0;
    }
    if (!fh && kind == FW_KIND_SEMAPHORE && mode != FW_ACQ_TRY) {
        /* Not a lock of its own: maybe a PyMutex waiter's park semaphore. */
        uint64_t m = fw_pymutex_awaited(lock);
        int p = m ? pymutex_orphan(m) : -1;
        fh = p >= 0 ? live_at(p, &idx) : 0;
        awaited = (const void *)(uintptr_t)m;
    }
    if (!fh)
        return;
    /* Readers do not wait for readers. */
    if (kind == FW_KIND_RWLOCK_READ && fh->kind == FW_KIND_RWLOCK_READ)
        return;
    if (!fw_lockword_held(fh->kind, awaited))
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
    if (!fh)
        return;
    __atomic_store_n(&fh->orphan_state, FW_ORPHAN_REINITIALISED, __ATOMIC_RELEASE);
    /* The vanished holder's entry goes too: a fork made from this child must
     * not see the lock as still held by it (nor adopt it through a marker). */
    fw_held_forget_in(fh->lock_addr, FW_THREAD_VANISHED);
    struct fw_registry *r = &forkwatch_registry;
    for (uint32_t i = 0; i < r->header.threads.used && i < FW_MAX_THREADS; i++)
        if (r->threads[i].state == FW_THREAD_VANISHED &&
            (r->threads[i].fw_inflight & FW_INFL_ADDR_MASK) == (fh->lock_addr & FW_INFL_ADDR_MASK))
            r->threads[i].fw_inflight = 0;
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

int fw_orphan_mutex_held_in(uint64_t lo, uint64_t hi)
{
    const struct fw_registry *r = &forkwatch_registry;
    for (uint32_t i = 0; i < r->header.fork_held.used && i < FW_MAX_FORK_HELD; i++) {
        const struct fw_fork_held *fh = &r->fork_held[i];
        if ((fh->orphan_state == FW_ORPHAN_LIVE || fh->orphan_state == FW_ORPHAN_REPORTED) &&
            (fh->kind == FW_KIND_MUTEX || fh->kind == FW_KIND_C11_MTX) &&
            fh->lock_addr >= lo && fh->lock_addr < hi &&
            fw_lockword_held_at(fh->kind, fh->lock_addr))
            return 1;
    }
    return 0;
}
