#!/usr/bin/env python3
"""Writes the agent's CPython offsets (fw_py_offsets.h) from the GDB side's table.

gdb/forkwatch/cpython/layouts.py is the one table of CPython offsets (TABLES, one dict per
minor, generated from DWARF and checked against it; PATCH_OVERRIDES for patch releases). The
agent reads a few of those fields without gdb, at a fork; this script copies them into a C
header at build time (the Makefile runs it), so that the agent and the GDB side cannot disagree.

Two shapes of output:
- AGENT_ROW: one `struct fw_py_layout` row per minor of TABLES (fields that move between
  minors). A field absent in a minor is 0 there (the agent tests the minor or the 0 first).
- AGENT_CONSTANTS: one #define per field whose offset is the same over a range of minors.
  The script fails, naming the field and the minors, when a new table breaks that promise:
  the agent's code must then learn the difference (make the field a row field).

Usage: tools/gen_py_offsets.py gdb/forkwatch/cpython/layouts.py > build/gen/fw_py_offsets.h
"""
import importlib.util
import sys

# (C field of struct fw_py_layout, layouts key, comment).
AGENT_ROW = [
    ("runtime_ceval_gil", "runtime.ceval_gil", "_PyRuntimeState.ceval.gil (3.8-3.11, embedded); 0 = n/a"),
    ("interp_ceval_gil", "interp.ceval_gil", "PyInterpreterState.ceval.gil (3.12+, a pointer); 0 = n/a"),
    ("gil_last_holder", "gil.last_holder", "struct _gil_runtime_state.last_holder"),
    ("gil_locked", "gil.locked", ".locked (int: -1 uninitialised, 0, 1)"),
    ("gil_cond", "gil.cond", ".cond (pthread_cond_t)"),
    ("tstate_thread_id", "tstate.thread_id", "PyThreadState.thread_id (pthread_self of the thread)"),
    ("tstate_native_id", "tstate.native_thread_id", "PyThreadState.native_thread_id (3.11+); 0 = n/a"),
    ("interp_modules", "interp.modules", "PyInterpreterState.modules / .imports.modules"),
    ("ht_cached_keys", "heaptype.ht_cached_keys", "PyHeapTypeObject.ht_cached_keys"),
    ("ascii_size", "sizeof.PyASCIIObject", "sizeof(PyASCIIObject): where compact ASCII text starts"),
    ("dictvalues_values", "dictvalues.values", "PyDictValues.values (3.11+); 0 before"),
]

# Fields the agent must find in every minor it knows (a row of zeros would read garbage).
ROW_REQUIRED = {"gil.last_holder", "gil.locked", "gil.cond", "tstate.thread_id", "interp.modules",
                "heaptype.ht_cached_keys", "sizeof.PyASCIIObject"}

LAST = None   # "every later minor"
# (macro, layouts key, first minor, last minor or LAST, comment).
AGENT_CONSTANTS = [
    ("FW_PY_OB_TYPE", "object.ob_type", 8, LAST, "PyObject.ob_type"),
    ("FW_PY_OB_SIZE", "varobject.ob_size", 8, LAST, "PyVarObject.ob_size"),
    ("FW_PY_TP_NAME", "type.tp_name", 8, LAST, "PyTypeObject.tp_name"),
    ("FW_PY_TP_BASICSIZE", "type.tp_basicsize", 8, LAST, "PyTypeObject.tp_basicsize"),
    ("FW_PY_TP_FLAGS", "type.tp_flags", 8, LAST, "PyTypeObject.tp_flags"),
    ("FW_PY_TP_DICTOFFSET", "type.tp_dictoffset", 8, LAST, "PyTypeObject.tp_dictoffset"),
    ("FW_PY_MA_KEYS", "dict.ma_keys", 8, LAST, "PyDictObject.ma_keys"),
    ("FW_PY_MA_VALUES", "dict.ma_values", 8, LAST, "PyDictObject.ma_values"),
    ("FW_PY_MD_DICT", "module.md_dict", 8, LAST, "PyModuleObject.md_dict"),
    ("FW_PY_STR_LENGTH", "unicode.length", 8, LAST, "PyASCIIObject.length"),
    ("FW_PY_STR_STATE", "unicode.state", 8, LAST, "PyASCIIObject.state (bitfields below)"),
    ("FW_PY_STR_COMPACT_BIT", "unicode.compact.bit", 8, LAST, "bit of state.compact"),
    ("FW_PY_STR_ASCII_BIT", "unicode.ascii.bit", 8, LAST, "bit of state.ascii"),
    ("FW_PY_LONG_DIGITS", "long.ob_digit", 8, LAST, "PyLongObject.ob_digit (long_value.ob_digit, 3.12+)"),
    ("FW_PY_LONG_TAG", "long.lv_tag", 12, LAST, "PyLongObject.long_value.lv_tag"),
    ("FW_PY_DK_SIZE_OLD", "dictkeys.dk_size", 8, 10, "PyDictKeysObject.dk_size"),
    ("FW_PY_DK_NENTRIES_OLD", "dictkeys.dk_nentries", 8, 10, "PyDictKeysObject.dk_nentries"),
    ("FW_PY_DK_INDICES_OLD", "dictkeys.dk_indices", 8, 10, "PyDictKeysObject.dk_indices"),
    ("FW_PY_DK_LOG2_INDEX_BYTES", "dictkeys.dk_log2_index_bytes", 11, LAST, "PyDictKeysObject.dk_log2_index_bytes"),
    ("FW_PY_DK_KIND", "dictkeys.dk_kind", 11, LAST, "PyDictKeysObject.dk_kind"),
    ("FW_PY_DK_NENTRIES", "dictkeys.dk_nentries", 11, LAST, "PyDictKeysObject.dk_nentries"),
    ("FW_PY_DK_INDICES", "dictkeys.dk_indices", 11, LAST, "PyDictKeysObject.dk_indices"),
    # 3.8 has no frame accessors (PyThreadState_GetFrame etc. are 3.9+)
    ("FW_PY38_TSTATE_FRAME", "tstate.frame", 8, 8, "PyThreadState.frame"),
    ("FW_PY38_FRAME_BACK", "frameobj.f_back", 8, 8, "PyFrameObject.f_back"),
    ("FW_PY38_FRAME_CODE", "frameobj.f_code", 8, 8, "PyFrameObject.f_code"),
    # Modules/_threadmodule.c: the lock inside a _thread.lock / _thread.RLock object
    ("FW_PY_LOCK_SEM", "lock.lock_lock", 8, 13, "lockobject.lock_lock (a sem_t *, until 3.13.0)"),
    ("FW_PY_RLOCK_SEM", "rlock.rlock_lock", 8, 13, "rlockobject.rlock_lock (a sem_t *, until 3.13)"),
    ("FW_PY_LOCK_MUTEX", "lock.mutex", 13, LAST, "lockobject.lock (PyMutex, 3.13.1+)"),
    ("FW_PY_RLOCK_MUTEX", "rlock.lock", 14, LAST, "rlockobject.lock (_PyRecursiveMutex, 3.14+)"),
    ("FW_PY_RECMUTEX_THREAD", "recmutex.thread", 13, LAST, "_PyRecursiveMutex.thread (owner's ident)"),
]


