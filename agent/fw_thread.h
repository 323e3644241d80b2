/* fw_thread.h — per-thread slots and their held-lock entries (the hot path).
 *
 * Each thread owns one slot in forkwatch_registry.threads[] and is the only
 * writer of its entries, except that another thread may take a semaphore entry
 * away with a CAS HELD -> EMPTY (sem_post by a non-holder). An entry's state is
 * stored last when it becomes valid and first when it stops being valid. */
#ifndef FW_THREAD_H
#define FW_THREAD_H

#include "fw_registry.h"

#include <pthread.h>

#include <stdint.h>

#define FW_TLS __attribute__((tls_model("initial-exec")))

/* Everything the hot path needs of the calling thread, in one initial-exec TLS
 * block (one GOT load finds all of it; never __tls_get_addr). Kept tiny: a
 * large static TLS block breaks dlopen of the agent. */
struct fw_tls_block {
    struct fw_thread *slot;   /* the calling thread's slot, NULL until its first lock op */
    int guard;                /* non-zero: pass every lock op straight through
                                 (inside the agent, or the thread is exiting) */
    uint32_t pad;
    /* A small direct-mapped call site -> stack id cache (a hit skips the shared
     * hash; only final answers are cached: an id, or 0 with stacks off). */
    uint64_t sc_site[8];      /* 0 = empty */
    uint64_t sc_id[8];        /* 64-bit like sc_site: one byte offset indexes both */
};                            /* 144 bytes */
#define FW_SC_INDEX(cs) ((uint32_t)((cs) >> 3) & 7u)   /* call sites lie >= 5 bytes apart */
/* The same index as a byte offset into sc_site/sc_id: one AND on the hot path. */
#define FW_SC_OFF(cs) ((uintptr_t)(cs) & 0x38u)
#define FW_SC_AT(arr, off) (*(uint64_t *)((char *)(arr) + (off)))
extern __thread struct fw_tls_block fw_tls FW_TLS __attribute__((visibility("hidden")));
#define fw_tls_slot (fw_tls.slot)
#define fw_tls_guard (fw_tls.guard)

/* Set once at start-up; read on every lock operation. */
extern int fw_enabled __attribute__((visibility("hidden")));

/* Claims a slot for the calling thread (CAS over threads[]). Returns NULL when
 * the table is full (flag + one warning). */
struct fw_thread *fw_thread_claim(void);

/* Creates the pthread key whose destructor releases a slot at thread exit. */
void fw_thread_init(void);

/* Marks the calling thread's slot EXITED (pthread key destructor). */
void fw_thread_exit(struct fw_thread *slot);

/* A thread was renamed (pthread_setname_np): update its slot. */
void fw_thread_rename(pthread_t thread, const char *name);

/* Index of a slot in threads[]. */
static inline uint32_t fw_thread_index(const struct fw_thread *t)
{
    return (uint32_t)(t - forkwatch_registry.threads);
}

/* Number of slots claimed since a fork child started (for "one thread only"). */
extern uint32_t fw_threads_claimed_in_child __attribute__((visibility("hidden")));
extern int fw_in_fork_child __attribute__((visibility("hidden")));

/* Returns the calling thread's slot, claiming one if needed; NULL if none. */
static inline struct fw_thread *fw_thread_self(void)
{
    struct fw_thread *t = fw_tls_slot;
    if (__builtin_expect(t != 0, 1))
        return t;
    return fw_thread_claim();
}

/* --- in-flight marker ---
 * A semaphore or a rwlock read lock names no owner in its lock word, so a fork
 * that falls between the lock's own atomic and the entry store (acquire), or
 * between clearing the entry and the real release, would leave a held lock
 * without any trace in the child. Around those few instructions the thread
 * keeps one word in its slot (the ABI's reserved2[0], agent-private): the lock
 * address with what is in flight in the top 4 bits. Stored before the lock's
 * atomic and cleared after the entry is settled (the child sees a prefix of
 * each thread's stores), it lets the child check the lock word and adopt the
 * lock (fw_orphan.c). An acquire sets it only after seeing the lock free, so a
 * thread that is about to block never looks like a holder. For a semaphore
 * posted on behalf of another thread, reserved holds that thread's slot + 1. */
#define FW_INFL_SEM_ACQ 1ull          /* CAS value -> value-1 in flight */
#define FW_INFL_SEM_REL 2ull          /* own entry cleared, post in flight */
#define FW_INFL_SEM_REL_REMOTE 3ull   /* another slot's entry cleared (reserved = slot + 1) */
#define FW_INFL_RD_ACQ 4ull           /* reader registration in flight */
#define FW_INFL_RD_REL 5ull           /* own read entry cleared, unlock in flight */
#define FW_INFL_SHIFT 60
#define FW_INFL_ADDR_MASK ((1ull << FW_INFL_SHIFT) - 1)
#if defined(__x86_64__)
#define FW_INFL_ADDR(p) ((uint64_t)(uintptr_t)(p))   /* user addresses < 2^47: no tag bits */
#else
#define FW_INFL_ADDR(p) ((uint64_t)(uintptr_t)(p) & FW_INFL_ADDR_MASK)
#endif
#define fw_inflight reserved2[0]
#define fw_inflight_holder reserved

static inline void fw_inflight_set(struct fw_thread *t, uint64_t what, const void *lock)
{
    __atomic_store_n(&t->fw_inflight, (what << FW_INFL_SHIFT) | FW_INFL_ADDR(lock), __ATOMIC_RELEASE);
}

static inline void fw_inflight_clear(struct fw_thread *t)
{
    __atomic_store_n(&t->fw_inflight, 0, __ATOMIC_RELEASE);
}

