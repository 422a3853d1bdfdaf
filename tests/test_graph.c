/* test_graph.c — op graph IR: shape/dtype inference of every op, dump, equality, use counts, growth. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "compiler/graph.h"

static dsmlp_ctx   *ctx;
static dsmlp_graph *g;

static void setup(void)
{
    ctx = tu_ctx();
    TU_OK(ctx, dsmlp_graph_create(ctx, "t", &g));
}

static void teardown(void)
{
    dsmlp_graph_free(g);
    dsmlp_ctx_free(ctx);
}

/* Asserts value v is an activation [T,n] of dtype dt made by op. */
static void expect_act(dsmlp_value v, dsmlp_op op, dsmlp_dtype dt, int64_t n)
{
    dsmlp_value_info in;
    TU_OK(ctx, dsmlp_value_get(g, v, &in));
    ck_assert_str_eq(dsmlp_op_name(in.op), dsmlp_op_name(op));
    ck_assert_int_eq(in.dtype, dt);
    ck_assert_int_eq(in.tokens, 1);
    ck_assert_int_eq(in.rank, 2);
    ck_assert_int_eq(in.dims[1], n);
}

START_TEST(leaves)
{
    dsmlp_value x, v, w, q;
    TU_OK(ctx, dsmlp_input(g, "x", DSMLP_BF16, 4096, &x));
    TU_OK(ctx, dsmlp_param_vector(g, "b.0", DSMLP_F32, 1024, &v));
    TU_OK(ctx, dsmlp_param_matrix(g, "W_1", DSMLP_F16, 1024, 16384, DSMLP_LAYOUT_IN_OUT, &w));
    TU_OK(ctx, dsmlp_param_matrix(g, "q", DSMLP_I8, 512, 64, DSMLP_LAYOUT_OUT_IN, &q));
    ck_assert_int_eq(x, 0);
    ck_assert_int_eq(q, 3);
    ck_assert_int_eq(dsmlp_graph_size(g), 4);
    expect_act(x, DSMLP_OP_INPUT, DSMLP_BF16, 4096);
    dsmlp_value_info in;
    TU_OK(ctx, dsmlp_value_get(g, x, &in));
    ck_assert_str_eq(in.name, "x");
    ck_assert_int_eq(in.nsrc, 0);
    ck_assert_int_eq(in.src[0], DSMLP_NONE);
    TU_OK(ctx, dsmlp_value_get(g, v, &in));
    ck_assert_int_eq(in.op, DSMLP_OP_PARAM);
    ck_assert_int_eq(in.tokens, 0);
    ck_assert_int_eq(in.rank, 1);
    ck_assert_int_eq(in.dims[0], 1024);
    ck_assert_int_eq(in.dtype, DSMLP_F32);
    ck_assert_str_eq(in.name, "b.0");
    TU_OK(ctx, dsmlp_value_get(g, w, &in));
    ck_assert_int_eq(in.rank, 2);
    ck_assert_int_eq(in.tokens, 0);
    ck_assert_int_eq(in.dims[0], 1024);
    ck_assert_int_eq(in.dims[1], 16384);
    ck_assert_int_eq(in.layout, DSMLP_LAYOUT_IN_OUT);
    TU_OK(ctx, dsmlp_value_get(g, q, &in));
    ck_assert_int_eq(in.dtype, DSMLP_I8);
    ck_assert_int_eq(in.layout, DSMLP_LAYOUT_OUT_IN);
    ck_assert_str_eq(dsmlp_graph_name(g), "t");
    ck_assert_ptr_eq(dsmlp_graph_ctx(g), ctx);
    /* dsmlpC_graph_find knows names per op */
    ck_assert_int_eq(dsmlpC_graph_find(g, DSMLP_OP_PARAM, "W_1"), w);
    ck_assert_int_eq(dsmlpC_graph_find(g, DSMLP_OP_INPUT, "W_1"), DSMLP_NONE);
    ck_assert_int_eq(dsmlpC_graph_find(g, DSMLP_OP_INPUT, "x"), x);
    ck_assert_int_eq(dsmlpC_graph_find(g, DSMLP_OP_INPUT, "nope"), DSMLP_NONE);
}
END_TEST

