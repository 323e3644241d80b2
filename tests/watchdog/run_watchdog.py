#!/usr/bin/python3
"""The hang watchdog of `forkwatch run` (issue 12): --hang-timeout, --grace, --label,
PYTEST_CURRENT_TEST, --junit and GitHub annotations.

- hangs the agent cannot see (a ThreadPoolExecutor's lost workers, importlib's module lock
  taken by a lost thread, GNU OpenMP's lost pool, 3.13's threading._shutdown() joining a lost
  thread): `forkwatch run` exits 86 within
  hang-timeout + grace + 5 s, with a "hang" event whose verdict, finding kinds, lock kinds
  and summaries are those `forkwatch attach --json` gives on the same hang (run under the
  agent with the watchdog off);
- safe processes (a sleep, a loop of short sleeps, a socket wait with no peer, a busy
  loop) end with their own status and no event; the sleepers are analysed once, and only
  once, without a finding;
- the Wub Machine fixture ends with 86; the Wub Machine whose parent then blocks in
  logging.shutdown() for 60 s ends within 15 s at the default settings, the processes
  ended and where they waited named; `--grace none` waits for it (today's behaviour);
- a pytest suite whose tests fork into deadlocks (one the agent sees, one only the
  watchdog does): the summary, the JUnit file and the GitHub annotations name each test
  and point at the test's waiting line;
- bad option values: one line, exit 2.
Debian's /usr/bin/python3 runs the Python cases (pyenv's 3.13.0 the 3.13 join shape). Ends with `N passed, N failed`.
"""
import os
import re
import signal
import sys
import time
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import fwtest  # noqa: E402
from fwtest import check, marker_line  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
PY = "/usr/bin/python3"
HANG = 2           # --hang-timeout in these tests
GRACE = 5          # --grace
BOUND = HANG + GRACE + 5 + 6   # the bound, plus one analysis on a loaded machine (GDB 1-6 s)
RUN_BOUND = 120    # the harness's own bound on one `forkwatch run`
FIXTURE_TIMEOUT = 90


def forkwatch_run(args, cmd, wd, env_extra=None, bound=RUN_BOUND):
    report = os.path.join(wd, "report.jsonl")
    env = fwtest.clean_env({"FIXTURE_EVENTS": os.path.join(wd, "events"),
                            "FIXTURE_TIMEOUT": str(FIXTURE_TIMEOUT)})
    env.pop("GITHUB_ACTIONS", None)
    env.update(env_extra or {})
    t0 = time.monotonic()
    res = fwtest.run([fwtest.FORKWATCH, "run", "--report", report] + list(args) + ["--"] + cmd,
                     bound, env=env, cwd=wd)
    return res, time.monotonic() - t0, fwtest.read_report(report), \
        fwtest.read_events(os.path.join(wd, "events"))


def norm(text):
    """A summary without its numbers (pids, tids, addresses, fork counts)."""
    return re.sub(r"0x[0-9a-f]+|\d+", "N", text or "")


def finding_digest(findings):
    return [(f.get("kind"), (f.get("lock") or {}).get("kind"), norm(f.get("summary")))
            for f in findings]


def attach_same_hang(cmd, wd):
    """The same hang under the agent with the watchdog off: `forkwatch attach --json` on
    the stuck child, once it blocks in a futex."""
    st = fwtest.start([fwtest.FORKWATCH, "run", "--hang-timeout", "none", "--grace", "none",
                       "--on-deadlock", "warn", "--report", os.path.join(wd, "attach-report.jsonl"),
                       "--"] + cmd, wd, fixture_timeout=FIXTURE_TIMEOUT)
    try:
        # child_blocking (the child's) may come before child_pid (the parent's): wait for both.
        fwtest.wait_for("child_blocking and child_pid",
                        lambda: {"child_blocking", "child_pid"} <= set(st.events()), 60)
        child = st.child_pid()
        fwtest.wait_for("the child blocked in a futex", lambda: fwtest.blocked_in_futex(child), 60)
        time.sleep(0.5)  # let a spinning runtime (libgomp) reach its futex wait: not a sync point
        fwtest.wait_for("the child blocked in a futex", lambda: fwtest.blocked_in_futex(child), 60)
        res = fwtest.run([fwtest.FORKWATCH, "attach", str(child), "--json"], 180)
        check(res.returncode == 1, "attach exit %d: %s" % (res.returncode, res.stderr[-500:]))
        import json
        return json.loads(res.stdout)
    finally:
        st.cleanup()


