/* In-flight markers: a semaphore or a read lock caught by the fork between its
 * own atomic and the holder's entry (or between the cleared entry and the real
 * release) is adopted in the child when its lock word says held, and only then.
 * Threads park with a marker set by hand; the test thread plays forker and child. */
#include <criterion/criterion.h>

#include "unit_agent.h"

#include "fw_fork.h"
#include "fw_lockops.h"

#include <pthread.h>
#include <semaphore.h>
#include <unistd.h>

#define NPARK 3
static pthread_t parked[NPARK];
static struct fw_thread *slots[NPARK];
static pthread_barrier_t ready, done;

struct park {
    int i;
    uint64_t what;
    const void *lock;
    struct fw_thread *remote_holder;   /* FW_INFL_SEM_REL_REMOTE */
    int hold;                          /* record lock as HELD (kind) before parking */
    int acquiring;                     /* also ACQUIRING lock: 1 semaphore, 2 read lock */
    uint32_t entry;                    /* an inline acquire in flight: an entry of this kind
                                          filled HELD past held_used, not yet published */
};
static struct park parks[NPARK];

static void *park_main(void *arg)
{
    struct park *p = arg;
    struct fw_thread *t = fw_thread_self();
    slots[p->i] = t;
    if (p->hold) {
        struct fw_op op;
        fw_acquire_begin(&op, p->lock, (uint32_t)p->hold, FW_ACQ_BLOCKING, 0x4242);
        fw_acquire_end(&op, 1, (uint32_t)p->hold);
    }
    if (p->acquiring) {
        struct fw_op op;
        fw_acquire_begin(&op, p->lock, p->acquiring == 2 ? FW_KIND_RWLOCK_READ : FW_KIND_SEMAPHORE,
                         FW_ACQ_BLOCKING, 0x4343);
    }
    pthread_barrier_wait(&ready);   /* slots known */
    pthread_barrier_wait(&ready);   /* markers may be set now */
    if (p->entry)   /* as sem_take_fast / rd_take_fast do before their CAS */
        fw_held_fill(t, &t->held[t->held_used], (uint64_t)(uintptr_t)p->lock, 0x4444, p->entry, 0,
                     FW_HOLD_HELD);
    if (p->what) {
        if (p->what == FW_INFL_SEM_REL_REMOTE) {
            /* as fw_held_remove_remote does: name the holder, then take its entry */
            __atomic_store_n(&t->fw_inflight_holder, fw_thread_index(p->remote_holder) + 1, __ATOMIC_RELAXED);
            struct fw_held *e = fw_held_find(p->remote_holder, (uint64_t)(uintptr_t)p->lock, FW_HOLD_HELD,
                                             FW_KIND_SEMAPHORE);
            fw_inflight_set(t, p->what, p->lock);
            if (e)
                __atomic_store_n(&e->state, FW_HOLD_EMPTY, __ATOMIC_RELEASE);
        } else {
            fw_inflight_set(t, p->what, p->lock);
        }
    }
    pthread_barrier_wait(&ready);
    pthread_barrier_wait(&done);
    return NULL;
}

static void setup(void)
{
    unit_agent_reset(FW_POLICY_WARN);
    pthread_barrier_init(&ready, NULL, NPARK + 1);
    pthread_barrier_init(&done, NULL, NPARK + 1);
}

/* Starts the parked threads with parks[] as set by the test, lets them set their
 * markers, then "forks": snapshot and child marking from the test thread. */
static void fork_now(void)
{
    for (int i = 0; i < NPARK; i++) {
        parks[i].i = i;
        pthread_create(&parked[i], NULL, park_main, &parks[i]);
    }
    pthread_barrier_wait(&ready);
    for (int i = 0; i < NPARK; i++)
        if (parks[i].what == FW_INFL_SEM_REL_REMOTE)
            parks[i].remote_holder = slots[parks[i].i == 0 ? 1 : 0];
    pthread_barrier_wait(&ready);
    pthread_barrier_wait(&ready);
    struct fw_thread *self = fw_thread_self();
    unit_record_fork();
    fw_fork_snapshot_held(self);
    fw_fork_mark_child(self, 200, 200);
}

