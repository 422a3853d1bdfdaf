/*
** test_codegen_compile.c — issue 3's acceptance test: every template x dtype
** x activation x feature size compiles with NVRTC for sm_80 and sm_90
** (H in {512, 896, 1232, 4096, 4544, 8192}; gated also at 4H, 11008, 14336).
** Calls the emitters directly and dsmlpR_nvrtc_compile (no store), 2 threads.
** The decode GEMV: f32/f16/bf16 x both weight layouts x epilogues at awkward
** (n, k) for sm_80 and sm_90 (make_gemv_jobs).
** The mixed-input GEMM (templates/mixed.cu) for sm_90a: int8 / fp8 codes x f16 / bf16 x bias + GELU and plain + C,
** f32 and f16 scales, group and per-channel scales (make_mixed_jobs).
** The timeline build of a narrow mixed kernel and a norm kernel (make_timeline_jobs).
** Every cubin but the timeline builds' must have an empty stack frame: no spills, no local arrays (cubin_info.c reads
** it; DSMLP_CODEGEN_QUICK's first norm kernel, f32 H = 1232 for sm_80, spills 8 bytes in its timeline build).
** DSMLP_CODEGEN_QUICK=1 compiles one size per template (for debugging).
*/
#include "testutil.h"
#include "compiler/emit.h"
#include "runtime/cubin_info.h"
#include "runtime/nvrtc.h"

#include "pool.h"   /* src/base: the tree's one parallel-for */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define MAXJOBS 1024

typedef struct job {
    plan        p;
    plan_buf    bufs[PLAN_MAX_ARGS];   /* one per kernel argument at most */
    plan_kernel k;
    const char *arch;
    char        err[512];
    cubin_resources res;   /* what ptxas made of it */
    int         timeline;  /* a measurement build: its timestamps may take a stack slot */
} job;

static job  *jobs;
static int   njobs;
static atomic_int done_jobs;

static job *new_job(const char *arch)
{
    ck_assert_int_lt(njobs, MAXJOBS);
    job *j = &jobs[njobs++];
    memset(j, 0, sizeof *j);
    j->p.bufs = j->bufs, j->p.max_tokens = 8192, j->arch = arch;
    snprintf(j->p.arch, sizeof j->p.arch, "%s", arch);
    return j;
}

static int buf(job *j, dsmlp_dtype dt, int tokens, int64_t rows, int64_t cols)
{
    ck_assert_int_lt(j->p.nbufs, PLAN_MAX_ARGS);
    plan_buf *b = &j->bufs[j->p.nbufs];
    b->kind = BUF_WORK, b->dtype = dt, b->tokens = tokens, b->rows = rows, b->cols = cols;
    j->k.args[j->k.nargs++] = j->p.nbufs;
    return j->p.nbufs++;
}

/* A k-split decode GEMV's scratch (its last argument), where the spec asks for one (emit.h). */
static int gemv_scratch(job *j, const emit_gemv_spec *sp, dsmlp_dtype wt)
{
    const size_t bytes = dsmlpC_emit_gemv_scratch_bytes(sp, dsmlp_dtype_size(wt));
    if (!bytes) return 0;
    const int b = buf(j, DSMLP_F32, 0, 1, (int64_t)(bytes / 4));
    j->bufs[b].kind = BUF_SCRATCH, j->bufs[b].ws_bytes = bytes;
    return 1;
}

static const dsmlp_dtype dts[] = {DSMLP_F32, DSMLP_F16, DSMLP_BF16};
/* One H per shape class of the row kernels (emit.c): a warp per row (896), a block per row with a tail (4544),
** a block per row in whole passes (8192, 512 threads for f32). */
static const int64_t hs[] = {896, 4544, 8192};
static const char *const archs[] = {"sm_80", "sm_90"};

