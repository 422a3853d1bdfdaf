/* test_mlp_graph.c — the graph dsmlp_mlp_build makes for each model family of
** the spec's §3 table: ops, operands, names, dtypes, shapes and attributes,
** node by node; builds are reproducible; ranks differ only where they must. */
#include <stdlib.h>
#include <string.h>
#include "testutil.h"

static const char *act_name(dsmlp_act a)
{
    static const char *n[] = {"gelu_tanh", "gelu_erf", "relu", "silu"};
    return (unsigned)a < 4 ? n[a] : "?";
}

/* One line per value: "<id> <op>[ name] <dtype> <shape>[ <- srcs][ attr]". */
static char *describe(const dsmlp_graph *g)
{
    size_t cap = 16384, len = 0;
    char *buf = malloc(cap);
    ck_assert_ptr_nonnull(buf);
    buf[0] = '\0';
    for (int i = 0; i < dsmlp_graph_size(g); i++) {
        dsmlp_value_info v;
        ck_assert_int_eq(dsmlp_value_get(g, i, &v), DSMLP_OK);
        char line[256];
        int n = snprintf(line, sizeof line, "%d %s", i, dsmlp_op_name(v.op));
        if (v.name && *v.name) n += snprintf(line + n, sizeof line - (size_t)n, " %s", v.name);
        n += snprintf(line + n, sizeof line - (size_t)n, " %s", dsmlp_dtype_name(v.dtype));
        if (v.tokens)
            n += snprintf(line + n, sizeof line - (size_t)n, " [T,%lld]", (long long)v.dims[1]);
        else if (v.rank == 1)
            n += snprintf(line + n, sizeof line - (size_t)n, " [%lld]", (long long)v.dims[0]);
        else
            n += snprintf(line + n, sizeof line - (size_t)n, " [%lld,%lld] %s", (long long)v.dims[0],
                          (long long)v.dims[1], v.layout == DSMLP_LAYOUT_IN_OUT ? "in_out" : "out_in");
        if (v.nsrc) n += snprintf(line + n, sizeof line - (size_t)n, " <-");
        for (int k = 0; k < v.nsrc; k++) n += snprintf(line + n, sizeof line - (size_t)n, " %d", (int)v.src[k]);
        if (v.op == DSMLP_OP_LAYERNORM || v.op == DSMLP_OP_RMSNORM)
            n += snprintf(line + n, sizeof line - (size_t)n, " eps=%g", v.attr);
        if (v.op == DSMLP_OP_GATED) n += snprintf(line + n, sizeof line - (size_t)n, " act=%s", act_name(v.act));
        if (v.op == DSMLP_OP_DEQUANT)
            n += snprintf(line + n, sizeof line - (size_t)n, " groups=%lld", (long long)v.groups);
        snprintf(line + n, sizeof line - (size_t)n, "\n");
        size_t l = strlen(line);
        ck_assert(len + l < cap);
        memcpy(buf + len, line, l + 1);
        len += l;
    }
    return buf;
}

static void expect_graph(const dsmlp_mlp_config *c, const char *want)
{
    dsmlp_ctx *ctx = tu_ctx();
    dsmlp_graph *g = NULL, *g2 = NULL;
    TU_OK(ctx, dsmlp_graph_create(ctx, "block", &g));
    TU_OK(ctx, dsmlp_mlp_build(g, c));
    char *got = describe(g);
    ck_assert_msg(strcmp(got, want) == 0, "graph differs.\n--- got\n%s--- want\n%s", got, want);
    /* Same config, same graph (the Lua builder relies on this). */
    TU_OK(ctx, dsmlp_graph_create(ctx, "block", &g2));
    TU_OK(ctx, dsmlp_mlp_build(g2, c));
    ck_assert(dsmlp_graph_equal(g, g2));
    free(got);
    dsmlp_graph_free(g);
    dsmlp_graph_free(g2);
    dsmlp_ctx_free(ctx);
}

static dsmlp_mlp_config cfg(int64_t H, int64_t I)
{
    dsmlp_mlp_config c;
    dsmlp_mlp_config_default(&c);
    c.hidden = H;
    c.intermediate = I;
    return c;
}

