"""forkwatch benchmark harness (issue 5) — run by bench/run_bench.sh.

Every case runs as separate processes with and without the agent, alternated
in pairs (A B, B A, A B, ...) in one process tree, and the cases of a group are
visited round-robin, so that the machine's drift (other people's compiles)
hits both sides alike. Per case we report the median of each side, the median
of the per-pair ratios agent/baseline (or differences, for fork latency), the
number of pairs and the spread (25th–75th percentile of the pair ratios).

Environment (all optional):
  BENCH_QUICK=1          one-minute smoke run (fewer runs, smaller counts)
  BENCH_ONLY=a,b         groups to run: micro,python,fork,mem,diag,snapshot,watchdog (default all)
  BENCH_RUNS=N           pairs per case for micro/python/fork   (default 9; quick 3)
  BENCH_MEM_RUNS=N       pairs per memory case                  (default 3; quick 1)
  BENCH_DIAG_RUNS=N      pairs per diagnosis case               (default 4; quick 1)
  BENCH_WATCHDOG_RUNS=N  pairs for the watchdog's cost          (default 3; quick 1)
  BENCH_SNAPSHOT_RUNS=N  pairs for snapshot against GDB's bt    (default 7; quick 2)
  BENCH_SCALE=F          multiplies iteration counts            (default 1; quick 0.25)
  BENCH_PYTHONS=a:b      interpreters for the Python group (default: /usr/bin/python3.11
                         and the newest CPython under the pyenv root)
  FORKWATCH_AGENT=PATH   the agent to preload (default build/libforkwatch.so)
  FORKWATCH_BIN=PATH     the forkwatch command (default build/forkwatch)
  BENCH_OUT=DIR          where results.md / results.json go (default build/bench)
"""
import glob
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, "build")
BENCH_BIN = os.path.join(BUILD, "bench")
BENCH_SRC = os.path.join(ROOT, "bench")

QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")


def env_int(name, default, quick):
    v = os.environ.get(name)
    if v:
        return max(1, int(v))
    return quick if QUICK else default


RUNS = env_int("BENCH_RUNS", 9, 3)
MEM_RUNS = env_int("BENCH_MEM_RUNS", 3, 1)
DIAG_RUNS = env_int("BENCH_DIAG_RUNS", 4, 1)
WATCHDOG_RUNS = env_int("BENCH_WATCHDOG_RUNS", 3, 1)
SNAPSHOT_RUNS = env_int("BENCH_SNAPSHOT_RUNS", 7, 2)
SCALE = float(os.environ.get("BENCH_SCALE") or (0.25 if QUICK else 1.0))
ONLY = set(filter(None, (os.environ.get("BENCH_ONLY") or "micro,python,fork,mem,diag,snapshot,watchdog").split(",")))
AGENT = os.path.abspath(os.environ.get("FORKWATCH_AGENT") or os.path.join(BUILD, "libforkwatch.so"))
FORKWATCH = os.path.abspath(os.environ.get("FORKWATCH_BIN") or os.path.join(BUILD, "forkwatch"))
OUT = os.path.abspath(os.environ.get("BENCH_OUT") or BENCH_BIN)
SYS_PY = "/usr/bin/python3.11"

# ---------------------------------------------------------------- processes

_live = {}  # pid -> Popen, everything we started and have not reaped


def _kill(p):
    """Kill a process we started (and its process group, which is its own)."""
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass
    _live.pop(p.pid, None)


def _on_signal(signum, _frame):
    for p in list(_live.values()):
        _kill(p)
    sys.stderr.write("bench: interrupted (signal %d); killed %d processes\n" % (signum, len(_live)))
    sys.exit(130)


def base_env():
    env = {k: v for k, v in os.environ.items()
           if k != "LD_PRELOAD" and not k.startswith("FORKWATCH_") and not k.startswith("BENCH_")}
    env["LC_ALL"] = "C"
    return env


def agent_env(extra=None):
    env = base_env()
    env["LD_PRELOAD"] = AGENT
    if extra:
        env.update(extra)
    return env


