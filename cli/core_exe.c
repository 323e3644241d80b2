/*
 * core_exe.c — does the executable given for a core match the program that
 * dumped it? Three pieces of evidence the core carries, each compared with
 * the file:
 *   - the file's first page as mapped in the process: the kernel dumps it
 *     (coredump_filter bit 4, "ELF headers", on by default) and so does
 *     gcore (GDB's linux-tdep.c dump_note_entry_p/COREFILTER_ELF_HEADERS);
 *     it holds the ELF header and, in practice, the GNU build-id note;
 *   - the auxiliary vector (NT_AUXV, always written): AT_ENTRY - AT_PHDR is
 *     e_entry minus the program headers' address, whatever the load bias,
 *     and AT_PHNUM is e_phnum (fs/binfmt_elf.c create_elf_tables()).
 * GDB's own test (bfd elf_core_file_matches_executable_p) falls back on the
 * command name, which a symlink (python3 -> python3.11) or a renamed thread
 * changes: we do not use names.
 */
#include "pread_full.h"
#include "core_exe.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "text_escape.h"

#define MAX_PHNUM 4096
#define MAX_NOTE_SEGMENT (64u << 10)
#define MAX_BUILD_ID 64

/* What an ELF file says of itself, read through one of the two readers below. */
struct elf_view {
    bool have_ehdr;
    Elf64_Ehdr eh;
    bool have_phdr_vaddr;
    uint64_t phdr_vaddr;       /* where the program headers are, before the load bias */
    unsigned char build_id[MAX_BUILD_ID];
    size_t build_id_len;       /* 0: none found */
};

typedef bool (*read_fn)(const void *src, uint64_t file_off, void *buf, size_t len);

static bool read_exe_file(const void *src, uint64_t off, void *buf, size_t len)
{
    return fw_pread_full(*(const int *)src, buf, len, off);
}

/* The core's copy of a file: the NT_FILE mapping of that name covering the
 * file range, then the PT_LOAD segment holding those addresses (dumped, i.e.
 * within p_filesz). */
struct core_file_src {
    const struct fw_core_image *img;
    const char *name;
};

static bool read_core_copy(const void *src, uint64_t off, void *buf, size_t len)
{
    const struct core_file_src *s = src;
    const struct fw_core_image *img = s->img;
    if (!img->nt_file || img->nt_file_len < 16 || len == 0)
        return false;
    uint64_t count, page;
    memcpy(&count, img->nt_file, 8);
    memcpy(&page, img->nt_file + 8, 8);
    if (count == 0 || count > (img->nt_file_len - 16) / 24 || page == 0 || page > (1u << 30))
        return false;
    const char *names = img->nt_file + 16 + count * 24;
    const char *end = img->nt_file + img->nt_file_len;
    for (uint64_t i = 0; i < count && names < end; i++) {
        size_t nlen = strnlen(names, (size_t)(end - names));
        const char *name = names;
        names += nlen + 1;
        if (strlen(s->name) != nlen || memcmp(name, s->name, nlen) != 0)
            continue;
        uint64_t start, stop, pgoff;
        memcpy(&start, img->nt_file + 16 + i * 24, 8);
        memcpy(&stop, img->nt_file + 16 + i * 24 + 8, 8);
        memcpy(&pgoff, img->nt_file + 16 + i * 24 + 16, 8);
        if (stop <= start || pgoff > UINT64_MAX / page)
            continue;
        uint64_t foff = pgoff * page;
        if (off < foff || off - foff > stop - start || len > stop - start - (off - foff))
            continue;
        uint64_t vaddr = start + (off - foff);
        for (size_t k = 0; k < img->phnum; k++) {
            const Elf64_Phdr *ph = &img->phs[k];
            if (ph->p_type == PT_LOAD && vaddr >= ph->p_vaddr && vaddr - ph->p_vaddr <= ph->p_filesz &&
                len <= ph->p_filesz - (vaddr - ph->p_vaddr))
                return fw_pread_full(img->fd, buf, len, ph->p_offset + (vaddr - ph->p_vaddr));
        }
    }
    return false;
}

static void find_build_id(const unsigned char *notes, size_t len, size_t align, struct elf_view *v)
{
    size_t pos = 0;
    while (pos + sizeof(Elf64_Nhdr) <= len) {
        Elf64_Nhdr nh;
        memcpy(&nh, notes + pos, sizeof nh);
        pos += sizeof nh;
        size_t name_len = ((size_t)nh.n_namesz + align - 1) & ~(align - 1);
        size_t desc_len = ((size_t)nh.n_descsz + align - 1) & ~(align - 1);
        if (name_len > len - pos || desc_len > len - pos - name_len)
            return;
        if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 && memcmp(notes + pos, "GNU", 4) == 0 &&
            nh.n_descsz > 0 && nh.n_descsz <= MAX_BUILD_ID) {
            memcpy(v->build_id, notes + pos + name_len, nh.n_descsz);
            v->build_id_len = nh.n_descsz;
            return;
        }
        pos += name_len + desc_len;
    }
}

/* Reads the header, the program headers (for phdr_vaddr) and the build-id;
 * what cannot be read is left unset. */
