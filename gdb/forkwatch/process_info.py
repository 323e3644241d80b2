"""The process being examined: pid, live or core, executable, parent and whether the parent
runs the same executable (a fork child), agent present."""
import os
import re
import struct

import gdb

from . import symbols
from .escape import to_text

# Set by `forkwatch batch core` so that the core's notes can be read; else found from `info target`.
CORE_FILE = None


class ProcessInfo(object):
    def __init__(self):
        self.pid = None
        self.source = "live"
        self.executable = None
        self.ppid = None                 # the parent pid as the kernel (or the core's note) says
        self.parent_pid = None           # the fork parent, when proven (parent_is_proven); else None
        self.parent_tids = None          # live: TIDs of the parent's threads
        self.same_layout_as_parent = None  # libc at the same address as in the parent: no exec since fork
        self.agent = False
        self.core_file = None
        self.core_command = None         # core: pr_fname of NT_PRPSINFO (the main thread's name)
        self.notes = []
        self.libc_address = None
        self.parent_facts = None         # ParentFacts from the parent's core (several cores of one job)


def _core_file_path():
    if CORE_FILE:
        return CORE_FILE
    try:
        out = gdb.execute("info target", to_string=True)
    except (gdb.error, RuntimeError):
        return None
    m = re.search(r"Local core dump file:\s*\n\s*`(.+)', file type", out)
    return m.group(1) if m else None


def core_prpsinfo(path):
    """(pid, ppid, fname) from the core's NT_PRPSINFO note, or None."""
    try:
        with open(path, "rb") as f:
            eh = f.read(64)
            if len(eh) < 64 or eh[:4] != b"\x7fELF" or eh[4] != 2:
                return None
            phoff, = struct.unpack_from("<Q", eh, 32)
            phentsize, phnum = struct.unpack_from("<HH", eh, 54)
            f.seek(phoff)
            ph = f.read(phentsize * phnum)
            for i in range(phnum):
                p_type, = struct.unpack_from("<I", ph, i * phentsize)
                if p_type != 4:  # PT_NOTE
                    continue
                off, = struct.unpack_from("<Q", ph, i * phentsize + 8)
                size, = struct.unpack_from("<Q", ph, i * phentsize + 32)
                f.seek(off)
                data = f.read(min(size, 1 << 24))
                pos = 0
                while pos + 12 <= len(data):
                    namesz, descsz, ntype = struct.unpack_from("<III", data, pos)
                    pos += 12
                    pos += (namesz + 3) & ~3
                    desc = data[pos:pos + descsz]
                    pos += (descsz + 3) & ~3
                    if ntype == 3 and len(desc) >= 136:  # NT_PRPSINFO (x86-64 elf_prpsinfo)
                        pid, ppid = struct.unpack_from("<ii", desc, 24)
                        fname = desc[40:56].split(b"\0", 1)[0]
                        return pid, ppid, fname
    except (OSError, struct.error):
        return None
    return None


def _read_link(p):
    try:
        return os.readlink(p)
    except OSError:
        return None


def _same_layout_as_parent(ppid):
    """True when a library is mapped at the same address in the parent (a fork child that
    did not exec: ASLR gives every exec new addresses), False when not, None if unknown."""
    # An address in libc's text, from `info sharedlibrary`: looking up a function by name
    # (&'fork') makes GDB expand every compilation unit that declares it (0.2-0.3 s with
    # libc's and python3.11's debug info; &'malloc': 3 s).
    addr, path = _libc_mapping()
    if not addr or not path:
        return None
    try:
        with open("/proc/%d/maps" % ppid, "rb") as f:
            data = f.read()
    except OSError:
        return None
    want = os.fsencode(os.path.realpath(path))
    for line in data.splitlines():
        parts = line.split(None, 5)
        if len(parts) < 6:
            continue
        try:
            lo, hi = (int(x, 16) for x in parts[0].split(b"-"))
        except ValueError:
            continue
        if lo <= addr < hi:
            return os.path.realpath(parts[5].strip()) == want or parts[5].strip() == os.fsencode(path)
    return False