static const struct fw_fork_held *orphan(const void *lock)
{
    int i = fw_orphan_lookup((uint64_t)(uintptr_t)lock);
    if (i < 0)
        return NULL;
    const struct fw_fork_held *fh = &forkwatch_registry.fork_held[i];
    return fh->orphan_state == FW_ORPHAN_LIVE ? fh : NULL;
}

static void finish(void)
{
    pthread_barrier_wait(&done);
}

TestSuite(inflight, .init = setup);

Test(inflight, semaphore_taken_but_not_yet_recorded_is_an_orphan)
{
    static sem_t s;
    sem_init(&s, 0, 0);   /* the CAS 1 -> 0 happened, the entry did not */
    parks[0] = (struct park){ .what = FW_INFL_SEM_ACQ, .lock = &s };
    fork_now();
    const struct fw_fork_held *fh = orphan(&s);
    cr_assert_not_null(fh);
    cr_assert_eq(fh->kind, FW_KIND_SEMAPHORE);
    cr_assert_eq(fh->holder_slot, fw_thread_index(slots[0]));
    cr_assert(fw_orphans_active);
    finish();
}

Test(inflight, semaphore_still_free_is_no_orphan)
{
    static sem_t s;
    sem_init(&s, 0, 1);   /* the marker was set, the CAS not done */
    parks[0] = (struct park){ .what = FW_INFL_SEM_ACQ, .lock = &s };
    fork_now();
    cr_assert_null(orphan(&s));
    finish();
}

Test(inflight, semaphore_post_in_flight_is_an_orphan_of_the_poster)
{
    static sem_t s;
    sem_init(&s, 0, 0);   /* entry cleared, post not done */
    parks[0] = (struct park){ .what = FW_INFL_SEM_REL, .lock = &s };
    fork_now();
    const struct fw_fork_held *fh = orphan(&s);
    cr_assert_not_null(fh);
    cr_assert_eq(fh->holder_slot, fw_thread_index(slots[0]));
    finish();
}

Test(inflight, remote_post_in_flight_names_the_holder)
{
    static sem_t s;
    sem_init(&s, 0, 1);
    sem_wait(&s);
    /* thread 1 holds s; thread 0 posts it on its behalf and took its entry */
    parks[1] = (struct park){ .lock = &s, .hold = FW_KIND_SEMAPHORE };
    parks[0] = (struct park){ .what = FW_INFL_SEM_REL_REMOTE, .lock = &s };
    fork_now();
    const struct fw_fork_held *fh = orphan(&s);
    cr_assert_not_null(fh);
    cr_assert_eq(fh->holder_slot, fw_thread_index(slots[1]), "the holder, not the poster");
    cr_assert_eq(fh->call_site, 0x4242, "the holder's emptied entry still names its call site");
    finish();
}

Test(inflight, remote_post_to_a_condition_waiter_is_no_orphan)
{
    static sem_t s;
    sem_init(&s, 0, 1);
    sem_wait(&s);
    *(uint64_t *)(void *)&s = 1ull << 32;   /* the waiter is blocked in glibc (registered) */
    parks[1] = (struct park){ .lock = &s, .hold = FW_KIND_SEMAPHORE, .acquiring = 1 };
    parks[0] = (struct park){ .what = FW_INFL_SEM_REL_REMOTE, .lock = &s };
    fork_now();
    cr_assert_null(orphan(&s));
    finish();
}

Test(inflight, inline_semaphore_acquire_in_flight_is_an_orphan)
{
    static sem_t s;
    sem_init(&s, 0, 0);   /* the CAS 1 -> 0 happened, held_used not yet raised */
    static sem_t free_s;
    sem_init(&free_s, 0, 1);   /* entry filled, CAS not done */
    parks[0] = (struct park){ .entry = FW_KIND_SEMAPHORE, .lock = &s };
    parks[1] = (struct park){ .entry = FW_KIND_SEMAPHORE, .lock = &free_s };
    fork_now();
    const struct fw_fork_held *fh = orphan(&s);
    cr_assert_not_null(fh);
    cr_assert_eq(fh->kind, FW_KIND_SEMAPHORE);
    cr_assert_eq(fh->holder_slot, fw_thread_index(slots[0]));
    cr_assert_eq(fh->call_site, 0x4444, "the in-flight entry names the call site");
    cr_assert_null(orphan(&free_s));
    cr_assert_eq(slots[0]->held_used, 0, "the in-flight entry is not published");
    finish();
}

