/* edge.h — shared helpers of the interposition edge-case tests (issue 6 §3).
 *
 * Each test prints behaviour lines "R ..." (return codes, counts) that must be
 * identical with and without the agent (run_edge.sh compares them), and, when
 * the agent is loaded, checks the agent's records through its registry
 * (found by its dynamic symbol, read per forkwatch_abi.h). A failed check
 * prints "FAIL file:line: what"; the exit status is 1 if any failed. */
#ifndef EDGE_H
#define EDGE_H

#include "forkwatch_abi.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int edge_failures;

#define R(...) do { printf("R " __VA_ARGS__); putchar('\n'); fflush(stdout); } while (0)
#define CHECK(cond, ...)                                                          \
    do {                                                                          \
        if (!(cond)) {                                                            \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);                           \
            printf(__VA_ARGS__);                                                  \
            putchar('\n');                                                        \
            fflush(stdout);                                                       \
            edge_failures++;                                                      \
        }                                                                         \
    } while (0)

static inline pid_t edge_tid(void)
{
    return (pid_t)syscall(SYS_gettid);
}

/* The registry of the agent that interposes (NULL without an agent). EDGE_AGENT=1
 * (set by run_edge.sh) says one must be there. */
static inline struct fw_registry *edge_reg(void)
{
    static int done;
    static struct fw_registry *r;
    if (!done) {
        done = 1;
        r = dlsym(RTLD_DEFAULT, FW_REGISTRY_SYMBOL);
        if (getenv("EDGE_AGENT") && (!r || !(r->header.flags & FW_FLAG_ENABLED))) {
            printf("FAIL agent expected but no enabled registry\n");
            edge_failures++;
            r = 0;
        }
    }
    return r;
}

static inline int edge_agent(void)
{
    return edge_reg() != 0;
}

/* Entries of thread `tid` (0: the calling thread; -1: every live thread) for
 * `lock`, in `state` (FW_HOLD_EMPTY: any non-empty state), in registry r. */
static inline int edge_entries_in(const struct fw_registry *r, pid_t tid, const void *lock, uint32_t state)
{
    if (!r)
        return -1;
    if (tid == 0)
        tid = edge_tid();
    int n = 0;
    uint32_t used = __atomic_load_n(&r->header.threads.used, __ATOMIC_ACQUIRE);
    for (uint32_t i = 0; i < used && i < FW_MAX_THREADS; i++) {
        const struct fw_thread *t = &r->threads[i];
        if (__atomic_load_n(&t->state, __ATOMIC_ACQUIRE) != FW_THREAD_LIVE || (tid != -1 && t->tid != tid))
            continue;
        uint32_t hu = __atomic_load_n(&t->held_used, __ATOMIC_ACQUIRE);
        for (uint32_t k = 0; k < hu && k < FW_MAX_HELD; k++) {
            uint32_t s = __atomic_load_n(&t->held[k].state, __ATOMIC_ACQUIRE);
            if (t->held[k].lock_addr == (uint64_t)(uintptr_t)lock && s != FW_HOLD_EMPTY &&
                (state == FW_HOLD_EMPTY || s == state))
                n++;
        }
    }
    return n;
}

static inline int edge_entries(pid_t tid, const void *lock, uint32_t state)
{
    return edge_entries_in(edge_reg(), tid, lock, state);
}

/* The calling thread's slot (NULL: none or no agent). */
static inline const struct fw_thread *edge_self_slot(void)
{
    struct fw_registry *r = edge_reg();
    if (!r)
        return 0;
    pid_t tid = edge_tid();
    for (uint32_t i = 0; i < r->header.threads.used && i < FW_MAX_THREADS; i++)
        if (r->threads[i].state == FW_THREAD_LIVE && r->threads[i].tid == tid)
            return &r->threads[i];
    return 0;
}

/* With the agent: exactly `want` entries of `tid` for `lock` in `state`. */
#define EXPECT_ENTRIES(tid, lock, state, want)                                      \
    do {                                                                            \
        if (edge_agent()) {                                                         \
            int got_ = edge_entries((tid), (lock), (state));                        \
            CHECK(got_ == (want), "%s: %d entries (state %d), want %d", #lock, got_, \
                  (int)(state), (int)(want));                                       \
        }                                                                           \
    } while (0)

static inline void edge_nap(void)
{
    struct timespec ts = { 0, 200000 };
    nanosleep(&ts, 0);
}

/* Reaps child pid, waiting at most ~20 s (then kills it by its PID); returns its
 * exit status, or 128 + the signal that ended it. */
static inline int edge_reap(pid_t pid)
{
    int st = 0;
    long i;
    for (i = 0; i < 100000 && waitpid(pid, &st, WNOHANG) == 0; i++)
        edge_nap();
    if (i == 100000) {
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Waits (bounded: 20 s) for an atomic flag. */
static inline int edge_wait_flag(atomic_int *f, int value)
{
    for (long i = 0; i < 100000; i++) {
        if (atomic_load(f) == value)
            return 1;
        edge_nap();
    }
    printf("FAIL timed out waiting for a flag\n");
    edge_failures++;
    return 0;
}

static inline struct timespec edge_deadline(clockid_t clk, long ms)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    ts.tv_nsec += ms * 1000000L;
    ts.tv_sec += ts.tv_nsec / 1000000000L;
    ts.tv_nsec %= 1000000000L;
    return ts;
}

static inline int edge_finish(const char *name)
{
    if (edge_failures) {
        printf("%s: %d check(s) failed\n", name, edge_failures);
        return 1;
    }
    printf("%s: ok%s\n", name, edge_agent() ? " (agent records checked)" : "");
    return 0;
}

#endif
