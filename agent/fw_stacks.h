/* fw_stacks.h — native acquisition stacks, captured once per call site.
 *
 * An agent-private open-addressing hash maps a call site (the return address of
 * the interposed call) to a 1-based index into forkwatch_registry.stacks[]. The
 * first acquisition from a call site claims the hash slot by CAS and captures the
 * stack (libgcc_s unwinder); later ones only read. No lock, no allocation. */
#ifndef FW_STACKS_H
#define FW_STACKS_H

#include <stdint.h>

#define FW_STACK_HASH_SIZE 8192u   /* power of two, 2x FW_MAX_STACKS */

/* The call-site hash (agent-private; exposed only so the lookup can be inlined). */
struct fw_stack_site {
    uint64_t call_site;   /* 0 = free */
    uint32_t stack_id;    /* 0 = being captured, FW_STACK_NONE, or 1-based id */
    uint32_t pad;
};
#define FW_STACK_NONE UINT32_MAX   /* call site known, pool was full */
extern struct fw_stack_site fw_stack_sites[FW_STACK_HASH_SIZE] __attribute__((visibility("hidden")));

static inline uint32_t fw_stack_hash(uint64_t cs)
{
    return (uint32_t)((cs * 0x9e3779b97f4a7c15ull) >> 40) & (FW_STACK_HASH_SIZE - 1);
}

/* Fills frames[0..max) with return addresses, innermost first; returns the count. */
typedef int (*fw_unwind_fn)(void **frames, int max);

/* Returns the stack id for call_site (0 = none). Captures a stack on first use
 * unless capture is off; the caller has set fw_tls_guard. */
uint32_t fw_stack_id_for(uint64_t call_site, int may_capture);

/* Hot path: a call site seen before is found in its home slot. */
static inline uint32_t fw_stack_id_fast(uint64_t call_site, int may_capture)
{
    const struct fw_stack_site *s = &fw_stack_sites[fw_stack_hash(call_site)];
    if (__builtin_expect(__atomic_load_n(&s->call_site, __ATOMIC_ACQUIRE) == call_site, 1)) {
        uint32_t id = __atomic_load_n(&s->stack_id, __ATOMIC_ACQUIRE);
        return id == FW_STACK_NONE ? 0 : id;
    }
    return fw_stack_id_for(call_site, may_capture);
}

/* Only looks up; never captures (fork child, or FORKWATCH_STACKS=0). */
uint32_t fw_stack_lookup(uint64_t call_site);

/* Start-up: binds libgcc_s's unwinder (libunwind when libgcc_s is missing). */
void fw_stacks_init(void);

/* Tests replace the unwinder; NULL restores the default one. */
void fw_stacks_set_unwinder(fw_unwind_fn fn);

/* Forgets every stack (tests only: the pool is append-only otherwise). */
void fw_stacks_reset(void);

#endif
