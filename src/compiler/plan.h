/*
** plan.h — the lowered plan: what the compiler decides, what the runtime runs.
**
** graph --fuse--> groups --lower--> plan (buffers + steps) --emit--> kernel
** sources. The runtime (src/runtime/) reads a plan and never changes its
** decisions; it only attaches cubins, descriptors and device pointers.
**
** Buffers are the plan's tensors: external ones are bound by name (inputs,
** params, outputs), BUF_WORK ones live in one workspace at ws_offset.
**
** Generated-kernel calling convention (every template follows it):
**   extern "C" __global__ void NAME(long long T, P0 *a0, P1 *a1, ...)
** with a_i = device pointer of buffer args[i]. Launch geometry:
**   grid  = (grid_x, ceil(rows / rows_per_block)), rows = rows_fixed > 0 ?
**           rows_fixed : T;  block = threads;  dynamic smem = smem_bytes.
*/
#ifndef DSMLP_PLAN_H
#define DSMLP_PLAN_H

#include "dsmlp.h"
#include "graph.h"

#define PLAN_NAME_MAX   64
#define PLAN_MAX_ARGS   32      /* a fused stream kernel takes both GEMMs' arguments */
#define PLAN_LOWER_MAX_ARGS 20  /* the kernels lowering makes (element-wise chains, norms)          */
#define PLAN_MAX_TERMS  8
#define PLAN_MAX_VARIANTS 11    /* six register-fed tile variants, two W rings, a persistent pair, the 8-warp ring
                                   for T <= 64, the ring with warps across tokens for T <= 128 (route.c) */
#define PLAN_BUCKETS    5     /* stream route token buckets: T <= 8, 16, 32, 64, 128 */
#define PLAN_STREAM_MAX_T 128
#define PLAN_DECODE_AUTO_MAX_T 2   /* decode_max_tokens = -1 (auto): [out,in] GEMVs to T = 2, others less (lower.c) */
#define PLAN_DECODE_WIDE_MAX_T 4   /* auto: a large float GEMM's second decode GEMV serves T = 3..4 (lower.c) */
#define PLAN_DECODE_WIDE_BUILD_T 4 /* and is built for this many tokens (GELU-4096 f16 [out,in] 1.6-1.8 us over 8) */
#define PLAN_DECODE_WIDE_MAX_DRAM_GBS 4000   /* on cards with a peak DRAM rate under this (H100; H200 slower) */
#define PLAN_TEXT_MAX   512

/* BUF_SCRATCH: run-time scratch of the stream route that the runtime sizes
** at load (split tiles' partial sums: ws_bytes per grid block; tile counters:
** ws_bytes in all, zeroed once and restored to zero by every launch). */
typedef enum plan_buf_kind { BUF_INPUT, BUF_PARAM, BUF_OUTPUT, BUF_WORK, BUF_SCRATCH } plan_buf_kind;

typedef struct plan_buf {
    plan_buf_kind kind;
    char          name[PLAN_NAME_MAX];  /* binding name; "ws<N>" for BUF_WORK   */
    dsmlp_dtype   dtype;
    int           tokens;               /* 1: [T, cols]; 0: [rows, cols]        */
    int64_t       rows, cols;           /* vectors: rows = 1                    */
    dsmlp_layout  layout;               /* weight matrices                      */
    size_t        ws_offset;            /* BUF_WORK: bytes into the workspace   */
    size_t        ws_bytes;             /* BUF_WORK: bytes reserved (max T)     */
    int           per_block;            /* BUF_SCRATCH: ws_bytes is per grid block */
} plan_buf;

typedef enum plan_step_kind { STEP_GEMM, STEP_KERNEL, STEP_ALL_REDUCE, STEP_STREAM } plan_step_kind;

