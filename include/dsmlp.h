/*
** dsmlp.h — the one public header of dsmlp.
**
** dsmlp compiles the MLP block of transformer inference (norm -> GEMM -> bias +
** activation -> GEMM -> bias + residual, int8 weights, tensor parallelism) into
** fused CUDA kernels at run time. Types are opaque; every call returns a
** dsmlp_status and leaves a readable message in its context (dsmlp_last_error).
** Nothing here needs a GPU except dsmlp_plan_load / dsmlp_run and friends.
*/
#ifndef DSMLP_H
#define DSMLP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DSMLP_VERSION_MAJOR 0
#define DSMLP_VERSION_MINOR 1
#define DSMLP_VERSION_PATCH 0
#define DSMLP_VERSION_STRING "0.1.0"

/* ------------------------------------------------------------------ status */

typedef enum dsmlp_status {
    DSMLP_OK = 0,
    DSMLP_ERR_INVALID_ARG,   /* null pointer, bad enum, bad name, bad config  */
    DSMLP_ERR_SHAPE,         /* shapes do not fit together                    */
    DSMLP_ERR_DTYPE,         /* dtypes do not fit together                    */
    DSMLP_ERR_NOMEM,         /* host allocation failed                        */
    DSMLP_ERR_NOT_FOUND,     /* unknown name (binding, layer, preset, entry)  */
    DSMLP_ERR_UNSUPPORTED,   /* valid request this build/plan cannot do       */
    DSMLP_ERR_COMPILE,       /* NVRTC failed; message carries log + dump path */
    DSMLP_ERR_IO,            /* file system error (cache, bundle, script)     */
    DSMLP_ERR_CORRUPT,       /* a cache entry or bundle failed verification   */
    DSMLP_ERR_VERSION,       /* bundle/entry from another version or arch     */
    DSMLP_ERR_SCRIPT,        /* a Lua script failed; message has file:line    */
    DSMLP_ERR_NO_DEVICE,     /* no CUDA driver or no GPU                      */
    DSMLP_ERR_CUDA,          /* a CUDA driver call failed                     */
    DSMLP_ERR_CUBLAS,        /* a cuBLAS/cuBLASLt call failed                 */
    DSMLP_ERR_NCCL,          /* an NCCL call failed                           */
    DSMLP_ERR_STATE,         /* call not valid in this state (e.g. unbound)   */
    DSMLP_STATUS_COUNT
} dsmlp_status;

const char *dsmlp_status_name(dsmlp_status s);   /* "DSMLP_ERR_SHAPE" etc. */
const char *dsmlp_version(void);                 /* DSMLP_VERSION_STRING  */
/* The NVRTC version in use ("13.0"): part of every kernel's store key. */
const char *dsmlp_nvrtc_version(void);
/* The CUDA toolkit dsmlp was built against (CUDA_VERSION, e.g. 13000). */
int         dsmlp_cuda_version(void);

/* ---------------------------------------------------------------- context */

typedef struct dsmlp_ctx dsmlp_ctx;

/* A context owns the last-error message, the kernel store and (lazily) the
** device state. It needs no GPU to be created. Not thread-safe: use one per
** thread, or serialize. */
dsmlp_status dsmlp_ctx_create(dsmlp_ctx **out);

/* Settings of a context, given at creation. dsmlp_ctx_options_default gives
** pure defaults (no environment read); dsmlp_ctx_options_from_env is the one
** place the documented variables (DSMLP_CACHE_DIR, DSMLP_CACHE,
** DSMLP_CACHE_MAX_MB, DSMLP_DUMP_DIR, DSMLP_CUDA_INCLUDE, DSMLP_DEVICE,
** DSMLP_REF_THREADS, DSMLP_COMPILE_THREADS, DSMLP_REF_PORTABLE, DSMLP_GEMM_TUNE,
** DSMLP_DECODE_MAX_TOKENS, DSMLP_STREAM_MAX_TOKENS, TMPDIR) are read; dsmlp_ctx_create(&c) is
** dsmlp_ctx_create_with(defaults + from_env). Strings are copied. */
#define DSMLP_CTX_KEEP (-1000)   /* an override field that leaves the plan's option alone */

typedef enum dsmlp_cache_mode {
    DSMLP_CACHE_DISK = 0,     /* memory + disk store (default)            */
    DSMLP_CACHE_MEMORY        /* memory only, by request (no warning)     */
} dsmlp_cache_mode;

typedef struct dsmlp_ctx_options {
    const char      *cache_dir;        /* NULL: xdg_cache_home/dsmlp, else home/.cache/dsmlp */
    const char      *xdg_cache_home;   /* from_env: $XDG_CACHE_HOME (absolute only)   */
    const char      *home;             /* from_env: $HOME; NULL: the passwd entry's   */
    dsmlp_cache_mode cache_mode;
    double           cache_max_mb;     /* size limit of the disk store; 0: none */
    const char      *dump_dir;         /* write every generated source there; NULL: no */
    const char      *tmp_dir;          /* failing sources when dump_dir is NULL; NULL: /tmp */
    const char      *cuda_include;     /* NVRTC headers; NULL: the build-time toolkit's */
    int              device;           /* GPU ordinal when no CUDA context is current */
    int              ref_threads;      /* reference executor threads; 0: all CPUs */
    int              ref_portable;     /* 1: portable reference GEMM even with AVX2 */
    int              gemm_tune;        /* 1: time cuBLASLt candidates at load */
    int              decode_max_tokens;/* DSMLP_CTX_KEEP: the compile options' value; else overrides it */
    int              stream_max_tokens;/* DSMLP_CTX_KEEP: the compile options' value; else overrides it */
    int              stream_pipe;      /* DSMLP_CTX_KEEP: the compile options' value; else overrides it */
    int              mixed_gemm;       /* DSMLP_CTX_KEEP: the compile options' value; else overrides it */
    int              mixed_two_groups; /* a mixed-input GEMM's k split as two groups of
                                          clusters where larger clusters do not fit
                                          (docs/quant.md): 1 (default) where the rule
                                          says, 0 never, 2 wherever they fit (tests) */
    int              mixed_serial_split; /* 1 (default): a mixed-input GEMM of <= 32-token
                                          blocks whose row tiles leave half the SMs idle
                                          splits k over plain blocks, the tile's last
                                          block summing their parts (docs/quant.md);
                                          0: over clusters, as for wider blocks */
    int              compile_threads;  /* NVRTC threads of dsmlp_plan_build / dsmlp_compile
                                          (with a writable disk store): 0 (default)
                                          one per online CPU, 1 the calling thread */
    char             warning[256];     /* from_env: the first variable it ignored, and why */
} dsmlp_ctx_options;

void         dsmlp_ctx_options_default(dsmlp_ctx_options *o);
/* Reads the documented environment variables into o (unset ones leave o as
** it is). A malformed value is ignored and described in o->warning. */
void         dsmlp_ctx_options_from_env(dsmlp_ctx_options *o);
dsmlp_status dsmlp_ctx_create_with(const dsmlp_ctx_options *o, dsmlp_ctx **out);
/* The options a context was created with (strings owned by ctx). */
const dsmlp_ctx_options *dsmlp_ctx_get_options(const dsmlp_ctx *ctx);
/* Drops the caller's reference. Graphs and plans made from ctx hold their
** own, so they stay usable (their errors still land in ctx, readable through
** dsmlp_graph_ctx); the context is freed with the last of them. */
void         dsmlp_ctx_free(dsmlp_ctx *ctx);
/* Message for the last failed call on ctx (or on an object made from it);
** "" when none. Valid until the next call on ctx. */
const char  *dsmlp_last_error(const dsmlp_ctx *ctx);

