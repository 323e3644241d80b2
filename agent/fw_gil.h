/* fw_gil.h — the CPython GIL held across a fork by another thread.
 *
 * A fork made from C with the GIL released (ctypes.CDLL, an extension's
 * Py_BEGIN_ALLOW_THREADS) while another Python thread holds the GIL leaves the
 * child with a GIL locked by a thread it does not have: the first return into
 * Python waits in take_gil for ever, in pthread_cond_timedwait(&gil->cond, ...)
 * in a loop while gil->locked.
 *
 * Parent (fork wrapper): the GIL's state is read through per-version offsets
 * (raw reads only, no CPython call that could take a lock); when another thread
 * holds it, one fork_held entry of kind FW_KIND_GIL is appended (lock_addr = the
 * struct _gil_runtime_state, holder = that thread's slot).
 * Child (async-signal-safe): the GIL is read again; still locked by a vanished
 * thread -> the entry becomes FW_ORPHAN_LIVE and fw_gil_watch is set; a
 * condition wait on the GIL's cond then reports a fork-deadlock and applies the
 * policy. */
#ifndef FW_GIL_H
#define FW_GIL_H

#include <stddef.h>
#include <stdint.h>

struct fw_thread;

/* Offsets into one CPython minor version's structures (from its DWARF; checked
 * by tests/unit/test_gil.c against `gdb` on the interpreters installed). */
struct fw_gil_layout {
    int minor;                   /* 3.minor */
    uint32_t runtime_ceval_gil;  /* _PyRuntimeState.ceval.gil (3.8-3.11, embedded); 0 = n/a */
    uint32_t interp_ceval_gil;   /* PyInterpreterState.ceval.gil (3.12+, a pointer); 0 = n/a */
    uint32_t gil_last_holder;    /* struct _gil_runtime_state.last_holder */
    uint32_t gil_locked;         /* .locked (int: -1 uninitialised, 0, 1) */
    uint32_t gil_cond;           /* .cond (pthread_cond_t) */
    uint32_t tstate_thread_id;   /* PyThreadState.thread_id (pthread_self of the thread) */
    uint32_t tstate_native_id;   /* PyThreadState.native_thread_id (3.11+); 0 = n/a */
    /* For the holder's threading.Thread name (threading._active[ident]._name): */
    uint32_t interp_modules;     /* PyInterpreterState.modules / .imports.modules */
    uint32_t ht_cached_keys;     /* PyHeapTypeObject.ht_cached_keys */
    uint32_t ascii_size;         /* sizeof(PyASCIIObject): where compact ASCII text starts */
    uint32_t dictvalues_values;  /* PyDictValues.values (3.11+), 0 before */
};

/* Offsets that are the same in 3.8–3.13 (checked against DWARF too). */
#define FW_PY_OB_TYPE 8            /* PyObject.ob_type */
#define FW_PY_OB_SIZE 16           /* PyVarObject.ob_size */
#define FW_PY_TP_NAME 24           /* PyTypeObject.tp_name */
#define FW_PY_TP_BASICSIZE 32
#define FW_PY_TP_FLAGS 168
#define FW_PY_TP_DICTOFFSET 288
#define FW_PY_MA_KEYS 32           /* PyDictObject.ma_keys */
#define FW_PY_MA_VALUES 40
#define FW_PY_MD_DICT 16           /* PyModuleObject.md_dict */
#define FW_PY_STR_LENGTH 16        /* PyASCIIObject.length */
#define FW_PY_STR_STATE 32         /* PyASCIIObject.state: compact bit 5, ascii bit 6 */
#define FW_PY_LONG_DIGITS 24       /* PyLongObject.ob_digit (long_value.ob_digit, 3.12+) */
#define FW_PY_LONG_TAG 16          /* PyLongObject.long_value.lv_tag (3.12+) */
/* PyDictKeysObject: 3.8–3.10 dk_size@8 dk_nentries@32 dk_indices@40;
 * 3.11+ dk_log2_index_bytes@9 dk_kind@10 dk_nentries@24 dk_indices@32. */
#define FW_PY_DK_SIZE_OLD 8
#define FW_PY_DK_NENTRIES_OLD 32
#define FW_PY_DK_INDICES_OLD 40
#define FW_PY_DK_LOG2_INDEX_BYTES 9
#define FW_PY_DK_KIND 10
#define FW_PY_DK_NENTRIES 24
#define FW_PY_DK_INDICES 32

/* The layout of CPython 3.minor, or NULL for a version we do not know. */
const struct fw_gil_layout *fw_gil_layout_for(int minor);

/* Non-zero only in a fork child whose GIL is held by a vanished thread (one
 * predictable branch in the condition wait path). */
extern int fw_gil_watch __attribute__((visibility("hidden")));

/* Parent, in the fork wrapper, after fw_fork_snapshot_held() returned count:
 * appends the GIL entry when another thread holds the GIL. Returns the new count. */
uint32_t fw_gil_at_fork(const struct fw_thread *self, uint32_t count);

/* Child, after fw_orphan_build(): marks the GIL entry live (or adds it) when the
 * GIL is still locked by a thread that vanished. Async-signal-safe. */
void fw_gil_child(void);

/* A condition wait on cond begins in the child (only called when fw_gil_watch):
 * a wait on the orphaned GIL's cond reports a fork-deadlock, then the policy. */
void fw_gil_on_cond_wait(const void *cond, uint64_t call_site);

/* Decision logic, pure (unit tests): given a GIL at gil (read with lay), is it
 * held by a thread other than self_ident? On 1, *tstate and *ident name the
 * holder. The thread state is read fault-safely. */
int fw_gil_held_by_other(const struct fw_gil_layout *lay, const void *gil, uint64_t self_ident,
                         uint64_t *tstate, uint64_t *ident);

/* threading._active[ident]._name of the process whose main interpreter is at
 * interp, read fault-safely, into out (NUL-terminated, ASCII names only).
 * Returns 1 when found. Only where no other thread runs (the child) or in tests. */
int fw_gil_thread_name(const struct fw_gil_layout *lay, uint64_t interp, uint64_t ident,
                       char *out, size_t cap);

/* Tests: use this layout and GIL address as if found in a CPython process
 * (gil NULL: forget everything). */
void fw_gil_set_for_test(const struct fw_gil_layout *lay, void *gil);

#endif
