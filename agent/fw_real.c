/* fw_real.c — see fw_real.h. */
#include "fw_real.h"
#include "fw_orphan.h"

#include <dlfcn.h>
#include <gnu/libc-version.h>
#include <stdlib.h>
#include <string.h>

/* glibc still exports these old aliases (GLIBC_2.2.5, not default versions);
 * .symver binds to them without dlsym, so a lock op that arrives while we are
 * still resolving (dlsym may allocate) has a real function to go to. */
extern int fw_glibc_mutex_lock(pthread_mutex_t *);
extern int fw_glibc_mutex_unlock(pthread_mutex_t *);
__asm__(".symver fw_glibc_mutex_lock, __pthread_mutex_lock@GLIBC_2.2.5");
__asm__(".symver fw_glibc_mutex_unlock, __pthread_mutex_unlock@GLIBC_2.2.5");

struct fw_real_fns fw_real = {
    .mutex_lock = fw_glibc_mutex_lock,
    .mutex_unlock = fw_glibc_mutex_unlock,
};

int fw_mutex_inline_ok;
int fw_sem_inline_ok;
int fw_rwlock_inline_ok;
int fw_hot_mutex = 1;   /* blocked until fw_real_resolve has decided */
int fw_hot_sem = 1;
int fw_hot_rwlock = 1;

void fw_hot_refresh(void)
{
    /* plain stores: each word is read whole; a thread that sees a stale value
     * takes the general path, which reads the inputs themselves */
    int orphans = fw_orphans_active != 0;
    fw_hot_mutex = (fw_mutex_inline_ok == 0) | orphans;
    fw_hot_sem = (fw_sem_inline_ok == 0) | orphans;
    fw_hot_rwlock = (fw_rwlock_inline_ok == 0) | orphans;
}
static int fw_glibc_minor_between(int next_is_glibc, long lo, long hi);

/* glibc 2.17-2.41 share the default mutex's protocol (nptl/pthread_mutex_lock.c,
 * lowlevellock.h): __kind 0 = private PTHREAD_MUTEX_TIMED_NP without elision;
 * lock word 0 free / 1 locked / 2 locked with waiters; __owner = TID and
 * ++__nusers after the acquire; unlock: __owner = 0, --__nusers, exchange 0 and
 * FUTEX_WAKE one waiter if it was 2; single-threaded processes use plain stores.
 * Anything else (other glibc, another interposer after us, elision asked for)
 * keeps calling glibc. */
static int fw_mutex_inline_allowed(int next_is_glibc)
{
    return fw_glibc_minor_between(next_is_glibc, 17, 41);
}

static long glibc_minor(void)
{
    const char *v = gnu_get_libc_version();
    if (!v || strncmp(v, "2.", 2) != 0)
        return 0;
    return strtol(v + 2, 0, 10);
}

static int fw_glibc_minor_between(int next_is_glibc, long lo, long hi)
{
    if (!next_is_glibc)
        return 0;
    long minor = glibc_minor();
    if (minor < lo || minor > hi)
        return 0;
    const char *tun = secure_getenv("GLIBC_TUNABLES");
    if (tun && strstr(tun, "elision"))
        return 0;
    return 1;
}

/* Is fn defined in glibc's libc.so.6 (not in another interposer)? */
static int in_libc(void *fn)
{
    Dl_info info;
    if (!fn || !dladdr(fn, &info) || !info.dli_fname)
        return 0;
    const char *base = strrchr(info.dli_fname, '/');
    base = base ? base + 1 : info.dli_fname;
    return strcmp(base, "libc.so.6") == 0;
}

/* nptl/sem_waitcommon.c, sem_post.c (2.21+, 64-bit atomics): a free semaphore
 * is taken by a CAS value -> value-1 (acquire); a post with no waiter
 * registered is a CAS value -> value+1 (release) and wakes nobody. */
static int fw_sem_inline_allowed(void)
{
#if defined(__x86_64__) || defined(__aarch64__)
    return fw_glibc_minor_between(in_libc((void *)fw_real.sem_wait) && in_libc((void *)fw_real.sem_post) &&
                                  in_libc((void *)fw_real.sem_trywait), 21, 41);
#else
    return 0;
#endif
}

/* nptl/pthread_rwlock_common.c (the rwlock rewritten in 2.25, unchanged in its
 * reader fast path since): in a read phase with no writer and no waiting flag
 * (__readers & 7 == 0), rdlock and tryrdlock register the reader by adding 8
 * (acquire) and return; rdunlock of a reader that leaves other readers, or of
 * a lock without flags, subtracts 8 (release) and wakes nobody. The layout
 * (__readers first) is the same on x86-64 and aarch64. */
