/*
 * json.c — strict, bounded JSON parser and compact writer (see json.h).
 */
#include "json.h"

#include <stdlib.h>
#include <string.h>

/* Event lines nest about five levels; anything far deeper is not ours and
 * must not be allowed to exhaust the stack. */
#define JSON_MAX_DEPTH 64

struct parser {
    const char *p;
    const char *end;
    const char *err;
};

static struct json_value *parse_value(struct parser *ps, int depth);

static void skip_ws(struct parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

static struct json_value *new_value(enum json_type type)
{
    struct json_value *v = calloc(1, sizeof *v);
    if (v)
        v->type = type;
    return v;
}

static bool fail(struct parser *ps, const char *why)
{
    if (!ps->err)
        ps->err = why;
    return false;
}

/* Growable byte buffer for decoded strings. */
struct buf {
    char *data;
    size_t len, cap;
};

static bool buf_put(struct buf *b, const char *bytes, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 32;
        while (b->len + n + 1 > cap)
            cap *= 2;
        char *d = realloc(b->data, cap);
        if (!d)
            return false;
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, bytes, n);
    b->len += n;
    b->data[b->len] = '\0';
    return true;
}

static bool buf_put_utf8(struct buf *b, uint32_t cp)
{
    char out[4];
    size_t n;
    if (cp < 0x80) {
        out[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        out[0] = (char)(0xF0 | (cp >> 18));
        out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return buf_put(b, out, n);
}

static bool parse_hex4(struct parser *ps, uint32_t *out)
{
    if (ps->end - ps->p < 4)
        return fail(ps, "cut in a \\u escape");
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        char c = ps->p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (uint32_t)(c - 'A' + 10);
        else
            return fail(ps, "bad \\u escape");
    }
    ps->p += 4;
    *out = v;
    return true;
}

/* Parses a string token starting at '"'; the decoded bytes go to b. */
static bool parse_string_into(struct parser *ps, struct buf *b)
{
    ps->p++; /* opening quote */
    if (!buf_put(b, "", 0))
        return fail(ps, "out of memory");
    while (ps->p < ps->end) {
        unsigned char c = (unsigned char)*ps->p;
        if (c == '"') {
            ps->p++;
            return true;
        }
        if (c < 0x20)
            return fail(ps, "control character in a string");
        if (c != '\\') {
            const char *run = ps->p;
            while (ps->p < ps->end && *ps->p != '"' && *ps->p != '\\' && (unsigned char)*ps->p >= 0x20)
                ps->p++;
            if (!buf_put(b, run, (size_t)(ps->p - run)))
                return fail(ps, "out of memory");
            continue;
        }
        ps->p++;
        if (ps->p >= ps->end)
            return fail(ps, "cut in an escape");
        char e = *ps->p++;
        const char *simple = NULL;
        switch (e) {
        case '"': simple = "\""; break;
        case '\\': simple = "\\"; break;
        case '/': simple = "/"; break;
        case 'b': simple = "\b"; break;
        case 'f': simple = "\f"; break;
        case 'n': simple = "\n"; break;
        case 'r': simple = "\r"; break;
        case 't': simple = "\t"; break;
        case 'u': break;
        default: return fail(ps, "bad escape");
        }
        if (simple) {
            if (!buf_put(b, simple, 1))
                return fail(ps, "out of memory");
            continue;
        }
        uint32_t cp;
        if (!parse_hex4(ps, &cp))
            return false;
        if (cp >= 0xD800 && cp <= 0xDBFF && ps->end - ps->p >= 6 && ps->p[0] == '\\' && ps->p[1] == 'u') {
            const char *save = ps->p;
            uint32_t lo;
            ps->p += 2;
            if (parse_hex4(ps, &lo) && lo >= 0xDC00 && lo <= 0xDFFF)
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            else {
                ps->err = NULL; /* not a pair: keep the second escape for the next round */
                ps->p = save;
            }
        }
        if (cp >= 0xD800 && cp <= 0xDFFF)
            cp = 0xFFFD; /* a lone surrogate has no UTF-8 form */
        if (!buf_put_utf8(b, cp))
            return fail(ps, "out of memory");
    }
    return fail(ps, "unterminated string");
}

static struct json_value *parse_string(struct parser *ps)
{
    struct buf b = {0};
    if (!parse_string_into(ps, &b)) {
        free(b.data);
        return NULL;
    }
    struct json_value *v = new_value(JSON_STRING);
    if (!v) {
        free(b.data);
        fail(ps, "out of memory");
        return NULL;
    }
    v->text = b.data;
    v->len = b.len;
    return v;
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

static struct json_value *parse_number(struct parser *ps)
{
    const char *start = ps->p;
    if (ps->p < ps->end && *ps->p == '-')
        ps->p++;
    if (ps->p >= ps->end || !is_digit(*ps->p)) {
        fail(ps, "bad number");
        return NULL;
    }
    if (*ps->p == '0')
        ps->p++;
    else
        while (ps->p < ps->end && is_digit(*ps->p))
            ps->p++;
    if (ps->p < ps->end && *ps->p == '.') {
        ps->p++;
        if (ps->p >= ps->end || !is_digit(*ps->p)) {
            fail(ps, "bad number");
            return NULL;
        }
        while (ps->p < ps->end && is_digit(*ps->p))
            ps->p++;
    }
    if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E')) {
        ps->p++;
        if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-'))
            ps->p++;
        if (ps->p >= ps->end || !is_digit(*ps->p)) {
            fail(ps, "bad number");
            return NULL;
        }
        while (ps->p < ps->end && is_digit(*ps->p))
            ps->p++;
    }
    struct json_value *v = new_value(JSON_NUMBER);
    if (v)
        v->text = strndup(start, (size_t)(ps->p - start));
    if (!v || !v->text) {
        json_free(v);
        fail(ps, "out of memory");
        return NULL;
    }
    return v;
}

static bool grow(void **items, size_t *cap, size_t count, size_t size)
{
    if (count < *cap)
        return true;
    size_t ncap = *cap ? *cap * 2 : 4;
    void *n = realloc(*items, ncap * size);
    if (!n)
        return false;
    *items = n;
    *cap = ncap;
    return true;
}

static struct json_value *parse_array(struct parser *ps, int depth)
{
    struct json_value *arr = new_value(JSON_ARRAY);
    if (!arr) {
        fail(ps, "out of memory");
        return NULL;
    }
    ps->p++;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == ']') {
        ps->p++;
        return arr;
    }
    for (;;) {
        struct json_value *item = parse_value(ps, depth + 1);
        if (!item)
            goto bad;
        if (!grow((void **)&arr->items, &arr->cap, arr->count, sizeof *arr->items)) {
            json_free(item);
            fail(ps, "out of memory");
            goto bad;
        }
        arr->items[arr->count++] = item;
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            continue;
        }
        if (ps->p < ps->end && *ps->p == ']') {
            ps->p++;
            return arr;
        }
        fail(ps, ps->p >= ps->end ? "cut inside an array" : "expected , or ] in an array");
        goto bad;
    }
