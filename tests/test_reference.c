/*
** test_reference.c — the CPU reference executor against hand-computed values
** (literal constants, or direct formulas written here independently), output
** rounding, F64 bindings, error paths, rank emulation and thread invariance.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "testutil.h"
#include "dtype.h"
#include "runtime/context.h"
#include "runtime/reference.h"
#include "compiler/graph.h"
#include <unistd.h>

static dsmlp_ctx   *ctx;
static dsmlp_graph *g;

/* The context's ref_portable option, flipped in place (a test of the
** reference's two GEMM copies; programs set it at creation). */
static void set_portable(dsmlp_ctx *c, int on) { c->rt->opts.ref_portable = on; }

static void setup(void)
{
    unsetenv("DSMLP_REF_THREADS");   /* tests choose their thread counts */
    unsetenv("DSMLP_REF_PORTABLE");
    ctx = tu_ctx();
    TU_OK(ctx, dsmlp_graph_create(ctx, "t", &g));
}

static void teardown(void)
{
    dsmlp_graph_free(g);
    dsmlp_ctx_free(ctx);
}

#define B(n, dt, p) ((dsmlp_host_tensor){(n), (dt), (void *)(p)})
#define NB(a) ((int)(sizeof(a) / sizeof((a)[0])))

static void expect_near(const double *got, const double *want, int64_t n, double tol)
{
    for (int64_t i = 0; i < n; i++)
        ck_assert_msg(fabs(got[i] - want[i]) <= tol * (1 + fabs(want[i])), "element %lld: got %.17g, want %.17g",
                      (long long)i, got[i], want[i]);
}

static double *poisoned(int64_t n)
{
    double *p = malloc((size_t)n * sizeof *p);
    tu_poison(p, (size_t)n * sizeof *p);
    return p;
}

/* Random doubles exactly representable in dt (never 0). */
static double *rnd(dsmlp_dtype dt, int64_t n, double scale)
{
    double *p = malloc((size_t)n * sizeof *p);
    for (int64_t i = 0; i < n; i++) {
        double x;
        do x = dsmlpB_dtype_round(dt, scale * tu_normal());
        while (x == 0);
        p[i] = x;
    }
    return p;
}

/* ------------------------------------------------------------ hand values */

START_TEST(layernorm_by_hand)
{
    /* Both rows have variance 1.25; eps 2.75 makes 1/sqrt(var+eps) = 0.5. */
    double x[8] = {1, 2, 3, 4, 10, 8, 9, 7};
    double gam[4] = {1, 2, -1, 0.5}, bet[4] = {0.5, 0, 1, -1};
    double want_b[8] = {-0.25, -0.5, 0.75, -0.625, 1.25, -0.5, 0.75, -1.375};
    double want_nob[8] = {-0.75, -0.5, -0.25, 0.375, 0.75, -0.5, -0.25, -0.375};
    dsmlp_value vx, vg, vb, y1, y2;
    TU_OK(ctx, dsmlp_input(g, "x", DSMLP_F32, 4, &vx));
    TU_OK(ctx, dsmlp_param_vector(g, "g", DSMLP_F32, 4, &vg));
    TU_OK(ctx, dsmlp_param_vector(g, "b", DSMLP_F32, 4, &vb));
    TU_OK(ctx, dsmlp_layernorm(g, vx, vg, vb, 2.75, &y1));
    TU_OK(ctx, dsmlp_layernorm(g, vx, vg, DSMLP_NONE, 2.75, &y2));
    TU_OK(ctx, dsmlp_output(g, "y1", y1));
    TU_OK(ctx, dsmlp_output(g, "y2", y2));
    double *o1 = poisoned(8), *o2 = poisoned(8);
    dsmlp_host_tensor bs[] = {B("x", DSMLP_F64, x), B("g", DSMLP_F64, gam), B("b", DSMLP_F64, bet),
                              B("y1", DSMLP_F64, o1), B("y2", DSMLP_F64, o2)};
    TU_OK(ctx, dsmlp_reference_run_f64(g, 2, bs, NB(bs)));
    expect_near(o1, want_b, 8, 0);
    expect_near(o2, want_nob, 8, 0);
    free(o1);
    free(o2);
}
END_TEST

START_TEST(layernorm_random_vs_formula)
{
    const int64_t T = 5, n = 37;
    double *x = rnd(DSMLP_F32, T * n, 3), *gm = rnd(DSMLP_F32, n, 1), *bt = rnd(DSMLP_F32, n, 1);
    for (int64_t i = 0; i < T * n; i++) x[i] = dsmlpB_dtype_round(DSMLP_F32, x[i] + 10);   /* a large mean: the variance must be taken around it */
    dsmlp_value vx, vg, vb, y;
    TU_OK(ctx, dsmlp_input(g, "x", DSMLP_F32, n, &vx));
    TU_OK(ctx, dsmlp_param_vector(g, "g", DSMLP_F32, n, &vg));
    TU_OK(ctx, dsmlp_param_vector(g, "b", DSMLP_F32, n, &vb));
    TU_OK(ctx, dsmlp_layernorm(g, vx, vg, vb, 1e-5, &y));
    TU_OK(ctx, dsmlp_output(g, "y", y));
    double *out = poisoned(T * n), *want = malloc(T * n * sizeof *want);
    for (int64_t t = 0; t < T; t++) {
        long double m = 0, v = 0;
        for (int64_t j = 0; j < n; j++) m += x[t * n + j];
        m /= n;
        for (int64_t j = 0; j < n; j++) v += (x[t * n + j] - m) * (x[t * n + j] - m);
        v /= n;
        for (int64_t j = 0; j < n; j++)
            want[t * n + j] = (double)((x[t * n + j] - m) / sqrtl(v + 1e-5L) * gm[j] + bt[j]);
    }
    dsmlp_host_tensor bs[] = {B("x", DSMLP_F64, x), B("g", DSMLP_F64, gm), B("b", DSMLP_F64, bt),
                              B("y", DSMLP_F64, out)};
    TU_OK(ctx, dsmlp_reference_run_f64(g, T, bs, NB(bs)));
    expect_near(out, want, T * n, 1e-13);
    free(x), free(gm), free(bt), free(out), free(want);
}
END_TEST

START_TEST(rmsnorm_by_hand)
{
    /* mean(x²) = 3 in both rows; eps 1 makes the divisor 2. */
    double x[8] = {3, 1, 1, 1, -1, -3, 1, -1};
    double gam[4] = {2, 1, -4, 0.5};
    double want[8] = {3, 0.5, -2, 0.25, -1, -1.5, -2, -0.25};
    dsmlp_value vx, vg, y;
    TU_OK(ctx, dsmlp_input(g, "x", DSMLP_BF16, 4, &vx));
    TU_OK(ctx, dsmlp_param_vector(g, "g", DSMLP_BF16, 4, &vg));
    TU_OK(ctx, dsmlp_rmsnorm(g, vx, vg, 1.0, &y));
    TU_OK(ctx, dsmlp_output(g, "y", y));
    uint16_t xb[8], gb[4], ob[8];
    for (int i = 0; i < 8; i++) dsmlpB_dtype_store(DSMLP_BF16, xb, i, x[i]);
    for (int i = 0; i < 4; i++) dsmlpB_dtype_store(DSMLP_BF16, gb, i, gam[i]);
    tu_poison(ob, sizeof ob);
    dsmlp_host_tensor bs[] = {B("x", DSMLP_BF16, xb), B("g", DSMLP_BF16, gb), B("y", DSMLP_BF16, ob)};
    TU_OK(ctx, dsmlp_reference_run(g, 2, bs, NB(bs)));
    for (int i = 0; i < 8; i++) ck_assert_double_eq(dsmlpB_dtype_load(DSMLP_BF16, ob, i), want[i]);
}
END_TEST

