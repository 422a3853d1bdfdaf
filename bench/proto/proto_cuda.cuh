// proto_cuda.cuh — what the measurement-only CUDA programs in bench/proto share: error checks, deterministic
// fills, and timing a captured CUDA graph (median of 30 runs of 5 replays, after 3 warm-up replays).
#pragma once
#include <cublasLt.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

#define CK(x) do { cudaError_t e_ = (x); if (e_ != cudaSuccess) { fprintf(stderr, "%s:%d %s\n", __FILE__, __LINE__, cudaGetErrorString(e_)); exit(1); } } while (0)
#define LK(x) do { cublasStatus_t s_ = (x); if (s_ != CUBLAS_STATUS_SUCCESS) { fprintf(stderr, "%s:%d cublasLt %d\n", __FILE__, __LINE__, (int)s_); exit(1); } } while (0)

__device__ __forceinline__ unsigned proto_hash(long i, unsigned seed)
{
    unsigned h = (unsigned)i * 2654435761u ^ seed;
    h ^= h >> 13, h *= 0x5bd1e995u, h ^= h >> 15;
    return h;
}
__global__ void fill_i8(signed char *p, long n, unsigned seed)   // codes -127..127
{
    for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x)
        p[i] = (signed char)((int)(proto_hash(i, seed) % 255) - 127);
}
__global__ void fill_h(__half *p, long n, unsigned seed, float a)   // uniform in [-a, a]
{
    for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x)
        p[i] = __float2half_rn(a * ((float)(proto_hash(i, seed) % 2001) / 1000.0f - 1.0f));
}
__global__ void fill_f(float *p, long n, float a)   // scales a .. 2a
{
    for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x)
        p[i] = a * (1.0f + (float)(i % 7) / 7.0f);
}

static cublasLtHandle_t lt;   // proto_init makes them
static void *lt_ws;
static const size_t LT_WS = 64u << 20;

// C[T, m] (row-major, ldc) (+)= x[T, k] (row-major, ldb) . A[m, k]^T (row-major, lda); ct: C's type
static void gemm(cudaStream_t st, const __half *A, long lda, const __half *B, long ldb, void *C, long ldc, cudaDataType_t ct,
                 long m, long n, long k, float beta)
{
    cublasLtMatmulDesc_t d;
    cublasLtMatrixLayout_t la, lb, lc;
    LK(cublasLtMatmulDescCreate(&d, CUBLAS_COMPUTE_32F, CUDA_R_32F));
    cublasOperation_t t = CUBLAS_OP_T, nn = CUBLAS_OP_N;
    LK(cublasLtMatmulDescSetAttribute(d, CUBLASLT_MATMUL_DESC_TRANSA, &t, sizeof t));
    LK(cublasLtMatmulDescSetAttribute(d, CUBLASLT_MATMUL_DESC_TRANSB, &nn, sizeof nn));
    LK(cublasLtMatrixLayoutCreate(&la, CUDA_R_16F, k, m, lda));
    LK(cublasLtMatrixLayoutCreate(&lb, CUDA_R_16F, k, n, ldb));
    LK(cublasLtMatrixLayoutCreate(&lc, ct, m, n, ldc));
    cublasLtMatmulPreference_t pref;
    LK(cublasLtMatmulPreferenceCreate(&pref));
    size_t ws = LT_WS;
    LK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws));
    cublasLtMatmulHeuristicResult_t r;
    int got = 0;
    LK(cublasLtMatmulAlgoGetHeuristic(lt, d, la, lb, lc, lc, pref, 1, &r, &got));
    if (!got) { fprintf(stderr, "no algo m=%ld n=%ld k=%ld\n", m, n, k); exit(1); }
    float alpha = 1.0f;
    LK(cublasLtMatmul(lt, d, &alpha, A, la, B, lb, &beta, C, lc, C, lc, &r.algo, lt_ws, LT_WS, st));
    cublasLtMatmulPreferenceDestroy(pref);
    cublasLtMatrixLayoutDestroy(la), cublasLtMatrixLayoutDestroy(lb), cublasLtMatrixLayoutDestroy(lc);
    cublasLtMatmulDescDestroy(d);
}

static void proto_init()
{
    LK(cublasLtCreate(&lt));
    CK(cudaMalloc(&lt_ws, LT_WS));
}

// Median µs of one replay of what enqueue(s0) puts on stream s0 (it may fork to other streams and join back).
template <typename F> float time_graph(cudaStream_t s0, F enqueue)
{
    cudaGraph_t g;
    cudaGraphExec_t ge;
    CK(cudaStreamBeginCapture(s0, cudaStreamCaptureModeThreadLocal));
    enqueue(s0);
    CK(cudaStreamEndCapture(s0, &g));
    CK(cudaGraphInstantiate(&ge, g, 0));
    cudaEvent_t a, z;
    CK(cudaEventCreate(&a));
    CK(cudaEventCreate(&z));
    for (int w = 0; w < 3; w++) CK(cudaGraphLaunch(ge, s0));
    std::vector<float> t;
    for (int r = 0; r < 30; r++) {
        CK(cudaEventRecord(a, s0));
        for (int k = 0; k < 5; k++) CK(cudaGraphLaunch(ge, s0));
        CK(cudaEventRecord(z, s0));
        CK(cudaEventSynchronize(z));
        float ms;
        CK(cudaEventElapsedTime(&ms, a, z));
        t.push_back(ms * 1000.0f / 5);
    }
    std::sort(t.begin(), t.end());
    cudaGraphExecDestroy(ge), cudaGraphDestroy(g);
    cudaEventDestroy(a), cudaEventDestroy(z);
    return t[t.size() / 2];
}
