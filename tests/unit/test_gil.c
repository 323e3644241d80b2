/* The GIL held across a fork: the decision logic on a fake GIL in memory (a
 * worker thread plays the Python thread that holds it, the test thread the
 * forker), and the agent's offset table checked against the DWARF of every
 * CPython installed (gdb). */
#include <criterion/criterion.h>

#include "unit_agent.h"

#include "fw_config.h"
#include "fw_event.h"
#include "fw_fork.h"
#include "fw_gil.h"
#include "fw_orphan.h"
#include "fw_python.h"
#include "fw_registry.h"
#include "fw_thread.h"

#include <fcntl.h>
#include <glob.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* A struct _gil_runtime_state and two thread states, laid out as 3.12's. */
static _Alignas(64) unsigned char gil[256];
static _Alignas(64) unsigned char holder_ts[512], forker_ts[512];
static const struct fw_py_layout *lay;
static pthread_t holder_thread;
static pthread_barrier_t step;
static int32_t holder_tid;

static void put_u64(unsigned char *base, uint32_t off, uint64_t v)
{
    memcpy(base + off, &v, sizeof v);
}

static void set_gil(int32_t locked, const void *last_holder)
{
    memcpy(gil + lay->gil_locked, &locked, sizeof locked);
    put_u64(gil, lay->gil_last_holder, (uint64_t)(uintptr_t)last_holder);
}

static void *holder(void *arg)
{
    (void)arg;
    struct fw_thread *t = fw_thread_self();   /* known to the agent, like every Python thread */
    holder_tid = t->tid;
    put_u64(holder_ts, lay->tstate_thread_id, (uint64_t)pthread_self());
    pthread_barrier_wait(&step);   /* 1: the "fork" may come */
    pthread_barrier_wait(&step);   /* 2: end of test */
    return NULL;
}

static void setup(void)
{
    unit_agent_reset(FW_POLICY_WARN);
    strcpy(fw_cfg.report_path, unit_report_path("gil"));
    lay = fw_py_layout_for(12);
    cr_assert_not_null(lay);
    put_u64(forker_ts, lay->tstate_thread_id, (uint64_t)pthread_self());
    set_gil(0, NULL);
    fw_gil_set_for_test(lay, gil);
    pthread_barrier_init(&step, NULL, 2);
    pthread_create(&holder_thread, NULL, holder, NULL);
    pthread_barrier_wait(&step);
}

static void teardown(void)
{
    unit_report_remove();
}

TestSuite(gil, .init = setup, .fini = teardown);

/* The parent's fork wrapper and the child's bookkeeping, minus the real fork. */
static uint32_t simulate_fork(void)
{
    struct fw_thread *self = fw_thread_self();
    unit_record_fork();
    uint32_t n = fw_gil_at_fork(self, fw_fork_snapshot_held(self));
    fw_fork_mark_child(self, 200, 200);
    return n;
}

static const void *gil_cond(void)
{
    return gil + lay->gil_cond;
}

Test(gil, held_by_other_reads_locked_and_the_holders_ident)
{
    uint64_t ts = 0, id = 0, self = (uint64_t)pthread_self();
    set_gil(0, holder_ts);
    cr_assert_eq(fw_gil_held_by_other(lay, gil, self, &ts, &id), 0, "free");
    set_gil(-1, holder_ts);
    cr_assert_eq(fw_gil_held_by_other(lay, gil, self, &ts, &id), 0, "not initialised");
    set_gil(1, forker_ts);
    cr_assert_eq(fw_gil_held_by_other(lay, gil, self, &ts, &id), 0, "held by the forker itself");
    set_gil(1, NULL);
    cr_assert_eq(fw_gil_held_by_other(lay, gil, self, &ts, &id), 0, "no last holder");
    set_gil(1, holder_ts);
    cr_assert_eq(fw_gil_held_by_other(lay, gil, self, &ts, &id), 1);
    cr_assert_eq(ts, (uint64_t)(uintptr_t)holder_ts);
    cr_assert_eq(id, (uint64_t)holder_thread);
    /* A last_holder pointing at unmapped memory is read without a fault. */
    void *gone = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(gone, 4096);
    set_gil(1, gone);
    cr_assert_eq(fw_gil_held_by_other(lay, gil, self, &ts, &id), 0, "unreadable thread state");
    pthread_barrier_wait(&step);
}

