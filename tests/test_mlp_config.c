/* test_mlp_config.c — MLP config defaults, every rejection path (status and
** message), NULL arguments, and dsmlp_mlp_shard's index mapping and errors. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"

static dsmlp_mlp_config base(void)
{
    dsmlp_mlp_config c;
    dsmlp_mlp_config_default(&c);
    c.hidden = 64;
    return c;
}

START_TEST(defaults)
{
    dsmlp_mlp_config c;
    memset(&c, 0x5a, sizeof c);
    dsmlp_mlp_config_default(&c);
    ck_assert_int_eq(c.hidden, 0);
    ck_assert_int_eq(c.intermediate, 0);
    ck_assert_int_eq(c.dtype, DSMLP_F16);
    ck_assert_int_eq(c.activation, DSMLP_MLP_GELU);
    ck_assert_int_eq(c.norm, DSMLP_NORM_LAYERNORM);
    ck_assert_int_eq(c.pre_layer_norm, 1);
    ck_assert_int_eq(c.mlp_after_attn, 1);
    ck_assert(c.epsilon == 1e-12);
    ck_assert_int_eq(c.layout, DSMLP_LAYOUT_IN_OUT);
    ck_assert_int_eq(c.tp_size, 1);
    ck_assert_int_eq(c.tp_rank, 0);
    ck_assert_int_eq(c.attn_bias + c.norm_bias + c.bias1 + c.bias2, 4);
    ck_assert_int_eq(c.int8_weights, 0);
    ck_assert_int_eq(c.int8_groups, 1);
    dsmlp_mlp_config_default(NULL);   /* no crash */

    dsmlp_ctx *ctx = tu_ctx();
    TU_CHECK(ctx, dsmlp_mlp_config_check(ctx, &c), DSMLP_ERR_INVALID_ARG);   /* hidden must be set */
    TU_MSG_HAS(ctx, "hidden");
    c.hidden = 768;
    TU_OK(ctx, dsmlp_mlp_config_check(ctx, &c));
    dsmlp_ctx_free(ctx);
}
END_TEST

/* One rejected config: the status and a fragment of the message. */
typedef struct bad_case {
    const char  *what;
    void       (*edit)(dsmlp_mlp_config *);
    dsmlp_status want;
    const char  *msg1, *msg2;
} bad_case;

