/*
 * fuzz_registry.c — libFuzzer harness for the agent-registry decoder
 * (gdb/forkwatch/agent_registry.py), run in an embedded CPython 3.11.
 *
 * Each input is a registry image; tests/fuzz/fuzz_driver.py:one(data) decodes
 * it and exercises the queries the analysis uses. Python line coverage is fed
 * back to libFuzzer through an extra-counters array: a C trace function
 * (PyEval_SetTrace) hashes (code object, previous line, line) into it, so a
 * new edge between two lines of the decoder is new coverage.
 *
 * A crash: any exception out of one() (the decoder's documented outcome is a
 * Registry with "registry damaged" notes, never an exception) → the traceback
 * is printed and abort(). A hang: libFuzzer's -timeout.
 *
 * Build: make fuzz (clang -fsanitize=fuzzer, /usr/bin/python3.11-config --embed).
 * FW_FUZZ_DIR (env) overrides the directory holding fuzz_driver.py.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <frameobject.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#ifndef FW_FUZZ_DIR_DEFAULT
#define FW_FUZZ_DIR_DEFAULT "tests/fuzz"
#endif

#define NCOUNTERS (1u << 16)
__attribute__((section("__libfuzzer_extra_counters"))) static uint8_t py_counters[NCOUNTERS];

static PyObject *one_fn;
static uintptr_t prev_loc;

static int trace(PyObject *obj, PyFrameObject *frame, int what, PyObject *arg)
{
    (void)obj;
    (void)arg;
    if (what != PyTrace_LINE && what != PyTrace_CALL && what != PyTrace_RETURN && what != PyTrace_EXCEPTION)
        return 0;
    PyCodeObject *code = PyFrame_GetCode(frame);
    uintptr_t loc = ((uintptr_t)code >> 4) * 0x9E3779B97F4A7C15ull;
    loc ^= (uintptr_t)PyFrame_GetLineNumber(frame) * 0xC2B2AE3D27D4EB4Full;
    loc ^= (uintptr_t)what << 60;
    Py_DECREF(code);
    uintptr_t edge = (loc ^ (prev_loc >> 1)) * 0x2545F4914F6CDD1Dull;
    prev_loc = loc;
    uint8_t *c = &py_counters[(edge >> 40) & (NCOUNTERS - 1)];
    if (*c != 255)
        (*c)++;
    return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    PyConfig config;
    PyConfig_InitIsolatedConfig(&config);
    config.write_bytecode = 0;
    PyStatus st = Py_InitializeFromConfig(&config);
    PyConfig_Clear(&config);
    if (PyStatus_Exception(st)) {
        fprintf(stderr, "fuzz_registry: cannot start Python\n");
        exit(2);
    }
    const char *dir = getenv("FW_FUZZ_DIR");
    if (!dir || !*dir)
        dir = FW_FUZZ_DIR_DEFAULT;
    PyObject *path = PySys_GetObject("path"); /* borrowed */
    PyObject *d = PyUnicode_FromString(dir);
    if (!path || !d || PyList_Insert(path, 0, d) != 0) {
        PyErr_Print();
        exit(2);
    }
    Py_DECREF(d);
    PyObject *mod = PyImport_ImportModule("fuzz_driver");
    if (!mod) {
        PyErr_Print();
        fprintf(stderr, "fuzz_registry: cannot import fuzz_driver from %s (set FW_FUZZ_DIR)\n", dir);
        exit(2);
    }
    one_fn = PyObject_GetAttrString(mod, "one");
    Py_DECREF(mod);
    if (!one_fn) {
        PyErr_Print();
        exit(2);
    }
    PyEval_SetTrace(trace, NULL);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    prev_loc = 0;
    PyObject *b = PyBytes_FromStringAndSize((const char *)data, (Py_ssize_t)size);
    if (!b)
        abort();
    PyObject *r = PyObject_CallOneArg(one_fn, b);
    Py_DECREF(b);
    if (!r) {
        fprintf(stderr, "fuzz_registry: the decoder raised on a %zu-byte input:\n", size);
        PyErr_Print();
        fflush(stderr);
        abort();
    }
    Py_DECREF(r);
    return 0;
}
