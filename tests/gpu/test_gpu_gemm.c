/*
** test_gpu_gemm.c — the runtime's GEMM layer (src/runtime/gemm.c) on its own,
** independent of the compiler: hand-made plan GEMM steps for both weight
** layouts × every epilogue × f32/f16/bf16 × residual (none, separate, C == D)
** at T on both sides of every algorithm bucket edge, against a double
** precision CPU product. And one generated-style kernel through the store,
** cuModuleLoadData and cuLaunchKernel with the plan calling convention. And
** dsmlp_plan_tune choosing among cuBLASLt's candidates on a plan only cuBLASLt
** serves, stored and read back.
*/
#include "gpu_case.h"
#include "runtime/gemm.h"
#include "runtime/store.h"

static double gelu_tanh(double x)
{
    return 0.5 * x * (1 + tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)));
}

static double epilogue(plan_epilogue e, double v)
{
    if (e == EPI_RELU || e == EPI_RELU_BIAS) return v > 0 ? v : 0;
    if (e == EPI_GELU || e == EPI_GELU_BIAS) return gelu_tanh(v);
    return v;
}

static int has_bias(plan_epilogue e) { return e == EPI_BIAS || e == EPI_RELU_BIAS || e == EPI_GELU_BIAS; }

static void set_buf(plan_buf *b, plan_buf_kind kind, const char *name, dsmlp_dtype dt, int tokens, int64_t rows,
                    int64_t cols, dsmlp_layout layout)
{
    memset(b, 0, sizeof *b);
    b->kind = kind;
    snprintf(b->name, sizeof b->name, "%s", name);
    b->dtype = dt, b->tokens = tokens, b->rows = rows, b->cols = cols, b->layout = layout;
}

