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
    uint32_t sc_id[8];
};                            /* 112 bytes */
#define FW_SC_INDEX(cs) ((uint32_t)((cs) >> 3) & 7u)   /* call sites lie >= 5 bytes apart */
extern __thread struct fw_tls_block fw_tls FW_TLS;
#define fw_tls_slot (fw_tls.slot)
#define fw_tls_guard (fw_tls.guard)

/* Set once at start-up; read on every lock operation. */
extern int fw_enabled;

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
extern uint32_t fw_threads_claimed_in_child;
extern int fw_in_fork_child;

/* Returns the calling thread's slot, claiming one if needed; NULL if none. */
static inline struct fw_thread *fw_thread_self(void)
{
    struct fw_thread *t = fw_tls_slot;
    if (__builtin_expect(t != 0, 1))
        return t;
    return fw_thread_claim();
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
 * fork child, vanished). Returns 1 if one was removed. */
int fw_held_remove_remote(struct fw_thread *self, uint64_t addr, uint32_t kind);

/* Removes every entry (any thread, any state but ACQUIRING) for addr: the lock was
 * destroyed or re-initialised. */
void fw_held_forget_everywhere(uint64_t addr);

/* The same, only in slots in the given state (FW_THREAD_LIVE or _VANISHED). */
void fw_held_forget_in(uint64_t addr, uint32_t slot_state);

#endif
