/*
 * text_escape.h — makes strings read from another process safe to print on a
 * terminal, and holds forkwatch's one UTF-8 rule.
 *
 * The escaping rule is shared with the GDB side (gdb/forkwatch/escape.py, term()) and both are
 * checked against one table, tests/escape_table.json, so a name prints the same from
 * `forkwatch run` and from `forkwatch attach`:
 *   - UTF-8 is decoded strictly: no overlong forms, no surrogates (U+D800–DFFF), nothing past
 *     U+10FFFF, no cut sequences. Each byte that is not part of a valid sequence becomes \xNN;
 *   - \ and " are backslashed (names are printed inside double quotes);
 *   - C0 controls and DEL become \xNN (the byte and the code point are the same);
 *   - C1 controls (U+0080–009F) and the invisible characters that reorder or split a line —
 *     bidi marks, embeddings, overrides and isolates, U+2028/2029, the BOM — become \uNNNN, so
 *     a file name cannot make a line of our output read differently from what it contains;
 *   - everything else is printed as it is.
 * Why strict: a lenient decoder passes a surrogate or an overlong "/" to a terminal or a JSON
 * consumer that then reads something else than we checked.
 */
#ifndef FW_CLI_TEXT_ESCAPE_H
#define FW_CLI_TEXT_ESCAPE_H

#include <stddef.h>
#include <stdint.h>

/* The one UTF-8 decoder of the command (the escaper and the JSON writer use it): the length
 * (1–4) of the strictly valid sequence at s, storing its code point in *cp, or 0 when s[0]
 * does not start one within avail bytes. avail must be at least 1. */
size_t fw_utf8_decode(const unsigned char *s, size_t avail, uint32_t *cp);

/* Writes at most n-1 bytes plus NUL; truncates with "..." when it does not fit.
 * Returns out. A NULL s gives "?". */
char *fw_escape_text(const char *s, size_t len, char *out, size_t n);
/* Same for a NUL-terminated string. */
char *fw_escape_cstr(const char *s, char *out, size_t n);

#endif