Test(gil, fork_records_the_gil_held_by_another_thread_and_the_child_reports_its_wait)
{
    set_gil(1, holder_ts);
    uint32_t n = simulate_fork();
    struct fw_registry *r = &forkwatch_registry;
    cr_assert_eq(n, 1, "one fork_held entry: the GIL");
    cr_assert_eq(r->header.fork_held.used, 1);
    struct fw_fork_held *fh = &r->fork_held[0];
    cr_assert_eq(fh->kind, FW_KIND_GIL);
    cr_assert_eq(fh->lock_addr, (uint64_t)(uintptr_t)gil);
    cr_assert_eq(fh->holder_tid, holder_tid);
    cr_assert_eq(fh->holder_pthread, (uint64_t)holder_thread);
    cr_assert_eq(r->threads[fh->holder_slot].tid, holder_tid);
    cr_assert_eq(fh->orphan_state, FW_ORPHAN_LIVE, "the child marks it orphaned");
    cr_assert_neq(fw_gil_watch, 0);

    int other_cond;
    fw_gil_on_cond_wait(&other_cond, 0x5555);   /* any other condition: nothing */
    cr_assert_eq(r->header.deadlocks_reported, 0);
    cr_assert_null(unit_read_report());

    fw_gil_on_cond_wait(gil_cond(), 0x5555);    /* take_gil */
    cr_assert_eq(r->header.deadlocks_reported, 1);
    cr_assert_eq(fh->orphan_state, FW_ORPHAN_REPORTED);
    char *rep = unit_read_report();
    cr_assert_not_null(rep);
    cr_assert(strstr(rep, "\"event\":\"fork-deadlock\"") != NULL, "%s", rep);
    cr_assert(strstr(rep, "\"kind\":\"gil\"") != NULL, "lock kind named gil: %s", rep);
    cr_assert(strstr(rep, "\"acquire\":\"blocking\"") != NULL, "%s", rep);
    char want[128];
    snprintf(want, sizeof want, "\"lock\":{\"address\":\"0x%llx\"", (unsigned long long)(uintptr_t)gil);
    cr_assert(strstr(rep, want) != NULL, "%s", rep);
    snprintf(want, sizeof want, "\"holder\":{\"tid\":%d,", holder_tid);
    cr_assert(strstr(rep, want) != NULL, "%s", rep);
    cr_assert(strstr(rep, "\"address\":\"0x5555\"") != NULL, "waiter call site: %s", rep);
    /* "warn": one event, then the wait goes on without another. */
    cr_assert_eq(fw_gil_watch, 0);
    pthread_barrier_wait(&step);
}

Test(gil, nothing_when_the_forker_holds_the_gil_or_it_is_free)
{
    set_gil(1, forker_ts);
    cr_assert_eq(simulate_fork(), 0);
    cr_assert_eq(fw_gil_watch, 0);
    set_gil(0, holder_ts);
    cr_assert_eq(simulate_fork(), 0);
    cr_assert_eq(fw_gil_watch, 0);
    pthread_barrier_wait(&step);
}

Test(gil, a_holder_the_agent_does_not_know_is_not_recorded)
{
    unsigned char stranger[512] = { 0 };
    put_u64(stranger, lay->tstate_thread_id, 0x12345678);   /* no thread slot has this ident */
    set_gil(1, stranger);
    cr_assert_eq(simulate_fork(), 0);
    cr_assert_eq(fw_gil_watch, 0);
    pthread_barrier_wait(&step);
}

