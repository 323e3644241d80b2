/* Reproducer (agent limitation/bug): a lock taken by another thread *between the
 * agent's parent-side snapshot and the real fork* is not an orphan for the agent, so the
 * child that blocks on it hangs silently even under FORKWATCH_ON_DEADLOCK=abort.
 * Thread B takes and drops mutex M in a loop; main forks N times; each child checks M's
 * lock word with trylock: if M is held (B vanished holding it) the child then blocks on it.
 * Expected with the agent: every such child ends with status 86 (fork-deadlock report).
 * Seen: some children hang (killed after 2 s here) and the report has no event for them.
 *   cc -O2 -pthread -o r missed_orphan_race.c && FORKWATCH_QUIET=1 \
 *     LD_PRELOAD=build/libforkwatch.so ./r 200
 * Prints "held-at-fork H, reported 86: R, hung silently: S" and exits 1 when S > 0.
 * Third argument: spins while holding (default 200; fewer = more acquires and releases
 * racing with each fork). Second argument: the kind of lock, mutex (default), rwlock (held for writing),
 * semaphore (binary sem_t, as CPython's locks), mtx (C11) or rwlock-read (held for
 * reading; the child tries and then takes it for writing).
 * A semaphore or read lock names no owner in its lock word: those are caught through the
 * agent's per-thread in-flight marker (fw_thread.h), which this reproducer exercises at both
 * ends (the spinner's acquire and its release race with the fork).
 * Fix idea: build the orphan set in the child from its own copy of the threads table
 * (memory reads only), keeping the parent snapshot for the expensive descriptions. */
#define _GNU_SOURCE
#include <pthread.h>
#include <semaphore.h>
#include <string.h>
#include <threads.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static sem_t s;
static mtx_t c;
static int kind;   /* 0 mutex, 1 rwlock, 2 semaphore, 3 mtx, 4 rwlock-read */
static atomic_int stop;
static int hold_spins = 200;   /* third argument: shorter holds = more racy edges per fork */
static int nspinners = 1;      /* fourth argument: > 1 = contended (acquires that wait in glibc) */

static void take(void)
{
    switch (kind) {
    case 0: pthread_mutex_lock(&m); break;
    case 1: pthread_rwlock_wrlock(&rw); break;
    case 2: while (sem_wait(&s) != 0) {} break;
    case 4: pthread_rwlock_rdlock(&rw); break;
    default: mtx_lock(&c); break;
    }
}

/* In the child: a blocking acquire that waits for the vanished holder. */
static void child_take(void)
{
    if (kind == 4)
        pthread_rwlock_wrlock(&rw);
    else
        take();
}

static int try_take(void)
{
    switch (kind) {
    case 0: return pthread_mutex_trylock(&m) == 0;
    case 1:
    case 4: return pthread_rwlock_trywrlock(&rw) == 0;
    case 2: return sem_trywait(&s) == 0;
    default: return mtx_trylock(&c) == thrd_success;
    }
}

static void drop(void)
{
    switch (kind) {
    case 0: pthread_mutex_unlock(&m); break;
    case 1:
    case 4: pthread_rwlock_unlock(&rw); break;
    case 2: sem_post(&s); break;
    default: mtx_unlock(&c); break;
    }
}

static void *spinner(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop)) {
        take();
        for (volatile int i = 0; i < hold_spins; i++)
            ;
        drop();
    }
    return NULL;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 200;
    const char *k = argc > 2 ? argv[2] : "mutex";
    if (argc > 3)
        hold_spins = atoi(argv[3]);
    if (argc > 4)
        nspinners = atoi(argv[4]) > 0 && atoi(argv[4]) <= 8 ? atoi(argv[4]) : 1;
    kind = !strcmp(k, "rwlock") ? 1 : !strcmp(k, "semaphore") ? 2 : !strcmp(k, "mtx") ? 3 : !strcmp(k, "rwlock-read") ? 4 : 0;
    sem_init(&s, 0, 1);
    mtx_init(&c, mtx_plain);
    int held = 0, reported = 0, hung = 0, other = 0;
    pthread_t t[8];
    for (int i = 0; i < nspinners; i++)
        pthread_create(&t[i], NULL, spinner, NULL);
    for (int i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            if (try_take())
                _exit(0);             /* free at the fork: nothing to see */
            child_take();             /* held by a vanished thread: hangs for ever */
            _exit(1);
        }
        int st = 0, waited = 0;
        while (waitpid(pid, &st, WNOHANG) == 0) {
            if (++waited > 2000) {    /* 2 s */
                kill(pid, SIGKILL);
                waitpid(pid, &st, 0);
                hung++;
                held++;
                st = -1;
                break;
            }
            struct timespec ts = {0, 1000000};
            nanosleep(&ts, NULL);
        }
        if (st == -1)
            continue;
        if (WIFEXITED(st) && WEXITSTATUS(st) == 86)
            reported++, held++;
        else if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0))
            other++;
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < nspinners; i++)
        pthread_join(t[i], NULL);
    printf("%s: forks %d, held-at-fork %d, reported 86: %d, hung silently: %d, other: %d\n", k, n, held, reported, hung,
           other);
    return hung || other ? 1 : 0;
}
