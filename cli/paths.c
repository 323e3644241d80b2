/*
 * paths.c — locating the agent, the GDB package and programs on $PATH.
 */
#include "paths.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

bool fw_self_dir(char *out, size_t n)
{
    char exe[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len <= 0)
        return false;
    exe[len] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash)
        return false;
    *slash = '\0';
    return (size_t)snprintf(out, n, "%s", exe[0] ? exe : "/") < n;
}

static bool is_regular_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Tries dir/rel_a then dir/rel_b; the winner is canonicalised into out. */
static bool find_beside_self(const char *rel_a, const char *rel_b, const char *probe, char *out, size_t n)
{
    char dir[PATH_MAX], a[PATH_MAX + 64], b[PATH_MAX + 64];
    if (!fw_self_dir(dir, sizeof dir)) {
        snprintf(out, n, "(cannot read /proc/self/exe)");
        return false;
    }
    const char *rels[2] = {rel_a, rel_b};
    char *cands[2] = {a, b};
    for (int i = 0; i < 2; i++) {
        char check[PATH_MAX + 128];
        snprintf(cands[i], PATH_MAX + 64, "%s/%s", dir, rels[i]);
        snprintf(check, sizeof check, "%s%s", cands[i], probe);
        if (is_regular_file(check)) {
            char real[PATH_MAX];
            if (!realpath(cands[i], real))
                continue;
            return (size_t)snprintf(out, n, "%s", real) < n;
        }
    }
    snprintf(out, n, "%s%s and %s%s", a, probe, b, probe);
    return false;
}

bool fw_find_agent(char *out, size_t n)
{
    return find_beside_self("libforkwatch.so", "../lib/libforkwatch.so", "", out, n);
}

bool fw_find_gdb_dir(char *out, size_t n)
{
    return find_beside_self("../gdb", "../share/forkwatch/gdb", "/forkwatch-gdb.py", out, n);
}

bool fw_find_in_path(const char *name, char *out, size_t n)
{
    if (strchr(name, '/')) {
        if (access(name, X_OK) != 0 || !is_regular_file(name))
            return false;
        return (size_t)snprintf(out, n, "%s", name) < n;
    }
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = "/usr/local/bin:/usr/bin:/bin";
    while (*path) {
        const char *colon = strchr(path, ':');
        size_t len = colon ? (size_t)(colon - path) : strlen(path);
        char cand[PATH_MAX];
        /* An empty PATH element means the current directory. */
        int w = snprintf(cand, sizeof cand, "%.*s%s%s", (int)len, path, len ? "/" : "", name);
        if (w > 0 && (size_t)w < sizeof cand && access(cand, X_OK) == 0 && is_regular_file(cand))
            return (size_t)snprintf(out, n, "%s", cand) < n;
        path += len;
        if (*path == ':')
            path++;
    }
    return false;
}

bool fw_absolute(const char *path, char *out, size_t n)
{
    if (path[0] == '/')
        return (size_t)snprintf(out, n, "%s", path) < n;
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd))
        return false;
    return (size_t)snprintf(out, n, "%s/%s", cwd, path) < n;
}
