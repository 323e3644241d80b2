/* fw_event.c — see fw_event.h. Runs in a fork child: no malloc, no stdio, no
 * locks of libc; only memory, clock_gettime, open and write. */
#include "fw_event.h"

#include "fw_config.h"
#include "fw_json.h"
#include "fw_modules.h"
#include "fw_orphan.h"
#include "fw_pymutex.h"
#include "fw_python.h"
#include "fw_registry.h"
#include "fw_thread.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define JSON_CAP (128u * 1024u)
#define TEXT_CAP (16u * 1024u)
#define FRAME_ROOM 2048u          /* a frame is only started with this much room left */
#define WAITER_PY_MAX 128u
#define TEXT_FRAMES_MAX 12u

static char json_buf[JSON_CAP];
static char text_buf[TEXT_CAP];
static struct fw_py_frame waiter_py[WAITER_PY_MAX];
/* What the waiter's own thread found out just before the event is written
 * (fw_event_report); empty/0/-1 when unknown, and then the event says nothing. */
static char waiter_pyname[FW_PY_NAME_LEN];
static const char *lock_pykind;   /* "threading.Lock" / "threading.RLock" or 0 */
static int forked_raw = -1;       /* fw_python_forked_raw() */
static int report_fd = -1;
static int events_busy;   /* spin flag: events are rare, and usually one thread is left */

const char *fw_kind_json_name(uint32_t kind)
{
    switch (kind) {
    case FW_KIND_MUTEX: return "pthread_mutex";
    case FW_KIND_RWLOCK_READ:
    case FW_KIND_RWLOCK_WRITE: return "pthread_rwlock";
    case FW_KIND_SEMAPHORE: return "semaphore";
    case FW_KIND_C11_MTX: return "c11_mtx";
    case FW_KIND_GIL: return "gil";
    case FW_KIND_PYMUTEX: return "pymutex";
    default: return "unknown";
    }
}

static const char *kind_text(uint32_t kind)
{
    switch (kind) {
    case FW_KIND_MUTEX: return "pthread mutex";
    case FW_KIND_RWLOCK_READ: return "pthread rwlock (read-held)";
    case FW_KIND_RWLOCK_WRITE: return "pthread rwlock";
    case FW_KIND_SEMAPHORE: return "semaphore";
    case FW_KIND_C11_MTX: return "C11 mutex";
    case FW_KIND_GIL: return "the GIL";
    case FW_KIND_PYMUTEX: return "CPython PyMutex";
    default: return "lock";
    }
}

/* A PyMutex is named by the Python object around it, read again from memory. */
static const char *lock_kind_name(const struct fw_fork_held *fh)
{
    uint64_t owner;
    return fh->kind == FW_KIND_PYMUTEX ? fw_pymutex_kind(fh->lock_addr, &owner)
                                       : fw_kind_json_name(fh->kind);
}

/* The Python lock around the native one, when known: a PyMutex's object is read
 * from memory; a semaphore's was found from the waiter's stack (fw_event_report). */
static const char *lock_python_kind(const struct fw_fork_held *fh)
{
    if (fh->kind == FW_KIND_SEMAPHORE)
        return lock_pykind;
    if (fh->kind == FW_KIND_PYMUTEX) {
        const char *k = lock_kind_name(fh);
        return strncmp(k, "threading.", 10) == 0 ? k : 0;
    }
    return 0;
}

/* getenv without libc's locks or allocation: the environment array as the
 * child has it now (pytest sets PYTEST_CURRENT_TEST with putenv for each test;
 * in the fork child no other thread can be changing it). */
extern char **environ;
static const char *env_now(const char *name)
{
    size_t n = 0;
    while (name[n])
        n++;
    for (char **e = environ; e && *e; e++) {
        size_t i = 0;
        while (i < n && (*e)[i] == name[i])
            i++;
        if (i == n && (*e)[n] == '=')
            return *e + n + 1;
    }
    return 0;
}

/* Which test forked, and the run's --label (FORKWATCH_LABEL): ,"test":..,"label":.. */
static void json_context(struct fw_buf *b)
{
    const char *test = env_now("PYTEST_CURRENT_TEST");
    const char *label = env_now("FORKWATCH_LABEL");
    if (test && test[0]) {
        fw_buf_char(b, ',');
        fw_json_key(b, "test");
        fw_json_string(b, test, 1024);
    }
    if (label && label[0]) {
        fw_buf_char(b, ',');
        fw_json_key(b, "label");
        fw_json_string(b, label, 512);
    }
}

