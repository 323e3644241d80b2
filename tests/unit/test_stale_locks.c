/* Locks the agent recorded whose memory is gone, or that another process
 * releases: at fork they must neither crash the agent nor become orphans.
 * (multiprocessing's SemLock is a sem_open semaphore: taken by a parent thread,
 * released by a worker process, sem_close'd and unmapped later — its record
 * stays; reading it at fork used to kill the child with SIGSEGV.) */
#include <criterion/criterion.h>

#include "unit_agent.h"

#include "fw_fork.h"
#include "fw_lockops.h"
#include "fw_orphan.h"

#include <pthread.h>
#include <semaphore.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static sem_t *unmapped_sem, *shared_sem, private_sem;
static pthread_barrier_t step;

static void track(const void *lock)
{
    struct fw_op op;
    fw_acquire_begin(&op, lock, FW_KIND_SEMAPHORE, FW_ACQ_BLOCKING, 0x4242);
    fw_acquire_end(&op, 1, FW_KIND_SEMAPHORE);
}

static sem_t *sem_in_page(int flags, int pshared)
{
    void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, flags | MAP_ANONYMOUS, -1, 0);
    cr_assert_neq(p, MAP_FAILED);
    sem_t *s = p;
    sem_init(s, pshared, 1);
    return s;
}

static void *holder(void *arg)
{
    (void)arg;
    sem_wait(unmapped_sem);
    track(unmapped_sem);
    sem_wait(shared_sem);
    track(shared_sem);
    sem_wait(&private_sem);
    track(&private_sem);
    munmap(unmapped_sem, 4096);   /* its record stays: nobody posted it here */
    pthread_barrier_wait(&step);  /* 1: held; the "fork" may come */
    pthread_barrier_wait(&step);  /* 2: end of test */
    return NULL;
}

static pthread_t holder_thread;

static void setup(void)
{
    unit_agent_reset(FW_POLICY_OFF);
    unmapped_sem = sem_in_page(MAP_PRIVATE, 0);
    shared_sem = sem_in_page(MAP_SHARED, 1);
    sem_init(&private_sem, 0, 1);
    pthread_barrier_init(&step, NULL, 2);
    pthread_create(&holder_thread, NULL, holder, NULL);
    pthread_barrier_wait(&step);
}

TestSuite(stale_locks, .init = setup);

Test(stale_locks, unmapped_and_process_shared_semaphores_are_no_orphans_and_do_not_crash)
{
    struct fw_thread *self = fw_thread_self();
    struct fw_registry *r = &forkwatch_registry;
    unit_record_fork();
    uint32_t n = fw_fork_snapshot_held(self);
    cr_assert_eq(n, 1, "only the private semaphore is a fork_held entry (got %u)", n);
    cr_assert_eq(r->fork_held[0].lock_addr, (uint64_t)(uintptr_t)&private_sem);
    fw_fork_mark_child(self, 200, 200);   /* reads recorded lock words: must not fault */
    cr_assert_geq(fw_orphan_lookup((uint64_t)(uintptr_t)&private_sem), 0, "the private one is an orphan");
    cr_assert_lt(fw_orphan_lookup((uint64_t)(uintptr_t)unmapped_sem), 0, "an unmapped lock is no orphan");
    cr_assert_lt(fw_orphan_lookup((uint64_t)(uintptr_t)shared_sem), 0, "a process-shared semaphore is no orphan");
}

Test(stale_locks, fault_safe_lock_word_reads)
{
    cr_assert_eq(fw_lockword_held_at(FW_KIND_SEMAPHORE, (uint64_t)(uintptr_t)unmapped_sem), 0);
    cr_assert_eq(fw_lockword_owner_at(FW_KIND_MUTEX, (uint64_t)(uintptr_t)unmapped_sem), 0);
    cr_assert_eq(fw_lockword_read_held_at((uint64_t)(uintptr_t)unmapped_sem), 0);
    cr_assert_eq(fw_lockword_held_at(FW_KIND_SEMAPHORE, (uint64_t)(uintptr_t)&private_sem), 1, "held, readable");
    cr_assert_eq(fw_lockword_can_be_orphan_at(FW_KIND_SEMAPHORE, (uint64_t)(uintptr_t)shared_sem), 0);
    cr_assert_eq(fw_lockword_can_be_orphan_at(FW_KIND_SEMAPHORE, (uint64_t)(uintptr_t)&private_sem), 1);
}
