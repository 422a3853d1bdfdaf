/*
** test_gpu_quant.c — quantized weights on the GPU (issue 10): int8 and fp8
** e4m3 weights x every scale layout (DeepSpeed groups, extra grouping, gate
** scales, per channel; f32 and f16 scales) x gated / non-gated blocks x
** T in {1, 2, 7, 16, 64, 128, 1000}, each T <= 128 on both routes (the
** weight-streaming kernels converting in registers, and the main steps'
** dequant kernel + GEMM), T = 1000 on the main route, against the CPU
** reference of the quantized graph (f16 / bf16 tolerance). The weights come
** from quantize at load (dsmlp_mlp_quantize of random float weights).
** A second test reports the quantized block's error against the unquantized
** block (random and heavy-tailed weights, LLaMA-3-8B and GPT-J sized), the
** numbers of docs/quant.md. A third runs the main route with the
** mixed-input GEMM kernels at every T (mixed_gemm = 2: both GEMMs read the
** codes themselves, no dequantized copy) on every layout, at T = 1, 129 and
** 1000 (an almost empty token tile, a partial one, four tiles). Skips (77)
** without a GPU.
*/
#include "gpu_case.h"

typedef struct qlayout {
    const char *name;
    dsmlp_dtype qt, st;
    int64_t     groups;
    int         per_channel, extra, gate;   /* gate: gated blocks only */
} qlayout;

static const qlayout layouts[] = {
    {"int8 groups=8", DSMLP_I8, DSMLP_F32, 8, 0, 0, 0},
    {"int8 groups=4 x2 extra", DSMLP_I8, DSMLP_F32, 4, 0, 1, 0},
    {"int8 groups=8 f16 scales", DSMLP_I8, DSMLP_F16, 8, 0, 0, 0},
    {"int8 per-channel", DSMLP_I8, DSMLP_F32, 1, 1, 0, 0},
    {"int8 per-channel f16 scales", DSMLP_I8, DSMLP_F16, 1, 1, 0, 0},
    {"int8 groups=8 gate scales", DSMLP_I8, DSMLP_F32, 8, 0, 0, 1},
    {"fp8 per-channel", DSMLP_FP8_E4M3, DSMLP_F32, 1, 1, 0, 0},
    {"fp8 per-channel f16 scales", DSMLP_FP8_E4M3, DSMLP_F16, 1, 1, 0, 0},
    {"fp8 groups=8", DSMLP_FP8_E4M3, DSMLP_F32, 8, 0, 0, 0},
    {"fp8 groups=4 x2 extra", DSMLP_FP8_E4M3, DSMLP_F32, 4, 0, 1, 0},
    {"fp8 groups=8 gate scales", DSMLP_FP8_E4M3, DSMLP_F32, 8, 0, 0, 1},
};
static const int nlayouts = (int)(sizeof layouts / sizeof *layouts);

/* GPT-2-like GELU f16 (H 1024) or LLaMA-like SwiGLU bf16 (H 1024, I 2816). */
static void config(const qlayout *q, int gated, int64_t H, int64_t I, dsmlp_mlp_config *c)
{
    dsmlp_mlp_config_default(c);
    c->hidden = H, c->intermediate = I, c->epsilon = 1e-5;
    c->dtype = gated ? DSMLP_BF16 : DSMLP_F16;
    c->activation = gated ? DSMLP_MLP_GATED_SILU : DSMLP_MLP_GELU;
    c->norm = gated ? DSMLP_NORM_RMSNORM : DSMLP_NORM_LAYERNORM;
    c->attn_bias = c->bias1 = c->bias2 = c->norm_bias = !gated;
    c->int8_weights = 1, c->quant_dtype = q->qt, c->quant_scale_dtype = q->st, c->int8_groups = q->groups;
    c->quant_per_channel = q->per_channel, c->quant_extra_grouping = q->extra, c->quant_gate_scales = q->gate;
}

