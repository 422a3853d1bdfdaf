// igmma_x2.cu — measurement only (not part of dsmlp). Issue 10 at T = 65..1024: the code GEMMs on the int8 tensor
// cores, x given as two int8 planes (eighty-fourth session; bench/proto/x16fix_error.py has the accuracy: 16-bit
// fixed point a token errs 0.2-1.3x as much as f16 x).
//
// x [T, K] is q = 256 hi + lo a token (|q| <= 32639, s_t = max_k |x_tk| / 32639), so
//   y[t, n] = s_w[n] s_t (256 sum_k q[n, k] hi[t, k] + sum_k q[n, k] lo[t, k])
// with exact s32 sums: one s8 x s8 GEMM of the codes with 2T "tokens" (a tile's TOK tokens' hi rows, then their lo
// rows: the wgmma's n = 2 TOK), twice the f16 rate, both operands from shared memory as the copy engine writes them,
// no conversion in the main loop. A thread's accumulators hold a row's hi and lo sums of the same token (columns j and
// j + TOK), so the epilogue joins them in registers. Against today's code kernels (templates/mixed.cu: every code
// converted to f16 in registers, an f16 wgmma; GELU-4096's first GEMM at T = 128 33.95 us on an H100, 54% of the
// tensor pipe) and cuBLASLt's f16 GEMM on the same shapes, in one process.
//
// Block: 384 threads. Warpgroup 0's first thread issues the copies (codes: 128 rows x 128 k; planes: TOK x 128 k of
// hi, then of lo; the 128-byte swizzle); warpgroups 1 and 2 take 64 code rows each: per stage four
// wgmma.m64n{2 TOK}k32.s32.s8.s8, wait_group 1, the stage before released. Epilogue: joined and scaled sums to shared
// memory as [token][row], then coalesced f16 stores of y [T, N]. N % 128 == 0, K % 128 == 0, T % TOK == 0. Grids
// under half the SMs split k (f32 parts, then a reduction kernel: the time includes it). Last, what planes made from
// f16 by a pass of their own cost (quant_planes: the second GEMM's h, unless the first GEMM gathers its maxima).
//
//   nvcc -O3 -std=c++17 -gencode=arch=compute_90a,code=sm_90a bench/proto/igmma_x2.cu -lcublasLt -lcuda -o igmma_x2
//   ./igmma_x2 128 1024        (T values; each runs GELU-4096's two GEMM shapes and SwiGLU-4096's [up | gate])
#include "proto_cuda.cuh"
#include "proto_hopper.cuh"

#include <cuda.h>
#include <cudaTypedefs.h>

#include <cmath>
#include <cstdint>
#include <random>

constexpr int BKB = 128, ROWS = 128, THREADS = 384;   // k a stage (bytes = k for int8), code rows a block
template <int TOK> struct lay {
    static constexpr int qb = ROWS * BKB, pb = 2 * TOK * BKB, stage = qb + pb;   // codes, then hi and lo planes
    static constexpr int stages = (200 * 1024) / stage;
    static constexpr int bar = stages * stage, bytes = bar + 16 * stages + 1024;   // + room to align to 1024
    static constexpr int OR = ROWS + 4;                                             // floats a staged token row
    static_assert(TOK * OR * 4 <= bar, "the epilogue's staging fits the stages");
};

template <int NR> __device__ __forceinline__ void fence_i(int (&d)[NR])
{
#pragma unroll
    for (int i = 0; i < NR; i++) asm volatile("" : "+r"(d[i])::"memory");
}

