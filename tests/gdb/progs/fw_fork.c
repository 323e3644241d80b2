/* Test program for tests/gdb: a thread holds a mutex across fork(); the child
 * (renamed with a hostile name when argv[1] is "hostile") blocks on it for ever.
 * Events (KEY=VALUE lines) go to $FIXTURE_EVENTS. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static pthread_mutex_t held_at_fork = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t barrier;

static void event(const char *key, long value) {
    const char *path = getenv("FIXTURE_EVENTS");
    if (!path) return;
    FILE *f = fopen(path, "a");
    if (!f) return;
    fprintf(f, "%s=%ld\n", key, value);
    fclose(f);
}

static void *holder(void *arg) {
    (void)arg;
    pthread_mutex_lock(&held_at_fork);
    event("holder_tid", (long)syscall(SYS_gettid));
    pthread_barrier_wait(&barrier);
    for (;;) pause();
    return NULL;
}

int main(int argc, char **argv) {
    pthread_t t;
    pthread_barrier_init(&barrier, NULL, 2);
    event("parent_pid", (long)getpid());
    pthread_create(&t, NULL, holder, NULL);
    pthread_setname_np(t, "Holder");
    pthread_barrier_wait(&barrier);
    pid_t pid = fork();
    if (pid == 0) {
        if (argc > 1 && strcmp(argv[1], "hostile") == 0)
            prctl(PR_SET_NAME, "\x1b[31m\"q\\\n\xff", 0, 0, 0);
        event("child_blocking", 1);
        pthread_mutex_lock(&held_at_fork);
        _exit(0);
    }
    event("child_pid", (long)pid);
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
