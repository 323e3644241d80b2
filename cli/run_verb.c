/*
 * run_verb.c — `forkwatch run`: runs a command under the agent and turns the
 * agent's report into a summary and an exit status (DESIGN.md §2).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ci_cases.h"
#include "paths.h"
#include "report.h"
#include "signals.h"
#include "text_escape.h"
#include "usage.h"
#include "verbs.h"
#include "watchdog.h"

#define DEFAULT_HANG_TIMEOUT_S 10.0
#define DEFAULT_GRACE_S 10.0
#define MAX_SECONDS 86400.0

struct run_options {
    const char *report;       /* NULL: a fresh temp dir */
    const char *on_deadlock;  /* abort | warn | off */
    bool fail_on_hazard;
    bool quiet;
    bool verbose;
    double hang_timeout_s;    /* <= 0: --hang-timeout none */
    double grace_s;           /* < 0: --grace none */
    const char *label;
    const char *junit;
    char **cmd;
};

/* SECONDS or "none" (*out = none_value). zero_ok: 0 is a valid bound. */
static bool parse_seconds(const char *v, bool zero_ok, double none_value, double *out)
{
    if (!v || !*v)
        return false;
    if (strcmp(v, "none") == 0) {
        *out = none_value;
        return true;
    }
    char *end;
    double d = strtod(v, &end);
    if (*end || d != d || d < 0 || (!zero_ok && d == 0) || d > MAX_SECONDS)
        return false;
    *out = d;
    return true;
}

/* Accepts "--opt VALUE" and "--opt=VALUE"; *i is advanced past the value. */
static bool option_value(int argc, char **argv, int *i, const char *name, const char **value)
{
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) != 0)
        return false;
    if (argv[*i][n] == '=') {
        *value = argv[*i] + n + 1;
        return true;
    }
    if (argv[*i][n] != '\0')
        return false;
    /* "--opt --" is a missing value, not a file named "--". */
    *value = *i + 1 < argc && strcmp(argv[*i + 1], "--") != 0 ? argv[++*i] : NULL;
    return true;
}

/* A file option's value: a word that looks like an option ("--", "--quiet",
 * "-") is a forgotten value, not a file name (`--junit -- CMD` once wrote a
 * JUnit file named "--"). A file really named so is given as ./-NAME. */
static bool file_name_value(const char *option, const char *v)
{
    char esc[128];
    if (!v || !*v)
        fw_usage_error("run", "%s needs a file name", option);
    else if (v[0] == '-')
        fw_usage_error("run", "%s needs a file name, not the option-like '%s' (write ./%s for a file of that name)",
                       option, fw_escape_cstr(v, esc, sizeof esc), esc);
    else
        return true;
    return false;
}