/* ------------------------------------------------------------------ types */

typedef enum dsmlp_dtype {
    DSMLP_F32 = 0,
    DSMLP_F16,
    DSMLP_BF16,
    DSMLP_I8,
    DSMLP_F64,   /* host buffers only (reference executor); never in a graph */
    DSMLP_FP8_E4M3, /* fp8 e4m3 (bias 7, no inf, 0x7f/0xff NaN, max 448): weights
                       feeding dequant only (weight-only fp8, docs/quant.md)     */
    DSMLP_DTYPE_COUNT
} dsmlp_dtype;

const char *dsmlp_dtype_name(dsmlp_dtype t);     /* "f32", "f16", "bf16", "i8", "f64", "fp8" */
size_t      dsmlp_dtype_size(dsmlp_dtype t);     /* bytes; 0 if invalid */
/* Converts n elements (round to nearest even; int8 saturates). Any pair of
** dtypes; DSMLP_ERR_INVALID_ARG for an invalid one. */
dsmlp_status dsmlp_convert(void *dst, dsmlp_dtype dst_type, const void *src, dsmlp_dtype src_type, size_t n);
/* Relative-error tolerance ‖out − ref‖/‖ref‖ of an output of dtype t against
** the CPU reference, as dsmlp's own checks use it (f32 1e-5, f16 2e-3, bf16
** 1.6e-2); 0 for other dtypes. */
double      dsmlp_tolerance(dsmlp_dtype t);
/* Target architectures dsmlp compiles for: "sm_80", ...; NULL past the end. */
const char *dsmlp_arch_name(int i);
/* A dtype from its name or a common alias: f32 (fp32, float32, float),
** f16 (fp16, float16, half), bf16 (bfloat16), i8 (int8), f64 (fp64,
** float64, double), fp8 (e4m3, fp8_e4m3, float8_e4m3fn, f8_e4m3);
** case-insensitive. DSMLP_ERR_NOT_FOUND otherwise. */
dsmlp_status dsmlp_dtype_parse(const char *name, dsmlp_dtype *out);

/* Storage of a weight matrix. IN_OUT: row-major [in, out] (DeepSpeed default,
** Y = X·W). OUT_IN: row-major [out, in] (nn.Linear, transposed_mode, int8;
** Y = X·Wᵀ). */
typedef enum dsmlp_layout {
    DSMLP_LAYOUT_IN_OUT = 0,
    DSMLP_LAYOUT_OUT_IN,
    DSMLP_LAYOUT_COUNT
} dsmlp_layout;

/* Element-wise activations (also the `act` of a gated op). */
typedef enum dsmlp_act {
    DSMLP_ACT_GELU_TANH = 0,
    DSMLP_ACT_GELU_ERF,
    DSMLP_ACT_RELU,
    DSMLP_ACT_SILU,
    DSMLP_ACT_COUNT
} dsmlp_act;

/* --------------------------------------------------------------- op graph */

typedef struct dsmlp_graph dsmlp_graph;
/* A value is an index into its graph; negative means "none" (e.g. no β). */
typedef int32_t dsmlp_value;
#define DSMLP_NONE ((dsmlp_value)-1)

dsmlp_status dsmlp_graph_create(dsmlp_ctx *ctx, const char *name, dsmlp_graph **out);
void         dsmlp_graph_free(dsmlp_graph *g);
const char  *dsmlp_graph_name(const dsmlp_graph *g);
dsmlp_ctx   *dsmlp_graph_ctx(const dsmlp_graph *g);

/* Activations are [T, n] with T (tokens) bound at run time. */
dsmlp_status dsmlp_input(dsmlp_graph *g, const char *name, dsmlp_dtype dt, int64_t n, dsmlp_value *out);
/* A parameter vector [n] (bias, norm scale, dequant scales). */
dsmlp_status dsmlp_param_vector(dsmlp_graph *g, const char *name, dsmlp_dtype dt, int64_t n, dsmlp_value *out);
/* A weight matrix with storage shape [rows, cols] in the given layout. */
dsmlp_status dsmlp_param_matrix(dsmlp_graph *g, const char *name, dsmlp_dtype dt, int64_t rows, int64_t cols,
                                dsmlp_layout layout, dsmlp_value *out);

dsmlp_status dsmlp_add(dsmlp_graph *g, dsmlp_value a, dsmlp_value b, dsmlp_value *out);
dsmlp_status dsmlp_scale(dsmlp_graph *g, dsmlp_value x, double c, dsmlp_value *out);
/* beta may be DSMLP_NONE. */
dsmlp_status dsmlp_layernorm(dsmlp_graph *g, dsmlp_value x, dsmlp_value gamma, dsmlp_value beta, double eps,
                             dsmlp_value *out);
dsmlp_status dsmlp_rmsnorm(dsmlp_graph *g, dsmlp_value x, dsmlp_value gamma, double eps, dsmlp_value *out);
/* RMSNorm whose weight is (gamma + offset): Gemma stores w and scales by
** (1 + w), so offset = 1. Kernels add the offset in fp32. offset 0 is
** dsmlp_rmsnorm. */
dsmlp_status dsmlp_rmsnorm_offset(dsmlp_graph *g, dsmlp_value x, dsmlp_value gamma, double eps, double offset,
                                  dsmlp_value *out);
/* x [T,in] times a weight (param matrix or dequant result) -> [T,out]. */
dsmlp_status dsmlp_matmul(dsmlp_graph *g, dsmlp_value x, dsmlp_value w, dsmlp_value *out);
/* x [T,n] + b [n] broadcast over rows. */
dsmlp_status dsmlp_bias(dsmlp_graph *g, dsmlp_value x, dsmlp_value b, dsmlp_value *out);
dsmlp_status dsmlp_activation(dsmlp_graph *g, dsmlp_value x, dsmlp_act act, dsmlp_value *out);
dsmlp_status dsmlp_gelu_tanh(dsmlp_graph *g, dsmlp_value x, dsmlp_value *out);
dsmlp_status dsmlp_gelu_erf(dsmlp_graph *g, dsmlp_value x, dsmlp_value *out);
dsmlp_status dsmlp_relu(dsmlp_graph *g, dsmlp_value x, dsmlp_value *out);
dsmlp_status dsmlp_silu(dsmlp_graph *g, dsmlp_value x, dsmlp_value *out);
/* x [T, 2m]: up = columns [0,m), gate = [m,2m); out [T,m] = up ⊙ act(gate). */
dsmlp_status dsmlp_gated(dsmlp_graph *g, dsmlp_value x, dsmlp_act act, dsmlp_value *out);
/* The same with up and gate as two values [T,m] (separate up and gate
** weights): one gated op with two operands, src[0] = up, src[1] = gate. */
dsmlp_status dsmlp_gated_pair(dsmlp_graph *g, dsmlp_value up, dsmlp_value gate, dsmlp_act act, dsmlp_value *out);
/* wq: quantized matrix [R,C], i8 or fp8 (DSMLP_FP8_E4M3); scales: f32 or
** f16 vector [groups]; groups split the R output rows into contiguous blocks
** of R/groups rows (spec §5.3; groups = R: one scale per output channel). The
** result is the weight W[r,c] = q[r,c]·scales[r / (R/groups)] rounded once to
** `dt` (f16/bf16/f32), with wq's shape and layout. The layout must be OUT_IN
** (rows = output features). docs/quant.md. */
dsmlp_status dsmlp_dequant(dsmlp_graph *g, dsmlp_value wq, dsmlp_value scales, int64_t groups, dsmlp_dtype dt,
                           dsmlp_value *out);
