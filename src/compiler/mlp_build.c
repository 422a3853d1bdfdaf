/*
** mlp_build.c — the DeepSpeed-equivalent MLP block (spec §3–§5) built from
** a config through the public graph API, computing the formula the model
** means where DeepSpeed has a defect (docs/deepspeed-differences.md).
**
** Declaration order is fixed so that equal configs give equal graphs (the Lua
** builder mirrors it): inputs input, residual, [residual_norm]; params
** [attn_bias], [norm_w], [norm_b], w1, [w1_scales], [b1], w2, [w2_scales],
** [b2]; then the ops; output "out". With split_w1, w1 [w1_scales] [b1] is
** w1_up [w1_up_scales] w1_gate [w1_gate_scales] [b1_up] [b1_gate].
*/
#include "mlp.h"
#include "error.h"
#include "graph.h"

#define TRY(call)                                         \
    do {                                                  \
        dsmlp_status try_s_ = (call);                     \
        if (try_s_ != DSMLP_OK) return try_s_;            \
    } while (0)

/* Values of one build: declared inputs/params, DSMLP_NONE when absent. */
typedef struct mlp_vals {
    dsmlp_value A, X, Xn;
    dsmlp_value bo, gamma, beta;
    dsmlp_value w1, s1, b1, w2, s2, b2;
    dsmlp_value wg, sg, bg;   /* split_w1: the gate's; w1, s1, b1 are the up's */
} mlp_vals;

/* A weight with `in` inputs and `out` outputs in layout lay. */
static dsmlp_status weight(dsmlp_graph *g, const char *name, dsmlp_dtype dt, int64_t in, int64_t out,
                           dsmlp_layout lay, dsmlp_value *v)
{
    if (lay == DSMLP_LAYOUT_IN_OUT) return dsmlp_param_matrix(g, name, dt, in, out, lay, v);
    return dsmlp_param_matrix(g, name, dt, out, in, lay, v);
}

static dsmlp_status declare(dsmlp_graph *g, const dsmlp_mlp_config *cfg, const mlp_dims *d, mlp_vals *v)
{
    dsmlp_dtype dt = cfg->dtype;
    dsmlp_dtype wdt = d->int8 ? cfg->quant_dtype : dt, sdt = cfg->quant_scale_dtype;
    /* int8 weights are always [out,in] (spec §5.1). */
    dsmlp_layout lay = d->int8 ? DSMLP_LAYOUT_OUT_IN : cfg->layout;
    int64_t n1 = d->F * d->Ip;   /* W1 output features of this rank */

    *v = (mlp_vals){DSMLP_NONE, DSMLP_NONE, DSMLP_NONE, DSMLP_NONE, DSMLP_NONE, DSMLP_NONE, DSMLP_NONE,
                    DSMLP_NONE, DSMLP_NONE, DSMLP_NONE, DSMLP_NONE, DSMLP_NONE, DSMLP_NONE, DSMLP_NONE, DSMLP_NONE};
    TRY(dsmlp_input(g, "input", dt, d->H, &v->A));
    TRY(dsmlp_input(g, "residual", dt, d->H, &v->X));
    if (cfg->norm == DSMLP_NORM_NONE) TRY(dsmlp_input(g, "residual_norm", dt, d->H, &v->Xn));
    if (cfg->attn_bias) TRY(dsmlp_param_vector(g, "attn_bias", dt, d->H, &v->bo));
    if (cfg->norm != DSMLP_NORM_NONE) TRY(dsmlp_param_vector(g, "norm_w", dt, d->H, &v->gamma));
    if (cfg->norm == DSMLP_NORM_LAYERNORM && cfg->norm_bias) TRY(dsmlp_param_vector(g, "norm_b", dt, d->H, &v->beta));
    if (d->split) {
        TRY(weight(g, "w1_up", wdt, d->H, d->Ip, lay, &v->w1));
        if (d->int8) TRY(dsmlp_param_vector(g, "w1_up_scales", sdt, dsmlpC_mlp_scale_count(cfg, d, MLP_W1_HALF), &v->s1));
        TRY(weight(g, "w1_gate", wdt, d->H, d->Ip, lay, &v->wg));
        if (d->int8) TRY(dsmlp_param_vector(g, "w1_gate_scales", sdt, dsmlpC_mlp_scale_count(cfg, d, MLP_W1_HALF), &v->sg));
        if (cfg->bias1) TRY(dsmlp_param_vector(g, "b1_up", dt, d->Ip, &v->b1));
        if (cfg->bias1) TRY(dsmlp_param_vector(g, "b1_gate", dt, d->Ip, &v->bg));
    } else {
        TRY(weight(g, "w1", wdt, d->H, n1, lay, &v->w1));
        if (d->int8) TRY(dsmlp_param_vector(g, "w1_scales", sdt, dsmlpC_mlp_scale_count(cfg, d, MLP_W1), &v->s1));
        if (cfg->bias1) TRY(dsmlp_param_vector(g, "b1", dt, n1, &v->b1));
    }
    TRY(weight(g, "w2", wdt, d->Ip, d->H, lay, &v->w2));
    if (d->int8) TRY(dsmlp_param_vector(g, "w2_scales", sdt, dsmlpC_mlp_scale_count(cfg, d, MLP_W2), &v->s2));
    if (cfg->bias2) TRY(dsmlp_param_vector(g, "b2", dt, d->H, &v->b2));
    return DSMLP_OK;
}

