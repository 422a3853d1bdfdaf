/*
** route.c — the small-T route: the plan's steps again, with each eligible GEMM
** replaced by a weight-streaming kernel (templates/stream.cu) that also takes
** the norm before it (prologue) and the activation or gating after it
** (epilogue), and each int8 dequant folded into the GEMM that reads it.
** Pure data work on the lowered plan: which steps fuse, which buffers the
** kernels read, which variants exist. The runtime picks per token bucket.
*/
#include "route.h"
#include "emit.h"
#include "error.h"
#include "grow.h"
#include "fuse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Tile shapes tried per layout (elements per load or 16-row tiles, warps across columns x across k). */
/* Tile shapes tried per layout (elements per load or 16-row tiles, warps across columns x across k), each as a
** kernel for T <= 8 (registers for 2 blocks per SM: twice the warps to hide the memory latency) and one for
** larger T (one block per SM, room for the accumulators). */
typedef struct variant { int el, mt, lpr, wn, wk, nt_lo, nt_hi, minb, pipe, wt; } variant;   /* wt: 1 but in the T <= 128 ring */
/* Measured on an H200 (bench/RESULTS.md): at T <= 8 the narrow tile (variant 0) and the wide one (1) each win
** somewhere; above, the narrow tile with one block per SM (2) ahead of (3), which serves small blocks. Variants
** 4 and 5 serve T <= 32 with two blocks per SM like 0 and 1: warps per SM, not tile shape, decided T <= 8 (one
** block of 8 warps per SM ran the same tile 1.7x slower at T = 1). */
static const variant io_variants[] = {{8, 4, 1, 2, 4, 1, 1, 2, 0, 1}, {8, 8, 2, 2, 4, 1, 1, 2, 0, 1}, {8, 4, 1, 2, 4, 4, 16, 1, 0, 1},
                                      {4, 2, 1, 4, 2, 4, 16, 1, 0, 1}, {4, 2, 1, 4, 2, 4, 4, 2, 0, 1}, {4, 2, 1, 2, 4, 4, 4, 2, 0, 1}};
static const variant oi_variants[] = {{8, 2, 1, 2, 4, 1, 1, 2, 0, 1}, {8, 1, 2, 4, 2, 1, 1, 2, 0, 1}, {8, 2, 1, 2, 4, 4, 16, 1, 0, 1},
                                      {8, 1, 1, 4, 2, 4, 16, 1, 0, 1}, {8, 2, 1, 2, 4, 4, 4, 2, 0, 1}, {8, 1, 2, 4, 2, 4, 4, 2, 0, 1}};
/* stream_pipe: W through a shared-memory ring fed by a producer warp with >= 1 KiB bulk copies per row (sm_90,
** [out,in]), one block per SM, one 8-element piece per row per lane; bodies for T <= 8 and 16 (and a separate
** 8-warp ring kernel with bodies up to T = 64: add_wide_ring). Built unless stream_pipe = 0; faster than the
** register-fed variants with int8 and fp8 weights on the H200 (bench/RESULTS.md, docs/stream.md). Two sizes:
** 16 consumer warps (2 x 8; with the producer 17 warps, 5 on one scheduler, so 96 registers a thread), faster at
** T = 9..16; and 8 (2 x 4; 9 warps, up to 168 registers), 2-6% faster at T <= 8 (GELU-4096 int8 T = 1 59.4-60.2
** vs 62.9 us). Two pieces per row per lane measured level with one and were dropped. */
/* (A wide ring of 128-row tiles fed by four cp.async producer warps for T <= 32 was slower than these and the
** register-fed bodies at every T on the H200; removed, docs/stream.md.) */
static const variant oi_pipe_variants[] = {{8, 1, 1, 2, 8, 1, 2, 1, 1, 1}, {8, 1, 1, 2, 4, 1, 2, 1, 1, 1}};

/* 0: the norm before a stream GEMM stays its own kernel (-D for measurements only). */
#ifndef DSMLP_STREAM_NORM_FUSE
#define DSMLP_STREAM_NORM_FUSE 1
#endif

typedef struct rb {
    dsmlp_ctx *ctx;
    plan      *p;
    int        capsteps, capbufs, capkernels;
    int        part;            /* the shared partial-sums scratch buffer     */
    int       *skip;            /* [nsteps]: main step folded elsewhere        */
    int        max_nt;
    int        pipe;            /* also the shared-memory-ring variants       */
} rb;

int dsmlpC_plan_step_reads(const plan *p, const plan_step *s, int b)
{
    if (b < 0) return 0;
    if (s->kind == STEP_GEMM)
        return s->gemm.x == b || s->gemm.w == b || s->gemm.bias == b || s->gemm.c == b;
    if (s->kind == STEP_ALL_REDUCE) return s->buf == b;
    const plan_kernel *k = &p->kernels[s->kind == STEP_STREAM ? s->stream.variant[0] : s->kernel];
    for (int a = 0; a < k->nargs; a++)
        if (k->args[a] == b) return 1;
    return 0;
}

