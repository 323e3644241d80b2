"""Builds the findings and the verdict from the registry, the native threads, glibc lock
state and (when available) the CPython reader. Reads memory only."""
import os
import re

import gdb

from . import advice
from . import agent_registry
from . import glibc_locks
from . import glibc_threads
from . import import_locks
from . import memory
from . import native_threads
from . import pool_facts
from . import process_info
from . import process_maps
from . import shared_mappings
from . import symbols
from . import with_holders
from .escape import to_text

SEVERITY = ["fork-deadlock", "gil-held-across-fork", "deadlock", "blocked-forever", "orphaned-lock", "lost-task",
            "no-deadlock"]


def _ev(ident, text):
    """One piece of evidence a finding rests on: what was read, where (issue 19: every finding
    names its evidence; tests check that no claim goes beyond it)."""
    return {"id": ident, "text": text}


def _advice(c, key, **params):
    """The advice for `key` that fits the interpreter in front of us (advice.json)."""
    version = (c.r.python or {}).get("version") if c is not None else None
    return advice.text(key, version, **params)


class Report(object):
    def __init__(self):
        self.pid = None
        self.source = "live"
        self.verdict = "no-deadlock"
        self.python = None
        self.python_debug_info = None
        self.agent = False
        self.threads = []        # list of dicts (JSON threads, plus private keys starting with '_')
        self.findings = []
        self.locks = []          # for `forkwatch locks`
        self.forks = []
        self.notes = []
        self.shared_locks = []   # process-shared locks waited on (shared_mappings.SharedLock.as_json())
        self.pool_waits = []     # threads waiting on multiprocessing.Pool results (pool_facts; lost_tasks.py)
        self.summary = ""
        self.registry = None
        self.process = None


def _py_frames(frames):
    out = []
    for f in frames or []:
        out.append({"function": getattr(f, "function", None), "file": getattr(f, "file", None),
                    "line": getattr(f, "line", None)})
    return out


def _note_unreadable_python(r, proc):
    """The CPython reader stops quietly at a bad read (a damaged core): when a thread's native
    stack runs the eval loop but no Python stack (or a frame without function/file) came
    out, say so, so that a verdict built without that state is marked partial."""
    if proc is None:
        return
    bad = []
    for t in r.threads:
        evals = any("_PyEval_EvalFrame" in (f.get("function") or "") for f in t["native_stack"])
        py = t["python_stack"]
        if (evals and not py) or any(not f.get("function") or not f.get("file") for f in py):
            bad.append(str(t["tid"]))
    if bad or getattr(proc, "errors", None):
        r.notes.append("Python state partly unreadable (damaged?)%s: partial analysis, a verdict may be missed"
                       % (" for thread(s) " + ", ".join(bad[:8]) if bad else ""))


def _symbolise(addrs):
    out = []
    for a in addrs:
        fn, mod = symbols.function_of(a - 1 if a else a)
        out.append({"function": fn, "module": mod, "address": "0x%x" % a})
    return out


def _acquisition_site(call_site, function=None):
    """Where a holder took a lock, as the agent recorded it for that acquisition: its call site
    only. The agent's pooled stacks are kept per call site (the first stack seen there): for a
    call site shared by many callers (CPython's PyThread_acquire_lock_timed serves every Python
    lock) that is another thread's stack from another time (issue 19), so it is never shown."""
    if not call_site:
        return []
    stack = _symbolise([call_site])
    if function:
        stack[0]["function"] = function
    return stack


def _python_package_note(pinfo):
    exe = os.path.basename(pinfo.executable or "")
    m = re.match(r"python(\d)\.(\d+)", exe)
    ver = "%s.%s" % (m.group(1), m.group(2)) if m else None
    if ver is None:
        try:
            out = gdb.execute("info sharedlibrary", to_string=True)
            m = re.search(r"libpython(\d)\.(\d+)", out)
            if m:
                ver = "%s.%s" % (m.group(1), m.group(2))
        except (gdb.error, RuntimeError):
            pass
    return ver


def _load_cpython(report, pinfo):
    try:
        from . import cpython  # noqa: F401
    except Exception as e:  # the package may not be there yet
        report.notes.append("Python analysis unavailable (%s)" % (str(e).splitlines()[0] if str(e) else type(e).__name__))
        return None
    try:
        proc = cpython.inspect_process()
    except Exception as e:
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        if type(e).__name__ == "UnsupportedPython":
            report.notes.append("unknown Python version: %s (C-level analysis only)" % msg)
        else:
            report.notes.append("Python state could not be read: %s (C-level analysis only)" % msg)
        ver = _python_package_note(pinfo)
        if ver and type(e).__name__ != "UnsupportedPython":
            report.notes.append("no debug info for libpython? install python%s-dbg" % ver)
        return None
    if proc is None:
        ver = _python_package_note(pinfo)
        if ver:
            report.notes.append("no debug info for libpython: install python%s-dbg (C-level analysis only)" % ver)
        return None
    try:
        report.python = {"version": proc.version_string, "layout": proc.layout_source}
        report.python_debug_info = bool(proc.has_debug_info)
        if getattr(proc, "best_effort", False):
            report.python["layout"] = "_Py_DebugOffsets (best effort)"
            report.notes.append("CPython %s is newer than forkwatch knows: best-effort analysis "
                                "through its _Py_DebugOffsets" % proc.version_string)
    except Exception:
        report.python = {"version": None}
    return proc


class _Ctx(object):
    pass


