/* fw_gil.c — see fw_gil.h.
 *
 * Parent side: CPython found with dlsym (once), the GIL read with raw memory
 * reads through the minor's offsets (fw_py_layout_for); thread states are read fault-safely
 * (process_vm_readv on ourselves), since a stale last_holder may point at freed
 * memory. Child side: memory reads, registry writes, write(2), _exit only. */
#include "fw_gil.h"
#include "fw_saferead.h"

#include "fw_buf.h"
#include "fw_config.h"
#include "fw_event.h"
#include "fw_orphan.h"
#include "fw_python.h"
#include "fw_registry.h"
#include "fw_thread.h"

#include <dlfcn.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

int fw_gil_watch;

static struct {
    int resolved;                   /* 1 found, -1 not a CPython we know */
    const struct fw_py_layout *lay;
    uint64_t runtime;               /* &_PyRuntime */
    void *(*InterpMain)(void);
} py;

/* State of the latest fork (copied into the child). */
static const struct fw_py_layout *fork_lay;
static uint64_t fork_gil;           /* the struct _gil_runtime_state, 0 = none */
static uint64_t fork_interp;        /* the main interpreter, 0 = unknown */
static int32_t gil_entry = -1;      /* its fork_held index, -1 = none */
static uint64_t holder_tstate;      /* child: the vanished holder's thread state */
static uint64_t test_gil;           /* tests: the GIL "found" at every fork */

static void resolve(void)
{
    if (py.resolved)
        return;
    py.resolved = -1;   /* once, like fw_python.c: a fork of a C program pays no dlsym */
    py.lay = fw_py_layout_for(fw_python_minor());
    if (!py.lay)
        return;
    py.runtime = (uint64_t)(uintptr_t)dlsym(RTLD_DEFAULT, "_PyRuntime");
    *(void **)&py.InterpMain = dlsym(RTLD_DEFAULT, "PyInterpreterState_Main");
    if (py.lay->runtime_ceval_gil ? py.runtime != 0 : py.InterpMain != 0)
        py.resolved = 1;
}

/* The main interpreter's GIL, or 0 (no CPython, not initialised, unreadable). */
static uint64_t find_gil(void)
{
    if (test_gil)
        return test_gil;
    resolve();
    if (py.resolved != 1 || !fw_python_initialized())
        return 0;
    /* PyInterpreterState_Main() reads _PyRuntime.interpreters.main: no lock. */
    uint64_t interp = py.InterpMain ? (uint64_t)(uintptr_t)py.InterpMain() : 0, gil = 0;
    fork_interp = interp;
    if (py.lay->runtime_ceval_gil)
        return py.runtime + py.lay->runtime_ceval_gil;
    if (!interp || !fw_safe_read(interp + py.lay->interp_ceval_gil, &gil, sizeof gil))
        return 0;
    return gil;
}

/* ---- the holder's threading.Thread name, read raw (as the GDB side does) ---- */

#define MAX_DICT_ENTRIES (1u << 16)
#define TPFLAGS_INLINE_VALUES (1ull << 2)   /* 3.13 */
#define TPFLAGS_MANAGED_DICT (1ull << 4)    /* 3.11+ */

static int read_u64(uint64_t addr, uint64_t *v)
{
    return fw_safe_read(addr, v, sizeof *v);
}

/* Is obj of the built-in type named `name`? */
static int type_is(uint64_t obj, const char *name)
{
    uint64_t tp, tp_name;
    char buf[8];
    size_t n = strlen(name) + 1;
    if (n > sizeof buf || !read_u64(obj + FW_PY_OB_TYPE, &tp) ||
        !read_u64(tp + FW_PY_TP_NAME, &tp_name) || !fw_safe_read(tp_name, buf, n))
        return 0;
    return memcmp(buf, name, n) == 0;
}

/* A compact ASCII str's text into out (NUL-terminated, truncated to cap - 1);
 * returns its full length, or -1 when obj is no compact ASCII str. */
