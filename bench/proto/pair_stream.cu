// pair_stream.cu — measurement only (not built by CMake): would one persistent launch that streams both weights of
// GELU-4096 int8 at T <= 16 keep HBM busier across the GEMM boundary than main's two kernels chained by programmatic
// dependent launch (PDL)? The timelines (bench/RESULTS.md, thirty-fourth session) put ~6 µs between the first GEMM's
// median block finishing its stream and the second GEMM's first copies, and the sixtieth session's L2 prefetch at
// entry took back only part of it. In the pair kernel each of 128 blocks (one a SM) streams its first-GEMM tile
// (128 rows of W1 [16384][4096]), stores its 16 x 128 piece of h, arrives at a grid-wide counter, and its producer goes
// straight on to the codes of its second-GEMM share (W2 [4096][16384]: 32 row tiles x k split 4) while the last first-GEMM
// blocks finish: only the x (h) copies of phase 2 wait for the counter.
//
// The kernels are copy-only, as tma_patterns.cu's: one thread issues 2-D tensor copies of W (two 128-byte x 128-row
// boxes: 256 k a stage, as the 16-token code kernels) and of x (four 64 k x 16 token boxes) into a ring of stages; two
// consumer warpgroups wait for a stage, read it, hold it HOLD cycles (standing in for conversion and wgmma), release
// it, and store a 4 KiB output tile at the end. The chains compared (each iteration = one block's two GEMMs; W1 and W2
// are four copies each, read in turn, so L2 holds none):
//   two-7    GEMM1 one a SM (4 stages) -> GEMM2 32 x split 7, two a SM (2 stages): main's kernels at T = 3..16 on an
//            H100; both launched with PDL, each asking L2 for its rows' first 8 lines before griddepcontrol.wait
//   two-4    the same with GEMM2 32 x split 4, one a SM (4 stages): the pair kernel's phase-2 shape as its own kernel
//   pair     the one launch (PDL too, W1's first lines asked of L2 before griddepcontrol.wait), phase-2 L2 prefetch of
//            PF2 more lines per row past the ring, asked when a block's phase 1 is streamed
// GEMM2's k split sums its parts through the cluster's shared memory, as the real kernels do (clusters of the split).
// Build: nvcc -O3 -std=c++17 -gencode=arch=compute_90a,code=sm_90a -o build-gpu/bin/pair_stream bench/proto/pair_stream.cu
// Run:   build-gpu/bin/pair_stream        (prints one line per chain and hold; exit 1 on a CUDA error)
#include "proto_tma.cuh"

static const long long WBYTES = 64ll << 20, COPIES = 4, H = 4096, I = 16384, XT = 16;
static const int ROWS = 128, QW = 128, BPS = 2, KS = QW * BPS, XB = XT * 128, STAGE = BPS * ROWS * QW + (KS / 64) * XB;

__device__ __forceinline__ void pf_l2(const void *p) { asm volatile("prefetch.global.L2 [%0];" ::"l"(p)); }
__device__ __forceinline__ void pdl_wait() { asm volatile("griddepcontrol.wait;" ::: "memory"); }

// Rows [n0, n0 + 128) of q ([N][K] codes), bytes [b0, b0 + lines * 128) of each: asked of L2 by every thread
__device__ __forceinline__ void prefetch_rows(const unsigned char *q, long long K, int n0, long long b0, int lines)
{
    for (int i = threadIdx.x; i < ROWS * lines; i += blockDim.x) {
        const int r = i / lines, l = i - r * lines;
        pf_l2(q + (long long)(n0 + r) * K + b0 + (long long)l * 128);
    }
}

// One stage's copies: BPS W boxes at (k0 + 128 b, n0), then (xk >= 0) four x boxes at (xk + 64 j, 0)
__device__ __forceinline__ void issue_w(unsigned char *st, const CUtensorMap *tw, int k0, int n0, uint64_t *full)
{
    for (int b = 0; b < BPS; b++) tma2(st + b * ROWS * QW, tw, k0 + b * QW, n0, full);
}
__device__ __forceinline__ void issue_x(unsigned char *st, const CUtensorMap *tx, int k0, uint64_t *full)
{
    for (int j = 0; j < KS / 64; j++) tma2(st + BPS * ROWS * QW + j * XB, tx, k0 + j * 64, 0, full);
}

