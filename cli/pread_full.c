/* pread_full.c — read exactly len bytes at an offset, or fail (core and ELF readers). */
#include "pread_full.h"

#include <errno.h>
#include <sys/types.h>
#include <unistd.h>

bool fw_pread_full(int fd, void *buf, size_t len, uint64_t off)
{
    size_t done = 0;
    while (done < len) {
        ssize_t r = pread(fd, (char *)buf + done, len - done, (off_t)(off + done));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return false;
        done += (size_t)r;
    }
    return true;
}