static int64_t read_ascii(const struct fw_py_layout *lay, uint64_t obj, char *out, size_t cap)
{
    uint32_t state;
    int64_t len;
    if (!type_is(obj, "str") || !fw_safe_read(obj + FW_PY_STR_STATE, &state, sizeof state) ||
        !(state & (1u << FW_PY_STR_COMPACT_BIT)) || !(state & (1u << FW_PY_STR_ASCII_BIT)) ||
        !fw_safe_read(obj + FW_PY_STR_LENGTH, &len, sizeof len) || len < 0)
        return -1;
    size_t n = (uint64_t)len < cap - 1 ? (size_t)len : cap - 1;
    if (!fw_safe_read(obj + lay->ascii_size, out, n))
        return -1;
    out[n] = '\0';
    return len;
}

static int str_equals(const struct fw_py_layout *lay, uint64_t obj, const char *s)
{
    char buf[32];
    return read_ascii(lay, obj, buf, sizeof buf) == (int64_t)strlen(s) && strcmp(buf, s) == 0;
}

/* A non-negative int of at most 3 digits (any thread ident); 1 on success. */
static int read_ident(const struct fw_py_layout *lay, uint64_t obj, uint64_t *v)
{
    uint64_t ndigits;
    if (!type_is(obj, "int"))
        return 0;
    if (lay->minor >= 12) {
        uint64_t tag;
        if (!read_u64(obj + FW_PY_LONG_TAG, &tag) || (tag & 3) == 2)
            return 0;   /* negative */
        ndigits = tag >> 3;
    } else {
        int64_t size;
        if (!fw_safe_read(obj + FW_PY_OB_SIZE, &size, sizeof size) || size < 0)
            return 0;
        ndigits = (uint64_t)size;
    }
    uint32_t d[3];
    if (ndigits > 3 || (ndigits && !fw_safe_read(obj + FW_PY_LONG_DIGITS, d, 4 * ndigits)))
        return 0;
    uint64_t x = 0;
    for (uint64_t i = ndigits; i-- > 0;)
        x = (x << 30) | (d[i] & 0x3fffffffu);
    *v = x;
    return 1;
}

/* Entry i of a dict keys object: key and value (value 0 in split tables). */
struct dict_walk {
    uint64_t entries, esize, key_at, n;
};

static int dict_walk_init(const struct fw_py_layout *lay, uint64_t keys, struct dict_walk *w)
{
    int64_t n;
    if (lay->minor <= 10) {
        int64_t size;
        if (!fw_safe_read(keys + FW_PY_DK_SIZE_OLD, &size, sizeof size) || size <= 0 || size > (1 << 24) ||
            !fw_safe_read(keys + FW_PY_DK_NENTRIES_OLD, &n, sizeof n))
            return 0;
        uint64_t isz = size <= 0xff ? 1 : size <= 0xffff ? 2 : 4;
        w->entries = keys + FW_PY_DK_INDICES_OLD + (uint64_t)size * isz;
        w->esize = 24;
        w->key_at = 8;
    } else {
        uint8_t log2ib, kind;
        if (!fw_safe_read(keys + FW_PY_DK_LOG2_INDEX_BYTES, &log2ib, 1) || log2ib > 40 ||
            !fw_safe_read(keys + FW_PY_DK_KIND, &kind, 1) ||
            !fw_safe_read(keys + FW_PY_DK_NENTRIES, &n, sizeof n))
            return 0;
        w->entries = keys + FW_PY_DK_INDICES + (1ull << log2ib);
        w->esize = kind ? 16 : 24;   /* unicode/split keys: {key, value} */
        w->key_at = kind ? 0 : 8;
    }
    if (n < 0 || n > (int64_t)MAX_DICT_ENTRIES)
        return 0;
    w->n = (uint64_t)n;
    return 1;
}

/* Key and value of entry i; values != 0: a split table's value array. */
static int dict_entry(const struct dict_walk *w, uint64_t values, uint64_t i, uint64_t *key, uint64_t *val)
{
    uint64_t e = w->entries + i * w->esize;
    if (!read_u64(e + w->key_at, key) || !*key)
        return 0;
    return values ? read_u64(values + 8 * i, val) && *val : read_u64(e + w->key_at + 8, val) && *val;
}

