"""hang_fork — a Python program whose fork child hangs, for the diagnosis
latency bench (issue 5, group 5).

    python3.11 bench/hang_fork.py THREADS EVENTS_FILE [TIMEOUT]

A worker thread ("Holder") takes a threading.Lock and keeps it; the main
thread then calls os.fork(). In the child, THREADS-1 idle threads are started
(so the hung child has THREADS threads for the debugger to walk) and the main
thread acquires the lock, which nobody in the child will ever release.

Protocol (as the fixtures': no sleeps as synchronisation): lines KEY=VALUE are
appended to EVENTS_FILE — `parent_pid=`, `child_pid=` (parent), `child_threads=`
and `child_blocking=1` (child, just before the acquire that hangs). The parent
waits for the child at most TIMEOUT seconds (default 600), then kills it by PID
and exits 124. The harness kills both by PID when it is done.
"""
import os
import sys
import threading


def note(path, line):
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


def idle_worker(stop):
    stop.wait()


def child_main(lock, nthreads, events):
    # Small stacks keep a core of the 100-thread child small (8 MiB stacks give
    # a ~1.8 GB core); the debugger's work per thread is the same.
    threading.stack_size(256 * 1024)
    stop = threading.Event()
    for i in range(nthreads - 1):
        threading.Thread(target=idle_worker, args=(stop,), name="idle-%d" % i, daemon=True).start()
    note(events, "child_threads=%d" % threading.active_count())
    note(events, "child_blocking=1")
    lock.acquire()  # hangs: the Holder thread does not exist in this process
    os._exit(0)


def main():
    nthreads = int(sys.argv[1])
    events = sys.argv[2]
    timeout = float(sys.argv[3]) if len(sys.argv) > 3 else 600.0
    lock = threading.Lock()
    held = threading.Event()
    release = threading.Event()

    def holder():
        with lock:
            held.set()
            release.wait(timeout)

    th = threading.Thread(target=holder, name="Holder", daemon=True)
    th.start()
    held.wait()
    note(events, "parent_pid=%d" % os.getpid())
    pid = os.fork()
    if pid == 0:
        try:
            child_main(lock, nthreads, events)
        finally:
            os._exit(1)
    note(events, "child_pid=%d" % pid)
    # Bounded wait for the child, without sleeping as synchronisation.
    import time
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            release.set()
            return os.waitstatus_to_exitcode(status) if hasattr(os, "waitstatus_to_exitcode") else 0
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            release.set()
            return 124
        release.wait(0.2)  # a bounded poll interval, not a synchronisation


if __name__ == "__main__":
    sys.exit(main())