static void hidden_zero(dsmlp_mlp_config *c) { c->hidden = 0; }
static void hidden_neg(dsmlp_mlp_config *c) { c->hidden = -4096; }
static void hidden_huge(dsmlp_mlp_config *c) { c->hidden = (int64_t)1 << 40; }
static void inter_huge(dsmlp_mlp_config *c) { c->intermediate = (int64_t)1 << 40; }
static void overflow(dsmlp_mlp_config *c) { c->hidden = (int64_t)1 << 31; c->intermediate = (int64_t)1 << 31; }
static void inter_not_div(dsmlp_mlp_config *c) { c->intermediate = 250; c->tp_size = 4; c->tp_rank = 1; }
static void inter4h_not_div(dsmlp_mlp_config *c) { c->hidden = 6; c->tp_size = 16; }
static void tp_zero(dsmlp_mlp_config *c) { c->tp_size = 0; }
static void tp_neg(dsmlp_mlp_config *c) { c->tp_size = -2; }
static void rank_high(dsmlp_mlp_config *c) { c->tp_size = 4; c->tp_rank = 4; }
static void rank_neg(dsmlp_mlp_config *c) { c->tp_size = 2; c->tp_rank = -1; }
static void act_zero(dsmlp_mlp_config *c) { c->activation = (dsmlp_mlp_act)0; }
static void act_big(dsmlp_mlp_config *c) { c->activation = (dsmlp_mlp_act)9; }
static void goff_layernorm(dsmlp_mlp_config *c) { c->gamma_offset = 1.0; }
static void goff_nan(dsmlp_mlp_config *c) { c->norm = DSMLP_NORM_RMSNORM; c->norm_bias = 0; c->gamma_offset = NAN; }
static void split_plain(dsmlp_mlp_config *c) { c->split_w1 = 1; c->activation = DSMLP_MLP_GELU_ERF; }
static void int8_groups_split(dsmlp_mlp_config *c)   /* divides 2·96 rows of a merged w1, not 96 of w1_up */
{
    c->int8_weights = 1; c->activation = DSMLP_MLP_GATED_SILU; c->split_w1 = 1; c->intermediate = 96;
    c->int8_groups = 64;
}
static void norm_group(dsmlp_mlp_config *c) { c->norm = (dsmlp_norm)2; }   /* GroupNorm: not an MLP norm */
static void norm_big(dsmlp_mlp_config *c) { c->norm = (dsmlp_norm)7; }
static void dtype_i8(dsmlp_mlp_config *c) { c->dtype = DSMLP_I8; }
static void dtype_f64(dsmlp_mlp_config *c) { c->dtype = DSMLP_F64; }
static void dtype_big(dsmlp_mlp_config *c) { c->dtype = (dsmlp_dtype)42; }
static void layout_big(dsmlp_mlp_config *c) { c->layout = (dsmlp_layout)2; }
static void int8_f32(dsmlp_mlp_config *c) { c->int8_weights = 1; c->dtype = DSMLP_F32; }
static void int8_groups0(dsmlp_mlp_config *c) { c->int8_weights = 1; c->int8_groups = 0; }
static void int8_groups_w1(dsmlp_mlp_config *c) { c->int8_weights = 1; c->intermediate = 96; c->int8_groups = 64; }
static void int8_groups_w2(dsmlp_mlp_config *c) { c->int8_weights = 1; c->intermediate = 384; c->int8_groups = 128; }
static void int8_groups_tp(dsmlp_mlp_config *c)   /* divides the full 256 rows but not a rank's 64 */
{
    c->int8_weights = 1; c->intermediate = 256; c->tp_size = 4; c->int8_groups = 128;
}
static void rms_beta(dsmlp_mlp_config *c) { c->norm = DSMLP_NORM_RMSNORM; c->norm_bias = 1; }
static void none_beta(dsmlp_mlp_config *c) { c->norm = DSMLP_NORM_NONE; c->norm_bias = 1; }
static void eps_zero(dsmlp_mlp_config *c) { c->epsilon = 0; }
static void eps_neg(dsmlp_mlp_config *c) { c->norm = DSMLP_NORM_RMSNORM; c->norm_bias = 0; c->epsilon = -1e-6; }
static void eps_nan(dsmlp_mlp_config *c) { c->epsilon = NAN; }
static void eps_inf(dsmlp_mlp_config *c) { c->epsilon = INFINITY; }

