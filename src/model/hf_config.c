/*
** hf_config.c — dsmlp_hf_config: the MLP block of a model from its Hugging
** Face config.json. One function per family reads the fields that family's
** transformers config class defines (with that class's defaults when a
** field is absent) and names the checkpoint tensor of every parameter.
** Which norm, residual case and activation each family computes follows the
** transformers modeling code; docs/models.md has the table.
*/
#include "dsmlp.h"
#include "error.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

typedef struct hf {
    dsmlp_ctx      *ctx;
    const char     *path;
    json_t         *root;
    dsmlp_hf_model *m;
} hf;

#define TRY(call)                                   \
    do {                                            \
        dsmlp_status try_s_ = (call);               \
        if (try_s_ != DSMLP_OK) return try_s_;      \
    } while (0)

/* ------------------------------------------------------------ fields */

static dsmlp_status bad_field(hf *h, const char *key, const char *want)
{
    return dsmlpB_err_set(h->ctx, DSMLP_ERR_INVALID_ARG, "%s: \"%s\" must be %s", h->path, key, want);
}

/* An integer field (def when absent or null); it must be > 0. */
static dsmlp_status get_int(hf *h, const char *key, int64_t def, int64_t *out)
{
    json_t *v = json_object_get(h->root, key);
    if (!v || json_is_null(v)) {
        if (def <= 0) return dsmlpB_err_set(h->ctx, DSMLP_ERR_INVALID_ARG, "%s: \"%s\" is missing", h->path, key);
        *out = def;
        return DSMLP_OK;
    }
    if (!json_is_integer(v) || json_integer_value(v) <= 0) return bad_field(h, key, "a positive integer");
    *out = (int64_t)json_integer_value(v);
    return DSMLP_OK;
}

/* The first of several names a family has used for a field. */
static dsmlp_status get_int2(hf *h, const char *key, const char *alt, int64_t def, int64_t *out)
{
    json_t *v = json_object_get(h->root, key);
    return get_int(h, (!v || json_is_null(v)) && alt && json_object_get(h->root, alt) ? alt : key, def, out);
}

static dsmlp_status get_num(hf *h, const char *key, double def, double *out)
{
    json_t *v = json_object_get(h->root, key);
    if (!v || json_is_null(v)) {
        *out = def;
        return DSMLP_OK;
    }
    if (!json_is_number(v) || !(json_number_value(v) > 0)) return bad_field(h, key, "a positive number");
    *out = json_number_value(v);
    return DSMLP_OK;
}

static dsmlp_status get_bool(hf *h, const char *key, int def, int *out)
{
    json_t *v = json_object_get(h->root, key);
    if (!v || json_is_null(v)) {
        *out = def;
        return DSMLP_OK;
    }
    if (!json_is_boolean(v)) return bad_field(h, key, "true or false");
    *out = json_is_true(v);
    return DSMLP_OK;
}

static dsmlp_status get_str(hf *h, const char *key, const char *def, const char **out)
{
    json_t *v = json_object_get(h->root, key);
    if (!v || json_is_null(v)) {
        *out = def;
        return DSMLP_OK;
    }
    if (!json_is_string(v)) return bad_field(h, key, "a string");
    *out = json_string_value(v);
    return DSMLP_OK;
}

/* ------------------------------------------------------------ activations */

