"""Is a lock process-shared, and which other processes can release it?

A lock in a shared mapping (a multiprocessing SemLock is a sem_t in a /dev/shm file that
sem_open mapped MAP_SHARED; a pshared mutex in a memfd or a MAP_SHARED|MAP_ANONYMOUS
region) is one object in every process that maps that object: a thread of any of them can
release it. So "no thread here holds it" proves nothing, and it is never an orphan of a
fork: the parent's thread that held it at fork() still runs in the parent, in the same
memory. It can only be lost when no live process that maps it can release it.

Pure logic: this module reads nothing. The facts come in as values (process_maps.py reads
them from /proc or from GDB): the mappings (Mapping), each peer process's threads (PeerThread).
The shared object is named by the mapping's device and inode (/proc/PID/maps: a deleted
/dev/shm file, a memfd and a shared anonymous region all keep their inode), and the lock's
position in it by the file offset, so a peer's mapping is matched on the very page.
"""
import collections

# A Mapping: start/end (addresses), perms ("rw-s"; None when unknown: a core's NT_FILE
# note has no permissions), offset (in the object), dev ("00:1b") and inode (int) or None,
# path ("" for an anonymous mapping).
Mapping = collections.namedtuple("Mapping", "start end perms offset dev inode path")

# One thread of a peer process, as /proc shows it: tid, name (comm), state letter,
# syscall (number or None when running), arg0 (the futex word for a futex wait) or None.
PeerThread = collections.namedtuple("PeerThread", "tid name state syscall arg0")

# How far from the lock's address its futex word may be: sem_t's value word is at +0
# (nptl/sem_waitcommon.c waits on &data + SEM_VALUE_OFFSET, 0 on little-endian); a mutex's
# __lock at +0; a rwlock waits on __wrphase_futex (+8) or __writers_futex (+12).
LOCK_SPAN = 32

# Path names that are shared objects by nature, for a core (no permissions, no inode):
# POSIX shm and semaphores (glibc: /dev/shm), memfd_create, System V shm, and a
# MAP_SHARED|MAP_ANONYMOUS region (the kernel's shmem file "/dev/zero (deleted)").
SHARED_PATH_PREFIXES = ("/dev/shm/", "/memfd:", "/SYSV", "/dev/zero (deleted)", "/run/shm/")


def parse_proc_maps(text):
    """/proc/PID/maps text -> [Mapping]. Bad lines are skipped."""
    out = []
    for line in text.splitlines():
        parts = line.split(None, 5)
        if len(parts) < 5:
            continue
        try:
            lo, hi = (int(x, 16) for x in parts[0].split("-"))
            off = int(parts[2], 16)
            inode = int(parts[4])
        except ValueError:
            continue
        out.append(Mapping(lo, hi, parts[1], off, parts[3], inode, parts[5].strip() if len(parts) > 5 else ""))
    return out


def parse_gdb_mappings(text):
    """GDB's `info proc mappings` (a live process: with Perms; a core: without) -> [Mapping]."""
    out = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 4 or not parts[0].startswith("0x"):
            continue
        try:
            lo, hi, off = int(parts[0], 16), int(parts[1], 16), int(parts[3], 16)
        except ValueError:
            continue
        rest = parts[4:]
        perms = None
        if rest and len(rest[0]) == 4 and all(ch in "rwxps-" for ch in rest[0]):
            perms = rest.pop(0)
        out.append(Mapping(lo, hi, perms, off, None, None, " ".join(rest)))
    return out


def find(mappings, addr):
    for m in mappings:
        if m.start <= addr < m.end:
            return m
    return None


def is_shared(m):
    """True: the mapping is of an object other processes can map (MAP_SHARED). Live maps say
    so in perms ('s'); a core's mapping only by its path."""
    if m is None:
        return False
    if m.perms is not None:
        return m.perms.endswith("s")
    return any(m.path.startswith(p) for p in SHARED_PATH_PREFIXES)


def object_key(m):
    """(dev, inode) naming the shared object, or None (unknown: a core's mapping)."""
    if m is None or m.dev is None or not m.inode:
        return None
    return (m.dev, m.inode)


def object_offset(m, addr):
    return m.offset + (addr - m.start)


def object_name(m):
    if m is None:
        return None
    if m.path:
        return m.path
    return "a shared anonymous mapping"


class Peer(object):
    """A process that maps the object: pid, address of the lock in it, and later its threads."""

    def __init__(self, pid, address):
        self.pid = pid
        self.address = address
        self.threads = None       # [PeerThread] once known; None: could not be read
        self.waiters = []         # threads waiting on this very lock
        self.releasers = []       # threads that are not: any of them may release it


