"""Reads libforkwatch.so's registry (`forkwatch_registry`) from a live process or a core.

The layout is agent/forkwatch_abi.h (FW_LAYOUT_VERSION 1); the constants below mirror it and
tests/gdb checks them against tests/abi_offsets.c. Every table is bounded by its descriptor in
the header; anything inconsistent gives a "registry damaged: ..." note, never an exception.

The decoding is pure: `Registry(address, reader)` reads through `reader(addr, size)` (default
forkwatch.memory.read_bytes, i.e. the inferior), and `decode_bytes(data)` decodes a registry
held in a bytes buffer without GDB (tests/fuzz fuzzes and replays it that way).
Documented outcome for any input: a Registry (valid or not) whose `notes` say what was
damaged; never an exception. A note starting with INTERNAL_NOTE means a bounds check missed
something and the catch-all in load() caught it: the fuzzer counts that as a bug."""
import re
import struct

from . import lock_kinds
from . import memory
from .escape import to_text

SYMBOL = "forkwatch_registry"
MAGIC = 0x31484354574B5246
LAYOUT_VERSION = 1
MAX_TOTAL_SIZE = 256 << 20

# --- mirror of forkwatch_abi.h (offsets in bytes) ---
HEADER = {
    "magic": 0, "layout_version": 8, "header_size": 12, "total_size": 16, "pid": 24,
    "parent_pid": 28, "born_of_fork_id": 32, "flags": 40, "policy": 44, "forks_total": 48,
    "deadlocks_reported": 56, "hazards_reported": 64, "latest_fork_slot": 72,
    "fork_held_count": 76, "agent_version": 80, "threads": 96, "stacks": 112, "forks": 128,
    "fork_held": 144, "py_threads": 160, "py_frames": 176, "modules": 192,
}
HEADER_SIZE = 208
TABLE_DESC = {"offset": 0, "entry_size": 4, "capacity": 8, "used": 12}
HELD = {"lock_addr": 0, "call_site": 8, "kind": 16, "state": 20, "stack_id": 24, "seq": 28}
HELD_SIZE = 32
THREAD = {"state": 0, "tid": 4, "pthread_id": 8, "name": 16, "held_used": 32, "held_dropped": 36,
          "next_seq": 40, "held": 64}
THREAD_SIZE = 1088
STACK = {"call_site": 0, "depth": 8, "frames": 16}
STACK_SIZE = 208
FORK = {"fork_id": 0, "time_ns": 8, "parent_pid": 16, "child_pid": 20, "forker_tid": 24, "via": 28,
        "held_count": 32, "threads_live": 36, "python_captured": 40}
FORK_SIZE = 48
FORK_HELD = {"lock_addr": 0, "call_site": 8, "kind": 16, "holder_tid": 20, "holder_slot": 24,
             "stack_id": 28, "py_thread": 32, "orphan_state": 36, "holder_pthread": 40,
             "holder_name": 48, "call_site_function": 64}
FORK_HELD_SIZE = 128
PY_THREAD = {"thread_ident": 0, "tid": 8, "frame_first": 12, "frame_count": 16, "name": 24}
PY_THREAD_SIZE = 56
PY_FRAME = {"line": 0, "function": 8, "file": 72}
PY_FRAME_SIZE = 256
MODULE = {"base": 0, "end": 8, "build_id_len": 16, "build_id": 24, "path": 56}
MODULE_SIZE = 296
NAME_LEN, PY_NAME_LEN, FUNC_LEN, PY_FILE_LEN, PATH_LEN, BUILD_ID_MAX = 16, 32, 64, 184, 240, 32
MAX_HELD = 32
STACK_DEPTH = 24
# --- end of mirror ---

TABLE_MIN_SIZE = {"threads": THREAD_SIZE, "stacks": STACK_SIZE, "forks": FORK_SIZE,
                  "fork_held": FORK_HELD_SIZE, "py_threads": PY_THREAD_SIZE,
                  "py_frames": PY_FRAME_SIZE, "modules": MODULE_SIZE}
TABLE_MAX_CAPACITY = {"threads": 1 << 16, "stacks": 1 << 18, "forks": 1 << 12, "fork_held": 1 << 16,
                      "py_threads": 1 << 14, "py_frames": 1 << 18, "modules": 1 << 14}

