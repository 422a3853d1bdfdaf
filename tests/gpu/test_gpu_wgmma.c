/*
** test_gpu_wgmma.c — the wgmma kernels on f16/bf16 weights as stored
** (templates/mixed.cu with DS_QUANT 0: both operands from shared memory),
** pinned at every T (mixed_gemm = 2) on [out,in] and [in,out] blocks (the
** latter: the A operand MN-major, DS_WMN): GELU / ReLU /
** gated SiLU / gated GELU, LayerNorm / RMSNorm / none, with and without
** biases, at T from 1 to 300 (both widths, 64 and 128 tokens; split k,
** partial and several tiles), against the CPU reference in double precision (f16 / bf16
** tolerance), once as the rule splits k and once in two groups of clusters wherever they fit. Each plan must carry
** the variant on both GEMMs. And the tuner's choice between them and cuBLASLt per token
** bucket, stored and read back. Skips (77) without a GPU, notes and passes on cards before sm_90.
*/
#include "gpu_case.h"

typedef struct wcase {
    const char    *name;
    dsmlp_dtype    dt;
    dsmlp_mlp_act  act;
    dsmlp_norm     norm;
    int            bias;
    int64_t        H, I;
} wcase;

static const wcase cases[] = {
    {"gelu f16 LN bias", DSMLP_F16, DSMLP_MLP_GELU, DSMLP_NORM_LAYERNORM, 1, 1024, 4096},
    {"swiglu bf16 RMS", DSMLP_BF16, DSMLP_MLP_GATED_SILU, DSMLP_NORM_RMSNORM, 0, 1024, 2816},
    {"gated gelu f16 LN bias", DSMLP_F16, DSMLP_MLP_GATED_GELU, DSMLP_NORM_LAYERNORM, 1, 512, 1536},
    {"relu bf16 no norm bias", DSMLP_BF16, DSMLP_MLP_RELU, DSMLP_NORM_NONE, 1, 768, 3072},
};
/* 1..64: one 64-token block; 100, 128: one 128-token tile; 129, 300: two and three */
static const int64_t Ts[] = {1, 2, 3, 16, 17, 33, 64, 100, 128, 129, 300};

static void config(const wcase *w, dsmlp_layout layout, dsmlp_mlp_config *c)
{
    dsmlp_mlp_config_default(c);
    c->hidden = w->H, c->intermediate = w->I, c->dtype = w->dt, c->activation = w->act, c->norm = w->norm;
    c->layout = layout, c->epsilon = 1e-5;
    c->attn_bias = c->bias1 = c->bias2 = w->bias;
    c->norm_bias = w->bias && w->norm == DSMLP_NORM_LAYERNORM;
}

/* two_groups: k split in two groups of clusters wherever they fit (mixed_two_groups = 2), which the route text of
** each block whose second GEMM's k is 2048 or more must name */
static void every_T(int two_groups)
{
    dsmlp_ctx *ctx = gu_ctx_wgmma_pinned("the wgmma kernels on float weights", two_groups);
    if (!ctx) return;
    enum { N = sizeof cases / sizeof *cases };
    dsmlp_mlp_config cfg[2 * N];
    for (int i = 0; i < N; i++) config(&cases[i], DSMLP_LAYOUT_OUT_IN, &cfg[i]), config(&cases[i], DSMLP_LAYOUT_IN_OUT, &cfg[N + i]);
    printf("precompiled %d distinct kernels\n", gu_precompile(ctx, cfg, 2 * N, 300));
    gu_tally ty = {0};
    for (int i = 0; i < 2 * N; i++) {
        const int gated = cases[i % N].act == DSMLP_MLP_GATED_SILU || cases[i % N].act == DSMLP_MLP_GATED_GELU;
        char desc[100];
        snprintf(desc, sizeof desc, "%s H=%lld I=%lld %s", cases[i % N].name, (long long)cases[i % N].H,
                 (long long)cases[i % N].I, i < N ? "[out,in]" : "[in,out]");
        gu_case c;
        dsmlp_status st = gu_case_open(&c, ctx, &cfg[i], 300, desc);
        ck_assert_msg(st == DSMLP_OK, "%s: %s", desc, dsmlp_last_error(ctx));
        char *text = NULL;
        TU_OK(ctx, dsmlp_plan_explain(c.pl, &text));
        ck_assert_msg(gu_count(text, "wgmma variant (reads") == 2, "%s: want a wgmma variant on both GEMMs:\n%s", desc, text);
        ck_assert_msg(!gated == !strstr(text, "gated: its kernels also apply the gated step"),
                      "%s: the first GEMM's wgmma kernels %s apply the gating:\n%s", desc, gated ? "do not" : "wrongly", text);
        free(text);
        if (two_groups && cases[i % N].I >= 2048) {
            TU_OK(ctx, dsmlp_plan_route_text(c.pl, &text));
            ck_assert_msg(gu_count(text, "two groups of clusters") > 0, "%s: no k split in two groups:\n%s", desc, text);
            free(text);
        }
        for (size_t t = 0; t < sizeof Ts / sizeof *Ts; t++) {
            double err = gu_case_check(&c, Ts[t], &st);
            int ok = st == DSMLP_OK && err <= gu_tol(c.dtype);
            gu_tally_add(&ty, c.dtype, desc, Ts[t], err, ok);
            printf("%s %-50s T=%-4lld err %.3e%s%s\n", ok ? "ok  " : "FAIL", desc, (long long)Ts[t], err, st ? " run: " : "",
                   st ? dsmlp_last_error(ctx) : "");
        }
        fflush(stdout);
        gu_case_close(&c);
    }
    gu_tally_print(&ty, two_groups ? "wgmma kernels on float weights, k splits in two groups" : "wgmma kernels on float weights",
                   ctx);
    ck_assert_int_gt(ty.cases, 0);
    ck_assert_msg(ty.failed == 0, "%d of %d cases failed", ty.failed, ty.cases);
    dsmlp_ctx_free(ctx);
}

