/*
** test_gpu_tp.c — tensor parallelism end to end on 2 GPUs through NCCL.
**
** For each config and T ∈ {1, 7, 128}: random full (P = 1) parameters and
** inputs; one thread per rank r makes device r's primary context current,
** builds rank r's graph in its own dsmlp_ctx, compiles it, uploads its shards
** (dsmlp_mlp_shard), binds its inputs and runs with a communicator of
** ncclCommInitAll. Both ranks' outputs must equal the CPU reference of the
** unsharded graph within the dtype's tolerance, and be bitwise equal to each
** other. In R3 (mlp_after_attn = 0) `input` is each rank's partial attention
** output A_r (A = A_0 + A_1); in R1/R2 it is the full A on both ranks
** (docs/mlp.md "Tensor parallelism").
**
** Skips (77) without a GPU or with fewer than 2 devices.
*/
#include <nccl.h>
#include <signal.h>
#include "gpu_case.h"

#define TP_P 2
#define TP_NT 3
#define TP_MAXT 128
#define TP_MAXV 24

static const int64_t tp_Ts[TP_NT] = {1, 7, 128};

typedef struct tp_family {
    const char   *name;
    dsmlp_norm    norm;
    dsmlp_mlp_act act;
    dsmlp_dtype   dtype;
    int           pre_ln, after_attn, biases, attn_bias;
    dsmlp_layout  layout;
    int64_t       hidden, inter;
} tp_family;

static const tp_family tp_families[] = {
    {"llama", DSMLP_NORM_RMSNORM, DSMLP_MLP_GATED_SILU, DSMLP_BF16, 1, 1, 0, 0, DSMLP_LAYOUT_OUT_IN, 1024, 2816},
    {"gpt2", DSMLP_NORM_LAYERNORM, DSMLP_MLP_GELU, DSMLP_F16, 1, 1, 1, 1, DSMLP_LAYOUT_IN_OUT, 1024, 4096},
    {"gpt-neox", DSMLP_NORM_LAYERNORM, DSMLP_MLP_GELU, DSMLP_F16, 1, 0, 1, 1, DSMLP_LAYOUT_OUT_IN, 1024, 4096},
    {"bert post-LN", DSMLP_NORM_LAYERNORM, DSMLP_MLP_GELU, DSMLP_F16, 0, 1, 1, 1, DSMLP_LAYOUT_IN_OUT, 1024, 4096},
    {"gpt-j", DSMLP_NORM_NONE, DSMLP_MLP_GELU, DSMLP_F32, 1, 0, 1, 0, DSMLP_LAYOUT_OUT_IN, 1024, 4096},
};
#define TP_NFAM ((int)(sizeof tp_families / sizeof *tp_families))

static void tp_config(const tp_family *f, int rank, dsmlp_mlp_config *c)
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
    c->tp_size = rank < 0 ? 1 : TP_P;
    c->tp_rank = rank < 0 ? 0 : rank;
}

/* A tensor of the full (P = 1) graph: parameters whole; inputs one set of
** TP_MAXT rows per T (fresh inputs for every T). */
typedef struct tp_val {
    char        name[32];
    dsmlp_op    op;
    dsmlp_dtype dtype;
    int64_t     rows, cols;
    void       *data[TP_NT];   /* params: data[0] only                    */
    void       *part[TP_P][TP_NT];   /* R3 "input": rank r's partial A_r  */
} tp_val;

typedef struct tp_shared {
    const tp_family  *fam;
    tp_val            v[TP_MAXV];
    int               nv;
    ncclComm_t        comm[TP_P];
    pthread_barrier_t bar;
    int               failed[TP_P];   /* written before a barrier, read after */
    void             *got[TP_P][TP_NT];
    size_t            out_bytes[TP_NT];
} tp_shared;

typedef struct tp_rank {
    tp_shared   *sh;
    int          r;
    int          aborted;     /* the peer failed: comm aborted, not destroyed */
    char         msg[768];    /* first failure, "" when none                  */
} tp_rank;

static tp_val *tp_find(tp_shared *sh, const char *name)
{
    for (int i = 0; i < sh->nv; i++)
        if (!strcmp(sh->v[i].name, name)) return &sh->v[i];
    return NULL;
}

