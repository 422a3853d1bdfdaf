/*
** dsmlp-bench — times dsmlp's MLP blocks on the GPU against the physical floor.
**
** For each block and token count: the plan is captured into a CUDA graph and
** replayed; each replay is timed with events and the median is reported. The
** floor is max(bytes ÷ copy bandwidth, FLOPs ÷ GEMM rate) with both ceilings
** measured in the same run (1 GiB device copy; bf16 8192³ cuBLASLt GEMM).
** Peers (PyTorch eager, torch.compile, cuBLAS GEMMs alone) are in peers.py.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_cuda.h"
#include "bench_gemm.h"
#include "dsmlp.h"

typedef struct bench_block {
    const char *name, *title;
    dsmlp_mlp_config cfg;
} bench_block;

bench_cuda bench_cu;

static void die_ds(dsmlp_ctx *ctx, dsmlp_status s, const char *what)
{
    if (s == DSMLP_OK) return;
    fprintf(stderr, "dsmlp-bench: %s: %s: %s\n", what, dsmlp_status_name(s), dsmlp_last_error(ctx));
    exit(1);
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* Median µs of `reps` replays of graph exec g. */
static double time_graph(cudaGraphExec_t g, int reps)
{
    cudaEvent_t e0, e1;
    bench_cuda_check(cudaEventCreateWithFlags(&e0, 0), "cudaEventCreate");
    bench_cuda_check(cudaEventCreateWithFlags(&e1, 0), "cudaEventCreate");
    for (int i = 0; i < 10; i++) bench_cuda_check(cudaGraphLaunch(g, bench_cu.stream), "cudaGraphLaunch (warm-up)");
    float *ms = malloc(sizeof(float) * (size_t)reps);
    for (int i = 0; i < reps; i++) {
        bench_cuda_check(cudaEventRecord(e0, bench_cu.stream), "cudaEventRecord");
        bench_cuda_check(cudaGraphLaunch(g, bench_cu.stream), "cudaGraphLaunch");
        bench_cuda_check(cudaEventRecord(e1, bench_cu.stream), "cudaEventRecord");
        bench_cuda_check(cudaEventSynchronize(e1), "cudaEventSynchronize");
        bench_cuda_check(cudaEventElapsedTime(&ms[i], e0, e1), "cudaEventElapsedTime");
    }
    qsort(ms, (size_t)reps, sizeof(float), cmp_float);
    double med = ms[reps / 2] * 1000.0;
    free(ms);
    return med;
}

/* Device copy bandwidth, bytes read + written per second. */
static double measure_copy_bw(void)
{
    size_t n = (size_t)1 << 30;
    void *a, *b;
    bench_cuda_check(cudaMalloc(&a, n), "cudaMemAlloc (copy test)");
    bench_cuda_check(cudaMalloc(&b, n), "cudaMemAlloc (copy test)");
    bench_cuda_check(cudaMemset(a, 0x5a, n), "cudaMemsetD8");
    cudaGraph_t graph;
    cudaGraphExec_t exec;
    bench_cuda_check(cudaStreamBeginCapture(bench_cu.stream, cudaStreamCaptureModeThreadLocal), "capture");
    bench_cuda_check(cudaMemcpyAsync(b, a, n, cudaMemcpyDeviceToDevice, bench_cu.stream), "cudaMemcpyDtoDAsync");
    bench_cuda_check(cudaStreamEndCapture(bench_cu.stream, &graph), "end capture");
    bench_cuda_check(cudaGraphInstantiateWithFlags(&exec, graph, 0), "instantiate");
    double us = time_graph(exec, 30);
    cudaGraphExecDestroy(exec);
    cudaGraphDestroy(graph);
    cudaFree(a);
    cudaFree(b);
    return 2.0 * (double)n / (us * 1e-6);
}

static void fill_device(dsmlp_dtype dt, void *dst, size_t n, double scale, unsigned seed)
{
    size_t esz = dsmlp_dtype_size(dt);
    unsigned char *h = malloc(n * esz);
    unsigned long long x = 0x9e3779b97f4a7c15ull ^ seed;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        /* uniform in [-√3, √3)·scale: unit variance, never exactly zero after rounding */
        double v = ((double)(x >> 11) * 0x1.0p-53 * 2.0 - 1.0) * 1.7320508 * scale;
        if (fabs(v) < 1e-3 * scale) v = 1e-3 * scale;
        dsmlp_convert(h + i * esz, dt, &v, DSMLP_F64, 1);
    }
    bench_cuda_check(cudaMemcpy(dst, h, n * esz, cudaMemcpyHostToDevice), "cudaMemcpyHtoD");
    free(h);
}

typedef struct param_desc { const char *name; size_t n; double scale; } param_desc;

