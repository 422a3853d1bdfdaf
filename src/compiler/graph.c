/*
** graph.c — the op graph: creation, and one validating constructor per op.
**
** Conventions every later stage may rely on:
**  - activations: tokens = 1, rank = 2, dims = {0, n};
**    param vectors: tokens = 0, rank = 1, dims = {n, 0};
**    param matrices and dequant results: tokens = 0, rank = 2, dims = {rows, cols} + layout.
**  - src[i] for i >= nsrc is DSMLP_NONE; an absent layernorm β makes nsrc = 2.
**  - Output nodes are sinks: they are never operands of other ops.
** A constructor that fails appends nothing, sets *out = DSMLP_NONE and leaves
** a message naming the op, its operands and the mismatch on the context.
*/
#include "graph.h"
#include "ctx.h"
#include "dtype.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Sizes beyond these are certainly mistakes and would overflow byte counts. */
#define GRAPH_DIM_MAX   ((int64_t)INT32_MAX)
#define GRAPH_ELEMS_MAX ((int64_t)1 << 40)

/* ------------------------------------------------------------ descriptions */

const char *dsmlpC_graph_shape_str(const graph_node *v, char buf[GRAPH_DESC_MAX])
{
    if (v->tokens)
        snprintf(buf, GRAPH_DESC_MAX, "[T,%lld]", (long long)v->dims[1]);
    else if (v->rank == 1)
        snprintf(buf, GRAPH_DESC_MAX, "[%lld]", (long long)v->dims[0]);
    else
        snprintf(buf, GRAPH_DESC_MAX, "[%lld,%lld] (%s)", (long long)v->dims[0], (long long)v->dims[1],
                 dsmlpC_graph_layout_name(v->layout));
    return buf;
}

const char *dsmlpC_graph_type_str(const graph_node *v, char buf[GRAPH_DESC_MAX])
{
    char s[GRAPH_DESC_MAX];
    snprintf(buf, GRAPH_DESC_MAX, "%s%s", dsmlp_dtype_name(v->dtype), dsmlpC_graph_shape_str(v, s));
    return buf;
}

const char *dsmlpC_graph_layout_name(dsmlp_layout l)
{
    return l == DSMLP_LAYOUT_IN_OUT ? "[in,out]" : l == DSMLP_LAYOUT_OUT_IN ? "[out,in]" : "[?]";
}

/* "an activation f16[T,4096]", "a param vector f16[4096] \"b1\"", ... */
#define KIND_MAX 192
static const char *kind_str(const graph_node *v, char buf[KIND_MAX])
{
    char t[GRAPH_DESC_MAX];
    dsmlpC_graph_type_str(v, t);
    if (v->op == DSMLP_OP_OUTPUT)
        snprintf(buf, KIND_MAX, "the output \"%s\"", v->name);
    else if (v->op == DSMLP_OP_PARAM)
        snprintf(buf, KIND_MAX, "a param %s %s \"%s\"", v->rank == 1 ? "vector" : "matrix", t, v->name);
    else if (v->op == DSMLP_OP_DEQUANT)
        snprintf(buf, KIND_MAX, "a dequant result %s", t);
    else if (v->op == DSMLP_OP_INPUT)
        snprintf(buf, KIND_MAX, "the input %s \"%s\"", t, v->name);
    else
        snprintf(buf, KIND_MAX, "an activation %s", t);
    return buf;
}

static int is_float(dsmlp_dtype t) { return t == DSMLP_F32 || t == DSMLP_F16 || t == DSMLP_BF16; }

/* ----------------------------------------------------------------- basics */

dsmlp_status dsmlp_graph_create(dsmlp_ctx *ctx, const char *name, dsmlp_graph **out)
{
    if (!out) return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "graph_create: out is NULL");
    *out = NULL;
    if (!ctx) return DSMLP_ERR_INVALID_ARG;
    if (!name) name = "";
    size_t len = strlen(name);
    if (len >= GRAPH_NAME_MAX)
        return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "graph_create: name \"%.40s...\" is %zu characters (max %d)",
                       name, len, GRAPH_NAME_MAX - 1);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)name[i] < 0x20 || (unsigned char)name[i] >= 0x7f)
            return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG,
                           "graph_create: name has a non-printable character (byte 0x%02x at %zu)",
                           (unsigned char)name[i], i);
    dsmlp_graph *g = calloc(1, sizeof *g);
    if (!g) return dsmlpB_err_set(ctx, DSMLP_ERR_NOMEM, "graph_create: out of memory");
    g->ctx = dsmlpB_ctx_retain(ctx);   /* the graph keeps its context alive */
    memcpy(g->name, name, len + 1);
    *out = g;
    return DSMLP_OK;
}

