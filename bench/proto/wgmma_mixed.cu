// wgmma_mixed.cu — measurement only (not part of dsmlp). Issue 10 at T > 128: Hopper GEMMs (bulk tensor copies into a
// shared-memory ring, warp-specialized, wgmma) that read int8 weights and convert them inside the main loop,
// y[t, n] = s[n] * sum_k x[t, k] q[n, k], against cuBLASLt on f16 weights, against main's way (dequantize the whole
// weight, then cuBLASLt), and against the same skeleton reading f16 weights (which says how much of a gap is the
// conversion and how much the GEMM itself).
//
// Three kernels on one skeleton: warpgroup 0's first thread issues the copies, warpgroups 1 and 2 multiply; k blocks of
// 64; x always through a 128-byte-swizzle tensor map (the layout wgmma's descriptors read).
//   F16  (SS): 128 tokens (A, 64 per consumer warpgroup) x 256 weight rows (B, f16 through a swizzled tensor map).
//   I8SS (SS): the same tile; the int8 tile lands unswizzled, warps 1-3 of warpgroup 0 convert it into the f16 tile in
//        the layout the copy engine would have written (chunk j of row r at r * 128 + ((j ^ (r & 7)) * 16)).
//   I8RS (RS): 128 weight rows (A, 64 per consumer warpgroup, converted into registers: the weight is repacked at
//        load so one 16-byte shared load is a thread's codes for four k16 steps) x 256 tokens (B). Two A register sets
//        alternate between k blocks: a k block's wgmmas still read theirs while the next is converted.
//   I8NAT (RS): the same, on the weight as stored (no repack): the int8 tile lands with the 64-byte swizzle (its eight
//        rows of a quarter warp in distinct banks), a thread reads a row's 16 codes of a k16 step with one 16-byte
//        load and keeps its four (k 2c, 2c+1, 2c+8, 2c+9) with three byte permutes.
// Shared-memory traffic per k16 and SM at the wgmma rate decides between them: SS re-reads the 256-row B per consumer
// warpgroup and I8SS adds 3 bytes a weight for the conversion; RS reads the int8 codes once.
// Added after the fourteenth session's runs, NOT RUN YET: INF = 0 variants of RS and I8NAT (each warpgroup waits for
// its k block's wgmmas before converting the next: ptxas -v no longer reports C7513, "wgmma.mma_async instructions
// are serialized", which it reports for every INF = 1 kernel and for templates/mixed.cu), and wg_persist (I8NAT,
// INF = 0, min(tiles, SMs) blocks walking the tiles, the epilogue staged outside the 3 stages), and split k for grids
// under the SMs (the as-stored INF = 0 kernel over K / splits, f32 atomics into a zeroed buffer, then a rounding pass).
//
//   nvcc -O3 -std=c++17 -gencode=arch=compute_90a,code=sm_90a bench/proto/wgmma_mixed.cu -lcublasLt -o wgmma_mixed
//   ./wgmma_mixed 1024 4096
#include "proto_cuda.cuh"
#include "proto_hopper.cuh"

#include <cuda.h>
#include <cudaTypedefs.h>

#include <cmath>
#include <cstdint>

enum mode { F16, I8SS, I8RS, I8NAT };
constexpr int BK = 64, THREADS = 384, CONV = 96;
template <mode M> struct tile {
    static constexpr bool rs = M == I8RS || M == I8NAT;
    static constexpr int tokens = rs ? 256 : 128, rows = rs ? 128 : 256;
    static constexpr int xb = tokens * BK * 2;                      // x tile bytes
    static constexpr int wb = rs ? 0 : rows * BK * 2;               // f16 weight tile bytes (SS)
    static constexpr int qb = M == F16 ? 0 : rows * BK;             // int8 tile bytes
};
// Shared memory: SF stages of [weight f16 | x | (RS: int8)], then (I8SS) SQ int8 stages, then the barriers.
template <mode M, int SF, int SQ> struct layout {
    using t = tile<M>;
    static constexpr int stage = t::wb + t::xb + (t::rs ? t::qb : 0);
    static constexpr int q = SF * stage, bar = q + (M == I8SS ? SQ * t::qb : 0);
    static constexpr int bytes = bar + 8 * (2 * SF + 2 * SQ) + 1024;   // + room to align the base to 1024
};

template <int NR> __device__ __forceinline__ void fence_f(float (&d)[NR])
{
#pragma unroll
    for (int i = 0; i < NR; i++) asm volatile("" : "+f"(d[i])::"memory");
}
__device__ __forceinline__ void fence_a(unsigned (&a)[4][4])
{
#pragma unroll
    for (int i = 0; i < 4; i++)
#pragma unroll
        for (int j = 0; j < 4; j++) asm volatile("" : "+r"(a[i][j])::"memory");
}