static const bad_case bad_cases[] = {
    {"hidden 0", hidden_zero, DSMLP_ERR_INVALID_ARG, "hidden must be > 0", "hidden=0"},
    {"hidden < 0", hidden_neg, DSMLP_ERR_INVALID_ARG, "hidden must be > 0", "hidden=-4096"},
    {"hidden huge", hidden_huge, DSMLP_ERR_INVALID_ARG, "hidden=1099511627776", "too large"},
    {"intermediate huge", inter_huge, DSMLP_ERR_INVALID_ARG, "intermediate=1099511627776", "too large"},
    {"element count overflow", overflow, DSMLP_ERR_INVALID_ARG, "overflows", "w1"},
    {"intermediate % P", inter_not_div, DSMLP_ERR_SHAPE, "intermediate=250", "tp_size=4"},
    {"4H % P", inter4h_not_div, DSMLP_ERR_SHAPE, "intermediate=24 (4·hidden)", "tp_size=16"},
    {"P = 0", tp_zero, DSMLP_ERR_INVALID_ARG, "tp_size must be >= 1", "tp_size=0"},
    {"P < 0", tp_neg, DSMLP_ERR_INVALID_ARG, "tp_size must be >= 1", "tp_size=-2"},
    {"rank >= P", rank_high, DSMLP_ERR_INVALID_ARG, "tp_rank=4", "[0, tp_size=4)"},
    {"rank < 0", rank_neg, DSMLP_ERR_INVALID_ARG, "tp_rank=-1", "[0, tp_size=2)"},
    {"activation 0 (UNKNOWN)", act_zero, DSMLP_ERR_INVALID_ARG, "unknown activation 0", "GATED_SILU=4"},
    {"activation 9", act_big, DSMLP_ERR_INVALID_ARG, "unknown activation 9", "GATED_RELU=8"},
    {"gamma offset with LayerNorm", goff_layernorm, DSMLP_ERR_INVALID_ARG, "gamma_offset=1 but norm is LayerNorm",
     "RMSNorm option"},
    {"gamma offset NaN", goff_nan, DSMLP_ERR_INVALID_ARG, "gamma_offset=nan", "not finite"},
    {"split_w1 without gating", split_plain, DSMLP_ERR_INVALID_ARG, "split_w1=1", "not gated"},
    {"int8 groups vs w1_up rows", int8_groups_split, DSMLP_ERR_SHAPE, "does not divide the 96 rows of w1_up and w1_gate",
     "int8_groups=64"},
    {"norm 2 (GroupNorm)", norm_group, DSMLP_ERR_INVALID_ARG, "unknown norm 2", "RMSNORM=3"},
    {"norm 7", norm_big, DSMLP_ERR_INVALID_ARG, "unknown norm 7", "LAYERNORM=1"},
    {"dtype i8", dtype_i8, DSMLP_ERR_INVALID_ARG, "dtype i8", "int8_weights=1"},
    {"dtype f64", dtype_f64, DSMLP_ERR_INVALID_ARG, "unknown dtype 4", "f16"},
    {"dtype 42", dtype_big, DSMLP_ERR_INVALID_ARG, "unknown dtype 42", "bf16"},
    {"layout 2", layout_big, DSMLP_ERR_INVALID_ARG, "unknown layout 2", "OUT_IN=1"},
    {"int8 + f32", int8_f32, DSMLP_ERR_INVALID_ARG, "int8_weights=1 needs dtype f16 or bf16", "dtype=f32"},
    {"int8 groups 0", int8_groups0, DSMLP_ERR_INVALID_ARG, "int8_groups must be >= 1", "int8_groups=0"},
    {"int8 groups vs w1 rows", int8_groups_w1, DSMLP_ERR_SHAPE, "int8_groups=64 does not divide the 96 rows of w1",
     "[96, 64]"},
    {"int8 groups vs w2 rows", int8_groups_w2, DSMLP_ERR_SHAPE, "int8_groups=128 does not divide the 64 rows of w2",
     "rows = hidden"},
    {"int8 groups vs rank rows", int8_groups_tp, DSMLP_ERR_SHAPE, "int8_groups=128 does not divide the 64 rows of w1",
     "intermediate/tp_size"},
    {"RMSNorm with beta", rms_beta, DSMLP_ERR_INVALID_ARG, "norm_bias=1 but norm is RMSNorm", "set norm_bias=0"},
    {"NONE with beta", none_beta, DSMLP_ERR_INVALID_ARG, "norm_bias=1 but norm is NONE", "no beta"},
    {"eps 0", eps_zero, DSMLP_ERR_INVALID_ARG, "epsilon must be finite and > 0", "epsilon=0"},
    {"eps < 0", eps_neg, DSMLP_ERR_INVALID_ARG, "for RMSNorm", "epsilon=-1e-06"},
    {"eps NaN", eps_nan, DSMLP_ERR_INVALID_ARG, "epsilon must be finite", "epsilon=nan"},
    {"eps inf", eps_inf, DSMLP_ERR_INVALID_ARG, "epsilon must be finite", "epsilon=inf"},
};
enum { N_BAD = sizeof bad_cases / sizeof bad_cases[0] };

