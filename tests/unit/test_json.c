/* The bounded JSON writer: escaping and truncation. */
#include <criterion/criterion.h>

#include "fw_buf.h"
#include "fw_json.h"

#include <string.h>

static char out[256];

static const char *encode(const char *s, size_t cap)
{
    static char buf[256];
    struct fw_buf b;
    fw_buf_init(&b, buf, cap);
    fw_json_string(&b, s, (size_t)-1);
    memcpy(out, buf, b.len);
    out[b.len] = '\0';
    return out;
}

Test(json, plain_and_null)
{
    cr_assert_str_eq(encode("Writer", 64), "\"Writer\"");
    struct fw_buf b;
    char buf[16];
    fw_buf_init(&b, buf, sizeof buf);
    fw_json_string(&b, NULL, 10);
    cr_assert_eq(b.len, 4);
    cr_assert(memcmp(buf, "null", 4) == 0);
}

Test(json, quotes_backslash_and_control_characters)
{
    cr_assert_str_eq(encode("a\"b\\c", 64), "\"a\\\"b\\\\c\"");
    cr_assert_str_eq(encode("x\ny\tz\x1b", 64), "\"x\\u000ay\\u0009z\\u001b\"");
    cr_assert_str_eq(encode("\x7f", 64), "\"\\u007f\"");
}

Test(json, valid_utf8_passes_invalid_bytes_are_escaped)
{
    cr_assert_str_eq(encode("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 64), "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
    cr_assert_str_eq(encode("a\xff" "b", 64), "\"a\\u00ffb\"");
    cr_assert_str_eq(encode("\xc3", 64), "\"\\u00c3\"");              /* truncated sequence */
    cr_assert_str_eq(encode("\xc0\xaf", 64), "\"\\u00c0\\u00af\"");   /* overlong */
    cr_assert_str_eq(encode("\xed\xa0\x80", 64), "\"\\u00ed\\u00a0\\u0080\"");   /* surrogate */
}

Test(json, maxlen_bounds_the_source)
{
    struct fw_buf b;
    char buf[32];
    fw_buf_init(&b, buf, sizeof buf);
    fw_json_string(&b, "abcdef", 3);
    cr_assert_eq(b.len, 5);
    cr_assert(memcmp(buf, "\"abc\"", 5) == 0);
}

Test(json, truncation_keeps_the_string_closed_and_whole_escapes)
{
    /* 10 bytes of room: quote + up to 8 bytes + quote; an escape never splits. */
    const char *r = encode("abcdefghijklmnop", 10);
    cr_assert_str_eq(r, "\"abcdefgh\"");
    r = encode("abcdef\n", 10);
    cr_assert_str_eq(r, "\"abcdef\"");
    r = encode("ab\xe2\x82\xac\xe2\x82\xac", 10);   /* never half a UTF-8 sequence */
    cr_assert_str_eq(r, "\"ab\xe2\x82\xac\xe2\x82\xac\"");
    r = encode("abc\xe2\x82\xac\xe2\x82\xac", 10);
    cr_assert_str_eq(r, "\"abc\xe2\x82\xac\"");
}

Test(json, overflow_is_remembered)
{
    struct fw_buf b;
    char buf[8];
    fw_buf_init(&b, buf, sizeof buf);
    fw_json_string(&b, "abcdefghijkl", (size_t)-1);
    cr_assert(b.overflow);
    cr_assert_leq(b.len, sizeof buf);
    cr_assert_eq(buf[b.len - 1], '"');
}

Test(buf, integers)
{
    struct fw_buf b;
    char buf[64];
    fw_buf_init(&b, buf, sizeof buf);
    fw_buf_u64(&b, 0);
    fw_buf_char(&b, ' ');
    fw_buf_u64(&b, 18446744073709551615ull);
    fw_buf_char(&b, ' ');
    fw_buf_i64(&b, -42);
    fw_buf_char(&b, ' ');
    fw_buf_hex(&b, 0x55d0c0a1b2c0ull);
    buf[b.len] = '\0';
    cr_assert_str_eq(buf, "0 18446744073709551615 -42 0x55d0c0a1b2c0");
}

Test(buf, bounded)
{
    struct fw_buf b;
    char buf[4];
    fw_buf_init(&b, buf, sizeof buf);
    fw_buf_str(&b, "hello");
    cr_assert_eq(b.len, 4);
    cr_assert(b.overflow);
    char small[4];
    fw_copy_str(small, sizeof small, "hello");
    cr_assert_str_eq(small, "hel");
}