/* Steps of the main route other than those in [lo, hi] and `also` that read buffer b. */
static int read_elsewhere_but(const plan *p, int b, int lo, int hi, int also)
{
    for (int i = 0; i < p->nsteps; i++)
        if ((i < lo || i > hi) && i != also && dsmlpC_plan_step_reads(p, &p->steps[i], b)) return 1;
    for (int i = 0; i < p->nbufs; i++)   /* an output or named buffer is read by the caller */
        if (i == b && p->bufs[i].kind != BUF_WORK) return 1;
    return 0;
}

static int read_elsewhere(const plan *p, int b, int lo, int hi) { return read_elsewhere_but(p, b, lo, hi, -1); }

static int float_dt(dsmlp_dtype t) { return t == DSMLP_F32 || t == DSMLP_F16 || t == DSMLP_BF16; }
static int mma_dt(dsmlp_dtype t) { return t == DSMLP_F16 || t == DSMLP_BF16; }


static int add_scratch(rb *R, const char *name, size_t bytes, int per_block)
{
    return dsmlpC_plan_add_scratch(R->p, &R->capbufs, name, bytes, per_block);
}

/* What one stream step computes, before its variants are emitted. */
typedef struct cand {
    const plan_gemm *g;
    const plan_norm_op *norm;     /* fused prologue, or NULL                 */
    const plan_act_op *fol;       /* fused activation/gating, or NULL        */
    int gated;
    const plan_deq_op *deq;       /* int8 weight folded in, or NULL          */
    int first, last;
    int d;                        /* buffer the kernel writes                */
} cand;

static const char *why_not(rb *R, const cand *c, char *buf, size_t cap)
{
    const plan *p = R->p;
    const plan_gemm *g = c->g;
    const plan_buf *B = p->bufs;
    dsmlp_dtype xt = c->norm ? B[c->norm->out].dtype : B[g->x].dtype;
    dsmlp_dtype wt = c->deq ? B[c->deq->q].dtype : B[g->w].dtype;
    int64_t n = c->gated ? g->n / 2 : g->n;
    if (!mma_dt(xt)) snprintf(buf, cap, "%s activations (the tensor-core stream kernels take f16/bf16)", dsmlp_dtype_name(xt));
    else if (!c->deq && wt != xt) snprintf(buf, cap, "%s weight with %s activations", dsmlp_dtype_name(wt), dsmlp_dtype_name(xt));
    else if (!float_dt(B[c->d].dtype)) snprintf(buf, cap, "%s output", dsmlp_dtype_name(B[c->d].dtype));
    else if (g->k % 8 || n % 8) snprintf(buf, cap, "n = %lld, k = %lld: both must be multiples of 8 (16-byte rows)", (long long)n, (long long)g->k);
    else if (g->bias >= 0 && !float_dt(B[g->bias].dtype)) snprintf(buf, cap, "bias dtype");
    else if (c->deq && B[c->deq->q].dtype == DSMLP_FP8_E4M3 && !dsmlpC_arch_fp8_cvt(p))
        snprintf(buf, cap, "fp8 weights on %s (the stream kernels convert e4m3 with sm_89's cvt)", p->arch);
    else return NULL;
    return buf;
}

/* Norm fusion needs every addend in the GEMM's activation dtype. */
static int norm_ok(const plan *p, const plan_norm_op *no, dsmlp_dtype xt)
{
    int tensors = 0;
    for (int i = 0; i < no->nterms; i++) {
        const plan_buf *b = &p->bufs[no->terms[i]];
        if (b->dtype != xt) return 0;
        tensors += b->tokens;
    }
    for (int i = 0; i < no->nextra; i++)
        if (p->bufs[no->extra[i]].dtype != xt) return 0;
    if (no->side >= 0 && p->bufs[no->side].dtype != xt) return 0;
    return tensors > 0 && p->bufs[no->out].dtype == xt;
}

/* Buffer b as the kernel's next argument (once, with `once`: a fused kernel's two phases share buffers); its index. */
static int kernel_arg_once(plan_kernel *k, int b, int once)
{
    if (b < 0) return -1;
    for (int a = 0; once && a < k->nargs; a++)
        if (k->args[a] == b) return a;
    if (k->nargs == PLAN_MAX_ARGS) {   /* counted, not stored: the caller refuses the kernel */
        k->nargs++;
        return -1;
    }
    k->args[k->nargs] = b;
    return k->nargs++;
}

