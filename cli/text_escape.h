/*
 * text_escape.h — makes strings read from another process safe to print on a
 * terminal: control bytes, DEL and invalid UTF-8 become \xNN, and \ and " are
 * backslashed, so a thread name or file name cannot move the cursor, fake a
 * line of our output or end the quotes it is printed in.
 */
#ifndef FW_CLI_TEXT_ESCAPE_H
#define FW_CLI_TEXT_ESCAPE_H

#include <stddef.h>

/* Writes at most n-1 bytes plus NUL; truncates with "..." when it does not fit.
 * Returns out. A NULL s gives "?". */
char *fw_escape_text(const char *s, size_t len, char *out, size_t n);
/* Same for a NUL-terminated string. */
char *fw_escape_cstr(const char *s, char *out, size_t n);

#endif
