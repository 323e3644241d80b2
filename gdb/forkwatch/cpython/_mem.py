"""Memory reads for forkwatch.cpython (reads only, never writes): the package's
shared reader (forkwatch.memory) under the names this package uses, plus what
only CPython reading needs.

Every failure is MemError (forkwatch.memory.MemoryReadError), which the public
API turns into a clean result.
"""
import os

import gdb

from .. import memory

MemError = memory.MemoryReadError

# A CPython object never needs a larger single read: a bigger size is garbage
# read from a damaged or misidentified structure.
MAX_READ = 1 << 20


def read(addr, size):
    if size is None or size > MAX_READ:
        raise MemError("bad read of %r bytes at %r" % (size, addr))
    return memory.read_bytes(addr, size)


u64 = memory.read_u64
i64 = memory.read_i64
u32 = memory.read_u32
i32 = memory.read_i32
u16 = memory.read_u16
u8 = memory.read_u8
ptr = memory.read_pointer


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
