// mixed_gemm.cu — measurement only (not part of dsmlp): a GEMM that reads int8 weights and converts them in its main
// loop (no dequantized copy), y[t, n] = s[n] * sum_k x[t, k] q[n, k], against cuBLASLt on f16 weights and against
// main's way (dequantize the whole weight, then cuBLASLt). The question (issue 10, T > 128): how close does a plain
// mma.sync tile GEMM with the conversion in registers come to cuBLASLt's f16 rate?
//
// Tile: 128 weight rows x 128 tokens per block, k stages of 64 through cp.async (4 stages, 30 KB each); 8 warps,
// 4 across weight rows (32 each) x 2 across tokens (64 each). The k order inside each 16-wide step is permuted the
// same way for both operands so that a thread's four k values of a row are adjacent: one 32-bit shared load of four
// int8 codes (converted with one xor, two byte permutes and two hsub2: (b ^ 0x80) as an f16 1024 + u, minus 1152) and
// one 64-bit load of four x halves feed the A and B fragments of m16n8k16 (W is A: its rows are the output features).
//
//   nvcc -O3 -std=c++17 -gencode=arch=compute_90a,code=sm_90a bench/proto/mixed_gemm.cu -lcublasLt -o mixed_gemm
//   ./mixed_gemm 128 256 1024
#include "proto_cuda.cuh"

#include <cmath>

constexpr int BM = 128, BN = 128, BK = 64, THREADS = 256;
constexpr int WROW = BK + 16;         // bytes per weight row in a stage: 20 words, conflict-free 32-bit loads
constexpr int XROW = BK * 2 + 32;     // bytes per token row: 40 words, conflict-free 64-bit loads per half warp
constexpr int WST = BM * WROW, XST = BN * XROW, ST = WST + XST;
constexpr int OROW = BM + 8;          // halves per token row of the epilogue's transpose

// One accumulator fragment (features f, f + 8; tokens tk, tk + 1: the m16n8 C layout, which wgmma's D repeats per 8
// tokens), scaled by its features' scales, into the epilogue's [token][feature] staging tile.
__device__ __forceinline__ void put_frag(__half *os, int f, int tk, const float *d, float s0, float s1)
{
    os[tk * OROW + f] = __float2half_rn(d[0] * s0);
    os[(tk + 1) * OROW + f] = __float2half_rn(d[1] * s0);
    os[tk * OROW + f + 8] = __float2half_rn(d[2] * s1);
    os[(tk + 1) * OROW + f + 8] = __float2half_rn(d[3] * s1);
}

// A warp's 2 x NT accumulator fragments (features f0 + 16 mt + g, tokens tk0 + 8 nt + 2 c) into the staging tile.
template <int NT>
__device__ __forceinline__ void put_warp_tile(__half *os, const float (&acc)[2][NT][4], int f0, int tk0, const float *s, int n0)
{
    const int g = (threadIdx.x & 31) >> 2, c = threadIdx.x & 3;
#pragma unroll
    for (int mt = 0; mt < 2; mt++) {
        const int f = f0 + mt * 16 + g;
        const float s0 = s[n0 + f], s1 = s[n0 + f + 8];
#pragma unroll
        for (int nt = 0; nt < NT; nt++) put_frag(os, f, tk0 + nt * 8 + 2 * c, acc[mt][nt], s0, s1);
    }
}

// The staged tile (TN tokens x 128 features) to y[t0 .., n0 ..] in 16-byte stores; tokens past T are not stored.
template <int TN, int NTHREADS>
__device__ __forceinline__ void store_tile(__half *y, const __half *os, int t0, int n0, int T, int N)
{
    for (int i = threadIdx.x; i < TN * 16; i += NTHREADS) {
        const int tk = i >> 4, ch = i & 15;
        if (t0 + tk < T)
            *reinterpret_cast<uint4 *>(y + (size_t)(t0 + tk) * N + n0 + ch * 8) = *reinterpret_cast<const uint4 *>(os + tk * OROW + ch * 8);
    }
}

__device__ __forceinline__ void cp16(void *dst, const void *src)
{
    unsigned d = (unsigned)__cvta_generic_to_shared(dst);
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(d), "l"(src));
}
__device__ __forceinline__ void commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N> __device__ __forceinline__ void wait_groups() { asm volatile("cp.async.wait_group %0;\n" ::"n"(N)); }

