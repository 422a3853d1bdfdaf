/*
** test_gpu_tp_procs.c — tensor parallelism as deployed: one process per
** rank, the group from the launcher's environment (dsmlp_tp_options_from_env,
** a file rendezvous), the peer-memory all-reduce and NCCL.
**
** The parent (a Check suite) starts P copies of this program with RANK,
** WORLD_SIZE, LOCAL_RANK and DSMLP_TP_* set, collects what they print and
** their exit codes. A worker does one of:
**   ar     the custom all-reduce protocol on its own channels, against a
**          host sum computed the way the kernel sums (float, rank order): bit
**          for bit, f32/f16/bf16, sizes from 1 element to 1 MiB, in place and
**          not, one-shot and (P >= 4) two-shot; inside a CUDA graph replayed
**          with fresh inputs (epochs, no resets); two channels on two streams
**          launched in rank-dependent order without host synchronization.
**   block  the TP MLP block of each family (as tests/gpu/test_gpu_tp.c) at
**          T in {1, 7, 128, 1000} against the CPU reference of the unsharded
**          (P = 1) block; every rank's output bitwise equal to rank 0's; a
**          CUDA-graph replay equal to the direct run (T = 7 and 1000); two
**          attached plans on two streams at once; once more with GEMM2 and
**          the all-reduce overlapped in token chunks (DSMLP_TP_OVERLAP_*).
**   bad    setups that must fail on every rank with a message naming the cause.
** With one GPU all ranks share it (NCCL off: it refuses two ranks on one
** GPU; the peer-memory path works, CUDA IPC handles to one device open in
** other processes). With P GPUs it also runs one rank per GPU, custom path +
** NCCL and NCCL alone (issue 13).
*/
#define _GNU_SOURCE
#include <signal.h>
#include <sys/wait.h>
#include "gpu_case.h"
#include "runtime/tp.h"
#include "runtime/store.h"

#define W_MAXT 1000
#define W_NT 4
static const int64_t w_Ts[W_NT] = {1, 7, 128, 1000};

/* ================================================================ worker */

static char w_msg[2048];
static int w_rank, w_size;

#define W_FAIL(...)                                                                                 \
    do {                                                                                            \
        snprintf(w_msg, sizeof w_msg, __VA_ARGS__);                                                 \
        return 1;                                                                                   \
    } while (0)
