/*
 * hang_report.c — see hang_report.h. Every string from an event is escaped
 * before it is printed (it came from a traced process).
 */
#include "hang_report.h"

#include <string.h>

#include "summary.h"
#include "text_escape.h"

#define STACK_LINES 16

void fw_event_context(const struct json_object *ev, char *out, size_t n)
{
    const char *test = fwj_get_string(ev, "test");
    const char *label = fwj_get_string(ev, "label");
    char t[512] = "", l[256] = "";
    if (test && *test)
        fw_escape_cstr(test, t, sizeof t);
    if (label && *label)
        fw_escape_cstr(label, l, sizeof l);
    snprintf(out, n, "%s%s%s%s%s%s", t[0] ? " in test \"" : "", t, t[0] ? "\"" : "", l[0] ? " (label \"" : "", l,
             l[0] ? "\")" : "");
}

static const struct json_object *first_finding(const struct json_object *ev)
{
    const struct json_object *f = fwj_get(ev, "findings");
    return fwj_at(f, 0);
}

const struct json_object *fw_event_waiter(const struct json_object *ev)
{
    const struct json_object *f = first_finding(ev);
    return f ? fwj_get(f, "waiter") : fwj_get(ev, "waiter");
}

void fw_print_hang_summary(FILE *out, const struct json_object *ev)
{
    char ctx[900], kind[64], summary[2048], action[32];
    long long pid = 0;
    const char *stuck = NULL;
    const struct json_object *sv = fwj_get(ev, "stuck_s");
    if (fwj_number_text(sv))
        stuck = fwj_number_text(sv);
    fwj_get_int(ev, "pid", &pid);
    fw_event_context(ev, ctx, sizeof ctx);
    fw_escape_cstr(fwj_get_string(ev, "action"), action, sizeof action);
    const struct json_object *fs = fwj_get(ev, "findings");
    for (size_t i = 0; i < fwj_len(fs); i++) {
        fw_escape_cstr(fwj_get_string(fwj_at(fs, i), "kind"), kind, sizeof kind);
        fw_escape_cstr(fwj_get_string(fwj_at(fs, i), "summary"), summary, sizeof summary);
        fprintf(out, "forkwatch: hang%s: pid %lld made no progress for %s s (%s by the watchdog): %s: %s\n", ctx, pid,
                stuck ? stuck : "?", action, kind, summary);
    }
}

static void write_stack(FILE *out, const char *title, const struct json_object *who)
{
    if (!who || !fwj_is_object(who))
        return;
    long long tid = 0;
    char name[64];
    fwj_get_int(who, "tid", &tid);
    const char *pyname = fwj_get_string(who, "python_name");
    fw_escape_cstr(pyname && *pyname ? pyname : fwj_get_string(who, "name"), name, sizeof name);
    fprintf(out, "%s: thread %lld \"%s\"\n", title, tid, name);
    const struct json_object *py = fwj_get(who, "python_stack");
    for (size_t i = 0; i < fwj_len(py) && i < STACK_LINES; i++) {
        char file[512], func[128];
        long long line = 0;
        fwj_get_int(fwj_at(py, i), "line", &line);
        fprintf(out, "  File \"%s\", line %lld, in %s\n",
                fw_escape_cstr(fwj_get_string(fwj_at(py, i), "file"), file, sizeof file), line,
                fw_escape_cstr(fwj_get_string(fwj_at(py, i), "function"), func, sizeof func));
    }
    const struct json_object *nat = fwj_get(who, "native_stack");
    for (size_t i = 0; i < fwj_len(nat) && i < STACK_LINES; i++) {
        const struct json_object *f = fwj_at(nat, i);
        char func[160], file[512], module[512];
        long long line = 0;
        fwj_get_int(f, "line", &line);
        const char *fn = fwj_get_string(f, "function"), *fl = fwj_get_string(f, "file");
        const char *mod = fwj_get_string(f, "module");
        fprintf(out, "  %s", fn ? fw_escape_cstr(fn, func, sizeof func) : "??");
        if (fl)
            fprintf(out, " at %s:%lld", fw_escape_cstr(fl, file, sizeof file), line);
        else if (mod)
            fprintf(out, " in %s", fw_escape_cstr(mod, module, sizeof module));
        fputc('\n', out);
    }
}

