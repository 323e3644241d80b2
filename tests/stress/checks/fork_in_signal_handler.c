/* checks/fork_in_signal_handler.c — issue 6 §3: fork() from a signal handler that
 * interrupts lock operations (inside the agent's interposers) of the same thread, while
 * another thread keeps locking too. The main thread also forks, with the signal blocked:
 * glibc's own fork() deadlocks on its atfork lock when a handler forks inside fork()
 * (seen here without any agent), so a careful program blocks signals around fork(). Every child _exits at once from the handler; none
 * may hang, no process may crash, and the agent may not deadlock on itself.
 * Exit 0 when 300 signals gave 300 clean children within the bounds; 1 otherwise. */
#define _GNU_SOURCE
#include "forkwatch_abi.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SIGNALS 300
static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER;
static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static sem_t s;
static atomic_int stop, children_bad, handled;
static pthread_t main_thread;

static void handler(int sig)
{
    (void)sig;
    int saved = errno;
    pid_t pid = fork();
    if (pid == 0)
        _exit(0);
    if (pid > 0) {
        int st = 0;
        for (long i = 0; waitpid(pid, &st, WNOHANG) == 0; i++) {
            if (i > 20L * 10000) {       /* 20 s */
                kill(pid, SIGKILL);
                waitpid(pid, &st, 0);
                atomic_fetch_add(&children_bad, 1);
                break;
            }
            struct timespec ts = {0, 100000};
            nanosleep(&ts, NULL);
        }
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            atomic_fetch_add(&children_bad, 1);
    } else {
        atomic_fetch_add(&children_bad, 1);
    }
    atomic_fetch_add(&handled, 1);
    errno = saved;
}

static void *other(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop)) {
        pthread_mutex_lock(&b);
        pthread_mutex_unlock(&b);
        pthread_rwlock_rdlock(&rw);
        pthread_rwlock_unlock(&rw);
    }
    return NULL;
}

static void *signaller(void *arg)
{
    (void)arg;
    for (int i = 0; i < SIGNALS; i++) {
        int before = atomic_load(&handled);
        pthread_kill(main_thread, SIGUSR1);
        for (long w = 0; atomic_load(&handled) == before; w++) {
            if (w > 30L * 10000) {       /* 30 s: the handler is stuck */
                printf("signal %d: the handler did not finish within 30 s\n", i);
                fflush(stdout);
                _exit(1);
            }
            struct timespec ts = {0, 100000};
            nanosleep(&ts, NULL);
        }
    }
    atomic_store(&stop, 1);
    return NULL;
}

int main(void)
{
    if (!dlsym(RTLD_DEFAULT, FW_REGISTRY_SYMBOL)) {
        puts("no agent");
        return 3;
    }
    sem_init(&s, 0, 1);
    struct sigaction sa = {0};
    sa.sa_handler = handler;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &sa, NULL);
    main_thread = pthread_self();
    pthread_t o, g;
    pthread_create(&o, NULL, other, NULL);
    pthread_create(&g, NULL, signaller, NULL);
    unsigned long loops = 0, forks = 0;
    while (!atomic_load(&stop)) {
        pthread_mutex_lock(&a);
        pthread_rwlock_wrlock(&rw);
        sem_wait(&s);
        sem_post(&s);
        pthread_rwlock_unlock(&rw);
        pthread_mutex_unlock(&a);
        if (++loops % 64 == 0) {
            /* a fork of our own, the signal blocked as glibc needs */
            sigset_t set, old;
            sigemptyset(&set);
            sigaddset(&set, SIGUSR1);
            pthread_sigmask(SIG_BLOCK, &set, &old);
            pid_t pid = fork();
            if (pid == 0)
                _exit(0);
            int st = 0;
            if (pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
                atomic_fetch_add(&children_bad, 1);
            pthread_sigmask(SIG_SETMASK, &old, NULL);
            forks++;
        }
    }
    pthread_join(g, NULL);
    pthread_join(o, NULL);
    int bad = atomic_load(&children_bad);
    printf("%d signals, each forking from the handler during %lu lock loops and %lu forks: %d bad children\n",
           atomic_load(&handled), loops, forks, bad);
    return bad ? 1 : 0;
}
