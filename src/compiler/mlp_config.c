/*
** mlp_config.c — defaults and validation of the DeepSpeed-equivalent MLP
** config (spec §1). Every rejection names the field and its value.
*/
#include "mlp.h"
#include "error.h"

#include <math.h>
#include <stddef.h>

/* Largest hidden/intermediate size accepted: far above any model, and small
** enough that every element count and byte size below fits in int64. */
#define MLP_DIM_MAX ((int64_t)1 << 31)

void dsmlp_mlp_config_default(dsmlp_mlp_config *cfg)
{
    if (!cfg) return;
    *cfg = (dsmlp_mlp_config){
        .hidden = 0,
        .intermediate = 0,
        .dtype = DSMLP_F16,
        .int8_weights = 0,
        .int8_groups = 1,
        .activation = DSMLP_MLP_GELU,
        .norm = DSMLP_NORM_LAYERNORM,
        .pre_layer_norm = 1,
        .mlp_after_attn = 1,
        .epsilon = 1e-12,
        .layout = DSMLP_LAYOUT_IN_OUT,
        .tp_size = 1,
        .tp_rank = 0,
        .attn_bias = 1,
        .norm_bias = 1,
        .bias1 = 1,
        .bias2 = 1,
        .gamma_offset = 0.0,
        .split_w1 = 0,
        .quant_dtype = DSMLP_I8,
        .quant_scale_dtype = DSMLP_F32,
        .quant_per_channel = 0,
        .quant_extra_grouping = 0,
        .quant_gate_scales = 0,
    };
}

dsmlp_mlp_act dsmlp_mlp_act_make(dsmlp_act act, int gated)
{
    static const dsmlp_mlp_act plain[DSMLP_ACT_COUNT] = {DSMLP_MLP_GELU_TANH, DSMLP_MLP_GELU_ERF, DSMLP_MLP_RELU,
                                                         DSMLP_MLP_SILU};
    static const dsmlp_mlp_act gate[DSMLP_ACT_COUNT] = {DSMLP_MLP_GATED_GELU_TANH, DSMLP_MLP_GATED_GELU_ERF,
                                                        DSMLP_MLP_GATED_RELU, DSMLP_MLP_GATED_SILU};
    if ((unsigned)act >= DSMLP_ACT_COUNT) return (dsmlp_mlp_act)0;
    return gated ? gate[act] : plain[act];
}

dsmlp_status dsmlp_mlp_act_split(dsmlp_ctx *ctx, dsmlp_mlp_act a, dsmlp_act *act, int *gated)
{
    dsmlp_act f;
    int g = 0;
    switch (a) {
    case DSMLP_MLP_GELU_TANH: f = DSMLP_ACT_GELU_TANH; break;
    case DSMLP_MLP_GELU_ERF: f = DSMLP_ACT_GELU_ERF; break;
    case DSMLP_MLP_RELU: f = DSMLP_ACT_RELU; break;
    case DSMLP_MLP_SILU: f = DSMLP_ACT_SILU; break;
    case DSMLP_MLP_GATED_GELU_TANH: f = DSMLP_ACT_GELU_TANH, g = 1; break;
    case DSMLP_MLP_GATED_GELU_ERF: f = DSMLP_ACT_GELU_ERF, g = 1; break;
    case DSMLP_MLP_GATED_RELU: f = DSMLP_ACT_RELU, g = 1; break;
    case DSMLP_MLP_GATED_SILU: f = DSMLP_ACT_SILU, g = 1; break;
    default:
        return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG,
                       "mlp config: unknown activation %d (want GELU(_TANH)=1, RELU=2, GATED_GELU(_ERF)=3, "
                       "GATED_SILU=4, GELU_ERF=5, SILU=6, GATED_GELU_TANH=7, GATED_RELU=8)",
                       (int)a);
    }
    if (act) *act = f;
    if (gated) *gated = g;
    return DSMLP_OK;
}

void dsmlpC_mlp_dims_of(const dsmlp_mlp_config *cfg, mlp_dims *d)
{
    d->H = cfg->hidden;
    d->I = cfg->intermediate > 0 ? cfg->intermediate : 4 * cfg->hidden;
    d->P = cfg->tp_size;
    d->r = cfg->tp_rank;
    d->act = DSMLP_ACT_GELU_TANH;
    d->gated = 0;
    dsmlp_mlp_act_split(NULL, cfg->activation, &d->act, &d->gated);
    d->split = d->gated && cfg->split_w1;
    d->F = d->gated ? 2 : 1;
    d->Ip = d->I / d->P;
    d->int8 = cfg->int8_weights != 0;
}

static const char *norm_name(dsmlp_norm n)
{
    return n == DSMLP_NORM_LAYERNORM ? "LayerNorm" : n == DSMLP_NORM_RMSNORM ? "RMSNorm" : "NONE";
}

