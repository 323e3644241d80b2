/* fw_saferead.h — reads this process's memory at an address that may no longer
 * be mapped (a lock recorded earlier and since unmapped: a named semaphore after
 * sem_close, a freed arena). Used at fork and in the fork child; async-signal-safe. */
#ifndef FW_SAFEREAD_H
#define FW_SAFEREAD_H

#include <stddef.h>
#include <stdint.h>

/* Copies n bytes at addr into out: 1 on success, 0 when they cannot be read
 * (unmapped, no read permission, addr below the first page). errno is kept. */
int fw_safe_read(uint64_t addr, void *out, size_t n);

#endif
