/*
** test_quant.c — quantized weights on the CPU: fp8 e4m3 conversions against
** a brute-force search over all 256 codes; dsmlp_quantize round trips (int8
** and fp8, per group and per channel, f32/f16/bf16 weights in both layouts,
** f32/f16 scales) within their error bounds, deterministic, with the
** smallest non-clipping scale; its errors; dsmlp_mlp_quantize per TP shard;
** and the reference executor running quantized graphs exactly (against a
** hand formula and against the float block with hand-dequantized weights).
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "dtype.h"

#define GRAPH_NAME 64

/* ------------------------------------------------------------------ e4m3 */

/* The nearest finite e4m3 code to x by search (ties: the even code), saturating at ±448. */
static uint8_t e4m3_search(double x)
{
    if (isnan(x)) return 0x7f;
    int best = -1;
    double bd = INFINITY;
    for (int c = 0; c < 256; c++) {
        if ((c & 0x7f) == 0x7f) continue;
        double v = dsmlpB_dtype_e4m3_to_f64((uint8_t)c), d = fabs(v - x);
        if (v == 0 && signbit(v) != signbit(x)) continue;   /* keep the sign of zero */
        if (d < bd || (d == bd && (c & 1) == 0)) bd = d, best = c;
    }
    if (fabs(x) > 448) best = x > 0 ? 0x7e : 0xfe;
    return (uint8_t)best;
}

START_TEST(e4m3_codes)
{
    ck_assert(dsmlpB_dtype_e4m3_to_f64(0x7e) == 448);
    ck_assert(dsmlpB_dtype_e4m3_to_f64(0xfe) == -448);
    ck_assert(dsmlpB_dtype_e4m3_to_f64(0x08) == ldexp(1, -6));   /* smallest normal */
    ck_assert(dsmlpB_dtype_e4m3_to_f64(0x01) == ldexp(1, -9));   /* smallest subnormal */
    ck_assert(dsmlpB_dtype_e4m3_to_f64(0x38) == 1.0);            /* exponent 7 = bias */
    ck_assert(dsmlpB_dtype_e4m3_to_f64(0x3c) == 1.5);
    ck_assert(isnan(dsmlpB_dtype_e4m3_to_f64(0x7f)) && isnan(dsmlpB_dtype_e4m3_to_f64(0xff)));
    ck_assert(dsmlpB_dtype_e4m3_to_f64(0x80) == 0 && signbit(dsmlpB_dtype_e4m3_to_f64(0x80)));
    for (int c = 0; c < 256; c++) {   /* every finite code encodes back to itself */
        if ((c & 0x7f) == 0x7f) continue;
        ck_assert_uint_eq(dsmlpB_dtype_f64_to_e4m3(dsmlpB_dtype_e4m3_to_f64((uint8_t)c)), (unsigned)c);
    }
    ck_assert_uint_eq(dsmlpB_dtype_f64_to_e4m3(NAN), 0x7f);
    ck_assert_uint_eq(dsmlpB_dtype_f64_to_e4m3(INFINITY), 0x7e);       /* satfinite: no inf */
    ck_assert_uint_eq(dsmlpB_dtype_f64_to_e4m3(-INFINITY), 0xfe);
    ck_assert_uint_eq(dsmlpB_dtype_f64_to_e4m3(464), 0x7e);            /* tie between 448 and 480: even */
    ck_assert_uint_eq(dsmlpB_dtype_f64_to_e4m3(470), 0x7e);            /* 480 is NaN's code: saturate */
    ck_assert_uint_eq(dsmlpB_dtype_f64_to_e4m3(1.0625), 0x38);         /* tie between 1 and 1.125: even */
    ck_assert_uint_eq(dsmlpB_dtype_f64_to_e4m3(ldexp(1, -10)), 0x00);  /* half the smallest subnormal: even */
    ck_assert_uint_eq(dsmlpB_dtype_f64_to_e4m3(ldexp(1.0001, -10)), 0x01);
    ck_assert_str_eq(dsmlp_dtype_name(DSMLP_FP8_E4M3), "fp8");
    ck_assert_uint_eq(dsmlp_dtype_size(DSMLP_FP8_E4M3), 1);
}
END_TEST

START_TEST(e4m3_rounding_random)
{
    for (int i = 0; i < 200000; i++) {
        /* all binades from below the subnormals to beyond the largest value, and the midpoints */
        double x = (tu_uniform() * 2 - 1) * ldexp(1, (int)(tu_next() % 22) - 12);
        if (i % 4 == 0) {
            uint8_t c = (uint8_t)(tu_next() % 0x7e);
            x = (dsmlpB_dtype_e4m3_to_f64(c) + dsmlpB_dtype_e4m3_to_f64((uint8_t)(c + 1))) / 2 * (i % 8 ? 1 : -1);
        }
        uint8_t want = e4m3_search(x), got = dsmlpB_dtype_f64_to_e4m3(x);
        ck_assert_msg(got == want, "e4m3(%.17g) = 0x%02x, nearest is 0x%02x", x, got, want);
        uint8_t b;
        dsmlpB_dtype_store(DSMLP_FP8_E4M3, &b, 0, x);
        ck_assert_uint_eq(b, want);
        ck_assert(dsmlpB_dtype_load(DSMLP_FP8_E4M3, &b, 0) == dsmlpB_dtype_round(DSMLP_FP8_E4M3, x));
    }
}
END_TEST

