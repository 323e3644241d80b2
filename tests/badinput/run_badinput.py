#!/usr/bin/env python3
"""Issue 6 §4 (bad input) and one §5 row (the extension never runs code in the debugged
process), end to end through build/forkwatch and GDB.

Every check asserts: the documented exit status (DESIGN §2: 0 no deadlock, 1 a finding,
2 usage, 3 could not analyse), no Python traceback or exception text anywhere, stderr made
only of `forkwatch: ...` lines (one line for an error), stdout valid JSON when a verdict is
given, damage named in `notes` (a partial verdict), and a time bound (every forkwatch run has
--timeout and an outer bound; every wait polls with a deadline; every process started is
killed by its PID). Cores are made with gcore from hung fixtures, then copied and damaged
(seeded: FW_BADINPUT_SEED, default 6).

  python3 tests/badinput/run_badinput.py [-k SUBSTRING]     ends with "N passed, N failed"
"""
import json
import os
import random
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.realpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
import fwtest as T  # noqa: E402

BUILD = T.BUILD
FW = T.FORKWATCH
AGENT = T.AGENT
# Debian's own interpreter: python3.11 on this host (Debian 12), the root's python3.13 (its
# first) inside the matrix's Debian roots.
_DEBIAN = [i for i in T.interpreters() if i.is_debian]
PY311 = _DEBIAN[0].path if _DEBIAN else "/usr/bin/python3"
PY311_LABEL = ("%d.%d (Debian)" % _DEBIAN[0].version[:2]) if _DEBIAN else "python3 (Debian)"
SEED = int(os.environ.get("FW_BADINPUT_SEED", "6"))
CORE_TIMEOUT = 60      # forkwatch --timeout for each run
OUTER = CORE_TIMEOUT + 30
TRACEBACK_RE = re.compile(r"Traceback \(most recent call last\)|^\s*File \".*\", line \d+|"
                          r"\b(?:[A-Z]\w*Error|Exception): ", re.M)

PASS = []
FAIL = []
STARTED = []   # Popen objects / pids to kill at the end
TMP = tempfile.mkdtemp(prefix="fwbadinput.")
FILTER = None


def ok(name):
    PASS.append(name)
    print("ok   - " + name, flush=True)


def nok(name, detail=""):
    FAIL.append(name)
    print("FAIL - " + name, flush=True)
    for line in str(detail).splitlines()[:25]:
        print("       " + line[:300])


def check(name, cond, detail=""):
    (ok if cond else nok)(name, *(() if cond else (detail,)))
    return cond


# ---------------------------------------------------------------- running forkwatch

class Result:
    def __init__(self, rc, out, err, secs):
        self.rc, self.out, self.err, self.secs = rc, out, err, secs
        self.json = None
        try:
            self.json = json.loads(out) if out.strip() else None
        except ValueError:
            self.json = None

    def detail(self):
        return "rc %s in %.1fs\n--- stderr:\n%s\n--- stdout:\n%s" % (self.rc, self.secs, self.err[-1500:],
                                                                   self.out[:1500])


def forkwatch(args, timeout=CORE_TIMEOUT, user=None, outer=None):
    cmd = [FW] + args
    if "--timeout" not in args and args and args[0] in ("attach", "core"):
        cmd += ["--timeout", str(timeout)]
    if user is not None:
        cmd = ["setpriv", "--reuid=%d" % user, "--regid=%d" % user, "--clear-groups", "--"] + cmd
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                         env=T.clean_env(), text=True, errors="replace")
    return collect(p, t0, outer or (timeout + 30))


def collect(p, t0, bound):
    """The Result of forkwatch process p started at t0; killed by PID (rc "HANG") after bound s."""
    try:
        out, err = p.communicate(timeout=bound)
    except subprocess.TimeoutExpired:
        T.kill_pid(p.pid)
        out, err = p.communicate(timeout=30)
        return Result("HANG", out, err, time.monotonic() - t0)
    return Result(p.returncode, out, err, time.monotonic() - t0)


def clean_output(r):
    """'' if r has no traceback/exception text and only 'forkwatch:' lines on stderr."""
    for text, where in ((r.err, "stderr"), (r.out, "stdout")):
        m = TRACEBACK_RE.search(text)
        if m:
            return "%s has Python exception text: %r" % (where, m.group(0))
    bad = [l for l in r.err.splitlines() if l.strip() and not l.startswith("forkwatch:")]
    if bad:
        return "stderr line not from forkwatch: %r" % bad[0]
    return ""


def expect_error(name, r, pattern=None, max_secs=None):
    """rc 3, exactly one stderr line (forkwatch: ...), nothing on stdout, pattern in it."""
    why = clean_output(r)
    lines = [l for l in r.err.splitlines() if l.strip()]
    if not why and r.rc != 3:
        why = "exit status %s, expected 3" % r.rc
    if not why and len(lines) != 1:
        why = "%d stderr lines, expected one" % len(lines)
    if not why and r.out.strip():
        why = "stdout not empty"
    if not why and pattern and not re.search(pattern, lines[0]):
        why = "error line does not match %r" % pattern
    if not why and max_secs and r.secs > max_secs:
        why = "took %.1fs (bound %ds)" % (r.secs, max_secs)
    return check(name + (" [%s]" % lines[0][:110] if lines and not why else ""), not why,
                 why + "\n" + r.detail())


def expect_verdict(name, r, verdicts=None, notes_re=None, extra=None):
    """rc 0/1 matching the verdict, valid JSON, clean stderr; optional verdict set, a note
    matching notes_re (the partial mark), extra(d) -> '' or why."""
    why = clean_output(r)
    d = r.json
    if not why and r.rc not in (0, 1):
        why = "exit status %s, expected 0/1 with a verdict" % r.rc
    if not why and not isinstance(d, dict):
        why = "stdout is not one JSON object"
    if not why and (d.get("verdict") == "no-deadlock") != (r.rc == 0):
        why = "exit status %s does not match verdict %s" % (r.rc, d.get("verdict"))
    if not why and verdicts and d.get("verdict") not in verdicts:
        why = "verdict %s, expected one of %s" % (d.get("verdict"), verdicts)
    if not why and notes_re and not any(re.search(notes_re, n) for n in d.get("notes", [])):
        why = "no note matching %r (partial verdict not marked): %s" % (notes_re, d.get("notes"))
    if not why and extra:
        why = extra(d) or ""
    v = d.get("verdict") if isinstance(d, dict) else None
    return check("%s [rc %s, %s, %.1fs]" % (name, r.rc, v, r.secs), not why, why + "\n" + r.detail())


