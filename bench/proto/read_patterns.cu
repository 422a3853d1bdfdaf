// read_patterns.cu — which way of reading a weight matrix reaches the HBM stream? (experiment, not built by CMake)
// W is [16384][4096] f16 ([out,in] rows of 8 KiB), two copies (256 MiB) read alternately so L2 holds neither.
// Every kernel reads all of W once and folds it into one word per thread (kept so nothing is dead code).
// Build: nvcc -O3 -std=c++17 -arch=sm_90 -o build-gpu/bin/read_patterns bench/proto/read_patterns.cu   Run: build-gpu/bin/read_patterns
#include "proto_tma.cuh"

static const long long ROWS = 16384, K = 4096, ROWB = K * 2, BYTES = ROWS * ROWB;

__device__ __forceinline__ uint4 ldg_stream(const void *p)
{
    uint4 r;
    asm volatile("ld.global.nc.L1::no_allocate.v4.u32 {%0,%1,%2,%3}, [%4];" : "=r"(r.x), "=r"(r.y), "=r"(r.z), "=r"(r.w) : "l"(p));
    return r;
}

// 1. fully coalesced: a warp reads 512 contiguous bytes per instruction, U instructions in flight per thread.
template <int U> __global__ void rd_coalesced(const uint4 *w, long long n16, unsigned *sink)
{
    unsigned acc = 0;
    const long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n16; i += stride * U) {
        uint4 v[U];
#pragma unroll
        for (int u = 0; u < U; u++) v[u] = i + u * stride < n16 ? ldg_stream(w + i + u * stride) : make_uint4(0, 0, 0, 0);
#pragma unroll
        for (int u = 0; u < U; u++) acc ^= v[u].x ^ v[u].y ^ v[u].z ^ v[u].w;
    }
    if (acc == 0x12345678u) sink[0] = acc;
}

// 2. row chunks (the stream kernel's [out,in] pattern): a warp owns 16 rows and a k range; per instruction a row
// gets CH contiguous bytes (CH/16 lanes), 512/CH rows per instruction, rows r and r+8 ... ; U instructions per lane
// in flight walk k. Unit = (16-row tile, k half).
template <int CH, int U> __global__ void rd_rowchunk(const char *w, unsigned *sink)
{
    constexpr int LPR = CH / 16, RPI = 32 / LPR;   // lanes per row, rows per instruction
    constexpr int NI = 16 / RPI;                    // instructions to cover 16 rows at one k
    const int lane = threadIdx.x & 31;
    const long long warp = (blockIdx.x * (long long)blockDim.x + threadIdx.x) >> 5;
    const long long nwarps = ((long long)gridDim.x * blockDim.x) >> 5;
    const long long units = ROWS / 16 * 2;
    unsigned acc = 0;
    for (long long u0 = warp; u0 < units; u0 += nwarps) {
        const long long r0 = (u0 >> 1) * 16, kb0 = (u0 & 1) * (ROWB / 2);
        const char *base = w + (r0 + lane / LPR) * ROWB + kb0 + (lane % LPR) * 16;
        for (long long kb = 0; kb < ROWB / 2; kb += (long long)CH * U) {
            uint4 v[U][NI];
#pragma unroll
            for (int u = 0; u < U; u++)
#pragma unroll
                for (int r = 0; r < NI; r++) v[u][r] = ldg_stream(base + r * RPI * ROWB + kb + u * CH);
#pragma unroll
            for (int u = 0; u < U; u++)
#pragma unroll
                for (int r = 0; r < NI; r++) acc ^= v[u][r].x ^ v[u][r].y ^ v[u][r].z ^ v[u][r].w;
        }
    }
    if (acc == 0x12345678u) sink[0] = acc;
}

// 3. bulk copies into a shared-memory ring (one producer lane per row segment, mbarrier completion): unit = BN rows
// x SEG bytes of each row; the block walks its units in order through S stages; 4 consumer warps fold the stage.
__device__ __forceinline__ void bulk_g2s(void *dst, const void *src, unsigned bytes, uint64_t *bar)
{
    asm volatile("cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1], %2, [%3];"
                 ::"r"(sa(dst)), "l"(src), "r"(bytes), "r"(sa(bar)) : "memory");
}

