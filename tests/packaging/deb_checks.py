"""The .deb's life cycle inside a throw-away Debian root (test_deb.sh runs this there, as root,
on a copy of the tree): `make deb`, `apt-get install ./forkwatch_*.deb`, the installed
`forkwatch` catches the Wub Machine under `run` (86) and diagnoses a hung child with `attach` and
`core` (of its gcore),
any gdb has `forkwatch diagnose`, `man -w forkwatch` finds the page, the bash completion
completes, then `apt-get remove` leaves only the conffile (harmless: gdb starts cleanly) and
`apt-get purge` leaves the file system as it was before the install.

    python3 tests/packaging/deb_checks.py [NAME]     (in the root, from the tree's top; NAME: the
                                                      root's, for the case names)
"""
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, "tests", "lib"))
import fwtest  # noqa: E402
from fwtest import check  # noqa: E402

BUILD = os.path.join(TOP, "build")
APT = ["apt-get", "-y", "-q", "-o", "Acquire::Check-Valid-Until=false", "-o", "APT::Install-Recommends=false",
       "-o", "Dpkg::Use-Pty=0"]
APT_ENV = fwtest.clean_env({"DEBIAN_FRONTEND": "noninteractive"})
CONFFILE = "/etc/gdb/gdbinit.d/forkwatch.gdb"
READY = 60
STATE = {}

# What the package manager, caches and the tests themselves change: not files the package left.
SKIP = ("/proc", "/sys", "/dev", "/run", "/tmp", "/var/tmp", "/var/lib/dpkg", "/var/lib/apt", "/var/cache",
        "/var/log", "/var/lib/man-db", "/root")


def file_list():
    out = set()
    for dirpath, dirnames, filenames in os.walk("/"):
        dirnames[:] = [d for d in dirnames if os.path.join(dirpath, d) not in SKIP]
        for name in dirnames + filenames:
            out.add(os.path.join(dirpath, name))
    return out


def multiarch():
    return subprocess.run(["dpkg-architecture", "-qDEB_HOST_MULTIARCH"], capture_output=True, text=True,
                          check=True).stdout.strip()


def case_build():
    r = fwtest.run(["make", "-s", "deb"], 400, cwd=TOP)
    check(r.returncode == 0, "make deb failed (%d): %s" % (r.returncode, (r.stdout + r.stderr)[-800:]))
    debs = sorted(f for f in os.listdir(BUILD) if re.fullmatch(r"forkwatch_.+_[a-z0-9]+\.deb", f))
    check(len(debs) == 1, "want one forkwatch_*.deb in build/, got %r" % debs)
    deb = os.path.join(BUILD, debs[0])
    fields = fwtest.run(["dpkg-deb", "-f", deb, "Depends", "Suggests"], 30).stdout
    depends = re.search(r"^Depends: (.*)$", fields, re.M)
    check(depends, "no Depends in the control file")
    deps = [d.strip().split()[0] for d in depends.group(1).split(",")]
    # From dpkg-shlibdeps: the CLI's libdw and json-c, the agent's libunwind, under this release's names.
    for want in (r"libc6", r"libdw1(t64)?", r"libunwind8", r"libjson-c5", r"gdb"):
        check(any(re.fullmatch(want, d) for d in deps), "Depends %r lacks %s" % (deps, want))
    check(re.search(r"^Suggests: .*python3-dbg", fields, re.M), "Suggests lacks python3-dbg: %r" % fields)
    STATE["deb"] = deb


def case_install():
    deb = STATE.get("deb")
    check(deb, "no .deb (build failed)")
    # man-db for `man -w` (from the Debian archive; the root is a throw-away overlay).
    if not os.path.exists("/usr/bin/man"):
        fwtest.run(APT + ["update", "-qq"], 180, env=APT_ENV)
        r = fwtest.run(APT + ["install", "man-db"], 300, env=APT_ENV)
        STATE["man"] = r.returncode == 0
        if r.returncode != 0:
            print("note: could not install man-db (%s): the man check is skipped" % r.stderr.strip()[-200:])
    else:
        STATE["man"] = True
    STATE["before"] = file_list()
    r = fwtest.run(APT + ["install", os.path.abspath(deb)], 300, env=APT_ENV)
    check(r.returncode == 0, "apt-get install ./deb failed: %s" % (r.stdout + r.stderr)[-800:])
    ma = multiarch()
    for path in ("/usr/bin/forkwatch", "/usr/lib/%s/forkwatch/libforkwatch.so" % ma,
                 "/usr/share/forkwatch/gdb/forkwatch-gdb.py", "/usr/share/man/man1/forkwatch.1.gz",
                 "/usr/share/bash-completion/completions/forkwatch", CONFFILE,
                 "/usr/share/doc/forkwatch/copyright"):
        check(os.path.isfile(path), "%s not installed" % path)
    pycs = [f for d, _, fs in os.walk("/usr/share/forkwatch/gdb") for f in fs if f.endswith(".pyc")]
    check(pycs, "postinst did not byte-compile the GDB package")
    r = fwtest.run(["sh", "-c", "command -v forkwatch"], 30, env=fwtest.clean_env())
    check(r.stdout.strip() == "/usr/bin/forkwatch", "forkwatch on PATH: %r" % r.stdout)
    # The installed command preloads the installed agent.
    wd = fwtest.workdir("deb-preload")
    try:
        r = fwtest.run(["forkwatch", "run", "--report", os.path.join(wd, "r.jsonl"), "--", "sh", "-c",
                        'printf "%s" "$LD_PRELOAD"'], 60)
    finally:
        fwtest.remove_tree(wd)
    check(r.stdout.split(":")[0] == "/usr/lib/%s/forkwatch/libforkwatch.so" % ma,
          "forkwatch run preloads %r" % r.stdout)
    STATE["installed"] = True


