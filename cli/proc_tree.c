/*
 * proc_tree.c — reading process trees and thread states from /proc (proc(5)).
 * Everything here is a snapshot of processes that keep running: any file may
 * vanish between two reads, and that is an answer ("gone"), not an error.
 */
#include "proc_tree.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "text_escape.h"

/* Reads a small /proc file whole; returns its length or -1. */
static ssize_t read_small(const char *path, char *buf, size_t n)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t len = 0;
    while ((size_t)len < n - 1) {
        ssize_t r = read(fd, buf + len, n - 1 - (size_t)len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        len += r;
    }
    close(fd);
    buf[len] = '\0';
    return len;
}

/* Fields of a stat line, counted as proc(5) does (1 = pid). The command name
 * (field 2) may hold spaces and parentheses: fields 3+ start after the last ')'. */
struct stat_fields {
    char state;
    long long f[53];  /* f[k]: field k, for k >= 4 */
};

static bool parse_stat(const char *buf, struct stat_fields *sf)
{
    const char *p = strrchr(buf, ')');
    if (!p || p[1] != ' ' || !p[2])
        return false;
    sf->state = p[2];
    p += 3;
    memset(sf->f, 0, sizeof sf->f);
    for (int k = 4; k < 53 && *p; k++) {
        while (*p == ' ')
            p++;
        sf->f[k] = strtoll(p, (char **)&p, 10);
    }
    return true;
}

bool fw_proc_read_id(pid_t pid, struct fw_proc_id *out)
{
    char path[64], buf[1024];
    struct stat_fields sf;
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    if (read_small(path, buf, sizeof buf) <= 0 || !parse_stat(buf, &sf))
        return false;
    out->pid = pid;
    out->ppid = (pid_t)sf.f[4];
    out->start_time = (unsigned long long)sf.f[22];
    out->state = sf.state;
    return true;
}

int fw_proc_descendants(pid_t root, struct fw_proc_id *out, int max)
{
    DIR *d = opendir("/proc");
    if (!d)
        return -1;
    size_t cap = 256, n = 0;
    struct fw_proc_id *all = malloc(cap * sizeof *all);
    struct dirent *e;
    while (all && (e = readdir(d))) {
        if (!isdigit((unsigned char)e->d_name[0]))
            continue;
        if (n == cap) {
            struct fw_proc_id *p = realloc(all, 2 * cap * sizeof *all);
            if (!p)
                break;
            all = p;
            cap *= 2;
        }
        if (fw_proc_read_id((pid_t)atoi(e->d_name), &all[n]))
            n++;
    }
    closedir(d);
    if (!all)
        return -1;
    /* Breadth first from root: each pass adds the children of what was added. */
    int count = 0;
    for (int from = -1; from < count; from++) {
        pid_t parent = from < 0 ? root : out[from].pid;
        for (size_t i = 0; i < n && count < max; i++)
            if (all[i].ppid == parent && all[i].pid != root)
                out[count++] = all[i];
    }
    free(all);
    return count;
}

/* The system calls a thread parks in while it waits for someone else
 * (futex: every pthread/CPython lock and condition; the poll family: event
 * loops, socket timeouts; the sleeps: time.sleep, timed retries). */
static const struct {
    long nr;
    const char *name;
} wait_calls[] = {
    {SYS_futex, "futex"},
#ifdef SYS_futex_waitv
    {SYS_futex_waitv, "futex_waitv"},
#endif
#ifdef SYS_poll
    {SYS_poll, "poll"},
#endif
    {SYS_ppoll, "ppoll"},
#ifdef SYS_select
    {SYS_select, "select"},
#endif
    {SYS_pselect6, "pselect6"},
#ifdef SYS_epoll_wait
    {SYS_epoll_wait, "epoll_wait"},
#endif
    {SYS_epoll_pwait, "epoll_pwait"},
#ifdef SYS_epoll_pwait2
    {SYS_epoll_pwait2, "epoll_pwait2"},
#endif
    {SYS_nanosleep, "nanosleep"},
    {SYS_clock_nanosleep, "clock_nanosleep"},
#ifdef SYS_pause
    {SYS_pause, "pause"},
#endif
    {SYS_rt_sigsuspend, "rt_sigsuspend"},
    {SYS_rt_sigtimedwait, "rt_sigtimedwait"},
    /* A timed futex wait or sleep interrupted by a signal or a ptrace stop
     * (GDB's attach) resumes as restart_syscall (kernel/signal.c). */
    {SYS_restart_syscall, "restart_syscall"},
};

const char *fw_syscall_name(long nr)
{
    for (size_t i = 0; i < sizeof wait_calls / sizeof wait_calls[0]; i++)
        if (wait_calls[i].nr == nr)
            return wait_calls[i].name;
    return NULL;
}

/* Which argument holds the timeout (a pointer, NULL = none; poll: an int ms,
 * -1 = none; epoll_wait: int ms in arg 3). */
static bool is_untimed(long nr, const unsigned long long *a)
{
    if (nr == SYS_futex)
        return a[3] == 0;
#ifdef SYS_poll
    if (nr == SYS_poll)
        return (int)a[2] < 0;
#endif
    if (nr == SYS_ppoll)
        return a[2] == 0;
#ifdef SYS_select
    if (nr == SYS_select)
        return a[4] == 0;
#endif
    if (nr == SYS_pselect6)
        return a[4] == 0;
#ifdef SYS_epoll_wait
    if (nr == SYS_epoll_wait)
        return (int)a[3] < 0;
#endif
    if (nr == SYS_epoll_pwait)
        return (int)a[3] < 0;
#ifdef SYS_pause
    if (nr == SYS_pause)
        return true;
#endif
    return nr == SYS_rt_sigsuspend;
}

