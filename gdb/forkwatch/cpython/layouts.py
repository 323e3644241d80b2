"""Per-version CPython layouts: byte offsets of every field forkwatch reads.

SPEC names each field once, with where it lives in CPython's DWARF
(type name, dotted field path). TABLES holds the numbers for each minor version,
generated from the DWARF of the interpreters we have (tests/gdb_cpython/gen_layouts.py)
and checked against it (tests/gdb_cpython/check_layouts.py).  All reading code goes
through a layout dict, so the path with DWARF and the path without it are the same
code; with DWARF the dict comes from dwarf_layout() instead of TABLES.

Keys ending in ".bit"/".bits" are bit positions/widths (bitfields); "sizeof.X" are
sizes; everything else is a byte offset.
"""

# key: [(type name, field path or None for sizeof), ...] alternatives, first found wins
SPEC = {
    # _PyRuntimeState
    "runtime.interpreters_head": [("_PyRuntimeState", "interpreters.head")],
    "runtime.interpreters_main": [("_PyRuntimeState", "interpreters.main")],
    "runtime.ceval_gil": [("_PyRuntimeState", "ceval.gil")],           # 3.8-3.11 (embedded)
    # struct _gil_runtime_state
    "gil.last_holder": [("struct _gil_runtime_state", "last_holder")],
    "gil.locked": [("struct _gil_runtime_state", "locked")],
    # PyInterpreterState
    "interp.next": [("PyInterpreterState", "next")],
    "interp.tstate_head": [("PyInterpreterState", "threads.head"),
                           ("PyInterpreterState", "tstate_head")],
    "interp.modules": [("PyInterpreterState", "imports.modules"),
                       ("PyInterpreterState", "modules")],
    "interp.sysdict": [("PyInterpreterState", "sysdict")],
    "interp.ceval_gil": [("PyInterpreterState", "ceval.gil")],        # 3.12+ (pointer)
    "interp.after_forkers_child": [("PyInterpreterState", "after_forkers_child")],  # a list
    # PyThreadState
    "tstate.next": [("PyThreadState", "next")],
    "tstate.interp": [("PyThreadState", "interp")],
    "tstate.thread_id": [("PyThreadState", "thread_id")],
    "tstate.native_thread_id": [("PyThreadState", "native_thread_id")],  # 3.11+
    "tstate.frame": [("PyThreadState", "frame")],                     # 3.8-3.10
    "tstate.cframe": [("PyThreadState", "cframe")],                   # 3.11-3.12
    "tstate.current_frame": [("PyThreadState", "current_frame")],     # 3.13
    "cframe.current_frame": [("_PyCFrame", "current_frame")],         # 3.11-3.12
    # PyFrameObject, 3.8-3.10
    "frameobj.f_back": [("struct _frame", "f_back")],
    "frameobj.f_code": [("struct _frame", "f_code")],
    "frameobj.f_lasti": [("struct _frame", "f_lasti")],
    "frameobj.f_valuestack": [("struct _frame", "f_valuestack")],
    "frameobj.f_stacktop": [("struct _frame", "f_stacktop")],         # 3.8-3.9
    "frameobj.f_stackdepth": [("struct _frame", "f_stackdepth")],     # 3.10
    "frameobj.f_localsplus": [("struct _frame", "f_localsplus")],
    # _PyInterpreterFrame, 3.11+
    "iframe.code": [("struct _PyInterpreterFrame", "f_executable"),
                    ("struct _PyInterpreterFrame", "f_code")],
    "iframe.previous": [("struct _PyInterpreterFrame", "previous")],
    "iframe.instr": [("struct _PyInterpreterFrame", "instr_ptr"),
                     ("struct _PyInterpreterFrame", "prev_instr")],
    "iframe.localsplus": [("struct _PyInterpreterFrame", "localsplus")],
    "iframe.stacktop": [("struct _PyInterpreterFrame", "stacktop")],
    "iframe.is_entry": [("struct _PyInterpreterFrame", "is_entry")],  # 3.11
    "iframe.owner": [("struct _PyInterpreterFrame", "owner")],
    # PyCodeObject
    "code.co_filename": [("PyCodeObject", "co_filename")],
    "code.co_name": [("PyCodeObject", "co_name")],
    "code.co_qualname": [("PyCodeObject", "co_qualname")],
    "code.co_firstlineno": [("PyCodeObject", "co_firstlineno")],
    "code.co_lnotab": [("PyCodeObject", "co_lnotab")],                # 3.8-3.9
    "code.co_linetable": [("PyCodeObject", "co_linetable")],          # 3.10+
    "code.co_code": [("PyCodeObject", "co_code")],                    # 3.8-3.10
    "code.co_code_adaptive": [("PyCodeObject", "co_code_adaptive")],  # 3.11+
    "code.co_nlocals": [("PyCodeObject", "co_nlocals")],
    "code.co_nlocalsplus": [("PyCodeObject", "co_nlocalsplus")],      # 3.11+
    "code.co_stacksize": [("PyCodeObject", "co_stacksize")],
    "code.co_varnames": [("PyCodeObject", "co_varnames")],            # 3.8-3.10
    "code.co_cellvars": [("PyCodeObject", "co_cellvars")],            # 3.8-3.10
    "code.co_freevars": [("PyCodeObject", "co_freevars")],            # 3.8-3.10
    "code.co_localsplusnames": [("PyCodeObject", "co_localsplusnames")],  # 3.11+
    # objects
    "object.ob_type": [("PyObject", "ob_type")],
    "varobject.ob_size": [("PyVarObject", "ob_size")],
    "type.tp_name": [("PyTypeObject", "tp_name")],
    "type.tp_basicsize": [("PyTypeObject", "tp_basicsize")],
    "type.tp_dictoffset": [("PyTypeObject", "tp_dictoffset")],
    "type.tp_flags": [("PyTypeObject", "tp_flags")],
    "heaptype.ht_cached_keys": [("PyHeapTypeObject", "ht_cached_keys")],
    "unicode.length": [("PyASCIIObject", "length")],
    "unicode.state": [("PyASCIIObject", "state")],
    "unicode.kind.bit": [("PyASCIIObject", "state.kind")],
    "unicode.kind.bits": [("PyASCIIObject", "state.kind")],
    "unicode.compact.bit": [("PyASCIIObject", "state.compact")],
    "unicode.ascii.bit": [("PyASCIIObject", "state.ascii")],
    "sizeof.PyASCIIObject": [("PyASCIIObject", None)],
    "sizeof.PyCompactUnicodeObject": [("PyCompactUnicodeObject", None)],
    "bytes.ob_sval": [("PyBytesObject", "ob_sval")],
    "tuple.ob_item": [("PyTupleObject", "ob_item")],
    "list.ob_item": [("PyListObject", "ob_item")],
    "long.lv_tag": [("PyLongObject", "long_value.lv_tag")],           # 3.12+
    "long.ob_digit": [("PyLongObject", "long_value.ob_digit"),
                      ("PyLongObject", "ob_digit")],
    "dict.ma_used": [("PyDictObject", "ma_used")],
    "dict.ma_keys": [("PyDictObject", "ma_keys")],
    "dict.ma_values": [("PyDictObject", "ma_values")],
    "dictkeys.dk_size": [("PyDictKeysObject", "dk_size")],            # 3.8-3.10
    "dictkeys.dk_log2_size": [("PyDictKeysObject", "dk_log2_size")],  # 3.11+
    "dictkeys.dk_log2_index_bytes": [("PyDictKeysObject", "dk_log2_index_bytes")],
    "dictkeys.dk_kind": [("PyDictKeysObject", "dk_kind")],
    "dictkeys.dk_nentries": [("PyDictKeysObject", "dk_nentries")],
    "dictkeys.dk_indices": [("PyDictKeysObject", "dk_indices")],
    "dictvalues.values": [("PyDictValues", "values")],                # 3.11+
    "sizeof.PyDictKeyEntry": [("PyDictKeyEntry", None)],
    "sizeof.PyDictUnicodeEntry": [("PyDictUnicodeEntry", None)],      # 3.11+
    "module.md_dict": [("PyModuleObject", "md_dict")],
    # locks
    "lock.lock_lock": [("lockobject", "lock_lock")],                  # until 3.13.0
    "lock.locked": [("lockobject", "locked")],
    "lock.mutex": [("lockobject", "lock")],                           # 3.13.1+ PyMutex
    "rlock.rlock_lock": [("rlockobject", "rlock_lock")],
    "rlock.rlock_owner": [("rlockobject", "rlock_owner")],
    "rlock.rlock_count": [("rlockobject", "rlock_count")],
    "buffered.lock": [("buffered", "lock")],
    "buffered.owner": [("buffered", "owner")],
    "buffered.raw": [("buffered", "raw")],
    "textio.buffer": [("textio", "buffer")],
    "cell.ob_ref": [("PyCellObject", "ob_ref")],
    "cfunction.m_self": [("PyCFunctionObject", "m_self")],
    "method.im_func": [("PyMethodObject", "im_func")],
    "method.im_self": [("PyMethodObject", "im_self")],
    "function.func_code": [("PyFunctionObject", "func_code")],
    # 3.13+: where _Py_DebugOffsets (at the start of _PyRuntime) keeps its numbers
    "dbg.version": [("_Py_DebugOffsets", "version")],
    "dbg.runtime_state.interpreters_head": [("_Py_DebugOffsets", "runtime_state.interpreters_head")],
    "dbg.interpreter_state.next": [("_Py_DebugOffsets", "interpreter_state.next")],
    "dbg.interpreter_state.threads_head": [("_Py_DebugOffsets", "interpreter_state.threads_head")],
    "dbg.interpreter_state.imports_modules": [("_Py_DebugOffsets", "interpreter_state.imports_modules")],
    "dbg.interpreter_state.sysdict": [("_Py_DebugOffsets", "interpreter_state.sysdict")],
    "dbg.interpreter_state.ceval_gil": [("_Py_DebugOffsets", "interpreter_state.ceval_gil")],
    "dbg.interpreter_state.gil_runtime_state_locked": [("_Py_DebugOffsets", "interpreter_state.gil_runtime_state_locked")],
    "dbg.interpreter_state.gil_runtime_state_holder": [("_Py_DebugOffsets", "interpreter_state.gil_runtime_state_holder")],
    "dbg.thread_state.next": [("_Py_DebugOffsets", "thread_state.next")],
    "dbg.thread_state.interp": [("_Py_DebugOffsets", "thread_state.interp")],
    "dbg.thread_state.current_frame": [("_Py_DebugOffsets", "thread_state.current_frame")],
    "dbg.thread_state.thread_id": [("_Py_DebugOffsets", "thread_state.thread_id")],
    "dbg.thread_state.native_thread_id": [("_Py_DebugOffsets", "thread_state.native_thread_id")],
    "dbg.interpreter_frame.previous": [("_Py_DebugOffsets", "interpreter_frame.previous")],
    "dbg.interpreter_frame.executable": [("_Py_DebugOffsets", "interpreter_frame.executable")],
    "dbg.interpreter_frame.instr_ptr": [("_Py_DebugOffsets", "interpreter_frame.instr_ptr")],
    "dbg.interpreter_frame.localsplus": [("_Py_DebugOffsets", "interpreter_frame.localsplus")],
    "dbg.interpreter_frame.owner": [("_Py_DebugOffsets", "interpreter_frame.owner")],
    "dbg.code_object.filename": [("_Py_DebugOffsets", "code_object.filename")],
    "dbg.code_object.name": [("_Py_DebugOffsets", "code_object.name")],
    "dbg.code_object.qualname": [("_Py_DebugOffsets", "code_object.qualname")],
    "dbg.code_object.linetable": [("_Py_DebugOffsets", "code_object.linetable")],
    "dbg.code_object.firstlineno": [("_Py_DebugOffsets", "code_object.firstlineno")],
    "dbg.code_object.localsplusnames": [("_Py_DebugOffsets", "code_object.localsplusnames")],
    "dbg.code_object.co_code_adaptive": [("_Py_DebugOffsets", "code_object.co_code_adaptive")],
    "dbg.pyobject.ob_type": [("_Py_DebugOffsets", "pyobject.ob_type")],
    "dbg.type_object.tp_name": [("_Py_DebugOffsets", "type_object.tp_name")],
    "dbg.type_object.tp_flags": [("_Py_DebugOffsets", "type_object.tp_flags")],
    "dbg.tuple_object.ob_item": [("_Py_DebugOffsets", "tuple_object.ob_item")],
    "dbg.dict_object.ma_keys": [("_Py_DebugOffsets", "dict_object.ma_keys")],
    "dbg.dict_object.ma_values": [("_Py_DebugOffsets", "dict_object.ma_values")],
    "dbg.long_object.lv_tag": [("_Py_DebugOffsets", "long_object.lv_tag")],
    "dbg.long_object.ob_digit": [("_Py_DebugOffsets", "long_object.ob_digit")],
    "dbg.bytes_object.ob_sval": [("_Py_DebugOffsets", "bytes_object.ob_sval")],
    "dbg.unicode_object.length": [("_Py_DebugOffsets", "unicode_object.length")],
    "dbg.unicode_object.asciiobject_size": [("_Py_DebugOffsets", "unicode_object.asciiobject_size")],
}

