/*
** test_graph_errors.c — every validation error path of the graph constructors:
** one test each, asserting the status, the exact message, that nothing was
** appended and that *out became DSMLP_NONE.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "compiler/graph.h"

static dsmlp_ctx   *ctx;
static dsmlp_graph *g;
static dsmlp_value  out;

/* The fixture graph; the ids are fixed so messages can name them. */
enum {
    X = 0,     /* input  "x"     f16[T,4096]               */
    Y32,       /* input  "y"     f32[T,4096]               */
    Z,         /* input  "z"     f16[T,1024]               */
    GAM,       /* param  "gamma" f16[4096]                 */
    GAM32,     /* param  "gamma32" f32[4096]               */
    V1K,       /* param  "v1k"   f16[1024]                 */
    W_IO,      /* param  "w_io"  f16[1024,16384] [in,out]  */
    W_OI,      /* param  "w_oi"  f16[16384,1024] [out,in]  */
    Q,         /* param  "q"     i8[1024,4096] [out,in]    */
    QS,        /* param  "qs"    f32[8]                    */
    W32,       /* param  "w32"   f32[4096,1024] [in,out]   */
    ODD,       /* input  "odd"   f16[T,4097]               */
    OUT,       /* output "out"   of x                      */
    QIO,       /* param  "qio"   i8[1024,4096] [in,out]    */
    SBF,       /* param  "sbf"   bf16[8]                   */
    DQ,        /* dequant(q, qs, 8) -> f32[1024,4096] [out,in] */
    NFIX
};

static void setup(void)
{
    ctx = tu_ctx();
    TU_OK(ctx, dsmlp_graph_create(ctx, "fix", &g));
    dsmlp_value v;
    TU_OK(ctx, dsmlp_input(g, "x", DSMLP_F16, 4096, &v));
    TU_OK(ctx, dsmlp_input(g, "y", DSMLP_F32, 4096, &v));
    TU_OK(ctx, dsmlp_input(g, "z", DSMLP_F16, 1024, &v));
    TU_OK(ctx, dsmlp_param_vector(g, "gamma", DSMLP_F16, 4096, &v));
    TU_OK(ctx, dsmlp_param_vector(g, "gamma32", DSMLP_F32, 4096, &v));
    TU_OK(ctx, dsmlp_param_vector(g, "v1k", DSMLP_F16, 1024, &v));
    TU_OK(ctx, dsmlp_param_matrix(g, "w_io", DSMLP_F16, 1024, 16384, DSMLP_LAYOUT_IN_OUT, &v));
    TU_OK(ctx, dsmlp_param_matrix(g, "w_oi", DSMLP_F16, 16384, 1024, DSMLP_LAYOUT_OUT_IN, &v));
    TU_OK(ctx, dsmlp_param_matrix(g, "q", DSMLP_I8, 1024, 4096, DSMLP_LAYOUT_OUT_IN, &v));
    TU_OK(ctx, dsmlp_param_vector(g, "qs", DSMLP_F32, 8, &v));
    TU_OK(ctx, dsmlp_param_matrix(g, "w32", DSMLP_F32, 4096, 1024, DSMLP_LAYOUT_IN_OUT, &v));
    TU_OK(ctx, dsmlp_input(g, "odd", DSMLP_F16, 4097, &v));
    TU_OK(ctx, dsmlp_output(g, "out", X));
    TU_OK(ctx, dsmlp_param_matrix(g, "qio", DSMLP_I8, 1024, 4096, DSMLP_LAYOUT_IN_OUT, &v));
    TU_OK(ctx, dsmlp_param_vector(g, "sbf", DSMLP_BF16, 8, &v));
    TU_OK(ctx, dsmlp_dequant(g, Q, QS, 8, DSMLP_F32, &v));
    ck_assert_int_eq(v, DQ);
    ck_assert_int_eq(dsmlp_graph_size(g), NFIX);
}

static void teardown(void)
{
    dsmlp_graph_free(g);
    dsmlp_ctx_free(ctx);
}

static const char long_name[] = "a123456789b123456789c123456789d123456789e123456789f123456789g123"; /* 64 */

