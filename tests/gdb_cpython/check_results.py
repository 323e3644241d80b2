"""Checks one inspect_driver.py result against what hang_locks.py really did.

usage: check_results.py EVENTS JSON MODE(plain|fork|child) VERSION DWARF(1|0) LABEL
Prints PASS/FAIL lines (one per check) for run_cpython_tests.sh to count.
"""
import json
import os
import re
import sys

events_path, json_path, mode, want_version, want_dwarf, label = sys.argv[1:7]


def _crashed(etype, value, tb):
    import traceback
    print("FAIL %s: the checker crashed: %s" % (label, "".join(
        traceback.format_exception_only(etype, value)).strip()))


sys.excepthook = _crashed
here = os.path.dirname(os.path.abspath(__file__))
script = os.path.join(here, "hang_locks.py")
marks = {}
for n, line in enumerate(open(script, encoding="utf-8"), 1):
    m = re.search(r"MARK:(\w+)", line)
    if m:
        marks[m.group(1)] = n
ev = {}
for line in open(events_path):
    if "=" in line:
        k, v = line.strip().split("=", 1)
        ev[k] = int(v)
try:
    res = json.load(open(json_path))
except (OSError, ValueError) as exc:
    res = {"error": "no result: %s" % exc}


def check(name, ok, detail=""):
    print("%s %s: %s%s" % ("PASS" if ok else "FAIL", label, name, "" if ok else " -- " + str(detail)))


if "error" in res or "unsupported" in res or "none" in res:
    check("inspect_process", False, res)
    sys.exit(0)
check("version", res["version_string"] == want_version, res["version_string"])
minor = int(want_version.split(".")[1])
want_source = "_Py_DebugOffsets" if minor >= 13 else "Py_Version" if minor >= 11 else "soname"
check("version source", res.get("version_source") == want_source, res.get("version_source"))
check("_Py_DebugOffsets used iff 3.13+", res.get("used_debug_offsets") == (minor >= 13),
      res.get("used_debug_offsets"))
check("_Py_DebugOffsets agree with the table", not res.get("debug_offsets_mismatch"),
      res.get("debug_offsets_mismatch"))
check("has_debug_info", res["has_debug_info"] == (want_dwarf == "1"), res["has_debug_info"])
threads = {t["ident"]: t for t in res["threads"]}
check("no swallowed errors", not res.get("errors"), res.get("errors"))
check("garbage pointers (%d) never raise" % res.get("garbage_checked", 0),
      res.get("garbage_checked", 0) > 20 and not res.get("garbage_errors"), res.get("garbage_errors"))


def top_script_frame(t):
    for fn, file, line in t["frames"]:
        if file and file.endswith("hang_locks.py"):
            return fn, line
    return None


def d(obj_key):
    return res["describe"].get(str(ev[obj_key]))


if mode in ("plain", "fork"):
    exp = {"holder_ident": ("Holder", "holder_body", "holder_wait"),
           "waiter_ident": ("Waiter-\u00fc", "waiter_body", "waiter_acquire")}
    if mode == "plain":
        exp["main_ident"] = ("MainThread", "<module>", "main_join")
    for key, (name, fn, mark) in exp.items():
        t = threads.get(ev[key])
        check("thread %s present" % name, t is not None, sorted(threads))
        if not t:
            continue
        check("thread %s name" % name, t["name"] == name, t["name"])
        check("thread %s frame" % name, top_script_frame(t) == (fn, marks[mark]),
              (top_script_frame(t), t["frames"][:3]))
    if int(want_version.split(".")[1]) >= 11:
        check("native tids", all(t["tid"] for t in threads.values()), [t["tid"] for t in threads.values()])
    # `with rl: with rl:` around the holder's wait: both blocks, innermost first, read from
    # the frame's block stack (3.8-3.10) or exception table (3.11+); its Event.wait()'s
    # Condition is one it waits in (releasing that Condition's lock, not rl)
    ht = threads.get(ev["holder_ident"])
    if ht is not None:
        cw, wh = ht["condition_waits"], ht["with_holds"]
        check("holder in Condition.wait", len(cw) == 1 and cw[0] not in (ev["rlock_id"], ev["lock_id"]), cw)
        # Event.wait itself is inside `with self._cond:` (Lib/threading.py)
        check("holder with blocks", len(wh) == 3 and wh[0][:2] == [cw[0] if cw else None, "wait"]
              and wh[1:] == [[ev["rlock_id"], "holder_body", marks["holder_wait"]]] * 2, wh)
    wt = threads.get(ev["waiter_ident"])
    if wt is not None:
        check("waiter with blocks", wt["with_holds"] == [] and wt["condition_waits"] == [],
              (wt["with_holds"], wt["condition_waits"]))
    r = d("rlock_id")
    check("rlock", r and r["python_type"] == "threading.RLock" and r["locked"]
          and r["owner_ident"] == ev["holder_ident"] and r["count"] == 2, r)
    lk = d("lock_id")
    check("lock", lk and lk["python_type"] == "threading.Lock" and lk["locked"] is True, lk)
    h = d("handler_lock_id")
    check("handler rlock", h and h["owner_ident"] == ev["holder_ident"] and h["count"] == 1, h)
    f1 = res["find"].get("%d:%d" % (ev["waiter_ident"], ev["lock_id"]))
    check("find lock in waiter", f1 and f1["address"] == ev["lock_id"], f1)
    f2 = res["find"].get("%d:%d" % (ev["holder_ident"], ev["handler_lock_id"]))
    check("find handler.lock in holder", f2 and f2["address"] == ev["handler_lock_id"]
          and (f2["found_in"] or "").startswith("Handler('handler-\\xe9').lock in "), f2)
    if mode == "plain":
        sp = threads.get(ev["spinner_ident"])
        check("spinner frame", sp and top_script_frame(sp) in
              (("spinner_body", marks["spin1"]), ("spinner_body", marks["spin2"])),
              sp and sp["frames"][:2])
        g = res["gil"]
        check("gil held by spinner", g and g["locked"] and g["holder_ident"] == ev["spinner_ident"]
              and sp and sp["holds_gil"] and sum(1 for t in threads.values() if t["holds_gil"]) == 1, g)
        streams = [s for s in res["streams"] if s]
        check("stdout buffer", any(s["python_type"] == "io.buffered" and
                                   s["found_in"] == "sys.stdout.buffer" for s in streams), streams)
