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

#include "fw_saferead.h"

#include <string.h>

#define STACK_WINDOW (256u * 1024u)   /* sem_wait's caller chain above our frame */
#define PY_LOCKED 1u
#define PY_HAS_PARKED 2u
#define OB_TYPE_OFF 8u                /* PyObject {ob_refcnt; ob_type} (default build) */
#define TP_NAME_OFF 24u               /* PyTypeObject: PyVarObject head, then tp_name */
#define MUTEX_IN_OBJECT 16u           /* lockobject / rlockobject: PyObject_HEAD then the mutex */
#define RMUTEX_THREAD_OFF 8u          /* _PyRecursiveMutex {PyMutex mutex; unsigned long long thread; size_t level} */

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
static void type_name(uint64_t obj, char *out, size_t n)
{
    uint64_t type, name;
    out[0] = '\0';
    if (!fw_safe_read(obj + OB_TYPE_OFF, &type, sizeof type) || type < 4096 ||
        !fw_safe_read(type + TP_NAME_OFF, &name, sizeof name) || name < 4096)
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
    type_name(addr - MUTEX_IN_OBJECT, name, sizeof name);
    if (strcmp(name, "_thread.lock") == 0)
        return "threading.Lock";
    if (strcmp(name, "_thread.RLock") == 0) {
        /* 3.14+: the mutex is a _PyRecursiveMutex (3.13's RLock waits on a sem_t). */
        if (!fw_safe_read(addr + RMUTEX_THREAD_OFF, owner, sizeof *owner))
            *owner = 0;
        return "threading.RLock";
    }
    return "pymutex";
}
