/* lower.c — turns the fusion groups into plan steps over named and workspace buffers. */
#include "lower.h"
#include "emit.h"
#include "route.h"
#include "error.h"
#include "grow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


typedef struct lw {
    dsmlp_ctx         *ctx;
    const fuse_result *r;
    const dsmlp_graph *g;
    plan              *p;
    int               *bufof;   /* per storage value */
    int                capbufs, capsteps, capkernels;
    int                nwork;
} lw;


static int add_buf(lw *L, plan_buf_kind kind, const char *name, const fuse_value *v)
{
    plan *p = L->p;
    if (dsmlpB_grow((void **)&p->bufs, &L->capbufs, p->nbufs, sizeof *p->bufs)) return -1;
    plan_buf *b = &p->bufs[p->nbufs];
    memset(b, 0, sizeof *b);
    b->kind = kind;
    if (kind == BUF_WORK) snprintf(b->name, sizeof b->name, "ws%d", L->nwork++);
    else snprintf(b->name, sizeof b->name, "%s", name);
    b->dtype = v->dtype, b->tokens = v->tokens, b->rows = v->tokens ? 0 : v->rows, b->cols = v->cols;
    b->layout = v->layout;
    return p->nbufs++;
}

static dsmlp_status nomem(lw *L) { return dsmlpB_err_set(L->ctx, DSMLP_ERR_NOMEM, "lower: out of memory"); }

/* Buffer holding value v for reading; it must exist already. */
static int rbuf(lw *L, int v)
{
    int s = dsmlpC_fuse_storage(L->r, v);
    return s >= 0 ? L->bufof[s] : -1;
}

/* Buffer value v is written to (a work buffer on first write). */
static int wbuf(lw *L, int v)
{
    int s = dsmlpC_fuse_storage(L->r, v);
    if (L->bufof[s] < 0) L->bufof[s] = add_buf(L, BUF_WORK, NULL, &L->r->vals[s]);
    return L->bufof[s];
}

static plan_step *new_step(lw *L, plan_step_kind kind, const fuse_group *G)
{
    plan *p = L->p;
    if (dsmlpB_grow((void **)&p->steps, &L->capsteps, p->nsteps, sizeof *p->steps)) return NULL;
    plan_step *s = &p->steps[p->nsteps++];
    memset(s, 0, sizeof *s);
    s->kind = kind, s->kernel = -1, s->buf = -1;
    snprintf(s->label, sizeof s->label, "%s", G->label);
    snprintf(s->why, sizeof s->why, "%s", G->why);
    for (int i = 0; i < G->nnodes; i++)
        dsmlpC_fuse_appendf(s->absorbed, sizeof s->absorbed, "%s%%%d %s", i ? ", " : "", G->nodes[i],
                     dsmlp_op_name(L->g->nodes[G->nodes[i]].op));
    return s;
}

/* A new kernel; its index in *idx. */
static plan_kernel *add_kernel(lw *L, plan_kernel_kind kind, int *idx)
{
    plan *p = L->p;
    if (dsmlpB_grow((void **)&p->kernels, &L->capkernels, p->nkernels, sizeof *p->kernels)) return NULL;
    plan_kernel *k = &p->kernels[p->nkernels];
    memset(k, 0, sizeof *k);
    k->kind = kind;
    *idx = p->nkernels++;
    return k;
}

/* The kernel step s runs. */
static plan_kernel *new_kernel(lw *L, plan_step *s, plan_kernel_kind kind)
{
    return add_kernel(L, kind, &s->kernel);
}

static dsmlp_status arg(lw *L, plan_kernel *k, int b, int v)
{
    if (b < 0)
        return dsmlpB_err_set(L->ctx, DSMLP_ERR_UNSUPPORTED, "lower: value %%%d has no buffer when kernel %s runs", v,
                       k->name[0] ? k->name : "(new)");
    if (k->nargs == PLAN_LOWER_MAX_ARGS)
        return dsmlpB_err_set(L->ctx, DSMLP_ERR_UNSUPPORTED, "lower: a kernel would need more than %d arguments",
                       PLAN_LOWER_MAX_ARGS);
    k->args[k->nargs++] = b;
    return DSMLP_OK;
}

static dsmlp_status need_param_vec(lw *L, int v, const char *what, int node)
{
    const fuse_value *fv = &L->r->vals[v];
    if (!fv->external || fv->tokens || fv->rows != 1)
        return dsmlpB_err_set(L->ctx, DSMLP_ERR_UNSUPPORTED, "lower: %s of %%%d %s must be a parameter vector", what, node,
                       dsmlp_op_name(L->g->nodes[node].op));
    return DSMLP_OK;
}

/* Emits with a name unique within the plan (a different source under the same name gets _u<k>). */
typedef dsmlp_status (*emit_fn)(lw *L, plan_kernel *k, const void *arg, int uniq);

static dsmlp_status emit_unique(lw *L, plan_kernel *k, emit_fn fn, const void *a)
{
    for (int uniq = 0; uniq < 100; uniq++) {
        dsmlp_status s = fn(L, k, a, uniq);
        if (s != DSMLP_OK) return s;
        int clash = 0;
        for (int i = 0; i < L->p->nkernels && !clash; i++) {   /* k need not be the last (mixed_emit) */
            const plan_kernel *o = &L->p->kernels[i];
            clash = o != k && o->source && !strcmp(o->name, k->name) && strcmp(o->source, k->source);
        }
        if (!clash) return DSMLP_OK;
        free(k->source);
        k->source = NULL;
    }
    return dsmlpB_err_set(L->ctx, DSMLP_ERR_UNSUPPORTED, "lower: too many different kernels named %s", k->name);
}

/* ------------------------------------------------------------------ norm */

static dsmlp_status em_norm(lw *L, plan_kernel *k, const void *a, int uniq)
{
    return dsmlpC_emit_norm(L->ctx, L->p, k, a, uniq);
}

