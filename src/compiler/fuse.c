/*
** fuse.c — the fusion pass's rewriting (see fuse.h, fuse_int.h): anchors
** first, the element-wise rest after; each group made from what
** fuse_match.c says fuses, explained by fuse_explain.c. Groups live in a
** growing array: code names them by index and takes a pointer only between
** two group creations.
*/
#include "fuse_int.h"
#include "error.h"
#include "grow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int dsmlpC_fuse_storage(const fuse_result *r, int v)
{
    while (v >= 0 && r->vals[v].alias >= 0) v = r->vals[v].alias;
    return v;
}

static int new_value(fz *z, const fuse_value *like_in)
{
    fuse_result *r = z->r;
    fuse_value like_copy = *like_in, *like = &like_copy;
    if (dsmlpB_grow((void **)&r->vals, &r->capvals, r->nvals, sizeof *r->vals)) return -1;
    fuse_value *v = &r->vals[r->nvals];
    *v = *like;
    v->external = 0, v->producer = -1, v->alias = -1, v->output = -1;
    return r->nvals++;
}

/* A new group's index, or -1 (out of memory). The array may move: pointers into it die here. */
static int new_group(fz *z, fuse_kind kind, int order)
{
    fuse_result *r = z->r;
    if (dsmlpB_grow((void **)&r->groups, &r->capgroups, r->ngroups, sizeof *r->groups)) return -1;
    fuse_group *G = &r->groups[r->ngroups];
    memset(G, 0, sizeof *G);
    G->kind = kind, G->order = order, G->seq = r->ngroups;
    G->out = G->side = -1;
    switch (kind) {
    case FG_NORM: G->norm.gamma = G->norm.beta = -1; break;
    case FG_GEMM: G->gemm.x = G->gemm.w = G->gemm.bias = G->gemm.c = -1; break;
    case FG_EW: G->ew.root = -1; break;
    case FG_GATED: G->gated.in = G->gated.in2 = G->gated.bias = G->gated.bias2 = -1; break;
    case FG_DEQUANT: G->deq.q = G->deq.scales = -1; break;
    case FG_ALL_REDUCE: G->ar.in = -1; break;
    }
    return r->ngroups++;
}

static void absorb(fz *z, int gi, int v)
{
    fuse_group *G = fz_group(z, gi);
    if (G->nnodes < FUSE_MAX_NODES) G->nodes[G->nnodes++] = v;
    z->claim[v] = gi;
}

static void set_out(fz *z, int gi, int v)
{
    fz_group(z, gi)->out = v;
    z->r->vals[v].producer = gi;
}

static dsmlp_status nomem(fz *z) { return dsmlpB_err_set(z->ctx, DSMLP_ERR_NOMEM, "fuse: out of memory"); }

/* ------------------------------------------------------------------ norm */

static dsmlp_status fuse_norm(fz *z, int n)
{
    const graph_node *N = fz_node(z, n);
    int gi = new_group(z, FG_NORM, n);
    if (gi < 0) return nomem(z);
    fuse_group *G = fz_group(z, gi);
    G->norm.op = N->op, G->norm.eps = N->attr, G->norm.gamma = N->src[1];
    G->norm.gamma_offset = N->op == DSMLP_OP_RMSNORM ? N->offset : 0.0;
    G->norm.beta = (N->op == DSMLP_OP_LAYERNORM && N->nsrc > 2) ? N->src[2] : -1;
    int x = N->src[0], inner[FUSE_MAX_NODES], ninner = 0;
    if (dsmlpC_fuse_flatten_sum(z, x, 1, G->norm.terms, &G->norm.nterms, 6, inner, &ninner) < 0) {
        /* Too many addends for one kernel: the sum becomes its own kernel. */
        G->norm.nterms = 0, ninner = 0;
        G->norm.terms[G->norm.nterms++] = x;
        dsmlpC_fuse_appendf(G->why, sizeof G->why, "the sum feeding %s has too many addends -> separate kernel; ",
                     dsmlp_op_name(N->op));
    }
    for (int i = ninner - 1; i >= 0; i--) absorb(z, gi, inner[i]);
    absorb(z, gi, n);
    set_out(z, gi, n);
    if (ninner) {
        dsmlpC_fuse_appendf(G->why, sizeof G->why, "%d addend(s) feeding %s fused into one norm kernel", G->norm.nterms,
                     dsmlp_op_name(N->op));
        if (z->uses[x] > 1) {
            G->side = x;
            z->r->vals[x].producer = gi;
            dsmlpC_fuse_appendf(G->why, sizeof G->why, "; it also writes the sum %%%d, which a later step reads", x);
        }
    } else {
        char tt[128];
        dsmlpC_fuse_terms_text(z, &x, 1, tt, sizeof tt);
        dsmlpC_fuse_appendf(G->why, sizeof G->why, "%s of %s (no add before it to fuse)", dsmlp_op_name(N->op), tt);
    }
    return DSMLP_OK;
}