void dsmlp_graph_free(dsmlp_graph *g)
{
    if (!g) return;
    dsmlpB_ctx_release(g->ctx);
    free(g->nodes);
    free(g->tensors);
    free(g);
}

const char *dsmlp_graph_name(const dsmlp_graph *g) { return g ? g->name : ""; }
dsmlp_ctx  *dsmlp_graph_ctx(const dsmlp_graph *g) { return g ? g->ctx : NULL; }
int         dsmlp_graph_size(const dsmlp_graph *g) { return g ? g->n : 0; }

/* Appends a finished node; the only place the graph grows. */
static dsmlp_status append(dsmlp_graph *g, const char *op, const graph_node *n, dsmlp_value *out)
{
    if (g->n == g->cap) {
        if (g->cap >= INT32_MAX / 2)
            return dsmlpB_err_set(g->ctx, DSMLP_ERR_NOMEM, "%s: the graph already has %d values (the limit)", op, g->n);
        int cap = g->cap ? 2 * g->cap : 16;
        graph_node *nodes = realloc(g->nodes, (size_t)cap * sizeof *nodes);
        if (!nodes) return dsmlpB_err_set(g->ctx, DSMLP_ERR_NOMEM, "%s: out of memory growing the graph to %d values", op, cap);
        g->nodes = nodes;
        g->cap = cap;
    }
    g->nodes[g->n] = *n;
    if (out) *out = g->n;
    g->n++;
    return DSMLP_OK;
}

static graph_node node_init(dsmlp_op op)
{
    graph_node n;
    memset(&n, 0, sizeof n);
    n.op = op;
    n.src[0] = n.src[1] = n.src[2] = DSMLP_NONE;
    return n;
}

/* ------------------------------------------------------------ validation */

/* Common entry of value-producing constructors: g and out must exist. */
#define ENTER(g, out, opname)                                                          \
    do {                                                                               \
        if (out) *(out) = DSMLP_NONE;                                                  \
        if (!(g)) return DSMLP_ERR_INVALID_ARG;                                        \
        if (!(out)) return dsmlpB_err_set((g)->ctx, DSMLP_ERR_INVALID_ARG, "%s: out is NULL", opname); \
    } while (0)

#define TRY(call)                              \
    do {                                       \
        dsmlp_status s_ = (call);              \
        if (s_ != DSMLP_OK) return s_;         \
    } while (0)

/* v must name an existing, non-output value of g. */
static dsmlp_status check_id(const dsmlp_graph *g, const char *op, const char *role, dsmlp_value v)
{
    if (v == DSMLP_NONE)
        return dsmlpB_err_set(g->ctx, DSMLP_ERR_INVALID_ARG, "%s: %s is missing (DSMLP_NONE)", op, role);
    if (v < 0 || v >= g->n)
        return dsmlpB_err_set(g->ctx, DSMLP_ERR_INVALID_ARG, "%s: %s is %%%d, not a value of graph \"%s\" (it has %d values)",
                       op, role, (int)v, g->name, g->n);
    if (g->nodes[v].op == DSMLP_OP_OUTPUT)
        return dsmlpB_err_set(g->ctx, DSMLP_ERR_INVALID_ARG,
                       "%s: %s is %%%d, the output \"%s\", which cannot be an operand (use the value it outputs)",
                       op, role, (int)v, g->nodes[v].name);
    return DSMLP_OK;
}

static dsmlp_status need_act(const dsmlp_graph *g, const char *op, const char *role, dsmlp_value v)
{
    TRY(check_id(g, op, role, v));
    const graph_node *n = &g->nodes[v];
    if (!n->tokens) {
        char k[KIND_MAX];
        return dsmlpB_err_set(g->ctx, DSMLP_ERR_INVALID_ARG, "%s: %s is %%%d, %s, not an activation [T,n]", op, role, (int)v,
                       kind_str(n, k));
    }
    return DSMLP_OK;
}

