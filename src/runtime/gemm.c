/* gemm.c — cuBLASLt descriptors, heuristic algorithm choice, launch. */
#include "gemm.h"
#include "device.h"
#include "context.h"

#include <stdio.h>
#include <string.h>

static dsmlp_status lt_fail(dsmlp_ctx *ctx, const char *what, const char *call, cublasStatus_t st)
{
    return dsmlpB_err_set(ctx, DSMLP_ERR_CUBLAS, "%s: %s failed: %s (%d)", what, call, cublasLtGetStatusString(st),
                   (int)st);
}

dsmlp_status dsmlpR_gemm_handle(dsmlp_ctx *ctx, struct device *dev, cublasLtHandle_t *out)
{
    if (!dev->lt) {
        cublasLtHandle_t h;
        cublasStatus_t st = cublasLtCreate(&h);
        if (st != CUBLAS_STATUS_SUCCESS) return lt_fail(ctx, "cuBLASLt", "cublasLtCreate", st);
        dev->lt = h;
    }
    *out = (cublasLtHandle_t)dev->lt;
    return DSMLP_OK;
}

static int cuda_type(dsmlp_dtype t, cudaDataType_t *out)
{
    switch (t) {
    case DSMLP_F32: *out = CUDA_R_32F; return 1;
    case DSMLP_F16: *out = CUDA_R_16F; return 1;
    case DSMLP_BF16: *out = CUDA_R_16BF; return 1;
    default: return 0;
    }
}

static cublasLtEpilogue_t lt_epilogue(plan_epilogue e)
{
    switch (e) {
    case EPI_BIAS: return CUBLASLT_EPILOGUE_BIAS;
    case EPI_RELU_BIAS: return CUBLASLT_EPILOGUE_RELU_BIAS;
    case EPI_GELU_BIAS: return CUBLASLT_EPILOGUE_GELU_BIAS;
    case EPI_RELU: return CUBLASLT_EPILOGUE_RELU;
    case EPI_GELU: return CUBLASLT_EPILOGUE_GELU;
    default: return CUBLASLT_EPILOGUE_DEFAULT;
    }
}

static const char *epi_name(plan_epilogue e)
{
    static const char *const n[] = {"none", "bias", "relu_bias", "gelu_bias", "relu", "gelu"};
    return (unsigned)e < sizeof n / sizeof *n ? n[e] : "?";
}

static dsmlp_status set_cols(dsmlp_ctx *ctx, gemm_op *op, int64_t T)
{
    uint64_t cols = (uint64_t)T;
    cublasStatus_t st;
    if ((st = cublasLtMatrixLayoutSetAttribute(op->b, CUBLASLT_MATRIX_LAYOUT_COLS, &cols, sizeof cols)) ||
        (st = cublasLtMatrixLayoutSetAttribute(op->c, CUBLASLT_MATRIX_LAYOUT_COLS, &cols, sizeof cols)) ||
        (st = cublasLtMatrixLayoutSetAttribute(op->d, CUBLASLT_MATRIX_LAYOUT_COLS, &cols, sizeof cols)))
        return lt_fail(ctx, op->what, "cublasLtMatrixLayoutSetAttribute(COLS)", st);
    op->cur_T = T;
    return DSMLP_OK;
}

