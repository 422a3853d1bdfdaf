// proto_hopper.cuh — the Hopper pieces the measurement-only wgmma programs in bench/proto share (wgmma_mixed.cu,
// igmma_x2.cu): shared addresses, mbarriers, 2-D tensor copies, the 128-byte-swizzle K-major descriptor. sm_90a.
#pragma once
#include <cuda.h>

#include <cstdint>

__device__ __forceinline__ unsigned sa(const void *p) { return (unsigned)__cvta_generic_to_shared(p); }
__device__ __forceinline__ void bar_init(uint64_t *b, int n) { asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(sa(b)), "r"(n)); }
__device__ __forceinline__ void bar_arrive(uint64_t *b) { asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];\n" ::"r"(sa(b)) : "memory"); }
__device__ __forceinline__ void bar_expect(uint64_t *b, unsigned bytes)
{
    asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(sa(b)), "r"(bytes) : "memory");
}
__device__ __forceinline__ void bar_wait(uint64_t *b, unsigned parity)
{
    unsigned ok;
    do {
        asm volatile("{\n.reg .pred p;\nmbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\nselp.u32 %0, 1, 0, p;\n}\n"
                     : "=r"(ok) : "r"(sa(b)), "r"(parity) : "memory");
    } while (!ok);
}
// 2-D tile (c0 along the contiguous dimension) into shared memory, completing on b
__device__ __forceinline__ void tma2(void *dst, const CUtensorMap *m, int c0, int c1, uint64_t *b)
{
    asm volatile("cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3}], [%4];\n"
                 ::"r"(sa(dst)), "l"(m), "r"(c0), "r"(c1), "r"(sa(b)) : "memory");
}
// A K-major operand in the 128-byte swizzle layout: rows 128 bytes apart, 8-row groups 1024 apart.
__device__ __forceinline__ uint64_t desc128(unsigned saddr)
{
    return (uint64_t)((saddr & 0x3ffff) >> 4) | 1ull << 16 | (uint64_t)(1024 >> 4) << 32 | 1ull << 62;
}