/* ------------------------------------------------------------ dsmlp_quantize */

typedef struct qcase {
    dsmlp_dtype wt, qt, st;
    dsmlp_layout lay;
    int64_t rows, cols, groups;
} qcase;

/* Weight element (out r, in c) of a buffer in layout lay. */
static double wat(const qcase *k, const void *w, int64_t r, int64_t c)
{
    return dsmlpB_dtype_load(k->wt, w, k->lay == DSMLP_LAYOUT_OUT_IN ? r * k->cols + c : c * k->rows + r);
}

/* The next value of type st below s (s > 0). */
static double prev_scale(dsmlp_dtype st, double s)
{
    if (st == DSMLP_F32) return nextafterf((float)s, 0);
    uint16_t h = dsmlpB_dtype_f64_to_f16(s);
    return dsmlpB_dtype_f16_to_f32((uint16_t)(h - 1));
}

/* Quantizes a random weight (heavy-tailed in some rows) and checks every bound. */
static double round_trip(dsmlp_ctx *ctx, const qcase *k)
{
    int64_t n = k->rows * k->cols, per = k->rows / k->groups;
    void *w = tu_random(k->wt, n, 0.05);
    for (int64_t i = 0; i < n; i += 97) dsmlpB_dtype_store(k->wt, w, i, dsmlpB_dtype_load(k->wt, w, i) * 40);   /* outliers */
    uint8_t *q = malloc((size_t)n), *q2 = malloc((size_t)n);
    float *s = malloc((size_t)k->groups * 4), *s2 = malloc((size_t)k->groups * 4);
    tu_poison(q, (size_t)n);
    tu_poison(s, (size_t)k->groups * 4);
    TU_OK(ctx, dsmlp_quantize(ctx, w, k->wt, k->lay, k->rows, k->cols, k->groups, k->qt, q, k->st, s));
    double qmax = k->qt == DSMLP_I8 ? 127 : 448, worst = 0;
    for (int64_t g = 0; g < k->groups; g++) {
        double sc = dsmlpB_dtype_load(k->st, s, g), amax = 0, top = 0;
        for (int64_t r = g * per; r < (g + 1) * per; r++)
            for (int64_t c = 0; c < k->cols; c++) amax = fmax(amax, fabs(wat(k, w, r, c)));
        /* the smallest scale of its type that clips nothing */
        ck_assert_msg(sc * qmax >= amax && prev_scale(k->st, sc) * qmax < amax, "group %lld: scale %g for max %g",
                      (long long)g, sc, amax);
        for (int64_t r = g * per; r < (g + 1) * per; r++)
            for (int64_t c = 0; c < k->cols; c++) {
                double x = wat(k, w, r, c), v = dsmlpB_dtype_load(k->qt, q, r * k->cols + c), err = fabs(v * sc - x);
                top = fmax(top, fabs(v));
                if (k->qt == DSMLP_I8) {
                    ck_assert(v >= -127 && v <= 127);
                    ck_assert_msg(v == nearbyint(x / sc), "q[%lld,%lld] = %g, want round(%g)", (long long)r,
                                  (long long)c, v, x / sc);
                    ck_assert(err <= sc / 2 * (1 + 1e-12));
                } else {
                    ck_assert(dsmlpB_dtype_load(DSMLP_FP8_E4M3, q, r * k->cols + c) == dsmlpB_dtype_round(DSMLP_FP8_E4M3, x / sc));
                    ck_assert(err <= fmax(fabs(x) * 0.0625, sc * ldexp(1, -10)) * (1 + 1e-12));
                }
                worst = fmax(worst, err / sc);
            }
        ck_assert_msg(top == qmax, "group %lld: largest |q| %g, want %g", (long long)g, top, qmax);
    }
    /* deterministic, and the same bytes from the other layout of the same weight */
    TU_OK(ctx, dsmlp_quantize(ctx, w, k->wt, k->lay, k->rows, k->cols, k->groups, k->qt, q2, k->st, s2));
    ck_assert_int_eq(memcmp(q, q2, (size_t)n), 0);
    ck_assert_int_eq(memcmp(s, s2, (size_t)k->groups * dsmlp_dtype_size(k->st)), 0);
    void *wt = malloc((size_t)n * dsmlp_dtype_size(k->wt));
    size_t es = dsmlp_dtype_size(k->wt);
    for (int64_t r = 0; r < k->rows; r++)
        for (int64_t c = 0; c < k->cols; c++) {
            int64_t from = k->lay == DSMLP_LAYOUT_OUT_IN ? r * k->cols + c : c * k->rows + r;
            int64_t to = k->lay == DSMLP_LAYOUT_OUT_IN ? c * k->rows + r : r * k->cols + c;
            memcpy((char *)wt + to * es, (char *)w + from * es, es);
        }
    memset(q2, 0, (size_t)n);
    dsmlp_layout other = k->lay == DSMLP_LAYOUT_OUT_IN ? DSMLP_LAYOUT_IN_OUT : DSMLP_LAYOUT_OUT_IN;
    TU_OK(ctx, dsmlp_quantize(ctx, wt, k->wt, other, k->rows, k->cols, k->groups, k->qt, q2, k->st, s2));
    ck_assert_int_eq(memcmp(q, q2, (size_t)n), 0);
    ck_assert_int_eq(memcmp(s, s2, (size_t)k->groups * dsmlp_dtype_size(k->st)), 0);
    free(w), free(wt), free(q), free(q2), free(s), free(s2);
    return worst;
}