static dsmlp_status need_vec(const dsmlp_graph *g, const char *op, const char *role, dsmlp_value v)
{
    TRY(check_id(g, op, role, v));
    const graph_node *n = &g->nodes[v];
    if (n->op != DSMLP_OP_PARAM || n->rank != 1) {
        char k[KIND_MAX];
        return dsmlpB_err_set(g->ctx, DSMLP_ERR_INVALID_ARG, "%s: %s is %%%d, %s, not a param vector [n]", op, role, (int)v,
                       kind_str(n, k));
    }
    return DSMLP_OK;
}

static dsmlp_status need_weight(const dsmlp_graph *g, const char *op, const char *role, dsmlp_value v)
{
    TRY(check_id(g, op, role, v));
    const graph_node *n = &g->nodes[v];
    if (!((n->op == DSMLP_OP_PARAM && n->rank == 2) || n->op == DSMLP_OP_DEQUANT)) {
        char k[KIND_MAX];
        return dsmlpB_err_set(g->ctx, DSMLP_ERR_INVALID_ARG,
                       "%s: %s is %%%d, %s, not a weight (a param matrix or a dequant result)", op, role, (int)v,
                       kind_str(n, k));
    }
    return DSMLP_OK;
}

/* A vector operand `role` must be [n] of dtype dt, where x (role xrole) is [T,n]. */
static dsmlp_status check_vec_fits(const dsmlp_graph *g, const char *op, const char *xrole, dsmlp_value x,
                                   const char *role, dsmlp_value v)
{
    const graph_node *xn = &g->nodes[x], *vn = &g->nodes[v];
    char a[GRAPH_DESC_MAX], b[GRAPH_DESC_MAX];
    if (vn->dims[0] != xn->dims[1])
        return dsmlpB_err_set(g->ctx, DSMLP_ERR_SHAPE, "%s: %s is %s but %s is %s: sizes differ", op, xrole,
                       dsmlpC_graph_shape_str(xn, a), role, dsmlpC_graph_shape_str(vn, b));
    if (vn->dtype != xn->dtype)
        return dsmlpB_err_set(g->ctx, DSMLP_ERR_DTYPE, "%s: %s is %s but %s is %s: dtypes differ", op, xrole,
                       dsmlpC_graph_type_str(xn, a), role, dsmlpC_graph_type_str(vn, b));
    return DSMLP_OK;
}


/* Graph dtypes: unknown -> INVALID_ARG; f64 or (unless allow_quant) i8/fp8 -> DTYPE. */
static dsmlp_status check_dtype(const dsmlp_graph *g, const char *op, const char *what, dsmlp_dtype dt,
                                int allow_quant)
{
    if ((unsigned)dt >= DSMLP_DTYPE_COUNT)
        return dsmlpB_err_set(g->ctx, DSMLP_ERR_INVALID_ARG, "%s: %s has unknown dtype %d", op, what, (int)dt);
    if (dt == DSMLP_F64)
        return dsmlpB_err_set(g->ctx, DSMLP_ERR_DTYPE,
                       "%s: %s has dtype f64, which is for host buffers only (graphs use f32, f16, bf16, i8, fp8)", op,
                       what);
    if (dsmlpB_dtype_is_code(dt) && !allow_quant)
        return dsmlpB_err_set(g->ctx, DSMLP_ERR_DTYPE,
                       "%s: %s has dtype %s, which only param matrices feeding dequant may have (use f32, f16 or "
                       "bf16)",
                       op, what, dsmlp_dtype_name(dt));
    return DSMLP_OK;
}

static dsmlp_status check_dim(const dsmlp_graph *g, const char *op, const char *what, const char *dim, int64_t n)
{
    if (n <= 0)
        return dsmlpB_err_set(g->ctx, DSMLP_ERR_SHAPE, "%s: %s has %s = %lld; it must be > 0", op, what, dim, (long long)n);
    if (n > GRAPH_DIM_MAX)
        return dsmlpB_err_set(g->ctx, DSMLP_ERR_SHAPE, "%s: %s has %s = %lld; the largest supported is %lld", op, what, dim,
                       (long long)n, (long long)GRAPH_DIM_MAX);
    return DSMLP_OK;
}

dsmlp_value dsmlpC_graph_find(const dsmlp_graph *g, dsmlp_op op, const char *name)
{
    if (!g || !name) return DSMLP_NONE;
    for (int i = 0; i < g->n; i++)
        if (g->nodes[i].op == op && g->nodes[i].name[0] == name[0] && strcmp(g->nodes[i].name, name) == 0) return i;
    return DSMLP_NONE;
}

