/*
** reference.c — the CPU reference executor: runs the unfused graph in double
** precision on host buffers bound by name. It is the oracle of every numeric
** test, so it is written for clarity first: one double buffer per live value,
** no rounding between ops (but dequant, whose result is a stored weight of
** its dtype), outputs rounded once to their dtype.
**
** P ranks run in lockstep: each rank's graph runs up to its next all_reduce,
** then the operands are summed in rank order and every rank continues with
** the sum. Ranks may differ in structure (rank 0 alone adds the replicated
** terms), so all_reduce ops are matched by their ordinal, not their index.
*/
#include "reference.h"
#include "context.h"
#include "dtype.h"
#include "compiler/graph.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct ref_val {
    double *p;
    int64_t rows, cols;     /* weights: [out, in] whatever their layout */
} ref_val;

typedef struct ref_rank {
    const dsmlp_graph       *g;
    const dsmlp_host_tensor *bind;
    int                      nbind;
    int                     *bound;    /* per node: binding index of an input/param, else -1 */
    int                     *uses;     /* per node: readers not yet run */
    ref_val                 *v;
    int                      pc;       /* next node to run */
} ref_rank;

typedef struct ref_run {
    dsmlp_ctx  *ctx;
    const char *fn;
    int         P, nthreads, raw;
    int64_t     T;
    ref_rank   *r;
} ref_run;

