#!/usr/bin/python3
"""Integration tests: fixtures under `build/forkwatch run`, checking the JSON events.

- each hang fixture ends within a bound with exit 86 and a `fork-deadlock` event that
  names the holder thread, its acquiring function (C) or Python file:line (Python),
  and the child's waiting line (native file:line for C; Python file:line for Python);
- safe fixtures give no event and exit 0; the ABBA deadlock (no fork) gives no fork event;
- `--on-deadlock warn`: the event is written, the child really hangs, the harness kills it.
Python fixtures run on every interpreter found (printed first).
"""
import importlib.util
import os
import re
import sys
import time
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import fwtest  # noqa: E402
from fwtest import check, fmt_frames, marker_line  # noqa: E402

RUN_BOUND = 60          # seconds for one `forkwatch run` of a fixture under abort
FIXTURE_TIMEOUT = 30    # the fixture parent's own bound (a missed abort -> 124)


def forkwatch_run(fx, interp, wd, extra_args=(), fixture_timeout=FIXTURE_TIMEOUT):
    report = os.path.join(wd, "report.jsonl")
    events = os.path.join(wd, "events")
    cmd = [fwtest.FORKWATCH, "run", "--report", report] + list(extra_args) + ["--"] + \
        fx.command(interp)
    env = fwtest.clean_env({"FIXTURE_EVENTS": events, "FIXTURE_TIMEOUT": str(fixture_timeout)})
    t0 = time.monotonic()
    res = fwtest.run(cmd, RUN_BOUND, env=env, cwd=wd)
    return res, time.monotonic() - t0, fwtest.read_report(report), fwtest.read_events(events)


def pymutex_kind(fx, interp):
    """The agent's lock.kind when the fixture's lock is a PyMutex in this interpreter
    (threading.Lock from 3.13.1, threading.RLock from 3.14), else None."""
    if interp is None or fx.event_lock_kind != "semaphore":
        return None
    if "threading.Lock" in fx.lock_kinds and interp.version >= (3, 13, 1):
        return "threading.Lock"
    if "threading.RLock" in fx.lock_kinds and interp.version >= (3, 14, 0):
        return "threading.RLock"
    return None


def check_holder(fx, holder, events, what):
    check(holder.get("name") == fx.holder_name,
          "%s.name %r != %r" % (what, holder.get("name"), fx.holder_name))
    check(holder.get("tid") == int(events["holder_tid"][0]),
          "%s.tid %r != holder_tid %s" % (what, holder.get("tid"), events["holder_tid"][0]))
    if fx.holder_py_marker:
        line = marker_line(fx.source, fx.holder_py_marker)
        check(fwtest.frames_match(holder.get("python_stack"), os.path.basename(fx.source), line),
              "%s python_stack lacks %s:%d: %s" % (what, os.path.basename(fx.source), line,
                                                   fmt_frames(holder.get("python_stack"))))


