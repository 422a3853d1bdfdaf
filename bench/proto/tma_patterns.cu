// tma_patterns.cu — how fast does the mixed-input GEMM's weight read stream, by box shape and layout? (experiment,
// not built by CMake). The kernels do the mixed GEMM's copies (templates/mixed.cu: one thread issues a 2-D tensor
// copy of W and one of x per k block into a ring of stages; two consumer warpgroups wait, touch the stage, release)
// without its math, so the read pattern's own ceiling shows. W is int8; four copies of 64 MiB read in turn so L2
// holds none. Each point: 20 back-to-back launches between two events (ramp and tail included, host launch cost
// not), median of 15.
// Build: nvcc -O3 -std=c++17 -gencode=arch=compute_90a,code=sm_90a -o build-gpu/bin/tma_patterns bench/proto/tma_patterns.cu
#include "proto_tma.cuh"

static const long long WBYTES = 64ll << 20, COPIES = 4;

__device__ __forceinline__ void bulk1(void *dst, const void *src, unsigned bytes, uint64_t *b)
{
    asm volatile("cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1], %2, [%3];"
                 ::"r"(sa(dst)), "l"(src), "r"(bytes), "r"(sa(b)) : "memory");
}

// Block (blockIdx.x, blockIdx.y) = (row block of RB rows, k part y of gridDim.y). Per stage: BPS boxes of IB k x RB
// rows of W and, per 64 k, one x box of 64 k x XT tokens (f16). PACK 0: W as stored [N][K] (2-D map, box {IB, RB});
// PACK 1: W repacked so each (row block, IB k) tile is RB x IB contiguous bytes (2-D map over [N*K/IB][IB]); PACK 2:
// the repacked tile by a 1-D bulk copy (no tensor map).
template <int IB, int RB, int BPS, int S, int XT, int PACK>
__global__ void __launch_bounds__(384, 1) rd_tma(const __grid_constant__ CUtensorMap tw, const __grid_constant__ CUtensorMap tx,
                                                  const char *w, int K, unsigned *sink)
{
    constexpr int WB = RB * IB, XB = XT * 128, KS = IB * BPS, XPS = KS / 64, STAGE = BPS * WB + XPS * XB;
    extern __shared__ unsigned char raw[];
    unsigned char *sm = raw + ((1024 - (sa(raw) & 1023)) & 1023);
    uint64_t *full = reinterpret_cast<uint64_t *>(sm + S * STAGE), *empty = full + S;
    const int tid = threadIdx.x, wg = tid >> 7;
    const int KT = K / KS, kb0 = KT * blockIdx.y / gridDim.y, kb1 = KT * (blockIdx.y + 1) / gridDim.y;
    const int rb = blockIdx.x;
    if (tid == 0) {
        for (int s = 0; s < S; s++) bar_init(full + s, 1), bar_init(empty + s, 2);
        asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
    }
    __syncthreads();
    unsigned acc = 0;
    if (wg == 0) {
        if (tid == 0)
            for (int kt = kb0; kt < kb1; kt++) {
                const int i = kt - kb0, s = i % S;
                if (i >= S) bar_wait(empty + s, ((i / S) & 1) ^ 1);
                bar_expect(full + s, STAGE);
                unsigned char *st = sm + s * STAGE;
                for (int b = 0; b < BPS; b++) {
                    const int kbox = kt * BPS + b;   // IB-wide k box index
                    if (PACK == 0) tma2(st + b * WB, &tw, kbox * IB, rb * RB, full + s);
                    else if (PACK == 1) tma2(st + b * WB, &tw, 0, (rb * (K / IB) + kbox) * RB, full + s);
                    else bulk1(st + b * WB, w + ((long long)rb * (K / IB) + kbox) * WB, WB, full + s);
                }
                for (int j = 0; XT && j < XPS; j++) tma2(st + BPS * WB + j * XB, &tx, kt * KS + j * 64, 0, full + s);
            }
    } else {
        for (int kt = kb0; kt < kb1; kt++) {
            const int i = kt - kb0, s = i % S;
            bar_wait(full + s, (i / S) & 1);
            const unsigned char *st = sm + s * STAGE;
            for (int o = (tid - 128) * 16; o < BPS * WB; o += 256 * 16) {
                const uint4 v = *reinterpret_cast<const uint4 *>(st + o);
                acc ^= v.x ^ v.y ^ v.z ^ v.w;
            }
            asm volatile("bar.sync %0, 128;" ::"r"(wg) : "memory");
            if ((tid & 127) == 0) bar_arrive(empty + s);
        }
    }
    if (acc == 0x12345678u) sink[0] = acc;
}

__global__ void rd_plain(const uint4 *w, long long n16, unsigned *sink)
{
    unsigned acc = 0;
    const long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n16; i += stride * 4) {
        uint4 v[4];
#pragma unroll
        for (int u = 0; u < 4; u++) v[u] = i + u * stride < n16 ? __ldcs(w + i + u * stride) : make_uint4(0, 0, 0, 0);
#pragma unroll
        for (int u = 0; u < 4; u++) acc ^= v[u].x ^ v[u].y ^ v[u].z ^ v[u].w;
    }
    if (acc == 0x12345678u) sink[0] = acc;
}


static char *W;
static __half *X;
static unsigned *SINK;

