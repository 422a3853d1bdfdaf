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
#include "bench_fp8_gemm.h"
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

double bench_median(float *v, int n)
{
    qsort(v, (size_t)n, sizeof(float), cmp_float);
    return v[n / 2];
}

/* Median µs of `reps` replays of graph exec g. */
double time_graph(CUgraphExec g, int reps)
{
    CUevent e0, e1;
    bench_cuda_check(bench_cu.EventCreate(&e0, 0), "cuEventCreate");
    bench_cuda_check(bench_cu.EventCreate(&e1, 0), "cuEventCreate");
    for (int i = 0; i < 10; i++) bench_cuda_check(bench_cu.GraphLaunch(g, bench_cu.stream), "cuGraphLaunch (warm-up)");
    float *ms = malloc(sizeof(float) * (size_t)reps);
    for (int i = 0; i < reps; i++) {
        bench_cuda_check(bench_cu.EventRecord(e0, bench_cu.stream), "cuEventRecord");
        bench_cuda_check(bench_cu.GraphLaunch(g, bench_cu.stream), "cuGraphLaunch");
        bench_cuda_check(bench_cu.EventRecord(e1, bench_cu.stream), "cuEventRecord");
        bench_cuda_check(bench_cu.EventSynchronize(e1), "cuEventSynchronize");
        bench_cuda_check(bench_cu.EventElapsedTime(&ms[i], e0, e1), "cuEventElapsedTime");
    }
    double med = bench_median(ms, reps) * 1000.0;
    free(ms);
    return med;
}

/* Device copy bandwidth, bytes read + written per second. */
static double measure_copy_bw(void)
{
    size_t n = (size_t)1 << 30;
    CUdeviceptr a, b;
    bench_cuda_check(bench_cu.MemAlloc(&a, n), "cuMemAlloc (copy test)");
    bench_cuda_check(bench_cu.MemAlloc(&b, n), "cuMemAlloc (copy test)");
    bench_cuda_check(bench_cu.MemsetD8(a, 0x5a, n), "cuMemsetD8");
    CUgraph graph;
    CUgraphExec exec;
    bench_cuda_check(bench_cu.StreamBeginCapture(bench_cu.stream, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL), "capture");
    bench_cuda_check(bench_cu.MemcpyDtoDAsync(b, a, n, bench_cu.stream), "cuMemcpyDtoDAsync");
    bench_cuda_check(bench_cu.StreamEndCapture(bench_cu.stream, &graph), "end capture");
    bench_cuda_check(bench_cu.GraphInstantiate(&exec, graph, 0), "instantiate");
    double us = time_graph(exec, 30);
    bench_cu.GraphExecDestroy(exec);
    bench_cu.GraphDestroy(graph);
    bench_cu.MemFree(a);
    bench_cu.MemFree(b);
    return 2.0 * (double)n / (us * 1e-6);
}

void fill_device(dsmlp_dtype dt, CUdeviceptr dst, size_t n, double scale, unsigned seed)
{
    size_t esz = dsmlp_dtype_size(dt);
    unsigned char *h = malloc(n * esz);
    unsigned long long x = 0x9e3779b97f4a7c15ull ^ seed;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        if (dt == DSMLP_I8) {   /* int8 weights: uniform in [-127, 127], never 0 */
            int q = (int)((x >> 11) % 254) - 127;
            h[i] = (unsigned char)(signed char)(q >= 0 ? q + 1 : q);
            continue;
        }
        if (dt == DSMLP_FP8_E4M3) {   /* fp8 weights: any finite nonzero e4m3 code (0x7f / 0xff are NaN) */
            unsigned b = (unsigned)(x >> 11) & 0xffu;
            if ((b & 0x7fu) == 0x7fu) b ^= 0x01u;
            if ((b & 0x7fu) == 0) b |= 0x08u;
            h[i] = (unsigned char)b;
            continue;
        }
        /* uniform in [-√3, √3)·scale: unit variance, never exactly zero after rounding */
        double v = ((double)(x >> 11) * 0x1.0p-53 * 2.0 - 1.0) * 1.7320508 * scale;
        if (fabs(v) < 1e-3 * scale) v = 1e-3 * scale;
        float f = (float)v;
        if (dt == DSMLP_F32) {
            memcpy(h + 4 * i, &f, 4);
        } else {
            unsigned u;
            memcpy(&u, &f, 4);
            unsigned short hv;
            if (dt == DSMLP_BF16) {
                hv = (unsigned short)((u + 0x7fff + ((u >> 16) & 1)) >> 16);
            } else { /* f16 via the compiler's _Float16 */
                _Float16 hf = (_Float16)f;
                memcpy(&hv, &hf, 2);
            }
            memcpy(h + 2 * i, &hv, 2);
        }
    }
    bench_cuda_check(bench_cu.MemcpyHtoD(dst, h, n * esz), "cuMemcpyHtoD");
    free(h);
}

