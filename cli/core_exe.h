/*
 * core_exe.h — is this executable the program that dumped this core?
 * A verdict read with the wrong executable is no verdict: GDB only warns
 * ("core file may not match") and goes on with the wrong symbols.
 */
#ifndef FW_CLI_CORE_EXE_H
#define FW_CLI_CORE_EXE_H

#include <elf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What fw_check_core read of a core, for the check below. */
struct fw_core_image {
    int fd;                     /* the core, open for pread */
    const Elf64_Phdr *phs;      /* its program headers */
    size_t phnum;
    const char *nt_file;        /* raw NT_FILE descriptor, NULL if none */
    size_t nt_file_len;
    uint64_t at_phdr, at_entry, at_phnum; /* NT_AUXV; 0 if absent */
};

/* Compares exe with the evidence the core carries about its executable
 * (core_exe: its NT_FILE name, or NULL): the ELF header and GNU build-id of
 * that file as dumped in the core's memory, and the auxiliary vector's entry
 * point and program header count. Any difference: one line naming the core,
 * the executable and what differs, and false. No evidence either way: true. */
bool fw_core_exe_matches(const struct fw_core_image *img, const char *core_path, const char *core_exe,
                         const char *exe, bool exe_given);

#endif