def check_deadlock_event(fx, ev, events, policy, interp=None):
    where = "event %s" % ev
    check(ev.get("schema") == "forkwatch-event/1", "schema: %r" % ev.get("schema"))
    check(ev.get("policy") == policy, "policy %r != %r" % (ev.get("policy"), policy))
    check(ev.get("acquire") == "blocking", "acquire %r" % ev.get("acquire"))
    parent = int(events["parent_pid"][0])
    check(ev.get("ppid") == parent, "ppid %r != parent %d" % (ev.get("ppid"), parent))
    check((ev.get("fork") or {}).get("parent_pid") == parent, "fork.parent_pid: %r" % ev.get("fork"))
    lock = ev.get("lock") or {}
    pym = pymutex_kind(fx, interp)
    want_kind = pym or fx.event_lock_kind
    check(lock.get("kind") == want_kind, "lock.kind %r != %r" % (lock.get("kind"), want_kind))
    check(str(lock.get("address", "")).startswith("0x"), "lock.address %r" % lock.get("address"))
    holder = ev.get("holder") or {}
    check(holder.get("alive") is False, "holder.alive %r" % holder.get("alive"))
    if pym == "threading.Lock":
        # A PyMutex Lock names no owner: the holder is among the threads lost in the fork.
        check(holder.get("tid") == 0 and holder.get("name") == "", "ownerless holder: %r" % holder)
        lost = [t for t in ev.get("lost_threads") or [] if t.get("name") == fx.holder_name]
        check(len(lost) == 1, "lost_threads lacks %s: %r" % (fx.holder_name, ev.get("lost_threads")))
        check_holder(fx, lost[0], events, "lost thread")
    else:
        check_holder(fx, holder, events, "holder")
    if fx.holder_function:
        top = [f.get("function") for f in (holder.get("native_stack") or [])[:3]]
        check(fx.holder_function in top, "holder's acquiring function %s not in the top of %s"
              % (fx.holder_function, fmt_frames(holder.get("native_stack"))))
    waiter = ev.get("waiter") or {}
    child = int(events["child_pid"][0])
    check(waiter.get("tid") == child, "waiter.tid %r != child %d" % (waiter.get("tid"), child))
    if fx.waiter_native:
        src, marker = fx.waiter_native
        line = marker_line(src, marker)
        frames = (waiter.get("native_stack") or [])[:1]
        check(fwtest.frames_match(frames, os.path.basename(src), line),
              "waiter's native call site is not %s:%d: %s"
              % (os.path.basename(src), line, fmt_frames(waiter.get("native_stack"))))
    if fx.waiter_py_marker:
        line = marker_line(fx.source, fx.waiter_py_marker)
        check(fwtest.frames_match(waiter.get("python_stack"), os.path.basename(fx.source), line),
              "waiter python_stack lacks %s:%d: %s" % (os.path.basename(fx.source), line,
                                                        fmt_frames(waiter.get("python_stack"))))
    return where


def deadlock_events(report, child):
    return [e for e in report if e.get("event") == "fork-deadlock" and e.get("pid") == child]


def test_hang_abort(fx, interp):
    wd = fwtest.workdir("int-" + fx.name)
    try:
        res, took, report, events = forkwatch_run(fx, interp, wd)
        check(res.returncode == fwtest.DEADLOCK_STATUS,
              "exit %d, want 86 (stderr: %s)" % (res.returncode, res.stderr.strip()[-400:]))
        check(took < RUN_BOUND / 2, "took %.1fs: not caught at once" % took)
        check("child_blocking" in events and "child_pid" in events, "events: %s" % events)
        check("parent_timeout" not in events, "the fixture's parent timed out: no abort")
        summary = [l for l in res.stderr.splitlines() if l.startswith("forkwatch:")]
        check(summary, "no `forkwatch:` summary on stderr: %r" % res.stderr[-300:])
        check(any('"%s"' % fx.holder_name in l or fx.holder_name in l.split() for l in summary),
              "the stderr summary does not name the holder %s: %r" % (fx.holder_name, summary[-2:]))
        found = deadlock_events(report, int(events["child_pid"][0]))
        check(len(found) == 1, "want one fork-deadlock event from the child, got %d of %d events"
              % (len(found), len(report)))
        check_deadlock_event(fx, found[0], events, "abort", interp)
    finally:
        fwtest.remove_tree(wd)