START_TEST(quantize_round_trips)
{
    dsmlp_ctx *ctx = tu_ctx();
    static const dsmlp_dtype wts[] = {DSMLP_F32, DSMLP_F16, DSMLP_BF16};
    for (int qi = 0; qi < 2; qi++) {
        double worst = 0;
        for (int wi = 0; wi < 3; wi++)
            for (int si = 0; si < 2; si++)
                for (int lay = 0; lay < 2; lay++)
                    for (int gi = 0; gi < 3; gi++) {
                        qcase k = {wts[wi], qi ? DSMLP_FP8_E4M3 : DSMLP_I8, si ? DSMLP_F16 : DSMLP_F32,
                                   (dsmlp_layout)lay, 96, 72 + 8 * wi, 0};
                        k.groups = gi == 0 ? 1 : gi == 1 ? 6 : k.rows;   /* one, DeepSpeed groups, per channel */
                        worst = fmax(worst, round_trip(ctx, &k));
                    }
        printf("quantize to %s: 36 cases (f32/f16/bf16 x f32/f16 scales x layouts x 1/6/96 groups), worst |w - q*s| "
               "= %.4f scale\n", qi ? "fp8" : "int8", worst);
    }
    dsmlp_ctx_free(ctx);
}
END_TEST

START_TEST(quantize_zero_and_f64)
{
    dsmlp_ctx *ctx = tu_ctx();
    double w[8] = {0, 0, 0, 0, 1.5, -3, 0.25, 2};   /* [4 rows, 2 cols]; rows 0-1 all zero */
    int8_t q[8];
    float s[2];
    TU_OK(ctx, dsmlp_quantize(ctx, w, DSMLP_F64, DSMLP_LAYOUT_OUT_IN, 4, 2, 2, DSMLP_I8, q, DSMLP_F32, s));
    ck_assert_float_eq(s[0], 1.0f);   /* an all-zero group gets scale 1 */
    for (int i = 0; i < 4; i++) ck_assert_int_eq(q[i], 0);
    ck_assert(s[1] * 127.0 >= 3 && nextafterf(s[1], 0) * 127.0 < 3);
    ck_assert_int_eq(q[5], -127);
    ck_assert_int_eq(q[7], (int)nearbyint(2 / (double)s[1]));
    dsmlp_ctx_free(ctx);
}
END_TEST

