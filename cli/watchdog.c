/*
 * watchdog.c — waits for the command while watching every process of its
 * tree through /proc (issue 12).
 *
 * Stuck: for --hang-timeout seconds no thread of the process made progress —
 * every thread sleeps in a wait system call (futex, the poll/select/epoll
 * family, a sleep), none changed the call or the address it waits on, none
 * appeared or ended, and none used more CPU than a parked thread does when a
 * timed wait wakes it to re-check (CPython's take_gil re-checks every 5 ms,
 * Python/ceval_gil.c: about 0.1% of a CPU; we allow 2 ms + 1%).
 * Stuck is not deadlocked: the process is then analysed exactly as `attach`
 * would; only a finding is reported and acted on. A process analysed without
 * a finding is not analysed again until one of its threads makes progress.
 */
#include "watchdog.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hang_analysis.h"
#include "json_doc.h"
#include "pidfd_util.h"
#include "proc_environ.h"
#include "proc_tree.h"
#include "signals.h"
#include "text_escape.h"
#include "tree_end.h"
#include "usage.h"

#define MAX_PROCS 4096
#define MAX_THREADS 512
#define CPU_SLACK_NS 2000000ull     /* 2 ms ... */
#define CPU_SLACK_FRACTION 0.01     /* ... + 1% of the time waited */
#define ANALYSIS_TIMEOUT_S 60.0
#define TERM_BOUND_MS 2000          /* after SIGTERM, before SIGKILL */
#define LABEL_MAX 1024
#define TIMED_ONLY_FACTOR 2
#define END_ANALYSIS_BUDGET_S 3.0       /* when the grace is over (+ 2 s SIGTERM bound: within 5 s) */
#define MAX_JOBS 2                  /* analyses at once (GDB is CPU-heavy while it reads DWARF) */

struct thread_state {
    pid_t tid;
    uint64_t cpu_base;      /* cpu_ns at the start of the quiet window */
    long wait_nr;           /* last wait seen: call and first argument */
    uint64_t wait_arg0;
    bool seen;
};

struct tracked {
    struct fw_proc_id id;
    double quiet_since;     /* start of the window without progress */
    bool rebaseline;        /* after GDB attached: take the next sample as the new base */
    bool analysed_clean;    /* analysed in this window, no finding */
    bool done;              /* a finding was recorded (or the agent reported it): not again */
    bool analysing;         /* a job is reading it: not sampled meanwhile */
    bool candidate;         /* stuck at the last sample */
    bool seen;
    bool untimed;           /* at the last sample some thread waited without a timeout */
    int nthreads;
    struct thread_state *threads;
    struct json_object *analysis;  /* the last analysis (for the tree's end) */
};

struct job {
    struct fw_analysis_job a;
    struct fw_proc_id id;
    int target_fd;          /* pidfd of the target, opened before the analysis */
    double stuck_s;
    bool busy;
};

