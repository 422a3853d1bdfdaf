/*
** test_gpu_stream.c — the weight-streaming route on the GPU, pinned with
** dsmlp_plan_set_route so it runs whatever the heuristic or a tuning record
** would pick: every T in 1..128 for two blocks (both tile variants), odd T and
** uneven grids for hidden sizes that are not multiples of 128 (896, 1232, 4544),
** both weight layouts, every activation and norm kind, int8 weights (per group
** and per channel), and two layers chained in one captured CUDA graph
** (programmatic dependent launches) against direct runs, bit for bit.
** Every run: fresh random inputs, output poisoned, CPU reference in double.
*/
#include "gpu_case.h"

typedef struct scase {
    const char   *name;
    int64_t       H, I;
    dsmlp_dtype   dt;
    dsmlp_mlp_act act;
    dsmlp_norm    norm;
    int           pre_ln, after_attn, biases;
    dsmlp_layout  layout;
    int           int8, groups;
} scase;

static void config(const scase *s, dsmlp_mlp_config *c)
{
    dsmlp_mlp_config_default(c);
    c->hidden = s->H, c->intermediate = s->I, c->dtype = s->dt, c->activation = s->act, c->norm = s->norm;
    c->pre_layer_norm = s->pre_ln, c->mlp_after_attn = s->after_attn, c->layout = s->layout;
    c->epsilon = s->norm == DSMLP_NORM_RMSNORM ? 1e-6 : 1e-5;
    c->attn_bias = c->bias1 = c->bias2 = s->biases;
    c->norm_bias = s->biases && s->norm == DSMLP_NORM_LAYERNORM;
    c->int8_weights = s->int8, c->int8_groups = s->int8 ? s->groups : 1;
}

#define STREAM_VARIANTS 6   /* route.c's register-fed tile variants per layout (the W ring ones follow) */

/* Runs case s at each T through the stream route with variant v (-1: every variant that serves T) and grid. */
static void run(dsmlp_ctx *ctx, gu_tally *ty, const scase *s, const int64_t *Ts, int nT, int variant, int grid)
{
    dsmlp_mlp_config cfg;
    config(s, &cfg);
    gu_case c;
    dsmlp_status st = gu_case_open(&c, ctx, &cfg, 128, s->name);
    ck_assert_msg(st == DSMLP_OK, "%s: %s", s->name, dsmlp_last_error(ctx));
    for (int i = 0; i < nT; i++) {
        int served = 0;
        for (int v = variant < 0 ? 0 : variant; v <= (variant < 0 ? STREAM_VARIANTS - 1 : variant); v++) {
            st = dsmlp_plan_set_route(c.pl, Ts[i], 1, v, grid);
            if (st != DSMLP_OK && variant < 0) continue;   /* that variant does not serve T */
            if (st != DSMLP_OK && v >= STREAM_VARIANTS + 2 && strstr(dsmlp_last_error(ctx), "has no variant")) {
                printf("skip %-48s T=%-4lld no persistent variant %d: %s\n", s->name, (long long)Ts[i], v, dsmlp_last_error(ctx));
                served++;
                continue;
            }
            ck_assert_msg(st == DSMLP_OK, "%s T=%lld v=%d: %s", s->name, (long long)Ts[i], v, dsmlp_last_error(ctx));
            served++;
            double err = gu_case_check(&c, Ts[i], &st);
            int ok = st == DSMLP_OK && err <= gu_tol(c.dtype);
            char d[160];
            snprintf(d, sizeof d, "%s v%d g%d", s->name, v, grid);
            gu_tally_add(ty, c.dtype, d, Ts[i], err, ok);
            if (!ok || Ts[i] % 16 == 1 || nT < 10)
                printf("%s %-48s T=%-4lld err %.3e%s%s\n", ok ? "ok  " : "FAIL", d, (long long)Ts[i], err, st ? " run: " : "",
                       st ? dsmlp_last_error(ctx) : "");
        }
        ck_assert_msg(served > 0, "%s: no variant serves T=%lld", s->name, (long long)Ts[i]);
    }
    fflush(stdout);
    gu_case_close(&c);
}