// One m64n{2 TOK}k32 s8 x s8 -> s32 wgmma, both operands through descriptors (d += A B when acc, else d = A B).
#define WG_REGS32 "{%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15,%16,%17,%18,%19,%20,%21,%22,%23,%24,%25,%26,%27,%28,%29,%30,%31}"
template <int TOK> __device__ __forceinline__ void igmma(int (&d)[TOK], uint64_t da, uint64_t db);
template <> __device__ __forceinline__ void igmma<128>(int (&d)[128], uint64_t da, uint64_t db)
{
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, 1, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n256k32.s32.s8.s8 "
                 "{%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15,%16,%17,%18,%19,%20,%21,%22,%23,%24,%25,%26,%27,%28,%29,%30,%31,%32,%33,%34,%35,%36,%37,%38,%39,%40,%41,%42,%43,%44,%45,%46,%47,%48,%49,%50,%51,%52,%53,%54,%55,%56,%57,%58,%59,%60,%61,%62,%63,%64,%65,%66,%67,%68,%69,%70,%71,%72,%73,%74,%75,%76,%77,%78,%79,%80,%81,%82,%83,%84,%85,%86,%87,%88,%89,%90,%91,%92,%93,%94,%95,%96,%97,%98,%99,%100,%101,%102,%103,%104,%105,%106,%107,%108,%109,%110,%111,%112,%113,%114,%115,%116,%117,%118,%119,%120,%121,%122,%123,%124,%125,%126,%127}, %128, %129, p;\n}\n"
                 : "+r"(d[0]), "+r"(d[1]), "+r"(d[2]), "+r"(d[3]), "+r"(d[4]), "+r"(d[5]), "+r"(d[6]), "+r"(d[7]), "+r"(d[8]), "+r"(d[9]), "+r"(d[10]), "+r"(d[11]), "+r"(d[12]), "+r"(d[13]), "+r"(d[14]), "+r"(d[15]), "+r"(d[16]), "+r"(d[17]), "+r"(d[18]), "+r"(d[19]), "+r"(d[20]), "+r"(d[21]), "+r"(d[22]), "+r"(d[23]), "+r"(d[24]), "+r"(d[25]), "+r"(d[26]), "+r"(d[27]), "+r"(d[28]), "+r"(d[29]), "+r"(d[30]), "+r"(d[31]), "+r"(d[32]), "+r"(d[33]), "+r"(d[34]), "+r"(d[35]), "+r"(d[36]), "+r"(d[37]), "+r"(d[38]), "+r"(d[39]), "+r"(d[40]), "+r"(d[41]), "+r"(d[42]), "+r"(d[43]), "+r"(d[44]), "+r"(d[45]), "+r"(d[46]), "+r"(d[47]), "+r"(d[48]), "+r"(d[49]), "+r"(d[50]), "+r"(d[51]), "+r"(d[52]), "+r"(d[53]), "+r"(d[54]), "+r"(d[55]), "+r"(d[56]), "+r"(d[57]), "+r"(d[58]), "+r"(d[59]), "+r"(d[60]), "+r"(d[61]), "+r"(d[62]), "+r"(d[63]), "+r"(d[64]), "+r"(d[65]), "+r"(d[66]), "+r"(d[67]), "+r"(d[68]), "+r"(d[69]), "+r"(d[70]), "+r"(d[71]), "+r"(d[72]), "+r"(d[73]), "+r"(d[74]), "+r"(d[75]), "+r"(d[76]), "+r"(d[77]), "+r"(d[78]), "+r"(d[79]), "+r"(d[80]), "+r"(d[81]), "+r"(d[82]), "+r"(d[83]), "+r"(d[84]), "+r"(d[85]), "+r"(d[86]), "+r"(d[87]), "+r"(d[88]), "+r"(d[89]), "+r"(d[90]), "+r"(d[91]), "+r"(d[92]), "+r"(d[93]), "+r"(d[94]), "+r"(d[95]), "+r"(d[96]), "+r"(d[97]), "+r"(d[98]), "+r"(d[99]), "+r"(d[100]), "+r"(d[101]), "+r"(d[102]), "+r"(d[103]), "+r"(d[104]), "+r"(d[105]), "+r"(d[106]), "+r"(d[107]), "+r"(d[108]), "+r"(d[109]), "+r"(d[110]), "+r"(d[111]), "+r"(d[112]), "+r"(d[113]), "+r"(d[114]), "+r"(d[115]), "+r"(d[116]), "+r"(d[117]), "+r"(d[118]), "+r"(d[119]), "+r"(d[120]), "+r"(d[121]), "+r"(d[122]), "+r"(d[123]), "+r"(d[124]), "+r"(d[125]), "+r"(d[126]), "+r"(d[127])
                 : "l"(da), "l"(db));
}
template <> __device__ __forceinline__ void igmma<64>(int (&d)[64], uint64_t da, uint64_t db)
{
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, 1, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n128k32.s32.s8.s8 "
                 "{%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15,%16,%17,%18,%19,%20,%21,%22,%23,%24,%25,%26,%27,%28,%29,%30,%31,%32,%33,%34,%35,%36,%37,%38,%39,%40,%41,%42,%43,%44,%45,%46,%47,%48,%49,%50,%51,%52,%53,%54,%55,%56,%57,%58,%59,%60,%61,%62,%63}, %64, %65, p;\n}\n"
                 : "+r"(d[0]), "+r"(d[1]), "+r"(d[2]), "+r"(d[3]), "+r"(d[4]), "+r"(d[5]), "+r"(d[6]), "+r"(d[7]), "+r"(d[8]), "+r"(d[9]), "+r"(d[10]), "+r"(d[11]), "+r"(d[12]), "+r"(d[13]), "+r"(d[14]), "+r"(d[15]), "+r"(d[16]), "+r"(d[17]), "+r"(d[18]), "+r"(d[19]), "+r"(d[20]), "+r"(d[21]), "+r"(d[22]), "+r"(d[23]), "+r"(d[24]), "+r"(d[25]), "+r"(d[26]), "+r"(d[27]), "+r"(d[28]), "+r"(d[29]), "+r"(d[30]), "+r"(d[31]), "+r"(d[32]), "+r"(d[33]), "+r"(d[34]), "+r"(d[35]), "+r"(d[36]), "+r"(d[37]), "+r"(d[38]), "+r"(d[39]), "+r"(d[40]), "+r"(d[41]), "+r"(d[42]), "+r"(d[43]), "+r"(d[44]), "+r"(d[45]), "+r"(d[46]), "+r"(d[47]), "+r"(d[48]), "+r"(d[49]), "+r"(d[50]), "+r"(d[51]), "+r"(d[52]), "+r"(d[53]), "+r"(d[54]), "+r"(d[55]), "+r"(d[56]), "+r"(d[57]), "+r"(d[58]), "+r"(d[59]), "+r"(d[60]), "+r"(d[61]), "+r"(d[62]), "+r"(d[63])
                 : "l"(da), "l"(db));
}