Test(inflight, inline_post_in_flight_is_an_orphan_of_the_poster)
{
    static sem_t s, posted;
    sem_init(&s, 0, 0);        /* held_used lowered, the post not done */
    sem_init(&posted, 0, 1);   /* the post done, the entry not yet emptied */
    parks[0] = (struct park){ .entry = FW_KIND_SEMAPHORE | FW_KIND_INFL_RELEASE, .lock = &s };
    parks[1] = (struct park){ .entry = FW_KIND_SEMAPHORE | FW_KIND_INFL_RELEASE, .lock = &posted };
    fork_now();
    const struct fw_fork_held *fh = orphan(&s);
    cr_assert_not_null(fh);
    cr_assert_eq(fh->kind, FW_KIND_SEMAPHORE);
    cr_assert_eq(fh->holder_slot, fw_thread_index(slots[0]));
    cr_assert_null(orphan(&posted));
    finish();
}

Test(inflight, inline_acquire_in_flight_wins_over_a_post_in_flight)
{
    static sem_t s;
    sem_init(&s, 0, 0);   /* slot 0 posted, slot 1 took it: slot 1 holds it */
    parks[0] = (struct park){ .entry = FW_KIND_SEMAPHORE | FW_KIND_INFL_RELEASE, .lock = &s };
    parks[1] = (struct park){ .entry = FW_KIND_SEMAPHORE, .lock = &s };
    fork_now();
    const struct fw_fork_held *fh = orphan(&s);
    cr_assert_not_null(fh);
    cr_assert_eq(fh->holder_slot, fw_thread_index(slots[1]));
    finish();
}

Test(inflight, inline_read_unlock_in_flight_is_an_orphan_when_read_held)
{
    static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
    static pthread_rwlock_t free_rw = PTHREAD_RWLOCK_INITIALIZER;
    pthread_rwlock_rdlock(&rw);   /* the reader's unlock not done yet */
    parks[0] = (struct park){ .entry = FW_KIND_RWLOCK_READ | FW_KIND_INFL_RELEASE, .lock = &rw };
    parks[1] = (struct park){ .entry = FW_KIND_RWLOCK_READ | FW_KIND_INFL_RELEASE, .lock = &free_rw };
    fork_now();
    const struct fw_fork_held *fh = orphan(&rw);
    cr_assert_not_null(fh);
    cr_assert_eq(fh->kind, FW_KIND_RWLOCK_READ);
    cr_assert_null(orphan(&free_rw));
    finish();
}

Test(inflight, inline_read_lock_acquire_in_flight_is_an_orphan_when_read_held)
{
    static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
    static pthread_rwlock_t free_rw = PTHREAD_RWLOCK_INITIALIZER;
    pthread_rwlock_rdlock(&rw);   /* the reader registered, held_used not yet raised */
    parks[0] = (struct park){ .entry = FW_KIND_RWLOCK_READ, .lock = &rw };
    parks[1] = (struct park){ .entry = FW_KIND_RWLOCK_READ, .lock = &free_rw };
    fork_now();
    const struct fw_fork_held *fh = orphan(&rw);
    cr_assert_not_null(fh);
    cr_assert_eq(fh->kind, FW_KIND_RWLOCK_READ);
    cr_assert_null(orphan(&free_rw));
    finish();
}

Test(inflight, read_lock_in_flight_is_an_orphan_when_read_held)
{
    static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
    static pthread_rwlock_t free_rw = PTHREAD_RWLOCK_INITIALIZER;
    pthread_rwlock_rdlock(&rw);   /* the reader registered, the entry not yet written */
    parks[0] = (struct park){ .what = FW_INFL_RD_ACQ, .lock = &rw };
    parks[1] = (struct park){ .what = FW_INFL_RD_REL, .lock = &free_rw };   /* unlock done */
    fork_now();
    const struct fw_fork_held *fh = orphan(&rw);
    cr_assert_not_null(fh);
    cr_assert_eq(fh->kind, FW_KIND_RWLOCK_READ);
    cr_assert_null(orphan(&free_rw));
    finish();
}