/* Sum over the tensor-parallel group. */
dsmlp_status dsmlp_all_reduce(dsmlp_graph *g, dsmlp_value x, dsmlp_value *out);
dsmlp_status dsmlp_output(dsmlp_graph *g, const char *name, dsmlp_value x);

/* Introspection (tests, the Lua binding and tools use it). */
typedef enum dsmlp_op {
    DSMLP_OP_INPUT = 0, DSMLP_OP_PARAM, DSMLP_OP_ADD, DSMLP_OP_SCALE, DSMLP_OP_LAYERNORM, DSMLP_OP_RMSNORM,
    DSMLP_OP_MATMUL, DSMLP_OP_BIAS, DSMLP_OP_GELU_TANH, DSMLP_OP_GELU_ERF, DSMLP_OP_RELU, DSMLP_OP_SILU,
    DSMLP_OP_GATED, DSMLP_OP_DEQUANT, DSMLP_OP_ALL_REDUCE, DSMLP_OP_OUTPUT, DSMLP_OP_COUNT
} dsmlp_op;

typedef struct dsmlp_value_info {
    dsmlp_op     op;
    dsmlp_dtype  dtype;
    int          tokens;     /* 1: shape is [T, dims[1]]; 0: fixed shape   */
    int          rank;       /* 1 (vector) or 2                            */
    int64_t      dims[2];    /* dims[0] is meaningless when tokens = 1     */
    dsmlp_layout layout;     /* matrices and dequant results               */
    const char  *name;       /* input/param/output name, else ""           */
    int          nsrc;
    dsmlp_value  src[3];
    double       attr;       /* eps (norms), constant (scale)              */
    dsmlp_act    act;        /* gated                                      */
    int64_t      groups;     /* dequant                                    */
    double       gamma_offset; /* rmsnorm: the weight is gamma + this      */
} dsmlp_value_info;

int          dsmlp_graph_size(const dsmlp_graph *g);                /* number of values */
dsmlp_status dsmlp_value_get(const dsmlp_graph *g, dsmlp_value v, dsmlp_value_info *out);
const char  *dsmlp_op_name(dsmlp_op op);                            /* "layernorm", ...  */
/* Human-readable listing, one value per line; caller frees with dsmlp_free. */
dsmlp_status dsmlp_graph_dump(const dsmlp_graph *g, char **text);
/* 1 when both graphs have the same ops, shapes, dtypes, attributes, names. */
int          dsmlp_graph_equal(const dsmlp_graph *a, const dsmlp_graph *b);
void         dsmlp_free(void *p);

/* ------------------------------------------------- DeepSpeed-equivalent MLP */

/* The block's activation: any of the four functions, plain or gated
** (up ⊙ act(gate)). 1-4 are DeepSpeed's ActivationFuncType values and keep
** DeepSpeed's meaning: GELU is the tanh form, GATED_GELU the erf form. The
** explicit names say which GELU; docs/mlp.md has the table. */
typedef enum dsmlp_mlp_act {
    DSMLP_MLP_GELU = 1,              /* tanh GELU (DeepSpeed's GELU kernels) */
    DSMLP_MLP_RELU = 2,
    DSMLP_MLP_GATED_GELU = 3,        /* up ⊙ erf-GELU(gate) (DeepSpeed)      */
    DSMLP_MLP_GATED_SILU = 4,        /* up ⊙ SiLU(gate)                      */
    DSMLP_MLP_GELU_ERF = 5,          /* exact GELU (BERT, GPT-NeoX, Falcon)  */
    DSMLP_MLP_SILU = 6,
    DSMLP_MLP_GATED_GELU_TANH = 7,   /* up ⊙ tanh-GELU(gate) (Gemma)         */
    DSMLP_MLP_GATED_RELU = 8,
    DSMLP_MLP_GELU_TANH = DSMLP_MLP_GELU,
    DSMLP_MLP_GATED_GELU_ERF = DSMLP_MLP_GATED_GELU
} dsmlp_mlp_act;

/* The block activation of function `act`, gated or not; 0 for a bad act. */
dsmlp_mlp_act dsmlp_mlp_act_make(dsmlp_act act, int gated);
/* Its function and whether it is gated; DSMLP_OK, or INVALID_ARG for an
** unknown value (ctx may be NULL). */
dsmlp_status  dsmlp_mlp_act_split(dsmlp_ctx *ctx, dsmlp_mlp_act a, dsmlp_act *act, int *gated);

typedef enum dsmlp_norm {
    DSMLP_NORM_NONE = 0,         /* GPT-J branch: the MLP reads residual_norm */
    DSMLP_NORM_LAYERNORM = 1,
    DSMLP_NORM_RMSNORM = 3
} dsmlp_norm;

typedef struct dsmlp_mlp_config {
    int64_t       hidden;          /* H > 0                                   */
    int64_t       intermediate;    /* I; <= 0 means 4·H                       */
    dsmlp_dtype   dtype;           /* activations, biases, norms: f32/f16/bf16 */
    int           int8_weights;    /* 1: quantized W1/W2, [out,in] + scales:
                                      int8, or quant_dtype (docs/quant.md)   */
    int64_t       int8_groups;     /* scale groups per weight (DeepSpeed's
                                      q_groups; divides its rows)            */
    dsmlp_mlp_act activation;
    dsmlp_norm    norm;
    int           pre_layer_norm;  /* default 1 */
    int           mlp_after_attn;  /* default 1 */
    double        epsilon;         /* default 1e-12 (DeepSpeed's default)     */
    dsmlp_layout  layout;          /* float weights; int8 is always OUT_IN    */
    int           tp_size;         /* P >= 1 */
    int           tp_rank;         /* 0 <= r < P */
    int           attn_bias;       /* b_o present (attention output bias)     */
    int           norm_bias;       /* β present (LayerNorm only)              */
    int           bias1;           /* b1 present */
    int           bias2;           /* b2 present */
    double        gamma_offset;    /* RMSNorm weight is gamma + this (Gemma: 1) */
    int           split_w1;        /* gated: separate w1_up and w1_gate (and
                                      b1_up, b1_gate) instead of one [up|gate] */
    /* Quantized weights (int8_weights = 1; docs/quant.md). Appended so that
    ** the fields above keep their offsets. */
    dsmlp_dtype   quant_dtype;     /* DSMLP_I8 (default) or DSMLP_FP8_E4M3    */
    dsmlp_dtype   quant_scale_dtype; /* DSMLP_F32 (default) or DSMLP_F16      */
    int           quant_per_channel; /* 1: one scale per output row (then
                                      int8_groups stays 1)                   */
    int           quant_extra_grouping; /* DeepSpeed's mlp_extra_grouping:
                                      2·int8_groups groups per weight        */
    int           quant_gate_scales; /* gated W1: the up and gate halves each
                                      get int8_groups groups, w1_scales =
                                      [up | gate] (DeepSpeed: one set over
                                      the merged rows; split_w1's halves
                                      always have their own scales)          */
} dsmlp_mlp_config;

