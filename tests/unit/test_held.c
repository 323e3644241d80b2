/* Per-thread held entries through the same inline code the interposers use. */
#include <criterion/criterion.h>

#include "fw_lockops.h"

#include <pthread.h>
#include <semaphore.h>
#include <unistd.h>

static void setup(void)
{
    fw_registry_init_header();
    fw_enabled = 1;
    fw_cfg.stacks = 0;   /* stack capture has its own tests */
}

static void acquire(const void *lock, uint32_t kind, int mode, int ok)
{
    struct fw_op op;
    fw_acquire_begin(&op, lock, kind, mode, 0x1234);
    fw_acquire_end(&op, ok, kind);
}

static uint32_t count_state(const struct fw_thread *t, uint32_t state)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < t->held_used; i++)
        n += t->held[i].state == state;
    return n;
}

TestSuite(held, .init = setup);

Test(held, slot_is_claimed_once_with_tid_and_name)
{
    struct fw_thread *t = fw_thread_self();
    cr_assert_not_null(t);
    cr_assert_eq(fw_thread_self(), t);
    cr_assert_eq(t->state, FW_THREAD_LIVE);
    cr_assert_eq(t->tid, gettid());
    cr_assert_eq(t->pthread_id, (uint64_t)pthread_self());
    cr_assert_geq(forkwatch_registry.header.threads.used, fw_thread_index(t) + 1);
}

Test(held, entry_is_held_after_acquire_and_gone_after_release)
{
    int lock = 0;
    acquire(&lock, FW_KIND_MUTEX, FW_ACQ_BLOCKING, 1);
    struct fw_thread *t = fw_tls_slot;
    cr_assert_eq(t->held_used, 1);
    cr_assert_eq(t->held[0].state, FW_HOLD_HELD);
    cr_assert_eq(t->held[0].lock_addr, (uint64_t)(uintptr_t)&lock);
    cr_assert_eq(t->held[0].call_site, 0x1234);
    cr_assert_eq(t->held[0].kind, FW_KIND_MUTEX);
    fw_release(&lock, FW_KIND_MUTEX);
    cr_assert_eq(t->held_used, 0);
    cr_assert_eq(t->held[0].state, FW_HOLD_EMPTY);
}

Test(held, blocking_acquire_is_visible_as_acquiring)
{
    int lock = 0;
    struct fw_op op;
    fw_acquire_begin(&op, &lock, FW_KIND_MUTEX, FW_ACQ_BLOCKING, 1);
    cr_assert_eq(op.e->state, FW_HOLD_ACQUIRING);
    fw_acquire_end(&op, 0, FW_KIND_MUTEX);   /* e.g. a timed acquire that timed out */
    cr_assert_eq(fw_tls_slot->held_used, 0);
}

Test(held, failed_try_leaves_no_trace)
{
    int lock = 0;
    struct fw_op op;
    fw_acquire_begin(&op, &lock, FW_KIND_MUTEX, FW_ACQ_TRY, 1);
    cr_assert_eq(op.e->state, FW_HOLD_EMPTY);   /* never published before success */
    fw_acquire_end(&op, 0, FW_KIND_MUTEX);
    cr_assert_eq(count_state(fw_tls_slot, FW_HOLD_HELD), 0);
}

Test(held, out_of_order_release_and_reuse_of_holes)
{
    int a = 0, b = 0, c = 0, d = 0;
    acquire(&a, FW_KIND_MUTEX, FW_ACQ_BLOCKING, 1);
    acquire(&b, FW_KIND_MUTEX, FW_ACQ_BLOCKING, 1);
    acquire(&c, FW_KIND_MUTEX, FW_ACQ_BLOCKING, 1);
    struct fw_thread *t = fw_tls_slot;
    fw_release(&a, FW_KIND_MUTEX);
    cr_assert_eq(t->held_used, 3);
    cr_assert_eq(count_state(t, FW_HOLD_HELD), 2);
    fw_release(&c, FW_KIND_MUTEX);
    cr_assert_eq(t->held_used, 2);
    fw_release(&b, FW_KIND_MUTEX);
    cr_assert_eq(t->held_used, 0, "trailing holes are trimmed");
    acquire(&d, FW_KIND_MUTEX, FW_ACQ_BLOCKING, 1);
    cr_assert_eq(t->held_used, 1);
    cr_assert(t->held[0].seq > 0, "seq counts acquisitions");
}

Test(held, overflow_sets_flag_and_drops)
{
    fw_cfg.quiet = 1;
    char locks[FW_MAX_HELD + 3];
    for (unsigned i = 0; i < sizeof locks; i++)
        acquire(&locks[i], FW_KIND_MUTEX, FW_ACQ_BLOCKING, 1);
    struct fw_thread *t = fw_tls_slot;
    cr_assert_eq(t->held_used, FW_MAX_HELD);
    cr_assert_eq(t->held_dropped, 3);
    cr_assert(forkwatch_registry.header.flags & FW_FLAG_HELD_FULL);
    /* Releasing one that was never recorded is harmless. */
    fw_release(&locks[FW_MAX_HELD + 1], FW_KIND_MUTEX);
    fw_release(&locks[0], FW_KIND_MUTEX);
    cr_assert_eq(count_state(t, FW_HOLD_HELD), FW_MAX_HELD - 1);
    /* A hole is reused once the table is full. */
    acquire(&locks[FW_MAX_HELD], FW_KIND_MUTEX, FW_ACQ_BLOCKING, 1);
    cr_assert_eq(count_state(t, FW_HOLD_HELD), FW_MAX_HELD);
}