// four int8 codes -> two half2 (codes 0,1 and 2,3), exact
__device__ __forceinline__ void cvt4(unsigned w, unsigned &lo, unsigned &hi)
{
    const unsigned u = w ^ 0x80808080u;
    unsigned l = __byte_perm(u, 0x64646464u, 0x4140), h = __byte_perm(u, 0x64646464u, 0x4342);
    const unsigned magic = 0x64806480u;   // 1152 = 1024 + 128 in both halves
    asm("sub.f16x2 %0, %1, %2;\n" : "=r"(lo) : "r"(l), "r"(magic));
    asm("sub.f16x2 %0, %1, %2;\n" : "=r"(hi) : "r"(h), "r"(magic));
}

__device__ __forceinline__ void mma(float (&d)[4], const unsigned (&a)[4], unsigned b0, unsigned b1)
{
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// y [T, N] f16; x [T, K] f16; q [N, K] int8; s [N] f32. N % 128 == 0, K % 64 == 0; any T.
template <int STAGES>
__global__ void __launch_bounds__(THREADS) mixed_gemm(__half *y, const __half *x, const signed char *q, const float *s, int T, int N, int K)
{
    extern __shared__ __align__(16) unsigned char sm[];
    const int n0 = blockIdx.x * BM, t0 = blockIdx.y * BN;
    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31, g = lane >> 2, c = lane & 3;
    const int wm = warp & 3, wn = warp >> 2;
    float acc[2][8][4];
#pragma unroll
    for (int i = 0; i < 2; i++)
#pragma unroll
        for (int j = 0; j < 8; j++) acc[i][j][0] = acc[i][j][1] = acc[i][j][2] = acc[i][j][3] = 0.0f;
    auto load = [&](int stage, int kt) {
        unsigned char *ws = sm + stage * ST, *xs = ws + WST;
        const int k0 = kt * BK;
#pragma unroll
        for (int i = tid; i < BM * 4; i += THREADS) cp16(ws + (i >> 2) * WROW + (i & 3) * 16, q + (size_t)(n0 + (i >> 2)) * K + k0 + (i & 3) * 16);
#pragma unroll
        for (int i = tid; i < BN * 8; i += THREADS) {
            const int t = min(t0 + (i >> 3), T - 1);   // rows past T are computed and not stored
            cp16(xs + (i >> 3) * XROW + (i & 7) * 16, x + (size_t)t * K + k0 + (i & 7) * 8);
        }
    };
    const int KT = K / BK;
#pragma unroll
    for (int st = 0; st < STAGES - 1; st++) {
        if (st < KT) load(st, st);
        commit();
    }
    for (int kt = 0; kt < KT; kt++) {
        wait_groups<STAGES - 2>();
        __syncthreads();   // stage kt landed for everyone; stage kt - 1 is no longer read
        if (kt + STAGES - 1 < KT) load((kt + STAGES - 1) % STAGES, kt + STAGES - 1);
        commit();
        const unsigned char *ws = sm + (kt % STAGES) * ST, *xs = ws + WST;
#pragma unroll
        for (int kk = 0; kk < BK / 16; kk++) {
            unsigned a[2][4];
#pragma unroll
            for (int mt = 0; mt < 2; mt++) {
                const int r = wm * 32 + mt * 16 + g;
                const unsigned w0 = *reinterpret_cast<const unsigned *>(ws + r * WROW + kk * 16 + 4 * c);
                const unsigned w1 = *reinterpret_cast<const unsigned *>(ws + (r + 8) * WROW + kk * 16 + 4 * c);
                cvt4(w0, a[mt][0], a[mt][2]);
                cvt4(w1, a[mt][1], a[mt][3]);
            }
#pragma unroll
            for (int nt = 0; nt < 8; nt++) {
                const uint2 b = *reinterpret_cast<const uint2 *>(xs + (wn * 64 + nt * 8 + g) * XROW + (kk * 16 + 4 * c) * 2);
#pragma unroll
                for (int mt = 0; mt < 2; mt++) mma(acc[mt][nt], a[mt], b.x, b.y);
            }
        }
    }
    wait_groups<0>();
    __syncthreads();
    // scale per output feature, transpose through shared memory, 16-byte stores of token rows
    __half *os = reinterpret_cast<__half *>(sm);
    put_warp_tile<8>(os, acc, wm * 32, wn * 64, s, n0);
    __syncthreads();
    store_tile<BN, THREADS>(y, os, t0, n0, T, N);
}

// Version 2: the weight repacked at load (as a quantize-at-load or upload step would write it): each 16-code group
// of a row in the order 0,1,8,9, 2,3,10,11, 4,5,12,13, 6,7,14,15 and stored as u = q + 128, so a thread's 32-bit
// load is its A fragment's four codes in the standard k order and two byte permutes + two hsub2 convert them; x in
// the standard order through ldmatrix.x4 (two n-tiles per instruction). 4 warps, each 32 weight rows x 128 tokens
// (32 MMAs per 16 k against 4 + 8 + 8 loads and conversions); 2 blocks per SM.
constexpr int BM2 = 128, BN2 = 128, THREADS2 = 128;
constexpr int XROW2 = BK * 2 + 16;    // 36 words: ldmatrix rows conflict-free
constexpr int WST2 = BM2 * WROW, XST2 = BN2 * XROW2, ST2 = WST2 + XST2;

__global__ void repack(unsigned char *qp, const signed char *q, long n)
{
    static const int from[16] = {0, 1, 8, 9, 2, 3, 10, 11, 4, 5, 12, 13, 6, 7, 14, 15};
    for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x)
        qp[i] = (unsigned char)(q[(i & ~15L) + from[i & 15]] + 128);
}

