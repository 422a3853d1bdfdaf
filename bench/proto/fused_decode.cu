// fused_decode.cu — measurement only (not part of dsmlp): can one kernel carry a whole int8 decode block (norm,
// GEMV 1 + activation, GEMV 2 + bias + residual) and drop the fixed costs that two chained GEMVs pay at each end
// (bench/RESULTS.md: 3.3-3.9 µs per int8 GEMV beyond bytes / rate; issue 9 asks whether one persistent kernel beats
// two chained ones)?
//
// The idea: block b owns R rows of h (its W1 rows) AND the matching k slab of W2 (W2[:, bR .. bR + R)), so it needs
// no other block's h: it computes its h tile, keeps it in shared memory, streams its W2 slab against it at once and
// adds its partial sums of every output row into an fp32 accumulator with fire-and-forget reductions (red.add). The
// last block to finish (a counter, release/acquire fences) applies scale, bias and residual and zeroes the
// accumulator and the counter for the next replay. One weight stream per block, one ramp and one tail per block.
//
//   fused   the one kernel (R = 64 h rows a block: GELU-4096 256 blocks, SwiGLU-4096 224), a scalar red.add per
//           output row and block; "vector reds": one red.add.v4.f32 per 4 rows (sm_90); "W2 in slabs": the same with
//           W2's codes stored slab by slab (a layout dsmlp could make at load) instead of 64 bytes of each row;
//           "probe": no reductions at all (wrong results: what the reductions cost)
//   two     the same math as two kernels (norm + GEMV 1 + act -> h in memory; GEMV 2 + epilogue), like dsmlp's
//           decode GEMVs (256 threads, 2 blocks per SM, x / h staged in shared memory, f16 pair products)
//   read    the weights' bytes through a plain 16-byte read-only stream (the floor's rate)
//   tensor cores (fused_tc.cuh, every T): the same one-kernel block with both GEMMs on mma.sync (codes as A, tokens
//           as B in 8 or 16 columns), chunked tails instead of one last block; as stored, in fragment order, with
//           v4 reductions (lanes paired), and a probe without reductions. Also on f16 weights (GELU-4096 and
//           SwiGLU-4096 with f16 for bf16, scales one; T = 1, 2, 8, 16): issue 9's blocks on the same kernel; and
//           on fp8 e4m3 codes (SwiGLU-4096 T = 1, 2, 16, GELU-4096 T = 8). T = 8 and 16 run these alone (the f16-pair kernels' x is static shared memory).
// Every checked row runs twice before its timing and once after (the accumulator and counters must be left at zero).
// Both compute products as dsmlp's int8 decode GEMV does (ds_hmac16: exact code pairs in f16, pair sums of 8, fp32
// every 16 codes) and are checked against a double-precision CPU reference of the same graph (h rounded to f16).
// Shapes: H = 4096; GELU I = 16384 (LayerNorm, biases), SwiGLU I = 14336 ([up | gate] rows, RMSNorm, no biases);
// per-row f32 scales; f16 activations.
//
// Build and run (bench/proto/prepare-next-s45.sh builds it, bench/proto/run-next-s45-b.sh runs it):
//   nvcc -O3 -std=c++17 -arch=sm_90 -Xcompiler -fopenmp bench/proto/fused_decode.cu -lcublasLt \
//        $(gcc -print-file-name=libgomp.a) -o build-gpu/bin/fused_decode     (OpenMP for the host reference, linked in)
//   build-gpu/bin/fused_decode            (prints one table row per (block, T, variant); exit status 1 on an ERROR)
// fused_tc.cuh's kernel also runs on the host: g++ -O2 -std=c++17 -o /tmp/s bench/proto/fused_tc_sim.cc && /tmp/s
#include "proto_cuda.cuh"
#include "fused_tc.cuh"

#include <cuda_fp8.h>

#include <cmath>
#include <cstring>
#include <type_traits>

static const int H = 4096, THREADS = 256, R = 64;   // R: h rows (and W2 k) a fused block owns

// ---- shared device pieces ---------------------------------------------------------------------------------------
__global__ void fill_fp8(signed char *p, long n, unsigned seed)   // e4m3 codes, |w| <= 15 (exponent field <= 10), no NaN
{
    for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x) {
        const unsigned h = proto_hash(i, seed);
        p[i] = (signed char)((h & 0x80u) | (h >> 8) % 0x58u);
    }
}

// acc += 16 int8 codes . 16 f16 x (dsmlp's ds_hmac16)
__device__ __forceinline__ void hmac16(const uint4 &r, const __half2 (&x2)[8], float &acc)
{
    __half2 s = __float2half2_rn(0.0f);
    unsigned u[4];
    memcpy(u, &r, sizeof u);
    const __half2 k1 = __float2half2_rn(0.0009765625f), k0 = __float2half2_rn(-1.125f);
#pragma unroll
    for (int h = 0; h < 4; h++) {
        const unsigned b = u[h] ^ 0x80808080u;
        const unsigned p0 = __byte_perm(b, 0x64646464u, 0x5140), p1 = __byte_perm(b, 0x64646464u, 0x5342);
        __half2 w0, w1;
        memcpy(&w0, &p0, 4), memcpy(&w1, &p1, 4);
        s = __hfma2(__hfma2(w0, k1, k0), x2[2 * h], s);
        s = __hfma2(__hfma2(w1, k1, k0), x2[2 * h + 1], s);
    }
    acc = fmaf(__low2float(s) + __high2float(s), 1024.0f, acc);
}
// 16 f16 x as hmac16 pairs them: code pairs (4h, 4h + 1) and (4h + 2, 4h + 3), so x in its own order
__device__ __forceinline__ void x16(const __half *p, __half2 (&x2)[8]) { memcpy(x2, p, 32); }