def case_unseen_hang(cmd, waiter_marker, runtime=None):
    wd = fwtest.workdir("wd-unseen")
    try:
        res, took, report, events = forkwatch_run(["--hang-timeout", str(HANG), "--grace", str(GRACE)],
                                                  cmd, wd)
        check(res.returncode == 86, "exit %d, not 86: %s" % (res.returncode, res.stderr[-800:]))
        check(took <= BOUND, "took %.1fs > %ds" % (took, BOUND))
        hangs = [e for e in report if e.get("event") == "hang"]
        child = int(events["child_pid"][0])
        if [e for e in report if e.get("event") == "fork-deadlock" and e.get("pid") == child]:
            # PyMutex-era CPython (3.13.1+: sid's python3) lets the agent see some of these
            # shapes (an ownerless Lock): then the watchdog must not report it a second time.
            check(not [e for e in hangs if e.get("pid") == child], "reported twice: %s" % hangs)
            print("note: %s: the agent saw this hang on this interpreter; checked: no second report"
                  % os.path.basename(cmd[-1]))
            return
        mine = [e for e in hangs if e.get("pid") == child]
        check(len(mine) == 1, "one hang event for child %d expected: %s" % (child, hangs))
        ev = mine[0]
        check(ev.get("source") == "watchdog" and ev.get("action") == "ended" and ev.get("policy") == "abort",
              "event fields: %s" % {k: ev.get(k) for k in ("source", "action", "policy")})
        check(ev.get("stuck_s", 0) >= HANG, "stuck_s %r < %d" % (ev.get("stuck_s"), HANG))
        check(ev.get("verdict") == "fork-deadlock", "verdict %r" % ev.get("verdict"))
        check("hang: pid %d made no progress" % child in res.stderr, "no hang summary: %s" % res.stderr[-800:])
        if waiter_marker:
            src, marker = waiter_marker
            line = marker_line(src, marker)
            waiter = ev["findings"][0]["waiter"]
            check(fwtest.frames_match(waiter.get("python_stack"), os.path.basename(src), line),
                  "waiter lacks %s:%d: %s" % (src, line, fwtest.fmt_frames(waiter.get("python_stack"))))
        check(not fwtest.pid_alive(child), "child %d still alive" % child)
        # The fork-unsafe runtime table (cli/fork_unsafe_runtimes.h) names libgomp, and nothing else.
        got = (ev.get("runtime") or {}).get("name")
        check(got == runtime, "runtime %r, not %r" % (got, runtime))
        if runtime:
            check("in %s, which is not fork-safe" % runtime in res.stderr and "source: " in res.stderr,
                  "summary lacks the runtime: %s" % res.stderr[-800:])
        # The verdict attach gives on the same hang.
        att = attach_same_hang(cmd, fwtest.workdir("wd-attach"))
        check(att.get("verdict") == ev.get("verdict"), "attach says %r, the watchdog %r" %
              (att.get("verdict"), ev.get("verdict")))
        check(finding_digest(att["findings"]) == finding_digest(ev["findings"]),
              "findings differ:\n attach   %s\n watchdog %s" % (finding_digest(att["findings"]),
                                                              finding_digest(ev["findings"])))
    finally:
        fwtest.remove_tree(wd)


