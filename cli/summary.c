/*
 * summary.c — turns an event into one readable line. Prefers the innermost
 * Python frame (what a Python user recognises), then the innermost native
 * frame outside the agent and libc (the caller of the lock function).
 */
#include "summary.h"

#include <stdarg.h>
#include <string.h>

#include "advice_table.h"
#include "hang_report.h"
#include "text_escape.h"

/* snprintf that may truncate on purpose: a summary line shortens long names. */
__attribute__((format(printf, 3, 4))) static void put(char *out, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, n, fmt, ap);
    va_end(ap);
}

static const char *basename_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* Frames inside the agent or the C library say nothing to the user. */
static bool is_plumbing_module(const char *module)
{
    if (!module)
        return false;
    const char *b = basename_of(module);
    return strncmp(b, "libforkwatch", 12) == 0 || strncmp(b, "libc.so", 7) == 0 ||
           strncmp(b, "libpthread.so", 13) == 0 || strncmp(b, "ld-linux", 8) == 0;
}

static const struct json_object *first_frame(const struct json_object *stack, bool skip_plumbing)
{
    if (!fwj_is_array(stack))
        return NULL;
    for (size_t i = 0; i < fwj_len(stack); i++) {
        const struct json_object *f = fwj_at(stack, i);
        if (!fwj_is_object(f))
            continue;
        if (skip_plumbing && is_plumbing_module(fwj_get_string(f, "module")))
            continue;
        return f;
    }
    return NULL;
}

/* Python frame: FILE:LINE:FUNCTION (with_function) or FILE:LINE. */
static void format_python_frame(const struct json_object *f, bool with_function, char *out, size_t n)
{
    char file[512], func[160];
    long long line = 0;
    fwj_get_int(f, "line", &line);
    fw_escape_cstr(fwj_get_string(f, "file"), file, sizeof file);
    fw_escape_cstr(fwj_get_string(f, "function"), func, sizeof func);
    if (with_function)
        put(out, n, "%s:%lld:%s", file, line, func);
    else
        put(out, n, "%s:%lld", file, line);
}

/* Native frame: FUNCTION (FILE:LINE), else FUNCTION (MODULE+OFFSET), else MODULE+OFFSET. */
static void format_native_frame(const struct json_object *f, char *out, size_t n)
{
    char func[256], file[512], module[256];
    const char *fn = fwj_get_string(f, "function");
    const char *file_s = fwj_get_string(f, "file");
    const char *mod = fwj_get_string(f, "module");
    const char *off = fwj_get_string(f, "offset");
    long long line = 0;
    fwj_get_int(f, "line", &line);
    fw_escape_cstr(fn, func, sizeof func);
    fw_escape_cstr(mod ? basename_of(mod) : "?", module, sizeof module);
    char where[600];
    if (file_s && line > 0)
        put(where, sizeof where, "%s:%lld", fw_escape_cstr(basename_of(file_s), file, sizeof file), line);
    else
        put(where, sizeof where, "%s+%s", module, off ? off : "?");
    if (fn && *fn)
        put(out, n, "%s (%s)", func, where);
    else
        put(out, n, "%s", where);
}

/* A file of CPython's standard library (".../lib/python3.N/x.py", "<frozen ...>"),
 * not of an installed package (site-packages, dist-packages). */
static bool is_stdlib_file(const char *file)
{
    if (!file)
        return true;
    return strncmp(file, "<frozen", 7) == 0 || (strstr(file, "/lib/python3.") && !strstr(file, "-packages/"));
}

/* The innermost frame of stack, from index `from` outwards, in the user's own
 * code (not the standard library); NULL when there is none. */
static const struct json_object *user_frame_from(const struct json_object *stack, size_t from)
{
    for (size_t i = from; i < fwj_len(stack); i++) {
        const struct json_object *f = fwj_at(stack, i);
        if (fwj_is_object(f) && !is_stdlib_file(fwj_get_string(f, "file")))
            return f;
    }
    return NULL;
}

/* A thread's name as Python knows it (threading's name) when the agent read it. */
static const char *thread_name(const struct json_object *who)
{
    const char *py = fwj_get_string(who, "python_name");
    return py && *py ? py : fwj_get_string(who, "name");
}

/* Where a thread is: the innermost line of the user's own code when its Python
 * stack has one (the line a Python user wrote, not logging's), else its
 * innermost Python frame, else its innermost native frame outside the plumbing. */