/* d[name] for a str key, walking the entries (no hashing); 0 when absent.
 * values: a split table's value array (0: combined, or read from the dict). */
static uint64_t keys_get_str(const struct fw_py_layout *lay, uint64_t keys, uint64_t values, const char *name)
{
    struct dict_walk w;
    if (!dict_walk_init(lay, keys, &w))
        return 0;
    for (uint64_t i = 0; i < w.n; i++) {
        uint64_t k, v;
        if (dict_entry(&w, values, i, &k, &v) && str_equals(lay, k, name))
            return v;
    }
    return 0;
}

static uint64_t dict_get_str(const struct fw_py_layout *lay, uint64_t dict, const char *name)
{
    uint64_t keys, values;
    if (!type_is(dict, "dict") || !read_u64(dict + FW_PY_MA_KEYS, &keys) ||
        !read_u64(dict + FW_PY_MA_VALUES, &values))
        return 0;
    return keys_get_str(lay, keys, values ? values + lay->dictvalues_values : 0, name);
}

/* obj.name from its instance __dict__ or inline values (3.11+ managed dicts). */
static uint64_t attr(const struct fw_py_layout *lay, uint64_t obj, const char *name)
{
    uint64_t tp, flags, p;
    if (!read_u64(obj + FW_PY_OB_TYPE, &tp) || !read_u64(tp + FW_PY_TP_FLAGS, &flags))
        return 0;
    uint64_t cached = 0;
    if (lay->minor >= 11 && (flags & TPFLAGS_MANAGED_DICT)) {
        if (!read_u64(obj - 24, &p) || !read_u64(tp + lay->ht_cached_keys, &cached))
            return 0;
        if (lay->minor == 11) {
            if (p)
                return dict_get_str(lay, p, name);
            uint64_t values;
            return read_u64(obj - 32, &values) && values ? keys_get_str(lay, cached, values, name) : 0;
        }
        if (lay->minor == 12) {
            if (p & 1)   /* values pointer stored minus one */
                return keys_get_str(lay, cached, p + 1 + lay->dictvalues_values, name);
            return p ? dict_get_str(lay, p, name) : 0;
        }
        if (p)
            return dict_get_str(lay, p, name);
        int64_t basic;
        uint8_t valid;
        if (!(flags & TPFLAGS_INLINE_VALUES) || !fw_safe_read(tp + FW_PY_TP_BASICSIZE, &basic, sizeof basic) ||
            basic <= 0 || basic > 65536 || !fw_safe_read(obj + (uint64_t)basic + 3, &valid, 1) || !valid)
            return 0;
        return keys_get_str(lay, cached, obj + (uint64_t)basic + lay->dictvalues_values, name);
    }
    int64_t off;
    if (!fw_safe_read(tp + FW_PY_TP_DICTOFFSET, &off, sizeof off) || off <= 0 || off > 65536 ||
        !read_u64(obj + (uint64_t)off, &p) || !p)
        return 0;
    return dict_get_str(lay, p, name);
}

int fw_gil_thread_name(const struct fw_py_layout *lay, uint64_t interp, uint64_t ident,
                       char *out, size_t cap)
{
    uint64_t modules, module, md, active, keys, values;
    if (!lay || !interp || !read_u64(interp + lay->interp_modules, &modules) ||
        !(module = dict_get_str(lay, modules, "threading")) || !read_u64(module + FW_PY_MD_DICT, &md) ||
        !(active = dict_get_str(lay, md, "_active")) || !type_is(active, "dict") ||
        !read_u64(active + FW_PY_MA_KEYS, &keys) || !read_u64(active + FW_PY_MA_VALUES, &values))
        return 0;
    struct dict_walk w;
    if (!dict_walk_init(lay, keys, &w))
        return 0;
    for (uint64_t i = 0; i < w.n; i++) {
        uint64_t k, thread, id;
        if (!dict_entry(&w, values ? values + lay->dictvalues_values : 0, i, &k, &thread) ||
            !read_ident(lay, k, &id) || id != ident)
            continue;
        uint64_t name = attr(lay, thread, "_name");
        return name && read_ascii(lay, name, out, cap) > 0;
    }
    return 0;
}

