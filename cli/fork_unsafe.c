/*
 * fork_unsafe.c — matches a deadlock event's frames against the table of
 * fork-unsafe runtimes (fork_unsafe_runtimes.h).
 */
#include "fork_unsafe.h"

#include <string.h>

static const struct fw_runtime runtimes[] = {
#define FW_RUNTIME(name, modules, functions, advice, source) {name, modules, functions, advice, source},
#include "fork_unsafe_runtimes.h"
#undef FW_RUNTIME
};

/* Does one '|'-separated alternative of alts match s (as substring or prefix)? */
static bool matches(const char *s, const char *alts, bool prefix)
{
    if (!s || !*s)
        return false;
    for (const char *a = alts; *a;) {
        size_t n = strcspn(a, "|");
        if (n && (prefix ? strncmp(s, a, n) == 0 : memmem(s, strlen(s), a, n) != NULL))
            return true;
        a += n + (a[n] == '|');
    }
    return false;
}

static const struct fw_runtime *match_frame(const struct json_object *f)
{
    const char *module = fwj_get_string(f, "module");
    const char *base = module ? strrchr(module, '/') : NULL;
    base = base ? base + 1 : module;
    const char *function = fwj_get_string(f, "function");
    for (size_t i = 0; i < sizeof runtimes / sizeof runtimes[0]; i++)
        if (matches(base, runtimes[i].modules, false) || matches(function, runtimes[i].functions, true))
            return &runtimes[i];
    return NULL;
}

static const struct fw_runtime *match_who(const struct json_object *who)
{
    const struct json_object *stack = fwj_get(who, "native_stack");
    for (size_t i = 0; i < fwj_len(stack); i++) {
        const struct fw_runtime *r = match_frame(fwj_at(stack, i));
        if (r)
            return r;
    }
    return NULL;
}

static const struct fw_runtime *match_event_like(const struct json_object *ev)
{
    const struct fw_runtime *r = match_who(fwj_get(ev, "waiter"));
    if (!r)
        r = match_who(fwj_get(ev, "holder"));
    const struct json_object *lost = fwj_get(ev, "lost_threads");
    for (size_t i = 0; !r && i < fwj_len(lost); i++)
        r = match_who(fwj_at(lost, i));
    return r;
}

const struct fw_runtime *fw_find_runtime(const struct json_object *ev)
{
    const struct fw_runtime *r = match_event_like(ev);
    const struct json_object *fs = fwj_get(ev, "findings");
    for (size_t i = 0; !r && i < fwj_len(fs); i++)
        r = match_event_like(fwj_at(fs, i));
    return r;
}

const struct fw_runtime *fw_mark_runtime(struct json_object *ev)
{
    const struct fw_runtime *r = fw_find_runtime(ev);
    if (!r || !fwj_is_object(ev))
        return r;
    struct json_object *obj = json_object_new_object();
    if (obj && fwj_set(obj, "name", json_object_new_string(r->name)) && fwj_set(obj, "advice", json_object_new_string(r->advice)) &&
        fwj_set(obj, "source", json_object_new_string(r->source)))
        fwj_set(ev, "runtime", obj);
    else
        json_object_put(obj);
    return r;
}

void fw_print_runtime(FILE *out, const struct fw_runtime *r)
{
    fprintf(out, "forkwatch:   in %s, which is not fork-safe: %s (source: %s)\n", r->name, r->advice, r->source);
}
