/* fw_buf.h — a bounded text buffer with integer formatting. Async-signal-safe:
 * no allocation, no locale, no stdio. Overflow truncates and is remembered. */
#ifndef FW_BUF_H
#define FW_BUF_H

#include <stddef.h>
#include <stdint.h>

struct fw_buf {
    char *data;
    size_t cap;      /* bytes available in data */
    size_t len;      /* bytes used */
    int overflow;    /* something did not fit */
};

void fw_buf_init(struct fw_buf *b, char *data, size_t cap);
void fw_buf_bytes(struct fw_buf *b, const char *s, size_t n);
void fw_buf_str(struct fw_buf *b, const char *s);
void fw_buf_char(struct fw_buf *b, char c);
void fw_buf_u64(struct fw_buf *b, uint64_t v);
void fw_buf_i64(struct fw_buf *b, int64_t v);
void fw_buf_hex(struct fw_buf *b, uint64_t v);   /* "0x1f" */
size_t fw_buf_room(const struct fw_buf *b);

/* Writes all of buf to fd with write(2), retrying on EINTR/short writes. */
void fw_write_all(int fd, const char *buf, size_t len);

/* Bounded string copy that always NUL-terminates (cap > 0). */
void fw_copy_str(char *dst, size_t cap, const char *src);

#endif
