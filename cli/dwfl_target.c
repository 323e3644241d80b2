/*
 * dwfl_target.c — libdwfl set up as eu-stack does (elfutils src/stack.c): for a live process
 * dwfl_linux_proc_report + dwfl_linux_proc_attach, for a core dwfl_core_file_report +
 * dwfl_core_file_attach; then dwfl_getthread_frames / dwfl_thread_getframes per thread and
 * dwfl_module_addrinfo for the names. What differs from eu-stack, and why:
 *  - the live process is stopped by us (ptrace_stop.c, PTRACE_SEIZE/INTERRUPT) and libdwfl is
 *    told so (assume_ptrace_stopped=true): elfutils would otherwise PTRACE_ATTACH each thread
 *    with a SIGSTOP while unwinding it, one at a time (libdwfl/linux-pid-attach.c);
 *  - module files are the very files mapped (live_find_elf below: /proc/PID/map_files, or
 *    /proc/PID/root, proc(5)), not the host's file of that name: a process in a container or
 *    chroot maps its own libraries, and the host's file of the same name would give wrong CFI
 *    and wrong names;
 *  - module files are opened before the stop, and symbols looked up after it: the stop covers
 *    only the reading of registers and stacks.
 */
#include "dwfl_target.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <elfutils/libdwfl.h>

struct fw_dwfl_target {
    Dwfl *dwfl;
    pid_t pid;       /* live: the process; 0 for a core */
    int core_fd;
    Elf *core_elf;
};

/* libdwfl's callbacks are plain functions and one target is read per run: the root prefix and
 * the debuginfo path live here. */
static char live_root[64], live_proc[48];
/* The target's /usr/lib/debug before the host's: dwfl_standard_find_debuginfo looks for
 * .build-id/NN/REST.debug under every absolute directory of this path (elfutils
 * libdwfl/dwfl_build_id_find_elf.c), and a build-id match is right wherever the file is. */
static char debuginfo_path_buf[128] = ":.debug:/usr/lib/debug";
static char *debuginfo_path = debuginfo_path_buf;

/* The target's file mappings as /proc/PID/maps lists them (read once, before the stop), so that
 * find_elf can open exactly the mapped file. */
struct live_map {
    uint64_t start, end;
    dev_t dev;
    ino_t ino;
    const char *path;
};
static struct live_map *live_maps;
static size_t live_nmaps;
static char *live_maps_text; /* the maps as read (the paths point into it), then cut into lines */
static size_t live_maps_len; /* its length before it was cut, to compare with a later read */

static void free_live_maps(void)
{
    free(live_maps);
    free(live_maps_text);
    live_maps = NULL;
    live_maps_text = NULL;
    live_nmaps = 0;
}

static uint64_t live_maps_hash;

/* FNV-1a: tells a re-read of the maps from the first read without keeping an uncut copy. */
static uint64_t hash_text(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

/* The whole of /proc/PID/maps, or NULL. */
static char *read_maps_text(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    if (mem) {
        char chunk[8192];
        size_t n;
        while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
            fwrite(chunk, 1, n, mem);
        fclose(mem);
    }
    fclose(f);
    return buf;
}

/* Keeps text (owned from now on) and indexes its file mappings. */
static void index_live_maps(char *text)
{
    free_live_maps();
    live_maps_text = text;
    size_t n = 0;
    for (char *line = text, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        uint64_t start, end, ino;
        unsigned maj, min;
        int pos = 0;
        if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %*s %*s %x:%x %" SCNu64 " %n", &start, &end, &maj, &min, &ino, &pos) < 5
            || pos == 0 || line[pos] != '/')
            continue;
        if (live_nmaps == n) {
            n = n ? 2 * n : 128;
            struct live_map *m = realloc(live_maps, n * sizeof *m);
            if (!m)
                break;
            live_maps = m;
        }
        live_maps[live_nmaps++] = (struct live_map){start, end, makedev(maj, min), (ino_t)ino, line + pos};
    }
}

static const struct live_map *find_live_map(const char *name, Dwarf_Addr base)
{
    const struct live_map *first = NULL;
    for (size_t i = 0; i < live_nmaps; i++) {
        if (strcmp(live_maps[i].path, name) != 0)
            continue;
        if (live_maps[i].start == base)
            return &live_maps[i];
        if (!first)
            first = &live_maps[i];
    }
    return first;
}

/* Opens path if it is a regular file and, when m is given, the very file mapped there (same
 * device and inode as the maps line). -1 otherwise. */
