/* underscore_fork.c — _Fork() (no atfork handlers) while another thread holds
 * a mutex: the child knows the orphan (the fork record says via _Fork), a
 * trylock gives EBUSY and a hazard, a blocking lock is reported and the child
 * exits 86 under the agent (it would hang bare, so bare children stop at the
 * trylock). */
#define _GNU_SOURCE
#include "edge.h"

#include <signal.h>
#include <sys/wait.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static atomic_int step, htid;

static void *holder(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&m);
    atomic_store(&htid, edge_tid());
    atomic_store(&step, 1);
    edge_wait_flag(&step, 2);
    pthread_mutex_unlock(&m);
    return 0;
}

extern pid_t _Fork(void);

static int child(void)
{
    struct fw_registry *r = edge_reg();
    int bad = 0;
    if (r) {
        const struct fw_registry_header *h = &r->header;
        bad |= h->pid != getpid();
        bad |= h->born_of_fork_id == 0;
        bad |= r->forks[h->latest_fork_slot % FW_MAX_FORKS].via != FW_VIA_UNDERSCORE_FORK;
        int live = 0;
        for (uint32_t i = 0; i < h->fork_held.used && i < FW_MAX_FORK_HELD; i++)
            live += r->fork_held[i].lock_addr == (uint64_t)(uintptr_t)&m &&
                    r->fork_held[i].orphan_state == FW_ORPHAN_LIVE && r->fork_held[i].holder_tid == atomic_load(&htid);
        bad |= (live != 1) << 1;
    }
    int rc = pthread_mutex_trylock(&m);
    bad |= (rc != EBUSY) << 2;
    if (r) {
        bad |= (r->header.hazards_reported != 1) << 3;
        if (bad)
            _exit(10 + bad);
        pthread_mutex_lock(&m);   /* reported, then _exit(86) */
        _exit(20);
    }
    _exit(bad ? 10 + bad : 0);
}

int main(void)
{
    edge_reg();
    pthread_t t;
    pthread_create(&t, 0, holder, 0);
    edge_wait_flag(&step, 1);
    uint64_t forks_before = edge_agent() ? edge_reg()->header.forks_total : 0;
    pid_t pid = _Fork();
    if (pid == 0)
        child();
    int code = edge_reap(pid);
    int want = edge_agent() ? FW_EXIT_DEADLOCK : 0;
    CHECK(code == want, "child exit %d, want %d (10+: bits of failed child checks)", code, want);
    R("child as expected %d", code == want);
    if (edge_agent())
        CHECK(edge_reg()->header.forks_total == forks_before + 1, "the parent recorded %llu forks, want %llu",
              (unsigned long long)edge_reg()->header.forks_total, (unsigned long long)forks_before + 1);
    EXPECT_ENTRIES(atomic_load(&htid), &m, FW_HOLD_HELD, 1);   /* the parent is untouched */
    atomic_store(&step, 2);
    pthread_join(t, 0);
    return edge_finish("underscore_fork");
}
