/*
** test_quant_sim.c — the quantized blocks through the plan simulator: every
** scale layout (DeepSpeed groups, extra grouping, gate scales, per channel;
** f32 and f16 scales) for int8 and fp8 weights, on the main route (the
** dequant kernel) and on the small-T route (dequant folded into the stream
** kernels: int8 and fp8 e4m3 converted in registers, no dequant kernel run),
** against the reference executor.
**
** It reuses test_plan_sim.c's machinery (host-compiled kernels, emulated
** ranks, `simulate`) by including that file with its main renamed, so the
** lead's suite stays as it is and these cases stay here.
*/
#define main plan_sim_main
#include "test_plan_sim.c"
#undef main

typedef struct qsim {
    const char *name;
    int64_t H, I;
    dsmlp_dtype dt, qt, st;
    dsmlp_mlp_act act;
    int64_t groups;
    int per_channel, extra, gate, biases;
} qsim;

static const qsim qcases[] = {
    {"q fp8 gpt2 f16 per-channel", 128, 256, DSMLP_F16, DSMLP_FP8_E4M3, DSMLP_F32, DSMLP_MLP_GELU, 1, 1, 0, 0, 1},
    {"q fp8 llama bf16 per-channel f16 scales", 96, 208, DSMLP_BF16, DSMLP_FP8_E4M3, DSMLP_F16, DSMLP_MLP_GATED_SILU, 1,
     1, 0, 0, 0},
    {"q fp8 llama f16 groups", 128, 256, DSMLP_F16, DSMLP_FP8_E4M3, DSMLP_F32, DSMLP_MLP_GATED_SILU, 4, 0, 0, 0, 0},
    {"q int8 llama bf16 gate scales", 96, 208, DSMLP_BF16, DSMLP_I8, DSMLP_F32, DSMLP_MLP_GATED_SILU, 2, 0, 0, 1, 0},
    {"q int8 gated gelu f16 extra+gate", 128, 256, DSMLP_F16, DSMLP_I8, DSMLP_F16, DSMLP_MLP_GATED_GELU, 2, 0, 1, 1, 1},
    {"q int8 gpt2 f16 per-channel f16", 128, 0, DSMLP_F16, DSMLP_I8, DSMLP_F16, DSMLP_MLP_GELU, 1, 1, 0, 0, 1},
    {"q int8 relu bf16 extra grouping", 96, 200, DSMLP_BF16, DSMLP_I8, DSMLP_F32, DSMLP_MLP_RELU, 4, 0, 1, 0, 1},
    {"q int8 llama bf16 gate scales 128", 128, 256, DSMLP_BF16, DSMLP_I8, DSMLP_F32, DSMLP_MLP_GATED_SILU, 2, 0, 0, 1, 0},
};

static int quant_out_in;   /* 1: [out,in] weights (the W ring variants take only those) */

static void run_quant(const qsim *c, int P, long long T)
{
    dsmlp_ctx *ctx = tu_ctx();
    dsmlp_graph *g[4];
    for (int i = 0; i < P; i++) {
        dsmlp_mlp_config m;
        dsmlp_mlp_config_default(&m);
        m.hidden = c->H, m.intermediate = c->I, m.dtype = c->dt, m.activation = c->act;
        m.norm = c->act == DSMLP_MLP_GATED_SILU ? DSMLP_NORM_RMSNORM : DSMLP_NORM_LAYERNORM;
        m.epsilon = 1e-5, m.tp_size = P, m.tp_rank = i;
        m.attn_bias = m.bias1 = m.bias2 = c->biases;
        m.norm_bias = c->biases && m.norm == DSMLP_NORM_LAYERNORM;
        m.int8_weights = 1, m.int8_groups = c->groups, m.quant_dtype = c->qt, m.quant_scale_dtype = c->st;
        m.quant_per_channel = c->per_channel, m.quant_extra_grouping = c->extra, m.quant_gate_scales = c->gate;
        if (quant_out_in) m.layout = DSMLP_LAYOUT_OUT_IN;
        TU_OK(ctx, dsmlp_graph_create(ctx, c->name, &g[i]));
        TU_OK(ctx, dsmlp_mlp_build(g[i], &m));
    }
    simulate(ctx, g, P, T, "out", c->name);
    for (int i = 0; i < P; i++) dsmlp_graph_free(g[i]);
    dsmlp_ctx_free(ctx);
}

