/*
 * hang_analysis.h — the watchdog's diagnosis of a stuck process: exactly what
 * `forkwatch attach PID --json` does (the same GDB batch command through
 * gdb_runner), with GDB's stdout captured instead of printed. Synchronous,
 * or in a helper process so that several stuck processes are analysed at
 * once and the watchdog keeps sampling meanwhile.
 */
#ifndef FW_CLI_HANG_ANALYSIS_H
#define FW_CLI_HANG_ANALYSIS_H

#include <stdbool.h>
#include <sys/types.h>

#include "json_doc.h"

/* Returns attach's JSON object (schema forkwatch/1) or NULL when GDB gave
 * none (then *status is 3; else 0 = no deadlock, 1 = a finding). Signal
 * forwarding set up by the caller is left in place. */
struct json_object *fw_analyse_process(pid_t pid, double timeout_s, int *status);

struct fw_analysis_job {
    pid_t helper;     /* our child running GDB (its subtree is not the command's) */
    int helper_fd;    /* its pidfd */
    int out_fd;       /* memfd receiving the JSON */
    pid_t target;
};

/* Starts the analysis in a helper; false (nothing started) on failure.
 * verbose: the helper's and GDB's messages reach our stderr (else dropped:
 * a failed analysis only means no verdict, and the watchdog keeps waiting). */
bool fw_analysis_start(pid_t target, double timeout_s, bool verbose, struct fw_analysis_job *job);
/* Has the helper finished? Never blocks. */
bool fw_analysis_finished(const struct fw_analysis_job *job);
/* The JSON (or NULL); releases the job. Call once finished. */
struct json_object *fw_analysis_collect(struct fw_analysis_job *job);
/* Stops the helper (GDB detaches on SIGTERM), waits a bounded time, releases the job. */
void fw_analysis_cancel(struct fw_analysis_job *job);

#endif
