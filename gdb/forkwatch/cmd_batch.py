"""forkwatch batch attach PID [--json] [--tree] | forkwatch batch core CORE --exe EXE [--json]

Used by `build/forkwatch attach|core`: loads the target itself, prints the verdict,
detaches and quits GDB with 0 (no deadlock), 1 (a finding) or 3 (error)."""
import os
import re
import struct

import gdb

from . import analysis
from . import lost_tasks
from . import process_info
from . import render_json
from . import render_text
from .commands import error_line, split_args, complete_options

EXIT_OK, EXIT_FINDING, EXIT_ERROR = 0, 1, 3


class BatchError(Exception):
    pass


def _quit(code):
    gdb.execute("quit %d" % code)


def _quiet_settings():
    for s in ("pagination off", "confirm off", "width 0", "height 0", "print thread-events off",
              "print inferior-events off", "suppress-cli-notifications on"):
        try:
            gdb.execute("set " + s, to_string=True)
        except (gdb.error, RuntimeError):
            pass


def _gdb_msg(e):
    return (str(e).strip().splitlines() or [type(e).__name__])[-1]


def _attach(pid):
    if not os.path.exists("/proc/%d" % pid):
        raise BatchError("no such process: %d" % pid)
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            st = f.read()
        state = st[st.rindex(b")") + 2:].split()[0]
        if state in (b"Z", b"X"):
            raise BatchError("process %d is a zombie: nothing to attach to" % pid)
    except (OSError, ValueError, IndexError):
        pass
    try:
        _silently("attach %d" % pid)
    except gdb.error as e:
        msg = _gdb_msg(e)
        tracer = _tracer_of(pid)
        if tracer:
            raise BatchError("process %d is already traced by process %d (another debugger?)" % (pid, tracer))
        if "not permitted" in msg or "EPERM" in msg:
            raise BatchError("not permitted to attach to process %d (%s); run as the same user or as root, "
                             "or check /proc/sys/kernel/yama/ptrace_scope" % (pid, msg))
        if "No such process" in msg:
            raise BatchError("no such process: %d" % pid)
        raise BatchError("cannot attach to process %d: %s" % (pid, msg))
    if not gdb.selected_inferior().pid:
        raise BatchError("cannot attach to process %d" % pid)


def _silently(cmd):
    """Run a GDB command with its stop/frame printing sent to /dev/null (stdout is the verdict)."""
    redirected = False
    try:
        for s in ("logging file /dev/null", "logging overwrite on", "logging redirect on",
                  "logging debugredirect on", "logging enabled on"):
            gdb.execute("set " + s, to_string=True)
        redirected = True
    except gdb.error:
        pass
    try:
        return gdb.execute(cmd, to_string=True)
    finally:
        if redirected:
            try:
                gdb.execute("set logging enabled off", to_string=True)
            except gdb.error:
                pass


def _tracer_of(pid):
    try:
        with open("/proc/%d/status" % pid, "rb") as f:
            for line in f:
                if line.startswith(b"TracerPid:"):
                    return int(line.split()[1]) or None
    except (OSError, ValueError, IndexError):
        pass
    return None


def _detach():
    try:
        if gdb.selected_inferior().pid:
            _silently("detach")
    except (gdb.error, RuntimeError):
        pass


def _check_core(core):
    if not os.path.isfile(core):  # a FIFO would block open() for ever
        raise BatchError("core file is not a regular file: %s" % core)
    try:
        size = os.path.getsize(core)
        with open(core, "rb") as f:
            eh = f.read(64)
            if len(eh) < 64 or eh[:4] != b"\x7fELF":
                raise BatchError("not a core file (not ELF): %s" % core)
            if eh[4] != 2 or eh[5] != 1:
                raise BatchError("not a 64-bit little-endian core: %s" % core)
            e_type, = struct.unpack_from("<H", eh, 16)
            if e_type != 4:
                raise BatchError("not a core file (ELF type %d): %s" % (e_type, core))
            phoff, = struct.unpack_from("<Q", eh, 32)
            phentsize, phnum = struct.unpack_from("<HH", eh, 54)
            if phnum == 0 or phoff + phentsize * phnum > size:
                raise BatchError("truncated core (program headers missing): %s" % core)
            f.seek(phoff)
            ph = f.read(phentsize * phnum)
        need = 0
        for i in range(phnum):
            p_offset, = struct.unpack_from("<Q", ph, i * phentsize + 8)
            p_filesz, = struct.unpack_from("<Q", ph, i * phentsize + 32)
            need = max(need, p_offset + p_filesz)
        if need > size:
            raise BatchError("truncated core: %d of %d bytes present: %s" % (size, need, core))
    except OSError as e:
        raise BatchError("cannot read core %s: %s" % (core, e.strerror or e))


