/* fw_event.h — fork-deadlock / fork-hazard events: one JSON line appended to
 * FORKWATCH_REPORT and the human form on stderr. Async-signal-safe. */
#ifndef FW_EVENT_H
#define FW_EVENT_H

#include "forkwatch_abi.h"
#include "fw_buf.h"

#include <stdint.h>

enum fw_event_kind { FW_EVENT_DEADLOCK = 0, FW_EVENT_HAZARD = 1 };

/* Reports an acquire (mode: enum fw_acquire_mode) of the orphan fork_held[idx]
 * by the calling thread at call_site. */
void fw_event_report(int event, uint32_t fork_held_index, uint32_t acquired_kind, int mode,
                     uint64_t call_site);

/* A table of the agent filled up (held locks per thread, threads, stacks, ...):
 * appends {"schema":"forkwatch-event/1","event":"agent-warning","time_ns","pid",
 * "message"} to FORKWATCH_REPORT. Returns 0 when there is no usable report
 * file (the caller then warns on stderr). */
int fw_event_warning(const char *msg);

/* "forkwatch: exiting with status N (FORKWATCH_ON_DEADLOCK=abort)" unless quiet. */
void fw_event_say_exit(void);

/* Builds the JSON object (no newline) into b. Exposed for the unit tests. */
void fw_event_format_json(struct fw_buf *b, int event, uint32_t fork_held_index,
                          uint32_t acquired_kind, int mode, uint64_t call_site,
                          const struct fw_py_frame *waiter_py, uint32_t waiter_py_count,
                          uint64_t time_ns);

/* Text with control characters, invalid UTF-8, quotes and backslashes escaped. */
void fw_text_escaped(struct fw_buf *b, const char *s, size_t maxlen);

const char *fw_kind_json_name(uint32_t kind);

/* In a fork child: does /proc say this process has one thread, and has none
 * been started since the fork? */
int fw_child_is_single_threaded(void);

#endif