/* name, call, status, exact message, 1 if the call has an out parameter */
#define ERROR_CASES(E)                                                                                               \
    /* ---- names (input, param, output share one namespace) */                                                     \
    E(name_null, dsmlp_input(g, NULL, DSMLP_F16, 8, &out), DSMLP_ERR_INVALID_ARG, "input: name is NULL", 1)          \
    E(name_empty, dsmlp_param_vector(g, "", DSMLP_F16, 8, &out), DSMLP_ERR_INVALID_ARG, "param: name is empty", 1)   \
    E(name_too_long, dsmlp_input(g, long_name, DSMLP_F16, 8, &out), DSMLP_ERR_INVALID_ARG,                           \
      "input: name \"a123456789b123456789c123456789d123456789...\" is 64 characters long (max 63)", 1)               \
    E(name_bad_char, dsmlp_param_matrix(g, "w-1", DSMLP_F16, 8, 8, DSMLP_LAYOUT_IN_OUT, &out),                      \
      DSMLP_ERR_INVALID_ARG, "param: name \"w-1\" has the character '-' at 1 (allowed: A-Z a-z 0-9 _ .)", 1)         \
    E(name_space, dsmlp_output(g, "my out", X), DSMLP_ERR_INVALID_ARG,                                               \
      "output: name \"my out\" has the character ' ' at 2 (allowed: A-Z a-z 0-9 _ .)", 0)                            \
    E(name_bad_byte, dsmlp_input(g, "x\xc3\xa9", DSMLP_F16, 8, &out), DSMLP_ERR_INVALID_ARG,                         \
      "input: name has the byte 0xc3 at 1 (allowed: A-Z a-z 0-9 _ .)", 1)                                            \
    E(name_dup_input, dsmlp_input(g, "x", DSMLP_F16, 8, &out), DSMLP_ERR_INVALID_ARG,                                \
      "input: name \"x\" is already used by %0, the input f16[T,4096] \"x\"", 1)                                     \
    E(name_dup_param_vs_input, dsmlp_param_vector(g, "z", DSMLP_F16, 8, &out), DSMLP_ERR_INVALID_ARG,               \
      "param: name \"z\" is already used by %2, the input f16[T,1024] \"z\"", 1)                                     \
    E(name_dup_matrix, dsmlp_param_matrix(g, "w_io", DSMLP_F16, 8, 8, DSMLP_LAYOUT_IN_OUT, &out),                   \
      DSMLP_ERR_INVALID_ARG,                                                                                         \
      "param: name \"w_io\" is already used by %6, a param matrix f16[1024,16384] ([in,out]) \"w_io\"", 1)           \
    E(name_dup_output, dsmlp_output(g, "out", Z), DSMLP_ERR_INVALID_ARG,                                             \
      "output: name \"out\" is already used by %12, the output \"out\"", 0)                                          \
    E(name_dup_output_vs_param, dsmlp_output(g, "gamma", X), DSMLP_ERR_INVALID_ARG,                                  \
      "output: name \"gamma\" is already used by %3, a param vector f16[4096] \"gamma\"", 0)                         \
    /* ---- leaves: dtypes and sizes */                                                                             \
    E(input_dtype_unknown, dsmlp_input(g, "a", (dsmlp_dtype)42, 8, &out), DSMLP_ERR_INVALID_ARG,                     \
      "input: \"a\" has unknown dtype 42", 1)                                                                        \
    E(input_dtype_f64, dsmlp_input(g, "a", DSMLP_F64, 8, &out), DSMLP_ERR_DTYPE,                                     \
      "input: \"a\" has dtype f64, which is for host buffers only (graphs use f32, f16, bf16, i8, fp8)", 1)               \
    E(input_dtype_i8, dsmlp_input(g, "a", DSMLP_I8, 8, &out), DSMLP_ERR_DTYPE,                                       \
      "input: \"a\" has dtype i8, which only param matrices feeding dequant may have (use f32, f16 or bf16)", 1)     \
    E(input_n_zero, dsmlp_input(g, "a", DSMLP_F16, 0, &out), DSMLP_ERR_SHAPE,                                        \
      "input: \"a\" has n = 0; it must be > 0", 1)                                                                   \
    E(input_n_negative, dsmlp_input(g, "a", DSMLP_F16, -4096, &out), DSMLP_ERR_SHAPE,                                \
      "input: \"a\" has n = -4096; it must be > 0", 1)                                                               \
    E(input_n_huge, dsmlp_input(g, "a", DSMLP_F16, (int64_t)1 << 31, &out), DSMLP_ERR_SHAPE,                         \
      "input: \"a\" has n = 2147483648; the largest supported is 2147483647", 1)                                     \
    E(vector_dtype_i8, dsmlp_param_vector(g, "a", DSMLP_I8, 8, &out), DSMLP_ERR_DTYPE,                               \
      "param: vector \"a\" has dtype i8, which only param matrices feeding dequant may have (use f32, f16 or "       \
      "bf16)", 1)                                                                                                    \
    E(vector_dtype_f64, dsmlp_param_vector(g, "a", DSMLP_F64, 8, &out), DSMLP_ERR_DTYPE,                             \
      "param: vector \"a\" has dtype f64, which is for host buffers only (graphs use f32, f16, bf16, i8, fp8)", 1)        \
    E(vector_dtype_unknown, dsmlp_param_vector(g, "a", (dsmlp_dtype)-3, 8, &out), DSMLP_ERR_INVALID_ARG,             \
      "param: vector \"a\" has unknown dtype -3", 1)                                                                 \
    E(vector_n_zero, dsmlp_param_vector(g, "a", DSMLP_F32, 0, &out), DSMLP_ERR_SHAPE,                                \
      "param: vector \"a\" has n = 0; it must be > 0", 1)                                                            \
    E(matrix_dtype_f64, dsmlp_param_matrix(g, "a", DSMLP_F64, 8, 8, DSMLP_LAYOUT_IN_OUT, &out), DSMLP_ERR_DTYPE,    \
      "param: matrix \"a\" has dtype f64, which is for host buffers only (graphs use f32, f16, bf16, i8, fp8)", 1)        \
    E(matrix_dtype_unknown, dsmlp_param_matrix(g, "a", DSMLP_DTYPE_COUNT, 8, 8, DSMLP_LAYOUT_IN_OUT, &out),         \
      DSMLP_ERR_INVALID_ARG, "param: matrix \"a\" has unknown dtype 6", 1)                                           \
    E(matrix_rows_zero, dsmlp_param_matrix(g, "a", DSMLP_F16, 0, 8, DSMLP_LAYOUT_IN_OUT, &out), DSMLP_ERR_SHAPE,    \
      "param: matrix \"a\" has rows = 0; it must be > 0", 1)                                                         \
    E(matrix_cols_negative, dsmlp_param_matrix(g, "a", DSMLP_F16, 8, -1, DSMLP_LAYOUT_OUT_IN, &out),                \
      DSMLP_ERR_SHAPE, "param: matrix \"a\" has cols = -1; it must be > 0", 1)                                       \
    E(matrix_too_many_elements,                                                                                      \
      dsmlp_param_matrix(g, "a", DSMLP_F16, (int64_t)1 << 30, (int64_t)1 << 11, DSMLP_LAYOUT_IN_OUT, &out),         \
      DSMLP_ERR_SHAPE, "param: matrix \"a\" is [1073741824,2048]: more than 2^40 elements", 1)                       \
    E(matrix_layout_unknown, dsmlp_param_matrix(g, "a", DSMLP_F16, 8, 8, (dsmlp_layout)2, &out),                    \
      DSMLP_ERR_INVALID_ARG,                                                                                         \
      "param: matrix \"a\" has unknown layout 2 (DSMLP_LAYOUT_IN_OUT or DSMLP_LAYOUT_OUT_IN)", 1)                    \
    /* ---- operand ids (shown through add, the same checks guard every op) */                                      \
    E(operand_none, dsmlp_add(g, X, DSMLP_NONE, &out), DSMLP_ERR_INVALID_ARG, "add: b is missing (DSMLP_NONE)", 1)   \
    E(operand_out_of_range, dsmlp_add(g, 99, X, &out), DSMLP_ERR_INVALID_ARG,                                        \
      "add: a is %99, not a value of graph \"fix\" (it has 16 values)", 1)                                           \
    E(operand_one_past_end, dsmlp_scale(g, NFIX, 1.0, &out), DSMLP_ERR_INVALID_ARG,                                  \
      "scale: x is %16, not a value of graph \"fix\" (it has 16 values)", 1)                                         \
    E(operand_negative, dsmlp_relu(g, -7, &out), DSMLP_ERR_INVALID_ARG,                                              \
      "relu: x is %-7, not a value of graph \"fix\" (it has 16 values)", 1)                                          \
    E(operand_is_output, dsmlp_add(g, X, OUT, &out), DSMLP_ERR_INVALID_ARG,                                          \
      "add: b is %12, the output \"out\", which cannot be an operand (use the value it outputs)", 1)                 \
    /* ---- add */                                                                                                  \
    E(add_a_param, dsmlp_add(g, GAM, X, &out), DSMLP_ERR_INVALID_ARG,                                                \
      "add: a is %3, a param vector f16[4096] \"gamma\", not an activation [T,n]", 1)                                \
    E(add_b_matrix, dsmlp_add(g, X, W_IO, &out), DSMLP_ERR_INVALID_ARG,                                              \
      "add: b is %6, a param matrix f16[1024,16384] ([in,out]) \"w_io\", not an activation [T,n]", 1)                \
    E(add_b_dequant, dsmlp_add(g, X, DQ, &out), DSMLP_ERR_INVALID_ARG,                                               \
      "add: b is %15, a dequant result f32[1024,4096] ([out,in]), not an activation [T,n]", 1)                       \
    E(add_width, dsmlp_add(g, X, Z, &out), DSMLP_ERR_SHAPE, "add: a is [T,4096] but b is [T,1024]: widths differ", 1) \
    E(add_dtype, dsmlp_add(g, X, Y32, &out), DSMLP_ERR_DTYPE,                                                        \
      "add: a is f16[T,4096] but b is f32[T,4096]: dtypes differ", 1)                                                \
    /* ---- scale */                                                                                                \
    E(scale_x_param, dsmlp_scale(g, V1K, 2.0, &out), DSMLP_ERR_INVALID_ARG,                                          \
      "scale: x is %5, a param vector f16[1024] \"v1k\", not an activation [T,n]", 1)                                \
    E(scale_nan, dsmlp_scale(g, X, NAN, &out), DSMLP_ERR_INVALID_ARG, "scale: the constant c = nan is not finite", 1) \
    E(scale_inf, dsmlp_scale(g, X, -INFINITY, &out), DSMLP_ERR_INVALID_ARG,                                          \
      "scale: the constant c = -inf is not finite", 1)                                                               \
    /* ---- layernorm */                                                                                            \
    E(layernorm_x_param, dsmlp_layernorm(g, GAM, GAM, DSMLP_NONE, 1e-5, &out), DSMLP_ERR_INVALID_ARG,                \
      "layernorm: x is %3, a param vector f16[4096] \"gamma\", not an activation [T,n]", 1)                          \
    E(layernorm_gamma_none, dsmlp_layernorm(g, X, DSMLP_NONE, GAM, 1e-5, &out), DSMLP_ERR_INVALID_ARG,               \
      "layernorm: gamma is missing (DSMLP_NONE)", 1)                                                                 \
    E(layernorm_gamma_activation, dsmlp_layernorm(g, X, Z, DSMLP_NONE, 1e-5, &out), DSMLP_ERR_INVALID_ARG,           \
      "layernorm: gamma is %2, the input f16[T,1024] \"z\", not a param vector [n]", 1)                              \
    E(layernorm_gamma_size, dsmlp_layernorm(g, X, V1K, DSMLP_NONE, 1e-5, &out), DSMLP_ERR_SHAPE,                     \
      "layernorm: x is [T,4096] but gamma is [1024]: sizes differ", 1)                                               \
    E(layernorm_gamma_dtype, dsmlp_layernorm(g, X, GAM32, DSMLP_NONE, 1e-5, &out), DSMLP_ERR_DTYPE,                  \
      "layernorm: x is f16[T,4096] but gamma is f32[4096]: dtypes differ", 1)                                        \
    E(layernorm_beta_matrix, dsmlp_layernorm(g, X, GAM, W_OI, 1e-5, &out), DSMLP_ERR_INVALID_ARG,                    \
      "layernorm: beta is %7, a param matrix f16[16384,1024] ([out,in]) \"w_oi\", not a param vector [n]", 1)        \
    E(layernorm_beta_size, dsmlp_layernorm(g, X, GAM, V1K, 1e-5, &out), DSMLP_ERR_SHAPE,                             \
      "layernorm: x is [T,4096] but beta is [1024]: sizes differ", 1)                                                \
    E(layernorm_beta_dtype, dsmlp_layernorm(g, X, GAM, GAM32, 1e-5, &out), DSMLP_ERR_DTYPE,                          \
      "layernorm: x is f16[T,4096] but beta is f32[4096]: dtypes differ", 1)                                         \
    E(layernorm_beta_out_of_range, dsmlp_layernorm(g, X, GAM, 1000, 1e-5, &out), DSMLP_ERR_INVALID_ARG,              \
      "layernorm: beta is %1000, not a value of graph \"fix\" (it has 16 values)", 1)                                \
    E(layernorm_eps_zero, dsmlp_layernorm(g, X, GAM, GAM, 0.0, &out), DSMLP_ERR_INVALID_ARG,                         \
      "layernorm: eps = 0; it must be finite and > 0", 1)                                                            \
    E(layernorm_eps_negative, dsmlp_layernorm(g, X, GAM, GAM, -1e-5, &out), DSMLP_ERR_INVALID_ARG,                   \
      "layernorm: eps = -1e-05; it must be finite and > 0", 1)                                                       \
    E(layernorm_eps_nan, dsmlp_layernorm(g, X, GAM, DSMLP_NONE, NAN, &out), DSMLP_ERR_INVALID_ARG,                   \
      "layernorm: eps = nan; it must be finite and > 0", 1)                                                          \
    E(layernorm_eps_inf, dsmlp_layernorm(g, X, GAM, DSMLP_NONE, INFINITY, &out), DSMLP_ERR_INVALID_ARG,              \
      "layernorm: eps = inf; it must be finite and > 0", 1)                                                          \
    /* ---- rmsnorm */                                                                                              \
    E(rmsnorm_x_matrix, dsmlp_rmsnorm(g, W32, GAM, 1e-6, &out), DSMLP_ERR_INVALID_ARG,                               \
      "rmsnorm: x is %10, a param matrix f32[4096,1024] ([in,out]) \"w32\", not an activation [T,n]", 1)             \
    E(rmsnorm_gamma_none, dsmlp_rmsnorm(g, X, DSMLP_NONE, 1e-6, &out), DSMLP_ERR_INVALID_ARG,                        \
      "rmsnorm: gamma is missing (DSMLP_NONE)", 1)                                                                   \
    E(rmsnorm_gamma_size, dsmlp_rmsnorm(g, Z, GAM, 1e-6, &out), DSMLP_ERR_SHAPE,                                     \
      "rmsnorm: x is [T,1024] but gamma is [4096]: sizes differ", 1)                                                 \
    E(rmsnorm_gamma_dtype, dsmlp_rmsnorm(g, Y32, GAM, 1e-6, &out), DSMLP_ERR_DTYPE,                                  \
      "rmsnorm: x is f32[T,4096] but gamma is f16[4096]: dtypes differ", 1)                                          \
    E(rmsnorm_eps_negative, dsmlp_rmsnorm(g, X, GAM, -1.0, &out), DSMLP_ERR_INVALID_ARG,                             \
      "rmsnorm: eps = -1; it must be finite and > 0", 1)                                                             \
    /* ---- matmul */                                                                                               \
    E(matmul_inner_in_out, dsmlp_matmul(g, X, W_IO, &out), DSMLP_ERR_SHAPE,                                          \
      "matmul: x is [T,4096] but W is [1024,16384] ([in,out]): inner sizes differ", 1)                               \
    E(matmul_inner_out_in, dsmlp_matmul(g, X, W_OI, &out), DSMLP_ERR_SHAPE,                                          \
      "matmul: x is [T,4096] but W is [16384,1024] ([out,in]): inner sizes differ", 1)                               \
    E(matmul_inner_dequant, dsmlp_matmul(g, Z, DQ, &out), DSMLP_ERR_SHAPE,                                           \
      "matmul: x is [T,1024] but W is [1024,4096] ([out,in]): inner sizes differ", 1)                                \
    E(matmul_dtype, dsmlp_matmul(g, X, W32, &out), DSMLP_ERR_DTYPE,                                                  \
      "matmul: x is f16[T,4096] but W is f32[4096,1024] ([in,out]): dtypes differ", 1)                               \
    E(matmul_dequant_dtype, dsmlp_matmul(g, X, DQ, &out), DSMLP_ERR_DTYPE,                                           \
      "matmul: x is f16[T,4096] but W is f32[1024,4096] ([out,in]): dtypes differ", 1)                               \
    E(matmul_i8_weight, dsmlp_matmul(g, X, Q, &out), DSMLP_ERR_DTYPE,                                                \
      "matmul: x is f16[T,4096] but W is i8[1024,4096] ([out,in]): an i8 weight needs dequant first", 1)             \
    E(matmul_w_activation, dsmlp_matmul(g, X, Z, &out), DSMLP_ERR_INVALID_ARG,                                       \
      "matmul: W is %2, the input f16[T,1024] \"z\", not a weight (a param matrix or a dequant result)", 1)          \
    E(matmul_w_vector, dsmlp_matmul(g, X, GAM, &out), DSMLP_ERR_INVALID_ARG,                                         \
      "matmul: W is %3, a param vector f16[4096] \"gamma\", not a weight (a param matrix or a dequant result)", 1)    \
    E(matmul_w_none, dsmlp_matmul(g, X, DSMLP_NONE, &out), DSMLP_ERR_INVALID_ARG, "matmul: W is missing (DSMLP_NONE)", \
      1)                                                                                                             \
    E(matmul_x_weight, dsmlp_matmul(g, W_IO, W_IO, &out), DSMLP_ERR_INVALID_ARG,                                     \
      "matmul: x is %6, a param matrix f16[1024,16384] ([in,out]) \"w_io\", not an activation [T,n]", 1)             \
    /* ---- bias */                                                                                                 \
    E(bias_x_vector, dsmlp_bias(g, V1K, V1K, &out), DSMLP_ERR_INVALID_ARG,                                           \
      "bias: x is %5, a param vector f16[1024] \"v1k\", not an activation [T,n]", 1)                                 \
    E(bias_b_activation, dsmlp_bias(g, X, X, &out), DSMLP_ERR_INVALID_ARG,                                           \
      "bias: b is %0, the input f16[T,4096] \"x\", not a param vector [n]", 1)                                       \
    E(bias_b_none, dsmlp_bias(g, X, DSMLP_NONE, &out), DSMLP_ERR_INVALID_ARG, "bias: b is missing (DSMLP_NONE)", 1)   \
    E(bias_size, dsmlp_bias(g, X, V1K, &out), DSMLP_ERR_SHAPE, "bias: x is [T,4096] but b is [1024]: sizes differ", 1) \
    E(bias_dtype, dsmlp_bias(g, Y32, GAM, &out), DSMLP_ERR_DTYPE,                                                    \
      "bias: x is f32[T,4096] but b is f16[4096]: dtypes differ", 1)                                                 \
    /* ---- activations */                                                                                          \
    E(activation_unknown, dsmlp_activation(g, X, DSMLP_ACT_COUNT, &out), DSMLP_ERR_INVALID_ARG,                      \
      "activation: unknown activation 4 (gelu_tanh, gelu_erf, relu or silu)", 1)                                     \
    E(activation_negative, dsmlp_activation(g, X, (dsmlp_act)-1, &out), DSMLP_ERR_INVALID_ARG,                       \
      "activation: unknown activation -1 (gelu_tanh, gelu_erf, relu or silu)", 1)                                    \
    E(gelu_tanh_x_param, dsmlp_gelu_tanh(g, GAM, &out), DSMLP_ERR_INVALID_ARG,                                       \
      "gelu_tanh: x is %3, a param vector f16[4096] \"gamma\", not an activation [T,n]", 1)                          \
    E(gelu_erf_x_matrix, dsmlp_gelu_erf(g, W_OI, &out), DSMLP_ERR_INVALID_ARG,                                       \
      "gelu_erf: x is %7, a param matrix f16[16384,1024] ([out,in]) \"w_oi\", not an activation [T,n]", 1)           \
    E(relu_x_output, dsmlp_relu(g, OUT, &out), DSMLP_ERR_INVALID_ARG,                                                \
      "relu: x is %12, the output \"out\", which cannot be an operand (use the value it outputs)", 1)                \
    E(silu_x_none, dsmlp_silu(g, DSMLP_NONE, &out), DSMLP_ERR_INVALID_ARG, "silu: x is missing (DSMLP_NONE)", 1)     \
    E(activation_x_dequant, dsmlp_activation(g, DQ, DSMLP_ACT_RELU, &out), DSMLP_ERR_INVALID_ARG,                    \
      "relu: x is %15, a dequant result f32[1024,4096] ([out,in]), not an activation [T,n]", 1)                      \
    /* ---- gated */                                                                                                \
    E(gated_odd, dsmlp_gated(g, ODD, DSMLP_ACT_SILU, &out), DSMLP_ERR_SHAPE,                                         \
      "gated: x is [T,4097]: width 4097 is odd; gated needs [T,2m] (up half, then gate half)", 1)                    \
    E(gated_act_unknown, dsmlp_gated(g, X, (dsmlp_act)7, &out), DSMLP_ERR_INVALID_ARG,                               \
      "gated: unknown activation 7 (gelu_tanh, gelu_erf, relu or silu)", 1)                                          \
    E(gated_x_param, dsmlp_gated(g, GAM, DSMLP_ACT_GELU_ERF, &out), DSMLP_ERR_INVALID_ARG,                           \
      "gated: x is %3, a param vector f16[4096] \"gamma\", not an activation [T,n]", 1)                              \
    /* ---- dequant */                                                                                              \
    E(dequant_wq_none, dsmlp_dequant(g, DSMLP_NONE, QS, 8, DSMLP_F16, &out), DSMLP_ERR_INVALID_ARG,                  \
      "dequant: wq is missing (DSMLP_NONE)", 1)                                                                      \
    E(dequant_wq_activation, dsmlp_dequant(g, X, QS, 8, DSMLP_F16, &out), DSMLP_ERR_INVALID_ARG,                     \
      "dequant: wq is %0, the input f16[T,4096] \"x\", not a param matrix", 1)                                       \
    E(dequant_wq_vector, dsmlp_dequant(g, QS, QS, 8, DSMLP_F16, &out), DSMLP_ERR_INVALID_ARG,                        \
      "dequant: wq is %9, a param vector f32[8] \"qs\", not a param matrix", 1)                                      \
    E(dequant_wq_dequant, dsmlp_dequant(g, DQ, QS, 8, DSMLP_F16, &out), DSMLP_ERR_INVALID_ARG,                       \
      "dequant: wq is %15, a dequant result f32[1024,4096] ([out,in]), not a param matrix", 1)                       \
    E(dequant_wq_float, dsmlp_dequant(g, W_OI, QS, 8, DSMLP_F16, &out), DSMLP_ERR_DTYPE,                             \
      "dequant: wq is f16[16384,1024] ([out,in]): it must be i8 or fp8", 1)                                          \
    E(dequant_wq_in_out, dsmlp_dequant(g, QIO, QS, 8, DSMLP_F16, &out), DSMLP_ERR_INVALID_ARG,                       \
      "dequant: wq is [1024,4096] ([in,out]): quantized weights must be stored [out,in] (groups are blocks of "      \
      "output rows)", 1)                                                                                             \
    E(dequant_scales_none, dsmlp_dequant(g, Q, DSMLP_NONE, 8, DSMLP_F16, &out), DSMLP_ERR_INVALID_ARG,               \
      "dequant: scales is missing (DSMLP_NONE)", 1)                                                                  \
    E(dequant_scales_activation, dsmlp_dequant(g, Q, Z, 8, DSMLP_F16, &out), DSMLP_ERR_INVALID_ARG,                  \
      "dequant: scales is %2, the input f16[T,1024] \"z\", not a param vector [n]", 1)                               \
    E(dequant_scales_dtype, dsmlp_dequant(g, Q, SBF, 8, DSMLP_F16, &out), DSMLP_ERR_DTYPE,                           \
      "dequant: scales is bf16[8]: it must be f32 or f16", 1)                                                        \
    E(dequant_groups_zero, dsmlp_dequant(g, Q, QS, 0, DSMLP_F16, &out), DSMLP_ERR_INVALID_ARG,                       \
      "dequant: groups = 0; it must be > 0", 1)                                                                      \
    E(dequant_groups_negative, dsmlp_dequant(g, Q, QS, -8, DSMLP_F16, &out), DSMLP_ERR_INVALID_ARG,                  \
      "dequant: groups = -8; it must be > 0", 1)                                                                     \
    E(dequant_groups_not_dividing, dsmlp_dequant(g, Q, QS, 3, DSMLP_F16, &out), DSMLP_ERR_SHAPE,                     \
      "dequant: wq is [1024,4096] ([out,in]) with 1024 rows, which groups = 3 does not divide", 1)                   \
    E(dequant_scales_size, dsmlp_dequant(g, Q, QS, 16, DSMLP_F16, &out), DSMLP_ERR_SHAPE,                            \
      "dequant: scales is [8] (8 scales) but groups = 16: sizes differ", 1)                                          \
    E(dequant_dt_i8, dsmlp_dequant(g, Q, QS, 8, DSMLP_I8, &out), DSMLP_ERR_DTYPE,                                    \
      "dequant: result dtype i8; it must be f32, f16 or bf16", 1)                                                    \
    E(dequant_dt_f64, dsmlp_dequant(g, Q, QS, 8, DSMLP_F64, &out), DSMLP_ERR_DTYPE,                                  \
      "dequant: result dtype f64; it must be f32, f16 or bf16", 1)                                                   \
    E(dequant_dt_unknown, dsmlp_dequant(g, Q, QS, 8, (dsmlp_dtype)9, &out), DSMLP_ERR_INVALID_ARG,                   \
      "dequant: unknown result dtype 9", 1)                                                                          \
    /* ---- all_reduce, output */                                                                                   \
    E(all_reduce_x_param, dsmlp_all_reduce(g, GAM32, &out), DSMLP_ERR_INVALID_ARG,                                   \
      "all_reduce: x is %4, a param vector f32[4096] \"gamma32\", not an activation [T,n]", 1)                       \
    E(all_reduce_x_out_of_range, dsmlp_all_reduce(g, 16, &out), DSMLP_ERR_INVALID_ARG,                               \
      "all_reduce: x is %16, not a value of graph \"fix\" (it has 16 values)", 1)                                    \
    E(output_x_param, dsmlp_output(g, "o", W_IO), DSMLP_ERR_INVALID_ARG,                                             \
      "output: x is %6, a param matrix f16[1024,16384] ([in,out]) \"w_io\", not an activation [T,n]", 0)             \
    E(output_x_none, dsmlp_output(g, "o", DSMLP_NONE), DSMLP_ERR_INVALID_ARG, "output: x is missing (DSMLP_NONE)", 0) \
    E(output_x_output, dsmlp_output(g, "o", OUT), DSMLP_ERR_INVALID_ARG,                                             \
      "output: x is %12, the output \"out\", which cannot be an operand (use the value it outputs)", 0)              \
    /* ---- NULL out pointers (the graph is there, so the message is too) */                                        \
    E(input_out_null, dsmlp_input(g, "a", DSMLP_F16, 8, NULL), DSMLP_ERR_INVALID_ARG, "input: out is NULL", 0)       \
    E(param_out_null, dsmlp_param_matrix(g, "a", DSMLP_F16, 8, 8, DSMLP_LAYOUT_IN_OUT, NULL), DSMLP_ERR_INVALID_ARG, \
      "param: out is NULL", 0)                                                                                       \
    E(add_out_null, dsmlp_add(g, X, X, NULL), DSMLP_ERR_INVALID_ARG, "add: out is NULL", 0)                          \
    E(matmul_out_null, dsmlp_matmul(g, X, W32, NULL), DSMLP_ERR_INVALID_ARG, "matmul: out is NULL", 0)               \
    E(relu_out_null, dsmlp_relu(g, X, NULL), DSMLP_ERR_INVALID_ARG, "relu: out is NULL", 0)                          \
    E(gated_out_null, dsmlp_gated(g, X, DSMLP_ACT_SILU, NULL), DSMLP_ERR_INVALID_ARG, "gated: out is NULL", 0)        \
    E(dequant_out_null, dsmlp_dequant(g, Q, QS, 8, DSMLP_F16, NULL), DSMLP_ERR_INVALID_ARG, "dequant: out is NULL", 0) \
    E(value_get_out_of_range, dsmlp_value_get(g, NFIX, &info), DSMLP_ERR_INVALID_ARG,                                \
      "value_get: %16 is not a value of graph \"fix\" (it has 16 values)", 0)                                        \
    E(value_get_negative, dsmlp_value_get(g, DSMLP_NONE, &info), DSMLP_ERR_INVALID_ARG,                              \
      "value_get: %-1 is not a value of graph \"fix\" (it has 16 values)", 0)                                        \
    E(value_get_out_null, dsmlp_value_get(g, X, NULL), DSMLP_ERR_INVALID_ARG, "value_get: out is NULL", 0)           \
    E(dump_text_null, dsmlp_graph_dump(g, NULL), DSMLP_ERR_INVALID_ARG, "graph_dump: text is NULL", 0)

