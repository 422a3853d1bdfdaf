/* fuse.c — the fusion pass (see fuse.h): anchors first, element-wise rest after. */
#include "fuse.h"
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct fz {
    dsmlp_ctx         *ctx;
    const dsmlp_graph *g;
    fuse_result       *r;
    int               *live, *uses, *user, *claim;
    int                residual_kernel;   /* compile option: no beta·C residual */
} fz;

void dsmlpC_fuse_appendf(char *buf, size_t cap, const char *fmt, ...)
{
    size_t n = strlen(buf);
    if (n + 1 >= cap) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + n, cap - n, fmt, ap);
    va_end(ap);
}

int dsmlpC_fuse_storage(const fuse_result *r, int v)
{
    while (v >= 0 && r->vals[v].alias >= 0) v = r->vals[v].alias;
    return v;
}

static const graph_node *nd(const fz *z, int v) { return &z->g->nodes[v]; }
static dsmlp_op op_of(const fz *z, int v) { return v < z->g->n ? nd(z, v)->op : DSMLP_OP_COUNT; }

static int is_act(dsmlp_op op)
{
    return op == DSMLP_OP_GELU_TANH || op == DSMLP_OP_GELU_ERF || op == DSMLP_OP_RELU || op == DSMLP_OP_SILU;
}
static int is_ew(dsmlp_op op) { return op == DSMLP_OP_ADD || op == DSMLP_OP_BIAS || op == DSMLP_OP_SCALE || is_act(op); }
static int is_sum(dsmlp_op op) { return op == DSMLP_OP_ADD || op == DSMLP_OP_BIAS; }
static const char *act_name(dsmlp_op op) { return dsmlp_op_name(op); }

/* The single live user of v, or -1. */
static int sole_user(const fz *z, int v) { return z->uses[v] == 1 ? z->user[v] : -1; }

static int new_value(fz *z, const fuse_value *like_in)
{
    fuse_result *r = z->r;
    fuse_value like_copy = *like_in, *like = &like_copy;
    if (r->nvals == r->capvals) {
        int cap = r->capvals * 2 + 8;
        fuse_value *nv = realloc(r->vals, (size_t)cap * sizeof *nv);
        if (!nv) return -1;
        r->vals = nv, r->capvals = cap;
    }
    fuse_value *v = &r->vals[r->nvals];
    *v = *like;
    v->external = 0, v->producer = -1, v->alias = -1, v->output = -1;
    return r->nvals++;
}

static fuse_group *new_group(fz *z, fuse_kind kind, int order)
{
    fuse_result *r = z->r;
    if (r->ngroups == r->capgroups) {
        int cap = r->capgroups * 2 + 8;
        fuse_group *ng = realloc(r->groups, (size_t)cap * sizeof *ng);
        if (!ng) return NULL;
        r->groups = ng, r->capgroups = cap;
    }
    fuse_group *G = &r->groups[r->ngroups];
    memset(G, 0, sizeof *G);
    G->kind = kind, G->order = order, G->seq = r->ngroups;
    G->out = G->side = G->gamma = G->beta = G->x = G->w = G->bias = G->c = G->root = G->in = -1;
    G->in2 = G->bias2 = -1;
    r->ngroups++;
    return G;
}

static int gid(const fz *z, const fuse_group *G) { return (int)(G - z->r->groups); }

static void absorb(fz *z, fuse_group *G, int v)
{
    if (G->nnodes < FUSE_MAX_NODES) G->nodes[G->nnodes++] = v;
    z->claim[v] = gid(z, G);
}

static void set_out(fz *z, fuse_group *G, int v)
{
    G->out = v;
    z->r->vals[v].producer = gid(z, G);
}