START_TEST(elementwise_inference)
{
    static const dsmlp_dtype dts[] = {DSMLP_F32, DSMLP_F16, DSMLP_BF16};
    for (int d = 0; d < 3; d++) {
        dsmlp_graph_free(g);
        TU_OK(ctx, dsmlp_graph_create(ctx, "e", &g));
        dsmlp_dtype dt = dts[d];
        dsmlp_value a, b, s, v, y;
        TU_OK(ctx, dsmlp_input(g, "a", dt, 896, &a));
        TU_OK(ctx, dsmlp_input(g, "b", dt, 896, &b));
        TU_OK(ctx, dsmlp_add(g, a, b, &s));
        expect_act(s, DSMLP_OP_ADD, dt, 896);
        TU_OK(ctx, dsmlp_scale(g, s, -0.25, &y));
        expect_act(y, DSMLP_OP_SCALE, dt, 896);
        dsmlp_value_info in;
        TU_OK(ctx, dsmlp_value_get(g, y, &in));
        ck_assert(in.attr == -0.25);
        TU_OK(ctx, dsmlp_param_vector(g, "bias", dt, 896, &v));
        TU_OK(ctx, dsmlp_bias(g, y, v, &y));
        expect_act(y, DSMLP_OP_BIAS, dt, 896);
        TU_OK(ctx, dsmlp_value_get(g, y, &in));
        ck_assert_int_eq(in.nsrc, 2);
        ck_assert_int_eq(in.src[1], v);
        static const dsmlp_op ops[] = {DSMLP_OP_GELU_TANH, DSMLP_OP_GELU_ERF, DSMLP_OP_RELU, DSMLP_OP_SILU};
        for (int k = 0; k < DSMLP_ACT_COUNT; k++) {
            dsmlp_value z;
            TU_OK(ctx, dsmlp_activation(g, y, (dsmlp_act)k, &z));
            expect_act(z, ops[k], dt, 896);
            TU_OK(ctx, dsmlp_value_get(g, z, &in));
            ck_assert_int_eq(in.act, k);
            ck_assert_int_eq(in.src[0], y);
        }
        dsmlp_value z1, z2, z3, z4;
        TU_OK(ctx, dsmlp_gelu_tanh(g, y, &z1));
        TU_OK(ctx, dsmlp_gelu_erf(g, y, &z2));
        TU_OK(ctx, dsmlp_relu(g, y, &z3));
        TU_OK(ctx, dsmlp_silu(g, y, &z4));
        expect_act(z1, DSMLP_OP_GELU_TANH, dt, 896);
        expect_act(z2, DSMLP_OP_GELU_ERF, dt, 896);
        expect_act(z3, DSMLP_OP_RELU, dt, 896);
        expect_act(z4, DSMLP_OP_SILU, dt, 896);
        dsmlp_value gt, ar;
        TU_OK(ctx, dsmlp_gated(g, z4, DSMLP_ACT_SILU, &gt));
        expect_act(gt, DSMLP_OP_GATED, dt, 448);
        TU_OK(ctx, dsmlp_value_get(g, gt, &in));
        ck_assert_int_eq(in.act, DSMLP_ACT_SILU);
        TU_OK(ctx, dsmlp_all_reduce(g, gt, &ar));
        expect_act(ar, DSMLP_OP_ALL_REDUCE, dt, 448);
        TU_OK(ctx, dsmlp_output(g, "out", ar));
        expect_act(dsmlp_graph_size(g) - 1, DSMLP_OP_OUTPUT, dt, 448);
        TU_OK(ctx, dsmlp_value_get(g, dsmlp_graph_size(g) - 1, &in));
        ck_assert_str_eq(in.name, "out");
        ck_assert_int_eq(in.src[0], ar);
    }
}
END_TEST

START_TEST(norm_inference)
{
    dsmlp_value x, ga, be, ln, ln2, rn;
    TU_OK(ctx, dsmlp_input(g, "x", DSMLP_F16, 4544, &x));
    TU_OK(ctx, dsmlp_param_vector(g, "gamma", DSMLP_F16, 4544, &ga));
    TU_OK(ctx, dsmlp_param_vector(g, "beta", DSMLP_F16, 4544, &be));
    TU_OK(ctx, dsmlp_layernorm(g, x, ga, be, 1e-5, &ln));
    expect_act(ln, DSMLP_OP_LAYERNORM, DSMLP_F16, 4544);
    dsmlp_value_info in;
    TU_OK(ctx, dsmlp_value_get(g, ln, &in));
    ck_assert_int_eq(in.nsrc, 3);
    ck_assert_int_eq(in.src[0], x);
    ck_assert_int_eq(in.src[1], ga);
    ck_assert_int_eq(in.src[2], be);
    ck_assert(in.attr == 1e-5);
    TU_OK(ctx, dsmlp_layernorm(g, x, ga, DSMLP_NONE, 1e-12, &ln2));
    TU_OK(ctx, dsmlp_value_get(g, ln2, &in));
    ck_assert_int_eq(in.nsrc, 2);
    ck_assert_int_eq(in.src[2], DSMLP_NONE);
    ck_assert(in.attr == 1e-12);
    TU_OK(ctx, dsmlp_rmsnorm(g, ln2, ga, 1e-6, &rn));
    expect_act(rn, DSMLP_OP_RMSNORM, DSMLP_F16, 4544);
    TU_OK(ctx, dsmlp_value_get(g, rn, &in));
    ck_assert_int_eq(in.nsrc, 2);
    ck_assert(in.attr == 1e-6);
}
END_TEST