/* ------------------------------------------------------------------ gemm */

/* The residual terms of a GEMM as one tensor: a norm that runs before the
** GEMM writes their sum as its side output when it can, else a kernel. */
static int presum(fz *z, int gemm, const int *terms, int nterms, char *why, size_t cap)
{
    int all_ext = 1, gemm_order = fz_group(z, gemm)->order, gemm_node = fz_group(z, gemm)->nodes[0];
    for (int i = 0; i < nterms; i++) all_ext &= z->r->vals[terms[i]].external;
    for (int gi = 0; all_ext && gi < z->r->ngroups; gi++) {
        fuse_group *N = fz_group(z, gi);
        if (N->kind != FG_NORM || N->order > gemm_order) continue;
        int ext = 1;
        for (int i = 0; i < N->norm.nterms; i++) ext &= z->r->vals[N->norm.terms[i]].external;
        int rest[FUSE_MAX_TERMS], nrest;
        if (!ext || !dsmlpC_fuse_sub_terms(N->norm.terms, N->norm.nterms, terms, nterms, rest, &nrest)) continue;
        if (N->side >= 0 && nrest == 0) {
            dsmlpC_fuse_appendf(why, cap, "the residual terms equal the sum the norm (step of %%%d) already writes",
                         N->out);
            return N->side;
        }
        if (N->side >= 0 || N->norm.nterms + nrest > FUSE_MAX_TERMS) continue;
        int v = new_value(z, &z->r->vals[N->out]);
        if (v < 0) return -1;
        memcpy(N->norm.extra, rest, (size_t)nrest * sizeof *rest);
        N->norm.nextra = nrest;
        N->side = v;
        z->r->vals[v].producer = gi;
        z->r->vals[v].dtype = z->r->vals[terms[0]].dtype;
        char tt[256];
        dsmlpC_fuse_terms_text(z, terms, nterms, tt, sizeof tt);
        dsmlpC_fuse_appendf(N->why, sizeof N->why, "; it also writes %s (GEMM %%%d's residual C)", tt, gemm_node);
        dsmlpC_fuse_appendf(why, cap, "the %d residual terms are pre-summed by the norm kernel of %%%d", nterms, N->out);
        return v;
    }
    /* A residual-sum kernel, placed as soon as its terms exist. */
    int first_tensor = -1, order = 0;
    for (int i = 0; i < nterms; i++) {
        if (!dsmlpC_fuse_is_vec(z, terms[i]) && first_tensor < 0) first_tensor = terms[i];
        if (terms[i] < z->g->n && terms[i] > order) order = terms[i];
    }
    int ri = new_group(z, FG_EW, order);
    int v = ri < 0 ? -1 : new_value(z, &z->r->vals[first_tensor]);
    if (v < 0) return -1;
    fuse_group *G = fz_group(z, ri);
    memcpy(G->ew.terms, terms, (size_t)nterms * sizeof *terms);
    G->ew.nterms = nterms;
    G->ew.kind = KERN_RESIDUAL;
    char tt[256];
    dsmlpC_fuse_terms_text(z, terms, nterms, tt, sizeof tt);
    dsmlpC_fuse_appendf(G->why, sizeof G->why, "sums %s so GEMM %%%d's epilogue reads one C tensor", tt, gemm_node);
    set_out(z, ri, v);
    dsmlpC_fuse_appendf(why, cap, "the %d residual terms are pre-summed by a residual kernel (no norm can carry them)",
                 nterms);
    return v;
}