def analyze(parent=None):
    """`parent`: process_info.ParentFacts of the parent's core when several cores of one job are
    analysed together (None otherwise)."""
    r = Report()
    symbols.reset_caches()
    registry = None
    try:
        # No symbol of that name anywhere (GDB's expression lookup tries every object
        # file's full and minimal symbols, 5-40 ms): no agent, so skip find(), whose
        # `info variables` scan of all debug info costs 0.3 s to find nothing.
        if symbols.minsym_address(agent_registry.SYMBOL):
            registry = agent_registry.find()
    except Exception as e:
        r.notes.append("registry damaged: %s" % e)
    if registry is not None:
        r.agent = True
        r.notes.extend(registry.notes)
        if not registry.valid:
            registry_ok = None
        else:
            registry_ok = registry
            flags = registry.flags
            if "enabled" not in flags:
                r.notes.append("the forkwatch agent is loaded but disabled%s"
                               % (" (secure-exec)" if "secure-exec" in flags else ""))
            full = [f for f in flags if f.endswith("-full")]
            if full:
                r.notes.append("the agent's tables overflowed (%s): some locks or stacks were not recorded"
                               % ", ".join(full))
    else:
        registry_ok = None
    r.registry = registry_ok
    pinfo = process_info.gather(registry, parent)
    r.process = pinfo
    r.pid = pinfo.pid
    r.source = pinfo.source
    natives = native_threads.collect(registry_ok)
    proc = None
    if _looks_like_python(pinfo):
        proc = _load_cpython(r, pinfo)
    else:
        try:
            proc = _load_cpython_quiet()
        except Exception:
            proc = None
    pythreads = []
    if proc is not None:
        try:
            pythreads = list(proc.threads())
        except Exception as e:
            r.notes.append("Python threads could not be read: %s" % e)
        # proc.threads() walks every thread's frames, and find_lock_object() (one call per
        # blocked thread) and import_locks call it again: 100 waiters x 100 threads = 10 100
        # frame walks, 3 of 5 s on the 100-thread bench child. The inferior does not run
        # during one analysis and proc is made afresh by each analyze(): one walk serves all.
        try:
            proc.threads = lambda _t=tuple(pythreads): list(_t)
        except (AttributeError, TypeError):
            pass
    if pythreads:
        # read now, while the process is attached: --tree concludes on the whole tree later
        try:
            r.pool_waits = pool_facts.pending_results(proc, pythreads)
        except Exception as e:
            r.notes.append("multiprocessing.Pool results could not be read: %s" % e)
    gil = None
    if proc is not None:
        try:
            gil = proc.gil()
        except Exception as e:
            r.notes.append("GIL state could not be read: %s" % e)

    c = _Ctx()
    c.r, c.reg, c.proc, c.pinfo, c.gil = r, registry_ok, proc, pinfo, gil
    c.facts = process_maps.Facts(pinfo.pid, pinfo.source)
    c.tids = set(n.tid for n in natives)
    c.idents = dict((n.pthread, n) for n in natives if n.pthread)
    c.by_tid = dict((n.tid, n) for n in natives)
    c.py_by_tid = {}
    for pt in pythreads:
        nt = None
        ident = getattr(pt, "thread_ident", None)
        ntid = getattr(pt, "native_tid", None)
        if ident and ident in c.idents:
            nt = c.idents[ident]
        elif ntid and ntid in c.by_tid:
            nt = c.by_tid[ntid]
        if nt is not None:
            c.py_by_tid[nt.tid] = pt
    c.py_orphans = [pt for pt in pythreads if pt not in c.py_by_tid.values()]
    c.glibc = glibc_threads.read()
    c.fork_child, c.fork_evidence = _fork_evidence(c)

    # threads
    for n in natives:
        pt = c.py_by_tid.get(n.tid)
        regt = registry_ok.thread_by_tid(n.tid) if registry_ok else None
        name = (getattr(pt, "name", None) if pt is not None else None) or n.name or (regt.name if regt else None)
        if name is None and n.tid == pinfo.pid and pinfo.core_command:
            name = pinfo.core_command
        t = {"tid": n.tid, "name": name, "state": n.state,
             "python_stack": _py_frames(getattr(pt, "frames", None)) if pt is not None else [],
             "native_stack": [f.as_json() for f in n.frames],
             "_native": n, "_py": pt, "_wait": n.wait}
        r.threads.append(t)
    c.tthreads = dict((t["tid"], t) for t in r.threads)
    _note_unreadable_python(r, proc)

    # locks waited on, and who holds them
    edges = {}
    pending = []
    for t in r.threads:
        n = t["_native"]
        w = n.wait
        gil_like = (n.state == "blocked" and w is not None and w.kind == "condition" and t["_py"] is not None
                    and c.gil is not None and getattr(c.gil, "locked", False))
        if n.state == "waiting-for-gil" or gil_like:
            try:
                h = _gil_holder(c, t)
            except (memory.MemoryReadError, gdb.error, RuntimeError, ValueError, TypeError, AttributeError) as e:
                r.notes.append("thread %s: the GIL holder could not be analysed (%s)" % (t["tid"], e))
                h = None
            if gil_like and (h is None or h.get("_live")):
                continue     # an ordinary condition wait (take_gil not recognised without symbols)
            if gil_like:
                n.state = t["state"] = "waiting-for-gil"
            if h is not None:
                lock = {"address": None, "kind": "gil", "python_type": None}
                pending.append((t, lock, h, None))
                if h.get("_live"):
                    lock["_evidence"] = h.get("_evidence") or []
                    edges[t["tid"]] = (h["tid"], lock)
            continue
        if n.state != "blocked-on-lock" or w is None or not w.lock_address:
            continue
        try:
            lock, h, extra = _lock_and_holder(c, t, w)
        except (memory.MemoryReadError, gdb.error, RuntimeError, ValueError, TypeError, AttributeError,
                KeyError, IndexError) as e:
            r.notes.append("thread %s: the lock at 0x%x could not be analysed (%s)" % (t["tid"], w.lock_address, e))
            continue
        t["_lock"] = lock
        r.locks.append(dict(lock, _holder=h, _waiter=t["tid"]))
        if h is not None:
            pending.append((t, lock, h, extra))
            if h.get("_live") and h.get("tid") is not None:
                lock["_evidence"] = h.get("_evidence") or []
                edges[t["tid"]] = (h["tid"], lock)

    # findings: fork-related and orphaned ones
    for t, lock, h, extra in pending:
        kind = h.get("_kind")
        if kind in (None, "live"):
            continue
        r.findings.append(_finding(c, kind, t, lock, h))

    # native thread pools lost in the fork (a thread waits in the runtime for pool threads)
    if c.fork_child:
        for t in r.threads:
            f = _thread_pool_finding(c, t)
            if f is not None:
                r.findings.append(f)

    # cycles among live threads
    for cyc in _cycles(edges):
        first = cyc[0]
        t = c.tthreads[first]
        nxt_tid, lock = edges[first]
        h_t = c.tthreads.get(nxt_tid)
        holder = _live_holder_dict(c, h_t, "inferred", lock.get("_evidence") or [])
        where = None
        if c.reg is not None and lock.get("_addr"):
            for rt, hh in c.reg.holders_of(lock["_addr"]):
                if rt.tid == nxt_tid:
                    stack = _acquisition_site(hh.call_site)
                    holder["native_stack"] = stack
                    holder["source"] = "agent"
                    where = stack[0]["function"] if stack else None
        parts = []
        for i, tid in enumerate(cyc):
            tt = c.tthreads[tid]
            ntid, lk = edges[tid]
            parts.append("%s waits for %s held by %s" % (_who(tt), _lock_words(lk), _who(c.tthreads[ntid])))
        evidence = [_ev("wait-cycle", "each thread of the cycle is blocked, without a timeout, on a lock whose "
                                      "holder is the next one")]
        for tid in cyc:
            for e in edges[tid][1].get("_evidence") or []:
                if e not in evidence:
                    evidence.append(e)
        f = {"kind": "deadlock", "summary": "wait cycle among live threads: " + "; ".join(parts),
             "waiter": _waiter_dict(t), "lock": _public_lock(lock), "holder": holder,
             "advice": _advice(c, "deadlock"), "cycle": list(cyc), "_where": where, "evidence": evidence}
        if len(cyc) == 1:
            f["summary"] = "%s waits for %s that only it could release: it waits on itself" % (_who(t), _lock_words(lock))
            f["advice"] = _advice(c, "self-deadlock")
        with_holders.annotate_cycle(f, [edges[tid][1] for tid in cyc])
        r.findings.append(f)

    # registry: locks held at the latest fork and per-thread held entries (for `locks`)
    if registry_ok is not None:
        _registry_locks(c)
        r.forks = registry_ok.forks

    _child_wait_note(c)
    _fold_condition_waiters(r)

    r.findings.sort(key=lambda f: SEVERITY.index(f["kind"]))
    r.verdict = r.findings[0]["kind"] if r.findings else "no-deadlock"
    if not r.findings:
        r.summary = "no thread is blocked for ever that forkwatch can prove: " + "; ".join(
            "%s %s" % (_who(t), _doing(t)) for t in r.threads)
    else:
        r.summary = r.findings[0]["summary"]
    return r


def waits_for_child(t):
    """True when thread dict `t` waits for a child process (waitpid, multiprocessing join,
    subprocess's Popen waiting for the exec of a forked child)."""
    w = t["_native"].wait
    if w is not None and "child" in (getattr(w, "detail", None) or ""):
        return True
    for f in (t.get("python_stack") or [])[:6]:
        fl = (f.get("file") or "").replace("\\", "/")
        fn = f.get("function")
        if ("/multiprocessing/" in fl and fn in ("join", "wait", "poll", "_wait")) or \
                (fl.endswith("/subprocess.py") and fn in ("_execute_child", "wait", "_wait")):
            return True
    return False


def _live_children(pid):
    kids = set()
    try:
        for task in os.listdir("/proc/%d/task" % pid):
            try:
                with open("/proc/%d/task/%s/children" % (pid, task)) as f:
                    kids.update(int(x) for x in f.read().split())
            except (OSError, ValueError):
                pass
    except OSError:
        pass
    return sorted(kids)


