#!/usr/bin/python3
"""The hang shapes of issue 4: each fixture (fixtures/python/shape_*.py, fixtures/c/shape_*.c)
is left hung (or paused, for the controls) and diagnosed live (`forkwatch attach --json`) and
from a core made with gcore (`forkwatch core --json`), without the agent and with it
(LD_PRELOAD, FORKWATCH_ON_DEADLOCK=warn), on every interpreter where the shape exists; where
the agent can see the shape, also under `forkwatch run` (exit 86 and a fork-deadlock event).
Tree shapes run `forkwatch attach --tree --json` on the fixture's parent.

Checks: verdict, exit status, the finding about the target thread (lock kind, a summary that
says what the shape is, the holder's name/alive), the waiter's Python line found by marker.

Usage: run_shapes.py [--quick] [--shape NAME ...] [--jobs N] [--no-core] [--no-agent]
  --quick: Debian's python3.11 and pyenv 3.12 only. FORKWATCH_TEST_PYTHONS (colon-separated
  paths) and FORKWATCH_TEST_FILTER (regex on case names) work as in the other suites.
Ends with `N passed, N failed`; exits non-zero on a failure.
"""
import argparse
import json
import os
import re
import signal
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import fwtest  # noqa: E402
from fwtest import check, fmt_frames, marker_line  # noqa: E402

TOOL_BOUND = 180        # attach / gcore / core, each
READY_BOUND = 60        # a fixture reaching its hang
FIXTURE_TIMEOUT = 600   # the fixture's own bound; the harness kills it long before
RUN_FIXTURE_TIMEOUT = 30  # under `forkwatch run` the agent aborts the child at once
FINDING_KINDS = {"fork-deadlock", "gil-held-across-fork", "deadlock", "orphaned-lock"}
FORK_KINDS = {"fork-deadlock", "gil-held-across-fork"}
PY = os.path.join(fwtest.FIXTURE_SRC, "python")


class Shape:
    def __init__(self, name, verdict, lock_kinds=None, summary_re=None, holder_name=None,
                 agent_holder_name=None, waiter_marker=None, waiter_file=None, lang="python",
                 run_status=None, ready="child_blocking", target="child", min_version=(3, 8),
                 max_version=(3, 99), env=None, args=(), tree=None, parent_summary_re=None,
                 holder_alive=False, agent=True, run_max_version=(3, 99), run_timeout=None,
                 agent_name_max_version=(3, 99)):
        self.name = name
        self.verdict = verdict
        self.lock_kinds = lock_kinds
        self.summary_re = summary_re
        self.holder_name = holder_name              # without the agent (None: not checked)
        self.agent_holder_name = agent_holder_name or holder_name
        self.waiter_marker = waiter_marker
        self.waiter_file = waiter_file or name + ".py"
        self.lang = lang
        self.run_status = run_status                # `forkwatch run` exit status, None: not run
        self.ready = ready
        self.target = target                        # "child" | "parent"
        self.min_version = min_version
        self.max_version = max_version
        self.env = env or {}
        self.args = list(args)
        self.tree = tree                            # {"parent": verdict, "child": verdict}
        self.parent_summary_re = parent_summary_re
        self.holder_alive = holder_alive
        self.agent = agent
        self.run_max_version = run_max_version
        # above it the agent has no Python names at fork: the holder is checked by TID
        self.agent_name_max_version = agent_name_max_version
        self.run_timeout = run_timeout or RUN_FIXTURE_TIMEOUT  # the fixture's own bound under run

    def source(self):
        if self.lang == "c":
            return os.path.join(fwtest.FIXTURE_SRC, "c", self.name + ".c")
        return os.path.join(PY, self.name + ".py")

    def command(self, interp):
        if self.lang == "c":
            return [os.path.join(fwtest.FIXTURE_BIN, self.name)] + self.args
        return [interp.path, self.source()] + self.args

    def exists_on(self, interp):
        if interp is None:
            return self.lang == "c"
        return self.min_version <= interp.version[:2] <= self.max_version