/* Quantize at load: random float weights (heavy: 0.5% of them 20x larger),
** dsmlp_mlp_quantize into the case's w1/w2 and scales, uploaded. The float
** weights ([out,in] f32) are kept in wf[0..1] for the unquantized block. */
static void load_weights(gu_case *c, const dsmlp_mlp_config *cfg, int heavy, float *wf[2])
{
    static const char *const names[2][2] = {{"w1", "w1_scales"}, {"w2", "w2_scales"}};
    for (int w = 0; w < 2; w++) {
        gu_tensor *q = gu_find(c, names[w][0]), *s = gu_find(c, names[w][1]);
        ck_assert(q && s);
        int64_t n = q->rows * q->cols;
        float *f = malloc((size_t)n * sizeof *f);
        ck_assert_ptr_nonnull(f);
        gu_fill(DSMLP_F32, f, n, 1.0 / sqrt((double)q->cols), 0);
        if (heavy)
            for (int64_t i = 0; i < n; i += 199) f[i] *= 20;
        TU_OK(c->ctx, dsmlp_mlp_quantize(c->ctx, cfg, names[w][0], f, DSMLP_F32, DSMLP_LAYOUT_OUT_IN, q->host, s->host));
        TU_OK(c->ctx, dsmlp_upload(c->pl, q->name, q->host, (size_t)n * dsmlp_dtype_size(q->dtype)));
        TU_OK(c->ctx, dsmlp_upload(c->pl, s->name, s->host, (size_t)(s->rows * s->cols) * dsmlp_dtype_size(s->dtype)));
        if (wf) wf[w] = f;
        else free(f);
    }
}

static const int64_t Ts[] = {1, 2, 7, 16, 64, 128, 1000};

static void run_layout(dsmlp_ctx *ctx, gu_tally *ty, const qlayout *q, int gated, int fp8_stream)
{
    dsmlp_mlp_config cfg;
    config(q, gated, 1024, gated ? 2816 : 4096, &cfg);
    char desc[100];
    snprintf(desc, sizeof desc, "%s %s", gated ? "swiglu bf16" : "gelu f16", q->name);
    gu_case c;
    dsmlp_status st = gu_case_open(&c, ctx, &cfg, 1000, desc);
    ck_assert_msg(st == DSMLP_OK, "%s: %s", desc, dsmlp_last_error(ctx));
    load_weights(&c, &cfg, 0, NULL);
    for (size_t i = 0; i < sizeof Ts / sizeof *Ts; i++) {
        for (int route = Ts[i] <= 128 ? 1 : 0; route >= 0; route--) {
            if (Ts[i] <= 128) {
                st = dsmlp_plan_set_route(c.pl, Ts[i], route, -1, 0);
                if (st != DSMLP_OK && route == 1 && q->qt == DSMLP_FP8_E4M3 && !fp8_stream) continue;   /* < sm_89 */
                ck_assert_msg(st == DSMLP_OK, "%s T=%lld route %d: %s", desc, (long long)Ts[i], route,
                              dsmlp_last_error(ctx));
            }
            double err = gu_case_check(&c, Ts[i], &st);
            int ok = st == DSMLP_OK && err <= gu_tol(c.dtype);
            char d[140];
            snprintf(d, sizeof d, "%s [%s]", desc, route ? "stream" : "main");
            gu_tally_add(ty, c.dtype, d, Ts[i], err, ok);
            printf("%s %-46s T=%-5lld err %.3e%s%s\n", ok ? "ok  " : "FAIL", d, (long long)Ts[i], err,
                   st ? " run: " : "", st ? dsmlp_last_error(ctx) : "");
        }
    }
    fflush(stdout);
    gu_case_close(&c);
}

static int fp8_stream_arch(dsmlp_ctx *ctx)
{
    const char *a = dsmlp_device_arch(ctx);
    return a && atoi(a + 3) >= 89;
}

/* error_vs_unquantized's layouts: int8 groups, int8 per channel, fp8 per channel, fp8 groups */
static const int error_layouts[] = {0, 3, 6, 8};

