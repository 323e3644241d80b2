#!/usr/bin/env python3
"""Seed corpus for the registry-decoder fuzzer: real registries dumped from live processes
running under build/libforkwatch.so (several shapes), compacted, plus a few damaged ones.

  python3 tests/fuzz/make_seeds.py OUTDIR

A real registry is ~3.3 MB, almost all of it empty table slots. Compacting keeps the header
and the first entries of every table (the used ones, up to a bound), laid out back to back
with the header's descriptors (offset, capacity, used) and total_size rewritten to match: the
entries themselves are byte-for-byte what the agent wrote. Every wait is bounded and every
process started is killed by its PID."""
import os
import signal
import struct
import subprocess
import sys
import tempfile
import time

ROOT = os.path.realpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "gdb"))
from forkwatch import agent_registry as ar  # noqa: E402

BUILD = os.path.join(ROOT, "build")
AGENT = os.path.join(BUILD, "libforkwatch.so")
TABLES = ["threads", "stacks", "forks", "fork_held", "py_threads", "py_frames", "modules"]
KEEP_MAX = {"threads": 8, "stacks": 8, "forks": 4, "fork_held": 8, "py_threads": 6, "py_frames": 24,
            "modules": 6}


def registry_offset():
    out = subprocess.run(["nm", "-D", AGENT], capture_output=True, text=True, timeout=30).stdout
    for line in out.splitlines():
        f = line.split()
        if len(f) == 3 and f[2] == ar.SYMBOL:
            return int(f[0], 16)
    raise SystemExit("make_seeds: %s has no %s" % (AGENT, ar.SYMBOL))


def dump(pid, sym_off):
    """Raw registry of a live process, read through /proc/PID/mem (no GDB, no ptrace stop)."""
    base = None
    real_agent = os.path.realpath(AGENT)
    with open("/proc/%d/maps" % pid) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 6 and os.path.realpath(parts[5]) == real_agent and int(parts[2], 16) == 0:
                base = int(parts[0].split("-")[0], 16)
                break
    if base is None:
        raise RuntimeError("agent not mapped in %d" % pid)
    addr = base + sym_off
    with open("/proc/%d/mem" % pid, "rb") as mem:
        mem.seek(addr)
        head = mem.read(ar.HEADER_SIZE)
        total = struct.unpack_from("<Q", head, 16)[0]
        mem.seek(addr)
        return mem.read(total)


def compact(raw):
    hdr = bytearray(raw[:ar.HEADER_SIZE])
    out = bytearray()
    off = ar.HEADER_SIZE
    for t in TABLES:
        o, es, cap, used = struct.unpack_from("<IIII", raw, ar.HEADER[t])
        keep = max(1, min(used, KEEP_MAX[t]))
        out += raw[o:o + keep * es]
        struct.pack_into("<IIII", hdr, ar.HEADER[t], off, es, keep, min(used, keep))
        off += keep * es
    struct.pack_into("<Q", hdr, 16, off)
    if struct.unpack_from("<I", hdr, 76)[0] > 0:
        struct.pack_into("<I", hdr, 76, struct.unpack_from("<I", hdr, ar.HEADER["fork_held"] + 12)[0])
    return bytes(hdr) + bytes(out)


