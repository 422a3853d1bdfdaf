/*
** compile.c — the one thin file: graph -> plan (compiler) -> kernels through
** the store (NVRTC), and dsmlp_compile (build + load). Load, bind and run
** live in the runtime's exec_*.c.
*/
#include "plan_handle.h"
#include "context.h"
#include "nvrtc.h"
#include "store.h"
#include "device.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Decode GEMV kernels: auto, per layout (lower.c lower_gemv, measured: bench/RESULTS.md). */
#define DSMLP_DECODE_MAX_TOKENS_DEFAULT (-1)

void dsmlp_compile_options_default(dsmlp_compile_options *o)
{
    if (!o) return;
    memset(o, 0, sizeof *o);
    o->max_tokens = 8192;
    o->decode_max_tokens = DSMLP_DECODE_MAX_TOKENS_DEFAULT;
    o->stream_max_tokens = -1;   /* auto: the route where it measured faster (quantized weights) */
    o->stream_pipe = 1;          /* the W ring variants where they apply (measured: bench/RESULTS.md) */
    o->mixed_gemm = 1;           /* mixed-input GEMMs where their grid fills the GPU (measured: bench/RESULTS.md) */
}

static dsmlp_status compile_one(dsmlp_ctx *ctx, plan_kernel *k, const char *arch, int *was_cached)
{
    store *s;
    dsmlp_status st = dsmlpR_ctx_store(ctx, &s);
    if (st != DSMLP_OK) return st;
    dsmlp_cache_stats before, after;
    dsmlp_cache_get_stats(ctx, &before);
    const void *cubin;
    size_t len;
    char key[65];
    st = dsmlpR_store_get(s, ctx, k->name, k->source, arch, &cubin, &len, key);
    if (st != DSMLP_OK) {
        dsmlpB_err_append(ctx, "while compiling kernel %s for %s", k->name, arch);
        return st;
    }
    dsmlp_cache_get_stats(ctx, &after);
    memcpy(k->key, key, 65);
    if (was_cached) *was_cached = after.compiles == before.compiles;
    return DSMLP_OK;
}

/* Every kernel of h compiled (or found in the store) on the context's compile threads (dsmlp_compile_kernels).
** The other threads' cubins reach this context through the disk store only, so without a writable one the
** calling thread compiles them all (the plan's load would otherwise compile them a second time). */
static dsmlp_status compile_all(dsmlp_ctx *ctx, dsmlp_plan *h)
{
    const int n = h->p->nkernels;
    if (n == 0) return DSMLP_OK;
    int threads = ctx_opts(ctx)->compile_threads;
    dsmlp_cache_stats cs;
    dsmlp_cache_get_stats(ctx, &cs);
    if (!cs.disk_writable) threads = 1;
    dsmlp_kernel_ref *refs = malloc(sizeof *refs * (size_t)n);
    if (!refs) return dsmlpB_err_set(ctx, DSMLP_ERR_NOMEM, "dsmlp_plan_build: out of memory");
    for (int i = 0; i < n; i++) refs[i] = (dsmlp_kernel_ref){h, i};
    dsmlp_status s = dsmlp_compile_kernels(ctx, refs, n, threads, NULL, NULL);
    free(refs);
    return s;
}

dsmlp_status dsmlp_plan_build(dsmlp_ctx *ctx, const dsmlp_graph *g, const dsmlp_compile_options *o,
                              dsmlp_plan **out)
{
    if (!ctx) return DSMLP_ERR_INVALID_ARG;
    if (!g || !out) return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "dsmlp_plan_build: graph and out are required");
    *out = NULL;
    dsmlp_compile_options opt;
    dsmlp_compile_options_default(&opt);
    if (o) opt = *o;
    if (opt.max_tokens <= 0) opt.max_tokens = 8192;
    /* For measuring the variants without rebuilding callers (DSMLP_DECODE_MAX_TOKENS,
    ** DSMLP_STREAM_MAX_TOKENS, DSMLP_STREAM_PIPE through the context's options). */
    if (ctx_opts(ctx)->decode_max_tokens != DSMLP_CTX_KEEP) opt.decode_max_tokens = ctx_opts(ctx)->decode_max_tokens;
    if (ctx_opts(ctx)->stream_max_tokens != DSMLP_CTX_KEEP) opt.stream_max_tokens = ctx_opts(ctx)->stream_max_tokens;
    if (ctx_opts(ctx)->stream_pipe != DSMLP_CTX_KEEP) opt.stream_pipe = ctx_opts(ctx)->stream_pipe;
    if (ctx_opts(ctx)->mixed_gemm != DSMLP_CTX_KEEP) opt.mixed_gemm = ctx_opts(ctx)->mixed_gemm;
    if (!opt.arch) {
        /* the device's arch, else sm_90 (no GPU needed to build a plan) */
        if (dsmlp_device_available(ctx)) opt.arch = dsmlp_device_arch(ctx);
        if (!opt.arch) opt.arch = "sm_90";
        dsmlpB_err_clear(ctx);
    }
    if (!dsmlpR_nvrtc_arch_valid(opt.arch))
        return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG,
                       "dsmlp_plan_build: target arch '%s' is not supported (valid: %s)", opt.arch,
                       dsmlpR_nvrtc_arch_list());
    dsmlp_plan *h = calloc(1, sizeof *h);
    if (!h) return dsmlpB_err_set(ctx, DSMLP_ERR_NOMEM, "dsmlp_plan_build: out of memory");
    h->ctx = dsmlpB_ctx_retain(ctx);   /* the plan keeps its context alive */
    dsmlp_status s = dsmlpC_plan_make(ctx, g, &opt, &h->p);
    for (int i = 0; s == DSMLP_OK && i < h->p->nkernels; i++) {
        plan_kernel *k = &h->p->kernels[i];
        dsmlpR_nvrtc_dump_source(ctx_opts(ctx)->dump_dir, k->name, k->source);
        if (opt.defer_compile) {   /* (a compile below sets the key itself) */
            char key[65];
            s = dsmlpR_store_key(ctx, k->source, dsmlpC_kernel_arch(h->p, k), key);
            if (s == DSMLP_OK) memcpy(k->key, key, 65);
        }
    }
    if (s == DSMLP_OK && !opt.defer_compile) s = compile_all(ctx, h);
    if (s != DSMLP_OK) {
        dsmlp_plan_free(h);
        return s;
    }
    *out = h;
    return DSMLP_OK;
}