def gdb_batch(pyfile_or_cmds, timeout=OUTER, user=None, extra_env=None):
    """GDB with the package, for checks below the CLI. Returns Result."""
    cmd = ["gdb", "-nx", "-q", "-batch", "-iex", "set debuginfod enabled off",
           "-iex", "set auto-load python-scripts off",
           "-ex", "source %s/gdb/forkwatch-gdb.py" % ROOT] + pyfile_or_cmds
    if user is not None:
        cmd = ["setpriv", "--reuid=%d" % user, "--regid=%d" % user, "--clear-groups", "--"] + cmd
    env = T.clean_env(extra_env)
    t0 = time.monotonic()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=timeout, env=env,
                           stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        return Result("HANG", e.stdout or "", e.stderr or "", time.monotonic() - t0)
    return Result(p.returncode, p.stdout, p.stderr, time.monotonic() - t0)


# ---------------------------------------------------------------- processes

def start(cmd, env_extra=None, fixture_timeout=120):
    wd = tempfile.mkdtemp(dir=TMP)
    st = T.start(cmd, wd, env_extra=env_extra, fixture_timeout=fixture_timeout)
    STARTED.append(st)
    return st


def stop(st):
    try:
        for k in ("child_pid", "parent_pid"):
            for v in st.events().get(k, []):
                T.kill_pid(int(v))
    except (OSError, ValueError):
        pass
    T.kill_pid(st.popen.pid)
    try:
        st.popen.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass


def hung_child(st, timeout=30):
    ev = T.wait_events(st.events_path, ["child_pid", "child_blocking"], timeout)
    child = int(ev["child_pid"][0])
    T.wait_for("child %d blocked in futex" % child, lambda: T.blocked_in_futex(child), 15)
    return child


def gcore(pid, path):
    r = T.run(["gcore", "-o", path, str(pid)], timeout=90)
    core = "%s.%d" % (path, pid)
    if r.returncode != 0 or not os.path.isfile(core):
        raise RuntimeError("gcore %d failed: %s" % (pid, r.stderr[-400:]))
    return core


def load_segments(core):
    with open(core, "rb") as f:
        eh = f.read(64)
        phoff, = struct.unpack_from("<Q", eh, 32)
        phentsize, phnum = struct.unpack_from("<HH", eh, 54)
        f.seek(phoff)
        ph = f.read(phentsize * phnum)
    segs = []
    for i in range(phnum):
        p_type, _fl, off, vaddr, _pa, filesz = struct.unpack_from("<IIQQQQ", ph, i * phentsize)
        if p_type == 1 and filesz:
            segs.append((vaddr, vaddr + filesz, off))
    return segs


def vaddr_to_off(segs, addr):
    for lo, hi, off in segs:
        if lo <= addr < hi:
            return off + addr - lo
    return None


def damaged_copy(core, name, patches):
    """Copy of core with patches [(file offset, bytes)] applied."""
    out = os.path.join(TMP, name)
    shutil.copyfile(core, out)
    with open(out, "r+b") as f:
        for off, data in patches:
            f.seek(off)
            f.write(data)
    keep = os.environ.get("FW_BADINPUT_KEEP")  # a directory: keep every damaged core there
    if keep:
        KEPT.append(os.path.join(keep, "%02d-%s" % (len(KEPT), name)))
        shutil.copyfile(out, KEPT[-1])
    return out


KEPT = []


def registry_address(pid):
    sym = None
    r = T.run(["nm", "-D", AGENT], timeout=30)
    for line in r.stdout.splitlines():
        f = line.split()
        if len(f) == 3 and f[2] == "forkwatch_registry":
            sym = int(f[0], 16)
    real = os.path.realpath(AGENT)
    with open("/proc/%d/maps" % pid) as f:
        for line in f:
            p = line.split()
            if len(p) >= 6 and os.path.realpath(p[5]) == real and int(p[2], 16) == 0:
                return int(p[0].split("-")[0], 16) + sym
    raise RuntimeError("agent not mapped in %d" % pid)


def selected(name):
    return FILTER is None or FILTER in name


# ---------------------------------------------------------------- (a) registry damage

