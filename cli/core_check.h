/*
 * core_check.h — is this file a complete ELF core, and which program made it?
 * Read with plain pread(): a damaged core must give one clear line, not a
 * library error.
 */
#ifndef FW_CLI_CORE_CHECK_H
#define FW_CLI_CORE_CHECK_H

#include <stdbool.h>
#include <stddef.h>

/* Checks core_path; picks the executable (exe_opt if given, else from the
 * core's NT_FILE note) into exe_out. On failure prints one line, returns false. */
bool fw_check_core(const char *core_path, const char *exe_opt, char *exe_out, size_t n);

#endif
