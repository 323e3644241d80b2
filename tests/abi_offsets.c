/* abi_offsets.c — prints, as one JSON object, what forkwatch_abi.h says about
 * the registry layout: constants, table descriptors (as the agent fills them),
 * and the offset of every struct field, so that gdb/forkwatch/agent_registry.py
 * can check its mirror (tests/gdb/check_mirror.py).
 *
 *   "structs":     {"fw_held": {"sizeof": 32, "lock_addr": 0, ...}, ...}
 *   "field_sizes": {"fw_held/lock_addr": 8, ...}   ("/" keeps them apart from offsets)
 *   "tables":      {"threads": {"offset": ..., "entry_size": ..., "capacity": ...}, ...}
 *   "constants":   {"FW_MAX_THREADS": 1024, ...}
 */
#include "forkwatch_abi.h"

#include <stddef.h>
#include <stdio.h>

static int first;

static void begin(const char *name)
{
    printf("%s\"%s\":{", first ? "" : ",", name);
    first = 1;
}

static void end(void)
{
    printf("}");
    first = 0;
}

static void num(const char *key, unsigned long long v)
{
    printf("%s\"%s\":%llu", first ? "" : ",", key, v);
    first = 0;
}

#define MEMBER_SIZE(type, field) sizeof(((type *)0)->field)

/* Each struct is listed twice: offsets (with "sizeof") and field sizes. */
#define HEADER_FIELDS(X, T) \
    X(T, magic) X(T, layout_version) X(T, header_size) X(T, total_size) X(T, pid) \
    X(T, parent_pid) X(T, born_of_fork_id) X(T, flags) X(T, policy) X(T, forks_total) \
    X(T, deadlocks_reported) X(T, hazards_reported) X(T, latest_fork_slot) \
    X(T, fork_held_count) X(T, agent_version) X(T, threads) X(T, stacks) X(T, forks) \
    X(T, fork_held) X(T, py_threads) X(T, py_frames) X(T, modules)
#define TABLE_DESC_FIELDS(X, T) X(T, offset) X(T, entry_size) X(T, capacity) X(T, used)
#define HELD_FIELDS(X, T) X(T, lock_addr) X(T, call_site) X(T, kind) X(T, state) X(T, stack_id) X(T, seq)
#define THREAD_FIELDS(X, T) \
    X(T, state) X(T, tid) X(T, pthread_id) X(T, name) X(T, held_used) X(T, held_dropped) \
    X(T, next_seq) X(T, reserved) X(T, reserved2) X(T, held)
#define STACK_FIELDS(X, T) X(T, call_site) X(T, depth) X(T, reserved) X(T, frames)
#define FORK_FIELDS(X, T) \
    X(T, fork_id) X(T, time_ns) X(T, parent_pid) X(T, child_pid) X(T, forker_tid) X(T, via) \
    X(T, held_count) X(T, threads_live) X(T, python_captured) X(T, reserved)
#define FORK_HELD_FIELDS(X, T) \
    X(T, lock_addr) X(T, call_site) X(T, kind) X(T, holder_tid) X(T, holder_slot) X(T, stack_id) \
    X(T, py_thread) X(T, orphan_state) X(T, holder_pthread) X(T, holder_name) X(T, call_site_function)
#define PY_THREAD_FIELDS(X, T) \
    X(T, thread_ident) X(T, tid) X(T, frame_first) X(T, frame_count) X(T, reserved) X(T, name)
#define PY_FRAME_FIELDS(X, T) X(T, line) X(T, reserved) X(T, function) X(T, file)
#define MODULE_FIELDS(X, T) \
    X(T, base) X(T, end) X(T, build_id_len) X(T, reserved) X(T, build_id) X(T, path)
#define REGISTRY_FIELDS(X, T) \
    X(T, header) X(T, threads) X(T, stacks) X(T, forks) X(T, fork_held) X(T, py_threads) \
    X(T, py_frames) X(T, modules)

#define OFFSET(T, f) num(#f, offsetof(T, f));
#define SIZE(T, f) num(#T "/" #f, MEMBER_SIZE(T, f));

