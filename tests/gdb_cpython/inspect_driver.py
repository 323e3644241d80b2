# Run inside gdb (attached or on a core):  gdb ... -x inspect_driver.py
# Environment: FW_GDB_DIR (the gdb/ dir), FW_OUT (JSON output file), FW_ADDRS (comma list
# of object addresses to describe), FW_FIND (ident:object pairs for find_lock_object).
# Writes one JSON object with what forkwatch.cpython reports.  Never raises.
import json
import os
import sys
import traceback

sys.path.insert(0, os.environ["FW_GDB_DIR"])
out = {}
try:
    from forkwatch import cpython

    proc = cpython.inspect_process()
    if proc is None:
        out["none"] = True
    else:
        out["version"] = list(proc.version)
        out["version_string"] = proc.version_string
        out["has_debug_info"] = proc.has_debug_info
        out["version_source"] = proc.version_source
        out["threads"] = [{
            "ident": t.thread_ident, "tid": t.native_tid, "tstate": t.tstate, "name": t.name,
            "holds_gil": t.holds_gil,
            "frames": [[f.function, f.file, f.line] for f in t.frames]} for t in proc.threads()]
        g = proc.gil()
        out["gil"] = None if g is None else {"locked": g.locked, "holder_ident": g.holder_ident,
                                              "holder_tstate": g.holder_tstate}

        def lock_json(pl):
            if pl is None:
                return None
            return {"address": pl.address, "lock_address": pl.lock_address,
                    "python_type": pl.python_type, "type_name": pl.type_name,
                    "locked": pl.locked, "owner_ident": pl.owner_ident, "count": pl.count,
                    "description": pl.description, "found_in": pl.found_in}

        out["describe"] = {}
        for a in filter(None, os.environ.get("FW_ADDRS", "").split(",")):
            out["describe"][a] = lock_json(proc.describe_object(int(a)))
        out["find"] = {}
        # FW_FIND: ident:object pairs; look the object's underlying lock up from that thread
        for pair in filter(None, os.environ.get("FW_FIND", "").split(",")):
            ident, obj = pair.split(":")
            d = proc.describe_object(int(obj))
            found = proc.find_lock_object(int(ident), d.lock_address) if d else None
            out["find"][pair] = lock_json(found)
        out["streams"] = [lock_json(p) for p in proc.std_stream_locks()]
except cpython.UnsupportedPython as exc:
    out["unsupported"] = str(exc)
except Exception:
    out["error"] = traceback.format_exc()
with open(os.environ["FW_OUT"], "w") as f:
    json.dump(out, f, indent=1)
