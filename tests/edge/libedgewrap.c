/* libedgewrap.c — a library with its own pthread_mutex_lock/unlock wrappers that
 * count calls and forward through dlsym(RTLD_NEXT) (as many tracing and
 * profiling libraries do). Preloaded before or after the agent, or dlopen()ed. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>

__attribute__((visibility("default"))) atomic_long edgewrap_locks, edgewrap_unlocks;

__attribute__((visibility("default"))) int pthread_mutex_lock(pthread_mutex_t *m)
{
    static int (*next)(pthread_mutex_t *);
    if (!next)
        next = (int (*)(pthread_mutex_t *))dlsym(RTLD_NEXT, "pthread_mutex_lock");
    atomic_fetch_add(&edgewrap_locks, 1);
    return next(m);
}

__attribute__((visibility("default"))) int pthread_mutex_unlock(pthread_mutex_t *m)
{
    static int (*next)(pthread_mutex_t *);
    if (!next)
        next = (int (*)(pthread_mutex_t *))dlsym(RTLD_NEXT, "pthread_mutex_unlock");
    atomic_fetch_add(&edgewrap_unlocks, 1);
    return next(m);
}
