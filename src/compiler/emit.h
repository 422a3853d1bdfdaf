/*
** emit.h — CUDA source from the templates (templates/, common.cuh inlined).
** Each emitter reads the kernel's argument buffers (k->args, set by the
** caller) from p->bufs and fills k->name, k->source and the launch geometry.
** Same inputs -> byte-identical source. uniq > 0 appends "_u<uniq>" to the
** name (two different kernels of one plan that would share a name).
*/
#ifndef DSMLP_EMIT_H
#define DSMLP_EMIT_H

#include "plan.h"

typedef struct emit_norm_spec {
    int     rms;          /* 0: layernorm, 1: rmsnorm                          */
    int64_t h;
    double  eps;
    int     has_side, has_beta, nterms, nextra;
    double  gamma_offset; /* rmsnorm: scales by (gamma + offset) in fp32; 0 = plain */
    int     writes_x;     /* a decode GEMV computing it: block 0 also writes the normalized x (a later step reads it) */
    /* args: y, [side], gamma, [beta], terms..., extras... */
} emit_norm_spec;

dsmlp_status dsmlpC_emit_norm(dsmlp_ctx *ctx, const plan *p, plan_kernel *k, const emit_norm_spec *s, int uniq);
/* args: out, x0, x1, ... (leaf i = args[i+1]); e: the expression (plan.h), named by k->kind
** (KERN_ACT, KERN_RESIDUAL, KERN_ELEMWISE). */
dsmlp_status dsmlpC_emit_elemwise(dsmlp_ctx *ctx, const plan *p, plan_kernel *k, const plan_ew_op *e, int64_t n,
                                  int uniq);
/* args: y [T,n], x [T,2n] ([up | gate]), [bias [2n]];
** or, when args[1] is [T,n]: y, up [T,n], gate [T,n], [bias_up [n], bias_gate [n]]. */
dsmlp_status dsmlpC_emit_gated(dsmlp_ctx *ctx, const plan *p, plan_kernel *k, dsmlp_act act, int64_t n, int uniq);
/* args: w [R,C] float, q [R,C] int8, scales [groups] */
dsmlp_status dsmlpC_emit_dequant(dsmlp_ctx *ctx, const plan *p, plan_kernel *k, int64_t groups, int uniq);

/* Decode GEMV for a GEMM step, T <= max_t (templates/gemv.cu).
** args: d [T,n], x [T,k], w, [bias [n]], [c [T,n]] (c may alias d). */
#define EMIT_GEMV_MAX_T 8   /* more accumulators than registers beyond (measured: 4x slower at 16) */
typedef struct emit_gemv_spec {
    int64_t       n, k;
    dsmlp_layout  layout;   /* of w: IN_OUT [k,n], OUT_IN [n,k] */
    plan_epilogue epi;
    int           has_bias, has_c, max_t;
    /* gated: W's rows are [up | gate] and the kernel writes y[T, n / 2] = (up + bu) * act(gate + bg) (args: y, x, w,
    ** [bias [n]]: has_bias is the gated step's bias; [out,in] weights only) */
    int           gated;
    dsmlp_act     gated_act;
    /* norm: the GEMV computes x itself from a norm's addends (x fits its stage whole for max_t tokens); the norm's
    ** arguments follow the GEMV's own: [side], gamma, [beta], terms... (extras none). NULL: x is read. */
    const emit_norm_spec *norm;
    /* groups > 0: w is quantized codes [n, k] (i8 or fp8 e4m3, [out,in]) followed by their scales [groups] (args:
    ** d, x, q, scales, ...): W = scales[row / (n / groups)] * q, converted in registers (no dequantized copy). */
    int64_t       groups;
    /* post_act > 0 (not gated): the epilogue applies activation post_act - 1 (dsmlp_act) after the bias, for an
    ** activation step the GEMV takes on (epi then EPI_BIAS or EPI_NONE); 0: epi's own activation, if any. */
    int           post_act;
} emit_gemv_spec;
/* Bytes of scratch the GEMV of spec s (weights of wsz bytes) needs, 0: none. An [in,out] GEMV of a large weight
** without a norm splits k over blocks (emit.c gemv_io_shape); its last argument is then a BUF_SCRATCH of at least
** these bytes (counters zeroed once, the kernel leaves them at zero; partial sums). */
size_t dsmlpC_emit_gemv_scratch_bytes(const emit_gemv_spec *s, size_t wsz);
#define EMIT_GEMV_XS_BYTES 32768   /* the GEMV's x stage (static shared memory) */
/* 128-byte lines of each row a GEMV warp reads first, asked of L2 at the kernel's entry ([in,out]: 32 x that many a
** block); 16 and 64 lost to 32 at T = 1 (bench/RESULTS.md, fifty-ninth session) */
#define EMIT_GEMV_PREFETCH_LINES 32
dsmlp_status dsmlpC_emit_gemv(dsmlp_ctx *ctx, const plan *p, plan_kernel *k, const emit_gemv_spec *s, int uniq);

