/*
** test_hf_config.c — dsmlp_hf_config and dsmlp.hf on the public config.json
** files in tests/data/hf: every field of the block (sizes, activation, eps,
** norm, biases, residual case, weight offset, layout, dtype) and every
** tensor name; the block equals the preset written from the same public
** config; unknown model types and activations are errors naming them.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "test_lua_util.h"

static char *data_path(const char *name)
{
    static char buf[1024];
    snprintf(buf, sizeof buf, "%s/tests/data/hf/%s", DSMLP_SOURCE_DIR, name);
    return buf;
}

static const dsmlp_tensor_ref *ref(const dsmlp_hf_model *m, const char *param)
{
    for (int i = 0; i < m->tensors.count; i++)
        if (!strcmp(m->tensors.ref[i].param, param)) return &m->tensors.ref[i];
    return NULL;
}

static void has_ref(const dsmlp_hf_model *m, const char *param, const char *tensor, dsmlp_split split)
{
    const dsmlp_tensor_ref *r = ref(m, param);
    ck_assert_msg(r != NULL, "%s: no tensor for %s", m->model_type, param);
    ck_assert_str_eq(r->tensor, tensor);
    ck_assert_int_eq(r->split, split);
}

/* The hf block equals dsmlp.preset(name, overrides) built in Lua. */
static void same_as_preset(dsmlp_ctx *ctx, const dsmlp_hf_model *m, const char *preset, const char *overrides)
{
    char src[512];
    snprintf(src, sizeof src, "return dsmlp.preset('%s', %s)", preset, overrides);
    dsmlp_layers *l = tl_load_one(ctx, src);
    dsmlp_graph *g;
    TU_OK(ctx, dsmlp_graph_create(ctx, preset, &g));
    TU_OK(ctx, dsmlp_mlp_build(g, &m->mlp));
    if (!dsmlp_graph_equal(g, dsmlp_layers_graph(l, 0))) {
        char *a = NULL, *b = NULL;
        dsmlp_graph_dump(g, &a);
        dsmlp_graph_dump(dsmlp_layers_graph(l, 0), &b);
        ck_abort_msg("%s: hf block differs from preset %s\n--- hf:\n%s--- preset:\n%s", m->model_type, preset, a, b);
    }
    dsmlp_graph_free(g);
    dsmlp_layers_free(l);
}

START_TEST(gemma_2b)
{
    dsmlp_ctx *ctx = tu_ctx();
    dsmlp_hf_model m;
    TU_OK(ctx, dsmlp_hf_config(ctx, data_path("gemma-2b.json"), &m));
    ck_assert_str_eq(m.model_type, "gemma");
    /* the config says "gelu", but transformers runs Gemma with gelu_pytorch_tanh */
    ck_assert_str_eq(m.hidden_act, "gelu_pytorch_tanh");
    ck_assert_int_eq(m.mlp.hidden, 2048);
    ck_assert_int_eq(m.mlp.intermediate, 16384);
    ck_assert_int_eq(m.mlp.activation, DSMLP_MLP_GATED_GELU_TANH);
    ck_assert_int_eq(m.mlp.norm, DSMLP_NORM_RMSNORM);
    ck_assert(m.mlp.gamma_offset == 1.0);
    ck_assert(m.mlp.epsilon == 1e-6);
    ck_assert_int_eq(m.mlp.dtype, DSMLP_BF16);
    ck_assert_int_eq(m.mlp.layout, DSMLP_LAYOUT_OUT_IN);
    ck_assert_int_eq(m.mlp.split_w1, 1);
    ck_assert(!m.mlp.attn_bias && !m.mlp.norm_bias && !m.mlp.bias1 && !m.mlp.bias2);
    ck_assert(m.mlp.pre_layer_norm && m.mlp.mlp_after_attn);
    ck_assert_int_eq(m.tensors.layers, 18);
    ck_assert_int_eq(m.tensors.count, 4);
    has_ref(&m, "norm_w", "model.layers.{i}.post_attention_layernorm.weight", DSMLP_SPLIT_NONE);
    has_ref(&m, "w1_up", "model.layers.{i}.mlp.up_proj.weight", DSMLP_SPLIT_OUT);
    has_ref(&m, "w1_gate", "model.layers.{i}.mlp.gate_proj.weight", DSMLP_SPLIT_OUT);
    has_ref(&m, "w2", "model.layers.{i}.mlp.down_proj.weight", DSMLP_SPLIT_IN);
    same_as_preset(ctx, &m, "gemma-2b", "{dtype = 'bf16', layout = 'out_in', split_w1 = true}");
    dsmlp_ctx_free(ctx);
}
END_TEST