// One warp: HR h values for rows r0 .. r0 + HR of h, each a dot of x (all H) with W1 rows (GATED: up row r and gate
// row I + r). Returns them through hs[t][r - rbase] (f16, as the block's intermediate).
template <int TT, bool GATED, int HR>
__device__ __forceinline__ void gemv1_rows(__half *hs, int hs_ld, const __half *xs, const signed char *w1, const float *s1,
                                           const __half *b1, long I, long r0, int rbase)
{
    const int lane = threadIdx.x & 31;
    // two W1 rows at a time (GATED: one h row's up and gate rows; else two h rows), 16 loads a lane, reduced and
    // stored before the next: a rolled loop, so that the compiler does not hoist every row's loads into registers
    constexpr int G = 2, HQ = GATED ? 1 : 2;   // W1 rows, h rows an iteration
#pragma unroll 1
    for (int q0 = 0; q0 < HR; q0 += HQ) {
        float acc[G][TT];
#pragma unroll
        for (int g = 0; g < G; g++)
#pragma unroll
            for (int t = 0; t < TT; t++) acc[g][t] = 0.0f;
        uint4 raw[G][H / 16 / 32];
#pragma unroll
        for (int g = 0; g < G; g++) {
            const long row = GATED ? (g ? I : 0) + r0 + q0 : r0 + q0 + g;
#pragma unroll
            for (int c = 0; c < H / 16 / 32; c++) raw[g][c] = tc_ldw(w1 + row * H + (lane + 32 * c) * 16);
        }
#pragma unroll
        for (int c = 0; c < H / 16 / 32; c++)
#pragma unroll
            for (int t = 0; t < TT; t++) {
                __half2 x2[8];
                x16(xs + t * H + (lane + 32 * c) * 16, x2);
#pragma unroll
                for (int g = 0; g < G; g++) hmac16(raw[g][c], x2, acc[g][t]);
            }
#pragma unroll
        for (int t = 0; t < TT; t++)
#pragma unroll
            for (int e = 0; e < HQ; e++) {
                const long r = r0 + q0 + e;
                const float a = tc_wsum(acc[e][t]);
                float v;
                if (GATED) {
                    const float gsum = tc_wsum(acc[1][t]);
                    v = a * s1[r] * tc_silu(gsum * s1[I + r]);
                } else {
                    v = tc_gelu(a * s1[r] + __half2float(b1[r]));
                }
                if (lane == 0) hs[t * hs_ld + r - rbase] = __float2half_rn(v);
            }
    }
}

struct blk {   // one block's operands
    const __half *x, *g, *be, *b1, *b2;
    const signed char *w1, *w2, *w2t;   // w2t: W2 in slabs of R columns (TILED)
    const float *s1, *s2;
    long I;
};

// ---- fused: one kernel ------------------------------------------------------------------------------------------
// RED: 0 a scalar red.add per row, 1 one vector red.add per 4 rows, 2 none (timing probe: wrong results).
// TILED: W2 read from p.w2t, the same codes stored slab by slab ([I / R][H][R]: a block's slab is 256 KiB in one
// piece) instead of as stored ([H][I]: 64 bytes of each row, rows 16 KiB apart).
template <int TT, bool GATED, int RED, bool TILED = false>
__global__ void __launch_bounds__(THREADS, 2) fused(blk p, __half *y, float *acc, unsigned *count)
{
    __shared__ __align__(16) __half xs[TT * H];
    __shared__ __align__(16) __half hs[TT * R];
    __shared__ float red[16];
    __shared__ int last;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    tc_norm<H, TT, GATED>(xs, H, p.x, p.g, p.be, TT, red);   // x as stored (no padding)
    const long rb = (long)blockIdx.x * R;
    gemv1_rows<TT, GATED, R / 8>(hs, R, xs, p.w1, p.s1, p.b1, p.I, rb + warp * (R / 8), (int)rb);
    __syncthreads();
    // W2[:, rb .. rb + R): 64 codes a row = 4 lanes x 16; a warp covers 8 rows a load, the block 64; rows rotated by
    // the block so that the blocks' reductions do not all meet the same addresses at once
    const int part = lane & 3, quad = lane >> 2;
    __half2 h2[TT][8];
#pragma unroll
    for (int t = 0; t < TT; t++) x16(hs + t * R + part * 16, h2[t]);
    constexpr int U = TT == 1 ? 16 : 8, STEPS = H / 64;
    for (int i0 = 0; i0 < STEPS; i0 += U) {
        uint4 raw[U];
#pragma unroll
        for (int u = 0; u < U; u++) {
            const long j = warp * 8 + quad + 64L * ((i0 + u + blockIdx.x) % STEPS);
            raw[u] = TILED ? tc_ldw(p.w2t + rb * H + j * R + part * 16) : tc_ldw(p.w2 + j * p.I + rb + part * 16);
        }
#pragma unroll
        for (int u = 0; u < U; u++) {
            const long j = warp * 8 + quad + 64L * ((i0 + u + blockIdx.x) % STEPS);
#pragma unroll
            for (int t = 0; t < TT; t++) {
                float s = 0.0f;
                hmac16(raw[u], h2[t], s);
                s += __shfl_xor_sync(0xffffffffu, s, 1);
                s += __shfl_xor_sync(0xffffffffu, s, 2);
                if (RED == 0) {
                    if (part == 0) atomicAdd(acc + t * H + j, s);
                } else if (RED == 1) {   // rows j .. j + 3 (quads 0-3, 4-7) in one vector reduction
                    const float s1 = __shfl_down_sync(0xffffffffu, s, 4), s2 = __shfl_down_sync(0xffffffffu, s, 8),
                                s3 = __shfl_down_sync(0xffffffffu, s, 12);
                    if ((lane & 15) == 0)
                        asm volatile("red.global.add.v4.f32 [%0], {%1, %2, %3, %4};\n" ::"l"(acc + t * H + j), "f"(s), "f"(s1),
                                     "f"(s2), "f"(s3) : "memory");
                } else if (s == 1.2345e-30f) {   // RED == 2: a timing probe with wrong results (no reductions)
                    acc[t * H + j] = s;
                }
            }
        }
    }
    __threadfence();
    __syncthreads();
    if (threadIdx.x == 0) last = atomicAdd(count, 1u) == gridDim.x - 1;
    __syncthreads();
    if (!last) return;
    __threadfence();
    // every load of a thread's outputs before its first store: one L2 round trip, not one an output (a store
    // between them would hold the next output's loads behind it)
    constexpr int EB = 16;
    static_assert(TT * H % (EB * THREADS) == 0, "whole batches");
    for (int e0 = threadIdx.x; e0 < TT * H; e0 += EB * THREADS) {
        float v[EB];
#pragma unroll
        for (int b = 0; b < EB; b++) {
            const int e = e0 + b * THREADS, j = e % H;
            v[b] = __ldcg(acc + e) * p.s2[j] + (GATED ? 0.0f : __half2float(p.b2[j])) + __half2float(p.x[e]);
        }
#pragma unroll
        for (int b = 0; b < EB; b++) {
            const int e = e0 + b * THREADS;
            y[e] = __float2half_rn(v[b]);
            acc[e] = 0.0f;
        }
    }
    if (threadIdx.x == 0) *count = 0;
}