__device__ __forceinline__ void cvt4u(unsigned u, unsigned &lo, unsigned &hi)
{
    unsigned l = __byte_perm(u, 0x64646464u, 0x4140), h = __byte_perm(u, 0x64646464u, 0x4342);
    const unsigned magic = 0x64806480u;
    asm("sub.f16x2 %0, %1, %2;\n" : "=r"(lo) : "r"(l), "r"(magic));
    asm("sub.f16x2 %0, %1, %2;\n" : "=r"(hi) : "r"(h), "r"(magic));
}

template <int STAGES>
__global__ void __launch_bounds__(THREADS2, 2) mixed_gemm2(__half *y, const __half *x, const unsigned char *qp, const float *s, int T, int N, int K)
{
    extern __shared__ __align__(16) unsigned char sm[];
    const int n0 = blockIdx.x * BM2, t0 = blockIdx.y * BN2;
    const int tid = threadIdx.x, wm = tid >> 5, lane = tid & 31, g = lane >> 2, c = lane & 3;
    float acc[2][16][4];
#pragma unroll
    for (int i = 0; i < 2; i++)
#pragma unroll
        for (int j = 0; j < 16; j++) acc[i][j][0] = acc[i][j][1] = acc[i][j][2] = acc[i][j][3] = 0.0f;
    // this thread's copies: 4 weight chunks (rows tid / 4 + 32 j, chunk tid % 4) and 8 x chunks (rows tid / 8 + 16 j)
    const unsigned char *wsrc = qp + (size_t)(n0 + (tid >> 2)) * K + (tid & 3) * 16;
    const int wdst = (tid >> 2) * WROW + (tid & 3) * 16;
    const __half *xsrc[8];
#pragma unroll
    for (int j = 0; j < 8; j++) xsrc[j] = x + (size_t)min(t0 + (tid >> 3) + 16 * j, T - 1) * K + (tid & 7) * 8;
    const int xdst = (tid >> 3) * XROW2 + (tid & 7) * 16;
    auto load = [&](int stage, int kt) {
        unsigned char *ws = sm + stage * ST2, *xs = ws + WST2;
        const int k0 = kt * BK;
#pragma unroll
        for (int j = 0; j < 4; j++) cp16(ws + wdst + j * 32 * WROW, wsrc + (size_t)j * 32 * K + k0);
#pragma unroll
        for (int j = 0; j < 8; j++) cp16(xs + xdst + j * 16 * XROW2, xsrc[j] + k0);
    };
    // ldmatrix.x4 row address of this lane for n-tile pair 0, k half 0
    const int xld = ((lane & 7) + ((lane >> 4) << 3)) * XROW2 + ((lane >> 3) & 1) * 16;
    const int wld = (wm * 32 + g) * WROW + 4 * c;
    const int KT = K / BK;
#pragma unroll
    for (int st = 0; st < STAGES - 1; st++) {
        if (st < KT) load(st, st);
        commit();
    }
    for (int kt = 0; kt < KT; kt++) {
        wait_groups<STAGES - 2>();
        __syncthreads();
        if (kt + STAGES - 1 < KT) load((kt + STAGES - 1) % STAGES, kt + STAGES - 1);
        commit();
        const unsigned char *ws = sm + (kt % STAGES) * ST2, *xs = ws + WST2;
        const unsigned xs_s = (unsigned)__cvta_generic_to_shared(xs) + xld;
#pragma unroll
        for (int kk = 0; kk < BK / 16; kk++) {
            unsigned a[2][4];
#pragma unroll
            for (int mt = 0; mt < 2; mt++) {
                cvt4u(*reinterpret_cast<const unsigned *>(ws + wld + mt * 16 * WROW + kk * 16), a[mt][0], a[mt][2]);
                cvt4u(*reinterpret_cast<const unsigned *>(ws + wld + (mt * 16 + 8) * WROW + kk * 16), a[mt][1], a[mt][3]);
            }
#pragma unroll
            for (int np = 0; np < 8; np++) {
                unsigned b0, b1, b2, b3;
                asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                             : "=r"(b0), "=r"(b1), "=r"(b2), "=r"(b3)
                             : "r"(xs_s + np * 16 * XROW2 + kk * 32));
#pragma unroll
                for (int mt = 0; mt < 2; mt++) {
                    mma(acc[mt][2 * np], a[mt], b0, b1);
                    mma(acc[mt][2 * np + 1], a[mt], b2, b3);
                }
            }
        }
    }
    wait_groups<0>();
    __syncthreads();
    __half *os = reinterpret_cast<__half *>(sm);
    put_warp_tile<16>(os, acc, wm * 32, 0, s, n0);
    __syncthreads();
    store_tile<BN2, THREADS2>(y, os, t0, n0, T, N);
}

