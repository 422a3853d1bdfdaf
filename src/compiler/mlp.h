/*
** mlp.h — sizes derived from a DeepSpeed-equivalent MLP config, shared by
** the config check, the builder and the shard copier (mlp_*.c).
*/
#ifndef DSMLP_MLP_H
#define DSMLP_MLP_H

#include "dsmlp.h"

typedef struct mlp_dims {
    int64_t H;       /* hidden                                   */
    int64_t I;       /* intermediate (4·H when configured <= 0)  */
    int64_t P, r;    /* tensor-parallel size and rank            */
    int64_t F;       /* 2 for gated activations, else 1          */
    int64_t Ip;      /* I / P: inner size of one rank            */
    int     gated;
    int     split;   /* gated with separate w1_up / w1_gate */
    dsmlp_act act;   /* the element-wise function           */
    int     int8;
} mlp_dims;

/* Fills d from a config that passed dsmlp_mlp_config_check. */
void dsmlpC_mlp_dims_of(const dsmlp_mlp_config *cfg, mlp_dims *d);

/* Quantized weights (mlp_quant.c). Which weight: the merged W1, W2, or one
** half of a split W1 (w1_up / w1_gate, split_w1 = 1). */
enum { MLP_W1 = 1, MLP_W2 = 2, MLP_W1_HALF = 3 };
/* Checks the quant_* fields and the scale counts against the rank's rows. */
dsmlp_status dsmlpC_mlp_check_quant(dsmlp_ctx *ctx, const dsmlp_mlp_config *cfg);
/* Scales of a rank's weight (= the dequant's groups); 0 when not quantized. */
int64_t      dsmlpC_mlp_scale_count(const dsmlp_mlp_config *cfg, const mlp_dims *d, int which);

#endif