/* hidden_act (or the family's field) -> the exact function; key names the field in messages. */
static dsmlp_status set_act(hf *h, const char *key, const char *name, int gated)
{
    static const struct { const char *name; dsmlp_act act; } acts[] = {
        {"gelu", DSMLP_ACT_GELU_ERF},          {"gelu_python", DSMLP_ACT_GELU_ERF},
        {"gelu_new", DSMLP_ACT_GELU_TANH},     {"gelu_fast", DSMLP_ACT_GELU_TANH},
        {"gelu_pytorch_tanh", DSMLP_ACT_GELU_TANH}, {"gelu_accurate", DSMLP_ACT_GELU_TANH},
        {"relu", DSMLP_ACT_RELU},              {"silu", DSMLP_ACT_SILU},
        {"swish", DSMLP_ACT_SILU},
    };
    snprintf(h->m->hidden_act, sizeof h->m->hidden_act, "%s", name);
    for (size_t i = 0; i < sizeof acts / sizeof *acts; i++)
        if (!strcmp(name, acts[i].name)) {
            h->m->mlp.activation = dsmlp_mlp_act_make(acts[i].act, gated);
            return DSMLP_OK;
        }
    return dsmlpB_err_set(h->ctx, DSMLP_ERR_UNSUPPORTED,
                   "%s: %s \"%s\" (model_type %s) is not an activation dsmlp computes exactly (it has gelu [erf], "
                   "gelu_python, gelu_new, gelu_fast, gelu_pytorch_tanh, gelu_accurate [tanh], relu, silu, swish)",
                   h->path, key, name, h->m->model_type);
}

static dsmlp_status act_field(hf *h, const char *key, const char *def, int gated)
{
    const char *name = NULL;
    TRY(get_str(h, key, def, &name));
    return set_act(h, key, name, gated);
}

/* ------------------------------------------------------------ tensor names */

static dsmlp_status map(hf *h, const char *param, dsmlp_split split, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static dsmlp_status map(hf *h, const char *param, dsmlp_split split, const char *fmt, ...)
{
    dsmlp_tensor_map *t = &h->m->tensors;
    if (t->count == DSMLP_TENSOR_MAP_MAX)
        return dsmlpB_err_set(h->ctx, DSMLP_ERR_UNSUPPORTED, "%s: more than %d parameters", h->path, DSMLP_TENSOR_MAP_MAX);
    dsmlp_tensor_ref *r = &t->ref[t->count++];
    memset(r, 0, sizeof *r);
    snprintf(r->param, sizeof r->param, "%s", param);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->tensor, sizeof r->tensor, fmt, ap);
    va_end(ap);
    r->split = split;
    return DSMLP_OK;
}

/* The block's parameters as the builder names them, from "<prefix><suffix>"
** names; a NULL suffix means the parameter is absent. */
typedef struct names {
    const char *attn_bias, *norm_w, *norm_b, *w1, *b1, *w1_up, *b1_up, *w1_gate, *b1_gate, *w2, *b2;
} names;

static dsmlp_status map_all(hf *h, const char *prefix, const names *n)
{
    const dsmlp_mlp_config *c = &h->m->mlp;
    if (c->attn_bias) TRY(map(h, "attn_bias", DSMLP_SPLIT_NONE, "%s%s", prefix, n->attn_bias));
    if (c->norm != DSMLP_NORM_NONE) TRY(map(h, "norm_w", DSMLP_SPLIT_NONE, "%s%s", prefix, n->norm_w));
    if (c->norm_bias) TRY(map(h, "norm_b", DSMLP_SPLIT_NONE, "%s%s", prefix, n->norm_b));
    if (c->split_w1) {
        TRY(map(h, "w1_up", DSMLP_SPLIT_OUT, "%s%s", prefix, n->w1_up));
        TRY(map(h, "w1_gate", DSMLP_SPLIT_OUT, "%s%s", prefix, n->w1_gate));
        if (c->bias1) TRY(map(h, "b1_up", DSMLP_SPLIT_OUT, "%s%s", prefix, n->b1_up));
        if (c->bias1) TRY(map(h, "b1_gate", DSMLP_SPLIT_OUT, "%s%s", prefix, n->b1_gate));
    } else {
        TRY(map(h, "w1", DSMLP_SPLIT_OUT, "%s%s", prefix, n->w1));
        if (c->bias1) TRY(map(h, "b1", DSMLP_SPLIT_OUT, "%s%s", prefix, n->b1));
    }
    TRY(map(h, "w2", DSMLP_SPLIT_IN, "%s%s", prefix, n->w2));
    if (c->bias2) TRY(map(h, "b2", DSMLP_SPLIT_NONE, "%s%s", prefix, n->b2));
    return DSMLP_OK;
}

