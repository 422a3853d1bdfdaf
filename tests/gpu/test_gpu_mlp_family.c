/*
** test_gpu_mlp_family.c — each model family's own block (spec §3 table) at
** H = 1232 and 4096 (I = 4·H; 11008 for LLaMA at 4096), T ∈ {1, 128, 1000};
** and int8 weights (f16, groups 1 and 8) for a LN+GELU and an RMS+gated
** block. Each run on fresh random inputs against the CPU reference.
*/
#include "gpu_case.h"
#include "compiler/plan.h"   /* PLAN_DECODE_WIDE_BUILD_T: the wide GEMVs' name tag */

typedef struct family {
    const char   *name;
    dsmlp_norm    norm;
    dsmlp_mlp_act act;
    dsmlp_dtype   dtype;
    int           pre_ln, after_attn, biases, attn_bias;
    dsmlp_layout  layout;
} family;

static const family families[] = {
    {"gpt2", DSMLP_NORM_LAYERNORM, DSMLP_MLP_GELU, DSMLP_F16, 1, 1, 1, 1, DSMLP_LAYOUT_IN_OUT},
    {"opt", DSMLP_NORM_LAYERNORM, DSMLP_MLP_RELU, DSMLP_F16, 1, 1, 1, 1, DSMLP_LAYOUT_OUT_IN},
    {"bloom", DSMLP_NORM_LAYERNORM, DSMLP_MLP_GELU, DSMLP_BF16, 1, 1, 1, 1, DSMLP_LAYOUT_IN_OUT},
    {"gpt-neox", DSMLP_NORM_LAYERNORM, DSMLP_MLP_GELU, DSMLP_F16, 1, 0, 1, 1, DSMLP_LAYOUT_OUT_IN},
    {"gpt-j", DSMLP_NORM_NONE, DSMLP_MLP_GELU, DSMLP_F16, 1, 0, 1, 0, DSMLP_LAYOUT_OUT_IN},
    {"bert", DSMLP_NORM_LAYERNORM, DSMLP_MLP_GELU, DSMLP_F32, 0, 1, 1, 1, DSMLP_LAYOUT_IN_OUT},
    {"llama", DSMLP_NORM_RMSNORM, DSMLP_MLP_GATED_SILU, DSMLP_BF16, 1, 1, 0, 0, DSMLP_LAYOUT_OUT_IN},
};

static void family_config(const family *f, int64_t H, dsmlp_mlp_config *c)
{
    dsmlp_mlp_config_default(c);
    c->hidden = H;
    c->intermediate = (!strcmp(f->name, "llama") && H == 4096) ? 11008 : 4 * H;
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
}

static void run_case(dsmlp_ctx *ctx, gu_tally *ty, const dsmlp_mlp_config *cfg, const char *desc,
                     const int64_t *Ts, int nT, int64_t max_tokens)
{
    gu_case c;
    dsmlp_status s = gu_case_open(&c, ctx, cfg, max_tokens, desc);
    if (s != DSMLP_OK) {
        printf("FAIL %-44s compile: %s: %s\n", desc, dsmlp_status_name(s), dsmlp_last_error(ctx));
        for (int t = 0; t < nT; t++) gu_tally_add(ty, cfg->dtype, desc, Ts[t], INFINITY, 0);
        gu_case_close(&c);
        return;
    }
    for (int t = 0; t < nT; t++) {
        double err = gu_case_check(&c, Ts[t], &s);
        int ok = s == DSMLP_OK && err <= gu_tol(c.dtype);
        gu_tally_add(ty, c.dtype, desc, Ts[t], err, ok);
        printf("%s %-44s T=%-5lld err %.3e%s%s\n", ok ? "ok  " : "FAIL", desc, (long long)Ts[t], err,
               s ? " run: " : "", s ? dsmlp_last_error(ctx) : "");
        fflush(stdout);
    }
    gu_case_close(&c);
}

START_TEST(families_at_size)
{
    dsmlp_ctx *ctx = tu_ctx();
    dsmlp_reference_set_threads(ctx, gu_cores());
    static const int64_t Hs[] = {1232, 4096}, Ts[] = {1, 128, 1000};
    gu_tally ty = {0};
    for (size_t f = 0; f < sizeof families / sizeof *families; f++)
        for (int h = 0; h < 2; h++) {
            dsmlp_mlp_config cfg;
            family_config(&families[f], Hs[h], &cfg);
            char desc[128];
            snprintf(desc, sizeof desc, "%s %s H=%lld I=%lld", families[f].name, dsmlp_dtype_name(cfg.dtype),
                     (long long)cfg.hidden, (long long)cfg.intermediate);
            run_case(ctx, &ty, &cfg, desc, Ts, 3, 1024);
        }
    gu_tally_print(&ty, "model families H=1232/4096", ctx);
    ck_assert_msg(ty.failed == 0, "%d of %d cases failed", ty.failed, ty.cases);
    dsmlp_ctx_free(ctx);
}
END_TEST