static const char *policy_name(void)
{
    return fw_cfg.policy == FW_POLICY_WARN ? "warn" : fw_cfg.policy == FW_POLICY_OFF ? "off" : "abort";
}

static const char *mode_name(int mode)
{
    return mode == FW_ACQ_TRY ? "try" : mode == FW_ACQ_TIMED ? "timed" : "blocking";
}

static const char *via_name(uint32_t via)
{
    return via == FW_VIA_FORKPTY ? "forkpty" : via == FW_VIA_UNDERSCORE_FORK ? "_Fork" : "fork";
}

void fw_text_escaped(struct fw_buf *b, const char *s, size_t maxlen)
{
    static const char digits[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)s;
    size_t n = 0;
    while (n < maxlen && s[n])
        n++;
    for (size_t i = 0; i < n;) {
        size_t seq = fw_utf8_seq_len(u + i, n - i);
        if (seq > 1) {
            fw_buf_bytes(b, s + i, seq);
            i += seq;
        } else if (seq == 1 && u[i] >= 0x20 && u[i] < 0x7f && u[i] != '\\' && u[i] != '"') {
            fw_buf_char(b, s[i++]);
        } else if (seq == 1 && (u[i] == '\\' || u[i] == '"')) {
            fw_buf_char(b, '\\');
            fw_buf_char(b, s[i++]);
        } else {
            char esc[4] = { '\\', 'x', digits[u[i] >> 4], digits[u[i] & 0xf] };
            fw_buf_bytes(b, esc, 4);
            i++;
        }
    }
}

/* ---- JSON ---- */

static void json_u64_field(struct fw_buf *b, const char *key, uint64_t v)
{
    fw_json_key(b, key);
    fw_buf_u64(b, v);
}

static void json_i64_field(struct fw_buf *b, const char *key, int64_t v)
{
    fw_json_key(b, key);
    fw_buf_i64(b, v);
}

static void json_hex_field(struct fw_buf *b, const char *key, uint64_t v)
{
    fw_json_key(b, key);
    fw_buf_char(b, '"');
    fw_buf_hex(b, v);
    fw_buf_char(b, '"');
}

static void json_native_frame(struct fw_buf *b, uint64_t addr, const char *function)
{
    static const char digits[] = "0123456789abcdef";
    int mi = fw_module_find(addr);
    const struct fw_module *m = mi >= 0 ? &forkwatch_registry.modules[mi] : 0;
    fw_buf_char(b, '{');
    fw_json_key(b, "function");
    fw_json_string(b, function && function[0] ? function : 0, FW_FUNC_LEN);
    fw_buf_str(b, ",\"file\":null,\"line\":null,");
    fw_json_key(b, "module");
    fw_json_string(b, m ? m->path : 0, FW_PATH_LEN);
    fw_buf_char(b, ',');
    json_hex_field(b, "address", addr);
    fw_buf_char(b, ',');
    if (m)
        json_hex_field(b, "offset", addr - m->base);
    else
        fw_buf_str(b, "\"offset\":null");
    fw_buf_str(b, ",\"build_id\":");
    if (m && m->build_id_len) {
        fw_buf_char(b, '"');
        for (uint32_t i = 0; i < m->build_id_len && i < FW_BUILD_ID_MAX; i++) {
            fw_buf_char(b, digits[m->build_id[i] >> 4]);
            fw_buf_char(b, digits[m->build_id[i] & 0xf]);
        }
        fw_buf_char(b, '"');
    } else {
        fw_buf_str(b, "null");
    }
    fw_buf_char(b, '}');
}

static void json_py_frames(struct fw_buf *b, const struct fw_py_frame *f, uint32_t n)
{
    fw_buf_char(b, '[');
    for (uint32_t i = 0; i < n; i++) {
        if (fw_buf_room(b) < FRAME_ROOM)
            break;
        if (i)
            fw_buf_char(b, ',');
        fw_buf_char(b, '{');
        fw_json_key(b, "function");
        fw_json_string(b, f[i].function, FW_FUNC_LEN);
        fw_buf_char(b, ',');
        fw_json_key(b, "file");
        fw_json_string(b, f[i].file, FW_PY_FILE_LEN);
        fw_buf_char(b, ',');
        json_u64_field(b, "line", f[i].line);
        fw_buf_str(b, ",\"module\":null}");
    }
    fw_buf_char(b, ']');
}

