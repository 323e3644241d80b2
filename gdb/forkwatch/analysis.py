"""Builds the findings and the verdict from the registry, the native threads, glibc lock
state and (when available) the CPython reader. Reads memory only."""
import os
import re

import gdb

from . import agent_registry
from . import glibc_locks
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

SEVERITY = ["fork-deadlock", "gil-held-across-fork", "deadlock", "orphaned-lock", "lost-task", "no-deadlock"]

ADVICE = {
    "py-lock": "re-initialise the lock in the child: os.register_at_fork(after_in_child=lock._at_fork_reinit), "
               "or start processes with the 'spawn' or 'forkserver' method",
    "io": "do not fork while other threads write to this stream (gh-84579): flush and quiesce writers "
          "before fork, or use the 'spawn' or 'forkserver' start method",
    "c": "the library must survive fork: take and release the lock around fork with pthread_atfork(), "
         "or exec right after fork (posix_spawn / subprocess), or use 'spawn'/'forkserver'",
    "gil": "fork with the GIL held: call os.fork() (not ctypes.CDLL(...).fork() or a C fork with the GIL "
           "released), or use the 'spawn' or 'forkserver' start method",
    "deadlock": "take these locks in one global order in every thread (or use a timeout and back off)",
    "workers": "threads, executors and queues do not survive fork: create them in the child (after fork), "
               "or use the 'spawn' or 'forkserver' start method",
    "import": "do not fork while another thread imports: import the module before starting threads (or "
              "before fork), or use the 'spawn' or 'forkserver' start method",
    "orphaned": "a thread ended while holding this lock: release locks in finally blocks / with statements",
    "shared-lost": "a process ended while holding this process-shared lock (killed, or os._exit in the middle "
                   "of a with block): nothing releases it now; recreate the lock (and whatever it guards), "
                   "and do not kill workers that may hold a shared lock (use terminate()/join(), or a "
                   "robust mutex where the lock is yours)",
}


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


def analyze():
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
    pinfo = process_info.gather(registry)
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
        holder = _live_holder_dict(c, h_t, "inferred")
        where = None
        if c.reg is not None and lock.get("_addr"):
            for rt, hh in c.reg.holders_of(lock["_addr"]):
                if rt.tid == nxt_tid:
                    stack = _symbolise(c.reg.stack(hh.stack_id)) if hh.stack_id else _symbolise([hh.call_site])
                    holder["native_stack"] = stack
                    holder["source"] = "agent"
                    where = stack[0]["function"] if stack else None
        parts = []
        for i, tid in enumerate(cyc):
            tt = c.tthreads[tid]
            ntid, lk = edges[tid]
            parts.append("%s waits for %s held by %s" % (_who(tt), _lock_words(lk), _who(c.tthreads[ntid])))
        f = {"kind": "deadlock", "summary": "wait cycle among live threads: " + "; ".join(parts),
             "waiter": _waiter_dict(t), "lock": _public_lock(lock), "holder": holder,
             "advice": ADVICE["deadlock"], "cycle": list(cyc), "_where": where}
        if len(cyc) == 1:
            f["summary"] = "%s waits for %s that only it could release: it waits on itself" % (_who(t), _lock_words(lock))
            if lock.get("kind") == "threading.Lock" and _parent_unknown(c):
                # a Lock records no owner: a thread lost in a fork looks the same here
                f["summary"] += (" (or, if this process is a fork child, a thread lost in the fork took it: "
                                 "its parent could not be inspected, so that cannot be told)")
            f["advice"] = ("do not acquire a lock the thread already holds (use threading.RLock or a "
                           "recursive mutex if re-entry is intended)")
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
    ev = []
    if c.reg is not None and c.reg.is_fork_child:
        ev.append("the agent recorded this process as a fork child (fork #%d of pid %s)"
                  % (c.reg.header.get("born_of_fork_id"), c.reg.header.get("parent_pid")))
    p = c.pinfo
    if p.same_layout_as_parent:
        ev.append("its parent (pid %s) has the same libraries at the same addresses (forked, no exec)"
                  % p.parent_pid)
    elif p.same_layout_as_parent is None and p.parent_same_executable:
        ev.append("its parent (pid %s) runs the same executable" % p.parent_pid)
    if c.py_orphans and all(getattr(pt, "thread_ident", None) for pt in c.py_orphans):
        ev.append("%d Python thread state(s) have no thread here" % len(c.py_orphans))
    # Python frames that only run in a forked child (works from a core whose parent is gone)
    for pt in c.py_by_tid.values():
        for fr in getattr(pt, "frames", None) or []:
            fn, path = getattr(fr, "function", None), getattr(fr, "file", None) or ""
            if fn == "_launch" and path.endswith("multiprocessing/popen_fork.py"):
                ev.append("a thread runs multiprocessing's fork start method in the child "
                          "(popen_fork.Popen._launch on its Python stack)")
                return True, ev
    return bool(ev), ev