/* Records the error on ctx, prefixed with the call and (P > 1) the rank. */
static dsmlp_status fail(const ref_run *R, int rank, dsmlp_status s, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static dsmlp_status fail(const ref_run *R, int rank, dsmlp_status s, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (R->P > 1 && rank >= 0) return dsmlpB_err_set(R->ctx, s, "%s: rank %d: %s", R->fn, rank, msg);
    return dsmlpB_err_set(R->ctx, s, "%s: %s", R->fn, msg);
}

static const char *kind_name(dsmlp_op op)
{
    return op == DSMLP_OP_INPUT ? "input" : op == DSMLP_OP_PARAM ? "parameter" : "output";
}

/* "f16[T,4096]", "f16[4096,16384] ([in,out])", "f32[4]" (the graph's notation). */
static void describe(const graph_node *nd, char *buf, size_t len)
{
    char t[GRAPH_DESC_MAX];
    snprintf(buf, len, "%s", dsmlpC_graph_type_str(nd, t));
}

/* Shape of a node's value as the executor holds it. */
static void val_shape(const graph_node *nd, int64_t T, int64_t *rows, int64_t *cols)
{
    if (nd->tokens) *rows = T, *cols = nd->dims[1];
    else if (nd->rank == 1) *rows = 1, *cols = nd->dims[0];
    else if (nd->layout == DSMLP_LAYOUT_IN_OUT) *rows = nd->dims[1], *cols = nd->dims[0];
    else *rows = nd->dims[0], *cols = nd->dims[1];
}

static int is_matrix(const graph_node *nd) { return !nd->tokens && nd->rank == 2; }

/* ------------------------------------------------------------- validation */

static dsmlp_status check_graph(const ref_run *R, int rank)
{
    const dsmlp_graph *g = R->r[rank].g;
    if (!g) return fail(R, rank, DSMLP_ERR_INVALID_ARG, "graph is NULL");
    if (g->n < 0 || (g->n > 0 && !g->nodes))
        return fail(R, rank, DSMLP_ERR_INVALID_ARG, "graph '%s' is corrupt (%d values)", g->name, g->n);
    for (int i = 0; i < g->n; i++) {
        const graph_node *nd = &g->nodes[i];
        if ((unsigned)nd->op >= DSMLP_OP_COUNT || (unsigned)nd->dtype >= DSMLP_DTYPE_COUNT || nd->nsrc < 0 ||
            nd->nsrc > 3 || (nd->rank != 1 && nd->rank != 2) || nd->dims[0] < 0 || nd->dims[1] < 0)
            return fail(R, rank, DSMLP_ERR_INVALID_ARG, "graph '%s': value %d is corrupt", g->name, i);
        for (int k = 0; k < nd->nsrc; k++) {
            if (nd->src[k] >= i)
                return fail(R, rank, DSMLP_ERR_INVALID_ARG, "graph '%s': value %d (%s) reads value %d, which does not "
                            "precede it", g->name, i, dsmlp_op_name(nd->op), nd->src[k]);
            if (nd->src[k] >= 0 && g->nodes[nd->src[k]].op == DSMLP_OP_OUTPUT)
                return fail(R, rank, DSMLP_ERR_INVALID_ARG, "graph '%s': value %d (%s) reads output '%s'", g->name, i,
                            dsmlp_op_name(nd->op), g->nodes[nd->src[k]].name);
        }
    }
    return DSMLP_OK;
}

static int find_bindable(const dsmlp_graph *g, const char *name)
{
    for (int i = 0; i < g->n; i++) {
        const graph_node *nd = &g->nodes[i];
        if ((nd->op == DSMLP_OP_INPUT || nd->op == DSMLP_OP_PARAM || nd->op == DSMLP_OP_OUTPUT) &&
            strcmp(nd->name, name) == 0)
            return i;
    }
    return -1;
}

static dsmlp_status check_bindings(const ref_run *R, int rank)
{
    ref_rank *k = &R->r[rank];
    const dsmlp_graph *g = k->g;
    char d[128];
    if (k->nbind < 0 || (k->nbind > 0 && !k->bind))
        return fail(R, rank, DSMLP_ERR_INVALID_ARG, "%d bindings given with %s array", k->nbind,
                    k->bind ? "a" : "a NULL");
    for (int b = 0; b < k->nbind; b++) {
        const dsmlp_host_tensor *t = &k->bind[b];
        if (!t->name) return fail(R, rank, DSMLP_ERR_INVALID_ARG, "binding %d has a NULL name", b);
        int i = find_bindable(g, t->name);
        if (i < 0)
            return fail(R, rank, DSMLP_ERR_NOT_FOUND, "binding '%s' names no input, parameter or output of graph '%s'",
                        t->name, g->name);
        const graph_node *nd = &g->nodes[i];
        describe(nd, d, sizeof d);
        if ((unsigned)t->dtype >= DSMLP_DTYPE_COUNT || (t->dtype != nd->dtype && t->dtype != DSMLP_F64))
            return fail(R, rank, DSMLP_ERR_DTYPE, "binding '%s' is %s but %s '%s' is %s: give %s or f64 data", t->name,
                        (unsigned)t->dtype < DSMLP_DTYPE_COUNT ? dsmlp_dtype_name(t->dtype) : "an unknown dtype",
                        kind_name(nd->op), nd->name, d, dsmlp_dtype_name(nd->dtype));
        if (!t->data) return fail(R, rank, DSMLP_ERR_INVALID_ARG, "binding '%s' has NULL data", t->name);
        if (nd->op != DSMLP_OP_OUTPUT) {
            if (k->bound[i] >= 0)
                return fail(R, rank, DSMLP_ERR_INVALID_ARG, "%s '%s' is bound twice (bindings %d and %d)",
                            kind_name(nd->op), nd->name, k->bound[i], b);
            k->bound[i] = b;
        }
    }
    for (int i = 0; i < g->n; i++) {
        const graph_node *nd = &g->nodes[i];
        if ((nd->op == DSMLP_OP_INPUT || nd->op == DSMLP_OP_PARAM) && k->bound[i] < 0) {
            describe(nd, d, sizeof d);
            return fail(R, rank, DSMLP_ERR_NOT_FOUND, "%s '%s' (%s) of graph '%s' is not bound", kind_name(nd->op),
                        nd->name, d, g->name);
        }
    }
    return DSMLP_OK;
}

/* The k-th all_reduce of every rank must sum the same shape and dtype. */
static dsmlp_status check_all_reduces(const ref_run *R)
{
    int n0 = 0;
    for (int i = 0; i < R->r[0].g->n; i++) n0 += R->r[0].g->nodes[i].op == DSMLP_OP_ALL_REDUCE;
    for (int r = 1; r < R->P; r++) {
        const dsmlp_graph *g = R->r[r].g;
        int n = 0;
        for (int i = 0; i < g->n; i++) n += g->nodes[i].op == DSMLP_OP_ALL_REDUCE;
        if (n != n0)
            return fail(R, -1, DSMLP_ERR_INVALID_ARG, "rank %d's graph '%s' has %d all_reduce ops but rank 0's graph "
                        "'%s' has %d: the ranks' graphs do not match", r, g->name, n, R->r[0].g->name, n0);
        for (int i = 0, j = 0, ord = 0;; i++, j++, ord++) {
            const dsmlp_graph *g0 = R->r[0].g;
            while (i < g0->n && g0->nodes[i].op != DSMLP_OP_ALL_REDUCE) i++;
            while (j < g->n && g->nodes[j].op != DSMLP_OP_ALL_REDUCE) j++;
            if (i >= g0->n) break;
            const graph_node *a = &g0->nodes[i], *b = &g->nodes[j];
            char da[128], db[128];
            describe(a, da, sizeof da);
            describe(b, db, sizeof db);
            int same_shape = a->tokens == b->tokens && a->rank == b->rank && a->dims[1] == b->dims[1] &&
                             (a->tokens || a->dims[0] == b->dims[0]);
            if (!same_shape || a->dtype != b->dtype)
                return fail(R, -1, same_shape ? DSMLP_ERR_DTYPE : DSMLP_ERR_SHAPE,
                            "all_reduce #%d: rank %d sums %s (value %d) but rank 0 sums %s (value %d)", ord, r, db, j,
                            da, i);
        }
    }
    return DSMLP_OK;
}

/* -------------------------------------------------------------- execution */

static dsmlp_status alloc_val(const ref_run *R, int rank, int i, int64_t rows, int64_t cols, ref_val *out)
{
    int64_t n;
    if (rows < 0 || cols < 0 || __builtin_mul_overflow(rows, cols, &n) || n > (int64_t)(SIZE_MAX / 16))
        return fail(R, rank, DSMLP_ERR_NOMEM, "value %d: [%lld,%lld] is too large", i, (long long)rows,
                    (long long)cols);
    out->p = malloc(n > 0 ? (size_t)n * sizeof(double) : 1);
    if (!out->p)
        return fail(R, rank, DSMLP_ERR_NOMEM, "value %d (%s): cannot allocate %lld doubles", i,
                    dsmlp_op_name(R->r[rank].g->nodes[i].op), (long long)n);
    out->rows = rows;
    out->cols = cols;
    return DSMLP_OK;
}

static dsmlp_status shape_err(const ref_run *R, int rank, int i, const char *what)
{
    const graph_node *nd = &R->r[rank].g->nodes[i];
    return fail(R, rank, DSMLP_ERR_SHAPE, "value %d (%s) of graph '%s': %s", i, dsmlp_op_name(nd->op),
                R->r[rank].g->name, what);
}

static dsmlp_act op_act(dsmlp_op op, dsmlp_act fallback)
{
    switch (op) {
    case DSMLP_OP_GELU_TANH: return DSMLP_ACT_GELU_TANH;
    case DSMLP_OP_GELU_ERF:  return DSMLP_ACT_GELU_ERF;
    case DSMLP_OP_RELU:      return DSMLP_ACT_RELU;
    case DSMLP_OP_SILU:      return DSMLP_ACT_SILU;
    default:                 return fallback;
    }
}

/* Computes node i of rank `rank` into k->v[i]. */
static dsmlp_status exec_node(const ref_run *R, int rank, int i)
{
    ref_rank *k = &R->r[rank];
    const graph_node *nd = &k->g->nodes[i];
    int64_t rows, cols;
    val_shape(nd, R->T, &rows, &cols);
    const ref_val *s0 = nd->nsrc > 0 && nd->src[0] >= 0 ? &k->v[nd->src[0]] : NULL;
    const ref_val *s1 = nd->nsrc > 1 && nd->src[1] >= 0 ? &k->v[nd->src[1]] : NULL;
    const ref_val *s2 = nd->nsrc > 2 && nd->src[2] >= 0 ? &k->v[nd->src[2]] : NULL;
    char why[256];
    dsmlp_status s;

    if (nd->op == DSMLP_OP_INPUT || nd->op == DSMLP_OP_PARAM) {
        const dsmlp_host_tensor *t = &k->bind[k->bound[i]];
        if ((s = alloc_val(R, rank, i, rows, cols, &k->v[i])) != DSMLP_OK) return s;
        dsmlpR_ref_load(R->nthreads, k->v[i].p, rows, cols, t->data, t->dtype, nd->dtype,
                 is_matrix(nd) && nd->layout == DSMLP_LAYOUT_IN_OUT);
        return DSMLP_OK;
    }

    ref_rowop o = {.op = nd->op, .act = op_act(nd->op, nd->act), .attr = nd->attr, .offset = nd->offset,
                   .rows = rows, .cols = cols};
    switch (nd->op) {
    case DSMLP_OP_ADD:
        if (!s0 || !s1) return shape_err(R, rank, i, "needs two operands");
        o.a = s0->p, o.b = s1->p;
        o.a_bcast = s0->rows == 1 && s1->rows != 1;
        o.b_bcast = s1->rows == 1 && s0->rows != 1;
        if (s0->cols != cols || s1->cols != cols || (!o.a_bcast && s0->rows != rows) ||
            (!o.b_bcast && s1->rows != rows)) {
            snprintf(why, sizeof why, "[%lld,%lld] + [%lld,%lld] does not give [%lld,%lld]", (long long)s0->rows,
                     (long long)s0->cols, (long long)s1->rows, (long long)s1->cols, (long long)rows, (long long)cols);
            return shape_err(R, rank, i, why);
        }
        break;
    case DSMLP_OP_SCALE: case DSMLP_OP_GELU_TANH: case DSMLP_OP_GELU_ERF: case DSMLP_OP_RELU: case DSMLP_OP_SILU:
        if (!s0 || s0->rows != rows || s0->cols != cols) return shape_err(R, rank, i, "operand shape differs");
        o.a = s0->p;
        break;
    case DSMLP_OP_LAYERNORM: case DSMLP_OP_RMSNORM: case DSMLP_OP_BIAS:
        if (!s0 || !s1 || s0->rows != rows || s0->cols != cols || s1->rows * s1->cols != cols ||
            (s2 && s2->rows * s2->cols != cols)) {
            snprintf(why, sizeof why, "x, %s and %s do not all have %lld features",
                     nd->op == DSMLP_OP_BIAS ? "b" : "gamma", nd->op == DSMLP_OP_LAYERNORM ? "beta" : "y",
                     (long long)cols);
            return shape_err(R, rank, i, why);
        }
        if (cols == 0 && nd->op != DSMLP_OP_BIAS) return shape_err(R, rank, i, "normalizes 0 features");
        o.a = s0->p, o.b = s1->p, o.c = nd->op == DSMLP_OP_LAYERNORM && s2 ? s2->p : NULL;
        break;
    case DSMLP_OP_GATED:
        if (s1) {   /* up and gate as two values */
            if (!s0 || s0->rows != rows || s0->cols != cols || s1->rows != rows || s1->cols != cols)
                return shape_err(R, rank, i, "up and gate are not both [T, n]");
            o.a = s0->p, o.b = s1->p;
            break;
        }
        if (!s0 || s0->rows != rows || s0->cols != 2 * cols) {
            snprintf(why, sizeof why, "x has %lld features, not 2 x %lld", s0 ? (long long)s0->cols : -1LL,
                     (long long)cols);
            return shape_err(R, rank, i, why);
        }
        o.a = s0->p;
        break;
    case DSMLP_OP_DEQUANT: {
        const graph_node *q = s0 ? &k->g->nodes[nd->src[0]] : NULL;
        if (!s0 || !s1 || !is_matrix(q) || q->layout != DSMLP_LAYOUT_OUT_IN || nd->layout != DSMLP_LAYOUT_OUT_IN)
            return fail(R, rank, DSMLP_ERR_UNSUPPORTED, "value %d (dequant): needs an [out,in] matrix and scales", i);
        if (nd->groups <= 0 || s0->rows % nd->groups != 0 || s1->rows * s1->cols != nd->groups ||
            s0->rows != rows || s0->cols != cols) {
            snprintf(why, sizeof why, "%lld groups do not split %lld rows with %lld scales", (long long)nd->groups,
                     (long long)s0->rows, (long long)(s1->rows * s1->cols));
            return shape_err(R, rank, i, why);
        }
        o.a = s0->p, o.b = s1->p, o.group_rows = s0->rows / nd->groups, o.dt = nd->dtype;
        break;
    }
    case DSMLP_OP_MATMUL: {
        if (!s0 || !s1 || !is_matrix(&k->g->nodes[nd->src[1]]))
            return shape_err(R, rank, i, "needs an activation and a weight matrix");
        if (s0->cols != s1->cols || s0->rows != rows || s1->rows != cols) {
            snprintf(why, sizeof why, "x [%lld,%lld] times a weight with %lld inputs and %lld outputs does not give "
                     "[%lld,%lld]", (long long)s0->rows, (long long)s0->cols, (long long)s1->cols,
                     (long long)s1->rows, (long long)rows, (long long)cols);
            return shape_err(R, rank, i, why);
        }
        if ((s = alloc_val(R, rank, i, rows, cols, &k->v[i])) != DSMLP_OK) return s;
        dsmlpR_ref_gemm(R->nthreads, R->ctx && ctx_opts(R->ctx)->ref_portable, s0->p, rows, s0->cols, s1->p, cols, k->v[i].p);
        return DSMLP_OK;
    }
    default:
        return fail(R, rank, DSMLP_ERR_UNSUPPORTED, "value %d: op %s is not run here", i, dsmlp_op_name(nd->op));
    }
    if ((s = alloc_val(R, rank, i, rows, cols, &k->v[i])) != DSMLP_OK) return s;
    o.y = k->v[i].p;
    dsmlpR_ref_rowop_run(R->nthreads, &o);
    return DSMLP_OK;
}

static void release(ref_rank *k, int v)
{
    if (--k->uses[v] == 0) {
        free(k->v[v].p);
        k->v[v].p = NULL;
    }
}

/* Runs rank's nodes until its next all_reduce (left for the caller) or the end. */
static dsmlp_status advance(const ref_run *R, int rank)
{
    ref_rank *k = &R->r[rank];
    for (; k->pc < k->g->n; k->pc++) {
        int i = k->pc;
        const graph_node *nd = &k->g->nodes[i];
        if (nd->op == DSMLP_OP_ALL_REDUCE) return DSMLP_OK;
        if (nd->op == DSMLP_OP_OUTPUT) continue;   /* written at the end: outputs may alias inputs */
        if (k->uses[i] == 0) continue;             /* nobody reads it */
        dsmlp_status s = exec_node(R, rank, i);
        if (s != DSMLP_OK) return s;
        for (int j = 0; j < nd->nsrc; j++)
            if (nd->src[j] >= 0) release(k, nd->src[j]);
    }
    return DSMLP_OK;
}

/* Every rank stands at an all_reduce: sum the operands in rank order. */
static dsmlp_status all_reduce(const ref_run *R)
{
    ref_rank *k0 = &R->r[0];
    int i0 = k0->pc;
    const ref_val *a0 = &k0->v[k0->g->nodes[i0].src[0]];
    dsmlp_status s;
    for (int r = 0; r < R->P; r++) {
        ref_rank *k = &R->r[r];
        const graph_node *nd = &k->g->nodes[k->pc];
        if (nd->nsrc < 1 || nd->src[0] < 0) return fail(R, r, DSMLP_ERR_INVALID_ARG, "all_reduce has no operand");
        const ref_val *a = &k->v[nd->src[0]];
        if (k->uses[k->pc] > 0 && (s = alloc_val(R, r, k->pc, a->rows, a->cols, &k->v[k->pc])) != DSMLP_OK) return s;
    }
    int64_t n = a0->rows * a0->cols;
    for (int r = 0; r < R->P; r++) {   /* rank 0 first: every rank sums in the same order */
        ref_rank *k = &R->r[r];
        if (!k->v[k->pc].p) continue;
        double *y = k->v[k->pc].p;
        memcpy(y, a0->p, (size_t)n * sizeof(double));
        for (int q = 1; q < R->P; q++) {
            const double *x = R->r[q].v[R->r[q].g->nodes[R->r[q].pc].src[0]].p;
            for (int64_t e = 0; e < n; e++) y[e] += x[e];
        }
    }
    for (int r = 0; r < R->P; r++) {
        ref_rank *k = &R->r[r];
        release(k, k->g->nodes[k->pc].src[0]);
        k->pc++;
    }
    return DSMLP_OK;
}

static void write_outputs(const ref_run *R)
{
    for (int r = 0; r < R->P; r++) {
        ref_rank *k = &R->r[r];
        for (int i = 0; i < k->g->n; i++) {
            const graph_node *nd = &k->g->nodes[i];
            if (nd->op != DSMLP_OP_OUTPUT || nd->nsrc < 1 || nd->src[0] < 0) continue;
            const graph_node *src = &k->g->nodes[nd->src[0]];
            const ref_val *v = &k->v[nd->src[0]];
            for (int b = 0; b < k->nbind; b++)
                if (strcmp(k->bind[b].name, nd->name) == 0)
                    dsmlpR_ref_store(R->nthreads, k->bind[b].data, k->bind[b].dtype, nd->dtype, R->raw, v->p, v->rows,
                              v->cols, is_matrix(src) && src->layout == DSMLP_LAYOUT_IN_OUT);
        }
    }
}

static void free_ranks(ref_run *R)
{
    for (int r = 0; r < R->P; r++) {
        ref_rank *k = &R->r[r];
        if (k->v)
            for (int i = 0; i < k->g->n; i++) free(k->v[i].p);
        free(k->v);
        free(k->uses);
        free(k->bound);
    }
    free(R->r);
}

static dsmlp_status run(ref_run *R, dsmlp_graph *const *graphs, const dsmlp_host_tensor *const *bind,
                        const int *nbind)
{
    dsmlp_status s = DSMLP_OK;
    if (R->T < 1) return fail(R, -1, DSMLP_ERR_INVALID_ARG, "T = %lld tokens (must be >= 1)", (long long)R->T);
    R->r = calloc((size_t)R->P, sizeof *R->r);
    if (!R->r) return fail(R, -1, DSMLP_ERR_NOMEM, "cannot allocate %d ranks", R->P);
    for (int r = 0; r < R->P && s == DSMLP_OK; r++) {
        ref_rank *k = &R->r[r];
        k->g = graphs[r];
        k->bind = bind[r];
        k->nbind = nbind[r];
        if ((s = check_graph(R, r)) != DSMLP_OK) break;
        int n = k->g->n > 0 ? k->g->n : 1;
        k->bound = malloc((size_t)n * sizeof *k->bound);
        k->uses = calloc((size_t)n, sizeof *k->uses);
        k->v = calloc((size_t)n, sizeof *k->v);
        if (!k->bound || !k->uses || !k->v) {
            s = fail(R, r, DSMLP_ERR_NOMEM, "cannot allocate the state of %d values", n);
            break;
        }
        for (int i = 0; i < k->g->n; i++) {
            k->bound[i] = -1;
            const graph_node *nd = &k->g->nodes[i];
            for (int j = 0; j < nd->nsrc; j++)
                if (nd->src[j] >= 0) k->uses[nd->src[j]]++;
        }
        s = check_bindings(R, r);
    }
    if (s == DSMLP_OK) s = check_all_reduces(R);
    while (s == DSMLP_OK) {
        for (int r = 0; r < R->P && s == DSMLP_OK; r++) s = advance(R, r);
        if (s != DSMLP_OK || R->r[0].pc >= R->r[0].g->n) break;   /* check_all_reduces: all ranks end together */
        s = all_reduce(R);
    }
    if (s == DSMLP_OK) write_outputs(R);
    free_ranks(R);
    return s;
}

static dsmlp_status run_one(const dsmlp_graph *g, int64_t T, const dsmlp_host_tensor *bind, int nbind, int raw,
                            const char *fn)
{
    if (!g) return DSMLP_ERR_INVALID_ARG;
    ref_run R = {.ctx = g->ctx, .fn = fn, .P = 1, .raw = raw, .T = T, .nthreads = dsmlpR_ref_threads_effective(g->ctx)};
    dsmlp_graph *gs[1] = {(dsmlp_graph *)g};
    const dsmlp_host_tensor *bs[1] = {bind};
    int ns[1] = {nbind};
    return run(&R, gs, bs, ns);
}

dsmlp_status dsmlp_reference_run(const dsmlp_graph *g, int64_t T, const dsmlp_host_tensor *bind, int nbind)
{
    return run_one(g, T, bind, nbind, 0, "reference_run");
}

dsmlp_status dsmlp_reference_run_f64(const dsmlp_graph *g, int64_t T, const dsmlp_host_tensor *bind, int nbind)
{
    return run_one(g, T, bind, nbind, 1, "reference_run_f64");
}

static dsmlp_status run_ranks(dsmlp_graph *const *graphs, int P, int64_t T, const dsmlp_host_tensor *const *bind,
                              const int *nbind, int raw, const char *fn)
{
    if (!graphs || P < 1 || !graphs[0]) return DSMLP_ERR_INVALID_ARG;
    ref_run R = {.ctx = graphs[0]->ctx, .fn = fn, .P = P, .raw = raw, .T = T,
                 .nthreads = dsmlpR_ref_threads_effective(graphs[0]->ctx)};
    if (!bind || !nbind) return fail(&R, -1, DSMLP_ERR_INVALID_ARG, "bind and nbind must be arrays of %d entries", P);
    for (int r = 0; r < P; r++)
        if (!graphs[r]) return fail(&R, -1, DSMLP_ERR_INVALID_ARG, "graph of rank %d is NULL", r);
    dsmlp_status s = run(&R, graphs, bind, nbind);
    /* ranks may come from different contexts: each gets the message */
    for (int r = 1; s != DSMLP_OK && r < P; r++)
        if (graphs[r]->ctx && graphs[r]->ctx != R.ctx) dsmlpB_err_set(graphs[r]->ctx, s, "%s", dsmlp_last_error(R.ctx));
    return s;
}

dsmlp_status dsmlp_reference_run_ranks(dsmlp_graph *const *graphs, int P, int64_t T,
                                       const dsmlp_host_tensor *const *bind, const int *nbind)
{
    return run_ranks(graphs, P, T, bind, nbind, 0, "reference_run_ranks");
}

dsmlp_status dsmlp_reference_run_ranks_f64(dsmlp_graph *const *graphs, int P, int64_t T,
                                           const dsmlp_host_tensor *const *bind, const int *nbind)
{
    return run_ranks(graphs, P, T, bind, nbind, 1, "reference_run_ranks_f64");
}