// A consumer's turn at stage i (slot s): wait, read the W part, hold, release
__device__ __forceinline__ unsigned consume(unsigned char *sm, uint64_t *full, uint64_t *empty, int i, int S, int hold)
{
    const int s = i % S, tid = threadIdx.x, wg = tid >> 7;
    bar_wait(full + s, (i / S) & 1);
    const unsigned char *st = sm + s * STAGE;
    unsigned acc = 0;
    for (int o = (tid - 128) * 16; o < BPS * ROWS * QW; o += 256 * 16) {
        const uint4 v = *reinterpret_cast<const uint4 *>(st + o);
        acc ^= v.x ^ v.y ^ v.z ^ v.w;
    }
    if (hold) {
        const long long t = clock64();
        while (clock64() - t < hold) { }
    }
    asm volatile("bar.sync %0, 128;" ::"r"(wg + 2) : "memory");   // 3, 4: barrier 1 is both warpgroups' (256)
    if ((tid & 127) == 0) bar_arrive(empty + s);
    return acc;
}

// The output tile's store (4 KiB: 16 tokens x 128 f16), as an epilogue's
__device__ __forceinline__ void store_tile(__half *out, long long ld, int n0, unsigned acc)
{
    const int t = threadIdx.x - 128, tok = t / 16, c = (t % 16) * 8;
    uint4 v = make_uint4(acc & 0x3c003c00u, 0x3c003c00u, 0x3c003c00u, 0x3c003c00u);
    *reinterpret_cast<uint4 *>(out + tok * ld + n0 + c) = v;
}

// The k split's cross-block sum as the real kernels do it: every block stages its 16 x 128 fp32 sums in its shared
// memory, the cluster syncs, block r of CL sums the tokens [16 r / CL, 16 (r + 1) / CL) over the cluster's blocks
// (distributed shared memory) and stores them; a second sync keeps every block's shared memory until all have read it.
__device__ __forceinline__ void cluster_sync()
{
    asm volatile("barrier.cluster.arrive.release;\nbarrier.cluster.wait.acquire;" ::: "memory");
}
__device__ __forceinline__ unsigned cluster_rank()
{
    unsigned r;
    asm volatile("mov.u32 %0, %%cluster_ctarank;" : "=r"(r));
    return r;
}
__device__ __forceinline__ float ld_remote(const float *p, unsigned rank)
{
    unsigned a = sa(p), o;
    float v;
    asm volatile("mapa.shared::cluster.u32 %0, %1, %2;" : "=r"(o) : "r"(a), "r"(rank));
    asm volatile("ld.shared::cluster.f32 %0, [%1];" : "=f"(v) : "r"(o) : "memory");
    return v;
}
__device__ __forceinline__ void cluster_epilogue(unsigned char *sm, int CL, __half *out, long long ld, int n0, unsigned acc)
{
    float *os = reinterpret_cast<float *>(sm);
    const int t = threadIdx.x - 128;
    for (int e = t; e < 16 * 128; e += 256) os[(e / 128) * 132 + e % 128] = (float)((acc >> (e & 7)) & 1) + 0.5f;
    cluster_sync();
    const int r = (int)cluster_rank(), tk0 = 16 * r / CL, tk1 = 16 * (r + 1) / CL;
    for (int e = t + tk0 * 128; e < tk1 * 128; e += 256) {
        float v = 0.f;
        for (int b = 0; b < CL; b++) v += ld_remote(os + (e / 128) * 132 + e % 128, (unsigned)b);
        out[(e / 128) * ld + n0 + e % 128] = __float2half_rn(v);
    }
    cluster_sync();
}

__device__ __forceinline__ void ring_init(uint64_t *full, uint64_t *empty, int S)
{
    if (threadIdx.x == 0) {
        for (int s = 0; s < S; s++) bar_init(full + s, 1), bar_init(empty + s, 2);
        asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
    }
    __syncthreads();
}

// KI=1 (environment): a split GEMM's blocks take interleaved k blocks (block y: y, y + split, ...), as variant mki
// (bench/proto/mixed-k-interleave.patch), instead of contiguous shares; the pair kernel keeps contiguous ones
__constant__ int g_ki;

