/*
 * fork_stress.c — issue 6 §2: many threads doing random mutex / rwlock / condition /
 * semaphore / C11 mutex operations on a shared set of locks while some of them fork.
 *
 * Ground truth. Every thread keeps its own array of the locks it holds, written only
 * around the real lock calls, in the agent's order (an entry is added after the real
 * acquire succeeded and removed before the real release). A fork happens under a
 * stop-the-world: the forker raises `stop`; every other thread either parks at its safe
 * point (between two operations) or is *stably blocked*: inside a blocking acquire of a
 * lock that the truth says is held, incompatibly, by some thread (which therefore cannot
 * release it while the world is stopped), or inside a condition wait whose mutex is
 * held by another thread. The forker checks that with a double collect of per-thread
 * sequence counters, so when it calls fork() the truth is exact.
 *
 * Each child reads the agent's `forkwatch_registry` (found with dlsym in the parent,
 * never in the child) through the header's table descriptors, takes the fork_held
 * entries whose orphan_state is FW_ORPHAN_LIVE, and compares them with the truth:
 * (lock, holder TID, kind) for every lock held by a thread other than the forker,
 * except a semaphore its holder is at the same time waiting for (a CPython Condition
 * waiter; DESIGN.md). Then it may probe the agent (blocking acquire of an orphan →
 * must _exit(86); try-acquire of an orphan → EBUSY, no abort; acquire of a lock that
 * was free → succeeds; re-initialised orphan → acquire succeeds) and _exits with a
 * status saying what it found. The forker waits for the child with a bound.
 *
 * When the agent's tables are too small for the truth (a thread holding more than
 * FW_MAX_HELD locks, more than FW_MAX_FORK_HELD held at a fork, more than
 * FW_MAX_THREADS threads) the check relaxes to "agent ⊆ truth" and requires the
 * matching header flag.
 *
 * Exit status: 0 all forks checked and matched, 1 a check failed, 2 usage,
 * 3 harness stuck (world did not stop / threads did not finish), 4 agent not loaded.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "forkwatch_abi.h"

#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <threads.h>
#include <time.h>
#include <unistd.h>

#define MAXH 64            /* truth entries per thread (> FW_MAX_HELD on purpose) */

enum lkind { LK_MUTEX, LK_RWLOCK, LK_SEM, LK_MTX };
enum mflav { MF_NORMAL, MF_STATIC, MF_RECURSIVE, MF_ERRORCHECK, MF_ADAPTIVE, MF_PI, MF_ROBUST, MF_COUNT };

struct lockobj {
    union {
        pthread_mutex_t m;
        pthread_rwlock_t rw;
        sem_t s;
        mtx_t c;
    } u;                   /* first: &locks[i] is the lock's address */
    int kind;
    int flav;
    int cond;              /* index into conds[], -1 none */
    int recursive;
};

struct condobj {
    union {
        pthread_cond_t pc;
        cnd_t cc;
    } u;
};

enum tstate { ST_RUN = 0, ST_PARKED, ST_BLOCK, ST_CONDWAIT, ST_EXITED, ST_WAITCHILD };
/* ST_WAITCHILD: a forker waiting for its child; it touches no lock meanwhile (stable) */

struct held {
    int idx;
    int mode;              /* FW_KIND_* */
    int count;             /* recursive re-locks */
    int pinned;
};

struct wthread {
    pthread_t pt;
    pid_t tid;
    int id;
    int role;              /* 0 worker, 1 idle holder (pinned), 2 main */
    int forker;
    _Atomic int state;
    _Atomic int target;
    _Atomic int want;      /* FW_KIND_* wanted by a blocked acquire */
    _Atomic unsigned seq;
    _Atomic int handoff;   /* semaphore published for the notifier, -1 none */
    _Atomic int started;
    _Atomic int inop;      /* lock index of the operation in flight (racy mode), -1 none */
    int nheld;
    struct held held[MAXH];
    uint64_t rng;
    unsigned long ops;
};

/* parameters */
static int n_threads = 16, n_forkers = 2, n_locks = 512, n_forks = 20, hold_max = 4;
static int pinned_threads = 0, pinned_per = 0;
static int expect_abort_status = FW_EXIT_DEADLOCK;
static int racy = 0;
/* PI mutexes: off by default. Without any agent, a thread here sometimes stays blocked in
 * pthread_mutex_lock on a PI mutex whose lock word is 0 when other threads fork
 * (glibc 2.36, Linux 6.18): a lost PI wake-up that is not ours to test. */
static int use_pi = 0;
static int inject = 0, fork_every = 64;   /* inject: 1 hide a truth entry, 2 invent one */
static int probes = 1, use_recursive = 1, verbose = 0, require_agent = 1;
static double max_seconds = 120, child_timeout = 30, stop_timeout = 30;
static uint64_t seed = 1;
static int pinned_base = 0;   /* locks [0, pinned_base) are reserved for pinned holders */

static struct lockobj *locks;
static struct condobj *conds;
static int n_conds;
static struct wthread *threads;   /* n_threads workers/holders + main at [n_threads] */
static int n_all;

static const struct fw_registry_header *reg;

static _Atomic int stop_flag;     /* futex word */
static _Atomic int world_owner;   /* 1 + id of the forker */
static _Atomic int done_flag;
static _Atomic int forks_claimed, forks_done, forks_failed, children_bad;
static _Atomic int held_overflow_seen;
static _Atomic int max_orphans_seen, max_expected_seen;
static _Atomic int probe_count[6];
static _Atomic int harness_stuck;
static _Atomic int all_started;
static int *cond_lock;             /* cond index -> its lock */

/* Racy mode: children add what they measured here (shared with the parent). */
struct racy_stats {
    _Atomic long forks, live, truth, matched, missed, stale, uncertain;
};
static struct racy_stats *rstats;

/* per-check scratch, allocated before any fork (the child must not allocate) */
static unsigned *stamp_w, *stamp_r;     /* generation stamps per lock */
static int *cnt_w, *cnt_r;
static unsigned stamp_gen;
static unsigned char *matched;          /* [n_all * MAXH] */
static pthread_mutex_t stop_check_mutex_unused;

/* --------------------------------------------------------------------------- */

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "fork_stress: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(2);
}

/* Child-safe message: format into a stack buffer, one write(2). */
static void say(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if (n > (int)sizeof buf - 2)
        n = (int)sizeof buf - 2;
    buf[n++] = '\n';
    ssize_t w = write(2, buf, (size_t)n);
    (void)w;
}

static uint64_t rnd(struct wthread *t)
{
    uint64_t x = t->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    t->rng = x;
    return x * 0x2545F4914F6CDD1Dull;
}

static int rnd_below(struct wthread *t, int n) { return n > 0 ? (int)(rnd(t) % (uint64_t)n) : 0; }

static void futex_wait(_Atomic int *addr, int val)
{
    struct timespec ts = {0, 50 * 1000 * 1000};
    syscall(SYS_futex, (int *)addr, FUTEX_WAIT_PRIVATE, val, &ts, NULL, 0);
}