def fixture_python():
    """The release's python3, or python3.13 where python3 is newer (sid: 3.14), since the GDB side
    reads CPython up to 3.13 for now (issue 10) and this suite tests the package, not that."""
    r = subprocess.run(["python3", "-c", "import sys; print(sys.version_info >= (3, 14))"],
                       capture_output=True, text=True)
    if r.stdout.strip() == "True" and os.path.exists("/usr/bin/python3.13"):
        return "/usr/bin/python3.13"
    return "python3"


def fixture(name):
    return os.path.join(TOP, "fixtures", "python", name)


def case_run_wub():
    check(STATE.get("installed"), "not installed")
    wd = fwtest.workdir("deb-wub")
    try:
        rc, err, events = fwtest.run_under("forkwatch", [fixture_python(), fixture("wub_machine.py")], wd)
        check(rc == 86, "forkwatch run exit %d, want 86: %s" % (rc, err[-600:]))
        check(any(e.get("event") == "fork-deadlock" for e in events),
              "no fork-deadlock event in the report")
    finally:
        fwtest.remove_tree(wd)


def case_attach_and_gdb():
    check(STATE.get("installed"), "not installed")
    wd = fwtest.workdir("deb-attach")
    try:
        st = fwtest.start([fixture_python(), fixture("lock_held_at_fork.py")], wd, fixture_timeout=200)
        try:
            ev = fwtest.wait_events(st.events_path, ["child_pid", "child_blocking"], READY)
            child = int(ev["child_pid"][-1])
            fwtest.wait_for("child %d asleep in futex" % child, lambda: fwtest.blocked_in_futex(child), READY)
            r = fwtest.run(["forkwatch", "attach", str(child), "--json"], 150)
            check(r.returncode == 1, "forkwatch attach exit %d, want 1: %s" % (r.returncode, r.stderr[-500:]))
            doc = json.loads(r.stdout)
            check(doc.get("verdict") == "fork-deadlock", "attach verdict %r" % doc.get("verdict"))
            # Without the agent the holder of an ownerless Lock is known only as gone; the waiter is
            # the child at its `with lock:` line.
            src = fixture("lock_held_at_fork.py")
            line = fwtest.marker_line(src, "FW-CHILD-WAIT")
            found = [f for f in doc.get("findings", []) if (f.get("waiter") or {}).get("tid") == child]
            check(found, "no finding whose waiter is the child %d" % child)
            # (lock.kind is the GDB side's business, tests/e2e: on 3.13.1+ it names the parking semaphore.)
            check((found[0].get("holder") or {}).get("alive") is False, "holder %r" % found[0].get("holder"))
            check(fwtest.frames_match(found[0]["waiter"].get("python_stack"), os.path.basename(src), line),
                  "waiter's python_stack lacks %s:%d" % (os.path.basename(src), line))
            # forkwatch core on a core of the same child (gcore: from the gdb package).
            core = os.path.join(wd, "child.core")
            r = fwtest.run(["gcore", "-o", core, str(child)], 120)
            cores = [f for f in os.listdir(wd) if f.startswith("child.core")]
            check(cores, "gcore wrote no core: %s" % (r.stdout + r.stderr)[-300:])
            r = fwtest.run(["forkwatch", "core", os.path.join(wd, cores[0]), "--json"], 150)
            check(r.returncode == 1, "forkwatch core exit %d, want 1: %s" % (r.returncode, r.stderr[-500:]))
            check(json.loads(r.stdout).get("verdict") == "fork-deadlock", "core verdict: %s" % r.stdout[:200])
            # Any gdb (no -nx: the system gdbinit directory loads the package).
            r = fwtest.run(["gdb", "-q", "-batch", "-p", str(child), "-ex", "forkwatch diagnose"], 150)
            check("fork-deadlock" in r.stdout, "plain gdb's `forkwatch diagnose` gave no verdict: %s"
                  % (r.stdout + r.stderr)[-600:])
        finally:
            st.cleanup()
    finally:
        fwtest.remove_tree(wd)