/* Leaves of the add/bias tree at v: descends into unclaimed add/bias nodes
** that are single-use (the root: whatever its uses). -1 when more than max. */
static int flatten_sum(fz *z, int v, int root, int *terms, int *nterms, int max, int *inner, int *ninner)
{
    if (is_sum(op_of(z, v)) && z->claim[v] < 0 && (root || z->uses[v] == 1)) {
        if (*ninner == FUSE_MAX_NODES) return -1;
        inner[(*ninner)++] = v;
        for (int i = 0; i < nd(z, v)->nsrc; i++)
            if (flatten_sum(z, nd(z, v)->src[i], 0, terms, nterms, max, inner, ninner) < 0) return -1;
        return 0;
    }
    if (*nterms == max) return -1;
    terms[(*nterms)++] = v;
    return 0;
}

static int is_vec(const fz *z, int v) { return !z->r->vals[v].tokens; }

/* "input + residual + %7" for explain texts: names for inputs/params, else %id. */
static void terms_text(const fz *z, const int *t, int n, char *out, size_t cap)
{
    out[0] = 0;
    for (int i = 0; i < n; i++) {
        const char *sep = i ? " + " : "";
        if (t[i] < z->g->n && nd(z, t[i])->name[0]) dsmlpC_fuse_appendf(out, cap, "%s%s", sep, nd(z, t[i])->name);
        else dsmlpC_fuse_appendf(out, cap, "%s%%%d", sep, t[i]);
    }
}

/* ------------------------------------------------------------------ norm */

static dsmlp_status fuse_norm(fz *z, int n)
{
    const graph_node *N = nd(z, n);
    fuse_group *G = new_group(z, FG_NORM, n);
    if (!G) return dsmlpB_err_set(z->ctx, DSMLP_ERR_NOMEM, "fuse: out of memory");
    G->norm = N->op, G->eps = N->attr, G->gamma = N->src[1];
    G->gamma_offset = N->op == DSMLP_OP_RMSNORM ? N->offset : 0.0;
    G->beta = (N->op == DSMLP_OP_LAYERNORM && N->nsrc > 2) ? N->src[2] : -1;
    int x = N->src[0], inner[FUSE_MAX_NODES], ninner = 0;
    if (flatten_sum(z, x, 1, G->terms, &G->nterms, 6, inner, &ninner) < 0) {
        /* Too many addends for one kernel: the sum becomes its own kernel. */
        G->nterms = 0, ninner = 0;
        G->terms[G->nterms++] = x;
        dsmlpC_fuse_appendf(G->why, sizeof G->why, "the sum feeding %s has too many addends -> separate kernel; ",
                     dsmlp_op_name(N->op));
    }
    for (int i = ninner - 1; i >= 0; i--) absorb(z, G, inner[i]);
    absorb(z, G, n);
    set_out(z, G, n);
    if (ninner) {
        dsmlpC_fuse_appendf(G->why, sizeof G->why, "%d addend(s) feeding %s fused into one norm kernel", G->nterms,
                     dsmlp_op_name(N->op));
        if (z->uses[x] > 1) {
            G->side = x;
            z->r->vals[x].producer = gid(z, G);
            dsmlpC_fuse_appendf(G->why, sizeof G->why, "; it also writes the sum %%%d, which a later step reads", x);
        }
    } else {
        char tt[128];
        terms_text(z, &x, 1, tt, sizeof tt);
        dsmlpC_fuse_appendf(G->why, sizeof G->why, "%s of %s (no add before it to fuse)", dsmlp_op_name(N->op), tt);
    }
    return DSMLP_OK;
}

/* ------------------------------------------------------------------ gemm */

/* a ⊆ b as multisets; rest receives b − a. */
static int sub_terms(const int *a, int na, const int *b, int nb, int *rest, int *nrest)
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

