#!/usr/bin/python3
"""The hang shapes of issue 4: each fixture (fixtures/python/shape_*.py, fixtures/c/shape_*.c)
is left hung (or paused, for the controls) and diagnosed live (`forkwatch attach --json`) and
from a core made with gcore (`forkwatch core --json`), without the agent and with it
(LD_PRELOAD, FORKWATCH_ON_DEADLOCK=warn), on every interpreter where the shape exists; where
the agent can see the shape, also under `forkwatch run` (exit 86 and a fork-deadlock event).
Every Python shape also runs without the agent with libpython's DWARF hidden from GDB (case
`no-dwarf`: a copy of libpython, or of Debian's python3.11, without DWARF, debug link or a
findable build-id; see NoDwarf), live and from a core, with the same checks.
Tree shapes run `forkwatch attach --tree --json` on the fixture's parent.

Checks: verdict, exit status, the finding about the target thread (lock kind, a summary that
says what the shape is, the holder's name/alive), the waiter's Python line found by marker,
and python.layout: "dwarf" with DWARF, "tables" (3.8-3.12) / "_Py_DebugOffsets" (3.13)
without it.

Usage: run_shapes.py [--quick] [--shape NAME ...] [--jobs N] [--no-core] [--no-agent]
                     [--dwarf both|with|without]
  --quick: Debian's python3.11 and pyenv 3.12 only. --dwarf with: skip the no-dwarf cases;
  without: only them (default both). FORKWATCH_TEST_PYTHONS (colon-separated paths) and
  FORKWATCH_TEST_FILTER (regex on case names) work as in the other suites.
Ends with `N passed, N failed`; exits non-zero on a failure.
"""
import argparse
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading

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
HERE = os.path.dirname(os.path.abspath(__file__))


class Shape:
    def __init__(self, name, verdict, lock_kinds=None, summary_re=None, holder_name=None,
                 agent_holder_name=None, waiter_marker=None, waiter_file=None, lang="python",
                 run_status=None, ready="child_blocking", target="child", min_version=(3, 8),
                 max_version=(3, 99), env=None, args=(), tree=None, parent_summary_re=None,
                 holder_alive=False, agent=True, run_max_version=(3, 99), run_timeout=None,
                 agent_name_max_version=(3, 99), parent_waits_in=None, api=None, lock_kinds_from=None,
                 summary_not_re=None):
        self.name = name
        self.verdict = verdict
        self.lock_kinds = lock_kinds
        # {(major, minor): kinds}: the lock kinds wanted from that version on (where the
        # runtime waits on something else; each use says why)
        self.lock_kinds_from = lock_kinds_from or {}
        self.summary_not_re = summary_not_re        # what the finding must not claim
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
        # the system call the parent's main thread sleeps in once it waits for the stuck child
        # (at its FW-PARENT-WAIT line): --tree checks what the parent says only then
        self.parent_waits_in = parent_waits_in
        self.api = api  # "import" | "atfork": also check forkwatch.cpython's API (api_probe.py)

    def source(self):
        if self.lang == "c":
            return os.path.join(fwtest.FIXTURE_SRC, "c", self.name + ".c")
        return os.path.join(PY, self.name + ".py")

    def command(self, interp, exe=None):
        if self.lang == "c":
            return [os.path.join(fwtest.FIXTURE_BIN, self.name)] + self.args
        return [exe or interp.path, self.source()] + self.args

    def want_lock_kinds(self, interp):
        got = self.lock_kinds
        for v in sorted(self.lock_kinds_from):
            if interp is not None and interp.version[:2] >= v:
                got = self.lock_kinds_from[v]
        return got

    def exists_on(self, interp):
        if interp is None:
            return self.lang == "c"
        return self.min_version <= interp.version[:2] <= self.max_version


