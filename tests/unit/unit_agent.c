/* unit_agent.c — see unit_agent.h. */
#include "unit_agent.h"

#include "forkwatch_abi.h"
#include "fw_config.h"
#include "fw_registry.h"
#include "fw_thread.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char report[64];

void unit_agent_reset(uint32_t policy)
{
    fw_registry_init_header();
    fw_enabled = 1;
    fw_cfg.stacks = 0;
    fw_cfg.python = 0;
    fw_cfg.quiet = 1;
    fw_cfg.policy = policy;
}

const char *unit_report_path(const char *tag)
{
    if (!report[0]) {
        snprintf(report, sizeof report, "/tmp/fw_unit_%s.XXXXXX", tag);
        int fd = mkstemp(report);
        if (fd >= 0)
            close(fd);
        unlink(report);   /* the agent creates it (0600, O_NOFOLLOW) */
    }
    return report;
}

void unit_report_remove(void)
{
    if (report[0])
        unlink(report);
    report[0] = '\0';
}

char *unit_read_file(const char *path)
{
    static char buf[1 << 16];
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return NULL;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    buf[n > 0 ? n : 0] = '\0';
    return buf;
}

char *unit_read_report(void)
{
    return report[0] ? unit_read_file(report) : NULL;
}

void unit_record_fork(void)
{
    struct fw_registry *r = &forkwatch_registry;
    r->header.pid = 100;
    r->header.latest_fork_slot = 0;
    r->forks[0].fork_id = 1;
    r->forks[0].parent_pid = 100;
    r->forks[0].forker_tid = 100;
    r->forks[0].via = FW_VIA_FORK;
}
