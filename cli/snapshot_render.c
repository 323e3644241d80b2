/*
 * snapshot_render.c — a snapshot as one JSON object (schema forkwatch-snapshot/1, docs/DESIGN.md)
 * or as text. Built as json-c values and written by json_doc.c's writer, so a name that is not
 * valid UTF-8 is written as the rest of forkwatch writes it; text goes through text_escape.h.
 * Addresses are hex strings: a 64-bit address does not fit every JSON reader's numbers.
 */
#include "snapshot.h"

#include <inttypes.h>
#include <stdio.h>

#include "json_doc.h"
#include "syscall_names.h"
#include "text_escape.h"

static struct json_object *hex(uint64_t v)
{
    char buf[24];
    snprintf(buf, sizeof buf, "0x%" PRIx64, v);
    return json_object_new_string(buf);
}

static struct json_object *str_or_null(const char *s)
{
    return s ? json_object_new_string(s) : NULL;
}

static struct json_object *syscall_json(long nr)
{
    if (nr < 0)
        return NULL;
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "nr", json_object_new_int64(nr));
    json_object_object_add(o, "name", str_or_null(fw_syscall_name_any(nr)));
    return o;
}

static struct json_object *thread_json(const struct fw_snap_thread *t)
{
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "tid", json_object_new_int(t->tid));
    json_object_object_add(o, "name", str_or_null(t->name));
    char st[2] = {t->state, '\0'};
    json_object_object_add(o, "state", t->state ? json_object_new_string(st) : NULL);
    json_object_object_add(o, "syscall", syscall_json(t->syscall_nr));
    struct json_object *frames = json_object_new_array();
    for (size_t i = 0; i < t->nframes; i++) {
        const struct fw_snap_frame *f = &t->frames[i];
        struct json_object *fo = json_object_new_object();
        json_object_object_add(fo, "pc", hex(f->pc));
        json_object_object_add(fo, "activation", json_object_new_boolean(f->activation));
        json_object_object_add(fo, "function", str_or_null(f->function));
        json_object_object_add(fo, "offset", f->function ? hex(f->offset) : NULL);
        json_object_object_add(fo, "module", str_or_null(f->module));
        json_object_array_add(frames, fo);
    }
    json_object_object_add(o, "frames", frames);
    json_object_object_add(o, "unwind_error", str_or_null(t->unwind_error));
    return o;
}

bool fw_snapshot_write_json(FILE *out, const struct fw_snapshot *s)
{
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "schema", json_object_new_string(FW_SNAPSHOT_SCHEMA));
    json_object_object_add(o, "source", json_object_new_string(s->is_core ? "core" : "live"));
    json_object_object_add(o, "pid", s->pid ? json_object_new_int(s->pid) : NULL);
    json_object_object_add(o, "ppid", s->ppid ? json_object_new_int(s->ppid) : NULL);
    json_object_object_add(o, "name", str_or_null(s->name));
    json_object_object_add(o, "exe", str_or_null(s->exe));
    json_object_object_add(o, "core", str_or_null(s->core));
    json_object_object_add(o, "stopped_us", s->stopped_us >= 0 ? json_object_new_int64(s->stopped_us) : NULL);
    struct json_object *threads = json_object_new_array();
    for (size_t i = 0; i < s->nthreads; i++)
        json_object_array_add(threads, thread_json(&s->threads[i]));
    json_object_object_add(o, "threads", threads);
    struct json_object *maps = json_object_new_array();
    for (size_t i = 0; i < s->nmaps; i++) {
        const struct fw_snap_mapping *m = &s->maps[i];
        struct json_object *mo = json_object_new_object();
        json_object_object_add(mo, "start", hex(m->start));
        json_object_object_add(mo, "end", hex(m->end));
        json_object_object_add(mo, "perms", m->perms[0] ? json_object_new_string(m->perms) : NULL);
        json_object_object_add(mo, "offset", hex(m->offset));
        json_object_object_add(mo, "path", str_or_null(m->path));
        json_object_array_add(maps, mo);
    }
    json_object_object_add(o, "mappings", maps);
    bool ok = fwj_write(out, o) && fputc('\n', out) != EOF;
    json_object_put(o);
    return ok;
}

bool fw_snapshot_write_text(FILE *out, const struct fw_snapshot *s)
{
    char a[512], b[512];
    fprintf(out, "PID %d \"%s\"", (int)s->pid, fw_escape_cstr(s->name, a, sizeof a));
    if (s->is_core)
        fprintf(out, " (core %s)", fw_escape_cstr(s->core, b, sizeof b));
    else
        fprintf(out, " (live, stopped for %lld us)", s->stopped_us);
    if (s->ppid)
        fprintf(out, ", parent %d", (int)s->ppid);
    if (s->exe)
        fprintf(out, ", exe %s", fw_escape_cstr(s->exe, a, sizeof a));
    fprintf(out, "\n%zu thread%s, %zu mappings\n", s->nthreads, s->nthreads == 1 ? "" : "s", s->nmaps);
    for (size_t i = 0; i < s->nthreads; i++) {
        const struct fw_snap_thread *t = &s->threads[i];
        fprintf(out, "\nthread %d", (int)t->tid);
        if (t->name)
            fprintf(out, " \"%s\"", fw_escape_cstr(t->name, a, sizeof a));
        if (t->state)
            fprintf(out, " state %c", t->state);
        if (t->syscall_nr >= 0) {
            const char *sc = fw_syscall_name_any(t->syscall_nr);
            if (sc)
                fprintf(out, ", in %s()", sc);
            else
                fprintf(out, ", in system call %ld", t->syscall_nr);
        }
        fputc('\n', out);
        for (size_t j = 0; j < t->nframes; j++) {
            const struct fw_snap_frame *f = &t->frames[j];
            fprintf(out, "  #%-3zu 0x%016" PRIx64 " ", j, f->pc);
            if (f->function)
                fprintf(out, "%s+0x%" PRIx64, fw_escape_cstr(f->function, a, sizeof a), f->offset);
            else
                fputs("??", out);
            if (f->module)
                fprintf(out, " in %s", fw_escape_cstr(f->module, b, sizeof b));
            fputc('\n', out);
        }
        if (t->unwind_error)
            fprintf(out, "  (unwinding stopped: %s)\n", fw_escape_cstr(t->unwind_error, a, sizeof a));
    }
    fputs("\nmappings:\n", out);
    for (size_t i = 0; i < s->nmaps; i++) {
        const struct fw_snap_mapping *m = &s->maps[i];
        fprintf(out, "  0x%" PRIx64 "-0x%" PRIx64 " %-4s 0x%" PRIx64 " %s\n", m->start, m->end,
                m->perms[0] ? m->perms : "-", m->offset, m->path ? fw_escape_cstr(m->path, a, sizeof a) : "");
    }
    return !ferror(out);
}