int fw_gil_held_by_other(const struct fw_py_layout *lay, const void *gil, uint64_t self_ident,
                         uint64_t *tstate, uint64_t *ident)
{
    uint64_t base = (uint64_t)(uintptr_t)gil, last = 0, id = 0;
    int32_t locked = 0;
    if (!lay || !fw_safe_read(base + lay->gil_locked, &locked, sizeof locked) || locked != 1)
        return 0;   /* free, or not initialised (-1) */
    if (!fw_safe_read(base + lay->gil_last_holder, &last, sizeof last) || !last)
        return 0;
    if (!fw_safe_read(last + lay->tstate_thread_id, &id, sizeof id) || id == 0 || id == self_ident)
        return 0;
    *tstate = last;
    *ident = id;
    return 1;
}

/* The slot of the thread with this pthread_self() in one of two states, or -1. */
static int32_t slot_of(uint64_t ident, uint32_t state_a, uint32_t state_b, const struct fw_thread *self)
{
    const struct fw_registry *r = &forkwatch_registry;
    uint32_t used = __atomic_load_n(&r->header.threads.used, __ATOMIC_ACQUIRE);
    for (uint32_t i = 0; i < used && i < FW_MAX_THREADS; i++) {
        const struct fw_thread *t = &r->threads[i];
        uint32_t st = __atomic_load_n(&t->state, __ATOMIC_ACQUIRE);
        if (t != self && (st == state_a || st == state_b) && t->pthread_id == ident)
            return (int32_t)i;
    }
    return -1;
}

static void fill_entry(struct fw_fork_held *fh, uint64_t gil, uint32_t slot, uint64_t ident)
{
    const struct fw_thread *t = &forkwatch_registry.threads[slot];
    fh->lock_addr = gil;
    fh->call_site = 0;
    fh->kind = FW_KIND_GIL;
    fh->stack_id = 0;
    fh->holder_tid = t->tid;
    fh->holder_slot = slot;
    fh->holder_pthread = ident;
    fh->py_thread = -1;
    fh->orphan_state = FW_ORPHAN_NOT_CHILD;
    fw_copy_str(fh->holder_name, sizeof fh->holder_name, t->name);
    fh->call_site_function[0] = '\0';
}

/* Appends the GIL entry at index n; returns n + 1, or n when the table is full. */
static uint32_t append_entry(uint32_t n, uint64_t gil, uint32_t slot, uint64_t ident)
{
    struct fw_registry *r = &forkwatch_registry;
    if (n >= FW_MAX_FORK_HELD) {
        fw_registry_set_flag(FW_FLAG_FORK_HELD_FULL);
        return n;
    }
    fill_entry(&r->fork_held[n], gil, slot, ident);
    gil_entry = (int32_t)n;
    r->header.fork_held_count = n + 1;
    __atomic_store_n(&r->header.fork_held.used, n + 1, __ATOMIC_RELEASE);
    return n + 1;
}

uint32_t fw_gil_at_fork(const struct fw_thread *self, uint32_t count)
{
    gil_entry = -1;
    fork_interp = 0;
    fork_gil = find_gil();
    fork_lay = fork_gil ? py.lay : 0;
    uint64_t tstate, ident;
    if (!fork_gil || !fw_gil_held_by_other(fork_lay, (const void *)(uintptr_t)fork_gil,
                                           (uint64_t)pthread_self(), &tstate, &ident))
        return count;
    /* Only a thread the agent knows: a garbage last_holder names none. A child
     * forking again finds the holder among the threads that vanished before. */
    int32_t slot = slot_of(ident, FW_THREAD_LIVE, FW_THREAD_VANISHED, self);
    if (slot < 0)
        return count;
    return append_entry(count, fork_gil, (uint32_t)slot, ident);
}

