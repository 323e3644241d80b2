/*
 * ptrace_stop.h — stop every thread of a process for as short a time as possible
 * (PTRACE_SEIZE + PTRACE_INTERRUPT, ptrace(2)), and let them all go again.
 */
#ifndef FW_CLI_PTRACE_STOP_H
#define FW_CLI_PTRACE_STOP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

/* What /proc said about one thread just before we stopped it. */
struct fw_stopped_thread {
    pid_t tid;
    char state;        /* /proc/PID/task/TID/stat field 3 ('S', 'R', 'T', ...), '?' unknown */
    long syscall_nr;   /* /proc/PID/task/TID/syscall: its number, -1 not in a syscall, -2 running/unknown */
    bool seized;       /* PTRACE_SEIZE succeeded: we must detach it */
    bool stopped;      /* we saw its ptrace-stop (waitpid) */
    int pending_sig;   /* a signal-delivery-stop's signal, re-injected at detach */
};

struct fw_stopped_set {
    pid_t pid;
    struct fw_stopped_thread *threads;
    size_t n, cap;
    struct timespec t_first_interrupt, t_last_detach; /* CLOCK_MONOTONIC */
    bool interrupted;
};

enum fw_stop_result {
    FW_STOP_OK = 0,
    FW_STOP_GONE,       /* the process exited (or was killed) while we stopped it */
    FW_STOP_DENIED,     /* PTRACE_SEIZE refused (EPERM): message in err */
    FW_STOP_FAILED,     /* anything else: message in err */
};

/* Seizes and interrupts every thread of pid until a fresh listing of /proc/PID/task shows
 * no thread we have not stopped. On any result the caller must call fw_resume_all(). */
enum fw_stop_result fw_stop_all(pid_t pid, struct fw_stopped_set *set, char *err, size_t errlen);

/* Detaches every seized thread (re-injecting a signal caught in its delivery stop), records
 * t_last_detach, frees nothing. Safe to call twice. */
void fw_resume_all(struct fw_stopped_set *set);

/* Microseconds from the first PTRACE_INTERRUPT to the last PTRACE_DETACH, -1 if none. */
long long fw_stopped_us(const struct fw_stopped_set *set);

void fw_stopped_set_free(struct fw_stopped_set *set);

/* Is the process still there (not gone, not a zombie)? */
bool fw_process_alive(pid_t pid);

#endif