def case_registry():
    exe = os.path.join(BUILD, "fixtures", "mutex_held_at_fork")
    st = start([exe], {"LD_PRELOAD": AGENT, "FORKWATCH_ON_DEADLOCK": "warn", "FORKWATCH_QUIET": "1"})
    try:
        child = hung_child(st)
        reg = registry_address(child)
        core = gcore(child, os.path.join(TMP, "core-agent"))
    finally:
        stop(st)
    segs = load_segments(core)
    base = vaddr_to_off(segs, reg)
    if base is None:
        return nok("registry: forkwatch_registry 0x%x not in the core's PT_LOAD segments" % reg)
    with open(core, "rb") as f:
        f.seek(base)
        hdr = f.read(208)
    desc = {}
    for i, t in enumerate(["threads", "stacks", "forks", "fork_held", "py_threads", "py_frames", "modules"]):
        desc[t] = struct.unpack_from("<IIII", hdr, 96 + 16 * i)
    r = forkwatch(["core", "--json", core, "--exe", exe])
    expect_verdict("registry: intact agent core is diagnosed from the registry", r, ["fork-deadlock"],
                   extra=lambda d: "" if d.get("agent") and d["findings"][0]["holder"].get("source") == "agent"
                   else "holder not taken from the registry: %s" % d["findings"][0].get("holder"))
    rnd = random.Random(SEED)
    th, fh = desc["threads"], desc["fork_held"]
    u32 = lambda v: struct.pack("<I", v)  # noqa: E731
    variants = [
        ("magic zeroed", [(base, b"\0" * 8)], r"registry damaged: bad magic"),
        ("layout version 99", [(base + 8, u32(99))], r"layout version 99"),
        ("total_size 2^40", [(base + 16, struct.pack("<Q", 1 << 40))], r"registry damaged: total_size"),
        ("threads table offset outside", [(base + 96, u32(0xFFFFFFF0))], r"registry damaged: threads table"),
        ("fork_held used 2^32-1", [(base + 144 + 12, u32(0xFFFFFFFF))], r"registry damaged: fork_held used"),
        ("threads entry_size 0", [(base + 96 + 4, u32(0))], r"registry damaged: threads entry_size"),
        ("header descriptors randomised",
         [(base + 96, bytes(rnd.getrandbits(8) for _ in range(112)))], r"registry damaged"),
        ("thread entries randomised",
         [(base + th[0], bytes(rnd.getrandbits(8) for _ in range(2 * th[1])))], None),
        ("fork_held entry: garbage slot/stack/py_thread ids, hostile strings",
         [(base + fh[0] + 16, struct.pack("<IiIIiI", 99, -7, 0xFFFFFFFF, 0xFFFFFFFF, 0x7FFFFFFF, 1)),
          (base + fh[0] + 48, b"\x1b[31m\xff\"\\\n\x01" + b"A" * 7),
          (base + fh[0] + 64, b"\x1b]0;pwn\x07\xc3\x28" + b"\xfe" * 56)], None),
        ("1% of the first 64 KiB flipped",
         [(base + o, bytes([rnd.getrandbits(8)])) for o in sorted(rnd.sample(range(65536), 655))], None),
    ]
    # seeded sweeps: 48 random bytes anywhere in the header and the used entries of each table
    used_ranges = [(0, 208)] + [(d[0], d[0] + max(1, d[3]) * d[1]) for d in desc.values() if d[3] or d is th]
    for k in range(int(os.environ.get("FW_BADINPUT_SWEEPS", "6"))):
        pos = []
        for _ in range(48):
            lo, hi = rnd.choice(used_ranges)
            pos.append(rnd.randrange(lo, max(lo + 1, hi)))
        variants.append(("sweep %d: 48 random bytes in the header and used entries" % k,
                         [(base + o, bytes([rnd.getrandbits(8)])) for o in pos], None))
    for name, patches, note in variants:
        bad = damaged_copy(core, "core-reg", patches)

        def extra(d):
            text = json.dumps(d)
            if "\x1b" in text or "\x07" in text:
                return "raw control character in the JSON"
            return ""
        r = forkwatch(["core", "--json", bad, "--exe", exe])
        expect_verdict("registry: %s" % name, r, ["fork-deadlock"], note, extra)
        if name.startswith("fork_held"):
            r = forkwatch(["core", bad, "--exe", exe])
            why = clean_output(r) or ("" if r.rc == 1 and "\x1b" not in r.out and "\x07" not in r.out
                                      else "rc %s or raw control byte in the text report" % r.rc)
            check("registry: hostile strings in the text report are escaped", not why, why + "\n" + r.detail())
    os.unlink(os.path.join(TMP, "core-reg"))
    return core, exe


# ---------------------------------------------------------------- (b) CPython structures

PARTIAL_PY_RE = r"(?i)python (state|analysis|stack|frames?|threads?).*(could not|unreadable|damaged|unavailable)|" \
    r"C-level analysis only|damaged|could not be read|partial analysis"

ADDR_SCRIPT = r'''
import json, sys
sys.path.insert(0, "%(root)s/gdb")
from forkwatch import cpython
p = cpython.inspect_process()
out = {"runtime": p.runtime, "threads": []}
for t in p.threads():
    out["interp"] = t.interp
    out["threads"].append({"tstate": t.tstate, "frames": [[f.address, f.code] for f in t.frames]})
print("ADDRS=" + json.dumps(out))
'''


def _partial_check(baseline):
    def partial(d):
        # another verdict than the intact core's is allowed only when marked partial
        if d["verdict"] == baseline:
            return ""
        if any(re.search(PARTIAL_PY_RE, n) for n in d.get("notes", [])):
            return ""
        return "verdict %s (intact: %s) without a note saying the Python state was damaged: notes %s" % (
            d["verdict"], baseline, d.get("notes"))
    return partial


