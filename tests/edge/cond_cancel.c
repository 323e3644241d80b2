/* cond_cancel.c — condition waits (pthread_cond_wait, _timedwait, _clockwait,
 * C11 cnd_wait) cancelled by pthread_cancel: glibc re-takes the mutex before the
 * waiter's cleanup handler runs; in the handler the agent must show the mutex
 * HELD by the waiter (not "released for the wait"), and after the handler's
 * unlock, nothing. */
#define _GNU_SOURCE
#include "edge.h"

#include <threads.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t c = PTHREAD_COND_INITIALIZER;
static mtx_t cm;
static cnd_t cc;
static atomic_int waiting;
static int variant;

static void cleanup(void *arg)
{
    /* runs with the mutex re-acquired by glibc */
    int held = edge_entries(0, arg, FW_HOLD_HELD), released = edge_entries(0, arg, FW_HOLD_COND_RELEASED);
    if (edge_agent())
        CHECK(held == 1 && released == 0, "variant %d: in the cleanup handler %d HELD, %d COND_RELEASED entries (want 1, 0)",
              variant, held, released);
    if (arg == (void *)&cm)
        mtx_unlock(&cm);
    else
        pthread_mutex_unlock(arg);
    EXPECT_ENTRIES(0, arg, FW_HOLD_EMPTY, 0);
}

static void *waiter(void *arg)
{
    (void)arg;
    void *lock = variant == 3 ? (void *)&cm : (void *)&m;
    if (variant == 3)
        mtx_lock(&cm);
    else
        pthread_mutex_lock(&m);
    pthread_cleanup_push(cleanup, lock);
    atomic_store(&waiting, 1);
    for (;;) {   /* never signalled: only the cancellation ends it */
        struct timespec rt = edge_deadline(CLOCK_REALTIME, 60000), mt = edge_deadline(CLOCK_MONOTONIC, 60000);
        switch (variant) {
        case 0: pthread_cond_wait(&c, &m); break;
        case 1: pthread_cond_timedwait(&c, &m, &rt); break;
        case 2: pthread_cond_clockwait(&c, &m, CLOCK_MONOTONIC, &mt); break;
        case 3: cnd_wait(&cc, &cm); break;
        }
    }
    pthread_cleanup_pop(0);
    return 0;
}

int main(void)
{
    edge_reg();
    mtx_init(&cm, mtx_plain);
    cnd_init(&cc);
    static const char *names[] = { "cond_wait", "cond_timedwait", "cond_clockwait", "cnd_wait" };
    for (variant = 0; variant < 4; variant++) {
        void *lock = variant == 3 ? (void *)&cm : (void *)&m;
        atomic_store(&waiting, 0);
        pthread_t t;
        pthread_create(&t, 0, waiter, 0);
        edge_wait_flag(&waiting, 1);
        /* taking the mutex proves the waiter is inside the wait (it released it) */
        if (variant == 3) {
            mtx_lock(&cm);
            EXPECT_ENTRIES(-1, lock, FW_HOLD_COND_RELEASED, 1);
            mtx_unlock(&cm);
        } else {
            pthread_mutex_lock(&m);
            EXPECT_ENTRIES(-1, lock, FW_HOLD_COND_RELEASED, 1);
            pthread_mutex_unlock(&m);
        }
        R("%s: cancel %d", names[variant], pthread_cancel(t));
        void *ret = 0;
        pthread_join(t, &ret);
        R("%s: joined, cancelled %d", names[variant], ret == PTHREAD_CANCELED);
        EXPECT_ENTRIES(-1, lock, FW_HOLD_EMPTY, 0);
        /* the mutex is free again (the handler unlocked it) */
        if (variant == 3) {
            R("%s: trylock after %d", names[variant], mtx_trylock(&cm) == thrd_success);
            mtx_unlock(&cm);
        } else {
            R("%s: trylock after %d", names[variant], pthread_mutex_trylock(&m));
            pthread_mutex_unlock(&m);
        }
    }
    return edge_finish("cond_cancel");
}
