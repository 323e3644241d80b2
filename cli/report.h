/*
 * report.h — after `forkwatch run`: read the JSON Lines report the agent(s)
 * wrote, symbolise native frames, rewrite the file atomically and print the
 * summary on stderr.
 */
#ifndef FW_CLI_REPORT_H
#define FW_CLI_REPORT_H

#include <stdbool.h>
#include <sys/types.h>

struct fw_report_totals {
    int deadlocks;   /* the agent's fork deadlocks and the watchdog's hangs with a finding */
    int hazards;
    int processes;   /* distinct pids among this run's events */
    bool empty;      /* the report holds nothing at all (not a byte) */
};

/* Processes PATH. Lines that start before start_offset belong to earlier runs:
 * they are kept as they are and not counted. quiet: print the summary only
 * when something was found. Returns false (after one error line) when the
 * report could not be read or rewritten; totals are valid as far as read. */
bool fw_report_process(const char *path, off_t start_offset, bool quiet, struct fw_report_totals *totals);

struct json_object;
/* Called with each deadlock event of this run (the agent's "fork-deadlock",
 * the watchdog's "hang"), once symbolised; the event is freed afterwards. */
typedef void (*fw_report_event_fn)(const struct json_object *event, void *ctx);
/* transient: PATH is the run's own temporary report, which the caller removes
 * when it is empty: the summary then says so instead of naming it. */
bool fw_report_process_with(const char *path, off_t start_offset, bool quiet, bool transient,
                            struct fw_report_totals *totals, fw_report_event_fn on_deadlock, void *ctx);

#endif
