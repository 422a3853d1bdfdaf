// {{NAME}}: decode GEMV d[T, {{N}}] = {{EPI_WHAT}} with x[T, {{K}}], W {{LAYOUT_WHAT}}, for 1 <= T <= {{MAXT}}.
// The plan runs it instead of cuBLASLt when T is small: weights are streamed once with 16-byte loads ({{VEC}}
// elements), x is staged in shared memory, accumulation is fp32 per token in registers, the epilogue is the
// GEMM step's (as cuBLASLt: act(x·W + bias + C), C may alias d). T is a run-time argument: the kernel picks a
// body specialized for the next token count it was built for. Launch: grid ({{GRID_X}}, 1) ([out,in]: or fewer
// blocks, each taking more rounds of columns), block {{THREADS}}.
#define DS_N {{N}}LL
#define DS_K {{K}}LL
#define DS_VEC {{VEC}}          // weight elements per load (divides the W row length)
#define DS_VX {{VX}}            // x elements per staging copy (divides K)
#define DS_THREADS {{THREADS}}
#define DS_IO {{IO}}            // 1: W is [K, N] (in,out); 0: W is [N, K] (out,in)
#define DS_CW {{CW}}            // IO: 16-byte column slices per block; OI: output columns per warp
#define DS_B1 {{GRID_X}}LL     // OI: blocks that cover the columns in one round (a smaller grid takes more rounds)
#define DS_U {{UNROLL}}         // loads in flight per thread (IO) / per lane over all its columns (OI), at T <= 2
                                // (halved above: the accumulators need the registers)
#define DS_XS_ELEMS {{XS_ELEMS}} // shared-memory x stage, elements
#define DS_HAS_BIAS {{HAS_BIAS}}
#define DS_HAS_C {{HAS_C}}
#define DS_ACT {{ACT}}          // 0 none, 1 relu, 2 tanh-GELU, 3 erf-GELU, 4 SiLU (an activation step taken on)
#define DS_GATED {{GATED}}      // 1 ([out,in] only): W's rows are [up | gate]; d is y[T, N / 2] = (up + bu) * act(gate + bg)
#define DS_GATED_BIAS {{GATED_BIAS}}
#define DS_GATED_ACT {{GATED_ACT_FN}}
#define DS_NORM {{NORM}}        // 1: x is computed here from a norm's addends (the kernel's start), not read
#define DS_QUANT {{QUANT}}       // 0: float W; 1: int8 codes, 2: fp8 e4m3 codes ([out,in]): W = sc[row / DS_RPG] * code
#define DS_RPG {{RPG}}LL         // weight rows per scale group (quantized W)
#define DS_HALF_MAC {{HALF_MAC}}  // 1 ([out,in] int8 or fp8 codes, f16 x, 16 codes a load): products in f16 pairs (ds_hmac16)
#define DS_PF_LINES {{PF_LINES}}  // 128-byte lines of each row a warp reads first ([in,out]: 32 x that many a block) asked of L2 at entry
#define DS_SPLIT {{SPLIT}}        // IO: blocks along y that split K (their partial sums meet in the scratch; 1: none)
#define DS_MAXT {{MAXT}}
typedef {{X_T}} ds_x_t;
typedef {{W_T}} ds_w_t;
typedef {{D_T}} ds_d_t;
typedef {{B_T}} ds_b_t;
typedef {{C_T}} ds_c_t;
typedef {{S_T}} ds_s_t;
typedef ds_raw<DS_VEC * sizeof(ds_w_t)>::t ds_wraw_t;
typedef ds_raw<DS_VX * sizeof(ds_x_t)>::t ds_xraw_t;

// N elements in pieces of at most 16 bytes (p aligned to the piece).
template <int N, typename T>
__device__ __forceinline__ void ds_gv_load(const T *p, float (&v)[N])
{
    constexpr int P = N * (int)sizeof(T) > 16 ? 16 / (int)sizeof(T) : N;
#pragma unroll
    for (int q = 0; q < N / P; q++) {
        float u[P];
        ds_load<P>(p + q * P, u);
#pragma unroll
        for (int j = 0; j < P; j++) v[q * P + j] = u[j];
    }
}

