#!/usr/bin/python3
"""End-to-end tests: fixtures left hung, diagnosed live (`forkwatch attach --json`) and
from a core made with gcore (`forkwatch core --json`), without the agent and with it
(LD_PRELOAD, FORKWATCH_ON_DEADLOCK=warn: the child reports, then blocks).

Checks: verdict (fork-deadlock; abba -> deadlock; safe -> no-deadlock), lock kind, the
waiter's Python file:line (found by marker comments in the fixture), holder alive=false,
holder name and acquiring function when the agent was present; that the process is left
running and untraced after attach/gcore, and that a safe child carries on normally
after the detach. Python fixtures run on every interpreter found; 2 cases at a time.
"""
import json
import os
import re
import signal
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import fwtest  # noqa: E402
from fwtest import check, fmt_frames, marker_line  # noqa: E402

TOOL_BOUND = 240        # attach / gcore / core, each (forkwatch's own default is 120 s)
READY_BOUND = 60        # fixture reaching its hang
FIXTURE_TIMEOUT = 600   # the fixture parent's own bound; the harness kills it long before
FINDING_KINDS = {"fork-deadlock", "gil-held-across-fork", "deadlock", "orphaned-lock"}


def agent_env(wd):
    return {"LD_PRELOAD": fwtest.AGENT, "FORKWATCH_ON_DEADLOCK": "warn",
            "FORKWATCH_REPORT": os.path.join(wd, "report.jsonl"), "FORKWATCH_QUIET": "1"}


def analyse(verb, target, wd):
    cmd = [fwtest.FORKWATCH, verb, "--json", str(target)]
    res = fwtest.run(cmd, TOOL_BOUND, cwd=wd)
    try:
        doc = json.loads(res.stdout)
    except ValueError:
        raise AssertionError("%s: exit %d, stdout not JSON: %r; stderr: %s"
                             % (" ".join(cmd[1:]), res.returncode, res.stdout[:300],
                                res.stderr.strip()[-500:]))
    for d in (doc if isinstance(doc, list) else [doc]):
        fwtest.check_evidence(d)   # every claim backed by the finding's evidence
    return res.returncode, doc


def analyse_gcore(pid, wd):
    """gcore of live process pid, then `forkwatch core --json` on it: (exit status, document)."""
    prefix = os.path.join(wd, "core")
    res = fwtest.run(["gcore", "-o", prefix, str(pid)], TOOL_BOUND, cwd=wd)
    core = "%s.%d" % (prefix, pid)
    check(res.returncode == 0 and os.path.exists(core), "gcore failed (%d)" % res.returncode)
    try:
        return analyse("core", core, wd)
    finally:
        os.unlink(core)


def find_findings(doc, kind):
    return [f for f in doc.get("findings") or [] if f.get("kind") == kind]


