/*
 * lockbench — lock microbenchmarks for `make bench` (issue 5, group 1).
 *
 *   lockbench CASE [ITERS] [BATCHES]
 *
 * Runs CASE BATCHES times (ITERS operations each, after one warm-up batch) and
 * prints one line:  CASE ns_per_op=<min over batches> batches=<n> iters=<n>
 *
 * The minimum over batches is kept because the machine is shared: a batch that
 * lost the CPU to another process is slower, never faster. The harness runs
 * this program alternately with and without the agent and takes medians.
 *
 * Uncontended cases are timed with each thread's CPU clock (preemption by other
 * processes does not count); contended and ping-pong cases with the wall clock.
 * An "op" is one acquire + release pair (ping-pong: one signal + wake hand-over).
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NEST 4

static long g_iters;

static uint64_t now_ns(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *what, int err)
{
    fprintf(stderr, "lockbench: %s: %s\n", what, strerror(err));
    exit(2);
}

/* ---- the loops; each returns elapsed ns of its own clock ---- */

static pthread_mutex_t one_mutex = PTHREAD_MUTEX_INITIALIZER;

static uint64_t loop_mutex(pthread_mutex_t *m, long n)
{
    uint64_t t0 = now_ns(CLOCK_THREAD_CPUTIME_ID);
    for (long i = 0; i < n; i++) {
        pthread_mutex_lock(m);
        pthread_mutex_unlock(m);
    }
    return now_ns(CLOCK_THREAD_CPUTIME_ID) - t0;
}

static pthread_mutex_t nest_mutex[NEST];

static uint64_t loop_nested(long n)
{
    uint64_t t0 = now_ns(CLOCK_THREAD_CPUTIME_ID);
    for (long i = 0; i < n; i++) {
        for (int k = 0; k < NEST; k++)
            pthread_mutex_lock(&nest_mutex[k]);
        for (int k = NEST - 1; k >= 0; k--)
            pthread_mutex_unlock(&nest_mutex[k]);
    }
    return now_ns(CLOCK_THREAD_CPUTIME_ID) - t0;
}

static sem_t one_sem;

static uint64_t loop_sem(long n)
{
    uint64_t t0 = now_ns(CLOCK_THREAD_CPUTIME_ID);
    for (long i = 0; i < n; i++) {
        while (sem_wait(&one_sem) != 0 && errno == EINTR)
            ;
        sem_post(&one_sem);
    }
    return now_ns(CLOCK_THREAD_CPUTIME_ID) - t0;
}

static pthread_rwlock_t one_rw = PTHREAD_RWLOCK_INITIALIZER;

static uint64_t loop_rdlock(long n)
{
    uint64_t t0 = now_ns(CLOCK_THREAD_CPUTIME_ID);
    for (long i = 0; i < n; i++) {
        pthread_rwlock_rdlock(&one_rw);
        pthread_rwlock_unlock(&one_rw);
    }
    return now_ns(CLOCK_THREAD_CPUTIME_ID) - t0;
}

/* ---- two-thread cases ---- */

enum kind { K_MUTEX_OWN, K_MUTEX_SHARED, K_RDLOCK_SHARED };

struct worker {
    pthread_t th;
    enum kind kind;
    pthread_mutex_t own; /* its own mutex (uncontended case) */
    pthread_barrier_t *start;
    uint64_t cpu_ns;
    char pad[64];
};

static pthread_mutex_t shared_mutex = PTHREAD_MUTEX_INITIALIZER;

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    pthread_barrier_wait(w->start);
    switch (w->kind) {
    case K_MUTEX_OWN: w->cpu_ns = loop_mutex(&w->own, g_iters); break;
    case K_MUTEX_SHARED: w->cpu_ns = loop_mutex(&shared_mutex, g_iters); break;
    case K_RDLOCK_SHARED: w->cpu_ns = loop_rdlock(g_iters); break;
    }
    return NULL;
}

/* Two threads; returns ns per op: mean per-thread CPU time per op (uncontended)
 * or wall time / all ops of both threads (contended: includes the waiting). */
