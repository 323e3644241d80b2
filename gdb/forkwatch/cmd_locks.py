"""forkwatch locks"""
import gdb

from . import analysis
from .commands import guarded, error_line, have_target
from .escape import term


def _print_locks():
    r = analysis.analyze()
    if not r.locks:
        gdb.write("No locks known: no thread is blocked on a lock%s.\n"
                  % ("" if r.agent else " and the forkwatch agent is not loaded"))
    for l in r.locks:
        h = l.get("_holder") or {}
        line = "%s at %s" % (term(l.get("kind")), l.get("address"))
        if l.get("python_type"):
            line += " (%s)" % term(l["python_type"])
        if l.get("_description"):
            line += " %s" % term(l["_description"])
        if l.get("_state"):
            line += " [%s]" % term(l["_state"])
        gdb.write(line + "\n")
        if h:
            owner = "owner: thread %s \"%s\", %s" % (
                h.get("tid") if h.get("tid") is not None else "?",
                term(h.get("name")) if h.get("name") is not None else "?",
                "alive" if h.get("alive") else "not in this process")
            if h.get("_where"):
                owner += ", took it in %s" % term(h["_where"])
            gdb.write("    " + owner + "\n")
        else:
            gdb.write("    owner: unknown\n")
        if l.get("_held_at_fork"):
            gdb.write("    held at a fork%s\n" % (" (orphan state: %s)" % l["_orphan"] if l.get("_orphan") else ""))
        if l.get("_waiter") is not None:
            gdb.write("    waited on by thread %s\n" % l["_waiter"])
    for note in r.notes:
        gdb.write("note: %s\n" % term(note))


class LocksCommand(gdb.Command):
    """List the locks forkwatch knows: forkwatch locks

Locks from the agent's registry (held entries and locks held at the latest fork) and the
locks blocked threads wait on: kind, address, Python object, owner TID and name, whether
the owner is alive, whether it was held at a fork."""

    def __init__(self):
        super(LocksCommand, self).__init__("forkwatch locks", gdb.COMMAND_STATUS, gdb.COMPLETE_NONE)

    def invoke(self, arg, from_tty):
        if arg and arg.strip():
            error_line("usage: forkwatch locks")
            return
        if have_target():
            guarded(_print_locks)


LocksCommand()