static dsmlp_status lower_norm(lw *L, const fuse_group *G)
{
    dsmlp_status s;
    int node = G->out;
    if ((s = need_param_vec(L, G->norm.gamma, "gamma", node)) || (G->norm.beta >= 0 && (s = need_param_vec(L, G->norm.beta, "beta", node))))
        return s;
    plan_step *st = new_step(L, STEP_KERNEL, G);
    plan_kernel *k = st ? new_kernel(L, st, KERN_NORM) : NULL;
    if (!k) return nomem(L);
    emit_norm_spec sp = {G->norm.op == DSMLP_OP_RMSNORM, L->r->vals[node].cols, G->norm.eps, G->side >= 0, G->norm.beta >= 0,
                         G->norm.nterms, G->norm.nextra, G->norm.gamma_offset, 0};
    plan_norm_op *no = &st->op.norm;
    st->op.kind = KERN_NORM;
    no->rms = sp.rms, no->eps = G->norm.eps, no->gamma_offset = G->norm.gamma_offset;
    no->out = wbuf(L, G->out), no->side = G->side >= 0 ? wbuf(L, G->side) : -1;
    no->gamma = rbuf(L, G->norm.gamma), no->beta = G->norm.beta >= 0 ? rbuf(L, G->norm.beta) : -1;
    no->nterms = G->norm.nterms < PLAN_MAX_TERMS ? G->norm.nterms : PLAN_MAX_TERMS;
    no->nextra = G->norm.nextra < PLAN_MAX_TERMS ? G->norm.nextra : PLAN_MAX_TERMS;
    for (int i = 0; i < no->nterms; i++) no->terms[i] = rbuf(L, G->norm.terms[i]);
    for (int i = 0; i < no->nextra; i++) no->extra[i] = rbuf(L, G->norm.extra[i]);
    if ((s = arg(L, k, wbuf(L, G->out), G->out))) return s;
    if (G->side >= 0 && (s = arg(L, k, wbuf(L, G->side), G->side))) return s;
    if ((s = arg(L, k, rbuf(L, G->norm.gamma), G->norm.gamma))) return s;
    if (G->norm.beta >= 0 && (s = arg(L, k, rbuf(L, G->norm.beta), G->norm.beta))) return s;
    for (int i = 0; i < G->norm.nterms; i++)
        if ((s = arg(L, k, rbuf(L, G->norm.terms[i]), G->norm.terms[i]))) return s;
    for (int i = 0; i < G->norm.nextra; i++)
        if ((s = arg(L, k, rbuf(L, G->norm.extra[i]), G->norm.extra[i]))) return s;
    for (int i = 0; i < G->norm.nterms + G->norm.nextra; i++) {
        int v = i < G->norm.nterms ? G->norm.terms[i] : G->norm.extra[i - G->norm.nterms];
        const fuse_value *fv = &L->r->vals[v];
        if (fv->cols != sp.h || (!fv->tokens && fv->rows != 1))
            return dsmlpB_err_set(L->ctx, DSMLP_ERR_UNSUPPORTED, "lower: addend %%%d of norm %%%d is not [T,%lld] or [%lld]",
                           v, node, (long long)sp.h, (long long)sp.h);
    }
    return emit_unique(L, k, em_norm, &sp);
}

/* ------------------------------------------------------------------ gemm */

static dsmlp_status em_gemv(lw *L, plan_kernel *k, const void *a, int uniq)
{
    return dsmlpC_emit_gemv(L->ctx, L->p, k, a, uniq);
}

static int gemv_dtype(dsmlp_dtype t) { return t == DSMLP_F32 || t == DSMLP_F16 || t == DSMLP_BF16; }

/* A GEMM variant kernel's trailing arguments: the step's bias and residual C, where it has them. */
static dsmlp_status epilogue_args(lw *L, plan_kernel *k, const plan_gemm *m)
{
    dsmlp_status s = DSMLP_OK;
    if (m->bias >= 0) s = arg(L, k, m->bias, -1);
    if (s == DSMLP_OK && m->c >= 0) s = arg(L, k, m->c, -1);
    return s;
}

/* The decode GEMV's weight arguments: w, or the codes and scales it converts itself. */
static dsmlp_status gemv_weight_args(lw *L, plan_kernel *k, const plan_gemm *m)
{
    dsmlp_status s = arg(L, k, m->decode_q >= 0 ? m->decode_q : m->w, -1);
    return s == DSMLP_OK && m->decode_q >= 0 ? arg(L, k, m->decode_scales, -1) : s;
}

/* A dequantized weight the decode GEMV can read as codes: [out,in] i8 or fp8 codes in whole row groups, f32 or
** f16 scales (else it reads the dequantized copy). Why: at T = 1 the block is a stream of its weights, and codes
** are half the bytes of the copy, without the dequant kernel's own pass. */
static void gemv_codes(lw *L, plan_gemm *m, const graph_node *w)
{
    const plan_buf *B = L->p->bufs;
    if (w->op != DSMLP_OP_DEQUANT || m->layout != DSMLP_LAYOUT_OUT_IN) return;
    const int q = rbuf(L, w->src[0]), sc = rbuf(L, w->src[1]);
    if (q < 0 || sc < 0 || (B[q].dtype != DSMLP_I8 && B[q].dtype != DSMLP_FP8_E4M3) ||
        (B[sc].dtype != DSMLP_F32 && B[sc].dtype != DSMLP_F16) || w->groups < 1 || m->n % w->groups)
        return;
    m->decode_q = q, m->decode_scales = sc, m->decode_groups = w->groups;
}

/* NULL where GEMM step m, on dequant node w's output, gets mixed-input kernels (lower_mixed), else why not. */
static const char *mixed_unsupported(lw *L, const plan_gemm *m, const graph_node *w)
{
    const plan_buf *B = L->p->bufs;
    const int q = rbuf(L, w->src[0]), sc = rbuf(L, w->src[1]);
    if (L->p->mixed_mode <= 0) return "is off (mixed_gemm = 0)";
    if (w->op != DSMLP_OP_DEQUANT || q < 0 || sc < 0) return "has no codes";
    return dsmlpC_emit_mixed_unsupported(L->p->arch, m->layout, B[q].dtype, B[m->x].dtype, B[m->d].dtype, m->n, m->k);
}

/* The scratch of GEMV kernel idx with spec sp where it splits k (its partial sums and counters: *buf, added here),
** else none (*buf dropped where an earlier spec had one). */
static dsmlp_status gemv_scratch(lw *L, const emit_gemv_spec *sp, const plan_gemm *m, int idx, int *buf)
{
    plan *p = L->p;
    const size_t bytes = dsmlpC_emit_gemv_scratch_bytes(sp, dsmlp_dtype_size(p->bufs[m->w].dtype));
    if (!bytes && *buf >= 0) {
        p->bufs[*buf].ws_bytes = 0, p->bufs[*buf].cols = 0;
        *buf = -1;
    } else if (bytes && *buf < 0) {
        char name[PLAN_NAME_MAX];
        snprintf(name, sizeof name, "gemv_split%d", idx);
        if ((*buf = dsmlpC_plan_add_scratch(p, &L->capbufs, name, bytes, 0)) < 0) return nomem(L);
    }
    return DSMLP_OK;
}

/* (Re)writes GEMV kernel idx of GEMM m: its arguments (output, x, the weight's, the epilogue's or the activation
** step a's bias, the norm no's, the scratch) and its source from sp. */
static dsmlp_status gemv_build(lw *L, const plan_gemm *m, int idx, const emit_gemv_spec *sp, const plan_act_op *a,
                               const plan_norm_op *no, int scratch)
{
    plan_kernel *k = &L->p->kernels[idx];
    free(k->source);
    k->source = NULL, k->nargs = 0;
    dsmlp_status s;
    if ((s = arg(L, k, a ? a->out : m->d, -1)) || (s = arg(L, k, m->x, -1)) || (s = gemv_weight_args(L, k, m)) ||
        (s = a ? (a->bias >= 0 ? arg(L, k, a->bias, -1) : DSMLP_OK) : epilogue_args(L, k, m)))
        return s;
    if (no && ((no->side >= 0 && (s = arg(L, k, no->side, -1))) || (s = arg(L, k, no->gamma, -1)) ||
               (no->beta >= 0 && (s = arg(L, k, no->beta, -1)))))
        return s;
    for (int t = 0; no && t < no->nterms; t++)
        if ((s = arg(L, k, no->terms[t], -1))) return s;
    if (scratch >= 0 && (s = arg(L, k, scratch, -1))) return s;
    return emit_unique(L, k, em_gemv, sp);
}