# registry kind number -> lock.kind, from the one table of lock kinds (lock_kinds.py)
KIND_NAMES = dict(lock_kinds.REGISTRY_NAMES)
HOLD_EMPTY, HOLD_ACQUIRING, HOLD_HELD, HOLD_COND_RELEASED = 0, 1, 2, 3
THREAD_FREE, THREAD_LIVE, THREAD_EXITED, THREAD_VANISHED = 0, 1, 2, 3
THREAD_STATE_NAMES = {0: "free", 1: "live", 2: "exited", 3: "vanished"}
ORPHAN_NOT_CHILD, ORPHAN_LIVE, ORPHAN_REINITIALISED, ORPHAN_REPORTED = 0, 1, 2, 3
ORPHAN_NAMES = {0: "not-child", 1: "live", 2: "reinitialised", 3: "reported"}
VIA_NAMES = {1: "fork", 2: "forkpty", 3: "_Fork"}
POLICY_NAMES = {0: "abort", 1: "warn", 2: "off"}
FLAG_NAMES = [(0x1, "enabled"), (0x2, "secure-exec"), (0x4, "threads-full"), (0x8, "held-full"),
              (0x10, "stacks-full"), (0x20, "fork-held-full"), (0x40, "python-full"),
              (0x80, "modules-full")]


def _u32(b, o):
    return struct.unpack_from("<I", b, o)[0]


def _i32(b, o):
    return struct.unpack_from("<i", b, o)[0]


def _u64(b, o):
    return struct.unpack_from("<Q", b, o)[0]


def _str(b, o, n):
    return to_text(memory.cstr_field(b, o, n))


class Held(object):
    def __init__(self, lock_addr, call_site, kind, state, stack_id, seq):
        self.lock_addr, self.call_site, self.kind, self.state = lock_addr, call_site, kind, state
        self.stack_id, self.seq = stack_id, seq

    @property
    def kind_name(self):
        return KIND_NAMES.get(self.kind, lock_kinds.UNKNOWN)


class RegThread(object):
    def __init__(self, slot, state, tid, pthread_id, name, held, held_dropped):
        self.slot, self.state, self.tid, self.pthread_id = slot, state, tid, pthread_id
        self.name, self.held, self.held_dropped = name, held, held_dropped


class ForkRecord(object):
    pass


class ForkHeld(object):
    pass


class PyThreadRec(object):
    pass


INTERNAL_NOTE = "registry damaged: unexpected "