# Which layout key each _Py_DebugOffsets entry (3.13+) overrides.
DEBUG_OFFSETS_MAP = {
    "dbg.runtime_state.interpreters_head": "runtime.interpreters_head",
    "dbg.interpreter_state.next": "interp.next",
    "dbg.interpreter_state.threads_head": "interp.tstate_head",
    "dbg.interpreter_state.imports_modules": "interp.modules",
    "dbg.interpreter_state.sysdict": "interp.sysdict",
    "dbg.interpreter_state.ceval_gil": "interp.ceval_gil",


    "dbg.thread_state.next": "tstate.next",
    "dbg.thread_state.interp": "tstate.interp",
    "dbg.thread_state.current_frame": "tstate.current_frame",
    "dbg.thread_state.thread_id": "tstate.thread_id",
    "dbg.thread_state.native_thread_id": "tstate.native_thread_id",
    "dbg.interpreter_frame.previous": "iframe.previous",
    "dbg.interpreter_frame.executable": "iframe.code",
    "dbg.interpreter_frame.instr_ptr": "iframe.instr",
    "dbg.interpreter_frame.localsplus": "iframe.localsplus",
    "dbg.interpreter_frame.owner": "iframe.owner",
    "dbg.code_object.filename": "code.co_filename",
    "dbg.code_object.name": "code.co_name",
    "dbg.code_object.qualname": "code.co_qualname",
    "dbg.code_object.linetable": "code.co_linetable",
    "dbg.code_object.firstlineno": "code.co_firstlineno",
    "dbg.code_object.localsplusnames": "code.co_localsplusnames",
    "dbg.code_object.co_code_adaptive": "code.co_code_adaptive",
    "dbg.pyobject.ob_type": "object.ob_type",
    "dbg.type_object.tp_name": "type.tp_name",
    "dbg.type_object.tp_flags": "type.tp_flags",
    "dbg.tuple_object.ob_item": "tuple.ob_item",
    "dbg.dict_object.ma_keys": "dict.ma_keys",
    "dbg.dict_object.ma_values": "dict.ma_values",
    "dbg.long_object.lv_tag": "long.lv_tag",
    "dbg.long_object.ob_digit": "long.ob_digit",
    "dbg.bytes_object.ob_sval": "bytes.ob_sval",
    "dbg.unicode_object.length": "unicode.length",
    "dbg.unicode_object.asciiobject_size": "sizeof.PyASCIIObject",
}