# A safe process the watchdog analyses ends when the test pokes it (SIGUSR1, whose handler
# exits with the case's status), once the watchdog has said its analysis found nothing: it
# must not end by itself during the analysis, which takes GDB 1-6 s on a loaded machine (a
# process ending mid-attach also crashes gdb 13: "GDB was killed by signal 11"). Not poked
# within POKE_BOUND, it ends with NOT_POKED.
POKE_BOUND = 120
NOT_POKED = 99
POKE_PREAMBLE = ("import signal, sys\n"
                 "def _poked(*_):\n    raise SystemExit(%d)\n"
                 "signal.signal(signal.SIGUSR1, _poked)\n")


def case_safe(code, status, analysed, observe_after=0):
    """A safe process: its own status, no event; analysed (once, no finding) or never.
    observe_after: seconds (quiet windows of the 1 s hang timeout) to keep it waiting after
    the clean analysis, during which it must not be analysed again."""
    wd = fwtest.workdir("wd-safe")
    args = ["--hang-timeout", "1", "--grace", "1", "--verbose"]
    try:
        if not analysed:
            res, took, report, _ = forkwatch_run(args, [PY, "-c", code], wd)
            rc, stderr = res.returncode, res.stderr
        else:
            report_path = os.path.join(wd, "report.jsonl")
            st = fwtest.start([fwtest.FORKWATCH, "run", "--report", report_path] + args +
                              ["--", PY, "-c", POKE_PREAMBLE % status + code], wd,
                              fixture_timeout=FIXTURE_TIMEOUT)
            try:
                err = lambda: st.output()[1]
                fwtest.wait_for("the watchdog's clean analysis",
                                lambda: "no deadlock found; not analysed again" in err()
                                or st.popen.poll() is not None, POKE_BOUND)
                m = re.search(r"watchdog: pid (\d+) made no progress", err())
                check(m and st.popen.poll() is None,
                      "ended before a clean analysis (exit %r): %s" % (st.popen.poll(), err()[-800:]))
                if observe_after:
                    time.sleep(observe_after)  # an observation window, not a synchronisation
                # The python is forkwatch's child, unreaped while forkwatch runs: its PID is its own.
                if st.popen.poll() is None:
                    os.kill(int(m.group(1)), signal.SIGUSR1)
                rc = st.wait(60)
                stderr = err()
            finally:
                st.cleanup()
            report = fwtest.read_report(report_path)
        check(rc == status, "exit %d, not %d: %s" % (rc, status, stderr[-800:]))
        check(report == [], "events: %s" % report)
        n = len(re.findall(r"watchdog: pid \d+ made no progress", stderr))
        clean = len(re.findall(r"no deadlock found; not analysed again", stderr))
        if analysed:
            check(n == 1 and clean == 1, "analysed %d times, %d without finding (want 1, 1): %s" %
                  (n, clean, stderr[-800:]))
        else:
            check(n == 0, "analysed %d times: %s" % (n, stderr[-800:]))
        check("ending its process tree" not in stderr, "tree ended: %s" % stderr[-500:])
    finally:
        fwtest.remove_tree(wd)


def case_wub_fixture():
    wd = fwtest.workdir("wd-wub")
    try:
        res, took, report, events = forkwatch_run([], [PY, os.path.join(fwtest.FIXTURE_SRC, "python",
                                                                         "wub_machine.py")], wd)
        check(res.returncode == 86, "exit %d: %s" % (res.returncode, res.stderr[-800:]))
        check(took < 15, "took %.1fs" % took)
        check([e.get("event") for e in report] == ["fork-deadlock"], "events %s" % report)
    finally:
        fwtest.remove_tree(wd)


WUB_BLOCKS = os.path.join(HERE, "wub_parent_blocks.py")


