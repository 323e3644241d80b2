/* fw_orphan.h — in a fork child: locks held at the fork by threads that the
 * child does not have. Built once by the child (async-signal-safe), looked up on
 * every lock operation while any orphan is live. */
#ifndef FW_ORPHAN_H
#define FW_ORPHAN_H

#include <stdint.h>

enum fw_acquire_mode { FW_ACQ_BLOCKING = 0, FW_ACQ_TRY = 1, FW_ACQ_TIMED = 2 };

/* Non-zero in a fork child that has live orphans or threads that vanished in the
 * fork (a lock they held may be found by its owner TID at acquire time). */
extern int fw_orphans_active __attribute__((visibility("hidden")));

/* Child side: checks every fork_held entry against its lock word, marks the live
 * ones FW_ORPHAN_LIVE, and builds the private address hash. */
struct fw_thread;
void fw_orphan_build(const struct fw_thread *self);

/* Index in fork_held[] of an orphan at addr, or -1. */
int fw_orphan_lookup(uint64_t addr);

/* An acquire of lock (of the given kind) starts in the child: reports a
 * fork-deadlock (blocking) or fork-hazard (try/timed) when lock is a live
 * orphan that is still held, and applies the policy (may _exit). */
void fw_orphan_on_acquire(const void *lock, uint32_t kind, int mode, uint64_t call_site);

/* The child released or re-initialised/destroyed an orphan: no longer a hazard. */
void fw_orphan_on_release(const void *lock);
void fw_orphan_on_reinit(const void *lock);

/* Is the lock, as its memory says now, held? (mutex lock word, rwlock
 * readers/writer, semaphore value 0). Pure memory read. */
int fw_lockword_held(uint32_t kind, const void *lock);

/* The TID a mutex or write-locked rwlock names as its owner, or 0 when the
 * lock word does not say (semaphores, readers, unlocked). */
int32_t fw_lockword_owner(uint32_t kind, const void *lock);

/* Is the rwlock write-locked (the writer bit of its lock word)? */
int fw_lockword_write_locked(const void *rwlock);

/* Is the rwlock in a read phase with readers registered (read-held)? */
int fw_lockword_read_held(const void *rwlock);

/* The same, for a lock recorded earlier whose memory may be gone: read
 * fault-safely; an unreadable lock is not held and names no owner. */
int fw_lockword_held_at(uint32_t kind, uint64_t addr);
int32_t fw_lockword_owner_at(uint32_t kind, uint64_t addr);
int fw_lockword_read_held_at(uint64_t addr);

/* At fork: can this recorded lock become an orphan in the child? Not when its
 * memory is gone (a stale record: sem_close'd, unmapped), nor for a
 * process-shared semaphore (multiprocessing's SemLock: its holder lives on in the
 * parent, releases it there, and the child sees that). */
int fw_lockword_can_be_orphan_at(uint32_t kind, uint64_t addr);

/* Is some live orphan in [lo, hi) a mutex still held (per its lock word)? */
int fw_orphan_mutex_held_in(uint64_t lo, uint64_t hi);

/* Tests: forget the hash. */
void fw_orphan_reset(void);

#endif
