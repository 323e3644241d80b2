/* fw_fork.h — the work around fork(): a snapshot of other threads' locks in the
 * parent, orphan bookkeeping in the child. */
#ifndef FW_FORK_H
#define FW_FORK_H

#include <stdint.h>
#include <sys/types.h>

struct fw_thread;

/* Parent, just before the real fork: takes the fork-only mutex and raises the
 * calling thread's guard (so atfork handlers' locks pass straight through). */
void fw_fork_prepare(uint32_t via);

/* Parent, after the real fork (pid < 0: it failed). */
void fw_fork_parent(pid_t pid);

/* Child, right after the real fork. Async-signal-safe. */
void fw_fork_child(void);

/* Copies the locks other threads hold into fork_held (parent side, also used by
 * tests). Returns the number copied; sets FW_FLAG_FORK_HELD_FULL on overflow. */
uint32_t fw_fork_snapshot_held(const struct fw_thread *self);

/* Child side of fw_fork_child without getpid/gettid (tests drive it directly). */
void fw_fork_mark_child(const struct fw_thread *self, int32_t pid, int32_t tid);

#endif