// y [T, N] f16 = s_w[n] s_x[t] (256 W.hi + W.lo); tq: codes [N, K]; th, tl: planes [T, K]; sw [N], sx [T] f32.
// gridDim.z = S > 1 splits k: block z takes k blocks [z KT, (z + 1) KT) and stores its f32 sums to part [S, T, N]
// (plain stores; reduce_parts adds them into y), for grids under the SMs (GEMM2's 32 row tiles at T = 128).
template <int TOK>
__global__ void __launch_bounds__(THREADS, 1) igmma_gemm(const __grid_constant__ CUtensorMap tq, const __grid_constant__ CUtensorMap th,
                                                        const __grid_constant__ CUtensorMap tl, __half *__restrict__ y,
                                                        const float *__restrict__ sw, const float *__restrict__ sx, int N, int K,
                                                        float *__restrict__ part)
{
    using L = lay<TOK>;
    constexpr int S = L::stages;
    extern __shared__ unsigned char sm_raw[];
    unsigned char *sm = sm_raw + ((1024 - (sa(sm_raw) & 1023)) & 1023);
    uint64_t *full = reinterpret_cast<uint64_t *>(sm + L::bar), *empty = full + S;
    const int tid = threadIdx.x, wg = tid >> 7, t0 = blockIdx.x * TOK, n0 = blockIdx.y * ROWS, KT = K / BKB / (int)gridDim.z;
    const int kb0 = (int)blockIdx.z * KT;
    if (tid == 0) {
        for (int i = 0; i < S; i++) bar_init(full + i, 1), bar_init(empty + i, 2);
        asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
    }
    __syncthreads();
    if (wg == 0) {
        asm volatile("setmaxnreg.dec.sync.aligned.u32 40;\n");
        if (tid == 0)
            for (int kt = 0; kt < KT; kt++) {
                const int s = kt % S;
                if (kt >= S) bar_wait(empty + s, ((kt / S) & 1) ^ 1);
                bar_expect(full + s, L::stage);
                unsigned char *st = sm + s * L::stage;
                tma2(st, &tq, (kb0 + kt) * BKB, n0, full + s);
                tma2(st + L::qb, &th, (kb0 + kt) * BKB, t0, full + s);
                tma2(st + L::qb + TOK * BKB, &tl, (kb0 + kt) * BKB, t0, full + s);
            }
        return;
    }
    asm volatile("setmaxnreg.inc.sync.aligned.u32 232;\n");
    const int cw = wg - 1, w4 = (tid >> 5) & 3, lane = tid & 31, g = lane >> 2, c = lane & 3;
    int d[TOK];   // m64 x n(2 TOK) s32: hi sums in columns < TOK, lo sums in columns TOK + t
#pragma unroll
    for (int i = 0; i < TOK; i++) d[i] = 0;
    for (int kt = 0; kt < KT; kt++) {
        const int s = kt % S;
        bar_wait(full + s, (kt / S) & 1);
        const unsigned qa = sa(sm + s * L::stage) + cw * 64 * 128, pa = sa(sm + s * L::stage + L::qb);
        fence_i(d);
        asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
#pragma unroll
        for (int kk = 0; kk < 4; kk++) igmma<TOK>(d, desc128(qa) + 2 * kk, desc128(pa) + 2 * kk);   // 32 bytes a k32 step
        asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
        fence_i(d);
        asm volatile("wgmma.wait_group.sync.aligned 1;\n" ::: "memory");
        fence_i(d);
        if (kt > 0 && (tid & 127) == 0) bar_arrive(empty + (kt - 1) % S);
    }
    asm volatile("wgmma.wait_group.sync.aligned 0;\n" ::: "memory");
    fence_i(d);
    // Epilogue: thread's rows f, f + 8; its columns 8j + 2c (+1): token 8j + 2c (+1) for j < TOK / 8, whose lo sums
    // sit TOK / 8 column groups further (d[4 (j + TOK / 8) + e])
    asm volatile("bar.sync 1, 256;\n" ::: "memory");   // both warpgroups are done with the stages
    float *os = reinterpret_cast<float *>(sm);
    const int f = cw * 64 + w4 * 16 + g;
    const float w0 = sw[n0 + f], w1 = sw[n0 + f + 8];
#pragma unroll
    for (int j = 0; j < TOK / 8; j++) {
        const int tk = 8 * j + 2 * c;
        const float x0 = sx[t0 + tk], x1 = sx[t0 + tk + 1];
        const int *h = d + 4 * j, *l = d + 4 * (j + TOK / 8);
        os[tk * L::OR + f] = w0 * x0 * (256.0f * (float)h[0] + (float)l[0]);
        os[(tk + 1) * L::OR + f] = w0 * x1 * (256.0f * (float)h[1] + (float)l[1]);
        os[tk * L::OR + f + 8] = w1 * x0 * (256.0f * (float)h[2] + (float)l[2]);
        os[(tk + 1) * L::OR + f + 8] = w1 * x1 * (256.0f * (float)h[3] + (float)l[3]);
    }
    asm volatile("bar.sync 1, 256;\n" ::: "memory");
    for (int i = tid - 128; i < TOK * (ROWS / 4); i += 256) {   // (token, 4 rows) items: 8-byte stores
        const int tk = i / (ROWS / 4), r4 = (i % (ROWS / 4)) * 4;
        const float4 v = *reinterpret_cast<const float4 *>(os + tk * L::OR + r4);
        if (gridDim.z > 1) {
            *reinterpret_cast<float4 *>(part + ((size_t)blockIdx.z * gridDim.x * TOK + t0 + tk) * N + n0 + r4) = v;
            continue;
        }
        const __half2 a = __floats2half2_rn(v.x, v.y), b = __floats2half2_rn(v.z, v.w);
        uint2 u;
        u.x = *reinterpret_cast<const unsigned *>(&a), u.y = *reinterpret_cast<const unsigned *>(&b);
        *reinterpret_cast<uint2 *>(y + (size_t)(t0 + tk) * N + n0 + r4) = u;
    }
}

