/* fw_lockword.c — reads glibc 2.3x lock words (x86-64/aarch64 layouts) to tell
 * whether a lock is held right now. Used in the fork child, so memory reads only. */
#include "fw_orphan.h"

#include "forkwatch_abi.h"
#include "fw_saferead.h"

#include <pthread.h>
#include <semaphore.h>
#include <string.h>

/* nptl/pthread_rwlock_common.c: bit 1 of __readers is "write locked", the
 * reader count starts at bit 3. */
#define RWLOCK_WRPHASE 1u
#define RWLOCK_WRLOCKED 2u
#define RWLOCK_READER_SHIFT 3u

int fw_lockword_held(uint32_t kind, const void *lock)
{
    switch (kind) {
    case FW_KIND_MUTEX:
    case FW_KIND_C11_MTX: {   /* glibc's mtx_t is a pthread_mutex_t */
        const pthread_mutex_t *m = lock;
        return __atomic_load_n(&m->__data.__lock, __ATOMIC_RELAXED) != 0;
    }
    case FW_KIND_RWLOCK_READ:
    case FW_KIND_RWLOCK_WRITE: {
        const pthread_rwlock_t *rw = lock;
        unsigned readers = __atomic_load_n(&rw->__data.__readers, __ATOMIC_RELAXED);
        int writer = __atomic_load_n(&rw->__data.__cur_writer, __ATOMIC_RELAXED);
        return writer != 0 || (readers & RWLOCK_WRLOCKED) || (readers >> RWLOCK_READER_SHIFT) != 0;
    }
    case FW_KIND_PYMUTEX:   /* CPython's PyMutex: bit 0 of its byte is _Py_LOCKED */
        return (__atomic_load_n((const uint8_t *)lock, __ATOMIC_RELAXED) & 1u) != 0;
    case FW_KIND_SEMAPHORE: {
        /* 64-bit new_sem: value in the low 32 bits of the first word. */
        const uint64_t *data = lock;
        return (__atomic_load_n(data, __ATOMIC_RELAXED) & 0xffffffffu) == 0;
    }
    default:
        return 0;
    }
}

int32_t fw_lockword_owner(uint32_t kind, const void *lock)
{
    switch (kind) {
    case FW_KIND_MUTEX:
    case FW_KIND_C11_MTX: {
        const pthread_mutex_t *m = lock;
        /* Robust and PI mutexes keep the owner in the lock word instead. */
        int owner = __atomic_load_n(&m->__data.__owner, __ATOMIC_RELAXED);
        if (owner == 0)
            owner = (int)(__atomic_load_n((const unsigned *)&m->__data.__lock, __ATOMIC_RELAXED) & 0x3fffffffu);
        return owner > 2 ? owner : 0;   /* 1/2 are plain "locked"/"contended" values */
    }
    case FW_KIND_RWLOCK_WRITE: {
        const pthread_rwlock_t *rw = lock;
        return __atomic_load_n(&rw->__data.__cur_writer, __ATOMIC_RELAXED);
    }
    default:
        return 0;
    }
}

int fw_lockword_write_locked(const void *lock)
{
    const pthread_rwlock_t *rw = lock;
    return (__atomic_load_n(&rw->__data.__readers, __ATOMIC_RELAXED) & RWLOCK_WRLOCKED) != 0;
}

int fw_lockword_read_held(const void *lock)
{
    const pthread_rwlock_t *rw = lock;
    unsigned readers = __atomic_load_n(&rw->__data.__readers, __ATOMIC_RELAXED);
    return (readers & RWLOCK_WRPHASE) == 0 && (readers >> RWLOCK_READER_SHIFT) != 0;
}

/* The lock's bytes copied fault-safely: the _at variants read locks the agent
 * recorded earlier, whose memory may be gone since (an unmapped lock is not held). */
union lock_copy {
    pthread_mutex_t mutex;
    pthread_rwlock_t rwlock;
    sem_t sem;
};

static int copy_lock(uint32_t kind, uint64_t addr, union lock_copy *c)
{
    size_t n;
    switch (kind) {
    case FW_KIND_MUTEX:
    case FW_KIND_C11_MTX: n = sizeof(pthread_mutex_t); break;
    case FW_KIND_RWLOCK_READ:
    case FW_KIND_RWLOCK_WRITE: n = sizeof(pthread_rwlock_t); break;
    case FW_KIND_SEMAPHORE: n = sizeof(sem_t); break;
    default: return 0;
    }
    return fw_safe_read(addr, c, n);
}

int fw_lockword_held_at(uint32_t kind, uint64_t addr)
{
    union lock_copy c;
    return copy_lock(kind, addr, &c) && fw_lockword_held(kind, &c);
}

int32_t fw_lockword_owner_at(uint32_t kind, uint64_t addr)
{
    union lock_copy c;
    return copy_lock(kind, addr, &c) ? fw_lockword_owner(kind, &c) : 0;
}

int fw_lockword_read_held_at(uint64_t addr)
{
    union lock_copy c;
    return copy_lock(FW_KIND_RWLOCK_READ, addr, &c) && fw_lockword_read_held(&c);
}

/* glibc's 64-bit struct new_sem: { uint64_t data; int private; int pad; };
 * `private` is 0 for a process-private semaphore and 128 for a process-shared
 * one (sem_init pshared=1, every sem_open semaphore) — checked on glibc 2.36:
 * glibc XORs it with FUTEX_PRIVATE_FLAG when it calls futex. */
int fw_lockword_can_be_orphan_at(uint32_t kind, uint64_t addr)
{
    union lock_copy c;
    if (!copy_lock(kind, addr, &c))
        return 0;   /* gone: a stale record, nothing a child could wait on */
    if (kind == FW_KIND_SEMAPHORE) {
        int private_flag;
        memcpy(&private_flag, (const char *)&c + 8, sizeof private_flag);
        return private_flag == 0;
    }
    return 1;
}
