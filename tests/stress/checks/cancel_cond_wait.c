/* checks/cancel_cond_wait.c — issue 6 §3: a condition wait cancelled by pthread_cancel.
 * Thread T waits on (C, M) and is cancelled; glibc re-takes M before T's cleanup handler
 * unlocks it. Afterwards the agent must still know the truth: a fork while thread U holds
 * M gives exactly one live orphan (M, U's TID, mutex) and a child that blocks on M ends
 * with the deadlock status (86); M free at a fork gives no orphan at all.
 * Exit 0 when all holds; 1 otherwise (with a line saying what); 3 no agent. */
#define _GNU_SOURCE
#include "forkwatch_abi.h"

#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t c = PTHREAD_COND_INITIALIZER;
static atomic_int waiting, u_holds, u_release, u_tid;
static const struct fw_registry_header *reg;

static void nap(void)
{
    struct timespec ts = {0, 200000};
    nanosleep(&ts, NULL);
}

static void unlock_m(void *arg)
{
    (void)arg;
    pthread_mutex_unlock(&m);
}

static void *waiter(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&m);
    pthread_cleanup_push(unlock_m, NULL);
    atomic_store(&waiting, 1);
    for (;;)
        pthread_cond_wait(&c, &m);   /* cancellation point */
    pthread_cleanup_pop(1);
    return NULL;
}

static void *holder(void *arg)
{
    (void)arg;
    atomic_store(&u_tid, (int)syscall(SYS_gettid));
    pthread_mutex_lock(&m);
    atomic_store(&u_holds, 1);
    while (!atomic_load(&u_release))
        nap();
    pthread_mutex_unlock(&m);
    return NULL;
}

/* in a child: live orphans as "count, tid of the one for m" */
static int live_orphans(int *tid_for_m)
{
    const struct fw_table_desc *d = &reg->fork_held;
    const char *base = (const char *)reg + d->offset;
    int n = 0;
    *tid_for_m = 0;
    for (uint32_t i = 0; i < d->used && i < d->capacity; i++) {
        const struct fw_fork_held *fh = (const void *)(base + (size_t)i * d->entry_size);
        if (fh->orphan_state != FW_ORPHAN_LIVE)
            continue;
        n++;
        if (fh->lock_addr == (uint64_t)(uintptr_t)&m && fh->kind == FW_KIND_MUTEX)
            *tid_for_m = fh->holder_tid;
    }
    return n;
}

static int wait_bounded(pid_t pid, int seconds)
{
    int st = 0;
    for (long i = 0; waitpid(pid, &st, WNOHANG) == 0; i++) {
        if (i > seconds * 5000L) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            return -1;
        }
        nap();
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int main(void)
{
    reg = dlsym(RTLD_DEFAULT, FW_REGISTRY_SYMBOL);
    if (!reg) {
        puts("no agent");
        return 3;
    }
    int bad = 0;
    for (int round = 0; round < 20; round++) {
        pthread_t t;
        atomic_store(&waiting, 0);
        pthread_create(&t, NULL, waiter, NULL);
        while (!atomic_load(&waiting))
            nap();
        pthread_mutex_lock(&m);   /* succeeds only once T is inside the wait */
        pthread_mutex_unlock(&m);
        pthread_cancel(t);
        pthread_join(t, NULL);
    }
    /* M is free: a fork now must see no orphan */
    pid_t pid = fork();
    if (pid == 0) {
        int tid;
        _exit(live_orphans(&tid) == 0 ? 0 : 1);
    }
    int rc = wait_bounded(pid, 10);
    if (rc != 0) {
        printf("after 20 cancelled condition waits, a fork with M free found live orphans (child %d)\n", rc);
        bad = 1;
    }
    /* U holds M at the fork: exactly one orphan, U's */
    pthread_t u;
    pthread_create(&u, NULL, holder, NULL);
    while (!atomic_load(&u_holds))
        nap();
    pid = fork();
    if (pid == 0) {
        int tid;
        int n = live_orphans(&tid);
        if (n != 1 || tid != atomic_load(&u_tid))
            _exit(10 + (n > 9 ? 9 : n));
        pthread_mutex_lock(&m);   /* the agent must end us with 86 */
        _exit(2);
    }
    rc = wait_bounded(pid, 10);
    atomic_store(&u_release, 1);
    pthread_join(u, NULL);
    if (rc != FW_EXIT_DEADLOCK) {
        printf("fork with M held by U: child status %d (want 86; 1x: x live orphans or not U's; 2: lock "
               "returned; -1: hung)\n", rc);
        bad = 1;
    }
    if (!bad)
        puts("cancelled condition waits leave the agent's records right");
    return bad;
}