/* Each test compiles only what it runs, so a case run alone (CK_RUN_CASE) compiles no other case's blocks; what an
** earlier test of the same run compiled comes from the disk store. */
static void precompile_layouts(dsmlp_ctx *ctx)
{
    dsmlp_mlp_config cfg[32];
    int n = 0;
    for (int g = 0; g < 2; g++)
        for (int k = 0; k < nlayouts; k++)
            if (g || !layouts[k].gate) config(&layouts[k], g, 1024, g ? 2816 : 4096, &cfg[n++]);
    printf("precompiled %d distinct kernels\n", gu_precompile(ctx, cfg, n, 1000));
}

/* error_vs_unquantized's and small_T_heuristic's 4096-wide blocks, at their max_tokens */
static void precompile_blocks(dsmlp_ctx *ctx)
{
    dsmlp_mlp_config cfg[8];
    int n = 0;
    for (int k = 0; k < 4; k++) {
        config(&layouts[error_layouts[k]], 1, 4096, 14336, &cfg[n]);
        cfg[n].attn_bias = cfg[n].bias1 = cfg[n].bias2 = cfg[n].norm_bias = 0, n++;
        config(&layouts[error_layouts[k]], 0, 4096, 16384, &cfg[n]);
        cfg[n].attn_bias = cfg[n].bias1 = cfg[n].bias2 = cfg[n].norm_bias = 0, n++;
    }
    printf("precompiled %d distinct kernels\n", gu_precompile(ctx, cfg, n, 16));
}

/* Every layout x gated / non-gated x T, both routes, against the reference of the quantized graph. */
START_TEST(every_layout)
{
    dsmlp_ctx *ctx = tu_ctx();
    dsmlp_reference_set_threads(ctx, gu_cores());
    precompile_layouts(ctx);
    int fp8s = fp8_stream_arch(ctx);
    if (!fp8s) printf("note: %s has no e4m3 conversion: fp8 runs on the main route only\n", dsmlp_device_arch(ctx));
    gu_tally ty = {0};
    for (int g = 0; g < 2; g++)
        for (int k = 0; k < nlayouts; k++)
            if (g || !layouts[k].gate) run_layout(ctx, &ty, &layouts[k], g, fp8s);
    gu_tally_print(&ty, "quantized weights: int8/fp8 x scale layouts x gated x T x routes", ctx);
    ck_assert_msg(ty.failed == 0, "%d of %d runs failed", ty.failed, ty.cases);
    dsmlp_ctx_free(ctx);
}
END_TEST

/* The mixed-input kernels at every T (mixed_gemm = 2) on the main route: each of the plan's two GEMMs has one (the
** explanation says so), the dequant steps are skipped, and the result matches the quantized graph's reference. */
/* T = 2, 64: the 128-token kernels, one tile, k split over clusters of 2-8; 129, 300: two and three 128-token tiles;
** 1000: four 256-token tiles, the second GEMM split in 4 (hidden 1024: 8 row tiles). */
static const int64_t mixed_Ts[] = {1, 2, 64, 129, 300, 1000};
static const size_t nmixed_Ts = sizeof mixed_Ts / sizeof *mixed_Ts;

