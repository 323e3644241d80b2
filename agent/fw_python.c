/* fw_python.c — Python stacks through CPython's public C API, found with dlsym
 * at run time (the agent has no build-time dependency on Python).
 *
 * At a fork (parent, the forking thread holds the GIL) we walk the thread
 * states of the threads that hold locks (the holders the child may report) with PyInterpreterState_Head / _ThreadHead / PyThreadState_Next: they
 * read fields and take no lock. sys._current_frames() would not do: on 3.13
 * PyOS_BeforeFork already holds HEAD_LOCK, which it takes again. */
#include "fw_python.h"

#include "fw_buf.h"
#include "fw_log.h"
#include "fw_orphan.h"
#include "fw_registry.h"
#include "fw_thread.h"

#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <stddef.h>
#include <string.h>

#define FRAMES_PER_THREAD_MAX 128u

/* Did the forking thread hold the GIL at the latest fork? Then, in the child,
 * the GIL is ours or free, never held by a thread that vanished. */
static int forker_had_gil;

typedef void *obj_t;

static struct {
    int resolved;        /* 1 resolved, -1 not a (supported) Python process */
    int minor;           /* 3.minor */
    int pymutex_locks;   /* 3.13.1+: threading.Lock (3.14: RLock) is a PyMutex, invisible at fork */
    size_t thread_id_off;   /* offsetof(PyThreadState, thread_id) */
    size_t native_id_off;   /* offsetof(PyThreadState, native_thread_id) (3.11+), 0 = none */
    int (*IsInitialized)(void);
    int (*GILState_Check)(void);
    const char *(*GetVersion)(void);
    obj_t (*InterpHead)(void);
    obj_t (*InterpNext)(obj_t);
    obj_t (*ThreadHead)(obj_t);
    obj_t (*ThreadNext)(obj_t);
    obj_t (*ThisThreadState)(void);
    obj_t (*GetFrame)(obj_t);          /* 3.9+, new reference */
    obj_t (*FrameBack)(obj_t);         /* 3.9+, new reference */
    obj_t (*FrameCode)(obj_t);         /* 3.9+, new reference */
    int (*FrameLine)(obj_t);
    obj_t (*GetAttr)(obj_t, const char *);
    const char *(*AsUTF8)(obj_t);
    void (*DecRef)(obj_t);
    void (*ErrFetch)(obj_t *, obj_t *, obj_t *);
    void (*ErrRestore)(obj_t, obj_t, obj_t);
    void (*ErrClear)(void);
    obj_t (*ModuleDict)(void);
    obj_t (*DictGetItemString)(obj_t, const char *);
    obj_t (*DictGetItem)(obj_t, obj_t);
    obj_t (*LongFromUnsignedLong)(unsigned long);
    obj_t (*RestoreThread)(obj_t);     /* PyEval_RestoreThread: returns void, ignored */
    obj_t (*SaveThread)(void);
    uint64_t runtime_lo, runtime_hi;   /* _PyRuntime: holds the GIL and its mutex */
    int (*GCDisable)(void);            /* 3.10+, optional */
    int (*GCEnable)(void);
    char version[16];                  /* "3.11.7": read in the parent, kept for the child */
} py;

/* One row per minor of gdb/forkwatch/cpython/layouts.py's TABLES (fw_py_offsets.h,
 * generated at build time). */
static const struct fw_py_layout layouts[] = { FW_PY_LAYOUT_ROWS };

const struct fw_py_layout *fw_py_layout_for(int minor)
{
    for (size_t i = 0; i < sizeof layouts / sizeof layouts[0]; i++)
        if (layouts[i].minor == minor)
            return &layouts[i];
    return 0;
}

#define LOOKUP(field, name) (*(void **)&py.field = dlsym(RTLD_DEFAULT, name))

static int parse_minor(const char *v)
{
    if (!v || v[0] != '3' || v[1] != '.')
        return -1;
    int minor = 0, digits = 0;
    for (const char *p = v + 2; *p >= '0' && *p <= '9' && digits < 3; p++, digits++)
        minor = minor * 10 + (*p - '0');
    return digits ? minor : -1;
}