/* GPT-2-like defaults: hidden 0 (must be set), GELU, LayerNorm, pre-LN,
** mlp_after_attn, eps 1e-12, f16, [in,out], P=1, all biases present. */
void         dsmlp_mlp_config_default(dsmlp_mlp_config *cfg);
/* Checks the config; DSMLP_OK or an error with a message. */
dsmlp_status dsmlp_mlp_config_check(dsmlp_ctx *ctx, const dsmlp_mlp_config *cfg);
/* Builds rank tp_rank's graph of the block into an empty graph g.
** Names: inputs "input" (A), "residual" (X), "residual_norm" (Xn, norm NONE
** only); params "attn_bias", "norm_w", "norm_b", "w1", "b1", "w2", "b2",
** "w1_scales", "w2_scales" (quantized); with split_w1 "w1_up", "w1_gate",
** "b1_up", "b1_gate" ("w1_up_scales", "w1_gate_scales") replace w1 and b1;
** output "out". */
dsmlp_status dsmlp_mlp_build(dsmlp_graph *g, const dsmlp_mlp_config *cfg);
/* The dsmlp_mlp_config g was built from by dsmlp_mlp_build (dsmlp.mlp and
** presets in Lua); DSMLP_ERR_NOT_FOUND for graphs built op by op. */
dsmlp_status dsmlp_graph_mlp_config(const dsmlp_graph *g, dsmlp_mlp_config *out);
/* Copies rank tp_rank's shard of a full (P=1) parameter, given as host data
** in the parameter's dtype and declared layout, into `shard`. Replicated
** parameters are copied whole. Quantized weights: w1/w2 are sliced as they
** are; w2_scales are copied whole (W2's output rows are not split) and
** per-channel w1_scales are sliced like b1; group scales of W1 do not cut
** into a rank's groups (DSMLP_ERR_UNSUPPORTED: quantize each rank's shard
** with dsmlp_mlp_quantize). docs/quant.md. */
dsmlp_status dsmlp_mlp_shard(dsmlp_ctx *ctx, const dsmlp_mlp_config *cfg, const char *param, const void *full,
                             void *shard);
/* Number of scales of "w1_scales" or "w2_scales" in rank tp_rank's graph
** (config checked; DSMLP_ERR_NOT_FOUND without quantized weights). */
dsmlp_status dsmlp_mlp_scales(dsmlp_ctx *ctx, const dsmlp_mlp_config *cfg, const char *param, int64_t *count);

/* ------------------------------------------------------ quantize at load */

/* Symmetric quantization of a host weight with `rows` output features and
** `cols` inputs, given in w_dtype (f32, f16, bf16 or f64) and w_layout
** (OUT_IN: [rows, cols]; IN_OUT: [cols, rows]). groups (dividing rows; rows
** for per-channel scales) split the output rows into contiguous blocks; each
** block's scale is max|w| / 127 (int8, q in [-127, 127], round to nearest
** even) or max|w| / 448 (fp8 e4m3, the nearest e4m3), rounded up to the next
** scale_dtype value (f32 or f16) so that nothing clips; an all-zero block gets
** scale 1. Writes q [rows, cols] ([out,in], q_dtype DSMLP_I8 or
** DSMLP_FP8_E4M3) and scales [groups] (scale_dtype): what dsmlp_dequant and
** the plan's "w1"/"w1_scales" take. Deterministic (same bits on every
** machine); non-finite weights and scales beyond f16 are errors naming the
** element. docs/quant.md. */
dsmlp_status dsmlp_quantize(dsmlp_ctx *ctx, const void *w, dsmlp_dtype w_dtype, dsmlp_layout w_layout, int64_t rows,
                            int64_t cols, int64_t groups, dsmlp_dtype q_dtype, void *q, dsmlp_dtype scale_dtype,
                            void *scales);
/* Quantize at load for a block built from cfg (int8_weights = 1): rank
** tp_rank's shard of the full (P = 1) float weight `param` ("w1" or "w2"),
** given as host data in full_dtype (f32, f16, bf16) and full_layout (the
** checkpoint's, whatever cfg.layout says), quantized with cfg's scale layout
** into q (the rank's "w1"/"w2", [out,in]) and scales ("w1_scales" /
** "w2_scales", dsmlp_mlp_scales of them). Each rank's scales belong to its
** shard. */
dsmlp_status dsmlp_mlp_quantize(dsmlp_ctx *ctx, const dsmlp_mlp_config *cfg, const char *param, const void *full,
                                dsmlp_dtype full_dtype, dsmlp_layout full_layout, void *q, void *scales);

/* --------------------------------------------------- CPU reference executor */

/* A host buffer bound by name. data holds the value's elements row-major,
** either in the value's dtype or in DSMLP_F64. For inputs/params it is read;
** for outputs it is written (rounded to the output's dtype, then stored in
** `dtype`, so F64 receives the rounded value; see dsmlp_reference_run_f64). */
typedef struct dsmlp_host_tensor {
    const char *name;
    dsmlp_dtype dtype;
    void       *data;
} dsmlp_host_tensor;

/* Runs the unfused graph in double precision for T tokens. */
dsmlp_status dsmlp_reference_run(const dsmlp_graph *g, int64_t T, const dsmlp_host_tensor *bind, int nbind);
/* Same, but F64 outputs receive the unrounded double result. */
dsmlp_status dsmlp_reference_run_f64(const dsmlp_graph *g, int64_t T, const dsmlp_host_tensor *bind, int nbind);
/* Emulates P ranks: graphs[r] with bind[r] (nbind[r] entries); all_reduce sums
** over ranks. Outputs are written for every rank (they are equal). */
dsmlp_status dsmlp_reference_run_ranks(dsmlp_graph *const *graphs, int P, int64_t T,
                                       const dsmlp_host_tensor *const *bind, const int *nbind);
/* Same, but F64 outputs receive the unrounded double result. */
dsmlp_status dsmlp_reference_run_ranks_f64(dsmlp_graph *const *graphs, int P, int64_t T,
                                           const dsmlp_host_tensor *const *bind, const int *nbind);
/* Worker threads for the reference executor (default: 1). */
void         dsmlp_reference_set_threads(dsmlp_ctx *ctx, int nthreads);

/* ------------------------------------------------------- compile and plans */

typedef struct dsmlp_plan dsmlp_plan;

typedef struct dsmlp_compile_options {
    const char *arch;        /* "sm_80", "sm_86", "sm_89", "sm_90", "sm_90a"; NULL = device's, else sm_90 */
    int64_t     max_tokens;  /* largest T dsmlp_run accepts; <= 0 means 8192  */
    int         tf32;        /* allow TF32 in f32 GEMMs (default 0)           */
    int         defer_compile; /* 1: plan_build emits sources and keys only;
                                  compile with dsmlp_plan_compile_kernel      */
    int         residual_kernel; /* 1: add the final bias + residual in a
                                  generated kernel instead of GEMM2's cuBLASLt
                                  BIAS epilogue + beta·C (default 0; see
                                  bench/RESULTS.md for the measurement)      */
    int         decode_max_tokens; /* GEMM steps also get a generated GEMV
                                  kernel that runs instead of cuBLASLt when
                                  T <= this (decode); 0 disables, at most 8.
                                  Default -1, auto: T <= 2 for [out,in]
                                  weights and [in,out] ones of >= 32 MiB,
                                  T = 1 for smaller [in,out] ones; on int8/
                                  fp8 codes T <= 2 (mixed-input kernels
                                  serve T >= 3) (measured: bench/RESULTS.md);
                                  env DSMLP_DECODE_MAX_TOKENS overrides it */
    int         stream_max_tokens; /* the plan also gets a weight-streaming
                                  route (generated tensor-core GEMMs with the
                                  norm, activation/gating and residual fused,
                                  int8 converted in registers) that may serve
                                  T <= this (at most 128); which token counts
                                  it serves is measured (dsmlp_plan_tune,
                                  dsmlp-compile --tune) or chosen by a
                                  heuristic at load. 0: none. -1 (default):
                                  auto, only for quantized weights (measured
                                  faster there; bench/RESULTS.md)            */
    int         stream_pipe; /* 1 (default): the weight-streaming route also
                                  gets the W ring variants ([out,in], T <= 8,
                                  sm_90: a producer warp streams W tiles with
                                  bulk copies completed on mbarriers); the
                                  heuristic picks them for quantized weights
                                  (measured faster there), the tuner where they
                                  win. 0: not built (docs/stream.md)        */
    int         external_workspace; /* 1: dsmlp_plan_load allocates no
                                  workspace; install one with
                                  dsmlp_plan_set_workspace before running
                                  (plans of one model can share one)      */
    int         mixed_gemm;  /* GEMMs on int8/fp8 weights also get a mixed-
                                  input kernel (sm_90: wgmma, the codes
                                  converted in its main loop, no dequantized
                                  copy) that runs instead of dequantize +
                                  cuBLASLt: 1 (default) at the token counts
                                  where its grid fills the GPU (docs/quant.md),
                                  2 at every T, 0 never; f16/bf16 weights
                                  get the same kernels on the weight as
                                  stored, run at T = 33..128 ([in,out]:
                                  65..128)                                  */
} dsmlp_compile_options;

