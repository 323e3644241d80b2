"""Threads that glibc still describes in memory although they do not run here: the evidence a
fork child carries that its parent had other threads, readable from a live process and from a
core alike (no parent, no /proc of anyone else).

glibc 2.34+ keeps every thread descriptor (`struct pthread`, at the top of its stack) on one
of three lists in `_rtld_global`: `_dl_stack_used` (threads made by pthread_create that run),
`_dl_stack_user` (the initial thread and user-stack threads) and `_dl_stack_cache` (stacks
kept for reuse). At fork, the child's `reclaim_stacks` (sysdeps/nptl/fork.h, 2.35+) moves every other thread's descriptor from `_dl_stack_used` to the cache with `tid = 0`, its
stack still mapped. A thread that ended normally reaches the cache too, but only after
`start_thread` marked it exiting: `cancelhandling |= EXITING_BITMASK | TERMINATED_BITMASK`
(nptl/pthread_create.c, nptl/descr.h: EXITING_BIT 4, TERMINATED_BIT 5). So a cached
descriptor without those bits is a thread that was running when this process forked: it was
lost in the fork.

Offsets come from the `_thread_db_*` descriptors that glibc exports for libthread_db
(nptl_db/structs.def: {size in bits, count, offset}), so no glibc debug info is needed. The
cache list is not among them: it follows `_dl_stack_user` in `struct rtld_global`
(sysdeps/generic/ldsodefs.h, 2.34-2.43), and every node read is checked (next->prev == node,
the descriptor's `header.self` == itself on x86-64) before anything is concluded."""
import os

from . import memory
from . import symbols

EXITING_BITMASK = 0x10
TERMINATED_BITMASK = 0x20
MAX_NODES = 4096          # bounded walk: a damaged list stops here
_LIST_T_SIZE = 16          # list_t {next, prev}
_TCB_SELF = 16             # x86-64 tcbhead_t: tcb, dtv, self (sysdeps/x86_64/nptl/tls.h)
_CHECK_TCB_SELF = os.uname().machine == "x86_64"


class Descriptor(object):
    """A `struct pthread` found on one of glibc's lists."""

    def __init__(self, address, tid, cancelhandling, start_routine, listed_in):
        self.address = address          # == the thread's pthread_self() (Python's thread ident)
        self.tid = tid
        self.cancelhandling = cancelhandling
        self.start_routine = start_routine
        self.listed_in = listed_in      # "used", "user" or "cache"

    @property
    def exited(self):
        return bool(self.cancelhandling & (EXITING_BITMASK | TERMINATED_BITMASK))

    @property
    def lost_in_fork(self):
        """A cached descriptor that never exited: its thread ran when the process forked."""
        return self.listed_in == "cache" and not self.exited


class ThreadLists(object):
    """What glibc's lists say; `readable` False when they could not be read (then nothing is
    concluded from them)."""

    def __init__(self):
        self.readable = False
        self.why = None
        self.descriptors = []

    def lost_in_fork(self):
        return [d for d in self.descriptors if d.lost_in_fork]

    def exited(self):
        return [d for d in self.descriptors if d.listed_in == "cache" and d.exited]

    def descriptors_other_than(self, tid):
        """Every descriptor but the one of thread `tid` (running, ended or lost)."""
        return [d for d in self.descriptors if d.tid != tid or d.listed_in == "cache"]

    def by_address(self, address):
        for d in self.descriptors:
            if d.address == address:
                return d
        return None


def _field_offset(name):
    """Offset from a glibc `_thread_db_<name>` descriptor (uint32_t[3]: bits, count, offset)."""
    addr = symbols.minsym_address("_thread_db_" + name)
    if not addr:
        raise LookupError("glibc's _thread_db_%s not found" % name)
    return memory.read_u32(addr + 8)


def _walk(head, list_off, listed_in, offs):
    out = []
    node = memory.read_pointer(head)
    prev = head
    for _ in range(MAX_NODES):
        if node == head:
            return out
        if not node or memory.read_pointer(node + 8) != prev:
            raise ValueError("glibc's %s thread list is inconsistent at 0x%x" % (listed_in, node or 0))
        pd = node - list_off
        if _CHECK_TCB_SELF and memory.read_pointer(pd + _TCB_SELF) != pd:
            raise ValueError("no thread descriptor at 0x%x (%s list)" % (pd, listed_in))
        out.append(Descriptor(pd, memory.read_i32(pd + offs["tid"]),
                              memory.read_i32(pd + offs["cancelhandling"]),
                              memory.read_pointer(pd + offs["start_routine"]), listed_in))
        prev, node = node, memory.read_pointer(node)
    raise ValueError("glibc's %s thread list has more than %d entries" % (listed_in, MAX_NODES))


def read():
    tl = ThreadLists()
    try:
        rtld = symbols.minsym_address("_rtld_global")
        if not rtld:
            raise LookupError("_rtld_global not found (glibc older than 2.34, or not glibc)")
        offs = dict((k, _field_offset("pthread_" + k)) for k in ("list", "tid", "cancelhandling", "start_routine"))
        used = rtld + _field_offset("rtld_global__dl_stack_used")
        user = rtld + _field_offset("rtld_global__dl_stack_user")
        cache = user + _LIST_T_SIZE
        for head, name in ((used, "used"), (user, "user"), (cache, "cache")):
            tl.descriptors.extend(_walk(head, offs["list"], name, offs))
        tl.readable = True
    except (LookupError, ValueError, memory.MemoryReadError) as e:
        tl.why = str(e)
        tl.descriptors = []
    return tl