/* Where the holder took the lock: its exact call site, recorded by that
 * acquisition. The pooled stacks (fw_stacks.c) are kept per call site, the first
 * stack seen there: for a call site shared by many callers (CPython's
 * PyThread_acquire_lock_timed serves every Python lock) that is another
 * thread's stack from another time, so the event never shows them. */
static void json_holder_native(struct fw_buf *b, const struct fw_fork_held *fh)
{
    fw_buf_char(b, '[');
    if (fh->call_site)   /* 0: adopted in the child without any entry */
        json_native_frame(b, fh->call_site, fh->call_site_function);
    fw_buf_char(b, ']');
}

static const struct fw_py_thread *holder_py(const struct fw_fork_held *fh)
{
    const struct fw_registry *r = &forkwatch_registry;
    if (fh->py_thread < 0 || (uint32_t)fh->py_thread >= r->header.py_threads.used)
        return 0;
    const struct fw_fork *fk = &r->forks[r->header.latest_fork_slot % FW_MAX_FORKS];
    return fk->python_captured ? &r->py_threads[fh->py_thread] : 0;
}

static const char *holder_name(const struct fw_fork_held *fh)
{
    const struct fw_py_thread *pt = holder_py(fh);
    return pt && pt->name[0] ? pt->name : fh->holder_name;
}

static void holder_py_frames(const struct fw_fork_held *fh, const struct fw_py_frame **f, uint32_t *n)
{
    const struct fw_py_thread *pt = holder_py(fh);
    *f = 0;
    *n = 0;
    if (!pt || pt->frame_first >= FW_MAX_PY_FRAMES)
        return;
    *f = &forkwatch_registry.py_frames[pt->frame_first];
    *n = pt->frame_count;
    if (*n > FW_MAX_PY_FRAMES - pt->frame_first)
        *n = FW_MAX_PY_FRAMES - pt->frame_first;
}

/* An ownerless lock: every thread lost in the fork, with its Python stack at
 * the fork, is a candidate holder. */
static void json_lost_threads(struct fw_buf *b)
{
    const struct fw_registry *r = &forkwatch_registry;
    const struct fw_fork *fk = &r->forks[r->header.latest_fork_slot % FW_MAX_FORKS];
    fw_buf_char(b, '[');
    int first = 1;
    for (uint32_t i = 0; i < r->header.threads.used && i < FW_MAX_THREADS; i++) {
        const struct fw_thread *t = &r->threads[i];
        if (t->state != FW_THREAD_VANISHED || fw_buf_room(b) < 4 * FRAME_ROOM)
            continue;
        int32_t pi = fk->python_captured ? fw_python_thread_index(t->pthread_id) : -1;
        const struct fw_py_thread *pt = pi >= 0 ? &r->py_threads[pi] : 0;
        if (!first)
            fw_buf_char(b, ',');
        first = 0;
        fw_buf_char(b, '{');
        json_i64_field(b, "tid", t->tid);
        fw_buf_char(b, ',');
        fw_json_key(b, "name");
        fw_json_string(b, pt && pt->name[0] ? pt->name : t->name, FW_PY_NAME_LEN);
        fw_buf_char(b, ',');
        json_hex_field(b, "pthread", t->pthread_id);
        fw_buf_str(b, ",\"python_stack\":");
        uint32_t n = 0;
        if (pt && pt->frame_first < FW_MAX_PY_FRAMES) {
            n = pt->frame_count;
            if (n > FW_MAX_PY_FRAMES - pt->frame_first)
                n = FW_MAX_PY_FRAMES - pt->frame_first;
        }
        json_py_frames(b, pt ? &r->py_frames[pt->frame_first] : 0, pt ? n : 0);
        fw_buf_char(b, '}');
    }
    fw_buf_char(b, ']');
}

