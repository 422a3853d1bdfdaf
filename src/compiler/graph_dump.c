/* graph_dump.c — graph introspection: value info, op names, listing, equality, use counts. */
#include "graph.h"
#include "error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const op_names[DSMLP_OP_COUNT] = {
    "input", "param", "add", "scale", "layernorm", "rmsnorm", "matmul", "bias",
    "gelu_tanh", "gelu_erf", "relu", "silu", "gated", "dequant", "all_reduce", "output",
};

static const char *const act_names[DSMLP_ACT_COUNT] = {"gelu_tanh", "gelu_erf", "relu", "silu"};

const char *dsmlp_op_name(dsmlp_op op) { return (unsigned)op < DSMLP_OP_COUNT ? op_names[op] : "?"; }

dsmlp_status dsmlp_value_get(const dsmlp_graph *g, dsmlp_value v, dsmlp_value_info *out)
{
    if (!g) return DSMLP_ERR_INVALID_ARG;
    if (!out) return dsmlpB_err_set(g->ctx, DSMLP_ERR_INVALID_ARG, "value_get: out is NULL");
    if (v < 0 || v >= g->n) {
        memset(out, 0, sizeof *out);
        out->name = "";
        out->src[0] = out->src[1] = out->src[2] = DSMLP_NONE;
        return dsmlpB_err_set(g->ctx, DSMLP_ERR_INVALID_ARG, "value_get: %%%d is not a value of graph \"%s\" (it has %d values)",
                       (int)v, g->name, g->n);
    }
    const graph_node *n = &g->nodes[v];
    out->op = n->op;
    out->dtype = n->dtype;
    out->tokens = n->tokens;
    out->rank = n->rank;
    out->dims[0] = n->dims[0];
    out->dims[1] = n->dims[1];
    out->layout = n->layout;
    out->name = n->name;   /* valid until the graph grows or is freed */
    out->nsrc = n->nsrc;
    memcpy(out->src, n->src, sizeof out->src);
    out->attr = n->attr;
    out->act = n->act;
    out->groups = n->groups;
    out->gamma_offset = n->offset;
    return DSMLP_OK;
}

int *dsmlpC_graph_use_counts(const dsmlp_graph *g)
{
    if (!g) return NULL;
    int *c = calloc(g->n > 0 ? (size_t)g->n : 1, sizeof *c);
    if (!c) return NULL;
    for (int i = 0; i < g->n; i++)
        for (int k = 0; k < g->nodes[i].nsrc; k++)
            if (g->nodes[i].src[k] >= 0) c[g->nodes[i].src[k]]++;
    return c;
}

/* Shortest %g form that reads back as the same double (1e-05, not 1.0000000000000001e-05). */
static void fmt_double(char *buf, size_t size, double x)
{
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, size, "%.*g", prec, x);
        if (strtod(buf, NULL) == x) return;
    }
}

static void dump_node(FILE *f, const dsmlp_graph *g, int i)
{
    const graph_node *n = &g->nodes[i];
    char num[32];
    fprintf(f, "%%%d = %s(", i, dsmlp_op_name(n->op));
    int first = 1;
    for (int k = 0; k < n->nsrc; k++) {
        fprintf(f, "%s%%%d", first ? "" : ", ", (int)n->src[k]);
        first = 0;
    }
    const char *sep = first ? "" : ", ";
    switch (n->op) {
    case DSMLP_OP_INPUT: case DSMLP_OP_PARAM: case DSMLP_OP_OUTPUT:
        fprintf(f, "%sname=\"%s\"", sep, n->name);
        break;
    case DSMLP_OP_SCALE:
        fmt_double(num, sizeof num, n->attr);
        fprintf(f, "%sc=%s", sep, num);
        break;
    case DSMLP_OP_LAYERNORM: case DSMLP_OP_RMSNORM:
        fmt_double(num, sizeof num, n->attr);
        fprintf(f, "%seps=%s", sep, num);
        if (n->offset != 0.0) {
            fmt_double(num, sizeof num, n->offset);
            fprintf(f, ", offset=%s", num);
        }
        break;
    case DSMLP_OP_GATED:
        fprintf(f, "%sact=%s", sep, (unsigned)n->act < DSMLP_ACT_COUNT ? act_names[n->act] : "?");
        break;
    case DSMLP_OP_DEQUANT:
        fprintf(f, "%sgroups=%lld", sep, (long long)n->groups);
        break;
    default:
        break;
    }
    fprintf(f, ") : %s", dsmlp_dtype_name(n->dtype));
    if (n->tokens)
        fprintf(f, "[T,%lld]\n", (long long)n->dims[1]);
    else if (n->rank == 1)
        fprintf(f, "[%lld]\n", (long long)n->dims[0]);
    else
        fprintf(f, "[%lld,%lld] %s\n", (long long)n->dims[0], (long long)n->dims[1], dsmlpC_graph_layout_name(n->layout));
}

dsmlp_status dsmlp_graph_dump(const dsmlp_graph *g, char **text)
{
    if (!g) return DSMLP_ERR_INVALID_ARG;
    if (!text) return dsmlpB_err_set(g->ctx, DSMLP_ERR_INVALID_ARG, "graph_dump: text is NULL");
    *text = NULL;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return dsmlpB_err_set(g->ctx, DSMLP_ERR_NOMEM, "graph_dump: out of memory");
    for (int i = 0; i < g->n; i++) dump_node(f, g, i);
    int bad = ferror(f);
    if (fclose(f) != 0 || bad || !buf) {
        free(buf);
        return dsmlpB_err_set(g->ctx, DSMLP_ERR_NOMEM, "graph_dump: out of memory listing %d values", g->n);
    }
    *text = buf;
    return DSMLP_OK;
}

static int node_equal(const graph_node *a, const graph_node *b)
{
    if (a->op != b->op || a->dtype != b->dtype || a->tokens != b->tokens || a->rank != b->rank) return 0;
    /* Only meaningful dims count (activations ignore dims[0], vectors dims[1]). */
    if (a->tokens ? a->dims[1] != b->dims[1]
                  : (a->dims[0] != b->dims[0] || (a->rank == 2 && a->dims[1] != b->dims[1])))
        return 0;
    if (!a->tokens && a->rank == 2 && a->layout != b->layout) return 0;
    if (a->nsrc != b->nsrc) return 0;
    for (int k = 0; k < a->nsrc; k++)
        if (a->src[k] != b->src[k]) return 0;
    if (memcmp(&a->attr, &b->attr, sizeof a->attr) != 0) return 0;   /* exact, bit for bit */
    if (memcmp(&a->offset, &b->offset, sizeof a->offset) != 0) return 0;
    if ((a->op == DSMLP_OP_GATED || a->op == DSMLP_OP_GELU_TANH || a->op == DSMLP_OP_GELU_ERF ||
         a->op == DSMLP_OP_RELU || a->op == DSMLP_OP_SILU) && a->act != b->act)
        return 0;
    if (a->groups != b->groups) return 0;
    return strcmp(a->name, b->name) == 0;
}

int dsmlp_graph_equal(const dsmlp_graph *a, const dsmlp_graph *b)
{
    if (!a || !b) return 0;
    if (a->n != b->n) return 0;
    for (int i = 0; i < a->n; i++)
        if (!node_equal(&a->nodes[i], &b->nodes[i])) return 0;
    return 1;
}