template <int N, typename T>
__device__ __forceinline__ void ds_gv_store(T *p, const float (&v)[N])
{
    constexpr int P = N * (int)sizeof(T) > 16 ? 16 / (int)sizeof(T) : N;
#pragma unroll
    for (int q = 0; q < N / P; q++) {
        float u[P];
#pragma unroll
        for (int j = 0; j < P; j++) u[j] = v[q * P + j];
        ds_store<P>(p + q * P, u);
    }
}

// Weights are read once: the read-only path, 16-byte pieces with an L2 evict-first policy, so that the weight stream
// does not push the block's small operands and the next kernels' code out of L2 every run (2-3 us at T = 1,
// bench/RESULTS.md, twenty-fifth session).
__device__ __forceinline__ uint4 ds_ldw_ef(const uint4 *p)
{
    unsigned long long pol;
    asm("createpolicy.fractional.L2::evict_first.b64 %0, 1.0;\n" : "=l"(pol));
    uint4 r;
    asm volatile("ld.global.nc.L1::no_allocate.L2::cache_hint.v4.u32 {%0, %1, %2, %3}, [%4], %5;\n"
                 : "=r"(r.x), "=r"(r.y), "=r"(r.z), "=r"(r.w) : "l"(p), "l"(pol));
    return r;
}
template <typename R> __device__ __forceinline__ R ds_ldw_raw(const R *p) { return __ldg(p); }
template <> __device__ __forceinline__ uint4 ds_ldw_raw<uint4>(const uint4 *p) { return ds_ldw_ef(p); }
__device__ __forceinline__ ds_wraw_t ds_ldw(const ds_w_t *p)
{
#ifdef __CUDA_ARCH__
    return ds_ldw_raw<ds_wraw_t>(reinterpret_cast<const ds_wraw_t *>(p));
#else
#ifdef DS_SIM
    ds_sim_load(p, sizeof(ds_wraw_t));   // the host simulation checks the prefetches against the loads
#endif
    return *reinterpret_cast<const ds_wraw_t *>(p);
#endif
}

// An [in,out] GEMV whose K is split over the blocks along y (DS_SPLIT > 1): the scratch holds a counter per column
// block (zero between launches) and each split's partial sums, part[y][t][col].
struct ds_split {
    unsigned *cnt;
    float *part;
};
// Block y's rows of W: whole 64-row pieces, the last split taking K's tail.
__device__ __forceinline__ ds_i64 ds_split_row(int y)
{
    constexpr ds_i64 KB = (DS_K + 63) / 64;
    return y >= DS_SPLIT ? DS_K : (KB * y / DS_SPLIT) * 64;
}