START_TEST(qwen2_1_5b)
{
    dsmlp_ctx *ctx = tu_ctx();
    dsmlp_hf_model m;
    TU_OK(ctx, dsmlp_hf_config(ctx, data_path("qwen2-1.5b.json"), &m));
    ck_assert_int_eq(m.mlp.hidden, 1536);
    ck_assert_int_eq(m.mlp.intermediate, 8960);
    ck_assert_int_eq(m.mlp.activation, DSMLP_MLP_GATED_SILU);
    ck_assert(m.mlp.gamma_offset == 0.0 && m.mlp.epsilon == 1e-6);
    ck_assert(!m.mlp.attn_bias && !m.mlp.bias1 && !m.mlp.bias2);   /* o_proj and the MLP have no bias */
    ck_assert_int_eq(m.tensors.layers, 28);
    has_ref(&m, "w1_gate", "model.layers.{i}.mlp.gate_proj.weight", DSMLP_SPLIT_OUT);
    same_as_preset(ctx, &m, "qwen2-1.5b", "{dtype = 'bf16', layout = 'out_in', split_w1 = true}");
    dsmlp_ctx_free(ctx);
}
END_TEST

START_TEST(phi_2)
{
    dsmlp_ctx *ctx = tu_ctx();
    dsmlp_hf_model m;
    TU_OK(ctx, dsmlp_hf_config(ctx, data_path("phi-2.json"), &m));
    ck_assert_int_eq(m.mlp.hidden, 2560);
    ck_assert_int_eq(m.mlp.intermediate, 10240);
    ck_assert_int_eq(m.mlp.activation, DSMLP_MLP_GELU_TANH);   /* gelu_new */
    ck_assert_int_eq(m.mlp.norm, DSMLP_NORM_NONE);              /* the shared input_layernorm: residual_norm */
    ck_assert_int_eq(m.mlp.mlp_after_attn, 0);                  /* attention and MLP in parallel */
    ck_assert(m.mlp.attn_bias && m.mlp.bias1 && m.mlp.bias2);
    ck_assert_int_eq(m.mlp.dtype, DSMLP_F16);
    has_ref(&m, "attn_bias", "model.layers.{i}.self_attn.dense.bias", DSMLP_SPLIT_NONE);
    has_ref(&m, "w1", "model.layers.{i}.mlp.fc1.weight", DSMLP_SPLIT_OUT);
    has_ref(&m, "b1", "model.layers.{i}.mlp.fc1.bias", DSMLP_SPLIT_OUT);
    has_ref(&m, "w2", "model.layers.{i}.mlp.fc2.weight", DSMLP_SPLIT_IN);
    has_ref(&m, "b2", "model.layers.{i}.mlp.fc2.bias", DSMLP_SPLIT_NONE);
    ck_assert_int_eq(m.tensors.count, 5);
    same_as_preset(ctx, &m, "phi-2", "{dtype = 'f16', layout = 'out_in'}");
    dsmlp_ctx_free(ctx);
}
END_TEST

START_TEST(phi_3_mini)
{
    dsmlp_ctx *ctx = tu_ctx();
    dsmlp_hf_model m;
    TU_OK(ctx, dsmlp_hf_config(ctx, data_path("phi-3-mini-4k.json"), &m));
    ck_assert_int_eq(m.mlp.hidden, 3072);
    ck_assert_int_eq(m.mlp.intermediate, 8192);
    ck_assert_int_eq(m.mlp.activation, DSMLP_MLP_GATED_SILU);
    /* gate_up_proj: gate is rows [0, I), up rows [I, 2I) */
    const dsmlp_tensor_ref *up = ref(&m, "w1_up"), *gate = ref(&m, "w1_gate");
    ck_assert_str_eq(up->tensor, "model.layers.{i}.mlp.gate_up_proj.weight");
    ck_assert_str_eq(gate->tensor, "model.layers.{i}.mlp.gate_up_proj.weight");
    ck_assert(up->row_begin == 8192 && up->row_count == 8192 && gate->row_begin == 0 && gate->row_count == 8192);
    same_as_preset(ctx, &m, "phi-3-mini", "{dtype = 'bf16', layout = 'out_in', split_w1 = true}");
    dsmlp_ctx_free(ctx);
}
END_TEST

