#!/usr/bin/python3
"""Issue 11, part 1: healthy multiprocessing is not a fork deadlock, and a pool that lost a
task says so.

Controls (fixtures/python/healthy_*.py, fork start method, 2-8 workers): an idle Pool, a
busy Pool, an idle ProcessPoolExecutor, processes sharing one multiprocessing.Queue, a
Manager. Each is left in place (every process asleep), then diagnosed on every process:
`forkwatch attach --tree --json` on the parent, `forkwatch attach --json` on each process, and
`forkwatch core --json` on a gcore of each; every verdict must be no-deadlock, exit 0. The
waits on the queue's process-shared lock must be seen as such (a `shared_locks` entry: live,
with the other processes that map it; from a core, marked not checkable), and --tree must
name the worker that holds it. Then the control is released and must finish (exit 0).

Lost tasks (fixtures/python/pool_lost_*.py): a Pool worker ends in a task (os._exit, SIGKILL);
`attach --tree` on the parent must report the lost results, the dead worker and the advice.

Interpreters: Debian's /usr/bin/python3 and pyenv 3.12 and 3.13.0 (FORKWATCH_TEST_PYTHONS
overrides). Ends with `N passed, N failed`.
"""
import json
import os
import re
import signal
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import fwtest  # noqa: E402
from fwtest import check  # noqa: E402

TOOL_BOUND = 120
READY_BOUND = 60
FIXTURE_TIMEOUT = 300
PY = os.path.join(fwtest.FIXTURE_SRC, "python")


class Control:
    def __init__(self, name, workers, mode=None, shared_wait=True, holder_site=None, agent=False):
        self.agent = agent                  # run under the agent (LD_PRELOAD, warn): same verdicts
        self.name = name
        self.workers = workers
        self.mode = mode
        self.shared_wait = shared_wait      # some process waits on the queue's shared lock
        self.holder_site = holder_site      # --tree must name the holder inside this function

    def command(self, interp):
        return [interp.path, os.path.join(PY, self.name + ".py"), str(self.workers)] + \
            ([self.mode] if self.mode else [])

    @property
    def tag(self):
        return "%s-%d%s%s" % (self.name.replace("healthy_mp_", ""), self.workers,
                              "-" + self.mode if self.mode else "", "-agent" if self.agent else "")


# (control, interpreter selector): the worker counts spread over 2-8 across interpreters.
CONTROLS = {
    "debian": [Control("healthy_mp_pool", 8, holder_site="get"),
               Control("healthy_mp_executor", 2, holder_site="get"),
               Control("healthy_mp_queue", 2, holder_site="get"),
               Control("healthy_mp_manager", 2, shared_wait=False)],
    "3.12": [Control("healthy_mp_pool", 3, "busy", holder_site="get"),
             Control("healthy_mp_executor", 2, holder_site="get"),
             Control("healthy_mp_queue", 3, holder_site="get"),
             Control("healthy_mp_manager", 2, shared_wait=False),
             Control("healthy_mp_queue", 2, holder_site="get", agent=True)],
    "3.13.0": [Control("healthy_mp_pool", 2, holder_site="get"),
               Control("healthy_mp_executor", 2, "busy", holder_site="get"),
               Control("healthy_mp_queue", 2, holder_site="get"),
               Control("healthy_mp_manager", 2, shared_wait=False)],
}


def select_interpreters():
    out = {}
    for i in fwtest.interpreters():
        if i.is_debian and "debian" not in out:
            out["debian"] = i
        elif i.version[:2] == (3, 12) and "3.12" not in out:
            out["3.12"] = i
        elif i.version == (3, 13, 0):
            out["3.13.0"] = i
    if os.environ.get("FORKWATCH_TEST_PYTHONS"):  # an explicit list: every control on each
        return [(i, key) for i in fwtest.interpreters() for key in ["debian"]]
    return [(out[k], k) for k in ("debian", "3.12", "3.13.0") if k in out]


