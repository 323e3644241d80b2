/* Test program for tests/gdb: a GNU OpenMP parallel region in the parent, then fork; the
 * child's parallel region waits for pool threads that do not exist there (GCC PR 52303). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void event(const char *key, long value) {
    const char *path = getenv("FIXTURE_EVENTS");
    FILE *f = path ? fopen(path, "a") : NULL;
    if (!f) return;
    fprintf(f, "%s=%ld\n", key, value);
    fclose(f);
}

int main(void) {
    int s = 0;
#pragma omp parallel num_threads(2) reduction(+ : s)
    s += 1;
    pid_t pid = fork();
    if (pid == 0) {
        event("child_blocking", 1);
#pragma omp parallel num_threads(2) reduction(+ : s)
        s += 1;
        _exit(s == 4 ? 0 : 1);
    }
    event("child_pid", (long)pid);
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
