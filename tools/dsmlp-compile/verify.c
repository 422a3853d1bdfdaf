/*
** verify.c — --verify: runs every layer on the GPU for a few token counts on
** fresh random inputs and weights and compares each output with the CPU
** reference executor (double precision, unrounded): relative error
** ||out - ref|| / ||ref||, tolerance by output dtype (f32 1e-5, f16 2e-3,
** bf16 1.6e-2); a NaN anywhere fails, and outputs are poisoned before each
** run so an unwritten element shows as NaN.
**
** Device buffers, copies, conversions and tolerances come from the library
** (dsmlp_device_*, dsmlp_convert, dsmlp_tolerance): one driver loader, one
** conversion, one tolerance table for the whole tree.
*/
#define _GNU_SOURCE
#include "cli.h"
#include "verify.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------ host numbers */

uint64_t rng_state;

double uniform(void)   /* [-1, 1), never 0 */
{
    for (;;) {
        rng_state ^= rng_state >> 12, rng_state ^= rng_state << 25, rng_state ^= rng_state >> 27;
        double u = (double)((rng_state * 0x2545F4914F6CDD1DULL) >> 11) * (2.0 / 9007199254740992.0) - 1.0;
        if (fabs(u) > 1e-3) return u;
    }
}

void store_elem(dsmlp_dtype t, void *buf, int64_t i, double v)
{
    dsmlp_convert((char *)buf + (size_t)i * dsmlp_dtype_size(t), t, &v, DSMLP_F64, 1);
}

double load_elem(dsmlp_dtype t, const void *buf, int64_t i)
{
    double v;
    dsmlp_convert(&v, DSMLP_F64, (const char *)buf + (size_t)i * dsmlp_dtype_size(t), t, 1);
    return v;
}

/* ------------------------------------------------------ one layer */

#define MAX_T 128
static const int64_t token_counts[] = {1, 7, MAX_T};

typedef struct tensor {
    dsmlp_value_info info;
    dsmlp_value      idx;
    int64_t          n;        /* elements per token row, or in all for params */
    void            *host;     /* inputs: MAX_T rows; params: all; outputs: MAX_T rows */
    double          *ref;      /* outputs: the reference, MAX_T rows */
    void            *dev;      /* inputs and outputs */
} tensor;

typedef struct layer_run {
    dsmlp_ctx         *ctx;
    const dsmlp_graph *g;
    const char        *name;
    tensor            *t;
    int                nt;
    dsmlp_plan        *plan;
    const dsmlp_weights    *w;         /* real weights (--weights), or NULL: random */
    const dsmlp_tensor_map *map;
    int                     model_layer;
    char               msg[1024];
} layer_run;

/* Fan-in of the weight matrix value v: its input features. */
static int64_t fan_in_of(const dsmlp_value_info *v)
{
    return v->rank == 2 ? (v->layout == DSMLP_LAYOUT_IN_OUT ? v->dims[0] : v->dims[1]) : 1;
}

/* Dequant scales: the fan-in of the int8 matrix they scale (1 if unused). */
static int64_t scales_fan_in(const dsmlp_graph *g, dsmlp_value idx)
{
    for (int i = 0; i < dsmlp_graph_size(g); i++) {
        dsmlp_value_info v, w;
        if (dsmlp_value_get(g, i, &v) == DSMLP_OK && v.op == DSMLP_OP_DEQUANT && v.src[1] == idx &&
            dsmlp_value_get(g, v.src[0], &w) == DSMLP_OK)
            return fan_in_of(&w);
    }
    return 1;
}

/* Weights scaled by 1/sqrt(fan-in) (int8: through their scales) keep the
** activations near 1 in every dtype; norm scales near 1, biases small. */
static void fill_param(const dsmlp_graph *g, tensor *x)
{
    const dsmlp_value_info *v = &x->info;
    int is_scales = v->rank == 1 && (v->dtype == DSMLP_F32 || v->dtype == DSMLP_F16) && strstr(v->name, "scales");
    int is_norm = v->rank == 1 && (strstr(v->name, "norm_w") || strstr(v->name, "gamma"));
    double scale = 1.0 / sqrt((double)(is_scales ? scales_fan_in(g, x->idx) : fan_in_of(v)));
    for (int64_t i = 0; i < x->n; i++) {
        double u = uniform(), val;
        if (v->dtype == DSMLP_FP8_E4M3) {   /* a random e4m3 code of magnitude 2^-9..120 (exponent field <= 13) */
            ((uint8_t *)x->host)[i] = (uint8_t)((u < 0 ? 0x80 : 0) | (1 + (int)(fabs(u) * 110.99)));
            continue;
        }
        if (v->dtype == DSMLP_I8) val = (u < 0 ? -1 : 1) * (1 + (int)(fabs(u) * 126.99));
        else if (is_scales) val = (0.5 + 0.5 * fabs(u)) * scale / 127.0;
        else if (is_norm) val = 1.0 + 0.2 * u;
        else if (v->rank == 2) val = u * scale;
        else val = 0.1 * u;
        store_elem(v->dtype, x->host, i, val);
    }
}

