/*
 * core_notes.c — reading a core's PT_NOTE segments with libelf (gelf_getnote), for the facts
 * libdwfl does not hand out: NT_PRPSINFO's pid/ppid/fname, NT_FILE's mappings, and the
 * system call number each NT_PRSTATUS thread was in.
 *
 * The descriptors are the dumping kernel's (or gcore's) structures for this machine:
 * struct elf_prpsinfo and struct elf_prstatus from <sys/procfs.h>. A core of another class or
 * byte order than ours has its modules and frames read by libdwfl all the same, but these facts
 * are then left unknown rather than misread.
 */
#include "core_notes.h"

#include <elf.h>
#include <gelf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/procfs.h>

#if defined(__x86_64__)
#include <sys/reg.h> /* ORIG_RAX: the call a thread is in, -1 outside one (x86-64 entry code) */
#endif

static bool native_layout(Elf *core)
{
    GElf_Ehdr eh;
    if (!gelf_getehdr(core, &eh))
        return false;
    int cls = sizeof(void *) == 8 ? ELFCLASS64 : ELFCLASS32;
    uint16_t probe = 1;
    int data = *(unsigned char *)&probe ? ELFDATA2LSB : ELFDATA2MSB;
    return eh.e_ident[EI_CLASS] == cls && eh.e_ident[EI_DATA] == data;
}

static void read_prpsinfo(const char *desc, size_t len, struct fw_snapshot *s, char *main_state)
{
    struct elf_prpsinfo p;
    if (len < sizeof p)
        return;
    memcpy(&p, desc, sizeof p);
    s->pid = p.pr_pid;
    s->ppid = p.pr_ppid;
    char fname[sizeof p.pr_fname + 1];
    memcpy(fname, p.pr_fname, sizeof p.pr_fname);
    fname[sizeof p.pr_fname] = '\0';
    free(s->name);
    s->name = strdup(fname);
    *main_state = p.pr_sname;
}

/* NT_FILE: long count, long page_size, count x {start, end, file_ofs (in pages)}, then count
 * NUL-terminated names (the kernel's fill_files_note(); gdb's gcore writes the same). */
static void read_nt_file(const char *desc, size_t len, struct fw_snapshot *s)
{
    typedef unsigned long word;
    if (len < 2 * sizeof(word))
        return;
    word count, page;
    memcpy(&count, desc, sizeof count);
    memcpy(&page, desc + sizeof(word), sizeof page);
    size_t table = 2 * sizeof(word);
    if (count > (len - table) / (3 * sizeof(word)))
        return;
    const char *name = desc + table + count * 3 * sizeof(word);
    const char *end = desc + len;
    for (word i = 0; i < count && name < end; i++) {
        word e[3];
        memcpy(e, desc + table + i * 3 * sizeof(word), sizeof e);
        size_t nl = strnlen(name, (size_t)(end - name));
        if (name + nl == end)
            break; /* a cut name: stop rather than read past the note */
        fw_snap_add_mapping(s, e[0], e[1], e[2] * page, NULL, name);
        name += nl + 1;
    }
}

static void read_prstatus(const char *desc, size_t len, struct fw_snapshot *s)
{
    struct elf_prstatus st;
    if (len < sizeof st)
        return;
    memcpy(&st, desc, sizeof st);
    for (size_t i = 0; i < s->nthreads; i++) {
        if (s->threads[i].tid != st.pr_pid)
            continue;
#if defined(__x86_64__)
        long long orig = (long long)st.pr_reg[ORIG_RAX];
        s->threads[i].syscall_nr = orig < 0 ? -1 : (long)orig;
#endif
    }
}

bool fw_core_read_notes(Elf *core, struct fw_snapshot *s, char *err, size_t n)
{
    size_t phnum;
    if (elf_getphdrnum(core, &phnum) != 0) {
        snprintf(err, n, "no program headers: %s", elf_errmsg(-1));
        return false;
    }
    bool native = native_layout(core);
    char main_state = 0;
    for (size_t i = 0; i < phnum; i++) {
        GElf_Phdr ph;
        if (!gelf_getphdr(core, (int)i, &ph) || ph.p_type != PT_NOTE)
            continue;
        Elf_Data *d = elf_getdata_rawchunk(core, ph.p_offset, ph.p_filesz, ELF_T_NHDR);
        if (!d)
            continue;
        size_t off = 0, name_off, desc_off;
        GElf_Nhdr nh;
        while ((off = gelf_getnote(d, off, &nh, &name_off, &desc_off)) > 0) {
            const char *nm = (const char *)d->d_buf + name_off;
            const char *desc = (const char *)d->d_buf + desc_off;
            if (!native || nh.n_namesz != 5 || memcmp(nm, "CORE", 5) != 0)
                continue;
            if (nh.n_type == NT_PRPSINFO)
                read_prpsinfo(desc, nh.n_descsz, s, &main_state);
            else if (nh.n_type == NT_FILE)
                read_nt_file(desc, nh.n_descsz, s);
            else if (nh.n_type == NT_PRSTATUS)
                read_prstatus(desc, nh.n_descsz, s);
        }
    }
    /* Only the process (main thread) has a name and state in a core: pr_fname, pr_sname. */
    for (size_t i = 0; i < s->nthreads; i++)
        if (s->pid && s->threads[i].tid == s->pid) {
            if (s->name)
                s->threads[i].name = strdup(s->name);
            s->threads[i].state = main_state;
        }
    return true;
}