// four int8 codes -> two half2 (codes 0,1 and 2,3), exact: (b ^ 0x80) as the f16 1024 + u, minus 1152
__device__ __forceinline__ void cvt4(unsigned w, unsigned &lo, unsigned &hi)
{
    const unsigned u = w ^ 0x80808080u;
    const unsigned l = __byte_perm(u, 0x64646464u, 0x4140), h = __byte_perm(u, 0x64646464u, 0x4342);
    asm("sub.f16x2 %0, %1, %2;\n" : "=r"(lo) : "r"(l), "r"(0x64806480u));
    asm("sub.f16x2 %0, %1, %2;\n" : "=r"(hi) : "r"(h), "r"(0x64806480u));
}
// One m64n256k16 wgmma, both operands from shared memory through descriptors, accumulating into d.
__device__ __forceinline__ void wgmma_ss(float (&d)[128], uint64_t da, uint64_t db)
{
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, 1, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n256k16.f32.f16.f16 "
                 "{%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15,%16,%17,%18,%19,%20,%21,%22,%23,%24,%25,%26,%27,%28,%29,%30,%31,%32,%33,%34,%35,%36,%37,%38,%39,%40,%41,%42,%43,%44,%45,%46,%47,%48,%49,%50,%51,%52,%53,%54,%55,%56,%57,%58,%59,%60,%61,%62,%63,%64,%65,%66,%67,%68,%69,%70,%71,%72,%73,%74,%75,%76,%77,%78,%79,%80,%81,%82,%83,%84,%85,%86,%87,%88,%89,%90,%91,%92,%93,%94,%95,%96,%97,%98,%99,%100,%101,%102,%103,%104,%105,%106,%107,%108,%109,%110,%111,%112,%113,%114,%115,%116,%117,%118,%119,%120,%121,%122,%123,%124,%125,%126,%127}, %128, %129, p, 1, 1, 0, 0;\n}\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63]), "+f"(d[64]), "+f"(d[65]), "+f"(d[66]), "+f"(d[67]), "+f"(d[68]), "+f"(d[69]), "+f"(d[70]), "+f"(d[71]), "+f"(d[72]), "+f"(d[73]), "+f"(d[74]), "+f"(d[75]), "+f"(d[76]), "+f"(d[77]), "+f"(d[78]), "+f"(d[79]), "+f"(d[80]), "+f"(d[81]), "+f"(d[82]), "+f"(d[83]), "+f"(d[84]), "+f"(d[85]), "+f"(d[86]), "+f"(d[87]), "+f"(d[88]), "+f"(d[89]), "+f"(d[90]), "+f"(d[91]), "+f"(d[92]), "+f"(d[93]), "+f"(d[94]), "+f"(d[95]), "+f"(d[96]), "+f"(d[97]), "+f"(d[98]), "+f"(d[99]), "+f"(d[100]), "+f"(d[101]), "+f"(d[102]), "+f"(d[103]), "+f"(d[104]), "+f"(d[105]), "+f"(d[106]), "+f"(d[107]), "+f"(d[108]), "+f"(d[109]), "+f"(d[110]), "+f"(d[111]), "+f"(d[112]), "+f"(d[113]), "+f"(d[114]), "+f"(d[115]), "+f"(d[116]), "+f"(d[117]), "+f"(d[118]), "+f"(d[119]), "+f"(d[120]), "+f"(d[121]), "+f"(d[122]), "+f"(d[123]), "+f"(d[124]), "+f"(d[125]), "+f"(d[126]), "+f"(d[127])
                 : "l"(da), "l"(db));
}
// The same with A (64 rows x 16 k, the mma.sync A layout per warp) from registers.
__device__ __forceinline__ void wgmma_rs(float (&d)[128], const unsigned (&a)[4], uint64_t db)
{
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, 1, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n256k16.f32.f16.f16 "
                 "{%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15,%16,%17,%18,%19,%20,%21,%22,%23,%24,%25,%26,%27,%28,%29,%30,%31,%32,%33,%34,%35,%36,%37,%38,%39,%40,%41,%42,%43,%44,%45,%46,%47,%48,%49,%50,%51,%52,%53,%54,%55,%56,%57,%58,%59,%60,%61,%62,%63,%64,%65,%66,%67,%68,%69,%70,%71,%72,%73,%74,%75,%76,%77,%78,%79,%80,%81,%82,%83,%84,%85,%86,%87,%88,%89,%90,%91,%92,%93,%94,%95,%96,%97,%98,%99,%100,%101,%102,%103,%104,%105,%106,%107,%108,%109,%110,%111,%112,%113,%114,%115,%116,%117,%118,%119,%120,%121,%122,%123,%124,%125,%126,%127}, {%128, %129, %130, %131}, %132, p, 1, 1, 0;\n}\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63]), "+f"(d[64]), "+f"(d[65]), "+f"(d[66]), "+f"(d[67]), "+f"(d[68]), "+f"(d[69]), "+f"(d[70]), "+f"(d[71]), "+f"(d[72]), "+f"(d[73]), "+f"(d[74]), "+f"(d[75]), "+f"(d[76]), "+f"(d[77]), "+f"(d[78]), "+f"(d[79]), "+f"(d[80]), "+f"(d[81]), "+f"(d[82]), "+f"(d[83]), "+f"(d[84]), "+f"(d[85]), "+f"(d[86]), "+f"(d[87]), "+f"(d[88]), "+f"(d[89]), "+f"(d[90]), "+f"(d[91]), "+f"(d[92]), "+f"(d[93]), "+f"(d[94]), "+f"(d[95]), "+f"(d[96]), "+f"(d[97]), "+f"(d[98]), "+f"(d[99]), "+f"(d[100]), "+f"(d[101]), "+f"(d[102]), "+f"(d[103]), "+f"(d[104]), "+f"(d[105]), "+f"(d[106]), "+f"(d[107]), "+f"(d[108]), "+f"(d[109]), "+f"(d[110]), "+f"(d[111]), "+f"(d[112]), "+f"(d[113]), "+f"(d[114]), "+f"(d[115]), "+f"(d[116]), "+f"(d[117]), "+f"(d[118]), "+f"(d[119]), "+f"(d[120]), "+f"(d[121]), "+f"(d[122]), "+f"(d[123]), "+f"(d[124]), "+f"(d[125]), "+f"(d[126]), "+f"(d[127])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(db));
}

