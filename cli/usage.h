/*
 * usage.h — help texts and the usage-error path (exit status 2, DESIGN.md §2).
 */
#ifndef FW_CLI_USAGE_H
#define FW_CLI_USAGE_H

#define FW_VERSION "0.1.0"

/* Exit statuses of the forkwatch command (DESIGN.md §2). */
enum fw_exit {
    FW_EXIT_OK = 0,
    FW_EXIT_FINDING = 1,      /* attach/core: a verdict other than no-deadlock */
    FW_EXIT_USAGE = 2,
    FW_EXIT_ERROR = 3,        /* forkwatch could not do its job */
    FW_EXIT_RUN_DEADLOCK = 86,
    FW_EXIT_RUN_HAZARD = 87,
    FW_EXIT_NOT_FOUND = 127,  /* run: CMD not found, like a shell */
    FW_EXIT_NOT_EXECUTABLE = 126,
};

void fw_print_help(void);
/* Prints the help of one verb; returns 0, or 2 when the verb is unknown. */
int fw_print_verb_help(const char *verb);
/* Prints "forkwatch: MESSAGE" and the verb's usage line to stderr; returns 2. */
int fw_usage_error(const char *verb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
