/*
 * paths.h — where forkwatch finds its parts: the agent library and the GDB
 * package sit next to the binary in the build tree, or under PREFIX when
 * installed (DESIGN.md §2).
 */
#ifndef FW_CLI_PATHS_H
#define FW_CLI_PATHS_H

#include <stddef.h>
#include <stdbool.h>

/* Directory of the running binary (from /proc/self/exe). */
bool fw_self_dir(char *out, size_t n);
/* Absolute path of libforkwatch.so; on failure out holds the places looked at. */
bool fw_find_agent(char *out, size_t n);
/* Directory holding forkwatch-gdb.py; on failure out holds the places looked at. */
bool fw_find_gdb_dir(char *out, size_t n);
/* First executable NAME on $PATH (NAME with a '/' is taken as is). */
bool fw_find_in_path(const char *name, char *out, size_t n);
/* Makes path absolute against the current directory (no symlink resolution). */
bool fw_absolute(const char *path, char *out, size_t n);

#endif
