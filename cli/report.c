/*
 * report.c — reads the agent's JSON Lines report, symbolises native frames,
 * rewrites the file atomically (temp file + rename, same mode) and prints the
 * summary. Several processes append to the file and any of them may have died
 * mid-write, so every line is parsed on its own and a bad one is dropped with
 * a warning.
 */
#include "report.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fork_unsafe.h"
#include "hang_report.h"
#include "json_doc.h"
#include "summary.h"
#include "symbolise.h"
#include "text_escape.h"

#define EVENT_SCHEMA "forkwatch-event/1"
#define MAX_CATCH_UPS 16

struct pid_set {
    long long *pids;
    size_t count, cap;
};

static void pid_set_add(struct pid_set *s, long long pid)
{
    for (size_t i = 0; i < s->count; i++)
        if (s->pids[i] == pid)
            return;
    if (s->count == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        long long *p = realloc(s->pids, cap * sizeof *p);
        if (!p)
            return; /* the count is then a lower bound: not worth failing for */
        s->pids = p;
        s->cap = cap;
    }
    s->pids[s->count++] = pid;
}

/* Fills function/file/line of one FRAME whose file is still null. */
static void symbolise_frame(struct fw_symboliser *sym, struct json_object *frame)
{
    if (!fwj_is_object(frame) || !fwj_is_null(fwj_get(frame, "file")))
        return;
    const char *module = fwj_get_string(frame, "module");
    const char *offset_s = fwj_get_string(frame, "offset");
    if (!module || !offset_s)
        return;
    char *end;
    errno = 0;
    uint64_t offset = strtoull(offset_s, &end, 16);
    if (errno || *end || end == offset_s)
        return;
    struct fw_symbol s;
    if (!fw_symbolise(sym, module, offset, fwj_get_string(frame, "build_id"), &s))
        return;
    if (s.function[0] && fwj_is_null(fwj_get(frame, "function")))
        fwj_set(frame, "function", json_object_new_string(s.function));
    if (s.file[0]) {
        fwj_set(frame, "file", json_object_new_string(s.file));
        fwj_set(frame, "line", json_object_new_int64(s.line));
    }
}

static void symbolise_stack(struct fw_symboliser *sym, struct json_object *who)
{
    struct json_object *stack = fwj_get(who, "native_stack");
    for (size_t i = 0; i < fwj_len(stack); i++)
        symbolise_frame(sym, fwj_at(stack, i));
}

/* First '{"schema":' in the len bytes at p, or NULL (memmem: lines may hold NULs). */
static const char *find_event_start(const char *p, size_t len)
{
    static const char marker[] = "{\"schema\":";
    return memmem(p, len, marker, sizeof marker - 1);
}

/* Handles one line of this run. Returns true when it is kept in the rewrite. */
struct event_sink {
    fw_report_event_fn fn;
    void *ctx;
};

static bool handle_line(char *line, size_t len, long lineno, const char *shown_path, struct fw_symboliser *sym,
                        FILE *out, struct fw_report_totals *t, struct pid_set *pids, const struct event_sink *sink)
{
    const char *why = NULL;
    struct json_object *ev = fwj_parse(line, len, &why);
    if (!ev) {
        fprintf(stderr, "forkwatch: warning: %s line %ld is not valid JSON (%s; a process may have died "
                        "while writing it); skipped\n", shown_path, lineno, why);
        /* A writer that died mid-line leaves no newline: the next process's
         * event then starts on the same line. Recover it when it is whole. */
        while (!ev) {
            const char *next = len > 1 ? find_event_start(line + 1, len - 1) : NULL;
            if (!next)
                return false;
            len -= (size_t)(next - line);
            line = (char *)next;
            ev = fwj_parse(line, len, NULL);
        }
        fprintf(stderr, "forkwatch: warning: %s line %ld: an event after the cut part was recovered\n",
                shown_path, lineno);
    }
    const char *schema = fwj_get_string(ev, "schema");
    const char *event = fwj_get_string(ev, "event");
    if (fwj_is_object(ev) && schema && strcmp(schema, EVENT_SCHEMA) == 0 && event) {
        symbolise_stack(sym, fwj_get(ev, "holder"));
        symbolise_stack(sym, fwj_get(ev, "waiter"));
        bool deadlock = strcmp(event, "fork-deadlock") == 0;
        bool hazard = strcmp(event, "fork-hazard") == 0;
        if (deadlock || hazard) {
            long long pid;
            if (fwj_get_int(ev, "pid", &pid))
                pid_set_add(pids, pid);
            t->deadlocks += deadlock;
            t->hazards += hazard;
            const struct fw_runtime *rt = fw_mark_runtime(ev);
            fw_print_event_summary(stderr, ev);
            if (rt)
                fw_print_runtime(stderr, rt);
            if (deadlock && sink->fn)
                sink->fn(ev, sink->ctx);
        } else if (strcmp(event, "hang") == 0) {
            /* The watchdog's verdict on a stuck process (attach's findings). */
            long long pid;
            if (fwj_get_int(ev, "pid", &pid))
                pid_set_add(pids, pid);
            t->deadlocks++;
            const struct fw_runtime *rt = fw_mark_runtime(ev);
            fw_print_hang_summary(stderr, ev);
            if (rt)
                fw_print_runtime(stderr, rt);
            if (sink->fn)
                sink->fn(ev, sink->ctx);
        } else if (strcmp(event, "agent-warning") == 0) {
            /* A full table: the report may miss locks; the user must see it even with
             * --quiet (the agent wrote it here instead of into the program's stderr). */
            const char *msg = fwj_get_string(ev, "message");
            long long pid = 0;
            char shown_msg[512];
            fwj_get_int(ev, "pid", &pid);
            fw_escape_cstr(msg ? msg : "(no message)", shown_msg, sizeof shown_msg);
            fprintf(stderr, "forkwatch: agent warning from pid %lld: %s\n", pid, shown_msg);
        }
    }
    if (out) {
        fwj_write(out, ev);
        fputc('\n', out);
    }
    json_object_put(ev);
    return true;
}

