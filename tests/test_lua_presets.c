/*
** test_lua_presets.c — dsmlp.preset and dsmlp.mlp build the same graph as
** dsmlp_mlp_build given the same config, written out here in C from the
** models' public configs.
*/
#include <stdio.h>
#include "test_lua_util.h"

typedef struct preset_case {
    const char   *name;
    int64_t       H, I;
    dsmlp_mlp_act act;
    dsmlp_norm    norm;
    int           pre_ln, after_attn;
    double        eps;
    int           attn_b, norm_b, b1, b2;
    double        gamma_offset;
} preset_case;

/* GPT-2, BLOOM, GPT-J and GPT-NeoX-20B: tanh GELU ("gelu_new", "bloom_gelu", "gelu_fast"). */
#define GPT(n, h, i) {n, h, i, DSMLP_MLP_GELU_TANH, DSMLP_NORM_LAYERNORM, 1, 1, 1e-5, 1, 1, 1, 1, 0}
#define OPT(n, h, i) {n, h, i, DSMLP_MLP_RELU, DSMLP_NORM_LAYERNORM, 1, 1, 1e-5, 1, 1, 1, 1, 0}
#define LLAMA(n, h, i) {n, h, i, DSMLP_MLP_GATED_SILU, DSMLP_NORM_RMSNORM, 1, 1, 1e-5, 0, 0, 0, 0, 0}
#define QWEN2(n, h, i) {n, h, i, DSMLP_MLP_GATED_SILU, DSMLP_NORM_RMSNORM, 1, 1, 1e-6, 0, 0, 0, 0, 0}
/* Gemma: gated tanh-GELU ("gelu_pytorch_tanh"), RMSNorm weight (1 + w). */
#define GEMMA(n, h, i) {n, h, i, DSMLP_MLP_GATED_GELU_TANH, DSMLP_NORM_RMSNORM, 1, 1, 1e-6, 0, 0, 0, 0, 1.0}

static const preset_case cases[] = {
    GPT("gpt2", 768, 3072), GPT("gpt2-medium", 1024, 4096), GPT("gpt2-large", 1280, 5120),
    GPT("gpt2-xl", 1600, 6400),
    OPT("opt-125m", 768, 3072),
    {"opt-350m", 1024, 4096, DSMLP_MLP_RELU, DSMLP_NORM_LAYERNORM, 0, 1, 1e-5, 1, 1, 1, 1, 0},   /* post-LN */
    OPT("opt-1.3b", 2048, 8192), OPT("opt-2.7b", 2560, 10240), OPT("opt-6.7b", 4096, 16384),
    OPT("opt-13b", 5120, 20480), OPT("opt-30b", 7168, 28672), OPT("opt-66b", 9216, 36864),
    GPT("bloom-560m", 1024, 4096), GPT("bloom-1b1", 1536, 6144), GPT("bloom-1b7", 2048, 8192),
    GPT("bloom-3b", 2560, 10240), GPT("bloom-7b1", 4096, 16384), GPT("bloom-176b", 14336, 57344),
    {"gpt-j-6b", 4096, 16384, DSMLP_MLP_GELU_TANH, DSMLP_NORM_NONE, 1, 0, 1e-5, 0, 0, 1, 1, 0},
    {"gpt-neox-20b", 6144, 24576, DSMLP_MLP_GELU_TANH, DSMLP_NORM_LAYERNORM, 1, 0, 1e-5, 1, 1, 1, 1, 0},
    /* BERT: hidden_act "gelu" is the exact erf form */
    {"bert-base", 768, 3072, DSMLP_MLP_GELU_ERF, DSMLP_NORM_LAYERNORM, 0, 1, 1e-12, 1, 1, 1, 1, 0},
    {"bert-large", 1024, 4096, DSMLP_MLP_GELU_ERF, DSMLP_NORM_LAYERNORM, 0, 1, 1e-12, 1, 1, 1, 1, 0},
    LLAMA("llama2-7b", 4096, 11008), LLAMA("llama2-13b", 5120, 13824), LLAMA("llama2-70b", 8192, 28672),
    LLAMA("llama3-8b", 4096, 14336), LLAMA("llama3-70b", 8192, 28672), LLAMA("mistral-7b", 4096, 14336),
    QWEN2("qwen2-1.5b", 1536, 8960), QWEN2("qwen2-7b", 3584, 18944),
    GEMMA("gemma-2b", 2048, 16384), GEMMA("gemma-7b", 3072, 24576),
    /* Phi-2: parallel attention and MLP over one shared LayerNorm (residual_norm), gelu_new */
    {"phi-2", 2560, 10240, DSMLP_MLP_GELU_TANH, DSMLP_NORM_NONE, 1, 0, 1e-5, 1, 0, 1, 1, 0},
    LLAMA("phi-3-mini", 3072, 8192),
    /* Falcon-7B: like Phi-2 without biases, exact GELU (nn.GELU) */
    {"falcon-7b", 4544, 18176, DSMLP_MLP_GELU_ERF, DSMLP_NORM_NONE, 1, 0, 1e-5, 0, 0, 0, 0, 0},
};
#define NCASES ((int)(sizeof cases / sizeof *cases))

