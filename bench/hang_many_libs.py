"""hang_many_libs — a hung fork child with about 90 shared libraries mapped, for the snapshot
bench (issue 20: `forkwatch snapshot` against `gdb -p PID -batch -ex 'thread apply all bt'`).

    python3.11 bench/hang_many_libs.py EVENTS_FILE [TIMEOUT]

The process imports every extension module of its interpreter's lib-dynload (each pulls its
own C libraries: OpenSSL, SQLite, libffi, ncurses, expat, mpdecimal, ...), loads system
libraries with ctypes (in name order, skipping the ones that must not be loaded late:
sanitizer runtimes, malloc replacements, glibc's own) until 90 are mapped, then a "Holder"
thread takes a threading.Lock and the main thread forks; the child acquires that lock and
waits for ever. Events as bench/hang_fork.py's (`child_pid=`, `child_blocking=1`, and
`child_libs=N`, the number of distinct shared objects the child maps). The parent waits for
the child at most TIMEOUT seconds (default 600), then kills it by PID.
"""
import glob
import importlib
import os
import sys
import sysconfig
import threading
import warnings

warnings.filterwarnings("ignore")


def note(path, line):
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


def import_all():
    dynload = os.path.join(sysconfig.get_path("platstdlib"), "lib-dynload")
    suffix = sysconfig.get_config_var("EXT_SUFFIX")
    for path in sorted(glob.glob(os.path.join(dynload, "*" + suffix))):
        name = os.path.basename(path)[:-len(suffix)]
        if name.startswith(("_test", "_xxtest", "xx")):
            continue
        try:
            importlib.import_module(name)
        except Exception:  # a module whose library is absent on this machine: fewer libraries
            pass


# dlopen() after start-up is wrong for these: a sanitizer runtime aborts, a malloc replacement
# would free glibc's blocks, glibc's debugging preloads trace the process.
SKIP = ("libc.", "libc-", "libasan", "libubsan", "libtsan", "liblsan", "libhwasan", "libjemalloc",
        "libtcmalloc", "libmimalloc", "libSegFault", "libmemusage", "libpcprofile", "libforkwatch",
        "libfakeroot", "libeatmydata", "libgtk", "libgdk", "libQt")


def load_system_libs(want):
    import ctypes
    multiarch = sysconfig.get_config_var("MULTIARCH") or ""
    for path in sorted(glob.glob(os.path.join("/usr/lib", multiarch, "lib*.so.[0-9]*"))):
        if mapped_libs() >= want:
            return
        name = os.path.basename(path)
        if name.startswith(SKIP) or not os.path.isfile(path):
            continue
        try:
            ctypes.CDLL(path)
        except OSError:
            pass


def mapped_libs():
    libs = set()
    with open("/proc/self/maps") as f:
        for line in f:
            parts = line.split(None, 5)
            if len(parts) == 6 and ".so" in parts[5]:
                libs.add(parts[5].strip())
    return len(libs)


def main():
    events = sys.argv[1]
    timeout = float(sys.argv[2]) if len(sys.argv) > 2 else 600.0
    import_all()
    load_system_libs(90)
    lock = threading.Lock()
    held = threading.Event()
    release = threading.Event()

    def holder():
        with lock:
            held.set()
            release.wait()

    t = threading.Thread(target=holder, name="Holder")
    t.start()
    held.wait()
    pid = os.fork()
    if pid == 0:
        note(events, "child_libs=%d" % mapped_libs())
        note(events, "child_blocking=1")
        lock.acquire()
        os._exit(0)
    note(events, "child_pid=%d" % pid)
    release.set()
    t.join()
    import time
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done:
            return 0
        time.sleep(0.2)  # the parent's bounded wait for a child that never ends
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    return 124


if __name__ == "__main__":
    sys.exit(main())