// One GEMM's copies: grid (N / 128, split), k split evenly in stages of KS (or interleaved: g_ki)
template <int S, int CL>
__global__ void __launch_bounds__(384, 1) gemm_k(const __grid_constant__ CUtensorMap tw, const __grid_constant__ CUtensorMap tx,
                                                 const unsigned char *q, long long N, long long K, int lines, int hold,
                                                 __half *out, unsigned *sink, const unsigned char *nq, long long nK,
                                                 int nrows, int nsplit, int nst)
{
    extern __shared__ unsigned char raw[];
    unsigned char *sm = raw + ((1024 - (sa(raw) & 1023)) & 1023);
    uint64_t *full = reinterpret_cast<uint64_t *>(sm + S * STAGE), *empty = full + S;
    const int ny = (int)gridDim.y, y = (int)blockIdx.y, KT = (int)(K / KS);
    const int kb0 = g_ki ? 0 : KT * y / ny, kb1 = g_ki ? (KT - y + ny - 1) / ny : KT * (y + 1) / ny;
    const int n0 = blockIdx.x * ROWS;
    if (lines) prefetch_rows(q, K, n0, (long long)(g_ki ? y : kb0) * KS, lines);
    ring_init(full, empty, S);
    if (threadIdx.x < 128) {
        if (threadIdx.x == 0) {
            pdl_wait();
            for (int kt = kb0; kt < kb1; kt++) {
                const int i = kt - kb0, s = i % S;
                if (i >= S) bar_wait(empty + s, ((i / S) & 1) ^ 1);
                bar_expect(full + s, STAGE);
                const int kc = g_ki ? i * ny + y : kt;   // the k block this stage copies
                issue_w(sm + s * STAGE, &tw, kc * KS, n0, full + s);
                issue_x(sm + s * STAGE, &tx, kc * KS, full + s);
            }
            // Drain prefetch (nq: the next GEMM's codes, [nrows][nK], split nsplit): this block's copies are all
            // issued; while its ring drains, its share of the next GEMM's first nst stages goes into L2
            if (nq) {
                const long long nb = (long long)gridDim.x * gridDim.y, b = blockIdx.x + (long long)gridDim.x * blockIdx.y;
                const long long segs = (long long)nrows * nsplit, KT2 = nK / KS;
                for (long long i = segs * b / nb; i < segs * (b + 1) / nb; i++) {
                    const long long r = i / nsplit, z2 = i % nsplit;
                    const unsigned char *a = nq + r * nK + KT2 * z2 / nsplit * KS;
                    asm volatile("cp.async.bulk.prefetch.L2.global [%0], %1;" ::"l"(a), "r"(nst * KS) : "memory");
                }
            }
        }
        if (CL > 1) cluster_sync(), cluster_sync();   // the consumers' two
        return;
    }
    pdl_wait();
    unsigned acc = 0;
    for (int kt = kb0; kt < kb1; kt++) acc ^= consume(sm, full, empty, kt - kb0, S, hold);
    if (CL > 1) cluster_epilogue(sm, CL, out, N, n0, acc);
    else store_tile(out, N, n0, acc);
    if (acc == 0x12345678u) sink[0] = acc;
}

