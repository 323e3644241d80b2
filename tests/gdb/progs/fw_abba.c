/* Test program for tests/gdb: ABBA deadlock between two pthread mutexes (no fork). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t barrier;

static void *t1(void *arg) {
    (void)arg;
    pthread_mutex_lock(&a);
    pthread_barrier_wait(&barrier);
    pthread_mutex_lock(&b);
    return NULL;
}

static void *t2(void *arg) {
    (void)arg;
    pthread_mutex_lock(&b);
    pthread_barrier_wait(&barrier);
    pthread_mutex_lock(&a);
    return NULL;
}

int main(void) {
    pthread_t x, y;
    pthread_barrier_init(&barrier, NULL, 2);
    pthread_create(&x, NULL, t1, NULL);
    pthread_setname_np(x, "ThreadA");
    pthread_create(&y, NULL, t2, NULL);
    pthread_setname_np(y, "ThreadB");
    pthread_join(x, NULL);
    pthread_join(y, NULL);
    return 0;
}
