/*
 * snapshot_verb.c — `forkwatch snapshot (PID | --core COREFILE [--exe EXE]) [--json]`: every
 * thread's native stack, and the mappings, read without GDB (issue 20's direct targets).
 *
 * Live: the modules are opened first while the process runs (dwfl_target.c), then every thread
 * is stopped (ptrace_stop.c), registers and stacks are read, and every thread is detached at
 * once; names are looked up afterwards. A process that vanishes at any instant gives one line
 * and exit 3: the stop is checked to have held (the process still alive) before the threads
 * are let go, so a printed snapshot is one the process really was in.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

#include "core_check.h"
#include "core_notes.h"
#include "dwfl_target.h"
#include "pid_check.h"
#include "proc_facts.h"
#include "ptrace_stop.h"
#include "snapshot.h"
#include "text_escape.h"
#include "usage.h"
#include "verbs.h"

struct snapshot_options {
    const char *pid;
    const char *core;
    const char *exe;
    bool json;
};

/* Returns 0, -1 for --help, or the usage status 2. */
static int parse(int argc, char **argv, struct snapshot_options *o)
{
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        char esc[128];
        const char *eq = strchr(a, '=');
        size_t name_len = eq && a[0] == '-' ? (size_t)(eq - a) : strlen(a);
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
            return -1;
        if (strcmp(a, "--json") == 0)
            o->json = true;
        else if ((name_len == 6 && strncmp(a, "--core", 6) == 0) || (name_len == 5 && strncmp(a, "--exe", 5) == 0)) {
            bool core = a[2] == 'c';
            const char *v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
            if (!v || !*v)
                return fw_usage_error("snapshot", "%s needs a path", core ? "--core" : "--exe");
            if (core && o->core)
                return fw_usage_error("snapshot", "one --core at a time");
            *(core ? &o->core : &o->exe) = v;
        } else if (a[0] == '-' && a[1] != '\0')
            return fw_usage_error("snapshot", "unknown option '%s'", fw_escape_cstr(a, esc, sizeof esc));
        else if (o->pid)
            return fw_usage_error("snapshot", "unexpected argument '%s'", fw_escape_cstr(a, esc, sizeof esc));
        else
            o->pid = a;
    }
    if (o->pid && o->core)
        return fw_usage_error("snapshot", "give a PID or --core COREFILE, not both");
    if (!o->pid && !o->core)
        return fw_usage_error("snapshot", "no PID or --core COREFILE given");
    if (o->exe && !o->core)
        return fw_usage_error("snapshot", "--exe goes with --core");
    return 0;
}

static int print(const struct fw_snapshot *s, bool json)
{
    bool ok = json ? fw_snapshot_write_json(stdout, s) : fw_snapshot_write_text(stdout, s);
    if (fflush(stdout) != 0 || !ok) {
        fprintf(stderr, "forkwatch: cannot write the snapshot: %s\n", strerror(errno));
        return FW_EXIT_ERROR;
    }
    return FW_EXIT_OK;
}

/* Names every frame (after the process was let go: symbol lookup needs no stopped thread)
 * and prints the snapshot; the exit status. */
static int symbolise_and_print(struct fw_dwfl_target *t, struct fw_snapshot *s, bool json)
{
    for (size_t i = 0; i < s->nthreads; i++)
        fw_dwfl_symbolise(t, &s->threads[i]);
    fw_snap_name_modules(s);
    return print(s, json);
}

static int gone(pid_t pid)
{
    fprintf(stderr, "forkwatch: PID %d exited during the snapshot\n", (int)pid);
    return FW_EXIT_ERROR;
}

/* Test hook (tests/snapshot): FORKWATCH_SNAPSHOT_TEST_HOLD_MS=N keeps the threads stopped up to
 * N ms (at most 10 s; less if the process dies meanwhile) between the stop and the unwinding,
 * so that a test can end the process at exactly that instant, after seeing TracerPid name us,
 * rather than by chance. */
static void test_hold(pid_t pid)
{
    const char *v = getenv("FORKWATCH_SNAPSHOT_TEST_HOLD_MS");
    long ms = v ? strtol(v, NULL, 10) : 0;
    if (ms > 10000)
        ms = 10000;
    for (; ms > 0 && fw_process_alive(pid); ms -= 10) {
        struct timespec d = {0, 10 * 1000000L};
        nanosleep(&d, NULL);
    }
}