def check_diagnosis(fx, interp, with_agent, doc, rc, source, target, events):
    ctx = "%s %s: " % (source, doc.get("verdict"))
    check(doc.get("schema") == "forkwatch/1", ctx + "schema %r" % doc.get("schema"))
    check(doc.get("pid") == target, ctx + "pid %r != %d" % (doc.get("pid"), target))
    check(doc.get("source") == source, ctx + "source %r" % doc.get("source"))
    check(doc.get("verdict") == fx.verdict,
          ctx + "verdict %r, want %r; findings: %s" % (doc.get("verdict"), fx.verdict,
                                                      [f.get("summary") for f in doc.get("findings") or []]))
    check(rc == (0 if fx.verdict == "no-deadlock" else 1), ctx + "exit status %d" % rc)
    check(doc.get("agent") is with_agent, ctx + "agent %r, want %r" % (doc.get("agent"), with_agent))
    if interp:
        py = doc.get("python") or {}
        check(py.get("version") == interp.version_string,
              ctx + "python %r, want %s" % (doc.get("python"), interp.version_string))
    else:
        check(doc.get("python") is None, ctx + "python %r for a C program" % doc.get("python"))
    tids = [t.get("tid") for t in doc.get("threads") or []]
    check(target in tids, ctx + "thread %d not listed: %s" % (target, tids))

    if fx.verdict == "no-deadlock":
        bad = [f for f in doc.get("findings") or [] if f.get("kind") in FINDING_KINDS]
        check(not bad, ctx + "unexpected findings: %s" % [f.get("summary") for f in bad])
        return

    found = find_findings(doc, fx.verdict)
    check(found, ctx + "no %s finding" % fx.verdict)
    if fx.verdict == "deadlock":
        a, b = int(events["a_tid"][0]), int(events["b_tid"][0])
        check(not any(f.get("kind") in ("fork-deadlock", "gil-held-across-fork") for f in
                      doc.get("findings") or []), ctx + "a fork finding for a deadlock without fork")
        for f in found:
            w, h = f.get("waiter") or {}, f.get("holder") or {}
            check({w.get("tid"), h.get("tid")} == {a, b},
                  ctx + "cycle %r -> %r, want threads %d and %d" % (w.get("tid"), h.get("tid"), a, b))
            check(h.get("alive") is True, ctx + "holder.alive %r in a live cycle" % h.get("alive"))
            check((f.get("lock") or {}).get("kind") in fx.lock_kinds, ctx + "lock %r" % f.get("lock"))
            check(any(fr.get("function") == fx.waiter_function for fr in w.get("native_stack") or []),
                  ctx + "waiter native stack lacks %s: %s" % (fx.waiter_function,
                                                               fmt_frames(w.get("native_stack"))))
        return

    mine = [f for f in found if (f.get("waiter") or {}).get("tid") == target]
    check(mine, ctx + "no finding whose waiter is thread %d: %s"
          % (target, [(f.get("waiter") or {}).get("tid") for f in found]))
    f = mine[0]
    lock, holder, waiter = f.get("lock") or {}, f.get("holder") or {}, f.get("waiter") or {}
    check(lock.get("kind") in fx.lock_kinds, ctx + "lock.kind %r, want %s" % (lock.get("kind"),
                                                                              sorted(fx.lock_kinds)))
    check(holder.get("alive") is False, ctx + "holder.alive %r" % holder.get("alive"))
    check(bool(f.get("summary")), ctx + "empty summary")
    if fx.waiter_py_marker:
        line = marker_line(fx.source, fx.waiter_py_marker)
        check(fwtest.frames_match(waiter.get("python_stack"), os.path.basename(fx.source), line),
              ctx + "waiter python_stack lacks %s:%d: %s"
              % (os.path.basename(fx.source), line, fmt_frames(waiter.get("python_stack"))))
    if fx.waiter_function:
        check(any(fr.get("function") == fx.waiter_function for fr in waiter.get("native_stack") or []),
              ctx + "waiter native stack lacks %s: %s" % (fx.waiter_function,
                                                           fmt_frames(waiter.get("native_stack"))))
    if with_agent:
        check(holder.get("source") == "agent", ctx + "holder.source %r" % holder.get("source"))
        check(holder.get("name") == fx.holder_name,
              ctx + "holder.name %r, want %r" % (holder.get("name"), fx.holder_name))
        check(holder.get("tid") == int(events["holder_tid"][0]),
              ctx + "holder.tid %r != %s" % (holder.get("tid"), events["holder_tid"][0]))
        if fx.holder_function:
            check(any(fr.get("function") == fx.holder_function
                      for fr in holder.get("native_stack") or []),
                  ctx + "holder's acquiring function %s not in %s"
                  % (fx.holder_function, fmt_frames(holder.get("native_stack"))))
        if fx.holder_py_marker:
            line = marker_line(fx.source, fx.holder_py_marker)
            check(fwtest.frames_match(holder.get("python_stack"), os.path.basename(fx.source), line),
                  ctx + "holder python_stack lacks %s:%d: %s"
                  % (os.path.basename(fx.source), line, fmt_frames(holder.get("python_stack"))))
    elif fx.holder_tid_known_without_agent:
        check(holder.get("tid") == int(events["holder_tid"][0]),
              ctx + "holder.tid %r != %s (from the lock word)"
              % (holder.get("tid"), events["holder_tid"][0]))


def wait_ready(fx, started):
    """-> (target pid, [tids that must stay blocked]) once the fixture reached its wait."""
    if fx.verdict == "deadlock":
        ev = fwtest.wait_events(started.events_path, ["a_tid", "b_tid", "a_blocking", "b_blocking"],
                                READY_BOUND)
        pid = started.pid
        tids = [int(ev["a_tid"][0]), int(ev["b_tid"][0])]
        for t in tids:
            fwtest.wait_for("thread %d asleep in futex" % t,
                            lambda t=t: fwtest.blocked_in_futex(pid, t), READY_BOUND)
        return pid, tids
    key = "child_blocking" if fx.hang else "child_paused"
    ev = fwtest.wait_events(started.events_path, ["child_pid", key], READY_BOUND)
    child = int(ev["child_pid"][0])
    if fx.hang:
        fwtest.wait_for("child %d asleep in futex" % child,
                        lambda: fwtest.blocked_in_futex(child), READY_BOUND)
    else:
        fwtest.wait_for("child %d asleep" % child,
                        lambda: fwtest.proc_stat_state(child) == "S", READY_BOUND)
    return child, [child]


