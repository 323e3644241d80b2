/* Orphans: a fork simulated in memory. A worker thread really holds locks; the
 * test thread plays the forker, takes the snapshot, then marks "the child". */
#include <criterion/criterion.h>

#include "unit_agent.h"

#include "fw_event.h"
#include "fw_fork.h"
#include "fw_lockops.h"

#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pthread_mutex_t held_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t freed_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t late_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t untracked_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t handed_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_t worker_thread, second_thread;
static pthread_barrier_t handover;
static pthread_rwlock_t read_lock = PTHREAD_RWLOCK_INITIALIZER;
static sem_t cond_waiter;
static pthread_barrier_t step;

static void track(const void *lock, uint32_t kind, int mode)
{
    struct fw_op op;
    fw_acquire_begin(&op, lock, kind, mode, 0x4242);
    fw_acquire_end(&op, 1, kind);
}

static void *worker(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&held_mutex);
    track(&held_mutex, FW_KIND_MUTEX, FW_ACQ_BLOCKING);
    pthread_mutex_lock(&freed_mutex);
    track(&freed_mutex, FW_KIND_MUTEX, FW_ACQ_BLOCKING);
    pthread_mutex_lock(&handed_mutex);
    track(&handed_mutex, FW_KIND_MUTEX, FW_ACQ_BLOCKING);
    /* Held, but the agent never saw it (its entry was cleared just before the
     * real unlock when the fork came, say): only the owner TID tells. */
    pthread_mutex_lock(&untracked_mutex);
    pthread_rwlock_rdlock(&read_lock);
    track(&read_lock, FW_KIND_RWLOCK_READ, FW_ACQ_BLOCKING);
    /* A CPython Condition waiter: holds its semaphore and waits for it again. */
    sem_wait(&cond_waiter);
    track(&cond_waiter, FW_KIND_SEMAPHORE, FW_ACQ_BLOCKING);
    struct fw_op again;
    fw_acquire_begin(&again, &cond_waiter, FW_KIND_SEMAPHORE, FW_ACQ_BLOCKING, 0x4343);
    pthread_barrier_wait(&step);   /* 1: the snapshot may be taken */
    pthread_barrier_wait(&step);   /* 2: between snapshot and "fork" */
    fw_release(&freed_mutex, FW_KIND_MUTEX);
    pthread_mutex_unlock(&freed_mutex);
    fw_release(&handed_mutex, FW_KIND_MUTEX);   /* ... and the second thread takes it */
    pthread_mutex_unlock(&handed_mutex);
    pthread_barrier_wait(&handover);
    pthread_barrier_wait(&handover);
    pthread_mutex_lock(&late_mutex);
    track(&late_mutex, FW_KIND_MUTEX, FW_ACQ_BLOCKING);
    pthread_barrier_wait(&step);   /* 3: the "fork" happens now */
    pthread_barrier_wait(&step);   /* 4: end of test */
    return NULL;
}

/* Takes handed_mutex once the worker has let it go (between snapshot and fork). */
static void *second(void *arg)
{
    (void)arg;
    pthread_barrier_wait(&handover);
    pthread_mutex_lock(&handed_mutex);
    track(&handed_mutex, FW_KIND_MUTEX, FW_ACQ_BLOCKING);
    pthread_barrier_wait(&handover);
    pthread_barrier_wait(&handover);   /* holds it until the test process ends */
    return NULL;
}

static void setup(void)
{
    unit_agent_reset(FW_POLICY_WARN);
    strcpy(fw_cfg.report_path, unit_report_path("orphan"));
    sem_init(&cond_waiter, 0, 1);
    pthread_barrier_init(&step, NULL, 2);
    pthread_barrier_init(&handover, NULL, 2);
    pthread_create(&worker_thread, NULL, worker, NULL);
    pthread_create(&second_thread, NULL, second, NULL);
    pthread_barrier_wait(&step);
}

static void teardown(void)
{
    unit_report_remove();
}

/* What the parent's fork wrapper and the child do, minus the real fork. */
static void simulate_fork(void)
{
    struct fw_thread *self = fw_thread_self();
    unit_record_fork();
    fw_fork_snapshot_held(self);
    pthread_barrier_wait(&step);
    pthread_barrier_wait(&step);
    fw_fork_mark_child(self, 200, 200);
}

static struct fw_fork_held *orphan(const void *lock)
{
    int i = fw_orphan_lookup((uint64_t)(uintptr_t)lock);
    return i < 0 ? NULL : &forkwatch_registry.fork_held[i];
}

TestSuite(orphan, .init = setup, .fini = teardown);

