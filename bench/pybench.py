"""pybench — Python lock workloads for `make bench` (issue 5, group 2).

    python3.X bench/pybench.py CASE [SCALE] [REPEATS]

Prints one line:  CASE ns_per_op=<min over repeats> repeats=<n> ops=<n>
Cases: lock, rlock, queue, tpe_log. SCALE multiplies the default op counts.
Runs on CPython 3.8+; imports only the standard library.

Time is CPU time, not wall time: the single-threaded cases use the thread's CPU
clock, the threaded ones the process's (all threads). The agent's cost is CPU
work, and on a shared machine CPU time does not count the time other processes
had the CPU (wall time there varied by ±30% between runs).
"""
import sys
import time

THREAD_NS = time.thread_time_ns
PROCESS_NS = time.process_time_ns


def case_lock(n):
    import threading
    lk = threading.Lock()
    acq, rel = lk.acquire, lk.release
    t0 = THREAD_NS()
    for _ in range(n):
        acq()
        rel()
    return THREAD_NS() - t0


def case_rlock(n):
    import threading
    lk = threading.RLock()
    acq, rel = lk.acquire, lk.release
    t0 = THREAD_NS()
    for _ in range(n):
        acq()
        rel()
    return THREAD_NS() - t0


def case_queue(n):
    """One producer thread puts n items, the main thread gets them."""
    import queue
    import threading
    q = queue.Queue(maxsize=64)

    def producer():
        put = q.put
        for i in range(n):
            put(i)

    th = threading.Thread(target=producer, name="producer")
    t0 = PROCESS_NS()
    th.start()
    get = q.get
    for _ in range(n):
        get()
    th.join()
    return PROCESS_NS() - t0


_log_state = {}


def case_tpe_log(n):
    """n small tasks on a 4-worker ThreadPoolExecutor; each logs one record
    through a handler that writes to /dev/null."""
    import concurrent.futures
    import logging
    import os
    if "logger" not in _log_state:
        logger = logging.getLogger("forkwatch.bench")
        logger.propagate = False
        logger.setLevel(logging.INFO)
        stream = open(os.devnull, "w")
        handler = logging.StreamHandler(stream)
        handler.setFormatter(logging.Formatter("%(asctime)s %(threadName)s %(message)s"))
        logger.addHandler(handler)
        _log_state["logger"] = logger
    logger = _log_state["logger"]

    def task(i):
        logger.info("task %d done", i)
        return i

    t0 = PROCESS_NS()
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as ex:
        total = sum(ex.map(task, range(n), chunksize=1))
    dt = PROCESS_NS() - t0
    assert total == n * (n - 1) // 2
    return dt


CASES = {
    "lock": (case_lock, 400000),
    "rlock": (case_rlock, 400000),
    "queue": (case_queue, 20000),
    "tpe_log": (case_tpe_log, 3000),
}


def main():
    if len(sys.argv) < 2 or sys.argv[1] not in CASES:
        sys.stderr.write(__doc__)
        return 2
    name = sys.argv[1]
    scale = float(sys.argv[2]) if len(sys.argv) > 2 else 1.0
    repeats = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    fn, n = CASES[name]
    n = max(10, int(n * scale))
    fn(max(10, n // 4))  # warm-up
    best = None
    for _ in range(repeats):
        v = fn(n) / n
        best = v if best is None or v < best else best
    print("%s ns_per_op=%.3f repeats=%d ops=%d" % (name, best, repeats, n))
    return 0


if __name__ == "__main__":
    sys.exit(main())
