// proto_tma.cuh — what the copy-engine probes in bench/proto share (tma_patterns.cu, pair_stream.cu): mbarrier and
// 2-D tensor-copy helpers, a tensor map over a row-major [rows][cols] buffer, and a timer of back-to-back launches.
// Measurement only: errors print and exit.
#pragma once
#include <cstdio>
#include <cstdint>
#include <cstdlib>
#include <vector>
#include <algorithm>
#include <cuda.h>
#include <cudaTypedefs.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#define CK(x) do { cudaError_t e_ = (x); if (e_ != cudaSuccess) { printf("%s:%d %s: %s\n", __FILE__, __LINE__, #x, cudaGetErrorString(e_)); exit(1); } } while (0)

__device__ __forceinline__ unsigned sa(const void *p) { return (unsigned)__cvta_generic_to_shared(p); }
__device__ __forceinline__ void bar_init(uint64_t *b, unsigned n) { asm volatile("mbarrier.init.shared.b64 [%0], %1;" ::"r"(sa(b)), "r"(n)); }
__device__ __forceinline__ void bar_expect(uint64_t *b, unsigned bytes)
{
    asm volatile("mbarrier.arrive.expect_tx.shared.b64 _, [%0], %1;" ::"r"(sa(b)), "r"(bytes) : "memory");
}
__device__ __forceinline__ void bar_wait(uint64_t *b, unsigned ph)
{
    asm volatile("{ .reg .pred p; W: mbarrier.try_wait.parity.shared.b64 p, [%0], %1; @!p bra W; }" ::"r"(sa(b)), "r"(ph) : "memory");
}
__device__ __forceinline__ void bar_arrive(uint64_t *b) { asm volatile("mbarrier.arrive.shared.b64 _, [%0];" ::"r"(sa(b)) : "memory"); }
__device__ __forceinline__ void tma2(void *dst, const CUtensorMap *m, int c0, int c1, uint64_t *b)
{
    asm volatile("cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3}], [%4];"
                 ::"r"(sa(dst)), "l"(m), "r"(c0), "r"(c1), "r"(sa(b)) : "memory");
}

static PFN_cuTensorMapEncodeTiled_v12000 encode;
static CUtensorMap tmap(const void *p, CUtensorMapDataType dt, int esize, long long rows, long long cols, int bc, int br,
                        CUtensorMapSwizzle sw)
{
    CUtensorMap m;
    const cuuint64_t dims[2] = {(cuuint64_t)cols, (cuuint64_t)rows}, strides[1] = {(cuuint64_t)(cols * esize)};
    const cuuint32_t box[2] = {(cuuint32_t)bc, (cuuint32_t)br}, es[2] = {1, 1};
    const CUresult r = encode(&m, dt, 2, const_cast<void *>(p), dims, strides, box, es, CU_TENSOR_MAP_INTERLEAVE_NONE, sw,
                              CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
    if (r != CUDA_SUCCESS) { printf("cuTensorMapEncodeTiled: %d\n", (int)r); exit(1); }
    return m;
}

// µs per launch(i) (one kernel or a chain): 20 back to back between two events, median of 15, after 8 warm-ups
template <typename F> static double per_launch_us(F launch)
{
    cudaEvent_t a, b;
    CK(cudaEventCreate(&a));
    CK(cudaEventCreate(&b));
    std::vector<float> ms;
    for (int i = 0; i < 8; i++) launch(i);
    for (int r = 0; r < 15; r++) {
        CK(cudaEventRecord(a));
        for (int i = 0; i < 20; i++) launch(i);
        CK(cudaEventRecord(b));
        CK(cudaEventSynchronize(b));   // a kernel's fault shows here, with this line
        float x;
        CK(cudaEventElapsedTime(&x, a, b));
        ms.push_back(x / 20);
    }
    CK(cudaGetLastError());
    std::sort(ms.begin(), ms.end());
    return ms[ms.size() / 2] * 1e3;
}

// The driver's cuTensorMapEncodeTiled, found once before any tmap()
static void tma_init()
{
    cudaDriverEntryPointQueryResult qr;
    CK(cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", reinterpret_cast<void **>(&encode), 12000, cudaEnableDefault, &qr));
}