START_TEST(quantize_errors)
{
    dsmlp_ctx *ctx = tu_ctx();
    float w[64];
    for (int i = 0; i < 64; i++) w[i] = (float)(i - 30) / 16;
    int8_t q[64];
    float s[64];
    TU_CHECK(ctx, dsmlp_quantize(ctx, w, DSMLP_F32, DSMLP_LAYOUT_OUT_IN, 8, 8, 3, DSMLP_I8, q, DSMLP_F32, s),
             DSMLP_ERR_SHAPE);
    TU_MSG_HAS(ctx, "groups=3 does not divide the 8 output rows");
    TU_CHECK(ctx, dsmlp_quantize(ctx, w, DSMLP_F32, DSMLP_LAYOUT_OUT_IN, 8, 8, 0, DSMLP_I8, q, DSMLP_F32, s),
             DSMLP_ERR_SHAPE);
    TU_MSG_HAS(ctx, "groups=0");
    TU_CHECK(ctx, dsmlp_quantize(ctx, w, DSMLP_F32, DSMLP_LAYOUT_OUT_IN, 0, 8, 1, DSMLP_I8, q, DSMLP_F32, s),
             DSMLP_ERR_SHAPE);
    TU_MSG_HAS(ctx, "0 outputs x 8 inputs");
    TU_CHECK(ctx, dsmlp_quantize(ctx, NULL, DSMLP_F32, DSMLP_LAYOUT_OUT_IN, 8, 8, 1, DSMLP_I8, q, DSMLP_F32, s),
             DSMLP_ERR_INVALID_ARG);
    TU_MSG_HAS(ctx, "weight buffer is NULL");
    TU_CHECK(ctx, dsmlp_quantize(ctx, w, DSMLP_I8, DSMLP_LAYOUT_OUT_IN, 8, 8, 1, DSMLP_I8, q, DSMLP_F32, s),
             DSMLP_ERR_DTYPE);
    TU_MSG_HAS(ctx, "weights of dtype i8");
    TU_CHECK(ctx, dsmlp_quantize(ctx, w, DSMLP_F32, DSMLP_LAYOUT_OUT_IN, 8, 8, 1, DSMLP_F16, q, DSMLP_F32, s),
             DSMLP_ERR_DTYPE);
    TU_MSG_HAS(ctx, "quantized dtype f16 (want i8 or fp8)");
    TU_CHECK(ctx, dsmlp_quantize(ctx, w, DSMLP_F32, DSMLP_LAYOUT_OUT_IN, 8, 8, 1, DSMLP_I8, q, DSMLP_BF16, s),
             DSMLP_ERR_DTYPE);
    TU_MSG_HAS(ctx, "scale dtype bf16 (want f32 or f16)");
    TU_CHECK(ctx, dsmlp_quantize(ctx, w, DSMLP_F32, (dsmlp_layout)7, 8, 8, 1, DSMLP_I8, q, DSMLP_F32, s),
             DSMLP_ERR_INVALID_ARG);
    w[21] = NAN;   /* [in,out] storage [8 in, 8 out]: element 21 is in 2, out 5 */
    TU_CHECK(ctx, dsmlp_quantize(ctx, w, DSMLP_F32, DSMLP_LAYOUT_IN_OUT, 8, 8, 1, DSMLP_I8, q, DSMLP_F32, s),
             DSMLP_ERR_INVALID_ARG);
    TU_MSG_HAS(ctx, "weight element [out 5, in 2] is nan");
    w[21] = INFINITY;
    TU_CHECK(ctx, dsmlp_quantize(ctx, w, DSMLP_F32, DSMLP_LAYOUT_OUT_IN, 8, 8, 1, DSMLP_I8, q, DSMLP_F32, s),
             DSMLP_ERR_INVALID_ARG);
    TU_MSG_HAS(ctx, "weight element [out 2, in 5] is inf");
    w[21] = 1e7f;   /* scale 1e7 / 127 > 65504: f16 scales cannot hold it, f32 can */
    TU_CHECK(ctx, dsmlp_quantize(ctx, w, DSMLP_F32, DSMLP_LAYOUT_OUT_IN, 8, 8, 4, DSMLP_I8, q, DSMLP_F16, s),
             DSMLP_ERR_INVALID_ARG);
    TU_MSG_HAS(ctx, "group 1 (rows 2..3)");
    TU_MSG_HAS(ctx, "exceeds f16's 65504");
    TU_OK(ctx, dsmlp_quantize(ctx, w, DSMLP_F32, DSMLP_LAYOUT_OUT_IN, 8, 8, 4, DSMLP_I8, q, DSMLP_F32, s));
    TU_OK(ctx, dsmlp_quantize(ctx, w, DSMLP_F32, DSMLP_LAYOUT_OUT_IN, 8, 8, 4, DSMLP_FP8_E4M3, q, DSMLP_F16, s));
    dsmlp_ctx_free(ctx);
}
END_TEST

/* ------------------------------------------------------- dsmlp_mlp_quantize */

static dsmlp_mlp_config qconfig(int gated, int P, int r)
{
    dsmlp_mlp_config c;
    dsmlp_mlp_config_default(&c);
    c.hidden = 64, c.intermediate = 96, c.int8_weights = 1, c.tp_size = P, c.tp_rank = r;
    c.activation = gated ? DSMLP_MLP_GATED_SILU : DSMLP_MLP_GELU;
    return c;
}

