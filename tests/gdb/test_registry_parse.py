"""Run inside GDB: the registry reader on synthetic memory (valid, damaged, truncated).
Prints REGISTRY-OK or REGISTRY-FAIL lines."""
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.environ["FW_ROOT"], "gdb"))
from forkwatch import agent_registry as ar  # noqa: E402
from forkwatch import memory  # noqa: E402

BASE = 0x10000
fails = []


def build(threads_used=1, fork_held_used=1, damage=None):
    tables = {}
    off = ar.HEADER_SIZE
    order = ["threads", "stacks", "forks", "fork_held", "py_threads", "py_frames", "modules"]
    caps = {"threads": 4, "stacks": 4, "forks": 2, "fork_held": 2, "py_threads": 2, "py_frames": 4, "modules": 2}
    for t in order:
        tables[t] = [off, ar.TABLE_MIN_SIZE[t], caps[t], 0]
        off += ar.TABLE_MIN_SIZE[t] * caps[t]
    total = off
    buf = bytearray(total)
    tables["threads"][3] = threads_used
    tables["fork_held"][3] = fork_held_used
    tables["forks"][3] = 1
    if damage == "threads-outside":
        tables["threads"][0] = total - 10
    if damage == "used-too-big":
        tables["fork_held"][3] = 99
    if damage == "entry-small":
        tables["forks"][1] = 8
    struct.pack_into("<QIIQii", buf, 0, ar.MAGIC if damage != "magic" else 0x1234, ar.LAYOUT_VERSION,
                     ar.HEADER_SIZE, total, 200, 100)
    struct.pack_into("<Q", buf, ar.HEADER["born_of_fork_id"], 1)
    for t in order:
        struct.pack_into("<IIII", buf, ar.HEADER[t], *tables[t])
    # thread 0: vanished, holds a mutex
    o = tables["threads"][0]
    if o + ar.THREAD_SIZE <= total:
        struct.pack_into("<Ii Q", buf, o, ar.THREAD_VANISHED, 150, 0x7f00)
        buf[o + 16:o + 16 + 7] = b"Holder\0"
        struct.pack_into("<I", buf, o + ar.THREAD["held_used"], 1)
        struct.pack_into("<QQIIII", buf, o + ar.THREAD["held"], 0xabc0, 0x400000, 1, ar.HOLD_HELD, 0, 1)
    o = tables["forks"][0]
    struct.pack_into("<QQiiiI", buf, o, 1, 0, 100, 200, 100, 1)
    o = tables["fork_held"][0]
    struct.pack_into("<QQIiIIiIQ", buf, o, 0xabc0, 0x400000, 1, 150, 0, 0, -1, ar.ORPHAN_LIVE, 0x7f00)
    buf[o + 48:o + 55] = b"Holder\0"
    return bytes(buf)


def with_memory(data, fn):
    real = memory.read_bytes

    def fake(addr, size):
        if addr < BASE or addr + size > BASE + len(data):
            raise memory.MemoryReadError("outside")
        return data[addr - BASE:addr - BASE + size]
    memory.read_bytes = fake
    try:
        return fn()
    finally:
        memory.read_bytes = real


def check(name, cond, detail=""):
    if not cond:
        fails.append("%s %s" % (name, detail))


r = with_memory(build(), lambda: ar.Registry(BASE).load())
check("valid", r.valid and not r.notes, r.notes)
check("orphan", r.orphan_for(0xabc0) is not None and r.orphan_for(0xabc0).holder_name == "Holder")
check("thread", r.threads and r.threads[0].name == "Holder" and r.threads[0].held[0].lock_addr == 0xabc0)
check("fork", r.is_fork_child and r.forks and r.forks[0].child_pid == 200)
for dmg, expect_valid in (("magic", False), ("threads-outside", True), ("used-too-big", True), ("entry-small", True)):
    try:
        r = with_memory(build(damage=dmg), lambda: ar.Registry(BASE).load())
        check(dmg, r.valid == expect_valid and any("registry damaged" in n for n in r.notes), r.notes)
    except Exception as e:  # must never raise
        fails.append("%s raised %r" % (dmg, e))
# truncated: memory ends in the middle of the tables
data = build()
try:
    r = with_memory(data[:ar.HEADER_SIZE + 100], lambda: ar.Registry(BASE).load())
    check("truncated", r.valid and any("unreadable" in n for n in r.notes), r.notes)
except Exception as e:
    fails.append("truncated raised %r" % (e,))
# the pure decoder (tests/fuzz) reads the same bytes the same way as the GDB path
for dmg in (None, "magic", "threads-outside", "used-too-big", "entry-small"):
    data = build(damage=dmg)
    via_gdb = with_memory(data, lambda: ar.Registry(BASE).load())
    pure = ar.decode_bytes(data, BASE)
    same = (pure.valid, pure.notes, [(t.slot, t.name) for t in pure.threads],
            [(e.lock_addr, e.holder_name) for e in pure.fork_held]) == \
        (via_gdb.valid, via_gdb.notes, [(t.slot, t.name) for t in via_gdb.threads],
         [(e.lock_addr, e.holder_name) for e in via_gdb.fork_held])
    check("decode_bytes == GDB path (%s)" % dmg, same, (pure.notes, via_gdb.notes))
for f in fails:
    print("  " + f)
print("REGISTRY-" + ("FAIL" if fails else "OK"))