/* "3.13.18 (main, ...)" -> 18; -1 if absent. */
static int parse_micro(const char *v)
{
    const char *p = v ? strchr(v, '.') : 0;
    p = p ? strchr(p + 1, '.') : 0;
    if (!p || p[1] < '0' || p[1] > '9')
        return -1;
    int micro = 0;
    for (p++; *p >= '0' && *p <= '9' && micro < 1000; p++)
        micro = micro * 10 + (*p - '0');
    return micro;
}

void fw_python_resolve(void)
{
    if (py.resolved)
        return;
    py.resolved = -1;
    if (!LOOKUP(IsInitialized, "Py_IsInitialized") || !LOOKUP(GetVersion, "Py_GetVersion"))
        return;
    py.minor = parse_minor(py.GetVersion());
    {   /* the version number only: Py_GetVersion() continues " (main, date) [compiler]" */
        const char *v = py.GetVersion();
        size_t i = 0;
        for (; v && v[i] && v[i] != ' ' && i + 1 < sizeof py.version; i++)
            py.version[i] = v[i];
        py.version[i] = '\0';
    }
    py.pymutex_locks = py.minor > 13 || (py.minor == 13 && parse_micro(py.GetVersion()) >= 1);
    const struct fw_py_layout *lay = fw_py_layout_for(py.minor);
    if (!lay)
        return;   /* a version whose layout we do not know: no Python capture */
    py.thread_id_off = lay->tstate_thread_id;
    py.native_id_off = lay->tstate_native_id;
    int ok = LOOKUP(GILState_Check, "PyGILState_Check") && LOOKUP(InterpHead, "PyInterpreterState_Head") &&
             LOOKUP(InterpNext, "PyInterpreterState_Next") &&
             LOOKUP(ThreadHead, "PyInterpreterState_ThreadHead") &&
             LOOKUP(ThreadNext, "PyThreadState_Next") &&
             LOOKUP(ThisThreadState, "PyGILState_GetThisThreadState") &&
             LOOKUP(FrameLine, "PyFrame_GetLineNumber") && LOOKUP(GetAttr, "PyObject_GetAttrString") &&
             LOOKUP(AsUTF8, "PyUnicode_AsUTF8") && LOOKUP(DecRef, "Py_DecRef") &&
             LOOKUP(ErrFetch, "PyErr_Fetch") && LOOKUP(ErrRestore, "PyErr_Restore") && LOOKUP(ErrClear, "PyErr_Clear") &&
             LOOKUP(ModuleDict, "PyImport_GetModuleDict") &&
             LOOKUP(DictGetItemString, "PyDict_GetItemString") && LOOKUP(DictGetItem, "PyDict_GetItem") &&
             LOOKUP(LongFromUnsignedLong, "PyLong_FromUnsignedLong") &&
             LOOKUP(RestoreThread, "PyEval_RestoreThread") && LOOKUP(SaveThread, "PyEval_SaveThread");
    if (py.minor >= 9)
        ok = ok && LOOKUP(GetFrame, "PyThreadState_GetFrame") && LOOKUP(FrameBack, "PyFrame_GetBack") &&
             LOOKUP(FrameCode, "PyFrame_GetCode");
    void *rt = dlsym(RTLD_DEFAULT, "_PyRuntime");
    Dl_info info;
    const ElfW(Sym) *sym = 0;
    if (rt && dladdr1(rt, &info, (void **)&sym, RTLD_DL_SYMENT) && sym && sym->st_size) {
        py.runtime_lo = (uint64_t)(uintptr_t)rt;
        py.runtime_hi = py.runtime_lo + sym->st_size;
    }
    LOOKUP(GCDisable, "PyGC_Disable");
    LOOKUP(GCEnable, "PyGC_Enable");
    if (ok)
        py.resolved = 1;
}