START_TEST(float_weights_every_T)
{
    every_T(0);
}
END_TEST

START_TEST(float_weights_two_groups)
{
    every_T(1);
}
END_TEST

/* How many GEMM lines of a tuned route text have cuBLASLt serving some T of their bucket, each followed by the line of
** cuBLASLt's measured candidate; -1 where one is not. */
static int lt_lines_with_candidate(const char *text)
{
    int n = 0, lt_before = 0;   /* lt_before: the line before served cuBLASLt and wants its candidate's line now */
    for (const char *l = text; *l;) {
        const char *e = strchr(l, '\n');
        const size_t len = e ? (size_t)(e - l) : strlen(l);
        char line[1024];
        snprintf(line, sizeof line, "%.*s", (int)(len < sizeof line ? len : sizeof line - 1), l);
        if (lt_before && !strstr(line, "cuBLASLt's candidate ")) return -1;
        lt_before = strstr(line, "(measured: the route ") && strstr(line, "cuBLASLt");
        n += lt_before;
        l += len + (e != NULL);
    }
    return lt_before ? -1 : n;
}

/* Selection by measurement: on the default rule (mixed_gemm 1, no weight-streaming route: a float plan), the tuner
** times each GEMM's wgmma kernels against cuBLASLt per token bucket, and cuBLASLt's candidate algorithms where it
** serves, and stores the choices; the plan then computes the
** block at every bucket's edges, and a fresh load reads the same choices from the store. */
START_TEST(tuned_kernel_choice_round_trip)
{
    dsmlp_ctx *ctx = gu_ctx_sm90("the tuned wgmma choice");
    if (!ctx) return;
    for (int l = 0; l < 2; l++) {
        dsmlp_mlp_config cfg;
        config(&cases[1], l ? DSMLP_LAYOUT_IN_OUT : DSMLP_LAYOUT_OUT_IN, &cfg);
        gu_case c;
        TU_OK(ctx, gu_case_open(&c, ctx, &cfg, 128, cases[1].name));
        char *t0, *t1, *t2;
        TU_OK(ctx, dsmlp_plan_route_text(c.pl, &t0));
        printf("as loaded:\n%s", t0);
        ck_assert_msg(strstr(t0, "chosen by the rule in exec_mixed.c") && gu_count(t0, "(the rule in exec_mixed.c)") == 10, "%s", t0);
        const char *key = NULL;
        TU_OK(ctx, dsmlp_plan_tune_key(c.pl, &key));
        ck_assert_msg(key && strlen(key) == 64, "a float plan with wgmma kernels has a tuning key: '%s'", key ? key : "(null)");
        TU_OK(ctx, dsmlp_plan_tune(c.pl));
        TU_OK(ctx, dsmlp_plan_route_text(c.pl, &t1));
        printf("after dsmlp_plan_tune:\n%s", t1);
        /* 5 buckets x 2 GEMMs, each chosen by measurement, each bucket timed */
        ck_assert_msg(strstr(t1, "measured now") && gu_count(t1, "(measured: the route ") == 10 && gu_count(t1, " us at T = ") == 5,
                      "%s", t1);
        /* cuBLASLt's algorithm measured too wherever it serves (which buckets is a measurement: on an H200 the
        ** generated kernels won both GEMMs at T = 1..8, which the old count of at least two assumed cuBLASLt's) */
        const int lt = lt_lines_with_candidate(t1);
        ck_assert_msg(lt >= 0 && lt == gu_count(t1, "cuBLASLt's candidate "), "%d: %s", lt, t1);
        static const int64_t edges[] = {1, 8, 9, 16, 17, 32, 33, 64, 65, 128};
        for (size_t i = 0; i < sizeof edges / sizeof *edges; i++) {
            dsmlp_status st;
            const double err = gu_case_check(&c, edges[i], &st);
            ck_assert_msg(st == DSMLP_OK && err <= gu_tol(c.dtype), "tuned, T = %lld: %s, error %g", (long long)edges[i],
                          dsmlp_last_error(ctx), err);
        }
        gu_case d;
        TU_OK(ctx, gu_case_open(&d, ctx, &cfg, 128, cases[1].name));
        TU_OK(ctx, dsmlp_plan_route_text(d.pl, &t2));
        printf("a fresh load:\n%s", t2);
        ck_assert_msg(strstr(t2, "measured: tuning record") && !strstr(t2, "ignored"), "%s", t2);
        /* the same kernels and times per bucket: everything after the "chosen by" line */
        const char *a = strstr(t1, "\n  T 1..8"), *b = strstr(t2, "\n  T 1..8");
        ck_assert_msg(a && b && !strcmp(a, b), "the record's choices differ from the tuner's:\n%s\n%s", t1, t2);
        dsmlp_free(t0), dsmlp_free(t1), dsmlp_free(t2);
        gu_case_close(&d);
        gu_case_close(&c);
    }
    dsmlp_ctx_free(ctx);
}
END_TEST

static Suite *make(void)
{
    Suite *s = suite_create("gpu_wgmma");
    TCase *tc = tcase_create("wgmma");
    tcase_set_timeout(tc, 900);
    tcase_add_test(tc, float_weights_every_T);
    tcase_add_test(tc, float_weights_two_groups);
    suite_add_tcase(s, tc);
    TCase *tt = tcase_create("tune");
    tcase_set_timeout(tt, 300);
    tcase_add_test(tt, tuned_kernel_choice_round_trip);
    suite_add_tcase(s, tt);
    return s;
}

int main(void) { return gu_main(make, "gpu-wgmma"); }