def case_wub_parent_blocks():
    """Default settings: the agent's event at once, then 10 s of grace, then the tree ends."""
    wd = fwtest.workdir("wd-wubblocks")
    try:
        res, took, report, events = forkwatch_run([], [PY, WUB_BLOCKS], wd)
        check(res.returncode == 86, "exit %d: %s" % (res.returncode, res.stderr[-800:]))
        check(took < 15, "took %.1fs, not < 15" % took)
        check(10 <= took, "ended after %.1fs, before the 10 s grace" % took)
        check([e.get("event") for e in report if e.get("event") != "hang"] == ["fork-deadlock"],
              "events %s" % report)
        parent = int(events["parent_pid"][0])
        check("parent_blocking" in events, "the parent never reached logging.shutdown()")
        m = re.search(r"ended pid %d \(.*wub_parent_blocks\.py\) with SIG(TERM|KILL); it was waiting: (.*)" % parent,
                      res.stderr)
        check(m, "no line for the ended parent %d: %s" % (parent, res.stderr[-1500:]))
        where = m.group(2)
        line = marker_line(WUB_BLOCKS, "FW-PARENT-WAIT")
        # With an analysis: the Python line of logging.shutdown's caller chain (innermost
        # frame is logging's acquire); without one (analysis budget spent): the futex wait.
        # (3.14+, whose frames the GDB side does not read yet: the analysis's thread states.)
        check("logging/__init__.py" in where or "futex" in where or "blocked-on-lock" in where,
              "where the parent waited: %r (its line %d)" % (where, line))
        check(not fwtest.pid_alive(parent), "parent %d still alive" % parent)
    finally:
        fwtest.remove_tree(wd)


def case_grace_none():
    wd = fwtest.workdir("wd-gracenone")
    try:
        res, took, report, events = forkwatch_run(["--grace", "none", "--hang-timeout", "none"],
                                                  [PY, WUB_BLOCKS], wd, {"WUB_WRITER_SECONDS": "3"})
        check(res.returncode == 86, "exit %d: %s" % (res.returncode, res.stderr[-800:]))
        check(took >= 3, "took %.1fs: the writer holds the lock 3 s" % took)
        check("ending its process tree" not in res.stderr, "tree ended: %s" % res.stderr[-500:])
        check(events.get("child_status") == ["86"], "child status %s" % events.get("child_status"))
    finally:
        fwtest.remove_tree(wd)


def case_warn_then_grace():
    """--on-deadlock warn: the watchdog records the hang and leaves the process; the
    grace then ends the tree, naming the stuck child and where it waited."""
    wd = fwtest.workdir("wd-warn")
    try:
        fx = os.path.join(fwtest.FIXTURE_SRC, "python", "shape_executor_vanished.py")
        res, took, report, events = forkwatch_run(["--on-deadlock", "warn", "--hang-timeout", str(HANG),
                                                   "--grace", "3"], [PY, fx], wd)
        check(res.returncode == 86, "exit %d: %s" % (res.returncode, res.stderr[-800:]))
        check(took <= HANG + 3 + 5 + 6, "took %.1fs" % took)
        child = int(events["child_pid"][0])
        check(not fwtest.pid_alive(child), "child %d still alive" % child)
        if [e for e in report if e.get("event") == "fork-deadlock" and e.get("pid") == child]:
            print("note: the agent saw this hang on this interpreter (PyMutex era): grace checked only")
            check("ending its process tree" in res.stderr, "tree not ended: %s" % res.stderr[-800:])
            return
        hangs = [e for e in report if e.get("event") == "hang" and e.get("pid") == child]
        check(len(hangs) == 1 and hangs[0].get("action") == "left running" and hangs[0].get("policy") == "warn",
              "hang events %s" % [(e.get("pid"), e.get("action")) for e in report])
        line = marker_line(fx, "FW-CHILD-WAIT")
        m = re.search(r"ended pid %d \(.*\) with SIG(TERM|KILL); it was waiting: (.*)" % child, res.stderr)
        check(m and "MainThread" in m.group(2) and "threading.py" in m.group(2),
              "no line (with the analysis's Python frame) for the child %d, line %d: %s"
              % (child, line, res.stderr[-1500:]))
        check(not fwtest.pid_alive(child), "child %d still alive" % child)
    finally:
        fwtest.remove_tree(wd)


PYTEST_FILE = os.path.join(HERE, "pytest_case", "test_forks.py")