def case_cpython(py=PY311, label=PY311_LABEL, only=None):
    fx = os.path.join(ROOT, "fixtures", "python", "lock_held_at_fork.py")
    st = start([py, fx], {"PYTHONPATH": os.path.join(ROOT, "fixtures", "python")})
    try:
        child = hung_child(st)
        core = gcore(child, os.path.join(TMP, "core-py"))
    finally:
        stop(st)
    # the parent is gone (killed): no live evidence of the fork; the core alone
    r = forkwatch(["core", "--json", core, "--exe", py])
    expect_verdict("cpython %s: intact Python core" % label, r, ["fork-deadlock", "deadlock"],
                   extra=lambda d: "" if d["findings"][0]["lock"]["kind"] == "threading.Lock" and
                   d["findings"][0]["waiter"]["python_stack"] and not d["notes"]
                   else "lock kind %s, notes %s" % (d["findings"][0]["lock"]["kind"], d["notes"]))
    baseline = r.json.get("verdict") if isinstance(r.json, dict) else None
    script = os.path.join(TMP, "addrs.py")
    with open(script, "w") as f:
        f.write(ADDR_SCRIPT % {"root": ROOT})
    g = gdb_batch(["-ex", "file " + py, "-ex", "core-file " + core, "-x", script])
    m = re.search(r"^ADDRS=(.*)$", g.out, re.M)
    if not m:
        return nok("cpython %s: addresses of the runtime's structures" % label, g.detail())
    a = json.loads(m.group(1))
    segs = load_segments(core)
    rnd = random.Random(SEED + 1)
    t0 = a["threads"][0]
    frames = [fr for t in a["threads"] for fr in t["frames"]]
    ptrs = b"\xef\xbe\xad\xde\xef\xbe\xad\xde"
    targets = [
        ("_Py_DebugOffsets randomised, cookie kept", a["runtime"] + 8, bytes(rnd.getrandbits(8) for _ in range(400))),
        ("_PyRuntime: first 256 bytes randomised", a["runtime"], bytes(rnd.getrandbits(8) for _ in range(256))),
        ("interpreter state: pointers to 0xdeadbeef", a.get("interp"), ptrs * 32),
        ("thread state zeroed", t0["tstate"], b"\0" * 256),
        ("thread state: pointers to 0xdeadbeef", t0["tstate"], ptrs * 32),
        ("innermost frame randomised", frames[0][0] if frames else None,
         bytes(rnd.getrandbits(8) for _ in range(80))),
        ("frame chain: previous pointers form a loop", frames[0][0] if frames else None, None),
        ("code object randomised (names, line table, counts)", frames[0][1] if frames else None,
         bytes(rnd.getrandbits(8) for _ in range(160))),
        ("code object: header kept, every other field 0xff", frames[-1][1] if frames else None,
         b"\xff" * 160),
    ]
    # seeded sweeps: 24 random bytes over the thread state, the frames and the code objects
    spots = [(t0["tstate"], 256)] + [(fr[0], 80) for fr in frames] + [(fr[1], 160) for fr in frames]
    for k in range(int(os.environ.get("FW_BADINPUT_SWEEPS", "6")) // 2):
        picks = [rnd.choice(spots) for _ in range(24)]
        targets.append(("sweep %d: 24 random bytes over thread state, frames, code" % k, None,
                        [(a0 + rnd.randrange(n), bytes([rnd.getrandbits(8)])) for a0, n in picks]))
    for name, addr, data in targets:
        if (only and not any(name.startswith(o) for o in only)) or (not only and name.startswith("_Py_Debug")):
            continue
        if name.startswith("sweep"):
            patches = [(vaddr_to_off(segs, a0), b) for a0, b in data]
            if None in [p[0] for p in patches]:
                nok("cpython: %s: address not in the core" % name)
                continue
            r = forkwatch(["core", "--json", damaged_copy(core, "core-pyd", patches), "--exe", py])
            expect_verdict("cpython %s: %s" % (label, name), r, None, extra=_partial_check(baseline))
            continue
        off = vaddr_to_off(segs, addr) if addr else None
        if off is None:
            nok("cpython: %s: address not in the core" % name)
            continue
        if data is None:  # loop: every 8-byte word of the frame that looks like a frame pointer -> itself
            with open(core, "rb") as f:
                f.seek(off)
                raw = f.read(80)
            frame_addrs = {fr[0] for fr in frames}
            patches = [(off + i, struct.pack("<Q", addr)) for i in range(0, 80, 8)
                       if struct.unpack_from("<Q", raw, i)[0] in frame_addrs]
            if not patches:
                nok("cpython: %s: no frame pointer found" % name)
                continue
        elif name.startswith("code object: header kept"):
            patches = [(off + 16, data[16:])]
        else:
            patches = [(off, data)]
        bad = damaged_copy(core, "core-pyd", patches)
        r = forkwatch(["core", "--json", bad, "--exe", py])
        expect_verdict("cpython %s: %s" % (label, name), r, None, extra=_partial_check(baseline))
    if os.path.exists(os.path.join(TMP, "core-pyd")):
        os.unlink(os.path.join(TMP, "core-pyd"))
    return core


# ---------------------------------------------------------------- (c) truncated / damaged ELF

def case_truncated(core, exe):
    size = os.path.getsize(core)
    for n in (0, 10, 63, 64 + 56 * 2, size // 3, size - 4096, size - 1):
        bad = os.path.join(TMP, "trunc")
        with open(core, "rb") as src, open(bad, "wb") as dst:
            dst.write(src.read(n))
        r = forkwatch(["core", bad, "--exe", exe])
        expect_error("truncated core at %d of %d bytes" % (n, size), r,
                     r"truncated|not a core|not an ELF|no usable program headers", 10)
    with open(core, "rb") as f:
        eh = f.read(64)
    patches = {
        "e_phoff beyond the file": [(32, struct.pack("<Q", 1 << 50))],
        "e_phnum 65535 (PN_XNUM) without section headers": [(56, struct.pack("<H", 0xFFFF)),
                                                              (40, struct.pack("<Q", 0))],
        "e_phentsize 7": [(54, struct.pack("<H", 7))],
        "e_type ET_EXEC": [(16, struct.pack("<H", 2))],
        "EI_CLASS 32-bit": [(4, b"\x01")],
        "EI_DATA big-endian": [(5, b"\x02")],
    }
    for name, p in patches.items():
        r = forkwatch(["core", damaged_copy(core, "elfd", p), "--exe", exe])
        expect_error("damaged ELF header: " + name, r, None, 10)
    # PT_NOTE garbage: the executable cannot be named from NT_FILE; with --exe it is analysed
    phoff, = struct.unpack_from("<Q", eh, 32)
    phentsize, phnum = struct.unpack_from("<HH", eh, 54)
    with open(core, "rb") as f:
        f.seek(phoff)
        ph = f.read(phentsize * phnum)
    for i in range(phnum):
        p_type, _fl, off, _va, _pa, filesz = struct.unpack_from("<IIQQQQ", ph, i * phentsize)
        if p_type == 4:
            rnd = random.Random(SEED + 2)
            bad = damaged_copy(core, "noted", [(off, bytes(rnd.getrandbits(8) for _ in range(min(filesz, 4096))))])
            r = forkwatch(["core", bad])
            expect_error("PT_NOTE randomised, no --exe: one line asking for --exe", r, r"--exe", 10)
            r = forkwatch(["core", "--json", bad, "--exe", exe])
            why = clean_output(r)
            check("PT_NOTE randomised, with --exe: a verdict or one error line [rc %s, %.1fs]" % (r.rc, r.secs),
                  not why and (r.rc in (0, 1) and isinstance(r.json, dict) or
                               r.rc == 3 and len(r.err.splitlines()) == 1), why + "\n" + r.detail())
            break
    # not regular files: a FIFO (must not block the open), a directory, a device; a FIFO as --exe
    fifo = os.path.join(TMP, "fifo")
    os.mkfifo(fifo)
    for name, args in (("a FIFO as the core", ["core", fifo, "--exe", exe]), ("a FIFO, no --exe", ["core", fifo]),
                       ("a directory as the core", ["core", TMP]), ("/dev/zero as the core", ["core", "/dev/zero"]),
                       ("a FIFO as --exe", ["core", core, "--exe", fifo])):
        expect_error("core check: %s" % name, forkwatch(args, outer=20), r"not a regular file", 10)
    r = gdb_batch(["-ex", "forkwatch batch core %s --exe %s" % (fifo, exe), "-ex", "quit 3"], timeout=30)
    expect_error("GDB package: batch core of a FIFO", r, r"not a regular file", 25)
    os.unlink(fifo)
    # awkward paths: spaces, quotes, backslash, $( ) work; a newline or ESC gets one escaped line
    odd = os.path.join(TMP, 'core "q" \\ $(x) sp')
    odd_exe = os.path.join(TMP, 'exe "q" \\ sp')
    os.symlink(core, odd)
    shutil.copyfile(exe, odd_exe)
    os.chmod(odd_exe, 0o755)
    expect_verdict("core and --exe at paths with spaces, quotes, backslash, $()",
                   forkwatch(["core", "--json", odd, "--exe", odd_exe]), ["fork-deadlock"])
    nl = os.path.join(TMP, "core\nline2 \x1b[31mred")
    os.symlink(core, nl)
    r = forkwatch(["core", nl, "--exe", exe])
    if expect_error("core path with a newline and ESC: one line", r, r"control character", 10):
        check("  ... and the path in it is escaped (no raw ESC)", "\x1b" not in r.err and "\\x1b" in r.err, r.err)
    for f in (odd, odd_exe, nl):
        os.unlink(f)
    for f in ("trunc", "elfd", "noted"):
        if os.path.exists(os.path.join(TMP, f)):
            os.unlink(os.path.join(TMP, f))


# ---------------------------------------------------------------- (d) wrong executable

WRONG_EXE_RE = r"^forkwatch: executable .* did not dump core .*: .*(build-id|ELF header|auxiliary vector)"


def case_wrong_exe(core, py_core):
    """Issue 19: a core read with the wrong executable gave GDB's "may not match" warning, then
    NO-DEADLOCK and exit 0 (a false all-clear). Now: exit 3, one line naming the core, the
    executable and what differs (build-id, ELF header or auxiliary vector), nothing on stdout."""
    r = forkwatch(["core", "--json", core, "--exe", "/bin/ls"])
    expect_error("core of a C program with --exe /bin/ls: refused", r, WRONG_EXE_RE, 30)
    for other in ("/bin/sleep", os.path.join(BUILD, "fixtures", "mutex_held_at_fork")):
        for fmt in (["--json"], []):
            r = forkwatch(["core"] + fmt + [py_core, "--exe", other])
            expect_error("Python core (%s) with --exe %s%s: refused" % (PY311_LABEL, os.path.basename(other),
                                                                      " --json" if fmt else ""),
                         r, WRONG_EXE_RE, 30)
    # another CPython (another minor version, or another build of the same one): refused too
    others = [i.path for i in T.interpreters()
              if os.path.realpath(i.path) != os.path.realpath(PY311)]
    if others:
        r = forkwatch(["core", "--json", py_core, "--exe", others[0]])
        expect_error("Python core (%s) with --exe %s (another interpreter): refused" % (PY311_LABEL, others[0]),
                     r, WRONG_EXE_RE, 30)
    # the right one, by a path the core does not record (a symlink elsewhere): the verdict
    link = os.path.join(TMP, "the-interpreter")
    os.symlink(os.path.realpath(PY311), link)
    r = forkwatch(["core", "--json", py_core, "--exe", link])
    expect_verdict("Python core with the right --exe by another path: the verdict", r,
                   ["fork-deadlock", "deadlock", "blocked-forever"])
    os.unlink(link)
    # a core of another program (sleep), found by itself: no deadlock
    p = subprocess.Popen(["sleep", "120"])
    STARTED.append(p)
    T.wait_for("sleep in nanosleep", lambda: T.proc_stat_state(p.pid) == "S", 10)
    c = gcore(p.pid, os.path.join(TMP, "core-sleep"))
    T.kill_pid(p.pid)
    p.wait(timeout=10)
    r = forkwatch(["core", "--json", c])
    expect_verdict("core of another program (sleep): no-deadlock", r, ["no-deadlock"])
    r = forkwatch(["core", "--json", c, "--exe", PY311])
    expect_error("core of sleep with --exe %s: refused" % PY311, r, WRONG_EXE_RE, 30)
    os.unlink(c)


# ---------------------------------------------------------------- (e) PIDs

def case_pids():
    # exits while we attach: killed (by PID) as soon as GDB is tracing it
    rnd = random.Random(SEED + 3)
    # where the kill lands varies (seeded); the assertion is the same wherever it lands
    for when in ("as forkwatch starts", "once GDB traces it", "while GDB reads it",
                 "%.2fs after GDB stopped it" % rnd.uniform(0.05, 0.8),
                 "%.2fs after GDB stopped it" % rnd.uniform(0.05, 0.8)):
        p = subprocess.Popen([PY311, "-c", "import threading,time\n"
                              "ev=threading.Event()\n"
                              "ts=[threading.Thread(target=ev.wait) for _ in range(8)]\n"
                              "[t.start() for t in ts]\nprint('ready',flush=True)\nev.wait()"],
                             stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
        STARTED.append(p)
        p.stdout.readline()
        t0 = time.monotonic()
        fwp = subprocess.Popen([FW, "attach", "--json", "--timeout", "60", str(p.pid)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=T.clean_env(), stdin=subprocess.DEVNULL)
        try:
            if when != "as forkwatch starts":
                T.wait_for("GDB tracing %d" % p.pid, lambda: T.tracer_pid(p.pid) or fwp.poll() is not None, 30)
            if when not in ("as forkwatch starts", "once GDB traces it"):
                T.wait_for("GDB stopped %d" % p.pid, lambda: T.proc_stat_state(p.pid) in ("t", "T") or
                           fwp.poll() is not None, 30)
        except T.Timeout:
            pass
        if when.endswith("after GDB stopped it"):
            time.sleep(float(when.split("s ")[0]))
        T.kill_pid(p.pid)
        r = collect(fwp, t0, 90)
        p.wait(timeout=10)
        why = clean_output(r)
        if not why and r.rc == 3:
            why = "" if len([l for l in r.err.splitlines() if l.strip()]) == 1 else "not one error line"
        elif not why and r.rc in (0, 1):
            why = "" if isinstance(r.json, dict) else "a verdict without JSON"
        elif not why:
            why = "exit status %s" % r.rc
        check("PID killed %s: one error line or a verdict, bounded [rc %s, %.1fs]" % (when, r.rc, r.secs),
              not why and r.secs < 70, why + "\n" + r.detail())
    # a process exiting on its own while forkwatch runs
    rp, wp = os.pipe()
    p = subprocess.Popen([PY311, "-c", "import os,sys\nos.read(%d, 1)\n" % rp], pass_fds=(rp,),
                         stdin=subprocess.DEVNULL)
    STARTED.append(p)
    os.close(rp)
    fwp = subprocess.Popen([FW, "attach", "--timeout", "60", str(p.pid)], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, env=T.clean_env(), stdin=subprocess.DEVNULL)
    try:
        T.wait_for("GDB tracing", lambda: T.tracer_pid(p.pid) or fwp.poll() is not None, 30)
    except T.Timeout:
        pass
    os.write(wp, b"x")  # the target exits by itself as soon as it runs again
    os.close(wp)
    t0 = time.monotonic()
    r = collect(fwp, t0, 90)
    try:
        p.wait(timeout=30)
    except subprocess.TimeoutExpired:
        T.kill_pid(p.pid)
    why = clean_output(r)
    check("PID that asks to exit (pipe) once GDB traces it: clean result [rc %s]" % r.rc,
          not why and r.rc in (0, 1, 3), why + "\n" + r.detail())

    # not ours to trace: forkwatch as nobody against a root process, and PID 1
    p = subprocess.Popen(["sleep", "120"])
    STARTED.append(p)
    T.wait_for("sleep started", lambda: T.proc_stat_state(p.pid) == "S", 10)
    if not _nobody_can_run():
        print("skip - checks as another user (not root, or nobody cannot run %s and gdb/)" % FW)
        _traced_and_zombie(p)
        return
    r = forkwatch(["attach", str(p.pid)], user=65534)
    expect_error("attach as another user (nobody -> root's PID)", r, r"not permitted", 10)
    r = forkwatch(["attach", "1"], user=65534)
    expect_error("attach to PID 1 as nobody", r, r"not permitted", 10)
    # the package's own check (no CLI pre-check): GDB as nobody
    r = gdb_batch(["-ex", "forkwatch batch attach %d" % p.pid, "-ex", "quit 3"], timeout=60, user=65534)
    expect_error("GDB package as nobody: batch attach to root's PID", r, r"not permitted|cannot attach", 30)
    # PR_SET_DUMPABLE 0 + another uid
    q = subprocess.Popen(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--", PY311, "-c",
                          "import ctypes,sys\nctypes.CDLL(None).prctl(4, 0, 0, 0, 0)\n"
                          "print('ready', flush=True)\nsys.stdin.read()"],
                         stdout=subprocess.PIPE, stdin=subprocess.PIPE, text=True)
    STARTED.append(q)
    q.stdout.readline()
    qpid = [int(x) for x in open("/proc/%d/task/%d/children" % (q.pid, q.pid)).read().split()] or [q.pid]
    r = forkwatch(["attach", str(qpid[0])], user=65534)
    expect_error("attach to a non-dumpable process of the same uid", r, r"not permitted.*not dumpable", 10)
    T.kill_pid(qpid[0])
    T.kill_pid(q.pid)
    q.wait(timeout=10)
    _traced_and_zombie(p)


def _nobody_can_run():
    if os.geteuid() != 0:
        return False
    r = T.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--", "sh", "-c",
               'test -x "$1" && test -r "$2"', "sh", FW, os.path.join(ROOT, "gdb", "forkwatch-gdb.py")], timeout=30)
    return r.returncode == 0


def _traced_and_zombie(p):
    # already traced by another tracer (PTRACE_SEIZE from a helper, blocked on stdin)
    tr = subprocess.Popen([PY311, "-c", "import ctypes,sys\nr=ctypes.CDLL(None).ptrace(0x4206, %d, 0, 0)\n"
                           "print('traced' if r == 0 else 'failed', flush=True)\nsys.stdin.read()" % p.pid],
                          stdout=subprocess.PIPE, stdin=subprocess.PIPE, text=True)
    STARTED.append(tr)
    if tr.stdout.readline().strip() == "traced":
        r = forkwatch(["attach", str(p.pid)])
        expect_error("attach to a process already traced", r, r"already being traced", 10)
        r = gdb_batch(["-ex", "forkwatch batch attach %d" % p.pid, "-ex", "quit 3"], timeout=60)
        expect_error("GDB package: batch attach to a process already traced", r, r"already traced", 30)
    else:
        nok("could not PTRACE_SEIZE the sleep process for the already-traced check")
    T.kill_pid(tr.pid)
    T.kill_pid(p.pid)
    # a zombie: child of a parent that does not reap it
    z = subprocess.Popen([PY311, "-c", "import os,sys\npid=os.fork()\n"
                          "if pid == 0: os._exit(0)\nprint(pid, flush=True)\nsys.stdin.read()"],
                         stdout=subprocess.PIPE, stdin=subprocess.PIPE, text=True)
    STARTED.append(z)
    zpid = int(z.stdout.readline())
    T.wait_for("zombie", lambda: T.proc_stat_state(zpid) == "Z", 10)
    r = forkwatch(["attach", str(zpid)])
    expect_error("attach to a zombie", r, r"zombie|exited", 10)
    r = gdb_batch(["-ex", "forkwatch batch attach %d" % zpid, "-ex", "quit 3"], timeout=60)
    expect_error("GDB package: batch attach to a zombie", r, r"zombie", 30)
    T.kill_pid(z.pid)
    for pp in (p, tr, z):
        try:
            pp.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass


# ---------------------------------------------------------------- (f) garbage in lock words

def case_garbage_locks():
    exe = os.path.join(TMP, "garbage_locks")
    cc = T.run(["cc", "-std=c11", "-D_GNU_SOURCE", "-O1", "-g", "-pthread", "-Wall", "-Wextra", "-Werror",
                "-o", exe, os.path.join(HERE, "progs", "garbage_locks.c")], timeout=120)
    if cc.returncode != 0:
        return nok("compile garbage_locks.c", cc.stderr)
    st = start([exe], fixture_timeout=120)
    names = ["MutexBig", "MutexNeg", "MutexSelf", "Robust", "Rwlock", "Sem", "Main"]
    try:
        ev = T.wait_events(st.events_path, ["%s_lock" % n for n in names], 20)
        pid = st.popen.pid
        tids = {n: int(ev["%s_tid" % n][0]) for n in names}
        locks = {n: int(ev["%s_lock" % n][0], 16) for n in names}
        T.wait_for("every thread in futex", lambda: all(T.blocked_in_futex(pid, t) for t in tids.values()), 15)

        def extra(d):
            by_tid = {t["tid"]: t for t in d["threads"]}
            for n, t in tids.items():
                if by_tid.get(t, {}).get("state") != "blocked-on-lock":
                    return "thread %s (%d) state %s" % (n, t, by_tid.get(t, {}).get("state"))
            f_self = [f for f in d["findings"] if int(f["lock"]["address"], 16) == locks["MutexSelf"]]
            if not f_self or f_self[0]["kind"] != "deadlock":
                return "the mutex 'held' by its own waiter is not a deadlock finding"
            for f in d["findings"]:
                if int(f["lock"]["address"], 16) not in locks.values():
                    return "finding on an address no thread waits on: %s" % f["lock"]
                h = f.get("holder") or {}
                if isinstance(h.get("tid"), int) and h["tid"] <= 0:
                    return "holder with a non-positive TID: %s" % h
            return ""
        r = forkwatch(["attach", "--json", str(pid)])
        expect_verdict("garbage lock words, live: every waiter blocked-on-lock, self-wait is a deadlock", r,
                       ["deadlock"], extra=extra)
        r = forkwatch(["attach", str(pid)])
        why = clean_output(r)
        check("garbage lock words, live, text report [rc %s]" % r.rc, not why and r.rc == 1, why + r.detail())
        core = gcore(pid, os.path.join(TMP, "core-gl"))
    finally:
        stop(st)
    r = forkwatch(["core", "--json", core, "--exe", exe])
    expect_verdict("garbage lock words, core", r, ["deadlock"], extra=extra)
    os.unlink(core)


# ---------------------------------------------------------------- registry mid-update (live)

def case_busy():
    """Attach to a process whose registry the agent rewrites at every instant (8 threads
    taking random mutexes in one global order, a rwlock, a semaphore): entries caught
    mid-update must never give a finding (no deadlock is possible) nor an error."""
    exe = os.path.join(TMP, "busy_locks")
    cc = T.run(["cc", "-std=c11", "-D_GNU_SOURCE", "-O1", "-g", "-pthread", "-Wall", "-Wextra", "-Werror",
                "-o", exe, os.path.join(HERE, "progs", "busy_locks.c")], timeout=120)
    if cc.returncode != 0:
        return nok("compile busy_locks.c", cc.stderr)
    st = start([exe], {"LD_PRELOAD": AGENT, "FORKWATCH_QUIET": "1"}, fixture_timeout=120)
    try:
        T.wait_events(st.events_path, ["ready"], 20)
        for i in range(4):
            r = forkwatch(["attach", "--json", str(st.popen.pid)])
            expect_verdict("registry mid-update, live attach %d: no-deadlock from the agent" % (i + 1), r,
                           ["no-deadlock"], extra=lambda d: "" if d.get("agent") else "agent not seen")
        core = gcore(st.popen.pid, os.path.join(TMP, "core-busy"))
    finally:
        stop(st)
    expect_verdict("registry mid-update, core", forkwatch(["core", "--json", core, "--exe", exe]), ["no-deadlock"])
    os.unlink(core)


# ---------------------------------------------------------------- §5: no code run in the inferior

NOCALL_SCRIPT = r'''
import gdb, json
calls, writes = [], []
gdb.events.inferior_call.connect(lambda ev: calls.append(type(ev).__name__))
gdb.events.memory_changed.connect(lambda ev: writes.append(hex(int(ev.address))))
bp_before = len(gdb.breakpoints() or ())
%(load)s
out = gdb.execute("forkwatch diagnose --json", to_string=True)
gdb.execute("forkwatch threads", to_string=True)
gdb.execute("forkwatch locks", to_string=True)
gdb.execute("forkwatch forks", to_string=True)
gdb.execute("bt", to_string=True)
d = json.loads(out)
print("NOCALL=" + json.dumps({"calls": calls, "writes": writes, "verdict": d["verdict"],
      "breakpoints": len(gdb.breakpoints() or ()) - bp_before}))
%(unload)s
'''


def nocall_run(name, load, unload, want_verdict):
    script = os.path.join(TMP, "nocall.py")
    with open(script, "w") as f:
        f.write(NOCALL_SCRIPT % {"load": load, "unload": unload})
    g = gdb_batch(["-x", script], timeout=OUTER)
    m = re.search(r"^NOCALL=(.*)$", g.out, re.M)
    if not m:
        return nok("no inferior call: %s: no result" % name, g.detail())
    d = json.loads(m.group(1))
    check("no inferior call, no memory write, no breakpoint: %s (verdict %s)" % (name, d["verdict"]),
          not d["calls"] and not d["writes"] and d["breakpoints"] == 0 and d["verdict"] == want_verdict,
          json.dumps(d))


def case_nocall(agent_core, agent_exe):
    fx = os.path.join(ROOT, "fixtures", "python", "lock_held_at_fork.py")
    st = start([PY311, fx], {"PYTHONPATH": os.path.join(ROOT, "fixtures", "python"), "LD_PRELOAD": AGENT,
                             "FORKWATCH_ON_DEADLOCK": "warn", "FORKWATCH_QUIET": "1"})
    try:
        child = hung_child(st)
        nocall_run("live Python child under the agent",
                   'gdb.execute("attach %d", to_string=True)' % child, 'gdb.execute("detach", to_string=True)',
                   "fork-deadlock")
    finally:
        stop(st)
    nocall_run("core of the agent C fixture",
               'gdb.execute("file %s", to_string=True)\ngdb.execute("core-file %s", to_string=True)'
               % (agent_exe, agent_core), "", "fork-deadlock")
    # the check itself works: an inferior call is seen (a call of getpid() in the live process).
    # The call itself may fail: gdb 13 on kernels/CPUs with AMX state (seen with 6.18) cannot
    # write the extended register state back ("Couldn't write extended state status: Bad
    # address"); the inferior_call event has fired by then, and that is what is checked here.
    p = subprocess.Popen(["sleep", "120"])
    STARTED.append(p)
    T.wait_for("sleep started", lambda: T.proc_stat_state(p.pid) == "S", 10)
    script = os.path.join(TMP, "selftest.py")
    with open(script, "w") as f:
        f.write("import gdb\ncalls=[]\ngdb.events.inferior_call.connect(lambda ev: calls.append(1))\n"
                "gdb.execute('attach %d', to_string=True)\n"
                "try:\n    gdb.parse_and_eval('((int (*)(void)) getpid)()')\n"
                "except gdb.error as e:\n    print('CALL FAILED: %%s' %% e)\n"
                "print('SELFTEST=%%d' %% len(calls))\ngdb.execute('detach', to_string=True)\n" % p.pid)
    g = gdb_batch(["-x", script], timeout=60)
    check("self-test: the inferior_call handler sees a real call", "SELFTEST=2" in g.out or "SELFTEST=1" in g.out,
          g.detail())
    T.kill_pid(p.pid)
    p.wait(timeout=10)


STATIC_ALLOWED_CMDS = {"info", "set", "show", "help", "quit", "attach", "detach", "file", "core-file"}


def case_static():
    """Static: gdb/forkwatch never builds a GDB command or expression that calls a function."""
    import ast
    problems = []
    call_re = re.compile(r"\b(?!sizeof\b)[A-Za-z_]\w*\s*\(")
    for dirpath, _dirs, files in os.walk(os.path.join(ROOT, "gdb")):
        for fn in files:
            if not fn.endswith(".py"):
                continue
            path = os.path.join(dirpath, fn)
            rel = os.path.relpath(path, ROOT)
            tree = ast.parse(open(path, encoding="utf-8").read(), path)
            # `for expr in ("...", "..."): gdb.parse_and_eval(expr)`: the loop's literals
            loops = {}
            for node in ast.walk(tree):
                if isinstance(node, ast.For) and isinstance(node.target, ast.Name) and \
                        isinstance(node.iter, (ast.Tuple, ast.List)):
                    loops.setdefault(node.target.id, []).extend(_leading_literal(e) for e in node.iter.elts)
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call):
                    continue
                f = node.func
                fname = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
                if fname in ("call", "dynamic_call"):
                    problems.append("%s:%d: Value.%s" % (rel, node.lineno, fname))
                if fname not in ("execute", "parse_and_eval", "_silently") or not node.args:
                    continue
                arg = node.args[0]
                lits = [_leading_literal(arg)]
                if lits[0] is None and isinstance(arg, ast.Name) and arg.id in loops \
                        and None not in loops[arg.id]:
                    lits = loops[arg.id]
                for lit in lits:
                    _static_one(problems, rel, node, fname, lit, call_re)
    check("static: gdb/ builds no GDB command or expression that calls, assigns or sets a breakpoint",
          not problems, "\n".join(problems))
    # the static check catches what it must: a planted call
    planted = ast.parse('gdb.parse_and_eval("getpid()")\ngdb.execute("call abort()")')
    found = [n for n in ast.walk(planted) if isinstance(n, ast.Call) and getattr(n.func, "attr", "") in
             ("parse_and_eval", "execute")]
    lits = [_leading_literal(n.args[0]) for n in found]
    check("static check self-test: planted calls are recognised",
          call_re.search(lits[0]) and lits[1].split()[0] not in STATIC_ALLOWED_CMDS, str(lits))