START_TEST(matmul_by_hand_both_layouts)
{
    /* X [2,3], W [3,2] (in,out). */
    double x[6] = {1, 2, 3, -1, 0.5, 2};
    double w_io[6] = {1, -1, 2, 0, 0.5, 3};        /* rows = in  */
    double w_oi[6] = {1, 2, 0.5, -1, 0, 3};        /* rows = out */
    double want[4] = {1 + 4 + 1.5, -1 + 0 + 9, -1 + 1 + 1, 1 + 0 + 6};
    dsmlp_value vx, a, b, ya, yb;
    TU_OK(ctx, dsmlp_input(g, "x", DSMLP_F32, 3, &vx));
    TU_OK(ctx, dsmlp_param_matrix(g, "wio", DSMLP_F32, 3, 2, DSMLP_LAYOUT_IN_OUT, &a));
    TU_OK(ctx, dsmlp_param_matrix(g, "woi", DSMLP_F32, 2, 3, DSMLP_LAYOUT_OUT_IN, &b));
    TU_OK(ctx, dsmlp_matmul(g, vx, a, &ya));
    TU_OK(ctx, dsmlp_matmul(g, vx, b, &yb));
    TU_OK(ctx, dsmlp_output(g, "ya", ya));
    TU_OK(ctx, dsmlp_output(g, "yb", yb));
    float xf[6], wiof[6], woif[6], oa[4], ob[4];
    for (int i = 0; i < 6; i++) xf[i] = (float)x[i], wiof[i] = (float)w_io[i], woif[i] = (float)w_oi[i];
    tu_poison(oa, sizeof oa);
    tu_poison(ob, sizeof ob);
    dsmlp_host_tensor bs[] = {B("x", DSMLP_F32, xf), B("wio", DSMLP_F32, wiof), B("woi", DSMLP_F32, woif),
                              B("ya", DSMLP_F32, oa), B("yb", DSMLP_F32, ob)};
    TU_OK(ctx, dsmlp_reference_run(g, 2, bs, NB(bs)));
    for (int i = 0; i < 4; i++) {
        ck_assert_float_eq(oa[i], (float)want[i]);
        ck_assert_float_eq(ob[i], (float)want[i]);
    }
}
END_TEST

/* Sizes that cross the GEMM's tiles (192 rows, 128 columns, K blocks of 256)
** and leave every kind of tail. */
START_TEST(matmul_random_vs_naive)
{
    const int64_t T = 197, K = 517, N = 133;
    /* _i = 1: the portable GEMM (AVX2 machines otherwise never run it). */
    set_portable(ctx, _i == 1);
    for (int layout = 0; layout < 2; layout++) {
        dsmlp_graph *gg;
        TU_OK(ctx, dsmlp_graph_create(ctx, "mm", &gg));
        double *x = rnd(DSMLP_F32, T * K, 1), *w = rnd(DSMLP_F32, K * N, 1);   /* w: [K,N] or [N,K] */
        dsmlp_value vx, vw, y;
        TU_OK(ctx, dsmlp_input(gg, "x", DSMLP_F32, K, &vx));
        if (layout == DSMLP_LAYOUT_IN_OUT) TU_OK(ctx, dsmlp_param_matrix(gg, "w", DSMLP_F32, K, N, layout, &vw));
        else TU_OK(ctx, dsmlp_param_matrix(gg, "w", DSMLP_F32, N, K, layout, &vw));
        TU_OK(ctx, dsmlp_matmul(gg, vx, vw, &y));
        TU_OK(ctx, dsmlp_output(gg, "y", y));
        double *out = poisoned(T * N), *want = malloc(T * N * sizeof *want);
        for (int64_t t = 0; t < T; t++)
            for (int64_t o = 0; o < N; o++) {
                long double s = 0;
                for (int64_t k = 0; k < K; k++)
                    s += (long double)x[t * K + k] * (layout == DSMLP_LAYOUT_IN_OUT ? w[k * N + o] : w[o * K + k]);
                want[t * N + o] = (double)s;
            }
        dsmlp_host_tensor bs[] = {B("x", DSMLP_F64, x), B("w", DSMLP_F64, w), B("y", DSMLP_F64, out)};
        dsmlp_reference_set_threads(ctx, 3);
        TU_OK(ctx, dsmlp_reference_run_f64(gg, T, bs, NB(bs)));
        expect_near(out, want, T * N, 1e-13 * sqrt((double)K));
        free(x), free(w), free(out), free(want);
        dsmlp_graph_free(gg);
    }
}
END_TEST

START_TEST(add_scale_bias_by_hand)
{
    double a[6] = {1, 2, 3, 4, 5, 6}, b[6] = {0.5, -2, 1, 0, 0.25, -6}, bias[3] = {10, 20, 30};
    /* y = (a + b)·(-2) + bias */
    double want[6] = {-3 + 10, 0 + 20, -8 + 30, -8 + 10, -10.5 + 20, 0 + 30};
    dsmlp_value va, vb, vbias, s, sc, y;
    TU_OK(ctx, dsmlp_input(g, "a", DSMLP_F32, 3, &va));
    TU_OK(ctx, dsmlp_input(g, "b", DSMLP_F32, 3, &vb));
    TU_OK(ctx, dsmlp_param_vector(g, "bias", DSMLP_F32, 3, &vbias));
    TU_OK(ctx, dsmlp_add(g, va, vb, &s));
    TU_OK(ctx, dsmlp_scale(g, s, -2.0, &sc));
    TU_OK(ctx, dsmlp_bias(g, sc, vbias, &y));
    TU_OK(ctx, dsmlp_output(g, "y", y));
    double *out = poisoned(6);
    dsmlp_host_tensor bs[] = {B("a", DSMLP_F64, a), B("b", DSMLP_F64, b), B("bias", DSMLP_F64, bias),
                              B("y", DSMLP_F64, out)};
    TU_OK(ctx, dsmlp_reference_run(g, 2, bs, NB(bs)));
    expect_near(out, want, 6, 0);
    free(out);
}
END_TEST

/* Independent formulas for the activations. */
static double f_gelu_tanh(double x)
{
    double u = sqrt(2.0 / M_PI) * (x + 0.044715 * pow(x, 3));
    return x * (0.5 + 0.5 * tanh(u));
}
static double f_gelu_erf(double x) { return x * 0.5 * erfc(-x / sqrt(2.0)); }
static double f_silu(double x) { return x * (1.0 / (1.0 + exp(-x))); }

