/* gpu_case.c — see gpu_case.h. */
#define _GNU_SOURCE
#include "gpu_case.h"
#include "pool.h"   /* src/base: the tree's one parallel-for */
#include "dtype.h"
#include "runtime/context.h"
#include "runtime/device.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


const cuda_api *gu_cu(dsmlp_ctx *ctx)
{
    const cuda_api *cu = NULL;
    ck_assert_msg(dsmlpR_cuda_api_load(ctx, &cu) == DSMLP_OK, "driver: %s", dsmlp_last_error(ctx));
    return cu;
}

const char *gu_card(dsmlp_ctx *ctx)
{
    struct device *d;
    return dsmlpR_device_get(ctx, &d) == DSMLP_OK ? d->name : "?";
}

int gu_cores(void) { return dsmlpB_online_cpus(); }

/* The library's one tolerance table. */
double gu_tol(dsmlp_dtype t) { return dsmlp_tolerance(t); }

static dsmlp_ctx *ctx_sm90(const dsmlp_ctx_options *o, const char *what)
{
    dsmlp_ctx *ctx = NULL;
    ck_assert_int_eq(dsmlp_ctx_create_with(o, &ctx), DSMLP_OK);
    const char *arch = dsmlp_device_arch(ctx);
    if (!arch || strncmp(arch, "sm_90", 5)) {
        printf("note: %s: %s needs sm_90; not run\n", arch ? arch : "no device", what);
        dsmlp_ctx_free(ctx);
        return NULL;
    }
    dsmlp_reference_set_threads(ctx, gu_cores());
    return ctx;
}

dsmlp_ctx *gu_ctx_sm90(const char *what)
{
    dsmlp_ctx_options o;
    dsmlp_ctx_options_default(&o);
    dsmlp_ctx_options_from_env(&o);
    return ctx_sm90(&o, what);
}

dsmlp_ctx *gu_ctx_wgmma_pinned(const char *what, int splits)
{
    dsmlp_ctx_options o;
    dsmlp_ctx_options_default(&o);
    dsmlp_ctx_options_from_env(&o);
    o.mixed_gemm = 2, o.stream_max_tokens = 0;
    if (splits) o.mixed_serial_split = 0;         /* every split in clusters */
    if (splits == 1) o.mixed_two_groups = 2;      /* ... in two groups wherever they fit */
    return ctx_sm90(&o, what);
}

/* ---------------------------------------------------- fast parallel fill */

/* Uniform in ±sqrt(3)·scale (variance scale²), never 0, rounded to t; one
** splitmix stream per thread seeded from the test seed, so it stays
** reproducible with DSMLP_TEST_SEED. Normal draws are too slow for 10⁹
** weights. */
typedef struct gu_fill_job {
    dsmlp_dtype t;
    void       *buf;
    int64_t     n;
    double      scale, shift;
    uint64_t    seed;
} gu_fill_job;

enum { GU_FILL_CHUNK = 65536 };

static void gu_fill_chunk(void *arg, int64_t c, int worker)
{
    const gu_fill_job *j = arg;
    (void)worker;
    uint64_t s = j->seed ^ ((uint64_t)c * 0xd1b54a32d192ed03ull);
    int64_t hi = (c + 1) * GU_FILL_CHUNK < j->n ? (c + 1) * GU_FILL_CHUNK : j->n;
    for (int64_t i = c * GU_FILL_CHUNK; i < hi; i++) {
        double v;
        do {
            uint64_t z = (s += 0x9e3779b97f4a7c15ull);
            z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
            z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
            z ^= z >> 31;
            double u = (double)(z >> 11) * 0x1.0p-53;
            if (j->t == DSMLP_I8) v = (double)((int)(z % 255) - 127);
            else v = dsmlpB_dtype_round(j->t, j->shift + j->scale * 1.7320508075688772 * (2 * u - 1));
        } while (v == 0);
        dsmlpB_dtype_store(j->t, j->buf, i, v);
    }
}

/* Chunks are independent streams, so the result depends on the seed only,
** not on the number of threads. */
void gu_fill(dsmlp_dtype t, void *buf, int64_t n, double scale, double shift)
{
    gu_fill_job job = {t, buf, n, scale, shift, tu_next()};
    dsmlpB_parallel(gu_cores(), (n + GU_FILL_CHUNK - 1) / GU_FILL_CHUNK, gu_fill_chunk, &job);
}

/* ------------------------------------------------------------- a case */



