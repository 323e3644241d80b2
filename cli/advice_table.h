/*
 * advice_table.h — the advice a finding gives, read from the one table that the GDB side
 * reads too (gdb/forkwatch/advice.json, beside forkwatch-gdb.py: see paths.h), so that
 * `forkwatch run` and `forkwatch attach` advise the same. Rows are keyed by the finding's
 * shape and, where an API depends on it, by a CPython version range (advice.py's rules).
 */
#ifndef FW_CLI_ADVICE_TABLE_H
#define FW_CLI_ADVICE_TABLE_H

#include <stdbool.h>
#include <stddef.h>

/* The text of the first row for key that covers python_version ("3.11.7"; NULL or
 * unparsable: only rows open-ended upwards, as advice.py does). False, out empty,
 * when the table cannot be read or has no such row (the caller then says nothing). */
bool fw_advice_text(const char *key, const char *python_version, char *out, size_t n);

#endif