START_TEST(activations)
{
    double x[8] = {-3, -1, -0.25, 0.5, 1, 2, 4.5, -0.0009765625};   /* exact in f32 */
    dsmlp_value vx, y[4];
    TU_OK(ctx, dsmlp_input(g, "x", DSMLP_F32, 4, &vx));
    TU_OK(ctx, dsmlp_gelu_tanh(g, vx, &y[0]));
    TU_OK(ctx, dsmlp_gelu_erf(g, vx, &y[1]));
    TU_OK(ctx, dsmlp_relu(g, vx, &y[2]));
    TU_OK(ctx, dsmlp_silu(g, vx, &y[3]));
    const char *names[4] = {"gt", "ge", "re", "si"};
    double *out[4];
    dsmlp_host_tensor bs[5] = {B("x", DSMLP_F64, x)};
    for (int i = 0; i < 4; i++) {
        TU_OK(ctx, dsmlp_output(g, names[i], y[i]));
        out[i] = poisoned(8);
        bs[i + 1] = B(names[i], DSMLP_F64, out[i]);
    }
    TU_OK(ctx, dsmlp_reference_run_f64(g, 2, bs, 5));
    for (int i = 0; i < 8; i++) {
        ck_assert_double_eq_tol(out[0][i], f_gelu_tanh(x[i]), 1e-14);
        ck_assert_double_eq_tol(out[1][i], f_gelu_erf(x[i]), 1e-14);
        ck_assert_double_eq(out[2][i], x[i] > 0 ? x[i] : 0);
        ck_assert_double_eq_tol(out[3][i], f_silu(x[i]), 1e-14);
    }
    /* Known constants: Φ(1) and the logistic function at 1. */
    ck_assert_double_eq_tol(out[1][4], 0.8413447460685429, 1e-15);
    ck_assert_double_eq_tol(out[3][4], 0.7310585786300049, 1e-15);
    ck_assert_double_eq_tol(out[0][4], 0.8411919906082768, 1e-12);
    for (int i = 0; i < 4; i++) free(out[i]);
}
END_TEST

START_TEST(gated_every_activation)
{
    /* x [2, 4]: up = columns 0..1, gate = columns 2..3. */
    double x[8] = {2, 3, 1, -1, -0.5, 4, 0.75, 2};
    dsmlp_value vx;
    TU_OK(ctx, dsmlp_input(g, "x", DSMLP_F32, 4, &vx));
    double *out[DSMLP_ACT_COUNT];
    dsmlp_host_tensor bs[1 + DSMLP_ACT_COUNT] = {B("x", DSMLP_F64, x)};
    static const char *names[DSMLP_ACT_COUNT] = {"a0", "a1", "a2", "a3"};
    for (int a = 0; a < DSMLP_ACT_COUNT; a++) {
        dsmlp_value y;
        TU_OK(ctx, dsmlp_gated(g, vx, (dsmlp_act)a, &y));
        TU_OK(ctx, dsmlp_output(g, names[a], y));
        out[a] = poisoned(4);
        bs[1 + a] = B(names[a], DSMLP_F64, out[a]);
    }
    TU_OK(ctx, dsmlp_reference_run_f64(g, 2, bs, NB(bs)));
    double (*f[DSMLP_ACT_COUNT])(double) = {f_gelu_tanh, f_gelu_erf, NULL, f_silu};
    for (int a = 0; a < DSMLP_ACT_COUNT; a++)
        for (int t = 0; t < 2; t++)
            for (int j = 0; j < 2; j++) {
                double up = x[t * 4 + j], gate = x[t * 4 + 2 + j];
                double want = up * (f[a] ? f[a](gate) : (gate > 0 ? gate : 0));
                ck_assert_double_eq_tol(out[a][t * 2 + j], want, 1e-15);
            }
    ck_assert_double_eq(out[DSMLP_ACT_RELU][0], 2);   /* 2·relu(1)  */
    ck_assert_double_eq(out[DSMLP_ACT_RELU][1], 0);   /* 3·relu(-1) */
    ck_assert_double_eq(out[DSMLP_ACT_RELU][3], 8);   /* 4·relu(2)  */
    for (int a = 0; a < DSMLP_ACT_COUNT; a++) free(out[a]);
}
END_TEST

START_TEST(dequant_matmul)
{
    /* q [4 out, 3 in], 2 groups: rows 0-1 use s0, rows 2-3 use s1. */
    int8_t q[12] = {1, -2, 3, 4, 5, -6, 7, 8, 9, -10, 11, -12};
    float sc[2] = {0.5f, -0.25f};
    double x[3] = {1, 2, -1};
    double want[4];
    for (int o = 0; o < 4; o++) {
        want[o] = 0;
        for (int k = 0; k < 3; k++) want[o] += x[k] * q[o * 3 + k] * (o < 2 ? 0.5 : -0.25);
    }
    ck_assert_double_eq(want[0], 0.5 * (1 - 4 - 3));
    dsmlp_value vx, vq, vs, w, y;
    TU_OK(ctx, dsmlp_input(g, "x", DSMLP_F16, 3, &vx));
    TU_OK(ctx, dsmlp_param_matrix(g, "q", DSMLP_I8, 4, 3, DSMLP_LAYOUT_OUT_IN, &vq));
    TU_OK(ctx, dsmlp_param_vector(g, "s", DSMLP_F32, 2, &vs));
    TU_OK(ctx, dsmlp_dequant(g, vq, vs, 2, DSMLP_F16, &w));
    TU_OK(ctx, dsmlp_matmul(g, vx, w, &y));
    TU_OK(ctx, dsmlp_output(g, "y", y));
    double *out = poisoned(4);
    dsmlp_host_tensor bs[] = {B("x", DSMLP_F64, x), B("q", DSMLP_I8, q), B("s", DSMLP_F32, sc),
                              B("y", DSMLP_F64, out)};
    TU_OK(ctx, dsmlp_reference_run_f64(g, 1, bs, NB(bs)));
    expect_near(out, want, 4, 0);
    /* The dequantized weight is a stored f16 weight: each q·scale is rounded
    ** once to f16 (a scale of 1/3 shows it; the exact product differs). */
    sc[0] = 1.0f / 3.0f;
    for (int o = 0; o < 2; o++) {
        want[o] = 0;
        for (int k = 0; k < 3; k++) {
            double exact = q[o * 3 + k] * (double)sc[0], w16 = dsmlpB_dtype_round(DSMLP_F16, exact);
            ck_assert(w16 != exact);
            want[o] += x[k] * w16;
        }
    }
    TU_OK(ctx, dsmlp_reference_run_f64(g, 1, bs, NB(bs)));
    expect_near(out, want, 4, 1e-15);
    free(out);
}
END_TEST

/* ------------------------------------------------------- rounding, F64 */

static void build_norm_matmul(dsmlp_graph *gg, dsmlp_dtype dt, int64_t H, int64_t N)
{
    dsmlp_value x, gm, bt, w, n, y, a;
    TU_OK(ctx, dsmlp_input(gg, "x", dt, H, &x));
    TU_OK(ctx, dsmlp_param_vector(gg, "g", dt, H, &gm));
    TU_OK(ctx, dsmlp_param_vector(gg, "b", dt, H, &bt));
    TU_OK(ctx, dsmlp_param_matrix(gg, "w", dt, H, N, DSMLP_LAYOUT_IN_OUT, &w));
    TU_OK(ctx, dsmlp_layernorm(gg, x, gm, bt, 1e-5, &n));
    TU_OK(ctx, dsmlp_matmul(gg, n, w, &y));
    TU_OK(ctx, dsmlp_gelu_tanh(gg, y, &a));
    TU_OK(ctx, dsmlp_output(gg, "y", a));
}