static void biases(dsmlp_mlp_config *c, int attn, int b1, int b2)
{
    c->attn_bias = attn, c->bias1 = b1, c->bias2 = b2;
}

/* ------------------------------------------------------------ families */

/* GPT-2: Conv1D weights are [in, out]; pre-LN; gelu_new. */
static dsmlp_status fam_gpt2(hf *h)
{
    dsmlp_mlp_config *c = &h->m->mlp;
    int64_t layers = 0;
    TRY(get_int(h, "n_embd", 768, &c->hidden));
    TRY(get_int(h, "n_inner", 4 * c->hidden, &c->intermediate));
    TRY(get_num(h, "layer_norm_epsilon", 1e-5, &c->epsilon));
    TRY(get_int(h, "n_layer", 12, &layers));
    TRY(act_field(h, "activation_function", "gelu_new", 0));
    c->layout = DSMLP_LAYOUT_IN_OUT;
    h->m->tensors.layers = (int)layers;
    names n = {.attn_bias = "attn.c_proj.bias", .norm_w = "ln_2.weight", .norm_b = "ln_2.bias",
               .w1 = "mlp.c_fc.weight", .b1 = "mlp.c_fc.bias", .w2 = "mlp.c_proj.weight", .b2 = "mlp.c_proj.bias"};
    return map_all(h, "h.{i}.", &n);
}

/* OPT: pre-LN reads final_layer_norm; OPT-350m (do_layer_norm_before false)
** normalises X + A + b_o with self_attn_layer_norm and adds that (post-LN). */
static dsmlp_status fam_opt(hf *h)
{
    dsmlp_mlp_config *c = &h->m->mlp;
    int64_t layers = 0;
    int bias = 0, affine = 0;
    TRY(get_int(h, "hidden_size", 768, &c->hidden));
    TRY(get_int(h, "ffn_dim", 3072, &c->intermediate));
    TRY(get_int(h, "num_hidden_layers", 12, &layers));
    TRY(get_bool(h, "do_layer_norm_before", 1, &c->pre_layer_norm));
    TRY(get_bool(h, "enable_bias", 1, &bias));
    TRY(get_bool(h, "layer_norm_elementwise_affine", 1, &affine));
    TRY(act_field(h, "activation_function", "relu", 0));
    if (!affine)
        return dsmlpB_err_set(h->ctx, DSMLP_ERR_UNSUPPORTED,
                       "%s: layer_norm_elementwise_affine = false (a LayerNorm without weight) is not supported",
                       h->path);
    c->epsilon = 1e-5;   /* nn.LayerNorm's default; OPT's config has no field */
    biases(c, bias, bias, bias);
    c->norm_bias = bias;
    h->m->tensors.layers = (int)layers;
    const char *ln = c->pre_layer_norm ? "final_layer_norm" : "self_attn_layer_norm";
    char w[64], b[64];
    snprintf(w, sizeof w, "%s.weight", ln);
    snprintf(b, sizeof b, "%s.bias", ln);
    names n = {.attn_bias = "self_attn.out_proj.bias", .norm_w = w, .norm_b = b, .w1 = "fc1.weight", .b1 = "fc1.bias",
               .w2 = "fc2.weight", .b2 = "fc2.bias"};
    return map_all(h, "model.decoder.layers.{i}.", &n);
}

/* BLOOM: tanh GELU (bloom_gelu); apply_residual_connection_post_layernorm
** adds the normalised value back (post-LN). */
static dsmlp_status fam_bloom(hf *h)
{
    dsmlp_mlp_config *c = &h->m->mlp;
    int64_t layers = 0;
    int post = 0;
    TRY(get_int2(h, "hidden_size", "n_embed", 64, &c->hidden));
    TRY(get_int2(h, "n_layer", "num_hidden_layers", 2, &layers));
    TRY(get_num(h, "layer_norm_epsilon", 1e-5, &c->epsilon));
    TRY(get_bool(h, "apply_residual_connection_post_layernorm", 0, &post));
    c->activation = DSMLP_MLP_GELU_TANH;   /* bloom_gelu: the tanh form; the config has no field */
    snprintf(h->m->hidden_act, sizeof h->m->hidden_act, "bloom_gelu");
    c->intermediate = 4 * c->hidden;
    c->pre_layer_norm = !post;
    h->m->tensors.layers = (int)layers;
    names n = {.attn_bias = "self_attention.dense.bias", .norm_w = "post_attention_layernorm.weight",
               .norm_b = "post_attention_layernorm.bias", .w1 = "mlp.dense_h_to_4h.weight",
               .b1 = "mlp.dense_h_to_4h.bias", .w2 = "mlp.dense_4h_to_h.weight", .b2 = "mlp.dense_4h_to_h.bias"};
    return map_all(h, "h.{i}.", &n);
}