// RANGE: block b walks units [b*units/G, (b+1)*units/G) in order (the stream kernels' stream-K split: 132 streams
// far apart); else units b, b+G, ... (all blocks together sweep one window of the matrix).
// MMA: the consumers do what the stream kernels' W ring consumers do with f16 weights (BN = 32, NC = 16: warps
// 2 x 8 over rows x k, 16-byte fragments of rows g and g + 8, two m16n8k16 MMAs per 32 k against a fixed x), so
// the bare ring and the ring with the GEMM's consumer work can be compared in one run.
template <int BN, int SEG, int S, int RANGE = 0, int NC = 4, int MMA = 0> __global__ void __launch_bounds__(1024, 1) rd_bulk(const char *w, unsigned *sink)
{
    extern __shared__ __align__(128) unsigned char sm[];
    constexpr int STAGE = BN * SEG, PADROW = SEG + 64;   // padded rows (bank spread for fragment reads)
    uint64_t *full = reinterpret_cast<uint64_t *>(sm), *empty = full + S;
    unsigned char *ring = sm + 128;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const long long units = ROWS / BN * (ROWB / SEG);
    if (threadIdx.x == 0) {
        for (int s = 0; s < S; s++) bar_init(full + s, 1), bar_init(empty + s, NC);
        asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
    }
    __syncthreads();
    unsigned acc = 0;
    if (warp == NC) {   // producer
        int s = 0; unsigned ph = 0;
        for (long long u = RANGE ? units * blockIdx.x / gridDim.x : blockIdx.x;
             u < (RANGE ? units * (blockIdx.x + 1) / gridDim.x : units); u += RANGE ? 1 : gridDim.x) {
            const long long r0 = u / (ROWB / SEG) * BN, kb = u % (ROWB / SEG) * SEG;
            bar_wait(empty + s, ph ^ 1);
            if (lane == 0) bar_expect(full + s, STAGE);
            __syncwarp();
            for (int r = lane; r < BN; r += 32) bulk_g2s(ring + s * BN * PADROW + r * PADROW, w + (r0 + r) * ROWB + kb, SEG, full + s);
            if (++s == S) s = 0, ph ^= 1;
        }
    } else if constexpr (MMA != 0) {  // consumers as the W ring's: (wn, wk) = (warp % 2, warp / 2), 64-byte load groups
        static_assert(!MMA || (BN == 32 && NC == 16 && SEG % 512 == 0), "MMA consumers: 32 rows, 16 warps");
        const int g = lane >> 2, c = lane & 3, wn = warp % 2, wk = warp / 2;
        float d[4] = {0, 0, 0, 0};
        const unsigned xb0 = 0x3c003c00u ^ (unsigned)lane, xb1 = 0x3c003c00u;   // a fixed x fragment
        int s = 0; unsigned ph = 0;
        for (long long u = RANGE ? units * blockIdx.x / gridDim.x : blockIdx.x;
             u < (RANGE ? units * (blockIdx.x + 1) / gridDim.x : units); u += RANGE ? 1 : gridDim.x) {
            bar_wait(full + s, ph);
            const unsigned char *st = ring + s * BN * PADROW + (wn * 16 + g) * PADROW + c * 16;
            constexpr int NP = SEG / 512 > 0 ? SEG / 512 : 1;
            uint4 w0[NP], w1[NP];
#pragma unroll
            for (int p = 0; p < NP; p++) {   // the warp's load groups: wk, wk + 8, ... (64 bytes each)
                w0[p] = *reinterpret_cast<const uint4 *>(st + (wk + 8 * p) * 64);
                w1[p] = *reinterpret_cast<const uint4 *>(st + 8 * PADROW + (wk + 8 * p) * 64);
            }
            __syncwarp();
            if (lane == 0) bar_arrive(empty + s);
            if (++s == S) s = 0, ph ^= 1;
#pragma unroll
            for (int p = 0; p < NP; p++) {
                const unsigned a0[4] = {w0[p].x, w1[p].x, w0[p].y, w1[p].y}, a1[4] = {w0[p].z, w1[p].z, w0[p].w, w1[p].w};
                asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
                             : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                             : "r"(a0[0]), "r"(a0[1]), "r"(a0[2]), "r"(a0[3]), "r"(xb0), "r"(xb1));
                asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
                             : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                             : "r"(a1[0]), "r"(a1[1]), "r"(a1[2]), "r"(a1[3]), "r"(xb0), "r"(xb1));
            }
        }
        acc = __float_as_uint(d[0] + d[1] + d[2] + d[3]);
    } else {           // consumers: warp w folds rows w, w+4, ...
        int s = 0; unsigned ph = 0;
        for (long long u = RANGE ? units * blockIdx.x / gridDim.x : blockIdx.x;
             u < (RANGE ? units * (blockIdx.x + 1) / gridDim.x : units); u += RANGE ? 1 : gridDim.x) {
            bar_wait(full + s, ph);
            const unsigned char *st = ring + s * BN * PADROW;
            for (int r = warp; r < BN; r += NC)
                for (int b = lane * 16; b < SEG; b += 512) {
                    const uint4 v = *reinterpret_cast<const uint4 *>(st + r * PADROW + b);
                    acc ^= v.x ^ v.y ^ v.z ^ v.w;
                }
            __syncwarp();
            if (lane == 0) bar_arrive(empty + s);
            if (++s == S) s = 0, ph ^= 1;
        }
    }
    if (acc == 0x12345678u) sink[0] = acc;
}