/* Heuristic at the bucket's top, verified at its bottom: the chosen algorithm
** must accept every T of the bucket's range. */
static dsmlp_status pick_algo(dsmlp_ctx *ctx, cublasLtHandle_t lt, gemm_op *op, cublasLtMatmulPreference_t pref,
                              gemm_bucket *bk, gemm_tuner *tuner)
{
    enum { NRES = GEMM_CANDS };
    cublasLtMatmulHeuristicResult_t res[NRES];
    int nres = 0;
    dsmlp_status s = set_cols(ctx, op, bk->tmax);
    if (s != DSMLP_OK) return s;
    cublasStatus_t st = cublasLtMatmulAlgoGetHeuristic(lt, op->desc, op->a, op->b, op->c, op->d, pref, NRES, res,
                                                       &nres);
    if (st != CUBLAS_STATUS_SUCCESS || nres == 0)
        return dsmlpB_err_set(ctx, DSMLP_ERR_CUBLAS,
                       "%s: cuBLASLt has no algorithm for T = %lld (cublasLtMatmulAlgoGetHeuristic: %s, %d results)",
                       op->what, (long long)bk->tmax, cublasLtGetStatusString(st), nres);
    int ok[NRES], nok = 0;
    for (int i = 0; i < nres; i++) {
        if (res[i].state != CUBLAS_STATUS_SUCCESS) continue;
        cublasLtMatmulHeuristicResult_t chk;
        if (bk->tmin != bk->tmax) {
            if ((s = set_cols(ctx, op, bk->tmin)) != DSMLP_OK) return s;
            st = cublasLtMatmulAlgoCheck(lt, op->desc, op->a, op->b, op->c, op->d, &res[i].algo, &chk);
            if ((s = set_cols(ctx, op, bk->tmax)) != DSMLP_OK) return s;
            if (st != CUBLAS_STATUS_SUCCESS || chk.workspaceSize > GEMM_LT_WORKSPACE) continue;
        }
        ok[nok++] = i;
    }
    if (nok > 0) {
        int best = ok[0];
        if (tuner && nok > 1) {
            /* Time every candidate at the bucket's top (capped by the scratch). */
            int64_t T = bk->tmax < tuner->tmax ? bk->tmax : tuner->tmax;
            if ((s = set_cols(ctx, op, T)) != DSMLP_OK) return s;
            int reps = T <= 128 ? 20 : T <= 1024 ? 8 : 3;
            double best_us = -1;
            for (int j = 0; j < nok; j++) {
                double us = dsmlpR_gemm_tuner_time(tuner, lt, op->desc, op->a, op->b, op->c, op->d, &res[ok[j]].algo,
                                            op->has_c, reps);
                if (us > 0 && (best_us < 0 || us < best_us)) best_us = us, best = ok[j];
            }
            const void *none = NULL;   /* the tuner's scratch bias must not linger */
            cublasLtMatmulDescSetAttribute(op->desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &none, sizeof none);
            op->cur_bias = NULL;
        }
        bk->ncand = nok, bk->loaded = 0;   /* every candidate that serves the bucket (nok <= NRES) */
        for (int j = 0; j < nok; j++) {
            if (ok[j] == best) bk->loaded = j;
            bk->cand[j] = res[ok[j]].algo;
        }
        bk->algo = res[best].algo;
        bk->valid = 1;
        return DSMLP_OK;
    }
    return dsmlpB_err_set(ctx, DSMLP_ERR_CUBLAS, "%s: no cuBLASLt algorithm serves every T in [%lld, %lld]", op->what,
                   (long long)bk->tmin, (long long)bk->tmax);
}

