/* mutex_types.c — recursive, errorcheck, robust and priority-inheritance mutexes
 * (and a contended default one): the same results with and without the agent,
 * and the agent's entries follow what each thread really holds. */
#define _GNU_SOURCE
#include "edge.h"

static pthread_mutex_t rec, chk, rob, rob2, pi, plain;
static atomic_int step;
static atomic_int holder_tid;

static void init(pthread_mutex_t *m, int type, int robust, int proto)
{
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_settype(&a, type);
    if (robust)
        pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    if (proto)
        pthread_mutexattr_setprotocol(&a, PTHREAD_PRIO_INHERIT);
    pthread_mutex_init(m, &a);
    pthread_mutexattr_destroy(&a);
}

static const char *err(int rc)
{
    switch (rc) {
    case 0: return "0";
    case EBUSY: return "EBUSY";
    case EDEADLK: return "EDEADLK";
    case EPERM: return "EPERM";
    case EOWNERDEAD: return "EOWNERDEAD";
    case ENOTRECOVERABLE: return "ENOTRECOVERABLE";
    case ETIMEDOUT: return "ETIMEDOUT";
    default: return "other";
    }
}

/* Takes a lock and dies holding it (robust cases). */
static void *die_holding(void *arg)
{
    R("dier lock %s", err(pthread_mutex_lock(arg)));
    EXPECT_ENTRIES(0, arg, FW_HOLD_HELD, 1);
    return 0;
}

/* Holds chk / pi / plain until told. */
static void *holder(void *arg)
{
    pthread_mutex_t *m = arg;
    R("holder lock %s", err(pthread_mutex_lock(m)));
    atomic_store(&holder_tid, edge_tid());
    atomic_store(&step, 1);
    edge_wait_flag(&step, 2);
    R("holder unlock %s", err(pthread_mutex_unlock(m)));
    EXPECT_ENTRIES(0, m, FW_HOLD_EMPTY, 0);
    atomic_store(&step, 3);
    return 0;
}

static void with_holder(pthread_mutex_t *m, const char *name)
{
    pthread_t t;
    atomic_store(&step, 0);
    pthread_create(&t, 0, holder, m);
    edge_wait_flag(&step, 1);
    EXPECT_ENTRIES(atomic_load(&holder_tid), m, FW_HOLD_HELD, 1);
    R("%s: non-owner unlock %s", name, err(pthread_mutex_unlock(m)));
    R("%s: non-owner trylock %s", name, err(pthread_mutex_trylock(m)));
    EXPECT_ENTRIES(0, m, FW_HOLD_EMPTY, 0);
    EXPECT_ENTRIES(atomic_load(&holder_tid), m, FW_HOLD_HELD, 1);
    atomic_store(&step, 2);
    edge_wait_flag(&step, 3);
    pthread_join(t, 0);
    R("%s: lock after the holder let go %s", name, err(pthread_mutex_lock(m)));
    EXPECT_ENTRIES(0, m, FW_HOLD_HELD, 1);
    R("%s: unlock %s", name, err(pthread_mutex_unlock(m)));
    EXPECT_ENTRIES(-1, m, FW_HOLD_EMPTY, 0);
}

/* A default mutex taken while another thread holds it: the waiter blocks in
 * glibc (the inline fast path's fallback) and gets it when it is released. */
static int contender_rc[2];

static void *contender(void *arg)
{
    (void)arg;
    atomic_store(&step, 11);
    contender_rc[0] = pthread_mutex_lock(&plain);
    EXPECT_ENTRIES(0, &plain, FW_HOLD_HELD, 1);
    contender_rc[1] = pthread_mutex_unlock(&plain);
    EXPECT_ENTRIES(0, &plain, FW_HOLD_EMPTY, 0);
    return 0;
}