static void run_mixed(dsmlp_ctx *ctx, gu_tally *ty, const qlayout *q, int gated, int64_t H, int64_t I, const int64_t *Ts,
                      size_t nT)
{
    dsmlp_mlp_config cfg;
    config(q, gated, H, I, &cfg);
    char desc[100];
    snprintf(desc, sizeof desc, "%s %s H=%lld I=%lld [mixed]", gated ? "swiglu bf16" : "gelu f16", q->name, (long long)H,
             (long long)I);
    gu_case c;
    dsmlp_status st = gu_case_open(&c, ctx, &cfg, 1000, desc);
    ck_assert_msg(st == DSMLP_OK, "%s: %s", desc, dsmlp_last_error(ctx));
    char *text = NULL;
    TU_OK(ctx, dsmlp_plan_explain(c.pl, &text));
    int variants = 0;
    for (const char *s = text; (s = strstr(s, "mixed-input variant")); s++) variants++;
    ck_assert_msg(variants == 2, "%s: %d mixed-input variants in the plan, want 2:\n%s", desc, variants, text);
    ck_assert_msg(!gated == !strstr(text, "gated: its kernels also apply the gated step"),
                  "%s: the first GEMM's mixed-input kernels %s apply the gating:\n%s", desc, gated ? "do not" : "wrongly", text);
    free(text);
    load_weights(&c, &cfg, 0, NULL);
    for (size_t i = 0; i < nT; i++) {
        if (Ts[i] <= 128) TU_OK(ctx, dsmlp_plan_set_route(c.pl, Ts[i], 0, -1, 0));
        double err = gu_case_check(&c, Ts[i], &st);
        int ok = st == DSMLP_OK && err <= gu_tol(c.dtype);
        gu_tally_add(ty, c.dtype, desc, Ts[i], err, ok);
        printf("%s %-62s T=%-5lld err %.3e%s%s\n", ok ? "ok  " : "FAIL", desc, (long long)Ts[i], err,
               st ? " run: " : "", st ? dsmlp_last_error(ctx) : "");
    }
    fflush(stdout);
    if (dsmlp_ctx_get_options(ctx)->mixed_two_groups == 2) {   /* forced: the second GEMM's k (2048 or more) split so */
        TU_OK(ctx, dsmlp_plan_route_text(c.pl, &text));
        ck_assert_msg(gu_count(text, "two groups of clusters") > 0, "%s: no k split in two groups:\n%s", desc, text);
        free(text);
    }
    if (dsmlp_ctx_get_options(ctx)->mixed_two_groups != 2) {   /* every GEMM here has tiles for half the SMs or fewer */
        const int serial = dsmlp_ctx_get_options(ctx)->mixed_serial_split;
        TU_OK(ctx, dsmlp_plan_route_text(c.pl, &text));
        ck_assert_msg((gu_count(text, "no clusters, the tile's last block sums") > 0) == !!serial,
                      "%s: a k split without clusters %s:\n%s", desc, serial ? "missing" : "with the option 0", text);
        free(text);
    }
    gu_case_close(&c);
}

/* The layouts the one-a-SM twins run with: int8 and fp8, each with and without gate scales (gated / ungated). */
static int one_layout(int k)
{
    return k == 0 || k == 5 || k == 6 || k == 10;
}

/* The mixed case's blocks (the quant case's precompile also builds the weight-streaming route's kernels, which this
** case never runs): every layout at hidden 1024, the I = 2880 gated shape
** and the hidden-5120 one, at max_tokens 1000, with the context's stream_max_tokens = 0 (no weight-streaming route:
** the case runs the main route only). */
static void precompile_mixed(dsmlp_ctx *ctx)
{
    dsmlp_mlp_config cfg[3 * 16];
    int n = 0;
    for (int k = 0; k < nlayouts; k++) {
        if (!layouts[k].gate) config(&layouts[k], 0, 1024, 4096, &cfg[n++]), config(&layouts[k], 0, 5120, 2048, &cfg[n++]);
        config(&layouts[k], 1, 1024, 2816, &cfg[n++]);
        if (layouts[k].gate) config(&layouts[k], 1, 1024, 2880, &cfg[n++]);
        config(&layouts[k], 1, 2048, 2816, &cfg[n++]);
    }
    for (int k = 0; k < nlayouts; k++)   /* the one-a-SM twins' shapes (mixed_every_layout) */
        if (one_layout(k)) config(&layouts[k], layouts[k].gate, 1024, layouts[k].gate ? 8192 : 16384, &cfg[n++]);
    printf("precompiled %d distinct kernels\n", gu_precompile(ctx, cfg, n, 1000));
}

