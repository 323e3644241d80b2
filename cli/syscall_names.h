/*
 * syscall_names.h — the name of a system call number on this architecture, for the calls a
 * thread of a hung process sleeps in (and a few others).
 */
#ifndef FW_CLI_SYSCALL_NAMES_H
#define FW_CLI_SYSCALL_NAMES_H

/* "futex", "read", ... or NULL when the number is not in the table. (proc_tree.h's
 * fw_syscall_name() knows only the waiting calls: its answer means "waiting".) */
const char *fw_syscall_name_any(long nr);

#endif