static dsmlp_mlp_config case_config(const preset_case *c)
{
    dsmlp_mlp_config cfg;
    dsmlp_mlp_config_default(&cfg);
    cfg.hidden = c->H;
    cfg.intermediate = c->I;
    cfg.activation = c->act;
    cfg.norm = c->norm;
    cfg.pre_layer_norm = c->pre_ln;
    cfg.mlp_after_attn = c->after_attn;
    cfg.epsilon = c->eps;
    cfg.attn_bias = c->attn_b;
    cfg.norm_bias = c->norm_b;
    cfg.bias1 = c->b1;
    cfg.bias2 = c->b2;
    cfg.gamma_offset = c->gamma_offset;
    return cfg;
}

/* Builds the C graph for cfg and asserts it equals layer 0 of l. */
static void assert_same(dsmlp_ctx *ctx, const dsmlp_layers *l, const dsmlp_mlp_config *cfg, const char *name)
{
    dsmlp_graph *g;
    TU_OK(ctx, dsmlp_graph_create(ctx, name, &g));
    TU_OK(ctx, dsmlp_mlp_build(g, cfg));
    const dsmlp_graph *lg = dsmlp_layers_graph(l, 0);
    ck_assert_ptr_nonnull(lg);
    if (!dsmlp_graph_equal(g, lg)) {
        char *a = NULL, *b = NULL;
        dsmlp_graph_dump(g, &a);
        dsmlp_graph_dump(lg, &b);
        ck_abort_msg("%s: Lua graph differs from the C graph\n--- C:\n%s--- Lua:\n%s", name, a, b);
    }
    ck_assert_str_eq(dsmlp_graph_name(lg), name);
    ck_assert_str_eq(dsmlp_layers_name(l, 0), name);
    dsmlp_graph_free(g);
}

START_TEST(every_preset_equals_c_builder)
{
    dsmlp_ctx *ctx = tu_ctx();
    for (int i = 0; i < NCASES; i++) {
        char src[256];
        snprintf(src, sizeof src, "return dsmlp.preset(%s%s%s)", "\"", cases[i].name, "\"");
        dsmlp_layers *l = tl_load_one(ctx, src);
        dsmlp_mlp_config cfg = case_config(&cases[i]);
        assert_same(ctx, l, &cfg, cases[i].name);
        dsmlp_layers_free(l);
    }
    dsmlp_ctx_free(ctx);
}
END_TEST

/* dsmlp.presets() lists exactly the presets above, in this order. */
START_TEST(preset_list_is_complete)
{
    dsmlp_ctx *ctx = tu_ctx();
    char src[4096] = "local want = {";
    for (int i = 0; i < NCASES; i++) {
        strcat(src, "\"");
        strcat(src, cases[i].name);
        strcat(src, "\",");
    }
    strcat(src, "}\nlocal got = dsmlp.presets()\n"
                "assert(#got == #want, 'count ' .. #got)\n"
                "for i = 1, #want do assert(got[i] == want[i], got[i]) end\n"
                "got[1] = 'x'; assert(dsmlp.presets()[1] == 'gpt2')\n"   /* a copy */
                "return dsmlp.preset('gpt2')\n");
    dsmlp_layers *l = tl_load_one(ctx, src);
    dsmlp_layers_free(l);
    dsmlp_ctx_free(ctx);
}
END_TEST

