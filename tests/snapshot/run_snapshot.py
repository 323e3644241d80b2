"""`forkwatch snapshot` (issue 20's direct targets, first step): stacks read with libdw, not GDB.

A process in a chroot and one in a mount namespace with another /usr are read with their own
files (through /proc/PID/map_files or /proc/PID/root). On hung fixtures (the Python lock_held_at_fork child on every interpreter, the C
mutex_held_at_fork child, a process of several threads all waiting on a lock):
  - the snapshot's thread set is /proc/PID/task's;
  - the waiting thread's frames name a futex/sem_wait-like function in libc, and its system call
    is futex;
  - the process is left untraced (TracerPid 0), in the state it had, still waiting (a process
    stopped by SIGSTOP stays stopped, and SIGCONT resumes it);
  - the stop it reports is positive and short;
  - a core of it (gcore) gives the same thread ids and the same function names.
Bad input: a truncated core, a file that is not a core, a PID that does not exist, not permitted
(another uid): one line, exit 3; usage errors exit 2. A process killed at random instants of
its snapshot (40 tries) gives a snapshot or one line with exit 3, and is never left stopped;
one killed while forkwatch holds it stopped (a test hook widens that instant) gives exit 3.

    /usr/bin/python3 tests/snapshot/run_snapshot.py
Ends with `N passed, N failed`.
"""
import json
import os
import random
import re
import shutil
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "lib"))
import fwtest  # noqa: E402
from fwtest import check  # noqa: E402

FW = fwtest.FORKWATCH
WAIT_FUNCS = re.compile(r"futex|sem_wait|do_futex_wait|lll_lock_wait|__pthread_mutex_lock|"
                        r"pthread_cond_wait|__GI___lll_lock_wait")
BOUND = 30

# A process whose threads all wait on one lock that the main thread holds; it writes `ready`
# when every thread is parked in the kernel (checked by the test through /proc, not by timing).
MANY_THREADS = r"""
import os, sys, threading
lock = threading.Lock(); lock.acquire()
def waiter():
    lock.acquire()
ts = [threading.Thread(target=waiter, name="Waiter-%d" % i) for i in range(int(sys.argv[1]))]
for t in ts: t.start()
fd = os.open(os.environ["FIXTURE_EVENTS"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
os.write(fd, b"ready=1\n"); os.close(fd)
lock.acquire()
"""


def tasks(pid):
    return sorted(int(t) for t in os.listdir("/proc/%d/task" % pid))


def all_waiting(pid):
    try:
        return all(fwtest.blocked_in_futex(pid, tid) for tid in tasks(pid))
    except OSError:
        return False


def snapshot(args, bound=BOUND):
    r = fwtest.run([FW, "snapshot"] + args + ["--json"], bound)
    check(r.returncode == 0, "snapshot %s: exit %d: %s" % (args, r.returncode, r.stderr.strip()[-300:]))
    doc = json.loads(r.stdout)
    check(doc.get("schema") == "forkwatch-snapshot/1", "schema: %r" % doc.get("schema"))
    return doc


# The callers of libc's lock waits in the fixtures (CPython 3.8-3.12: PyThread_acquire_lock_timed;
# 3.13+: _PySemaphore_Wait; C: pthread_mutex_lock, exported by libc).
WAIT_CALLERS = re.compile(r"PyThread_acquire_lock_timed|_PySemaphore_Wait|pthread_mutex_lock|sem_wait|"
                          r"sem_clockwait|sem_timedwait")
_NAMED = {}


def libc_names_internal(path):
    """Can libdw name libc's internal functions (__futex_abstimed_wait_common is not exported)?
    Only with a .symtab or a debug file found by build-id: sid's libc.so.6 has neither unless
    libc6-dbg is installed, and then GDB prints `??` for those frames too."""
    if path not in _NAMED:
        sections = subprocess.run(["eu-readelf", "-S", path], capture_output=True, text=True).stdout
        notes = subprocess.run(["eu-readelf", "-n", path], capture_output=True, text=True).stdout
        m = re.search(r"Build ID: ([0-9a-f]{2})([0-9a-f]+)", notes)
        debug = m and os.path.exists("/usr/lib/debug/.build-id/%s/%s.debug" % (m.group(1), m.group(2)))
        _NAMED[path] = " .symtab " in sections or bool(debug)
    return _NAMED[path]


