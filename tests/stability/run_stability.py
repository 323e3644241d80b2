#!/usr/bin/env python3
"""A verdict must not depend on the instant of the attach (issue 11, point 5).

Two hung shapes — the GIL held across a raw fork (its waiter leaves a 5 ms timed wait over and
over) and a threading.Lock held at fork — are each attached N times (FORKWATCH_STABILITY_RUNS,
default 50) while CPU hogs load every core. Every one of the N diagnoses must give the same
verdict, lock kind and holder as the shape's expectation.

  python3 tests/stability/run_stability.py [--runs N] [--python PATH]
Ends with `N passed, N failed`. Interpreter: Debian's own (python3.11 on the host, the root's
first inside the matrix), or --python. The hogs and fixtures are killed by their own PIDs.
"""
import argparse
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.realpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
sys.path.insert(0, os.path.join(ROOT, "tests", "shapes"))
import fwtest  # noqa: E402
import run_shapes  # noqa: E402  (the shapes' definitions, wait_ready and analyse)

CHECKED = [("shape_gil_raw_fork", "gil-held-across-fork"), ("lock_held_at_fork", None)]


def shape_of(name):
    for sh in run_shapes.SHAPES:
        if sh.name == name:
            return sh
    # lock_held_at_fork is an issue-1 fixture, not a shape: the same protocol.
    return run_shapes.Shape(name, "fork-deadlock", {"threading.Lock", "semaphore"})


def start_hogs():
    """One busy process per core, so that the hung child and GDB compete for CPU."""
    n = os.cpu_count() or 2
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"],
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL) for _ in range(n)]


def stop_hogs(hogs):
    for h in hogs:
        fwtest.kill_pid(h.pid)
    for h in hogs:
        try:
            h.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pass


def key_of(doc):
    """What must be the same at every instant: the verdict and, per finding, kind, lock kind
    and holder (name, alive)."""
    fs = []
    for f in doc.get("findings") or []:
        lock = f.get("lock") or {}
        holder = f.get("holder") or {}
        fs.append((f.get("kind"), lock.get("kind"), holder.get("name"), holder.get("alive")))
    return (doc.get("verdict"), tuple(sorted(fs, key=repr)))


def test_stable(sh, interp, runs):
    wd = fwtest.workdir("stability-%s-%s" % (sh.name, interp.label))
    env = dict(sh.env)
    started = fwtest.start(sh.command(interp), wd, env, fixture_timeout=run_shapes.FIXTURE_TIMEOUT)
    hogs = []
    try:
        _, child = run_shapes.wait_ready(sh, started)
        hogs = start_hogs()
        seen = {}
        for i in range(runs):
            rc, doc = run_shapes.analyse(["attach", "--json", str(child)], wd)
            k = key_of(doc)
            seen.setdefault(k, []).append(i)
        fwtest.check(len(seen) == 1, "%d attaches gave %d different answers: %s" % (
            runs, len(seen), "; ".join("%r at runs %s" % (k, v[:5]) for k, v in seen.items())))
        verdict = next(iter(seen))[0]
        fwtest.check(verdict == sh.verdict, "all %d attaches said %r, want %r" % (runs, verdict, sh.verdict))
        kinds = {f[1] for f in next(iter(seen))[1]}
        fwtest.check(not sh.lock_kinds or kinds & sh.lock_kinds,
                     "lock kinds %s, want one of %s" % (sorted(map(str, kinds)), sorted(sh.lock_kinds)))
    finally:
        stop_hogs(hogs)
        started.cleanup()
        fwtest.remove_tree(wd)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=int(os.environ.get("FORKWATCH_STABILITY_RUNS", "50")))
    ap.add_argument("--python", help="interpreter path (default: Debian's own)")
    args = ap.parse_args()
    runner = fwtest.Runner("stability")
    missing = fwtest.have_build(fwtest.FORKWATCH, os.path.join(fwtest.FIXTURE_BIN, "libshape_gilfork.so"))
    if missing:
        print("stability: not built: %s" % ", ".join(missing))
        print("0 passed, 1 failed")
        return 1
    interps = fwtest.interpreters()
    if args.python:
        interps = [i for i in interps if i.path == args.python] or interps
    debian = [i for i in interps if i.is_debian] or interps[:1]
    cases = []
    for interp in debian[:1]:
        for name, _ in CHECKED:
            sh = shape_of(name)
            if sh.exists_on(interp):
                cases.append(("stability/%s/%s/%dx" % (name, interp.label, args.runs),
                              test_stable, (sh, interp, args.runs)))
    runner.run(cases)
    return runner.finish()


if __name__ == "__main__":
    sys.exit(main())
