/*
 * gdb_runner.c — one GDB child, watched with poll() on its stderr pipe and a
 * pidfd, so that the time bound holds whatever GDB does.
 */
#include "gdb_runner.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "paths.h"
#include "signals.h"
#include "usage.h"

#define GRACE_MS 5000        /* after SIGTERM, before SIGKILL */
#define LINE_MAX_BYTES 65536 /* longer stderr lines are passed on in pieces */

struct stderr_filter {
    char buf[LINE_MAX_BYTES];
    size_t len;
    bool verbose;
    bool saw_forkwatch_line;  /* the package said something itself */
    bool stopped_by_us;       /* after our SIGTERM: its "interrupted" adds nothing */
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

/* GDB's own chatter is dropped unless --verbose; the package's "forkwatch:"
 * lines (its errors) always reach the user. */
static void emit_line(struct stderr_filter *f, const char *line, size_t n)
{
    bool ours = n >= 10 && memcmp(line, "forkwatch:", 10) == 0;
    f->saw_forkwatch_line |= ours;
    if ((ours && !f->stopped_by_us) || f->verbose)
        write_all(STDERR_FILENO, line, n);
}

static void filter_feed(struct stderr_filter *f, const char *data, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        f->buf[f->len++] = data[i];
        if (data[i] == '\n' || f->len == sizeof f->buf) {
            emit_line(f, f->buf, f->len);
            f->len = 0;
        }
    }
}

static void filter_finish(struct stderr_filter *f)
{
    if (f->len) {
        f->buf[f->len++] = '\n';
        emit_line(f, f->buf, f->len);
        f->len = 0;
    }
}

static pid_t start_gdb(const char *gdb, const char *gdb_dir, const struct fw_gdb_job *job, int err_fd)
{
    char source[PATH_MAX * 2 + 32];
    snprintf(source, sizeof source, "source %s/forkwatch-gdb.py", gdb_dir);
    /* The trailing "quit 3" is a safety net: the batch command always quits
     * with 0/1/3 itself; reaching it means the package did not load or did
     * not finish, which must not look like GDB's own status 1 (= a finding). */
    char *argv[] = {(char *)gdb, "-nx", "-q", "-batch",
                    "-iex", "set debuginfod enabled off",
                    "-iex", "set auto-load python-scripts off",
                    "-ex", source,
                    "-ex", (char *)job->batch_command,
                    "-ex", "quit 3", NULL};
    if (!job->keep_signals)
        fw_block_forwarded_signals();
    pid_t pid = fork();
    if (pid == 0) {
        fw_child_reset_signals();
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0)
            dup2(devnull, STDIN_FILENO); /* GDB must not read the user's terminal */
        dup2(err_fd, STDERR_FILENO);
        if (job->stdout_fd > 0)
            dup2(job->stdout_fd, STDOUT_FILENO);
        execv(gdb, argv);
        dprintf(STDERR_FILENO, "forkwatch: cannot run %s: %s\n", gdb, strerror(errno));
        _exit(FW_EXIT_ERROR);
    }
    if (pid > 0 && !job->keep_signals)
        fw_forward_signals_to(pid, true);
    return pid;
}

/* Waits for GDB and drains its stderr until the deadline; true if it exited. */
static bool wait_until(pid_t pid, int pidfd, int err_fd, struct stderr_filter *f, double deadline, int *status)
{
    bool pipe_open = err_fd >= 0, exited = false;
    while (!exited || pipe_open) {
        double left = deadline - now_s();
        if (left <= 0)
            return exited;
        struct pollfd fds[2] = {{.fd = pipe_open ? err_fd : -1, .events = POLLIN},
                                {.fd = exited ? -1 : pidfd, .events = POLLIN}};
        /* Without a pidfd (old kernels) check the child every 100 ms. */
        int ms = left > 3600 ? 3600000 : (int)(left * 1000) + 1;
        if (pidfd < 0 && ms > 100)
            ms = 100;
        int r = poll(fds, 2, ms);
        if (r < 0 && errno != EINTR)
            return exited;
        if (r > 0 && (fds[0].revents & (POLLIN | POLLHUP | POLLERR))) {
            char chunk[4096];
            ssize_t n = read(err_fd, chunk, sizeof chunk);
            if (n > 0)
                filter_feed(f, chunk, (size_t)n);
            else if (n == 0 || errno != EINTR)
                pipe_open = false;
        }
        if (!exited) {
            pid_t w = waitpid(pid, status, WNOHANG);
            if (w == pid)
                exited = true;
        }
    }
    return exited;
}

