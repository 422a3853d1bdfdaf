/* fuse_match.c — which graph patterns fuse (predicates; nothing changes here). */
#include "fuse_int.h"

#include <string.h>

int dsmlpC_fuse_is_act(dsmlp_op op)
{
    return op == DSMLP_OP_GELU_TANH || op == DSMLP_OP_GELU_ERF || op == DSMLP_OP_RELU || op == DSMLP_OP_SILU;
}

int dsmlpC_fuse_is_ew(dsmlp_op op)
{
    return op == DSMLP_OP_ADD || op == DSMLP_OP_BIAS || op == DSMLP_OP_SCALE || dsmlpC_fuse_is_act(op);
}

int dsmlpC_fuse_is_sum(dsmlp_op op) { return op == DSMLP_OP_ADD || op == DSMLP_OP_BIAS; }
int dsmlpC_fuse_is_vec(const fz *z, int v) { return !z->r->vals[v].tokens; }
int dsmlpC_fuse_sole_user(const fz *z, int v) { return z->uses[v] == 1 ? z->user[v] : -1; }

int dsmlpC_fuse_flatten_sum(const fz *z, int v, int root, int *terms, int *nterms, int max, int *inner, int *ninner)
{
    if (dsmlpC_fuse_is_sum(fz_op(z, v)) && z->claim[v] < 0 && (root || z->uses[v] == 1)) {
        if (*ninner == FUSE_MAX_NODES) return -1;
        inner[(*ninner)++] = v;
        for (int i = 0; i < fz_node(z, v)->nsrc; i++)
            if (dsmlpC_fuse_flatten_sum(z, fz_node(z, v)->src[i], 0, terms, nterms, max, inner, ninner) < 0) return -1;
        return 0;
    }
    if (*nterms == max) return -1;
    terms[(*nterms)++] = v;
    return 0;
}

int dsmlpC_fuse_sub_terms(const int *a, int na, const int *b, int nb, int *rest, int *nrest)
{
    int used[FUSE_MAX_TERMS] = {0};
    for (int i = 0; i < na; i++) {
        int j;
        for (j = 0; j < nb; j++)
            if (!used[j] && b[j] == a[i]) break;
        if (j == nb) return 0;
        used[j] = 1;
    }
    *nrest = 0;
    for (int j = 0; j < nb; j++)
        if (!used[j]) rest[(*nrest)++] = b[j];
    return 1;
}

/* cuBLASLt's activation epilogues: ReLU and tanh-GELU (on dequantized weights too: the mixed-input GEMM variant
** applies them in its own epilogue, which saves the [T, n] round trip of a separate kernel). */
static int epi_act_ok(dsmlp_op a, int int8) { return (void)int8, a == DSMLP_OP_RELU || a == DSMLP_OP_GELU_TANH; }

static int unclaimed_act(const fz *z, int v) { return v >= 0 && dsmlpC_fuse_is_act(fz_op(z, v)) && z->claim[v] < 0; }

fuse_tail dsmlpC_fuse_match_tail(const fz *z, int m, int int8)
{
    fuse_tail t = {TAIL_NONE, -1, -1, DSMLP_OP_COUNT};
    dsmlp_dtype dt = fz_node(z, m)->dtype;
    int u = dsmlpC_fuse_sole_user(z, m);
    if (u >= 0 && fz_op(z, u) == DSMLP_OP_BIAS && fz_node(z, u)->src[0] == m && z->claim[u] < 0 &&
        fz_node(z, fz_node(z, u)->src[1])->dtype == dt) {
        int u2 = dsmlpC_fuse_sole_user(z, u);
        dsmlp_op o2 = u2 >= 0 ? fz_op(z, u2) : DSMLP_OP_COUNT;
        t.bias_node = u;
        if (unclaimed_act(z, u2)) {
            t.act = o2;
            t.kind = epi_act_ok(o2, int8) ? TAIL_BIAS_ACT : TAIL_BIAS_ACT_KERNEL;
            t.act_node = t.kind == TAIL_BIAS_ACT ? u2 : -1;
            if (t.kind != TAIL_BIAS_ACT) t.bias_node = -1;
        } else if (o2 == DSMLP_OP_GATED) {
            t.kind = TAIL_BIAS_GATED, t.bias_node = -1;
        } else if (o2 == DSMLP_OP_SCALE) {
            t.kind = TAIL_BIAS_SCALE, t.bias_node = -1;
        } else {
            t.kind = TAIL_BIAS;
        }
    } else if (unclaimed_act(z, u)) {
        t.act = fz_op(z, u);
        t.kind = epi_act_ok(t.act, int8) ? TAIL_ACT : TAIL_ACT_KERNEL;
        t.act_node = t.kind == TAIL_ACT ? u : -1;
    } else if (u >= 0 && fz_op(z, u) == DSMLP_OP_GATED) {
        t.kind = TAIL_GATED;
    }
    return t;
}