START_TEST(matmul_inference)
{
    dsmlp_value x, w_io, w_oi, y1, y2, q, s, dq, y3;
    TU_OK(ctx, dsmlp_input(g, "x", DSMLP_F16, 4096, &x));
    TU_OK(ctx, dsmlp_param_matrix(g, "w_io", DSMLP_F16, 4096, 11008, DSMLP_LAYOUT_IN_OUT, &w_io));
    TU_OK(ctx, dsmlp_param_matrix(g, "w_oi", DSMLP_F16, 1232, 4096, DSMLP_LAYOUT_OUT_IN, &w_oi));
    TU_OK(ctx, dsmlp_matmul(g, x, w_io, &y1));
    expect_act(y1, DSMLP_OP_MATMUL, DSMLP_F16, 11008);
    TU_OK(ctx, dsmlp_matmul(g, x, w_oi, &y2));
    expect_act(y2, DSMLP_OP_MATMUL, DSMLP_F16, 1232);
    /* int8 weight [out=2048, in=4096] with 16 groups of 128 rows, dequantized to f16 */
    TU_OK(ctx, dsmlp_param_matrix(g, "wq", DSMLP_I8, 2048, 4096, DSMLP_LAYOUT_OUT_IN, &q));
    TU_OK(ctx, dsmlp_param_vector(g, "wq_scales", DSMLP_F32, 16, &s));
    TU_OK(ctx, dsmlp_dequant(g, q, s, 16, DSMLP_F16, &dq));
    dsmlp_value_info in;
    TU_OK(ctx, dsmlp_value_get(g, dq, &in));
    ck_assert_int_eq(in.op, DSMLP_OP_DEQUANT);
    ck_assert_int_eq(in.dtype, DSMLP_F16);
    ck_assert_int_eq(in.tokens, 0);
    ck_assert_int_eq(in.rank, 2);
    ck_assert_int_eq(in.dims[0], 2048);
    ck_assert_int_eq(in.dims[1], 4096);
    ck_assert_int_eq(in.layout, DSMLP_LAYOUT_OUT_IN);
    ck_assert_int_eq(in.groups, 16);
    ck_assert_int_eq(in.nsrc, 2);
    ck_assert_int_eq(in.src[0], q);
    ck_assert_int_eq(in.src[1], s);
    TU_OK(ctx, dsmlp_matmul(g, x, dq, &y3));
    expect_act(y3, DSMLP_OP_MATMUL, DSMLP_F16, 2048);
    /* the same int8 weight dequantized to bf16 and f32 feeds matmuls of those dtypes */
    dsmlp_value xb, dqb, yb, xf, dqf, yf;
    TU_OK(ctx, dsmlp_input(g, "xb", DSMLP_BF16, 4096, &xb));
    TU_OK(ctx, dsmlp_dequant(g, q, s, 16, DSMLP_BF16, &dqb));
    TU_OK(ctx, dsmlp_matmul(g, xb, dqb, &yb));
    expect_act(yb, DSMLP_OP_MATMUL, DSMLP_BF16, 2048);
    TU_OK(ctx, dsmlp_input(g, "xf", DSMLP_F32, 4096, &xf));
    TU_OK(ctx, dsmlp_dequant(g, q, s, 16, DSMLP_F32, &dqf));
    TU_OK(ctx, dsmlp_matmul(g, xf, dqf, &yf));
    expect_act(yf, DSMLP_OP_MATMUL, DSMLP_F32, 2048);
}
END_TEST

/* A LLaMA-like block, used for dump and equality. */
static void build_block(dsmlp_graph *gr, int64_t h, double eps, dsmlp_layout lay)
{
    dsmlp_ctx *c = dsmlp_graph_ctx(gr);
    dsmlp_value x, r, nw, w1, w2, s, n, u, a, d, o;
    TU_OK(c, dsmlp_input(gr, "input", DSMLP_F16, h, &x));
    TU_OK(c, dsmlp_input(gr, "residual", DSMLP_F16, h, &r));
    TU_OK(c, dsmlp_param_vector(gr, "norm_w", DSMLP_F16, h, &nw));
    int64_t i2 = 2 * 3 * h;
    if (lay == DSMLP_LAYOUT_IN_OUT) {
        TU_OK(c, dsmlp_param_matrix(gr, "w1", DSMLP_F16, h, i2, lay, &w1));
        TU_OK(c, dsmlp_param_matrix(gr, "w2", DSMLP_F16, i2 / 2, h, lay, &w2));
    } else {
        TU_OK(c, dsmlp_param_matrix(gr, "w1", DSMLP_F16, i2, h, lay, &w1));
        TU_OK(c, dsmlp_param_matrix(gr, "w2", DSMLP_F16, h, i2 / 2, lay, &w2));
    }
    TU_OK(c, dsmlp_add(gr, x, r, &s));
    TU_OK(c, dsmlp_rmsnorm(gr, s, nw, eps, &n));
    TU_OK(c, dsmlp_matmul(gr, n, w1, &u));
    TU_OK(c, dsmlp_gated(gr, u, DSMLP_ACT_SILU, &a));
    TU_OK(c, dsmlp_matmul(gr, a, w2, &d));
    TU_OK(c, dsmlp_add(gr, d, s, &o));
    TU_OK(c, dsmlp_output(gr, "out", o));
}