static int parse_run_options(int argc, char **argv, struct run_options *o)
{
    o->on_deadlock = "abort";
    o->hang_timeout_s = DEFAULT_HANG_TIMEOUT_S;
    o->grace_s = DEFAULT_GRACE_S;
    int i = 0;
    for (; i < argc; i++) {
        const char *a = argv[i], *v;
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (a[0] != '-')
            break; /* the command starts here; "--" is optional */
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
            return -1;
        if (strcmp(a, "--fail-on-hazard") == 0)
            o->fail_on_hazard = true;
        else if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0)
            o->quiet = true;
        else if (strcmp(a, "--verbose") == 0 || strcmp(a, "-v") == 0)
            o->verbose = true;
        else if (option_value(argc, argv, &i, "--hang-timeout", &v)) {
            if (!parse_seconds(v, false, 0, &o->hang_timeout_s))
                return fw_usage_error("run", "--hang-timeout takes a number of seconds (0 < S <= 86400) or none");
        } else if (option_value(argc, argv, &i, "--grace", &v)) {
            if (!parse_seconds(v, true, -1, &o->grace_s))
                return fw_usage_error("run", "--grace takes a number of seconds (0 <= S <= 86400) or none");
        } else if (option_value(argc, argv, &i, "--label", &v)) {
            if (!v || !*v || strlen(v) > 512 || strchr(v, '\n'))
                return fw_usage_error("run", "--label needs one line of text (at most 512 bytes)");
            o->label = v;
        } else if (option_value(argc, argv, &i, "--junit", &v)) {
            if (!file_name_value("--junit", v))
                return FW_EXIT_USAGE;
            o->junit = v;
        } else if (option_value(argc, argv, &i, "--report", &v)) {
            if (!file_name_value("--report", v))
                return FW_EXIT_USAGE;
            o->report = v;
        } else if (option_value(argc, argv, &i, "--on-deadlock", &v)) {
            if (!v || (strcmp(v, "abort") && strcmp(v, "warn") && strcmp(v, "off")))
                return fw_usage_error("run", "--on-deadlock takes abort, warn or off");
            o->on_deadlock = v;
        } else {
            char esc[128];
            return fw_usage_error("run", "unknown option '%s'", fw_escape_cstr(a, esc, sizeof esc));
        }
    }
    if (i >= argc)
        return fw_usage_error("run", "no command to run");
    if (strcmp(o->on_deadlock, "off") == 0) {
        /* off: nothing is reported, nothing ended (the agent does nothing either). */
        o->hang_timeout_s = 0;
        o->grace_s = -1;
    }
    o->cmd = argv + i;
    return 0;
}

/* Chooses the report path: --report made absolute (the command may chdir),
 * or report.jsonl in a new mode-0700 directory. */
static bool choose_report_path(const struct run_options *o, char *out, size_t n)
{
    if (o->report) {
        if (!fw_absolute(o->report, out, n)) {
            fprintf(stderr, "forkwatch: report path too long or current directory unreadable\n");
            return false;
        }
        /* Checked now: the agent would fail silently in every process. */
        char dir[PATH_MAX];
        snprintf(dir, sizeof dir, "%.*s", (int)(strrchr(out, '/') - out), out);
        if (access(dir[0] ? dir : "/", W_OK | X_OK) != 0) {
            char esc[PATH_MAX];
            fprintf(stderr, "forkwatch: cannot write the report in %s: %s\n",
                    fw_escape_cstr(dir[0] ? dir : "/", esc, sizeof esc), strerror(errno));
            return false;
        }
        return true;
    }
    const char *tmp = getenv("TMPDIR");
    if (!tmp || tmp[0] != '/')
        tmp = "/tmp";
    char dir[PATH_MAX];
    if ((size_t)snprintf(dir, sizeof dir, "%s/forkwatch.XXXXXX", tmp) >= sizeof dir || !mkdtemp(dir)) {
        fprintf(stderr, "forkwatch: cannot create a report directory in %s: %s\n", tmp, strerror(errno));
        return false;
    }
    if ((size_t)snprintf(out, n, "%s/report.jsonl", dir) >= n)
        return false;
    /* Created now, empty, so that the path the summary names always exists. */
    int fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        fprintf(stderr, "forkwatch: cannot create %s: %s\n", out, strerror(errno));
        return false;
    }
    close(fd);
    return true;
}

/* LD_PRELOAD=AGENT[:previous]: ours first so it sees every lock. */
static bool export_environment(const struct run_options *o, const char *agent, const char *report)
{
    const char *old = getenv("LD_PRELOAD");
    size_t len = strlen(agent) + (old ? strlen(old) : 0) + 2;
    char *preload = malloc(len);
    if (!preload)
        return false;
    snprintf(preload, len, "%s%s%s", agent, old && *old ? ":" : "", old && *old ? old : "");
    bool ok = setenv("LD_PRELOAD", preload, 1) == 0 && setenv("FORKWATCH_REPORT", report, 1) == 0 &&
              setenv("FORKWATCH_ON_DEADLOCK", o->on_deadlock, 1) == 0 &&
              (!o->quiet || setenv("FORKWATCH_QUIET", "1", 1) == 0) &&
              (!o->label || setenv("FORKWATCH_LABEL", o->label, 1) == 0);
    free(preload);
    return ok;
}