def _child_wait_note(c):
    """Live: a thread waiting for child processes -> name them and suggest --tree."""
    if c.pinfo.source != "live" or not c.r.pid:
        return
    waiters = [t for t in c.r.threads if waits_for_child(t)]
    if not waiters:
        return
    kids = _live_children(c.r.pid)
    if not kids:
        return
    c.r.notes.append("%s waits for child process%s %s: run `forkwatch attach --tree %d` to diagnose %s"
                     % (", ".join(_who(t) for t in waiters[:3]), "es" if len(kids) > 1 else "",
                        ", ".join(str(k) for k in kids[:8]), c.r.pid, "them" if len(kids) > 1 else "it"))


def _looks_like_python(pinfo):
    exe = os.path.basename(pinfo.executable or "")
    if exe.startswith("python"):
        return True
    try:
        out = gdb.execute("info sharedlibrary", to_string=True)
        return "libpython" in out
    except (gdb.error, RuntimeError):
        return False


def _load_cpython_quiet():
    from . import cpython
    return cpython.inspect_process()


def _fork_evidence(c):
    """(is a fork child, [evidence]) from what the target carries: the agent's registry, glibc's
    descriptors of threads lost in the fork, CPython thread states without a thread, a fork
    start method on a Python stack; and, live, a parent proven to be the parent (same
    libraries at the same addresses: process_info.parent_is_proven)."""
    ev = []
    if c.reg is not None and c.reg.is_fork_child:
        ev.append(_ev("agent-fork-child", "the agent recorded this process as a fork child (fork #%d of pid %s)"
                      % (c.reg.header.get("born_of_fork_id"), c.reg.header.get("parent_pid"))))
    lost = c.glibc.lost_in_fork()
    if lost:
        ev.append(_ev("glibc-lost-threads",
                      "glibc still describes %d thread%s that never exited (descriptor%s %s, cleared at fork): "
                      "%s in fork()" % (len(lost), "" if len(lost) == 1 else "s", "" if len(lost) == 1 else "s",
                                         ", ".join("0x%x" % d.address for d in lost[:6]),
                                         "it was lost" if len(lost) == 1 else "they were lost")))
    p = c.pinfo
    if p.same_layout_as_parent and p.parent_facts is not None:
        ev.append(_ev("parent-core", "the core of its parent (pid %s, %s) has the C library at the same "
                                     "address (forked, no exec)" % (p.parent_pid, p.parent_facts.core_file)))
    elif p.same_layout_as_parent:
        ev.append(_ev("parent-layout", "its parent (pid %s) has the same libraries at the same addresses "
                                       "(forked, no exec)" % p.parent_pid))
    if c.py_orphans and all(getattr(pt, "thread_ident", None) for pt in c.py_orphans):
        ev.append(_ev("python-thread-states", "%d Python thread state(s) have no thread here (a fork that did "
                                              "not go through os.fork())" % len(c.py_orphans)))
    # Python frames that only run in a forked child (works from a core whose parent is gone)
    for pt in c.py_by_tid.values():
        for fr in getattr(pt, "frames", None) or []:
            fn, path = getattr(fr, "function", None), getattr(fr, "file", None) or ""
            if fn == "_launch" and path.endswith("multiprocessing/popen_fork.py"):
                ev.append(_ev("fork-start-method", "a thread runs multiprocessing's fork start method in the child "
                                                   "(popen_fork.Popen._launch on its Python stack)"))
                return True, ev
    return bool(ev), ev


def _evidence_words(evidence):
    return "; ".join(e["text"] for e in evidence)


def _owner_vanished_in_fork(c, owner_tid):
    """Evidence that a TID not present here was a thread of our parent (its proven live parent,
    or its parent's core given with this one, still has that thread)."""
    p = c.pinfo
    return bool(p.parent_tids and owner_tid in p.parent_tids)


def _who(t):
    if t is None:
        return "?"
    return "thread %s (%s)" % (t["tid"], t["name"] if t["name"] is not None else "?")


def _lock_words(lock):
    kind = lock.get("kind")
    if kind == "gil":
        return "the GIL"
    where = lock.get("_found_in")
    if kind == "io.buffered" and where and where.startswith("sys."):
        kind = "io.buffered (%s)" % where
    if lock.get("address"):
        return "%s at %s" % (kind, lock["address"])
    return kind


def _doing(t):
    n = t["_native"]
    w = n.wait
    if n.state == "sleeping":
        return "is sleeping (%s)" % (w.detail if w else "?")
    if n.state == "blocked-on-lock" and w is not None and t.get("_shared") is not None:
        how = "another process can release it" if t["_shared"].checked else \
            "releasers not checkable from a core"
        return "waits on a process-shared %s at 0x%x (%s)" % (w.kind, w.lock_address or 0, how)
    if n.state == "blocked-on-lock" and w is not None:
        return "waits on %s at 0x%x (held by a live thread)" % (w.kind, w.lock_address or 0)
    if n.state == "waiting-for-gil":
        return "waits for the GIL"
    if n.state == "blocked":
        return "is blocked in %s" % (w.detail or w.kind if w else "a system call")
    return "is running"


def _waiter_dict(t):
    return {"tid": t["tid"], "name": t["name"], "python_stack": t["python_stack"],
            "native_stack": t["native_stack"]}


def _public_lock(lock):
    return {"address": lock.get("address"), "kind": lock.get("kind"), "python_type": lock.get("python_type")}


def _live_holder_dict(c, ht, source, evidence=()):
    if ht is None:
        return None
    return {"tid": ht["tid"], "name": ht["name"], "alive": True, "pid": c.r.pid,
            "python_stack": ht["python_stack"], "native_stack": ht["native_stack"], "source": source,
            "_live": True, "_kind": "live", "_where": None, "_evidence": list(evidence)}


def _py_lock_object(c, t, address):
    if c.proc is None or not address:
        return None
    pt = t["_py"]
    try:
        if pt is not None:
            o = c.proc.find_lock_object(pt.thread_ident, address)
            if o is not None:
                return o
    except Exception as e:
        c.r.notes.append("Python lock object lookup failed: %s" % e)
    return None


def _holder_from_agent_orphan(c, e, lock):
    reg = c.reg
    fork = reg.fork_by_id(reg.header.get("born_of_fork_id")) or reg.latest_fork()
    pyt = reg.py_thread(index=e.py_thread) if e.py_thread >= 0 else reg.py_thread(ident=e.holder_pthread)
    stack = _acquisition_site(e.call_site, e.call_site_function)
    where = e.call_site_function or (stack[0]["function"] if stack else None)
    name = (pyt.name if pyt is not None and pyt.name else None) or e.holder_name or None
    tid = e.holder_tid
    inferred = None
    candidates = None
    if not tid and pyt is None and e.kind_name == "pymutex":
        # A CPython 3.13.1+ PyMutex records no owner (Include/cpython/lock.h): the agent only
        # knows it was locked at the fork. When exactly one thread was lost in that fork, it
        # is the likely holder, but the forking thread (this child's waiter) may have locked
        # it itself before the fork, and the byte cannot tell: the summary says both. With
        # several lost threads the holder is one of them (or the waiter): we list them.
        lost = [rt for rt in reg.threads if rt.state == agent_registry.THREAD_VANISHED and rt.tid]
        def py_of(rt):
            for cand in reg.py_threads:
                if cand.tid == rt.tid or (rt.pthread_id and cand.thread_ident == rt.pthread_id):
                    return cand
            return None
        if len(lost) == 1:
            tid, name = lost[0].tid, lost[0].name or None
            pyt = py_of(lost[0])
            if pyt is not None:
                name = pyt.name or name
            inferred = "the only thread lost in the fork, unless this thread took it itself before the fork"
        elif lost:
            candidates = [(getattr(py_of(rt), "name", None) or rt.name or None, rt.tid) for rt in lost]
    return {"tid": tid or None, "name": name, "alive": False, "_inferred": inferred,
            "_candidates": candidates,
            "pid": (fork.parent_pid if fork else None) or reg.header.get("parent_pid") or None,
            "python_stack": pyt.frames if pyt is not None else [], "native_stack": stack,
            "source": "agent", "_kind": "fork-deadlock", "_live": False, "_where": where,
            "_evidence": [_ev("agent-orphan-record", "the agent recorded this lock as held at the fork by %s"
                              % ("thread %s (%s)" % (tid, name or "?") if tid else
                                 "a thread lost in the fork (a PyMutex records no owner)"))]}


