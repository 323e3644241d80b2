/*
 * tree_end.c — see tree_end.h. Everything is bounded: the analyses share a
 * small budget, SIGTERM gets TERM_BOUND_MS, SIGKILL cannot be refused.
 */
#include "tree_end.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hang_analysis.h"
#include "pidfd_util.h"
#include "proc_tree.h"
#include "text_escape.h"

#define MAX_ENDED 1024
#define TERM_BOUND_MS 2000
#define DESC_MAX 2048

struct ended {
    struct fw_proc_id id;
    int pidfd;
    int signal;      /* what ended it; 0: it had ended already */
    char cmdline[160];
    char where[DESC_MAX];
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void append(char *out, size_t n, const char *fmt, const char *a, const char *b)
{
    size_t len = strlen(out);
    if (len < n)
        snprintf(out + len, n - len, fmt, a, b);
}

void fw_describe_analysis(const struct json_object *analysis, int max_threads, char *out, size_t n)
{
    out[0] = '\0';
    const struct json_object *threads = fwj_get(analysis, "threads");
    for (size_t i = 0; i < fwj_len(threads) && (int)i < max_threads; i++) {
        const struct json_object *t = fwj_at(threads, i);
        long long tid = 0;
        fwj_get_int(t, "tid", &tid);
        char name[64], state[48], head[200], where[700] = "";
        fw_escape_cstr(fwj_get_string(t, "name"), name, sizeof name);
        fw_escape_cstr(fwj_get_string(t, "state"), state, sizeof state);
        const struct json_object *py = fwj_get(t, "python_stack");
        const struct json_object *nat = fwj_get(t, "native_stack");
        const struct json_object *f = fwj_len(py) ? fwj_at(py, 0)
                                     : fwj_len(nat) ? fwj_at(nat, 0) : NULL;
        if (f && fwj_get_string(f, "file")) {
            char file[512], func[128];
            long long line = 0;
            fwj_get_int(f, "line", &line);
            snprintf(where, sizeof where, " at %s:%lld (%s)", fw_escape_cstr(fwj_get_string(f, "file"), file, sizeof file),
                     line, fw_escape_cstr(fwj_get_string(f, "function"), func, sizeof func));
        } else if (f && fwj_get_string(f, "function")) {
            char func[128];
            snprintf(where, sizeof where, " in %s", fw_escape_cstr(fwj_get_string(f, "function"), func, sizeof func));
        }
        snprintf(head, sizeof head, "%sthread %lld \"%s\" %s", i ? "; " : "", tid, name, state);
        append(out, n, "%s%s", head, where);
    }
}

/* Where the threads of a process without an analysis wait, from /proc alone. */
static void describe_from_proc(pid_t pid, char *out, size_t n)
{
    struct fw_thread_sample s[16];
    int k = fw_proc_sample_threads(pid, s, 16);
    out[0] = '\0';
    for (int i = 0; i < k; i++) {
        char comm[64], wait[256], head[128];
        fw_proc_comm(pid, s[i].tid, comm, sizeof comm);
        fw_proc_describe_wait(pid, s[i].tid, wait, sizeof wait);
        snprintf(head, sizeof head, "%sthread %d \"%s\"", i ? "; " : "", (int)s[i].tid, comm);
        append(out, n, "%s %s", head, wait);
    }
    if (!out[0])
        snprintf(out, n, "(no thread left to read)");
}

static const struct json_object *known_for(const struct fw_proc_id *id, const struct fw_known_analysis *known,
                                          int nknown)
{
    for (int i = 0; i < nknown; i++)
        if (known[i].pid == id->pid && known[i].start_time == id->start_time)
            return known[i].analysis;
    return NULL;
}

/* Adds the live descendants not yet in the list; returns the new count. */
static int collect(struct ended *e, int count)
{
    static struct fw_proc_id ids[MAX_ENDED];
    int n = fw_proc_descendants(getpid(), ids, MAX_ENDED);
    for (int i = 0; i < n && count < MAX_ENDED; i++) {
        if (ids[i].state == 'Z' || ids[i].state == 'X')
            continue;
        bool have = false;
        for (int j = 0; j < count && !have; j++)
            have = e[j].id.pid == ids[i].pid && e[j].id.start_time == ids[i].start_time;
        if (have)
            continue;
        int fd = fw_pidfd_open_checked(&ids[i]);
        if (fd < 0)
            continue;
        memset(&e[count], 0, sizeof e[count]);
        e[count].id = ids[i];
        e[count].pidfd = fd;
        fw_proc_cmdline(ids[i].pid, e[count].cmdline, sizeof e[count].cmdline);
        count++;
    }
    return count;
}

void fw_end_tree(pid_t cmd, double grace_s, const struct fw_known_analysis *known, int nknown, double budget_s,
                 int *status, bool *cmd_done)
{
    struct ended *e = calloc(MAX_ENDED, sizeof *e);
    if (!e)
        return;
    int n = collect(e, 0);
    /* Say where each was before anything changes: a known analysis, a quick one, or /proc. */
    double budget_end = now_s() + budget_s;
    for (int i = 0; i < n; i++) {
        const struct json_object *a = known_for(&e[i].id, known, nknown);
        struct json_object *mine = NULL;
        double left = budget_end - now_s();
        if (!a && left > 0.5) {
            int st;
            mine = fw_analyse_process(e[i].id.pid, left, &st);
            a = mine;
        }
        if (a)
            fw_describe_analysis(a, 8, e[i].where, sizeof e[i].where);
        if (!e[i].where[0])
            describe_from_proc(e[i].id.pid, e[i].where, sizeof e[i].where);
        json_object_put(mine);
    }
    fprintf(stderr, "forkwatch: the command still ran %g s after the first deadlock was recorded (--grace): "
                    "ending its process tree, %d process%s\n", grace_s, n, n == 1 ? "" : "es");
    for (int i = 0; i < n; i++) {
        e[i].signal = fw_pidfd_signal(e[i].pidfd, SIGTERM) ? SIGTERM : 0; /* 0: it had ended meanwhile */
        fw_pidfd_signal(e[i].pidfd, SIGCONT);
    }
    double term_end = now_s() + TERM_BOUND_MS / 1000.0;
    for (int i = 0; i < n; i++) {
        double left = term_end - now_s();
        if (e[i].signal && !fw_pidfd_wait_gone(e[i].pidfd, left > 0 ? (int)(left * 1000) : 0)) {
            fw_pidfd_signal(e[i].pidfd, SIGKILL);
            e[i].signal = SIGKILL;
        }
        fw_reap_children(cmd, status, cmd_done);
    }
    /* Anything forked meanwhile (a SIGTERM handler's child) goes at once. */
    int before = n;
    n = collect(e, n);
    for (int i = before; i < n; i++) {
        snprintf(e[i].where, sizeof e[i].where, "started while the tree was being ended");
        fw_pidfd_signal(e[i].pidfd, SIGKILL);
        e[i].signal = SIGKILL;
    }
    for (int i = 0; i < n; i++) {
        fw_pidfd_wait_gone(e[i].pidfd, 2000);
        fw_reap_children(cmd, status, cmd_done);
        fprintf(stderr, "forkwatch:   %s pid %d (%s)%s; it was waiting: %s\n", e[i].signal ? "ended" : "(it ended by itself)",
                (int)e[i].id.pid, e[i].cmdline,
                e[i].signal == SIGKILL ? " with SIGKILL" : e[i].signal == SIGTERM ? " with SIGTERM" : "", e[i].where);
        close(e[i].pidfd);
    }
    free(e);
}