/* Forks and execs the command. Returns the child's pid, or -1 with *exit_status
 * set (127 not found, 126 not executable, 3 fork failure) after one line. */
static pid_t start_command(const struct run_options *o, const char *agent, const char *report, int *exit_status)
{
    char **cmd = o->cmd;
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) != 0) {
        fprintf(stderr, "forkwatch: pipe: %s\n", strerror(errno));
        *exit_status = FW_EXIT_ERROR;
        return -1;
    }
    fw_block_forwarded_signals();
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "forkwatch: fork: %s\n", strerror(errno));
        *exit_status = FW_EXIT_ERROR;
        close(pipefd[0]);
        close(pipefd[1]);
        return -1;
    }
    if (pid == 0) {
        close(pipefd[0]);
        fw_child_reset_signals();
        /* The agent's environment only for the command: forkwatch's own helpers
         * (the watchdog's GDB) must not run under the agent. */
        if (!export_environment(o, agent, report)) {
            dprintf(STDERR_FILENO, "forkwatch: cannot set the environment: %s\n", strerror(errno));
            _exit(FW_EXIT_ERROR);
        }
        execvp(cmd[0], cmd);
        /* Tell the parent why exec failed; the pipe closes on a successful exec. */
        int err = errno;
        ssize_t w = write(pipefd[1], &err, sizeof err);
        (void)w;
        _exit(FW_EXIT_NOT_FOUND);
    }
    close(pipefd[1]);
    fw_forward_signals_to(pid, false);
    int err = 0;
    ssize_t r;
    do
        r = read(pipefd[0], &err, sizeof err);
    while (r < 0 && errno == EINTR);
    close(pipefd[0]);
    if (r == (ssize_t)sizeof err) {
        int st;
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
            ;
        fw_stop_forwarding();
        char esc[256];
        fw_escape_cstr(cmd[0], esc, sizeof esc);
        if (err == ENOENT) {
            fprintf(stderr, "forkwatch: %s: command not found\n", esc);
            *exit_status = FW_EXIT_NOT_FOUND;
        } else {
            fprintf(stderr, "forkwatch: %s: %s\n", esc, strerror(err));
            *exit_status = FW_EXIT_NOT_EXECUTABLE;
        }
        return -1;
    }
    return pid;
}

static int wait_for_command(pid_t pid)
{
    int st;
    while (waitpid(pid, &st, 0) < 0) {
        if (errno != EINTR) {
            fprintf(stderr, "forkwatch: waitpid: %s\n", strerror(errno));
            return FW_EXIT_ERROR;
        }
    }
    fw_stop_forwarding();
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    if (WIFSIGNALED(st))
        return 128 + WTERMSIG(st);
    return FW_EXIT_ERROR;
}

/* --junit's directory must be writable: better said before the command runs than after. */
static bool writable_dir_of(const char *path)
{
    char abs[PATH_MAX], dir[PATH_MAX];
    if (!fw_absolute(path, abs, sizeof abs)) {
        fprintf(stderr, "forkwatch: --junit path too long or current directory unreadable\n");
        return false;
    }
    snprintf(dir, sizeof dir, "%.*s", (int)(strrchr(abs, '/') - abs), abs);
    if (access(dir[0] ? dir : "/", W_OK | X_OK) != 0) {
        char esc[PATH_MAX];
        fprintf(stderr, "forkwatch: cannot write the JUnit report in %s: %s\n",
                fw_escape_cstr(dir[0] ? dir : "/", esc, sizeof esc), strerror(errno));
        return false;
    }
    return true;
}

/* The report file forkwatch created in its own mode-0700 directory, and the directory. */
static void remove_private_report(char *report)
{
    unlink(report);
    char *slash = strrchr(report, '/');
    if (slash) {
        *slash = '\0';
        rmdir(report);
        *slash = '/';
    }
}

static off_t current_size(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0 && S_ISREG(st.st_mode) ? st.st_size : 0;
}

static int run_and_report(const struct run_options *o, const char *agent);

