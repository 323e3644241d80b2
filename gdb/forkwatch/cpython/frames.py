"""Python frames of one thread state, walked per version (innermost first).

3.8-3.10: tstate->frame, a PyFrameObject chain (f_back, f_code, f_lasti).
3.11/3.12: tstate->cframe->current_frame, a _PyInterpreterFrame chain (previous);
           3.12 skips C-stack shim frames (owner == FRAME_OWNED_BY_CSTACK).
3.13: tstate->current_frame, f_executable, instr_ptr; shims skipped as in 3.12.
3.14/3.15: as 3.13, but f_executable and the local/stack slots are tagged _PyStackRefs
           (Include/internal/pycore_stackref.h: the low bits carry tags, objects are 8-byte
           aligned) and the shim owners are FRAME_OWNED_BY_INTERPRETER (3) and, in 3.14,
           FRAME_OWNED_BY_CSTACK (4) (Include/internal/pycore_interpframe_structs.h).
"""
from . import _mem, linetable
from ._mem import MemError

MAX_FRAMES = 1024
FRAME_OWNED_BY_CSTACK = 3          # 3.12/3.13: the only shim owner
SHIM_OWNERS_314 = (3, 4)           # 3.14: INTERPRETER, CSTACK; 3.15: INTERPRETER (3) only
STACKREF_TAG_MASK = 7              # 3.14+: _PyStackRef tag bits (Py_TAG_BITS <= 3)


def untag(minor, value):
    """The object pointer in a frame slot or f_executable (3.14+ _PyStackRef)."""
    return value & ~STACKREF_TAG_MASK if minor >= 14 else value


def is_shim(minor, owner):
    if minor >= 14:
        return owner in SHIM_OWNERS_314
    return minor >= 12 and owner == FRAME_OWNED_BY_CSTACK
MAX_FILE = 1024
MAX_FUNC = 256


class PyFrame:
    __slots__ = ("function", "file", "line", "address", "code")

    def __init__(self, function, file, line, address=None, code=None):
        self.function = function
        self.file = file
        self.line = line
        self.address = address  # the frame (PyFrameObject or _PyInterpreterFrame)
        self.code = code        # the code object

    def __repr__(self):
        return "PyFrame(%r, %r, %r)" % (self.function, self.file, self.line)


class CodeInfo:
    __slots__ = ("name", "filename", "firstlineno", "table", "stacksize", "nslots_fixed")


class FrameWalker:
    def __init__(self, reader):
        self.r = reader
        self.lay = reader.lay
        self.minor = reader.minor
        self._codes = {}
        self.damaged = []  # why walks stopped early or skipped an unreadable frame (damaged memory)

    def code_info(self, code):
        info = self._codes.get(code)
        if info is not None:
            return info
        r, lay = self.r, self.lay
        if r.type_name(code) != "code":
            raise MemError("not a code object")
        info = CodeInfo()
        info.name = r.read_str(_mem.ptr(code + lay["code.co_name"]), MAX_FUNC)
        info.filename = r.read_str(_mem.ptr(code + lay["code.co_filename"]), MAX_FILE)
        info.firstlineno = _mem.i32(code + lay["code.co_firstlineno"])
        tkey = "code.co_lnotab" if self.minor <= 9 else "code.co_linetable"
        info.table = r.read_bytes(_mem.ptr(code + lay[tkey]))
        info.stacksize = _mem.i32(code + lay["code.co_stacksize"])
        if self.minor >= 11:
            info.nslots_fixed = _mem.i32(code + lay["code.co_nlocalsplus"])
        else:
            info.nslots_fixed = None
        self._codes[code] = info
        return info

    def _line(self, info, offset):
        try:
            return linetable.line_for((3, self.minor), info.table, info.firstlineno, offset)
        except Exception:  # a malformed table must never escape
            return None

    def _make(self, frame, code, offset):
        try:
            info = self.code_info(code)
        except MemError:
            return PyFrame(None, None, None, frame, code)
        return PyFrame(info.name, info.filename, self._line(info, offset), frame, code)

    def first_frame(self, tstate):
        lay = self.lay
        if self.minor <= 10:
            return _mem.ptr(tstate + lay["tstate.frame"])
        if self.minor <= 12:
            cframe = _mem.ptr(tstate + lay["tstate.cframe"])
            if not cframe:
                return 0
            return _mem.ptr(cframe + lay["cframe.current_frame"])
        return _mem.ptr(tstate + lay["tstate.current_frame"])

    def raw_frames(self, tstate):
        """[(frame address, code address, offset)] innermost first; stops at a bad read."""
        out = []
        lay = self.lay
        seen = set()
        try:
            f = self.first_frame(tstate)
        except MemError:
            return out
        while f and len(out) < MAX_FRAMES and f not in seen:
            seen.add(f)
            try:
                if self.minor <= 10:
                    code = _mem.ptr(f + lay["frameobj.f_code"])
                    lasti = _mem.i32(f + lay["frameobj.f_lasti"])
                    out.append((f, code, lasti))
                    f = _mem.ptr(f + lay["frameobj.f_back"])
                    continue
                nxt = _mem.ptr(f + lay["iframe.previous"])
                if self.minor >= 12 and is_shim(self.minor, _mem.u8(f + lay["iframe.owner"])):
                    f = nxt
                    continue
                code = untag(self.minor, _mem.ptr(f + lay["iframe.code"]))
                instr = _mem.ptr(f + lay["iframe.instr"])
                start = code + lay["code.co_code_adaptive"]
                offset = (instr - start) // 2 if instr else -1
                if self.minor >= 13 and self.r.safe_type_name(code) != "code":
                    if self.r.safe_type_name(code) is None:
                        self.damaged.append("frame 0x%x: executable 0x%x unreadable" % (f, code))
                    f = nxt  # 3.13 frames may run something that is not a code object
                    continue
                out.append((f, code, offset))
                f = nxt
            except MemError:
                self.damaged.append("frame 0x%x unreadable" % f)
                break
        if f and f in seen:
            self.damaged.append("frame chain loops at 0x%x" % f)
        return out

    def frames(self, tstate):
        return [self._make(f, code, off) for f, code, off in self.raw_frames(tstate)]

    def slots(self, frame, code):
        """Addresses of a frame's local and value-stack slots (all up to co_stacksize)."""
        lay = self.lay
        info = self.code_info(code)
        stack = max(0, min(info.stacksize, 4096))
        if self.minor <= 10:
            base = frame + lay["frameobj.f_localsplus"]
            valuestack = _mem.ptr(frame + lay["frameobj.f_valuestack"])
            nfixed = (valuestack - base) // 8 if valuestack >= base else 0
            nfixed = min(nfixed, 4096)
        else:
            base = frame + lay["iframe.localsplus"]
            nfixed = max(0, min(info.nslots_fixed or 0, 4096))
        n = nfixed + stack
        raw = _mem.read(base, 8 * n) if n else b""
        return [untag(self.minor, int.from_bytes(raw[8 * i:8 * i + 8], "little")) for i in range(n)]