/* GEMM epilogues, as cuBLASLt offers them (applied before the residual). */
typedef enum plan_epilogue {
    EPI_NONE, EPI_BIAS, EPI_RELU_BIAS, EPI_GELU_BIAS /* tanh GELU */, EPI_RELU, EPI_GELU
} plan_epilogue;

#define PLAN_MIXED_VARIANTS  5   /* mixed-input GEMM kernels per GEMM step: 256, 128, 64, 32 and 16 tokens per block */
#define PLAN_MIXED_TOKENS    {256, 128, 64, 32, 16}
#define PLAN_MIXED_FLOAT_WIDTH(v) ((v) == 1 || (v) == 2)   /* the widths float weights get (128 and 64 tokens) */
#define PLAN_GEMM_HAS_MIXED(m) ((m)->mixed_kernel[1] >= 0)  /* every kind has the 128-token width */
/* The code kernels of 64, 32 and 16 tokens run two blocks a SM (emit_mixed.c). Their one-a-SM twins (mixed_one) are
** built where a GEMM's 128-row tiles could fill 3/4 of an sm_90 part's SMs in one wave: from 3/4 of the fewest SMs
** such a part has (78, an H20) to the most (132: H100 SXM, H200); the runtime takes one on the card's own count. */
#define PLAN_MIXED_TWO_A_SM(v) ((v) >= 2)
#define PLAN_SM90_FEWEST_SMS 78
#define PLAN_SM90_MOST_SMS   132
#define PLAN_MIXED_ONE_BUILT(row_tiles) ((row_tiles) * 4 >= PLAN_SM90_FEWEST_SMS * 3 && (row_tiles) <= PLAN_SM90_MOST_SMS)
/* A code GEMM whose row tiles leave half of an sm_90 part's SMs idle splits k over plain blocks at T <= 32 (no clusters:
** the tile's last block sums; exec_mixed.c), on one-a-SM twins of its 16- and 32-token kernels, built here */
#define PLAN_MIXED_SERIAL_MAX_TOKENS 32
#define PLAN_MIXED_SERIAL_TWIN(row_tiles, tokens) \
    ((tokens) <= PLAN_MIXED_SERIAL_MAX_TOKENS && (row_tiles) * 2 <= PLAN_SM90_MOST_SMS)
/* T the float-weight kernels serve (mixed_gemm 1): [out,in] from 33, [in,out] from 65, to 128 (exec_mixed.c) */
#define PLAN_FLOAT_MIXED_MIN_T(layout) ((layout) == DSMLP_LAYOUT_IN_OUT ? 65 : 33)
#define PLAN_FLOAT_MIXED_MAX_T 128
/* ... and, on a narrow output (n <= PLAN_FLOAT_NARROW_N: at most 8 tiles of 128 rows, which cuBLASLt covers by
** splitting k with a reduce kernel of its own), at T = 2..PLAN_FLOAT_NARROW_MAX_T whatever share of the SMs the grid
** fills: BERT-base's second GEMM (n 768, k 3072) so, the block 0.2-0.9 us faster at T = 2..32 on an H200 (level to
** 0.4 slower at 64; an H100: 0.1-0.4 faster at T <= 6, level to 32), where running its first GEMM (n 3072) so lost
** 3 (bench/RESULTS.md, fifty-first session) */
#define PLAN_FLOAT_NARROW_N     1024
#define PLAN_FLOAT_NARROW_MAX_T 32
#define PLAN_FLOAT_NARROW(m) ((m)->n <= PLAN_FLOAT_NARROW_N)
/* ... and on both GEMMs of a block's pair (plan_gemm.pair_rows: one [up | gate] GEMM feeding a gated step and the
** GEMM after it, [out,in]; or an ungated block's GEMM feeding the next GEMM, either layout) at T = PLAN_FLOAT_PAIR_MIN_T..
** PLAN_FLOAT_PAIR_MAX_T past the decode GEMV, where the first GEMM's 128-row tiles number at least 3/4 of the SMs (a
** grid that fills them without a k split; BERT-base's 3072 rows: 24 tiles, its first GEMM on them lost 3 us). On an
** H100: SwiGLU-4096 bf16 0.8-3.0 us faster at T = 3..32, SwiGLU-8192 8-26, where the first alone lost 2-4 and the second
** alone 6-37 (fifty-sixth and fifty-seventh sessions); with the float kernels one a SM (emit_mixed.c) GELU-4096 f16
** `[out,in]` 3.6-5.4 us faster at T = 3..64 than cuBLASLt, `[in,out]` 1.7-9.1 (bench/RESULTS.md, fifty-eighth session) */
#define PLAN_FLOAT_PAIR_MIN_T 3
#define PLAN_FLOAT_PAIR_MAX_T 64
/* ... built only where the first GEMM has at least this many rows: 64 tiles, 3/4 of the fewest SMs an sm_90 part
** has (78); below it no card's rule would take them */
#define PLAN_FLOAT_PAIR_MIN_ROWS 8192
/* ... on cards whose peak DRAM rate is under this (GB/s): the H200 (4.8 TB/s) ran SwiGLU-8192 bf16 8-21 us slower
** with the gated pair at T = 3..32 and SwiGLU-4096 level to 2 slower, where the H100 (3.35) gained: the cuBLASLt
** kernels keep more of a faster stream in flight (bench/RESULTS.md, fifty-seventh session). A tuned plan decides by
** timing. */
#define PLAN_FLOAT_PAIR_MAX_DRAM_GBS 4000
#define PLAN_FLOAT_PAIR(m) ((m)->pair_rows > 0)
#define PLAN_MIXED_SPLIT_MAX 8   /* the runtime splits k over a cluster of at most this many blocks (portable size) */