/* GPT-J: attention and MLP both read ln_1(X) (the caller's residual_norm);
** parallel residual; out_proj has no bias. */
static dsmlp_status fam_gptj(hf *h)
{
    dsmlp_mlp_config *c = &h->m->mlp;
    int64_t layers = 0;
    TRY(get_int(h, "n_embd", 4096, &c->hidden));
    TRY(get_int(h, "n_inner", 4 * c->hidden, &c->intermediate));
    TRY(get_int(h, "n_layer", 28, &layers));
    TRY(act_field(h, "activation_function", "gelu_new", 0));
    c->norm = DSMLP_NORM_NONE, c->norm_bias = 0, c->mlp_after_attn = 0;
    biases(c, 0, 1, 1);
    h->m->tensors.layers = (int)layers;
    names n = {.w1 = "mlp.fc_in.weight", .b1 = "mlp.fc_in.bias", .w2 = "mlp.fc_out.weight", .b2 = "mlp.fc_out.bias"};
    return map_all(h, "transformer.h.{i}.", &n);
}

/* GPT-NeoX: parallel residual by default (the MLP normalises X itself). */
static dsmlp_status fam_neox(hf *h)
{
    dsmlp_mlp_config *c = &h->m->mlp;
    int64_t layers = 0;
    int parallel = 0, attn_bias = 0;
    TRY(get_int(h, "hidden_size", 6144, &c->hidden));
    TRY(get_int(h, "intermediate_size", 24576, &c->intermediate));
    TRY(get_int(h, "num_hidden_layers", 44, &layers));
    TRY(get_num(h, "layer_norm_eps", 1e-5, &c->epsilon));
    TRY(get_bool(h, "use_parallel_residual", 1, &parallel));
    TRY(get_bool(h, "attention_bias", 1, &attn_bias));
    TRY(act_field(h, "hidden_act", "gelu", 0));
    c->mlp_after_attn = !parallel;
    biases(c, attn_bias, 1, 1);
    h->m->tensors.layers = (int)layers;
    names n = {.attn_bias = "attention.dense.bias", .norm_w = "post_attention_layernorm.weight",
               .norm_b = "post_attention_layernorm.bias", .w1 = "mlp.dense_h_to_4h.weight",
               .b1 = "mlp.dense_h_to_4h.bias", .w2 = "mlp.dense_4h_to_h.weight", .b2 = "mlp.dense_4h_to_h.bias"};
    return map_all(h, "gpt_neox.layers.{i}.", &n);
}

/* BERT (and RoBERTa): post-LN; the block ends before output.LayerNorm. */
static dsmlp_status fam_bert(hf *h)
{
    dsmlp_mlp_config *c = &h->m->mlp;
    int64_t layers = 0;
    TRY(get_int(h, "hidden_size", 768, &c->hidden));
    TRY(get_int(h, "intermediate_size", 3072, &c->intermediate));
    TRY(get_int(h, "num_hidden_layers", 12, &layers));
    TRY(get_num(h, "layer_norm_eps", 1e-12, &c->epsilon));
    TRY(act_field(h, "hidden_act", "gelu", 0));
    c->pre_layer_norm = 0;
    h->m->tensors.layers = (int)layers;
    names n = {.attn_bias = "attention.output.dense.bias", .norm_w = "attention.output.LayerNorm.weight",
               .norm_b = "attention.output.LayerNorm.bias", .w1 = "intermediate.dense.weight",
               .b1 = "intermediate.dense.bias", .w2 = "output.dense.weight", .b2 = "output.dense.bias"};
    return map_all(h, "encoder.layer.{i}.", &n);
}

