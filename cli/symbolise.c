/*
 * symbolise.c — one offline Dwfl per module path, cached for the run.
 */
#include "symbolise.h"

#include <elfutils/libdwfl.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <limits.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "paths.h"
#include "text_escape.h"

struct module_entry {
    char *path;
    char *build_id_hex;   /* as recorded; NULL when none was */
    Dwfl *dwfl;           /* NULL: unusable (missing, not ELF, build id differs) */
    Dwfl_Module *mod;
    struct module_entry *next;
};

struct fw_symboliser {
    struct module_entry *modules;
    Dwfl_Callbacks callbacks;
};

struct fw_symboliser *fw_symboliser_new(void)
{
    struct fw_symboliser *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    /* dwfl_standard_find_debuginfo looks beside the file, in .debug/ and in
     * /usr/lib/debug (including .build-id/xx/yyyy.debug). */
    s->callbacks.find_elf = dwfl_build_id_find_elf;
    s->callbacks.find_debuginfo = dwfl_standard_find_debuginfo;
    s->callbacks.section_address = dwfl_offline_section_address;
    return s;
}

void fw_symboliser_free(struct fw_symboliser *s)
{
    if (!s)
        return;
    struct module_entry *m = s->modules;
    while (m) {
        struct module_entry *next = m->next;
        if (m->dwfl)
            dwfl_end(m->dwfl);
        free(m->path);
        free(m->build_id_hex);
        free(m);
        m = next;
    }
    free(s);
}

static bool same_string(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcmp(a, b) == 0;
}

static bool build_id_matches(Dwfl_Module *mod, const char *want_hex)
{
    const unsigned char *bits;
    GElf_Addr vaddr;
    int len = dwfl_module_build_id(mod, &bits, &vaddr);
    if (len <= 0)
        return false;
    size_t want_len = strlen(want_hex);
    if (want_len != (size_t)len * 2)
        return false;
    for (int i = 0; i < len; i++) {
        char hex[3];
        snprintf(hex, sizeof hex, "%02x", bits[i]);
        if (strncasecmp(hex, want_hex + 2 * i, 2) != 0)
            return false;
    }
    return true;
}

static void open_module(struct fw_symboliser *s, struct module_entry *m)
{
    char esc[512];
    m->dwfl = dwfl_begin(&s->callbacks);
    if (!m->dwfl)
        return;
    dwfl_report_begin(m->dwfl);
    m->mod = dwfl_report_elf(m->dwfl, m->path, m->path, -1, 0, false);
    dwfl_report_end(m->dwfl, NULL, NULL);
    if (!m->mod) {
        fprintf(stderr, "forkwatch: warning: cannot read %s (%s); its frames stay unsymbolised\n",
                fw_escape_cstr(m->path, esc, sizeof esc), dwfl_errmsg(-1));
    } else if (m->build_id_hex && !build_id_matches(m->mod, m->build_id_hex)) {
        fprintf(stderr, "forkwatch: warning: %s changed since the run (build id differs); its frames stay "
                        "unsymbolised\n", fw_escape_cstr(m->path, esc, sizeof esc));
        m->mod = NULL;
    }
    if (!m->mod) {
        dwfl_end(m->dwfl);
        m->dwfl = NULL;
    }
}

static struct module_entry *get_module(struct fw_symboliser *s, const char *path, const char *build_id_hex)
{
    for (struct module_entry *m = s->modules; m; m = m->next)
        if (strcmp(m->path, path) == 0 && same_string(m->build_id_hex, build_id_hex))
            return m;
    struct module_entry *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->path = strdup(path);
    m->build_id_hex = build_id_hex ? strdup(build_id_hex) : NULL;
    if (!m->path || (build_id_hex && !m->build_id_hex)) {
        free(m->path);
        free(m->build_id_hex);
        free(m);
        return NULL;
    }
    open_module(s, m);
    m->next = s->modules;
    s->modules = m;
    return m;
}

/* A line table may name files relative to the compilation directory
 * ("fixtures/c/x.c"); joined with DW_AT_comp_dir when that file exists here,
 * else kept as written (a distribution's build tree is not on this machine). */
static void absolute_source(Dwfl_Module *mod, Dwarf_Addr addr, const char *file, char *out, size_t n)
{
    snprintf(out, n, "%s", file);
    Dwarf_Addr cu_bias;
    Dwarf_Die *cu = dwfl_module_addrdie(mod, addr, &cu_bias);
    Dwarf_Attribute attr;
    const char *comp_dir = cu ? dwarf_formstring(dwarf_attr(cu, DW_AT_comp_dir, &attr)) : NULL;
    if (!comp_dir || comp_dir[0] != '/')
        return;
    char joined[PATH_MAX];
    if ((size_t)snprintf(joined, sizeof joined, "%s/%s", comp_dir, file) < sizeof joined && access(joined, R_OK) == 0)
        snprintf(out, n, "%s", joined);
}

/* dladdr() names the main program by argv[0], which may be relative ("./prog")
 * or a bare name found on $PATH. The command ran in our directory with our
 * PATH (unless it changed them), and the build id check catches a wrong pick. */
static bool resolve_module_path(const char *module, char *out, size_t n)
{
    if (module[0] == '/')
        return (size_t)snprintf(out, n, "%s", module) < n;
    if (module[0] == '\0')
        return false;
    if (strchr(module, '/'))
        return fw_absolute(module, out, n);
    return fw_find_in_path(module, out, n);
}

bool fw_symbolise(struct fw_symboliser *s, const char *module, uint64_t offset, const char *build_id_hex,
                  struct fw_symbol *out)
{
    memset(out, 0, sizeof *out);
    char path[PATH_MAX];
    if (!s || !module || offset == 0 || !resolve_module_path(module, path, sizeof path))
        return false;
    struct module_entry *m = get_module(s, path, build_id_hex && *build_id_hex ? build_id_hex : NULL);
    if (!m || !m->mod)
        return false;
    GElf_Addr bias;
    if (!dwfl_module_getelf(m->mod, &bias))
        return false;
    /* A return address points after the call; offset-1 lies in the call
     * instruction, so the line is the caller's line, not the next one. */
    Dwarf_Addr addr = offset - 1 + bias;
    const char *name = dwfl_module_addrname(m->mod, addr);
    if (name)
        snprintf(out->function, sizeof out->function, "%s", name);
    Dwfl_Line *line = dwfl_module_getsrc(m->mod, addr);
    if (line) {
        int lineno = 0;
        const char *file = dwfl_lineinfo(line, NULL, &lineno, NULL, NULL, NULL);
        if (file && lineno > 0) {
            if (file[0] != '/')
                absolute_source(m->mod, addr, file, out->file, sizeof out->file);
            else
                snprintf(out->file, sizeof out->file, "%s", file);
            out->line = lineno;
        }
    }
    return out->function[0] || out->file[0];
}
