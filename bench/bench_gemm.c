/* bench_gemm.c — measures the bf16 GEMM rate with cuBLASLt (same library dsmlp uses). */
#include "bench_gemm.h"
#include "bench_cuda.h"
#include "bench_lt.h"

#include <cublasLt.h>
#include <stdio.h>
#include <stdlib.h>


#define LT(call) BENCH_LT(call, return -1)

double bench_lt_median_ms(cublasLtHandle_t lt, cublasLtMatmulDesc_t desc, const cublasLtMatmulAlgo_t *algo,
                          CUdeviceptr a, cublasLtMatrixLayout_t la, CUdeviceptr b, cublasLtMatrixLayout_t lb,
                          CUdeviceptr d, cublasLtMatrixLayout_t ld, CUdeviceptr ws, size_t wsz, CUstream stream)
{
    float alpha = 1, beta = 0, ms[20];
    CUevent e0, e1;
    bench_cuda_check(bench_cu.EventCreate(&e0, 0), "cuEventCreate");
    bench_cuda_check(bench_cu.EventCreate(&e1, 0), "cuEventCreate");
    for (int i = -3; i < 20; i++) {
        bench_cuda_check(bench_cu.EventRecord(e0, stream), "cuEventRecord");
        LT(cublasLtMatmul(lt, desc, &alpha, (void *)a, la, (void *)b, lb, &beta, (void *)d, ld, (void *)d, ld, algo,
                          (void *)ws, wsz, (cudaStream_t)stream));
        bench_cuda_check(bench_cu.EventRecord(e1, stream), "cuEventRecord");
        bench_cuda_check(bench_cu.EventSynchronize(e1), "cuEventSynchronize");
        if (i >= 0) bench_cuda_check(bench_cu.EventElapsedTime(&ms[i], e0, e1), "cuEventElapsedTime");
    }
    return bench_median(ms, 20);
}

double bench_gemm_rate(CUstream stream)
{
    const int n = 8192;
    size_t bytes = (size_t)n * n * 2, wsz = (size_t)64 << 20;
    CUdeviceptr a, b, d, ws;
    bench_cuda_check(bench_cu.MemAlloc(&a, bytes), "cuMemAlloc (gemm)");
    bench_cuda_check(bench_cu.MemAlloc(&b, bytes), "cuMemAlloc (gemm)");
    bench_cuda_check(bench_cu.MemAlloc(&d, bytes), "cuMemAlloc (gemm)");
    bench_cuda_check(bench_cu.MemAlloc(&ws, wsz), "cuMemAlloc (gemm workspace)");
    /* random-ish bf16 bits (never zeros: zeros run faster than real data) */
    unsigned short *h = malloc(bytes);
    unsigned x = 12345;
    for (size_t i = 0; i < (size_t)n * n; i++) {
        x = x * 1664525u + 1013904223u;
        h[i] = (unsigned short)(0x3c00 + (x >> 24) - 128) | (unsigned short)((x & 1) << 15);
    }
    bench_cuda_check(bench_cu.MemcpyHtoD(a, h, bytes), "cuMemcpyHtoD");
    bench_cuda_check(bench_cu.MemcpyHtoD(b, h, bytes), "cuMemcpyHtoD");
    free(h);

    cublasLtHandle_t lt;
    cublasLtMatmulDesc_t desc;
    cublasLtMatrixLayout_t la;
    cublasLtMatmulPreference_t pref;
    LT(cublasLtCreate(&lt));
    LT(cublasLtMatmulDescCreate(&desc, CUBLAS_COMPUTE_32F, CUDA_R_32F));
    LT(cublasLtMatrixLayoutCreate(&la, CUDA_R_16BF, n, n, n));
    LT(cublasLtMatmulPreferenceCreate(&pref));
    LT(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &wsz, sizeof wsz));
    cublasLtMatmulHeuristicResult_t heur;
    int found = 0;
    LT(cublasLtMatmulAlgoGetHeuristic(lt, desc, la, la, la, la, pref, 1, &heur, &found));
    if (!found) {
        fprintf(stderr, "dsmlp-bench: cuBLASLt found no bf16 algorithm\n");
        return -1;
    }
    const double med_ms = bench_lt_median_ms(lt, desc, &heur.algo, a, la, b, la, d, la, ws, wsz, stream);
    if (med_ms < 0) return -1;
    cublasLtMatmulPreferenceDestroy(pref);
    cublasLtMatrixLayoutDestroy(la);
    cublasLtMatmulDescDestroy(desc);
    cublasLtDestroy(lt);
    bench_cu.MemFree(a);
    bench_cu.MemFree(b);
    bench_cu.MemFree(d);
    bench_cu.MemFree(ws);
    return 2.0 * n * (double)n * n / (med_ms * 1e-3);
}