# Keys of types private to one CPython C file, with names other libraries may reuse.
PRIVATE_TYPE_PREFIXES = ("lock.", "rlock.", "buffered.", "textio.")

# Sanity bound on any offset read from a process's _Py_DebugOffsets.
MAX_DEBUG_OFFSET = 1 << 20


def _lookup(gdb, name):
    try:
        return gdb.lookup_type(name).strip_typedefs()
    except (gdb.error, RuntimeError):
        return None


def _field_bitpos(gdb, typ, path):
    """(bitpos, bitsize) of a dotted field path inside typ, or None."""
    bitpos = 0
    bitsize = 0
    for part in path.split("."):
        typ = typ.strip_typedefs()
        found = None
        for f in typ.fields():
            if f.name == part:
                found = f
                break
        if found is None:
            # look through anonymous members (unions/structs without a name)
            for f in typ.fields():
                if f.name is None and f.type.strip_typedefs().code in (
                        gdb.TYPE_CODE_STRUCT, gdb.TYPE_CODE_UNION):
                    sub = _field_bitpos(gdb, f.type, part)
                    if sub is not None:
                        bitpos += f.bitpos + sub[0]
                        bitsize = sub[1]
                        found = True
                        break
            if found is None:
                return None
            typ = None
            continue
        bitpos += found.bitpos
        bitsize = found.bitsize
        typ = found.type
    return bitpos, bitsize


