"""importlib's per-module lock (importlib._bootstrap._ModuleLock) a thread waits on or holds.

A thread waiting for a module lock runs `_ModuleLock.acquire`, whose `self` is the lock: it
is met among the locals of the thread's innermost frames. A thread holding one is inside
`with _ModuleLockManager(name):` (in `_find_and_load`): the manager's bound `__exit__` sits
on that frame's value stack, and `manager._lock` is the lock. Attributes read (3.8-3.13):
`name` (str), `owner` (thread ident or None), `count` (int; a list from 3.12), `lock`
(_thread.lock; an RLock from 3.13)."""
from . import _mem, locks
from ._mem import MemError
from .objects import plausible_pointer

WAIT_FRAMES = 4     # acquire() and what it calls (a Lock/RLock acquire, a Condition)
HOLD_FRAMES = 128   # how deep a `with _ModuleLockManager` is looked for
MAX_NAME = 200


class ModuleLock:
    __slots__ = ("address", "module", "owner_ident", "count", "waiting", "lock")

    def __init__(self, address, module, owner_ident, count, waiting, lock):
        self.address = address          # the _ModuleLock object
        self.module = module            # the module's name (raw text: escape it to print) or None
        self.owner_ident = owner_ident  # the owner's thread ident (pthread_t) or None
        self.count = count              # its acquire count (int) or None
        self.waiting = waiting          # True: the thread waits in its acquire(); False: holds it
        self.lock = lock                # PyLock of its inner `lock` (Lock/RLock) or None

    def __repr__(self):
        return "ModuleLock(%r, owner=%r, count=%r, waiting=%r)" % (
            self.module, self.owner_ident, self.count, self.waiting)


def _short_type(reader, obj):
    tname = reader.safe_type_name(obj) or ""
    return tname.rsplit(".", 1)[-1]


def _count(reader, obj):
    if not obj:
        return None
    val = reader.read_int(obj)
    if val is not None:
        return val
    if reader.safe_type_name(obj) == "list":  # 3.12+: a list used as a counter
        try:
            n = _mem.i64(obj + reader.lay["varobject.ob_size"])
        except MemError:
            return None
        return n if 0 <= n < (1 << 31) else None
    return None


def read_module_lock(proc, obj, thread_ident):
    """ModuleLock for a _ModuleLock object (or a _ModuleLockManager holding one), else None."""
    r = proc.reader
    kind = _short_type(r, obj)
    if kind == "_ModuleLockManager":
        obj = r.attr(obj, "_lock")
        if not obj or not plausible_pointer(obj):
            return None
        kind = _short_type(r, obj)
    if kind != "_ModuleLock":
        return None
    name_obj = r.attr(obj, "name")
    owner_obj = r.attr(obj, "owner")
    module = r.read_str(name_obj, MAX_NAME) if name_obj else None
    owner = r.read_int(owner_obj) if owner_obj else None
    owner = (owner & 0xFFFFFFFFFFFFFFFF) if owner else None
    lock_obj = r.attr(obj, "lock")
    lock = locks.describe(r, lock_obj, proc.version[2]) if lock_obj else None
    return ModuleLock(obj, module, owner, _count(r, r.attr(obj, "count")),
                      owner != thread_ident, lock)


def find(proc, thread_ident):
    """The _ModuleLock thread `thread_ident` waits on (in its innermost frames, owned by
    another thread) or else the innermost one it holds; None when there is neither."""
    thread = None
    for t in proc.threads():
        if t.thread_ident == thread_ident:
            thread = t
            break
    if thread is None:
        return None
    for depth, (f, code, _off) in enumerate(proc.walker.raw_frames(thread.tstate)[:HOLD_FRAMES]):
        for obj in proc._candidates_of_frame(f, code):
            ml = read_module_lock(proc, obj, thread_ident)
            if ml is None:
                continue
            if ml.waiting and depth < WAIT_FRAMES:
                return ml
            if not ml.waiting:
                return ml
    return None
