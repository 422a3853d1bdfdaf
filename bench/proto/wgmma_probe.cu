// wgmma_probe.cu — checks, on the card, the facts the T <= 128 ring's wgmma consumers rely on (experiment, not built
// by CMake): wgmma.mma_async m64nNk16 f32.f16.f16 with A from registers in the mma.sync m16n8k16 A layout per warp
// (warp w of the warpgroup: rows 16w..16w+15), B (tokens x k, k contiguous) in shared memory as no-swizzle core
// matrices (8 tokens x 16 bytes each), the descriptor's LBO = bytes between core matrices along k and SBO = along
// tokens, stepping k16 through a 256-k stage by moving the start address; D in the m16n8 D layout per n8 block.
// Prints the relative error of each descriptor convention (one must be ~1e-7).
// Build: nvcc -O3 -std=c++17 -gencode=arch=compute_90a,code=sm_90a -o build-gpu/bin/wgmma_probe bench/proto/wgmma_probe.cu
#include <cstdio>
#include <cstdint>
#include <cmath>
#include <vector>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#define CK(x) do { cudaError_t e_ = (x); if (e_ != cudaSuccess) { printf("%s: %s\n", #x, cudaGetErrorString(e_)); return 1; } } while (0)

constexpr int M = 64, N = 64, KS = 256;   // one warpgroup, 64 tokens, a 256-k stage

__device__ __forceinline__ unsigned long long desc(const void *p, unsigned lbo, unsigned sbo)
{
    const unsigned a = (unsigned)__cvta_generic_to_shared(p);
    return (unsigned long long)((a & 0x3ffff) >> 4) | (unsigned long long)(lbo >> 4) << 16 |
           (unsigned long long)(sbo >> 4) << 32;
}

__device__ __forceinline__ void wg_n64(float (&d)[32], const unsigned (&a)[4], unsigned long long b)
{
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, 1, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n64k16.f32.f16.f16 "
                 "{%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15,%16,%17,%18,%19,%20,%21,%22,%23,%24,%25,%26,"
                 "%27,%28,%29,%30,%31}, {%32,%33,%34,%35}, %36, p, 1, 1, 0;\n}\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]),
                   "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]),
                   "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]),
                   "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]),
                   "+f"(d[29]), "+f"(d[30]), "+f"(d[31])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b));
}

// A [M][KS] f16 row-major, B [N][KS] f16 (token rows), D [M][N] f32. swap: LBO/SBO meanings exchanged.
__global__ void probe(const __half *A, const __half *B, float *D, int swap)
{
    __shared__ __align__(128) unsigned char xs[N * KS * 2];
    const int t = threadIdx.x, warp = t >> 5, lane = t & 31, g = lane >> 2, c = lane & 3;
    // B into core matrices: (token n, k chunk q of 8) at (n / 8) * SBO + q * 128 + (n % 8) * 16
    constexpr unsigned LBO = 128, SBO = KS / 8 * 128;
    for (int i = t; i < N * KS / 8; i += blockDim.x) {
        const int n = i / (KS / 8), q = i % (KS / 8);
        *reinterpret_cast<uint4 *>(xs + (n / 8) * SBO + q * LBO + (n % 8) * 16) =
            *reinterpret_cast<const uint4 *>(B + n * KS + 8 * q);
    }
    __syncthreads();
    asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
    __syncthreads();
    float d[32];
    for (int i = 0; i < 32; i++) d[i] = 0.0f;
    const int r = 16 * warp + g;
    for (int s = 0; s < KS / 16; s++) {
        unsigned a[4];
        const __half *p = A + r * KS + 16 * s + 2 * c;
        a[0] = *reinterpret_cast<const unsigned *>(p);
        a[1] = *reinterpret_cast<const unsigned *>(p + 8 * KS);
        a[2] = *reinterpret_cast<const unsigned *>(p + 8);
        a[3] = *reinterpret_cast<const unsigned *>(p + 8 * KS + 8);
        const unsigned long long b = swap ? desc(xs + 2 * 128 * s, SBO, LBO) : desc(xs + 2 * 128 * s, LBO, SBO);
        asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
        wg_n64(d, a, b);
        asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
    }
    asm volatile("wgmma.wait_group.sync.aligned 0;\n" ::: "memory");
    for (int j = 0; j < N / 8; j++)
        for (int e = 0; e < 4; e++) D[(r + 8 * (e / 2)) * N + 8 * j + 2 * c + (e & 1)] = d[4 * j + e];
}

int main()
{
    std::vector<__half> a(M * KS), b(N * KS);
    std::vector<double> ref(M * N, 0.0);
    unsigned s = 12345;
    auto rnd = [&] { s = s * 1664525u + 1013904223u; return (float)((s >> 8) & 0xffff) / 65536.0f - 0.5f; };
    for (auto &v : a) v = __float2half(rnd());
    for (auto &v : b) v = __float2half(rnd());
    for (int m = 0; m < M; m++)
        for (int n = 0; n < N; n++)
            for (int k = 0; k < KS; k++) ref[m * N + n] += (double)__half2float(a[m * KS + k]) * __half2float(b[n * KS + k]);
    __half *dA, *dB;
    float *dD;
    CK(cudaMalloc(&dA, a.size() * 2));
    CK(cudaMalloc(&dB, b.size() * 2));
    CK(cudaMalloc(&dD, M * N * 4));
    CK(cudaMemcpy(dA, a.data(), a.size() * 2, cudaMemcpyHostToDevice));
    CK(cudaMemcpy(dB, b.data(), b.size() * 2, cudaMemcpyHostToDevice));
    for (int swap = 0; swap < 2; swap++) {
        CK(cudaMemset(dD, 0xff, M * N * 4));   // NaN poison
        probe<<<1, 128>>>(dA, dB, dD, swap);
        CK(cudaGetLastError());
        CK(cudaDeviceSynchronize());
        std::vector<float> d(M * N);
        CK(cudaMemcpy(d.data(), dD, M * N * 4, cudaMemcpyDeviceToHost));
        double e = 0, r = 0;
        for (int i = 0; i < M * N; i++) e += (d[i] - ref[i]) * (d[i] - ref[i]), r += ref[i] * ref[i];
        printf("wgmma probe: %s: relative error %.3g\n", swap ? "LBO = token stride, SBO = k stride" :
               "LBO = k stride (128 B), SBO = token stride", std::isnan(e) ? NAN : std::sqrt(e / r));
    }
    return 0;
}
