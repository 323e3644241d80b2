/* The call-site stack pool: one capture per call site, bounded. */
#include <criterion/criterion.h>

#include "fw_registry.h"
#include "fw_stacks.h"

static int unwinds;

/* Two agent frames, then the call site, then two callers. */
static int fake_unwind(void **frames, int max)
{
    unwinds++;
    uintptr_t f[] = { 0xa1, 0xa2, 0x4000, 0x5000, 0x6000 };
    int n = 0;
    for (; n < 5 && n < max; n++)
        frames[n] = (void *)f[n];
    return n;
}

static void setup(void)
{
    fw_registry_init_header();
    fw_stacks_reset();
    fw_stacks_set_unwinder(fake_unwind);
    unwinds = 0;
}

TestSuite(stacks, .init = setup);

Test(stacks, first_acquisition_captures_from_the_call_site)
{
    uint32_t id = fw_stack_id_for(0x4000, 1);
    cr_assert_eq(id, 1);
    const struct fw_stack *s = &forkwatch_registry.stacks[0];
    cr_assert_eq(s->call_site, 0x4000);
    cr_assert_eq(s->depth, 3, "agent frames are dropped");
    cr_assert_eq(s->frames[0], 0x4000);
    cr_assert_eq(s->frames[2], 0x6000);
    cr_assert_eq(forkwatch_registry.header.stacks.used, 1);
}

Test(stacks, same_call_site_is_deduplicated)
{
    uint32_t a = fw_stack_id_for(0x4000, 1);
    uint32_t b = fw_stack_id_fast(0x4000, 1);
    uint32_t c = fw_stack_lookup(0x4000);
    cr_assert_eq(a, b);
    cr_assert_eq(a, c);
    cr_assert_eq(unwinds, 1);
    cr_assert_neq(fw_stack_id_for(0x4444, 1), a);
    cr_assert_eq(unwinds, 2);
}

Test(stacks, lookup_never_captures)
{
    cr_assert_eq(fw_stack_lookup(0x7777), 0);
    cr_assert_eq(unwinds, 0);
}

Test(stacks, full_pool_sets_the_flag_and_gives_no_stack)
{
    forkwatch_registry.header.flags = 0;
    for (uint64_t i = 0; i < FW_MAX_STACKS; i++)
        cr_assert_neq(fw_stack_id_for(0x100000 + i * 16, 1), 0);
    cr_assert_eq(fw_stack_id_for(0x900000, 1), 0);
    cr_assert(forkwatch_registry.header.flags & FW_FLAG_STACKS_FULL);
    cr_assert_eq(forkwatch_registry.header.stacks.used, FW_MAX_STACKS);
    /* The site is remembered: no further unwind attempts for it. */
    int before = unwinds;
    cr_assert_eq(fw_stack_id_for(0x900000, 1), 0);
    cr_assert_eq(unwinds, before);
}