// y [T, N] f16 row-major; tx: x [T, K] f16; tw: the weight (F16: [N, K] f16; I8SS: q [N, K] int8; I8RS: repacked q);
// s [N] f32 (int8 modes). N % 256 == 0, K % 64 == 0; any T (rows past T read as zeros, are not stored).
// INF: k blocks of wgmmas a consumer warpgroup keeps in flight while it converts the next one (RS). With 1, ptxas
// reports (C7513) that it serializes the wgmmas: the conversion defines wgmma input registers while earlier wgmmas
// are in flight. With 0 each warpgroup waits for its k block before converting the next, and the other warpgroup's
// wgmmas fill the tensor pipe meanwhile (no C7513). Not yet run on a card.
template <mode M, int SF, int SQ, int INF = 1>
__global__ void __launch_bounds__(THREADS, 1) wg_gemm(const __grid_constant__ CUtensorMap tx, const __grid_constant__ CUtensorMap tw,
                                                     __half *__restrict__ y, const float *__restrict__ s, int T, int N, int K,
                                                     float *__restrict__ part)
{
    using t = tile<M>;
    using L = layout<M, SF, SQ>;
    extern __shared__ unsigned char sm_raw[];
    unsigned char *sm = sm_raw + ((1024 - (sa(sm_raw) & 1023)) & 1023);   // swizzled tiles want 1024-byte alignment
    uint64_t *full = reinterpret_cast<uint64_t *>(sm + L::bar), *empty = full + SF, *qfull = empty + SF, *qempty = qfull + SQ;
    // split k (RS, NOT RUN YET): gridDim.z blocks share a tile, each over K / gridDim.z, and add their scaled sums into
    // part [T, N] f32 (zeroed before; a second kernel rounds it into y)
    const int tid = threadIdx.x, wg = tid >> 7, t0 = blockIdx.x * t::tokens, n0 = blockIdx.y * t::rows, KT = K / BK / gridDim.z;
    const int kb = blockIdx.z * KT;
    auto wst = [&](int st) { return sm + st * L::stage; };                    // SS: f16 weight tile
    auto xst = [&](int st) { return sm + st * L::stage + t::wb; };            // x tile
    auto qst = [&](int st) { return t::rs ? sm + st * L::stage + t::wb + t::xb : sm + L::q + st * t::qb; };
    if (tid == 0) {
        for (int i = 0; i < SF; i++) bar_init(full + i, M == I8SS ? 1 + CONV : 1), bar_init(empty + i, 2);
        for (int i = 0; i < SQ; i++) bar_init(qfull + i, 1), bar_init(qempty + i, CONV);
        asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
    }
    __syncthreads();

    if (wg == 0) {
        asm volatile("setmaxnreg.dec.sync.aligned.u32 80;\n");
        if (tid == 0) {   // the producer
            if constexpr (M == I8SS) {   // int8 tiles run SQ - SF k blocks ahead of the x tiles
                for (int i = 0; i < KT + SQ - SF; i++) {
                    if (i < KT) {
                        const int qs = i % SQ;
                        if (i >= SQ) bar_wait(qempty + qs, ((i / SQ) & 1) ^ 1);
                        bar_expect(qfull + qs, t::qb);
                        tma2(qst(qs), &tw, i * BK, n0, qfull + qs);
                    }
                    const int kt = i - (SQ - SF);
                    if (kt >= 0) {
                        const int fs = kt % SF;
                        if (kt >= SF) bar_wait(empty + fs, ((kt / SF) & 1) ^ 1);
                        bar_expect(full + fs, t::xb);
                        tma2(xst(fs), &tx, kt * BK, t0, full + fs);
                    }
                }
            } else {
                for (int kt = 0; kt < KT; kt++) {
                    const int fs = kt % SF;
                    if (kt >= SF) bar_wait(empty + fs, ((kt / SF) & 1) ^ 1);
                    bar_expect(full + fs, t::xb + t::wb + (t::rs ? t::qb : 0));
                    tma2(xst(fs), &tx, (kb + kt) * BK, t0, full + fs);
                    tma2(t::rs ? qst(fs) : wst(fs), &tw, (kb + kt) * BK, n0, full + fs);
                }
            }
        } else if constexpr (M == I8SS) {   // the converters
            if (tid < 32) return;
            const int ct = tid - 32;
            for (int kt = 0; kt < KT; kt++) {
                const int qs = kt % SQ, fs = kt % SF;
                bar_wait(qfull + qs, (kt / SQ) & 1);
                if (kt >= SF) bar_wait(empty + fs, ((kt / SF) & 1) ^ 1);
                const unsigned char *src = qst(qs);
                unsigned char *dst = wst(fs);
#pragma unroll 4
                for (int i = ct; i < t::rows * 4; i += CONV) {
                    const int r = i >> 2, c = i & 3;
                    const uint4 v = *reinterpret_cast<const uint4 *>(src + r * 64 + c * 16);
                    uint4 a, b;
                    cvt4(v.x, a.x, a.y), cvt4(v.y, a.z, a.w), cvt4(v.z, b.x, b.y), cvt4(v.w, b.z, b.w);
                    *reinterpret_cast<uint4 *>(dst + r * 128 + (((2 * c) ^ (r & 7)) << 4)) = a;
                    *reinterpret_cast<uint4 *>(dst + r * 128 + (((2 * c + 1) ^ (r & 7)) << 4)) = b;
                }
                asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");   // our stores, read by wgmma
                bar_arrive(qempty + qs);
                bar_arrive(full + fs);
            }
        }
        return;
    }

    asm volatile("setmaxnreg.inc.sync.aligned.u32 208;\n");
    const int cw = wg - 1, ctid = tid - 128, w4 = (tid >> 5) & 3, lane = tid & 31, g = lane >> 2, c = lane & 3;
    float d[128];
#pragma unroll
    for (int i = 0; i < 128; i++) d[i] = 0.0f;
    if constexpr (!t::rs) {
        for (int kt = 0; kt < KT; kt++) {
            const int fs = kt % SF;
            bar_wait(full + fs, (kt / SF) & 1);
            const unsigned xa = sa(xst(fs)) + cw * 64 * 128, wa = sa(wst(fs));
            fence_f(d);
            asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
#pragma unroll
            for (int kk = 0; kk < 4; kk++) wgmma_ss(d, desc128(xa + kk * 32), desc128(wa + kk * 32));
            asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
            fence_f(d);
            asm volatile("wgmma.wait_group.sync.aligned 1;\n" ::: "memory");
            fence_f(d);
            if (kt > 0 && (tid & 127) == 0) bar_arrive(empty + (kt - 1) % SF);
        }
    } else {
        unsigned a0[4][4], a1[4][4];
        // this warp's rows g and g + 8 of its 16: thread c's 16 bytes of a row are its codes for the four k16 steps
        const int qoff = (cw * 64 + w4 * 16 + g) * 64 + c * 16;
        // I8NAT: row r's 16-byte chunk j at r * 64 + ((j ^ ((r >> 1) & 3)) << 4); bytes 2c, 2c + 1 of each 8
        const int nrow = (cw * 64 + w4 * 16 + g) * 64, nsw = (g >> 1) & 3, nsel = (2 * c) | (2 * c + 1) << 4;
        auto step = [&](int kt, unsigned (&cur)[4][4], unsigned (&prev)[4][4]) {
            const int fs = kt % SF;
            bar_wait(full + fs, (kt / SF) & 1);
            const unsigned char *q = qst(fs);
            if constexpr (M == I8RS) {
                const uint4 lo = *reinterpret_cast<const uint4 *>(q + qoff), hi = *reinterpret_cast<const uint4 *>(q + qoff + 8 * 64);
                cvt4(lo.x, cur[0][0], cur[0][2]), cvt4(hi.x, cur[0][1], cur[0][3]);
                cvt4(lo.y, cur[1][0], cur[1][2]), cvt4(hi.y, cur[1][1], cur[1][3]);
                cvt4(lo.z, cur[2][0], cur[2][2]), cvt4(hi.z, cur[2][1], cur[2][3]);
                cvt4(lo.w, cur[3][0], cur[3][2]), cvt4(hi.w, cur[3][1], cur[3][3]);
            } else {
#pragma unroll
                for (int kk = 0; kk < 4; kk++)
#pragma unroll
                    for (int h = 0; h < 2; h++) {   // rows g and g + 8 (the same swizzle phase: 8 rows apart)
                        const uint4 v = *reinterpret_cast<const uint4 *>(q + nrow + h * 8 * 64 + ((kk ^ nsw) << 4));
                        const unsigned a = __byte_perm(v.x, v.y, nsel), b = __byte_perm(v.z, v.w, nsel);
                        cvt4(__byte_perm(a, b, 0x5410), cur[kk][h], cur[kk][h + 2]);
                    }
            }
            const unsigned xa = sa(xst(fs));
            fence_f(d);
            asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
#pragma unroll
            for (int kk = 0; kk < 4; kk++) wgmma_rs(d, cur[kk], desc128(xa + kk * 32));
            asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
            fence_f(d);
            if constexpr (INF == 0) {
                asm volatile("wgmma.wait_group.sync.aligned 0;\n" ::: "memory");
                fence_f(d);
                fence_a(cur);
                if ((tid & 127) == 0) bar_arrive(empty + fs);
            } else {
                asm volatile("wgmma.wait_group.sync.aligned 1;\n" ::: "memory");
                fence_f(d);
                fence_a(prev);   // k block kt - 1's wgmmas, which read prev, are done: prev may be reused from here on
                fence_a(cur);    // cur stays live (its wgmmas may still read it)
                if (kt > 0 && (tid & 127) == 0) bar_arrive(empty + (kt - 1) % SF);
            }
        };
        for (int kt = 0; kt < KT; kt += 2) {
            step(kt, a0, a1);
            if (kt + 1 < KT) step(kt + 1, a1, a0);
        }
    }
    asm volatile("wgmma.wait_group.sync.aligned 0;\n" ::: "memory");
    fence_f(d);

    if constexpr (!t::rs) {   // rows of d are tokens, columns weight rows: half2 stores straight to y
        const int ta = t0 + cw * 64 + w4 * 16 + g, tb = ta + 8;
#pragma unroll
        for (int j = 0; j < 32; j++) {
            const int n = n0 + 8 * j + 2 * c;
            float2 sc = make_float2(1.0f, 1.0f);
            if (M != F16) sc = *reinterpret_cast<const float2 *>(s + n);
            if (ta < T) *reinterpret_cast<__half2 *>(y + (size_t)ta * N + n) = __floats2half2_rn(d[4 * j] * sc.x, d[4 * j + 1] * sc.y);
            if (tb < T) *reinterpret_cast<__half2 *>(y + (size_t)tb * N + n) = __floats2half2_rn(d[4 * j + 2] * sc.x, d[4 * j + 3] * sc.y);
        }
    } else if (gridDim.z > 1) {   // split k: rows of d are weight rows, columns tokens; scaled sums added into part
        const int f = n0 + cw * 64 + w4 * 16 + g;
        const float s0 = s[f], s1 = s[f + 8];
#pragma unroll
        for (int j = 0; j < 32; j++) {
            const int tk = t0 + 8 * j + 2 * c;
            if (tk < T) atomicAdd(part + (size_t)tk * N + f, d[4 * j] * s0), atomicAdd(part + (size_t)tk * N + f + 8, d[4 * j + 2] * s1);
            if (tk + 1 < T)
                atomicAdd(part + (size_t)(tk + 1) * N + f, d[4 * j + 1] * s0), atomicAdd(part + (size_t)(tk + 1) * N + f + 8, d[4 * j + 3] * s1);
        }
    } else {   // rows of d are weight rows, columns tokens: through shared memory as [token][weight row]
        constexpr int OR = 128 + 8;   // halves per staged token row
        asm volatile("bar.sync 1, 256;\n" ::: "memory");   // both warpgroups are done reading the stages
        __half *os = reinterpret_cast<__half *>(sm);
        const int f = cw * 64 + w4 * 16 + g;
        const float s0 = s[n0 + f], s1 = s[n0 + f + 8];
#pragma unroll
        for (int j = 0; j < 32; j++) {
            const int tk = 8 * j + 2 * c;
            os[tk * OR + f] = __float2half_rn(d[4 * j] * s0);
            os[(tk + 1) * OR + f] = __float2half_rn(d[4 * j + 1] * s0);
            os[tk * OR + f + 8] = __float2half_rn(d[4 * j + 2] * s1);
            os[(tk + 1) * OR + f + 8] = __float2half_rn(d[4 * j + 3] * s1);
        }
        asm volatile("bar.sync 1, 256;\n" ::: "memory");
        for (int i = ctid; i < 256 * 16; i += 256) {
            const int tk = i >> 4, ch = i & 15;
            if (t0 + tk < T)
                *reinterpret_cast<uint4 *>(y + (size_t)(t0 + tk) * N + n0 + ch * 8) = *reinterpret_cast<const uint4 *>(os + tk * OR + ch * 8);
        }
    }
}

