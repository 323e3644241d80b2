/*
 * pidfd_util.h — signalling a process by its own identity: a pidfd opened and
 * then checked against the start time we saw in /proc, so that a PID reused
 * since can never receive our signal (pidfd_open(2), pidfd_send_signal(2)).
 */
#ifndef FW_CLI_PIDFD_UTIL_H
#define FW_CLI_PIDFD_UTIL_H

#include <stdbool.h>

#include "proc_tree.h"

/* A pidfd for exactly that process, or -1 (gone, or the PID was reused). */
int fw_pidfd_open_checked(const struct fw_proc_id *id);
bool fw_pidfd_signal(int pidfd, int sig);
/* Waits until the process has ended (a zombie counts) for at most ms; true if it did. */
bool fw_pidfd_wait_gone(int pidfd, int ms);
/* Reaps every child of ours that has ended; records the status of `watched`
 * in *status (as a shell does: 128+N for signal N) and sets *watched_done. */
void fw_reap_children(pid_t watched, int *status, bool *watched_done);
/* SIGTERM, up to term_ms for it to end, then SIGKILL. Returns the signal that ended it (0: it was gone). */
int fw_terminate(int pidfd, int term_ms, pid_t watched, int *status, bool *watched_done);

#endif
