/* fw_stacks.c — see fw_stacks.h. */
#include "fw_stacks.h"

#include "fw_log.h"
#include "fw_registry.h"
#include "fw_thread.h"

#include <libunwind.h>
#include <string.h>

#define NO_STACK FW_STACK_NONE
#define MAX_PROBES 64u
#define UNWIND_MAX 64

struct fw_stack_site fw_stack_sites[FW_STACK_HASH_SIZE];
#define sites fw_stack_sites
static uint32_t pool_next;          /* next free index in stacks[] */
static fw_unwind_fn unwinder;

static int libunwind_backtrace(void **frames, int max)
{
    return unw_backtrace(frames, max);
}

void fw_stacks_set_unwinder(fw_unwind_fn fn)
{
    unwinder = fn;
}

void fw_stacks_reset(void)
{
    memset(sites, 0, sizeof sites);
    memset(forkwatch_registry.stacks, 0, sizeof forkwatch_registry.stacks);
    pool_next = 0;
    forkwatch_registry.header.stacks.used = 0;
    memset(fw_tls.sc_site, 0, sizeof fw_tls.sc_site);   /* this thread's cache */
}

#define hash_site fw_stack_hash

/* Captures the current stack into a fresh pool entry; returns its id or NO_STACK. */
static uint32_t capture(uint64_t call_site)
{
    uint32_t idx = __atomic_fetch_add(&pool_next, 1, __ATOMIC_RELAXED);
    if (idx >= FW_MAX_STACKS) {
        fw_warn_flag_once(FW_FLAG_STACKS_FULL,
                          "stack pool full: new lock call sites are recorded without a stack");
        return NO_STACK;
    }
    void *raw[UNWIND_MAX];
    fw_unwind_fn fn = unwinder ? unwinder : libunwind_backtrace;
    fw_tls_guard++;   /* libunwind takes its own locks: they must pass straight through */
    int n = fn(raw, UNWIND_MAX);
    fw_tls_guard--;
    if (n < 0)
        n = 0;
    /* Drop the agent's own frames: start at the caller of the interposed function. */
    int first = 0;
    while (first < n && (uint64_t)(uintptr_t)raw[first] != call_site)
        first++;
    if (first == n)
        first = 0;
    struct fw_stack *s = &forkwatch_registry.stacks[idx];
    uint32_t depth = 0;
    for (int i = first; i < n && depth < FW_STACK_DEPTH; i++)
        s->frames[depth++] = (uint64_t)(uintptr_t)raw[i];
    if (depth == 0)
        s->frames[depth++] = call_site;
    s->call_site = call_site;
    __atomic_store_n(&s->depth, depth, __ATOMIC_RELEASE);
    fw_registry_raise_used(&forkwatch_registry.header.stacks, idx + 1);
    return idx + 1;
}

static uint32_t visible(uint32_t id)
{
    return id == NO_STACK ? 0 : id;
}

uint32_t fw_stack_id_for(uint64_t call_site, int may_capture)
{
    uint32_t h = hash_site(call_site);
    for (uint32_t probe = 0; probe < MAX_PROBES; probe++) {
        struct fw_stack_site *s = &sites[(h + probe) & (FW_STACK_HASH_SIZE - 1)];
        uint64_t key = __atomic_load_n(&s->call_site, __ATOMIC_ACQUIRE);
        if (key == call_site)
            return visible(__atomic_load_n(&s->stack_id, __ATOMIC_ACQUIRE));
        if (key != 0)
            continue;
        if (!may_capture)
            return 0;
        uint64_t expect = 0;
        if (!__atomic_compare_exchange_n(&s->call_site, &expect, call_site, 0,
                                         __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
            if (expect == call_site)   /* another thread is capturing this site */
                return visible(__atomic_load_n(&s->stack_id, __ATOMIC_ACQUIRE));
            continue;
        }
        uint32_t id = capture(call_site);
        __atomic_store_n(&s->stack_id, id, __ATOMIC_RELEASE);
        return visible(id);
    }
    return 0;   /* hash crowded: no stack rather than a long scan */
}

uint32_t fw_stack_lookup(uint64_t call_site)
{
    return fw_stack_id_for(call_site, 0);
}