/* Each rank's quantized w1/w2 and scales are dsmlp_quantize of its float shard. */
START_TEST(mlp_quantize_shards)
{
    dsmlp_ctx *ctx = tu_ctx();
    for (int v = 0; v < 6; v++) {
        int gated = v & 1, P = v < 2 ? 1 : v < 4 ? 2 : 4;
        for (int lay = 0; lay < 2; lay++) {
            dsmlp_mlp_config full = qconfig(gated, 1, 0);
            int64_t H = 64, I = 96, F = gated ? 2 : 1;
            void *w1 = tu_random(DSMLP_BF16, H * F * I, 0.1), *w2 = tu_random(DSMLP_BF16, I * H, 0.1);
            for (int r = 0; r < P; r++) {
                dsmlp_mlp_config c = qconfig(gated, P, r);
                c.quant_dtype = v % 3 ? DSMLP_I8 : DSMLP_FP8_E4M3;
                c.quant_per_channel = v >= 4;
                c.int8_groups = v >= 4 ? 1 : 2;
                c.quant_gate_scales = gated && v == 3;
                c.quant_scale_dtype = v == 2 ? DSMLP_F16 : DSMLP_F32;
                dsmlp_mlp_config fc = c;   /* the float block the shards come from */
                fc.int8_weights = 0, fc.dtype = DSMLP_BF16, fc.layout = (dsmlp_layout)lay;
                fc.quant_dtype = DSMLP_I8, fc.quant_scale_dtype = DSMLP_F32;
                fc.quant_per_channel = fc.quant_gate_scales = 0;
                (void)full;
                for (int wi = 1; wi <= 2; wi++) {
                    const char *name = wi == 1 ? "w1" : "w2";
                    char sname[16];
                    snprintf(sname, sizeof sname, "%s_scales", name);
                    int64_t rows = wi == 1 ? F * I / P : H, cols = wi == 1 ? H : I / P, ns = 0;
                    TU_OK(ctx, dsmlp_mlp_scales(ctx, &c, sname, &ns));
                    int64_t want_ns = c.quant_per_channel ? rows : c.quant_gate_scales && wi == 1 ? 4 : 2;
                    ck_assert_int_eq(ns, want_ns);
                    void *shard = malloc((size_t)(rows * cols) * 2);
                    TU_OK(ctx, dsmlp_mlp_shard(ctx, &fc, name, wi == 1 ? w1 : w2, shard));
                    uint8_t *q = malloc((size_t)(rows * cols)), *qw = malloc((size_t)(rows * cols));
                    float *s = calloc((size_t)ns, 4), *sw = calloc((size_t)ns, 4);
                    TU_OK(ctx, dsmlp_mlp_quantize(ctx, &c, name, wi == 1 ? w1 : w2, DSMLP_BF16, (dsmlp_layout)lay, q, s));
                    TU_OK(ctx, dsmlp_quantize(ctx, shard, DSMLP_BF16, (dsmlp_layout)lay, rows, cols, ns, c.quant_dtype,
                                              qw, c.quant_scale_dtype, sw));
                    ck_assert_int_eq(memcmp(q, qw, (size_t)(rows * cols)), 0);
                    ck_assert_int_eq(memcmp(s, sw, (size_t)ns * dsmlp_dtype_size(c.quant_scale_dtype)), 0);
                    free(shard), free(q), free(qw), free(s), free(sw);
                }
            }
            free(w1), free(w2);
        }
    }
    dsmlp_ctx_free(ctx);
}
END_TEST

/* Gate scales: w1_scales = [up groups | gate groups], each from its half only. */
START_TEST(mlp_quantize_gate_scales)
{
    dsmlp_ctx *ctx = tu_ctx();
    dsmlp_mlp_config c = qconfig(1, 1, 0);
    c.hidden = 48, c.int8_groups = 3, c.quant_gate_scales = 1, c.layout = DSMLP_LAYOUT_OUT_IN;
    int64_t H = 48, I = 96, n = 2 * I * H;
    float *w = malloc((size_t)n * 4);
    for (int64_t i = 0; i < n; i++) w[i] = (float)(tu_normal() * (i < I * H ? 0.01 : 1.0));   /* gate rows 100x */
    int8_t *q = malloc((size_t)n);
    float s[6];
    int64_t ns;
    TU_OK(ctx, dsmlp_mlp_scales(ctx, &c, "w1_scales", &ns));
    ck_assert_int_eq(ns, 6);
    TU_OK(ctx, dsmlp_mlp_quantize(ctx, &c, "w1", w, DSMLP_F32, DSMLP_LAYOUT_OUT_IN, q, s));
    for (int g = 0; g < 3; g++) ck_assert_msg(s[g] < s[3 + g] / 20, "up scale %d %g vs gate %g", g, s[g], s[3 + g]);
    c.quant_gate_scales = 0;   /* one set over both halves: the first of 3 groups holds only up rows */
    TU_OK(ctx, dsmlp_mlp_quantize(ctx, &c, "w1", w, DSMLP_F32, DSMLP_LAYOUT_OUT_IN, q, s));
    ck_assert(s[0] < s[2] / 20);
    /* errors name what is wrong */
    TU_CHECK(ctx, dsmlp_mlp_quantize(ctx, &c, "b1", w, DSMLP_F32, DSMLP_LAYOUT_OUT_IN, q, s), DSMLP_ERR_NOT_FOUND);
    TU_MSG_HAS(ctx, "'b1' is not a weight of this config (want w1 or w2)");
    TU_CHECK(ctx, dsmlp_mlp_quantize(ctx, &c, "w1", w, DSMLP_I8, DSMLP_LAYOUT_OUT_IN, q, s), DSMLP_ERR_DTYPE);
    TU_MSG_HAS(ctx, "full weight of dtype i8");
    w[5] = NAN;
    TU_CHECK(ctx, dsmlp_mlp_quantize(ctx, &c, "w1", w, DSMLP_F32, DSMLP_LAYOUT_OUT_IN, q, s), DSMLP_ERR_INVALID_ARG);
    TU_MSG_HAS(ctx, "weight element [out 0, in 5] is nan");
    TU_MSG_HAS(ctx, "while quantizing 'w1' of rank 0 of 1");
    c.int8_weights = 0;
    TU_CHECK(ctx, dsmlp_mlp_quantize(ctx, &c, "w1", w, DSMLP_F32, DSMLP_LAYOUT_OUT_IN, q, s), DSMLP_ERR_INVALID_ARG);
    TU_MSG_HAS(ctx, "int8_weights=0");
    TU_CHECK(ctx, dsmlp_mlp_scales(ctx, &c, "w1_scales", &ns), DSMLP_ERR_NOT_FOUND);
    TU_CHECK(ctx, dsmlp_mlp_scales(ctx, &c, "w1", &ns), DSMLP_ERR_NOT_FOUND);
    TU_MSG_HAS(ctx, "'w1' is not a scale parameter");
    free(w), free(q);
    dsmlp_ctx_free(ctx);
}
END_TEST

