/*
 * signals.h — passing SIGINT/SIGTERM/SIGHUP on to the child we wait for, so
 * that `kill forkwatch` or a CI timeout reaches the program (or GDB) that
 * does the work instead of orphaning it.
 */
#ifndef FW_CLI_SIGNALS_H
#define FW_CLI_SIGNALS_H

#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>

/* Blocks the forwarded signals; call before fork() so none is lost between
 * fork() and fw_forward_signals_to(). */
void fw_block_forwarded_signals(void);
/* Undoes fw_block_forwarded_signals (a fork that is not a forwarding target). */
void fw_unblock_forwarded_signals(void);
/* In the child, before exec: default dispositions, signals unblocked. */
void fw_child_reset_signals(void);
/* In the parent: installs the forwarding handlers for pid, then unblocks.
 * as_sigterm: deliver SIGTERM whatever arrived (GDB detaches cleanly on it). */
void fw_forward_signals_to(pid_t pid, bool as_sigterm);
/* The last forwarded signal number, 0 if none. */
int fw_forwarded_signal(void);
/* Restores default handling (after the child has been reaped). */
void fw_stop_forwarding(void);

#endif
