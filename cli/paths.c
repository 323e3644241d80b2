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

/* Where the parts sit relative to the binary's directory, in order:
 *   the build tree        build/forkwatch, build/libforkwatch.so, gdb/ beside build/;
 *   `make install PREFIX` PREFIX/bin, PREFIX/lib/libforkwatch.so, PREFIX/share/forkwatch/gdb
 *                         (also the wheel's forkwatch/_native/{bin,lib,share});
 *   the Debian package    /usr/bin, /usr/lib/<multiarch>/forkwatch/ (a private, preloaded-only
 *                         library: not on ld.so's search path, in the architecture's own
 *                         multiarch directory), /usr/share/forkwatch/gdb.
 * FW_MULTIARCH is the triplet the Makefile passes (`$(CC) -print-multiarch`). All are relative to
 * /proc/self/exe, so an installed tree stays relocatable. */
#ifdef FW_MULTIARCH
#define FW_DEB_AGENT "../lib/" FW_MULTIARCH "/forkwatch/libforkwatch.so"
#endif

static const char *const agent_rels[] = {
    "libforkwatch.so",
    "../lib/libforkwatch.so",
#ifdef FW_DEB_AGENT
    FW_DEB_AGENT,
#endif
};

static const char *const gdb_rels[] = {
    "../gdb",
    "../share/forkwatch/gdb",
};

/* Tries dir/rels[i] (with probe appended) in order; the winner is canonicalised into out.
 * On failure out lists the places looked at (truncated to n). */
static bool find_beside_self(const char *const *rels, size_t nrels, const char *probe, char *out, size_t n)
{
    char dir[PATH_MAX];
    if (!fw_self_dir(dir, sizeof dir)) {
        snprintf(out, n, "(cannot read /proc/self/exe)");
        return false;
    }
    for (size_t i = 0; i < nrels; i++) {
        char cand[PATH_MAX + 128], check[PATH_MAX + 256];
        snprintf(cand, sizeof cand, "%s/%s", dir, rels[i]);
        snprintf(check, sizeof check, "%s%s", cand, probe);
        if (is_regular_file(check)) {
            char real[PATH_MAX];
            if (!realpath(cand, real))
                continue;
            return (size_t)snprintf(out, n, "%s", real) < n;
        }
    }
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < nrels && used < n; i++) {
        int w = snprintf(out + used, n - used, "%s%s/%s%s", i == 0 ? "" : (i + 1 == nrels ? " and " : ", "), dir,
                         rels[i], probe);
        if (w < 0)
            break;
        used += (size_t)w;
    }
    return false;
}

bool fw_find_agent(char *out, size_t n)
{
    return find_beside_self(agent_rels, sizeof agent_rels / sizeof agent_rels[0], "", out, n);
}

bool fw_find_gdb_dir(char *out, size_t n)
{
    return find_beside_self(gdb_rels, sizeof gdb_rels / sizeof gdb_rels[0], "/forkwatch-gdb.py", out, n);
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