def waiting_frame(thread):
    """The frame that shows the lock wait in libc, or None: where libc's internal names are
    known, a futex/sem_wait-like function in libc; elsewhere frame 0 in libc (unnamed) with a
    known waiting caller above it, reached by unwinding through libc."""
    frames = thread["frames"]
    for f in frames:
        if f["function"] and WAIT_FUNCS.search(f["function"]) and "libc" in os.path.basename(f["module"] or ""):
            return f
    if frames and "libc" in os.path.basename(frames[0]["module"] or "") \
            and not libc_names_internal(frames[0]["module"]):
        for f in frames[1:]:
            if f["function"] and WAIT_CALLERS.search(f["function"]):
                return frames[0]
    return None


def check_live(pid, expect_threads=None, expect_function=None):
    """Snapshots a hung process and checks what it says and that it was left as it was."""
    fwtest.wait_for("every thread of %d waits in futex" % pid, lambda: all_waiting(pid), BOUND)
    before = {t: fwtest.proc_stat_state(pid, t) for t in tasks(pid)}
    doc = snapshot([str(pid)])
    check(doc["source"] == "live" and doc["pid"] == pid, "pid/source: %r %r" % (doc["pid"], doc["source"]))
    tids = sorted(t["tid"] for t in doc["threads"])
    check(tids == tasks(pid), "threads %s, /proc says %s" % (tids, tasks(pid)))
    if expect_threads is not None:
        check(len(tids) == expect_threads, "%d threads, expected %d" % (len(tids), expect_threads))
    check(isinstance(doc["stopped_us"], int) and 0 < doc["stopped_us"] < 5000000,
          "stopped_us: %r" % doc["stopped_us"])
    check(doc["mappings"] and any("libc" in (m["path"] or "") for m in doc["mappings"]), "no libc mapping")
    for t in doc["threads"]:
        comm = open("/proc/%d/task/%d/comm" % (pid, t["tid"])).read().rstrip("\n")
        check(t["name"] == comm, "thread %d named %r, comm %r" % (t["tid"], t["name"], comm))
        check(t["state"] == "S", "thread %d state %r" % (t["tid"], t["state"]))
        check(t["syscall"] and t["syscall"]["name"] == "futex", "thread %d syscall %r" % (t["tid"], t["syscall"]))
        check(waiting_frame(t), "thread %d: no futex/sem_wait frame in libc: %s"
              % (t["tid"], [(f["function"], f["module"]) for f in t["frames"][:6]]))
        if expect_function:
            check(any(f["function"] == expect_function for f in t["frames"]),
                  "thread %d: no frame in %s" % (t["tid"], expect_function))
    # left as it was: untraced, same states, still waiting
    check(fwtest.tracer_pid(pid) == 0, "TracerPid %r after the snapshot" % fwtest.tracer_pid(pid))
    after = {t: fwtest.proc_stat_state(pid, t) for t in tasks(pid)}
    check(after == before, "states before %r, after %r" % (before, after))
    check(all_waiting(pid), "not every thread waits in futex after the snapshot")
    return doc


