/* fw_config.h — the FORKWATCH_* environment, read once at start-up. */
#ifndef FW_CONFIG_H
#define FW_CONFIG_H

#include <stddef.h>

#define FW_REPORT_PATH_MAX 4096

struct fw_config {
    int disabled;            /* FORKWATCH_DISABLE=1 or secure-exec */
    int secure_exec;
    int policy;              /* enum fw_policy */
    int exit_status;         /* 1..255 */
    int quiet;
    int stacks;
    int python;
    int inline_fast_paths;   /* FORKWATCH_INLINE=0: always call glibc for the lock itself */
    char report_path[FW_REPORT_PATH_MAX];   /* "" = no report file */
};

/* Looks up one variable; NULL when unset. */
typedef const char *(*fw_getenv_fn)(const char *name);
/* Receives one warning line (without "forkwatch: " prefix and newline). */
typedef void (*fw_warn_fn)(const char *line);

/* Fills cfg from the environment. Bad values keep the default and produce one
 * warning each. secure_exec: the process runs with AT_SECURE. */
void fw_config_parse(struct fw_config *cfg, fw_getenv_fn get, fw_warn_fn warn, int secure_exec);

extern struct fw_config fw_cfg __attribute__((visibility("hidden")));

#endif