START_TEST(gpt2)   /* LayerNorm, GELU, mlp_after_attn, pre-LN: R1 */
{
    dsmlp_mlp_config c = cfg(768, -1);
    c.epsilon = 1e-5;
    expect_graph(&c, "0 input input f16 [T,768]\n"
                     "1 input residual f16 [T,768]\n"
                     "2 param attn_bias f16 [768]\n"
                     "3 param norm_w f16 [768]\n"
                     "4 param norm_b f16 [768]\n"
                     "5 param w1 f16 [768,3072] in_out\n"
                     "6 param b1 f16 [3072]\n"
                     "7 param w2 f16 [3072,768] in_out\n"
                     "8 param b2 f16 [768]\n"
                     "9 add f16 [T,768] <- 1 0\n"
                     "10 bias f16 [T,768] <- 9 2\n"
                     "11 layernorm f16 [T,768] <- 10 3 4 eps=1e-05\n"
                     "12 matmul f16 [T,3072] <- 11 5\n"
                     "13 bias f16 [T,3072] <- 12 6\n"
                     "14 gelu_tanh f16 [T,3072] <- 13\n"
                     "15 matmul f16 [T,768] <- 14 7\n"
                     "16 bias f16 [T,768] <- 15 8\n"
                     "17 add f16 [T,768] <- 16 10\n"
                     "18 output out f16 [T,768] <- 17\n");
}
END_TEST

START_TEST(opt_int8)   /* OPT: ReLU; int8 weights [out,in] + dequant, whatever `layout` says */
{
    dsmlp_mlp_config c = cfg(64, 256);
    c.activation = DSMLP_MLP_RELU;
    c.int8_weights = 1;
    c.int8_groups = 4;
    c.layout = DSMLP_LAYOUT_IN_OUT;
    c.dtype = DSMLP_BF16;
    expect_graph(&c, "0 input input bf16 [T,64]\n"
                     "1 input residual bf16 [T,64]\n"
                     "2 param attn_bias bf16 [64]\n"
                     "3 param norm_w bf16 [64]\n"
                     "4 param norm_b bf16 [64]\n"
                     "5 param w1 i8 [256,64] out_in\n"
                     "6 param w1_scales f32 [4]\n"
                     "7 param b1 bf16 [256]\n"
                     "8 param w2 i8 [64,256] out_in\n"
                     "9 param w2_scales f32 [4]\n"
                     "10 param b2 bf16 [64]\n"
                     "11 add bf16 [T,64] <- 1 0\n"
                     "12 bias bf16 [T,64] <- 11 2\n"
                     "13 layernorm bf16 [T,64] <- 12 3 4 eps=1e-12\n"
                     "14 dequant bf16 [256,64] out_in <- 5 6 groups=4\n"
                     "15 matmul bf16 [T,256] <- 13 14\n"
                     "16 bias bf16 [T,256] <- 15 7\n"
                     "17 relu bf16 [T,256] <- 16\n"
                     "18 dequant bf16 [64,256] out_in <- 8 9 groups=4\n"
                     "19 matmul bf16 [T,64] <- 17 18\n"
                     "20 bias bf16 [T,64] <- 19 10\n"
                     "21 add bf16 [T,64] <- 20 12\n"
                     "22 output out bf16 [T,64] <- 21\n");
}
END_TEST