static const scase every[] = {
    {"gpt2 f16 [in,out] LN gelu H=896", 896, 3584, DSMLP_F16, DSMLP_MLP_GELU, DSMLP_NORM_LAYERNORM, 1, 1, 1, DSMLP_LAYOUT_IN_OUT, 0, 1},
    {"llama bf16 [out,in] RMS gated-silu H=1232", 1232, 3328, DSMLP_BF16, DSMLP_MLP_GATED_SILU, DSMLP_NORM_RMSNORM, 1, 1, 0, DSMLP_LAYOUT_OUT_IN, 0, 1},
};

static void precompile(dsmlp_ctx *ctx);

START_TEST(every_token_count)
{
    dsmlp_ctx *ctx = tu_ctx();
    dsmlp_reference_set_threads(ctx, gu_cores());
    precompile(ctx);
    gu_tally ty = {0};
    int64_t Ts[128];
    for (int i = 0; i < 128; i++) Ts[i] = i + 1;
    for (size_t k = 0; k < sizeof every / sizeof *every; k++) run(ctx, &ty, &every[k], Ts, 128, -1, 0);
    gu_tally_print(&ty, "stream route, T = 1..128, every variant", ctx);
    ck_assert_msg(ty.failed == 0, "%d of %d runs failed", ty.failed, ty.cases);
    dsmlp_ctx_free(ctx);
}
END_TEST

static const scase kinds[] = {
    {"opt f16 [out,in] relu H=4544", 4544, 18176, DSMLP_F16, DSMLP_MLP_RELU, DSMLP_NORM_LAYERNORM, 1, 1, 1, DSMLP_LAYOUT_OUT_IN, 0, 1},
    {"bloom bf16 [in,out] gelu H=1232", 1232, 4928, DSMLP_BF16, DSMLP_MLP_GELU, DSMLP_NORM_LAYERNORM, 1, 1, 1, DSMLP_LAYOUT_IN_OUT, 0, 1},
    {"neox f16 [out,in] parallel residual H=896", 896, 3584, DSMLP_F16, DSMLP_MLP_GELU, DSMLP_NORM_LAYERNORM, 1, 0, 1, DSMLP_LAYOUT_OUT_IN, 0, 1},
    {"gpt-j bf16 [in,out] no norm H=1232", 1232, 4928, DSMLP_BF16, DSMLP_MLP_GELU, DSMLP_NORM_NONE, 1, 0, 1, DSMLP_LAYOUT_IN_OUT, 0, 1},
    {"gated-gelu f16 [in,out] LN bias H=896", 896, 2432, DSMLP_F16, DSMLP_MLP_GATED_GELU, DSMLP_NORM_LAYERNORM, 1, 1, 1, DSMLP_LAYOUT_IN_OUT, 0, 1},
    {"llama bf16 [in,out] RMS gated-silu H=4096", 4096, 14336, DSMLP_BF16, DSMLP_MLP_GATED_SILU, DSMLP_NORM_RMSNORM, 1, 1, 0, DSMLP_LAYOUT_IN_OUT, 0, 1},
    {"bert f16 post-LN H=768", 768, 3072, DSMLP_F16, DSMLP_MLP_GELU, DSMLP_NORM_LAYERNORM, 0, 1, 1, DSMLP_LAYOUT_IN_OUT, 0, 1},
};
static const int nkinds = (int)(sizeof kinds / sizeof *kinds);