#define W_DS(ctx, call)                                                                             \
    do {                                                                                            \
        dsmlp_status s_ = (call);                                                                   \
        if (s_ != DSMLP_OK) W_FAIL("%s: %s: %s", #call, dsmlp_status_name(s_), dsmlp_last_error(ctx)); \
    } while (0)
#define W_CU(call)                                                                                  \
    do {                                                                                            \
        CUresult r_ = (call);                                                                       \
        if (r_ != CUDA_SUCCESS) W_FAIL("%s: %s", #call, dsmlpR_cuda_api_errstr(r_));                       \
    } while (0)

static uint64_t w_hash(const void *p, size_t n)
{
    const unsigned char *c = p;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ c[i]) * 1099511628211ull;
    return h;
}

/* Random values as gu_fill draws them, without Check (workers run outside
** a Check test, where its assertions cannot report): uniform in ±sqrt(3)·scale
** around shift, never 0, rounded to t; the same stream on every rank. */
static void w_fill(dsmlp_dtype t, void *buf, int64_t n, double scale, double shift)
{
    uint64_t s = tu_next();
    for (int64_t i = 0; i < n; i++) {
        double v;
        do {
            uint64_t z = (s += 0x9e3779b97f4a7c15ull);
            z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
            z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
            z ^= z >> 31;
            double u = (double)(z >> 11) * 0x1.0p-53;
            v = dsmlpB_dtype_round(t, shift + scale * 1.7320508075688772 * (2 * u - 1));
        } while (v == 0);
        dsmlpB_dtype_store(t, buf, i, v);
    }
}

/* ------------------------------------------------ ar: the protocol alone */

typedef struct w_buf {
    dsmlp_dtype dt;
    size_t      n;
    void       *x[TP_MAX_RANKS];   /* every rank's input (host)          */
    void       *want;              /* the sum as the kernel computes it  */
    void       *got;
    CUdeviceptr in, out;
} w_buf;

static void w_buf_fill(w_buf *b)
{
    size_t esz = dsmlp_dtype_size(b->dt);
    for (int r = 0; r < w_size; r++) w_fill(b->dt, b->x[r], (int64_t)b->n, 1.0, 0);
    for (size_t i = 0; i < b->n; i++) {
        float acc = 0.0f;
        for (int r = 0; r < w_size; r++) acc += (float)dsmlpB_dtype_load(b->dt, b->x[r], (int64_t)i);
        dsmlpB_dtype_store(b->dt, b->want, (int64_t)i, dsmlpB_dtype_round(b->dt, (double)acc));
    }
    (void)esz;
}

static int w_buf_open(const cuda_api *cu, w_buf *b, dsmlp_dtype dt, size_t n, int inplace)
{
    size_t bytes = n * dsmlp_dtype_size(dt);
    b->dt = dt;
    b->n = n;
    for (int r = 0; r < w_size; r++) b->x[r] = malloc(bytes);
    b->want = malloc(bytes);
    b->got = malloc(bytes);
    W_CU(cu->cuMemAlloc(&b->in, bytes + 16));
    if (inplace) b->out = b->in;
    else W_CU(cu->cuMemAlloc(&b->out, bytes + 16));
    return 0;
}

static void w_buf_close(const cuda_api *cu, w_buf *b)
{
    for (int r = 0; r < w_size; r++) free(b->x[r]);
    free(b->want);
    free(b->got);
    if (b->out != b->in) cu->cuMemFree(b->out);
    cu->cuMemFree(b->in);
    memset(b, 0, sizeof *b);
}

static int w_buf_upload(const cuda_api *cu, w_buf *b, CUstream st)
{
    size_t bytes = b->n * dsmlp_dtype_size(b->dt);
    W_CU(cu->cuMemcpyHtoDAsync(b->in, b->x[w_rank], bytes, st));
    if (b->out != b->in) W_CU(cu->cuMemsetD8Async(b->out, 0xff, bytes, st));
    return 0;
}

/* Compares what came back with the expected sum, bit for bit. */
static int w_buf_check(const cuda_api *cu, w_buf *b, const char *what)
{
    size_t bytes = b->n * dsmlp_dtype_size(b->dt);
    W_CU(cu->cuMemcpyDtoH(b->got, b->out, bytes));
    if (memcmp(b->got, b->want, bytes)) {
        size_t i = 0;
        while (dsmlpB_dtype_load(b->dt, b->got, (int64_t)i) == dsmlpB_dtype_load(b->dt, b->want, (int64_t)i)) i++;
        W_FAIL("%s: %s n=%zu: element %zu is %g, want %g", what, dsmlp_dtype_name(b->dt), b->n, i,
               dsmlpB_dtype_load(b->dt, b->got, (int64_t)i), dsmlpB_dtype_load(b->dt, b->want, (int64_t)i));
    }
    return 0;
}

static int worker_ar(dsmlp_ctx *ctx, dsmlp_tp *tp)
{
    const cuda_api *cu = tp->dev->cu;
    const size_t region = 1 << 20;
    CUstream s1, s2;
    W_CU(cu->cuStreamCreate(&s1, CU_STREAM_NON_BLOCKING));
    W_CU(cu->cuStreamCreate(&s2, CU_STREAM_NON_BLOCKING));
    tp_chan *c1, *c2;
    W_DS(ctx, dsmlpR_tp_chan_create(tp, ctx, region, &c1));
    W_DS(ctx, dsmlpR_tp_chan_create(tp, ctx, region, &c2));
    static const dsmlp_dtype dts[] = {DSMLP_F32, DSMLP_F16, DSMLP_BF16};
    static const size_t ns[] = {1, 3, 8, 1000, 4096, 4099, 65536 + 5, 262144, 524288};
    int cases = 0;
    /* 1. Direct launches: every dtype, size, in place or not, both shots. */
    for (int two = 0; two < (w_size >= 4 ? 2 : 1); two++) {
        tp->o.two_shot_min_bytes = two ? 0 : (size_t)-1;   /* every rank sets the same */
        for (int d = 0; d < 3; d++)
            for (size_t k = 0; k < sizeof ns / sizeof *ns; k++)
                for (int inplace = 0; inplace < 2; inplace++) {
                    w_buf b = {0};
                    if (ns[k] * dsmlp_dtype_size(dts[d]) > region) continue;
                    if (w_buf_open(cu, &b, dts[d], ns[k], inplace)) return 1;
                    w_buf_fill(&b);
                    if (w_buf_upload(cu, &b, s1)) return 1;
                    W_DS(ctx, dsmlpR_tp_chan_all_reduce(c1, ctx, b.in, b.out, b.n, b.dt, s1, "ar"));
                    W_CU(cu->cuStreamSynchronize(s1));
                    char what[64];
                    snprintf(what, sizeof what, "%s-shot %s", two ? "two" : "one", inplace ? "in place" : "out of place");
                    if (w_buf_check(cu, &b, what)) return 1;
                    w_buf_close(cu, &b);
                    cases++;
                }
    }
    tp->o.two_shot_min_bytes = 256 * 1024;   /* mixed from here on (P >= 4) */
    /* 2. Three all-reduces captured in one graph, replayed with fresh inputs. */
    w_buf g[3] = {{0}};
    if (w_buf_open(cu, &g[0], DSMLP_F16, 4096, 1) || w_buf_open(cu, &g[1], DSMLP_BF16, 200000, 0) ||
        w_buf_open(cu, &g[2], DSMLP_F32, 1000, 0))
        return 1;
    CUgraph graph;
    CUgraphExec exec;
    W_CU(cu->cuStreamBeginCapture(s1, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL));
    for (int i = 0; i < 3; i++) W_DS(ctx, dsmlpR_tp_chan_all_reduce(c1, ctx, g[i].in, g[i].out, g[i].n, g[i].dt, s1, "graph"));
    W_CU(cu->cuStreamEndCapture(s1, &graph));
    W_CU(cu->cuGraphInstantiate(&exec, graph, 0));
    for (int rep = 0; rep < 6; rep++) {
        for (int i = 0; i < 3; i++) {
            w_buf_fill(&g[i]);
            if (w_buf_upload(cu, &g[i], s1)) return 1;
        }
        W_CU(cu->cuGraphLaunch(exec, s1));
        W_CU(cu->cuStreamSynchronize(s1));
        for (int i = 0; i < 3; i++) {
            char what[64];
            snprintf(what, sizeof what, "graph replay %d, all-reduce %d", rep, i);
            if (w_buf_check(cu, &g[i], what)) return 1;
        }
        cases += 3;
        /* A direct launch between replays shares the channel's epochs. */
        w_buf_fill(&g[2]);
        if (w_buf_upload(cu, &g[2], s1)) return 1;
        W_DS(ctx, dsmlpR_tp_chan_all_reduce(c1, ctx, g[2].in, g[2].out, g[2].n, g[2].dt, s1, "between"));
        W_CU(cu->cuStreamSynchronize(s1));
        if (w_buf_check(cu, &g[2], "direct launch between replays")) return 1;
    }
    cu->cuGraphExecDestroy(exec);
    cu->cuGraphDestroy(graph);
    for (int i = 0; i < 3; i++) w_buf_close(cu, &g[i]);
    /* 3. Two channels on two streams, queued in opposite orders on odd and
    ** even ranks, 24 rounds without a host synchronization. */
    w_buf a[2] = {{0}}, b[2] = {{0}};
    for (int i = 0; i < 2; i++) {
        if (w_buf_open(cu, &a[i], DSMLP_F16, 8192, 0) || w_buf_open(cu, &b[i], DSMLP_BF16, 3000 + (size_t)i, 0))
            return 1;
        w_buf_fill(&a[i]);
        w_buf_fill(&b[i]);
        if (w_buf_upload(cu, &a[i], s1) || w_buf_upload(cu, &b[i], s2)) return 1;
    }
    W_CU(cu->cuCtxSynchronize());
    for (int it = 0; it < 24; it++) {
        w_buf *x = &a[it & 1], *y = &b[it & 1];
        for (int k = 0; k < 2; k++) {
            int first = (w_rank & 1) == k;
            if (first) W_DS(ctx, dsmlpR_tp_chan_all_reduce(c1, ctx, x->in, x->out, x->n, x->dt, s1, "stream 1"));
            else W_DS(ctx, dsmlpR_tp_chan_all_reduce(c2, ctx, y->in, y->out, y->n, y->dt, s2, "stream 2"));
        }
    }
    W_CU(cu->cuCtxSynchronize());
    for (int i = 0; i < 2; i++)
        if (w_buf_check(cu, &a[i], "concurrent, stream 1") || w_buf_check(cu, &b[i], "concurrent, stream 2")) return 1;
    cases += 48;
    for (int i = 0; i < 2; i++) w_buf_close(cu, &a[i]), w_buf_close(cu, &b[i]);
    /* 4. The public dsmlp_tp_all_reduce on the group's reserved buffer. */
    W_DS(ctx, dsmlp_tp_reserve(tp, 1 << 16));
    for (int d = 0; d < 3; d++) {
        w_buf x = {0};
        if (w_buf_open(cu, &x, dts[d], 5000, 1)) return 1;
        w_buf_fill(&x);
        if (w_buf_upload(cu, &x, s1)) return 1;
        W_DS(ctx, dsmlp_tp_all_reduce(tp, (void *)(uintptr_t)x.in, x.n, x.dt, (void *)s1));
        W_CU(cu->cuStreamSynchronize(s1));
        if (w_buf_check(cu, &x, "dsmlp_tp_all_reduce")) return 1;
        w_buf_close(cu, &x);
        cases++;
    }
    if (dsmlp_tp_all_reduce(tp, (void *)8, 4, DSMLP_F16, (void *)s1) != DSMLP_ERR_INVALID_ARG ||
        !strstr(dsmlp_last_error(ctx), "not 16-byte aligned"))
        W_FAIL("a misaligned buffer was not refused: %s", dsmlp_last_error(ctx));
    dsmlpR_tp_chan_free(c1);
    dsmlpR_tp_chan_free(c2);
    cu->cuStreamDestroy(s1);
    cu->cuStreamDestroy(s2);
    printf("ok rank %d: %d all-reduces bit-identical to the host sum (P=%d%s)\n", w_rank, cases, w_size,
           w_size >= 4 ? ", one- and two-shot" : ", one-shot");
    return 0;
}

/* ------------------------------------------------- block: the TP block */

typedef struct w_family {
    const char   *name;
    dsmlp_norm    norm;
    dsmlp_mlp_act act;
    dsmlp_dtype   dtype;
    int           pre_ln, after_attn, biases, attn_bias;
    dsmlp_layout  layout;
    int64_t       hidden, inter;
} w_family;

static const w_family w_families[] = {
    {"llama", DSMLP_NORM_RMSNORM, DSMLP_MLP_GATED_SILU, DSMLP_BF16, 1, 1, 0, 0, DSMLP_LAYOUT_OUT_IN, 1024, 2816},
    {"gpt2", DSMLP_NORM_LAYERNORM, DSMLP_MLP_GELU, DSMLP_F16, 1, 1, 1, 1, DSMLP_LAYOUT_IN_OUT, 1024, 4096},
    {"gpt-neox", DSMLP_NORM_LAYERNORM, DSMLP_MLP_GELU, DSMLP_F16, 1, 0, 1, 1, DSMLP_LAYOUT_OUT_IN, 1024, 4096},
    {"bert post-LN", DSMLP_NORM_LAYERNORM, DSMLP_MLP_GELU, DSMLP_F16, 0, 1, 1, 1, DSMLP_LAYOUT_IN_OUT, 1024, 4096},
    {"gpt-j", DSMLP_NORM_NONE, DSMLP_MLP_GELU, DSMLP_F32, 1, 0, 1, 0, DSMLP_LAYOUT_OUT_IN, 1024, 4096},
};
#define W_NFAM ((int)(sizeof w_families / sizeof *w_families))

static void w_config(const w_family *f, int rank, int P, dsmlp_mlp_config *c)
{
    dsmlp_mlp_config_default(c);
    c->hidden = f->hidden;
    c->intermediate = f->inter;
    c->norm = f->norm;
    c->activation = f->act;
    c->dtype = f->dtype;
    c->pre_layer_norm = f->pre_ln;
    c->mlp_after_attn = f->after_attn;
    c->layout = f->layout;
    c->epsilon = f->norm == DSMLP_NORM_RMSNORM ? 1e-6 : 1e-5;
    c->bias1 = c->bias2 = f->biases;
    c->attn_bias = f->attn_bias;
    c->norm_bias = f->biases && f->norm == DSMLP_NORM_LAYERNORM;
    c->tp_size = P;
    c->tp_rank = rank;
}

#define W_MAXV 24

typedef struct w_val {
    dsmlp_value_info vi;
    int64_t          rows, cols;
    void            *data[W_NT];          /* params: [0]; inputs: per T (the full A in R3) */
    void            *part[W_NT];          /* R3 "input": this rank's A_r                    */
    double          *ref[W_NT];           /* output                                         */
    CUdeviceptr      dev, dev2;           /* inputs/outputs (dev2: the second plan's)       */
} w_val;

typedef struct w_block {
    dsmlp_ctx     *ctx;
    const cuda_api *cu;
    dsmlp_graph   *g1, *gr;
    w_val          v[W_MAXV];
    int            nv, out;
    dsmlp_plan    *pl, *pl2;
    void          *got[W_NT];
    size_t         out_bytes[W_NT];
} w_block;

static void w_block_free(w_block *b)
{
    for (int i = 0; i < b->nv; i++) {
        for (int t = 0; t < W_NT; t++) free(b->v[i].data[t]), free(b->v[i].part[t]), free(b->v[i].ref[t]);
        if (b->v[i].dev) b->cu->cuMemFree(b->v[i].dev);
        if (b->v[i].dev2) b->cu->cuMemFree(b->v[i].dev2);
    }
    for (int t = 0; t < W_NT; t++) free(b->got[t]);
    if (b->pl) dsmlp_plan_free(b->pl);
    if (b->pl2) dsmlp_plan_free(b->pl2);
    if (b->g1) dsmlp_graph_free(b->g1);
    if (b->gr) dsmlp_graph_free(b->gr);
    memset(b, 0, sizeof *b);
}

/* Random full data, identical on every rank (same seed, same order). */
static int w_block_data(w_block *b, const w_family *f)
{
    dsmlp_ctx *ctx = b->ctx;
    int r3 = !f->after_attn;
    b->out = -1;
    for (int v = 0; v < dsmlp_graph_size(b->g1); v++) {
        dsmlp_value_info vi;
        W_DS(ctx, dsmlp_value_get(b->g1, v, &vi));
        if (vi.op != DSMLP_OP_INPUT && vi.op != DSMLP_OP_PARAM && vi.op != DSMLP_OP_OUTPUT) continue;
        if (b->nv == W_MAXV) W_FAIL("too many tensors");
        w_val *x = &b->v[b->nv++];
        x->vi = vi;
        x->cols = vi.rank == 2 ? vi.dims[1] : vi.dims[0];
        x->rows = vi.op == DSMLP_OP_PARAM ? (vi.rank == 2 ? vi.dims[0] : 1) : W_MAXT;
        size_t bytes = (size_t)(x->rows * x->cols) * dsmlp_dtype_size(vi.dtype);
        if (vi.op == DSMLP_OP_OUTPUT) {
            b->out = b->nv - 1;
            for (int t = 0; t < W_NT; t++) {
                x->ref[t] = malloc(sizeof(double) * (size_t)(w_Ts[t] * x->cols));
                b->out_bytes[t] = (size_t)(w_Ts[t] * x->cols) * dsmlp_dtype_size(vi.dtype);
                b->got[t] = malloc(b->out_bytes[t]);
            }
        } else if (vi.op == DSMLP_OP_PARAM) {
            x->data[0] = malloc(bytes);
            int64_t n = x->rows * x->cols;
            int64_t fan_in = vi.rank == 2 ? (vi.layout == DSMLP_LAYOUT_IN_OUT ? vi.dims[0] : vi.dims[1]) : 1;
            if (x->rows > 1) w_fill(vi.dtype, x->data[0], n, 1.0 / sqrt((double)fan_in), 0);
            else if (!strcmp(vi.name, "norm_w")) w_fill(vi.dtype, x->data[0], n, 0.2, 1.0);
            else w_fill(vi.dtype, x->data[0], n, 0.5, 0);
        } else {
            for (int t = 0; t < W_NT; t++) {
                int64_t n = w_Ts[t] * x->cols;
                x->data[t] = malloc(bytes);
                if (r3 && !strcmp(vi.name, "input")) {
                    /* A = Σ_r A_r rounded once: every rank draws all parts, keeps its own. */
                    double *sum = calloc((size_t)n, sizeof *sum);
                    void *tmp = malloc(bytes);
                    x->part[t] = malloc(bytes);
                    for (int r = 0; r < w_size; r++) {
                        w_fill(vi.dtype, tmp, n, 0.7, 0);
                        for (int64_t i = 0; i < n; i++) sum[i] += dsmlpB_dtype_load(vi.dtype, tmp, i);
                        if (r == w_rank) memcpy(x->part[t], tmp, (size_t)n * dsmlp_dtype_size(vi.dtype));
                    }
                    for (int64_t i = 0; i < n; i++) dsmlpB_dtype_store(vi.dtype, x->data[t], i, dsmlpB_dtype_round(vi.dtype, sum[i]));
                    free(sum);
                    free(tmp);
                } else {
                    w_fill(vi.dtype, x->data[t], n, 1.0, 0);
                }
            }
        }
    }
    if (b->out < 0) W_FAIL("no output");
    return 0;
}

/* Compiles rank r's plan, attaches it, uploads shards, binds buffers. */
static int w_block_plan(w_block *b, dsmlp_tp *tp, const dsmlp_mlp_config *cfg, dsmlp_plan **pl, int second)
{
    dsmlp_ctx *ctx = b->ctx;
    dsmlp_compile_options o;
    dsmlp_compile_options_default(&o);
    o.max_tokens = W_MAXT;
    W_DS(ctx, dsmlp_compile(ctx, b->gr, &o, pl));
    W_DS(ctx, dsmlp_plan_set_tp(*pl, tp));
    for (int i = 0; i < b->nv; i++) {
        w_val *x = &b->v[i];
        size_t bytes = (size_t)(x->rows * x->cols) * dsmlp_dtype_size(x->vi.dtype);
        if (x->vi.op == DSMLP_OP_PARAM) {
            /* The rank's shape: look the name up in the rank graph. */
            int64_t rb = 0;
            for (int v = 0; v < dsmlp_graph_size(b->gr); v++) {
                dsmlp_value_info ri;
                dsmlp_value_get(b->gr, v, &ri);
                if (ri.op == DSMLP_OP_PARAM && !strcmp(ri.name, x->vi.name))
                    rb = (ri.rank == 2 ? ri.dims[0] * ri.dims[1] : ri.dims[0]) * (int64_t)dsmlp_dtype_size(ri.dtype);
            }
            if (!rb) continue;   /* not in this rank's graph */
            void *shard = malloc((size_t)rb);
            W_DS(ctx, dsmlp_mlp_shard(ctx, cfg, x->vi.name, x->data[0], shard));
            dsmlp_status s = dsmlp_upload(*pl, x->vi.name, shard, (size_t)rb);
            free(shard);
            if (s != DSMLP_ERR_NOT_FOUND) W_DS(ctx, s);
            continue;
        }
        CUdeviceptr *d = second ? &x->dev2 : &x->dev;
        if (!*d) W_CU(b->cu->cuMemAlloc(d, bytes));
        dsmlp_status s = dsmlp_bind(*pl, x->vi.name, (void *)(uintptr_t)*d);
        if (s == DSMLP_ERR_NOT_FOUND && x->vi.op == DSMLP_OP_INPUT) continue;
        W_DS(ctx, s);
    }
    return 0;
}

static int w_block_inputs(w_block *b, int t, int second, CUstream st)
{
    for (int i = 0; i < b->nv; i++) {
        w_val *x = &b->v[i];
        CUdeviceptr d = second ? x->dev2 : x->dev;
        if (x->vi.op == DSMLP_OP_INPUT) {
            const void *src = x->part[t] ? x->part[t] : x->data[t];
            W_CU(b->cu->cuMemcpyHtoDAsync(d, src, (size_t)(w_Ts[t] * x->cols) * dsmlp_dtype_size(x->vi.dtype), st));
        } else if (x->vi.op == DSMLP_OP_OUTPUT) {
            W_CU(b->cu->cuMemsetD8Async(d, 0xff, b->out_bytes[t], st));   /* NaN poison */
        }
    }
    return 0;
}

static int worker_block(dsmlp_ctx *ctx, dsmlp_tp *tp)
{
    const cuda_api *cu = tp->dev->cu;
    dsmlp_reference_set_threads(ctx, gu_cores() / w_size > 0 ? gu_cores() / w_size : 1);
    CUstream s1, s2;
    W_CU(cu->cuStreamCreate(&s1, CU_STREAM_NON_BLOCKING));
    W_CU(cu->cuStreamCreate(&s2, CU_STREAM_NON_BLOCKING));
    int failed = 0;
    for (int f = 0; f < W_NFAM; f++) {
        const w_family *fam = &w_families[f];
        w_block b = {.ctx = ctx, .cu = cu};
        dsmlp_mlp_config c1, cr;
        w_config(fam, 0, 1, &c1);
        w_config(fam, w_rank, w_size, &cr);
        W_DS(ctx, dsmlp_graph_create(ctx, "full", &b.g1));
        W_DS(ctx, dsmlp_mlp_build(b.g1, &c1));
        W_DS(ctx, dsmlp_graph_create(ctx, "rank", &b.gr));
        W_DS(ctx, dsmlp_mlp_build(b.gr, &cr));
        if (w_block_data(&b, fam) || w_block_plan(&b, tp, &cr, &b.pl, 0)) return 1;
        w_val *out = &b.v[b.out];
        for (int t = 0; t < W_NT; t++) {
            int64_t T = w_Ts[t];
            if (w_block_inputs(&b, t, 0, s1)) return 1;
            W_DS(ctx, dsmlp_run(b.pl, T, (void *)s1));
            W_CU(cu->cuStreamSynchronize(s1));
            W_CU(cu->cuMemcpyDtoH(b.got[t], out->dev, b.out_bytes[t]));
            /* Every rank's output must equal rank 0's, bit for bit. */
            uint64_t h = w_hash(b.got[t], b.out_bytes[t]), hs[TP_MAX_RANKS * 8];
            W_DS(ctx, dsmlp_tp_allgather(tp, &h, sizeof h, hs));
            int same = 1;
            for (int r = 0; r < w_size; r++) same &= hs[r] == hs[0];
            double err = 0;
            if (w_rank == 0) {
                dsmlp_host_tensor bind[W_MAXV];
                for (int i = 0; i < b.nv; i++) {
                    w_val *x = &b.v[i];
                    bind[i] = (dsmlp_host_tensor){x->vi.name, x->vi.op == DSMLP_OP_OUTPUT ? DSMLP_F64 : x->vi.dtype,
                                                  x->vi.op == DSMLP_OP_OUTPUT ? (void *)x->ref[t]
                                                  : x->vi.op == DSMLP_OP_PARAM ? x->data[0] : x->data[t]};
                }
                W_DS(ctx, dsmlp_reference_run_f64(b.g1, T, bind, b.nv));
                err = tu_rel_error(fam->dtype, b.got[t], out->ref[t], T * fam->hidden);
            }
            int ok = same && err <= gu_tol(fam->dtype);
            failed |= !ok;
            if (w_rank == 0)
                printf("%s %-13s %-4s H=%lld P=%d T=%-4lld rel err %.3e (tol %.1e), ranks %s, all-reduce: %s\n",
                       ok ? "ok  " : "FAIL", fam->name, dsmlp_dtype_name(fam->dtype), (long long)fam->hidden, w_size,
                       (long long)T, err, gu_tol(fam->dtype), same ? "identical" : "DIFFER",
                       tp->custom && (!tp->o.nccl || b.out_bytes[t] <= tp->o.custom_max_bytes) ? "peer memory"
                                                                                                  : "NCCL");
        }
        /* A graph replay equals the direct run (T = 7 and 1000, where the
        ** overlap, when on, forks a second stream inside the capture). */
        for (int t = 1; t < W_NT; t += 2) {
            CUgraph graph;
            CUgraphExec exec;
            if (w_block_inputs(&b, t, 0, s1)) return 1;
            W_CU(cu->cuStreamSynchronize(s1));
            W_CU(cu->cuStreamBeginCapture(s1, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL));
            W_DS(ctx, dsmlp_run(b.pl, w_Ts[t], (void *)s1));
            W_CU(cu->cuStreamEndCapture(s1, &graph));
            W_CU(cu->cuGraphInstantiate(&exec, graph, 0));
            void *again = malloc(b.out_bytes[t]);
            for (int rep = 0; rep < 3; rep++) {
                if (w_block_inputs(&b, t, 0, s1)) return 1;   /* residual may be updated in place: restore */
                W_CU(cu->cuGraphLaunch(exec, s1));
                W_CU(cu->cuStreamSynchronize(s1));
                W_CU(cu->cuMemcpyDtoH(again, out->dev, b.out_bytes[t]));
                if (memcmp(again, b.got[t], b.out_bytes[t]))
                    W_FAIL("%s: graph replay %d differs from the direct run at T=%lld", fam->name, rep,
                           (long long)w_Ts[t]);
            }
            free(again);
            cu->cuGraphExecDestroy(exec);
            cu->cuGraphDestroy(graph);
        }
        /* Two attached plans on two streams at once, queued in opposite
        ** orders on odd and even ranks (first family only: it is slow). */
        if (f == 0) {
            if (w_block_plan(&b, tp, &cr, &b.pl2, 1)) return 1;
            if (w_block_inputs(&b, 2, 0, s1) || w_block_inputs(&b, 1, 1, s2)) return 1;
            W_CU(cu->cuCtxSynchronize());
            for (int k = 0; k < 2; k++) {
                if ((w_rank & 1) == k) W_DS(ctx, dsmlp_run(b.pl, w_Ts[2], (void *)s1));
                else W_DS(ctx, dsmlp_run(b.pl2, w_Ts[1], (void *)s2));
            }
            W_CU(cu->cuCtxSynchronize());
            void *x1 = malloc(b.out_bytes[2]), *x2 = malloc(b.out_bytes[1]);
            W_CU(cu->cuMemcpyDtoH(x1, out->dev, b.out_bytes[2]));
            W_CU(cu->cuMemcpyDtoH(x2, out->dev2, b.out_bytes[1]));
            if (memcmp(x1, b.got[2], b.out_bytes[2]) || memcmp(x2, b.got[1], b.out_bytes[1]))
                W_FAIL("%s: two plans on two streams differ from the runs one at a time", fam->name);
            free(x1);
            free(x2);
            if (w_rank == 0) printf("ok   %-13s two attached plans on two streams at once match the single runs\n",
                                    fam->name);
        }
        fflush(stdout);
        w_block_free(&b);
    }
    cu->cuStreamDestroy(s1);
    cu->cuStreamDestroy(s2);
    if (failed) W_FAIL("some cases exceeded the tolerance or ranks differed (rank 0 lists them)");
    printf("ok rank %d: block done (%s)\n", w_rank, dsmlp_tp_describe(tp));
    return 0;
}

static int worker_main(const char *mode)
{
    signal(SIGALRM, SIG_DFL);
    alarm(strcmp(mode, "bad") ? 150 : 60);   /* a hang (a rank waiting for a peer that stopped) becomes a failure */
    tu_seed();    /* DSMLP_TEST_SEED from the parent: every rank draws the same numbers */
    dsmlp_ctx *ctx;
    if (dsmlp_ctx_create(&ctx) != DSMLP_OK) return 3;
    dsmlp_tp_options o;
    dsmlp_tp_options_default(&o);
    dsmlp_tp *tp = NULL;
    int rc = 1;
    dsmlp_status s = dsmlp_tp_options_from_env(ctx, &o);
    if (s == DSMLP_OK) s = dsmlp_tp_create(ctx, &o, &tp);
    if (!strcmp(mode, "bad")) {   /* the parent checks the message */
        printf("create: %s: %s\n", dsmlp_status_name(s), dsmlp_last_error(ctx));
        rc = s == DSMLP_OK ? 1 : 0;
    } else if (s != DSMLP_OK) {
        snprintf(w_msg, sizeof w_msg, "group: %s: %s", dsmlp_status_name(s), dsmlp_last_error(ctx));
    } else {
        w_rank = dsmlp_tp_rank(tp);
        w_size = dsmlp_tp_size(tp);
        if (w_rank == 0)
            printf("group: %s%s\n", dsmlp_tp_describe(tp),
                   o.overlap_chunks > 1 ? "; GEMM2 + all-reduce overlapped in chunks" : "");
        rc = !strcmp(mode, "ar") ? worker_ar(ctx, tp) : worker_block(ctx, tp);
    }
    if (rc && w_msg[0]) printf("FAIL rank %d: %s\n", w_rank, w_msg);
    fflush(stdout);
    dsmlp_tp_free(tp);
    dsmlp_ctx_free(ctx);
    return rc;
}

/* ================================================================ parent */

typedef struct launch {
    int         P;
    const char *mode;
    int         one_gpu;          /* 1: every rank on GPU 0, NCCL off; 2: GPU 0, NCCL on */
    const char *custom;           /* DSMLP_TP_CUSTOM                */
    const char *extra[4];         /* more NAME=VALUE for rank 1 (bad setups) */
    const char *all[4];           /* more NAME=VALUE for every rank         */
} launch;

static char *p_out[8];
static int p_rc[8];

/* Runs P workers; returns how many exited non-zero. Their output is printed. */
static int run_workers(const launch *l)
{
    char *dir = tu_tmpdir("tp-procs");
    char rdv[4200], seed[32];
    snprintf(rdv, sizeof rdv, "file:%s/rdv", dir);
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)tu_next());
    pid_t pid[8];
    int fd[8], bad = 0;
    fflush(stdout);
    for (int r = 0; r < l->P; r++) {
        int fds[2];
        ck_assert_int_eq(pipe(fds), 0);
        pid[r] = fork();
        ck_assert_int_ge(pid[r], 0);
        if (pid[r] == 0) {
            char rank[12], size[12];   /* any int */
            snprintf(rank, sizeof rank, "%d", r);
            snprintf(size, sizeof size, "%d", l->P);
            setenv("RANK", rank, 1);
            setenv("WORLD_SIZE", size, 1);
            setenv("LOCAL_RANK", rank, 1);
            setenv("DSMLP_TP_RENDEZVOUS", rdv, 1);
            setenv("DSMLP_TEST_SEED", seed, 1);
            setenv("DSMLP_TP_TIMEOUT", "60", 1);
            setenv("DSMLP_TP_CUSTOM", l->custom, 1);
            if (l->one_gpu) setenv("DSMLP_TP_DEVICE", "0", 1);
            if (l->one_gpu == 1) setenv("DSMLP_TP_NCCL", "0", 1);
            for (int i = 0; r == 1 && i < 4 && l->extra[i]; i++) putenv((char *)l->extra[i]);
            for (int i = 0; i < 4 && l->all[i]; i++) putenv((char *)l->all[i]);
            dup2(fds[1], 1);
            dup2(fds[1], 2);
            close(fds[0]);
            close(fds[1]);
            execl("/proc/self/exe", "test_gpu_tp_procs", "--worker", l->mode, (char *)NULL);
            _exit(127);
        }
        close(fds[1]);
        fd[r] = fds[0];
    }
    for (int r = 0; r < l->P; r++) {
        size_t cap = 1 << 16, used = 0;
        free(p_out[r]);
        p_out[r] = malloc(cap);
        ssize_t k;
        while (used + 1 < cap && (k = read(fd[r], p_out[r] + used, cap - 1 - used)) > 0) used += (size_t)k;
        p_out[r][used] = 0;
        close(fd[r]);
        int ws;
        waitpid(pid[r], &ws, 0);
        int rc = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
        p_rc[r] = rc;
        bad += rc != 0;
        printf("--- rank %d of %d (%s, %s%s) exit %d%s\n%s", r, l->P, l->mode, l->one_gpu ? "all on GPU 0" : "GPU per rank",
               l->one_gpu ? "" : l->custom[1] == 'f' ? ", NCCL only" : ", custom + NCCL", rc,
               rc == 128 + SIGALRM ? " (watchdog: killed after 150 s)" : "", p_out[r]);
    }
    fflush(stdout);
    tu_rmtree(dir);
    free(dir);
    return bad;
}