START_TEST(mixed_every_layout)
{
    dsmlp_ctx *ctx = gu_ctx_wgmma_pinned("the mixed-input GEMM", 0);
    if (!ctx) return;
    precompile_mixed(ctx);
    gu_tally ty = {0};
    for (int g = 0; g < 2; g++)
        for (int k = 0; k < nlayouts; k++)
            if (g || !layouts[k].gate) run_mixed(ctx, &ty, &layouts[k], g, 1024, g ? 2816 : 4096, mixed_Ts, nmixed_Ts);
    /* I = 2880: the second GEMM's k is a multiple of 64, not of 128, so its narrow blocks (T = 2, 33) copy 64 k per
    ** stage with the 64-byte swizzle while the first GEMM's copy 128 (test_plan mixed_gated) */
    /* The one-a-SM twins of the 64-, 32- and 16-token code kernels: a first GEMM of 128 row tiles (I 16384, or gated
    ** I 8192: [up | gate] 16384 rows), which they serve at T = 3..64 on a card of 128-170 SMs (H100, H200: test_plan
    ** mixed_one_rule); elsewhere the two-a-SM kernels run these T again. */
    static const int64_t one_Ts[] = {3, 17, 33, 64};
    for (int k = 0; k < nlayouts; k++)
        if (one_layout(k))
            run_mixed(ctx, &ty, &layouts[k], layouts[k].gate, 1024, layouts[k].gate ? 8192 : 16384, one_Ts, sizeof one_Ts / sizeof *one_Ts);
    static const int64_t bk_Ts[] = {2, 33, 100};
    for (int k = 0; k < nlayouts; k++)
        if (layouts[k].gate) run_mixed(ctx, &ty, &layouts[k], 1, 1024, 2880, bk_Ts, sizeof bk_Ts / sizeof *bk_Ts);
    /* Splits other than powers of two: hidden 5120 = 40 row tiles for the second GEMM, whose k (2048, 32 blocks of
    ** 64) the runtime splits in 3 on a 132-SM card at T = 200 (256-token blocks, one per SM: 40 x 4 > 132); uneven k
    ** shares (10/11/11 blocks) and token slices (85/85/86 of 256). */
    static const int64_t split_Ts[] = {2, 33, 100, 200};
    for (int k = 0; k < nlayouts; k++)
        if (!layouts[k].gate) run_mixed(ctx, &ty, &layouts[k], 0, 5120, 2048, split_Ts, sizeof split_Ts / sizeof *split_Ts);
    /* Gated hidden 2048 (I 2816), every layout: the first GEMM's 44 row tiles (88 half-tiles of up and gate rows) and
    ** the second GEMM's 16, whose k (2816: 44 blocks of 64) splits unevenly over clusters of up to 5 at T <= 64 (two
    ** blocks per SM on a 132-SM card). */
    static const int64_t g2048_Ts[] = {2, 16, 33, 100};
    for (int k = 0; k < nlayouts; k++)
        run_mixed(ctx, &ty, &layouts[k], 1, 2048, 2816, g2048_Ts, sizeof g2048_Ts / sizeof *g2048_Ts);
    gu_tally_print(&ty, "mixed-input GEMMs: int8/fp8 x scale layouts x gated x T", ctx);
    ck_assert_msg(ty.failed == 0, "%d of %d runs failed", ty.failed, ty.cases);
    dsmlp_ctx_free(ctx);
}
END_TEST

/* The <= 32-token kernels' k splits in clusters (mixed_serial_split = 0; the mixed case runs them without, the
** default): both GEMMs at T = 1, 2, 16, 17 and 32 (8 and 32 row tiles, clusters of up to 8), gated and not, and the
** hidden-5120 block (40 row tiles). */
START_TEST(mixed_clusters)
{
    dsmlp_ctx *ctx = gu_ctx_wgmma_pinned("the mixed-input GEMM in clusters", 2);
    if (!ctx) return;
    precompile_mixed(ctx);
    gu_tally ty = {0};
    static const int64_t Ts[] = {1, 2, 16, 17, 32};
    for (int g = 0; g < 2; g++)
        for (int k = 0; k < nlayouts; k++)
            if (g || !layouts[k].gate) run_mixed(ctx, &ty, &layouts[k], g, 1024, g ? 2816 : 4096, Ts, sizeof Ts / sizeof *Ts);
    for (int k = 0; k < nlayouts; k++)
        if (!layouts[k].gate) run_mixed(ctx, &ty, &layouts[k], 0, 5120, 2048, Ts, sizeof Ts / sizeof *Ts);
    gu_tally_print(&ty, "mixed-input GEMMs, k splits in clusters: int8/fp8 x scale layouts x gated x T", ctx);
    ck_assert_msg(ty.failed == 0, "%d of %d runs failed", ty.failed, ty.cases);
    dsmlp_ctx_free(ctx);
}
END_TEST

