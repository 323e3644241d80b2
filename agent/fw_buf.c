/* fw_buf.c — see fw_buf.h. Used by the child-side report, so only write(2). */
#include "fw_buf.h"

#include <errno.h>
#include <unistd.h>

void fw_buf_init(struct fw_buf *b, char *data, size_t cap)
{
    b->data = data;
    b->cap = cap;
    b->len = 0;
    b->overflow = 0;
}

size_t fw_buf_room(const struct fw_buf *b)
{
    return b->cap - b->len;
}

void fw_buf_bytes(struct fw_buf *b, const char *s, size_t n)
{
    if (n > b->cap - b->len) {
        n = b->cap - b->len;
        b->overflow = 1;
    }
    for (size_t i = 0; i < n; i++)
        b->data[b->len + i] = s[i];
    b->len += n;
}

void fw_buf_str(struct fw_buf *b, const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    fw_buf_bytes(b, s, n);
}

void fw_buf_char(struct fw_buf *b, char c)
{
    fw_buf_bytes(b, &c, 1);
}

void fw_buf_u64(struct fw_buf *b, uint64_t v)
{
    char tmp[24];
    size_t i = sizeof tmp;
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    fw_buf_bytes(b, tmp + i, sizeof tmp - i);
}

void fw_buf_i64(struct fw_buf *b, int64_t v)
{
    if (v < 0) {
        fw_buf_char(b, '-');
        fw_buf_u64(b, (uint64_t)0 - (uint64_t)v);
    } else {
        fw_buf_u64(b, (uint64_t)v);
    }
}

void fw_buf_hex(struct fw_buf *b, uint64_t v)
{
    static const char digits[] = "0123456789abcdef";
    char tmp[18];
    size_t i = sizeof tmp;
    do {
        tmp[--i] = digits[v & 0xf];
        v >>= 4;
    } while (v);
    tmp[--i] = 'x';
    tmp[--i] = '0';
    fw_buf_bytes(b, tmp + i, sizeof tmp - i);
}

void fw_write_all(int fd, const char *buf, size_t len)
{
    int saved = errno;   /* the program must not see our errno */
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        buf += n;
        len -= (size_t)n;
    }
    errno = saved;
}

void fw_copy_str(char *dst, size_t cap, const char *src)
{
    size_t i = 0;
    if (src)
        for (; i + 1 < cap && src[i]; i++)
            dst[i] = src[i];
    dst[i] = '\0';
}