// 4. cp.async (16-byte LDGSTS) ring: same units as 3, every thread copies, S stages deep.
template <int BN, int SEG, int S> __global__ void __launch_bounds__(256, 1) rd_cpasync(const char *w, unsigned *sink)
{
    extern __shared__ __align__(128) unsigned char sm[];
    constexpr int PADROW = SEG + 64, V = BN * SEG / 16;
    const long long units = ROWS / BN * (ROWB / SEG);
    unsigned acc = 0;
    auto issue = [&](long long u, int s) {
        if (u < units) {
            const long long r0 = u / (ROWB / SEG) * BN, kb = u % (ROWB / SEG) * SEG;
            for (int e = threadIdx.x; e < V; e += blockDim.x) {
                const int r = e / (SEG / 16), b = e % (SEG / 16) * 16;
                asm volatile("cp.async.cg.shared.global [%0], [%1], 16;" ::"r"(sa(sm + s * BN * PADROW + r * PADROW + b)),
                             "l"(w + (r0 + r) * ROWB + kb + b) : "memory");
            }
        }
        asm volatile("cp.async.commit_group;" ::: "memory");
    };
    long long u = blockIdx.x;
    for (int s = 0; s < S - 1; s++) issue(u + (long long)s * gridDim.x, s);
    int s = 0;
    for (; u < units; u += gridDim.x) {
        asm volatile("cp.async.wait_group %0;" ::"n"(S - 2) : "memory");
        __syncthreads();
        issue(u + (long long)(S - 1) * gridDim.x, (s + S - 1) % S);
        for (int e = threadIdx.x; e < V; e += blockDim.x) {
            const int r = e / (SEG / 16), b = e % (SEG / 16) * 16;
            const uint4 v = *reinterpret_cast<const uint4 *>(sm + s * BN * PADROW + r * PADROW + b);
            acc ^= v.x ^ v.y ^ v.z ^ v.w;
        }
        s = (s + 1) % S;
    }
    asm volatile("cp.async.wait_group 0;" ::: "memory");
    if (acc == 0x12345678u) sink[0] = acc;
}

struct Timer {
    cudaEvent_t a, b;
    Timer() { cudaEventCreate(&a), cudaEventCreate(&b); }
};

template <typename F> static double time_us(F launch, int reps = 60)
{
    Timer t;
    std::vector<float> ms;
    for (int i = 0; i < 5; i++) launch(i);
    for (int i = 0; i < reps; i++) {
        cudaEventRecord(t.a);
        launch(i);
        cudaEventRecord(t.b);
        cudaEventSynchronize(t.b);
        float x;
        cudaEventElapsedTime(&x, t.a, t.b);
        ms.push_back(x);
    }
    std::sort(ms.begin(), ms.end());
    return ms[ms.size() / 2] * 1e3;
}

int main()
{
    cudaDeviceProp p;
    CK(cudaGetDeviceProperties(&p, 0));
    const int sms = p.multiProcessorCount;
    printf("card %s, %d SMs, L2 %d MiB\n", p.name, sms, p.l2CacheSize >> 20);
    char *w;
    unsigned *sink;
    CK(cudaMalloc(&w, 2 * BYTES));
    CK(cudaMalloc(&sink, 4));
    CK(cudaMemset(w, 0x3c, 2 * BYTES));
    auto report = [&](const char *name, double us) { printf("%-44s %8.1f us  %5.2f TB/s\n", name, us, BYTES / us * 1e-6); };
#define COAL(U, TPB, BPS) report("coalesced U=" #U " " #TPB "x" #BPS "/SM", time_us([&](int i) { \
        rd_coalesced<U><<<sms * BPS, TPB>>>((const uint4 *)(w + (i & 1) * BYTES), BYTES / 16, sink); }))
    COAL(2, 512, 4); COAL(4, 512, 4); COAL(8, 512, 2); COAL(4, 1024, 2); COAL(8, 256, 4);