// Version P (persistent, "as stored"; NOT RUN YET: written after the fourteenth session's device time was spent).
// The main-route kernel (I8NAT) runs one tile per block, so each block's pipeline fill and epilogue leave the tensor
// pipe idle (ncu: 62-68% busy at T = 1024). Here min(tiles, SMs) blocks walk the tiles (token tiles fastest); one k
// block counter runs across tiles, so the producer fills the next tile's stages while the consumers run the epilogue,
// which stages f16 results in a region of its own (3 stages of 40 KB + 68 KB). Prototype output: y = s * acc.
template <int SF>
__global__ void __launch_bounds__(THREADS, 1) wg_persist(const __grid_constant__ CUtensorMap tx, const __grid_constant__ CUtensorMap tw,
                                                        __half *__restrict__ y, const float *__restrict__ s, int T, int N, int K)
{
    using t = tile<I8NAT>;
    constexpr int STAGE = t::xb + t::qb, OR = 128 + 8, STG = SF * STAGE, BAR = STG + 256 * OR * 2;
    extern __shared__ unsigned char sm_raw[];
    unsigned char *sm = sm_raw + ((1024 - (sa(sm_raw) & 1023)) & 1023);
    uint64_t *full = reinterpret_cast<uint64_t *>(sm + BAR), *empty = full + SF;
    const int tid = threadIdx.x, wg = tid >> 7, KT = K / BK, ntt = (T + 255) / 256, ntiles = ntt * (N / 128);
    if (tid == 0) {
        for (int i = 0; i < SF; i++) bar_init(full + i, 1), bar_init(empty + i, 2);
        asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
    }
    __syncthreads();
    if (wg == 0) {
        asm volatile("setmaxnreg.dec.sync.aligned.u32 40;\n");
        if (tid == 0) {
            int it = 0;
            for (int tl = blockIdx.x; tl < ntiles; tl += gridDim.x) {
                const int t0 = (tl % ntt) * 256, n0 = (tl / ntt) * 128;
                for (int kt = 0; kt < KT; kt++, it++) {
                    const int st = it % SF;
                    if (it >= SF) bar_wait(empty + st, ((it / SF) & 1) ^ 1);
                    bar_expect(full + st, STAGE);
                    tma2(sm + st * STAGE, &tx, kt * BK, t0, full + st);
                    tma2(sm + st * STAGE + t::xb, &tw, kt * BK, n0, full + st);
                }
            }
        }
        return;
    }
    asm volatile("setmaxnreg.inc.sync.aligned.u32 232;\n");
    const int cw = wg - 1, ctid = tid - 128, w4 = (tid >> 5) & 3, lane = tid & 31, g = lane >> 2, c = lane & 3;
    const int nrow = (cw * 64 + w4 * 16 + g) * 64, nsw = (g >> 1) & 3, nsel = (2 * c) | (2 * c + 1) << 4;
    __half *os = reinterpret_cast<__half *>(sm + STG);
    float d[128];
    unsigned cur[4][4];
    int it = 0;
    auto step = [&]() {   // one k block, none left in flight (no C7513: see wg_gemm's INF)
        const int st = it % SF;
        bar_wait(full + st, (it / SF) & 1);
        const unsigned char *q = sm + st * STAGE + t::xb;
#pragma unroll
        for (int kk = 0; kk < 4; kk++)
#pragma unroll
            for (int h = 0; h < 2; h++) {
                const uint4 v = *reinterpret_cast<const uint4 *>(q + nrow + h * 8 * 64 + ((kk ^ nsw) << 4));
                const unsigned lo = __byte_perm(v.x, v.y, nsel), hi = __byte_perm(v.z, v.w, nsel);
                cvt4(__byte_perm(lo, hi, 0x5410), cur[kk][h], cur[kk][h + 2]);
            }
        const unsigned xa = sa(sm + st * STAGE);
        fence_f(d);
        asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
#pragma unroll
        for (int kk = 0; kk < 4; kk++) wgmma_rs(d, cur[kk], desc128(xa + kk * 32));
        asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
        fence_f(d);
        asm volatile("wgmma.wait_group.sync.aligned 0;\n" ::: "memory");
        fence_f(d);
        fence_a(cur);
        if ((tid & 127) == 0) bar_arrive(empty + st);
        it++;
    };
    for (int tl = blockIdx.x; tl < ntiles; tl += gridDim.x) {
        const int t0 = (tl % ntt) * 256, n0 = (tl / ntt) * 128;
#pragma unroll
        for (int i = 0; i < 128; i++) d[i] = 0.0f;
        for (int kt = 0; kt < KT; kt++) step();
        asm volatile("bar.sync 1, 256;\n" ::: "memory");           // the previous tile's stores have read the staging
        const int f = cw * 64 + w4 * 16 + g;
        const float s0 = s[n0 + f], s1 = s[n0 + f + 8];
#pragma unroll
        for (int j = 0; j < 32; j++) {
            const int tk = 8 * j + 2 * c;
            os[tk * OR + f] = __float2half_rn(d[4 * j] * s0);
            os[(tk + 1) * OR + f] = __float2half_rn(d[4 * j + 1] * s0);
            os[tk * OR + f + 8] = __float2half_rn(d[4 * j + 2] * s1);
            os[(tk + 1) * OR + f + 8] = __float2half_rn(d[4 * j + 3] * s1);
        }
        asm volatile("bar.sync 1, 256;\n" ::: "memory");
        for (int i = ctid; i < 256 * 16; i += 256) {
            const int tk = i >> 4, ch = i & 15;
            if (t0 + tk < T)
                *reinterpret_cast<uint4 *>(y + (size_t)(t0 + tk) * N + n0 + ch * 8) = *reinterpret_cast<const uint4 *>(os + tk * OR + ch * 8);
        }
    }
}
template <int SF> constexpr int persist_smem() { return SF * (256 * BK * 2 + 128 * BK) + 256 * 136 * 2 + 16 * SF + 1024; }