START_TEST(gemm_layouts_epilogues_residuals)
{
    dsmlp_ctx *ctx = tu_ctx();
    const cuda_api *cu = gu_cu(ctx);
    struct device *dev;
    TU_OK(ctx, dsmlpR_device_get(ctx, &dev));
    cublasLtHandle_t lt;
    TU_OK(ctx, dsmlpR_gemm_handle(ctx, dev, &lt));
    static const int64_t Ts[] = {1, 2, 16, 17, 128, 129, 1000};
    static const dsmlp_dtype dts[] = {DSMLP_F32, DSMLP_F16, DSMLP_BF16};
    const int64_t maxT = 1024;
    CUdeviceptr lt_ws;
    GU_CU(cu->cuMemAlloc(&lt_ws, GEMM_LT_WORKSPACE));
    gu_tally ty = {0};
    for (int shape = 0; shape < 2; shape++)
        for (int di = 0; di < 3; di++)
            for (int lay = 0; lay < 2; lay++) {
                int64_t n = shape ? 1232 : 384, k = shape ? 512 : 256;
                dsmlp_dtype dt = dts[di];
                dsmlp_layout layout = lay ? DSMLP_LAYOUT_OUT_IN : DSMLP_LAYOUT_IN_OUT;
                size_t es = dsmlp_dtype_size(dt);
                /* Fresh operands per dtype and layout; x·W in double once. */
                void *x = tu_random(dt, maxT * k, 1.0), *w = malloc((size_t)(n * k) * es), *b = tu_random(dt, n, 0.5),
                     *c = tu_random(dt, maxT * n, 1.0), *d = malloc((size_t)(maxT * n) * es);
                gu_fill(dt, w, n * k, 1 / sqrt((double)k), 0);
                double *xd = malloc(sizeof(double) * (size_t)(1000 * k)), *wd = malloc(sizeof(double) * (size_t)(n * k));
                double *base = calloc((size_t)(1000 * n), sizeof(double)), *ref = malloc(sizeof(double) * (size_t)(maxT * n));
                for (int64_t i = 0; i < 1000 * k; i++) xd[i] = dsmlpB_dtype_load(dt, x, i);
                for (int64_t q = 0; q < k; q++)   /* wd[q*n + j] = W(q -> j) */
                    for (int64_t j = 0; j < n; j++) wd[q * n + j] = dsmlpB_dtype_load(dt, w, lay ? j * k + q : q * n + j);
                for (int64_t t = 0; t < 1000; t++)
                    for (int64_t q = 0; q < k; q++) {
                        double xv = xd[t * k + q];
                        const double *wr = wd + q * n;
                        double *br = base + t * n;
                        for (int64_t j = 0; j < n; j++) br[j] += xv * wr[j];
                    }
                CUdeviceptr dx, dw, db, dc, dd;
                GU_CU(cu->cuMemAlloc(&dx, (size_t)(maxT * k) * es));
                GU_CU(cu->cuMemAlloc(&dw, (size_t)(n * k) * es));
                GU_CU(cu->cuMemAlloc(&db, (size_t)n * es));
                GU_CU(cu->cuMemAlloc(&dc, (size_t)(maxT * n) * es));
                GU_CU(cu->cuMemAlloc(&dd, (size_t)(maxT * n) * es));
                GU_CU(cu->cuMemcpyHtoD(dx, x, (size_t)(maxT * k) * es));
                GU_CU(cu->cuMemcpyHtoD(dw, w, (size_t)(n * k) * es));
                GU_CU(cu->cuMemcpyHtoD(db, b, (size_t)n * es));
                for (int e = EPI_NONE; e <= EPI_GELU; e++)
                    for (int res = 0; res < 3; res++) {
                        if (res && e != EPI_NONE && e != EPI_BIAS) continue;   /* refused, tested below */
                        plan p;
                        memset(&p, 0, sizeof p);
                        plan_buf bufs[5];
                        plan_step step;
                        memset(&step, 0, sizeof step);
                        snprintf(p.graph_name, sizeof p.graph_name, "gemm_test");
                        p.max_tokens = maxT, p.bufs = bufs, p.nbufs = 5, p.steps = &step, p.nsteps = 1;
                        set_buf(&bufs[0], BUF_INPUT, "x", dt, 1, 0, k, 0);
                        set_buf(&bufs[1], BUF_PARAM, "w", dt, 0, lay ? n : k, lay ? k : n, layout);
                        set_buf(&bufs[2], BUF_PARAM, "b", dt, 0, 1, n, 0);
                        set_buf(&bufs[3], BUF_INPUT, "c", dt, 1, 0, n, 0);
                        set_buf(&bufs[4], BUF_OUTPUT, "d", dt, 1, 0, n, 0);
                        step.kind = STEP_GEMM;
                        snprintf(step.label, sizeof step.label, "gemm");
                        step.gemm = (plan_gemm){0, 1, 4, has_bias(e) ? 2 : -1, res == 1 ? 3 : res == 2 ? 4 : -1, n, k,
                                                layout, (plan_epilogue)e, -1, 0, {-1, -1, -1, -1, -1}, -1, -1, {-1, -1, -1, -1, -1}, -1, -1, 0, -1, -1, -1, -1, -1, 0, 0, -1, NULL, -1, 0, -1};
                        gemm_op op;
                        TU_OK(ctx, dsmlpR_gemm_prepare(ctx, lt, &p, 0, &op, NULL));
                        for (int ti = 0; ti < 7; ti++) {
                            int64_t T = Ts[ti];
                            GU_CU(cu->cuMemcpyHtoD(dc, c, (size_t)(T * n) * es));
                            if (res == 2) GU_CU(cu->cuMemcpyHtoD(dd, c, (size_t)(T * n) * es));
                            else GU_CU(cu->cuMemsetD8(dd, 0xff, (size_t)(T * n) * es));
                            dsmlp_status s = dsmlpR_gemm_run(ctx, lt, &op, T, (void *)(uintptr_t)dx, (void *)(uintptr_t)dw,
                                                      has_bias(e) ? (void *)(uintptr_t)db : NULL,
                                                      res == 1 ? (void *)(uintptr_t)dc : res == 2 ? (void *)(uintptr_t)dd : NULL,
                                                      (void *)(uintptr_t)dd, (void *)(uintptr_t)lt_ws, GEMM_LT_WORKSPACE, NULL);
                            TU_CHECK(ctx, s, DSMLP_OK);
                            GU_CU(cu->cuCtxSynchronize());
                            GU_CU(cu->cuMemcpyDtoH(d, dd, (size_t)(T * n) * es));
                            for (int64_t t = 0; t < T; t++)
                                for (int64_t j = 0; j < n; j++) {
                                    double acc = base[t * n + j];
                                    if (has_bias(e)) acc += dsmlpB_dtype_load(dt, b, j);
                                    acc = epilogue((plan_epilogue)e, acc);
                                    if (res) acc += dsmlpB_dtype_load(dt, c, t * n + j);
                                    ref[t * n + j] = acc;
                                }
                            double err = tu_rel_error(dt, d, ref, T * n);
                            char desc[160];
                            snprintf(desc, sizeof desc, "%s n=%lld k=%lld %s epi=%d res=%s", dsmlp_dtype_name(dt),
                                     (long long)n, (long long)k, lay ? "[out,in]" : "[in,out]", e,
                                     res == 0 ? "none" : res == 1 ? "C" : "C=D");
                            int ok = err <= gu_tol(dt);
                            gu_tally_add(&ty, dt, desc, T, err, ok);
                            if (!ok) printf("FAIL %s T=%lld err %.3e\n", desc, (long long)T, err);
                        }
                        dsmlpR_gemm_release(&op);
                    }
                cu->cuMemFree(dx), cu->cuMemFree(dw), cu->cuMemFree(db), cu->cuMemFree(dc), cu->cuMemFree(dd);
                free(x), free(w), free(b), free(c), free(d), free(ref), free(xd), free(wd), free(base);
            }
    gu_tally_print(&ty, "cuBLASLt GEMM steps", ctx);
    ck_assert_msg(ty.failed == 0, "%d of %d GEMM cases failed", ty.failed, ty.cases);

    /* An activation epilogue with a residual is refused, with the reason. */
    plan p;
    memset(&p, 0, sizeof p);
    plan_buf bufs[4];
    plan_step step;
    memset(&step, 0, sizeof step);
    p.max_tokens = 16, p.bufs = bufs, p.nbufs = 4, p.steps = &step, p.nsteps = 1;
    set_buf(&bufs[0], BUF_INPUT, "x", DSMLP_F16, 1, 0, 64, 0);
    set_buf(&bufs[1], BUF_PARAM, "w", DSMLP_F16, 0, 64, 64, DSMLP_LAYOUT_IN_OUT);
    set_buf(&bufs[2], BUF_PARAM, "b", DSMLP_F16, 0, 1, 64, 0);
    set_buf(&bufs[3], BUF_OUTPUT, "d", DSMLP_F16, 1, 0, 64, 0);
    step.kind = STEP_GEMM;
    step.gemm = (plan_gemm){0, 1, 3, 2, 3, 64, 64, DSMLP_LAYOUT_IN_OUT, EPI_GELU_BIAS, -1, 0, {-1, -1, -1, -1, -1}, -1, -1, {-1, -1, -1, -1, -1}, -1, -1, 0, -1, -1, -1, -1, -1, 0, 0, -1, NULL, -1, 0, -1};
    gemm_op op;
    TU_CHECK(ctx, dsmlpR_gemm_prepare(ctx, lt, &p, 0, &op, NULL), DSMLP_ERR_UNSUPPORTED);
    TU_MSG_HAS(ctx, "gelu_bias with a residual C");
    dsmlpR_gemm_release(&op);
    cu->cuMemFree(lt_ws);
    dsmlp_ctx_free(ctx);
}
END_TEST