def analyse(args, wd):
    res = fwtest.run([fwtest.FORKWATCH] + args, TOOL_BOUND, cwd=wd)
    try:
        doc = json.loads(res.stdout)
    except ValueError:
        raise AssertionError("forkwatch %s: exit %d, not JSON: %r; stderr %s"
                             % (" ".join(args), res.returncode, res.stdout[:200], res.stderr[-400:]))
    for d in (doc if isinstance(doc, list) else [doc]):
        fwtest.check_evidence(d)   # every claim backed by the finding's evidence
    return res.returncode, doc


def analyse_core(pid, wd):
    """`forkwatch core --json` on a gcore of pid (the core removed afterwards): (exit, doc)."""
    prefix = os.path.join(wd, "core")
    res = fwtest.run(["gcore", "-o", prefix, str(pid)], TOOL_BOUND, cwd=wd)
    core = "%s.%d" % (prefix, pid)
    check(os.path.exists(core), "gcore failed: %s" % res.stderr[-300:])
    try:
        return analyse(["core", "--json", core], wd)
    finally:
        os.unlink(core)


def findings(doc):
    return ["%s: %s" % (f.get("kind"), f.get("summary")) for f in doc.get("findings") or []]


def check_healthy(doc, pid, source, ctx):
    check(doc.get("schema") == "forkwatch/1", ctx + "schema %r" % doc.get("schema"))
    check(doc.get("pid") == pid, ctx + "pid %r, want %d" % (doc.get("pid"), pid))
    check(doc.get("source") == source, ctx + "source %r" % doc.get("source"))
    check(doc.get("verdict") == "no-deadlock" and not doc.get("findings"),
          ctx + "verdict %r, want no-deadlock: %s" % (doc.get("verdict"), findings(doc)))
    check(doc.get("python"), ctx + "no Python read: %s" % doc.get("notes"))
    check(not [n for n in doc.get("notes") or [] if "could not be analysed" in n],
          ctx + "analysis errors: %s" % doc.get("notes"))


def all_asleep(pids):
    """Every thread of every process sleeps (state S): the control is in place."""
    for pid in pids:
        try:
            tids = os.listdir("/proc/%d/task" % pid)
        except OSError:
            return False
        for tid in tids:
            if fwtest.proc_stat_state(pid, int(tid)) != "S":
                return False
    return True


def process_tree(root):
    """root and its descendants (from /proc/PID/task/*/children)."""
    out, todo = [], [root]
    while todo:
        p = todo.pop(0)
        if p in out:
            continue
        out.append(p)
        try:
            for task in os.listdir("/proc/%d/task" % p):
                try:
                    with open("/proc/%d/task/%s/children" % (p, task)) as f:
                        todo.extend(int(x) for x in f.read().split())
                except (OSError, ValueError):
                    pass
        except OSError:
            pass
    return out


def stop_tree(started):
    """Cleanup for a pool: SIGSTOP the fixture (its worker handler forks no replacement while we
    kill), SIGKILL its descendants by PID (they stay zombies of the stopped parent, so no PID is
    reused), then started.cleanup() kills the fixture itself by its PID."""
    parent = started.pid
    if started.popen.poll() is None:
        fwtest.kill_pid(parent, signal.SIGSTOP)
        for pid in process_tree(parent)[1:]:
            if started.popen.poll() is None:
                fwtest.kill_pid(pid)
    started.cleanup()


def wait_in_place(started, ctl):
    ev = fwtest.wait_events(started.events_path, ["parent_pid", "ready"], READY_BOUND)
    parent = int(ev["parent_pid"][0])

    def ready():
        e = started.events()
        workers = [int(x) for x in e.get("worker_pid", [])]
        if len(workers) < ctl.workers or (ctl.mode == "busy" and "busy_pid" not in e):
            return None
        tree = process_tree(parent)
        if not set(workers) <= set(tree) or not all_asleep(tree):
            return None
        return tree, workers
    tree, workers = fwtest.wait_for("%s in place (every process asleep)" % ctl.tag, ready, READY_BOUND)
    return parent, tree, workers