LIB_GIL = {"FIXTURE_LIB": os.path.join(fwtest.FIXTURE_BIN, "libshape_gilfork.so")}

SHAPES = [
    Shape("shape_gil_raw_fork", "gil-held-across-fork", {"gil"},
          r"waits for the GIL, which is held by thread (\d+|\?) \(GilHolder\) that vanished in fork",
          holder_name="GilHolder", waiter_marker="FW-CHILD-WAIT", env=LIB_GIL,
          run_status=86, agent_holder_name="GilHolder"),
    Shape("shape_stdout_full_pipe", "fork-deadlock", {"io.buffered"},
          r"io\.buffered \(sys\.stdout\.buffer\) .*(left behind by fork|vanished)",
          waiter_marker="FW-CHILD-WAIT", agent_holder_name="Printer", run_status=86),
    Shape("shape_stdout_full_pipe", "fork-deadlock", {"io.buffered"},
          r"io\.buffered \(sys\.stdout\.buffer\) .*left behind by fork.*interpreter's shutdown",
          agent_holder_name="Printer", run_status=86, args=["exit"]),
    Shape("shape_join_vanished", "fork-deadlock", {"threading.Lock", "semaphore"},
          r"joins a thread that does not exist in this process \(thread (\d+ \()?Worker\)?\).*"
          r"threading\._shutdown", holder_name="Worker", run_status=86,
          run_max_version=(3, 12)),  # 3.13 joins through a PyEvent the agent does not see
    Shape("shape_executor_vanished", "fork-deadlock", {"threading.Lock", "semaphore"},
          r"waits on a condition .*that only threads lost in the fork would signal",
          waiter_marker="FW-CHILD-WAIT"),
    Shape("shape_import_lock", "fork-deadlock", {"threading.Lock", "semaphore"},
          r"import lock of module 'shape_import_slow_mod' .*taken by thread .*vanished in fork",
          agent_holder_name="Importer", waiter_marker="FW-CHILD-WAIT",
          agent_name_max_version=(3, 12)),
    Shape("shape_mp_fork_worker", "fork-deadlock", {"threading.Lock", "semaphore"},
          r"(held across fork|left behind by fork)", agent_holder_name="Holder",
          waiter_marker="FW-CHILD-WAIT", run_status=86,
          tree={"parent": "no-deadlock"},
          parent_summary_re=r"child process \d+ \(thread \d+ \(MainThread\) waits for it\) is stuck: "
                            r".*(held across fork|left behind by fork)"),
    Shape("shape_mp_pool_replace", "fork-deadlock", {"threading.Lock", "semaphore"},
          r"(held across fork|left behind by fork)", agent_holder_name="MainThread",
          waiter_marker="FW-CHILD-WAIT", run_status=86, run_timeout=8,
          tree={"parent": "no-deadlock"},
          parent_summary_re=r"child process \d+ \(.*waits for it\) is stuck: .*(held across|left behind)"),
    Shape("shape_preexec_lock", "fork-deadlock", {"threading.Lock", "semaphore"},
          r"subprocess's preexec_fn in the forked child, which never reaches exec",
          agent_holder_name="Holder", waiter_marker="FW-CHILD-WAIT", run_status=86,
          tree={"parent": "no-deadlock"},
          parent_summary_re=r"child process \d+ \(thread \d+ \(MainThread\) waits for it\) is stuck: "
                            r".*preexec_fn"),
    Shape("shape_openmp_pool", "fork-deadlock", {"thread_pool"},
          r"GNU OpenMP \(libgomp\) for its pool threads, which do not exist in this process",
          holder_name="GNU OpenMP (libgomp) pool threads", lang="c"),
    # controls: no fork finding
    Shape("shape_stdio_malloc_fork", "no-deadlock", lang="c", ready="child_paused"),
    Shape("shape_queue_consumer", "no-deadlock", ready="child_paused",
          tree={"parent": "no-deadlock"}),
    Shape("shape_forker_holds", "no-deadlock", ready="child_paused"),
    Shape("shape_sleep_busy", "no-deadlock", ready="ready", target="self", args=["sleep"],
          agent=False),
    Shape("shape_sleep_busy", "no-deadlock", ready="ready", target="self", args=["busy"],
          agent=False),
    Shape("shape_atfork_hook", "fork-deadlock", {"threading.RLock", "semaphore"},
          r"inside os\.fork\(\) in the child: an at-fork child hook", agent_holder_name="Writer",
          waiter_marker="FW-CHILD-WAIT", run_status=86),
]