START_TEST(output_rounding_per_dtype)
{
    const dsmlp_dtype dts[3] = {DSMLP_F32, DSMLP_F16, DSMLP_BF16};
    const int64_t T = 7, H = 64, N = 48;
    for (int d = 0; d < 3; d++) {
        dsmlp_dtype dt = dts[d];
        dsmlp_graph *gg;
        TU_OK(ctx, dsmlp_graph_create(ctx, "r", &gg));
        build_norm_matmul(gg, dt, H, N);
        size_t es = dsmlp_dtype_size(dt);
        void *x = tu_random(dt, T * H, 1), *gm = tu_random(dt, H, 1), *bt = tu_random(dt, H, 1),
             *w = tu_random(dt, H * N, 0.2), *o_nat = malloc(T * N * es);
        double *exact = poisoned(T * N), *o_f64 = poisoned(T * N);
        tu_poison(o_nat, T * N * es);
        dsmlp_host_tensor bs[] = {B("x", dt, x), B("g", dt, gm), B("b", dt, bt), B("w", dt, w), B("y", DSMLP_F64, exact)};
        TU_OK(ctx, dsmlp_reference_run_f64(gg, T, bs, NB(bs)));
        bs[4] = B("y", dt, o_nat);
        TU_OK(ctx, dsmlp_reference_run(gg, T, bs, NB(bs)));
        bs[4] = B("y", DSMLP_F64, o_f64);
        TU_OK(ctx, dsmlp_reference_run(gg, T, bs, NB(bs)));
        int rounded_away = 0;
        for (int64_t i = 0; i < T * N; i++) {
            ck_assert(isfinite(exact[i]));
            double r = dsmlpB_dtype_round(dt, exact[i]);
            ck_assert_msg(dsmlpB_dtype_load(dt, o_nat, i) == r, "%s element %lld: %.17g != round(%.17g)", dsmlp_dtype_name(dt),
                          (long long)i, dsmlpB_dtype_load(dt, o_nat, i), exact[i]);
            ck_assert_double_eq(o_f64[i], r);
            rounded_away += r != exact[i];
        }
        ck_assert_int_gt(rounded_away, T * N / 2);   /* the exact result really is unrounded */
        free(x), free(gm), free(bt), free(w), free(o_nat), free(exact), free(o_f64);
        dsmlp_graph_free(gg);
    }
}
END_TEST

START_TEST(f64_inputs_match_native_inputs)
{
    const int64_t T = 5, H = 32, N = 16;
    build_norm_matmul(g, DSMLP_F16, H, N);
    uint16_t *x = tu_random(DSMLP_F16, T * H, 1), *gm = tu_random(DSMLP_F16, H, 1), *bt = tu_random(DSMLP_F16, H, 1),
             *w = tu_random(DSMLP_F16, H * N, 0.3);
    double *xd = malloc(T * H * sizeof *xd), *o1 = poisoned(T * N), *o2 = poisoned(T * N), *o3 = poisoned(T * N);
    for (int64_t i = 0; i < T * H; i++) xd[i] = dsmlpB_dtype_load(DSMLP_F16, x, i);
    dsmlp_host_tensor bs[] = {B("x", DSMLP_F16, x), B("g", DSMLP_F16, gm), B("b", DSMLP_F16, bt),
                              B("w", DSMLP_F16, w), B("y", DSMLP_F64, o1)};
    TU_OK(ctx, dsmlp_reference_run_f64(g, T, bs, NB(bs)));
    bs[0] = B("x", DSMLP_F64, xd);
    bs[4] = B("y", DSMLP_F64, o2);
    TU_OK(ctx, dsmlp_reference_run_f64(g, T, bs, NB(bs)));
    ck_assert_mem_eq(o1, o2, T * N * sizeof(double));
    /* F64 data is rounded to the input's dtype: a nudge below f16's half-ulp changes nothing. */
    for (int64_t i = 0; i < T * H; i++) xd[i] *= 1 + 1e-5;
    bs[4] = B("y", DSMLP_F64, o3);
    TU_OK(ctx, dsmlp_reference_run_f64(g, T, bs, NB(bs)));
    ck_assert_mem_eq(o1, o3, T * N * sizeof(double));
    free(x), free(gm), free(bt), free(w), free(xd), free(o1), free(o2), free(o3);
}
END_TEST

START_TEST(unbound_output_is_allowed)
{
    dsmlp_value x, y, z;
    TU_OK(ctx, dsmlp_input(g, "x", DSMLP_F32, 2, &x));
    TU_OK(ctx, dsmlp_relu(g, x, &y));
    TU_OK(ctx, dsmlp_scale(g, x, 3, &z));
    TU_OK(ctx, dsmlp_output(g, "y", y));
    TU_OK(ctx, dsmlp_output(g, "z", z));
    float xv[2] = {-1, 2}, zv[2];
    tu_poison(zv, sizeof zv);
    dsmlp_host_tensor bs[] = {B("x", DSMLP_F32, xv), B("z", DSMLP_F32, zv)};
    TU_OK(ctx, dsmlp_reference_run(g, 1, bs, NB(bs)));
    ck_assert_float_eq(zv[0], -3.0f);
    ck_assert_float_eq(zv[1], 6.0f);
    TU_OK(ctx, dsmlp_reference_run(g, 1, bs, 1));   /* no output bound at all */
}
END_TEST

START_TEST(output_may_alias_input)
{
    /* DeepSpeed writes the block's result into `residual`; the reference reads every input first. */
    dsmlp_value x, r, s, y;
    TU_OK(ctx, dsmlp_input(g, "x", DSMLP_F32, 3, &x));
    TU_OK(ctx, dsmlp_input(g, "residual", DSMLP_F32, 3, &r));
    TU_OK(ctx, dsmlp_add(g, x, r, &s));
    TU_OK(ctx, dsmlp_output(g, "out", s));
    TU_OK(ctx, dsmlp_scale(g, r, 2, &y));
    TU_OK(ctx, dsmlp_output(g, "twice", y));
    float xv[3] = {1, 2, 3}, rv[3] = {10, 20, 30}, tw[3];
    dsmlp_host_tensor bs[] = {B("x", DSMLP_F32, xv), B("residual", DSMLP_F32, rv), B("out", DSMLP_F32, rv),
                              B("twice", DSMLP_F32, tw)};
    TU_OK(ctx, dsmlp_reference_run(g, 1, bs, NB(bs)));
    ck_assert_float_eq(rv[2], 33.0f);
    ck_assert_float_eq(tw[2], 60.0f);
}
END_TEST

/* ------------------------------------------------------------ errors */

static void small_graph(void)
{
    dsmlp_value x, w, y;
    TU_OK(ctx, dsmlp_input(g, "x", DSMLP_F16, 4, &x));
    TU_OK(ctx, dsmlp_param_matrix(g, "w", DSMLP_F16, 4, 2, DSMLP_LAYOUT_IN_OUT, &w));
    TU_OK(ctx, dsmlp_matmul(g, x, w, &y));
    TU_OK(ctx, dsmlp_output(g, "y", y));
}

static uint16_t ex[8], ew[8], ey[4];

