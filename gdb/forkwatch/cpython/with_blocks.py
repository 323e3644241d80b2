"""The context managers of a thread's active `with` blocks, read from its frames.

A `threading.Lock` records no owner, but a thread inside `with lock:` keeps a reference to
the lock on its frame's value stack for the whole block (checked on 3.8.18, 3.9.18,
3.10.13, 3.11.7, 3.12.1, 3.13.0, Debian 3.11, 3.13.18, 3.14.10 and 3.15.2 with `dis`):
- 3.8-3.10 (Python/ceval.c SETUP_WITH): the bound `__exit__` is pushed, then a
  SETUP_FINALLY block with b_level = the stack level including it; the handler starts with
  WITH_CLEANUP_START (3.8) or WITH_EXCEPT_START (3.9, 3.10). An executing frame's
  f_stacktop is NULL, but its block stack f_blockstack[0..f_iblock) is kept in the frame.
  b_handler is a byte offset in 3.8/3.9, a code-unit index in 3.10.
- 3.11-3.13 (BEFORE_WITH): the bound `__exit__` stays on the stack; the block has an entry
  in co_exceptiontable (Objects/exception_handling_notes.txt) whose handler starts
  PUSH_EXC_INFO, WITH_EXCEPT_START and whose depth counts the stack up to the `__exit__`.
  The frame's stacktop is not kept up to date while it runs (3.11 SET_LOCALS_FROM_FRAME sets
  it to -1), so the depth comes from the table, not the frame.
- 3.14+ (LOAD_SPECIAL, gh-120507): the `__exit__` method and its self (NULL for a bound
  method) are the top two items at that depth; slots are tagged _PyStackRefs.
Nested blocks are found by following each handler's offset into the entry that covers it
(a handler's code lies inside the enclosing block's range).

What this cannot see: a lock taken with an explicit `lock.acquire()` leaves no trace on the
stack (no holder is named then, never a wrong one), nor one released by hand inside the
block. Reads only; a damaged frame stops the walk with a note.
"""
from . import _mem
from ._mem import MemError
from .frames import untag
from .objects import plausible_pointer
from .with_decode import SETUP_FINALLY, WITH_HANDLER, parse_exception_table, with_depths

MAX_FRAMES = 64          # frames of one thread looked at
MAX_BLOCKS = 20          # CO_MAXBLOCKS (Include/code.h, 3.8-3.10)
MAX_TABLE = 1 << 16      # bytes of co_exceptiontable read
MAX_STACK = 4096


class WithHold:
    """One active `with` block: the context manager object and the frame it is in."""
    __slots__ = ("manager", "function", "file", "line", "frame")

    def __init__(self, manager, function, file, line, frame):
        self.manager = manager      # address of the object the `with` statement entered
        self.function = function
        self.file = file
        self.line = line            # the frame's current line (inside the block)
        self.frame = frame          # frame address

    def __repr__(self):
        return "WithHold(0x%x, %r, %r:%r)" % (self.manager, self.function, self.file, self.line)


# -- memory ---------------------------------------------------------------------------------

def _self_of(reader, obj):
    """The `self` of a bound `__exit__` (a C method of a lock, a Python method of a
    Condition), or None."""
    lay = reader.lay
    if not plausible_pointer(obj):
        return None
    tname = reader.safe_type_name(obj)
    key = {"builtin_function_or_method": "cfunction.m_self", "method": "method.im_self"}.get(tname)
    if key is None or key not in lay:
        return None
    inner = _mem.ptr(obj + lay[key])
    return inner if plausible_pointer(inner) and reader.safe_type_name(inner) else None


def _opcodes_at(code_bytes_at, unit, n):
    return tuple(code_bytes_at(unit + i) for i in range(n))


