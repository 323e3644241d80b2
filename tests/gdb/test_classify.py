"""Run inside GDB: native_threads' classification of a thread from its stack and registers,
on fake frames (no inferior). Prints CLASSIFY-OK or CLASSIFY-FAIL lines.

The case that matters (issue 11, point 5): a GIL waiter caught between two of take_gil's
5 ms timed waits is outside any syscall; it must still be 'waiting-for-gil', not 'running'."""
import os
import sys

sys.path.insert(0, os.path.join(os.environ["FW_ROOT"], "gdb"))
from forkwatch import native_threads as nt_mod  # noqa: E402

SYS_FUTEX = nt_mod.SYS_FUTEX
fails = []


class FakeFrame:
    def __init__(self, regs):
        self.regs = regs

    def read_register(self, name):
        if name not in self.regs:
            raise ValueError(name)
        return self.regs[name]


def classify(functions, syscall):
    nt = nt_mod.NativeThread()
    nt.tid = 1
    nt.frames = [nt_mod.Frame(i, 0x1000 + i, f, "/usr/bin/python3") for i, f in enumerate(functions)]
    for f in nt.frames:
        f.gdb_name = None
    regs = {"rdi": 0x5000, "rsi": 0x189, "r10": 0x7000}
    # orig_rax is -1 when the thread is not inside a system call (as GDB reads it).
    regs["orig_rax"] = syscall if syscall is not None else (1 << 64) - 1
    nt_mod._classify(nt, FakeFrame(regs), None)
    return nt


def expect(name, functions, syscall, state, wait_kind):
    nt = classify(functions, syscall)
    got = (nt.state, nt.wait.kind if nt.wait is not None else None)
    if got != (state, wait_kind):
        fails.append("%s: got %r, want %r" % (name, got, (state, wait_kind)))


GIL_STACK = ["take_gil", "PyEval_RestoreThread", "PyEval_SaveThread_caller", "_PyEval_EvalFrameDefault"]
expect("GIL waiter inside its futex wait", ["__futex_abstimed_wait_common", "pthread_cond_timedwait"] + GIL_STACK,
       SYS_FUTEX, "waiting-for-gil", "gil")
expect("GIL waiter between two timed waits (no syscall)", GIL_STACK, None, "waiting-for-gil", "gil")
expect("GIL waiter in pthread_cond_timedwait's user code", ["pthread_cond_timedwait"] + GIL_STACK, None,
       "waiting-for-gil", "gil")
expect("a thread running Python code", ["_PyEval_EvalFrameDefault", "PyEval_EvalCode"], None, "running", None)
expect("a thread in an uncontended mutex lock", ["pthread_mutex_lock", "PyThread_acquire_lock_timed"], None,
       "running", None)

# CPython 3.13+: a parked PyMutex waiter waits for the address kept 8 bytes before the
# semaphore it sleeps on (its struct wait_entry); rdi is that semaphore (0x5000 above).
PARKED = {0x5000 - 8: 0x7F00DEAD0010}
real_read_u64 = nt_mod.memory.read_u64
nt_mod.memory.read_u64 = lambda addr: PARKED[addr] if addr in PARKED else real_read_u64(addr)
PARK = ["__futex_abstimed_wait_common", "do_futex_wait", "__new_sem_wait_slow64", "_PySemaphore_PlatformWait",
        "_PySemaphore_Wait", "_PyParkingLot_Park"]
nt = classify(PARK + ["_PyMutex_LockTimed", "lock_PyThread_acquire_lock", "_PyEval_EvalFrameDefault"], SYS_FUTEX)
if (nt.state, nt.wait.kind, nt.wait.lock_address) != ("blocked-on-lock", "pymutex", 0x7F00DEAD0010):
    fails.append("parked PyMutex waiter: got %r %r 0x%x" % (nt.state, nt.wait.kind, nt.wait.lock_address or 0))
nt = classify(PARK + ["PyEvent_WaitTimed", "ThreadHandle_join", "_PyEval_EvalFrameDefault"], SYS_FUTEX)
if (nt.state, nt.wait.kind, nt.wait.detail) != ("blocked-on-lock", "pyevent", "joining a thread"):
    fails.append("thread join on a PyEvent: got %r %r %r" % (nt.state, nt.wait.kind, nt.wait.detail))
nt = classify(PARK + ["_PyMutex_LockTimed", "take_gil", "PyEval_RestoreThread"], SYS_FUTEX)
if nt.state != "blocked-on-lock" or nt.wait.kind != "pymutex":
    fails.append("PyMutex waiter called from take_gil (3.15 GIL mutex): got %r %r" % (nt.state, nt.wait.kind))

# After a stop (an earlier attach, gcore) a thread resumes a timed futex wait or a sleep
# through restart_syscall (x86-64: 219), with the argument registers of the interrupted
# call: it is classified by its stack as for the original wait, not as "blocked (syscall 219)".
RESTART = 219  # x86-64 __NR_restart_syscall
SEM_STACK = ["__futex_abstimed_wait_common", "__new_sem_wait_slow64", "sem_clockwait",
             "PyThread_acquire_lock_timed", "_PyEval_EvalFrameDefault"]
nt = classify(SEM_STACK, RESTART)
if (nt.state, nt.wait.kind, nt.wait.lock_address, nt.syscall) != ("blocked-on-lock", "semaphore", 0x5000, SYS_FUTEX):
    fails.append("timed sem wait resumed by restart_syscall: got %r %r %r %r"
                 % (nt.state, nt.wait.kind, nt.wait.lock_address, nt.syscall))
expect("GIL waiter resumed by restart_syscall", ["__futex_abstimed_wait_common", "pthread_cond_timedwait"] + GIL_STACK,
       RESTART, "waiting-for-gil", "gil")
nt = classify(PARK + ["_PyMutex_LockTimed", "lock_PyThread_acquire_lock", "_PyEval_EvalFrameDefault"], RESTART)
if (nt.state, nt.wait.kind, nt.wait.lock_address) != ("blocked-on-lock", "pymutex", 0x7F00DEAD0010):
    fails.append("parked PyMutex waiter resumed by restart_syscall: got %r %r" % (nt.state, nt.wait.kind))
nt = classify(["clock_nanosleep", "pysleep", "time_sleep", "_PyEval_EvalFrameDefault"], RESTART)
if (nt.state, nt.wait.kind, nt.wait.detail) != ("sleeping", "syscall", "clock_nanosleep"):
    fails.append("time.sleep resumed by restart_syscall: got %r %r %r" % (nt.state, nt.wait.kind, nt.wait.detail))
nt = classify(["??", "start_thread"], RESTART)
if nt.state != "sleeping" or "restart_syscall" not in (nt.wait.detail or ""):
    fails.append("restart_syscall with an unknown stack: got %r %r" % (nt.state, nt.wait and nt.wait.detail))

if fails:
    for f in fails:
        print("CLASSIFY-FAIL " + f)
else:
    print("CLASSIFY-OK 13 cases")
