/*
** mlp_shard.c — rank tp_rank's shard of a full (P = 1) MLP parameter
** (spec §5.1). W1/b1 are column-parallel: the rank keeps its block of each
** of the F output halves, so a gated W1 [up(I) | gate(I)] gives
** [up block | gate block]. W2 is row-parallel over the inner dimension.
** Vectors of size H are replicated. Quantized weights are sliced as bytes;
** their scales where they cut exactly (docs/quant.md): W2's output rows are
** not split, so w2_scales are replicated; per-channel w1_scales are sliced
** like b1; W1 group scales never fit a rank's groups (the rank has the same
** number of groups over 1/P of the rows) and are refused.
*/
#include "mlp.h"
#include "error.h"

#include <string.h>

/* Copies `n` runs of `len` elements: run k from full + k·fstride + foff to
** shard + k·len. */
static void copy_runs(char *shard, const char *full, int64_t n, int64_t len, int64_t fstride, int64_t foff,
                      size_t esz)
{
    for (int64_t k = 0; k < n; k++)
        memcpy(shard + (size_t)(k * len) * esz, full + (size_t)(k * fstride + foff) * esz, (size_t)len * esz);
}

/* Column shard of W1-like data: `outer` rows each holding F·I outputs
** (up | gate), keeping [r·I_p, (r+1)·I_p) of every half. */
static void shard_w1_outputs(char *shard, const char *full, const mlp_dims *d, int64_t outer, int64_t inner,
                             size_t esz)
{
    /* Rows of [outer, F·I·inner] viewed as F·outer runs of I_p·inner. */
    copy_runs(shard, full, outer * d->F, d->Ip * inner, d->I * inner, d->r * d->Ip * inner, esz);
}

/* w1_scales, w2_scales, and with split_w1 w1_up_scales / w1_gate_scales
** (each half's own scales). */
static dsmlp_status shard_scales(dsmlp_ctx *ctx, const dsmlp_mlp_config *cfg, const mlp_dims *d, const char *param,
                                 const void *full, void *shard)
{
    int w2 = !strcmp(param, "w2_scales"), half = !w2 && strcmp(param, "w1_scales");
    if (!w2 && half != d->split)
        return dsmlpB_err_set(ctx, DSMLP_ERR_NOT_FOUND, "mlp shard: no parameter '%s' in this config (%s)", param,
                       d->split ? "split_w1=1: w1_up_scales and w1_gate_scales" : "split_w1=0: w1_scales");
    mlp_dims h = *d;   /* a split half: one block of outputs */
    if (half) h.F = 1;
    size_t ssz = dsmlp_dtype_size(cfg->quant_scale_dtype);
    int64_t n = dsmlpC_mlp_scale_count(cfg, d, w2 ? MLP_W2 : half ? MLP_W1_HALF : MLP_W1);
    if (w2 || d->P == 1) {   /* the rank's rows are the full weight's rows */
        memcpy(shard, full, (size_t)n * ssz);
        return DSMLP_OK;
    }
    if (cfg->quant_per_channel) {   /* one scale per output row: cut like b1 */
        shard_w1_outputs(shard, full, &h, 1, 1, ssz);
        return DSMLP_OK;
    }
    return dsmlpB_err_set(ctx, DSMLP_ERR_UNSUPPORTED,
                   "mlp shard '%s': int8 scales are per shard, not sliced from the full weight's: the full %s's %lld "
                   "groups of %lld rows are not rank %lld's %lld groups of %lld rows; quantize each rank's shard of "
                   "the float weight (dsmlp_mlp_quantize) or use per-channel scales (quant_per_channel=1), which "
                   "slice",
                   param, half ? "half" : "w1", (long long)n, (long long)(h.F * d->I / n), (long long)d->r,
                   (long long)n, (long long)(h.F * d->Ip / n));
}

