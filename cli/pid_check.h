/*
 * pid_check.h — can we attach to this PID? Checked before GDB starts so that
 * the user gets one precise line instead of GDB's ptrace chatter.
 */
#ifndef FW_CLI_PID_CHECK_H
#define FW_CLI_PID_CHECK_H

#include <stdbool.h>
#include <sys/types.h>

/* Parses and checks arg. On failure prints one "forkwatch: ..." line and
 * returns false. */
bool fw_check_attachable(const char *arg, pid_t *pid_out);

#endif
