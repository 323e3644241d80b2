"""pyforkbench — os.fork() latency in a Python process whose threads hold locks
(issue 5, group 3: the fork path where the agent also captures Python stacks).

    python3.X bench/pyforkbench.py THREADS HELD [FORKS]

THREADS threads are started, HELD of them hold a threading.Lock (taken a few
frames deep, so there are Python stacks to capture) while the main thread
forks FORKS times; each child os._exit(0)s at once. Prints:
    fork_us=<median parent-side os.fork() time> forks=<n> threads=<n> held=<n>
The locks are released and the threads joined afterwards.
"""
import os
import sys
import threading
import time


def main():
    nthreads = int(sys.argv[1])
    nheld = int(sys.argv[2])
    nforks = int(sys.argv[3]) if len(sys.argv) > 3 else 30
    ready = threading.Semaphore(0)
    go = threading.Event()
    locks = [threading.Lock() for _ in range(nheld)]

    def hold(i, depth):
        if depth:
            return hold(i, depth - 1)
        mine = locks[i::nthreads]
        for lk in mine:
            lk.acquire()
        ready.release()
        go.wait(120)
        for lk in mine:
            lk.release()

    threads = [threading.Thread(target=hold, args=(i, 5), name="holder-%d" % i, daemon=True)
               for i in range(nthreads)]
    for th in threads:
        th.start()
    for _ in threads:
        if not ready.acquire(timeout=60):
            print("pyforkbench: threads did not start", file=sys.stderr)
            return 1
    samples = []
    for _ in range(nforks):
        t0 = time.perf_counter_ns()
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        t1 = time.perf_counter_ns()
        os.waitpid(pid, 0)
        samples.append(t1 - t0)
    go.set()
    for th in threads:
        th.join(60)
    samples.sort()
    print("fork_us=%.2f forks=%d threads=%d held=%d" % (samples[len(samples) // 2] / 1e3, nforks, nthreads, nheld))
    return 0


if __name__ == "__main__":
    sys.exit(main())