void dsmlp_compile_options_default(dsmlp_compile_options *o);

/* Compile options by name, from one table: what dsmlp-compile -O NAME=VALUE
** and per-layer options in model scripts (dsmlp.layer(name, graph, opts))
** use, so ahead-of-time compilation can ask for exactly what a server will. */
typedef enum dsmlp_option_kind {
    DSMLP_OPTION_INT, DSMLP_OPTION_BOOL, DSMLP_OPTION_ARCH,
    DSMLP_OPTION_INTERNAL                 /* not settable by name (defer_compile) */
} dsmlp_option_kind;
typedef struct dsmlp_option_info {
    const char       *name;               /* the field's name: "max_tokens"       */
    dsmlp_option_kind kind;
    int64_t           min, max;           /* INT/BOOL: accepted range             */
    const char       *help;
} dsmlp_option_info;
int                      dsmlp_compile_option_count(void);
const dsmlp_option_info *dsmlp_compile_option_info(int i);   /* NULL past the end */
/* Sets one field from "name=value" (booleans: 0/1, true/false, on/off). */
dsmlp_status dsmlp_compile_options_parse(dsmlp_ctx *ctx, dsmlp_compile_options *o, const char *assignment);
/* Field i's value as text; returns the length (snprintf) or -1. */
int          dsmlp_compile_options_format(const dsmlp_compile_options *o, int i, char *buf, size_t cap);

/* Fuses, lowers, emits and compiles every kernel of the plan through the
** kernel store. Needs no GPU. The plan keeps no reference to g. */
dsmlp_status dsmlp_plan_build(dsmlp_ctx *ctx, const dsmlp_graph *g, const dsmlp_compile_options *o,
                              dsmlp_plan **out);
void         dsmlp_plan_free(dsmlp_plan *p);
/* What the plan does: each step, the ops it absorbed, kernel name and key,
** and why a fusion was or was not taken. Caller frees with dsmlp_free. */
dsmlp_status dsmlp_plan_explain(const dsmlp_plan *p, char **text);
int          dsmlp_plan_steps(const dsmlp_plan *p);
/* Short step label: "norm", "gemm+bias_gelu", "gated", "gemm+bias_residual",
** "all_reduce", ... (stable strings, tests compare them). */
const char  *dsmlp_plan_step_label(const dsmlp_plan *p, int i);
int          dsmlp_plan_kernels(const dsmlp_plan *p);                     /* generated kernels */
/* Name and hex store key of generated kernel i. */
dsmlp_status dsmlp_plan_kernel(const dsmlp_plan *p, int i, const char **name, const char **key);
/* The target kernel i is compiled for: the plan's arch, or its arch-specific form ("sm_90a" in an "sm_90" plan) for
** kernels that need one (the mixed-input GEMMs); NULL when i is out of range. */
const char  *dsmlp_plan_kernel_arch(const dsmlp_plan *p, int i);
const char  *dsmlp_plan_arch(const dsmlp_plan *p);
/* Compiles (or finds in the store) kernel i of p using ctx's store and error
** slot; *was_cached (may be NULL) says whether NVRTC was skipped. Several
** threads may call this on one plan at once, each with its own ctx. */
dsmlp_status dsmlp_plan_compile_kernel(dsmlp_ctx *ctx, const dsmlp_plan *p, int i, int *was_cached);
/* Kernel i of a plan, for dsmlp_compile_kernels. */
typedef struct dsmlp_kernel_ref {
    const dsmlp_plan *plan;
    int               index;
} dsmlp_kernel_ref;
/* Called after each kernel, one call at a time (from any of the threads): refs[i] is done. */
typedef void (*dsmlp_compile_progress_fn)(void *arg, int i, int was_cached, double seconds);
/* Compiles (or finds) refs[0..n) on `threads` threads (< 1: one per online CPU). The calling thread works with ctx;
** each other thread with its own context made from ctx's options (same store; its publishing is safe for
** concurrent writers). Kernels are handed out one at a time; the first failure stops the handing out and is
** returned, its message in ctx. Afterwards ctx's cache statistics and warning include every thread's. A
** memory-only store keeps only the kernels the calling thread compiled. */
dsmlp_status dsmlp_compile_kernels(dsmlp_ctx *ctx, const dsmlp_kernel_ref *refs, int n, int threads,
                                   dsmlp_compile_progress_fn progress, void *arg);

/* ---------------------------------------------------------------- runtime */

/* dsmlp_plan_build followed by dsmlp_plan_load. */
dsmlp_status dsmlp_compile(dsmlp_ctx *ctx, const dsmlp_graph *g, const dsmlp_compile_options *o,
                           dsmlp_plan **out);
/* Attaches a plan to the context's current device: loads kernels, prepares
** GEMM descriptors, allocates the workspace. DSMLP_ERR_NO_DEVICE without GPU. */
dsmlp_status dsmlp_plan_load(dsmlp_plan *p);
/* Caller-owned device pointer for an input, output or parameter. An output
** may alias "residual" (in-place, DeepSpeed's behaviour). */
dsmlp_status dsmlp_bind(dsmlp_plan *p, const char *name, void *device_ptr);
/* dsmlp allocates device memory for a parameter and uploads host data given
** in the parameter's dtype and declared layout; freed with the plan. */
dsmlp_status dsmlp_upload(dsmlp_plan *p, const char *name, const void *host, size_t bytes);
/* For plans with all_reduce steps: an ncclComm_t owned by the caller. */
dsmlp_status dsmlp_set_nccl_comm(dsmlp_plan *p, void *nccl_comm);
/* Runs the plan for T tokens on a CUstream (NULL = default stream). No
** allocation, synchronization or host round-trip: graph-capturable. */
dsmlp_status dsmlp_run(dsmlp_plan *p, int64_t T, void *stream);
/* Times, on the plan's device, for every token bucket (T <= 8, 16, 32, 64,
** 128): each GEMM step's generated mixed-input / wgmma kernel against
** cuBLASLt within the main steps, then the main steps against the
** weight-streaming route where the plan has one (each tile variant and grid
** size); every time a CUDA-graph replay of one run. Applies the fastest and
** stores the decision as a tuning record in the kernel store (so later loads
** on the same kind of device, and bundles, reuse it). A plan with neither
** has nothing to tune (DSMLP_OK, no record). Uses its own random buffers;
** bindings are kept. Takes a few seconds per plan. */
dsmlp_status dsmlp_plan_tune(dsmlp_plan *p);
/* Store key of the plan's tuning record on its device ("" where there is
** nothing to tune); for bundling it. The plan must be loaded. */
dsmlp_status dsmlp_plan_tune_key(const dsmlp_plan *p, const char **key);
/* Which route and kernels serve which T, and why (measured, tuning record or
** heuristic). Caller frees with dsmlp_free. */
dsmlp_status dsmlp_plan_route_text(const dsmlp_plan *p, char **text);
/* Pins how the token bucket of T (T <= 8, 16, 32, 64, 128) runs: stream 0 =
** the main steps, 1 = the weight-streaming route with tile variant `variant`
** (-1: keep the current one) and `grid` blocks (0: one per SM and occupancy)
** for each of its kernels. For experiments and tests; dsmlp_plan_tune or a
** new load replaces it. */
dsmlp_status dsmlp_plan_set_route(dsmlp_plan *p, int64_t T, int stream, int variant, int grid);

