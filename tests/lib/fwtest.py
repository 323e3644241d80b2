"""Shared helpers for forkwatch's integration and end-to-end harnesses.

Runs with /usr/bin/python3 (3.11), standard library only. Everything here is
bounded: every wait has a deadline, every process started is killed by its PID.
"""
import glob
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback

ROOT = os.path.realpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
BUILD = os.environ.get("FORKWATCH_BUILD") or os.path.join(ROOT, "build")
FORKWATCH = os.path.join(BUILD, "forkwatch")
AGENT = os.path.join(BUILD, "libforkwatch.so")
FIXTURE_BIN = os.path.join(BUILD, "fixtures")
FIXTURE_SRC = os.path.join(ROOT, "fixtures")
DEADLOCK_STATUS = 86

# ---------------------------------------------------------------- interpreters


class Interpreter:
    def __init__(self, path, version):
        self.path = path
        self.version = version  # (major, minor, micro)

    @property
    def version_string(self):
        return "%d.%d.%d" % self.version

    @property
    def label(self):
        # "3.11.2-debian" on the host (Debian 12), "3.14.10-sid" / "3.13.5-debian13" inside the
        # matrix's Debian roots (tests/run_in_root.sh sets FORKWATCH_DISTRO), "3.12.1-pyenv".
        if self.path.startswith("/usr/bin/"):
            origin = os.environ.get("FORKWATCH_DISTRO") or "debian"
        else:
            origin = "pyenv"
        return "%s-%s" % (self.version_string, origin)

    @property
    def is_debian(self):
        return self.path.startswith("/usr/bin/")

    def __repr__(self):
        return "%s (%s)" % (self.label, self.path)


def pyenv_root():
    root = os.environ.get("PYENV_ROOT")
    if root and os.path.isdir(root):
        return root
    try:
        out = subprocess.run(["pyenv", "root"], capture_output=True, text=True, timeout=10)
        if out.returncode == 0 and os.path.isdir(out.stdout.strip()):
            return out.stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        pass
    home = os.path.expanduser("~/.pyenv")
    return home if os.path.isdir(home) else None