// Before the norm stage or x's staging, each warp asks L2 for the first DS_PF_LINES lines of the rows its first round
// reads ([in,out]: the block's column slices in its first rows), so that HBM streams while the blocks compute or stage
// x: all blocks are resident at once and none had a weight load in flight there (GELU-4096 int8 T = 1 54.0 -> 48.4 us,
// f16 95.9 -> 89.7 on the H100, bench/RESULTS.md, fifty-ninth session). A prefetch holds no register, where loads
// issued that early lost (fiftieth session).
__device__ __forceinline__ void ds_prefetch_first(const ds_w_t *w)
{
#if DS_PF_LINES > 0 && !DS_IO
    constexpr int NW = DS_THREADS / 32;
    constexpr ds_i64 ROW_LINES = (DS_K * (ds_i64)sizeof(ds_w_t) + 127) / 128;
    constexpr int LINES = ROW_LINES < DS_PF_LINES ? (int)ROW_LINES : DS_PF_LINES;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const ds_i64 grp = (ds_i64)blockIdx.x * NW + warp;   // the warp's first round, as ds_body's pass 0
    for (int e = lane; e < DS_CW * LINES; e += 32) {
        const int q = e / LINES, l = e % LINES;
#if DS_GATED
        constexpr int CH = DS_CW / 2;
        constexpr ds_i64 NH = DS_N / 2;
        const ds_i64 h = grp * CH + (q < CH ? q : q - CH), hc = h < NH ? h : NH - 1;
        const ds_i64 row = q < CH ? hc : NH + hc;
#else
        const ds_i64 j = grp * DS_CW + q, row = j < DS_N ? j : DS_N - 1;
#endif
        ds_prefetch_l2(reinterpret_cast<const char *>(w + row * DS_K) + (ds_i64)l * 128);
    }
#elif DS_PF_LINES > 0
    constexpr int SEG = DS_CW * DS_VEC * (int)sizeof(ds_w_t), PER = SEG < 128 ? 1 : SEG / 128;   // lines a row
    constexpr ds_i64 ROWS = (ds_i64)32 * DS_PF_LINES / PER < DS_K ? (ds_i64)32 * DS_PF_LINES / PER : DS_K;
    const ds_i64 s0 = (ds_i64)blockIdx.x * DS_CW, r0 = ds_split_row((int)blockIdx.y);
    const ds_i64 rows = ds_split_row((int)blockIdx.y + 1) - r0 < ROWS ? ds_split_row((int)blockIdx.y + 1) - r0 : ROWS;
    for (ds_i64 e = threadIdx.x; e < rows * PER; e += DS_THREADS) {
        const ds_i64 r = r0 + e / PER, sl = s0 + (e % PER) * (128 / (DS_VEC * (ds_i64)sizeof(ds_w_t)));
        if (sl < DS_N / DS_VEC) ds_prefetch_l2(w + r * DS_N + sl * DS_VEC);
    }
#else
    (void)w;
#endif
}

#if DS_QUANT == 2 && (!defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 890)
#define DS_FP8_CVT 1             // common.cuh's ds_fp8x2_to_h2 (the host simulation's: test_plan_sim_shim.h)
#else
#define DS_FP8_CVT 0
#endif
#if DS_HALF_MAC && DS_QUANT == 2 && !DS_FP8_CVT
#error "fp8 codes in f16 pairs need sm_89's pair conversion (the emitter asks for them from sm_89 on)"
#endif

// Codes become exact floats of the codes (their scales multiply the finished sums, per output row): int8 code q,
// biased to b = q ^ 0x80 = q + 128, as a float's low mantissa byte is 2^23 + b, less 2^23 + 128 is q (a byte
// permute and a subtraction, where an integer conversion per code would be a quarter-rate instruction); fp8 codes
// pairwise through sm_89's exact f16x2 conversion.
__device__ __forceinline__ void ds_unpack(const ds_wraw_t &r, float (&v)[DS_VEC])
{
#if DS_QUANT == 1 && DS_VEC % 4 == 0
    unsigned u[DS_VEC / 4];
    memcpy(u, &r, sizeof u);
#pragma unroll
    for (int h = 0; h < DS_VEC / 4; h++) {
        const unsigned b = u[h] ^ 0x80808080u;
#pragma unroll
        for (int j = 0; j < 4; j++) v[4 * h + j] = __uint_as_float(__byte_perm(b, 0x4b000000u, 0x7440u | j)) - 8388736.0f;
    }
#elif DS_FP8_CVT && DS_VEC % 2 == 0
    unsigned short u[DS_VEC / 2];
    memcpy(u, &r, sizeof u);
#pragma unroll
    for (int h = 0; h < DS_VEC / 2; h++) {
        const unsigned p = ds_fp8x2_to_h2(u[h]);
        __half2 hv;
        memcpy(&hv, &p, 4);
        v[2 * h] = __low2float(hv), v[2 * h + 1] = __high2float(hv);
    }
#else
    alignas(DS_VEC * sizeof(ds_w_t)) ds_w_t e[DS_VEC];
    *reinterpret_cast<ds_wraw_t *>(e) = r;
#pragma unroll
    for (int j = 0; j < DS_VEC; j++) v[j] = ds_to_f(e[j]);
#endif
}