/* Binding sets: one plan serves every layer of a model. A set holds device
** pointers for some of the plan's names (typically one layer's weights);
** names it leaves unbound come from the plan's own bindings (dsmlp_bind),
** e.g. the activations every layer shares. A set belongs to one loaded
** plan; sets still alive when the plan is freed lose their memory and
** refuse to run (free them before or after, never use them after). */
typedef struct dsmlp_bindings dsmlp_bindings;
dsmlp_status dsmlp_bindings_create(dsmlp_plan *p, dsmlp_bindings **out);
void         dsmlp_bindings_free(dsmlp_bindings *b);
/* dsmlp_bind and dsmlp_upload for the set (uploaded memory is the set's). */
dsmlp_status dsmlp_bindings_bind(dsmlp_bindings *b, const char *name, void *device_ptr);
dsmlp_status dsmlp_bindings_upload(dsmlp_bindings *b, const char *name, const void *host, size_t bytes);
/* Device memory this set uploaded (dsmlp_bindings_upload, weight loading). */
size_t       dsmlp_bindings_bytes(const dsmlp_bindings *b);
/* The plan the set belongs to; NULL once that plan was freed. */
dsmlp_plan  *dsmlp_bindings_plan(const dsmlp_bindings *b);
/* dsmlp_run with the set's pointers (NULL: the plan's own, = dsmlp_run).
** Graph-capturable: a CUDA graph of N runs with N sets replays N layers. */
dsmlp_status dsmlp_run_bound(dsmlp_plan *p, const dsmlp_bindings *b, int64_t T, void *stream);

/* Workspace: the plan's intermediates at max_tokens plus cuBLASLt's scratch.
** dsmlp_plan_load allocates it unless the plan was compiled with
** external_workspace. One workspace serves one stream at a time: plans that
** run one after another on one stream (the layers of a model) may share it;
** plans running concurrently need their own. Installing zeroes it entirely,
** once (kernels keep counters there that start at zero and end at zero). */
dsmlp_status dsmlp_plan_workspace_size(const dsmlp_plan *p, size_t *bytes);
/* device_ptr: 256-byte aligned, at least workspace_size bytes, owned by the
** caller, not freed before the plan; NULL goes back to a workspace dsmlp
** allocates. A workspace dsmlp allocated before is freed. */
dsmlp_status dsmlp_plan_set_workspace(dsmlp_plan *p, void *device_ptr, size_t bytes);
/* 1 when a CUDA driver and at least one GPU are present. */
int          dsmlp_device_available(dsmlp_ctx *ctx);
/* "sm_90" etc. of the current device, or NULL without one. */
const char  *dsmlp_device_arch(dsmlp_ctx *ctx);
/* Device memory for programs that do not use CUDA themselves (tools,
** bindings): allocated on the context's device; copies and fills are complete on return, so a run on any
** stream (blocking or not) may read the data next. */
dsmlp_status dsmlp_device_alloc(dsmlp_ctx *ctx, size_t bytes, void **device_ptr);
void         dsmlp_device_free(dsmlp_ctx *ctx, void *device_ptr);
dsmlp_status dsmlp_device_upload(dsmlp_ctx *ctx, void *device_ptr, const void *host, size_t bytes);
dsmlp_status dsmlp_device_download(dsmlp_ctx *ctx, void *host, const void *device_ptr, size_t bytes);
/* Sets bytes to `byte` (0xFF poisons every float dtype with NaN). */
dsmlp_status dsmlp_device_fill(dsmlp_ctx *ctx, void *device_ptr, unsigned char byte, size_t bytes);
/* Waits for all work on the context's device (after dsmlp_run). */
dsmlp_status dsmlp_device_sync(dsmlp_ctx *ctx);
/* GPUs the driver sees (0 without a driver). */
int          dsmlp_device_count(dsmlp_ctx *ctx);

/* ----------------------------------------------------- tensor parallelism */

/* A tensor-parallel group: this process is rank `rank` of P processes, one
** per GPU, started by a launcher (torchrun, mpirun, Slurm,
** tools/tp-launch.sh). The group holds an NCCL communicator (for large
** messages, peers without P2P, several hosts) and, when every rank is on one
** host with peer access, a low-latency peer-memory all-reduce for small
** messages. Plans attach to it with dsmlp_plan_set_tp. docs/tp.md. */
typedef struct dsmlp_tp dsmlp_tp;

typedef struct dsmlp_tp_options {
    int         rank, size;         /* this process's rank of P; -1: not set       */
    int         local_rank;         /* rank among this host's processes; -1: not set */
    int         device;             /* GPU ordinal; -1: local_rank (default)       */
    const char *rendezvous;         /* "file:PATH" (shared file system) or
                                       "tcp://HOST:PORT" (rank 0 listens)          */
    double      timeout_s;          /* rendezvous waits (default 300)              */
    int         nccl;               /* 1 (default): make an NCCL communicator;
                                       0: none (one host, custom path for all sizes) */
    int         custom;             /* peer-memory all-reduce: -1 auto (default: on
                                       when all ranks share a host with P2P and
                                       P <= 8), 0 off, 1 required (else an error)  */
    size_t      custom_max_bytes;   /* messages up to this take the custom path,
                                       larger ones NCCL (default 512 KiB)          */
    size_t      two_shot_min_bytes; /* P >= 4: custom messages from this size run
                                       two-shot (default 256 KiB)                  */
    int         overlap_chunks;     /* > 1: at T >= overlap_min_tokens, GEMM2 and
                                       the all-reduce run in this many token chunks,
                                       the all-reduce of one overlapping the GEMM of
                                       the next (default 0: off; at most 64)       */
    int64_t     overlap_min_tokens; /* default 1024                                */
    char        env_text_[320];     /* storage for strings read by _from_env       */
} dsmlp_tp_options;

