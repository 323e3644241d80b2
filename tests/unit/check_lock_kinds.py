#!/usr/bin/env python3
"""Checks every side that names lock kinds against the one table, gdb/forkwatch/lock_kinds.py.

One line per disagreement on stdout, exit 1 if any (run by tests/unit/test_lock_kinds.c, so
by the unit suite). What is checked:
- agent/forkwatch_abi.h: enum fw_lock_kind has exactly REGISTRY_KINDS' names and numbers, and
  a JSON name quoted in an entry's comment is the table's;
- agent/fw_event.c fw_kind_json_name(): each FW_KIND_* returns the table's name;
- agent/fw_pymutex.c: every kind it returns is in LOCK_KINDS;
- gdb/forkwatch: native_threads.py's Wait kinds, cpython/locks.py's PyLock kinds, the lock dicts
  analysis.py and lost_tasks.py build and the kinds they compare with, agent_registry.py's
  names (which must come from the table);
- cli/summary.c: every literal it compares a kind with;
- README.md, docs/forkwatch.1, docs/DESIGN.md: each list of every `lock.kind` equals LOCK_KINDS.
Usage: check_lock_kinds.py [SOURCE_ROOT]
"""
import importlib.util
import os
import re
import sys

ROOT = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", ".."))
problems = []


def read(rel):
    with open(os.path.join(ROOT, rel), encoding="utf-8") as f:
        return f.read()


