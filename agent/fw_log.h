/* fw_log.h — the agent's own lines on stderr ("forkwatch: ..."). */
#ifndef FW_LOG_H
#define FW_LOG_H

#include <stdint.h>

/* One line "forkwatch: warning: <msg>\n" on stderr unless FORKWATCH_QUIET=1. */
void fw_warn(const char *msg);

/* Sets a registry flag and warns only the first time it is set. */
void fw_warn_flag_once(uint32_t flag, const char *msg);

#endif