gu_tensor *gu_find(gu_case *c, const char *name)
{
    for (int i = 0; i < c->n; i++)
        if (!strcmp(c->t[i].name, name)) return &c->t[i];
    return NULL;
}

/* Fan-in of the matrix a parameter belongs to ("w1", "w1_scales"). */
int64_t gu_fan_in(gu_case *c, const char *name)
{
    char base[64];
    snprintf(base, sizeof base, "%s", name);
    char *us = strstr(base, "_scales");
    if (us) *us = 0;
    dsmlp_value_info vi;
    for (int v = 0; v < dsmlp_graph_size(c->g); v++) {
        if (dsmlp_value_get(c->g, v, &vi) != DSMLP_OK || vi.op != DSMLP_OP_PARAM || strcmp(vi.name, base)) continue;
        if (vi.rank == 2) return vi.layout == DSMLP_LAYOUT_IN_OUT ? vi.dims[0] : vi.dims[1];
    }
    return 1;
}

void gu_fill_param_as(const char *name, dsmlp_dtype t, void *buf, int64_t rows, int64_t cols, int64_t fan_in)
{
    int64_t n = rows * cols;
    if (t == DSMLP_I8) {                        /* int8 weight: ±127 uniform */
        gu_fill(t, buf, n, 1, 0);
    } else if (strstr(name, "_scales")) {       /* positive group scales    */
        /* uniform ints in ±127 have std 73.3; scale so W ~ 1/sqrt(fan_in) */
        double s = 1.0 / (73.3 * sqrt((double)fan_in));
        gu_fill(t, buf, n, 0.25 * s, s);
    } else if (rows > 1 || strncmp(name, "w", 1) == 0) {   /* weights */
        gu_fill(t, buf, n, 1.0 / sqrt((double)fan_in), 0);
    } else if (strstr(name, "norm_w")) {        /* γ around 1               */
        gu_fill(t, buf, n, 0.2, 1.0);
    } else {                                    /* biases                   */
        gu_fill(t, buf, n, 0.5, 0);
    }
}

void gu_fill_param(gu_case *c, gu_tensor *t)
{
    gu_fill_param_as(t->name, t->dtype, t->host, t->rows, t->cols, gu_fan_in(c, t->name));
}

/* Builds cfg into a plan (max_tokens), uploads random parameters, allocates
** inputs and output. Returns DSMLP_OK or the failing status (message in ctx). */
dsmlp_status gu_case_open(gu_case *c, dsmlp_ctx *ctx, const dsmlp_mlp_config *cfg, int64_t max_tokens,
                                 const char *desc)
{
    memset(c, 0, sizeof *c);
    c->ctx = ctx;
    c->cu = gu_cu(ctx);
    c->max_tokens = max_tokens;
    snprintf(c->desc, sizeof c->desc, "%s", desc);
    TU_OK(ctx, dsmlp_graph_create(ctx, "gpu_case", &c->g));
    dsmlp_status s = dsmlp_mlp_build(c->g, cfg);
    if (s != DSMLP_OK) return s;
    dsmlp_compile_options o;
    dsmlp_compile_options_default(&o);
    o.max_tokens = max_tokens;
    if ((s = dsmlp_compile(ctx, c->g, &o, &c->pl)) != DSMLP_OK) return s;
    GU_CU(c->cu->cuStreamCreate(&c->stream, CU_STREAM_NON_BLOCKING));
    dsmlp_value_info vi;
    for (int v = 0; v < dsmlp_graph_size(c->g); v++) {
        TU_OK(ctx, dsmlp_value_get(c->g, v, &vi));
        if (vi.op != DSMLP_OP_INPUT && vi.op != DSMLP_OP_PARAM && vi.op != DSMLP_OP_OUTPUT) continue;
        ck_assert_int_lt(c->n, GU_MAX_TENSORS);
        gu_tensor *t = &c->t[c->n++];
        t->name = vi.name;
        t->op = vi.op;
        t->dtype = vi.dtype;
        t->rows = vi.op == DSMLP_OP_PARAM ? (vi.rank == 2 ? vi.dims[0] : 1) : max_tokens;
        t->cols = vi.rank == 2 ? vi.dims[1] : vi.dims[0];
        if (vi.tokens) t->cols = vi.dims[1];
        size_t bytes = (size_t)(t->rows * t->cols) * dsmlp_dtype_size(t->dtype);
        if (vi.op != DSMLP_OP_OUTPUT) {
            t->host = malloc(bytes);
            ck_assert_ptr_nonnull(t->host);
        }
        /* The plan drops graph inputs nothing reads (NOT_FOUND); the
        ** reference still gets them, so a wrongly dropped one shows as error. */
        if (vi.op == DSMLP_OP_PARAM) {
            gu_fill_param(c, t);
            s = dsmlp_upload(c->pl, t->name, t->host, bytes);
        } else {
            GU_CU(c->cu->cuMemAlloc(&t->dev, bytes));
            s = dsmlp_bind(c->pl, t->name, (void *)(uintptr_t)t->dev);
        }
        ck_assert_msg(s == DSMLP_OK || (s == DSMLP_ERR_NOT_FOUND && vi.op != DSMLP_OP_OUTPUT), "binding %s: %s", t->name,
                      dsmlp_last_error(ctx));
        if (vi.op == DSMLP_OP_OUTPUT) {
            c->out = c->n - 1;
            c->dtype = t->dtype;
            c->ref = malloc(sizeof(double) * (size_t)(t->rows * t->cols));
            c->got = malloc(bytes);
            ck_assert(c->ref && c->got);
        }
    }
    return DSMLP_OK;
}

