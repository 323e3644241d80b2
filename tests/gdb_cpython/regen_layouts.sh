#!/bin/bash
# Regenerates TABLES in gdb/forkwatch/cpython/layouts.py from the DWARF of one interpreter per
# minor version: pyenv's 3.8-3.13.0 on this machine, Debian's python3.14 and python3.15 (with
# their -dbg DWARF) inside the sid root (tools/debian-root.sh). A minor whose interpreter is not
# here keeps its current table.  Usage: tests/gdb_cpython/regen_layouts.sh
set -e
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"; [ -n "${sidtmp:-}" ] && rm -rf "$sidtmp"' EXIT
gen=(gdb -nx -batch -iex 'set debuginfod enabled off')
for v in 3.8.18 3.9.18 3.10.13 3.11.7 3.12.1 3.13.0; do
    m=${v%.*}
    lib=/root/.pyenv/versions/$v/lib/libpython$m.so.1.0
    [ -f "$lib" ] || continue
    timeout 300 "${gen[@]}" -ex "python import sys; sys.path.insert(0, '$root/gdb')" \
        -x "$here/gen_layouts.py" "$lib" > "$tmp/$m.txt" 2>/dev/null
    echo "$m: $v (pyenv)" >> "$tmp/sources"
done
if sid=$("$root/tools/debian-root.sh" path sid 2>/dev/null) && [ -x "$sid/usr/bin/gdb" ]; then
    sidtmp="$sid/tmp/forkwatch-regen.$$"
    mkdir -p "$sidtmp"
    cp -r "$root/gdb" "$here/gen_layouts.py" "$sidtmp/"
    for m in 3.14 3.15; do
        [ -x "$sid/usr/bin/python$m" ] || continue
        "$root/tools/debian-root.sh" run sid timeout 300 "${gen[@]}" \
            -ex "python import sys; sys.path.insert(0, '/tmp/forkwatch-regen.$$/gdb')" \
            -x "/tmp/forkwatch-regen.$$/gen_layouts.py" "/usr/bin/python$m" > "$tmp/$m.txt" 2>/dev/null
        pv=$("$root/tools/debian-root.sh" run sid "/usr/bin/python$m" -c 'import platform; print(platform.python_version())')
        echo "$m: $pv (Debian sid)" >> "$tmp/sources"
    done
fi
python3 - "$root/gdb/forkwatch/cpython/layouts.py" "$tmp" <<'PY'
import os
import sys
path, tmp = sys.argv[1], sys.argv[2]
s = open(path).read()
ns = {}
exec(s[s.index("TABLES = {"):s.index("# ---- end of generated tables ----")], ns)
old = ns["TABLES"]
sources = dict(line.strip().split(": ", 1) for line in open(os.path.join(tmp, "sources")))
out = ["TABLES = {"]
for minor in range(8, 100):
    key = (3, minor)
    txt = os.path.join(tmp, "3.%d.txt" % minor)
    if os.path.exists(txt) and "LAYOUT = {" in open(txt).read():
        src = open(txt).read()
        lns = {}
        exec(src[src.index("LAYOUT = {"):], lns)
        table, origin = lns["LAYOUT"], sources["3.%d" % minor]
    elif key in old:
        table, origin = old[key], None
    else:
        continue
    if origin is None:  # keep the old comment line
        a = s.index("    (3, %d): {" % minor)
        out.append(s[a:s.index("\n", a)])
    else:
        out.append("    (3, %d): {  # from the DWARF of %s" % (minor, origin))
    for k in sorted(table):
        out.append("        %r: %d," % (k, table[k]))
    out.append("    },")
out.append("}")
a = s.index("TABLES = {")
b = s.index("# ---- end of generated tables ----")
open(path, "w").write(s[:a] + "\n".join(out) + "\n" + s[b:])
PY
echo "regenerated"