#define ROWC(CH, U, TPB, BPS) report("rowchunk " #CH "B U=" #U " " #TPB "x" #BPS "/SM", time_us([&](int i) { \
        rd_rowchunk<CH, U><<<sms * BPS, TPB>>>(w + (i & 1) * BYTES, sink); }))
    ROWC(64, 1, 256, 2); ROWC(64, 2, 256, 2); ROWC(64, 4, 256, 2); ROWC(64, 2, 512, 2);
    ROWC(128, 1, 256, 2); ROWC(128, 2, 256, 2); ROWC(128, 4, 256, 2);
    ROWC(256, 2, 256, 2); ROWC(512, 2, 256, 2); ROWC(512, 4, 256, 2);
#define BULKR(BN, SEG, S, BPS, RG) do { auto k = rd_bulk<BN, SEG, S, RG>; const int sm_ = 128 + S * BN * (SEG + 64); \
        CK(cudaFuncSetAttribute(k, cudaFuncAttributeMaxDynamicSharedMemorySize, sm_)); \
        report(RG ? "bulk (ranges) BN=" #BN " SEG=" #SEG " S=" #S " x" #BPS "/SM" : "bulk BN=" #BN " SEG=" #SEG " S=" #S " x" #BPS "/SM", \
            time_us([&](int i) { k<<<sms * BPS, 160, sm_>>>(w + (i & 1) * BYTES, sink); })); } while (0)
#define BULK(BN, SEG, S, BPS) BULKR(BN, SEG, S, BPS, 0)
#define BULKC(BN, SEG, S, RG, NC) BULKM(BN, SEG, S, RG, NC, 0)
#define BULKM(BN, SEG, S, RG, NC, MMA) do { auto k = rd_bulk<BN, SEG, S, RG, NC, MMA>; const int sm_ = 128 + S * BN * (SEG + 64); \
        CK(cudaFuncSetAttribute(k, cudaFuncAttributeMaxDynamicSharedMemorySize, sm_)); \
        report(MMA ? "bulk+mma ranges=" #RG " BN=" #BN " SEG=" #SEG " S=" #S : "bulk ranges=" #RG " BN=" #BN " SEG=" #SEG " S=" #S " consumers=" #NC, \
            time_us([&](int i) { k<<<sms, 32 * (NC + 1), sm_>>>(w + (i & 1) * BYTES, sink); })); } while (0)
    BULK(32, 512, 4, 1); BULK(32, 512, 8, 1); BULK(64, 512, 4, 1); BULK(32, 1024, 4, 1); BULK(16, 1024, 6, 2);
    BULK(64, 256, 6, 1); BULK(32, 512, 4, 2);
    // the stream-K split (each block one contiguous range) against the window sweep above
    BULKR(32, 1024, 3, 1, 1); BULKR(32, 1024, 4, 1, 1); BULKR(32, 1024, 6, 1, 1); BULKR(32, 2048, 3, 1, 1);
    BULKR(32, 1024, 3, 1, 0); BULKR(32, 2048, 3, 1, 0);
    // consumer warps per block (the stream kernels' ring has 16)
    BULKC(32, 1024, 4, 1, 4); BULKC(32, 1024, 4, 1, 8); BULKC(32, 1024, 4, 1, 16); BULKC(32, 1024, 3, 1, 16);
    // the ring with the stream kernels' consumer work (fragments, release, MMAs): what the GEMM around it costs
    BULKM(32, 1024, 3, 1, 16, 1); BULKM(32, 1024, 4, 1, 16, 1);
#define CPA(BN, SEG, S) do { auto k = rd_cpasync<BN, SEG, S>; const int sm_ = S * BN * (SEG + 64); \
        CK(cudaFuncSetAttribute(k, cudaFuncAttributeMaxDynamicSharedMemorySize, sm_)); \
        report("cp.async BN=" #BN " SEG=" #SEG " S=" #S, time_us([&](int i) { \
            k<<<sms, 256, sm_>>>(w + (i & 1) * BYTES, sink); })); } while (0)
    CPA(32, 512, 4); CPA(64, 512, 4); CPA(32, 1024, 5);
    CK(cudaGetLastError());
    CK(cudaDeviceSynchronize());
    return 0;
}