def wait_key(path, key, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            with open(path) as f:
                for line in f:
                    if line.startswith(key + "="):
                        return line.strip().split("=", 1)[1]
        except OSError:
            pass
        time.sleep(0.05)
    return None


def blocked(pid, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            with open("/proc/%d/syscall" % pid) as f:
                if f.read().split()[0] == "202":
                    return True
        except (OSError, IndexError):
            pass
        time.sleep(0.05)
    return False


SHAPES = [
    # (name, argv, env, which process to dump: "child" or "parent")
    ("c_mutex_child", [os.path.join(BUILD, "fixtures", "mutex_held_at_fork")], {}, "child"),
    ("c_mutex_parent", [os.path.join(BUILD, "fixtures", "mutex_held_at_fork")], {}, "parent"),
    ("c_rwlock_child", [os.path.join(BUILD, "fixtures", "rwlock_write_held_at_fork")], {}, "child"),
    ("py_lock_child", ["/usr/bin/python3.11", os.path.join(ROOT, "fixtures", "python", "lock_held_at_fork.py")],
     {}, "child"),
    ("py_wub_child", ["/usr/bin/python3.11", os.path.join(ROOT, "fixtures", "python", "wub_machine.py")], {},
     "child"),
    ("py_clib_child", ["/usr/bin/python3.11", os.path.join(ROOT, "fixtures", "python", "clib_mutex_at_fork.py")],
     {"FIXTURE_LIB": os.path.join(BUILD, "fixtures", "libheldmutex.so")}, "child"),
]


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "tests", "fuzz", "seeds")
    os.makedirs(outdir, exist_ok=True)
    sym = registry_offset()
    made = 0
    for name, argv, extra, which in SHAPES:
        tmp = tempfile.mkdtemp(prefix="fwseed.")
        ev = os.path.join(tmp, "events")
        env = dict(os.environ, FIXTURE_EVENTS=ev, FIXTURE_TIMEOUT="30", LD_PRELOAD=AGENT,
                   FORKWATCH_ON_DEADLOCK="warn", FORKWATCH_QUIET="1",
                   PYTHONPATH=os.path.join(ROOT, "fixtures", "python"), **extra)
        env.pop("PYTHONUNBUFFERED", None)
        p = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        child = None
        try:
            c = wait_key(ev, "child_pid", 30)
            child = int(c) if c else None
            if child is None or wait_key(ev, "child_blocking", 30) is None or not blocked(child, 10):
                print("make_seeds: %s: fixture did not hang in time, skipped" % name)
                continue
            raw = dump(child if which == "child" else p.pid, sym)
            seed = compact(raw)
            r = ar.decode_bytes(seed)
            if not r.valid or r.notes:
                print("make_seeds: %s: compacted registry does not decode cleanly: %s" % (name, r.notes))
                continue
            with open(os.path.join(outdir, "real_" + name), "wb") as f:
                f.write(seed)
            made += 1
            print("make_seeds: %s: %d bytes (%d threads, %d fork_held, %d py_threads)"
                  % (name, len(seed), len(r.threads), len(r.fork_held), len(r.py_threads)))
        except (OSError, RuntimeError, ValueError) as e:
            print("make_seeds: %s: %s" % (name, e))
        finally:
            for pid in (child, p.pid):
                if pid:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
            subprocess.run(["rm", "-rf", tmp], timeout=30)
    # a few damaged ones, derived from the first real seed
    real = sorted(f for f in os.listdir(outdir) if f.startswith("real_"))
    if real:
        with open(os.path.join(outdir, real[0]), "rb") as f:
            good = f.read()
        damaged = {
            "dmg_magic": b"XXXXXXXX" + good[8:],
            "dmg_truncated_header": good[:100],
            "dmg_truncated_tables": good[:ar.HEADER_SIZE + 700],
            "dmg_used_huge": _patch(good, ar.HEADER["threads"] + 12, "<I", 0xFFFFFFFF),
            "dmg_offset_outside": _patch(good, ar.HEADER["fork_held"], "<I", 0xFFFFFF00),
            "dmg_entry_small": _patch(good, ar.HEADER["forks"] + 4, "<I", 3),
            "dmg_total_huge": _patch(good, 16, "<Q", 1 << 40),
            "dmg_version": _patch(good, 8, "<I", 7),
        }
        for n, data in damaged.items():
            with open(os.path.join(outdir, n), "wb") as f:
                f.write(data)
            made += 1
    print("make_seeds: %d seeds in %s" % (made, outdir))
    return 0 if real else 1


def _patch(data, off, fmt, value):
    b = bytearray(data)
    struct.pack_into(fmt, b, off, value)
    return bytes(b)


if __name__ == "__main__":
    sys.exit(main())
