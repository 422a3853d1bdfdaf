/* bench_gemm.h — the GEMM ceiling: a bf16 8192³ cuBLASLt product, timed. */
#ifndef DSMLP_BENCH_GEMM_H
#define DSMLP_BENCH_GEMM_H

#include <cuda.h>

/* FLOP/s of the median of 20 products on stream; <= 0 on failure (printed). */
double bench_gemm_rate(CUstream stream);

#endif