void fw_event_format_json(struct fw_buf *b, int event, uint32_t idx, uint32_t acquired_kind,
                          int mode, uint64_t call_site, const struct fw_py_frame *wpy,
                          uint32_t wpy_count, uint64_t time_ns)
{
    (void)acquired_kind;
    const struct fw_registry *r = &forkwatch_registry;
    const struct fw_fork_held *fh = &r->fork_held[idx];
    const struct fw_fork *fk = &r->forks[r->header.latest_fork_slot % FW_MAX_FORKS];
    const struct fw_thread *self = fw_tls_slot;

    fw_buf_str(b, "{\"schema\":\"forkwatch-event/1\",");
    fw_json_key(b, "event");
    fw_json_string(b, event == FW_EVENT_DEADLOCK ? "fork-deadlock" : "fork-hazard", 32);
    fw_buf_char(b, ',');
    json_u64_field(b, "time_ns", time_ns);
    fw_buf_char(b, ',');
    json_i64_field(b, "pid", r->header.pid);
    fw_buf_char(b, ',');
    json_i64_field(b, "ppid", r->header.parent_pid);
    fw_buf_char(b, ',');
    json_u64_field(b, "fork_id", fk->fork_id);
    fw_buf_char(b, ',');
    fw_json_key(b, "policy");
    fw_json_string(b, policy_name(), 16);
    fw_buf_char(b, ',');
    fw_json_key(b, "acquire");
    fw_json_string(b, mode_name(mode), 16);
    json_context(b);

    fw_buf_str(b, ",\"fork\":{");
    json_i64_field(b, "parent_pid", fk->parent_pid);
    fw_buf_char(b, ',');
    json_i64_field(b, "forker_tid", fk->forker_tid);
    fw_buf_char(b, ',');
    fw_json_key(b, "via");
    fw_json_string(b, via_name(fk->via), 16);
    fw_buf_char(b, '}');

    fw_buf_str(b, ",\"lock\":{");
    json_hex_field(b, "address", fh->lock_addr);
    fw_buf_char(b, ',');
    fw_json_key(b, "kind");
    fw_json_string(b, lock_kind_name(fh), 32);
    const char *pykind = lock_python_kind(fh);
    if (pykind) {
        fw_buf_char(b, ',');
        fw_json_key(b, "python_kind");
        fw_json_string(b, pykind, 32);
    }
    fw_buf_char(b, '}');

    const char *pyver = fw_python_version();
    if (pyver) {
        fw_buf_str(b, ",\"python\":{");
        fw_json_key(b, "version");
        fw_json_string(b, pyver, 16);
        /* "os.fork": the at-fork hooks ran; "raw": fork() from C skipped them. */
        fw_buf_str(b, ",\"fork\":");
        fw_json_string(b, forked_raw == 1 ? "raw" : forked_raw == 0 ? "os.fork" : 0, 16);
        fw_buf_char(b, '}');
    }

    fw_buf_str(b, ",\"holder\":{");
    json_i64_field(b, "tid", fh->holder_tid);
    fw_buf_char(b, ',');
    fw_json_key(b, "name");
    fw_json_string(b, holder_name(fh), FW_PY_NAME_LEN);
    fw_buf_char(b, ',');
    json_hex_field(b, "pthread", fh->holder_pthread);
    fw_buf_str(b, ",\"alive\":false,\"native_stack\":");
    json_holder_native(b, fh);
    fw_buf_str(b, ",\"python_stack\":");
    const struct fw_py_frame *hf;
    uint32_t hn;
    holder_py_frames(fh, &hf, &hn);
    json_py_frames(b, hf, hn);
    fw_buf_char(b, '}');

    if (fh->holder_slot >= FW_MAX_THREADS) {
        fw_buf_str(b, ",\"lost_threads\":");
        json_lost_threads(b);
    }

    fw_buf_str(b, ",\"waiter\":{");
    json_i64_field(b, "tid", self ? self->tid : 0);
    fw_buf_char(b, ',');
    fw_json_key(b, "name");
    fw_json_string(b, self ? self->name : 0, FW_NAME_LEN);
    if (waiter_pyname[0]) {
        fw_buf_char(b, ',');
        fw_json_key(b, "python_name");
        fw_json_string(b, waiter_pyname, FW_PY_NAME_LEN);
    }
    fw_buf_str(b, ",\"native_stack\":[");
    json_native_frame(b, call_site, 0);
    fw_buf_str(b, "],\"python_stack\":");
    json_py_frames(b, wpy, wpy_count);
    fw_buf_str(b, "}}");
}

/* ---- human form ---- */