static dsmlp_status check_enums(dsmlp_ctx *ctx, const dsmlp_mlp_config *cfg)
{
    if (cfg->dtype == DSMLP_I8)
        return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG,
                       "mlp config: dtype i8 is not an activation dtype; for int8 weights set int8_weights=1 "
                       "with dtype f16 or bf16");
    if (cfg->dtype != DSMLP_F32 && cfg->dtype != DSMLP_F16 && cfg->dtype != DSMLP_BF16)
        return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "mlp config: unknown dtype %d (want f32=%d, f16=%d or bf16=%d)",
                       (int)cfg->dtype, DSMLP_F32, DSMLP_F16, DSMLP_BF16);
    dsmlp_status s = dsmlp_mlp_act_split(ctx, cfg->activation, NULL, NULL);
    if (s != DSMLP_OK) return s;
    switch (cfg->norm) {
    case DSMLP_NORM_NONE: case DSMLP_NORM_LAYERNORM: case DSMLP_NORM_RMSNORM: break;
    default:
        return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "mlp config: unknown norm %d (want NONE=0, LAYERNORM=1, RMSNORM=3)",
                       (int)cfg->norm);
    }
    if (cfg->layout != DSMLP_LAYOUT_IN_OUT && cfg->layout != DSMLP_LAYOUT_OUT_IN)
        return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "mlp config: unknown layout %d (want IN_OUT=0, OUT_IN=1)",
                       (int)cfg->layout);
    return DSMLP_OK;
}

static dsmlp_status check_sizes(dsmlp_ctx *ctx, const dsmlp_mlp_config *cfg)
{
    long long H = (long long)cfg->hidden, I = (long long)cfg->intermediate;
    if (cfg->hidden <= 0)
        return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "mlp config: hidden must be > 0 (hidden=%lld)", H);
    if (cfg->hidden > MLP_DIM_MAX)
        return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "mlp config: hidden=%lld is too large (at most %lld)", H,
                       (long long)MLP_DIM_MAX);
    if (cfg->intermediate > MLP_DIM_MAX)
        return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "mlp config: intermediate=%lld is too large (at most %lld)", I,
                       (long long)MLP_DIM_MAX);
    if (cfg->tp_size < 1)
        return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "mlp config: tp_size must be >= 1 (tp_size=%d)", cfg->tp_size);
    if (cfg->tp_rank < 0 || cfg->tp_rank >= cfg->tp_size)
        return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "mlp config: tp_rank=%d is outside [0, tp_size=%d)", cfg->tp_rank,
                       cfg->tp_size);
    mlp_dims d;
    dsmlpC_mlp_dims_of(cfg, &d);
    if (d.I % d.P != 0)
        return dsmlpB_err_set(ctx, DSMLP_ERR_SHAPE,
                       "mlp config: intermediate=%lld%s is not divisible by tp_size=%d", (long long)d.I,
                       cfg->intermediate <= 0 ? " (4·hidden)" : "", cfg->tp_size);
    /* Both weights hold H·F·I_p elements; with H, I <= 2^31 and F <= 2 this
    ** is at most 2^63 / P, so guard the product explicitly. */
    if (d.F * d.Ip > (INT64_MAX / 16) / d.H)
        return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG,
                       "mlp config: w1 of hidden=%lld x %lld columns overflows the element count", H,
                       (long long)(d.F * d.Ip));
    return DSMLP_OK;
}

dsmlp_status dsmlp_mlp_config_check(dsmlp_ctx *ctx, const dsmlp_mlp_config *cfg)
{
    if (!cfg) return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "mlp config: config is NULL");
    dsmlp_status s;
    if ((s = check_enums(ctx, cfg)) != DSMLP_OK) return s;
    if ((s = check_sizes(ctx, cfg)) != DSMLP_OK) return s;
    if ((s = dsmlpC_mlp_check_quant(ctx, cfg)) != DSMLP_OK) return s;
    if (cfg->norm_bias && cfg->norm != DSMLP_NORM_LAYERNORM)
        return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG,
                       "mlp config: norm_bias=%d but norm is %s, which has no beta; set norm_bias=0", cfg->norm_bias,
                       norm_name(cfg->norm));
    if (cfg->gamma_offset != 0.0 && cfg->norm != DSMLP_NORM_RMSNORM)
        return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG,
                       "mlp config: gamma_offset=%g but norm is %s; the weight offset is an RMSNorm option (Gemma)",
                       cfg->gamma_offset, norm_name(cfg->norm));
    if (!isfinite(cfg->gamma_offset))
        return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "mlp config: gamma_offset=%g is not finite", cfg->gamma_offset);
    if (cfg->split_w1) {
        mlp_dims d;
        dsmlpC_mlp_dims_of(cfg, &d);
        if (!d.gated)
            return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG,
                           "mlp config: split_w1=%d but the activation is not gated: separate up and gate weights "
                           "need a gated activation",
                           cfg->split_w1);
    }
    if (cfg->norm != DSMLP_NORM_NONE && !(isfinite(cfg->epsilon) && cfg->epsilon > 0))
        return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "mlp config: epsilon must be finite and > 0 for %s (epsilon=%g)",
                       norm_name(cfg->norm), cfg->epsilon);
    return DSMLP_OK;
}
