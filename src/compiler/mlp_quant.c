/*
** mlp_quant.c — quantized weights of the DeepSpeed-equivalent MLP: the
** quant_* config fields, how many scales each rank's weight has, and
** quantize at load (a rank's shard of a float checkpoint weight ->
** dsmlp_quantize). docs/quant.md.
**
** Scale layouts (every count is per rank weight, rows = output features):
**   groups       int8_groups (x2 with quant_extra_grouping) blocks of
**                contiguous rows, DeepSpeed's q_groups (spec §5.3);
**   gate scales  gated W1: that many groups in each of the up and gate
**                halves, w1_scales = [up | gate] (split_w1: w1_up_scales and
**                w1_gate_scales always have their own groups);
**   per channel  one scale per row.
*/
#include "mlp.h"
#include "error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int64_t groups_of(const dsmlp_mlp_config *cfg)
{
    return cfg->int8_groups * (cfg->quant_extra_grouping ? 2 : 1);
}

int64_t dsmlpC_mlp_scale_count(const dsmlp_mlp_config *cfg, const mlp_dims *d, int which)
{
    if (!d->int8) return 0;
    if (which == MLP_W2) return cfg->quant_per_channel ? d->H : groups_of(cfg);
    if (which == MLP_W1_HALF) return cfg->quant_per_channel ? d->Ip : groups_of(cfg);
    if (cfg->quant_per_channel) return d->F * d->Ip;
    return (d->gated && cfg->quant_gate_scales ? 2 : 1) * groups_of(cfg);
}

/* "int8_groups=4" or "int8_groups=4 (x2 for quant_extra_grouping: 8 groups)" */
static const char *groups_desc(const dsmlp_mlp_config *cfg, char *buf, size_t cap)
{
    if (cfg->quant_extra_grouping)
        snprintf(buf, cap, "int8_groups=%lld (x2 for quant_extra_grouping: %lld groups)", (long long)cfg->int8_groups,
                 (long long)groups_of(cfg));
    else
        snprintf(buf, cap, "int8_groups=%lld", (long long)cfg->int8_groups);
    return buf;
}

/* quant_* fields set while the weights are float: a forgotten int8_weights=1. */
static dsmlp_status check_unused(dsmlp_ctx *ctx, const dsmlp_mlp_config *cfg)
{
    const char *f = cfg->quant_dtype != DSMLP_I8 ? "quant_dtype"
                    : cfg->quant_scale_dtype != DSMLP_F32 ? "quant_scale_dtype"
                    : cfg->quant_per_channel ? "quant_per_channel"
                    : cfg->quant_extra_grouping ? "quant_extra_grouping"
                    : cfg->quant_gate_scales ? "quant_gate_scales"
                                             : NULL;
    if (!f) return DSMLP_OK;
    return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG,
                   "mlp config: %s is set but int8_weights=0 (float weights); set int8_weights=1 for quantized "
                   "weights, or leave %s at its default",
                   f, f);
}

static dsmlp_status check_kinds(dsmlp_ctx *ctx, const dsmlp_mlp_config *cfg)
{
    if (cfg->dtype != DSMLP_F16 && cfg->dtype != DSMLP_BF16)
        return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG,
                       "mlp config: int8_weights=1 needs dtype f16 or bf16 for activations (dtype=%s)",
                       dsmlp_dtype_name(cfg->dtype));
    if (cfg->quant_dtype != DSMLP_I8 && cfg->quant_dtype != DSMLP_FP8_E4M3)
        return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG,
                       "mlp config: quant_dtype=%s (%d) is not a weight quantization (want DSMLP_I8=%d or "
                       "DSMLP_FP8_E4M3=%d; dsmlp_mlp_config_default sets i8)",
                       dsmlp_dtype_name(cfg->quant_dtype), (int)cfg->quant_dtype, DSMLP_I8, DSMLP_FP8_E4M3);
    if (cfg->quant_scale_dtype != DSMLP_F32 && cfg->quant_scale_dtype != DSMLP_F16)
        return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG,
                       "mlp config: quant_scale_dtype=%s (%d): scales are f32 (DSMLP_F32=%d) or f16 (DSMLP_F16=%d)",
                       dsmlp_dtype_name(cfg->quant_scale_dtype), (int)cfg->quant_scale_dtype, DSMLP_F32, DSMLP_F16);
    if (cfg->int8_groups < 1)
        return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "mlp config: int8_groups must be >= 1 (int8_groups=%lld)",
                       (long long)cfg->int8_groups);
    if (cfg->quant_per_channel && cfg->int8_groups != 1)
        return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG,
                       "mlp config: quant_per_channel=1 with int8_groups=%lld: per-channel scales have one group per "
                       "output row; leave int8_groups at 1",
                       (long long)cfg->int8_groups);
    if (cfg->quant_per_channel && cfg->quant_extra_grouping)
        return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG,
                       "mlp config: quant_per_channel=1 with quant_extra_grouping=1: per-channel scales cannot be "
                       "grouped further");
    if (cfg->int8_groups > (int64_t)1 << 40)
        return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "mlp config: int8_groups=%lld is too large",
                       (long long)cfg->int8_groups);
    return DSMLP_OK;
}