__global__ void reduce_parts(__half *__restrict__ y, const float *__restrict__ part, long n4, int S)   // n4: float4s of [T, N]
{
    for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < n4; i += (long)gridDim.x * blockDim.x) {
        float4 v = reinterpret_cast<const float4 *>(part)[i];
        for (int z = 1; z < S; z++) {
            const float4 u = reinterpret_cast<const float4 *>(part)[z * n4 + i];
            v.x += u.x, v.y += u.y, v.z += u.z, v.w += u.w;
        }
        const __half2 a = __floats2half2_rn(v.x, v.y), b = __floats2half2_rn(v.z, v.w);
        uint2 o;
        o.x = *reinterpret_cast<const unsigned *>(&a), o.y = *reinterpret_cast<const unsigned *>(&b);
        reinterpret_cast<uint2 *>(y)[i] = o;
    }
}

// What the second GEMM's planes would cost as a pass of their own: h [T, K] f16 -> hi, lo [T, K] int8 and s [T], one
// block a token (its maximum, then the planes); the first GEMM's epilogue could gather the maxima instead.
__global__ void __launch_bounds__(512) quant_planes(const __half *__restrict__ h, signed char *__restrict__ hi,
                                                    signed char *__restrict__ lo, float *__restrict__ s, int K)
{
    __shared__ float red[16];
    const __half2 *row = reinterpret_cast<const __half2 *>(h + (size_t)blockIdx.x * K);
    float m = 0.0f;
    for (int i = threadIdx.x; i < K / 2; i += blockDim.x) {
        const float2 v = __half22float2(row[i]);
        m = fmaxf(m, fmaxf(fabsf(v.x), fabsf(v.y)));
    }
    for (int o = 16; o; o >>= 1) m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, o));
    if ((threadIdx.x & 31) == 0) red[threadIdx.x >> 5] = m;
    __syncthreads();
    m = 0.0f;
    for (int w = 0; w < (int)blockDim.x / 32; w++) m = fmaxf(m, red[w]);
    const float sc = fmaxf(m, 1e-30f) / 32639.0f, inv = 1.0f / sc;
    if (threadIdx.x == 0) s[blockIdx.x] = sc;
    char2 *ph = reinterpret_cast<char2 *>(hi + (size_t)blockIdx.x * K), *pl = reinterpret_cast<char2 *>(lo + (size_t)blockIdx.x * K);
    for (int i = threadIdx.x; i < K / 2; i += blockDim.x) {
        const float2 v = __half22float2(row[i]);
        const int q0 = __float2int_rn(fminf(fmaxf(v.x * inv, -32640.0f), 32639.0f));
        const int q1 = __float2int_rn(fminf(fmaxf(v.y * inv, -32640.0f), 32639.0f));
        const int l0 = ((q0 + 128) & 255) - 128, l1 = ((q1 + 128) & 255) - 128;
        ph[i] = make_char2((signed char)((q0 - l0) >> 8), (signed char)((q1 - l1) >> 8));
        pl[i] = make_char2((signed char)l0, (signed char)l1);
    }
}