static uint64_t tstate_ident(obj_t ts)
{
    return *(const uint64_t *)((const char *)ts + py.thread_id_off);
}

/* ---- frames (the caller holds the GIL) ---- */

static obj_t first_frame(obj_t ts)
{
    if (py.minor >= 9)
        return py.GetFrame(ts);
    return *(obj_t *)((char *)ts + FW_PY38_TSTATE_FRAME);   /* borrowed on 3.8 */
}

static obj_t next_frame(obj_t f)
{
    obj_t back;
    if (py.minor >= 9) {
        back = py.FrameBack(f);
        py.DecRef(f);
    } else {
        back = *(obj_t *)((char *)f + FW_PY38_FRAME_BACK);
    }
    return back;
}

static void drop_frame(obj_t f)
{
    if (f && py.minor >= 9)
        py.DecRef(f);
}

static void copy_attr(obj_t o, const char *attr, char *dst, size_t cap)
{
    dst[0] = '\0';
    obj_t v = py.GetAttr(o, attr);
    if (!v) {
        py.ErrClear();   /* never call on with an exception set */
        return;
    }
    const char *s = py.AsUTF8(v);
    if (s)
        fw_copy_str(dst, cap, s);
    else
        py.ErrClear();
    py.DecRef(v);
}

static void describe_frame(obj_t f, struct fw_py_frame *out)
{
    memset(out, 0, sizeof *out);
    int line = py.FrameLine(f);
    out->line = line > 0 ? (uint32_t)line : 0;
    obj_t code;
    if (py.minor >= 9) {
        code = py.FrameCode(f);
    } else {
        code = *(obj_t *)((char *)f + FW_PY38_FRAME_CODE);
    }
    if (!code)
        return;
    copy_attr(code, "co_filename", out->file, sizeof out->file);
    copy_attr(code, "co_name", out->function, sizeof out->function);
    if (py.minor >= 9)
        py.DecRef(code);
}

/* Frames of thread state ts, innermost first; returns how many were stored. */
static uint32_t read_frames(obj_t ts, struct fw_py_frame *out, uint32_t max)
{
    uint32_t n = 0;
    obj_t f = first_frame(ts);
    while (f && n < max) {
        describe_frame(f, &out[n++]);
        f = next_frame(f);
    }
    drop_frame(f);
    return n;
}

/* threading._active[ident]._name, without importing or running Python code. */
static void thread_name(uint64_t ident, char *dst, size_t cap)
{
    dst[0] = '\0';
    obj_t threading = py.DictGetItemString(py.ModuleDict(), "threading");
    if (!threading)
        return;
    obj_t active = py.GetAttr(threading, "_active");
    if (!active) {
        py.ErrClear();
        return;
    }
    obj_t key = py.LongFromUnsignedLong((unsigned long)ident);
    if (key) {
        obj_t thread = py.DictGetItem(active, key);   /* borrowed */
        if (thread)
            copy_attr(thread, "_name", dst, cap);
        py.DecRef(key);
    }
    py.DecRef(active);
}

static int32_t tid_of(obj_t ts, uint64_t ident)
{
    if (py.native_id_off)
        return (int32_t)*(const uint64_t *)((const char *)ts + py.native_id_off);
    const struct fw_registry *r = &forkwatch_registry;
    for (uint32_t i = 0; i < r->header.threads.used && i < FW_MAX_THREADS; i++)
        if (r->threads[i].state == FW_THREAD_LIVE && r->threads[i].pthread_id == ident)
            return r->threads[i].tid;
    return 0;
}

/* Has t an entry other than a blocking acquire in progress? On 3.13.1+ every
 * idle Python thread sits in sem_wait on its own parking semaphore (an
 * ACQUIRING entry): that is no lock the child can find held. */