START_TEST(kinds_odd_tokens_grids)
{
    dsmlp_ctx *ctx = tu_ctx();
    dsmlp_reference_set_threads(ctx, gu_cores());
    precompile(ctx);
    gu_tally ty = {0};
    static const int64_t Ts[] = {1, 3, 17, 64, 127};
    for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
        run(ctx, &ty, &kinds[k], Ts, 5, -1, 0);
        run(ctx, &ty, &kinds[k], Ts + 1, 1, 0, 7);    /* few blocks: long stream-K ranges across tiles */
        run(ctx, &ty, &kinds[k], Ts + 2, 1, 2, 7);
        run(ctx, &ty, &kinds[k], Ts + 2, 1, 3, 1000); /* many blocks: every tile split */
    }
    gu_tally_print(&ty, "stream route, kinds x odd T x grids", ctx);
    ck_assert_msg(ty.failed == 0, "%d of %d runs failed", ty.failed, ty.cases);
    dsmlp_ctx_free(ctx);
}
END_TEST

static const scase quant[] = {
    {"int8 f16 LN gelu groups=8 H=1024", 1024, 4096, DSMLP_F16, DSMLP_MLP_GELU, DSMLP_NORM_LAYERNORM, 1, 1, 1, DSMLP_LAYOUT_OUT_IN, 1, 8},
    {"int8 bf16 RMS gated-silu groups=16 H=1232", 1232, 3328, DSMLP_BF16, DSMLP_MLP_GATED_SILU, DSMLP_NORM_RMSNORM, 1, 1, 0, DSMLP_LAYOUT_OUT_IN, 1, 16},
};
static const int nquant = (int)(sizeof quant / sizeof *quant);

START_TEST(int8_in_registers)
{
    dsmlp_ctx *ctx = tu_ctx();
    dsmlp_reference_set_threads(ctx, gu_cores());
    precompile(ctx);
    gu_tally ty = {0};
    static const int64_t Ts[] = {1, 2, 7, 16, 64, 128};
    for (size_t k = 0; k < sizeof quant / sizeof *quant; k++) {
        run(ctx, &ty, &quant[k], Ts, 6, -1, 0);
    }
    gu_tally_print(&ty, "stream route, int8 weights converted in registers", ctx);
    ck_assert_msg(ty.failed == 0, "%d of %d runs failed", ty.failed, ty.cases);
    dsmlp_ctx_free(ctx);
}
END_TEST

/* Every case's kernels compiled on all cores first (the store is shared), so the runs below hit it. */
static void precompile(dsmlp_ctx *ctx)
{
    static int done;
    if (done++) return;
    dsmlp_mlp_config cfg[32];
    int n = 0;
    for (size_t k = 0; k < sizeof every / sizeof *every; k++) config(&every[k], &cfg[n++]);
    for (int k = 0; k < nkinds; k++) config(&kinds[k], &cfg[n++]);
    for (int k = 0; k < nquant; k++) config(&quant[k], &cfg[n++]);
    printf("precompiled %d distinct kernels\n", gu_precompile(ctx, cfg, n, 128));
}

