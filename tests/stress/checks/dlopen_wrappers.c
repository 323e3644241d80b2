/* checks/dlopen_wrappers.c — issue 6 §3: a program that dlopen()s a library with its own
 * lock wrappers (FW_CHECK_LIB, built from dlopen_wrappers_lib.c), once RTLD_LOCAL and once
 * RTLD_GLOBAL, and takes locks both directly and through the library's wrapper. No
 * recursion, no hang; the mutex a thread took directly is still an orphan at a fork
 * (child ends with 86); whether the one taken through the library's wrapper is tracked is
 * printed (the wrapper calls the next definition after itself, which may skip the agent).
 * Exit 0 when all holds, 1 otherwise, 3 no agent / no library. */
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

static pthread_mutex_t m_direct = PTHREAD_MUTEX_INITIALIZER, m_wrapped = PTHREAD_MUTEX_INITIALIZER;
static int (*lib_lock)(pthread_mutex_t *), (*lib_unlock)(pthread_mutex_t *);
static atomic_int held, release_it;
static const struct fw_registry_header *reg;

static void nap(void)
{
    struct timespec ts = {0, 200000};
    nanosleep(&ts, NULL);
}

static void *direct(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&m_direct);
    atomic_fetch_add(&held, 1);
    while (!atomic_load(&release_it))
        nap();
    pthread_mutex_unlock(&m_direct);
    return NULL;
}

static void *wrapped(void *arg)
{
    (void)arg;
    lib_lock(&m_wrapped);
    atomic_fetch_add(&held, 1);
    while (!atomic_load(&release_it))
        nap();
    lib_unlock(&m_wrapped);
    return NULL;
}

static int live(const void *lock)
{
    const struct fw_table_desc *d = &reg->fork_held;
    const char *base = (const char *)reg + d->offset;
    for (uint32_t i = 0; i < d->used && i < d->capacity; i++) {
        const struct fw_fork_held *fh = (const void *)(base + (size_t)i * d->entry_size);
        if (fh->lock_addr == (uint64_t)(uintptr_t)lock && fh->orphan_state == FW_ORPHAN_LIVE)
            return 1;
    }
    return 0;
}

static int one_round(int mode)
{
    const char *path = getenv("FW_CHECK_LIB");
    void *h = dlopen(path, RTLD_NOW | mode);
    if (!h) {
        printf("dlopen %s: %s\n", path, dlerror());
        return 3;
    }
    lib_lock = (int (*)(pthread_mutex_t *))dlsym(h, "pthread_mutex_lock");
    lib_unlock = (int (*)(pthread_mutex_t *))dlsym(h, "pthread_mutex_unlock");
    int (*work)(void) = (int (*)(void))dlsym(h, "lib_work");
    atomic_long *calls = dlsym(h, "lib_wrapper_calls");
    for (int i = 0; i < 1000; i++)
        work();
    atomic_store(&held, 0);
    atomic_store(&release_it, 0);
    pthread_t a, b;
    pthread_create(&a, NULL, direct, NULL);
    pthread_create(&b, NULL, wrapped, NULL);
    while (atomic_load(&held) < 2)
        nap();
    pid_t pid = fork();
    if (pid == 0) {
        int tracked = live(&m_wrapped);
        if (!live(&m_direct))
            _exit(20 + tracked);
        printf("  %s: mutex taken through the library's wrapper %s\n", mode == RTLD_GLOBAL ? "RTLD_GLOBAL" : "RTLD_LOCAL",
               tracked ? "is an orphan too" : "is not tracked (the wrapper skips the agent)");
        fflush(stdout);
        pthread_mutex_lock(&m_direct);
        _exit(2);
    }
    int st = 0;
    long i;
    for (i = 0; waitpid(pid, &st, WNOHANG) == 0 && i < 20L * 5000; i++)
        nap();
    if (i >= 20L * 5000) {
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
    }
    atomic_store(&release_it, 1);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    int rc = i >= 20L * 5000 ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    if (rc != FW_EXIT_DEADLOCK) {
        printf("  %s: child status %d, want %d (2x: the directly taken mutex is no orphan; -1 hung)\n",
               mode == RTLD_GLOBAL ? "RTLD_GLOBAL" : "RTLD_LOCAL", rc, FW_EXIT_DEADLOCK);
        return 1;
    }
    if (!calls || atomic_load(calls) == 0) {
        puts("  the library's wrapper was never called: the check tested nothing");
        return 1;
    }
    return 0;
}

int main(void)
{
    reg = dlsym(RTLD_DEFAULT, FW_REGISTRY_SYMBOL);
    if (!reg || !getenv("FW_CHECK_LIB")) {
        puts("no agent or no FW_CHECK_LIB");
        return 3;
    }
    int bad = one_round(RTLD_LOCAL);
    bad |= one_round(RTLD_GLOBAL);
    puts(bad ? "dlopen()ed lock wrappers: FAILED" : "dlopen()ed lock wrappers: no recursion, no hang, direct orphan caught");
    return bad;
}
