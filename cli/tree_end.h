/*
 * tree_end.h — --grace: ending the command's whole process tree, every
 * process by its own pidfd, after saying where each one was waiting.
 */
#ifndef FW_CLI_TREE_END_H
#define FW_CLI_TREE_END_H

#include <stdbool.h>
#include <sys/types.h>

#include "json_doc.h"

/* An attach-style analysis the watchdog already made of one process. */
struct fw_known_analysis {
    pid_t pid;
    unsigned long long start_time;
    const struct json_object *analysis;
};

/* Ends every descendant of ours (SIGTERM, then SIGKILL after a bound) and
 * prints one line per process: what it was, where its threads waited, which
 * signal ended it. Processes without a known analysis are analysed first while
 * budget_s lasts. The command (cmd) is reaped: *status, *cmd_done. */
void fw_end_tree(pid_t cmd, double grace_s, const struct fw_known_analysis *known, int nknown, double budget_s,
                 int *status, bool *cmd_done);

/* "thread T "NAME" STATE at FILE:LINE (FUNCTION)" for each thread of an attach
 * analysis, joined by "; " (at most max_threads). */
void fw_describe_analysis(const struct json_object *analysis, int max_threads, char *out, size_t n);

#endif
