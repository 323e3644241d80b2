/* fw_pymutex.h — CPython 3.13.1+ PyMutex parks in a fork child. A PyMutex is
 * taken with an inline compare-and-swap (no libc call); only its waiter is seen,
 * when it parks on its own stack semaphore. Async-signal-safe, fault-safe reads. */
#ifndef FW_PYMUTEX_H
#define FW_PYMUTEX_H

#include <stddef.h>
#include <stdint.h>

/* If the semaphore sem (about to be waited on by the calling thread) is the
 * _PySemaphore of a parking-lot wait_entry on this thread's stack, waiting for a
 * locked PyMutex: its address, else 0. */
uint64_t fw_pymutex_awaited(const void *sem);

/* What the memory around a PyMutex says: the lock's JSON kind ("threading.Lock",
 * "threading.RLock", or "pymutex" when the containing object is not recognised)
 * and, for a _PyRecursiveMutex (3.14+ RLock), its owner's pthread_self() (0 = none). */
const char *fw_pymutex_kind(uint64_t mutex_addr, uint64_t *owner_ident);

/* The type name (tp_name) of the object at obj, "" when unreadable. */
void fw_py_type_name(uint64_t obj, char *out, size_t n);

/* 3.8-3.13.0: "threading.Lock" / "threading.RLock" when the semaphore sem, about
 * to be waited on by the calling thread, is the lock_lock of such an object that
 * this thread's stack refers to; 0 when none is found (say nothing then). */
const char *fw_pysem_kind(uint64_t sem);

#endif