dsmlp_status dsmlpC_mlp_check_quant(dsmlp_ctx *ctx, const dsmlp_mlp_config *cfg)
{
    if (!cfg->int8_weights) return check_unused(ctx, cfg);
    dsmlp_status s = check_kinds(ctx, cfg);
    if (s != DSMLP_OK) return s;
    mlp_dims d;
    dsmlpC_mlp_dims_of(cfg, &d);
    if (cfg->quant_gate_scales && !d.gated)
        return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG,
                       "mlp config: quant_gate_scales=1 but the activation is not gated (w1 has no up and gate "
                       "halves)");
    if (cfg->quant_per_channel) return DSMLP_OK;   /* one scale per row always fits */
    int64_t G = groups_of(cfg);
    char gd[96];
    if (d.split && d.Ip % G != 0)
        return dsmlpB_err_set(ctx, DSMLP_ERR_SHAPE,
                       "mlp config: %s does not divide the %lld rows of w1_up and w1_gate (rank weight [%lld, %lld] "
                       "[out,in], rows = intermediate/tp_size = %lld)",
                       groups_desc(cfg, gd, sizeof gd), (long long)d.Ip, (long long)d.Ip, (long long)d.H,
                       (long long)d.Ip);
    if (cfg->quant_gate_scales && d.Ip % G != 0)
        return dsmlpB_err_set(ctx, DSMLP_ERR_SHAPE,
                       "mlp config: %s does not divide the %lld rows of each half of w1 (quant_gate_scales=1: the up "
                       "and gate halves each have intermediate/tp_size = %lld rows and their own groups)",
                       groups_desc(cfg, gd, sizeof gd), (long long)d.Ip, (long long)d.Ip);
    int64_t rows1 = d.F * d.Ip;
    if (rows1 % G != 0)
        return dsmlpB_err_set(ctx, DSMLP_ERR_SHAPE,
                       "mlp config: %s does not divide the %lld rows of w1 (rank weight [%lld, %lld] [out,in], rows = "
                       "%sintermediate/tp_size = %lld)",
                       groups_desc(cfg, gd, sizeof gd), (long long)rows1, (long long)rows1, (long long)d.H,
                       d.gated ? "2*" : "", (long long)rows1);
    if (d.H % G != 0)
        return dsmlpB_err_set(ctx, DSMLP_ERR_SHAPE,
                       "mlp config: %s does not divide the %lld rows of w2 (rank weight [%lld, %lld] [out,in], rows = "
                       "hidden)",
                       groups_desc(cfg, gd, sizeof gd), (long long)d.H, (long long)d.H, (long long)d.Ip);
    return DSMLP_OK;
}

/* MLP_W1 / MLP_W2 / MLP_W1_HALF for "w1", "w2", "w1_up", "w1_gate" followed
** by suffix ("" or "_scales") when the config has that weight, else 0. */
static int weight_of(const mlp_dims *d, const char *param, const char *suffix)
{
    static const struct { const char *name; int which; } w[] = {
        {"w1", MLP_W1}, {"w2", MLP_W2}, {"w1_up", MLP_W1_HALF}, {"w1_gate", MLP_W1_HALF}};
    for (size_t i = 0; i < sizeof w / sizeof *w; i++) {
        size_t n = strlen(w[i].name);
        if (strncmp(param, w[i].name, n) || strcmp(param + n, suffix)) continue;
        if (w[i].which == MLP_W1 && d->split) return 0;
        if (w[i].which == MLP_W1_HALF && !d->split) return 0;
        return w[i].which;
    }
    return 0;
}