static void describe_place(const struct json_object *who, bool python_with_function, char *out, size_t n)
{
    const struct json_object *pys = fwj_get(who, "python_stack");
    const struct json_object *py = user_frame_from(pys, 0);
    if (!py)
        py = first_frame(pys, false);
    if (py) {
        format_python_frame(py, python_with_function, out, n);
        return;
    }
    const struct json_object *native = fwj_get(who, "native_stack");
    const struct json_object *f = first_frame(native, true);
    if (!f)
        f = first_frame(native, false);
    if (f)
        format_native_frame(f, out, n);
    else
        put(out, n, "an unknown place");
}


/* Two Python frames are "the same place in the code" when file and function match. */
static bool same_python_function(const struct json_object *a, const struct json_object *b)
{
    const char *fa = fwj_get_string(a, "file"), *fb = fwj_get_string(b, "file");
    const char *na = fwj_get_string(a, "function"), *nb = fwj_get_string(b, "function");
    return fa && fb && na && nb && strcmp(fa, fb) == 0 && strcmp(na, nb) == 0;
}

/*
 * The agent keeps a Python holder's stack as it was at the fork, not as it was
 * when it took the lock: its innermost frame is wherever the holder happened to
 * be (often a wait). The frame that holds the lock is usually in the function
 * where the child now waits for the same lock (both ran the same `with lock:`),
 * so look for the innermost holder frame in a function the waiter is in, and
 * name the user's own line that called it. Without such a frame, name the
 * user's innermost line at the fork, as that. For a native holder the event has
 * the call that took the lock (its exact call site).
 */
static void describe_holder(const struct json_object *holder, const struct json_object *waiter, char *out, size_t n)
{
    const struct json_object *hpy = fwj_get(holder, "python_stack");
    const struct json_object *wpy = fwj_get(waiter, "python_stack");
    if (fwj_len(hpy) == 0) {
        char place[800];
        describe_place(holder, true, place, sizeof place);
        put(out, n, "acquired at %s", place);
        return;
    }
    for (size_t h = 0; h < fwj_len(hpy); h++) {
        for (size_t w = 0; w < fwj_len(wpy); w++) {
            if (!fwj_is_object(fwj_at(wpy, w)) || !fwj_is_object(fwj_at(hpy, h)))
                continue;
            if (!same_python_function(fwj_at(wpy, w), fwj_at(hpy, h)))
                continue;
            char place[800], user[800];
            const struct json_object *uf = user_frame_from(hpy, h);
            format_python_frame(fwj_at(hpy, h), true, place, sizeof place);
            if (uf && uf != fwj_at(hpy, h)) {
                format_python_frame(uf, true, user, sizeof user);
                put(out, n, "holding it in %s, called from %s", place, user);
            } else {
                put(out, n, "holding it in %s", place);
            }
            return;
        }
    }
    /* No shared function: name the innermost frame of the user's own code
     * (a stdlib frame such as threading.py's wait says little). */
    const struct json_object *chosen = user_frame_from(hpy, 0);
    if (!chosen)
        chosen = fwj_at(hpy, 0);
    char place[800] = "an unknown place";
    if (fwj_is_object(chosen))
        format_python_frame(chosen, true, place, sizeof place);
    put(out, n, "which was in %s at the fork", place);
}

/* The advice row for this event (advice_table.h), by what the event shows:
 * the GIL; a Python Lock/RLock lost in a fork from C (no at-fork hooks ran:
 * "raw-fork") or in os.fork() ("py-lock", by version); a C library's lock ("c").
 * Nothing for what the event cannot tell (a semaphore of unknown owner). */
static const char *advice_key(const struct json_object *ev)
{
    const struct json_object *lock = fwj_get(ev, "lock");
    const char *kind = fwj_get_string(lock, "kind");
    const char *pykind = fwj_get_string(lock, "python_kind");
    const char *fork = fwj_get_string(fwj_get(ev, "python"), "fork");
    if (!kind)
        return NULL;
    if (strcmp(kind, "gil") == 0)
        return "gil";
    if ((pykind && strncmp(pykind, "threading.", 10) == 0) || strncmp(kind, "threading.", 10) == 0) {
        if (fork && strcmp(fork, "raw") == 0)
            return "raw-fork";
        if (fork && strcmp(fork, "os.fork") == 0)
            return "py-lock";
        return NULL;
    }
    if (strcmp(kind, "pthread_mutex") == 0 || strcmp(kind, "pthread_rwlock") == 0 || strcmp(kind, "c11_mtx") == 0)
        return "c";
    return NULL;
}

bool fw_event_advice(const struct json_object *ev, char *out, size_t n)
{
    const char *key = advice_key(ev);
    if (n)
        out[0] = '\0';
    return key && fw_advice_text(key, fwj_get_string(fwj_get(ev, "python"), "version"), out, n);
}