int dsmlpC_fuse_tail_open(fuse_tail_kind k) { return k == TAIL_NONE || k == TAIL_BIAS; }

void dsmlpC_fuse_match_residual(const fz *z, int cur, dsmlp_dtype dt, int bias, fuse_residual *res)
{
    memset(res, 0, sizeof *res);
    res->bias = bias;
    int top = cur;
    for (;;) {
        int t = dsmlpC_fuse_sole_user(z, top);
        if (t < 0 || z->claim[t] >= 0 || !dsmlpC_fuse_is_sum(fz_op(z, t))) break;
        if (fz_op(z, t) == DSMLP_OP_BIAS && fz_node(z, t)->src[0] != top) break;
        top = t;
    }
    res->top = top;
    if (top == cur) return;
    int terms[FUSE_MAX_TERMS], nterms = 0, self = 0;
    int ok = dsmlpC_fuse_flatten_sum(z, top, 1, terms, &nterms, FUSE_MAX_TERMS, res->inner, &res->ninner) == 0;
    for (int i = 0; ok && i < nterms; i++) {
        if (terms[i] == cur && !self) { self = 1; continue; }
        if (z->r->vals[terms[i]].dtype != dt) ok = 0;
        if (dsmlpC_fuse_is_vec(z, terms[i])) res->vecs[res->nv++] = terms[i];
        else res->tens[res->nt++] = terms[i];
    }
    ok = ok && self;
    if (ok && res->bias < 0 && res->nv > 0) {
        res->bias = res->vecs[0];
        memmove(res->vecs, res->vecs + 1, (size_t)(--res->nv) * sizeof *res->vecs);
    }
    if (ok && res->nt == 0 && res->nv > 0) ok = 0, res->vec_only = 1;
    res->ok = ok;
}

int dsmlpC_fuse_gated_bias(const fz *z, int x)
{
    return fz_op(z, x) == DSMLP_OP_BIAS && z->claim[x] < 0 && z->uses[x] == 1;
}

int dsmlpC_fuse_ew_inner(const fz *z, int v)
{
    return z->claim[v] < 0 && dsmlpC_fuse_is_ew(fz_op(z, v)) && z->uses[v] == 1;
}

int dsmlpC_fuse_ew_count(const fz *z, int v)
{
    if (!dsmlpC_fuse_ew_inner(z, v)) return 1;
    int n = 0;
    for (int i = 0; i < fz_node(z, v)->nsrc; i++) n += dsmlpC_fuse_ew_count(z, fz_node(z, v)->src[i]);
    return n;
}

plan_kernel_kind dsmlpC_fuse_ew_kind(const fz *z, const fuse_group *G)
{
    int sums = 1, acts = 0, other = 0;
    for (int i = 0; i < G->nnodes; i++) {
        dsmlp_op o = fz_op(z, G->nodes[i]);
        sums &= dsmlpC_fuse_is_sum(o);
        acts += dsmlpC_fuse_is_act(o);
        other += o == DSMLP_OP_SCALE || o == DSMLP_OP_ADD;
    }
    const graph_node *R = fz_node(z, G->ew.root);
    int act_shape = dsmlpC_fuse_is_act(R->op) && acts == 1 && !other &&
                    (G->nnodes == 1 || (G->nnodes == 2 && fz_op(z, R->src[0]) == DSMLP_OP_BIAS));
    return act_shape ? KERN_ACT : sums ? KERN_RESIDUAL : KERN_ELEMWISE;
}