static int open_checked(const char *path, const struct live_map *m)
{
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return -1;
    if (m && (st.st_dev != m->dev || st.st_ino != m->ino))
        return -1;
    return open(path, O_RDONLY | O_CLOEXEC);
}

static int found(int fd, const char *path, char **file_name, Elf **elfp)
{
    *file_name = strdup(path);
    *elfp = NULL;
    return fd;
}

/* find_elf for a live target. The name in /proc/PID/maps is the file's path as *we* see it
 * when the file is reachable from our root (a chroot: /srv/root/usr/lib/...), and as the
 * target sees it otherwise (another mount namespace: /usr/lib/...); a file of that name on
 * the host may be another file altogether. So, in order:
 *  1. /proc/PID/map_files/START-END: the mapped file itself, whatever the namespaces
 *     (proc(5); opening it needs CAP_SYS_ADMIN, so root only);
 *  2. /proc/PID/root/NAME, then NAME, each only if it has the mapping's device and inode;
 *  3. /proc/PID/root/NAME unchecked: overlayfs (containers) reports the lower layer's device
 *     and inode in maps, not the ones stat() gives, and in another mount namespace this path
 *     is the target's own file.
 * Never the host's file of that name unchecked. Only regular files: dwfl_linux_proc_find_elf
 * refuses devices the same way (a read of a mapped device can hang). The vdso and deleted
 * files are read from memory by elfutils' own callback. */
static int live_find_elf(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr base,
                         char **file_name, Elf **elfp)
{
    if (name[0] == '/') {
        const struct live_map *m = find_live_map(name, base);
        char rooted[PATH_MAX], mf[96];
        int n = snprintf(rooted, sizeof rooted, "%s%s", live_root, name);
        bool rooted_ok = n > 0 && (size_t)n < sizeof rooted;
        int fd;
        if (m) {
            snprintf(mf, sizeof mf, "%s/map_files/%" PRIx64 "-%" PRIx64, live_proc, m->start, m->end);
            if ((fd = open_checked(mf, NULL)) >= 0)
                return found(fd, rooted_ok && access(rooted, R_OK) == 0 ? rooted : name, file_name, elfp);
            if (rooted_ok && (fd = open_checked(rooted, m)) >= 0)
                return found(fd, rooted, file_name, elfp);
            if ((fd = open_checked(name, m)) >= 0)
                return found(fd, name, file_name, elfp);
        }
        if (rooted_ok && (fd = open_checked(rooted, NULL)) >= 0)
            return found(fd, rooted, file_name, elfp);
        const char *del = strstr(name, " (deleted)");
        if (!del || del[strlen(" (deleted)")] != '\0')
            return -1;
    }
    return dwfl_linux_proc_find_elf(mod, userdata, name, base, file_name, elfp);
}

static const Dwfl_Callbacks live_callbacks = {
    .find_elf = live_find_elf,
    .find_debuginfo = dwfl_standard_find_debuginfo,
    .debuginfo_path = &debuginfo_path,
};

/* A core's modules are found by build-id first, then by the NT_FILE name
 * (dwfl_build_id_find_elf), as eu-stack --core does. */
static const Dwfl_Callbacks core_callbacks = {
    .find_elf = dwfl_build_id_find_elf,
    .find_debuginfo = dwfl_standard_find_debuginfo,
    .debuginfo_path = &debuginfo_path,
};

static int preload_module(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr start, void *arg)
{
    (void)userdata, (void)name, (void)start, (void)arg;
    Dwarf_Addr bias;
    /* Opens the file (find_elf) and parses .eh_frame_hdr now, while the process still runs. */
    if (dwfl_module_getelf(mod, &bias))
        (void)dwfl_module_eh_cfi(mod, &bias);
    return DWARF_CB_OK;
}

static void errmsg(char *err, size_t n, const char *what, int e)
{
    snprintf(err, n, "%s: %s", what, e > 0 ? strerror(e) : dwfl_errmsg(-1));
}

