/*
** fuse_int.h — the fusion pass's inside: its state and the three parts.
**   fuse_match.c    which patterns can fuse (predicates over the graph, as
**                   ggml_can_fuse): nothing is changed there;
**   fuse.c          the rewriting: groups made and filled from matches,
**                   ordered; groups are named by index (the array grows);
**   fuse_explain.c  the explain sentences and step labels.
*/
#ifndef DSMLP_FUSE_INT_H
#define DSMLP_FUSE_INT_H

#include "fuse.h"

typedef struct fz {
    dsmlp_ctx         *ctx;
    const dsmlp_graph *g;
    fuse_result       *r;
    int               *live, *uses, *user, *claim;
    int                residual_kernel;   /* compile option: no beta·C residual */
} fz;

static inline const graph_node *fz_node(const fz *z, int v) { return &z->g->nodes[v]; }
/* Introduced values (ids >= g->n) have no op. */
static inline dsmlp_op fz_op(const fz *z, int v) { return v < z->g->n ? z->g->nodes[v].op : DSMLP_OP_COUNT; }
static inline fuse_group *fz_group(const fz *z, int gi) { return &z->r->groups[gi]; }

/* ------------------------------------------------------------ matching */

int dsmlpC_fuse_is_act(dsmlp_op op);
int dsmlpC_fuse_is_ew(dsmlp_op op);
int dsmlpC_fuse_is_sum(dsmlp_op op);
int dsmlpC_fuse_is_vec(const fz *z, int v);
/* The single live user of v, or -1. */
int dsmlpC_fuse_sole_user(const fz *z, int v);
/* Leaves of the add/bias tree at v: descends into unclaimed add/bias nodes
** that are single-use (the root: whatever its uses). -1 when more than max. */
int dsmlpC_fuse_flatten_sum(const fz *z, int v, int root, int *terms, int *nterms, int max, int *inner, int *ninner);
/* a ⊆ b as multisets; rest receives b − a. */
int dsmlpC_fuse_sub_terms(const int *a, int na, const int *b, int nb, int *rest, int *nrest);

/* What follows a GEMM's value, as far as cuBLASLt epilogues are concerned. */
typedef enum fuse_tail_kind {
    TAIL_NONE,            /* nothing to take: the residual may follow                */
    TAIL_BIAS,            /* bias -> BIAS epilogue; the residual may follow          */
    TAIL_BIAS_ACT,        /* bias + relu/gelu_tanh -> RELU_BIAS/GELU_BIAS epilogue    */
    TAIL_BIAS_ACT_KERNEL, /* bias + an activation no epilogue has (or int8 weights)   */
    TAIL_BIAS_GATED,      /* bias feeding a gated op: the gated kernel takes it       */
    TAIL_BIAS_SCALE,      /* bias then scale: no epilogue scales                      */
    TAIL_ACT,             /* relu/gelu_tanh -> RELU/GELU epilogue                     */
    TAIL_ACT_KERNEL,      /* an activation no epilogue has (or int8 weights)          */
    TAIL_GATED            /* a gated op: its own kernel                               */
} fuse_tail_kind;

typedef struct fuse_tail {
    fuse_tail_kind kind;
    int            bias_node, act_node;   /* graph nodes taken (-1: none)            */
    dsmlp_op       act;                   /* the activation met (TAIL_*ACT*)          */
} fuse_tail;

/* The tail of GEMM node m (int8: its weight is dequantized). */
fuse_tail dsmlpC_fuse_match_tail(const fz *z, int m, int int8);
/* Whether the tail leaves room for a residual after it. */
int       dsmlpC_fuse_tail_open(fuse_tail_kind k);

/* The residual add/bias tree a GEMM's value (node cur) feeds, split into
** what a beta·C epilogue takes. */
typedef struct fuse_residual {
    int top;                              /* the tree's root (cur: none)              */
    int ok;                               /* the epilogue can take it                 */
    int inner[FUSE_MAX_NODES], ninner;    /* the add/bias nodes it absorbs           */
    int tens[FUSE_MAX_TERMS], nt;         /* [T, n] terms besides cur                 */
    int vecs[FUSE_MAX_TERMS], nv;         /* vector terms besides the bias            */
    int bias;                             /* the bias vector (the GEMM's or one met)  */
    int vec_only;                         /* refused: only vectors left for C         */
} fuse_residual;

void dsmlpC_fuse_match_residual(const fz *z, int cur, dsmlp_dtype dt, int bias, fuse_residual *res);

/* A single-use bias feeding the gated op, not yet claimed: it can go into the kernel. */
int dsmlpC_fuse_gated_bias(const fz *z, int x);

#define EW_MAX_LEAVES (PLAN_LOWER_MAX_ARGS - 1)   /* one argument is the output */
/* An element-wise op another element-wise kernel can absorb (unclaimed, single use). */
int dsmlpC_fuse_ew_inner(const fz *z, int v);
/* Leaves of the absorbable tree at v (an upper bound: repeats counted). */
int dsmlpC_fuse_ew_count(const fz *z, int v);
/* The kernel kind of an element-wise group: act (bias + one activation), residual (sums only) or elemwise. */
plan_kernel_kind dsmlpC_fuse_ew_kind(const fz *z, const fuse_group *G);

/* --------------------------------------------------------- explanation */

/* "input + residual + %7": names for inputs/params, else %id. */
void dsmlpC_fuse_terms_text(const fz *z, const int *t, int n, char *out, size_t cap);
/* Why a GEMM's tail was or was not taken into its epilogue (nothing for TAIL_NONE). */
void dsmlpC_fuse_tail_why(char *why, size_t cap, const fuse_tail *t, int int8);
/* Why the residual tree was or was not taken; pwhy: how the terms were pre-summed. */
void dsmlpC_fuse_residual_why(char *why, size_t cap, const fuse_residual *res, const char *pwhy);
/* Why an element-wise group is one kernel. */
void dsmlpC_fuse_ew_why(const fz *z, fuse_group *G);
/* Every group's step label ("norm", "gemm+bias_gelu", "copy", ...). */
void dsmlpC_fuse_label(fuse_group *G);

#endif