START_TEST(err_missing_binding)
{
    small_graph();
    dsmlp_host_tensor bs[] = {B("x", DSMLP_F16, ex), B("y", DSMLP_F16, ey)};
    TU_CHECK(ctx, dsmlp_reference_run(g, 2, bs, NB(bs)), DSMLP_ERR_NOT_FOUND);
    TU_MSG_HAS(ctx, "reference_run: parameter 'w' (f16[4,2] ([in,out])) of graph 't' is not bound");
}
END_TEST

START_TEST(err_unknown_name)
{
    small_graph();
    dsmlp_host_tensor bs[] = {B("x", DSMLP_F16, ex), B("w", DSMLP_F16, ew), B("wq", DSMLP_F16, ew)};
    TU_CHECK(ctx, dsmlp_reference_run(g, 2, bs, NB(bs)), DSMLP_ERR_NOT_FOUND);
    TU_MSG_HAS(ctx, "binding 'wq' names no input, parameter or output of graph 't'");
}
END_TEST

START_TEST(err_bad_dtype)
{
    small_graph();
    dsmlp_host_tensor bs[] = {B("x", DSMLP_BF16, ex), B("w", DSMLP_F16, ew)};
    TU_CHECK(ctx, dsmlp_reference_run(g, 2, bs, NB(bs)), DSMLP_ERR_DTYPE);
    TU_MSG_HAS(ctx, "binding 'x' is bf16 but input 'x' is f16[T,4]: give f16 or f64 data");
    dsmlp_host_tensor bo[] = {B("x", DSMLP_F16, ex), B("w", DSMLP_F16, ew), B("y", DSMLP_F32, ey)};
    TU_CHECK(ctx, dsmlp_reference_run(g, 2, bo, NB(bo)), DSMLP_ERR_DTYPE);
    TU_MSG_HAS(ctx, "binding 'y' is f32 but output 'y' is f16[T,2]");
    dsmlp_host_tensor bu[] = {B("x", (dsmlp_dtype)42, ex), B("w", DSMLP_F16, ew)};
    TU_CHECK(ctx, dsmlp_reference_run(g, 2, bu, NB(bu)), DSMLP_ERR_DTYPE);
    TU_MSG_HAS(ctx, "binding 'x' is an unknown dtype");
}
END_TEST

START_TEST(err_zero_tokens)
{
    small_graph();
    dsmlp_host_tensor bs[] = {B("x", DSMLP_F16, ex), B("w", DSMLP_F16, ew)};
    TU_CHECK(ctx, dsmlp_reference_run(g, 0, bs, NB(bs)), DSMLP_ERR_INVALID_ARG);
    TU_MSG_HAS(ctx, "reference_run: T = 0 tokens (must be >= 1)");
    TU_CHECK(ctx, dsmlp_reference_run_f64(g, -3, bs, NB(bs)), DSMLP_ERR_INVALID_ARG);
    TU_MSG_HAS(ctx, "reference_run_f64: T = -3 tokens");
}
END_TEST

START_TEST(err_null_data_and_args)
{
    small_graph();
    dsmlp_host_tensor bs[] = {B("x", DSMLP_F16, ex), B("w", DSMLP_F16, NULL)};
    TU_CHECK(ctx, dsmlp_reference_run(g, 2, bs, NB(bs)), DSMLP_ERR_INVALID_ARG);
    TU_MSG_HAS(ctx, "binding 'w' has NULL data");
    dsmlp_host_tensor bn[] = {B(NULL, DSMLP_F16, ex)};
    TU_CHECK(ctx, dsmlp_reference_run(g, 2, bn, NB(bn)), DSMLP_ERR_INVALID_ARG);
    TU_MSG_HAS(ctx, "binding 0 has a NULL name");
    TU_CHECK(ctx, dsmlp_reference_run(g, 2, NULL, 2), DSMLP_ERR_INVALID_ARG);
    TU_MSG_HAS(ctx, "2 bindings given with a NULL array");
    ck_assert_int_eq(dsmlp_reference_run(NULL, 2, bs, 2), DSMLP_ERR_INVALID_ARG);
    ck_assert_int_eq(dsmlp_reference_run_ranks(NULL, 2, 2, NULL, NULL), DSMLP_ERR_INVALID_ARG);
}
END_TEST

START_TEST(err_bound_twice)
{
    small_graph();
    dsmlp_host_tensor bs[] = {B("x", DSMLP_F16, ex), B("w", DSMLP_F16, ew), B("x", DSMLP_F64, ex)};
    TU_CHECK(ctx, dsmlp_reference_run(g, 1, bs, NB(bs)), DSMLP_ERR_INVALID_ARG);
    TU_MSG_HAS(ctx, "input 'x' is bound twice (bindings 0 and 2)");
}
END_TEST

START_TEST(output_bound_twice_gets_both)
{
    small_graph();
    for (int i = 0; i < 8; i++) dsmlpB_dtype_store(DSMLP_F16, ex, i, 0.1 * (i + 1)), dsmlpB_dtype_store(DSMLP_F16, ew, i, 1.0 / 3);
    uint16_t yh[4];
    double yd[4];
    dsmlp_host_tensor bs[] = {B("x", DSMLP_F16, ex), B("w", DSMLP_F16, ew), B("y", DSMLP_F16, yh),
                              B("y", DSMLP_F64, yd)};
    TU_OK(ctx, dsmlp_reference_run_f64(g, 2, bs, NB(bs)));
    for (int i = 0; i < 4; i++) {
        ck_assert_uint_eq(yh[i], dsmlpB_dtype_f64_to_f16(yd[i]));
        ck_assert(dsmlpB_dtype_round(DSMLP_F16, yd[i]) != yd[i]);   /* F64 got the unrounded value */
    }
}
END_TEST

START_TEST(err_corrupt_graph_does_not_crash)
{
    small_graph();   /* x0 w1 matmul2 output3 */
    dsmlp_host_tensor bs[] = {B("x", DSMLP_F16, ex), B("w", DSMLP_F16, ew)};
    g->nodes[2].src[1] = 3;   /* a forward reference */
    TU_CHECK(ctx, dsmlp_reference_run(g, 1, bs, NB(bs)), DSMLP_ERR_INVALID_ARG);
    TU_MSG_HAS(ctx, "graph 't': value 2 (matmul) reads value 3, which does not precede it");
    g->nodes[2].src[1] = 1;
    dsmlp_value r;
    TU_OK(ctx, dsmlp_relu(g, 2, &r));
    TU_OK(ctx, dsmlp_output(g, "z", r));
    g->nodes[r].src[0] = 3;   /* reads the output node */
    TU_CHECK(ctx, dsmlp_reference_run(g, 1, bs, NB(bs)), DSMLP_ERR_INVALID_ARG);
    TU_MSG_HAS(ctx, "value 4 (relu) reads output 'y'");
    g->nodes[r].src[0] = 1;   /* relu of a weight matrix: shapes disagree with the declared [T,2] */
    TU_CHECK(ctx, dsmlp_reference_run(g, 1, bs, NB(bs)), DSMLP_ERR_SHAPE);
    TU_MSG_HAS(ctx, "value 4 (relu) of graph 't': operand shape differs");
}
END_TEST

/* ------------------------------------------------------------ ranks */