#define ALL_STRUCTS(S) \
    S(struct fw_registry_header, fw_registry_header, HEADER_FIELDS) \
    S(struct fw_table_desc, fw_table_desc, TABLE_DESC_FIELDS) \
    S(struct fw_held, fw_held, HELD_FIELDS) \
    S(struct fw_thread, fw_thread, THREAD_FIELDS) \
    S(struct fw_stack, fw_stack, STACK_FIELDS) \
    S(struct fw_fork, fw_fork, FORK_FIELDS) \
    S(struct fw_fork_held, fw_fork_held, FORK_HELD_FIELDS) \
    S(struct fw_py_thread, fw_py_thread, PY_THREAD_FIELDS) \
    S(struct fw_py_frame, fw_py_frame, PY_FRAME_FIELDS) \
    S(struct fw_module, fw_module, MODULE_FIELDS) \
    S(struct fw_registry, fw_registry, REGISTRY_FIELDS)

#define PRINT_OFFSETS(type, name, FIELDS) begin(#name); num("sizeof", sizeof(type)); FIELDS(OFFSET, type) end();
#define PRINT_SIZES(type, name, FIELDS) FIELDS(SIZE_OF, type)
#define SIZE_OF(T, f) num(SIZE_KEY(T, f), MEMBER_SIZE(T, f));

/* "struct fw_held" -> key "fw_held/lock_addr": built at run time to drop "struct ". */
static char key_buf[128];
static const char *size_key(const char *type, const char *field)
{
    const char *t = type;
    if (t[0] == 's' && t[6] == ' ')
        t += 7;
    snprintf(key_buf, sizeof key_buf, "%s/%s", t, field);
    return key_buf;
}
#define SIZE_KEY(T, f) size_key(#T, #f)

#define TABLE(name, type, cap) \
    begin(#name); num("offset", offsetof(struct fw_registry, name)); \
    num("entry_size", sizeof(type)); num("capacity", cap); end();

int main(void)
{
    printf("{");
    first = 1;
    num("layout_version", FW_LAYOUT_VERSION);
    num("magic", FW_MAGIC);
    begin("structs");
    first = 1;
    ALL_STRUCTS(PRINT_OFFSETS)
    end();
    begin("field_sizes");
    ALL_STRUCTS(PRINT_SIZES)
    end();
    begin("tables");
    TABLE(threads, struct fw_thread, FW_MAX_THREADS)
    TABLE(stacks, struct fw_stack, FW_MAX_STACKS)
    TABLE(forks, struct fw_fork, FW_MAX_FORKS)
    TABLE(fork_held, struct fw_fork_held, FW_MAX_FORK_HELD)
    TABLE(py_threads, struct fw_py_thread, FW_MAX_PY_THREADS)
    TABLE(py_frames, struct fw_py_frame, FW_MAX_PY_FRAMES)
    TABLE(modules, struct fw_module, FW_MAX_MODULES)
    end();
    begin("constants");
    num("FW_MAX_THREADS", FW_MAX_THREADS);
    num("FW_MAX_HELD", FW_MAX_HELD);
    num("FW_STACK_DEPTH", FW_STACK_DEPTH);
    num("FW_MAX_STACKS", FW_MAX_STACKS);
    num("FW_MAX_FORKS", FW_MAX_FORKS);
    num("FW_MAX_FORK_HELD", FW_MAX_FORK_HELD);
    num("FW_MAX_PY_THREADS", FW_MAX_PY_THREADS);
    num("FW_MAX_PY_FRAMES", FW_MAX_PY_FRAMES);
    num("FW_MAX_MODULES", FW_MAX_MODULES);
    num("FW_NAME_LEN", FW_NAME_LEN);
    num("FW_PY_NAME_LEN", FW_PY_NAME_LEN);
    num("FW_FUNC_LEN", FW_FUNC_LEN);
    num("FW_PY_FILE_LEN", FW_PY_FILE_LEN);
    num("FW_PATH_LEN", FW_PATH_LEN);
    num("FW_BUILD_ID_MAX", FW_BUILD_ID_MAX);
    num("FW_EXIT_DEADLOCK", FW_EXIT_DEADLOCK);
    end();
    printf("}\n");
    return 0;
}