static void make_jobs(dsmlp_ctx *ctx, int quick)
{
    int nh = quick ? 1 : (int)(sizeof hs / sizeof *hs);
    for (int a = 0; a < 2; a++)
        for (int d = 0; d < 3; d++)
            for (int hi = 0; hi < nh; hi++) {
                dsmlp_dtype dt = dts[d];
                int64_t H = quick ? 1232 : hs[hi];
                /* norm: LN with 3 addends (2 tensors + bias) and a side output; RMS with 2, no side */
                for (int rms = 0; rms < 2; rms++) {
                    job *j = new_job(archs[a]);
                    buf(j, dt, 1, 0, H);
                    if (!rms) buf(j, dt, 1, 0, H);
                    buf(j, dt, 0, 1, H);
                    if (!rms) buf(j, dt, 0, 1, H);
                    buf(j, dt, 1, 0, H), buf(j, dt, 1, 0, H);
                    if (!rms) buf(j, dt, 0, 1, H);
                    if (!rms) buf(j, dt, 1, 0, H); /* an extra side addend */
                    /* RMS with Gemma's weight offset (gamma + 1) */
                    emit_norm_spec s = {rms, H, 1e-5, !rms, !rms, rms ? 2 : 3, rms ? 0 : 1, rms ? 1.0 : 0.0, 0};
                    TU_OK(ctx, dsmlpC_emit_norm(ctx, &j->p, &j->k, &s, 0));
                }
                /* bias + activation, each activation */
                for (int act = 0; act < DSMLP_ACT_COUNT; act++) {
                    job *j = new_job(archs[a]);
                    int64_t n = 4 * H;
                    buf(j, dt, 1, 0, n), buf(j, dt, 1, 0, n), buf(j, dt, 0, 1, n);
                    /* act(x0 + x1): two leaves, their bias sum, the activation */
                    static plan_ew_op e;
                    e = (plan_ew_op){.root = 3, .nleaves = 2, .nnodes = 4};
                    e.node[0] = (plan_ew_node){DSMLP_OP_INPUT, {-1, -1}, 0, 0.0};
                    e.node[1] = (plan_ew_node){DSMLP_OP_INPUT, {-1, -1}, 1, 0.0};
                    e.node[2] = (plan_ew_node){DSMLP_OP_BIAS, {0, 1}, -1, 0.0};
                    e.node[3] = (plan_ew_node){(dsmlp_op)(DSMLP_OP_GELU_TANH + act), {2, -1}, -1, 0.0};
                    j->k.kind = KERN_ACT;
                    TU_OK(ctx, dsmlpC_emit_elemwise(ctx, &j->p, &j->k, &e, n, 0));
                    ck_assert_ptr_nonnull(strstr(j->k.source, dsmlpC_emit_act_fn((dsmlp_act)act)));
                    ck_assert_ptr_nonnull(strstr(j->k.name, "act_bias_"));
                }
                /* residual sum: 3 tensors + 2 vectors */
                {
                    job *j = new_job(archs[a]);
                    buf(j, dt, 1, 0, H);
                    buf(j, dt, 1, 0, H), buf(j, dt, 1, 0, H), buf(j, dt, 1, 0, H), buf(j, dt, 0, 1, H), buf(j, dt, 0, 1, H);
                    plan_ew_op e = {.root = -1, .nleaves = 5};
                    j->k.kind = KERN_RESIDUAL;
                    TU_OK(ctx, dsmlpC_emit_elemwise(ctx, &j->p, &j->k, &e, H, 0));
                    ck_assert_ptr_nonnull(strstr(j->k.source, "x0 + x1 + x2 + x3 + x4"));
                }
                /* gated, each activation, at I = 4H (with bias) */
                for (int act = 0; act < DSMLP_ACT_COUNT; act++) {
                    job *j = new_job(archs[a]);
                    int64_t I = 4 * H;
                    buf(j, dt, 1, 0, I), buf(j, dt, 1, 0, 2 * I), buf(j, dt, 0, 1, 2 * I);
                    TU_OK(ctx, dsmlpC_emit_gated(ctx, &j->p, &j->k, (dsmlp_act)act, I, 0));
                }
                /* gated with separate up and gate (two [T,I] inputs) and their biases */
                for (int act = 0; act < DSMLP_ACT_COUNT; act++) {
                    job *j = new_job(archs[a]);
                    int64_t I = 4 * H;
                    buf(j, dt, 1, 0, I), buf(j, dt, 1, 0, I), buf(j, dt, 1, 0, I);
                    buf(j, dt, 0, 1, I), buf(j, dt, 0, 1, I);
                    TU_OK(ctx, dsmlpC_emit_gated(ctx, &j->p, &j->k, (dsmlp_act)act, I, 0));
                    ck_assert_ptr_nonnull(strstr(j->k.name, "_pair_bias"));
                }
                /* dequant of W1 [4H, H] with 8 groups */
                {
                    job *j = new_job(archs[a]);
                    buf(j, dt, 0, 4 * H, H), buf(j, DSMLP_I8, 0, 4 * H, H), buf(j, DSMLP_F32, 0, 1, 8);
                    TU_OK(ctx, dsmlpC_emit_dequant(ctx, &j->p, &j->k, 8, 0));
                }
            }
    /* gated at LLaMA sizes (no bias), every activation and dtype */
    int64_t is[] = {11008, 14336};
    for (int a = 0; a < 2; a++)
        for (int d = 0; d < 3; d++)
            for (int ii = 0; ii < (quick ? 1 : 2); ii++)
                for (int act = 0; act < DSMLP_ACT_COUNT; act++) {
                    job *j = new_job(archs[a]);
                    buf(j, dts[d], 1, 0, is[ii]), buf(j, dts[d], 1, 0, 2 * is[ii]);
                    TU_OK(ctx, dsmlpC_emit_gated(ctx, &j->p, &j->k, (dsmlp_act)act, is[ii], 0));
                }
}