/* split_w1: w1_up and w1_gate are quantized on their own, each rank's block of each. */
START_TEST(mlp_quantize_split)
{
    dsmlp_ctx *ctx = tu_ctx();
    for (int pc = 0; pc < 2; pc++)
        for (int P = 1; P <= 2; P++)
            for (int r = 0; r < P; r++) {
                dsmlp_mlp_config c = qconfig(1, P, r);
                c.split_w1 = 1, c.quant_per_channel = pc, c.int8_groups = pc ? 1 : 4, c.quant_dtype = DSMLP_FP8_E4M3;
                int64_t H = 64, I = 96, Ip = I / P, ns;
                TU_CHECK(ctx, dsmlp_mlp_scales(ctx, &c, "w1_scales", &ns), DSMLP_ERR_NOT_FOUND);
                TU_MSG_HAS(ctx, "want w1_up_scales, w1_gate_scales or w2_scales");
                TU_OK(ctx, dsmlp_mlp_scales(ctx, &c, "w1_gate_scales", &ns));
                ck_assert_int_eq(ns, pc ? Ip : 4);
                void *full = tu_random(DSMLP_F16, I * H, 0.1), *shard = malloc((size_t)(Ip * H) * 2);
                dsmlp_mlp_config f = c;
                f.int8_weights = 0, f.dtype = DSMLP_F16, f.quant_dtype = DSMLP_I8, f.quant_per_channel = 0;
                f.layout = DSMLP_LAYOUT_IN_OUT;
                TU_OK(ctx, dsmlp_mlp_shard(ctx, &f, "w1_gate", full, shard));
                uint8_t *q = malloc((size_t)(Ip * H)), *qw = malloc((size_t)(Ip * H));
                float s[96], sw[96];
                TU_OK(ctx, dsmlp_mlp_quantize(ctx, &c, "w1_gate", full, DSMLP_F16, DSMLP_LAYOUT_IN_OUT, q, s));
                TU_OK(ctx, dsmlp_quantize(ctx, shard, DSMLP_F16, DSMLP_LAYOUT_IN_OUT, Ip, H, ns, DSMLP_FP8_E4M3, qw,
                                          DSMLP_F32, sw));
                ck_assert_int_eq(memcmp(q, qw, (size_t)(Ip * H)), 0);
                ck_assert_int_eq(memcmp(s, sw, (size_t)ns * 4), 0);
                TU_CHECK(ctx, dsmlp_mlp_quantize(ctx, &c, "w1", full, DSMLP_F16, DSMLP_LAYOUT_IN_OUT, q, s),
                         DSMLP_ERR_NOT_FOUND);
                TU_MSG_HAS(ctx, "want w1_up, w1_gate or w2");
                /* pre-quantized full scales: per channel they slice, groups are refused across ranks */
                float fullsc[96];
                for (int i = 0; i < 96; i++) fullsc[i] = (float)i;
                dsmlp_status st = dsmlp_mlp_shard(ctx, &c, "w1_up_scales", fullsc, sw);
                if (pc || P == 1) {
                    TU_OK(ctx, st);
                    ck_assert_float_eq(sw[0], pc ? (float)(r * Ip) : 0.0f);
                } else {
                    ck_assert_int_eq(st, DSMLP_ERR_UNSUPPORTED);
                    TU_MSG_HAS(ctx, "the full half's 4 groups of 24 rows are not rank");
                }
                free(full), free(shard), free(q), free(qw);
            }
    dsmlp_ctx_free(ctx);
}
END_TEST

/* ------------------------------------------------- the reference, exactly */