/* The decode variant of GEMM step m: a generated GEMV kernel (not a step of its own), for T <= decode_max_tokens
** but: a GEMV on codes serves T <= 2 only where mixed-input kernels serve the rest (built for T <= 8 it lost T = 4 / 8
** by 15-70 us; at T = 2 it lost 1.5-3.5 us in the twenty-seventh session and won 3.2 in the fifty-fifth, GELU-4096
** int8 on an H100: 56.8 vs 60.0, SwiGLU level); with decode_max_tokens auto (-1: PLAN_DECODE_AUTO_MAX_T), an
** [in,out] GEMV serves T = 1 only on weights under GEMV_IN_OUT_T2_MIN_BYTES (built for T <= 2 it lost 1-4 us to
** cuBLASLt at T = 2 in the twenty-seventh session, BERT-base 2.2 in the sixty-first) and T <= 2 on larger ones: with
** the k-split second GEMVs GELU-4096 f16 won 5.5 us at T = 2, SwiGLU-4096 bf16 10.3, SwiGLU-8192 3.0 on an H100
** (bench/RESULTS.md, sixty-first session). A wide code GEMM (at least GEMV_CODES_T1_MIN_TILES mixed-input row tiles:
** they alone fill 3/4 of an H100's or H200's 132 SMs, no k split) gets its GEMV for T = 1 only, with the auto bound:
** at T = 2 its mixed kernel (and the norm kernel the GEMV folded in) beat the GEMV, and the GEMV built for one token
** is the faster one at T = 1, while the narrow second GEMM's GEMV still wins T = 2 against a k split in clusters
** (GELU-4096 int8 T = 1 / 2 50.1 / 55.0 -> 49.1-49.4 / 52.2-52.4 us, SwiGLU-4096 int8 64.2-64.4 / 71.2-71.3 ->
** 62.6-63.2 / 69.6-69.8, GELU-4096 fp8 T = 2 54.8 -> 51.6-52.2; the second GEMV to T = 4 lost 3-10 us at T = 3 / 4:
** bench/RESULTS.md, sixty-second session). Since then the second GEMM's k split runs without clusters and starts
** as the first's blocks exit, so the code GEMM right after a wide one gets its GEMV for T = 1 only too: its mixed
** kernel, chained behind the first's, took T = 2 from the GEMV (SwiGLU-4096 int8 on an H100 68.3-69.4 -> 66.1-66.6
** us, fp8 67.6-68.5 -> 66.0-66.5, GELU-4096 int8 level to 0.4 faster: bench/RESULTS.md, eightieth session). */
#define GEMV_CODES_MAX_T_BEFORE_MIXED 2
#define GEMV_CODES_T1_MIN_TILES 96
#define GEMV_IN_OUT_AUTO_MAX_T 1
#define GEMV_IN_OUT_AUTO_MAX_T_LARGE 2
#define GEMV_IN_OUT_T2_MIN_BYTES ((int64_t)32 << 20)
#define GEMV_WIDE_MAX_BYTES ((int64_t)256 << 20)
#define GEMV_CODES_WIDE(m) ((m)->n / EMIT_MIXED_ROWS >= GEMV_CODES_T1_MIN_TILES)

/* The GEMM step before the last step (the one being lowered), or NULL. */
static const plan_gemm *gemm_before_last(const plan *p)
{
    for (int i = p->nsteps - 2; i >= 0; i--)
        if (p->steps[i].kind == STEP_GEMM) return &p->steps[i].gemm;
    return NULL;
}

static dsmlp_status lower_gemv(lw *L, plan_gemm *m, const graph_node *w)
{
    plan *p = L->p;
    const plan_buf *B = p->bufs;
    if (!gemv_dtype(B[m->x].dtype) || !gemv_dtype(B[m->w].dtype) || !gemv_dtype(B[m->d].dtype) ||
        (m->bias >= 0 && !gemv_dtype(B[m->bias].dtype)) || (m->c >= 0 && !gemv_dtype(B[m->c].dtype)))
        return DSMLP_OK;  /* cuBLASLt for every T */
    gemv_codes(L, m, w);
    int64_t max_t = p->decode_max_tokens;
    const char *why = p->decode_auto ? "decode_max_tokens auto" : "decode_max_tokens";
    const int64_t bytes = m->n * m->k * (int64_t)dsmlp_dtype_size(B[m->w].dtype);   /* the weight's */
    if (p->decode_auto && m->layout == DSMLP_LAYOUT_IN_OUT) {
        const int64_t cap = bytes >= GEMV_IN_OUT_T2_MIN_BYTES ? GEMV_IN_OUT_AUTO_MAX_T_LARGE : GEMV_IN_OUT_AUTO_MAX_T;
        if (max_t > cap)
            max_t = cap, why = cap == 1 ? "auto: an [in,out] weight under 32 MiB (cuBLASLt measured faster at T = 2)"
                                        : "auto: an [in,out] weight of at least 32 MiB";
    }
    if (m->decode_q >= 0 && !mixed_unsupported(L, m, w)) {
        if (max_t > GEMV_CODES_MAX_T_BEFORE_MIXED)
            max_t = GEMV_CODES_MAX_T_BEFORE_MIXED, why = "codes: the mixed-input kernels take T >= 3";
        const plan_gemm *prev = gemm_before_last(p);   /* only the GEMM right after a wide one chains behind it */
        const int after_wide = prev && prev->decode_q >= 0 && prev->decode_max_T == 1 && GEMV_CODES_WIDE(prev);
        if (p->decode_auto && max_t > 1 && GEMV_CODES_WIDE(m))
            max_t = 1, why = "auto: codes of a wide GEMM (at least 96 mixed-input row tiles), whose mixed-input kernel takes T = 2";
        else if (p->decode_auto && max_t > 1 && after_wide)
            max_t = 1, why = "auto: codes after a GEMM whose mixed-input kernel takes T = 2, so this one's takes it too (they chain)";
        else if (p->decode_auto && max_t > 1)
            why = "auto: codes of a narrow GEMM (under 96 mixed-input row tiles: its mixed-input kernel splits k), "
                  "the mixed-input kernels from T = 3";
    }
    int idx;
    if (!add_kernel(L, KERN_GEMV, &idx)) return nomem(L);
    emit_gemv_spec sp = {m->n, m->k, m->layout, m->epi, m->bias >= 0, m->c >= 0, (int)max_t, 0, DSMLP_ACT_SILU, NULL,
                         m->decode_q >= 0 ? m->decode_groups : 0, 0};
    dsmlp_status s = gemv_scratch(L, &sp, m, idx, &m->decode_scratch);
    if (s == DSMLP_OK) s = gemv_build(L, m, idx, &sp, NULL, NULL, m->decode_scratch);
    if (s != DSMLP_OK) return s;
    m->decode_kernel = idx, m->decode_max_T = max_t, m->decode_why = why;
    /* Float weights of 32 to 256 MiB under the auto bound: a second GEMV, built for PLAN_DECODE_WIDE_BUILD_T tokens,
    ** serves T = 3..PLAN_DECODE_WIDE_MAX_T, on cards with a peak DRAM rate under 4 TB/s (exec_mixed.c
    ** dsmlpR_decode_at: measured on an H100 only). There it beat the wgmma pair / cuBLASLt: SwiGLU-4096 bf16 T = 3 / 4
    ** 1.3-2.1 us faster [out,in], 1.0-1.7 [in,out]; GELU-4096 f16 -1.3..+0.7 (level); one GEMV built for 8 tokens
    ** serving T = 1..8 instead cost T = 1 / 2 1-4 us (its registers) and T = 8 10-45. SwiGLU-8192's weights (448 / 896
    ** MiB), which the main route streams at 3.07 TB/s, lost 5-11 us (bench/RESULTS.md, sixty-second and sixty-third
    ** sessions). Built for 4 tokens since the sixty-seventh (GELU-4096 f16 [out,in] T = 3 / 4 1.6-1.8 us faster than
    ** built for 8, the rest level). It leaves the norm to its kernel: folding it in (4 rows of x fit) lost 1.1-5.2 us. */
    if (p->decode_auto && m->decode_q < 0 && bytes >= GEMV_IN_OUT_T2_MIN_BYTES && bytes <= GEMV_WIDE_MAX_BYTES &&
        max_t == PLAN_DECODE_AUTO_MAX_T && p->max_tokens > max_t) {
        int wide;
        if (!add_kernel(L, KERN_GEMV, &wide)) return nomem(L);
        sp.max_t = PLAN_DECODE_WIDE_BUILD_T;
        if ((s = gemv_scratch(L, &sp, m, wide, &m->decode_wide_scratch)) ||
            (s = gemv_build(L, m, wide, &sp, NULL, NULL, m->decode_wide_scratch)))
            return s;
        m->decode_wide_kernel = wide;
        m->decode_wide_max_T = p->max_tokens < PLAN_DECODE_WIDE_MAX_T ? p->max_tokens : PLAN_DECODE_WIDE_MAX_T;
    }
    return DSMLP_OK;
}