Test(orphan, snapshot_copies_other_threads_held_locks_only)
{
    struct fw_thread *self = fw_thread_self();
    int mine = 0;
    track(&mine, FW_KIND_MUTEX, FW_ACQ_BLOCKING);
    uint32_t n = fw_fork_snapshot_held(self);
    cr_assert_eq(n, 4, "held, freed, handed, read_lock; not the condition waiter, not ours");
    const struct fw_fork_held *fh = forkwatch_registry.fork_held;
    cr_assert_eq(fh[0].lock_addr, (uint64_t)(uintptr_t)&held_mutex);
    cr_assert_eq(fh[0].kind, FW_KIND_MUTEX);
    cr_assert_eq(fh[0].call_site, 0x4242);
    cr_assert_neq(fh[0].holder_tid, gettid());
    cr_assert_eq(fh[0].orphan_state, FW_ORPHAN_NOT_CHILD);
    cr_assert_eq(forkwatch_registry.header.fork_held.used, 4);
    pthread_barrier_wait(&step);
    pthread_barrier_wait(&step);
    pthread_barrier_wait(&step);
}

Test(orphan, a_lock_handed_to_another_thread_names_the_new_holder)
{
    simulate_fork();
    struct fw_fork_held *fh = orphan(&handed_mutex);
    cr_assert_not_null(fh);
    cr_assert_eq(fh->holder_pthread, (uint64_t)second_thread, "not the worker that held it at the snapshot");
    for (uint32_t i = 0; i < forkwatch_registry.header.fork_held.used; i++) {
        const struct fw_fork_held *x = &forkwatch_registry.fork_held[i];
        if (x->lock_addr == (uint64_t)(uintptr_t)&handed_mutex && x->holder_pthread == (uint64_t)worker_thread)
            cr_assert_neq(x->orphan_state, FW_ORPHAN_LIVE);
    }
    pthread_barrier_wait(&step);
}

Test(orphan, an_unrecorded_lock_is_adopted_by_its_owner_tid)
{
    simulate_fork();
    (void)fw_thread_self();
    cr_assert_eq(fw_orphan_lookup((uint64_t)(uintptr_t)&untracked_mutex), -1);
    fw_orphan_on_acquire(&untracked_mutex, FW_KIND_MUTEX, FW_ACQ_BLOCKING, 0x5555);
    struct fw_fork_held *fh = orphan(&untracked_mutex);
    cr_assert_not_null(fh);
    cr_assert_eq(fh->holder_pthread, (uint64_t)worker_thread);
    cr_assert_eq(fh->orphan_state, FW_ORPHAN_REPORTED);
    cr_assert_eq(forkwatch_registry.header.deadlocks_reported, 1);
    pthread_barrier_wait(&step);
}

Test(orphan, child_marks_live_orphans_from_the_lock_words)
{
    simulate_fork();
    const struct fw_registry *r = &forkwatch_registry;
    cr_assert_eq(r->header.pid, 200);
    cr_assert_eq(r->header.parent_pid, 100);
    cr_assert_eq(r->header.born_of_fork_id, 1);
    cr_assert(fw_orphans_active);
    struct fw_fork_held *held = orphan(&held_mutex);
    cr_assert_not_null(held);
    cr_assert_eq(held->orphan_state, FW_ORPHAN_LIVE);
    cr_assert_eq(r->threads[held->holder_slot].state, FW_THREAD_VANISHED);
    /* Released after the snapshot: the lock word says free, no orphan. */
    cr_assert_null(orphan(&freed_mutex));
    /* Taken after the snapshot: found in the vanished thread's own entries. */
    struct fw_fork_held *late = orphan(&late_mutex);
    cr_assert_not_null(late, "a lock taken between snapshot and fork is still an orphan");
    cr_assert_eq(late->orphan_state, FW_ORPHAN_LIVE);
    cr_assert_null(orphan(&cond_waiter));
    cr_assert_eq(fw_orphan_lookup(0x1), -1);
    pthread_barrier_wait(&step);
}

Test(orphan, lock_words)
{
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    cr_assert_not(fw_lockword_held(FW_KIND_MUTEX, &m));
    pthread_mutex_lock(&m);
    cr_assert(fw_lockword_held(FW_KIND_MUTEX, &m));
    pthread_mutex_unlock(&m);
    pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
    cr_assert_not(fw_lockword_held(FW_KIND_RWLOCK_WRITE, &rw));
    pthread_rwlock_wrlock(&rw);
    cr_assert(fw_lockword_held(FW_KIND_RWLOCK_WRITE, &rw));
    pthread_rwlock_unlock(&rw);
    pthread_rwlock_rdlock(&rw);
    cr_assert(fw_lockword_held(FW_KIND_RWLOCK_READ, &rw));
    pthread_rwlock_unlock(&rw);
    sem_t s;
    sem_init(&s, 0, 1);
    cr_assert_not(fw_lockword_held(FW_KIND_SEMAPHORE, &s));
    sem_wait(&s);
    cr_assert(fw_lockword_held(FW_KIND_SEMAPHORE, &s));
    pthread_barrier_wait(&step);
    pthread_barrier_wait(&step);
    pthread_barrier_wait(&step);
}