/* dequant + matmul against the hand formula y = x · round_f16(q·s)ᵀ, for
** int8 and fp8 codes, f32 and f16 scales, groups and per channel. */
START_TEST(reference_dequant_formula)
{
    dsmlp_ctx *ctx = tu_ctx();
    const int64_t R = 24, C = 40, T = 3;
    for (int v = 0; v < 8; v++) {
        dsmlp_dtype qt = v & 1 ? DSMLP_FP8_E4M3 : DSMLP_I8, st = v & 2 ? DSMLP_F16 : DSMLP_F32;
        dsmlp_dtype dt = v & 4 ? DSMLP_BF16 : DSMLP_F16;
        int64_t G = v % 3 == 0 ? R : v % 3 == 1 ? 4 : 1;
        dsmlp_graph *g;
        dsmlp_value x, wq, s, w, y;
        TU_OK(ctx, dsmlp_graph_create(ctx, "deq", &g));
        TU_OK(ctx, dsmlp_input(g, "x", dt, C, &x));
        TU_OK(ctx, dsmlp_param_matrix(g, "q", qt, R, C, DSMLP_LAYOUT_OUT_IN, &wq));
        TU_OK(ctx, dsmlp_param_vector(g, "s", st, G, &s));
        TU_OK(ctx, dsmlp_dequant(g, wq, s, G, dt, &w));
        TU_OK(ctx, dsmlp_matmul(g, x, w, &y));
        TU_OK(ctx, dsmlp_output(g, "y", y));
        void *xv = tu_random(dt, T * C, 1.0), *qv = malloc((size_t)(R * C)), *sv = tu_random(st, G, 0.01);
        for (int64_t i = 0; i < R * C; i++) {   /* every code but NaN */
            uint8_t b = (uint8_t)tu_next();
            ((uint8_t *)qv)[i] = qt == DSMLP_FP8_E4M3 && (b & 0x7f) == 0x7f ? 0x3c : b;
        }
        double *out = malloc((size_t)(T * R) * sizeof *out), want[3 * 24];
        tu_poison(out, (size_t)(T * R) * sizeof *out);
        dsmlp_host_tensor b[] = {{"x", dt, xv}, {"q", qt, qv}, {"s", st, sv}, {"y", DSMLP_F64, out}};
        TU_OK(ctx, dsmlp_reference_run_f64(g, T, b, 4));
        for (int64_t t = 0; t < T; t++)
            for (int64_t r = 0; r < R; r++) {
                double acc = 0, sc = dsmlpB_dtype_load(st, sv, r / (R / G));
                for (int64_t c = 0; c < C; c++)
                    acc += dsmlpB_dtype_load(dt, xv, t * C + c) * dsmlpB_dtype_round(dt, dsmlpB_dtype_load(qt, qv, r * C + c) * sc);
                want[t * R + r] = acc;
            }
        for (int64_t i = 0; i < T * R; i++)
            ck_assert_msg(fabs(out[i] - want[i]) <= 1e-12 * (1 + fabs(want[i])), "case %d y[%lld] %.17g vs %.17g", v,
                          (long long)i, out[i], want[i]);
        free(xv), free(qv), free(sv), free(out);
        dsmlp_graph_free(g);
    }
    dsmlp_ctx_free(ctx);
}
END_TEST

/* The quantized block (every scale layout, int8 and fp8, gated or not, P = 1
** and 2) gives exactly the float block whose weights are its dequantized
** weights, computed here by hand. */
typedef struct binds {
    dsmlp_host_tensor t[32];
    int n;
} binds;

static void bind_add(binds *b, const char *name, dsmlp_dtype dt, void *data)
{
    ck_assert_int_lt(b->n, 32);
    b->t[b->n++] = (dsmlp_host_tensor){name, dt, data};
}

static void *find_bound(const binds *b, const char *name)
{
    for (int i = 0; i < b->n; i++)
        if (!strcmp(b->t[i].name, name)) return b->t[i].data;
    return NULL;
}