static int snapshot_live(const char *arg, bool json)
{
    pid_t pid;
    if (!fw_check_attachable(arg, &pid))
        return FW_EXIT_ERROR;
    char err[512];
    struct fw_dwfl_target *t = fw_dwfl_live_open(pid, err, sizeof err);
    if (!t) {
        if (!fw_process_alive(pid))
            return gone(pid);
        fprintf(stderr, "forkwatch: cannot read PID %d: %s\n", (int)pid, err);
        return FW_EXIT_ERROR;
    }
    struct fw_snapshot s = {.pid = pid, .stopped_us = -1};
    struct fw_stopped_set set;
    int rc = FW_EXIT_OK;
    enum fw_stop_result r = fw_stop_all(pid, &set, err, sizeof err);
    if (r == FW_STOP_OK)
        test_hold(pid);
    if (r == FW_STOP_OK && !fw_dwfl_live_attach(t, err, sizeof err))
        r = fw_process_alive(pid) ? FW_STOP_FAILED : FW_STOP_GONE;
    /* The facts, names and maps are read inside the stop (tens of microseconds): they then
     * describe the same instant as the stacks (an exec or a thread renaming itself cannot
     * fall between them). */
    if (r == FW_STOP_OK && !fw_proc_read_maps(pid, &s))
        r = FW_STOP_GONE;
    if (r == FW_STOP_OK)
        fw_proc_read_facts(pid, &s);
    if (r == FW_STOP_OK) {
        bool usable = true;
        for (size_t i = 0; i < set.n; i++) {
            struct fw_snap_thread *th = fw_snap_add_thread(&s, set.threads[i].tid);
            if (!th) {
                snprintf(err, sizeof err, "out of memory");
                r = FW_STOP_FAILED;
                break;
            }
            th->state = set.threads[i].state == '?' ? 0 : set.threads[i].state;
            th->syscall_nr = set.threads[i].syscall_nr;
            th->name = fw_proc_thread_name(pid, th->tid);
            if (!set.threads[i].seized)
                th->unwind_error = strdup("a zombie thread: no stack to read");
            else if (usable)
                usable = fw_dwfl_unwind(t, th);
            else
                th->unwind_error = strdup("not read: libdwfl cannot go on after an earlier thread's "
                                          "registers were unreadable");
            if (!usable && !fw_process_alive(pid)) {
                r = FW_STOP_GONE;
                break;
            }
        }
        /* Still there at the end of the stop: what was read is one consistent instant. A
         * SIGKILL wakes a ptrace-stopped thread (ptrace(2)), so the stacks may have been read
         * from a dying process: no snapshot then. */
        if (r == FW_STOP_OK && !fw_process_alive(pid))
            r = FW_STOP_GONE;
    }
    fw_resume_all(&set);
    s.stopped_us = fw_stopped_us(&set);
    if (r == FW_STOP_GONE)
        rc = gone(pid);
    else if (r == FW_STOP_DENIED) {
        fprintf(stderr, "forkwatch: not permitted to trace PID %d: %s\n", (int)pid, err);
        rc = FW_EXIT_ERROR;
    } else if (r != FW_STOP_OK) {
        fprintf(stderr, "forkwatch: cannot stop PID %d: %s\n", (int)pid, err);
        rc = FW_EXIT_ERROR;
    } else {
        rc = symbolise_and_print(t, &s, json);
    }
    fw_stopped_set_free(&set);
    fw_snapshot_free(&s);
    fw_dwfl_close(t);
    return rc;
}

static int snapshot_core(const char *core, const char *exe_opt, bool json)
{
    /* core_check.c refuses what is not a complete ELF core (truncated, another file type,
     * an --exe that did not dump it) with one line, and finds the executable from NT_FILE. */
    char exe[PATH_MAX] = "";
    if (!fw_check_core(core, exe_opt, exe, sizeof exe))
        return FW_EXIT_ERROR;
    char err[512], esc[256];
    struct fw_dwfl_target *t = fw_dwfl_core_open(core, exe[0] ? exe : NULL, err, sizeof err);
    if (!t) {
        fprintf(stderr, "forkwatch: %s: %s\n", fw_escape_cstr(core, esc, sizeof esc), err);
        return FW_EXIT_ERROR;
    }
    struct fw_snapshot s = {.is_core = true, .stopped_us = -1};
    int rc;
    s.core = strdup(core);
    s.exe = exe[0] ? strdup(exe) : NULL;
    if (!fw_dwfl_core_threads(t, &s, err, sizeof err) || !fw_core_read_notes(fw_dwfl_core_elf(t), &s, err, sizeof err)) {
        fprintf(stderr, "forkwatch: %s: %s\n", fw_escape_cstr(core, esc, sizeof esc), err);
        rc = FW_EXIT_ERROR;
    } else if (s.nthreads == 0) {
        fprintf(stderr, "forkwatch: %s: the core holds no thread\n", fw_escape_cstr(core, esc, sizeof esc));
        rc = FW_EXIT_ERROR;
    } else {
        rc = symbolise_and_print(t, &s, json);
    }
    fw_snapshot_free(&s);
    fw_dwfl_close(t);
    return rc;
}

int fw_verb_snapshot(int argc, char **argv)
{
    struct snapshot_options o = {0};
    int rc = parse(argc, argv, &o);
    if (rc < 0)
        return fw_print_verb_help("snapshot");
    if (rc)
        return rc;
    return o.core ? snapshot_core(o.core, o.exe, o.json) : snapshot_live(o.pid, o.json);
}