static void write_runtime(FILE *out, const struct json_object *ev)
{
    const struct json_object *rt = fwj_get(ev, "runtime");
    char name[128], advice[1024], source[512];
    if (rt)
        fprintf(out, "\nruntime: %s, which is not fork-safe: %s\nsource: %s\n",
                fw_escape_cstr(fwj_get_string(rt, "name"), name, sizeof name),
                fw_escape_cstr(fwj_get_string(rt, "advice"), advice, sizeof advice),
                fw_escape_cstr(fwj_get_string(rt, "source"), source, sizeof source));
}

static void write_report(FILE *out, const struct json_object *ev);

void fw_write_human_report(FILE *out, const struct json_object *ev)
{
    write_report(out, ev);
    write_runtime(out, ev);
}

static void write_report(FILE *out, const struct json_object *ev)
{
    const char *event = fwj_get_string(ev, "event");
    if (event && strcmp(event, "hang") == 0) {
        fw_print_hang_summary(out, ev);
        const struct json_object *fs = fwj_get(ev, "findings");
        for (size_t i = 0; i < fwj_len(fs); i++) {
            const struct json_object *f = fwj_at(fs, i);
            char lock[64] = "", addr[64] = "", advice[1024], kind[64];
            const struct json_object *l = fwj_get(f, "lock");
            fw_escape_cstr(fwj_get_string(f, "kind"), kind, sizeof kind);
            fw_escape_cstr(fwj_get_string(l, "kind"), lock, sizeof lock);
            fw_escape_cstr(fwj_get_string(l, "address"), addr, sizeof addr);
            fprintf(out, "\nfinding %zu: %s on %s %s\n", i + 1, kind, lock, addr);
            write_stack(out, "waiter", fwj_get(f, "waiter"));
            write_stack(out, "holder", fwj_get(f, "holder"));
            if (fwj_get_string(f, "advice"))
                fprintf(out, "advice: %s\n", fw_escape_cstr(fwj_get_string(f, "advice"), advice, sizeof advice));
        }
        return;
    }
    fw_print_event_summary(out, ev);
    fputc('\n', out);
    write_stack(out, "waiter (in the fork child)", fwj_get(ev, "waiter"));
    write_stack(out, "holder (lost in the fork; Python stack at the fork, native: the call that took the lock)",
                fwj_get(ev, "holder"));
    const struct json_object *lost = fwj_get(ev, "lost_threads");
    for (size_t i = 0; i < fwj_len(lost); i++)
        write_stack(out, "lost in the fork", fwj_at(lost, i));
    char advice_raw[1024], advice[1100];
    if (fw_event_advice(ev, advice_raw, sizeof advice_raw))
        fprintf(out, "advice: %s\n", fw_escape_cstr(advice_raw, advice, sizeof advice));
}

/* A file of CPython's standard library (".../lib/python3.N/x.py") and not of an installed package. */
static bool is_stdlib(const char *file)
{
    return strstr(file, "/lib/python3.") && !strstr(file, "-packages/");
}

static bool is_plumbing(const char *module)
{
    const char *b = module ? strrchr(module, '/') : NULL;
    b = b ? b + 1 : module;
    return b && (strncmp(b, "libforkwatch", 12) == 0 || strncmp(b, "libc.so", 7) == 0 ||
                 strncmp(b, "libpthread", 10) == 0 || strncmp(b, "ld-linux", 8) == 0 ||
                 strncmp(b, "libpython", 9) == 0);
}

const char *fw_user_frame(const struct json_object *ev, long long *line)
{
    const struct json_object *w = fw_event_waiter(ev);
    const struct json_object *py = fwj_get(w, "python_stack");
    for (size_t i = 0; i < fwj_len(py); i++) {
        const char *file = fwj_get_string(fwj_at(py, i), "file");
        if (file && file[0] == '/' && !is_stdlib(file) && fwj_get_int(fwj_at(py, i), "line", line) && *line > 0)
            return file;
    }
    const struct json_object *nat = fwj_get(w, "native_stack");
    for (size_t i = 0; i < fwj_len(nat); i++) {
        const char *file = fwj_get_string(fwj_at(nat, i), "file");
        if (file && !is_plumbing(fwj_get_string(fwj_at(nat, i), "module")) &&
            fwj_get_int(fwj_at(nat, i), "line", line) && *line > 0)
            return file;
    }
    return NULL;
}