/* Main route: the dequant kernel reads int8 / fp8 and f32 / f16 scales. */
START_TEST(quant_main_route)
{
    sim_stream = 0;
    for (size_t i = 0; i < sizeof qcases / sizeof *qcases; i++) run_quant(&qcases[i], 1, i % 2 ? 7 : 2);
    run_quant(&qcases[1], 2, 3);   /* per-channel scales of each rank's shard */
    run_quant(&qcases[4], 2, 2);   /* gate scales of each rank's shard */
}
END_TEST

/* Small-T route: every layout folded into the stream kernels, several variants and grids. */
START_TEST(quant_stream_route)
{
    static const struct { int c, variant, grid; long long T; } runs[] = {
        {0, 0, 0, 1}, {0, 2, 3, 20}, {0, 3, 0, 64},
        {1, 1, 2, 6}, {1, 4, 0, 33},
        {2, 0, 5, 3}, {2, 5, 0, 100},
        {3, 0, 0, 1}, {3, 3, 7, 17},
        {4, 1, 0, 8}, {4, 2, 2, 40},
        {5, 0, 3, 2}, {5, 3, 0, 128},
        {6, 1, 1, 5}, {6, 2, 0, 24},
    };
    sim_stream = 128;
    for (size_t i = 0; i < sizeof runs / sizeof *runs; i++) {
        sim_variant = runs[i].variant, sim_grid = runs[i].grid;
        int before = stream_runs, deq = stream_dequants;
        run_quant(&qcases[runs[i].c], 1, runs[i].T);
        ck_assert_msg(stream_dequants == deq, "%s: the small-T route ran a dequant kernel", qcases[runs[i].c].name);
        ck_assert_msg(stream_runs - before >= 2, "%s T=%lld: %d stream kernels ran", qcases[runs[i].c].name,
                      runs[i].T, stream_runs - before);
    }
    sim_stream = 0, sim_variant = 0, sim_grid = 0;
}
END_TEST

/* The decode GEMV on the codes (T <= decode_max_tokens, [out,in]): int8 and fp8 codes converted in registers, every
** scale layout (groups, per channel, extra grouping, separate gate scales; f32 and f16 scales), gated pairs with
** their scale sets, a shard's scales; the dequant steps do not run (their copies stay poisoned). Where mixed-input
** kernels exist (sm_90, mixed_gemm 1) the GEMV on codes serves T <= 2 only (lower.c); without them, up to 4. */
START_TEST(quant_decode_gemv)
{
    static const struct { int c, P, mixed; long long T; } runs[] = {
        {0, 1, 0, 1}, {1, 1, 0, 3}, {2, 1, 0, 1}, {3, 1, 0, 2}, {4, 2, 0, 1}, {5, 1, 0, 4}, {6, 1, 0, 1}, {3, 1, 0, 6},
        {0, 1, 1, 2}, {2, 1, 1, 1}, {4, 2, 1, 2}, {5, 1, 1, 1}, {0, 1, 1, 3}, {4, 2, 1, 3},   /* mixed: H, I multiples of 128 */
        {7, 1, 0, 3}, {7, 1, 1, 1}};   /* bf16 with separate gate scales, with and without mixed kernels */
    sim_decode = 4, quant_out_in = 1;
    for (size_t i = 0; i < sizeof runs / sizeof *runs; i++) {
        const qsim *c = &qcases[runs[i].c];
        sim_no_mixed = !runs[i].mixed;
        const int gemv = gemv_runs, half = half_mac_runs, deq = deq_skips, P = runs[i].P;
        const int on = runs[i].T <= (runs[i].mixed ? 2 : 4), f16 = c->dt == DSMLP_F16;
        run_quant(c, P, runs[i].T);
        ck_assert_msg(gemv_runs - gemv == (on ? 2 * P : 0), "%s T=%lld: %d decode GEMVs ran", c->name, runs[i].T,
                      gemv_runs - gemv);
        /* int8 and fp8 codes with f16 x multiply in f16 pairs (templates/gemv.cu ds_hmac16, sm_90 here), bf16 x in fp32 */
        ck_assert_msg(half_mac_runs - half == (on && f16 ? 2 * P : 0), "%s T=%lld: %d GEMVs in f16 pairs", c->name,
                      runs[i].T, half_mac_runs - half);
        ck_assert_msg(deq_skips - deq == (on ? 2 * P : 0), "%s T=%lld: %d dequant steps skipped", c->name, runs[i].T,
                      deq_skips - deq);
    }
    sim_decode = 0, quant_out_in = 0, sim_no_mixed = 0;
}
END_TEST