/* Decode GEMV (templates/gemv.cu): every dtype x layout at awkward (n, k) pairs (n or k not a multiple of 8
** included), cycling through the epilogues (with and without residual C) and token bounds. */
static int gemv_splits;   /* GEMVs that split k (their scratch the last argument) */
static void make_gemv_jobs(dsmlp_ctx *ctx, int quick)
{
    static const int64_t nk[][2] = {{896, 4544}, {1232, 896}, {4544, 11008}, {11008, 14336}, {14336, 1232}, {1001, 333}};
    static const plan_epilogue epis[] = {EPI_NONE, EPI_BIAS, EPI_RELU_BIAS, EPI_GELU_BIAS, EPI_RELU, EPI_GELU};
    static const int maxts[] = {1, 8, 3, 5};
    int v = 0;
    for (int a = 0; a < 2; a++)
        for (int d = 0; d < 3; d++)
            for (int l = 0; l < 2; l++)
                for (int i = 0; i < (quick ? 1 : 6); i++, v++) {
                    job *j = new_job(archs[a]);
                    dsmlp_dtype dt = dts[d];
                    int64_t n = nk[i][0], k = nk[i][1];
                    dsmlp_layout lay = l ? DSMLP_LAYOUT_OUT_IN : DSMLP_LAYOUT_IN_OUT;
                    plan_epilogue e = epis[v % 6];
                    int bias = e == EPI_BIAS || e == EPI_RELU_BIAS || e == EPI_GELU_BIAS;
                    int c = (e == EPI_NONE || e == EPI_BIAS) && (v / 6) % 2 == 0;
                    buf(j, dt, 1, 0, n), buf(j, dt, 1, 0, k);
                    buf(j, dt, 0, l ? n : k, l ? k : n);
                    if (bias) buf(j, dt, 0, 1, n);
                    if (c) buf(j, dt, 1, 0, n);
                    emit_gemv_spec sp = {n, k, lay, e, bias, c, maxts[v % 4], 0, DSMLP_ACT_SILU, NULL, 0, 0};
                    gemv_splits += gemv_scratch(j, &sp, dt);
                    TU_OK(ctx, dsmlpC_emit_gemv(ctx, &j->p, &j->k, &sp, 0));
                }
    /* gated ([out,in], [up | gate] rows): y [T, n / 2], x, W, [bias [n]]; every activation, with and without bias */
    for (int d = 0; d < 3; d++)
        for (int act = 0; act < DSMLP_ACT_COUNT; act++) {
            job *j = new_job(archs[1]);
            const int64_t n = act % 2 ? 2 * 1001 : 2 * 14336, k = act % 2 ? 333 : 4096;
            const int bias = act >= 2;
            buf(j, dts[d], 1, 0, n / 2), buf(j, dts[d], 1, 0, k), buf(j, dts[d], 0, n, k);
            if (bias) buf(j, dts[d], 0, 1, n);
            emit_gemv_spec sp = {n, k, DSMLP_LAYOUT_OUT_IN, EPI_NONE, bias, 0, maxts[(d + act) % 4], 1, (dsmlp_act)act, NULL, 0, 0};
            TU_OK(ctx, dsmlpC_emit_gemv(ctx, &j->p, &j->k, &sp, 0));
        }
    /* an activation step taken on (post_act: erf-GELU, SiLU, ... after the bias), both layouts, with and without
    ** bias; BERT's first GEMM (its post-LN norm folded, written for the later steps) with erf-GELU */
    for (int d = 0; d < 3; d++)
        for (int act = 0; act < DSMLP_ACT_COUNT; act++) {
            job *j = new_job(archs[(d + act) % 2]);
            const int io = act % 2, bias = act != DSMLP_ACT_SILU;
            const int64_t n = io ? 3072 : 1001, k = io ? 768 : 333;
            buf(j, dts[d], 1, 0, n), buf(j, dts[d], 1, 0, k), buf(j, dts[d], 0, io ? k : n, io ? n : k);
            if (bias) buf(j, dts[d], 0, 1, n);
            emit_gemv_spec sp = {n, k, io ? DSMLP_LAYOUT_IN_OUT : DSMLP_LAYOUT_OUT_IN, bias ? EPI_BIAS : EPI_NONE, bias, 0,
                                 maxts[(d + act) % 4], 0, DSMLP_ACT_SILU, NULL, 0, 1 + act};
            TU_OK(ctx, dsmlpC_emit_gemv(ctx, &j->p, &j->k, &sp, 0));
        }
    for (int d = 0; d < 3; d++) {
        job *j = new_job(archs[1]);
        const int64_t n = 3072, k = 768;
        buf(j, dts[d], 1, 0, n), buf(j, dts[d], 1, 0, k), buf(j, dts[d], 0, k, n), buf(j, dts[d], 0, 1, n);
        buf(j, dts[d], 0, 1, k), buf(j, dts[d], 0, 1, k);   /* gamma, beta */
        buf(j, dts[d], 1, 0, k), buf(j, dts[d], 1, 0, k), buf(j, dts[d], 0, 1, k);   /* input, residual, attention bias */
        const emit_norm_spec ns = {0, k, 1e-12, 0, 1, 3, 0, 0.0, 1};
        emit_gemv_spec sp = {n, k, DSMLP_LAYOUT_IN_OUT, EPI_BIAS, 1, 0, 1, 0, DSMLP_ACT_SILU, &ns, 0, 1 + DSMLP_ACT_GELU_ERF};
        TU_OK(ctx, dsmlpC_emit_gemv(ctx, &j->p, &j->k, &sp, 0));
    }
    /* with its norm (x computed from the addends in the stage): LayerNorm with the sum output, beta and a vector
    ** addend; RMSNorm with a gamma offset, no sum output; both layouts, odd k = 1232 and k = 4096 */
    for (int d = 0; d < 3; d++)
        for (int r = 0; r < 2; r++) {
            job *j = new_job(archs[1]);
            const int64_t n = 1001, k = r ? 4096 : 1232;
            buf(j, dts[d], 1, 0, n), buf(j, dts[d], 1, 0, k);
            buf(j, dts[d], 0, r ? n : k, r ? k : n);
            buf(j, dts[d], 0, 1, n);   /* bias */
            if (!r) buf(j, dts[d], 1, 0, k);   /* the sum output */
            buf(j, dts[d], 0, 1, k);   /* gamma */
            if (!r) buf(j, dts[d], 0, 1, k);   /* beta */
            buf(j, dts[d], 1, 0, k), buf(j, dts[d], 1, 0, k);
            if (!r) buf(j, dts[d], 0, 1, k);   /* a vector addend (attention bias) */
            const emit_norm_spec ns = {r, k, 1e-5, !r, !r, r ? 2 : 3, 0, r ? 1.0 : 0.0, 0};
            emit_gemv_spec sp = {n, k, r ? DSMLP_LAYOUT_OUT_IN : DSMLP_LAYOUT_IN_OUT, EPI_GELU_BIAS, 1, 0, r ? 1 : 4, 0, DSMLP_ACT_SILU, &ns, 0, 0};
            TU_OK(ctx, dsmlpC_emit_gemv(ctx, &j->p, &j->k, &sp, 0));
        }
    /* both: a gated GEMV computing its norm (LLaMA's first GEMM at T = 1: RMSNorm of 2 addends, the sum output) */
    for (int d = 0; d < 3; d++) {
        job *j = new_job(archs[1]);
        const int64_t n = 2 * 14336, k = 4096;
        buf(j, dts[d], 1, 0, n / 2), buf(j, dts[d], 1, 0, k), buf(j, dts[d], 0, n, k);
        buf(j, dts[d], 1, 0, k), buf(j, dts[d], 0, 1, k);   /* the sum output, gamma */
        buf(j, dts[d], 1, 0, k), buf(j, dts[d], 1, 0, k);
        const emit_norm_spec ns = {1, k, 1e-5, 1, 0, 2, 0, 0.0, 0};
        emit_gemv_spec sp = {n, k, DSMLP_LAYOUT_OUT_IN, EPI_NONE, 0, 0, 1, 1, DSMLP_ACT_SILU, &ns, 0, 0};
        TU_OK(ctx, dsmlpC_emit_gemv(ctx, &j->p, &j->k, &sp, 0));
    }
    /* on the codes (d, x, q, scales, ...): int8 and fp8 ([out,in]) x each activation dtype x both archs (fp8's
    ** conversion instruction needs sm_89: sm_80 takes the generic decode), cycling through plain with C + k not a
    ** multiple of 4 (byte loads), bias + GELU, gated with bias, gated with its RMSNorm; f32 / f16 scales */
    for (int a = 0; a < 2; a++)
        for (int q = 0; q < 2; q++)
            for (int d = 0; d < 3; d++, v++) {
                job *j = new_job(archs[a]);
                const dsmlp_dtype dt = dts[d], qt = q ? DSMLP_FP8_E4M3 : DSMLP_I8;
                const int form = v % 4, gated = form >= 2;
                const int64_t n = form == 0 ? 1001 : gated ? 2 * 1408 : 4096, k = form == 0 ? 333 : 1232;
                const int64_t groups = form == 0 ? 7 : form == 1 ? n : 16;
                buf(j, dt, 1, 0, gated ? n / 2 : n), buf(j, dt, 1, 0, k), buf(j, qt, 0, n, k);
                buf(j, v % 2 ? DSMLP_F16 : DSMLP_F32, 0, 1, groups);
                if (form != 3) buf(j, dt, 0, 1, n);   /* bias */
                if (form == 0) buf(j, dt, 1, 0, n);   /* C */
                emit_norm_spec ns = {1, k, 1e-5, 1, 0, 2, 0, 0.0, 0};
                if (form == 3) {
                    buf(j, dt, 1, 0, k), buf(j, dt, 0, 1, k);   /* the sum output, gamma */
                    buf(j, dt, 1, 0, k), buf(j, dt, 1, 0, k);
                }
                emit_gemv_spec sp = {n, k, DSMLP_LAYOUT_OUT_IN, form == 0 ? EPI_BIAS : form == 1 ? EPI_GELU_BIAS : EPI_NONE, form != 3, form == 0,
                                     1 + form % 3, gated, DSMLP_ACT_SILU, form == 3 ? &ns : NULL, groups, 0};
                TU_OK(ctx, dsmlpC_emit_gemv(ctx, &j->p, &j->k, &sp, 0));
            }
}