#if DS_HALF_MAC
// acc += the 16 codes of r times x2's 16 f16 x, in f16 pairs: a byte permute makes a code pair (1024 + b) as an f16
// pair (b = q + 128), an HFMA2 makes it q / 1024 (exact: 1 + b / 1024 has 10 fraction bits), one more adds
// q / 1024 * x into the pair's sums (8 products a half, each at most |x| / 8: no finite f16 x overflows them), and the
// two sums reach fp32 times 1024. 2 instructions a code where unpacking to fp32 took 3 and x's conversions more (the
// GEMV is issue-limited in its bursts: GELU-4096 int8 T = 1 43.3-43.8 -> 41.7-42.0 us on the H200, relative error
// 3.4e-4 -> 4.4e-4 against f16's 2e-3 tolerance, bench/RESULTS.md, twenty-eighth session). fp8 codes the same way
// from sm_89's pair conversion (GELU-4096 fp8 T = 1 42.2-42.6 -> 41.3, twenty-ninth session). bf16 x keeps fp32:
// converting it to f16 where its range allows cost SwiGLU-4096 int8 T = 1 8 us (54.0 -> 62.0-62.6, the same session).
__device__ __forceinline__ void ds_hmac16(const uint4 &r, const __half2 (&x2)[8], float &acc)
{
    __half2 s = __float2half2_rn(0.0f);
#if DS_QUANT == 1
    unsigned u[4];
    memcpy(u, &r, sizeof u);
    const __half2 k1 = __float2half2_rn(0.0009765625f), k0 = __float2half2_rn(-1.125f);   // (1024 + b) / 1024 - 9 / 8
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
#else
    // fp8 e4m3 code pairs to exact f16 pairs, times 2^-12 (exact, subnormals included): |w| <= 448 / 4096 keeps the
    // pair sums of 8 under 0.9 |x|, as int8's
    unsigned short c[8];
    memcpy(c, &r, sizeof c);
    const __half2 k = __float2half2_rn(0.000244140625f);
#pragma unroll
    for (int h = 0; h < 8; h++) {
        const unsigned p = ds_fp8x2_to_h2(c[h]);
        __half2 w;
        memcpy(&w, &p, 4);
        s = __hfma2(__hmul2(w, k), x2[h], s);
    }
    acc = fmaf(__low2float(s) + __high2float(s), 4096.0f, acc);
#endif
}
#endif

// The GEMM step's epilogue on one fp32 sum.
__device__ __forceinline__ float ds_epi(float v, const void *bias, const void *c, ds_i64 t, ds_i64 col)
{
#if DS_HAS_BIAS
    v += ds_to_f(static_cast<const ds_b_t *>(bias)[col]);
#endif
#if DS_HAS_C
    v += ds_to_f(static_cast<const ds_c_t *>(c)[t * DS_N + col]);
#endif
#if DS_ACT == 1
    v = ds_relu(v);
#elif DS_ACT == 2
    v = ds_gelu_tanh(v);
#elif DS_ACT == 3
    v = ds_gelu_erf(v);
#elif DS_ACT == 4
    v = ds_silu(v);
#endif
    (void)bias, (void)c, (void)t, (void)col;
    return v;
}

// Rows of x a chunk of the stage holds, for TT tokens: a multiple of 256, or all of K.
template <int TT> struct ds_kc {
    static constexpr ds_i64 kpad = (DS_K + 15) / 16 * 16;
    static constexpr ds_i64 fit = (DS_XS_ELEMS / TT) / 256 * 256;
    static constexpr int value = (int)(kpad <= DS_XS_ELEMS / TT ? kpad : fit);
    static constexpr ds_i64 first = value < DS_K ? value : DS_K;   // rows of the first (fullest) chunk
};