/* LLaMA, Mistral, Qwen2, Gemma: RMSNorm, gated with separate up and gate. */
static dsmlp_status llama_like(hf *h, const char *act_key, const char *act_def, int attn_bias_field, double offset)
{
    dsmlp_mlp_config *c = &h->m->mlp;
    int64_t layers = 0;
    int attn_bias = 0, mlp_bias = 0;
    TRY(get_int(h, "hidden_size", 4096, &c->hidden));
    TRY(get_int(h, "intermediate_size", 11008, &c->intermediate));
    TRY(get_int(h, "num_hidden_layers", 32, &layers));
    TRY(get_num(h, "rms_norm_eps", 1e-6, &c->epsilon));
    if (attn_bias_field) TRY(get_bool(h, "attention_bias", 0, &attn_bias));
    TRY(get_bool(h, "mlp_bias", 0, &mlp_bias));
    TRY(act_field(h, act_key, act_def, 1));
    c->norm = DSMLP_NORM_RMSNORM, c->norm_bias = 0, c->split_w1 = 1, c->gamma_offset = offset;
    biases(c, attn_bias, mlp_bias, mlp_bias);
    h->m->tensors.layers = (int)layers;
    names n = {.attn_bias = "self_attn.o_proj.bias", .norm_w = "post_attention_layernorm.weight",
               .w1_up = "mlp.up_proj.weight", .b1_up = "mlp.up_proj.bias", .w1_gate = "mlp.gate_proj.weight",
               .b1_gate = "mlp.gate_proj.bias", .w2 = "mlp.down_proj.weight", .b2 = "mlp.down_proj.bias"};
    return map_all(h, "model.layers.{i}.", &n);
}

static dsmlp_status fam_llama(hf *h) { return llama_like(h, "hidden_act", "silu", 1, 0.0); }
static dsmlp_status fam_qwen2(hf *h) { return llama_like(h, "hidden_act", "silu", 0, 0.0); }

/* Gemma: RMSNorm scales by (1 + w); transformers computes hidden_activation,
** and gelu_pytorch_tanh when the config has none (the original configs say
** hidden_act "gelu", which transformers overrides). */
static dsmlp_status fam_gemma(hf *h)
{
    json_t *v = json_object_get(h->root, "hidden_activation");
    int has = v && !json_is_null(v);
    return llama_like(h, has ? "hidden_activation" : "(transformers' default)", "gelu_pytorch_tanh", 1, 1.0);
}

/* Phi-2: attention and MLP both read input_layernorm(X) (residual_norm). */
static dsmlp_status fam_phi(hf *h)
{
    dsmlp_mlp_config *c = &h->m->mlp;
    int64_t layers = 0;
    TRY(get_int(h, "hidden_size", 2048, &c->hidden));
    TRY(get_int(h, "intermediate_size", 8192, &c->intermediate));
    TRY(get_int(h, "num_hidden_layers", 24, &layers));
    TRY(act_field(h, "hidden_act", "gelu_new", 0));
    c->norm = DSMLP_NORM_NONE, c->norm_bias = 0, c->mlp_after_attn = 0;
    biases(c, 1, 1, 1);
    h->m->tensors.layers = (int)layers;
    names n = {.attn_bias = "self_attn.dense.bias", .w1 = "mlp.fc1.weight", .b1 = "mlp.fc1.bias",
               .w2 = "mlp.fc2.weight", .b2 = "mlp.fc2.bias"};
    return map_all(h, "model.layers.{i}.", &n);
}