static dsmlp_value_info info;

#define DEFINE_CASE(tname, call, want, msg, has_out)                                                          \
    START_TEST(tname)                                                                                           \
    {                                                                                                           \
        char *before = NULL, *after = NULL;                                                                     \
        TU_OK(ctx, dsmlp_graph_dump(g, &before));                                                               \
        out = 12345;                                                                                            \
        TU_CHECK(ctx, (call), (want));                                                                          \
        ck_assert_str_eq(dsmlp_last_error(ctx), (msg));                                                         \
        if (has_out) ck_assert_int_eq(out, DSMLP_NONE);                                                         \
        ck_assert_int_eq(dsmlp_graph_size(g), NFIX);                                                            \
        TU_OK(ctx, dsmlp_graph_dump(g, &after));                                                                \
        ck_assert_str_eq(before, after); /* the failed call changed nothing */                                  \
        dsmlp_free(before);                                                                                     \
        dsmlp_free(after);                                                                                      \
    }                                                                                                           \
    END_TEST
ERROR_CASES(DEFINE_CASE)

/* No graph (or no context): an error status, no crash; nothing to put a message on. */
START_TEST(null_graph)
{
    dsmlp_value v = 7;
    ck_assert_int_eq(dsmlp_input(NULL, "a", DSMLP_F16, 8, &v), DSMLP_ERR_INVALID_ARG);
    ck_assert_int_eq(v, DSMLP_NONE);
    v = 7;
    ck_assert_int_eq(dsmlp_param_vector(NULL, "a", DSMLP_F16, 8, &v), DSMLP_ERR_INVALID_ARG);
    ck_assert_int_eq(v, DSMLP_NONE);
    ck_assert_int_eq(dsmlp_param_matrix(NULL, "a", DSMLP_F16, 8, 8, DSMLP_LAYOUT_IN_OUT, &v), DSMLP_ERR_INVALID_ARG);
    ck_assert_int_eq(dsmlp_add(NULL, 0, 0, &v), DSMLP_ERR_INVALID_ARG);
    ck_assert_int_eq(dsmlp_scale(NULL, 0, 1.0, &v), DSMLP_ERR_INVALID_ARG);
    ck_assert_int_eq(dsmlp_layernorm(NULL, 0, 1, 2, 1e-5, &v), DSMLP_ERR_INVALID_ARG);
    ck_assert_int_eq(dsmlp_rmsnorm(NULL, 0, 1, 1e-5, &v), DSMLP_ERR_INVALID_ARG);
    ck_assert_int_eq(dsmlp_matmul(NULL, 0, 1, &v), DSMLP_ERR_INVALID_ARG);
    ck_assert_int_eq(dsmlp_bias(NULL, 0, 1, &v), DSMLP_ERR_INVALID_ARG);
    ck_assert_int_eq(dsmlp_activation(NULL, 0, DSMLP_ACT_RELU, &v), DSMLP_ERR_INVALID_ARG);
    ck_assert_int_eq(dsmlp_gelu_tanh(NULL, 0, &v), DSMLP_ERR_INVALID_ARG);
    ck_assert_int_eq(dsmlp_gelu_erf(NULL, 0, &v), DSMLP_ERR_INVALID_ARG);
    ck_assert_int_eq(dsmlp_relu(NULL, 0, &v), DSMLP_ERR_INVALID_ARG);
    ck_assert_int_eq(dsmlp_silu(NULL, 0, &v), DSMLP_ERR_INVALID_ARG);
    ck_assert_int_eq(dsmlp_gated(NULL, 0, DSMLP_ACT_SILU, &v), DSMLP_ERR_INVALID_ARG);
    ck_assert_int_eq(dsmlp_dequant(NULL, 0, 1, 1, DSMLP_F16, &v), DSMLP_ERR_INVALID_ARG);
    ck_assert_int_eq(dsmlp_all_reduce(NULL, 0, &v), DSMLP_ERR_INVALID_ARG);
    ck_assert_int_eq(dsmlp_output(NULL, "o", 0), DSMLP_ERR_INVALID_ARG);
    ck_assert_int_eq(v, DSMLP_NONE);
    dsmlp_value_info in;
    ck_assert_int_eq(dsmlp_value_get(NULL, 0, &in), DSMLP_ERR_INVALID_ARG);
    char *text = (char *)&in;
    ck_assert_int_eq(dsmlp_graph_dump(NULL, &text), DSMLP_ERR_INVALID_ARG);
    ck_assert_int_eq(dsmlp_graph_size(NULL), 0);
    ck_assert_str_eq(dsmlp_graph_name(NULL), "");
    ck_assert_ptr_null(dsmlp_graph_ctx(NULL));
    ck_assert_int_eq(dsmlp_graph_equal(NULL, NULL), 0);
    ck_assert_int_eq(dsmlp_graph_equal(g, NULL), 0);
    ck_assert_int_eq(dsmlpC_graph_find(NULL, DSMLP_OP_INPUT, "x"), DSMLP_NONE);
    ck_assert_int_eq(dsmlpC_graph_find(g, DSMLP_OP_INPUT, NULL), DSMLP_NONE);
    dsmlp_graph_free(NULL);
}
END_TEST

