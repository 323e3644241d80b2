/*
 * analyse_verbs.c — `forkwatch attach` and `forkwatch core`: argument parsing,
 * input checks, then the GDB batch run (DESIGN.md §2).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>

#include "core_check.h"
#include "gdb_runner.h"
#include "pid_check.h"
#include "text_escape.h"
#include "usage.h"
#include "verbs.h"

#define DEFAULT_TIMEOUT_S 120.0
#define MAX_TIMEOUT_S 86400.0

/* `forkwatch core` takes the cores of one job together (a parent's core names the holders
 * of its children's locks); a bound keeps the GDB command line finite. */
#define MAX_CORES 16

struct analyse_options {
    const char *target;   /* PID or (the first) COREFILE */
    const char *cores[MAX_CORES];
    int ncores;
    const char *exe;
    bool json, tree, verbose;
    double timeout_s;
};

static bool parse_timeout(const char *s, double *out)
{
    if (!s || !*s)
        return false;
    char *end;
    double v = strtod(s, &end);
    if (*end || !(v > 0) || v > MAX_TIMEOUT_S)
        return false;
    *out = v;
    return true;
}

/* Returns 0, -1 for --help, or the usage status 2. */
static int parse_options(const char *verb, int argc, char **argv, bool is_core, struct analyse_options *o)
{
    o->timeout_s = DEFAULT_TIMEOUT_S;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *eq = strchr(a, '=');
        size_t name_len = eq && a[0] == '-' ? (size_t)(eq - a) : strlen(a);
        char esc[128];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
            return -1;
        if (strcmp(a, "--json") == 0)
            o->json = true;
        else if (strcmp(a, "--verbose") == 0 || strcmp(a, "-v") == 0)
            o->verbose = true;
        else if (!is_core && strcmp(a, "--tree") == 0)
            o->tree = true;
        else if (strncmp(a, "--timeout", name_len) == 0 && name_len == 9) {
            const char *v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
            if (!parse_timeout(v, &o->timeout_s))
                return fw_usage_error(verb, "--timeout takes a number of seconds (0 < S <= 86400)");
        } else if (is_core && strncmp(a, "--exe", name_len) == 0 && name_len == 5) {
            const char *v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
            if (!v || !*v)
                return fw_usage_error(verb, "--exe needs a path");
            o->exe = v;
        } else if (a[0] == '-' && a[1] != '\0')
            return fw_usage_error(verb, "unknown option '%s'", fw_escape_cstr(a, esc, sizeof esc));
        else if (is_core && o->ncores < MAX_CORES) {
            o->cores[o->ncores++] = a;
            if (!o->target)
                o->target = a;
        } else if (is_core)
            return fw_usage_error(verb, "at most %d core files at once", MAX_CORES);
        else if (o->target)
            return fw_usage_error(verb, "unexpected argument '%s'", fw_escape_cstr(a, esc, sizeof esc));
        else
            o->target = a;
    }
    if (!o->target)
        return fw_usage_error(verb, is_core ? "no core file given" : "no PID given");
    return 0;
}

/* Appends one argument for GDB's string_to_argv: quoted when it holds
 * anything but plain path characters. */
static bool append_arg(char *cmd, size_t n, const char *arg)
{
    size_t len = strlen(cmd);
    bool plain = *arg != '\0';
    for (const char *p = arg; *p; p++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./+-=:,@%", *p))
            plain = false;
    if (len + 1 >= n)
        return false;
    cmd[len++] = ' ';
    if (!plain)
        cmd[len++] = '"';
    for (const char *p = arg; *p; p++) {
        if (len + 3 >= n)
            return false;
        if (!plain && (*p == '"' || *p == '\\'))
            cmd[len++] = '\\';
        cmd[len++] = *p;
    }
    if (!plain)
        cmd[len++] = '"';
    if (len >= n)
        return false;
    cmd[len] = '\0';
    return true;
}

int fw_verb_attach(int argc, char **argv)
{
    struct analyse_options o = {0};
    int rc = parse_options("attach", argc, argv, false, &o);
    if (rc < 0)
        return fw_print_verb_help("attach");
    if (rc)
        return rc;
    pid_t pid;
    if (!fw_check_attachable(o.target, &pid))
        return FW_EXIT_ERROR;
    char cmd[256];
    snprintf(cmd, sizeof cmd, "forkwatch batch attach %d%s%s", (int)pid, o.json ? " --json" : "",
             o.tree ? " --tree" : "");
    struct fw_gdb_job job = {.batch_command = cmd, .timeout_s = o.timeout_s, .verbose = o.verbose,
                             .attach_pid = pid};
    return fw_run_gdb(&job);
}

int fw_verb_core(int argc, char **argv)
{
    struct analyse_options o = {0};
    int rc = parse_options("core", argc, argv, true, &o);
    if (rc < 0)
        return fw_print_verb_help("core");
    if (rc)
        return rc;
    static char cmd[MAX_CORES * 6 * PATH_MAX + 64];
    snprintf(cmd, sizeof cmd, "forkwatch batch core");
    for (int i = 0; i < o.ncores; i++) {
        /* each core is checked (and its executable found) on its own: --exe, when given,
         * must fit every one of them */
        char exe[PATH_MAX];
        if (!fw_check_core(o.cores[i], o.exe, exe, sizeof exe))
            return FW_EXIT_ERROR;
        if (!append_arg(cmd, sizeof cmd, o.cores[i]) || !append_arg(cmd, sizeof cmd, "--exe") ||
            !append_arg(cmd, sizeof cmd, exe)) {
            fprintf(stderr, "forkwatch: paths too long\n");
            return FW_EXIT_ERROR;
        }
    }
    if (o.json && !append_arg(cmd, sizeof cmd, "--json")) {
        fprintf(stderr, "forkwatch: paths too long\n");
        return FW_EXIT_ERROR;
    }
    struct fw_gdb_job job = {.batch_command = cmd, .timeout_s = o.timeout_s, .verbose = o.verbose};
    return fw_run_gdb(&job);
}
