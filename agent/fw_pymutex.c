/* fw_pymutex.c — see fw_pymutex.h.
 *
 * CPython 3.13.1+ (Python/lock.c, Python/parking_lot.c): a contended
 * _PyMutex_LockTimed sets _Py_HAS_PARKED and calls _PyParkingLot_Park(&m->_bits,
 * &newv = _Py_LOCKED|_Py_HAS_PARKED, ...), which puts a
 *     struct wait_entry { void *park_arg; uintptr_t addr; _PySemaphore sema; ... }
 * on the waiter's stack and ends in _PySemaphore_PlatformWait: sem_wait(&sema)
 * without a timeout, sem_clockwait (or sem_timedwait) with one. addr@8 and sema@16
 * in the -dbg DWARF of 3.13.18, 3.14.10 and 3.15.2, and _PySemaphore starts with
 * its sem_t: the awaited byte is at *(sem - 8). Park only sleeps while the byte
 * still equals the expected value, so a waiter on a PyMutex sees exactly 3 there
 * (a PyEvent's waiter sees 2, other parking-lot users other words). */
#include "fw_pymutex.h"

#include "fw_python.h"
#include "fw_saferead.h"

#include <string.h>

#define STACK_WINDOW (256u * 1024u)   /* sem_wait's caller chain above our frame */
#define PY_LOCKED 1u
#define PY_HAS_PARKED 2u
/* Object offsets from fw_py_offsets.h (generated from gdb/forkwatch/cpython/layouts.py).
 * One offset serves _thread.lock and _thread.RLock, with a PyMutex (3.13.1+/3.14+) or a
 * sem_t pointer (until 3.13.0) right after PyObject_HEAD: the type is read from there. */
_Static_assert(FW_PY_LOCK_MUTEX == FW_PY_RLOCK_MUTEX && FW_PY_LOCK_SEM == FW_PY_RLOCK_SEM,
               "_thread.lock and _thread.RLock keep their lock at different offsets: read each with its own");
#define MUTEX_IN_OBJECT ((uint64_t)FW_PY_LOCK_MUTEX)
#define SEM_IN_OBJECT ((uint64_t)FW_PY_LOCK_SEM)

uint64_t fw_pymutex_awaited(const void *sem)
{
    volatile char here = 0;
    uintptr_t s = (uintptr_t)sem, sp = (uintptr_t)&here;
    if (s <= sp || s - sp > STACK_WINDOW || s < 16)
        return 0;   /* not on the calling thread's stack, above this frame */
    uint64_t addr;
    uint8_t bits;
    if (!fw_safe_read((uint64_t)s - 8, &addr, sizeof addr) || addr < 4096 ||
        !fw_safe_read(addr, &bits, 1))
        return 0;
    return bits == (PY_LOCKED | PY_HAS_PARKED) ? addr : 0;
}

/* The type name of the object at obj, if readable: "" otherwise. */
void fw_py_type_name(uint64_t obj, char *out, size_t n)
{
    uint64_t type, name;
    out[0] = '\0';
    if (!fw_safe_read(obj + FW_PY_OB_TYPE, &type, sizeof type) || type < 4096 ||
        !fw_safe_read(type + FW_PY_TP_NAME, &name, sizeof name) || name < 4096)
        return;
    for (size_t i = 0; i + 1 < n; i++) {
        if (!fw_safe_read(name + i, &out[i], 1)) {
            out[0] = '\0';
            return;
        }
        if (out[i] == '\0')
            return;
    }
    out[n - 1] = '\0';
}

const char *fw_pymutex_kind(uint64_t addr, uint64_t *owner)
{
    char name[32];
    *owner = 0;
    if (addr < MUTEX_IN_OBJECT)
        return "pymutex";
    fw_py_type_name(addr - MUTEX_IN_OBJECT, name, sizeof name);
    if (strcmp(name, "_thread.lock") == 0)
        return "threading.Lock";
    if (strcmp(name, "_thread.RLock") == 0) {
        /* 3.14+: the mutex is a _PyRecursiveMutex (3.13's RLock waits on a sem_t). */
        if (!fw_safe_read(addr + FW_PY_RECMUTEX_THREAD, owner, sizeof *owner))
            *owner = 0;
        return "threading.RLock";
    }
    return "pymutex";
}

/* 3.8-3.13.0: lockobject and rlockobject (Modules/_threadmodule.c) are
 * {PyObject_HEAD; PyThread_type_lock lock_lock; ...}, lock_lock a malloc'd sem_t.
 * lock_PyThread_acquire_lock / rlock_acquire keep `self` live across the call
 * to acquire_timed (they use it afterwards), so it sits in a callee-saved
 * register that a callee spills, or in their own frame: scan the words of the
 * calling thread's stack above this frame for an object of type _thread.lock or
 * _thread.RLock whose lock_lock is sem. A match is the lock itself (its type
 * and its semaphore both agree); no match says nothing. */
#define SEM_SCAN_WINDOW (64u * 1024u)
#define SEM_SCAN_CHUNK 512u

const char *fw_pysem_kind(uint64_t sem)
{
    volatile char here = 0;
    uint64_t sp = ((uint64_t)(uintptr_t)&here + 7u) & ~(uint64_t)7u;
    uint64_t words[SEM_SCAN_CHUNK / 8u];
    for (uint64_t at = sp; at < sp + SEM_SCAN_WINDOW; at += SEM_SCAN_CHUNK) {
        if (!fw_safe_read(at, words, sizeof words))
            return 0;   /* the end of the stack */
        for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
            uint64_t obj = words[i], inner;
            if (obj < 4096 || (obj & 7u) || !fw_safe_read(obj + SEM_IN_OBJECT, &inner, sizeof inner) ||
                inner != sem)
                continue;
            char name[32];
            fw_py_type_name(obj, name, sizeof name);
            if (strcmp(name, "_thread.lock") == 0)
                return "threading.Lock";
            if (strcmp(name, "_thread.RLock") == 0)
                return "threading.RLock";
        }
    }
    return 0;
}