/* Two layers (same shape, own weights): layer 2 reads layer 1's output as its residual. Captured in one graph
** (programmatic dependent launches inside), replayed, and compared bit for bit with direct runs; the direct
** layer 2 against the reference given layer 1's output. */
static void chained(dsmlp_ctx *ctx, const scase *sc, const int64_t *Ts, int nT, int variant)
{
    const cuda_api *cu = gu_cu(ctx);
    const scase s = *sc;
    dsmlp_mlp_config cfg;
    config(&s, &cfg);
    gu_case a, b;
    TU_OK(ctx, gu_case_open(&a, ctx, &cfg, 128, "layer 1"));
    TU_OK(ctx, gu_case_open(&b, ctx, &cfg, 128, "layer 2"));
    for (int i = 0; i < nT; i++) {
        int64_t T = Ts[i];
        TU_OK(ctx, dsmlp_plan_set_route(a.pl, T, 1, variant, 0));
        TU_OK(ctx, dsmlp_plan_set_route(b.pl, T, 1, variant, 0));
        /* layer 2: residual = layer 1's out, input = its own attention output */
        gu_tensor *aout = &a.t[a.out], *bout = &b.t[b.out];
        TU_OK(ctx, dsmlp_bind(b.pl, "residual", (void *)(uintptr_t)aout->dev));
        gu_case_inputs(&a, T);
        gu_case_inputs(&b, T);
        size_t ob = (size_t)(T * aout->cols) * dsmlp_dtype_size(aout->dtype);
        GU_CU(cu->cuMemsetD8Async(aout->dev, 0xff, ob, a.stream));
        GU_CU(cu->cuMemsetD8Async(bout->dev, 0xff, ob, a.stream));
        TU_OK(ctx, dsmlp_run(a.pl, T, a.stream));
        TU_OK(ctx, dsmlp_run(b.pl, T, a.stream));
        GU_CU(cu->cuStreamSynchronize(a.stream));
        void *direct1 = malloc(ob), *direct2 = malloc(ob), *g1 = malloc(ob), *g2 = malloc(ob);
        GU_CU(cu->cuMemcpyDtoH(direct1, aout->dev, ob));
        GU_CU(cu->cuMemcpyDtoH(direct2, bout->dev, ob));
        /* layer 2's reference with layer 1's GPU output as its residual */
        for (int q = 0; q < b.n; q++)
            if (!strcmp(b.t[q].name, "residual")) memcpy(b.t[q].host, direct1, ob);
        gu_case_reference(&b, T);
        double err = tu_rel_error(bout->dtype, direct2, b.ref, T * bout->cols);
        printf("%s chained layer 2 (direct) T=%-4lld err %.3e\n", err <= gu_tol(bout->dtype) ? "ok  " : "FAIL",
               (long long)T, err);
        ck_assert_msg(err <= gu_tol(bout->dtype), "chained layer 2 T=%lld: error %g", (long long)T, err);
        /* the same two runs captured and replayed */
        CUgraph graph;
        CUgraphExec exec;
        GU_CU(cu->cuMemsetD8Async(aout->dev, 0xff, ob, a.stream));
        GU_CU(cu->cuMemsetD8Async(bout->dev, 0xff, ob, a.stream));
        GU_CU(cu->cuStreamBeginCapture(a.stream, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL));
        TU_OK(ctx, dsmlp_run(a.pl, T, a.stream));
        TU_OK(ctx, dsmlp_run(b.pl, T, a.stream));
        GU_CU(cu->cuStreamEndCapture(a.stream, &graph));
        GU_CU(cu->cuGraphInstantiate(&exec, graph, 0));
        for (int r = 0; r < 3; r++) GU_CU(cu->cuGraphLaunch(exec, a.stream));
        GU_CU(cu->cuStreamSynchronize(a.stream));
        GU_CU(cu->cuMemcpyDtoH(g1, aout->dev, ob));
        GU_CU(cu->cuMemcpyDtoH(g2, bout->dev, ob));
        ck_assert_msg(!memcmp(g1, direct1, ob), "T=%lld: replayed layer 1 differs from the direct run", (long long)T);
        ck_assert_msg(!memcmp(g2, direct2, ob), "T=%lld: replayed layer 2 differs from the direct run", (long long)T);
        printf("ok   chained layers in one graph (%s, variant %d) T=%-4lld: 3 replays equal the direct runs bit for bit\n",
               s.name, variant, (long long)T);
        cu->cuGraphExecDestroy(exec);
        cu->cuGraphDestroy(graph);
        free(direct1), free(direct2), free(g1), free(g2);
    }
    gu_case_close(&a);
    gu_case_close(&b);
}

START_TEST(chained_layers_in_a_graph)
{
    dsmlp_ctx *ctx = tu_ctx();
    dsmlp_reference_set_threads(ctx, gu_cores());
    precompile(ctx);
    static const int64_t Ts[] = {1, 16, 100};
    chained(ctx, &kinds[5], Ts, 3, -1);   /* LLaMA-3-8B-sized */
    dsmlp_ctx_free(ctx);
}
END_TEST