static dsmlp_status em_mixed(lw *L, plan_kernel *k, const void *a, int uniq)
{
    return dsmlpC_emit_mixed(L->ctx, L->p, k, a, uniq);
}

/* Writes the kernels m->mixed_kernel[] of GEMM step m (one per token width): its own epilogue, or with gated (a
** gated step reading m's output as [up | gate]) that step's gating, writing its output. */
/* a: the activation step the kernels take on (gated: a gated step, else an element-wise one), or NULL. */
static dsmlp_status emit_mixed_variants(lw *L, plan_gemm *m, int64_t groups, const plan_act_op *a, int gated)
{
    static const int tokens[PLAN_MIXED_VARIANTS] = PLAN_MIXED_TOKENS;
    for (int i = 0; i < 2 * PLAN_MIXED_VARIANTS; i++) {   /* the kernels, then their one-a-SM twins */
        const int v = i % PLAN_MIXED_VARIANTS, one = i >= PLAN_MIXED_VARIANTS, idx = one ? m->mixed_one[v] : m->mixed_kernel[v];
        if (idx < 0) continue;   /* a width float weights do not get, or no twin */
        plan_kernel *k = &L->p->kernels[idx];
        dsmlp_status s;
        if ((s = arg(L, k, a ? a->out : m->d, -1)) || (s = arg(L, k, m->mixed_q, -1)) ||
            (m->mixed_scales >= 0 && (s = arg(L, k, m->mixed_scales, -1))) || (s = arg(L, k, m->x, -1)))
            return s;
        if ((s = a ? (a->bias >= 0 ? arg(L, k, a->bias, -1) : DSMLP_OK) : epilogue_args(L, k, m))) return s;
        emit_mixed_spec sp = {m->n, m->k, groups, a ? (!gated && a->bias >= 0 ? EPI_BIAS : EPI_NONE) : m->epi,
                              a ? a->bias >= 0 : m->bias >= 0, !a && m->c >= 0, tokens[v], a && gated,
                              a && gated ? a->act : DSMLP_ACT_GELU_TANH, m->layout == DSMLP_LAYOUT_IN_OUT,
                              a && !gated ? 1 + (int)a->act : 0, one};
        if ((s = emit_unique(L, k, em_mixed, &sp)) != DSMLP_OK) return s;
    }
    return DSMLP_OK;
}

/* The mixed-input variant of GEMM step m, whose weight is dequant node w's output: generated kernels reading w's
** codes and scales themselves, emitted once every step is lowered (mixed_emit: they may absorb a later gated step).
** Operands it cannot serve keep dequantize + cuBLASLt (explain says why). */
static dsmlp_status lower_mixed(lw *L, plan_step *st, const graph_node *w)
{
    plan_gemm *m = &st->gemm;
    const int q = rbuf(L, w->src[0]), sc = rbuf(L, w->src[1]);
    if (q < 0 || sc < 0) return DSMLP_OK;
    const char *why = mixed_unsupported(L, m, w);
    if (why) {   /* explain says why the copy stays at every T */
        dsmlpC_fuse_appendf(st->why, sizeof st->why, "; no mixed-input variant (it %s): the weight is dequantized at every T", why);
        return DSMLP_OK;
    }
    static const int toks[PLAN_MIXED_VARIANTS] = PLAN_MIXED_TOKENS;
    const int64_t tiles = m->n / EMIT_MIXED_ROWS;
    for (int v = 0; v < PLAN_MIXED_VARIANTS; v++)
        if (!add_kernel(L, KERN_MIXED, &m->mixed_kernel[v]) ||
            (PLAN_MIXED_TWO_A_SM(v) && (PLAN_MIXED_ONE_BUILT(tiles) || PLAN_MIXED_SERIAL_TWIN(tiles, toks[v])) &&
             !add_kernel(L, KERN_MIXED, &m->mixed_one[v])))
            return nomem(L);
    m->mixed_q = q, m->mixed_scales = sc;
    return DSMLP_OK;
}

/* Whether group o is a GEMM of a float weight parameter in layout lay (the wgmma kernels read it as stored). */
static int float_gemm(const lw *L, const fuse_group *o, dsmlp_layout lay)
{
    const graph_node *w = o->kind == FG_GEMM ? &L->g->nodes[o->gemm.w] : NULL;
    return w && w->op == DSMLP_OP_PARAM && w->layout == lay;
}

/* Such a GEMM writing value v (writes 1) or reading it as x (writes 0); NULL if none. */
static const fuse_group *float_gemm_at(const lw *L, int v, dsmlp_layout lay, int writes)
{
    for (int i = 0; i < L->r->ngroups; i++) {
        const fuse_group *o = &L->r->groups[i];
        if (float_gemm(L, o, lay) && (writes ? o->out : o->gemm.x) == v) return o;
    }
    return NULL;
}

/* Whether group o reads value v (a source of one of its nodes). */
static int group_reads(const lw *L, const fuse_group *o, int v)
{
    for (int i = 0; i < o->nnodes; i++) {
        const graph_node *n = &L->g->nodes[o->nodes[i]];
        for (int j = 0; j < n->nsrc; j++)
            if (n->src[j] == v) return 1;
    }
    return 0;
}