START_TEST(int8_weights)
{
    dsmlp_ctx *ctx = tu_ctx();
    dsmlp_reference_set_threads(ctx, gu_cores());
    static const int64_t Ts[] = {1, 7, 128};
    gu_tally ty = {0};
    for (int kind = 0; kind < 2; kind++)
        for (int groups = 1; groups <= 8; groups *= 8) {
            dsmlp_mlp_config cfg;
            family_config(&families[kind ? 6 : 0], 1024, &cfg);
            cfg.dtype = DSMLP_F16;
            cfg.int8_weights = 1;
            cfg.int8_groups = groups;
            cfg.layout = DSMLP_LAYOUT_OUT_IN;
            char desc[128];
            snprintf(desc, sizeof desc, "int8 %s groups=%d H=1024", kind ? "RMS+GATED_SILU" : "LN+GELU", groups);
            run_case(ctx, &ty, &cfg, desc, Ts, 3, 128);
        }
    gu_tally_print(&ty, "int8 weights (f16 activations)", ctx);
    ck_assert_msg(ty.failed == 0, "%d of %d cases failed", ty.failed, ty.cases);
    dsmlp_ctx_free(ctx);
}
END_TEST

/* Activations cuBLASLt has no epilogue for (erf-GELU, SiLU): the decode GEMV (T = 1), the mixed-input kernels on int8
** codes and the wgmma kernels on float weights apply the bias and activation in their epilogue where they serve
** (the activation kernel is skipped there), cuBLASLt + the activation kernel elsewhere. */
START_TEST(act_epilogues)
{
    dsmlp_ctx *ctx = tu_ctx();
    dsmlp_reference_set_threads(ctx, gu_cores());
    static const struct {
        const char *desc;
        int family, int8, groups;
        dsmlp_mlp_act act;
        dsmlp_dtype dtype;
        int64_t H, I;
        dsmlp_layout layout;
        int64_t Ts[6];
    } cases[] = {
        {"bert erf f16 [in,out] H=1024", 5, 0, 1, DSMLP_MLP_GELU_ERF, DSMLP_F16, 1024, 4096, DSMLP_LAYOUT_IN_OUT, {1, 2, 7, 64, 1000}},
        {"bert erf f16 [in,out] H=4096 (wgmma)", 5, 0, 1, DSMLP_MLP_GELU_ERF, DSMLP_F16, 4096, 8192, DSMLP_LAYOUT_IN_OUT, {1, 100, 128}},
        {"neox erf int8 f16 groups=8", 3, 1, 8, DSMLP_MLP_GELU_ERF, DSMLP_F16, 1024, 4096, DSMLP_LAYOUT_OUT_IN, {1, 2, 16, 64, 128, 1000}},
        {"silu int8 bf16 no biases", 6, 1, 1, DSMLP_MLP_SILU, DSMLP_BF16, 1024, 4096, DSMLP_LAYOUT_OUT_IN, {1, 7, 128}},
        {"silu bf16 [out,in] no biases", 6, 0, 1, DSMLP_MLP_SILU, DSMLP_BF16, 1024, 2816, DSMLP_LAYOUT_OUT_IN, {1, 64}},
        /* 16384 rows: both GEMMs on the wgmma kernels at T = 3..64 where the card's DRAM rate is under 4 TB/s
        ** (PLAN_FLOAT_PAIR), the first applying the activation step */
        {"neox erf f16 [out,in] H=2048 I=16384 (pair)", 3, 0, 1, DSMLP_MLP_GELU_ERF, DSMLP_F16, 2048, 16384, DSMLP_LAYOUT_OUT_IN, {2, 3, 17, 64}},
        {"silu bf16 [in,out] H=2048 I=16384 (pair)", 6, 0, 1, DSMLP_MLP_SILU, DSMLP_BF16, 2048, 16384, DSMLP_LAYOUT_IN_OUT, {3, 40}},
    };
    gu_tally ty = {0};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        dsmlp_mlp_config cfg;
        family_config(&families[cases[i].family], cases[i].H, &cfg);
        cfg.intermediate = cases[i].I, cfg.activation = cases[i].act, cfg.dtype = cases[i].dtype, cfg.layout = cases[i].layout;
        cfg.int8_weights = cases[i].int8, cfg.int8_groups = cases[i].groups;
        int nT = 0;
        while (nT < 6 && cases[i].Ts[nT] > 0) nT++;
        run_case(ctx, &ty, &cfg, cases[i].desc, cases[i].Ts, nT, 1024);
    }
    gu_tally_print(&ty, "erf-GELU / SiLU epilogues", ctx);
    ck_assert_msg(ty.failed == 0, "%d of %d cases failed", ty.failed, ty.cases);
    dsmlp_ctx_free(ctx);
}
END_TEST

