/* fw_json.h — bounded JSON string encoding on top of fw_buf. Async-signal-safe. */
#ifndef FW_JSON_H
#define FW_JSON_H

#include "fw_buf.h"

/* Writes s (at most maxlen bytes, stopping at NUL) as a JSON string literal, or
 * `null` when s is NULL. Quotes, backslash, control characters and DEL become
 * escapes (\u00XX), and so does every byte that is not part of valid UTF-8 — the
 * output is always valid JSON and valid UTF-8. If the buffer runs short the
 * string is cut at a character boundary and still closed (overflow is set). */
void fw_json_string(struct fw_buf *b, const char *s, size_t maxlen);

/* `"key":` */
void fw_json_key(struct fw_buf *b, const char *key);

/* Length in bytes of the valid UTF-8 sequence starting at s (n bytes available),
 * or 0 if the byte at s does not start one. */
size_t fw_utf8_seq_len(const unsigned char *s, size_t n);

#endif
