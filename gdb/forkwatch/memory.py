"""Safe typed reads of the inferior's memory. Every reader raises MemoryReadError.

Importable outside GDB (the registry decoder is fuzzed and replayed on plain bytes):
there every read of the inferior raises MemoryReadError("no GDB")."""
import struct

try:
    import gdb
except ImportError:  # outside GDB
    gdb = None


class MemoryReadError(Exception):
    pass


POINTER_SIZE = 8


def _inferior():
    if gdb is None:
        raise MemoryReadError("no GDB")
    inf = gdb.selected_inferior()
    if inf is None or not inf.is_valid():
        raise MemoryReadError("no inferior")
    return inf


def read_bytes(addr, size):
    if addr is None or addr <= 0 or size < 0 or addr + size > (1 << 64):
        raise MemoryReadError("bad address 0x%x" % (addr or 0))
    if size == 0:
        return b""
    inf = _inferior()
    try:
        return bytes(inf.read_memory(addr, size))
    except (gdb.MemoryError, gdb.error, OverflowError, ValueError) as e:
        raise MemoryReadError("cannot read %d bytes at 0x%x: %s" % (size, addr, e))


_U8 = struct.Struct("<B")
_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_I32 = struct.Struct("<i")
_U64 = struct.Struct("<Q")
_I64 = struct.Struct("<q")


def _unpack(st, addr):
    return st.unpack(read_bytes(addr, st.size))[0]


def read_u8(addr):
    return _unpack(_U8, addr)


def read_u16(addr):
    return _unpack(_U16, addr)


def read_u32(addr):
    return _unpack(_U32, addr)


def read_i32(addr):
    return _unpack(_I32, addr)


def read_u64(addr):
    return _unpack(_U64, addr)


def read_i64(addr):
    return _unpack(_I64, addr)


def read_pointer(addr):
    return read_u64(addr)


def read_cstring(addr, maxlen=256):
    """Bytes up to the first NUL (or maxlen), read in small chunks so the
    end of a mapping does not fail the whole read."""
    out = b""
    chunk = 64
    while len(out) < maxlen:
        n = min(chunk, maxlen - len(out))
        try:
            data = read_bytes(addr + len(out), n)
        except MemoryReadError:
            if out:
                break
            raise
        i = data.find(b"\0")
        if i >= 0:
            return out + data[:i]
        out += data
    return out


def cstr_field(buf, off, size):
    """A NUL-terminated char[size] inside an already-read buffer, as bytes."""
    raw = buf[off:off + size]
    i = raw.find(b"\0")
    return raw if i < 0 else raw[:i]
