"""py_fork_stress.py — issue 6 §2 for CPython: Python threads doing random
threading.Lock / threading.RLock operations (blocking in lock order, non-blocking, timed,
recursive) while some of them fork with os.fork(). Run it under the agent:

    LD_PRELOAD=build/libforkwatch.so python3.X tests/stress/py_fork_stress.py [--forks N] ...

Ground truth: each thread records the locks it holds right after acquire() returns and
drops them right before release(). Forks happen under a stop-the-world: the other threads
park in a Condition wait or are blocked in acquire() of a lock the truth says is held.
Each child reads forkwatch_registry with ctypes (address found in the parent) and
compares, restricted to our own locks (their PyThread_type_lock = sem_t* read from the
lock object at offset 16, CPython 3.8-3.13.0), the FW_ORPHAN_LIVE fork_held entries
(lock, holder TID) with the truth. Some children then block on an orphan: the agent must
end them with status 86. Exit 0 when every child matched; 1 otherwise; 4 no agent.

A raw fork (ctypes.PyDLL(None).fork(), no PyOS_AfterFork_Child) is not used: a child that
then runs Python code may inherit a pending GIL drop request and wait for ever in
drop_gil() for a thread that does not exist (seen without any agent) — no lock is
orphaned there, so it is outside what this test measures.
"""
import argparse
import ctypes
import os
import random
import sys
import threading
import time
import warnings

FW_MAGIC = 0x31484354574b5246
FW_ORPHAN_LIVE = 1
FW_EXIT_DEADLOCK = 86


class Worker:
    __slots__ = ("idx", "held", "state", "target", "seq", "tid", "rng", "forker", "thread", "ops")

    def __init__(self, idx, seed, forker):
        self.idx = idx
        self.held = {}          # lock index -> recursion count
        self.state = "run"      # run | parked | block | exited
        self.target = -1
        self.seq = 0
        self.tid = 0
        self.rng = random.Random(seed * 1000003 + idx)
        self.forker = forker
        self.thread = None
        self.ops = 0


