/*
 * ptrace_stop.c — stopping a whole process for a snapshot, and releasing it.
 *
 * Why PTRACE_SEIZE + PTRACE_INTERRUPT rather than PTRACE_ATTACH (ptrace(2), "Attaching and
 * detaching"): PTRACE_ATTACH sends SIGSTOP, which the tracee sees as a real stop signal that
 * must be suppressed again and which races with the process's own job control; SEIZE attaches
 * without stopping and INTERRUPT then gives a PTRACE_EVENT_STOP trap that no signal is behind,
 * so detaching leaves the process exactly as it was (a group-stopped process stays stopped,
 * ptrace(2) "Group-stop"). ptrace is per thread: every thread of /proc/PID/task is seized on its
 * own, and the listing is repeated until it shows no thread we have not stopped (a stopped
 * thread cannot clone, so the set is then complete).
 *
 * Safety net: when the tracer exits for whatever reason, the kernel detaches all its tracees
 * and restarts them (ptrace(2): "If the tracer dies, all tracees are automatically detached
 * and restarted, unless they were in group-stop"), so a crash of forkwatch cannot leave the
 * target stopped or traced.
 */
#include "ptrace_stop.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

/* A thread in uninterruptible sleep (D) reaches its ptrace-stop only when that sleep ends:
 * beyond this bound we give up rather than hang. */
#define STOP_WAIT_NS (2000LL * 1000 * 1000)

static long long ns_between(const struct timespec *a, const struct timespec *b)
{
    return (b->tv_sec - a->tv_sec) * 1000000000LL + (b->tv_nsec - a->tv_nsec);
}

/* Field 3 of /proc/PID/task/TID/stat (proc(5)); the name before it is in parentheses and may
 * itself hold ')' or spaces, so the state follows the *last* ')'. */
static char read_thread_state(pid_t pid, pid_t tid)
{
    char path[96], buf[512];
    snprintf(path, sizeof path, "/proc/%d/task/%d/stat", (int)pid, (int)tid);
    FILE *f = fopen(path, "re");
    if (!f)
        return '?';
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *rp = strrchr(buf, ')');
    return rp && rp[1] == ' ' && rp[2] ? rp[2] : '?';
}

/* /proc/PID/task/TID/syscall (proc(5)): "NR args... sp pc" while blocked in a system call,
 * "-1 sp pc" when blocked elsewhere, "running" when on a CPU. Read before the thread is
 * interrupted: the interrupt makes a sleeping call return for a restart. */
static long read_thread_syscall(pid_t pid, pid_t tid)
{
    char path[96], buf[256];
    snprintf(path, sizeof path, "/proc/%d/task/%d/syscall", (int)pid, (int)tid);
    FILE *f = fopen(path, "re");
    if (!f)
        return -2;
    long nr = -2;
    if (fgets(buf, sizeof buf, f)) {
        char *end;
        long v = strtol(buf, &end, 10);
        if (end != buf)
            nr = v;
    }
    fclose(f);
    return nr;
}

bool fw_process_alive(pid_t pid)
{
    char st = read_thread_state(pid, pid);
    if (st != '?' && st != 'Z' && st != 'X')
        return true;
    /* The leader may be a zombie while other threads run (it called pthread_exit). */
    if (st == 'Z') {
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
        DIR *d = opendir(path);
        if (!d)
            return false;
        bool other = false;
        struct dirent *e;
        while ((e = readdir(d)))
            if (e->d_name[0] >= '1' && e->d_name[0] <= '9' && atoi(e->d_name) != pid) {
                char s = read_thread_state(pid, (pid_t)atoi(e->d_name));
                if (s != 'Z' && s != 'X' && s != '?')
                    other = true;
            }
        closedir(d);
        return other;
    }
    return false;
}

static struct fw_stopped_thread *find(struct fw_stopped_set *set, pid_t tid)
{
    for (size_t i = 0; i < set->n; i++)
        if (set->threads[i].tid == tid)
            return &set->threads[i];
    return NULL;
}

static struct fw_stopped_thread *add(struct fw_stopped_set *set, pid_t tid)
{
    if (set->n == set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 16;
        struct fw_stopped_thread *t = realloc(set->threads, cap * sizeof *t);
        if (!t)
            return NULL;
        set->threads = t;
        set->cap = cap;
    }
    struct fw_stopped_thread *t = &set->threads[set->n++];
    memset(t, 0, sizeof *t);
    t->tid = tid;
    return t;
}

/* Waits (bounded) for the ptrace-stop of one seized and interrupted thread.
 * 1: stopped; 0: the thread is gone; -1: it did not stop in time. */