void fw_gil_child(void)
{
    fw_gil_watch = 0;
    holder_tstate = 0;
    if (!fork_gil)
        return;
    struct fw_registry *r = &forkwatch_registry;
    uint64_t tstate, ident;
    /* pthread_self() is the forking thread's, unchanged by the fork. */
    if (!fw_gil_held_by_other(fork_lay, (const void *)(uintptr_t)fork_gil, (uint64_t)pthread_self(),
                              &tstate, &ident))
        return;   /* free, or ours: nothing to wait for */
    int32_t slot = slot_of(ident, FW_THREAD_VANISHED, FW_THREAD_VANISHED, 0);
    if (slot < 0)
        return;
    if (gil_entry < 0 || (uint32_t)gil_entry >= r->header.fork_held.used ||
        r->fork_held[gil_entry].lock_addr != fork_gil) {
        /* Taken between the snapshot and the fork: the child adds it. */
        gil_entry = -1;
        append_entry(r->header.fork_held.used, fork_gil, (uint32_t)slot, ident);
        if (gil_entry < 0)
            return;
    } else if (r->fork_held[gil_entry].holder_pthread != ident) {
        fill_entry(&r->fork_held[gil_entry], fork_gil, (uint32_t)slot, ident);   /* handed on */
    }
    holder_tstate = tstate;
    __atomic_store_n(&r->fork_held[gil_entry].orphan_state, FW_ORPHAN_LIVE, __ATOMIC_RELEASE);
    fw_gil_watch = fw_cfg.policy != FW_POLICY_OFF;
}

void fw_gil_on_cond_wait(const void *cond, uint64_t call_site)
{
    /* fork_lay/gil_entry are re-done when this child forks in turn. */
    if (!fork_lay || gil_entry < 0 || (uint64_t)(uintptr_t)cond != fork_gil + fork_lay->gil_cond ||
        fw_tls_guard)
        return;
    struct fw_registry *r = &forkwatch_registry;
    struct fw_fork_held *fh = &r->fork_held[gil_entry];
    uint64_t tstate = 0, ident;
    /* Still locked by the vanished holder? (The child may have re-created the
     * GIL, as os.fork()'s PyOS_AfterFork_Child does.) */
    if (!fw_gil_held_by_other(fork_lay, (const void *)(uintptr_t)fork_gil, (uint64_t)pthread_self(),
                              &tstate, &ident) || tstate != holder_tstate) {
        __atomic_store_n(&fh->orphan_state, FW_ORPHAN_REINITIALISED, __ATOMIC_RELEASE);
        fw_gil_watch = 0;
        return;
    }
    fw_gil_watch = 0;   /* one event; under "warn" the wait goes on */
    __atomic_add_fetch(&r->header.deadlocks_reported, 1, __ATOMIC_RELAXED);
    __atomic_store_n(&fh->orphan_state, FW_ORPHAN_REPORTED, __ATOMIC_RELEASE);
    /* The holder's Python name, read fault-safely (the objects are as the fork
     * left them: the only thread that could change them is this one, waiting). */
    char name[FW_NAME_LEN];
    if (fw_gil_thread_name(fork_lay, fork_interp, ident, name, sizeof name))
        fw_copy_str(fh->holder_name, sizeof fh->holder_name, name);
    /* No Python stack for the waiter: it has no GIL and cannot take it (3.13
     * already counts it as attached inside take_gil: do not let the event read). */
    int python = fw_cfg.python;
    fw_cfg.python = 0;
    fw_event_report(FW_EVENT_DEADLOCK, (uint32_t)gil_entry, FW_KIND_GIL, FW_ACQ_BLOCKING, call_site);
    fw_cfg.python = python;
    if (fw_cfg.policy == FW_POLICY_ABORT) {
        fw_event_say_exit();
        _exit(fw_cfg.exit_status);
    }
}

void fw_gil_set_for_test(const struct fw_py_layout *lay, void *gil)
{
    py.resolved = 0;
    py.lay = lay;
    test_gil = (uint64_t)(uintptr_t)gil;
    fork_gil = (uint64_t)(uintptr_t)gil;
    fork_lay = lay;
    gil_entry = -1;
    holder_tstate = 0;
    fw_gil_watch = 0;
}
