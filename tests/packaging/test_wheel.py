"""The wheel (issue 14): `make wheel` builds it offline, `pip install --no-index` puts it in a
fresh venv, and the installed `forkwatch` (console script and `python -m forkwatch`) finds its
own agent and GDB package inside the install: it catches the Wub Machine under `run` (86) and
`attach --json` gives the same JSON as the built tree on the same hung child (pids, addresses
and times aside), with and without the agent in the process.

    /usr/bin/python3 tests/packaging/test_wheel.py      (after `make`; BUILD=build)
"""
import base64
import hashlib
import json
import os
import re
import subprocess
import sys
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, "tests", "lib"))
import fwtest  # noqa: E402
from fwtest import check  # noqa: E402

BUILD = os.path.join(TOP, os.environ.get("BUILD", "build"))
TREE_CLI = os.path.join(BUILD, "forkwatch")
# The venv's interpreter: Debian's own (python3-venv), as a user would.
VENV_PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
READY = 60
ATTACH_BOUND = 150

STATE = {}


def fixture_path(name):
    return os.path.join(TOP, "fixtures", "python", name)


def case_build():
    r = fwtest.run(["make", "-s", "wheel", "BUILD=" + BUILD], 300, cwd=TOP)
    check(r.returncode == 0, "make wheel failed (%d): %s" % (r.returncode, (r.stdout + r.stderr)[-600:]))
    m = re.search(r"build_wheel: (\S+\.whl)", r.stdout)
    check(m and os.path.isfile(m.group(1)), "make wheel named no wheel: %r" % r.stdout)
    whl = m.group(1)
    name = os.path.basename(whl)
    check(re.fullmatch(r"forkwatch-[0-9.]+-py3-none-linux_[a-z0-9_]+\.whl", name),
          "not a py3-none-linux_* platform wheel: %s" % name)
    with zipfile.ZipFile(whl) as z:
        names = z.namelist()
        for want in ("forkwatch/__main__.py", "forkwatch/_native/bin/forkwatch",
                     "forkwatch/_native/lib/libforkwatch.so",
                     "forkwatch/_native/share/forkwatch/gdb/forkwatch-gdb.py",
                     "forkwatch/_native/share/forkwatch/gdb/forkwatch/commands.py"):
            check(want in names, "%s missing from the wheel" % want)
        check(not any("__pycache__" in n for n in names), "the wheel carries byte-code")
        info = [n for n in names if n.endswith(".dist-info/WHEEL")]
        check(len(info) == 1, "want one .dist-info/WHEEL, got %r" % info)
        wheel_meta = z.read(info[0]).decode()
        check("Root-Is-Purelib: false" in wheel_meta, "WHEEL: not a platlib wheel:\n" + wheel_meta)
        check(re.search(r"^Tag: py3-none-linux_", wheel_meta, re.M), "WHEEL: no platform tag:\n" + wheel_meta)
        mode = z.getinfo("forkwatch/_native/bin/forkwatch").external_attr >> 16
        check(mode & 0o111, "the native command is not executable in the wheel (mode %o)" % mode)
        # RECORD (PEP 376/427): every other file listed once with its sha256 and size.
        record = [n for n in names if n.endswith(".dist-info/RECORD")][0]
        rows = {}
        for line in z.read(record).decode().splitlines():
            path, digest, size = line.rsplit(",", 2)
            rows[path] = (digest, size)
        check(set(rows) == set(names), "RECORD does not list exactly the wheel's files")
        for n in names:
            if n == record:
                continue
            data = z.read(n)
            want = "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            check(rows[n] == (want, str(len(data))), "RECORD entry of %s is wrong" % n)
    STATE["wheel"] = whl