void         dsmlp_tp_options_default(dsmlp_tp_options *o);
/* Reads the launcher's environment into o (the one place the library reads
** it): RANK, WORLD_SIZE, LOCAL_RANK (else OMPI_COMM_WORLD_*, else SLURM_PROCID
** / SLURM_NTASKS / SLURM_LOCALID); DSMLP_TP_RENDEZVOUS, else MASTER_ADDR +
** MASTER_PORT as tcp://; DSMLP_TP_DEVICE, DSMLP_TP_TIMEOUT, DSMLP_TP_NCCL,
** DSMLP_TP_CUSTOM (auto/on/off), DSMLP_TP_CUSTOM_MAX_BYTES,
** DSMLP_TP_TWO_SHOT_MIN_BYTES, DSMLP_TP_OVERLAP_CHUNKS,
** DSMLP_TP_OVERLAP_MIN_TOKENS. Missing or inconsistent values: an error
** saying which. */
dsmlp_status dsmlp_tp_options_from_env(dsmlp_ctx *ctx, dsmlp_tp_options *o);
/* Collective (every rank calls it): joins the rendezvous, makes the GPU
** (device, else local_rank) ctx's device, creates the NCCL communicator and
** sets up the peer-memory path. A failure on any rank fails every rank with
** a message naming it. Plans compiled on ctx afterwards run on that GPU. */
dsmlp_status dsmlp_tp_create(dsmlp_ctx *ctx, const dsmlp_tp_options *o, dsmlp_tp **out);
/* Collective over the caller's ncclComm_t (not owned, not destroyed): same
** group, exchanging setup data through NCCL. o may be NULL (defaults; its
** rank, size and rendezvous are ignored). ctx's device must be the comm's. */
dsmlp_status dsmlp_tp_from_nccl(dsmlp_ctx *ctx, void *nccl_comm, const dsmlp_tp_options *o, dsmlp_tp **out);
/* Detaches the plans still attached, destroys the communicator dsmlp made
** and leaves the rendezvous (the file rendezvous removes its files: call it
** on every rank). */
void         dsmlp_tp_free(dsmlp_tp *tp);
int          dsmlp_tp_rank(const dsmlp_tp *tp);
int          dsmlp_tp_size(const dsmlp_tp *tp);
void        *dsmlp_tp_nccl_comm(const dsmlp_tp *tp);   /* ncclComm_t, NULL without */
/* 1 when the peer-memory all-reduce is on. */
int          dsmlp_tp_custom(const dsmlp_tp *tp);
/* One line: rank, size, device, transports and why the custom path is on/off. */
const char  *dsmlp_tp_describe(const dsmlp_tp *tp);
/* Collective host all-gather of small blobs (a seed, a result) through the
** group: all[r·bytes ...] receives rank r's `mine`. */
dsmlp_status dsmlp_tp_allgather(dsmlp_tp *tp, const void *mine, size_t bytes, void *all);
/* Collective: a peer-memory buffer for dsmlp_tp_all_reduce of messages up
** to max_bytes (larger ones, and groups without the custom path, use NCCL).
** Allocated and exchanged once; call it before capturing graphs. */
dsmlp_status dsmlp_tp_reserve(dsmlp_tp *tp, size_t max_bytes);
/* In-place sum of count elements of dt (f32, f16, bf16) at device pointer
** buf over the group, on stream (a CUstream): the peer-memory path up to
** min(custom_max_bytes, the reserved size), NCCL above. Capturable, no host
** synchronization; every rank calls it with the same count, in the same
** order (e.g. the attention output's all-reduce of an engine). */
dsmlp_status dsmlp_tp_all_reduce(dsmlp_tp *tp, void *buf, size_t count, dsmlp_dtype dt, void *stream);
/* Collective: attaches a loaded plan to the group; its all_reduce steps then
** run on the peer-memory path (messages up to custom_max_bytes) or NCCL.
** Buffers are allocated and exchanged here, once. Every rank attaches its
** plans in the same order; plans with different all-reduce shapes on
** different ranks are refused. NULL detaches (local). A plan's own
** dsmlp_set_nccl_comm is ignored while it is attached. */
dsmlp_status dsmlp_plan_set_tp(dsmlp_plan *p, dsmlp_tp *tp);

/* ------------------------------------- models: Hugging Face configs, weights */

#define DSMLP_TENSOR_NAME_MAX 192
#define DSMLP_TENSOR_MAP_MAX  16

/* How tensor parallelism divides a checkpoint tensor among tp_size ranks
** (rank tp_rank reads its slice; see dsmlp_mlp_shard). */
typedef enum dsmlp_split {
    DSMLP_SPLIT_NONE = 0,    /* replicated: every rank reads all of it           */
    DSMLP_SPLIT_OUT,         /* output features: w1, b1, w1_up, w1_gate, b1_up... */
    DSMLP_SPLIT_IN,          /* input features: w2                                */
    DSMLP_SPLIT_OUT_HALVES   /* merged [up | gate] w1 or b1: each half split      */
} dsmlp_split;

/* Where one parameter of a block comes from in a checkpoint. */
typedef struct dsmlp_tensor_ref {
    char        param[64];                      /* the graph's name, e.g. "w1_up"      */
    char        tensor[DSMLP_TENSOR_NAME_MAX];  /* checkpoint name; "{i}" = layer index */
    int64_t     row_begin, row_count;           /* rows [begin, begin + count) of the
                                                   tensor (Phi-3's gate_up_proj holds
                                                   gate then up); count 0: all of it  */
    dsmlp_split split;
} dsmlp_tensor_ref;

typedef struct dsmlp_tensor_map {
    int              layers;           /* layers of the model (0: unknown)       */
    int              tp_size, tp_rank; /* the ranks the block was built for      */
    int              count;
    dsmlp_tensor_ref ref[DSMLP_TENSOR_MAP_MAX];
} dsmlp_tensor_map;

/* A graph may carry where its parameters come from (dsmlp.hf sets it); the
** graph keeps a copy. NULL clears it. */
dsmlp_status            dsmlp_graph_set_tensor_map(dsmlp_graph *g, const dsmlp_tensor_map *m);
const dsmlp_tensor_map *dsmlp_graph_tensor_map(const dsmlp_graph *g);   /* NULL: none */

/* The MLP block of a model from its Hugging Face config.json (a file, or a
** directory holding one): model_type gpt2, opt, bloom, gptj, gpt_neox, bert,
** llama, mistral, qwen2, gemma, phi, phi3, falcon. hidden_act maps to the
** exact function (gelu: erf; gelu_new, gelu_fast, gelu_pytorch_tanh: tanh;
** silu/swish; relu). An unknown model_type or activation is an error that
** names it. mlp.dtype is torch_dtype's (f32 when absent); tensors names the
** checkpoint tensor of every parameter, layers = num_hidden_layers. */
typedef struct dsmlp_hf_model {
    char             model_type[64];
    char             hidden_act[64];   /* as the config names it            */
    dsmlp_mlp_config mlp;
    dsmlp_tensor_map tensors;
} dsmlp_hf_model;
/* For tensor parallelism set mlp.tp_size/tp_rank and tensors.tp_size/tp_rank
** alike before building and loading. */
dsmlp_status dsmlp_hf_config(dsmlp_ctx *ctx, const char *path, dsmlp_hf_model *out);

/* safetensors checkpoints: one file, or a directory / model.safetensors.index.json
** naming shards. Files are mapped, and every header is validated (length,
** JSON, dtypes, shapes against byte ranges, ranges inside the file, no
** overlaps or holes) before any tensor byte is read; every error names the
** file and the tensor. */
typedef struct dsmlp_weights dsmlp_weights;
typedef struct dsmlp_tensor_info {
    const char *name;
    const char *file;        /* the shard holding it                              */
    const char *dtype_name;  /* "F32", "BF16", ... as stored                      */
    dsmlp_dtype dtype;       /* DSMLP_DTYPE_COUNT when dsmlp cannot convert it    */
    int         rank;
    int64_t     shape[8];
    uint64_t    bytes;
} dsmlp_tensor_info;
dsmlp_status dsmlp_weights_open(dsmlp_ctx *ctx, const char *path, dsmlp_weights **out);
void         dsmlp_weights_close(dsmlp_weights *w);
int          dsmlp_weights_count(const dsmlp_weights *w);   /* tensors */
int          dsmlp_weights_files(const dsmlp_weights *w);   /* shards  */
/* Tensor i (sorted by name), or the one named name (the name, else the one
** name ending in "." + name, so "encoder.layer.0..." finds "bert.encoder..."). */
dsmlp_status dsmlp_weights_tensor(const dsmlp_weights *w, int i, dsmlp_tensor_info *out);
dsmlp_status dsmlp_weights_find(const dsmlp_weights *w, const char *name, dsmlp_tensor_info *out);
/* A whole tensor converted to dt (f32, f16, bf16; i8 from I8) into host. */
dsmlp_status dsmlp_weights_read(const dsmlp_weights *w, const char *name, dsmlp_dtype dt, void *host, size_t bytes);
/* Checks layer `layer` of map m against graph g: every mapped tensor exists,
** converts to its parameter's dtype and, after its row block and the rank's
** slice, has the parameter's shape; every parameter of g is mapped. Reads no
** tensor data. */
dsmlp_status dsmlp_weights_check(const dsmlp_weights *w, const dsmlp_graph *g, const dsmlp_tensor_map *m, int layer);
/* Parameter `param` of g for layer `layer`: the rank's slice, converted to
** the parameter's dtype, in its declared layout (what dsmlp_upload takes). */
dsmlp_status dsmlp_weights_param(const dsmlp_weights *w, const dsmlp_graph *g, const dsmlp_tensor_map *m, int layer,
                                 const char *param, void *host, size_t bytes);