static void futex_wake_all(_Atomic int *addr)
{
    syscall(SYS_futex, (int *)addr, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static struct timespec deadline(clockid_t clk, long usec)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    ts.tv_nsec += usec * 1000;
    while (ts.tv_nsec >= 1000000000L) {
        ts.tv_nsec -= 1000000000L;
        ts.tv_sec++;
    }
    return ts;
}

static void set_state(struct wthread *t, int st, int target, int want)
{
    atomic_store(&t->target, target);
    atomic_store(&t->want, want);
    atomic_fetch_add(&t->seq, 1);
    atomic_store(&t->state, st);
    atomic_fetch_add(&t->seq, 1);
}

/* --------------------------------------------------------------------------- */
/* truth bookkeeping (own thread; the notifier edits a blocked thread's array)   */

static int agent_slots(const struct wthread *t)
{
    int n = 0;
    for (int i = 0; i < t->nheld; i++)
        n += t->held[i].mode == FW_KIND_SEMAPHORE ? 1 : t->held[i].count;
    return n;
}

static struct held *find_held(struct wthread *t, int idx)
{
    for (int i = 0; i < t->nheld; i++)
        if (t->held[i].idx == idx)
            return &t->held[i];
    return NULL;
}

static void add_held(struct wthread *t, int idx, int mode)
{
    struct held *h = find_held(t, idx);
    if (h) {
        h->count++;
        return;
    }
    if (t->nheld >= MAXH) {
        say("fork_stress: harness: truth table full");
        abort();
    }
    /* entry first, then the count (release): a fork child never sees a torn entry */
    t->held[t->nheld] = (struct held){idx, mode, 1, 0};
    __atomic_store_n(&t->nheld, t->nheld + 1, __ATOMIC_RELEASE);
    atomic_fetch_add(&t->seq, 2);
}

static void drop_held(struct wthread *t, int idx)
{
    for (int i = 0; i < t->nheld; i++)
        if (t->held[i].idx == idx) {
            if (--t->held[i].count > 0)
                return;
            /* copy the last entry over this one, then shrink (release): a fork child may
             * see the last entry twice for a moment (the racy check counts it once),
             * never miss it */
            int last = t->nheld - 1;
            t->held[i] = t->held[last];
            __atomic_store_n(&t->nheld, last, __ATOMIC_RELEASE);
            atomic_fetch_add(&t->seq, 2);
            return;
        }
    say("fork_stress: harness: dropping a lock not held");
    abort();
}

static int max_held_idx(const struct wthread *t)
{
    int m = -1;
    for (int i = 0; i < t->nheld; i++)
        if (t->held[i].idx > m)
            m = t->held[i].idx;
    return m;
}

/* Before any acquire: would the agent need more slots than it has? */
static void note_demand(struct wthread *t)
{
    if (agent_slots(t) + 1 > (int)FW_MAX_HELD)
        atomic_store(&held_overflow_seen, 1);
}

/* --------------------------------------------------------------------------- */
/* the operations                                                                */

static int kind_mode_write(const struct lockobj *l)
{
    switch (l->kind) {
    case LK_MUTEX: return FW_KIND_MUTEX;
    case LK_RWLOCK: return FW_KIND_RWLOCK_WRITE;
    case LK_SEM: return FW_KIND_SEMAPHORE;
    default: return FW_KIND_C11_MTX;
    }
}

/* acquire: how = 0 blocking, 1 try, 2 timed (REALTIME), 3 clock (MONOTONIC) */
static int do_acquire(struct wthread *t, int idx, int mode, int how)
{
    struct lockobj *l = &locks[idx];
    int rc = -1;
    note_demand(t);
    atomic_store(&t->inop, idx);
    if (how == 0)
        set_state(t, ST_BLOCK, idx, mode);
    else
        atomic_fetch_add(&t->seq, 2);   /* a timed op ends by itself: never stable */
    struct timespec rt = deadline(CLOCK_REALTIME, 200 + rnd_below(t, 800));
    struct timespec mt = deadline(CLOCK_MONOTONIC, 200 + rnd_below(t, 800));
    switch (l->kind) {
    case LK_MUTEX:
        if (how == 0) rc = pthread_mutex_lock(&l->u.m);
        else if (how == 1) rc = pthread_mutex_trylock(&l->u.m);
        else if (how == 2) rc = pthread_mutex_timedlock(&l->u.m, &rt);
        else rc = pthread_mutex_clocklock(&l->u.m, CLOCK_MONOTONIC, &mt);
        break;
    case LK_RWLOCK:
        if (mode == FW_KIND_RWLOCK_READ) {
            if (how == 0) rc = pthread_rwlock_rdlock(&l->u.rw);
            else if (how == 1) rc = pthread_rwlock_tryrdlock(&l->u.rw);
            else if (how == 2) rc = pthread_rwlock_timedrdlock(&l->u.rw, &rt);
            else rc = pthread_rwlock_clockrdlock(&l->u.rw, CLOCK_MONOTONIC, &mt);
        } else {
            if (how == 0) rc = pthread_rwlock_wrlock(&l->u.rw);
            else if (how == 1) rc = pthread_rwlock_trywrlock(&l->u.rw);
            else if (how == 2) rc = pthread_rwlock_timedwrlock(&l->u.rw, &rt);
            else rc = pthread_rwlock_clockwrlock(&l->u.rw, CLOCK_MONOTONIC, &mt);
        }
        break;
    case LK_SEM:
        do {
            if (how == 0) rc = sem_wait(&l->u.s);
            else if (how == 1) rc = sem_trywait(&l->u.s);
            else if (how == 2) rc = sem_timedwait(&l->u.s, &rt);
            else rc = sem_clockwait(&l->u.s, CLOCK_MONOTONIC, &mt);
        } while (rc != 0 && errno == EINTR);
        break;
    case LK_MTX:
        if (how == 0) rc = mtx_lock(&l->u.c) == thrd_success ? 0 : -1;
        else if (how == 1) rc = mtx_trylock(&l->u.c) == thrd_success ? 0 : -1;
        else rc = mtx_timedlock(&l->u.c, &rt) == thrd_success ? 0 : -1;
        break;
    }
    if (rc == EOWNERDEAD) {
        say("fork_stress: unexpected EOWNERDEAD");
        rc = 0;
    }
    if (how == 0) {
        if (rc != 0) {
            say("fork_stress: blocking acquire of lock %d failed: %d (errno %d)", idx, rc, errno);
            abort();
        }
        set_state(t, ST_RUN, -1, 0);   /* before the truth says held: never "blocked on itself" */
    }
    if (rc == 0)
        add_held(t, idx, mode);
    atomic_store(&t->inop, -1);
    return rc == 0;
}

static void do_release(struct wthread *t, int idx)
{
    struct lockobj *l = &locks[idx];
    struct held *h = find_held(t, idx);
    int mode = h->mode;
    atomic_store(&t->inop, idx);
    drop_held(t, idx);   /* before the real release */
    int rc = 0;
    switch (l->kind) {
    case LK_MUTEX: rc = pthread_mutex_unlock(&l->u.m); break;
    case LK_RWLOCK: rc = pthread_rwlock_unlock(&l->u.rw); break;
    case LK_SEM: rc = sem_post(&l->u.s); break;
    case LK_MTX: rc = mtx_unlock(&l->u.c) == thrd_success ? 0 : -1; break;
    }
    (void)mode;
    atomic_store(&t->inop, -1);
    if (rc != 0) {
        say("fork_stress: release of lock %d failed: %d", idx, rc);
        abort();
    }
}

/* Condition wait on the thread's highest lock (a mutex/mtx with a cond, held once). */
static void do_cond_wait(struct wthread *t, int idx, int variant)
{
    struct lockobj *l = &locks[idx];
    struct condobj *c = &conds[l->cond];
    int mode = kind_mode_write(l);
    atomic_store(&t->inop, idx);
    drop_held(t, idx);                       /* released for the wait */
    set_state(t, ST_CONDWAIT, idx, mode);
    if (l->kind == LK_MUTEX) {
        if (variant == 0) {
            struct timespec rt = deadline(CLOCK_REALTIME, 300 + rnd_below(t, 1000));
            pthread_cond_timedwait(&c->u.pc, &l->u.m, &rt);
        } else if (variant == 1) {
            struct timespec mt = deadline(CLOCK_MONOTONIC, 300 + rnd_below(t, 1000));
            pthread_cond_clockwait(&c->u.pc, &l->u.m, CLOCK_MONOTONIC, &mt);
        } else {
            pthread_cond_wait(&c->u.pc, &l->u.m);   /* woken by the notifier or the forker */
        }
    } else {
        if (variant == 2) {
            cnd_wait(&c->u.cc, &l->u.c);
        } else {
            struct timespec rt = deadline(CLOCK_REALTIME, 300 + rnd_below(t, 1000));
            cnd_timedwait(&c->u.cc, &l->u.c, &rt);
        }
    }
    set_state(t, ST_RUN, -1, 0);
    add_held(t, idx, mode);                  /* re-acquired by the wait */
    atomic_store(&t->inop, -1);
}

/* A CPython Condition waiter: hold semaphore S, publish it, wait for S again until the
 * notifier (main) posts it. S must be the thread's highest lock. */
static void do_handoff(struct wthread *t, int idx)
{
    struct lockobj *l = &locks[idx];
    note_demand(t);
    atomic_store(&t->inop, idx);
    set_state(t, ST_BLOCK, idx, FW_KIND_SEMAPHORE);
    atomic_store(&t->handoff, idx);
    int rc;
    do
        rc = sem_wait(&l->u.s);
    while (rc != 0 && errno == EINTR);
    set_state(t, ST_RUN, -1, 0);
    add_held(t, idx, FW_KIND_SEMAPHORE);
    atomic_store(&t->inop, -1);
}

/* Notifier side: main posts published semaphores, like Condition.notify(). */
static void notify_handoffs(struct wthread *self)
{
    for (int i = 0; i < n_threads; i++) {
        struct wthread *w = &threads[i];
        int s = atomic_load(&w->handoff);
        if (s < 0 || atomic_load(&w->state) != ST_BLOCK)
            continue;
        s = atomic_exchange(&w->handoff, -1);
        if (s < 0)
            continue;
        atomic_fetch_add(&self->seq, 2);
        atomic_store(&self->inop, s);
        drop_held(w, s);                     /* w is blocked in sem_wait: it does not touch it */
        sem_post(&locks[s].u.s);
        atomic_store(&self->inop, -1);
        atomic_fetch_add(&self->seq, 2);
    }
}

static void kick_condwaiters(int only_if_mutex_free)
{
    for (int i = 0; i < n_threads; i++) {
        struct wthread *w = &threads[i];
        if (atomic_load(&w->state) != ST_CONDWAIT)
            continue;
        int idx = atomic_load(&w->target);
        if (idx < 0)
            continue;
        if (only_if_mutex_free && stamp_w[idx] == stamp_gen && cnt_w[idx] > 0)
            continue;
        struct lockobj *l = &locks[idx];
        if (l->kind == LK_MUTEX)
            pthread_cond_broadcast(&conds[l->cond].u.pc);
        else
            cnd_broadcast(&conds[l->cond].u.cc);
    }
}

static void release_all(struct wthread *t)
{
    while (t->nheld > 0) {
        struct held *h = &t->held[t->nheld - 1];
        do_release(t, h->idx);
    }
}

/* --------------------------------------------------------------------------- */
/* stop the world, fork, check                                                   */

static void safe_point(struct wthread *t)
{
    /* Announce RUN, then look at stop again: a forker raises stop before it reads our
     * state, so either it sees RUN (and waits) or we see its stop (and park again). */
    while (atomic_load(&stop_flag)) {
        set_state(t, ST_PARKED, -1, 0);
        while (atomic_load(&stop_flag))
            futex_wait(&stop_flag, 1);
        set_state(t, ST_RUN, -1, 0);
    }
}

/* Holder counts per lock from every truth array (caller: world stopping). */
static void count_holders(void)
{
    stamp_gen++;
    for (int i = 0; i < n_all; i++) {
        struct wthread *w = &threads[i];
        int n = w->nheld;
        for (int k = 0; k < n && k < MAXH; k++) {
            int idx = w->held[k].idx;
            if (idx < 0 || idx >= n_locks)
                continue;
            if (stamp_w[idx] != stamp_gen) {
                stamp_w[idx] = stamp_r[idx] = stamp_gen;
                cnt_w[idx] = cnt_r[idx] = 0;
            }
            if (w->held[k].mode == FW_KIND_RWLOCK_READ)
                cnt_r[idx]++;
            else
                cnt_w[idx]++;
        }
    }
}

static int held_incompatibly(int idx, int want, int self_id, const struct wthread *self)
{
    if (stamp_w[idx] != stamp_gen)
        return 0;
    int w = cnt_w[idx], r = cnt_r[idx];
    if (want == FW_KIND_RWLOCK_READ)
        return w > 0;
    if (want == FW_KIND_SEMAPHORE)
        return w > 0;                        /* the waiter itself may be the holder */
    (void)self_id;
    (void)self;
    return w + r > 0;
}

/* Is every other thread parked or stably blocked? (double collect) */
static int world_stopped(int me)
{
    unsigned seq1[4096];
    unsigned *s1 = n_all <= 4096 ? seq1 : NULL;
    static unsigned *big;
    if (!s1) {
        if (!big)
            big = calloc((size_t)n_all, sizeof *big);
        s1 = big;
    }
    for (int i = 0; i < n_all; i++)
        s1[i] = atomic_load(&threads[i].seq);
    count_holders();
    int ok = 1;
    for (int i = 0; i < n_all && ok; i++) {
        if (i == me)
            continue;
        struct wthread *w = &threads[i];
        int st = atomic_load(&w->state);
        if (!atomic_load(&w->started))
            st = ST_RUN;             /* still taking its pinned locks */
        switch (st) {
        case ST_PARKED:
        case ST_EXITED:
        case ST_WAITCHILD:
            break;
        case ST_BLOCK:
            if (!held_incompatibly(atomic_load(&w->target), atomic_load(&w->want), i, w))
                ok = 0;
            break;
        case ST_CONDWAIT: {
            int idx = atomic_load(&w->target);
            if (!(stamp_w[idx] == stamp_gen && cnt_w[idx] > 0))
                ok = 0;
            break;
        }
        default:
            ok = 0;
        }
    }
    if (!ok)
        kick_condwaiters(1);
    for (int i = 0; i < n_all && ok; i++)
        if (atomic_load(&threads[i].seq) != s1[i] || (s1[i] & 1))
            ok = 0;
    return ok;
}

enum probe { PR_NONE, PR_BLOCK, PR_TRY, PR_FREE, PR_REINIT, PR_NESTED };

static int expected_entry(const struct wthread *w, const struct held *h)
{
    /* a semaphore its holder is also waiting for is no hazard (DESIGN.md) */
    if (h->mode == FW_KIND_SEMAPHORE && atomic_load(&w->state) == ST_BLOCK &&
        atomic_load(&w->target) == h->idx)
        return 0;
    return 1;
}

/* Diagnostics: what the agent's thread table (the child's copy) says about a thread. */
static void describe_agent_thread(int tid, uint64_t addr)
{
    const struct fw_table_desc *td = &reg->threads;
    if ((uint64_t)td->offset + (uint64_t)td->capacity * td->entry_size > reg->total_size)
        return;
    for (uint32_t i = 0; i < td->used && i < td->capacity; i++) {
        const struct fw_thread *ft = (const void *)((const char *)reg + td->offset + (size_t)i * td->entry_size);
        if (ft->tid != tid)
            continue;
        say("  agent slot %u: state %u held_used %u dropped %u", i, ft->state, ft->held_used, ft->held_dropped);
        for (uint32_t k = 0; k < ft->held_used && k < FW_MAX_HELD; k++)
            if (ft->held[k].state)
                say("    entry %u: lock %#lx kind %u state %u seq %u%s", k, (unsigned long)ft->held[k].lock_addr,
                    ft->held[k].kind, ft->held[k].state, ft->held[k].seq,
                    ft->held[k].lock_addr == addr ? "  <== this lock" : "");
    }
}

/* In the child. Returns the exit status. */
static int child_check(int me, int probe, uint64_t prng)
{
    const struct wthread *self = &threads[me];
    int status = 0;
    if (!reg) {
        if (!require_agent)
            return probe == PR_BLOCK ? expect_abort_status : 0;   /* harness self-test */
        say("child: no registry");
        return 13;
    }
    const struct fw_registry_header *h = reg;
    if (h->magic != FW_MAGIC || h->layout_version != FW_LAYOUT_VERSION) {
        say("child: bad registry magic/version");
        return 13;
    }
    const struct fw_table_desc *d = &h->fork_held;
    if (d->entry_size < sizeof(struct fw_fork_held) || d->used > d->capacity ||
        (uint64_t)d->offset + (uint64_t)d->capacity * d->entry_size > h->total_size) {
        say("child: fork_held descriptor out of bounds (off %u size %u cap %u used %u)",
            d->offset, d->entry_size, d->capacity, d->used);
        return 13;
    }
    if (h->pid != getpid())
        say("child: registry pid %d != getpid %d", h->pid, (int)getpid()), status = 15;

    /* --inject: break the truth on purpose, to show the check fails */
    if (inject) {
        for (int i = 0; i < n_all; i++) {
            struct wthread *w = &threads[i];
            if (i == me)
                continue;
            if (inject == 1 && w->nheld > 0 && expected_entry(w, &w->held[0])) {
                w->held[0] = w->held[--w->nheld];
                break;
            }
            if (inject == 2 && w->nheld < MAXH && w->nheld < hold_max) {
                int idx = n_locks - 1;
                if (!find_held(w, idx)) {
                    w->held[w->nheld++] = (struct held){idx, kind_mode_write(&locks[idx]), 1, 0};
                    break;
                }
            }
        }
    }
    /* expected */
    int expected = 0, per_thread_over = 0;
    for (int i = 0; i < n_all; i++) {
        if (i == me)
            continue;
        const struct wthread *w = &threads[i];
        for (int k = 0; k < w->nheld; k++) {
            matched[i * MAXH + k] = 0;
            if (expected_entry(w, &w->held[k]))
                expected += w->held[k].mode == FW_KIND_SEMAPHORE ? 1 : w->held[k].count;
        }
    }
    int over_threads = n_all + 1 > (int)FW_MAX_THREADS;
    int over_held = atomic_load(&held_overflow_seen) || per_thread_over;
    int over_fork = expected > (int)FW_MAX_FORK_HELD;
    int exact = !over_threads && !over_held && !over_fork;

    int live = 0, false_orphans = 0, missed = 0;
    const char *base = (const char *)h + d->offset;
    for (uint32_t e = 0; e < d->used; e++) {
        const struct fw_fork_held *fh = (const void *)(base + (size_t)e * d->entry_size);
        if (fh->orphan_state != FW_ORPHAN_LIVE)
            continue;
        live++;
        uintptr_t a = (uintptr_t)fh->lock_addr;
        uintptr_t b0 = (uintptr_t)locks;
        long idx = -1;
        if (a >= b0 && (a - b0) % sizeof(struct lockobj) == 0 && (a - b0) / sizeof(struct lockobj) < (size_t)n_locks)
            idx = (long)((a - b0) / sizeof(struct lockobj));
        int found = 0;
        if (idx >= 0) {
            for (int i = 0; i < n_all && !found; i++) {
                if (i == me || threads[i].tid != fh->holder_tid)
                    continue;
                const struct wthread *w = &threads[i];
                for (int k = 0; k < w->nheld; k++)
                    if (w->held[k].idx == idx && w->held[k].mode == (int)fh->kind && expected_entry(w, &w->held[k])) {
                        matched[i * MAXH + k] = 1;
                        found = 1;
                        break;
                    }
            }
        }
        if (!found) {
            false_orphans++;
            if (false_orphans <= 5)
                say("child %d: FALSE ORPHAN lock %#lx (index %ld) kind %u holder tid %d (%s)",
                    (int)getpid(), (unsigned long)a, idx, fh->kind, fh->holder_tid, fh->holder_name);
        }
    }
    for (int i = 0; i < n_all; i++) {
        if (i == me)
            continue;
        const struct wthread *w = &threads[i];
        for (int k = 0; k < w->nheld; k++)
            if (expected_entry(w, &w->held[k]) && !matched[i * MAXH + k]) {
                missed++;
                if (exact && missed <= 5) {
                    say("child %d: MISSED ORPHAN lock index %d kind %d (count %d) held by tid %d (thread %d, %s)",
                        (int)getpid(), w->held[k].idx, w->held[k].mode, w->held[k].count, w->tid, i,
                        atomic_load(&w->state) == ST_BLOCK ? "blocked" :
                        atomic_load(&w->state) == ST_CONDWAIT ? "in cond wait" : "parked");
                    describe_agent_thread(w->tid, (uint64_t)(uintptr_t)&locks[w->held[k].idx]);
                }
            }
    }
    /* report for the parent's summary (max orphans) */
    int m = atomic_load(&max_orphans_seen);
    (void)m;
    if (false_orphans)
        status = 10;
    if (exact && missed)
        status = status == 10 ? 12 : 11;
    if (exact && (h->flags & (FW_FLAG_HELD_FULL | FW_FLAG_FORK_HELD_FULL | FW_FLAG_THREADS_FULL))) {
        say("child %d: table-full flag %#x set but no table was exceeded", (int)getpid(), h->flags);
        status = status ? status : 15;
    }
    if (!exact) {
        uint32_t need = (over_threads ? FW_FLAG_THREADS_FULL : 0) | (over_fork ? FW_FLAG_FORK_HELD_FULL : 0) |
                        (over_held ? FW_FLAG_HELD_FULL : 0);
        if ((h->flags & need) != need) {
            say("child %d: tables exceeded (threads %d, held %d, fork_held %d) but flags are %#x",
                (int)getpid(), over_threads, over_held, over_fork, h->flags);
            status = status ? status : 15;
        }
    }
    if (verbose)
        say("child %d: expected %d live %d false %d missed %d exact %d", (int)getpid(), expected, live,
            false_orphans, missed, exact);
    if (status)
        return status;

    /* probes */
    if (probe == PR_NONE)
        return 0;
    if (probe == PR_NESTED) {
        /* the child forks again: its grandchild inherits the same orphans (held by
         * threads vanished twice) and must find exactly the same set */
        pid_t g = fork();
        if (g == 0)
            _exit(child_check(me, PR_NONE, prng));
        if (g < 0)
            return 16;
        int st = 0;
        for (long waited = 0; waitpid(g, &st, WNOHANG) == 0; waited++) {
            if (waited > (long)(child_timeout * 500)) {
                kill(g, SIGKILL);
                waitpid(g, &st, 0);
                say("child %d: grandchild %d hung: killed", (int)getpid(), (int)g);
                return 17;
            }
            struct timespec ts = {0, 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            say("child %d: grandchild %d ended with status %#x", (int)getpid(), (int)g, st);
            return 18;
        }
        return 0;
    }
    /* choose an orphan (exclusive: mutex, rwlock write, semaphore, mtx) of some other thread */
    int cand_idx = -1, cand_kind = 0, n = 0;
    for (int i = 0; i < n_all; i++) {
        if (i == me)
            continue;
        const struct wthread *w = &threads[i];
        for (int k = 0; k < w->nheld; k++) {
            const struct held *hh = &w->held[k];
            if (!expected_entry(w, hh) || hh->mode == FW_KIND_RWLOCK_READ)
                continue;
            if (!matched[i * MAXH + k])
                continue;   /* beyond a full table the agent cannot know it: do not block on it */
            if (probe == PR_REINIT && hh->mode != FW_KIND_MUTEX)
                continue;
            if (probe == PR_TRY && hh->mode == FW_KIND_C11_MTX && locks[hh->idx].recursive)
                continue;
            n++;
            prng = prng * 6364136223846793005ull + 1442695040888963407ull;
            if ((prng >> 33) % (uint64_t)n == 0) {
                cand_idx = hh->idx;
                cand_kind = hh->mode;
            }
        }
    }
    if (probe == PR_FREE) {
        count_holders();
        for (int idx = pinned_base; idx < n_locks; idx++) {
            if (stamp_w[idx] == stamp_gen && (cnt_w[idx] || cnt_r[idx]))
                continue;
            if (self && find_held((struct wthread *)self, idx))
                continue;
            struct lockobj *l = &locks[idx];
            int rc = -1;
            switch (l->kind) {
            case LK_MUTEX: rc = pthread_mutex_lock(&l->u.m); if (!rc) rc = pthread_mutex_unlock(&l->u.m); break;
            case LK_RWLOCK: rc = pthread_rwlock_wrlock(&l->u.rw); if (!rc) rc = pthread_rwlock_unlock(&l->u.rw); break;
            case LK_SEM: rc = sem_wait(&l->u.s); if (!rc) rc = sem_post(&l->u.s); break;
            case LK_MTX: rc = mtx_lock(&l->u.c) == thrd_success ? 0 : -1; if (!rc) mtx_unlock(&l->u.c); break;
            }
            if (rc != 0) {
                say("child %d: lock %d, free at the fork, failed: %d", (int)getpid(), idx, rc);
                return 14;
            }
            return 0;
        }
        return 0;
    }
    if (cand_idx < 0)
        return probe == PR_BLOCK ? 100 : 0;   /* nothing to probe: the parent counts it as unprobed */
    struct lockobj *l = &locks[cand_idx];
    if (probe == PR_TRY) {
        int rc = 0;
        switch (l->kind) {
        case LK_MUTEX: rc = pthread_mutex_trylock(&l->u.m) == EBUSY ? 0 : 1; break;
        case LK_RWLOCK: rc = pthread_rwlock_trywrlock(&l->u.rw) == EBUSY ? 0 : 1; break;
        case LK_SEM: rc = (sem_trywait(&l->u.s) != 0 && errno == EAGAIN) ? 0 : 1; break;
        case LK_MTX: rc = mtx_trylock(&l->u.c) == thrd_busy ? 0 : 1; break;
        }
        if (rc) {
            say("child %d: try-acquire of orphan %d (kind %d) did not fail with busy", (int)getpid(), cand_idx,
                cand_kind);
            return 14;
        }
        return 0;
    }
    if (probe == PR_REINIT) {
        pthread_mutexattr_t a;
        pthread_mutexattr_init(&a);
        pthread_mutex_init(&l->u.m, &a);
        pthread_mutexattr_destroy(&a);
        int rc = pthread_mutex_lock(&l->u.m);
        if (rc) {
            say("child %d: lock of re-initialised orphan %d failed %d", (int)getpid(), cand_idx, rc);
            return 14;
        }
        pthread_mutex_unlock(&l->u.m);
        return 0;
    }
    /* PR_BLOCK: the agent must end us with its deadlock status before we block. */
    switch (l->kind) {
    case LK_MUTEX: pthread_mutex_lock(&l->u.m); break;
    case LK_RWLOCK: pthread_rwlock_wrlock(&l->u.rw); break;
    case LK_SEM: sem_wait(&l->u.s); break;
    case LK_MTX: mtx_lock(&l->u.c); break;
    }
    say("child %d: blocking acquire of orphan %d (kind %d) returned", (int)getpid(), cand_idx, cand_kind);
    return 14;
}

static int probe_has_candidate(int me, int probe)
{
    if (probe == PR_NONE || probe == PR_FREE || probe == PR_NESTED)
        return 1;
    for (int i = 0; i < n_all; i++) {
        if (i == me)
            continue;
        const struct wthread *w = &threads[i];
        for (int k = 0; k < w->nheld; k++) {
            const struct held *hh = &w->held[k];
            if (!expected_entry(w, hh) || hh->mode == FW_KIND_RWLOCK_READ)
                continue;
            if (probe == PR_REINIT && hh->mode != FW_KIND_MUTEX)
                continue;
            if (probe == PR_TRY && hh->mode == FW_KIND_C11_MTX && locks[hh->idx].recursive)
                continue;
            return 1;
        }
    }
    return 0;
}

/* Is lock idx in flux for some thread (an operation on it in flight at the fork)? */
static int in_flux(int idx)
{
    for (int i = 0; i < n_all; i++)
        if (atomic_load(&threads[i].inop) == idx)
            return 1;
    return 0;
}

/* Racy mode, in the child: the truth is each thread's state at the fork, the agent's
 * snapshot was taken a little before. Counts what agrees; probes what must hold. */
static int child_check_racy(int me, int probe, uint64_t prng)
{
    if (!reg)
        return require_agent ? 13 : 0;
    const struct fw_registry_header *h = reg;
    const struct fw_table_desc *d = &h->fork_held;
    if (h->magic != FW_MAGIC || d->entry_size < sizeof(struct fw_fork_held) || d->used > d->capacity ||
        (uint64_t)d->offset + (uint64_t)d->capacity * d->entry_size > h->total_size)
        return 13;
    long live = 0, truth = 0, matched_n = 0, missed = 0, stale = 0, uncertain = 0;
    for (int i = 0; i < n_all; i++)
        for (int k = 0; k < MAXH; k++)
            matched[i * MAXH + k] = 0;
    const char *base = (const char *)h + d->offset;
    int cand = -1, ncand = 0;
    for (uint32_t e = 0; e < d->used; e++) {
        const struct fw_fork_held *fh = (const void *)(base + (size_t)e * d->entry_size);
        if (fh->orphan_state != FW_ORPHAN_LIVE)
            continue;
        live++;
        uintptr_t a = (uintptr_t)fh->lock_addr, b0 = (uintptr_t)locks;
        long idx = -1;
        if (a >= b0 && (a - b0) % sizeof(struct lockobj) == 0 && (a - b0) / sizeof(struct lockobj) < (size_t)n_locks)
            idx = (long)((a - b0) / sizeof(struct lockobj));
        if (idx < 0) {
            say("child %d: LIVE orphan %#lx is not one of our locks", (int)getpid(), (unsigned long)a);
            stale++;
            continue;
        }
        int found = 0;
        for (int i = 0; i < n_all && !found; i++) {
            const struct wthread *w = &threads[i];
            if (i == me || w->tid != fh->holder_tid)
                continue;
            int n = w->nheld < MAXH ? w->nheld : MAXH;
            for (int k = 0; k < n; k++)
                if (w->held[k].idx == idx && w->held[k].mode == (int)fh->kind) {
                    matched[i * MAXH + k] = 1;   /* every copy: a torn swap can show it twice */
                    found = 1;
                }
        }
        if (found) {
            matched_n++;
            if (fh->kind != FW_KIND_RWLOCK_READ && (probe != PR_REINIT || fh->kind == FW_KIND_MUTEX)) {
                ncand++;
                prng = prng * 6364136223846793005ull + 1442695040888963407ull;
                if ((prng >> 33) % (uint64_t)ncand == 0)
                    cand = (int)idx;
            }
        } else if (in_flux((int)idx)) {
            uncertain++;
        } else {
            stale++;      /* released (and re-taken by another) between snapshot and fork */
        }
    }
    for (int i = 0; i < n_all; i++) {
        if (i == me)
            continue;
        const struct wthread *w = &threads[i];
        int n = w->nheld < MAXH ? w->nheld : MAXH;
        for (int k = 0; k < n; k++) {
            if (!expected_entry(w, &w->held[k]))
                continue;
            truth++;
            if (matched[i * MAXH + k])
                continue;
            if (in_flux(w->held[k].idx)) {
                uncertain++;
            } else {
                missed++;   /* taken between the agent's snapshot and the fork */
                if (verbose && missed <= 3) {
                    uint64_t addr = (uint64_t)(uintptr_t)&locks[w->held[k].idx];
                    int other = 0, okind = -1, ostate = -1;
                    for (uint32_t e = 0; e < d->used; e++) {
                        const struct fw_fork_held *fh = (const void *)(base + (size_t)e * d->entry_size);
                        if (fh->lock_addr == addr)
                            other = fh->holder_tid, okind = (int)fh->kind, ostate = (int)fh->orphan_state;
                    }
                    const struct lockobj *l = &locks[w->held[k].idx];
                    say("child %d: racy: lock %d kind %d flavour %d (word %d owner %d) held by tid %d (thread %d "
                        "state %d) missing; fork_held has it under tid %d kind %d orphan_state %d",
                        (int)getpid(), w->held[k].idx, w->held[k].mode, l->flav, l->u.m.__data.__lock,
                        l->u.m.__data.__owner, w->tid, i, atomic_load(&w->state), other, okind, ostate);
                    describe_agent_thread(w->tid, addr);
                }
            }
        }
    }
    atomic_fetch_add(&rstats->forks, 1);
    atomic_fetch_add(&rstats->live, live);
    atomic_fetch_add(&rstats->truth, truth);
    atomic_fetch_add(&rstats->matched, matched_n);
    atomic_fetch_add(&rstats->missed, missed);
    atomic_fetch_add(&rstats->stale, stale);
    atomic_fetch_add(&rstats->uncertain, uncertain);
    if (probe == PR_FREE) {
        for (int n = 0, idx = (int)(prng % (uint64_t)n_locks); n < 64; n++, idx = (idx + 1) % n_locks) {
            struct lockobj *l = &locks[idx];
            if (l->kind != LK_MUTEX || l->flav == MF_ROBUST || l->flav == MF_PI)
                continue;
            if (pthread_mutex_trylock(&l->u.m) != 0)
                continue;
            pthread_mutex_unlock(&l->u.m);
            if (pthread_mutex_lock(&l->u.m) != 0)
                return 14;
            pthread_mutex_unlock(&l->u.m);
            return 0;
        }
        return 0;
    }
    if (probe == PR_NONE || cand < 0)
        return probe == PR_BLOCK ? 100 : 0;   /* 100: no candidate, the parent accepts it */
    struct lockobj *l = &locks[cand];
    if (probe == PR_TRY) {
        int busy = 0;
        switch (l->kind) {
        case LK_MUTEX: busy = pthread_mutex_trylock(&l->u.m) == EBUSY; break;
        case LK_RWLOCK: busy = pthread_rwlock_trywrlock(&l->u.rw) == EBUSY; break;
        case LK_SEM: busy = sem_trywait(&l->u.s) != 0 && errno == EAGAIN; break;
        case LK_MTX: busy = mtx_trylock(&l->u.c) == thrd_busy; break;
        }
        if (!busy)
            say("child %d: try-acquire of live orphan %d did not fail with busy", (int)getpid(), cand);
        return busy ? 0 : 14;
    }
    if (probe == PR_REINIT) {
        pthread_mutex_init(&l->u.m, NULL);
        if (pthread_mutex_lock(&l->u.m) != 0)
            return 14;
        pthread_mutex_unlock(&l->u.m);
        return 0;
    }
    switch (l->kind) {
    case LK_MUTEX: pthread_mutex_lock(&l->u.m); break;
    case LK_RWLOCK: pthread_rwlock_wrlock(&l->u.rw); break;
    case LK_SEM: sem_wait(&l->u.s); break;
    case LK_MTX: mtx_lock(&l->u.c); break;
    }
    say("child %d: blocking acquire of live orphan %d returned", (int)getpid(), cand);
    return 14;
}

static void wait_child_inner(pid_t pid, int probe, int expect, int exp_count);

static void wait_child(struct wthread *t, pid_t pid, int probe, int expect, int exp_count)
{
    set_state(t, ST_WAITCHILD, -1, 0);
    wait_child_inner(pid, probe, expect, exp_count);
    set_state(t, ST_RUN, -1, 0);
}

static void wait_child_inner(pid_t pid, int probe, int expect, int exp_count)
{
    int st = 0;
    double c0 = now_s();
    pid_t r;
    while ((r = waitpid(pid, &st, WNOHANG)) == 0) {
        if (now_s() - c0 > child_timeout) {
            say("fork_stress: child %d (probe %d) did not exit within %.0fs: killed", (int)pid, probe, child_timeout);
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            atomic_fetch_add(&children_bad, 1);
            return;
        }
        struct timespec ts = {0, 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (r < 0) {
        say("fork_stress: waitpid: %s", strerror(errno));
        atomic_fetch_add(&children_bad, 1);
    } else if (WIFSIGNALED(st)) {
        say("fork_stress: child %d (probe %d) killed by signal %d", (int)pid, probe, WTERMSIG(st));
        atomic_fetch_add(&children_bad, 1);
    } else if (WEXITSTATUS(st) != expect && !(probe == PR_BLOCK && WEXITSTATUS(st) == 100)) {
        say("fork_stress: child %d (probe %d, %d orphans expected) exited %d, expected %d", (int)pid, probe,
            exp_count, WEXITSTATUS(st), expect);
        atomic_fetch_add(&children_bad, 1);
    } else if (probe == PR_BLOCK && WEXITSTATUS(st) == 100) {
        atomic_fetch_sub(&probe_count[PR_BLOCK], 1);   /* no live orphan to block on */
        atomic_fetch_add(&probe_count[PR_NONE], 1);
    }
}

/* fork(), or glibc's _Fork() (no atfork handlers; the agent interposes both) */
static int use_underscore_fork = 0;
static pid_t do_real_fork(struct wthread *t)
{
    if (use_underscore_fork && (use_underscore_fork == 2 || rnd_below(t, 2)))
        return _Fork();
    return fork();
}

static void do_fork_racy(struct wthread *t)
{
    if (atomic_fetch_add(&forks_claimed, 1) >= n_forks) {
        atomic_fetch_sub(&forks_claimed, 1);
        return;
    }
    int r = rnd_below(t, 8);
    int probe = !probes ? PR_NONE : r == 0 ? PR_BLOCK : r == 1 ? PR_TRY : r == 2 ? PR_FREE : r == 3 ? PR_REINIT
                                                                                               : PR_NONE;
    uint64_t prng = rnd(t);
    pid_t pid = do_real_fork(t);
    if (pid == 0)
        _exit(child_check_racy(t->id, probe, prng));
    if (pid < 0) {
        say("fork_stress: fork failed: %s", strerror(errno));
        atomic_fetch_add(&forks_failed, 1);
    } else {
        atomic_fetch_add(&probe_count[probe], 1);
        wait_child(t, pid, probe, probe == PR_BLOCK ? expect_abort_status : 0, -1);
    }
    atomic_fetch_add(&forks_done, 1);
}

static void do_fork(struct wthread *t)
{
    if (racy) {
        do_fork_racy(t);
        return;
    }
    int expect = 0;
    if (atomic_fetch_add(&forks_claimed, 1) >= n_forks) {
        atomic_fetch_sub(&forks_claimed, 1);
        return;
    }
    int zero = 0;
    if (!atomic_compare_exchange_strong(&world_owner, &zero, t->id + 1)) {
        atomic_fetch_sub(&forks_claimed, 1);
        return;
    }
    atomic_store(&stop_flag, 1);
    futex_wake_all(&stop_flag);
    double t0 = now_s();
    while (!world_stopped(t->id)) {
        if (now_s() - t0 > stop_timeout) {
            say("fork_stress: the world did not stop within %.0fs; threads not parked:", stop_timeout);
            int shown = 0;
            for (int i = 0; i < n_all && shown < 20; i++) {
                struct wthread *w = &threads[i];
                int st = atomic_load(&w->state);
                if (i != t->id && st != ST_PARKED && st != ST_EXITED) {
                    int tg = atomic_load(&w->target);
                    char what[160] = "";
                    if (tg >= 0 && tg < n_locks) {
                        struct lockobj *l = &locks[tg];
                        int truth_holders = 0;
                        for (int j = 0; j < n_all; j++)
                            truth_holders += find_held(&threads[j], tg) != NULL;
                        if (l->kind == LK_MUTEX || l->kind == LK_MTX)
                            snprintf(what, sizeof what, "kind %d flavour %d: lock word %d owner tid %d count %u; truth holders %d",
                                     l->kind, l->flav, l->u.m.__data.__lock, l->u.m.__data.__owner,
                                     l->u.m.__data.__count, truth_holders);
                        else if (l->kind == LK_SEM) {
                            int v = -1;
                            sem_getvalue(&l->u.s, &v);
                            snprintf(what, sizeof what, "semaphore value %d; truth holders %d; handoff slot %d", v,
                                     truth_holders, atomic_load(&w->handoff));
                        } else
                            snprintf(what, sizeof what, "rwlock readers %#x writer tid %d; truth holders %d",
                                     l->u.rw.__data.__readers, l->u.rw.__data.__cur_writer, truth_holders);
                    }
                    say("  thread %d tid %d state %d target %d want %d: %s", i, w->tid, st, tg,
                        atomic_load(&w->want), what);
                    shown++;
                }
            }
            atomic_store(&harness_stuck, 1);
            _exit(3);
        }
        sched_yield();
    }
    int probe = PR_NONE;
    if (probes) {
        int r = rnd_below(t, 8);
        probe = r == 0 ? PR_BLOCK : r == 1 ? PR_TRY : r == 2 ? PR_FREE : r == 3 ? PR_REINIT
              : r == 4 ? PR_NESTED : PR_NONE;
        if (!probe_has_candidate(t->id, probe))
            probe = PR_NONE;
    }
    uint64_t prng = rnd(t);
    /* count what the child will expect (for the summary) */
    int exp_count = 0;
    for (int i = 0; i < n_all; i++)
        if (i != t->id)
            for (int k = 0; k < threads[i].nheld; k++)
                exp_count += expected_entry(&threads[i], &threads[i].held[k]);
    pid_t pid = do_real_fork(t);
    if (pid == 0)
        _exit(child_check(t->id, probe, prng));
    atomic_store(&stop_flag, 0);
    futex_wake_all(&stop_flag);
    atomic_store(&world_owner, 0);
    if (pid < 0) {
        say("fork_stress: fork failed: %s", strerror(errno));
        atomic_fetch_add(&forks_failed, 1);
        atomic_fetch_add(&forks_done, 1);
        return;
    }
    if (exp_count > atomic_load(&max_expected_seen))
        atomic_store(&max_expected_seen, exp_count);
    atomic_fetch_add(&probe_count[probe], 1);
    expect = probe == PR_BLOCK ? expect_abort_status : 0;
    wait_child(t, pid, probe, expect, exp_count);
    atomic_fetch_add(&forks_done, 1);
}

/* --------------------------------------------------------------------------- */

static void random_op(struct wthread *t)
{
    int range = n_locks - pinned_base;
    int r = rnd_below(t, 100);
    int top = max_held_idx(t);
    /* release */
    if (t->nheld > 0 && (t->nheld >= hold_max || r < 35)) {
        struct held *h = &t->held[rnd_below(t, t->nheld)];
        if (h->pinned)
            return;
        struct lockobj *l = &locks[h->idx];
        /* cond wait / handoff on the highest lock, held once */
        if (h->idx == top && h->count == 1 && r < 12) {
            if ((l->kind == LK_MUTEX || l->kind == LK_MTX) && l->cond >= 0) {
                do_cond_wait(t, h->idx, rnd_below(t, 3));
                return;
            }
            if (l->kind == LK_SEM) {
                do_handoff(t, h->idx);
                return;
            }
        }
        do_release(t, h->idx);
        return;
    }
    if (t->nheld >= hold_max)
        return;
    if (r < 45) {   /* signal a random condition */
        if (n_conds) {
            struct lockobj *l = &locks[cond_lock[rnd_below(t, n_conds)]];
            if (l->kind == LK_MUTEX)
                (r & 1 ? pthread_cond_signal : pthread_cond_broadcast)(&conds[l->cond].u.pc);
            else
                (r & 1 ? cnd_signal : cnd_broadcast)(&conds[l->cond].u.cc);
        }
        return;
    }
    /* recursive re-lock of a held recursive lock */
    if (use_recursive && r < 50 && t->nheld > 0) {
        struct held *h = &t->held[rnd_below(t, t->nheld)];
        struct lockobj *l = &locks[h->idx];
        if (l->recursive && h->count < 3 && !h->pinned) {
            note_demand(t);
            atomic_store(&t->inop, h->idx);
            if (l->kind == LK_MUTEX ? pthread_mutex_lock(&l->u.m) == 0 : mtx_lock(&l->u.c) == thrd_success)
                h->count++;
            atomic_store(&t->inop, -1);
            atomic_fetch_add(&t->seq, 2);
        }
        return;
    }
    int idx = pinned_base + rnd_below(t, range);
    if (find_held(t, idx))
        return;
    struct lockobj *l = &locks[idx];
    int mode = kind_mode_write(l);
    if (l->kind == LK_RWLOCK && rnd_below(t, 2))
        mode = FW_KIND_RWLOCK_READ;
    int how;
    if (idx > top && rnd_below(t, 3) == 0)
        how = 0;                                   /* blocking, in lock order */
    else
        how = 1 + rnd_below(t, l->kind == LK_MTX ? 2 : 3);
    do_acquire(t, idx, mode, how);
}

static void *thread_main(void *arg)
{
    struct wthread *t = arg;
    t->tid = (pid_t)syscall(SYS_gettid);
    char name[16];
    snprintf(name, sizeof name, "%s%d", t->role == 1 ? "holder" : "worker", t->id);
    pthread_setname_np(pthread_self(), name);
    if (t->role == 1) {
        /* idle holder: takes its pinned locks (distinct, in order) and keeps them */
        int base = t->id * pinned_per;
        for (int k = 0; k < pinned_per; k++) {
            int idx = base + k;
            struct lockobj *l = &locks[idx];
            int mode = kind_mode_write(l);
            if (l->kind == LK_RWLOCK && (k & 1))
                mode = FW_KIND_RWLOCK_READ;
            do_acquire(t, idx, mode, 0);
            struct held *h = find_held(t, idx);
            h->pinned = 1;
        }
    }
    atomic_store(&t->started, 1);
    while (!atomic_load(&done_flag)) {
        safe_point(t);
        if (t->role == 1) {
            futex_wait(&stop_flag, 0);   /* idle until the next stop (bounded wait) */
            continue;
        }
        if (t->forker && atomic_load(&all_started) && atomic_load(&forks_claimed) < n_forks &&
            rnd_below(t, fork_every) == 0)
            do_fork(t);
        else
            random_op(t);
        t->ops++;
    }
    release_all(t);
    set_state(t, ST_EXITED, -1, 0);
    return NULL;
}

static void init_locks(void)
{
    size_t sz = sizeof(struct lockobj) * (size_t)n_locks;
    locks = aligned_alloc(64, (sz + 63) / 64 * 64);
    if (!locks)
        die("out of memory");
    memset(locks, 0, sz);
    conds = calloc((size_t)n_locks, sizeof *conds);
    cond_lock = calloc((size_t)n_locks, sizeof *cond_lock);
    if (!conds || !cond_lock)
        die("out of memory");
    uint64_t x = seed * 0x9E3779B97F4A7C15ull + 7;
    for (int i = 0; i < n_locks; i++) {
        struct lockobj *l = &locks[i];
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        int r = (int)(x % 100);
        l->cond = -1;
        if (r < 40) {
            l->kind = LK_MUTEX;
            l->flav = (int)((x >> 8) % MF_COUNT);
            if (!use_recursive && l->flav == MF_RECURSIVE)
                l->flav = MF_NORMAL;
            if (!use_pi && l->flav == MF_PI)
                l->flav = MF_NORMAL;
            pthread_mutexattr_t a;
            pthread_mutexattr_init(&a);
            switch (l->flav) {
            case MF_STATIC: {
                pthread_mutex_t s = PTHREAD_MUTEX_INITIALIZER;
                memcpy(&l->u.m, &s, sizeof s);
                break;
            }
            case MF_RECURSIVE: pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE); l->recursive = 1; break;
            case MF_ERRORCHECK: pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK); break;
            case MF_ADAPTIVE: pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ADAPTIVE_NP); break;
            case MF_PI: pthread_mutexattr_setprotocol(&a, PTHREAD_PRIO_INHERIT); break;
            case MF_ROBUST: pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST); break;
            default: break;
            }
            if (l->flav != MF_STATIC)
                pthread_mutex_init(&l->u.m, &a);
            pthread_mutexattr_destroy(&a);
            if ((l->flav == MF_NORMAL || l->flav == MF_STATIC || l->flav == MF_ERRORCHECK ||
                 l->flav == MF_ADAPTIVE) && (x >> 20) % 3 == 0) {
                cond_lock[n_conds] = i;
                l->cond = n_conds++;
                pthread_cond_init(&conds[l->cond].u.pc, NULL);
            }
        } else if (r < 65) {
            l->kind = LK_RWLOCK;
            if ((x >> 8) % 2) {
                pthread_rwlock_t s = PTHREAD_RWLOCK_INITIALIZER;
                memcpy(&l->u.rw, &s, sizeof s);
            } else {
                pthread_rwlock_init(&l->u.rw, NULL);
            }
        } else if (r < 88) {
            l->kind = LK_SEM;
            sem_init(&l->u.s, 0, 1);
        } else {
            l->kind = LK_MTX;
            int type = mtx_timed;
            if (use_recursive && (x >> 8) % 3 == 0) {
                type |= mtx_recursive;
                l->recursive = 1;
            }
            mtx_init(&l->u.c, type);
            if (!l->recursive && (x >> 20) % 3 == 0) {
                cond_lock[n_conds] = i;
                l->cond = n_conds++;
                cnd_init(&conds[l->cond].u.cc);
            }
        }
    }
}