def _lock_and_holder(c, t, w):
    """(lock dict, holder dict or None, extra)."""
    addr = w.lock_address
    lock = {"address": "0x%x" % addr, "kind": w.kind, "python_type": None, "_addr": addr,
            "_state": None, "_description": None, "_mode": w.mode}
    pyobj = _py_lock_object(c, t, addr)
    owner_tid = None
    owner_ident = None
    pshared = None
    if pyobj is not None:
        pt = getattr(pyobj, "python_type", None)
        if pt:
            lock["kind"] = pt
        lock["python_type"] = getattr(pyobj, "type_name", None) or pt
        lock["_description"] = getattr(pyobj, "description", None)
        lock["_found_in"] = getattr(pyobj, "found_in", None)
        owner_ident = getattr(pyobj, "owner_ident", None)
    try:
        if w.kind in ("pthread_mutex", "c11_mtx"):
            m = glibc_locks.read_mutex(addr)
            lock["_state"] = "locked" if m.locked else "unlocked"
            owner_tid = m.owner_tid
            pshared = m.pshared
        elif w.kind == "pthread_rwlock":
            rw = glibc_locks.read_rwlock(addr)
            lock["_state"] = ("write-locked" if rw.write_locked else
                              ("%d readers" % rw.readers if rw.readers else "unlocked"))
            owner_tid = rw.writer_tid
            pshared = bool(rw.shared)
        elif w.kind == "semaphore":
            s = glibc_locks.read_sem(addr)
            lock["_state"] = "value %d, %d waiters" % (s.value, s.waiters)
            pshared = s.pshared
        elif w.kind in ("pymutex", "parking_lot") and pyobj is None:
            # CPython 3.13+ PyMutex byte: 1 locked, 2 has parked waiters (Include/cpython/lock.h)
            bits = memory.read_u8(addr)
            lock["_state"] = "locked" if bits & 1 else "unlocked"
    except memory.MemoryReadError as e:
        c.r.notes.append("lock at 0x%x unreadable: %s" % (addr, e))

    # 0. a lock in a shared mapping is one object in every process that maps it: no orphan of
    # a fork (the parent's thread still runs, in the same memory), lost only when no live process
    # that maps it can release it (shared_mappings.py).
    if owner_ident and owner_ident in c.idents:
        owner_tid = c.idents[owner_ident].tid
    sl = _shared_lock(c, w, lock, pshared, owner_tid)
    if sl is not None:
        t["_shared"] = sl
        return lock, _shared_holder(c, t, w, lock, sl, owner_tid), None

    # 1. agent's orphan records
    if c.reg is not None:
        e = c.reg.orphan_for(addr)
        if e is not None and e.kind_name == "pymutex" and not e.holder_tid and e.py_thread < 0 and \
                _python_wait_shape(t) == "condition":
            # An ownerless PyMutex record (3.13.1+) says only that no thread left here can
            # release the lock. Condition.wait allocates its waiter lock and acquires it itself
            # before blocking on it (Lib/threading.py): not a lock held at the fork, so no lost
            # thread is its holder; what it waits for is a notify (below, as without the agent).
            e = None
        if e is not None:
            lock["_held_at_fork"] = True
            return lock, _holder_from_agent_orphan(c, e, lock), None
        # 2. agent's per-thread held entries
        for rt, h in c.reg.holders_of(addr):
            if rt.tid == t["tid"] and h.kind == 4:
                continue  # a Condition waiter holding and acquiring its own semaphore
            if rt.state == agent_registry.THREAD_LIVE and rt.tid in c.tids:
                ht = c.tthreads.get(rt.tid)
                hd = _live_holder_dict(c, ht, "agent", [_ev("agent-held-entry", "the agent recorded thread %s "
                                                                  "taking this lock" % rt.tid)])
                stack = _acquisition_site(h.call_site)
                hd["_where"] = stack[0]["function"] if stack else None
                return lock, hd, None
            if rt.state == agent_registry.THREAD_VANISHED:
                if any(e.lock_addr == addr and e.orphan_state == agent_registry.ORPHAN_REINITIALISED
                       for e in c.reg.fork_held):
                    continue  # re-initialised in the child: that old hold no longer counts
                fork = c.reg.latest_fork()
                stack = _acquisition_site(h.call_site)
                return lock, {"tid": rt.tid, "name": rt.name or None, "alive": False,
                              "pid": fork.parent_pid if fork else c.pinfo.parent_pid,
                              "python_stack": [], "native_stack": stack, "source": "agent",
                              "_kind": "fork-deadlock", "_live": False,
                              "_where": stack[0]["function"] if stack else None,
                              "_evidence": [_ev("agent-held-entry", "the agent recorded thread %s taking this "
                                                "lock; that thread vanished in the fork" % rt.tid)]}, None
    # 3. the lock's own owner field (mutex/rwlock TID, RLock/io owner ident)
    if owner_ident and owner_ident in c.idents:
        owner_tid = c.idents[owner_ident].tid
    if owner_tid is not None:
        field = _ev("lock-owner-field", "the lock's owner field names thread %s" % owner_tid)
        if owner_tid in c.tids:
            return lock, _live_holder_dict(c, c.tthreads.get(owner_tid), "inferred", [field]), None
        vanished = _owner_vanished_in_fork(c, owner_tid) or c.fork_child
        field["text"] += ", which is not a thread of this process"
        return lock, _gone_holder(c, owner_tid, None, "fork-deadlock" if vanished else "orphaned-lock",
                                  [field]), None
    if owner_ident:
        # an RLock's / io.Buffered's owner is the holder's pthread_self(), which is the address of
        # its glibc descriptor: glibc tells whether that thread was lost in a fork or ended
        d = c.glibc.by_address(owner_ident)
        field = _ev("lock-owner-field", "the lock's owner field names pthread 0x%x, %s" % (owner_ident, (
            "a thread glibc describes as running at the fork and not here: lost in the fork"
            if d is not None and d.lost_in_fork else
            "a thread that has ended (glibc marked it exiting)" if d is not None and d.exited else
            "no thread of this process")))
        # (a descriptor lost in the fork makes c.fork_child true: _fork_evidence's glibc-lost-threads)
        kind = "fork-deadlock" if c.fork_child and not (d is not None and d.exited) else "orphaned-lock"
        return lock, _gone_holder(c, None, owner_ident, kind, [field]), None
    # 4. no owner recorded (threading.Lock, semaphore): can anyone release it?
    # A timed wait ends by itself; other threads in timed waits may still release it.
    if w.timed:
        return lock, None, None
    # 4a. a live thread inside a `with` block on this Lock holds it (inferred: with_holders.py)
    found = with_holders.find(c, t, pyobj)
    if found is not None:
        lock["_with"] = found[1]
        return lock, _live_holder_dict(c, found[0], "inferred", [
            dict((k, v) for k, v in found[1].items() if not k.startswith("_"))]), None
    others = [x for x in c.r.threads if x["tid"] != t["tid"]
              and (x["_native"].state not in ("blocked-on-lock", "waiting-for-gil")
                   or (x["_native"].wait is not None and x["_native"].wait.timed))]
    if others:
        return lock, None, None
    if lock["_state"] and lock["_state"].startswith("value ") and not lock["_state"].startswith("value 0"):
        return lock, None, None
    alone = _ev("no-releaser", "no other thread here can release it (%s)" % (
        "this is the only thread" if len(c.r.threads) == 1 else
        "every other thread is blocked without a timeout"))
    if c.fork_child:
        h = _gone_holder(c, None, None, "fork-deadlock", [alone])
        h["_self_possible"] = True      # the lock records no owner: the forking thread may have taken it
        return lock, h, None
    if len(c.r.threads) == 1 and lock.get("python_type"):
        g = c.glibc
        if g.readable and not g.descriptors_other_than(t["tid"]):
            # the only thread waits on a Python lock nobody else can release, and glibc
            # remembers no other thread this process ever ran: it waits on itself
            return lock, _live_holder_dict(c, t, "inferred", [alone, _ev(
                "glibc-no-other-thread", "glibc describes no other thread of this process, running, "
                                         "exited or lost in a fork")]), None
        # the lock records no owner and nothing tells who took it: blocked for ever, cause unknown
        ended = len(g.exited())
        why = ("glibc describes %d thread%s that ended" % (ended, "" if ended == 1 else "s")
               if g.readable else "glibc's thread lists could not be read (%s)" % g.why)
        h = _gone_holder(c, None, None, "blocked-forever", [alone, _ev("cause-unknown", (
            "a %s records no owner, no parent of this process could be checked, and %s: this thread may "
            "have taken it itself, or %s may have") % (lock.get("kind"), why, (
                "a thread that ended" if g.readable else "a thread lost in a fork, or one that ended")))])
        h["pid"] = None
        h["_ended_only"] = g.readable    # glibc shows no thread lost in a fork, only threads that ended
        return lock, h, None
    return lock, None, None


