"""PythonProcess: one CPython runtime in the inferior, read through a layout table."""
import gdb

from . import _mem, frames as fr, gil as gil_mod, layouts, locks, modlock, runtime as rt, with_blocks
from ._mem import MemError
from .objects import Reader, plausible_pointer
from .version import UnsupportedPython

FIND_FRAMES = 8          # innermost Python frames scanned by find_lock_object
MAX_ATTRS = 256


MAX_HOOKS = 4096


class AtForkHook:
    __slots__ = ("address", "code", "name")

    def __init__(self, address, code, name):
        self.address = address  # the callable
        self.code = code        # its code object (a function or bound method), else None
        self.name = name        # its function's name (raw text), else its type's name, or None

    def __repr__(self):
        return "AtForkHook(%r, code=%s)" % (self.name, "0x%x" % self.code if self.code else None)


class PyThread:
    __slots__ = ("thread_ident", "native_tid", "tstate", "frames", "name", "holds_gil",
                 "interp")

    def __init__(self, thread_ident, native_tid, tstate, frames, name, holds_gil, interp):
        self.thread_ident = thread_ident
        self.native_tid = native_tid
        self.tstate = tstate
        self.frames = frames
        self.name = name
        self.holds_gil = holds_gil
        self.interp = interp

    def __repr__(self):
        return "PyThread(ident=0x%x, tid=%r, name=%r, gil=%r, %d frames)" % (
            self.thread_ident, self.native_tid, self.name, self.holds_gil, len(self.frames))


def _debug_offsets_differ(runtime, lay):
    """Best-effort reading of a newer CPython: the name of the first _Py_DebugOffsets section
    we read whose place or size (its leading `size` field) differs from the newest layout we
    know, or None when all agree. A moved section would put every offset in it off."""
    used = set(k.split(".")[1] for k in layouts.DEBUG_OFFSETS_MAP)
    for name, start, size in layouts.debug_offsets_sections(lay):
        if name not in used:
            continue
        try:
            if _mem.u64(runtime + start) != size:
                return name
        except MemError:
            return name
    return None


def _apply_debug_offsets(runtime, lay):
    """3.13+: take the offsets the process itself publishes in _Py_DebugOffsets."""
    try:
        if _mem.read(runtime, 8) != b"xdebugpy":
            return False
        for dkey, key in layouts.DEBUG_OFFSETS_MAP.items():
            pos = lay.get(dkey)
            if pos is None:
                continue
            val = _mem.u64(runtime + pos)
            if 0 <= val < layouts.MAX_DEBUG_OFFSET:
                lay[key] = val
        return True
    except MemError:
        return False