def check_core_matches(pid, live, wd):
    prefix = os.path.join(wd, "core")
    r = fwtest.run(["gcore", "-o", prefix, str(pid)], 120)
    core = "%s.%d" % (prefix, pid)
    check(r.returncode == 0 and os.path.exists(core), "gcore failed: %s" % r.stderr[-300:])
    check(fwtest.tracer_pid(pid) == 0, "gcore left it traced")
    doc = snapshot(["--core", core])
    check(doc["source"] == "core" and doc["pid"] == pid and doc["stopped_us"] is None,
          "core facts: %r" % {k: doc[k] for k in ("source", "pid", "stopped_us")})
    check(doc["ppid"] == live["ppid"], "core ppid %r, live %r" % (doc["ppid"], live["ppid"]))
    check(sorted(t["tid"] for t in doc["threads"]) == sorted(t["tid"] for t in live["threads"]),
          "core threads differ from live ones")
    by_tid = {t["tid"]: t for t in live["threads"]}
    for t in doc["threads"]:
        lf = [f["function"] for f in by_tid[t["tid"]]["frames"]]
        cf = [f["function"] for f in t["frames"]]
        check(cf == lf, "thread %d: core frames %s, live %s" % (t["tid"], cf[:6], lf[:6]))
        check(t["syscall"] and t["syscall"]["name"] == "futex", "core thread %d syscall %r" % (t["tid"], t["syscall"]))
    main = [t for t in doc["threads"] if t["tid"] == pid][0]
    # pr_fname is 16 bytes: the kernel writes comm (15 + NUL), gcore the program's name cut at 16
    check(main["name"][:15] == live["name"][:15], "core main thread name %r, live %r" % (main["name"], live["name"]))
    check(any(m["path"] and "libc" in m["path"] for m in doc["mappings"]), "no NT_FILE libc mapping")
    return core


def run_fixture(name, lang, interp=None, expect_function=None, core=False):
    fx = fwtest.fixture(name, lang)
    wd = fwtest.workdir("snapshot-" + name)
    st = fwtest.start(fx.command(interp), wd)
    try:
        fwtest.wait_events(st.events_path, ["child_pid", "child_blocking"], BOUND)
        child = st.child_pid()
        live = check_live(child, expect_threads=1, expect_function=expect_function)
        if core:
            check_core_matches(child, live, wd)
    finally:
        st.cleanup()
        fwtest.remove_tree(wd)


def start_many(wd, n):
    script = os.path.join(wd, "many.py")
    with open(script, "w") as f:
        f.write(MANY_THREADS)
    st = fwtest.start([sys.executable, script, str(n)], wd)
    fwtest.wait_events(st.events_path, ["ready"], BOUND)
    return st


def case_many_threads():
    wd = fwtest.workdir("snapshot-many")
    st = start_many(wd, 6)
    try:
        live = check_live(st.pid, expect_threads=7)
        check_core_matches(st.pid, live, wd)
        r = fwtest.run([FW, "snapshot", str(st.pid)], BOUND)
        check(r.returncode == 0, "text: exit %d" % r.returncode)
        for tid in tasks(st.pid):
            check(re.search(r"^thread %d \"" % tid, r.stdout, re.M), "text lacks thread %d" % tid)
        check(" in futex()" in r.stdout and "mappings:" in r.stdout, "text lacks the syscall or the mappings")
    finally:
        st.cleanup()
        fwtest.remove_tree(wd)


def case_group_stopped():
    """A process stopped by SIGSTOP stays stopped (PTRACE_SEIZE + INTERRUPT send no signal, and
    a detached tracee in group-stop stays in it: ptrace(2)), and SIGCONT still resumes it."""
    import signal
    wd = fwtest.workdir("snapshot-stopped")
    st = start_many(wd, 2)
    try:
        fwtest.wait_for("threads wait", lambda: all_waiting(st.pid), BOUND)
        os.kill(st.pid, signal.SIGSTOP)
        fwtest.wait_for("every thread stopped", lambda: all(fwtest.proc_stat_state(st.pid, t) == "T"
                                                             for t in tasks(st.pid)), BOUND)
        doc = snapshot([str(st.pid)])
        check([t["state"] for t in doc["threads"]] == ["T"] * 3, "states %r" % [t["state"] for t in doc["threads"]])
        check(all(waiting_frame(t) for t in doc["threads"]), "a stopped thread's wait is not shown")
        check(all(fwtest.proc_stat_state(st.pid, t) == "T" for t in tasks(st.pid)) and fwtest.tracer_pid(st.pid) == 0,
              "not left stopped and untraced")
        os.kill(st.pid, signal.SIGCONT)
        fwtest.wait_for("SIGCONT resumes it", lambda: all_waiting(st.pid), BOUND)
    finally:
        st.cleanup()
        fwtest.remove_tree(wd)