/* An element-wise activation group (erf-GELU, SiLU: cuBLASLt has no epilogue for them; mixed_emit gives the first
** GEMM's kernels the step) reading value v (reads 1) or writing it (reads 0); NULL if none. */
static const fuse_group *act_group_at(const lw *L, int v, int reads)
{
    for (int i = 0; i < L->r->ngroups; i++) {
        const fuse_group *o = &L->r->groups[i];
        if (o->kind == FG_EW && o->ew.kind == KERN_ACT && (reads ? group_reads(L, o, v) : o->out == v)) return o;
    }
    return NULL;
}

/* The float GEMM whose output activation group a reads; NULL if none. */
static const fuse_group *float_gemm_into(const lw *L, const fuse_group *a, dsmlp_layout lay)
{
    for (int i = 0; a && i < L->r->ngroups; i++) {
        const fuse_group *o = &L->r->groups[i];
        if (float_gemm(L, o, lay) && group_reads(L, a, o->out)) return o;
    }
    return NULL;
}

/* The rows of the first GEMM of the block's pair that GEMM group G belongs to (PLAN_FLOAT_PAIR), 0 if none: one
** [up | gate] GEMM whose output a gated step reads whole and the GEMM reading that step's output ([out,in]: mixed_emit
** gives the first's kernels the gating); or, ungated, a GEMM whose output is the next GEMM's input, its activation in
** the first's epilogue or in an activation step the first's kernels take on, either layout. Both weights float
** parameters of one layout. Not where up and gate are two GEMMs (split_w1): the second GEMM alone on the wgmma kernels
** ran 6-37 us slower than on cuBLASLt (bench/RESULTS.md, fifty-seventh session, gs). */
static int64_t pair_rows(const lw *L, const fuse_group *G)
{
    const dsmlp_layout lay = L->g->nodes[G->gemm.w].layout;
    const fuse_group *first = NULL, *a = act_group_at(L, G->out, 1), *b = act_group_at(L, G->gemm.x, 0);
    if (float_gemm_at(L, G->out, lay, 0) || (a && float_gemm_at(L, a->out, lay, 0))) first = G;   /* G feeds the next */
    else first = b ? float_gemm_into(L, b, lay) : float_gemm_at(L, G->gemm.x, lay, 1);            /* G reads one */
    for (int i = 0; !first && lay == DSMLP_LAYOUT_OUT_IN && i < L->r->ngroups; i++) {
        const fuse_group *o = &L->r->groups[i];
        if (o->kind != FG_GATED || o->gated.in2 >= 0) continue;
        if (o->gated.in == G->out && float_gemm_at(L, o->out, lay, 0)) first = G;    /* G feeds the gated step */
        else if (o->out == G->gemm.x) first = float_gemm_at(L, o->gated.in, lay, 1);  /* G reads its output */
    }
    const int64_t rows = first ? graph_w_out(&L->g->nodes[first->gemm.w]) : 0;
    return rows >= PLAN_FLOAT_PAIR_MIN_ROWS ? rows : 0;
}

/* The same kernels on an f16/bf16 weight parameter as stored (no scales; [in,out]: A MN-major), 64- and 128-token
** widths: they beat cuBLASLt at T = 33..128 ([in,out]: 65..128), on a narrow output from T = 2 and as one of a
** block's pair from T = 3 (exec_mixed.c's rule). Only where max_tokens reaches that range. */
static dsmlp_status lower_wgmma_float(lw *L, const fuse_group *G, plan_step *st)
{
    plan_gemm *m = &st->gemm;
    const plan_buf *B = L->p->bufs;
    m->pair_rows = pair_rows(L, G);
    const int64_t from = PLAN_FLOAT_NARROW(m) ? 2 : PLAN_FLOAT_PAIR(m) ? PLAN_FLOAT_PAIR_MIN_T : PLAN_FLOAT_MIXED_MIN_T(m->layout);
    if (L->p->max_tokens < from && L->p->mixed_mode != 2)
        return DSMLP_OK;
    const char *why = dsmlpC_emit_mixed_unsupported(L->p->arch, m->layout, B[m->w].dtype, B[m->x].dtype, B[m->d].dtype, m->n, m->k);
    if (why) return DSMLP_OK;   /* cuBLASLt, as before */
    for (int v = 0; v < PLAN_MIXED_VARIANTS; v++)
        if (PLAN_MIXED_FLOAT_WIDTH(v) && !add_kernel(L, KERN_MIXED, &m->mixed_kernel[v])) return nomem(L);
    m->mixed_q = m->w, m->mixed_scales = -1;
    return DSMLP_OK;
}

static dsmlp_status lower_gemm(lw *L, const fuse_group *G)
{
    const graph_node *w = &L->g->nodes[G->gemm.w];
    if (w->op != DSMLP_OP_PARAM && w->op != DSMLP_OP_DEQUANT)
        return dsmlpB_err_set(L->ctx, DSMLP_ERR_UNSUPPORTED, "lower: matmul %%%d: the weight %%%d (%s) must be a parameter or a dequant",
                       G->nodes[0], G->gemm.w, dsmlp_op_name(w->op));
    if (!L->r->vals[G->gemm.x].tokens)
        return dsmlpB_err_set(L->ctx, DSMLP_ERR_UNSUPPORTED, "lower: matmul %%%d: x must be a [T, k] activation", G->nodes[0]);
    if (G->gemm.bias >= 0) {
        dsmlp_status s = need_param_vec(L, G->gemm.bias, "bias", G->nodes[0]);
        if (s) return s;
    }
    plan_step *st = new_step(L, STEP_GEMM, G);
    if (!st) return nomem(L);
    plan_gemm *m = &st->gemm;
    m->x = rbuf(L, G->gemm.x), m->w = rbuf(L, G->gemm.w), m->bias = G->gemm.bias >= 0 ? rbuf(L, G->gemm.bias) : -1;
    m->c = G->gemm.c >= 0 ? rbuf(L, G->gemm.c) : -1;
    m->d = wbuf(L, G->out);
    m->n = graph_w_out(w), m->k = graph_w_in(w), m->layout = w->layout, m->epi = G->gemm.epi;
    m->decode_kernel = -1, m->decode_max_T = 0, m->decode_scratch = -1, m->decode_why = NULL;
    m->decode_wide_kernel = -1, m->decode_wide_max_T = 0, m->decode_wide_scratch = -1;
    m->decode_q = m->decode_scales = -1, m->decode_groups = 0;
    for (int v = 0; v < PLAN_MIXED_VARIANTS; v++) m->mixed_kernel[v] = m->mixed_one[v] = -1;
    m->mixed_q = m->mixed_scales = m->mixed_act_out = m->mixed_act_bias = -1, m->mixed_gated = 0, m->pair_rows = 0;
    m->decode_act_out = m->decode_act_bias = -1;
    m->decode_norm = -1;
    if (m->x < 0 || m->w < 0 || (G->gemm.bias >= 0 && m->bias < 0) || (G->gemm.c >= 0 && m->c < 0) || m->d < 0)
        return dsmlpB_err_set(L->ctx, DSMLP_ERR_UNSUPPORTED, "lower: matmul %%%d: an operand has no buffer", G->nodes[0]);
    dsmlp_status s = L->p->decode_max_tokens > 0 ? lower_gemv(L, m, w) : DSMLP_OK;
    if (s == DSMLP_OK && w->op == DSMLP_OP_DEQUANT && L->p->mixed_mode > 0) s = lower_mixed(L, st, w);
    if (s == DSMLP_OK && w->op == DSMLP_OP_PARAM && L->p->mixed_mode > 0) s = lower_wgmma_float(L, G, st);
    return s;
}

