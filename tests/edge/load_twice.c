/* load_twice.c — the agent loaded twice: LD_PRELOAD naming it twice (same path
 * or a copy), dlopen() of the agent while one is preloaded, and dlopen() of the
 * agent into a program started without it. Exactly one copy records (the first
 * in lookup order); a later copy keeps its own registry, disabled; lock calls
 * keep working; a child blocking on an orphan still ends with 86 under the agent.
 * Environment: EDGE_DLOPEN=PATH (dlopen it at start), EDGE_COPY=PATH (a second
 * copy that may be loaded: its registry must stay disabled). */
#define _GNU_SOURCE
#include "edge.h"

#include <signal.h>
#include <sys/wait.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t q = PTHREAD_MUTEX_INITIALIZER;
static atomic_int step;

static void *holder(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&m);
    atomic_store(&step, 1);
    edge_wait_flag(&step, 2);
    pthread_mutex_unlock(&m);
    return 0;
}

static int count_entries_everywhere(const struct fw_registry *r, const void *lock)
{
    return edge_entries_in(r, -1, lock, FW_HOLD_EMPTY);
}

int main(void)
{
    struct fw_registry *primary = dlsym(RTLD_DEFAULT, FW_REGISTRY_SYMBOL);
    const char *late = getenv("EDGE_DLOPEN");
    void *h = 0;
    if (late) {
        h = dlopen(late, RTLD_NOW | RTLD_GLOBAL);
        CHECK(h != 0, "dlopen(%s): %s", late, dlerror());
    }
    if (!primary && h) {
        /* the agent arrived late: it initialised, but the program's calls are
         * already bound to glibc. Its own entry points work and record. */
        struct fw_registry *r = dlsym(h, FW_REGISTRY_SYMBOL);
        CHECK(r && r->header.magic == FW_MAGIC && (r->header.flags & FW_FLAG_ENABLED), "late agent not initialised");
        int (*lock)(pthread_mutex_t *) = (int (*)(pthread_mutex_t *))dlsym(h, "pthread_mutex_lock");
        int (*unlock)(pthread_mutex_t *) = (int (*)(pthread_mutex_t *))dlsym(h, "pthread_mutex_unlock");
        CHECK(lock && unlock, "late agent: no pthread_mutex_lock");
        if (r && lock && unlock) {
            CHECK(lock(&q) == 0, "late agent lock");
            CHECK(edge_entries_in(r, 0, &q, FW_HOLD_HELD) == 1, "late agent: no entry for its own lock call");
            CHECK(pthread_mutex_trylock(&q) == EBUSY, "late agent's lock did not lock");
            CHECK(unlock(&q) == 0, "late agent unlock");
            CHECK(edge_entries_in(r, 0, &q, FW_HOLD_EMPTY) == 0, "late agent: entry left after unlock");
        }
        CHECK(pthread_mutex_lock(&q) == 0 && pthread_mutex_unlock(&q) == 0, "program's own lock calls");
        R("late dlopen ok");
        return edge_finish("load_twice (late dlopen)");
    }
    edge_reg();
    const char *copy = getenv("EDGE_COPY");
    void *ch = copy ? dlopen(copy, RTLD_NOW | RTLD_NOLOAD) : 0;
    struct fw_registry *second = ch ? dlsym(ch, FW_REGISTRY_SYMBOL) : 0;
    if (second == primary)
        second = 0;
    if (copy && edge_agent())
        CHECK(second != 0, "the copy %s is not loaded", copy);
    if (second)
        CHECK(!(second->header.flags & FW_FLAG_ENABLED), "the second copy is enabled too");

    for (int i = 0; i < 100; i++) {
        pthread_mutex_lock(&q);
        if (i == 50) {
            EXPECT_ENTRIES(0, &q, FW_HOLD_HELD, 1);   /* recorded once, by the first copy */
            if (second)
                CHECK(count_entries_everywhere(second, &q) == 0, "the second copy recorded too");
        }
        pthread_mutex_unlock(&q);
    }
    EXPECT_ENTRIES(0, &q, FW_HOLD_EMPTY, 0);
    R("locks ok");

    pthread_t t;
    pthread_create(&t, 0, holder, 0);
    edge_wait_flag(&step, 1);
    pid_t pid = fork();
    if (pid == 0) {
        if (!edge_agent())
            _exit(pthread_mutex_trylock(&m) == EBUSY ? 0 : 1);
        pthread_mutex_lock(&m);   /* reported: exit 86 */
        _exit(2);
    }
    int code = edge_reap(pid);
    int want = edge_agent() ? FW_EXIT_DEADLOCK : 0;
    CHECK(code == want, "child exit %d, want %d", code, want);
    R("child as expected %d", code == want);
    atomic_store(&step, 2);
    pthread_join(t, 0);
    return edge_finish("load_twice");
}