/* GPT-NeoX: LayerNorm of X, parallel residual (R3), P = 2. Rank 0 adds the
** replicated X, b_o and b2; every rank adds its partial A. */
START_TEST(neox_tp)
{
    dsmlp_mlp_config c = cfg(64, 256);
    c.mlp_after_attn = 0;
    c.dtype = DSMLP_F32;
    c.tp_size = 2;
    const char *head = "0 input input f32 [T,64]\n"
                       "1 input residual f32 [T,64]\n"
                       "2 param attn_bias f32 [64]\n"
                       "3 param norm_w f32 [64]\n"
                       "4 param norm_b f32 [64]\n"
                       "5 param w1 f32 [64,128] in_out\n"
                       "6 param b1 f32 [128]\n"
                       "7 param w2 f32 [128,64] in_out\n"
                       "8 param b2 f32 [64]\n"
                       "9 layernorm f32 [T,64] <- 1 3 4 eps=1e-12\n"
                       "10 matmul f32 [T,128] <- 9 5\n"
                       "11 bias f32 [T,128] <- 10 6\n"
                       "12 gelu_tanh f32 [T,128] <- 11\n"
                       "13 matmul f32 [T,64] <- 12 7\n";
    char want[4096];
    snprintf(want, sizeof want, "%s%s", head,
             "14 bias f32 [T,64] <- 13 8\n"
             "15 add f32 [T,64] <- 14 0\n"
             "16 add f32 [T,64] <- 15 1\n"
             "17 bias f32 [T,64] <- 16 2\n"
             "18 all_reduce f32 [T,64] <- 17\n"
             "19 output out f32 [T,64] <- 18\n");
    expect_graph(&c, want);
    c.tp_rank = 1;
    snprintf(want, sizeof want, "%s%s", head,
             "14 add f32 [T,64] <- 13 0\n"
             "15 all_reduce f32 [T,64] <- 14\n"
             "16 output out f32 [T,64] <- 15\n");
    expect_graph(&c, want);
}
END_TEST

/* GPT-J: no post-attention norm (the MLP reads residual_norm), no attention
** output bias, parallel residual; nn.Linear layout. */
START_TEST(gptj)
{
    dsmlp_mlp_config c = cfg(64, -1);
    c.norm = DSMLP_NORM_NONE;
    c.norm_bias = 0;
    c.attn_bias = 0;
    c.mlp_after_attn = 0;
    c.layout = DSMLP_LAYOUT_OUT_IN;
    expect_graph(&c, "0 input input f16 [T,64]\n"
                     "1 input residual f16 [T,64]\n"
                     "2 input residual_norm f16 [T,64]\n"
                     "3 param w1 f16 [256,64] out_in\n"
                     "4 param b1 f16 [256]\n"
                     "5 param w2 f16 [64,256] out_in\n"
                     "6 param b2 f16 [64]\n"
                     "7 matmul f16 [T,256] <- 2 3\n"
                     "8 bias f16 [T,256] <- 7 4\n"
                     "9 gelu_tanh f16 [T,256] <- 8\n"
                     "10 matmul f16 [T,64] <- 9 5\n"
                     "11 bias f16 [T,64] <- 10 6\n"
                     "12 add f16 [T,64] <- 11 0\n"
                     "13 add f16 [T,64] <- 12 1\n"
                     "14 output out f16 [T,64] <- 13\n");
}
END_TEST

START_TEST(bert)   /* post-LN: R2, the residual is the normalized h */
{
    dsmlp_mlp_config c = cfg(32, 128);
    c.pre_layer_norm = 0;
    expect_graph(&c, "0 input input f16 [T,32]\n"
                     "1 input residual f16 [T,32]\n"
                     "2 param attn_bias f16 [32]\n"
                     "3 param norm_w f16 [32]\n"
                     "4 param norm_b f16 [32]\n"
                     "5 param w1 f16 [32,128] in_out\n"
                     "6 param b1 f16 [128]\n"
                     "7 param w2 f16 [128,32] in_out\n"
                     "8 param b2 f16 [32]\n"
                     "9 add f16 [T,32] <- 1 0\n"
                     "10 bias f16 [T,32] <- 9 2\n"
                     "11 layernorm f16 [T,32] <- 10 3 4 eps=1e-12\n"
                     "12 matmul f16 [T,128] <- 11 5\n"
                     "13 bias f16 [T,128] <- 12 6\n"
                     "14 gelu_tanh f16 [T,128] <- 13\n"
                     "15 matmul f16 [T,32] <- 14 7\n"
                     "16 bias f16 [T,32] <- 15 8\n"
                     "17 add f16 [T,32] <- 16 11\n"
                     "18 output out f16 [T,32] <- 17\n");
}
END_TEST

