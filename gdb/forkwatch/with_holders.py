"""Holders of ownerless threading.Locks inferred from `with` blocks (issue 19, part 3).

A `threading.Lock` records no owner. A live thread whose frame is inside `with lock:` (or
`with cond:` for a Condition built on that lock) holds it: CPython keeps the context
manager on the frame's value stack for the whole block (cpython/with_blocks.py). The
holder found this way is marked inferred and carries evidence; `_cycles` in analysis.py
then sees the edge like any other, so an ABBA over two plain Locks is a `deadlock`.

Not seen: a lock taken by an explicit `lock.acquire()` (no trace on the stack: no holder
is named then, never a wrong one); a lock released by hand inside its `with` block.
A thread inside Condition.wait() does not hold that Condition's lock (wait released it).
"""
import os

from . import escape

EVIDENCE_ID = "with-block"


def _holds(c, pt):
    """[(WithHold, lock object it took)] of PyThread pt, minus what a Condition.wait() in it
    released; read once per thread and analysis (a waiter per thread would read them again)."""
    cache = c.__dict__.setdefault("_with_holds", {})
    key = id(pt)
    if key in cache:
        return cache[key]
    proc = c.proc
    holds, notes = proc.with_holds(pt)
    for n in notes:
        if n not in c.r.notes:
            c.r.notes.append(n)
    released = set()
    for cond in proc.condition_waits(pt):
        released.add(cond)
        inner = proc.reader.attr(cond, "_lock")
        if inner:
            released.add(inner)
    out = []
    for h in holds:
        took = _lock_taken(c, h.manager)
        if h.manager not in released and took not in released:
            out.append((h, took))
    cache[key] = out
    return out


def _lock_taken(c, manager):
    """The object whose lock `with manager:` takes: a threading.Condition's _lock, else the
    manager itself (a Lock, or anything else, which then matches no Lock)."""
    r = c.proc.reader
    if r.safe_type_name(manager) == "Condition":
        return r.attr(manager, "_lock") or manager
    return manager


def find(c, t, pyobj):
    """(holder thread dict, evidence dict) for waiter t blocked on the threading.Lock pyobj
    (a cpython PyLock) when exactly one live thread is inside a `with` block on it; else None."""
    if c.proc is None or pyobj is None or getattr(pyobj, "python_type", None) != "threading.Lock":
        return None
    lock_obj = pyobj.address
    found = []
    for x in c.r.threads:
        pt = x.get("_py")
        if pt is None:
            continue
        for h, took in _holds(c, pt):
            if took == lock_obj:
                found.append((x, h))
                break
    if len(found) != 1:
        return None  # none, or several: a hand-made release inside a block; name nobody
    x, h = found[0]
    where = "%s:%s" % (escape.term(os.path.basename(h.file or "?")), h.line if h.line is not None else "?")
    text = "thread %s (%s)'s frame %s (%s) is inside a `with` block on threading.Lock 0x%x" % (
        escape.term(x.get("name")), x["tid"], escape.term(h.function), where, lock_obj)
    return x, {"id": EVIDENCE_ID, "text": text, "_where": where, "_thread": x.get("name")}


def annotate_cycle(f, locks):
    """A cycle finding whose edges came (some or all) from `with` blocks: say so in the
    summary. (The evidence is already there: each such edge's holder carries it, and the cycle
    finding collects its edges' evidence, analysis.py.)"""
    ev = [l["_with"] for l in locks if l.get("_with")]
    if not ev:
        return
    sites = ", ".join("%s at %s" % (escape.term(e["_thread"]), e["_where"]) for e in ev)
    if len(ev) == len(locks):
        f["summary"] += " (the holders are inferred from `with` blocks, as a threading.Lock records " \
                        "no owner: %s)" % sites
    else:
        f["summary"] += " (%d of the holders are inferred from `with` blocks, as a threading.Lock " \
                        "records no owner: %s)" % (len(ev), sites)