static int holds_entry(const struct fw_thread *t)
{
    uint32_t used = __atomic_load_n(&t->held_used, __ATOMIC_RELAXED);
    for (uint32_t k = 0; k < used && k < FW_MAX_HELD; k++)
        if (__atomic_load_n(&t->held[k].state, __ATOMIC_RELAXED) != FW_HOLD_ACQUIRING)
            return 1;
    return 0;
}

/* Is the thread with this ident worth a capture: it holds a lock (a fork_held
 * holder, or a thread with entries, whose lock the child may adopt)? Walking
 * every Python thread's frames cost ~60 µs per thread at a fork. */
static int holds_locks(uint64_t ident)
{
    const struct fw_registry *r = &forkwatch_registry;
    uint32_t n = r->header.fork_held.used;
    for (uint32_t i = 0; i < n && i < FW_MAX_FORK_HELD; i++)
        if (r->fork_held[i].holder_pthread == ident)
            return 1;
    for (uint32_t i = 0; i < r->header.threads.used && i < FW_MAX_THREADS; i++) {
        const struct fw_thread *t = &r->threads[i];
        if (t->pthread_id == ident && __atomic_load_n(&t->state, __ATOMIC_RELAXED) == FW_THREAD_LIVE &&
            (holds_entry(t) || __atomic_load_n(&t->fw_inflight, __ATOMIC_RELAXED) != 0 ||
             fw_held_inflight(t) != 0))
            return 1;
    }
    return 0;
}

/* With PyMutex locks (3.13.1+) a Python lock's holder took it with an inline
 * atomic and has no entry: the child can only say "one of the threads lost in
 * the fork". Up to this many threads without entries are captured as well
 * (the first in the interpreter's list, ~60 µs each: about 0.5 ms at most). */
#define PYMUTEX_EXTRA_THREADS 8u
#define PYMUTEX_EXTRA_FRAMES 24u   /* innermost frames only for those */

static void capture_all(void)
{
    struct fw_registry *r = &forkwatch_registry;
    uint32_t nt = 0, nf = 0, extra = 0;
    uint64_t me = (uint64_t)pthread_self();
    for (obj_t in = py.InterpHead(); in; in = py.InterpNext(in)) {
        for (obj_t ts = py.ThreadHead(in); ts; ts = py.ThreadNext(ts)) {
            uint64_t ident = tstate_ident(ts);
            uint32_t frames_max = FRAMES_PER_THREAD_MAX;
            if (ident != me && !holds_locks(ident)) {   /* the forker's own: where the fork came from */
                if (!py.pymutex_locks || extra >= PYMUTEX_EXTRA_THREADS)
                    continue;
                extra++;
                frames_max = PYMUTEX_EXTRA_FRAMES;
            }
            if (nt >= FW_MAX_PY_THREADS || nf >= FW_MAX_PY_FRAMES) {
                fw_warn_flag_once(FW_FLAG_PY_FULL, "Python capture truncated at a fork");
                goto done;
            }
            struct fw_py_thread *pt = &r->py_threads[nt];
            memset(pt, 0, sizeof *pt);
            pt->thread_ident = ident;
            pt->tid = tid_of(ts, pt->thread_ident);
            pt->frame_first = nf;
            uint32_t room = FW_MAX_PY_FRAMES - nf;
            pt->frame_count = read_frames(ts, &r->py_frames[nf], room < frames_max ? room : frames_max);
            nf += pt->frame_count;
            thread_name(pt->thread_ident, pt->name, sizeof pt->name);
            nt++;
        }
    }
done:
    __atomic_store_n(&r->header.py_frames.used, nf, __ATOMIC_RELEASE);
    __atomic_store_n(&r->header.py_threads.used, nt, __ATOMIC_RELEASE);
}

void fw_python_note_fork(void)
{
    fw_python_resolve();
    forker_had_gil = py.resolved == 1 && py.IsInitialized() && py.GILState_Check();
}

