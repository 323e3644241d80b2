"""forkwatch forks"""
import gdb

from . import agent_registry
from .commands import guarded, error_line, have_target
from .escape import term


def _print_forks():
    reg = agent_registry.find()
    if reg is None:
        gdb.write("The forkwatch agent is not loaded in this process: no fork history.\n")
        return
    for n in reg.notes:
        gdb.write("note: %s\n" % term(n))
    if not reg.valid:
        return
    h = reg.header
    gdb.write("agent %s, policy %s, flags %s; pid %s, parent %s, born of fork #%s\n" % (
        term(h.get("agent_version")), reg.policy, ",".join(reg.flags) or "-", h.get("pid"),
        h.get("parent_pid") or "-", h.get("born_of_fork_id") or "-"))
    gdb.write("forks: %d total, %d deadlocks and %d hazards reported\n"
              % (h.get("forks_total", 0), h.get("deadlocks_reported", 0), h.get("hazards_reported", 0)))
    latest = reg.latest_fork()
    for f in reg.forks:
        gdb.write("  fork #%d via %s: parent %d -> child %d, by thread %d; %d live threads, %d locks held "
                  "by others%s%s\n" % (f.fork_id, f.via, f.parent_pid, f.child_pid, f.forker_tid, f.threads_live,
                                       f.held_count, ", Python stacks captured" if f.python_captured else "",
                                       " (latest)" if f is latest else ""))
    if reg.fork_held:
        gdb.write("locks held by other threads at the latest fork:\n")
        for e in reg.fork_held:
            pyt = reg.py_thread(index=e.py_thread) if e.py_thread >= 0 else None
            name = (pyt.name if pyt is not None and pyt.name else None) or e.holder_name
            gdb.write("  %s at 0x%x held by thread %d \"%s\" (%s), orphan: %s\n" % (
                e.kind_name, e.lock_addr, e.holder_tid, term(name),
                "no call site: taken inside CPython" if e.kind_name == "gil"
                else "taken in %s" % term(e.call_site_function or "?"),
                e.orphan_name))
            if pyt is not None:
                for fr in pyt.frames[:8]:
                    gdb.write("      [py] %s (%s:%s)\n" % (term(fr["function"]), term(fr["file"]), fr["line"]))


class ForksCommand(gdb.Command):
    """Show the fork history recorded by the forkwatch agent: forkwatch forks

Each fork (parent, child, forking thread, live threads, locks held by other threads),
and for the latest fork the locks other threads held, with holder names and Python stacks."""

    def __init__(self):
        super(ForksCommand, self).__init__("forkwatch forks", gdb.COMMAND_STATUS, gdb.COMPLETE_NONE)

    def invoke(self, arg, from_tty):
        if arg and arg.strip():
            error_line("usage: forkwatch forks")
            return
        if have_target():
            guarded(_print_forks)


ForksCommand()