/* stream_pipe: the shared-memory W ring variants (6 and 7 after the six register-fed ones: 16 and 8 consumer
** warps; [out,in] weights, T <= 16), the persistent kernel running both GEMMs on the 8-warp ring (8; its grid is
** clamped to the resident blocks), the 8-warp ring for T <= 64 (9) and the ring with warps across tokens for
** T <= 128 (10): against the reference with several grids, int8 and float, and chained in one
** captured graph. */
static const scase ring[] = {
    {"ring int8 f16 LN gelu groups=64 H=4096", 4096, 16384, DSMLP_F16, DSMLP_MLP_GELU, DSMLP_NORM_LAYERNORM, 1, 1, 1, DSMLP_LAYOUT_OUT_IN, 1, 64},
    {"ring bf16 RMS gated-silu H=4096", 4096, 14336, DSMLP_BF16, DSMLP_MLP_GATED_SILU, DSMLP_NORM_RMSNORM, 1, 1, 0, DSMLP_LAYOUT_OUT_IN, 0, 1},
    {"ring f16 LN relu H=896", 896, 3584, DSMLP_F16, DSMLP_MLP_RELU, DSMLP_NORM_LAYERNORM, 1, 1, 1, DSMLP_LAYOUT_OUT_IN, 0, 1},
    {"ring neox f16 parallel residual H=896", 896, 3584, DSMLP_F16, DSMLP_MLP_GELU, DSMLP_NORM_LAYERNORM, 1, 0, 1, DSMLP_LAYOUT_OUT_IN, 0, 1},
    {"ring int8 bf16 RMS gated-silu groups=16 H=1024", 1024, 2816, DSMLP_BF16, DSMLP_MLP_GATED_SILU, DSMLP_NORM_RMSNORM, 1, 1, 0, DSMLP_LAYOUT_OUT_IN, 1, 16},
    {"ring int8 f16 no norm gelu groups=64 H=4096", 4096, 16384, DSMLP_F16, DSMLP_MLP_GELU, DSMLP_NORM_NONE, 1, 0, 1, DSMLP_LAYOUT_OUT_IN, 1, 64},
};