struct watch {
    const struct fw_watch_options *o;
    struct job jobs[MAX_JOBS];
    pid_t cmd;
    struct tracked *procs;
    int nprocs;
    off_t tail_pos;                 /* how far the report has been read */
    double first_deadlock;          /* monotonic time, < 0: none yet */
    long long *agent_pids;          /* pids the agent reported a fork deadlock for */
    size_t n_agent_pids, cap_agent_pids;
    int status;
    bool cmd_done;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static unsigned long long wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

void fw_watch_prepare(const struct fw_watch_options *o)
{
    if (o->hang_timeout_s > 0 || o->grace_s >= 0)
        prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
}

/* ---- the report, read while the command runs: the agent's own deadlocks ---- */

static bool agent_reported(const struct watch *w, pid_t pid)
{
    for (size_t i = 0; i < w->n_agent_pids; i++)
        if (w->agent_pids[i] == pid)
            return true;
    return false;
}

static void note_agent_pid(struct watch *w, long long pid)
{
    if (w->n_agent_pids == w->cap_agent_pids) {
        size_t cap = w->cap_agent_pids ? 2 * w->cap_agent_pids : 16;
        long long *p = realloc(w->agent_pids, cap * sizeof *p);
        if (!p)
            return;
        w->agent_pids = p;
        w->cap_agent_pids = cap;
    }
    w->agent_pids[w->n_agent_pids++] = pid;
}

static void deadlock_recorded(struct watch *w)
{
    if (w->first_deadlock < 0)
        w->first_deadlock = now_s();
}

/* Reads the complete lines appended since the last call. */
static void tail_report(struct watch *w)
{
    int fd = open(w->o->report, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= w->tail_pos) {
        close(fd);
        return;
    }
    size_t n = (size_t)(st.st_size - w->tail_pos);
    char *buf = malloc(n + 1);
    ssize_t got = buf ? pread(fd, buf, n, w->tail_pos) : -1;
    close(fd);
    if (got <= 0) {
        free(buf);
        return;
    }
    size_t start = 0;
    for (size_t i = 0; i < (size_t)got; i++) {
        if (buf[i] != '\n')
            continue;
        struct json_object *ev = fwj_parse(buf + start, i - start, NULL);
        const char *event = ev ? fwj_get_string(ev, "event") : NULL;
        long long pid;
        if (event && strcmp(event, "fork-deadlock") == 0 && fwj_get_int(ev, "pid", &pid)) {
            note_agent_pid(w, pid);
            deadlock_recorded(w);
        }
        json_object_put(ev);
        start = i + 1;
    }
    w->tail_pos += (off_t)start; /* a half-written last line is read again next time */
    free(buf);
}

/* ---- the watchdog's own event ---- */

static void write_label_fields(FILE *f, const struct watch *w, pid_t pid)
{
    char test[LABEL_MAX];
    if (w->o->label) {
        fputs(",\"label\":", f);
        fwj_write_string(f, w->o->label, strlen(w->o->label));
    }
    if (fw_proc_getenv(pid, "PYTEST_CURRENT_TEST", test, sizeof test)) {
        fputs(",\"test\":", f);
        fwj_write_string(f, test, strlen(test));
    }
}

static void write_member(FILE *f, const struct json_object *v, const char *key)
{
    const struct json_object *m = fwj_get(v, key);
    if (!m)
        return;
    fprintf(f, ",\"%s\":", key);
    fwj_write(f, m);
}

/* Appends one "hang" event (findings as attach --json gives them) in one write. */
static void record_hang(struct watch *w, const struct tracked *t, const struct json_object *analysis,
                        double stuck_s, const char *action)
{
    char *line = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&line, &len);
    if (!f)
        return;
    fprintf(f, "{\"schema\":\"forkwatch-event/1\",\"event\":\"hang\",\"source\":\"watchdog\",\"time_ns\":%llu,"
               "\"pid\":%d,\"ppid\":%d,\"stuck_s\":%.1f,\"policy\":",
            wall_ns(), (int)t->id.pid, (int)t->id.ppid, stuck_s);
    fwj_write_string(f, w->o->policy, strlen(w->o->policy));
    fputs(",\"action\":", f);
    fwj_write_string(f, action, strlen(action));
    write_label_fields(f, w, t->id.pid);
    write_member(f, analysis, "verdict");
    write_member(f, analysis, "summary");
    write_member(f, analysis, "python");
    write_member(f, analysis, "agent");
    write_member(f, analysis, "findings");
    fputs("}\n", f);
    if (fclose(f) != 0) {
        free(line);
        return;
    }
    int fd = open(w->o->report, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd >= 0) {
        ssize_t wr = write(fd, line, len); /* one write: lines from several writers do not interleave */
        if (wr != (ssize_t)len)
            fprintf(stderr, "forkwatch: warning: could not write the watchdog's event to the report\n");
        close(fd); /* tail_report reads our own line back and ignores it */
    }
    free(line);
}

/* ---- tracking ---- */

static void forget(struct tracked *t)
{
    free(t->threads);
    json_object_put(t->analysis);
    memset(t, 0, sizeof *t);
}

static void start_window(struct tracked *t, const struct fw_thread_sample *s, int n, double now)
{
    struct thread_state *ts = realloc(t->threads, (size_t)(n > 0 ? n : 1) * sizeof *ts);
    if (!ts)
        return;
    t->threads = ts;
    t->nthreads = n;
    for (int i = 0; i < n; i++)
        ts[i] = (struct thread_state){.tid = s[i].tid, .cpu_base = s[i].cpu_ns, .wait_nr = s[i].syscall_nr,
                                      .wait_arg0 = s[i].syscall_arg0};
    t->quiet_since = now;
    t->rebaseline = false;
}

static struct thread_state *find_thread(struct tracked *t, pid_t tid)
{
    for (int i = 0; i < t->nthreads; i++)
        if (t->threads[i].tid == tid)
            return &t->threads[i];
    return NULL;
}