/* Names: non-empty, < GRAPH_NAME_MAX, [A-Za-z0-9_.], unique among inputs, params and outputs. */
static dsmlp_status check_name(const dsmlp_graph *g, const char *op, const char *name)
{
    if (!name) return dsmlpB_err_set(g->ctx, DSMLP_ERR_INVALID_ARG, "%s: name is NULL", op);
    size_t len = strlen(name);
    if (len == 0) return dsmlpB_err_set(g->ctx, DSMLP_ERR_INVALID_ARG, "%s: name is empty", op);
    if (len >= GRAPH_NAME_MAX)
        return dsmlpB_err_set(g->ctx, DSMLP_ERR_INVALID_ARG, "%s: name \"%.40s...\" is %zu characters long (max %d)", op,
                       name, len, GRAPH_NAME_MAX - 1);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.')) {
            if (c >= 0x20 && c < 0x7f)
                return dsmlpB_err_set(g->ctx, DSMLP_ERR_INVALID_ARG,
                               "%s: name \"%s\" has the character '%c' at %zu (allowed: A-Z a-z 0-9 _ .)", op, name,
                               c, i);
            return dsmlpB_err_set(g->ctx, DSMLP_ERR_INVALID_ARG,
                           "%s: name has the byte 0x%02x at %zu (allowed: A-Z a-z 0-9 _ .)", op, c, i);
        }
    }
    for (int i = 0; i < g->n; i++) {
        const graph_node *n = &g->nodes[i];
        if (n->name[0] == name[0] && n->name[0] && strcmp(n->name, name) == 0) {
            char k[KIND_MAX];
            return dsmlpB_err_set(g->ctx, DSMLP_ERR_INVALID_ARG, "%s: name \"%s\" is already used by %%%d, %s", op, name, i,
                           kind_str(n, k));
        }
    }
    return DSMLP_OK;
}

/* --------------------------------------------------------- leaves */

dsmlp_status dsmlp_input(dsmlp_graph *g, const char *name, dsmlp_dtype dt, int64_t n, dsmlp_value *out)
{
    ENTER(g, out, "input");
    TRY(check_name(g, "input", name));
    char what[GRAPH_NAME_MAX + 8];
    snprintf(what, sizeof what, "\"%s\"", name);
    TRY(check_dtype(g, "input", what, dt, 0));
    TRY(check_dim(g, "input", what, "n", n));
    graph_node v = node_init(DSMLP_OP_INPUT);
    v.dtype = dt;
    v.tokens = 1;
    v.rank = 2;
    v.dims[1] = n;
    strcpy(v.name, name);
    return append(g, "input", &v, out);
}

dsmlp_status dsmlp_param_vector(dsmlp_graph *g, const char *name, dsmlp_dtype dt, int64_t n, dsmlp_value *out)
{
    ENTER(g, out, "param");
    TRY(check_name(g, "param", name));
    char what[GRAPH_NAME_MAX + 16];
    snprintf(what, sizeof what, "vector \"%s\"", name);
    TRY(check_dtype(g, "param", what, dt, 0));
    TRY(check_dim(g, "param", what, "n", n));
    graph_node v = node_init(DSMLP_OP_PARAM);
    v.dtype = dt;
    v.rank = 1;
    v.dims[0] = n;
    strcpy(v.name, name);
    return append(g, "param", &v, out);
}

dsmlp_status dsmlp_param_matrix(dsmlp_graph *g, const char *name, dsmlp_dtype dt, int64_t rows, int64_t cols,
                                dsmlp_layout layout, dsmlp_value *out)
{
    ENTER(g, out, "param");
    TRY(check_name(g, "param", name));
    char what[GRAPH_NAME_MAX + 16];
    snprintf(what, sizeof what, "matrix \"%s\"", name);
    TRY(check_dtype(g, "param", what, dt, 1));
    TRY(check_dim(g, "param", what, "rows", rows));
    TRY(check_dim(g, "param", what, "cols", cols));
    if (rows > GRAPH_ELEMS_MAX / cols)
        return dsmlpB_err_set(g->ctx, DSMLP_ERR_SHAPE, "param: matrix \"%s\" is [%lld,%lld]: more than 2^40 elements", name,
                       (long long)rows, (long long)cols);
    if ((unsigned)layout >= DSMLP_LAYOUT_COUNT)
        return dsmlpB_err_set(g->ctx, DSMLP_ERR_INVALID_ARG,
                       "param: matrix \"%s\" has unknown layout %d (DSMLP_LAYOUT_IN_OUT or DSMLP_LAYOUT_OUT_IN)", name,
                       (int)layout);
    graph_node v = node_init(DSMLP_OP_PARAM);
    v.dtype = dt;
    v.rank = 2;
    v.dims[0] = rows;
    v.dims[1] = cols;
    v.layout = layout;
    strcpy(v.name, name);
    return append(g, "param", &v, out);
}

