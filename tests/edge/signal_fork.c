/* signal_fork.c — fork() from a signal handler that interrupts the program (and
 * so the agent's own bookkeeping) at random points of a lock/unlock loop, while
 * another thread holds a mutex. Every child must see exactly: the other
 * thread's mutex a live orphan (trylock EBUSY), the interrupted thread's own
 * loop mutex never an orphan; no hang, no crash. */
#define _GNU_SOURCE
#include "edge.h"

#include <signal.h>
#include <sys/time.h>
#include <sys/wait.h>

#define FORKS 40

static pthread_mutex_t held = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t mine = PTHREAD_MUTEX_INITIALIZER;
static pthread_rwlock_t rwmine = PTHREAD_RWLOCK_INITIALIZER;
static atomic_int step, htid;
static volatile sig_atomic_t forks, bad_children, bad_bits;

static void *holder(void *arg)
{
    (void)arg;
    sigset_t s;   /* the signal (process-directed) must interrupt the main thread */
    sigemptyset(&s);
    sigaddset(&s, SIGALRM);
    pthread_sigmask(SIG_BLOCK, &s, 0);
    pthread_mutex_lock(&held);
    atomic_store(&htid, edge_tid());
    atomic_store(&step, 1);
    edge_wait_flag(&step, 2);
    pthread_mutex_unlock(&held);
    return 0;
}

static int live_orphans(const struct fw_registry *r, const void *lock)
{
    int n = 0;
    for (uint32_t i = 0; i < r->header.fork_held.used && i < FW_MAX_FORK_HELD; i++)
        n += r->fork_held[i].lock_addr == (uint64_t)(uintptr_t)lock &&
             r->fork_held[i].orphan_state == FW_ORPHAN_LIVE;
    return n;
}

static void on_alarm(int sig)
{
    (void)sig;
    if (forks >= FORKS)
        return;
    int saved = errno;
    pid_t pid = fork();
    if (pid == 0) {
        int bad = pthread_mutex_trylock(&held) != EBUSY;
        const struct fw_registry *r = edge_reg();
        if (r) {
            bad |= (live_orphans(r, &held) != 1) << 1;
            bad |= (live_orphans(r, &mine) != 0) << 2;
            bad |= (live_orphans(r, &rwmine) != 0) << 3;
            bad |= (r->header.pid != getpid()) << 4;
        }
        _exit(bad);
    }
    if (pid > 0) {
        forks++;
        int st = 0;
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
            ;
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        {
            bad_children++;
            bad_bits |= WIFEXITED(st) ? WEXITSTATUS(st) : 0x100;
        }
    }
    errno = saved;
}

int main(void)
{
    edge_reg();
    pthread_t t;
    pthread_create(&t, 0, holder, 0);
    edge_wait_flag(&step, 1);
    /* warm up (first use of each call site captures its stack) */
    pthread_mutex_lock(&mine);
    pthread_mutex_unlock(&mine);
    pthread_rwlock_rdlock(&rwmine);
    pthread_rwlock_unlock(&rwmine);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, 0);
    struct itimerval it = { { 0, 500 }, { 0, 500 } };
    setitimer(ITIMER_REAL, &it, 0);
    long loops = 0;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (forks < FORKS) {
        pthread_mutex_lock(&mine);
        pthread_mutex_unlock(&mine);
        pthread_rwlock_rdlock(&rwmine);
        pthread_rwlock_unlock(&rwmine);
        if ((++loops & 0xfff) == 0) {
            struct timespec now;
            clock_gettime(CLOCK_MONOTONIC, &now);
            if (now.tv_sec - t0.tv_sec > 30)
                break;
        }
    }
    struct itimerval off = { { 0, 0 }, { 0, 0 } };
    setitimer(ITIMER_REAL, &off, 0);
    CHECK(forks == FORKS, "only %d forks in 30 s", (int)forks);
    CHECK(bad_children == 0, "%d of %d children saw wrong orphans (failed checks: 0x%x)", (int)bad_children,
          (int)forks, (int)bad_bits);
    R("forks %d bad children %d", (int)forks, (int)bad_children);
    EXPECT_ENTRIES(0, &mine, FW_HOLD_EMPTY, 0);
    EXPECT_ENTRIES(atomic_load(&htid), &held, FW_HOLD_HELD, 1);
    atomic_store(&step, 2);
    pthread_join(t, 0);
    return edge_finish("signal_fork");
}
