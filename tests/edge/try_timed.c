/* try_timed.c — try and timed acquires that fail (EBUSY, ETIMEDOUT, EAGAIN,
 * thrd_busy, thrd_timedout) leave no entry behind, and do not grow the table. */
#define _GNU_SOURCE
#include "edge.h"

#include <semaphore.h>
#include <threads.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static mtx_t cm;
static sem_t sem;
static atomic_int step;

static void *holder(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&m);
    pthread_rwlock_wrlock(&rw);
    mtx_lock(&cm);
    atomic_store(&step, 1);
    edge_wait_flag(&step, 2);
    mtx_unlock(&cm);
    pthread_rwlock_unlock(&rw);
    pthread_mutex_unlock(&m);
    return 0;
}

static const char *e(int rc)
{
    return rc == 0 ? "0" : rc == EBUSY ? "EBUSY" : rc == ETIMEDOUT ? "ETIMEDOUT" : rc == EAGAIN ? "EAGAIN" : "other";
}

static const char *se(int rc)   /* sem_*: -1 and errno */
{
    return rc == 0 ? "0" : e(errno);
}

static const char *ce(int rc)
{
    return rc == thrd_success ? "thrd_success" : rc == thrd_busy ? "thrd_busy"
         : rc == thrd_timedout ? "thrd_timedout" : "other";
}

int main(void)
{
    edge_reg();
    mtx_init(&cm, mtx_timed);
    sem_init(&sem, 0, 0);
    pthread_t t;
    pthread_create(&t, 0, holder, 0);
    edge_wait_flag(&step, 1);
    struct timespec rt, mt;
    for (int round = 0; round < 3; round++) {   /* again and again: nothing accumulates */
        rt = edge_deadline(CLOCK_REALTIME, 5);
        mt = edge_deadline(CLOCK_MONOTONIC, 5);
        R("mutex trylock %s", e(pthread_mutex_trylock(&m)));
        R("mutex timedlock %s", e(pthread_mutex_timedlock(&m, &rt)));
        R("mutex clocklock %s", e(pthread_mutex_clocklock(&m, CLOCK_MONOTONIC, &mt)));
        EXPECT_ENTRIES(0, &m, FW_HOLD_EMPTY, 0);
        R("rw tryrdlock %s", e(pthread_rwlock_tryrdlock(&rw)));
        R("rw trywrlock %s", e(pthread_rwlock_trywrlock(&rw)));
        rt = edge_deadline(CLOCK_REALTIME, 5);
        R("rw timedrdlock %s", e(pthread_rwlock_timedrdlock(&rw, &rt)));
        R("rw timedwrlock %s", e(pthread_rwlock_timedwrlock(&rw, &rt)));
        mt = edge_deadline(CLOCK_MONOTONIC, 5);
        R("rw clockrdlock %s", e(pthread_rwlock_clockrdlock(&rw, CLOCK_MONOTONIC, &mt)));
        R("rw clockwrlock %s", e(pthread_rwlock_clockwrlock(&rw, CLOCK_MONOTONIC, &mt)));
        EXPECT_ENTRIES(0, &rw, FW_HOLD_EMPTY, 0);
        R("sem trywait %s", se(sem_trywait(&sem)));
        rt = edge_deadline(CLOCK_REALTIME, 5);
        R("sem timedwait %s", se(sem_timedwait(&sem, &rt)));
        mt = edge_deadline(CLOCK_MONOTONIC, 5);
        R("sem clockwait %s", se(sem_clockwait(&sem, CLOCK_MONOTONIC, &mt)));
        EXPECT_ENTRIES(0, &sem, FW_HOLD_EMPTY, 0);
        R("mtx trylock %s", ce(mtx_trylock(&cm)));
        rt = edge_deadline(CLOCK_REALTIME, 5);
        R("mtx timedlock %s", ce(mtx_timedlock(&cm, &rt)));
        EXPECT_ENTRIES(0, &cm, FW_HOLD_EMPTY, 0);
        const struct fw_thread *me = edge_self_slot();
        if (edge_agent())
            CHECK(me && me->held_used == 0, "held_used %u after failed acquires", me ? me->held_used : 99);
    }
    /* the same calls succeed once the locks are free, and leave one entry each */
    atomic_store(&step, 2);
    pthread_join(t, 0);
    R("mutex trylock %s", e(pthread_mutex_trylock(&m)));
    rt = edge_deadline(CLOCK_REALTIME, 5);
    R("rw timedrdlock %s", e(pthread_rwlock_timedrdlock(&rw, &rt)));
    R("sem post %s", se(sem_post(&sem)));
    R("sem trywait %s", se(sem_trywait(&sem)));
    R("mtx trylock %s", ce(mtx_trylock(&cm)));
    EXPECT_ENTRIES(0, &m, FW_HOLD_HELD, 1);
    EXPECT_ENTRIES(0, &rw, FW_HOLD_HELD, 1);
    EXPECT_ENTRIES(0, &sem, FW_HOLD_HELD, 1);
    EXPECT_ENTRIES(0, &cm, FW_HOLD_HELD, 1);
    mtx_unlock(&cm);
    sem_post(&sem);
    pthread_rwlock_unlock(&rw);
    pthread_mutex_unlock(&m);
    const struct fw_thread *me = edge_self_slot();
    if (edge_agent())
        CHECK(me && me->held_used == 0, "held_used %u at the end", me ? me->held_used : 99);
    return edge_finish("try_timed");
}
