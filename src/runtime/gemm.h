/*
** gemm.h — plan GEMM steps on cuBLASLt.
**
** Row-major activations [T, n] are column-major [n, T] to cuBLASLt, so a step
** d[T,n] = x[T,k]·W computes D(n×T) = op(A)·B with B = x (k×T, ld k) and A =
** W: IN_OUT row-major [k,n] is column-major n×k (op N), OUT_IN row-major
** [n,k] is column-major k×n (op T). The bias then runs along D's rows, as the
** bias epilogues require. A residual C (beta = 1) has D's layout; C may be D.
**
** Algorithms are chosen at load time by the cuBLASLt heuristic, one per token
** bucket (1, then powers of two: 2–8, 9–16, 17–32, ..., 4097–max), each
** checked against both ends of its bucket, so dsmlp_run only picks one and
** sets the column count. (Buckets of 17–128 served T = 32 with the algorithm
** the heuristic gives for 128, 1.3x slower there on an H200: bench/RESULTS.md.)
** Where the device allows, the candidates are timed and the fastest is kept.
** Each bucket keeps every candidate that serves it (cand[], in the heuristic's
** order): dsmlp_plan_tune times them within the block and a tuning record
** picks one per token bucket (exec_tune.c, "lt" lines).
*/
#ifndef DSMLP_GEMM_H
#define DSMLP_GEMM_H

#include <cublasLt.h>
#include <cuda.h>
#include "compiler/plan.h"
#include "gemm_tune.h"

struct device;

#define GEMM_BUCKETS 12
#define GEMM_LT_WORKSPACE ((size_t)32 << 20)   /* cuBLASLt workspace, bytes */

#define GEMM_CANDS 8   /* cuBLASLt's candidates kept per bucket (the heuristic's first ones serving all of it) */

typedef struct gemm_bucket {
    int64_t             tmin, tmax;
    cublasLtMatmulAlgo_t algo;             /* the one dsmlp_run uses: cand[loaded], or a tuning record's pick */
    cublasLtMatmulAlgo_t cand[GEMM_CANDS]; /* in the heuristic's order                                          */
    int                 ncand, loaded;     /* loaded: the load's choice (0, or DSMLP_GEMM_TUNE's fastest)        */
    int                 valid;
} gemm_bucket;

typedef struct gemm_op {
    cublasLtMatmulDesc_t   desc;
    cublasLtMatrixLayout_t a, b, c, d;
    gemm_bucket            bucket[GEMM_BUCKETS];
    int                    nbucket;
    int64_t                n, k, cur_T;   /* cur_T: columns the layouts hold now */
    const void            *cur_bias;
    int                    has_c;
    char                   what[160];     /* "step 2 (gemm+bias_gelu, [T,4096]x[4096,16384] f16)" */
} gemm_op;

/* Builds descriptors and picks the algorithms for plan step `step`: by timing
** the candidates when tuner is non-NULL (see gemm_tune.h), else the
** heuristic's first choice. */
dsmlp_status dsmlpR_gemm_prepare(dsmlp_ctx *ctx, cublasLtHandle_t lt, const plan *p, int step, gemm_op *op,
                          gemm_tuner *tuner);
/* Enqueues the GEMM for T tokens on stream. No allocation, no sync. */
dsmlp_status dsmlpR_gemm_run(dsmlp_ctx *ctx, cublasLtHandle_t lt, gemm_op *op, int64_t T, const void *x, const void *w,
                      const void *bias, const void *c, void *d, void *ws, size_t ws_bytes, CUstream stream);
void         dsmlpR_gemm_release(gemm_op *op);
/* The bucket serving T (NULL past the buckets); dsmlp_plan_tune and tuning records choose among its candidates. */
gemm_bucket *dsmlpR_gemm_bucket(const gemm_op *op, int64_t T);
/* Makes bucket bk run candidate c (c < 0: the load's choice); 0, or -1 when it has no candidate c. */
int          dsmlpR_gemm_use(gemm_bucket *bk, int c);
/* cublasLt handle of the device (created on first use). */
dsmlp_status dsmlpR_gemm_handle(dsmlp_ctx *ctx, struct device *dev, cublasLtHandle_t *out);

#endif
