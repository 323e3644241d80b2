"""Lock-bearing Python objects: _thread.lock, _thread.RLock, io Buffered*.

Until 3.13.0 each holds a PyThread_type_lock (a heap sem_t*); 3.13.1+ `_thread.lock`
holds a one-byte PyMutex instead (its address is reported as the lock address). 3.14+
`_thread.RLock` holds a _PyRecursiveMutex {PyMutex mutex; unsigned long long thread; size_t
level} (Include/internal/pycore_lock.h): the mutex byte is the lock address, `thread` the
owner's ident. 3.15's PyThread_type_lock (io Buffered*) points to a heap PyMutex
(Python/thread.c, PyThread_allocate_lock). PyMutex bits: 1 locked, 2 has parked waiters.
"""
from . import _mem
from ._mem import MemError

BUFFERED_TYPES = ("_io.BufferedWriter", "_io.BufferedReader", "_io.BufferedRandom")


class PyLock:
    __slots__ = ("address", "lock_address", "python_type", "type_name", "locked",
                 "owner_ident", "count", "description", "found_in")

    def __init__(self, address, lock_address, python_type, type_name, locked,
                 owner_ident=None, count=None, description=""):
        self.address = address
        self.lock_address = lock_address
        self.python_type = python_type
        self.type_name = type_name
        self.locked = locked
        self.owner_ident = owner_ident
        self.count = count
        self.description = description
        self.found_in = None  # where find_lock_object met it ("local x in f()", ...)

    def __repr__(self):
        return "PyLock(%s at 0x%x, lock=0x%x, locked=%r, owner=%r, count=%r)" % (
            self.python_type, self.address, self.lock_address or 0, self.locked,
            self.owner_ident, self.count)


def _safe(text, limit=80):
    """Printable ASCII only (anything else as \\xNN / \\uNNNN), bounded."""
    out = []
    for ch in text[:limit]:
        o = ord(ch)
        if 32 <= o < 127 and ch not in "\\'\"":
            out.append(ch)
        elif o < 256:
            out.append("\\x%02x" % o)
        else:
            out.append("\\u%04x" % (o & 0xFFFF))
    if len(text) > limit:
        out.append("...")
    return "".join(out)


def _sem_value(addr):
    """glibc 64-bit sem_t: the value is the low 32 bits of the first word."""
    try:
        return _mem.u64(addr) & 0xFFFFFFFF
    except MemError:
        return None


def _mutex_locked(addr):
    return bool(_mem.u8(addr) & 1)


def describe(reader, obj, patch=None, label=None):
    """PyLock for obj if it is a lock-bearing object, else None. Never raises."""
    try:
        tname = reader.type_name(obj)
    except MemError:
        return None
    lay = reader.lay
    try:
        if tname == "_thread.lock":
            if reader.minor >= 14 or (reader.minor == 13 and patch is not None and patch >= 1) \
                    or "lock.lock_lock" not in lay:
                mutex = obj + lay.get("lock.mutex", 16)
                bits = _mem.u8(mutex)
                locked = bool(bits & 1)
                return PyLock(obj, mutex, "threading.Lock", tname, locked,
                              description="<%s %s>" % (tname, "locked" if locked else "unlocked"))
            lock = _mem.ptr(obj + lay["lock.lock_lock"])
            locked = bool(_mem.u8(obj + lay["lock.locked"]))
            return PyLock(obj, lock, "threading.Lock", tname, locked,
                          description="<%s %s>" % (tname, "locked" if locked else "unlocked"))
        if tname == "_thread.RLock" and "rlock.lock" in lay:
            mutex = obj + lay["rlock.lock"]
            owner = _mem.u64(mutex + lay.get("recmutex.thread", 8))
            count = _mem.u64(mutex + lay.get("recmutex.level", 16))
            locked = _mutex_locked(mutex)
            # `level` counts re-entries beyond the first (Python/lock.c, _PyRecursiveMutex_Lock)
            shown = count + 1 if locked else 0
            desc = "<%s %s owner=0x%x count=%d>" % (
                tname, "locked" if locked else "unlocked", owner, shown)
            return PyLock(obj, mutex, "threading.RLock", tname, locked,
                          owner_ident=owner or None, count=shown, description=desc)
        if tname == "_thread.RLock":
            lock = _mem.ptr(obj + lay["rlock.rlock_lock"])
            owner = _mem.u64(obj + lay["rlock.rlock_owner"])
            count = _mem.u64(obj + lay["rlock.rlock_count"])
            locked = count > 0
            desc = "<%s %s owner=0x%x count=%d>" % (
                tname, "locked" if locked else "unlocked", owner, count)
            return PyLock(obj, lock, "threading.RLock", tname, locked,
                          owner_ident=owner or None, count=count, description=desc)
        if tname in BUFFERED_TYPES:
            lock = _mem.ptr(obj + lay["buffered.lock"])
            owner = _mem.u64(obj + lay["buffered.owner"])
            locked = None
            if owner:
                locked = True
            elif lock and reader.minor >= 15:
                locked = _mutex_locked(lock)
            elif lock:
                val = _sem_value(lock)
                locked = None if val is None else val == 0
            desc = "<%s%s%s>" % (tname, " " + _safe(label) if label else "",
                                 " owner=0x%x" % owner if owner else "")
            return PyLock(obj, lock, "io.buffered", tname, locked,
                          owner_ident=owner or None, description=desc)
    except MemError:
        return None
    return None