/* Mixed-input GEMM (templates/mixed.cu, sm_90a): each quantized dtype x activation dtype x two epilogues (bias +
** GELU; plain + C: GEMM1's and GEMM2's), scale dtype, grouping and tokens per block alternating; GELU-4096's and SwiGLU-4096's shapes.
** (ReLU and the no-bias forms are the same few lines of ds_epi as in the decode GEMV's, compiled above.) */
static void make_mixed_jobs(dsmlp_ctx *ctx, int quick)
{
    static const plan_epilogue epis[] = {EPI_GELU_BIAS, EPI_NONE};
    static const int64_t nk[][2] = {{16384, 4096}, {4096, 14336}};
    int v = 0;
    for (int q = 0; q < 2; q++)
        for (int d = 1; d < 3; d++)
            for (int e = 0; e < (quick ? 1 : 2); e++, v++) {
                job *j = new_job("sm_90a");
                const dsmlp_dtype dt = dts[d], qt = q ? DSMLP_FP8_E4M3 : DSMLP_I8;
                const int64_t n = nk[v % 2][0], k = nk[v % 2][1], groups = v % 3 ? n : 16;
                const int bias = epis[e] == EPI_BIAS || epis[e] == EPI_RELU_BIAS || epis[e] == EPI_GELU_BIAS;
                const int c = epis[e] == EPI_NONE || epis[e] == EPI_BIAS;
                buf(j, dt, 1, 0, n), buf(j, qt, 0, n, k), buf(j, v % 2 ? DSMLP_F16 : DSMLP_F32, 0, 1, groups);
                buf(j, dt, 1, 0, k);
                if (bias) buf(j, dt, 0, 1, n);
                if (c) buf(j, dt, 1, 0, n);
                /* 32..256 tokens; some 32- and 64-token ones as one-a-SM twins */
                emit_mixed_spec sp = {n, k, groups, epis[e], bias, c, 32 << (v % 4), 0, DSMLP_ACT_GELU_TANH, 0, 0, v % 3 == 1};
                TU_OK(ctx, dsmlpC_emit_mixed(ctx, &j->p, &j->k, &sp, 0));
                ck_assert_int_eq(j->k.arch_a, 1);
                if (sp.tokens <= 64)   /* two blocks a SM, or one (the twin: its own name) */
                    ck_assert_msg(!!strstr(j->k.source, sp.one_per_sm ? "#define DS_MINB 1" : "#define DS_MINB 2") &&
                                  !!strstr(j->k.name, "_one") == sp.one_per_sm, "%s: one a SM %d", j->k.name, sp.one_per_sm);
            }
    /* The gated form (the gated step fused: [up | gate] rows in, (up + b) * act(gate + b) out): SwiGLU-4096's W1 with
    ** gate and up scale groups, int8 and fp8, 16- and 256-token blocks, with and without the gated step's bias. */
    for (int q = 0; q < 2; q++) {
        job *j = new_job("sm_90a");
        const dsmlp_dtype dt = dts[2 - q], qt = q ? DSMLP_FP8_E4M3 : DSMLP_I8;
        const int64_t n = 28672, k = 4096, groups = q ? n : 16;
        buf(j, dt, 1, 0, n / 2), buf(j, qt, 0, n, k), buf(j, DSMLP_F32, 0, 1, groups), buf(j, dt, 1, 0, k);
        if (q) buf(j, dt, 0, 1, n);
        emit_mixed_spec sp = {n, k, groups, EPI_NONE, q, 0, q ? 256 : 16, 1, q ? DSMLP_ACT_GELU_ERF : DSMLP_ACT_SILU, 0, 0, !q};   /* int8: a twin */
        TU_OK(ctx, dsmlpC_emit_mixed(ctx, &j->p, &j->k, &sp, 0));
        ck_assert_msg(strstr(j->k.source, "#define DS_GATED 1") != NULL, "%s is not gated", j->k.name);
    }
    /* An activation step taken on (erf-GELU with bias, SiLU without; post_act): int8 and fp8 codes, and f16 weights
    ** as stored [in,out] (BERT's first GEMM at T = 65..128) */
    for (int w = 0; w < 3; w++) {
        job *j = new_job("sm_90a");
        const dsmlp_dtype dt = w == 1 ? DSMLP_BF16 : DSMLP_F16, qt = w == 0 ? DSMLP_I8 : w == 1 ? DSMLP_FP8_E4M3 : DSMLP_F16;
        const int64_t n = w == 2 ? 3072 : 16384, k = w == 2 ? 768 : 4096, groups = w == 2 ? 1 : 16;
        const int bias = w != 1;
        buf(j, dt, 1, 0, n), buf(j, qt, 0, w == 2 ? k : n, w == 2 ? n : k);
        if (w != 2) buf(j, DSMLP_F32, 0, 1, groups);
        buf(j, dt, 1, 0, k);
        if (bias) buf(j, dt, 0, 1, n);
        const dsmlp_act act = w == 1 ? DSMLP_ACT_SILU : DSMLP_ACT_GELU_ERF;
        emit_mixed_spec sp = {n, k, groups, bias ? EPI_BIAS : EPI_NONE, bias, 0, w == 2 ? 128 : 16 << w, 0,
                              DSMLP_ACT_GELU_TANH, w == 2, 1 + (int)act, 0};
        TU_OK(ctx, dsmlpC_emit_mixed(ctx, &j->p, &j->k, &sp, 0));
        ck_assert_msg(strstr(j->k.source, act == DSMLP_ACT_SILU ? "#define DS_ACT 4 " : "#define DS_ACT 3 ") != NULL, "%s", j->k.name);
    }
    /* The same kernels on float weights as stored (DS_QUANT 0, both wgmma operands from shared memory): f16 and bf16,
    ** [out,in] and [in,out] (DS_WMN: A MN-major), plain + C and gated, 64- and 128-token blocks. */
    for (int w = 0; w < 4; w++) {
        job *j = new_job("sm_90a");
        const dsmlp_dtype dt = w & 1 ? DSMLP_BF16 : DSMLP_F16;
        const int io = w >> 1, gated = w == 1 || w == 2;
        const int64_t n = gated ? 28672 : 4096, k = gated ? 4096 : 14336;
        buf(j, dt, 1, 0, gated ? n / 2 : n), buf(j, dt, 0, io ? k : n, io ? n : k), buf(j, dt, 1, 0, k);
        if (!gated) buf(j, dt, 1, 0, n);   /* C */
        emit_mixed_spec sp = {n, k, 1, EPI_NONE, 0, !gated, w & 1 ? 128 : 64, gated, DSMLP_ACT_SILU, io, 0, 0};
        TU_OK(ctx, dsmlpC_emit_mixed(ctx, &j->p, &j->k, &sp, 0));
        ck_assert_ptr_nonnull(strstr(j->k.source, "#define DS_QUANT 0"));
        ck_assert_ptr_nonnull(strstr(j->k.source, io ? "#define DS_WMN 1" : "#define DS_WMN 0"));
    }
}