typedef struct param_desc { const char *name; size_t n; double scale; dsmlp_dtype dt; } param_desc;

static int describe_params(const dsmlp_mlp_config *c, param_desc *p)
{
    size_t H = (size_t)c->hidden, I = (size_t)c->intermediate;
    size_t F = (c->activation == DSMLP_MLP_GATED_GELU || c->activation == DSMLP_MLP_GATED_SILU) ? 2 : 1;
    int k = 0;
    const int fp8 = c->int8_weights && c->quant_dtype == DSMLP_FP8_E4M3;
    dsmlp_dtype dt = c->dtype, wt = c->int8_weights ? (fp8 ? DSMLP_FP8_E4M3 : DSMLP_I8) : dt;
    /* scales: groups of output rows, or one per row (per channel); codes up to 127 (int8) or 448 (fp8) */
    size_t G = c->int8_weights ? (size_t)c->int8_groups : 0, G1 = c->quant_per_channel ? F * I : G,
           G2 = c->quant_per_channel ? H : G;
    const double qmax = fp8 ? 448.0 : 127.0;
    p[k++] = (param_desc){"norm_w", H, 1.0, dt};
    if (c->norm == DSMLP_NORM_LAYERNORM && c->norm_bias) p[k++] = (param_desc){"norm_b", H, 0.1, dt};
    if (c->attn_bias) p[k++] = (param_desc){"attn_bias", H, 0.1, dt};
    p[k++] = (param_desc){"w1", H * F * I, 1.0 / sqrt((double)H), wt};
    if (G) p[k++] = (param_desc){"w1_scales", G1, 1.0 / (qmax * sqrt((double)H)), DSMLP_F32};
    if (c->bias1) p[k++] = (param_desc){"b1", F * I, 0.1, dt};
    p[k++] = (param_desc){"w2", I * H, 1.0 / sqrt((double)I), wt};
    if (G) p[k++] = (param_desc){"w2_scales", G2, 1.0 / (qmax * sqrt((double)I)), DSMLP_F32};
    if (c->bias2) p[k++] = (param_desc){"b2", H, 0.1, dt};
    return k;
}

/* Median µs of `reps` replays of one dsmlp_run(plan, T) captured as a graph; -1 with *run the run's status where
** it failed inside the capture (every other failure aborts). */
double time_plan_graph(dsmlp_plan *plan, int64_t T, int reps, dsmlp_status *run)
{
    CUgraph graph;
    CUgraphExec exec;
    bench_cuda_check(bench_cu.StreamBeginCapture(bench_cu.stream, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL), "capture");
    *run = dsmlp_run(plan, T, (void *)bench_cu.stream);
    CUresult ce = bench_cu.StreamEndCapture(bench_cu.stream, &graph);
    if (*run != DSMLP_OK) return -1;
    bench_cuda_check(ce, "cuStreamEndCapture");
    bench_cuda_check(bench_cu.GraphInstantiate(&exec, graph, 0), "cuGraphInstantiate");
    double us = time_graph(exec, reps);
    bench_cu.GraphExecDestroy(exec);
    bench_cu.GraphDestroy(graph);
    return us;
}

static double capture_time(dsmlp_ctx *ctx, dsmlp_plan *plan, int64_t T, int reps)
{
    dsmlp_status s;
    double us = time_plan_graph(plan, T, reps, &s);
    die_ds(ctx, s, "dsmlp_run (captured)");
    return us;
}

typedef struct ceilings { double copy_bw, read_bw, rate; } ceilings;

/* Times block b at every T: the plan as loaded (heuristic or tuning record), the main steps pinned, the
** weight-streaming route pinned, and after dsmlp_plan_tune. residual_kernel: the GEMM2 residual through a
** generated kernel instead of cuBLASLt's beta*C (main route). */
static int bench_sms;
static int bench_grids[16] = {0, 1}, bench_ngrids = 2;   /* --variants: grids in blocks per SM (0: default) */