def waiter_in(doc, entry, function):
    """True when the thread waiting in `entry` waits in function() of multiprocessing/queues.py."""
    for t in doc.get("threads") or []:
        if t.get("tid") == entry.get("waiter"):
            return any(f.get("function") == function and (f.get("file") or "").endswith("multiprocessing/queues.py")
                       for f in (t.get("python_stack") or [])[:3])
    return False


def shared_entries(doc):
    return doc.get("shared_locks") or []


def test_control(ctl, interp):
    wd = fwtest.workdir("healthy-%s-%s" % (ctl.tag, interp.label))
    report = os.path.join(wd, "report.jsonl")
    env = {"LD_PRELOAD": fwtest.AGENT, "FORKWATCH_ON_DEADLOCK": "warn", "FORKWATCH_REPORT": report,
           "FORKWATCH_QUIET": "1"} if ctl.agent else None
    started = fwtest.start(ctl.command(interp), wd, env, fixture_timeout=FIXTURE_TIMEOUT)
    try:
        parent, tree, workers = wait_in_place(started, ctl)
        # 1. --tree on the parent: every process no-deadlock
        rc, docs = analyse(["attach", "--tree", "--json", str(parent)], wd)
        check(isinstance(docs, list), "--tree: not a list")
        by_pid = dict((d.get("pid"), d) for d in docs)
        check(set(tree) <= set(by_pid), "--tree: pids %s, want %s" % (sorted(by_pid), sorted(tree)))
        for pid in tree:
            check_healthy(by_pid[pid], pid, "live", "tree %d: " % pid)
        check(rc == 0, "--tree: exit %d, want 0" % rc)
        if ctl.mode == "busy" and ctl.name == "healthy_mp_pool":
            # the near miss of a lost task: pool.map waits for a result a live worker works on
            main = [t for t in by_pid[parent]["threads"] if t["tid"] == parent]
            check(main and any(f.get("function") == "map" and (f.get("file") or "").endswith("multiprocessing/pool.py")
                               for f in main[0]["python_stack"]),
                  "busy pool: the parent's main thread is not in pool.map: %s" % main)
        if ctl.shared_wait:
            waits = [e for d in docs for e in shared_entries(d)]
            check(waits, "--tree: no wait on a process-shared lock seen (want the queue's SemLock): %s"
                  % [d.get("summary") for d in docs])
            for e in waits:
                check(e.get("checked") is True and e.get("peers") and e.get("pshared") is True and
                      "/dev/shm/" in (e.get("object") or ""),
                      "--tree: shared lock entry %s: want checked, pshared, in /dev/shm, with peers" % e)
                check(set(p["pid"] for p in e["peers"]) <= set(tree),
                      "--tree: peers %s outside the tree %s" % ([p["pid"] for p in e["peers"]], tree))
            # a wait on the queue's read lock (taken in queues.py's get: an untimed sem_wait)
            on_queue = [e for d in docs for e in shared_entries(d) if waiter_in(d, e, "get")]
            if ctl.holder_site:
                # names its holder
                named = [e for e in on_queue if e.get("holder")]
                check(named or not on_queue and ctl.mode == "busy",
                      "--tree: the holder of the queue's shared lock is not named: %s" % on_queue)
                for e in named:
                    h = e["holder"]
                    hd = by_pid.get(h["pid"])
                    check(hd is not None and h["pid"] in workers and h["pid"] != e["waiter"],
                          "--tree: holder %s is not another worker" % h)
                    th = [t for t in hd["threads"] if t["tid"] == h["tid"]]
                    check(th and th[0]["state"] != "blocked-on-lock" and
                          any(f.get("function") == ctl.holder_site for f in th[0]["python_stack"]),
                          "--tree: holder thread %s is not inside %s(): %s" % (h, ctl.holder_site, th))
        else:
            on_queue = []
        # 2. attach on each process
        for pid in tree:
            rc, doc = analyse(["attach", "--json", str(pid)], wd)
            check_healthy(doc, pid, "live", "attach %d: " % pid)
            check(rc == 0, "attach %d: exit %d" % (pid, rc))
            check(fwtest.tracer_pid(pid) == 0, "after attach: %d still traced" % pid)
        # 3. a core of each process
        prefix = os.path.join(wd, "core")
        res = fwtest.run(["gcore", "-o", prefix] + [str(p) for p in tree], TOOL_BOUND * 2, cwd=wd)
        core_waits = 0
        for pid in tree:
            core = "%s.%d" % (prefix, pid)
            check(os.path.exists(core), "gcore %d failed (%d): %s" % (pid, res.returncode, res.stderr[-300:]))
            rc, doc = analyse(["core", "--json", core], wd)
            os.unlink(core)
            check_healthy(doc, pid, "core", "core %d: " % pid)
            check(rc == 0, "core %d: exit %d" % (pid, rc))
            for e in shared_entries(doc):
                check(e.get("checked") is False and not e.get("peers"),
                      "core %d: a core cannot check who maps the lock: %s" % (pid, e))
                check(any("cannot be checked from a core alone" in n for n in doc.get("notes") or []),
                      "core %d: no note saying the releasers cannot be checked: %s" % (pid, doc.get("notes")))
                core_waits += 1
        if ctl.shared_wait and on_queue:
            # (a timed wait, as the busy task's Event.wait, is seen as one only until a debugger
            # interrupted it: the kernel then resumes it in restart_syscall)
            check(core_waits, "cores: no wait on a process-shared lock seen")
        # 4. released, the control finishes: it was healthy
        os.kill(parent, signal.SIGUSR1)
        status = started.wait(READY_BOUND)
        check(status == 0, "released, the control exited %d, want 0 (events %s)" % (status, started.events()))
        if ctl.agent:
            check(all(d.get("agent") is True for d in docs), "--tree: the agent is not seen in every process")
            bad = [e for e in fwtest.read_report(report) if e.get("event") in ("fork-deadlock", "fork-hazard")]
            check(not bad, "the agent reported a healthy control: %s" % bad[:1])
    finally:
        stop_tree(started)
        fwtest.remove_tree(wd)


