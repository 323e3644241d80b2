/*
 * busy_locks — 8 threads take and release random sets of 16 mutexes (always in
 * ascending order, so no deadlock can exist), a rwlock and a semaphore, as fast
 * as they can: the agent's registry is being rewritten at every instant, so an
 * attach catches entries mid-update. Writes ready=1 to FIXTURE_EVENTS once all
 * threads run; ends itself after FIXTURE_TIMEOUT seconds (SIGALRM).
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define NLOCKS 16
#define NTHREADS 8
static pthread_mutex_t m[NLOCKS];
static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static sem_t sem;
static pthread_barrier_t go;

static void *worker(void *arg)
{
    unsigned seed = (unsigned)(unsigned long)arg * 2654435761u;
    pthread_barrier_wait(&go);
    for (;;) {
        int first = rand_r(&seed) % NLOCKS, n = 1 + rand_r(&seed) % 3;
        for (int i = first; i < NLOCKS && i < first + n; i++)
            pthread_mutex_lock(&m[i]);
        if (rand_r(&seed) & 1) {
            pthread_rwlock_rdlock(&rw);
            pthread_rwlock_unlock(&rw);
        } else {
            pthread_rwlock_wrlock(&rw);
            pthread_rwlock_unlock(&rw);
        }
        sem_wait(&sem);
        sem_post(&sem);
        for (int i = (first + n > NLOCKS ? NLOCKS : first + n) - 1; i >= first; i--)
            pthread_mutex_unlock(&m[i]);
    }
    return NULL;
}

int main(void)
{
    const char *t = getenv("FIXTURE_TIMEOUT");
    alarm((unsigned)(t && atoi(t) > 0 ? atoi(t) : 60));
    for (int i = 0; i < NLOCKS; i++)
        pthread_mutex_init(&m[i], NULL);
    sem_init(&sem, 0, 2);
    pthread_barrier_init(&go, NULL, NTHREADS + 1);
    pthread_t th[NTHREADS];
    for (long i = 0; i < NTHREADS; i++)
        pthread_create(&th[i], NULL, worker, (void *)(i + 1));
    pthread_barrier_wait(&go);
    const char *ev = getenv("FIXTURE_EVENTS");
    FILE *f = ev ? fopen(ev, "a") : NULL;
    if (f) {
        fprintf(f, "ready=1\n");
        fclose(f);
    }
    pause();
    return 0;
}
