/* fw_modules.c — see fw_modules.h. */
#include "fw_modules.h"

#include "fw_buf.h"
#include "fw_log.h"
#include "fw_registry.h"

#include <elf.h>
#include <link.h>
#include <string.h>
#include <unistd.h>

#define NOTE_ALIGN(x) (((x) + 3u) & ~3u)

/* Lowest mapped address of each module (agent-private; base is only the bias). */
static uint64_t module_lo[FW_MAX_MODULES];

static void read_build_id(struct fw_module *m, const struct dl_phdr_info *info, const ElfW(Phdr) *ph)
{
    const unsigned char *p = (const unsigned char *)(info->dlpi_addr + ph->p_vaddr);
    const unsigned char *end = p + ph->p_memsz;
    while (p + sizeof(ElfW(Nhdr)) <= end) {
        const ElfW(Nhdr) *n = (const ElfW(Nhdr) *)p;
        const unsigned char *name = p + sizeof *n;
        const unsigned char *desc = name + NOTE_ALIGN(n->n_namesz);
        if (desc + n->n_descsz > end)
            return;
        if (n->n_type == NT_GNU_BUILD_ID && n->n_namesz == 4 && memcmp(name, "GNU", 4) == 0) {
            uint32_t len = n->n_descsz < FW_BUILD_ID_MAX ? n->n_descsz : FW_BUILD_ID_MAX;
            memcpy(m->build_id, desc, len);
            m->build_id_len = len;
            return;
        }
        p = desc + NOTE_ALIGN(n->n_descsz);
    }
}

static int add_module(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    uint32_t *count = data;
    if (*count >= FW_MAX_MODULES) {
        fw_warn_flag_once(FW_FLAG_MODULES_FULL, "module table full: some frames have no module");
        return 1;
    }
    struct fw_module *m = &forkwatch_registry.modules[*count];
    memset(m, 0, sizeof *m);
    uint64_t lo = UINT64_MAX, hi = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_LOAD) {
            uint64_t s = info->dlpi_addr + ph->p_vaddr;
            if (s < lo) lo = s;
            if (s + ph->p_memsz > hi) hi = s + ph->p_memsz;
        } else if (ph->p_type == PT_NOTE && m->build_id_len == 0) {
            read_build_id(m, info, ph);
        }
    }
    if (hi == 0)
        return 0;
    m->base = info->dlpi_addr;
    m->end = hi;
    module_lo[*count] = lo;
    if (info->dlpi_name && info->dlpi_name[0]) {
        fw_copy_str(m->path, sizeof m->path, info->dlpi_name);
    } else if (*count == 0) {
        /* The main program is unnamed in the link map; its path is /proc/self/exe. */
        ssize_t n = readlink("/proc/self/exe", m->path, sizeof m->path - 1);
        m->path[n > 0 ? n : 0] = '\0';
    }
    ++*count;
    return 0;
}

void fw_modules_capture(void)
{
    uint32_t count = 0;
    forkwatch_registry.header.modules.used = 0;
    dl_iterate_phdr(add_module, &count);
    __atomic_store_n(&forkwatch_registry.header.modules.used, count, __ATOMIC_RELEASE);
}

int fw_module_find(uint64_t addr)
{
    const struct fw_registry *r = &forkwatch_registry;
    uint32_t n = r->header.modules.used;
    int best = -1;
    for (uint32_t i = 0; i < n && i < FW_MAX_MODULES; i++) {
        const struct fw_module *m = &r->modules[i];
        if (addr >= module_lo[i] && addr < m->end && (best < 0 || module_lo[i] > module_lo[best]))
            best = (int)i;
    }
    return best;
}