static int describe_params(const dsmlp_mlp_config *c, param_desc *p)
{
    size_t H = (size_t)c->hidden, I = (size_t)c->intermediate;
    size_t F = (c->activation == DSMLP_MLP_GATED_GELU || c->activation == DSMLP_MLP_GATED_SILU) ? 2 : 1;
    int k = 0;
    p[k++] = (param_desc){"norm_w", H, 1.0};
    if (c->norm == DSMLP_NORM_LAYERNORM && c->norm_bias) p[k++] = (param_desc){"norm_b", H, 0.1};
    if (c->attn_bias) p[k++] = (param_desc){"attn_bias", H, 0.1};
    p[k++] = (param_desc){"w1", H * F * I, 1.0 / sqrt((double)H)};
    if (c->bias1) p[k++] = (param_desc){"b1", F * I, 0.1};
    p[k++] = (param_desc){"w2", I * H, 1.0 / sqrt((double)I)};
    if (c->bias2) p[k++] = (param_desc){"b2", H, 0.1};
    return k;
}

/* residual_kernel: dsmlp_compile_options.residual_kernel (0: GEMM2 adds the
** residual through cuBLASLt's beta·C; 1: a generated kernel adds it). */
static void bench_one(dsmlp_ctx *ctx, const bench_block *b, int residual_kernel, const int *tokens, int ntok,
                      int reps, double bw, double rate, FILE *md)
{
    const dsmlp_mlp_config *c = &b->cfg;
    int64_t maxT = 0;
    for (int i = 0; i < ntok; i++) maxT = tokens[i] > maxT ? tokens[i] : maxT;
    dsmlp_graph *g;
    die_ds(ctx, dsmlp_graph_create(ctx, b->name, &g), "graph_create");
    die_ds(ctx, dsmlp_mlp_build(g, c), "mlp_build");
    dsmlp_compile_options o;
    dsmlp_compile_options_default(&o);
    o.max_tokens = maxT;
    o.residual_kernel = residual_kernel;
    dsmlp_plan *plan;
    die_ds(ctx, dsmlp_compile(ctx, g, &o, &plan), "dsmlp_compile");

    size_t esz = dsmlp_dtype_size(c->dtype), H = (size_t)c->hidden;
    param_desc pd[8];
    int np = describe_params(c, pd);
    size_t weight_bytes = 0;
    void *pptr[8];
    for (int i = 0; i < np; i++) {
        bench_cuda_check(cudaMalloc(&pptr[i], pd[i].n * esz), "cudaMemAlloc (param)");
        fill_device(c->dtype, pptr[i], pd[i].n, pd[i].scale, 17u + (unsigned)i);
        die_ds(ctx, dsmlp_bind(plan, pd[i].name, pptr[i]), pd[i].name);
        weight_bytes += pd[i].n * esz;
    }
    void *A, *X, *out;
    bench_cuda_check(cudaMalloc(&A, (size_t)maxT * H * esz), "cudaMemAlloc (input)");
    bench_cuda_check(cudaMalloc(&X, (size_t)maxT * H * esz), "cudaMemAlloc (residual)");
    bench_cuda_check(cudaMalloc(&out, (size_t)maxT * H * esz), "cudaMemAlloc (out)");
    fill_device(c->dtype, A, (size_t)maxT * H, 1.0, 5);
    fill_device(c->dtype, X, (size_t)maxT * H, 1.0, 6);
    die_ds(ctx, dsmlp_bind(plan, "input", A), "bind input");
    die_ds(ctx, dsmlp_bind(plan, "residual", X), "bind residual");
    die_ds(ctx, dsmlp_bind(plan, "out", out), "bind out");

    size_t F = (c->activation == DSMLP_MLP_GATED_GELU || c->activation == DSMLP_MLP_GATED_SILU) ? 2 : 1;
    for (int i = 0; i < ntok; i++) {
        int64_t T = tokens[i];
        cudaGraph_t graph;
        cudaGraphExec_t exec;
        bench_cuda_check(cudaStreamBeginCapture(bench_cu.stream, cudaStreamCaptureModeThreadLocal), "capture");
        dsmlp_status s = dsmlp_run(plan, T, (void *)bench_cu.stream);
        cudaError_t ce = cudaStreamEndCapture(bench_cu.stream, &graph);
        die_ds(ctx, s, "dsmlp_run (captured)");
        bench_cuda_check(ce, "cudaStreamEndCapture");
        bench_cuda_check(cudaGraphInstantiateWithFlags(&exec, graph, 0), "cudaGraphInstantiate");
        double us = time_graph(exec, reps);
        cudaGraphExecDestroy(exec);
        cudaGraphDestroy(graph);
        double bytes = (double)weight_bytes + 3.0 * (double)T * (double)H * (double)esz;
        double flops = 2.0 * (double)T * (double)H * (double)(F * (size_t)c->intermediate) +
                       2.0 * (double)T * (double)c->intermediate * (double)H;
        double floor_us = fmax(bytes / bw, flops / rate) * 1e6;
        const char *variant = residual_kernel ? "residual kernel" : "beta*C epilogue";
        printf("%-18s %-16s T=%-5lld %9.1f us  floor %9.1f us (%s-bound)  %.2fx floor\n", b->name, variant,
               (long long)T, us, floor_us, bytes / bw > flops / rate ? "memory" : "compute", us / floor_us);
        if (md)
            fprintf(md, "| %s | %s | %s | %lld | %.1f | %.1f | %.2f |\n", bench_cu.name, b->name, variant,
                    (long long)T, us, floor_us, us / floor_us);
        fflush(stdout);
    }
    for (int i = 0; i < np; i++) cudaFree(pptr[i]);
    cudaFree(A);
    cudaFree(X);
    cudaFree(out);
    dsmlp_plan_free(plan);
    dsmlp_graph_free(g);
}

