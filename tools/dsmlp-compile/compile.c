/* compile.c — compiles the unique kernels on several threads through the library (dsmlp_compile_kernels: one
** context per thread, work handed out one kernel at a time) and reports progress and the stores' state. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct compile_run {
    cli_job  *jobs;
    progress *pg;
} compile_run;

static void on_done(void *arg, int i, int cached, double seconds)
{
    compile_run *r = arg;
    cli_job *j = &r->jobs[i];
    j->cached = cached, j->seconds = seconds;
    progress_step(r->pg, j->name, j->arch, cached, seconds);
}

dsmlp_status compile_jobs(dsmlp_ctx *ctx, cli_job *jobs, int n, int threads, progress *pg,
                          char *err, size_t errlen, cli_store_report *rep)
{
    memset(rep, 0, sizeof *rep);
    err[0] = '\0';
    dsmlp_cache_stats before, after;
    dsmlp_cache_get_stats(ctx, &before);
    dsmlp_kernel_ref *refs = calloc(n > 0 ? (size_t)n : 1, sizeof *refs);
    if (!refs) {
        snprintf(err, errlen, "out of memory for %d kernels", n);
        return DSMLP_ERR_NOMEM;
    }
    for (int i = 0; i < n; i++) refs[i] = (dsmlp_kernel_ref){jobs[i].plan, jobs[i].index};
    compile_run r = {jobs, pg};
    dsmlp_status s = dsmlp_compile_kernels(ctx, refs, n, threads < 1 ? 1 : threads, on_done, &r);
    free(refs);
    if (s != DSMLP_OK) snprintf(err, errlen, "%s", dsmlp_last_error(ctx));
    /* every thread's store failures and first warning are in ctx's now */
    dsmlp_cache_get_stats(ctx, &after);
    rep->write_failures = after.write_failures - before.write_failures;
    const char *w = dsmlp_cache_warning(ctx);
    if (w && *w) snprintf(rep->warning, sizeof rep->warning, "%s", w);
    return s;
}
