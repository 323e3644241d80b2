/*
 * text_escape.c — terminal-safe rendering of untrusted strings.
 */
#include "text_escape.h"

#include <stdio.h>
#include <string.h>

static size_t valid_utf8_len(const unsigned char *s, size_t avail)
{
    unsigned char c = s[0];
    size_t n;
    if ((c & 0xE0) == 0xC0 && c >= 0xC2) n = 2;
    else if ((c & 0xF0) == 0xE0) n = 3;
    else if ((c & 0xF8) == 0xF0 && c <= 0xF4) n = 4;
    else return 0;
    if (avail < n)
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    return n;
}

char *fw_escape_text(const char *s, size_t len, char *out, size_t n)
{
    if (n == 0)
        return out;
    if (!s) {
        snprintf(out, n, "?");
        return out;
    }
    const unsigned char *u = (const unsigned char *)s;
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        char piece[8];
        size_t plen;
        size_t step = 1;
        if (u[i] == '\\' || u[i] == '"') {
            /* Names are printed in double quotes: keep them unambiguous. */
            piece[0] = '\\';
            piece[1] = (char)u[i];
            plen = 2;
        } else if (u[i] < 0x20 || u[i] == 0x7F) {
            plen = (size_t)snprintf(piece, sizeof piece, "\\x%02x", u[i]);
        } else if (u[i] < 0x80) {
            piece[0] = (char)u[i];
            plen = 1;
        } else if ((step = valid_utf8_len(u + i, len - i)) > 0) {
            memcpy(piece, u + i, step);
            plen = step;
        } else {
            step = 1;
            plen = (size_t)snprintf(piece, sizeof piece, "\\x%02x", u[i]);
        }
        if (o + plen + 4 > n) {
            if (n >= 4) {
                o = o + 3 < n ? o : n - 4;
                memcpy(out + o, "...", 3);
                o += 3;
            }
            break;
        }
        memcpy(out + o, piece, plen);
        o += plen;
        i += step;
    }
    out[o < n ? o : n - 1] = '\0';
    return out;
}

char *fw_escape_cstr(const char *s, char *out, size_t n)
{
    return fw_escape_text(s, s ? strlen(s) : 0, out, n);
}
