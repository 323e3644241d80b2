/* fw_log.c — see fw_log.h. write(2) only: may run in a fork child. */
#include "fw_log.h"

#include "fw_buf.h"
#include "fw_config.h"
#include "fw_event.h"
#include "fw_registry.h"

#include <unistd.h>

void fw_warn(const char *msg)
{
    if (fw_cfg.quiet)
        return;
    char line[256];
    struct fw_buf b;
    fw_buf_init(&b, line, sizeof line - 1);
    fw_buf_str(&b, "forkwatch: warning: ");
    fw_buf_str(&b, msg);
    line[b.len++] = '\n';
    fw_write_all(STDERR_FILENO, line, b.len);
}

/* A full table is reported once per process tree, into the report file when
 * there is one (the program's own stderr stays as it would be without the
 * agent: CPython 3.13's concurrent.futures.wait fills a thread's held table),
 * else on stderr. */
void fw_warn_flag_once(uint32_t flag, const char *msg)
{
    if (fw_registry_set_flag(flag) && !fw_event_warning(msg))
        fw_warn(msg);
}