dsmlp_status dsmlp_mlp_shard(dsmlp_ctx *ctx, const dsmlp_mlp_config *cfg, const char *param, const void *full,
                             void *shard)
{
    dsmlp_status s = dsmlp_mlp_config_check(ctx, cfg);
    if (s != DSMLP_OK) return s;
    if (!param) return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "mlp shard: parameter name is NULL");
    if (!full || !shard)
        return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "mlp shard '%s': %s buffer is NULL", param,
                       !full ? "full" : "shard");
    mlp_dims d;
    dsmlpC_mlp_dims_of(cfg, &d);
    size_t esz = dsmlp_dtype_size(cfg->dtype);
    size_t wsz = dsmlp_dtype_size(d.int8 ? cfg->quant_dtype : cfg->dtype);
    int out_in = d.int8 || cfg->layout == DSMLP_LAYOUT_OUT_IN;
    const char *present = NULL;   /* the config flag that removes this param */
    int has = 1;

    if (!strcmp(param, "attn_bias")) {
        has = cfg->attn_bias, present = "attn_bias=0";
    } else if (!strcmp(param, "norm_w")) {
        has = cfg->norm != DSMLP_NORM_NONE, present = "norm=NONE";
    } else if (!strcmp(param, "norm_b")) {
        has = cfg->norm == DSMLP_NORM_LAYERNORM && cfg->norm_bias, present = "norm_bias=0 or norm is not LayerNorm";
    } else if (!strcmp(param, "b2")) {
        has = cfg->bias2, present = "bias2=0";
    } else if (!strcmp(param, "b1")) {
        has = cfg->bias1 && !d.split, present = d.split ? "split_w1=1: b1_up and b1_gate" : "bias1=0";
    } else if (!strcmp(param, "b1_up") || !strcmp(param, "b1_gate")) {
        has = cfg->bias1 && d.split, present = d.split ? "bias1=0" : "split_w1=0: b1 holds [up | gate]";
    } else if (!strcmp(param, "w1_up") || !strcmp(param, "w1_gate")) {
        has = d.split, present = "split_w1=0: w1 holds [up | gate]";
    } else if (!strcmp(param, "w1")) {
        has = !d.split, present = "split_w1=1: w1_up and w1_gate";
    } else if (!strcmp(param, "w1_scales") || !strcmp(param, "w2_scales") || !strcmp(param, "w1_up_scales") ||
               !strcmp(param, "w1_gate_scales")) {
        if (!d.int8)
            return dsmlpB_err_set(ctx, DSMLP_ERR_NOT_FOUND, "mlp shard: no parameter '%s' in this config (int8_weights=0)",
                           param);
        return shard_scales(ctx, cfg, &d, param, full, shard);
    } else if (strcmp(param, "w2")) {
        return dsmlpB_err_set(ctx, DSMLP_ERR_NOT_FOUND,
                       "mlp shard: unknown parameter '%s' (want attn_bias, norm_w, norm_b, w1, b1, w1_up, w1_gate, "
                       "b1_up, b1_gate, w2, b2)",
                       param);
    }
    if (!has) return dsmlpB_err_set(ctx, DSMLP_ERR_NOT_FOUND, "mlp shard: no parameter '%s' in this config (%s)", param, present);

    const char *f = full;
    char *o = shard;
    mlp_dims half = d;   /* w1_up, w1_gate, b1_up, b1_gate: one block of outputs each */
    half.F = 1;
    if (!strcmp(param, "w1_up") || !strcmp(param, "w1_gate")) {
        if (out_in) shard_w1_outputs(o, f, &half, 1, d.H, wsz);
        else shard_w1_outputs(o, f, &half, d.H, 1, wsz);
    } else if (!strcmp(param, "b1_up") || !strcmp(param, "b1_gate")) {
        shard_w1_outputs(o, f, &half, 1, 1, esz);
    } else if (!strcmp(param, "w1")) {
        if (out_in)   /* [F·I, H]: row blocks */
            shard_w1_outputs(o, f, &d, 1, d.H, wsz);
        else          /* [H, F·I]: column blocks of every row */
            shard_w1_outputs(o, f, &d, d.H, 1, wsz);
    } else if (!strcmp(param, "b1")) {
        shard_w1_outputs(o, f, &d, 1, 1, esz);
    } else if (!strcmp(param, "w2")) {
        if (out_in)   /* [H, I]: columns [r·I_p, (r+1)·I_p) of every row */
            copy_runs(o, f, d.H, d.Ip, d.I, d.r * d.Ip, wsz);
        else          /* [I, H]: rows [r·I_p, (r+1)·I_p) */
            copy_runs(o, f, 1, d.Ip * d.H, 0, d.r * d.Ip * d.H, wsz);
    } else {          /* replicated [H] */
        memcpy(o, f, (size_t)d.H * esz);
    }
    return DSMLP_OK;
}