def _shared_lock(c, w, lock, pshared, owner_tid):
    """shared_mappings.SharedLock for a lock in a shared mapping (peers looked for when live),
    or None for a lock in this process's private memory."""
    addr = lock["_addr"]
    m = shared_mappings.find(c.facts.own_mappings(), addr)
    if not shared_mappings.is_shared(m):
        return None
    sl = shared_mappings.SharedLock(addr, lock.get("kind") or w.kind, m, pshared)
    key = shared_mappings.object_key(m)
    if c.pinfo.source == "live" and key is not None:
        sl.checked = True
        sl.peers = shared_mappings.peers(key, shared_mappings.object_offset(m, addr),
                                         c.facts.maps_by_pid(key), c.pinfo.pid)
        for p in sl.peers:
            threads = c.facts.threads(p.pid)
            if threads is None:
                continue        # gone meanwhile, or hidden: counted as one that may release it
            shared_mappings.classify(p, threads, process_maps.FUTEX_NR)
            if owner_tid and any(x.tid == owner_tid for x in threads):
                name = next(x.name for x in threads if x.tid == owner_tid)
                sl.holder = (p.pid, owner_tid, name, "named by the lock's owner field")
    return sl


def _shared_holder(c, t, w, lock, sl, owner_tid):
    """The holder dict for a wait on a process-shared lock: a live thread of this process
    (the lock's owner field), None (someone can release it, or a core cannot tell: a note
    says which), or a lost holder (no live process that maps it can release it)."""
    entry = sl.as_json()
    entry["waiter"] = t["tid"]
    c.r.shared_locks.append(entry)
    if owner_tid is not None and owner_tid in c.tids:
        return _live_holder_dict(c, c.tthreads.get(owner_tid), "inferred")
    others = [x for x in c.r.threads if x["tid"] != t["tid"]
              and (x["_native"].state not in ("blocked-on-lock", "waiting-for-gil")
                   or (x["_native"].wait is not None and x["_native"].wait.timed))]
    if not sl.lost or w.timed or others:
        note = "%s waits on %s" % (_who(t), shared_mappings.words(sl, process_maps.SYSCALL_NAMES))
        c.r.notes.append(note)
        entry.update(_sl=sl, _note=note, _who=_who(t), _site=_with_site(t["python_stack"]))
        return None
    h = _gone_holder(c, owner_tid, None, "orphaned-lock", [_ev(
        "shared-mapping", "the lock lies in a shared mapping; %s" % shared_mappings.lost_words(sl))])
    h["pid"] = None
    h["_shared"] = sl
    return h


_ACQUIRE_FRAMES = (("synchronize.py", "__enter__"), ("synchronize.py", "acquire"), ("threading.py", "acquire"),
                   ("threading.py", "__enter__"))


def _with_site(pystack):
    """(file, function) of the innermost Python frame that takes the lock (the caller of the
    lock's __enter__/acquire: `with self._rlock:` in multiprocessing's queues.py get), or None."""
    for i, f in enumerate(pystack[:3]):
        fl = f.get("file") or ""
        if any(fl.endswith(b) and f.get("function") == fn for b, fn in _ACQUIRE_FRAMES):
            continue
        return (fl, f.get("function")) if i > 0 and fl else None
    return None


def name_shared_holders(reports):
    """--tree: every process's threads are known. The holder of a process-shared lock that a
    thread waits on is, by inference, the thread of a process that maps it which is inside the
    same function (the same `with` block) and not waiting on the lock: named when exactly one
    thread fits (the worker reading the task pipe under the queue's read lock)."""
    by_pid = dict((r.pid, r) for r in reports if r.pid)
    for r in reports:
        for e in getattr(r, "shared_locks", []):
            sl, site = e.get("_sl"), e.get("_site")
            if sl is None or site is None or sl.holder is not None:
                continue
            fits = []
            for p in sl.peers:
                pr = by_pid.get(p.pid)
                if pr is None or p.threads is None:
                    continue
                waiting = set(x.tid for x in p.waiters)
                for t in pr.threads:
                    st = t.get("python_stack") or []
                    if t["tid"] in waiting or t.get("state") == "blocked-on-lock" or _with_site(st) is not None:
                        continue
                    at = [f for f in st if (f.get("file"), f.get("function")) == site]
                    if at:
                        fits.append((p.pid, t, at[0]))
            if len(fits) != 1:
                continue
            pid, t, f = fits[0]
            sl.holder = (pid, t["tid"], t.get("name"), "inferred: its thread is inside the same with block "
                         "(%s at %s:%s) and %s" % (site[1], os.path.basename(site[0]), f.get("line"), _doing(t)))
            e["holder"] = sl.as_json()["holder"]
            note = "%s waits on %s" % (e["_who"], shared_mappings.words(sl, process_maps.SYSCALL_NAMES))
            r.notes = [note if n == e["_note"] else n for n in r.notes]
            e["_note"] = note


def _gone_holder(c, tid, ident, kind, evidence=()):
    name = None
    pystack = []
    pyt = None
    if ident is not None:
        for pt in c.py_orphans:
            if getattr(pt, "thread_ident", None) == ident:
                pyt = pt
    if pyt is not None:
        name = getattr(pyt, "name", None)
        pystack = _py_frames(getattr(pyt, "frames", None))
        if tid is None:
            tid = getattr(pyt, "native_tid", None)
    evidence = list(evidence)
    pf = c.pinfo.parent_facts
    if tid is None and ident is not None and pf is not None and ident in pf.idents:
        tid = pf.idents[ident]
    if name is None and kind in ("fork-deadlock", "gil-held-across-fork"):
        got = _stopped_thread_object(c, tid, ident)
        if got is not None:
            name, native_id, how = got
            tid = tid if tid is not None else native_id
            evidence.append(_ev("python-thread-object", how))
    where_now = None
    if name is None and tid is not None and kind == "fork-deadlock":
        name = _parent_thread_name(c, tid)
        if pf is not None and tid in pf.threads:
            pystack_now, native_now = pf.stacks.get(tid, ([], []))
            where_now = _innermost_pyline(pystack_now) or _first_native_outside_libc(native_now)
            evidence.append(_ev("parent-core", "the parent's core (%s) has thread %s%s%s" % (
                pf.core_file, tid, " (%s)" % name if name else "",
                ", there in %s" % where_now if where_now else "")))
    return {"tid": tid, "name": name, "alive": False,
            "pid": c.pinfo.parent_pid if kind == "fork-deadlock" else c.r.pid,
            "python_stack": pystack, "native_stack": [], "source": "inferred",
            "_kind": kind, "_live": False, "_where": None, "_ident": ident, "_evidence": evidence}