def case_pytest():
    wd = fwtest.workdir("wd-pytest")
    try:
        junit = os.path.join(wd, "junit.xml")
        res, took, report, _ = forkwatch_run(
            ["--hang-timeout", str(HANG), "--grace", "10", "--junit", junit, "--label", "shard-1"],
            [PY, "-m", "pytest", "-q", "-p", "no:cacheprovider", PYTEST_FILE], wd,
            {"GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": fwtest.ROOT})
        check(res.returncode == 86, "exit %d: %s" % (res.returncode, res.stderr[-800:]))
        rel = os.path.relpath(PYTEST_FILE, fwtest.ROOT)
        # The executor's lost worker is the watchdog's to find, except on PyMutex-era CPython
        # (3.13.1+) where the agent sees the ownerless Lock itself.
        tests = {"test_lock_held_across_fork": (("fork-deadlock",), "FW-PYTEST-AGENT-WAIT"),
                 "test_executor_lost_in_fork": (("hang", "fork-deadlock"), "FW-PYTEST-WATCHDOG-WAIT")}
        tree = ET.parse(junit)
        cases = tree.getroot().findall(".//testcase")
        check(sorted(c.get("name") for c in cases) == sorted(tests),
              "JUnit testcases %s" % [c.get("name") for c in cases])
        for name, (event, marker) in tests.items():
            node = "test_forks.py::" + name   # pytest's node id, relative to its rootdir
            evs = [e for e in report if e.get("event") in event and name in (e.get("test") or "")]
            check(len(evs) == 1, "%s: one %s event naming it expected: %s" % (name, event, report))
            check(evs[0].get("label") == "shard-1", "%s: label %r" % (name, evs[0].get("label")))
            check(evs[0]["test"].split(" ")[0].endswith(node), "%s: test %r" % (name, evs[0]["test"]))
            check(re.search(r'forkwatch: (fork deadlock|hang) in test "[^"]*%s \(call\)"' % re.escape(node),
                            res.stderr),
                  "%s: summary does not name it: %s" % (name, res.stderr[-1500:]))
            c = [c for c in cases if c.get("name") == name][0]
            line = marker_line(PYTEST_FILE, marker)
            f = c.find("failure")
            check(c.get("classname") == "test_forks" or c.get("classname", "").endswith(".test_forks"),
                  "classname %r" % c.get("classname"))
            check(f is not None and node in f.get("message") and node in (f.text or ""),
                  "%s: failure message/body lack the test id" % name)
            check(c.get("line") == str(line), "%s: JUnit line %r, not %d" % (name, c.get("line"), line))
            ann = "::error file=%s,line=%d,title=forkwatch%%3A deadlock in " % (rel, line)
            check(any(l.startswith(ann) and name in l for l in res.stdout.splitlines()),
                  "%s: no annotation %s... in stdout: %s" % (name, ann, res.stdout[-1500:]))
    finally:
        fwtest.remove_tree(wd)


def case_junit_clean():
    wd = fwtest.workdir("wd-junitclean")
    try:
        junit = os.path.join(wd, "junit.xml")
        res, _, report, _ = forkwatch_run(["--junit", junit], [PY, "-c", "raise SystemExit(4)"], wd)
        check(res.returncode == 4, "exit %d" % res.returncode)
        root = ET.parse(junit).getroot()
        check(root.get("tests") == "0" and root.get("failures") == "0" and not root.findall(".//testcase"),
              "JUnit of a clean run: %s" % ET.tostring(root)[:300])
    finally:
        fwtest.remove_tree(wd)


def case_usage():
    # in a scratch directory: were a usage error missed, `--junit -- true` would write a file
    # named `--` where it runs (it once did, into the source tree)
    wd = fwtest.workdir("watchdog-usage")
    try:
        for args, what in ((["--hang-timeout", "abc"], "--hang-timeout"), (["--hang-timeout", "0"], "--hang-timeout"),
                           (["--grace", "-1"], "--grace"), (["--label", ""], "--label"),
                           (["--junit"], "--junit")):
            res = fwtest.run([fwtest.FORKWATCH, "run"] + args + ["--", "true"], 30, cwd=wd)
            lines = [l for l in res.stderr.splitlines() if l.startswith("forkwatch: ")]
            check(res.returncode == 2 and len(lines) == 1 and what in lines[0],
                  "%s: exit %d, stderr %r" % (args, res.returncode, res.stderr))
            check(not os.listdir(wd), "%s: a usage error left %s behind" % (args, os.listdir(wd)))
    finally:
        fwtest.remove_tree(wd)


