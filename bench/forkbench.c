/*
 * forkbench — fork() latency for `make bench` (issue 5, group 3).
 *
 *   forkbench THREADS HELD [FORKS]
 *
 * Starts THREADS threads; HELD mutexes are locked by those threads (spread
 * round-robin) and stay held on purpose while the main thread forks FORKS
 * times. Each child _exit(0)s at once after writing the time it started
 * running to a pipe. Prints one line:
 *   fork_us=<median parent-side fork() time> child_us=<median fork-call to
 *   child-running time> forks=<n> threads=<n> held=<n>
 * Afterwards the threads release their locks and are joined; every child is
 * reaped. Everything is bounded: a child that does not report within 10 s is
 * killed by PID.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static pthread_barrier_t locked_all, release_all;
static pthread_mutex_t *locks;
static int nthreads, nheld;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void *thread_main(void *arg)
{
    int me = (int)(intptr_t)arg;
    for (int i = me; i < nheld; i += nthreads)
        pthread_mutex_lock(&locks[i]);
    pthread_barrier_wait(&locked_all);
    pthread_barrier_wait(&release_all);
    for (int i = me; i < nheld; i += nthreads)
        pthread_mutex_unlock(&locks[i]);
    return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: forkbench THREADS HELD [FORKS]\n");
        return 2;
    }
    nthreads = atoi(argv[1]);
    nheld = atoi(argv[2]);
    int nforks = argc > 3 ? atoi(argv[3]) : 30;
    if (nthreads < 1 || nheld < 0 || nforks < 1)
        return 2;

    locks = calloc((size_t)(nheld ? nheld : 1), sizeof *locks);
    for (int i = 0; i < nheld; i++)
        pthread_mutex_init(&locks[i], NULL);
    pthread_barrier_init(&locked_all, NULL, (unsigned)nthreads + 1);
    pthread_barrier_init(&release_all, NULL, (unsigned)nthreads + 1);

    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    pthread_t *th = calloc((size_t)nthreads, sizeof *th);
    for (int t = 0; t < nthreads; t++) {
        int e = pthread_create(&th[t], &attr, thread_main, (void *)(intptr_t)t);
        if (e) {
            fprintf(stderr, "forkbench: pthread_create: %s\n", strerror(e));
            _exit(2); /* threads blocked in a barrier: do not wait for them */
        }
    }
    pthread_barrier_wait(&locked_all);

    uint64_t *fork_ns = calloc((size_t)nforks, sizeof *fork_ns);
    uint64_t *child_ns = calloc((size_t)nforks, sizeof *child_ns);
    int failed = 0;
    for (int k = 0; k < nforks; k++) {
        int pfd[2];
        if (pipe(pfd) != 0) {
            failed = 1;
            break;
        }
        uint64_t t0 = now_ns();
        pid_t pid = fork();
        if (pid == 0) {
            uint64_t tc = now_ns();
            ssize_t w = write(pfd[1], &tc, sizeof tc);
            _exit(w == (ssize_t)sizeof tc ? 0 : 1);
        }
        uint64_t t1 = now_ns();
        close(pfd[1]);
        if (pid < 0) {
            fprintf(stderr, "forkbench: fork: %s\n", strerror(errno));
            close(pfd[0]);
            failed = 1;
            break;
        }
        uint64_t tc = 0;
        struct pollfd p = {.fd = pfd[0], .events = POLLIN};
        if (poll(&p, 1, 10000) != 1 || read(pfd[0], &tc, sizeof tc) != (ssize_t)sizeof tc) {
            kill(pid, SIGKILL);
            failed = 1;
        }
        close(pfd[0]);
        int st;
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
            ;
        fork_ns[k] = t1 - t0;
        child_ns[k] = tc > t0 ? tc - t0 : 0;
        if (failed)
            break;
    }

    pthread_barrier_wait(&release_all);
    for (int t = 0; t < nthreads; t++)
        pthread_join(th[t], NULL);
    if (failed)
        return 1;
    qsort(fork_ns, (size_t)nforks, sizeof *fork_ns, cmp_u64);
    qsort(child_ns, (size_t)nforks, sizeof *child_ns, cmp_u64);
    printf("fork_us=%.2f child_us=%.2f forks=%d threads=%d held=%d\n", fork_ns[nforks / 2] / 1e3,
           child_ns[nforks / 2] / 1e3, nforks, nthreads, nheld);
    return 0;
}