// Version 3 (sm_90a): wgmma with A from registers. NOT CORRECT YET: on the H200 it gave relative errors of 0.2-0.6
// (2026-12-02, before fence_operand was added). mixed_wgmma<BN, 4, 0> waits for each stage's wgmmas before the
// next stage's conversion, to tell whether the in-flight A registers are the cause, and every version now fences
// the accumulators around the async wgmmas; neither has run on a card yet (no device time was left). Each warpgroup owns 64 weight rows; its four warps convert their
// 16 rows' codes (repacked as for version 2) into the mma.sync A layout, which is wgmma's register A layout per warp,
// and one m64nBNk16 wgmma per 16 k multiplies them with BN tokens of x read from shared memory through a descriptor
// (no-swizzle core matrices: token n, k chunk q of 8 at (n / 8) * 1024 + q * 128 + (n % 8) * 16 for 64-k stages).
// Two warpgroups (128 weight rows) per block; the conversion is 10 instructions per warp per wgmma. Stages: S
// buffers, S - 2 loads ahead, one stage's wgmmas in flight while the next is converted and issued.
__device__ __forceinline__ unsigned long long wg_desc(unsigned saddr)
{
    return (unsigned long long)((saddr & 0x3ffff) >> 4) | (unsigned long long)(128 >> 4) << 16 | (unsigned long long)(1024 >> 4) << 32;
}
__device__ __forceinline__ void wg_n128(float (&d)[64], const unsigned (&a)[4], unsigned long long b)
{
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, 1, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n128k16.f32.f16.f16 "
                 "{%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15,%16,%17,%18,%19,%20,%21,%22,%23,%24,%25,%26,%27,%28,%29,%30,%31,%32,%33,%34,%35,%36,%37,%38,%39,%40,%41,%42,%43,%44,%45,%46,%47,%48,%49,%50,%51,%52,%53,%54,%55,%56,%57,%58,%59,%60,%61,%62,%63}, {%64,%65,%66,%67}, %68, p, 1, 1, 0;\n}\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b));
}

