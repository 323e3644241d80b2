/* fw_registry.c — the registry lives in BSS (no allocation, found by its dynamic
 * symbol in a live process or a core). Only the header is initialised here. */
#include "fw_registry.h"

#include <stddef.h>
#include <string.h>

struct fw_registry fw_registry_local;
/* The exported name (FW_REGISTRY_SYMBOL) that debuggers look up. */
extern struct fw_registry fw_registry_exported __asm__(FW_REGISTRY_SYMBOL)
    __attribute__((alias("fw_registry_local"), visibility("default")));

#define FW_DESC(table, type, cap) \
    ((struct fw_table_desc){ (uint32_t)offsetof(struct fw_registry, table), \
                             (uint32_t)sizeof(type), (cap), 0 })

void fw_registry_init_header(void)
{
    struct fw_registry_header *h = &forkwatch_registry.header;
    if (h->magic == FW_MAGIC)
        return;
    h->layout_version = FW_LAYOUT_VERSION;
    h->header_size = (uint32_t)sizeof *h;
    h->total_size = sizeof forkwatch_registry;
    strncpy(h->agent_version, FW_AGENT_VERSION, sizeof h->agent_version - 1);
    h->threads = FW_DESC(threads, struct fw_thread, FW_MAX_THREADS);
    h->stacks = FW_DESC(stacks, struct fw_stack, FW_MAX_STACKS);
    h->forks = FW_DESC(forks, struct fw_fork, FW_MAX_FORKS);
    h->fork_held = FW_DESC(fork_held, struct fw_fork_held, FW_MAX_FORK_HELD);
    h->py_threads = FW_DESC(py_threads, struct fw_py_thread, FW_MAX_PY_THREADS);
    h->py_frames = FW_DESC(py_frames, struct fw_py_frame, FW_MAX_PY_FRAMES);
    h->modules = FW_DESC(modules, struct fw_module, FW_MAX_MODULES);
    /* The magic is written last: a reader that sees it sees a complete header. */
    __atomic_store_n(&h->magic, FW_MAGIC, __ATOMIC_RELEASE);
}

int fw_registry_set_flag(uint32_t flag)
{
    uint32_t old = __atomic_fetch_or(&forkwatch_registry.header.flags, flag, __ATOMIC_RELAXED);
    return (old & flag) == 0;
}

void fw_registry_raise_used(struct fw_table_desc *desc, uint32_t n)
{
    uint32_t cur = __atomic_load_n(&desc->used, __ATOMIC_RELAXED);
    while (cur < n &&
           !__atomic_compare_exchange_n(&desc->used, &cur, n, 1, __ATOMIC_RELEASE, __ATOMIC_RELAXED))
        ;
}