/* Did any thread make progress since the window started? Updates the wait seen. */
static bool made_progress(struct tracked *t, const struct fw_thread_sample *s, int n, double now)
{
    if (n != t->nthreads)
        return true;
    uint64_t slack = CPU_SLACK_NS + (uint64_t)(CPU_SLACK_FRACTION * (now - t->quiet_since) * 1e9);
    for (int i = 0; i < n; i++) {
        struct thread_state *ts = find_thread(t, s[i].tid);
        if (!ts)
            return true; /* a thread started (and one ended) */
        if (s[i].cpu_ns > ts->cpu_base + slack)
            return true;
        if (s[i].activity == FW_THREAD_OTHER)
            return true; /* in I/O, stopped, or a call that is not a wait: not stuck */
        if (s[i].activity == FW_THREAD_WAITING) {
            if (ts->wait_nr != s[i].syscall_nr || ts->wait_arg0 != s[i].syscall_arg0)
                return true;
        }
        /* RUNNABLE without CPU use: woken for a re-check, no progress yet. */
    }
    return false;
}

static bool all_waiting(const struct fw_thread_sample *s, int n)
{
    for (int i = 0; i < n; i++)
        if (s[i].activity != FW_THREAD_WAITING)
            return false;
    return n > 0;
}

static struct tracked *lookup(struct watch *w, const struct fw_proc_id *id)
{
    for (int i = 0; i < w->nprocs; i++)
        if (w->procs[i].id.pid == id->pid && w->procs[i].id.start_time == id->start_time)
            return &w->procs[i];
    return NULL;
}

/* Analysis slots are few (MAX_JOBS): first a process with a thread in a wait
 * without timeout (a lock, a join), the typical fork deadlock, before one that
 * only sleeps or polls; then the one stuck longest. */
static struct tracked *pick_next(struct watch *w, double now)
{
    (void)now;
    struct tracked *best = NULL;
    for (int i = 0; i < w->nprocs; i++) {
        struct tracked *t = &w->procs[i];
        if (!t->candidate || t->analysing || t->done || t->analysed_clean)
            continue;
        if (!best || (t->untimed && !best->untimed) ||
            (t->untimed == best->untimed && t->quiet_since < best->quiet_since))
            best = t;
    }
    return best;
}

static bool busy_jobs(const struct watch *w)
{
    for (int i = 0; i < MAX_JOBS; i++)
        if (w->jobs[i].busy)
            return true;
    return false;
}

static bool free_job(const struct watch *w)
{
    for (int i = 0; i < MAX_JOBS; i++)
        if (!w->jobs[i].busy)
            return true;
    return false;
}

/* The analysis helpers and their GDBs are our descendants too, not the command's.
 * ids is in breadth-first order: a parent comes before its children. */
static int drop_helpers(const struct watch *w, struct fw_proc_id *ids, int n)
{
    static pid_t dropped[MAX_PROCS];
    int nd = 0, kept = 0;
    for (int i = 0; i < n; i++) {
        bool drop = false;
        for (int j = 0; j < MAX_JOBS && !drop; j++)
            drop = w->jobs[j].busy && w->jobs[j].a.helper == ids[i].pid;
        for (int j = 0; j < nd && !drop; j++)
            drop = dropped[j] == ids[i].ppid;
        if (drop)
            dropped[nd++] = ids[i].pid;
        else
            ids[kept++] = ids[i];
    }
    return kept;
}

/* One pass over the tree: returns the process to analyse next (not yet analysed
 * in its window, not being analysed), or NULL. */
