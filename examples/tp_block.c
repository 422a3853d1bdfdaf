/*
** tp_block.c — tensor parallelism as deployed: one process per GPU.
**
** Start P copies with a launcher; each joins the group from the environment
** the launcher set (RANK, WORLD_SIZE, LOCAL_RANK and DSMLP_TP_RENDEZVOUS or
** MASTER_ADDR/MASTER_PORT), builds its rank's LLaMA-style block (RMSNorm,
** SwiGLU, [out,in] weights), uploads its shard of the same full weights
** (every rank draws them from rank 0's seed), runs it, and prints its error
** against the CPU reference of the unsharded (P = 1) block, the all-reduce
** path it took and its time per block (CUDA-graph replays).
**
**   tools/tp-launch.sh -n 2 build/bin/example_tp_block [H [I [T [dtype]]]]
**   torchrun --nproc-per-node 2 --no-python build/bin/example_tp_block ...
**       (with DSMLP_TP_RENDEZVOUS=tcp://127.0.0.1:<free port>: torchrun's
**       own store holds MASTER_PORT)
**   defaults: H 1024, I 4096, T 128, bf16
**
** Exit codes: 0 ok; 1 error or out of tolerance; 2 usage or launch
** environment; 77 no GPU. The CUDA driver is loaded at run time.
*/
#include <cuda.h>
#include <dlfcn.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dsmlp.h"

#define STR_(x) #x
#define STR(x) STR_(x)
#define DRIVER(X)                                                                                            \
    X(cuMemAlloc) X(cuMemFree) X(cuMemcpyHtoD) X(cuMemcpyDtoH) X(cuMemsetD8Async) X(cuStreamCreate)         \
    X(cuStreamDestroy) X(cuStreamSynchronize) X(cuEventCreate) X(cuEventRecord) X(cuEventSynchronize)        \
    X(cuEventElapsedTime) X(cuEventDestroy) X(cuGetErrorString) X(cuStreamBeginCapture) X(cuStreamEndCapture) \
    X(cuGraphInstantiate) X(cuGraphLaunch) X(cuGraphDestroy) X(cuGraphExecDestroy)
#define FIELD(f) __typeof__(&f) f;
static struct { DRIVER(FIELD) } cu;
static int my_rank, my_size;

static int load_driver(void)
{
    void *lib = dlopen("libcuda.so.1", RTLD_NOW);
    if (!lib) return 0;
#define SYM(f) if (!(cu.f = (__typeof__(cu.f))dlsym(lib, STR(f)))) return 0;
    DRIVER(SYM)
    return 1;
}