int fw_verb_run(int argc, char **argv)
{
    struct run_options o = {0};
    int rc = parse_run_options(argc, argv, &o);
    if (rc < 0)
        return fw_print_verb_help("run");
    if (rc != 0)
        return rc;

    char agent[PATH_MAX];
    if (!fw_find_agent(agent, sizeof agent)) {
        fprintf(stderr, "forkwatch: cannot find the agent libforkwatch.so (looked for %s); build it with `make`\n",
                agent);
        return FW_EXIT_ERROR;
    }
    /* ld.so splits LD_PRELOAD at spaces and colons: such a path cannot be preloaded. */
    if (strpbrk(agent, " :")) {
        char esc[PATH_MAX];
        fprintf(stderr, "forkwatch: the agent's path %s holds a space or colon, which LD_PRELOAD cannot carry; "
                        "install forkwatch elsewhere\n", fw_escape_cstr(agent, esc, sizeof esc));
        return FW_EXIT_ERROR;
    }
    /* SIGINT, SIGTERM and SIGHUP are held from here to the end, except while the
     * command runs (they are forwarded to it then): one arriving before it starts
     * reaches it once it runs; one arriving after it ended takes effect once the
     * summary is printed and the temporary report removed, not half-way. */
    fw_block_forwarded_signals();
    rc = run_and_report(&o, agent);
    fw_unblock_forwarded_signals();
    return rc;
}

/* The rest of `run`, forwarded signals blocked on entry (see fw_verb_run). */
static int run_and_report(const struct run_options *o, const char *agent)
{
    char report[PATH_MAX];
    if (!choose_report_path(o, report, sizeof report))
        return FW_EXIT_ERROR;
    /* A --report file may hold earlier runs: only what this run appends counts. */
    off_t start = current_size(report);
    if (o->junit && !writable_dir_of(o->junit)) {
        if (!o->report)
            remove_private_report(report);
        return FW_EXIT_ERROR;
    }

    struct fw_watch_options wo = {.hang_timeout_s = o->hang_timeout_s, .grace_s = o->grace_s,
                                  .policy = o->on_deadlock, .label = o->label, .report = report,
                                  .report_start = start, .verbose = o->verbose};
    bool watching = o->hang_timeout_s > 0 || o->grace_s >= 0;
    if (watching)
        fw_watch_prepare(&wo);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);

    int status;
    pid_t pid = start_command(o, agent, report, &status);
    if (pid < 0) {
        fw_block_forwarded_signals();
        /* Nothing ran: do not leave an empty private report directory behind. */
        if (!o->report)
            remove_private_report(report);
        return status;
    }
    bool tree_ended = false;
    status = watching ? fw_watch_command(pid, &wo, &tree_ended) : wait_for_command(pid);
    fw_block_forwarded_signals();
    clock_gettime(CLOCK_MONOTONIC, &t1);

    struct fw_report_totals totals = {0};
    struct fw_ci_cases cases = {0};
    bool report_ok = fw_report_process_with(report, start, o->quiet, !o->report, &totals, fw_ci_collect, &cases);
    /* A clean run leaves nothing behind: its temporary report goes when it holds
     * nothing (the summary said so); one with events stays, named by the summary. */
    if (!o->report && totals.empty)
        remove_private_report(report);
    bool junit_ok = true;
    if (o->junit)
        junit_ok = fw_junit_write(o->junit, &cases,
                                  (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    const char *gha = getenv("GITHUB_ACTIONS");
    if (gha && strcmp(gha, "true") == 0)
        fw_github_annotate(stdout, &cases);
    fw_ci_free(&cases);
    if (totals.deadlocks > 0 || tree_ended)
        return FW_EXIT_RUN_DEADLOCK;
    if (!junit_ok)
        return FW_EXIT_ERROR;
    if (o->fail_on_hazard && totals.hazards > 0)
        return FW_EXIT_RUN_HAZARD;
    if (!report_ok)
        return FW_EXIT_ERROR;
    return status;
}