static struct tracked *sample_tree(struct watch *w, struct fw_thread_sample *samples, double now)
{
    static struct fw_proc_id ids[MAX_PROCS];
    int n = fw_proc_descendants(getpid(), ids, MAX_PROCS);
    if (n < 0)
        return NULL;
    for (int i = 0; i < w->nprocs; i++)
        w->procs[i].seen = false;
    n = drop_helpers(w, ids, n);
    for (int i = 0; i < n; i++) {
        if (ids[i].state == 'Z' || ids[i].state == 'X')
            continue;
        struct tracked *t = lookup(w, &ids[i]);
        if (!t) {
            if (w->nprocs == MAX_PROCS)
                continue;
            t = &w->procs[w->nprocs++];
            memset(t, 0, sizeof *t);
            t->id = ids[i];
            t->rebaseline = true;
        }
        t->seen = true;
        t->id.ppid = ids[i].ppid;
    }
    /* Drop the processes that ended. */
    for (int i = 0; i < w->nprocs;) {
        if (!w->procs[i].seen) {
            forget(&w->procs[i]);
            w->procs[i] = w->procs[--w->nprocs];
            memset(&w->procs[w->nprocs], 0, sizeof w->procs[w->nprocs]);
        } else
            i++;
    }
    for (int i = 0; i < w->nprocs; i++) {
        struct tracked *t = &w->procs[i];
        t->candidate = false;
        if (t->done || t->analysing)
            continue;
        if (agent_reported(w, t->id.pid)) {
            t->done = true; /* the agent already said why: do not report it twice */
            continue;
        }
        int ns = fw_proc_sample_threads(t->id.pid, samples, MAX_THREADS);
        if (ns < 0)
            continue;
        if (t->rebaseline || made_progress(t, samples, ns, now)) {
            if (!t->rebaseline)
                t->analysed_clean = false;
            start_window(t, samples, ns, now);
            continue;
        }
        if (t->analysed_clean || !all_waiting(samples, ns))
            continue;
        t->untimed = false;
        for (int k = 0; k < ns; k++)
            t->untimed |= samples[k].untimed;
        /* Only timed waits (sleeps, polls with a timeout): the process will wake by
         * itself; a fork deadlock waits without a timeout somewhere. Such a process
         * counts as stuck after twice the time, so that the likelier deadlocks are
         * analysed first (one GDB run takes 0.5-5 s). */
        if (now - t->quiet_since < w->o->hang_timeout_s * (t->untimed ? 1 : TIMED_ONLY_FACTOR))
            continue;
        t->candidate = true;
    }
    return pick_next(w, now);
}

static bool has_findings(const struct json_object *analysis)
{
    const struct json_object *f = fwj_get(analysis, "findings");
    return fwj_len(f) > 0;
}

static void start_analysis(struct watch *w, struct tracked *t, double now)
{
    struct job *j = NULL;
    for (int i = 0; i < MAX_JOBS && !j; i++)
        if (!w->jobs[i].busy)
            j = &w->jobs[i];
    if (!j)
        return;
    double stuck_s = now - t->quiet_since;
    if (w->o->verbose)
        fprintf(stderr, "forkwatch: watchdog: pid %d made no progress for %.1f s; analysing it\n", (int)t->id.pid,
                stuck_s);
    /* Opened before the analysis: the policy then acts on this process only. */
    j->target_fd = fw_pidfd_open_checked(&t->id);
    if (j->target_fd < 0 || !fw_analysis_start(t->id.pid, ANALYSIS_TIMEOUT_S, w->o->verbose, &j->a)) {
        if (j->target_fd >= 0)
            close(j->target_fd);
        t->analysed_clean = true;
        return;
    }
    j->id = t->id;
    j->stuck_s = stuck_s;
    j->busy = true;
    t->analysing = true;
}

/* A finished analysis: a finding is recorded and the policy applied; none
 * leaves the process alone until it makes progress. */
static void finish_analysis(struct watch *w, struct job *j)
{
    struct json_object *v = fw_analysis_collect(&j->a);
    j->busy = false;
    struct tracked *t = lookup(w, &j->id);
    if (t) {
        t->analysing = false;
        t->rebaseline = true; /* GDB's attach stopped and woke every thread: that is not progress */
    }
    if (!t || !v || !has_findings(v)) {
        if (t) {
            t->analysed_clean = true;
            json_object_put(t->analysis);
            t->analysis = v;
            v = NULL;
        }
        if (w->o->verbose)
            fprintf(stderr, "forkwatch: watchdog: pid %d: %s\n", (int)j->id.pid,
                    !t ? "ended during the analysis"
                       : t->analysis ? "no deadlock found; not analysed again until it makes progress"
                                     : "could not be analysed; not again until it makes progress");
        json_object_put(v);
        close(j->target_fd);
        return;
    }
    bool abort_it = strcmp(w->o->policy, "abort") == 0;
    record_hang(w, t, v, j->stuck_s, abort_it ? "ended" : "left running");
    t->done = true;
    deadlock_recorded(w);
    if (abort_it)
        fw_terminate(j->target_fd, TERM_BOUND_MS, w->cmd, &w->status, &w->cmd_done);
    close(j->target_fd);
    json_object_put(t->analysis);
    t->analysis = v; /* under warn it lives on: the tree's end says where it waits without a new analysis */
}

