// {{NAME}}: weight-streaming GEMM for 1 <= T <= {{MAXT}}: d[T, {{N}}] = {{WHAT}}.
// W {{LAYOUT_WHAT}} ({{WDT}}) is streamed once from memory into registers ({{EL}} elements per load, several
// loads in flight per thread) and multiplied on the tensor cores (mma.sync m16n8k16, fp32 accumulation) with the
// weight as the wide operand and the tokens as the narrow one (T padded to 8, 16, 32, ...). Each lane reads whole
// 16/8-byte pieces of W; the k order inside one MMA is permuted the same way for W and x, so no shuffles or shared
// memory stand between the loads and the MMAs. x is staged in shared memory by chunks of k (cp.async, two chunks in
// flight){{NORM_WHAT}}.
// Work split (stream-K): the (column tile x k) space is cut into gridDim.x equal ranges, one per block, so any
// grid size balances; a tile cut between blocks is summed by the block that finishes it last (fixed order, so the
// result does not depend on timing), which also runs the epilogue. Launch: grid (G, 1), block {{THREADS}},
// dynamic shared memory {{SMEM}} bytes, programmatic dependent launch welcome (griddepcontrol).
#define DS_IO {{IO}}                 // 1: W is [K, ldw] (in,out); 0: W is [N, K] rows (out,in)
#define DS_N {{N}}LL                 // output columns (per part)
#define DS_K {{K}}LL
#define DS_LDW {{LDW}}LL             // elements between consecutive W rows
#define DS_GATED {{GATED}}           // 1: two parts, up and gate; d = (up + b) * act(gate + b)
#define DS_SEP_GATE {{SEP_GATE}}     // 1: the gate weight is its own tensor; 0: at DS_GATE_OFF from up's
#define DS_GATE_OFF {{GATE_OFF}}LL
#define DS_EL {{EL}}                 // weight elements per load
#define DS_MT {{MT}}                 // 16-row MMA tiles per warp
#define DS_WN {{WN}}                 // warps across columns
#define DS_WK {{WK}}                 // warps across k (reduced through shared memory)
#define DS_THREADS (32 * DS_WN * DS_WK)
#define DS_KSTEP (DS_IO ? 16 : 32)   // k of one load group (IO: 4 rows per lane; OI: 8 k per lane, 2 MMAs)
#define DS_WCOL (DS_IO ? 8 * DS_EL : 16 * DS_MT)   // output columns of one warp
#define DS_BCP ((DS_GATED ? DS_WN / 2 : DS_WN) * DS_WCOL)  // columns of one tile, per part
#define DS_BCT (DS_WN * DS_WCOL)     // columns of one tile, all parts
#define DS_NTILE ((DS_N + DS_BCP - 1) / DS_BCP)
#define DS_LPT ((DS_K + DS_KSTEP - 1) / DS_KSTEP)  // load groups per tile
#define DS_RPL (DS_IO ? 4 : 2 * DS_MT)             // weight loads per lane per load group
#define DS_MAXTP {{MAXTP}}           // largest padded token count compiled
#define DS_NORM {{NORM}}             // 0: x is read as is; 1: LayerNorm, 2: RMSNorm of the sum of the terms
#define DS_EPS ((float){{EPS}})
#define DS_GOFF ((float){{GOFF}})    // gamma offset (Gemma's 1 + w)
#define DS_HAS_BETA {{HAS_BETA}}
#define DS_HAS_SIDE {{HAS_SIDE}}     // also writes the sum of terms (+ extras) once
#define DS_NTERMS {{NTERMS}}
#define DS_NEXTRA {{NEXTRA}}
#define DS_NSTAGED {{NSTAGED}}       // [T, K] tensors staged per chunk (x, or the norm's tensor terms)
#define DS_ACT {{ACT}}               // 0 none, 1 relu, 2 tanh-GELU, 3 erf-GELU, 4 SiLU
#define DS_HAS_BIAS {{HAS_BIAS}}
#define DS_HAS_C {{HAS_C}}
#define DS_QUANT {{QUANT}}           // 0: float weights; 1: int8; 2: fp8 e4m3 (weight-only, per-column scales)
#define DS_HAS_SCALE {{HAS_SCALE}}
#define DS_SEP_SCALE {{SEP_SCALE}}   // 1: the gate part has its own scale vector
#define DS_SCALE_DIV {{SCALE_DIV}}LL // output rows per scale (1: per channel)
#define DS_MMA_BF16 {{MMA_BF16}}
#define DS_XPADT (DS_IO ? 16 : 32)   // x chunk rows start DS_XPADT elements apart mod 64: conflict-free fragments
typedef {{X_T}} ds_x_t;     // activations (MMA operand type)
typedef {{D_T}} ds_d_t;
typedef {{W_T}} ds_w_t;     // weight storage
typedef {{B_T}} ds_b_t;
typedef {{C_T}} ds_c_t;
typedef {{G_T}} ds_g_t;     // norm gamma/beta
typedef {{S_T}} ds_s_t;     // weight scales
typedef {{V_T}} ds_v_t;     // norm terms / extras / side