/* Mixed-input GEMM variant of a GEMM step on a dequantized weight (templates/mixed.cu, sm_90a): the codes [n, k]
** ([out,in]) and row-group scales read directly. args: d [T,n], q [n,k], scales [groups], x [T,k], [bias [n]],
** [c [T,n]]; d and x f16 or bf16 alike. Float weights (q of x's dtype, either layout: io): no scales argument, groups 1.
** Supported shapes: dsmlpC_emit_mixed_unsupported. */
#define EMIT_MIXED_ROWS 128   /* weight rows per block (tokens per block: PLAN_MIXED_TOKENS) */
/* Elements of a weight row per copy box of a mixed-input kernel with bk k per stage and wbytes-byte weights (the
** template's DS_QWE: boxes span at most the 128-byte swizzle, so a 256-k stage of codes takes two a row, a 64-k one of
** f16 one); its tensor map uses the 128-byte swizzle when the box row is 128 bytes, else the 64-byte one. */
#define EMIT_MIXED_QBOX(bk, wbytes) ((bk) * (wbytes) > 128 ? 128 / (wbytes) : (bk))
/* Whether a mixed-input kernel asks L2 for its rows' first lines at entry (templates/mixed.cu ds_prefetch_first; how
** many: exec_mixed.c prefetch_lines): the code kernels of up to 64 tokens, twins included; not float weights (not
** measured) nor the 128- and 256-token kernels (they lost; bench/RESULTS.md, sixtieth session). */
#define EMIT_MIXED_PREFETCHES(quant, tokens) ((quant) && (tokens) <= 64)
typedef struct emit_mixed_spec {
    int64_t       n, k, groups;
    plan_epilogue epi;
    int           has_bias, has_c;
    int           tokens;   /* per block: 16, 32, 64, 128 or 256 */
    int           gated;    /* 1: W = [up | gate]; d[T, n / 2] = (up + bias_up) * gact(gate + bias_gate) (the gated
                               step fused: epi EPI_NONE, no C; bias, when present, is the gated step's [n]) */
    dsmlp_act     gact;
    int           io;       /* float weights stored [in,out] (the template's DS_WMN); codes are always [out,in] */
    int           post_act; /* > 0 (not gated): activation post_act - 1 (dsmlp_act) after the bias, for an activation
                               step the kernels take on (epi EPI_BIAS or EPI_NONE, no C); 0: epi's own */
    int           one_per_sm; /* 1: a code kernel of <= 64 tokens built one block a SM (plan_gemm.mixed_one) */
} emit_mixed_spec;
/* NULL when the kernel can serve a GEMM of these operands, else why not (explain). */
const char  *dsmlpC_emit_mixed_unsupported(const char *arch, dsmlp_layout layout, dsmlp_dtype q, dsmlp_dtype x,
                                           dsmlp_dtype d, int64_t n, int64_t k);
dsmlp_status dsmlpC_emit_mixed(dsmlp_ctx *ctx, const plan *p, plan_kernel *k, const emit_mixed_spec *s, int uniq);