/* ------------------------------------------------------- element-wise */

/* A new activation node [T,n] of dtype dt. */
static graph_node act_node(dsmlp_op op, dsmlp_dtype dt, int64_t n)
{
    graph_node v = node_init(op);
    v.dtype = dt;
    v.tokens = 1;
    v.rank = 2;
    v.dims[1] = n;
    return v;
}

dsmlp_status dsmlp_add(dsmlp_graph *g, dsmlp_value a, dsmlp_value b, dsmlp_value *out)
{
    ENTER(g, out, "add");
    TRY(need_act(g, "add", "a", a));
    TRY(need_act(g, "add", "b", b));
    const graph_node *an = &g->nodes[a], *bn = &g->nodes[b];
    char s1[GRAPH_DESC_MAX], s2[GRAPH_DESC_MAX];
    if (an->dims[1] != bn->dims[1])
        return dsmlpB_err_set(g->ctx, DSMLP_ERR_SHAPE, "add: a is %s but b is %s: widths differ", dsmlpC_graph_shape_str(an, s1),
                       dsmlpC_graph_shape_str(bn, s2));
    if (an->dtype != bn->dtype)
        return dsmlpB_err_set(g->ctx, DSMLP_ERR_DTYPE, "add: a is %s but b is %s: dtypes differ", dsmlpC_graph_type_str(an, s1),
                       dsmlpC_graph_type_str(bn, s2));
    graph_node v = act_node(DSMLP_OP_ADD, an->dtype, an->dims[1]);
    v.nsrc = 2;
    v.src[0] = a;
    v.src[1] = b;
    return append(g, "add", &v, out);
}

dsmlp_status dsmlp_scale(dsmlp_graph *g, dsmlp_value x, double c, dsmlp_value *out)
{
    ENTER(g, out, "scale");
    TRY(need_act(g, "scale", "x", x));
    if (!isfinite(c)) return dsmlpB_err_set(g->ctx, DSMLP_ERR_INVALID_ARG, "scale: the constant c = %g is not finite", c);
    const graph_node *xn = &g->nodes[x];
    graph_node v = act_node(DSMLP_OP_SCALE, xn->dtype, xn->dims[1]);
    v.nsrc = 1;
    v.src[0] = x;
    v.attr = c;
    return append(g, "scale", &v, out);
}

static dsmlp_status check_eps(const dsmlp_graph *g, const char *op, double eps)
{
    if (!isfinite(eps) || !(eps > 0))
        return dsmlpB_err_set(g->ctx, DSMLP_ERR_INVALID_ARG, "%s: eps = %g; it must be finite and > 0", op, eps);
    return DSMLP_OK;
}

dsmlp_status dsmlp_layernorm(dsmlp_graph *g, dsmlp_value x, dsmlp_value gamma, dsmlp_value beta, double eps,
                             dsmlp_value *out)
{
    ENTER(g, out, "layernorm");
    TRY(need_act(g, "layernorm", "x", x));
    TRY(need_vec(g, "layernorm", "gamma", gamma));
    TRY(check_vec_fits(g, "layernorm", "x", x, "gamma", gamma));
    if (beta != DSMLP_NONE) {
        TRY(need_vec(g, "layernorm", "beta", beta));
        TRY(check_vec_fits(g, "layernorm", "x", x, "beta", beta));
    }
    TRY(check_eps(g, "layernorm", eps));
    const graph_node *xn = &g->nodes[x];
    graph_node v = act_node(DSMLP_OP_LAYERNORM, xn->dtype, xn->dims[1]);
    v.nsrc = beta != DSMLP_NONE ? 3 : 2;
    v.src[0] = x;
    v.src[1] = gamma;
    v.src[2] = beta;
    v.attr = eps;
    return append(g, "layernorm", &v, out);
}