# After GDB detaches, an interrupted futex wait is restarted by the kernel: the
# thread is briefly runnable (state R) before it sleeps again. "Left alone" means
# it goes back to sleep in the same wait within a bound, not that we caught it asleep.
SETTLE_BOUND = 10


def settled(predicate):
    try:
        return fwtest.wait_for("settle", predicate, SETTLE_BOUND)
    except fwtest.Timeout:
        return False


def check_left_alone(pid, tids, fx, when):
    check(fwtest.tracer_pid(pid) == 0, "%s: %d still traced (TracerPid %s)"
          % (when, pid, fwtest.tracer_pid(pid)))
    for t in tids:
        if fx.hang:
            check(settled(lambda t=t: fwtest.blocked_in_futex(pid, t if t != pid else None)),
                  "%s: %d/%d no longer asleep in futex (state %s)"
                  % (when, pid, t, fwtest.proc_stat_state(pid, t)))
        else:
            check(settled(lambda: fwtest.proc_stat_state(pid) == "S"),
                  "%s: %d state %s" % (when, pid, fwtest.proc_stat_state(pid)))


def test_case(fx, interp, with_agent):
    if interp is None and fx.lang == "python":
        raise fwtest.Skip("no interpreter")
    wd = fwtest.workdir("e2e-%s-%s" % (fx.name, interp.label if interp else "c"))
    env = agent_env(wd) if with_agent else {}
    if not fx.hang:
        env["FIXTURE_CHILD_PAUSE"] = "1"
    started = fwtest.start(fx.command(interp), wd, env, fixture_timeout=FIXTURE_TIMEOUT)
    try:
        target, tids = wait_ready(fx, started)
        events = started.events()
        if with_agent and fx.verdict == "fork-deadlock":
            report = fwtest.read_report(os.path.join(wd, "report.jsonl"))
            check(any(e.get("event") == "fork-deadlock" and e.get("pid") == target for e in report),
                  "the agent (warn) wrote no fork-deadlock event before blocking")

        rc, doc = analyse("attach", target, wd)
        check_diagnosis(fx, interp, with_agent, doc, rc, "live", target, events)
        check_left_alone(target, tids, fx, "after attach")

        core_prefix = os.path.join(wd, "core")
        res = fwtest.run(["gcore", "-o", core_prefix, str(target)], TOOL_BOUND, cwd=wd)
        core = "%s.%d" % (core_prefix, target)
        check(res.returncode == 0 and os.path.exists(core),
              "gcore failed (%d): %s" % (res.returncode, res.stderr.strip()[-300:]))
        check_left_alone(target, tids, fx, "after gcore")
        rc, doc = analyse("core", core, wd)
        os.unlink(core)
        check_diagnosis(fx, interp, with_agent, doc, rc, "core", target, events)

        if not fx.hang:
            # The process keeps running normally after the debugger detached.
            os.kill(target, signal.SIGUSR1)
            fwtest.wait_events(started.events_path, ["child_resumed", "child_done"], READY_BOUND)
            rc = started.wait(READY_BOUND)
            check(rc == 0, "after detaching, the fixture exited %d, want 0" % rc)
            if with_agent:
                report = fwtest.read_report(os.path.join(wd, "report.jsonl"))
                check(report == [], "the agent reported on a safe fixture: %s" % report[:1])
        elif fx.verdict == "fork-deadlock":
            # The parent still runs its own bounded wait: killing the hung child ends it.
            fwtest.kill_pid(target)
            rc = started.wait(READY_BOUND)
            check(rc == 128 + signal.SIGKILL, "parent exit %d after its child was killed" % rc)
    finally:
        started.cleanup()
        fwtest.remove_tree(wd)


