"""Reads, from a process's memory, what a thread waiting on a multiprocessing.Pool result waits
for: the MapResult/ApplyResult object in its pool.py frame (Lib/multiprocessing/pool.py:
ApplyResult._job, ._event, MapResult._number_left (chunks still missing), ._chunksize,
._value (one slot per item)), and its Pool (._pool: the worker Process objects, each with
._popen.pid and ._popen.returncode, set once the pool's worker handler joined it;
._processes; ._maxtasksperchild). Plain dicts out: lost_tasks.py draws the conclusions.

Uses the CPython reader's frame walker and object reader; any read that fails leaves the
value None (a verdict then says less, never more)."""

POOL_FILE = "multiprocessing/pool.py"
RESULT_TYPES = ("MapResult", "ApplyResult")


def _waits_on_pool_result(pt):
    return any((getattr(f, "file", None) or "").endswith(POOL_FILE) and getattr(f, "function", None) in ("get", "wait")
               for f in (getattr(pt, "frames", None) or [])[:6])


def _int(r, obj, name):
    v = r.attr(obj, name) if obj else None
    return r.read_int(v) if v else None


def _list_items(proc, obj, limit=1024):
    from .cpython import _mem
    r, lay = proc.reader, proc.lay
    if not obj or r.safe_type_name(obj) != "list" or "list.ob_item" not in lay:
        return []
    n = _mem.i64(obj + lay["varobject.ob_size"])
    if n < 0 or n > limit:
        return []
    items = _mem.ptr(obj + lay["list.ob_item"])
    raw = _mem.read(items, 8 * n) if n else b""
    return [int.from_bytes(raw[8 * i:8 * i + 8], "little") for i in range(n)]


def _result_object(proc, pt):
    r = proc.reader
    for frame, code, _ in proc.walker.raw_frames(pt.tstate)[:6]:
        info = proc.walker.code_info(code)
        if not (getattr(info, "filename", None) or "").endswith(POOL_FILE):
            continue
        for obj in proc._candidates_of_frame(frame, code):
            if r.safe_type_name(obj) in RESULT_TYPES:
                return obj
    return None


def _workers(proc, pool):
    r = proc.reader
    out = []
    for p in _list_items(proc, r.attr(pool, "_pool") if pool else None):
        popen = r.attr(p, "_popen")
        pid = _int(r, popen, "pid") if popen else None
        rc = _int(r, popen, "returncode") if popen else None
        out.append({"pid": pid, "returncode": rc})
    return out


def pending_results(proc, pythreads):
    """[{thread_ident, native_tid, type, left, chunksize, items, processes, maxtasksperchild,
    workers: [{pid, returncode}]}] for each thread waiting in pool.py get()/wait()."""
    out = []
    for pt in pythreads:
        if not _waits_on_pool_result(pt):
            continue
        fact = {"thread_ident": getattr(pt, "thread_ident", None), "native_tid": getattr(pt, "native_tid", None),
                "type": None, "left": None, "chunksize": None, "items": None, "processes": None,
                "maxtasksperchild": None, "workers": None}
        try:
            res = _result_object(proc, pt)
            if res:
                r = proc.reader
                fact["type"] = r.safe_type_name(res)
                if fact["type"] == "MapResult":
                    fact["left"] = _int(r, res, "_number_left")
                    fact["chunksize"] = _int(r, res, "_chunksize")
                    value = r.attr(res, "_value")
                    if value and r.safe_type_name(value) == "list":
                        fact["items"] = len(_list_items(proc, value, 1 << 20))
                else:
                    fact["left"], fact["chunksize"], fact["items"] = 1, 1, 1
                pool = r.attr(res, "_pool")
                if pool:
                    fact["processes"] = _int(r, pool, "_processes")
                    mt = r.attr(pool, "_maxtasksperchild")
                    fact["maxtasksperchild"] = r.read_int(mt) if mt and r.safe_type_name(mt) == "int" else None
                    fact["workers"] = _workers(proc, pool)
        except Exception as e:  # a layout this reader does not know: fewer facts, no traceback
            fact["error"] = str(e).splitlines()[0] if str(e) else type(e).__name__
        out.append(fact)
    return out
