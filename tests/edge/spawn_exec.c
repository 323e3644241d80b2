/* spawn_exec.c — a thread holds a mutex while the program starts new programs:
 * vfork + exec, posix_spawn, fork + exec (exec after fork). Each new image runs
 * this program as "probe": the agent must start fresh there (no fork history,
 * no orphan, no report), and the parent's records must be unchanged (vfork and
 * posix_spawn are not forks the agent records; fork is). */
#define _GNU_SOURCE
#include "edge.h"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

extern char **environ;
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static atomic_int step, htid;
static char self[4096];

static int probe(void)
{
    struct fw_registry *r = edge_reg();
    if (r) {
        const struct fw_registry_header *h = &r->header;
        CHECK(h->pid == getpid(), "probe: registry pid %d, want %d", h->pid, getpid());
        CHECK(h->parent_pid == 0 && h->born_of_fork_id == 0, "probe: registry says born of a fork");
        CHECK(h->forks_total == 0 && h->fork_held.used == 0, "probe: stale fork history (%llu forks, %u held)",
              (unsigned long long)h->forks_total, h->fork_held.used);
        CHECK(h->deadlocks_reported == 0 && h->hazards_reported == 0, "probe: stale reports");
    }
    /* the same mutex (same program) is free and ours in the new image */
    CHECK(pthread_mutex_lock(&m) == 0, "probe: lock");
    EXPECT_ENTRIES(0, &m, FW_HOLD_HELD, 1);
    CHECK(pthread_mutex_unlock(&m) == 0, "probe: unlock");
    return edge_failures ? 1 : 0;
}

static void *holder(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&m);
    atomic_store(&htid, edge_tid());
    atomic_store(&step, 1);
    edge_wait_flag(&step, 2);
    pthread_mutex_unlock(&m);
    return 0;
}

static void parent_unchanged(const char *how, uint64_t forks_before, int fork_expected)
{
    EXPECT_ENTRIES(atomic_load(&htid), &m, FW_HOLD_HELD, 1);
    if (edge_agent()) {
        const struct fw_registry_header *h = &edge_reg()->header;
        CHECK(h->forks_total == forks_before + (uint64_t)fork_expected, "%s: the parent recorded %llu forks, want %llu",
              how, (unsigned long long)h->forks_total, (unsigned long long)(forks_before + (uint64_t)fork_expected));
        CHECK(h->pid == getpid() && h->deadlocks_reported == 0 && h->hazards_reported == 0, "%s: parent header changed", how);
    }
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "probe"))
        return probe();
    edge_reg();
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return 2;
    self[n] = '\0';
    pthread_t t;
    pthread_create(&t, 0, holder, 0);
    edge_wait_flag(&step, 1);
    char *pargv[] = { self, "probe", 0 };
    uint64_t f0 = edge_agent() ? edge_reg()->header.forks_total : 0;

    pid_t pid = vfork();
    if (pid == 0) {
        execve(self, pargv, environ);
        _exit(127);
    }
    R("vfork+exec probe exit %d", edge_reap(pid));
    parent_unchanged("vfork", f0, 0);

    pid_t sp = 0;
    int rc = posix_spawn(&sp, self, 0, 0, pargv, environ);
    R("posix_spawn %d, probe exit %d", rc, rc == 0 ? edge_reap(sp) : -1);
    parent_unchanged("posix_spawn", f0, 0);

    pid = fork();
    if (pid == 0) {
        /* the child has an orphan (m) until it execs; the new image must not */
        execve(self, pargv, environ);
        _exit(127);
    }
    R("fork+exec probe exit %d", edge_reap(pid));
    parent_unchanged("fork+exec", f0, 1);

    R("system %d", system("exit 0"));
    /* popen: like system, a clone(CLONE_VFORK) + exec of /bin/sh */
    FILE *pipe = popen("echo popen-ok", "r");
    char out[32] = "";
    if (pipe && !fgets(out, sizeof out, pipe))
        out[0] = 0;
    R("popen read '%.*s', pclose %d", (int)strcspn(out, "\n"), out, pipe ? pclose(pipe) : -1);
    atomic_store(&step, 2);
    pthread_join(t, 0);
    /* nothing was reported anywhere: the report (shared by all) has no event */
    const char *report = getenv("FORKWATCH_REPORT");
    if (edge_agent() && report) {
        FILE *f = fopen(report, "r");
        char line[512];
        int events = 0;
        while (f && fgets(line, sizeof line, f))
            events += strstr(line, "\"event\"") != 0;
        if (f)
            fclose(f);
        CHECK(events == 0, "%d events in the report", events);
    }
    return edge_finish("spawn_exec");
}
