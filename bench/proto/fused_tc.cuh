// fused_tc.cuh — measurement only (not part of dsmlp): fused_decode.cu's one-kernel decode block on the tensor
// cores, for T up to 8 or 16 token columns (T = 1 included), on int8 or fp8 e4m3 codes or f16 weights. Past T = 1 the
// f16 pairs are issue-bound (bench/RESULTS.md, forty-third session: ~33 + 14 (T - 1) instructions a 16-byte load
// against ~128 issue slots), and the GEMV on codes lost to the mixed kernels because every block of its second GEMV
// staged all of h (T x I) from L2. Here no block stages h: block b makes h columns 64b .. 64b + 63 (GEMM 1 over all
// of H, x normalized once a block, a warp a token) and multiplies them at once by W2's matching k slab (GEMM 2),
// adding its partial sums into an fp32 accumulator with vector reductions.
//
// The MMAs (m16n8k16, f16 in, f32 sums): the weights are A (16 rows), the tokens B (8 or 16 columns). A lane's
// 16-byte load holds 16 codes of one row at k = 16c .. 16c + 15 of a 64-k step (c = lane % 4; f16: two loads, k =
// 32P + 8c .. + 7); MMA j of the step takes four of the lane's k's (tc_koff) as the fragment's k slots (2c, 2c + 1,
// 2c + 8, 2c + 9), and B reads x at the same k's: one 8-byte shared load a lane and MMA, token rows 40 bytes apart
// (mod 128) so that a half-warp meets every bank once. Codes become f16 exactly: int8 biased by 128 as the low byte
// of 1024 (a byte permute), less 1152 (HSUB2); fp8 by sm_89's pair conversion.
//
// The tail: the accumulator's rows come in NCH chunks, each with a counter of the blocks that added into it; the
// block that completes a chunk applies its scales, bias and residual and leaves its sums and counter at zero for
// the next launch. Blocks walk the chunks from different starts, so the chunks complete at different blocks, not
// all at one (a single last block would walk T x H outputs alone: at T = 16, 64 K of them).
//
// Forms: RED 0 the kernel (a v2 reduction a lane, row and 2 tokens), 2 the same with lanes pairing their sums into
// one v4 reduction (half the reduction operations), 3 RED 0's reductions with one count at the end (one fence a
// block; the last block ends every chunk), 1 a probe without reductions or tails, 4 a probe with the chunk counts and
// tails but no reductions, 5 a probe with the reductions but no counts or tails (1, 4 and 5: wrong results; what the
// reductions and the chunks' fences cost); 6-9 no cross-block reductions at all (phase 1 writes h to global memory;
// phase 2 after a grid barrier by W2 rows (6; 7 with an L2 prefetch of each block's slab before the barrier), as a
// line of W2 steps with two barriers (8, any I), or as a second kernel chained by PDL (9; see tc_rows), or by
// clusters of 2, 4, 8 blocks splitting W2 row groups' k, their sums through distributed shared memory (10-12; see
// tc_cl_geo); FRAG: the weights stored in fragment order ([16-row group][64-k step] tiles, a warp's load 512 contiguous
// bytes; for W2 [64-k step][16-row group], so that a block's slab is one piece) instead of as stored (a warp's load:
// 8 rows x 64 bytes). The same file compiles on the host under tests/test_plan_sim_shim.h (bench/proto/fused_tc_sim.cc
// checks it there against a double reference).
#pragma once

