/*
 * snapshot.c — the snapshot's storage: adding threads and mappings, freeing it all.
 */
#include "snapshot.h"

#include <stdlib.h>
#include <string.h>

struct fw_snap_thread *fw_snap_add_thread(struct fw_snapshot *s, pid_t tid)
{
    /* Threads are few (tens to hundreds): growing by one keeps this simple. */
    struct fw_snap_thread *t = realloc(s->threads, (s->nthreads + 1) * sizeof *t);
    if (!t)
        return NULL;
    s->threads = t;
    t = &s->threads[s->nthreads++];
    memset(t, 0, sizeof *t);
    t->tid = tid;
    t->syscall_nr = -2;
    return t;
}

struct fw_snap_mapping *fw_snap_add_mapping(struct fw_snapshot *s, uint64_t start, uint64_t end,
                                            uint64_t offset, const char *perms, const char *path)
{
    if (s->nmaps == s->capmaps) {
        size_t cap = s->capmaps ? s->capmaps * 2 : 64;
        struct fw_snap_mapping *m = realloc(s->maps, cap * sizeof *m);
        if (!m)
            return NULL;
        s->maps = m;
        s->capmaps = cap;
    }
    char *p = path ? strdup(path) : NULL;
    if (path && !p)
        return NULL;
    struct fw_snap_mapping *m = &s->maps[s->nmaps++];
    memset(m, 0, sizeof *m);
    m->start = start;
    m->end = end;
    m->offset = offset;
    if (perms)
        snprintf(m->perms, sizeof m->perms, "%s", perms);
    m->path = p;
    return m;
}

void fw_snapshot_free(struct fw_snapshot *s)
{
    for (size_t i = 0; i < s->nthreads; i++) {
        struct fw_snap_thread *t = &s->threads[i];
        for (size_t j = 0; j < t->nframes; j++) {
            free(t->frames[j].function);
            free(t->frames[j].module);
        }
        free(t->frames);
        free(t->name);
        free(t->unwind_error);
    }
    free(s->threads);
    for (size_t i = 0; i < s->nmaps; i++)
        free(s->maps[i].path);
    free(s->maps);
    free(s->name);
    free(s->exe);
    free(s->core);
    memset(s, 0, sizeof *s);
}

void fw_snap_name_modules(struct fw_snapshot *s)
{
    for (size_t i = 0; i < s->nthreads; i++) {
        struct fw_snap_thread *t = &s->threads[i];
        for (size_t j = 0; j < t->nframes; j++) {
            struct fw_snap_frame *f = &t->frames[j];
            /* a return address may point just past its mapping's end: look up pc-1 */
            uint64_t pc = f->activation || f->pc == 0 ? f->pc : f->pc - 1;
            for (size_t k = 0; k < s->nmaps; k++) {
                const struct fw_snap_mapping *m = &s->maps[k];
                if (pc < m->start || pc >= m->end || !m->path || m->path[0] != '/')
                    continue;
                char *p = strdup(m->path);
                if (p) {
                    free(f->module);
                    f->module = p;
                }
                break;
            }
        }
    }
}
