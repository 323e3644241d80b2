"""Packaging checks on the machine itself (issue 14): forkwatch(1) and the bash completion name
every verb and option cli/usage.c has (so the page cannot drift from `--help`), the README's
usage lines are usage.c's, and `make deb` builds this release's package with the expected
files, modes and dependencies (installing it is test_deb.sh's job, in a throw-away root).

    /usr/bin/python3 tests/packaging/test_host.py
"""
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, "tests", "lib"))
import fwtest  # noqa: E402
from fwtest import check  # noqa: E402

BUILD = os.path.join(TOP, os.environ.get("BUILD", "build"))


def read(*rel):
    with open(os.path.join(TOP, *rel), encoding="utf-8") as f:
        return f.read()


def usage_table():
    """{verb: (usage line, [options])} from cli/usage.c's verbs[] table."""
    src = read("cli", "usage.c")
    out = {}
    # A C string may be split over adjacent literals ("a " "b"): join them as the compiler does.
    lits = r'((?:\s*"(?:[^"\\]|\\.)*")+)'
    for m in re.finditer(r'\{"(\w+)",' + lits + ',' + lits + r'\}', src):
        verb = m.group(1)
        usage = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', m.group(2)))
        details = m.group(3)
        opts = sorted(set(re.findall(r"--[a-z][a-z-]*", usage + details)))
        out[verb] = (usage, opts)
    check({"run", "attach", "core", "help"} <= set(out), "cli/usage.c's verbs not parsed: %r" % sorted(out))
    return out


def man_text():
    # Roff escapes a hyphen as \-; compare in plain text.
    return read("docs", "forkwatch.1").replace("\\-", "-")


def case_man_matches_usage():
    man = man_text()
    for verb, (usage, opts) in usage_table().items():
        check(re.search(r"^\.B forkwatch %s$" % verb, man, re.M) or re.search(r"^\.SS \"forkwatch %s" % verb, man, re.M),
              "forkwatch(1) has no synopsis/section for %r" % verb)
        for opt in opts:
            check(re.search(r"(^|[\s\[(])%s\b" % re.escape(opt), man, re.M),
                  "forkwatch(1) lacks %s (of `%s`)" % (opt, verb))
    # Its exit statuses are usage.c's: run's 86/87, attach/core's 0-3.
    for code in ("86", "87", "127"):
        check(re.search(r"^\.B %s$" % code, man, re.M) or re.search(r"\b%s\b" % code, man), "no exit status %s" % code)
    r = subprocess.run(["groff", "-man", "-ww", "-z", os.path.join(TOP, "docs", "forkwatch.1")],
                       capture_output=True, text=True)
    if r.returncode == 127:
        raise fwtest.Skip("groff not installed")
    check(r.returncode == 0 and not r.stderr.strip(), "groff warns about forkwatch(1): %s" % r.stderr[-400:])


def case_readme_matches_usage():
    readme = read("README.md")
    for verb in ("run", "attach", "core"):
        usage = usage_table()[verb][0]
        want = usage.replace("forkwatch ", "build/forkwatch ", 1)
        # The README calls run's command COMMAND where usage.c says CMD: the same placeholder.
        # A long usage line may wrap in the README's code block: compare each command there
        # (a `build/forkwatch VERB` line and its indented continuations) with spaces collapsed.
        commands, cur = [], None
        for ln in readme.splitlines():
            if ln.startswith("build/forkwatch "):
                cur = [ln]
                commands.append(cur)
            elif cur is not None and ln.startswith(" ") and ln.strip():
                cur.append(ln)
            else:
                cur = None
        joined = [" ".join(" ".join(c).split()).replace("-- COMMAND [ARGS...]", "-- CMD [ARGS...]")
                  for c in commands]
        check(" ".join(want.split()) in joined, "README.md lacks usage.c's line: %s" % want)


def case_completion_matches_usage():
    comp = read("packaging", "bash-completion", "forkwatch")
    table = usage_table()
    for verb, (_, opts) in table.items():
        check(re.search(r"\b%s\b" % verb, comp), "completion lacks verb %s" % verb)
        for opt in opts:
            if opt in ("--help", "--version"):
                continue
            check(opt in comp, "completion lacks %s (of `%s`)" % (opt, verb))
    r = fwtest.run(["bash", "-c", ". packaging/bash-completion/forkwatch; "
                    'COMP_WORDS=(forkwatch attach --); COMP_CWORD=2; _forkwatch; echo "${COMPREPLY[*]}"'], 30, cwd=TOP)
    got = set(r.stdout.split())
    check(got == set(table["attach"][1]), "completing attach's options: %r, want %r" % (got, table["attach"][1]))