/* The residual terms of a GEMM as one tensor: a norm that runs before the
** GEMM writes their sum as its side output when it can, else a kernel. */
static int presum(fz *z, fuse_group *gemm, const int *terms, int nterms, char *why, size_t cap)
{
    int all_ext = 1;
    for (int i = 0; i < nterms; i++) all_ext &= z->r->vals[terms[i]].external;
    for (int gi = 0; all_ext && gi < z->r->ngroups; gi++) {
        fuse_group *N = &z->r->groups[gi];
        if (N->kind != FG_NORM || N->order > gemm->order) continue;
        int ext = 1;
        for (int i = 0; i < N->nterms; i++) ext &= z->r->vals[N->terms[i]].external;
        int rest[FUSE_MAX_TERMS], nrest;
        if (!ext || !sub_terms(N->terms, N->nterms, terms, nterms, rest, &nrest)) continue;
        if (N->side >= 0 && nrest == 0) {
            dsmlpC_fuse_appendf(why, cap, "the residual terms equal the sum the norm (step of %%%d) already writes",
                         N->out);
            return N->side;
        }
        if (N->side >= 0 || N->nterms + nrest > FUSE_MAX_TERMS) continue;
        int v = new_value(z, &z->r->vals[N->out]);
        if (v < 0) return -1;
        memcpy(N->extra, rest, (size_t)nrest * sizeof *rest);
        N->nextra = nrest;
        N->side = v;
        z->r->vals[v].producer = gid(z, N);
        z->r->vals[v].dtype = z->r->vals[terms[0]].dtype;
        char tt[256];
        terms_text(z, terms, nterms, tt, sizeof tt);
        dsmlpC_fuse_appendf(N->why, sizeof N->why, "; it also writes %s (GEMM %%%d's residual C)", tt, gemm->nodes[0]);
        dsmlpC_fuse_appendf(why, cap, "the %d residual terms are pre-summed by the norm kernel of %%%d", nterms, N->out);
        return v;
    }
    /* A residual-sum kernel, placed as soon as its terms exist. */
    int first_tensor = -1, order = 0;
    for (int i = 0; i < nterms; i++) {
        if (!is_vec(z, terms[i]) && first_tensor < 0) first_tensor = terms[i];
        if (terms[i] < z->g->n && terms[i] > order) order = terms[i];
    }
    int gid_gemm = gid(z, gemm);
    fuse_group *G = new_group(z, FG_EW, order);
    if (!G) return -1;
    gemm = NULL; /* may have moved */
    int v = new_value(z, &z->r->vals[first_tensor]);
    if (v < 0) return -1;
    memcpy(G->terms, terms, (size_t)nterms * sizeof *terms);
    G->nterms = nterms;
    G->ew_kind = KERN_RESIDUAL;
    snprintf(G->label, sizeof G->label, "residual");
    char tt[256];
    terms_text(z, terms, nterms, tt, sizeof tt);
    dsmlpC_fuse_appendf(G->why, sizeof G->why, "sums %s so GEMM %%%d's epilogue reads one C tensor", tt, z->r->groups[gid_gemm].nodes[0]);
    set_out(z, G, v);
    dsmlpC_fuse_appendf(why, cap, "the %d residual terms are pre-summed by a residual kernel (no norm can carry them)",
                 nterms);
    return v;
}

static int epi_act_ok(dsmlp_op a, int int8) { return !int8 && (a == DSMLP_OP_RELU || a == DSMLP_OP_GELU_TANH); }

static void act_why(char *why, size_t cap, dsmlp_op a, int bias, int int8)
{
    const char *what = bias ? "bias+" : "";
    if (int8)
        dsmlpC_fuse_appendf(why, cap, "%s%s: the weight is dequantized int8, activation epilogues are not used -> generated kernel",
                     what, act_name(a));
    else if (a == DSMLP_OP_GELU_ERF)
        dsmlpC_fuse_appendf(why, cap, "%s%s: cuBLASLt has no erf-GELU epilogue -> generated kernel", what, act_name(a));
    else if (a == DSMLP_OP_SILU)
        dsmlpC_fuse_appendf(why, cap, "%s%s: cuBLASLt has no SiLU epilogue -> generated kernel", what, act_name(a));
}