dsmlp_status dsmlp_rmsnorm_offset(dsmlp_graph *g, dsmlp_value x, dsmlp_value gamma, double eps, double offset,
                                  dsmlp_value *out)
{
    ENTER(g, out, "rmsnorm");
    TRY(need_act(g, "rmsnorm", "x", x));
    TRY(need_vec(g, "rmsnorm", "gamma", gamma));
    TRY(check_vec_fits(g, "rmsnorm", "x", x, "gamma", gamma));
    TRY(check_eps(g, "rmsnorm", eps));
    if (!isfinite(offset))
        return dsmlpB_err_set(g->ctx, DSMLP_ERR_INVALID_ARG, "rmsnorm: gamma offset = %g; it must be finite", offset);
    const graph_node *xn = &g->nodes[x];
    graph_node v = act_node(DSMLP_OP_RMSNORM, xn->dtype, xn->dims[1]);
    v.nsrc = 2;
    v.src[0] = x;
    v.src[1] = gamma;
    v.attr = eps;
    v.offset = offset;
    return append(g, "rmsnorm", &v, out);
}

dsmlp_status dsmlp_rmsnorm(dsmlp_graph *g, dsmlp_value x, dsmlp_value gamma, double eps, dsmlp_value *out)
{
    return dsmlp_rmsnorm_offset(g, x, gamma, eps, 0.0, out);
}

dsmlp_status dsmlp_matmul(dsmlp_graph *g, dsmlp_value x, dsmlp_value w, dsmlp_value *out)
{
    ENTER(g, out, "matmul");
    TRY(need_act(g, "matmul", "x", x));
    TRY(need_weight(g, "matmul", "W", w));
    const graph_node *xn = &g->nodes[x], *wn = &g->nodes[w];
    char s1[GRAPH_DESC_MAX], s2[GRAPH_DESC_MAX];
    if (xn->dims[1] != graph_w_in(wn))
        return dsmlpB_err_set(g->ctx, DSMLP_ERR_SHAPE, "matmul: x is %s but W is %s: inner sizes differ",
                       dsmlpC_graph_shape_str(xn, s1), dsmlpC_graph_shape_str(wn, s2));
    if (dsmlpB_dtype_is_code(wn->dtype))
        return dsmlpB_err_set(g->ctx, DSMLP_ERR_DTYPE, "matmul: x is %s but W is %s: an %s weight needs dequant first",
                       dsmlpC_graph_type_str(xn, s1), dsmlpC_graph_type_str(wn, s2), dsmlp_dtype_name(wn->dtype));
    if (xn->dtype != wn->dtype)
        return dsmlpB_err_set(g->ctx, DSMLP_ERR_DTYPE, "matmul: x is %s but W is %s: dtypes differ", dsmlpC_graph_type_str(xn, s1),
                       dsmlpC_graph_type_str(wn, s2));
    graph_node v = act_node(DSMLP_OP_MATMUL, xn->dtype, graph_w_out(wn));
    v.nsrc = 2;
    v.src[0] = x;
    v.src[1] = w;
    return append(g, "matmul", &v, out);
}

dsmlp_status dsmlp_bias(dsmlp_graph *g, dsmlp_value x, dsmlp_value b, dsmlp_value *out)
{
    ENTER(g, out, "bias");
    TRY(need_act(g, "bias", "x", x));
    TRY(need_vec(g, "bias", "b", b));
    TRY(check_vec_fits(g, "bias", "x", x, "b", b));
    const graph_node *xn = &g->nodes[x];
    graph_node v = act_node(DSMLP_OP_BIAS, xn->dtype, xn->dims[1]);
    v.nsrc = 2;
    v.src[0] = x;
    v.src[1] = b;
    return append(g, "bias", &v, out);
}

static const dsmlp_op act_ops[DSMLP_ACT_COUNT] = {DSMLP_OP_GELU_TANH, DSMLP_OP_GELU_ERF, DSMLP_OP_RELU,
                                                  DSMLP_OP_SILU};

dsmlp_status dsmlp_activation(dsmlp_graph *g, dsmlp_value x, dsmlp_act act, dsmlp_value *out)
{
    const char *op = (unsigned)act < DSMLP_ACT_COUNT ? dsmlp_op_name(act_ops[act]) : "activation";
    ENTER(g, out, op);
    if ((unsigned)act >= DSMLP_ACT_COUNT)
        return dsmlpB_err_set(g->ctx, DSMLP_ERR_INVALID_ARG,
                       "activation: unknown activation %d (gelu_tanh, gelu_erf, relu or silu)", (int)act);
    TRY(need_act(g, op, "x", x));
    const graph_node *xn = &g->nodes[x];
    if (!is_float(xn->dtype)) {   /* unreachable today (i8 never flows as an activation) */
        char s[GRAPH_DESC_MAX];
        return dsmlpB_err_set(g->ctx, DSMLP_ERR_DTYPE, "%s: x is %s: needs f32, f16 or bf16", op, dsmlpC_graph_type_str(xn, s));
    }
    graph_node v = act_node(act_ops[act], xn->dtype, xn->dims[1]);
    v.nsrc = 1;
    v.src[0] = x;
    v.act = act;
    return append(g, op, &v, out);
}

