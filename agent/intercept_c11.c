/* intercept_c11.c — C11 mtx_* / cnd_*wait (glibc builds them on pthread, but
 * calls its internals directly, so they need their own wrappers). */
#include "fw_lockops.h"
#include "fw_real.h"

typedef mtx_t *X;
typedef const struct timespec *__restrict TS;
#define CK FW_KIND_C11_MTX

FW_ACQ_WRAP(mtx_lock, mtx_lock, CK, FW_ACQ_BLOCKING, m, rc == thrd_success,
            (X m), (m), (X m, uint64_t cs), (m, cs))
FW_ACQ_WRAP(mtx_trylock, mtx_trylock, CK, FW_ACQ_TRY, m, rc == thrd_success,
            (X m), (m), (X m, uint64_t cs), (m, cs))
FW_ACQ_WRAP(mtx_timedlock, mtx_timedlock, CK, FW_ACQ_TIMED, m, rc == thrd_success,
            (mtx_t *__restrict m, TS t), (m, t), (mtx_t *__restrict m, TS t, uint64_t cs), (m, t, cs))

FW_EXPORT int mtx_unlock(mtx_t *m)
{
    if (FW_UNLIKELY(!fw_rel_fast(m, FW_KIND_C11_MTX)))
        fw_release_slow(m, FW_KIND_C11_MTX);
    return FW_REAL(mtx_unlock)(m);
}

FW_EXPORT int mtx_init(mtx_t *m, int type)
{
    fw_lock_reinit(m, FW_KIND_C11_MTX, 0);
    return FW_REAL(mtx_init)(m, type);
}

FW_EXPORT void mtx_destroy(mtx_t *m)
{
    fw_lock_reinit(m, FW_KIND_C11_MTX, 1);
    FW_REAL(mtx_destroy)(m);
}

/* Cancellation of a waiter: see intercept_cond.c. */
static void cnd_wait_cancelled(void *e)
{
    fw_cond_wait_end(e);
}

FW_EXPORT int cnd_wait(cnd_t *c, mtx_t *m)
{
    struct fw_held *volatile e = fw_cond_wait_begin(m);   /* kept across setjmp */
    int rc;
    pthread_cleanup_push(cnd_wait_cancelled, e);
    rc = FW_REAL(cnd_wait)(c, m);
    pthread_cleanup_pop(0);
    fw_cond_wait_end(e);
    return rc;
}

FW_EXPORT int cnd_timedwait(cnd_t *__restrict c, mtx_t *__restrict m, const struct timespec *__restrict t)
{
    struct fw_held *volatile e = fw_cond_wait_begin(m);   /* kept across setjmp */
    int rc;
    pthread_cleanup_push(cnd_wait_cancelled, e);
    rc = FW_REAL(cnd_timedwait)(c, m, t);
    pthread_cleanup_pop(0);
    fw_cond_wait_end(e);
    return rc;
}
