"""Checks cpython/with_decode.py against the running interpreter.

Run with any CPython 3.8-3.15: python3.X test_with_blocks.py
- WITH_HANDLER[minor] / SETUP_FINALLY are this interpreter's opcodes (dis.opmap);
- 3.11+: parse_exception_table() equals dis's own parser on every code object of a few
  stdlib modules, and inside nested `with` blocks (and a try/finally, which is not one)
  with_depths() finds one depth per enclosing `with`, innermost (deepest) first, each above
  the for loop's iterator;
- 3.8-3.10: every SETUP_WITH's target starts with the handler opcode.
Prints "ok N" or the failures and exits non-zero.
"""
import dis
import importlib.util
import os
import sys
import types

here = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location(
    "with_decode", os.path.join(here, "..", "..", "gdb", "forkwatch", "cpython", "with_decode.py"))
wd = importlib.util.module_from_spec(spec)
spec.loader.exec_module(wd)

MINOR = sys.version_info[1]
fails = []
checks = 0


def check(cond, msg):
    global checks
    checks += 1
    if not cond:
        fails.append(msg)


def codes(co):
    yield co
    for c in co.co_consts:
        if isinstance(c, types.CodeType):
            yield from codes(c)


SAMPLE = '''
def f(a, b, c, it):
    for x in it:
        with a:
            with b:
                try:
                    with c:
                        x.inner()          # depth 3
                finally:
                    x.after()              # depth 2
            x.outer()                      # depth 1
'''


def main():
    om = dis.opmap
    if MINOR <= 10:
        want = (om["WITH_CLEANUP_START"],) if MINOR == 8 else (om["WITH_EXCEPT_START"],)
        check(om["SETUP_FINALLY"] == wd.SETUP_FINALLY, "SETUP_FINALLY %r" % om["SETUP_FINALLY"])
    else:
        want = (om["PUSH_EXC_INFO"], om["WITH_EXCEPT_START"])
    check(wd.WITH_HANDLER.get(MINOR) == want, "WITH_HANDLER[%d] %r, want %r"
          % (MINOR, wd.WITH_HANDLER.get(MINOR), want))
    ns = {}
    exec(compile(SAMPLE, "sample", "exec"), ns)
    co = ns["f"].__code__
    instrs = list(dis.get_instructions(co))
    raw = co.co_code
    if MINOR <= 10:
        for ins in instrs:
            if ins.opname == "SETUP_WITH":
                check(raw[ins.argval] == want[0], "SETUP_WITH to %d: opcode %d" % (ins.argval, raw[ins.argval]))
        report()
        return
    for mod in ("threading", "logging", "queue", "concurrent.futures.thread", "asyncio.locks"):
        m = importlib.import_module(mod)
        top = compile(open(m.__file__, encoding="utf-8").read(), m.__file__, "exec")
        for c in codes(top):
            mine = wd.parse_exception_table(c.co_exceptiontable)
            theirs = [(e.start // 2, e.end // 2, e.target // 2, e.depth)
                      for e in dis._parse_exception_table(c)]
            check(mine == theirs, "%s %s: %r != %r" % (mod, c.co_name, mine[:3], theirs[:3]))
    entries = wd.parse_exception_table(co.co_exceptiontable)

    def is_with(unit):
        return tuple(raw[2 * (unit + i)] for i in range(len(want))) == want

    calls = {"inner": 3, "after": 2, "outer": 1}
    for ins in instrs:
        if ins.opname in ("LOAD_ATTR", "LOAD_METHOD") and ins.argval in calls:
            depths = wd.with_depths(entries, ins.offset // 2, is_with)
            check(len(depths) == calls[ins.argval] and depths == sorted(depths, reverse=True),
                  "x.%s(): with depths %r" % (ins.argval, depths))
            # the iterator sits below the first block: each depth is above it
            check(all(d >= 2 for d in depths), "x.%s(): depths %r include the iterator" % (ins.argval, depths))
    report()


def report():
    if fails:
        print("\n".join(fails[:10]))
        sys.exit(1)
    print("ok %d" % checks)


main()