def test_core_parent_gone(script, interp, want_verdict, want_re, args=(), want_holder=None):
    """Post mortem with no parent left: the child's core is analysed after its parent
    was killed, so nothing can be compared with the parent. The verdict must then come
    from the core alone (a Python frame that only runs in a forked child) or say what
    cannot be told, never a confident 'it waits on itself' for a fork victim."""
    wd = fwtest.workdir("e2e-parent-gone-%s-%s" % (script, interp.label))
    started = fwtest.start([interp.path, os.path.join(fwtest.FIXTURE_SRC, "python", script + ".py")] + list(args),
                           wd, {}, fixture_timeout=FIXTURE_TIMEOUT)
    try:
        ev = fwtest.wait_events(started.events_path, ["child_pid", "parent_pid", "child_blocking"], READY_BOUND)
        child, parent = int(ev["child_pid"][0]), int(ev["parent_pid"][0])
        fwtest.wait_for("child %d asleep in futex" % child, lambda: fwtest.blocked_in_futex(child), READY_BOUND)
        prefix = os.path.join(wd, "core")
        res = fwtest.run(["gcore", "-o", prefix, str(child)], TOOL_BOUND, cwd=wd)
        core = "%s.%d" % (prefix, child)
        check(res.returncode == 0 and os.path.exists(core), "gcore failed (%d)" % res.returncode)
        check(parent == started.pid, "the fixture's parent %d is not the process started" % parent)
        # The core is all we analyse: end the hung child first, while its parent (ours,
        # not yet reaped) still holds its PID, then the parent, so nothing is left behind.
        fwtest.kill_pid(child)
        fwtest.kill_pid(parent)
        started.wait(READY_BOUND)   # reaped: /proc/PARENT is gone
        rc, doc = analyse("core", core, wd)
        os.unlink(core)
        f = (doc.get("findings") or [{}])[0]
        check(doc.get("verdict") == want_verdict and rc == 1,
              "verdict %r (exit %d), want %r: %s" % (doc.get("verdict"), rc, want_verdict, f.get("summary")))
        check(re.search(want_re, f.get("summary") or ""), "summary %r does not match %r"
              % (f.get("summary"), want_re))
        if want_holder:
            h = f.get("holder") or {}
            check(h.get("name") == want_holder and h.get("tid") == int(ev["holder_tid"][0]),
                  "holder %r, want %s [tid %s]" % (h, want_holder, ev["holder_tid"][0]))
    finally:
        started.cleanup()
        fwtest.remove_tree(wd)


def test_live_parent_gone(script, interp, want_verdict, want_re):
    """A hung fork child whose parent has died (reparented to init or a subreaper): attach must
    not take the new parent for evidence, and the child's own memory still says fork."""
    wd = fwtest.workdir("e2e-live-parent-gone-%s-%s" % (script, interp.label))
    started = fwtest.start([interp.path, os.path.join(fwtest.FIXTURE_SRC, "python", script + ".py")],
                           wd, {}, fixture_timeout=FIXTURE_TIMEOUT)
    child = None
    try:
        ev = fwtest.wait_events(started.events_path, ["child_pid", "parent_pid", "child_blocking"], READY_BOUND)
        child, parent = int(ev["child_pid"][0]), int(ev["parent_pid"][0])
        check(parent == started.pid, "the fixture's parent %d is not the process started" % parent)
        fwtest.wait_for("child %d asleep in futex" % child, lambda: fwtest.blocked_in_futex(child), READY_BOUND)
        fwtest.kill_pid(parent)
        started.wait(READY_BOUND)

        def reparented():
            with open("/proc/%d/stat" % child, "rb") as f:
                st = f.read()
            return int(st[st.rindex(b")") + 2:].split()[1]) != parent
        fwtest.wait_for("child %d reparented" % child, reparented, READY_BOUND)
        rc, doc = analyse("attach", child, wd)
        f = (doc.get("findings") or [{}])[0]
        check(doc.get("verdict") == want_verdict and rc == 1,
              "verdict %r (exit %d), want %r: %s" % (doc.get("verdict"), rc, want_verdict, f.get("summary")))
        check(re.search(want_re, f.get("summary") or ""), "summary %r does not match %r"
              % (f.get("summary"), want_re))
        check("itself" not in (f.get("summary") or "") and "RLock" not in (f.get("advice") or ""),
              "a fork victim called a self-deadlock: %s / %s" % (f.get("summary"), f.get("advice")))
    finally:
        if child is not None:
            fwtest.kill_pid(child)
        started.cleanup()
        fwtest.remove_tree(wd)