def _stopped_thread_object(c, tid, ident):
    """(name, native id, evidence text) of the threading.Thread object, still in memory, of a thread lost in
    the fork: matched by its native id (the lock's owner TID), or by its ident (pthread_self)
    when exactly one object has it and glibc says that descriptor's thread was running at the
    fork (glibc reuses a descriptor for later threads: an older Thread object may share it)."""
    if c.proc is None or (tid is None and ident is None):
        return None
    try:
        stopped = c.proc.stopped_threads()
    except Exception:
        return None
    if tid is not None:
        named = [s for s in stopped if s[1] == tid and s[2]]
        if len(named) == 1:
            return named[0][2], tid, ("a threading.Thread named %r with native id %s is still in memory, stopped "
                                 "(threading._dangling)" % (named[0][2], tid))
    if ident is not None:
        d = c.glibc.by_address(ident)
        named = [s for s in stopped if s[0] == ident and s[2]]
        if len(named) == 1 and d is not None and d.lost_in_fork:
            return named[0][2], named[0][1], ("a threading.Thread named %r with ident 0x%x, the descriptor of a thread "
                                 "lost in the fork, is still in memory (threading._dangling)" % (named[0][2], ident))
    return None


def _innermost_pyline(pystack):
    for f in pystack or []:
        if f.get("file") and f.get("function"):
            return "%s (%s:%s)" % (f["function"], f["file"], f.get("line"))
    return None


def _first_native_outside_libc(frames):
    for f in frames or []:
        mod = os.path.basename(f.get("module") or "")
        if f.get("function") and not mod.startswith(("libc.so", "libpthread", "ld-linux")):
            return "%s in %s" % (f["function"], mod or "?")
    return None


def _parent_thread_name(c, tid):
    """The name of the holder's thread in the parent, which still runs it: from the parent's
    core given with this one, or, live, from the proven parent's /proc."""
    p = c.pinfo
    if p.parent_facts is not None:
        return p.parent_facts.threads.get(tid)
    if p.source != "live" or not p.parent_tids or tid not in p.parent_tids:
        return None
    try:
        with open("/proc/%d/task/%d/comm" % (p.parent_pid, tid), "rb") as f:
            return to_text(f.read().rstrip(b"\n")) or None
    except OSError:
        return None


def _gil_holder(c, t):
    g = c.gil
    if g is None or not getattr(g, "locked", False):
        return None
    ident = getattr(g, "holder_ident", None)
    tstate = getattr(g, "holder_tstate", None)
    if ident and ident in c.idents:
        nt = c.idents[ident]
        if nt.tid == t["tid"]:
            return None
        return _live_holder_dict(c, c.tthreads.get(nt.tid), "inferred", [_ev(
            "gil-state", "the GIL is locked and its last holder is pthread 0x%x, thread %s" % (ident, nt.tid))])
    if ident is None and tstate:
        for tid, pt in c.py_by_tid.items():
            if getattr(pt, "tstate", None) == tstate:
                if tid == t["tid"]:
                    return None
                return _live_holder_dict(c, c.tthreads.get(tid), "inferred", [_ev(
                    "gil-state", "the GIL is locked and its last holder is the thread state of thread %s" % tid)])
    pyt = None
    for pt in c.py_orphans:
        if (ident and getattr(pt, "thread_ident", None) == ident) or (tstate and getattr(pt, "tstate", None) == tstate):
            pyt = pt
    h = _gone_holder(c, getattr(pyt, "native_tid", None) if pyt else None, ident, "gil-held-across-fork", [_ev(
        "gil-state", "the GIL is locked and its last holder (%s) is no thread of this process" % (
            "pthread 0x%x" % ident if ident else "thread state 0x%x" % tstate if tstate else "unknown"))])
    h["pid"] = c.pinfo.parent_pid
    if pyt is not None:
        h["name"] = getattr(pyt, "name", None)
        h["python_stack"] = _py_frames(getattr(pyt, "frames", None))
    if c.reg is not None and ident:
        rp = c.reg.py_thread(ident=ident)
        if rp is not None:
            h["name"] = rp.name or h["name"]
            h["python_stack"] = rp.frames or h["python_stack"]
            h["tid"] = h["tid"] or rp.tid
            h["source"] = "agent"
        for rt in c.reg.threads:
            if rt.pthread_id == ident:
                h["tid"] = h["tid"] or rt.tid
                h["name"] = h["name"] or rt.name
    return h


THREAD_POOL_RUNTIMES = [("libgomp", "GNU OpenMP (libgomp)"), ("libiomp", "Intel OpenMP (libiomp)"),
                        ("libomp", "LLVM OpenMP (libomp)"), ("libopenblas", "OpenBLAS"), ("libtbb", "oneTBB")]


def _runtime_of(frames):
    for f in frames:
        base = (f.module or "").rsplit("/", 1)[-1]
        for prefix, label in THREAD_POOL_RUNTIMES:
            if base.startswith(prefix):
                return prefix, label
    return None


def _thread_pool_finding(c, t):
    n = t["_native"]
    if n.state != "blocked" or n.wait is None or n.wait.kind != "futex":
        return None
    rt = _runtime_of(n.frames[:6])
    if rt is None:
        return None
    prefix, label = rt
    for o in c.r.threads:
        if o is not t and any((f.module or "").rsplit("/", 1)[-1].startswith(prefix) for f in o["_native"].frames):
            return None     # pool threads exist here: not lost
    holder = {"tid": None, "name": "%s pool threads" % label, "alive": False, "pid": c.pinfo.parent_pid,
              "python_stack": [], "native_stack": [], "source": "inferred"}
    return {"kind": "fork-deadlock",
            "summary": "%s waits in %s for its pool threads, which do not exist in this process: they were "
                       "lost in fork()" % (_who(t), label),
            "waiter": _waiter_dict(t),
            "lock": {"address": "0x%x" % n.wait.futex if n.wait.futex else None, "kind": "thread_pool",
                     "python_type": None},
            "holder": holder,
            "advice": _advice(c, "thread-pool", runtime=label),
            "evidence": [_ev("runtime-frames", "thread %s waits (futex) inside %s, and no thread here runs %s code"
                             % (t["tid"], label, label))] + list(c.fork_evidence),
            "_where": None, "_lock_state": None, "_lock_description": None}


def _python_wait_shape(t):
    """What the waiter's innermost Python frames say about the wait."""
    for f in (t.get("python_stack") or [])[:3]:
        fn = f.get("function") or ""
        fl = (f.get("file") or "").replace("\\", "/")
        if "importlib._bootstrap" in fl and fn in ("acquire", "_lock_unlock_module", "__enter__"):
            return "import"
        if fl.endswith("threading.py"):
            if fn in ("_wait_for_tstate_lock", "join", "_shutdown"):
                return "join"
            if fn == "wait":
                return "condition"
    return None


def _import_lock_details(c, t, h):
    """Fills the holder of an importlib module lock from the lock's owner ident (and the
    agent's Python stacks at fork when present); returns the module's name or None."""
    pt = t.get("_py")
    got = import_locks.module_lock_of(c.proc, getattr(pt, "thread_ident", None)) if pt is not None else None
    if not got:
        return None
    modname, owner = got
    if owner and h.get("source") == "inferred" and h.get("tid") is None and not h.get("name"):
        h["_ident"] = owner
        h.setdefault("_evidence", []).append(_ev("import-lock-owner", "the import lock of module %r names "
                                                 "pthread 0x%x as its owner" % (modname, owner)))
        for pt2 in c.py_orphans:
            if getattr(pt2, "thread_ident", None) == owner:
                _adopt_lost_thread(h, (getattr(pt2, "name", None), getattr(pt2, "native_tid", None),
                                       getattr(pt2, "frames", None)))
        if c.reg is not None:
            rp = c.reg.py_thread(ident=owner)
            if rp is not None:
                h["name"] = rp.name or h.get("name")
                h["python_stack"] = rp.frames or h.get("python_stack") or []
                h["tid"] = h.get("tid") or rp.tid
                h["source"] = "agent"
            for rt in c.reg.threads:
                if rt.pthread_id == owner:
                    h["tid"] = h.get("tid") or rt.tid
                    h["name"] = h.get("name") or rt.name
    return modname


