/*
 * dwfl_target.h — native threads and frames of a live process or a core through elfutils'
 * libdwfl (the way eu-stack reads them), without GDB.
 */
#ifndef FW_CLI_DWFL_TARGET_H
#define FW_CLI_DWFL_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <libelf.h>

#include "snapshot.h"

struct fw_dwfl_target;

/* Live, before any thread is stopped: reports the modules of /proc/PID/maps and opens their
 * files through /proc/PID/root (the target's own files, in a container or chroot too), so the
 * stop that follows spends no time on file I/O. NULL and a reason in err on failure. */
struct fw_dwfl_target *fw_dwfl_live_open(pid_t pid, char *err, size_t n);
/* Live, with every thread ptrace-stopped by us: re-reads the modules (a library mapped since
 * fw_dwfl_live_open) and attaches libdwfl's thread access without stopping anything itself. */
bool fw_dwfl_live_attach(struct fw_dwfl_target *t, char *err, size_t n);

/* A core: modules from its notes, exe the program that dumped it (may be NULL). */
struct fw_dwfl_target *fw_dwfl_core_open(const char *core_path, const char *exe, char *err, size_t n);
/* The core's ELF handle (its notes are read by core_notes.c); NULL for a live target. */
Elf *fw_dwfl_core_elf(struct fw_dwfl_target *t);
/* Adds every thread of the core (NT_PRSTATUS order) to s and unwinds it (pcs only). */
bool fw_dwfl_core_threads(struct fw_dwfl_target *t, struct fw_snapshot *s, char *err, size_t n);

/* Unwinds one thread: its pcs only (no symbol lookup, which can wait until the threads run
 * again). A stop before the outermost frame leaves th->unwind_error. Returns false when not
 * even the first frame could be read: libdwfl must then not be asked for another thread
 * (see dwfl_target.c). */
bool fw_dwfl_unwind(struct fw_dwfl_target *t, struct fw_snap_thread *th);
/* Names each frame's function and module. */
void fw_dwfl_symbolise(struct fw_dwfl_target *t, struct fw_snap_thread *th);

void fw_dwfl_close(struct fw_dwfl_target *t);

#endif