def main():
    missing = fwtest.have_build(fwtest.FORKWATCH, fwtest.AGENT,
                                os.path.join(fwtest.FIXTURE_BIN, "shape_openmp_pool"))
    r = fwtest.Runner("watchdog")
    if missing:
        print("missing: %s (run make)" % missing)
        print("0 passed, 1 failed")
        return 1
    shapes = os.path.join(fwtest.FIXTURE_SRC, "python")
    cases = [
        ("unseen-executor-vanished", case_unseen_hang,
         ([PY, os.path.join(shapes, "shape_executor_vanished.py")],
          (os.path.join(shapes, "shape_executor_vanished.py"), "FW-CHILD-WAIT"))),
        ("unseen-import-lock", case_unseen_hang,
         ([PY, os.path.join(shapes, "shape_import_lock.py")],
          (os.path.join(shapes, "shape_import_lock.py"), "FW-CHILD-WAIT"))),
        ("unseen-openmp-pool", case_unseen_hang,
         ([os.path.join(fwtest.FIXTURE_BIN, "shape_openmp_pool")], None, "GNU OpenMP (libgomp)")),
    ]
    # 3.13+ joins through the thread handle's PyEvent, which the agent does not see (README
    # shape table): the watchdog's, on every such CPython here (pyenv's 3.13.0 on the host; the
    # roots' 3.13.x, 3.14, 3.15).
    joiners = [i for i in fwtest.interpreters() if i.version[:2] >= (3, 13)]
    for i in joiners:
        cases.append(("unseen-join-vanished/%s" % i.label, case_unseen_hang,
                      ([i.path, os.path.join(shapes, "shape_join_vanished.py")], None)))
    if not joiners:
        print("no CPython 3.13+ here: the join shape is not run")
    cases += [
        # Each waits up to 60 s (the 30 s sleeper and socket, and more) until poked.
        ("safe-sleep", case_safe, ("import time; time.sleep(60); raise SystemExit(%d)" % NOT_POKED, 5, True)),
        # Several quiet windows after the first analysis: analysed once only.
        ("safe-sleep-loop", case_safe, ("import time\nfor _ in range(240): time.sleep(0.25)\n"
                                        "raise SystemExit(%d)" % NOT_POKED, 4, True, 4)),
        ("safe-join-sleeping-thread", case_safe,
         ("import threading, time\nt = threading.Thread(target=time.sleep, args=(60,), daemon=True)\n"
          "t.start()\nt.join()\nraise SystemExit(%d)" % NOT_POKED, 3, True)),
        ("safe-socket-no-peer", case_safe,
         ("import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\ns.bind(('127.0.0.1', 0))\n"
          "s.settimeout(60)\ntry:\n    s.recv(1)\nexcept socket.timeout:\n    raise SystemExit(%d)" % NOT_POKED,
          7, True)),
        ("safe-busy", case_safe, ("import time\nt = time.monotonic() + 3\nwhile time.monotonic() < t: pass", 0,
                                  False)),
        ("warn-then-grace", case_warn_then_grace, ()),
        ("wub-machine", case_wub_fixture, ()),
        ("wub-parent-blocks-default-settings", case_wub_parent_blocks, ()),
        ("grace-none", case_grace_none, ()),
        ("pytest-junit-annotations", case_pytest, ()),
        ("junit-clean-run", case_junit_clean, ()),
        ("usage", case_usage, ()),
    ]
    used = [PY] + [i.path for i in joiners]
    r.run(cases, also_used=used)
    return r.finish()


if __name__ == "__main__":
    sys.exit(main())