__device__ __forceinline__ void wg_n256(float (&d)[128], const unsigned (&a)[4], unsigned long long b)
{
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, 1, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n256k16.f32.f16.f16 "
                 "{%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15,%16,%17,%18,%19,%20,%21,%22,%23,%24,%25,%26,%27,%28,%29,%30,%31,%32,%33,%34,%35,%36,%37,%38,%39,%40,%41,%42,%43,%44,%45,%46,%47,%48,%49,%50,%51,%52,%53,%54,%55,%56,%57,%58,%59,%60,%61,%62,%63,%64,%65,%66,%67,%68,%69,%70,%71,%72,%73,%74,%75,%76,%77,%78,%79,%80,%81,%82,%83,%84,%85,%86,%87,%88,%89,%90,%91,%92,%93,%94,%95,%96,%97,%98,%99,%100,%101,%102,%103,%104,%105,%106,%107,%108,%109,%110,%111,%112,%113,%114,%115,%116,%117,%118,%119,%120,%121,%122,%123,%124,%125,%126,%127}, {%128,%129,%130,%131}, %132, p, 1, 1, 0;\n}\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63]), "+f"(d[64]), "+f"(d[65]), "+f"(d[66]), "+f"(d[67]), "+f"(d[68]), "+f"(d[69]), "+f"(d[70]), "+f"(d[71]), "+f"(d[72]), "+f"(d[73]), "+f"(d[74]), "+f"(d[75]), "+f"(d[76]), "+f"(d[77]), "+f"(d[78]), "+f"(d[79]), "+f"(d[80]), "+f"(d[81]), "+f"(d[82]), "+f"(d[83]), "+f"(d[84]), "+f"(d[85]), "+f"(d[86]), "+f"(d[87]), "+f"(d[88]), "+f"(d[89]), "+f"(d[90]), "+f"(d[91]), "+f"(d[92]), "+f"(d[93]), "+f"(d[94]), "+f"(d[95]), "+f"(d[96]), "+f"(d[97]), "+f"(d[98]), "+f"(d[99]), "+f"(d[100]), "+f"(d[101]), "+f"(d[102]), "+f"(d[103]), "+f"(d[104]), "+f"(d[105]), "+f"(d[106]), "+f"(d[107]), "+f"(d[108]), "+f"(d[109]), "+f"(d[110]), "+f"(d[111]), "+f"(d[112]), "+f"(d[113]), "+f"(d[114]), "+f"(d[115]), "+f"(d[116]), "+f"(d[117]), "+f"(d[118]), "+f"(d[119]), "+f"(d[120]), "+f"(d[121]), "+f"(d[122]), "+f"(d[123]), "+f"(d[124]), "+f"(d[125]), "+f"(d[126]), "+f"(d[127])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b));
}

// Keeps the compiler from moving accumulator reads or writes across this point (wgmma writes them asynchronously).
template <int NR> __device__ __forceinline__ void fence_operand(float (&d)[NR])
{
#pragma unroll
    for (int i = 0; i < NR; i++) asm volatile("" : "+f"(d[i])::"memory");
}

template <int BN> struct wg_acc;
template <> struct wg_acc<128> { static __device__ __forceinline__ void mma(float (&d)[64], const unsigned (&a)[4], unsigned long long b) { wg_n128(d, a, b); } };
template <> struct wg_acc<256> { static __device__ __forceinline__ void mma(float (&d)[128], const unsigned (&a)[4], unsigned long long b) { wg_n256(d, a, b); } };

constexpr int BM3 = 128, THREADS3 = 256;
template <int BN> __host__ __device__ constexpr int st3() { return BM3 * WROW + BN * BK * 2; }

