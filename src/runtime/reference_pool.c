/* reference_pool.c — a fork/join parallel-for over fixed chunks (pthreads). */
#include "reference.h"
#include "context.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

typedef struct pool_job {
    ref_chunk_fn  fn;
    void         *arg;
    int64_t       nchunks;
    atomic_llong  next;
} pool_job;

static void *pool_worker(void *p)
{
    pool_job *job = p;
    for (;;) {
        int64_t c = atomic_fetch_add(&job->next, 1);
        if (c >= job->nchunks) break;
        job->fn(job->arg, c);
    }
    return NULL;
}

void dsmlpR_ref_parallel(int nthreads, int64_t nchunks, ref_chunk_fn fn, void *arg)
{
    if (nchunks <= 0) return;
    if (nthreads > REF_MAX_THREADS) nthreads = REF_MAX_THREADS;
    if (nthreads > nchunks) nthreads = (int)nchunks;
    if (nthreads <= 1) {
        for (int64_t c = 0; c < nchunks; c++) fn(arg, c);
        return;
    }
    pool_job job = {.fn = fn, .arg = arg, .nchunks = nchunks};
    atomic_init(&job.next, 0);
    pthread_t tid[REF_MAX_THREADS];
    int started = 0;
    for (int i = 1; i < nthreads; i++) {
        if (pthread_create(&tid[started], NULL, pool_worker, &job) != 0) break;  /* fewer helpers: still correct */
        started++;
    }
    pool_worker(&job);
    for (int i = 0; i < started; i++) pthread_join(tid[i], NULL);
}

static int online_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > REF_MAX_THREADS ? REF_MAX_THREADS : (int)n;
}

int dsmlpR_ref_threads_effective(const dsmlp_ctx *ctx)
{
    int n = ctx ? ctx->rt->ref_threads : 1;
    /* 1 (the default) and 0 (auto) defer to the context's ref_threads option
    ** (DSMLP_REF_THREADS) when it says something else than 1. */
    if (n <= 1 && ctx && ctx_opts(ctx)->ref_threads != 1) n = ctx_opts(ctx)->ref_threads;
    if (n <= 0) n = online_cpus();
    return n > REF_MAX_THREADS ? REF_MAX_THREADS : n;
}

void dsmlp_reference_set_threads(dsmlp_ctx *ctx, int nthreads)
{
    if (ctx) ctx->rt->ref_threads = nthreads < 0 ? 0 : nthreads;
}