def peers(key, offset, maps_by_pid, self_pid):
    """The processes other than self_pid whose mappings cover `offset` of object `key`, with
    the lock's address in each. maps_by_pid: {pid: [Mapping]}."""
    out = []
    for pid in sorted(maps_by_pid):
        if pid == self_pid:
            continue
        for m in maps_by_pid[pid]:
            if object_key(m) == key and is_shared(m) and m.offset <= offset < m.offset + (m.end - m.start):
                out.append(Peer(pid, m.start + (offset - m.offset)))
                break
    return out


def classify(peer, threads, futex_nr):
    """Splits a peer's threads: those in a futex wait on the lock's own word (they wait with us)
    and the rest, which run or wait on something else and so may release it. futex_nr: the
    futex system call's number here (None: unknown, then every thread counts as a releaser).
    A zombie's or dead thread ('Z', 'X') releases nothing."""
    peer.threads = list(threads)
    peer.waiters, peer.releasers = [], []
    for t in peer.threads:
        if t.state in ("Z", "X"):
            continue
        if futex_nr is not None and t.syscall == futex_nr and t.arg0 is not None and \
                peer.address <= t.arg0 < peer.address + LOCK_SPAN:
            peer.waiters.append(t)
        else:
            peer.releasers.append(t)
    return peer


class SharedLock(object):
    """What is known about one process-shared lock a thread waits on."""

    def __init__(self, address, kind, mapping, pshared_flag):
        self.address = address
        self.kind = kind
        self.mapping = mapping
        self.pshared_flag = pshared_flag  # the lock word says pshared (True/False/None unknown)
        self.checked = False              # peers looked for (live); False: a core, cannot tell
        self.peers = []                   # [Peer]
        self.holder = None                # (pid, tid, name, why) when one peer thread is named

    @property
    def releasers(self):
        return [p for p in self.peers if p.threads is None or p.releasers]

    @property
    def lost(self):
        """True only with the evidence: peers were looked for and none can release it."""
        return self.checked and not self.releasers

    def as_json(self):
        m = self.mapping
        return {"address": "0x%x" % self.address, "kind": self.kind, "object": object_name(m),
                "inode": m.inode if m is not None else None,
                "pshared": self.pshared_flag, "checked": self.checked,
                "peers": [{"pid": p.pid, "address": "0x%x" % p.address,
                           "waiting": [t.tid for t in p.waiters],
                           "may_release": [t.tid for t in p.releasers] if p.threads is not None else None}
                          for p in self.peers],
                "holder": None if self.holder is None else
                {"pid": self.holder[0], "tid": self.holder[1], "name": self.holder[2], "why": self.holder[3]}}


def describe_thread(t, syscall_names):
    what = syscall_names.get(t.syscall) if t.syscall is not None else "running"
    return "%s (%s: %s)" % (t.tid, t.name or "?", what or ("syscall %s" % t.syscall))


def head_words(sl):
    return "process-shared %s at 0x%x (in %s%s)" % (
        sl.kind, sl.address, object_name(sl.mapping), "; the lock says pshared" if sl.pshared_flag else "")


def lost_words(sl):
    """Why nobody can release it (for a lost lock)."""
    if sl.peers:
        return "every other process that maps it (%s) waits on it too" % ", ".join(str(p.pid) for p in sl.peers[:8])
    return "no other live process maps it"


def words(sl, syscall_names, limit=4):
    """One line for a note: where the lock lives and who can release it."""
    head = head_words(sl)
    if not sl.checked:
        return head + ": a thread of another process that maps it may release it; which processes map it, " \
                      "and whether any is alive, cannot be checked from a core alone, so no verdict is drawn on it"
    if sl.holder is not None:
        pid, tid, name, why = sl.holder
        head += ": held by process %s thread %s (%s), %s" % (pid, tid, name or "?", why)
        return head
    rel = sl.releasers
    if rel:
        parts = []
        for p in rel[:limit]:
            if p.threads is None:
                parts.append("%d" % p.pid)
            else:
                ts = p.releasers
                parts.append("%d [%s%s]" % (p.pid, ", ".join(describe_thread(t, syscall_names) for t in ts[:2]),
                                            ", ..." if len(ts) > 2 else ""))
        waiting = sum(len(p.waiters) for p in sl.peers)
        return head + ": %d other process%s map%s it; it can be released by %s%s%s%s" % (
            len(sl.peers), "" if len(sl.peers) == 1 else "es", "s" if len(sl.peers) == 1 else "",
            "process " if len(rel) == 1 else "processes ", "; ".join(parts),
            "" if len(rel) <= limit else "; ...",
            "; %d thread%s of other processes wait%s on it too" % (
                waiting, "" if waiting == 1 else "s", "s" if waiting == 1 else "") if waiting else "")
    return head + ": " + lost_words(sl)
