/* fw_log.c — see fw_log.h. write(2) only: may run in a fork child. */
#include "fw_log.h"

#include "fw_buf.h"
#include "fw_config.h"
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

void fw_warn_flag_once(uint32_t flag, const char *msg)
{
    if (fw_registry_set_flag(flag))
        fw_warn(msg);
}