def test_relock_alone(mode, interp, want_verdict, want_re):
    """The only thread relocks a threading.Lock: proven self-deadlock when the process never had
    another thread (glibc describes none), blocked-forever when one ran and ended (a Lock records
    no owner, so that thread may have taken it). Live and from a core."""
    wd = fwtest.workdir("e2e-relock-%s-%s" % (mode, interp.label))
    started = fwtest.start([interp.path, os.path.join(fwtest.FIXTURE_SRC, "python", "relock_alone.py"), mode],
                           wd, {}, fixture_timeout=FIXTURE_TIMEOUT)
    try:
        ev = fwtest.wait_events(started.events_path, ["parent_pid", "child_blocking"], READY_BOUND)
        pid = int(ev["parent_pid"][0])
        fwtest.wait_for("%d asleep in futex" % pid, lambda: fwtest.blocked_in_futex(pid), READY_BOUND)
        prefix = os.path.join(wd, "core")
        res = fwtest.run(["gcore", "-o", prefix, str(pid)], TOOL_BOUND, cwd=wd)
        check(res.returncode == 0, "gcore failed (%d)" % res.returncode)
        line = fwtest.marker_line(os.path.join(fwtest.FIXTURE_SRC, "python", "relock_alone.py"), "FW-RELOCK")
        for verb, target in (("attach", pid), ("core", "%s.%d" % (prefix, pid))):
            rc, doc = analyse(verb, target, wd)
            f = (doc.get("findings") or [{}])[0]
            check(doc.get("verdict") == want_verdict and rc == 1, "%s: verdict %r (exit %d), want %r: %s"
                  % (verb, doc.get("verdict"), rc, want_verdict, f.get("summary")))
            check(re.search(want_re, f.get("summary") or ""), "%s: summary %r does not match %r"
                  % (verb, f.get("summary"), want_re))
            check(fwtest.frames_match((f.get("waiter") or {}).get("python_stack") or [], "relock_alone.py", line),
                  "%s: the waiter's stack misses relock_alone.py:%d" % (verb, line))
    finally:
        started.cleanup()
        fwtest.remove_tree(wd)


ADVICE_TABLE = os.path.join(fwtest.ROOT, "gdb", "forkwatch", "advice.json")
# a dotted name in an advice text that the user is told to call: its module (or object) prefix
_API_PREFIXES = ("os", "threading", "lock", "logging", "multiprocessing", "concurrent")


def test_advice_apis(interp):
    """Every advice row that covers this interpreter's version names only APIs it has: each
    row's "apis" exist in it (imported and looked up by the interpreter itself), and every
    dotted call its text recommends is among the row's "apis"."""
    with open(ADVICE_TABLE, encoding="utf-8") as f:
        rows = json.load(f)["advice"]
    probe = ("import importlib, json, sys\n"
             "out = {}\n"
             "for name in json.loads(sys.argv[1]):\n"
             "    parts = name.split('.')\n"
             "    try:\n"
             "        obj = importlib.import_module(parts[0])\n"
             "        for p in parts[1:]:\n"
             "            obj = getattr(obj, p)\n"
             "        out[name] = True\n"
             "    except (ImportError, AttributeError):\n"
             "        out[name] = False\n"
             "print(json.dumps(out))\n")
    minor = tuple(int(x) for x in interp.version_string.split(".")[:2])

    def covers(row):
        lo, hi = row.get("python") or [None, None]
        lo = tuple(int(x) for x in lo.split(".")) if lo else None
        hi = tuple(int(x) for x in hi.split(".")) if hi else None
        return (lo is None or minor >= lo) and (hi is None or minor <= hi)
    rows = [r for r in rows if covers(r)]
    keys = set(r["key"] for r in rows)
    check({"py-lock", "raw-fork", "gil", "self-deadlock"} <= keys,
          "no advice for Python %s among %s" % (interp.version_string, sorted(keys)))
    names = sorted(set(a for r in rows for a in r.get("apis") or []))
    res = fwtest.run([interp.path, "-c", probe, json.dumps(names)], TOOL_BOUND)
    check(res.returncode == 0, "probe failed: %s" % res.stderr[-300:])
    have = json.loads(res.stdout)
    missing = [n for n in names if not have.get(n)]
    check(not missing, "advice for Python %s names APIs it lacks: %s" % (interp.version_string, missing))
    for r in rows:
        for tok in re.findall(r"\b([A-Za-z_]+)((?:\.[A-Za-z_]+)+)", r["text"]):
            head, tail = tok[0], tok[1]
            if head not in _API_PREFIXES:
                continue
            last = tail.rsplit(".", 1)[-1]
            check(any(a.rsplit(".", 1)[-1] == last for a in r.get("apis") or []),
                  "advice %r names %s%s but does not list it in its apis" % (r["key"], head, tail))