// RS layout: within each row's 64-k block, thread c's 16 bytes hold its codes (k 2c, 2c+1, 2c+8, 2c+9 of each k16
// step kk, at c * 16 + kk * 4), kept signed
__global__ void repack_rs(signed char *qp, const signed char *q, long n)
{
    for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x) {
        const int b = (int)(i & 63), c = b >> 4, kk = (b >> 2) & 3, e = b & 3;
        const int k = kk * 16 + 2 * c + (e & 1) + (e >> 1) * 8;
        qp[i] = q[(i & ~63L) + k];
    }
}
__global__ void deq(__half *w, const signed char *q, const float *s, long K)
{
    const long r = blockIdx.y;
    for (long c = (blockIdx.x * (long)blockDim.x + threadIdx.x) * 8; c < K; c += (long)gridDim.x * blockDim.x * 8) {
        uint2 raw = *reinterpret_cast<const uint2 *>(q + r * K + c);
        const signed char *b = reinterpret_cast<const signed char *>(&raw);
        alignas(16) __half h[8];
        for (int j = 0; j < 8; j++) h[j] = __float2half_rn((float)b[j] * s[r]);
        *reinterpret_cast<uint4 *>(w + r * K + c) = *reinterpret_cast<uint4 *>(h);
    }
}

static PFN_cuTensorMapEncodeTiled_v12000 encode;
// rows x cols row-major, boxes of 64 columns x box_rows rows
static CUtensorMap tmap(const void *p, CUtensorMapDataType dt, int esize, long rows, long cols, int box_rows, CUtensorMapSwizzle swizzle)
{
    CUtensorMap m;
    const cuuint64_t dims[2] = {(cuuint64_t)cols, (cuuint64_t)rows}, strides[1] = {(cuuint64_t)(cols * esize)};
    const cuuint32_t box[2] = {BK, (cuuint32_t)box_rows}, es[2] = {1, 1};
    const CUresult r = encode(&m, dt, 2, const_cast<void *>(p), dims, strides, box, es, CU_TENSOR_MAP_INTERLEAVE_NONE,
                              swizzle, CU_TENSOR_MAP_L2_PROMOTION_L2_256B,
                              CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
    if (r != CUDA_SUCCESS) { fprintf(stderr, "cuTensorMapEncodeTiled: %d\n", (int)r); exit(1); }
    return m;
}

struct prob { long T, N, K; __half *x, *w, *y; signed char *q, *qp; float *s, *part; };
enum way { LT_F16, WHOLE, K_F16_4, K_RS_4, K_RS_5, K_NAT_4, K_NAT_5, K_SS_3_4, K_PERSIST_3, K_RS_4_W0, K_NAT_4_W0, K_NAT_SPLIT, NWAYS };
static const char *way_name[] = {"cuBLASLt f16", "dequant+cuBLASLt", "wg f16 4st", "wg i8 RS 4st", "wg i8 RS 5st",
                                 "wg i8 as stored 4st", "wg i8 as stored 5st", "wg i8 SS 3/4st", "wg i8 as stored persistent 3st",
                                 "wg i8 RS 4st, none in flight", "wg i8 as stored 4st, none in flight",
                                 "wg i8 as stored 4st, none in flight, split k to fill the SMs"};

template <mode M, int SF, int SQ, int INF = 1> static void launch(const prob &p, cudaStream_t st)
{
    using t = tile<M>;
    static bool once = false;
    if (!once) {
        CK(cudaFuncSetAttribute(wg_gemm<M, SF, SQ, INF>, cudaFuncAttributeMaxDynamicSharedMemorySize, layout<M, SF, SQ>::bytes));
        once = true;
    }
    const CUtensorMap mx = tmap(p.x, CU_TENSOR_MAP_DATA_TYPE_FLOAT16, 2, p.T, p.K, t::tokens, CU_TENSOR_MAP_SWIZZLE_128B);
    const CUtensorMap mw = M == F16 ? tmap(p.w, CU_TENSOR_MAP_DATA_TYPE_FLOAT16, 2, p.N, p.K, t::rows, CU_TENSOR_MAP_SWIZZLE_128B)
                                    : tmap(M == I8RS ? p.qp : p.q, CU_TENSOR_MAP_DATA_TYPE_UINT8, 1, p.N, p.K, t::rows,
                                           M == I8NAT ? CU_TENSOR_MAP_SWIZZLE_64B : CU_TENSOR_MAP_SWIZZLE_NONE);
    const dim3 grid((unsigned)((p.T + t::tokens - 1) / t::tokens), (unsigned)(p.N / t::rows));
    wg_gemm<M, SF, SQ, INF><<<grid, THREADS, layout<M, SF, SQ>::bytes, st>>>(mx, mw, p.y, p.s, (int)p.T, (int)p.N, (int)p.K, nullptr);
}

template <int SF> static void launch_persist(const prob &p, cudaStream_t st)
{
    static int sms = 0;
    if (!sms) {
        CK(cudaFuncSetAttribute(wg_persist<SF>, cudaFuncAttributeMaxDynamicSharedMemorySize, persist_smem<SF>()));
        CK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0));
    }
    const CUtensorMap mx = tmap(p.x, CU_TENSOR_MAP_DATA_TYPE_FLOAT16, 2, p.T, p.K, 256, CU_TENSOR_MAP_SWIZZLE_128B);
    const CUtensorMap mw = tmap(p.q, CU_TENSOR_MAP_DATA_TYPE_UINT8, 1, p.N, p.K, 128, CU_TENSOR_MAP_SWIZZLE_64B);
    const long tiles = (p.T + 255) / 256 * (p.N / 128);
    wg_persist<SF><<<(unsigned)std::min<long>(tiles, sms), THREADS, persist_smem<SF>(), st>>>(mx, mw, p.y, p.s, (int)p.T, (int)p.N, (int)p.K);
}