def case_man():
    check(STATE.get("installed"), "not installed")
    if not STATE.get("man"):
        raise fwtest.Skip("man-db could not be installed from the Debian archive")
    r = fwtest.run(["man", "-w", "forkwatch"], 30)
    check(r.returncode == 0 and r.stdout.strip() == "/usr/share/man/man1/forkwatch.1.gz",
          "man -w forkwatch: %r %r" % (r.stdout, r.stderr))
    r = fwtest.run(["sh", "-c", "MANWIDTH=80 man forkwatch | cat"], 30)
    check(r.returncode == 0 and "forkwatch attach" in r.stdout and "EXIT STATUS" in r.stdout,
          "man forkwatch renders no page: %r" % r.stderr[-300:])


def case_completion():
    check(STATE.get("installed"), "not installed")
    script = ('. /usr/share/bash-completion/completions/forkwatch; '
              'COMP_WORDS=(forkwatch at); COMP_CWORD=1; _forkwatch; echo "1:${COMPREPLY[*]}"; '
              'COMP_WORDS=(forkwatch run --on-deadlock ""); COMP_CWORD=3; _forkwatch; echo "2:${COMPREPLY[*]}"; '
              'COMP_WORDS=(forkwatch core --); COMP_CWORD=2; _forkwatch; echo "3:${COMPREPLY[*]}"')
    r = fwtest.run(["bash", "-c", script], 30)
    lines = dict(line.split(":", 1) for line in r.stdout.splitlines() if ":" in line)
    check(lines.get("1") == "attach", "completing 'at': %r" % lines.get("1"))
    check(lines.get("2") == "abort warn off", "completing --on-deadlock: %r" % lines.get("2"))
    check(set(lines.get("3", "").split()) == {"--exe", "--json", "--timeout", "--verbose"},
          "completing core's options: %r" % lines.get("3"))


def case_remove_purge():
    check(STATE.get("installed"), "not installed")
    before = STATE["before"]
    r = fwtest.run(APT + ["remove", "forkwatch"], 300, env=APT_ENV)
    check(r.returncode == 0, "apt-get remove failed: %s" % (r.stdout + r.stderr)[-600:])
    left = sorted(file_list() - before)
    # Debian keeps conffiles until purge; ours then must not break gdb.
    check(set(left) <= {CONFFILE, os.path.dirname(CONFFILE), "/etc/gdb"},
          "apt-get remove left more than the conffile: %s" % left[:20])
    r = fwtest.run(["gdb", "-q", "-batch", "-ex", "echo gdb-ok\\n"], 60)
    check(r.stdout.strip() == "gdb-ok" and not r.stderr.strip(),
          "gdb after remove: %r %r" % (r.stdout, r.stderr))
    r = fwtest.run(APT + ["purge", "forkwatch"], 300, env=APT_ENV)
    check(r.returncode == 0, "apt-get purge failed: %s" % (r.stdout + r.stderr)[-600:])
    after = file_list()
    check(after == before, "after purge: left %s, missing %s" % (sorted(after - before)[:20],
                                                                  sorted(before - after)[:20]))
    r = fwtest.run(["dpkg-query", "-W", "-f", "${Status}", "forkwatch"], 30)
    check("installed" not in r.stdout or "not-installed" in r.stdout, "dpkg still knows forkwatch: %r" % r.stdout)


def main():
    if os.getuid() != 0:
        print("FAIL deb: the checks need root (they install a package)")
        print("0 passed, 1 failed")
        return 1
    runner = fwtest.Runner("packaging-deb")
    print("deb: fixtures run on %s" % fixture_python(), flush=True)
    where = "deb-%s/" % sys.argv[1] if len(sys.argv) > 1 else "deb/"
    cases = [(where + "build", case_build, ()),
             (where + "install", case_install, ()),
             (where + "run-wub-machine", case_run_wub, ()),
             (where + "attach-core-and-gdb", case_attach_and_gdb, ()),
             (where + "man", case_man, ()),
             (where + "completion", case_completion, ()),
             (where + "remove-purge", case_remove_purge, ())]
    runner.run(cases)
    return runner.finish()


if __name__ == "__main__":
    sys.exit(main())
