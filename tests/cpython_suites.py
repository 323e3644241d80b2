#!/usr/bin/env python3
"""CPython's own test suites, bare and under the forkwatch agent (issue 6, section 1).

For every interpreter asked and every module, `python -m test -v MODULE` runs twice in
the same invocation: once bare and once with LD_PRELOAD=<agent> (FORKWATCH_ON_DEADLOCK=abort,
FORKWATCH_REPORT=<temp file>). The environment of both runs is identical except for
LD_PRELOAD and FORKWATCH_*. Per-test outcomes are parsed from the verbose output
("test_x (mod.Class.test_x) ... ok|FAIL|ERROR|skipped ...") and compared:

  * a test that passes bare but fails, errors, is skipped, hangs or is missing under the
    agent is a failure, unless two bare re-runs show it to be flaky (then it is reported
    as flaky), or the agent re-runs pass it (then it is reported as intermittent);
  * a run that does not finish within the module's time bound is a hang (the process
    group is killed by PID);
  * every `fork-deadlock` event in the agent's report is listed with the test that was
    running when it was written; it is a failure unless that test had the same outcome
    bare (a deadlock the test provokes on purpose);
  * a line mentioning forkwatch in the agent run's output with no event to explain it
    is a failure (the agent must not print into the program's output).

A "test" in the final count is one module x interpreter comparison. The last line is
`N passed, N failed`; the exit status is non-zero on any failure.

  python3 tests/cpython_suites.py            # the part that fits `make test` (3.11, 3.12)
  python3 tests/cpython_suites.py --full     # everything (3.11, 3.12, 3.13)
  python3 tests/cpython_suites.py --python 3.13 --module test_fork1
"""

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYENV_VERSIONS = os.path.join(os.environ.get("PYENV_ROOT", "/root/.pyenv"), "versions")

DEFAULT_VERSIONS = ["3.11", "3.12"]
FULL_VERSIONS = ["3.11", "3.12", "3.13"]

# module -> (filters in default mode or None to skip it there, per-module time bound in s)
# Filters are regrtest `-m` patterns. Full mode runs every module unfiltered.
MODULES = [
    ("test_fork1", [], 120),
    ("test_thread", [], 180),
    ("test_threading", [], 600),
    ("test_os", [], 300),
    ("test_logging", [], 400),
    ("test_queue", [], 300),
    ("test_subprocess", [], 900),   # whole module: ~30 s a run here
    ("test_concurrent_futures", None, 900),
    ("test_multiprocessing_fork", ["WithProcessesTestLock", "WithProcessesTestCondition",
                                   "WithProcessesTestEvent", "WithProcessesTestSemaphore",
                                   "WithProcessesTestQueue", "WithProcessesTestBarrier",
                                   "WithProcessesTestLogging",
                                   # Pools fork from their handler thread and leave closed
                                   # SemLocks behind: once a crash of every forked worker
                                   "WithProcessesTestPool", "WithProcessesTestPoolWorkerLifetime"], 1500),
]
# Full mode filters for test_multiprocessing_fork: the whole suite is far too long for
# any CI; these parts exercise locks, queues, pools, events and conditions across fork.
FULL_FILTERS = {
    "test_multiprocessing_fork": ["*Lock*", "*lock*", "*Condition*", "*Event*",
                                  "*Semaphore*", "*Queue*", "*queue*", "*Pool*",
                                  "*Barrier*", "*Value*", "*Process*.test_*"],
}
PER_TEST_TIMEOUT = 240  # regrtest --timeout (faulthandler dumps stacks and exits)

# 3.13 prints the duration first for some suites: "... 0.26s ok"
RESULT_RE = re.compile(
    r"(?:\d+(?:\.\d+)?s )?(ok|FAIL|ERROR|skipped|expected failure|unexpected success)\b")
START_RE = re.compile(r"^(\w+) \(([\w.]+)\)(?: \((.*)\))?")
SUMMARY_RE = re.compile(r"^(FAIL|ERROR|UNEXPECTED SUCCESS): (\w+) \(([\w.]+)\)")
OUTCOME_OF = {"ok": "ok", "FAIL": "fail", "ERROR": "error", "skipped": "skipped",
              "expected failure": "xfail", "unexpected success": "uxsuccess"}