/* Each bad config fails config_check, build (leaving the graph empty of
** nothing but what it had) and shard, with the same status and message. */
START_TEST(invalid_config)
{
    const bad_case *b = &bad_cases[_i];
    dsmlp_ctx *ctx = tu_ctx();
    dsmlp_mlp_config c = base();
    b->edit(&c);
    dsmlp_status s = dsmlp_mlp_config_check(ctx, &c);
    ck_assert_msg(s == b->want, "%s: got %s (wanted %s): %s", b->what, dsmlp_status_name(s),
                  dsmlp_status_name(b->want), dsmlp_last_error(ctx));
    TU_MSG_HAS(ctx, "mlp config");
    TU_MSG_HAS(ctx, b->msg1);
    TU_MSG_HAS(ctx, b->msg2);

    dsmlp_graph *g = NULL;
    TU_OK(ctx, dsmlp_graph_create(ctx, "bad", &g));
    TU_CHECK(ctx, dsmlp_mlp_build(g, &c), b->want);
    TU_MSG_HAS(ctx, b->msg1);
    ck_assert_int_eq(dsmlp_graph_size(g), 0);   /* rejected before anything is added */
    dsmlp_graph_free(g);

    char buf[64];
    TU_CHECK(ctx, dsmlp_mlp_shard(ctx, &c, "b2", buf, buf), b->want);
    TU_MSG_HAS(ctx, b->msg1);
    dsmlp_ctx_free(ctx);
}
END_TEST

/* The boundary values next to each rejection are accepted. */
START_TEST(valid_edges)
{
    dsmlp_ctx *ctx = tu_ctx();
    dsmlp_mlp_config c = base();
    c.hidden = 1;
    TU_OK(ctx, dsmlp_mlp_config_check(ctx, &c));                /* I = 4 */
    c.hidden = 6; c.tp_size = 8; c.tp_rank = 7;
    TU_OK(ctx, dsmlp_mlp_config_check(ctx, &c));                /* 4H = 24 divisible by 8 */
    c = base(); c.intermediate = -1; c.tp_size = 4; c.tp_rank = 3;
    TU_OK(ctx, dsmlp_mlp_config_check(ctx, &c));                /* <= 0 means 4H */
    c = base(); c.int8_weights = 1; c.intermediate = 96; c.int8_groups = 32;
    TU_OK(ctx, dsmlp_mlp_config_check(ctx, &c));                /* divides 96 and 64 */
    c.activation = DSMLP_MLP_GATED_SILU; c.int8_groups = 64;    /* w1 rows 2·96 = 192 */
    TU_OK(ctx, dsmlp_mlp_config_check(ctx, &c));
    c.dtype = DSMLP_BF16;
    TU_OK(ctx, dsmlp_mlp_config_check(ctx, &c));
    c = base(); c.int8_groups = 7;                              /* ignored without int8 */
    TU_OK(ctx, dsmlp_mlp_config_check(ctx, &c));
    c = base(); c.norm = DSMLP_NORM_NONE; c.norm_bias = 0; c.epsilon = 0;  /* eps unused without a norm */
    TU_OK(ctx, dsmlp_mlp_config_check(ctx, &c));
    c = base(); c.norm = DSMLP_NORM_RMSNORM; c.norm_bias = 0; c.epsilon = 1e-30;
    TU_OK(ctx, dsmlp_mlp_config_check(ctx, &c));
    c = base(); c.hidden = (int64_t)1 << 31; c.intermediate = 1 << 20;  /* large but representable */
    TU_OK(ctx, dsmlp_mlp_config_check(ctx, &c));
    dsmlp_ctx_free(ctx);
}
END_TEST