START_TEST(falcon_7b)
{
    dsmlp_ctx *ctx = tu_ctx();
    dsmlp_hf_model m;
    TU_OK(ctx, dsmlp_hf_config(ctx, data_path("falcon-7b.json"), &m));
    ck_assert_int_eq(m.mlp.hidden, 4544);
    ck_assert_int_eq(m.mlp.intermediate, 4 * 4544);              /* no ffn_hidden_size: 4·hidden */
    ck_assert_int_eq(m.mlp.activation, DSMLP_MLP_GELU_ERF);      /* nn.GELU() */
    ck_assert_int_eq(m.mlp.norm, DSMLP_NORM_NONE);
    ck_assert_int_eq(m.mlp.mlp_after_attn, 0);
    ck_assert(!m.mlp.attn_bias && !m.mlp.bias1 && !m.mlp.bias2);   /* "bias": false */
    ck_assert_int_eq(m.tensors.layers, 32);
    has_ref(&m, "w1", "transformer.h.{i}.mlp.dense_h_to_4h.weight", DSMLP_SPLIT_OUT);
    has_ref(&m, "w2", "transformer.h.{i}.mlp.dense_4h_to_h.weight", DSMLP_SPLIT_IN);
    ck_assert_int_eq(m.tensors.count, 2);
    same_as_preset(ctx, &m, "falcon-7b", "{dtype = 'bf16', layout = 'out_in'}");
    dsmlp_ctx_free(ctx);
}
END_TEST

START_TEST(gpt2_conv1d)
{
    dsmlp_ctx *ctx = tu_ctx();
    dsmlp_hf_model m;
    TU_OK(ctx, dsmlp_hf_config(ctx, data_path("gpt2.json"), &m));
    ck_assert_int_eq(m.mlp.layout, DSMLP_LAYOUT_IN_OUT);   /* Conv1D stores [in, out] */
    ck_assert_int_eq(m.mlp.dtype, DSMLP_F32);              /* no torch_dtype */
    has_ref(&m, "w1", "h.{i}.mlp.c_fc.weight", DSMLP_SPLIT_OUT);
    has_ref(&m, "norm_b", "h.{i}.ln_2.bias", DSMLP_SPLIT_NONE);
    same_as_preset(ctx, &m, "gpt2", "{dtype = 'f32'}");
    dsmlp_ctx_free(ctx);
}
END_TEST

/* A config written here with `body` inside the braces; returns its path. */
static const char *write_config(const char *dir, const char *body)
{
    static char path[1024];
    snprintf(path, sizeof path, "%s/config.json", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "{%s}\n", body);
    fclose(f);
    return path;
}

START_TEST(errors_name_the_culprit)
{
    dsmlp_ctx *ctx = tu_ctx();
    char *dir = tu_tmpdir("hf");
    dsmlp_hf_model m;
    TU_CHECK(ctx, dsmlp_hf_config(ctx, write_config(dir, "\"model_type\": \"mamba\", \"hidden_size\": 768"), &m),
             DSMLP_ERR_UNSUPPORTED);
    TU_MSG_HAS(ctx, "model_type \"mamba\" is not one dsmlp knows");
    TU_MSG_HAS(ctx, "gemma");
    TU_CHECK(ctx, dsmlp_hf_config(ctx, write_config(dir, "\"model_type\": \"llama\", \"hidden_act\": \"quick_gelu\""), &m),
             DSMLP_ERR_UNSUPPORTED);
    TU_MSG_HAS(ctx, "hidden_act \"quick_gelu\" (model_type llama)");
    TU_CHECK(ctx, dsmlp_hf_config(ctx, write_config(dir, "\"hidden_size\": 768"), &m), DSMLP_ERR_INVALID_ARG);
    TU_MSG_HAS(ctx, "no \"model_type\"");
    TU_CHECK(ctx, dsmlp_hf_config(ctx, write_config(dir, "\"model_type\": \"bert\", \"hidden_size\": \"768\""), &m),
             DSMLP_ERR_INVALID_ARG);
    TU_MSG_HAS(ctx, "\"hidden_size\" must be a positive integer");
    TU_CHECK(ctx, dsmlp_hf_config(ctx, write_config(dir, "\"model_type\": \"bert\", \"torch_dtype\": \"float8\""), &m),
             DSMLP_ERR_INVALID_ARG);
    TU_MSG_HAS(ctx, "torch_dtype \"float8\"");
    TU_CHECK(ctx, dsmlp_hf_config(ctx, write_config(dir, "\"model_type\": \"bert\", "), &m), DSMLP_ERR_INVALID_ARG);
    TU_MSG_HAS(ctx, "not valid JSON");
    /* a directory means its config.json; a missing file says so */
    TU_OK(ctx, dsmlp_hf_config(ctx, write_config(dir, "\"model_type\": \"bert\""), &m));
    TU_OK(ctx, dsmlp_hf_config(ctx, dir, &m));
    ck_assert_int_eq(m.mlp.activation, DSMLP_MLP_GELU_ERF);
    ck_assert_int_eq(m.tensors.layers, 12);
    TU_CHECK(ctx, dsmlp_hf_config(ctx, "/nonexistent/config.json", &m), DSMLP_ERR_IO);
    TU_MSG_HAS(ctx, "cannot open /nonexistent/config.json");
    /* Gemma with hidden_activation set uses it */
    TU_OK(ctx, dsmlp_hf_config(ctx, write_config(dir, "\"model_type\": \"gemma\", \"hidden_activation\": \"gelu\""), &m));
    ck_assert_int_eq(m.mlp.activation, DSMLP_MLP_GATED_GELU_ERF);
    tu_rmtree(dir);
    free(dir);
    dsmlp_ctx_free(ctx);
}
END_TEST