static int layer_collect(layer_run *L)
{
    int n = dsmlp_graph_size(L->g);
    L->t = calloc((size_t)n, sizeof *L->t);
    if (!L->t) return -1;
    for (int i = 0; i < n; i++) {
        dsmlp_value_info v;
        if (dsmlp_value_get(L->g, i, &v) != DSMLP_OK) continue;
        if (v.op == DSMLP_OP_ALL_REDUCE) return 1;
        if (v.op != DSMLP_OP_INPUT && v.op != DSMLP_OP_PARAM && v.op != DSMLP_OP_OUTPUT) continue;
        tensor *x = &L->t[L->nt++];
        x->info = v;
        x->idx = i;
        x->n = v.tokens ? v.dims[1] : v.rank == 2 ? v.dims[0] * v.dims[1] : v.dims[0];
        int64_t elems = v.tokens ? MAX_T * x->n : x->n;
        x->host = malloc((size_t)elems * dsmlp_dtype_size(v.dtype));
        if (v.op == DSMLP_OP_OUTPUT) x->ref = malloc((size_t)elems * sizeof(double));
        if (!x->host || (v.op == DSMLP_OP_OUTPUT && !x->ref)) return -1;
    }
    return 0;
}

static void layer_free(layer_run *L)
{
    for (int i = 0; i < L->nt; i++) {
        free(L->t[i].host);
        free(L->t[i].ref);
        if (L->t[i].dev) dsmlp_device_free(L->ctx, L->t[i].dev);
    }
    free(L->t);
    if (L->plan) dsmlp_plan_free(L->plan);
}

/* Compiles for this GPU, uploads the weights, binds inputs and outputs. */
static dsmlp_status layer_setup(layer_run *L)
{
    dsmlp_compile_options co;
    dsmlp_compile_options_default(&co);
    co.arch = NULL;   /* the device's own arch */
    co.max_tokens = MAX_T;
    dsmlp_status s = dsmlp_compile(L->ctx, L->g, &co, &L->plan);
    if (s != DSMLP_OK) {
        snprintf(L->msg, sizeof L->msg, "compile: %s", dsmlp_last_error(L->ctx));
        return s;
    }
    for (int i = 0; i < L->nt; i++) {
        tensor *x = &L->t[i];
        size_t bytes = (size_t)(x->info.tokens ? MAX_T * x->n : x->n) * dsmlp_dtype_size(x->info.dtype);
        if (x->info.op == DSMLP_OP_PARAM) {
            if (L->w) {   /* the checkpoint's tensor, as the reference sees it too */
                s = dsmlp_weights_param(L->w, L->g, L->map, L->model_layer, x->info.name, x->host, bytes);
                if (s != DSMLP_OK) {
                    snprintf(L->msg, sizeof L->msg, "weights: %s", dsmlp_last_error(L->ctx));
                    return s;
                }
            } else {
                fill_param(L->g, x);
            }
            s = dsmlp_upload(L->plan, x->info.name, x->host, bytes);
        } else {
            s = dsmlp_device_alloc(L->ctx, bytes, &x->dev);
            if (s != DSMLP_OK) {
                snprintf(L->msg, sizeof L->msg, "device memory for %s: %s", x->info.name, dsmlp_last_error(L->ctx));
                return s;
            }
            s = dsmlp_bind(L->plan, x->info.name, x->dev);
        }
        /* A graph input that no step reads has no binding in the plan; the
        ** reference still gets its data. */
        if (s == DSMLP_ERR_NOT_FOUND && x->info.op != DSMLP_OP_OUTPUT) s = DSMLP_OK;
        if (s != DSMLP_OK) {
            snprintf(L->msg, sizeof L->msg, "%s %s: %s", x->info.op == DSMLP_OP_PARAM ? "upload" : "bind",
                     x->info.name, dsmlp_last_error(L->ctx));
            return s;
        }
    }
    return DSMLP_OK;
}

