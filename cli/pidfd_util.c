/*
 * pidfd_util.c — see pidfd_util.h.
 */
#include "pidfd_util.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int fw_pidfd_open_checked(const struct fw_proc_id *id)
{
    int fd = (int)syscall(SYS_pidfd_open, id->pid, 0);
    if (fd < 0)
        return -1;
    /* The pidfd pins one process; if it is the one we saw, the start times agree. */
    struct fw_proc_id now;
    if (!fw_proc_read_id(id->pid, &now) || now.start_time != id->start_time) {
        close(fd);
        return -1;
    }
    return fd;
}

bool fw_pidfd_signal(int pidfd, int sig)
{
    return syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) == 0;
}

bool fw_pidfd_wait_gone(int pidfd, int ms)
{
    struct pollfd p = {.fd = pidfd, .events = POLLIN};
    for (;;) {
        int r = poll(&p, 1, ms);
        if (r > 0)
            return true;
        if (r == 0 || errno != EINTR)
            return false;
    }
}

void fw_reap_children(pid_t watched, int *status, bool *watched_done)
{
    for (;;) {
        int st;
        pid_t w = waitpid(-1, &st, WNOHANG);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        if (w == watched && (WIFEXITED(st) || WIFSIGNALED(st))) {
            *status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            *watched_done = true;
        }
    }
}

/* Waits for the process to end, reaping it (and any other ended child of
 * ours) when it is our child: a zombie child keeps the pidfd readable. */
static bool wait_gone(int pidfd, int ms, pid_t watched, int *status, bool *watched_done)
{
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        if (fw_pidfd_wait_gone(pidfd, 20)) {
            fw_reap_children(watched, status, watched_done);
            return true;
        }
        fw_reap_children(watched, status, watched_done);
        clock_gettime(CLOCK_MONOTONIC, &t);
        if ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 >= ms)
            return false;
    }
}

int fw_terminate(int pidfd, int term_ms, pid_t watched, int *status, bool *watched_done)
{
    if (!fw_pidfd_signal(pidfd, SIGTERM))
        return 0;
    fw_pidfd_signal(pidfd, SIGCONT); /* a stopped process acts on SIGTERM only once continued */
    if (wait_gone(pidfd, term_ms, watched, status, watched_done))
        return SIGTERM;
    fw_pidfd_signal(pidfd, SIGKILL);
    wait_gone(pidfd, 2000, watched, status, watched_done);
    return SIGKILL;
}