/* A context whose plans build their decode GEMVs to decode_max_tokens (-1: auto), the reference on every core. */
static dsmlp_ctx *ctx_decode(int decode_max_tokens)
{
    dsmlp_ctx_options o;
    dsmlp_ctx_options_default(&o);
    dsmlp_ctx_options_from_env(&o);
    o.decode_max_tokens = decode_max_tokens;
    dsmlp_ctx *ctx = NULL;
    ck_assert_int_eq(dsmlp_ctx_create_with(&o, &ctx), DSMLP_OK);
    dsmlp_reference_set_threads(ctx, gu_cores());
    return ctx;
}

/* Prints the tally of a case, fails it on any failed check and frees its context. */
static void tally_done(const gu_tally *ty, const char *what, dsmlp_ctx *ctx)
{
    gu_tally_print(ty, what, ctx);
    ck_assert_msg(ty->failed == 0, "%d of %d cases failed", ty->failed, ty->cases);
    dsmlp_ctx_free(ctx);
}

/* Checks case c at each T of Ts (fresh inputs, poisoned output, against the reference), tallying and printing each. */
static void check_at(gu_case *c, const char *desc, const int64_t *Ts, size_t n, gu_tally *ty)
{
    for (size_t t = 0; t < n; t++) {
        dsmlp_status s;
        const double err = gu_case_check(c, Ts[t], &s);
        const int ok = s == DSMLP_OK && err <= gu_tol(c->dtype);
        gu_tally_add(ty, c->dtype, desc, Ts[t], err, ok);
        printf("%s %-44s T=%-5lld err %.3e%s%s\n", ok ? "ok  " : "FAIL", desc, (long long)Ts[t], err, s ? " run: " : "",
               s ? dsmlp_last_error(c->ctx) : "");
    }
}

/* [in,out] decode GEMVs that split k over blocks (a large, narrow second GEMM: emit.c gemv_io_shape), decode GEMVs
** built to T = 2 (DSMLP_DECODE_MAX_TOKENS=2's context option): f16 with an odd width (the last column block partly
** valid, 7 uneven splits), bf16 gated (8 splits), f32 (4-element slices); T = 1, 2 on the GEMVs, 3 past them, each T
** twice on one plan (the split's counters must be back at zero). */
START_TEST(gemv_split)
{
    dsmlp_ctx *ctx = ctx_decode(2);
    static const struct {
        const char *desc;
        int family;
        dsmlp_mlp_act act;
        dsmlp_dtype dtype;
        int64_t H, I;
        const char *split;   /* in the second GEMV's name */
    } cases[] = {
        {"gpt2 f16 [in,out] H=4544 I=18176", 0, DSMLP_MLP_GELU, DSMLP_F16, 4544, 18176, "_t2_s7_"},
        {"llama bf16 [in,out] H=4096 I=14336", 6, DSMLP_MLP_GATED_SILU, DSMLP_BF16, 4096, 14336, "_t2_s8_"},
        {"bert f32 [in,out] H=1024 I=8192", 5, DSMLP_MLP_GELU, DSMLP_F32, 1024, 8192, "_t2_s8_"},
    };
    static const int64_t Ts[] = {1, 2, 3, 1, 2};
    gu_tally ty = {0};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        dsmlp_mlp_config cfg;
        family_config(&families[cases[i].family], cases[i].H, &cfg);
        cfg.intermediate = cases[i].I, cfg.activation = cases[i].act, cfg.dtype = cases[i].dtype;
        cfg.layout = DSMLP_LAYOUT_IN_OUT;
        gu_case c;
        dsmlp_status s = gu_case_open(&c, ctx, &cfg, 3, cases[i].desc);
        ck_assert_msg(s == DSMLP_OK, "%s: %s", cases[i].desc, dsmlp_last_error(ctx));
        char *text = NULL;
        TU_OK(ctx, dsmlp_plan_explain(c.pl, &text));
        ck_assert_msg(strstr(text, cases[i].split) && strstr(text, "k split over the blocks along y"),
                      "%s: no decode GEMV named *%s*", cases[i].desc, cases[i].split);
        dsmlp_free(text);
        check_at(&c, cases[i].desc, Ts, sizeof Ts / sizeof *Ts, &ty);
        gu_case_close(&c);
    }
    tally_done(&ty, "k-split [in,out] decode GEMVs", ctx);
}
END_TEST