class Registry(object):
    """The parsed registry. `notes` lists what was damaged or missing."""

    def __init__(self, address, reader=None):
        self.address = address
        self._read = reader or (lambda addr, size: memory.read_bytes(addr, size))
        self.notes = []
        self.valid = False
        self.header = {}
        self.tables = {}
        self.threads = []
        self.forks = []
        self.fork_held = []
        self.py_threads = []
        self.modules = []
        self._stacks_raw = None

    # --- reading ---
    def _damaged(self, msg):
        self.notes.append("registry damaged: " + msg)

    def _read_header(self):
        try:
            hb = self._read(self.address, HEADER_SIZE)
        except memory.MemoryReadError as e:
            self._damaged("header unreadable (%s)" % e)
            return False
        h = self.header
        h["magic"] = _u64(hb, HEADER["magic"])
        if h["magic"] != MAGIC:
            self._damaged("bad magic 0x%x" % h["magic"])
            return False
        h["layout_version"] = _u32(hb, HEADER["layout_version"])
        if h["layout_version"] != LAYOUT_VERSION:
            self.notes.append("registry layout version %d not supported (expected %d)"
                              % (h["layout_version"], LAYOUT_VERSION))
            return False
        h["header_size"] = _u32(hb, HEADER["header_size"])
        h["total_size"] = _u64(hb, HEADER["total_size"])
        if h["header_size"] < HEADER_SIZE:
            self._damaged("header_size %d < %d" % (h["header_size"], HEADER_SIZE))
            return False
        if not (h["header_size"] <= h["total_size"] <= MAX_TOTAL_SIZE):
            self._damaged("total_size %d out of range" % h["total_size"])
            return False
        for k in ("pid", "parent_pid"):
            h[k] = _i32(hb, HEADER[k])
        for k in ("born_of_fork_id", "forks_total", "deadlocks_reported", "hazards_reported"):
            h[k] = _u64(hb, HEADER[k])
        for k in ("flags", "policy", "latest_fork_slot", "fork_held_count"):
            h[k] = _u32(hb, HEADER[k])
        h["agent_version"] = _str(hb, HEADER["agent_version"], 16)
        for t in TABLE_MIN_SIZE:
            o = HEADER[t]
            desc = {k: _u32(hb, o + v) for k, v in TABLE_DESC.items()}
            if desc["entry_size"] < TABLE_MIN_SIZE[t]:
                self._damaged("%s entry_size %d < %d" % (t, desc["entry_size"], TABLE_MIN_SIZE[t]))
                continue
            if desc["capacity"] > TABLE_MAX_CAPACITY[t]:
                self._damaged("%s capacity %d too large" % (t, desc["capacity"]))
                continue
            end = desc["offset"] + desc["entry_size"] * desc["capacity"]
            if desc["offset"] < h["header_size"] or end > h["total_size"]:
                self._damaged("%s table [%d, %d) outside the registry (%d bytes)"
                              % (t, desc["offset"], end, h["total_size"]))
                continue
            if desc["used"] > desc["capacity"]:
                self._damaged("%s used %d > capacity %d; clamped" % (t, desc["used"], desc["capacity"]))
                desc["used"] = desc["capacity"]
            self.tables[t] = desc
        return True

    def _table_bytes(self, name, count=None):
        d = self.tables.get(name)
        if d is None:
            return None, 0, 0
        n = d["used"] if count is None else min(count, d["capacity"])
        if n == 0:
            return b"", 0, d["entry_size"]
        try:
            b = self._read(self.address + d["offset"], n * d["entry_size"])
        except memory.MemoryReadError as e:
            self._damaged("%s table unreadable (%s)" % (name, e))
            return None, 0, 0
        return b, n, d["entry_size"]

    def _read_threads(self):
        b, n, es = self._table_bytes("threads")
        for i in range(n):
            o = i * es
            state = _u32(b, o + THREAD["state"])
            if state == THREAD_FREE or state not in THREAD_STATE_NAMES:
                continue
            held_used = min(_u32(b, o + THREAD["held_used"]), MAX_HELD)
            held = []
            for j in range(held_used):
                ho = o + THREAD["held"] + j * HELD_SIZE
                hs = _u32(b, ho + HELD["state"])
                if hs == HOLD_EMPTY or hs > HOLD_COND_RELEASED:
                    continue
                held.append(Held(_u64(b, ho + HELD["lock_addr"]), _u64(b, ho + HELD["call_site"]),
                                 _u32(b, ho + HELD["kind"]), hs, _u32(b, ho + HELD["stack_id"]),
                                 _u32(b, ho + HELD["seq"])))
            self.threads.append(RegThread(i, state, _i32(b, o + THREAD["tid"]),
                                          _u64(b, o + THREAD["pthread_id"]),
                                          _str(b, o + THREAD["name"], NAME_LEN), held,
                                          _u32(b, o + THREAD["held_dropped"])))

    def _read_forks(self):
        b, n, es = self._table_bytes("forks")
        for i in range(n):
            o = i * es
            fid = _u64(b, o + FORK["fork_id"])
            if fid == 0:
                continue
            f = ForkRecord()
            f.slot = i
            f.fork_id = fid
            f.time_ns = _u64(b, o + FORK["time_ns"])
            f.parent_pid = _i32(b, o + FORK["parent_pid"])
            f.child_pid = _i32(b, o + FORK["child_pid"])
            f.forker_tid = _i32(b, o + FORK["forker_tid"])
            f.via = VIA_NAMES.get(_u32(b, o + FORK["via"]), "?")
            f.held_count = _u32(b, o + FORK["held_count"])
            f.threads_live = _u32(b, o + FORK["threads_live"])
            f.python_captured = bool(_u32(b, o + FORK["python_captured"]))
            self.forks.append(f)
        self.forks.sort(key=lambda f: f.fork_id)

    def _read_fork_held(self):
        b, n, es = self._table_bytes("fork_held")
        for i in range(n):
            o = i * es
            kind = _u32(b, o + FORK_HELD["kind"])
            if kind == 0:
                continue
            e = ForkHeld()
            e.index = i
            e.lock_addr = _u64(b, o + FORK_HELD["lock_addr"])
            e.call_site = _u64(b, o + FORK_HELD["call_site"])
            e.kind = kind
            e.kind_name = KIND_NAMES.get(kind, lock_kinds.UNKNOWN)
            e.holder_tid = _i32(b, o + FORK_HELD["holder_tid"])
            e.holder_slot = _u32(b, o + FORK_HELD["holder_slot"])
            e.stack_id = _u32(b, o + FORK_HELD["stack_id"])
            e.py_thread = _i32(b, o + FORK_HELD["py_thread"])
            e.orphan_state = _u32(b, o + FORK_HELD["orphan_state"])
            e.orphan_name = ORPHAN_NAMES.get(e.orphan_state, "?")
            e.holder_pthread = _u64(b, o + FORK_HELD["holder_pthread"])
            e.holder_name = _str(b, o + FORK_HELD["holder_name"], NAME_LEN)
            e.call_site_function = _str(b, o + FORK_HELD["call_site_function"], FUNC_LEN)
            self.fork_held.append(e)

    def _read_py(self):
        b, n, es = self._table_bytes("py_threads")
        fd = self.tables.get("py_frames")
        fb, fn, fes = self._table_bytes("py_frames")
        for i in range(n):
            o = i * es
            t = PyThreadRec()
            t.index = i
            t.thread_ident = _u64(b, o + PY_THREAD["thread_ident"])
            t.tid = _i32(b, o + PY_THREAD["tid"]) or None
            first = _u32(b, o + PY_THREAD["frame_first"])
            count = _u32(b, o + PY_THREAD["frame_count"])
            t.name = _str(b, o + PY_THREAD["name"], PY_NAME_LEN) or None
            t.frames = []
            if fb is not None and fd is not None:
                if first + count > fn:
                    self._damaged("py_threads[%d] frames [%d, %d) beyond py_frames used %d"
                                  % (i, first, first + count, fn))
                    count = max(0, fn - first)
                for k in range(first, first + count):
                    fo = k * fes
                    t.frames.append({"function": _str(fb, fo + PY_FRAME["function"], FUNC_LEN),
                                     "file": _str(fb, fo + PY_FRAME["file"], PY_FILE_LEN),
                                     "line": _u32(fb, fo + PY_FRAME["line"]) or None})
            self.py_threads.append(t)

    def _read_modules(self):
        b, n, es = self._table_bytes("modules")
        for i in range(n):
            o = i * es
            bl = min(_u32(b, o + MODULE["build_id_len"]), BUILD_ID_MAX)
            self.modules.append({"base": _u64(b, o + MODULE["base"]), "end": _u64(b, o + MODULE["end"]),
                                 "build_id": b[o + MODULE["build_id"]:o + MODULE["build_id"] + bl].hex(),
                                 "path": _str(b, o + MODULE["path"], PATH_LEN)})

    def load(self):
        if not self._read_header():
            return self
        self.valid = True
        for step in (self._read_threads, self._read_forks, self._read_fork_held, self._read_py,
                     self._read_modules):
            try:
                step()
            except memory.MemoryReadError as e:
                self._damaged("%s: %s" % (step.__name__.strip("_"), e))
            except (struct.error, IndexError, ValueError, TypeError, OverflowError) as e:
                # a safety net only: the checks above should make this unreachable
                self.notes.append(INTERNAL_NOTE + "%s in %s: %s" % (type(e).__name__, step.__name__.strip("_"), e))
        return self

    # --- queries ---
    @property
    def flags(self):
        f = self.header.get("flags", 0)
        return [n for bit, n in FLAG_NAMES if f & bit]

    @property
    def policy(self):
        return POLICY_NAMES.get(self.header.get("policy"), "?")

    @property
    def is_fork_child(self):
        return bool(self.header.get("born_of_fork_id"))

    def latest_fork(self):
        slot = self.header.get("latest_fork_slot")
        for f in self.forks:
            if f.slot == slot:
                return f
        return self.forks[-1] if self.forks else None

    def fork_by_id(self, fid):
        for f in self.forks:
            if f.fork_id == fid:
                return f
        return None

    def stack(self, stack_id):
        """Return addresses (innermost first) of a 1-based stack id, or []."""
        d = self.tables.get("stacks")
        if not stack_id or d is None or stack_id > d["capacity"]:
            return []
        try:
            b = self._read(self.address + d["offset"] + (stack_id - 1) * d["entry_size"], STACK_SIZE)
        except memory.MemoryReadError:
            return []
        depth = min(_u32(b, STACK["depth"]), STACK_DEPTH)
        return [a for a in (_u64(b, STACK["frames"] + 8 * k) for k in range(depth)) if a]

    def thread_by_slot(self, slot):
        for t in self.threads:
            if t.slot == slot:
                return t
        return None

    def thread_by_tid(self, tid):
        for t in self.threads:
            if t.tid == tid and t.state == THREAD_LIVE:
                return t
        for t in self.threads:
            if t.tid == tid:
                return t
        return None

    def py_thread(self, index=None, ident=None):
        for t in self.py_threads:
            if (index is not None and t.index == index) or (ident is not None and t.thread_ident == ident):
                return t
        return None

    def orphan_for(self, lock_addr):
        for e in self.fork_held:
            if e.lock_addr == lock_addr and e.orphan_state in (ORPHAN_LIVE, ORPHAN_REPORTED):
                return e
        return None

    def holders_of(self, lock_addr):
        """[(RegThread, Held)] with a HELD entry for lock_addr."""
        out = []
        for t in self.threads:
            for h in t.held:
                if h.lock_addr == lock_addr and h.state == HOLD_HELD:
                    out.append((t, h))
        return out

    def acquiring(self, tid):
        t = self.thread_by_tid(tid)
        if t is None:
            return None
        acq = [h for h in t.held if h.state == HOLD_ACQUIRING]
        return max(acq, key=lambda h: h.seq) if acq else None