/* What candidate c computes with tile variant v, as the emitter's spec (no arguments yet). */
static void spec_shape(const rb *R, const cand *c, const variant *v, emit_stream_spec *out)
{
    const plan *p = R->p;
    const plan_gemm *g = c->g;
    emit_stream_spec s;
    memset(&s, -1, sizeof s);
    s.fused_part = 0;
    s.io = g->layout == DSMLP_LAYOUT_IN_OUT;
    s.gated = c->gated;
    s.n = c->gated ? g->n / 2 : g->n;
    s.k = g->k;
    s.ldw = s.io ? g->n : g->k;
    s.sep_gate = 0;
    s.gate_off = c->gated ? (s.io ? s.n : s.n * g->k) : 0;
    s.el = v->el, s.mt = v->mt, s.lpr = v->lpr, s.wn = v->wn, s.wk = v->wk;
    s.max_nt = R->max_nt, s.nt_lo = v->nt_lo, s.nt_hi = v->nt_hi, s.min_blocks = v->minb;
    s.pipe = v->pipe;
    s.wt = v->wt;
    s.norm = c->norm ? (c->norm->rms ? 2 : 1) : 0;
    s.eps = c->norm ? c->norm->eps : 0.0;
    s.goff = c->norm ? c->norm->gamma_offset : 0.0;
    s.has_beta = c->norm && c->norm->beta >= 0;
    s.has_side = c->norm && c->norm->side >= 0;
    s.nterms = c->norm ? c->norm->nterms : 0;
    s.nextra = c->norm ? c->norm->nextra : 0;
    static const int act_code[] = {[DSMLP_ACT_GELU_TANH] = 2, [DSMLP_ACT_GELU_ERF] = 3, [DSMLP_ACT_RELU] = 1,
                                   [DSMLP_ACT_SILU] = 4};
    s.act = c->fol ? act_code[c->fol->act]
                   : g->epi == EPI_RELU || g->epi == EPI_RELU_BIAS ? 1 : g->epi == EPI_GELU || g->epi == EPI_GELU_BIAS ? 2 : 0;
    int bias = c->fol ? c->fol->bias : g->bias;
    s.has_bias = bias >= 0;
    s.has_c = g->c >= 0;
    s.quant = !c->deq ? 0 : p->bufs[c->deq->q].dtype == DSMLP_FP8_E4M3 ? 2 : 1;   /* 2: fp8 e4m3 */
    s.has_scale = c->deq != NULL;
    s.sep_scale = 0;
    s.scale_div = c->deq ? (c->gated ? 2 * s.n : s.n) / c->deq->groups : 1;
    *out = s;
}

/* The arguments the kernel writes (they come first: the emitter declares them non-const). */
static void spec_outputs(const rb *R, const cand *c, int cnt, plan_kernel *k, emit_stream_spec *s, int once)
{
    s->a_d = kernel_arg_once(k, c->d, once);
    s->a_side = s->has_side ? kernel_arg_once(k, c->norm->side, once) : -1;
    s->a_part = kernel_arg_once(k, R->part, once);
    s->a_cnt = kernel_arg_once(k, cnt, once);
}

/* ... and those it reads. */
static void spec_inputs(const rb *R, const cand *c, plan_kernel *k, emit_stream_spec *s, int once)
{
    const plan *p = R->p;
    const plan_gemm *g = c->g;
    s->a_x = c->norm ? -1 : kernel_arg_once(k, g->x, once);
    s->a_gamma = c->norm ? kernel_arg_once(k, c->norm->gamma, once) : -1;
    s->a_beta = s->has_beta ? kernel_arg_once(k, c->norm->beta, once) : -1;
    for (int i = 0; i < s->nterms; i++) {
        s->a_term[i] = kernel_arg_once(k, c->norm->terms[i], once);
        s->term_vec[i] = !p->bufs[c->norm->terms[i]].tokens;
    }
    for (int i = 0; i < s->nextra; i++) {
        s->a_extra[i] = kernel_arg_once(k, c->norm->extra[i], once);
        s->extra_vec[i] = !p->bufs[c->norm->extra[i]].tokens;
    }
    s->a_wu = kernel_arg_once(k, c->deq ? c->deq->q : g->w, once);
    s->a_wg = -1;
    s->a_bias = kernel_arg_once(k, c->fol ? c->fol->bias : g->bias, once);
    s->a_c = kernel_arg_once(k, g->c, once);
    s->a_su = c->deq ? kernel_arg_once(k, c->deq->scales, once) : -1;
    s->a_sg = -1;
}

/* Emits kernel k (already in p->kernels[p->nkernels], its spec made) under a name no other kernel with another
** source has; fused: with s2 as its second phase. */
static dsmlp_status emit_named(rb *R, plan_kernel *k, const emit_stream_spec *s, const emit_stream_spec *s2, int a_gbar,
                               int nout, int *out_kernel)
{
    plan *p = R->p;
    int idx = p->nkernels++;
    for (int uniq = 0; uniq < 100; uniq++) {
        dsmlp_status st = s2 ? dsmlpC_emit_stream_fused(R->ctx, p, k, s, s2, a_gbar, nout, uniq)
                             : dsmlpC_emit_stream(R->ctx, p, k, s, uniq);
        if (st != DSMLP_OK) {
            p->nkernels--;
            free(k->source);
            k->source = NULL;
            return st;
        }
        int clash = 0;
        for (int i = 0; i < idx && !clash; i++)
            clash = !strcmp(p->kernels[i].name, k->name) && strcmp(p->kernels[i].source, k->source);
        if (!clash) break;
        free(k->source);
        k->source = NULL;
    }
    if (!k->source) return dsmlpB_err_set(R->ctx, DSMLP_ERR_UNSUPPORTED, "route: too many kernels named %s", k->name);
    *out_kernel = idx;
    return DSMLP_OK;
}

