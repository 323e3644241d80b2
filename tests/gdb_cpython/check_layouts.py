# Run inside gdb with one libpython (or python executable) loaded, env FW_GDB_DIR and
# FW_VERSION ("3.12.1"): the layout table forkwatch uses for that version must equal
# what the DWARF says, key for key.  Prints PASS/FAIL lines.
import os
import sys

import gdb

sys.path.insert(0, os.environ["FW_GDB_DIR"])
from forkwatch.cpython import layouts  # noqa: E402

ver = os.environ["FW_VERSION"]
major, minor, patch = (int(x) for x in ver.split(".")[:3])
static = layouts.static_layout(minor, patch)
dwarf = layouts.dwarf_layout(gdb)
label = "layouts %s" % ver
if static is None or dwarf is None:
    print("FAIL %s: table=%s dwarf=%s" % (label, static is not None, dwarf is not None))
else:
    bad = []
    for k in sorted(set(static) | set(dwarf)):
        if static.get(k) != dwarf.get(k):
            bad.append("%s table=%s dwarf=%s" % (k, static.get(k), dwarf.get(k)))
    if bad:
        print("FAIL %s: %d differ: %s" % (label, len(bad), "; ".join(bad[:8])))
    else:
        print("PASS %s: %d offsets equal the DWARF" % (label, len(static)))