// ------------------------------------------------------------------ device primitives (host: the sim shim)
#ifdef __CUDA_ARCH__
__device__ __forceinline__ void ds_pdl_wait() {
#if __CUDA_ARCH__ >= 900
    asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
}
__device__ __forceinline__ void ds_pdl_launch() {
#if __CUDA_ARCH__ >= 900
    asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
#endif
}
__device__ __forceinline__ void ds_cp16(void *smem, const void *g, bool valid)
{
    unsigned s = (unsigned)__cvta_generic_to_shared(smem);
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(s), "l"(g), "r"(valid ? 16 : 0) : "memory");
}
__device__ __forceinline__ void ds_cp_commit() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }
template <int N> __device__ __forceinline__ void ds_cp_wait() { asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory"); }
__device__ __forceinline__ void ds_mma(float (&d)[4], const unsigned (&a)[4], unsigned b0, unsigned b1)
{
#if DS_MMA_BF16
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
#else
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
#endif
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}
__device__ __forceinline__ unsigned ds_prmt(unsigned x, unsigned y, unsigned s) { return __byte_perm(x, y, s); }
// Weights are read once: no L1 allocation; ask L2 for whole 256-byte sectors.
__device__ __forceinline__ uint4 ds_ldw16(const void *p)
{
    uint4 r;
    asm volatile("ld.global.nc.L1::no_allocate.L2::256B.v4.u32 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r.x), "=r"(r.y), "=r"(r.z), "=r"(r.w) : "l"(p));
    return r;
}
__device__ __forceinline__ uint2 ds_ldw8(const void *p)
{
    uint2 r;
    asm volatile("ld.global.nc.L1::no_allocate.L2::256B.v2.u32 {%0,%1}, [%2];\n" : "=r"(r.x), "=r"(r.y) : "l"(p));
    return r;
}
template <typename T> __device__ __forceinline__ T ds_ldcg(const T *p) { return __ldcg(p); }
#else   // host simulation (tests/test_plan_sim_shim.h provides the rest)
#define ds_pdl_wait() ((void)0)
#define ds_pdl_launch() ((void)0)
#define ds_mma(d, a, b0, b1) ds_sim_mma(d, a, b0, b1, DS_MMA_BF16)
#endif

// ------------------------------------------------------------------ the weight-load seam
// ds_wraw_t holds one load; ds_wconv turns it into DS_EL / 2 words of two MMA operands each (element 2q in the
// low half of word q). Float weights pass through; int8 and fp8 are converted exactly (their scales are per output
// column, applied in the epilogue).
#if DS_EL * {{W_BYTES}} == 16
typedef uint4 ds_wraw_t;
__device__ __forceinline__ ds_wraw_t ds_ldw(const ds_w_t *p) { return ds_ldw16(p); }
#elif DS_EL * {{W_BYTES}} == 8
typedef uint2 ds_wraw_t;
__device__ __forceinline__ ds_wraw_t ds_ldw(const ds_w_t *p) { return ds_ldw8(p); }
#else
#error "weight loads must be 8 or 16 bytes"
#endif

#if DS_QUANT == 0
__device__ __forceinline__ void ds_wconv(const ds_wraw_t &r, unsigned (&w)[DS_EL / 2])
{
#pragma unroll
    for (int q = 0; q < DS_EL / 2; q++) w[q] = (&r.x)[q];
}
#elif DS_QUANT == 1
// int8 -> f16: 0x6400 | (x ^ 0x80) is 1024 + x + 128 exactly; one subtraction gives x. bf16 goes through fp32.
__device__ __forceinline__ void ds_wconv(const ds_wraw_t &r, unsigned (&w)[DS_EL / 2])
{
#pragma unroll
    for (int h = 0; h < DS_EL / 4; h++) {
        const unsigned u = (&r.x)[h] ^ 0x80808080u;
#if !DS_MMA_BF16
        const unsigned lo = ds_prmt(u, 0x64646464u, 0x7150), hi = ds_prmt(u, 0x64646464u, 0x7352);
        const __half2 bias = __halves2half2(__ushort_as_half((unsigned short)0x6480), __ushort_as_half((unsigned short)0x6480));
        __half2 l = __hsub2(*reinterpret_cast<const __half2 *>(&lo), bias);
        __half2 hh = __hsub2(*reinterpret_cast<const __half2 *>(&hi), bias);
        w[2 * h] = *reinterpret_cast<unsigned *>(&l);
        w[2 * h + 1] = *reinterpret_cast<unsigned *>(&hh);
#else
        const unsigned b0 = ds_prmt(u, 0x4b000000u, 0x7440), b1 = ds_prmt(u, 0x4b000000u, 0x7441);
        const unsigned b2 = ds_prmt(u, 0x4b000000u, 0x7442), b3 = ds_prmt(u, 0x4b000000u, 0x7443);
        // 0x4b0000xx = 8388608 + xx; minus 8388736 (2^23 + 128) gives the signed value exactly
        const float f0 = __uint_as_float(b0) - 8388736.0f, f1 = __uint_as_float(b1) - 8388736.0f;
        const float f2 = __uint_as_float(b2) - 8388736.0f, f3 = __uint_as_float(b3) - 8388736.0f;
        __nv_bfloat162 p0 = __floats2bfloat162_rn(f0, f1), p1 = __floats2bfloat162_rn(f2, f3);
        w[2 * h] = *reinterpret_cast<unsigned *>(&p0);
        w[2 * h + 1] = *reinterpret_cast<unsigned *>(&p1);
#endif
    }
}
#else
#ifdef __CUDA_ARCH__
__device__ __forceinline__ unsigned ds_fp8x2_to_h2(unsigned short v)
{
    unsigned r;
    asm("{ .reg .b16 t; mov.b16 t, %1; cvt.rn.f16x2.e4m3x2 %0, t; }\n" : "=r"(r) : "h"(v));
    return r;
}
#endif
__device__ __forceinline__ unsigned ds_h2_to_bf2(unsigned h)
{
    const __half2 x = *reinterpret_cast<const __half2 *>(&h);
    __nv_bfloat162 y = __floats2bfloat162_rn(__low2float(x), __high2float(x));
    return *reinterpret_cast<unsigned *>(&y);
}
// fp8 e4m3 -> f16 pairs in one instruction (sm_89+); every e4m3 value is exact in f16 and in bf16.
__device__ __forceinline__ void ds_wconv(const ds_wraw_t &r, unsigned (&w)[DS_EL / 2])
{
#pragma unroll
    for (int h = 0; h < DS_EL / 4; h++) {
        const unsigned u = (&r.x)[h];
        unsigned lo, hi;
        lo = ds_fp8x2_to_h2((unsigned short)(u & 0xffffu));
        hi = ds_fp8x2_to_h2((unsigned short)(u >> 16));
#if DS_MMA_BF16
        lo = ds_h2_to_bf2(lo);
        hi = ds_h2_to_bf2(hi);
#endif
        w[2 * h] = lo;
        w[2 * h + 1] = hi;
    }
}
#endif

// ------------------------------------------------------------------ kernel arguments by role
struct ds_args {
    ds_d_t *d;
    ds_v_t *side;
    const ds_x_t *x;                       // DS_NORM == 0
    const ds_g_t *gamma, *beta;
    const ds_v_t *term[DS_NTERMS > 0 ? DS_NTERMS : 1];
    const ds_v_t *extra[DS_NEXTRA > 0 ? DS_NEXTRA : 1];
    const ds_w_t *wu, *wg;
    const ds_b_t *bias;
    const ds_c_t *c;
    const ds_s_t *su, *sg;
    float *part;                           // partial tiles: [G][2][T][DS_BCT]
    unsigned *cnt;                         // one arrival counter per tile, zero between launches
};
{{TERM_KINDS}}

// ------------------------------------------------------------------ activations, epilogue
__device__ __forceinline__ float ds_act(float v)
{
#if DS_ACT == 1
    return ds_relu(v);
#elif DS_ACT == 2
    return ds_gelu_tanh(v);
#elif DS_ACT == 3
    return ds_gelu_erf(v);
#elif DS_ACT == 4
    return ds_silu(v);
#else
    return v;
#endif
}

__device__ __forceinline__ float ds_scale_of(const ds_s_t *s, ds_i64 row)
{
#if DS_HAS_SCALE
    return ds_to_f(s[row / DS_SCALE_DIV]);
#else
    (void)s, (void)row;
    return 1.0f;
#endif
}

// red[t][DS_BCT] holds the finished sums of one tile; writes d for tokens < T.
__device__ __forceinline__ void ds_epilogue(const ds_args &A, const float *red, long long T, ds_i64 tile)
{
    constexpr int C8 = DS_BCP / 8;
    for (int e = threadIdx.x; e < T * C8; e += DS_THREADS) {
        const int t = e / C8, lc = (e % C8) * 8;
        const ds_i64 n = tile * DS_BCP + lc;
        if (n >= DS_N) continue;
        float v[8];
#pragma unroll
        for (int j = 0; j < 8; j++) v[j] = red[t * DS_BCT + lc + j];
#if DS_HAS_SCALE
        // scales index the weight's output rows: the gate part of a merged W1 lies N rows further
#pragma unroll
        for (int j = 0; j < 8; j++) v[j] *= ds_scale_of(A.su, n + j);
#endif
#if DS_HAS_BIAS
        {
            float b[8];
            ds_load<8>(A.bias + n, b);
#pragma unroll
            for (int j = 0; j < 8; j++) v[j] += b[j];
        }
#endif
#if DS_GATED
        float gv[8];
#pragma unroll
        for (int j = 0; j < 8; j++) gv[j] = red[t * DS_BCT + DS_BCP + lc + j];
#if DS_HAS_SCALE
#pragma unroll
        for (int j = 0; j < 8; j++) gv[j] *= DS_SEP_SCALE ? ds_scale_of(A.sg, n + j) : ds_scale_of(A.su, DS_N + n + j);
#endif
#if DS_HAS_BIAS
        {
            float b[8];
            ds_load<8>(A.bias + DS_N + n, b);
#pragma unroll
            for (int j = 0; j < 8; j++) gv[j] += b[j];
        }
#endif
#pragma unroll
        for (int j = 0; j < 8; j++) v[j] = v[j] * ds_act(gv[j]);
#else
#pragma unroll
        for (int j = 0; j < 8; j++) v[j] = ds_act(v[j]);
#endif
#if DS_HAS_C
        {
            float cv[8];
            ds_load<8>(A.c + (ds_i64)t * DS_N + n, cv);
#pragma unroll
            for (int j = 0; j < 8; j++) v[j] += cv[j];
        }
#endif
        ds_store<8>(A.d + (ds_i64)t * DS_N + n, v);
    }
}

// ------------------------------------------------------------------ the norm prologue
#if DS_NORM
// v[0..7] = sum of the terms at row t, columns k..k+7, read from global memory (L2: every block reads them).
__device__ __forceinline__ void ds_terms_global(const ds_args &A, ds_i64 t, ds_i64 k, float (&v)[8])
{
#pragma unroll
    for (int i = 0; i < DS_NTERMS; i++) {
        float u[8];
        ds_load<8>(A.term[i] + (ds_term_vec(i) ? 0 : t * DS_K) + k, u);
#pragma unroll
        for (int j = 0; j < 8; j++) v[j] = i ? v[j] + u[j] : u[j];
    }
}

// Mean and 1/std of every row (two passes, fp32, from the unrounded sum, as the norm kernel does).
__device__ __forceinline__ void ds_row_stats(const ds_args &A, long long T, float *mean, float *rstd)
{
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    for (ds_i64 t = warp; t < T; t += DS_THREADS / 32) {
        float s = 0.0f;
#if DS_NORM == 1
        for (ds_i64 k = lane * 8; k < DS_K; k += 256) {
            float v[8];
            ds_terms_global(A, t, k, v);
#pragma unroll
            for (int j = 0; j < 8; j++) s += v[j];
        }
        const float mu = ds_warp_sum(s) / (float)DS_K;
#else
        const float mu = 0.0f;
#endif
        float q = 0.0f;
        for (ds_i64 k = lane * 8; k < DS_K; k += 256) {
            float v[8];
            ds_terms_global(A, t, k, v);
#pragma unroll
            for (int j = 0; j < 8; j++) q += (v[j] - mu) * (v[j] - mu);
        }
        q = ds_warp_sum(q);
        if (lane == 0) mean[t] = mu, rstd[t] = rsqrtf(q / (float)DS_K + DS_EPS);
    }
}
#endif

// ------------------------------------------------------------------ per-body configuration
// TP tokens (padded), U load groups in flight per warp, QW load groups per warp per x chunk.
template <int NT, int U, int QW> struct ds_cfg {
    static constexpr int TP = 8 * NT;
    static constexpr int LPC = QW * DS_WK;                 // load groups per chunk
    static constexpr int KCH = LPC * DS_KSTEP;             // k per chunk
    static constexpr int XLD = KCH + ((DS_XPADT - KCH % 64) % 64 + 64) % 64;  // row pitch of a staged chunk
    static constexpr int XST = TP * XLD;                   // elements of one staged tensor
};

// The block's share of the (tile, load group) space and a cursor over it: segment j is the part of one tile.
struct ds_range {
    ds_i64 u0, u1, t0, t1;
    __device__ __forceinline__ ds_i64 seg_a(ds_i64 j) const { return j == 0 ? u0 - t0 * DS_LPT : 0; }
    __device__ __forceinline__ ds_i64 seg_e(ds_i64 j) const { return j == t1 - t0 ? u1 - t1 * DS_LPT : DS_LPT; }
};

template <int LPC> struct ds_cursor {     // (segment, chunk, position) in one warp's walk
    ds_i64 j; int ch, nch, i;
    __device__ __forceinline__ void start(const ds_range &R)
    {
        j = 0, ch = 0, i = 0;
        nch = (int)((R.seg_e(0) - R.seg_a(0) + LPC - 1) / LPC);
    }
    template <int QW> __device__ __forceinline__ void next(const ds_range &R)
    {
        if (++i < QW) return;
        i = 0;
        if (++ch < nch) return;
        ch = 0;
        if (++j <= R.t1 - R.t0) nch = (int)((R.seg_e(j) - R.seg_a(j) + LPC - 1) / LPC);
    }
    __device__ __forceinline__ bool done(const ds_range &R) const { return j > R.t1 - R.t0; }
};

// Stages chunk (segment j, chunk ch) of x (or of the norm's tensor terms) into buf: TP rows x KCH columns,
// zeros past T and past K.
template <int NT, int U, int QW>
__device__ __forceinline__ void ds_stage(const ds_args &A, long long T, const ds_range &R, ds_i64 j, int ch, ds_x_t *buf)
{
    typedef ds_cfg<NT, U, QW> C;
    const ds_i64 k0 = (R.seg_a(j) + (ds_i64)ch * C::LPC) * DS_KSTEP;
    constexpr int V = C::KCH / 8;
#pragma unroll
    for (int s = 0; s < DS_NSTAGED; s++) {
#if DS_NORM
        const ds_v_t *src = A.term[ds_staged_term(s)];
#else
        const ds_x_t *src = A.x;
#endif
        for (int e = threadIdx.x; e < C::TP * V; e += DS_THREADS) {
            const int t = e / V, kk = (e % V) * 8;
            const ds_i64 k = k0 + kk;
            const bool ok = t < T && k < DS_K;
            ds_cp16(buf + s * C::XST + t * C::XLD + kk, ok ? (const void *)(src + (ds_i64)t * DS_K + k) : (const void *)src, ok);
        }
    }
    ds_cp_commit();
}

#if DS_NORM
// The staged terms of a chunk become the normalized x (in the first staged tensor's place); the block that owns
// tile 0's part of k writes the sum (plus the extras) once.
template <int NT, int U, int QW>
__device__ __forceinline__ void ds_normalize(const ds_args &A, long long T, const ds_range &R, ds_i64 j, int ch,
                                             ds_x_t *buf, const float *mean, const float *rstd)
{
    typedef ds_cfg<NT, U, QW> C;
    const ds_i64 k0 = (R.seg_a(j) + (ds_i64)ch * C::LPC) * DS_KSTEP;
    const bool side = DS_HAS_SIDE && R.t0 + j == 0;
    constexpr int V = C::KCH / 8;
    for (int e = threadIdx.x; e < C::TP * V; e += DS_THREADS) {
        const int t = e / V, kk = (e % V) * 8;
        const ds_i64 k = k0 + kk;
        float y[8];
        if (t < T && k < DS_K) {
            float v[8];
            int s = 0;
#pragma unroll
            for (int i = 0; i < DS_NTERMS; i++) {
                float u[8];
                if (ds_term_vec(i)) ds_load<8>(A.term[i] + k, u);
                else ds_load<8>(reinterpret_cast<const ds_v_t *>(buf) + s * C::XST + t * C::XLD + kk, u), s++;
#pragma unroll
                for (int q = 0; q < 8; q++) v[q] = i ? v[q] + u[q] : u[q];
            }
#if DS_HAS_SIDE
            if (side) {
                float sd[8];
#pragma unroll
                for (int q = 0; q < 8; q++) sd[q] = v[q];
#pragma unroll
                for (int i = 0; i < DS_NEXTRA; i++) {
                    float u[8];
                    ds_load<8>(A.extra[i] + (ds_extra_vec(i) ? 0 : (ds_i64)t * DS_K) + k, u);
#pragma unroll
                    for (int q = 0; q < 8; q++) sd[q] += u[q];
                }
                ds_store<8>(A.side + (ds_i64)t * DS_K + k, sd);
            }
#endif
            float g[8];
            ds_load<8>(A.gamma + k, g);
#if DS_HAS_BETA
            float b[8];
            ds_load<8>(A.beta + k, b);
#endif
#pragma unroll
            for (int q = 0; q < 8; q++) {
                y[q] = (v[q] - mean[t]) * rstd[t] * (g[q] + DS_GOFF);
#if DS_HAS_BETA
                y[q] += b[q];
#endif
            }
        } else {
#pragma unroll
            for (int q = 0; q < 8; q++) y[q] = 0.0f;
        }
        ds_store<8>(buf + t * C::XLD + kk, y);
    }
    (void)side;
}
#endif

// ------------------------------------------------------------------ MMAs of one load group
// IO: lane (g, c) holds W rows k+4c .. k+4c+3 at columns col0 + EL*g ..; MMA tile i takes columns 2i (row g) and
// 2i+1 (row g+8); MMA k order (2c, 2c+1, 2c+8, 2c+9) is memory k (4c .. 4c+3).
// OI: lane (g, c) holds rows col0 + 16i + g and + 8 at k + 8c .. + 7; MMA step s takes words 2s, 2s+1.
template <int NT, int XLD>
__device__ __forceinline__ void ds_mma_group(float (&acc)[DS_MT][NT][4], const ds_wraw_t (&raw)[DS_RPL],
                                             const ds_x_t *xs, int kk, int g, int c)
{
#if DS_IO
    uint2 b[NT];
#pragma unroll
    for (int j = 0; j < NT; j++) b[j] = *reinterpret_cast<const uint2 *>(xs + (8 * j + g) * XLD + kk + 4 * c);
    unsigned w[4][DS_EL / 2];
#pragma unroll
    for (int r = 0; r < 4; r++) ds_wconv(raw[r], w[r]);
#pragma unroll
    for (int i = 0; i < DS_MT; i++) {
        const unsigned a[4] = {ds_prmt(w[0][i], w[1][i], 0x5410), ds_prmt(w[0][i], w[1][i], 0x7632),
                               ds_prmt(w[2][i], w[3][i], 0x5410), ds_prmt(w[2][i], w[3][i], 0x7632)};
#pragma unroll
        for (int j = 0; j < NT; j++) ds_mma(acc[i][j], a, b[j].x, b[j].y);
    }
#else
    uint4 b[NT];
#pragma unroll
    for (int j = 0; j < NT; j++) b[j] = *reinterpret_cast<const uint4 *>(xs + (8 * j + g) * XLD + kk + 8 * c);
#pragma unroll
    for (int i = 0; i < DS_MT; i++) {
        unsigned w0[DS_EL / 2], w1[DS_EL / 2];
        ds_wconv(raw[2 * i], w0);
        ds_wconv(raw[2 * i + 1], w1);
#pragma unroll
        for (int s = 0; s < 2; s++) {
            const unsigned a[4] = {w0[2 * s], w1[2 * s], w0[2 * s + 1], w1[2 * s + 1]};
#pragma unroll
            for (int j = 0; j < NT; j++) ds_mma(acc[i][j], a, (&b[j].x)[2 * s], (&b[j].x)[2 * s + 1]);
        }
    }
#endif
}

// Column of the W rows/columns lane (g, c) reads for tile `tile`, relative to its part's weight.
__device__ __forceinline__ ds_i64 ds_lane_col(ds_i64 tile, int wcol, int g)
{
    return tile * DS_BCP + wcol + (DS_IO ? DS_EL * g : g);
}

// Issues the loads of load group lg of tile `tile` (zeros past K; columns past N read a valid row, never stored).
__device__ __forceinline__ void ds_load_group(ds_wraw_t (&raw)[DS_RPL], const ds_w_t *w, ds_i64 tile, int wcol, ds_i64 lg,
                                              int g, int c)
{
    const ds_i64 col = ds_lane_col(tile, wcol, g);
#if DS_IO
    const ds_i64 cc = col < DS_N ? col : 0;
#pragma unroll
    for (int r = 0; r < 4; r++) {
        const ds_i64 k = lg * 16 + 4 * c + r;
        raw[r] = k < DS_K ? ds_ldw(w + k * DS_LDW + cc) : ds_wraw_t();
    }
#else
    const ds_i64 k = lg * 32 + 8 * c;
#pragma unroll
    for (int i = 0; i < DS_MT; i++)
#pragma unroll
        for (int h = 0; h < 2; h++) {
            const ds_i64 row = col + 16 * i + 8 * h;
            raw[2 * i + h] = k < DS_K ? ds_ldw(w + (row < DS_N ? row : 0) * DS_LDW + k) : ds_wraw_t();
        }
#endif
}

// ------------------------------------------------------------------ one body per padded token count
template <int NT, int U, int QW>
__device__ __forceinline__ void ds_body(const ds_args &A, long long T, unsigned char *smem)
{
    typedef ds_cfg<NT, U, QW> C;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, g = lane >> 2, c = lane & 3;
    const int wn = warp % DS_WN, wk = warp / DS_WN;
#if DS_GATED
    const int part = wn >= DS_WN / 2;
    const int wcol = (wn % (DS_WN / 2)) * DS_WCOL;
    const ds_w_t *w = part ? (DS_SEP_GATE ? A.wg : A.wu + DS_GATE_OFF) : A.wu;
#else
    const int part = 0, wcol = wn * DS_WCOL;
    const ds_w_t *w = A.wu;
#endif
    ds_x_t *xbuf = reinterpret_cast<ds_x_t *>(smem);                                  // [2][NSTAGED][TP][XLD]
    float *red = reinterpret_cast<float *>(smem + 2 * DS_NSTAGED * C::XST * sizeof(ds_x_t));  // [TP][BCT]
    float *mean = red + C::TP * DS_BCT, *rstd = mean + C::TP;
    int *flag = reinterpret_cast<int *>(rstd + C::TP);

    const ds_i64 W = (ds_i64)DS_NTILE * DS_LPT, G = gridDim.x, b = blockIdx.x;
    ds_range R;
    R.u0 = W * b / G, R.u1 = W * (b + 1) / G;
    if (R.u0 >= R.u1) { ds_pdl_wait(); ds_pdl_launch(); return; }
    R.t0 = R.u0 / DS_LPT, R.t1 = (R.u1 - 1) / DS_LPT;

    // Weights first: they do not depend on the previous kernel, so they stream while it finishes.
    ds_cursor<C::LPC> L, Cc, S;
    L.start(R);
    ds_wraw_t ring[U][DS_RPL];
#pragma unroll
    for (int u = 0; u < U; u++) {
        const ds_i64 lg = R.seg_a(L.j) + (ds_i64)L.ch * C::LPC + wk + L.i * DS_WK;
        if (!L.done(R) && lg < R.seg_e(L.j)) ds_load_group(ring[u], w, R.t0 + L.j, wcol, lg, g, c);
        L.template next<QW>(R);
    }
    ds_pdl_wait();
    ds_pdl_launch();

    // Two chunks of x in flight.
    S.start(R);
    for (int q = 0; q < 2; q++) {
        if (!S.done(R)) ds_stage<NT, U, QW>(A, T, R, S.j, S.ch, xbuf + q * DS_NSTAGED * C::XST);
        else ds_cp_commit();
        for (int z = 0; z < QW; z++) S.template next<QW>(R);
    }
#if DS_NORM
    ds_row_stats(A, T, mean, rstd);
#endif
    Cc.start(R);
    int buf = 0;
    while (!Cc.done(R)) {
        const ds_i64 j = Cc.j;
        float acc[DS_MT][NT][4];
#pragma unroll
        for (int i = 0; i < DS_MT; i++)
#pragma unroll
            for (int jj = 0; jj < NT; jj++)
#pragma unroll
                for (int r = 0; r < 4; r++) acc[i][jj][r] = 0.0f;
        while (!Cc.done(R) && Cc.j == j) {    // the chunks of segment j
            const int ch = Cc.ch;
            ds_cp_wait<1>();
            __syncthreads();
            ds_x_t *xs = xbuf + buf * DS_NSTAGED * C::XST;
#if DS_NORM
            ds_normalize<NT, U, QW>(A, T, R, j, ch, xs, mean, rstd);
            __syncthreads();
#endif
            const ds_i64 cbase = R.seg_a(j) + (ds_i64)ch * C::LPC, cend = R.seg_e(j);
            for (int q = 0; q < QW; q += U) {
#pragma unroll
                for (int u = 0; u < U; u++) {
                    const int pos = q + u;
                    const ds_i64 lg = cbase + wk + pos * DS_WK;
                    if (lg < cend) ds_mma_group<NT, C::XLD>(acc, ring[u], xs, (wk + pos * DS_WK) * DS_KSTEP, g, c);
                    Cc.template next<QW>(R);
                    const ds_i64 ln = R.seg_a(L.j) + (ds_i64)L.ch * C::LPC + wk + L.i * DS_WK;
                    if (!L.done(R) && ln < R.seg_e(L.j)) ds_load_group(ring[u], w, R.t0 + L.j, wcol, ln, g, c);
                    L.template next<QW>(R);
                }
            }
            __syncthreads();   // every warp is done with this buffer
            if (!S.done(R)) ds_stage<NT, U, QW>(A, T, R, S.j, S.ch, xs);
            else ds_cp_commit();
            for (int z = 0; z < QW; z++) S.template next<QW>(R);
            buf ^= 1;
        }
        // Segment j is done: reduce the k-warps into red, in a fixed order.
        for (int r = 0; r < DS_WK; r++) {
            if (wk == r) {
#pragma unroll
                for (int i = 0; i < DS_MT; i++)
#pragma unroll
                    for (int jj = 0; jj < NT; jj++)
#pragma unroll
                        for (int e = 0; e < 4; e++) {
                            const int t = 8 * jj + 2 * c + (e & 1);
                            const int lc = DS_IO ? DS_EL * g + 2 * i + (e >> 1) : 16 * i + g + 8 * (e >> 1);
                            float *p = red + t * DS_BCT + part * DS_BCP + wcol + lc;
                            *p = r ? *p + acc[i][jj][e] : acc[i][jj][e];
                        }
            }
            __syncthreads();
        }
        const ds_i64 tile = R.t0 + j;
        const ds_i64 a = R.seg_a(j), e = R.seg_e(j);
        if (a == 0 && e == DS_LPT) {
            ds_epilogue(A, red, T, tile);
        } else {
            // A part of the tile: publish it; the block that completes the tile sums all parts in block order.
            const int slot = j == 0 ? 0 : 1;
            float *mine = A.part + ((ds_i64)b * 2 + slot) * (ds_i64)T * DS_BCT;
            for (int x = threadIdx.x; x < T * DS_BCT; x += DS_THREADS) mine[x] = red[x];
            __threadfence();
            __syncthreads();
            if (threadIdx.x == 0) {
                // first and last block whose range meets the tile (block q covers [W*q/G, W*(q+1)/G))
                const ds_i64 x0 = tile * DS_LPT, x1 = (tile + 1) * DS_LPT - 1;
                const ds_i64 f = ((x0 + 1) * G + W - 1) / W - 1, l = ((x1 + 1) * G + W - 1) / W - 1;
                const unsigned n = (unsigned)(l - f + 1);
                const unsigned prev = atomicAdd(A.cnt + tile, 1u);
                flag[0] = prev == n - 1;
                flag[1] = (int)f, flag[2] = (int)l;
            }
            __syncthreads();
            if (flag[0]) {
                __threadfence();
                const ds_i64 f = flag[1], l = flag[2];
                for (int x = threadIdx.x; x < T * DS_BCT; x += DS_THREADS) {
                    float s = 0.0f;
                    for (ds_i64 q = f; q <= l; q++) {
                        // tile is q's last segment when the tile starts inside q (slot 1 unless its only one)
                        const ds_i64 qt0 = (W * q / G) / DS_LPT;
                        const int qs = (q == f && qt0 != tile) ? 1 : 0;
                        s += ds_ldcg(A.part + ((q * 2 + qs) * (ds_i64)T) * DS_BCT + x);
                    }
                    red[x] = s;
                }
                __syncthreads();
                ds_epilogue(A, red, T, tile);
                if (threadIdx.x == 0) A.cnt[tile] = 0;   // ready for the next launch
            }
        }
        __syncthreads();   // red is reused by the next segment
    }
    ds_cp_wait<0>();
}

#ifndef DS_DYNAMIC_SMEM
#define DS_DYNAMIC_SMEM(n) extern __shared__ __align__(16) unsigned char n[]
#endif

extern "C" __global__ void __launch_bounds__(DS_THREADS, 1) {{NAME}}(long long T{{PARAMS}})
{
    DS_DYNAMIC_SMEM(ds_smem);
    ds_args A = {};
{{BIND}}
{{DISPATCH}}
}
