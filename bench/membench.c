/*
 * membench — resident memory for `make bench` (issue 5, group 4).
 *
 *   membench LOCKS THREADS
 *
 * Initialises LOCKS live locks (a mix: pthread mutexes, rwlocks, semaphores),
 * takes and releases each once from the main thread, starts THREADS threads of
 * which the first min(LOCKS, THREADS) each hold one of the locks (the rest
 * hold nothing), and while they all wait reads this process's resident memory.
 * Prints one line:
 *   rss_kb=<VmRSS> anon_kb=<RssAnon> file_kb=<RssFile> locks=<n> threads=<n> held=<n>
 *   registry_bytes=<sizeof(struct fw_registry)> agent=<0|1> agent_flags=<hex>
 * agent=1 when the agent's registry symbol is found in the process (the harness
 * uses this to check that the preload really took effect).
 * The harness runs it with and without the agent; the difference is the agent's.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../agent/forkwatch_abi.h"

union anylock {
    pthread_mutex_t m;
    pthread_rwlock_t rw;
    sem_t s;
};

static union anylock *locks;
static long nlocks;
static pthread_barrier_t holding, release;

static void take(long i)
{
    switch (i % 3) {
    case 0: pthread_mutex_lock(&locks[i].m); break;
    case 1: pthread_rwlock_wrlock(&locks[i].rw); break;
    default: sem_wait(&locks[i].s); break;
    }
}

static void drop(long i)
{
    switch (i % 3) {
    case 0: pthread_mutex_unlock(&locks[i].m); break;
    case 1: pthread_rwlock_unlock(&locks[i].rw); break;
    default: sem_post(&locks[i].s); break;
    }
}

static void *thread_main(void *arg)
{
    long me = (long)(intptr_t)arg;
    if (me < nlocks)
        take(me);
    pthread_barrier_wait(&holding);
    pthread_barrier_wait(&release);
    if (me < nlocks)
        drop(me);
    return NULL;
}

static long status_kb(const char *buf, const char *key)
{
    const char *p = strstr(buf, key);
    return p ? atol(p + strlen(key)) : -1;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: membench LOCKS THREADS\n");
        return 2;
    }
    nlocks = atol(argv[1]);
    int nthreads = atoi(argv[2]);
    if (nlocks < 0 || nthreads < 0)
        return 2;
    locks = calloc((size_t)(nlocks ? nlocks : 1), sizeof *locks);
    for (long i = 0; i < nlocks; i++) {
        switch (i % 3) {
        case 0: pthread_mutex_init(&locks[i].m, NULL); break;
        case 1: pthread_rwlock_init(&locks[i].rw, NULL); break;
        default: sem_init(&locks[i].s, 0, 1); break;
        }
        take(i);
        drop(i);
    }
    pthread_barrier_init(&holding, NULL, (unsigned)nthreads + 1);
    pthread_barrier_init(&release, NULL, (unsigned)nthreads + 1);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    pthread_t *th = calloc((size_t)(nthreads ? nthreads : 1), sizeof *th);
    for (int t = 0; t < nthreads; t++) {
        if (pthread_create(&th[t], &attr, thread_main, (void *)(intptr_t)t) != 0) {
            fprintf(stderr, "membench: pthread_create failed at %d\n", t);
            _exit(2);
        }
    }
    pthread_barrier_wait(&holding);

    char buf[8192];
    FILE *f = fopen("/proc/self/status", "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = 0;
    long held = nlocks < nthreads ? nlocks : nthreads;
    const struct fw_registry_header *reg = dlsym(RTLD_DEFAULT, FW_REGISTRY_SYMBOL);
    int agent = reg && reg->magic == FW_MAGIC;
    printf("rss_kb=%ld anon_kb=%ld file_kb=%ld locks=%ld threads=%d held=%ld registry_bytes=%zu "
           "agent=%d agent_flags=0x%x\n",
           status_kb(buf, "VmRSS:"), status_kb(buf, "RssAnon:"), status_kb(buf, "RssFile:"), nlocks,
           nthreads, held, sizeof(struct fw_registry), agent, agent ? reg->flags : 0u);

    pthread_barrier_wait(&release);
    for (int t = 0; t < nthreads; t++)
        pthread_join(th[t], NULL);
    return 0;
}
