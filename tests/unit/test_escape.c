/* The one escaping rule (cli/text_escape.h): every row of tests/escape_table.json, which the
 * GDB side's escape.term() must reproduce too (tests/gdb/test_escape_table.py). */
#include <criterion/criterion.h>

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text_escape.h"

#ifndef FW_SRCDIR
#define FW_SRCDIR "."
#endif

static size_t unhex(const char *hex, unsigned char *out, size_t cap)
{
    size_t n = strlen(hex) / 2;
    cr_assert(strlen(hex) % 2 == 0 && n <= cap, "bad hex in the table: %s", hex);
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        cr_assert(sscanf(hex + 2 * i, "%2x", &v) == 1, "bad hex in the table: %s", hex);
        out[i] = (unsigned char)v;
    }
    return n;
}

Test(escape, table)
{
    struct json_object *table = json_object_from_file(FW_SRCDIR "/tests/escape_table.json");
    cr_assert_not_null(table, "cannot read %s/tests/escape_table.json", FW_SRCDIR);
    struct json_object *rows;
    cr_assert(json_object_object_get_ex(table, "rows", &rows) && json_object_is_type(rows, json_type_array));
    size_t n = json_object_array_length(rows), failed = 0;
    cr_assert(n >= 30, "the table lost rows (%zu)", n);
    for (size_t i = 0; i < n; i++) {
        struct json_object *row = json_object_array_get_idx(rows, i), *in, *want, *why;
        cr_assert(json_object_object_get_ex(row, "in", &in) && json_object_object_get_ex(row, "out", &want) &&
                  json_object_object_get_ex(row, "why", &why));
        unsigned char bytes[256];
        size_t len = unhex(json_object_get_string(in), bytes, sizeof bytes);
        char got[1024];
        fw_escape_text((const char *)bytes, len, got, sizeof got);
        if (strcmp(got, json_object_get_string(want)) != 0) {
            cr_log_error("%s (%s): got \"%s\", want \"%s\"", json_object_get_string(why), json_object_get_string(in),
                         got, json_object_get_string(want));
            failed++;
        }
    }
    json_object_put(table);
    cr_assert_eq(failed, 0, "%zu of %zu rows differ", failed, n);
}

/* Truncation keeps whole escapes and ends in "...": a cut "\x1" would read as something else. */
Test(escape, truncation_keeps_whole_escapes)
{
    char out[14]; /* room for the text, or for what fits plus "..." */
    cr_assert_str_eq(fw_escape_text("abcdef\x1b", 7, out, sizeof out), "abcdef\\x1b");
    cr_assert_str_eq(fw_escape_text("abcdefg\x1b", 8, out, sizeof out), "abcdefg...");
    cr_assert_str_eq(fw_escape_cstr(NULL, out, sizeof out), "?");
}

/* The strict decoder itself: code points and lengths the JSON writer relies on. */
Test(escape, utf8_decode)
{
    uint32_t cp = 0;
    cr_assert_eq(fw_utf8_decode((const unsigned char *)"\xc3\xa9", 2, &cp), 2);
    cr_assert_eq(cp, 0xE9);
    cr_assert_eq(fw_utf8_decode((const unsigned char *)"\xf4\x8f\xbf\xbf", 4, &cp), 4);
    cr_assert_eq(cp, 0x10FFFF);
    cr_assert_eq(fw_utf8_decode((const unsigned char *)"\xc3\xa9", 1, &cp), 0); /* cut */
    cr_assert_eq(fw_utf8_decode((const unsigned char *)"\xed\xa0\x80", 3, &cp), 0);
    cr_assert_eq(fw_utf8_decode((const unsigned char *)"\xc1\xbf", 2, &cp), 0);
}