/* Overrides: dtype, tp, int8, name, and merged nested tables. */
START_TEST(preset_overrides)
{
    dsmlp_ctx *ctx = tu_ctx();
    preset_case llama = LLAMA("llama3-8b", 4096, 14336);
    dsmlp_mlp_config cfg = case_config(&llama);
    cfg.dtype = DSMLP_BF16;
    dsmlp_layers *l = tl_load_one(ctx, "return dsmlp.preset('llama3-8b', {dtype = 'bf16'})");
    assert_same(ctx, l, &cfg, "llama3-8b");
    dsmlp_layers_free(l);

    preset_case l70 = LLAMA("llama2-70b", 8192, 28672);
    cfg = case_config(&l70);
    cfg.tp_size = 8;
    cfg.tp_rank = 3;
    cfg.layout = DSMLP_LAYOUT_OUT_IN;
    l = tl_load_one(ctx, "return dsmlp.preset('llama2-70b', {tp = {size = 8, rank = 3}, layout = 'out_in',"
                         " name = 'l70_r3'})");
    assert_same(ctx, l, &cfg, "l70_r3");
    dsmlp_layers_free(l);

    preset_case gpt = GPT("gpt2", 768, 3072);
    cfg = case_config(&gpt);
    cfg.int8_weights = 1;
    cfg.int8_groups = 4;
    cfg.bias1 = 0;   /* bias = {b1 = false} merges into the preset's bias table */
    l = tl_load_one(ctx, "return dsmlp.preset('GPT2', {int8 = {groups = 4}, bias = {b1 = false}, name = 'gpt2'})");
    assert_same(ctx, l, &cfg, "gpt2");
    dsmlp_layers_free(l);

    /* preset_config returns a plain table usable with dsmlp.mlp */
    cfg = case_config(&gpt);
    l = tl_load_one(ctx, "local c = dsmlp.preset_config('gpt2')\n"
                         "assert(c.hidden == 768 and c.intermediate == 3072)\n"
                         "c.name = 'again'\nreturn dsmlp.mlp(c)");
    assert_same(ctx, l, &cfg, "again");
    dsmlp_layers_free(l);
    dsmlp_ctx_free(ctx);
}
END_TEST

