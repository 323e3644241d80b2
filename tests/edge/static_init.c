/* static_init.c — locks initialised statically (no *_init call the agent could
 * see): PTHREAD_MUTEX_INITIALIZER, the recursive and errorcheck _NP
 * initialisers, PTHREAD_RWLOCK_INITIALIZER; from the main thread and another. */
#define _GNU_SOURCE
#include "edge.h"

static pthread_mutex_t plain = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t rec = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
static pthread_mutex_t chk = PTHREAD_ERRORCHECK_MUTEX_INITIALIZER_NP;
static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;

static void *body(void *arg)
{
    const char *who = arg;
    R("%s plain lock %d", who, pthread_mutex_lock(&plain));
    EXPECT_ENTRIES(0, &plain, FW_HOLD_HELD, 1);
    R("%s plain trylock (held by self) %d", who, pthread_mutex_trylock(&plain));
    EXPECT_ENTRIES(0, &plain, FW_HOLD_HELD, 1);
    R("%s plain unlock %d", who, pthread_mutex_unlock(&plain));
    EXPECT_ENTRIES(0, &plain, FW_HOLD_EMPTY, 0);

    for (int i = 0; i < 3; i++)
        R("%s rec lock %d", who, pthread_mutex_lock(&rec));
    EXPECT_ENTRIES(0, &rec, FW_HOLD_HELD, 3);
    for (int i = 0; i < 3; i++)
        R("%s rec unlock %d", who, pthread_mutex_unlock(&rec));
    EXPECT_ENTRIES(0, &rec, FW_HOLD_EMPTY, 0);

    R("%s chk lock %d", who, pthread_mutex_lock(&chk));
    R("%s chk relock %s", who, pthread_mutex_lock(&chk) == EDEADLK ? "EDEADLK" : "other");
    EXPECT_ENTRIES(0, &chk, FW_HOLD_HELD, 1);
    R("%s chk unlock %d", who, pthread_mutex_unlock(&chk));
    R("%s chk unlock again %s", who, pthread_mutex_unlock(&chk) == EPERM ? "EPERM" : "other");
    EXPECT_ENTRIES(0, &chk, FW_HOLD_EMPTY, 0);

    R("%s rw rdlock %d %d", who, pthread_rwlock_rdlock(&rw), pthread_rwlock_rdlock(&rw));
    EXPECT_ENTRIES(0, &rw, FW_HOLD_HELD, 2);
    R("%s rw unlock %d %d", who, pthread_rwlock_unlock(&rw), pthread_rwlock_unlock(&rw));
    R("%s rw wrlock %d", who, pthread_rwlock_wrlock(&rw));
    EXPECT_ENTRIES(0, &rw, FW_HOLD_HELD, 1);
    R("%s rw trywrlock (held) %s", who, pthread_rwlock_trywrlock(&rw) == EBUSY ? "EBUSY" : "other");
    R("%s rw unlock %d", who, pthread_rwlock_unlock(&rw));
    EXPECT_ENTRIES(0, &rw, FW_HOLD_EMPTY, 0);

    const struct fw_thread *me = edge_self_slot();
    if (edge_agent()) {
        CHECK(me != 0, "no slot for %s", who);
        if (me)
            CHECK(me->held_used == 0, "%s: held_used %u after releasing everything", who, me->held_used);
    }
    return 0;
}

int main(void)
{
    edge_reg();
    body("main");
    pthread_t t;
    pthread_create(&t, 0, body, "thread");
    pthread_join(t, 0);
    body("main-again");   /* now a multi-threaded process: the atomic paths */
    return edge_finish("static_init");
}
