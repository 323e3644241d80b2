# Run inside gdb attached to a process (env FW_GDB_DIR: the gdb/ directory, FW_OUT: a
# path): writes what forkwatch.cpython's public API says about the process as JSON, for
# run_shapes.py to check (the parts of the API the JSON report does not show in full).
import json
import os
import sys


sys.path.insert(0, os.environ["FW_GDB_DIR"])
from forkwatch import cpython  # noqa: E402

out = {}
try:
    proc = cpython.inspect_process()
    if proc is None:
        out["error"] = "no CPython: %s" % cpython.last_error
    else:
        out["version"] = proc.version_string
        out["layout"] = proc.layout_source
        out["hooks"] = [{"name": h.name, "has_code": h.code is not None}
                        for h in proc.at_fork_child_hooks()]
        codes = set(h.code for h in proc.at_fork_child_hooks() if h.code)
        threads = []
        for t in proc.threads():
            ml = proc.module_lock_of(t.thread_ident)
            threads.append({
                "ident": t.thread_ident, "name": t.name,
                "in_hook": [f.function for f in t.frames if f.code in codes],
                "module_lock": None if ml is None else {
                    "module": ml.module, "owner_ident": ml.owner_ident, "count": ml.count,
                    "waiting": ml.waiting,
                    "lock_type": ml.lock.python_type if ml.lock is not None else None}})
        out["threads"] = threads
        out["errors"] = list(proc.errors)
except Exception as exc:  # reported, checked by the harness
    out["error"] = "%s: %s" % (type(exc).__name__, exc)
with open(os.environ["FW_OUT"], "w") as f:
    json.dump(out, f)