class ParentFacts(object):
    """What another core of the same job says about this process's parent: its pid, its threads
    (tid -> name, pthread_self -> tid) and where its C library was mapped. Made from that core's
    own analysis (from_report), so a child's core can name a holder by the parent's core."""

    def __init__(self, pid, threads, idents, libc_address, core_file, stacks=None):
        self.pid = pid
        self.threads = threads          # {tid: name or None}
        self.stacks = stacks or {}      # {tid: (python_stack, native_stack)} as that core shows them
        self.idents = idents            # {pthread_self: tid}
        self.libc_address = libc_address
        self.core_file = core_file

    @classmethod
    def from_report(cls, r):
        threads = dict((t["tid"], t.get("name")) for t in r.threads)
        idents = dict((t["_native"].pthread, t["tid"]) for t in r.threads if getattr(t["_native"], "pthread", None))
        stacks = dict((t["tid"], (t.get("python_stack") or [], t.get("native_stack") or [])) for t in r.threads)
        return cls(r.pid, threads, idents, getattr(r.process, "libc_address", None),
                   getattr(r.process, "core_file", None), stacks)


def _libc_mapping():
    """(load address, path) GDB gives the C library (else the first shared library), or
    (None, None): where a fork child and its parent must agree (ASLR)."""
    libs = symbols.shared_libraries()
    if not libs:
        return None, None
    libc = [l for l in libs if os.path.basename(l[2]).startswith("libc.so")]
    addr, _, path = (libc or libs)[0]
    return addr, path


def _stat_fields(pid):
    """/proc/PID/stat's fields after the command (state, ppid, ...), or None."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            stat = f.read()
        return stat[stat.rindex(b")") + 2:].split()
    except (OSError, ValueError, IndexError):
        return None


def parent_is_proven(pid, ppid):
    """True only when live process `ppid` is provably the process `pid` was forked from (without
    an exec since): not init, started no later than the child, and its C library mapped from
    the same file at the same address (ASLR gives every exec new addresses). An orphan's
    reaper (init, a subreaper such as `forkwatch run`) or a reused pid fails these."""
    if not ppid or ppid == 1:
        return False
    mine, theirs = _stat_fields(pid), _stat_fields(ppid)
    try:
        if mine is None or theirs is None or int(theirs[19]) > int(mine[19]):   # starttime, field 22
            return False
    except (ValueError, IndexError):
        return False
    return _same_layout_as_parent(ppid) is True


def gather(registry=None, parent=None):
    """`parent`: ParentFacts of this core's parent, from another core of the same job."""
    pi = ProcessInfo()
    inf = gdb.selected_inferior()
    pi.pid = inf.pid or None
    pi.executable = symbols.main_executable()
    core = None
    try:
        core = _core_file_path()
    except Exception:  # defensive: info target parsing
        core = None
    if core is not None:
        # A core carries its own evidence (its notes, its memory); whatever now runs under the
        # pid its NT_PRPSINFO names as the parent is not evidence (issue 19: a verdict must not
        # change with the machine's state at analysis time).
        pi.source = "core"
        pi.core_file = core
        info = core_prpsinfo(core)
        if info:
            if not pi.pid:
                pi.pid = info[0]
            pi.ppid = info[1] or None
            pi.parent_pid = info[1] if info[1] and info[1] != 1 else None
            pi.core_command = to_text(info[2]) or None
        pi.libc_address = _libc_mapping()[0]
        if parent is not None and pi.parent_pid == parent.pid:
            # the parent's core, given with this one: its threads are evidence (same libc address:
            # forked without an exec, as ASLR gives every exec new addresses)
            pi.parent_facts = parent
            pi.parent_tids = set(parent.threads)
            pi.same_layout_as_parent = bool(pi.libc_address and pi.libc_address == parent.libc_address)
    elif pi.pid:
        stat = _stat_fields(pi.pid)
        if stat is not None:
            pi.ppid = pi.parent_pid = int(stat[1]) or None
        exe = _read_link("/proc/%d/exe" % pi.pid)
        if exe:
            pi.executable = exe
        if pi.parent_pid and parent_is_proven(pi.pid, pi.parent_pid):
            pi.same_layout_as_parent = True
            try:
                pi.parent_tids = set(int(x) for x in os.listdir("/proc/%d/task" % pi.parent_pid))
            except (OSError, ValueError):
                pi.parent_tids = None
        else:
            pi.parent_pid = None    # a shell, init, a subreaper, a reused pid: not our fork parent
    if registry is not None:
        pi.agent = True
        if registry.valid and registry.header.get("parent_pid") and not pi.parent_pid:
            pi.parent_pid = registry.header.get("parent_pid")
    return pi