// ---- two: GEMV 1 kernel, GEMV 2 kernel ------------------------------------------------------------------------
template <int TT, bool GATED>
__global__ void __launch_bounds__(THREADS, 2) two1(blk p, __half *h)
{
    __shared__ __align__(16) __half xs[TT * H];
    __shared__ float red[16];
    const int warp = threadIdx.x >> 5;
    tc_norm<H, TT, GATED>(xs, H, p.x, p.g, p.be, TT, red);   // x as stored (no padding)
    const long rb = (long)blockIdx.x * R;
    gemv1_rows<TT, GATED, R / 8>(h, (int)p.I, xs, p.w1, p.s1, p.b1, p.I, rb + warp * (R / 8), 0);
}

// y rows: 2 a warp (16 a block: 256 blocks for H = 4096); lanes stride along I with 16-byte loads; h staged in
// shared memory in chunks of KC
template <int TT, bool GATED>
__global__ void __launch_bounds__(THREADS, 2) two2(blk p, const __half *h, __half *y)
{
    __shared__ __align__(16) __half hsm[TT * (16384 / TT)];
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const long j0 = ((long)blockIdx.x * (THREADS / 32) + warp) * 2;
    const int kcm = (int)(p.I < 16384 / TT ? p.I : 16384 / TT);   // 32 KiB of h a chunk
    float a[2][TT];
#pragma unroll
    for (int q = 0; q < 2; q++)
#pragma unroll
        for (int t = 0; t < TT; t++) a[q][t] = 0.0f;
    for (long c0 = 0; c0 < p.I; c0 += kcm) {
        const int kc = p.I - c0 < kcm ? (int)(p.I - c0) : kcm;
        __syncthreads();
        for (int e = threadIdx.x * 8; e < TT * kc; e += THREADS * 8) {
            const int t = e / kc, i = e % kc;
            *reinterpret_cast<uint4 *>(hsm + t * kc + i) = *reinterpret_cast<const uint4 *>(h + t * p.I + c0 + i);
        }
        __syncthreads();
        constexpr int U = 8;
        for (int v = lane; v < kc / 16; v += 32 * U) {
            uint4 raw[U][2];
#pragma unroll
            for (int u = 0; u < U; u++)
#pragma unroll
                for (int q = 0; q < 2; q++)
                    raw[u][q] = v + u * 32 < kc / 16 ? tc_ldw(p.w2 + (j0 + q) * p.I + c0 + (v + u * 32) * 16) : uint4();
#pragma unroll
            for (int u = 0; u < U; u++) {
                if (v + u * 32 >= kc / 16) break;
#pragma unroll
                for (int t = 0; t < TT; t++) {
                    __half2 x2[8];
                    x16(hsm + t * kc + (v + u * 32) * 16, x2);
#pragma unroll
                    for (int q = 0; q < 2; q++) hmac16(raw[u][q], x2, a[q][t]);
                }
            }
        }
    }
#pragma unroll
    for (int q = 0; q < 2; q++)
#pragma unroll
        for (int t = 0; t < TT; t++) {
            const float s = tc_wsum(a[q][t]);
            const long j = j0 + q;
            if (lane == 0)
                y[t * H + j] = __float2half_rn(s * p.s2[j] + (GATED ? 0.0f : __half2float(p.b2[j])) + __half2float(p.x[t * H + j]));
        }
}

// ---- read: the weights' bytes, 16-byte read-only loads (the floor's rate) -----------------------------------------
__global__ void read_stream(const uint4 *a, long na, const uint4 *b, long nb, unsigned *sink)
{
    unsigned s = 0;
    const long stride = (long)gridDim.x * blockDim.x;
    for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < na; i += stride) { const uint4 v = tc_ldw(a + i); s ^= v.x ^ v.y ^ v.z ^ v.w; }
    for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < nb; i += stride) { const uint4 v = tc_ldw(b + i); s ^= v.x ^ v.y ^ v.z ^ v.w; }
    if (s == 0x9e3779b9u) *sink = s;   // never in practice: keeps the loads
}

// W2 [H][I] -> slabs [I / R][H][R] (16 bytes a thread)
__global__ void to_slabs(signed char *t, const signed char *w, long I)
{
    const long n = (long)H * I / 16;
    for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x) {
        const long e = i * 16, j = e / I, k = e % I;   // row j, column k (a multiple of 16)
        *reinterpret_cast<uint4 *>(t + (k / R) * H * R + j * R + k % R) = *reinterpret_cast<const uint4 *>(w + e);
    }
}

