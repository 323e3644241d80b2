# /etc/gdb/gdbinit.d/forkwatch.py — from the forkwatch package: gives every gdb session the
# `forkwatch diagnose|threads|locks|forks` commands (GDB runs each *.py in its system gdbinit
# directory at start-up, unless -nx; `forkwatch attach/core` use -nx and source the package
# themselves). This file is a conffile: it stays after `apt-get remove` until --purge, so it
# checks that the package is still installed instead of making every gdb print an error.
import os.path as _forkwatch_path

import gdb

if _forkwatch_path.isfile("/usr/share/forkwatch/gdb/forkwatch-gdb.py"):
    gdb.execute("source /usr/share/forkwatch/gdb/forkwatch-gdb.py")
del _forkwatch_path
