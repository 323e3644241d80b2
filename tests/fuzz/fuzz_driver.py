"""One fuzz iteration over gdb/forkwatch/agent_registry.py's pure decoder, without GDB.

Used by tests/fuzz/fuzz_registry.c (libFuzzer, embedded CPython) and by tests/fuzz/replay.py
(the kept corpus, in `make test`). `one(data)` returns normally for every input the decoder
handles as documented: a Registry whose `notes` say what was damaged. It raises for a bug:
  - any exception out of decode_bytes() or out of the query methods the analysis uses;
  - a note from load()'s catch-all (agent_registry.INTERNAL_NOTE): a bounds check missed;
  - a decoded string that cannot be rendered as JSON / for the terminal by forkwatch.escape;
  - an invariant broken (a table used beyond its capacity, an entry outside the image, ...).
Time per input is bounded by libFuzzer's -timeout (the harness) or replay.py's alarm."""
import json
import os
import sys

_GDB_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "gdb")
if _GDB_DIR not in sys.path:
    sys.path.insert(0, _GDB_DIR)

from forkwatch import agent_registry as ar  # noqa: E402
from forkwatch import escape  # noqa: E402

BASE = 0x10000


class FuzzBug(AssertionError):
    pass


def _check(cond, msg):
    if not cond:
        raise FuzzBug(msg)


def _text(s, what):
    if s is None:
        return
    _check(isinstance(s, str), "%s is %r, not str" % (what, type(s)))
    t = escape.term(s)
    _check("\x1b" not in t and "\n" not in t, "%s: raw control character survives escape.term" % what)
    json.loads(json.dumps({"s": escape.json_str(s)}, ensure_ascii=True))


def one(data):
    r = ar.decode_bytes(data, BASE)
    for n in r.notes:
        _check(isinstance(n, str), "note is not a str")
        _check(not n.startswith(ar.INTERNAL_NOTE), "catch-all fired: " + n)
        _text(n, "note")
    if not r.valid:
        _check(not r.threads and not r.fork_held and not r.forks, "invalid registry with entries")
        return r
    for name, d in r.tables.items():
        _check(d["used"] <= d["capacity"], "%s used > capacity after load" % name)
        _check(d["offset"] + d["capacity"] * d["entry_size"] <= r.header["total_size"],
               "%s table beyond total_size" % name)
    _text(r.header.get("agent_version"), "agent_version")
    r.flags
    r.policy
    r.is_fork_child
    r.latest_fork()
    for t in r.threads:
        _text(t.name, "thread name")
        _check(len(t.held) <= ar.MAX_HELD, "more held entries than FW_MAX_HELD")
        r.thread_by_slot(t.slot)
        r.thread_by_tid(t.tid)
        r.acquiring(t.tid)
        for h in t.held:
            h.kind_name
            r.holders_of(h.lock_addr)
            _check(isinstance(r.stack(h.stack_id), list), "stack() is not a list")
    for f in r.forks:
        r.fork_by_id(f.fork_id)
    for e in r.fork_held:
        _text(e.holder_name, "holder_name")
        _text(e.call_site_function, "call_site_function")
        r.orphan_for(e.lock_addr)
        r.py_thread(index=e.py_thread)
        r.thread_by_slot(e.holder_slot)
        st = r.stack(e.stack_id)
        _check(len(st) <= ar.STACK_DEPTH, "stack deeper than FW_STACK_DEPTH")
    for t in r.py_threads:
        _text(t.name, "py thread name")
        r.py_thread(ident=t.thread_ident)
        for fr in t.frames:
            _text(fr["function"], "py function")
            _text(fr["file"], "py file")
    for m in r.modules:
        _text(m["path"], "module path")
        _check(len(m["build_id"]) <= 2 * ar.BUILD_ID_MAX, "build id too long")
    return r