static void cancel_analyses(struct watch *w)
{
    for (int i = 0; i < MAX_JOBS; i++)
        if (w->jobs[i].busy) {
            fw_analysis_cancel(&w->jobs[i].a);
            close(w->jobs[i].target_fd);
            w->jobs[i].busy = false;
        }
}

/* ---- the loop ---- */

int fw_watch_command(pid_t pid, const struct fw_watch_options *o, bool *tree_ended)
{
    *tree_ended = false;
    struct watch w = {.o = o, .cmd = pid, .tail_pos = o->report_start, .first_deadlock = -1,
                      .status = FW_EXIT_ERROR};
    w.procs = calloc(MAX_PROCS, sizeof *w.procs);
    struct fw_thread_sample *samples = calloc(MAX_THREADS, sizeof *samples);
    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (!w.procs || !samples) {
        fprintf(stderr, "forkwatch: out of memory\n");
        kill(pid, SIGKILL);
    }
    /* Sampling often enough to see a quiet window end within ~10% of its length. */
    double tick = o->hang_timeout_s > 0 ? o->hang_timeout_s / 10 : 0.25;
    tick = tick < 0.05 ? 0.05 : tick > 0.5 ? 0.5 : tick;
    while (!w.cmd_done) {
        struct pollfd p = {.fd = pidfd, .events = POLLIN};
        if (poll(&p, pidfd >= 0 ? 1 : 0, (int)(tick * 1000)) < 0 && errno != EINTR)
            break;
        fw_reap_children(pid, &w.status, &w.cmd_done);
        if (w.cmd_done || !w.procs || !samples)
            break;
        double now = now_s();
        tail_report(&w);
        for (int i = 0; i < MAX_JOBS; i++)
            if (w.jobs[i].busy && fw_analysis_finished(&w.jobs[i].a))
                finish_analysis(&w, &w.jobs[i]);
        if (w.cmd_done)
            break;
        if (o->grace_s >= 0 && w.first_deadlock >= 0 && now - w.first_deadlock >= o->grace_s) {
            /* Analyses under way may still find why a process hangs: a short,
             * shared bound for them and for describing the rest (fw_end_tree). */
            double budget_end = now + END_ANALYSIS_BUDGET_S;
            while (busy_jobs(&w) && now_s() < budget_end) {
                poll(NULL, 0, 50);
                for (int i = 0; i < MAX_JOBS; i++)
                    if (w.jobs[i].busy && fw_analysis_finished(&w.jobs[i].a))
                        finish_analysis(&w, &w.jobs[i]);
            }
            cancel_analyses(&w);
            struct fw_known_analysis *known = calloc((size_t)w.nprocs + 1, sizeof *known);
            int nk = 0;
            for (int i = 0; known && i < w.nprocs; i++)
                if (w.procs[i].analysis)
                    known[nk++] = (struct fw_known_analysis){w.procs[i].id.pid, w.procs[i].id.start_time,
                                                             w.procs[i].analysis};
            fw_end_tree(pid, o->grace_s, known, nk, budget_end - now_s(), &w.status, &w.cmd_done);
            free(known);
            *tree_ended = true;
            break;
        }
        if (o->hang_timeout_s > 0) {
            struct tracked *t = sample_tree(&w, samples, now);
            while (t && free_job(&w)) {
                start_analysis(&w, t, now);
                t = pick_next(&w, now);
            }
        }
    }
    /* Verdicts already made are kept (the process they found may outlive the command). */
    for (int i = 0; i < MAX_JOBS; i++)
        if (w.jobs[i].busy && fw_analysis_finished(&w.jobs[i].a))
            finish_analysis(&w, &w.jobs[i]);
    cancel_analyses(&w);
    /* The command itself is reaped here when nothing else did. */
    while (!w.cmd_done) {
        int st;
        pid_t r = waitpid(pid, &st, 0);
        if (r == pid) {
            w.status = WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? 128 + WTERMSIG(st) : FW_EXIT_ERROR;
            w.cmd_done = true;
        } else if (r < 0 && errno != EINTR) {
            fprintf(stderr, "forkwatch: waitpid: %s\n", strerror(errno));
            break;
        }
    }
    fw_stop_forwarding();
    for (int i = 0; w.procs && i < w.nprocs; i++)
        forget(&w.procs[i]);
    free(w.procs);
    free(samples);
    free(w.agent_pids);
    if (pidfd >= 0)
        close(pidfd);
    return *tree_ended ? FW_EXIT_RUN_DEADLOCK : w.status;
}