bad:
    json_free(arr);
    return NULL;
}

static struct json_value *parse_object(struct parser *ps, int depth)
{
    struct json_value *obj = new_value(JSON_OBJECT);
    if (!obj) {
        fail(ps, "out of memory");
        return NULL;
    }
    ps->p++;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == '}') {
        ps->p++;
        return obj;
    }
    for (;;) {
        skip_ws(ps);
        if (ps->p >= ps->end || *ps->p != '"') {
            fail(ps, ps->p >= ps->end ? "cut inside an object" : "expected a key");
            goto bad;
        }
        struct buf key = {0};
        if (!parse_string_into(ps, &key)) {
            free(key.data);
            goto bad;
        }
        if (strlen(key.data) != key.len) {
            free(key.data);
            fail(ps, "NUL in a key");
            goto bad;
        }
        skip_ws(ps);
        if (ps->p >= ps->end || *ps->p != ':') {
            free(key.data);
            fail(ps, "expected :");
            goto bad;
        }
        ps->p++;
        struct json_value *val = parse_value(ps, depth + 1);
        if (!val) {
            free(key.data);
            goto bad;
        }
        if (!grow((void **)&obj->members, &obj->cap, obj->count, sizeof *obj->members)) {
            free(key.data);
            json_free(val);
            fail(ps, "out of memory");
            goto bad;
        }
        obj->members[obj->count].key = key.data;
        obj->members[obj->count].value = val;
        obj->count++;
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            continue;
        }
        if (ps->p < ps->end && *ps->p == '}') {
            ps->p++;
            return obj;
        }
        fail(ps, ps->p >= ps->end ? "cut inside an object" : "expected , or } in an object");
        goto bad;
    }
bad:
    json_free(obj);
    return NULL;
}

static bool match_word(struct parser *ps, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
        return fail(ps, "unexpected word");
    ps->p += n;
    return true;
}

static struct json_value *parse_value(struct parser *ps, int depth)
{
    if (depth > JSON_MAX_DEPTH) {
        fail(ps, "nested too deeply");
        return NULL;
    }
    skip_ws(ps);
    if (ps->p >= ps->end) {
        fail(ps, "cut short");
        return NULL;
    }
    switch (*ps->p) {
    case '{': return parse_object(ps, depth);
    case '[': return parse_array(ps, depth);
    case '"': return parse_string(ps);
    case 't': return match_word(ps, "true") ? new_value(JSON_TRUE) : NULL;
    case 'f': return match_word(ps, "false") ? new_value(JSON_FALSE) : NULL;
    case 'n': return match_word(ps, "null") ? new_value(JSON_NULL) : NULL;
    default: return parse_number(ps);
    }
}

struct json_value *json_parse(const char *text, size_t len, const char **err)
{
    struct parser ps = {.p = text, .end = text + len, .err = NULL};
    struct json_value *v = parse_value(&ps, 0);
    if (v) {
        skip_ws(&ps);
        if (ps.p != ps.end) {
            json_free(v);
            v = NULL;
            fail(&ps, "text after the value");
        }
    }
    if (!v && err)
        *err = ps.err ? ps.err : "out of memory";
    return v;
}