GOOD = {"ok", "xfail"}


def log(msg):
    print(msg, flush=True)


def listed_interpreters():
    """FORKWATCH_TEST_PYTHONS (the matrix's Debian roots set it: /usr/bin/python3.13:...):
    {"3.X": path}; their `test` package is Debian's libpython3.X-testsuite."""
    found = {}
    for path in filter(None, os.environ.get("FORKWATCH_TEST_PYTHONS", "").split(":")):
        m = re.search(r"python(3\.\d+)$", path)
        if m and os.access(path, os.X_OK):
            found[m.group(1)] = path
    return found


def find_interpreter(version):
    """The listed interpreter of that version (see listed_interpreters), else
    /root/.pyenv/versions/3.X.*/bin/python3.X, newest patch level -> (full version, path)."""
    listed = listed_interpreters().get(version)
    if listed:
        out = subprocess.run([listed, "-c", "import platform; print(platform.python_version())"],
                             capture_output=True, text=True, timeout=30)
        return (out.stdout.strip() or version), listed
    if not os.path.isdir(PYENV_VERSIONS):
        return None
    cands = []
    for d in os.listdir(PYENV_VERSIONS):
        if d == version or d.startswith(version + "."):
            exe = os.path.join(PYENV_VERSIONS, d, "bin", "python" + version)
            if os.access(exe, os.X_OK):
                try:
                    key = tuple(int(x) for x in d.split("."))
                except ValueError:
                    continue
                cands.append((key, d, exe))
    if not cands:
        return None
    cands.sort()
    return cands[-1][1], cands[-1][2]


def has_module(exe, version, module):
    lib = os.path.join(os.path.dirname(os.path.dirname(exe)), "lib", "python" + version, "test")
    return os.path.isfile(os.path.join(lib, module + ".py")) or \
        os.path.isfile(os.path.join(lib, module, "__init__.py"))


# Some installs ship test._test_multiprocessing but not test_multiprocessing_fork (3.11 and
# 3.12 here): a one-line shim module, run with regrtest --testdir, builds the same suite.
SHIMS = {
    "test_multiprocessing_fork": ("_test_multiprocessing",
                                  "import test._test_multiprocessing\n"
                                  "test._test_multiprocessing.install_tests_in_module_dict(globals(), 'fork')\n"),
}


def shim_for(exe, version, module, outdir):
    """(testdir, module name) of a shim for module, or None."""
    if module not in SHIMS:
        return None
    base, text = SHIMS[module]
    if not has_module(exe, version, base):
        return None
    d = os.path.join(outdir, "shims")
    os.makedirs(d, exist_ok=True)
    name = "test_fw_" + module[len("test_"):]
    with open(os.path.join(d, name + ".py"), "w") as f:
        f.write("# forkwatch tests/cpython_suites.py: %s built from test.%s\n" % (module, base) + text)
    return d, name


class Run:
    """One `python -m test -v MODULE` process, its timestamped output and parsed outcomes."""

    def __init__(self, label):
        self.label = label
        self.lines = []          # (time_ns, text)
        self.outcomes = {}       # test id -> outcome
        self.order = []          # test ids in start order
        self.starts = []         # (time_ns, test id)
        self.status = "?"        # completed | timeout | signal N | error
        self.returncode = None
        self.duration = 0.0
        self.regrtest_result = None
        self.events = []

    def summary(self):
        counts = {}
        for o in self.outcomes.values():
            counts[o] = counts.get(o, 0) + 1
        parts = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
        return f"{parts or 'no tests'} [{self.status}, {self.duration:.0f}s]"


def test_id(name, paren):
    # 3.11+: paren is "mod.Class.test_x"; 3.8-3.10: paren is "mod.Class".
    if paren.endswith("." + name):
        return paren
    return paren + "." + name