elif mode == "stdout":
    m = threads.get(ev["main_ident"])
    check("stdout main frame", m and top_script_frame(m) == ("<module>", marks["main_print"]),
          m and m["frames"][:3])
    p = threads.get(ev["printer_ident"])
    check("stdout printer frame", p and top_script_frame(p) == ("printer_body", marks["printer_flush"])
          or p and top_script_frame(p) == ("printer_body", marks["printer_flush"] - 1),
          p and p["frames"][:3])
    b = d("stdout_buffer_id")
    check("stdout buffer owner", b and b["python_type"] == "io.buffered" and b["locked"] is True
          and b["owner_ident"] == ev["printer_ident"], b)
    f = res["find"].get("%d:%d" % (ev["main_ident"], ev["stdout_buffer_id"]))
    check("find stdout buffer from main", f and f["address"] == ev["stdout_buffer_id"]
          and f["found_in"] == "sys.stdout.buffer", f)
elif mode == "import":
    m = threads.get(ev["main_ident"])
    check("import main frame", m and top_script_frame(m) == ("<module>", marks["main_import"]),
          m and m["frames"][:4])
    check("import main innermost is importlib", m and m["frames"] and
          (m["frames"][0][1] or "").startswith("<frozen importlib._bootstrap"), m and m["frames"][:2])
    f = res["find"].get("%d:%d" % (ev["main_ident"], ev["modlock_wakeup_id"]))
    check("find module lock from main", f and f["address"] == ev["modlock_wakeup_id"]
          and (f["found_in"] or "").startswith("_ModuleLock('fw_slowmod').wakeup in "), f)
elif mode == "rawchild":  # child of a raw fork: GIL held by the vanished Spinner
    g = res["gil"]
    check("rawchild gil held by vanished spinner", g and g["locked"]
          and g["holder_ident"] == ev["spinner_ident"], g)
    sp = threads.get(ev["spinner_ident"])
    check("rawchild spinner tstate kept, holds gil", sp and sp["holds_gil"] is True, sp)
    m = threads.get(ev["main_ident"])
    check("rawchild main frame", m and top_script_frame(m) == ("<module>", marks["rawfork"]),
          m and m["frames"][:3])
    check("rawchild main does not hold gil", m and m["holds_gil"] is False, m)
else:  # child of the fork
    check("one thread", len(threads) == 1, sorted(threads))
    t = list(threads.values())[0] if threads else None
    check("child frame", t and top_script_frame(t) == ("<module>", marks["child_acquire"]),
          t and t["frames"][:3])
    check("child name", t and t["name"] == "MainThread", t and t["name"])
    lk = d("lock_id")
    check("child lock", lk and lk["locked"] is True, lk)
    f1 = res["find"].get("%d:%d" % (ev["main_ident"], ev["lock_id"]))
    check("find lock in child", f1 and f1["address"] == ev["lock_id"], f1)
    g = res["gil"]
    check("child gil free", g is not None and not g["locked"], g)
