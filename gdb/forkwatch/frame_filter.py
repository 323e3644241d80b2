"""Frame filter for plain `bt`: CPython eval frames get the Python function, file and line
beside them (as elided child frames). `set forkwatch python-frames on|off`."""
import gdb
from gdb.FrameDecorator import FrameDecorator

from .escape import term

EVAL_NAMES = ("_PyEval_EvalFrameDefault", "PyEval_EvalFrameEx")


class _PrefixSet(gdb.Command):
    """forkwatch settings: set forkwatch python-frames on|off"""

    def __init__(self):
        super(_PrefixSet, self).__init__("set forkwatch", gdb.COMMAND_DATA, gdb.COMPLETE_NONE, True)


class _PrefixShow(gdb.Command):
    """Show forkwatch settings: show forkwatch python-frames"""

    def __init__(self):
        super(_PrefixShow, self).__init__("show forkwatch", gdb.COMMAND_DATA, gdb.COMPLETE_NONE, True)

    def invoke(self, arg, from_tty):
        gdb.execute("show forkwatch python-frames", from_tty)


class PythonFramesParam(gdb.Parameter):
    """Whether `bt` shows Python frames beside CPython's eval frames."""
    set_doc = "Set whether bt shows Python function, file and line at CPython eval frames."
    show_doc = "Show whether bt shows Python frames at CPython eval frames."

    def __init__(self):
        super(PythonFramesParam, self).__init__("forkwatch python-frames", gdb.COMMAND_DATA, gdb.PARAM_BOOLEAN)
        self.value = True

    def get_set_string(self):
        return "forkwatch python-frames is %s." % ("on" if self.value else "off")

    def get_show_string(self, svalue):
        return "forkwatch python-frames is %s." % svalue


class _PyFrameLine(object):
    """An elided pseudo-frame that prints as `[py] function (file:line)`."""

    def __init__(self, pyframe, parent):
        self._f = pyframe
        self._parent = parent

    def elided(self):
        return None

    def function(self):
        return "[py] %s" % term(getattr(self._f, "function", None))

    def address(self):
        return None

    def filename(self):
        return term(getattr(self._f, "file", None))

    def line(self):
        return getattr(self._f, "line", None)

    def frame_args(self):
        return None

    def frame_locals(self):
        return None

    def inferior_frame(self):
        return self._parent.inferior_frame()


class _Plain(FrameDecorator):
    """Frames without a symbol print as `??` (as plain bt does), not as an empty name."""

    def function(self):
        f = super(_Plain, self).function()
        if isinstance(f, int) or f is None:
            return "??"
        return f


class _EvalDecorator(FrameDecorator):
    def __init__(self, fobj, pyframes):
        super(_EvalDecorator, self).__init__(fobj)
        self._py = pyframes

    def elided(self):
        inner = super(_EvalDecorator, self).elided()
        extra = [_PyFrameLine(p, self) for p in self._py]
        if inner:
            extra.extend(inner)
        return iter(extra) if extra else None


# One CPython read serves every `bt` of one command: `thread apply all bt` decorates each
# thread's stack, and proc.threads() walks the Python frames of *all* threads, so without
# this a 100-thread process took 100 x 100 walks (11 s instead of 2.7 s). The cache is
# dropped before every prompt and whenever the inferior or its memory may have changed.
_cache = {}


def _drop_cache(*_args):
    _cache.clear()


def _connect_events():
    ev = getattr(gdb, "events", None)
    for name in ("before_prompt", "cont", "stop", "exited", "new_objfile", "clear_objfiles",
                 "memory_changed", "register_changed", "inferior_call", "new_inferior",
                 "inferior_deleted", "new_thread"):
        registry = getattr(ev, name, None)
        if registry is not None:
            try:
                registry.connect(_drop_cache)
            except (gdb.error, RuntimeError, TypeError):
                pass


def _python_threads_by_id():
    """{("ident", pthread_t) | ("tid", LWP): [PyFrame]} for the selected inferior, or None."""
    try:
        inf = gdb.selected_inferior()
        key = (inf.num, inf.pid, gdb.current_progspace().filename)
    except (gdb.error, RuntimeError):
        return None
    if key in _cache:
        return _cache[key]
    _cache.clear()
    by_id = None
    try:
        from . import cpython
        proc = cpython.inspect_process()
        if proc is not None:
            by_id = {}
            for pt in proc.threads():
                if pt.thread_ident:
                    by_id.setdefault(("ident", pt.thread_ident), list(pt.frames))
                if pt.native_tid:
                    by_id.setdefault(("tid", pt.native_tid), list(pt.frames))
    except Exception:
        by_id = None
    _cache[key] = by_id
    return by_id


def _python_frames_for_selected_thread():
    try:
        by_id = _python_threads_by_id()
        if not by_id:
            return None
        th = gdb.selected_thread()
        tid = th.ptid[1]
        fs = None
        try:
            fs = int(gdb.newest_frame().read_register("fs_base"))
        except (gdb.error, RuntimeError, ValueError):
            pass
        frames = by_id.get(("ident", fs)) if fs else None
        if frames is None and tid:
            frames = by_id.get(("tid", tid))
        return list(frames) if frames is not None else None
    except Exception:
        return None


def _is_python_process():
    try:
        prog = gdb.current_progspace().filename or ""
        if "python" in prog.rsplit("/", 1)[-1]:
            return True
        return any("libpython" in (o.filename or "") for o in gdb.objfiles())
    except (gdb.error, RuntimeError):
        return False


class PythonFrameFilter(object):
    """Active only when `forkwatch python-frames` is on and the program is CPython, so that
    other programs' `bt` is printed by GDB unchanged."""

    def __init__(self):
        self.name = "forkwatch-python"
        self.priority = 50
        gdb.frame_filters[self.name] = self

    @property
    def enabled(self):
        return bool(PARAM.value) and _is_python_process()

    @enabled.setter
    def enabled(self, value):
        PARAM.value = bool(value)

    def filter(self, frame_iter):
        if not PARAM.value:
            return frame_iter
        return self._decorate(frame_iter)

    def _decorate(self, frame_iter):
        frames = list(frame_iter)
        evals = []
        for i, d in enumerate(frames):
            try:
                fn = d.function()
                if isinstance(fn, int):
                    fn = None
            except Exception:
                fn = None
            if fn and str(fn).split("@")[0] in EVAL_NAMES:
                evals.append(i)
            elif fn is None or isinstance(fn, int):
                frames[i] = _Plain(d)
        if not evals:
            return iter(frames)
        py = _python_frames_for_selected_thread()
        if not py:
            return iter(frames)
        # one Python frame per eval frame; the innermost eval frame takes the surplus
        # (3.11+ runs Python-to-Python calls inside one eval frame).
        surplus = max(0, len(py) - len(evals))
        pos = 0
        for k, i in enumerate(evals):
            n = 1 + surplus if k == 0 else 1
            chunk = py[pos:pos + n]
            pos += n
            if chunk:
                frames[i] = _EvalDecorator(frames[i], chunk)
        return iter(frames)


_PrefixSet()
_PrefixShow()
PARAM = PythonFramesParam()
PythonFrameFilter()
_connect_events()
