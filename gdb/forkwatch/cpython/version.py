"""Which CPython runs in the inferior: read from the process itself, never guessed.

Order: the `_Py_DebugOffsets` cookie + version at the start of `_PyRuntime` (3.13+),
the `Py_Version` symbol (3.11+), then the minor version from a loaded libpython's
soname or the executable's name (3.8-3.10); the patch level is then read from
`sys.version` by the caller.
"""
import re

import gdb

from . import _mem

KNOWN_MINORS = range(8, 16)
KNOWN_TEXT = "3.8\u20133.15"
# A newer 3.x that publishes _Py_DebugOffsets (3.13+ all do) is read best-effort through it:
# the debug offsets name the runtime, thread-state, frame and code fields; the rest comes from
# the newest table we have (process.py says so in one note).
NEWEST_MINOR = KNOWN_MINORS[-1]
FREE_THREADED_TEXT = "free-threaded CPython builds are not yet read (their object header and " \
                     "stack references differ)"


class UnsupportedPython(Exception):
    """A CPython we do not know how to read (message: one line)."""


def decode_hex(h):
    return ((h >> 24) & 0xFF, (h >> 16) & 0xFF, (h >> 8) & 0xFF)


def runtime_address():
    return _mem.symbol_address("_PyRuntime")


def _from_debug_offsets(runtime):
    try:
        if _mem.read(runtime, 8) != b"xdebugpy":
            return None
        return decode_hex(_mem.u64(runtime + 8))
    except _mem.MemError:
        return None


# _Py_DebugOffsets begins {char cookie[8]; uint64_t version; uint64_t free_threaded; ...} in
# every release that has it (Include/internal/pycore_debug_offsets.h, 3.13-3.15).
FREE_THREADED_AT = 16


def is_free_threaded(runtime):
    """True/False from _Py_DebugOffsets.free_threaded, None when the process has none."""
    try:
        if _mem.read(runtime, 8) != b"xdebugpy":
            return None
        return _mem.u64(runtime + FREE_THREADED_AT) != 0
    except _mem.MemError:
        return None


def _from_py_version():
    addr = _mem.symbol_address("Py_Version")
    if addr is None:
        return None
    try:
        return decode_hex(_mem.u32(addr))
    except _mem.MemError:
        return None


_SONAME = re.compile(r"libpython(\d)\.(\d+)[a-z]*\.so")
_EXE = re.compile(r"python(\d)\.(\d+)[a-z]*$")


def _minor_from_files():
    found = _version_from_files()
    if found and found[0] == 3:
        return found[1]
    return None


def _version_from_files():
    """(major, minor) from a loaded libpython's soname or the executable's name."""
    names = []
    try:
        for objfile in gdb.objfiles():
            if objfile.filename:
                names.append(objfile.filename)
    except (gdb.error, RuntimeError):
        pass
    for name in names:
        m = _SONAME.search(name.rsplit("/", 1)[-1])
        if m:
            return int(m.group(1)), int(m.group(2))
    for name in names:
        m = _EXE.search(name.rsplit("/", 1)[-1])
        if m:
            return int(m.group(1)), int(m.group(2))
    return None


def check_old_python():
    """No _PyRuntime: a CPython before 3.7 still has Py_IsInitialized; say it is unknown."""
    if _mem.symbol_address("Py_IsInitialized") is None:
        return
    found = _version_from_files()
    shown = "%d.%d" % found if found else "(version unknown, older than 3.7)"
    raise UnsupportedPython("CPython %s is not supported (known: %s)" % (shown, KNOWN_TEXT))


def detect(runtime):
    """(major, minor, patch|None, how). Raises UnsupportedPython for an unknown one."""
    ver = _from_debug_offsets(runtime)
    how = "_Py_DebugOffsets"
    if ver is None or ver[0] != 3:
        ver = _from_py_version()
        how = "Py_Version"
    if ver is None or ver[0] != 3:
        minor = _minor_from_files()
        if minor is None:
            raise UnsupportedPython("cannot tell which CPython version this process runs")
        ver = (3, minor, None)
        how = "soname"
    if ver[1] > NEWEST_MINOR and how == "_Py_DebugOffsets":
        return ver[0], ver[1], ver[2], "_Py_DebugOffsets (best effort: newer than %s)" % KNOWN_TEXT
    if ver[1] not in KNOWN_MINORS:
        shown = "%d.%d" % ver[:2] if ver[2] is None else "%d.%d.%d" % ver
        raise UnsupportedPython("CPython %s is not supported (known: %s)" % (shown, KNOWN_TEXT))
    return ver[0], ver[1], ver[2], how