#ifndef DS_SIM
#include <cuda_fp16.h>
#include <cooperative_groups.h>
#include <cstring>
__device__ __forceinline__ uint4 tc_ldw(const void *p)   // weights: read once, evict-first (as dsmlp's GEMV)
{
    unsigned long long pol;
    asm("createpolicy.fractional.L2::evict_first.b64 %0, 1.0;\n" : "=l"(pol));
    uint4 r;
    asm volatile("ld.global.nc.L1::no_allocate.L2::cache_hint.v4.u32 {%0, %1, %2, %3}, [%4], %5;\n"
                 : "=r"(r.x), "=r"(r.y), "=r"(r.z), "=r"(r.w) : "l"(p), "l"(pol));
    return r;
}
__device__ __forceinline__ void tc_mma(float (&d)[4], const unsigned (&a)[4], unsigned b0, unsigned b1)
{
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
                 "{%0, %1, %2, %3};\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}
__device__ __forceinline__ void tc_red2(float *p, float a, float b)
{
    asm volatile("red.global.add.v2.f32 [%0], {%1, %2};\n" ::"l"(p), "f"(a), "f"(b) : "memory");
}
__device__ __forceinline__ void tc_red4(float *p, float a, float b, float c, float d)
{
    asm volatile("red.global.add.v4.f32 [%0], {%1, %2, %3, %4};\n" ::"l"(p), "f"(a), "f"(b), "f"(c), "f"(d) : "memory");
}
__device__ __forceinline__ float tc_ldcg(const float *p) { return __ldcg(p); }
__device__ __forceinline__ unsigned tc_fp8x2(unsigned short v)   // two e4m3 codes -> an f16 pair, exact (sm_89)
{
    unsigned r;
    asm("{ .reg .b16 t; mov.b16 t, %1; cvt.rn.f16x2.e4m3x2 %0, t; }\n" : "=r"(r) : "h"(v));
    return r;
}
__device__ __forceinline__ uint2 tc_lds8(const __half *p) { return *reinterpret_cast<const uint2 *>(p); }
__device__ __forceinline__ uint4 tc_ld16(const void *p) { return *reinterpret_cast<const uint4 *>(p); }
__device__ __forceinline__ void tc_st8(void *p, uint2 v) { *reinterpret_cast<uint2 *>(p) = v; }
__device__ __forceinline__ uint2 tc_ldh8(const __half *p) { return __ldcg(reinterpret_cast<const uint2 *>(p)); }
__device__ __forceinline__ void tc_pf_l2(const void *p, unsigned bytes)   // a contiguous range into L2 (sm_90 bulk)
{
    asm volatile("cp.async.bulk.prefetch.L2.global [%0], %1;\n" ::"l"(p), "r"(bytes) : "memory");
}
#define TC_SMEM(name) extern __shared__ __align__(16) unsigned char name[]
#else
inline uint4 tc_ldw(const void *p) { return ds_ldw16(p); }
inline void tc_mma(float (&d)[4], const unsigned (&a)[4], unsigned b0, unsigned b1) { ds_sim_mma(d, a, b0, b1, 0); }
inline void tc_red2(float *p, float a, float b) { p[0] += a, p[1] += b; }
inline void tc_red4(float *p, float a, float b, float c, float d)
{
    ds_sim_aligned(p, 16);
    p[0] += a, p[1] += b, p[2] += c, p[3] += d;
}
inline float tc_ldcg(const float *p) { return *p; }
inline uint2 tc_ldh8(const __half *p)
{
    ds_sim_aligned(p, 8);
    uint2 r;
    memcpy(&r, p, 8);
    return r;
}
inline void tc_pf_l2(const void *p, unsigned bytes) { ds_sim_aligned(p, 16), (void)bytes; }
inline unsigned tc_fp8x2(unsigned short v) { return ds_fp8x2_to_h2(v); }
inline uint2 tc_lds8(const __half *p)
{
    ds_sim_aligned(p, 8);
    uint2 r;
    memcpy(&r, p, 8);
    return r;
}
inline uint4 tc_ld16(const void *p)
{
    ds_sim_aligned(p, 16);
    uint4 r;
    memcpy(&r, p, 16);
    return r;
}
inline void tc_st8(void *p, uint2 v)
{
    ds_sim_aligned(p, 8);
    memcpy(p, &v, 8);
}
#define TC_SMEM(name) DS_DYNAMIC_SMEM(name)
#define __noinline__
#endif

struct tc_blk {   // one block's operands
    const __half *x, *g, *be, *b1, *b2;   // x [T][H]; gamma, beta (LayerNorm; RMSNorm: gamma); b1 [I], b2 [H] (GELU)
    const void *w1, *w2;                  // W1 [N1][H] ([up | gate] when gated), W2 [H][I]: int8 or fp8 e4m3 codes,
                                          // or f16 (WK); as stored or in FRAG order
    const float *s1, *s2;                 // a scale a row (f16 weights: ones)
    __half *y;                            // [T][H]
    float *acc;                           // [H][NT], zero
    unsigned *count;                      // [NCH], zero
    const void *w2r;                      // RED 6/7: W2 in row-major fragment tiles ([H / 16][I / 64])
    __half *hg;                           // RED 6/7: h [NT][I] (global: phase 2 reads every block's columns)
    unsigned long long *epoch;            // RED 6/7: the grid barrier's arrivals, grid size a launch, never reset
    long I;
    int T;
};

static const int TC_THREADS = 256, TC_R = 64, TC_CI = 2;   // TC_R: h columns a block; TC_CI: 128-row steps a chunk
// Token rows of x and h 40 bytes (mod 128) apart: the B loads of an MMA (lane g, c at token g, k offset tc_koff)
// meet every bank once a half-warp for int8's offsets (32 c bytes) and f16's (16 c)
template <int HH, int NT> struct tc_shape {
    static constexpr int XLD = HH + 20, HLD = TC_R + 20, NTN = NT / 8, NG = HH / 128, NCH = NG / TC_CI;
    static constexpr size_t SMEM = (size_t)NT * XLD * 2 + (size_t)NT * HLD * 2 + 4 * 32 * NTN * 4 * 4 + 16 * 4 + 16;
};

__device__ __forceinline__ unsigned tc_h2u(__half2 h)
{
    unsigned u;
    memcpy(&u, &h, 4);
    return u;
}
// four int8 codes -> f16 pairs (codes 0, 1) and (2, 3), exact: 1024 + (q + 128), less 1152
__device__ __forceinline__ void tc_cvt(unsigned u, unsigned &lo, unsigned &hi)
{
    const unsigned b = u ^ 0x80808080u;
    const unsigned p0 = __byte_perm(b, 0x64646464u, 0x5140), p1 = __byte_perm(b, 0x64646464u, 0x5342);
    __half2 h0, h1;
    memcpy(&h0, &p0, 4), memcpy(&h1, &p1, 4);
    const __half2 k = __float2half2_rn(1152.0f);
    lo = tc_h2u(__hsub2(h0, k)), hi = tc_h2u(__hsub2(h1, k));
}
// A 64-k step of a lane: rows g and g + 8 (L), WB 16-byte parts a row (P): int8 codes at k = 16 c .. 16 c + 15;
// f16 at k = 32 P + 8 c .. + 7 (a warp's load is 64 contiguous bytes of each of 8 rows either way). MMA j of the step
// takes 4 of the lane's k's as its fragment slots (2c, 2c + 1, 2c + 8, 2c + 9): these, from tc_koff, and B reads x
// there.
template <int WB> __device__ __forceinline__ int tc_koff(int c, int j) { return WB == 1 ? 16 * c + 4 * j : 32 * (j >> 1) + 8 * c + 4 * (j & 1); }
template <int WB> struct tc_step {
    uint4 r[2][WB];
};
template <int WB> __device__ __forceinline__ const char *tc_step_at(const void *w, long row, long ld, long k, int L, int P, int c)
{
    return static_cast<const char *>(w) + ((row + 8 * L) * ld + k) * WB + 64 * P + 16 * c;
}
// A step's loads: from fragment-order tile `tile` (1024 WB bytes: [row L][part P][lane][16 bytes]) or as stored
template <int WB, bool FRAG>
__device__ __forceinline__ void tc_load(tc_step<WB> &st, const void *w, long tile, long row, long ld, long k, int lane, int c)
{
#pragma unroll
    for (int L = 0; L < 2; L++)
#pragma unroll
        for (int P = 0; P < WB; P++)
            st.r[L][P] = tc_ldw(FRAG ? static_cast<const char *>(w) + tile * 1024 * WB + (L * WB + P) * 512 + lane * 16
                                     : tc_step_at<WB>(w, row, ld, k, L, P, c));
}
// The weights' kinds (WK): 0 int8 codes, 1 fp8 e4m3 codes (sm_89's exact pair conversion), 2 f16; bytes an element
template <int WK> struct tc_wk {
    static constexpr int WB = WK == 2 ? 2 : 1;
};
template <int WK> __device__ __forceinline__ void tc_afrag(const tc_step<tc_wk<WK>::WB> &s, int j, unsigned (&a)[4])
{
    constexpr int WB = tc_wk<WK>::WB;
    unsigned w[2][4 * WB];
    memcpy(w[0], s.r[0], 16 * WB), memcpy(w[1], s.r[1], 16 * WB);
    if (WK == 0) {
        tc_cvt(w[0][j], a[0], a[2]), tc_cvt(w[1][j], a[1], a[3]);
    } else if (WK == 1) {
        a[0] = tc_fp8x2((unsigned short)w[0][j]), a[2] = tc_fp8x2((unsigned short)(w[0][j] >> 16));
        a[1] = tc_fp8x2((unsigned short)w[1][j]), a[3] = tc_fp8x2((unsigned short)(w[1][j] >> 16));
    } else {
        const int q = 4 * (j >> 1) + 2 * (j & 1);
        a[0] = w[0][q], a[2] = w[0][q + 1], a[1] = w[1][q], a[3] = w[1][q + 1];
    }
}

// One step's MMAs with B from shared memory (x or h rows ld halves apart, the step's k at xb): d += A B
template <int WK, int NTN>
__device__ __forceinline__ void tc_step_mma(const tc_step<tc_wk<WK>::WB> &cur, const __half *xb, long ld, int c, float (&d)[NTN][4])
{
#pragma unroll
    for (int j = 0; j < 4; j++) {
        unsigned a[4];
        tc_afrag<WK>(cur, j, a);
#pragma unroll
        for (int nt = 0; nt < NTN; nt++) {
            const uint2 b = tc_lds8(xb + 8 * nt * ld + tc_koff<tc_wk<WK>::WB>(c, j));
            tc_mma(d[nt], a, b.x, b.y);
        }
    }
}

__device__ __forceinline__ float tc_wsum(float v)
{
#pragma unroll
    for (int o = 16; o; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
__device__ __forceinline__ float tc_gelu(float v) { return 0.5f * v * (1.0f + tanhf(0.7978845608f * (v + 0.044715f * v * v * v))); }
__device__ __forceinline__ float tc_silu(float v) { return v / (1.0f + expf(-v)); }

// xs[t][:] = norm(x[t][:]) for t < T, zero for T <= t < NT (LayerNorm with gamma, beta; RMSNorm with gamma): the
// block on one token at a time (fused_decode.cu's f16-pair kernels, T <= 4)
template <int HH, int NT, bool RMS>
__device__ __forceinline__ void tc_norm(__half *xs, int xld, const __half *x, const __half *gm, const __half *be, int T, float *red)
{
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    for (int t = 0; t < NT; t++) {
        if (t >= T) {
            for (int c = threadIdx.x; c < HH; c += TC_THREADS) xs[t * xld + c] = __float2half_rn(0.0f);
            continue;
        }
        float v[HH / TC_THREADS], s = 0.0f, q = 0.0f;
#pragma unroll
        for (int i = 0; i < HH / TC_THREADS; i++) {
            v[i] = __half2float(x[t * HH + threadIdx.x + i * TC_THREADS]);
            s += v[i], q += v[i] * v[i];
        }
        s = tc_wsum(s), q = tc_wsum(q);
        if (lane == 0) red[warp] = s, red[8 + warp] = q;
        __syncthreads();
        s = 0.0f, q = 0.0f;
        for (int w = 0; w < TC_THREADS / 32; w++) s += red[w], q += red[8 + w];
        __syncthreads();
        const float mean = RMS ? 0.0f : s / HH, var = RMS ? q / HH : q / HH - mean * mean, rstd = rsqrtf(var + 1e-5f);
#pragma unroll
        for (int i = 0; i < HH / TC_THREADS; i++) {
            const int c = threadIdx.x + i * TC_THREADS;
            const float b = RMS ? 0.0f : __half2float(be[c]);
            xs[t * xld + c] = __float2half_rn((v[i] - mean) * rstd * __half2float(gm[c]) + b);
        }
    }
    __syncthreads();
}

// The same with a warp a token (tokens w, w + 8): no block barrier a token, every warp's loads in flight at once
// (a token at a time costs the block an L2 round trip and two barriers a token: ~1 us each at T = 8..16). Two
// passes over x (the second from L1): sums in groups of 8 16-byte loads, then normalize and store 8 bytes at a time
// (a token row of xs is 8-byte aligned).
template <int HH, int NT, bool RMS>
__device__ __forceinline__ void tc_norm_warps(__half *xs, int xld, const __half *x, const __half *gm, const __half *be, int T)
{
    constexpr int CH = HH / 256, G = CH < 8 ? CH : 8;   // 16-byte chunks (8 halves) a lane; a group's loads together
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    for (int t = warp; t < NT; t += TC_THREADS / 32) {
        __half *row = xs + t * xld;
        if (t >= T) {
            for (int c = lane * 4; c < HH; c += 128) tc_st8(row + c, uint2{0u, 0u});
            continue;
        }
        const __half *xt = x + t * HH;
        float s = 0.0f, q = 0.0f;
        for (int i0 = 0; i0 < CH; i0 += G) {
            uint4 v[G];
#pragma unroll
            for (int i = 0; i < G; i++) v[i] = tc_ld16(xt + ((i0 + i) * 32 + lane) * 8);
#pragma unroll
            for (int i = 0; i < G; i++) {
                __half h[8];
                memcpy(h, &v[i], 16);
#pragma unroll
                for (int e = 0; e < 8; e++) {
                    const float f = __half2float(h[e]);
                    s += f, q += f * f;
                }
            }
        }
        s = tc_wsum(s), q = tc_wsum(q);
        const float mean = RMS ? 0.0f : s / HH, var = RMS ? q / HH : q / HH - mean * mean, rstd = rsqrtf(var + 1e-5f);
        constexpr int G2 = CH < 4 ? CH : 4;   // x (from L1), gamma, beta of G2 chunks loaded before their stores
        for (int i0 = 0; i0 < CH; i0 += G2) {
            uint4 hv[G2], gv[G2], bv[G2];
#pragma unroll
            for (int i = 0; i < G2; i++) {
                const int c = ((i0 + i) * 32 + lane) * 8;
                hv[i] = tc_ld16(xt + c), gv[i] = tc_ld16(gm + c), bv[i] = RMS ? uint4{0u, 0u, 0u, 0u} : tc_ld16(be + c);
            }
#pragma unroll
            for (int i = 0; i < G2; i++) {
                const int c = ((i0 + i) * 32 + lane) * 8;
                __half h[8], gg[8], bb[8], o[8];
                memcpy(h, &hv[i], 16), memcpy(gg, &gv[i], 16), memcpy(bb, &bv[i], 16);
#pragma unroll
                for (int e = 0; e < 8; e++)
                    o[e] = __float2half_rn((__half2float(h[e]) - mean) * rstd * __half2float(gg[e]) + (RMS ? 0.0f : __half2float(bb[e])));
                uint2 lo, hi;
                memcpy(&lo, o, 8), memcpy(&hi, o + 4, 8);
                tc_st8(row + c, lo), tc_st8(row + c + 4, hi);
            }
        }
    }
    __syncthreads();
}

// Chunk ch of the accumulator (rows 128 TC_CI ch ..) is complete: y = acc * s2 + b2 + x there, acc left at zero.
// Every load of a thread's outputs before its first store (one L2 round trip, not one an output).
template <int HH, int NT, bool GATED>
__device__ __noinline__ void tc_tail(const tc_blk &p, int ch)
{
    constexpr int N = 128 * TC_CI * NT, EB = (N + TC_THREADS - 1) / TC_THREADS;
    const long base = (long)ch * N;
    float v[EB];
#pragma unroll
    for (int b = 0; b < EB; b++) {
        const int e = threadIdx.x + b * TC_THREADS;
        const long j = (base + e) / NT;
        const int t = (int)((base + e) % NT);
        v[b] = 0.0f;
        if (e < N && t < p.T)
            v[b] = tc_ldcg(p.acc + base + e) * p.s2[j] + (GATED ? 0.0f : __half2float(p.b2[j])) + __half2float(p.x[t * HH + j]);
    }
#pragma unroll
    for (int b = 0; b < EB; b++) {
        const int e = threadIdx.x + b * TC_THREADS;
        const long j = (base + e) / NT;
        const int t = (int)((base + e) % NT);
        if (e >= N) continue;
        if (t < p.T) p.y[t * HH + j] = __float2half_rn(v[b]);
        p.acc[base + e] = 0.0f;
    }
}

// The block adds itself to *count; true (in every thread) where it is the grid's last. One fence, by the counting
// thread after the barrier (cumulative over the block's reductions, as CUTLASS's semaphore release): the other threads
// go on loading instead of each waiting for its reductions to be acknowledged.
__device__ __forceinline__ bool tc_count_last(unsigned *count, int *flag)
{
    __syncthreads();
    if (threadIdx.x == 0) {
        __threadfence();
        *flag = atomicAdd(count, 1u) == gridDim.x - 1;
        __threadfence();
    }
    __syncthreads();
    return *flag;
}

// UN > 1 (RED >= 6 only): the block makes UN units of TC_R h columns one after another (units UN b .. UN b + UN - 1),
// x normalized once for all of them, the next unit's first weight loads in flight across the hand-over, twice the
// steps in flight a warp (one block a SM: NT = 16's x takes 131 KB)
template <int HH, int NT, bool GATED, int RED, bool FRAG, int WK = 0, int UN = 1>
__device__ __forceinline__ void fused_tc_body(const tc_blk &p, unsigned char *smem)
{
    constexpr int WB = tc_wk<WK>::WB;
    using S = tc_shape<HH, NT>;
    constexpr int XLD = S::XLD, HLD = S::HLD, NTN = S::NTN, NG = S::NG, NCH = S::NCH, U1 = 4 * (UN > 1 ? 2 : 1) / WB, U2 = 4 / WB;
    static_assert(UN == 1 || RED >= 6, "units: phase 2 after a grid barrier only");
    __half *xs = reinterpret_cast<__half *>(smem);   // [NT][XLD]
    __half *hs = xs + NT * XLD;                       // [NT][HLD]
    float *part = reinterpret_cast<float *>(hs + NT * HLD);   // [4 warps][32 lanes][NTN][4]
    int *flag = reinterpret_cast<int *>(part + 4 * 32 * NTN * 4);
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, g = lane >> 2, c = lane & 3;
    long rb = (long)blockIdx.x * UN * TC_R;

    // GEMM 1: warp w's 16 rows and k range. Gated: up rows (w < 4) or gate rows (w >= 4), all of H; otherwise rows
    // 16 (w % 4) .. of the block, half of H each (w / 4)
    constexpr int KW = GATED ? HH : HH / 2, NIT = KW / 64;
    static_assert(NIT % U1 == 0 && NG % U2 == 0 && NG % TC_CI == 0 && HH % TC_THREADS == 0, "shapes");
    auto row0 = [&](long b) { return GATED ? (warp < 4 ? b + 16 * warp : p.I + b + 16 * (warp - 4)) : b + 16 * (warp & 3); };
    long r0 = row0(rb);
    const int kw0 = GATED ? 0 : (warp >> 2) * (HH / 2);
    auto load1 = [&](int it, tc_step<WB> &st) {   // it >= NIT: the next unit's steps
        const long r = it < NIT ? r0 : row0(rb + TC_R), i = it < NIT ? it : it - NIT;
        tc_load<WB, FRAG>(st, p.w1, (r / 16) * (HH / 64) + kw0 / 64 + i, r + g, HH, kw0 + i * 64, lane, c);
    };
    tc_step<WB> raw[U1];
#pragma unroll
    for (int u = 0; u < U1; u++) load1(u, raw[u]);   // before the norm
    tc_norm_warps<HH, NT, GATED>(xs, XLD, p.x, p.g, p.be, p.T);
#pragma unroll 1
    for (int un = 0; un < UN; un++, rb += TC_R, r0 = row0(rb)) {
    float d[NTN][4];
#pragma unroll
    for (int nt = 0; nt < NTN; nt++) d[nt][0] = d[nt][1] = d[nt][2] = d[nt][3] = 0.0f;
#pragma unroll 1
    for (int it0 = 0; it0 < NIT; it0 += U1) {
#pragma unroll
        for (int u = 0; u < U1; u++) {
            const int it = it0 + u;
            const tc_step<WB> cur = raw[u];
            if (it + U1 < NIT || un + 1 < UN) load1(it + U1, raw[u]);
            tc_step_mma<WK, NTN>(cur, xs + g * XLD + kw0 + it * 64, XLD, c, d);
        }
    }

    // GEMM 2's first loads before the hand-over: W2 rows 16 q + g (+ 8) at the block's 64 k, q = w + 8 i' with the
    // 128-row steps i' rotated by whole chunks per block (the chunks complete at different blocks)
    const int rot = (int)(blockIdx.x % NCH) * TC_CI;
    auto load2 = [&](int i, tc_step<WB> &st) {
        const long q = warp + 8L * ((i + rot) % NG);
        tc_load<WB, FRAG>(st, p.w2, (rb / 64) * (HH / 16) + q, 16 * q + g, p.I, rb, lane, c);
    };
    tc_step<WB> raw2[U2];
    if constexpr (RED < 6) {
#pragma unroll
        for (int u = 0; u < U2; u++) load2(u, raw2[u]);
    }

    // warps 4..7 hand their sums to warps 0..3 (gated: the gate's silu(scale x sum); else the second half of H)
    float *pp = part + ((warp & 3) * 32 + lane) * NTN * 4;
    if (warp >= 4)
#pragma unroll
        for (int nt = 0; nt < NTN; nt++)
#pragma unroll
            for (int e = 0; e < 4; e++)
                pp[nt * 4 + e] = GATED ? tc_silu(d[nt][e] * p.s1[r0 + g + 8 * (e >> 1)]) : d[nt][e];
    __syncthreads();
    if (warp < 4)
#pragma unroll
        for (int nt = 0; nt < NTN; nt++)
#pragma unroll
            for (int e = 0; e < 4; e++) {
                const int rl = 16 * warp + g + 8 * (e >> 1), t = 8 * nt + 2 * c + (e & 1);
                const long r = rb + rl;
                const float v = GATED ? d[nt][e] * p.s1[r] * pp[nt * 4 + e]
                                      : tc_gelu((d[nt][e] + pp[nt * 4 + e]) * p.s1[r] + __half2float(p.b1[r]));
                hs[t * HLD + rl] = __float2half_rn(t < p.T ? v : 0.0f);   // padded tokens: zero, add nothing
            }
    __syncthreads();
    if constexpr (RED >= 6) {   // phase 1 ends: the block's 64 h columns to global, 8 bytes a thread
        for (int e = threadIdx.x; e < NT * TC_R / 4; e += TC_THREADS) {
            const int t = e / (TC_R / 4), col = 4 * (e % (TC_R / 4));
            tc_st8(p.hg + t * p.I + rb + col, tc_lds8(hs + t * HLD + col));
        }
        if (un + 1 < UN) {
            __syncthreads();   // hs and the hand-over slots are the next unit's
            continue;
        }
        return;
    }

    // GEMM 2: h's 64 k are B, the same for every W2 row group: 8 NTN registers held for the whole slab
    unsigned hb[4][NTN][2];
#pragma unroll
    for (int j = 0; j < 4; j++)
#pragma unroll
        for (int nt = 0; nt < NTN; nt++) {
            const uint2 b = tc_lds8(hs + (8 * nt + g) * HLD + tc_koff<WB>(c, j));
            hb[j][nt][0] = b.x, hb[j][nt][1] = b.y;
        }
#pragma unroll 1
    for (int i0 = 0; i0 < NG; i0 += U2) {
#pragma unroll
        for (int u = 0; u < U2; u++) {
            const int i = i0 + u;
            const tc_step<WB> cur = raw2[u];
            if (i + U2 < NG) load2(i + U2, raw2[u]);
            float o[NTN][4];
#pragma unroll
            for (int nt = 0; nt < NTN; nt++) o[nt][0] = o[nt][1] = o[nt][2] = o[nt][3] = 0.0f;
#pragma unroll
            for (int j = 0; j < 4; j++) {
                unsigned a[4];
                tc_afrag<WK>(cur, j, a);
#pragma unroll
                for (int nt = 0; nt < NTN; nt++) tc_mma(o[nt], a, hb[j][nt][0], hb[j][nt][1]);
            }
            const long q = warp + 8L * ((i + rot) % NG), j0 = 16 * q + g;
#pragma unroll
            for (int nt = 0; nt < NTN; nt++) {
                const int t = 8 * nt + 2 * c;
                if ((RED == 0 || RED == 3 || RED == 5) && t < p.T) {
                    tc_red2(p.acc + j0 * NT + t, o[nt][0], o[nt][1]);
                    tc_red2(p.acc + (j0 + 8) * NT + t, o[nt][2], o[nt][3]);
                } else if (RED == 2) {   // lanes c, c ^ 1 trade a row's pair: even c adds row g, odd c row g + 8, 4 tokens
                    const bool odd = c & 1;
                    const float r0 = __shfl_xor_sync(0xffffffffu, odd ? o[nt][0] : o[nt][2], 1),
                                r1 = __shfl_xor_sync(0xffffffffu, odd ? o[nt][1] : o[nt][3], 1);
                    const int tb = 8 * nt + 4 * (c >> 1);
                    if (tb < p.T) {
                        if (odd) tc_red4(p.acc + (j0 + 8) * NT + tb, r0, r1, o[nt][2], o[nt][3]);
                        else tc_red4(p.acc + j0 * NT + tb, o[nt][0], o[nt][1], r0, r1);
                    }
                } else if ((RED == 1 || RED == 4) && o[nt][0] == 1.2345e-30f) {   // probes: the MMAs kept, no stores
                    p.acc[j0 * NT + t] = o[nt][1] + o[nt][2] + o[nt][3];
                }
            }
            if ((RED == 0 || RED == 2 || RED == 4) && (i + 1) % TC_CI == 0) {   // a chunk done: count it; its completer ends it
                const int ch = (i + rot) / TC_CI % NCH;
                if (tc_count_last(p.count + ch, flag)) {
                    tc_tail<HH, NT, GATED>(p, ch);
                    if (threadIdx.x == 0) p.count[ch] = 0u;
                }
            }
        }
    }
    if (RED == 3) {   // one count at the end (one fence a block), the last block ending every chunk
        if (tc_count_last(p.count, flag)) {
            for (int ch = 0; ch < NCH; ch++) tc_tail<HH, NT, GATED>(p, ch);
            if (threadIdx.x == 0) p.count[0] = 0u;
        }
    }
    }   // units
}

// RED 6 / 7, phase 2 (after a grid barrier: phase 1 left h in p.hg): block q owns W2 rows 16 q .. 16 q + 15, warp w
// its k steps w NS .. (w + 1) NS - 1 (NS = I / 512) from the row-major fragment tiles p.w2r, so no output has two
// blocks and nothing is reduced across blocks; the warps' sums meet in shared memory and warp 0 writes y. h (B) comes
// from L2, loaded U steps ahead as the weights. tc_rows_first issues the first U steps of weights before the
// barrier (they do not depend on phase 1), and with pf_bytes > 0 prefetches that much more of the warp's slab into L2.
template <int WK, int D = 1> struct tc_rows_u {   // D: twice the steps in flight (one block a SM: T <= 16)
    static constexpr int U = 4 * D / tc_wk<WK>::WB;
};
// FRAG false: W2 as stored ([H][I] rows: step l is rows 16 (l / S) .., k 64 (l % S) ..), no repacked copy
template <int WB, bool FRAG>
__device__ __forceinline__ void tc_line_load(tc_step<WB> &st, const tc_blk &p, long l, int lane)
{
    const long S = p.I / 64;
    if (FRAG) tc_load<WB, true>(st, p.w2r, l, 0, 0, 0, lane, 0);
    else tc_load<WB, false>(st, p.w2, 0, 16 * (l / S) + (lane >> 2), p.I, 64 * (l % S), lane, lane & 3);
}
// a warp's first U steps from l0 (weights only: issued before phase 1's h is there)
template <int WK, bool FRAG>
__device__ __forceinline__ void tc_steps_first(const tc_blk &p, long l0, tc_step<tc_wk<WK>::WB> (&raw)[tc_rows_u<WK>::U])
{
#pragma unroll
    for (int u = 0; u < tc_rows_u<WK>::U; u++) tc_line_load<tc_wk<WK>::WB, FRAG>(raw[u], p, l0 + u, threadIdx.x & 31);
}
template <int WK>
__device__ __forceinline__ void tc_rows_first(const tc_blk &p, long q, tc_step<tc_wk<WK>::WB> (&raw)[tc_rows_u<WK>::U], unsigned pf_bytes)
{
    constexpr int WB = tc_wk<WK>::WB, U = tc_rows_u<WK>::U;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const long NS = p.I / 512, t0 = q * (p.I / 64) + warp * NS;
    tc_steps_first<WK, true>(p, t0, raw);
    const long left = (NS - U) * 1024 * WB;
    if (pf_bytes && lane == 0 && left > 0)
        tc_pf_l2(static_cast<const char *>(p.w2r) + (t0 + U) * 1024 * WB, (unsigned)(left < pf_bytes ? left : pf_bytes));
}
template <int HH, int NT, bool GATED, int WK>
__device__ __forceinline__ void tc_rows(const tc_blk &p, long q, unsigned char *smem, tc_step<tc_wk<WK>::WB> (&raw)[tc_rows_u<WK>::U])
{
    constexpr int WB = tc_wk<WK>::WB, U = tc_rows_u<WK>::U, NTN = NT / 8;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, g = lane >> 2, c = lane & 3;
    const long NS = p.I / 512, t0 = q * (p.I / 64) + warp * NS, k0 = warp * NS * 64;
    auto loadb = [&](long i, uint2 (&b)[4][NTN]) {
#pragma unroll
        for (int j = 0; j < 4; j++)
#pragma unroll
            for (int nt = 0; nt < NTN; nt++) {
                const int t = 8 * nt + g;
                b[j][nt] = t < p.T ? tc_ldh8(p.hg + t * p.I + k0 + i * 64 + tc_koff<WB>(c, j)) : uint2{0u, 0u};
            }
    };
    uint2 hb[U][4][NTN];
#pragma unroll
    for (int u = 0; u < U; u++) loadb(u, hb[u]);
    float o[NTN][4];
#pragma unroll
    for (int nt = 0; nt < NTN; nt++) o[nt][0] = o[nt][1] = o[nt][2] = o[nt][3] = 0.0f;
#pragma unroll 1
    for (long i0 = 0; i0 < NS; i0 += U) {
#pragma unroll
        for (int u = 0; u < U; u++) {
            const long i = i0 + u;
            const tc_step<WB> cur = raw[u];
            uint2 b[4][NTN];
            memcpy(b, hb[u], sizeof b);
            if (i + U < NS) {
                tc_load<WB, true>(raw[u], p.w2r, t0 + i + U, 0, 0, 0, lane, 0);
                loadb(i + U, hb[u]);
            }
#pragma unroll
            for (int j = 0; j < 4; j++) {
                unsigned a[4];
                tc_afrag<WK>(cur, j, a);
#pragma unroll
                for (int nt = 0; nt < NTN; nt++) tc_mma(o[nt], a, b[j][nt].x, b[j][nt].y);
            }
        }
    }
    float *part = reinterpret_cast<float *>(smem);   // [8 warps][32 lanes][NTN][4]
#pragma unroll
    for (int nt = 0; nt < NTN; nt++)
#pragma unroll
        for (int e = 0; e < 4; e++) part[((warp * 32 + lane) * NTN + nt) * 4 + e] = o[nt][e];
    __syncthreads();
    if (warp == 0)
#pragma unroll
        for (int nt = 0; nt < NTN; nt++)
#pragma unroll
            for (int e = 0; e < 4; e++) {
                float v = 0.0f;
                for (int w = 0; w < TC_THREADS / 32; w++) v += part[((w * 32 + lane) * NTN + nt) * 4 + e];
                const long r = 16 * q + g + 8 * (e >> 1);
                const int t = 8 * nt + 2 * c + (e & 1);
                if (t < p.T)
                    p.y[t * HH + r] = __float2half_rn(v * p.s2[r] + (GATED ? 0.0f : __half2float(p.b2[r])) + __half2float(p.x[t * HH + r]));
            }
}

// RED 8, phase 2 for any I (G = I / 64 blocks, S = I / 64 k steps a W2 row group): the row-major tiles are one line
// of H / 16 x S steps and warp u of the grid streams steps NS u .. NS (u + 1) - 1 (NS = H / 128: 8 G warps cover the
// line exactly), a row group's steps contiguous, so a warp's range meets one or two row groups; at each group's end
// it adds its sums into the fp32 accumulator (v2 reductions: ~S / NS warps a group, not G blocks). After a second
// grid barrier tc_line_end writes y and leaves the accumulator at zero.
template <int HH, int NT, int WK, bool FRAG = true>
__device__ __forceinline__ void tc_line_first(const tc_blk &p, tc_step<tc_wk<WK>::WB> (&raw)[tc_rows_u<WK>::U])
{
    tc_steps_first<WK, FRAG>(p, ((long)blockIdx.x * (TC_THREADS / 32) + (threadIdx.x >> 5)) * (HH / 128), raw);
}
template <int HH, int NT, int WK, bool FRAG = true>
__device__ __forceinline__ void tc_line(const tc_blk &p, tc_step<tc_wk<WK>::WB> (&raw)[tc_rows_u<WK>::U])
{
    constexpr int WB = tc_wk<WK>::WB, U = tc_rows_u<WK>::U, NTN = NT / 8, NS = HH / 128;
    static_assert(NS % U == 0, "a warp's steps in whole prefetch rounds");
    const int lane = threadIdx.x & 31, g = lane >> 2, c = lane & 3;
    const long S = p.I / 64, l0 = ((long)blockIdx.x * (TC_THREADS / 32) + (threadIdx.x >> 5)) * NS;
    auto loadb = [&](long l, uint2 (&b)[4][NTN]) {
        const long k = (l % S) * 64;
#pragma unroll
        for (int j = 0; j < 4; j++)
#pragma unroll
            for (int nt = 0; nt < NTN; nt++) {
                const int t = 8 * nt + g;
                b[j][nt] = t < p.T ? tc_ldh8(p.hg + t * p.I + k + tc_koff<WB>(c, j)) : uint2{0u, 0u};
            }
    };
    float o[NTN][4];
    auto flush = [&](long q) {   // rows 16 q + g (+ 8), tokens 8 nt + 2 c (+ 1)
#pragma unroll
        for (int nt = 0; nt < NTN; nt++) {
            const int t = 8 * nt + 2 * c;
            if (t < p.T) {
                tc_red2(p.acc + (16 * q + g) * NT + t, o[nt][0], o[nt][1]);
                tc_red2(p.acc + (16 * q + g + 8) * NT + t, o[nt][2], o[nt][3]);
            }
            o[nt][0] = o[nt][1] = o[nt][2] = o[nt][3] = 0.0f;
        }
    };
    uint2 hb[U][4][NTN];
#pragma unroll
    for (int u = 0; u < U; u++) loadb(l0 + u, hb[u]);
#pragma unroll
    for (int nt = 0; nt < NTN; nt++) o[nt][0] = o[nt][1] = o[nt][2] = o[nt][3] = 0.0f;
#pragma unroll 1
    for (int i0 = 0; i0 < NS; i0 += U) {
#pragma unroll
        for (int u = 0; u < U; u++) {
            const int i = i0 + u;
            const long l = l0 + i;
            if (i > 0 && l % S == 0) flush(l / S - 1);   // the warp's range crosses into the next row group
            const tc_step<WB> cur = raw[u];
            uint2 b[4][NTN];
            memcpy(b, hb[u], sizeof b);
            if (i + U < NS) {
                tc_line_load<WB, FRAG>(raw[u], p, l + U, lane);
                loadb(l + U, hb[u]);
            }
#pragma unroll
            for (int j = 0; j < 4; j++) {
                unsigned a[4];
                tc_afrag<WK>(cur, j, a);
#pragma unroll
                for (int nt = 0; nt < NTN; nt++) tc_mma(o[nt], a, b[j][nt].x, b[j][nt].y);
            }
        }
    }
    flush((l0 + NS - 1) / S);
}
// after the second barrier: y = acc s2 + b2 + x, a thread an output (grid-strided), acc back to zero
template <int HH, int NT, bool GATED>
__device__ __forceinline__ void tc_line_end(const tc_blk &p)
{
    for (long e = (long)blockIdx.x * TC_THREADS + threadIdx.x; e < (long)HH * NT; e += (long)gridDim.x * TC_THREADS) {
        const long r = e / NT;
        const int t = (int)(e % NT);
        if (t < p.T)
            p.y[t * HH + r] = __float2half_rn(tc_ldcg(p.acc + e) * p.s2[r] + (GATED ? 0.0f : __half2float(p.b2[r])) + __half2float(p.x[t * HH + r]));
        p.acc[e] = 0.0f;
    }
}

// RED 10 / 11 / 12, phase 2 by clusters of CL = 2, 4, 8 blocks (after the grid barrier; grid G = I / 64 as phase 1):
// cluster cc owns RG = (H / 16) / (G / CL) W2 row groups and its block of rank r their k range r KR .. (r + 1) KR
// (KR = I / CL), so a block reads 1 / CL of h (staged once in shared memory: every warp's B from there), not all of
// it as by rows (RED 6: 256 blocks x T x I at T = 8 is 64 MB of L2 reads). The block's RG x KS steps (KS = KR / 64),
// row group first, go to the warps in equal runs (NS = RG KS / 8, a whole number of row groups or a share of one);
// a warp's sums for a row group go to its part slot in shared memory, and after a cluster barrier block r ends row
// groups r, r + CL, ... adding every block's slots in rank order through distributed shared memory (no global
// reductions); a second cluster barrier keeps each block's shared memory until its peers have read it.
// NH > 1: h staged in NH k chunks one after another (NT x KR / NH halves of shared memory: clusters of 2 at two blocks
// a SM), every warp taking its share of each chunk (a warp within one row group: NS <= KS)
template <int HH, int CL, int NH = 1> struct tc_cl_geo {
    long I, KR, KS, NS, SUB, NSC, KC;
    int RG, cc, r;
    __device__ __forceinline__ tc_cl_geo(long i)
    {
        I = i, KR = i / CL, KS = KR / 64;
        RG = (int)((HH / 16) / (gridDim.x / CL));
        NS = RG * KS / 8, SUB = NS < KS ? KS / NS : 1;
        NSC = NS / NH, KC = KR / NH;
        cc = (int)(blockIdx.x / CL), r = (int)(blockIdx.x % CL);
    }
    // warp w's j-th step as f = row group x KS + k step (the block's row groups and k steps)
    __device__ __forceinline__ long f_of(int w, long j) const
    {
        if (NH == 1) return w * NS + j;
        return (w / SUB) * KS + (j / NSC) * (KS / NH) + (w % SUB) * NSC + j % NSC;
    }
    __device__ __forceinline__ long tile(long f) const { return ((long)cc * RG + f / KS) * (I / 64) + r * KS + f % KS; }
    // the part slots ([RG][SUB][32 lanes][NTN][4] floats) after the staged h ([NT][KC + 20] halves)
    __device__ __forceinline__ size_t part_off(int NT) const { return ((size_t)NT * (KC + 20) * 2 + 15) / 16 * 16; }
};
// host: the geometry's conditions (0 where the grid, I and CL fit the kernel)
template <int HH, int CL, int WK, int D = 1, int NH = 1> static int tc_cl_unfit(long I, long G)
{
    if (G % CL || (HH / 16) % (G / CL) || I % (64 * CL)) return 1;
    const long RG = (HH / 16) / (G / CL), KS = I / 64 / CL, NS = RG * KS / 8;
    if ((RG * KS) % 8 || NS % tc_rows_u<WK, D>::U) return 2;
    if (NH > 1 && (NS > KS || KS % NH || NS % NH || (NS / NH) % tc_rows_u<WK, D>::U)) return 3;
    return NS < KS ? KS % NS != 0 : NS % KS != 0;
}
// host: phase 2's shared memory (staged h and the part slots)
template <int HH, int NT, int CL, int NH = 1> static size_t tc_cl_smem(long I, long G)
{
    const long KR = I / CL, RG = (HH / 16) / (G / CL), KS = KR / 64, NS = RG * KS / 8, SUB = NS < KS ? KS / NS : 1;
    return ((size_t)NT * (KR / NH + 20) * 2 + 15) / 16 * 16 + (size_t)RG * SUB * 32 * (NT / 8) * 16;
}
#ifndef DS_SIM
__device__ __forceinline__ void tc_cl_sync() { cooperative_groups::this_cluster().sync(); }
__device__ __forceinline__ float *tc_cl_mine(unsigned char *at) { return reinterpret_cast<float *>(at); }
template <int CL> __device__ __forceinline__ const float *tc_cl_peer(float *mine, int q)
{
    return cooperative_groups::this_cluster().map_shared_rank(mine, q);
}
__device__ __forceinline__ uint4 tc_ldh16(const __half *p) { return __ldcg(reinterpret_cast<const uint4 *>(p)); }
#else
inline float *tc_sim_parts;   // the host's blocks run one after another: each block's part slots kept here
inline long tc_sim_psz;
inline float *tc_cl_mine(unsigned char *) { return tc_sim_parts + blockIdx.x * tc_sim_psz; }
template <int CL> inline const float *tc_cl_peer(float *, int q) { return tc_sim_parts + (blockIdx.x / CL * CL + q) * tc_sim_psz; }
inline uint4 tc_ldh16(const __half *p) { return tc_ld16(p); }
#endif
// step f of the block's W2 steps: from the row-major fragment tiles (FR) or W2 as stored ([H][I]: 16 rows x 64 bytes)
template <int WB, bool FR, class GEO>
__device__ __forceinline__ void tc_cl_load(tc_step<WB> &st, const tc_blk &p, const GEO &G, long f, int lane)
{
    if (FR) tc_load<WB, true>(st, p.w2r, G.tile(f), 0, 0, 0, lane, 0);
    else tc_load<WB, false>(st, p.w2, 0, 16 * ((long)G.cc * G.RG + f / G.KS) + (lane >> 2), p.I, 64 * (G.r * G.KS + f % G.KS), lane, lane & 3);
}
// before the grid barrier: the warp's first U weight steps, and pf_bytes more of its run (within its row group) into L2
template <int HH, int WK, int CL, int D = 1, bool FR = true, int NH = 1>
__device__ __forceinline__ void tc_cl_first(const tc_blk &p, tc_step<tc_wk<WK>::WB> (&raw)[tc_rows_u<WK, D>::U], unsigned pf_bytes)
{
    constexpr int WB = tc_wk<WK>::WB, U = tc_rows_u<WK, D>::U;
    const tc_cl_geo<HH, CL, NH> G(p.I);
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const long f0 = G.f_of(warp, 0);
#pragma unroll
    for (int u = 0; u < U; u++) tc_cl_load<WB, FR>(raw[u], p, G, G.f_of(warp, u), lane);
    if (!FR) return;
    const long run = (G.NSC < G.KS ? G.NSC : G.KS) - U, left = run * 1024 * WB;   // contiguous steps left (first row group, chunk)
    if (pf_bytes && lane == 0 && left > 0)
        tc_pf_l2(static_cast<const char *>(p.w2r) + G.tile(f0 + U) * 1024 * WB, (unsigned)(left < pf_bytes ? left : pf_bytes));
}
// after the grid barrier: stage the block's k range of h, run the warp's steps, leave its sums in its part slots
template <int HH, int NT, int WK, int CL, int D = 1, bool FR = true, int NH = 1>
__device__ __forceinline__ void tc_cl_steps(const tc_blk &p, unsigned char *smem, tc_step<tc_wk<WK>::WB> (&raw)[tc_rows_u<WK, D>::U])
{
    constexpr int WB = tc_wk<WK>::WB, U = tc_rows_u<WK, D>::U, NTN = NT / 8;
    const tc_cl_geo<HH, CL, NH> G(p.I);
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, g = lane >> 2, c = lane & 3;
    const long P2 = G.KC + 20;   // token rows 40 bytes apart (mod 128), as xs
    __half *hs = reinterpret_cast<__half *>(smem);
    auto stage = [&](long hc) {   // h's chunk hc of the block's k range
        const long per = G.KC / 8, n = NT * per, k0 = G.r * G.KR + hc * G.KC;   // 16-byte pieces; 4 loads in flight
        for (long e0 = threadIdx.x; e0 < n; e0 += 4 * TC_THREADS) {
            uint4 v[4];
#pragma unroll
            for (int i = 0; i < 4; i++) {
                const long e = e0 + i * TC_THREADS;
                const int t = (int)(e / per);
                v[i] = e < n && t < p.T ? tc_ldh16(p.hg + t * p.I + k0 + 8 * (e % per)) : uint4{0u, 0u, 0u, 0u};
            }
#pragma unroll
            for (int i = 0; i < 4; i++) {
                const long e = e0 + i * TC_THREADS;
                if (e >= n) break;
                __half *d = hs + (e / per) * P2 + 8 * (e % per);
                tc_st8(d, uint2{v[i].x, v[i].y}), tc_st8(d + 4, uint2{v[i].z, v[i].w});
            }
        }
    };
    float *part = tc_cl_mine(smem + G.part_off(NT));
    float o[NTN][4];
#pragma unroll
    for (int nt = 0; nt < NTN; nt++) o[nt][0] = o[nt][1] = o[nt][2] = o[nt][3] = 0.0f;
    auto flush = [&](long f) {   // the sums of step f's row group (and the warp's share of it) to their slot
        const long slot = (f / G.KS) * G.SUB + (G.SUB > 1 ? warp % G.SUB : 0);
#pragma unroll
        for (int nt = 0; nt < NTN; nt++)
#pragma unroll
            for (int e = 0; e < 4; e++) part[((slot * 32 + lane) * NTN + nt) * 4 + e] = o[nt][e], o[nt][e] = 0.0f;
    };
#pragma unroll 1
    for (long i0 = 0; i0 < G.NS; i0 += U) {
        if (i0 % G.NSC == 0) {   // a chunk of h: after every warp is done with the last one
            if (i0) __syncthreads();
            stage(i0 / G.NSC);
            __syncthreads();
        }
        const long kb = (i0 / G.NSC) * (G.KS / NH);   // the chunk's first k step
#pragma unroll
        for (int u = 0; u < U; u++) {
            const long f = G.f_of(warp, i0 + u);
            const tc_step<WB> cur = raw[u];
            if (i0 + u + U < G.NS) tc_cl_load<WB, FR>(raw[u], p, G, G.f_of(warp, i0 + u + U), lane);
            tc_step_mma<WK, NTN>(cur, hs + g * P2 + (f % G.KS - kb) * 64, P2, c, o);
            if ((f + 1) % G.KS == 0 || i0 + u + 1 == G.NS) flush(f);   // a row group's end, or the run's
        }
    }
}
// after the cluster barrier: block r ends row groups r, r + CL, ... (warp w the w-th of them, w + 8, ...): every
// block's slots for it in rank order, then y = sum s2 + b2 + x
template <int HH, int NT, bool GATED, int CL, int NH = 1>
__device__ __forceinline__ void tc_cl_finish(const tc_blk &p, unsigned char *smem)
{
    constexpr int NTN = NT / 8;
    const tc_cl_geo<HH, CL, NH> G(p.I);
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, g = lane >> 2, c = lane & 3;
    float *mine = tc_cl_mine(smem + G.part_off(NT));
    for (int rgl = G.r + CL * warp; rgl < G.RG; rgl += CL * (TC_THREADS / 32)) {
        float v[NTN][4] = {};
        for (int q = 0; q < CL; q++) {
            const float *pq = tc_cl_peer<CL>(mine, q);
            for (long s = 0; s < G.SUB; s++)
#pragma unroll
                for (int nt = 0; nt < NTN; nt++)
#pragma unroll
                    for (int e = 0; e < 4; e++) v[nt][e] += pq[(((rgl * G.SUB + s) * 32 + lane) * NTN + nt) * 4 + e];
        }
#pragma unroll
        for (int nt = 0; nt < NTN; nt++)
#pragma unroll
            for (int e = 0; e < 4; e++) {
                const long r = 16 * ((long)G.cc * G.RG + rgl) + g + 8 * (e >> 1);
                const int t = 8 * nt + 2 * c + (e & 1);
                if (t < p.T)
                    p.y[t * HH + r] = __float2half_rn(v[nt][e] * p.s2[r] + (GATED ? 0.0f : __half2float(p.b2[r])) + __half2float(p.x[t * HH + r]));
            }
    }
}

#ifndef DS_SIM
// The grid barrier of RED 6 / 7 (every block resident: the host checks the occupancy): one arrival a block by its
// counting thread after the block barrier (cumulative over the block's h stores); *ep only grows, a launch adding
// the grid size, so a launch's target is the next multiple of it and nothing is reset
__device__ __forceinline__ void tc_grid_sync(unsigned long long *ep)
{
    __syncthreads();
    if (threadIdx.x == 0) {
        __threadfence();
        const unsigned long long old = atomicAdd(ep, 1ull), target = old - old % gridDim.x + gridDim.x;
        unsigned long long v;
        do {
            asm volatile("ld.acquire.gpu.global.u64 %0, [%1];\n" : "=l"(v) : "l"(ep) : "memory");
        } while (v < target);
    }
    __syncthreads();
}
template <int HH, int NT, bool GATED, int RED, int WK = 0>
__global__ void __launch_bounds__(TC_THREADS, 2) fused_tc_rows(tc_blk p)   // RED 6 / 7; grid I / 64 = H / 16
{
    TC_SMEM(smem);
    fused_tc_body<HH, NT, GATED, RED, true, WK>(p, smem);
    tc_step<tc_wk<WK>::WB> raw[tc_rows_u<WK>::U];
    tc_rows_first<WK>(p, blockIdx.x, raw, RED == 7 ? 64u * 1024u / (TC_THREADS / 32) : 0u);
    tc_grid_sync(p.epoch);
    tc_rows<HH, NT, GATED, WK>(p, blockIdx.x, smem, raw);
}
// RED 9: the same two phases as two kernels chained by programmatic dependent launch (no grid barrier, no
// cooperative launch): phase 1 (grid I / 64) lets the next kernel launch as soon as its blocks start; phase 2 by rows
// (grid H / 16, any I with I / 512 steps a warp) issues its first weight loads before griddepcontrol.wait
template <int HH, int NT, bool GATED, int WK = 0>
__global__ void __launch_bounds__(TC_THREADS, 2) tc_phase1(tc_blk p)
{
    TC_SMEM(smem);
    asm volatile("griddepcontrol.wait;\n" ::: "memory");   // the previous replay's phase 2 reads hg
    asm volatile("griddepcontrol.launch_dependents;\n" ::: "memory");
    fused_tc_body<HH, NT, GATED, 9, true, WK>(p, smem);
}
template <int HH, int NT, bool GATED, int WK = 0>
__global__ void __launch_bounds__(TC_THREADS, 2) tc_phase2(tc_blk p)
{
    TC_SMEM(smem);
    tc_step<tc_wk<WK>::WB> raw[tc_rows_u<WK>::U];
    tc_rows_first<WK>(p, blockIdx.x, raw, 0u);
    asm volatile("griddepcontrol.wait;\n" ::: "memory");
    asm volatile("griddepcontrol.launch_dependents;\n" ::: "memory");
    tc_rows<HH, NT, GATED, WK>(p, blockIdx.x, smem, raw);
}
// RED 10 / 11 / 12: phase 2 by clusters of CL = 2 << (RED - 10) blocks (launched with that cluster size; grid
// I / 64 / UN; UN = 2: one block a SM, twice the steps in flight)
// FR false: both weights as stored (no repacked copy)
template <int HH, int NT, bool GATED, int CL, bool PF, int WK = 0, int UN = 1, bool FR = true, int NH = 1>
__global__ void __launch_bounds__(TC_THREADS, 3 - UN) fused_tc_cluster(tc_blk p)
{
    constexpr int D = UN;
    TC_SMEM(smem);
    fused_tc_body<HH, NT, GATED, 10, FR, WK, UN>(p, smem);
    tc_step<tc_wk<WK>::WB> raw[tc_rows_u<WK, D>::U];
    tc_cl_first<HH, WK, CL, D, FR, NH>(p, raw, PF ? 64u * 1024u / (TC_THREADS / 32) : 0u);
    tc_grid_sync(p.epoch);
    tc_cl_steps<HH, NT, WK, CL, D, FR, NH>(p, smem, raw);
    tc_cl_sync();
    tc_cl_finish<HH, NT, GATED, CL, NH>(p, smem);
    tc_cl_sync();
}
template <int HH, int NT, bool GATED, int WK = 0, bool FRAG = true>
__global__ void __launch_bounds__(TC_THREADS, 2) fused_tc_line(tc_blk p)   // RED 8; grid I / 64; FRAG: both weights
{
    TC_SMEM(smem);
    fused_tc_body<HH, NT, GATED, 8, FRAG, WK>(p, smem);
    tc_step<tc_wk<WK>::WB> raw[tc_rows_u<WK>::U];
    tc_line_first<HH, NT, WK, FRAG>(p, raw);
    tc_grid_sync(p.epoch);
    tc_line<HH, NT, WK, FRAG>(p, raw);
    tc_grid_sync(p.epoch);
    tc_line_end<HH, NT, GATED>(p);
}
#endif

#ifndef DS_SIM
template <int HH, int NT, bool GATED, int RED, bool FRAG, int WK = 0>
__global__ void __launch_bounds__(TC_THREADS, NT <= 8 ? 2 : 1) fused_tc(tc_blk p)
{
    TC_SMEM(smem);
    fused_tc_body<HH, NT, GATED, RED, FRAG, WK>(p, smem);
}
#endif

// The weights in fragment order (host; ES bytes an element): W1 [N1][H] as [N1 / 16][H / 64] tiles, W2 [H][I] as
// [I / 64][H / 16] tiles (k_major); a tile is [2 rows (g, g + 8)][ES parts][32 lanes (g = lane / 4, c = lane % 4)]
// [16 bytes], each lane's bytes those tc_step_at reads as stored
static void tc_frag(void *dst, const void *src, long rows, long cols, bool k_major, int ES = 1)
{
    for (long rg = 0; rg < rows / 16; rg++)
        for (long kc = 0; kc < cols / 64; kc++) {
            char *tile = static_cast<char *>(dst) + (k_major ? kc * (rows / 16) + rg : rg * (cols / 64) + kc) * 1024 * ES;
            for (int L = 0; L < 2; L++)
                for (int P = 0; P < ES; P++)
                    for (int lane = 0; lane < 32; lane++)
                        memcpy(tile + (L * ES + P) * 512 + lane * 16,
                               static_cast<const char *>(src) + ((16 * rg + lane / 4 + 8 * L) * cols + 64 * kc) * ES + 64 * P + 16 * (lane % 4), 16);
        }
}