def _check_exe(exe):
    if not exe:
        raise BatchError("no executable for the core: pass --exe PATH")
    if not os.path.isfile(exe):
        raise BatchError("executable not found: %s" % exe)
    try:
        with open(exe, "rb") as f:
            if f.read(4) != b"\x7fELF":
                raise BatchError("executable is not an ELF file: %s" % exe)
    except OSError as e:
        raise BatchError("cannot read executable %s: %s" % (exe, e.strerror or e))


def _load_core(core, exe):
    _check_core(core)
    _check_exe(exe)
    try:
        out = _silently("file %s" % _path_arg(exe))
    except gdb.error as e:
        raise BatchError("cannot load executable %s: %s" % (exe, _gdb_msg(e)))
    if "No symbol table is loaded" in out:
        error_line("executable has no symbols (stripped): %s; C-level analysis continues" % exe)
    out = _core_file(core)
    if "may not match" in out:
        error_line("core %s may not match executable %s" % (core, exe))
    if not gdb.selected_inferior().threads():
        raise BatchError("core %s has no threads" % core)
    process_info.CORE_FILE = os.path.abspath(core)


def _core_file(core):
    """Load the core. GDB 13's core-file takes the rest of the line as the name, unescaped;
    later GDBs (16 in Debian 13, 18 in sid) split it like `file` does, argv-style ("Junk after
    filename"). A plain path reads the same either way; for one with a space, quote or
    backslash, the escaped form is tried first, then the raw one."""
    raw = os.path.abspath(core)
    escaped = _path_arg(core)
    tries = [raw] if escaped == raw else [escaped, raw]
    for i, arg in enumerate(tries):
        try:
            return _silently("core-file %s" % arg)
        except gdb.error as e:
            if i == len(tries) - 1:
                raise BatchError("cannot load core %s: %s" % (core, _gdb_msg(e)))
    return ""


def _path_arg(path):
    """GDB's file/core-file take the rest of the line; escape what its argv splitter eats."""
    path = os.path.abspath(path)
    return re.sub(r"([\\\s'\"])", r"\\\1", path)


def _descendants(pid):
    out = []
    todo = [pid]
    seen = set()
    while todo:
        p = todo.pop(0)
        if p in seen:
            continue
        seen.add(p)
        kids = []
        try:
            for task in os.listdir("/proc/%d/task" % p):
                try:
                    with open("/proc/%d/task/%s/children" % (p, task)) as f:
                        kids.extend(int(x) for x in f.read().split())
                except (OSError, ValueError):
                    pass
        except OSError:
            pass
        for k in sorted(set(kids)):
            out.append(k)
            todo.append(k)
    return out


def _report_errors(r):
    for n in r.notes:
        if n.startswith(("unknown Python version", "no debug info for libpython")):
            error_line(n)


def _analyse_and_print(as_json):
    r = analysis.analyze()
    _report_errors(r)
    if as_json:
        gdb.write(render_json.render(r) + "\n")
    else:
        gdb.write(render_text.render(r) + "\n")
    return r


def _print_reports(reports, as_json):
    """--tree and several cores: one report per process (JSON: a list); the exit status."""
    if as_json:
        gdb.write(render_json.render_many(reports) + "\n")
    else:
        gdb.write("\n\n".join(render_text.render(r) for r in reports) + "\n")
    return EXIT_FINDING if any(r.verdict != "no-deadlock" for r in reports) else EXIT_OK


def batch_attach(args):
    as_json = "--json" in args
    tree = "--tree" in args
    rest = [a for a in args if a not in ("--json", "--tree")]
    if len(rest) != 1 or not re.match(r"^[0-9]+$", rest[0]):
        raise BatchError("usage: forkwatch batch attach PID [--json] [--tree]")
    pid = int(rest[0])
    if not tree:
        _attach(pid)
        try:
            r = _analyse_and_print(as_json)
        finally:
            _detach()
        return EXIT_FINDING if r.verdict != "no-deadlock" else EXIT_OK
    pids = [pid] + _descendants(pid)
    reports = []
    errors = 0
    for i, p in enumerate(pids):
        try:
            _attach(p)
        except BatchError as e:
            if i == 0:
                raise
            error_line(str(e))
            errors += 1
            continue
        try:
            r = analysis.analyze()
            _report_errors(r)
            reports.append(r)
        finally:
            _detach()
    _link_tree(reports)
    analysis.name_shared_holders(reports)
    lost_tasks.apply(reports, analysis.SEVERITY)
    return _print_reports(reports, as_json)


def _link_tree(reports):
    """--tree: tell each process which of its children are stuck, and why (summary + notes;
    JSON: "children": [{"pid", "verdict", "summary"}])."""
    by_pid = dict((r.pid, r) for r in reports if r.pid)
    for r in reports:  # the tree is being shown: no need to suggest --tree
        r.notes = [n for n in r.notes if "forkwatch attach --tree" not in n]
    for r in reports:
        ppid = getattr(r.process, "ppid", None) if r.process is not None else None
        parent = by_pid.get(ppid)
        if parent is None or parent is r:
            continue
        kids = getattr(parent, "children", None)
        if kids is None:
            kids = parent.children = []
        kids.append({"pid": r.pid, "verdict": r.verdict,
                     "summary": r.findings[0]["summary"] if r.findings else r.summary})
        if r.verdict != "no-deadlock":
            waits = [t for t in parent.threads if analysis.waits_for_child(t)]
            how = "" if not waits else " (%s waits for it)" % ", ".join(
                "thread %s (%s)" % (t["tid"], t["name"] or "?") for t in waits[:3])
            line = "child process %d%s is stuck: %s" % (r.pid, how, kids[-1]["summary"])
            parent.notes.append(line)
            parent.summary = (parent.summary + "; " if parent.summary else "") + line


