"""forkwatch.cpython: CPython 3.8-3.13 read from a live process or a core.

Public API (docs/DESIGN.md §3): inspect_process(), PythonProcess, PyThread, PyFrame,
PyLock, GilState, UnsupportedPython.  Reads memory only; never calls the inferior.
"""
from ._mem import MemError
from .frames import PyFrame
from .gil import GilState
from .locks import PyLock
from .process import PyThread, PythonProcess
from .version import UnsupportedPython
from . import version as _version

__all__ = ["inspect_process", "PythonProcess", "PyThread", "PyFrame", "PyLock",
           "GilState", "UnsupportedPython"]


def inspect_process():
    """The CPython runtime in the selected inferior, or None if there is none.

    Raises UnsupportedPython(one-line message) for a version we cannot read.
    """
    runtime = _version.runtime_address()
    if not runtime:
        _version.check_old_python()  # raises for a CPython older than 3.7 (no _PyRuntime)
        return None
    try:
        major, minor, patch, how = _version.detect(runtime)
        return PythonProcess.open(runtime, major, minor, patch, how)
    except MemError:
        return None