/* Phi-3: gate_up_proj holds gate (rows [0, I)) then up (rows [I, 2I)): bound
** as w1_gate and w1_up, two row blocks of the one tensor. */
static dsmlp_status fam_phi3(hf *h)
{
    dsmlp_mlp_config *c = &h->m->mlp;
    int64_t layers = 0;
    TRY(get_int(h, "hidden_size", 3072, &c->hidden));
    TRY(get_int(h, "intermediate_size", 8192, &c->intermediate));
    TRY(get_int(h, "num_hidden_layers", 32, &layers));
    TRY(get_num(h, "rms_norm_eps", 1e-5, &c->epsilon));
    TRY(act_field(h, "hidden_act", "silu", 1));
    c->norm = DSMLP_NORM_RMSNORM, c->norm_bias = 0, c->split_w1 = 1;
    biases(c, 0, 0, 0);
    h->m->tensors.layers = (int)layers;
    const char *pre = "model.layers.{i}.";
    TRY(map(h, "norm_w", DSMLP_SPLIT_NONE, "%spost_attention_layernorm.weight", pre));
    TRY(map(h, "w1_up", DSMLP_SPLIT_OUT, "%smlp.gate_up_proj.weight", pre));
    dsmlp_tensor_ref *up = &h->m->tensors.ref[h->m->tensors.count - 1];
    up->row_begin = c->intermediate, up->row_count = c->intermediate;
    TRY(map(h, "w1_gate", DSMLP_SPLIT_OUT, "%smlp.gate_up_proj.weight", pre));
    dsmlp_tensor_ref *gate = &h->m->tensors.ref[h->m->tensors.count - 1];
    gate->row_begin = 0, gate->row_count = c->intermediate;
    return map(h, "w2", DSMLP_SPLIT_IN, "%smlp.down_proj.weight", pre);
}

/* Falcon: exact GELU (nn.GELU / activation "gelu"); parallel attention reads
** input_layernorm(X) (residual_norm), or with new_decoder_architecture the
** MLP normalises X with ln_mlp; sequential (parallel_attn false) is pre-LN. */
static dsmlp_status fam_falcon(hf *h)
{
    dsmlp_mlp_config *c = &h->m->mlp;
    int64_t layers = 0, nln = 0;
    int bias = 0, parallel = 0, new_arch = 0;
    TRY(get_int(h, "hidden_size", 4544, &c->hidden));
    TRY(get_int(h, "ffn_hidden_size", 4 * c->hidden, &c->intermediate));
    TRY(get_int2(h, "num_hidden_layers", "n_layer", 32, &layers));
    TRY(get_num(h, "layer_norm_epsilon", 1e-5, &c->epsilon));
    TRY(get_bool(h, "bias", 0, &bias));
    TRY(get_bool(h, "parallel_attn", 1, &parallel));
    TRY(get_bool(h, "new_decoder_architecture", 0, &new_arch));
    json_t *v = json_object_get(h->root, "num_ln_in_parallel_attn");
    if (v && !json_is_null(v)) TRY(get_int(h, "num_ln_in_parallel_attn", 2, &nln));
    TRY(act_field(h, "activation", "gelu", 0));
    biases(c, bias, bias, bias);
    c->norm_bias = 1;
    const char *ln = NULL;
    if (new_arch && nln != 1) {
        c->mlp_after_attn = 0, ln = "ln_mlp";                   /* the MLP normalises X itself */
    } else if (new_arch || parallel) {
        c->mlp_after_attn = 0, c->norm = DSMLP_NORM_NONE, c->norm_bias = 0;   /* shared input_layernorm */
    } else {
        ln = "post_attention_layernorm";                         /* sequential, pre-LN */
    }
    h->m->tensors.layers = (int)layers;
    char w[64] = "", b[64] = "";
    if (ln) snprintf(w, sizeof w, "%s.weight", ln), snprintf(b, sizeof b, "%s.bias", ln);
    names n = {.attn_bias = "self_attention.dense.bias", .norm_w = w, .norm_b = b,
               .w1 = "mlp.dense_h_to_4h.weight", .b1 = "mlp.dense_h_to_4h.bias", .w2 = "mlp.dense_4h_to_h.weight",
               .b2 = "mlp.dense_4h_to_h.bias"};
    return map_all(h, "transformer.h.{i}.", &n);
}