class NoDwarf:
    """Copies of the interpreters with libpython's DWARF out of GDB's reach, one per
    interpreter for the whole run (made on first use, removed at the end).

    libpython as a shared library (pyenv): a copy of it without DWARF, first in
    LD_LIBRARY_PATH (the executable's RUNPATH comes after it). libpython linked into the
    executable (Debian's python3.11, whose DWARF is a separate file GDB finds by build-id
    or .gnu_debuglink): a copy of the executable, run with PYTHONHOME=<its prefix> (the
    copy cannot find its stdlib from /tmp). Each copy: `objcopy --strip-debug`, no
    .gnu_debuglink, and its build-id bytes inverted (no debug file has that id).
    `forkwatch attach/core` then find no DWARF for libpython whatever GDB's debug-file
    directory is; each diagnosis must say so (python.layout != "dwarf")."""

    def __init__(self):
        self.lock = threading.Lock()
        self.root = None
        self.made = {}  # interp.path -> (executable, env) or an error string

    def _libpython(self, interp):
        res = subprocess.run(["ldd", interp.path], capture_output=True, text=True, timeout=30)
        for line in res.stdout.splitlines():
            parts = line.split()
            if parts and parts[0].startswith("libpython3.") and "=>" in parts and \
                    parts.index("=>") + 1 < len(parts):
                path = parts[parts.index("=>") + 1]
                if os.path.isfile(path):
                    return path
        return None

    @staticmethod
    def _change_build_id(path):
        """Inverts the bytes of the ELF file's GNU build-id in place (-> the new id, hex), so
        that no debug file is found by it. (Removing the note instead would renumber the
        sections under .dynsym's section indexes and lose even the exported names.)"""
        with open(path, "r+b") as f:
            data = bytearray(f.read())
            check(data[:4] == b"\x7fELF" and data[4] == 2 and data[5] == 1,
                  "%s: not a 64-bit little-endian ELF file" % path)
            shoff, = struct.unpack_from("<Q", data, 0x28)
            shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3a)
            names_off = struct.unpack_from("<Q", data, shoff + shstrndx * shentsize + 0x18)[0]
            for i in range(shnum):
                hdr = shoff + i * shentsize
                name_idx, = struct.unpack_from("<I", data, hdr)
                end = data.index(b"\0", names_off + name_idx)
                if bytes(data[names_off + name_idx:end]) != b".note.gnu.build-id":
                    continue
                off, = struct.unpack_from("<Q", data, hdr + 0x18)
                namesz, descsz, ntype = struct.unpack_from("<III", data, off)
                desc = off + 12 + ((namesz + 3) & ~3)
                check(ntype == 3 and 0 < descsz <= 64, "%s: odd build-id note" % path)
                for j in range(desc, desc + descsz):
                    data[j] ^= 0xFF
                f.seek(0)
                f.write(data)
                return bytes(data[desc:desc + descsz]).hex()
        return None

    def _make(self, interp):
        if self.root is None:
            self.root = tempfile.mkdtemp(prefix="fw-shapes-nodwarf-")
            fwtest.RUN_TREES.add(self.root)
        d = os.path.join(self.root, interp.label)
        os.mkdir(d)
        lib = self._libpython(interp)
        drop = ["--remove-section", ".gnu_debuglink"]
        if lib:
            out = os.path.join(d, os.path.basename(lib))
            cmd = ["objcopy", "--strip-debug"] + drop + [lib, out]
            exe, env = interp.path, {"LD_LIBRARY_PATH": d}
        else:
            out = exe = os.path.join(d, os.path.basename(interp.path))
            cmd = ["objcopy", "--strip-debug"] + drop + [os.path.realpath(interp.path), out]
            prefix = os.path.dirname(os.path.dirname(os.path.realpath(interp.path)))
            env = {"PYTHONHOME": prefix}
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if res.returncode != 0:
            return "%s: %s" % (" ".join(cmd[:2]), res.stderr.strip()[-300:])
        os.chmod(out, 0o755)
        self._change_build_id(out)
        # the copy must still run this interpreter, and carry no DWARF any more
        probe = subprocess.run([exe, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
                               capture_output=True, text=True, timeout=30,
                               env=fwtest.clean_env(env))
        if probe.stdout.strip() != interp.version_string:
            return "the copy in %s does not run: %r %s" % (d, probe.stdout, probe.stderr[-300:])
        sections = subprocess.run(["readelf", "-S", "-W", out], capture_output=True, text=True,
                                  timeout=30).stdout
        if re.search(r"\.debug_info|\.gnu_debuglink", sections):
            return "%s still carries debug sections or a debug link" % out
        return exe, env

    def get(self, interp):
        """-> (executable, extra env) running `interp` without libpython's DWARF."""
        with self.lock:
            if interp.path not in self.made:
                try:
                    self.made[interp.path] = self._make(interp)
                except (OSError, subprocess.SubprocessError) as e:
                    self.made[interp.path] = "cannot make a copy without DWARF: %s" % e
            got = self.made[interp.path]
        check(not isinstance(got, str), got)
        return got

    def cleanup(self):
        if self.root:
            shutil.rmtree(self.root, ignore_errors=True)
            fwtest.RUN_TREES.discard(self.root)


NODWARF = NoDwarf()


LIB_GIL = {"FIXTURE_LIB": os.path.join(fwtest.FIXTURE_BIN, "libshape_gilfork.so")}

SHAPES = [
    Shape("shape_gil_raw_fork", "gil-held-across-fork", {"gil"},
          r"waits for the GIL, which is held by thread (\d+|\?) \(GilHolder\) that vanished in fork",
          holder_name="GilHolder", waiter_marker="FW-CHILD-WAIT", env=LIB_GIL,
          run_status=86, agent_holder_name="GilHolder"),
    Shape("shape_stdout_full_pipe", "fork-deadlock", {"io.buffered"},
          r"io\.buffered \(sys\.stdout\.buffer\) .*(left behind by fork|vanished)",
          summary_not_re=r"shutdown",  # a print() in the child's Python code, not its exit
          waiter_marker="FW-CHILD-WAIT", agent_holder_name="Printer", run_status=86),
    Shape("shape_stdout_full_pipe", "fork-deadlock", {"io.buffered"},
          r"io\.buffered \(sys\.stdout\.buffer\) .*left behind by fork.*interpreter's shutdown",
          agent_holder_name="Printer", run_status=86, args=["exit"]),
    Shape("shape_join_vanished", "fork-deadlock", {"threading.Lock", "semaphore"},
          r"joins a thread that does not exist in this process \(thread (\d+ \()?Worker\)?\).*"
          r"threading\._shutdown", holder_name="Worker", run_status=86,
          # 3.13 joins a thread on its handle's PyEvent, not its tstate lock: threading._shutdown
          # -> _thread._shutdown -> ThreadHandle_join -> PyEvent_WaitTimed(&handle->thread_is_exiting)
          # (Modules/_threadmodule.c, gh-114271), a parking-lot wait with no lock object
          lock_kinds_from={(3, 13): {"pyevent"}},
          run_max_version=(3, 12)),  # 3.13 joins through a PyEvent the agent does not see
    Shape("shape_executor_vanished", "fork-deadlock", {"threading.Lock", "semaphore"},
          r"waits on a condition .*that only threads lost in the fork would signal",
          waiter_marker="FW-CHILD-WAIT"),
    Shape("shape_import_lock", "fork-deadlock", {"threading.Lock", "semaphore"},
          r"import lock of module 'shape_import_slow_mod' .*taken by thread .*vanished in fork",
          agent_holder_name="Importer", waiter_marker="FW-CHILD-WAIT", api="import",
          agent_name_max_version=(3, 12)),
    Shape("shape_mp_fork_worker", "fork-deadlock", {"threading.Lock", "semaphore"},
          r"(held across fork|left behind by fork)", agent_holder_name="Holder",
          waiter_marker="FW-CHILD-WAIT", run_status=86,
          # select.poll().poll() sleeps in poll, in ppoll on 3.15 (Modules/selectmodule.c
          # select_poll_poll_impl calls ppoll() where the platform has it: 3.15.2's DWARF
          # puts the call at selectmodule.c:704, inlined from bits/poll2.h)
          tree={"parent": "no-deadlock"}, parent_waits_in=("poll", "ppoll"),
          parent_summary_re=r"child process \d+ \(thread \d+ \(MainThread\) waits for it\) is stuck: "
                            r".*(held across fork|left behind by fork)"),
    Shape("shape_mp_pool_replace", "fork-deadlock", {"threading.Lock", "semaphore"},
          r"(held across fork|left behind by fork)", agent_holder_name="MainThread",
          waiter_marker="FW-CHILD-WAIT", run_status=86, run_timeout=8,
          tree={"parent": "no-deadlock"}, parent_waits_in="futex",
          parent_summary_re=r"child process \d+ \(.*waits for it\) is stuck: .*(held across|left behind)"),
    Shape("shape_preexec_lock", "fork-deadlock", {"threading.Lock", "semaphore"},
          r"subprocess's preexec_fn in the forked child, which never reaches exec",
          agent_holder_name="Holder", waiter_marker="FW-CHILD-WAIT", run_status=86,
          tree={"parent": "no-deadlock"}, parent_waits_in="read",
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
          waiter_marker="FW-CHILD-WAIT", run_status=86, api="atfork"),
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
    for d in (doc if isinstance(doc, list) else [doc]):
        fwtest.check_evidence(d)   # every claim backed by the finding's evidence
    return res.returncode, doc


def summaries(doc):
    return [f.get("summary") for f in doc.get("findings") or []]


def want_layout(interp, dwarf):
    """What the diagnosis must say in python.layout: how it read CPython."""
    if dwarf:
        return {"dwarf"}
    return {"_Py_DebugOffsets"} if interp.version[:2] >= (3, 13) else {"tables"}


# lock kinds whose memory names their holder (RLock/_PyRecursiveMutex owner, io.Buffered owner,
# pthread __owner, the GIL's last holder)
OWNER_RECORDING_KINDS = ("threading.RLock", "io.buffered", "pthread_mutex", "pthread_rwlock", "gil")


def check_doc(sh, interp, with_agent, doc, target, source, ctx, events, dwarf=True):
    check(doc.get("schema") == "forkwatch/1", ctx + "schema %r" % doc.get("schema"))
    check(doc.get("pid") == target, ctx + "pid %r != %d" % (doc.get("pid"), target))
    check(doc.get("source") == source, ctx + "source %r" % doc.get("source"))
    check(doc.get("agent") is with_agent, ctx + "agent %r, want %r" % (doc.get("agent"), with_agent))
    if interp is not None:
        py = doc.get("python") or {}
        check(py.get("version") == interp.version_string,
              ctx + "python %r, want %s" % (doc.get("python"), interp.version_string))
        check(py.get("layout") in want_layout(interp, dwarf),
              ctx + "python.layout %r, want %s" % (py.get("layout"), sorted(want_layout(interp, dwarf))))
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
    kinds = sh.want_lock_kinds(interp)
    if kinds:
        check(lock.get("kind") in kinds, ctx + "lock.kind %r, want %s" % (lock.get("kind"), sorted(kinds)))
    if sh.summary_re:
        check(re.search(sh.summary_re, f.get("summary") or ""),
              ctx + "summary %r does not match %r" % (f.get("summary"), sh.summary_re))
    if sh.summary_not_re:
        check(not re.search(sh.summary_not_re, f.get("summary") or ""),
              ctx + "summary %r matches %r" % (f.get("summary"), sh.summary_not_re))
    check(holder.get("alive") is sh.holder_alive, ctx + "holder.alive %r" % holder.get("alive"))
    if source == "core" and lock.get("kind") in OWNER_RECORDING_KINDS and \
            f.get("kind") in ("fork-deadlock", "gil-held-across-fork", "orphaned-lock"):
        # a core is analysed from its own memory only (no parent is consulted): a lock that
        # records its owner still names the holder (issue 19)
        check(holder.get("tid") or holder.get("name") or re.search(r"pthread_t 0x[0-9a-f]+", f.get("summary") or ""),
              ctx + "the core alone does not identify the holder of a %s: %s" % (lock.get("kind"), f.get("summary")))
    want = sh.agent_holder_name if with_agent else sh.holder_name
    if with_agent and interp is not None and interp.version[:2] > sh.agent_name_max_version:
        check(holder.get("tid") == int(events["holder_tid"][0]),
              ctx + "holder.tid %r, want %s" % (holder.get("tid"), events["holder_tid"][0]))
        want = None
    if want and with_agent and holder.get("name") is None and holder.get("tid") is None and \
            interp is not None and tuple(interp.version[:3]) >= (3, 13, 1) and lock.get("kind") == "threading.Lock":
        # A 3.13.1+ Lock is a PyMutex with no owner (Include/cpython/lock.h): with several
        # threads lost in the fork the agent cannot tell which took it, and the finding must
        # say who they were, the holder among them.
        check(re.search(r"one of the threads lost in the fork took it before the fork, .*\b%s \[tid \d+\]"
                        % re.escape(want), f.get("summary") or ""),
              ctx + "ownerless lock: summary %r does not name %r among the lost threads" % (f.get("summary"), want))
    elif want:
        check(holder.get("name") == want, ctx + "holder.name %r, want %r" % (holder.get("name"), want))
    if sh.waiter_marker:
        line = marker_line(sh.source(), sh.waiter_marker)
        check(fwtest.frames_match(waiter.get("python_stack"), sh.waiter_file, line),
              ctx + "waiter python_stack lacks %s:%d: %s"
              % (sh.waiter_file, line, fmt_frames(waiter.get("python_stack"))))


# system call numbers of what a parent may wait in (aarch64 has no poll: ppoll)
SYSCALLS = {"x86_64": {"read": 0, "poll": 7, "ppoll": 271, "futex": 202},
            "aarch64": {"read": 63, "poll": 73, "ppoll": 73, "futex": 98}}


def check_api(sh, interp, target, wd, dwarf):
    """forkwatch.cpython's public API on the hung child, read by tests/shapes/api_probe.py in
    GDB: module_lock_of (import) / at_fork_child_hooks (atfork), and layout_source."""
    out = os.path.join(wd, "api.json")
    res = fwtest.run(["gdb", "-nx", "-q", "-batch", "-iex", "set debuginfod enabled off",
                      "-iex", "set auto-load python-scripts off", "-p", str(target),
                      "-x", os.path.join(HERE, "api_probe.py")], TOOL_BOUND,
                     env=fwtest.clean_env({"FW_GDB_DIR": os.path.join(fwtest.ROOT, "gdb"),
                                           "FW_OUT": out}), cwd=wd)
    check(os.path.exists(out), "api: no output (gdb exit %d): %s" % (res.returncode, res.stderr[-300:]))
    with open(out) as f:
        got = json.load(f)
    check("error" not in got and not got.get("errors"), "api: %s" % got)
    check(got["layout"] in want_layout(interp, dwarf), "api: layout_source %r" % got["layout"])
    main = [t for t in got["threads"] if t["name"] == "MainThread"]
    check(main, "api: no MainThread in %s" % got["threads"])
    main = main[0]
    if sh.api == "import":
        ml = main["module_lock"] or {}
        check(ml.get("module") == "shape_import_slow_mod" and ml.get("waiting") is True and
              ml.get("owner_ident") not in (None, main["ident"]) and ml.get("count") == 1 and
              ml.get("lock_type") in ("threading.Lock", "threading.RLock"),
              "api: module_lock_of(MainThread) = %r" % (main["module_lock"],))
    elif sh.api == "atfork":
        check("child_hook" in [h["name"] for h in got["hooks"]],
              "api: at_fork_child_hooks() = %s" % got["hooks"])
        check(main["in_hook"] == ["child_hook"], "api: MainThread's frames in a hook: %s" % main["in_hook"])
    check(fwtest.tracer_pid(target) == 0, "after the api probe: %d still traced" % target)


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
    if sh.parent_waits_in:
        names = sh.parent_waits_in if isinstance(sh.parent_waits_in, tuple) else (sh.parent_waits_in,)
        table = SYSCALLS.get(os.uname().machine, {})
        nrs = set(table[n] for n in names if n in table)
        fwtest.wait_for("parent %d asleep in %s" % (parent, " or ".join(names)),
                        lambda: fwtest.proc_stat_state(parent) == "S" and
                        (not nrs or fwtest.proc_syscall(parent) in nrs), READY_BOUND)
    return parent, child


def test_diagnose(sh, interp, with_agent, do_core, dwarf=True):
    """dwarf=False: the fixture runs on a copy of the interpreter whose libpython has no
    DWARF (NoDwarf); the diagnoses must say the same, and that they read no DWARF."""
    exe, env = None, {}
    if not dwarf:
        exe, env = NODWARF.get(interp)
        env = dict(env)
    wd = fwtest.workdir("shape-%s-%s" % (sh.name, interp.label if interp else "c"))
    if with_agent:
        env.update(agent_env(wd))
    env.update(sh.env)
    if sh.ready == "child_paused":
        env["FIXTURE_CHILD_PAUSE"] = "1"
    started = fwtest.start(sh.command(interp, exe), wd, env, fixture_timeout=FIXTURE_TIMEOUT)
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
            check_doc(sh, interp, with_agent, by_pid[child], child, "live", "tree child: ", started.events(),
                      dwarf)
            pd = by_pid[parent]
            check(pd.get("verdict") == sh.tree["parent"], "tree parent: verdict %r, want %r: %s"
                  % (pd.get("verdict"), sh.tree["parent"], summaries(pd)))
            if interp is not None:
                layout = (pd.get("python") or {}).get("layout")
                check(layout in want_layout(interp, dwarf), "tree parent: python.layout %r, want %s"
                      % (layout, sorted(want_layout(interp, dwarf))))
            if sh.parent_summary_re:
                text = " ".join(summaries(pd)) + " " + (pd.get("summary") or "")
                check(re.search(sh.parent_summary_re, text),
                      "tree parent: %r does not match %r" % (text, sh.parent_summary_re))
        rc, doc = analyse(["attach", "--json", str(target)], wd)
        check_doc(sh, interp, with_agent, doc, target, "live", "live: ", started.events(), dwarf)
        check(rc == (0 if sh.verdict == "no-deadlock" else 1), "live: exit status %d" % rc)
        check(fwtest.tracer_pid(target) == 0, "after attach: %d still traced" % target)
        if sh.api and not with_agent:
            check_api(sh, interp, target, wd, dwarf)
        if do_core:
            prefix = os.path.join(wd, "core")
            res = fwtest.run(["gcore", "-o", prefix, str(target)], TOOL_BOUND, cwd=wd)
            core = "%s.%d" % (prefix, target)
            check(res.returncode == 0 and os.path.exists(core),
                  "gcore failed (%d): %s" % (res.returncode, res.stderr.strip()[-300:]))
            rc, doc = analyse(["core", "--json", core], wd)
            os.unlink(core)
            check_doc(sh, interp, with_agent, doc, target, "core", "core: ", started.events(), dwarf)
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
                holder = dl[0].get("holder") or {}
                if holder.get("tid") == 0 and holder.get("name") == "":
                    # An ownerless PyMutex lock (3.13.1+): the holder is among the threads
                    # lost in the fork, which the event lists with their names.
                    names = [t.get("name") for t in dl[0].get("lost_threads") or []]
                    check(sh.agent_holder_name in names, "ownerless lock: lost_threads %r lack %r"
                          % (names, sh.agent_holder_name))
                else:
                    check(holder.get("name") == sh.agent_holder_name,
                          "event holder %r, want %r" % (holder, sh.agent_holder_name))
    finally:
        fwtest.remove_tree(wd)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="python3.11 (Debian) and 3.12 only")
    ap.add_argument("--shape", action="append", help="only this shape (repeatable)")
    ap.add_argument("--jobs", type=int, default=int(os.environ.get("FORKWATCH_TEST_JOBS", "2")))
    ap.add_argument("--no-core", action="store_true", help="live diagnoses only")
    ap.add_argument("--no-agent", action="store_true", help="without the agent only")
    ap.add_argument("--dwarf", choices=("both", "with", "without"), default="both",
                    help="run the Python shapes with libpython's DWARF, without it, or both")
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
            if interp is not None and opts.dwarf != "with":
                # libpython's DWARF hidden: without the agent only (it does not change how
                # libpython is read), live and from a core
                cases.append(("shapes/%s/no-dwarf" % tag, test_diagnose,
                              (sh, interp, False, not opts.no_core, False)))
            if interp is not None and opts.dwarf == "without":
                continue
            cases.append(("shapes/%s/no-agent" % tag, test_diagnose, (sh, interp, False, not opts.no_core)))
            if sh.agent and not opts.no_agent:
                cases.append(("shapes/%s/agent-warn" % tag, test_diagnose,
                              (sh, interp, True, not opts.no_core)))
            if sh.run_status is not None and not opts.no_agent and \
                    (interp is None or interp.version[:2] <= sh.run_max_version):
                cases.append(("shapes/%s/run" % tag, test_run, (sh, interp)))
    try:
        runner.run(cases, jobs=max(1, min(2, opts.jobs)))
    finally:
        NODWARF.cleanup()
    return runner.finish()


if __name__ == "__main__":
    sys.exit(main())
