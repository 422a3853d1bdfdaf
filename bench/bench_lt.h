/* bench_lt.h — cuBLASLt status checks and medians shared by the GEMM benchmarks. */
#ifndef DSMLP_BENCH_LT_H
#define DSMLP_BENCH_LT_H

#include <cublasLt.h>
#include <cuda.h>
#include <stdio.h>

/* Runs call; on a failed status prints it and runs on_fail (e.g. `return -1`, `goto fail`). */
#define BENCH_LT(call, on_fail)                                                                         \
    do {                                                                                                \
        cublasStatus_t st_ = (call);                                                                    \
        if (st_ != CUBLAS_STATUS_SUCCESS) {                                                             \
            fprintf(stderr, "dsmlp-bench: %s failed (%s)\n", #call, cublasLtGetStatusString(st_));      \
            on_fail;                                                                                    \
        }                                                                                               \
    } while (0)

/* Median ms of 20 timed D = A·B (alpha 1, beta 0, after 3 warm-up runs) with the given algorithm on stream; < 0
** when a matmul fails (printed). Defined in bench_gemm.c. */
double bench_lt_median_ms(cublasLtHandle_t lt, cublasLtMatmulDesc_t desc, const cublasLtMatmulAlgo_t *algo,
                          CUdeviceptr a, cublasLtMatrixLayout_t la, CUdeviceptr b, cublasLtMatrixLayout_t lb,
                          CUdeviceptr d, cublasLtMatrixLayout_t ld, CUdeviceptr ws, size_t wsz, CUstream stream);

#endif
