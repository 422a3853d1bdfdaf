/* bench_fp8_gemm.h — cuBLASLt f16 vs fp8 (e4m3 x e4m3) GEMMs at a block's shapes (measurement only). */
#ifndef DSMLP_BENCH_FP8_GEMM_H
#define DSMLP_BENCH_FP8_GEMM_H

#include <cuda.h>

/* Prints the table for each T in tokens; 0, or -1 when a product could not run (printed). */
int bench_fp8_gemm_table(CUstream stream, const int *tokens, int ntok);

#endif