static void report_status(int status, const struct stderr_filter *f, int *rc)
{
    if (WIFEXITED(status)) {
        int code = WEXITSTATUS(status);
        if (code == FW_EXIT_OK || code == FW_EXIT_FINDING) {
            *rc = code;
            return;
        }
        if (code == FW_EXIT_ERROR && f->saw_forkwatch_line) {
            *rc = FW_EXIT_ERROR; /* the package already said why */
            return;
        }
        if (code == FW_EXIT_ERROR)
            fprintf(stderr, "forkwatch: the GDB package did not give a verdict (run with --verbose to see GDB's "
                            "messages)\n");
        else
            fprintf(stderr, "forkwatch: GDB exited with status %d without a verdict (run with --verbose to see "
                            "why)\n", code);
    } else if (WIFSIGNALED(status)) {
        fprintf(stderr, "forkwatch: GDB was killed by signal %d (%s) before giving a verdict\n", WTERMSIG(status),
                strsignal(WTERMSIG(status)));
    }
    *rc = FW_EXIT_ERROR;
}

int fw_run_gdb(const struct fw_gdb_job *job)
{
    char gdb[PATH_MAX], gdb_dir[PATH_MAX * 2];
    if (!fw_find_in_path("gdb", gdb, sizeof gdb)) {
        fprintf(stderr, "forkwatch: gdb is not installed; install it with: apt-get install gdb\n");
        return FW_EXIT_ERROR;
    }
    if (!fw_find_gdb_dir(gdb_dir, sizeof gdb_dir)) {
        fprintf(stderr, "forkwatch: cannot find the GDB package (looked for %s); reinstall forkwatch\n", gdb_dir);
        return FW_EXIT_ERROR;
    }
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) != 0) {
        fprintf(stderr, "forkwatch: pipe: %s\n", strerror(errno));
        return FW_EXIT_ERROR;
    }
    pid_t pid = start_gdb(gdb, gdb_dir, job, pipefd[1]);
    close(pipefd[1]);
    if (pid < 0) {
        fprintf(stderr, "forkwatch: fork: %s\n", strerror(errno));
        close(pipefd[0]);
        return FW_EXIT_ERROR;
    }
    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    struct stderr_filter *f = calloc(1, sizeof *f);
    if (!f) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return FW_EXIT_ERROR;
    }
    f->verbose = job->verbose;
    int status = 0, rc;
    if (wait_until(pid, pidfd, pipefd[0], f, now_s() + job->timeout_s, &status)) {
        filter_finish(f);
        report_status(status, f, &rc);
    } else {
        /* SIGTERM first: GDB then detaches and leaves the process as it was. */
        f->stopped_by_us = true;
        kill(pid, SIGTERM);
        if (!wait_until(pid, pidfd, pipefd[0], f, now_s() + GRACE_MS / 1000.0, &status)) {
            kill(pid, SIGKILL);
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
            /* A tracer killed outright may leave its tracee stopped. */
            if (job->attach_pid > 0)
                kill(job->attach_pid, SIGCONT);
        }
        filter_finish(f);
        if (!job->quiet_timeout)
            fprintf(stderr, "forkwatch: GDB did not finish within %g s and was stopped (raise --timeout)\n",
                    job->timeout_s);
        rc = FW_EXIT_ERROR;
    }
    /* With keep_signals the caller's forwarding stays; it judges its own interruptions. */
    if (!job->keep_signals) {
        fw_stop_forwarding();
        if (fw_forwarded_signal()) {
            fprintf(stderr, "forkwatch: interrupted by signal %d\n", fw_forwarded_signal());
            rc = FW_EXIT_ERROR;
        }
    }
    free(f);
    if (pidfd >= 0)
        close(pidfd);
    close(pipefd[0]);
    return rc;
}