int main(void)
{
    edge_reg();
    init(&rec, PTHREAD_MUTEX_RECURSIVE, 0, 0);
    init(&chk, PTHREAD_MUTEX_ERRORCHECK, 0, 0);
    init(&rob, PTHREAD_MUTEX_NORMAL, 1, 0);
    init(&rob2, PTHREAD_MUTEX_ERRORCHECK, 1, 0);
    init(&pi, PTHREAD_MUTEX_NORMAL, 0, 1);
    init(&plain, PTHREAD_MUTEX_DEFAULT, 0, 0);

    /* recursive: one entry per level */
    for (int i = 0; i < 3; i++)
        R("rec lock %s", err(pthread_mutex_lock(&rec)));
    R("rec trylock %s", err(pthread_mutex_trylock(&rec)));
    EXPECT_ENTRIES(0, &rec, FW_HOLD_HELD, 4);
    for (int i = 0; i < 4; i++)
        R("rec unlock %s", err(pthread_mutex_unlock(&rec)));
    R("rec unlock once more %s", err(pthread_mutex_unlock(&rec)));
    EXPECT_ENTRIES(0, &rec, FW_HOLD_EMPTY, 0);

    /* errorcheck: relock EDEADLK leaves one entry; non-owner unlock EPERM */
    R("chk lock %s", err(pthread_mutex_lock(&chk)));
    R("chk relock %s", err(pthread_mutex_lock(&chk)));
    R("chk timed relock %s", err(pthread_mutex_timedlock(&chk, &(struct timespec){0, 0})));
    EXPECT_ENTRIES(0, &chk, FW_HOLD_HELD, 1);
    R("chk unlock %s", err(pthread_mutex_unlock(&chk)));
    EXPECT_ENTRIES(0, &chk, FW_HOLD_EMPTY, 0);
    with_holder(&chk, "errorcheck");
    with_holder(&pi, "pi");
    with_holder(&rec, "recursive");

    /* robust: the owner dies; the next locker gets EOWNERDEAD and holds it */
    pthread_t t;
    pthread_create(&t, 0, die_holding, &rob);
    pthread_join(t, 0);
    EXPECT_ENTRIES(-1, &rob, FW_HOLD_EMPTY, 0);   /* the dead thread's entry went with it */
    R("robust lock after owner died %s", err(pthread_mutex_lock(&rob)));
    EXPECT_ENTRIES(0, &rob, FW_HOLD_HELD, 1);
    R("robust consistent %s", err(pthread_mutex_consistent(&rob)));
    R("robust unlock %s", err(pthread_mutex_unlock(&rob)));
    EXPECT_ENTRIES(-1, &rob, FW_HOLD_EMPTY, 0);
    R("robust relock %s", err(pthread_mutex_lock(&rob)));
    R("robust unlock %s", err(pthread_mutex_unlock(&rob)));

    /* robust, never made consistent: unrecoverable, and no entry for the failure */
    pthread_create(&t, 0, die_holding, &rob2);
    pthread_join(t, 0);
    R("robust2 trylock after owner died %s", err(pthread_mutex_trylock(&rob2)));
    EXPECT_ENTRIES(0, &rob2, FW_HOLD_HELD, 1);
    R("robust2 unlock without consistent %s", err(pthread_mutex_unlock(&rob2)));
    EXPECT_ENTRIES(0, &rob2, FW_HOLD_EMPTY, 0);
    R("robust2 lock %s", err(pthread_mutex_lock(&rob2)));
    R("robust2 trylock %s", err(pthread_mutex_trylock(&rob2)));
    EXPECT_ENTRIES(-1, &rob2, FW_HOLD_EMPTY, 0);

    /* PI: plain lock/unlock and recursive use */
    R("pi lock %s", err(pthread_mutex_lock(&pi)));
    EXPECT_ENTRIES(0, &pi, FW_HOLD_HELD, 1);
    R("pi unlock %s", err(pthread_mutex_unlock(&pi)));
    EXPECT_ENTRIES(0, &pi, FW_HOLD_EMPTY, 0);

    /* contended default mutex */
    R("plain lock %s", err(pthread_mutex_lock(&plain)));
    atomic_store(&step, 10);
    pthread_create(&t, 0, contender, 0);
    edge_wait_flag(&step, 11);
    for (int i = 0; i < 50; i++)
        edge_nap();   /* let it block (not needed for correctness) */
    EXPECT_ENTRIES(0, &plain, FW_HOLD_HELD, 1);
    R("plain unlock %s", err(pthread_mutex_unlock(&plain)));
    pthread_join(t, 0);
    R("contender lock %s unlock %s", err(contender_rc[0]), err(contender_rc[1]));
    EXPECT_ENTRIES(-1, &plain, FW_HOLD_EMPTY, 0);
    R("plain lock again %s", err(pthread_mutex_lock(&plain)));
    R("plain unlock again %s", err(pthread_mutex_unlock(&plain)));
    return edge_finish("mutex_types");
}