START_TEST(create_errors)
{
    dsmlp_graph *h = (dsmlp_graph *)&h;
    TU_CHECK(ctx, dsmlp_graph_create(NULL, "a", &h), DSMLP_ERR_INVALID_ARG);
    ck_assert_ptr_null(h);
    TU_CHECK(ctx, dsmlp_graph_create(ctx, "a", NULL), DSMLP_ERR_INVALID_ARG);
    ck_assert_str_eq(dsmlp_last_error(ctx), "graph_create: out is NULL");
    h = (dsmlp_graph *)&h;
    TU_CHECK(ctx, dsmlp_graph_create(ctx, long_name, &h), DSMLP_ERR_INVALID_ARG);
    ck_assert_str_eq(dsmlp_last_error(ctx),
                     "graph_create: name \"a123456789b123456789c123456789d123456789...\" is 64 characters (max 63)");
    ck_assert_ptr_null(h);
    TU_CHECK(ctx, dsmlp_graph_create(ctx, "line\nbreak", &h), DSMLP_ERR_INVALID_ARG);
    ck_assert_str_eq(dsmlp_last_error(ctx), "graph_create: name has a non-printable character (byte 0x0a at 4)");
    /* NULL and free-form printable names are fine */
    TU_OK(ctx, dsmlp_graph_create(ctx, NULL, &h));
    ck_assert_str_eq(dsmlp_graph_name(h), "");
    dsmlp_graph_free(h);
    TU_OK(ctx, dsmlp_graph_create(ctx, "llama3-8b layer 0", &h));
    ck_assert_str_eq(dsmlp_graph_name(h), "llama3-8b layer 0");
    dsmlp_graph_free(h);
}
END_TEST

