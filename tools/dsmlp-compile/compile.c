/* compile.c — compiles the unique kernels with a pool of worker threads.
** A dsmlp_ctx is not thread-safe, so each worker has its own, made with the
** main context's options; they share the cache directory, and the store's rename-based publishing makes concurrent
** writers safe. Work is handed out one kernel at a time (an atomic counter),
** so slow kernels do not leave other threads idle. */
#include "cli.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct pool {
    cli_job     *jobs;
    int          n;
    atomic_int   next;
    atomic_int   failed;       /* set once: workers stop taking jobs */
    progress    *pg;
    pthread_mutex_t mu;        /* guards the first error */
    dsmlp_status status;
    char        *err;
    size_t       errlen;
} pool;

typedef struct worker {
    pool      *pl;
    dsmlp_ctx *ctx;            /* borrowed (worker 0) or owned */
    int        owned;
} worker;

static void pool_fail(pool *pl, dsmlp_status s, const char *fmt, const char *a, const char *b, const char *c)
{
    pthread_mutex_lock(&pl->mu);
    if (pl->status == DSMLP_OK) {
        pl->status = s;
        snprintf(pl->err, pl->errlen, fmt, a, b, c);
    }
    atomic_store(&pl->failed, 1);
    pthread_mutex_unlock(&pl->mu);
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    pool *pl = w->pl;
    while (!atomic_load(&pl->failed)) {
        int i = atomic_fetch_add(&pl->next, 1);
        if (i >= pl->n) break;
        cli_job *j = &pl->jobs[i];
        double t0 = cli_now();
        int cached = 0;
        dsmlp_status s = dsmlp_plan_compile_kernel(w->ctx, j->plan, j->index, &cached);
        j->seconds = cli_now() - t0;
        j->cached = cached;
        if (s != DSMLP_OK) {
            pool_fail(pl, s, "kernel %s (%s): %s", j->name, j->arch, dsmlp_last_error(w->ctx));
            break;
        }
        progress_step(pl->pg, j->name, j->arch, cached, j->seconds);
    }
    return NULL;
}

static dsmlp_status worker_ctx(pool *pl, worker *w, const dsmlp_ctx *main_ctx)
{
    dsmlp_status s = dsmlp_ctx_create_with(dsmlp_ctx_get_options(main_ctx), &w->ctx);
    if (s != DSMLP_OK) {
        snprintf(pl->err, pl->errlen, "cannot create a context for a worker thread: %s", dsmlp_status_name(s));
        return s;
    }
    w->owned = 1;
    return DSMLP_OK;
}

/* Adds a worker's store failures and first warning to the report. */
static void report_add(cli_store_report *rep, dsmlp_ctx *ctx, uint64_t failures_before)
{
    dsmlp_cache_stats cs;
    dsmlp_cache_get_stats(ctx, &cs);
    rep->write_failures += cs.write_failures - failures_before;
    const char *w = dsmlp_cache_warning(ctx);
    if (!rep->warning[0] && w && *w) snprintf(rep->warning, sizeof rep->warning, "%s", w);
}

dsmlp_status compile_jobs(dsmlp_ctx *ctx, cli_job *jobs, int n, int threads, progress *pg,
                          char *err, size_t errlen, cli_store_report *rep)
{
    memset(rep, 0, sizeof *rep);
    dsmlp_cache_stats cs0;
    dsmlp_cache_get_stats(ctx, &cs0);
    if (threads > n) threads = n;
    if (threads < 1) threads = 1;
    pool pl = {.jobs = jobs, .n = n, .pg = pg, .status = DSMLP_OK, .err = err,
               .errlen = errlen};
    atomic_init(&pl.next, 0);
    atomic_init(&pl.failed, 0);
    pthread_mutex_init(&pl.mu, NULL);
    err[0] = '\0';

    worker *w = calloc((size_t)threads, sizeof *w);
    pthread_t *tid = calloc((size_t)threads, sizeof *tid);
    int started = 0;
    dsmlp_status s = DSMLP_OK;
    if (!w || !tid) {
        snprintf(err, errlen, "out of memory starting %d worker threads", threads);
        s = DSMLP_ERR_NOMEM;
        goto out;
    }
    /* Worker 0 runs on this thread with the caller's context, so that a
    ** memory-only store still ends up holding every kernel (for --bundle). */
    w[0] = (worker){.pl = &pl, .ctx = ctx};
    for (int t = 1; t < threads; t++) {
        w[t].pl = &pl;
        if ((s = worker_ctx(&pl, &w[t], ctx)) != DSMLP_OK) goto out;
    }
    for (int t = 1; t < threads; t++) {
        if (pthread_create(&tid[t], NULL, worker_main, &w[t]) != 0) {
            /* Fewer threads still finish the work. */
            break;
        }
        started = t;
    }
    worker_main(&w[0]);
    for (int t = 1; t <= started; t++) pthread_join(tid[t], NULL);
    s = pl.status;
out:
    report_add(rep, ctx, cs0.write_failures);
    if (w)
        for (int t = 0; t < threads; t++)
            if (w[t].owned) {
                report_add(rep, w[t].ctx, 0);
                dsmlp_ctx_free(w[t].ctx);
            }
    free(w);
    free(tid);
    pthread_mutex_destroy(&pl.mu);
    return s;
}