/* The k splits in two groups of clusters (the first group hands its sums to the second through global memory) wherever
** they fit (mixed_two_groups = 2; the rule takes them only where clusters of the larger split do not all fit, e.g.
** T = 1000 above): every kernel width (T = 2, 17, 33, 100, 129: 16 to 256 tokens, the second GEMM's 8 row tiles in
** 2 x 4 blocks), several tiles (1000), gated with uneven k shares (hidden 2048, I 2816) and 40 row tiles (hidden
** 5120: two groups of 2 at T = 33; at 200 one cluster of 3, as 4 x 40 blocks exceed 132 SMs), the splits without
** clusters off (mixed_serial_split 0). The route text must name the two groups. */
START_TEST(mixed_two_groups)
{
    dsmlp_ctx *ctx = gu_ctx_wgmma_pinned("the mixed-input GEMM in two groups", 1);
    if (!ctx) return;
    precompile_mixed(ctx);
    gu_tally ty = {0};
    static const int64_t Ts[] = {2, 17, 33, 100, 129, 1000}, g2048_Ts[] = {2, 33, 100}, h5120_Ts[] = {33, 200};
    for (int g = 0; g < 2; g++)
        for (int k = 0; k < nlayouts; k++)
            if (g || !layouts[k].gate) run_mixed(ctx, &ty, &layouts[k], g, 1024, g ? 2816 : 4096, Ts, sizeof Ts / sizeof *Ts);
    for (int k = 0; k < nlayouts; k++) {
        run_mixed(ctx, &ty, &layouts[k], 1, 2048, 2816, g2048_Ts, sizeof g2048_Ts / sizeof *g2048_Ts);
        if (!layouts[k].gate) run_mixed(ctx, &ty, &layouts[k], 0, 5120, 2048, h5120_Ts, sizeof h5120_Ts / sizeof *h5120_Ts);
    }
    gu_tally_print(&ty, "mixed-input GEMMs, k splits in two groups: int8/fp8 x scale layouts x gated x T", ctx);
    ck_assert_msg(ty.failed == 0, "%d of %d runs failed", ty.failed, ty.cases);
    dsmlp_ctx_free(ctx);
}
END_TEST