int fw_python_capture_at_fork(void)
{
    fw_python_resolve();
    if (py.resolved != 1 || !py.IsInitialized() || !py.GILState_Check())
        return 0;
    obj_t self = py.ThisThreadState();
    /* Self-check of the layout table: our own thread state must name us. */
    if (!self || tstate_ident(self) != (uint64_t)pthread_self())
        return 0;
    obj_t et, ev, tb;
    py.ErrFetch(&et, &ev, &tb);
    int gc_was_on = py.GCDisable ? py.GCDisable() : 0;   /* no finalizers at fork time */
    capture_all();
    if (gc_was_on && py.GCEnable)
        py.GCEnable();
    py.ErrRestore(et, ev, tb);
    return 1;
}

int fw_python_pymutex_locks(void)
{
    fw_python_resolve();
    return py.resolved == 1 && py.pymutex_locks;
}

int fw_python_minor(void)
{
    fw_python_resolve();
    return py.GetVersion ? py.minor : -1;
}

int fw_python_initialized(void)
{
    fw_python_resolve();
    return py.IsInitialized && py.GetVersion && py.IsInitialized();
}

int32_t fw_python_thread_index(uint64_t pthread_id)
{
    const struct fw_registry *r = &forkwatch_registry;
    uint32_t n = r->header.py_threads.used;
    for (uint32_t i = 0; i < n && i < FW_MAX_PY_THREADS; i++)
        if (r->py_threads[i].thread_ident == pthread_id)
            return (int32_t)i;
    return -1;
}

uint32_t fw_python_current_stack(struct fw_py_frame *out, uint32_t max, char *name, size_t name_cap)
{
    if (name_cap)
        name[0] = '\0';
    /* No dlsym in the child: only what the parent resolved at the fork. */
    if (py.resolved != 1 || !py.IsInitialized())
        return 0;
    obj_t ts = py.ThisThreadState();
    if (!ts || tstate_ident(ts) != (uint64_t)pthread_self())
        return 0;
    /* A blocking Python acquire released the GIL first. The child has one thread,
     * so the GIL is free: take it back for the walk, then give it up again. */
    int attached = py.GILState_Check();
    if (!attached) {
        /* Taking the GIL back could block for ever when a vanished thread holds
         * it (a fork made with the GIL released) or holds its internal mutex. */
        if (!forker_had_gil || !py.runtime_hi || fw_orphan_mutex_held_in(py.runtime_lo, py.runtime_hi))
            return 0;
        py.RestoreThread(ts);
    }
    obj_t et, ev, tb;
    py.ErrFetch(&et, &ev, &tb);
    uint32_t n = read_frames(ts, out, max);
    if (name_cap)
        thread_name(tstate_ident(ts), name, name_cap);
    py.ErrRestore(et, ev, tb);
    if (!attached)
        py.SaveThread();
    return n;
}

const char *fw_python_version(void)
{
    return py.resolved == 1 && py.version[0] ? py.version : 0;
}

/* os.fork() runs PyOS_AfterFork_Child in the child before any Python code, and
 * it deletes every other thread state (_PyThreadState_DeleteExcept up to 3.12,
 * _PyThreadState_RemoveExcept + _PyThreadState_DeleteList in 3.13+), after the
 * interpreter's at-fork hooks' preparation (PyOS_BeforeFork) in the parent. A
 * fork from C (ctypes, an extension) runs neither: the lost threads' states are
 * still listed. Only plain field reads (PyInterpreterState_Head/ThreadHead,
 * PyThreadState_Next); the caller checked that the child has one thread, so no
 * one changes the lists. */
int fw_python_forked_raw(void)
{
    if (py.resolved != 1 || !py.IsInitialized())
        return -1;
    obj_t self = py.ThisThreadState();
    if (!self || tstate_ident(self) != (uint64_t)pthread_self())
        return -1;
    uint32_t others = 0, seen = 0;
    for (obj_t in = py.InterpHead(); in && seen < 4096; in = py.InterpNext(in))
        for (obj_t ts = py.ThreadHead(in); ts && seen < 4096; ts = py.ThreadNext(ts), seen++)
            if (ts != self)
                others++;
    return others > 0;
}
