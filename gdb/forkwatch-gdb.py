# forkwatch GDB extension: `source /path/to/gdb/forkwatch-gdb.py` (or put that line in ~/.gdbinit).
# Adds this directory to sys.path and imports forkwatch.commands, which registers
# `forkwatch diagnose|threads|locks|forks` and the frame filter.
import os
import sys

_here = os.path.dirname(os.path.abspath(os.path.expanduser(__file__)))
if _here not in sys.path:
    sys.path.insert(0, _here)

try:
    import forkwatch.commands  # noqa: F401  (registers the commands)
except Exception as _e:  # never a traceback at source time
    sys.stderr.write("forkwatch: error: could not load the GDB package: %s\n" % (_e,))
