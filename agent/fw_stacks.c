/* fw_stacks.c — see fw_stacks.h. */
#include "fw_stacks.h"

#include "fw_log.h"
#include "fw_registry.h"
#include "fw_thread.h"

#include <dlfcn.h>
#include <libunwind.h>
#include <string.h>
#include <unwind.h>

#define NO_STACK FW_STACK_NONE
#define MAX_PROBES 64u
#define UNWIND_MAX 64

struct fw_stack_site fw_stack_sites[FW_STACK_HASH_SIZE];
#define sites fw_stack_sites
static uint32_t pool_next;          /* next free index in stacks[] */
static fw_unwind_fn unwinder;

/* The unwinder: libgcc_s's _Unwind_Backtrace (.eh_frame via dl_iterate_phdr; no
 * allocation, no file descriptor). libunwind's unw_backtrace opened a pipe on
 * first use (its memory-validation pipe, fds 3 and 4 in a fresh program), which
 * programs that check their inherited fds notice (CPython's test_subprocess). */
struct bt_state {
    void **frames;
    int max;
    int n;
};

/* libgcc_s's own entry points: the agent also links libunwind, which exports
 * _Unwind_* names of its own (and opens the same pipe), so they are looked up
 * in libgcc_s explicitly by fw_stacks_init(). */
static _Unwind_Reason_Code (*gcc_unwind_backtrace)(_Unwind_Trace_Fn, void *);
static _Unwind_Ptr (*gcc_get_ip)(struct _Unwind_Context *);

static _Unwind_Reason_Code bt_step_gcc(struct _Unwind_Context *ctx, void *arg)
{
    struct bt_state *st = arg;
    if (st->n >= st->max)
        return _URC_END_OF_STACK;
    uintptr_t ip = (uintptr_t)gcc_get_ip(ctx);
    if (ip == 0)
        return _URC_END_OF_STACK;
    st->frames[st->n++] = (void *)ip;
    return _URC_NO_REASON;
}

static int default_backtrace(void **frames, int max)
{
    if (gcc_unwind_backtrace && gcc_get_ip) {
        struct bt_state st = { frames, max, 0 };
        gcc_unwind_backtrace(bt_step_gcc, &st);
        return st.n;
    }
    return unw_backtrace(frames, max);   /* no libgcc_s: libunwind (opens its pipe) */
}

void fw_stacks_init(void)
{
    void *h = dlopen("libgcc_s.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!h)
        return;
    gcc_get_ip = (_Unwind_Ptr (*)(struct _Unwind_Context *))dlsym(h, "_Unwind_GetIP");
    gcc_unwind_backtrace = (_Unwind_Reason_Code (*)(_Unwind_Trace_Fn, void *))dlsym(h, "_Unwind_Backtrace");
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
    fw_unwind_fn fn = unwinder ? unwinder : default_backtrace;
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