// The pair: 128 blocks; phase 1 = W1's row tile blockIdx.x (all of k), phase 2 = W2's row tile blockIdx.x / 4, k part
// blockIdx.x % 4. ctr[0]: blocks whose h tile is stored; ctr[1]: blocks done (the last sets both back to zero).
template <int S>
__global__ void __launch_bounds__(384, 1) pair_k(const __grid_constant__ CUtensorMap tw1, const __grid_constant__ CUtensorMap tx1,
                                                 const __grid_constant__ CUtensorMap tw2, const __grid_constant__ CUtensorMap tx2,
                                                 const unsigned char *q1, const unsigned char *q2, int lines, int pf2, int early, int hold,
                                                 __half *h, __half *out, unsigned *ctr, unsigned *sink)
{
    extern __shared__ unsigned char raw[];
    unsigned char *sm = raw + ((1024 - (sa(raw) & 1023)) & 1023);
    uint64_t *full = reinterpret_cast<uint64_t *>(sm + S * STAGE), *empty = full + S;
    const int nb = (int)gridDim.x, split = 4;
    const int n1 = blockIdx.x * ROWS, P1 = (int)(H / KS);
    const int n2 = (blockIdx.x / split) * ROWS, KT2 = (int)(I / KS), z = blockIdx.x % split;
    const int kb0 = KT2 * z / split, P2 = KT2 * (z + 1) / split - kb0;
    if (lines) prefetch_rows(q1, H, n1, 0, lines);
    ring_init(full, empty, S);
    if (threadIdx.x < 128) {
        if (threadIdx.x == 0) {
            pdl_wait();
            int i = 0;
            for (int kt = 0; kt < P1; kt++, i++) {
                const int s = i % S;
                if (i >= S) bar_wait(empty + s, ((i / S) & 1) ^ 1);
                bar_expect(full + s, STAGE);
                issue_w(sm + s * STAGE, &tw1, kt * KS, n1, full + s);
                issue_x(sm + s * STAGE, &tx1, kt * KS, full + s);
            }
            // phase 2: the codes of the first stages as soon as their slots are free, x once every h tile is stored
            const int first = !early ? 0 : P2 < S ? P2 : S;
            for (int j = 0; j < first; j++) {
                const int ii = i + j, s = ii % S;
                if (ii >= S) bar_wait(empty + s, ((ii / S) & 1) ^ 1);
                bar_expect(full + s, STAGE);
                issue_w(sm + s * STAGE, &tw2, (kb0 + j) * KS, n2, full + s);
            }
            unsigned v;
            do asm volatile("ld.acquire.gpu.global.u32 %0, [%1];" : "=r"(v) : "l"(ctr) : "memory");
            while (v < (unsigned)nb);
            asm volatile("fence.proxy.async.global;" ::: "memory");   // h's generic stores before the copies read it
            for (int j = 0; j < first; j++) issue_x(sm + ((i + j) % S) * STAGE, &tx2, (kb0 + j) * KS, full + (i + j) % S);
            for (int j = first; j < P2; j++) {
                const int ii = i + j, s = ii % S;
                bar_wait(empty + s, ((ii / S) & 1) ^ 1);
                bar_expect(full + s, STAGE);
                issue_w(sm + s * STAGE, &tw2, (kb0 + j) * KS, n2, full + s);
                issue_x(sm + s * STAGE, &tx2, (kb0 + j) * KS, full + s);
            }
        }
        cluster_sync(), cluster_sync();   // the consumers' two (clusters of 4: phase 2's k split)
        return;
    }
    pdl_wait();
    unsigned acc = 0;
    int i = 0;
    for (; i < P1; i++) acc ^= consume(sm, full, empty, i, S, hold);
    if (pf2) {   // this block's phase-2 rows past the ring, asked of L2 while the grid's last phase-1 blocks finish
        for (int t = threadIdx.x - 128; t < ROWS * pf2; t += 256) {
            const int r = t / pf2, l = t - r * pf2;
            pf_l2(q2 + (long long)(n2 + r) * I + (long long)(kb0 + S) * KS + (long long)l * 128);
        }
    }
    store_tile(h, I, n1, acc);
    asm volatile("bar.sync 1, 256;" ::: "memory");
    if (threadIdx.x == 128) {
        __threadfence();
        atomicAdd(ctr, 1u);
    }
    for (int j = 0; j < P2; j++, i++) acc ^= consume(sm, full, empty, i, S, hold);
    cluster_epilogue(sm, split, out, H, n2, acc ^ (unsigned)z);
    asm volatile("bar.sync 1, 256;" ::: "memory");
    if (threadIdx.x == 128 && atomicAdd(ctr + 1, 1u) == (unsigned)nb - 1) {   // every block is past the counter
        ctr[0] = 0, ctr[1] = 0;
        __threadfence();
    }
    if (acc == 0x12345678u) sink[0] = acc;
}

template <typename K, typename... A> static void launch(K k, dim3 grid, dim3 cluster, int smem, bool pdl, A... args)
{
    cudaLaunchConfig_t c = {};
    cudaLaunchAttribute at[2];
    c.gridDim = grid, c.blockDim = dim3(384), c.dynamicSmemBytes = (size_t)smem, c.stream = 0;
    int n = 0;
    at[n].id = cudaLaunchAttributeClusterDimension, at[n].val.clusterDim.x = cluster.x, at[n].val.clusterDim.y = cluster.y,
    at[n].val.clusterDim.z = cluster.z, n++;
    if (pdl) at[n].id = cudaLaunchAttributeProgrammaticStreamSerialization, at[n].val.programmaticStreamSerializationAllowed = 1, n++;
    c.attrs = at, c.numAttrs = n;
    CK(cudaLaunchKernelEx(&c, k, args...));
}

