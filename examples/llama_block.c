/*
** llama_block.c — embedding dsmlp from C, end to end.
**
** Builds a LLaMA-style MLP block (RMSNorm, SwiGLU, no biases, [out,in]
** weights) with dsmlp_mlp_build, compiles it for the local GPU, uploads
** random weights with dsmlp_upload, binds its own device buffers, runs the
** block on its own CUDA stream, checks the result against dsmlp's CPU
** reference (double precision) and times it with CUDA events.
**
**   example_llama_block [H [I [T [dtype]]]]     defaults: 4096 14336 128 bf16
**
** Exit codes: 0 ok; 1 error or numbers out of tolerance; 2 usage;
** 77 no GPU (the message says what is missing).
**
** The example uses the CUDA runtime API for its own buffers, stream and
** events, linked statically (cudart_static loads the driver at run time, so
** the program starts without a GPU, like dsmlp itself).
*/
#include <cuda_runtime.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dsmlp.h"

#define CK(call)                                                                            \
    do {                                                                                    \
        cudaError_t r_ = (call);                                                            \
        if (r_ != cudaSuccess) {                                                            \
            fprintf(stderr, "llama_block: %s failed: %s\n", #call, cudaGetErrorString(r_)); \
            exit(1);                                                                        \
        }                                                                                   \
    } while (0)
#define DS(ctx, call)                                                                                \
    do {                                                                                             \
        dsmlp_status s_ = (call);                                                                    \
        if (s_ != DSMLP_OK) {                                                                        \
            fprintf(stderr, "llama_block: %s: %s: %s\n", #call, dsmlp_status_name(s_), dsmlp_last_error(ctx)); \
            exit(1);                                                                                 \
        }                                                                                            \
    } while (0)

static uint64_t rng = 0x243f6a8885a308d3ull;
static double uniform_pm1(void)   /* splitmix64, uniform in (-1, 1) */
{
    uint64_t z = (rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return ((double)(z >> 11) + 0.5) * 0x1.0p-52 - 1.0;
}

/* n random elements, std ≈ scale, around `mean`, in dtype dt. */
static void *random_buffer(dsmlp_dtype dt, size_t n, double mean, double scale)
{
    size_t es = dsmlp_dtype_size(dt);
    unsigned char *p = malloc(n * es);
    if (!p) {
        fprintf(stderr, "llama_block: out of host memory\n");
        exit(1);
    }
    for (size_t i = 0; i < n; i++) {
        double v = mean + scale * 1.7320508 * uniform_pm1();
        dsmlp_convert(p + i * es, dt, &v, DSMLP_F64, 1);   /* dsmlp's rounding, the reference's too */
    }
    return p;
}

static double element(dsmlp_dtype dt, const void *p, size_t i)
{
    double v;
    dsmlp_convert(&v, DSMLP_F64, (const char *)p + i * dsmlp_dtype_size(dt), dt, 1);
    return v;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* --------------------------------------------------------------- main */

int main(int argc, char **argv)
{
    int64_t H = argc > 1 ? atoll(argv[1]) : 4096, I = argc > 2 ? atoll(argv[2]) : 14336;
    int64_t T = argc > 3 ? atoll(argv[3]) : 128;
    const char *dts = argc > 4 ? argv[4] : "bf16";
    dsmlp_dtype dt = !strcmp(dts, "f16") ? DSMLP_F16 : !strcmp(dts, "f32") ? DSMLP_F32 : DSMLP_BF16;
    if (argc > 5 || H <= 0 || I <= 0 || T <= 0 || (strcmp(dts, "bf16") && strcmp(dts, "f16") && strcmp(dts, "f32"))) {
        fprintf(stderr, "usage: %s [H [I [T [bf16|f16|f32]]]]\n", argv[0]);
        return 2;
    }

    dsmlp_ctx *ctx;
    if (dsmlp_ctx_create(&ctx) != DSMLP_OK) return 1;
    if (!dsmlp_device_available(ctx)) {
        printf("llama_block: %s; this example runs on a GPU (exit 77 = skipped)\n", dsmlp_last_error(ctx));
        dsmlp_ctx_free(ctx);
        return 77;
    }
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    dsmlp_reference_set_threads(ctx, cores > 0 ? (int)cores : 1);

    /* 1. Describe the block. */
    dsmlp_mlp_config cfg;
    dsmlp_mlp_config_default(&cfg);
    cfg.hidden = H;
    cfg.intermediate = I;
    cfg.dtype = dt;
    cfg.norm = DSMLP_NORM_RMSNORM;
    cfg.activation = DSMLP_MLP_GATED_SILU;
    cfg.epsilon = 1e-5;
    cfg.layout = DSMLP_LAYOUT_OUT_IN;
    cfg.attn_bias = cfg.norm_bias = cfg.bias1 = cfg.bias2 = 0;
    dsmlp_graph *g;
    DS(ctx, dsmlp_graph_create(ctx, "llama_block", &g));
    DS(ctx, dsmlp_mlp_build(g, &cfg));

    /* 2. Compile for this GPU (kernels come from the store when cached). */
    dsmlp_compile_options opt;
    dsmlp_compile_options_default(&opt);
    opt.max_tokens = T;
    dsmlp_plan *plan;
    DS(ctx, dsmlp_compile(ctx, g, &opt, &plan));
    printf("llama_block: H=%lld I=%lld T=%lld %s on %s, %d plan steps:", (long long)H, (long long)I, (long long)T,
           dsmlp_dtype_name(dt), dsmlp_device_arch(ctx), dsmlp_plan_steps(plan));
    for (int i = 0; i < dsmlp_plan_steps(plan); i++) printf(" %s", dsmlp_plan_step_label(plan, i));
    printf("\n");

    /* 3. Weights from host memory (dsmlp owns the device copies), inputs and
    ** output in our own device buffers. */
    dsmlp_host_tensor bind[16];
    int nbind = 0;
    void *dev[16] = {0};
    void *out_host = NULL;
    double *ref = NULL;
    dsmlp_dtype out_dt = dt;
    void *out_dev = NULL;
    size_t out_n = 0;
    for (int v = 0; v < dsmlp_graph_size(g); v++) {
        dsmlp_value_info vi;
        DS(ctx, dsmlp_value_get(g, v, &vi));
        if (vi.op != DSMLP_OP_INPUT && vi.op != DSMLP_OP_PARAM && vi.op != DSMLP_OP_OUTPUT) continue;
        size_t n = vi.op == DSMLP_OP_PARAM ? (size_t)(vi.rank == 2 ? vi.dims[0] * vi.dims[1] : vi.dims[0])
                                           : (size_t)(T * vi.dims[1]);
        size_t bytes = n * dsmlp_dtype_size(vi.dtype);
        if (vi.op == DSMLP_OP_OUTPUT) {
            CK(cudaMalloc(&out_dev, bytes));
            DS(ctx, dsmlp_bind(plan, vi.name, out_dev));
            out_host = malloc(bytes);
            ref = malloc(n * sizeof *ref);
            out_n = n;
            out_dt = vi.dtype;
            bind[nbind++] = (dsmlp_host_tensor){vi.name, DSMLP_F64, ref};
            continue;
        }
        double mean = 0, scale = 1;
        if (vi.op == DSMLP_OP_PARAM && vi.rank == 2)   /* W ~ 1/sqrt(fan_in): activations stay O(1) */
            scale = 1 / sqrt((double)(vi.layout == DSMLP_LAYOUT_OUT_IN ? vi.dims[1] : vi.dims[0]));
        else if (vi.op == DSMLP_OP_PARAM)              /* RMSNorm γ around 1 */
            mean = 1, scale = 0.2;
        void *host = random_buffer(vi.dtype, n, mean, scale);
        /* A graph input the plan never reads is not bindable (NOT_FOUND). */
        dsmlp_status s;
        if (vi.op == DSMLP_OP_PARAM) {
            s = dsmlp_upload(plan, vi.name, host, bytes);
        } else {
            CK(cudaMalloc(&dev[nbind], bytes));
            CK(cudaMemcpy(dev[nbind], host, bytes, cudaMemcpyHostToDevice));
            s = dsmlp_bind(plan, vi.name, dev[nbind]);
        }
        if (s != DSMLP_OK && s != DSMLP_ERR_NOT_FOUND) DS(ctx, s);
        bind[nbind++] = (dsmlp_host_tensor){vi.name, vi.dtype, host};
    }

    /* 4. Run on our stream; poison the output first so nothing unwritten hides. */
    cudaStream_t stream;
    CK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
    CK(cudaMemsetAsync(out_dev, 0xff, out_n * dsmlp_dtype_size(out_dt), stream));
    DS(ctx, dsmlp_run(plan, T, stream));
    CK(cudaStreamSynchronize(stream));
    CK(cudaMemcpy(out_host, out_dev, out_n * dsmlp_dtype_size(out_dt), cudaMemcpyDeviceToHost));

    /* 5. Check against the CPU reference (double precision, unfused graph). */
    DS(ctx, dsmlp_reference_run_f64(g, T, bind, nbind));
    double num = 0, den = 0;
    for (size_t i = 0; i < out_n; i++) {
        double x = element(out_dt, out_host, i), d = x - ref[i];
        num += isfinite(x) ? d * d : INFINITY;
        den += ref[i] * ref[i];
    }
    double err = sqrt(num / den), tol = dsmlp_tolerance(out_dt);

    /* 6. Time it: events around each of 20 runs after 3 warm-ups; median. */
    enum { WARM = 3, RUNS = 20 };
    float ms[RUNS];
    cudaEvent_t e0, e1;
    CK(cudaEventCreate(&e0));
    CK(cudaEventCreate(&e1));
    for (int i = 0; i < WARM; i++) DS(ctx, dsmlp_run(plan, T, stream));
    for (int i = 0; i < RUNS; i++) {
        CK(cudaEventRecord(e0, stream));
        DS(ctx, dsmlp_run(plan, T, stream));
        CK(cudaEventRecord(e1, stream));
        CK(cudaEventSynchronize(e1));
        CK(cudaEventElapsedTime(&ms[i], e0, e1));
    }
    qsort(ms, RUNS, sizeof *ms, cmp_float);
    double flops = 2.0 * (double)T * (double)H * (double)I * 3;
    printf("llama_block: rel. error %.3e (tolerance %.1e) %s; median %.1f us over %d runs (min %.1f), %.1f TFLOP/s\n",
           err, tol, err <= tol ? "ok" : "FAILED", ms[RUNS / 2] * 1e3, RUNS, ms[0] * 1e3,
           flops / (ms[RUNS / 2] * 1e-3) / 1e12);

    CK(cudaEventDestroy(e0));
    CK(cudaEventDestroy(e1));
    CK(cudaStreamDestroy(stream));
    dsmlp_plan_free(plan);
    for (int i = 0; i < nbind; i++) {
        if (dev[i]) cudaFree(dev[i]);
        if (bind[i].data != ref) free(bind[i].data);
    }
    cudaFree(out_dev);
    free(out_host);
    free(ref);
    dsmlp_graph_free(g);
    dsmlp_ctx_free(ctx);
    return err <= tol ? 0 : 1;
}