def case_deb_builds_here():
    for tool in ("dpkg-shlibdeps", "dpkg-deb"):
        if subprocess.run(["sh", "-c", "command -v " + tool], capture_output=True).returncode:
            raise fwtest.Skip("%s not installed (dpkg-dev)" % tool)
    r = fwtest.run(["make", "-s", "deb", "BUILD=" + BUILD], 300, cwd=TOP)
    check(r.returncode == 0, "make deb failed: %s" % (r.stdout + r.stderr)[-600:])
    m = re.search(r"build-deb: (\S+\.deb)", r.stdout)
    check(m and os.path.isfile(os.path.join(TOP, m.group(1))), "make deb named no package: %r" % r.stdout)
    deb = os.path.join(TOP, m.group(1))
    ma = subprocess.run(["dpkg-architecture", "-qDEB_HOST_MULTIARCH"], capture_output=True, text=True).stdout.strip()
    listing = fwtest.run(["dpkg-deb", "-c", deb], 30).stdout
    entries = {}
    for line in listing.splitlines():
        parts = line.split()
        entries[parts[-1].lstrip(".")] = (parts[0], parts[1])
    want = {"/usr/bin/forkwatch": "-rwxr-xr-x", "/usr/lib/%s/forkwatch/libforkwatch.so" % ma: "-rw-r--r--",
            "/usr/share/forkwatch/gdb/forkwatch-gdb.py": "-rw-r--r--",
            "/usr/share/forkwatch/gdb/forkwatch/commands.py": "-rw-r--r--",
            "/etc/gdb/gdbinit.d/forkwatch.gdb": "-rw-r--r--", "/usr/share/man/man1/forkwatch.1.gz": "-rw-r--r--",
            "/usr/share/bash-completion/completions/forkwatch": "-rw-r--r--",
            "/usr/share/doc/forkwatch/copyright": "-rw-r--r--"}
    for path, mode in want.items():
        check(path in entries, "%s not in the package" % path)
        check(entries[path] == (mode, "root/root"), "%s is %r, want %s root/root" % (path, entries[path], mode))
    check(not any("__pycache__" in p for p in entries), "the package ships byte-code")
    info = fwtest.run(["dpkg-deb", "-f", deb, "Depends", "Suggests"], 30).stdout
    deps = [d.strip().split()[0] for d in re.search(r"^Depends: (.*)$", info, re.M).group(1).split(",")]
    for dep in (r"libc6", r"libdw1(t64)?", r"libunwind8", r"libjson-c5", r"gdb"):
        check(any(re.fullmatch(dep, d) for d in deps), "Depends %r lacks %s" % (deps, dep))
    check("python3-dbg" in info, "Suggests lacks python3-dbg: %r" % info)
    # Unpacked anywhere, the packaged command finds the packaged agent (../lib/<triplet>/forkwatch).
    tmp = fwtest.workdir("deb-x")
    try:
        fwtest.run(["dpkg-deb", "-x", deb, tmp], 60)
        r = fwtest.run([os.path.join(tmp, "usr", "bin", "forkwatch"), "run", "--report", os.path.join(tmp, "r.jsonl"),
                        "--", "sh", "-c",
                        'printf "%s" "$LD_PRELOAD"'], 60)
        want_agent = os.path.join(os.path.realpath(tmp), "usr", "lib", ma, "forkwatch", "libforkwatch.so")
        check(r.returncode == 0 and r.stdout.split(":")[0] == want_agent,
              "the unpacked package's forkwatch run preloads %r, want %s (%s)" % (r.stdout, want_agent, r.stderr))
    finally:
        fwtest.remove_tree(tmp)
    conffiles = fwtest.run(["sh", "-c", "dpkg-deb --ctrl-tarfile %s | tar -xOf - ./conffiles" % deb], 30).stdout
    check(conffiles.split() == ["/etc/gdb/gdbinit.d/forkwatch.gdb"], "conffiles: %r" % conffiles)


def case_gdbinit_snippet():
    """The package's /etc/gdb/gdbinit.d snippet, on this machine's gdb: silent while the package
    is absent (after `apt-get remove` it stays), loads the GDB package when present."""
    snippet = read("packaging", "deb", "gdbinit.gdb")
    installed = "/usr/share/forkwatch/gdb/forkwatch-gdb.py"
    check(installed in snippet, "the snippet does not load %s" % installed)
    wd = fwtest.workdir("gdbinit")
    try:
        absent = os.path.join(wd, "absent.gdb")
        with open(absent, "w") as f:
            f.write(snippet.replace(installed, os.path.join(wd, "nothing", "forkwatch-gdb.py")))
        r = fwtest.run(["gdb", "-nx", "-q", "-batch", "-x", absent, "-ex", "echo gdb-ok\\n"], 60)
        check(r.stdout.strip() == "gdb-ok" and not r.stderr.strip(), "without the package: %r %r"
              % (r.stdout, r.stderr))
        present = os.path.join(wd, "present.gdb")
        with open(present, "w") as f:
            f.write(snippet.replace(installed, os.path.join(TOP, "gdb", "forkwatch-gdb.py")))
        r = fwtest.run(["gdb", "-nx", "-q", "-batch", "-x", present, "-ex", "help forkwatch diagnose"], 60)
        check(r.returncode == 0 and "diagnose" in r.stdout and not r.stderr.strip(),
              "with the package: %r %r" % (r.stdout[-300:], r.stderr[-300:]))
    finally:
        fwtest.remove_tree(wd)


def main():
    runner = fwtest.Runner("packaging-host")
    runner.run([("docs/man-matches-usage", case_man_matches_usage, ()),
                ("docs/readme-matches-usage", case_readme_matches_usage, ()),
                ("docs/completion-matches-usage", case_completion_matches_usage, ()),
                ("deb/gdbinit-snippet", case_gdbinit_snippet, ()),
                ("deb/builds-on-this-release", case_deb_builds_here, ())])
    return runner.finish()


if __name__ == "__main__":
    sys.exit(main())
