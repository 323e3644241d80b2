/*
 * advice_table.c — see advice_table.h. The selection mirrors gdb/forkwatch/advice.py:
 * 'python': [min, max] ('major.minor', inclusive, null = open); an unknown interpreter
 * takes only rows without an upper bound.
 */
#include "advice_table.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_doc.h"
#include "paths.h"

static struct json_object *table;   /* parsed once; NULL when unreadable */
static bool loaded;
static struct json_object *load(void)
{
    if (loaded)
        return table;
    loaded = true;
    char dir[PATH_MAX], path[PATH_MAX + 32];
    if (!fw_find_gdb_dir(dir, sizeof dir) ||
        (size_t)snprintf(path, sizeof path, "%s/forkwatch/advice.json", dir) >= sizeof path)
        return NULL;
    FILE *f = fopen(path, "re");
    if (!f)
        return NULL;
    char *text = NULL;
    size_t cap = 0, len = 0;
    for (;;) {
        if (len + 4096 > cap) {
            if (cap > (1u << 20))
                break;   /* not our table: far larger than any */
            char *p = realloc(text, cap = cap ? 2 * cap : 8192);
            if (!p)
                break;
            text = p;
        }
        size_t got = fread(text + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
    }
    bool ok = !ferror(f) && feof(f);
    fclose(f);
    if (ok && text)
        table = fwj_parse(text, len, NULL);
    free(text);
    return table;
}

/* "3.11.7" / "3.11" -> 3*1000+11; -1 when absent or unparsable. */
static long version_key(const char *v)
{
    if (!v)
        return -1;
    char *end;
    long major = strtol(v, &end, 10);
    if (end == v || *end != '.')
        return -1;
    const char *m = end + 1;
    long minor = strtol(m, &end, 10);
    if (end == m || major < 0 || minor < 0 || minor > 999)
        return -1;
    return major * 1000 + minor;
}

static bool covers(const struct json_object *row, long minor)
{
    const struct json_object *range = fwj_get(row, "python");
    const char *lo = NULL, *hi = NULL;
    if (fwj_is_array(range) && fwj_len(range) == 2) {
        const struct json_object *a = fwj_at(range, 0), *b = fwj_at(range, 1);
        lo = json_object_is_type(a, json_type_string) ? json_object_get_string((struct json_object *)a) : NULL;
        hi = json_object_is_type(b, json_type_string) ? json_object_get_string((struct json_object *)b) : NULL;
    }
    if (minor < 0)
        return hi == NULL;
    long l = version_key(lo), h = version_key(hi);
    return (!lo || (l >= 0 && minor >= l)) && (!hi || (h >= 0 && minor <= h));
}

bool fw_advice_text(const char *key, const char *python_version, char *out, size_t n)
{
    if (n)
        out[0] = '\0';
    const struct json_object *rows = fwj_get(load(), "advice");
    long minor = version_key(python_version);
    for (size_t i = 0; i < fwj_len(rows); i++) {
        const struct json_object *row = fwj_at(rows, i);
        const char *k = fwj_get_string(row, "key"), *text = fwj_get_string(row, "text");
        if (!k || !text || strcmp(k, key) != 0 || !covers(row, minor))
            continue;
        if (strchr(text, '{'))
            return false;   /* a row with parameters ({runtime}) needs what only the GDB side knows */
        return (size_t)snprintf(out, n, "%s", text) < n;
    }
    return false;
}
