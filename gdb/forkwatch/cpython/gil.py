"""The GIL: 3.8-3.11 `_PyRuntime.ceval.gil` (embedded); 3.12+ `interp->ceval.gil` (pointer)."""
from . import _mem, runtime as rt
from ._mem import MemError


class GilState:
    __slots__ = ("locked", "holder_ident", "holder_tstate", "last_holder_tstate", "address")

    def __init__(self, locked, holder_ident, holder_tstate, last_holder_tstate, address):
        self.locked = locked                  # bool
        self.holder_ident = holder_ident      # pthread_t of the holder when locked, else None
        self.holder_tstate = holder_tstate    # its thread state when locked, else None
        self.last_holder_tstate = last_holder_tstate  # last_holder, whether locked or not
        self.address = address                # the struct _gil_runtime_state

    def __repr__(self):
        return "GilState(locked=%r, holder_ident=%r, holder_tstate=%r)" % (
            self.locked, self.holder_ident, self.holder_tstate)


def gil_address(runtime, lay, minor):
    if minor <= 11:
        return runtime + lay["runtime.ceval_gil"]
    main = rt.main_interpreter(runtime, lay)
    if not main:
        return None
    return _mem.ptr(main + lay["interp.ceval_gil"]) or None


def read_gil(runtime, lay, minor):
    try:
        addr = gil_address(runtime, lay, minor)
        if not addr:
            return None
        locked = _mem.i32(addr + lay["gil.locked"])
        last = _mem.ptr(addr + lay["gil.last_holder"])
    except MemError:
        return None
    if locked not in (0, 1):
        return None  # uninitialised (-1) or garbage
    ident = None
    if locked and last:
        try:
            ident = _mem.u64(last + lay["tstate.thread_id"])
        except MemError:
            ident = None
    return GilState(bool(locked), ident, last if locked and last else None, last or None, addr)
