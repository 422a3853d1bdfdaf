/*
** test_gpu_mlp_cross.c — the full cross product of issue 4 on the GPU:
** branch (LayerNorm / RMSNorm / none) × activation × dtype × mlp_after_attn ×
** pre_layer_norm × weight layout × biases present/absent, H = 512, I = 2048,
** one plan per config run at T ∈ {1, 7, 128}, each against the CPU reference
** in double on fresh random inputs with the output poisoned first.
*/
#include "gpu_case.h"

static const int64_t Ts[] = {1, 7, 128};

static const char *norm_name(dsmlp_norm n)
{
    return n == DSMLP_NORM_LAYERNORM ? "LN" : n == DSMLP_NORM_RMSNORM ? "RMS" : "none";
}

static const char *act_name(dsmlp_mlp_act a)
{
    static const char *const n[] = {"?", "GELU", "ReLU", "GATED_GELU", "GATED_SILU"};
    return n[a];
}

static void describe(const dsmlp_mlp_config *c, char *out, size_t cap)
{
    snprintf(out, cap, "%s %s %s after_attn=%d pre_ln=%d %s biases=%d", norm_name(c->norm), act_name(c->activation),
             dsmlp_dtype_name(c->dtype), c->mlp_after_attn, c->pre_layer_norm,
             c->layout == DSMLP_LAYOUT_IN_OUT ? "[in,out]" : "[out,in]", c->bias1);
}

/* Every config of the cross product (valid or not: invalid ones are
** counted and skipped by the caller). */
static int make_configs(dsmlp_mlp_config *cfg)
{
    static const dsmlp_norm norms[] = {DSMLP_NORM_LAYERNORM, DSMLP_NORM_RMSNORM, DSMLP_NORM_NONE};
    static const dsmlp_mlp_act acts[] = {DSMLP_MLP_GELU, DSMLP_MLP_RELU, DSMLP_MLP_GATED_GELU, DSMLP_MLP_GATED_SILU};
    static const dsmlp_dtype dts[] = {DSMLP_F32, DSMLP_F16, DSMLP_BF16};
    int n = 0;
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 4; b++)
            for (int c = 0; c < 3; c++)
                for (int after = 0; after < 2; after++)
                    for (int pre = 0; pre < 2; pre++)
                        for (int lay = 0; lay < 2; lay++)
                            for (int bias = 0; bias < 2; bias++) {
                                dsmlp_mlp_config *x = &cfg[n++];
                                dsmlp_mlp_config_default(x);
                                x->hidden = 512;
                                x->intermediate = 2048;
                                x->norm = norms[a];
                                x->activation = acts[b];
                                x->dtype = dts[c];
                                x->mlp_after_attn = after;
                                x->pre_layer_norm = pre;
                                x->layout = lay ? DSMLP_LAYOUT_OUT_IN : DSMLP_LAYOUT_IN_OUT;
                                x->epsilon = 1e-5;
                                x->attn_bias = x->bias1 = x->bias2 = bias;
                                x->norm_bias = bias && norms[a] == DSMLP_NORM_LAYERNORM;
                            }
    return n;
}

START_TEST(cross_product)
{
    dsmlp_ctx *ctx = tu_ctx();
    dsmlp_reference_set_threads(ctx, gu_cores());
    static dsmlp_mlp_config cfg[3 * 4 * 3 * 2 * 2 * 2 * 2];
    int ncfg = make_configs(cfg);
    ck_assert_int_eq(ncfg, 576);
    int nvalid = 0;
    for (int i = 0; i < ncfg; i++)
        if (dsmlp_mlp_config_check(ctx, &cfg[i]) == DSMLP_OK) cfg[nvalid++] = cfg[i];
    gu_tally ty = {0};
    ty.skipped = ncfg - nvalid;
    int nk = gu_precompile(ctx, cfg, nvalid, 128);
    printf("cross product: %d configs, %d valid, %d distinct kernels pre-compiled\n", ncfg, nvalid, nk);
    for (int i = 0; i < nvalid; i++) {
        char desc[160];
        describe(&cfg[i], desc, sizeof desc);
        gu_case c;
        dsmlp_status s = gu_case_open(&c, ctx, &cfg[i], 128, desc);
        if (s != DSMLP_OK) {
            printf("FAIL %-60s compile: %s: %s\n", desc, dsmlp_status_name(s), dsmlp_last_error(ctx));
            for (int t = 0; t < 3; t++) gu_tally_add(&ty, cfg[i].dtype, desc, Ts[t], INFINITY, 0);
            gu_case_close(&c);
            continue;
        }
        for (int t = 0; t < 3; t++) {
            double err = gu_case_check(&c, Ts[t], &s);
            int ok = s == DSMLP_OK && err <= gu_tol(c.dtype);
            gu_tally_add(&ty, c.dtype, desc, Ts[t], err, ok);
            if (!ok || Ts[t] == 128)
                printf("%s %-60s T=%-4lld err %.3e%s%s\n", ok ? "ok  " : "FAIL", desc, (long long)Ts[t], err,
                       s ? " run: " : "", s ? dsmlp_last_error(ctx) : "");
        }
        gu_case_close(&c);
    }
    gu_tally_print(&ty, "cross product H=512 I=2048", ctx);
    ck_assert_int_gt(ty.cases, 0);
    ck_assert_msg(ty.failed == 0, "%d of %d cases failed", ty.failed, ty.cases);
    dsmlp_ctx_free(ctx);
}
END_TEST

static Suite *make(void)
{
    Suite *s = suite_create("gpu_mlp_cross");
    TCase *tc = tcase_create("cross");
    tcase_set_timeout(tc, 1200);
    tcase_add_test(tc, cross_product);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return gu_main(make, "gpu-cross"); }