class TableError(Exception):
    pass


def load_layouts(path):
    spec = importlib.util.spec_from_file_location("forkwatch_layouts", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def variants(mod, minor):
    """Every layout of 3.<minor> the tables describe: the .0 one, then one per patch override."""
    out = [("3.%d.0" % minor, mod.static_layout(minor, 0))]
    for (lo, _hi), _extra in mod.PATCH_OVERRIDES.get((3, minor), []):
        out.append(("3.%d.%d" % (minor, lo), mod.static_layout(minor, lo)))
    return out


def row(mod, minor):
    vals = {}
    for cfield, key, _ in AGENT_ROW:
        seen = {(lay.get(key) or 0) for _, lay in variants(mod, minor)}
        if len(seen) != 1:
            raise TableError("%s differs between patch releases of 3.%d; the agent's row is per minor"
                             % (key, minor))
        vals[cfield] = seen.pop()
        if key in ROW_REQUIRED and not vals[cfield]:
            raise TableError("%s is missing from the 3.%d table; the agent needs it" % (key, minor))
    return vals


def span_text(lo, hi):
    return "3.%d and later" % lo if hi is LAST else "3.%d-3.%d" % (lo, hi)


def constant(mod, minors, key, lo, hi):
    found = {}
    for minor in minors:
        if minor < lo or (hi is not LAST and minor > hi):
            continue
        for name, lay in variants(mod, minor):
            if key in lay:
                found.setdefault(lay[key], []).append(name)
    if not found:
        raise TableError("%s is in no table of %s" % (key, span_text(lo, hi)))
    if len(found) > 1:
        raise TableError("%s is not one offset over %s: %s; the agent must read it per version"
                         % (key, span_text(lo, hi),
                            ", ".join("%d in %s" % (v, "/".join(n)) for v, n in sorted(found.items()))))
    value, names = next(iter(found.items()))
    return value, names


def render(mod, source):
    minors = sorted(m for (major, m) in mod.TABLES if major == 3)
    out = ["/* fw_py_offsets.h -- GENERATED by tools/gen_py_offsets.py from %s" % source,
           " * (TABLES and PATCH_OVERRIDES). Do not edit: change the table, the build regenerates this.",
           " * The agent's CPython offsets; see docs/ADDING_A_PYTHON.md. */",
           "#ifndef FW_PY_OFFSETS_H",
           "#define FW_PY_OFFSETS_H",
           "",
           "#include <stdint.h>",
           "",
           "/* One CPython minor's offsets that move between minors. */",
           "struct fw_py_layout {",
           "    int minor;   /* 3.minor */"]
    for cfield, key, comment in AGENT_ROW:
        out.append("    uint32_t %s;   /* %s: %s */" % (cfield, key, comment))
    out += ["};", "", "#define FW_PY_FIRST_MINOR %d" % minors[0], "#define FW_PY_LAST_MINOR %d" % minors[-1], "",
            "/* Initialisers of struct fw_py_layout, one per minor (fw_gil.c holds the array). */",
            "#define FW_PY_LAYOUT_ROWS \\"]
    rows = []
    for minor in minors:
        vals = row(mod, minor)
        rows.append("    { .minor = %d, %s }" % (minor, ", ".join(".%s = %d" % (c, vals[c]) for c, _, _ in AGENT_ROW)))
    out.append(", \\\n".join(rows))
    out += ["", "/* One offset over a range of minors (the generator checked every table in it). */"]
    for macro, key, lo, hi, comment in AGENT_CONSTANTS:
        value, names = constant(mod, minors, key, lo, hi)
        have = sorted({int(n.split(".")[1]) for n in names})
        span = "3.%d" % have[0] if have[0] == have[-1] else "3.%d-3.%d" % (have[0], have[-1])
        out.append("#define %s %d   /* %s in %s: %s */" % (macro, value, key, span, comment))
    out += ["", "#endif", ""]
    return "\n".join(out)


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: gen_py_offsets.py LAYOUTS_PY\n")
        return 2
    try:
        sys.stdout.write(render(load_layouts(argv[1]), argv[1]))
    except TableError as e:
        sys.stderr.write("gen_py_offsets: %s\n" % e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
