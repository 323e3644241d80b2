"""--tree: a multiprocessing.Pool that lost a task with a worker that died.

A Pool does not notice a worker that ends in the middle of a task (os._exit, a signal, the OOM
killer): its worker handler forks a replacement (pool.py _maintain_pool), the task is not
resubmitted, and pool.map()/get() wait for ever for its result. That shape is only visible
with the whole tree: the parent waits for results (pool_facts: MapResult._number_left), while
no process does anything that would produce one. Concluded only when all of these hold:
- the parent's thread waits in pool.py get()/wait() for N > 0 results (read from its memory);
- its task handler thread is idle (waits in _handle_tasks for new tasks: every task was sent);
- its result handler thread is idle (reads the result pipe: no result is in flight);
- every worker of the pool (its children running pool.py's worker()) is idle: waiting in the
  task queue's get() (reading the pipe, or waiting for the queue's read lock), none in a task.
  When every one of them waits for the read lock, nobody reads the pipe: the worker that held
  the lock while it waited for a task ended inside get()'s with block (killed), and the tasks
  sent since are never read (why "read-lock"; otherwise "task-died").
Evidence of the death: workers forked by the worker handler (_maintain_pool on their stack:
replacements), and exit statuses the Pool still holds (a Process object with returncode set).

Pure: works on the reports analysis.py made (thread dicts with Python stacks, `pool_waits`).
"""

ADVICE = ("a Pool does not notice a worker that dies in a task, and its result never comes: "
          "concurrent.futures.ProcessPoolExecutor raises BrokenProcessPool instead; or wait with a "
          "timeout (map_async(...).get(timeout)), and recycle workers with maxtasksperchild; find why "
          "the worker ended (os._exit or sys.exit in the task, a signal, the OOM killer: dmesg)")


def _fn(f):
    return f.get("function"), (f.get("file") or "").replace("\\", "/")


def _has(stack, function, path_end):
    return any(fn == function and fl.endswith(path_end) for fn, fl in map(_fn, stack))


def worker_state(threads):
    """For a pool worker process: 'idle' (its worker() waits in the task queue's get()), 'busy'
    (worker() runs a task), or None (not a pool worker)."""
    for t in threads:
        st = t.get("python_stack") or []
        for i, f in enumerate(st):
            fn, fl = _fn(f)
            if fn == "worker" and fl.endswith("multiprocessing/pool.py"):
                inner = st[i - 1] if i > 0 else None
                if inner is not None and _fn(inner)[0] == "get" and _fn(inner)[1].endswith("multiprocessing/queues.py"):
                    if _fn(st[0])[1].endswith("multiprocessing/synchronize.py"):
                        return "waits-for-queue-lock"   # in get()'s `with self._rlock:`
                    return "idle"
                return "busy"
    return None


def replacement(threads):
    """True when the worker was forked by the pool's worker handler (a replacement)."""
    return any(_has(t.get("python_stack") or [], "_maintain_pool", "multiprocessing/pool.py") for t in threads)


def _handler_idle(threads, handler, inner_files):
    """The pool thread running `handler` exists and its innermost Python frame is the handler
    itself or in one of inner_files (a wait), not sending or storing anything."""
    for t in threads:
        st = t.get("python_stack") or []
        if not _has(st, handler, "multiprocessing/pool.py"):
            continue
        fn, fl = _fn(st[0]) if st else (None, "")
        if t.get("state") == "running":
            return False
        return fn == handler or any(fl.endswith(x) for x in inner_files)
    return False