/* Opens a temp file beside path, with path's mode, for the atomic rewrite. */
static FILE *open_rewrite(const char *path, mode_t mode, char *tmp, size_t n)
{
    if ((size_t)snprintf(tmp, n, "%s.XXXXXX", path) >= n)
        return NULL;
    int fd = mkstemp(tmp); /* created 0600 */
    if (fd < 0)
        return NULL;
    if (fchmod(fd, mode & 07777) != 0) {
        close(fd);
        unlink(tmp);
        return NULL;
    }
    FILE *f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        unlink(tmp);
    }
    return f;
}

/* shown_path NULL: nothing was recorded and the temporary report is removed. */
static void print_totals(const struct fw_report_totals *t, const char *shown_path, bool quiet, const char *note)
{
    if (quiet && t->deadlocks == 0 && t->hazards == 0)
        return;
    fprintf(stderr, "forkwatch: %d fork deadlock%s, %d fork hazard%s in %d process%s; %s%s%s\n",
            t->deadlocks, t->deadlocks == 1 ? "" : "s", t->hazards, t->hazards == 1 ? "" : "s", t->processes,
            t->processes == 1 ? "" : "es", shown_path ? "report: " : "nothing recorded, no report kept",
            shown_path ? shown_path : "", note);
}

bool fw_report_process(const char *path, off_t start_offset, bool quiet, struct fw_report_totals *t)
{
    return fw_report_process_with(path, start_offset, quiet, false, t, NULL, NULL);
}

bool fw_report_process_with(const char *path, off_t start_offset, bool quiet, bool transient,
                            struct fw_report_totals *t, fw_report_event_fn on_deadlock, void *ctx)
{
    const struct event_sink sink = {on_deadlock, ctx};
    char shown[PATH_MAX + 64];
    fw_escape_cstr(path, shown, sizeof shown);
    memset(t, 0, sizeof *t);

    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        t->empty = true;
        if (transient)
            print_totals(t, NULL, quiet, "");
        else
            print_totals(t, shown, quiet, " (no events written)");
        return true;
    }
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        fprintf(stderr, "forkwatch: cannot read the report %s: %s\n", shown,
                fd < 0 && errno == ELOOP ? "it is a symbolic link" : fd < 0 ? strerror(errno) : "not a regular file");
        if (fd >= 0)
            close(fd);
        return false;
    }
    FILE *in = fdopen(fd, "r");
    if (!in) {
        close(fd);
        fprintf(stderr, "forkwatch: cannot read the report %s: %s\n", shown, strerror(errno));
        return false;
    }

    char tmp[PATH_MAX + 16];
    FILE *out = open_rewrite(path, st.st_mode, tmp, sizeof tmp);
    if (!out)
        fprintf(stderr, "forkwatch: warning: cannot rewrite %s with symbols (%s); left as it is\n", shown,
                strerror(errno));

    struct fw_symboliser *sym = fw_symboliser_new();
    struct pid_set pids = {0};
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    off_t pos = 0;
    long lineno = 0;
    int catch_ups = 0;
    for (;;) {
        len = getline(&line, &cap, in);
        if (len <= 0) {
            /* A descendant that outlived the command may still append: read
             * what it added before the rename (bounded: it may never stop).
             * Anything written after the rename goes to the old, unlinked file. */
            struct stat now;
            if (ferror(in) || catch_ups++ >= MAX_CATCH_UPS || fstat(fileno(in), &now) != 0 || now.st_size <= pos)
                break;
            clearerr(in);
            continue;
        }
        lineno++;
        off_t line_start = pos;
        pos += len;
        if (line_start < start_offset) {
            if (out)
                fwrite(line, 1, (size_t)len, out); /* an earlier run's line: untouched */
            continue;
        }
        size_t body = (size_t)len;
        while (body > 0 && (line[body - 1] == '\n' || line[body - 1] == '\r'))
            body--;
        if (body == 0)
            continue;
        handle_line(line, body, lineno, shown, sym, out, t, &pids, &sink);
    }
    bool read_ok = !ferror(in);
    free(line);
    fclose(in);
    fw_symboliser_free(sym);
    t->processes = (int)pids.count;
    free(pids.pids);

    if (out) {
        bool ok = read_ok && fflush(out) == 0 && fsync(fileno(out)) == 0;
        ok = (fclose(out) == 0) && ok;
        if (!ok || rename(tmp, path) != 0) {
            fprintf(stderr, "forkwatch: warning: cannot rewrite %s with symbols (%s); left as it is\n", shown,
                    strerror(errno));
            unlink(tmp);
        }
    }
    if (!read_ok) {
        fprintf(stderr, "forkwatch: error reading the report %s\n", shown);
        return false;
    }
    t->empty = pos == 0;
    print_totals(t, transient && t->empty ? NULL : shown, quiet, "");
    return true;
}
