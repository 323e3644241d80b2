# /etc/gdb/gdbinit.d/forkwatch.gdb — from the forkwatch package: gives every gdb session the
# `forkwatch diagnose|threads|locks|forks` commands (GDB runs each file of its system gdbinit
# directory at start-up, unless -nx; `forkwatch attach/core` use -nx and source the package
# themselves). A conffile: it stays after `apt-get remove` until --purge, so it checks that the
# package is still there rather than make every gdb print an error. A GDB script, not a .py:
# with a forkwatch.py here, Debian 13's gdb 16 ended up importing it as the module `forkwatch`
# (its byte-code appeared in gdbinit.d/__pycache__), which hid the package.
python
import os.path as _forkwatch_path
if _forkwatch_path.isfile("/usr/share/forkwatch/gdb/forkwatch-gdb.py"):
    gdb.execute("source /usr/share/forkwatch/gdb/forkwatch-gdb.py")
del _forkwatch_path
end