/* The timeline build (-DDSMLP_TIMELINE=N, measurements only: bench/timeline.py) of the first narrow mixed kernel and
** the first norm kernel: the same sources after the define such a build's emitter puts first, which must compile. */
static void make_timeline_jobs(void)
{
    const int n = njobs;
    int want_mixed = 1, want_norm = 1;
    for (int i = 0; i < n && (want_mixed || want_norm); i++) {
        const int mixed = jobs[i].k.kind == KERN_MIXED && jobs[i].k.rows_per_block == 32, norm = jobs[i].k.kind == KERN_NORM;
        if (!(mixed && want_mixed) && !(norm && want_norm)) continue;
        const char *src = jobs[i].k.source, *def = "#define DS_TIMELINE 20\n";
        ck_assert_msg(strstr(src, "ds_tl_begin") != NULL, "%s keeps no timeline", jobs[i].k.name);
        job *j = new_job(jobs[i].arch);
        j->k = jobs[i].k;
        char *s = malloc(strlen(def) + strlen(src) + 1);
        ck_assert_ptr_nonnull(s);
        strcpy(s, def), strcat(s, src);
        j->k.source = s;
        j->timeline = 1;
        if (mixed) want_mixed = 0;
        else want_norm = 0;
    }
    ck_assert_msg(!want_mixed && !want_norm, "no narrow mixed or no norm kernel to build with a timeline");
}