START_TEST(nulls)
{
    dsmlp_ctx *ctx = tu_ctx();
    dsmlp_mlp_config c = base();
    ck_assert_int_eq(dsmlp_mlp_config_check(NULL, NULL), DSMLP_ERR_INVALID_ARG);
    ck_assert_int_eq(dsmlp_mlp_config_check(NULL, &c), DSMLP_OK);
    c.hidden = 0;
    ck_assert_int_eq(dsmlp_mlp_config_check(NULL, &c), DSMLP_ERR_INVALID_ARG);   /* no ctx: status only */
    c.hidden = 64;
    TU_CHECK(ctx, dsmlp_mlp_config_check(ctx, NULL), DSMLP_ERR_INVALID_ARG);
    TU_MSG_HAS(ctx, "config is NULL");

    ck_assert_int_eq(dsmlp_mlp_build(NULL, &c), DSMLP_ERR_INVALID_ARG);
    ck_assert_int_eq(dsmlp_mlp_build(NULL, NULL), DSMLP_ERR_INVALID_ARG);
    dsmlp_graph *g = NULL;
    TU_OK(ctx, dsmlp_graph_create(ctx, "g", &g));
    TU_CHECK(ctx, dsmlp_mlp_build(g, NULL), DSMLP_ERR_INVALID_ARG);
    TU_MSG_HAS(ctx, "config is NULL");

    char full[256], shard[256];
    memset(full, 1, sizeof full);
    TU_CHECK(ctx, dsmlp_mlp_shard(ctx, NULL, "b2", full, shard), DSMLP_ERR_INVALID_ARG);
    TU_MSG_HAS(ctx, "config is NULL");
    TU_CHECK(ctx, dsmlp_mlp_shard(ctx, &c, NULL, full, shard), DSMLP_ERR_INVALID_ARG);
    TU_MSG_HAS(ctx, "parameter name is NULL");
    TU_CHECK(ctx, dsmlp_mlp_shard(ctx, &c, "b2", NULL, shard), DSMLP_ERR_INVALID_ARG);
    TU_MSG_HAS(ctx, "full buffer is NULL");
    TU_CHECK(ctx, dsmlp_mlp_shard(ctx, &c, "b2", full, NULL), DSMLP_ERR_INVALID_ARG);
    TU_MSG_HAS(ctx, "shard buffer is NULL");
    ck_assert_int_eq(dsmlp_mlp_shard(NULL, &c, "nope", full, shard), DSMLP_ERR_NOT_FOUND);
    dsmlp_graph_free(g);
    dsmlp_ctx_free(ctx);
}
END_TEST

START_TEST(build_needs_empty_graph)
{
    dsmlp_ctx *ctx = tu_ctx();
    dsmlp_mlp_config c = base();
    dsmlp_graph *g = NULL;
    TU_OK(ctx, dsmlp_graph_create(ctx, "twice", &g));
    TU_OK(ctx, dsmlp_mlp_build(g, &c));
    int n = dsmlp_graph_size(g);
    TU_CHECK(ctx, dsmlp_mlp_build(g, &c), DSMLP_ERR_INVALID_ARG);
    TU_MSG_HAS(ctx, "graph 'twice' is not empty");
    ck_assert_int_eq(dsmlp_graph_size(g), n);
    dsmlp_graph_free(g);
    dsmlp_ctx_free(ctx);
}
END_TEST

/* The gated op's odd-width rejection. A config cannot produce it (F = 2
** doubles the width), so it is shown on a hand-made graph. */
START_TEST(gated_odd_width)
{
    dsmlp_ctx *ctx = tu_ctx();
    dsmlp_graph *g = NULL;
    dsmlp_value x, y;
    TU_OK(ctx, dsmlp_graph_create(ctx, "odd", &g));
    TU_OK(ctx, dsmlp_input(g, "x", DSMLP_F16, 7, &x));
    TU_CHECK(ctx, dsmlp_gated(g, x, DSMLP_ACT_SILU, &y), DSMLP_ERR_SHAPE);
    TU_MSG_HAS(ctx, "gated");
    TU_MSG_HAS(ctx, "odd");
    dsmlp_graph_free(g);
    /* Gated configs with odd I are fine: the rank's W1 output is 2·I_p. */
    dsmlp_mlp_config c = base();
    c.activation = DSMLP_MLP_GATED_GELU;
    c.intermediate = 21;
    c.tp_size = 3; c.tp_rank = 2;   /* I_p = 7 */
    TU_OK(ctx, dsmlp_graph_create(ctx, "odd-I", &g));
    TU_OK(ctx, dsmlp_mlp_build(g, &c));
    dsmlp_graph_free(g);
    dsmlp_ctx_free(ctx);
}
END_TEST

/* ---------------------------------------------------------------- shard */

/* Full parameter elements are their own index, so the shard shows exactly
** which full elements it took. f32 holds integers up to 2^24 exactly. */
static float *iota(int64_t n)
{
    float *p = malloc((size_t)n * sizeof *p);
    ck_assert_ptr_nonnull(p);
    for (int64_t i = 0; i < n; i++) p[i] = (float)i;
    return p;
}

