/* cli/json_doc.c: json-c parsing as strict as the reports need, and the byte-stable writer. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_doc.h"

static char *rewrite(const char *text, size_t len)
{
    const char *err = NULL;
    struct json_object *v = fwj_parse(text, len, &err);
    cr_assert_not_null(v, "%.*s: %s", (int)len, text, err);
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    cr_assert(fwj_write(f, v));
    fclose(f);
    json_object_put(v);
    return buf;
}

static void refused(const char *text, size_t len)
{
    const char *err = NULL;
    struct json_object *v = fwj_parse(text, len, &err);
    cr_assert_null(v, "accepted: %.*s", (int)len, text);
    cr_assert_not_null(err);
}

/* A report line is rewritten byte for byte: order, number text, 64-bit integers, slashes. */
Test(json_doc, rewrite_keeps_bytes)
{
    const char *line = "{\"schema\":\"forkwatch-event/1\",\"time_ns\":1733212345678901234,\"x\":1.50,"
                       "\"file\":\"/usr/lib/python3.11/logging/__init__.py\",\"n\":null,\"b\":[true,false,-3],"
                       "\"s\":\"a\\nb\\tc\\u0001\\u007f\\\"\\\\\",\"u\":\"caf\xc3\xa9\"}";
    char *out = rewrite(line, strlen(line));
    cr_assert_str_eq(out, line);
    free(out);
    /* Non-ASCII names, which json-c 0.18's strict mode refused, and a bare number. */
    const char *named = "{\"f\":\"/tmp/\xe6\x97\xa5\xe6\x9c\xac.py\"}";
    out = rewrite(named, strlen(named));
    cr_assert_str_eq(out, named);
    free(out);
    out = rewrite("42", 2);
    cr_assert_str_eq(out, "42");
    free(out);
}

/* What a line damaged by a dying writer looks like. (json-c's lenient extras, a trailing
 * comma or a comment, are accepted: json-c's strict mode cannot be used, see json_doc.c.) */
Test(json_doc, refuses_damaged_lines)
{
    refused("{\"a\":", 5);                      /* cut by a writer that died */
    refused("{\"a\":1}x", 8);                   /* text after the value */
    refused("{\"a\":1}{\"b\":2}", 14);          /* two events on one line */
    refused("{\"a\":\"x\ty\"}", 11);            /* raw control byte in a string */
    refused("", 0);
    char deep[200];
    memset(deep, '[', 100);
    memset(deep + 100, ']', 100);
    refused(deep, sizeof deep);                 /* nesting past 64 */
}

/* Invalid UTF-8 written by us (a DWARF file name) follows the agent's convention. */
Test(json_doc, invalid_utf8_as_u00xx)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    cr_assert(fwj_write_string(f, "a\xff\xed\xa0\x80z", 6));
    fclose(f);
    cr_assert_str_eq(buf, "\"a\\u00ff\\u00ed\\u00a0\\u0080z\"");
    free(buf);
}

Test(json_doc, lookups_check_types)
{
    const char *t = "{\"s\":\"x\",\"i\":7,\"d\":7.5,\"n\":null,\"a\":[{\"k\":1},null],\"o\":{\"p\":\"q\"}}";
    struct json_object *v = fwj_parse(t, strlen(t), NULL);
    long long i = 0;
    cr_assert_str_eq(fwj_get_string(v, "s"), "x");
    cr_assert_null(fwj_get_string(v, "i"));
    cr_assert(fwj_get_int(v, "i", &i) && i == 7);
    cr_assert(!fwj_get_int(v, "d", &i));
    cr_assert_str_eq(fwj_number_text(fwj_get(v, "d")), "7.5");
    cr_assert(fwj_is_null(fwj_get(v, "n")) && fwj_is_null(fwj_get(v, "absent")));
    cr_assert_eq(fwj_len(fwj_get(v, "a")), 2);
    cr_assert_eq(fwj_len(fwj_get(v, "s")), 0);
    cr_assert(fwj_is_object(fwj_at(fwj_get(v, "a"), 0)) && !fwj_is_object(fwj_at(fwj_get(v, "a"), 1)));
    cr_assert_null(fwj_at(fwj_get(v, "a"), 2));
    cr_assert_str_eq(fwj_get_string(fwj_get(v, "o"), "p"), "q");
    cr_assert_str_eq(json_object_get_string(fwj_get_path(v, "o", "p")), "q");
    cr_assert_null(fwj_get(fwj_get(v, "s"), "x"));
    cr_assert(fwj_set(v, "s", json_object_new_string("y")));
    cr_assert_str_eq(fwj_get_string(v, "s"), "y");
    json_object_put(v);
}
