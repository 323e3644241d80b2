/*
 * ci_cases.c — turns deadlock events into CI cases (see ci_cases.h).
 */
#include "ci_cases.h"

#include <stdlib.h>
#include <string.h>

#include "hang_report.h"
#include "summary.h"

static char *render(void (*fn)(FILE *, const struct json_object *), const struct json_object *ev)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return NULL;
    fn(f, ev);
    if (fclose(f) != 0) {
        free(text);
        return NULL;
    }
    return text;
}

/* The first line of a summary, without "forkwatch: " and the newline. */
static char *one_line(char *s)
{
    if (!s)
        return NULL;
    s[strcspn(s, "\n")] = '\0';
    const char *p = strncmp(s, "forkwatch: ", 11) == 0 ? s + 11 : s;
    memmove(s, p, strlen(p) + 1);
    return s;
}

static void print_summary(FILE *out, const struct json_object *ev)
{
    const char *event = fwj_get_string(ev, "event");
    if (event && strcmp(event, "hang") == 0)
        fw_print_hang_summary(out, ev);
    else
        fw_print_event_summary(out, ev);
}

/* pytest's node id "tests/test_x.py::TestA::test_b (call)" -> classname
 * "tests.test_x.TestA", name "test_b" (as pytest's own --junitxml names it). */
static void name_from_test(const char *test, char **classname, char **name)
{
    char *id = strdup(test);
    if (!id)
        return;
    char *paren = strstr(id, " (");
    if (paren)
        *paren = '\0';
    char *last = NULL;
    for (char *p = strstr(id, "::"); p; p = strstr(p + 2, "::"))
        last = p;
    if (!last) {
        *classname = strdup("forkwatch");
        *name = id;
        return;
    }
    *last = '\0';
    *name = strdup(last + 2);
    char *py = strstr(id, ".py");
    if (py && (py[3] == '\0' || py[3] == ':'))
        memmove(py, py + 3, strlen(py + 3) + 1);
    for (char *p = id; *p; p++)
        if (*p == '/')
            *p = '.';
    /* "::" between classes -> "." */
    for (char *p = strstr(id, "::"); p; p = strstr(p, "::"))
        memmove(p, p + 1, strlen(p + 1) + 1), *p = '.';
    *classname = id;
}

void fw_ci_collect(const struct json_object *ev, void *ctx)
{
    struct fw_ci_cases *c = ctx;
    if (c->count == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 8;
        struct fw_ci_case *p = realloc(c->items, cap * sizeof *p);
        if (!p)
            return;
        c->items = p;
        c->cap = cap;
    }
    struct fw_ci_case *k = &c->items[c->count];
    memset(k, 0, sizeof *k);
    const char *test = fwj_get_string(ev, "test");
    const char *label = fwj_get_string(ev, "label");
    if (test && *test) {
        name_from_test(test, &k->classname, &k->name);
        char buf[1024];
        snprintf(buf, sizeof buf, "deadlock in %.*s", (int)strcspn(test, " "), test);
        k->title = strdup(buf);
    }
    if (!k->name) {
        long long pid = 0;
        fwj_get_int(ev, "pid", &pid);
        char buf[512];
        const char *event = fwj_get_string(ev, "event");
        snprintf(buf, sizeof buf, "%s in pid %lld%s%s%s", event && strcmp(event, "hang") == 0 ? "hang" : "fork deadlock",
                 pid, label ? " (" : "", label ? label : "", label ? ")" : "");
        k->name = strdup(buf);
        free(k->classname);
        k->classname = strdup(label && *label ? label : "forkwatch");
    }
    if (!k->title)
        k->title = k->name ? strdup(k->name) : NULL;
    k->message = one_line(render(print_summary, ev));
    k->body = render(fw_write_human_report, ev);
    long long line = 0;
    const char *file = fw_user_frame(ev, &line);
    if (file) {
        k->file = strdup(file);
        k->line = line;
    }
    c->count++;
}

void fw_ci_free(struct fw_ci_cases *c)
{
    for (size_t i = 0; i < c->count; i++) {
        free(c->items[i].classname);
        free(c->items[i].name);
        free(c->items[i].title);
        free(c->items[i].message);
        free(c->items[i].body);
        free(c->items[i].file);
    }
    free(c->items);
    memset(c, 0, sizeof *c);
}