def parse_output(run):
    """Per-test outcomes from unittest's verbose output (robust to docstring lines and
    to output written between the test's name and its result)."""
    pending = None
    for ts, line in run.lines:
        m = START_RE.match(line)
        rest = None
        if m:
            tid = test_id(m.group(1), m.group(2))
            rest = line[m.end():]
            rest = rest.split(" ... ", 1)[1] if " ... " in rest else ""
            if m.group(3) is not None:           # a subtest: "(i=1) ... FAIL"
                r = RESULT_RE.match(rest.strip())
                if r and OUTCOME_OF[r.group(1)] not in GOOD | {"skipped"}:
                    _set(run, tid, OUTCOME_OF[r.group(1)])
                continue
            pending = tid
            if tid not in run.outcomes:
                run.order.append(tid)
                run.outcomes[tid] = "missing"
                run.starts.append((ts, tid))
        elif pending is not None:
            rest = line.rsplit(" ... ", 1)[1] if " ... " in line else line
        if pending is not None and rest:
            r = RESULT_RE.match(rest.strip())
            if r:
                _set(run, pending, OUTCOME_OF[r.group(1)])
                pending = None
    # The summary blocks at the end are authoritative for failures (incl. subtests).
    for _, line in run.lines:
        m = SUMMARY_RE.match(line)
        if m:
            tid = test_id(m.group(2), m.group(3))
            out = {"FAIL": "fail", "ERROR": "error", "UNEXPECTED SUCCESS": "uxsuccess"}[m.group(1)]
            if tid not in run.outcomes:
                run.order.append(tid)
            run.outcomes[tid] = out
        if line.startswith("Result: ") or line.startswith("== Tests result: "):
            run.regrtest_result = line.split(":", 1)[1].strip(" =")
    if run.status != "completed":
        # the test running when the run was cut short hung
        for tid in reversed(run.order):
            if run.outcomes.get(tid) == "missing":
                run.outcomes[tid] = "hung"
                break


def _set(run, tid, out):
    if tid not in run.outcomes:
        run.order.append(tid)
    prev = run.outcomes.get(tid)
    if prev in ("fail", "error"):
        return
    run.outcomes[tid] = out


def run_regrtest(exe, module, filters, env, timeout, workdir, label, tests=None, testdir=None):
    run = Run(label)
    # regrtest's own per-test bound fires first (it dumps the stacks of the hung test)
    cmd = [exe, "-m", "test", "-v", f"--timeout={int(min(PER_TEST_TIMEOUT, max(10, timeout * 0.8)))}"]
    if testdir:
        cmd += ["--testdir", testdir]
    cmd.append(module)
    for f in (tests or filters or []):
        cmd += ["-m", f]
    os.makedirs(workdir, exist_ok=True)
    t0 = time.monotonic()
    try:
        proc = subprocess.Popen(cmd, cwd=workdir, env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                start_new_session=True)
    except OSError as e:
        run.status = f"error: {e}"
        return run

    def reader():
        for raw in proc.stdout:
            run.lines.append((time.time_ns(), raw.decode("utf-8", "replace").rstrip("\n")))

    th = threading.Thread(target=reader, daemon=True)
    th.start()
    try:
        proc.wait(timeout=timeout)
        run.status = "completed"
    except subprocess.TimeoutExpired:
        run.status = "timeout"
        kill_group(proc.pid)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            run.status = "timeout (unkillable)"
    # Children a test left behind hold the pipe open: end the group, bounded.
    kill_group(proc.pid)
    th.join(timeout=30)
    run.duration = time.monotonic() - t0
    run.returncode = proc.returncode
    if run.status == "completed" and any(re.search(r"Timeout \([0-9:]+\)!", l) for _, l in run.lines):
        run.status = "hung (regrtest per-test timeout)"
    if run.status == "completed" and proc.returncode is not None and proc.returncode < 0:
        run.status = f"signal {-proc.returncode}"
    parse_output(run)
    return run


def kill_group(pgid):
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def read_events(path):
    events = []
    try:
        with open(path, "r", encoding="utf-8", errors="replace") as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                try:
                    events.append(json.loads(line))
                except ValueError:
                    events.append({"event": "unparsable-line", "raw": line[:200]})
    except FileNotFoundError:
        pass
    return events


def test_at(run, t_ns):
    cur = None
    for ts, tid in run.starts:
        if ts <= t_ns:
            cur = tid
        else:
            break
    return cur