/* Nanoseconds per clock tick, for kernels without schedstat. */
static uint64_t tick_ns(void)
{
    static uint64_t ns;
    if (!ns) {
        long hz = sysconf(_SC_CLK_TCK);
        ns = 1000000000ull / (uint64_t)(hz > 0 ? hz : 100);
    }
    return ns;
}

static void sample_one(pid_t pid, pid_t tid, struct fw_thread_sample *s)
{
    char path[96], buf[1024];
    struct stat_fields sf;
    memset(s, 0, sizeof *s);
    s->tid = tid;
    s->syscall_nr = -1;
    snprintf(path, sizeof path, "/proc/%d/task/%d/stat", (int)pid, (int)tid);
    if (read_small(path, buf, sizeof buf) <= 0 || !parse_stat(buf, &sf)) {
        s->activity = FW_THREAD_GONE;
        return;
    }
    s->state = sf.state;
    s->cpu_ns = (uint64_t)(sf.f[14] + sf.f[15]) * tick_ns();
    /* schedstat: run time in ns, wait time, timeslices (CONFIG_SCHED_INFO). */
    snprintf(path, sizeof path, "/proc/%d/task/%d/schedstat", (int)pid, (int)tid);
    unsigned long long run_ns;
    if (read_small(path, buf, sizeof buf) > 0 && sscanf(buf, "%llu", &run_ns) == 1)
        s->cpu_ns = run_ns;
    switch (sf.state) {
    case 'R':
        s->activity = FW_THREAD_RUNNABLE;
        return;
    case 'Z':
    case 'X':
    case 'x':
        s->activity = FW_THREAD_GONE;
        return;
    case 'S':
        break;
    default: /* D (I/O), T/t (stopped, traced), ... */
        s->activity = FW_THREAD_OTHER;
        return;
    }
    /* "NR ARG0 ... ARG5 SP PC", "-1 SP PC" (blocked outside a system call) or "running". */
    snprintf(path, sizeof path, "/proc/%d/task/%d/syscall", (int)pid, (int)tid);
    s->activity = FW_THREAD_OTHER;
    if (read_small(path, buf, sizeof buf) <= 0)
        return;
    if (strncmp(buf, "running", 7) == 0) {
        s->activity = FW_THREAD_RUNNABLE;
        return;
    }
    unsigned long long a[8] = {0};
    long nr;
    int got = sscanf(buf, "%ld %llx %llx %llx %llx %llx %llx %llx %llx", &nr, &a[0], &a[1], &a[2], &a[3], &a[4],
                     &a[5], &a[6], &a[7]);
    if (got < 1)
        return;
    s->syscall_nr = nr;
    if (got == 9) {
        s->syscall_arg0 = a[0];
        s->syscall_pc = a[7];
    }
    if (fw_syscall_name(nr))
        s->activity = FW_THREAD_WAITING;
    s->untimed = got == 9 && is_untimed(nr, a);
}

int fw_proc_sample_threads(pid_t pid, struct fw_thread_sample *out, int max)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while (n < max && (e = readdir(d))) {
        if (!isdigit((unsigned char)e->d_name[0]))
            continue;
        sample_one(pid, (pid_t)atoi(e->d_name), &out[n]);
        if (out[n].activity != FW_THREAD_GONE)
            n++;
    }
    closedir(d);
    return n;
}

void fw_proc_describe_wait(pid_t pid, pid_t tid, char *out, size_t n)
{
    struct fw_thread_sample s;
    sample_one(pid, tid, &s);
    char path[96], wchan[128] = "";
    snprintf(path, sizeof path, "/proc/%d/task/%d/wchan", (int)pid, (int)tid);
    if (read_small(path, wchan, sizeof wchan) <= 0 || strcmp(wchan, "0") == 0)
        wchan[0] = '\0';
    char esc[160];
    fw_escape_cstr(wchan, esc, sizeof esc);
    const char *name = fw_syscall_name(s.syscall_nr);
    if (s.activity == FW_THREAD_GONE)
        snprintf(out, n, "gone");
    else if (s.activity == FW_THREAD_RUNNABLE)
        snprintf(out, n, "running");
    else if (name)
        snprintf(out, n, "in %s%s%s%s", name, esc[0] ? " (" : "", esc, esc[0] ? ")" : "");
    else if (s.syscall_nr >= 0)
        snprintf(out, n, "in system call %ld%s%s%s (state %c)", s.syscall_nr, esc[0] ? " (" : "", esc,
                 esc[0] ? ")" : "", s.state);
    else
        snprintf(out, n, "state %c%s%s%s", s.state, esc[0] ? " (" : "", esc, esc[0] ? ")" : "");
}

void fw_proc_cmdline(pid_t pid, char *out, size_t n)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
    ssize_t len = read_small(path, buf, sizeof buf);
    if (len <= 0) {
        snprintf(out, n, "?");
        return;
    }
    while (len > 0 && buf[len - 1] == '\0')
        len--;
    for (ssize_t i = 0; i < len; i++)
        if (buf[i] == '\0')
            buf[i] = ' ';
    buf[len] = '\0';
    fw_escape_cstr(buf, out, n);
}

void fw_proc_comm(pid_t pid, pid_t tid, char *out, size_t n)
{
    char path[96], buf[64];
    snprintf(path, sizeof path, "/proc/%d/task/%d/comm", (int)pid, (int)tid);
    ssize_t len = read_small(path, buf, sizeof buf);
    if (len <= 0) {
        snprintf(out, n, "?");
        return;
    }
    buf[strcspn(buf, "\n")] = '\0';
    fw_escape_cstr(buf, out, n);
}