def load_advice():
    """gdb/forkwatch/advice.py, the GDB side's reader of the one advice table, loaded
    by path (it needs no gdb): the run summary must give the text it gives."""
    path = os.path.join(fwtest.ROOT, "gdb", "forkwatch", "advice.py")
    spec = importlib.util.spec_from_file_location("fw_advice_for_tests", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# How each Python hang was forked, so which advice row is its own: the Wub
# Machine forks from C (ctypes), skipping Python's at-fork hooks; lock_held_at_fork
# goes through os.fork() and loses a plain user Lock.
SPEAKS_LIKE_ATTACH = {"wub_machine": ("raw", "raw-fork"), "lock_held_at_fork": ("os.fork", "py-lock")}


def test_speaks_like_attach(fx, interp):
    """Under `run`, a Python hang is told as `attach` tells it: the summary line names the
    lock's Python kind, the waiter's Python thread name and its user line, the holder's user
    line at the fork, and the advice (from advice.json, for this interpreter); the JUnit
    file/line and the GitHub annotation point at the user's waiting line; the event carries
    the same facts, and no holder stack from another thread's time (a per-call-site cache)."""
    wd = fwtest.workdir("int-speak-" + fx.name)
    try:
        junit = os.path.join(wd, "junit.xml")
        report = os.path.join(wd, "report.jsonl")
        st = fwtest.start([fwtest.FORKWATCH, "run", "--report", report, "--junit", junit, "--"] +
                          fx.command(interp), wd, fixture_timeout=FIXTURE_TIMEOUT,
                          env_extra={"GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": fwtest.ROOT})
        try:
            rc = st.wait(RUN_BOUND)
            out, err = st.output()
        finally:
            st.cleanup()
        check(rc == fwtest.DEADLOCK_STATUS, "exit %d, want 86 (stderr: %s)" % (rc, err.strip()[-400:]))
        events = fwtest.read_events(st.events_path)
        base = os.path.basename(fx.source)
        wait_line = marker_line(fx.source, fx.waiter_py_marker)
        hold_line = marker_line(fx.source, fx.holder_py_marker)
        (want_kind,) = fx.lock_kinds
        fork, key = SPEAKS_LIKE_ATTACH[fx.name]
        advice = load_advice().text(key, interp.version_string)

        found = deadlock_events(fwtest.read_report(report), int(events["child_pid"][0]))
        check(len(found) == 1, "want one fork-deadlock event, got %d" % len(found))
        ev = found[0]
        lock = ev.get("lock") or {}
        check(lock.get("python_kind") == want_kind, "event lock.python_kind %r != %r (lock %r)"
              % (lock.get("python_kind"), want_kind, lock))
        check((ev.get("waiter") or {}).get("python_name") == "MainThread",
              "event waiter.python_name %r" % (ev.get("waiter") or {}).get("python_name"))
        py = ev.get("python") or {}
        check(py.get("version") == interp.version_string and py.get("fork") == fork,
              "event python %r, want version %s fork %s" % (py, interp.version_string, fork))
        native = (ev.get("holder") or {}).get("native_stack") or []
        check(len(native) <= 1, "the holder's native stack is more than the call that took the lock "
              "(a stack cached per call site, from another thread or time): %s" % fmt_frames(native))

        summary = [l for l in err.splitlines() if l.startswith("forkwatch: fork deadlock: ")]
        check(len(summary) == 1, "want one run summary line, got %r" % summary)
        line = summary[0]
        check(" %s " % want_kind in line, "summary lacks the lock's Python kind %s: %s" % (want_kind, line))
        check(re.search(r'thread \d+ "MainThread" at \S*/%s:%d waits on ' % (re.escape(base), wait_line), line),
              "summary lacks the waiter's name and user line %s:%d: %s" % (base, wait_line, line))
        held = line.split(" waits on ", 1)[-1]
        check(re.search(r"\S*/%s:%d\b" % (re.escape(base), hold_line), held),
              "summary lacks the holder's line %s:%d: %s" % (base, hold_line, line))
        check(line.endswith("; advice: " + advice), "summary lacks the %s advice for %s: %s"
              % (key, interp.version_string, line))

        case = ET.parse(junit).getroot().find("./testsuite/testcase")
        check(case is not None, "no JUnit testcase")
        check(os.path.basename(case.get("file") or "") == base and case.get("line") == str(wait_line),
              "JUnit file/line %s:%s, want %s:%d" % (case.get("file"), case.get("line"), base, wait_line))
        failure = case.find("failure")
        check(failure.get("message") == line[len("forkwatch: "):], "JUnit message is not the summary: %r"
              % failure.get("message"))
        check("advice: " + advice in (failure.text or ""), "JUnit body lacks the advice")

        rel = os.path.relpath(os.path.realpath(fx.source), fwtest.ROOT)
        notes = [l for l in out.splitlines() if l.startswith("::error ")]
        check(len(notes) == 1 and notes[0].startswith("::error file=%s,line=%d," % (rel, wait_line)),
              "annotation does not point at %s:%d: %r" % (rel, wait_line, notes))
        check(" %s " % want_kind in notes[0] and "%s:%d" % (base, hold_line) in notes[0],
              "annotation lacks the lock kind or the holder's line: %s" % notes[0])
    finally:
        fwtest.remove_tree(wd)


def test_safe(fx, interp):
    wd = fwtest.workdir("int-" + fx.name)
    try:
        res, took, report, events = forkwatch_run(fx, interp, wd)
        check(res.returncode == 0, "exit %d, want 0 (stderr: %s)"
              % (res.returncode, res.stderr.strip()[-400:]))
        check("child_done" in events, "the child did not finish its work: %s" % events)
        check(report == [], "want no event, got %s" % report[:2])
    finally:
        fwtest.remove_tree(wd)


def test_abba_no_fork_event():
    """A lock-order deadlock without fork is not the agent's business: no event."""
    fx = fwtest.fixture("abba_deadlock")
    wd = fwtest.workdir("int-abba")
    try:
        res, took, report, events = forkwatch_run(fx, None, wd, fixture_timeout=3)
        check("a_blocking" in events and "b_blocking" in events, "events: %s" % events)
        check(res.returncode == 124, "exit %d, want the fixture's own timeout 124" % res.returncode)
        check(not any(e.get("event") in ("fork-deadlock", "fork-hazard") for e in report),
              "fork event for a deadlock without fork: %s" % report[:1])
    finally:
        fwtest.remove_tree(wd)


def test_warn_hangs(fx, interp):
    """--on-deadlock warn: the event is written, then the child really blocks."""
    wd = fwtest.workdir("int-warn-" + fx.name)
    report = os.path.join(wd, "report.jsonl")
    started = fwtest.start([fwtest.FORKWATCH, "run", "--report", report, "--on-deadlock", "warn",
                            "--"] + fx.command(interp), wd, fixture_timeout=120)
    try:
        events = fwtest.wait_events(started.events_path, ["child_pid", "child_blocking"], 30)
        child = int(events["child_pid"][0])
        found = fwtest.wait_for("a fork-deadlock event in the report",
                                lambda: deadlock_events(fwtest.read_report(report, strict=False),
                                                       child), 30)
        fwtest.wait_for("child %d asleep in futex" % child,
                        lambda: fwtest.blocked_in_futex(child), 30)
        check(started.popen.poll() is None, "forkwatch run ended while the child should hang")
        check(fwtest.pid_alive(child), "the child %d is gone: it should hang" % child)
        fwtest.kill_pid(child)
        rc = started.wait(60)
        check(rc == fwtest.DEADLOCK_STATUS, "forkwatch run exit %d, want 86" % rc)
        # forkwatch run symbolises the report when the command ends: check that version.
        found = deadlock_events(fwtest.read_report(report), child)
        check(len(found) == 1, "want one fork-deadlock event, got %d" % len(found))
        check_deadlock_event(fx, found[0], events, "warn", interp)
    finally:
        started.cleanup()
        fwtest.remove_tree(wd)


def main():
    missing = fwtest.have_build(fwtest.FORKWATCH, fwtest.AGENT, fwtest.FIXTURE_BIN)
    runner = fwtest.Runner("integration")
    if missing:
        print("integration: missing %s (run make)" % ", ".join(missing))
        runner.failed += 1
        return runner.finish()
    interps = fwtest.interpreters()
    print("integration: CPython interpreters found: %s" % ", ".join(i.label for i in interps))
    if not interps:
        print("integration: no CPython 3.8-3.13 found: Python fixtures not run")
    cases = []
    for fx in fwtest.fixtures():
        targets = interps if fx.lang == "python" else [None]
        for interp in targets:
            name = "run/%s%s" % (fx.name, "/" + interp.label if interp else "")
            if fx.hang and fx.verdict == "fork-deadlock":
                cases.append((name, test_hang_abort, (fx, interp)))
            elif not fx.hang:
                cases.append((name, test_safe, (fx, interp)))
    cases.append(("run/abba_deadlock: no fork event", test_abba_no_fork_event, ()))
    cases.append(("run-warn/mutex_held_at_fork", test_warn_hangs,
                  (fwtest.fixture("mutex_held_at_fork"), None)))
    for interp in interps:
        cases.append(("run-warn/lock_held_at_fork/" + interp.label, test_warn_hangs,
                      (fwtest.fixture("lock_held_at_fork"), interp)))
        for name in sorted(SPEAKS_LIKE_ATTACH):
            cases.append(("run-speaks-like-attach/%s/%s" % (name, interp.label), test_speaks_like_attach,
                          (fwtest.fixture(name, "python"), interp)))
    runner.run(cases, jobs=2)
    return runner.finish()


if __name__ == "__main__":
    sys.exit(main())