/* y = gelu(x·W1 + b1)·W2 (+ b2 before or after the all_reduce). Each rank
** holds columns [r·I/P, (r+1)·I/P) of W1/b1 and the same rows of W2.
** bias_before: rank 0 alone adds b2 before the sum (ranks differ in shape). */
typedef struct mlp_case {
    int64_t H, I;
    dsmlp_layout layout;
    int bias_before;
} mlp_case;

static dsmlp_graph *mlp_rank_graph(const mlp_case *c, int P, int r)
{
    dsmlp_graph *gg;
    TU_OK(ctx, dsmlp_graph_create(ctx, "mlp", &gg));
    int64_t Ir = c->I / P;
    dsmlp_value x, w1, b1, w2, b2, h, hb, a, o, s, y;
    TU_OK(ctx, dsmlp_input(gg, "x", DSMLP_F32, c->H, &x));
    if (c->layout == DSMLP_LAYOUT_IN_OUT) {
        TU_OK(ctx, dsmlp_param_matrix(gg, "w1", DSMLP_F32, c->H, Ir, c->layout, &w1));
        TU_OK(ctx, dsmlp_param_matrix(gg, "w2", DSMLP_F32, Ir, c->H, c->layout, &w2));
    } else {
        TU_OK(ctx, dsmlp_param_matrix(gg, "w1", DSMLP_F32, Ir, c->H, c->layout, &w1));
        TU_OK(ctx, dsmlp_param_matrix(gg, "w2", DSMLP_F32, c->H, Ir, c->layout, &w2));
    }
    TU_OK(ctx, dsmlp_param_vector(gg, "b1", DSMLP_F32, Ir, &b1));
    if (!c->bias_before || r == 0) TU_OK(ctx, dsmlp_param_vector(gg, "b2", DSMLP_F32, c->H, &b2));
    TU_OK(ctx, dsmlp_matmul(gg, x, w1, &h));
    TU_OK(ctx, dsmlp_bias(gg, h, b1, &hb));
    TU_OK(ctx, dsmlp_gelu_tanh(gg, hb, &a));
    TU_OK(ctx, dsmlp_matmul(gg, a, w2, &o));
    if (c->bias_before) {
        if (r == 0) TU_OK(ctx, dsmlp_bias(gg, o, b2, &o));
        TU_OK(ctx, dsmlp_all_reduce(gg, o, &y));
    } else {
        TU_OK(ctx, dsmlp_all_reduce(gg, o, &s));
        TU_OK(ctx, dsmlp_bias(gg, s, b2, &y));
    }
    TU_OK(ctx, dsmlp_output(gg, "y", y));
    return gg;
}

/* Shard r of P: W1 output columns and W2 input rows, for either layout. */
static void shard(const mlp_case *c, int P, int r, const double *w1, const double *b1, const double *w2, double *s1,
                  double *sb1, double *s2)
{
    int64_t H = c->H, I = c->I, Ir = I / P, o0 = r * Ir;
    for (int64_t k = 0; k < H; k++)
        for (int64_t j = 0; j < Ir; j++) {
            if (c->layout == DSMLP_LAYOUT_IN_OUT) {
                s1[k * Ir + j] = w1[k * I + o0 + j];      /* W1 [H,I]: column shard */
                s2[j * H + k] = w2[(o0 + j) * H + k];     /* W2 [I,H]: row shard    */
            } else {
                s1[j * H + k] = w1[(o0 + j) * H + k];     /* W1 [I,H]: row shard    */
                s2[k * Ir + j] = w2[k * I + o0 + j];      /* W2 [H,I]: column shard */
            }
        }
    for (int64_t j = 0; j < Ir; j++) sb1[j] = b1[o0 + j];
}

START_TEST(ranks_equal_single)
{
    const int64_t T = 9;
    mlp_case cases[] = {{24, 64, DSMLP_LAYOUT_IN_OUT, 0}, {24, 64, DSMLP_LAYOUT_OUT_IN, 0},
                        {40, 96, DSMLP_LAYOUT_IN_OUT, 1}, {40, 96, DSMLP_LAYOUT_OUT_IN, 1}};
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        const mlp_case *c = &cases[ci];
        int64_t H = c->H, I = c->I;
        double *x = rnd(DSMLP_F32, T * H, 1), *w1 = rnd(DSMLP_F32, H * I, 0.3), *b1 = rnd(DSMLP_F32, I, 1),
               *w2 = rnd(DSMLP_F32, I * H, 0.3), *b2 = rnd(DSMLP_F32, H, 1), *ref = poisoned(T * H);
        dsmlp_graph *g1 = mlp_rank_graph(c, 1, 0);
        dsmlp_host_tensor b[] = {B("x", DSMLP_F64, x), B("w1", DSMLP_F64, w1), B("b1", DSMLP_F64, b1),
                                 B("w2", DSMLP_F64, w2), B("b2", DSMLP_F64, b2), B("y", DSMLP_F64, ref)};
        TU_OK(ctx, dsmlp_reference_run_f64(g1, T, b, NB(b)));
        /* P = 1 through run_ranks is the same computation. */
        double *one = poisoned(T * H);
        b[5].data = one;
        const dsmlp_host_tensor *bp1[1] = {b};
        int nb1 = NB(b);
        TU_OK(ctx, dsmlp_reference_run_ranks_f64(&g1, 1, T, bp1, &nb1));
        ck_assert_mem_eq(one, ref, T * H * sizeof(double));
        free(one);
        dsmlp_graph_free(g1);
        for (int P = 2; P <= 4; P += 2) {
            dsmlp_graph *gs[4];
            dsmlp_host_tensor bt[4][6];
            const dsmlp_host_tensor *bp[4];
            int nb[4];
            double *sh[4][4];
            for (int r = 0; r < P; r++) {
                gs[r] = mlp_rank_graph(c, P, r);
                sh[r][0] = malloc(H * I / P * sizeof(double));
                sh[r][1] = malloc(I / P * sizeof(double));
                sh[r][2] = malloc(I * H / P * sizeof(double));
                sh[r][3] = poisoned(T * H);
                shard(c, P, r, w1, b1, w2, sh[r][0], sh[r][1], sh[r][2]);
                dsmlp_host_tensor row[6] = {B("x", DSMLP_F64, x), B("w1", DSMLP_F64, sh[r][0]),
                                            B("b1", DSMLP_F64, sh[r][1]), B("w2", DSMLP_F64, sh[r][2]),
                                            B("b2", DSMLP_F64, b2), B("y", DSMLP_F64, sh[r][3])};
                memcpy(bt[r], row, sizeof row);
                bp[r] = bt[r];
                nb[r] = 6;
                if (c->bias_before && r > 0) bt[r][4] = bt[r][5], nb[r] = 5;   /* no b2 on ranks > 0 */
            }
            TU_OK(ctx, dsmlp_reference_run_ranks_f64(gs, P, T, bp, nb));
            for (int r = 0; r < P; r++) {
                double e = tu_max_abs_diff(sh[r][3], ref, T * H);
                ck_assert_msg(e <= 1e-12, "case %zu P=%d rank %d: max |diff| %g", ci, P, r, e);
                ck_assert_mem_eq(sh[r][3], sh[0][3], T * H * sizeof(double));   /* every rank got the same sum */
            }
            /* the plain call rounds to the output's dtype (f32) on every rank */
            double *raw = malloc(T * H * sizeof *raw);
            memcpy(raw, sh[0][3], T * H * sizeof *raw);
            TU_OK(ctx, dsmlp_reference_run_ranks(gs, P, T, bp, nb));
            for (int r = 0; r < P; r++)
                for (int64_t i = 0; i < T * H; i++) ck_assert_double_eq(sh[r][3][i], (double)(float)raw[i]);
            free(raw);
            for (int r = 0; r < P; r++) {
                for (int k = 0; k < 4; k++) free(sh[r][k]);
                dsmlp_graph_free(gs[r]);
            }
        }
        free(x), free(w1), free(b1), free(w2), free(b2), free(ref);
    }
}
END_TEST