START_TEST(ring_variants)
{
    setenv("DSMLP_STREAM_PIPE", "1", 1);
    dsmlp_ctx *ctx = tu_ctx();
    dsmlp_reference_set_threads(ctx, gu_cores());
    dsmlp_mlp_config cfg[8];
    const int n = (int)(sizeof ring / sizeof *ring);
    for (int k = 0; k < n; k++) config(&ring[k], &cfg[k]);
    printf("precompiled %d distinct kernels (with the W ring variants)\n", gu_precompile(ctx, cfg, n, 128));
    gu_tally ty = {0};
    static const int64_t Ts[] = {1, 2, 3, 5, 8, 9, 13, 16};   /* the T <= 8 and T <= 16 bodies */
    for (int k = 0; k < n; k++)
        for (int v = STREAM_VARIANTS; v < STREAM_VARIANTS + 3; v++) {
            run(ctx, &ty, &ring[k], Ts, 8, v, 0);
            run(ctx, &ty, &ring[k], Ts + 2, 1, v, 7);      /* few blocks: long ranges across tiles */
            run(ctx, &ty, &ring[k], Ts + 6, 1, v, 7);
            run(ctx, &ty, &ring[k], Ts + 4, 1, v, 1000);   /* many blocks: every tile split */
            run(ctx, &ty, &ring[k], Ts + 7, 1, v, 1000);
        }
    /* the 8-warp ring for T <= 64 (variant 9: the T <= 32 body reads x from the stage and releases it after the
    ** MMAs, the T <= 64 one copies half-length row segments; with the norm as its own kernel where the block has
    ** one), every body */
    static const int64_t T64[] = {1, 8, 13, 17, 24, 32, 33, 48, 64};
    for (int k = 0; k < n; k++) {
        run(ctx, &ty, &ring[k], T64, 9, STREAM_VARIANTS + 3, 0);
        run(ctx, &ty, &ring[k], T64 + 4, 1, STREAM_VARIANTS + 3, 7);
        run(ctx, &ty, &ring[k], T64 + 5, 1, STREAM_VARIANTS + 3, 1000);
        run(ctx, &ty, &ring[k], T64 + 8, 1, STREAM_VARIANTS + 3, 1000);
    }
    /* the T <= 128 ring (variant 10: warps across tokens, the sums in registers; the norm as its own kernel), both
    ** bodies, partial token tiles, a second token warp with one live tile (65, 72), whole and split tiles */
    static const int64_t T128[] = {1, 17, 33, 40, 64, 65, 72, 100, 127, 128};
    for (int k = 0; k < n; k++) {
        run(ctx, &ty, &ring[k], T128, 10, STREAM_VARIANTS + 4, 0);
        run(ctx, &ty, &ring[k], T128 + 3, 1, STREAM_VARIANTS + 4, 7);
        run(ctx, &ty, &ring[k], T128 + 5, 1, STREAM_VARIANTS + 4, 1000);
        run(ctx, &ty, &ring[k], T128 + 9, 1, STREAM_VARIANTS + 4, 1000);
    }
    gu_tally_print(&ty, "stream route, W ring variants", ctx);
    ck_assert_msg(ty.failed == 0, "%d of %d runs failed", ty.failed, ty.cases);
    static const int64_t Tc[] = {1, 8, 16}, Tc32[] = {1, 24, 32}, Tc64[] = {33, 64}, Tc128[] = {40, 65, 128};
    chained(ctx, &ring[0], Tc128, 3, STREAM_VARIANTS + 4);
    chained(ctx, &ring[1], Tc128, 3, STREAM_VARIANTS + 4);
    chained(ctx, &ring[5], Tc32, 3, STREAM_VARIANTS + 3);
    chained(ctx, &ring[0], Tc32, 3, STREAM_VARIANTS + 3);   /* a norm kernel between ring kernels in a graph */
    chained(ctx, &ring[0], Tc64, 2, STREAM_VARIANTS + 3);
    chained(ctx, &ring[5], Tc64, 2, STREAM_VARIANTS + 3);
    chained(ctx, &ring[1], Tc, 3, STREAM_VARIANTS);
    chained(ctx, &ring[0], Tc, 3, STREAM_VARIANTS + 1);
    chained(ctx, &ring[0], Tc, 3, STREAM_VARIANTS + 2);   /* persistent: cooperative launches in a captured graph */
    chained(ctx, &ring[1], Tc, 3, STREAM_VARIANTS + 2);
    dsmlp_ctx_free(ctx);
    unsetenv("DSMLP_STREAM_PIPE");
}
END_TEST

/* Tuning: measures, stores the record, and a fresh load of the same plan picks it up from the store. */
START_TEST(tuning_record_round_trip)
{
    dsmlp_ctx *ctx = tu_ctx();
    const scase s = every[0];
    dsmlp_mlp_config cfg;
    config(&s, &cfg);
    gu_case c;
    TU_OK(ctx, gu_case_open(&c, ctx, &cfg, 128, s.name));
    TU_OK(ctx, dsmlp_plan_tune(c.pl));
    char *t1;
    TU_OK(ctx, dsmlp_plan_route_text(c.pl, &t1));
    printf("after dsmlp_plan_tune:\n%s", t1);
    ck_assert_msg(strstr(t1, "measured now") != NULL, "%s", t1);
    dsmlp_status st;
    double err = gu_case_check(&c, 5, &st);   /* whatever was picked computes the block */
    ck_assert_msg(st == DSMLP_OK && err <= gu_tol(c.dtype), "tuned run: %s, error %g", dsmlp_last_error(ctx), err);
    gu_case d;
    TU_OK(ctx, gu_case_open(&d, ctx, &cfg, 128, s.name));
    char *t2;
    TU_OK(ctx, dsmlp_plan_route_text(d.pl, &t2));
    printf("a fresh load:\n%s", t2);
    ck_assert_msg(strstr(t2, "tuning record") != NULL && strstr(t2, "ignored") == NULL, "%s", t2);
    dsmlp_free(t1), dsmlp_free(t2);
    gu_case_close(&c);
    gu_case_close(&d);
    dsmlp_ctx_free(ctx);
}
END_TEST