def dwarf_layout(gdb):
    """The layout computed from the DWARF gdb has loaded, or None without DWARF."""
    if _lookup(gdb, "PyThreadState") is None:
        return None
    out = {}
    cache = {}
    for key, alts in SPEC.items():
        for tname, path in alts:
            if tname not in cache:
                cache[tname] = _lookup(gdb, tname)
            typ = cache[tname]
            if typ is None or not typ.fields() and path is not None:
                continue
            if path is None:
                out[key] = int(typ.sizeof)
                break
            res = _field_bitpos(gdb, typ, path)
            if res is None:
                continue
            bitpos, bitsize = res
            if key.endswith(".bits"):
                out[key] = bitsize
            elif key.endswith(".bit"):
                out[key] = bitpos - _field_bitpos(gdb, typ, path.split(".")[0])[0]
            else:
                out[key] = bitpos // 8
            break
    return out


def static_layout(minor, patch):
    """The generated table for CPython 3.<minor>.<patch>, or None if unknown."""
    table = TABLES.get((3, minor))
    if table is None:
        return None
    out = dict(table)
    for (lo, hi), extra in PATCH_OVERRIDES.get((3, minor), []):
        if lo <= patch <= hi:
            out.update(extra)
    return out


# Differences inside a minor version: {(3, minor): [((patch_lo, patch_hi), {key: value})]}
PATCH_OVERRIDES = {}