/* x·W (+ b): the weight dequantized first when it is quantized (one group
** per scale: the scale layouts of mlp_quant.c are all contiguous row blocks). */
static dsmlp_status linear(dsmlp_graph *g, const dsmlp_mlp_config *cfg, dsmlp_value x, dsmlp_value w,
                           dsmlp_value scales, dsmlp_value b, dsmlp_value *out)
{
    if (scales != DSMLP_NONE) {
        dsmlp_value_info si;
        TRY(dsmlp_value_get(g, scales, &si));
        TRY(dsmlp_dequant(g, w, scales, si.dims[0], cfg->dtype, &w));
    }
    TRY(dsmlp_matmul(g, x, w, out));
    if (b != DSMLP_NONE) TRY(dsmlp_bias(g, *out, b, out));
    return DSMLP_OK;
}

/* The configured activation, on every branch (DeepSpeed's GPT-J branch always
** uses tanh-GELU and its LayerNorm path skips gated ones). */
static dsmlp_status activate(dsmlp_graph *g, const mlp_dims *d, dsmlp_value x, dsmlp_value *out)
{
    if (d->gated) return dsmlp_gated(g, x, d->act, out);
    return dsmlp_activation(g, x, d->act, out);
}

static dsmlp_status normalize(dsmlp_graph *g, const dsmlp_mlp_config *cfg, const mlp_vals *v, dsmlp_value x,
                              dsmlp_value *out)
{
    if (cfg->norm == DSMLP_NORM_LAYERNORM) return dsmlp_layernorm(g, x, v->gamma, v->beta, cfg->epsilon, out);
    return dsmlp_rmsnorm_offset(g, x, v->gamma, cfg->epsilon, cfg->gamma_offset, out);
}

