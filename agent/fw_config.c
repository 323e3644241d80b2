/* fw_config.c — parsing of the FORKWATCH_* variables (DESIGN.md §1 table). */
#include "fw_config.h"

#include "forkwatch_abi.h"
#include "fw_buf.h"

#include <string.h>

struct fw_config fw_cfg;

static void warn_bad(fw_warn_fn warn, const char *name, const char *expected)
{
    char line[160];
    struct fw_buf b;
    fw_buf_init(&b, line, sizeof line - 1);
    fw_buf_str(&b, "ignoring invalid ");
    fw_buf_str(&b, name);
    fw_buf_str(&b, " (expected ");
    fw_buf_str(&b, expected);
    fw_buf_str(&b, ")");
    line[b.len] = '\0';
    if (warn)
        warn(line);
}

/* A 0/1 switch. */
static void parse_bool(fw_getenv_fn get, fw_warn_fn warn, const char *name, int *out)
{
    const char *v = get(name);
    if (!v)
        return;
    if (strcmp(v, "0") == 0)
        *out = 0;
    else if (strcmp(v, "1") == 0)
        *out = 1;
    else
        warn_bad(warn, name, "0 or 1");
}

static void parse_exit_status(fw_getenv_fn get, fw_warn_fn warn, int *out)
{
    const char *v = get("FORKWATCH_EXIT_STATUS");
    if (!v)
        return;
    int n = 0;
    size_t i = 0;
    for (; v[i] >= '0' && v[i] <= '9' && i < 4; i++)
        n = n * 10 + (v[i] - '0');
    if (i == 0 || v[i] != '\0' || n < 1 || n > 255)
        warn_bad(warn, "FORKWATCH_EXIT_STATUS", "1-255");
    else
        *out = n;
}

void fw_config_parse(struct fw_config *cfg, fw_getenv_fn get, fw_warn_fn warn, int secure_exec)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->policy = FW_POLICY_ABORT;
    cfg->exit_status = FW_EXIT_DEADLOCK;
    cfg->stacks = 1;
    cfg->python = 1;
    cfg->inline_fast_paths = 1;
    if (secure_exec) {
        /* Never trust the environment of a set-uid program: do nothing at all. */
        cfg->secure_exec = 1;
        cfg->disabled = 1;
        return;
    }
    parse_bool(get, warn, "FORKWATCH_DISABLE", &cfg->disabled);
    parse_bool(get, warn, "FORKWATCH_QUIET", &cfg->quiet);
    parse_bool(get, warn, "FORKWATCH_STACKS", &cfg->stacks);
    parse_bool(get, warn, "FORKWATCH_PYTHON", &cfg->python);
    parse_bool(get, warn, "FORKWATCH_INLINE", &cfg->inline_fast_paths);
    parse_exit_status(get, warn, &cfg->exit_status);

    const char *p = get("FORKWATCH_ON_DEADLOCK");
    if (p) {
        if (strcmp(p, "abort") == 0)
            cfg->policy = FW_POLICY_ABORT;
        else if (strcmp(p, "warn") == 0)
            cfg->policy = FW_POLICY_WARN;
        else if (strcmp(p, "off") == 0)
            cfg->policy = FW_POLICY_OFF;
        else
            warn_bad(warn, "FORKWATCH_ON_DEADLOCK", "abort, warn or off");
    }

    const char *r = get("FORKWATCH_REPORT");
    if (r && r[0]) {
        if (strlen(r) >= sizeof cfg->report_path)
            warn_bad(warn, "FORKWATCH_REPORT", "a path shorter than 4096 bytes");
        else
            strcpy(cfg->report_path, r);
    }
}
