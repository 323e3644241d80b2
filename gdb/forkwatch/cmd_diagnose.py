"""forkwatch diagnose [--json]"""
import gdb

from . import analysis
from . import render_json
from . import render_text
from .commands import guarded, split_args, complete_options, error_line, have_target


def run_diagnose(as_json):
    r = analysis.analyze()
    gdb.write((render_json.render(r) if as_json else render_text.render(r)) + "\n")
    return r


class DiagnoseCommand(gdb.Command):
    """Say why the process hangs: forkwatch diagnose [--json]

Reads the threads, glibc lock words, the CPython runtime and the forkwatch agent's
registry (when present) and prints one verdict: fork-deadlock, gil-held-across-fork,
deadlock, orphaned-lock or no-deadlock, with the waiting thread, the lock, its holder
and one line of advice. --json prints the forkwatch/1 JSON object instead."""

    def __init__(self):
        super(DiagnoseCommand, self).__init__("forkwatch diagnose", gdb.COMMAND_STATUS)

    def invoke(self, arg, from_tty):
        args = split_args(arg)
        bad = [a for a in args if a != "--json"]
        if bad:
            error_line("usage: forkwatch diagnose [--json]")
            return
        if not have_target():
            return
        guarded(lambda: run_diagnose("--json" in args))

    def complete(self, text, word):
        return complete_options(["--json"], text, word)


DiagnoseCommand()