Test(gil, taken_between_snapshot_and_fork_is_added_by_the_child)
{
    struct fw_thread *self = fw_thread_self();
    set_gil(0, NULL);
    cr_assert_eq(fw_gil_at_fork(self, fw_fork_snapshot_held(self)), 0);
    set_gil(1, holder_ts);   /* the holder takes it just before the real fork */
    fw_fork_mark_child(self, 200, 200);
    struct fw_registry *r = &forkwatch_registry;
    cr_assert_eq(r->header.fork_held.used, 1);
    cr_assert_eq(r->fork_held[0].kind, FW_KIND_GIL);
    cr_assert_eq(r->fork_held[0].orphan_state, FW_ORPHAN_LIVE);
    cr_assert_neq(fw_gil_watch, 0);
    pthread_barrier_wait(&step);
}

Test(gil, released_before_the_fork_or_recreated_in_the_child_is_no_deadlock)
{
    struct fw_thread *self = fw_thread_self();
    set_gil(1, holder_ts);
    cr_assert_eq(fw_gil_at_fork(self, fw_fork_snapshot_held(self)), 1);
    set_gil(0, holder_ts);   /* released between snapshot and fork */
    fw_fork_mark_child(self, 200, 200);
    cr_assert_eq(fw_gil_watch, 0);
    cr_assert_eq(forkwatch_registry.fork_held[0].orphan_state, FW_ORPHAN_NOT_CHILD);

    set_gil(1, holder_ts);
    simulate_fork();
    cr_assert_neq(fw_gil_watch, 0);
    set_gil(1, forker_ts);   /* the child re-created the GIL and took it (os.fork's way) */
    fw_gil_on_cond_wait(gil_cond(), 0x5555);
    cr_assert_eq(forkwatch_registry.header.deadlocks_reported, 0);
    cr_assert_eq(forkwatch_registry.fork_held[0].orphan_state, FW_ORPHAN_REINITIALISED);
    cr_assert_eq(fw_gil_watch, 0);
    pthread_barrier_wait(&step);
}

Test(gil, a_child_that_forks_again_keeps_a_consistent_watch)
{
    struct fw_thread *self = fw_thread_self();
    set_gil(1, holder_ts);
    simulate_fork();
    cr_assert_neq(fw_gil_watch, 0);
    set_gil(0, NULL);   /* this child's next fork finds no GIL held */
    cr_assert_eq(fw_gil_at_fork(self, fw_fork_snapshot_held(self)), 0);
    fw_gil_on_cond_wait(gil_cond(), 0x5555);   /* the parent side of that fork: no entry, no event */
    cr_assert_eq(forkwatch_registry.header.deadlocks_reported, 0);
    set_gil(1, holder_ts);   /* ... and a fork of it while the vanished thread has it: again */
    cr_assert_eq(fw_gil_at_fork(self, fw_fork_snapshot_held(self)), 1);
    fw_fork_mark_child(self, 300, 300);
    cr_assert_eq(forkwatch_registry.fork_held[0].holder_tid, holder_tid);
    fw_gil_on_cond_wait(gil_cond(), 0x5555);
    cr_assert_eq(forkwatch_registry.header.deadlocks_reported, 1);
    pthread_barrier_wait(&step);
}

Test(gil, policy_off_does_not_watch)
{
    fw_cfg.policy = FW_POLICY_OFF;
    set_gil(1, holder_ts);
    simulate_fork();
    cr_assert_eq(forkwatch_registry.fork_held[0].orphan_state, FW_ORPHAN_LIVE, "still recorded for GDB");
    cr_assert_eq(fw_gil_watch, 0);
    pthread_barrier_wait(&step);
}

Test(gil, abort_policy_exits_with_the_configured_status, .exit_code = 77)
{
    fw_cfg.policy = FW_POLICY_ABORT;
    fw_cfg.exit_status = 77;
    set_gil(1, holder_ts);
    simulate_fork();
    fw_gil_on_cond_wait(gil_cond(), 0x5555);
}

/* ---- the offset table against DWARF ---- */

/* One `printf "key=%ld\n", EXPR` per field; NULL expr: not in this version. */
struct probe {
    const char *key;
    long want;
    const char *expr;
};

