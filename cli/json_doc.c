/*
 * json_doc.c — json-c glue: strict parsing, type-checked lookups, the byte-stable writer.
 */
#include "json_doc.h"

#include <string.h>

#include "text_escape.h"

/* The reports nest a few levels (event → findings → holder → stack → frame); 64 leaves room
 * and stops a hostile file from costing stack depth. */
#define FWJ_MAX_DEPTH 64

static bool only_space(const char *p, const char *end)
{
    for (; p < end; p++)
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
            return false;
    return true;
}

/* json-c (0.16, strict mode too) accepts raw control bytes inside strings, which RFC 8259
 * forbids and which the agent never writes: such a line is damaged, so it is refused, as before. */
static bool control_in_string(const char *p, size_t len)
{
    bool in_string = false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)p[i];
        if (!in_string) {
            in_string = c == '"';
        } else if (c == '\\') {
            i++; /* the escaped byte cannot end the string */
        } else if (c == '"') {
            in_string = false;
        } else if (c < 0x20) {
            return true;
        }
    }
    return false;
}

struct json_object *fwj_parse(const char *text, size_t len, const char **err)
{
    const char *why = NULL;
    struct json_object *v = NULL;
    if (len > (size_t)INT32_MAX - 1) {
        why = "too large";
        goto out;
    }
    if (control_in_string(text, len)) {
        why = "control character in a string";
        goto out;
    }
    struct json_tokener *tok = json_tokener_new_ex(FWJ_MAX_DEPTH);
    if (!tok) {
        why = "out of memory";
        goto out;
    }
    /* Neither JSON_TOKENER_STRICT nor JSON_TOKENER_VALIDATE_UTF8: json-c 0.18 (Debian 13 and
     * sid) refuses any non-ASCII byte with either ({"u":"caf\xc3\xa9"}: "invalid string
     * sequence", "invalid utf-8 string"), which would drop every event naming a non-ASCII
     * file. What strictness the reports need is checked here instead: control bytes in
     * strings (above), nothing after the value (below), and UTF-8 where strings are used, by
     * the writer and the escaper (text_escape.h's strict decoder). The lenient grammar json-c
     * then also accepts (a trailing comma, a comment) is never written by the agent. */
    v = json_tokener_parse_ex(tok, text, (int)len);
    enum json_tokener_error e = json_tokener_get_error(tok);
    if (!v && e == json_tokener_continue) {
        /* A value cut short, or a bare number, which json-c cannot end without a delimiter:
         * a space ends the number and leaves anything cut still incomplete. */
        v = json_tokener_parse_ex(tok, " ", 1);
        e = json_tokener_get_error(tok);
        if (!v && e == json_tokener_continue)
            why = "cut short";
    } else if (v && !only_space(text + json_tokener_get_parse_end(tok), text + len)) {
        json_object_put(v);
        v = NULL;
        why = "text after the value";
    }
    if (!v && !why)
        why = e == json_tokener_success ? "out of memory" : json_tokener_error_desc(e);
    json_tokener_free(tok);
out:
    if (!v && err)
        *err = why;
    return v;
}

bool fwj_is_object(const struct json_object *v)
{
    return v && json_object_get_type(v) == json_type_object;
}

bool fwj_is_array(const struct json_object *v)
{
    return v && json_object_get_type(v) == json_type_array;
}

size_t fwj_len(const struct json_object *arr)
{
    return fwj_is_array(arr) ? json_object_array_length(arr) : 0;
}

struct json_object *fwj_at(const struct json_object *arr, size_t i)
{
    return i < fwj_len(arr) ? json_object_array_get_idx(arr, i) : NULL;
}

struct json_object *fwj_get(const struct json_object *obj, const char *key)
{
    struct json_object *v = NULL;
    if (!fwj_is_object(obj) || !json_object_object_get_ex(obj, key, &v))
        return NULL;
    return v;
}

struct json_object *fwj_get_path(const struct json_object *obj, const char *k1, const char *k2)
{
    return fwj_get(fwj_get(obj, k1), k2);
}

const char *fwj_get_string(const struct json_object *obj, const char *key)
{
    struct json_object *v = fwj_get(obj, key);
    return v && json_object_get_type(v) == json_type_string ? json_object_get_string(v) : NULL;
}

bool fwj_get_int(const struct json_object *obj, const char *key, long long *out)
{
    struct json_object *v = fwj_get(obj, key);
    if (!v || json_object_get_type(v) != json_type_int)
        return false;
    *out = (long long)json_object_get_int64(v);
    return true;
}

bool fwj_is_null(const struct json_object *v)
{
    return !v || json_object_get_type(v) == json_type_null;
}

const char *fwj_number_text(const struct json_object *v)
{
    if (!v || (json_object_get_type(v) != json_type_int && json_object_get_type(v) != json_type_double))
        return NULL;
    return json_object_get_string((struct json_object *)v);
}

bool fwj_set(struct json_object *obj, const char *key, struct json_object *value)
{
    if (!value)
        return false;
    if (!fwj_is_object(obj) || json_object_object_add(obj, key, value) != 0) {
        json_object_put(value);
        return false;
    }
    return true;
}

bool fwj_write_string(FILE *out, const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    if (fputc('"', out) == EOF)
        return false;
    for (size_t i = 0; i < len;) {
        unsigned char c = u[i];
        uint32_t cp;
        size_t n;
        if (c == '"' || c == '\\') {
            fputc('\\', out);
            fputc(c, out);
            i++;
        } else if (c == '\n') {
            fputs("\\n", out);
            i++;
        } else if (c == '\t') {
            fputs("\\t", out);
            i++;
        } else if (c < 0x20 || c == 0x7F) {
            fprintf(out, "\\u%04x", c);
            i++;
        } else if ((n = fw_utf8_decode(u + i, len - i, &cp)) == 0) {
            fprintf(out, "\\u%04x", c); /* invalid byte: the agent's convention */
            i++;
        } else {
            fwrite(u + i, 1, n, out);
            i += n;
        }
    }
    return fputc('"', out) != EOF;
}

bool fwj_write(FILE *out, const struct json_object *v)
{
    struct json_object *m = (struct json_object *)v; /* json-c's getters are not const */
    switch (v ? json_object_get_type(v) : json_type_null) {
    case json_type_null: fputs("null", out); break;
    case json_type_boolean: fputs(json_object_get_boolean(v) ? "true" : "false", out); break;
    case json_type_int:
    case json_type_double: fputs(json_object_get_string(m), out); break;
    case json_type_string: fwj_write_string(out, json_object_get_string(m), (size_t)json_object_get_string_len(v)); break;
    case json_type_array:
        fputc('[', out);
        for (size_t i = 0; i < json_object_array_length(v); i++) {
            if (i)
                fputc(',', out);
            fwj_write(out, json_object_array_get_idx(v, i));
        }
        fputc(']', out);
        break;
    case json_type_object: {
        bool first = true;
        fputc('{', out);
        json_object_object_foreach(m, key, val) {
            if (!first)
                fputc(',', out);
            first = false;
            fwj_write_string(out, key, strlen(key));
            fputc(':', out);
            fwj_write(out, val);
        }
        fputc('}', out);
        break;
    }
    }
    return !ferror(out);
}