/* d[T,n] = x[T,k] · W  (+ bias[n] and activation per epi)  (+ c[T,n] if c >= 0,
** via cuBLASLt beta = 1; c may equal d for in place). */
typedef struct plan_gemm {
    int           x, w, d;        /* buffer indices                          */
    int           bias;           /* -1 or vector [n]                         */
    int           c;              /* -1 or residual [T, n]                    */
    int64_t       n, k;
    dsmlp_layout  layout;         /* of w                                     */
    plan_epilogue epi;
    /* Decode variant (design.md: one variant per token range): for
    ** 1 <= T <= decode_max_T the runtime launches generated kernel
    ** decode_kernel (a GEMV with the same epilogue) instead of cuBLASLt.
    ** decode_kernel = -1 (decode_max_T = 0): cuBLASLt for every T. */
    int           decode_kernel;
    int64_t       decode_max_T;
    /* Mixed-input variant (issue 10: no dequantized copy at large T): when w is a dequant step's output,
    ** generated kernels mixed_kernel[] (templates/mixed.cu, sm_90a) multiply x by the codes mixed_q and scales
    ** mixed_scales itself; where the runtime's rule lets it serve T (exec_mixed.c), it runs instead of cuBLASLt
    ** and the dequant step writing w is skipped. One kernel per block width: PLAN_MIXED_TOKENS[v] tokens (small T
    ** takes narrow blocks, which multiply less padding). -1: none. Where w is an f16/bf16 parameter [out,in] the
    ** same kernels read it as stored (mixed_q = w, mixed_scales = -1; either layout), 64- and 128-token widths only
    ** (PLAN_MIXED_FLOAT_WIDTH), for T = 33..128 ([in,out]: 65..128; exec_mixed.c). PLAN_GEMM_HAS_MIXED: either kind. */
    int           mixed_kernel[PLAN_MIXED_VARIANTS], mixed_q, mixed_scales;
    /* The one-block-a-SM twin of code kernel mixed_kernel[v] (PLAN_MIXED_TWO_A_SM widths, PLAN_MIXED_ONE_BUILT GEMMs
    ** and PLAN_MIXED_SERIAL_TWIN ones; exec_mixed.c takes it where the row tiles fill 3/4 of the SMs and no more, or
    ** for a k split without clusters); -1: none. */
    int           mixed_one[PLAN_MIXED_VARIANTS];
    /* mixed_act_out >= 0: the mixed kernels also apply the activation step that reads d (lower.c mixed_emit): a
    ** gated one (mixed_gated = 1: d as [up | gate], each block's weight rows 64 up and the matching 64 gate rows),
    ** writing mixed_act_out [T, n / 2], or an element-wise one cuBLASLt has no epilogue for (erf-GELU, SiLU),
    ** writing mixed_act_out [T, n]; mixed_act_bias is that step's bias (-1: none). The runtime skips the step
    ** wherever they run (exec_mixed.c dsmlpR_gemm_applies_act). */
    int           mixed_act_out, mixed_act_bias, mixed_gated;
    /* decode_act_out >= 0: the decode GEMV applies the activation step that reads d too (lower.c gemv_fuse): a
    ** gated step ([out,in] weights; d as [up | gate]), writing decode_act_out [T, n / 2], or an element-wise one,
    ** act(d + bias) (an activation cuBLASLt has no epilogue for, erf-GELU or SiLU), writing decode_act_out [T, n];
    ** decode_act_bias is that step's bias (-1: none). The runtime skips the step wherever the decode GEMV runs. */
    int           decode_act_out, decode_act_bias;
    /* decode_norm >= 0: the decode GEMV computes the norm step that writes x itself (main step decode_norm; its
    ** block 0 writes the norm's sum output), from the norm's addends, into its x stage (lower.c gemv_fuse); the
    ** runtime skips that step wherever the decode GEMV runs. */
    int           decode_norm;
    /* decode_q >= 0: w is a dequant step's output and the decode GEMV reads its codes decode_q and scales
    ** decode_scales (decode_groups row groups) itself, converting in registers; where it runs, the runtime skips the
    ** dequant step and the mixed-input kernels (exec_mixed.c). -1: it reads w. */
    int           decode_q, decode_scales;
    int64_t       decode_groups;
    /* > 0: a float GEMM of a block's pair (PLAN_FLOAT_PAIR: lower.c pair_rows), the rows (n) of the pair's first GEMM,
    ** which say whether its grid fills the SMs; its wgmma kernels serve from T = PLAN_FLOAT_PAIR_MIN_T (exec_mixed.c) */
    int64_t       pair_rows;
    int           decode_scratch;   /* BUF_SCRATCH of a decode GEMV that splits k (its last argument), or -1 (lowering) */
    const char   *decode_why;       /* why decode_max_T is what it is (a static string; explain.c), or NULL */
    /* A second decode GEMV for the tokens just past decode_max_T (lower.c lower_gemv: float weights of at least
    ** 32 MiB under the auto bound): kernel decode_wide_kernel, built for PLAN_DECODE_WIDE_BUILD_T tokens, serves
    ** decode_max_T < T <= decode_wide_max_T with the same epilogue and activation as decode_kernel but never the
    ** norm (the norm step runs: folded in, it lost 1.1-5.2 us). -1 (0): none. plan_gemm_decode_at. */
    int           decode_wide_kernel;
    int64_t       decode_wide_max_T;
    int           decode_wide_scratch;   /* decode_scratch of decode_wide_kernel */
} plan_gemm;