template <int BN, int S, int INFLIGHT = 1>
__global__ void __launch_bounds__(THREADS3) mixed_wgmma(__half *y, const __half *x, const unsigned char *qp, const float *s, int T, int N, int K)
{
    extern __shared__ __align__(16) unsigned char sm[];
    constexpr int ST3 = st3<BN>(), XOFF = BM3 * WROW;   // stages and x at 16-byte multiples (no-swizzle descriptors)
    const int n0 = blockIdx.x * BM3, t0 = blockIdx.y * BN;
    const int tid = threadIdx.x, wg = tid >> 7, w = (tid >> 5) & 3, lane = tid & 31, g = lane >> 2, c = lane & 3;
    float d[BN / 2];
#pragma unroll
    for (int i = 0; i < BN / 2; i++) d[i] = 0.0f;
    const unsigned char *wsrc = qp + (size_t)(n0 + (tid >> 2)) * K + (tid & 3) * 16;   // rows tid / 4 and + 64
    const int wdst = (tid >> 2) * WROW + (tid & 3) * 16;
    auto load = [&](int stage, int kt) {
        unsigned char *ws = sm + stage * ST3, *xs = ws + XOFF;
        const int k0 = kt * BK;
#pragma unroll
        for (int j = 0; j < 2; j++) cp16(ws + wdst + j * 64 * WROW, wsrc + (size_t)j * 64 * K + k0);
#pragma unroll
        for (int j = 0; j < BN * 8 / THREADS3; j++) {
            const int i = tid + j * THREADS3, n = i >> 3, q = i & 7;
            cp16(xs + (n >> 3) * 1024 + q * 128 + (n & 7) * 16, x + (size_t)min(t0 + n, T - 1) * K + k0 + q * 8);
        }
    };
    const int wld = (wg * 64 + w * 16 + g) * WROW + 4 * c;
    const int KT = K / BK;
#pragma unroll
    for (int st = 0; st < S - 2; st++) {
        if (st < KT) load(st, st);
        commit();
    }
    for (int kt = 0; kt < KT; kt++) {
        if (kt + S - 2 < KT) load((kt + S - 2) % S, kt + S - 2);   // into the buffer of stage kt - 2 (its wgmmas are done)
        commit();
        wait_groups<S - 2>();
        asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");   // cp.async's writes, seen by wgmma's reads
        __syncthreads();   // stage kt landed for everyone
        const unsigned char *ws = sm + (kt % S) * ST3;
        const unsigned xs_s = (unsigned)__cvta_generic_to_shared(ws + XOFF);
        unsigned a[4][4];
#pragma unroll
        for (int kk = 0; kk < 4; kk++) {
            cvt4u(*reinterpret_cast<const unsigned *>(ws + wld + kk * 16), a[kk][0], a[kk][2]);
            cvt4u(*reinterpret_cast<const unsigned *>(ws + wld + 8 * WROW + kk * 16), a[kk][1], a[kk][3]);
        }
        fence_operand(d);
        asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
#pragma unroll
        for (int kk = 0; kk < 4; kk++) wg_acc<BN>::mma(d, a[kk], wg_desc(xs_s + kk * 256));
        asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
        fence_operand(d);
        asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(INFLIGHT) : "memory");
        fence_operand(d);
        __syncthreads();   // every warpgroup's wgmmas of stage kt - 1 are done: its buffer may be refilled next
    }
    asm volatile("wgmma.wait_group.sync.aligned 0;\n" ::: "memory");
    fence_operand(d);
    wait_groups<0>();
    __syncthreads();
    __half *os = reinterpret_cast<__half *>(sm);
    const int f = wg * 64 + w * 16 + g;
    const float s0 = s[n0 + f], s1 = s[n0 + f + 8];
#pragma unroll
    for (int j = 0; j < BN / 8; j++) put_frag(os, f, 8 * j + 2 * c, d + 4 * j, s0, s1);
    __syncthreads();
    store_tile<BN, THREADS3>(y, os, t0, n0, T, N);
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
// y[T, N] = x[T, K] . W[N, K]^T, all f16 row-major
static void lt_gemm(cudaStream_t st, const __half *W, const __half *x, __half *y, long T, long N, long K)
{
    gemm(st, W, K, x, K, y, N, CUDA_R_16F, N, T, K, 0.0f);
}

struct prob { long T, N, K; __half *x, *w, *y; signed char *q; float *s; unsigned char *qp; };
enum way { F16, WHOLE, MIXED3, MIXED4, MIXED2_3, MIXED2_4, WG128, WG256, WG128_SERIAL, WG256_SERIAL };

