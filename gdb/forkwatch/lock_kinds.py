"""The one table of lock kinds: every `lock.kind` forkwatch writes, and what each side calls them.

The agent (agent/forkwatch_abi.h's enum, agent/fw_event.c's JSON names, agent/fw_pymutex.c),
the GDB side (agent_registry.py, native_threads.py, cpython/locks.py, analysis.py), the CLI
(cli/summary.c) and the docs (README.md, docs/DESIGN.md, docs/forkwatch.1) all name these
kinds; tests/lock_kinds_check.py (run by the unit suite) fails when one of them names a kind
this table does not have, or a list of kinds in the docs differs from LOCK_KINDS. A new kind
starts here. Pure data: no `gdb` import (the check runs without GDB).
"""

# Every value of `lock.kind` in an agent event or a finding, with what it is.
LOCK_KINDS = {
    "threading.Lock": "a Python threading.Lock (_thread.lock)",
    "threading.RLock": "a Python threading.RLock (_thread.RLock)",
    "io.buffered": "the lock of an io.Buffered* object (sys.stdout's buffer, a file's)",
    "gil": "CPython's GIL",
    "pthread_mutex": "a pthread_mutex_t",
    "pthread_rwlock": "a pthread_rwlock_t",
    "semaphore": "a POSIX sem_t (CPython 3.8-3.13.0 locks are these)",
    "c11_mtx": "a C11 mtx_t",
    "pymutex": "a CPython 3.13.1+ PyMutex whose object is not recognised",
    "pyevent": "a CPython 3.13+ PyEvent (a thread join's)",
    "parking_lot": "a CPython 3.13+ parking-lot wait on a word that is neither a PyMutex nor a PyEvent",
    "thread_pool": "a wait that only lost executor workers would end (a native pool, libgomp)",
    "pool_result": "a lost-task finding's missing result",
}

# What a reader shows for a registry kind newer than itself (not a kind of its own).
UNKNOWN = "unknown"

# Waits of a thread that are no lock (native_threads.Wait kinds besides LOCK_KINDS).
OTHER_WAIT_KINDS = {
    "condition": "a condition variable wait (pthread_cond_wait)",
    "futex": "a futex wait none of the above (a join, a parking-lot wait whose address is unreadable)",
    "syscall": "a sleeping or blocking system call",
}

# The agent registry's `kind` field (enum fw_lock_kind, agent/forkwatch_abi.h; an ABI: numbers
# never change, new ones are added): number -> (enum name, lock.kind). FW_KIND_NONE (0) is no kind.
REGISTRY_KINDS = {
    1: ("FW_KIND_MUTEX", "pthread_mutex"),
    2: ("FW_KIND_RWLOCK_READ", "pthread_rwlock"),
    3: ("FW_KIND_RWLOCK_WRITE", "pthread_rwlock"),
    4: ("FW_KIND_SEMAPHORE", "semaphore"),
    5: ("FW_KIND_C11_MTX", "c11_mtx"),
    6: ("FW_KIND_GIL", "gil"),
    7: ("FW_KIND_PYMUTEX", "pymutex"),
}

# registry kind number -> lock.kind (agent_registry.py reads the registry with this)
REGISTRY_NAMES = {number: kind for number, (_enum, kind) in REGISTRY_KINDS.items()}