dsmlp_status dsmlpR_gemm_prepare(dsmlp_ctx *ctx, cublasLtHandle_t lt, const plan *p, int step, gemm_op *op,
                          gemm_tuner *tuner)
{
    const plan_step *ps = &p->steps[step];
    const plan_gemm *g = &ps->gemm;
    memset(op, 0, sizeof *op);
    const plan_buf *bx = &p->bufs[g->x], *bw = &p->bufs[g->w], *bd = &p->bufs[g->d];
    snprintf(op->what, sizeof op->what, "step %d (%s, [T,%lld]x%s[%lld,%lld] %s)", step, ps->label,
             (long long)g->k, g->layout == DSMLP_LAYOUT_OUT_IN ? "T" : "", (long long)bw->rows,
             (long long)bw->cols, dsmlp_dtype_name(bd->dtype));
    op->n = g->n;
    op->k = g->k;
    op->has_c = g->c >= 0;
    cudaDataType_t tx, tw, td;
    if (!cuda_type(bx->dtype, &tx) || !cuda_type(bw->dtype, &tw) || !cuda_type(bd->dtype, &td))
        return dsmlpB_err_set(ctx, DSMLP_ERR_UNSUPPORTED, "%s: cuBLASLt GEMM needs f32/f16/bf16 operands, got x %s, w %s, d %s",
                       op->what, dsmlp_dtype_name(bx->dtype), dsmlp_dtype_name(bw->dtype),
                       dsmlp_dtype_name(bd->dtype));
    if (g->bias >= 0 && p->bufs[g->bias].dtype != bd->dtype)
        return dsmlpB_err_set(ctx, DSMLP_ERR_UNSUPPORTED, "%s: bias %s is %s but the output is %s", op->what,
                       p->bufs[g->bias].name, dsmlp_dtype_name(p->bufs[g->bias].dtype), dsmlp_dtype_name(bd->dtype));
    int epi_bias = g->epi == EPI_BIAS || g->epi == EPI_RELU_BIAS || g->epi == EPI_GELU_BIAS;
    if (epi_bias != (g->bias >= 0))
        return dsmlpB_err_set(ctx, DSMLP_ERR_UNSUPPORTED, "%s: epilogue %s %s a bias buffer", op->what, epi_name(g->epi),
                       epi_bias ? "needs" : "has no use for");

    /* cuBLASLt computes act(A·B + beta·C + bias): a residual C cannot follow an activation. */
    if (g->c >= 0 && g->epi != EPI_NONE && g->epi != EPI_BIAS)
        return dsmlpB_err_set(ctx, DSMLP_ERR_UNSUPPORTED,
                       "%s: epilogue %s with a residual C: cuBLASLt would apply the activation after adding C",
                       op->what, epi_name(g->epi));
    cublasComputeType_t ct = CUBLAS_COMPUTE_32F;
    if (bd->dtype == DSMLP_F32 && p->tf32) ct = CUBLAS_COMPUTE_32F_FAST_TF32;
    cublasStatus_t st;
    if ((st = cublasLtMatmulDescCreate(&op->desc, ct, CUDA_R_32F)))
        return lt_fail(ctx, op->what, "cublasLtMatmulDescCreate", st);
    cublasOperation_t ta = g->layout == DSMLP_LAYOUT_OUT_IN ? CUBLAS_OP_T : CUBLAS_OP_N, tb = CUBLAS_OP_N;
    cublasLtEpilogue_t epi = lt_epilogue(g->epi);
    if ((st = cublasLtMatmulDescSetAttribute(op->desc, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta)) ||
        (st = cublasLtMatmulDescSetAttribute(op->desc, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb)) ||
        (st = cublasLtMatmulDescSetAttribute(op->desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof epi)))
        return lt_fail(ctx, op->what, "cublasLtMatmulDescSetAttribute", st);

    uint64_t n = (uint64_t)g->n, k = (uint64_t)g->k, T0 = 1;
    if (g->layout == DSMLP_LAYOUT_OUT_IN)
        st = cublasLtMatrixLayoutCreate(&op->a, tw, k, n, (int64_t)k);    /* [n,k] row-major */
    else
        st = cublasLtMatrixLayoutCreate(&op->a, tw, n, k, (int64_t)n);    /* [k,n] row-major */
    if (st || (st = cublasLtMatrixLayoutCreate(&op->b, tx, k, T0, (int64_t)k)) ||
        (st = cublasLtMatrixLayoutCreate(&op->c, td, n, T0, (int64_t)n)) ||
        (st = cublasLtMatrixLayoutCreate(&op->d, td, n, T0, (int64_t)n)))
        return lt_fail(ctx, op->what, "cublasLtMatrixLayoutCreate", st);

    cublasLtMatmulPreference_t pref;
    if ((st = cublasLtMatmulPreferenceCreate(&pref))) return lt_fail(ctx, op->what, "cublasLtMatmulPreferenceCreate", st);
    uint64_t wsb = GEMM_LT_WORKSPACE;
    uint32_t align = 16;   /* dsmlp_bind guarantees 16; cudaMalloc gives 256 */
    cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &wsb, sizeof wsb);
    cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &align, sizeof align);
    cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &align, sizeof align);
    cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &align, sizeof align);
    cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &align, sizeof align);

    static const int64_t edges[GEMM_BUCKETS][2] = {{1, 1},       {2, 8},       {9, 16},       {17, 32},
                                                   {33, 64},     {65, 128},    {129, 256},    {257, 512},
                                                   {513, 1024},  {1025, 2048}, {2049, 4096},  {4097, INT64_MAX}};
    int64_t maxT = p->max_tokens > 0 ? p->max_tokens : 1;
    dsmlp_status s = DSMLP_OK;
    for (int i = 0; i < GEMM_BUCKETS && s == DSMLP_OK; i++) {
        if (edges[i][0] > maxT) break;
        gemm_bucket *bk = &op->bucket[op->nbucket++];
        bk->tmin = edges[i][0];
        bk->tmax = edges[i][1] < maxT ? edges[i][1] : maxT;
        s = pick_algo(ctx, lt, op, pref, bk, tuner);
    }
    cublasLtMatmulPreferenceDestroy(pref);
    return s;
}