/* LLaMA: RMSNorm, SwiGLU, no biases (R4): out = X + A + y, A counted once. */
START_TEST(llama)
{
    dsmlp_mlp_config c = cfg(64, 176);
    c.norm = DSMLP_NORM_RMSNORM;
    c.norm_bias = c.attn_bias = c.bias1 = c.bias2 = 0;
    c.activation = DSMLP_MLP_GATED_SILU;
    c.layout = DSMLP_LAYOUT_OUT_IN;
    c.dtype = DSMLP_BF16;
    c.epsilon = 1e-6;
    expect_graph(&c, "0 input input bf16 [T,64]\n"
                     "1 input residual bf16 [T,64]\n"
                     "2 param norm_w bf16 [64]\n"
                     "3 param w1 bf16 [352,64] out_in\n"
                     "4 param w2 bf16 [64,176] out_in\n"
                     "5 add bf16 [T,64] <- 1 0\n"
                     "6 rmsnorm bf16 [T,64] <- 5 2 eps=1e-06\n"
                     "7 matmul bf16 [T,352] <- 6 3\n"
                     "8 gated bf16 [T,176] <- 7 act=silu\n"
                     "9 matmul bf16 [T,64] <- 8 4\n"
                     "10 add bf16 [T,64] <- 9 5\n"
                     "11 output out bf16 [T,64] <- 10\n");
    /* Rank 3 of 4: its shard of [up | gate], no residual, then the all-reduce. */
    c.tp_size = 4;
    c.tp_rank = 3;
    c.activation = DSMLP_MLP_GATED_GELU;
    expect_graph(&c, "0 input input bf16 [T,64]\n"
                     "1 input residual bf16 [T,64]\n"
                     "2 param norm_w bf16 [64]\n"
                     "3 param w1 bf16 [88,64] out_in\n"
                     "4 param w2 bf16 [64,44] out_in\n"
                     "5 add bf16 [T,64] <- 1 0\n"
                     "6 rmsnorm bf16 [T,64] <- 5 2 eps=1e-06\n"
                     "7 matmul bf16 [T,88] <- 6 3\n"
                     "8 gated bf16 [T,44] <- 7 act=gelu_erf\n"
                     "9 matmul bf16 [T,64] <- 8 4\n"
                     "10 all_reduce bf16 [T,64] <- 9\n"
                     "11 output out bf16 [T,64] <- 10\n");
}
END_TEST

/* LayerNorm + gated (DeepSpeed skips the activation there): the gated op is
** present; and RMSNorm honours configured biases (DeepSpeed drops them). */
START_TEST(activation_and_biases_honoured)
{
    dsmlp_mlp_config c = cfg(16, 32);
    c.activation = DSMLP_MLP_GATED_GELU;
    c.dtype = DSMLP_F32;
    expect_graph(&c, "0 input input f32 [T,16]\n"
                     "1 input residual f32 [T,16]\n"
                     "2 param attn_bias f32 [16]\n"
                     "3 param norm_w f32 [16]\n"
                     "4 param norm_b f32 [16]\n"
                     "5 param w1 f32 [16,64] in_out\n"
                     "6 param b1 f32 [64]\n"
                     "7 param w2 f32 [32,16] in_out\n"
                     "8 param b2 f32 [16]\n"
                     "9 add f32 [T,16] <- 1 0\n"
                     "10 bias f32 [T,16] <- 9 2\n"
                     "11 layernorm f32 [T,16] <- 10 3 4 eps=1e-12\n"
                     "12 matmul f32 [T,64] <- 11 5\n"
                     "13 bias f32 [T,64] <- 12 6\n"
                     "14 gated f32 [T,32] <- 13 act=gelu_erf\n"
                     "15 matmul f32 [T,16] <- 14 7\n"
                     "16 bias f32 [T,16] <- 15 8\n"
                     "17 add f32 [T,16] <- 16 10\n"
                     "18 output out f32 [T,16] <- 17\n");
    c.norm = DSMLP_NORM_RMSNORM;
    c.norm_bias = 0;
    c.activation = DSMLP_MLP_RELU;
    c.attn_bias = 0;
    expect_graph(&c, "0 input input f32 [T,16]\n"
                     "1 input residual f32 [T,16]\n"
                     "2 param norm_w f32 [16]\n"
                     "3 param w1 f32 [16,32] in_out\n"
                     "4 param b1 f32 [32]\n"
                     "5 param w2 f32 [32,16] in_out\n"
                     "6 param b2 f32 [16]\n"
                     "7 add f32 [T,16] <- 1 0\n"
                     "8 rmsnorm f32 [T,16] <- 7 2 eps=1e-12\n"
                     "9 matmul f32 [T,32] <- 8 3\n"
                     "10 bias f32 [T,32] <- 9 4\n"
                     "11 relu f32 [T,32] <- 10\n"
                     "12 matmul f32 [T,16] <- 11 5\n"
                     "13 bias f32 [T,16] <- 12 6\n"
                     "14 add f32 [T,16] <- 13 7\n"
                     "15 output out f32 [T,16] <- 14\n");
}
END_TEST