static void usage(void)
{
    printf("usage: dsmlp-bench [--all] [--tokens 1,16,128,1024,8192] [--block NAME] [--reps N] [--md FILE]\n"
           "Times dsmlp's benchmark blocks as CUDA-graph replays (median of N, default 200) and\n"
           "reports each as a ratio to the physical floor measured in the same run.\n"
           "Blocks: gelu_f16_h4096, swiglu_bf16_h4096, bert_f16_h768 (--all runs all).\n"
           "Exit: 0 ok, 1 failure, 2 usage, 77 no GPU.\n");
}

int main(int argc, char **argv)
{
    int tokens[16] = {1, 16, 128, 1024, 8192}, ntok = 5, reps = 200;
    const char *only = NULL, *md_path = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) { usage(); return 0; }
        else if (!strcmp(argv[i], "--all")) only = NULL;
        else if (!strcmp(argv[i], "--tokens") && i + 1 < argc) {
            ntok = 0;
            for (char *t = strtok(argv[++i], ","); t && ntok < 16; t = strtok(NULL, ",")) tokens[ntok++] = atoi(t);
        } else if (!strcmp(argv[i], "--block") && i + 1 < argc) only = argv[++i];
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--md") && i + 1 < argc) md_path = argv[++i];
        else { fprintf(stderr, "dsmlp-bench: unknown argument '%s'\n", argv[i]); usage(); return 2; }
    }
    if (reps < 1 || ntok < 1) { usage(); return 2; }
    if (bench_cuda_init(&bench_cu) != 0) return 77;

    bench_block blocks[3];
    for (int i = 0; i < 3; i++) dsmlp_mlp_config_default(&blocks[i].cfg);
    blocks[0].name = "gelu_f16_h4096";
    blocks[0].cfg.hidden = 4096, blocks[0].cfg.intermediate = 16384, blocks[0].cfg.dtype = DSMLP_F16;
    blocks[0].cfg.epsilon = 1e-5;
    blocks[1].name = "swiglu_bf16_h4096";
    blocks[1].cfg.hidden = 4096, blocks[1].cfg.intermediate = 14336, blocks[1].cfg.dtype = DSMLP_BF16;
    blocks[1].cfg.activation = DSMLP_MLP_GATED_SILU, blocks[1].cfg.norm = DSMLP_NORM_RMSNORM;
    blocks[1].cfg.epsilon = 1e-5;
    blocks[1].cfg.attn_bias = blocks[1].cfg.norm_bias = blocks[1].cfg.bias1 = blocks[1].cfg.bias2 = 0;
    blocks[2].name = "bert_f16_h768";
    blocks[2].cfg.hidden = 768, blocks[2].cfg.intermediate = 3072, blocks[2].cfg.dtype = DSMLP_F16;
    blocks[2].cfg.pre_layer_norm = 0;

    double bw = measure_copy_bw();
    double rate = bench_gemm_rate(bench_cu.stream);
    if (rate <= 0) return 1;
    printf("card: %s\nmeasured: device copy %.2f TB/s, bf16 8192^3 GEMM %.0f TFLOP/s\n", bench_cu.name, bw / 1e12,
           rate / 1e12);
    FILE *md = md_path ? fopen(md_path, "w") : NULL;
    if (md) fprintf(md, "| card | block | residual | T | dsmlp µs | floor µs | ÷ floor |\n|---|---|---|---|---|---|---|\n");
    dsmlp_ctx *ctx;
    if (dsmlp_ctx_create(&ctx) != DSMLP_OK) return 1;
    for (int i = 0; i < 3; i++)
        for (int rk = 0; rk < 2; rk++)
            if (!only || !strcmp(only, blocks[i].name))
                bench_one(ctx, &blocks[i], rk, tokens, ntok, reps, bw, rate, md);
    if (md) fclose(md);
    dsmlp_ctx_free(ctx);
    return 0;
}
