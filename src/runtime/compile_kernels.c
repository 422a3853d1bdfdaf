/* compile_kernels.c — dsmlp_compile_kernels: a plan's (or many plans') kernels compiled on several threads, one
** context per thread (contexts are not thread-safe), on the base layer's pool. */
#include "dsmlp.h"
#include "context.h"
#include "error.h"
#include "clock.h"
#include "pool.h"
#include "store_int.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct ck_job {
    const dsmlp_kernel_ref   *refs;
    dsmlp_ctx               **ctxs;     /* [worker]; [0] is the caller's */
    dsmlp_compile_progress_fn progress;
    void                     *arg;
    pthread_mutex_t           mu;       /* progress calls and the first error */
    atomic_int                failed;   /* set once: the rest is skipped      */
    dsmlp_status              status;
    char                      err[ERR_MSG_MAX];
} ck_job;

static void ck_one(void *p, int64_t i, int worker)
{
    ck_job *j = p;
    if (atomic_load(&j->failed)) return;
    dsmlp_ctx *c = j->ctxs[worker];
    double t0 = dsmlpB_seconds();
    int cached = 0;
    dsmlp_status s = dsmlp_plan_compile_kernel(c, j->refs[i].plan, j->refs[i].index, &cached);
    double dt = dsmlpB_seconds() - t0;
    pthread_mutex_lock(&j->mu);
    if (s != DSMLP_OK) {
        if (j->status == DSMLP_OK) {
            const char *name = "?", *key;
            dsmlp_plan_kernel(j->refs[i].plan, j->refs[i].index, &name, &key);
            j->status = s;
            snprintf(j->err, sizeof j->err, "kernel %s (%s): %s", name, dsmlp_plan_arch(j->refs[i].plan), dsmlp_last_error(c));
        }
        atomic_store(&j->failed, 1);
    } else if (j->progress) {
        j->progress(j->arg, (int)i, cached, dt);
    }
    pthread_mutex_unlock(&j->mu);
}

/* A worker's store statistics and first warning, added to the caller's. */
static void absorb(dsmlp_ctx *into, dsmlp_ctx *from)
{
    store *a, *b;
    if (dsmlpR_ctx_store(into, &a) != DSMLP_OK || dsmlpR_ctx_store(from, &b) != DSMLP_OK) return;
    dsmlp_cache_stats *x = &a->stats;
    const dsmlp_cache_stats *y = &b->stats;
    x->hits_memory += y->hits_memory, x->hits_disk += y->hits_disk, x->misses += y->misses;
    x->compiles += y->compiles, x->compile_seconds += y->compile_seconds;
    x->bytes_written += y->bytes_written, x->bytes_read += y->bytes_read;
    x->corrupt_replaced += y->corrupt_replaced, x->evictions += y->evictions, x->write_failures += y->write_failures;
    if (!a->warning[0] && b->warning[0]) snprintf(a->warning, sizeof a->warning, "%s", b->warning);
}

dsmlp_status dsmlp_compile_kernels(dsmlp_ctx *ctx, const dsmlp_kernel_ref *refs, int n, int threads,
                                   dsmlp_compile_progress_fn progress, void *arg)
{
    if (!ctx) return DSMLP_ERR_INVALID_ARG;
    if (n < 0 || (n > 0 && !refs))
        return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "dsmlp_compile_kernels: %d kernels at %p", n, (const void *)refs);
    for (int i = 0; i < n; i++)
        if (!refs[i].plan || refs[i].index < 0 || refs[i].index >= dsmlp_plan_kernels(refs[i].plan))
            return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "dsmlp_compile_kernels: refs[%d] names no kernel of a plan", i);
    if (threads < 1) threads = dsmlpB_online_cpus();
    if (threads > n) threads = n;
    if (threads > POOL_MAX_THREADS) threads = POOL_MAX_THREADS;
    if (threads < 1) threads = 1;
    ck_job j = {.refs = refs, .progress = progress, .arg = arg, .status = DSMLP_OK};
    j.ctxs = calloc((size_t)threads, sizeof *j.ctxs);
    if (!j.ctxs) return dsmlpB_err_set(ctx, DSMLP_ERR_NOMEM, "dsmlp_compile_kernels: out of memory for %d threads", threads);
    j.ctxs[0] = ctx;
    /* The workers use the caller's store as it is now: its directory (which dsmlp_cache_set_dir may have changed
    ** since the options), or none when it runs from memory. */
    dsmlp_ctx_options wo = *dsmlp_ctx_get_options(ctx);
    dsmlp_cache_stats cs;
    dsmlp_cache_get_stats(ctx, &cs);
    if (cs.disk_enabled) wo.cache_dir = dsmlp_cache_dir(ctx);
    else wo.cache_mode = DSMLP_CACHE_MEMORY;
    dsmlp_status s = DSMLP_OK;
    for (int t = 1; t < threads && s == DSMLP_OK; t++)
        if ((s = dsmlp_ctx_create_with(&wo, &j.ctxs[t])) != DSMLP_OK)
            s = dsmlpB_err_set(ctx, s, "dsmlp_compile_kernels: cannot create a context for thread %d: %s", t,
                               dsmlp_status_name(s));
    if (s == DSMLP_OK) {
        pthread_mutex_init(&j.mu, NULL);
        atomic_init(&j.failed, 0);
        dsmlpB_parallel(threads, n, ck_one, &j);
        pthread_mutex_destroy(&j.mu);
        s = j.status;
    }
    for (int t = 1; t < threads; t++)
        if (j.ctxs[t]) {
            absorb(ctx, j.ctxs[t]);
            dsmlp_ctx_free(j.ctxs[t]);
        }
    free(j.ctxs);
    if (s != DSMLP_OK && j.status != DSMLP_OK) return dsmlpB_err_set(ctx, s, "%s", j.err);
    if (s == DSMLP_OK) dsmlpB_err_clear(ctx);
    return s;
}
