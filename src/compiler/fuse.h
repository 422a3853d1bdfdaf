/*
** fuse.h — the fusion pass: graph nodes -> groups, one group per plan step.
**
** Pattern matching over the node list (like ggml_can_fuse): anchors (matmul,
** norms, gated, dequant, all_reduce) absorb the element-wise ops around them
** that their step can compute; what is left forms generated element-wise
** kernels. Values: ids < g->n are graph nodes; ids >= g->n are sums the pass
** introduces (e.g. the residual terms of GEMM2's C, pre-summed by the norm).
*/
#ifndef DSMLP_FUSE_H
#define DSMLP_FUSE_H

#include "plan.h"

#define FUSE_MAX_TERMS 8
#define FUSE_MAX_NODES 64

typedef enum fuse_kind { FG_NORM, FG_GEMM, FG_EW, FG_GATED, FG_DEQUANT, FG_ALL_REDUCE } fuse_kind;

typedef struct fuse_value {
    dsmlp_dtype  dtype;
    int          tokens;     /* 1: [T, cols]; 0: [rows, cols] (vectors: rows = 1) */
    int64_t      rows, cols;
    dsmlp_layout layout;
    int          external;   /* input or param                                    */
    int          producer;   /* group writing it; -1 if external or never stored */
    int          alias;      /* shares the storage of this value (all_reduce, output); -1 */
    int          output;     /* output node whose buffer holds it; -1             */
} fuse_value;

/* What each kind of group computes (fuse_group's union, by kind). Values are
** value ids; -1 when absent. */
typedef struct fuse_norm_group {      /* FG_NORM: out = norm(sum terms); side = sum terms + sum extra */
    dsmlp_op op;                      /* DSMLP_OP_LAYERNORM or DSMLP_OP_RMSNORM */
    double   eps;
    double   gamma_offset;            /* rmsnorm: weight = gamma + offset (0: plain) */
    int      gamma, beta;
    int      terms[FUSE_MAX_TERMS], nterms;
    int      extra[FUSE_MAX_TERMS], nextra;
} fuse_norm_group;

typedef struct fuse_gemm_group {      /* FG_GEMM: out = x·w (+bias, act per epi) (+c) */
    int           x, w, bias, c;
    plan_epilogue epi;
} fuse_gemm_group;

typedef struct fuse_ew_group {        /* FG_EW: the expression rooted at graph node root over the group's nodes
                                         (leaves: everything else); root < 0: out = sum(terms) (pre-sum, copy) */
    int              root;
    plan_kernel_kind kind;            /* KERN_ACT, KERN_RESIDUAL or KERN_ELEMWISE */
    int              terms[FUSE_MAX_TERMS], nterms;
} fuse_ew_group;

typedef struct fuse_gated_group {     /* FG_GATED: out = gated(in (+bias), act) with in = [up | gate]; or, when
                                         in2 >= 0, out = (in (+bias)) ⊙ act(in2 (+bias2)) (up and gate apart) */
    int       in, in2, bias, bias2;
    dsmlp_act act;
} fuse_gated_group;

typedef struct fuse_deq_group {       /* FG_DEQUANT: out = q × scales per row group */
    int     q, scales;
    int64_t groups;
} fuse_deq_group;

typedef struct fuse_ar_group {        /* FG_ALL_REDUCE: in place on in */
    int in;
} fuse_ar_group;

typedef struct fuse_group {
    fuse_kind kind;                   /* which member of the union is meaningful */
    int       order;                  /* sort key: graph position              */
    int       seq;                    /* creation index (tie break)            */
    int       out, side;              /* values written (side: -1 if none)     */
    int       nodes[FUSE_MAX_NODES];  /* graph nodes it computes (explain)     */
    int       nnodes;
    union {
        fuse_norm_group  norm;
        fuse_gemm_group  gemm;
        fuse_ew_group    ew;
        fuse_gated_group gated;
        fuse_deq_group   deq;
        fuse_ar_group    ar;
    };
    char      label[48];
    char      why[PLAN_TEXT_MAX];
} fuse_group;

typedef struct fuse_result {
    const dsmlp_graph *g;
    fuse_value *vals;   int nvals, capvals;
    fuse_group *groups; int ngroups, capgroups;
    int        *order;            /* group indices in execution order          */
    int        *uses;             /* live uses per graph node                  */
    char        notes[PLAN_TEXT_MAX]; /* plan-wide remarks (unused values)      */
} fuse_result;

/* residual_kernel: leave the final residual sum to a generated kernel
** instead of GEMM2's epilogue (dsmlp_compile_options.residual_kernel). */
dsmlp_status dsmlpC_fuse_graph(dsmlp_ctx *ctx, const dsmlp_graph *g, int residual_kernel, fuse_result *r);
void         dsmlpC_fuse_free(fuse_result *r);
/* Value whose buffer v lives in (follows aliases). */
int          dsmlpC_fuse_storage(const fuse_result *r, int v);
/* Appends to a fixed text buffer (explain strings); never overflows. */
void         dsmlpC_fuse_appendf(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