gemm_bucket *dsmlpR_gemm_bucket(const gemm_op *op, int64_t T)
{
    for (int i = 0; i < op->nbucket; i++)   /* (as strchr: the caller's op decides whether it may change) */
        if (T >= op->bucket[i].tmin && T <= op->bucket[i].tmax) return (gemm_bucket *)&op->bucket[i];
    return NULL;
}

int dsmlpR_gemm_use(gemm_bucket *bk, int c)
{
    if (c >= bk->ncand || !bk->valid) return -1;
    bk->algo = bk->cand[c < 0 ? bk->loaded : c];
    return 0;
}

dsmlp_status dsmlpR_gemm_run(dsmlp_ctx *ctx, cublasLtHandle_t lt, gemm_op *op, int64_t T, const void *x, const void *w,
                      const void *bias, const void *c, void *d, void *ws, size_t ws_bytes, CUstream stream)
{
    const gemm_bucket *bk = &op->bucket[0];
    for (int i = op->nbucket - 1; i >= 0; i--)
        if (T >= op->bucket[i].tmin) { bk = &op->bucket[i]; break; }
    dsmlp_status s;
    if (T != op->cur_T && (s = set_cols(ctx, op, T)) != DSMLP_OK) return s;
    cublasStatus_t st;
    if (bias != op->cur_bias) {
        if ((st = cublasLtMatmulDescSetAttribute(op->desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof bias)))
            return lt_fail(ctx, op->what, "cublasLtMatmulDescSetAttribute(BIAS_POINTER)", st);
        op->cur_bias = bias;
    }
    float alpha = 1.0f, beta = op->has_c ? 1.0f : 0.0f;
    st = cublasLtMatmul(lt, op->desc, &alpha, w, op->a, x, op->b, &beta, op->has_c ? c : d, op->c, d, op->d,
                        &bk->algo, ws, ws_bytes, (cudaStream_t)stream);
    if (st != CUBLAS_STATUS_SUCCESS) return lt_fail(ctx, op->what, "cublasLtMatmul", st);
    return DSMLP_OK;
}

void dsmlpR_gemm_release(gemm_op *op)
{
    if (op->a) cublasLtMatrixLayoutDestroy(op->a);
    if (op->b) cublasLtMatrixLayoutDestroy(op->b);
    if (op->c) cublasLtMatrixLayoutDestroy(op->c);
    if (op->d) cublasLtMatrixLayoutDestroy(op->d);
    if (op->desc) cublasLtMatmulDescDestroy(op->desc);
    memset(op, 0, sizeof *op);
}