/* ‖quantized block − unquantized block‖ / ‖unquantized block‖ of the MLP's
** own output (y = out − residual terms, the part quantization changes), on
** the GPU against the CPU reference of the float block with the weights the
** quantization started from. Printed, and bounded loosely (a wrong scale
** gives O(1)). */
static void quant_error(dsmlp_ctx *ctx, const char *what, const qlayout *q, int gated, int64_t H, int64_t I, int heavy)
{
    dsmlp_mlp_config cfg;
    config(q, gated, H, I, &cfg);
    cfg.attn_bias = cfg.bias1 = cfg.bias2 = cfg.norm_bias = 0;
    gu_case c;
    TU_OK(ctx, gu_case_open(&c, ctx, &cfg, 16, what));
    float *wf[2];
    load_weights(&c, &cfg, heavy, wf);
    /* the float block: the same inputs and norm weights, the unquantized weights */
    dsmlp_mlp_config fc = cfg;
    fc.int8_weights = 0, fc.layout = DSMLP_LAYOUT_OUT_IN, fc.quant_dtype = DSMLP_I8, fc.quant_scale_dtype = DSMLP_F32;
    fc.int8_groups = 1, fc.quant_per_channel = fc.quant_extra_grouping = fc.quant_gate_scales = 0;
    dsmlp_graph *gf;
    TU_OK(ctx, dsmlp_graph_create(ctx, "float", &gf));
    TU_OK(ctx, dsmlp_mlp_build(gf, &fc));
    const int64_t T = 16;
    dsmlp_status st;
    double err_ref = gu_case_check(&c, T, &st);   /* GPU vs the quantized graph's reference */
    TU_OK(ctx, st);
    gu_tensor *o = &c.t[c.out], *res = gu_find(&c, "residual"), *in = gu_find(&c, "input");
    int64_t n = T * o->cols;
    double *yf = malloc((size_t)n * sizeof *yf), num = 0, den = 0;
    void *w1h = malloc((size_t)(H * 2 * I) * 2), *w2h = malloc((size_t)(H * I) * 2);
    int64_t n1 = gu_find(&c, "w1")->rows * H, n2 = H * I;
    for (int64_t i = 0; i < n1; i++) dsmlpB_dtype_store(cfg.dtype, w1h, i, wf[0][i]);
    for (int64_t i = 0; i < n2; i++) dsmlpB_dtype_store(cfg.dtype, w2h, i, wf[1][i]);
    dsmlp_host_tensor b[8];
    int nb = 0;
    for (int i = 0; i < c.n; i++) {
        gu_tensor *t = &c.t[i];
        if (t->op == DSMLP_OP_OUTPUT || strstr(t->name, "_scales")) continue;
        void *data = !strcmp(t->name, "w1") ? w1h : !strcmp(t->name, "w2") ? w2h : t->host;
        b[nb++] = (dsmlp_host_tensor){t->name, !strcmp(t->name, "w1") || !strcmp(t->name, "w2") ? cfg.dtype : t->dtype,
                                      data};
    }
    b[nb++] = (dsmlp_host_tensor){"out", DSMLP_F64, yf};
    TU_OK(ctx, dsmlp_reference_run_f64(gf, T, b, nb));
    for (int64_t i = 0; i < n; i++) {   /* the MLP's part: out − (residual + input) (pre-LN, no biases) */
        double skip = dsmlpB_dtype_load(res->dtype, res->host, i) + dsmlpB_dtype_load(in->dtype, in->host, i);
        double got = dsmlpB_dtype_load(o->dtype, c.got, i) - skip, want = yf[i] - skip;
        num += (got - want) * (got - want), den += want * want;
    }
    double e = sqrt(num / den);
    printf("%-10s %-30s %-12s T=%lld: vs unquantized block %.3e (MLP output y), vs quantized reference %.3e\n", what,
           q->name, heavy ? "heavy-tailed" : "random", (long long)T, e, err_ref);
    ck_assert_msg(err_ref <= gu_tol(c.dtype), "%s %s: %g vs the quantized graph's reference", what, q->name, err_ref);
    ck_assert_msg(e < 0.25, "%s %s: quantization error %g", what, q->name, e);
    free(yf), free(w1h), free(w2h), free(wf[0]), free(wf[1]);
    dsmlp_graph_free(gf);
    gu_case_close(&c);
}

START_TEST(error_vs_unquantized)
{
    dsmlp_ctx *ctx = tu_ctx();
    dsmlp_reference_set_threads(ctx, gu_cores());
    precompile_blocks(ctx);
    for (int heavy = 0; heavy < 2; heavy++)
        for (int k = 0; k < 4; k++) {
            quant_error(ctx, "llama3-8b", &layouts[error_layouts[k]], 1, 4096, 14336, heavy);
            quant_error(ctx, "gpt-j", &layouts[error_layouts[k]], 0, 4096, 16384, heavy);
        }
    dsmlp_ctx_free(ctx);
}
END_TEST