void gu_case_close(gu_case *c)
{
    if (c->pl) dsmlp_plan_free(c->pl);
    for (int i = 0; i < c->n; i++) {
        free(c->t[i].host);
        if (c->t[i].dev) c->cu->cuMemFree(c->t[i].dev);
    }
    if (c->stream) c->cu->cuStreamDestroy(c->stream);
    free(c->ref);
    free(c->got);
    if (c->g) dsmlp_graph_free(c->g);
    memset(c, 0, sizeof *c);
}

/* Fresh random inputs for T tokens, uploaded. */
void gu_case_inputs(gu_case *c, int64_t T)
{
    for (int i = 0; i < c->n; i++) {
        gu_tensor *t = &c->t[i];
        if (t->op != DSMLP_OP_INPUT) continue;
        gu_fill(t->dtype, t->host, T * t->cols, 1.0, 0);
        GU_CU(c->cu->cuMemcpyHtoD(t->dev, t->host, (size_t)(T * t->cols) * dsmlp_dtype_size(t->dtype)));
    }
    /* A pageable cuMemcpyHtoD may return before its DMA lands, on the legacy stream, which c->stream (non-blocking)
    ** does not wait for: the run could read the previous inputs. (Seen on an H200 shared with other processes.) */
    GU_CU(c->cu->cuCtxSynchronize());
}

/* Reference for the current host inputs into c->ref. */
void gu_case_reference(gu_case *c, int64_t T)
{
    dsmlp_host_tensor b[GU_MAX_TENSORS];
    for (int i = 0; i < c->n; i++) {
        gu_tensor *t = &c->t[i];
        b[i] = (dsmlp_host_tensor){t->name, t->op == DSMLP_OP_OUTPUT ? DSMLP_F64 : t->dtype,
                                   t->op == DSMLP_OP_OUTPUT ? (void *)c->ref : t->host};
    }
    TU_OK(c->ctx, dsmlp_reference_run_f64(c->g, T, b, c->n));
}

/* Reads the output back and returns its relative error against c->ref
** (INFINITY for NaN or an unwritten, still poisoned element). */
double gu_case_error(gu_case *c, int64_t T)
{
    gu_tensor *o = &c->t[c->out];
    GU_CU(c->cu->cuMemcpyDtoH(c->got, o->dev, (size_t)(T * o->cols) * dsmlp_dtype_size(o->dtype)));
    return tu_rel_error(o->dtype, c->got, c->ref, T * o->cols);
}

/* One full check at T: fresh inputs, poisoned output, run, sync, compare. */
double gu_case_check(gu_case *c, int64_t T, dsmlp_status *status)
{
    gu_tensor *o = &c->t[c->out];
    gu_case_inputs(c, T);
    GU_CU(c->cu->cuMemsetD8Async(o->dev, 0xff, (size_t)(T * o->cols) * dsmlp_dtype_size(o->dtype), c->stream));
    *status = dsmlp_run(c->pl, T, (void *)c->stream);
    if (*status != DSMLP_OK) return INFINITY;
    GU_CU(c->cu->cuStreamSynchronize(c->stream));
    gu_case_reference(c, T);
    return gu_case_error(c, T);
}

/* ------------------------------------------------- parallel pre-compile */