static plan_kernel *new_kernel(rb *R)
{
    plan *p = R->p;
    if (dsmlpB_grow((void **)&p->kernels, &R->capkernels, p->nkernels, sizeof *p->kernels)) return NULL;
    plan_kernel *k = &p->kernels[p->nkernels];
    memset(k, 0, sizeof *k);
    return k;
}

static dsmlp_status emit_variant(rb *R, const cand *c, const variant *v, int cnt, int *out_kernel)
{
    plan_kernel *k = new_kernel(R);
    if (!k) return dsmlpB_err_set(R->ctx, DSMLP_ERR_NOMEM, "route: out of memory");
    emit_stream_spec s;
    spec_shape(R, c, v, &s);
    spec_outputs(R, c, cnt, k, &s, 0);
    spec_inputs(R, c, k, &s, 0);
    if (k->nargs > PLAN_MAX_ARGS)
        return dsmlpB_err_set(R->ctx, DSMLP_ERR_UNSUPPORTED, "route: a stream kernel would need %d arguments", k->nargs);
    return emit_named(R, k, &s, NULL, -1, 0, out_kernel);
}

/* One persistent kernel for ring variant v of two consecutive stream steps (c1's output is c2's x). */
static dsmlp_status emit_fused(rb *R, const cand *c1, int cnt1, const cand *c2, int cnt2, const variant *v, int gbar,
                               int *out_kernel)
{
    plan_kernel *k = new_kernel(R);
    if (!k) return dsmlpB_err_set(R->ctx, DSMLP_ERR_NOMEM, "route: out of memory");
    emit_stream_spec s1, s2;
    spec_shape(R, c1, v, &s1);
    spec_shape(R, c2, v, &s2);
    spec_outputs(R, c1, cnt1, k, &s1, 1);
    spec_outputs(R, c2, cnt2, k, &s2, 1);
    const int a_gbar = kernel_arg_once(k, gbar, 1), nout = k->nargs;
    spec_inputs(R, c1, k, &s1, 1);
    spec_inputs(R, c2, k, &s2, 1);
    if (k->nargs > PLAN_MAX_ARGS)
        return dsmlpB_err_set(R->ctx, DSMLP_ERR_UNSUPPORTED, "route: a fused stream kernel would need more than %d arguments",
                              PLAN_MAX_ARGS);
    return emit_named(R, k, &s1, &s2, a_gbar, nout, out_kernel);
}

/* The main-route step i as a candidate for a stream step (and the steps it absorbs), or 0. */
static int find_cand(rb *R, int i, cand *c, char *why, size_t cap)
{
    plan *p = R->p;
    memset(c, 0, sizeof *c);
    c->first = i;
    int gi = i, ng = i + 1;
    const plan_step *s = &p->steps[i];
    /* int8 plans dequantize W1 between the norm and the GEMM; that step folds into the GEMM (checked below) */
    while (ng < p->nsteps && p->steps[ng].kind == STEP_KERNEL && p->steps[ng].op.kind == KERN_DEQUANT) ng++;
    if (ng < p->nsteps && p->steps[ng].kind == STEP_GEMM)
        for (int q = i + 1; q < ng; q++)
            if (p->steps[q].op.deq.out != p->steps[ng].gemm.w) ng = p->nsteps;   /* another weight's: no fusion */
    if (DSMLP_STREAM_NORM_FUSE && s->kind == STEP_KERNEL && s->op.kind == KERN_NORM && ng < p->nsteps && p->steps[ng].kind == STEP_GEMM &&
        p->steps[ng].gemm.x == s->op.norm.out && !read_elsewhere(p, s->op.norm.out, i, ng) &&
        norm_ok(p, &s->op.norm, p->bufs[s->op.norm.out].dtype)) {
        c->norm = &s->op.norm;
        gi = ng;
    } else if (s->kind != STEP_GEMM) {
        return 0;
    }
    c->g = &p->steps[gi].gemm;
    c->last = gi;
    c->d = c->g->d;
    /* the dequant that made the weight, when only this GEMM reads it */
    for (int q = 0; q < gi; q++) {
        const plan_step *D = &p->steps[q];
        if (D->kind == STEP_KERNEL && D->op.kind == KERN_DEQUANT && D->op.deq.out == c->g->w &&
            !read_elsewhere_but(p, c->g->w, gi, gi, q))
            c->deq = &D->op.deq;
    }
    if (c->norm && gi > i + 1 && !c->deq) return 0;   /* the dequant between them must fold */
    int f = gi + 1;
    if (f < p->nsteps && p->steps[f].kind == STEP_KERNEL && c->g->epi == EPI_NONE && c->g->c < 0 && c->g->bias < 0) {
        const plan_step *F = &p->steps[f];
        /* gating fuses when this GEMM wrote [up | gate]; separate up and gate (act.gate >= 0) stay a kernel */
        if ((F->op.kind == KERN_ACT || F->op.kind == KERN_GATED) && F->op.act.in == c->g->d && F->op.act.gate < 0 &&
            !read_elsewhere(p, c->g->d, gi, f) && (F->op.act.bias < 0 || float_dt(p->bufs[F->op.act.bias].dtype))) {
            c->fol = &F->op.act;
            c->gated = F->op.kind == KERN_GATED;
            c->d = F->op.act.out;
            c->last = f;
        }
    }
    if (why_not(R, c, why, cap)) return 0;
    if (c->deq) {
        const plan_buf *q = &p->bufs[c->deq->q];
        int64_t rows = q->rows;
        if (c->deq->groups <= 0 || rows % c->deq->groups) return 0;
    }
    return 1;
}