class Stress:
    def __init__(self, args):
        self.args = args
        self.locks = []
        self.kinds = []         # "lock" | "rlock"
        for i in range(args.locks):
            if i % 3 == 2:
                self.locks.append(threading.RLock())
                self.kinds.append("rlock")
            else:
                self.locks.append(threading.Lock())
                self.kinds.append("lock")
        # the PyThread_type_lock (sem_t*) of each: lockobject/rlockobject keep it at offset 16
        self.addrs = [ctypes.c_void_p.from_address(id(l) + 16).value for l in self.locks]
        self.addr_index = {a: i for i, a in enumerate(self.addrs)}
        self.workers = [Worker(i, args.seed, i < args.forkers) for i in range(args.threads)]
        self.stop = False
        self.park = threading.Condition()
        self.generation = 0
        self.world = threading.Lock()     # one forker at a time
        self.forks_done = 0
        self.forks_claimed = 0
        self.bad = 0
        self.done = False
        self.max_expected = 0
        self.blocked_probes = 0
        try:
            reg = ctypes.c_uint64.in_dll(ctypes.CDLL(None), "forkwatch_registry")
            self.reg = ctypes.addressof(reg)
        except ValueError:
            self.reg = None

    # ---- truth ----------------------------------------------------------------
    def holders(self):
        """lock index -> set of holder worker indexes (world stopped)."""
        h = {}
        for w in self.workers:
            for i in list(w.held):
                h.setdefault(i, set()).add(w.idx)
        return h

    def stable(self, me):
        h = self.holders()
        for w in self.workers:
            if w.idx == me or w.state in ("parked", "exited"):
                continue
            if w.state == "block" and h.get(w.target, set()) - {w.idx}:
                continue
            return False
        return True

    # ---- worker ---------------------------------------------------------------
    def safe_point(self, w):
        # Announce "run", then look at stop again: a forker that raised stop meanwhile
        # either sees "run" (and waits) or we see its stop (and park again).
        while self.stop:
            with self.park:
                w.state = "parked"
                w.seq += 1
                while self.stop:
                    self.park.wait()    # untimed: a parked thread never asks for the GIL
            w.state = "run"
            w.seq += 1

    def op(self, w):
        r = w.rng.random()
        top = max(w.held) if w.held else -1
        if w.held and (r < 0.4 or len(w.held) >= self.args.hold):
            i = w.rng.choice(list(w.held))
            lock = self.locks[i]
            if w.held[i] > 1:
                w.held[i] -= 1
            else:
                del w.held[i]
            lock.release()
            return
        if r < 0.45 and w.held:
            i = w.rng.choice(list(w.held))
            if self.kinds[i] == "rlock" and w.held[i] < 3:
                self.locks[i].acquire()      # recursive: the C RLock takes no second sem
                w.held[i] += 1
            return
        i = w.rng.randrange(len(self.locks))
        if i in w.held:
            return
        lock = self.locks[i]
        how = w.rng.random()
        if i > top and how < 0.4:
            w.target = i
            w.state = "block"
            w.seq += 1
            lock.acquire()
            w.state = "run"
            w.seq += 1
            w.held[i] = 1
        elif how < 0.7:
            if lock.acquire(False):
                w.held[i] = 1
        else:
            if lock.acquire(True, 0.0005 + w.rng.random() * 0.001):
                w.held[i] = 1

    def run_worker(self, w):
        w.tid = threading.get_native_id()
        while not self.done:
            self.safe_point(w)
            if w.forker and self.forks_claimed < self.args.forks and w.rng.random() < 1.0 / self.args.fork_every:
                self.fork(w)
            else:
                self.op(w)
            w.ops += 1
        for i in list(w.held):
            for _ in range(w.held.pop(i)):
                self.locks[i].release()
        w.state = "exited"

    # ---- fork -------------------------------------------------------------------
    def fork(self, w):
        if not self.world.acquire(False):
            return
        try:
            if self.forks_claimed >= self.args.forks:
                return
            self.forks_claimed += 1
            self.stop = True
            t0 = time.monotonic()
            while True:
                s1 = [x.seq for x in self.workers]
                if self.stable(w.idx) and s1 == [x.seq for x in self.workers]:
                    break
                if time.monotonic() - t0 > self.args.stop_timeout:
                    print("py_fork_stress: the world did not stop:",
                          [(x.idx, x.state, x.target) for x in self.workers if x.state not in ("parked", "exited")],
                          flush=True)
                    os._exit(3)
                time.sleep(0.0005)
            expected = set()
            for x in self.workers:
                if x.idx != w.idx:
                    for i in x.held:
                        expected.add((self.addrs[i], x.tid))
            self.max_expected = max(self.max_expected, len(expected))
            if self.args.inject and expected:     # self-test: the check must fail
                expected.discard(next(iter(expected)))
            raw = False
            probe = w.rng.random() < 0.25 and any(x.held for x in self.workers if x.idx != w.idx)
            victim = None
            if probe:
                cands = [i for x in self.workers if x.idx != w.idx for i in x.held]
                victim = self.locks[w.rng.choice(cands)]
            pid = os.fork()
            if pid == 0:
                code = self.child_check(expected)
                if code == 0 and victim is not None:
                    victim.acquire()          # the agent must end us with 86
                    code = 14
                os._exit(code)
        finally:
            self.stop = False
            with self.park:
                self.generation += 1
                self.park.notify_all()
            self.world.release()
        if probe:
            self.blocked_probes += 1
        want = FW_EXIT_DEADLOCK if probe else 0
        t0 = time.monotonic()
        while True:
            p, st = os.waitpid(pid, os.WNOHANG)
            if p:
                break
            if time.monotonic() - t0 > self.args.child_timeout:
                if os.environ.get("FW_STRESS_GDB"):     # diagnosis: the hung child's stacks
                    import subprocess
                    subprocess.run(["timeout", "-k", "5", "60", "gdb", "-p", str(pid), "-batch", "-nx",
                                    "-ex", "thread apply all bt 25"], stdin=subprocess.DEVNULL)
                os.kill(pid, 9)
                os.waitpid(pid, 0)
                print(f"py_fork_stress: child {pid} hung (probe {probe}): killed", flush=True)
                self.bad += 1
                self.forks_done += 1
                return
            time.sleep(0.001)
        code = os.waitstatus_to_exitcode(st) if hasattr(os, "waitstatus_to_exitcode") else st >> 8
        if code != want:
            print(f"py_fork_stress: child {pid} ({'raw fork' if raw else 'os.fork'}, probe {probe}) "
                  f"exited {code}, want {want}", flush=True)
            self.bad += 1
        self.forks_done += 1

    def child_check(self, expected):
        if self.reg is None:
            return 13
        base = self.reg
        u32 = lambda off: ctypes.c_uint32.from_address(base + off).value
        if ctypes.c_uint64.from_address(base).value != FW_MAGIC:
            return 13
        off, size, cap, used = u32(144), u32(148), u32(152), u32(156)
        live = set()
        for e in range(min(used, cap)):
            a = base + off + e * size
            addr = ctypes.c_uint64.from_address(a).value
            if addr not in self.addr_index:
                continue
            if ctypes.c_uint32.from_address(a + 36).value != FW_ORPHAN_LIVE:
                continue
            live.add((addr, ctypes.c_int32.from_address(a + 20).value))
        if live == expected:
            return 0
        false = live - expected
        missed = expected - live
        msg = "py_fork_stress: child %d: %d false orphan(s) %s, %d missed %s\n" % (
            os.getpid(), len(false), sorted(self.addr_index[a] for a, _ in false)[:5],
            len(missed), sorted(self.addr_index[a] for a, _ in missed)[:5])
        os.write(2, msg.encode())
        return 10 if false and not missed else 11 if missed and not false else 12

    def main(self):
        if self.reg is None:
            print("py_fork_stress: forkwatch_registry not found: run with LD_PRELOAD=libforkwatch.so")
            return 4
        flags = ctypes.c_uint32.from_address(self.reg + 40).value
        if not flags & 1:
            print(f"py_fork_stress: agent not enabled (flags {flags:#x})")
            return 4
        for w in self.workers:
            w.thread = threading.Thread(target=self.run_worker, args=(w,), name=f"pyworker{w.idx}")
            w.thread.start()
        t0 = time.monotonic()
        while self.forks_done < self.args.forks and time.monotonic() - t0 < self.args.seconds:
            time.sleep(0.01)
        self.done = True
        self.stop = False
        with self.park:
            self.generation += 1
            self.park.notify_all()
        for w in self.workers:
            w.thread.join(30)
            if w.thread.is_alive():
                print(f"py_fork_stress: thread {w.idx} did not finish", flush=True)
                os._exit(3)
        ops = sum(w.ops for w in self.workers)
        print(f"py_fork_stress: Python {sys.version.split()[0]}, threads {len(self.workers)}, locks "
              f"{len(self.locks)}, forks {self.forks_done}/{self.args.forks}, ops {ops}, max orphans expected "
              f"{self.max_expected}, blocking probes {self.blocked_probes}, bad children {self.bad}")
        ok = self.bad == 0 and self.forks_done >= self.args.forks
        print("py_fork_stress: " + ("PASS" if ok else "FAIL"))
        return 0 if ok else 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--forkers", type=int, default=2)
    ap.add_argument("--locks", type=int, default=64)
    ap.add_argument("--hold", type=int, default=4)
    ap.add_argument("--forks", type=int, default=40)
    ap.add_argument("--fork-every", type=int, default=50)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--seconds", type=float, default=120)
    ap.add_argument("--stop-timeout", type=float, default=30)
    ap.add_argument("--child-timeout", type=float, default=30)
    ap.add_argument("--inject", action="store_true", help="self-test: hide one held lock from the truth")
    args = ap.parse_args()
    warnings.simplefilter("ignore", DeprecationWarning)   # 3.12+: fork() with threads
    sys.setswitchinterval(0.0005)
    sys.exit(Stress(args).main())


if __name__ == "__main__":
    main()
