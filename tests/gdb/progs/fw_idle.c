/* Test program for tests/gdb: a worker takes and releases a mutex in a loop, the main
 * thread sleeps. On SIGUSR1 main checks the worker still makes progress and that it
 * can take the lock itself, then both stop and the process exits 0 (1 if stuck). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static volatile sig_atomic_t told;
static volatile int stop;
static volatile unsigned long count;

static void on_usr1(int sig) { (void)sig; told = 1; }

static void *worker(void *arg) {
    (void)arg;
    while (!stop) {
        pthread_mutex_lock(&m);
        count++;
        pthread_mutex_unlock(&m);
        usleep(1000);
    }
    return NULL;
}

int main(void) {
    struct sigaction sa = {0};
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    pthread_t t;
    pthread_create(&t, NULL, worker, NULL);
    pthread_setname_np(t, "Worker");
    const char *ev = getenv("FIXTURE_EVENTS");
    if (ev) { FILE *f = fopen(ev, "a"); if (f) { fprintf(f, "ready=1\n"); fclose(f); } }
    struct timespec ts = {0, 5 * 1000 * 1000};
    for (int i = 0; i < 12000 && !told; i++) nanosleep(&ts, NULL);   /* at most 60 s */
    if (!told) return 2;
    unsigned long before = count;
    for (int i = 0; i < 400 && count == before; i++) nanosleep(&ts, NULL);
    int ok = count != before && pthread_mutex_lock(&m) == 0 && pthread_mutex_unlock(&m) == 0;
    stop = 1;
    pthread_join(t, NULL);
    return ok ? 0 : 1;
}