Test(inflight, a_lock_the_forker_holds_is_not_adopted)
{
    static sem_t s;
    sem_init(&s, 0, 1);
    struct fw_op op;
    sem_wait(&s);
    fw_acquire_begin(&op, &s, FW_KIND_SEMAPHORE, FW_ACQ_BLOCKING, 0x1);
    fw_acquire_end(&op, 1, FW_KIND_SEMAPHORE);
    parks[0] = (struct park){ .what = FW_INFL_SEM_ACQ, .lock = &s };
    fork_now();
    cr_assert_null(orphan(&s));
    finish();
}

Test(inflight, a_lock_already_an_orphan_is_not_added_twice)
{
    static sem_t s;
    sem_init(&s, 0, 1);
    sem_wait(&s);
    parks[1] = (struct park){ .lock = &s, .hold = FW_KIND_SEMAPHORE };
    parks[0] = (struct park){ .what = FW_INFL_SEM_ACQ, .lock = &s };
    fork_now();
    const struct fw_fork_held *fh = orphan(&s);
    cr_assert_not_null(fh);
    cr_assert_eq(fh->holder_slot, fw_thread_index(slots[1]), "the recorded holder wins");
    uint32_t n = 0;
    for (uint32_t i = 0; i < forkwatch_registry.header.fork_held.used; i++)
        n += forkwatch_registry.fork_held[i].lock_addr == (uint64_t)(uintptr_t)&s &&
             forkwatch_registry.fork_held[i].orphan_state == FW_ORPHAN_LIVE;
    cr_assert_eq(n, 1);
    finish();
}

Test(inflight, a_glibc_wait_that_took_the_token_is_an_orphan)
{
    static sem_t s;
    sem_init(&s, 0, 0);   /* value 0, no registered waiter: the ACQUIRING thread took it */
    parks[0] = (struct park){ .lock = &s, .acquiring = 1 };
    fork_now();
    const struct fw_fork_held *fh = orphan(&s);
    cr_assert_not_null(fh);
    cr_assert_eq(fh->holder_slot, fw_thread_index(slots[0]));
    finish();
}

Test(inflight, a_registered_glibc_waiter_is_no_holder)
{
    static sem_t s;
    sem_init(&s, 0, 0);
    *(uint64_t *)(void *)&s = 1ull << 32;   /* value 0, one waiter registered: it is blocked */
    parks[0] = (struct park){ .lock = &s, .acquiring = 1 };
    fork_now();
    cr_assert_null(orphan(&s));
    finish();
}

Test(inflight, a_settled_orphan_leaves_no_marker_for_a_later_fork)
{
    static sem_t s;
    sem_init(&s, 0, 0);
    parks[0] = (struct park){ .what = FW_INFL_SEM_ACQ, .lock = &s };
    fork_now();
    cr_assert_not_null(orphan(&s));
    fw_orphan_on_release(&s);   /* the child posts it: an ordinary lock again */
    cr_assert_null(orphan(&s));
    cr_assert_eq(slots[0]->fw_inflight, 0, "a grandchild must not adopt it through the marker");
    finish();
}

Test(inflight, a_reader_registered_in_glibc_in_a_read_phase_is_an_orphan)
{
    static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
    static pthread_rwlock_t wr = PTHREAD_RWLOCK_INITIALIZER;
    pthread_rwlock_rdlock(&rw);   /* glibc registered the reader; the agent's entry says ACQUIRING */
    pthread_rwlock_wrlock(&wr);   /* a write phase: a reader there waits */
    parks[0] = (struct park){ .lock = &rw, .acquiring = 2 };
    parks[1] = (struct park){ .lock = &wr, .acquiring = 2 };
    fork_now();
    const struct fw_fork_held *fh = orphan(&rw);
    cr_assert_not_null(fh);
    cr_assert_eq(fh->kind, FW_KIND_RWLOCK_READ);
    cr_assert_eq(fh->holder_slot, fw_thread_index(slots[0]));
    cr_assert_null(orphan(&wr), "a reader waiting in a write phase holds nothing");
    finish();
}
