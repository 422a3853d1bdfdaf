/* pool.c — see pool.h. */
#include "pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#define TC_MAX_THREADS 64

typedef struct tc_job {
    tc_item_fn  fn;
    void       *arg;
    int64_t     n;
    atomic_llong next;
} tc_job;

typedef struct tc_worker {
    tc_job *job;
    int     id;
} tc_worker;

static void *tc_run(void *p)
{
    tc_worker *w = p;
    for (int64_t i; (i = atomic_fetch_add(&w->job->next, 1)) < w->job->n;) w->job->fn(w->job->arg, i, w->id);
    return NULL;
}

int tc_cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > TC_MAX_THREADS ? TC_MAX_THREADS : (int)n;
}

void tc_parallel(int nthreads, int64_t n, tc_item_fn fn, void *arg)
{
    if (nthreads > TC_MAX_THREADS) nthreads = TC_MAX_THREADS;
    if (nthreads > n) nthreads = (int)n;
    if (nthreads < 1) nthreads = 1;
    tc_job job = {.fn = fn, .arg = arg, .n = n};
    atomic_init(&job.next, 0);
    pthread_t th[TC_MAX_THREADS];
    tc_worker w[TC_MAX_THREADS];
    int started = 1;
    for (int t = 1; t < nthreads; t++, started++) {
        w[t] = (tc_worker){&job, t};
        if (pthread_create(&th[t], NULL, tc_run, &w[t]) != 0) break;
    }
    w[0] = (tc_worker){&job, 0};
    tc_run(&w[0]);
    for (int t = 1; t < started; t++) pthread_join(th[t], NULL);
}