def lost_task_finding(parent, children):
    """The lost-task finding for report `parent` given its children's reports, or None."""
    for w in getattr(parent, "pool_waits", None) or []:
        left = w.get("left")
        if not left or left <= 0:
            continue
        waiter = next((t for t in parent.threads if t["tid"] == w.get("native_tid")), None) or \
            next((t for t in parent.threads if _has(t.get("python_stack") or [], "get", "multiprocessing/pool.py")
                  or _has(t.get("python_stack") or [], "wait", "multiprocessing/pool.py")), None)
        if waiter is None:
            continue
        if not _handler_idle(parent.threads, "_handle_tasks", ()) or \
                not _handler_idle(parent.threads, "_handle_results", ("multiprocessing/connection.py",)):
            continue
        pool_pids = set(x["pid"] for x in (w.get("workers") or []) if x.get("pid"))
        workers = [(c, worker_state(c.threads)) for c in children]
        workers = [(c, s) for c, s in workers if s is not None and (not pool_pids or c.pid in pool_pids)]
        if not workers or any(s not in ("idle", "waits-for-queue-lock") for _, s in workers):
            continue
        if pool_pids and not pool_pids <= set(c.pid for c, _ in workers):
            continue    # a worker of the pool was not examined: it may be the one working
        replaced = [c.pid for c, _ in workers if replacement(c.threads)]
        exited = [x for x in (w.get("workers") or []) if x.get("returncode") is not None]
        maxtasks = w.get("maxtasksperchild")
        chunk = w.get("chunksize") or 1
        call = "pool.map" if _has(waiter.get("python_stack") or [], "map", "multiprocessing/pool.py") else \
            ("pool.apply" if w.get("type") == "ApplyResult" else "a Pool result's get()")
        what = ("%d result%s" % (left, "" if left == 1 else "s")) if chunk == 1 else \
            ("%d chunk%s of up to %d results" % (left, "" if left == 1 else "s", chunk))
        pids = ", ".join(str(c.pid) for c, _ in workers)
        if all(s == "waits-for-queue-lock" for _, s in workers):
            # nobody reads the task pipe: the worker that held the queue's read lock while it
            # waited for a task ended inside that with block (SIGKILL, the OOM killer)
            summary = ("thread %s (%s) in %s waits for %s that no worker is working on: every worker (%s) "
                       "waits for the task queue's read lock (a process-shared SemLock) and none holds it, so "
                       "nobody reads the tasks: a worker that held it while waiting for a task ended (killed)"
                       % (waiter["tid"], waiter.get("name") or "?", call, what, pids))
            why = "read-lock"
        else:
            summary = ("thread %s (%s) in %s waits for %s that no worker is working on: the task queue is empty "
                       "and all %d worker%s (%s) are idle, so %s died with a worker"
                       % (waiter["tid"], waiter.get("name") or "?", call, what, len(workers),
                          "" if len(workers) == 1 else "s", pids, "that task" if left == 1 else "those tasks"))
            why = "task-died"
        if replaced:
            summary += "; the pool's worker handler forked %s as a replacement%s" % (
                ", ".join(str(p) for p in replaced),
                " (maxtasksperchild=%d also replaces workers)" % maxtasks if maxtasks else
                " (no maxtasksperchild: a worker ended)")
        if exited:
            summary += "; exit status of worker%s: %s" % (
                "" if len(exited) == 1 else "s", ", ".join(
                    "pid %s %s" % (x["pid"], ("killed by signal %d" % -x["returncode"]) if x["returncode"] < 0
                                   else "exited %d" % x["returncode"]) for x in exited))
        else:
            summary += "; the dead worker's exit status is not known (the pool's worker handler reaped it " \
                       "and keeps no record)"
        return {"kind": "lost-task", "summary": summary,
                "waiter": {"tid": waiter["tid"], "name": waiter.get("name"),
                           "python_stack": waiter.get("python_stack"), "native_stack": waiter.get("native_stack")},
                "lock": {"address": None, "kind": "pool_result",
                         "python_type": "multiprocessing.pool.%s" % (w.get("type") or "ApplyResult")},
                "holder": None, "advice": ADVICE,
                "_where": None, "_lock_state": "%s missing" % what, "_lock_description": None,
                "_lost": {"why": why, "left": left, "chunksize": chunk, "items": w.get("items"),
                          "workers": [c.pid for c, _ in workers], "replacements": replaced,
                          "exited": exited}}
    return None


def apply(reports, severity):
    """Adds the lost-task finding to each pool parent of the tree and recomputes its verdict."""
    for r in reports:
        if not getattr(r, "pool_waits", None):
            continue
        kids = [c for c in reports if c is not r and getattr(c.process, "ppid", None) == r.pid]
        f = lost_task_finding(r, kids)
        if f is None:
            continue
        r.findings.append(f)
        r.findings.sort(key=lambda x: severity.index(x["kind"]))
        r.verdict = r.findings[0]["kind"]
        r.summary = r.findings[0]["summary"]