static void enqueue(const prob &p, way wy, cudaStream_t st)
{
    if (wy == F16) lt_gemm(st, p.w, p.x, p.y, p.T, p.N, p.K);
    else if (wy == WHOLE) {
        deq<<<dim3((unsigned)((p.K / 8 + 255) / 256), (unsigned)p.N), 256, 0, st>>>(p.w, p.q, p.s, p.K);
        lt_gemm(st, p.w, p.x, p.y, p.T, p.N, p.K);
    } else {
        const dim3 grid((unsigned)(p.N / BM), (unsigned)((p.T + BN - 1) / BN));
        const dim3 grid2((unsigned)(p.N / BM2), (unsigned)((p.T + BN2 - 1) / BN2));
        if (wy == MIXED3) mixed_gemm<3><<<grid, THREADS, 3 * ST, st>>>(p.y, p.x, p.q, p.s, (int)p.T, (int)p.N, (int)p.K);
        else if (wy == MIXED4) mixed_gemm<4><<<grid, THREADS, 4 * ST, st>>>(p.y, p.x, p.q, p.s, (int)p.T, (int)p.N, (int)p.K);
        else if (wy == MIXED2_3) mixed_gemm2<3><<<grid2, THREADS2, 3 * ST2, st>>>(p.y, p.x, p.qp, p.s, (int)p.T, (int)p.N, (int)p.K);
        else if (wy == MIXED2_4) mixed_gemm2<4><<<grid2, THREADS2, 4 * ST2, st>>>(p.y, p.x, p.qp, p.s, (int)p.T, (int)p.N, (int)p.K);
        else if (wy == WG128) mixed_wgmma<128, 4><<<dim3((unsigned)(p.N / BM3), (unsigned)((p.T + 127) / 128)), THREADS3, 4 * st3<128>(), st>>>(p.y, p.x, p.qp, p.s, (int)p.T, (int)p.N, (int)p.K);
        else if (wy == WG256_SERIAL) mixed_wgmma<256, 4, 0><<<dim3((unsigned)(p.N / BM3), (unsigned)((p.T + 255) / 256)), THREADS3, 4 * st3<256>(), st>>>(p.y, p.x, p.qp, p.s, (int)p.T, (int)p.N, (int)p.K);
        else if (wy == WG128_SERIAL) mixed_wgmma<128, 4, 0><<<dim3((unsigned)(p.N / BM3), (unsigned)((p.T + 127) / 128)), THREADS3, 4 * st3<128>(), st>>>(p.y, p.x, p.qp, p.s, (int)p.T, (int)p.N, (int)p.K);
        else mixed_wgmma<256, 4><<<dim3((unsigned)(p.N / BM3), (unsigned)((p.T + 255) / 256)), THREADS3, 4 * st3<256>(), st>>>(p.y, p.x, p.qp, p.s, (int)p.T, (int)p.N, (int)p.K);
    }
}

static float time_way(const prob &p, way wy)
{
    cudaStream_t st;
    CK(cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking));
    const float us = time_graph(st, [&](cudaStream_t s0) { enqueue(p, wy, s0); });
    cudaStreamDestroy(st);
    return us;
}