__global__ void round_part(__half *y, const float *part, long n)
{
    for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x) y[i] = __float2half_rn(part[i]);
}

// I8NAT, none in flight, with as many k splits (powers of 2 dividing K / 64) as keep the grid within the SMs
static void launch_split(const prob &p, cudaStream_t st)
{
    using t = tile<I8NAT>;
    static int sms = 0;
    if (!sms) {
        CK(cudaFuncSetAttribute(wg_gemm<I8NAT, 4, 0, 0>, cudaFuncAttributeMaxDynamicSharedMemorySize, layout<I8NAT, 4, 0>::bytes));
        CK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0));
    }
    const long blocks = (p.T + t::tokens - 1) / t::tokens * (p.N / t::rows);
    int ks = 1;
    while (blocks * ks * 2 <= sms && (p.K / BK) % (ks * 2) == 0) ks *= 2;
    const CUtensorMap mx = tmap(p.x, CU_TENSOR_MAP_DATA_TYPE_FLOAT16, 2, p.T, p.K, t::tokens, CU_TENSOR_MAP_SWIZZLE_128B);
    const CUtensorMap mw = tmap(p.q, CU_TENSOR_MAP_DATA_TYPE_UINT8, 1, p.N, p.K, t::rows, CU_TENSOR_MAP_SWIZZLE_64B);
    const dim3 grid((unsigned)((p.T + t::tokens - 1) / t::tokens), (unsigned)(p.N / t::rows), (unsigned)ks);
    if (ks > 1) CK(cudaMemsetAsync(p.part, 0, (size_t)(p.T * p.N) * 4, st));
    wg_gemm<I8NAT, 4, 0, 0><<<grid, THREADS, layout<I8NAT, 4, 0>::bytes, st>>>(mx, mw, p.y, p.s, (int)p.T, (int)p.N, (int)p.K,
                                                                               ks > 1 ? p.part : nullptr);
    if (ks > 1) round_part<<<1024, 256, 0, st>>>(p.y, p.part, p.T * p.N);
}

