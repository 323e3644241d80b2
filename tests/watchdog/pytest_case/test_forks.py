"""A pytest suite whose tests fork into deadlocks, run by tests/watchdog under
`forkwatch run -- python3 -m pytest`. Each test's parent waits for its child
with a bounded os.waitpid loop and checks nothing else: the verdicts come from
forkwatch (the agent for the first, the watchdog for the second), which must
name the test that forked.
"""
import os
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor

warnings.filterwarnings("ignore", category=DeprecationWarning)
BOUND = float(os.environ.get("FIXTURE_TIMEOUT", "60"))


def wait_child(pid):
    deadline = time.monotonic() + BOUND
    while time.monotonic() < deadline:
        got, status = os.waitpid(pid, os.WNOHANG)
        if got == pid:
            return status
        time.sleep(0.05)  # bounded polling of waitpid, not synchronisation
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    return None


def test_passes():
    assert 1 + 1 == 2


def test_lock_held_across_fork():
    """The agent sees it: a threading.Lock held by another thread at fork."""
    lock = threading.Lock()
    held, release = threading.Event(), threading.Event()

    def holder():
        with lock:
            held.set()
            release.wait(BOUND)

    t = threading.Thread(target=holder, name="Holder")
    t.start()
    held.wait(BOUND)
    pid = os.fork()
    if pid == 0:
        with lock:  # FW-PYTEST-AGENT-WAIT
            os._exit(0)
    release.set()
    t.join()
    assert wait_child(pid) is not None


def test_executor_lost_in_fork():
    """The agent cannot see it (no lock is orphaned): the watchdog must."""
    ex = ThreadPoolExecutor(max_workers=1)
    assert ex.submit(abs, -1).result(BOUND) == 1
    pid = os.fork()
    if pid == 0:
        ex.submit(abs, -2).result()  # FW-PYTEST-WATCHDOG-WAIT
        os._exit(0)
    assert wait_child(pid) is not None
    ex.shutdown()
