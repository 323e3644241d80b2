/*
 * symbolise.h — native frame symbolisation with libdw (elfutils), done in the
 * `forkwatch run` process, never in the traced one. A frame is a module path
 * and an offset (address minus the module's load bias, i.e. an address in the
 * ELF file's own virtual address space), as the agent records them.
 */
#ifndef FW_CLI_SYMBOLISE_H
#define FW_CLI_SYMBOLISE_H

#include <stdbool.h>
#include <stdint.h>

struct fw_symboliser;

struct fw_symbol {
    char function[256];   /* "" when unknown */
    char file[4096];      /* "" when unknown (PATH_MAX) */
    int line;             /* 0 when unknown */
};

struct fw_symboliser *fw_symboliser_new(void);
void fw_symboliser_free(struct fw_symboliser *s);

/* offset: a return address (the lookup uses offset-1, the call instruction).
 * build_id_hex: NULL or the recorded build id; a module whose build id differs
 * is not used (it changed since the run; one warning per module).
 * Returns false when nothing at all was found. */
bool fw_symbolise(struct fw_symboliser *s, const char *module, uint64_t offset, const char *build_id_hex,
                  struct fw_symbol *out);

#endif