static void check_shards(int gated, dsmlp_layout layout, int P)
{
    dsmlp_ctx *ctx = tu_ctx();
    const int64_t H = 6, I = 12, F = gated ? 2 : 1, Ip = I / P;
    dsmlp_mlp_config c = base();
    c.hidden = H; c.intermediate = I; c.dtype = DSMLP_F32; c.layout = layout; c.tp_size = P;
    c.activation = gated ? DSMLP_MLP_GATED_SILU : DSMLP_MLP_RELU;
    float *w1 = iota(H * F * I), *w2 = iota(I * H), *b1 = iota(F * I), *v = iota(H);
    float *s = malloc((size_t)(H * F * I) * sizeof *s);
    for (int r = 0; r < P; r++) {
        c.tp_rank = r;
        /* W1: logical (in k, out j) of the shard is full output col(j). */
        tu_poison(s, (size_t)(H * F * I) * sizeof *s);
        TU_OK(ctx, dsmlp_mlp_shard(ctx, &c, "w1", w1, s));
        for (int64_t k = 0; k < H; k++)
            for (int64_t j = 0; j < F * Ip; j++) {
                int64_t fj = (j / Ip) * I + r * Ip + j % Ip;   /* half, then the rank's block */
                float want = layout == DSMLP_LAYOUT_IN_OUT ? w1[k * F * I + fj] : w1[fj * H + k];
                float got = layout == DSMLP_LAYOUT_IN_OUT ? s[k * F * Ip + j] : s[j * H + k];
                ck_assert_msg(got == want, "w1 r=%d k=%lld j=%lld: %g != %g", r, (long long)k, (long long)j, got,
                              want);
            }
        tu_poison(s, (size_t)(F * I) * sizeof *s);
        TU_OK(ctx, dsmlp_mlp_shard(ctx, &c, "b1", b1, s));
        for (int64_t j = 0; j < F * Ip; j++) ck_assert(s[j] == b1[(j / Ip) * I + r * Ip + j % Ip]);
        /* W2: logical (in k, out j) of the shard is full inner row r·Ip + k. */
        tu_poison(s, (size_t)(I * H) * sizeof *s);
        TU_OK(ctx, dsmlp_mlp_shard(ctx, &c, "w2", w2, s));
        for (int64_t k = 0; k < Ip; k++)
            for (int64_t j = 0; j < H; j++) {
                int64_t fk = r * Ip + k;
                float want = layout == DSMLP_LAYOUT_IN_OUT ? w2[fk * H + j] : w2[j * I + fk];
                float got = layout == DSMLP_LAYOUT_IN_OUT ? s[k * H + j] : s[j * Ip + k];
                ck_assert(got == want);
            }
        for (int i = 0; i < 4; i++) {
            const char *names[] = {"attn_bias", "norm_w", "norm_b", "b2"};
            tu_poison(s, (size_t)H * sizeof *s);
            TU_OK(ctx, dsmlp_mlp_shard(ctx, &c, names[i], v, s));
            ck_assert(memcmp(s, v, (size_t)H * sizeof *s) == 0);
        }
    }
    free(w1); free(w2); free(b1); free(v); free(s);
    dsmlp_ctx_free(ctx);
}

START_TEST(shard_mapping)
{
    for (int gated = 0; gated < 2; gated++)
        for (int lay = 0; lay < 2; lay++)
            for (int P = 1; P <= 4; P *= 2) check_shards(gated, (dsmlp_layout)lay, P == 4 ? 3 : P);
}
END_TEST

