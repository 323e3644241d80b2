/*
 * fork_unsafe.h — names the fork-unsafe runtime (fork_unsafe_runtimes.h) a
 * deadlock event's stacks run in, with its fix and source.
 */
#ifndef FW_CLI_FORK_UNSAFE_H
#define FW_CLI_FORK_UNSAFE_H

#include <stdio.h>

#include "json_doc.h"

struct fw_runtime {
    const char *name, *modules, *functions, *advice, *source;
};

/* The first runtime whose module or function appears in a frame of ev, or NULL. */
const struct fw_runtime *fw_find_runtime(const struct json_object *ev);
/* Sets ev's "runtime" object ({"name","advice","source"}) when one is found. */
const struct fw_runtime *fw_mark_runtime(struct json_object *ev);
/* "forkwatch:   in NAME, which is not fork-safe: ADVICE (source: ...)" */
void fw_print_runtime(FILE *out, const struct fw_runtime *r);

#endif
