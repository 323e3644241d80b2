/*
 * hang_report.c — see hang_report.h. Every string from an event is escaped
 * before it is printed (it came from a traced process).
 */
#include "hang_report.h"

#include <string.h>

#include "summary.h"
#include "text_escape.h"

#define STACK_LINES 16

void fw_event_context(const struct json_value *ev, char *out, size_t n)
{
    const char *test = json_get_string(ev, "test");
    const char *label = json_get_string(ev, "label");
    char t[512] = "", l[256] = "";
    if (test && *test)
        fw_escape_cstr(test, t, sizeof t);
    if (label && *label)
        fw_escape_cstr(label, l, sizeof l);
    snprintf(out, n, "%s%s%s%s%s%s", t[0] ? " in test \"" : "", t, t[0] ? "\"" : "", l[0] ? " (label \"" : "", l,
             l[0] ? "\")" : "");
}

static const struct json_value *first_finding(const struct json_value *ev)
{
    const struct json_value *f = json_get(ev, "findings");
    return f && f->type == JSON_ARRAY && f->count ? f->items[0] : NULL;
}

const struct json_value *fw_event_waiter(const struct json_value *ev)
{
    const struct json_value *f = first_finding(ev);
    return f ? json_get(f, "waiter") : json_get(ev, "waiter");
}

void fw_print_hang_summary(FILE *out, const struct json_value *ev)
{
    char ctx[900], kind[64], summary[2048], action[32];
    long long pid = 0;
    const char *stuck = NULL;
    const struct json_value *sv = json_get(ev, "stuck_s");
    if (sv && sv->type == JSON_NUMBER)
        stuck = sv->text;
    json_get_int(ev, "pid", &pid);
    fw_event_context(ev, ctx, sizeof ctx);
    fw_escape_cstr(json_get_string(ev, "action"), action, sizeof action);
    const struct json_value *fs = json_get(ev, "findings");
    for (size_t i = 0; fs && fs->type == JSON_ARRAY && i < fs->count; i++) {
        fw_escape_cstr(json_get_string(fs->items[i], "kind"), kind, sizeof kind);
        fw_escape_cstr(json_get_string(fs->items[i], "summary"), summary, sizeof summary);
        fprintf(out, "forkwatch: hang%s: pid %lld made no progress for %s s (%s by the watchdog): %s: %s\n", ctx, pid,
                stuck ? stuck : "?", action, kind, summary);
    }
}

static void write_stack(FILE *out, const char *title, const struct json_value *who)
{
    if (!who || who->type != JSON_OBJECT)
        return;
    long long tid = 0;
    char name[64];
    json_get_int(who, "tid", &tid);
    fw_escape_cstr(json_get_string(who, "name"), name, sizeof name);
    fprintf(out, "%s: thread %lld \"%s\"\n", title, tid, name);
    const struct json_value *py = json_get(who, "python_stack");
    for (size_t i = 0; py && py->type == JSON_ARRAY && i < py->count && i < STACK_LINES; i++) {
        char file[512], func[128];
        long long line = 0;
        json_get_int(py->items[i], "line", &line);
        fprintf(out, "  File \"%s\", line %lld, in %s\n",
                fw_escape_cstr(json_get_string(py->items[i], "file"), file, sizeof file), line,
                fw_escape_cstr(json_get_string(py->items[i], "function"), func, sizeof func));
    }
    const struct json_value *nat = json_get(who, "native_stack");
    for (size_t i = 0; nat && nat->type == JSON_ARRAY && i < nat->count && i < STACK_LINES; i++) {
        const struct json_value *f = nat->items[i];
        char func[160], file[512], module[512];
        long long line = 0;
        json_get_int(f, "line", &line);
        const char *fn = json_get_string(f, "function"), *fl = json_get_string(f, "file");
        const char *mod = json_get_string(f, "module");
        fprintf(out, "  %s", fn ? fw_escape_cstr(fn, func, sizeof func) : "??");
        if (fl)
            fprintf(out, " at %s:%lld", fw_escape_cstr(fl, file, sizeof file), line);
        else if (mod)
            fprintf(out, " in %s", fw_escape_cstr(mod, module, sizeof module));
        fputc('\n', out);
    }
}

static void write_runtime(FILE *out, const struct json_value *ev)
{
    const struct json_value *rt = json_get(ev, "runtime");
    char name[128], advice[1024], source[512];
    if (rt)
        fprintf(out, "\nruntime: %s, which is not fork-safe: %s\nsource: %s\n",
                fw_escape_cstr(json_get_string(rt, "name"), name, sizeof name),
                fw_escape_cstr(json_get_string(rt, "advice"), advice, sizeof advice),
                fw_escape_cstr(json_get_string(rt, "source"), source, sizeof source));
}

static void write_report(FILE *out, const struct json_value *ev);

void fw_write_human_report(FILE *out, const struct json_value *ev)
{
    write_report(out, ev);
    write_runtime(out, ev);
}

static void write_report(FILE *out, const struct json_value *ev)
{
    const char *event = json_get_string(ev, "event");
    if (event && strcmp(event, "hang") == 0) {
        fw_print_hang_summary(out, ev);
        const struct json_value *fs = json_get(ev, "findings");
        for (size_t i = 0; fs && fs->type == JSON_ARRAY && i < fs->count; i++) {
            const struct json_value *f = fs->items[i];
            char lock[64] = "", addr[64] = "", advice[1024], kind[64];
            const struct json_value *l = json_get(f, "lock");
            fw_escape_cstr(json_get_string(f, "kind"), kind, sizeof kind);
            fw_escape_cstr(json_get_string(l, "kind"), lock, sizeof lock);
            fw_escape_cstr(json_get_string(l, "address"), addr, sizeof addr);
            fprintf(out, "\nfinding %zu: %s on %s %s\n", i + 1, kind, lock, addr);
            write_stack(out, "waiter", json_get(f, "waiter"));
            write_stack(out, "holder", json_get(f, "holder"));
            if (json_get_string(f, "advice"))
                fprintf(out, "advice: %s\n", fw_escape_cstr(json_get_string(f, "advice"), advice, sizeof advice));
        }
        return;
    }
    fw_print_event_summary(out, ev);
    fputc('\n', out);
    write_stack(out, "waiter (in the fork child)", json_get(ev, "waiter"));
    write_stack(out, "holder (lost in the fork; Python stack at the fork, native where it took the lock)",
                json_get(ev, "holder"));
    const struct json_value *lost = json_get(ev, "lost_threads");
    for (size_t i = 0; lost && lost->type == JSON_ARRAY && i < lost->count; i++)
        write_stack(out, "lost in the fork", lost->items[i]);
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

const char *fw_user_frame(const struct json_value *ev, long long *line)
{
    const struct json_value *w = fw_event_waiter(ev);
    const struct json_value *py = json_get(w, "python_stack");
    for (size_t i = 0; py && py->type == JSON_ARRAY && i < py->count; i++) {
        const char *file = json_get_string(py->items[i], "file");
        if (file && file[0] == '/' && !is_stdlib(file) && json_get_int(py->items[i], "line", line) && *line > 0)
            return file;
    }
    const struct json_value *nat = json_get(w, "native_stack");
    for (size_t i = 0; nat && nat->type == JSON_ARRAY && i < nat->count; i++) {
        const char *file = json_get_string(nat->items[i], "file");
        if (file && !is_plumbing(json_get_string(nat->items[i], "module")) &&
            json_get_int(nat->items[i], "line", line) && *line > 0)
            return file;
    }
    return NULL;
}