/* ------------------------------------------------------------ rank thread */

#define TP_FAIL(...)                                                                              \
    do {                                                                                          \
        if (!rk->msg[0]) snprintf(rk->msg, sizeof rk->msg, __VA_ARGS__);                          \
        goto fail;                                                                                \
    } while (0)
#define TP_DS(call)                                                                               \
    do {                                                                                          \
        dsmlp_status s_ = (call);                                                                 \
        if (s_ != DSMLP_OK) TP_FAIL("rank %d: %s: %s: %s", rk->r, #call, dsmlp_status_name(s_),   \
                                    dsmlp_last_error(ctx));                                       \
    } while (0)
#define TP_CUDA(call)                                                                             \
    do {                                                                                          \
        CUresult r_ = (call);                                                                     \
        if (r_ != CUDA_SUCCESS) TP_FAIL("rank %d: %s: %s", rk->r, #call, dsmlpR_cuda_api_errstr(r_));    \
    } while (0)

/* Both ranks meet; returns 1 when either has failed so far. */
static int tp_meet(tp_rank *rk, int failed_now)
{
    tp_shared *sh = rk->sh;
    if (failed_now) sh->failed[rk->r] = 1;
    pthread_barrier_wait(&sh->bar);
    int any = 0;
    for (int r = 0; r < TP_P; r++) any |= sh->failed[r];
    pthread_barrier_wait(&sh->bar);   /* nobody writes failed[] before all read it */
    return any;
}

static void *tp_rank_main(void *arg)
{
    tp_rank *rk = arg;
    tp_shared *sh = rk->sh;
    dsmlp_ctx *ctx = NULL;
    const cuda_api *cu = NULL;
    CUdevice dev;
    CUcontext pctx = NULL;
    dsmlp_graph *g = NULL;
    dsmlp_plan *pl = NULL;
    CUstream stream = NULL;
    CUdeviceptr dptr[TP_MAXV] = {0};
    void *shard[TP_MAXV] = {0};
    int in_ix[TP_MAXV], nin = 0, out_v = -1;
    int setup_done = 0;

    if (dsmlp_ctx_create(&ctx) != DSMLP_OK) {
        snprintf(rk->msg, sizeof rk->msg, "rank %d: dsmlp_ctx_create failed", rk->r);
        goto fail;
    }
    TP_DS(dsmlpR_cuda_api_load(ctx, &cu));
    TP_CUDA(cu->cuDeviceGet(&dev, rk->r));
    TP_CUDA(cu->cuDevicePrimaryCtxRetain(&pctx, dev));
    TP_CUDA(cu->cuCtxSetCurrent(pctx));

    dsmlp_mlp_config cfg;
    tp_config(sh->fam, rk->r, &cfg);
    TP_DS(dsmlp_graph_create(ctx, rk->r ? "tp_rank1" : "tp_rank0", &g));
    TP_DS(dsmlp_mlp_build(g, &cfg));
    dsmlp_compile_options o;
    dsmlp_compile_options_default(&o);
    o.max_tokens = TP_MAXT;
    TP_DS(dsmlp_compile(ctx, g, &o, &pl));
    TP_CUDA(cu->cuStreamCreate(&stream, CU_STREAM_NON_BLOCKING));

    int nvals = dsmlp_graph_size(g);
    for (int v = 0; v < nvals; v++) {
        dsmlp_value_info vi;
        TP_DS(dsmlp_value_get(g, v, &vi));
        if (vi.op != DSMLP_OP_INPUT && vi.op != DSMLP_OP_PARAM && vi.op != DSMLP_OP_OUTPUT) continue;
        if (v >= TP_MAXV) TP_FAIL("rank %d: value %d (%s) beyond the test's table", rk->r, v, vi.name);
        int64_t cols = vi.rank == 2 ? vi.dims[1] : vi.dims[0];
        int64_t rows = vi.op == DSMLP_OP_PARAM ? (vi.rank == 2 ? vi.dims[0] : 1) : TP_MAXT;
        size_t bytes = (size_t)(rows * cols) * dsmlp_dtype_size(vi.dtype);
        tp_val *full = tp_find(sh, vi.name);
        if (!full) TP_FAIL("rank %d: '%s' is not in the P = 1 graph", rk->r, vi.name);
        if (vi.op == DSMLP_OP_PARAM) {
            if (!(shard[v] = malloc(bytes))) TP_FAIL("rank %d: out of host memory", rk->r);
            TP_DS(dsmlp_mlp_shard(ctx, &cfg, vi.name, full->data[0], shard[v]));
            /* A parameter the plan does not read (rank 1 has no
            ** replicated terms) is NOT_FOUND, as for unread inputs. */
            dsmlp_status s = dsmlp_upload(pl, vi.name, shard[v], bytes);
            if (s != DSMLP_ERR_NOT_FOUND) TP_DS(s);
            continue;
        }
        TP_CUDA(cu->cuMemAlloc(&dptr[v], bytes));
        dsmlp_status s = dsmlp_bind(pl, vi.name, (void *)(uintptr_t)dptr[v]);
        /* A graph input the plan does not read is NOT_FOUND; outputs must bind. */
        if (s == DSMLP_ERR_NOT_FOUND && vi.op == DSMLP_OP_INPUT) continue;
        TP_DS(s);
        if (vi.op == DSMLP_OP_OUTPUT) out_v = v;
        else in_ix[nin++] = v;
    }
    if (out_v < 0) TP_FAIL("rank %d: the graph has no output", rk->r);
    TP_DS(dsmlp_set_nccl_comm(pl, sh->comm[rk->r]));
    setup_done = 1;

fail:
    /* Both ranks must reach the all_reduce or neither does. */
    if (tp_meet(rk, !setup_done)) goto out;
    for (int t = 0; t < TP_NT; t++) {
        int64_t T = tp_Ts[t];
        int ok = 0;
        dsmlp_status s;
        for (int i = 0; i < nin; i++) {
            dsmlp_value_info vi;
            dsmlp_value_get(g, in_ix[i], &vi);
            tp_val *full = tp_find(sh, vi.name);
            const void *src = full->part[rk->r][t] ? full->part[rk->r][t] : full->data[t];
            CUresult cr = cu->cuMemcpyHtoDAsync(dptr[in_ix[i]], src,
                                                (size_t)(T * full->cols) * dsmlp_dtype_size(full->dtype), stream);
            if (cr != CUDA_SUCCESS) {
                snprintf(rk->msg, sizeof rk->msg, "rank %d T=%lld: cuMemcpyHtoDAsync of '%s': %s", rk->r,
                         (long long)T, vi.name, dsmlpR_cuda_api_errstr(cr));
                goto run_done;
            }
        }
        CUresult cr = cu->cuMemsetD8Async(dptr[out_v], 0xff, sh->out_bytes[t], stream);   /* NaN poison */
        if (cr != CUDA_SUCCESS) {
            snprintf(rk->msg, sizeof rk->msg, "rank %d T=%lld: cuMemsetD8Async: %s", rk->r, (long long)T,
                     dsmlpR_cuda_api_errstr(cr));
            goto run_done;
        }
        if ((s = dsmlp_run(pl, T, (void *)stream)) != DSMLP_OK) {
            snprintf(rk->msg, sizeof rk->msg, "rank %d T=%lld: dsmlp_run: %s: %s", rk->r, (long long)T,
                     dsmlp_status_name(s), dsmlp_last_error(ctx));
            goto run_done;
        }
        ok = 1;
    run_done:
        if (tp_meet(rk, !ok)) {
            /* The peer's all_reduce may be waiting for ours (or ours for
            ** theirs): abort the communicator so the stream drains. */
            if (ok) {
                ncclCommAbort(sh->comm[rk->r]);
                rk->aborted = 1;
                cu->cuStreamSynchronize(stream);
            }
            break;
        }
        if ((cr = cu->cuStreamSynchronize(stream)) != CUDA_SUCCESS ||
            (cr = cu->cuMemcpyDtoH(sh->got[rk->r][t], dptr[out_v], sh->out_bytes[t])) != CUDA_SUCCESS) {
            snprintf(rk->msg, sizeof rk->msg, "rank %d T=%lld: sync/read back: %s", rk->r, (long long)T,
                     dsmlpR_cuda_api_errstr(cr));
            break;   /* both launched their all_reduce, so the peer does not hang */
        }
    }
out:
    for (int v = 0; v < TP_MAXV; v++) {
        free(shard[v]);
        if (dptr[v]) cu->cuMemFree(dptr[v]);
    }
    if (stream) cu->cuStreamDestroy(stream);
    if (pl) dsmlp_plan_free(pl);
    if (g) dsmlp_graph_free(g);
    if (ctx) dsmlp_ctx_free(ctx);
    if (pctx) cu->cuDevicePrimaryCtxRelease(dev);
    return NULL;
}

/* --------------------------------------------------------------- the test */

static void tp_fill_param(tp_val *p, int64_t fan_in)
{
    gu_fill_param_as(p->name, p->dtype, p->data[0], p->rows, p->cols, fan_in);
}

/* Full graph's tensors with random data into sh; returns the P = 1 graph. */
static dsmlp_graph *tp_make_data(dsmlp_ctx *ctx, tp_shared *sh)
{
    dsmlp_mlp_config cfg;
    tp_config(sh->fam, -1, &cfg);
    dsmlp_graph *g;
    TU_OK(ctx, dsmlp_graph_create(ctx, "tp_full", &g));
    TU_OK(ctx, dsmlp_mlp_build(g, &cfg));
    int r3 = !sh->fam->after_attn;
    for (int v = 0; v < dsmlp_graph_size(g); v++) {
        dsmlp_value_info vi;
        TU_OK(ctx, dsmlp_value_get(g, v, &vi));
        if (vi.op != DSMLP_OP_INPUT && vi.op != DSMLP_OP_PARAM && vi.op != DSMLP_OP_OUTPUT) continue;
        ck_assert_int_lt(sh->nv, TP_MAXV);
        tp_val *x = &sh->v[sh->nv++];
        snprintf(x->name, sizeof x->name, "%s", vi.name);
        x->op = vi.op;
        x->dtype = vi.dtype;
        x->cols = vi.rank == 2 ? vi.dims[1] : vi.dims[0];
        x->rows = vi.op == DSMLP_OP_PARAM ? (vi.rank == 2 ? vi.dims[0] : 1) : TP_MAXT;
        size_t esz = dsmlp_dtype_size(vi.dtype);
        size_t bytes = (size_t)(x->rows * x->cols) * esz;
        if (vi.op == DSMLP_OP_OUTPUT) {   /* f64 reference per T */
            for (int t = 0; t < TP_NT; t++)
                ck_assert_ptr_nonnull(x->data[t] = malloc(sizeof(double) * (size_t)(x->rows * x->cols)));
            for (int t = 0; t < TP_NT; t++) {
                sh->out_bytes[t] = (size_t)(tp_Ts[t] * x->cols) * esz;
                for (int r = 0; r < TP_P; r++) ck_assert_ptr_nonnull(sh->got[r][t] = malloc(sh->out_bytes[t]));
            }
        } else if (vi.op == DSMLP_OP_PARAM) {
            ck_assert_ptr_nonnull(x->data[0] = malloc(bytes));
            int64_t fan_in = vi.rank == 2 ? (vi.layout == DSMLP_LAYOUT_IN_OUT ? vi.dims[0] : vi.dims[1]) : 1;
            tp_fill_param(x, fan_in);
        } else {
            for (int t = 0; t < TP_NT; t++) {
                int64_t n = tp_Ts[t] * x->cols;
                ck_assert_ptr_nonnull(x->data[t] = malloc(bytes));
                if (r3 && !strcmp(x->name, "input")) {
                    /* A_0 + A_1 = A, rounded once to the dtype: the reference
                    ** gets A, rank r gets A_r. */
                    for (int r = 0; r < TP_P; r++) {
                        ck_assert_ptr_nonnull(x->part[r][t] = malloc(bytes));
                        gu_fill(x->dtype, x->part[r][t], n, 0.7, 0);
                    }
                    for (int64_t i = 0; i < n; i++)
                        dsmlpB_dtype_store(x->dtype, x->data[t], i,
                                    dsmlpB_dtype_round(x->dtype, dsmlpB_dtype_load(x->dtype, x->part[0][t], i) +
                                                              dsmlpB_dtype_load(x->dtype, x->part[1][t], i)));
                } else {
                    gu_fill(x->dtype, x->data[t], n, 1.0, 0);
                }
            }
        }
    }
    return g;
}

static void tp_free_data(tp_shared *sh)
{
    for (int i = 0; i < sh->nv; i++)
        for (int t = 0; t < TP_NT; t++) {
            free(sh->v[i].data[t]);
            for (int r = 0; r < TP_P; r++) free(sh->v[i].part[r][t]);
        }
    for (int r = 0; r < TP_P; r++)
        for (int t = 0; t < TP_NT; t++) free(sh->got[r][t]);
    /* The next config reuses the slots: no stale pointer may survive. */
    memset(sh->v, 0, sizeof sh->v);
    memset(sh->got, 0, sizeof sh->got);
    sh->nv = 0;
}

static void tp_alarm(int sig)
{
    (void)sig;
    static const char m[] = "test_gpu_tp: watchdog: no progress in 280 s (a rank waiting in NCCL?)\n";
    if (write(2, m, sizeof m - 1) < 0) _exit(1);
    _exit(1);
}

START_TEST(tp2_against_p1)
{
    signal(SIGALRM, tp_alarm);
    alarm(280);
    dsmlp_ctx *ctx = tu_ctx();
    dsmlp_reference_set_threads(ctx, gu_cores());
    const cuda_api *cu = gu_cu(ctx);
    char card[TP_P][256];
    for (int r = 0; r < TP_P; r++) {
        CUdevice d;
        GU_CU(cu->cuDeviceGet(&d, r));
        GU_CU(cu->cuDeviceGetName(card[r], (int)sizeof card[r], d));
        printf("rank %d: device %d: %s\n", r, r, card[r]);
    }
    /* Compile every rank's kernels on all cores first (store hits later). */
    dsmlp_mlp_config pre[TP_NFAM * TP_P];
    for (int f = 0; f < TP_NFAM; f++)
        for (int r = 0; r < TP_P; r++) tp_config(&tp_families[f], r, &pre[f * TP_P + r]);
    int nk = gu_precompile(ctx, pre, TP_NFAM * TP_P, TP_MAXT);
    printf("pre-compiled %d kernels\n", nk);
    fflush(stdout);

    tp_shared *sh = calloc(1, sizeof *sh);
    ck_assert_ptr_nonnull(sh);
    int devs[TP_P] = {0, 1};
    ck_assert_int_eq(ncclCommInitAll(sh->comm, TP_P, devs), ncclSuccess);
    gu_tally ty = {0};
    int aborted = 0;
    for (int f = 0; f < TP_NFAM && !aborted; f++) {
        const tp_family *fam = &tp_families[f];
        sh->fam = fam;
        memset(sh->failed, 0, sizeof sh->failed);
        dsmlp_graph *g = tp_make_data(ctx, sh);
        char desc[160];
        snprintf(desc, sizeof desc, "%s %s H=%lld I=%lld P=%d", fam->name, dsmlp_dtype_name(fam->dtype),
                 (long long)fam->hidden, (long long)fam->inter, TP_P);
        /* The reference of the unsharded graph, per T. */
        tp_val *out = NULL;
        for (int i = 0; i < sh->nv; i++)
            if (sh->v[i].op == DSMLP_OP_OUTPUT) out = &sh->v[i];
        ck_assert_ptr_nonnull(out);
        for (int t = 0; t < TP_NT; t++) {
            dsmlp_host_tensor b[TP_MAXV];
            for (int i = 0; i < sh->nv; i++) {
                tp_val *x = &sh->v[i];
                b[i] = (dsmlp_host_tensor){x->name, x->op == DSMLP_OP_OUTPUT ? DSMLP_F64 : x->dtype,
                                           x->op == DSMLP_OP_PARAM ? x->data[0] : x->data[t]};
            }
            TU_OK(ctx, dsmlp_reference_run_f64(g, tp_Ts[t], b, sh->nv));
        }
        ck_assert_int_eq(pthread_barrier_init(&sh->bar, NULL, TP_P), 0);
        tp_rank rk[TP_P];
        pthread_t th[TP_P];
        for (int r = 0; r < TP_P; r++) {
            rk[r] = (tp_rank){.sh = sh, .r = r};
            ck_assert_int_eq(pthread_create(&th[r], NULL, tp_rank_main, &rk[r]), 0);
        }
        for (int r = 0; r < TP_P; r++) pthread_join(th[r], NULL);
        pthread_barrier_destroy(&sh->bar);
        int failed = 0;
        for (int r = 0; r < TP_P; r++) {
            if (rk[r].msg[0]) printf("FAIL %s: %s\n", desc, rk[r].msg), failed = 1;
            aborted |= rk[r].aborted;
        }
        for (int t = 0; t < TP_NT; t++) {
            int64_t T = tp_Ts[t], n = T * fam->hidden;
            double err[TP_P];
            for (int r = 0; r < TP_P; r++)
                err[r] = failed ? INFINITY : tu_rel_error(fam->dtype, sh->got[r][t], out->data[t], n);
            int same = !failed && !memcmp(sh->got[0][t], sh->got[1][t], sh->out_bytes[t]);
            double worst = err[0] > err[1] || isnan(err[0]) ? err[0] : err[1];
            int ok = !failed && same && worst <= gu_tol(fam->dtype);
            gu_tally_add(&ty, fam->dtype, desc, T, worst, ok);
            printf("%s %-36s T=%-4lld err rank0 %.3e rank1 %.3e (tol %.1e) ranks %s\n", ok ? "ok  " : "FAIL", desc,
                   (long long)T, err[0], err[1], gu_tol(fam->dtype), same ? "identical" : "DIFFER");
        }
        fflush(stdout);
        tp_free_data(sh);
        dsmlp_graph_free(g);
    }
    if (!aborted)
        for (int r = 0; r < TP_P; r++) ncclCommDestroy(sh->comm[r]);
    printf("== tensor parallel P=%d on %s + %s: %d cases (%d failed)\n", TP_P, card[0], card[1], ty.cases,
           ty.failed);
    for (int t = 0; t < DSMLP_I8; t++)
        if (ty.per_dtype[t])
            printf("   %-4s %3d cases, worst rel. error %.3e (tolerance %.1e) at %s\n", dsmlp_dtype_name(t),
                   ty.per_dtype[t], ty.worst[t], gu_tol(t), ty.worst_desc[t]);
    fflush(stdout);
    free(sh);
    dsmlp_ctx_free(ctx);
    alarm(0);
    ck_assert_msg(!aborted, "a rank failed mid-run; the remaining configs were not run");
    ck_assert_msg(ty.failed == 0, "%d of %d cases failed", ty.failed, ty.cases);
}
END_TEST

static Suite *make(void)
{
    Suite *s = suite_create("gpu_tp");
    TCase *tc = tcase_create("tp");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, tp2_against_p1);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    /* gu_main skips without a GPU; this suite also needs a second one. */
    dsmlp_ctx *ctx = NULL;
    if (dsmlp_ctx_create(&ctx) != DSMLP_OK) return 1;
    if (!dsmlp_device_available(ctx)) {
        printf("skipped: %s\n", dsmlp_last_error(ctx));
        dsmlp_ctx_free(ctx);
        return TU_SKIP;
    }
    const cuda_api *cu = NULL;
    int count = 0;
    if (dsmlpR_cuda_api_load(ctx, &cu) != DSMLP_OK || cu->cuDeviceGetCount(&count) != CUDA_SUCCESS || count < TP_P) {
        printf("skipped: tensor parallelism needs %d GPUs, found %d\n", TP_P, count);
        dsmlp_ctx_free(ctx);
        return TU_SKIP;
    }
    dsmlp_ctx_free(ctx);
    return gu_main(make, "gpu-tp");
}