static int fw_rwlock_inline_allowed(void)
{
#if defined(__x86_64__) || defined(__aarch64__)
    return fw_glibc_minor_between(in_libc((void *)fw_real.rwlock_rdlock) &&
                                  in_libc((void *)fw_real.rwlock_tryrdlock) &&
                                  in_libc((void *)fw_real.rwlock_unlock), 25, 41);
#else
    return 0;
#endif
}

static void *next(const char *name)
{
    return dlsym(RTLD_NEXT, name);
}

static void *next_cond(const char *name)
{
    void *p = dlvsym(RTLD_NEXT, name, "GLIBC_2.3.2");
    return p ? p : dlsym(RTLD_NEXT, name);
}

#define BIND(field, name) \
    do { void *p_ = next(name); if (p_) __atomic_store_n((void **)&fw_real.field, p_, __ATOMIC_RELEASE); } while (0)

void fw_real_resolve(void)
{
    static int done;
    if (__atomic_load_n(&done, __ATOMIC_ACQUIRE))
        return;
    BIND(mutex_trylock, "pthread_mutex_trylock");
    BIND(mutex_timedlock, "pthread_mutex_timedlock");
    BIND(mutex_clocklock, "pthread_mutex_clocklock");
    BIND(mutex_init, "pthread_mutex_init");
    BIND(mutex_destroy, "pthread_mutex_destroy");
    BIND(rwlock_rdlock, "pthread_rwlock_rdlock");
    BIND(rwlock_tryrdlock, "pthread_rwlock_tryrdlock");
    BIND(rwlock_timedrdlock, "pthread_rwlock_timedrdlock");
    BIND(rwlock_clockrdlock, "pthread_rwlock_clockrdlock");
    BIND(rwlock_wrlock, "pthread_rwlock_wrlock");
    BIND(rwlock_trywrlock, "pthread_rwlock_trywrlock");
    BIND(rwlock_timedwrlock, "pthread_rwlock_timedwrlock");
    BIND(rwlock_clockwrlock, "pthread_rwlock_clockwrlock");
    BIND(rwlock_unlock, "pthread_rwlock_unlock");
    BIND(rwlock_init, "pthread_rwlock_init");
    BIND(rwlock_destroy, "pthread_rwlock_destroy");
    void *p;
    if ((p = next_cond("pthread_cond_wait"))) fw_real.cond_wait = p;
    if ((p = next_cond("pthread_cond_timedwait"))) fw_real.cond_timedwait = p;
    if ((p = next("pthread_cond_clockwait"))) fw_real.cond_clockwait = p;   /* 2.30+, one version */
    BIND(mtx_lock, "mtx_lock");
    BIND(mtx_trylock, "mtx_trylock");
    BIND(mtx_timedlock, "mtx_timedlock");
    BIND(mtx_unlock, "mtx_unlock");
    BIND(mtx_init, "mtx_init");
    BIND(mtx_destroy, "mtx_destroy");
    BIND(cnd_wait, "cnd_wait");
    BIND(cnd_timedwait, "cnd_timedwait");
    BIND(sem_wait, "sem_wait");
    BIND(sem_trywait, "sem_trywait");
    BIND(sem_timedwait, "sem_timedwait");
    BIND(sem_clockwait, "sem_clockwait");
    BIND(sem_post, "sem_post");
    BIND(sem_init, "sem_init");
    BIND(sem_destroy, "sem_destroy");
    BIND(fork, "fork");
    BIND(underscore_fork, "_Fork");
    BIND(forkpty, "forkpty");
    BIND(setname_np, "pthread_setname_np");
    /* The default-version lock/unlock last: until now the aliases served. */
    BIND(mutex_lock, "pthread_mutex_lock");
    BIND(mutex_unlock, "pthread_mutex_unlock");
    fw_sem_inline_ok = fw_sem_inline_allowed();
    fw_rwlock_inline_ok = fw_rwlock_inline_allowed();
    fw_mutex_inline_ok = fw_mutex_inline_allowed(fw_real.mutex_lock == fw_glibc_mutex_lock &&
                                                 fw_real.mutex_unlock == fw_glibc_mutex_unlock);
    fw_hot_refresh();
    __atomic_store_n(&done, 1, __ATOMIC_RELEASE);
}
