/* fw_modules.h — the loaded objects (path, load bias, extent, build id),
 * captured in the parent at a fork so that the child can describe native
 * addresses as module+offset without calling the loader. */
#ifndef FW_MODULES_H
#define FW_MODULES_H

#include <stdint.h>

/* Parent side (takes the loader lock via dl_iterate_phdr). */
void fw_modules_capture(void);

/* Index in modules[] of the object containing addr, or -1. Memory reads only. */
int fw_module_find(uint64_t addr);

#endif