static void load_view(read_fn rd, const void *src, struct elf_view *v)
{
    memset(v, 0, sizeof *v);
    if (!rd(src, 0, &v->eh, sizeof v->eh) || memcmp(v->eh.e_ident, ELFMAG, SELFMAG) != 0 ||
        v->eh.e_ident[EI_CLASS] != ELFCLASS64)
        return;
    v->have_ehdr = true;
    size_t n = v->eh.e_phnum;
    if (v->eh.e_phentsize != sizeof(Elf64_Phdr) || n == 0 || n > MAX_PHNUM)
        return;
    Elf64_Phdr *phs = calloc(n, sizeof *phs);
    if (!phs || !rd(src, v->eh.e_phoff, phs, n * sizeof *phs)) {
        free(phs);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const Elf64_Phdr *p = &phs[i];
        if (p->p_type == PT_LOAD && !v->have_phdr_vaddr && v->eh.e_phoff >= p->p_offset &&
            v->eh.e_phoff - p->p_offset < p->p_filesz) {
            v->phdr_vaddr = p->p_vaddr + (v->eh.e_phoff - p->p_offset);
            v->have_phdr_vaddr = true;
        }
        if (p->p_type == PT_NOTE && !v->build_id_len && p->p_filesz >= sizeof(Elf64_Nhdr) &&
            p->p_filesz <= MAX_NOTE_SEGMENT) {
            unsigned char *buf = malloc(p->p_filesz);
            if (buf && rd(src, p->p_offset, buf, p->p_filesz))
                find_build_id(buf, p->p_filesz, p->p_align == 8 ? 8 : 4, v);
            free(buf);
        }
    }
    free(phs);
}

static const char *hex(const unsigned char *b, size_t n, char *out, size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; i < n && k + 3 <= cap; i++)
        k += (size_t)snprintf(out + k, cap - k, "%02x", b[i]);
    out[k] = '\0';
    return out;
}

/* The reason the file is not the core's program, or "" if none is shown.
 * core_label names the core's copy, file_label the file given. */
static void compare(const struct fw_core_image *img, const struct elf_view *core, const struct elf_view *file,
                    const char *core_label, const char *file_label, char *why, size_t n)
{
    why[0] = '\0';
    if (core->build_id_len && file->build_id_len &&
        (core->build_id_len != file->build_id_len || memcmp(core->build_id, file->build_id, core->build_id_len))) {
        char a[2 * MAX_BUILD_ID + 1], b[2 * MAX_BUILD_ID + 1];
        snprintf(why, n, "%s has build-id %s, %s has build-id %s", core_label,
                 hex(core->build_id, core->build_id_len, a, sizeof a), file_label,
                 hex(file->build_id, file->build_id_len, b, sizeof b));
        return;
    }
    if (core->have_ehdr && memcmp(&core->eh, &file->eh, sizeof core->eh) != 0) {
        snprintf(why, n, "the ELF header of %s differs from that of %s", core_label, file_label);
        return;
    }
    if (img->at_phnum && img->at_phnum != file->eh.e_phnum) {
        snprintf(why, n, "the core's auxiliary vector gives %" PRIu64 " program headers, %s has %u", img->at_phnum,
                 file_label, (unsigned)file->eh.e_phnum);
        return;
    }
    if (img->at_entry && img->at_phdr && file->have_phdr_vaddr &&
        img->at_entry - img->at_phdr != file->eh.e_entry - file->phdr_vaddr) {
        snprintf(why, n, "the core's auxiliary vector puts the entry point %+" PRId64 " bytes from the program "
                 "headers, %s puts it %+" PRId64, (int64_t)(img->at_entry - img->at_phdr), file_label,
                 (int64_t)(file->eh.e_entry - file->phdr_vaddr));
    }
}

bool fw_core_exe_matches(const struct fw_core_image *img, const char *core_path, const char *core_exe,
                         const char *exe, bool exe_given)
{
    char core_esc[PATH_MAX], exe_esc[PATH_MAX], core_exe_esc[PATH_MAX], why[3 * PATH_MAX + 256];
    fw_escape_cstr(core_path, core_esc, sizeof core_esc);
    fw_escape_cstr(exe, exe_esc, sizeof exe_esc);
    char core_label[PATH_MAX + 64];
    if (exe_given && core_exe)
        snprintf(core_label, sizeof core_label, "its executable %s",
                 fw_escape_cstr(core_exe, core_exe_esc, sizeof core_exe_esc));
    else
        snprintf(core_label, sizeof core_label, "%s", exe_given ? "its executable" : "the core's copy");

    struct elf_view file, core = {0};
    int fd = open(exe, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        fprintf(stderr, "forkwatch: executable %s: %s\n", exe_esc, strerror(errno));
        return false;
    }
    load_view(read_exe_file, &fd, &file);
    close(fd);
    if (!file.have_ehdr) {
        fprintf(stderr, "forkwatch: executable %s is not a 64-bit ELF file, so it cannot have dumped core %s\n",
                exe_esc, core_esc);
        return false;
    }
    if (core_exe) {
        struct core_file_src src = {img, core_exe};
        load_view(read_core_copy, &src, &core);
    }
    compare(img, &core, &file, core_label, exe_given ? exe_esc : "the file", why, sizeof why);
    if (!why[0])
        return true;
    if (exe_given)
        fprintf(stderr, "forkwatch: executable %s did not dump core %s: %s; pass --exe with the program that did\n",
                exe_esc, core_esc, why);
    else
        fprintf(stderr, "forkwatch: the file at %s is no longer the program that dumped core %s (it was replaced "
                        "or rebuilt): %s; pass --exe with that program\n", exe_esc, core_esc, why);
    return false;
}