def _parent_unknown(c):
    """No live parent to compare with (a core analysed after the parent exited, or elsewhere)."""
    p = c.pinfo
    return not p.parent_pid or (p.same_layout_as_parent is None and p.parent_same_executable is None
                                and not p.parent_tids)


def _owner_vanished_in_fork(c, owner_tid):
    """Evidence that a TID not present here was a thread of our parent."""
    p = c.pinfo
    if p.parent_tids and owner_tid in p.parent_tids:
        return True
    if p.parent_pid and p.pid and p.parent_pid < owner_tid < p.pid:
        return True
    return False


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


def _live_holder_dict(c, ht, source):
    if ht is None:
        return None
    return {"tid": ht["tid"], "name": ht["name"], "alive": True, "pid": c.r.pid,
            "python_stack": ht["python_stack"], "native_stack": ht["native_stack"], "source": source,
            "_live": True, "_kind": "live", "_where": None}


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
    stack = _symbolise(reg.stack(e.stack_id)) if e.stack_id else []
    if not stack and e.call_site:
        stack = _symbolise([e.call_site])
        if e.call_site_function:
            stack[0]["function"] = e.call_site_function
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
            "source": "agent", "_kind": "fork-deadlock", "_live": False, "_where": where}


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
                hd = _live_holder_dict(c, ht, "agent")
                stack = _symbolise(c.reg.stack(h.stack_id)) if h.stack_id else _symbolise([h.call_site])
                hd["_where"] = stack[0]["function"] if stack else None
                return lock, hd, None
            if rt.state == agent_registry.THREAD_VANISHED:
                if any(e.lock_addr == addr and e.orphan_state == agent_registry.ORPHAN_REINITIALISED
                       for e in c.reg.fork_held):
                    continue  # re-initialised in the child: that old hold no longer counts
                fork = c.reg.latest_fork()
                stack = _symbolise(c.reg.stack(h.stack_id)) if h.stack_id else _symbolise([h.call_site])
                return lock, {"tid": rt.tid, "name": rt.name or None, "alive": False,
                              "pid": fork.parent_pid if fork else c.pinfo.parent_pid,
                              "python_stack": [], "native_stack": stack, "source": "agent",
                              "_kind": "fork-deadlock", "_live": False,
                              "_where": stack[0]["function"] if stack else None}, None
    # 3. the lock's own owner field (mutex/rwlock TID, RLock/io owner ident)
    if owner_ident and owner_ident in c.idents:
        owner_tid = c.idents[owner_ident].tid
    if owner_tid is not None:
        if owner_tid in c.tids:
            return lock, _live_holder_dict(c, c.tthreads.get(owner_tid), "inferred"), None
        vanished = _owner_vanished_in_fork(c, owner_tid) or c.fork_child
        return lock, _gone_holder(c, owner_tid, None, "fork-deadlock" if vanished else "orphaned-lock"), None
    if owner_ident:
        return lock, _gone_holder(c, None, owner_ident, "fork-deadlock" if c.fork_child else "orphaned-lock"), None
    # 4. no owner recorded (threading.Lock, semaphore): can anyone release it?
    # A timed wait ends by itself; other threads in timed waits may still release it.
    if w.timed:
        return lock, None, None
    # 4a. a live thread inside a `with` block on this Lock holds it (inferred: with_holders.py)
    found = with_holders.find(c, t, pyobj)
    if found is not None:
        lock["_with"] = found[1]
        return lock, _live_holder_dict(c, found[0], "inferred"), None
    others = [x for x in c.r.threads if x["tid"] != t["tid"]
              and (x["_native"].state not in ("blocked-on-lock", "waiting-for-gil")
                   or (x["_native"].wait is not None and x["_native"].wait.timed))]
    if others:
        return lock, None, None
    if lock["_state"] and lock["_state"].startswith("value ") and not lock["_state"].startswith("value 0"):
        return lock, None, None
    if c.fork_child:
        return lock, _gone_holder(c, None, None, "fork-deadlock"), None
    if len(c.r.threads) == 1 and lock.get("python_type"):
        # the only thread waits on a Python lock nobody else can release: it waits on itself
        return lock, _live_holder_dict(c, t, "inferred"), None
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
    h = _gone_holder(c, owner_tid, None, "orphaned-lock")
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