/* The decode GEMV that serves T tokens of GEMM g (decode_kernel to decode_max_T, then decode_wide_kernel), or -1:
** another variant (mixed-input, cuBLASLt) does. */
static inline int plan_gemm_decode_at(const plan_gemm *g, int64_t T)
{
    if (g->decode_kernel >= 0 && T <= g->decode_max_T) return g->decode_kernel;
    if (g->decode_wide_kernel >= 0 && T > g->decode_max_T && T <= g->decode_wide_max_T) return g->decode_wide_kernel;
    return -1;
}
/* The largest T a decode GEMV of g serves (0: none). */
static inline int64_t plan_gemm_decode_top(const plan_gemm *g)
{
    return g->decode_wide_kernel >= 0 ? g->decode_wide_max_T : g->decode_kernel >= 0 ? g->decode_max_T : 0;
}

typedef enum plan_kernel_kind {
    KERN_NORM,      /* sum of adds + layernorm/rmsnorm (+ writes the sum)     */
    KERN_ACT,       /* bias + element-wise activation                         */
    KERN_GATED,     /* bias + gated activation                                */
    KERN_RESIDUAL,  /* final sum: y (+bias) + residual terms                  */
    KERN_DEQUANT,   /* int8 weight × group scales -> float weight             */
    KERN_ELEMWISE,  /* any other element-wise chain                           */
    KERN_GEMV,      /* decode variant of a GEMM step (plan_gemm.decode_kernel)  */
    KERN_STREAM,    /* weight-streaming GEMM of the small-T route (STEP_STREAM)   */
    KERN_MIXED      /* mixed-input GEMM variant of a GEMM step (plan_gemm.mixed_kernel) */
} plan_kernel_kind;