def test_cores_of_one_job(interp):
    """`forkwatch core CHILD PARENT`: the cores of one job read together, parents first. The
    child's holder (a pthread mutex whose owner field names a thread of the parent) is then
    placed by the parent's core, which also stands as the fork evidence; the child's core alone
    carries neither."""
    wd = fwtest.workdir("e2e-cores-%s" % interp.label)
    lib = os.path.join(fwtest.FIXTURE_BIN, "libheldmutex.so")
    started = fwtest.start([interp.path, os.path.join(fwtest.FIXTURE_SRC, "python", "clib_mutex_at_fork.py")],
                           wd, {"FIXTURE_LIB": lib, "FIXTURE_PARENT_KEEPS_HOLDER": "1"},
                           fixture_timeout=FIXTURE_TIMEOUT)
    try:
        ev = fwtest.wait_events(started.events_path, ["child_pid", "parent_pid", "holder_tid", "child_blocking"],
                                READY_BOUND)
        child, parent, holder = int(ev["child_pid"][0]), int(ev["parent_pid"][0]), int(ev["holder_tid"][0])
        fwtest.wait_for("child %d asleep in futex" % child, lambda: fwtest.blocked_in_futex(child), READY_BOUND)
        prefix = os.path.join(wd, "core")
        res = fwtest.run(["gcore", "-o", prefix, str(parent), str(child)], TOOL_BOUND, cwd=wd)
        cores = dict((p, "%s.%d" % (prefix, p)) for p in (parent, child))
        check(res.returncode == 0 and all(os.path.exists(c) for c in cores.values()),
              "gcore failed (%d)" % res.returncode)
        started.cleanup()      # both ended: only the cores are analysed
        res = fwtest.run([fwtest.FORKWATCH, "core", "--json", cores[child], cores[parent]], TOOL_BOUND, cwd=wd)
        docs = json.loads(res.stdout)
        check(res.returncode == 1 and isinstance(docs, list) and [d.get("pid") for d in docs] == [parent, child],
              "exit %d, pids %r (want the parent's core first): %s" % (
                  res.returncode, [d.get("pid") for d in docs] if isinstance(docs, list) else docs, res.stderr[-300:]))
        for d in docs:
            fwtest.check_evidence(d)
        f = (docs[1].get("findings") or [{}])[0]
        ids = [e.get("id") for e in f.get("evidence") or []]
        check(docs[1].get("verdict") == "fork-deadlock" and (f.get("holder") or {}).get("tid") == holder,
              "child: %r, holder %r, want tid %d" % (docs[1].get("verdict"), f.get("holder"), holder))
        check("parent-core" in ids and any("owner_main" in (e.get("text") or "") for e in f["evidence"]),
              "child: no parent-core evidence placing thread %d in owner_main: %s" % (holder, f.get("evidence")))
        check(any(k.get("pid") == child for k in docs[0].get("children") or []),
              "the parent's report does not list its stuck child: %s" % docs[0].get("children"))
        rc, alone = analyse("core", cores[child], wd)
        check("parent-core" not in [e.get("id") for e in (alone.get("findings") or [{}])[0].get("evidence") or []],
              "the child's core alone claims its parent's core")
    finally:
        started.cleanup()
        fwtest.remove_tree(wd)


# ---- plain threading.Lock cycles: holders inferred from `with` blocks (issue 19, part 3) ----

PLAIN_ABBA = os.path.join(fwtest.FIXTURE_SRC, "python", "abba_plain_locks.py")
PLAIN_SAFE = os.path.join(fwtest.FIXTURE_SRC, "python", "abba_plain_locks_safe.py")