static void text_native_frame(struct fw_buf *b, uint64_t addr, const char *function)
{
    int mi = fw_module_find(addr);
    const struct fw_module *m = mi >= 0 ? &forkwatch_registry.modules[mi] : 0;
    fw_buf_str(b, "forkwatch:     ");
    if (function && function[0]) {
        fw_text_escaped(b, function, FW_FUNC_LEN);
        fw_buf_char(b, ' ');
    }
    if (m) {
        fw_buf_char(b, '(');
        fw_text_escaped(b, m->path[0] ? m->path : "?", FW_PATH_LEN);
        fw_buf_char(b, '+');
        fw_buf_hex(b, addr - m->base);
        fw_buf_char(b, ')');
    } else {
        fw_buf_hex(b, addr);
    }
    fw_buf_char(b, '\n');
}

static void text_py_frames(struct fw_buf *b, const struct fw_py_frame *f, uint32_t n)
{
    for (uint32_t i = 0; i < n && i < TEXT_FRAMES_MAX; i++) {
        fw_buf_str(b, "forkwatch:     File \"");
        fw_text_escaped(b, f[i].file, FW_PY_FILE_LEN);
        fw_buf_str(b, "\", line ");
        fw_buf_u64(b, f[i].line);
        fw_buf_str(b, ", in ");
        fw_text_escaped(b, f[i].function, FW_FUNC_LEN);
        fw_buf_char(b, '\n');
    }
}

static void format_text(struct fw_buf *b, int event, uint32_t idx, int mode, uint64_t call_site,
                        const struct fw_py_frame *wpy, uint32_t wpy_count)
{
    const struct fw_registry *r = &forkwatch_registry;
    const struct fw_fork_held *fh = &r->fork_held[idx];
    const struct fw_thread *self = fw_tls_slot;
    fw_buf_str(b, event == FW_EVENT_DEADLOCK ? "forkwatch: fork deadlock in pid "
                                             : "forkwatch: fork hazard in pid ");
    fw_buf_i64(b, r->header.pid);
    fw_buf_str(b, " (forked from ");
    fw_buf_i64(b, r->header.parent_pid);
    fw_buf_str(b, "): thread \"");
    fw_text_escaped(b, waiter_pyname[0] ? waiter_pyname : self ? self->name : "?", FW_PY_NAME_LEN);
    fw_buf_str(b, "\" (tid ");
    fw_buf_i64(b, self ? self->tid : 0);
    fw_buf_str(b, mode == FW_ACQ_BLOCKING ? ") blocks on " : mode == FW_ACQ_TRY ? ") tries " : ") waits with a timeout on ");
    const char *pykind = lock_python_kind(fh);
    fw_buf_str(b, pykind ? pykind : kind_text(fh->kind));
    fw_buf_char(b, ' ');
    fw_buf_hex(b, fh->lock_addr);
    if (fh->holder_slot >= FW_MAX_THREADS) {
        fw_buf_str(b, ", locked at the fork and naming no owner; this child has no other thread to release it."
                      " Threads lost in the fork:");
        for (uint32_t i = 0; i < r->header.threads.used && i < FW_MAX_THREADS; i++) {
            const struct fw_thread *t = &r->threads[i];
            if (t->state != FW_THREAD_VANISHED)
                continue;
            fw_buf_str(b, " \"");
            fw_text_escaped(b, t->name, FW_NAME_LEN);
            fw_buf_str(b, "\" (tid ");
            fw_buf_i64(b, t->tid);
            fw_buf_char(b, ')');
        }
        fw_buf_char(b, '\n');
        return;
    }
    fw_buf_str(b, " held by thread \"");
    fw_text_escaped(b, holder_name(fh), FW_PY_NAME_LEN);
    fw_buf_str(b, "\" (tid ");
    fw_buf_i64(b, fh->holder_tid);
    fw_buf_str(b, "), which does not exist in this child\n");

    fw_buf_str(b, "forkwatch:   the holder, at the fork (Python) and the call that took the lock (native):\n");
    const struct fw_py_frame *hf;
    uint32_t hn;
    holder_py_frames(fh, &hf, &hn);
    text_py_frames(b, hf, hn);
    if (fh->call_site)
        text_native_frame(b, fh->call_site, fh->call_site_function);
    fw_buf_str(b, "forkwatch:   the waiter is at:\n");
    text_py_frames(b, wpy, wpy_count);
    text_native_frame(b, call_site, 0);
}

/* ---- output ---- */

static void open_report(void)
{
    if (report_fd >= 0 || !fw_cfg.report_path[0])
        return;
    /* O_NOFOLLOW: never write through a symlink someone planted at the path.
     * O_NONBLOCK: a FIFO (or device) planted there must not block the open;
     * only a regular file is kept (then blocking writes again). */
    int fd = open(fw_cfg.report_path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0600);
    if (fd < 0)
        return;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl != -1)
        fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    report_fd = fd;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Only a single-threaded child may run CPython's frame accessors. */