// Loads in flight for a thread or lane: `want`, but no more than `units` (what one chunk of k gives it: with more the
// unrolled loop never runs and every load goes one at a time through the tail, as at BERT's K = 768 / 3072), at least 1.
__device__ __forceinline__ constexpr int ds_fit_loads(int want, ds_i64 units)
{
    const int w = want < 1 ? 1 : want;
    return units < w ? (units < 1 ? 1 : (int)units) : w;
}

// xs[t][i] = x[t, c0 + i] for i < kc; zeros for T <= t < TT (their sums are never stored).
template <int TT>
__device__ __forceinline__ void ds_stage(ds_x_t *xs, const ds_x_t *x, long long T, ds_i64 c0, int kc)
{
    constexpr int KC = ds_kc<TT>::value;
    const int per = kc / DS_VX;
    for (int e = threadIdx.x; e < TT * per; e += DS_THREADS) {
        const int t = e / per, i = (e % per) * DS_VX;
        ds_xraw_t r = ds_xraw_t();
        if (t < T) r = *reinterpret_cast<const ds_xraw_t *>(x + t * DS_K + c0 + i);
        *reinterpret_cast<ds_xraw_t *>(xs + t * KC + i) = r;
    }
}

#if DS_IO && DS_SPLIT > 1
// The split's end: each block has written its partial sums; the last of a column block's DS_SPLIT blocks to arrive
// (a counter, after a fence that makes the parts visible) adds them in split order (the same sums whatever the
// arrival order), applies the epilogue, stores, and leaves the counter at zero for the next launch.
__device__ __forceinline__ void ds_split_finish(long long T, ds_d_t *d, const void *bias, const void *cptr, const ds_split &sp)
{
    __shared__ int last;
    __threadfence();
    __syncthreads();
    if (threadIdx.x == 0) last = atomicAdd(sp.cnt + blockIdx.x, 1u) == DS_SPLIT - 1;
    __syncthreads();
    if (!last) return;
    __threadfence();
    for (ds_i64 e = threadIdx.x; e < T * DS_CW; e += DS_THREADS) {
        const ds_i64 t = e / DS_CW, sl = (ds_i64)blockIdx.x * DS_CW + e % DS_CW;
        if (sl >= DS_N / DS_VEC) continue;
        const ds_i64 col = sl * DS_VEC;
        float o[DS_VEC];
#pragma unroll
        for (int j = 0; j < DS_VEC; j++) o[j] = 0.0f;
        for (int q = 0; q < DS_SPLIT; q++) {
            const float *pp = sp.part + ((ds_i64)q * DS_MAXT + t) * DS_N + col;
#pragma unroll
            for (int j = 0; j < DS_VEC; j++) o[j] += ds_ldcg(pp + j);   // other blocks wrote it
        }
#pragma unroll
        for (int j = 0; j < DS_VEC; j++) o[j] = ds_epi(o[j], bias, cptr, t, col + j);
        ds_gv_store<DS_VEC>(d + t * DS_N + col, o);
    }
    if (threadIdx.x == 0) sp.cnt[blockIdx.x] = 0u;
}
#endif