/* -------------------------------------------------------------- elemwise */

typedef struct ew_arg { int64_t n; const plan_ew_op *e; } ew_arg;

static dsmlp_status em_ew(lw *L, plan_kernel *k, const void *a, int uniq)
{
    const ew_arg *e = a;
    return dsmlpC_emit_elemwise(L->ctx, L->p, k, e->e, e->n, uniq);
}

static int in_group(const fuse_group *G, int v)
{
    for (int i = 0; i < G->nnodes; i++)
        if (G->nodes[i] == v) return 1;
    return 0;
}

static int leaf_index(int *leaves, int *nleaves, int v)
{
    for (int i = 0; i < *nleaves; i++)
        if (leaves[i] == v) return i;
    if (*nleaves == PLAN_LOWER_MAX_ARGS - 1) return -1;
    leaves[*nleaves] = v;
    return (*nleaves)++;
}

static int ew_push(plan_ew_op *e, plan_ew_node n)
{
    if (e->nnodes == PLAN_EW_MAX_NODES) return -1;
    e->node[e->nnodes] = n;
    return e->nnodes++;
}

/* The node of graph value v inside group G (children first); values outside
** G become leaves, numbered in the order first met. -1 when it does not fit. */
static int ew_node(lw *L, const fuse_group *G, int v, plan_ew_op *e, int *leaves)
{
    if (!in_group(G, v)) {
        int i = leaf_index(leaves, &e->nleaves, v);
        return i < 0 ? -1 : ew_push(e, (plan_ew_node){DSMLP_OP_INPUT, {-1, -1}, i, 0.0});
    }
    const graph_node *n = &L->g->nodes[v];
    int a = -1, b = -1;
    switch (n->op) {
    case DSMLP_OP_ADD: case DSMLP_OP_BIAS:
        if ((a = ew_node(L, G, n->src[0], e, leaves)) < 0 || (b = ew_node(L, G, n->src[1], e, leaves)) < 0) return -1;
        break;
    case DSMLP_OP_SCALE: case DSMLP_OP_GELU_TANH: case DSMLP_OP_GELU_ERF: case DSMLP_OP_RELU: case DSMLP_OP_SILU:
        if ((a = ew_node(L, G, n->src[0], e, leaves)) < 0) return -1;
        break;
    default:
        return -1;
    }
    return ew_push(e, (plan_ew_node){n->op, {a, b}, -1, n->op == DSMLP_OP_SCALE ? n->attr : 0.0});
}

static dsmlp_status lower_ew(lw *L, const fuse_group *G)
{
    int leaves[PLAN_LOWER_MAX_ARGS];
    const fuse_value *ov = &L->r->vals[G->out];
    plan_step *st = new_step(L, STEP_KERNEL, G);
    plan_kernel *k = st ? new_kernel(L, st, G->ew.kind) : NULL;
    if (!k) return nomem(L);
    plan_ew_op *e = &st->op.ew;
    e->root = -1;
    if (G->ew.root >= 0) {
        if ((e->root = ew_node(L, G, G->ew.root, e, leaves)) < 0)
            return dsmlpB_err_set(L->ctx, DSMLP_ERR_UNSUPPORTED,
                           "lower: the element-wise ops ending at %%%d %s need more than %d inputs or a too long expression",
                           G->ew.root, dsmlp_op_name(L->g->nodes[G->ew.root].op), PLAN_LOWER_MAX_ARGS - 1);
    } else {
        for (int i = 0; i < G->ew.nterms; i++) leaves[e->nleaves++] = G->ew.terms[i];
    }
    if (!ov->tokens)
        return dsmlpB_err_set(L->ctx, DSMLP_ERR_UNSUPPORTED, "lower: element-wise result %%%d is not a [T, n] activation", G->out);
    for (int i = 0; i < e->nleaves; i++) {
        const fuse_value *lv = &L->r->vals[leaves[i]];
        if (lv->cols != ov->cols || (!lv->tokens && lv->rows != 1))
            return dsmlpB_err_set(L->ctx, DSMLP_ERR_UNSUPPORTED, "lower: operand %%%d of the element-wise kernel for %%%d is not [T,%lld] or [%lld]",
                           leaves[i], G->out, (long long)ov->cols, (long long)ov->cols);
    }
    st->op.kind = KERN_ELEMWISE;
    if (G->ew.kind == KERN_ACT) {
        static const dsmlp_act acts[] = {[DSMLP_OP_GELU_TANH] = DSMLP_ACT_GELU_TANH, [DSMLP_OP_GELU_ERF] = DSMLP_ACT_GELU_ERF,
                                         [DSMLP_OP_RELU] = DSMLP_ACT_RELU, [DSMLP_OP_SILU] = DSMLP_ACT_SILU};
        const graph_node *R = &L->g->nodes[G->ew.root];
        const graph_node *B = G->nnodes == 2 ? &L->g->nodes[R->src[0]] : NULL;
        st->op.kind = KERN_ACT;
        st->op.act.act = acts[R->op];
        st->op.act.in = rbuf(L, B ? B->src[0] : R->src[0]);
        st->op.act.bias = B ? rbuf(L, B->src[1]) : -1;
        st->op.act.out = wbuf(L, G->out);
        st->op.act.gate = st->op.act.gate_bias = -1;
    }
    /* output first in the signature */
    int ob = wbuf(L, G->out);
    if (ob < 0) return nomem(L);
    dsmlp_status s;
    if ((s = arg(L, k, ob, G->out))) return s;
    for (int i = 0; i < e->nleaves; i++)
        if ((s = arg(L, k, rbuf(L, leaves[i]), leaves[i]))) return s;
    ew_arg ea = {ov->cols, e};
    return emit_unique(L, k, em_ew, &ea);
}

/* ------------------------------------------------------- gated, dequant */

typedef struct gated_arg { dsmlp_act act; int64_t n; } gated_arg;
static dsmlp_status em_gated(lw *L, plan_kernel *k, const void *a, int uniq)
{
    const gated_arg *g = a;
    return dsmlpC_emit_gated(L->ctx, L->p, k, g->act, g->n, uniq);
}