static void usage(void)
{
    fprintf(stderr,
            "usage: fork_stress [--threads N] [--forkers N] [--locks N] [--forks N] [--hold N]\n"
            "                   [--pinned-threads N --pinned N] [--seed N] [--seconds S]\n"
            "                   [--no-probes] [--no-recursive] [--no-agent-ok] [--child-timeout S]\n"
            "                   [--underscore-fork (half the forks by _Fork) | --only-underscore-fork]\n"
            "                   [--racy (fork without stopping the world; measure)] [--fork-every OPS] [--inject 1|2 (self-test: hide/invent a truth entry)] [-v]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
#define ARG(name, var, conv) else if (!strcmp(a, name) && i + 1 < argc) var = conv(argv[++i])
        if (0) {}
        ARG("--threads", n_threads, atoi);
        ARG("--forkers", n_forkers, atoi);
        ARG("--locks", n_locks, atoi);
        ARG("--forks", n_forks, atoi);
        ARG("--hold", hold_max, atoi);
        ARG("--pinned-threads", pinned_threads, atoi);
        ARG("--pinned", pinned_per, atoi);
        ARG("--seed", seed, atoll);
        ARG("--inject", inject, atoi);
        ARG("--fork-every", fork_every, atoi);
        ARG("--seconds", max_seconds, atof);
        ARG("--child-timeout", child_timeout, atof);
        ARG("--stop-timeout", stop_timeout, atof);
        else if (!strcmp(a, "--no-probes")) probes = 0;
        else if (!strcmp(a, "--racy")) racy = 1;
        else if (!strcmp(a, "--pi")) use_pi = 1;
        else if (!strcmp(a, "--underscore-fork")) use_underscore_fork = 1;
        else if (!strcmp(a, "--only-underscore-fork")) use_underscore_fork = 2;
        else if (!strcmp(a, "--no-recursive")) use_recursive = 0;
        else if (!strcmp(a, "--no-agent-ok")) require_agent = 0;
        else if (!strcmp(a, "-v")) verbose = 1;
        else usage();
    }
    if (n_threads < 1 || n_forkers < 1 || n_locks < 8 || hold_max < 1 || hold_max > MAXH - 4 ||
        pinned_per > MAXH - 4 || pinned_threads > n_threads)
        usage();
    if (pinned_threads && n_threads - pinned_threads < n_forkers)
        die("need %d forkers beside %d pinned holders", n_forkers, pinned_threads);
    const char *st = getenv("FORKWATCH_EXIT_STATUS");
    if (st && atoi(st) > 0 && atoi(st) < 256)
        expect_abort_status = atoi(st);
    const char *pol = getenv("FORKWATCH_ON_DEADLOCK");
    if (pol && strcmp(pol, "abort") != 0)
        probes = 0;   /* the blocking probe needs the abort policy */

    reg = dlsym(RTLD_DEFAULT, FW_REGISTRY_SYMBOL);
    if (!reg && require_agent) {
        fprintf(stderr, "fork_stress: %s not found: run with LD_PRELOAD=libforkwatch.so\n", FW_REGISTRY_SYMBOL);
        return 4;
    }
    if (reg && !(reg->flags & FW_FLAG_ENABLED)) {
        fprintf(stderr, "fork_stress: the agent is loaded but not enabled (flags %#x)\n", reg->flags);
        return 4;
    }

    pinned_base = pinned_threads * pinned_per;
    if (pinned_base + 16 > n_locks)
        n_locks = pinned_base + 16;
    init_locks();
    n_all = n_threads + 1;
    threads = calloc((size_t)n_all, sizeof *threads);
    stamp_w = calloc((size_t)n_locks, sizeof *stamp_w);
    stamp_r = calloc((size_t)n_locks, sizeof *stamp_r);
    cnt_w = calloc((size_t)n_locks, sizeof *cnt_w);
    cnt_r = calloc((size_t)n_locks, sizeof *cnt_r);
    matched = calloc((size_t)n_all * MAXH, 1);
    rstats = mmap(NULL, sizeof *rstats, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (rstats == MAP_FAILED)
        die("mmap: %s", strerror(errno));
    memset(rstats, 0, sizeof *rstats);
    if (!threads || !stamp_w || !stamp_r || !cnt_w || !cnt_r || !matched)
        die("out of memory");
    (void)stop_check_mutex_unused;

    struct wthread *mainth = &threads[n_threads];
    mainth->id = n_threads;
    mainth->role = 2;
    mainth->tid = (pid_t)syscall(SYS_gettid);
    atomic_store(&mainth->handoff, -1);
    atomic_store(&mainth->inop, -1);
    atomic_store(&mainth->started, 1);

    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    int forkers_assigned = 0;
    for (int i = 0; i < n_threads; i++) {
        struct wthread *t = &threads[i];
        t->id = i;
        t->role = i < pinned_threads ? 1 : 0;
        t->forker = t->role == 0 && forkers_assigned < n_forkers;
        forkers_assigned += t->forker;
        t->rng = (seed + 1) * 0x9E3779B97F4A7C15ull ^ (uint64_t)(i + 1) * 0xD1B54A32D192ED03ull;
        if (!t->rng)
            t->rng = 1;
        atomic_store(&t->handoff, -1);
        atomic_store(&t->inop, -1);
        atomic_store(&t->target, -1);
        int rc = pthread_create(&t->pt, &attr, thread_main, t);
        if (rc)
            die("pthread_create %d: %s", i, strerror(rc));
    }
    pthread_attr_destroy(&attr);
    {
        double s0 = now_s();
        for (int i = 0; i < n_threads; i++)
            while (!atomic_load(&threads[i].started)) {
                if (now_s() - s0 > stop_timeout) {
                    say("fork_stress: thread %d did not start within %.0fs", i, stop_timeout);
                    _exit(3);
                }
                struct timespec ts = {0, 1000 * 1000};
                nanosleep(&ts, NULL);
            }
        atomic_store(&all_started, 1);
    }

    double t0 = now_s();
    int timed_out = 0;
    while (atomic_load(&forks_done) < n_forks && !atomic_load(&harness_stuck)) {
        if (now_s() - t0 > max_seconds) {
            timed_out = 1;
            break;
        }
        safe_point(mainth);
        notify_handoffs(mainth);
        kick_condwaiters(0);
        struct timespec ts = {0, 200 * 1000};
        nanosleep(&ts, NULL);
    }
    atomic_store(&done_flag, 1);
    atomic_store(&stop_flag, 0);
    futex_wake_all(&stop_flag);
    /* let everyone finish: keep notifying, bounded */
    double e0 = now_s();
    for (;;) {
        int running = 0;
        for (int i = 0; i < n_threads; i++)
            running += atomic_load(&threads[i].state) != ST_EXITED;
        if (!running)
            break;
        if (now_s() - e0 > stop_timeout) {
            say("fork_stress: %d threads did not finish within %.0fs", running, stop_timeout);
            for (int i = 0, shown = 0; i < n_threads && shown < 10; i++)
                if (atomic_load(&threads[i].state) != ST_EXITED) {
                    say("  thread %d tid %d state %d target %d", i, threads[i].tid, atomic_load(&threads[i].state),
                        atomic_load(&threads[i].target));
                    shown++;
                }
            _exit(3);
        }
        notify_handoffs(mainth);
        kick_condwaiters(0);
        futex_wake_all(&stop_flag);
        struct timespec ts = {0, 200 * 1000};
        nanosleep(&ts, NULL);
    }
    unsigned long ops = 0;
    for (int i = 0; i < n_threads; i++) {
        pthread_join(threads[i].pt, NULL);
        ops += threads[i].ops;
    }
    int bad = atomic_load(&children_bad);
    int fdone = atomic_load(&forks_done);
    printf("fork_stress: threads %d (pinned %d x %d), locks %d, forks %d/%d, ops %lu, max orphans expected at a "
           "fork %d, probes none/block/try/free/reinit/nested %d/%d/%d/%d/%d/%d, flags %#x, children bad %d%s\n",
           n_threads, pinned_threads, pinned_per, n_locks, fdone, n_forks, ops, atomic_load(&max_expected_seen),
           atomic_load(&probe_count[0]), atomic_load(&probe_count[1]), atomic_load(&probe_count[2]),
           atomic_load(&probe_count[3]), atomic_load(&probe_count[4]), atomic_load(&probe_count[5]),
           reg ? reg->flags : 0u, bad,
           timed_out ? " (time limit reached)" : "");
    if (racy)
        printf("fork_stress: racy: %ld children measured; agent live orphans %ld, truth held %ld, matched %ld, "
               "missed %ld (held at the fork, no live orphan), stale %ld (live orphan naming a thread that did not hold it), "
               "in flux %ld\n",
               rstats->forks, rstats->live, rstats->truth, rstats->matched, rstats->missed, rstats->stale,
               rstats->uncertain);
    /* Each thread writes the agent's entry before its truth on acquire and after it on
     * release, and a fork child sees a prefix of each thread's writes: outside the
     * operations in flight, the child's truth must equal the agent's live orphans. */
    int racy_bad = racy && (rstats->missed || rstats->stale);
    if (racy_bad)
        printf("fork_stress: racy: FAIL: %ld held lock(s) missing from the agent's orphans, %ld orphan(s) naming "
               "a thread that no longer held the lock at the fork\n", rstats->missed, rstats->stale);
    if (bad || racy_bad || atomic_load(&forks_failed) || fdone < n_forks) {
        printf("fork_stress: FAIL\n");
        return 1;
    }
    printf("fork_stress: PASS\n");
    return 0;
}
