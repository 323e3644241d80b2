/* fw_stacks.h — native acquisition stacks, captured once per call site.
 *
 * An agent-private open-addressing hash maps a call site (the return address of
 * the interposed call) to a 1-based index into forkwatch_registry.stacks[]. The
 * first acquisition from a call site claims the hash slot by CAS and captures the
 * stack with libunwind; later ones only read. No lock, no allocation. */
#ifndef FW_STACKS_H
#define FW_STACKS_H

#include <stdint.h>

#define FW_STACK_HASH_SIZE 8192u   /* power of two, 2x FW_MAX_STACKS */

/* Fills frames[0..max) with return addresses, innermost first; returns the count. */
typedef int (*fw_unwind_fn)(void **frames, int max);

/* Returns the stack id for call_site (0 = none). Captures a stack on first use
 * unless capture is off; the caller has set fw_tls_guard. */
uint32_t fw_stack_id_for(uint64_t call_site, int may_capture);

/* Only looks up; never captures (fork child, or FORKWATCH_STACKS=0). */
uint32_t fw_stack_lookup(uint64_t call_site);

/* Tests replace the unwinder; NULL restores libunwind. */
void fw_stacks_set_unwinder(fw_unwind_fn fn);

/* Forgets every stack (tests only: the pool is append-only otherwise). */
void fw_stacks_reset(void);

#endif
