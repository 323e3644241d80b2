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
 * Fix idea: build the orphan set in the child from its own copy of the threads table
 * (memory reads only), keeping the parent snapshot for the expensive descriptions. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static atomic_int stop;

static void *spinner(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop)) {
        pthread_mutex_lock(&m);
        for (volatile int i = 0; i < 200; i++)
            ;
        pthread_mutex_unlock(&m);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 200;
    int held = 0, reported = 0, hung = 0, other = 0;
    pthread_t t;
    pthread_create(&t, NULL, spinner, NULL);
    for (int i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            if (pthread_mutex_trylock(&m) == 0)
                _exit(0);             /* free at the fork: nothing to see */
            pthread_mutex_lock(&m);   /* held by a vanished thread: hangs for ever */
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
    pthread_join(t, NULL);
    printf("forks %d, held-at-fork %d, reported 86: %d, hung silently: %d, other: %d\n", n, held, reported, hung,
           other);
    return hung || other ? 1 : 0;
}