static PFN_cuTensorMapEncodeTiled_v12000 encode;
// rows x cols int8 row-major, boxes of 128 columns (bytes) x box_rows rows, the 128-byte swizzle
static CUtensorMap tmap8(const void *p, long rows, long cols, int box_rows)
{
    CUtensorMap m;
    const cuuint64_t dims[2] = {(cuuint64_t)cols, (cuuint64_t)rows}, strides[1] = {(cuuint64_t)cols};
    const cuuint32_t box[2] = {BKB, (cuuint32_t)box_rows}, es[2] = {1, 1};
    const CUresult r = encode(&m, CU_TENSOR_MAP_DATA_TYPE_UINT8, 2, const_cast<void *>(p), dims, strides, box, es,
                              CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B, CU_TENSOR_MAP_L2_PROMOTION_L2_256B,
                              CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
    if (r != CUDA_SUCCESS) { fprintf(stderr, "cuTensorMapEncodeTiled: %d\n", (int)r); exit(1); }
    return m;
}

template <int TOK> static void launch(const CUtensorMap &q, const CUtensorMap &h, const CUtensorMap &l, __half *y, const float *sw,
                                      const float *sx, long T, long N, long K, int S, float *part, cudaStream_t st)
{
    static bool once = false;
    if (!once) {
        CK(cudaFuncSetAttribute(igmma_gemm<TOK>, cudaFuncAttributeMaxDynamicSharedMemorySize, lay<TOK>::bytes));
        once = true;
    }
    igmma_gemm<TOK><<<dim3((unsigned)(T / TOK), (unsigned)(N / ROWS), (unsigned)S), THREADS, lay<TOK>::bytes, st>>>(q, h, l, y, sw, sx,
                                                                                                              (int)N, (int)K, part);
    if (S > 1) reduce_parts<<<264, 256, 0, st>>>(y, part, T * N / 4, S);
}

int main(int argc, char **argv)
{
    cudaDeviceProp pr;
    CK(cudaGetDeviceProperties(&pr, 0));
    printf("card %s, %d SMs; stages: %d (128 tokens), %d (64)\n", pr.name, pr.multiProcessorCount, lay<128>::stages, lay<64>::stages);
    cudaDriverEntryPointQueryResult qr;
    CK(cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", reinterpret_cast<void **>(&encode), 12000, cudaEnableDefault, &qr));
    if (qr != cudaDriverEntryPointSuccess) { fprintf(stderr, "no cuTensorMapEncodeTiled\n"); return 1; }
    proto_init();
    const long shapes[][2] = {{16384, 4096}, {4096, 16384}, {28672, 4096}};   // (N, K): GELU W1, W2, SwiGLU [up | gate]
    const long maxNK = 28672L * 4096, maxT = 1024;
    signed char *q[2], *hi, *lo;
    __half *w16[2], *x16, *y;
    float *sw, *sx;
    for (int i = 0; i < 2; i++) {
        CK(cudaMalloc(&q[i], maxNK));
        CK(cudaMalloc(&w16[i], maxNK * 2));
        fill_i8<<<1024, 256>>>(q[i], maxNK, 2 + i);
        fill_h<<<1024, 256>>>(w16[i], maxNK, 5 + i, 0.02f);
    }
    CK(cudaMalloc(&hi, maxT * 16384));
    CK(cudaMalloc(&lo, maxT * 16384));
    CK(cudaMalloc(&x16, maxT * 16384 * 2));
    CK(cudaMalloc(&y, maxT * 28672 * 2));
    CK(cudaMalloc(&sw, 28672 * 4));
    CK(cudaMalloc(&sx, maxT * 4));
    float *part;
    CK(cudaMalloc(&part, 64L << 20));
    fill_f<<<64, 256>>>(sw, 28672, 1.0f / (127 * 64));
    fill_h<<<1024, 256>>>(x16, maxT * 16384, 9, 1.0f);
    CK(cudaDeviceSynchronize());
    std::mt19937 rng(1);
    std::normal_distribution<double> nd;
    cudaStream_t st;
    CK(cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking));
    printf("| T | N x K | k split | int8 planes µs | codes TB/s | TFLOP/s (f16-equivalent) | cuBLASLt f16 µs | max rel err of 64 outputs |\n");
    printf("|---|---|---|---|---|---|---|---|\n");
    for (int ai = 1; ai < argc; ai++) {
        const long T = atol(argv[ai]);
        if (T < 64 || T > maxT || T % 64) { fprintf(stderr, "T must be a multiple of 64 in 64..%ld\n", maxT); return 2; }
        for (auto &sh : shapes) {
            const long N = sh[0], K = sh[1];
            // x: normal, its planes and scales on the host (what the norm kernel would write)
            std::vector<double> x(T * K);
            std::vector<signed char> h(T * K), l(T * K);
            std::vector<float> s(T);
            for (auto &v : x) v = nd(rng);
            for (long t = 0; t < T; t++) {
                double m = 0;
                for (long k = 0; k < K; k++) m = std::max(m, std::fabs(x[t * K + k]));
                s[t] = (float)(m / 32639.0);
                for (long k = 0; k < K; k++) {
                    const long qv = std::lround(std::min(32639.0, std::max(-32640.0, x[t * K + k] / s[t])));
                    const long lv = ((qv + 128) % 256 + 256) % 256 - 128;
                    h[t * K + k] = (signed char)((qv - lv) / 256), l[t * K + k] = (signed char)lv;
                }
            }
            CK(cudaMemcpy(hi, h.data(), T * K, cudaMemcpyHostToDevice));
            CK(cudaMemcpy(lo, l.data(), T * K, cudaMemcpyHostToDevice));
            CK(cudaMemcpy(sx, s.data(), T * 4, cudaMemcpyHostToDevice));
            const CUtensorMap mq[2] = {tmap8(q[0], N, K, ROWS), tmap8(q[1], N, K, ROWS)};
            const int tok = T % 128 == 0 ? 128 : 64;
            // k split where the tiles fill under half the SMs: as many as fill them, dividing K's 128-k blocks
            const long blocks = T / tok * (N / ROWS);
            int S = 1;
            if (2 * blocks <= pr.multiProcessorCount)
                for (S = (int)std::min<long>(8, pr.multiProcessorCount / blocks); S > 1 && (K / BKB) % S; S--) {}
            if ((long)S * T * N * 4 > (64L << 20)) S = 1;
            const CUtensorMap mh = tmap8(hi, T, K, tok), ml = tmap8(lo, T, K, tok);
            auto run = [&](int i, cudaStream_t s0) {
                if (tok == 128) launch<128>(mq[i & 1], mh, ml, y, sw, sx, T, N, K, S, part, s0);
                else launch<64>(mq[i & 1], mh, ml, y, sw, sx, T, N, K, S, part, s0);
            };
            CK(cudaMemset(y, 0xff, T * N * 2));   // poison: NaN halves
            run(0, st);
            CK(cudaStreamSynchronize(st));
            CK(cudaGetLastError());
            // 64 outputs against float64 of the planes (exact integer sums, then the scales)
            std::vector<signed char> qh(K);
            std::vector<float> swh(N);
            CK(cudaMemcpy(swh.data(), sw, N * 4, cudaMemcpyDeviceToHost));
            double worst = 0;
            for (int p = 0; p < 64; p++) {
                const long t = (long)(rng() % T), n = (long)(rng() % N);
                CK(cudaMemcpy(qh.data(), q[0] + n * K, K, cudaMemcpyDeviceToHost));
                double acc = 0;
                for (long k = 0; k < K; k++) acc += (double)qh[k] * (256.0 * h[t * K + k] + l[t * K + k]);
                const double ref = acc * s[t] * swh[n];
                __half got;
                CK(cudaMemcpy(&got, y + t * N + n, 2, cudaMemcpyDeviceToHost));
                const double e = std::fabs(__half2float(got) - ref) / std::max(1e-2, std::fabs(ref));   // (f16 output: ~5e-4)
                worst = std::max(worst, e == e ? e : INFINITY);
            }
            const float us = time_graph(st, [&](cudaStream_t s0) { for (int i = 0; i < 10; i++) run(i, s0); }) / 10;
            const float lt = time_graph(st, [&](cudaStream_t s0) {
                for (int i = 0; i < 10; i++) gemm(s0, w16[i & 1], K, x16, K, y, N, CUDA_R_16F, N, T, K, 0.0f);
            }) / 10;
            printf("| %ld | %ld x %ld | %d | %.1f | %.2f | %.0f | %.1f | %.1e%s |\n", T, N, K, S, us, N * K / us * 1e-6,
                   2.0 * T * N * K / us * 1e-6, lt, worst, worst < 2e-3 ? "" : " WRONG");
            fflush(stdout);
        }
    }
    printf("| T | K | planes from f16 as a pass of their own µs (quant_planes, one block a token) |\n|---|---|---|\n");
    for (int ai = 1; ai < argc; ai++) {
        const long T = atol(argv[ai]);
        for (long K : {4096L, 16384L}) {
            const float us = time_graph(st, [&](cudaStream_t s0) {
                for (int i = 0; i < 10; i++) quant_planes<<<(unsigned)T, 512, 0, s0>>>(x16, hi, lo, sx, (int)K);
            }) / 10;
            printf("| %ld | %ld | %.1f |\n", T, K, us);
        }
    }
    return 0;
}