static dsmlp_status fuse_gemm(fz *z, int m)
{
    const graph_node *M = nd(z, m);
    fuse_group *G = new_group(z, FG_GEMM, m);
    if (!G) return dsmlpB_err_set(z->ctx, DSMLP_ERR_NOMEM, "fuse: out of memory");
    int g = gid(z, G);
    G->x = M->src[0], G->w = M->src[1];
    int int8 = op_of(z, G->w) == DSMLP_OP_DEQUANT;
    dsmlp_dtype dt = M->dtype;
    char why[PLAN_TEXT_MAX] = "";
    absorb(z, G, m);
    int cur = m, stop = 0;
    int u = sole_user(z, cur);
    if (u >= 0 && op_of(z, u) == DSMLP_OP_BIAS && nd(z, u)->src[0] == cur && z->claim[u] < 0 &&
        nd(z, nd(z, u)->src[1])->dtype == dt) {
        int u2 = sole_user(z, u);
        dsmlp_op o2 = u2 >= 0 ? op_of(z, u2) : DSMLP_OP_COUNT;
        if (u2 >= 0 && is_act(o2) && z->claim[u2] < 0) {
            stop = 1;
            if (epi_act_ok(o2, int8)) {
                G->bias = nd(z, u)->src[1];
                G->epi = o2 == DSMLP_OP_RELU ? EPI_RELU_BIAS : EPI_GELU_BIAS;
                absorb(z, G, u), absorb(z, G, u2);
                cur = u2;
                dsmlpC_fuse_appendf(why, sizeof why, "bias+%s -> cuBLASLt %s epilogue", act_name(o2),
                             o2 == DSMLP_OP_RELU ? "RELU_BIAS" : "GELU_BIAS");
            } else {
                act_why(why, sizeof why, o2, 1, int8);
            }
        } else if (o2 == DSMLP_OP_GATED) {
            stop = 1;
            dsmlpC_fuse_appendf(why, sizeof why, "bias+gated: the bias goes into the generated gated kernel");
        } else if (o2 == DSMLP_OP_SCALE) {
            stop = 1;
            dsmlpC_fuse_appendf(why, sizeof why, "bias+scale: no epilogue scales -> generated kernel");
        } else {
            G->bias = nd(z, u)->src[1];
            G->epi = EPI_BIAS;
            absorb(z, G, u);
            cur = u;
            dsmlpC_fuse_appendf(why, sizeof why, "bias -> cuBLASLt BIAS epilogue");
        }
    } else if (u >= 0 && is_act(op_of(z, u)) && z->claim[u] < 0) {
        stop = 1;
        if (epi_act_ok(op_of(z, u), int8)) {
            G->epi = op_of(z, u) == DSMLP_OP_RELU ? EPI_RELU : EPI_GELU;
            absorb(z, G, u);
            cur = u;
            dsmlpC_fuse_appendf(why, sizeof why, "%s -> cuBLASLt %s epilogue", act_name(op_of(z, u)),
                         op_of(z, u) == DSMLP_OP_RELU ? "RELU" : "GELU");
        } else {
            act_why(why, sizeof why, op_of(z, u), 0, int8);
        }
    } else if (u >= 0 && op_of(z, u) == DSMLP_OP_GATED) {
        stop = 1;
        dsmlpC_fuse_appendf(why, sizeof why, "gated activation -> generated gated kernel");
    }
    if (!stop && z->residual_kernel) {
        dsmlpC_fuse_appendf(why, sizeof why, "%sresidual epilogue off (option residual_kernel) -> generated kernel",
                     *why ? "; " : "");
    } else if (!stop) {
        /* Residual: the add/bias tree this GEMM's value feeds. */
        int top = cur;
        for (;;) {
            int t = sole_user(z, top);
            if (t < 0 || z->claim[t] >= 0 || !is_sum(op_of(z, t))) break;
            if (op_of(z, t) == DSMLP_OP_BIAS && nd(z, t)->src[0] != top) break;
            top = t;
        }
        if (top != cur) {
            int terms[FUSE_MAX_TERMS], nterms = 0, inner[FUSE_MAX_NODES], ninner = 0;
            int ok = flatten_sum(z, top, 1, terms, &nterms, FUSE_MAX_TERMS, inner, &ninner) == 0;
            int tens[FUSE_MAX_TERMS], nt = 0, vecs[FUSE_MAX_TERMS], nv = 0, self = 0;
            for (int i = 0; ok && i < nterms; i++) {
                if (terms[i] == cur && !self) { self = 1; continue; }
                if (z->r->vals[terms[i]].dtype != dt) ok = 0;
                if (is_vec(z, terms[i])) vecs[nv++] = terms[i];
                else tens[nt++] = terms[i];
            }
            ok = ok && self;
            int bias = G->bias;
            if (ok && bias < 0 && nv > 0) {
                bias = vecs[0];
                memmove(vecs, vecs + 1, (size_t)(--nv) * sizeof *vecs);
            }
            if (ok && nt == 0 && nv > 0) {
                ok = 0;
                dsmlpC_fuse_appendf(why, sizeof why, "%s%d more bias vector(s) after the GEMM: a C tensor cannot carry them -> generated kernel",
                             *why ? "; " : "", nv);
            }
            if (ok) {
                int c = -1;
                char pwhy[PLAN_TEXT_MAX] = "";
                if (nt == 1 && nv == 0) {
                    c = tens[0];
                } else if (nt > 0) {
                    int all[FUSE_MAX_TERMS], na = 0;
                    for (int i = 0; i < nt; i++) all[na++] = tens[i];
                    for (int i = 0; i < nv; i++) all[na++] = vecs[i];
                    c = presum(z, &z->r->groups[g], all, na, pwhy, sizeof pwhy);
                    if (c < 0) return dsmlpB_err_set(z->ctx, DSMLP_ERR_NOMEM, "fuse: out of memory");
                }
                G = &z->r->groups[g];
                for (int i = ninner - 1; i >= 0; i--) absorb(z, G, inner[i]);
                if (G->epi == EPI_NONE && bias >= 0) G->epi = EPI_BIAS;
                G->bias = bias;
                G->c = c;
                cur = top;
                /* one sentence for the whole epilogue */
                snprintf(why, sizeof why, "%sresidual (%d term%s) -> cuBLASLt %sbeta=1 C", bias >= 0 ? "bias + " : "",
                         nt + nv, nt + nv > 1 ? "s" : "", bias >= 0 ? "BIAS epilogue + " : "");
                if (*pwhy) dsmlpC_fuse_appendf(why, sizeof why, "; %s", pwhy);
            }
        }
    }
    G = &z->r->groups[g];
    set_out(z, G, cur);
    if (!*why) snprintf(why, sizeof why, "plain GEMM (nothing to fuse after it)");
    dsmlpC_fuse_appendf(G->why, sizeof G->why, "%s", why);
    return DSMLP_OK;
}