SID_ROOT = "/var/cache/forkwatch/roots/sid"
WAIT_IN_ROOT = "import threading; l = threading.Lock(); l.acquire(); l.acquire()"


def check_foreign(cmd, python_path, wd):
    """A process whose files are not the host's: the snapshot must unwind it with its own
    files (wrong CFI from a host file of the same name would stop the unwinding in libc, and
    the host has no python3.13 at all)."""
    with open(os.path.join(wd, "err"), "wb") as err:
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
    try:
        fwtest.wait_for("the process in the foreign root waits", lambda: all_waiting(p.pid) and
                        os.readlink("/proc/%d/exe" % p.pid).endswith("python3.13"), BOUND)
        doc = snapshot([str(p.pid)])
        frames = doc["threads"][0]["frames"]
        names = [(f["function"], f["module"]) for f in frames]
        check(any(f["function"] == "_PySemaphore_Wait" and f["module"] == python_path for f in frames),
              "no _PySemaphore_Wait in %s: %s" % (python_path, names[:8]))
        check("libc" in (frames[0]["module"] or ""), "frame 0 not in libc: %s" % names[:3])
        check(fwtest.tracer_pid(p.pid) == 0 and all_waiting(p.pid), "not left as it was")
    finally:
        fwtest.kill_pid(p.pid)
        p.wait(timeout=BOUND)


def case_foreign_root():
    """The sid root's python3.13 (not on the host) in a chroot (maps name the files at the
    host's path of the root) and in a mount namespace with the root's /usr over the host's
    (maps name /usr/..., and the host's /usr/lib/.../libc.so.6 is another libc)."""
    py = os.path.join(SID_ROOT, "usr/bin/python3.13")
    if os.geteuid() != 0 or os.environ.get("FORKWATCH_DISTRO") or not os.access(py, os.X_OK) \
            or not shutil.which("unshare") or not shutil.which("chroot"):
        raise fwtest.Skip("needs root, the sid root's python3.13, chroot and unshare (host run only)")
    if os.path.exists("/usr/bin/python3.13"):
        raise fwtest.Skip("the host has a python3.13: the case would not tell the roots apart")
    wd = fwtest.workdir("snapshot-foreign")
    try:
        check_foreign(["chroot", SID_ROOT, "/usr/bin/python3.13", "-B", "-c", WAIT_IN_ROOT], py, wd)
        check_foreign(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                       'mount --bind "$1/usr" /usr && exec /usr/bin/python3.13 -B -c "$2"', "sh",
                       SID_ROOT, WAIT_IN_ROOT], "/usr/bin/python3.13", wd)
    finally:
        fwtest.remove_tree(wd)


def one_line_exit3(args, what):
    r = fwtest.run([FW, "snapshot"] + args, BOUND)
    lines = r.stderr.strip().splitlines()
    check(r.returncode == 3 and len(lines) == 1 and lines[0].startswith("forkwatch: ") and not r.stdout,
          "%s: exit %d, stderr %r" % (what, r.returncode, r.stderr))
    return lines[0]


