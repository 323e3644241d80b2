/* pread_full.h — read exactly len bytes at an offset, or fail. */
#ifndef FW_PREAD_FULL_H
#define FW_PREAD_FULL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* pread(2) until len bytes are read, retrying EINTR and short reads; false on an error or
 * end of file first (a truncated core). */
bool fw_pread_full(int fd, void *buf, size_t len, uint64_t off);

#endif