typedef struct plan_kernel {
    plan_kernel_kind kind;
    char    name[PLAN_NAME_MAX];   /* entry point, e.g. "dsmlp_norm_ln_f16_h4096" */
    char   *source;                /* emitted CUDA source (owned by the plan)  */
    int     args[PLAN_MAX_ARGS];   /* buffer indices, in signature order        */
    int     nargs;
    int64_t rows_fixed;            /* > 0: grid rows do not depend on T         */
    int     rows_per_block;
    int     grid_x;
    int     threads;
    size_t  smem_bytes;
    char    key[72];               /* hex store key, filled when compiled      */
    /* KERN_STREAM: grid = (G, 1) with G chosen at run time (stream-K over
    ** sk_units = tiles x load groups); serves T <= 8 * sk_maxnt; its split
    ** tiles need sk_part_bytes of partial sums per grid block. */
    int64_t sk_units, sk_tiles;
    int     sk_maxnt;
    int     sk_ring, sk_quant;     /* W through the shared-memory ring; quantized weights */
    int     sk_fused;              /* runs its step and the next one (a persistent kernel: grid <= resident blocks,
                                      cooperative launch) */
    int     sk_norm;               /* normalizes x in its prologue (a norm step before it is skipped) */
    int     sk_tall;               /* the W ring with warps across tokens (its split tiles are summed from registers) */
    size_t  sk_part_bytes;
    char    sk_what[128];          /* "IO 64 cols/warp, 2x4 warps" (explain)   */
    int     arch_a;                /* needs the arch-specific target (sm_90a: wgmma); dsmlpC_kernel_arch */
    int     mixed_bk;              /* KERN_MIXED: k per stage (the weight's copy box: mixed_bk bytes x rows) */
    int     entry_regs_min;        /* > 0: its warpgroups trade registers (setmaxnreg), which needs at least this many
                                      per thread at entry (else the increase waits forever); checked at load */
    int     gemv_rounds;           /* KERN_GEMV [out,in]: grid_x blocks cover the columns in one round; launched with
                                      dsmlpC_gemv_grid's blocks, each taking as many rounds as the grid needs */
    int     gemv_half_mac;         /* KERN_GEMV on int8/fp8 codes: f16 x multiplied in f16 pairs (templates/gemv.cu ds_hmac16) */
} plan_kernel;

/* What a generated kernel step computes, as data (the stream route rebuilds
** fused kernels from it). Buffer indices; -1 when absent. */
typedef struct plan_norm_op {      /* KERN_NORM: out = norm(sum terms); side = sum terms + sum extra */
    int    rms;
    double eps, gamma_offset;
    int    out, side, gamma, beta;
    int    terms[PLAN_MAX_TERMS], nterms;
    int    extra[PLAN_MAX_TERMS], nextra;
} plan_norm_op;

