"""The Wub Machine as the issue met it: the child's deadlock is caught at once
(the agent exits it with 86), but the parent then blocks for other reasons.

As fixtures/python/wub_machine.py: thread "Writer" is inside logger.info()
(handler lock held, its stream's write() parked) when the main thread forks
with ctypes.PyDLL(None).fork(); the child's logger.info() waits on the lock.
Here the writer's write() stays parked for $WUB_WRITER_SECONDS (default 60):
after the child ended, the parent's logging.shutdown() (FW-PARENT-WAIT) waits
that long for the same handler lock, still held by its own, live writer.
Nothing is lost in the parent: no deadlock there, just a run that would keep
CI waiting. Protocol: fixtures/python/fixture_protocol.py.
"""
import ctypes
import logging
import os
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "fixtures", "python"))
import fixture_protocol as fx  # noqa: E402

WRITER_SECONDS = float(os.environ.get("WUB_WRITER_SECONDS", "60"))


class SlowStream:
    """write() parks the writer (lock held) for WRITER_SECONDS, or until released."""

    def __init__(self):
        self.cond = threading.Condition()
        self.inside = False

    def write(self, text):
        with self.cond:
            if not self.inside:
                self.inside = True
                self.cond.notify_all()
                self.cond.wait(WRITER_SECONDS)  # FW-HOLDER-WRITE

    def flush(self):
        pass

    def wait_writer_inside(self):
        with self.cond:
            if not self.cond.wait_for(lambda: self.inside, timeout=fx.timeout()):
                fx.finish(125)


stream = SlowStream()
logger = logging.getLogger("wub")
logger.setLevel(logging.INFO)
logger.propagate = False
logger.addHandler(logging.StreamHandler(stream))


def writer():
    fx.event("holder_tid", threading.get_native_id())
    logger.info("the writer is writing")  # FW-HOLDER-AT-FORK


def main():
    fx.event("parent_pid", os.getpid())
    t = threading.Thread(target=writer, name="Writer", daemon=True)
    t.start()
    stream.wait_writer_inside()
    libc = ctypes.PyDLL(None)  # PyDLL: the GIL stays held across the call
    libc.fork.restype = ctypes.c_int
    pid = libc.fork()
    if pid == 0:
        fx.event("child_blocking", 1)
        logger.info("hello from the child")  # FW-CHILD-WAIT
        os._exit(0)
    if pid < 0:
        fx.finish(99)
    fx.event("child_pid", pid)
    status = fx.wait_child(pid)
    fx.event("child_status", status)
    fx.event("parent_blocking", 1)
    logging.shutdown()  # FW-PARENT-WAIT
    fx.finish(status)


if __name__ == "__main__":
    main()
