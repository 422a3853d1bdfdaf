/*
** test_gpu_minilm.c — all-MiniLM-L6-v2 on the GPU: one plan per dtype from
** the checkpoint's config.json, each layer's weights loaded by
** dsmlp_weights_bind into its own binding set straight from the mapped
** safetensors file, every layer run on the fixtures' inputs (captured from
** transformers, tests/data/minilm) and compared with transformers' output:
** f32 within 1e-5 relative, f16 within 5e-3. Skips without a GPU or without
** the checkpoint (tools/fetch-minilm.sh; --mlp-only makes a 28 MB copy that
** travels with the build).
*/
#include "gpu_case.h"
#include "minilm_util.h"

static void run_dtype(dsmlp_ctx *ctx, dsmlp_dtype dt, double tol)
{
    const cuda_api *cu = gu_cu(ctx);
    dsmlp_hf_model m;
    TU_OK(ctx, dsmlp_hf_config(ctx, minilm_dir(), &m));
    m.mlp.dtype = dt;
    dsmlp_graph *g;
    TU_OK(ctx, dsmlp_graph_create(ctx, "minilm", &g));
    TU_OK(ctx, dsmlp_mlp_build(g, &m.mlp));
    dsmlp_compile_options o;
    dsmlp_compile_options_default(&o);
    o.max_tokens = 64;
    dsmlp_plan *pl;
    TU_OK(ctx, dsmlp_compile(ctx, g, &o, &pl));
    dsmlp_weights *w, *fx;
    TU_OK(ctx, dsmlp_weights_open(ctx, minilm_dir(), &w));
    TU_OK(ctx, dsmlp_weights_open(ctx, minilm_fixtures(), &fx));
    dsmlp_bindings *set[MINILM_LAYERS];
    for (int l = 0; l < MINILM_LAYERS; l++) {
        TU_OK(ctx, dsmlp_bindings_create(pl, &set[l]));
        TU_OK(ctx, dsmlp_weights_bind(w, &m.tensors, l, pl, set[l]));
    }
    size_t esz = dsmlp_dtype_size(dt), bytes = (size_t)64 * MINILM_H * esz;
    CUdeviceptr dx, da, dout;
    GU_CU(cu->cuMemAlloc(&dx, bytes));
    GU_CU(cu->cuMemAlloc(&da, bytes));
    GU_CU(cu->cuMemAlloc(&dout, bytes));
    TU_OK(ctx, dsmlp_bind(pl, "residual", (void *)(uintptr_t)dx));   /* every set inherits the activations */
    TU_OK(ctx, dsmlp_bind(pl, "input", (void *)(uintptr_t)da));
    TU_OK(ctx, dsmlp_bind(pl, "out", (void *)(uintptr_t)dout));
    void *host = malloc(bytes);
    double *got = malloc(sizeof(double) * 64 * MINILM_H);
    double worst = 0;
    for (int l = 0; l < MINILM_LAYERS; l++) {
        int64_t T;
        float *X = minilm_fixture(ctx, fx, l, "residual", &T), *A = minilm_fixture(ctx, fx, l, "input", &T);
        float *want = minilm_fixture(ctx, fx, l, "out", &T);
        ck_assert_int_le(T, 64);
        for (int64_t i = 0; i < T * MINILM_H; i++) dsmlpB_dtype_store(dt, host, i, X[i]);
        GU_CU(cu->cuMemcpyHtoD(dx, host, (size_t)(T * MINILM_H) * esz));
        for (int64_t i = 0; i < T * MINILM_H; i++) dsmlpB_dtype_store(dt, host, i, A[i]);
        GU_CU(cu->cuMemcpyHtoD(da, host, (size_t)(T * MINILM_H) * esz));
        GU_CU(cu->cuMemsetD8(dout, 0xff, bytes));
        TU_OK(ctx, dsmlp_run_bound(pl, set[l], T, NULL));
        GU_CU(cu->cuCtxSynchronize());
        GU_CU(cu->cuMemcpyDtoH(host, dout, (size_t)(T * MINILM_H) * esz));
        for (int64_t i = 0; i < T * MINILM_H; i++) got[i] = dsmlpB_dtype_load(dt, host, i);
        double e = minilm_rel(got, want, T * MINILM_H);
        printf("all-MiniLM-L6-v2 on %s, %s, layer %d, %lld tokens: relative error %.2e against transformers "
               "(tolerance %.0e)\n", gu_card(ctx), dsmlp_dtype_name(dt), l, (long long)T, e, tol);
        ck_assert_msg(e <= tol, "%s layer %d: relative error %g", dsmlp_dtype_name(dt), l, e);
        if (e > worst) worst = e;
        free(X), free(A), free(want);
    }
    printf("== all-MiniLM-L6-v2 %s on the GPU: 6 layers, worst %.2e, weights %.1f MiB per layer\n",
           dsmlp_dtype_name(dt), worst, (double)dsmlp_bindings_bytes(set[0]) / (1 << 20));
    fflush(stdout);
    for (int l = 0; l < MINILM_LAYERS; l++) dsmlp_bindings_free(set[l]);
    dsmlp_plan_free(pl);
    cu->cuMemFree(dx), cu->cuMemFree(da), cu->cuMemFree(dout);
    free(host), free(got);
    dsmlp_weights_close(fx), dsmlp_weights_close(w);
    dsmlp_graph_free(g);
}

START_TEST(every_layer_on_the_gpu)
{
    dsmlp_ctx *ctx = tu_ctx();
    run_dtype(ctx, DSMLP_F32, 1e-5);
    run_dtype(ctx, DSMLP_F16, 5e-3);
    dsmlp_ctx_free(ctx);
}
END_TEST

static Suite *make(void)
{
    Suite *s = suite_create("gpu_minilm");
    TCase *tc = tcase_create("minilm");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, every_layer_on_the_gpu);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    minilm_require();
    return gu_main(make, "minilm");
}
