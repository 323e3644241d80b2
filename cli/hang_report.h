/*
 * hang_report.h — the human side of deadlock events for CI: the watchdog's
 * one-line summary of a "hang" event, the context (test, label) of any event,
 * a multi-line report (the JUnit failure body) and the waiter's innermost
 * frame of user code (where a GitHub annotation points).
 */
#ifndef FW_CLI_HANG_REPORT_H
#define FW_CLI_HANG_REPORT_H

#include <stdio.h>

#include "json_doc.h"

/* ' in test "T"' and/or ' (label "L")', escaped; "" when the event has neither. */
void fw_event_context(const struct json_object *ev, char *out, size_t n);

/* "forkwatch: hang in test ...: pid P made no progress for S s; VERDICT: SUMMARY" per finding. */
void fw_print_hang_summary(FILE *out, const struct json_object *ev);

/* The report: summary, then each waiter's and holder's stacks, the advice. */
void fw_write_human_report(FILE *out, const struct json_object *ev);

/* The waiter of the event (the agent's "waiter", or the first finding's). */
const struct json_object *fw_event_waiter(const struct json_object *ev);

/* File and line of the waiter's innermost frame in user code: a Python frame
 * outside the standard library, else a symbolised native frame outside libc
 * and the agent. Returns the file (raw, inside ev) or NULL. */
const char *fw_user_frame(const struct json_object *ev, long long *line);

#endif
