/*
 * core_check.c — ELF core validation: header, type, truncation, notes
 * (NT_FILE for the executable, NT_AUXV for AT_PHDR, NT_PRPSINFO for the name).
 */
#include "pread_full.h"
#include "core_check.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core_exe.h"
#include "text_escape.h"

/* Notes of a core are small (NT_FILE grows with the mappings); more than this
 * is not a core we can trust. */
#define MAX_NOTE_BYTES (64u << 20)
/* elf_prpsinfo up to the end of pr_psargs (x86-64, aarch64). */
#define PRPSINFO_MIN_LEN (56 + 80)

struct core_facts {
    char *nt_file;          /* raw NT_FILE descriptor */
    size_t nt_file_len;
    uint64_t at_phdr, at_entry, at_phnum; /* from NT_AUXV, 0 if none */
    char fname[17];         /* NT_PRPSINFO pr_fname */
    char psargs[81];        /* NT_PRPSINFO pr_psargs */
};

static const char *type_name(uint16_t t)
{
    switch (t) {
    case ET_REL: return "a relocatable object";
    case ET_EXEC: return "an executable";
    case ET_DYN: return "a shared object or PIE executable";
    default: return "an ELF file of unknown type";
    }
}

static void parse_note(struct core_facts *cf, uint32_t type, const char *desc, size_t len)
{
    if (type == NT_FILE && !cf->nt_file) {
        cf->nt_file = malloc(len + 1);
        if (cf->nt_file) {
            memcpy(cf->nt_file, desc, len);
            cf->nt_file[len] = '\0';
            cf->nt_file_len = len;
        }
    } else if (type == NT_AUXV) {
        for (size_t i = 0; i + 16 <= len; i += 16) {
            uint64_t key, val;
            memcpy(&key, desc + i, 8);
            memcpy(&val, desc + i + 8, 8);
            if (key == AT_PHDR)
                cf->at_phdr = val;
            else if (key == AT_ENTRY)
                cf->at_entry = val;
            else if (key == AT_PHNUM)
                cf->at_phnum = val;
        }
    } else if (type == NT_PRPSINFO && len >= PRPSINFO_MIN_LEN) {
        /* x86-64/aarch64 elf_prpsinfo: pr_fname at 40, pr_psargs at 56. */
        memcpy(cf->fname, desc + 40, 16);
        cf->fname[16] = '\0';
        memcpy(cf->psargs, desc + 56, 80);
        cf->psargs[80] = '\0';
    }
}

static void read_notes(int fd, const Elf64_Phdr *ph, struct core_facts *cf)
{
    if (ph->p_filesz == 0 || ph->p_filesz > MAX_NOTE_BYTES)
        return;
    char *buf = malloc(ph->p_filesz);
    if (!buf || !fw_pread_full(fd, buf, ph->p_filesz, ph->p_offset)) {
        free(buf);
        return;
    }
    size_t pos = 0, len = ph->p_filesz;
    while (pos + sizeof(Elf64_Nhdr) <= len) {
        Elf64_Nhdr nh;
        memcpy(&nh, buf + pos, sizeof nh);
        pos += sizeof nh;
        size_t name_len = ((size_t)nh.n_namesz + 3) & ~(size_t)3;
        size_t desc_len = ((size_t)nh.n_descsz + 3) & ~(size_t)3;
        if (name_len > len - pos || desc_len > len - pos - name_len)
            break;
        if (nh.n_namesz == 5 && memcmp(buf + pos, "CORE", 5) == 0)
            parse_note(cf, nh.n_type, buf + pos + name_len, nh.n_descsz);
        pos += name_len + desc_len;
    }
    free(buf);
}

/* NT_FILE: count, page_size, count * {start, end, file_ofs}, count names.
 * The executable is the file mapped at AT_PHDR, else the first one listed. */
static bool exe_from_nt_file(const struct core_facts *cf, char *out, size_t n)
{
    if (!cf->nt_file || cf->nt_file_len < 16)
        return false;
    uint64_t count;
    memcpy(&count, cf->nt_file, 8);
    if (count == 0 || count > (cf->nt_file_len - 16) / 24)
        return false;
    const char *names = cf->nt_file + 16 + count * 24;
    const char *end = cf->nt_file + cf->nt_file_len;
    const char *first = NULL, *chosen = NULL;
    for (uint64_t i = 0; i < count && names < end; i++) {
        uint64_t start, stop;
        memcpy(&start, cf->nt_file + 16 + i * 24, 8);
        memcpy(&stop, cf->nt_file + 16 + i * 24 + 8, 8);
        if (!first)
            first = names;
        if (!chosen && cf->at_phdr && cf->at_phdr >= start && cf->at_phdr < stop)
            chosen = names;
        names += strnlen(names, (size_t)(end - names)) + 1;
    }
    if (!chosen)
        chosen = first;
    if (!chosen || (size_t)snprintf(out, n, "%.*s", (int)strnlen(chosen, (size_t)(end - chosen)), chosen) >= n)
        return false;
    return true;
}