/* Block b's graph and the options every run of it compiles with; --compile-only must build the same plan as
** a timed run so that the kernels' store keys (source, NVRTC version and options, arch) match. */
static int64_t block_graph(dsmlp_ctx *ctx, const bench_block *b, int residual_kernel, const int *tokens, int ntok,
                           dsmlp_graph **g, dsmlp_compile_options *o)
{
    int64_t maxT = 0;
    for (int i = 0; i < ntok; i++) maxT = tokens[i] > maxT ? tokens[i] : maxT;
    die_ds(ctx, dsmlp_graph_create(ctx, b->name, g), "graph_create");
    die_ds(ctx, dsmlp_mlp_build(*g, &b->cfg), "mlp_build");
    dsmlp_compile_options_default(o);
    o->max_tokens = maxT;
    o->residual_kernel = residual_kernel;
    return maxT;
}

/* --compile-only: fills the kernel store (DSMLP_CACHE_DIR, else the default) with block b's kernels for arch,
** with no device, so that a run on a fresh device machine finds them compiled (bench/proto's calls carry it). */
static void compile_block(dsmlp_ctx *ctx, const bench_block *b, int residual_kernel, const int *tokens, int ntok,
                         const char *arch)
{
    dsmlp_graph *g;
    dsmlp_compile_options o;
    block_graph(ctx, b, residual_kernel, tokens, ntok, &g, &o);
    o.arch = arch;
    dsmlp_plan *plan;
    die_ds(ctx, dsmlp_plan_build(ctx, g, &o, &plan), "dsmlp_plan_build");
    printf("%s: %d kernels for %s in the store\n", b->name, dsmlp_plan_kernels(plan), arch);
    fflush(stdout);
    dsmlp_plan_free(plan);
    dsmlp_graph_free(g);
}

