/* Registry header: the values a debugger relies on to find and bound the tables. */
#include <criterion/criterion.h>

#include "fw_registry.h"

#include <stddef.h>
#include <string.h>

Test(registry, header_is_filled_at_start_up)
{
    fw_registry_init_header();
    const struct fw_registry_header *h = &forkwatch_registry.header;
    cr_assert_eq(h->magic, FW_MAGIC);
    cr_assert_eq(h->layout_version, FW_LAYOUT_VERSION);
    cr_assert_eq(h->header_size, sizeof *h);
    cr_assert_eq(h->header_size, 208);
    cr_assert_eq(h->total_size, sizeof(struct fw_registry));
    cr_assert_str_eq(h->agent_version, FW_AGENT_VERSION);
}

Test(registry, table_descriptors_match_the_layout)
{
    fw_registry_init_header();
    const struct fw_registry_header *h = &forkwatch_registry.header;
    cr_assert_eq(h->threads.offset, offsetof(struct fw_registry, threads));
    cr_assert_eq(h->threads.entry_size, sizeof(struct fw_thread));
    cr_assert_eq(h->threads.capacity, FW_MAX_THREADS);
    cr_assert_eq(h->stacks.offset, offsetof(struct fw_registry, stacks));
    cr_assert_eq(h->stacks.capacity, FW_MAX_STACKS);
    cr_assert_eq(h->forks.offset, offsetof(struct fw_registry, forks));
    cr_assert_eq(h->fork_held.offset, offsetof(struct fw_registry, fork_held));
    cr_assert_eq(h->fork_held.entry_size, 128);
    cr_assert_eq(h->py_threads.offset, offsetof(struct fw_registry, py_threads));
    cr_assert_eq(h->py_frames.offset, offsetof(struct fw_registry, py_frames));
    cr_assert_eq(h->modules.offset, offsetof(struct fw_registry, modules));
    cr_assert_eq(h->modules.entry_size, 296);
    /* Every table lies inside the registry. */
    const struct fw_table_desc *d[] = { &h->threads, &h->stacks, &h->forks, &h->fork_held,
                                        &h->py_threads, &h->py_frames, &h->modules };
    for (size_t i = 0; i < sizeof d / sizeof d[0]; i++)
        cr_assert_leq((uint64_t)d[i]->offset + (uint64_t)d[i]->entry_size * d[i]->capacity, h->total_size);
}

Test(registry, abi_offsets_of_entries)
{
    cr_assert_eq(offsetof(struct fw_thread, held), 64);
    cr_assert_eq(sizeof(struct fw_thread), 1088);
    cr_assert_eq(sizeof(struct fw_held), 32);
    cr_assert_eq(offsetof(struct fw_held, state), 20);
    cr_assert_eq(sizeof(struct fw_stack), 208);
    cr_assert_eq(sizeof(struct fw_fork), 48);
    cr_assert_eq(offsetof(struct fw_fork_held, call_site_function), 64);
    cr_assert_eq(sizeof(struct fw_py_thread), 56);
    cr_assert_eq(sizeof(struct fw_py_frame), 256);
}

Test(registry, flags_report_the_first_setter_only)
{
    forkwatch_registry.header.flags = 0;
    cr_assert_eq(fw_registry_set_flag(FW_FLAG_STACKS_FULL), 1);
    cr_assert_eq(fw_registry_set_flag(FW_FLAG_STACKS_FULL), 0);
    cr_assert_eq(forkwatch_registry.header.flags, FW_FLAG_STACKS_FULL);
}

Test(registry, used_is_a_high_water_mark)
{
    struct fw_table_desc d = { 0, 0, 10, 3 };
    fw_registry_raise_used(&d, 2);
    cr_assert_eq(d.used, 3);
    fw_registry_raise_used(&d, 7);
    cr_assert_eq(d.used, 7);
}