START_TEST(err_ranks_mismatch)
{
    mlp_case c = {8, 16, DSMLP_LAYOUT_IN_OUT, 0};
    dsmlp_graph *gs[2] = {mlp_rank_graph(&c, 2, 0), NULL};
    /* rank 1: the same sizes but no all_reduce */
    TU_OK(ctx, dsmlp_graph_create(ctx, "plain", &gs[1]));
    dsmlp_value x, y;
    TU_OK(ctx, dsmlp_input(gs[1], "x", DSMLP_F32, 8, &x));
    TU_OK(ctx, dsmlp_relu(gs[1], x, &y));
    TU_OK(ctx, dsmlp_output(gs[1], "y", y));
    double buf[256] = {1};
    dsmlp_host_tensor b0[] = {B("x", DSMLP_F64, buf), B("w1", DSMLP_F64, buf), B("b1", DSMLP_F64, buf),
                              B("w2", DSMLP_F64, buf), B("b2", DSMLP_F64, buf)};
    dsmlp_host_tensor b1[] = {B("x", DSMLP_F64, buf)};
    const dsmlp_host_tensor *bp[2] = {b0, b1};
    int nb[2] = {NB(b0), NB(b1)};
    TU_CHECK(ctx, dsmlp_reference_run_ranks(gs, 2, 1, bp, nb), DSMLP_ERR_INVALID_ARG);
    TU_MSG_HAS(ctx, "reference_run_ranks: rank 1's graph 'plain' has 0 all_reduce ops but rank 0's graph 'mlp' has 1");
    dsmlp_graph_free(gs[1]);

    /* rank 1 sums a wider value */
    TU_OK(ctx, dsmlp_graph_create(ctx, "wide", &gs[1]));
    TU_OK(ctx, dsmlp_input(gs[1], "x", DSMLP_F32, 10, &x));
    TU_OK(ctx, dsmlp_all_reduce(gs[1], x, &y));
    TU_CHECK(ctx, dsmlp_reference_run_ranks(gs, 2, 1, bp, nb), DSMLP_ERR_SHAPE);
    TU_MSG_HAS(ctx, "all_reduce #0: rank 1 sums f32[T,10] (value 1) but rank 0 sums f32[T,8]");

    /* a binding error names its rank */
    nb[1] = 0;
    TU_CHECK(ctx, dsmlp_reference_run_ranks(gs, 2, 1, bp, nb), DSMLP_ERR_NOT_FOUND);
    TU_MSG_HAS(ctx, "reference_run_ranks: rank 1: input 'x' (f32[T,10]) of graph 'wide' is not bound");
    dsmlp_graph_free(gs[1]);
    dsmlp_graph_free(gs[0]);
}
END_TEST

/* ------------------------------------------------------------ threads */

START_TEST(threads_bit_identical)
{
    /* Big enough for many GEMM tiles (T > 192 rows, N > 128 columns, K > 256). */
    const int64_t T = 203, H = 300, N = 260;
    dsmlp_value x, gm, w1, w2, n, h, a, o, y;
    TU_OK(ctx, dsmlp_input(g, "x", DSMLP_BF16, H, &x));
    TU_OK(ctx, dsmlp_param_vector(g, "g", DSMLP_BF16, H, &gm));
    TU_OK(ctx, dsmlp_param_matrix(g, "w1", DSMLP_BF16, H, 2 * N, DSMLP_LAYOUT_IN_OUT, &w1));
    TU_OK(ctx, dsmlp_param_matrix(g, "w2", DSMLP_BF16, H, N, DSMLP_LAYOUT_OUT_IN, &w2));
    TU_OK(ctx, dsmlp_rmsnorm(g, x, gm, 1e-6, &n));
    TU_OK(ctx, dsmlp_matmul(g, n, w1, &h));
    TU_OK(ctx, dsmlp_gated(g, h, DSMLP_ACT_SILU, &a));
    TU_OK(ctx, dsmlp_matmul(g, a, w2, &o));
    TU_OK(ctx, dsmlp_add(g, o, x, &y));
    TU_OK(ctx, dsmlp_output(g, "y", y));
    void *xv = tu_random(DSMLP_BF16, T * H, 1), *gv = tu_random(DSMLP_BF16, H, 1),
         *w1v = tu_random(DSMLP_BF16, H * 2 * N, 0.1), *w2v = tu_random(DSMLP_BF16, N * H, 0.1);
    double *out[3];
    int threads[3] = {1, 4, 0};
    for (int i = 0; i < 3; i++) {
        out[i] = poisoned(T * H);
        dsmlp_host_tensor bs[] = {B("x", DSMLP_BF16, xv), B("g", DSMLP_BF16, gv), B("w1", DSMLP_BF16, w1v),
                                  B("w2", DSMLP_BF16, w2v), B("y", DSMLP_F64, out[i])};
        dsmlp_reference_set_threads(ctx, threads[i]);
        TU_OK(ctx, dsmlp_reference_run_f64(g, T, bs, NB(bs)));
    }
    for (int64_t i = 0; i < T * H; i++) ck_assert(isfinite(out[0][i]));
    ck_assert_mem_eq(out[0], out[1], T * H * sizeof(double));
    ck_assert_mem_eq(out[0], out[2], T * H * sizeof(double));
    /* The portable GEMM is thread-invariant too, and agrees to rounding. */
    set_portable(ctx, 1);
    double *port[2];
    for (int i = 0; i < 2; i++) {
        port[i] = poisoned(T * H);
        dsmlp_host_tensor bs[] = {B("x", DSMLP_BF16, xv), B("g", DSMLP_BF16, gv), B("w1", DSMLP_BF16, w1v),
                                  B("w2", DSMLP_BF16, w2v), B("y", DSMLP_F64, port[i])};
        dsmlp_reference_set_threads(ctx, threads[i]);
        TU_OK(ctx, dsmlp_reference_run_f64(g, T, bs, NB(bs)));
    }
    set_portable(ctx, 0);
    ck_assert_mem_eq(port[0], port[1], T * H * sizeof(double));
    double worst = 0;
    for (int64_t i = 0; i < T * H; i++) worst = fmax(worst, fabs(port[0][i] - out[0][i]) / (1 + fabs(out[0][i])));
    ck_assert_msg(worst < 1e-13, "portable vs vector GEMM differ by %g", worst);
    free(port[0]), free(port[1]);
    free(xv), free(gv), free(w1v), free(w2v);
    for (int i = 0; i < 3; i++) free(out[i]);
}
END_TEST