def case_bad_input():
    wd = fwtest.workdir("snapshot-bad")
    try:
        st = start_many(wd, 1)
        try:
            fwtest.wait_for("threads wait", lambda: all_waiting(st.pid), BOUND)
            r = fwtest.run(["gcore", "-o", os.path.join(wd, "core"), str(st.pid)], 120)
            core = os.path.join(wd, "core.%d" % st.pid)
            check(r.returncode == 0, "gcore failed")
        finally:
            st.cleanup()
        with open(core, "rb") as f:
            data = f.read()
        for cut in (100, 3000, len(data) // 2):
            with open(os.path.join(wd, "cut"), "wb") as f:
                f.write(data[:cut])
            line = one_line_exit3(["--core", os.path.join(wd, "cut")], "core cut at %d" % cut)
            check("truncated" in line or "not a core" in line, "cut core: %r" % line)
        line = one_line_exit3(["--core", core, "--exe", "/bin/true"], "core with another program as --exe")
        check("true" in line, line)
        doc = snapshot(["--core", core, "--exe", sys.executable])
        check(doc["exe"] == sys.executable and doc["threads"], "--exe %s: %r" % (sys.executable, doc["exe"]))
        line = one_line_exit3(["--core", "/etc/passwd"], "not a core")
        check("not a core" in line, line)
        one_line_exit3(["--core", os.path.join(wd, "absent")], "absent core")
        gone = subprocess.Popen(["true"])
        gone.wait()
        line = one_line_exit3([str(gone.pid)], "gone PID")
        check("no process" in line, line)
        one_line_exit3(["abc"], "not a PID")
        # not permitted: another uid may not trace our process (ptrace(2) access mode checks)
        if shutil.which("setpriv") and os.geteuid() == 0:
            st = start_many(wd, 1)
            try:
                r = fwtest.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", FW,
                                "snapshot", str(st.pid)], BOUND)
                lines = r.stderr.strip().splitlines()
                check(r.returncode == 3 and len(lines) == 1 and "not permitted" in lines[0],
                      "not permitted: exit %d %r" % (r.returncode, r.stderr))
            finally:
                st.cleanup()
        for args in ([], ["1", "2"], ["1", "--core", "x"], ["--exe", "x", "1"], ["--frob", "1"],
                     ["--core"], ["--core", "a", "--core", "b"]):
            r = fwtest.run([FW, "snapshot"] + args, BOUND)
            check(r.returncode == 2 and "usage: forkwatch snapshot" in r.stderr,
                  "usage %s: exit %d %r" % (args, r.returncode, r.stderr))
        r = fwtest.run([FW, "help", "snapshot"], BOUND)
        check(r.returncode == 0 and "forkwatch-snapshot/1" in r.stdout, "help snapshot")
    finally:
        fwtest.remove_tree(wd)


def case_vanishing(tries=40):
    """Killed at random instants from the start of forkwatch to near its usual end (12 threads:
    the stop itself, seizing and unwinding each, is a wider target)."""
    wd = fwtest.workdir("snapshot-vanish")
    try:
        # the usual duration of one snapshot of such a process, to spread the kills over it
        st = start_many(wd, 12)
        try:
            fwtest.wait_for("threads wait", lambda: all_waiting(st.pid), BOUND)
            durs = []
            for _ in range(3):  # timed as the tries run it: from Popen to its end
                t0 = time.monotonic()
                subprocess.run([FW, "snapshot", str(st.pid), "--json"], capture_output=True, timeout=BOUND)
                durs.append(time.monotonic() - t0)
        finally:
            st.cleanup()
        span = sorted(durs)[1] * 0.8
        outcomes = {"snapshot": 0, "exit 3": 0}
        rng = random.Random(int(os.environ.get("FORKWATCH_TEST_SEED", "20")))
        for i in range(tries):
            sub = os.path.join(wd, "t%d" % i)
            os.mkdir(sub)
            st = start_many(sub, 12)
            try:
                fwtest.wait_for("threads wait", lambda: all_waiting(st.pid), BOUND)
                # every 8th try kills at once (before or while the PID is checked): the rest
                # spread over the command's run, its stop included
                delay = 0.0 if i % 8 == 0 else rng.uniform(0, span)
                killer = threading.Timer(delay, fwtest.kill_pid, args=(st.pid,))
                proc = subprocess.Popen([FW, "snapshot", str(st.pid), "--json"], stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True, env=fwtest.clean_env())
                killer.start()
                try:
                    out, err = proc.communicate(timeout=BOUND)
                except subprocess.TimeoutExpired:
                    fwtest.kill_pid(proc.pid)
                    proc.wait()
                    raise AssertionError("try %d (kill at %.1f ms): forkwatch did not end" % (i, delay * 1000))
                killer.join()
                if proc.returncode == 0:
                    doc = json.loads(out)
                    check(doc["pid"] == st.pid and doc["threads"], "try %d: an empty snapshot" % i)
                    outcomes["snapshot"] += 1
                else:
                    lines = err.strip().splitlines()
                    check(proc.returncode == 3 and len(lines) == 1 and not out,
                          "try %d (kill at %.1f ms): exit %d, stderr %r, stdout %d bytes"
                          % (i, delay * 1000, proc.returncode, err, len(out)))
                    outcomes["exit 3"] += 1
                # never a stuck process: the killed process ends (its parent is us)
                try:
                    st.popen.wait(timeout=BOUND)
                except subprocess.TimeoutExpired:
                    raise AssertionError("try %d: the killed process did not end (state %s, tracer %s)"
                                         % (i, fwtest.proc_stat_state(st.pid), fwtest.tracer_pid(st.pid)))
            finally:
                st.cleanup()
        print("    vanishing: %d tries over %.1f ms: %s" % (tries, span * 1000, outcomes), flush=True)
        # the kills must really race the command (else this case tests nothing)
        check(outcomes["exit 3"] >= 1, "no kill landed before the snapshot ended: %s" % outcomes)
    finally:
        fwtest.remove_tree(wd)


