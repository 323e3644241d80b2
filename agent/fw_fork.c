/* fw_fork.c — see fw_fork.h. */
#include "fw_fork.h"

#include "fw_buf.h"
#include "fw_config.h"
#include "fw_gil.h"
#include "fw_log.h"
#include "fw_modules.h"
#include "fw_orphan.h"
#include "fw_python.h"
#include "fw_real.h"
#include "fw_registry.h"
#include "fw_thread.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Serialises forks made through the agent, so that fork_held describes one fork. */
static pthread_mutex_t fork_mutex = PTHREAD_MUTEX_INITIALIZER;
static int fork_pending;          /* prepare ran and the fork has not returned */
static uint32_t pending_slot;     /* index in forks[] */

uint32_t fw_fork_snapshot_held(const struct fw_thread *self)
{
    struct fw_registry *r = &forkwatch_registry;
    uint32_t count = 0;
    uint32_t nthreads = __atomic_load_n(&r->header.threads.used, __ATOMIC_ACQUIRE);
    for (uint32_t i = 0; i < nthreads && i < FW_MAX_THREADS; i++) {
        const struct fw_thread *t = &r->threads[i];
        uint32_t ts = __atomic_load_n(&t->state, __ATOMIC_ACQUIRE);
        /* VANISHED: we are a child forking again; those locks are still orphans. */
        if (t == self || (ts != FW_THREAD_LIVE && ts != FW_THREAD_VANISHED))
            continue;
        uint32_t used = __atomic_load_n(&t->held_used, __ATOMIC_ACQUIRE);
        if (used > FW_MAX_HELD)
            used = FW_MAX_HELD;
        for (uint32_t k = 0; k < used; k++) {
            const struct fw_held *e = &t->held[k];
            if (__atomic_load_n(&e->state, __ATOMIC_ACQUIRE) != FW_HOLD_HELD)
                continue;
            uint64_t addr = e->lock_addr;
            if (e->kind == FW_KIND_SEMAPHORE && fw_thread_is_acquiring(t, used, addr))
                continue;
            if (!fw_lockword_can_be_orphan_at(e->kind, addr))
                continue;
            if (count >= FW_MAX_FORK_HELD) {
                fw_warn_flag_once(FW_FLAG_FORK_HELD_FULL,
                                  "more locks held at a fork than the table records");
                goto done;
            }
            struct fw_fork_held *fh = &r->fork_held[count];
            fh->lock_addr = addr;
            fh->call_site = e->call_site;
            fh->kind = e->kind;
            fh->stack_id = e->stack_id;
            fh->holder_tid = t->tid;
            fh->holder_slot = i;
            fh->holder_pthread = t->pthread_id;
            fh->py_thread = -1;
            fh->orphan_state = FW_ORPHAN_NOT_CHILD;
            fw_copy_str(fh->holder_name, sizeof fh->holder_name, t->name);
            fh->call_site_function[0] = '\0';
            /* The entry may have changed while we copied it: keep it only if it
             * still names the same lock. */
            if (__atomic_load_n(&e->state, __ATOMIC_ACQUIRE) == FW_HOLD_HELD && e->lock_addr == addr)
                count++;
        }
    }
done:
    r->header.fork_held_count = count;
    __atomic_store_n(&r->header.fork_held.used, count, __ATOMIC_RELEASE);
    return count;
}

/* Reads /proc/self/task/TID/comm into the thread's slot: names change after a
 * thread's first lock op (prctl, or a pthread_setname_np we did not see). */
static void refresh_thread_name(struct fw_thread *t)
{
    char path[64];
    struct fw_buf b;
    fw_buf_init(&b, path, sizeof path - 1);
    fw_buf_str(&b, "/proc/self/task/");
    fw_buf_i64(&b, t->tid);
    fw_buf_str(&b, "/comm");
    path[b.len] = '\0';
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    char name[FW_NAME_LEN + 1];
    ssize_t n = read(fd, name, FW_NAME_LEN);
    close(fd);
    if (n <= 0)
        return;
    if (name[n - 1] == '\n')
        n--;
    name[n] = '\0';
    fw_copy_str(t->name, sizeof t->name, name);
}

#define SITE_HASH 2048u   /* power of two, 2x FW_MAX_FORK_HELD */
static uint32_t site_hash(uint64_t cs)
{
    return (uint32_t)((cs * 0x9e3779b97f4a7c15ull) >> 40) & (SITE_HASH - 1);
}