static dsmlp_status fuse_gemm(fz *z, int m)
{
    const graph_node *M = fz_node(z, m);
    int g = new_group(z, FG_GEMM, m);
    if (g < 0) return nomem(z);
    fz_group(z, g)->gemm.x = M->src[0], fz_group(z, g)->gemm.w = M->src[1];
    int int8 = fz_op(z, M->src[1]) == DSMLP_OP_DEQUANT;
    char why[PLAN_TEXT_MAX] = "";
    absorb(z, g, m);
    int cur = m;
    fuse_tail t = dsmlpC_fuse_match_tail(z, m, int8);
    dsmlpC_fuse_tail_why(why, sizeof why, &t, int8);
    if (t.bias_node >= 0) {
        fz_group(z, g)->gemm.bias = fz_node(z, t.bias_node)->src[1];
        fz_group(z, g)->gemm.epi = EPI_BIAS;
        absorb(z, g, t.bias_node);
        cur = t.bias_node;
    }
    if (t.act_node >= 0) {
        fz_group(z, g)->gemm.epi = t.kind == TAIL_BIAS_ACT ? (t.act == DSMLP_OP_RELU ? EPI_RELU_BIAS : EPI_GELU_BIAS)
                                                           : (t.act == DSMLP_OP_RELU ? EPI_RELU : EPI_GELU);
        absorb(z, g, t.act_node);
        cur = t.act_node;
    }
    if (dsmlpC_fuse_tail_open(t.kind) && z->residual_kernel) {
        dsmlpC_fuse_appendf(why, sizeof why, "%sresidual epilogue off (option residual_kernel) -> generated kernel",
                     *why ? "; " : "");
    } else if (dsmlpC_fuse_tail_open(t.kind)) {
        /* Residual: the add/bias tree this GEMM's value feeds. */
        fuse_residual res;
        dsmlpC_fuse_match_residual(z, cur, M->dtype, fz_group(z, g)->gemm.bias, &res);
        int c = -1;
        char pwhy[PLAN_TEXT_MAX] = "";
        if (res.ok && res.nt == 1 && res.nv == 0) {
            c = res.tens[0];
        } else if (res.ok && res.nt > 0) {
            int all[FUSE_MAX_TERMS], na = 0;
            for (int i = 0; i < res.nt; i++) all[na++] = res.tens[i];
            for (int i = 0; i < res.nv; i++) all[na++] = res.vecs[i];
            if ((c = presum(z, g, all, na, pwhy, sizeof pwhy)) < 0) return nomem(z);
        }
        if (res.ok) {
            for (int i = res.ninner - 1; i >= 0; i--) absorb(z, g, res.inner[i]);
            fuse_gemm_group *G = &fz_group(z, g)->gemm;
            if (G->epi == EPI_NONE && res.bias >= 0) G->epi = EPI_BIAS;
            G->bias = res.bias;
            G->c = c;
            cur = res.top;
        }
        dsmlpC_fuse_residual_why(why, sizeof why, &res, pwhy);
    }
    set_out(z, g, cur);
    if (!*why) snprintf(why, sizeof why, "plain GEMM (nothing to fuse after it)");
    dsmlpC_fuse_appendf(fz_group(z, g)->why, sizeof fz_group(z, g)->why, "%s", why);
    return DSMLP_OK;
}

/* ---------------------------------------------------- gated, dequant, all-reduce */