/* The second decode GEMV of a float GEMM of at least 32 MiB under the auto bound (lower.c: built for
** PLAN_DECODE_WIDE_BUILD_T tokens, serving T = 3..4, the norm step before it, the activation step inside): GELU f16
** [out,in], SwiGLU bf16 [out,in] (gating in the GEMV) and [in,out] (its second GEMV splits k), H = 4096; T = 2 on the
** first GEMVs, 3 and 4 on the wide ones, 5 past them, 3 and 4 again on the same plan (the split's counters back at
** zero). */
START_TEST(gemv_wide)
{
    dsmlp_ctx *ctx = ctx_decode(-1);
    static const struct {
        const char *desc;
        int family;
        dsmlp_mlp_act act;
        dsmlp_dtype dtype;
        int64_t I;
        dsmlp_layout layout;
    } cases[] = {
        {"gpt2 f16 [out,in] H=4096 I=16384", 0, DSMLP_MLP_GELU, DSMLP_F16, 16384, DSMLP_LAYOUT_OUT_IN},
        {"llama bf16 [out,in] H=4096 I=14336", 6, DSMLP_MLP_GATED_SILU, DSMLP_BF16, 14336, DSMLP_LAYOUT_OUT_IN},
        {"llama bf16 [in,out] H=4096 I=14336", 6, DSMLP_MLP_GATED_SILU, DSMLP_BF16, 14336, DSMLP_LAYOUT_IN_OUT},
    };
    static const int64_t Ts[] = {2, 3, 4, 5, 3, 4};
    gu_tally ty = {0};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        dsmlp_mlp_config cfg;
        family_config(&families[cases[i].family], 4096, &cfg);
        cfg.intermediate = cases[i].I, cfg.activation = cases[i].act, cfg.dtype = cases[i].dtype, cfg.layout = cases[i].layout;
        gu_case c;
        dsmlp_status s = gu_case_open(&c, ctx, &cfg, 8, cases[i].desc);
        ck_assert_msg(s == DSMLP_OK, "%s: %s", cases[i].desc, dsmlp_last_error(ctx));
        char *text = NULL;
        TU_OK(ctx, dsmlp_plan_explain(c.pl, &text));
        const char *w1 = strstr(text, "T = 3..4: decode GEMV kernel"), *w2 = w1 ? strstr(w1 + 1, "T = 3..4: decode GEMV kernel") : NULL;
        char tag[16];
        snprintf(tag, sizeof tag, "_t%d_", PLAN_DECODE_WIDE_BUILD_T);
        ck_assert_msg(w1 && w2 && strstr(w1, tag), "%s: no wide decode GEMVs for both GEMMs", cases[i].desc);
        dsmlp_free(text);
        check_at(&c, cases[i].desc, Ts, sizeof Ts / sizeof *Ts, &ty);
        gu_case_close(&c);
    }
    tally_done(&ty, "wide decode GEMVs (T = 3..4)", ctx);
}
END_TEST

static Suite *make(void)
{
    Suite *s = suite_create("gpu_mlp_family");
    TCase *tc = tcase_create("family");
    tcase_set_timeout(tc, 1200);
    tcase_add_test(tc, int8_weights);
    tcase_add_test(tc, families_at_size);
    suite_add_tcase(s, tc);
    TCase *ta = tcase_create("act");   /* CK_RUN_CASE=act runs it alone */
    tcase_set_timeout(ta, 1200);
    tcase_add_test(ta, act_epilogues);
    suite_add_tcase(s, ta);
    TCase *tg = tcase_create("gemv_split");   /* CK_RUN_CASE=gemv_split */
    tcase_set_timeout(tg, 1200);
    tcase_add_test(tg, gemv_split);
    suite_add_tcase(s, tg);
    TCase *tw = tcase_create("gemv_wide");   /* CK_RUN_CASE=gemv_wide */
    tcase_set_timeout(tw, 1200);
    tcase_add_test(tw, gemv_wide);
    suite_add_tcase(s, tw);
    return s;
}

int main(void) { return gu_main(make, "gpu-family"); }
