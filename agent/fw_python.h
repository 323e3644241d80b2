/* fw_python.h — Python stacks through CPython's C API, found with dlsym (no
 * build-time dependency: in a process without CPython all of this is a no-op). */
#ifndef FW_PYTHON_H
#define FW_PYTHON_H

#include "forkwatch_abi.h"
#include "fw_py_offsets.h"   /* generated from gdb/forkwatch/cpython/layouts.py */

#include <stddef.h>
#include <stdint.h>

/* Finds the C API with dlsym (once). Parent side only. */
void fw_python_resolve(void);

/* Parent, at every fork: resolves the API and notes whether the forking thread
 * holds the GIL (the child may only take the GIL back if it did). */
void fw_python_note_fork(void);

/* Parent, at a fork with held locks: resolves the API (once) and, when the
 * forking thread holds the GIL of an initialised interpreter, fills
 * py_threads/py_frames. Returns 1 if captured. */
int fw_python_capture_at_fork(void);

/* The loaded CPython's minor version (3.minor), or -1 when there is none;
 * resolves once. Parent side only. */
int fw_python_minor(void);

/* The offsets of CPython 3.minor (generated from the GDB side's table), or NULL
 * for a minor the table does not know. A plain array lookup: no lock, no call. */
const struct fw_py_layout *fw_py_layout_for(int minor);

/* Is the loaded CPython initialised (Py_IsInitialized)? 0 when there is none. */
int fw_python_initialized(void);

/* Index in py_threads[] of the thread with this pthread_self(), or -1. */
int32_t fw_python_thread_index(uint64_t pthread_id);

/* Child: the calling thread's Python frames (innermost first) into out[0..max),
 * and its threading name (threading._active[ident]._name, "" if none) into
 * name[0..name_cap). Only call when the child has a single thread. Returns the
 * frame count (0 if none). */
uint32_t fw_python_current_stack(struct fw_py_frame *out, uint32_t max, char *name, size_t name_cap);

/* The loaded CPython's version number ("3.11.7"), read in the parent; 0 if none. */
const char *fw_python_version(void);

/* Child with one thread: 1 when this process was forked without os.fork()
 * (other threads' Python thread states are still listed: no at-fork hooks ran),
 * 0 when it went through os.fork(), -1 when unknown. */
int fw_python_forked_raw(void);

/* 3.13.1+: Python locks are PyMutexes, taken without a call the agent sees. */
int fw_python_pymutex_locks(void);

#endif
