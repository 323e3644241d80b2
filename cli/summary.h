/*
 * summary.h — the one-line human summary of a fork-deadlock / fork-hazard event.
 */
#ifndef FW_CLI_SUMMARY_H
#define FW_CLI_SUMMARY_H

#include <stdio.h>
#include "json_doc.h"

/* Prints "forkwatch: fork deadlock: pid P thread T "name" at WHERE waits on
 * KIND ADDR held by "NAME" (tid H), acquired at WHERE". All strings from the
 * event are escaped. */
void fw_print_event_summary(FILE *out, const struct json_object *event);

/* The advice for this event from the shared advice table (advice_table.h), chosen
 * by its lock, the fork (from C or os.fork()) and the CPython version; false and
 * out empty when the event does not tell enough (then nothing is advised). */
bool fw_event_advice(const struct json_object *event, char *out, size_t n);

#endif