def agent_env(wd):
    return {"LD_PRELOAD": fwtest.AGENT, "FORKWATCH_ON_DEADLOCK": "warn",
            "FORKWATCH_REPORT": os.path.join(wd, "report.jsonl"), "FORKWATCH_QUIET": "1"}


def analyse(args, wd):
    cmd = [fwtest.FORKWATCH] + args
    res = fwtest.run(cmd, TOOL_BOUND, cwd=wd)
    try:
        doc = json.loads(res.stdout)
    except ValueError:
        raise AssertionError("%s: exit %d, stdout not JSON: %r; stderr: %s"
                             % (" ".join(cmd[1:]), res.returncode, res.stdout[:300],
                                res.stderr.strip()[-500:]))
    return res.returncode, doc


def summaries(doc):
    return [f.get("summary") for f in doc.get("findings") or []]


def check_doc(sh, interp, with_agent, doc, target, source, ctx, events):
    check(doc.get("schema") == "forkwatch/1", ctx + "schema %r" % doc.get("schema"))
    check(doc.get("pid") == target, ctx + "pid %r != %d" % (doc.get("pid"), target))
    check(doc.get("source") == source, ctx + "source %r" % doc.get("source"))
    check(doc.get("agent") is with_agent, ctx + "agent %r, want %r" % (doc.get("agent"), with_agent))
    if interp is not None:
        py = doc.get("python") or {}
        check(py.get("version") == interp.version_string,
              ctx + "python %r, want %s" % (doc.get("python"), interp.version_string))
    check(doc.get("verdict") == sh.verdict, ctx + "verdict %r, want %r; findings: %s"
          % (doc.get("verdict"), sh.verdict, summaries(doc)))
    if sh.verdict == "no-deadlock":
        bad = [f for f in doc.get("findings") or [] if f.get("kind") in FINDING_KINDS]
        check(not bad, ctx + "unexpected findings: %s" % [f.get("summary") for f in bad])
        return
    mine = [f for f in doc.get("findings") or []
            if f.get("kind") == sh.verdict and (f.get("waiter") or {}).get("tid") == target]
    check(mine, ctx + "no %s finding whose waiter is thread %d: %s" % (sh.verdict, target, summaries(doc)))
    f = mine[0]
    lock, holder, waiter = f.get("lock") or {}, f.get("holder") or {}, f.get("waiter") or {}
    if sh.lock_kinds:
        check(lock.get("kind") in sh.lock_kinds,
              ctx + "lock.kind %r, want %s" % (lock.get("kind"), sorted(sh.lock_kinds)))
    if sh.summary_re:
        check(re.search(sh.summary_re, f.get("summary") or ""),
              ctx + "summary %r does not match %r" % (f.get("summary"), sh.summary_re))
    check(holder.get("alive") is sh.holder_alive, ctx + "holder.alive %r" % holder.get("alive"))
    want = sh.agent_holder_name if with_agent else sh.holder_name
    if with_agent and interp is not None and interp.version[:2] > sh.agent_name_max_version:
        check(holder.get("tid") == int(events["holder_tid"][0]),
              ctx + "holder.tid %r, want %s" % (holder.get("tid"), events["holder_tid"][0]))
        want = None
    if want:
        check(holder.get("name") == want, ctx + "holder.name %r, want %r" % (holder.get("name"), want))
    if sh.waiter_marker:
        line = marker_line(sh.source(), sh.waiter_marker)
        check(fwtest.frames_match(waiter.get("python_stack"), sh.waiter_file, line),
              ctx + "waiter python_stack lacks %s:%d: %s"
              % (sh.waiter_file, line, fmt_frames(waiter.get("python_stack"))))