def _static_one(problems, rel, node, fname, lit, call_re):
    if lit is None:
        if fname == "_silently" or (rel.endswith("cmd_batch.py") and fname == "execute"):
            return  # cmd_batch's wrappers; their callers are checked as _silently(...)
        problems.append("%s:%d: %s() of a computed string" % (rel, node.lineno, fname))
    elif fname == "parse_and_eval":
        if call_re.search(lit) or re.search(r"(?<![=!<>])=(?!=)|\+\+|--", lit):
            problems.append("%s:%d: parse_and_eval(%r) calls or assigns" % (rel, node.lineno, lit))
    else:
        word = lit.split()[0] if lit.split() else ""
        if word not in STATIC_ALLOWED_CMDS or re.match(r"set\s+(var|variable)\b|set\s+[\$\*\{]", lit):
            problems.append("%s:%d: %s(%r)" % (rel, node.lineno, fname, lit))


def _leading_literal(node):
    import ast
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mod, ast.Add)):
        return _leading_literal(node.left)
    if isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant):
        return node.values[0].value
    return None


def case_replay():
    r = T.run([sys.executable, os.path.join(ROOT, "tests", "fuzz", "replay.py")], timeout=300)
    last = (r.stdout.strip().splitlines() or [""])[-1]
    check("fuzz corpus replay through the registry decoder: %s" % " ".join(r.stdout.splitlines()[-3:-1]),
          r.returncode == 0 and last == "1 passed, 0 failed", r.stdout[-2000:] + r.stderr[-1000:])


