/*
 * json.h — a small JSON reader/writer for the agent's event lines.
 *
 * Input comes from files written by processes that may have died mid-write,
 * so the parser never trusts its input: bounded nesting, strict grammar, and
 * any failure is an error return (never an abort). Numbers keep their source
 * text so that 64-bit values such as time_ns survive a rewrite unchanged.
 */
#ifndef FW_CLI_JSON_H
#define FW_CLI_JSON_H

#include <stddef.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdint.h>

enum json_type { JSON_NULL, JSON_FALSE, JSON_TRUE, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT };

struct json_value;

struct json_member {
    char *key;                 /* decoded, NUL-terminated (keys with NUL are rejected) */
    struct json_value *value;
};

struct json_value {
    enum json_type type;
    char *text;       /* JSON_NUMBER: source text; JSON_STRING: decoded UTF-8 bytes */
    size_t len;       /* JSON_STRING: byte length (may contain NUL) */
    size_t count;     /* JSON_ARRAY / JSON_OBJECT: number of items */
    size_t cap;
    struct json_value **items;     /* JSON_ARRAY */
    struct json_member *members;   /* JSON_OBJECT, in source order */
};

/* Parses exactly one JSON value (surrounding whitespace allowed). Returns NULL
 * on any error and, when err is given, a short static reason. */
struct json_value *json_parse(const char *text, size_t len, const char **err);
void json_free(struct json_value *v);

/* Lookups; NULL when absent or when v is not an object/array. */
struct json_value *json_get(const struct json_value *obj, const char *key);
struct json_value *json_get_path(const struct json_value *obj, const char *k1, const char *k2);
const char *json_get_string(const struct json_value *obj, const char *key); /* NULL if not a string */
bool json_get_int(const struct json_value *obj, const char *key, long long *out);
bool json_is_null(const struct json_value *v);

/* Builders used to fill in symbolised frame fields. */
struct json_value *json_new_string(const char *s);
struct json_value *json_new_int(long long n);
/* Replaces (or appends) key's value; frees the old value. false on allocation failure. */
bool json_set(struct json_value *obj, const char *key, struct json_value *value);

/* Writes compact JSON. Strings: control characters and invalid UTF-8 bytes as
 * \u00XX, valid UTF-8 passed through. Returns false on a write error. */
bool json_write(FILE *out, const struct json_value *v);
bool json_write_string(FILE *out, const char *s, size_t len);

#endif