def check_plain_abba(doc, rc, source, target, mode, tids):
    """mode "lock"/"cond": the cycle over plain Locks, its holders read from the `with`
    blocks (each at its FW-*-SECOND line); "rlock": the same over RLocks, from their owners."""
    ctx = "%s %s %s: " % (mode, source, doc.get("verdict"))
    check(doc.get("source") == source and doc.get("pid") == target, ctx + "source/pid %r/%r"
          % (doc.get("source"), doc.get("pid")))
    found = find_findings(doc, "deadlock")
    check(doc.get("verdict") == "deadlock" and rc == 1 and len(found) == 1,
          ctx + "exit %d, findings: %s" % (rc, [(f.get("kind"), f.get("summary")) for f in doc.get("findings") or []]))
    f = found[0]
    a, b = tids
    w, h = f.get("waiter") or {}, f.get("holder") or {}
    check(sorted(f.get("cycle") or []) == sorted(tids), ctx + "cycle %r, want %r" % (f.get("cycle"), tids))
    check({w.get("tid"), h.get("tid")} == {a, b}, ctx + "waiter %r holder %r" % (w.get("tid"), h.get("tid")))
    check(h.get("alive") is True, ctx + "holder.alive %r" % h.get("alive"))
    names = {a: "AbbaA", b: "AbbaB"}
    check(h.get("name") == names[h.get("tid")], ctx + "holder name %r for tid %r" % (h.get("name"), h.get("tid")))
    want_kind = "threading.RLock" if mode == "rlock" else "threading.Lock"
    check((f.get("lock") or {}).get("kind") == want_kind, ctx + "lock %r" % f.get("lock"))
    summary = f.get("summary") or ""
    for tid, name in names.items():
        check("%d (%s)" % (tid, name) in summary, ctx + "summary lacks %d (%s): %s" % (tid, name, summary))
    inferred = "inferred from `with` blocks"
    if mode == "rlock":
        check(inferred not in summary, ctx + "an RLock's holders come from its owner, not with blocks: %s" % summary)
        return
    check(h.get("source") == "inferred", ctx + "holder.source %r" % h.get("source"))
    check(inferred in summary, ctx + "summary does not say the holders are inferred: %s" % summary)
    base = os.path.basename(PLAIN_ABBA)
    sites = {"AbbaA": marker_line(PLAIN_ABBA, "FW-A-SECOND"), "AbbaB": marker_line(PLAIN_ABBA, "FW-B-SECOND")}
    for name, line in sites.items():
        check("%s at %s:%d" % (name, base, line) in summary,
              ctx + "summary lacks %s's with block at %s:%d: %s" % (name, base, line, summary))
    ev = f.get("evidence")
    check(ev, ctx + "the finding carries no evidence")
    if ev:
        texts = [e.get("text") or "" for e in ev if e.get("id") == "with-block"]
        for name, line in sites.items():
            check(any("thread %s (" % name in x and "%s:%d" % (base, line) in x for x in texts),
                  ctx + "no with-block evidence for %s at line %d: %s" % (name, line, texts))


def test_plain_abba(interp, mode):
    wd = fwtest.workdir("e2e-abba-plain-%s-%s" % (mode, interp.label))
    args = [] if mode == "lock" else [mode]
    started = fwtest.start([interp.path, PLAIN_ABBA] + args, wd, {}, fixture_timeout=FIXTURE_TIMEOUT)
    try:
        ev = fwtest.wait_events(started.events_path, ["a_tid", "b_tid", "a_blocking", "b_blocking"], READY_BOUND)
        pid = started.pid
        tids = [int(ev["a_tid"][0]), int(ev["b_tid"][0])]
        for t in tids:
            fwtest.wait_for("thread %d asleep in futex" % t, lambda t=t: fwtest.blocked_in_futex(pid, t), READY_BOUND)
        rc, doc = analyse("attach", pid, wd)
        check_plain_abba(doc, rc, "live", pid, mode, tids)
        check(fwtest.tracer_pid(pid) == 0, "after attach: %d still traced" % pid)
        rc, doc = analyse_gcore(pid, wd)
        check_plain_abba(doc, rc, "core", pid, mode, tids)
        fwtest.kill_pid(pid)
        started.wait(READY_BOUND)
    finally:
        started.cleanup()
        fwtest.remove_tree(wd)


def check_plain_safe(doc, rc, source, target):
    ctx = "safe %s %s: " % (source, doc.get("verdict"))
    check(doc.get("source") == source and doc.get("pid") == target, ctx + "source/pid")
    check(doc.get("verdict") == "no-deadlock" and rc == 0 and not doc.get("findings"),
          ctx + "exit %d, findings: %s" % (rc, [f.get("summary") for f in doc.get("findings") or []]))


def test_plain_safe(interp):
    """One lock order: AbbaB waits in `with lock_a:` for AbbaA, which holds both Locks in
    `with` blocks and waits on an Event. A holder, no cycle: no finding; the process then
    finishes normally after SIGUSR1."""
    wd = fwtest.workdir("e2e-abba-plain-safe-%s" % interp.label)
    started = fwtest.start([interp.path, PLAIN_SAFE], wd, {}, fixture_timeout=FIXTURE_TIMEOUT)
    try:
        ev = fwtest.wait_events(started.events_path, ["a_tid", "b_tid", "a_holding", "b_blocking"], READY_BOUND)
        pid = started.pid
        tids = [int(ev["a_tid"][0]), int(ev["b_tid"][0])]
        for t in tids:
            fwtest.wait_for("thread %d asleep in futex" % t, lambda t=t: fwtest.blocked_in_futex(pid, t), READY_BOUND)
        rc, doc = analyse("attach", pid, wd)
        check_plain_safe(doc, rc, "live", pid)
        rc, doc = analyse_gcore(pid, wd)
        check_plain_safe(doc, rc, "core", pid)
        os.kill(pid, signal.SIGUSR1)
        fwtest.wait_events(started.events_path, ["done"], READY_BOUND)
        rc = started.wait(READY_BOUND)
        check(rc == 0, "after detaching, the safe fixture exited %d, want 0" % rc)
    finally:
        started.cleanup()
        fwtest.remove_tree(wd)