class PythonProcess:
    def __init__(self, runtime, version, lay, has_debug_info, how):
        self.runtime = runtime
        self.version = version
        self.version_string = "%d.%d.%d" % version if version[2] is not None else "%d.%d" % version[:2]
        self.has_debug_info = has_debug_info
        self.version_source = how
        self.lay = lay
        self.reader = Reader(version, lay)
        self.walker = fr.FrameWalker(self.reader)
        self._names = None
        self.used_debug_offsets = False  # 3.13+: offsets taken from _Py_DebugOffsets
        # how the layout was read (DESIGN §3): "dwarf" (libpython's DWARF), "_Py_DebugOffsets"
        # (no DWARF; 3.13+ the process's own offsets, tables for the rest), "tables"
        self.layout_source = "dwarf" if has_debug_info else "tables"
        self.errors = []  # unexpected failures swallowed by the public methods
        self.best_effort = False  # a minor newer than our tables, read through _Py_DebugOffsets

    # -- construction --------------------------------------------------
    @classmethod
    def open(cls, runtime, major, minor, patch, how):
        from . import version as ver_mod
        if minor >= 13 and ver_mod.is_free_threaded(runtime):
            # the default layout would misread every object (32-byte header, tagged stack refs)
            raise UnsupportedPython("CPython %d.%d%s: %s" % (
                major, minor, "" if patch is None else ".%d" % patch, ver_mod.FREE_THREADED_TEXT))
        best_effort = minor > ver_mod.NEWEST_MINOR
        static = layouts.static_layout(ver_mod.NEWEST_MINOR if best_effort else minor, patch or 0)
        if static is None:
            raise UnsupportedPython("CPython %d.%d is not supported (known: %s)" % (
                major, minor, ver_mod.KNOWN_TEXT))
        lay = dict(static)
        dwarf = None
        # DWARF of libpython itself (extension modules carry partial DWARF of public
        # structs; that alone does not count)
        if _mem.has_dwarf_at(runtime):
            try:
                dwarf = layouts.dwarf_layout(gdb)
            except Exception:  # a broken DWARF reader must not stop the no-DWARF path
                dwarf = None
        # use DWARF only when it describes this version (it has the right fields)
        if dwarf and all(k in dwarf for k in ("tstate.thread_id", "code.co_filename")) \
                and (("tstate.frame" in dwarf) == ("tstate.frame" in static)) \
                and (("tstate.cframe" in dwarf) == ("tstate.cframe" in static)):
            for key, value in dwarf.items():
                # types private to one C file (lockobject, buffered, textio) have common
                # names another library's DWARF may reuse: our table wins for those
                if key.startswith(layouts.PRIVATE_TYPE_PREFIXES) and key in static:
                    continue
                lay[key] = value
            has_dwarf = True
        else:
            has_dwarf = False
        if best_effort:
            has_dwarf = False  # a newer CPython's DWARF may name fields we would misplace
            lay = dict(static)
            moved = _debug_offsets_differ(runtime, lay)
            if moved:
                raise UnsupportedPython(
                    "CPython %d.%d is newer than forkwatch knows (%s) and its _Py_DebugOffsets "
                    "section %s differs from %d.%d's: not read" % (
                        major, minor, ver_mod.KNOWN_TEXT, moved, major, ver_mod.NEWEST_MINOR))
        used_debug_offsets = minor >= 13 and _apply_debug_offsets(runtime, lay)
        if best_effort and not used_debug_offsets:
            raise UnsupportedPython("CPython %d.%d is not supported (known: %s) and its "
                                    "_Py_DebugOffsets could not be read" % (major, minor, ver_mod.KNOWN_TEXT))
        proc = cls(runtime, (major, minor, patch), lay, has_dwarf, how)
        proc.best_effort = best_effort
        proc.used_debug_offsets = bool(used_debug_offsets)
        if has_dwarf:
            proc.layout_source = "dwarf"
        elif used_debug_offsets:
            proc.layout_source = "_Py_DebugOffsets"
        else:
            proc.layout_source = "tables"
        if patch is None:
            try:
                proc._fill_patch()
            except Exception as exc:
                proc.errors.append("patch level: %r" % (exc,))
        return proc

    def _fill_patch(self):
        """3.8-3.10: the patch level from sys.version (a str in the sys dict)."""
        try:
            sysdict = self._sysdict()
            text = self.reader.read_str(self.reader.dict_get_str(sysdict, "version") or 0, 64) \
                if sysdict else None
        except MemError:
            text = None
        if text:
            head = text.split(" ", 1)[0]
            parts = head.split(".")
            if len(parts) >= 3 and parts[0] == "3" and parts[1] == str(self.version[1]):
                digits = ""
                for ch in parts[2]:
                    if not ch.isdigit():
                        break
                    digits += ch
                if digits:
                    self.version = (3, self.version[1], int(digits))
                    self.version_string = "%d.%d.%d" % self.version
                    self.reader.version = self.version

    # -- helpers -------------------------------------------------------
    def _main_interp(self):
        return rt.main_interpreter(self.runtime, self.lay)

    def _sysdict(self):
        interp = self._main_interp()
        if not interp:
            return None
        return _mem.ptr(interp + self.lay["interp.sysdict"]) or None

    def _modules(self):
        interp = self._main_interp()
        if not interp:
            return None
        return _mem.ptr(interp + self.lay["interp.modules"]) or None

    def thread_names(self):
        """{ident: name} from threading._active (and _limbo), {} when unreadable."""
        if self._names is not None:
            return self._names
        names = {}
        r = self.reader
        try:
            modules = self._modules()
            mdict = r.module_dict(modules, "threading") if modules else None
            if mdict:
                for table in ("_active", "_limbo"):
                    active = r.dict_get_str(mdict, table)
                    if not active:
                        continue
                    for key, thread in r.dict_items(active)[:4096]:
                        ident = r.read_int(key)
                        if ident is None:
                            ident = r.read_int(r.attr(thread, "_ident") or 0)
                        if ident is None:
                            continue
                        name = r.read_str(r.attr(thread, "_name") or 0, 256)
                        if name is not None:
                            names[ident & 0xFFFFFFFFFFFFFFFF] = name
        except Exception as exc:  # names are a bonus: never lose the threads for them
            if not isinstance(exc, MemError):
                self.errors.append("thread names: %r" % (exc,))
        self._names = names
        return names

    def stopped_threads(self):
        """[(ident, native_id, name)] of the threading.Thread objects still in memory that
        threading no longer lists as running: `threading._dangling` (a WeakSet every Thread
        joins at creation) minus `_active`/`_limbo`. In an os.fork() child these include the
        threads lost in the fork while something still references their Thread object
        (threading._after_fork stops them, Lib/threading.py). [] when unreadable."""
        out = []
        r = self.reader
        try:
            modules = self._modules()
            mdict = r.module_dict(modules, "threading") if modules else None
            dangling = r.dict_get_str(mdict, "_dangling") if mdict else None
            data = r.attr(dangling, "data") if dangling else None
            running = self.thread_names()
            for ref in r.set_items(data or 0, 4096):
                thread = r.weakref_target(ref)
                if not thread:
                    continue
                ident = r.read_int(r.attr(thread, "_ident") or 0)
                if ident is None or (ident & 0xFFFFFFFFFFFFFFFF) in running:
                    continue
                native = r.read_int(r.attr(thread, "_native_id") or 0)
                name = r.read_str(r.attr(thread, "_name") or 0, 256)
                out.append((ident & 0xFFFFFFFFFFFFFFFF, native, name))
        except Exception as exc:  # a bonus: never lose the analysis for it
            if not isinstance(exc, MemError):
                self.errors.append("stopped threads: %r" % (exc,))
        return out

    # -- public API ----------------------------------------------------
    def threads(self):
        try:
            return self._threads()
        except Exception as exc:  # never a traceback for the user
            self.errors.append("threads: %r" % (exc,))
            return []

    def _threads(self):
        out = []
        g = self.gil()
        names = self.thread_names()
        for interp in rt.interpreters(self.runtime, self.lay):
            for ts in rt.thread_states(interp, self.lay):
                try:
                    ident, native = rt.thread_ids(ts, self.lay)
                except MemError:
                    continue
                try:
                    frames = self.walker.frames(ts)
                except Exception as exc:
                    self.errors.append("frames of 0x%x: %r" % (ts, exc))
                    frames = []
                if self.walker.damaged:
                    self.errors.append("frames of 0x%x: %s" % (ts, "; ".join(self.walker.damaged[:2])))
                    del self.walker.damaged[:]
                holds = None
                if g is not None:
                    holds = bool(g.locked and g.holder_tstate == ts)
                out.append(PyThread(ident, native, ts, frames, names.get(ident), holds, interp))
        return out

    def interactive_flags(self):
        """(sys.flags.inspect, sys.flags.interactive) as ints (python -i / a REPL), or None
        when unreadable. sys.flags is a struct sequence (a tuple's layout) whose first three
        fields have been debug, inspect, interactive since 2.x (Python/sysmodule.c flags_fields)."""
        try:
            sysdict = self._sysdict()
            flags = self.reader.dict_get_str(sysdict, "flags") if sysdict else None
            if not flags or not plausible_pointer(flags) or self.reader.safe_type_name(flags) != "sys.flags":
                return None
            if _mem.i64(flags + self.lay["varobject.ob_size"]) < 3:
                return None
            base = flags + self.lay["tuple.ob_item"]
            got = tuple(self.reader.read_int(_mem.ptr(base + 8 * i)) for i in (1, 2))
            return None if None in got else got
        except Exception:  # never a traceback: unknown
            return None

    def runs_no_python(self, tstate):
        """True when the thread runs no Python code, read, not guessed: its current-frame
        pointer is NULL, or every frame on the chain is one the interpreter owns (an entry
        shim, 3.15's base frame at the bottom of each thread's stack, which runs no code
        object); False when a code frame is there; None when the chain cannot be read."""
        try:
            if self.walker.first_frame(tstate) == 0:
                return True
            del self.walker.damaged[:]
            raw = self.walker.raw_frames(tstate)
            if self.walker.damaged:
                del self.walker.damaged[:]
                return None
            return not raw
        except Exception:  # a bad read or a layout without the field: unknown
            return None

    def gil(self):
        try:
            return gil_mod.read_gil(self.runtime, self.lay, self.version[1])
        except Exception as exc:
            self.errors.append("gil: %r" % (exc,))
            return None

    def describe_object(self, address):
        try:
            if not address or not plausible_pointer(address):
                return None
            return locks.describe(self.reader, address, self.version[2])
        except Exception as exc:
            self.errors.append("describe_object: %r" % (exc,))
            return None

    def _candidates_of_frame(self, frame, code):
        r = self.reader
        out = []
        try:
            slots = self.walker.slots(frame, code)
        except MemError:
            return out
        for p in slots:
            if not plausible_pointer(p):
                continue
            tname = r.safe_type_name(p)
            if tname is None:
                continue
            # follow a cell to its content, a bound method to its self
            follow = {"cell": "cell.ob_ref", "builtin_function_or_method": "cfunction.m_self",
                      "method": "method.im_self"}.get(tname)
            if follow and follow in self.lay:
                try:
                    inner = _mem.ptr(p + self.lay[follow])
                except MemError:
                    continue
                if plausible_pointer(inner) and r.safe_type_name(inner):
                    out.append(inner)
                continue
            out.append(p)
        return out

    def _match(self, obj, lock_address, label=None):
        pl = locks.describe(self.reader, obj, self.version[2], label)
        if pl is not None and lock_address in (pl.lock_address, pl.address):
            return pl
        return None

    def _container_label(self, obj, tname):
        """Short, escaped label of an object holding a lock: Type or Type('name')."""
        short = locks._safe(tname.rsplit(".", 1)[-1], 40)
        for attr in ("name", "_name"):
            v = self.reader.attr(obj, attr)
            text = self.reader.read_str(v, 64) if v else None
            if text is not None:
                return "%s('%s')" % (short, locks._safe(text, 40))
        return short

    def _check_with_attrs(self, obj, lock_address, func):
        where = "in %s()" % locks._safe(func, 64)
        pl = self._match(obj, lock_address)
        if pl:
            pl.found_in = "a local " + where
            return pl
        tname = self.reader.safe_type_name(obj)
        if tname in ("int", "str", "bytes", "float", "tuple", "code", "function", "module",
                     "type", "NoneType", "bool", "dict", "list", "frame", "cell", None):
            return None
        for k, v in self.reader.instance_attrs(obj)[:MAX_ATTRS]:
            if not plausible_pointer(v):
                continue
            pl = self._match(v, lock_address)
            if pl:
                attr = self.reader.read_str(k, 64) or "?"
                pl.found_in = "%s.%s %s" % (self._container_label(obj, tname),
                                            locks._safe(attr, 64), where)
                pl.description = "%s of %s" % (pl.description, pl.found_in)
                return pl
        return None

    def _std_streams(self):
        out = []
        sysdict = self._sysdict()
        if not sysdict:
            return out
        for name in ("stdout", "stderr", "__stdout__", "__stderr__", "stdin"):
            stream = self.reader.dict_get_str(sysdict, name)
            if not stream or not plausible_pointer(stream):
                continue
            tname = self.reader.safe_type_name(stream)
            if tname == "_io.TextIOWrapper" and "textio.buffer" in self.lay:
                try:
                    buf = _mem.ptr(stream + self.lay["textio.buffer"])
                except MemError:
                    continue
                if plausible_pointer(buf):
                    out.append((name, buf))
            elif tname in locks.BUFFERED_TYPES:
                out.append((name, stream))
        return out

    def find_lock_object(self, thread_ident, lock_address):
        """The lock-bearing object whose underlying lock is lock_address, looked for in
        the innermost frames of thread thread_ident (None: every thread), one level of
        attributes of what is there, and sys.stdout/stderr/stdin's buffers."""
        if not lock_address:
            return None
        try:
            return self._find_lock_object(thread_ident, lock_address)
        except Exception as exc:
            self.errors.append("find_lock_object: %r" % (exc,))
            return None

    def _find_lock_object(self, thread_ident, lock_address):
        try:
            for t in self.threads():
                if thread_ident is not None and t.thread_ident != thread_ident:
                    continue
                for f, code, _off in self.walker.raw_frames(t.tstate)[:FIND_FRAMES]:
                    try:
                        func = self.walker.code_info(code).name or "?"
                    except MemError:
                        func = "?"
                    for obj in self._candidates_of_frame(f, code):
                        pl = self._check_with_attrs(obj, lock_address, func)
                        if pl:
                            return pl
            for name, buf in self._std_streams():
                pl = self._match(buf, lock_address, "sys." + name)
                if pl:
                    pl.found_in = "sys.%s.buffer" % name
                    return pl
        except MemError:
            return None
        return None

    def with_holds(self, thread):
        """([with_blocks.WithHold], [note]) for a PyThread: the objects its frames' active
        `with` blocks entered, innermost first, and why a walk stopped early."""
        notes = []
        try:
            return with_blocks.with_holds(self, thread.tstate, notes), notes
        except Exception as exc:
            self.errors.append("with_holds: %r" % (exc,))
            return [], notes

    def condition_waits(self, thread):
        """Addresses of the threading.Conditions the thread is inside wait()/wait_for() of
        (Lib/threading.py: wait releases the Condition's lock until it returns)."""
        out = []
        try:
            for f in thread.frames[:with_blocks.MAX_FRAMES]:
                if f.function in ("wait", "wait_for") and (f.file or "").endswith("threading.py") \
                        and f.address and f.code:
                    obj = with_blocks.first_local(self, f.address, f.code)
                    if obj and self.reader.safe_type_name(obj) == "Condition":
                        out.append(obj)
        except Exception as exc:
            self.errors.append("condition_waits: %r" % (exc,))
        return out

    def module_lock_of(self, thread_ident):
        """importlib's per-module lock (ModuleLock) the thread with `thread_ident` waits on
        (in its innermost frames) or else holds (an enclosing `with _ModuleLockManager`);
        None when neither, or when it cannot be read."""
        if thread_ident is None:
            return None
        try:
            return modlock.find(self, thread_ident)
        except Exception as exc:
            self.errors.append("module_lock_of: %r" % (exc,))
            return None

    def at_fork_child_hooks(self):
        """[AtForkHook] the main interpreter's os.register_at_fork(after_in_child=...)
        callables, in the order they run ([] when none or unreadable). With
        PyThread.frames[i].code this tells, without native symbols, that a thread of a
        forked child is inside one of them (so inside os.fork())."""
        try:
            return self._at_fork_child_hooks()
        except Exception as exc:
            self.errors.append("at_fork_child_hooks: %r" % (exc,))
            return []

    def _at_fork_child_hooks(self):
        r, lay = self.reader, self.lay
        interp = self._main_interp()
        if not interp or "interp.after_forkers_child" not in lay or "list.ob_item" not in lay:
            return []
        try:
            hooks = _mem.ptr(interp + lay["interp.after_forkers_child"])
        except MemError:
            return []
        if not hooks or r.safe_type_name(hooks) != "list":
            return []  # none registered, or not where this version keeps it
        try:
            n = _mem.i64(hooks + lay["varobject.ob_size"])
            items = _mem.ptr(hooks + lay["list.ob_item"])
            if n < 0 or n > MAX_HOOKS or (n and not plausible_pointer(items)):
                return []
            raw = _mem.read(items, 8 * n) if n else b""
        except MemError:
            return []
        out = []
        for i in range(n):
            obj = int.from_bytes(raw[8 * i:8 * i + 8], "little")
            func = obj
            if r.safe_type_name(obj) == "method" and "method.im_func" in lay:
                try:
                    func = _mem.ptr(obj + lay["method.im_func"])
                except MemError:
                    func = 0
            code = None
            if func and r.safe_type_name(func) == "function" and "function.func_code" in lay:
                try:
                    code = _mem.ptr(func + lay["function.func_code"]) or None
                except MemError:
                    code = None
            name = None
            if code is not None:
                try:
                    name = self.walker.code_info(code).name
                except MemError:
                    code = None
            out.append(AtForkHook(obj, code, name if name is not None else r.safe_type_name(obj)))
        return out

    def std_stream_locks(self):
        """[PyLock] for sys.stdout/stderr/stdin buffers (extra, not in DESIGN)."""
        try:
            return self._std_stream_locks()
        except Exception as exc:
            self.errors.append("std_stream_locks: %r" % (exc,))
            return []

    def _std_stream_locks(self):
        out = []
        for name, buf in self._std_streams():
            pl = locks.describe(self.reader, buf, self.version[2], "sys." + name)
            if pl:
                pl.found_in = "sys.%s.buffer" % name
                out.append(pl)
        return out