static dsmlp_status lower_gated(lw *L, const fuse_group *G)
{
    dsmlp_status s;
    if (G->gated.bias >= 0 && (s = need_param_vec(L, G->gated.bias, "bias", G->out))) return s;
    if (G->gated.bias2 >= 0 && (s = need_param_vec(L, G->gated.bias2, "bias", G->out))) return s;
    plan_step *st = new_step(L, STEP_KERNEL, G);
    plan_kernel *k = st ? new_kernel(L, st, KERN_GATED) : NULL;
    if (!k) return nomem(L);
    if ((s = arg(L, k, wbuf(L, G->out), G->out)) || (s = arg(L, k, rbuf(L, G->gated.in), G->gated.in))) return s;
    if (G->gated.in2 >= 0 && (s = arg(L, k, rbuf(L, G->gated.in2), G->gated.in2))) return s;   /* gate, apart from up */
    if (G->gated.bias >= 0 && (s = arg(L, k, rbuf(L, G->gated.bias), G->gated.bias))) return s;
    if (G->gated.bias2 >= 0 && (s = arg(L, k, rbuf(L, G->gated.bias2), G->gated.bias2))) return s;
    st->op.kind = KERN_GATED;
    st->op.act = (plan_act_op){G->gated.act, rbuf(L, G->gated.in), G->gated.bias >= 0 ? rbuf(L, G->gated.bias) : -1, wbuf(L, G->out),
                               G->gated.in2 >= 0 ? rbuf(L, G->gated.in2) : -1, G->gated.bias2 >= 0 ? rbuf(L, G->gated.bias2) : -1};
    gated_arg ga = {G->gated.act, L->r->vals[G->out].cols};
    return emit_unique(L, k, em_gated, &ga);
}

static dsmlp_status em_deq(lw *L, plan_kernel *k, const void *a, int uniq)
{
    return dsmlpC_emit_dequant(L->ctx, L->p, k, *(const int64_t *)a, uniq);
}

static dsmlp_status lower_dequant(lw *L, const fuse_group *G)
{
    plan_step *st = new_step(L, STEP_KERNEL, G);
    plan_kernel *k = st ? new_kernel(L, st, KERN_DEQUANT) : NULL;
    if (!k) return nomem(L);
    dsmlp_status s;
    if ((s = arg(L, k, wbuf(L, G->out), G->out)) || (s = arg(L, k, rbuf(L, G->deq.q), G->deq.q)) ||
        (s = arg(L, k, rbuf(L, G->deq.scales), G->deq.scales)))
        return s;
    st->op.kind = KERN_DEQUANT;
    st->op.deq = (plan_deq_op){rbuf(L, G->deq.q), rbuf(L, G->deq.scales), wbuf(L, G->out), G->deq.groups};
    return emit_unique(L, k, em_deq, &G->deq.groups);
}

static dsmlp_status lower_all_reduce(lw *L, const fuse_group *G)
{
    plan_step *st = new_step(L, STEP_ALL_REDUCE, G);
    if (!st) return nomem(L);
    st->buf = rbuf(L, G->ar.in);
    if (st->buf < 0 || L->p->bufs[st->buf].kind == BUF_INPUT || L->p->bufs[st->buf].kind == BUF_PARAM)
        return dsmlpB_err_set(L->ctx, DSMLP_ERR_UNSUPPORTED, "lower: all_reduce %%%d has no writable buffer", G->out);
    return DSMLP_OK;
}

/* ------------------------------------------------------ gated, mixed */

/* The activation step of kind `kind` that is the only reader of GEMM step i's output, where the GEMM has no epilogue of
** its own and writes a workspace buffer, the step writing d's dtype; -1 when there is none. KERN_GATED: a gated step
** reading d as [up | gate]; KERN_ACT: act(d + bias) with a vector bias, an activation cuBLASLt has no epilogue for
** (erf-GELU, SiLU). The kernels that serve the GEMM (mixed-input / wgmma, decode GEMV) can apply the step instead. */
static int act_reader(const plan *p, int i, plan_kernel_kind kind)
{
    const plan_gemm *m = &p->steps[i].gemm;
    if (m->epi != EPI_NONE || m->bias >= 0 || m->c >= 0 || p->bufs[m->d].kind != BUF_WORK) return -1;
    int j = -1, others = 0;
    for (int t = 0; t < p->nsteps; t++) {
        const plan_step *o = &p->steps[t];
        if (t == i || !dsmlpC_plan_step_reads(p, o, m->d)) continue;
        if (j < 0 && o->kind == STEP_KERNEL && o->op.kind == kind && o->op.act.in == m->d &&
            (kind != KERN_GATED || o->op.act.gate < 0))
            j = t;
        else
            others++;
    }
    if (j < 0 || others) return -1;
    const plan_act_op *a = &p->steps[j].op.act;
    const int vector_bias = a->bias < 0 || (!p->bufs[a->bias].tokens && p->bufs[a->bias].rows == 1);
    return p->bufs[a->out].dtype == p->bufs[m->d].dtype && (kind == KERN_GATED || vector_bias) ? j : -1;
}

/* The activation step GEMM step i's kernels take on (act_reader): a gated one where gated_ok, else an element-wise
** one; -1: none. *gated says which. */
static int act_follower(const plan *p, int i, int gated_ok, int *gated)
{
    const int j = gated_ok ? act_reader(p, i, KERN_GATED) : -1;
    *gated = j >= 0;
    return j >= 0 ? j : act_reader(p, i, KERN_ACT);
}

/* Emits every GEMM step's mixed-input kernels (lower_mixed reserved them). Where an activation step follows (act_reader)
** they apply it themselves and write its output (a gated step: no [T, 2I] intermediate, no gated kernel; an element-wise
** one: no [T, n] pass); the runtime skips the step wherever they run (exec_mixed.c), cuBLASLt keeps the two steps. */
static dsmlp_status mixed_emit(lw *L)
{
    plan *p = L->p;
    for (int i = 0; i < p->nsteps; i++) {
        plan_step *st = &p->steps[i];
        plan_gemm *m = &st->gemm;
        if (st->kind != STEP_GEMM || !PLAN_GEMM_HAS_MIXED(m)) continue;
        int64_t groups = m->mixed_scales < 0;   /* the dequant step's (float weights: one group, no scales) */
        for (int t = 0; t < p->nsteps; t++)
            if (p->steps[t].kind == STEP_KERNEL && p->steps[t].op.kind == KERN_DEQUANT && p->steps[t].op.deq.out == m->w)
                groups = p->steps[t].op.deq.groups;
        int gated;
        const int j = act_follower(p, i, 1, &gated);
        const plan_act_op *a = j >= 0 ? &p->steps[j].op.act : NULL;
        dsmlp_status s = emit_mixed_variants(L, m, groups, a, gated);
        if (s != DSMLP_OK) return s;
        if (!a) continue;
        m->mixed_act_out = a->out, m->mixed_act_bias = a->bias, m->mixed_gated = gated;
        dsmlpC_fuse_appendf(st->why, sizeof st->why, "; its %s kernels also apply step %d's %s (%s)",
                            m->mixed_scales >= 0 ? "mixed-input" : "wgmma", j, gated ? "gating" : "bias and activation",
                            p->steps[j].label);
    }
    return DSMLP_OK;
}

