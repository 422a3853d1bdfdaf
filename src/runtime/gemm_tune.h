/*
** gemm_tune.h — choosing among cuBLASLt's candidate algorithms by timing them.
**
** The heuristic's first choice is not always the fastest (decode shapes with
** T = 1..16 especially), so at load time each candidate that serves a bucket
** is run on scratch buffers of the bucket's size and the fastest is kept.
** Scratch memory is allocated for the load and freed after it and filled with
** random values of the GEMMs' dtype: constant data draws less power and
** misleads (measured on an H200: a constant-pattern tuner picked a GEMM 15%
** slower at T = 1024). Opt-in with DSMLP_GEMM_TUNE=1 until the benchmark
** shows it helps (bench/RESULTS.md); by default the heuristic's first choice
** is kept.
*/
#ifndef DSMLP_GEMM_TUNE_H
#define DSMLP_GEMM_TUNE_H

#include <cublasLt.h>
#include "cuda_api.h"

/* Buckets above this many tokens are timed at it (bounds the scratch memory). */
#define GEMM_TUNE_MAX_T 4096

typedef struct gemm_tuner {
    const cuda_api *cu;
    CUdeviceptr     x, w, d, bias;    /* scratch, sized for the plan's largest GEMM */
    CUdeviceptr     ws;               /* cuBLASLt workspace (the plan's)            */
    size_t          ws_bytes;
    int64_t         tmax;             /* largest T the scratch holds                */
    dsmlp_dtype     dtype;            /* element type of the scratch data           */
    CUevent         e0, e1;
} gemm_tuner;

/* Sets up a tuner for GEMMs up to n×k weights, k- and n-wide activations of
** tmax rows of `esz`-byte elements. Returns 0 (and leaves *t unusable, so
** callers keep the heuristic's choice) when tuning is off or resources are
** missing; that is not an error. */
int  dsmlpR_gemm_tuner_open(gemm_tuner *t, const cuda_api *cu, dsmlp_dtype dt, size_t max_w_elems, size_t max_act_elems,
                     int64_t tmax, CUdeviceptr ws, size_t ws_bytes);
void dsmlpR_gemm_tuner_close(gemm_tuner *t);

/* Median-free quick timing: µs for `reps` back-to-back runs of algo, or a
** negative value when the algorithm fails to run. */
double dsmlpR_gemm_tuner_time(gemm_tuner *t, cublasLtHandle_t lt, cublasLtMatmulDesc_t desc, cublasLtMatrixLayout_t a,
                       cublasLtMatrixLayout_t b, cublasLtMatrixLayout_t c, cublasLtMatrixLayout_t d,
                       const cublasLtMatmulAlgo_t *algo, int has_c, int reps);

#endif