FLAG_ENABLED = 0x1
_INFO_VARIABLE_RE = re.compile(r"^\s*(0x[0-9a-fA-F]+)\s+" + SYMBOL + r"\s*$")


def _candidate_addresses():
    """Addresses of every `forkwatch_registry` in the inferior. A program may load
    the agent twice (two LD_PRELOAD entries, or a dlopen of a copy): each copy has
    its own registry and only the first stays enabled. Copies with the agent's
    debug info are found per object file; those without, as minimal symbols."""
    import gdb  # only inside GDB: the parser above is also tested outside it
    from . import symbols
    found = []
    first = symbols.minsym_address(SYMBOL)
    if first:
        found.append(first)
    try:
        for objfile in gdb.objfiles():
            try:
                sym = objfile.lookup_global_symbol(SYMBOL)
                addr = int(sym.value().address) if sym is not None else 0
            except (gdb.error, RuntimeError, AttributeError, TypeError, ValueError):
                addr = 0
            if addr and addr not in found:
                found.append(addr)
        out = gdb.execute("info variables -q ^%s$" % SYMBOL, to_string=True)
        for line in out.splitlines():
            m = _INFO_VARIABLE_RE.match(line)
            if m and int(m.group(1), 16) not in found:
                found.append(int(m.group(1), 16))
    except (gdb.error, RuntimeError):
        pass
    return found