def base_environment(agent):
    env = {k: v for k, v in os.environ.items() if not k.startswith("FORKWATCH_")}
    pre = [p for p in env.get("LD_PRELOAD", "").replace(":", " ").split()
           if os.path.basename(p) != os.path.basename(agent) and "forkwatch" not in p]
    if pre:
        env["LD_PRELOAD"] = " ".join(pre)
    else:
        env.pop("LD_PRELOAD", None)
    return env


def agent_environment(base, agent, report):
    env = dict(base)
    env["LD_PRELOAD"] = agent + ((" " + base["LD_PRELOAD"]) if base.get("LD_PRELOAD") else "")
    env["FORKWATCH_ON_DEADLOCK"] = "abort"
    env["FORKWATCH_REPORT"] = report
    return env


AGENT_PROBE = r"""
import ctypes, sys
try:
    reg = ctypes.c_uint64.in_dll(ctypes.CDLL(None), "forkwatch_registry")
except ValueError:
    print("no forkwatch_registry symbol in the process"); sys.exit(1)
base = ctypes.addressof(reg)
magic = ctypes.c_uint64.from_address(base).value
flags = ctypes.c_uint32.from_address(base + 40).value
if magic != 0x31484354574b5246:
    print("bad registry magic %#x" % magic); sys.exit(1)
if not flags & 1:
    print("agent loaded but not enabled (flags %#x)" % flags); sys.exit(1)
print("agent enabled (flags %#x)" % flags)
"""