int dsmlpC_route_step_runs(const plan *p, const plan_step *s, int k_next)
{
    return !s->norm_for || k_next < 0 || !p->kernels[k_next].sk_norm;
}

/* Kernel ki becomes the next variant of stream step `step`; the step's tile counters and the shared partial sums
** grow to cover it. */
static void step_add_variant(plan *p, int step, int ki, size_t *part_bytes)
{
    plan_step *s = &p->ssteps[step];
    const plan_kernel *k = &p->kernels[ki];
    plan_buf *cnt = &p->bufs[s->stream.counters];
    s->stream.variant[s->stream.nvariants++] = ki;
    if ((size_t)k->sk_tiles * 4 > cnt->ws_bytes) cnt->ws_bytes = (size_t)k->sk_tiles * 4, cnt->cols = k->sk_tiles;
    if (k->sk_part_bytes > *part_bytes) *part_bytes = k->sk_part_bytes;
}

/* The most token tiles any variant of stream step s serves. */
static int step_max_nt(const plan *p, const plan_step *s)
{
    int nt = 0;
    for (int v = 0; v < s->stream.nvariants; v++)
        if (p->kernels[s->stream.variant[v]].sk_maxnt > nt) nt = p->kernels[s->stream.variant[v]].sk_maxnt;
    return nt;
}

static plan_step *push_step(rb *R)
{
    plan *p = R->p;
    if (dsmlpB_grow((void **)&p->ssteps, &R->capsteps, p->nssteps, sizeof *p->ssteps)) return NULL;
    return &p->ssteps[p->nssteps++];
}

/* Whether candidate c can take a W ring variant with lpr pieces per row per lane: the ring copies whole load
** groups of [out,in] rows that stay 16-byte aligned (R->pipe: sm_90 and stream_pipe). */
static int ring_applies(const rb *R, const cand *c, int lpr)
{
    const dsmlp_dtype wt = R->p->bufs[c->deq ? c->deq->q : c->g->w].dtype;
    return R->pipe && c->g->layout != DSMLP_LAYOUT_IN_OUT && c->g->k % (32 * lpr) == 0 &&
           c->g->k * (int64_t)dsmlp_dtype_size(wt) % 16 == 0;
}

/* A stream step as made: its candidate, tile counters, ssteps index and its ring variants' kernels (-1: none). */
typedef struct made { cand c; int cnt, sstep; int ring[2]; } made;

/* The W ring for T <= 64 (docs/stream.md): every stream step with the 8-warp ring also gets it with bodies up to T = 64,
** as its own kernel (adding those bodies to the T <= 16 kernel made it 1.5-2 us slower at T <= 8 on an H200), at the
** same index in every step (plan_stream.wide_v), so a variant index names one configuration of the route. A step
** with the norm in its prologue gets it without the norm: the prologue keeps all of x resident in shared memory,
** which leaves no room for the T <= 32 and 64 bodies at K = 4096, so the kernel reads the norm's output through the
** stages like any x, and the norm step stays before it, run only when the picked kernel does not normalize. Measured
** on an H200 (bench/RESULTS.md): 1.7-1.9x faster than the register-fed kernels at T = 17..32, slower than the
** prologue norm at T <= 8 (the norm kernel's launch and its trip through L2). */
static const variant wide_pipe_variant = {8, 1, 1, 2, 4, 1, 8, 1, 1, 1};
/* The T <= 128 ring (templates/stream.cu ds_body_tall): 4 warps across 128-row tiles (32 rows each) x 2 across
** tokens, the sums in registers; x through the stages like the T <= 64 ring, so the norm is its own kernel there too.
** Built where the plan serves T > 32, after the T <= 64 ring (plan_stream.tall_v). In a block without gating it
** takes 4 warps across tokens (16 consumer warps): measured on an H200 (bench/RESULTS.md), GELU-4096 int8 T = 96/128
** 8-9% faster, fp8 6-14% at T = 33..128. A block with a gated GEMM keeps 2 in both steps: with 4 everywhere
** SwiGLU-4096 was 1.2x slower, with 4 on its down projection alone 4.5% slower at T = 33/64 and level at 96/128
** (pair sums in its gated GEMM: 1% slower; measured apart, bench/RESULTS.md thirteenth session). */
static const variant tall_pipe_variant = {8, 2, 1, 4, 1, 8, 16, 1, 1, 2};
static const variant tall_pipe_variant_wt4 = {8, 2, 1, 4, 1, 8, 16, 1, 1, 4};