static int smem_of(int stages) { return stages * STAGE + 2 * stages * 8 + 1024; }

int main()
{
    cudaDeviceProp p;
    CK(cudaGetDeviceProperties(&p, 0));
    printf("card %s, %d SMs, L2 %d MiB; stage %d bytes (256 k x 128 rows of codes, 16 tokens)\n", p.name, p.multiProcessorCount,
           p.l2CacheSize >> 20, STAGE);
    tma_init();
    const char *ki = getenv("KI");
    const int kiv = ki ? atoi(ki) : 0;
    CK(cudaMemcpyToSymbol(g_ki, &kiv, sizeof kiv));
    printf("k split of the GEMMs alone and two-N: %s\n", kiv ? "interleaved (KI=1)" : "contiguous shares");
    unsigned char *W1, *W2;
    __half *X, *Hb, *O;
    unsigned *ctr, *sink;
    CK(cudaMalloc(&W1, COPIES * WBYTES));
    CK(cudaMalloc(&W2, COPIES * WBYTES));
    CK(cudaMalloc(&X, XT * H * 2));
    CK(cudaMalloc(&Hb, XT * I * 2));
    CK(cudaMalloc(&O, XT * H * 2));
    CK(cudaMalloc(&ctr, 8));
    CK(cudaMalloc(&sink, 4));
    CK(cudaMemset(W1, 0x3c, COPIES * WBYTES));
    CK(cudaMemset(W2, 0x3c, COPIES * WBYTES));
    CK(cudaMemset(X, 0x3c, XT * H * 2));
    CK(cudaMemset(Hb, 0x3c, XT * I * 2));
    CK(cudaMemset(ctr, 0, 8));
    CUtensorMap tw1[COPIES], tw2[COPIES];
    for (int c = 0; c < COPIES; c++) {
        tw1[c] = tmap(W1 + c * WBYTES, CU_TENSOR_MAP_DATA_TYPE_UINT8, 1, I, H, QW, ROWS, CU_TENSOR_MAP_SWIZZLE_128B);
        tw2[c] = tmap(W2 + c * WBYTES, CU_TENSOR_MAP_DATA_TYPE_UINT8, 1, H, I, QW, ROWS, CU_TENSOR_MAP_SWIZZLE_128B);
    }
    const CUtensorMap tx1 = tmap(X, CU_TENSOR_MAP_DATA_TYPE_FLOAT16, 2, XT, H, 64, XT, CU_TENSOR_MAP_SWIZZLE_128B);
    const CUtensorMap tx2 = tmap(Hb, CU_TENSOR_MAP_DATA_TYPE_FLOAT16, 2, XT, I, 64, XT, CU_TENSOR_MAP_SWIZZLE_128B);
    auto g4 = gemm_k<4, 1>;
    auto g2 = gemm_k<2, 7>;
    auto g44 = gemm_k<4, 4>;
    auto pk = pair_k<4>;
    CK(cudaFuncSetAttribute(g4, cudaFuncAttributeMaxDynamicSharedMemorySize, smem_of(4)));
    CK(cudaFuncSetAttribute(g2, cudaFuncAttributeMaxDynamicSharedMemorySize, smem_of(2)));
    CK(cudaFuncSetAttribute(g44, cudaFuncAttributeMaxDynamicSharedMemorySize, smem_of(4)));
    CK(cudaFuncSetAttribute(g2, cudaFuncAttributeNonPortableClusterSizeAllowed, 1));
    CK(cudaFuncSetAttribute(pk, cudaFuncAttributeMaxDynamicSharedMemorySize, smem_of(4)));
    int occ2 = 0, occ4 = 0;
    CK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&occ2, g2, 384, smem_of(2)));
    CK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&occ4, g4, 384, smem_of(4)));
    printf("blocks a SM: 2-stage kernel %d, 4-stage kernel %d\n", occ2, occ4);
    int pair_clusters = 0;
    {
        cudaLaunchConfig_t c = {};
        cudaLaunchAttribute at[1];
        c.gridDim = dim3(128), c.blockDim = dim3(384), c.dynamicSmemBytes = (size_t)smem_of(4);
        at[0].id = cudaLaunchAttributeClusterDimension, at[0].val.clusterDim.x = 4, at[0].val.clusterDim.y = 1, at[0].val.clusterDim.z = 1;
        c.attrs = at, c.numAttrs = 1;
        CK(cudaOccupancyMaxActiveClusters(&pair_clusters, pk, &c));
    }
    printf("pair kernel: %d clusters of 4 resident at most (needs 32: its blocks wait for each other)\n", pair_clusters);
    const int L = 8;   // main's MIXED_PREFETCH_LINES
    const double rd = 2.0 * WBYTES;
    for (int hold : {0, 800, 1600, 2400}) {
        // GEMM1; nsplit > 0: its producers ask L2 for GEMM2's (split nsplit) first nst stages while their rings drain
        auto g1 = [&](int i, bool pdl, int nsplit = 0, int nst = 0) {
            launch(g4, dim3(I / ROWS, 1), dim3(1, 1, 1), smem_of(4), pdl, tw1[i % COPIES], tx1, (const unsigned char *)W1 + (i % COPIES) * WBYTES,
                   (long long)I, (long long)H, L, hold, Hb, sink, nsplit ? (const unsigned char *)W2 + (i % COPIES) * WBYTES : (const unsigned char *)nullptr,
                   (long long)I, (int)H, nsplit, nst);
        };
        auto g2s = [&](int i, int split, bool pdl) {
            const bool two = split == 7;
            launch(two ? g2 : g44, dim3(H / ROWS, split), dim3(1, split, 1), smem_of(two ? 2 : 4), pdl, tw2[i % COPIES], tx2,
                   (const unsigned char *)W2 + (i % COPIES) * WBYTES, (long long)H, (long long)I, L, hold, O, sink,
                   (const unsigned char *)nullptr, 0LL, 0, 0, 0);
        };
        if (getenv("DIAG") && hold == 0) {   // seventy-second session: why GEMM2's split stream is slower (copy-only)
            CUtensorMap tw2f[COPIES], tw1g[COPIES];   // W2's bytes as GEMM1's shape, W1's as GEMM2's
            for (int c = 0; c < COPIES; c++) {
                tw2f[c] = tmap(W2 + c * WBYTES, CU_TENSOR_MAP_DATA_TYPE_UINT8, 1, I, H, QW, ROWS, CU_TENSOR_MAP_SWIZZLE_128B);
                tw1g[c] = tmap(W1 + c * WBYTES, CU_TENSOR_MAP_DATA_TYPE_UINT8, 1, H, I, QW, ROWS, CU_TENSOR_MAP_SWIZZLE_128B);
            }
            auto shape1 = [&](const CUtensorMap *tw, unsigned char *W, int i) {
                launch(g4, dim3(I / ROWS, 1), dim3(1, 1, 1), smem_of(4), true, tw[i % COPIES], tx1, (const unsigned char *)W + (i % COPIES) * WBYTES,
                       (long long)I, (long long)H, L, 0, Hb, sink, (const unsigned char *)nullptr, 0LL, 0, 0, 0);
            };
            auto shape2 = [&](const CUtensorMap *tw, unsigned char *W, int i, bool cl) {
                launch(cl ? g44 : g4, dim3(H / ROWS, 4), dim3(1, cl ? 4 : 1, 1), smem_of(4), true, tw[i % COPIES], tx2,
                       (const unsigned char *)W + (i % COPIES) * WBYTES, (long long)H, (long long)I, L, 0, O, sink,
                       (const unsigned char *)nullptr, 0LL, 0, 0, 0);
            };
            auto g21 = gemm_k<2, 1>;
            auto g42 = gemm_k<4, 2>;
            CK(cudaFuncSetAttribute(g21, cudaFuncAttributeMaxDynamicSharedMemorySize, smem_of(2)));
            CK(cudaFuncSetAttribute(g42, cudaFuncAttributeMaxDynamicSharedMemorySize, smem_of(4)));
            auto shape2k = [&](auto k, int stages, int split, int cl, int i) {
                launch(k, dim3(H / ROWS, split), dim3(1, cl, 1), smem_of(stages), true, tw2[i % COPIES], tx2,
                       (const unsigned char *)W2 + (i % COPIES) * WBYTES, (long long)H, (long long)I, L, 0, O, sink,
                       (const unsigned char *)nullptr, 0LL, 0, 0, 0);
            };
            for (int r = 0; r < 2; r++) {
                const double e1 = per_launch_us([&](int i) { shape2k(g2, 2, 7, 7, i); });
                const double e2 = per_launch_us([&](int i) { shape2k(g21, 2, 7, 1, i); });
                const double e3 = per_launch_us([&](int i) { shape2k(g42, 4, 4, 2, i); });
                const double e4 = per_launch_us([&](int i) { shape2k(g21, 2, 8, 1, i); });
                printf("diag r%d: GEMM2 x7 two a SM: clusters of 7 %6.2f us, no clusters %6.2f | x4 one a SM in clusters of 2 %6.2f | "
                       "x8 two a SM, no clusters %6.2f\n", r, e1, e2, e3, e4);
            }
            for (int r = 0; r < 2; r++) {
                const double d1 = per_launch_us([&](int i) { shape1(tw1, W1, i); });
                const double d2 = per_launch_us([&](int i) { shape1(tw2f, W2, i); });
                const double d3 = per_launch_us([&](int i) { shape2(tw2, W2, i, true); });
                const double d4 = per_launch_us([&](int i) { shape2(tw2, W2, i, false); });
                const double d5 = per_launch_us([&](int i) { shape2(tw1g, W1, i, true); });
                const double d6 = per_launch_us([&](int i) { shape2(tw1g, W1, i, false); });
                printf("diag r%d: GEMM1 shape on W1 %6.2f us, on W2 %6.2f | GEMM2 shape x4 on W2: clusters %6.2f, no clusters %6.2f | "
                       "on W1: clusters %6.2f, no clusters %6.2f\n", r, d1, d2, d3, d4, d5, d6);
            }
            return 0;
        }
        const double a1 = per_launch_us([&](int i) { g1(i, true); });
        const double a7 = per_launch_us([&](int i) { g2s(i, 7, true); });
        const double a4 = per_launch_us([&](int i) { g2s(i, 4, true); });
        const double t7 = per_launch_us([&](int i) { g1(i, true), g2s(i, 7, true); });
        const double t4 = per_launch_us([&](int i) { g1(i, true), g2s(i, 4, true); });
        printf("hold %4d cycles: GEMM1 alone %6.2f us, GEMM2 split 7 alone %6.2f, split 4 alone %6.2f\n", hold, a1, a7, a4);
        printf("hold %4d cycles: two-7 %6.2f us (%4.2f TB/s), two-4 %6.2f (%4.2f)\n", hold, t7, rd / t7 * 1e-6, t4, rd / t4 * 1e-6);
        const double d71 = per_launch_us([&](int i) { g1(i, true, 7, 1), g2s(i, 7, true); });
        const double d72 = per_launch_us([&](int i) { g1(i, true, 7, 2), g2s(i, 7, true); });
        const double d44 = per_launch_us([&](int i) { g1(i, true, 4, 4), g2s(i, 4, true); });
        printf("hold %4d cycles: drain prefetch of GEMM2's head: two-7 1 stage %6.2f us, 2 stages %6.2f; two-4 4 stages %6.2f\n",
               hold, d71, d72, d44);
        for (int v = 0; v < 3 && pair_clusters >= 32; v++) {
            const int pf2 = v == 2 ? 8 : 0, early = v != 1;
            const double tp = per_launch_us([&](int i) {
                const int c = i % COPIES;
                launch(pk, dim3(128), dim3(4, 1, 1), smem_of(4), true, tw1[c], tx1, tw2[c], tx2, (const unsigned char *)W1 + c * WBYTES,
                       (const unsigned char *)W2 + c * WBYTES, L, pf2, early, hold, Hb, O, ctr, sink);
            });
            printf("hold %4d cycles: pair, %s: %6.2f us (%4.2f TB/s)\n", hold,
                   v == 0 ? "phase-2 codes issued early" : v == 1 ? "phase-2 copies after the counter" : "early + 8 lines a row asked of L2",
                   tp, rd / tp * 1e-6);
        }
    }
    CK(cudaDeviceSynchronize());
    unsigned c2[2];
    CK(cudaMemcpy(c2, ctr, 8, cudaMemcpyDeviceToHost));
    printf("counters after the runs: %u %u (want 0 0)\n", c2[0], c2[1]);
    return c2[0] || c2[1];
}