static dsmlp_status build(dsmlp_graph *g, const dsmlp_mlp_config *cfg, const mlp_dims *d)
{
    mlp_vals v;
    TRY(declare(g, cfg, d, &v));
    int rank0 = d->r == 0;   /* replicated terms are added on rank 0 only */

    /* The MLP input h, and s = X + A (+ b_o) when the MLP follows attention. */
    dsmlp_value s = DSMLP_NONE, h;
    int r1 = cfg->mlp_after_attn && cfg->pre_layer_norm;
    /* Computed only where read, so no op value is dead: by the norm, or by
    ** R1's residual on rank 0. Inputs and params are always declared (every
    ** rank binds the same names) even where a rank does not read them. */
    if (cfg->mlp_after_attn && (cfg->norm != DSMLP_NORM_NONE || (r1 && rank0))) {
        TRY(dsmlp_add(g, v.X, v.A, &s));
        if (v.bo != DSMLP_NONE) TRY(dsmlp_bias(g, s, v.bo, &s));
    }
    if (cfg->norm == DSMLP_NORM_NONE)
        h = v.Xn;
    else
        TRY(normalize(g, cfg, &v, cfg->mlp_after_attn ? s : v.X, &h));

    dsmlp_value u, a, y;
    TRY(linear(g, cfg, h, v.w1, v.s1, v.b1, &u));
    if (d->split) {   /* up and gate from their own weights: a gated op with two operands */
        dsmlp_value q;
        TRY(linear(g, cfg, h, v.wg, v.sg, v.bg, &q));
        TRY(dsmlp_gated_pair(g, u, q, d->act, &a));
    } else {
        TRY(activate(g, d, u, &a));
    }
    TRY(linear(g, cfg, a, v.w2, v.s2, rank0 ? v.b2 : DSMLP_NONE, &y));

    /* Residual terms (spec §4.6, intended formulas): each rank's y is a
    ** partial sum, so replicated terms go on rank 0 and the all-reduce adds
    ** them exactly once. */
    dsmlp_value out = y;
    if (r1) {                                                    /* R1: y + b2 + X + A (+ b_o)   */
        if (rank0) TRY(dsmlp_add(g, out, s, &out));
    } else if (cfg->mlp_after_attn) {                            /* R2 (post-LN): y + b2 + h     */
        if (rank0) TRY(dsmlp_add(g, out, cfg->norm == DSMLP_NORM_NONE ? v.X : h, &out));
    } else {                                                     /* R3 (parallel): y + b2 + A + X (+ b_o) */
        TRY(dsmlp_add(g, out, v.A, &out));                       /* A is a per-rank partial sum  */
        if (rank0) TRY(dsmlp_add(g, out, v.X, &out));
        if (rank0 && v.bo != DSMLP_NONE) TRY(dsmlp_bias(g, out, v.bo, &out));
    }
    if (d->P > 1) TRY(dsmlp_all_reduce(g, out, &out));
    return dsmlp_output(g, "out", out);
}

dsmlp_status dsmlp_mlp_build(dsmlp_graph *g, const dsmlp_mlp_config *cfg)
{
    if (!g) return DSMLP_ERR_INVALID_ARG;   /* no graph, so no context for a message */
    dsmlp_ctx *ctx = dsmlp_graph_ctx(g);
    if (dsmlp_graph_size(g) != 0)
        return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "mlp build: graph '%s' is not empty (%d values); build into a new graph",
                       dsmlp_graph_name(g), dsmlp_graph_size(g));
    TRY(dsmlp_mlp_config_check(ctx, cfg));
    mlp_dims d;
    dsmlpC_mlp_dims_of(cfg, &d);
    dsmlp_status s = build(g, cfg, &d);
    if (s != DSMLP_OK) {
        dsmlpB_err_append(ctx, "while building the MLP block into graph '%s'", dsmlp_graph_name(g));
        return s;
    }
    g->has_mlp = g->n;
    g->mlp = *cfg;
    return DSMLP_OK;
}

dsmlp_status dsmlp_graph_mlp_config(const dsmlp_graph *g, dsmlp_mlp_config *out)
{
    if (!g || !out) return DSMLP_ERR_INVALID_ARG;
    if (!g->has_mlp || g->has_mlp != g->n)   /* ops added after the build change the block */
        return dsmlpB_err_set(g->ctx, DSMLP_ERR_NOT_FOUND, "graph '%s' was not built by dsmlp_mlp_build (no MLP config)",
                       g->name);
    *out = g->mlp;
    return DSMLP_OK;
}
