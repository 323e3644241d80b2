"""The `forkwatch` prefix command; imports and registers every other command."""
import sys
import traceback

import gdb


def error_line(msg):
    # Messages may quote paths or strings from the debugged process: one line, escaped.
    from .escape import term
    gdb.write("forkwatch: error: %s\n" % term(" ".join(str(msg).splitlines())), gdb.STDERR)


def guarded(fn):
    """Run a command body; any exception becomes one `forkwatch: error:` line."""
    try:
        return fn()
    except gdb.GdbError:
        raise
    except KeyboardInterrupt:
        error_line("interrupted")
    except Exception as e:  # the command boundary: never a traceback for the user
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        error_line("%s: %s" % (type(e).__name__, msg))
        import os
        if os.environ.get("FORKWATCH_DEBUG"):
            traceback.print_exc(file=sys.stderr)
    return None


def have_target():
    """True when there is a live process or a core to read; else prints the error line."""
    try:
        if gdb.selected_inferior().pid:
            return True
        if "core dump" in gdb.execute("info target", to_string=True):
            return True
    except (gdb.error, RuntimeError):
        pass
    error_line("no process: attach to a process (gdb -p PID) or load a core (core-file CORE) first")
    return False


def split_args(arg):
    try:
        return gdb.string_to_argv(arg or "")
    except (gdb.error, ValueError, RuntimeError):
        return (arg or "").split()


def complete_options(options, text, word):
    word = word or ""
    return [o for o in options if o.startswith(word)]


class ForkwatchPrefix(gdb.Command):
    """Find why a process hangs after fork(): locks held by threads that vanished, GIL, cycles.

Subcommands:
  forkwatch diagnose [--json]   the verdict: what is blocked, on what, held by whom, advice
  forkwatch threads             every thread: state, what it waits on, native + Python stack
  forkwatch locks               every known lock: kind, owner, alive?, held at a fork?
  forkwatch forks               the fork history recorded by the forkwatch agent
The extension only reads memory; it never runs code in the process.
`set forkwatch python-frames on|off` controls the Python annotations in `bt`."""

    def __init__(self):
        super(ForkwatchPrefix, self).__init__("forkwatch", gdb.COMMAND_STATUS, gdb.COMPLETE_COMMAND, True)

    def invoke(self, arg, from_tty):
        if arg and arg.strip():
            error_line("unknown subcommand %r; try: help forkwatch" % arg.strip())
            return
        gdb.execute("help forkwatch", from_tty)


ForkwatchPrefix()

from . import cmd_diagnose  # noqa: E402,F401
from . import cmd_threads  # noqa: E402,F401
from . import cmd_locks  # noqa: E402,F401
from . import cmd_forks  # noqa: E402,F401
from . import cmd_batch  # noqa: E402,F401
from . import frame_filter  # noqa: E402,F401