def case_install():
    whl = STATE.get("wheel")
    check(whl, "no wheel (build failed)")
    venv = fwtest.workdir("wheel-venv")
    fwtest.RUN_TREES.add(venv)
    STATE["venv"] = venv
    r = fwtest.run([VENV_PYTHON, "-m", "venv", venv], 120)
    check(r.returncode == 0, "python3 -m venv failed: %s" % r.stderr[-400:])
    pip_env = fwtest.clean_env({"PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
    r = fwtest.run([os.path.join(venv, "bin", "pip"), "install", "--no-index", whl], 180, env=pip_env)
    check(r.returncode == 0, "pip install --no-index failed: %s" % (r.stdout + r.stderr)[-600:])
    exe = os.path.join(venv, "bin", "forkwatch")
    check(os.access(exe, os.X_OK), "no forkwatch in the venv's bin/")
    # On PATH, as an activated venv has it.
    env = fwtest.clean_env({"PATH": os.path.join(venv, "bin") + ":" + os.environ.get("PATH", "/usr/bin:/bin")})
    r = fwtest.run(["sh", "-c", "command -v forkwatch && forkwatch --version"], 30, env=env)
    check(r.returncode == 0 and r.stdout.splitlines()[0] == exe and re.search(r"^forkwatch \d", r.stdout, re.M),
          "forkwatch on PATH is not the venv's: %r" % r.stdout)
    r = fwtest.run([os.path.join(venv, "bin", "python"), "-m", "forkwatch", "--version"], 30)
    check(r.returncode == 0 and r.stdout.startswith("forkwatch "), "python -m forkwatch --version: %r %r"
          % (r.stdout, r.stderr))
    r = fwtest.run([os.path.join(venv, "bin", "python"), "-m", "forkwatch", "attach"], 30)
    check(r.returncode == 2 and "usage:" in r.stderr, "python -m forkwatch passes no exit status (%d)" % r.returncode)
    # Its parts come from inside the install, not from this tree.
    r = fwtest.run([os.path.join(venv, "bin", "python"), "-c",
                    "import forkwatch; print(forkwatch.AGENT); print(forkwatch.GDB_DIR)"], 30)
    agent, gdb_dir = r.stdout.split()
    check(agent.startswith(os.path.realpath(venv)) or agent.startswith(venv), "agent outside the venv: " + agent)
    # (--report into the venv's tree: without it `run` keeps a report directory in /tmp.)
    r = fwtest.run([exe, "run", "--report", os.path.join(venv, "report.jsonl"), "--", "sh", "-c",
                    'printf "%s" "$LD_PRELOAD"'], 60)
    check(r.returncode == 0 and os.path.realpath(r.stdout.split(":")[0]) == os.path.realpath(agent),
          "forkwatch run preloads %r, not the wheel's agent %s" % (r.stdout, agent))
    check(os.path.isfile(os.path.join(gdb_dir, "forkwatch-gdb.py")), "no GDB package at " + gdb_dir)
    STATE["exe"] = exe


def case_run_wub():
    exe = STATE.get("exe")
    check(exe, "no installed wheel")
    wd = fwtest.workdir("wheel-wub")
    try:
        rc, err, events = fwtest.run_under(exe, [VENV_PYTHON, fixture_path("wub_machine.py")], wd)
        check(rc == 86, "forkwatch run (wheel) exit %d, want 86: %s" % (rc, err[-500:]))
        check(any(e.get("event") == "fork-deadlock" for e in events), "no fork-deadlock event in the report")
        check("fork deadlock" in err, "no summary on stderr: %s" % err[-400:])
    finally:
        fwtest.remove_tree(wd)


ID_KEY = re.compile(r"(^|_)(pid|tid|ppid|ident|thread_id|native_id)s?$")
TIME_KEY = re.compile(r"time|elapsed|duration|_ns$|_ms$|_s$")


def normalise(v):
    """The JSON without what differs between two looks at one process by nature: pids/tids,
    addresses and times (none of them should differ on the same process, but a mismatch there
    is not what this test is about)."""
    if isinstance(v, dict):
        return {k: ("<id>" if ID_KEY.search(k) and isinstance(x, int) else normalise(x))
                for k, x in v.items() if not TIME_KEY.search(k)}
    if isinstance(v, list):
        return [normalise(x) for x in v]
    if isinstance(v, str):
        return re.sub(r"0x[0-9a-fA-F]+", "0x?", v)
    return v


def attach_json(cli, pid):
    r = fwtest.run([cli, "attach", str(pid), "--json"], ATTACH_BOUND)
    check(r.returncode == 1, "%s attach exit %d, want 1: %s" % (cli, r.returncode, r.stderr[-400:]))
    return json.loads(r.stdout)


def case_attach_same_json(with_agent):
    exe = STATE.get("exe")
    check(exe, "no installed wheel")
    wd = fwtest.workdir("wheel-attach")
    try:
        cmd = [VENV_PYTHON, fixture_path("lock_held_at_fork.py")]
        if with_agent:
            # The wheel's agent in the hung child: it reports, then blocks (warn).
            cmd = [exe, "run", "--on-deadlock", "warn", "--quiet", "--report", os.path.join(wd, "report.jsonl"),
                   "--"] + cmd
        st = fwtest.start(cmd, wd, fixture_timeout=200)
        try:
            ev = fwtest.wait_events(st.events_path, ["child_pid", "child_blocking"], READY)
            child = int(ev["child_pid"][-1])
            fwtest.wait_for("child %d asleep in futex" % child, lambda: fwtest.blocked_in_futex(child), READY)
            from_wheel = attach_json(exe, child)
            from_tree = attach_json(TREE_CLI, child)
        finally:
            st.cleanup()
        check(from_wheel.get("verdict") == "fork-deadlock", "wheel verdict %r" % from_wheel.get("verdict"))
        check(from_wheel.get("agent") is with_agent, "wheel JSON agent=%r, want %r"
              % (from_wheel.get("agent"), with_agent))
        a, b = normalise(from_wheel), normalise(from_tree)
        if a != b:
            diff = [k for k in set(a) | set(b) if a.get(k) != b.get(k)]
            raise AssertionError("wheel and tree JSON differ in %s" % sorted(diff))
    finally:
        fwtest.remove_tree(wd)


def case_uninstall():
    venv = STATE.get("venv")
    check(venv and STATE.get("exe"), "no installed wheel")
    site = fwtest.run([os.path.join(venv, "bin", "python"), "-c",
                       "import sysconfig; print(sysconfig.get_paths()['platlib'])"], 30).stdout.strip()
    r = fwtest.run([os.path.join(venv, "bin", "pip"), "uninstall", "-y", "forkwatch"], 120)
    check(r.returncode == 0, "pip uninstall failed: %s" % r.stderr[-400:])
    left = [p for p in (os.path.join(site, "forkwatch"), os.path.join(venv, "bin", "forkwatch"),
                        os.path.join(venv, "share", "man", "man1", "forkwatch.1")) if os.path.exists(p)]
    check(not left, "pip uninstall left %s" % left)


def main():
    missing = fwtest.have_build(TREE_CLI, os.path.join(BUILD, "libforkwatch.so"))
    runner = fwtest.Runner("packaging-wheel")
    if missing:
        print("FAIL wheel: build first (missing %s)" % ", ".join(missing))
        print("0 passed, 1 failed")
        return 1
    cases = [("wheel/build", case_build, ()),
             ("wheel/install-venv", case_install, ()),
             ("wheel/run-wub-machine", case_run_wub, ()),
             ("wheel/attach-same-json", case_attach_same_json, (False,)),
             ("wheel/attach-same-json-agent", case_attach_same_json, (True,)),
             ("wheel/uninstall", case_uninstall, ())]
    try:
        runner.run(cases)
    finally:
        for t in list(fwtest.RUN_TREES):
            fwtest.remove_tree(t)
    return runner.finish()


if __name__ == "__main__":
    sys.exit(main())
