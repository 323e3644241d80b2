/*
 * proc_facts.c — reads of /proc/PID (proc(5)) for a live snapshot.
 */
#include "proc_facts.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *read_line_file(const char *path)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return NULL;
    char buf[256];
    char *r = NULL;
    if (fgets(buf, sizeof buf, f)) {
        buf[strcspn(buf, "\n")] = '\0';
        r = strdup(buf);
    }
    fclose(f);
    return r;
}

char *fw_proc_thread_name(pid_t pid, pid_t tid)
{
    char path[96];
    snprintf(path, sizeof path, "/proc/%d/task/%d/comm", (int)pid, (int)tid);
    return read_line_file(path);
}

void fw_proc_read_facts(pid_t pid, struct fw_snapshot *s)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/comm", (int)pid);
    s->name = read_line_file(path);
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "re");
    if (f) {
        char buf[1024];
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        buf[n] = '\0';
        fclose(f);
        /* "pid (comm) state ppid ...": the comm may hold ") ", so parse after the last ')'. */
        char *rp = strrchr(buf, ')');
        char st;
        int ppid;
        if (rp && sscanf(rp + 1, " %c %d", &st, &ppid) == 2)
            s->ppid = ppid;
    }
    /* The link names the file at the target's own path (in its mount namespace). */
    snprintf(path, sizeof path, "/proc/%d/exe", (int)pid);
    char exe[PATH_MAX];
    ssize_t n = readlink(path, exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        s->exe = strdup(exe);
    }
}

bool fw_proc_read_maps(pid_t pid, struct fw_snapshot *s)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return false;
    char *line = NULL;
    size_t cap = 0;
    bool ok = true;
    while (getline(&line, &cap, f) > 0) {
        /* "start-end perms offset dev inode   path" (proc(5)); the path may hold spaces and
         * ends at the newline. */
        uint64_t start, end, offset;
        char perms[8];
        int pos = 0;
        if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s %" SCNx64 " %*s %*s%n", &start, &end, perms, &offset, &pos) < 4)
            continue;
        char *p = line + pos;
        while (*p == ' ')
            p++;
        p[strcspn(p, "\n")] = '\0';
        if (!fw_snap_add_mapping(s, start, end, offset, perms, *p ? p : NULL)) {
            ok = false;
            break;
        }
    }
    free(line);
    /* an empty read: the process exited between open and read */
    if (s->nmaps == 0)
        ok = false;
    fclose(f);
    return ok;
}
