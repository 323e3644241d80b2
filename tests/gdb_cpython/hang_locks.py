"""A process that hangs on purpose, for tests/gdb_cpython (bounded: exits after 120 s).

Thread "Holder" takes an RLock (twice), a Lock and a handler's RLock, then waits.
Thread "Waiter" blocks acquiring the Lock the Holder has.  With argv[2] == "fork",
the main thread then forks: the child blocks on the same Lock (its holder vanished).
With "rawfork", the main thread forks through ctypes.CDLL(None).fork() while the
Spinner holds the GIL: the child hangs in take_gil.  Otherwise thread "Spinner" runs Python code (and holds the GIL) until killed.
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
    # a fork from C with the GIL released: the Spinner holds the GIL at the fork and
    # vanishes; the child waits for the GIL for ever.
    import ctypes
    spinner = threading.Thread(target=spinner_body, name="Spinner", daemon=True)
    spinner.start()
    note(spinner_ident=spinner.ident)
    libc = ctypes.CDLL(None)
    import time
    for attempt in range(30):
        # the Spinner may not have taken the GIL yet when fork() runs: then the child
        # gets it and exits at once; try again (bounded)
        pid = libc.fork()  # MARK:rawfork
        if pid == 0:
            os._exit(3)
        for _ in range(30):  # 1.5 s: a child that got the GIL exits well before, even under load
            time.sleep(0.05)
            done, _status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
        else:
            break
    note(child_pid=pid, child_blocking=1, ready=1)
    stop.wait(120)
else:
    spinner = threading.Thread(target=spinner_body, name="Spinner", daemon=True)
    spinner.start()
    note(spinner_ident=spinner.ident)
    note(ready=1)
    waiter.join(120)  # MARK:main_join
