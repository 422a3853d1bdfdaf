/* pool.c — see pool.h. */
#include "pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

typedef struct pool_job {
    pool_item_fn fn;
    void        *arg;
    int64_t      n;
    atomic_llong next;
} pool_job;

typedef struct pool_worker {
    pool_job *job;
    int       id;
} pool_worker;

static void *pool_run(void *p)
{
    pool_worker *w = p;
    for (int64_t i; (i = atomic_fetch_add(&w->job->next, 1)) < w->job->n;) w->job->fn(w->job->arg, i, w->id);
    return NULL;
}

int dsmlpB_online_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > POOL_MAX_THREADS ? POOL_MAX_THREADS : (int)n;
}

void dsmlpB_parallel(int nthreads, int64_t n, pool_item_fn fn, void *arg)
{
    if (n <= 0) return;
    if (nthreads > POOL_MAX_THREADS) nthreads = POOL_MAX_THREADS;
    if (nthreads > n) nthreads = (int)n;
    pool_job job = {.fn = fn, .arg = arg, .n = n};
    atomic_init(&job.next, 0);
    pool_worker w0 = {&job, 0};
    if (nthreads <= 1) {
        pool_run(&w0);
        return;
    }
    pthread_t *th = malloc(sizeof *th * (size_t)nthreads);
    pool_worker *w = malloc(sizeof *w * (size_t)nthreads);
    int started = 1;   /* workers 1 .. started-1 run on their own threads */
    for (int t = 1; th && w && t < nthreads; t++) {   /* no memory for threads: the caller does it all */
        w[t] = (pool_worker){&job, t};
        if (pthread_create(&th[t], NULL, pool_run, &w[t]) != 0) break;
        started = t + 1;
    }
    pool_run(&w0);
    for (int t = 1; t < started; t++) pthread_join(th[t], NULL);
    free(th);
    free(w);
}
