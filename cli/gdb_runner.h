/*
 * gdb_runner.h — runs GDB in batch mode under a time bound, passes its stdout
 * through, filters its stderr, and maps its exit into ours (DESIGN.md §2).
 */
#ifndef FW_CLI_GDB_RUNNER_H
#define FW_CLI_GDB_RUNNER_H

#include <stdbool.h>
#include <sys/types.h>

struct fw_gdb_job {
    const char *batch_command;  /* e.g. "forkwatch batch attach 123 --json" */
    double timeout_s;
    bool verbose;
    pid_t attach_pid;           /* > 0 for attach: resumed with SIGCONT if GDB had to be SIGKILLed */
    int stdout_fd;              /* > 0: GDB's stdout goes there (the watchdog reads the JSON); 0: ours */
    bool keep_signals;          /* the caller forwards signals to its own child: leave the handlers */
    bool quiet_timeout;         /* no line when the bound expires (the caller says what it means) */
};

/* Returns the forkwatch exit status: GDB's 0/1/3, else 3 after one line. */
int fw_run_gdb(const struct fw_gdb_job *job);

#endif