#define CK(call)                                                                            \
    do {                                                                                    \
        CUresult r_ = (call);                                                               \
        if (r_ != CUDA_SUCCESS) {                                                           \
            const char *m_ = "?";                                                           \
            cu.cuGetErrorString(r_, &m_);                                                   \
            fprintf(stderr, "rank %d: %s failed: %s\n", my_rank, #call, m_);                \
            exit(1);                                                                        \
        }                                                                                   \
    } while (0)
#define DS(ctx, call)                                                                                   \
    do {                                                                                                \
        dsmlp_status s_ = (call);                                                                       \
        if (s_ != DSMLP_OK) {                                                                           \
            fprintf(stderr, "rank %d: %s: %s: %s\n", my_rank, #call, dsmlp_status_name(s_), dsmlp_last_error(ctx)); \
            exit(1);                                                                                    \
        }                                                                                               \
    } while (0)

/* ------------------------------------------------ numbers, as llama_block.c */

static uint16_t to_bf16(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return (uint16_t)((u + 0x7fff + ((u >> 16) & 1)) >> 16);
}

static float from_bf16(uint16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static uint16_t to_f16(float f)
{
    _Float16 h = (_Float16)f;
    uint16_t u;
    memcpy(&u, &h, 2);
    return u;
}

static float from_f16(uint16_t u)
{
    _Float16 h;
    memcpy(&h, &u, 2);
    return (float)h;
}

static uint64_t rng;
static double uniform_pm1(void)   /* splitmix64: the same stream on every rank */
{
    uint64_t z = (rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return ((double)(z >> 11) + 0.5) * 0x1.0p-52 - 1.0;
}

static void *random_buffer(dsmlp_dtype dt, size_t n, double mean, double scale)
{
    size_t es = dsmlp_dtype_size(dt);
    unsigned char *p = malloc(n * es);
    if (!p) {
        fprintf(stderr, "rank %d: out of host memory\n", my_rank);
        exit(1);
    }
    for (size_t i = 0; i < n; i++) {
        float v = (float)(mean + scale * 1.7320508 * uniform_pm1());
        if (dt == DSMLP_F32) memcpy(p + 4 * i, &v, 4);
        else {
            uint16_t h = dt == DSMLP_BF16 ? to_bf16(v) : to_f16(v);
            memcpy(p + 2 * i, &h, 2);
        }
    }
    return p;
}

static double element(dsmlp_dtype dt, const void *p, size_t i)
{
    if (dt == DSMLP_F32) return ((const float *)p)[i];
    uint16_t h = ((const uint16_t *)p)[i];
    return dt == DSMLP_BF16 ? from_bf16(h) : from_f16(h);
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* ---------------------------------------------------------------- main */

int main(int argc, char **argv)
{
    int64_t H = argc > 1 ? atoll(argv[1]) : 1024, I = argc > 2 ? atoll(argv[2]) : 4096;
    int64_t T = argc > 3 ? atoll(argv[3]) : 128;
    const char *dts = argc > 4 ? argv[4] : "bf16";
    dsmlp_dtype dt = !strcmp(dts, "f16") ? DSMLP_F16 : !strcmp(dts, "f32") ? DSMLP_F32 : DSMLP_BF16;
    if (argc > 5 || H <= 0 || I <= 0 || T <= 0 || (strcmp(dts, "bf16") && strcmp(dts, "f16") && strcmp(dts, "f32"))) {
        fprintf(stderr, "usage: %s [H [I [T [bf16|f16|f32]]]]  (one process per rank: see tools/tp-launch.sh)\n",
                argv[0]);
        return 2;
    }
    dsmlp_ctx *ctx;
    if (dsmlp_ctx_create(&ctx) != DSMLP_OK) return 1;

    /* 1. The group, from what the launcher set. */
    dsmlp_tp_options o;
    dsmlp_tp_options_default(&o);
    if (dsmlp_tp_options_from_env(ctx, &o) != DSMLP_OK) {
        fprintf(stderr, "tp_block: %s\n", dsmlp_last_error(ctx));
        return 2;
    }
    my_rank = o.rank, my_size = o.size;
    /* This rank's block: checked before anything starts (e.g. P must divide I). */
    dsmlp_mlp_config full, mine;
    dsmlp_mlp_config_default(&full);
    full.hidden = H, full.intermediate = I, full.dtype = dt;
    full.norm = DSMLP_NORM_RMSNORM, full.activation = DSMLP_MLP_GATED_SILU, full.epsilon = 1e-5;
    full.layout = DSMLP_LAYOUT_OUT_IN;
    full.attn_bias = full.norm_bias = full.bias1 = full.bias2 = 0;
    mine = full;
    mine.tp_size = my_size, mine.tp_rank = my_rank;
    if (dsmlp_mlp_config_check(ctx, &mine) != DSMLP_OK) {   /* e.g. P does not divide I */
        fprintf(stderr, "rank %d: %s\n", my_rank, dsmlp_last_error(ctx));
        return 2;
    }
    dsmlp_tp *tp;
    dsmlp_status s = dsmlp_tp_create(ctx, &o, &tp);
    if (s != DSMLP_OK) {
        fprintf(stderr, "rank %d: %s\n", my_rank, dsmlp_last_error(ctx));
        return s == DSMLP_ERR_NO_DEVICE ? 77 : s == DSMLP_ERR_INVALID_ARG ? 2 : 1;
    }
    if (my_rank == 0) printf("tp_block: %s\n", dsmlp_tp_describe(tp));
    if (!load_driver()) {
        fprintf(stderr, "rank %d: could not load the CUDA driver entry points\n", my_rank);
        return 1;
    }
    long cores = sysconf(_SC_NPROCESSORS_ONLN) / my_size;
    dsmlp_reference_set_threads(ctx, cores > 0 ? (int)cores : 1);

    /* 2. Rank 0's seed for everyone: the same full weights on every rank. */
    uint64_t seed = (uint64_t)time(NULL) * 2654435761u ^ (uint64_t)getpid(), *seeds = malloc(8 * (size_t)my_size);
    if (getenv("DSMLP_SEED")) seed = strtoull(getenv("DSMLP_SEED"), NULL, 0);
    DS(ctx, dsmlp_tp_allgather(tp, &seed, sizeof seed, seeds));
    rng = seeds[0];
    free(seeds);

    /* 3. The unsharded block (the reference) and this rank's plan. */
    dsmlp_graph *g1, *gr;
    DS(ctx, dsmlp_graph_create(ctx, "tp_block_full", &g1));
    DS(ctx, dsmlp_mlp_build(g1, &full));
    DS(ctx, dsmlp_graph_create(ctx, "tp_block_rank", &gr));
    DS(ctx, dsmlp_mlp_build(gr, &mine));
    dsmlp_compile_options opt;
    dsmlp_compile_options_default(&opt);
    opt.max_tokens = T;
    dsmlp_plan *plan;
    DS(ctx, dsmlp_compile(ctx, gr, &opt, &plan));
    DS(ctx, dsmlp_plan_set_tp(plan, tp));   /* collective: the all-reduce buffers, once */

    /* 4. Full data on every rank; this rank uploads its shards. */
    dsmlp_host_tensor bind[16];
    int nbind = 0;
    CUdeviceptr dev[16] = {0}, out_dev = 0;
    double *ref = NULL;
    void *out_host = NULL;
    size_t out_n = 0;
    for (int v = 0; v < dsmlp_graph_size(g1); v++) {
        dsmlp_value_info vi;
        DS(ctx, dsmlp_value_get(g1, v, &vi));
        if (vi.op != DSMLP_OP_INPUT && vi.op != DSMLP_OP_PARAM && vi.op != DSMLP_OP_OUTPUT) continue;
        size_t n = vi.op == DSMLP_OP_PARAM ? (size_t)(vi.rank == 2 ? vi.dims[0] * vi.dims[1] : vi.dims[0])
                                           : (size_t)(T * vi.dims[1]);
        size_t bytes = n * dsmlp_dtype_size(vi.dtype);
        if (vi.op == DSMLP_OP_OUTPUT) {
            CK(cu.cuMemAlloc(&out_dev, bytes));
            DS(ctx, dsmlp_bind(plan, vi.name, (void *)(uintptr_t)out_dev));
            out_host = malloc(bytes);
            ref = malloc(n * sizeof *ref);
            out_n = n;
            bind[nbind++] = (dsmlp_host_tensor){vi.name, DSMLP_F64, ref};
            continue;
        }
        double mean = 0, scale = 1;
        if (vi.op == DSMLP_OP_PARAM && vi.rank == 2) scale = 1 / sqrt((double)vi.dims[1]);   /* [out,in] */
        else if (vi.op == DSMLP_OP_PARAM) mean = 1, scale = 0.2;
        void *host = random_buffer(vi.dtype, n, mean, scale);
        if (vi.op == DSMLP_OP_PARAM) {
            dsmlp_value_info ri;   /* the rank's shape of this parameter */
            size_t rb = 0;
            for (int w = 0; w < dsmlp_graph_size(gr); w++)
                if (dsmlp_value_get(gr, w, &ri) == DSMLP_OK && ri.op == DSMLP_OP_PARAM && !strcmp(ri.name, vi.name))
                    rb = (size_t)(ri.rank == 2 ? ri.dims[0] * ri.dims[1] : ri.dims[0]) * dsmlp_dtype_size(ri.dtype);
            void *shard = malloc(rb);
            DS(ctx, dsmlp_mlp_shard(ctx, &mine, vi.name, host, shard));
            s = dsmlp_upload(plan, vi.name, shard, rb);
            free(shard);
        } else {
            CK(cu.cuMemAlloc(&dev[nbind], bytes));
            CK(cu.cuMemcpyHtoD(dev[nbind], host, bytes));
            s = dsmlp_bind(plan, vi.name, (void *)(uintptr_t)dev[nbind]);
        }
        if (s != DSMLP_OK && s != DSMLP_ERR_NOT_FOUND) DS(ctx, s);
        bind[nbind++] = (dsmlp_host_tensor){vi.name, vi.dtype, host};
    }

    /* 5. Run once (output poisoned first), then compare with the P = 1 reference. */
    CUstream stream;
    CK(cu.cuStreamCreate(&stream, CU_STREAM_NON_BLOCKING));
    CK(cu.cuMemsetD8Async(out_dev, 0xff, out_n * dsmlp_dtype_size(dt), stream));
    DS(ctx, dsmlp_run(plan, T, stream));
    CK(cu.cuStreamSynchronize(stream));
    CK(cu.cuMemcpyDtoH(out_host, out_dev, out_n * dsmlp_dtype_size(dt)));
    DS(ctx, dsmlp_reference_run_f64(g1, T, bind, nbind));
    double num = 0, den = 0;
    for (size_t i = 0; i < out_n; i++) {
        double x = element(dt, out_host, i), d = x - ref[i];
        num += isfinite(x) ? d * d : INFINITY;
        den += ref[i] * ref[i];
    }
    double err = sqrt(num / den), tol = dt == DSMLP_F32 ? 1e-5 : dt == DSMLP_F16 ? 2e-3 : 1.6e-2;

    /* 6. Time it: the block captured in a CUDA graph, 50 replays after 5. */
    enum { WARM = 5, RUNS = 50 };
    CUgraph graph;
    CUgraphExec exec;
    CK(cu.cuStreamBeginCapture(stream, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL));
    DS(ctx, dsmlp_run(plan, T, stream));
    CK(cu.cuStreamEndCapture(stream, &graph));
    CK(cu.cuGraphInstantiate(&exec, graph, 0));
    float ms[RUNS];
    CUevent e0, e1;
    CK(cu.cuEventCreate(&e0, CU_EVENT_DEFAULT));
    CK(cu.cuEventCreate(&e1, CU_EVENT_DEFAULT));
    for (int i = 0; i < WARM; i++) CK(cu.cuGraphLaunch(exec, stream));
    for (int i = 0; i < RUNS; i++) {
        CK(cu.cuEventRecord(e0, stream));
        CK(cu.cuGraphLaunch(exec, stream));
        CK(cu.cuEventRecord(e1, stream));
        CK(cu.cuEventSynchronize(e1));
        CK(cu.cuEventElapsedTime(&ms[i], e0, e1));
    }
    qsort(ms, RUNS, sizeof *ms, cmp_float);
    size_t ar_bytes = (size_t)(T * H) * dsmlp_dtype_size(dt);
    int custom = dsmlp_tp_custom(tp) && (!dsmlp_tp_nccl_comm(tp) || ar_bytes <= o.custom_max_bytes);
    printf("rank %d/%d: H=%lld I=%lld T=%lld %s: rel. error %.3e against the P = 1 reference (tolerance %.1e) %s; "
           "all-reduce of %zu bytes via %s; median %.1f us per block (graph replays)\n",
           my_rank, my_size, (long long)H, (long long)I, (long long)T, dsmlp_dtype_name(dt), err, tol,
           err <= tol ? "ok" : "FAILED", ar_bytes, custom ? "peer memory" : "NCCL", ms[RUNS / 2] * 1e3);
    fflush(stdout);

    cu.cuGraphExecDestroy(exec);
    cu.cuGraphDestroy(graph);
    cu.cuEventDestroy(e0);
    cu.cuEventDestroy(e1);
    cu.cuStreamDestroy(stream);
    dsmlp_plan_free(plan);
    for (int i = 0; i < nbind; i++) {
        if (dev[i]) cu.cuMemFree(dev[i]);
        if (bind[i].data != ref) free(bind[i].data);
    }
    cu.cuMemFree(out_dev);
    free(out_host);
    free(ref);
    dsmlp_graph_free(g1);
    dsmlp_graph_free(gr);
    dsmlp_tp_free(tp);
    dsmlp_ctx_free(ctx);
    return err <= tol ? 0 : 1;
}
