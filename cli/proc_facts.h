/*
 * proc_facts.h — what /proc says about a live process for a snapshot: its name, parent,
 * executable, mappings, and each thread's name.
 */
#ifndef FW_CLI_PROC_FACTS_H
#define FW_CLI_PROC_FACTS_H

#include <stdbool.h>
#include <sys/types.h>

#include "snapshot.h"

/* /proc/PID/maps into s->maps; false if it could not be read (the process is gone). */
bool fw_proc_read_maps(pid_t pid, struct fw_snapshot *s);
/* name (comm), ppid (stat field 4) and exe (the /proc/PID/exe link); each left unset when
 * unreadable. */
void fw_proc_read_facts(pid_t pid, struct fw_snapshot *s);
/* /proc/PID/task/TID/comm, or NULL. */
char *fw_proc_thread_name(pid_t pid, pid_t tid);

#endif