/* One token count: fresh inputs, poisoned outputs, GPU run, reference, error.
** Returns the worst relative error over the outputs (INFINITY on NaN), or a
** negative value on a setup failure (message in L->msg). */
static double layer_check(layer_run *L, int64_t T, dsmlp_dtype *out_dtype)
{
    dsmlp_host_tensor *bind = calloc((size_t)L->nt, sizeof *bind);
    if (!bind) return -1;
    double worst = 0;
    for (int i = 0; i < L->nt; i++) {
        tensor *x = &L->t[i];
        size_t bytes = (size_t)(T * x->n) * dsmlp_dtype_size(x->info.dtype);
        bind[i] = (dsmlp_host_tensor){.name = x->info.name, .dtype = x->info.dtype, .data = x->host};
        dsmlp_status r = DSMLP_OK;
        if (x->info.op == DSMLP_OP_INPUT) {
            for (int64_t e = 0; e < T * x->n; e++) store_elem(x->info.dtype, x->host, e, uniform());
            r = dsmlp_device_upload(L->ctx, x->dev, x->host, bytes);
        } else if (x->info.op == DSMLP_OP_OUTPUT) {
            bind[i].dtype = DSMLP_F64;
            bind[i].data = x->ref;
            r = dsmlp_device_fill(L->ctx, x->dev, 0xFF, bytes);   /* NaN in every float dtype */
        }
        if (r != DSMLP_OK) {
            snprintf(L->msg, sizeof L->msg, "copying %s: %s", x->info.name, dsmlp_last_error(L->ctx));
            worst = -1;
            goto out;
        }
    }
    dsmlp_status s = dsmlp_run(L->plan, T, NULL);
    if (s == DSMLP_OK) s = dsmlp_device_sync(L->ctx);
    if (s != DSMLP_OK) {
        snprintf(L->msg, sizeof L->msg, "run T=%lld: %s", (long long)T, dsmlp_last_error(L->ctx));
        worst = -1;
        goto out;
    }
    s = dsmlp_reference_run_f64(L->g, T, bind, L->nt);
    if (s != DSMLP_OK) {
        snprintf(L->msg, sizeof L->msg, "reference T=%lld: %s", (long long)T, dsmlp_last_error(L->ctx));
        worst = -1;
        goto out;
    }
    for (int i = 0; i < L->nt; i++) {
        tensor *x = &L->t[i];
        if (x->info.op != DSMLP_OP_OUTPUT) continue;
        size_t bytes = (size_t)(T * x->n) * dsmlp_dtype_size(x->info.dtype);
        if ((s = dsmlp_device_download(L->ctx, x->host, x->dev, bytes)) != DSMLP_OK) {
            snprintf(L->msg, sizeof L->msg, "reading %s: %s", x->info.name, dsmlp_last_error(L->ctx));
            worst = -1;
            goto out;
        }
        double num = 0, den = 0;
        for (int64_t e = 0; e < T * x->n; e++) {
            double d = load_elem(x->info.dtype, x->host, e) - x->ref[e];
            num += d * d;
            den += x->ref[e] * x->ref[e];
        }
        double rel = isnan(num) ? INFINITY : den > 0 ? sqrt(num / den) : sqrt(num);
        if (rel > worst || isinf(rel)) worst = rel, *out_dtype = x->info.dtype;
    }
out:
    free(bind);
    return worst;
}

/* 0 pass, 1 fail, 2 skipped, -1 setup error (then *status says why). With w,
** the parameters are model layer `model_layer` of the checkpoint. */
static int verify_layer(dsmlp_ctx *ctx, const dsmlp_graph *g, const char *name, int quiet,
                        const dsmlp_weights *w, int model_layer, dsmlp_status *status)
{
    layer_run L = {.ctx = ctx, .g = g, .name = name};
    if (w) L.w = w, L.map = dsmlp_graph_tensor_map(g), L.model_layer = model_layer;
    int rc = layer_collect(&L);
    if (rc == 1) {
        printf("verify %-24s skipped: tensor-parallel layer (all_reduce needs NCCL ranks)\n", name);
        layer_free(&L);
        return 2;
    }
    if (rc < 0) {
        printf("verify %-24s FAIL: out of memory\n", name);
        layer_free(&L);
        return 1;
    }
    *status = layer_setup(&L);
    if (*status != DSMLP_OK) {
        printf("verify %-24s FAIL: %s\n", name, L.msg);
        layer_free(&L);
        return *status == DSMLP_ERR_NO_DEVICE ? -1 : 1;
    }
    int failed = 0;
    for (size_t k = 0; k < sizeof token_counts / sizeof token_counts[0]; k++) {
        dsmlp_dtype dt = DSMLP_F32;
        double err = layer_check(&L, token_counts[k], &dt);
        if (err < 0) {
            printf("verify %-24s T=%-4lld FAIL: %s\n", name, (long long)token_counts[k], L.msg);
            failed = 1;
            continue;
        }
        int ok = err <= dsmlp_tolerance(dt);
        failed |= !ok;
        if (!quiet || !ok)
            printf("verify %-24s T=%-4lld rel err %.3e  (%s tolerance %.1e)  %s%s\n", name,
                   (long long)token_counts[k], err, dsmlp_dtype_name(dt), dsmlp_tolerance(dt), ok ? "pass" : "FAIL",
                   isinf(err) ? ": NaN or Inf in the output (an element not written?)" : "");
    }
    fflush(stdout);
    layer_free(&L);
    return failed;
}