START_TEST(dump_format)
{
    build_block(g, 64, 1e-5, DSMLP_LAYOUT_IN_OUT);
    char *text = NULL;
    TU_OK(ctx, dsmlp_graph_dump(g, &text));
    const char *want =
        "%0 = input(name=\"input\") : f16[T,64]\n"
        "%1 = input(name=\"residual\") : f16[T,64]\n"
        "%2 = param(name=\"norm_w\") : f16[64]\n"
        "%3 = param(name=\"w1\") : f16[64,384] [in,out]\n"
        "%4 = param(name=\"w2\") : f16[192,64] [in,out]\n"
        "%5 = add(%0, %1) : f16[T,64]\n"
        "%6 = rmsnorm(%5, %2, eps=1e-05) : f16[T,64]\n"
        "%7 = matmul(%6, %3) : f16[T,384]\n"
        "%8 = gated(%7, act=silu) : f16[T,192]\n"
        "%9 = matmul(%8, %4) : f16[T,64]\n"
        "%10 = add(%9, %5) : f16[T,64]\n"
        "%11 = output(%10, name=\"out\") : f16[T,64]\n";
    ck_assert_str_eq(text, want);
    /* deterministic: a second dump is byte-identical */
    char *again = NULL;
    TU_OK(ctx, dsmlp_graph_dump(g, &again));
    ck_assert_str_eq(text, again);
    dsmlp_free(text);
    dsmlp_free(again);
}
END_TEST

START_TEST(dump_every_op)
{
    dsmlp_value x, ga, be, ln, sc, q, s, dq, y, b, ar, r;
    TU_OK(ctx, dsmlp_input(g, "x", DSMLP_BF16, 128, &x));
    TU_OK(ctx, dsmlp_param_vector(g, "ga", DSMLP_BF16, 128, &ga));
    TU_OK(ctx, dsmlp_param_vector(g, "be", DSMLP_BF16, 128, &be));
    TU_OK(ctx, dsmlp_layernorm(g, x, ga, be, 1e-5, &ln));
    TU_OK(ctx, dsmlp_layernorm(g, x, ga, DSMLP_NONE, 0.1, &ln));
    TU_OK(ctx, dsmlp_scale(g, ln, 0.125, &sc));
    TU_OK(ctx, dsmlp_param_matrix(g, "q", DSMLP_I8, 256, 128, DSMLP_LAYOUT_OUT_IN, &q));
    TU_OK(ctx, dsmlp_param_vector(g, "s", DSMLP_F32, 4, &s));
    TU_OK(ctx, dsmlp_dequant(g, q, s, 4, DSMLP_BF16, &dq));
    TU_OK(ctx, dsmlp_matmul(g, sc, dq, &y));
    TU_OK(ctx, dsmlp_param_vector(g, "b", DSMLP_BF16, 256, &b));
    TU_OK(ctx, dsmlp_bias(g, y, b, &y));
    TU_OK(ctx, dsmlp_gelu_erf(g, y, &y));
    TU_OK(ctx, dsmlp_gated(g, y, DSMLP_ACT_GELU_TANH, &y));
    TU_OK(ctx, dsmlp_relu(g, y, &r));
    TU_OK(ctx, dsmlp_all_reduce(g, r, &ar));
    TU_OK(ctx, dsmlp_output(g, "y", ar));
    char *text = NULL;
    TU_OK(ctx, dsmlp_graph_dump(g, &text));
    const char *want =
        "%0 = input(name=\"x\") : bf16[T,128]\n"
        "%1 = param(name=\"ga\") : bf16[128]\n"
        "%2 = param(name=\"be\") : bf16[128]\n"
        "%3 = layernorm(%0, %1, %2, eps=1e-05) : bf16[T,128]\n"
        "%4 = layernorm(%0, %1, eps=0.1) : bf16[T,128]\n"
        "%5 = scale(%4, c=0.125) : bf16[T,128]\n"
        "%6 = param(name=\"q\") : i8[256,128] [out,in]\n"
        "%7 = param(name=\"s\") : f32[4]\n"
        "%8 = dequant(%6, %7, groups=4) : bf16[256,128] [out,in]\n"
        "%9 = matmul(%5, %8) : bf16[T,256]\n"
        "%10 = param(name=\"b\") : bf16[256]\n"
        "%11 = bias(%9, %10) : bf16[T,256]\n"
        "%12 = gelu_erf(%11) : bf16[T,256]\n"
        "%13 = gated(%12, act=gelu_tanh) : bf16[T,128]\n"
        "%14 = relu(%13) : bf16[T,128]\n"
        "%15 = all_reduce(%14) : bf16[T,128]\n"
        "%16 = output(%15, name=\"y\") : bf16[T,128]\n";
    ck_assert_str_eq(text, want);
    dsmlp_free(text);
    /* an empty graph dumps as "" */
    dsmlp_graph *e;
    TU_OK(ctx, dsmlp_graph_create(ctx, "empty", &e));
    TU_OK(ctx, dsmlp_graph_dump(e, &text));
    ck_assert_str_eq(text, "");
    dsmlp_free(text);
    dsmlp_graph_free(e);
}
END_TEST