static int run_gdb(const char *lib, const struct probe *p, size_t n, char *out, size_t cap)
{
    char cmd[16384];
    size_t len = (size_t)snprintf(cmd, sizeof cmd,
                                  "timeout 120 gdb -nx -q -batch -iex 'set debuginfod enabled off' "
                                  "-iex 'set auto-load python-scripts off'");
    for (size_t i = 0; i < n && len < sizeof cmd; i++)
        if (p[i].expr)
            len += (size_t)snprintf(cmd + len, sizeof cmd - len, " -ex 'printf \"%s=%%ld\\n\", (long)(%s)'",
                                    p[i].key, p[i].expr);
    snprintf(cmd + len, sizeof cmd - len, " '%s' 2>/dev/null", lib);
    FILE *f = popen(cmd, "r");
    if (!f)
        return 0;
    out[0] = '\n';   /* every line then starts after a newline */
    size_t got = fread(out + 1, 1, cap - 2, f);
    out[got + 1] = '\0';
    return pclose(f) == 0;
}

static int check_lib(const char *lib, int minor)
{
    const struct fw_py_layout *l = fw_py_layout_for(minor);
    cr_assert_not_null(l, "no layout for 3.%d (%s)", minor, lib);
    int old = minor <= 11, dict_old = minor <= 10;
    const struct probe p[] = {
        { "cond", l->gil_cond, "&((struct _gil_runtime_state *)0)->cond" },
        { "locked", l->gil_locked, "&((struct _gil_runtime_state *)0)->locked" },
        { "last_holder", l->gil_last_holder, "&((struct _gil_runtime_state *)0)->last_holder" },
        { "runtime_ceval_gil", l->runtime_ceval_gil, old ? "&((_PyRuntimeState *)0)->ceval.gil" : NULL },
        { "interp_ceval_gil", l->interp_ceval_gil, old ? NULL : "&((PyInterpreterState *)0)->ceval.gil" },
        { "thread_id", l->tstate_thread_id, "&((PyThreadState *)0)->thread_id" },
        { "native_thread_id", l->tstate_native_id, minor >= 11 ? "&((PyThreadState *)0)->native_thread_id" : NULL },
        { "interp_modules", l->interp_modules,
          old ? "&((PyInterpreterState *)0)->modules" : "&((PyInterpreterState *)0)->imports.modules" },
        { "ht_cached_keys", l->ht_cached_keys, "&((PyHeapTypeObject *)0)->ht_cached_keys" },
        { "ascii_size", l->ascii_size, "sizeof(PyASCIIObject)" },
        { "dictvalues_values", l->dictvalues_values, minor >= 11 ? "&((PyDictValues *)0)->values" : NULL },
        { "ob_type", FW_PY_OB_TYPE, "&((PyObject *)0)->ob_type" },
        { "ob_size", FW_PY_OB_SIZE, "&((PyVarObject *)0)->ob_size" },
        { "tp_name", FW_PY_TP_NAME, "&((PyTypeObject *)0)->tp_name" },
        { "tp_basicsize", FW_PY_TP_BASICSIZE, "&((PyTypeObject *)0)->tp_basicsize" },
        { "tp_flags", FW_PY_TP_FLAGS, "&((PyTypeObject *)0)->tp_flags" },
        { "tp_dictoffset", FW_PY_TP_DICTOFFSET, "&((PyTypeObject *)0)->tp_dictoffset" },
        { "ma_keys", FW_PY_MA_KEYS, "&((PyDictObject *)0)->ma_keys" },
        { "ma_values", FW_PY_MA_VALUES, "&((PyDictObject *)0)->ma_values" },
        { "md_dict", FW_PY_MD_DICT, "&((PyModuleObject *)0)->md_dict" },
        { "str_length", FW_PY_STR_LENGTH, "&((PyASCIIObject *)0)->length" },
        { "str_state", FW_PY_STR_STATE, "&((PyASCIIObject *)0)->state" },
        { "long_digits", FW_PY_LONG_DIGITS,
          minor >= 12 ? "&((PyLongObject *)0)->long_value.ob_digit" : "&((PyLongObject *)0)->ob_digit" },
        { "long_tag", FW_PY_LONG_TAG, minor >= 12 ? "&((PyLongObject *)0)->long_value.lv_tag" : NULL },
        { "dk_size", FW_PY_DK_SIZE_OLD, dict_old ? "&((PyDictKeysObject *)0)->dk_size" : NULL },
        { "dk_nentries", dict_old ? FW_PY_DK_NENTRIES_OLD : FW_PY_DK_NENTRIES,
          "&((PyDictKeysObject *)0)->dk_nentries" },
        { "dk_indices", dict_old ? FW_PY_DK_INDICES_OLD : FW_PY_DK_INDICES,
          "&((PyDictKeysObject *)0)->dk_indices" },
        { "dk_log2_index_bytes", FW_PY_DK_LOG2_INDEX_BYTES,
          dict_old ? NULL : "&((PyDictKeysObject *)0)->dk_log2_index_bytes" },
        { "dk_kind", FW_PY_DK_KIND, dict_old ? NULL : "&((PyDictKeysObject *)0)->dk_kind" },
    };
    size_t n = sizeof p / sizeof p[0];
    static char out[1 << 14];
    if (!run_gdb(lib, p, n, out, sizeof out) || !strstr(out, "cond="))
        return 0;   /* no gdb or no DWARF for this one */
    for (size_t i = 0; i < n; i++) {
        if (!p[i].expr) {
            /* A per-version field this version lacks must be 0 in the table (a
             * constant of another version's layout is simply not used). */
            int per_version = !strcmp(p[i].key, "runtime_ceval_gil") || !strcmp(p[i].key, "interp_ceval_gil") ||
                              !strcmp(p[i].key, "native_thread_id") || !strcmp(p[i].key, "dictvalues_values");
            cr_expect(!per_version || p[i].want == 0, "%s 3.%d: %s set but absent in this version", lib,
                      minor, p[i].key);
            continue;
        }
        char key[64];
        snprintf(key, sizeof key, "\n%s=", p[i].key);
        const char *at = strstr(out, key);
        cr_expect_not_null(at, "%s 3.%d: gdb could not evaluate %s", lib, minor, p[i].key);
        if (!at)
            continue;
        long v = strtol(at + strlen(key), NULL, 10);
        cr_expect_eq(v, p[i].want, "%s 3.%d: %s is %ld in DWARF, %ld in layouts.py (fw_py_offsets.h)", lib, minor, p[i].key, v, p[i].want);
    }
    return 1;
}