/* ---------------------------------------------------- gated, dequant, all-reduce */

/* A single-use bias feeding the gated op, not yet claimed: it can go into the kernel. */
static int gated_bias(const fz *z, int x) { return op_of(z, x) == DSMLP_OP_BIAS && z->claim[x] < 0 && z->uses[x] == 1; }

static dsmlp_status fuse_gated(fz *z, int q)
{
    fuse_group *G = new_group(z, FG_GATED, q);
    if (!G) return dsmlpB_err_set(z->ctx, DSMLP_ERR_NOMEM, "fuse: out of memory");
    const graph_node *Q = nd(z, q);
    int x = Q->src[0];
    G->act = Q->act;
    if (Q->nsrc == 2) {
        /* Up and gate apart: both biases go into the kernel, or neither
        ** (one stays its own step), so the kernel has one bias form. */
        int up = Q->src[0], gate = Q->src[1];
        if (up != gate && gated_bias(z, up) && gated_bias(z, gate)) {
            G->in = nd(z, up)->src[0], G->bias = nd(z, up)->src[1];
            G->in2 = nd(z, gate)->src[0], G->bias2 = nd(z, gate)->src[1];
            absorb(z, G, up), absorb(z, G, gate);
            dsmlpC_fuse_appendf(G->why, sizeof G->why, "biases + gated activation of separate up and gate in one generated kernel");
        } else {
            G->in = up, G->in2 = gate;
            dsmlpC_fuse_appendf(G->why, sizeof G->why, "gated activation of separate up and gate in one generated kernel");
        }
    } else if (gated_bias(z, x)) {
        G->in = nd(z, x)->src[0], G->bias = nd(z, x)->src[1];
        absorb(z, G, x);
        dsmlpC_fuse_appendf(G->why, sizeof G->why, "bias + gated activation in one generated kernel");
    } else {
        G->in = x;
        dsmlpC_fuse_appendf(G->why, sizeof G->why, "gated activation in one generated kernel");
    }
    absorb(z, G, q);
    set_out(z, G, q);
    return DSMLP_OK;
}

