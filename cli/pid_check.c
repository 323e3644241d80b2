/*
 * pid_check.c — PID syntax, existence, state, ownership and ptrace policy.
 */
#include "pid_check.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "text_escape.h"

#define CAP_SYS_PTRACE_BIT 19

/* Value of "Key:" in /proc/<who>/status, or false. */
static bool status_field(const char *who, const char *key, char *out, size_t n)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%s/status", who);
    FILE *f = fopen(path, "re");
    if (!f)
        return false;
    char line[512];
    size_t klen = strlen(key);
    bool found = false;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
            char *v = line + klen + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            v[strcspn(v, "\n")] = '\0';
            snprintf(out, n, "%s", v);
            found = true;
            break;
        }
    }
    fclose(f);
    return found;
}

static bool have_cap_sys_ptrace(void)
{
    char caps[64];
    if (!status_field("self", "CapEff", caps, sizeof caps))
        return geteuid() == 0;
    unsigned long long v = strtoull(caps, NULL, 16);
    return (v >> CAP_SYS_PTRACE_BIT) & 1;
}

static int yama_scope(void)
{
    FILE *f = fopen("/proc/sys/kernel/yama/ptrace_scope", "re");
    if (!f)
        return 0; /* no Yama: classic rules only */
    int v = 0;
    if (fscanf(f, "%d", &v) != 1)
        v = 0;
    fclose(f);
    return v;
}

static bool parse_pid(const char *arg, pid_t *out)
{
    if (!arg || !*arg)
        return false;
    for (const char *p = arg; *p; p++)
        if (*p < '0' || *p > '9')
            return false;
    errno = 0;
    long v = strtol(arg, NULL, 10);
    if (errno || v <= 0 || v > INT_MAX)
        return false;
    *out = (pid_t)v;
    return true;
}

bool fw_check_attachable(const char *arg, pid_t *pid_out)
{
    char esc[64];
    pid_t pid;
    if (!parse_pid(arg, &pid)) {
        fprintf(stderr, "forkwatch: '%s' is not a process id (a positive number)\n",
                fw_escape_cstr(arg, esc, sizeof esc));
        return false;
    }
    char who[32], procdir[48];
    snprintf(who, sizeof who, "%d", (int)pid);
    snprintf(procdir, sizeof procdir, "/proc/%d", (int)pid);
    struct stat st;
    if (stat(procdir, &st) != 0 || (kill(pid, 0) != 0 && errno == ESRCH)) {
        fprintf(stderr, "forkwatch: no process with PID %d\n", (int)pid);
        return false;
    }
    if (pid == getpid()) {
        fprintf(stderr, "forkwatch: PID %d is forkwatch itself\n", (int)pid);
        return false;
    }
    /* /proc/TID exists for every thread; GDB wants the process. */
    char tgid[32] = "";
    if (status_field(who, "Tgid", tgid, sizeof tgid) && strcmp(tgid, who) != 0) {
        fprintf(stderr, "forkwatch: %d is a thread of process %s; run: forkwatch attach %s\n", (int)pid, tgid, tgid);
        return false;
    }
    /* "Kthread:" exists from Linux 6.0; older kernels let ptrace say no. */
    char kthread[8] = "";
    status_field(who, "Kthread", kthread, sizeof kthread);
    if (strcmp(kthread, "1") == 0) {
        fprintf(stderr, "forkwatch: PID %d is a kernel thread; there is nothing to attach to\n", (int)pid);
        return false;
    }
    char state[64] = "";
    status_field(who, "State", state, sizeof state);
    if (state[0] == 'Z' || state[0] == 'X') {
        fprintf(stderr, "forkwatch: PID %d has exited (zombie); nothing to attach to\n", (int)pid);
        return false;
    }
    char tracer[32] = "0";
    status_field(who, "TracerPid", tracer, sizeof tracer);
    if (strcmp(tracer, "0") != 0) {
        fprintf(stderr, "forkwatch: PID %d is already being traced by PID %s (a debugger?); detach it first\n",
                (int)pid, tracer);
        return false;
    }
    bool privileged = have_cap_sys_ptrace();
    /* /proc/PID belongs to root when the process is not dumpable (setuid,
     * prctl(PR_SET_DUMPABLE, 0)); ptrace then needs CAP_SYS_PTRACE too. */
    if (!privileged && st.st_uid != geteuid()) {
        fprintf(stderr, "forkwatch: not permitted to attach to PID %d (it runs as uid %u or is not dumpable); "
                        "run forkwatch as that user or as root\n", (int)pid, (unsigned)st.st_uid);
        return false;
    }
    /* A non-dumpable process of our own uid keeps /proc/PID itself but its files
     * (mem, environ, ...) belong to root. */
    char mem[64];
    struct stat mst;
    snprintf(mem, sizeof mem, "/proc/%d/mem", (int)pid);
    if (!privileged && stat(mem, &mst) == 0 && mst.st_uid != geteuid()) {
        fprintf(stderr, "forkwatch: not permitted to attach to PID %d: it is not dumpable (setuid, or "
                        "prctl(PR_SET_DUMPABLE, 0)); run forkwatch as root\n", (int)pid);
        return false;
    }
    int scope = yama_scope();
    if (scope >= 3 || (scope >= 1 && !privileged)) {
        fprintf(stderr, "forkwatch: not permitted to attach to PID %d: kernel.yama.ptrace_scope=%d %s\n", (int)pid,
                scope, scope >= 3 ? "forbids attaching at all" :
                "allows attaching only to descendants; run as root or set kernel.yama.ptrace_scope=0");
        return false;
    }
    *pid_out = pid;
    return true;
}