def load_table():
    path = os.path.join(ROOT, "gdb", "forkwatch", "lock_kinds.py")
    spec = importlib.util.spec_from_file_location("lock_kinds", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


T = load_table()
KINDS = set(T.LOCK_KINDS)
WAITS = KINDS | set(T.OTHER_WAIT_KINDS)


def problem(where, text):
    problems.append("%s: %s" % (where, text))


def literals(text):
    return re.findall(r'"([^"\\]*)"', text)


def check_in(where, names, allowed, what):
    if not names:   # a pattern that finds nothing checks nothing: the source changed shape
        problem(where, "found no %s to check (update tests/unit/check_lock_kinds.py)" % what)
    for n in names:
        if n not in allowed:
            problem(where, "%r is not %s in gdb/forkwatch/lock_kinds.py" % (n, what))


# ---- the agent ----
abi = read("agent/forkwatch_abi.h")
enum = re.search(r"enum fw_lock_kind \{(.*?)\};", abi, re.S)
if not enum:
    problem("agent/forkwatch_abi.h", "no enum fw_lock_kind")
else:
    entries = re.findall(r"(FW_KIND_\w+) = (\d+),[ \t]*(?:/\*\s*\"([^\"]+)\")?", enum.group(1))
    got = {int(num): name for name, num, _ in entries if name != "FW_KIND_NONE"}
    want = {num: name for num, (name, _) in T.REGISTRY_KINDS.items()}
    if got != want:
        problem("agent/forkwatch_abi.h", "enum fw_lock_kind is %s, the table's REGISTRY_KINDS %s"
                % (sorted(got.items()), sorted(want.items())))
    by_enum = {name: kind for name, kind in T.REGISTRY_KINDS.values()}
    for name, _num, quoted in entries:
        if quoted and by_enum.get(name) != quoted:
            problem("agent/forkwatch_abi.h", "%s's comment says %r, the table %r" % (name, quoted, by_enum.get(name)))

event = read("agent/fw_event.c")
body = re.search(r"const char \*fw_kind_json_name\(uint32_t kind\)\s*\{(.*?)\n\}", event, re.S)
if not body:
    problem("agent/fw_event.c", "no fw_kind_json_name()")
else:
    returns, pending = {}, []
    for m in re.finditer(r'case (FW_KIND_\w+):|return "([^"]*)";', body.group(1)):
        if m.group(1):
            pending.append(m.group(1))
        else:
            for name in pending:
                returns[name] = m.group(2)
            pending = []
    for name, kind in T.REGISTRY_KINDS.values():
        if returns.get(name) != kind:
            problem("agent/fw_event.c", "fw_kind_json_name(%s) is %r, the table says %r" % (name, returns.get(name), kind))
    default = re.search(r'default: return "([^"]*)";', body.group(1))
    if not default or default.group(1) != T.UNKNOWN:
        problem("agent/fw_event.c", "fw_kind_json_name() must name a kind it does not know %r" % T.UNKNOWN)

pymutex = read("agent/fw_pymutex.c")
check_in("agent/fw_pymutex.c", re.findall(r'return "([^"]+)";', pymutex), KINDS, "a lock kind")

# ---- the GDB side ----
nt = read("gdb/forkwatch/native_threads.py")
check_in("gdb/forkwatch/native_threads.py",
         re.findall(r'Wait\("([^"]+)"', nt) + re.findall(r'\bw\.kind = "([^"]+)"', nt), WAITS, "a wait kind")

locks = read("gdb/forkwatch/cpython/locks.py")
check_in("gdb/forkwatch/cpython/locks.py", re.findall(r'PyLock\([^,]+,[^,]+, "([^"]+)"', locks), KINDS, "a lock kind")

for rel in ("gdb/forkwatch/analysis.py", "gdb/forkwatch/lost_tasks.py", "gdb/forkwatch/cmd_threads.py"):
    src = read(rel)
    # a lock dict: {"address": ..., "kind": "..."}
    built = re.findall(r'\{"address": [^,]+, "kind": "([^"]+)"', src)
    # comparisons with a lock's or a wait's kind
    compared = []
    for m in re.finditer(r'(?:\bw\.kind|lock\["kind"\]|lock\.get\("kind"\))\s*(?:==|in|!=)\s*(\([^)]*\)|"[^"]*")', src):
        compared += literals(m.group(1))
    if built or rel != "gdb/forkwatch/cmd_threads.py":
        check_in(rel, built, KINDS, "a lock kind")
    if compared or rel == "gdb/forkwatch/analysis.py":
        check_in(rel, compared, WAITS, "a lock or wait kind")

reg = read("gdb/forkwatch/agent_registry.py")
if not re.search(r"^KIND_NAMES = .*lock_kinds\.REGISTRY_NAMES", reg, re.M):
    problem("gdb/forkwatch/agent_registry.py", "KIND_NAMES must be lock_kinds.REGISTRY_NAMES, not its own copy")

# ---- the CLI ----
summary = read("cli/summary.c")
compared = re.findall(r'strn?cmp\((?:kind|pykind), "([^"]+)"', summary)
if not compared:
    problem("cli/summary.c", "found no kind comparison to check (update tests/unit/check_lock_kinds.py)")
for lit in compared:
    if lit not in KINDS and not any(k.startswith(lit) for k in KINDS):
        problem("cli/summary.c", "compares a kind with %r, neither a lock kind nor the start of one" % lit)


# ---- the docs: every list of all kinds ----
def doc_kinds(tokens):
    """The tokens of a list that look like kind names (PyMutex, PyEvent are prose)."""
    return {t for t in tokens if re.fullmatch(r"[a-z][a-z0-9_]*(\.[A-Za-z]+)?", t)}


def check_list(where, tokens):
    got = doc_kinds(tokens)
    if got != KINDS:
        missing, extra = sorted(KINDS - got), sorted(got - KINDS)
        problem(where, "the list of lock.kind values lacks %s and has %s beyond the table" % (missing or "nothing",
                                                                                            extra or "nothing"))


readme = read("README.md")
m = re.search(r"`lock\.kind` is one of (.*?)\.\n", readme, re.S)
if not m:
    problem("README.md", "no sentence \"`lock.kind` is one of ...\"")
else:
    check_list("README.md", re.findall(r"`([^`]+)`", m.group(1)))

man = read("docs/forkwatch.1")
m = re.search(r"^\.B lock\.kind\nis one of\n(.*?)^Stacks are", man, re.S | re.M)
if not m:
    problem("docs/forkwatch.1", "no \".B lock.kind / is one of\" list")
else:
    check_list("docs/forkwatch.1", re.findall(r"^\.BR? (\S+)", m.group(1), re.M))

design = read("docs/DESIGN.md")
m = re.search(r"^- `lock\.kind` \(every finding\): (.*?)\.\s", design, re.S | re.M)
if not m:
    problem("docs/DESIGN.md", "no bullet \"- `lock.kind` (every finding): ...\" in §3")
else:
    check_list("docs/DESIGN.md", re.findall(r"`([^`]+)`", m.group(1)))

for p in problems:
    print(p)
sys.exit(1 if problems else 0)
