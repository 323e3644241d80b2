/* fw_registry.h — the one exported registry object and helpers to update its header. */
#ifndef FW_REGISTRY_H
#define FW_REGISTRY_H

#include "forkwatch_abi.h"

#define FW_AGENT_VERSION "0.1.0"
#define FW_EXPORT __attribute__((visibility("default")))

/* The agent's own references bind to a hidden name: with a second copy of the
 * agent loaded, the exported `forkwatch_registry` of the first would otherwise
 * interpose on the second's (both writing one table). */
extern struct fw_registry fw_registry_local __attribute__((visibility("hidden")));
#define forkwatch_registry fw_registry_local

/* Fills the header (magic, sizes, table descriptors). Idempotent. */
void fw_registry_init_header(void);

/* Sets a header flag; returns 1 if this call set it (so the caller warns once). */
int fw_registry_set_flag(uint32_t flag);

/* Atomically raises a table's `used` to at least n (high-water mark). */
void fw_registry_raise_used(struct fw_table_desc *desc, uint32_t n);

#endif
