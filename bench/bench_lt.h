/* bench_lt.h — cuBLASLt status checks and medians shared by the GEMM benchmarks. */
#ifndef DSMLP_BENCH_LT_H
#define DSMLP_BENCH_LT_H

#include <cublasLt.h>
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

#endif
