/* checks/agent_twice.c — issue 6 §3: the agent loaded twice (two copies in LD_PRELOAD,
 * and dlopen()ed again at run time from FW_AGENT_PATH). Locks keep working, and a child
 * that blocks on a mutex another thread held at the fork still ends with 86.
 * Exit 0 when all holds, 1 otherwise, 3 no agent. */
#define _GNU_SOURCE
#include "forkwatch_abi.h"

#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static pthread_cond_t c = PTHREAD_COND_INITIALIZER;
static atomic_int holding, release_it;

static void nap(void)
{
    struct timespec ts = {0, 200000};
    nanosleep(&ts, NULL);
}

static void *holder(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&m);
    atomic_store(&holding, 1);
    while (!atomic_load(&release_it))
        nap();
    pthread_mutex_unlock(&m);
    return NULL;
}

int main(void)
{
    if (!dlsym(RTLD_DEFAULT, FW_REGISTRY_SYMBOL)) {
        puts("no agent");
        return 3;
    }
    const char *again = getenv("FW_AGENT_PATH");
    void *h = again ? dlopen(again, RTLD_NOW | RTLD_GLOBAL) : NULL;
    if (again && !h) {
        printf("dlopen(%s): %s\n", again, dlerror());
        return 1;
    }
    /* some traffic through every kind, including a timed condition wait */
    for (int i = 0; i < 1000; i++) {
        pthread_mutex_lock(&m);
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        if (i % 100 == 0)
            pthread_cond_timedwait(&c, &m, &ts);
        pthread_mutex_unlock(&m);
        pthread_rwlock_rdlock(&rw);
        pthread_rwlock_unlock(&rw);
    }
    pthread_t t;
    pthread_create(&t, NULL, holder, NULL);
    while (!atomic_load(&holding))
        nap();
    pid_t pid = fork();
    if (pid == 0) {
        pthread_mutex_lock(&m);
        _exit(2);
    }
    int st = 0;
    long i;
    for (i = 0; waitpid(pid, &st, WNOHANG) == 0 && i < 20L * 5000; i++)
        nap();
    if (i >= 20L * 5000) {
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
        puts("child blocked on the orphaned mutex for 20 s: not caught");
        atomic_store(&release_it, 1);
        pthread_join(t, NULL);
        return 1;
    }
    atomic_store(&release_it, 1);
    pthread_join(t, NULL);
    int rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    printf("agent loaded twice%s: child status %d (want %d)\n", h ? " and dlopen()ed again" : "", rc,
           FW_EXIT_DEADLOCK);
    return rc == FW_EXIT_DEADLOCK ? 0 : 1;
}
