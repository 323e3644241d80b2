/* FORKWATCH_* parsing: defaults, valid values, one warning per bad value. */
#include <criterion/criterion.h>

#include "forkwatch_abi.h"
#include "fw_config.h"

#include <string.h>

static const char *const *env_table;
static int warnings;
static char last_warning[256];

static const char *fake_getenv(const char *name)
{
    for (const char *const *p = env_table; p && p[0]; p += 2)
        if (strcmp(p[0], name) == 0)
            return p[1];
    return NULL;
}

static void count_warning(const char *line)
{
    warnings++;
    strncpy(last_warning, line, sizeof last_warning - 1);
}

static struct fw_config parse(const char *const *table, int secure)
{
    struct fw_config c;
    env_table = table;
    warnings = 0;
    fw_config_parse(&c, fake_getenv, count_warning, secure);
    return c;
}

Test(config, defaults)
{
    static const char *const none[] = { NULL };
    struct fw_config c = parse(none, 0);
    cr_assert_eq(c.policy, FW_POLICY_ABORT);
    cr_assert_eq(c.exit_status, 86);
    cr_assert_eq(c.quiet, 0);
    cr_assert_eq(c.stacks, 1);
    cr_assert_eq(c.python, 1);
    cr_assert_eq(c.inline_fast_paths, 1);
    cr_assert_eq(c.disabled, 0);
    cr_assert_str_eq(c.report_path, "");
    cr_assert_eq(warnings, 0);
}

Test(config, valid_values)
{
    static const char *const env[] = { "FORKWATCH_ON_DEADLOCK", "warn", "FORKWATCH_EXIT_STATUS", "255",
                                       "FORKWATCH_QUIET", "1", "FORKWATCH_STACKS", "0",
                                       "FORKWATCH_PYTHON", "0", "FORKWATCH_REPORT", "/tmp/r.jsonl",
                                       "FORKWATCH_INLINE", "0", NULL };
    struct fw_config c = parse(env, 0);
    cr_assert_eq(c.policy, FW_POLICY_WARN);
    cr_assert_eq(c.exit_status, 255);
    cr_assert_eq(c.quiet, 1);
    cr_assert_eq(c.stacks, 0);
    cr_assert_eq(c.python, 0);
    cr_assert_eq(c.inline_fast_paths, 0);
    cr_assert_str_eq(c.report_path, "/tmp/r.jsonl");
    cr_assert_eq(warnings, 0);
}

Test(config, policy_off_and_disable)
{
    static const char *const env[] = { "FORKWATCH_ON_DEADLOCK", "off", "FORKWATCH_DISABLE", "1", NULL };
    struct fw_config c = parse(env, 0);
    cr_assert_eq(c.policy, FW_POLICY_OFF);
    cr_assert_eq(c.disabled, 1);
}

Test(config, bad_values_keep_defaults_and_warn_once_each)
{
    static const char *const env[] = { "FORKWATCH_ON_DEADLOCK", "explode", "FORKWATCH_EXIT_STATUS", "0",
                                       "FORKWATCH_QUIET", "yes", NULL };
    struct fw_config c = parse(env, 0);
    cr_assert_eq(c.policy, FW_POLICY_ABORT);
    cr_assert_eq(c.exit_status, 86);
    cr_assert_eq(c.quiet, 0);
    cr_assert_eq(warnings, 3);
}

Test(config, exit_status_range)
{
    static const char *const too_big[] = { "FORKWATCH_EXIT_STATUS", "256", NULL };
    static const char *const junk[] = { "FORKWATCH_EXIT_STATUS", "12x", NULL };
    static const char *const empty[] = { "FORKWATCH_EXIT_STATUS", "", NULL };
    cr_assert_eq(parse(too_big, 0).exit_status, 86);
    cr_assert_eq(warnings, 1);
    cr_assert_eq(parse(junk, 0).exit_status, 86);
    cr_assert_eq(warnings, 1);
    cr_assert_eq(parse(empty, 0).exit_status, 86);
    cr_assert(strstr(last_warning, "FORKWATCH_EXIT_STATUS") != NULL);
}

Test(config, secure_exec_disables_everything)
{
    static const char *const env[] = { "FORKWATCH_REPORT", "/etc/evil", NULL };
    struct fw_config c = parse(env, 1);
    cr_assert_eq(c.disabled, 1);
    cr_assert_eq(c.secure_exec, 1);
    cr_assert_str_eq(c.report_path, "");
}