static int p_gpus(void)
{
    dsmlp_ctx *ctx = tu_ctx();
    const cuda_api *cu = gu_cu(ctx);
    int n = 0;
    cu->cuDeviceGetCount(&n);
    dsmlp_ctx_free(ctx);
    return n;
}

/* Kernels every worker needs, compiled once here (they hit the store). */
static void p_precompile(void)
{
    static int done;
    if (done++) return;
    dsmlp_ctx *ctx = tu_ctx();
    dsmlp_mlp_config cfg[W_NFAM * 5];
    int n = 0;
    for (int f = 0; f < W_NFAM; f++)
        for (int P = 1; P <= 4; P *= 2)
            for (int r = 0; r < P && r < 2; r++) w_config(&w_families[f], r, P, &cfg[n++]);
    printf("pre-compiled %d kernels\n", gu_precompile(ctx, cfg, n, W_MAXT));
    struct store *st;
    TU_OK(ctx, dsmlpR_ctx_store(ctx, &st));
    static const dsmlp_dtype dts[] = {DSMLP_F32, DSMLP_F16, DSMLP_BF16};
    for (int i = 0; i < 3; i++) {
        char name[64], *src, key[65];
        const void *cubin;
        size_t len;
        TU_OK(ctx, dsmlpR_tp_kernel_source(ctx, dts[i], name, &src));
        TU_OK(ctx, dsmlpR_store_get(st, ctx, name, src, dsmlp_device_arch(ctx), &cubin, &len, key));
        free(src);
    }
    dsmlp_ctx_free(ctx);
}

