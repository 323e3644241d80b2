/*
 * watchdog.h — `forkwatch run`'s wait for the command, with the hang watchdog
 * (--hang-timeout) and the fail-fast bound (--grace): DESIGN.md §2.
 */
#ifndef FW_CLI_WATCHDOG_H
#define FW_CLI_WATCHDOG_H

#include <stdbool.h>
#include <sys/types.h>

struct fw_watch_options {
    double hang_timeout_s;   /* <= 0: no hang watchdog */
    double grace_s;          /* < 0: none (wait for the command however long) */
    const char *policy;      /* --on-deadlock: abort | warn | off */
    const char *label;       /* --label or NULL */
    const char *report;      /* the JSON Lines report the agent appends to */
    off_t report_start;      /* this run's part of it starts here */
    bool verbose;            /* FORKWATCH_WATCHDOG_VERBOSE=1: say what the watchdog does */
};

/* Must be called before the command starts: descendants whose parent exits
 * are then re-parented to us (PR_SET_CHILD_SUBREAPER), so they stay in the
 * tree the watchdog walks. */
void fw_watch_prepare(const struct fw_watch_options *o);

/* Waits for pid (started with signals forwarded to it). Returns its status
 * (128+N if killed by signal N), or 86 when the grace expired and the tree was
 * ended (*tree_ended set), or 3 on a wait error. */
int fw_watch_command(pid_t pid, const struct fw_watch_options *o, bool *tree_ended);

#endif