def _probe(path):
    try:
        out = subprocess.run([path, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
                             capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return None
    m = re.fullmatch(r"(\d+)\.(\d+)\.(\d+)\s*", out.stdout)
    return tuple(int(x) for x in m.groups()) if out.returncode == 0 and m else None


_INTERPRETERS = None


def interpreters():
    """Every CPython 3.8-3.13 under the pyenv root, plus Debian's /usr/bin/python3.11
    (the Debian roots of the matrix pass theirs, 3.13-3.15, in FORKWATCH_TEST_PYTHONS).
    FORKWATCH_TEST_PYTHONS (colon-separated paths) overrides the discovery."""
    global _INTERPRETERS
    if _INTERPRETERS is not None:
        return _INTERPRETERS
    candidates = []
    override = os.environ.get("FORKWATCH_TEST_PYTHONS")
    if override:
        candidates = [p for p in override.split(":") if p]
    else:
        root = pyenv_root()
        if root:
            for minor in range(8, 14):
                candidates += sorted(glob.glob(os.path.join(root, "versions", "3.%d*" % minor,
                                                            "bin", "python3.%d" % minor)))
        candidates.append("/usr/bin/python3.11")
    found = []
    seen = set()
    for path in candidates:
        if not os.access(path, os.X_OK):
            continue
        real = os.path.realpath(path)
        if real in seen:
            continue
        version = _probe(path)
        if version and (3, 8) <= version[:2] <= (3, 15):
            seen.add(real)
            found.append(Interpreter(path, version))
    _INTERPRETERS = found
    return found


# ---------------------------------------------------------------- fixtures


class Fixture:
    """What a fixture is and what a diagnosis of it must say."""

    def __init__(self, name, lang, hang, verdict, lock_kinds, event_lock_kind=None,
                 holder_name=None, holder_function=None, holder_py_marker=None,
                 waiter_py_marker=None, waiter_native=None, holder_tid_known_without_agent=False,
                 waiter_function=None):
        self.name = name
        self.lang = lang                      # "c" or "python"
        self.hang = hang                      # True: hangs after fork (or deadlocks)
        self.verdict = verdict                # forkwatch attach/core verdict
        self.lock_kinds = lock_kinds          # acceptable diagnose lock.kind values
        self.event_lock_kind = event_lock_kind  # the agent event's lock.kind
        self.holder_name = holder_name
        self.holder_function = holder_function  # native acquiring function (C holders)
        self.holder_py_marker = holder_py_marker  # marker of the holder's Python line at fork
        self.waiter_py_marker = waiter_py_marker  # marker of the child's waiting Python line
        self.waiter_native = waiter_native    # (source file, marker) of the native waiting line
        self.holder_tid_known_without_agent = holder_tid_known_without_agent
        self.waiter_function = waiter_function  # native function the waiter blocks in

    @property
    def source(self):
        if self.lang == "c":
            return os.path.join(FIXTURE_SRC, "c", self.name + ".c")
        return os.path.join(FIXTURE_SRC, "python", self.name + ".py")

    def command(self, interp=None):
        if self.lang == "c":
            return [os.path.join(FIXTURE_BIN, self.name)]
        return [interp.path, self.source]

    def __repr__(self):
        return self.name


def _c(name):
    return os.path.join(FIXTURE_SRC, "c", name)


FIXTURES = [
    Fixture("mutex_held_at_fork", "c", True, "fork-deadlock", {"pthread_mutex"}, "pthread_mutex",
            holder_name="Holder", holder_function="holder_acquire_mutex",
            waiter_native=(_c("mutex_held_at_fork.c"), "FW-CHILD-WAIT"),
            holder_tid_known_without_agent=True, waiter_function="child_lock_mutex"),
    Fixture("rwlock_write_held_at_fork", "c", True, "fork-deadlock", {"pthread_rwlock"},
            "pthread_rwlock", holder_name="Writer", holder_function="writer_acquire_rwlock",
            waiter_native=(_c("rwlock_write_held_at_fork.c"), "FW-CHILD-WAIT"),
            holder_tid_known_without_agent=True, waiter_function="child_read_rwlock"),
    Fixture("abba_deadlock", "c", True, "deadlock", {"pthread_mutex"},
            waiter_function="abba_take_second"),
    Fixture("forker_holds_lock", "c", False, "no-deadlock", set()),
    Fixture("idle_threads_fork", "c", False, "no-deadlock", set()),
    Fixture("lock_held_at_fork", "python", True, "fork-deadlock", {"threading.Lock"}, "semaphore",
            holder_name="Holder", holder_py_marker="FW-HOLDER-AT-FORK",
            waiter_py_marker="FW-CHILD-WAIT"),
    Fixture("wub_machine", "python", True, "fork-deadlock", {"threading.RLock"}, "semaphore",
            holder_name="Writer", holder_py_marker="FW-HOLDER-AT-FORK",
            waiter_py_marker="FW-CHILD-WAIT"),
    Fixture("clib_mutex_at_fork", "python", True, "fork-deadlock", {"pthread_mutex"},
            "pthread_mutex", holder_name="HeldMutexOwner",
            holder_function="heldmutex_owner_acquire", waiter_py_marker="FW-CHILD-WAIT",
            waiter_native=(_c("libheldmutex.c"), "FW-LIB-CHILD-WAIT"),
            holder_tid_known_without_agent=True, waiter_function="heldmutex_use"),
    Fixture("idle_threads_fork", "python", False, "no-deadlock", set()),
    Fixture("logging_os_fork", "python", False, "no-deadlock", set()),
]


def fixtures(lang=None, hang=None, fork_only=False):
    out = []
    for f in FIXTURES:
        if lang is not None and f.lang != lang:
            continue
        if hang is not None and f.hang != hang:
            continue
        if fork_only and f.verdict == "deadlock":
            continue
        out.append(f)
    return out


def fixture(name, lang=None):
    for f in FIXTURES:
        if f.name == name and (lang is None or f.lang == lang):
            return f
    raise KeyError(name)


_MARKERS = {}


def marker_line(path, marker):
    """The 1-based line of `path` carrying the comment `marker` (exactly one)."""
    key = (path, marker)
    if key not in _MARKERS:
        with open(path, encoding="utf-8") as f:
            hits = [i for i, line in enumerate(f, 1)
                    if re.search(r"(#|/\*)\s*%s\b" % re.escape(marker), line)]
        if len(hits) != 1:
            raise AssertionError("%s: marker %s found %d times" % (path, marker, len(hits)))
        _MARKERS[key] = hits[0]
    return _MARKERS[key]


# ---------------------------------------------------------------- waiting


class Timeout(AssertionError):
    pass


def wait_for(what, predicate, timeout, interval=0.05):
    """Polls predicate() until it returns a true value or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise Timeout("timed out after %.0fs waiting for %s" % (timeout, what))
        time.sleep(interval)


def read_events(path):
    """Parses a fixture events file into {key: [values...]}."""
    out = {}
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            data = f.read()
    except FileNotFoundError:
        return out
    for line in data.splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            out.setdefault(k, []).append(v)
    return out


def wait_events(path, keys, timeout):
    def ready():
        ev = read_events(path)
        return ev if all(k in ev for k in keys) else None
    return wait_for("events %s in %s" % (",".join(keys), path), ready, timeout)


FUTEX_NR = {"x86_64": 202, "aarch64": 98}.get(os.uname().machine)


def proc_stat_state(pid, tid=None):
    path = "/proc/%d/task/%d/stat" % (pid, tid) if tid else "/proc/%d/stat" % pid
    try:
        with open(path) as f:
            data = f.read()
    except OSError:
        return None
    return data[data.rindex(")") + 2:].split()[0]


def proc_syscall(pid, tid=None):
    path = "/proc/%d/task/%d/syscall" % (pid, tid) if tid else "/proc/%d/syscall" % pid
    try:
        with open(path) as f:
            first = f.read().split()
    except OSError:
        return None
    if not first or first[0] in ("running",):
        return None
    try:
        return int(first[0])
    except ValueError:
        return None


def blocked_in_futex(pid, tid=None):
    """True when the thread sleeps (state S) inside the futex system call."""
    if proc_stat_state(pid, tid) != "S":
        return False
    nr = proc_syscall(pid, tid)
    return nr is None or FUTEX_NR is None or nr == FUTEX_NR


def tracer_pid(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("TracerPid:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def pid_alive(pid):
    state = proc_stat_state(pid)
    return state is not None and state != "Z"


def kill_pid(pid, sig=signal.SIGKILL):
    """Kills one process by its PID (never by name). Ignores a PID already gone."""
    if not pid:
        return
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


# ---------------------------------------------------------------- processes


class Started:
    """A fixture started by the harness; cleanup() kills child and parent by PID."""

    def __init__(self, popen, events_path, workdir):
        self.popen = popen
        self.events_path = events_path
        self.workdir = workdir
        self.extra_pids = []

    @property
    def pid(self):
        return self.popen.pid

    def events(self):
        return read_events(self.events_path)

    def child_pid(self):
        ev = self.events()
        return int(ev["child_pid"][-1]) if "child_pid" in ev else None

    def wait(self, timeout):
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise Timeout("process %d did not end within %.0fs" % (self.popen.pid, timeout))

    def cleanup(self):
        LIVE.discard(self)
        pids = []
        try:
            ev = self.events()
            # The hung child first, then the fixture's parent when it is not ours
            # (e.g. under `forkwatch run`): both are still unreaped while the
            # process we started is alive, so their PIDs cannot have been reused.
            for key in ("child_pid", "parent_pid"):
                for v in ev.get(key, []):
                    if int(v) != self.popen.pid and int(v) not in pids:
                        pids.append(int(v))
        except (OSError, ValueError):
            pass
        pids += self.extra_pids
        for p in pids:
            # Only kill the child while the parent has not reaped it (else the PID
            # could be reused by an unrelated process).
            if self.popen.poll() is None:
                kill_pid(p)
        if self.popen.poll() is None:
            kill_pid(self.popen.pid)
        try:
            self.popen.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pass

    def output(self):
        res = []
        for name in ("stdout", "stderr"):
            try:
                with open(os.path.join(self.workdir, name), encoding="utf-8",
                          errors="replace") as f:
                    res.append(f.read())
            except OSError:
                res.append("")
        return tuple(res)


def clean_env(extra=None):
    env = dict(os.environ)
    for k in list(env):
        if k.startswith("FORKWATCH_") or k in ("LD_PRELOAD", "PYTHONUNBUFFERED", "PYTHONPATH",
                                                "PYTHONHOME", "PYTHONWARNINGS"):
            del env[k]
    env.update(extra or {})
    return env


def start(cmd, workdir, env_extra=None, fixture_timeout=240):
    events = os.path.join(workdir, "events")
    env = clean_env({"FIXTURE_EVENTS": events, "FIXTURE_TIMEOUT": str(fixture_timeout)})
    env.update(env_extra or {})
    with open(os.path.join(workdir, "stdout"), "wb") as out, \
            open(os.path.join(workdir, "stderr"), "wb") as err:
        popen = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                 stderr=err, cwd=workdir)
    started = Started(popen, events, workdir)
    LIVE.add(started)
    return started


# Processes started and not yet cleaned up: killed by PID if the harness itself is
# stopped (SIGTERM from run_tests.sh's time bound, or ^C).
LIVE = set()
# Directories a harness made for the whole run (e.g. interpreter copies): removed there too.
RUN_TREES = set()


def _on_stop(signum, frame):
    for st in list(LIVE):
        try:
            ev = st.events()
            for key in ("child_pid", "parent_pid"):
                for v in ev.get(key, []):
                    if st.popen.poll() is None:
                        kill_pid(int(v))
        except (OSError, ValueError):
            pass
        if st.popen.poll() is None:
            kill_pid(st.popen.pid)
        remove_tree(st.workdir)
    for path in list(RUN_TREES):
        remove_tree(path)
    print("harness stopped by signal %d; killed %d fixture(s)" % (signum, len(LIVE)), flush=True)
    os._exit(128 + signum)


def install_stop_handler():
    signal.signal(signal.SIGTERM, _on_stop)
    signal.signal(signal.SIGINT, _on_stop)


def run(cmd, timeout, env=None, cwd=None):
    """subprocess.run with a bound; on expiry the process is killed by its PID."""
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                              env=env if env is not None else clean_env(), cwd=cwd,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        raise Timeout("%s did not finish within %.0fs" % (" ".join(cmd[:3]), timeout)) from e


def run_under(forkwatch, argv, wd, bound=120):
    """`FORKWATCH run --report wd/report.jsonl -- ARGV` in wd, waited for (bounded) and
    cleaned up by PID: (exit status, its stderr, the report's events)."""
    report = os.path.join(wd, "report.jsonl")
    st = start([forkwatch, "run", "--report", report, "--"] + list(argv), wd, fixture_timeout=60)
    try:
        rc = st.wait(bound)
    finally:
        st.cleanup()
    return rc, st.output()[1], read_report(report)


def read_report(path, strict=True):
    """JSON Lines report -> list of event dicts. strict: a bad line fails the test;
    otherwise (polling a report still being written) bad lines are skipped."""
    if not os.path.exists(path):
        return []
    out = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                try:
                    out.append(json.loads(line))
                except ValueError as e:
                    if strict:
                        raise AssertionError("%s:%d: not JSON: %s" % (path, n, e))
    return out


# ---------------------------------------------------------------- assertions and runner


def check(cond, message):
    if not cond:
        raise AssertionError(message)


def frames_match(frames, basename, line, function=None):
    for fr in frames or []:
        f = fr.get("file") or ""
        if os.path.basename(f) == basename and fr.get("line") == line and \
                (function is None or fr.get("function") == function):
            return True
    return False


def fmt_frames(frames, limit=8):
    parts = []
    for fr in (frames or [])[:limit]:
        parts.append("%s@%s:%s" % (fr.get("function"), os.path.basename(fr.get("file") or "?"),
                                   fr.get("line")))
    return "[" + ", ".join(parts) + "]"


def have_build(*paths):
    missing = [p for p in paths if not os.path.exists(p)]
    return missing


class Runner:
    """Runs named test cases (optionally 2 at a time) and counts results.
    Prints one line per case and ends with `N passed, N failed`."""

    def __init__(self, suite):
        self.suite = suite
        self.passed = 0
        self.failed = 0
        self.skipped = 0
        self.lock = threading.Lock()

    def _one(self, name, fn, args):
        t0 = time.monotonic()
        try:
            fn(*args)
        except Skip as e:
            with self.lock:
                self.skipped += 1
                print("SKIP %s: %s" % (name, e), flush=True)
            return
        except Exception as e:
            with self.lock:
                self.failed += 1
                print("FAIL %s (%.1fs): %s" % (name, time.monotonic() - t0, e), flush=True)
                if not isinstance(e, AssertionError):
                    traceback.print_exc(file=sys.stdout)
                sys.stdout.flush()
            return
        with self.lock:
            self.passed += 1
            print("PASS %s (%.1fs)" % (name, time.monotonic() - t0), flush=True)

    def run(self, cases, jobs=1, also_used=()):
        """cases: list of (name, fn, args). also_used: interpreter paths the cases run that
        are not passed as Interpreter arguments (named in the interpreters line too)."""
        install_stop_handler()
        pattern = os.environ.get("FORKWATCH_TEST_FILTER")
        if pattern:
            cases = [c for c in cases if re.search(pattern, c[0])]
        used = []
        for path in also_used:
            version = _probe(path) if os.access(path, os.X_OK) else None
            label = Interpreter(path, version).label if version else None
            if label and label not in used:
                used.append(label)
        for _, _, args in cases:
            for a in args:
                if isinstance(a, Interpreter) and a.label not in used:
                    used.append(a.label)
        print("%s: CPython interpreters that ran: %s" % (self.suite, ", ".join(used) or "none"),
              flush=True)
        if jobs <= 1:
            for name, fn, args in cases:
                self._one(name, fn, args)
        else:
            from concurrent.futures import ThreadPoolExecutor
            with ThreadPoolExecutor(max_workers=jobs) as pool:
                list(pool.map(lambda c: self._one(*c), cases))

    def finish(self):
        if self.skipped:
            print("%s: %d skipped" % (self.suite, self.skipped))
        print("%d passed, %d failed" % (self.passed, self.failed), flush=True)
        return 1 if self.failed else 0


class Skip(Exception):
    pass


def workdir(prefix):
    return tempfile.mkdtemp(prefix="fw-%s-" % re.sub(r"[^A-Za-z0-9_.-]", "_", prefix))


def remove_tree(path):
    import shutil
    shutil.rmtree(path, ignore_errors=True)


# What each claim of a finding needs among its evidence ids (gdb/forkwatch/analysis.py `_ev`):
# a finding never claims a holder, a live holder, a cycle, a fork or "itself" that its
# evidence does not show (issue 19).
NAMED_HOLDER_EVIDENCE = {"agent-orphan-record", "agent-held-entry", "lock-owner-field", "gil-state", "with-block",
                         "shared-mapping", "python-thread-states", "python-thread-object", "parent-core",
                         "import-lock-owner", "runtime-frames", "glibc-no-other-thread"}
LIVE_HOLDER_EVIDENCE = {"agent-held-entry", "lock-owner-field", "gil-state", "with-block",
                        "glibc-no-other-thread"}
FORK_EVIDENCE = {"agent-fork-child", "glibc-lost-threads", "parent-layout", "parent-core", "python-thread-states",
                 "fork-start-method", "agent-orphan-record", "agent-held-entry"}


def evidence_problems(doc):
    """The claims in a forkwatch/1 document's findings that their evidence does not back
    (a list of strings; empty when every claim is backed)."""
    out = []
    for i, f in enumerate(doc.get("findings") or []):
        kind = f.get("kind")
        if kind == "lost-task":
            continue            # a tree-level conclusion (lost_tasks.py), carries its own words
        ids = set(e.get("id") for e in f.get("evidence") or [])
        where = "finding %d (%s)" % (i, kind)
        if not ids:
            out.append("%s has no evidence" % where)
            continue
        h = f.get("holder") or {}
        if (h.get("tid") is not None or h.get("name")) and not ids & NAMED_HOLDER_EVIDENCE:
            out.append("%s names its holder (%s, %s) without evidence for it: %s"
                       % (where, h.get("tid"), h.get("name"), sorted(ids)))
        if h.get("alive") and not ids & LIVE_HOLDER_EVIDENCE:
            out.append("%s names a live holder without evidence for one: %s" % (where, sorted(ids)))
        if kind in ("fork-deadlock", "gil-held-across-fork") and not ids & FORK_EVIDENCE:
            out.append("%s claims a fork without fork evidence: %s" % (where, sorted(ids)))
        if f.get("cycle") and "wait-cycle" not in ids:
            out.append("%s claims a cycle without wait-cycle evidence" % where)
        if re.search(r"waits on itself|only it could release", f.get("summary") or "") and \
                not ids & {"glibc-no-other-thread", "lock-owner-field", "with-block"}:
            out.append("%s says the thread waits on itself without evidence: %s" % (where, sorted(ids)))
        if kind == "deadlock" and f.get("cycle") and len(f["cycle"]) > 1 and not ids & LIVE_HOLDER_EVIDENCE:
            out.append("%s names a cycle whose holders have no evidence: %s" % (where, sorted(ids)))
    return out


def check_evidence(doc):
    problems = evidence_problems(doc)
    check(not problems, "; ".join(problems))