static void expect_ok(const launch *l)
{
    p_precompile();
    int bad = run_workers(l);
    ck_assert_msg(bad == 0, "%d of %d %s workers failed (output above)", bad, l->P, l->mode);
}

START_TEST(protocol_one_gpu)
{
    for (int P = 2; P <= 4; P += 2) expect_ok(&(launch){P, "ar", 1, "on", {NULL}, {NULL}});
}
END_TEST

START_TEST(block_one_gpu)
{
    for (int P = 2; P <= 4; P += 2) expect_ok(&(launch){P, "block", 1, "on", {NULL}, {NULL}});
}
END_TEST

/* GEMM2 and the all-reduce in token chunks on two streams (T = 128 and 1000
** run chunked): the same numbers as without. */
START_TEST(block_overlap_one_gpu)
{
    expect_ok(&(launch){2, "block", 1, "on", {NULL},
                        {"DSMLP_TP_OVERLAP_CHUNKS=4", "DSMLP_TP_OVERLAP_MIN_TOKENS=100", NULL}});
}
END_TEST

START_TEST(bad_setups)
{
    /* Rank 1 with other settings, rank 1 on a GPU that does not exist:
    ** every rank fails, naming the cause. */
    char dev[64];
    snprintf(dev, sizeof dev, "DSMLP_TP_DEVICE=%d", p_gpus());
    launch bad[] = {
        {2, "bad", 1, "on", {"DSMLP_TP_CUSTOM_MAX_BYTES=1024", NULL}, {NULL}},
        {2, "bad", 1, "on", {dev, NULL}, {NULL}},
    };
    const char *want[] = {"custom_max_bytes (DSMLP_TP_CUSTOM_MAX_BYTES) is 524288 on rank 0 but 1024 on rank 1",
                          "asks for GPU"};
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(run_workers(&bad[i]), 0);
        for (int r = 0; r < 2; r++)
            ck_assert_msg(strstr(p_out[r], want[i]), "rank %d does not say '%s': %s", r, want[i], p_out[r]);
    }
    /* NCCL with two ranks on one GPU: whatever NCCL says, no rank hangs; a
    ** refusal carries the hint. */
    launch nccl = {2, "bad", 2, "off", {NULL}, {NULL}};
    if (p_gpus() == 1) {
        run_workers(&nccl);
        for (int r = 0; r < 2; r++) {
            ck_assert_msg(p_rc[r] == 0 || p_rc[r] == 1, "rank %d exited %d: %s", r, p_rc[r], p_out[r]);
            ck_assert_msg(p_rc[r] == 1 || strstr(p_out[r], "failed"), "%s",
                          p_out[r]);
        }
        printf("NCCL with two ranks on one GPU: %s", p_out[0]);
    }
}
END_TEST