static void lt_gemm(cudaStream_t st, const __half *W, const __half *x, __half *y, long T, long N, long K)
{
    gemm(st, W, K, x, K, y, N, CUDA_R_16F, N, T, K, 0.0f);
}
static void enqueue(const prob &p, way wy, cudaStream_t st)
{
    switch (wy) {
    case LT_F16: lt_gemm(st, p.w, p.x, p.y, p.T, p.N, p.K); break;
    case WHOLE:
        deq<<<dim3((unsigned)((p.K / 8 + 255) / 256), (unsigned)p.N), 256, 0, st>>>(p.w, p.q, p.s, p.K);
        lt_gemm(st, p.w, p.x, p.y, p.T, p.N, p.K);
        break;
    case K_F16_4: launch<F16, 4, 0>(p, st); break;
    case K_RS_4: launch<I8RS, 4, 0>(p, st); break;
    case K_RS_5: launch<I8RS, 5, 0>(p, st); break;
    case K_NAT_4: launch<I8NAT, 4, 0>(p, st); break;
    case K_NAT_5: launch<I8NAT, 5, 0>(p, st); break;
    case K_SS_3_4: launch<I8SS, 3, 4>(p, st); break;
    case K_PERSIST_3: launch_persist<3>(p, st); break;
    case K_RS_4_W0: launch<I8RS, 4, 0, 0>(p, st); break;
    case K_NAT_4_W0: launch<I8NAT, 4, 0, 0>(p, st); break;
    case K_NAT_SPLIT: launch_split(p, st); break;
    default: break;
    }
}

