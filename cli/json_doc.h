/*
 * json_doc.h — the command's JSON: parsed by json-c (Debian's libjson-c), read through a few
 * lookups that never fail on a value of the wrong type, and written back by one small writer.
 *
 * Input comes from files written by processes that may have died mid-write, so parsing
 * refuses what a damaged line looks like (a cut value, two values joined, raw control bytes in
 * a string, nesting past 64) and any failure is an error return. (json-c's own strict mode is
 * not used: json-c 0.18 refuses every non-ASCII byte in it — see json_doc.c.) json-c keeps a number's source text for doubles and reads 64-bit integers
 * exactly, so time_ns survives a rewrite unchanged.
 *
 * Why our own writer rather than json_object_to_json_string(): the reports forkwatch writes
 * keep their exact bytes (no "\/", \n and \t short, other controls and DEL as \u00XX), and a
 * string that is not valid UTF-8 — a file name from DWARF, a thread name — is written with the
 * agent's convention (each invalid byte as \u00XX), decided by text_escape.h's strict decoder.
 * json-c would pass the invalid bytes through and produce a line other readers reject.
 */
#ifndef FW_CLI_JSON_DOC_H
#define FW_CLI_JSON_DOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <json-c/json.h>

/* Parses exactly one JSON value (surrounding whitespace allowed). NULL on any error and,
 * when err is given, a short static reason. Free with json_object_put(). */
struct json_object *fwj_parse(const char *text, size_t len, const char **err);

/* Lookups: NULL / false / 0 when v is NULL, of another type, or the key is absent. */
bool fwj_is_object(const struct json_object *v);
bool fwj_is_array(const struct json_object *v);
size_t fwj_len(const struct json_object *arr);                  /* 0 unless an array */
struct json_object *fwj_at(const struct json_object *arr, size_t i);
struct json_object *fwj_get(const struct json_object *obj, const char *key);
struct json_object *fwj_get_path(const struct json_object *obj, const char *k1, const char *k2);
const char *fwj_get_string(const struct json_object *obj, const char *key); /* NULL unless a string */
bool fwj_get_int(const struct json_object *obj, const char *key, long long *out); /* integers only */
bool fwj_is_null(const struct json_object *v);                  /* absent or null */
/* A number's text as written (json-c keeps a double's source text), NULL for other types. */
const char *fwj_number_text(const struct json_object *v);

/* Replaces (or appends) key's value, taking ownership of value (freed on failure); false on
 * allocation failure or when obj is not an object. */
bool fwj_set(struct json_object *obj, const char *key, struct json_object *value);

/* Writes compact JSON, members in their order. Returns false on a write error. */
bool fwj_write(FILE *out, const struct json_object *v);
bool fwj_write_string(FILE *out, const char *s, size_t len);

#endif
