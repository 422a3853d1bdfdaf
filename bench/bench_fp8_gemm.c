/* bench_fp8_gemm.c — what cuBLASLt's fp8 GEMM would give the MLP at large T (issue 10): the two GEMMs of a
** GELU-4096 block ([T,4096]x[4096,16384], [T,16384]x[16384,4096], [out,in] weights) as f16 x f16 and as
** e4m3 x e4m3 with per-tensor scales (f16 output), timed side by side. fp8 x fp8 quantizes the activations too,
** so it is not weight-only: this measures the speed it would buy, nothing in the library uses it. */
#include "bench_fp8_gemm.h"
#include "bench_cuda.h"
#include "bench_lt.h"

#include <cublasLt.h>
#include <stdio.h>
#include <stdlib.h>

#define LT(call) BENCH_LT(call, goto fail)

/* Device bytes of random non-zero codes: f16 near +-1 (esz 2) or e4m3 near +-1 (esz 1). */
static CUdeviceptr fill(size_t n, int esz, unsigned seed)
{
    unsigned char *h = malloc(n * (size_t)esz);
    unsigned x = seed;
    for (size_t i = 0; i < n; i++) {
        x = x * 1664525u + 1013904223u;
        if (esz == 2) {
            unsigned short v = (unsigned short)(0x3800 + (x >> 22)) | (unsigned short)((x & 1) << 15);
            h[2 * i] = (unsigned char)v, h[2 * i + 1] = (unsigned char)(v >> 8);
        } else {
            h[i] = (unsigned char)(0x30 + (x >> 28)) | (unsigned char)((x & 1) << 7);   /* 0.5 .. 1.9, signed */
        }
    }
    CUdeviceptr d;
    bench_cuda_check(bench_cu.MemAlloc(&d, n * (size_t)esz), "cuMemAlloc (fp8 gemm)");
    bench_cuda_check(bench_cu.MemcpyHtoD(d, h, n * (size_t)esz), "cuMemcpyHtoD");
    free(h);
    return d;
}

/* Median µs of 20 products D[T,n] = x[T,k] W^T, W [n,k]; fp8: e4m3 operands with scale pointers. -1 on failure. */
static double time_gemm(cublasLtHandle_t lt, CUstream stream, int fp8, int64_t T, int64_t n, int64_t k, CUdeviceptr ws,
                        size_t wsz, CUdeviceptr scale)
{
    const cudaDataType_t in = fp8 ? CUDA_R_8F_E4M3 : CUDA_R_16F;
    CUdeviceptr w = fill((size_t)(n * k), fp8 ? 1 : 2, 7), x = fill((size_t)(T * k), fp8 ? 1 : 2, 9), d;
    bench_cuda_check(bench_cu.MemAlloc(&d, (size_t)(T * n) * 2), "cuMemAlloc (fp8 gemm)");
    cublasLtMatmulDesc_t desc = NULL;
    cublasLtMatrixLayout_t la = NULL, lb = NULL, ld = NULL;
    cublasLtMatmulPreference_t pref = NULL;
    double us = -1;
    cublasOperation_t ta = CUBLAS_OP_T, tb = CUBLAS_OP_N;
    LT(cublasLtMatmulDescCreate(&desc, CUBLAS_COMPUTE_32F, CUDA_R_32F));
    LT(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta));
    LT(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb));
    if (fp8) {
        void *sp = (void *)(uintptr_t)scale;
        LT(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_A_SCALE_POINTER, &sp, sizeof sp));
        LT(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_B_SCALE_POINTER, &sp, sizeof sp));
    }
    LT(cublasLtMatrixLayoutCreate(&la, in, (uint64_t)k, (uint64_t)n, k));   /* W [n,k] row-major, op T */
    LT(cublasLtMatrixLayoutCreate(&lb, in, (uint64_t)k, (uint64_t)T, k));   /* x [T,k] row-major */
    LT(cublasLtMatrixLayoutCreate(&ld, CUDA_R_16F, (uint64_t)n, (uint64_t)T, n));
    LT(cublasLtMatmulPreferenceCreate(&pref));
    LT(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &wsz, sizeof wsz));
    cublasLtMatmulHeuristicResult_t heur;
    int found = 0;
    LT(cublasLtMatmulAlgoGetHeuristic(lt, desc, la, lb, ld, ld, pref, 1, &heur, &found));
    if (!found) {
        fprintf(stderr, "dsmlp-bench: cuBLASLt has no %s algorithm for T=%lld n=%lld k=%lld\n", fp8 ? "fp8" : "f16",
                (long long)T, (long long)n, (long long)k);
        goto fail;
    }
    us = bench_lt_median_ms(lt, desc, &heur.algo, w, la, x, lb, d, ld, ws, wsz, stream);
    if (us >= 0) us *= 1e3;
fail:
    if (pref) cublasLtMatmulPreferenceDestroy(pref);
    if (ld) cublasLtMatrixLayoutDestroy(ld);
    if (lb) cublasLtMatrixLayoutDestroy(lb);
    if (la) cublasLtMatrixLayoutDestroy(la);
    if (desc) cublasLtMatmulDescDestroy(desc);
    bench_cu.MemFree(w), bench_cu.MemFree(x), bench_cu.MemFree(d);
    return us;
}

int bench_fp8_gemm_table(CUstream stream, const int *tokens, int ntok)
{
    cublasLtHandle_t lt;
    if (cublasLtCreate(&lt) != CUBLAS_STATUS_SUCCESS) {
        fprintf(stderr, "dsmlp-bench: cublasLtCreate failed\n");
        return -1;
    }
    const size_t wsz = (size_t)64 << 20;
    CUdeviceptr ws, scale;
    bench_cuda_check(bench_cu.MemAlloc(&ws, wsz), "cuMemAlloc (workspace)");
    const float one = 1.0f;
    bench_cuda_check(bench_cu.MemAlloc(&scale, sizeof one), "cuMemAlloc (scale)");
    bench_cuda_check(bench_cu.MemcpyHtoD(scale, &one, sizeof one), "cuMemcpyHtoD");
    static const int64_t shapes[2][2] = {{16384, 4096}, {4096, 16384}};   /* GELU-4096: (n, k) of GEMM1, GEMM2 */
    printf("cuBLASLt GEMMs of a GELU-4096 block ([out,in] weights, f16 output), median of 20, us:\n");
    printf("%-6s %-22s %10s %10s %8s\n", "T", "GEMM (n x k)", "f16xf16", "e4m3xe4m3", "ratio");
    int rc = 0;
    for (int i = 0; i < ntok; i++)
        for (int s = 0; s < 2; s++) {
            const int64_t n = shapes[s][0], k = shapes[s][1];
            double f16 = time_gemm(lt, stream, 0, tokens[i], n, k, ws, wsz, scale);
            double f8 = time_gemm(lt, stream, 1, tokens[i], n, k, ws, wsz, scale);
            char what[32];
            snprintf(what, sizeof what, "%s %lldx%lld", s ? "GEMM2" : "GEMM1", (long long)n, (long long)k);
            printf("%-6d %-22s %10.1f %10.1f %8.2f\n", tokens[i], what, f16, f8, f16 > 0 && f8 > 0 ? f8 / f16 : -1.0);
            if (f16 <= 0 || f8 <= 0) rc = -1;
        }
    bench_cu.MemFree(ws), bench_cu.MemFree(scale);
    cublasLtDestroy(lt);
    return rc;
}