static dsmlp_status fuse_dequant(fz *z, int d)
{
    fuse_group *G = new_group(z, FG_DEQUANT, d);
    if (!G) return dsmlpB_err_set(z->ctx, DSMLP_ERR_NOMEM, "fuse: out of memory");
    G->x = nd(z, d)->src[0], G->w = nd(z, d)->src[1], G->groups = nd(z, d)->groups;
    absorb(z, G, d);
    set_out(z, G, d);
    dsmlpC_fuse_appendf(G->why, sizeof G->why, "%s weight x %lld group scale(s) -> %s weight in the workspace",
                        nd(z, G->x)->dtype == DSMLP_FP8_E4M3 ? "fp8" : "int8", (long long)G->groups,
                        dsmlp_dtype_name(nd(z, d)->dtype));
    return DSMLP_OK;
}

static fuse_group *copy_group(fz *z, int src, int order, int *outv)
{
    fuse_group *G = new_group(z, FG_EW, order);
    if (!G) return NULL;
    int v = new_value(z, &z->r->vals[src]);
    if (v < 0) return NULL;
    G->terms[0] = src, G->nterms = 1, G->ew_kind = KERN_ELEMWISE;
    snprintf(G->label, sizeof G->label, "copy");
    set_out(z, G, v);
    *outv = v;
    return G;
}

static dsmlp_status fuse_all_reduce(fz *z, int a)
{
    int x = nd(z, a)->src[0];
    int ext = z->r->vals[x].external;
    int in = x;
    if (ext || z->uses[x] != 1) {
        /* In place would clobber a value someone else still reads. */
        fuse_group *C = copy_group(z, x, a, &in);
        if (!C) return dsmlpB_err_set(z->ctx, DSMLP_ERR_NOMEM, "fuse: out of memory");
        dsmlpC_fuse_appendf(C->why, sizeof C->why, "copies %%%d so all_reduce %%%d can run in place (%s)", x, a,
                     ext ? "it is an input" : "it has other users");
    }
    fuse_group *G = new_group(z, FG_ALL_REDUCE, a);
    if (!G) return dsmlpB_err_set(z->ctx, DSMLP_ERR_NOMEM, "fuse: out of memory");
    G->in = in;
    absorb(z, G, a);
    G->out = a;
    z->r->vals[a].alias = in;
    z->r->vals[a].producer = gid(z, G);
    dsmlpC_fuse_appendf(G->why, sizeof G->why, "in place on the buffer of %%%d, after every step that writes it", x);
    return DSMLP_OK;
}

/* ------------------------------------------------------ element-wise rest */

#define EW_MAX_LEAVES (PLAN_MAX_ARGS - 1)   /* one argument is the output */

static int ew_inner(const fz *z, int v) { return z->claim[v] < 0 && is_ew(op_of(z, v)) && z->uses[v] == 1; }

