#!/bin/bash
# Regenerates TABLES in gdb/forkwatch/cpython/layouts.py from the DWARF of the pyenv
# interpreters (one per minor version).  Usage: tests/gdb_cpython/regen_layouts.sh
set -e
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for v in 3.8.18 3.9.18 3.10.13 3.11.7 3.12.1 3.13.0; do
    m=${v%.*}
    timeout 300 gdb -nx -batch -iex 'set debuginfod enabled off' \
        -ex "python import sys; sys.path.insert(0, '$root/gdb')" \
        -x "$here/gen_layouts.py" "/root/.pyenv/versions/$v/lib/libpython$m.so.1.0" > "$tmp/$v.txt" 2>/dev/null
done
python3 - "$root/gdb/forkwatch/cpython/layouts.py" "$tmp" <<'PY'
import sys
path, tmp = sys.argv[1], sys.argv[2]
out = ["TABLES = {"]
for v in ["3.8.18", "3.9.18", "3.10.13", "3.11.7", "3.12.1", "3.13.0"]:
    src = open("%s/%s.txt" % (tmp, v)).read()
    ns = {}
    exec(src[src.index("LAYOUT = {"):], ns)
    out.append("    (3, %s): {  # from the DWARF of %s" % (v.split(".")[1], v))
    for k in sorted(ns["LAYOUT"]):
        out.append("        %r: %d," % (k, ns["LAYOUT"][k]))
    out.append("    },")
out.append("}")
s = open(path).read()
a = s.index("TABLES = {")
b = s.index("# ---- end of generated tables ----")
open(path, "w").write(s[:a] + "\n".join(out) + "\n" + s[b:])
PY
echo "regenerated"