static dsmlp_status fuse_gated(fz *z, int q)
{
    int gi = new_group(z, FG_GATED, q);
    if (gi < 0) return nomem(z);
    fuse_group *G = fz_group(z, gi);
    const graph_node *Q = fz_node(z, q);
    int x = Q->src[0];
    G->gated.act = Q->act;
    if (Q->nsrc == 2) {
        /* Up and gate apart: both biases go into the kernel, or neither
        ** (one stays its own step), so the kernel has one bias form. */
        int up = Q->src[0], gate = Q->src[1];
        if (up != gate && dsmlpC_fuse_gated_bias(z, up) && dsmlpC_fuse_gated_bias(z, gate)) {
            G->gated.in = fz_node(z, up)->src[0], G->gated.bias = fz_node(z, up)->src[1];
            G->gated.in2 = fz_node(z, gate)->src[0], G->gated.bias2 = fz_node(z, gate)->src[1];
            absorb(z, gi, up), absorb(z, gi, gate);
            dsmlpC_fuse_appendf(G->why, sizeof G->why, "biases + gated activation of separate up and gate in one generated kernel");
        } else {
            G->gated.in = up, G->gated.in2 = gate;
            dsmlpC_fuse_appendf(G->why, sizeof G->why, "gated activation of separate up and gate in one generated kernel");
        }
    } else if (dsmlpC_fuse_gated_bias(z, x)) {
        G->gated.in = fz_node(z, x)->src[0], G->gated.bias = fz_node(z, x)->src[1];
        absorb(z, gi, x);
        dsmlpC_fuse_appendf(G->why, sizeof G->why, "bias + gated activation in one generated kernel");
    } else {
        G->gated.in = x;
        dsmlpC_fuse_appendf(G->why, sizeof G->why, "gated activation in one generated kernel");
    }
    absorb(z, gi, q);
    set_out(z, gi, q);
    return DSMLP_OK;
}

static dsmlp_status fuse_dequant(fz *z, int d)
{
    int gi = new_group(z, FG_DEQUANT, d);
    if (gi < 0) return nomem(z);
    fuse_group *G = fz_group(z, gi);
    G->deq.q = fz_node(z, d)->src[0], G->deq.scales = fz_node(z, d)->src[1], G->deq.groups = fz_node(z, d)->groups;
    absorb(z, gi, d);
    set_out(z, gi, d);
    dsmlpC_fuse_appendf(G->why, sizeof G->why, "%s weight x %lld group scale(s) -> %s weight in the workspace",
                        fz_node(z, G->deq.q)->dtype == DSMLP_FP8_E4M3 ? "fp8" : "int8", (long long)G->deq.groups,
                        dsmlp_dtype_name(fz_node(z, d)->dtype));
    return DSMLP_OK;
}

/* A group copying src into a new value *outv; its index, or -1. */
static int copy_group(fz *z, int src, int order, int *outv)
{
    int gi = new_group(z, FG_EW, order);
    int v = gi < 0 ? -1 : new_value(z, &z->r->vals[src]);
    if (v < 0) return -1;
    fuse_group *G = fz_group(z, gi);
    G->ew.terms[0] = src, G->ew.nterms = 1, G->ew.kind = KERN_ELEMWISE;
    set_out(z, gi, v);
    *outv = v;
    return gi;
}

static dsmlp_status fuse_all_reduce(fz *z, int a)
{
    int x = fz_node(z, a)->src[0];
    int ext = z->r->vals[x].external;
    int in = x;
    if (ext || z->uses[x] != 1) {
        /* In place would clobber a value someone else still reads. */
        int ci = copy_group(z, x, a, &in);
        if (ci < 0) return nomem(z);
        dsmlpC_fuse_appendf(fz_group(z, ci)->why, sizeof fz_group(z, ci)->why,
                            "copies %%%d so all_reduce %%%d can run in place (%s)", x, a,
                            ext ? "it is an input" : "it has other users");
    }
    int gi = new_group(z, FG_ALL_REDUCE, a);
    if (gi < 0) return nomem(z);
    fuse_group *G = fz_group(z, gi);
    G->ar.in = in;
    absorb(z, gi, a);
    G->out = a;
    z->r->vals[a].alias = in;
    z->r->vals[a].producer = gi;
    dsmlpC_fuse_appendf(G->why, sizeof G->why, "in place on the buffer of %%%d, after every step that writes it", x);
    return DSMLP_OK;
}