def find():
    """The Registry of the selected inferior, or None when the agent is not loaded.
    With several copies, the enabled one (the copy that recorded) wins."""
    # Fast path: the minimal symbol GDB finds first is, in practice, the copy that
    # recorded; the full scan ('info variables' over every object file: 0.3-0.5 s)
    # is only needed when it is not valid and enabled.
    from . import symbols
    first = symbols.minsym_address(SYMBOL)
    if first:
        reg = Registry(first).load()
        if reg is not None and reg.valid and reg.header.get("flags", 0) & FLAG_ENABLED:
            return reg
    loaded = [Registry(addr).load() for addr in _candidate_addresses()]
    for reg in loaded:
        if reg is not None and reg.valid and reg.header.get("flags", 0) & FLAG_ENABLED:
            return reg
    return loaded[0] if loaded else None


def bytes_reader(data, base):
    """reader(addr, size) over `data` mapped at `base`; outside it: MemoryReadError."""
    def read(addr, size):
        if size < 0 or addr < base or addr + size > base + len(data):
            raise memory.MemoryReadError("cannot read %d bytes at 0x%x: outside the %d-byte image"
                                         % (size, addr, len(data)))
        return bytes(data[addr - base:addr - base + size])
    return read


def decode_bytes(data, base=0x10000):
    """Decode a registry image (bytes) as if it were mapped at `base`. Never raises."""
    return Registry(base, bytes_reader(data, base)).load()