static const struct { const char *type; dsmlp_status (*fn)(hf *); } families[] = {
    {"gpt2", fam_gpt2},       {"opt", fam_opt},           {"bloom", fam_bloom},
    {"gptj", fam_gptj},       {"gpt_neox", fam_neox},     {"bert", fam_bert},
    {"roberta", fam_bert},    {"llama", fam_llama},       {"mistral", fam_llama},
    {"qwen2", fam_qwen2},     {"gemma", fam_gemma},       {"phi", fam_phi},
    {"phi3", fam_phi3},       {"falcon", fam_falcon},     {"RefinedWeb", fam_falcon},
    {"RefinedWebModel", fam_falcon},
};

/* ------------------------------------------------------------ entry */

static dsmlp_status read_dtype(hf *h)
{
    const char *s = NULL;
    TRY(get_str(h, "torch_dtype", NULL, &s));
    dsmlp_dtype t = DSMLP_F32;
    if (s && dsmlp_dtype_parse(s, &t) != DSMLP_OK)
        return dsmlpB_err_set(h->ctx, DSMLP_ERR_INVALID_ARG, "%s: torch_dtype \"%s\" is not a dtype dsmlp knows", h->path, s);
    h->m->mlp.dtype = t == DSMLP_F16 || t == DSMLP_BF16 ? t : DSMLP_F32;   /* f64, i8: compute in f32 */
    return DSMLP_OK;
}

static dsmlp_status parse(hf *h)
{
    dsmlp_hf_model *m = h->m;
    const char *type = NULL;
    if (!json_is_object(h->root)) return dsmlpB_err_set(h->ctx, DSMLP_ERR_INVALID_ARG, "%s: not a JSON object", h->path);
    TRY(get_str(h, "model_type", NULL, &type));
    if (!type) return dsmlpB_err_set(h->ctx, DSMLP_ERR_INVALID_ARG, "%s: no \"model_type\": not a Hugging Face config.json", h->path);
    snprintf(m->model_type, sizeof m->model_type, "%s", type);
    dsmlp_mlp_config_default(&m->mlp);
    m->mlp.layout = DSMLP_LAYOUT_OUT_IN;   /* nn.Linear: weights are used as stored */
    m->tensors.tp_size = 1;
    TRY(read_dtype(h));
    for (size_t i = 0; i < sizeof families / sizeof *families; i++)
        if (!strcmp(type, families[i].type)) {
            TRY(families[i].fn(h));
            return dsmlp_mlp_config_check(h->ctx, &m->mlp);
        }
    char list[512] = "";
    for (size_t i = 0, n = 0; i < sizeof families / sizeof *families; i++)
        n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", i ? ", " : "", families[i].type);
    return dsmlpB_err_set(h->ctx, DSMLP_ERR_UNSUPPORTED, "%s: model_type \"%s\" is not one dsmlp knows (it knows %s)", h->path,
                   type, list);
}

dsmlp_status dsmlp_hf_config(dsmlp_ctx *ctx, const char *path, dsmlp_hf_model *out)
{
    if (!path || !out) return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "dsmlp_hf_config: %s is NULL", path ? "out" : "path");
    memset(out, 0, sizeof *out);
    char file[4096];
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        snprintf(file, sizeof file, "%s/config.json", path);
    else
        snprintf(file, sizeof file, "%s", path);
    json_error_t je;
    hf h = {ctx, file, NULL, out};
    FILE *f = fopen(file, "rb");
    if (!f) return dsmlpB_err_set(ctx, DSMLP_ERR_IO, "cannot open %s: %s", file, strerror(errno));
    h.root = json_loadf(f, JSON_REJECT_DUPLICATES, &je);
    fclose(f);
    if (!h.root)
        return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "%s: not valid JSON: %s (line %d, column %d)", file, je.text,
                       je.line, je.column);
    dsmlp_status s = parse(&h);
    json_decref(h.root);
    if (s != DSMLP_OK) memset(out, 0, sizeof *out);
    return s;
}
