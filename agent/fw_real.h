/* fw_real.h — pointers to the real (glibc) functions we interpose. */
#ifndef FW_REAL_H
#define FW_REAL_H

#include <pthread.h>
#include <stddef.h>
#include <semaphore.h>
#include <threads.h>
#include <time.h>
#include <sys/types.h>

struct termios;
struct winsize;

struct fw_real_fns {
    int (*mutex_lock)(pthread_mutex_t *);
    int (*mutex_trylock)(pthread_mutex_t *);
    int (*mutex_timedlock)(pthread_mutex_t *, const struct timespec *);
    int (*mutex_clocklock)(pthread_mutex_t *, clockid_t, const struct timespec *);
    int (*mutex_unlock)(pthread_mutex_t *);
    int (*mutex_init)(pthread_mutex_t *, const pthread_mutexattr_t *);
    int (*mutex_destroy)(pthread_mutex_t *);

    int (*rwlock_rdlock)(pthread_rwlock_t *);
    int (*rwlock_tryrdlock)(pthread_rwlock_t *);
    int (*rwlock_timedrdlock)(pthread_rwlock_t *, const struct timespec *);
    int (*rwlock_clockrdlock)(pthread_rwlock_t *, clockid_t, const struct timespec *);
    int (*rwlock_wrlock)(pthread_rwlock_t *);
    int (*rwlock_trywrlock)(pthread_rwlock_t *);
    int (*rwlock_timedwrlock)(pthread_rwlock_t *, const struct timespec *);
    int (*rwlock_clockwrlock)(pthread_rwlock_t *, clockid_t, const struct timespec *);
    int (*rwlock_unlock)(pthread_rwlock_t *);
    int (*rwlock_init)(pthread_rwlock_t *, const pthread_rwlockattr_t *);
    int (*rwlock_destroy)(pthread_rwlock_t *);

    int (*cond_wait)(pthread_cond_t *, pthread_mutex_t *);
    int (*cond_timedwait)(pthread_cond_t *, pthread_mutex_t *, const struct timespec *);
    int (*cond_clockwait)(pthread_cond_t *, pthread_mutex_t *, clockid_t, const struct timespec *);

    int (*mtx_lock)(mtx_t *);
    int (*mtx_trylock)(mtx_t *);
    int (*mtx_timedlock)(mtx_t *__restrict, const struct timespec *__restrict);
    int (*mtx_unlock)(mtx_t *);
    int (*mtx_init)(mtx_t *, int);
    void (*mtx_destroy)(mtx_t *);
    int (*cnd_wait)(cnd_t *, mtx_t *);
    int (*cnd_timedwait)(cnd_t *__restrict, mtx_t *__restrict, const struct timespec *__restrict);

    int (*sem_wait)(sem_t *);
    int (*sem_trywait)(sem_t *);
    int (*sem_timedwait)(sem_t *, const struct timespec *);
    int (*sem_clockwait)(sem_t *, clockid_t, const struct timespec *);
    int (*sem_post)(sem_t *);
    int (*sem_init)(sem_t *, int, unsigned int);
    int (*sem_destroy)(sem_t *);

    pid_t (*fork)(void);
    pid_t (*underscore_fork)(void);
    pid_t (*forkpty)(int *, char *, const struct termios *, const struct winsize *);
    int (*setname_np)(pthread_t, const char *);
};

extern struct fw_real_fns fw_real __attribute__((visibility("hidden")));

/* Resolves every pointer (dlsym RTLD_NEXT; condition variables bound to
 * GLIBC_2.3.2). Safe to call more than once and from any thread. Until it has
 * run, mutex lock/unlock point at glibc's exported internal aliases so that a
 * lock taken by dlsym itself cannot recurse into us. */
void fw_real_resolve(void);

/* mutex_lock and mutex_unlock are never NULL (bound statically to glibc's
 * aliases until resolved): no check for them (folded at compile time). */
#define FW_REAL_PREBOUND(name) \
    (offsetof(struct fw_real_fns, name) == offsetof(struct fw_real_fns, mutex_lock) || \
     offsetof(struct fw_real_fns, name) == offsetof(struct fw_real_fns, mutex_unlock))
/* Non-zero when pthread_mutex_lock/unlock of a default mutex may run glibc's own
 * uncontended fast path inlined in the agent (fw_mutex_inline.h): set by
 * fw_real_resolve() only for a glibc whose mutex protocol we know, when the next
 * pthread_mutex_lock/unlock in the lookup chain are glibc's, and no elision tunable. */
extern int fw_mutex_inline_ok __attribute__((visibility("hidden")));
/* The same for sem_wait/sem_post (glibc 2.21+ 64-bit semaphores: value in the
 * low 32 bits of `data`, waiters in the high 32). */
extern int fw_sem_inline_ok __attribute__((visibility("hidden")));
/* The same for the reader side of pthread_rwlock_rdlock/tryrdlock/unlock (glibc
 * 2.25+ rwlock: __readers = phase/flag bits and the reader count from bit 3). */
extern int fw_rwlock_inline_ok __attribute__((visibility("hidden")));

/* The hot paths' one global test per lock family: 0 when its inline fast path
 * may run and no orphan is live (fw_orphans_active == 0). Derived words, kept
 * current by fw_hot_refresh() wherever their inputs change. */
extern int fw_hot_mutex __attribute__((visibility("hidden")));
extern int fw_hot_sem __attribute__((visibility("hidden")));
extern int fw_hot_rwlock __attribute__((visibility("hidden")));
void fw_hot_refresh(void);

#define FW_REAL(name) \
    ((FW_REAL_PREBOUND(name) || __builtin_expect(fw_real.name != 0, 1)) \
         ? fw_real.name : (fw_real_resolve(), fw_real.name))

#endif
