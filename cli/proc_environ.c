/*
 * proc_environ.c — one variable of a live process's *current* environment.
 *
 * /proc/PID/environ shows only the block the kernel set up at exec: a variable
 * set later (pytest sets PYTEST_CURRENT_TEST with os.environ, i.e. putenv(3))
 * lives in the heap, reached through the C library's `environ` array. So we
 * find that array the way the dynamic linker would resolve the symbol: the
 * executable's own definition first (a copy relocation puts `environ` there
 * when the program refers to it, as Debian's statically linked python3 does),
 * then libc's `__environ` (glibc posix/environ.c: `environ` and `_environ`
 * are weak aliases of it). Then it is read with process_vm_readv(2), which
 * needs the same permission as ptrace and never stops the process.
 */
#include "proc_environ.h"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#define MAX_VARS 8192
#define MAX_VALUE 4096

static bool read_mem(pid_t pid, uint64_t addr, void *buf, size_t n)
{
    struct iovec local = {buf, n}, remote = {(void *)(uintptr_t)addr, n};
    return process_vm_readv(pid, &local, 1, &remote, 1, 0) == (ssize_t)n;
}

/* st_value of a defined symbol among names in path's .dynsym; *is_dyn: ET_DYN. */
static bool find_symbol(const char *path, const char *const *names, uint64_t *value, uint64_t *first_load,
                        bool *is_dyn)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    bool found = false;
    elf_version(EV_CURRENT);
    Elf *e = elf_begin(fd, ELF_C_READ, NULL);
    GElf_Ehdr eh;
    if (e && gelf_getehdr(e, &eh)) {
        *is_dyn = eh.e_type == ET_DYN;
        *first_load = 0;
        size_t nph = 0;
        elf_getphdrnum(e, &nph);
        for (size_t i = 0; i < nph; i++) {
            GElf_Phdr ph;
            if (gelf_getphdr(e, (int)i, &ph) && ph.p_type == PT_LOAD) {
                *first_load = ph.p_vaddr & ~(uint64_t)0xfff;
                break;
            }
        }
        Elf_Scn *scn = NULL;
        while (!found && (scn = elf_nextscn(e, scn))) {
            GElf_Shdr sh;
            if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNSYM || sh.sh_entsize == 0)
                continue;
            Elf_Data *data = elf_getdata(scn, NULL);
            size_t count = sh.sh_size / sh.sh_entsize;
            for (size_t i = 0; data && i < count && !found; i++) {
                GElf_Sym sym;
                if (!gelf_getsym(data, (int)i, &sym) || sym.st_shndx == SHN_UNDEF || sym.st_value == 0)
                    continue;
                const char *nm = elf_strptr(e, sh.sh_link, sym.st_name);
                for (const char *const *n = names; nm && *n; n++)
                    if (strcmp(nm, *n) == 0) {
                        *value = sym.st_value;
                        found = true;
                        break;
                    }
            }
        }
    }
    if (e)
        elf_end(e);
    close(fd);
    return found;
}

/* Address of the environ variable in pid, or 0. */
static uint64_t environ_address(pid_t pid)
{
    static const char *const names[] = {"environ", "__environ", "_environ", NULL};
    char path[64], exe[PATH_MAX];
    snprintf(path, sizeof path, "/proc/%d/exe", (int)pid);
    ssize_t n = readlink(path, exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = '\0';
    snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return 0;
    /* Candidates in lookup order: the executable, then libc. */
    char mod[2][PATH_MAX] = {"", ""};
    uint64_t lowest[2] = {0, 0};
    char line[PATH_MAX + 128];
    while (fgets(line, sizeof line, f)) {
        unsigned long long start, off;
        char file[PATH_MAX];
        if (sscanf(line, "%llx-%*x %*s %llx %*s %*s %4095[^\n]", &start, &off, file) != 3 || file[0] != '/')
            continue;
        const char *base = strrchr(file, '/') + 1;
        int which = strcmp(file, exe) == 0 ? 0 : strncmp(base, "libc.so", 7) == 0 || strncmp(base, "libc-", 5) == 0 ? 1 : -1;
        if (which < 0 || off != 0 || (mod[which][0] && lowest[which] <= start))
            continue;
        snprintf(mod[which], sizeof mod[which], "%s", file);
        lowest[which] = start;
    }
    fclose(f);
    for (int i = 0; i < 2; i++) {
        uint64_t value, first_load;
        bool is_dyn;
        if (mod[i][0] && find_symbol(mod[i], names, &value, &first_load, &is_dyn))
            return is_dyn ? lowest[i] - first_load + value : value;
    }
    return 0;
}

bool fw_proc_getenv(pid_t pid, const char *name, char *out, size_t n)
{
    uint64_t addr = environ_address(pid), env;
    if (!addr || !read_mem(pid, addr, &env, sizeof env) || !env)
        return false;
    size_t nlen = strlen(name);
    char buf[MAX_VALUE + 256];
    for (int i = 0; i < MAX_VARS; i++) {
        uint64_t p;
        if (!read_mem(pid, env + 8u * (uint64_t)i, &p, sizeof p) || !p)
            return false;
        /* Read the head of the string; a page boundary may cut a long read short. */
        size_t want = nlen + 1 + MAX_VALUE;
        size_t got = 0;
        while (got < want) {
            size_t chunk = 4096 - ((p + got) & 4095);
            if (chunk > want - got)
                chunk = want - got;
            if (!read_mem(pid, p + got, buf + got, chunk))
                break;
            got += chunk;
            if (memchr(buf + got - chunk, '\0', chunk))
                break;
        }
        if (got <= nlen || memcmp(buf, name, nlen) != 0 || buf[nlen] != '=')
            continue;
        size_t vlen = strnlen(buf + nlen + 1, got - nlen - 1);
        if (vlen >= n)
            vlen = n - 1;
        memcpy(out, buf + nlen + 1, vlen);
        out[vlen] = '\0';
        return true;
    }
    return false;
}