/* Uploads every parameter of plan p that m maps, for layer `layer`, into set
** (NULL: the plan's own bindings). A tensor already in the plan's dtype and
** needing no slice goes from the mapped file to the device without a copy.
** Quantize at load (check, param and bind alike): an int8/fp8 parameter
** whose tensor is float is quantized (dsmlp_quantize of the rank's slice,
** groups = the size of "<name>_scales", which is made too and must not be
** mapped); F8_E4M3 tensors load into fp8 parameters as they are.
** docs/models.md. */
dsmlp_status dsmlp_weights_bind(const dsmlp_weights *w, const dsmlp_tensor_map *m, int layer, dsmlp_plan *p,
                                dsmlp_bindings *set);

/* ----------------------------------------------------------- kernel store */

typedef struct dsmlp_cache_stats {
    uint64_t hits_memory, hits_disk, misses, compiles;
    double   compile_seconds;
    uint64_t bytes_written, bytes_read;
    uint64_t corrupt_replaced, evictions;
    int      disk_enabled;     /* 0: memory-only (off, or no usable directory) */
    int      disk_writable;    /* 0: entries are read from disk but new ones are
                                  not written (read-only directory) */
    uint64_t write_failures;   /* compiled kernels that could not be written to
                                  disk (kept in memory only; see the warning) */
} dsmlp_cache_stats;

/* Directory in use (DSMLP_CACHE_DIR, $XDG_CACHE_HOME/dsmlp, ~/.cache/dsmlp). */
const char  *dsmlp_cache_dir(dsmlp_ctx *ctx);
/* Uses another directory from now on (NULL: back to the default rules). */
dsmlp_status dsmlp_cache_set_dir(dsmlp_ctx *ctx, const char *dir);
void         dsmlp_cache_get_stats(dsmlp_ctx *ctx, dsmlp_cache_stats *out);
/* Why the disk cache is off or a setting was ignored (e.g. "directory ... is
** not writable; using memory only"), "" when all is well. The library never
** prints it; a program may. */
const char  *dsmlp_cache_warning(dsmlp_ctx *ctx);
void         dsmlp_cache_reset_stats(dsmlp_ctx *ctx);

typedef struct dsmlp_cache_entry {
    const char *key;       /* hex */
    const char *kernel;    /* kernel name */
    const char *arch;      /* "sm_90" */
    uint64_t    bytes;
    int64_t     mtime;     /* seconds since the epoch (last use) */
} dsmlp_cache_entry;

typedef int (*dsmlp_cache_visit_fn)(const dsmlp_cache_entry *e, void *user); /* nonzero stops */
dsmlp_status dsmlp_cache_list(dsmlp_ctx *ctx, dsmlp_cache_visit_fn fn, void *user);
dsmlp_status dsmlp_cache_clear(dsmlp_ctx *ctx);

/* Bundles: one file with an index and per-entry checksums. write: the
** entries for the given keys (NULL/0 = every entry in the store). import:
** verifies the whole file first; a bad or foreign bundle changes nothing.
**
** Trust: a bundle is code (its cubins run on the GPU); importing one trusts
** whoever produced it. Checksums only catch accidents, and the structural
** check on import (each entry a CUDA cubin for its arch that defines its
** kernel, or a "tune:" record of text) only catches nonsense. To know who
** produced a bundle, sign it (Ed25519): dsmlp_keygen makes a key pair,
** dsmlp_bundle_write_signed signs with the secret key file, and after
** dsmlp_bundle_trust(ctx, public key file) dsmlp_bundle_import accepts only
** bundles signed by a trusted key (unsigned ones: DSMLP_ERR_CORRUPT). */
dsmlp_status dsmlp_bundle_write(dsmlp_ctx *ctx, const char *path, const char *const *keys, int nkeys);
dsmlp_status dsmlp_bundle_write_signed(dsmlp_ctx *ctx, const char *path, const char *const *keys, int nkeys,
                                       const char *secret_key_path);
/* Writes a new key pair (secret: mode 0600); existing files are never
** replaced. */
dsmlp_status dsmlp_keygen(dsmlp_ctx *ctx, const char *secret_path, const char *public_path);
/* Adds a trusted public key (at most 8); from then on imports on ctx
** require a signature by one of them. */
dsmlp_status dsmlp_bundle_trust(dsmlp_ctx *ctx, const char *public_key_path);
/* Every entry of the bundle is verified. arch NULL: all of them are stored
** (a bundle for a mixed fleet); a comma list ("sm_80,sm_90") or "local" (this
** GPU's arch): only those archs' entries are stored, the others skipped.
** *imported: the entries stored. */
dsmlp_status dsmlp_bundle_import(dsmlp_ctx *ctx, const char *path, const char *arch, int *imported);

/* ---------------------------------------------------------------- scripts */

typedef struct dsmlp_layers dsmlp_layers;

typedef struct dsmlp_script_options {
    int     allow_io;           /* give scripts os and io (default 0)         */
    int64_t instruction_limit;  /* VM instructions before abort; <= 0: 1e9    */
    const char *lua_path;       /* where dsmlp.lua lives; NULL = built-in     */
    const char *quantize;       /* NULL, or the quantization every dsmlp.mlp /
                                   dsmlp.preset layer gets when its config
                                   names neither int8 nor fp8: "int8", "fp8",
                                   "int8:groups=8,scale_dtype=f16", ...
                                   (docs/quant.md); a bad one fails the load */
} dsmlp_script_options;

void         dsmlp_script_options_default(dsmlp_script_options *o);
/* Runs a model script; it returns a table of named layers or calls
** dsmlp.layer(name, graph). Errors carry file:line. */
dsmlp_status dsmlp_script_load(dsmlp_ctx *ctx, const char *path, const dsmlp_script_options *o,
                               dsmlp_layers **out);
/* Same for a script given as a string (chunkname used in messages). */
dsmlp_status dsmlp_script_load_string(dsmlp_ctx *ctx, const char *source, const char *chunkname,
                                      const dsmlp_script_options *o, dsmlp_layers **out);
int                dsmlp_layers_count(const dsmlp_layers *l);
const char        *dsmlp_layers_name(const dsmlp_layers *l, int i);
const dsmlp_graph *dsmlp_layers_graph(const dsmlp_layers *l, int i);
/* Applies layer i's own compile options (dsmlp.layer's third argument) to
** o; a layer without any leaves o as it is. */
dsmlp_status       dsmlp_layers_options(const dsmlp_layers *l, int i, dsmlp_ctx *ctx, dsmlp_compile_options *o);
void               dsmlp_layers_free(dsmlp_layers *l);

#ifdef __cplusplus
}
#endif
#endif /* DSMLP_H */
