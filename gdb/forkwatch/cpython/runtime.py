"""Interpreters and thread states, walked from _PyRuntime (never from eval-frame locals)."""
from . import _mem
from ._mem import MemError

MAX_INTERPS = 256
MAX_THREADS = 4096


def interpreters(runtime, lay):
    """Addresses of every PyInterpreterState, head first (the main one is last)."""
    out = []
    try:
        interp = _mem.ptr(runtime + lay["runtime.interpreters_head"])
        while interp and len(out) < MAX_INTERPS and interp not in out:
            out.append(interp)
            interp = _mem.ptr(interp + lay["interp.next"])
    except MemError:
        pass
    return out


def main_interpreter(runtime, lay):
    if "runtime.interpreters_main" in lay:
        try:
            main = _mem.ptr(runtime + lay["runtime.interpreters_main"])
            if main:
                return main
        except MemError:
            pass
    interps = interpreters(runtime, lay)
    return interps[-1] if interps else None


def thread_states(interp, lay):
    out = []
    seen = set()
    try:
        ts = _mem.ptr(interp + lay["interp.tstate_head"])
        while ts and len(out) < MAX_THREADS and ts not in seen:
            seen.add(ts)
            out.append(ts)
            ts = _mem.ptr(ts + lay["tstate.next"])
    except MemError:
        pass
    return out


def thread_ids(ts, lay):
    """(pthread_t ident, native TID or None)"""
    ident = _mem.u64(ts + lay["tstate.thread_id"])
    native = None
    if "tstate.native_thread_id" in lay:
        try:
            native = _mem.u64(ts + lay["tstate.native_thread_id"]) or None
        except MemError:
            native = None
    return ident, native