int main(int argc, char **argv)
{
    cudaDeviceProp pr;
    CK(cudaGetDeviceProperties(&pr, 0));
    printf("card %s, %d SMs\n", pr.name, pr.multiProcessorCount);
    proto_init();
    CK(cudaFuncSetAttribute(mixed_gemm<3>, cudaFuncAttributeMaxDynamicSharedMemorySize, 3 * ST));
    CK(cudaFuncSetAttribute(mixed_gemm<4>, cudaFuncAttributeMaxDynamicSharedMemorySize, 4 * ST));
    CK(cudaFuncSetAttribute(mixed_gemm2<3>, cudaFuncAttributeMaxDynamicSharedMemorySize, 3 * ST2));
    CK(cudaFuncSetAttribute(mixed_gemm2<4>, cudaFuncAttributeMaxDynamicSharedMemorySize, 4 * ST2));
    CK(cudaFuncSetAttribute(mixed_wgmma<128, 4>, cudaFuncAttributeMaxDynamicSharedMemorySize, 4 * st3<128>()));
    CK(cudaFuncSetAttribute(mixed_wgmma<256, 4>, cudaFuncAttributeMaxDynamicSharedMemorySize, 4 * st3<256>()));
    CK(cudaFuncSetAttribute(mixed_wgmma<128, 4, 0>, cudaFuncAttributeMaxDynamicSharedMemorySize, 4 * st3<128>()));
    CK(cudaFuncSetAttribute(mixed_wgmma<256, 4, 0>, cudaFuncAttributeMaxDynamicSharedMemorySize, 4 * st3<256>()));
    const long H = 4096, I = 16384, maxT = 4096;
    __half *x, *w, *y, *yref;
    signed char *q;
    float *s;
    CK(cudaMalloc(&x, maxT * I * 2));
    CK(cudaMalloc(&y, maxT * I * 2));
    CK(cudaMalloc(&yref, maxT * I * 2));
    CK(cudaMalloc(&w, H * I * 2));
    CK(cudaMalloc(&q, H * I));
    CK(cudaMalloc(&s, I * 4));
    unsigned char *qp;
    CK(cudaMalloc(&qp, H * I));
    fill_h<<<1024, 256>>>(x, maxT * I, 1, 1.0f);
    fill_i8<<<1024, 256>>>(q, H * I, 2);
    fill_f<<<64, 256>>>(s, I, 1.0f / (127 * 64));
    repack<<<1024, 256>>>(qp, q, H * I);
    CK(cudaDeviceSynchronize());
    const long shapes[][2] = {{I, H}, {H, I}};   // GEMM1 (N = I, K = H), GEMM2 (N = H, K = I)
    for (int ai = 1; ai < argc; ai++) {
        const long T = atol(argv[ai]);
        for (auto &sh : shapes) {
            prob p{T, sh[0], sh[1], x, w, yref, q, s, qp};
            // reference: cuBLASLt on the dequantized weight; then the mixed kernel, poisoned output first
            cudaStream_t st;
            CK(cudaStreamCreate(&st));
            enqueue(p, WHOLE, st);
            CK(cudaStreamSynchronize(st));
            p.y = y;
            std::vector<__half> b(T * p.N), a(T * p.N);
            CK(cudaMemcpy(b.data(), yref, b.size() * 2, cudaMemcpyDeviceToHost));
            double err[8];
            for (int v = 0; v < 8; v++) {
                CK(cudaMemset(y, 0xff, T * p.N * 2));
                enqueue(p, (way)(MIXED3 + v), st);
                CK(cudaStreamSynchronize(st));
                CK(cudaGetLastError());
                CK(cudaMemcpy(a.data(), y, a.size() * 2, cudaMemcpyDeviceToHost));
                double num = 0, den = 0;
                for (size_t i = 0; i < a.size(); i++) {
                    double u = __half2float(a[i]), w_ = __half2float(b[i]);
                    num += (u - w_) * (u - w_), den += w_ * w_;
                    if (u != u) { num = INFINITY; break; }
                }
                err[v] = std::sqrt(num / den);
            }
            cudaStreamDestroy(st);
            const float f16 = time_way(p, F16), whole = time_way(p, WHOLE), m3 = time_way(p, MIXED3), m4 = time_way(p, MIXED4);
            const float v3 = time_way(p, MIXED2_3), v4 = time_way(p, MIXED2_4);
            const float g128 = time_way(p, WG128), g256 = time_way(p, WG256), gser = time_way(p, WG128_SERIAL), gser2 = time_way(p, WG256_SERIAL);
            const float mixed = std::min(std::min(std::min(m3, m4), std::min(v3, v4)), std::min(g128, g256));
            const double flop = 2.0 * T * p.N * p.K;
            printf("T=%-5ld N=%-5ld K=%-5ld  cuBLASLt f16 %7.1f us (%4.0f TFLOP/s)  dequant+cuBLASLt %7.1f  v1 3/4 stages %7.1f "
                   "%7.1f  v2 3/4 stages %7.1f %7.1f  v3 wgmma n128/n256 %7.1f %7.1f us (best %4.0f TFLOP/s, %.2fx f16, %.2fx "
                   "dequant+f16)  rel err %.1e %.1e %.1e %.1e %.1e %.1e  | v3 no stage in flight n128 %7.1f us, n256 %7.1f us, rel err %.1e %.1e\n",
                   T, p.N, p.K, f16, flop / f16 * 1e-6, whole, m3, m4, v3, v4, g128, g256, flop / mixed * 1e-6, mixed / f16,
                   mixed / whole, err[0], err[1], err[2], err[3], err[4], err[5], gser, gser2, err[6], err[7]);
            fflush(stdout);
        }
    }
    return 0;
}