/* The expensive part, only when some lock is held by another thread. */
static void describe_held(uint32_t count, struct fw_fork *fk)
{
    struct fw_registry *r = &forkwatch_registry;
    /* A thread holding many locks has its name read once per fork, not once per
     * lock: name_read_at[slot] == this fork's generation once it was read. */
    static uint64_t name_read_at[FW_MAX_THREADS];
    static uint64_t generation;
    generation++;
    /* dladdr once per call site, not once per held lock: site_first[] maps a
     * call site (open addressing) to the first fork_held entry that has it. */
    static uint64_t site_gen[SITE_HASH];
    static uint32_t site_first[SITE_HASH];
    for (uint32_t i = 0; i < count; i++) {
        struct fw_fork_held *fh = &r->fork_held[i];
        uint32_t h = site_hash(fh->call_site);
        for (uint32_t p = 0; p < SITE_HASH; p++, h = (h + 1) & (SITE_HASH - 1)) {
            if (site_gen[h] != generation) {   /* free this fork: resolve and remember */
                Dl_info info;
                if (dladdr((void *)(uintptr_t)fh->call_site, &info) && info.dli_sname)
                    fw_copy_str(fh->call_site_function, sizeof fh->call_site_function, info.dli_sname);
                site_gen[h] = generation;
                site_first[h] = i;
                break;
            }
            const struct fw_fork_held *first = &r->fork_held[site_first[h]];
            if (first->call_site == fh->call_site) {
                fw_copy_str(fh->call_site_function, sizeof fh->call_site_function, first->call_site_function);
                break;
            }
        }
    }
    /* Python first: a holder with a threading.Thread name needs no /proc read
     * (an open+read+close per holder thread was most of a Python fork's cost). */
    r->header.py_threads.used = 0;
    r->header.py_frames.used = 0;
    fk->python_captured = fw_cfg.python ? (uint32_t)fw_python_capture_at_fork() : 0;
    for (uint32_t i = 0; i < count; i++) {
        struct fw_fork_held *fh = &r->fork_held[i];
        fh->py_thread = fk->python_captured ? fw_python_thread_index(fh->holder_pthread) : -1;
        uint32_t slot = fh->holder_slot;
        if (slot >= FW_MAX_THREADS || r->threads[slot].state != FW_THREAD_LIVE)
            continue;
        struct fw_thread *t = &r->threads[slot];
        int has_py_name = fh->py_thread >= 0 && r->py_threads[fh->py_thread].name[0];
        if (name_read_at[slot] != generation && !has_py_name) {
            refresh_thread_name(t);
            name_read_at[slot] = generation;
        }
        fw_copy_str(fh->holder_name, sizeof fh->holder_name, t->name);
    }
}

static uint32_t live_threads(void)
{
    const struct fw_registry *r = &forkwatch_registry;
    uint32_t n = 0, used = r->header.threads.used;
    for (uint32_t i = 0; i < used && i < FW_MAX_THREADS; i++)
        n += __atomic_load_n(&r->threads[i].state, __ATOMIC_RELAXED) == FW_THREAD_LIVE;
    return n;
}

void fw_fork_prepare(uint32_t via)
{
    fw_tls_guard++;
    FW_REAL(mutex_lock)(&fork_mutex);
    struct fw_registry *r = &forkwatch_registry;
    struct fw_thread *self = fw_tls_slot ? fw_tls_slot : fw_thread_claim();
    uint64_t id = r->header.forks_total + 1;
    uint32_t slot = (uint32_t)((id - 1) % FW_MAX_FORKS);
    struct fw_fork *fk = &r->forks[slot];
    __atomic_store_n(&fk->fork_id, 0, __ATOMIC_RELEASE);   /* invalid while rewritten */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    fk->time_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
    fk->parent_pid = r->header.pid;
    fk->child_pid = 0;
    fk->forker_tid = self ? self->tid : (int32_t)gettid();
    fk->via = via;
    fk->threads_live = live_threads();
    fk->python_captured = 0;
    uint32_t count = fw_fork_snapshot_held(self);
    count = fw_gil_at_fork(self, count);   /* the GIL held by another thread: one more entry */
    fk->held_count = count;
    /* Modules and the Python API also serve locks the child finds held that the
     * snapshot missed (taken between it and the fork): always cheap enough. */
    fw_modules_capture();
    if (fw_cfg.python)
        fw_python_note_fork();
    /* With PyMutex locks (3.13.1+) another thread may hold a Python lock with
     * no entry to show for it: its Python stack and name are still wanted. */
    if (count > 0 || (fw_cfg.python && fk->threads_live > 1 && fw_python_pymutex_locks()))
        describe_held(count, fk);
    r->header.latest_fork_slot = slot;
    r->header.forks_total = id;
    fw_registry_raise_used(&r->header.forks, slot + 1);
    __atomic_store_n(&fk->fork_id, id, __ATOMIC_RELEASE);
    pending_slot = slot;
    fork_pending = 1;
}

void fw_fork_parent(pid_t pid)
{
    if (!fork_pending)
        return;
    fork_pending = 0;
    forkwatch_registry.forks[pending_slot].child_pid = pid < 0 ? -1 : pid;
    FW_REAL(mutex_unlock)(&fork_mutex);
    fw_tls_guard--;
}

void fw_fork_mark_child(const struct fw_thread *self, int32_t pid, int32_t tid)
{
    struct fw_registry *r = &forkwatch_registry;
    struct fw_fork *fk = &r->forks[r->header.latest_fork_slot % FW_MAX_FORKS];
    r->header.parent_pid = fk->parent_pid;
    r->header.pid = pid;
    r->header.born_of_fork_id = fk->fork_id;
    fk->child_pid = pid;
    uint32_t used = r->header.threads.used;
    for (uint32_t i = 0; i < used && i < FW_MAX_THREADS; i++) {
        struct fw_thread *t = &r->threads[i];
        if (t == self) {
            t->tid = tid;
            continue;
        }
        /* Kept with their entries: the orphans point at them. */
        if (t->state == FW_THREAD_LIVE)
            __atomic_store_n(&t->state, FW_THREAD_VANISHED, __ATOMIC_RELEASE);
    }
    fw_in_fork_child = 1;
    fw_threads_claimed_in_child = 0;
    fw_orphan_build(self);
    fw_gil_child();
}

void fw_fork_child(void)
{
    if (!fork_pending)
        return;
    fork_pending = 0;
    /* The parent's forking thread held it: start the child with a fresh one. */
    static const pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
    memcpy(&fork_mutex, &fresh, sizeof fresh);
    fw_fork_mark_child(fw_tls_slot, (int32_t)getpid(), (int32_t)gettid());
    fw_tls_guard--;
}