void fw_print_event_summary(FILE *out, const struct json_object *ev)
{
    const struct json_object *waiter = fwj_get(ev, "waiter");
    const struct json_object *holder = fwj_get(ev, "holder");
    const struct json_object *lock = fwj_get(ev, "lock");
    const char *event = fwj_get_string(ev, "event");
    bool deadlock = event && strcmp(event, "fork-deadlock") == 0;

    long long pid = 0, wtid = 0, htid = 0;
    fwj_get_int(ev, "pid", &pid);
    fwj_get_int(waiter, "tid", &wtid);
    fwj_get_int(holder, "tid", &htid);
    char wname[64], hname[64], kind[64], addr[64], acquire[32];
    fw_escape_cstr(thread_name(waiter), wname, sizeof wname);
    fw_escape_cstr(thread_name(holder), hname, sizeof hname);
    const char *pykind = fwj_get_string(lock, "python_kind");
    fw_escape_cstr(pykind && *pykind ? pykind : fwj_get_string(lock, "kind"), kind, sizeof kind);
    fw_escape_cstr(fwj_get_string(lock, "address"), addr, sizeof addr);
    fw_escape_cstr(fwj_get_string(ev, "acquire"), acquire, sizeof acquire);
    char wplace[800], hplace[800], ctx[900];
    describe_place(waiter, false, wplace, sizeof wplace);
    fw_event_context(ev, ctx, sizeof ctx); /* which test (PYTEST_CURRENT_TEST) or --label */
    describe_holder(holder, waiter, hplace, sizeof hplace);
    char advice_raw[1024], advice[1100], tail[1200] = "";
    if (fw_event_advice(ev, advice_raw, sizeof advice_raw))
        put(tail, sizeof tail, "; advice: %s", fw_escape_cstr(advice_raw, advice, sizeof advice));

    if (deadlock && strcmp(kind, "gil") == 0) {
        /* The GIL has no acquiring call site; a holder stack (when the agent had
         * one) says where that thread was at the fork. */
        const struct json_object *hpy = fwj_get(holder, "python_stack");
        char where[sizeof hplace + 2] = "";
        if (fwj_len(hpy) > 0)
            put(where, sizeof where, ", %s", hplace);   /* "which was in ... at the fork" */
        fprintf(out, "forkwatch: fork deadlock%s: pid %lld thread %lld \"%s\" at %s waits for the GIL (%s), held by "
                     "\"%s\" (tid %lld, gone since the fork: fork() was called from C with the GIL released "
                     "while that thread had it)%s%s\n",
                ctx, pid, wtid, wname, wplace, addr, hname, htid, where, tail);
        return;
    }
    const struct json_object *lost = fwj_get(ev, "lost_threads");
    if (deadlock && htid == 0 && !hname[0] && fwj_is_array(lost)) {
        /* An ownerless lock (a PyMutex Lock): the lost threads are the candidates. */
        fprintf(out, "forkwatch: fork deadlock%s: pid %lld thread %lld \"%s\" at %s waits on %s %s, locked at the fork "
                     "and naming no owner; no other thread is left in this child to release it. Threads lost in "
                     "the fork:",
                ctx, pid, wtid, wname, wplace, kind, addr);
        for (size_t i = 0; i < fwj_len(lost); i++) {
            long long ltid = 0;
            char lname[64], lplace[800];
            fwj_get_int(fwj_at(lost, i), "tid", &ltid);
            fw_escape_cstr(fwj_get_string(fwj_at(lost, i), "name"), lname, sizeof lname);
            describe_place(fwj_at(lost, i), true, lplace, sizeof lplace);
            fprintf(out, "%s \"%s\" (tid %lld, %s)", i ? ";" : "", lname, ltid, lplace);
        }
        fprintf(out, "%s\n", tail);
    } else if (deadlock)
        fprintf(out, "forkwatch: fork deadlock%s: pid %lld thread %lld \"%s\" at %s waits on %s %s held by \"%s\" "
                     "(tid %lld, gone since the fork), %s%s\n",
                ctx, pid, wtid, wname, wplace, kind, addr, hname, htid, hplace, tail);
    else
        fprintf(out, "forkwatch: fork hazard%s: pid %lld thread %lld \"%s\" at %s tried (%s) %s %s held by \"%s\" "
                     "(tid %lld, gone since the fork), %s%s\n",
                ctx, pid, wtid, wname, wplace, acquire, kind, addr, hname, htid, hplace, tail);
}
