"""forkwatch, as installed from its wheel: the native `forkwatch` command, its LD_PRELOAD agent
and its GDB package live under this package's `_native/` directory, laid out as `make install`
lays out a prefix (bin/, lib/, share/forkwatch/gdb/), which is where the command looks for its
parts relative to itself (cli/paths.c)."""
import os

__version__ = "@VERSION@"

NATIVE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_native")
EXECUTABLE = os.path.join(NATIVE, "bin", "forkwatch")
AGENT = os.path.join(NATIVE, "lib", "libforkwatch.so")
GDB_DIR = os.path.join(NATIVE, "share", "forkwatch", "gdb")