/* dsmlp.mlp maps every field to the C config. */
START_TEST(mlp_fields_map_to_c)
{
    dsmlp_ctx *ctx = tu_ctx();
    dsmlp_mlp_config cfg;

    /* defaults: the C defaults, intermediate 4·hidden */
    dsmlp_mlp_config_default(&cfg);
    cfg.hidden = 256;
    dsmlp_layers *l = tl_load_one(ctx, "return dsmlp.mlp{hidden = 256}");
    assert_same(ctx, l, &cfg, "mlp");
    dsmlp_layers_free(l);

    /* everything set (floats with integer values are accepted: 512/2) */
    dsmlp_mlp_config_default(&cfg);
    cfg.hidden = 256;
    cfg.intermediate = 1024;
    cfg.dtype = DSMLP_BF16;
    cfg.activation = DSMLP_MLP_GATED_GELU;
    cfg.norm = DSMLP_NORM_RMSNORM;
    cfg.pre_layer_norm = 0;
    cfg.mlp_after_attn = 0;
    cfg.epsilon = 1e-6;
    cfg.layout = DSMLP_LAYOUT_OUT_IN;
    cfg.tp_size = 4;
    cfg.tp_rank = 2;
    cfg.int8_weights = 1;
    cfg.int8_groups = 8;
    cfg.attn_bias = 0;
    cfg.norm_bias = 0;
    cfg.bias1 = 1;
    cfg.bias2 = 0;
    l = tl_load_one(ctx, "return dsmlp.mlp{hidden = 512/2, intermediate = 1024, dtype = 'bf16',\n"
                         "  activation = 'gated_gelu', norm = 'rmsnorm', pre_layer_norm = false,\n"
                         "  mlp_after_attn = false, epsilon = 1e-6, layout = 'out_in', tp = {size = 4, rank = 2},\n"
                         "  int8 = {groups = 8}, bias = {attn = false, b2 = false}, name = 'all'}");
    assert_same(ctx, l, &cfg, "all");
    dsmlp_layers_free(l);

    /* bias = false turns every bias off; norm none; relu; f32 */
    dsmlp_mlp_config_default(&cfg);
    cfg.hidden = 128;
    cfg.dtype = DSMLP_F32;
    cfg.activation = DSMLP_MLP_RELU;
    cfg.norm = DSMLP_NORM_NONE;
    cfg.attn_bias = cfg.norm_bias = cfg.bias1 = cfg.bias2 = 0;
    l = tl_load_one(ctx, "return dsmlp.mlp{hidden = 128, dtype = 'f32', activation = 'relu', norm = 'none',"
                         " bias = false}");
    assert_same(ctx, l, &cfg, "mlp");
    dsmlp_layers_free(l);

    /* int8 = true means one group */
    dsmlp_mlp_config_default(&cfg);
    cfg.hidden = 128;
    cfg.int8_weights = 1;
    cfg.int8_groups = 1;
    l = tl_load_one(ctx, "return dsmlp.mlp{hidden = 128, int8 = true}");
    assert_same(ctx, l, &cfg, "mlp");
    dsmlp_layers_free(l);

    /* explicit activations, Gemma's weight offset, separate up and gate, dtype aliases */
    dsmlp_mlp_config_default(&cfg);
    cfg.hidden = 64;
    cfg.intermediate = 128;
    cfg.dtype = DSMLP_BF16;
    cfg.activation = DSMLP_MLP_GATED_GELU_TANH;
    cfg.norm = DSMLP_NORM_RMSNORM;
    cfg.norm_bias = 0;
    cfg.gamma_offset = 1.0;
    cfg.split_w1 = 1;
    l = tl_load_one(ctx, "return dsmlp.mlp{hidden = 64, intermediate = 128, dtype = 'bfloat16',"
                         " activation = 'gated_gelu_tanh', norm = 'rmsnorm', gamma_offset = 1, split_w1 = true}");
    assert_same(ctx, l, &cfg, "mlp");
    dsmlp_layers_free(l);
    static const struct { const char *name; dsmlp_mlp_act act; } names[] = {
        {"gelu", DSMLP_MLP_GELU_TANH},          {"gated_gelu", DSMLP_MLP_GATED_GELU_ERF},
        {"gelu_tanh", DSMLP_MLP_GELU_TANH},     {"gelu_erf", DSMLP_MLP_GELU_ERF},
        {"relu", DSMLP_MLP_RELU},               {"silu", DSMLP_MLP_SILU},
        {"gated_gelu_tanh", DSMLP_MLP_GATED_GELU_TANH}, {"gated_gelu_erf", DSMLP_MLP_GATED_GELU_ERF},
        {"gated_relu", DSMLP_MLP_GATED_RELU},   {"gated_silu", DSMLP_MLP_GATED_SILU},
    };
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        char src[160];
        dsmlp_mlp_config_default(&cfg);
        cfg.hidden = 32;
        cfg.dtype = DSMLP_F16;
        cfg.activation = names[i].act;
        snprintf(src, sizeof src, "return dsmlp.mlp{hidden = 32, dtype = 'float16', activation = '%s'}", names[i].name);
        l = tl_load_one(ctx, src);
        assert_same(ctx, l, &cfg, "mlp");
        dsmlp_layers_free(l);
    }
    TL_FAILS(ctx, "return dsmlp.mlp{hidden = 32, activation = 'silu', split_w1 = true}", "model.lua:1:",
             "field 'split_w1' is true but activation 'silu' is not gated");
    TL_FAILS(ctx, "return dsmlp.mlp{hidden = 32, gamma_offset = 1}", "model.lua:1:",
             "field 'gamma_offset' is 1 but norm is 'layernorm'");

    /* mlp_raw: the C fields 1:1 */
    dsmlp_mlp_config_default(&cfg);
    cfg.hidden = 64;
    cfg.intermediate = 96;
    cfg.norm = DSMLP_NORM_RMSNORM;
    cfg.norm_bias = 0;
    cfg.tp_size = 2;
    cfg.tp_rank = 1;
    l = tl_load_one(ctx, "return dsmlp.mlp_raw{hidden = 64, intermediate = 96, norm = 'rmsnorm', norm_bias = false,"
                         " tp_size = 2, tp_rank = 1, name = 'raw'}");
    assert_same(ctx, l, &cfg, "raw");
    dsmlp_layers_free(l);
    dsmlp_ctx_free(ctx);
}
END_TEST

/* A config the C builder rejects but the Lua checks let through still gives
** DSMLP_ERR_SCRIPT with the builder's message at the script's line. */
START_TEST(builder_errors_reach_the_script_line)
{
    dsmlp_ctx *ctx = tu_ctx();
    TL_FAILS(ctx, "local x = 1\nreturn dsmlp.mlp{hidden = 4294967296}", "model.lua:2:", "dsmlp.mlp:",
             "hidden=4294967296 is too large");
    /* mlp_raw reports the builder's refusal as nil, message */
    dsmlp_layers *l = tl_load_one(ctx, "local g, err = dsmlp.mlp_raw{hidden = 64, tp_size = 3}\n"
                                       "assert(g == nil and err:find('not divisible by tp_size=3'), err)\n"
                                       "return dsmlp.mlp{hidden = 64}");
    dsmlp_layers_free(l);
    dsmlp_ctx_free(ctx);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("lua_presets");
    TCase *tc = tcase_create("presets");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, every_preset_equals_c_builder);
    tcase_add_test(tc, preset_list_is_complete);
    tcase_add_test(tc, preset_overrides);
    tcase_add_test(tc, mlp_fields_map_to_c);
    tcase_add_test(tc, builder_errors_reach_the_script_line);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
