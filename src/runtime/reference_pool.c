/* reference_pool.c — the reference executor's parallel-for over fixed chunks (on the base layer's pool) and its
** thread count. */
#include "reference.h"
#include "context.h"
#include "pool.h"

typedef struct ref_job {
    ref_chunk_fn fn;
    void        *arg;
} ref_job;

static void ref_item(void *p, int64_t chunk, int worker)
{
    const ref_job *j = p;
    (void)worker;
    j->fn(j->arg, chunk);
}

void dsmlpR_ref_parallel(int nthreads, int64_t nchunks, ref_chunk_fn fn, void *arg)
{
    ref_job j = {fn, arg};
    dsmlpB_parallel(nthreads > REF_MAX_THREADS ? REF_MAX_THREADS : nthreads, nchunks, ref_item, &j);
}

static int online_cpus(void)
{
    int n = dsmlpB_online_cpus();
    return n > REF_MAX_THREADS ? REF_MAX_THREADS : n;
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
