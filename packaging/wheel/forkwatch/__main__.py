"""`forkwatch ...` (the console script) and `python -m forkwatch ...`: replaces this Python
process with the native command, so its exit status, signals and stdio are the command's own."""
import os
import sys

from . import EXECUTABLE


def main():
    try:
        os.execv(EXECUTABLE, ["forkwatch"] + sys.argv[1:])
    except OSError as e:
        sys.stderr.write("forkwatch: cannot run %s: %s; reinstall the wheel\n" % (EXECUTABLE, e.strerror))
        return 3


if __name__ == "__main__":
    sys.exit(main())
