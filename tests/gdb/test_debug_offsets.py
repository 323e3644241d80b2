"""Run inside GDB (no inferior): forkwatch.cpython on a synthetic memory image of a
_PyRuntime that starts with _Py_DebugOffsets. Prints DEBUGOFFSETS-OK / DEBUGOFFSETS-FAIL lines.

Covers issue 10 point 4: a free-threaded build is recognised by _Py_DebugOffsets.free_threaded
and refused in one line (never read with the default layout); a future minor (3.16) is read
best-effort through the offsets the image publishes, and refused when a section it needs has
moved; a known minor still opens."""
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.environ["FW_ROOT"], "gdb"))
from forkwatch import memory  # noqa: E402
from forkwatch.cpython import layouts, process, version  # noqa: E402

RUNTIME = 0x100000
fails = []


class Image:
    """Sparse little-endian memory: every unwritten byte reads as an error."""

    def __init__(self):
        self.bytes = {}

    def put(self, addr, data):
        for i, b in enumerate(data):
            self.bytes[addr + i] = b

    def u64(self, addr, value):
        self.put(addr, struct.pack("<Q", value))

    def read(self, addr, size):
        try:
            return bytes(self.bytes[addr + i] for i in range(size))
        except KeyError:
            raise memory.MemoryReadError("unmapped 0x%x" % addr)


def runtime_image(hexversion, free_threaded, like_minor=15, move=None):
    """A _Py_DebugOffsets laid out as CPython 3.<like_minor>'s (section sizes in place), each
    offset it publishes set to a recognisable value (1000 + its position)."""
    lay = layouts.static_layout(like_minor, 0)
    img = Image()
    img.put(RUNTIME, b"xdebugpy")
    img.u64(RUNTIME + 8, hexversion)
    img.u64(RUNTIME + version.FREE_THREADED_AT, 1 if free_threaded else 0)
    for name, start, size in layouts.debug_offsets_sections(lay):
        img.u64(RUNTIME + start, size + (8 if name == move else 0))
    for dkey in layouts.DEBUG_OFFSETS_MAP:
        if dkey in lay:
            img.u64(RUNTIME + lay[dkey], 1000 + lay[dkey])
    return img, lay


def check(name, cond, detail=""):
    if cond:
        print("DEBUGOFFSETS-OK %s" % name)
    else:
        print("DEBUGOFFSETS-FAIL %s %s" % (name, detail))
        fails.append(name)


def open_image(img):
    memory.read_bytes = img.read  # the package reads through forkwatch.memory only
    major, minor, patch, how = version.detect(RUNTIME)
    return process.PythonProcess.open(RUNTIME, major, minor, patch, how)


# 1. free-threaded 3.14: one line, never the default layout
img, _ = runtime_image(0x030E0AF0, True, like_minor=14)
try:
    p = open_image(img)
    check("free-threaded 3.14 refused", False, "opened with layout %s" % p.layout_source)
except version.UnsupportedPython as e:
    msg = str(e)
    check("free-threaded 3.14 refused", "free-threaded" in msg and "\n" not in msg, msg)

# 2. the same image, not free-threaded: a known minor opens through its offsets
img, lay = runtime_image(0x030E0AF0, False, like_minor=14)
p = open_image(img)
check("3.14 opens", p.version[:2] == (3, 14) and not p.best_effort, repr(p.version))
check("3.14 offsets taken from the image",
      p.lay["tstate.next"] == 1000 + lay["dbg.thread_state.next"], repr(p.lay.get("tstate.next")))

# 3. a future minor: best effort through the image's offsets, said in the layout source
img, lay = runtime_image(0x031000A0, False, like_minor=15)
p = open_image(img)
check("3.16 best effort", p.best_effort and p.version[:2] == (3, 16), repr(p.version))
check("3.16 uses the image's offsets",
      p.lay["iframe.previous"] == 1000 + lay["dbg.interpreter_frame.previous"]
      and p.layout_source == "_Py_DebugOffsets", "%r %r" % (p.lay.get("iframe.previous"), p.layout_source))

# 4. a future minor whose thread_state section grew: refused in one line, not misread
img, _ = runtime_image(0x031000A0, False, like_minor=15, move="thread_state")
try:
    p = open_image(img)
    check("3.16 with a moved section refused", False, "opened")
except version.UnsupportedPython as e:
    check("3.16 with a moved section refused", "thread_state" in str(e) and "3.16" in str(e), str(e))

# 5. a free-threaded future minor: refused before any best-effort reading
img, _ = runtime_image(0x031000A0, True, like_minor=15)
try:
    open_image(img)
    check("free-threaded 3.16 refused", False, "opened")
except version.UnsupportedPython as e:
    check("free-threaded 3.16 refused", "free-threaded" in str(e), str(e))

print("DEBUGOFFSETS-DONE %d failed" % len(fails))