/* The decode GEMV of GEMM step i may take on two neighbours (the kernel is emitted again in place):
** - the activation step that follows: a gated one ([out,in] weights), writing its output y[T, I] =
**   (up + bu) * act(gate + bg): no [T, 2I] intermediate and no gated kernel at T <= decode_max_T; or an element-wise
**   one (either layout), act(x·W + bias) in the GEMV's epilogue: no activation kernel there;
** - the norm step that writes x, where nothing else reads x, every addend is the caller's (an input or a parameter)
**   and the sum output a workspace buffer (block 0 writes it: it must not overwrite an addend other blocks still
**   read), without extra addends, and x for decode_max_T rows fits the GEMV's stage whole: every block computes the
**   norm of the T rows into its stage (their statistics are cheap), so the norm kernel and its launch go.
** The runtime skips those steps where the GEMV runs (exec_run.c). */
static int gemv_norm_step(const plan *p, int i, int *writes_x)
{
    const plan_gemm *m = &p->steps[i].gemm;
    if (p->bufs[m->x].kind != BUF_WORK) return -1;
    int j = -1, before = 0, after = 0;   /* other readers of x before and after the GEMM step */
    for (int t = 0; t < p->nsteps; t++) {
        const plan_step *o = &p->steps[t];
        if (o->kind == STEP_KERNEL && o->op.kind == KERN_NORM && o->op.norm.out == m->x) j = t;
        else if (t != i && dsmlpC_plan_step_reads(p, o, m->x)) *(t < i ? &before : &after) += 1;
    }
    /* readers after it (a post-LN block's residual): the GEMV's block 0 writes x as the norm step would have */
    if (j < 0 || j > i || before) return -1;
    *writes_x = after > 0;
    const plan_norm_op *no = &p->steps[j].op.norm;
    int ok = no->nextra == 0 && (no->side < 0 || p->bufs[no->side].kind == BUF_WORK);
    for (int t = 0; t < no->nterms; t++) ok &= p->bufs[no->terms[t]].kind == BUF_INPUT || p->bufs[no->terms[t]].kind == BUF_PARAM;
    const size_t xsz = dsmlp_dtype_size(p->bufs[m->x].dtype);
    return ok && (size_t)m->decode_max_T * (size_t)((m->k + 15) / 16 * 16) * xsz <= EMIT_GEMV_XS_BYTES ? j : -1;
}

static dsmlp_status gemv_fuse(lw *L)
{
    plan *p = L->p;
    for (int i = 0; i < p->nsteps; i++) {
        plan_step *st = &p->steps[i];
        plan_gemm *m = &st->gemm;
        if (st->kind != STEP_GEMM || m->decode_kernel < 0) continue;
        int gated, jg = act_follower(p, i, m->layout == DSMLP_LAYOUT_OUT_IN, &gated);
        const plan_act_op *a = jg >= 0 ? &p->steps[jg].op.act : NULL;
        if (a && (!gemv_dtype(p->bufs[a->out].dtype) || (a->bias >= 0 && !gemv_dtype(p->bufs[a->bias].dtype)))) a = NULL, jg = -1;
        int writes_x = 0;
        const int jn = gemv_norm_step(p, i, &writes_x);
        const plan_norm_op *no = jn >= 0 ? &p->steps[jn].op.norm : NULL;
        if (!a && !no) continue;
        const emit_norm_spec ns = no ? (emit_norm_spec){no->rms, p->bufs[no->out].cols, no->eps, no->side >= 0, no->beta >= 0,
                                                        no->nterms, 0, no->gamma_offset, writes_x}
                                     : (emit_norm_spec){0};
        /* a gated follower makes a gated GEMV (its bias the gated step's); an element-wise one, the epilogue
        ** act(x·W + bias) with the step's bias */
        emit_gemv_spec sp = {m->n, m->k, m->layout, a ? (!gated && a->bias >= 0 ? EPI_BIAS : EPI_NONE) : m->epi,
                             a ? a->bias >= 0 : m->bias >= 0, !a && m->c >= 0, (int)m->decode_max_T, a && gated,
                             a ? a->act : DSMLP_ACT_SILU, no ? &ns : NULL, m->decode_q >= 0 ? m->decode_groups : 0,
                             a && !gated ? 1 + (int)a->act : 0};
        /* the split lower_gemv chose, unless the norm now keeps k whole */
        dsmlp_status s = gemv_scratch(L, &sp, m, m->decode_kernel, &m->decode_scratch);
        if (s == DSMLP_OK) s = gemv_build(L, m, m->decode_kernel, &sp, a, no, m->decode_scratch);
        if (s != DSMLP_OK) return s;
        if (a && m->decode_wide_kernel >= 0) {   /* the wide GEMV applies the activation too, never the norm */
            sp.max_t = PLAN_DECODE_WIDE_BUILD_T, sp.norm = NULL;
            if ((s = gemv_scratch(L, &sp, m, m->decode_wide_kernel, &m->decode_wide_scratch)) ||
                (s = gemv_build(L, m, m->decode_wide_kernel, &sp, a, NULL, m->decode_wide_scratch)))
                return s;
        }
        if (a) {
            m->decode_act_out = a->out, m->decode_act_bias = a->bias;
            dsmlpC_fuse_appendf(st->why, sizeof st->why, "; its decode GEMV also applies step %d's %s (%s)", jg,
                                gated ? "gating" : "bias and activation", p->steps[jg].label);
        }
        if (no) {
            m->decode_norm = jn;
            dsmlpC_fuse_appendf(st->why, sizeof st->why, "; its decode GEMV also computes step %d's norm (%s)%s", jn,
                                p->steps[jn].label, writes_x ? " and writes it for the later steps" : "");
        }
    }
    return DSMLP_OK;
}

/* ------------------------------------------------------------------ entry */

dsmlp_status dsmlpC_lower_plan(dsmlp_ctx *ctx, const fuse_result *r, plan *p)
{
    lw L = {ctx, r, r->g, p, NULL, 0, 0, 0, 0};
    L.bufof = malloc(((size_t)r->nvals + 1) * sizeof *L.bufof);
    if (!L.bufof) return nomem(&L);
    for (int v = 0; v < r->nvals; v++) L.bufof[v] = -1;
    dsmlp_status s = DSMLP_OK;
    const dsmlp_graph *g = r->g;
    /* Named buffers: live inputs and params, then outputs, in graph order. */
    for (int v = 0; v < g->n; v++) {
        dsmlp_op o = g->nodes[v].op;
        /* every declared name, read or not: each rank binds the same names */
        if (o != DSMLP_OP_INPUT && o != DSMLP_OP_PARAM) continue;
        if ((L.bufof[v] = add_buf(&L, o == DSMLP_OP_INPUT ? BUF_INPUT : BUF_PARAM, g->nodes[v].name, &r->vals[v])) < 0)
            goto oom;
    }
    for (int v = 0; v < r->nvals; v++) {
        int o = r->vals[v].output;
        if (o < 0) continue;
        if ((L.bufof[v] = add_buf(&L, BUF_OUTPUT, g->nodes[o].name, &r->vals[v])) < 0) goto oom;
    }
    for (int i = 0; i < r->ngroups && s == DSMLP_OK; i++) {
        const fuse_group *G = &r->groups[r->order[i]];
        switch (G->kind) {
        case FG_NORM: s = lower_norm(&L, G); break;
        case FG_GEMM: s = lower_gemm(&L, G); break;
        case FG_EW: s = lower_ew(&L, G); break;
        case FG_GATED: s = lower_gated(&L, G); break;
        case FG_DEQUANT: s = lower_dequant(&L, G); break;
        case FG_ALL_REDUCE: s = lower_all_reduce(&L, G); break;
        }
    }
    if (s == DSMLP_OK) s = mixed_emit(&L);
    if (s == DSMLP_OK) s = gemv_fuse(&L);
    free(L.bufof);
    return s;
oom:
    free(L.bufof);
    return nomem(&L);
}
