"""Checks linetable.py against the running interpreter's own line numbers.

Run with any CPython 3.8-3.13: python3.X test_linetable.py
For every instruction of every code object in a few stdlib modules, the decoder's
line must equal CPython's (co_positions 3.11+, co_lines 3.10, dis.findlinestarts 3.8/3.9).
Prints "ok N" or the first mismatches and exits non-zero.
"""
import dis
import importlib.util
import os
import sys
import types

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "gdb", "forkwatch", "cpython"))
spec = importlib.util.spec_from_file_location(
    "linetable", os.path.join(sys.path[0], "linetable.py"))
linetable = importlib.util.module_from_spec(spec)
spec.loader.exec_module(linetable)

V = sys.version_info


def codes(co):
    yield co
    for c in co.co_consts:
        if isinstance(c, types.CodeType):
            yield from codes(c)


def expected(co):
    """{offset (as line_for expects): line}"""
    out = {}
    if V >= (3, 11):
        for i, pos in enumerate(co.co_positions()):
            out[i] = pos[0]
    elif V >= (3, 10):
        for start, end, line in co.co_lines():
            for b in range(start, end, 2):
                out[b // 2] = line
    else:
        starts = list(dis.findlinestarts(co))
        n = len(co.co_code)
        for k, (addr, line) in enumerate(starts):
            end = starts[k + 1][0] if k + 1 < len(starts) else n
            for b in range(addr, end, 2):
                out[b] = line
    return out


def table(co):
    if V >= (3, 10):
        return co.co_linetable
    return co.co_lnotab


def main():
    import threading, logging, json.decoder, asyncio.base_events, email.message  # noqa
    mods = [threading, logging, json.decoder, asyncio.base_events, email.message, dis]
    checked = 0
    bad = []
    for m in mods:
        src = open(m.__file__).read()
        top = compile(src, m.__file__, "exec")
        for co in codes(top):
            for off, line in expected(co).items():
                got = linetable.line_for(V, table(co), co.co_firstlineno, off)
                checked += 1
                if got != line:
                    bad.append((m.__name__, co.co_name, off, line, got))
    # frame check: the line of a live frame
    f = sys._getframe()
    lasti, want = f.f_lasti, f.f_lineno
    if V >= (3, 11):
        lasti //= 2
    elif V >= (3, 10):
        pass  # f_lasti from Python is in bytes in 3.10 too
    if V[:2] == (3, 10):
        got = linetable.linetable310_line(table(f.f_code), f.f_code.co_firstlineno, lasti)
    else:
        got = linetable.line_for(V, table(f.f_code), f.f_code.co_firstlineno, lasti)
    if got != want:
        bad.append(("frame", "main", lasti, want, got))
    if bad:
        for b in bad[:10]:
            print("MISMATCH", b)
        print("%d mismatches of %d" % (len(bad), checked))
        return 1
    print("ok %d" % checked)
    return 0


if __name__ == "__main__":
    sys.exit(main())
