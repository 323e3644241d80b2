/*
 * proc_environ.h — reads one variable of another process's current
 * environment (not just the exec-time block of /proc/PID/environ).
 */
#ifndef FW_CLI_PROC_ENVIRON_H
#define FW_CLI_PROC_ENVIRON_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Copies NAME's value (NUL-terminated, raw bytes: escape to print) into out;
 * false when unset or unreadable. 64-bit processes only. */
bool fw_proc_getenv(pid_t pid, const char *name, char *out, size_t n);

#endif