/* The heuristic as loaded at T <= 8 (the bucket of the decode rings): the main route's mixed-input GEMMs at every T
** (int8 and fp8, T = 1 too, before the decode GEMV) where they serve every T to 8 (sm_90, a 4096-wide block), also
** in a decode plan (max_tokens 1); the route text says so, and each T computes the block without
** dsmlp_plan_set_route. */
START_TEST(small_T_heuristic)
{
    dsmlp_ctx *ctx = tu_ctx();
    dsmlp_reference_set_threads(ctx, gu_cores());
    precompile_blocks(ctx);
    const char *arch = dsmlp_device_arch(ctx);
    const int sm90 = arch && !strncmp(arch, "sm_90", 5);
    static const int64_t Ts[] = {1, 2, 3, 4, 8};
    for (int k = 0; k < 4; k++) {
        const qlayout *q = &layouts[error_layouts[k]];
        dsmlp_mlp_config cfg;
        config(q, 0, 4096, 16384, &cfg);
        cfg.attn_bias = cfg.bias1 = cfg.bias2 = cfg.norm_bias = 0;   /* error_vs_unquantized's blocks */
        gu_case c;
        TU_OK(ctx, gu_case_open(&c, ctx, &cfg, 16, q->name));
        load_weights(&c, &cfg, 0, NULL);
        char *text = NULL;
        TU_OK(ctx, dsmlp_plan_route_text(c.pl, &text));
        char want[80];
        snprintf(want, sizeof want, "T 1..8: main steps");
        if (sm90) ck_assert_msg(strstr(text, want) != NULL, "%s: want \"%s\" in\n%s", q->name, want, text);
        else printf("note: %s: no mixed-input GEMMs before sm_90; the route text is not checked\n", arch ? arch : "?");
        dsmlp_free(text);
        for (size_t i = 0; i < sizeof Ts / sizeof *Ts; i++) {
            dsmlp_status st;
            const double err = gu_case_check(&c, Ts[i], &st);
            printf("%s %-30s as loaded T=%lld err %.3e\n", st == DSMLP_OK && err <= gu_tol(c.dtype) ? "ok  " : "FAIL",
                   q->name, (long long)Ts[i], err);
            ck_assert_msg(st == DSMLP_OK && err <= gu_tol(c.dtype), "%s T=%lld: %s, error %g", q->name, (long long)Ts[i],
                          dsmlp_last_error(ctx), err);
        }
        gu_case_close(&c);
        TU_OK(ctx, gu_case_open(&c, ctx, &cfg, 1, q->name));   /* the decode plan */
        load_weights(&c, &cfg, 0, NULL);
        TU_OK(ctx, dsmlp_plan_route_text(c.pl, &text));
        if (sm90) ck_assert_msg(strstr(text, "T 1..1: main steps") != NULL, "%s, max_tokens 1: want the main steps in\n%s",
                                q->name, text);
        dsmlp_free(text);
        dsmlp_status st;
        const double err = gu_case_check(&c, 1, &st);
        printf("%s %-30s max_tokens 1, T=1 err %.3e\n", st == DSMLP_OK && err <= gu_tol(c.dtype) ? "ok  " : "FAIL", q->name,
               err);
        ck_assert_msg(st == DSMLP_OK && err <= gu_tol(c.dtype), "%s max_tokens 1: %s, error %g", q->name,
                      dsmlp_last_error(ctx), err);
        gu_case_close(&c);
    }
    dsmlp_ctx_free(ctx);
}
END_TEST

static Suite *make(void)
{
    Suite *s = suite_create("gpu_quant");
    TCase *tc = tcase_create("quant");
    tcase_set_timeout(tc, 1800);
    tcase_add_test(tc, every_layout);
    suite_add_tcase(s, tc);
    TCase *te = tcase_create("error");   /* CK_RUN_CASE=error: the quantization error against the f16 / bf16 block */
    tcase_set_timeout(te, 900);
    tcase_add_test(te, error_vs_unquantized);
    suite_add_tcase(s, te);
    TCase *th = tcase_create("heuristic");   /* CK_RUN_CASE=heuristic: the small-T route as loaded */
    tcase_set_timeout(th, 600);
    tcase_add_test(th, small_T_heuristic);
    suite_add_tcase(s, th);
    TCase *mx = tcase_create("mixed");   /* CK_RUN_CASE=mixed runs the mixed-input GEMMs alone */
    tcase_set_timeout(mx, 1800);
    tcase_add_test(mx, mixed_every_layout);
    suite_add_tcase(s, mx);
    TCase *mc = tcase_create("mixed_clusters");   /* CK_RUN_CASE=mixed_clusters */
    tcase_set_timeout(mc, 900);
    tcase_add_test(mc, mixed_clusters);
    suite_add_tcase(s, mc);
    TCase *m2 = tcase_create("mixed_two_groups");   /* CK_RUN_CASE=mixed_two_groups */
    tcase_set_timeout(m2, 900);
    tcase_add_test(m2, mixed_two_groups);
    suite_add_tcase(s, m2);
    return s;
}

int main(void)
{
    return gu_main(make, "gpu-quant");
}