def wait_ready(sh, started):
    """-> (parent pid, child pid or None) once the fixture reached its hang / pause."""
    if sh.target == "self":
        ev = fwtest.wait_events(started.events_path, ["parent_pid", sh.ready], READY_BOUND)
        return int(ev["parent_pid"][0]), None
    ev = fwtest.wait_events(started.events_path, ["child_pid", "parent_pid", sh.ready], READY_BOUND)
    child = int(ev["child_pid"][0])
    parent = int(ev["parent_pid"][0])
    if sh.ready == "child_blocking":
        fwtest.wait_for("child %d asleep in futex" % child, lambda: fwtest.blocked_in_futex(child),
                        READY_BOUND)
    else:
        fwtest.wait_for("child %d asleep" % child, lambda: fwtest.proc_stat_state(child) == "S",
                        READY_BOUND)
    return parent, child


def test_diagnose(sh, interp, with_agent, do_core):
    wd = fwtest.workdir("shape-%s-%s" % (sh.name, interp.label if interp else "c"))
    env = agent_env(wd) if with_agent else {}
    env.update(sh.env)
    if sh.ready == "child_paused":
        env["FIXTURE_CHILD_PAUSE"] = "1"
    started = fwtest.start(sh.command(interp), wd, env, fixture_timeout=FIXTURE_TIMEOUT)
    try:
        parent, child = wait_ready(sh, started)
        target = child if sh.target == "child" else parent
        if sh.tree:
            rc, docs = analyse(["attach", "--tree", "--json", str(parent)], wd)
            check(isinstance(docs, list), "--tree: not a JSON list: %r" % type(docs))
            by_pid = dict((d.get("pid"), d) for d in docs)
            check(parent in by_pid and child in by_pid,
                  "--tree: pids %s, want %d and %d" % (sorted(by_pid), parent, child))
            want_rc = 0 if sh.verdict == "no-deadlock" and sh.tree["parent"] == "no-deadlock" else 1
            check(rc == want_rc, "--tree: exit %d, want %d" % (rc, want_rc))
            check_doc(sh, interp, with_agent, by_pid[child], child, "live", "tree child: ", started.events())
            pd = by_pid[parent]
            check(pd.get("verdict") == sh.tree["parent"], "tree parent: verdict %r, want %r: %s"
                  % (pd.get("verdict"), sh.tree["parent"], summaries(pd)))
            if sh.parent_summary_re:
                text = " ".join(summaries(pd)) + " " + (pd.get("summary") or "")
                check(re.search(sh.parent_summary_re, text),
                      "tree parent: %r does not match %r" % (text, sh.parent_summary_re))
        rc, doc = analyse(["attach", "--json", str(target)], wd)
        check_doc(sh, interp, with_agent, doc, target, "live", "live: ", started.events())
        check(rc == (0 if sh.verdict == "no-deadlock" else 1), "live: exit status %d" % rc)
        check(fwtest.tracer_pid(target) == 0, "after attach: %d still traced" % target)
        if do_core:
            prefix = os.path.join(wd, "core")
            res = fwtest.run(["gcore", "-o", prefix, str(target)], TOOL_BOUND, cwd=wd)
            core = "%s.%d" % (prefix, target)
            check(res.returncode == 0 and os.path.exists(core),
                  "gcore failed (%d): %s" % (res.returncode, res.stderr.strip()[-300:]))
            rc, doc = analyse(["core", "--json", core], wd)
            os.unlink(core)
            check_doc(sh, interp, with_agent, doc, target, "core", "core: ", started.events())
            check(rc == (0 if sh.verdict == "no-deadlock" else 1), "core: exit status %d" % rc)
        if sh.ready == "child_paused":
            os.kill(child, signal.SIGUSR1)
            fwtest.wait_events(started.events_path, ["child_done"], READY_BOUND)
            rc = started.wait(READY_BOUND)
            check(rc == 0, "after detaching, the control exited %d, want 0" % rc)
            if with_agent:
                report = fwtest.read_report(os.path.join(wd, "report.jsonl"))
                check(not [e for e in report if e.get("event") == "fork-deadlock"],
                      "the agent reported a deadlock on a control: %s" % report[:1])
    finally:
        started.cleanup()
        fwtest.remove_tree(wd)