static double run_two(enum kind kind, int wall)
{
    static struct worker w[2];
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, 3);
    for (int i = 0; i < 2; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].kind = kind;
        w[i].start = &start;
        pthread_mutex_init(&w[i].own, NULL);
        int e = pthread_create(&w[i].th, NULL, worker_main, &w[i]);
        if (e)
            die("pthread_create", e);
    }
    pthread_barrier_wait(&start);
    uint64_t t0 = now_ns(CLOCK_MONOTONIC);
    for (int i = 0; i < 2; i++)
        pthread_join(w[i].th, NULL);
    uint64_t t1 = now_ns(CLOCK_MONOTONIC);
    pthread_barrier_destroy(&start);
    for (int i = 0; i < 2; i++)
        pthread_mutex_destroy(&w[i].own);
    if (wall)
        return (double)(t1 - t0) / (double)(2 * g_iters); /* wall ns per op, both threads' ops counted */
    return (double)(w[0].cpu_ns + w[1].cpu_ns) / 2.0 / (double)g_iters;
}

/* Condition ping-pong: two threads hand a turn back and forth. */
static pthread_mutex_t pp_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pp_cond = PTHREAD_COND_INITIALIZER;
static int pp_turn;
static long pp_rounds;

static void *pp_main(void *arg)
{
    int me = (int)(intptr_t)arg;
    pthread_mutex_lock(&pp_mutex);
    for (long i = 0; i < pp_rounds; i++) {
        while (pp_turn != me)
            pthread_cond_wait(&pp_cond, &pp_mutex);
        pp_turn = !me;
        pthread_cond_broadcast(&pp_cond);
    }
    pthread_mutex_unlock(&pp_mutex);
    return NULL;
}

static double run_pingpong(void)
{
    pthread_t a, b;
    pp_turn = 0;
    pp_rounds = g_iters;
    uint64_t t0 = now_ns(CLOCK_MONOTONIC);
    pthread_create(&a, NULL, pp_main, (void *)(intptr_t)0);
    pthread_create(&b, NULL, pp_main, (void *)(intptr_t)1);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    uint64_t t1 = now_ns(CLOCK_MONOTONIC);
    return (double)(t1 - t0) / (double)(2 * g_iters); /* per hand-over */
}

static double run_case(const char *c)
{
    if (!strcmp(c, "mutex_1t"))
        return (double)loop_mutex(&one_mutex, g_iters) / (double)g_iters;
    if (!strcmp(c, "mutex_2t_uncontended"))
        return run_two(K_MUTEX_OWN, 0);
    if (!strcmp(c, "mutex_nested4"))
        return (double)loop_nested(g_iters) / (double)(g_iters * NEST);
    if (!strcmp(c, "sem_wait_post"))
        return (double)loop_sem(g_iters) / (double)g_iters;
    if (!strcmp(c, "mutex_2t_contended"))
        return run_two(K_MUTEX_SHARED, 1);
    if (!strcmp(c, "rwlock_read_1t"))
        return (double)loop_rdlock(g_iters) / (double)g_iters;
    if (!strcmp(c, "rwlock_read_2t"))
        return run_two(K_RDLOCK_SHARED, 0);
    if (!strcmp(c, "cond_pingpong"))
        return run_pingpong();
    fprintf(stderr, "lockbench: unknown case %s\n", c);
    exit(2);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: lockbench CASE [ITERS] [BATCHES]\n"
                        "cases: mutex_1t mutex_2t_uncontended mutex_nested4 sem_wait_post\n"
                        "       mutex_2t_contended rwlock_read_1t rwlock_read_2t cond_pingpong\n");
        return 2;
    }
    const char *c = argv[1];
    long iters = argc > 2 ? atol(argv[2]) : 1000000;
    int batches = argc > 3 ? atoi(argv[3]) : 5;
    if (iters < 1 || batches < 1)
        return 2;
    for (int k = 0; k < NEST; k++)
        pthread_mutex_init(&nest_mutex[k], NULL);
    sem_init(&one_sem, 0, 1);

    g_iters = iters / 4 > 0 ? iters / 4 : 1; /* warm-up */
    run_case(c);
    g_iters = iters;
    double best = 0;
    for (int b = 0; b < batches; b++) {
        double v = run_case(c);
        if (b == 0 || v < best)
            best = v;
    }
    printf("%s ns_per_op=%.3f batches=%d iters=%ld\n", c, best, batches, iters);
    return 0;
}