static const char *base_of(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

/* pr_fname is the kernel's comm: the first 15 bytes of the exec'd name, which
 * may be a symlink (python3 -> python3.11) or a renamed main thread. Warn
 * only when neither it nor argv[0] matches the mapped executable. */
static void compare_with_prpsinfo(const struct core_facts *cf, const char *exe)
{
    if (!cf->fname[0])
        return;
    const char *base = base_of(exe);
    if (strncmp(base, cf->fname, strlen(cf->fname)) == 0)
        return;
    char argv0[81];
    snprintf(argv0, sizeof argv0, "%s", cf->psargs);
    argv0[strcspn(argv0, " ")] = '\0';
    char a[PATH_MAX], b[PATH_MAX];
    if (argv0[0] && (strcmp(base_of(argv0), base) == 0 ||
                     (realpath(argv0, a) && realpath(exe, b) && strcmp(a, b) == 0)))
        return;
    char e1[64], e2[PATH_MAX];
    fprintf(stderr, "forkwatch: warning: the core names the command \"%s\" but maps %s; pass --exe if that is "
                    "not the program\n", fw_escape_cstr(cf->fname, e1, sizeof e1), fw_escape_cstr(exe, e2, sizeof e2));
}

/* GDB gets the paths inside one -ex command line: a newline there ends the
 * command, so paths with control characters are refused with one line. */
static bool has_control_char(const char *p)
{
    for (; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return true;
    return false;
}

static bool check_exe(const char *exe, bool from_core)
{
    char esc[PATH_MAX];
    struct stat st;
    fw_escape_cstr(exe, esc, sizeof esc);
    if (has_control_char(exe)) {
        fprintf(stderr, "forkwatch: the executable's path %s has a control character GDB cannot be given; "
                        "pass --exe with a path (a symlink) without one\n", esc);
        return false;
    }
    if (stat(exe, &st) != 0) {
        size_t l = strlen(exe);
        if (from_core && l > 10 && strcmp(exe + l - 10, " (deleted)") == 0)
            fprintf(stderr, "forkwatch: the core's executable %s was deleted; pass --exe PATH\n", esc);
        else if (from_core)
            fprintf(stderr, "forkwatch: the core's executable %s does not exist here; pass --exe PATH\n", esc);
        else
            fprintf(stderr, "forkwatch: executable %s: %s\n", esc, strerror(errno));
        return false;
    }
    if (!S_ISREG(st.st_mode)) {
        fprintf(stderr, "forkwatch: executable %s is not a regular file\n", esc);
        return false;
    }
    return true;
}

/* Header, type, program headers and size. */
static bool check_layout(int fd, const char *esc, uint64_t size, Elf64_Ehdr *eh, Elf64_Phdr **phs, size_t *phnum)
{
    unsigned char ident[EI_NIDENT];
    if (size < EI_NIDENT || !fw_pread_full(fd, ident, EI_NIDENT, 0) || memcmp(ident, ELFMAG, SELFMAG) != 0) {
        fprintf(stderr, "forkwatch: %s is not a core file (not an ELF file)\n", esc);
        return false;
    }
    if (ident[EI_CLASS] != ELFCLASS64 || ident[EI_DATA] != ELFDATA2LSB) {
        fprintf(stderr, "forkwatch: %s is not a 64-bit little-endian ELF file; only those cores are supported\n",
                esc);
        return false;
    }
    if (size < sizeof *eh || !fw_pread_full(fd, eh, sizeof *eh, 0)) {
        fprintf(stderr, "forkwatch: %s is truncated: %llu bytes missing from its ELF header\n", esc,
                (unsigned long long)(sizeof *eh - size));
        return false;
    }
    if (eh->e_type != ET_CORE) {
        fprintf(stderr, "forkwatch: %s is %s, not a core file\n", esc, type_name(eh->e_type));
        return false;
    }
    uint64_t expected = sizeof *eh;
    size_t count = eh->e_phnum;
    if (eh->e_shoff && eh->e_shnum)
        expected = eh->e_shoff + (uint64_t)eh->e_shnum * eh->e_shentsize;
    if (count == PN_XNUM && eh->e_shoff) {
        /* More than 65534 segments: the real count is in section 0's sh_info. */
        Elf64_Shdr sh0;
        if (eh->e_shoff + sizeof sh0 > size || !fw_pread_full(fd, &sh0, sizeof sh0, eh->e_shoff)) {
            fprintf(stderr, "forkwatch: %s is truncated: %llu bytes missing (section headers)\n", esc,
                    (unsigned long long)(expected > size ? expected - size : sizeof sh0));
            return false;
        }
        count = sh0.sh_info;
    }
    if (eh->e_phentsize != sizeof(Elf64_Phdr) || count == 0) {
        fprintf(stderr, "forkwatch: %s is a damaged core (no usable program headers)\n", esc);
        return false;
    }
    uint64_t ph_end = eh->e_phoff + (uint64_t)count * sizeof(Elf64_Phdr);
    if (ph_end > size) {
        fprintf(stderr, "forkwatch: %s is truncated: %llu bytes missing (program headers)\n", esc,
                (unsigned long long)(ph_end - size));
        return false;
    }
    *phs = calloc(count, sizeof **phs);
    if (!*phs || !fw_pread_full(fd, *phs, count * sizeof **phs, eh->e_phoff)) {
        fprintf(stderr, "forkwatch: cannot read %s's program headers\n", esc);
        return false;
    }
    *phnum = count;
    if (ph_end > expected)
        expected = ph_end;
    for (size_t i = 0; i < count; i++) {
        uint64_t end = (*phs)[i].p_offset + (*phs)[i].p_filesz;
        if (end > expected)
            expected = end;
    }
    if (expected > size) {
        fprintf(stderr, "forkwatch: %s is truncated: %llu bytes missing (the file has %llu of %llu bytes)\n", esc,
                (unsigned long long)(expected - size), (unsigned long long)size, (unsigned long long)expected);
        return false;
    }
    return true;
}

bool fw_check_core(const char *core_path, const char *exe_opt, char *exe_out, size_t n)
{
    char esc[PATH_MAX];
    fw_escape_cstr(core_path, esc, sizeof esc);
    if (has_control_char(core_path)) {
        fprintf(stderr, "forkwatch: core file path %s has a control character GDB cannot be given; use a path "
                        "(a symlink) without one\n", esc);
        return false;
    }
    /* O_NONBLOCK: a FIFO given as the core must not block the open (it is refused below) */
    int fd = open(core_path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        fprintf(stderr, "forkwatch: core file %s: %s\n", esc, strerror(errno));
        if (fd >= 0)
            close(fd);
        return false;
    }
    if (!S_ISREG(st.st_mode)) {
        fprintf(stderr, "forkwatch: core file %s is not a regular file\n", esc);
        close(fd);
        return false;
    }
    Elf64_Ehdr eh;
    Elf64_Phdr *phs = NULL;
    size_t phnum = 0;
    struct core_facts cf = {0};
    bool ok = check_layout(fd, esc, (uint64_t)st.st_size, &eh, &phs, &phnum);
    for (size_t i = 0; ok && i < phnum; i++)
        if (phs[i].p_type == PT_NOTE)
            read_notes(fd, &phs[i], &cf);
    /* The executable the core names (the file mapped at AT_PHDR), if it does. */
    char named[PATH_MAX];
    bool have_named = ok && exe_from_nt_file(&cf, named, sizeof named);
    if (ok && exe_opt) {
        ok = check_exe(exe_opt, false) && (size_t)snprintf(exe_out, n, "%s", exe_opt) < n;
    } else if (ok) {
        if (!have_named || (size_t)snprintf(exe_out, n, "%s", named) >= n) {
            fprintf(stderr, "forkwatch: cannot tell from %s which program made it (no NT_FILE note); "
                            "pass --exe PATH\n", esc);
            ok = false;
        } else {
            ok = check_exe(exe_out, true);
        }
    }
    /* Whichever way it was found, the executable must be the core's: GDB would
     * read the core with the wrong symbols and find nothing, a false all-clear. */
    if (ok) {
        struct fw_core_image img = {.fd = fd, .phs = phs, .phnum = phnum, .nt_file = cf.nt_file,
                                    .nt_file_len = cf.nt_file_len, .at_phdr = cf.at_phdr,
                                    .at_entry = cf.at_entry, .at_phnum = cf.at_phnum};
        ok = fw_core_exe_matches(&img, core_path, have_named ? named : NULL, exe_out, exe_opt != NULL);
    }
    if (ok && !exe_opt)
        compare_with_prpsinfo(&cf, exe_out);
    close(fd);
    free(phs);
    free(cf.nt_file);
    return ok;
}
