/* A full table is reported once: into FORKWATCH_REPORT when there is one (the
 * program's stderr stays untouched), else as one line on stderr. */
#include <criterion/criterion.h>

#include "unit_agent.h"

#include "fw_event.h"
#include "fw_lockops.h"
#include "fw_log.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *report;

static void setup(void)
{
    unit_agent_reset(FW_POLICY_ABORT);
    fw_cfg.quiet = 0;   /* the warning's own subject: where it is printed */
    report = unit_report_path("warn");
}

static void teardown(void)
{
    unit_report_remove();
}

/* Fills the calling thread's held table and one more; stderr goes to err_path. */
static void overfill(const char *err_path)
{
    int saved = dup(2);
    int fd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 2);
    close(fd);
    static char locks[FW_MAX_HELD + 1];
    for (uint32_t i = 0; i < FW_MAX_HELD + 1; i++) {
        struct fw_op op;
        fw_acquire_begin(&op, &locks[i], FW_KIND_MUTEX, FW_ACQ_BLOCKING, 0x10);
        fw_acquire_end(&op, 1, FW_KIND_MUTEX);
    }
    dup2(saved, 2);
    close(saved);
}

TestSuite(warning, .init = setup, .fini = teardown);

Test(warning, a_full_held_table_goes_to_the_report_not_stderr)
{
    strcpy(fw_cfg.report_path, report);
    overfill("/tmp/fw_unit_warn.err");
    cr_assert(forkwatch_registry.header.flags & FW_FLAG_HELD_FULL);
    char *r = unit_read_file(report);
    cr_assert_not_null(r);
    cr_assert_not_null(strstr(r, "{\"schema\":\"forkwatch-event/1\",\"event\":\"agent-warning\","), "%s", r);
    cr_assert_not_null(strstr(r, "\"message\":\"a thread holds more locks than recorded"), "%s", r);
    cr_assert_null(strstr(strstr(r, "\n") + 1, "agent-warning"), "once");
    char *e = unit_read_file("/tmp/fw_unit_warn.err");
    cr_assert_null(strstr(e, "forkwatch: warning:"), "stderr: %s", e);
    unlink("/tmp/fw_unit_warn.err");
}

Test(warning, without_a_report_file_it_is_one_line_on_stderr)
{
    fw_cfg.report_path[0] = '\0';
    overfill("/tmp/fw_unit_warn2.err");
    char *e = unit_read_file("/tmp/fw_unit_warn2.err");
    cr_assert_not_null(strstr(e, "forkwatch: warning: a thread holds more locks than recorded"), "%s", e);
    unlink("/tmp/fw_unit_warn2.err");
}
