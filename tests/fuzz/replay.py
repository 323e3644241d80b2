#!/usr/bin/env python3
"""Replays tests/fuzz/corpus/ (the kept, minimised fuzz corpus) through the registry decoder
without the fuzzer, so a regression fails `make test`. Each input has a 10 s bound (SIGALRM).
Also checks that the real registries in the corpus still decode cleanly (valid, no note).

  python3 tests/fuzz/replay.py [DIR_OR_FILE...]     ends with "N passed, N failed"
"""
import os
import signal
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import fuzz_driver  # noqa: E402


class Hang(Exception):
    pass


def _alarm(signum, frame):
    raise Hang("more than 10 s on one input")


def main(argv):
    paths = argv or [os.path.join(HERE, "corpus")]
    files = []
    for p in paths:
        if os.path.isdir(p):
            files += sorted(os.path.join(p, f) for f in os.listdir(p) if not f.startswith("."))
        else:
            files.append(p)
    signal.signal(signal.SIGALRM, _alarm)
    failed = []
    real = 0
    t0 = time.monotonic()
    for f in files:
        with open(f, "rb") as fh:
            data = fh.read()
        signal.alarm(10)
        try:
            r = fuzz_driver.one(data)
            if os.path.basename(f).startswith("real_"):
                real += 1
                if not r.valid or r.notes or not r.threads:
                    raise fuzz_driver.FuzzBug("a real registry no longer decodes cleanly: %s" % r.notes)
        except BaseException as e:  # noqa: B902 - every failure is reported, none escapes
            if isinstance(e, KeyboardInterrupt):
                raise
            failed.append(f)
            print("FAIL - %s: %s: %s" % (os.path.basename(f), type(e).__name__, str(e).splitlines()[:1]))
            tb = traceback.format_exc().splitlines()
            print("       " + "\n       ".join(tb[-6:]))
        finally:
            signal.alarm(0)
    print("replayed %d inputs (%d real registries) in %.1f s" % (len(files), real, time.monotonic() - t0))
    ok = 1 if files and not failed else 0
    if not files:
        print("FAIL - no corpus files found in %s" % paths)
    elif not real:
        print("FAIL - the corpus holds no real registry (real_*)")
        ok = 0
    else:
        print("ok   - corpus replay: %d inputs, no exception, no catch-all note, no hang" % len(files))
    print("%d passed, %d failed" % (ok, 1 - ok))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
