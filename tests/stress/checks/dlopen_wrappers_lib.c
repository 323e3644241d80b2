/* checks/dlopen_wrappers_lib.c — a library with its own pthread_mutex_lock/unlock
 * wrappers (as some profilers and allocators have), dlopen()ed by dlopen_wrappers.c. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>

static int (*next_lock)(pthread_mutex_t *);
static int (*next_unlock)(pthread_mutex_t *);
atomic_long lib_wrapper_calls;
static pthread_mutex_t lib_own = PTHREAD_MUTEX_INITIALIZER;

int pthread_mutex_lock(pthread_mutex_t *m)
{
    if (!next_lock)
        next_lock = (int (*)(pthread_mutex_t *))dlsym(RTLD_NEXT, "pthread_mutex_lock");
    atomic_fetch_add(&lib_wrapper_calls, 1);
    return next_lock(m);
}

int pthread_mutex_unlock(pthread_mutex_t *m)
{
    if (!next_unlock)
        next_unlock = (int (*)(pthread_mutex_t *))dlsym(RTLD_NEXT, "pthread_mutex_unlock");
    atomic_fetch_add(&lib_wrapper_calls, 1);
    return next_unlock(m);
}

/* work inside the library that takes its own lock */
int lib_work(void)
{
    pthread_mutex_lock(&lib_own);
    pthread_mutex_unlock(&lib_own);
    return 0;
}