Test(gil_layout, offsets_equal_the_dwarf_of_every_cpython_installed, .timeout = 600)
{
    const char *root = getenv("PYENV_ROOT") ? getenv("PYENV_ROOT") : "/root/.pyenv";
    char pattern[512];
    snprintf(pattern, sizeof pattern, "%s/versions/3.*/lib/libpython3.*.so.1.0", root);
    glob_t g;
    int checked = 0;
    if (glob(pattern, 0, NULL, &g) == 0) {
        for (size_t i = 0; i < g.gl_pathc; i++) {
            const char *base = strrchr(g.gl_pathv[i], '/') + 1;   /* libpython3.N.so.1.0 */
            int minor = atoi(base + strlen("libpython3."));
            if (minor >= FW_PY_FIRST_MINOR && minor <= FW_PY_LAST_MINOR)
                checked += check_lib(g.gl_pathv[i], minor);
        }
        globfree(&g);
    }
    /* Debian's (DWARF from python3.X-dbg): 3.11 on Debian 12, 3.13 on 13, 3.13-3.15 on sid. */
    for (int minor = 11; minor <= FW_PY_LAST_MINOR; minor++) {
        char exe[64];
        snprintf(exe, sizeof exe, "/usr/bin/python3.%d", minor);
        if (access(exe, X_OK) == 0)
            checked += check_lib(exe, minor);
    }
    if (checked == 0)
        cr_skip_test("no CPython the table knows with DWARF (or no gdb) to check against");
    cr_log_info("gil layout: %d interpreters checked against DWARF", checked);
}