// ---- host ---------------------------------------------------------------------------------------------------------
static bool g_p1;      // `p1`: GEMM 1 alone (phase 1 of the two-kernel form) against W1's read stream (72nd session)
static bool g_quick;   // `quick`: only the forms still in the running (RESULTS, forty-eighth session)
static float h2f(__half v) { return __half2float(v); }
static float rnd16(double v) { return __half2float(__float2half_rn((float)v)); }

// WK 0: int8 codes with a scale a row (every kernel); 1: fp8 e4m3 codes (|w| <= 15) with a scale a row, 2: f16
// weights, scales one (these two: the tensor-core kernels only)
template <int TT, bool GATED, int WK = 0>
static int run(const char *name, long I)
{
    constexpr int WB = tc_wk<WK>::WB;
    const long N1 = GATED ? 2 * I : I;
    blk p;
    __half *x, *g, *be, *b1, *b2, *y, *hbuf;
    signed char *w1, *w2;   // WB bytes an element
    float *s1, *s2, *acc, *tacc;
    unsigned *count, *sink;
    CK(cudaMalloc(&x, TT * H * 2)); CK(cudaMalloc(&g, H * 2)); CK(cudaMalloc(&be, H * 2));
    CK(cudaMalloc(&b1, N1 * 2)); CK(cudaMalloc(&b2, H * 2)); CK(cudaMalloc(&y, TT * H * 2)); CK(cudaMalloc(&hbuf, TT * I * 2));
    CK(cudaMalloc(&w1, N1 * H * WB)); CK(cudaMalloc(&w2, (long)H * I * WB));
    CK(cudaMalloc(&s1, N1 * 4)); CK(cudaMalloc(&s2, H * 4)); CK(cudaMalloc(&acc, TT * H * 4)); CK(cudaMalloc(&tacc, 16 * H * 4));
    CK(cudaMalloc(&count, 4)); CK(cudaMalloc(&sink, 4));
    CK(cudaMemset(acc, 0, TT * H * 4)); CK(cudaMemset(tacc, 0, 16 * H * 4)); CK(cudaMemset(count, 0, 4));
    fill_h<<<256, 256>>>(x, TT * H, 11 + TT, 1.0f); fill_h<<<64, 256>>>(g, H, 12, 0.25f); fill_h<<<64, 256>>>(be, H, 13, 0.1f);
    fill_h<<<256, 256>>>(b1, N1, 14, 0.5f); fill_h<<<64, 256>>>(b2, H, 15, 0.5f);
    if (WK == 0) {
        fill_i8<<<1024, 256>>>(w1, N1 * H, 16); fill_i8<<<1024, 256>>>(w2, (long)H * I, 17);
        fill_f<<<256, 256>>>(s1, N1, 2e-4f); fill_f<<<64, 256>>>(s2, H, 1e-4f);
    } else if (WK == 1) {   // scales 20x int8's: these codes are ~20x smaller (the W2 terms stay near 1)
        fill_fp8<<<1024, 256>>>(w1, N1 * H, 16); fill_fp8<<<1024, 256>>>(w2, (long)H * I, 17);
        fill_f<<<256, 256>>>(s1, N1, 4e-3f); fill_f<<<64, 256>>>(s2, H, 2e-3f);
    } else {
        fill_h<<<1024, 256>>>((__half *)w1, N1 * H, 16, 0.03f); fill_h<<<1024, 256>>>((__half *)w2, (long)H * I, 17, 0.015f);
        std::vector<float> ones(N1, 1.0f);
        CK(cudaMemcpy(s1, ones.data(), N1 * 4, cudaMemcpyHostToDevice)); CK(cudaMemcpy(s2, ones.data(), H * 4, cudaMemcpyHostToDevice));
    }
    CK(cudaDeviceSynchronize());
    // gamma around 1: g = 1 + U[-0.25, 0.25]
    {
        std::vector<__half> hg(H);
        CK(cudaMemcpy(hg.data(), g, H * 2, cudaMemcpyDeviceToHost));
        for (auto &v : hg) v = __float2half_rn(1.0f + h2f(v));
        CK(cudaMemcpy(g, hg.data(), H * 2, cudaMemcpyHostToDevice));
    }
    signed char *w2t;
    CK(cudaMalloc(&w2t, (long)H * I));
    if (WK == 0) to_slabs<<<1024, 256>>>(w2t, w2, I);
    CK(cudaDeviceSynchronize());
    p.w2t = w2t;
    p.x = x, p.g = g, p.be = be, p.b1 = b1, p.b2 = b2, p.w1 = w1, p.w2 = w2, p.s1 = s1, p.s2 = s2, p.I = I;
    const int nb = (int)(I / R);
    cudaStream_t st;
    CK(cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking));

    // reference (double; h rounded to f16 as the kernels store it)
    std::vector<__half> hx(TT * H), hgm(H), hbe(H), hb1(N1), hb2(H);
    std::vector<signed char> hw1(N1 * H * WB), hw2((long)H * I * WB);   // as stored
    std::vector<float> hs1(N1), hs2(H), fw1(N1 * H), fw2((long)H * I);  // fw: the weights' values
    CK(cudaMemcpy(hx.data(), x, TT * H * 2, cudaMemcpyDeviceToHost)); CK(cudaMemcpy(hgm.data(), g, H * 2, cudaMemcpyDeviceToHost));
    CK(cudaMemcpy(hbe.data(), be, H * 2, cudaMemcpyDeviceToHost)); CK(cudaMemcpy(hb1.data(), b1, N1 * 2, cudaMemcpyDeviceToHost));
    CK(cudaMemcpy(hb2.data(), b2, H * 2, cudaMemcpyDeviceToHost));
    CK(cudaMemcpy(hw1.data(), w1, N1 * H * WB, cudaMemcpyDeviceToHost)); CK(cudaMemcpy(hw2.data(), w2, (long)H * I * WB, cudaMemcpyDeviceToHost));
    auto value = [&](const std::vector<signed char> &m, long e) -> float {
        if (WK == 0) return m[e];
        if (WK == 1) {
            __nv_fp8_e4m3 v;
            v.__x = (__nv_fp8_storage_t)m[e];
            return (float)v;
        }
        return h2f(reinterpret_cast<const __half *>(m.data())[e]);
    };
    for (long e = 0; e < N1 * H; e++) fw1[e] = value(hw1, e);
    for (long e = 0; e < (long)H * I; e++) fw2[e] = value(hw2, e);
    CK(cudaMemcpy(hs1.data(), s1, N1 * 4, cudaMemcpyDeviceToHost)); CK(cudaMemcpy(hs2.data(), s2, H * 4, cudaMemcpyDeviceToHost));
    std::vector<double> ref(TT * H);
    double refmag = 0.0;
    for (int t = 0; t < TT; t++) {
        double s = 0, q = 0;
        for (int c = 0; c < H; c++) s += h2f(hx[t * H + c]), q += (double)h2f(hx[t * H + c]) * h2f(hx[t * H + c]);
        const double mean = GATED ? 0.0 : s / H, var = GATED ? q / H : q / H - mean * mean, rstd = 1.0 / std::sqrt(var + 1e-5);
        std::vector<double> xn(H), hh(I);
        for (int c = 0; c < H; c++) xn[c] = rnd16((h2f(hx[t * H + c]) - mean) * rstd * h2f(hgm[c]) + (GATED ? 0.0 : h2f(hbe[c])));
#pragma omp parallel for schedule(static)   // the host's cores: device time is what the reference would cost
        for (long r = 0; r < I; r++) {
            double a = 0, gs = 0;
            for (int c = 0; c < H; c++) a += fw1[r * H + c] * xn[c];
            if (GATED) {
                for (int c = 0; c < H; c++) gs += fw1[(I + r) * H + c] * xn[c];
                const double gv = gs * hs1[I + r];
                hh[r] = rnd16(a * hs1[r] * gv / (1.0 + std::exp(-gv)));
            } else {
                const double v = a * hs1[r] + h2f(hb1[r]);
                hh[r] = rnd16(0.5 * v * (1.0 + std::tanh(0.7978845608 * (v + 0.044715 * v * v * v))));
            }
        }
        std::vector<double> term(H);
#pragma omp parallel for schedule(static)
        for (int j = 0; j < H; j++) {
            double a = 0;
            for (long r = 0; r < I; r++) a += fw2[(long)j * I + r] * hh[r];
            term[j] = a * hs2[j];
            ref[t * H + j] = a * hs2[j] + (GATED ? 0.0 : h2f(hb2[j])) + h2f(hx[t * H + j]);
        }
        for (int j = 0; j < H; j++) refmag = std::max(refmag, std::fabs(term[j]));
    }
    auto check = [&]() {
        std::vector<__half> out(TT * H);
        CK(cudaMemcpy(out.data(), y, TT * H * 2, cudaMemcpyDeviceToHost));
        double worst = 0;
        for (int e = 0; e < TT * H; e++) worst = std::max(worst, std::fabs(h2f(out[e]) - ref[e]));
        return worst / refmag;   // relative to the largest |W2 h| term
    };
    auto poison = [&]() { CK(cudaMemset(y, 0xff, TT * H * 2)); };

    const double bytes = ((double)N1 * H + (double)H * I) * WB;
    auto e_read = [&](cudaStream_t s) {
        read_stream<<<132 * 4, 512, 0, s>>>((const uint4 *)w1, N1 * H * WB / 16, (const uint4 *)w2, (long)H * I * WB / 16, sink);
    };
    int errors = 0;
    // checked twice (the second run finds the accumulator and counters as the first left them) and once more after
    // its timing; a probe (wrong results by design) is timed only
    auto row = [&](const char *what, auto enqueue, bool checked, float tr) {
        double err = 0.0;
        auto checked_run = [&]() {
            poison();
            enqueue(st);
            CK(cudaStreamSynchronize(st));
            err = std::max(err, check());
        };
        if (checked) checked_run(), checked_run();
        const float t0 = time_graph(st, enqueue), t1 = time_graph(st, enqueue);
        if (checked) checked_run();
        printf("| %s | %d | %s | %.1f / %.1f us | %.2fx read | %.2f TB/s | %s |\n", name, TT, what, t0, t1, std::min(t0, t1) / tr,
               bytes / std::min(t0, t1) * 1e-6, checked ? (err > 4e-3 ? "ERROR" : "ok") : "probe");
        if (checked && err > 4e-3) printf("  ERROR: %s T = %d %s: relative error %.2e\n", name, TT, what, err), errors++;
    };
    const float tr = time_graph(st, e_read);
    printf("| %s | %d | read stream (%.1f MB) | %.1f us | 1.00x | %.2f TB/s | |\n", name, TT, bytes / 1e6, tr, bytes / tr * 1e-6);
    if constexpr (TT <= 4 && WK == 0) if (!g_p1) {   // the f16-pair kernels on codes (their x / h in static shared memory: 48 KiB)
        row("fused, scalar reds", [&](cudaStream_t s) { fused<TT, GATED, 0><<<nb, THREADS, 0, s>>>(p, y, acc, count); }, true, tr);
        row("fused, v4 reds", [&](cudaStream_t s) { fused<TT, GATED, 1><<<nb, THREADS, 0, s>>>(p, y, acc, count); }, true, tr);
        row("fused, v4 reds, W2 slabs", [&](cudaStream_t s) { fused<TT, GATED, 1, true><<<nb, THREADS, 0, s>>>(p, y, acc, count); }, true, tr);
        row("fused, no reds (probe)", [&](cudaStream_t s) { fused<TT, GATED, 2><<<nb, THREADS, 0, s>>>(p, y, acc, count); }, false, tr);
        row("two kernels", [&](cudaStream_t s) {
            two1<TT, GATED><<<nb, THREADS, 0, s>>>(p, hbuf);
            two2<TT, GATED><<<H / 16, THREADS, 0, s>>>(p, hbuf, y);
        }, true, tr);
    }
    {   // fused_tc.cuh: the tensor cores, 8 or 16 token columns (T = 1 too: can one kernel serve T = 1..16?)
        constexpr int NT = TT <= 8 ? 8 : 16;
        constexpr size_t SM = tc_shape<H, NT>::SMEM;
        std::vector<signed char> f1(N1 * H * WB), f2((long)H * I * WB), f2r((long)H * I * WB);
        tc_frag(f1.data(), hw1.data(), N1, H, false, WB);
        tc_frag(f2.data(), hw2.data(), H, I, true, WB);
        tc_frag(f2r.data(), hw2.data(), H, I, false, WB);
        signed char *w1f, *w2f, *w2r;
        unsigned *cnt;
        unsigned long long *epoch;
        __half *hg;
        CK(cudaMalloc(&w1f, N1 * H * WB)); CK(cudaMalloc(&w2f, (long)H * I * WB)); CK(cudaMalloc(&cnt, 64 * 4));
        CK(cudaMalloc(&w2r, (long)H * I * WB)); CK(cudaMalloc(&epoch, 8)); CK(cudaMalloc(&hg, (long)NT * I * 2));
        CK(cudaMemcpy(w1f, f1.data(), N1 * H * WB, cudaMemcpyHostToDevice));
        CK(cudaMemcpy(w2f, f2.data(), (long)H * I * WB, cudaMemcpyHostToDevice));
        CK(cudaMemcpy(w2r, f2r.data(), (long)H * I * WB, cudaMemcpyHostToDevice));
        CK(cudaMemset(cnt, 0, 64 * 4)); CK(cudaMemset(epoch, 0, 8));
        tc_blk q;
        q.x = x, q.g = g, q.be = be, q.b1 = b1, q.b2 = b2, q.w1 = w1, q.w2 = w2, q.s1 = s1, q.s2 = s2, q.y = y, q.acc = tacc,
        q.count = cnt, q.I = I, q.T = TT, q.w2r = w2r, q.hg = hg, q.epoch = epoch;
        tc_blk qf = q;
        qf.w1 = w1f, qf.w2 = w2f;
        if (g_p1) {   // GEMM 1 alone: the norm, W1 in fragment order on mma.sync, the activation, h to global
            auto k1 = tc_phase1<H, NT, GATED, WK>;
            CK(cudaFuncSetAttribute(k1, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)SM));
            const double b1 = (double)N1 * H * WB;
            auto e_read1 = [&](cudaStream_t s) {
                read_stream<<<132 * 4, 512, 0, s>>>((const uint4 *)w1, N1 * H * WB / 16, (const uint4 *)w1, 0, sink);
            };
            const float r0 = time_graph(st, e_read1), r1 = time_graph(st, e_read1);
            auto e_p1 = [&](cudaStream_t s) { k1<<<nb, TC_THREADS, SM, s>>>(qf); };
            const float p0 = time_graph(st, e_p1), p1 = time_graph(st, e_p1);
            printf("| %s | %d | W1 read stream %.1f / %.1f us (%.2f TB/s) | phase 1 alone (%d blocks of %d) %.1f / %.1f us (%.2f TB/s) | %.2fx read |\n", name, TT,
                   r0, r1, b1 / std::min(r0, r1) * 1e-6, nb, TC_THREADS, p0, p1, b1 / std::min(p0, p1) * 1e-6, std::min(p0, p1) / std::min(r0, r1));
            return errors;
        }
        // one form: fused_tc<RED, FRAG> (as integral constants), its shared memory allowed, timed as a row
        auto form = [&](auto red, auto frag, const char *label, bool checked) {
            constexpr int RD = decltype(red)::value;
            constexpr bool FR = decltype(frag)::value;
            auto kernel = fused_tc<H, NT, GATED, RD, FR, WK>;
            CK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)SM));
            char what[80];
            snprintf(what, sizeof what, "tensor cores (%d%s", NT, label);
            const tc_blk &arg = FR ? qf : q;
            row(what, [&](cudaStream_t s) { kernel<<<nb, TC_THREADS, SM, s>>>(arg); }, checked, tr);
            // a probe leaves its sums (RED 5: 306 replays' worth) and counts behind: the next form starts from zero
            if (!checked) {
                CK(cudaMemset(tacc, 0, 16 * H * 4));
                CK(cudaMemset(cnt, 0, 64 * 4));
            }
        };
        using std::integral_constant;
        using stored = integral_constant<bool, false>;
        using frag = integral_constant<bool, true>;
        if (!g_quick) {
            form(integral_constant<int, 0>(), stored(), " columns)", true);
            form(integral_constant<int, 0>(), frag(), "), fragment order", true);
            form(integral_constant<int, 2>(), frag(), "), fragment order, v4 reds", true);
            form(integral_constant<int, 3>(), frag(), "), fragment order, one count at the end", true);
            form(integral_constant<int, 4>(), frag(), "), fragment order, chunk counts, no reds (probe)", false);
            form(integral_constant<int, 5>(), frag(), "), fragment order, reds, no counts (probe)", false);
        }
        form(integral_constant<int, 1>(), frag(), "), fragment order, no reds (probe)", false);
        // a grid-barrier form timed and checked: the barrier's counter targets the next multiple of the grid, so every
        // form starts it from zero (a form with another grid size (2 units a block: 128) must not inherit an odd count
        // of the last one's: the forty-eighth session's third call hung there)
        auto barrier_row = [&](const char *what, auto enqueue) {
            CK(cudaMemset(epoch, 0, 8));
            row(what, enqueue, true, tr);
        };
        // a grid-barrier kernel's shared memory allowed; its blocks a SM and the SMs (all must be resident)
        auto resident = [&](auto kernel, int &per, int &sms) {
            CK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)SM));
            CK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per, kernel, TC_THREADS, SM));
            CK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0));
        };
        // RED 6 / 7: phase 2 by W2 rows after a grid barrier (every block resident; grid I / 64 = H / 16)
        auto rows = [&](auto red, const char *label) {
            constexpr int RD = decltype(red)::value;
            if constexpr (NT == 8) {
                auto kernel = fused_tc_rows<H, NT, GATED, RD, WK>;
                int per = 0, sms = 0;
                resident(kernel, per, sms);
                if (nb != H / 16 || per * sms < nb) {
                    printf("| %s | %d | tensor cores (8), %s | skipped: grid %d, H / 16 = %d, resident %d x %d | | | |\n", name, TT, label, nb, H / 16, per, sms);
                    return;
                }
                char what[96];
                snprintf(what, sizeof what, "tensor cores (8), %s", label);
                barrier_row(what, [&](cudaStream_t s) { kernel<<<nb, TC_THREADS, SM, s>>>(qf); });
            }
        };
        // RED 8: any I; the accumulator tacc ([H][16] floats) as [H][8] here; fragment order or both weights as stored
        auto line = [&](auto frag, const char *label) {
            constexpr bool FR = decltype(frag)::value;
            if constexpr (NT == 8) {
                auto kernel = fused_tc_line<H, NT, GATED, WK, FR>;
                int per = 0, sms = 0;
                resident(kernel, per, sms);
                if (per * sms < nb)
                    printf("| %s | %d | tensor cores (8), %s | skipped: grid %d, resident %d x %d | | | |\n", name, TT, label, nb, per, sms);
                else
                    barrier_row(label, [&](cudaStream_t s) { kernel<<<nb, TC_THREADS, SM, s>>>(FR ? qf : q); });
            }
        };
        // RED 10-12: phase 2 by clusters of CL blocks (grid I / 64; every cluster resident at once)
        // UN = 2: two units of h columns a block, one block a SM (grid I / 128), twice the steps in flight
        // NH = 2: h staged in two k chunks (clusters of 2 at two blocks a SM)
        auto clusters = [&](auto cl, auto pf, auto un, auto fr, auto nh) {
            constexpr int CL = decltype(cl)::value, UN = decltype(un)::value, NH = decltype(nh)::value;
            constexpr bool PF = decltype(pf)::value, FR = decltype(fr)::value;
            if constexpr (NT == 8 || UN == 2) {
                const int nb = (int)(I / 64 / UN);
                char what[128];
                snprintf(what, sizeof what, "tensor cores (%d)%s, %sclusters of %d after a grid barrier%s", NT, FR ? "" : " as stored", UN > 1 ? "2 units a block, " : NH > 1 ? "h in 2 chunks, " : "", CL, PF ? ", 64 KB L2 prefetch" : "");
                if (tc_cl_unfit<H, CL, WK, UN, NH>(I, nb)) {
                    printf("| %s | %d | %s | skipped: grid %d, I %ld do not fit | | | |\n", name, TT, what, nb, I);
                    return;
                }
                auto kernel = fused_tc_cluster<H, NT, GATED, CL, PF, WK, UN, FR, NH>;
                const size_t sm = std::max(SM, tc_cl_smem<H, NT, CL, NH>(I, nb));
                int optin = 0;
                CK(cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, 0));
                if (sm > (size_t)optin) {
                    printf("| %s | %d | %s | skipped: %zu bytes of shared memory, %d allowed | | | |\n", name, TT, what, sm, optin);
                    return;
                }
                CK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)sm));
                cudaLaunchAttribute at[1];
                at[0].id = cudaLaunchAttributeClusterDimension;
                at[0].val.clusterDim.x = CL, at[0].val.clusterDim.y = 1, at[0].val.clusterDim.z = 1;
                cudaLaunchConfig_t cf = {};
                cf.gridDim = dim3(nb), cf.blockDim = dim3(TC_THREADS), cf.dynamicSmemBytes = sm, cf.attrs = at, cf.numAttrs = 1;
                int ncl = 0;
                CK(cudaOccupancyMaxActiveClusters(&ncl, kernel, &cf));
                if (ncl * CL < nb) {
                    printf("| %s | %d | %s | skipped: %d clusters resident, %d needed | | | |\n", name, TT, what, ncl, nb / CL);
                    return;
                }
                barrier_row(what, [&](cudaStream_t s) {
                    cudaLaunchConfig_t c = cf;
                    c.stream = s;
                    CK(cudaLaunchKernelEx(&c, kernel, FR ? qf : q));
                });
            }
        };
        if constexpr (NT == 8) if (!g_quick) {   // RED 9: two kernels chained by PDL (phase 2 by rows: grid H / 16, any I)
            auto k1 = tc_phase1<H, NT, GATED, WK>;
            auto k2 = tc_phase2<H, NT, GATED, WK>;
            CK(cudaFuncSetAttribute(k1, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)SM));
            const size_t sm2 = 8 * 32 * 4 * 4;
            row("tensor cores (8), two kernels chained by PDL", [&](cudaStream_t s) {
                cudaLaunchAttribute at[1];
                at[0].id = cudaLaunchAttributeProgrammaticStreamSerialization, at[0].val.programmaticStreamSerializationAllowed = 1;
                cudaLaunchConfig_t c1 = {}, c2 = {};
                c1.gridDim = dim3(nb), c1.blockDim = dim3(TC_THREADS), c1.dynamicSmemBytes = SM, c1.stream = s, c1.attrs = at, c1.numAttrs = 1;
                c2.gridDim = dim3(H / 16), c2.blockDim = dim3(TC_THREADS), c2.dynamicSmemBytes = sm2, c2.stream = s, c2.attrs = at, c2.numAttrs = 1;
                CK(cudaLaunchKernelEx(&c1, k1, qf));
                CK(cudaLaunchKernelEx(&c2, k2, qf));
            }, true, tr);
        }
        if (!g_quick) {
            line(frag(), "tensor cores (8), a line of W2 steps, two barriers");
            line(stored(), "tensor cores (8) as stored, a line of W2 steps, two barriers");
            rows(integral_constant<int, 6>(), "rows after a grid barrier");
        }
        rows(integral_constant<int, 7>(), "rows after a grid barrier, 64 KB L2 prefetch");
        using yes = integral_constant<bool, true>;
        using no = integral_constant<bool, false>;
        using one = integral_constant<int, 1>;
        using two = integral_constant<int, 2>;
        // (the H100's GPCs hold 62 clusters of 4 and 30 of 8 at two blocks a SM, 66 of 2 at one: 128 blocks of 2 units
        // in clusters of 2 is what fits GELU-4096's 256 row groups; forty-eighth session)
        // (2 units a block in clusters of 2 fit and lost: 71.9 vs rows 51.7 us at T = 1, H100; h in 2 chunks keeps two
        // blocks a SM)
        clusters(integral_constant<int, 2>(), no(), one(), frag(), two());
        clusters(integral_constant<int, 2>(), yes(), one(), frag(), two());
        clusters(integral_constant<int, 2>(), no(), two(), frag(), one());
        clusters(integral_constant<int, 2>(), no(), one(), stored(), two());   // what the repacked copy is worth
        cudaFree(w1f), cudaFree(w2f), cudaFree(cnt), cudaFree(w2r), cudaFree(epoch), cudaFree(hg);
    }
    cudaFree(x), cudaFree(g), cudaFree(be), cudaFree(b1), cudaFree(b2), cudaFree(y), cudaFree(hbuf), cudaFree(w1), cudaFree(w2);
    cudaFree(w2t), cudaFree(s1), cudaFree(s2), cudaFree(acc), cudaFree(tacc), cudaFree(count), cudaFree(sink);
    cudaStreamDestroy(st);
    return errors;
}