int fw_child_is_single_threaded(void)
{
    if (__atomic_load_n(&fw_threads_claimed_in_child, __ATOMIC_RELAXED) > 0)
        return 0;
    int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    char buf[1024];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    /* Field 20 (num_threads), counted after the ")" that ends the command name. */
    char *p = 0;
    for (ssize_t i = n - 1; i >= 0; i--)
        if (buf[i] == ')') {
            p = &buf[i + 1];
            break;
        }
    if (!p)
        return 0;
    int field = 2;
    for (; *p && field < 20; p++)
        if (*p == ' ')
            field++;
    long threads = 0;
    for (; *p >= '0' && *p <= '9'; p++)
        threads = threads * 10 + (*p - '0');
    return threads == 1;
}

void fw_event_report(int event, uint32_t idx, uint32_t acquired_kind, int mode, uint64_t call_site)
{
    while (__atomic_exchange_n(&events_busy, 1, __ATOMIC_ACQUIRE))
        ;
    fw_tls_guard++;
    uint32_t wpy_count = 0;
    waiter_pyname[0] = '\0';
    forked_raw = -1;
    lock_pykind = 0;
    if (fw_cfg.python && fw_child_is_single_threaded()) {
        wpy_count = fw_python_current_stack(waiter_py, WAITER_PY_MAX, waiter_pyname, sizeof waiter_pyname);
        forked_raw = fw_python_forked_raw();
    }
    const struct fw_fork_held *fh = &forkwatch_registry.fork_held[idx];
    if (fh->kind == FW_KIND_SEMAPHORE && fw_python_version())
        lock_pykind = fw_pysem_kind(fh->lock_addr);

    struct fw_buf b;
    fw_buf_init(&b, json_buf, JSON_CAP - 1);
    fw_event_format_json(&b, event, idx, acquired_kind, mode, call_site, waiter_py, wpy_count, now_ns());
    if (!b.overflow) {
        json_buf[b.len++] = '\n';
        open_report();
        if (report_fd >= 0)
            fw_write_all(report_fd, json_buf, b.len);   /* one write: lines do not interleave */
    }
    if (!fw_cfg.quiet) {
        fw_buf_init(&b, text_buf, TEXT_CAP);
        format_text(&b, event, idx, mode, call_site, waiter_py, wpy_count);
        fw_write_all(STDERR_FILENO, text_buf, b.len);
    }
    fw_tls_guard--;
    __atomic_store_n(&events_busy, 0, __ATOMIC_RELEASE);
}

int fw_event_warning(const char *msg)
{
    if (!fw_cfg.report_path[0])
        return 0;
    /* Never wait: a warning may come from inside an event being written. */
    if (__atomic_exchange_n(&events_busy, 1, __ATOMIC_ACQUIRE))
        return 0;
    fw_tls_guard++;
    char line[512];
    struct fw_buf b;
    fw_buf_init(&b, line, sizeof line - 1);
    fw_buf_str(&b, "{\"schema\":\"forkwatch-event/1\",\"event\":\"agent-warning\",");
    json_u64_field(&b, "time_ns", now_ns());
    fw_buf_char(&b, ',');
    json_i64_field(&b, "pid", forkwatch_registry.header.pid);
    fw_buf_char(&b, ',');
    fw_json_key(&b, "message");
    fw_json_string(&b, msg, 256);
    fw_buf_char(&b, '}');
    int ok = 0;
    if (!b.overflow) {
        line[b.len++] = '\n';
        open_report();
        if (report_fd >= 0) {
            fw_write_all(report_fd, line, b.len);
            ok = 1;
        }
    }
    fw_tls_guard--;
    __atomic_store_n(&events_busy, 0, __ATOMIC_RELEASE);
    return ok;
}

void fw_event_say_exit(void)
{
    if (fw_cfg.quiet)
        return;
    char line[128];
    struct fw_buf b;
    fw_buf_init(&b, line, sizeof line);
    fw_buf_str(&b, "forkwatch: exiting with status ");
    fw_buf_u64(&b, (uint64_t)fw_cfg.exit_status);
    fw_buf_str(&b, " (FORKWATCH_ON_DEADLOCK=abort)\n");
    fw_write_all(STDERR_FILENO, line, b.len);
}
