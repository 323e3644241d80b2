# Run inside gdb with a libpython (or python executable) loaded:
#   gdb -nx -batch -ex 'python import sys; sys.path.insert(0, "/work/main/gdb")' \
#       -x tests/gdb_cpython/gen_layouts.py LIBPYTHON
# Prints the layout computed from DWARF as a Python dict literal (LAYOUT = {...}).
import gdb
from forkwatch.cpython import layouts

lay = layouts.dwarf_layout(gdb)
print("LAYOUT = {")
for k in sorted(lay or {}):
    print("    %r: %d," % (k, lay[k]))
print("}")