/* split_w1: w1_up, w1_gate, b1_up, b1_gate shard like a non-gated w1/b1 of I
** outputs: equal to the up and gate blocks of the merged shard. */
START_TEST(shard_split_up_gate)
{
    dsmlp_ctx *ctx = tu_ctx();
    for (int lay = 0; lay < 2; lay++)
        for (int P = 1; P <= 4; P *= 2)
            for (int r = 0; r < P; r++) {
                dsmlp_mlp_config c = base();
                c.hidden = 8, c.intermediate = 16, c.dtype = DSMLP_F32, c.activation = DSMLP_MLP_GATED_SILU;
                c.layout = (dsmlp_layout)lay, c.tp_size = P, c.tp_rank = r;
                int64_t H = 8, I = 16, Ip = I / P;
                float *up = tu_random(DSMLP_F32, H * I, 1), *gate = tu_random(DSMLP_F32, H * I, 1);
                float *bu = tu_random(DSMLP_F32, I, 1), *bg = tu_random(DSMLP_F32, I, 1);
                /* the merged full w1 / b1 from the two halves */
                float *w1 = malloc(sizeof(float) * 2 * H * I), *b1 = malloc(sizeof(float) * 2 * I);
                for (int64_t k = 0; k < H; k++)
                    for (int64_t j = 0; j < I; j++) {
                        if (lay == DSMLP_LAYOUT_IN_OUT) w1[k * 2 * I + j] = up[k * I + j], w1[k * 2 * I + I + j] = gate[k * I + j];
                        else w1[j * H + k] = up[j * H + k], w1[(I + j) * H + k] = gate[j * H + k];
                    }
                memcpy(b1, bu, sizeof(float) * I), memcpy(b1 + I, bg, sizeof(float) * I);
                float merged[2 * 8 * 16], mb[32], su[8 * 16], sg[8 * 16], sbu[16], sbg[16];
                TU_OK(ctx, dsmlp_mlp_shard(ctx, &c, "w1", w1, merged));
                TU_OK(ctx, dsmlp_mlp_shard(ctx, &c, "b1", b1, mb));
                dsmlp_mlp_config cs = c;
                cs.split_w1 = 1;
                TU_OK(ctx, dsmlp_mlp_shard(ctx, &cs, "w1_up", up, su));
                TU_OK(ctx, dsmlp_mlp_shard(ctx, &cs, "w1_gate", gate, sg));
                TU_OK(ctx, dsmlp_mlp_shard(ctx, &cs, "b1_up", bu, sbu));
                TU_OK(ctx, dsmlp_mlp_shard(ctx, &cs, "b1_gate", bg, sbg));
                for (int64_t k = 0; k < H; k++)
                    for (int64_t j = 0; j < Ip; j++) {
                        float mu = lay == DSMLP_LAYOUT_IN_OUT ? merged[k * 2 * Ip + j] : merged[j * H + k];
                        float mg = lay == DSMLP_LAYOUT_IN_OUT ? merged[k * 2 * Ip + Ip + j] : merged[(Ip + j) * H + k];
                        ck_assert(mu == (lay == DSMLP_LAYOUT_IN_OUT ? su[k * Ip + j] : su[j * H + k]));
                        ck_assert(mg == (lay == DSMLP_LAYOUT_IN_OUT ? sg[k * Ip + j] : sg[j * H + k]));
                    }
                for (int64_t j = 0; j < Ip; j++) ck_assert(sbu[j] == mb[j] && sbg[j] == mb[Ip + j]);
                /* the merged names are not in a split config, nor the split names in a merged one */
                TU_CHECK(ctx, dsmlp_mlp_shard(ctx, &cs, "w1", w1, merged), DSMLP_ERR_NOT_FOUND);
                TU_MSG_HAS(ctx, "split_w1=1: w1_up and w1_gate");
                TU_CHECK(ctx, dsmlp_mlp_shard(ctx, &c, "w1_up", up, su), DSMLP_ERR_NOT_FOUND);
                free(up), free(gate), free(bu), free(bg), free(w1), free(b1);
            }
    dsmlp_ctx_free(ctx);
}
END_TEST