/* Boundary values that must be accepted. */
START_TEST(accepted_boundaries)
{
    dsmlp_value v;
    TU_OK(ctx, dsmlp_input(g, long_name + 1, DSMLP_F16, 1, &v));   /* 63 characters */
    TU_OK(ctx, dsmlp_input(g, "A.b_9", DSMLP_F32, INT32_MAX, &v));
    TU_OK(ctx, dsmlp_param_matrix(g, "big", DSMLP_I8, (int64_t)1 << 20, (int64_t)1 << 20, DSMLP_LAYOUT_OUT_IN, &v));
    TU_OK(ctx, dsmlp_scale(g, X, 0.0, &v));
    TU_OK(ctx, dsmlp_rmsnorm(g, X, GAM, 5e-324, &v));            /* smallest positive double */
    TU_OK(ctx, dsmlp_dequant(g, Q, QS, 8, DSMLP_BF16, &v));
    TU_OK(ctx, dsmlp_output(g, "out2", X));                        /* a value may be output twice */
    ck_assert_int_eq(dsmlp_graph_size(g), NFIX + 7);
}
END_TEST

/* After an error the graph keeps working, and the next success does not clear the message. */
START_TEST(usable_after_error)
{
    dsmlp_value v;
    TU_CHECK(ctx, dsmlp_matmul(g, X, W_IO, &v), DSMLP_ERR_SHAPE);
    TU_OK(ctx, dsmlp_matmul(g, Z, W_IO, &v));
    ck_assert_int_eq(v, NFIX);
    dsmlp_value_info in;
    TU_OK(ctx, dsmlp_value_get(g, v, &in));
    ck_assert_int_eq(in.dims[1], 16384);
}
END_TEST