/* dsmlp.hf in Lua: the same block, the tensor map attached, overrides, paths
** relative to the script. */
START_TEST(lua_hf)
{
    dsmlp_ctx *ctx = tu_ctx();
    char src[1200];
    snprintf(src, sizeof src, "return dsmlp.hf('%s', {dtype = 'f16', tp = {size = 2, rank = 1}})",
             data_path("qwen2-1.5b.json"));
    dsmlp_layers *l = tl_load_one(ctx, src);
    ck_assert_str_eq(dsmlp_layers_name(l, 0), "qwen2");
    const dsmlp_graph *g = dsmlp_layers_graph(l, 0);
    const dsmlp_tensor_map *tm = dsmlp_graph_tensor_map(g);
    ck_assert_ptr_nonnull(tm);
    ck_assert_int_eq(tm->layers, 28);
    ck_assert(tm->tp_size == 2 && tm->tp_rank == 1);
    dsmlp_hf_model m;
    TU_OK(ctx, dsmlp_hf_config(ctx, data_path("qwen2-1.5b.json"), &m));
    m.mlp.dtype = DSMLP_F16, m.mlp.tp_size = 2, m.mlp.tp_rank = 1;
    dsmlp_graph *c;
    TU_OK(ctx, dsmlp_graph_create(ctx, "qwen2", &c));
    TU_OK(ctx, dsmlp_mlp_build(c, &m.mlp));
    ck_assert(dsmlp_graph_equal(c, g));
    dsmlp_graph_free(c);
    dsmlp_layers_free(l);
    TL_FAILS(ctx, "return dsmlp.hf('/nonexistent/config.json')", "model.lua:1:", "cannot open /nonexistent/config.json");
    /* dsmlp.weights: inspect a checkpoint (the MiniLM fixtures file is one) */
    snprintf(src, sizeof src,
             "local w <close> = dsmlp.weights('%s/tests/data/minilm/fixtures.safetensors')\n"
             "assert(#w == 18, #w)\n"
             "local n = w:names(); assert(n[1] == 'layer.0.input', n[1])\n"
             "local i = w:info('layer.5.out')\n"
             "assert(i.dtype == 'F32' and #i.shape == 2 and i.shape[2] == 384 and i.bytes == i.shape[1] * 384 * 4)\n"
             "assert(tostring(w):find('18 tensors in 1 files'))\n"
             "return dsmlp.mlp{hidden = 8}", DSMLP_SOURCE_DIR);
    l = tl_load_one(ctx, src);
    dsmlp_layers_free(l);
    TL_FAILS(ctx, "local w = dsmlp.weights('/nonexistent.safetensors')", "model.lua:1:",
             "dsmlp.weights('/nonexistent.safetensors'): cannot open /nonexistent.safetensors");
    snprintf(src, sizeof src, "local w = dsmlp.weights('%s/tests/data/minilm/fixtures.safetensors')\n"
             "w:check(dsmlp.hf('%s'))", DSMLP_SOURCE_DIR, data_path("qwen2-1.5b.json"));
    TL_FAILS(ctx, src, "model.lua:2:", "no tensor 'model.layers.0.post_attention_layernorm.weight'");
    TL_FAILS(ctx, "return dsmlp.hf('x.json', {dtpye = 'f16'})", "model.lua:1:", "unknown field 'dtpye'");
    dsmlp_ctx_free(ctx);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("hf_config");
    TCase *tc = tcase_create("hf");
    tcase_add_test(tc, gemma_2b);
    tcase_add_test(tc, qwen2_1_5b);
    tcase_add_test(tc, phi_2);
    tcase_add_test(tc, phi_3_mini);
    tcase_add_test(tc, falcon_7b);
    tcase_add_test(tc, gpt2_conv1d);
    tcase_add_test(tc, errors_name_the_culprit);
    tcase_add_test(tc, lua_hf);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