def agent_sanity(exe, base_env, agent, outdir):
    """The agent really is loaded and enabled in this interpreter under the agent environment."""
    env = agent_environment(base_env, agent, os.path.join(outdir, "sanity-report.jsonl"))
    try:
        p = subprocess.run([exe, "-c", AGENT_PROBE], env=env, stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        return False, "the probe timed out under the agent"
    out = (p.stdout + p.stderr).strip().replace("\n", " | ")
    return p.returncode == 0, out


def compare(exe, version, module, filters, timeout, agent, outdir, base_env, reruns, testdir=None, jobs=1):
    """One module x interpreter comparison. Returns (ok, lines, details)."""
    tag = f"{version} {module}"
    work = tempfile.mkdtemp(prefix=f"fw-cpy-{version}-{module}-", dir=outdir)
    report = os.path.join(work, "agent-report.jsonl")
    agent_env = agent_environment(base_env, agent, report)

    args_bare = (exe, module, filters, base_env, timeout, os.path.join(work, "bare"), "bare")
    args_ag = (exe, module, filters, agent_env, timeout, os.path.join(work, "agent"), "agent")
    if jobs >= 2:
        # bare and agent side by side: both see the same load
        res = {}
        ths = [threading.Thread(target=lambda k, a: res.__setitem__(k, run_regrtest(*a, testdir=testdir)),
                                args=(k, a)) for k, a in (("bare", args_bare), ("agent", args_ag))]
        for th in ths:
            th.start()
        for th in ths:
            th.join()
        bare, ag = res["bare"], res["agent"]
    else:
        bare = run_regrtest(*args_bare, testdir=testdir)
        ag = run_regrtest(*args_ag, testdir=testdir)
    for r in (bare, ag):
        with open(os.path.join(outdir, f"{version}-{module}-{r.label}.log"), "w") as f:
            for _, line in r.lines:
                f.write(line + "\n")
    ag.events = read_events(report)
    shutil.copy(report, os.path.join(outdir, f"{version}-{module}-agent-report.jsonl")) \
        if os.path.exists(report) else None

    problems, notes = [], []
    if bare.status != "completed":
        notes.append(f"bare run {bare.status}")
    if ag.status != "completed" and bare.status == "completed":
        problems.append(f"agent run {ag.status} (bare run completed)")
    if not bare.outcomes:
        problems.append("no test result parsed from the bare run (see log)")

    # per-test comparison
    diffs = []
    for tid in bare.order:
        b = bare.outcomes[tid]
        a = ag.outcomes.get(tid, "missing")
        if b in GOOD and a not in GOOD:
            diffs.append((tid, b, a))
        elif b == "skipped" and a not in ("skipped",) + tuple(GOOD):
            diffs.append((tid, b, a))
        elif b != a and b not in GOOD:
            notes.append(f"{tid}: bare {b}, agent {a}")
    extra = [t for t in ag.order if t not in bare.outcomes and ag.outcomes[t] not in GOOD | {"skipped"}]
    for tid in extra:
        diffs.append((tid, "absent", ag.outcomes[tid]))

    # re-run the differing tests to tell flaky tests from agent failures
    if diffs:
        ids = [d[0] for d in diffs if d[1] != "absent"][:40]
        bare_bad, agent_bad = {t: 0 for t in ids}, {t: 0 for t in ids}
        for i in range(reruns):
            rb = run_regrtest(exe, module, None, base_env, timeout, os.path.join(work, f"rb{i}"),
                              f"bare-rerun{i}", tests=ids, testdir=testdir)
            ra = run_regrtest(exe, module, None, agent_environment(base_env, agent, report + f".rr{i}"),
                              timeout, os.path.join(work, f"ra{i}"), f"agent-rerun{i}", tests=ids,
                              testdir=testdir)
            for t in ids:
                if rb.outcomes.get(t, "missing") not in GOOD and rb.outcomes.get(t) != "skipped":
                    bare_bad[t] += 1
                if ra.outcomes.get(t, "missing") not in GOOD:
                    agent_bad[t] += 1
        for tid, b, a in diffs:
            if tid not in bare_bad:   # beyond the first 40: not re-run
                problems.append(f"{tid}: bare {b}, agent {a} (not re-run)")
                continue
            if b == "absent":
                problems.append(f"{tid}: only under the agent, {a}")
                continue
            tries = 1 + reruns
            if bare_bad[tid]:
                notes.append(f"FLAKY {tid}: bare {b} then not in {bare_bad[tid]}/{reruns} bare re-runs; "
                             f"agent {a}")
            elif (1 + agent_bad[tid]) * 2 <= tries:
                notes.append(f"INTERMITTENT {tid}: agent {a}, but passed {reruns - agent_bad[tid]}/"
                             f"{reruns} agent re-runs; bare passed {tries}/{tries}")
            else:
                problems.append(f"{tid}: bare {b}, agent {a} (agent failed {agent_bad[tid] + 1}/{tries}, "
                                f"bare passed {tries}/{tries})")

    # events
    deadlocks = [e for e in ag.events if e.get("event") == "fork-deadlock"]
    hazards = [e for e in ag.events if e.get("event") == "fork-hazard"]
    warnings = [e for e in ag.events if e.get("event") == "agent-warning"]
    others = [e for e in ag.events if e.get("event") not in ("fork-deadlock", "fork-hazard", "agent-warning")]
    for e in deadlocks:
        t = test_at(ag, int(e.get("time_ns") or 0))
        lock = e.get("lock") or {}
        holder = e.get("holder") or {}
        desc = (f"fork-deadlock pid {e.get('pid')} lock {lock.get('address')} ({lock.get('kind')}) "
                f"holder {holder.get('name')!r} tid {holder.get('tid')} during {t}")
        if t is not None and bare.outcomes.get(t) == ag.outcomes.get(t) and \
                t not in [d[0] for d in diffs]:
            notes.append(desc + f" -- tolerated: outcome {ag.outcomes.get(t)} as bare")
        else:
            problems.append(desc + f" -- outcome bare {bare.outcomes.get(t)}, agent {ag.outcomes.get(t)}")
    if hazards:
        notes.append(f"{len(hazards)} fork-hazard event(s) (try/timed acquire of an orphan; informational)")
    for e in warnings:
        # a full table of the agent (e.g. concurrent.futures.wait holds one lock per future):
        # the agent's record is incomplete, the program's behaviour and output are not changed
        notes.append(f"agent-warning pid {e.get('pid')}: {str(e.get('message'))[:160]}")
    for e in others:
        problems.append(f"unknown event in report: {json.dumps(e)[:200]}")

    # the agent must not print into the program's output
    bare_fw = {l for _, l in bare.lines if "forkwatch" in l.lower()}
    ag_fw = [l for _, l in ag.lines if "forkwatch" in l.lower() and l not in bare_fw]
    if ag_fw and not deadlocks:
        problems.append(f"agent printed into the test output ({len(ag_fw)} line(s)), first: {ag_fw[0][:160]!r}")

    ok = not problems
    lines = [f"[{'PASS' if ok else 'FAIL'}] {tag}: bare {bare.summary()}; agent {ag.summary()}; "
             f"events: {len(deadlocks)} deadlock, {len(hazards)} hazard"]
    lines += [f"    problem: {p}" for p in problems]
    lines += [f"    note: {n}" for n in notes[:30]]
    if len(notes) > 30:
        lines.append(f"    note: ... {len(notes) - 30} more")
    shutil.rmtree(work, ignore_errors=True)
    return ok, lines


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--full", action="store_true", help="all modules, unfiltered, and 3.13")
    ap.add_argument("--python", action="append", metavar="3.X",
                    help="interpreter version(s) to run (default 3.11 3.12; --full adds 3.13)")
    ap.add_argument("--module", action="append", help="only these modules")
    ap.add_argument("--match", action="append", help="regrtest -m patterns (replace the mode's filters)")
    ap.add_argument("--agent", default=os.path.join(ROOT, "build", "libforkwatch.so"))
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "cpython_suites"),
                    help="logs and reports are kept here")
    ap.add_argument("--reruns", type=int, default=2, help="re-runs of differing tests (bare and agent)")
    ap.add_argument("--jobs", type=int, default=2,
                    help="2: the bare and the agent run of a module side by side (default); 1: one after the other")
    ap.add_argument("--timeout-scale", type=float, default=float(os.environ.get("FW_TIMEOUT_SCALE", "1")))
    args = ap.parse_args()

    versions = args.python or sorted(listed_interpreters(), key=lambda v: int(v.split(".")[1])) \
        or (FULL_VERSIONS if args.full else DEFAULT_VERSIONS)
    agent = os.path.abspath(args.agent)
    args.out = os.path.abspath(args.out)   # the shim directory is passed to regrtest, which runs elsewhere
    passed = failed = 0
    if not os.path.isfile(agent):
        log(f"cpython_suites: agent not found: {agent} (build it with `make build/libforkwatch.so`)")
        log("0 passed, 1 failed")
        return 1
    os.makedirs(args.out, exist_ok=True)
    base_env = base_environment(agent)

    interps = []
    for v in versions:
        found = find_interpreter(v)
        if not found:
            log(f"cpython_suites: interpreter {v} not found under {PYENV_VERSIONS}: FAIL")
            failed += 1
            continue
        interps.append((v,) + found)
    log("cpython_suites: mode " + ("full" if args.full else "default") + "; interpreters: " +
        ", ".join(f"{full} ({exe})" for v, full, exe in interps))
    log(f"cpython_suites: agent {agent}; logs in {args.out}")

    for v, full, exe in interps:
        ok, msg = agent_sanity(exe, base_env, agent, args.out)
        if not ok:
            log(f"[FAIL] {v}: the agent is not active under LD_PRELOAD: {msg}")
            failed += 1
            continue
        log(f"cpython_suites: {v}: {msg}")
        for module, filters, timeout in MODULES:
            if args.module and module not in args.module:
                continue
            if args.full:
                filters = FULL_FILTERS.get(module, [])
            elif filters is None and not args.module:
                continue
            filters = args.match or filters or []
            testdir, run_name, via = None, module, ""
            if not has_module(exe, v, module):
                shim = shim_for(exe, v, module, args.out)
                if not shim:
                    log(f"[SKIP] {v} {module}: not shipped with CPython {full} here")
                    continue
                testdir, run_name = shim
                via = f" (as {run_name}, a shim over test.{SHIMS[module][0]})"
            t0 = time.monotonic()
            ok, lines = compare(exe, v, run_name, filters, timeout * args.timeout_scale, agent,
                                args.out, base_env, args.reruns, testdir=testdir, jobs=args.jobs)
            lines[0] += via
            lines[0] += f" ({time.monotonic() - t0:.0f}s" + \
                (f", filters {' '.join(filters)}" if filters else "") + ")"
            for l in lines:
                log(l)
            if ok:
                passed += 1
            else:
                failed += 1
    log(f"CPython interpreters that ran: {', '.join(full for _, full, _ in interps) or 'none'}")
    log(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