START_TEST(kernel_through_store)
{
    dsmlp_ctx *ctx = tu_ctx();
    const cuda_api *cu = gu_cu(ctx);
    const char *src =
        "#include <cuda_bf16.h>\n"
        "extern \"C\" __global__ void dsmlp_test_axpy(long long T, __nv_bfloat16 *y, const float *x) {\n"
        "  long long row = blockIdx.y * 2 + threadIdx.y;\n"
        "  int col = blockIdx.x * blockDim.x + threadIdx.x;\n"
        "  if (row < T && col < 96) y[row * 96 + col] = __float2bfloat16(2.0f * x[row * 96 + col] + 1.0f);\n"
        "}\n";
    struct store *st;
    TU_OK(ctx, dsmlpR_ctx_store(ctx, &st));
    const void *cubin;
    size_t len;
    char key[65];
    TU_OK(ctx, dsmlpR_store_get(st, ctx, "dsmlp_test_axpy", src, dsmlp_device_arch(ctx), &cubin, &len, key));
    CUmodule mod;
    CUfunction fn;
    GU_CU(cu->cuModuleLoadData(&mod, cubin));
    GU_CU(cu->cuModuleGetFunction(&fn, mod, "dsmlp_test_axpy"));
    const long long T = 37;
    float *x = tu_random(DSMLP_F32, T * 96, 1.0);
    uint16_t *y = malloc(T * 96 * 2);
    CUdeviceptr dx, dy;
    GU_CU(cu->cuMemAlloc(&dx, T * 96 * 4));
    GU_CU(cu->cuMemAlloc(&dy, T * 96 * 2));
    GU_CU(cu->cuMemcpyHtoD(dx, x, T * 96 * 4));
    GU_CU(cu->cuMemsetD8(dy, 0xff, T * 96 * 2));
    long long TT = T;
    void *args[] = {&TT, &dy, &dx};
    GU_CU(cu->cuLaunchKernel(fn, 2, (unsigned)((T + 1) / 2), 1, 64, 2, 1, 0, NULL, args, NULL));
    GU_CU(cu->cuCtxSynchronize());
    GU_CU(cu->cuMemcpyDtoH(y, dy, T * 96 * 2));
    double *ref = malloc(sizeof(double) * T * 96);
    for (long long i = 0; i < T * 96; i++) ref[i] = 2.0 * x[i] + 1.0;
    double err = tu_rel_error(DSMLP_BF16, y, ref, T * 96);
    printf("kernel through the store (%s, %zu-byte cubin): error %.3e\n", dsmlp_device_arch(ctx), len, err);
    ck_assert(err < 4e-3);
    cu->cuMemFree(dx), cu->cuMemFree(dy), cu->cuModuleUnload(mod);
    free(x), free(y), free(ref);
    dsmlp_ctx_free(ctx);
}
END_TEST

