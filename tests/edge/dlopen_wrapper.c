/* dlopen_wrapper.c — libedgewrap.so (own pthread_mutex_lock/unlock forwarding
 * through RTLD_NEXT) preloaded after the agent, before it, or dlopen()ed and
 * called through its handle: every call reaches glibc exactly once (no
 * recursion, nothing skipped: the wrapper counts every program call), and the
 * agent records each hold once. Environment: EDGE_WRAP=PATH to dlopen it. */
#define _GNU_SOURCE
#include "edge.h"

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;

int main(void)
{
    edge_reg();
    atomic_long *locks = dlsym(RTLD_DEFAULT, "edgewrap_locks");
    atomic_long *unlocks = dlsym(RTLD_DEFAULT, "edgewrap_unlocks");
    if (locks) {
        /* preloaded: the program's own calls go through it (and the agent) */
        long l0 = atomic_load(locks), u0 = atomic_load(unlocks);
        for (int i = 0; i < 1000; i++) {
            CHECK(pthread_mutex_lock(&m) == 0, "lock");
            if (i == 500)
                EXPECT_ENTRIES(0, &m, FW_HOLD_HELD, 1);
            CHECK(pthread_mutex_unlock(&m) == 0, "unlock");
        }
        long dl = atomic_load(locks) - l0, du = atomic_load(unlocks) - u0;
        /* every program call passes (the agent's own stack capture, through
         * libunwind, may add a few of its own) */
        CHECK(dl >= 1000 && du == dl && dl < 1200, "the preloaded wrapper saw %ld locks, %ld unlocks of 1000", dl, du);
        EXPECT_ENTRIES(0, &m, FW_HOLD_EMPTY, 0);
    }
    const char *path = getenv("EDGE_WRAP");
    if (path) {
        void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        CHECK(h != 0, "dlopen(%s): %s", path, dlerror());
        if (h) {
            int (*lock)(pthread_mutex_t *) = (int (*)(pthread_mutex_t *))dlsym(h, "pthread_mutex_lock");
            int (*unlock)(pthread_mutex_t *) = (int (*)(pthread_mutex_t *))dlsym(h, "pthread_mutex_unlock");
            atomic_long *hl = dlsym(h, "edgewrap_locks");
            long before = hl ? atomic_load(hl) : 0;
            for (int i = 0; i < 1000; i++) {
                CHECK(lock(&m) == 0, "lock through the handle");
                CHECK(pthread_mutex_trylock(&m) == EBUSY, "the lock through the handle did not lock");
                int n = edge_entries(0, &m, FW_HOLD_HELD);
                if (edge_agent())
                    CHECK(n == 0 || n == 1, "%d entries for one hold", n);
                CHECK(unlock(&m) == 0, "unlock through the handle");
                EXPECT_ENTRIES(0, &m, FW_HOLD_EMPTY, 0);
            }
            CHECK(hl && atomic_load(hl) - before == 1000, "the dlopened wrapper counted %ld", hl ? atomic_load(hl) - before : -1);
        }
    }
    R("wrappers ok");
    return edge_finish("dlopen_wrapper");
}