/* Leaves of the absorbable tree at v (an upper bound: repeats counted). */
static int ew_count(const fz *z, int v)
{
    if (!ew_inner(z, v)) return 1;
    int n = 0;
    for (int i = 0; i < nd(z, v)->nsrc; i++) n += ew_count(z, nd(z, v)->src[i]);
    return n;
}

/* Absorbs v and the single-use element-wise ops under it while the kernel
** keeps at most EW_MAX_LEAVES inputs; a subtree that does not fit stays out
** (it becomes its own kernel). Returns the leaves used. */
static int ew_collect(fz *z, fuse_group *G, int v, int budget)
{
    absorb(z, G, v);
    int used = 0, n = nd(z, v)->nsrc;
    for (int i = 0; i < n; i++) {
        int c = nd(z, v)->src[i], left = budget - used - (n - 1 - i); /* keep one per later operand */
        if (ew_inner(z, c) && G->nnodes < FUSE_MAX_NODES && ew_count(z, c) <= left)
            used += ew_collect(z, G, c, left);
        else
            used += 1;
    }
    return used;
}

static int cmp_int(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

static dsmlp_status fuse_ew(fz *z, int v)
{
    fuse_group *G = new_group(z, FG_EW, v);
    if (!G) return dsmlpB_err_set(z->ctx, DSMLP_ERR_NOMEM, "fuse: out of memory");
    G->root = v;
    ew_collect(z, G, v, EW_MAX_LEAVES);
    qsort(G->nodes, (size_t)G->nnodes, sizeof *G->nodes, cmp_int);
    set_out(z, G, v);
    int sums = 1, acts = 0, other = 0;
    for (int i = 0; i < G->nnodes; i++) {
        dsmlp_op o = op_of(z, G->nodes[i]);
        sums &= is_sum(o);
        acts += is_act(o);
        other += o == DSMLP_OP_SCALE || o == DSMLP_OP_ADD;
    }
    const graph_node *R = nd(z, v);
    int act_shape = is_act(R->op) && acts == 1 && !other &&
                    (G->nnodes == 1 || (G->nnodes == 2 && op_of(z, R->src[0]) == DSMLP_OP_BIAS));
    if (act_shape) {
        G->ew_kind = KERN_ACT;
        snprintf(G->label, sizeof G->label, "act");
        if (!*G->why) dsmlpC_fuse_appendf(G->why, sizeof G->why, "%s%s in one generated kernel", G->nnodes == 2 ? "bias+" : "",
                                   act_name(R->op));
    } else if (sums) {
        G->ew_kind = KERN_RESIDUAL;
        snprintf(G->label, sizeof G->label, "residual");
        dsmlpC_fuse_appendf(G->why, sizeof G->why, "%d add/bias op(s) in one generated sum kernel", G->nnodes);
    } else {
        G->ew_kind = KERN_ELEMWISE;
        snprintf(G->label, sizeof G->label, "elemwise");
        dsmlpC_fuse_appendf(G->why, sizeof G->why, "%d element-wise op(s) in one generated kernel", G->nnodes);
    }
    return DSMLP_OK;
}

/* ------------------------------------------------------------------ order */

static int group_reads(const fuse_group *G, int *in, int max)
{
    int n = 0;
#define R_(v) do { if ((v) >= 0 && n < max) in[n++] = (v); } while (0)
    switch (G->kind) {
    case FG_NORM:
        R_(G->gamma); R_(G->beta);
        for (int i = 0; i < G->nterms; i++) R_(G->terms[i]);
        for (int i = 0; i < G->nextra; i++) R_(G->extra[i]);
        break;
    case FG_GEMM: R_(G->x); R_(G->w); R_(G->bias); R_(G->c); break;
    case FG_EW:
        for (int i = 0; i < G->nterms; i++) R_(G->terms[i]);
        break; /* expression leaves are added by the caller */
    case FG_GATED: R_(G->in); R_(G->bias); R_(G->in2); R_(G->bias2); break;
    case FG_DEQUANT: R_(G->x); R_(G->w); break;
    case FG_ALL_REDUCE: R_(G->in); break;
    }
#undef R_
    return n;
}

static int ew_leaves(const fz *z, const fuse_group *G, int *in, int n, int max)
{
    for (int i = 0; i < G->nnodes; i++) {
        const graph_node *v = nd(z, G->nodes[i]);
        for (int s = 0; s < v->nsrc; s++)
            if (z->claim[v->src[s]] != gid(z, G) && n < max) in[n++] = v->src[s];
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
        return dsmlpB_err_set(z->ctx, DSMLP_ERR_NOMEM, "fuse: out of memory");
    }
    for (int k = 0; k < ng; k++) {
        int best = -1;
        for (int gi = 0; gi < ng; gi++) {
            if (done[gi]) continue;
            const fuse_group *G = &r->groups[gi];
            int in[64], n = group_reads(G, in, 64), ready = 1;
            if (G->kind == FG_EW && G->root >= 0) n = ew_leaves(z, G, in, n, 64);
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
        if (nd(z, o)->op != DSMLP_OP_OUTPUT) continue;
        int x = nd(z, o)->src[0], s = dsmlpC_fuse_storage(z->r, x);
        int ext = z->r->vals[s].external;
        if (!ext && z->r->vals[s].output < 0) {
            z->r->vals[s].output = o;
            z->r->vals[o].alias = x;
            continue;
        }
        int v;
        fuse_group *C = copy_group(z, x, o, &v);
        if (!C) return dsmlpB_err_set(z->ctx, DSMLP_ERR_NOMEM, "fuse: out of memory");
        dsmlpC_fuse_appendf(C->why, sizeof C->why, "copies %%%d into output '%s' (%s)", x, nd(z, o)->name,
                     ext ? "it is an input or parameter" : "it is already another output");
        z->r->vals[v].output = o;
        z->r->vals[o].alias = v;
    }
    return DSMLP_OK;
}

/* ------------------------------------------------------------------ entry */

static void init_values(fz *z)
{
    for (int v = 0; v < z->g->n; v++) {
        const graph_node *n = nd(z, v);
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
        s = dsmlpB_err_set(ctx, DSMLP_ERR_NOMEM, "fuse: out of memory");
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
        if (!z.live[v] || z.claim[v] >= 0 || !is_ew(g->nodes[v].op)) continue;
        int u = sole_user(&z, v);
        int inner = u >= 0 && z.claim[u] < 0 && is_ew(g->nodes[u].op);
        if (!inner && (s = fuse_ew(&z, v)) != DSMLP_OK) goto done;
    }
    /* Subtrees a kernel could not take (too many inputs) root their own. */
    for (int v = n - 1; v >= 0; v--)
        if (z.live[v] && z.claim[v] < 0 && is_ew(g->nodes[v].op) && (s = fuse_ew(&z, v)) != DSMLP_OK) goto done;
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
    for (int gi = 0; gi < r->ngroups; gi++) {
        fuse_group *G = &r->groups[gi];
        if (G->kind == FG_GEMM) {
            static const char *const epi[] = {"", "+bias", "+bias_relu", "+bias_gelu", "+relu", "+gelu"};
            if (G->c >= 0)
                snprintf(G->label, sizeof G->label, "gemm%s", G->bias >= 0 ? "+bias_residual" : "+residual");
            else
                snprintf(G->label, sizeof G->label, "gemm%s", epi[G->epi]);
        } else if (G->kind == FG_NORM) snprintf(G->label, sizeof G->label, "norm");
        else if (G->kind == FG_GATED) snprintf(G->label, sizeof G->label, "gated");
        else if (G->kind == FG_DEQUANT) snprintf(G->label, sizeof G->label, "dequant");
        else if (G->kind == FG_ALL_REDUCE) snprintf(G->label, sizeof G->label, "all_reduce");
    }
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
