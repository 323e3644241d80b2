/* sec_probe.c — helper of agent_security.sh (issue 6 §5, the agent's side).
 *   sec_probe flags               prints "flags=0x.. at_secure=N" (registry via dlsym) or "no-registry"
 *   sec_probe deadlock [NAME [S]] a thread named NAME holds a mutex across fork(); the child
 *                                 blocks on it. Exits with the child's status (86 under the
 *                                 agent's abort policy), 124 if the child still waits after S
 *                                 seconds (then killed by PID), 128+N if killed by signal N. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "forkwatch_abi.h"

#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static atomic_int holding, release_it;
static const char *holder_name = "holder";

static void *holder(void *arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), holder_name);
    pthread_mutex_lock(&m);
    atomic_store(&holding, 1);
    while (!atomic_load(&release_it)) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    pthread_mutex_unlock(&m);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "flags")) {
        const struct fw_registry_header *h = dlsym(RTLD_DEFAULT, FW_REGISTRY_SYMBOL);
        if (!h)
            printf("no-registry at_secure=%lu\n", getauxval(AT_SECURE));
        else
            printf("flags=%#x at_secure=%lu\n", h->flags, getauxval(AT_SECURE));
        return 0;
    }
    if (argc < 2 || strcmp(argv[1], "deadlock") != 0) {
        fprintf(stderr, "usage: sec_probe flags | deadlock [NAME [SECONDS]]\n");
        return 2;
    }
    if (argc >= 3)
        holder_name = argv[2];
    int seconds = argc >= 4 ? atoi(argv[3]) : 10;
    pthread_t t;
    pthread_create(&t, NULL, holder, NULL);
    while (!atomic_load(&holding)) {
        struct timespec ts = {0, 100000};
        nanosleep(&ts, NULL);
    }
    pid_t pid = fork();
    if (pid == 0) {
        pthread_mutex_lock(&m);
        _exit(0);
    }
    int st = 0, rc;
    long waited = 0;
    while ((rc = waitpid(pid, &st, WNOHANG)) == 0) {
        if (++waited > seconds * 1000L) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            fprintf(stderr, "sec_probe: child still blocked after %ds: killed\n", seconds);
            rc = -1;
            break;
        }
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    atomic_store(&release_it, 1);
    pthread_join(t, NULL);
    if (rc == -1)
        return 124;
    if (WIFSIGNALED(st))
        return 128 + WTERMSIG(st);
    return WEXITSTATUS(st);
}
