/* Reproducer (agent bug, found by tests/cpython_suites.py: 3.11 test_subprocess
 * test_pass_fds_redirected fails under the agent, passes bare): a program that starts with
 * only fds 0, 1, 2 open and takes one lock finds two more fds open under the agent
 * (a pipe at fds 3 and 4: libunwind's memory-validation pipe, created when the agent
 * captures its first stack). Programs that check which fds they inherited, or expect
 * the first open() to return 3, behave differently under the agent.
 *   cc -pthread -o r tests/stress/repro/fds_at_start.c && LD_PRELOAD=build/libforkwatch.so ./r
 * Exit 0: only 0, 1, 2 open after the first lock; 1: extra fds (listed). */
#define _GNU_SOURCE
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "stage2") != 0) {
        closefrom(3);                       /* start the second stage with 0, 1, 2 only */
        char *args[] = {argv[0], "stage2", NULL};
        execv("/proc/self/exe", args);
        perror("execv");
        return 2;
    }
    pthread_mutex_lock(&m);                 /* the program's first lock */
    pthread_mutex_unlock(&m);
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return 2;
    int extra = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        int fd = atoi(e->d_name);
        if (fd <= 2 || fd == dirfd(d))
            continue;
        char path[64], target[256] = "";
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        ssize_t n = readlink(path, target, sizeof target - 1);
        if (n > 0)
            target[n] = '\0';
        printf("fd %d open at start: %s\n", fd, target);
        extra++;
    }
    closedir(d);
    printf("%s\n", extra ? "extra fds open at start (see above)" : "only fds 0, 1, 2 open after the first lock");
    return extra ? 1 : 0;
}