def test_pshared_mutex(mode):
    """fixtures/c/healthy_pshared_mutex.c: a PTHREAD_PROCESS_SHARED mutex in a memfd mapping,
    held by the child ("held": no deadlock, the holder named from the mutex's owner field) or
    by a child that exited ("lost": orphaned-lock, no live process can release it)."""
    wd = fwtest.workdir("healthy-pshared-mutex-%s" % mode)
    started = fwtest.start([os.path.join(fwtest.FIXTURE_BIN, "healthy_pshared_mutex"), mode], wd,
                           fixture_timeout=FIXTURE_TIMEOUT)
    try:
        ev = fwtest.wait_events(started.events_path, ["parent_pid", "child_pid", "holder_tid", "parent_blocking"],
                                READY_BOUND)
        parent, child, holder = int(ev["parent_pid"][0]), int(ev["child_pid"][0]), int(ev["holder_tid"][0])
        fwtest.wait_for("parent %d asleep in futex" % parent, lambda: fwtest.blocked_in_futex(parent), READY_BOUND)
        if mode == "held":
            rc, docs = analyse(["attach", "--tree", "--json", str(parent)], wd)
            by_pid = dict((d.get("pid"), d) for d in docs)
            check(set(by_pid) >= {parent, child}, "--tree: pids %s" % sorted(by_pid))
            check(rc == 0, "--tree: exit %d" % rc)
            for pid in (parent, child):
                check_healthy_c(by_pid[pid], pid, "live", "tree %d: " % pid)
            rc, doc = analyse(["attach", "--json", str(parent)], wd)
            check_healthy_c(doc, parent, "live", "attach: ")
            check(rc == 0, "attach: exit %d" % rc)
            e = shared_entries(doc)
            check(e and e[0]["kind"] == "pthread_mutex" and e[0]["pshared"] is True and
                  (e[0]["object"] or "").startswith("/memfd:forkwatch-pshared") and
                  e[0]["holder"] and e[0]["holder"]["pid"] == child and e[0]["holder"]["tid"] == holder,
                  "attach: the mutex's holder (process %d thread %d) is not named: %s" % (child, holder, e))
        else:
            rc, doc = analyse(["attach", "--json", str(parent)], wd)
            check(rc == 1 and doc.get("verdict") == "orphaned-lock",
                  "attach: exit %d verdict %r, want orphaned-lock: %s" % (rc, doc.get("verdict"), findings(doc)))
            f = doc["findings"][0]
            check(re.search(r"process-shared pthread_mutex .* that no live process can release: no other live "
                            r"process maps it; its owner thread %d exists in no process that maps it" % holder,
                            f["summary"]), "attach: summary %r" % f["summary"])
            check(f["holder"]["tid"] == holder and f["holder"]["alive"] is False, "attach: holder %r" % f["holder"])
        rc, doc = analyse_core(parent, wd)
        check_healthy_c(doc, parent, "core", "core: ")
        check(rc == 0, "core: exit %d" % rc)
        e = shared_entries(doc)
        check(e and e[0]["checked"] is False, "core: %s" % e)
        if mode == "held":
            os.kill(child, signal.SIGUSR1)
            status = started.wait(READY_BOUND)
            check(status == 0, "released, the fixture exited %d, want 0" % status)
    finally:
        stop_tree(started)
        fwtest.remove_tree(wd)