typedef struct plan_act_op {       /* KERN_ACT: out = act(in + bias); KERN_GATED: out = (up + b) * act(gate + b) */
    dsmlp_act act;
    int       in, bias, out;
    int       gate, gate_bias;     /* KERN_GATED with gate >= 0: up = in [T,n], gate apart [T,n] (separate
                                      up/gate weights); gate < 0: in = [up | gate] [T,2n], bias [2n] */
} plan_act_op;

typedef struct plan_deq_op {       /* KERN_DEQUANT: out = q * scales[row / (rows / groups)] */
    int     q, scales, out;
    int64_t groups;
} plan_deq_op;

/* An element-wise kernel's expression (KERN_ELEMWISE, KERN_RESIDUAL, KERN_ACT
** made from element-wise graph ops), as data: emit.c writes its CUDA text.
** A leaf (op DSMLP_OP_INPUT) is kernel argument leaf + 1 (argument 0 is the
** output); DSMLP_OP_ADD and DSMLP_OP_BIAS: src[0] + src[1]; DSMLP_OP_SCALE:
** src[0] * c; the activations of src[0]. root < 0: no tree, the sum of the
** nleaves leaves (KERN_RESIDUAL), or a copy of leaf 0 (KERN_ELEMWISE). */
#define PLAN_EW_MAX_NODES 132      /* a tree of 64 graph ops and its leaves   */
typedef struct plan_ew_node {
    dsmlp_op op;
    int      src[2];               /* node indices                             */
    int      leaf;
    double   c;
} plan_ew_node;

typedef struct plan_ew_op {
    int          root, nleaves, nnodes;
    plan_ew_node node[PLAN_EW_MAX_NODES];
} plan_ew_op;

typedef struct plan_op {
    plan_kernel_kind kind;         /* which member is meaningful; KERN_ELEMWISE: ew */
    plan_norm_op     norm;
    plan_act_op      act;
    plan_deq_op      deq;
    plan_ew_op       ew;           /* every kernel lowered from element-wise ops (KERN_ACT too) */
} plan_op;

/* STEP_STREAM: one weight-streaming GEMM (templates/stream.cu) that replaces
** main-route steps [first, last]: optionally the norm before the GEMM
** (computed in its prologue), the GEMM, and the activation or gating after it
** (in its epilogue). Variants differ in tile shape; the runtime picks one per
** token bucket and a grid size (by measurement, else heuristic). */
typedef struct plan_stream {
    int nvariants;
    int variant[PLAN_MAX_VARIANTS];    /* kernel indices                          */
    int counters;                      /* BUF_SCRATCH: one uint per tile          */
    int first, last;                   /* main-route steps it replaces            */
    int out, side;                     /* buffers it writes (side: norm sum, or -1) */
    int c;                             /* residual added at the index it writes, or -1 */
    int norm_fused, gated, act;        /* explain                                 */
    /* The variant at index fused_v (-1: none) is a persistent kernel running this step and the next one
    ** (fused_role 1, which launches it) or the previous one and this (2, which launches nothing); both steps
    ** list the same kernel at the same index, so a pick is consistent when both steps pick it. */
    int fused_v, fused_role;
    int wide_v;                        /* the 8-warp W ring kernel for T <= 64 (-1: none; route.c add_wide_ring) */
    int tall_v;                        /* the W ring with warps across tokens for T <= 128 (-1: none; ditto) */
} plan_stream;