def _core_pairs(rest):
    """[(core, exe)] from CORE --exe EXE [CORE --exe EXE ...] (an --exe applies to the core before it)."""
    pairs = []
    i = 0
    while i < len(rest):
        if rest[i] == "--exe":
            if not pairs or i + 1 >= len(rest) or pairs[-1][1] is not None:
                raise BatchError(CORE_USAGE)
            pairs[-1] = (pairs[-1][0], rest[i + 1])
            i += 2
            continue
        pairs.append((rest[i], None))
        i += 1
    if not pairs:
        raise BatchError(CORE_USAGE)
    return pairs


def _parents_first(pairs):
    """[(core, exe, (pid, ppid, fname) or None)] ordered so that a parent's core (NT_PRPSINFO pid
    == a child's ppid) is analysed before its children's: each child then has its parent's facts."""
    todo = [(core, exe, process_info.core_prpsinfo(core)) for core, exe in pairs]
    pids = set(info[0] for _, _, info in todo if info)
    done, out = set(), []
    while todo:
        ready = [c for c in todo if not c[2] or c[2][1] not in pids - done or c[2][1] == c[2][0]]
        if not ready:           # a pid/ppid loop (damaged notes): keep the given order
            ready = todo[:1]
        for c in ready:
            todo.remove(c)
            out.append(c)
            if c[2]:
                done.add(c[2][0])
    return out


CORE_USAGE = "usage: forkwatch batch core CORE --exe EXE [CORE --exe EXE ...] [--json]"


def batch_core(args):
    as_json = "--json" in args
    pairs = _core_pairs([a for a in args if a != "--json"])
    for core, _ in pairs:
        if not os.path.exists(core):
            raise BatchError("no such core file: %s" % core)
    if len(pairs) == 1:
        _load_core(*pairs[0])
        r = _analyse_and_print(as_json)
        return EXIT_FINDING if r.verdict != "no-deadlock" else EXIT_OK
    # several cores of one job: parents first, each child analysed with its parent's facts
    reports = []
    facts = {}
    for core, exe, info in _parents_first(pairs):
        _load_core(core, exe)
        r = analysis.analyze(parent=facts.get(info[1]) if info else None)
        _report_errors(r)
        reports.append(r)
        if r.pid:
            facts[r.pid] = process_info.ParentFacts.from_report(r)
    _link_tree(reports)
    lost_tasks.apply(reports, analysis.SEVERITY)
    return _print_reports(reports, as_json)


class BatchCommand(gdb.Command):
    """Internal (used by the forkwatch program): forkwatch batch attach PID [--json] [--tree]
or forkwatch batch core CORE --exe EXE [--json]. Prints the verdict and quits GDB with
0 (no deadlock), 1 (a finding) or 3 (error)."""

    def __init__(self):
        super(BatchCommand, self).__init__("forkwatch batch", gdb.COMMAND_MAINTENANCE, gdb.COMPLETE_NONE)

    def invoke(self, arg, from_tty):
        args = split_args(arg)
        _quiet_settings()
        code = EXIT_ERROR
        try:
            if args and args[0] == "attach":
                code = batch_attach(args[1:])
            elif args and args[0] == "core":
                code = batch_core(args[1:])
            else:
                raise BatchError("usage: forkwatch batch attach PID [--json] [--tree] | "
                                 "forkwatch batch core CORE --exe EXE [CORE --exe EXE ...] [--json]")
        except BatchError as e:
            error_line(str(e))
            _detach()
            code = EXIT_ERROR
        except KeyboardInterrupt:
            error_line("interrupted")
            _detach()
            code = EXIT_ERROR
        except Exception as e:  # never a traceback
            error_line("%s: %s" % (type(e).__name__, (str(e).splitlines() or [""])[0]))
            if os.environ.get("FORKWATCH_DEBUG"):
                import traceback
                import sys
                traceback.print_exc(file=sys.stderr)
            _detach()
            code = EXIT_ERROR
        _quit(code)

    def complete(self, text, word):
        if not text.strip() or (len(text.split()) == 1 and not text.endswith(" ")):
            return complete_options(["attach", "core"], text, word)
        if text.split()[0] == "attach":
            return complete_options(["--json", "--tree"], text, word)
        if word and word.startswith("-"):
            return complete_options(["--exe", "--json"], text, word)
        return gdb.COMPLETE_FILENAME


BatchCommand()
