/* fw_init.c — start-up: environment, real functions, registry header. */
#include "fw_config.h"
#include "fw_log.h"
#include "fw_real.h"
#include "fw_registry.h"
#include "fw_stacks.h"
#include "fw_thread.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

static const char *env(const char *name)
{
    return secure_getenv(name);
}

/* A relative FORKWATCH_REPORT names a file in the start-up directory, even for
 * a child that changed directory before it reports. */
static void absolute_report_path(void)
{
    char *path = fw_cfg.report_path;
    if (!path[0] || path[0] == '/')
        return;
    char cwd[FW_REPORT_PATH_MAX];
    if (!getcwd(cwd, sizeof cwd))
        return;
    size_t lc = strlen(cwd), lp = strlen(path);
    if (lc + 1 + lp >= FW_REPORT_PATH_MAX)
        return;
    memmove(path + lc + 1, path, lp + 1);
    memcpy(path, cwd, lc);
    path[lc] = '/';
}

/* Another copy of the agent came first in the lookup order (LD_PRELOAD naming
 * two copies, or a program dlopen()ing the agent while one is preloaded): that
 * one receives the program's lock calls and forwards them here. Two agents
 * recording the same locks would each capture stacks while the other's guard
 * is down, re-entering libunwind from inside itself (a self-deadlock): this
 * copy stays a pure pass-through. */
static int another_agent_first(void)
{
    void *first = dlsym(RTLD_DEFAULT, FW_REGISTRY_SYMBOL);
    return first != 0 && first != (void *)&forkwatch_registry;
}

/* Any fork glibc makes with atfork handlers, including those that do not pass
 * through our wrappers (daemon(3) calls glibc's internal fork): the thread's
 * TID changed, and the inline mutex fast path stores it as the owner. */
static void atfork_child_tid(void)
{
    if (fw_tls_slot)
        fw_tls_slot->tid = (int32_t)gettid();
}

static void warn_line(const char *line)
{
    fw_warn(line);
}

/* Runs before the program's own constructors (priority 101 is the earliest
 * allowed); lock operations that come even earlier pass straight through
 * because fw_enabled is still 0. */
__attribute__((constructor(101))) static void fw_init(void)
{
    fw_tls_guard++;
    fw_registry_init_header();
    fw_real_resolve();
    int secure = getauxval(AT_SECURE) != 0;
    fw_config_parse(&fw_cfg, env, warn_line, secure);
    absolute_report_path();
    if (another_agent_first())
        fw_cfg.disabled = 1;
    struct fw_registry_header *h = &forkwatch_registry.header;
    h->pid = (int32_t)getpid();
    h->policy = (uint32_t)fw_cfg.policy;
    /* "does nothing": every call goes to glibc. FORKWATCH_INLINE=0 keeps the
     * recording but leaves the lock word to glibc (a way out should a glibc
     * update ever disagree with the copied uncontended fast paths). */
    if (fw_cfg.disabled || !fw_cfg.inline_fast_paths) {
        fw_mutex_inline_ok = fw_sem_inline_ok = fw_rwlock_inline_ok = 0;
        fw_hot_refresh();
    }
    if (fw_cfg.secure_exec)
        fw_registry_set_flag(FW_FLAG_SECURE_EXEC);
    if (!fw_cfg.disabled) {
        fw_thread_init();
        fw_stacks_init();
        pthread_atfork(0, 0, atfork_child_tid);
        fw_registry_set_flag(FW_FLAG_ENABLED);
        __atomic_store_n(&fw_enabled, 1, __ATOMIC_RELEASE);
    }
    fw_tls_guard--;
}