struct fw_dwfl_target *fw_dwfl_live_open(pid_t pid, char *err, size_t n)
{
    struct fw_dwfl_target *t = calloc(1, sizeof *t);
    if (!t) {
        snprintf(err, n, "out of memory");
        return NULL;
    }
    t->pid = pid;
    t->core_fd = -1;
    snprintf(live_root, sizeof live_root, "/proc/%d/root", (int)pid);
    snprintf(live_proc, sizeof live_proc, "/proc/%d", (int)pid);
    char *text = read_maps_text(pid);
    live_maps_len = text ? strlen(text) : 0;
    live_maps_hash = text ? hash_text(text) : 0;
    index_live_maps(text);
    snprintf(debuginfo_path_buf, sizeof debuginfo_path_buf, ":.debug:/proc/%d/root/usr/lib/debug:/usr/lib/debug",
             (int)pid);
    t->dwfl = dwfl_begin(&live_callbacks);
    if (!t->dwfl) {
        errmsg(err, n, "dwfl_begin", -1);
        free(t);
        return NULL;
    }
    dwfl_report_begin(t->dwfl);
    /* 0, an errno (ENOENT: /proc/PID/maps is gone), or -1 for a libdwfl error. */
    int r = dwfl_linux_proc_report(t->dwfl, pid);
    if (r != 0 || dwfl_report_end(t->dwfl, NULL, NULL) != 0) {
        errmsg(err, n, "reading its mappings", r);
        fw_dwfl_close(t);
        return NULL;
    }
    dwfl_getmodules(t->dwfl, preload_module, NULL, 0);
    return t;
}

bool fw_dwfl_live_attach(struct fw_dwfl_target *t, char *err, size_t n)
{
    /* The maps again, now that nothing runs: unchanged (the usual case), the modules reported
     * before the stop stand; changed (a library mapped or unmapped meanwhile), they are
     * reported again — a module with the same name and range keeps its open file
     * (dwfl_report_module reuses a matching module) and a new one is opened by find_elf. */
    char *text = read_maps_text(t->pid);
    if (!text) {
        snprintf(err, n, "reading its mappings: %s", strerror(errno));
        return false;
    }
    if (strlen(text) == live_maps_len && hash_text(text) == live_maps_hash) {
        free(text);
        goto attach;
    }
    index_live_maps(text);
    dwfl_report_begin(t->dwfl);
    int r = dwfl_linux_proc_report(t->dwfl, t->pid);
    if (r != 0 || dwfl_report_end(t->dwfl, NULL, NULL) != 0) {
        errmsg(err, n, "reading its mappings", r);
        return false;
    }
attach:
    /* assume_ptrace_stopped: every thread is already in a ptrace-stop of ours; libdwfl reads
     * their registers with PTRACE_GETREGS(ET) and memory with PTRACE_PEEKDATA or
     * process_vm_readv (elfutils 0.188+) without attaching or detaching anything. */
    r = dwfl_linux_proc_attach(t->dwfl, t->pid, true);
    if (r != 0) {
        errmsg(err, n, "attaching libdwfl to it", r);
        return false;
    }
    return true;
}

struct fw_dwfl_target *fw_dwfl_core_open(const char *core_path, const char *exe, char *err, size_t n)
{
    struct fw_dwfl_target *t = calloc(1, sizeof *t);
    if (!t) {
        snprintf(err, n, "out of memory");
        return NULL;
    }
    t->core_fd = open(core_path, O_RDONLY | O_CLOEXEC);
    if (t->core_fd < 0) {
        snprintf(err, n, "cannot open it: %s", strerror(errno));
        free(t);
        return NULL;
    }
    elf_version(EV_CURRENT);
    t->core_elf = elf_begin(t->core_fd, ELF_C_READ_MMAP, NULL);
    t->dwfl = t->core_elf ? dwfl_begin(&core_callbacks) : NULL;
    if (!t->dwfl) {
        snprintf(err, n, "cannot read it as ELF: %s", elf_errmsg(-1));
        fw_dwfl_close(t);
        return NULL;
    }
    dwfl_report_begin(t->dwfl);
    /* Returns the number of modules found from the notes and the dynamic linker's list in the
     * core's memory, or -1 (elfutils libdwfl/core-file.c). */
    if (dwfl_core_file_report(t->dwfl, t->core_elf, exe) < 0 || dwfl_report_end(t->dwfl, NULL, NULL) != 0) {
        errmsg(err, n, "reading its modules", -1);
        fw_dwfl_close(t);
        return NULL;
    }
    if (dwfl_core_file_attach(t->dwfl, t->core_elf) < 0) {
        errmsg(err, n, "reading its threads", -1);
        fw_dwfl_close(t);
        return NULL;
    }
    return t;
}

Elf *fw_dwfl_core_elf(struct fw_dwfl_target *t)
{
    return t->core_elf;
}