def _lost_python_threads(c):
    """Python thread states with no thread here (a fork from C leaves them), as (name, tid, frames)."""
    out = []
    for pt in c.py_orphans:
        if not getattr(pt, "thread_ident", None):
            continue
        out.append((getattr(pt, "name", None), getattr(pt, "native_tid", None), getattr(pt, "frames", None)))
    return out


def _lost_words(lost):
    if not lost:
        return ""
    names = ", ".join("%s%s" % (n or "?", " [tid %s]" % tid if tid else "") for n, tid, _ in lost[:6])
    return " (threads that vanished in fork(): %s)" % names


def _thread_words(h):
    if h.get("tid") is not None:
        return "thread %s (%s)" % (h["tid"], h.get("name") or "?")
    return "thread %s" % (h.get("name") or "?")


def _adopt_lost_thread(h, lost):
    name, tid, frames = lost
    h["name"] = name
    h["tid"] = tid
    h["python_stack"] = _py_frames(frames)


def _is_condition_waiter(f):
    return f.get("_shape") == "condition" and (f.get("holder") or {}).get("source") == "inferred"


def _fold_condition_waiters(r):
    """Threads in Condition.wait (an Event, a Queue) that nobody left can notify are a
    consequence, not a cause, when another finding names a lock, the GIL or a lost pool:
    once that thread is stuck, whatever it would have signalled never comes. One note
    for all of them keeps the screen on the cause (a child with 100 idle threads would
    otherwise print 100 findings). With no other finding they stay findings."""
    waiters = [f for f in r.findings if _is_condition_waiter(f)]
    if not waiters or len(waiters) == len(r.findings):
        return
    r.findings = [f for f in r.findings if not _is_condition_waiter(f)]
    names = ["%s (%s)" % (f["waiter"].get("name") or "?", f["waiter"].get("tid")) for f in waiters]
    shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
    r.notes.append("%d more thread%s wait%s in threading.Condition.wait for a notify that no thread left "
                   "will send, a consequence of the finding%s above: %s"
                   % (len(waiters), "" if len(waiters) == 1 else "s", "s" if len(waiters) == 1 else "",
                      "" if len(r.findings) == 1 else "s", shown))


def _in_at_fork_hook(c, t):
    """True when one of t's Python frames runs the code of an os.register_at_fork child hook:
    the thread is inside os.fork() in the child. Needs no native symbols (a stripped
    interpreter has no name for run_at_forkers)."""
    pt = t.get("_py")
    if c.proc is None or pt is None:
        return False
    codes = set(h.code for h in c.proc.at_fork_child_hooks() if h.code)
    return bool(codes) and any(getattr(f, "code", None) in codes for f in (pt.frames or []))


def _in_subprocess_child(t):
    """True when the waiter's Python stack runs inside subprocess.Popen._execute_child: in a
    forked child that is the preexec_fn (the only Python code between fork and exec). Needs
    no native symbols (a stripped interpreter has no name for child_exec)."""
    return any(f.get("function") == "_execute_child" and (f.get("file") or "").endswith("subprocess.py")
               for f in (t.get("python_stack") or [])[:8])


# names after symbols.base_name (leading '_' stripped)
FINALIZE_FUNCS = {"Py_FinalizeEx", "Py_Finalize", "flush_std_files", "Py_Finalize_part_1"}
# Python/pythonrun.c: _PyRun_SimpleFileObject calls flush_io() (sys.stderr, then sys.stdout)
# once the main module has run, before a SystemExit is handled; the basic REPL calls it after
# each statement too, so it is the exit only when no REPL follows (sys.flags.inspect and
# .interactive 0).
RUN_FILE_FUNCS = {"PyRun_SimpleFileObject", "PyRun_SimpleFile", "PyRun_SimpleFileExFlags"}


def _at_interpreter_exit(c, t, lock, names):
    """True when the waiter is the interpreter's exit flushing the standard streams, with no
    Python frame left: its native stack is inside finalisation, or in the end-of-script flush.
    Py_RunMain / Py_Exit alone are at the base of every main thread, and an unread Python stack
    is not an empty one (issue 10, point 5)."""
    if t["python_stack"]:
        return False
    if names & FINALIZE_FUNCS:
        return True
    pt = t.get("_py")
    if c.proc is None or pt is None or not getattr(pt, "tstate", None):
        return False
    if c.proc.interactive_flags() != (0, 0):
        return False
    if "flush_io" in names and names & RUN_FILE_FUNCS:
        return True
    # A stripped interpreter names only its exported functions (flush_io and flush_std_files
    # are static; Debian's keep them in the -dbg file only): then the main thread, inside
    # Py_RunMain, whose thread state reads as running no Python code at all, waiting on
    # sys.stdout's or sys.stderr's buffer lock. Once a script has started, Py_RunMain writes
    # those streams from C only at its end: flush_io, then Py_FinalizeEx's flush_std_files.
    return ("Py_RunMain" in names and lock.get("kind") == "io.buffered" and
            lock.get("_found_in") in ("sys.stdout.buffer", "sys.stderr.buffer") and
            c.proc.runs_no_python(pt.tstate) is True)