/* Issue 15, defect 8: a graph used after dsmlp_ctx_free wrote its next error
** into freed memory. Graphs and plans keep their context alive: the error
** lands in the (still live) context. Before the fix the freed block was
** reused by the next allocation of its size (glibc hands the same chunk
** back), so the stray write showed up in `guard`; under ASan it is a
** heap-use-after-free either way. */
START_TEST(graph_outlives_freed_context)
{
    dsmlp_ctx *ctx = tu_ctx();
    dsmlp_graph *g;
    TU_OK(ctx, dsmlp_graph_create(ctx, "orphan", &g));
    dsmlp_value x;
    TU_OK(ctx, dsmlp_input(g, "x", DSMLP_F16, 64, &x));
    dsmlp_ctx_free(ctx);
    enum { CTX_BYTES = 8192 + 32 };   /* the size of a context's block */
    unsigned char *guard = malloc(CTX_BYTES);
    ck_assert_ptr_nonnull(guard);
    memset(guard, 'X', CTX_BYTES);
    dsmlp_value y;
    ck_assert_int_eq(dsmlp_input(g, "", DSMLP_F16, 64, &y), DSMLP_ERR_INVALID_ARG);
    for (int i = 0; i < CTX_BYTES; i++) ck_assert_msg(guard[i] == 'X', "freed memory written at byte %d", i);
    ck_assert_ptr_nonnull(strstr(dsmlp_last_error(dsmlp_graph_ctx(g)), "name is empty"));
    TU_OK(dsmlp_graph_ctx(g), dsmlp_relu(g, x, &y));   /* still a working graph */
    dsmlp_graph_free(g);   /* the last reference: the context goes too (LeakSanitizer checks) */
    free(guard);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("graph_errors");
    TCase *tc = tcase_create("errors");
    tcase_add_checked_fixture(tc, setup, teardown);
#define ADD_CASE(tname, call, want, msg, has_out) tcase_add_test(tc, tname);
    ERROR_CASES(ADD_CASE)
    tcase_add_test(tc, null_graph);
    tcase_add_test(tc, create_errors);
    tcase_add_test(tc, accepted_boundaries);
    tcase_add_test(tc, usable_after_error);
    tcase_add_test(tc, graph_outlives_freed_context);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
