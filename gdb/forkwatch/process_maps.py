"""The facts shared_mappings.py works on, read from where they are: the examined process's
mappings (/proc/PID/maps live; GDB's `info proc mappings` for a core, from its NT_FILE note),
and, live only, every other process's mappings and threads from /proc. Reads, never writes;
one Facts object per analysis caches what it read (the processes do not move meanwhile
as far as this analysis is concerned)."""
import os

import gdb

from . import shared_mappings as sm

# The futex system call's number, and the names of the calls a waiting thread is usually in.
_ARCH = os.uname().machine
FUTEX_NR = {"x86_64": 202, "aarch64": 98}.get(_ARCH)
SYSCALL_NAMES = {"x86_64": {219: "restart_syscall", 0: "read", 1: "write", 7: "poll", 23: "select", 35: "nanosleep", 43: "accept",
                            61: "wait4", 128: "rt_sigtimedwait", 202: "futex", 232: "epoll_wait",
                            230: "clock_nanosleep", 270: "pselect6", 271: "ppoll", 288: "accept4"},
                 "aarch64": {128: "restart_syscall", 63: "read", 64: "write", 73: "ppoll", 72: "pselect6", 98: "futex",
                             101: "nanosleep", 115: "clock_nanosleep", 137: "rt_sigtimedwait",
                             202: "accept", 242: "accept4", 260: "wait4", 22: "epoll_pwait"}}.get(_ARCH, {})


def _read(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "surrogateescape")
    except OSError:
        return None


class Facts(object):
    def __init__(self, pid, source):
        self.pid = pid
        self.source = source
        self._own = None
        self._scan = {}

    def own_mappings(self):
        if self._own is None:
            text = _read("/proc/%d/maps" % self.pid) if self.source == "live" and self.pid else None
            if text is not None:
                self._own = sm.parse_proc_maps(text)
            else:
                try:
                    self._own = sm.parse_gdb_mappings(gdb.execute("info proc mappings", to_string=True))
                except (gdb.error, RuntimeError):
                    self._own = []
        return self._own

    def maps_by_pid(self, key):
        """{pid: [Mapping]} of the live processes with a mapping of object key (dev, inode)."""
        if key in self._scan:
            return self._scan[key]
        needle = " %s %d " % key
        out = {}
        try:
            pids = [int(p) for p in os.listdir("/proc") if p.isdigit()]
        except OSError:
            pids = []
        for pid in pids:
            if pid == self.pid:
                continue
            text = _read("/proc/%d/maps" % pid)
            if not text or needle not in text:
                continue
            out[pid] = sm.parse_proc_maps("\n".join(l for l in text.splitlines() if needle in l))
        self._scan[key] = out
        return out

    def threads(self, pid):
        """[PeerThread] of a live process, or None when /proc does not show them."""
        try:
            tids = sorted(int(t) for t in os.listdir("/proc/%d/task" % pid) if t.isdigit())
        except OSError:
            return None
        out = []
        for tid in tids:
            base = "/proc/%d/task/%d/" % (pid, tid)
            stat = _read(base + "stat")
            if stat is None:
                continue
            try:
                state = stat[stat.rindex(")") + 2:].split()[0]
            except (ValueError, IndexError):
                state = None
            name = (_read(base + "comm") or "").rstrip("\n") or None
            nr = arg0 = None
            sc = (_read(base + "syscall") or "").split()
            if sc and sc[0] not in ("running", "-1"):
                try:
                    nr = int(sc[0])
                    arg0 = int(sc[1], 16) if len(sc) > 1 else None
                except ValueError:
                    nr = arg0 = None
            out.append(sm.PeerThread(tid, name, state, nr, arg0))
        return out