static void bench_one(dsmlp_ctx *ctx, const bench_block *b, int residual_kernel, int tune, int variants,
                      const int *tokens, int ntok, int reps, const ceilings *ce, FILE *md)
{
    const dsmlp_mlp_config *c = &b->cfg;
    dsmlp_graph *g;
    dsmlp_compile_options o;
    const int64_t maxT = block_graph(ctx, b, residual_kernel, tokens, ntok, &g, &o);
    dsmlp_plan *plan;
    die_ds(ctx, dsmlp_compile(ctx, g, &o, &plan), "dsmlp_compile");

    size_t esz = dsmlp_dtype_size(c->dtype), H = (size_t)c->hidden;
    param_desc pd[10];
    int np = describe_params(c, pd);
    size_t weight_bytes = 0;
    CUdeviceptr pptr[10];
    for (int i = 0; i < np; i++) {
        size_t pb = pd[i].n * dsmlp_dtype_size(pd[i].dt);
        bench_cuda_check(bench_cu.MemAlloc(&pptr[i], pb), "cuMemAlloc (param)");
        fill_device(pd[i].dt, pptr[i], pd[i].n, pd[i].scale, 17u + (unsigned)i);
        die_ds(ctx, dsmlp_bind(plan, pd[i].name, (void *)pptr[i]), pd[i].name);
        weight_bytes += pb;
    }
    CUdeviceptr A, X, out;
    bench_cuda_check(bench_cu.MemAlloc(&A, (size_t)maxT * H * esz), "cuMemAlloc (input)");
    bench_cuda_check(bench_cu.MemAlloc(&X, (size_t)maxT * H * esz), "cuMemAlloc (residual)");
    bench_cuda_check(bench_cu.MemAlloc(&out, (size_t)maxT * H * esz), "cuMemAlloc (out)");
    fill_device(c->dtype, A, (size_t)maxT * H, 1.0, 5);
    fill_device(c->dtype, X, (size_t)maxT * H, 1.0, 6);
    die_ds(ctx, dsmlp_bind(plan, "input", (void *)A), "bind input");
    die_ds(ctx, dsmlp_bind(plan, "residual", (void *)X), "bind residual");
    die_ds(ctx, dsmlp_bind(plan, "out", (void *)out), "bind out");

    size_t F = (c->activation == DSMLP_MLP_GATED_GELU || c->activation == DSMLP_MLP_GATED_SILU) ? 2 : 1;
    if (variants) {   /* every tile variant pinned, default grid and one block per SM */
        for (int i = 0; i < ntok; i++) {
            int64_t T = tokens[i];
            printf("%-18s T=%-4lld variants:", b->name, (long long)T);
            for (int v = 0; v < 16; v++)   /* set_route refuses the numbers a step lacks */
                for (int gi = 0; gi < bench_ngrids; gi++) {
                    const int m = bench_grids[gi];   /* 0: the default grid; else m blocks per SM */
                    if (dsmlp_plan_set_route(plan, T, 1, v, m * bench_sms) != DSMLP_OK) continue;
                    printf(m ? "  v%d/g%d" : "  v%d", v, m);
                    printf(" %.1f", capture_time(ctx, plan, T, reps));
                }
            die_ds(ctx, dsmlp_plan_set_route(plan, T, 0, -1, 0), "set_route main");
            printf("  main %.1f us\n", capture_time(ctx, plan, T, reps));
            fflush(stdout);
        }
        char *text;
        if (dsmlp_plan_route_text(plan, &text) == DSMLP_OK) {
            /* the kernels behind the variant numbers */
            printf("%s", text);
            dsmlp_free(text);
        }
        goto out;
    }
    double t_load[16], t_main[16], t_stream[16];
    for (int i = 0; i < ntok; i++) t_load[i] = capture_time(ctx, plan, tokens[i], reps);   /* before any pin */
    for (int i = 0; i < ntok; i++) {
        int64_t T = tokens[i];
        die_ds(ctx, dsmlp_plan_set_route(plan, T, 0, -1, 0), "set_route main");
        t_main[i] = capture_time(ctx, plan, T, reps);
        t_stream[i] = -1;
        if (dsmlp_plan_set_route(plan, T, 1, -1, 0) == DSMLP_OK) t_stream[i] = capture_time(ctx, plan, T, reps);
    }
    if (tune) {
        die_ds(ctx, dsmlp_plan_tune(plan), "dsmlp_plan_tune");
        char *text;
        if (dsmlp_plan_route_text(plan, &text) == DSMLP_OK) {
            printf("%s: %s", b->name, text);
            dsmlp_free(text);
        }
    }
    for (int i = 0; i < ntok; i++) {
        int64_t T = tokens[i];
        double t_tuned = tune ? capture_time(ctx, plan, T, reps) : -1;
        double bytes = (double)weight_bytes + 3.0 * (double)T * (double)H * (double)esz;
        double flops = 2.0 * (double)T * (double)H * (double)(F * (size_t)c->intermediate) +
                       2.0 * (double)T * (double)c->intermediate * (double)H;
        double floor_us = fmax(bytes / ce->read_bw, flops / ce->rate) * 1e6;
        double best = t_tuned > 0 ? t_tuned : t_load[i];
        printf("%-18s %s T=%-5lld load %7.1f  main %7.1f  stream %7.1f  tuned %7.1f us | read floor %6.1f us  "
               "best %.2fx floor  %.2f TB/s of weights\n",
               b->name, residual_kernel ? "rk" : "  ", (long long)T, t_load[i], t_main[i], t_stream[i], t_tuned,
               floor_us, best / floor_us, (double)weight_bytes / (best * 1e-6) / 1e12);
        if (md)
            fprintf(md, "| %s | %s%s | %lld | %.1f | %.1f | %.1f | %.1f | %.1f | %.2f | %.2f |\n", bench_cu.name, b->name,
                    residual_kernel ? " (residual kernel)" : "", (long long)T, t_load[i], t_main[i], t_stream[i],
                    t_tuned, floor_us, best / floor_us, (double)weight_bytes / (best * 1e-6) / 1e12);
        fflush(stdout);
    }
out:
    for (int i = 0; i < np; i++) bench_cu.MemFree(pptr[i]);
    bench_cu.MemFree(A);
    bench_cu.MemFree(X);
    bench_cu.MemFree(out);
    dsmlp_plan_free(plan);
    dsmlp_graph_free(g);
}

