/* checks/spawn_exec.c — issue 6 §3: vfork + exec, posix_spawn, system(), popen() and
 * fork + exec while another thread holds a mutex. None of these children can block on the
 * parent's locks: each must run /bin/true and exit 0, and the agent must write no event;
 * afterwards a plain fork whose child blocks on the held mutex still ends with 86.
 * Exit 0 when all holds, 1 otherwise (one line says what), 3 no agent. */
#define _GNU_SOURCE
#include "forkwatch_abi.h"

#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static atomic_int holding, release_it;

static void nap(void)
{
    struct timespec ts = {0, 200000};
    nanosleep(&ts, NULL);
}

static void *holder(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&m);
    atomic_store(&holding, 1);
    while (!atomic_load(&release_it))
        nap();
    pthread_mutex_unlock(&m);
    return NULL;
}

static int wait_bounded(pid_t pid, int seconds)
{
    int st = 0;
    for (long i = 0; waitpid(pid, &st, WNOHANG) == 0; i++) {
        if (i > seconds * 5000L) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            return -1;
        }
        nap();
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static long report_size(void)
{
    const char *p = getenv("FORKWATCH_REPORT");
    struct stat sb;
    return p && stat(p, &sb) == 0 ? (long)sb.st_size : 0;
}

int main(void)
{
    if (!dlsym(RTLD_DEFAULT, FW_REGISTRY_SYMBOL)) {
        puts("no agent");
        return 3;
    }
    int bad = 0;
    pthread_t t;
    pthread_create(&t, NULL, holder, NULL);
    while (!atomic_load(&holding))
        nap();
    long size0 = report_size();
    char *argv_true[] = {"true", NULL};

    pid_t pid = vfork();
    if (pid == 0) {
        execv("/bin/true", argv_true);
        _exit(127);
    }
    int rc = wait_bounded(pid, 20);
    if (rc != 0)
        printf("vfork+exec: status %d\n", rc), bad = 1;

    if (posix_spawn(&pid, "/bin/true", NULL, NULL, argv_true, environ) != 0 || (rc = wait_bounded(pid, 20)) != 0)
        printf("posix_spawn: status %d\n", rc), bad = 1;

    rc = system("exec /bin/true");
    if (rc != 0)
        printf("system: status %d\n", rc), bad = 1;

    FILE *f = popen("/bin/true", "r");
    if (!f || (rc = pclose(f)) != 0)
        printf("popen: status %d\n", rc), bad = 1;

    pid = fork();
    if (pid == 0) {
        execv("/bin/true", argv_true);   /* exec after fork: the new image starts clean */
        _exit(127);
    }
    rc = wait_bounded(pid, 20);
    if (rc != 0)
        printf("fork+exec: status %d\n", rc), bad = 1;

    long size1 = report_size();
    if (size1 != size0)
        printf("the agent wrote %ld bytes of events for children that never touched the lock\n", size1 - size0),
            bad = 1;

    pid = fork();
    if (pid == 0) {
        pthread_mutex_lock(&m);
        _exit(2);
    }
    rc = wait_bounded(pid, 20);
    if (rc != FW_EXIT_DEADLOCK)
        printf("plain fork afterwards: child status %d, want %d\n", rc, FW_EXIT_DEADLOCK), bad = 1;
    atomic_store(&release_it, 1);
    pthread_join(t, NULL);
    if (!bad)
        puts("vfork+exec, posix_spawn, system, popen, fork+exec: clean; plain fork still caught");
    return bad;
}