void dsmlp_plan_free(dsmlp_plan *p)
{
    if (!p) return;
    if (p->rt && p->rt_free) p->rt_free(p->rt);
    dsmlpC_plan_destroy(p->p);
    dsmlpB_ctx_release(p->ctx);
    free(p);
}

dsmlp_status dsmlp_plan_explain(const dsmlp_plan *p, char **text)
{
    if (!p || !text) return DSMLP_ERR_INVALID_ARG;
    dsmlp_status s = dsmlpC_plan_explain_text(p->p, text);
    if (s != DSMLP_OK) return dsmlpB_err_set(p->ctx, s, "dsmlp_plan_explain: out of memory");
    return DSMLP_OK;
}

int dsmlp_plan_steps(const dsmlp_plan *p) { return p ? p->p->nsteps : 0; }

const char *dsmlp_plan_step_label(const dsmlp_plan *p, int i)
{
    if (!p || i < 0 || i >= p->p->nsteps) return NULL;
    return p->p->steps[i].label;
}

int dsmlp_plan_kernels(const dsmlp_plan *p) { return p ? p->p->nkernels : 0; }

const char *dsmlp_plan_kernel_arch(const dsmlp_plan *p, int i)
{
    if (!p || i < 0 || i >= p->p->nkernels) return NULL;
    return dsmlpC_kernel_arch(p->p, &p->p->kernels[i]);
}

dsmlp_status dsmlp_plan_kernel(const dsmlp_plan *p, int i, const char **name, const char **key)
{
    if (!p) return DSMLP_ERR_INVALID_ARG;
    if (i < 0 || i >= p->p->nkernels)
        return dsmlpB_err_set(p->ctx, DSMLP_ERR_NOT_FOUND, "dsmlp_plan_kernel: no kernel %d (the plan has %d)", i,
                       p->p->nkernels);
    if (name) *name = p->p->kernels[i].name;
    if (key) *key = p->p->kernels[i].key;
    return DSMLP_OK;
}

const char *dsmlp_plan_arch(const dsmlp_plan *p) { return p ? p->p->arch : NULL; }

dsmlp_status dsmlp_plan_compile_kernel(dsmlp_ctx *ctx, const dsmlp_plan *p, int i, int *was_cached)
{
    if (!ctx) return DSMLP_ERR_INVALID_ARG;
    if (!p) return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "dsmlp_plan_compile_kernel: no plan");
    if (i < 0 || i >= p->p->nkernels)
        return dsmlpB_err_set(ctx, DSMLP_ERR_NOT_FOUND, "dsmlp_plan_compile_kernel: no kernel %d (the plan has %d)", i,
                       p->p->nkernels);
    /* Each kernel's slot is written by the one thread compiling it; the key
    ** bytes are the same whoever writes them. */
    plan_kernel *k = &((plan *)p->p)->kernels[i];
    return compile_one(ctx, k, dsmlpC_kernel_arch(p->p, k), was_cached);
}

dsmlp_status dsmlp_compile(dsmlp_ctx *ctx, const dsmlp_graph *g, const dsmlp_compile_options *o, dsmlp_plan **out)
{
    if (!out) return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "dsmlp_compile: out is NULL");
    *out = NULL;
    if (!ctx || !g) return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "dsmlp_compile: %s is NULL", ctx ? "graph" : "ctx");
    /* Fail fast without a device, before any NVRTC work. */
    struct device *dev;
    dsmlp_status s = dsmlpR_device_get(ctx, &dev);
    if (s != DSMLP_OK) return s;
    dsmlp_compile_options opt;
    if (o) opt = *o;
    else dsmlp_compile_options_default(&opt);
    if (!opt.arch) opt.arch = dev->arch;
    dsmlp_plan *pl;
    if ((s = dsmlp_plan_build(ctx, g, &opt, &pl)) != DSMLP_OK) return s;
    if ((s = dsmlp_plan_load(pl)) != DSMLP_OK) {
        char msg[ERR_MSG_MAX];   /* plan_free must not lose the message */
        snprintf(msg, sizeof msg, "%s", dsmlp_last_error(ctx));
        dsmlp_plan_free(pl);
        dsmlpB_err_set(ctx, s, "%s", msg);
        return s;
    }
    *out = pl;
    return DSMLP_OK;
}