/* The inline acquires of semaphores and read locks need no marker store: they
 * fill the entry at held[held_used] (beyond the published ones, which every
 * reader ignores) HELD before the lock's atomic and publish it by raising
 * held_used after it; a lost CAS empties it again. Every other path keeps the
 * entries past held_used EMPTY, so a HELD entry there is an acquire in flight. */
/* The inline releases (sem_post, a read unlock) mirror it: held_used is
 * lowered first, the entry stays HELD past it with this flag in its kind while
 * the real release runs, and is emptied after it. */
#define FW_KIND_INFL_RELEASE 0x100u
static inline const struct fw_held *fw_held_inflight(const struct fw_thread *t)
{
    uint32_t used = __atomic_load_n(&t->held_used, __ATOMIC_ACQUIRE);
    if (used >= FW_MAX_HELD)
        return 0;
    const struct fw_held *e = &t->held[used];
    return __atomic_load_n(&e->state, __ATOMIC_ACQUIRE) == FW_HOLD_HELD ? e : 0;
}

/* Is t (with `used` entries) inside an acquire of addr? A thread that holds a
 * semaphore and waits for it again (a CPython Condition waiter) leaves no holder
 * the child could wait for. */
int fw_thread_is_acquiring(const struct fw_thread *t, uint32_t used, uint64_t addr);

/* --- held entries --- */

/* Reserves a free entry (state stays EMPTY until published). NULL when full.
 * Appends while there is room (holes are reused once the table is full, and
 * trailing holes are trimmed on release): the common case is two stores. */
struct fw_held *fw_held_reserve_slow(struct fw_thread *t);
static inline struct fw_held *fw_held_reserve(struct fw_thread *t)
{
    uint32_t used = t->held_used;
    if (__builtin_expect(used < FW_MAX_HELD, 1)) {
        __atomic_store_n(&t->held_used, used + 1, __ATOMIC_RELEASE);
        return &t->held[used];
    }
    return fw_held_reserve_slow(t);
}

/* Fills and publishes an entry with the given state. */
static inline void fw_held_publish(struct fw_thread *t, struct fw_held *e, uint64_t addr,
                                   uint64_t call_site, uint32_t kind, uint32_t stack_id,
                                   uint32_t state)
{
    e->lock_addr = addr;
    e->call_site = call_site;
    e->kind = kind;
    e->stack_id = stack_id;
    e->seq = t->next_seq++;
    __atomic_store_n(&e->state, state, __ATOMIC_RELEASE);
}

/* Frees an entry owned by t and shrinks held_used past trailing empty entries. */
void fw_held_clear_slow(struct fw_thread *t, struct fw_held *e);
static inline void fw_held_clear(struct fw_thread *t, struct fw_held *e)
{
    __atomic_store_n(&e->state, FW_HOLD_EMPTY, __ATOMIC_RELEASE);
    uint32_t used = t->held_used;
    /* Common case: the last entry goes and the one before it is in use. */
    if (__builtin_expect(e == &t->held[used - 1] &&
                         (used == 1 || t->held[used - 2].state != FW_HOLD_EMPTY), 1))
        __atomic_store_n(&t->held_used, used - 1, __ATOMIC_RELEASE);
    else
        fw_held_clear_slow(t, e);
}

/* The most recent entry of t for addr in the given state (kind 0 = any). */
struct fw_held *fw_held_find_slow(struct fw_thread *t, uint64_t addr, uint32_t state, uint32_t kind);
static inline struct fw_held *fw_held_find(struct fw_thread *t, uint64_t addr, uint32_t state,
                                           uint32_t kind)
{
    uint32_t used = t->held_used;
    if (__builtin_expect(used > 0, 1)) {
        struct fw_held *e = &t->held[used - 1];   /* locks are mostly released LIFO */
        if (__builtin_expect(e->lock_addr == addr && e->state == state &&
                             (kind == FW_KIND_NONE || e->kind == kind), 1))
            return e;
    }
    return fw_held_find_slow(t, addr, state, kind);
}

/* Removes one HELD semaphore entry for addr from any other thread (live or, in a
 * fork child, vanished); the slot hinted by fw_sem_hint_set is tried first.
 * When self is not NULL, self's in-flight marker names the holder before its
 * entry goes. Returns 1 if one was removed. */
int fw_held_remove_remote(struct fw_thread *self, uint64_t addr, uint32_t kind);

/* Remote posts are O(1) for the common case (a CPython Condition waiter holds
 * its waiter lock and blocks on it; the notifier posts it): a thread about to
 * block on a semaphore notes its slot under the semaphore's hash. */
#define FW_SEM_HINT_SIZE 4096u
extern uint16_t fw_sem_hint[FW_SEM_HINT_SIZE] __attribute__((visibility("hidden")));   /* slot + 1, 0 = none */
static inline uint32_t fw_sem_hint_index(uint64_t addr)
{
    return (uint32_t)((addr * 0x9e3779b97f4a7c15ull) >> 40) & (FW_SEM_HINT_SIZE - 1);
}
static inline void fw_sem_hint_set(const struct fw_thread *t, uint64_t addr)
{
    uint16_t v = (uint16_t)(fw_thread_index(t) + 1);
    uint16_t *h = &fw_sem_hint[fw_sem_hint_index(addr)];
    if (__atomic_load_n(h, __ATOMIC_RELAXED) != v)
        __atomic_store_n(h, v, __ATOMIC_RELAXED);
}

/* Removes every entry (any thread, any state but ACQUIRING) for addr: the lock was
 * destroyed or re-initialised. */
void fw_held_forget_everywhere(uint64_t addr);

/* The same, only in slots in the given state (FW_THREAD_LIVE or _VANISHED). */
void fw_held_forget_in(uint64_t addr, uint32_t slot_state);

#endif
