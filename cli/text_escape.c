/*
 * text_escape.c — terminal-safe rendering of untrusted strings. The rule is described in
 * text_escape.h; gdb/forkwatch/escape.py implements the same one, and tests/escape_table.json
 * is what both must produce (tests/unit/test_escape.c, tests/python/test_escape.py).
 */
#include "text_escape.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

size_t fw_utf8_decode(const unsigned char *s, size_t avail, uint32_t *cp)
{
    unsigned char c = s[0];
    size_t n;
    uint32_t v;
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if ((c & 0xE0) == 0xC0) { n = 2; v = c & 0x1F; }
    else if ((c & 0xF0) == 0xE0) { n = 3; v = c & 0x0F; }
    else if ((c & 0xF8) == 0xF0) { n = 4; v = c & 0x07; }
    else return 0;
    if (avail < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3F);
    }
    /* Overlong forms, surrogates and values past U+10FFFF are not UTF-8 (RFC 3629). */
    if ((n == 2 && v < 0x80) || (n == 3 && v < 0x800) || (n == 4 && v < 0x10000) ||
        (v >= 0xD800 && v <= 0xDFFF) || v > 0x10FFFF)
        return 0;
    *cp = v;
    return n;
}

/* Characters that are valid but invisible and change how a line reads: C1 controls, bidi
 * marks/embeddings/overrides/isolates, the line and paragraph separators, the BOM.
 * The same set as escape.py's _INVISIBLE. */
static bool invisible(uint32_t cp)
{
    return (cp >= 0x80 && cp < 0xA0) || cp == 0x200E || cp == 0x200F ||
           (cp >= 0x2028 && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0xFEFF;
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
        uint32_t cp = 0;
        size_t step = fw_utf8_decode(u + i, len - i, &cp);
        if (step == 0) {
            step = 1; /* not part of a valid sequence: this byte alone */
            plen = (size_t)snprintf(piece, sizeof piece, "\\x%02x", u[i]);
        } else if (cp == '\\' || cp == '"') {
            /* Names are printed in double quotes: keep them unambiguous. */
            piece[0] = '\\';
            piece[1] = (char)cp;
            plen = 2;
        } else if (cp < 0x20 || cp == 0x7F) {
            plen = (size_t)snprintf(piece, sizeof piece, "\\x%02x", (unsigned)cp);
        } else if (invisible(cp)) {
            plen = (size_t)snprintf(piece, sizeof piece, "\\u%04x", (unsigned)cp);
        } else {
            memcpy(piece, u + i, step);
            plen = step;
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