dsmlp_status dsmlp_gelu_tanh(dsmlp_graph *g, dsmlp_value x, dsmlp_value *out)
{
    return dsmlp_activation(g, x, DSMLP_ACT_GELU_TANH, out);
}
dsmlp_status dsmlp_gelu_erf(dsmlp_graph *g, dsmlp_value x, dsmlp_value *out)
{
    return dsmlp_activation(g, x, DSMLP_ACT_GELU_ERF, out);
}
dsmlp_status dsmlp_relu(dsmlp_graph *g, dsmlp_value x, dsmlp_value *out)
{
    return dsmlp_activation(g, x, DSMLP_ACT_RELU, out);
}
dsmlp_status dsmlp_silu(dsmlp_graph *g, dsmlp_value x, dsmlp_value *out)
{
    return dsmlp_activation(g, x, DSMLP_ACT_SILU, out);
}

static dsmlp_status check_gated_act(const dsmlp_graph *g, const char *op, dsmlp_act act)
{
    if ((unsigned)act >= DSMLP_ACT_COUNT)
        return dsmlpB_err_set(g->ctx, DSMLP_ERR_INVALID_ARG, "%s: unknown activation %d (gelu_tanh, gelu_erf, relu or silu)",
                       op, (int)act);
    return DSMLP_OK;
}

dsmlp_status dsmlp_gated(dsmlp_graph *g, dsmlp_value x, dsmlp_act act, dsmlp_value *out)
{
    ENTER(g, out, "gated");
    TRY(check_gated_act(g, "gated", act));
    TRY(need_act(g, "gated", "x", x));
    const graph_node *xn = &g->nodes[x];
    if (xn->dims[1] % 2 != 0) {
        char s[GRAPH_DESC_MAX];
        return dsmlpB_err_set(g->ctx, DSMLP_ERR_SHAPE,
                       "gated: x is %s: width %lld is odd; gated needs [T,2m] (up half, then gate half)",
                       dsmlpC_graph_shape_str(xn, s), (long long)xn->dims[1]);
    }
    graph_node v = act_node(DSMLP_OP_GATED, xn->dtype, xn->dims[1] / 2);
    v.nsrc = 1;
    v.src[0] = x;
    v.act = act;
    return append(g, "gated", &v, out);
}

dsmlp_status dsmlp_gated_pair(dsmlp_graph *g, dsmlp_value up, dsmlp_value gate, dsmlp_act act, dsmlp_value *out)
{
    ENTER(g, out, "gated");
    TRY(check_gated_act(g, "gated", act));
    TRY(need_act(g, "gated", "up", up));
    TRY(need_act(g, "gated", "gate", gate));
    const graph_node *un = &g->nodes[up], *gn = &g->nodes[gate];
    char s1[GRAPH_DESC_MAX], s2[GRAPH_DESC_MAX];
    if (un->dims[1] != gn->dims[1])
        return dsmlpB_err_set(g->ctx, DSMLP_ERR_SHAPE, "gated: up is %s but gate is %s: widths differ",
                       dsmlpC_graph_shape_str(un, s1), dsmlpC_graph_shape_str(gn, s2));
    if (un->dtype != gn->dtype)
        return dsmlpB_err_set(g->ctx, DSMLP_ERR_DTYPE, "gated: up is %s but gate is %s: dtypes differ",
                       dsmlpC_graph_type_str(un, s1), dsmlpC_graph_type_str(gn, s2));
    graph_node v = act_node(DSMLP_OP_GATED, un->dtype, un->dims[1]);
    v.nsrc = 2;
    v.src[0] = up;
    v.src[1] = gate;
    v.act = act;
    return append(g, "gated", &v, out);
}