Test(orphan, blocking_acquire_reports_a_fork_deadlock)
{
    simulate_fork();
    (void)fw_thread_self();
    fw_orphan_on_acquire(&held_mutex, FW_KIND_MUTEX, FW_ACQ_BLOCKING, 0x5555);
    cr_assert_eq(orphan(&held_mutex)->orphan_state, FW_ORPHAN_REPORTED);
    cr_assert_eq(forkwatch_registry.header.deadlocks_reported, 1);
    char *rep = unit_read_report();
    cr_assert_not_null(rep);
    cr_assert(strstr(rep, "\"schema\":\"forkwatch-event/1\",\"event\":\"fork-deadlock\"") != NULL, "%s", rep);
    cr_assert(strstr(rep, "\"pid\":200,\"ppid\":100,\"fork_id\":1,\"policy\":\"warn\",\"acquire\":\"blocking\"") != NULL, "%s", rep);
    cr_assert(strstr(rep, "\"kind\":\"pthread_mutex\"") != NULL);
    cr_assert(strstr(rep, "\"alive\":false") != NULL);
    cr_assert(strstr(rep, "\"address\":\"0x5555\"") != NULL, "waiter call site");
    cr_assert_eq(rep[strlen(rep) - 1], '\n');
    cr_assert_eq(strchr(rep, '\n'), rep + strlen(rep) - 1, "one line per event");
    pthread_barrier_wait(&step);
}

Test(orphan, try_acquire_is_a_hazard_reported_once)
{
    simulate_fork();
    (void)fw_thread_self();
    fw_orphan_on_acquire(&held_mutex, FW_KIND_MUTEX, FW_ACQ_TRY, 0x5555);
    fw_orphan_on_acquire(&held_mutex, FW_KIND_MUTEX, FW_ACQ_TIMED, 0x5556);
    cr_assert_eq(forkwatch_registry.header.hazards_reported, 1);
    cr_assert_eq(orphan(&held_mutex)->orphan_state, FW_ORPHAN_LIVE);
    char *rep = unit_read_report();
    cr_assert(strstr(rep, "\"event\":\"fork-hazard\"") != NULL);
    cr_assert(strstr(rep, "\"acquire\":\"try\"") != NULL);
    pthread_barrier_wait(&step);
}

Test(orphan, readers_do_not_wait_for_readers)
{
    simulate_fork();
    (void)fw_thread_self();
    fw_orphan_on_acquire(&read_lock, FW_KIND_RWLOCK_READ, FW_ACQ_BLOCKING, 0x5555);
    cr_assert_eq(forkwatch_registry.header.deadlocks_reported, 0);
    fw_orphan_on_acquire(&read_lock, FW_KIND_RWLOCK_WRITE, FW_ACQ_BLOCKING, 0x5555);
    cr_assert_eq(forkwatch_registry.header.deadlocks_reported, 1);
    pthread_barrier_wait(&step);
}

Test(orphan, reinitialised_or_released_orphans_are_settled)
{
    simulate_fork();
    (void)fw_thread_self();
    fw_lock_reinit(&held_mutex, FW_KIND_MUTEX, 0);
    cr_assert_eq(orphan(&held_mutex)->orphan_state, FW_ORPHAN_REINITIALISED);
    const struct fw_thread *holder = &forkwatch_registry.threads[orphan(&held_mutex)->holder_slot];
    for (uint32_t k = 0; k < holder->held_used; k++)
        cr_assert(holder->held[k].lock_addr != (uint64_t)(uintptr_t)&held_mutex ||
                  holder->held[k].state != FW_HOLD_HELD, "a later fork must not see it held");
    fw_orphan_on_acquire(&held_mutex, FW_KIND_MUTEX, FW_ACQ_BLOCKING, 0x5555);
    cr_assert_eq(forkwatch_registry.header.deadlocks_reported, 0);
    fw_release(&late_mutex, FW_KIND_MUTEX);   /* the child unlocks an orphan */
    cr_assert_eq(orphan(&late_mutex)->orphan_state, FW_ORPHAN_REINITIALISED);
    pthread_barrier_wait(&step);
}

Test(orphan, policy_off_reports_nothing)
{
    simulate_fork();
    (void)fw_thread_self();
    fw_cfg.policy = FW_POLICY_OFF;
    fw_orphan_on_acquire(&held_mutex, FW_KIND_MUTEX, FW_ACQ_BLOCKING, 0x5555);
    cr_assert_eq(forkwatch_registry.header.deadlocks_reported, 0);
    cr_assert_null(unit_read_report());
    pthread_barrier_wait(&step);
}

Test(orphan, abort_policy_exits_with_the_configured_status, .exit_code = 77)
{
    simulate_fork();
    (void)fw_thread_self();
    fw_cfg.policy = FW_POLICY_ABORT;
    fw_cfg.exit_status = 77;
    fw_orphan_on_acquire(&held_mutex, FW_KIND_MUTEX, FW_ACQ_BLOCKING, 0x5555);
}