/* Variant vr of made step a without its norm (the T <= 64 or 128 ring); its index, or -1 where it does not fit. */
static dsmlp_status add_ring_wo_norm(rb *R, const made *a, const variant *vr, const char *what, size_t *part_bytes, int *out_v)
{
    plan *p = R->p;
    plan_step *s = &p->ssteps[a->sstep];
    *out_v = -1;
    if (s->stream.nvariants >= PLAN_MAX_VARIANTS) return DSMLP_OK;
    cand cn = a->c;
    cn.norm = NULL;   /* x: the norm's output, which the GEMM reads in the main steps */
    int ki = -1;
    dsmlp_status st = emit_variant(R, &cn, vr, a->cnt, &ki);
    if (st == DSMLP_ERR_UNSUPPORTED) {
        dsmlpC_fuse_appendf(p->ssteps[a->sstep].why, sizeof s->why, "; no %s: %s", what, dsmlp_last_error(R->ctx));
        dsmlpB_err_clear(R->ctx);
        return DSMLP_OK;
    }
    if (st != DSMLP_OK) return st;
    *out_v = p->ssteps[a->sstep].stream.nvariants;
    step_add_variant(p, a->sstep, ki, part_bytes);
    dsmlpC_fuse_appendf(p->ssteps[a->sstep].why, sizeof s->why, "; variant %d: %s%s", *out_v, what,
                        a->c.norm ? " with the norm as its own kernel (the step before, run only then)" : "");
    return DSMLP_OK;
}

static dsmlp_status add_wide_ring(rb *R, made *mk, int n, size_t *part_bytes)
{
    plan *p = R->p;
    int gated = 0;   /* the block has a gated GEMM: the T <= 128 ring keeps 2 token warps in every step */
    for (int i = 0; i < n; i++) gated |= mk[i].c.gated;
    const variant *tv = gated ? &tall_pipe_variant : &tall_pipe_variant_wt4;
    const char *tall_what = gated ? "the ring with 2 token warps for T <= 128" : "the ring with 4 token warps for T <= 128";
    for (int j = n - 1; j >= 0; j--) {   /* from the last: an inserted norm step moves only the steps after it */
        const made *a = &mk[j];
        int wide = -1, tall = -1;
        dsmlp_status st = DSMLP_OK;
        if (a->ring[1] >= 0) st = add_ring_wo_norm(R, a, &wide_pipe_variant, "the 8-warp ring for T <= 64", part_bytes, &wide);
        if (st == DSMLP_OK && R->max_nt > 4 && ring_applies(R, &a->c, tv->lpr))
            st = add_ring_wo_norm(R, a, tv, tall_what, part_bytes, &tall);
        if (st != DSMLP_OK) return st;
        p->ssteps[a->sstep].stream.wide_v = wide, p->ssteps[a->sstep].stream.tall_v = tall;
        if (!a->c.norm || (wide < 0 && tall < 0)) continue;
        if (!push_step(R)) return dsmlpB_err_set(R->ctx, DSMLP_ERR_NOMEM, "route: out of memory");
        memmove(&p->ssteps[a->sstep + 1], &p->ssteps[a->sstep], (size_t)(p->nssteps - 1 - a->sstep) * sizeof *p->ssteps);
        plan_step *ns = &p->ssteps[a->sstep];
        *ns = p->steps[a->c.first];
        ns->main_step = a->c.first;
        ns->norm_for = a->sstep + 2;   /* the stream step, now at a->sstep + 1 */
        char vs[48];
        if (wide >= 0 && tall >= 0) snprintf(vs, sizeof vs, "variants %d and %d", wide, tall);
        else snprintf(vs, sizeof vs, "variant %d", wide >= 0 ? wide : tall);
        snprintf(ns->why, sizeof ns->why, "the norm as its own kernel: runs only when step %d picks a kernel without it "
                 "(%s)", a->sstep + 1, vs);
    }
    return DSMLP_OK;
}

