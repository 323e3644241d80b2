/* Reproducer (agent bug): the child keeps the parent-side snapshot's holder of a lock
 * even when that thread released it and another took it before the real fork.
 * A pthread_atfork prepare handler (run by the real fork(), after the agent's
 * snapshot) makes thread A release mutex M and thread B take it. In the child M is
 * held by B; the agent's live orphan for M must name B's TID. Seen: it names A (the
 * snapshot entry wins because the child's re-scan skips addresses already present).
 *   cc -pthread -Iagent -o r tests/stress/repro/stale_holder_atfork.c -ldl &&
 *   LD_PRELOAD=build/libforkwatch.so ./r
 * Exit 0: holder is B; 1: names another thread; 2: no live orphan for M; 3: no agent.
 * Argument: the kind of lock, mutex (default), rwlock (write), semaphore, mtx (C11). */
#define _GNU_SOURCE
#include "forkwatch_abi.h"

#include <dlfcn.h>
#include <pthread.h>
#include <semaphore.h>
#include <string.h>
#include <threads.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static sem_t s;
static mtx_t c;
static int kind;   /* 0 mutex, 1 rwlock, 2 semaphore, 3 mtx */

static void *lock_addr(void)
{
    return kind == 0 ? (void *)&m : kind == 1 ? (void *)&rw : kind == 2 ? (void *)&s : (void *)&c;
}

static void take(void)
{
    switch (kind) {
    case 0: pthread_mutex_lock(&m); break;
    case 1: pthread_rwlock_wrlock(&rw); break;
    case 2: while (sem_wait(&s) != 0) {} break;
    default: mtx_lock(&c); break;
    }
}

static void drop(void)
{
    switch (kind) {
    case 0: pthread_mutex_unlock(&m); break;
    case 1: pthread_rwlock_unlock(&rw); break;
    case 2: sem_post(&s); break;
    default: mtx_unlock(&c); break;
    }
}
static atomic_int stage;          /* 1 A holds M; 2 A: release; 3 A released; 4 B holds M; 9 end */
static atomic_int tid_a, tid_b;

static void pause_a_bit(void)
{
    struct timespec ts = {0, 100000};
    nanosleep(&ts, NULL);
}

static void *thread_a(void *arg)
{
    (void)arg;
    atomic_store(&tid_a, (int)syscall(SYS_gettid));
    take();
    atomic_store(&stage, 1);
    while (atomic_load(&stage) < 2)
        pause_a_bit();
    drop();
    atomic_store(&stage, 3);
    return NULL;
}

static void *thread_b(void *arg)
{
    (void)arg;
    atomic_store(&tid_b, (int)syscall(SYS_gettid));
    while (atomic_load(&stage) < 3)
        pause_a_bit();
    take();
    atomic_store(&stage, 4);
    while (atomic_load(&stage) < 9)
        pause_a_bit();
    drop();
    return NULL;
}

static void prepare(void)
{
    /* runs inside the real fork(), after the agent's snapshot saw A holding M */
    atomic_store(&stage, 2);
    while (atomic_load(&stage) < 4)
        pause_a_bit();
}

int main(int argc, char **argv)
{
    const char *k = argc > 1 ? argv[1] : "mutex";
    kind = !strcmp(k, "rwlock") ? 1 : !strcmp(k, "semaphore") ? 2 : !strcmp(k, "mtx") ? 3 : 0;
    sem_init(&s, 0, 1);
    mtx_init(&c, mtx_plain);
    const struct fw_registry_header *h = dlsym(RTLD_DEFAULT, FW_REGISTRY_SYMBOL);
    if (!h) {
        puts("no agent");
        return 3;
    }
    pthread_t a, b;
    pthread_create(&a, NULL, thread_a, NULL);
    pthread_create(&b, NULL, thread_b, NULL);
    while (atomic_load(&stage) < 1)
        pause_a_bit();
    pthread_atfork(prepare, NULL, NULL);
    pid_t pid = fork();
    if (pid == 0) {
        const struct fw_table_desc *d = &h->fork_held;
        const char *base = (const char *)h + d->offset;
        for (uint32_t i = 0; i < d->used && i < d->capacity; i++) {
            const struct fw_fork_held *fh = (const void *)(base + (size_t)i * d->entry_size);
            if (fh->lock_addr == (uint64_t)(uintptr_t)lock_addr() && fh->orphan_state == FW_ORPHAN_LIVE)
                _exit(fh->holder_tid == atomic_load(&tid_b) ? 0 : 10 + (fh->holder_tid == atomic_load(&tid_a)));
        }
        _exit(2);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    atomic_store(&stage, 9);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    int rc = WIFEXITED(st) ? WEXITSTATUS(st) : 100;
    printf("%s: A tid %d, B tid %d: the child's live orphan %s\n", k, atomic_load(&tid_a), atomic_load(&tid_b),
           rc == 0 ? "names B (right)" : rc == 11 ? "names A, which released it (wrong)" :
           rc == 10 ? "names another thread (wrong)" : rc == 2 ? "is missing" : "could not be checked");
    return rc == 0 ? 0 : rc == 2 ? 2 : 1;
}
