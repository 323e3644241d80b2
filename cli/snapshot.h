/*
 * snapshot.h — what `forkwatch snapshot` reads of a process or a core: its facts, its threads
 * with their native frames, its mappings (schema forkwatch-snapshot/1, docs/DESIGN.md).
 * Strings are owned by the snapshot (fw_snapshot_free) and are data from the target: they are
 * escaped when printed.
 */
#ifndef FW_CLI_SNAPSHOT_H
#define FW_CLI_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define FW_SNAPSHOT_SCHEMA "forkwatch-snapshot/1"
#define FW_SNAP_MAX_FRAMES 256

struct fw_snap_frame {
    uint64_t pc;
    bool activation;      /* the pc is where the thread is (frame #0, a signal frame), not a return address */
    char *function;       /* NULL: no symbol covers the pc */
    uint64_t offset;      /* pc - function's start */
    char *module;         /* the mapped file's name in the target, NULL: no module */
};

struct fw_snap_thread {
    pid_t tid;
    char *name;           /* NULL when unknown */
    char state;           /* proc(5) state letter, 0 unknown */
    long syscall_nr;      /* -1 not in a system call, -2 unknown */
    struct fw_snap_frame *frames;
    size_t nframes;
    char *unwind_error;   /* libdw's reason the unwinding stopped early, NULL if it ended cleanly */
};

struct fw_snap_mapping {
    uint64_t start, end, offset;
    char perms[5];        /* "r-xp"; "" when unknown (a core's NT_FILE has none) */
    char *path;
};

struct fw_snapshot {
    bool is_core;
    pid_t pid, ppid;      /* 0 unknown */
    char *name;           /* comm / pr_fname */
    char *exe;
    char *core;           /* the core file's path, NULL live */
    long long stopped_us; /* live: first interrupt to last detach; -1 for a core */
    struct fw_snap_thread *threads;
    size_t nthreads;
    struct fw_snap_mapping *maps;
    size_t nmaps, capmaps;
};

/* Adds a thread / a mapping (zeroed but for the given fields); NULL on allocation failure. */
struct fw_snap_thread *fw_snap_add_thread(struct fw_snapshot *s, pid_t tid);
struct fw_snap_mapping *fw_snap_add_mapping(struct fw_snapshot *s, uint64_t start, uint64_t end,
                                            uint64_t offset, const char *perms, const char *path);
void fw_snapshot_free(struct fw_snapshot *s);
/* Names each frame's module by the mapping that holds its pc (the target's own path: from
 * /proc/PID/maps, or a core's NT_FILE), keeping libdwfl's name where no file mapping does. */
void fw_snap_name_modules(struct fw_snapshot *s);

/* Rendering (snapshot_render.c): one JSON object, or text for a person. False on write error. */
bool fw_snapshot_write_json(FILE *out, const struct fw_snapshot *s);
bool fw_snapshot_write_text(FILE *out, const struct fw_snapshot *s);

#endif