/* Weight-streaming GEMM of the small-T route (templates/stream.cu). The
** caller fills the argument roles: a_* are indices into k->args (-1 absent);
** outputs (d, side, part, cnt) come first in k->args. */
typedef struct emit_stream_spec {
    int     io;                   /* W layout: 1 [K, ldw] (in,out), 0 [N, K] (out,in) */
    int64_t n, k, ldw;            /* output columns per part, reduction, W row pitch  */
    int     gated, sep_gate;      /* two parts; gate weight its own tensor           */
    int64_t gate_off;             /* elements from up's weight to gate's (merged)    */
    int     el, mt, wn, wk;       /* elements per load, 16-row tiles per warp (OI), warp grid */
    int     lpr;                  /* adjacent loads per W row per lane (1 or 2)      */
    int     wt;                   /* warps across tokens: > 1 is the T <= 128 ring (pipe, wk 1, no norm) */
    int     max_nt;               /* largest n8 token tiles wanted (8 * max_nt >= T)  */
    int     nt_lo, nt_hi;         /* bodies for n8 token tiles in {1, 4, 16} within these */
    int     min_blocks;           /* blocks per SM the registers must allow (1 or 2)  */
    int     pipe;                 /* 1: W through a shared-memory ring fed by a producer warp (sm_90, [out,in]) */
    int     norm;                 /* 0 none, 1 LayerNorm, 2 RMSNorm in the prologue   */
    double  eps, goff;
    int     has_beta, has_side, nterms, nextra;
    int     term_vec[PLAN_MAX_TERMS], extra_vec[PLAN_MAX_TERMS];
    int     act;                  /* 0 none, 1 relu, 2 gelu_tanh, 3 gelu_erf, 4 silu  */
    int     has_bias, has_c;
    int     quant, has_scale, sep_scale;   /* 1 int8, 2 fp8 e4m3; per-column scales  */
    int64_t scale_div;            /* output rows per scale                          */
    int     a_d, a_side, a_part, a_cnt, a_x, a_gamma, a_beta;
    int     a_term[PLAN_MAX_TERMS], a_extra[PLAN_MAX_TERMS];
    int     a_wu, a_wg, a_bias, a_c, a_su, a_sg;
    int     fused_part;           /* 0: a kernel; 1, 2: a phase of a fused kernel (no entry, no common.cuh) */
} emit_stream_spec;
dsmlp_status dsmlpC_emit_stream(dsmlp_ctx *ctx, const plan *p, plan_kernel *k, const emit_stream_spec *s, int uniq);
/* The W ring's most stages; a fused kernel keeps both phases' full and empty mbarriers past their layouts (each
** phase's ring is sized leaving room for them). */
#define EMIT_PIPE_STAGES_MAX 4
#define EMIT_FUSED_BAR_BYTES (2 * 2 * EMIT_PIPE_STAGES_MAX * 8)
/* One persistent kernel running s1's GEMM, a grid barrier, then s2's (both W rings with the same warps, s2 without a
** norm, reading s1's output as x): k's arguments are both specs' (a_* index them), the first nout written, a_gbar
** the grid barrier's two words (BUF_SCRATCH, zero at load). */
dsmlp_status dsmlpC_emit_stream_fused(dsmlp_ctx *ctx, const plan *p, plan_kernel *k, const emit_stream_spec *s1,
                                      const emit_stream_spec *s2, int a_gbar, int nout, int uniq);

/* CUDA type of a dtype ("__half", ...) and the act's device function. */
const char *dsmlpC_emit_ctype(dsmlp_dtype t);
const char *dsmlpC_emit_act_fn(dsmlp_act a);
const char *dsmlpC_emit_act_name(dsmlp_act a);   /* "gelu_tanh", "silu", ... */
/* A GEMM epilogue's activation as the templates' DS_ACT: 0 none, 1 relu, 2 tanh-GELU (cuBLASLt's epilogues), 3 erf-GELU,
** 4 SiLU; post_act > 0: activation post_act - 1 (dsmlp_act) of an activation step the kernel takes on, else epi's. */
int         dsmlpC_emit_epi_act(plan_epilogue epi, int post_act);
const char *dsmlpC_emit_epi_act_name(int code);   /* "", "relu", "gelu_tanh", "gelu_erf", "silu" */
/* Largest power of two v with v * elem_bytes <= 16 and n % v == 0. */
int         dsmlpC_emit_vec_width(int64_t n, size_t elem_bytes);

#endif