typedef struct plan_step {
    plan_step_kind kind;
    plan_gemm      gemm;                  /* STEP_GEMM                          */
    plan_stream    stream;                /* STEP_STREAM                        */
    plan_op        op;                    /* STEP_KERNEL: what the kernel computes */
    int            main_step;             /* ssteps: the main step it copies (GEMM state), else -1 */
    int            kernel;                /* STEP_KERNEL: index in kernels      */
    int            buf;                   /* STEP_ALL_REDUCE: buffer, in place  */
    int            norm_for;              /* ssteps: a norm kept as its own kernel runs only when stream step
                                             norm_for - 1 picked a kernel without the norm (0: always runs) */
    char           label[48];             /* dsmlp_plan_step_label              */
    char           absorbed[PLAN_TEXT_MAX]; /* the graph ops this step computes  */
    char           why[PLAN_TEXT_MAX];    /* fusion taken / not taken, and why  */
} plan_step;

/* An output that may not share memory with an input, and why (alias.c). */
typedef struct plan_alias {
    int  out, in;                         /* buffer indices                      */
    char why[PLAN_TEXT_MAX];
} plan_alias;

typedef struct plan {
    char         graph_name[GRAPH_NAME_MAX];
    char         arch[16];                /* "sm_90"                            */
    int64_t      max_tokens;
    int          tf32;
    int64_t      decode_max_tokens;       /* GEMV variants for T <= this; 0: none */
    int          decode_auto;             /* decode_max_tokens chosen per GEMM by the measured rule (lower.c) */
    int          mixed_mode;              /* mixed-input GEMM variants: 0 none, 1 where the rule says, 2 every T */
    int          external_workspace;      /* the caller installs the workspace     */
    plan_buf    *bufs;    int nbufs;
    plan_step   *steps;   int nsteps;
    plan_kernel *kernels; int nkernels;
    size_t       ws_bytes;                /* workspace size for max_tokens      */
    /* The small-T route (design.md: the compiler owns the weight stream): the
    ** same block as weight-streaming kernels with the norm in the first GEMM's
    ** prologue and bias/activation/gating/residual in the epilogues. It may
    ** serve 1 <= T <= stream_max_T (0: none); which buckets it serves is chosen
    ** at load (tuning record in the store, else the heuristic). */
    plan_step   *ssteps;  int nssteps;
    int64_t      stream_max_T;
    char         stream_why[PLAN_TEXT_MAX]; /* why there is none / what is kept   */
    char         notes[PLAN_TEXT_MAX];    /* plan-wide remarks (e.g. unused ops) */
    plan_alias  *alias;   int nalias;     /* (output, input) pairs that may not alias */
} plan;

/* Compiler entry points (src/compiler/). Pure: no loading, launching, caching. */
dsmlp_status dsmlpC_plan_make(dsmlp_ctx *ctx, const dsmlp_graph *g, const dsmlp_compile_options *o, plan **out);
void         dsmlpC_plan_destroy(plan *p);
dsmlp_status dsmlpC_plan_explain_text(const plan *p, char **text);
int          dsmlpC_plan_find_buf(const plan *p, const char *name);
/* Appends a BUF_SCRATCH (f32 words, `bytes` in all or per grid block) the runtime allocates and zeroes at load
** (exec_stream.c); cap: the caller's capacity of p->bufs. Its index, or -1 out of memory. */
int          dsmlpC_plan_add_scratch(plan *p, int *cap, const char *name, size_t bytes, int per_block);
/* The target kernel k is compiled for: the plan's, or its arch-specific form ("sm_90" -> "sm_90a") where k needs
** one. The store keys, bundles and loading use it, so a plan for sm_90 carries sm_90a cubins for those kernels. */
const char  *dsmlpC_kernel_arch(const plan *p, const plan_kernel *k);
/* 1 where the plan's target converts fp8 e4m3 pairs in one instruction (sm_89's cvt.rn.f16x2.e4m3x2). */
int          dsmlpC_arch_fp8_cvt(const plan *p);
/* The blocks to launch kernel k with on a device that holds `resident` of them at once: grid_x, or for a GEMV in
** rounds the fewest rounds that fit (a partial second wave ran its blocks up to 17 us late), spread evenly. */
int          dsmlpC_gemv_grid(const plan_kernel *k, int64_t resident);

#endif