def _holds_old(proc, frame, code, info, out_managers):
    """3.8-3.10: managers of the frame's SETUP_WITH blocks, innermost first."""
    r, lay, minor = proc.reader, proc.lay, proc.version[1]
    handler_ops = WITH_HANDLER[minor]
    co_code = r.read_bytes(_mem.ptr(code + lay["code.co_code"]))
    if co_code is None:
        raise MemError("co_code unreadable")
    valuestack = _mem.ptr(frame + lay["frameobj.f_valuestack"])
    n = _mem.i32(frame + lay["frameobj.f_iblock"])
    if n < 0 or n > MAX_BLOCKS:
        raise MemError("f_iblock %d" % n)
    size = lay["sizeof.PyTryBlock"]
    stack = max(0, min(info.stacksize, MAX_STACK))
    for i in range(n - 1, -1, -1):
        b = frame + lay["frameobj.f_blockstack"] + i * size
        if _mem.i32(b + lay["tryblock.b_type"]) != SETUP_FINALLY:
            continue
        handler = _mem.i32(b + lay["tryblock.b_handler"]) * (2 if minor >= 10 else 1)
        level = _mem.i32(b + lay["tryblock.b_level"])
        if not 0 <= handler < len(co_code) or co_code[handler] not in handler_ops[:1]:
            continue  # a try/finally, not a with
        if not 1 <= level <= stack:
            raise MemError("block level %d out of 1..%d" % (level, stack))
        mgr = _self_of(r, _mem.ptr(valuestack + 8 * (level - 1)))
        if mgr:
            out_managers.append(mgr)


def _holds_new(proc, frame, code, offset, info, out_managers):
    """3.11+: managers of the `with` blocks the exception table says enclose `offset`."""
    r, lay, minor = proc.reader, proc.lay, proc.version[1]
    handler_ops = WITH_HANDLER[minor]
    if offset < 0:
        return
    table = r.read_bytes(_mem.ptr(code + lay["code.co_exceptiontable"]), MAX_TABLE)
    if table is None:
        raise MemError("co_exceptiontable unreadable")
    if not table:
        return
    try:
        entries = parse_exception_table(table)
    except ValueError as exc:
        raise MemError(str(exc))
    ncode = _mem.i64(code + lay["varobject.ob_size"])  # code units (3.11+ PyCodeObject)
    start = code + lay["code.co_code_adaptive"]

    def is_with_handler(unit):
        if not 0 <= unit <= ncode - len(handler_ops):
            return False
        return _opcodes_at(lambda u: _mem.u8(start + 2 * u), unit, len(handler_ops)) == handler_ops

    stack = max(0, min(info.stacksize, MAX_STACK))
    base = frame + lay["iframe.localsplus"] + 8 * max(0, min(info.nslots_fixed or 0, MAX_STACK))
    for depth in with_depths(entries, offset, is_with_handler):
        if depth > stack:
            raise MemError("with depth %d beyond co_stacksize %d" % (depth, stack))
        top = untag(minor, _mem.ptr(base + 8 * (depth - 1)))
        if minor >= 14:
            # LOAD_SPECIAL left (method, self) or (bound method, NULL) (Python/bytecodes.c)
            mgr = top if plausible_pointer(top) and r.safe_type_name(top) else None
            if mgr is None and depth >= 2:
                mgr = _self_of(r, untag(minor, _mem.ptr(base + 8 * (depth - 2))))
        else:
            mgr = _self_of(r, top)
        if mgr:
            out_managers.append(mgr)


def with_holds(proc, tstate, notes):
    """[WithHold] of one thread, innermost first ([] for a minor we have no opcodes for).
    A frame that cannot be read stops the walk; why goes to `notes`."""
    minor = proc.version[1]
    if minor not in WITH_HANDLER:
        notes.append("with blocks: CPython 3.%d's handler opcodes are not known" % minor)
        return []
    walker = proc.walker
    out = []
    del walker.damaged[:]
    raw = walker.raw_frames(tstate)[:MAX_FRAMES]
    if walker.damaged:
        notes.append("with blocks: " + "; ".join(walker.damaged[:2]))
        del walker.damaged[:]
    for frame, code, offset in raw:
        managers = []
        try:
            info = walker.code_info(code)
            if minor <= 10:
                _holds_old(proc, frame, code, info, managers)
            else:
                _holds_new(proc, frame, code, offset, info, managers)
        except (MemError, KeyError) as exc:
            notes.append("with blocks: frame 0x%x not read (%s): the walk stops there" % (frame, exc))
            break
        if managers:
            pf = walker._make(frame, code, offset)
            for m in managers:
                out.append(WithHold(m, pf.function, pf.file, pf.line, frame))
    return out


def first_local(proc, frame, code):
    """The frame's first local (a method's `self`), or None."""
    lay = proc.lay
    try:
        if proc.version[1] <= 10:
            obj = _mem.ptr(frame + lay["frameobj.f_localsplus"])
        else:
            obj = untag(proc.version[1], _mem.ptr(frame + lay["iframe.localsplus"]))
    except (MemError, KeyError):
        return None
    return obj if plausible_pointer(obj) else None