def _finding(c, kind, t, lock, h):
    who = _who(t)
    if h.get("tid") is None and not h.get("name"):
        hname = ("with pthread_t 0x%x" % h["_ident"]) if h.get("_ident") else "of the parent"
    else:
        hname = "%s (%s)" % (h.get("tid") if h.get("tid") is not None else "?", h.get("name") or "?")
    lw = _lock_words(lock)
    if kind == "fork-deadlock":
        summary = "%s blocks on %s held by thread %s, which does not exist in this process: it was " \
                  "left behind by fork()" % (who, lw, hname)
        if h.get("tid") is None and h.get("_ident") is None:
            summary = "%s blocks on %s that no thread here holds or can release: it was held across " \
                      "fork() by a thread of the parent" % (who, lw)
            if h.get("_self_possible"):
                summary = "%s blocks on %s that no thread here can release: it was held across fork() by a " \
                          "thread lost in the fork (or this thread took it before the fork: a %s records no " \
                          "owner)" % (
                              who, lw, lock.get("kind") or "lock")
        if h.get("_inferred"):
            summary += " (the holder is inferred: %s; a PyMutex records no owner)" % h["_inferred"]
        elif h.get("_candidates"):
            summary += " (a PyMutex records no owner: one of the threads lost in the fork took it before " \
                       "the fork, %s, or this thread did)" % \
                ", ".join("%s [tid %s]" % (n or "?", tid) for n, tid in h["_candidates"][:8])
        shape = _python_wait_shape(t)
        lost = _lost_python_threads(c)
        if shape == "condition" and h.get("source") == "inferred":
            summary = "%s waits on a condition (threading.Condition.wait) that only threads lost in the " \
                      "fork would signal%s" % (who, _lost_words(lost))
        elif shape == "join":
            if len(lost) == 1 and h.get("tid") is None and not h.get("name"):
                _adopt_lost_thread(h, lost[0])
            joined = (" (%s)" % _thread_words(h)) if (h.get("name") or h.get("tid")) else _lost_words(lost)
            summary = "%s joins a thread that does not exist in this process%s: it vanished in fork()" % (
                who, joined)
            if any((f.get("function") == "_shutdown") for f in (t.get("python_stack") or [])[:2]):
                summary += "; this is the interpreter's exit (threading._shutdown) waiting for a non-daemon thread"
        elif shape == "import":
            modname = _import_lock_details(c, t, h)
            if h.get("tid") is None and not h.get("name"):
                hname = ("with pthread_t 0x%x" % h["_ident"]) if h.get("_ident") else "of the parent"
            else:
                hname = "%s (%s)" % (h.get("tid") if h.get("tid") is not None else "?", h.get("name") or "?")
            summary = "%s waits for the import lock of module %s (importlib per-module lock) taken by " \
                      "thread %s, which vanished in fork() while importing it" % (
                          who, repr(modname) if modname else "?", hname)
        if shape == "join" or (shape == "condition" and h.get("source") == "inferred"):
            advice = _advice(c, "workers")
        elif shape == "import":
            advice = _advice(c, "import")
        elif _raw_fork_skipped_reinit(c, t):
            advice = _advice(c, "raw-fork")
        elif lock["kind"] in ("threading.Lock", "threading.RLock"):
            advice = _advice(c, "py-lock")
        elif lock["kind"] == "io.buffered":
            advice = _advice(c, "io")
        elif lock["kind"] in ("semaphore", "pymutex") and c.proc is not None:
            advice = _advice(c, "py-lock")
        else:
            advice = _advice(c, "c")
    elif kind == "gil-held-across-fork":
        summary = "%s waits for the GIL, which is held by thread %s that vanished in fork()" % (who, hname)
        advice = _advice(c, "gil")
    elif kind == "blocked-forever":
        if h.get("_ended_only"):
            summary = "%s blocks for ever on %s, and the memory cannot tell why: either a thread that has " \
                      "ended took it and never released it, or this thread took it itself earlier (a %s " \
                      "records no owner)" % (who, lw, lock.get("kind") or "lock")
            advice = "if a thread that ended held it: %s; if this thread took it twice: %s" % (
                _advice(c, "orphaned"), _advice(c, "self-deadlock"))
        else:
            summary = "%s blocks for ever on %s, and the memory cannot tell why: either a thread lost in a " \
                      "fork held it (this process may be a fork child whose parent is gone), or this thread " \
                      "took it itself earlier (a %s records no owner)" % (who, lw, lock.get("kind") or "lock")
            advice = "if it was held across fork(): %s; if this thread took it twice: %s" % (
                _advice(c, "py-lock"), _advice(c, "self-deadlock"))
    elif h.get("_shared") is not None:
        sl = h["_shared"]
        owner = ("its owner thread %s exists in no process that maps it" % h["tid"]) if h.get("tid") else \
            "a semaphore records no owner: a process that has ended took it, or this thread itself did"
        summary = "%s blocks on %s that no live process can release: %s; %s; %s" % (
            who, shared_mappings.head_words(sl), shared_mappings.lost_words(sl), owner,
            "threads waiting on it: this one%s" % ("".join(
                ", %d in process %d" % (len(p.waiters), p.pid) for p in sl.peers if p.waiters)))
        advice = _advice(c, "shared-lost")
    else:
        summary = "%s blocks on %s whose owner thread %s no longer exists (no sign of a fork)" % (who, lw, hname)
        advice = _advice(c, "orphaned")
    names = set(symbols.base_name(f.function) for f in t["_native"].frames)
    if names & {"PyOS_AfterFork_Child", "run_at_forkers"} or _in_at_fork_hook(c, t):
        summary += "; this is inside os.fork() in the child: an at-fork child hook (os.register_at_fork) blocks"
        advice = _advice(c, "at-fork-hook")
    elif _at_interpreter_exit(c, t, lock, names):
        summary += "; this is the interpreter's shutdown (flushing the standard streams at exit)"
    elif "child_exec" in names or any("_posixsubprocess" in (f.module or "") for f in t["_native"].frames) \
            or (kind == "fork-deadlock" and _in_subprocess_child(t)):
        summary += "; this is subprocess's preexec_fn in the forked child, which never reaches exec " \
                   "(the parent's Popen() waits for it too)"
    if kind != "gil-held-across-fork" and c.fork_evidence and h.get("source") == "inferred" and kind == "fork-deadlock":
        summary += " [evidence: %s]" % _evidence_words(c.fork_evidence)
    holder = dict((k, v) for k, v in h.items() if not k.startswith("_"))
    evidence = [_waiter_evidence(t, lock)] + list(h.get("_evidence") or [])
    if kind in ("fork-deadlock", "gil-held-across-fork"):
        evidence += [e for e in c.fork_evidence if e not in evidence]
    f = {"kind": kind, "summary": summary, "waiter": _waiter_dict(t), "lock": _public_lock(lock),
         "holder": holder, "advice": advice, "evidence": evidence}
    f["_where"] = h.get("_where")
    if kind == "fork-deadlock" and h.get("source") == "inferred":
        f["_shape"] = _python_wait_shape(t)
    f["_lock_state"] = lock.get("_state")
    f["_lock_description"] = lock.get("_description")
    return f


def _waiter_evidence(t, lock):
    w = t["_native"].wait
    how = (w.detail or w.kind) if w is not None else None
    return _ev("waiter-stack", "thread %s's own stack shows it waiting for %s%s, without a timeout"
               % (t["tid"], _lock_words(lock), " (%s)" % how if how else ""))


# Python code whose locks os.fork() re-creates in the child through its at-fork hooks
# (logging: Lib/logging/__init__.py _after_at_fork_child_reinit_locks; threading._after_fork;
# concurrent.futures.thread): a fork that skips them leaves these locks as the parent had them.
_REINIT_BY_OS_FORK = ("/logging/__init__.py", "/logging/handlers.py", "/threading.py", "/concurrent/futures/thread.py")


def _raw_fork_skipped_reinit(c, t):
    """True when this child was forked without os.fork() (CPython thread states of other threads
    are still here: os.fork() deletes them, PyOS_AfterFork_Child) and the waiter blocks in code
    whose locks os.fork()'s hooks would have re-created: forking through os.fork() is the fix."""
    if not any(e["id"] == "python-thread-states" for e in c.fork_evidence):
        return False
    for f in (t.get("python_stack") or [])[:4]:
        fl = (f.get("file") or "").replace("\\", "/")
        if fl.endswith(_REINIT_BY_OS_FORK):
            return True
    return False


def _cycles(edges):
    seen_cycles = []
    keys = set()
    for start in sorted(edges):
        path = []
        pos = {}
        cur = start
        while cur in edges and cur not in pos:
            pos[cur] = len(path)
            path.append(cur)
            cur = edges[cur][0]
        if cur in pos:
            cyc = path[pos[cur]:]
            k = frozenset(cyc)
            if k not in keys:
                keys.add(k)
                i = cyc.index(min(cyc))
                seen_cycles.append(cyc[i:] + cyc[:i])
    return seen_cycles


def _registry_locks(c):
    reg = c.reg
    known = set(l.get("_addr") for l in c.r.locks)
    for e in reg.fork_held:
        if e.lock_addr in known:
            for l in c.r.locks:
                if l.get("_addr") == e.lock_addr:
                    l["_held_at_fork"] = True
            continue
        known.add(e.lock_addr)
        c.r.locks.append({"address": "0x%x" % e.lock_addr, "kind": e.kind_name, "python_type": None,
                          "_addr": e.lock_addr, "_held_at_fork": True, "_orphan": e.orphan_name,
                          "_holder": {"tid": e.holder_tid, "name": e.holder_name, "alive": False,
                                      "_where": e.call_site_function}, "_waiter": None})
    for rt in reg.threads:
        for h in rt.held:
            if h.state != agent_registry.HOLD_HELD or h.lock_addr in known:
                continue
            known.add(h.lock_addr)
            alive = rt.tid in c.tids and rt.state == agent_registry.THREAD_LIVE
            c.r.locks.append({"address": "0x%x" % h.lock_addr, "kind": h.kind_name, "python_type": None,
                              "_addr": h.lock_addr, "_held_at_fork": False,
                              "_holder": {"tid": rt.tid, "name": rt.name, "alive": alive,
                                          "_where": symbols.function_of(h.call_site - 1)[0] if h.call_site else None},
                              "_waiter": None})
