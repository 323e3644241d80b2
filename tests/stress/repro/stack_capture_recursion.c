/* Reproducer (agent bug): with the default FORKWATCH_STACKS=1 the first lock at a new
 * call site captures a stack with libunwind; libunwind's own pthread_mutex_lock goes
 * through the agent's interposer again, which captures again and self-deadlocks on
 * libunwind's lock (fw_acquire_begin -> fw_stack_id_for -> capture -> unw_backtrace ->
 * pthread_mutex_lock -> fw_acquire_begin -> ... ). Expected: exits 0 at once.
 *   cc -pthread -o r stack_capture_recursion.c && LD_PRELOAD=build/libforkwatch.so timeout 10 ./r; echo $?
 */
#include <pthread.h>
#include <stdio.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;

static void *worker(void *arg)
{
    (void)arg;
    for (int i = 0; i < 3; i++) {
        pthread_mutex_lock(&m);
        pthread_mutex_unlock(&m);
    }
    return NULL;
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, worker, NULL);
    pthread_join(t, NULL);
    worker(NULL);
    puts("ok");
    return 0;
}