# ---------------------------------------------------------------- main

def main():
    global FILTER
    if len(sys.argv) > 2 and sys.argv[1] == "-k":
        FILTER = sys.argv[2]
    T.install_stop_handler()
    t0 = time.monotonic()
    need = [FW, AGENT, os.path.join(BUILD, "fixtures", "mutex_held_at_fork")]
    missing = [p for p in need if not os.path.exists(p)]
    if missing:
        print("FAIL - not built: %s (run make)" % ", ".join(missing))
        print("0 passed, 1 failed")
        return 1
    try:
        steps = [("replay", case_replay), ("static", case_static)]
        for name, fn in steps:
            if selected(name):
                fn()
        agent_core = agent_exe = py_core = None
        if selected("registry") or selected("truncated") or selected("wrong") or selected("nocall"):
            agent_core, agent_exe = case_registry() or (None, None)
        if selected("cpython") or selected("wrong"):
            py_core = case_cpython()
        py313 = os.path.join(T.pyenv_root() or "/nonexistent", "versions", "3.13.0", "bin", "python3.13")
        if selected("cpython") and os.path.exists(py313):
            case_cpython(py313, "3.13.0 (pyenv)", ["_Py_DebugOffsets", "_PyRuntime", "thread state:",
                                                   "innermost frame", "code object randomised"])
        if agent_core and selected("truncated"):
            case_truncated(agent_core, agent_exe)
        if agent_core and py_core and selected("wrong"):
            case_wrong_exe(agent_core, py_core)
        if selected("pids"):
            case_pids()
        if selected("garbage"):
            case_garbage_locks()
        if selected("busy"):
            case_busy()
        if agent_core and selected("nocall"):
            case_nocall(agent_core, agent_exe)
    except Exception as e:  # a harness failure is a failure, with its traceback
        import traceback
        nok("harness error: %s: %s" % (type(e).__name__, e), traceback.format_exc())
    finally:
        for p in STARTED:
            if isinstance(p, subprocess.Popen):
                if p.poll() is None:
                    T.kill_pid(p.pid)
                    try:
                        p.wait(timeout=10)
                    except subprocess.TimeoutExpired:
                        pass
            else:
                stop(p)
        shutil.rmtree(TMP, ignore_errors=True)
    print("badinput: %.0fs" % (time.monotonic() - t0))
    print("%d passed, %d failed" % (len(PASS), len(FAIL)))
    return 1 if FAIL else 0


if __name__ == "__main__":
    sys.exit(main())