/* ------------------------------------------------------ element-wise rest */

/* Absorbs v and the single-use element-wise ops under it while the kernel
** keeps at most EW_MAX_LEAVES inputs; a subtree that does not fit stays out
** (it becomes its own kernel). Returns the leaves used. */
static int ew_collect(fz *z, int gi, int v, int budget)
{
    absorb(z, gi, v);
    int used = 0, n = fz_node(z, v)->nsrc;
    for (int i = 0; i < n; i++) {
        int c = fz_node(z, v)->src[i], left = budget - used - (n - 1 - i); /* keep one per later operand */
        if (dsmlpC_fuse_ew_inner(z, c) && fz_group(z, gi)->nnodes < FUSE_MAX_NODES && dsmlpC_fuse_ew_count(z, c) <= left)
            used += ew_collect(z, gi, c, left);
        else
            used += 1;
    }
    return used;
}

static int cmp_int(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

static dsmlp_status fuse_ew(fz *z, int v)
{
    int gi = new_group(z, FG_EW, v);
    if (gi < 0) return nomem(z);
    fuse_group *G = fz_group(z, gi);
    G->ew.root = v;
    ew_collect(z, gi, v, EW_MAX_LEAVES);
    qsort(G->nodes, (size_t)G->nnodes, sizeof *G->nodes, cmp_int);
    set_out(z, gi, v);
    G->ew.kind = dsmlpC_fuse_ew_kind(z, G);
    dsmlpC_fuse_ew_why(z, G);
    return DSMLP_OK;
}

/* ------------------------------------------------------------------ order */

static int group_reads(const fuse_group *G, int *in, int max)
{
    int n = 0;
#define R_(v) do { if ((v) >= 0 && n < max) in[n++] = (v); } while (0)
    switch (G->kind) {
    case FG_NORM:
        R_(G->norm.gamma); R_(G->norm.beta);
        for (int i = 0; i < G->norm.nterms; i++) R_(G->norm.terms[i]);
        for (int i = 0; i < G->norm.nextra; i++) R_(G->norm.extra[i]);
        break;
    case FG_GEMM: R_(G->gemm.x); R_(G->gemm.w); R_(G->gemm.bias); R_(G->gemm.c); break;
    case FG_EW:
        for (int i = 0; i < G->ew.nterms; i++) R_(G->ew.terms[i]);
        break; /* expression leaves are added by the caller */
    case FG_GATED: R_(G->gated.in); R_(G->gated.bias); R_(G->gated.in2); R_(G->gated.bias2); break;
    case FG_DEQUANT: R_(G->deq.q); R_(G->deq.scales); break;
    case FG_ALL_REDUCE: R_(G->ar.in); break;
    }
#undef R_
    return n;
}

static int ew_leaves(const fz *z, int gi, int *in, int n, int max)
{
    const fuse_group *G = fz_group(z, gi);
    for (int i = 0; i < G->nnodes; i++) {
        const graph_node *v = fz_node(z, G->nodes[i]);
        for (int s = 0; s < v->nsrc; s++)
            if (z->claim[v->src[s]] != gi && n < max) in[n++] = v->src[s];
    }
    return n;
}

static dsmlp_status order_groups(fz *z)
{
    fuse_result *r = z->r;
    int ng = r->ngroups;
    int *done = calloc((size_t)ng + 1, sizeof *done);
    r->order = malloc(((size_t)ng + 1) * sizeof *r->order);
    if (!done || !r->order) {
        free(done);
        return nomem(z);
    }
    for (int k = 0; k < ng; k++) {
        int best = -1;
        for (int gi = 0; gi < ng; gi++) {
            if (done[gi]) continue;
            const fuse_group *G = &r->groups[gi];
            int in[64], n = group_reads(G, in, 64), ready = 1;
            if (G->kind == FG_EW && G->ew.root >= 0) n = ew_leaves(z, gi, in, n, 64);
            for (int i = 0; i < n && ready; i++) {
                int p = r->vals[in[i]].producer;
                if (p >= 0 && p != gi && !done[p]) ready = 0;
            }
            /* Reads of a value that a later in-place all_reduce rewrites are
            ** excluded by construction (in place only with a single user). */
            if (!ready) continue;
            if (best < 0 || G->order < r->groups[best].order ||
                (G->order == r->groups[best].order && G->seq < r->groups[best].seq))
                best = gi;
        }
        if (best < 0) {
            free(done);
            return dsmlpB_err_set(z->ctx, DSMLP_ERR_UNSUPPORTED, "fuse: the fused steps of graph '%s' form a cycle",
                           z->g->name);
        }
        done[best] = 1;
        r->order[k] = best;
    }
    free(done);
    return DSMLP_OK;
}

/* ---------------------------------------------------------------- outputs */

static dsmlp_status fuse_outputs(fz *z)
{
    for (int o = 0; o < z->g->n; o++) {
        if (fz_node(z, o)->op != DSMLP_OP_OUTPUT) continue;
        int x = fz_node(z, o)->src[0], s = dsmlpC_fuse_storage(z->r, x);
        int ext = z->r->vals[s].external;
        if (!ext && z->r->vals[s].output < 0) {
            z->r->vals[s].output = o;
            z->r->vals[o].alias = x;
            continue;
        }
        int v, ci = copy_group(z, x, o, &v);
        if (ci < 0) return nomem(z);
        dsmlpC_fuse_appendf(fz_group(z, ci)->why, sizeof fz_group(z, ci)->why, "copies %%%d into output '%s' (%s)", x,
                            fz_node(z, o)->name, ext ? "it is an input or parameter" : "it is already another output");
        z->r->vals[v].output = o;
        z->r->vals[o].alias = v;
    }
    return DSMLP_OK;
}

/* ------------------------------------------------------------------ entry */

static void init_values(fz *z)
{
    for (int v = 0; v < z->g->n; v++) {
        const graph_node *n = fz_node(z, v);
        fuse_value *fv = &z->r->vals[v];
        memset(fv, 0, sizeof *fv);
        fv->dtype = n->dtype, fv->tokens = n->tokens, fv->layout = n->layout;
        if (n->tokens) fv->rows = 0, fv->cols = n->dims[1];
        else if (n->rank == 1) fv->rows = 1, fv->cols = n->dims[0];
        else fv->rows = n->dims[0], fv->cols = n->dims[1];
        fv->external = n->op == DSMLP_OP_INPUT || n->op == DSMLP_OP_PARAM;
        fv->producer = fv->alias = fv->output = -1;
    }
    z->r->nvals = z->g->n;
}

dsmlp_status dsmlpC_fuse_graph(dsmlp_ctx *ctx, const dsmlp_graph *g, int residual_kernel, fuse_result *r)
{
    memset(r, 0, sizeof *r);
    r->g = g;
    int n = g->n;
    fz z = {ctx, g, r, NULL, NULL, NULL, NULL, residual_kernel};
    z.live = calloc((size_t)n + 1, sizeof(int));
    z.uses = calloc((size_t)n + 1, sizeof(int));
    z.user = calloc((size_t)n + 1, sizeof(int));
    z.claim = calloc((size_t)n + 1, sizeof(int));
    r->vals = calloc((size_t)n + 8, sizeof *r->vals);
    r->capvals = n + 8;
    dsmlp_status s = DSMLP_OK;
    if (!z.live || !z.uses || !z.user || !z.claim || !r->vals) {
        s = nomem(&z);
        goto done;
    }
    init_values(&z);
    /* Liveness: what an output depends on. */
    int outputs = 0;
    for (int v = n - 1; v >= 0; v--) {
        if (g->nodes[v].op == DSMLP_OP_OUTPUT) z.live[v] = 1, outputs++;
        if (!z.live[v]) continue;
        for (int i = 0; i < g->nodes[v].nsrc; i++) {
            int src = g->nodes[v].src[i];
            if (src < 0) continue;
            z.live[src] = 1, z.uses[src]++, z.user[src] = v;
        }
    }
    if (!outputs) {
        s = dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "graph '%s' has no output: nothing to compile", g->name);
        goto done;
    }
    for (int v = 0; v < n; v++) z.claim[v] = -1;
    for (int v = 0; v < n; v++) {
        const graph_node *N = &g->nodes[v];
        if (!z.live[v]) {
            if (N->op != DSMLP_OP_INPUT && N->op != DSMLP_OP_PARAM)
                dsmlpC_fuse_appendf(r->notes, sizeof r->notes, "%%%d %s: result unused, not computed\n", v,
                             dsmlp_op_name(N->op));
            continue;
        }
        switch (N->op) {
        case DSMLP_OP_LAYERNORM: case DSMLP_OP_RMSNORM: s = fuse_norm(&z, v); break;
        case DSMLP_OP_MATMUL: if (z.claim[v] < 0) s = fuse_gemm(&z, v); break;
        case DSMLP_OP_GATED: s = fuse_gated(&z, v); break;
        case DSMLP_OP_DEQUANT: s = fuse_dequant(&z, v); break;
        case DSMLP_OP_ALL_REDUCE: s = fuse_all_reduce(&z, v); break;
        default: break;
        }
        if (s != DSMLP_OK) goto done;
    }
    /* Element-wise ops no anchor took: one kernel per value that must be stored. */
    for (int v = 0; v < n; v++) {
        if (!z.live[v] || z.claim[v] >= 0 || !dsmlpC_fuse_is_ew(g->nodes[v].op)) continue;
        int u = dsmlpC_fuse_sole_user(&z, v);
        int inner = u >= 0 && z.claim[u] < 0 && dsmlpC_fuse_is_ew(g->nodes[u].op);
        if (!inner && (s = fuse_ew(&z, v)) != DSMLP_OK) goto done;
    }
    /* Subtrees a kernel could not take (too many inputs) root their own. */
    for (int v = n - 1; v >= 0; v--)
        if (z.live[v] && z.claim[v] < 0 && dsmlpC_fuse_is_ew(g->nodes[v].op) && (s = fuse_ew(&z, v)) != DSMLP_OK) goto done;
    /* Never drop an op silently. */
    for (int v = 0; v < n; v++) {
        dsmlp_op o = g->nodes[v].op;
        if (!z.live[v] || z.claim[v] >= 0 || o == DSMLP_OP_INPUT || o == DSMLP_OP_PARAM || o == DSMLP_OP_OUTPUT)
            continue;
        s = dsmlpB_err_set(ctx, DSMLP_ERR_UNSUPPORTED, "the compiler cannot lower op %%%d %s of graph '%s'", v,
                    dsmlp_op_name(o), g->name);
        goto done;
    }
    if ((s = fuse_outputs(&z)) != DSMLP_OK) goto done;
    for (int gi = 0; gi < r->ngroups; gi++) dsmlpC_fuse_label(&r->groups[gi]);
    s = order_groups(&z);
done:
    r->uses = z.uses;
    free(z.live), free(z.user), free(z.claim);
    if (s != DSMLP_OK) dsmlpC_fuse_free(r);
    return s;
}

void dsmlpC_fuse_free(fuse_result *r)
{
    free(r->vals), free(r->groups), free(r->order), free(r->uses);
    r->vals = NULL, r->groups = NULL, r->order = NULL, r->uses = NULL;
    r->nvals = r->ngroups = 0;
}