def test_run(sh, interp):
    """`forkwatch run` (agent, abort): the child reports and exits 86 instead of hanging."""
    wd = fwtest.workdir("shape-run-%s-%s" % (sh.name, interp.label if interp else "c"))
    report = os.path.join(wd, "report.jsonl")
    env = fwtest.clean_env({"FIXTURE_EVENTS": os.path.join(wd, "events"),
                            "FIXTURE_TIMEOUT": str(sh.run_timeout)})
    env.update(sh.env)
    try:
        res = fwtest.run([fwtest.FORKWATCH, "run", "--quiet", "--report", report, "--"]
                         + sh.command(interp), RUN_FIXTURE_TIMEOUT + 60, env=env, cwd=wd)
        check(res.returncode == sh.run_status, "forkwatch run exit %d, want %d; stderr: %s"
              % (res.returncode, sh.run_status, res.stderr.strip()[-400:]))
        if sh.run_status == 86:
            events = fwtest.read_report(report)
            dl = [e for e in events if e.get("event") == "fork-deadlock"]
            check(dl, "no fork-deadlock event in the report: %s" % events[:2])
            if sh.agent_holder_name:
                check((dl[0].get("holder") or {}).get("name") == sh.agent_holder_name,
                      "event holder %r, want %r" % (dl[0].get("holder"), sh.agent_holder_name))
    finally:
        fwtest.remove_tree(wd)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="python3.11 (Debian) and 3.12 only")
    ap.add_argument("--shape", action="append", help="only this shape (repeatable)")
    ap.add_argument("--jobs", type=int, default=int(os.environ.get("FORKWATCH_TEST_JOBS", "2")))
    ap.add_argument("--no-core", action="store_true", help="live diagnoses only")
    ap.add_argument("--no-agent", action="store_true", help="without the agent only")
    opts = ap.parse_args()
    runner = fwtest.Runner("shapes")
    missing = fwtest.have_build(fwtest.FORKWATCH, fwtest.AGENT, fwtest.FIXTURE_BIN)
    if missing:
        print("shapes: missing %s (run make)" % ", ".join(missing))
        runner.failed += 1
        return runner.finish()
    interps = fwtest.interpreters()
    if opts.quick:
        interps = [i for i in interps if i.path == "/usr/bin/python3.11" or i.version[:2] == (3, 12)]
    print("shapes: CPython interpreters: %s" % ", ".join(i.label for i in interps))
    cases = []
    for sh in SHAPES:
        if opts.shape and sh.name not in opts.shape and sh.name.replace("shape_", "") not in opts.shape:
            continue
        for interp in (interps if sh.lang == "python" else [None]):
            if not sh.exists_on(interp):
                continue
            tag = "%s%s%s" % (sh.name, "".join("-" + a for a in sh.args),
                              "/" + interp.label if interp else "")
            cases.append(("shapes/%s/no-agent" % tag, test_diagnose, (sh, interp, False, not opts.no_core)))
            if sh.agent and not opts.no_agent:
                cases.append(("shapes/%s/agent-warn" % tag, test_diagnose,
                              (sh, interp, True, not opts.no_core)))
            if sh.run_status is not None and not opts.no_agent and \
                    (interp is None or interp.version[:2] <= sh.run_max_version):
                cases.append(("shapes/%s/run" % tag, test_run, (sh, interp)))
    runner.run(cases, jobs=max(1, min(2, opts.jobs)))
    return runner.finish()


if __name__ == "__main__":
    sys.exit(main())