START_TEST(equality)
{
    dsmlp_graph *a, *b;
    TU_OK(ctx, dsmlp_graph_create(ctx, "a", &a));
    TU_OK(ctx, dsmlp_graph_create(ctx, "b", &b));   /* graph names do not matter */
    build_block(a, 256, 1e-6, DSMLP_LAYOUT_IN_OUT);
    build_block(b, 256, 1e-6, DSMLP_LAYOUT_IN_OUT);
    ck_assert_int_eq(dsmlp_graph_equal(a, b), 1);
    ck_assert_int_eq(dsmlp_graph_equal(a, a), 1);
    ck_assert_int_eq(dsmlp_graph_equal(a, NULL), 0);
    dsmlp_graph_free(b);

    /* differing epsilon by one ulp */
    TU_OK(ctx, dsmlp_graph_create(ctx, "b", &b));
    build_block(b, 256, nextafter(1e-6, 1.0), DSMLP_LAYOUT_IN_OUT);
    ck_assert_int_eq(dsmlp_graph_equal(a, b), 0);
    dsmlp_graph_free(b);
    /* differing layout */
    TU_OK(ctx, dsmlp_graph_create(ctx, "b", &b));
    build_block(b, 256, 1e-6, DSMLP_LAYOUT_OUT_IN);
    ck_assert_int_eq(dsmlp_graph_equal(a, b), 0);
    dsmlp_graph_free(b);
    /* differing size */
    TU_OK(ctx, dsmlp_graph_create(ctx, "b", &b));
    build_block(b, 128, 1e-6, DSMLP_LAYOUT_IN_OUT);
    ck_assert_int_eq(dsmlp_graph_equal(a, b), 0);
    dsmlp_graph_free(b);
    /* one extra node */
    TU_OK(ctx, dsmlp_graph_create(ctx, "b", &b));
    build_block(b, 256, 1e-6, DSMLP_LAYOUT_IN_OUT);
    TU_OK(ctx, dsmlp_output(b, "out2", 0));
    ck_assert_int_eq(dsmlp_graph_equal(a, b), 0);
    dsmlp_graph_free(b);
    dsmlp_graph_free(a);
}
END_TEST