dsmlp_status dsmlp_mlp_scales(dsmlp_ctx *ctx, const dsmlp_mlp_config *cfg, const char *param, int64_t *count)
{
    if (!count) return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "mlp scales: count is NULL");
    *count = 0;
    dsmlp_status s = dsmlp_mlp_config_check(ctx, cfg);
    if (s != DSMLP_OK) return s;
    mlp_dims d;
    dsmlpC_mlp_dims_of(cfg, &d);
    int which = param ? weight_of(&d, param, "_scales") : 0;
    if (!which)
        return dsmlpB_err_set(ctx, DSMLP_ERR_NOT_FOUND, "mlp scales: '%s' is not a scale parameter of this config (want %s)",
                       param ? param : "(null)", d.split ? "w1_up_scales, w1_gate_scales or w2_scales"
                                                         : "w1_scales or w2_scales");
    if (!cfg->int8_weights)
        return dsmlpB_err_set(ctx, DSMLP_ERR_NOT_FOUND, "mlp scales: no parameter '%s' in this config (int8_weights=0)", param);
    *count = dsmlpC_mlp_scale_count(cfg, &d, which);
    return DSMLP_OK;
}

dsmlp_status dsmlp_mlp_quantize(dsmlp_ctx *ctx, const dsmlp_mlp_config *cfg, const char *param, const void *full,
                                dsmlp_dtype full_dtype, dsmlp_layout full_layout, void *q, void *scales)
{
    dsmlp_status s = dsmlp_mlp_config_check(ctx, cfg);
    if (s != DSMLP_OK) return s;
    if (!param) return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "mlp quantize: parameter name is NULL");
    mlp_dims d;
    dsmlpC_mlp_dims_of(cfg, &d);
    int which = weight_of(&d, param, "");
    if (!which)
        return dsmlpB_err_set(ctx, DSMLP_ERR_NOT_FOUND, "mlp quantize: '%s' is not a weight of this config (want %s)", param,
                       d.split ? "w1_up, w1_gate or w2" : "w1 or w2");
    if (!cfg->int8_weights)
        return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG,
                       "mlp quantize '%s': the config has float weights (int8_weights=0); nothing to quantize", param);
    if (full_dtype != DSMLP_F32 && full_dtype != DSMLP_F16 && full_dtype != DSMLP_BF16)
        return dsmlpB_err_set(ctx, DSMLP_ERR_DTYPE, "mlp quantize '%s': full weight of dtype %s (want f32, f16 or bf16)",
                       param, dsmlp_dtype_name(full_dtype));
    if (full_layout != DSMLP_LAYOUT_IN_OUT && full_layout != DSMLP_LAYOUT_OUT_IN)
        return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "mlp quantize '%s': unknown layout %d (want IN_OUT=0, OUT_IN=1)",
                       param, (int)full_layout);
    if (!full) return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "mlp quantize '%s': full buffer is NULL", param);
    int64_t rows = which == MLP_W1 ? d.F * d.Ip : which == MLP_W1_HALF ? d.Ip : d.H;
    int64_t cols = which == MLP_W2 ? d.Ip : d.H;

    /* The rank's float shard, as dsmlp_mlp_shard cuts it for a float block. */
    const void *src = full;
    void *tmp = NULL;
    if (d.P > 1) {
        dsmlp_mlp_config f = *cfg;
        f.int8_weights = 0, f.dtype = full_dtype, f.layout = full_layout;
        f.quant_dtype = DSMLP_I8, f.quant_scale_dtype = DSMLP_F32;
        f.quant_per_channel = f.quant_extra_grouping = f.quant_gate_scales = 0;
        tmp = malloc((size_t)rows * (size_t)cols * dsmlp_dtype_size(full_dtype));
        if (!tmp)
            return dsmlpB_err_set(ctx, DSMLP_ERR_NOMEM, "mlp quantize '%s': out of memory for a %lld x %lld shard", param,
                           (long long)rows, (long long)cols);
        if ((s = dsmlp_mlp_shard(ctx, &f, param, full, tmp)) != DSMLP_OK) {
            free(tmp);
            return s;
        }
        src = tmp;
    }
    s = dsmlp_quantize(ctx, src, full_dtype, full_layout, rows, cols, dsmlpC_mlp_scale_count(cfg, &d, which),
                       cfg->quant_dtype, q, cfg->quant_scale_dtype, scales);
    free(tmp);
    if (s != DSMLP_OK) dsmlpB_err_append(ctx, "while quantizing '%s' of rank %lld of %lld", param, (long long)d.r, (long long)d.P);
    return s;
}
