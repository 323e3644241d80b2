"""A process that hangs on purpose, for tests/gdb_cpython (bounded: exits after 120 s).

Thread "Holder" takes an RLock (twice), a Lock and a handler's RLock, then waits.
Thread "Waiter" blocks acquiring the Lock the Holder has.  With argv[2] == "fork",
the main thread then forks: the child blocks on the same Lock (its holder vanished).
With "rawfork", the main thread forks from C (a SIGUSR1 handler that is fork()) while
the Spinner holds the GIL: the child hangs in take_gil.  Otherwise thread "Spinner" runs Python code (and holds the GIL) until killed.
Writes KEY=VALUE lines to argv[1]; lines marked "# MARK:name" are the expected lines.
"""
import os
import sys
import threading

events = sys.argv[1]
mode = sys.argv[2] if len(sys.argv) > 2 else "plain"


def note(**kw):
    with open(events, "a") as f:
        for k, v in kw.items():
            f.write("%s=%s\n" % (k, v))


class Handler:
    def __init__(self):
        self.lock = threading.RLock()
        self.name = "handler-\u00e9"


rl = threading.RLock()
lk = threading.Lock()
handler = Handler()
held = threading.Event()
stop = threading.Event()


def holder_body(h):
    with rl:
        with rl:
            h.lock.acquire()
            lk.acquire()
            held.set()
            stop.wait(120)  # MARK:holder_wait


def waiter_body():
    held.wait(30)
    note(waiter_ident=threading.get_ident())
    lk.acquire(timeout=120)  # MARK:waiter_acquire


def spinner_body():
    n = 0
    while not stop.is_set():  # MARK:spin1
        n += 1  # MARK:spin2


holder = threading.Thread(target=holder_body, args=(handler,), name="Holder", daemon=True)
holder.start()
held.wait(30)
waiter = threading.Thread(target=waiter_body, name="Waiter-\u00fc", daemon=True)
waiter.start()
note(rlock_id=id(rl), lock_id=id(lk), handler_lock_id=id(handler.lock),
     holder_ident=holder.ident, main_ident=threading.get_ident())
if mode == "fork":
    pid = os.fork()
    if pid == 0:
        note(child_pid=os.getpid(), child_blocking=1)
        lk.acquire(timeout=120)  # MARK:child_acquire
        os._exit(0)
    note(ready=1)
    os.waitpid(pid, 0)
elif mode == "stdout":
    # "Printer" blocks writing to a full pipe holding sys.stdout.buffer's lock; the main
    # thread's print() then waits for that lock.
    r, w = os.pipe()
    os.dup2(w, 1)

    def printer_body():
        note(printer_ident=threading.get_ident())
        sys.stdout.write("x" * 1000000)
        sys.stdout.flush()  # MARK:printer_flush

    printer = threading.Thread(target=printer_body, name="Printer", daemon=True)
    printer.start()
    note(stdout_buffer_id=id(sys.stdout.buffer))
    import array, fcntl, termios
    for _ in range(1000):  # bounded: until the pipe is full (the printer blocked in write)
        n = array.array("i", [0])
        fcntl.ioctl(r, termios.FIONREAD, n)
        if n[0] >= 65536:
            break
        stop.wait(0.01)
    note(ready=1)
    print("y" * 10, flush=True)  # MARK:main_print
elif mode == "import":
    # "Importer" is inside the body of a slow module (holding importlib's module lock);
    # the main thread imports the same module and waits for that lock.
    moddir = os.path.dirname(os.path.abspath(events))
    with open(os.path.join(moddir, "fw_slowmod.py"), "w") as f:
        f.write("import sys, threading, _frozen_importlib as b\n"
                "m = sys.modules['__main__']\n"
                "ml = b._module_locks['fw_slowmod']()\n"
                "m.note(importer_ident=threading.get_ident(), modlock_id=id(ml),\n"
                "       modlock_wakeup_id=id(ml.wakeup))\n"
                "m.held.set()\n"
                "m.stop.wait(120)\n")
    sys.path.insert(0, moddir)
    held.clear()

    def importer_body():
        import fw_slowmod  # noqa: F401  MARK:importer_import

    importer = threading.Thread(target=importer_body, name="Importer", daemon=True)
    importer.start()
    held.wait(30)
    note(ready=1)
    import fw_slowmod  # noqa: F401,E402  MARK:main_import
elif mode == "rawfork":
    # A fork from C while another thread holds the GIL, made deterministic: SIGUSR1's
    # C-level handler is fork() itself.  Main blocks in a lock acquire (GIL released);
    # the Spinner (holding the GIL, which nobody asks for) sends SIGUSR1 to main, whose
    # handler forks.  The child's main thread then waits in take_gil for ever.
    import ctypes
    import signal as sigmod
    import time

    libc = ctypes.CDLL(None)
    libc.signal.restype = ctypes.c_void_p
    libc.signal.argtypes = [ctypes.c_int, ctypes.c_void_p]
    libc.signal(sigmod.SIGUSR1, ctypes.cast(libc.fork, ctypes.c_void_p).value)
    main_ident = threading.get_ident()
    blocker = threading.Lock()
    blocker.acquire()

    def find_child():
        me = str(os.getpid())
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    with open("/proc/%s/stat" % d) as f:
                        fields = f.read().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if fields[1] == me:
                    return int(d)
        return None

    main_native = threading.get_native_id()
    about_to_block = []

    # the blocker's sem_t (lockobject.lock_lock, 3.8-3.13.0): main is in futex(2) on it
    blocker_sem = ctypes.c_void_p.from_address(id(blocker) + 16).value

    def main_is_blocked():
        """main sleeps in futex(2) on the blocker's semaphore: no GIL, no libc lock held."""
        if not about_to_block:
            return False
        try:
            with open("/proc/self/task/%d/syscall" % main_native) as f:
                fields = f.read().split()
            return fields[0] == "202" and int(fields[1], 16) == blocker_sem
        except (OSError, IndexError, ValueError):
            return False

    def raw_spinner_body():
        note(spinner_ident=threading.get_ident())
        for _ in range(400):  # bounded: until main is blocked past the line below
            if main_is_blocked():
                break
            stop.wait(0.05)
        sigmod.pthread_kill(main_ident, sigmod.SIGUSR1)
        child = None
        for _ in range(40):  # bounded: 20 s
            end = time.monotonic() + 0.5
            while time.monotonic() < end:  # MARK:raw_spin (the GIL stays held)
                pass
            child = find_child()
            if child:
                break
        note(child_pid=child or 0, child_blocking=1, ready=1)
        stop.wait(120)

    spinner = threading.Thread(target=raw_spinner_body, name="Spinner", daemon=True)
    spinner.start()
    about_to_block.append(1); blocker.acquire(timeout=120)  # noqa: E702  MARK:rawfork
else:
    spinner = threading.Thread(target=spinner_body, name="Spinner", daemon=True)
    spinner.start()
    note(spinner_ident=spinner.ident)
    note(ready=1)
    waiter.join(120)  # MARK:main_join
