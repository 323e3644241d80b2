"""The `forkwatch/1` JSON object (DESIGN.md §3), ASCII-only so it is always valid."""
import json

from .escape import json_str


def _clean(v):
    if isinstance(v, dict):
        return dict((k, _clean(x)) for k, x in v.items() if not k.startswith("_"))
    if isinstance(v, (list, tuple)):
        return [_clean(x) for x in v]
    if isinstance(v, (str, bytes)):
        return json_str(v)
    return v


def _frames_py(frames):
    return [{"function": f.get("function"), "file": f.get("file"), "line": f.get("line")} for f in frames or []]


def _person(d, holder=False):
    if d is None:
        return None
    out = {"tid": d.get("tid"), "name": d.get("name")}
    if holder:
        out["alive"] = d.get("alive")
        out["pid"] = d.get("pid")
    out["python_stack"] = _frames_py(d.get("python_stack"))
    out["native_stack"] = d.get("native_stack") or []
    if holder:
        out["source"] = d.get("source")
    return out


def report_object(r):
    obj = {
        "schema": "forkwatch/1",
        "pid": r.pid,
        "source": r.source,
        "verdict": r.verdict,
        "python": {"version": r.python.get("version"), "layout": r.python.get("layout")} if r.python else None,
        "agent": bool(r.agent),
        "threads": [{"tid": t["tid"], "name": t["name"], "state": t["state"],
                     "python_stack": _frames_py(t["python_stack"]), "native_stack": t["native_stack"]}
                    for t in r.threads],
        "findings": [],
        "summary": r.summary,
        "notes": list(r.notes),
    }
    if getattr(r, "shared_locks", None):
        obj["shared_locks"] = list(r.shared_locks)
    if getattr(r, "children", None):
        obj["children"] = [{"pid": k["pid"], "verdict": k["verdict"], "summary": k["summary"]}
                           for k in r.children]
    for f in r.findings:
        fo = {"kind": f["kind"], "summary": f["summary"], "waiter": _person(f.get("waiter")),
              "lock": f.get("lock"), "holder": _person(f.get("holder"), holder=True), "advice": f.get("advice")}
        if "cycle" in f:
            fo["cycle"] = f["cycle"]
        if "_lost" in f:
            fo["lost"] = f["_lost"]
        fo["evidence"] = [{"id": e["id"], "text": e["text"]} for e in f.get("evidence") or []]
        obj["findings"].append(fo)
    return _clean(obj)


def render(r):
    return json.dumps(report_object(r), ensure_ascii=True, sort_keys=False)


def render_many(reports):
    return json.dumps([report_object(r) for r in reports], ensure_ascii=True)