void json_free(struct json_value *v)
{
    if (!v)
        return;
    free(v->text);
    for (size_t i = 0; v->type == JSON_ARRAY && i < v->count; i++)
        json_free(v->items[i]);
    for (size_t i = 0; v->type == JSON_OBJECT && i < v->count; i++) {
        free(v->members[i].key);
        json_free(v->members[i].value);
    }
    free(v->items);
    free(v->members);
    free(v);
}

struct json_value *json_get(const struct json_value *obj, const char *key)
{
    if (!obj || obj->type != JSON_OBJECT)
        return NULL;
    for (size_t i = 0; i < obj->count; i++)
        if (strcmp(obj->members[i].key, key) == 0)
            return obj->members[i].value;
    return NULL;
}

struct json_value *json_get_path(const struct json_value *obj, const char *k1, const char *k2)
{
    return json_get(json_get(obj, k1), k2);
}

const char *json_get_string(const struct json_value *obj, const char *key)
{
    struct json_value *v = json_get(obj, key);
    return v && v->type == JSON_STRING ? v->text : NULL;
}

bool json_get_int(const struct json_value *obj, const char *key, long long *out)
{
    struct json_value *v = json_get(obj, key);
    if (!v || v->type != JSON_NUMBER)
        return false;
    char *end;
    long long n = strtoll(v->text, &end, 10);
    if (*end != '\0')
        return false;
    *out = n;
    return true;
}

bool json_is_null(const struct json_value *v)
{
    return !v || v->type == JSON_NULL;
}

struct json_value *json_new_string(const char *s)
{
    struct json_value *v = new_value(JSON_STRING);
    if (!v)
        return NULL;
    v->text = strdup(s);
    if (!v->text) {
        free(v);
        return NULL;
    }
    v->len = strlen(s);
    return v;
}

struct json_value *json_new_int(long long n)
{
    char tmp[32];
    snprintf(tmp, sizeof tmp, "%lld", n);
    struct json_value *v = new_value(JSON_NUMBER);
    if (!v)
        return NULL;
    v->text = strdup(tmp);
    if (!v->text) {
        free(v);
        return NULL;
    }
    return v;
}

bool json_set(struct json_value *obj, const char *key, struct json_value *value)
{
    if (!obj || obj->type != JSON_OBJECT || !value)
        return false;
    for (size_t i = 0; i < obj->count; i++) {
        if (strcmp(obj->members[i].key, key) == 0) {
            json_free(obj->members[i].value);
            obj->members[i].value = value;
            return true;
        }
    }
    char *k = strdup(key);
    if (!k || !grow((void **)&obj->members, &obj->cap, obj->count, sizeof *obj->members)) {
        free(k);
        return false;
    }
    obj->members[obj->count].key = k;
    obj->members[obj->count].value = value;
    obj->count++;
    return true;
}

/* Length of a valid UTF-8 sequence at s (1..4), or 0 when it is not valid. */
static size_t utf8_seq_len(const unsigned char *s, size_t avail)
{
    unsigned char c = s[0];
    size_t n;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if ((c & 0xE0) == 0xC0) { n = 2; cp = c & 0x1F; }
    else if ((c & 0xF0) == 0xE0) { n = 3; cp = c & 0x0F; }
    else if ((c & 0xF8) == 0xF0) { n = 4; cp = c & 0x07; }
    else return 0;
    if (avail < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    /* Reject overlong forms, surrogates and values past U+10FFFF. */
    if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
        return 0;
    return n;
}

bool json_write_string(FILE *out, const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    if (fputc('"', out) == EOF)
        return false;
    for (size_t i = 0; i < len;) {
        unsigned char c = u[i];
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
        } else {
            size_t n = utf8_seq_len(u + i, len - i);
            if (n == 0) {
                fprintf(out, "\\u%04x", c); /* invalid byte: the agent's convention */
                i++;
            } else {
                fwrite(u + i, 1, n, out);
                i += n;
            }
        }
    }
    return fputc('"', out) != EOF;
}

bool json_write(FILE *out, const struct json_value *v)
{
    switch (v->type) {
    case JSON_NULL: fputs("null", out); break;
    case JSON_FALSE: fputs("false", out); break;
    case JSON_TRUE: fputs("true", out); break;
    case JSON_NUMBER: fputs(v->text, out); break;
    case JSON_STRING: json_write_string(out, v->text, v->len); break;
    case JSON_ARRAY:
        fputc('[', out);
        for (size_t i = 0; i < v->count; i++) {
            if (i)
                fputc(',', out);
            json_write(out, v->items[i]);
        }
        fputc(']', out);
        break;
    case JSON_OBJECT:
        fputc('{', out);
        for (size_t i = 0; i < v->count; i++) {
            if (i)
                fputc(',', out);
            json_write_string(out, v->members[i].key, strlen(v->members[i].key));
            fputc(':', out);
            json_write(out, v->members[i].value);
        }
        fputc('}', out);
        break;
    }
    return !ferror(out);
}
