"""Run inside GDB (gdb -batch -x check_mirror.py): compares the offsets mirrored in
gdb/forkwatch/agent_registry.py with the C compiler's view of agent/forkwatch_abi.h, and
with tests/abi_offsets.c's JSON when that program exists. Prints MIRROR-OK or MIRROR-FAIL lines."""
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.environ["FW_ROOT"]
sys.path.insert(0, os.path.join(ROOT, "gdb"))
from forkwatch import agent_registry as ar  # noqa: E402

STRUCTS = [("fw_registry_header", ar.HEADER, ar.HEADER_SIZE), ("fw_table_desc", ar.TABLE_DESC, 16),
           ("fw_held", ar.HELD, ar.HELD_SIZE), ("fw_thread", ar.THREAD, ar.THREAD_SIZE),
           ("fw_stack", ar.STACK, ar.STACK_SIZE), ("fw_fork", ar.FORK, ar.FORK_SIZE),
           ("fw_fork_held", ar.FORK_HELD, ar.FORK_HELD_SIZE), ("fw_py_thread", ar.PY_THREAD, ar.PY_THREAD_SIZE),
           ("fw_py_frame", ar.PY_FRAME, ar.PY_FRAME_SIZE), ("fw_module", ar.MODULE, ar.MODULE_SIZE)]
CONSTS = {"FW_MAGIC": ar.MAGIC, "FW_LAYOUT_VERSION": ar.LAYOUT_VERSION, "FW_NAME_LEN": ar.NAME_LEN,
          "FW_PY_NAME_LEN": ar.PY_NAME_LEN, "FW_FUNC_LEN": ar.FUNC_LEN, "FW_PY_FILE_LEN": ar.PY_FILE_LEN,
          "FW_PATH_LEN": ar.PATH_LEN, "FW_BUILD_ID_MAX": ar.BUILD_ID_MAX, "FW_MAX_HELD": ar.MAX_HELD,
          "FW_STACK_DEPTH": ar.STACK_DEPTH}

fails = []
mine = {}
src = ['#include <stdio.h>', '#include <stddef.h>', '#include "forkwatch_abi.h"', "int main(void) {"]
for st, fields, size in STRUCTS:
    for f, off in fields.items():
        mine["%s.%s" % (st, f)] = off
        src.append('printf("%s.%s %%zu\\n", offsetof(struct %s, %s));' % (st, f, st, f))
    mine["sizeof.%s" % st] = size
    src.append('printf("sizeof.%s %%zu\\n", sizeof(struct %s));' % (st, st))
for c, v in CONSTS.items():
    mine[c] = v
    src.append('printf("%s %%llu\\n", (unsigned long long)(%s));' % (c, c))
src.append("return 0; }")
tmp = tempfile.mkdtemp(prefix="fwmirror.")
with open(os.path.join(tmp, "m.c"), "w") as fh:
    fh.write("\n".join(src) + "\n")
cc = subprocess.run(["cc", "-std=c11", "-I", os.path.join(ROOT, "agent"), "-o", os.path.join(tmp, "m"),
                     os.path.join(tmp, "m.c")], capture_output=True, text=True, timeout=60)
if cc.returncode != 0:
    fails.append("cannot compile the offset program: " + cc.stderr.strip().splitlines()[0])
else:
    out = subprocess.run([os.path.join(tmp, "m")], capture_output=True, text=True, timeout=10).stdout
    for line in out.splitlines():
        k, v = line.split()
        if int(v) != mine[k]:
            fails.append("%s: C says %s, mirror says %s" % (k, v, mine[k]))
print("MIRROR-COMPILER %s (%d values)" % ("OK" if not fails else "FAIL", len(mine)))

# tests/abi_offsets.c (written by the agent engineer): JSON of offsets, compared where keys match.
abi = os.path.join(ROOT, "tests", "abi_offsets.c")
if os.path.exists(abi):
    exe = os.path.join(tmp, "abi_offsets")
    cc = subprocess.run(["cc", "-std=c11", "-D_GNU_SOURCE", "-I", os.path.join(ROOT, "agent"), "-o", exe, abi],
                        capture_output=True, text=True, timeout=60)
    if cc.returncode != 0:
        fails.append("tests/abi_offsets.c does not compile")
    else:
        data = json.loads(subprocess.run([exe], capture_output=True, text=True, timeout=10).stdout)
        flat = {}

        def walk(prefix, v):
            if isinstance(v, dict):
                for k, x in v.items():
                    walk(prefix + [k], x)
            else:
                flat[".".join(prefix)] = v
        walk([], data)
        compared = 0
        for k, v in flat.items():
            parts = k.split(".")
            if not isinstance(v, int) or len(parts) < 2:
                continue
            st, f = parts[-2], parts[-1]
            st_c = st if st.startswith("fw_") else "fw_" + st
            key = "%s.%s" % (st_c, f)
            if f in ("sizeof", "size") and "sizeof.%s" % st_c in mine:
                key = "sizeof.%s" % st_c
            if key in mine:
                compared += 1
                if mine[key] != v:
                    fails.append("abi_offsets %s=%s, mirror %s" % (k, v, mine[key]))
        print("MIRROR-ABI-OFFSETS compared %d values" % compared)
else:
    print("MIRROR-ABI-OFFSETS skipped (tests/abi_offsets.c not there)")
for f in fails:
    print("  " + f)
print("MIRROR-" + ("FAIL" if fails else "OK"))
