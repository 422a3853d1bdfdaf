/*
** graph.h — the op graph IR (internal view of dsmlp_graph).
** Each node produces one value; a value's id is its node index. Nodes are
** appended in topological order (operands always precede their users).
** Unused src[] slots are DSMLP_NONE and nsrc counts only present operands
** (a layernorm without beta has nsrc = 2). Output nodes are sinks: never an
** operand. Activations have dims = {0, n}; vectors dims = {n, 0}.
** A gated op has one operand [T,2m] ([up | gate]) or two, up and gate [T,m].
*/
#ifndef DSMLP_GRAPH_H
#define DSMLP_GRAPH_H

#include "dsmlp.h"

#define GRAPH_NAME_MAX 64

typedef struct graph_node {
    dsmlp_op     op;
    dsmlp_dtype  dtype;
    int          tokens;               /* 1: [T, dims[1]] activation          */
    int          rank;                 /* 1: vector [dims[0]]; 2: matrix/activation */
    int64_t      dims[2];
    dsmlp_layout layout;               /* param matrices and dequant results  */
    int          nsrc;
    dsmlp_value  src[3];
    double       attr;                 /* eps (norms), constant (scale)       */
    double       offset;               /* rmsnorm: weight = gamma + offset    */
    dsmlp_act    act;                  /* gated, and the four activations     */
    int64_t      groups;               /* dequant                             */
    char         name[GRAPH_NAME_MAX]; /* input/param/output name             */
} graph_node;

struct dsmlp_graph {
    dsmlp_ctx  *ctx;
    char        name[GRAPH_NAME_MAX];
    graph_node *nodes;
    int         n, cap;
    int              has_mlp;   /* n when dsmlp_mlp_build built it from `mlp` */
    dsmlp_mlp_config mlp;       /* (tools rebuild other TP ranks from it)  */
    dsmlp_tensor_map *tensors;   /* where the params come from (dsmlp.hf); NULL: unknown */
};

/* Shape helpers used by every stage. */
static inline int64_t graph_cols(const graph_node *v) { return v->tokens ? v->dims[1] : v->dims[v->rank - 1]; }
/* Logical in/out features of a weight (param matrix or dequant result). */
static inline int64_t graph_w_in(const graph_node *w)  { return w->layout == DSMLP_LAYOUT_IN_OUT ? w->dims[0] : w->dims[1]; }
static inline int64_t graph_w_out(const graph_node *w) { return w->layout == DSMLP_LAYOUT_IN_OUT ? w->dims[1] : w->dims[0]; }
static inline const graph_node *graph_at(const dsmlp_graph *g, dsmlp_value v) { return &g->nodes[v]; }

/* Printable shapes for messages: "[T,4096]", "[4096]", "[1024,16384] ([in,out])";
** with dtype: "f16[T,4096]". Return buf. */
#define GRAPH_DESC_MAX 96
const char *dsmlpC_graph_shape_str(const graph_node *v, char buf[GRAPH_DESC_MAX]);
const char *dsmlpC_graph_type_str(const graph_node *v, char buf[GRAPH_DESC_MAX]);
const char *dsmlpC_graph_layout_name(dsmlp_layout l);   /* "[in,out]" / "[out,in]" */

/* Number of users of each value (array of g->n ints, caller frees). */
int *dsmlpC_graph_use_counts(const dsmlp_graph *g);
/* Looks a named input/param/output up; DSMLP_NONE if absent. */
dsmlp_value dsmlpC_graph_find(const dsmlp_graph *g, dsmlp_op op, const char *name);

#endif
