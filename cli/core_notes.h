/*
 * core_notes.h — the facts a core's notes carry (core(5), elfutils' and the kernel's
 * fs/binfmt_elf.c layout): NT_PRPSINFO (pid, ppid, name, state), NT_FILE (the mapped files),
 * NT_PRSTATUS (each thread's registers: the system call it was in).
 */
#ifndef FW_CLI_CORE_NOTES_H
#define FW_CLI_CORE_NOTES_H

#include <stdbool.h>

#include <libelf.h>

#include "snapshot.h"

/* Fills s's pid, ppid, name, mappings, and for the threads already in s the main thread's
 * name and state and every thread's system call. False with a reason when the notes are
 * unreadable. */
bool fw_core_read_notes(Elf *core, struct fw_snapshot *s, char *err, size_t n);

#endif