int main(int argc, char **argv)
{
    cudaDeviceProp pr;
    CK(cudaGetDeviceProperties(&pr, 0));
    printf("card %s, %d SMs\n", pr.name, pr.multiProcessorCount);
    cudaDriverEntryPointQueryResult qr;
    CK(cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", reinterpret_cast<void **>(&encode), 12000, cudaEnableDefault, &qr));
    if (qr != cudaDriverEntryPointSuccess) { fprintf(stderr, "no cuTensorMapEncodeTiled\n"); return 1; }
    proto_init();
    const long H = 4096, I = 16384, maxT = 4096;
    __half *x, *w, *y, *yref;
    signed char *q, *qp;
    float *s;
    CK(cudaMalloc(&x, maxT * I * 2));
    CK(cudaMalloc(&y, maxT * I * 2));
    CK(cudaMalloc(&yref, maxT * I * 2));
    CK(cudaMalloc(&w, H * I * 2));
    CK(cudaMalloc(&q, H * I));
    CK(cudaMalloc(&qp, H * I));
    CK(cudaMalloc(&s, I * 4));
    float *part;
    CK(cudaMalloc(&part, maxT * I * 4));
    fill_h<<<1024, 256>>>(x, maxT * I, 1, 1.0f);
    fill_i8<<<1024, 256>>>(q, H * I, 2);
    fill_f<<<64, 256>>>(s, I, 1.0f / (127 * 64));
    repack_rs<<<1024, 256>>>(qp, q, H * I);
    CK(cudaDeviceSynchronize());
    const long shapes[][2] = {{I, H}, {H, I}};   // GEMM1 (N = I, K = H), GEMM2 (N = H, K = I)
    for (int ai = 1; ai < argc; ai++) {
        const long T = atol(argv[ai]);
        for (auto &sh : shapes) {
            prob p{T, sh[0], sh[1], x, w, yref, q, qp, s, part};
            cudaStream_t st;
            CK(cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking));
            enqueue(p, WHOLE, st);   // the reference (and w, the dequantized weight the f16 ways read)
            CK(cudaStreamSynchronize(st));
            CK(cudaGetLastError());
            p.y = y;
            std::vector<__half> b(T * p.N), a(T * p.N);
            CK(cudaMemcpy(b.data(), yref, b.size() * 2, cudaMemcpyDeviceToHost));
            printf("T=%-5ld N=%-5ld K=%-5ld", T, p.N, p.K);
            float best_lt = 0;
            for (int v = 0; v < NWAYS; v++) {
                CK(cudaMemset(y, 0xff, T * p.N * 2));   // poison: NaN halves
                enqueue(p, (way)v, st);
                CK(cudaStreamSynchronize(st));
                CK(cudaGetLastError());
                CK(cudaMemcpy(a.data(), y, a.size() * 2, cudaMemcpyDeviceToHost));
                double num = 0, den = 0;
                for (size_t i = 0; i < a.size(); i++) {
                    const double u = __half2float(a[i]), r = __half2float(b[i]);
                    if (u != u) { num = INFINITY; break; }
                    num += (u - r) * (u - r), den += r * r;
                }
                const float us = time_graph(st, [&](cudaStream_t s0) { enqueue(p, (way)v, s0); });
                if (v == LT_F16) best_lt = us;
                printf(" | %s %.1f us %.0f TF/s %.2fx err %.1e", way_name[v], us, 2.0 * T * p.N * p.K / us * 1e-6, us / best_lt,
                       std::sqrt(num / den));
                fflush(stdout);
            }
            printf("\n");
            cudaStreamDestroy(st);
        }
    }
    return 0;
}
