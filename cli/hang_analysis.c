/*
 * hang_analysis.c — runs attach's GDB batch command into a memfd and parses
 * the one JSON object it prints.
 */
#include "hang_analysis.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gdb_runner.h"
#include "signals.h"
#include "usage.h"

#define MAX_JSON_BYTES (64u << 20)
#define CANCEL_BOUND_MS 2000  /* GDB detaches at once on SIGTERM; then the helper is killed (its GDB, reparented to us, is ended with the tree) */

static int run_into(pid_t pid, double timeout_s, int fd, bool keep_signals)
{
    char cmd[96];
    snprintf(cmd, sizeof cmd, "forkwatch batch attach %d --json", (int)pid);
    struct fw_gdb_job job = {.batch_command = cmd, .timeout_s = timeout_s, .attach_pid = pid,
                             .stdout_fd = fd, .keep_signals = keep_signals, .quiet_timeout = true};
    return fw_run_gdb(&job);
}

static struct json_object *parse_fd(int fd)
{
    struct stat st;
    struct json_object *v = NULL;
    if (fstat(fd, &st) == 0 && st.st_size > 0 && (size_t)st.st_size <= MAX_JSON_BYTES) {
        char *text = malloc((size_t)st.st_size);
        if (text && pread(fd, text, (size_t)st.st_size, 0) == st.st_size)
            v = fwj_parse(text, (size_t)st.st_size, NULL);
        free(text);
    }
    if (v && !fwj_is_object(v)) {
        json_object_put(v);
        v = NULL;
    }
    return v;
}

struct json_object *fw_analyse_process(pid_t pid, double timeout_s, int *status)
{
    *status = FW_EXIT_ERROR;
    int fd = memfd_create("forkwatch-attach", MFD_CLOEXEC);
    if (fd < 0)
        return NULL;
    int rc = run_into(pid, timeout_s, fd, true);
    struct json_object *v = rc == FW_EXIT_OK || rc == FW_EXIT_FINDING ? parse_fd(fd) : NULL;
    close(fd);
    if (v)
        *status = rc;
    return v;
}

bool fw_analysis_start(pid_t target, double timeout_s, bool verbose, struct fw_analysis_job *job)
{
    memset(job, 0, sizeof *job);
    job->out_fd = memfd_create("forkwatch-attach", MFD_CLOEXEC);
    if (job->out_fd < 0)
        return false;
    fw_block_forwarded_signals();
    pid_t pid = fork();
    if (pid == 0) {
        /* The helper: its own signal handling (SIGTERM reaches GDB as SIGTERM,
         * so GDB detaches and leaves the target running), then GDB. */
        fw_stop_forwarding();
        fw_child_reset_signals();
        int devnull = verbose ? -1 : open("/dev/null", O_WRONLY | O_CLOEXEC);
        if (devnull >= 0)
            dup2(devnull, STDERR_FILENO);
        int rc = run_into(target, timeout_s, job->out_fd, false);
        _exit(rc == FW_EXIT_OK || rc == FW_EXIT_FINDING ? rc : FW_EXIT_ERROR);
    }
    fw_unblock_forwarded_signals(); /* only they were blocked above, so that none hit the child unset */
    if (pid < 0) {
        close(job->out_fd);
        return false;
    }
    job->helper = pid;
    job->target = target;
    job->helper_fd = (int)syscall(SYS_pidfd_open, pid, 0);
    return true;
}

bool fw_analysis_finished(const struct fw_analysis_job *job)
{
    if (job->helper_fd < 0)
        return waitpid(job->helper, NULL, WNOHANG | WNOWAIT) != 0;
    struct pollfd p = {.fd = job->helper_fd, .events = POLLIN};
    return poll(&p, 1, 0) > 0;
}

static void release(struct fw_analysis_job *job)
{
    waitpid(job->helper, NULL, WNOHANG); /* ECHILD if someone reaped it already: fine */
    if (job->helper_fd >= 0)
        close(job->helper_fd);
    close(job->out_fd);
    memset(job, 0, sizeof *job);
}

struct json_object *fw_analysis_collect(struct fw_analysis_job *job)
{
    struct json_object *v = parse_fd(job->out_fd);
    release(job);
    return v;
}

void fw_analysis_cancel(struct fw_analysis_job *job)
{
    /* By pidfd: the watchdog's reaping may have collected the helper already. */
    if (job->helper_fd >= 0)
        syscall(SYS_pidfd_send_signal, job->helper_fd, SIGTERM, NULL, 0);
    if (job->helper_fd >= 0) {
        struct pollfd p = {.fd = job->helper_fd, .events = POLLIN};
        if (poll(&p, 1, CANCEL_BOUND_MS) <= 0)
            syscall(SYS_pidfd_send_signal, job->helper_fd, SIGKILL, NULL, 0);
    }
    release(job);
}
