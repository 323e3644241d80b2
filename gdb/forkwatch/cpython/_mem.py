"""Private, minimal memory reader for forkwatch.cpython (reads only, never writes).

Every failure becomes MemError, which the public API turns into a clean result.
"""
import os
import struct

import gdb


class MemError(Exception):
    """A read of the inferior's memory failed (or a value made no sense)."""


_U64 = struct.Struct("<Q")
_I64 = struct.Struct("<q")
_U32 = struct.Struct("<I")
_I32 = struct.Struct("<i")
_U16 = struct.Struct("<H")

MAX_READ = 1 << 20


def read(addr, size):
    if addr is None or addr <= 0 or size < 0 or size > MAX_READ or addr + size > (1 << 64):
        raise MemError("bad read of %d bytes at %r" % (size, addr))
    if size == 0:
        return b""
    try:
        return bytes(gdb.selected_inferior().read_memory(addr, size))
    except (gdb.MemoryError, gdb.error, ValueError, OverflowError) as exc:
        raise MemError("cannot read %d bytes at 0x%x: %s" % (size, addr, exc))


def u64(addr):
    return _U64.unpack(read(addr, 8))[0]


def i64(addr):
    return _I64.unpack(read(addr, 8))[0]


def u32(addr):
    return _U32.unpack(read(addr, 4))[0]


def i32(addr):
    return _I32.unpack(read(addr, 4))[0]


def u16(addr):
    return _U16.unpack(read(addr, 2))[0]


def u8(addr):
    return read(addr, 1)[0]


def ptr(addr):
    return u64(addr)


def cstring(addr, limit=256):
    """A NUL-terminated byte string of at most `limit` bytes (reads in chunks)."""
    out = b""
    while len(out) < limit:
        n = min(64, limit - len(out))
        # do not cross a page boundary in one read: the next page may be unmapped
        page_left = 4096 - ((addr + len(out)) & 4095)
        n = min(n, page_left)
        chunk = read(addr + len(out), n)
        i = chunk.find(b"\0")
        if i >= 0:
            return out + chunk[:i]
        out += chunk
    return out


def symbol_address(name):
    """Address of a (minimal or full) symbol, or None. Never calls the inferior."""
    try:
        val = gdb.parse_and_eval("(unsigned long)&'%s'" % name)
        return int(val)
    except (gdb.error, RuntimeError, ValueError, OverflowError):
        return None


def has_dwarf_at(addr, variable="_PyRuntime"):
    """True when the object file that holds `addr` (libpython, or the executable for a
    static build) has DWARF for its own code: `variable`, defined once in libpython,
    is described there. (Extension modules carry DWARF declarations of libpython's
    types and globals: those alone do not count, hence the search in this one file.)
    A data symbol, not a function: looking a function up by name makes GDB expand
    every compilation unit that declares it (seconds on a -dbg libpython)."""
    try:
        space = gdb.current_progspace()
        path = space.solib_name(addr) or space.filename
        if not path:
            return False
        path = os.path.realpath(path)
        for objfile in gdb.objfiles():
            owner = getattr(objfile, "owner", None) or objfile
            if not owner.filename or os.path.realpath(owner.filename) != path:
                continue
            try:
                sym = objfile.lookup_global_symbol(variable)
            except (gdb.error, RuntimeError, AttributeError):
                continue
            # any DWARF entry: libpython's own DWARF may describe it as a declaration
            # (address class "unresolved") rather than a definition
            if sym is not None:
                return True
    except (gdb.error, RuntimeError, AttributeError, TypeError, ValueError):
        pass
    return False