/* Selection by measurement on a plan only cuBLASLt serves (f32: no generated GEMM kernel, no weight-streaming
** route): dsmlp_plan_tune times cuBLASLt's candidate algorithms per token bucket within the block, the plan computes
** the block at every bucket's edges with the chosen ones, and a fresh load reads the same choices from the store. */
START_TEST(tuned_cublaslt_candidates)
{
    dsmlp_ctx *ctx = tu_ctx();
    dsmlp_mlp_config cfg;
    dsmlp_mlp_config_default(&cfg);
    cfg.hidden = 512, cfg.intermediate = 2048, cfg.dtype = DSMLP_F32, cfg.activation = DSMLP_MLP_GELU;
    cfg.norm = DSMLP_NORM_LAYERNORM, cfg.epsilon = 1e-5;
    gu_case c, d;
    TU_OK(ctx, gu_case_open(&c, ctx, &cfg, 128, "f32 GELU LayerNorm"));
    const char *key = NULL;
    TU_OK(ctx, dsmlp_plan_tune_key(c.pl, &key));
    ck_assert_msg(key && strlen(key) == 64, "a plan with cuBLASLt GEMMs has a tuning key: '%s'", key ? key : "(null)");
    char *t1, *t2;
    TU_OK(ctx, dsmlp_plan_tune(c.pl));
    TU_OK(ctx, dsmlp_plan_route_text(c.pl, &t1));
    printf("after dsmlp_plan_tune:\n%s", t1);
    /* five buckets timed; at least both GEMMs at T <= 8 (past any decode GEMV) on a measured candidate */
    ck_assert_msg(strstr(t1, "measured now") && gu_count(t1, " us at T = ") == 5 && gu_count(t1, "cuBLASLt's candidate ") >= 2,
                  "%s", t1);
    static const int64_t edges[] = {1, 2, 8, 9, 16, 17, 32, 33, 64, 65, 128};
    for (size_t i = 0; i < sizeof edges / sizeof *edges; i++) {
        dsmlp_status st;
        const double err = gu_case_check(&c, edges[i], &st);
        ck_assert_msg(st == DSMLP_OK && err <= gu_tol(c.dtype), "tuned, T = %lld: %s, error %g", (long long)edges[i],
                      dsmlp_last_error(ctx), err);
    }
    TU_OK(ctx, gu_case_open(&d, ctx, &cfg, 128, "f32 GELU LayerNorm, reloaded"));
    TU_OK(ctx, dsmlp_plan_route_text(d.pl, &t2));
    printf("a fresh load:\n%s", t2);
    ck_assert_msg(strstr(t2, "measured: tuning record") && !strstr(t2, "ignored"), "%s", t2);
    const char *a = strstr(t1, "\n  T 1..8"), *b = strstr(t2, "\n  T 1..8");
    ck_assert_msg(a && b && !strcmp(a, b), "the record's choices differ from the tuner's:\n%s\n%s", t1, t2);
    dsmlp_free(t1), dsmlp_free(t2);
    gu_case_close(&d);
    gu_case_close(&c);
    dsmlp_ctx_free(ctx);
}
END_TEST

static Suite *make(void)
{
    Suite *s = suite_create("gpu_gemm");
    TCase *tc = tcase_create("gemm");
    tcase_add_test(tc, kernel_through_store);
    tcase_add_test(tc, gemm_layouts_epilogues_residuals);
    tcase_add_test(tc, tuned_cublaslt_candidates);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return gu_main(make, "gpu-gemm"); }