def run(cmd, env, timeout=120, capture=True):
    """Run cmd in its own session with a time bound. Returns (rc, stdout, seconds)."""
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
                         stderr=subprocess.PIPE if capture else subprocess.DEVNULL,
                         stdin=subprocess.DEVNULL, start_new_session=True, cwd=ROOT)
    _live[p.pid] = p
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill(p)
        return None, "", time.monotonic() - t0
    dt = time.monotonic() - t0
    _live.pop(p.pid, None)
    text = (out or b"").decode("utf-8", "replace")
    if capture and p.returncode != 0 and err:
        text += "\n[stderr] " + err.decode("utf-8", "replace")[-2000:]
    return p.returncode, text, dt


def parse_kv(text, key):
    m = re.search(r"\b%s=([-0-9.]+)" % re.escape(key), text)
    return float(m.group(1)) if m else None


# ---------------------------------------------------------------- statistics

def pct(xs, q):
    xs = sorted(xs)
    if not xs:
        return float("nan")
    k = (len(xs) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


class Case:
    def __init__(self, group, name, unit, target=None, kind="ratio", note=""):
        self.group, self.name, self.unit = group, name, unit
        self.target = target          # ratio limit (kind=ratio) or added limit (kind=added)
        self.kind = kind              # "ratio" | "added" | "info"
        self.base, self.agent = [], []
        self.errors = []
        self.note = note

    def pairs(self):
        return [(b, a) for b, a in zip(self.base, self.agent) if b is not None and a is not None]

    def summary(self):
        pr = self.pairs()
        s = {"group": self.group, "case": self.name, "unit": self.unit, "n": len(pr),
             "target": self.target, "kind": self.kind, "base_runs": self.base, "agent_runs": self.agent,
             "errors": self.errors[:5], "note": self.note}
        if not pr:
            return s
        bs, ag = [b for b, _ in pr], [a for _, a in pr]
        s["base"] = statistics.median(bs)
        s["agent"] = statistics.median(ag)
        ratios = [a / b for b, a in pr if b > 0]
        diffs = [a - b for b, a in pr]
        if ratios:
            s["ratio"] = statistics.median(ratios)
            s["ratio_p25"], s["ratio_p75"] = pct(ratios, 0.25), pct(ratios, 0.75)
        s["added"] = statistics.median(diffs)
        s["added_p25"], s["added_p75"] = pct(diffs, 0.25), pct(diffs, 0.75)
        return s


def fmt_val(v, unit):
    if v is None:
        return "—"
    if unit == "ns":
        return "%.1f ns" % v if v < 1000 else "%.2f µs" % (v / 1e3)
    if unit == "us":
        return "%.0f µs" % v if v < 10000 else "%.1f ms" % (v / 1e3)
    if unit == "s":
        return "%.2f s" % v
    if unit == "kB":
        return "%.1f MiB" % (v / 1024) if v >= 10240 else "%.0f kB" % v
    if unit == "B":
        return "%.0f B" % v
    return "%.3g %s" % (v, unit)


def judge(s):
    """(ratio text, spread text, target text, met text) for one summary."""
    if "base" not in s:
        return "—", "—", target_text(s), "error"
    if s["kind"] == "added":
        added = s["added"]
        ratio = "+" + fmt_val(added, s["unit"]) if added >= 0 else "−" + fmt_val(-added, s["unit"])
        spread = "%s … %s" % (fmt_val(s["added_p25"], s["unit"]), fmt_val(s["added_p75"], s["unit"]))
        if s["target"] is None:
            return ratio, spread, "—", "—"
        met = "yes" if added <= s["target"] else "no"
        if s["added_p25"] <= s["target"] <= s["added_p75"]:
            met += " (noisy)"
        return ratio, spread, target_text(s), met
    ratio = "%.3f×" % s["ratio"] if "ratio" in s else "—"
    if "ratio" in s and s["unit"] == "ns":  # absolute cost too: ratios depend on the baseline
        ratio += " (%+.1f ns)" % s["added"]
    spread = "%.3f–%.3f" % (s["ratio_p25"], s["ratio_p75"]) if "ratio" in s else "—"
    if s["target"] is None or "ratio" not in s:
        return ratio, spread, "—", "—"
    met = "yes" if s["ratio"] <= s["target"] else "no"
    if s["ratio_p25"] <= s["target"] <= s["ratio_p75"]:
        met += " (noisy)"
    return ratio, spread, target_text(s), met


def target_text(s):
    if s["target"] is None:
        return "—"
    if s["kind"] == "added":
        return "≤ +" + fmt_val(s["target"], s["unit"])
    return "≤ %.2f×" % s["target"]


# ---------------------------------------------------------------- groups

def paired(cases, make_cmd, runs, parse, timeout=120, agent_extra=None):
    """Round-robin over cases, runs pairs each, alternating which side goes first."""
    for i in range(runs):
        for c in cases:
            sides = [("base", base_env()), ("agent", agent_env(agent_extra))]
            if i % 2:
                sides.reverse()
            for side, env in sides:
                if getattr(c, "hung_" + side, False):
                    getattr(c, side).append(None)  # timed out before: do not wait again
                    continue
                cmd = make_cmd(c)
                rc, out, dt = run(cmd, env, timeout=timeout)
                v = parse(out, dt) if rc == 0 else None
                if rc is None:
                    setattr(c, "hung_" + side, True)
                    c.errors.append("%s run %d timed out after %d s (killed); side skipped from now on"
                                    % (side, i, timeout))
                elif v is None:
                    c.errors.append("%s run %d rc=%s: %s" % (side, i, rc, out.strip()[-300:]))
                getattr(c, side).append(v)
        progress("  pass %d/%d done" % (i + 1, runs))


def progress(msg):
    sys.stderr.write("[bench %s] %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


MICRO = [
    # case, iterations per batch, target ratio
    ("mutex_1t", 2000000, None),
    ("mutex_2t_uncontended", 2000000, 1.15),
    ("mutex_nested4", 500000, None),
    ("sem_wait_post", 2000000, 1.20),
    ("mutex_2t_contended", 1000000, None),
    ("rwlock_read_1t", 2000000, 1.20),
    ("rwlock_read_2t", 1000000, 1.20),
    ("cond_pingpong", 20000, None),
]

MICRO_LABEL = {
    "mutex_1t": "C mutex lock+unlock, 1 thread",
    "mutex_2t_uncontended": "C mutex, 2 threads uncontended (own mutex each)",
    "mutex_nested4": "C mutex, 4 nested (per pair)",
    "sem_wait_post": "C sem_wait+sem_post, 1 thread",
    "mutex_2t_contended": "C mutex, 2 threads contended (wall/op)",
    "rwlock_read_1t": "C rwlock rdlock+unlock, 1 thread",
    "rwlock_read_2t": "C rwlock rdlock+unlock, 2 threads shared",
    "cond_pingpong": "C condvar ping-pong (per hand-over)",
}


def group_micro():
    exe = os.path.join(BENCH_BIN, "lockbench")
    cases = []
    for name, iters, target in MICRO:
        c = Case("micro", MICRO_LABEL[name], "ns", target)
        c.iters = max(1000, int(iters * SCALE))
        c.key = name
        cases.append(c)
    paired(cases, lambda c: [exe, c.key, str(c.iters), "5"], RUNS,
           lambda out, dt: parse_kv(out, "ns_per_op"), timeout=60)
    return cases


def newest_cpython():
    best = None
    for p in glob.glob("/root/.pyenv/versions/*/bin/python3.*"):
        m = re.search(r"/versions/(\d+)\.(\d+)\.(\d+)/bin/python(\d+)\.(\d+)$", p)
        if not m or not os.access(p, os.X_OK):
            continue
        v = tuple(int(x) for x in m.groups()[:3])
        if v[0] == 3 and (best is None or v > best[0]):
            best = (v, p)
    return best[1] if best else None


def py_version(py):
    rc, out, _ = run([py, "-c", "import platform;print(platform.python_version())"], base_env(), timeout=30)
    return out.strip() if rc == 0 else "?"


PY_CASES = [("lock", "threading.Lock acquire+release"), ("rlock", "threading.RLock acquire+release"),
            ("queue", "queue.Queue put→get between 2 threads"), ("tpe_log", "ThreadPoolExecutor(4) task that logs")]


def group_python():
    pythons = os.environ.get("BENCH_PYTHONS")
    # /usr/bin/python3.14: the PyMutex-era rows (inside the sid root, tests/run_in_root.sh)
    pythons = pythons.split(":") if pythons else [SYS_PY, newest_cpython(), "/usr/bin/python3.14"]
    pythons = [p for p in dict.fromkeys(pythons) if p and os.access(p, os.X_OK)]
    script = os.path.join(BENCH_SRC, "pybench.py")
    cases = []
    for py in pythons:
        ver = py_version(py)
        for key, label in PY_CASES:
            c = Case("python", "Py %s %s" % (ver, label), "ns", 1.03)
            c.py, c.key = py, key
            cases.append(c)
    paired(cases, lambda c: [c.py, script, c.key, str(SCALE), "5"], RUNS,
           lambda out, dt: parse_kv(out, "ns_per_op"), timeout=90)
    return cases


def group_fork():
    exe = os.path.join(BENCH_BIN, "forkbench")
    nforks = str(10 if QUICK else 30)
    cases = []
    threads = (10, 100) if QUICK else (10, 100, 1000)
    for t in threads:
        for h in (0, 10, 1000):
            target = 1000.0 if (t, h) == (100, 10) else None
            note = ""
            if h > 32 * t:
                note = "more locks per thread than the agent's %d per-thread slots" % 32
            c = Case("fork", "fork(), %d threads, %d locks held by others" % (t, h), "us", target, "added", note)
            c.cmd = [exe, str(t), str(h), nforks]
            cases.append(c)
    pyscript = os.path.join(BENCH_SRC, "pyforkbench.py")
    # 3.11 (a Lock is a PyThread_type_lock the agent sees through sem_*) and, in the sid root,
    # 3.14 (a Lock is a PyMutex taken inline: issue 10's "no more than 1 ms added to a fork
    # with 100 threads").
    for py, ver in ((SYS_PY, "3.11"), ("/usr/bin/python3.14", "3.14")):
        if not os.access(py, os.X_OK):
            continue
        for t, h in ((10, 10), (100, 10)):
            target = 1000.0 if (ver, t) == ("3.14", 100) else None
            c = Case("fork", "Py %s os.fork(), %d threads, %d Locks held (Python stacks captured)" % (ver, t, h),
                     "us", target, "added")
            c.cmd = [py, pyscript, str(t), str(h), nforks]
            cases.append(c)
    paired(cases, lambda c: c.cmd, RUNS, lambda out, dt: parse_kv(out, "fork_us"), timeout=60)
    return cases


def group_mem():
    exe = os.path.join(BENCH_BIN, "membench")
    cases = []
    for n in (10, 10000, 100000):
        c = Case("mem", "RSS, %s live locks, 1000 threads" % ("10^%d" % len(str(n // 10)) if n > 10 else "10"),
                 "kB", None, "added")
        c.nlocks = n
        cases.append(c)
    info = {}

    def parse(out, dt):
        if "agent=1" in out:
            info["agent_seen"] = True
            info["agent_flags"] = re.search(r"agent_flags=(\S+)", out).group(1)
        info["registry_bytes"] = parse_kv(out, "registry_bytes")
        return parse_kv(out, "rss_kb")

    paired(cases, lambda c: [exe, str(c.nlocks), "1000"], MEM_RUNS, parse, timeout=60)
    # Derived: per-lock slope and fixed cost. From 10^4 to 10^5 locks the threads
    # and the held locks are the same (1000 each); only the number of live locks grows.
    derived = []
    sums = [c.summary() for c in cases]
    if all("added" in x for x in sums):
        slope = Case("mem", "agent bytes per live lock (10^4 → 10^5 locks)", "B", 64.0, "added")
        slope.base = [0.0]
        slope.agent = [max(0.0, (sums[2]["added"] - sums[1]["added"]) * 1024 / (100000 - 10000))]
        slope.note = "(Δ agent RSS at 10^5 locks − Δ at 10^4) / 90000; same 1000 threads and 1000 held locks"
        derived.append(slope)
        reg = info.get("registry_bytes") or 0
        fixed = Case("mem", "agent fixed cost (largest Δ RSS above)", "kB", reg / 1024 + 4096, "added")
        fixed.base = [0.0]
        fixed.agent = [max(x["added"] for x in sums)]
        fixed.note = "bound = registry (%.1f MiB, sizeof struct fw_registry) + 4 MiB code/libs" % (reg / 1048576)
        derived.append(fixed)
    return cases + derived, info


# ---------------------------------------------------------------- diagnosis

def read_events(path):
    ev = {}
    try:
        with open(path) as f:
            for line in f:
                if "=" in line:
                    k, v = line.strip().split("=", 1)
                    ev[k] = v
    except OSError:
        pass
    return ev


def proc_state(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def all_tasks_sleeping(pid):
    try:
        tasks = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return False, 0
    for t in tasks:
        try:
            with open("/proc/%d/task/%s/stat" % (pid, t)) as f:
                if f.read().rsplit(")", 1)[1].split()[0] != "S":
                    return False, len(tasks)
        except (OSError, IndexError):
            return False, len(tasks)
    return True, len(tasks)


def start_hang(nthreads, tmp, agent):
    """Start the hang program; return (parent Popen, child pid, nthreads seen) once the child hangs."""
    events = os.path.join(tmp, "events-%d-%d" % (nthreads, int(agent)))
    if os.path.exists(events):
        os.unlink(events)
    env = agent_env({"FORKWATCH_ON_DEADLOCK": "warn", "FORKWATCH_QUIET": "1"}) if agent else base_env()
    env.pop("PYTHONUNBUFFERED", None)
    p = subprocess.Popen([SYS_PY, os.path.join(BENCH_SRC, "hang_fork.py"), str(nthreads), events, "900"],
                         env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True, cwd=ROOT)
    _live[p.pid] = p
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ev = read_events(events)
        if "child_blocking" in ev and "child_pid" in ev:
            child = int(ev["child_pid"])
            ok, n = all_tasks_sleeping(child)
            if ok and n >= nthreads:
                return p, child, n
        if p.poll() is not None:
            break
        time.sleep(0.05)  # polling interval of a bounded wait
    stop_hang(p, None)
    raise RuntimeError("hang program with %d threads did not reach its hang (events: %s)" % (nthreads, read_events(events)))


def stop_hang(p, child):
    if child:
        try:
            os.kill(child, signal.SIGKILL)
        except ProcessLookupError:
            pass
    _kill(p)


def group_diag():
    cases = []
    notes = []
    if not os.access(SYS_PY, os.X_OK) or not shutil.which("gdb"):
        return cases, ["diagnosis group skipped: needs /usr/bin/python3.11 and gdb"]
    if not os.access(FORKWATCH, os.X_OK):
        return cases, ["diagnosis group skipped: %s not built" % FORKWATCH]
    gdb_bt = ["-ex", "thread apply all bt", "-ex", "py-bt"]
    tmp = tempfile.mkdtemp(prefix="fwbench-", dir=BENCH_BIN)
    variants = [(n, False) for n in ((2,) if QUICK else (2, 100))]
    if os.access(AGENT, os.R_OK) and not QUICK:
        variants.append((100, True))
    try:
        for nthreads, agent in variants:
            p, child, seen = start_hang(nthreads, tmp, agent)
            tag = " (agent in the hung process)" if agent else ""
            try:
                live = Case("diag", "attach, hung child with %d threads%s" % (seen, tag), "s", 1.30)
                live.cmds = (["gdb", "-batch", "-p", str(child)] + gdb_bt,
                             [FORKWATCH, "attach", str(child)])
                timed_pair(live, notes)
                cases.append(live)
                if agent:
                    continue
                core_base = os.path.join(tmp, "core")
                rc, _, dt = run(["gcore", "-o", core_base, str(child)], base_env(), timeout=300)
                core = "%s.%d" % (core_base, child)
                if rc != 0 or not os.path.exists(core):
                    notes.append("gcore failed for %d threads (rc=%s)" % (nthreads, rc))
                    continue
                notes.append("core of the %d-thread child: %.0f MB, gcore took %.1f s" %
                             (seen, os.path.getsize(core) / 1e6, dt))
                c = Case("diag", "core, hung child with %d threads" % seen, "s", 1.30)
                c.cmds = (["gdb", "-batch", SYS_PY, core] + gdb_bt, [FORKWATCH, "core", core])
                try:
                    timed_pair(c, notes)
                finally:
                    os.unlink(core)
                cases.append(c)
            finally:
                stop_hang(p, child)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return cases, notes


def timed_pair(c, notes):
    """One untimed warm-up of each command (checks its output), then DIAG_RUNS timed pairs."""
    gdb_cmd, fw_cmd = c.cmds
    rc, out, dt = run(gdb_cmd, base_env(), timeout=300)
    if QUICK:  # the check run is the first timed run
        c.base.append(dt if rc == 0 else None)
    if "Traceback (most recent call first)" not in out:
        notes.append("%s: GDB's py-bt printed no Python traceback (rc=%s)" % (c.name, rc))
    rc, out, dt = run(fw_cmd, base_env(), timeout=300)
    if QUICK:
        c.agent.append(dt if rc in (0, 1) else None)
    verdict = re.search(r"\b(FORK-DEADLOCK|GIL-HELD-ACROSS-FORK|DEADLOCK|ORPHANED-LOCK|NO-DEADLOCK)\b", out)
    findings = len(re.findall(r"^\[[a-z-]+\]", out, re.M))
    notes.append("%s: forkwatch exit %s, verdict %s, %d findings, %d output lines" %
                 (c.name, rc, verdict.group(1) if verdict else "none", findings, out.count("\n")))
    fw_ok = rc in (0, 1)
    if not fw_ok:
        c.errors.append("forkwatch rc=%s: %s (forkwatch not timed)" % (rc, out.strip()[-300:]))
    for i in range(0 if QUICK else DIAG_RUNS):
        order = [("base", gdb_cmd), ("agent", fw_cmd)]
        if i % 2:
            order.reverse()
        for side, cmd in order:
            if side == "agent" and not fw_ok:
                c.agent.append(None)
                continue
            rc, _, dt = run(cmd, base_env(), timeout=300, capture=False)
            ok = rc == 0 if side == "base" else rc in (0, 1)
            getattr(c, side).append(dt if ok else None)
            if not ok:
                c.errors.append("%s rc=%s" % (side, rc))
    progress("  %s done" % c.name)


def start_many_libs(tmp):
    """bench/hang_many_libs.py; returns (parent Popen, hung child pid, libraries it maps)."""
    events = os.path.join(tmp, "events-libs")
    p = subprocess.Popen([SYS_PY, os.path.join(BENCH_SRC, "hang_many_libs.py"), events, "900"],
                         env=base_env(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True, cwd=ROOT)
    _live[p.pid] = p
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ev = read_events(events)
        if "child_blocking" in ev and "child_pid" in ev:
            child = int(ev["child_pid"])
            if all_tasks_sleeping(child)[0]:
                return p, child, int(ev.get("child_libs", 0))
        if p.poll() is not None:
            break
        time.sleep(0.05)  # polling interval of a bounded wait
    stop_hang(p, None)
    raise RuntimeError("hang_many_libs.py did not reach its hang (events: %s)" % read_events(events))


def group_snapshot():
    """Issue 20: `forkwatch snapshot PID --json` (libdw, no GDB) against
    `gdb -p PID -batch -ex 'thread apply all bt'`, side by side in alternated pairs on one hung
    child with ~90 shared libraries; and how long the snapshot kept the child stopped (the
    command's own stopped_us, first PTRACE_INTERRUPT to last PTRACE_DETACH)."""
    if not os.access(SYS_PY, os.X_OK) or not shutil.which("gdb"):
        return [], ["snapshot group skipped: needs /usr/bin/python3.11 and gdb"]
    tmp = tempfile.mkdtemp(prefix="fwbench-", dir=BENCH_BIN)
    notes = []
    try:
        p, child, nlibs = start_many_libs(tmp)
        try:
            speed = Case("snapshot", "snapshot vs gdb bt, hung child with %d libraries" % nlibs, "s", 0.20)
            stop = Case("snapshot", "target stopped by snapshot (base: 0)", "us", 50000, kind="added",
                        note="the target may be stopped at most 50 ms (issue 20)")
            gdb_cmd = ["gdb", "-p", str(child), "-batch", "-ex", "thread apply all bt"]
            fw_cmd = [FORKWATCH, "snapshot", str(child), "--json"]
            for i in range(SNAPSHOT_RUNS + 1):  # the first pair warms the page cache: not counted
                order = [("base", gdb_cmd), ("agent", fw_cmd)]
                if i % 2:
                    order.reverse()
                for side, cmd in order:
                    rc, out, dt = run(cmd, base_env(), timeout=300)
                    stopped = None
                    if side == "agent" and rc == 0:
                        try:
                            doc = json.loads(out)
                            stopped = doc["stopped_us"]
                            if not any(f.get("function") and "futex" in f["function"]
                                       for t in doc["threads"] for f in t["frames"]):
                                speed.errors.append("run %d: no futex frame in the snapshot" % i)
                        except (ValueError, KeyError, TypeError):
                            rc = "bad JSON"
                    elif side == "base" and rc == 0 and "__futex_abstimed_wait_common" not in out \
                            and "futex" not in out:
                        speed.errors.append("run %d: gdb's bt shows no futex frame" % i)
                    if rc != 0:
                        speed.errors.append("%s run %d rc=%s: %s" % (side, i, rc, out.strip()[-200:]))
                    if i == 0:
                        continue
                    getattr(speed, side).append(dt if rc == 0 else None)
                    if side == "agent":
                        stop.base.append(0.0)
                        stop.agent.append(float(stopped) if stopped is not None else None)
            progress("  %s done" % speed.name)
            notes.append("snapshot: hung child of bench/hang_many_libs.py mapping %d shared libraries" % nlibs)
            return [speed, stop], notes
        finally:
            stop_hang(p, child)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------- report

def machine():
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    libc = " ".join(platform.libc_ver())
    try:
        libc = "glibc " + os.confstr("CS_GNU_LIBC_VERSION").split()[-1]
    except (ValueError, OSError, AttributeError):
        pass
    # A tree copied into a Debian root (tests/run_in_root.sh) has neither git nor .git.
    try:
        rev = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True).stdout
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--", "agent", "cli", "gdb"],
                               capture_output=True, text=True).stdout.split("\n")
    except OSError:
        rev, dirty = os.environ.get("FORKWATCH_BENCH_COMMIT", ""), []
    commit = rev.strip() or "?"
    n_dirty = len([d for d in dirty if d.strip()])
    if n_dirty:
        commit += " + %d uncommitted file(s) in agent/cli/gdb" % n_dirty
    agent_sum = "?"
    try:
        import hashlib
        with open(AGENT, "rb") as f:
            agent_sum = hashlib.sha256(f.read()).hexdigest()[:12]
        agent_sum += ", built " + time.strftime("%H:%M UTC", time.gmtime(os.path.getmtime(AGENT)))
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu": cpu, "kernel": platform.release(), "libc": libc,
            "commit": commit, "agent_sha": agent_sum, "load": os.getloadavg()}


def render(summaries, notes, meta):
    head = ["case", "baseline", "agent", "ratio / added", "n", "spread (p25–p75)", "target", "met?"]
    rows = []
    for s in summaries:
        ratio, spread, target, met = judge(s)
        rows.append([s["case"], fmt_val(s.get("base"), s["unit"]), fmt_val(s.get("agent"), s["unit"]),
                     ratio, str(s["n"]), spread, target, met])
    md = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] * len(head)) + "|"]
    md += ["| " + " | ".join(r) + " |" for r in rows]
    widths = [max(len(r[i]) for r in rows + [head]) for i in range(len(head))]
    txt = ["  ".join(h.ljust(w) for h, w in zip(head, widths))]
    txt += ["  ".join(x.ljust(w) for x, w in zip(r, widths)) for r in rows]
    m = meta["machine"]
    intro = [
        "# forkwatch benchmark results",
        "",
        "- run: %s UTC, %.0f s, commit %s%s" % (meta["started"], meta["seconds"], m["commit"],
                                               ", BENCH_QUICK" if QUICK else ""),
        "- machine: %d CPUs, %s, kernel %s, %s; load average at start %.2f, at end %.2f" % (
            m["nproc"], m["cpu"], m["kernel"], m["libc"], m["load"][0], meta["load_end"][0]),
        "- agent: `%s` (sha256 %s)%s" % (os.path.relpath(AGENT, ROOT), m.get("agent_sha"), "" if meta.get("agent_ok") else
                             " — **agent registry not found in the process: not the real agent**"),
        "- pairs per case: micro/python/fork %d, memory %d, diagnosis %d, snapshot %d; scale %.2f" % (
            RUNS, MEM_RUNS, DIAG_RUNS, SNAPSHOT_RUNS, SCALE),
        "- baseline/agent: medians over runs; ratio: median of per-pair agent/baseline;"
        " added: median of per-pair differences; spread: 25th–75th percentile of those per-pair values."
        " `(noisy)`: the target lies inside that spread.",
        "",
    ]
    tail = [""] + (["## Notes", ""] + ["- " + n for n in notes] if notes else [])
    errs = [s for s in summaries if s.get("errors")]
    if errs:
        tail += ["", "## Errors", ""] + ["- %s: %s" % (s["case"], "; ".join(s["errors"])[:500]) for s in errs]
    return "\n".join(intro + md + tail) + "\n", "\n".join(txt)


def preflight():
    """Is the agent there, and does it really load (its registry symbol is found)?"""
    if not os.access(AGENT, os.R_OK):
        return False, "agent %s not found" % AGENT
    rc, out, _ = run([os.path.join(BENCH_BIN, "membench"), "10", "2"], agent_env(), timeout=20)
    if rc is None:
        return False, "a 2-thread program under the agent did not finish in 20 s (agent hangs?)"
    if rc != 0:
        return False, "membench under the agent failed (rc=%s): %s" % (rc, out.strip()[-300:])
    if "agent=1" not in out:
        return False, "the preloaded %s has no forkwatch registry (not the real agent?)" % AGENT
    return True, "agent loaded, registry flags %s" % re.search(r"agent_flags=(\S+)", out).group(1)


WATCHDOG_SUITES = ["test_queue", "test_logging"]


def group_watchdog():
    """Issue 12: CPython's own suites under `forkwatch run`, with the hang watchdog
    (default settings) against `--hang-timeout none --grace none`; both sides run the
    agent. Wall time of the whole run; target: at most 3% longer."""
    py = newest_cpython()
    if not py:
        return [], ["watchdog: no pyenv CPython with its test package: not measured"]
    c = Case("watchdog", "Py %s -m test %s under forkwatch run: watchdog on vs off"
             % (py_version(py), " ".join(WATCHDOG_SUITES)), "s", 1.03)
    suite = [py, "-m", "test"] + WATCHDOG_SUITES
    off = [FORKWATCH, "run", "--quiet", "--hang-timeout", "none", "--grace", "none", "--"] + suite
    on = [FORKWATCH, "run", "--quiet", "--"] + suite
    for i in range(WATCHDOG_RUNS):
        sides = [("base", off), ("agent", on)]
        if i % 2:
            sides.reverse()
        for side, cmd in sides:
            rc, out, dt = run(cmd, base_env(), timeout=600)
            if rc != 0:
                c.errors.append("%s run %d rc=%s: %s" % (side, i, rc, out.strip()[-300:]))
            getattr(c, side).append(dt if rc == 0 else None)
        progress("  pass %d/%d done" % (i + 1, WATCHDOG_RUNS))
    return [c]


def main():
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _on_signal)
    os.makedirs(OUT, exist_ok=True)
    t_start = time.monotonic()
    meta = {"started": time.strftime("%Y-%m-%d %H:%M", time.gmtime()), "machine": machine()}
    ok, why = preflight()
    meta["agent_ok"] = ok
    progress("preflight: " + why)
    if not os.access(AGENT, os.R_OK) or "did not finish" in why:
        sys.stderr.write("bench: %s\n" % why)
        return 3
    notes = [] if ok else ["preflight: " + why]
    cases = []
    for group, fn in (("micro", group_micro), ("python", group_python), ("fork", group_fork),
                      ("mem", group_mem), ("diag", group_diag), ("snapshot", group_snapshot),
                      ("watchdog", group_watchdog)):
        if group not in ONLY:
            continue
        progress("group %s" % group)
        t0 = time.monotonic()
        res = fn()
        if isinstance(res, tuple):
            res, extra = res
            if isinstance(extra, dict):
                if "agent_seen" in extra:
                    notes.append("memory: agent registry flags in the measured processes: %s"
                                 % extra.get("agent_flags"))
            else:
                notes.extend(extra)
        cases.extend(res)
        progress("group %s: %.0f s" % (group, time.monotonic() - t0))
    for c in cases:
        if c.note:
            notes.append("%s: %s" % (c.name, c.note))
    meta["seconds"] = time.monotonic() - t_start
    meta["load_end"] = os.getloadavg()
    summaries = [c.summary() for c in cases]
    md, txt = render(summaries, notes, meta)
    with open(os.path.join(OUT, "results.md"), "w") as f:
        f.write(md)
    with open(os.path.join(OUT, "results.json"), "w") as f:
        json.dump({"meta": meta, "cases": summaries, "notes": notes}, f, indent=1)
    print(txt)
    print("\n(%d pairs per case; written to %s)" % (RUNS, os.path.relpath(os.path.join(OUT, "results.md"), ROOT)))
    for n in notes:
        print("note: " + n)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    finally:
        for _p in list(_live.values()):
            _kill(_p)