def tracer_of(pid):
    return fwtest.tracer_pid(pid)


def case_killed_while_stopped():
    """Between the stop and the unwinding, deterministically: forkwatch holds the threads
    (FORKWATCH_SNAPSHOT_TEST_HOLD_MS), the test sees TracerPid name it, then SIGKILLs the process.
    One line, exit 3, no output; the process ends (it is our child: reaped)."""
    wd = fwtest.workdir("snapshot-held")
    try:
        for nthreads in (0, 5):
            st = start_many(wd, nthreads)
            try:
                fwtest.wait_for("threads wait", lambda: all_waiting(st.pid), BOUND)
                env = fwtest.clean_env({"FORKWATCH_SNAPSHOT_TEST_HOLD_MS": "5000"})
                proc = subprocess.Popen([FW, "snapshot", str(st.pid), "--json"], stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True, env=env)
                try:
                    fwtest.wait_for("forkwatch traces every thread",
                                    lambda: all(fwtest.tracer_pid(st.pid) == proc.pid and
                                                fwtest.proc_stat_state(st.pid, t) == "t" for t in tasks(st.pid)),
                                    BOUND)
                    fwtest.kill_pid(st.pid)
                    out, err = proc.communicate(timeout=BOUND)
                finally:
                    if proc.poll() is None:
                        fwtest.kill_pid(proc.pid)
                        proc.wait()
                lines = err.strip().splitlines()
                check(proc.returncode == 3 and len(lines) == 1 and "exited during the snapshot" in lines[0]
                      and not out, "%d threads: exit %d, stderr %r, stdout %r"
                      % (nthreads + 1, proc.returncode, err, out[:200]))
                st.popen.wait(timeout=BOUND)
            finally:
                st.cleanup()
    finally:
        fwtest.remove_tree(wd)


def main():
    missing = fwtest.have_build(FW, os.path.join(fwtest.FIXTURE_BIN, "mutex_held_at_fork"))
    if missing:
        print("missing %s: run make all" % missing)
        print("0 passed, 1 failed")
        return 1
    runner = fwtest.Runner("snapshot")
    interps = fwtest.interpreters()
    cases = [("live/python/%s/lock_held_at_fork" % i.label, run_fixture, ("lock_held_at_fork", "python", i))
             for i in interps]
    if interps:
        cases.append(("core/python/%s/lock_held_at_fork" % interps[-1].label,
                      lambda i: run_fixture("lock_held_at_fork", "python", i, core=True), (interps[-1],)))
    cases += [("live+core/c/mutex_held_at_fork",
               lambda: run_fixture("mutex_held_at_fork", "c", expect_function="child_lock_mutex", core=True), ()),
              ("live+core/many-threads", case_many_threads, ()),
              ("live/group-stopped", case_group_stopped, ()),
              ("bad-input", case_bad_input, ()),
              ("live/foreign-root (chroot, mount namespace)", case_foreign_root, ()),
              ("killed-while-stopped", case_killed_while_stopped, ()),
              ("vanishing-pid", case_vanishing, ())]
    runner.run(cases)
    return runner.finish()


if __name__ == "__main__":
    sys.exit(main())
