/* unit_agent.h — what the agent's unit tests share: a fresh agent state, a
 * private report file and reading it back, and the fork record a simulated fork
 * needs (the tests take the snapshot and mark "the child" themselves). */
#ifndef UNIT_AGENT_H
#define UNIT_AGENT_H

#include <stdint.h>

/* A fresh registry header, the agent enabled, no stacks, no Python capture,
 * quiet, and this deadlock policy (FW_POLICY_*). */
void unit_agent_reset(uint32_t policy);

/* A unique report path under /tmp (the file does not exist yet); the same path
 * until unit_report_remove(). tag goes into the name. */
const char *unit_report_path(const char *tag);
void unit_report_remove(void);

/* The whole file (up to 64 KiB, NUL-terminated, in a static buffer) or NULL. */
char *unit_read_file(const char *path);
char *unit_read_report(void);

/* What the parent's fork wrapper records before the snapshot: fork #1 of pid
 * 100 by thread 100 (fork_id, latest slot, header pid). */
void unit_record_fork(void);

#endif
