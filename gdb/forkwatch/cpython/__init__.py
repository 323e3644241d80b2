"""forkwatch.cpython: CPython 3.8-3.13 read from a live process or a core.

Public API (docs/DESIGN.md §3): inspect_process(), PythonProcess, PyThread, PyFrame,
PyLock, ModuleLock, AtForkHook, GilState, UnsupportedPython.  Reads memory only; never
calls the inferior.
"""
from ._mem import MemError
from .frames import PyFrame
from .gil import GilState
from .locks import PyLock
from .modlock import ModuleLock
from .process import AtForkHook, PyThread, PythonProcess
from .version import UnsupportedPython
from . import version as _version

__all__ = ["inspect_process", "PythonProcess", "PyThread", "PyFrame", "PyLock",
           "ModuleLock", "AtForkHook", "GilState", "UnsupportedPython"]


last_error = None  # why the last inspect_process() gave None, for diagnostics


def inspect_process():
    """The CPython runtime in the selected inferior, or None if there is none.

    Raises UnsupportedPython(one-line message) for a version we cannot read; nothing
    else escapes (an unexpected failure gives None and sets `last_error`).
    """
    global last_error
    last_error = None
    try:
        runtime = _version.runtime_address()
        if not runtime:
            _version.check_old_python()  # raises for a CPython older than 3.7 (no _PyRuntime)
            last_error = "no _PyRuntime symbol"
            return None
        major, minor, patch, how = _version.detect(runtime)
        return PythonProcess.open(runtime, major, minor, patch, how)
    except UnsupportedPython:
        raise
    except MemError as exc:
        last_error = str(exc)
        return None
    except Exception as exc:  # never a traceback for the user
        last_error = "%s: %s" % (type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "")
        return None
