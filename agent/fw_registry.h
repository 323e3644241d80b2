/* fw_registry.h — the one exported registry object and helpers to update its header. */
#ifndef FW_REGISTRY_H
#define FW_REGISTRY_H

#include "forkwatch_abi.h"

#define FW_AGENT_VERSION "0.1.0"
#define FW_EXPORT __attribute__((visibility("default")))

extern struct fw_registry forkwatch_registry;

/* Fills the header (magic, sizes, table descriptors). Idempotent. */
void fw_registry_init_header(void);

/* Sets a header flag; returns 1 if this call set it (so the caller warns once). */
int fw_registry_set_flag(uint32_t flag);

/* Atomically raises a table's `used` to at least n (high-water mark). */
void fw_registry_raise_used(struct fw_table_desc *desc, uint32_t n);

#endif