/* Consecutive stream steps whose second GEMM reads the first's output (and has no norm of its own) also get one
** persistent kernel on the 8-warp ring where both have it, at the same variant index in both steps (docs/stream.md). */
static dsmlp_status fuse_pairs(rb *R, made *mk, int n, size_t *part_bytes)
{
    plan *p = R->p;
    for (int j = 0; j + 1 < n; j++) {
        made *a = &mk[j], *b = &mk[j + 1];
        plan_step *s1 = &p->ssteps[a->sstep], *s2 = &p->ssteps[b->sstep];
        if (b->sstep != a->sstep + 1 || b->c.norm || b->c.g->x != a->c.d ||
            s1->stream.nvariants != s2->stream.nvariants || s1->stream.fused_v >= 0 || s2->stream.fused_v >= 0)
            continue;
        /* the 8-warp ring only: on the 16-warp ring the persistent kernel measured slower than the two kernels at
        ** every T on an H200 (bench/RESULTS.md) */
        const int v = 1;
        if (a->ring[v] < 0 || b->ring[v] < 0 || s1->stream.nvariants >= PLAN_MAX_VARIANTS) continue;
        char name[32];
        snprintf(name, sizeof name, "sk_gbar%d", j);
        const int gbar = add_scratch(R, name, 8, 0);
        if (gbar < 0) return dsmlpB_err_set(R->ctx, DSMLP_ERR_NOMEM, "route: out of memory");
        int ki = -1;
        dsmlp_status st = emit_fused(R, &a->c, a->cnt, &b->c, b->cnt, &oi_pipe_variants[v], gbar, &ki);
        if (st == DSMLP_ERR_UNSUPPORTED) {   /* does not fit: the two kernels remain */
            dsmlpC_fuse_appendf(s1->why, sizeof s1->why, "; no persistent pair: %s", dsmlp_last_error(R->ctx));
            dsmlpB_err_clear(R->ctx);
            continue;
        }
        if (st != DSMLP_OK) return st;
        s1->stream.fused_v = s2->stream.fused_v = s1->stream.nvariants;
        s1->stream.fused_role = 1, s2->stream.fused_role = 2;
        step_add_variant(p, a->sstep, ki, part_bytes);
        step_add_variant(p, b->sstep, ki, part_bytes);
        dsmlpC_fuse_appendf(s1->why, sizeof s1->why, "; with step %d also as one persistent kernel (variant %d)",
                            b->sstep, s1->stream.fused_v);
    }
    return DSMLP_OK;
}

