"""Decoders for glibc (2.36, x86-64/aarch64 64-bit) lock objects, from raw memory.
Layouts: sysdeps/nptl/bits/struct_mutex.h, struct_rwlock.h, nptl/semaphoreP.h;
glibc's nptl/nptl-printers.py decodes the same fields."""
from . import memory

# pthread_mutex_t
MUTEX_LOCK = 0
MUTEX_COUNT = 4
MUTEX_OWNER = 8
MUTEX_NUSERS = 12
MUTEX_KIND = 16
MUTEX_SIZE = 40
PTHREAD_MUTEX_KIND_MASK = 0x3
PTHREAD_MUTEX_ROBUST = 0x10
PTHREAD_MUTEX_PRIO_INHERIT = 0x20
PTHREAD_MUTEX_PRIO_PROTECT = 0x40
PTHREAD_MUTEX_ELISION = 0x100 | 0x200
FUTEX_TID_MASK = 0x3FFFFFFF
FUTEX_WAITERS = 0x80000000
FUTEX_OWNER_DIED = 0x40000000
_MUTEX_TYPES = {0: "normal", 1: "recursive", 2: "errorcheck", 3: "adaptive"}

# pthread_rwlock_t (glibc >= 2.25, 64-bit)
RW_READERS = 0
RW_WRITERS = 4
RW_WRPHASE_FUTEX = 8
RW_WRITERS_FUTEX = 12
RW_CUR_WRITER = 24
RW_SHARED = 28
RW_FLAGS = 48
RW_SIZE = 56
RWLOCK_WRPHASE = 1
RWLOCK_WRLOCKED = 2
RWLOCK_RWAITING = 4
RWLOCK_READER_SHIFT = 3

# sem_t (64-bit): uint64 data (value low 32, waiters high 32), int private
SEM_SIZE = 32
SEM_PRIVATE = 8
# Process-shared flags. glibc's FUTEX_SHARED is LLL_SHARED = FUTEX_PRIVATE_FLAG = 128 and
# FUTEX_PRIVATE is LLL_PRIVATE = 0 (sysdeps/nptl/futex-internal.h, lowlevellock-futex.h):
# sem_init(pshared=1) and sem_open (multiprocessing's SemLock) store 128 in `private`.
# A mutex with PTHREAD_PROCESS_SHARED has PTHREAD_MUTEX_PSHARED_BIT (128) in __kind
# (nptl/pthreadP.h); a rwlock has __shared != 0.
SEM_SHARED = 128
PTHREAD_MUTEX_PSHARED_BIT = 128


class MutexState(object):
    __slots__ = ("address", "locked", "owner_tid", "count", "kind", "type_name", "robust", "pi", "waiters",
                 "pshared")

    def as_dict(self):
        return {k: getattr(self, k) for k in self.__slots__}


def read_mutex(addr):
    m = MutexState()
    m.address = addr
    raw = memory.read_bytes(addr, 20)
    lock = int.from_bytes(raw[0:4], "little")
    m.count = int.from_bytes(raw[4:8], "little")
    owner = int.from_bytes(raw[8:12], "little", signed=True)
    kind = int.from_bytes(raw[16:20], "little", signed=True)
    m.kind = kind
    m.robust = bool(kind >= 0 and kind & PTHREAD_MUTEX_ROBUST)
    m.pi = bool(kind >= 0 and kind & PTHREAD_MUTEX_PRIO_INHERIT)
    m.pshared = bool(kind >= 0 and kind & PTHREAD_MUTEX_PSHARED_BIT)
    m.type_name = _MUTEX_TYPES.get(kind & PTHREAD_MUTEX_KIND_MASK, "?") if kind >= 0 else "destroyed"
    if m.robust or m.pi:
        m.locked = lock != 0
        m.owner_tid = (lock & FUTEX_TID_MASK) or None
        m.waiters = bool(lock & FUTEX_WAITERS)
    else:
        m.locked = lock != 0
        m.owner_tid = owner if (lock != 0 and owner > 0) else None
        m.waiters = lock > 1
    return m


class RwlockState(object):
    __slots__ = ("address", "readers", "write_locked", "write_phase", "writer_tid", "writers_waiting", "shared")

    def as_dict(self):
        return {k: getattr(self, k) for k in self.__slots__}


def read_rwlock(addr):
    r = RwlockState()
    r.address = addr
    raw = memory.read_bytes(addr, 32)
    readers = int.from_bytes(raw[0:4], "little")
    r.readers = readers >> RWLOCK_READER_SHIFT
    r.write_locked = bool(readers & RWLOCK_WRLOCKED)
    r.write_phase = bool(readers & RWLOCK_WRPHASE)
    cw = int.from_bytes(raw[24:28], "little", signed=True)
    r.writer_tid = cw if cw > 0 else None
    r.writers_waiting = int.from_bytes(raw[4:8], "little")
    r.shared = int.from_bytes(raw[28:32], "little", signed=True)
    return r


def rwlock_base_from_futex(futex, prefer_writer):
    """A thread blocked in a rwlock waits on __wrphase_futex (+8) or __writers_futex (+12).
    Guess the base: a writer waiting for another writer waits on +12 while WRLOCKED is set."""
    cands = [futex - RW_WRITERS_FUTEX, futex - RW_WRPHASE_FUTEX] if prefer_writer else \
        [futex - RW_WRPHASE_FUTEX, futex - RW_WRITERS_FUTEX]
    for base in cands:
        try:
            r = read_rwlock(base)
        except memory.MemoryReadError:
            continue
        if base == futex - RW_WRITERS_FUTEX and r.write_locked and r.writer_tid:
            return base
        if base == futex - RW_WRPHASE_FUTEX and (r.write_phase or r.write_locked or r.readers):
            return base
    return futex - RW_WRPHASE_FUTEX


class SemState(object):
    __slots__ = ("address", "value", "waiters", "pshared")

    def as_dict(self):
        return {k: getattr(self, k) for k in self.__slots__}


def read_sem(addr):
    s = SemState()
    s.address = addr
    data = memory.read_u64(addr)
    s.value = data & 0xFFFFFFFF
    s.waiters = data >> 32
    s.pshared = memory.read_u32(addr + SEM_PRIVATE) == SEM_SHARED
    return s