START_TEST(thread_count_rules)
{
    int cpus = (int)sysconf(_SC_NPROCESSORS_ONLN);
    ck_assert_int_eq(dsmlpR_ref_threads_effective(ctx), 1);              /* default: single-threaded */
    dsmlp_ctx_options o;
    dsmlp_ctx_options_default(&o);
    o.ref_threads = 3;                                            /* the ref_threads option (DSMLP_REF_THREADS) */
    dsmlp_ctx *c;
    TU_OK(ctx, dsmlp_ctx_create_with(&o, &c));
    ck_assert_int_eq(dsmlpR_ref_threads_effective(c), 3);                /* the default defers to the option */
    dsmlp_reference_set_threads(c, 5);
    ck_assert_int_eq(dsmlpR_ref_threads_effective(c), 5);                /* an explicit count wins */
    dsmlp_reference_set_threads(c, 0);
    ck_assert_int_eq(dsmlpR_ref_threads_effective(c), 3);                /* auto: the option first */
    dsmlp_ctx_free(c);
    o.ref_threads = 0;
    TU_OK(ctx, dsmlp_ctx_create_with(&o, &c));
    ck_assert_int_eq(dsmlpR_ref_threads_effective(c), cpus);             /* ... where 0 means every CPU */
    dsmlp_ctx_free(c);
    setenv("DSMLP_REF_THREADS", "3", 1);                          /* the environment, through from_env */
    dsmlp_ctx_options_default(&o);
    dsmlp_ctx_options_from_env(&o);
    ck_assert_int_eq(o.ref_threads, 3);
    setenv("DSMLP_REF_THREADS", "many", 1);
    dsmlp_ctx_options_default(&o);
    dsmlp_ctx_options_from_env(&o);
    ck_assert_int_eq(o.ref_threads, 1);                           /* unparsable: ignored ... */
    ck_assert_ptr_nonnull(strstr(o.warning, "DSMLP_REF_THREADS='many'"));   /* ... and said */
    unsetenv("DSMLP_REF_THREADS");
    dsmlp_reference_set_threads(ctx, -4);
    ck_assert_int_eq(dsmlpR_ref_threads_effective(ctx), cpus);
    dsmlp_reference_set_threads(ctx, 100000);
    ck_assert_int_eq(dsmlpR_ref_threads_effective(ctx), REF_MAX_THREADS);
    dsmlp_reference_set_threads(NULL, 3);                         /* ignored, no crash */
}
END_TEST

/* Opt-in timing of a big block (DSMLP_REF_BENCH=1): T=1000, H=4096, I=16384. */
START_TEST(bench_big_block)
{
    if (!getenv("DSMLP_REF_BENCH")) return;
    int64_t T = 1000, H = 4096, I = 16384;
    const char *e = getenv("DSMLP_REF_BENCH_H");
    if (e) H = atoll(e), I = 4 * H;
    dsmlp_value x, gm, bt, w1, b1, w2, b2, n, h, hb, a, o, ob, y;
    TU_OK(ctx, dsmlp_input(g, "x", DSMLP_F16, H, &x));
    TU_OK(ctx, dsmlp_param_vector(g, "g", DSMLP_F16, H, &gm));
    TU_OK(ctx, dsmlp_param_vector(g, "b", DSMLP_F16, H, &bt));
    TU_OK(ctx, dsmlp_param_matrix(g, "w1", DSMLP_F16, H, I, DSMLP_LAYOUT_IN_OUT, &w1));
    TU_OK(ctx, dsmlp_param_vector(g, "b1", DSMLP_F16, I, &b1));
    TU_OK(ctx, dsmlp_param_matrix(g, "w2", DSMLP_F16, I, H, DSMLP_LAYOUT_IN_OUT, &w2));
    TU_OK(ctx, dsmlp_param_vector(g, "b2", DSMLP_F16, H, &b2));
    TU_OK(ctx, dsmlp_layernorm(g, x, gm, bt, 1e-5, &n));
    TU_OK(ctx, dsmlp_matmul(g, n, w1, &h));
    TU_OK(ctx, dsmlp_bias(g, h, b1, &hb));
    TU_OK(ctx, dsmlp_gelu_tanh(g, hb, &a));
    TU_OK(ctx, dsmlp_matmul(g, a, w2, &o));
    TU_OK(ctx, dsmlp_bias(g, o, b2, &ob));
    TU_OK(ctx, dsmlp_add(g, ob, x, &y));
    TU_OK(ctx, dsmlp_output(g, "y", y));
    void *xv = tu_random(DSMLP_F16, T * H, 1), *gv = tu_random(DSMLP_F16, H, 1), *bv = tu_random(DSMLP_F16, H, 1),
         *w1v = tu_random(DSMLP_F16, H * I, 0.02), *b1v = tu_random(DSMLP_F16, I, 1),
         *w2v = tu_random(DSMLP_F16, I * H, 0.02), *b2v = tu_random(DSMLP_F16, H, 1), *yv = malloc(T * H * 2);
    dsmlp_host_tensor bs[] = {B("x", DSMLP_F16, xv), B("g", DSMLP_F16, gv), B("b", DSMLP_F16, bv),
                              B("w1", DSMLP_F16, w1v), B("b1", DSMLP_F16, b1v), B("w2", DSMLP_F16, w2v),
                              B("b2", DSMLP_F16, b2v), B("y", DSMLP_F16, yv)};
    dsmlp_reference_set_threads(ctx, 0);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    TU_OK(ctx, dsmlp_reference_run(g, T, bs, NB(bs)));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("bench_big_block: T=%lld H=%lld I=%lld: %.3f s\n", (long long)T, (long long)H, (long long)I,
           (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec));
    free(xv), free(gv), free(bv), free(w1v), free(b1v), free(w2v), free(b2v), free(yv);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("reference");
    TCase *tc = tcase_create("reference");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, layernorm_by_hand);
    tcase_add_test(tc, layernorm_random_vs_formula);
    tcase_add_test(tc, rmsnorm_by_hand);
    tcase_add_test(tc, matmul_by_hand_both_layouts);
    tcase_add_loop_test(tc, matmul_random_vs_naive, 0, 2);
    tcase_add_test(tc, add_scale_bias_by_hand);
    tcase_add_test(tc, activations);
    tcase_add_test(tc, gated_every_activation);
    tcase_add_test(tc, dequant_matmul);
    tcase_add_test(tc, output_rounding_per_dtype);
    tcase_add_test(tc, f64_inputs_match_native_inputs);
    tcase_add_test(tc, unbound_output_is_allowed);
    tcase_add_test(tc, output_may_alias_input);
    tcase_add_test(tc, err_missing_binding);
    tcase_add_test(tc, err_unknown_name);
    tcase_add_test(tc, err_bad_dtype);
    tcase_add_test(tc, err_zero_tokens);
    tcase_add_test(tc, err_null_data_and_args);
    tcase_add_test(tc, err_bound_twice);
    tcase_add_test(tc, output_bound_twice_gets_both);
    tcase_add_test(tc, err_corrupt_graph_does_not_crash);
    tcase_add_test(tc, ranks_equal_single);
    tcase_add_test(tc, err_ranks_mismatch);
    tcase_add_test(tc, threads_bit_identical);
    tcase_add_test(tc, thread_count_rules);
    tcase_add_test(tc, bench_big_block);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