/* Pool item: compiles job i with worker w's context (contexts are not thread-safe). */
static dsmlp_ctx *worker_ctx[2];

static void compile_one(void *arg, int64_t i, int w)
{
    (void)arg;
    job *j = &jobs[i];
    void *cubin = NULL;
    size_t len = 0;
    dsmlp_status s = dsmlpR_nvrtc_compile(worker_ctx[w], j->k.name, j->k.source, j->arch, &cubin, &len);
    const char *why = NULL;
    if (s != DSMLP_OK) snprintf(j->err, sizeof j->err, "%s %s: %.400s", j->k.name, j->arch, dsmlp_last_error(worker_ctx[w]));
    else if (!len) snprintf(j->err, sizeof j->err, "%s %s: empty cubin", j->k.name, j->arch);
    else if (dsmlpR_cubin_resources(cubin, len, j->k.name, &j->res, &why) != 0)
        snprintf(j->err, sizeof j->err, "%s %s: cubin unreadable: %s", j->k.name, j->arch, why);
    /* A streaming kernel that spills (or indexes a local array) reads and writes local memory beside its weights on
    ** every step: ptxas's stack frame must be empty. */
    else if (j->res.frame_bytes && !j->timeline)
        snprintf(j->err, sizeof j->err, "%s %s: %u-byte stack frame (%d registers): spills or a local array",
                 j->k.name, j->arch, j->res.frame_bytes, j->res.regs);
    free(cubin);
    int d = atomic_fetch_add(&done_jobs, 1) + 1;
    if (d % 25 == 0 || d == njobs) {
        printf("compiled %d/%d\n", d, njobs);
        fflush(stdout);
    }
}