static int wait_stop(struct fw_stopped_thread *t)
{
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    long sleep_ns = 20 * 1000;
    for (;;) {
        int st;
        /* __WALL: a thread other than the leader is a "clone" child for waitpid (wait(2)). */
        pid_t r = waitpid(t->tid, &st, __WALL | WNOHANG);
        if (r == t->tid) {
            if (WIFSTOPPED(st)) {
                /* status>>16 == PTRACE_EVENT_STOP: the interrupt's trap or a group-stop;
                 * 0: a signal-delivery-stop, whose signal we must give back at detach or the
                 * process would lose it (ptrace(2), "Signal-delivery-stop"). */
                if ((st >> 16) == 0)
                    t->pending_sig = WSTOPSIG(st);
                t->stopped = true;
                return 1;
            }
            /* exited or killed: no longer our tracee */
            t->seized = false;
            return 0;
        }
        if (r < 0 && errno != EINTR) {
            t->seized = false; /* ECHILD: it died and was reaped */
            return 0;
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (ns_between(&start, &now) > STOP_WAIT_NS)
            return -1;
        struct timespec d = {0, sleep_ns};
        nanosleep(&d, NULL);
        if (sleep_ns < 1000 * 1000)
            sleep_ns *= 2;
    }
}

enum fw_stop_result fw_stop_all(pid_t pid, struct fw_stopped_set *set, char *err, size_t errlen)
{
    memset(set, 0, sizeof *set);
    set->pid = pid;
    char taskdir[64];
    snprintf(taskdir, sizeof taskdir, "/proc/%d/task", (int)pid);
    for (int pass = 0;; pass++) {
        DIR *d = opendir(taskdir);
        if (!d)
            return FW_STOP_GONE;
        bool added = false;
        struct dirent *e;
        /* The listing itself is not atomic against clone(); the next pass catches a thread
         * born meanwhile, and a pass that adds nothing ends it. */
        while ((e = readdir(d))) {
            if (e->d_name[0] < '1' || e->d_name[0] > '9')
                continue;
            pid_t tid = (pid_t)atoi(e->d_name);
            if (find(set, tid))
                continue;
            struct fw_stopped_thread *t = add(set, tid);
            if (!t) {
                closedir(d);
                snprintf(err, errlen, "out of memory");
                return FW_STOP_FAILED;
            }
            added = true;
            t->state = read_thread_state(pid, tid);
            t->syscall_nr = read_thread_syscall(pid, tid);
            /* A zombie thread (a leader that called pthread_exit) never reaches a ptrace-stop:
             * waiting for one would hang. It has no user stack left to read anyway. */
            if (t->state == 'Z' || t->state == 'X')
                continue;
            if (ptrace(PTRACE_SEIZE, tid, NULL, NULL) != 0) {
                if (errno == ESRCH)
                    continue; /* exited between the listing and now */
                int e2 = errno;
                closedir(d);
                snprintf(err, errlen, "%s", strerror(e2));
                return e2 == EPERM ? FW_STOP_DENIED : FW_STOP_FAILED;
            }
            t->seized = true;
            if (!set->interrupted) {
                clock_gettime(CLOCK_MONOTONIC, &set->t_first_interrupt);
                set->interrupted = true;
            }
            /* PTRACE_INTERRUPT is only valid on a seized tracee (ptrace(2)); ESRCH here means
             * the thread died after the seize. */
            if (ptrace(PTRACE_INTERRUPT, tid, NULL, NULL) != 0 && errno == ESRCH)
                t->seized = false;
        }
        closedir(d);
        for (size_t i = 0; i < set->n; i++) {
            struct fw_stopped_thread *t = &set->threads[i];
            if (!t->seized || t->stopped)
                continue;
            int r = wait_stop(t);
            if (r < 0) {
                if (!fw_process_alive(pid))
                    return FW_STOP_GONE;
                snprintf(err, errlen, "thread %d did not stop within %lld ms (uninterruptible sleep?)",
                         (int)t->tid, STOP_WAIT_NS / 1000000);
                return FW_STOP_FAILED;
            }
        }
        if (!fw_process_alive(pid))
            return FW_STOP_GONE;
        if (!added && pass > 0)
            break;
        if (pass > 1000) {
            snprintf(err, errlen, "its threads keep changing; no stable set to stop");
            return FW_STOP_FAILED;
        }
    }
    /* Drop the threads that exited while we listed (a seize that met ESRCH): the set must be
     * what /proc/PID/task holds now. */
    size_t k = 0;
    for (size_t i = 0; i < set->n; i++) {
        struct fw_stopped_thread *t = &set->threads[i];
        bool zombie = t->state == 'Z' || t->state == 'X';
        if (t->seized || zombie)
            set->threads[k++] = *t;
    }
    set->n = k;
    return FW_STOP_OK;
}

void fw_resume_all(struct fw_stopped_set *set)
{
    bool any = false;
    for (size_t i = 0; i < set->n; i++) {
        struct fw_stopped_thread *t = &set->threads[i];
        if (!t->seized)
            continue;
        any = true;
        /* PTRACE_DETACH needs a tracee in a ptrace-stop (ptrace(2)); one we gave up waiting for
         * gets one more bounded wait, and failing that our exit detaches it (see top). */
        if (!t->stopped && wait_stop(t) <= 0)
            continue;
        ptrace(PTRACE_DETACH, t->tid, NULL, (void *)(long)t->pending_sig);
        t->seized = false;
    }
    if (any || set->interrupted)
        clock_gettime(CLOCK_MONOTONIC, &set->t_last_detach);
}

long long fw_stopped_us(const struct fw_stopped_set *set)
{
    if (!set->interrupted || (set->t_last_detach.tv_sec == 0 && set->t_last_detach.tv_nsec == 0))
        return -1;
    return ns_between(&set->t_first_interrupt, &set->t_last_detach) / 1000;
}

void fw_stopped_set_free(struct fw_stopped_set *set)
{
    free(set->threads);
    set->threads = NULL;
    set->n = set->cap = 0;
}