static void set_error(struct fw_snap_thread *th, const char *msg)
{
    if (!th->unwind_error)
        th->unwind_error = strdup(msg ? msg : "unknown error");
}

static int frame_cb(Dwfl_Frame *state, void *arg)
{
    struct fw_snap_thread *th = arg;
    Dwarf_Addr pc;
    bool activation;
    if (!dwfl_frame_pc(state, &pc, &activation)) {
        set_error(th, dwfl_errmsg(-1));
        return DWARF_CB_ABORT;
    }
    if (th->nframes >= FW_SNAP_MAX_FRAMES) {
        set_error(th, "more than 256 frames: the rest is not shown");
        return DWARF_CB_ABORT;
    }
    if (th->nframes % 16 == 0) {
        struct fw_snap_frame *f = realloc(th->frames, (th->nframes + 16) * sizeof *f);
        if (!f) {
            set_error(th, "out of memory");
            return DWARF_CB_ABORT;
        }
        th->frames = f;
    }
    struct fw_snap_frame *f = &th->frames[th->nframes++];
    memset(f, 0, sizeof *f);
    f->pc = pc;
    f->activation = activation;
    return DWARF_CB_OK;
}

bool fw_dwfl_unwind(struct fw_dwfl_target *t, struct fw_snap_thread *th)
{
    /* -1: the unwinding stopped on an error after the frames already given (eu-stack prints
     * them and the error); it ends with 0 at the outermost frame. */
    if (dwfl_getthread_frames(t->dwfl, th->tid, frame_cb, th) == -1) {
        set_error(th, dwfl_errmsg(-1));
        /* No frame at all: the thread's registers could not be read (it died: PTRACE_GETREGS
         * gives ESRCH). elfutils 0.188's pid_set_initial_registers (linux-pid-attach.c) then
         * returns without clearing its "thread attached" mark, and its next call for any
         * thread fails the assertion `pid_arg->tid_attached == 0' (abort, exit 134): found by
         * tests/snapshot's vanishing-PID case. The caller stops using this Dwfl. */
        if (th->nframes == 0)
            return false;
    }
    return true;
}

struct core_threads_arg {
    struct fw_snapshot *s;
    bool oom;
};

static int core_thread_cb(Dwfl_Thread *thread, void *arg)
{
    struct core_threads_arg *a = arg;
    struct fw_snap_thread *th = fw_snap_add_thread(a->s, dwfl_thread_tid(thread));
    if (!th) {
        a->oom = true;
        return DWARF_CB_ABORT;
    }
    if (dwfl_thread_getframes(thread, frame_cb, th) == -1)
        set_error(th, dwfl_errmsg(-1));
    return DWARF_CB_OK;
}

bool fw_dwfl_core_threads(struct fw_dwfl_target *t, struct fw_snapshot *s, char *err, size_t n)
{
    struct core_threads_arg a = {.s = s};
    int r = dwfl_getthreads(t->dwfl, core_thread_cb, &a);
    if (a.oom) {
        snprintf(err, n, "out of memory");
        return false;
    }
    if (r == -1) {
        errmsg(err, n, "reading its threads", -1);
        return false;
    }
    return true;
}

void fw_dwfl_symbolise(struct fw_dwfl_target *t, struct fw_snap_thread *th)
{
    for (size_t i = 0; i < th->nframes; i++) {
        struct fw_snap_frame *f = &th->frames[i];
        /* A return address may be the first byte after a call at the very end of a function
         * (a noreturn call): look up pc-1 for every frame but an activation (eu-stack does the
         * same, dwfl_frame_pc's isactivation). */
        Dwarf_Addr pc = f->activation || f->pc == 0 ? f->pc : f->pc - 1;
        Dwfl_Module *mod = dwfl_addrmodule(t->dwfl, pc);
        if (!mod)
            continue;
        const char *mname = dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
        if (mname)
            f->module = strdup(mname);
        GElf_Off off;
        GElf_Sym sym;
        const char *fn = dwfl_module_addrinfo(mod, pc, &off, &sym, NULL, NULL, NULL);
        if (fn) {
            f->function = strdup(fn);
            f->offset = off + (f->pc - pc);
        }
    }
}

void fw_dwfl_close(struct fw_dwfl_target *t)
{
    if (!t)
        return;
    free_live_maps();
    if (t->dwfl)
        dwfl_end(t->dwfl);
    if (t->core_elf)
        elf_end(t->core_elf);
    if (t->core_fd >= 0)
        close(t->core_fd);
    free(t);
}