START_TEST(reference_block_equals_dequantized_float)
{
    dsmlp_ctx *ctx = tu_ctx();
    const int64_t T = 5, H = 64;
    for (int v = 0; v < 24; v++) {
        int gated = v & 1, P = v >= 12 ? 2 : 1, layout = (v >> 1) % 3;   /* groups, per channel, extra grouping */
        dsmlp_graph *gq[2], *gf[2];
        binds bq[2], bf[2];
        double *oq = malloc((size_t)(T * H) * sizeof *oq), *of = malloc((size_t)(T * H) * sizeof *of);
        void *keep[64];
        int nkeep = 0;
        memset(bq, 0, sizeof bq), memset(bf, 0, sizeof bf);
        for (int r = 0; r < P; r++) {
            dsmlp_mlp_config c = qconfig(gated, P, r);
            c.norm = DSMLP_NORM_RMSNORM, c.norm_bias = 0, c.dtype = (v / 6) % 2 ? DSMLP_BF16 : DSMLP_F16;
            c.quant_dtype = v % 4 >= 2 ? DSMLP_FP8_E4M3 : DSMLP_I8;
            c.int8_groups = layout == 1 ? 1 : 2;
            c.quant_per_channel = layout == 1;
            c.quant_extra_grouping = layout == 2;
            c.quant_gate_scales = gated && layout == 0;
            c.quant_scale_dtype = (v / 3) % 2 ? DSMLP_F16 : DSMLP_F32;
            c.split_w1 = gated && v % 5 == 0;   /* w1_up, w1_gate: each its own scales */
            dsmlp_mlp_config f = c;
            f.int8_weights = 0, f.layout = DSMLP_LAYOUT_OUT_IN, f.quant_dtype = DSMLP_I8;
            f.quant_scale_dtype = DSMLP_F32, f.quant_per_channel = f.quant_extra_grouping = f.quant_gate_scales = 0;
            TU_OK(ctx, dsmlp_graph_create(ctx, "q", &gq[r]));
            TU_OK(ctx, dsmlp_mlp_build(gq[r], &c));
            TU_OK(ctx, dsmlp_graph_create(ctx, "f", &gf[r]));
            TU_OK(ctx, dsmlp_mlp_build(gf[r], &f));
            for (int i = 0; i < dsmlp_graph_size(gq[r]); i++) {
                dsmlp_value_info vi;
                TU_OK(ctx, dsmlp_value_get(gq[r], i, &vi));
                if ((vi.op != DSMLP_OP_INPUT && vi.op != DSMLP_OP_PARAM) || strstr(vi.name, "_scales")) continue;
                int64_t e = vi.tokens ? T * vi.dims[1] : vi.rank == 1 ? vi.dims[0] : vi.dims[0] * vi.dims[1];
                if (vi.rank == 2 && !vi.tokens) {   /* a quantized weight, its scales, and its dequantization */
                    char *sn = malloc(GRAPH_NAME);
                    snprintf(sn, GRAPH_NAME, "%s_scales", vi.name);
                    keep[nkeep++] = sn;
                    int64_t ns, rows = vi.dims[0], cols = vi.dims[1];
                    TU_OK(ctx, dsmlp_mlp_scales(ctx, &c, sn, &ns));
                    void *src = tu_random(DSMLP_F32, e, 0.1), *qv = malloc((size_t)e), *sv = malloc((size_t)ns * 4);
                    void *fw = malloc((size_t)e * 2);
                    TU_OK(ctx, dsmlp_quantize(ctx, src, DSMLP_F32, DSMLP_LAYOUT_OUT_IN, rows, cols, ns, c.quant_dtype,
                                              qv, c.quant_scale_dtype, sv));
                    for (int64_t k = 0; k < e; k++)
                        dsmlpB_dtype_store(c.dtype, fw, k,
                                    dsmlpB_dtype_load(c.quant_dtype, qv, k) *
                                        dsmlpB_dtype_load(c.quant_scale_dtype, sv, (k / cols) / (rows / ns)));
                    bind_add(&bq[r], vi.name, c.quant_dtype, qv);
                    bind_add(&bq[r], sn, c.quant_scale_dtype, sv);
                    bind_add(&bf[r], vi.name, c.dtype, fw);
                    keep[nkeep++] = src, keep[nkeep++] = qv, keep[nkeep++] = sv, keep[nkeep++] = fw;
                    continue;
                }
                void *d = r ? find_bound(&bq[0], vi.name) : NULL;   /* inputs and vectors: rank 0's */
                if (!d) keep[nkeep++] = d = tu_random(vi.dtype, e, 1.0);
                bind_add(&bq[r], vi.name, vi.dtype, d);
                bind_add(&bf[r], vi.name, vi.dtype, d);
            }
            bind_add(&bq[r], "out", DSMLP_F64, oq);
            bind_add(&bf[r], "out", DSMLP_F64, of);
        }
        const dsmlp_host_tensor *pq[2] = {bq[0].t, bq[1].t}, *pf[2] = {bf[0].t, bf[1].t};
        int nq[2] = {bq[0].n, bq[1].n}, nf[2] = {bf[0].n, bf[1].n};
        tu_poison(oq, (size_t)(T * H) * sizeof *oq);
        tu_poison(of, (size_t)(T * H) * sizeof *of);
        TU_OK(ctx, dsmlp_reference_run_ranks_f64(gq, P, T, pq, nq));
        TU_OK(ctx, dsmlp_reference_run_ranks_f64(gf, P, T, pf, nf));
        for (int i = 0; i < T * H; i++)
            ck_assert_msg(oq[i] == of[i] && isfinite(oq[i]), "case %d out[%d]: %.17g vs %.17g", v, i, oq[i], of[i]);
        for (int r = 0; r < P; r++) dsmlp_graph_free(gq[r]), dsmlp_graph_free(gf[r]);
        for (int i = 0; i < nkeep; i++) free(keep[i]);
        free(oq), free(of);
    }
    dsmlp_ctx_free(ctx);
}
END_TEST

int main(void)
{
    tu_seed();
    Suite *s = suite_create("quant");
    TCase *tc = tcase_create("quant");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, e4m3_codes);
    tcase_add_test(tc, e4m3_rounding_random);
    tcase_add_test(tc, quantize_round_trips);
    tcase_add_test(tc, quantize_zero_and_f64);
    tcase_add_test(tc, quantize_errors);
    tcase_add_test(tc, mlp_quantize_shards);
    tcase_add_test(tc, mlp_quantize_gate_scales);
    tcase_add_test(tc, mlp_quantize_split);
    tcase_add_test(tc, reference_dequant_formula);
    tcase_add_test(tc, reference_block_equals_dequantized_float);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
