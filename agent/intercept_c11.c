/* intercept_c11.c — C11 mtx_* / cnd_*wait (glibc builds them on pthread, but
 * calls its internals directly, so they need their own wrappers). */
#include "fw_lockops.h"
#include "fw_real.h"

FW_EXPORT int mtx_lock(mtx_t *m)
{
    struct fw_op op;
    fw_acquire_begin(&op, m, FW_KIND_C11_MTX, FW_ACQ_BLOCKING, FW_CALL_SITE());
    int rc = FW_REAL(mtx_lock)(m);
    fw_acquire_end(&op, rc == thrd_success, FW_KIND_C11_MTX);
    return rc;
}

FW_EXPORT int mtx_trylock(mtx_t *m)
{
    struct fw_op op;
    fw_acquire_begin(&op, m, FW_KIND_C11_MTX, FW_ACQ_TRY, FW_CALL_SITE());
    int rc = FW_REAL(mtx_trylock)(m);
    fw_acquire_end(&op, rc == thrd_success, FW_KIND_C11_MTX);
    return rc;
}

FW_EXPORT int mtx_timedlock(mtx_t *__restrict m, const struct timespec *__restrict t)
{
    struct fw_op op;
    fw_acquire_begin(&op, m, FW_KIND_C11_MTX, FW_ACQ_TIMED, FW_CALL_SITE());
    int rc = FW_REAL(mtx_timedlock)(m, t);
    fw_acquire_end(&op, rc == thrd_success, FW_KIND_C11_MTX);
    return rc;
}

FW_EXPORT int mtx_unlock(mtx_t *m)
{
    fw_release(m, FW_KIND_C11_MTX);
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

FW_EXPORT int cnd_wait(cnd_t *c, mtx_t *m)
{
    struct fw_held *e = fw_cond_wait_begin(m);
    int rc = FW_REAL(cnd_wait)(c, m);
    fw_cond_wait_end(e);
    return rc;
}

FW_EXPORT int cnd_timedwait(cnd_t *__restrict c, mtx_t *__restrict m, const struct timespec *__restrict t)
{
    struct fw_held *e = fw_cond_wait_begin(m);
    int rc = FW_REAL(cnd_timedwait)(c, m, t);
    fw_cond_wait_end(e);
    return rc;
}