int main(int argc, char **argv)
{
    const bool quick = argc > 1 && !strcmp(argv[1], "quick");   // a few blocks: the tensor-core forms' costs
    g_quick = quick;
    g_p1 = argc > 1 && !strcmp(argv[1], "p1");
    setvbuf(stdout, nullptr, _IOLBF, 0);   // each row reaches the log as it is printed (a hung form still leaves the rest)
    cudaDeviceProp pr;
    CK(cudaGetDeviceProperties(&pr, 0));
    printf("%s, %d SMs\n", pr.name, pr.multiProcessorCount);
    proto_init();
    printf("| block | T | kernel | us (two timings) | x read | weights TB/s | check |\n|---|---|---|---|---|---|---|\n");
    int errors = 0;
    if (g_p1) {   // `p1 [N]`: all rows, or only the N-th (1-based: for ncu)
        const int only = argc > 2 ? atoi(argv[2]) : 0;
        if (!only || only == 1) errors += run<3, false>("GELU-4096 int8", 16384);
        if (!only || only == 2) errors += run<8, false>("GELU-4096 int8", 16384);
        if (!only || only == 3) errors += run<16, false>("GELU-4096 int8", 16384);
        if (!only || only == 4) errors += run<8, true>("SwiGLU-4096 int8", 14336);
        if (!only || only == 5) errors += run<8, false, 1>("GELU-4096 fp8", 16384);
        if (!only || only == 6) errors += run<8, false, 2>("GELU-4096 f16", 16384);
        return 0;
    }
    if (quick) {
        errors += run<1, false>("GELU-4096 int8", 16384);
        errors += run<8, false>("GELU-4096 int8", 16384);
        errors += run<8, true>("SwiGLU-4096 int8", 14336);
        errors += run<16, false>("GELU-4096 int8", 16384);
        errors += run<8, false, 2>("GELU-4096 f16", 16384);
        printf("%d errors\n", errors);
        return errors != 0;
    }
    errors += run<1, false>("GELU-4096 int8", 16384);
    errors += run<1, true>("SwiGLU-4096 int8", 14336);
    errors += run<2, false>("GELU-4096 int8", 16384);
    errors += run<2, true>("SwiGLU-4096 int8", 14336);
    errors += run<4, false>("GELU-4096 int8", 16384);
    errors += run<8, false>("GELU-4096 int8", 16384);
    errors += run<8, true>("SwiGLU-4096 int8", 14336);
    errors += run<16, false>("GELU-4096 int8", 16384);
    errors += run<16, true>("SwiGLU-4096 int8", 14336);
    // f16 weights on the same tensor-core kernel (issue 9's blocks; SwiGLU with f16 for bf16: the same bytes)
    // fp8 e4m3 codes on the tensor-core kernel (sm_89's pair conversion)
    errors += run<1, true, 1>("SwiGLU-4096 fp8", 14336);
    errors += run<2, true, 1>("SwiGLU-4096 fp8", 14336);
    errors += run<8, false, 1>("GELU-4096 fp8", 16384);
    errors += run<16, true, 1>("SwiGLU-4096 fp8", 14336);
    errors += run<1, false, 2>("GELU-4096 f16", 16384);
    errors += run<1, true, 2>("SwiGLU-4096 f16", 14336);
    errors += run<2, false, 2>("GELU-4096 f16", 16384);
    errors += run<2, true, 2>("SwiGLU-4096 f16", 14336);
    errors += run<8, false, 2>("GELU-4096 f16", 16384);
    errors += run<8, true, 2>("SwiGLU-4096 f16", 14336);
    errors += run<16, false, 2>("GELU-4096 f16", 16384);
    errors += run<16, true, 2>("SwiGLU-4096 f16", 14336);
    printf("%d errors\n", errors);
    return errors != 0;
}