def main():
    missing = fwtest.have_build(fwtest.FORKWATCH, fwtest.AGENT, fwtest.FIXTURE_BIN,
                                os.path.join(fwtest.ROOT, "gdb", "forkwatch-gdb.py"))
    runner = fwtest.Runner("e2e")
    if missing:
        print("e2e: missing %s (run make)" % ", ".join(missing))
        runner.failed += 1
        return runner.finish()
    for tool in ("gdb", "gcore"):
        if not any(os.access(os.path.join(d, tool), os.X_OK)
                   for d in os.environ.get("PATH", "").split(":")):
            print("e2e: %s not found" % tool)
            runner.failed += 1
            return runner.finish()
    interps = fwtest.interpreters()
    print("e2e: CPython interpreters found: %s" % ", ".join(i.label for i in interps))
    debian = [i for i in interps if i.path == "/usr/bin/python3.11"] or interps[:1]
    cases = []
    for fx in fwtest.fixtures():
        for interp in (interps if fx.lang == "python" else [None]):
            tag = "%s%s" % (fx.name, "/" + interp.label if interp else "")
            cases.append(("e2e/%s/no-agent" % tag, test_case, (fx, interp, False)))
            # Safe Python fixtures: with the agent on one interpreter (they only check silence).
            if fx.hang or fx.lang == "c" or interp in debian:
                cases.append(("e2e/%s/agent-warn" % tag, test_case, (fx, interp, True)))
    for interp in interps:
        # the child's memory alone (glibc's descriptor of the thread lost in the fork) says fork
        cases.append(("e2e/core-parent-gone/lock_held_at_fork/%s" % interp.label, test_core_parent_gone,
                      (("lock_held_at_fork", interp, "fork-deadlock", r"glibc still describes 1 thread that "
                                                                       r"never exited"))))
        # an RLock names its owner: glibc places it as lost in the fork, its threading.Thread names it
        cases.append(("e2e/core-parent-gone/lock_held_at_fork-rlock/%s" % interp.label, test_core_parent_gone,
                      ("lock_held_at_fork", interp, "fork-deadlock", r"threading\.RLock .* held by thread \d+ "
                       r"\(Holder\)", ("rlock",), "Holder")))
        cases.append(("e2e/live-parent-gone/lock_held_at_fork/%s" % interp.label, test_live_parent_gone,
                      (("lock_held_at_fork", interp, "fork-deadlock", r"glibc still describes 1 thread that "
                                                                       r"never exited"))))
        cases.append(("e2e/relock-alone/never/%s" % interp.label, test_relock_alone,
                      ("never", interp, "deadlock", r"it waits on itself")))
        cases.append(("e2e/relock-alone/ended/%s" % interp.label, test_relock_alone,
                      ("ended", interp, "blocked-forever", r"a thread that has ended took it .* or this thread "
                                                           r"took it itself")))
        cases.append(("e2e/advice-apis/%s" % interp.label, test_advice_apis, (interp,)))
    for interp in debian:
        cases.append(("e2e/cores-of-one-job/%s" % interp.label, test_cores_of_one_job, (interp,)))
        cases.append(("e2e/core-parent-gone/shape_mp_fork_worker/%s" % interp.label, test_core_parent_gone,
                      (("shape_mp_fork_worker", interp, "fork-deadlock", r"evidence: .*popen_fork"))))
    for interp in interps:
        for mode in ("lock", "cond", "rlock"):
            cases.append(("e2e/abba_plain_locks/%s/%s" % (mode, interp.label), test_plain_abba, (interp, mode)))
        cases.append(("e2e/abba_plain_locks_safe/%s" % interp.label, test_plain_safe, (interp,)))
    jobs = max(1, min(2, int(os.environ.get("FORKWATCH_TEST_JOBS", "2"))))
    runner.run(cases, jobs=jobs)
    return runner.finish()


if __name__ == "__main__":
    sys.exit(main())