/* Two one-op graphs differing in a single field are unequal. */
START_TEST(equality_fields)
{
    dsmlp_graph *a, *b;
    dsmlp_value x, y;
#define PAIR(body_a, body_b)                                      \
    do {                                                          \
        TU_OK(ctx, dsmlp_graph_create(ctx, "a", &a));             \
        TU_OK(ctx, dsmlp_graph_create(ctx, "b", &b));             \
        { dsmlp_graph *gg = a; body_a; }                          \
        { dsmlp_graph *gg = b; body_b; }                          \
        ck_assert_msg(!dsmlp_graph_equal(a, b), "%s vs %s equal", #body_a, #body_b); \
        ck_assert(dsmlp_graph_equal(a, a));                       \
        dsmlp_graph_free(a);                                      \
        dsmlp_graph_free(b);                                      \
    } while (0)
    /* name */
    PAIR(TU_OK(ctx, dsmlp_input(gg, "x", DSMLP_F16, 8, &x)), TU_OK(ctx, dsmlp_input(gg, "z", DSMLP_F16, 8, &x)));
    /* dtype */
    PAIR(TU_OK(ctx, dsmlp_input(gg, "x", DSMLP_F16, 8, &x)), TU_OK(ctx, dsmlp_input(gg, "x", DSMLP_BF16, 8, &x)));
    /* op (input vs param vector of the same size) */
    PAIR(TU_OK(ctx, dsmlp_input(gg, "x", DSMLP_F16, 8, &x)),
         TU_OK(ctx, dsmlp_param_vector(gg, "x", DSMLP_F16, 8, &x)));
    /* scale constant */
    PAIR({ TU_OK(ctx, dsmlp_input(gg, "x", DSMLP_F16, 8, &x)); TU_OK(ctx, dsmlp_scale(gg, x, 0.5, &y)); },
         { TU_OK(ctx, dsmlp_input(gg, "x", DSMLP_F16, 8, &x)); TU_OK(ctx, dsmlp_scale(gg, x, 0.25, &y)); });
    /* gated act */
    PAIR({ TU_OK(ctx, dsmlp_input(gg, "x", DSMLP_F16, 8, &x)); TU_OK(ctx, dsmlp_gated(gg, x, DSMLP_ACT_SILU, &y)); },
         { TU_OK(ctx, dsmlp_input(gg, "x", DSMLP_F16, 8, &x)); TU_OK(ctx, dsmlp_gated(gg, x, DSMLP_ACT_GELU_ERF, &y)); });
    /* activation kind */
    PAIR({ TU_OK(ctx, dsmlp_input(gg, "x", DSMLP_F16, 8, &x)); TU_OK(ctx, dsmlp_relu(gg, x, &y)); },
         { TU_OK(ctx, dsmlp_input(gg, "x", DSMLP_F16, 8, &x)); TU_OK(ctx, dsmlp_silu(gg, x, &y)); });
    /* sources */
    PAIR({ TU_OK(ctx, dsmlp_input(gg, "x", DSMLP_F16, 8, &x)); TU_OK(ctx, dsmlp_input(gg, "y", DSMLP_F16, 8, &y));
           TU_OK(ctx, dsmlp_add(gg, x, y, &y)); },
         { TU_OK(ctx, dsmlp_input(gg, "x", DSMLP_F16, 8, &x)); TU_OK(ctx, dsmlp_input(gg, "y", DSMLP_F16, 8, &y));
           TU_OK(ctx, dsmlp_add(gg, y, x, &y)); });
    /* layernorm with and without beta */
    PAIR({ TU_OK(ctx, dsmlp_input(gg, "x", DSMLP_F16, 8, &x)); TU_OK(ctx, dsmlp_param_vector(gg, "g", DSMLP_F16, 8, &y));
           TU_OK(ctx, dsmlp_layernorm(gg, x, y, y, 1e-5, &y)); },
         { TU_OK(ctx, dsmlp_input(gg, "x", DSMLP_F16, 8, &x)); TU_OK(ctx, dsmlp_param_vector(gg, "g", DSMLP_F16, 8, &y));
           TU_OK(ctx, dsmlp_layernorm(gg, x, y, DSMLP_NONE, 1e-5, &y)); });
    /* dequant groups */
    PAIR({ TU_OK(ctx, dsmlp_param_matrix(gg, "q", DSMLP_I8, 8, 8, DSMLP_LAYOUT_OUT_IN, &x));
           TU_OK(ctx, dsmlp_param_vector(gg, "s", DSMLP_F32, 2, &y)); TU_OK(ctx, dsmlp_dequant(gg, x, y, 2, DSMLP_F16, &y)); },
         { TU_OK(ctx, dsmlp_param_matrix(gg, "q", DSMLP_I8, 8, 8, DSMLP_LAYOUT_OUT_IN, &x));
           TU_OK(ctx, dsmlp_param_vector(gg, "s", DSMLP_F32, 4, &y));
           TU_OK(ctx, dsmlp_dequant(gg, x, y, 4, DSMLP_F16, &y)); });
    /* matrix dims: [8,16] vs [16,8] */
    PAIR(TU_OK(ctx, dsmlp_param_matrix(gg, "w", DSMLP_F16, 8, 16, DSMLP_LAYOUT_IN_OUT, &x)),
         TU_OK(ctx, dsmlp_param_matrix(gg, "w", DSMLP_F16, 16, 8, DSMLP_LAYOUT_IN_OUT, &x)));
#undef PAIR
}
END_TEST

START_TEST(use_counts)
{
    build_block(g, 32, 1e-5, DSMLP_LAYOUT_OUT_IN);
    int *c = dsmlpC_graph_use_counts(g);
    ck_assert_ptr_nonnull(c);
    /* %0 input, %1 residual, %2 norm_w, %3 w1, %4 w2, %5 add, %6 rmsnorm, %7 matmul, %8 gated, %9 matmul,
       %10 add, %11 output */
    static const int want[12] = {1, 1, 1, 1, 1, 2, 1, 1, 1, 1, 1, 0};
    for (int i = 0; i < 12; i++) ck_assert_msg(c[i] == want[i], "use count of %%%d is %d, want %d", i, c[i], want[i]);
    free(c);
    /* an absent beta is not a use; a value used twice by one op counts twice */
    dsmlp_graph *h;
    TU_OK(ctx, dsmlp_graph_create(ctx, "h", &h));
    dsmlp_value x, ga, ln, s;
    TU_OK(ctx, dsmlp_input(h, "x", DSMLP_F32, 16, &x));
    TU_OK(ctx, dsmlp_param_vector(h, "ga", DSMLP_F32, 16, &ga));
    TU_OK(ctx, dsmlp_layernorm(h, x, ga, DSMLP_NONE, 1e-5, &ln));
    TU_OK(ctx, dsmlp_add(h, ln, ln, &s));
    c = dsmlpC_graph_use_counts(h);
    ck_assert_int_eq(c[0], 1);
    ck_assert_int_eq(c[1], 1);
    ck_assert_int_eq(c[2], 2);
    ck_assert_int_eq(c[3], 0);
    free(c);
    dsmlp_graph_free(h);
    /* empty graph: a valid (non-NULL) array */
    TU_OK(ctx, dsmlp_graph_create(ctx, "e", &h));
    c = dsmlpC_graph_use_counts(h);
    ck_assert_ptr_nonnull(c);
    free(c);
    dsmlp_graph_free(h);
    ck_assert_ptr_null(dsmlpC_graph_use_counts(NULL));
}
END_TEST

/* 10000 nodes: the node array grows many times; ids stay dense and the values survive. */
START_TEST(growth)
{
    dsmlp_value x, b, y;
    TU_OK(ctx, dsmlp_input(g, "x", DSMLP_F32, 64, &x));
    TU_OK(ctx, dsmlp_param_vector(g, "b", DSMLP_F32, 64, &b));
    y = x;
    for (int i = 0; i < 4998; i++) {
        dsmlp_value prev = y;
        TU_OK(ctx, (i % 2 ? dsmlp_bias(g, y, b, &y) : dsmlp_add(g, y, x, &y)));
        ck_assert_int_eq(y, 2 + 2 * i);
        char name[32];
        snprintf(name, sizeof name, "o%d", i);
        TU_OK(ctx, dsmlp_output(g, name, prev));
    }
    ck_assert_int_eq(dsmlp_graph_size(g), 2 + 2 * 4998);
    ck_assert_int_eq(dsmlp_graph_size(g), 9998);
    TU_OK(ctx, dsmlp_relu(g, y, &y));
    TU_OK(ctx, dsmlp_output(g, "last", y));
    ck_assert_int_eq(dsmlp_graph_size(g), 10000);
    dsmlp_value_info in;
    TU_OK(ctx, dsmlp_value_get(g, 9999, &in));
    ck_assert_int_eq(in.op, DSMLP_OP_OUTPUT);
    ck_assert_str_eq(in.name, "last");
    ck_assert_int_eq(in.src[0], 9998);
    TU_OK(ctx, dsmlp_value_get(g, 5001, &in));
    ck_assert_str_eq(in.name, "o2499");
    ck_assert_int_eq(dsmlpC_graph_find(g, DSMLP_OP_OUTPUT, "o4000"), 3 + 2 * 4000);
    int *c = dsmlpC_graph_use_counts(g);
    ck_assert_int_eq(c[1], 4998 / 2);      /* b feeds every bias */
    ck_assert_int_eq(c[0], 4998 / 2 + 2);  /* x feeds every add, is output once, and is the first add's a */
    free(c);
    char *text = NULL;
    TU_OK(ctx, dsmlp_graph_dump(g, &text));
    ck_assert_ptr_nonnull(strstr(text, "%9999 = output(%9998, name=\"last\") : f32[T,64]\n"));
    dsmlp_free(text);
}
END_TEST

/* Ids of the fuzz graph by kind, so operands often fit. */
enum { K_ACT, K_VEC, K_VEC32, K_W, K_I8, K_COUNT };
static struct { dsmlp_value v[20000]; int n; } kinds[K_COUNT];

static dsmlp_value pick(int kind, int n0)
{
    if (tu_next() % 2 == 0 || kinds[kind].n == 0)
        return n0 ? (dsmlp_value)(tu_next() % (uint64_t)(n0 + 2)) - 1 : DSMLP_NONE;
    return kinds[kind].v[tu_next() % (uint64_t)kinds[kind].n];
}

static void note(dsmlp_value v, const dsmlp_value_info *in)
{
    int k = -1;
    if (in->op == DSMLP_OP_OUTPUT) return;
    if (in->tokens) k = K_ACT;
    else if (in->rank == 1) k = in->dtype == DSMLP_F32 && tu_next() % 2 ? K_VEC32 : K_VEC;
    else if (in->dtype == DSMLP_I8) k = in->layout == DSMLP_LAYOUT_OUT_IN ? K_I8 : -1;
    else k = K_W;
    if (k >= 0 && kinds[k].n < 20000) kinds[k].v[kinds[k].n++] = v;
}

/* Random constructor calls with random (often invalid) operands: every call either appends exactly one
   well-formed node whose operands precede it, or fails with a message and changes nothing. */
START_TEST(fuzz_invariants)
{
    static const dsmlp_dtype dts[] = {DSMLP_F32, DSMLP_F16, DSMLP_BF16, DSMLP_I8, DSMLP_F64};
    static const int64_t sizes[] = {1, 2, 3, 8, 64, 96};
    int ok = 0, failed = 0, ok_by_op[17] = {0};
    memset(kinds, 0, sizeof kinds);
    for (int it = 0; it < 20000; it++) {
        int n0 = dsmlp_graph_size(g);
        int op = (int)(tu_next() % 17);
        /* operands: half the time any id (or NONE / out of range), else one of the kind the op wants */
        int want_a = op == 11 ? K_I8 : K_ACT;
        int want_b = op == 3 ? K_ACT : op == 7 ? K_W : op == 11 ? K_VEC32 : K_VEC;
        dsmlp_value a = pick(want_a, n0), b = pick(want_b, n0), c = pick(K_VEC, n0);
        dsmlp_dtype dt = dts[tu_next() % 5];
        int64_t n = sizes[tu_next() % 6], m = sizes[tu_next() % 6];
        char name[32];
        snprintf(name, sizeof name, "v%d", (int)(tu_next() % 5000));
        dsmlp_value out = 777;
        dsmlp_status s;
        switch (op) {
        case 0: s = dsmlp_input(g, name, dt, n, &out); break;
        case 1: s = dsmlp_param_vector(g, name, dt, n, &out); break;
        case 2: s = dsmlp_param_matrix(g, name, dt, n, m, (dsmlp_layout)(tu_next() % 2), &out); break;
        case 3: s = dsmlp_add(g, a, b, &out); break;
        case 4: s = dsmlp_scale(g, a, tu_normal(), &out); break;
        case 5: s = dsmlp_layernorm(g, a, b, tu_next() % 2 ? c : DSMLP_NONE, 1e-5, &out); break;
        case 6: s = dsmlp_rmsnorm(g, a, b, 1e-6, &out); break;
        case 7: s = dsmlp_matmul(g, a, b, &out); break;
        case 8: s = dsmlp_bias(g, a, b, &out); break;
        case 9: s = dsmlp_activation(g, a, (dsmlp_act)(tu_next() % 5), &out); break;
        case 10: s = dsmlp_gated(g, a, (dsmlp_act)(tu_next() % 4), &out); break;
        case 11: s = dsmlp_dequant(g, a, b, (int64_t)(tu_next() % 4), dt, &out); break;
        case 12: s = dsmlp_all_reduce(g, a, &out); break;
        case 13: s = dsmlp_output(g, name, a); out = s == DSMLP_OK ? n0 : DSMLP_NONE; break;
        case 14: s = dsmlp_relu(g, a, &out); break;
        case 15: s = dsmlp_gelu_erf(g, a, &out); break;
        default: s = dsmlp_silu(g, a, &out); break;
        }
        if (s == DSMLP_OK) {
            ok++;
            ok_by_op[op]++;
            ck_assert_int_eq(out, n0);
            ck_assert_int_eq(dsmlp_graph_size(g), n0 + 1);
            dsmlp_value_info in;
            TU_OK(ctx, dsmlp_value_get(g, out, &in));
            ck_assert(in.nsrc >= 0 && in.nsrc <= 3);
            for (int k = 0; k < 3; k++) {
                if (k < in.nsrc) {
                    ck_assert(in.src[k] >= 0 && in.src[k] < out);
                    dsmlp_value_info sv;
                    TU_OK(ctx, dsmlp_value_get(g, in.src[k], &sv));
                    ck_assert_int_ne(sv.op, DSMLP_OP_OUTPUT);
                } else {
                    ck_assert_int_eq(in.src[k], DSMLP_NONE);
                }
            }
            note(out, &in);
            ck_assert(in.dtype == DSMLP_F32 || in.dtype == DSMLP_F16 || in.dtype == DSMLP_BF16 ||
                      (in.dtype == DSMLP_I8 && in.op == DSMLP_OP_PARAM && in.rank == 2));
            if (in.tokens) ck_assert(in.rank == 2 && in.dims[1] > 0);
            else ck_assert(in.dims[0] > 0 && (in.rank == 1 || in.dims[1] > 0));
        } else {
            failed++;
            ck_assert_int_eq(dsmlp_graph_size(g), n0);
            ck_assert_int_eq(out, DSMLP_NONE);
            ck_assert(s == DSMLP_ERR_INVALID_ARG || s == DSMLP_ERR_SHAPE || s == DSMLP_ERR_DTYPE);
            ck_assert_msg(strlen(dsmlp_last_error(ctx)) > 10, "empty message for op %d", op);
        }
    }
    for (int k = 0; k < 17; k++) ck_assert_msg(ok_by_op[k] > 0, "fuzz case %d never succeeded", k);
    /* both paths were exercised many times */
    ck_assert_int_gt(ok, 1000);
    ck_assert_int_gt(failed, 1000);
    char *text = NULL;
    TU_OK(ctx, dsmlp_graph_dump(g, &text));
    ck_assert_int_gt((int)strlen(text), dsmlp_graph_size(g) * 10);
    dsmlp_free(text);
}
END_TEST

START_TEST(op_names)
{
    static const char *want[DSMLP_OP_COUNT] = {"input", "param", "add", "scale", "layernorm", "rmsnorm",
                                               "matmul", "bias", "gelu_tanh", "gelu_erf", "relu", "silu",
                                               "gated", "dequant", "all_reduce", "output"};
    for (int i = 0; i < DSMLP_OP_COUNT; i++) ck_assert_str_eq(dsmlp_op_name((dsmlp_op)i), want[i]);
    ck_assert_str_eq(dsmlp_op_name((dsmlp_op)99), "?");
    ck_assert_str_eq(dsmlp_op_name((dsmlp_op)-1), "?");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("graph");
    TCase *tc = tcase_create("ir");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, leaves);
    tcase_add_test(tc, elementwise_inference);
    tcase_add_test(tc, norm_inference);
    tcase_add_test(tc, matmul_inference);
    tcase_add_test(tc, dump_format);
    tcase_add_test(tc, dump_every_op);
    tcase_add_test(tc, equality);
    tcase_add_test(tc, equality_fields);
    tcase_add_test(tc, use_counts);
    tcase_add_test(tc, growth);
    tcase_add_test(tc, op_names);
    tcase_add_test(tc, fuzz_invariants);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
