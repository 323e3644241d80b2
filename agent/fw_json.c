/* fw_json.c — see fw_json.h. Strings come from the debugged program (thread
 * names, Python file names): they are data and are always escaped. */
#include "fw_json.h"

size_t fw_utf8_seq_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    unsigned char lo = 0x80, hi = 0xbf;   /* allowed range of the second byte */
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        if (c == 0xe0) lo = 0xa0;          /* overlong */
        if (c == 0xed) hi = 0x9f;          /* UTF-16 surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        if (c == 0xf0) lo = 0x90;          /* overlong */
        if (c == 0xf4) hi = 0x8f;          /* above U+10FFFF */
    } else
        return 0;
    if (n < len)
        return 0;
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return len;
}

static void put_escape_byte(struct fw_buf *b, unsigned char c)
{
    static const char digits[] = "0123456789abcdef";
    char esc[6] = { '\\', 'u', '0', '0', digits[c >> 4], digits[c & 0xf] };
    fw_buf_bytes(b, esc, sizeof esc);
}

void fw_json_string(struct fw_buf *b, const char *s, size_t maxlen)
{
    if (!s) {
        fw_buf_str(b, "null");
        return;
    }
    size_t n = 0;
    while (n < maxlen && s[n])
        n++;
    if (fw_buf_room(b) < 2) {
        b->overflow = 1;
        return;
    }
    fw_buf_char(b, '"');
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        size_t seq = fw_utf8_seq_len(u + i, n - i);
        size_t need = (seq == 1 && (u[i] == '"' || u[i] == '\\')) ? 2
                    : (seq == 1 && (u[i] < 0x20 || u[i] == 0x7f)) ? 6
                    : seq == 0 ? 6 : seq;
        if (fw_buf_room(b) < need + 1) {   /* keep room for the closing quote */
            b->overflow = 1;
            break;
        }
        if (seq == 0 || (seq == 1 && (u[i] < 0x20 || u[i] == 0x7f))) {
            put_escape_byte(b, u[i]);
            i += 1;
        } else if (seq == 1 && (u[i] == '"' || u[i] == '\\')) {
            fw_buf_char(b, '\\');
            fw_buf_char(b, (char)u[i]);
            i += 1;
        } else {
            fw_buf_bytes(b, s + i, seq);
            i += seq;
        }
    }
    fw_buf_char(b, '"');
}

void fw_json_key(struct fw_buf *b, const char *key)
{
    fw_json_string(b, key, (size_t)-1);
    fw_buf_char(b, ':');
}