START_TEST(every_template_compiles)
{
    dsmlp_ctx *ctx = tu_ctx();
    const char *q = getenv("DSMLP_CODEGEN_QUICK");
    jobs = calloc(MAXJOBS, sizeof *jobs);
    make_jobs(ctx, q && *q == '1');
    make_gemv_jobs(ctx, q && *q == '1');
    if (!(q && *q == '1')) ck_assert_int_gt(gemv_splits, 0);   /* [in,out] (4544, 11008) and (11008, 14336) split k */
    make_mixed_jobs(ctx, q && *q == '1');
    make_timeline_jobs();
    printf("%d kernels to compile (2 threads)\n", njobs);
    for (int i = 0; i < 2; i++) TU_OK(ctx, dsmlp_ctx_create(&worker_ctx[i]));
    dsmlpB_parallel(2, njobs, compile_one, NULL);
    for (int i = 0; i < 2; i++) dsmlp_ctx_free(worker_ctx[i]);
    int bad = 0, most = 0, checked = 0;
    for (int i = 0; i < njobs; i++) {
        checked += !jobs[i].timeline;
        if (!jobs[i].err[0] && jobs[i].res.regs > jobs[most].res.regs) most = i;
        if (jobs[i].err[0]) {
            if (bad < 5) fprintf(stderr, "FAILED %s\n", jobs[i].err);
            bad++;
        }
    }
    if (!bad) printf("no stack frame in any of the %d kernels (timeline builds not checked); most registers: %d (%s %s)\n",
                     checked, jobs[most].res.regs, jobs[most].k.name, jobs[most].arch);
    for (int i = 0; i < njobs; i++) free(jobs[i].k.source);
    free(jobs);
    ck_assert_msg(bad == 0, "%d of %d kernels failed to compile or spill", bad, njobs);
    dsmlp_ctx_free(ctx);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("codegen_compile");
    TCase *tc = tcase_create("nvrtc");
    tcase_set_timeout(tc, 1400);
    tcase_add_test(tc, every_template_compiles);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