# ---- generated by tests/gdb_cpython/gen_layouts.py; checked by check_layouts.py ----
TABLES = {
    (3, 8): {  # from the DWARF of 3.8.18
        'buffered.lock': 104,
        'buffered.owner': 112,
        'buffered.raw': 16,
        'bytes.ob_sval': 32,
        'cell.ob_ref': 16,
        'cfunction.m_self': 24,
        'code.co_cellvars': 88,
        'code.co_code': 48,
        'code.co_filename': 104,
        'code.co_firstlineno': 40,
        'code.co_freevars': 80,
        'code.co_lnotab': 120,
        'code.co_name': 112,
        'code.co_nlocals': 28,
        'code.co_stacksize': 32,
        'code.co_varnames': 72,
        'dict.ma_keys': 32,
        'dict.ma_used': 16,
        'dict.ma_values': 40,
        'dictkeys.dk_indices': 40,
        'dictkeys.dk_nentries': 32,
        'dictkeys.dk_size': 8,
        'frameobj.f_back': 24,
        'frameobj.f_code': 32,
        'frameobj.f_lasti': 104,
        'frameobj.f_localsplus': 360,
        'frameobj.f_stacktop': 72,
        'frameobj.f_valuestack': 64,
        'function.func_code': 16,
        'gil.last_holder': 8,
        'gil.locked': 16,
        'heaptype.ht_cached_keys': 872,
        'interp.after_forkers_child': 2640,
        'interp.modules': 56,
        'interp.next': 0,
        'interp.sysdict': 72,
        'interp.tstate_head': 8,
        'list.ob_item': 24,
        'lock.lock_lock': 16,
        'lock.locked': 32,
        'long.ob_digit': 24,
        'method.im_func': 16,
        'method.im_self': 24,
        'module.md_dict': 16,
        'object.ob_type': 8,
        'rlock.rlock_count': 32,
        'rlock.rlock_lock': 16,
        'rlock.rlock_owner': 24,
        'runtime.ceval_gil': 1152,
        'runtime.interpreters_head': 32,
        'runtime.interpreters_main': 40,
        'sizeof.PyASCIIObject': 48,
        'sizeof.PyCompactUnicodeObject': 72,
        'sizeof.PyDictKeyEntry': 24,
        'textio.buffer': 32,
        'tstate.frame': 24,
        'tstate.interp': 16,
        'tstate.next': 8,
        'tstate.thread_id': 176,
        'tuple.ob_item': 24,
        'type.tp_basicsize': 32,
        'type.tp_dictoffset': 288,
        'type.tp_flags': 168,
        'type.tp_name': 24,
        'unicode.ascii.bit': 6,
        'unicode.compact.bit': 5,
        'unicode.kind.bit': 2,
        'unicode.kind.bits': 3,
        'unicode.length': 16,
        'unicode.state': 32,
        'varobject.ob_size': 16,
    },
    (3, 9): {  # from the DWARF of 3.9.18
        'buffered.lock': 104,
        'buffered.owner': 112,
        'buffered.raw': 16,
        'bytes.ob_sval': 32,
        'cell.ob_ref': 16,
        'cfunction.m_self': 24,
        'code.co_cellvars': 88,
        'code.co_code': 48,
        'code.co_filename': 104,
        'code.co_firstlineno': 40,
        'code.co_freevars': 80,
        'code.co_lnotab': 120,
        'code.co_name': 112,
        'code.co_nlocals': 28,
        'code.co_stacksize': 32,
        'code.co_varnames': 72,
        'dict.ma_keys': 32,
        'dict.ma_used': 16,
        'dict.ma_values': 40,
        'dictkeys.dk_indices': 40,
        'dictkeys.dk_nentries': 32,
        'dictkeys.dk_size': 8,
        'frameobj.f_back': 24,
        'frameobj.f_code': 32,
        'frameobj.f_lasti': 104,
        'frameobj.f_localsplus': 360,
        'frameobj.f_stacktop': 72,
        'frameobj.f_valuestack': 64,
        'function.func_code': 16,
        'gil.last_holder': 8,
        'gil.locked': 16,
        'heaptype.ht_cached_keys': 864,
        'interp.after_forkers_child': 3472,
        'interp.modules': 856,
        'interp.next': 0,
        'interp.sysdict': 872,
        'interp.tstate_head': 8,
        'list.ob_item': 24,
        'lock.lock_lock': 16,
        'lock.locked': 32,
        'long.ob_digit': 24,
        'method.im_func': 16,
        'method.im_self': 24,
        'module.md_dict': 16,
        'object.ob_type': 8,
        'rlock.rlock_count': 32,
        'rlock.rlock_lock': 16,
        'rlock.rlock_owner': 24,
        'runtime.ceval_gil': 352,
        'runtime.interpreters_head': 32,
        'runtime.interpreters_main': 40,
        'sizeof.PyASCIIObject': 48,
        'sizeof.PyCompactUnicodeObject': 72,
        'sizeof.PyDictKeyEntry': 24,
        'textio.buffer': 32,
        'tstate.frame': 24,
        'tstate.interp': 16,
        'tstate.next': 8,
        'tstate.thread_id': 176,
        'tuple.ob_item': 24,
        'type.tp_basicsize': 32,
        'type.tp_dictoffset': 288,
        'type.tp_flags': 168,
        'type.tp_name': 24,
        'unicode.ascii.bit': 6,
        'unicode.compact.bit': 5,
        'unicode.kind.bit': 2,
        'unicode.kind.bits': 3,
        'unicode.length': 16,
        'unicode.state': 32,
        'varobject.ob_size': 16,
    },
    (3, 10): {  # from the DWARF of 3.10.13
        'buffered.lock': 104,
        'buffered.owner': 112,
        'buffered.raw': 16,
        'bytes.ob_sval': 32,
        'cell.ob_ref': 16,
        'cfunction.m_self': 24,
        'code.co_cellvars': 88,
        'code.co_code': 48,
        'code.co_filename': 104,
        'code.co_firstlineno': 40,
        'code.co_freevars': 80,
        'code.co_linetable': 120,
        'code.co_name': 112,
        'code.co_nlocals': 28,
        'code.co_stacksize': 32,
        'code.co_varnames': 72,
        'dict.ma_keys': 32,
        'dict.ma_used': 16,
        'dict.ma_values': 40,
        'dictkeys.dk_indices': 40,
        'dictkeys.dk_nentries': 32,
        'dictkeys.dk_size': 8,
        'frameobj.f_back': 24,
        'frameobj.f_code': 32,
        'frameobj.f_lasti': 96,
        'frameobj.f_localsplus': 352,
        'frameobj.f_stackdepth': 80,
        'frameobj.f_valuestack': 64,
        'function.func_code': 48,
        'gil.last_holder': 8,
        'gil.locked': 16,
        'heaptype.ht_cached_keys': 872,
        'interp.after_forkers_child': 3440,
        'interp.modules': 856,
        'interp.next': 0,
        'interp.sysdict': 872,
        'interp.tstate_head': 8,
        'list.ob_item': 24,
        'lock.lock_lock': 16,
        'lock.locked': 32,
        'long.ob_digit': 24,
        'method.im_func': 16,
        'method.im_self': 24,
        'module.md_dict': 16,
        'object.ob_type': 8,
        'rlock.rlock_count': 32,
        'rlock.rlock_lock': 16,
        'rlock.rlock_owner': 24,
        'runtime.ceval_gil': 352,
        'runtime.interpreters_head': 32,
        'runtime.interpreters_main': 40,
        'sizeof.PyASCIIObject': 48,
        'sizeof.PyCompactUnicodeObject': 72,
        'sizeof.PyDictKeyEntry': 24,
        'textio.buffer': 32,
        'tstate.cframe': 48,
        'tstate.frame': 24,
        'tstate.interp': 16,
        'tstate.next': 8,
        'tstate.thread_id': 176,
        'tuple.ob_item': 24,
        'type.tp_basicsize': 32,
        'type.tp_dictoffset': 288,
        'type.tp_flags': 168,
        'type.tp_name': 24,
        'unicode.ascii.bit': 6,
        'unicode.compact.bit': 5,
        'unicode.kind.bit': 2,
        'unicode.kind.bits': 3,
        'unicode.length': 16,
        'unicode.state': 32,
        'varobject.ob_size': 16,
    },
    (3, 11): {  # from the DWARF of 3.11.7
        'buffered.lock': 104,
        'buffered.owner': 112,
        'buffered.raw': 16,
        'bytes.ob_sval': 32,
        'cell.ob_ref': 16,
        'cframe.current_frame': 8,
        'cfunction.m_self': 24,
        'code.co_code_adaptive': 184,
        'code.co_filename': 112,
        'code.co_firstlineno': 72,
        'code.co_linetable': 136,
        'code.co_localsplusnames': 96,
        'code.co_name': 120,
        'code.co_nlocals': 80,
        'code.co_nlocalsplus': 76,
        'code.co_qualname': 128,
        'code.co_stacksize': 68,
        'dict.ma_keys': 32,
        'dict.ma_used': 16,
        'dict.ma_values': 40,
        'dictkeys.dk_indices': 32,
        'dictkeys.dk_kind': 10,
        'dictkeys.dk_log2_index_bytes': 9,
        'dictkeys.dk_log2_size': 8,
        'dictkeys.dk_nentries': 24,
        'dictvalues.values': 0,
        'frameobj.f_back': 16,
        'function.func_code': 48,
        'gil.last_holder': 8,
        'gil.locked': 16,
        'heaptype.ht_cached_keys': 872,
        'iframe.code': 32,
        'iframe.instr': 56,
        'iframe.is_entry': 68,
        'iframe.localsplus': 72,
        'iframe.owner': 69,
        'iframe.previous': 48,
        'iframe.stacktop': 64,
        'interp.after_forkers_child': 3496,
        'interp.modules': 888,
        'interp.next': 0,
        'interp.sysdict': 904,
        'interp.tstate_head': 16,
        'list.ob_item': 24,
        'lock.lock_lock': 16,
        'lock.locked': 32,
        'long.ob_digit': 24,
        'method.im_func': 16,
        'method.im_self': 24,
        'module.md_dict': 16,
        'object.ob_type': 8,
        'rlock.rlock_count': 32,
        'rlock.rlock_lock': 16,
        'rlock.rlock_owner': 24,
        'runtime.ceval_gil': 360,
        'runtime.interpreters_head': 40,
        'runtime.interpreters_main': 48,
        'sizeof.PyASCIIObject': 48,
        'sizeof.PyCompactUnicodeObject': 72,
        'sizeof.PyDictKeyEntry': 24,
        'sizeof.PyDictUnicodeEntry': 16,
        'textio.buffer': 32,
        'tstate.cframe': 56,
        'tstate.interp': 16,
        'tstate.native_thread_id': 160,
        'tstate.next': 8,
        'tstate.thread_id': 152,
        'tuple.ob_item': 24,
        'type.tp_basicsize': 32,
        'type.tp_dictoffset': 288,
        'type.tp_flags': 168,
        'type.tp_name': 24,
        'unicode.ascii.bit': 6,
        'unicode.compact.bit': 5,
        'unicode.kind.bit': 2,
        'unicode.kind.bits': 3,
        'unicode.length': 16,
        'unicode.state': 32,
        'varobject.ob_size': 16,
    },
    (3, 12): {  # from the DWARF of 3.12.1
        'buffered.lock': 104,
        'buffered.owner': 112,
        'buffered.raw': 16,
        'bytes.ob_sval': 32,
        'cell.ob_ref': 16,
        'cframe.current_frame': 0,
        'cfunction.m_self': 24,
        'code.co_code_adaptive': 192,
        'code.co_filename': 112,
        'code.co_firstlineno': 68,
        'code.co_linetable': 136,
        'code.co_localsplusnames': 96,
        'code.co_name': 120,
        'code.co_nlocals': 80,
        'code.co_nlocalsplus': 72,
        'code.co_qualname': 128,
        'code.co_stacksize': 64,
        'dict.ma_keys': 32,
        'dict.ma_used': 16,
        'dict.ma_values': 40,
        'dictkeys.dk_indices': 32,
        'dictkeys.dk_kind': 10,
        'dictkeys.dk_log2_index_bytes': 9,
        'dictkeys.dk_log2_size': 8,
        'dictkeys.dk_nentries': 24,
        'dictvalues.values': 0,
        'frameobj.f_back': 16,
        'function.func_code': 48,
        'gil.last_holder': 8,
        'gil.locked': 16,
        'heaptype.ht_cached_keys': 880,
        'iframe.code': 0,
        'iframe.instr': 56,
        'iframe.localsplus': 72,
        'iframe.owner': 70,
        'iframe.previous': 8,
        'iframe.stacktop': 64,
        'interp.after_forkers_child': 3888,
        'interp.ceval_gil': 384,
        'interp.modules': 944,
        'interp.next': 0,
        'interp.sysdict': 352,
        'interp.tstate_head': 72,
        'list.ob_item': 24,
        'lock.lock_lock': 16,
        'lock.locked': 32,
        'long.lv_tag': 16,
        'long.ob_digit': 24,
        'method.im_func': 16,
        'method.im_self': 24,
        'module.md_dict': 16,
        'object.ob_type': 8,
        'rlock.rlock_count': 32,
        'rlock.rlock_lock': 16,
        'rlock.rlock_owner': 24,
        'runtime.interpreters_head': 40,
        'runtime.interpreters_main': 48,
        'sizeof.PyASCIIObject': 40,
        'sizeof.PyCompactUnicodeObject': 56,
        'sizeof.PyDictKeyEntry': 24,
        'sizeof.PyDictUnicodeEntry': 16,
        'textio.buffer': 32,
        'tstate.cframe': 56,
        'tstate.interp': 16,
        'tstate.native_thread_id': 144,
        'tstate.next': 8,
        'tstate.thread_id': 136,
        'tuple.ob_item': 24,
        'type.tp_basicsize': 32,
        'type.tp_dictoffset': 288,
        'type.tp_flags': 168,
        'type.tp_name': 24,
        'unicode.ascii.bit': 6,
        'unicode.compact.bit': 5,
        'unicode.kind.bit': 2,
        'unicode.kind.bits': 3,
        'unicode.length': 16,
        'unicode.state': 32,
        'varobject.ob_size': 16,
    },
    (3, 13): {  # from the DWARF of 3.13.0
        'buffered.lock': 104,
        'buffered.owner': 112,
        'buffered.raw': 16,
        'bytes.ob_sval': 32,
        'cell.ob_ref': 16,
        'cfunction.m_self': 24,
        'code.co_code_adaptive': 200,
        'code.co_filename': 112,
        'code.co_firstlineno': 68,
        'code.co_linetable': 136,
        'code.co_localsplusnames': 96,
        'code.co_name': 120,
        'code.co_nlocals': 80,
        'code.co_nlocalsplus': 72,
        'code.co_qualname': 128,
        'code.co_stacksize': 64,
        'dbg.bytes_object.ob_sval': 528,
        'dbg.code_object.co_code_adaptive': 344,
        'dbg.code_object.filename': 280,
        'dbg.code_object.firstlineno': 312,
        'dbg.code_object.linetable': 304,
        'dbg.code_object.localsplusnames': 328,
        'dbg.code_object.name': 288,
        'dbg.code_object.qualname': 296,
        'dbg.dict_object.ma_keys': 456,
        'dbg.dict_object.ma_values': 464,
        'dbg.interpreter_frame.executable': 240,
        'dbg.interpreter_frame.instr_ptr': 248,
        'dbg.interpreter_frame.localsplus': 256,
        'dbg.interpreter_frame.owner': 264,
        'dbg.interpreter_frame.previous': 232,
        'dbg.interpreter_state.ceval_gil': 112,
        'dbg.interpreter_state.gil_runtime_state_holder': 144,
        'dbg.interpreter_state.gil_runtime_state_locked': 136,
        'dbg.interpreter_state.imports_modules': 88,
        'dbg.interpreter_state.next': 64,
        'dbg.interpreter_state.sysdict': 96,
        'dbg.interpreter_state.threads_head': 72,
        'dbg.long_object.lv_tag': 496,
        'dbg.long_object.ob_digit': 504,
        'dbg.pyobject.ob_type': 360,
        'dbg.runtime_state.interpreters_head': 40,
        'dbg.thread_state.current_frame': 184,
        'dbg.thread_state.interp': 176,
        'dbg.thread_state.native_thread_id': 200,
        'dbg.thread_state.next': 168,
        'dbg.thread_state.thread_id': 192,
        'dbg.tuple_object.ob_item': 408,
        'dbg.type_object.tp_flags': 392,
        'dbg.type_object.tp_name': 376,
        'dbg.unicode_object.asciiobject_size': 560,
        'dbg.unicode_object.length': 552,
        'dbg.version': 8,
        'dict.ma_keys': 32,
        'dict.ma_used': 16,
        'dict.ma_values': 40,
        'dictkeys.dk_indices': 32,
        'dictkeys.dk_kind': 10,
        'dictkeys.dk_log2_index_bytes': 9,
        'dictkeys.dk_log2_size': 8,
        'dictkeys.dk_nentries': 24,
        'dictvalues.values': 8,
        'frameobj.f_back': 16,
        'function.func_code': 48,
        'gil.last_holder': 8,
        'gil.locked': 16,
        'heaptype.ht_cached_keys': 880,
        'iframe.code': 0,
        'iframe.instr': 56,
        'iframe.localsplus': 72,
        'iframe.owner': 70,
        'iframe.previous': 8,
        'iframe.stacktop': 64,
        'interp.after_forkers_child': 10648,
        'interp.ceval_gil': 16,
        'interp.modules': 7656,
        'interp.next': 7264,
        'interp.sysdict': 7640,
        'interp.tstate_head': 7344,
        'list.ob_item': 24,
        'lock.lock_lock': 16,
        'lock.locked': 32,
        'long.lv_tag': 16,
        'long.ob_digit': 24,
        'method.im_func': 16,
        'method.im_self': 24,
        'module.md_dict': 16,
        'object.ob_type': 8,
        'rlock.rlock_count': 32,
        'rlock.rlock_lock': 16,
        'rlock.rlock_owner': 24,
        'runtime.interpreters_head': 632,
        'runtime.interpreters_main': 640,
        'sizeof.PyASCIIObject': 40,
        'sizeof.PyCompactUnicodeObject': 56,
        'sizeof.PyDictKeyEntry': 24,
        'sizeof.PyDictUnicodeEntry': 16,
        'textio.buffer': 32,
        'tstate.current_frame': 72,
        'tstate.interp': 16,
        'tstate.native_thread_id': 160,
        'tstate.next': 8,
        'tstate.thread_id': 152,
        'tuple.ob_item': 24,
        'type.tp_basicsize': 32,
        'type.tp_dictoffset': 288,
        'type.tp_flags': 168,
        'type.tp_name': 24,
        'unicode.ascii.bit': 6,
        'unicode.compact.bit': 5,
        'unicode.kind.bit': 2,
        'unicode.kind.bits': 3,
        'unicode.length': 16,
        'unicode.state': 32,
        'varobject.ob_size': 16,
    },
}
# ---- end of generated tables ----
