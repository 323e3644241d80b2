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
        out["used_debug_offsets"] = proc.used_debug_offsets
        # what the process's _Py_DebugOffsets said must agree with our table (3.13+)
        from forkwatch.cpython import layouts
        static = layouts.static_layout(proc.version[1], proc.version[2] or 0)
        out["debug_offsets_mismatch"] = sorted(
            "%s: process %s, table %s" % (k, proc.lay.get(k), static.get(k))
            for k in layouts.DEBUG_OFFSETS_MAP.values()
            if k in static and proc.lay.get(k) != static.get(k))
        out["threads"] = [{
            "ident": t.thread_ident, "tid": t.native_tid, "tstate": t.tstate, "name": t.name,
            "holds_gil": t.holds_gil,
            "frames": [[f.function, f.file, f.line] for f in t.frames],
            "with_holds": [[h.manager, h.function, h.line] for h in proc.with_holds(t)[0]],
            "condition_waits": proc.condition_waits(t)} for t in proc.threads()]
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

        # garbage in: every public call must answer None/[] and never raise
        errors = []
        weird = [0, 1, 8, 0xdeadbeef, 1 << 63, (1 << 64) - 8, proc.runtime, proc.runtime + 8]
        r = proc.reader
        for t in proc.threads():
            weird += [t.tstate, t.thread_ident, t.tstate + 3]
            for fa, code, _o in proc.walker.raw_frames(t.tstate)[:4]:
                weird += [fa, code, code + 8]
                try:
                    for sl in proc.walker.slots(fa, code):
                        weird += [sl, sl + 8, sl - 16, sl + 3]
                except Exception:
                    pass
        for a in weird[:3000]:
            for fn in (proc.describe_object, r.read_str, r.read_int, r.read_bytes, r.dict_items,
                       r.instance_attrs, r.safe_type_name):
                try:
                    fn(a)
                except cpython.MemError:
                    pass  # the internal helpers may raise MemError; the API never does
                except Exception as exc:
                    errors.append("%s(0x%x): %r" % (fn.__name__, a & ((1 << 64) - 1), exc))
            try:
                if proc.describe_object(a) is not None and a not in (
                        int(x) for x in os.environ.get("FW_ADDRS", "").split(",") if x):
                    pass
            except Exception as exc:
                errors.append("describe_object(0x%x) raised %r" % (a, exc))
        for ident, addr in ((0, 0), (1, 0x1234), (None, 0xdeadbeef), (1 << 63, 1 << 63)):
            try:
                if proc.find_lock_object(ident, addr) is not None:
                    errors.append("find_lock_object(%r, %r) found something" % (ident, addr))
            except Exception as exc:
                errors.append("find_lock_object(%r, %r) raised %r" % (ident, addr, exc))
        # with blocks read from a garbage thread state or from frames shifted off their
        # start: a list (maybe with notes), never an exception (cpython/with_blocks.py)
        from forkwatch.cpython import with_blocks

        class FakeThread:
            frames = []

        for a in weird[:600]:
            ft = FakeThread()
            ft.tstate = a
            try:
                holds, _notes = proc.with_holds(ft)
                if not isinstance(holds, list):
                    errors.append("with_holds(0x%x) gave %r" % (a & ((1 << 64) - 1), holds))
            except Exception as exc:
                errors.append("with_holds(0x%x) raised %r" % (a & ((1 << 64) - 1), exc))
        for t in proc.threads():
            for fa, code, off in proc.walker.raw_frames(t.tstate)[:4]:
                for shift in (8, -8, 64, 4096):
                    try:
                        info = proc.walker.code_info(code)
                        if proc.version[1] <= 10:
                            with_blocks._holds_old(proc, fa + shift, code, info, [])
                        else:
                            with_blocks._holds_new(proc, fa + shift, code, off + shift // 8, info, [])
                    except cpython.MemError:
                        pass
                    except Exception as exc:
                        errors.append("with blocks of frame 0x%x%+d raised %r" % (fa, shift, exc))
        out["garbage_checked"] = len(weird)
        out["errors"] = proc.errors[:20]
        out["garbage_errors"] = errors[:20]
except cpython.UnsupportedPython as exc:
    out["unsupported"] = str(exc)
except Exception:
    out["error"] = traceback.format_exc()
with open(os.environ["FW_OUT"], "w") as f:
    json.dump(out, f, indent=1)