dsmlp_status dsmlpC_route_build(dsmlp_ctx *ctx, plan *p, int64_t stream_max_T, int pipe)
{
    p->ssteps = NULL, p->nssteps = 0, p->stream_max_T = 0;
    p->stream_why[0] = 0;
    if (stream_max_T < 0) {   /* auto: where it measured faster (H200): quantized weights, which it reads once */
        int quant = 0;
        for (int i = 0; i < p->nsteps; i++) quant |= p->steps[i].kind == STEP_KERNEL && p->steps[i].op.kind == KERN_DEQUANT;
        if (!quant) {
            snprintf(p->stream_why, sizeof p->stream_why,
                     "not built (stream_max_tokens = -1, auto: only for quantized weights; with f16/bf16 weights the "
                     "main steps measured faster on an H200, bench/RESULTS.md)");
            return DSMLP_OK;
        }
        stream_max_T = PLAN_STREAM_MAX_T;
    }
    if (stream_max_T == 0) {
        snprintf(p->stream_why, sizeof p->stream_why, "off (stream_max_tokens = 0)");
        return DSMLP_OK;
    }
    int64_t want = stream_max_T < p->max_tokens ? stream_max_T : p->max_tokens;
    rb R = {ctx, p, 0, p->nbufs, p->nkernels, -1, NULL, 1, pipe && !strncmp(p->arch, "sm_90", 5)};
    while (R.max_nt < 16 && 8 * R.max_nt < want) R.max_nt *= 2;
    R.skip = calloc((size_t)p->nsteps + 1, sizeof *R.skip);
    made *mk = calloc((size_t)p->nsteps + 1, sizeof *mk);   /* per stream step: what the fusion pass needs */
    if (!R.skip || !mk) {
        free(R.skip), free(mk);
        return dsmlpB_err_set(ctx, DSMLP_ERR_NOMEM, "route: out of memory");
    }
    if ((R.part = add_scratch(&R, "sk_part", 0, 1)) < 0) goto oom;
    dsmlp_status st = DSMLP_OK;
    int nstream = 0, maxnt = 16;
    size_t part_bytes = 0;
    char why[PLAN_TEXT_MAX] = "";
    /* pass 1: which dequant steps fold into their GEMM */
    for (int i = 0; i < p->nsteps; i++) {
        cand c;
        char w[160];
        if (find_cand(&R, i, &c, w, sizeof w) && c.deq)
            for (int q = 0; q < p->nsteps; q++)
                if (p->steps[q].kind == STEP_KERNEL && &p->steps[q].op.deq == c.deq) R.skip[q] = 1;
    }
    for (int i = 0; i < p->nsteps && st == DSMLP_OK; i++) {
        if (R.skip[i]) continue;
        cand c;
        char w[160] = "";
        if (!find_cand(&R, i, &c, w, sizeof w)) {
            if (w[0]) dsmlpC_fuse_appendf(why, sizeof why, "%sstep %d (%s) stays: %s", why[0] ? "; " : "", i, p->steps[i].label, w);
            plan_step *s = push_step(&R);
            if (!s) goto oom;
            *s = p->steps[i];
            s->main_step = i;
            continue;
        }
        char name[32];
        snprintf(name, sizeof name, "sk_cnt%d", nstream);
        int cnt = add_scratch(&R, name, 0, 0);
        if (cnt < 0) goto oom;
        const variant *vs = c.g->layout == DSMLP_LAYOUT_IN_OUT ? io_variants : oi_variants;
        int nv = (int)(c.g->layout == DSMLP_LAYOUT_IN_OUT ? sizeof io_variants / sizeof *io_variants
                                                          : sizeof oi_variants / sizeof *oi_variants);
        plan_step *s = push_step(&R);
        if (!s) goto oom;
        memset(s, 0, sizeof *s);
        s->kind = STEP_STREAM, s->kernel = -1, s->buf = -1, s->main_step = -1;
        s->stream.fused_v = s->stream.wide_v = s->stream.tall_v = -1;
        mk[nstream].ring[0] = mk[nstream].ring[1] = -1;
        s->stream.first = c.first, s->stream.last = c.last, s->stream.counters = cnt;
        s->stream.out = c.d, s->stream.side = c.norm ? c.norm->side : -1, s->stream.c = c.g->c;
        s->stream.norm_fused = c.norm != NULL, s->stream.gated = c.gated, s->stream.act = c.fol != NULL;
        for (int v = 0; v < nv && st == DSMLP_OK; v++) {
            /* register-fed bodies come in 1, 4 and 16 token tiles: a plan up to T = 16 (max_nt 2) needs the
            ** 4-tile ones; T never needs bodies above that */
            if (vs[v].nt_lo > (R.max_nt > 1 ? (R.max_nt > 4 ? 16 : 4) : 1)) continue;
            int ki = -1;
            if ((st = emit_variant(&R, &c, &vs[v], cnt, &ki)) != DSMLP_OK) break;
            step_add_variant(p, p->nssteps - 1, ki, &part_bytes);
        }
        /* the ring variants */
        char no_ring[200] = "";
        for (int v = 0; st == DSMLP_OK && v < (int)(sizeof oi_pipe_variants / sizeof *oi_pipe_variants); v++) {
            const variant *pv = &oi_pipe_variants[v];
            if (!ring_applies(&R, &c, pv->lpr) || s->stream.nvariants >= PLAN_MAX_VARIANTS) continue;
            int ki = -1;
            if ((st = emit_variant(&R, &c, pv, cnt, &ki)) == DSMLP_ERR_UNSUPPORTED) {   /* the ring does not fit */
                snprintf(no_ring, sizeof no_ring, "; no W ring variant: %s", dsmlp_last_error(ctx));
                dsmlpB_err_clear(ctx);
                st = DSMLP_OK;
                continue;
            }
            if (st != DSMLP_OK) break;
            step_add_variant(p, p->nssteps - 1, ki, &part_bytes);
            mk[nstream].ring[v] = ki;
        }
        if (st != DSMLP_OK) break;
        mk[nstream].c = c, mk[nstream].cnt = cnt, mk[nstream].sstep = p->nssteps - 1;
        const int best_nt = step_max_nt(p, s);
        if (best_nt < maxnt) maxnt = best_nt;
        /* label and explanation */
        snprintf(s->label, sizeof s->label, "stream%s%s", c.norm ? "+norm" : "",
                 c.gated ? "+gated" : c.fol ? "+act" : p->steps[c.last].label + 4);
        for (int q = c.first; q <= c.last; q++)
            dsmlpC_fuse_appendf(s->absorbed, sizeof s->absorbed, "%s%s", q > c.first ? ", " : "", p->steps[q].absorbed);
        dsmlpC_fuse_appendf(s->why, sizeof s->why, "weight-streaming GEMM of main steps %d..%d%s%s%s", c.first, c.last,
                     c.norm ? "; the norm runs in its prologue" : "",
                     c.fol ? (c.gated ? "; gating in its epilogue" : "; activation in its epilogue") : "",
                     c.deq ? "; int8 weight converted in registers (scales in the epilogue)" : "");
        dsmlpC_fuse_appendf(s->why, sizeof s->why, "%s", no_ring);
        for (int q = c.first + 1; q <= c.last; q++) R.skip[q] = 1;
        i = c.last;
        nstream++;
    }
    if (st == DSMLP_OK) st = fuse_pairs(&R, mk, nstream, &part_bytes);
    if (st == DSMLP_OK) st = add_wide_ring(&R, mk, nstream, &part_bytes);
    free(R.skip), free(mk);
    if (st != DSMLP_OK) {
        free(p->ssteps);
        p->ssteps = NULL, p->nssteps = 0;
        return st;
    }
    p->bufs[R.part].ws_bytes = part_bytes, p->bufs[R.part].cols = (int64_t)(part_bytes / 4);
    if (!nstream) {
        free(p->ssteps);
        p->ssteps = NULL, p->nssteps = 0;
        snprintf(p->stream_why, sizeof p->stream_why, "no GEMM can stream: %s", why[0] ? why : "none in the plan");
        return DSMLP_OK;
    }
    p->stream_max_T = 8 * maxnt < want ? 8 * maxnt : want;
    snprintf(p->stream_why, sizeof p->stream_why, "%d stream kernel step(s) for T <= %lld%s%s", nstream,
             (long long)p->stream_max_T, why[0] ? "; " : "", why);
    return DSMLP_OK;
oom:
    free(R.skip), free(mk);
    free(p->ssteps);
    p->ssteps = NULL, p->nssteps = 0;
    return dsmlpB_err_set(ctx, DSMLP_ERR_NOMEM, "route: out of memory");
}