static int has_all_reduce(const dsmlp_graph *g)
{
    for (int i = 0; i < dsmlp_graph_size(g); i++) {
        dsmlp_value_info v;
        if (dsmlp_value_get(g, i, &v) == DSMLP_OK && v.op == DSMLP_OP_ALL_REDUCE) return 1;
    }
    return 0;
}

int verify_layers(dsmlp_ctx *ctx, const dsmlp_layers *layers, const cli_opts *o, const dsmlp_weights *w)
{
    int quiet = o->quiet;
    if (!dsmlp_device_available(ctx)) {
        const char *why = dsmlp_last_error(ctx);
        cli_error("--verify needs a GPU and none is present%s%s; the kernels were compiled, nothing was verified "
                  "(exit code %d)", why[0] ? ": " : "", why, CLI_EXIT_NO_GPU);
        return CLI_EXIT_NO_GPU;
    }
    const char *env = getenv("DSMLP_SEED");
    rng_state = env ? strtoull(env, NULL, 0) : (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
    if (!rng_state) rng_state = 1;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    dsmlp_reference_set_threads(ctx, ncpu > 0 ? (int)ncpu : 1);
    const char *arch = dsmlp_device_arch(ctx);
    printf("verify on %s, seed %llu (DSMLP_SEED repeats it), T in {1, 7, %d}\n", arch ? arch : "the GPU",
           (unsigned long long)rng_state, MAX_T);

    int passed = 0, failed = 0, skipped = 0, short_gpus = 0, n = dsmlp_layers_count(layers), ngpu = 0;
    ngpu = dsmlp_device_count(ctx);
    for (int l = 0; l < n; l++) {
        dsmlp_status st = DSMLP_OK;
        int r;
        if (has_all_reduce(dsmlp_layers_graph(layers, l))) {
            fflush(stdout);
            r = verify_tp_layer(o, layers, l, ngpu);
            if (r == 3) {
                short_gpus++;
                continue;
            }
        } else {
            const dsmlp_graph *g = dsmlp_layers_graph(layers, l);
            const dsmlp_tensor_map *m = w ? dsmlp_graph_tensor_map(g) : NULL;
            /* with the checkpoint's weights: the model's first and last layer */
            int runs = m && m->layers > 1 ? 2 : 1;
            for (int k = 0; k < runs; k++) {
                int model_layer = k == 0 ? 0 : m->layers - 1;
                char name[160];
                if (m) snprintf(name, sizeof name, "%s[%d]", dsmlp_layers_name(layers, l), model_layer);
                else snprintf(name, sizeof name, "%s", dsmlp_layers_name(layers, l));
                r = verify_layer(ctx, g, name, quiet, m ? w : NULL, model_layer, &st);
                if (r < 0) break;
                if (r == 0) printf("verify %-24s pass%s\n", name, m ? " (checkpoint weights)" : ""), passed++;
                else if (r == 1) printf("verify %-24s FAIL\n", name), failed++;
                else skipped++;
            }
            if (r >= 0) continue;
        }
        if (r < 0) {
            cli_error("--verify needs a GPU: %s (exit code %d)", dsmlp_last_error(ctx), CLI_EXIT_NO_GPU);
            return CLI_EXIT_NO_GPU;
        }
        if (r == 0) printf("verify %-24s pass\n", dsmlp_layers_name(layers, l)), passed++;
        else if (r == 1) printf("verify %-24s FAIL\n", dsmlp_layers_name(layers, l)), failed++;
        else skipped++;
    }
    printf("verify: %d passed, %d failed, %d skipped", passed, failed, skipped);
    if (short_gpus)
        printf(", %d not verified: tensor-parallel layer%s needing more GPUs than the %d here", short_gpus,
               short_gpus > 1 ? "s" : "", ngpu);
    printf("\n");
    if (short_gpus && !failed)
        cli_error("%d tensor-parallel layer%s not verified: %s one GPU per rank (or --tp-oversubscribe); exit code %d",
                  short_gpus, short_gpus > 1 ? "s were" : " was", short_gpus > 1 ? "they need" : "it needs",
                  CLI_EXIT_TP_GPUS);
    return failed ? CLI_EXIT_VERIFY : short_gpus ? CLI_EXIT_TP_GPUS : CLI_EXIT_OK;
}