/* The ring with warps across tokens (variant 10: scales applied from registers in its epilogue, gated pairs in one
** lane) on the scale layouts of gated blocks: fp8 per channel with f16 scales, fp8 groups, int8 separate gate
** scales; whole and split tiles (three cases: each case's kernels cost host-compile time). */
START_TEST(quant_tall_ring)
{
    static const struct { int c, grid; long long T; } runs[] = {{1, 3, 128}, {2, 0, 40}, {3, 5, 65}, {3, 0, 33}};
    sim_stream = 128, sim_pipe = 1, quant_out_in = 1;
    for (size_t i = 0; i < sizeof runs / sizeof *runs; i++) {
        sim_variant = 10, sim_grid = runs[i].grid;
        const int before = tall_runs, deq = stream_dequants;
        run_quant(&qcases[runs[i].c], 1, runs[i].T);
        ck_assert_msg(stream_dequants == deq, "%s: the small-T route ran a dequant kernel", qcases[runs[i].c].name);
        ck_assert_msg(tall_runs > before, "%s T=%lld: no GEMM ran the T <= 128 ring", qcases[runs[i].c].name, runs[i].T);
    }
    sim_stream = 0, sim_pipe = 0, quant_out_in = 0, sim_variant = 0, sim_grid = 0;
}
END_TEST

/* Every finite e4m3 code through the main route's dequant kernel: row e holds the 16 codes of exponent field e
** (both signs, all mantissas; e = 15's NaN mantissa is skipped) with scale 2^(7-e), so each row's dot product is
** O(1) and a wrong decode of any binade, subnormals (e = 0) included, shows in the error. */
static void fill_every_e4m3(const plan_buf *B, void *ptr, int64_t n)
{
    if (!strcmp(B->name, "q")) {
        for (int64_t i = 0; i < n; i++) {
            const int64_t e = i / B->cols, c = i % B->cols;
            unsigned m = (unsigned)(c % 8);
            if (e == 15 && m == 7) m = 6;
            ((uint8_t *)ptr)[i] = (uint8_t)((c / 8 % 2) << 7 | e << 3 | m);
        }
    } else if (!strcmp(B->name, "q_scales")) {
        for (int64_t e = 0; e < n; e++) ((float *)ptr)[e] = ldexpf(1.0f, 7 - (int)e);
    }
}

START_TEST(fp8_every_code)
{
    dsmlp_ctx *ctx = tu_ctx();
    for (int v = 0; v < 2; v++) {
        const dsmlp_dtype dt = v ? DSMLP_BF16 : DSMLP_F16;
        dsmlp_graph *g;
        dsmlp_value x, q, s, w, y;
        TU_OK(ctx, dsmlp_graph_create(ctx, "every_e4m3", &g));
        TU_OK(ctx, dsmlp_input(g, "x", dt, 256, &x));
        TU_OK(ctx, dsmlp_param_matrix(g, "q", DSMLP_FP8_E4M3, 16, 256, DSMLP_LAYOUT_OUT_IN, &q));
        TU_OK(ctx, dsmlp_param_vector(g, "q_scales", DSMLP_F32, 16, &s));
        TU_OK(ctx, dsmlp_dequant(g, q, s, 16, dt, &w));
        TU_OK(ctx, dsmlp_matmul(g, x, w, &y));
        TU_OK(ctx, dsmlp_output(g, "out", y));
        sim_stream = 0, sim_fill = fill_every_e4m3;
        const int deq = stream_dequants;
        simulate(ctx, &g, 1, 3, "out", v ? "every e4m3 code, bf16" : "every e4m3 code, f16");
        sim_fill = NULL;
        ck_assert_int_eq(stream_dequants, deq);
        dsmlp_graph_free(g);
    }
    dsmlp_ctx_free(ctx);
}
END_TEST

int main(void)
{
    if (system("g++ --version > /dev/null 2>&1") != 0) {
        printf("g++ not found: host simulation skipped\n");
        return TU_SKIP;
    }
    Suite *s = suite_create("quant_sim");
    TCase *tc = tcase_create("sim");
    tcase_set_timeout(tc, 900);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, quant_main_route);
    tcase_add_test(tc, fp8_every_code);
    tcase_add_test(tc, quant_stream_route);
    tcase_add_test(tc, quant_tall_ring);
    tcase_add_test(tc, quant_decode_gemv);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
