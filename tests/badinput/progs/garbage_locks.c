/*
 * garbage_locks — every thread blocks in glibc's futex wait on a lock whose
 * words hold chosen garbage (owner TIDs that do not exist or are negative,
 * huge counts, a robust mutex naming a dead TID, a rwlock with nonsense reader
 * bits and writer, a semaphore with 2^32-1 waiters). Then it waits for ever
 * (bounded: exits after FIXTURE_TIMEOUT seconds, default 60).
 * Events (FIXTURE_EVENTS): NAME_tid=TID and NAME_lock=0xADDR for each waiter,
 * written just before it blocks.
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static pthread_mutex_t m_big, m_neg, m_self, m_robust, m_main;
static pthread_rwlock_t rw;
static sem_t sem;
static volatile int big_tid;
static pthread_barrier_t started;

static void event(const char *fmt, ...)
{
    const char *path = getenv("FIXTURE_EVENTS");
    if (!path)
        return;
    FILE *f = fopen(path, "a");
    if (!f)
        return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    fputc('\n', f);
    fclose(f);
}

static int tid(void) { return (int)syscall(SYS_gettid); }

static void *waiter(void *arg)
{
    const char *name = arg;
    pthread_setname_np(pthread_self(), name);
    if (strcmp(name, "MutexBig") == 0)
        big_tid = tid();
    pthread_barrier_wait(&started);
    void *lock = NULL;
    if (strcmp(name, "MutexBig") == 0) lock = &m_big;
    else if (strcmp(name, "MutexNeg") == 0) lock = &m_neg;
    else if (strcmp(name, "MutexSelf") == 0) {
        lock = &m_self;
        m_self.__data.__owner = tid();  /* "held" by the thread that waits on it */
    } else if (strcmp(name, "Robust") == 0) lock = &m_robust;
    else if (strcmp(name, "Rwlock") == 0) lock = &rw;
    else lock = &sem;
    event("%s_tid=%d", name, tid());
    event("%s_lock=%p", name, lock);
    int r;
    if (lock == &rw)
        r = pthread_rwlock_wrlock(&rw);
    else if (lock == &sem)
        r = sem_wait(&sem);
    else
        r = pthread_mutex_lock(lock);
    event("%s_returned=%d", name, r);  /* not expected: the lock words say "held" */
    return NULL;
}

int main(void)
{
    pthread_mutexattr_t ra;
    pthread_mutexattr_init(&ra);
    pthread_mutexattr_setrobust(&ra, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(&m_robust, &ra);
    /* garbage: locked with waiters, owners that cannot be, counts that mean nothing */
    m_big.__data.__lock = 2;  m_big.__data.__owner = 0x3fffffff; m_big.__data.__count = 0x7fffffff;
    m_big.__data.__nusers = 0xffffffffu;
    m_neg.__data.__lock = 2;  m_neg.__data.__owner = -5; m_neg.__data.__count = 0xdeadbeef;
    m_self.__data.__lock = 2;
    m_robust.__data.__lock = (int)(0x80000000u | 0x3ffffff0u); /* waiters + a TID that does not exist */
    m_robust.__data.__owner = 0x41414141;
    rw.__data.__readers = 0xfffffff3u;   /* WRPHASE|WRLOCKED + a nonsense reader count */
    rw.__data.__writers = 0x7fffffff;
    rw.__data.__cur_writer = 0x41414141;
    rw.__data.__wrphase_futex = 1;
    rw.__data.__writers_futex = 1;
    sem_init(&sem, 0, 0);
    uint64_t sw = (uint64_t)0xffffffffu << 32;  /* value 0, 2^32-1 waiters */
    memcpy(&sem, &sw, sizeof sw);

    static const char *names[] = {"MutexBig", "MutexNeg", "MutexSelf", "Robust", "Rwlock", "Sem"};
    enum { N = sizeof names / sizeof names[0] };
    pthread_t th[N];
    pthread_barrier_init(&started, NULL, N + 1);
    for (int i = 0; i < N; i++)
        pthread_create(&th[i], NULL, waiter, (void *)names[i]);
    pthread_barrier_wait(&started);
    m_main.__data.__lock = 2;
    m_main.__data.__owner = big_tid;  /* owned by a thread that itself waits */
    event("parent_pid=%d", (int)getpid());
    event("Main_tid=%d", tid());
    event("Main_lock=%p", (void *)&m_main);
    /* bounded: SIGALRM (default action: terminate) after FIXTURE_TIMEOUT seconds */
    const char *t = getenv("FIXTURE_TIMEOUT");
    int secs = t ? atoi(t) : 60;
    alarm((unsigned)(secs > 0 ? secs : 60));
    pthread_mutex_lock(&m_main);
    return 0;
}
