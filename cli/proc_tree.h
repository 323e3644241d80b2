/*
 * proc_tree.h — what /proc says about a process tree: which processes descend
 * from a root (from the ppid links of /proc/PID/stat, so that grandchildren
 * are found whatever the agent saw), and, per thread, its scheduler state,
 * CPU time and the system call it sits in (proc(5): /proc/PID/task/TID/stat,
 * schedstat, syscall, wchan).
 */
#ifndef FW_CLI_PROC_TREE_H
#define FW_CLI_PROC_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct fw_proc_id {
    pid_t pid;
    pid_t ppid;
    unsigned long long start_time; /* stat field 22: tells a reused PID apart */
    char state;                    /* stat field 3 */
};

/* Every process below root (not root itself), from one pass over /proc.
 * Returns the count (at most max) or -1 when /proc cannot be read. */
int fw_proc_descendants(pid_t root, struct fw_proc_id *out, int max);

/* /proc/PID/stat of one process; false when it is gone. */
bool fw_proc_read_id(pid_t pid, struct fw_proc_id *out);

enum fw_thread_activity {
    FW_THREAD_WAITING,   /* asleep (S) in a futex/poll/select/epoll/sleep/pause system call */
    FW_THREAD_RUNNABLE,  /* R: on a CPU or about to be */
    FW_THREAD_OTHER,     /* D, T, t, or asleep in any other system call (read, wait4, ...) */
    FW_THREAD_GONE,      /* Z, X, or vanished while read */
};

struct fw_thread_sample {
    pid_t tid;
    enum fw_thread_activity activity;
    char state;
    uint64_t cpu_ns;        /* schedstat's run time, else (utime+stime) in ns */
    long syscall_nr;        /* -1: not in a system call / unknown */
    uint64_t syscall_arg0;  /* the futex word, the pollfd array, ... */
    uint64_t syscall_pc;
    bool untimed;           /* a wait without a timeout (futex/poll/epoll/select, pause) */
};

/* Samples every thread of pid; returns the count (at most max) or -1 when the
 * process is gone. */
int fw_proc_sample_threads(pid_t pid, struct fw_thread_sample *out, int max);

/* Name of a system call the watchdog cares about ("futex", "poll", ...), or NULL. */
const char *fw_syscall_name(long nr);

/* One-line description of where a thread of pid waits, e.g.
 * "futex (futex_wait_queue)"; from syscall and wchan. */
void fw_proc_describe_wait(pid_t pid, pid_t tid, char *out, size_t n);

/* The command line of pid, arguments joined by spaces, escaped, shortened to n. */
void fw_proc_cmdline(pid_t pid, char *out, size_t n);

/* Thread name (comm) of tid in pid, escaped. */
void fw_proc_comm(pid_t pid, pid_t tid, char *out, size_t n);

#endif