/* GPT-J's branch under TP: on rank 1 the replicated X and b2 are not added,
** so X is declared but unread; no op value is left dead on any rank. */
START_TEST(no_dead_values)
{
    dsmlp_ctx *ctx = tu_ctx();
    int n = 0;
    for (int norm = 0; norm < 3; norm++)
        for (int mode = 0; mode < 4; mode++)
            for (int P = 1; P <= 4; P *= 2)
                for (int r = 0; r < P; r++) {
                    dsmlp_mlp_config c = cfg(16, 32);
                    c.norm = norm == 0 ? DSMLP_NORM_NONE : norm == 1 ? DSMLP_NORM_LAYERNORM : DSMLP_NORM_RMSNORM;
                    c.norm_bias = norm == 1;
                    c.mlp_after_attn = mode & 1;
                    c.pre_layer_norm = (mode >> 1) & 1;
                    c.tp_size = P;
                    c.tp_rank = r;
                    dsmlp_graph *g = NULL;
                    TU_OK(ctx, dsmlp_graph_create(ctx, "g", &g));
                    TU_OK(ctx, dsmlp_mlp_build(g, &c));
                    int size = dsmlp_graph_size(g);
                    int *uses = calloc((size_t)size, sizeof *uses);
                    int outputs = 0, reduces = 0;
                    for (int i = 0; i < size; i++) {
                        dsmlp_value_info v;
                        TU_OK(ctx, dsmlp_value_get(g, i, &v));
                        for (int k = 0; k < v.nsrc; k++) uses[v.src[k]]++;
                        outputs += v.op == DSMLP_OP_OUTPUT;
                        reduces += v.op == DSMLP_OP_ALL_REDUCE;
                    }
                    for (int i = 0; i < size; i++) {
                        dsmlp_value_info v;
                        TU_OK(ctx, dsmlp_value_get(g, i, &v));
                        if (v.op != DSMLP_OP_INPUT && v.op != DSMLP_OP_PARAM && v.op != DSMLP_OP_OUTPUT)
                            ck_assert_msg(uses[i] > 0, "value %d (%s) is dead (norm %d mode %d P %d r %d)", i,
                                          dsmlp_op_name(v.op), norm, mode, P, r);
                    }
                    ck_assert_int_eq(outputs, 1);
                    ck_assert_int_eq(reduces, P > 1);
                    free(uses);
                    dsmlp_graph_free(g);
                    n++;
                }
    ck_assert_int_eq(n, 3 * 4 * 7);
    dsmlp_ctx_free(ctx);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("mlp_graph");
    TCase *tc = tcase_create("families");
    tcase_add_test(tc, gpt2);
    tcase_add_test(tc, opt_int8);
    tcase_add_test(tc, neox_tp);
    tcase_add_test(tc, gptj);
    tcase_add_test(tc, bert);
    tcase_add_test(tc, llama);
    tcase_add_test(tc, activation_and_biases_honoured);
    tcase_add_test(tc, no_dead_values);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