def check_healthy_c(doc, pid, source, ctx):
    check(doc.get("pid") == pid and doc.get("source") == source, ctx + "pid/source %r/%r" % (doc.get("pid"), doc.get("source")))
    check(doc.get("verdict") == "no-deadlock" and not doc.get("findings"),
          ctx + "verdict %r, want no-deadlock: %s" % (doc.get("verdict"), findings(doc)))


def test_shared_mappings_logic():
    """gdb/forkwatch/shared_mappings.py alone (pure: no GDB), on /proc/PID/maps and `info proc
    mappings` text as the kernel and GDB print them."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        "shared_mappings", os.path.join(fwtest.ROOT, "gdb", "forkwatch", "shared_mappings.py"))
    sm = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sm)
    me = sm.parse_proc_maps(
        "7f53282cf000-7f53282d0000 rw-s 00000000 00:1b 8048   /dev/shm/sem.Xjhocz (deleted)\n"
        "7f53282d0000-7f53282d2000 rw-s 00001000 00:1b 8047   /dev/shm/sem.eAv1wE (deleted)\n"
        "55d0c0a00000-55d0c0b00000 rw-p 00000000 00:00 0      [heap]\n"
        "bad line\n")
    check(len(me) == 3 and me[1].inode == 8047 and me[1].dev == "00:1b" and me[1].offset == 0x1000,
          "parse_proc_maps: %s" % (me,))
    lock = 0x7f53282d1010
    m = sm.find(me, lock)
    check(m is me[1] and sm.is_shared(m) and sm.object_key(m) == ("00:1b", 8047), "find/is_shared: %s" % (m,))
    check(not sm.is_shared(sm.find(me, 0x55d0c0a00100)), "a private heap mapping is not shared")
    off = sm.object_offset(m, lock)
    check(off == 0x2010, "object offset %#x" % off)
    peers_maps = {
        1: sm.parse_proc_maps("7f0000000000-7f0000003000 rw-s 00000000 00:1b 8047 /dev/shm/sem.eAv1wE (deleted)"),
        2: sm.parse_proc_maps("7f1000000000-7f1000001000 rw-s 00000000 00:1b 8047 /dev/shm/sem.eAv1wE (deleted)"),
        3: sm.parse_proc_maps("7f2000000000-7f2000003000 rw-p 00000000 00:1b 8047 /dev/shm/sem.eAv1wE (deleted)"),
        4: sm.parse_proc_maps("7f3000000000-7f3000003000 rw-s 00000000 00:1b 9999 /dev/shm/other"),
        10: me}
    ps = sm.peers(("00:1b", 8047), off, peers_maps, 10)
    # pid 2 maps only the object's first page (not the lock), 3 privately, 4 another object
    check([p.pid for p in ps] == [1] and ps[0].address == 0x7f0000002010, "peers: %s" % [(p.pid, hex(p.address)) for p in ps])
    sm.classify(ps[0], [sm.PeerThread(11, "w", "S", 202, 0x7f0000002010), sm.PeerThread(12, "r", "S", 0, 3),
                        sm.PeerThread(13, "z", "Z", None, None), sm.PeerThread(14, "f", "S", 202, 0x7f0000009000)],
                202)
    check([t.tid for t in ps[0].waiters] == [11] and [t.tid for t in ps[0].releasers] == [12, 14],
          "classify: waiters %s releasers %s" % (ps[0].waiters, ps[0].releasers))
    sl = sm.SharedLock(lock, "semaphore", m, True)
    check(not sl.lost, "unchecked (a core) is never lost")
    sl.checked, sl.peers = True, ps
    check(not sl.lost, "a peer thread may release it: not lost")
    sm.classify(ps[0], [sm.PeerThread(11, "w", "S", 202, 0x7f0000002010)], 202)
    check(sl.lost and "every other process that maps it (1) waits on it too" in sm.words(sl, {}),
          "all peers wait: lost: %s" % sm.words(sl, {}))
    sl.peers = []
    check(sl.lost and sm.words(sl, {}).endswith("no other live process maps it"), sm.words(sl, {}))
    core = sm.parse_gdb_mappings(
        "          Start Addr           End Addr       Size     Offset objfile\n"
        "      0x7f53282d0000     0x7f53282d1000     0x1000        0x0 /dev/shm/sem.eAv1wE (deleted)\n"
        "      0x7f6b854b1000     0x7f6b854b2000     0x1000        0x0 /memfd:forkwatch-pshared (deleted)\n"
        "      0x55d0c0a00000     0x55d0c0a01000     0x1000     0x2000 /usr/bin/python3.11\n")
    check(len(core) == 3 and core[0].perms is None and sm.is_shared(core[0]) and sm.is_shared(core[1])
          and not sm.is_shared(core[2]) and sm.object_key(core[0]) is None, "core mappings: %s" % (core,))
    live = sm.parse_gdb_mappings(
        "      0x7f53282cb000     0x7f53282cc000     0x1000        0x0  rw-s   /dev/shm/sem.RGbaSM (deleted)\n"
        "      0x7f53282cc000     0x7f53282cd000     0x1000        0x0  rw-p   /usr/lib/x.so\n")
    check(live[0].perms == "rw-s" and sm.is_shared(live[0]) and not sm.is_shared(live[1]), "gdb live: %s" % (live,))


def main():
    runner = fwtest.Runner("healthy")
    missing = fwtest.have_build(fwtest.FORKWATCH)
    if missing:
        print("healthy: missing %s (run make)" % ", ".join(missing))
        runner.failed += 1
        return runner.finish()
    cases = [("healthy/shared_mappings-logic", test_shared_mappings_logic, ())]
    for interp, key in select_interpreters():
        for ctl in CONTROLS[key]:
            cases.append(("healthy/%s/%s" % (ctl.tag, interp.label), test_control, (ctl, interp)))
        for case in LOST:
            cases.append(("healthy/%s/%s" % (case.tag, interp.label), test_lost, (case, interp)))
    if os.path.exists(os.path.join(fwtest.FIXTURE_BIN, "healthy_pshared_mutex")):
        for mode in ("held", "lost"):
            cases.append(("healthy/pshared_mutex-%s" % mode, test_pshared_mutex, (mode,)))
    else:
        print("healthy: %s missing (make fixtures)" % os.path.join(fwtest.FIXTURE_BIN, "healthy_pshared_mutex"))
        runner.failed += 1
    runner.run(cases, jobs=int(os.environ.get("FORKWATCH_TEST_JOBS", "2")))
    return runner.finish()


class Lost:
    def __init__(self, name, mode=None, workers=None):
        self.name = name
        self.mode = mode
        self.workers = workers

    def command(self, interp):
        return [interp.path, os.path.join(PY, self.name + ".py")] + \
            ([self.mode] if self.mode else []) + ([str(self.workers)] if self.workers else [])

    @property
    def tag(self):
        return "%s%s%s" % (self.name, "-" + self.mode if self.mode else "",
                           "-%d" % self.workers if self.workers else "")


LOST = [Lost("pool_lost_task", "exit", 2), Lost("pool_lost_task", "kill", 3), Lost("pool_lost_task", "killidle", 3),
        Lost("pool_lost_shared_lock")]


def test_lost(case, interp):
    if case.name == "pool_lost_shared_lock":
        return test_lost_shared_lock(case, interp)
    wd = fwtest.workdir("healthy-%s-%s" % (case.tag, interp.label))
    started = fwtest.start(case.command(interp), wd, fixture_timeout=FIXTURE_TIMEOUT)
    try:
        if case.mode == "killidle":
            dying, parent = kill_queue_reader(started, case)
        else:
            ev = fwtest.wait_events(started.events_path, ["parent_pid", "map_started", "dying_pid"], READY_BOUND)
            parent, dying = int(ev["parent_pid"][0]), int(ev["dying_pid"][0])

        def in_place():
            e = started.events()
            tree = process_tree(parent)
            kids = [p for p in tree if p != parent]
            # the other tasks done (killidle: map started), the dying worker reaped and replaced,
            # everyone asleep
            if (len(e.get("task_done", [])) < 3 if case.mode != "killidle" else "map_started" not in e) or \
                    dying in tree or len(kids) != case.workers:
                return None
            return tree if all_asleep(tree) else None
        tree = fwtest.wait_for("%s: task lost, worker replaced, pool idle" % case.tag, in_place, READY_BOUND)
        rc, docs = analyse(["attach", "--tree", "--json", str(parent)], wd)
        by_pid = dict((d.get("pid"), d) for d in docs)
        check(set(tree) <= set(by_pid), "--tree: pids %s, want %s" % (sorted(by_pid), tree))
        check(rc == 1, "--tree: exit %d, want 1 (a finding)" % rc)
        pd = by_pid[parent]
        check(pd.get("verdict") == "lost-task", "parent: verdict %r, want lost-task: %s"
              % (pd.get("verdict"), findings(pd)))
        f = [x for x in pd["findings"] if x["kind"] == "lost-task"][0]
        want = (r"in pool\.map waits for 4 results that no worker is working on: every worker \(.*\) waits for "
                r"the task queue's read lock \(a process-shared SemLock\) and none holds it, so nobody reads the "
                r"tasks: a worker that held it while waiting for a task ended") if case.mode == "killidle" else \
            (r"in pool\.map waits for 1 result that no worker is working on: the task queue is empty "
             r"and all %d workers \(.*\) are idle, so that task died with a worker" % case.workers)
        check(re.search(want, f["summary"]), "parent: summary %r" % f["summary"])
        check("exit status is not known" in f["summary"] or "exit status of worker" in f["summary"],
              "parent: the summary does not say what is known of the exit status: %r" % f["summary"])
        check(f["waiter"]["tid"] == parent, "parent: waiter %r, want the main thread %d" % (f["waiter"]["tid"], parent))
        check(f.get("holder") is None, "parent: a lost task has no holder to name, got %r" % f.get("holder"))
        check("BrokenProcessPool" in f["advice"] and "maxtasksperchild" in f["advice"] and "timeout" in f["advice"],
              "parent: advice %r" % f["advice"])
        lost = f.get("lost") or {}
        kids = sorted(p for p in tree if p != parent)
        left, why = (4, "read-lock") if case.mode == "killidle" else (1, "task-died")
        check(lost.get("left") == left and lost.get("why") == why and sorted(lost.get("workers") or []) == kids,
              "parent: lost %r, want %d missing (%s) and workers %s" % (lost, left, why, kids))
        check(len(lost.get("replacements") or []) == 1 and lost["replacements"][0] in kids and
              lost["replacements"][0] > dying, "parent: replacements %r (the dead worker was %d)"
              % (lost.get("replacements"), dying))
        for pid in kids:
            check_healthy(by_pid[pid], pid, "live", "tree worker %d: " % pid)
    finally:
        stop_tree(started)
        fwtest.remove_tree(wd)


def kill_queue_reader(started, case):
    """killidle: SIGKILL the idle worker that reads the task pipe (it holds the task queue's read
    lock), then release the parent into pool.map. -> (killed pid, parent pid)."""
    ev = fwtest.wait_events(started.events_path, ["parent_pid", "ready"], READY_BOUND)
    parent = int(ev["parent_pid"][0])
    read_nr = {"x86_64": 0, "aarch64": 63}.get(os.uname().machine)

    def reader():
        workers = [int(x) for x in started.events().get("worker_pid", [])]
        if len(workers) < case.workers or not all_asleep(workers):
            return None
        readers = [w for w in workers if fwtest.proc_syscall(w) == read_nr]
        return readers[0] if len(readers) == 1 else None
    victim = fwtest.wait_for("the worker reading the task pipe", reader, READY_BOUND)
    fwtest.kill_pid(victim)   # our fixture's child, alive and unreaped: its PID is its own
    fwtest.wait_for("worker %d gone" % victim, lambda: victim not in process_tree(parent), READY_BOUND)
    os.kill(parent, signal.SIGUSR1)
    return victim, parent


def test_lost_shared_lock(case, interp):
    wd = fwtest.workdir("healthy-%s-%s" % (case.tag, interp.label))
    started = fwtest.start(case.command(interp), wd, fixture_timeout=FIXTURE_TIMEOUT)
    try:
        ev = fwtest.wait_events(started.events_path, ["parent_pid", "child_exited", "child_blocking"], READY_BOUND)
        parent = int(ev["parent_pid"][0])
        fwtest.wait_for("parent %d asleep in futex" % parent, lambda: fwtest.blocked_in_futex(parent), READY_BOUND)
        rc, doc = analyse(["attach", "--json", str(parent)], wd)
        check(rc == 1 and doc.get("verdict") == "orphaned-lock",
              "attach: exit %d verdict %r, want 1 orphaned-lock: %s" % (rc, doc.get("verdict"), findings(doc)))
        f = doc["findings"][0]
        check(f["waiter"]["tid"] == parent and f["lock"]["kind"] == "semaphore", "attach: finding %r" % f)
        check(re.search(r"blocks on process-shared semaphore at 0x[0-9a-f]+ \(in /dev/shm/sem\..*\) that no live "
                        r"process can release: no other live process maps it", f["summary"]),
              "attach: summary %r" % f["summary"])
        check(not (f.get("holder") or {}).get("alive"), "attach: holder claimed alive: %r" % f.get("holder"))
        # a core cannot tell whether another process still maps it: no verdict on it
        rc, doc = analyse_core(parent, wd)
        check(rc == 0 and doc.get("verdict") == "no-deadlock",
              "core: exit %d verdict %r, want no-deadlock (releasers not checkable): %s"
              % (rc, doc.get("verdict"), findings(doc)))
        e = shared_entries(doc)
        check(e and e[0]["checked"] is False and any("cannot be checked from a core alone" in n for n in doc["notes"]),
              "core: the shared lock is not reported as uncheckable: %s %s" % (e, doc.get("notes")))
    finally:
        stop_tree(started)
        fwtest.remove_tree(wd)


if __name__ == "__main__":
    sys.exit(main())