/* int8 weights are [out,in] whatever `layout` says; the shard copies bytes. */
START_TEST(shard_int8)
{
    dsmlp_ctx *ctx = tu_ctx();
    dsmlp_mlp_config c = base();
    c.hidden = 4; c.intermediate = 8; c.int8_weights = 1; c.layout = DSMLP_LAYOUT_IN_OUT;
    c.activation = DSMLP_MLP_GATED_GELU; c.tp_size = 2; c.tp_rank = 1;
    int8_t w1[2 * 8 * 4], w2[4 * 8], s[64];
    for (int i = 0; i < 64; i++) w1[i] = (int8_t)i;
    for (int i = 0; i < 32; i++) w2[i] = (int8_t)(100 + i);
    TU_OK(ctx, dsmlp_mlp_shard(ctx, &c, "w1", w1, s));   /* rows up[4..8) then gate[12..16) of [16, 4] */
    for (int j = 0; j < 8; j++)
        for (int k = 0; k < 4; k++) ck_assert_int_eq(s[j * 4 + k], w1[((j / 4) * 8 + 4 + j % 4) * 4 + k]);
    TU_OK(ctx, dsmlp_mlp_shard(ctx, &c, "w2", w2, s));   /* [4, 8] -> columns 4..8 */
    for (int j = 0; j < 4; j++)
        for (int k = 0; k < 4; k++) ck_assert_int_eq(s[j * 4 + k], w2[j * 8 + 4 + k]);
    float sc[4] = {1, 2, 3, 4};
    TU_CHECK(ctx, dsmlp_mlp_shard(ctx, &c, "w1_scales", sc, s), DSMLP_ERR_UNSUPPORTED);
    TU_MSG_HAS(ctx, "int8 scales are per shard");
    TU_MSG_HAS(ctx, "quantize each rank's shard");
    TU_CHECK(ctx, dsmlp_mlp_shard(ctx, &c, "w2_scales", sc, s), DSMLP_ERR_UNSUPPORTED);
    TU_MSG_HAS(ctx, "'w2_scales'");
    dsmlp_ctx_free(ctx);
}
END_TEST

START_TEST(shard_unknown_or_absent)
{
    dsmlp_ctx *ctx = tu_ctx();
    dsmlp_mlp_config c = base();
    char buf[1024];
    memset(buf, 0, sizeof buf);
    TU_CHECK(ctx, dsmlp_mlp_shard(ctx, &c, "w3", buf, buf), DSMLP_ERR_NOT_FOUND);
    TU_MSG_HAS(ctx, "unknown parameter 'w3'");
    TU_CHECK(ctx, dsmlp_mlp_shard(ctx, &c, "w1_scales", buf, buf), DSMLP_ERR_NOT_FOUND);
    TU_MSG_HAS(ctx, "int8_weights=0");
    c.bias1 = 0;
    TU_CHECK(ctx, dsmlp_mlp_shard(ctx, &c, "b1", buf, buf), DSMLP_ERR_NOT_FOUND);
    TU_MSG_HAS(ctx, "bias1=0");
    c.bias2 = 0;
    TU_CHECK(ctx, dsmlp_mlp_shard(ctx, &c, "b2", buf, buf), DSMLP_ERR_NOT_FOUND);
    TU_MSG_HAS(ctx, "bias2=0");
    c.attn_bias = 0;
    TU_CHECK(ctx, dsmlp_mlp_shard(ctx, &c, "attn_bias", buf, buf), DSMLP_ERR_NOT_FOUND);
    TU_MSG_HAS(ctx, "attn_bias=0");
    c.norm = DSMLP_NORM_RMSNORM; c.norm_bias = 0;
    TU_CHECK(ctx, dsmlp_mlp_shard(ctx, &c, "norm_b", buf, buf), DSMLP_ERR_NOT_FOUND);
    TU_MSG_HAS(ctx, "'norm_b'");
    c.norm = DSMLP_NORM_NONE;
    TU_CHECK(ctx, dsmlp_mlp_shard(ctx, &c, "norm_w", buf, buf), DSMLP_ERR_NOT_FOUND);
    TU_MSG_HAS(ctx, "norm=NONE");
    dsmlp_ctx_free(ctx);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("mlp_config");
    TCase *tc = tcase_create("config");
    tcase_add_test(tc, defaults);
    tcase_add_loop_test(tc, invalid_config, 0, N_BAD);
    tcase_add_test(tc, valid_edges);
    tcase_add_test(tc, nulls);
    tcase_add_test(tc, build_needs_empty_graph);
    tcase_add_test(tc, gated_odd_width);
    suite_add_tcase(s, tc);
    tc = tcase_create("shard");
    tcase_add_test(tc, shard_mapping);
    tcase_add_test(tc, shard_int8);
    tcase_add_test(tc, shard_split_up_gate);
    tcase_add_test(tc, shard_unknown_or_absent);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