template <int IB, int RB, int BPS, int S, int XT, int PACK> static void run(const char *what, long long N, int split)
{
    const long long K = WBYTES / N;
    constexpr int STAGE = BPS * RB * IB + (IB * BPS / 64) * XT * 128;
    const int smem = S * STAGE + 2 * S * 8 + 1024;
    auto k = rd_tma<IB, RB, BPS, S, XT, PACK>;
    CK(cudaFuncSetAttribute(k, cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
    const CUtensorMapSwizzle sw = IB == 64 ? CU_TENSOR_MAP_SWIZZLE_64B : IB == 128 ? CU_TENSOR_MAP_SWIZZLE_128B : CU_TENSOR_MAP_SWIZZLE_NONE;
    CUtensorMap tw[COPIES];
    for (int c = 0; c < COPIES; c++)
        tw[c] = PACK ? tmap(W + c * WBYTES, CU_TENSOR_MAP_DATA_TYPE_UINT8, 1, N * K / IB, IB, IB, RB, sw)
                     : tmap(W + c * WBYTES, CU_TENSOR_MAP_DATA_TYPE_UINT8, 1, N, K, IB, RB, sw);
    const CUtensorMap tx = tmap(X, CU_TENSOR_MAP_DATA_TYPE_FLOAT16, 2, XT ? XT : 32, 16384, 64, XT ? XT : 32, CU_TENSOR_MAP_SWIZZLE_128B);
    const dim3 grid((unsigned)(N / RB), (unsigned)split);
    const double us = per_launch_us([&](int i) { k<<<grid, 384, smem>>>(tw[i % COPIES], tx, W + (i % COPIES) * WBYTES, (int)K, SINK); });
    printf("%-58s N=%5lld grid %3ux%u smem %6d: %7.2f us %5.2f TB/s\n", what, N, grid.x, grid.y, smem, us, WBYTES / us * 1e-6);
}

int main()
{
    cudaDeviceProp p;
    CK(cudaGetDeviceProperties(&p, 0));
    printf("card %s, %d SMs, L2 %d MiB\n", p.name, p.multiProcessorCount, p.l2CacheSize >> 20);
    tma_init();
    CK(cudaMalloc(&W, COPIES * WBYTES));
    CK(cudaMalloc(&X, 256ll * 16384 * 2));
    CK(cudaMalloc(&SINK, 4));
    CK(cudaMemset(W, 0x3c, COPIES * WBYTES));
    CK(cudaMemset(X, 0x3c, 256ll * 16384 * 2));
    const int sms = p.multiProcessorCount;
    const double plain = per_launch_us([&](int i) { rd_plain<<<sms * 4, 512>>>((const uint4 *)(W + (i % COPIES) * WBYTES), WBYTES / 16, SINK); });
    printf("%-58s %7.2f us %5.2f TB/s\n", "plain 16-byte loads, 4 in flight", plain, WBYTES / plain * 1e-6);
    // GEMM1's shape (16384 x 4096): 128 blocks of 128 rows
    run<64, 128, 1, 13, 32, 0>("as stored, 64 B x 128 rows, 13 st, x 32 tok (now)", 16384, 1);
    run<64, 128, 1, 13, 0, 0>("as stored, 64 B x 128 rows, 13 st, no x", 16384, 1);
    run<64, 128, 1, 6, 128, 0>("as stored, 64 B x 128 rows, 6 st, x 128 tok (now)", 16384, 1);
    run<128, 128, 1, 8, 32, 0>("as stored, 128 B x 128 rows, 8 st, x 32", 16384, 1);
    run<256, 128, 1, 4, 32, 0>("as stored, 256 B x 128 rows, 4 st, x 32", 16384, 1);
    run<64, 128, 4, 3, 32, 0>("as stored, 4 boxes 64 B x 128 rows per stage, 3 st, x 32", 16384, 1);
    run<64, 128, 2, 6, 32, 0>("as stored, 2 boxes 64 B x 128 rows per stage, 6 st, x 32", 16384, 1);
    run<64, 128, 1, 13, 32, 1>("repacked tiles 64 B x 128 (8 KiB), TMA, 13 st, x 32", 16384, 1);
    run<64, 128, 1, 13, 32, 2>("repacked tiles 8 KiB, 1-D bulk, 13 st, x 32", 16384, 1);
    run<128, 128, 1, 8, 32, 1>("repacked tiles 128 B x 128 (16 KiB), TMA, 8 st, x 32", 16384, 1);
    run<64, 128, 1, 6, 128, 1>("repacked tiles 8 KiB, TMA, 6 st, x 128", 16384, 1);
    run<64, 64, 1, 12, 32, 0>("as stored, 64 B x 64 rows, 12 st, x 32 (256 blocks, 2/SM)", 16384, 1);
    // GEMM2's shape (4096 x 16384): 32 row blocks x k split
    run<64, 128, 1, 13, 32, 0>("as stored, split 3 (now)", 4096, 3);
    run<64, 128, 1, 13, 32, 0>("as stored, split 4", 4096, 4);
    run<64, 128, 1, 13, 32, 1>("repacked 8 KiB TMA, split 3", 4096, 3);
    run<64, 128, 1, 13, 32, 1>("repacked 8 KiB TMA, split 4", 4096, 4);
    run<128, 128, 1, 8, 32, 0>("as stored 128 B, split 4", 4096, 4);
    CK(cudaDeviceSynchronize());
    return 0;
}