static void usage(void)
{
    printf("usage: dsmlp-bench [--all] [--tokens 1,2,4,...] [--block NAME] [--reps N] [--md FILE] [--no-tune]\n"
           "                   [--fp8-gemm]\n"
           "                   [--residual-kernel] [--variants [--grids 0,1,4,...]] [--layout in_out|out_in]\n"
           "       dsmlp-bench --tp [...]   tensor parallelism, one process per GPU (dsmlp-bench --tp --help)\n"
           "Times dsmlp's benchmark blocks as CUDA-graph replays (median of N, default 200): the plan as loaded,\n"
           "the main steps and the weight-streaming route pinned, and after dsmlp_plan_tune; each as a ratio to\n"
           "the physical floor (bytes / read-stream rate, FLOPs / GEMM rate) measured in the same run.\n"
           "--variants times every tile variant of the weight-streaming route pinned, at each grid of --grids\n"
           "(blocks per SM; 0 = the default, resident blocks; default list 0,1).\n"
           "--layout sets every block's weight layout (default: f16/bf16 blocks [in,out], int8 blocks [out,in]);\n"
           "DSMLP_STREAM_PIPE=1 adds the route's shared-memory W ring variants ([out,in] weights).\n"
           "Blocks: gelu_f16_h4096, swiglu_bf16_h4096, bert_f16_h768, gelu_i8_h4096, swiglu_i8_h4096 (--all);\n"
           "swiglu_bf16_h8192, swiglu_i8_h8192 (Llama-70B-class MLP), gelu_fp8_h4096, swiglu_fp8_h4096\n"
           "(fp8 e4m3 weights, per-channel scales), bert_erf_f16_h768, gelu_erf_i8_h4096, gelu_erf_f16_h4096 (erf-GELU, as BERT\n"
           "and GPT-NeoX: no cuBLASLt epilogue): --block only.\n"
           "--fp8-gemm times cuBLASLt's f16 x f16 and e4m3 x e4m3 GEMMs at the GELU-4096 block's shapes for each\n"
           "--tokens value (what fp8 activations would buy at large T; not a dsmlp path) and exits.\n"
           "--compile-only [--arch sm_90] builds the selected blocks' plans for --tokens and fills the kernel\n"
           "store (DSMLP_CACHE_DIR) without timing or needing a device: run it before carrying a store to a GPU.\n"
           "Exit: 0 ok, 1 failure, 2 usage, 77 no GPU.\n");
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "--tp")) return bench_tp_main(argc - 1, argv + 1);   /* bench_tp.c */
    int tokens[16] = {1, 2, 4, 8, 16, 32, 64, 128, 1024, 8192}, ntok = 10, reps = 200, tune = 1, rk = 0, variants = 0,
        fp8_gemm = 0, compile_only = 0;
    const char *only = NULL, *md_path = NULL, *layout = NULL, *arch = "sm_90";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) { usage(); return 0; }
        else if (!strcmp(argv[i], "--all")) only = NULL;
        else if (!strcmp(argv[i], "--tokens") && i + 1 < argc) {
            ntok = 0;
            for (char *t = strtok(argv[++i], ","); t && ntok < 16; t = strtok(NULL, ",")) tokens[ntok++] = atoi(t);
        } else if (!strcmp(argv[i], "--block") && i + 1 < argc) only = argv[++i];
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--md") && i + 1 < argc) md_path = argv[++i];
        else if (!strcmp(argv[i], "--no-tune")) tune = 0;
        else if (!strcmp(argv[i], "--residual-kernel")) rk = 1;
        else if (!strcmp(argv[i], "--variants")) variants = 1;
        else if (!strcmp(argv[i], "--fp8-gemm")) fp8_gemm = 1;
        else if (!strcmp(argv[i], "--compile-only")) compile_only = 1;
        else if (!strcmp(argv[i], "--arch") && i + 1 < argc) arch = argv[++i];
        else if (!strcmp(argv[i], "--layout") && i + 1 < argc) {
            layout = argv[++i];
            if (strcmp(layout, "in_out") && strcmp(layout, "out_in")) {
                fprintf(stderr, "dsmlp-bench: --layout '%s': in_out or out_in\n", layout);
                return 2;
            }
        }
        else if (!strcmp(argv[i], "--grids") && i + 1 < argc) {
            bench_ngrids = 0;
            for (char *t = strtok(argv[++i], ","); t && bench_ngrids < 16; t = strtok(NULL, ",")) bench_grids[bench_ngrids++] = atoi(t);
        }
        else { fprintf(stderr, "dsmlp-bench: unknown argument '%s'\n", argv[i]); usage(); return 2; }
    }
    if (reps < 1 || ntok < 1) { usage(); return 2; }
    enum { NBLOCKS = 12, NALL = 5 };   /* --all runs the first five; the others by --block only */
    bench_block blocks[NBLOCKS];
    for (int i = 0; i < NBLOCKS; i++) dsmlp_mlp_config_default(&blocks[i].cfg);
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
    /* int8 weights (DeepSpeed's scheme: [out,in], 64 scale groups of output rows), f16 / bf16 activations */
    blocks[3] = blocks[0], blocks[3].name = "gelu_i8_h4096";
    blocks[4] = blocks[1], blocks[4].name = "swiglu_i8_h4096";
    for (int i = 3; i < 5; i++)
        blocks[i].cfg.int8_weights = 1, blocks[i].cfg.int8_groups = 64, blocks[i].cfg.layout = DSMLP_LAYOUT_OUT_IN;
    /* Llama-70B-class MLP (H = 8192, I = 28672): four times the bytes, so fixed costs per kernel show apart */
    blocks[5] = blocks[1], blocks[5].name = "swiglu_bf16_h8192";
    blocks[5].cfg.hidden = 8192, blocks[5].cfg.intermediate = 28672;
    blocks[6] = blocks[4], blocks[6].name = "swiglu_i8_h8192";
    blocks[6].cfg.hidden = 8192, blocks[6].cfg.intermediate = 28672;
    /* fp8 e4m3 weight-only with per-channel f32 scales (issue 10's fp8 rows) */
    blocks[7] = blocks[3], blocks[7].name = "gelu_fp8_h4096";
    blocks[8] = blocks[4], blocks[8].name = "swiglu_fp8_h4096";
    for (int i = 7; i < 9; i++)
        blocks[i].cfg.quant_dtype = DSMLP_FP8_E4M3, blocks[i].cfg.quant_per_channel = 1, blocks[i].cfg.int8_groups = 1;
    /* erf-GELU (BERT as it is, GPT-NeoX / Falcon): cuBLASLt has no epilogue for it, the generated kernels do */
    blocks[9] = blocks[2], blocks[9].name = "bert_erf_f16_h768";
    blocks[10] = blocks[3], blocks[10].name = "gelu_erf_i8_h4096";
    blocks[11] = blocks[0], blocks[11].name = "gelu_erf_f16_h4096";
    for (int i = 9; i < 12; i++) blocks[i].cfg.activation = DSMLP_MLP_GELU_ERF;
    for (int i = 0; layout && i < NBLOCKS; i++)
        blocks[i].cfg.layout = strcmp(layout, "out_in") ? DSMLP_LAYOUT_IN_OUT : DSMLP_LAYOUT_OUT_IN;

    int found = !only;   /* a name that is not a block is a usage error, before any device work */
    for (int i = 0; i < NBLOCKS; i++) found |= only && !strcmp(only, blocks[i].name);
    if (!found) {
        fprintf(stderr, "dsmlp-bench: no block named '%s' (dsmlp-bench --help lists them)\n", only);
        return 2;
    }
    if (compile_only) {
        dsmlp_ctx *ctx;
        if (dsmlp_ctx_create(&ctx) != DSMLP_OK) return 1;
        for (int i = 0; i < NBLOCKS; i++)
            if (only ? !strcmp(only, blocks[i].name) : i < NALL) compile_block(ctx, &blocks[i], rk, tokens, ntok, arch);
        dsmlp_ctx_free(ctx);
        return 0;
    }
    if (bench_cuda_init(&bench_cu) != 0) return 77;
    if (fp8_gemm) {   /* cuBLASLt f16 vs e4m3 GEMMs at the GELU-4096 block's shapes, then done */
        printf("card: %s\n", bench_cu.name);
        return bench_fp8_gemm_table(bench_cu.stream, tokens, ntok) ? 1 : 0;
    }

    bench_cu.DeviceGetAttribute(&bench_sms, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, bench_cu.dev);
    ceilings ce;
    ce.copy_bw = measure_copy_bw();
    ce.read_bw = bench_read_bw();
    ce.rate = bench_gemm_rate(bench_cu.stream);
    if (ce.rate <= 0) return 1;
    printf("card: %s\nmeasured: device copy %.2f TB/s (read+write), read-only stream %.2f TB/s, bf16 8192^3 GEMM "
           "%.0f TFLOP/s\n", bench_cu.name, ce.copy_bw / 1e12, ce.read_bw / 1e12, ce.rate / 1e12);
    FILE *md = md_path ? fopen(md_path, "w") : NULL;
    if (md)
        fprintf(md, "| card | block | T | as loaded µs | main µs | stream µs | tuned µs | read floor µs | best ÷ floor | "
                    "weights TB/s |\n|---|---|---|---|---|---|---|---|---|---|\n");
    dsmlp_ctx *ctx;
    if (dsmlp_ctx_create(&ctx) != DSMLP_OK) return 1;
    for (int i = 0; i < NBLOCKS; i++)
        if (only ? !strcmp(only, blocks[i].name) : i < NALL)
            bench_one(ctx, &blocks[i], rk, tune, variants, tokens, ntok, reps, &ce, md);
    if (md) fclose(md);
    dsmlp_ctx_free(ctx);
    return 0;
}