/* Every T = 1..maxT computes the block as the plan now picks its route (`when`: which pick). */
static void check_up_to(dsmlp_ctx *ctx, gu_case *c, int64_t maxT, const char *when)
{
    for (int64_t T = 1; T <= maxT; T++) {
        dsmlp_status st;
        const double err = gu_case_check(c, T, &st);
        ck_assert_msg(st == DSMLP_OK && err <= gu_tol(c->dtype), "%s, T = %lld: %s, error %g", when, (long long)T,
                      dsmlp_last_error(ctx), err);
    }
}

/* A plan of fewer tokens than bucket 0 holds (max_tokens 2): the heuristic streams its T <= 2 (it once judged the
** bucket at T = 8 and ran the main steps), the tuner times the route there, and both picks compute the block. */
START_TEST(small_plan_route)
{
    dsmlp_ctx *ctx = tu_ctx();
    const scase s = every[0];
    dsmlp_mlp_config cfg;
    config(&s, &cfg);
    gu_case c;
    TU_OK(ctx, gu_case_open(&c, ctx, &cfg, 2, s.name));
    char *t;
    TU_OK(ctx, dsmlp_plan_route_text(c.pl, &t));
    printf("max_tokens 2, as loaded:\n%s", t);
    ck_assert_msg(strstr(t, "T 1..2: weight-streaming route") != NULL, "%s", t);
    dsmlp_free(t);
    check_up_to(ctx, &c, 2, "as loaded");
    TU_OK(ctx, dsmlp_plan_tune(c.pl));
    TU_OK(ctx, dsmlp_plan_route_text(c.pl, &t));
    printf("max_tokens 2, tuned:\n%s", t);
    const char *m = strstr(t, "T 1..2: ");
    const char *q = m ? strstr(m, "(measured: main ") : NULL;
    double um = 0, us = 0;
    ck_assert_msg(q && sscanf(q, "(measured: main %lf us, stream %lf us)", &um, &us) == 2 && um > 0 && us > 0,
                  "bucket 0's route not timed:\n%s", t);
    dsmlp_free(t);
    check_up_to(ctx, &c, 2, "tuned");
    gu_case_close(&c);
    dsmlp_ctx_free(ctx);
}
END_TEST

static Suite *make(void)
{
    Suite *s = suite_create("gpu_stream");
    TCase *tc = tcase_create("stream");
    tcase_set_timeout(tc, 1200);
    tcase_add_test(tc, every_token_count);
    tcase_add_test(tc, kinds_odd_tokens_grids);
    tcase_add_test(tc, int8_in_registers);
    tcase_add_test(tc, chained_layers_in_a_graph);
    tcase_add_test(tc, tuning_record_round_trip);
    suite_add_tcase(s, tc);
    TCase *tr = tcase_create("ring");   /* CK_RUN_CASE=ring runs it alone */
    tcase_set_timeout(tr, 1200);
    tcase_add_test(tr, ring_variants);
    suite_add_tcase(s, tr);
    TCase *tt = tcase_create("small");   /* CK_RUN_CASE=small: plans of fewer tokens than a bucket */
    tcase_set_timeout(tt, 600);
    tcase_add_test(tt, small_plan_route);
    suite_add_tcase(s, tt);
    return s;
}

int main(void)
{
    setenv("DSMLP_STREAM_MAX_TOKENS", "128", 1);   /* every plan of this suite gets the route, float weights too */
    return gu_main(make, "gpu-stream");
}