#if DS_IO
// W [K, N]: thread (ks, c) owns the 16-byte column slice blockIdx.x * CW + c and every KS-th row of each
// chunk (split-k across the block's warps); partial sums meet through shuffles and shared memory.
template <int TT>
__device__ __forceinline__ void ds_body(long long T, ds_d_t *d, const ds_x_t *x, const ds_w_t *w, const ds_s_t *sc,
                                        const void *bias, const void *cptr, ds_x_t *xs, float *red, const ds_split &sp)
{
    (void)sc;   // float weights only ([in,out])
    constexpr int KC = ds_kc<TT>::value, KS = DS_THREADS / DS_CW;
    constexpr int U = ds_fit_loads(TT <= 2 ? DS_U : DS_U / 2, ds_kc<TT>::first / KS);   // rows of a chunk a thread
    const int c = threadIdx.x % DS_CW, ks = threadIdx.x / DS_CW, lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const ds_i64 s = (ds_i64)blockIdx.x * DS_CW + c;
    const bool valid = s < DS_N / DS_VEC;
    const ds_w_t *wp = w + (valid ? s : 0) * DS_VEC;   // past-the-end slices read slice 0, never store
    float acc[TT][DS_VEC];
#pragma unroll
    for (int t = 0; t < TT; t++)
#pragma unroll
        for (int j = 0; j < DS_VEC; j++) acc[t][j] = 0.0f;
    const ds_i64 k0 = ds_split_row((int)blockIdx.y), k1 = ds_split_row((int)blockIdx.y + 1);   // this block's rows
    for (ds_i64 c0 = k0; c0 < k1; c0 += KC) {
        const int kc = k1 - c0 < KC ? (int)(k1 - c0) : KC;
        if (c0 != k0) __syncthreads();
        if (!DS_NORM) ds_stage<TT>(xs, x, T, c0, kc);
        __syncthreads();
        const ds_w_t *wc = wp + c0 * DS_N;
        int r = ks;
        for (; r + (U - 1) * KS < kc; r += U * KS) {
            ds_wraw_t raw[U];
#pragma unroll
            for (int u = 0; u < U; u++) raw[u] = ds_ldw(wc + (ds_i64)(r + u * KS) * DS_N);
#pragma unroll
            for (int u = 0; u < U; u++) {
                float wv[DS_VEC];
                ds_unpack(raw[u], wv);
#pragma unroll
                for (int t = 0; t < TT; t++) {
                    const float xv = ds_to_f(xs[t * KC + r + u * KS]);
#pragma unroll
                    for (int j = 0; j < DS_VEC; j++) acc[t][j] = fmaf(xv, wv[j], acc[t][j]);
                }
            }
        }
        for (; r < kc; r += KS) {
            float wv[DS_VEC];
            ds_unpack(ds_ldw(wc + (ds_i64)r * DS_N), wv);
#pragma unroll
            for (int t = 0; t < TT; t++) {
                const float xv = ds_to_f(xs[t * KC + r]);
#pragma unroll
                for (int j = 0; j < DS_VEC; j++) acc[t][j] = fmaf(xv, wv[j], acc[t][j]);
            }
        }
    }
#pragma unroll
    for (int t = 0; t < TT; t++) {
        if (t >= T) break;
        float v[DS_VEC];
#pragma unroll
        for (int j = 0; j < DS_VEC; j++) {
            v[j] = acc[t][j];
#pragma unroll
            for (int o = DS_CW; o < 32; o <<= 1) v[j] += __shfl_xor_sync(0xffffffffu, v[j], o);
        }
        __syncthreads();  // red is still read for the previous token
        if (lane < DS_CW)
#pragma unroll
            for (int j = 0; j < DS_VEC; j++) red[(warp * DS_CW + lane) * DS_VEC + j] = v[j];
        __syncthreads();
        if (threadIdx.x < DS_CW && valid) {
            float o[DS_VEC];
#pragma unroll
            for (int j = 0; j < DS_VEC; j++) o[j] = 0.0f;
            for (int q = 0; q < DS_THREADS / 32; q++)
#pragma unroll
                for (int j = 0; j < DS_VEC; j++) o[j] += red[(q * DS_CW + c) * DS_VEC + j];
            const ds_i64 col = s * DS_VEC;
#if DS_SPLIT > 1
            float *pp = sp.part + ((ds_i64)blockIdx.y * DS_MAXT + t) * DS_N + col;
#pragma unroll
            for (int j = 0; j < DS_VEC; j++) pp[j] = o[j];
#else
#pragma unroll
            for (int j = 0; j < DS_VEC; j++) o[j] = ds_epi(o[j], bias, cptr, t, col + j);
            ds_gv_store<DS_VEC>(d + t * DS_N + col, o);
#endif
        }
    }
#if DS_SPLIT > 1
    ds_split_finish(T, d, bias, cptr, sp);
#else
    (void)sp;
#endif
}
#else
// W [N, K]: each warp owns CW output columns; lanes stride along K with 16-byte loads; warp-shuffle sums.
template <int TT>
__device__ __forceinline__ void ds_body(long long T, ds_d_t *d, const ds_x_t *x, const ds_w_t *w, const ds_s_t *sc,
                                        const void *bias, const void *cptr, ds_x_t *xs, float *red, const ds_split &sp)
{
    (void)sc, (void)sp;
    constexpr int KC = ds_kc<TT>::value, NW = DS_THREADS / 32;
    constexpr int U = ds_fit_loads((TT <= 2 ? DS_U : DS_U / 2) / DS_CW, ds_kc<TT>::first / DS_VEC / 32);   // vectors a lane
    (void)red;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int rounds = (int)((DS_B1 + gridDim.x - 1) / gridDim.x);   // the same in every warp: uniform barriers
    for (int pass = 0; pass < rounds; pass++) {
        const ds_i64 grp = ((ds_i64)pass * gridDim.x + blockIdx.x) * NW + warp;   // this round's column group
        const ds_w_t *wr[DS_CW];
#if DS_GATED
        // the warp's CW / 2 outputs: up rows h0 + q and gate rows N / 2 + h0 + q (q < CW / 2)
        constexpr int CH = DS_CW / 2;
        constexpr ds_i64 NH = DS_N / 2;
        const ds_i64 h0 = grp * CH;
#pragma unroll
        for (int q = 0; q < DS_CW; q++) {
            const ds_i64 h = h0 + (q < CH ? q : q - CH), hc = h < NH ? h : NH - 1;   // clamped, never stored
            wr[q] = w + (q < CH ? hc : NH + hc) * DS_K;
        }
#else
        const ds_i64 j0 = grp * DS_CW;
#pragma unroll
        for (int q = 0; q < DS_CW; q++) wr[q] = w + (j0 + q < DS_N ? j0 + q : DS_N - 1) * DS_K;  // clamped, never stored
#endif
        float acc[DS_CW][TT];
#pragma unroll
        for (int q = 0; q < DS_CW; q++)
#pragma unroll
            for (int t = 0; t < TT; t++) acc[q][t] = 0.0f;
        for (ds_i64 c0 = 0; c0 < DS_K; c0 += KC) {
            const int kc = DS_K - c0 < KC ? (int)(DS_K - c0) : KC;
            const bool stage = !DS_NORM && (pass == 0 || KC < DS_K);   // one chunk: staged once for every round
            if (stage && (c0 || pass)) __syncthreads();   // the previous chunk's reads are done
            if (stage) ds_stage<TT>(xs, x, T, c0, kc);
            if (stage || (!c0 && !pass)) __syncthreads();
            const int nv = kc / DS_VEC;
            int v = lane;
            for (; v + (U - 1) * 32 < nv; v += U * 32) {
                ds_wraw_t raw[U][DS_CW];
#pragma unroll
                for (int u = 0; u < U; u++)
#pragma unroll
                    for (int q = 0; q < DS_CW; q++) raw[u][q] = ds_ldw(wr[q] + c0 + (ds_i64)(v + u * 32) * DS_VEC);
#if DS_HALF_MAC
#pragma unroll
                for (int u = 0; u < U; u++)
#pragma unroll
                    for (int t = 0; t < TT; t++) {
                        __half2 x2[8];
                        memcpy(x2, xs + t * KC + (v + u * 32) * DS_VEC, sizeof x2);
#pragma unroll
                        for (int q = 0; q < DS_CW; q++) ds_hmac16(raw[u][q], x2, acc[q][t]);
                    }
#else
#pragma unroll
                for (int u = 0; u < U; u++) {
                    float wv[DS_CW][DS_VEC];
#pragma unroll
                    for (int q = 0; q < DS_CW; q++) ds_unpack(raw[u][q], wv[q]);
#pragma unroll
                    for (int t = 0; t < TT; t++) {
                        float xv[DS_VEC];
                        ds_gv_load<DS_VEC>(xs + t * KC + (v + u * 32) * DS_VEC, xv);
#pragma unroll
                        for (int q = 0; q < DS_CW; q++)
#pragma unroll
                            for (int j = 0; j < DS_VEC; j++) acc[q][t] = fmaf(wv[q][j], xv[j], acc[q][t]);
                    }
                }
#endif
            }
            for (; v < nv; v += 32) {
                float wv[DS_CW][DS_VEC];
#pragma unroll
                for (int q = 0; q < DS_CW; q++) ds_unpack(ds_ldw(wr[q] + c0 + (ds_i64)v * DS_VEC), wv[q]);
#pragma unroll
                for (int t = 0; t < TT; t++) {
                    float xv[DS_VEC];
                    ds_gv_load<DS_VEC>(xs + t * KC + v * DS_VEC, xv);
#pragma unroll
                    for (int q = 0; q < DS_CW; q++)
#pragma unroll
                        for (int j = 0; j < DS_VEC; j++) acc[q][t] = fmaf(wv[q][j], xv[j], acc[q][t]);
                }
            }
        }
#if DS_GATED
        (void)cptr;
#pragma unroll
        for (int q = 0; q < CH; q++)
#pragma unroll
            for (int t = 0; t < TT; t++) {
                if (t >= T) break;
                float up = ds_warp_sum(acc[q][t]), gate = ds_warp_sum(acc[q + CH][t]);
                const ds_i64 col = h0 + q;
                if (lane == 0 && col < NH) {
#if DS_QUANT
                    up *= ds_to_f(sc[col / DS_RPG]), gate *= ds_to_f(sc[(NH + col) / DS_RPG]);
#endif
#if DS_GATED_BIAS
                    up += ds_to_f(((const ds_b_t *)bias)[col]), gate += ds_to_f(((const ds_b_t *)bias)[NH + col]);
#endif
                    d[t * NH + col] = ds_from_f<ds_d_t>(up * DS_GATED_ACT(gate));
                }
            }
#else
#pragma unroll
        for (int q = 0; q < DS_CW; q++)
#pragma unroll
            for (int t = 0; t < TT; t++) {
                if (t >= T) break;
                float sum = ds_warp_sum(acc[q][t]);
                const ds_i64 col = j0 + q;
#if DS_QUANT
                if (lane == 0 && col < DS_N) sum *= ds_to_f(sc[col / DS_RPG]);
#endif
                if (lane == 0 && col < DS_N) d[t * DS_N + col] = ds_from_f<ds_d_t>(ds_epi(sum, bias, cptr, t, col));
            }
#endif
    }
}
#endif

// At least 2 blocks per SM: registers stay <= 128 per thread, loads of one block cover the other's gaps.
extern "C" __global__ void __launch_bounds__(DS_THREADS, 2) {{NAME}}(long long T{{PARAMS}})
{
    __shared__ uint4 ds_xs_raw[(DS_XS_ELEMS * sizeof(ds_x_t) + 15) / 16];{{TL_BEGIN}}
    __shared__ float ds_red[{{RED_ELEMS}}];
    ds_x_t *xs = reinterpret_cast<ds_x_t *>(ds_xs_raw);
    const void *bias = {{BIAS_ARG}}, *cptr = {{C_ARG}};
    const ds_s_t *sc = {{SC_ARG}};
    const ds_split sp = {{SPLIT_INIT}};
    ds_prefetch_first(a2);
{{NORM_STAGE}}{{DISPATCH}}
}