def _gone_holder(c, tid, ident, kind):
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
    if name is None and tid is not None and kind == "fork-deadlock":
        name = _parent_thread_name(c, tid)
    return {"tid": tid, "name": name, "alive": False,
            "pid": c.pinfo.parent_pid if kind == "fork-deadlock" else c.r.pid,
            "python_stack": pystack, "native_stack": [], "source": "inferred",
            "_kind": kind, "_live": False, "_where": None, "_ident": ident}


def _parent_thread_name(c, tid):
    """Live only: the name of the holder's thread in the parent, which still runs it."""
    p = c.pinfo
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
        return _live_holder_dict(c, c.tthreads.get(nt.tid), "inferred")
    if ident is None and tstate:
        for tid, pt in c.py_by_tid.items():
            if getattr(pt, "tstate", None) == tstate:
                if tid == t["tid"]:
                    return None
                return _live_holder_dict(c, c.tthreads.get(tid), "inferred")
    pyt = None
    for pt in c.py_orphans:
        if (ident and getattr(pt, "thread_ident", None) == ident) or (tstate and getattr(pt, "tstate", None) == tstate):
            pyt = pt
    h = _gone_holder(c, getattr(pyt, "native_tid", None) if pyt else None, ident, "gil-held-across-fork")
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
            "advice": "%s does not survive fork: do not use it in the parent before fork (or limit it to one "
                      "thread there), exec in the child, or use the 'spawn'/'forkserver' start method" % label,
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
            advice = ADVICE["workers"]
        elif shape == "import":
            advice = ADVICE["import"]
        elif lock["kind"] in ("threading.Lock", "threading.RLock"):
            advice = ADVICE["py-lock"]
        elif lock["kind"] == "io.buffered":
            advice = ADVICE["io"]
        elif lock["kind"] in ("semaphore", "pymutex") and c.proc is not None:
            advice = ADVICE["py-lock"]
        else:
            advice = ADVICE["c"]
    elif kind == "gil-held-across-fork":
        summary = "%s waits for the GIL, which is held by thread %s that vanished in fork()" % (who, hname)
        advice = ADVICE["gil"]
    elif h.get("_shared") is not None:
        sl = h["_shared"]
        owner = ("its owner thread %s exists in no process that maps it" % h["tid"]) if h.get("tid") else \
            "a semaphore records no owner: a process that has ended took it, or this thread itself did"
        summary = "%s blocks on %s that no live process can release: %s; %s; %s" % (
            who, shared_mappings.head_words(sl), shared_mappings.lost_words(sl), owner,
            "threads waiting on it: this one%s" % ("".join(
                ", %d in process %d" % (len(p.waiters), p.pid) for p in sl.peers if p.waiters)))
        advice = ADVICE["shared-lost"]
    else:
        summary = "%s blocks on %s whose owner thread %s no longer exists (no sign of a fork)" % (who, lw, hname)
        advice = ADVICE["orphaned"]
    names = set(symbols.base_name(f.function) for f in t["_native"].frames)
    if names & {"PyOS_AfterFork_Child", "run_at_forkers"} or _in_at_fork_hook(c, t):
        summary += "; this is inside os.fork() in the child: an at-fork child hook (os.register_at_fork) blocks"
        advice = ("an os.register_at_fork(after_in_child=...) hook runs before the locks are re-created by the "
                  "hooks registered after it (logging's among them): do not take locks in it (no logging), "
                  "register it after importing logging, or use the 'spawn' or 'forkserver' start method")
    elif _at_interpreter_exit(c, t, lock, names):
        summary += "; this is the interpreter's shutdown (flushing the standard streams at exit)"
    elif "child_exec" in names or any("_posixsubprocess" in (f.module or "") for f in t["_native"].frames) \
            or (kind == "fork-deadlock" and _in_subprocess_child(t)):
        summary += "; this is subprocess's preexec_fn in the forked child, which never reaches exec " \
                   "(the parent's Popen() waits for it too)"
    if kind != "gil-held-across-fork" and c.fork_evidence and h.get("source") == "inferred" and kind == "fork-deadlock":
        summary += " [evidence: %s]" % "; ".join(c.fork_evidence)
    holder = dict((k, v) for k, v in h.items() if not k.startswith("_"))
    f = {"kind": kind, "summary": summary, "waiter": _waiter_dict(t), "lock": _public_lock(lock),
         "holder": holder, "advice": advice}
    f["_where"] = h.get("_where")
    if kind == "fork-deadlock" and h.get("source") == "inferred":
        f["_shape"] = _python_wait_shape(t)
    f["_lock_state"] = lock.get("_state")
    f["_lock_description"] = lock.get("_description")
    return f


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