Test(held, cond_wait_releases_and_retakes_the_mutex)
{
    int m = 0;
    acquire(&m, FW_KIND_MUTEX, FW_ACQ_BLOCKING, 1);
    struct fw_held *e = fw_cond_wait_begin(&m);
    cr_assert_not_null(e);
    cr_assert_eq(e->state, FW_HOLD_COND_RELEASED);
    fw_cond_wait_end(e);
    cr_assert_eq(e->state, FW_HOLD_HELD);
}

Test(held, guard_passes_through)
{
    int m = 0;
    (void)fw_thread_self();
    fw_tls_guard = 1;
    acquire(&m, FW_KIND_MUTEX, FW_ACQ_BLOCKING, 1);
    fw_tls_guard = 0;
    cr_assert_eq(fw_tls_slot->held_used, 0);
}

/* ---- semaphores ---- */

struct remote { sem_t *sem; pthread_barrier_t *took, *posted; };

static void *take_and_wait(void *arg)
{
    struct remote *r = arg;
    acquire(r->sem, FW_KIND_SEMAPHORE, FW_ACQ_BLOCKING, 1);
    pthread_barrier_wait(r->took);
    pthread_barrier_wait(r->posted);
    return (void *)(uintptr_t)count_state(fw_tls_slot, FW_HOLD_HELD);
}

Test(held, sem_post_by_another_thread_removes_the_holders_entry)
{
    sem_t sem;
    sem_init(&sem, 0, 1);
    pthread_barrier_t took, posted;
    pthread_barrier_init(&took, NULL, 2);
    pthread_barrier_init(&posted, NULL, 2);
    struct remote r = { &sem, &took, &posted };
    pthread_t th;
    pthread_create(&th, NULL, take_and_wait, &r);
    pthread_barrier_wait(&took);
    (void)fw_thread_self();
    fw_sem_release(&sem);            /* this thread holds nothing: remote release */
    pthread_barrier_wait(&posted);
    void *left;
    pthread_join(th, &left);
    cr_assert_eq((uintptr_t)left, 0, "the holder's entry was taken away");
}

Test(held, sem_post_prefers_the_posters_own_entry)
{
    sem_t sem;
    sem_init(&sem, 0, 1);
    acquire(&sem, FW_KIND_SEMAPHORE, FW_ACQ_BLOCKING, 1);
    fw_sem_release(&sem);
    cr_assert_eq(fw_tls_slot->held_used, 0);
}

Test(held, sem_taken_again_by_its_holder_keeps_one_entry)
{
    sem_t sem;
    sem_init(&sem, 0, 1);
    acquire(&sem, FW_KIND_SEMAPHORE, FW_ACQ_BLOCKING, 1);
    acquire(&sem, FW_KIND_SEMAPHORE, FW_ACQ_BLOCKING, 1);
    cr_assert_eq(count_state(fw_tls_slot, FW_HOLD_HELD), 1);
}

Test(held, destroy_forgets_every_entry)
{
    sem_t sem;
    sem_init(&sem, 0, 1);
    acquire(&sem, FW_KIND_SEMAPHORE, FW_ACQ_BLOCKING, 1);
    fw_lock_reinit(&sem, FW_KIND_SEMAPHORE, 1);
    cr_assert_eq(count_state(fw_tls_slot, FW_HOLD_HELD), 0);
}

Test(held, thread_exit_frees_the_slot)
{
    struct fw_thread *t = fw_thread_self();
    int m = 0;
    acquire(&m, FW_KIND_MUTEX, FW_ACQ_BLOCKING, 1);
    fw_thread_exit(t);
    cr_assert_eq(t->state, FW_THREAD_EXITED);
    cr_assert_eq(t->held_used, 0);
    cr_assert_eq(fw_tls_guard, 1, "later lock ops of an exiting thread pass through");
}

static void *really_take_and_wait(void *arg)
{
    struct remote *r = arg;
    sem_wait(r->sem);
    acquire(r->sem, FW_KIND_SEMAPHORE, FW_ACQ_BLOCKING, 1);
    pthread_barrier_wait(r->took);
    pthread_barrier_wait(r->posted);
    return (void *)(uintptr_t)count_state(fw_tls_slot, FW_HOLD_HELD);
}

Test(held, destroying_a_held_semaphore_clears_the_holders_entry)
{
    sem_t sem;
    sem_init(&sem, 0, 1);
    pthread_barrier_t took, destroyed;
    pthread_barrier_init(&took, NULL, 2);
    pthread_barrier_init(&destroyed, NULL, 2);
    struct remote r = { &sem, &took, &destroyed };
    pthread_t th;
    pthread_create(&th, NULL, really_take_and_wait, &r);
    pthread_barrier_wait(&took);
    (void)fw_thread_self();
    fw_lock_reinit(&sem, FW_KIND_SEMAPHORE, 1);   /* value 0: someone holds it */
    pthread_barrier_wait(&destroyed);
    void *left;
    pthread_join(th, &left);
    cr_assert_eq((uintptr_t)left, 0);
}