/* NVRTC compiles dominate a suite of hundreds of plans: build every config's
** plan with defer_compile, then compile the distinct kernels on all cores
** (dsmlp_compile_kernels) into the shared disk store (DSMLP_CACHE_DIR), so
** the suite's own dsmlp_compile calls are store hits. Returns the number of
** distinct kernels compiled (or found). */
int gu_precompile(dsmlp_ctx *ctx, const dsmlp_mlp_config *cfgs, int ncfg, int64_t max_tokens)
{
    dsmlp_plan **plans = calloc((size_t)ncfg, sizeof *plans);
    dsmlp_kernel_ref *refs = NULL;
    int n = 0, cap = 0;
    dsmlp_compile_options o;
    dsmlp_compile_options_default(&o);
    o.max_tokens = max_tokens;
    o.arch = dsmlp_device_arch(ctx);
    o.defer_compile = 1;
    for (int c = 0; c < ncfg; c++) {
        dsmlp_graph *g;
        TU_OK(ctx, dsmlp_graph_create(ctx, "pre", &g));
        if (dsmlp_mlp_build(g, &cfgs[c]) == DSMLP_OK && dsmlp_plan_build(ctx, g, &o, &plans[c]) == DSMLP_OK) {
            for (int k = 0; k < dsmlp_plan_kernels(plans[c]); k++) {
                const char *name, *key;
                TU_OK(ctx, dsmlp_plan_kernel(plans[c], k, &name, &key));
                int dup = 0;
                for (int j = 0; j < n && !dup; j++) {
                    const char *n2, *k2;
                    dsmlp_plan_kernel(refs[j].plan, refs[j].index, &n2, &k2);
                    dup = !strcmp(key, k2);
                }
                if (dup) continue;
                if (n == cap) {
                    cap = cap ? 2 * cap : 256;
                    refs = realloc(refs, sizeof *refs * (size_t)cap);
                    ck_assert_ptr_nonnull(refs);
                }
                refs[n++] = (dsmlp_kernel_ref){plans[c], k};
            }
        }
        dsmlp_graph_free(g);
    }
    dsmlp_status st = dsmlp_compile_kernels(ctx, refs, n, gu_cores(), NULL, NULL);
    ck_assert_msg(st == DSMLP_OK, "pre-compiling %d kernels: %s", n, dsmlp_last_error(ctx));
    for (int c = 0; c < ncfg; c++) dsmlp_plan_free(plans[c]);
    free(plans);
    free(refs);
    return n;
}

/* ------------------------------------------------------------- tallies */


void gu_tally_add(gu_tally *ty, dsmlp_dtype t, const char *desc, int64_t T, double err, int ok)
{
    ty->cases++;
    ty->per_dtype[t]++;
    if (!ok) ty->failed++;
    if (!(err <= ty->worst[t])) {
        ty->worst[t] = err;
        snprintf(ty->worst_desc[t], sizeof ty->worst_desc[t], "%s T=%lld", desc, (long long)T);
    }
}

void gu_tally_print(const gu_tally *ty, const char *suite, dsmlp_ctx *ctx)
{
    printf("== %s: card %s: %d cases (%d failed, %d configs skipped as invalid)\n", suite, gu_card(ctx), ty->cases,
           ty->failed, ty->skipped);
    for (int t = 0; t < DSMLP_I8; t++)
        if (ty->per_dtype[t])
            printf("   %-4s %5d cases, worst rel. error %.3e (tolerance %.1e) at %s\n", dsmlp_dtype_name(t),
                   ty->per_dtype[t], ty->worst[t], gu_tol(t), ty->worst_desc[t]);
    fflush(stdout);
}

/* The main of every GPU suite: skip without a device, no fork, a private
** kernel store directory shared by the suite's threads. */
int gu_main(Suite *(*make)(void), const char *tag)
{
    dsmlp_ctx *ctx = NULL;
    if (dsmlp_ctx_create(&ctx) != DSMLP_OK) return 1;
    if (!dsmlp_device_available(ctx)) {
        printf("skipped: %s\n", dsmlp_last_error(ctx));
        dsmlp_ctx_free(ctx);
        return TU_SKIP;
    }
    dsmlp_ctx_free(ctx);
    const char *base = getenv("TMPDIR");
    char dir[512];
    snprintf(dir, sizeof dir, "%s/dsmlp-%s-XXXXXX", base && *base ? base : "/tmp", tag);
    if (!mkdtemp(dir)) {
        perror(dir);
        return 1;
    }
    setenv("DSMLP_CACHE_DIR", dir, 1);
    setenv("CK_FORK", "no", 1);
    int rc = tu_run_suite(make());
    tu_rmtree(dir);
    return rc;
}

int gu_count(const char *text, const char *what)
{
    int n = 0;
    for (const char *s = text; (s = strstr(s, what)); s++) n++;
    return n;
}
