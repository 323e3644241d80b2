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

/* The CPython offsets (struct fw_py_layout, FW_PY_* constants) are generated at
 * build time from gdb/forkwatch/cpython/layouts.py, the GDB side's table, by
 * tools/gen_py_offsets.py; fw_python.h's fw_py_layout_for() picks a minor's row.
 * tests/unit/test_gil.c checks them against the DWARF of the interpreters installed. */
#include "fw_py_offsets.h"

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
int fw_gil_held_by_other(const struct fw_py_layout *lay, const void *gil, uint64_t self_ident,
                         uint64_t *tstate, uint64_t *ident);

/* threading._active[ident]._name of the process whose main interpreter is at
 * interp, read fault-safely, into out (NUL-terminated, ASCII names only).
 * Returns 1 when found. Only where no other thread runs (the child) or in tests. */
int fw_gil_thread_name(const struct fw_py_layout *lay, uint64_t interp, uint64_t ident,
                       char *out, size_t cap);

/* Tests: use this layout and GIL address as if found in a CPython process
 * (gil NULL: forget everything). */
void fw_gil_set_for_test(const struct fw_py_layout *lay, void *gil);

#endif
