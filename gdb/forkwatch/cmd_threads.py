"""forkwatch threads"""
import gdb

from . import analysis
from .commands import guarded, error_line, have_target
from .escape import term


def _print_threads():
    r = analysis.analyze()
    out = []
    for t in r.threads:
        n = t["_native"]
        w = n.wait
        waits = ""
        if w is not None:
            if w.lock_address:
                waits = " on %s at 0x%x" % (w.kind, w.lock_address)
                if w.mode:
                    waits += " (%s)" % w.mode
            elif w.kind == "gil":
                waits = " for the GIL"
            elif w.detail:
                waits = " in %s" % term(w.detail)
            elif w.futex:
                waits = " on futex 0x%x (%s)" % (w.futex, w.kind)
        pth = " pthread 0x%x" % n.pthread if n.pthread else ""
        out.append("Thread %s \"%s\"%s: %s%s" % (t["tid"], term(t["name"]) if t["name"] is not None else "?",
                                                 pth, t["state"], waits))
        # merged stack: native frames, with the Python frames shown at the first eval frame
        py = list(t["python_stack"])
        shown_py = False
        for f in n.frames:
            fn = f.function or "??"
            mod = (f.module or "?").rsplit("/", 1)[-1]
            out.append("  #%-3d 0x%016x %s in %s" % (f.level, f.pc, term(fn), term(mod)))
            if not shown_py and py and fn.lstrip("_").startswith(("PyEval_EvalFrame", "Py_RunMain")):
                for p in py:
                    out.append("        [py] %s (%s:%s)" % (term(p.get("function")), term(p.get("file")),
                                                          p.get("line") if p.get("line") is not None else "?"))
                shown_py = True
        if py and not shown_py:
            for p in py:
                out.append("        [py] %s (%s:%s)" % (term(p.get("function")), term(p.get("file")),
                                                      p.get("line") if p.get("line") is not None else "?"))
        if n.stack_error:
            out.append("  (stack incomplete: %s)" % term(n.stack_error))
        out.append("")
    for note in r.notes:
        out.append("note: %s" % term(note))
    gdb.write("\n".join(out) + "\n")


class ThreadsCommand(gdb.Command):
    """List every thread: forkwatch threads

For each thread: TID, name, pthread_t, state (running, blocked-on-lock, waiting-for-gil,
sleeping, blocked), what it waits on, and its native stack with the Python frames."""

    def __init__(self):
        super(ThreadsCommand, self).__init__("forkwatch threads", gdb.COMMAND_STATUS, gdb.COMPLETE_NONE)

    def invoke(self, arg, from_tty):
        if arg and arg.strip():
            error_line("usage: forkwatch threads")
            return
        if have_target():
            guarded(_print_threads)


ThreadsCommand()
