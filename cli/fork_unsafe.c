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

static const struct fw_runtime *match_frame(const struct json_value *f)
{
    const char *module = json_get_string(f, "module");
    const char *base = module ? strrchr(module, '/') : NULL;
    base = base ? base + 1 : module;
    const char *function = json_get_string(f, "function");
    for (size_t i = 0; i < sizeof runtimes / sizeof runtimes[0]; i++)
        if (matches(base, runtimes[i].modules, false) || matches(function, runtimes[i].functions, true))
            return &runtimes[i];
    return NULL;
}

static const struct fw_runtime *match_who(const struct json_value *who)
{
    const struct json_value *stack = json_get(who, "native_stack");
    for (size_t i = 0; stack && stack->type == JSON_ARRAY && i < stack->count; i++) {
        const struct fw_runtime *r = match_frame(stack->items[i]);
        if (r)
            return r;
    }
    return NULL;
}

static const struct fw_runtime *match_event_like(const struct json_value *ev)
{
    const struct fw_runtime *r = match_who(json_get(ev, "waiter"));
    if (!r)
        r = match_who(json_get(ev, "holder"));
    const struct json_value *lost = json_get(ev, "lost_threads");
    for (size_t i = 0; !r && lost && lost->type == JSON_ARRAY && i < lost->count; i++)
        r = match_who(lost->items[i]);
    return r;
}

const struct fw_runtime *fw_find_runtime(const struct json_value *ev)
{
    const struct fw_runtime *r = match_event_like(ev);
    const struct json_value *fs = json_get(ev, "findings");
    for (size_t i = 0; !r && fs && fs->type == JSON_ARRAY && i < fs->count; i++)
        r = match_event_like(fs->items[i]);
    return r;
}

const struct fw_runtime *fw_mark_runtime(struct json_value *ev)
{
    const struct fw_runtime *r = fw_find_runtime(ev);
    if (!r || ev->type != JSON_OBJECT)
        return r;
    struct json_value *obj = json_parse("{}", 2, NULL);
    if (obj && json_set(obj, "name", json_new_string(r->name)) && json_set(obj, "advice", json_new_string(r->advice)) &&
        json_set(obj, "source", json_new_string(r->source)))
        json_set(ev, "runtime", obj);
    else
        json_free(obj);
    return r;
}

void fw_print_runtime(FILE *out, const struct fw_runtime *r)
{
    fprintf(out, "forkwatch:   in %s, which is not fork-safe: %s (source: %s)\n", r->name, r->advice, r->source);
}