dsmlp_status dsmlp_dequant(dsmlp_graph *g, dsmlp_value wq, dsmlp_value scales, int64_t groups, dsmlp_dtype dt,
                           dsmlp_value *out)
{
    ENTER(g, out, "dequant");
    TRY(check_id(g, "dequant", "wq", wq));
    const graph_node *wn = &g->nodes[wq];
    char s1[KIND_MAX], s2[GRAPH_DESC_MAX];
    if (wn->op != DSMLP_OP_PARAM || wn->rank != 2)
        return dsmlpB_err_set(g->ctx, DSMLP_ERR_INVALID_ARG, "dequant: wq is %%%d, %s, not a param matrix", (int)wq,
                       kind_str(wn, s1));
    if (!dsmlpB_dtype_is_code(wn->dtype))
        return dsmlpB_err_set(g->ctx, DSMLP_ERR_DTYPE, "dequant: wq is %s: it must be i8 or fp8", dsmlpC_graph_type_str(wn, s1));
    if (wn->layout != DSMLP_LAYOUT_OUT_IN)
        return dsmlpB_err_set(g->ctx, DSMLP_ERR_INVALID_ARG,
                       "dequant: wq is %s: quantized weights must be stored [out,in] (groups are blocks of output "
                       "rows)",
                       dsmlpC_graph_shape_str(wn, s1));
    TRY(need_vec(g, "dequant", "scales", scales));
    const graph_node *sn = &g->nodes[scales];
    if (sn->dtype != DSMLP_F32 && sn->dtype != DSMLP_F16)
        return dsmlpB_err_set(g->ctx, DSMLP_ERR_DTYPE, "dequant: scales is %s: it must be f32 or f16",
                       dsmlpC_graph_type_str(sn, s2));
    if (groups <= 0)
        return dsmlpB_err_set(g->ctx, DSMLP_ERR_INVALID_ARG, "dequant: groups = %lld; it must be > 0", (long long)groups);
    if (wn->dims[0] % groups != 0)
        return dsmlpB_err_set(g->ctx, DSMLP_ERR_SHAPE, "dequant: wq is %s with %lld rows, which groups = %lld does not divide",
                       dsmlpC_graph_shape_str(wn, s1), (long long)wn->dims[0], (long long)groups);
    if (sn->dims[0] != groups)
        return dsmlpB_err_set(g->ctx, DSMLP_ERR_SHAPE, "dequant: scales is %s (%lld scales) but groups = %lld: sizes differ",
                       dsmlpC_graph_shape_str(sn, s2), (long long)sn->dims[0], (long long)groups);
    if ((unsigned)dt >= DSMLP_DTYPE_COUNT)
        return dsmlpB_err_set(g->ctx, DSMLP_ERR_INVALID_ARG, "dequant: unknown result dtype %d", (int)dt);
    if (!is_float(dt))
        return dsmlpB_err_set(g->ctx, DSMLP_ERR_DTYPE, "dequant: result dtype %s; it must be f32, f16 or bf16",
                       dsmlp_dtype_name(dt));
    graph_node v = node_init(DSMLP_OP_DEQUANT);
    v.dtype = dt;
    v.rank = 2;
    v.dims[0] = wn->dims[0];
    v.dims[1] = wn->dims[1];
    v.layout = wn->layout;
    v.groups = groups;
    v.nsrc = 2;
    v.src[0] = wq;
    v.src[1] = scales;
    return append(g, "dequant", &v, out);
}

dsmlp_status dsmlp_all_reduce(dsmlp_graph *g, dsmlp_value x, dsmlp_value *out)
{
    ENTER(g, out, "all_reduce");
    TRY(need_act(g, "all_reduce", "x", x));
    const graph_node *xn = &g->nodes[x];
    graph_node v = act_node(DSMLP_OP_ALL_REDUCE, xn->dtype, xn->dims[1]);
    v.nsrc = 1;
    v.src[0] = x;
    return append(g, "all_reduce", &v, out);
}

dsmlp_status dsmlp_output(dsmlp_graph *g, const char *name, dsmlp_value x)
{
    if (!g) return DSMLP_ERR_INVALID_ARG;
    TRY(check_name(g, "output", name));
    TRY(need_act(g, "output", "x", x));
    const graph_node *xn = &g->nodes[x];
    graph_node v = act_node(DSMLP_OP_OUTPUT, xn->dtype, xn->dims[1]);
    v.nsrc = 1;
    v.src[0] = x;
    strcpy(v.name, name);
    return append(g, "output", &v, NULL);
}