START_TEST(gpus_per_rank)
{
    int n = p_gpus();
    if (n < 2) {
        printf("one rank per GPU: skipped, %d GPU (issue 13 runs it on 2 and 4)\n", n);
        return;
    }
    for (int P = 2; P <= 4 && P <= n; P += 2) {
        expect_ok(&(launch){P, "ar", 0, "on", {NULL}, {NULL}});
        expect_ok(&(launch){P, "block", 0, "auto", {NULL}, {NULL}});
        expect_ok(&(launch){P, "block", 0, "off", {NULL}, {NULL}});
        expect_ok(&(launch){P, "block", 0, "auto", {NULL}, {"DSMLP_TP_OVERLAP_CHUNKS=4",
                                                            "DSMLP_TP_OVERLAP_MIN_TOKENS=100", NULL}});
    }
}
END_TEST

static Suite *make(void)
{
    Suite *s = suite_create("gpu_tp_procs");
    TCase *tc = tcase_create("procs");
    tcase_set_timeout(tc, 1200);
    tcase_add_test(tc, protocol_one_gpu);
    tcase_add_test(tc, block_one_gpu);
    tcase_add_test(tc, block_overlap_one_gpu);
    tcase_add_test(tc, bad_setups);
    tcase_add_test(tc, gpus_per_rank);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "--worker")) return worker_main(argv[2]);
    return gu_main(make, "gpu-tp-procs");
}
