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
#define DS_LPR {{LPR}}               // adjacent loads per W row per lane (wider contiguous runs per row)
#define DS_WN {{WN}}                 // warps across columns
#define DS_WK {{WK}}                 // warps across k (reduced through shared memory)
#define DS_WT {{WT}}                 // warps across tokens (the T <= 128 ring: each multiplies its share of them)
#define DS_PIPE {{PIPE}}             // 1: W through a shared-memory ring (producer warp, bulk copies, mbarriers)
#define DS_STAGES8 {{STAGES8}}       // ring stages (DS_PIPE) of the T <= 8 body
#define DS_STAGES16 {{STAGES16}}     // ... of the T <= 16 body
#define DS_STAGES32 {{STAGES32}}     // ... of the T <= 32 body
#define DS_STAGES64 {{STAGES64}}     // ... of the T <= 64 body (half-length row segments)
#define DS_STAGES128 {{STAGES128}}   // ... and of the T <= 128 body (DS_WT > 1 only)
#define DS_TRACE {{TRACE}}           // measurements only (-DDSMLP_RING_TRACE=N): the W ring's phases in launch N
#define DS_NAME "{{NAME}}"
#define DS_SMEM {{SMEM}}LL
#define DS_CWARPS (DS_WN * DS_WK * DS_WT)   // warps that multiply (consumers)
#define DS_CTHREADS (32 * DS_CWARPS)
#define DS_PWARPS {{PWARPS}}         // the ring's producer warps (more than one: the T <= 128 ring, cp.async)
#define DS_THREADS (DS_CTHREADS + 32 * DS_PIPE * DS_PWARPS)   // the ring's producer warps after the consumers
#define DS_KSTEP (DS_IO ? 16 : 32 * DS_LPR)   // k of one load group (IO: 4 rows per lane; OI: 8 LPR k per lane)
#define DS_WCOL (DS_IO ? 8 * DS_EL * DS_LPR : 16 * DS_MT)   // output columns of one warp
#define DS_BCP ((DS_GATED ? DS_WN / 2 : DS_WN) * DS_WCOL)  // columns of one tile, per part
#define DS_BCT (DS_WN * DS_WCOL)     // columns of one tile, all parts
#define DS_NTILE ((DS_N + DS_BCP - 1) / DS_BCP)
#define DS_LPT ((DS_K + DS_KSTEP - 1) / DS_KSTEP)  // load groups per tile
#define DS_RPL (DS_IO ? 4 * DS_LPR : 2 * DS_MT * DS_LPR)   // weight loads per lane per load group
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
#define DS_XPADT (DS_IO ? 16 : DS_LPR == 1 ? 32 : 8)   // x chunk rows start this many elements apart mod 64:
                                                      // conflict-free fragment loads
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
// Weights are read once: no L1 allocation; L2 fetches whole 256-byte sectors (the load instruction and the hint
// were chosen by measurement, bench/RESULTS.md).
#define DS_LDW_OP "ld.global.nc.L1::no_allocate.L2::256B"
__device__ __forceinline__ uint4 ds_ldw16(const void *p)
{
    uint4 r;
    asm volatile(DS_LDW_OP ".v4.u32 {%0,%1,%2,%3}, [%4];\n" : "=r"(r.x), "=r"(r.y), "=r"(r.z), "=r"(r.w) : "l"(p));
    return r;
}
__device__ __forceinline__ uint2 ds_ldw8(const void *p)
{
    uint2 r;
    asm volatile(DS_LDW_OP ".v2.u32 {%0,%1}, [%2];\n" : "=r"(r.x), "=r"(r.y) : "l"(p));
    return r;
}
#if DS_PIPE && __CUDA_ARCH__ >= 900
// The shared-memory W ring: mbarriers (arrival counts + transaction bytes) and 1-D bulk copies completed on them.
__device__ __forceinline__ unsigned ds_su32(const void *p) { return (unsigned)__cvta_generic_to_shared(p); }
__device__ __forceinline__ void ds_mbar_init(unsigned long long *b, unsigned n)
{
    asm volatile("mbarrier.init.shared.b64 [%0], %1;\n" ::"r"(ds_su32(b)), "r"(n) : "memory");
}
__device__ __forceinline__ void ds_mbar_fence_init() { asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory"); }
__device__ __forceinline__ void ds_mbar_expect(unsigned long long *b, unsigned bytes)
{
    asm volatile("mbarrier.arrive.expect_tx.shared.b64 _, [%0], %1;\n" ::"r"(ds_su32(b)), "r"(bytes) : "memory");
}
__device__ __forceinline__ void ds_mbar_arrive(unsigned long long *b)
{
    asm volatile("mbarrier.arrive.shared.b64 _, [%0];\n" ::"r"(ds_su32(b)) : "memory");
}
__device__ __forceinline__ void ds_mbar_wait(unsigned long long *b, unsigned parity)
{
    asm volatile("{ .reg .pred p; DS_W: mbarrier.try_wait.parity.shared.b64 p, [%0], %1; @!p bra DS_W; }\n"
                 ::"r"(ds_su32(b)), "r"(parity) : "memory");
}
__device__ __forceinline__ void ds_bulk(void *dst, const void *src, unsigned bytes, unsigned long long *bar)
{
    asm volatile("cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1], %2, [%3];\n"
                 ::"r"(ds_su32(dst)), "l"(src), "r"(bytes), "r"(ds_su32(bar)) : "memory");
}
// The mbarrier's phase also waits for the thread's cp.async copies issued so far (its arrival counts in the
// barrier's expected count).
__device__ __forceinline__ void ds_cp_mbar_arrive(unsigned long long *b)
{
    asm volatile("cp.async.mbarrier.arrive.noinc.shared::cta.b64 [%0];\n" ::"r"(ds_su32(b)) : "memory");
}
// consumer warps only: the producer warp never waits on a block barrier
__device__ __forceinline__ void ds_csync() { asm volatile("bar.sync 1, %0;\n" ::"n"(DS_CTHREADS) : "memory"); }
#else
#define ds_csync() __syncthreads()
#endif
#else   // host simulation (tests/test_plan_sim_shim.h provides the rest)
#if DS_PIPE
#define ds_csync() ds_sim_bar(1, DS_CTHREADS)
#else
#define ds_csync() __syncthreads()
#endif
#define ds_pdl_wait() ((void)0)
#define ds_pdl_launch() ((void)0)
#define ds_mma(d, a, b0, b1) ds_sim_mma(d, a, b0, b1, DS_MMA_BF16)
#endif

// 32-bit word q of a 8- or 16-byte vector (q a compile-time constant after unrolling; no pointer arithmetic
// across members).
__device__ __forceinline__ unsigned ds_w32(const uint2 &v, int q) { return q == 0 ? v.x : v.y; }
__device__ __forceinline__ unsigned ds_w32(const uint4 &v, int q) { return q == 0 ? v.x : q == 1 ? v.y : q == 2 ? v.z : v.w; }

// ------------------------------------------------------------------ the weight-load seam
// ds_wraw_t holds one load; ds_wconv turns it into DS_EL / 2 words of two MMA operands each (element 2q in the
// low half of word q). Float weights pass through; int8 and fp8 codes become exact f16/bf16 values of the codes
// (a few integer ops per pair, no multiply): their scales belong to output rows and multiply the finished sums in
// the epilogue, so the main loop does no per-weight scale work.
// [out,in] with two adjacent 8-byte loads per row (int8 codes): one 16-byte load when rows keep 16-byte alignment
#define DS_WB {{W_BYTES}}          // bytes per weight element
#define DS_PAIR16 (!DS_IO && DS_LPR == 2 && DS_EL * DS_WB == 8 && DS_LDW * DS_WB % 16 == 0)
#if DS_EL * DS_WB == 16
typedef uint4 ds_wraw_t;
__device__ __forceinline__ ds_wraw_t ds_ldw(const ds_w_t *p) { return ds_ldw16(p); }
#elif DS_EL * DS_WB == 8
typedef uint2 ds_wraw_t;
__device__ __forceinline__ ds_wraw_t ds_ldw(const ds_w_t *p) { return ds_ldw8(p); }
#else
#error "weight loads must be 8 or 16 bytes"
#endif

#if DS_QUANT == 0
__device__ __forceinline__ void ds_wconv(const ds_wraw_t &r, unsigned (&w)[DS_EL / 2])
{
#pragma unroll
    for (int q = 0; q < DS_EL / 2; q++) w[q] = ds_w32(r, q);
}
#elif DS_QUANT == 1
// int8 code q, biased to b = q ^ 0x80 = q + 128, becomes q exactly:
//  f16:  0x64bb is 1024 + b; one subtraction of 1152 per pair.
//  bf16: [q, 0x43] pairs, by common.cuh's ds_i8x2_bf16.
__device__ __forceinline__ void ds_wconv(const ds_wraw_t &r, unsigned (&w)[DS_EL / 2])
{
#pragma unroll
    for (int h = 0; h < DS_EL / 4; h++) {
#if DS_MMA_BF16
#pragma unroll
        for (int q = 0; q < 2; q++) w[2 * h + q] = ds_i8x2_bf16(ds_prmt(ds_w32(r, h), 0x43434343u, q ? 0x4342 : 0x4140));
#else
        const unsigned u = ds_w32(r, h) ^ 0x80808080u;
        const unsigned magic = 0x64806480u;   // 1152 in both halves
#pragma unroll
        for (int q = 0; q < 2; q++) {
            __half2 v, m;
            const unsigned b = ds_prmt(u, 0x64646464u, q ? 0x4342 : 0x4140);
            memcpy(&v, &b, 4), memcpy(&m, &magic, 4);
            v = __hsub2(v, m);
            memcpy(&w[2 * h + q], &v, 4);
        }
#endif
    }
}
#else
// fp8 e4m3 -> f16 pairs (common.cuh's ds_fp8x2_to_h2) in one instruction (sm_89+, exact); bf16 takes them through fp32 (exact: 3 mantissa bits).
__device__ __forceinline__ void ds_wconv(const ds_wraw_t &r, unsigned (&w)[DS_EL / 2])
{
#pragma unroll
    for (int h = 0; h < DS_EL / 4; h++) {
        const unsigned u = ds_w32(r, h);
#pragma unroll
        for (int q = 0; q < 2; q++) {
            const unsigned hv = ds_fp8x2_to_h2((unsigned short)(q ? u >> 16 : u & 0xffffu));
#if DS_MMA_BF16
            __half2 x;
            memcpy(&x, &hv, 4);
            const __nv_bfloat162 b = __floats2bfloat162_rn(__low2float(x), __high2float(x));
            memcpy(&w[2 * h + q], &b, 4);
#else
            w[2 * h + q] = hv;
#endif
        }
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

// 8 consecutive elements of any dtype, in accesses of at most 16 bytes (p aligned to the access).
template <typename T> __device__ __forceinline__ void ds_st8(T *p, const float (&v)[8])
{
    constexpr int P = 8 * (int)sizeof(T) > 16 ? 16 / (int)sizeof(T) : 8;
#pragma unroll
    for (int q = 0; q < 8 / P; q++) {
        float u[P];
#pragma unroll
        for (int j = 0; j < P; j++) u[j] = v[q * P + j];
        ds_store<P>(p + q * P, u);
    }
}

// Activations a preceding kernel may still be writing when this one starts (programmatic dependent launch: the
// norm's terms and extras, the residual C) are read from L2, never L1: this kernel's L1 was cleared at its launch,
// before griddepcontrol.wait, so a line filled early could predate the previous kernel's writes. ds_ld8 (bias, C)
// takes the same path: 8 elements in accesses of at most 16 bytes.
template <int N, typename T> __device__ __forceinline__ void ds_load_l2(const T *p, float (&v)[N])
{
    typedef typename ds_raw<N * sizeof(T)>::t R;
    alignas(N * sizeof(T)) T e[N];
    *reinterpret_cast<R *>(e) = ds_ldcg(reinterpret_cast<const R *>(p));
#pragma unroll
    for (int j = 0; j < N; j++) v[j] = ds_to_f(e[j]);
}
template <typename T> __device__ __forceinline__ void ds_ld8(const T *p, float (&v)[8])
{
    constexpr int P = 8 * (int)sizeof(T) > 16 ? 16 / (int)sizeof(T) : 8;
#pragma unroll
    for (int q = 0; q < 8 / P; q++) {
        float u[P];
        ds_load_l2<P>(p + q * P, u);
#pragma unroll
        for (int j = 0; j < P; j++) v[q * P + j] = u[j];
    }
}

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
    for (int e = threadIdx.x; e < T * C8; e += DS_CTHREADS) {
        const int t = e / C8, lc = (e % C8) * 8;
        const ds_i64 n = tile * DS_BCP + lc;
        if (n >= DS_N) continue;
        float v[8];
#pragma unroll
        for (int j = 0; j < 8; j++) v[j] = red[t * DS_BCT + lc + j] * ds_scale_of(A.su, n + j);
#if DS_HAS_BIAS
        {
            float b[8];
            ds_ld8(A.bias + n, b);
#pragma unroll
            for (int j = 0; j < 8; j++) v[j] += b[j];
        }
#endif
#if DS_GATED
        float gv[8];
#pragma unroll
        for (int j = 0; j < 8; j++)   // a merged W1's gate scales follow its up rows
            gv[j] = red[t * DS_BCT + DS_BCP + lc + j] * (DS_SEP_SCALE ? ds_scale_of(A.sg, n + j) : ds_scale_of(A.su, DS_N + n + j));
#if DS_HAS_BIAS
        {
            float b[8];
            ds_ld8(A.bias + DS_N + n, b);
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
            ds_ld8(A.c + (ds_i64)t * DS_N + n, cv);
#pragma unroll
            for (int j = 0; j < 8; j++) v[j] += cv[j];
        }
#endif
        ds_st8(A.d + (ds_i64)t * DS_N + n, v);
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
        ds_load_l2<8>(A.term[i] + (ds_term_vec(i) ? 0 : t * DS_K) + k, u);
#pragma unroll
        for (int j = 0; j < 8; j++) v[j] = i ? v[j] + u[j] : u[j];
    }
}

// Mean and 1/std of every row, fp32, one pass over the unrounded sum shifted by its first element (so the
// variance does not cancel). T <= 8: the block's warps split each row; else one warp per row. `part` holds
// 2 x 8 x TP floats of scratch (the reduction buffer, idle at this point).
template <int TP>
__device__ __forceinline__ void ds_row_stats(const ds_args &A, long long T, float *mean, float *rstd, float *part)
{
    constexpr int NW = DS_CWARPS;
    static_assert(2 * NW * TP <= TP * DS_BCT, "the row statistics' scratch (red, TP x BCT floats) is too small");
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int rows = T < NW ? (int)T : NW, per = NW / rows;   /* warps per row */
    const int sub = warp / rows;
    for (ds_i64 t0 = 0; t0 < T; t0 += rows) {
        const ds_i64 t = t0 + warp % rows;
        float s1 = 0.0f, s2 = 0.0f;
        if (sub < per && t < T) {
            float shift = 0.0f;
#if DS_NORM == 1
            {
                float v0[8];
                ds_terms_global(A, t, 0, v0);
                shift = v0[0];
            }
#endif
            float a1[4] = {0, 0, 0, 0}, a2[4] = {0, 0, 0, 0};
            const ds_i64 step = (ds_i64)per * 256;
            ds_i64 k = (ds_i64)sub * 256 + lane * 8;
            for (; k + 3 * step < DS_K; k += 4 * step) {
                float v[4][8];
#pragma unroll
                for (int u = 0; u < 4; u++) ds_terms_global(A, t, k + u * step, v[u]);
#pragma unroll
                for (int u = 0; u < 4; u++)
#pragma unroll
                    for (int j = 0; j < 8; j++) {
                        const float d = v[u][j] - shift;
                        a1[u] += d, a2[u] += d * d;
                    }
            }
            for (; k < DS_K; k += step) {
                float v[8];
                ds_terms_global(A, t, k, v);
#pragma unroll
                for (int j = 0; j < 8; j++) {
                    const float d = v[j] - shift;
                    a1[0] += d, a2[0] += d * d;
                }
            }
            s1 = ds_warp_sum((a1[0] + a1[1]) + (a1[2] + a1[3]));
            s2 = ds_warp_sum((a2[0] + a2[1]) + (a2[2] + a2[3]));
            if (lane == 0) part[sub * TP + (t - t0)] = s1, part[(NW + sub) * TP + (t - t0)] = s2;
            (void)shift;
        }
        ds_csync();
        if (threadIdx.x < rows && t0 + threadIdx.x < T) {
            const int r = threadIdx.x;
            float S1 = 0.0f, S2 = 0.0f;
            for (int q = 0; q < per; q++) S1 += part[q * TP + r], S2 += part[(NW + q) * TP + r];
            const float m1 = S1 / (float)DS_K, var = S2 / (float)DS_K - (DS_NORM == 1 ? m1 * m1 : 0.0f);
            float shift = 0.0f;
#if DS_NORM == 1
            {
                float v0[8];
                ds_terms_global(A, t0 + r, 0, v0);
                shift = v0[0];
            }
#endif
            mean[t0 + r] = DS_NORM == 1 ? shift + m1 : 0.0f;
            rstd[t0 + r] = rsqrtf(fmaxf(var, 0.0f) + DS_EPS);
        }
        ds_csync();
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

// The block's share of the (tile, load group) space; false (after the PDL handshake) when it has none.
__device__ __forceinline__ bool ds_block_range(ds_range &R)
{
    const ds_i64 W = (ds_i64)DS_NTILE * DS_LPT, G = gridDim.x, b = blockIdx.x;
    R.u0 = W * b / G, R.u1 = W * (b + 1) / G;
    if (R.u0 >= R.u1) {
        ds_pdl_wait();
        ds_pdl_launch();
        return false;
    }
    R.t0 = R.u0 / DS_LPT, R.t1 = (R.u1 - 1) / DS_LPT;
    return true;
}

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
    // the segment's load groups only (their k past K as zeros: the MMAs read whole load groups)
    const ds_i64 kend = R.seg_e(j) * DS_KSTEP < DS_K ? R.seg_e(j) * DS_KSTEP : DS_K;
    const int V = (int)(R.seg_e(j) * DS_KSTEP - k0 < C::KCH ? R.seg_e(j) * DS_KSTEP - k0 : C::KCH) / 8;
#pragma unroll
    for (int s = 0; s < DS_NSTAGED; s++) {
#if DS_NORM
        const ds_v_t *src = A.term[ds_staged_term(s)];
#else
        const ds_x_t *src = A.x;
#endif
        // Rows T..TP-1 (the body's token padding) are never written: an MMA's output column n depends only on
        // token row n of x, so whatever they hold reaches only padded outputs, which nothing reads or stores.
        for (int e = threadIdx.x; e < T * V; e += DS_CTHREADS) {
            const int t = e / V, kk = (e % V) * 8;
            const ds_i64 k = k0 + kk;
            const bool ok = k < kend;
            ds_cp16(buf + s * C::XST + t * C::XLD + kk, ok ? (const void *)(src + (ds_i64)t * DS_K + k) : (const void *)src, ok);
        }
    }
    ds_cp_commit();
}

#if DS_NORM
// The sum of the terms at row t, columns k..k+7 (v), plus the extras, written once as the side output.
__device__ __forceinline__ void ds_side8(const ds_args &A, ds_i64 t, ds_i64 k, const float (&v)[8])
{
#if DS_HAS_SIDE
    float sd[8];
#pragma unroll
    for (int q = 0; q < 8; q++) sd[q] = v[q];
#pragma unroll
    for (int i = 0; i < DS_NEXTRA; i++) {
        float u[8];
        ds_load_l2<8>(A.extra[i] + (ds_extra_vec(i) ? 0 : t * DS_K) + k, u);
#pragma unroll
        for (int q = 0; q < 8; q++) sd[q] += u[q];
    }
    ds_store<8>(A.side + t * DS_K + k, sd);
#else
    (void)A, (void)t, (void)k, (void)v;
#endif
}

// y = the norm of v (columns k..k+7 of a row with this mean and 1/std), fp32.
__device__ __forceinline__ void ds_norm8(const ds_args &A, ds_i64 k, const float (&v)[8], float mean, float rstd,
                                         float (&y)[8])
{
    float g[8];
    ds_load<8>(A.gamma + k, g);
#if DS_HAS_BETA
    float b[8];
    ds_load<8>(A.beta + k, b);
#endif
#pragma unroll
    for (int q = 0; q < 8; q++) {
        y[q] = (v[q] - mean) * rstd * (g[q] + DS_GOFF);
#if DS_HAS_BETA
        y[q] += b[q];
#endif
    }
}

// The staged terms of a chunk become the normalized x (in the first staged tensor's place); the block that owns
// tile 0's part of k writes the sum (plus the extras) once.
template <int NT, int U, int QW>
__device__ __forceinline__ void ds_normalize(const ds_args &A, long long T, const ds_range &R, ds_i64 j, int ch,
                                             ds_x_t *buf, const float *mean, const float *rstd)
{
    typedef ds_cfg<NT, U, QW> C;
    const ds_i64 k0 = (R.seg_a(j) + (ds_i64)ch * C::LPC) * DS_KSTEP;
    const ds_i64 kend = R.seg_e(j) * DS_KSTEP < DS_K ? R.seg_e(j) * DS_KSTEP : DS_K;
    const bool side = DS_HAS_SIDE && R.t0 + j == 0;
    const int V = (int)(R.seg_e(j) * DS_KSTEP - k0 < C::KCH ? R.seg_e(j) * DS_KSTEP - k0 : C::KCH) / 8;
    for (int e = threadIdx.x; e < T * V; e += DS_CTHREADS) {
        const int t = e / V, kk = (e % V) * 8;
        const ds_i64 k = k0 + kk;
        float y[8];
        if (k < kend) {
            float v[8];
            int s = 0;
#pragma unroll
            for (int i = 0; i < DS_NTERMS; i++) {
                float u[8];
                if (ds_term_vec(i)) ds_load_l2<8>(A.term[i] + k, u);
                else ds_load<8>(reinterpret_cast<const ds_v_t *>(buf) + s * C::XST + t * C::XLD + kk, u), s++;
#pragma unroll
                for (int q = 0; q < 8; q++) v[q] = i ? v[q] + u[q] : u[q];
            }
            if (side) ds_side8(A, t, k, v);
            ds_norm8(A, k, v, mean[t], rstd[t], y);
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
// Token tiles past T (the body's padding) are neither read nor multiplied.
__device__ __forceinline__ bool ds_tile_live(int j, long long T) { return j == 0 || 8 * j < T; }
#if !DS_IO
// [out,in] halves of ds_mma_group: the x fragments of a load group (shared memory -> registers), and the MMAs on
// them (the W ring reads both before it releases a stage, and multiplies after).
// xl: the lane's first x element (row g, k 8 LPR c of the chunk); the rest are constant offsets
template <int XLD> __device__ __forceinline__ int ds_xlane(int g, int c) { return g * XLD + 8 * DS_LPR * c; }
template <int NT, int XLD>
__device__ __forceinline__ void ds_xfrag_at(uint4 (&b)[NT][DS_LPR], const ds_x_t *xl, int kk, long long T)
{
#pragma unroll
    for (int j = 0; j < NT; j++)
#pragma unroll
        for (int h = 0; h < DS_LPR; h++)
            if (ds_tile_live(j, T)) b[j][h] = *reinterpret_cast<const uint4 *>(xl + 8 * j * XLD + kk + 8 * h);
}
template <int NT, int XLD>
__device__ __forceinline__ void ds_xfrag(uint4 (&b)[NT][DS_LPR], const ds_x_t *xs, int kk, int g, int c, long long T)
{
    ds_xfrag_at<NT, XLD>(b, xs + ds_xlane<XLD>(g, c), kk, T);
}
// Measurements only (DS_TRACE = N > 0): SM cycles of the W ring's phases, printed by a few blocks of the module's
// N-th launch (docs/stream.md). DS_TR(x) compiles x only then.
#if DS_TRACE && defined(__CUDA_ARCH__)
__device__ unsigned ds_trace_launch;
__device__ __forceinline__ long long ds_clk() { return clock64(); }
__device__ __forceinline__ bool ds_trace_on(unsigned n) { return n == DS_TRACE && blockIdx.x % 33 == 0; }
// the T <= 128 ring traces every block (its blocks' durations differ): start and end on the global nanosecond timer,
// which all SMs share, and the SM (common.cuh's ds_tl_now, ds_tl_sm)
#define DS_TR(...) __VA_ARGS__
#else
#define DS_TR(...)
#endif
// Keeps a lane-derived value in a register: loops otherwise recompute it from threadIdx at every stage.
__device__ __forceinline__ int ds_keep(int v)
{
    asm volatile("" : "+r"(v));
    return v;
}
template <int NT>
__device__ __forceinline__ void ds_mma_oi(float (&acc)[DS_MT][NT][4], const ds_wraw_t (&raw)[DS_RPL],
                                          const uint4 (&b)[NT][DS_LPR], long long T)
{
#pragma unroll
    for (int i = 0; i < DS_MT; i++)
#pragma unroll
        for (int h = 0; h < DS_LPR; h++) {
            unsigned w0[DS_EL / 2], w1[DS_EL / 2];
            ds_wconv(raw[(2 * i) * DS_LPR + h], w0);
            ds_wconv(raw[(2 * i + 1) * DS_LPR + h], w1);
#pragma unroll
            for (int s = 0; s < 2; s++) {
                const unsigned a[4] = {w0[2 * s], w1[2 * s], w0[2 * s + 1], w1[2 * s + 1]};
#pragma unroll
                for (int j = 0; j < NT; j++)
                    if (ds_tile_live(j, T)) ds_mma(acc[i][j], a, ds_w32(b[j][h], 2 * s), ds_w32(b[j][h], 2 * s + 1));
            }
        }
}
#endif

template <int NT, int XLD>
__device__ __forceinline__ void ds_mma_group(float (&acc)[DS_MT][NT][4], const ds_wraw_t (&raw)[DS_RPL],
                                             const ds_x_t *xs, int kk, int g, int c, long long T)
{
#if DS_IO
    uint2 b[NT];
#pragma unroll
    for (int j = 0; j < NT; j++)
        if (ds_tile_live(j, T)) b[j] = *reinterpret_cast<const uint2 *>(xs + (8 * j + g) * XLD + kk + 4 * c);
    unsigned w[4 * DS_LPR][DS_EL / 2];   // [row r x load h][column pair]
#pragma unroll
    for (int r = 0; r < 4 * DS_LPR; r++) ds_wconv(raw[r], w[r]);
#pragma unroll
    for (int i = 0; i < DS_MT; i++) {
        const int h = i / (DS_EL / 2), q = i % (DS_EL / 2);
        const unsigned a[4] = {ds_prmt(w[0 * DS_LPR + h][q], w[1 * DS_LPR + h][q], 0x5410),
                               ds_prmt(w[0 * DS_LPR + h][q], w[1 * DS_LPR + h][q], 0x7632),
                               ds_prmt(w[2 * DS_LPR + h][q], w[3 * DS_LPR + h][q], 0x5410),
                               ds_prmt(w[2 * DS_LPR + h][q], w[3 * DS_LPR + h][q], 0x7632)};
#pragma unroll
        for (int j = 0; j < NT; j++)
            if (ds_tile_live(j, T)) ds_mma(acc[i][j], a, b[j].x, b[j].y);
    }
#else
    uint4 b[NT][DS_LPR];
    ds_xfrag<NT, XLD>(b, xs, kk, g, c, T);
    ds_mma_oi<NT>(acc, raw, b, T);
#endif
}


// The weight loads of one warp, in the order its MMAs consume them: (segment, chunk, position) with the lane's
// W addresses of the current tile cached, so a load costs one multiply-add. Positions past a segment's end
// (the last chunk's tail) issue nothing. Columns past N read a valid row and are never stored; k past K loads
// zeros.
template <int LPC, int QW> struct ds_wcursor {
    ds_i64 j, base, end;               // segment, first load group of this chunk for this warp, segment end
    int ch, nch, i;
    const ds_w_t *lane[DS_RPL];        // this lane's addresses at load group 0 of the segment's tile

    __device__ __forceinline__ void tile(const ds_range &R, const ds_w_t *w, int wcol, int g, int c)
    {
        const ds_i64 col = (R.t0 + j) * DS_BCP + wcol + (DS_IO ? DS_EL * DS_LPR * g : g);
#if DS_IO
#pragma unroll
        for (int r = 0; r < 4; r++)
#pragma unroll
            for (int h = 0; h < DS_LPR; h++) {
                const ds_i64 cc = col + h * DS_EL < DS_N ? col + h * DS_EL : 0;
                lane[r * DS_LPR + h] = w + (ds_i64)(4 * c + r) * DS_LDW + cc;
            }
#else
#pragma unroll
        for (int q = 0; q < DS_MT; q++)
#pragma unroll
            for (int hh = 0; hh < 2; hh++) {
                const ds_i64 row = col + 16 * q + 8 * hh;
#pragma unroll
                for (int h = 0; h < DS_LPR; h++) {
                    lane[(2 * q + hh) * DS_LPR + h] = w + (row < DS_N ? row : DS_N - 1) * DS_LDW + 8 * DS_LPR * c + 8 * h;
                }
            }
#endif
    }
    __device__ __forceinline__ void segment(const ds_range &R, const ds_w_t *w, int wcol, int wk, int g, int c)
    {
        ch = 0, i = 0;
        if (j > R.t1 - R.t0) return;
        base = R.seg_a(j) + wk, end = R.seg_e(j);
        nch = (int)((end - R.seg_a(j) + LPC - 1) / LPC);
        tile(R, w, wcol, g, c);
    }
    __device__ __forceinline__ void start(const ds_range &R, const ds_w_t *w, int wcol, int wk, int g, int c)
    {
        j = 0;
        segment(R, w, wcol, wk, g, c);
    }
    __device__ __forceinline__ void next(const ds_range &R, const ds_w_t *w, int wcol, int wk, int g, int c)
    {
        if (++i < QW) return;
        i = 0, base += LPC;
        if (++ch < nch) return;
        j++;
        segment(R, w, wcol, wk, g, c);
    }
    __device__ __forceinline__ void issue(const ds_range &R, ds_wraw_t (&raw)[DS_RPL], int c) const
    {
        const ds_i64 lg = base + (ds_i64)i * DS_WK;
        if (j > R.t1 - R.t0 || lg >= end) return;
        const ds_i64 off = lg * (DS_IO ? 16 * DS_LDW : DS_KSTEP);
        if (DS_K % DS_KSTEP == 0 || lg < DS_LPT - 1) {
#if DS_PAIR16
            // a lane's two adjacent 8-byte pieces of one row (int8, [out,in], two loads per row) as one 16-byte load
#pragma unroll
            for (int r = 0; r < DS_RPL; r += 2) {
                const uint4 v = ds_ldw16(lane[r] + off);
                raw[r].x = v.x, raw[r].y = v.y, raw[r + 1].x = v.z, raw[r + 1].y = v.w;
            }
#else
#pragma unroll
            for (int r = 0; r < DS_RPL; r++) raw[r] = ds_ldw(lane[r] + off);
#endif
        } else {
#pragma unroll
            for (int r = 0; r < DS_RPL; r++) {
                const ds_i64 k = DS_IO ? lg * 16 + 4 * c + r / DS_LPR : lg * DS_KSTEP + 8 * DS_LPR * c + 8 * (r % DS_LPR);
                raw[r] = k < DS_K ? ds_ldw(lane[r] + off) : ds_wraw_t();
            }
        }
    }
};

// Segment j of the block's range is done (acc: each warp's sums over its k): reduce the k-warps into red in a
// fixed order, then run the epilogue, or publish the part of the tile (the block completing a tile sums all parts
// in block order and runs the epilogue). Consumer threads only.
__device__ __forceinline__ void ds_tile_done(const ds_args &A, long long T, const ds_range &R, ds_i64 j, float *red,
                                             int *flag);
// Accumulator element e of n8 token tile jj and 16-row tile i in lane (g, c): its token row, and its column among
// the warp's columns (an [in,out] lane holds columns of rows, an [out,in] lane rows of columns).
__device__ __forceinline__ int ds_acc_t(int jj, int c, int e) { return 8 * jj + 2 * c + (e & 1); }
__device__ __forceinline__ int ds_acc_col(int i, int g, int e)
{
    return DS_IO ? DS_EL * DS_LPR * g + 2 * i + (e >> 1) : 16 * i + g + 8 * (e >> 1);
}

template <int NT>
__device__ __forceinline__ void ds_finish_segment(const ds_args &A, long long T, const ds_range &R, ds_i64 j,
                                                  const float (&acc)[DS_MT][NT][4], float *red, int *flag, int wk,
                                                  int part, int wcol, int g, int c)
{
    for (int r = 0; r < DS_WK; r++) {
        if (wk == r) {
#pragma unroll
            for (int i = 0; i < DS_MT; i++)
#pragma unroll
                for (int jj = 0; jj < NT; jj++)
#pragma unroll
                    for (int e = 0; e < 4; e++) {
                        float *p = red + ds_acc_t(jj, c, e) * DS_BCT + part * DS_BCP + wcol + ds_acc_col(i, g, e);
                        *p = r ? *p + acc[i][jj][e] : acc[i][jj][e];
                    }
        }
        ds_csync();
    }
    ds_tile_done(A, T, R, j, red, flag);
}

// Thread 0 counts the block's arrival at split tile `tile` (W: the grid's (tile, load group) units, G: its blocks):
// flag[0] = whether it is the last of the tile's blocks, flag[1], flag[2] = the first and last block whose range meets
// the tile (block q covers [W*q/G, W*(q+1)/G)).
__device__ __forceinline__ void ds_tile_arrive(const ds_args &A, ds_i64 tile, ds_i64 W, ds_i64 G, int *flag)
{
    const ds_i64 x0 = tile * DS_LPT, x1 = (tile + 1) * DS_LPT - 1;
    const ds_i64 f = ((x0 + 1) * G + W - 1) / W - 1, l = ((x1 + 1) * G + W - 1) / W - 1;
    const unsigned n = (unsigned)(l - f + 1);
    const unsigned prev = atomicAdd(A.cnt + tile, 1u);
    flag[0] = prev == n - 1;
    flag[1] = (int)f, flag[2] = (int)l;
}
// The consumers' handshake once each has written its share of the block's part of split tile `tile`: the part made
// visible, the arrival counted, and whether this block completes the tile (then flag[1], flag[2] name the blocks
// whose parts it sums, and their parts are visible to it).
__device__ __forceinline__ bool ds_tile_publish(const ds_args &A, ds_i64 tile, ds_i64 W, ds_i64 G, int *flag)
{
    __threadfence();
    ds_csync();
    if (threadIdx.x == 0) ds_tile_arrive(A, tile, W, G, flag);
    ds_csync();
    if (!flag[0]) return false;
    __threadfence();
    return true;
}

// red holds segment j's finished sums for the block's part of the tile.
__device__ __forceinline__ void ds_tile_done(const ds_args &A, long long T, const ds_range &R, ds_i64 j, float *red,
                                             int *flag)
{
    const ds_i64 W = (ds_i64)DS_NTILE * DS_LPT, G = gridDim.x, b = blockIdx.x;
    const ds_i64 tile = R.t0 + j;
    const ds_i64 a = R.seg_a(j), e = R.seg_e(j);
    if (a == 0 && e == DS_LPT) {
        ds_epilogue(A, red, T, tile);
    } else {
        // A part of the tile: publish it; the block that completes the tile sums all parts in block order.
        const int slot = j == 0 ? 0 : 1;
        float *mine = A.part + ((ds_i64)b * 2 + slot) * (ds_i64)T * DS_BCT;
        for (int x = threadIdx.x; x < T * DS_BCT; x += DS_CTHREADS) mine[x] = red[x];
        if (ds_tile_publish(A, tile, W, G, flag)) {
            const ds_i64 f = flag[1], l = flag[2];
            for (int x = threadIdx.x; x < T * DS_BCT; x += DS_CTHREADS) {
                float s = 0.0f;
                for (ds_i64 q = f; q <= l; q++) {
                    // tile is q's last segment when the tile starts inside q (slot 1 unless its only one)
                    const ds_i64 qt0 = (W * q / G) / DS_LPT;
                    const int qs = (q == f && qt0 != tile) ? 1 : 0;
                    s += ds_ldcg(A.part + ((q * 2 + qs) * (ds_i64)T) * DS_BCT + x);
                }
                red[x] = s;
            }
            ds_csync();
            ds_epilogue(A, red, T, tile);
            if (threadIdx.x == 0) A.cnt[tile] = 0;   // ready for the next launch
        }
    }
    ds_csync();   // red is reused by the next segment
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

    ds_range R;
    if (!ds_block_range(R)) return;

    // Weights first: they do not depend on the previous kernel, so they stream while it finishes.
    ds_wcursor<C::LPC, QW> L;
    ds_cursor<C::LPC> S;
    L.start(R, w, wcol, wk, g, c);
    ds_wraw_t ring[U][DS_RPL];
#pragma unroll
    for (int u = 0; u < U; u++) {
        L.issue(R, ring[u], c);
        L.next(R, w, wcol, wk, g, c);
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
    ds_row_stats<C::TP>(A, T, mean, rstd, red);
#endif
    int buf = 0;
    for (ds_i64 j = 0; j <= R.t1 - R.t0; j++) {
        float acc[DS_MT][NT][4] = {};
        const ds_i64 sa = R.seg_a(j), cend = R.seg_e(j);
        const int nch = (int)((cend - sa + C::LPC - 1) / C::LPC);
        for (int ch = 0; ch < nch; ch++) {    // the chunks of segment j
            ds_cp_wait<1>();
            ds_csync();
            ds_x_t *xs = xbuf + buf * DS_NSTAGED * C::XST;
#if DS_NORM
            ds_normalize<NT, U, QW>(A, T, R, j, ch, xs, mean, rstd);
            ds_csync();
#endif
            const ds_i64 cbase = sa + (ds_i64)ch * C::LPC + wk;
            for (int q = 0; q < QW; q += U) {
#pragma unroll
                for (int u = 0; u < U; u++) {
                    const int pos = q + u;
                    if (cbase + pos * DS_WK < cend)
                        ds_mma_group<NT, C::XLD>(acc, ring[u], xs, (wk + pos * DS_WK) * DS_KSTEP, g, c, T);
                    L.issue(R, ring[u], c);
                    L.next(R, w, wcol, wk, g, c);
                }
            }
            ds_csync();   // every warp is done with this buffer
            if (!S.done(R)) ds_stage<NT, U, QW>(A, T, R, S.j, S.ch, xs);
            else ds_cp_commit();
            for (int z = 0; z < QW; z++) S.template next<QW>(R);
            buf ^= 1;
        }
        ds_finish_segment<NT>(A, T, R, j, acc, red, flag, wk, part, wcol, g, c);
    }
    ds_cp_wait<0>();
}

#if DS_PIPE
// ------------------------------------------------------------------ W through a shared-memory ring
// One producer warp streams each chunk's W slab (the tile's BCT rows x KCH k, one bulk copy of >= 1 KiB per row)
// into a ring of S stages, completed on the stage's "full" mbarrier; without a norm the chunk's x rows
// (T rows x KCH) ride in the same stage. The consumer warps (the register body's tile and k split) wait on it, read
// their fragments from shared memory, multiply and release the stage on its "empty" mbarrier: no block barrier in
// the main loop. With a norm, the consumers normalize all of x once (every k the block may need) into a resident
// buffer before it. Block barriers (named, consumers only) remain at segment ends. [out,in] weights only; K a
// multiple of the load group; bodies for T <= 8, 16, 32 and 64 where they fit: more x, fewer stages (and at
// T <= 64 half-length row segments).
// W row pitch in a stage (bytes): a segment plus the offset that makes the lanes' fragment reads conflict-free
#define DS_WPAD (DS_EL * DS_WB == 16 ? (DS_LPR == 1 ? 64 : 16) : (DS_LPR == 1 ? 32 : 64))
template <int NT, int QW> struct ds_ring {
    static constexpr int TP = 8 * NT;
    static constexpr int S = NT == 1 ? DS_STAGES8 : NT == 2 ? DS_STAGES16 : NT == 4 ? DS_STAGES32 : NT == 8 ? DS_STAGES64 : DS_STAGES128;
    static constexpr int KCH = QW * DS_WK * DS_KSTEP;       // k per stage
    static constexpr int SEG = KCH * DS_WB;                  // bytes of one W row per stage
    static constexpr int PITCH = SEG + DS_WPAD;
    static constexpr int XLD = KCH + ((DS_XPADT - KCH % 64) % 64 + 64) % 64;   // staged x rows (elements)
    static constexpr int WBYTES = DS_BCT * PITCH;
    static constexpr int XBYTES = DS_NORM ? 0 : TP * XLD * (int)sizeof(ds_x_t);
    static constexpr int STAGE = WBYTES + XBYTES;
    static constexpr int RING = S * STAGE + 2 * S * 8;       // stages, full[], empty[]
    static constexpr long long XRLD = DS_K + ((DS_XPADT - DS_K % 64) % 64 + 64) % 64;   // resident normalized x
    static constexpr long long XRES = DS_NORM ? TP * XRLD * (long long)sizeof(ds_x_t) : 0;
    static constexpr int RP = DS_BCT + 4;                    // k-warp slices: conflict-free fragment stores
    static constexpr long long BYTES = RING + XRES + ((long long)DS_WK * TP * RP + TP * DS_BCT + 2 * TP) * 4 + 16;
};

// The lane's raw loads of one load group from a stage: p points at its first row (g), at the group's k.
template <int PITCH> __device__ __forceinline__ void ds_wsmem(ds_wraw_t (&raw)[DS_RPL], const unsigned char *p)
{
#pragma unroll
    for (int q = 0; q < DS_MT; q++)
#pragma unroll
        for (int hh = 0; hh < 2; hh++) {
            const unsigned char *r = p + (16 * q + 8 * hh) * PITCH;
#if DS_LPR == 2 && DS_EL * DS_WB == 8
            const uint4 v = *reinterpret_cast<const uint4 *>(r);
            raw[(2 * q + hh) * 2].x = v.x, raw[(2 * q + hh) * 2].y = v.y;
            raw[(2 * q + hh) * 2 + 1].x = v.z, raw[(2 * q + hh) * 2 + 1].y = v.w;
#else
#pragma unroll
            for (int h = 0; h < DS_LPR; h++) raw[(2 * q + hh) * DS_LPR + h] = *reinterpret_cast<const ds_wraw_t *>(r + 8 * h * DS_WB);
#endif
        }
}

// The block's chunks in the consumers' order: (segment j, chunk ch), its first load group and valid ones. Chunk
// boundaries fall on multiples of LPC load groups (a segment's first and last chunk may be shorter), so every row
// copy starts on a KCH boundary of its row (1 KiB-aligned when the weight is).
template <int LPC> struct ds_chunks {
    int j, nseg;         // segment, segments (ints: the consumers' loop tests them per stage)
    int lg0, nlg, se;    // the chunk's first load group in its tile, its load groups; the segment's end
    __device__ __forceinline__ void seg(const ds_range &R)
    {
        if (j >= nseg) return;
        lg0 = (int)R.seg_a(j), se = (int)R.seg_e(j);
        const int end = (lg0 / LPC + 1) * LPC;
        nlg = (end < se ? end : se) - lg0;
    }
    __device__ __forceinline__ void start(const ds_range &R) { j = 0, nseg = (int)(R.t1 - R.t0) + 1, seg(R); }
    // 32-bit steps inside a segment; the 64-bit range arithmetic only between segments
    __device__ __forceinline__ void next(const ds_range &R)
    {
        lg0 += nlg;
        if (lg0 == se) j++, seg(R);
        else nlg = se - lg0 < LPC ? se - lg0 : LPC;
    }
    __device__ __forceinline__ bool done() const { return j >= nseg; }
};

// Row r of the tile's W: its part's weight (up, then gate) and, in row, its row there (rows past N are never
// copied, their sums never stored).
__device__ __forceinline__ const ds_w_t *ds_wrow(const ds_args &A, ds_i64 tile, int r, ds_i64 &row)
{
    row = tile * DS_BCP + r % DS_BCP;
    return r / DS_BCP ? (DS_SEP_GATE ? A.wg : A.wu + DS_GATE_OFF) : A.wu;
}

// The producer lane p's share of one stage: one bulk copy per W row, lane 0 announcing the bytes first (the x
// rows' too, without a norm).
template <int NT, int QW>
__device__ __forceinline__ void ds_produce_w(const ds_args &A, const ds_range &R, const ds_chunks<QW * DS_WK> &C,
                                             unsigned char *st, unsigned long long *full, long long T, int p)
{
    typedef ds_ring<NT, QW> P;
    const ds_i64 tile = R.t0 + C.j;
    const ds_i64 live = DS_N - tile * DS_BCP < DS_BCP ? DS_N - tile * DS_BCP : DS_BCP;   // rows per part
    const unsigned wb = (unsigned)(C.nlg * DS_KSTEP * DS_WB), xb = (unsigned)(C.nlg * DS_KSTEP * sizeof(ds_x_t));
    if (p == 0) ds_mbar_expect(full, wb * (unsigned)((DS_GATED ? 2 : 1) * live) + (DS_NORM ? 0u : xb * (unsigned)T));
    __syncwarp();
    for (int r = p; r < DS_BCT; r += 32) {
        ds_i64 row;
        const ds_w_t *w = ds_wrow(A, tile, r, row);
        if (row < DS_N) ds_bulk(st + r * P::PITCH, w + row * DS_LDW + C.lg0 * DS_KSTEP, wb, full);
    }
}

// ... and of its x rows, one bulk copy each (without a norm; with one the consumers normalize x into a resident
// buffer).
template <int NT, int QW>
__device__ __forceinline__ void ds_produce_x(const ds_args &A, const ds_chunks<QW * DS_WK> &C, unsigned char *st,
                                             unsigned long long *full, long long T, int p)
{
    typedef ds_ring<NT, QW> P;
#if !DS_NORM
    const unsigned xb = (unsigned)(C.nlg * DS_KSTEP * sizeof(ds_x_t));
    for (int t = p; t < T; t += 32)
        ds_bulk(st + P::WBYTES + t * P::XLD * (int)sizeof(ds_x_t), A.x + (ds_i64)t * DS_K + C.lg0 * DS_KSTEP, xb, full);
#else
    (void)A, (void)C, (void)st, (void)full, (void)T, (void)p;
#endif
}

// The producer warp (lane p) walks the block's chunks in the consumers' order: the first stages' weights before
// wait() (griddepcontrol.wait; in a fused kernel's second GEMM the grid barrier: weights do not depend on the
// previous kernel or phase), then their x rows, which may still be being written before it; then each stage once
// the consumers released it.
template <int NT, int QW, typename Wait>
__device__ __forceinline__ void ds_produce(const ds_args &A, const ds_range &R, unsigned char *ring,
                                           unsigned long long *full, unsigned long long *empty, long long T, int p,
                                           Wait wait)
{
    typedef ds_ring<NT, QW> P;
    DS_TR(const unsigned tn = *(volatile unsigned *)&ds_trace_launch; const long long t0 = ds_clk(); long long tw = 0;
          int nw = 0;)
    ds_chunks<QW * DS_WK> C, X;
    C.start(R);
    int n = 0;
    for (; n < P::S && !C.done(); n++, C.next(R)) ds_produce_w<NT, QW>(A, R, C, ring + n * P::STAGE, full + n, T, p);
    DS_TR(const long long t1 = ds_clk();)
    wait();
    X.start(R);
    for (int q = 0; q < n; q++, X.next(R)) ds_produce_x<NT, QW>(A, X, ring + q * P::STAGE, full + q, T, p);
    int s = 0;
    unsigned ph = 1;   // stages 0..S-1 were filled once: the next fill of stage s waits for its first release
    DS_TR(const long long t2 = ds_clk();)
    for (; !C.done(); C.next(R)) {
        DS_TR(const long long a = ds_clk();)
        ds_mbar_wait(empty + s, ph ^ 1);
        DS_TR(tw += ds_clk() - a, nw++;)
        ds_produce_w<NT, QW>(A, R, C, ring + s * P::STAGE, full + s, T, p);
        ds_produce_x<NT, QW>(A, C, ring + s * P::STAGE, full + s, T, p);
        if (++s == P::S) s = 0, ph ^= 1;
    }
    DS_TR(if (p == 0 && ds_trace_on(tn))
              printf("trace %s block %d producer: first %d stages issued %lld, pdl wait done %lld, %d refills waited "
                     "%lld cycles on empty, done %lld (start %lld)\n", DS_NAME, blockIdx.x, n, t1 - t0, t2 - t0, nw, tw,
                     ds_clk() - t0, t0);)
}

#if DS_NORM
// The normalized x for every k into xr (rows T..TP-1 untouched), fp32 arithmetic as ds_normalize; the blocks
// holding tile 0's part of k write the sum (plus the extras) once, for that part.
template <int NT, int QW>
__device__ __forceinline__ void ds_normalize_all(const ds_args &A, long long T, const ds_range &R, ds_x_t *xr,
                                                 const float *mean, const float *rstd)
{
    typedef ds_ring<NT, QW> P;
    constexpr int V = (int)(DS_K / 8);
    const ds_i64 s0 = R.t0 == 0 ? R.seg_a(0) * DS_KSTEP : 0, s1 = R.t0 == 0 ? R.seg_e(0) * DS_KSTEP : 0;
    for (int e = threadIdx.x; e < T * V; e += DS_CTHREADS) {
        const int t = e / V;
        const ds_i64 k = (ds_i64)(e % V) * 8;
        float v[8];
        ds_terms_global(A, t, k, v);
        if (DS_HAS_SIDE && k >= s0 && k < s1) ds_side8(A, t, k, v);
        float y[8];
        ds_norm8(A, k, v, mean[t], rstd[t], y);
        ds_store<8>(xr + t * P::XRLD + k, y);
    }
}
#endif

// The k-warps' sums of one segment into red in a fixed order: each warp writes its own slice, one barrier, then
// every thread adds the slices of its elements (two barriers instead of one per k-warp).
template <int NT, int QW>
__device__ __forceinline__ void ds_reduce_slices(const float (&acc)[DS_MT][NT][4], float *slices, float *red, int wk,
                                                 int part, int wcol, int g, int c, long long T)
{
    typedef ds_ring<NT, QW> P;
    float *mine = slices + wk * P::TP * P::RP;
#pragma unroll
    for (int i = 0; i < DS_MT; i++)
#pragma unroll
        for (int jj = 0; jj < NT; jj++)
#pragma unroll
            for (int e = 0; e < 4; e++) mine[ds_acc_t(jj, c, e) * P::RP + part * DS_BCP + wcol + ds_acc_col(i, g, e)] = acc[i][jj][e];
    ds_csync();
    for (int x = threadIdx.x; x < T * DS_BCT; x += DS_CTHREADS) {
        const int t = x / DS_BCT, lc = x % DS_BCT;
        float s = slices[t * P::RP + lc];
        for (int r = 1; r < DS_WK; r++) s += slices[(r * P::TP + t) * P::RP + lc];
        red[x] = s;
    }
    ds_csync();
}

// One consumer warp's share of one stage: w at the lane's first W fragment, xl at its first x element. FULL: the
// chunk has all its load groups (the common case, compiled without per-group guards).
template <int NT, int QW, bool FULL>
__device__ __forceinline__ void ds_ring_consume(float (&acc)[DS_MT][NT][4], const unsigned char *w,
                                                const ds_x_t *xl, int nlg, int wk, long long T,
                                                unsigned long long *empty, int lane)
{
    typedef ds_ring<NT, QW> P;
    // Fragments into registers first, then the stage goes back to the producer, then the MMAs: the ring's depth
    // is not spent on conversion and multiplication. At T <= 16 resident x (norm) is read after the release, one
    // load group at a time (registers; at T <= 8 all at once measured faster). At T <= 32 x (in the stage) is read
    // one load group at a time too, so the stage goes back after the MMAs (hold): all of it would take 128
    // registers.
    constexpr bool hold = !DS_NORM && NT > 2;
    constexpr bool late = (DS_NORM && NT > 1) || hold;
    constexpr int XLD = DS_NORM ? (int)P::XRLD : P::XLD;
    ds_wraw_t raw[QW][DS_RPL];
    uint4 xb[late ? 1 : QW][NT][DS_LPR];
#pragma unroll
    for (int pos = 0; pos < QW; pos++) {
        const int q = wk + pos * DS_WK;   // the warp's load group in the chunk
        if (FULL || q < nlg) {
            ds_wsmem<P::PITCH>(raw[pos], w + q * DS_KSTEP * DS_WB);
            if (!late) ds_xfrag_at<NT, XLD>(xb[late ? 0 : pos], xl, q * DS_KSTEP, T);
        }
    }
    if (!hold) {
        __syncwarp();
        if (lane == 0) ds_mbar_arrive(empty);
    }
#pragma unroll
    for (int pos = 0; pos < QW; pos++) {
        const int q = wk + pos * DS_WK;
        if (!FULL && q >= nlg) continue;
        if (late) ds_xfrag_at<NT, XLD>(xb[0], xl, q * DS_KSTEP, T);
        ds_mma_oi<NT>(acc, raw[pos], xb[late ? 0 : pos], T);
    }
    if (hold) {
        __syncwarp();
        if (lane == 0) ds_mbar_arrive(empty);
    }
}

template <int NT, int QW> __device__ __forceinline__ void ds_ring_init(unsigned long long *full, unsigned long long *empty)
{
    for (int q = 0; q < ds_ring<NT, QW>::S; q++) ds_mbar_init(full + q, 1), ds_mbar_init(empty + q, DS_CWARPS);
}

// The consumer warps' part of a ring kernel: the prologue (x normalized once, with a norm), the stages, the
// segment ends. full/empty: the ring's mbarriers (a fused kernel keeps each phase's apart from its layout).
template <int NT, int QW>
__device__ __forceinline__ void ds_ring_consumers(const ds_args &A, long long T, const ds_range &R, unsigned char *smem,
                                                  unsigned long long *full, unsigned long long *empty)
{
    typedef ds_cfg<NT, 1, QW> C;
    typedef ds_ring<NT, QW> P;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, g = lane >> 2, c = lane & 3;
    const int wn = warp % DS_WN, wk = warp / DS_WN;
#if DS_GATED
    const int part = wn >= DS_WN / 2;
    const int wcol = (wn % (DS_WN / 2)) * DS_WCOL;
#else
    const int part = 0, wcol = wn * DS_WCOL;
#endif
    unsigned char *ring = smem;                                                         // [STAGES][W rows | x rows]
    ds_x_t *xr = reinterpret_cast<ds_x_t *>(smem + P::RING);                          // [TP][XRLD] (norm)
    float *slices = reinterpret_cast<float *>(smem + P::RING + P::XRES);               // [WK][TP][RP]
    float *red = slices + DS_WK * P::TP * P::RP;                                        // [TP][BCT]
    float *mean = red + P::TP * DS_BCT, *rstd = mean + P::TP;
    int *flag = reinterpret_cast<int *>(rstd + P::TP);
    (void)warp;
    DS_TR(const unsigned tn = *(volatile unsigned *)&ds_trace_launch; const long long t0 = ds_clk();
          long long tfull = 0, tseg = 0, tcons = 0; int nst = 0;)
    ds_pdl_wait();
    ds_pdl_launch();
    DS_TR(const long long t1 = ds_clk();)
#if DS_NORM
    ds_row_stats<C::TP>(A, T, mean, rstd, red);
    ds_normalize_all<NT, QW>(A, T, R, xr, mean, rstd);
    ds_csync();
#endif
    DS_TR(const long long t2 = ds_clk();)
    int st = 0;
    unsigned ph = 0;
    const int lane_off = ds_keep((part * DS_BCP + wcol + g) * P::PITCH + 8 * DS_LPR * c * DS_WB);   // row g, k
    const int xlane = ds_keep(ds_xlane<DS_NORM ? (int)P::XRLD : P::XLD>(g, c));
    ds_chunks<C::LPC> K;
    K.start(R);
    for (int j = 0; j < K.nseg; j++) {
        float acc[DS_MT][NT][4] = {};
        for (; K.j == j; K.next(R)) {   // K.j passes nseg - 1 only after the last chunk
            const unsigned char *stage = ring + st * P::STAGE;
#if DS_NORM
            const ds_x_t *xs = xr + K.lg0 * DS_KSTEP;   // resident x at the chunk's k; rows XRLD apart
#else
            const ds_x_t *xs = reinterpret_cast<const ds_x_t *>(stage + P::WBYTES);
#endif
            DS_TR(const long long a = ds_clk();)
            ds_mbar_wait(full + st, ph);
            DS_TR(const long long b = ds_clk(); tfull += b - a;)
            if (K.nlg == C::LPC)   // every load group there: no per-group guards (branches) in the common case
                ds_ring_consume<NT, QW, true>(acc, stage + lane_off, xs + xlane, K.nlg, wk, T, empty + st, lane);
            else
                ds_ring_consume<NT, QW, false>(acc, stage + lane_off, xs + xlane, K.nlg, wk, T, empty + st, lane);
            DS_TR(tcons += ds_clk() - b, nst++;)
            if (++st == P::S) st = 0, ph ^= 1;
        }
        DS_TR(const long long a = ds_clk();)
        ds_reduce_slices<NT, QW>(acc, slices, red, wk, part, wcol, g, c, T);
        ds_tile_done(A, T, R, j, red, flag);
        DS_TR(tseg += ds_clk() - a;)
    }
    DS_TR(if (threadIdx.x == 0 && ds_trace_on(tn))
              printf("trace %s block %d consumer 0: pdl wait %lld, prologue %lld, %d stages: waited on full %lld, "
                     "consumed %lld; %d segment ends %lld; done %lld (start %lld)\n", DS_NAME, blockIdx.x, t1 - t0,
                     t2 - t1, nst, tfull, tcons, K.nseg, tseg, ds_clk() - t0, t0);
          if (threadIdx.x == 0 && blockIdx.x == 0) atomicAdd(&ds_trace_launch, 1u);)
}

template <int NT, int QW>
__device__ __forceinline__ void ds_body_pipe(const ds_args &A, long long T, unsigned char *smem)
{
    typedef ds_ring<NT, QW> P;
    static_assert(!DS_IO && DS_K % DS_KSTEP == 0 && (NT == 1 || NT == 2 || NT == 4 || NT == 8),
                  "the W ring takes [out,in] weights, whole load groups, T <= 64");
    static_assert(P::BYTES <= DS_SMEM, "shared memory layout exceeds the launch's");
    unsigned long long *full = reinterpret_cast<unsigned long long *>(smem + P::S * P::STAGE), *empty = full + P::S;
    ds_range R;
    if (!ds_block_range(R)) return;
    if (threadIdx.x == 0) ds_ring_init<NT, QW>(full, empty), ds_mbar_fence_init();
    __syncthreads();   // the last barrier the producer takes part in
    if (threadIdx.x >> 5 == DS_CWARPS) {
        ds_produce<NT, QW>(A, R, smem, full, empty, T, threadIdx.x & 31, [] { ds_pdl_wait(); });
        return;
    }
    ds_ring_consumers<NT, QW>(A, T, R, smem, full, empty);
}

#if DS_WT > 1
// ------------------------------------------------------------------ the T <= 128 ring: warps across tokens
// Past T = 32 a 32-row tile puts more x than W through every stage and every warp multiplies all of x, so the
// shared-memory reads, not the weights, set the pace. This body's tile is WN warps across columns x WT across tokens
// (no k split): a warp multiplies MT 16-row pieces of W (gated: MT / 2 up pieces and the matching gate pieces) by
// its share of the token tiles, so each W fragment it converts feeds NT / WT MMAs and each x fragment MT of them.
// The sums stay in registers: a whole tile's epilogue runs from them (gating pairs sit in the same lane), a split
// tile's part goes to the partial sums in lane order and the block completing the tile adds the parts in block
// order. x rides in the stages (a norm before the GEMM is its own kernel). [out,in] weights, one piece per row per
// lane.
constexpr int ds_tall_colp = DS_GATED ? 8 * DS_MT : 16 * DS_MT;   // a warp's output columns (per part)
constexpr int ds_tall_up = DS_GATED ? DS_MT / 2 : DS_MT;          // its up pieces; the gate pieces follow
// The stage row of piece i's first row (the producer lays a tile out as its up rows, then its gate rows).
__device__ __forceinline__ constexpr int ds_tall_row(int i)
{
    return i < ds_tall_up ? 16 * i : DS_BCP + 16 * (i - ds_tall_up);
}

// One consumer warp's share of one stage (every load group: no k split): per load group the W pieces and the x
// fragments of the warp's tokens from shared memory, then the MMAs; the stage goes back after the last group.
// w: the lane's first W byte (row g, k 8c), xl its first x element (its first token row + g, k 8c).
template <int NT, int QW, bool FULL>
__device__ __forceinline__ void ds_tall_consume(float (&acc)[DS_MT][NT / DS_WT][4], const unsigned char *w,
                                                const ds_x_t *xl, int nlg, long long Tw, unsigned long long *empty,
                                                int lane)
{
    typedef ds_ring<NT, QW> P;
    constexpr int NW = NT / DS_WT;
#pragma unroll
    for (int q = 0; q < QW; q++) {
        if (!FULL && q >= nlg) break;
        ds_wraw_t raw[DS_RPL];
#pragma unroll
        for (int i = 0; i < DS_MT; i++)
#pragma unroll
            for (int hh = 0; hh < 2; hh++)
                raw[2 * i + hh] = *reinterpret_cast<const ds_wraw_t *>(w + (ds_tall_row(i) + 8 * hh) * P::PITCH +
                                                                       q * DS_KSTEP * DS_WB);
        uint4 b[NW][DS_LPR];
        ds_xfrag_at<NW, P::XLD>(b, xl, q * DS_KSTEP, Tw);
        ds_mma_oi<NW>(acc, raw, b, Tw);
    }
    __syncwarp();
    if (lane == 0) ds_mbar_arrive(empty);
}

// The epilogue of tile `tile` from the registers of the warp at column offset wn, tokens t0.. (scale, bias,
// activation or gating, residual; tokens past T and columns past N are not stored).
template <int NW>
__device__ __forceinline__ void ds_tall_epilogue(const ds_args &A, long long T, ds_i64 tile,
                                                 const float (&acc)[DS_MT][NW][4], int wn, int t0, int g, int c)
{
#pragma unroll
    for (int i = 0; i < ds_tall_up; i++)
#pragma unroll
        for (int h = 0; h < 2; h++) {
            const ds_i64 n = tile * DS_BCP + wn * ds_tall_colp + 16 * i + g + 8 * h;
            if (n >= DS_N) continue;
            const float su = ds_scale_of(A.su, n);
#if DS_HAS_BIAS
            const float bu = ds_to_f(ds_ldcg(A.bias + n));
#else
            const float bu = 0.0f;
#endif
#if DS_GATED
            const float sg = DS_SEP_SCALE ? ds_scale_of(A.sg, n) : ds_scale_of(A.su, DS_N + n);
#if DS_HAS_BIAS
            const float bg = ds_to_f(ds_ldcg(A.bias + DS_N + n));
#else
            const float bg = 0.0f;
#endif
#endif
#pragma unroll
            for (int jj = 0; jj < NW; jj++)
#pragma unroll
                for (int e1 = 0; e1 < 2; e1++) {
                    const ds_i64 t = t0 + 8 * jj + 2 * c + e1;
                    if (t >= T) continue;
                    float v = acc[i][jj][2 * h + e1] * su + bu;
#if DS_GATED
                    v *= ds_act(acc[i + ds_tall_up][jj][2 * h + e1] * sg + bg);
#else
                    v = ds_act(v);
#endif
#if DS_HAS_C
                    v += ds_to_f(ds_ldcg(A.c + t * DS_N + n));
#endif
                    A.d[t * DS_N + n] = ds_from_f<ds_d_t>(v);
                }
        }
}

// Segment j of the block's range is done (acc: the warp's sums for its pieces and tokens): the epilogue of a whole
// tile, or the block's part of a split tile to the partial sums ([block][slot][warp][piece][token tile][e][lane]),
// and the block completing the tile adds every part in block order (its own from registers: the same floats) and
// runs the epilogue. Token tiles past T are neither written nor read.
template <int NW>
__device__ __forceinline__ void ds_tall_tile_done(const ds_args &A, long long T, const ds_range &R, ds_i64 j,
                                                  float (&acc)[DS_MT][NW][4], int *flag, int warp, int wn, int t0,
                                                  int lane, int g, int c)
{
    const ds_i64 W = (ds_i64)DS_NTILE * DS_LPT, G = gridDim.x, b = blockIdx.x;
    const ds_i64 tile = R.t0 + j;
    if (R.seg_a(j) == 0 && R.seg_e(j) == DS_LPT) {
        ds_tall_epilogue<NW>(A, T, tile, acc, wn, t0, g, c);
        return;
    }
    constexpr ds_i64 PB = (ds_i64)8 * NW * DS_WT * DS_BCT;   // floats of one block's part (TP x BCT)
    const int live = T - t0 <= 0 ? 0 : (int)((T - t0 + 7) / 8);
    const ds_i64 lane_at = (ds_i64)warp * DS_MT * NW * 128 + lane;
    float *mine = A.part + (b * 2 + (j == 0 ? 0 : 1)) * PB + lane_at;
#pragma unroll
    for (int i = 0; i < DS_MT; i++)
#pragma unroll
        for (int jj = 0; jj < NW; jj++)
            if (jj < live)
#pragma unroll
                for (int e = 0; e < 4; e++) mine[((i * NW + jj) * 4 + e) * 32] = acc[i][jj][e];
    if (ds_tile_publish(A, tile, W, G, flag)) {
        const ds_i64 f = flag[1], l = flag[2];
        // A part's loads in flight at once, whole pieces (2 warps across tokens) or two token tiles of a piece at a
        // time (4 warps, 96 registers: whole pieces spill there): one L2 round trip per part and piece or pair.
        // (Loading an element of one part at a time, the completing block waited ~200 round trips at T = 128 and
        // took twice as long as the tile's other blocks.) The order of the sums is block order: ((0 + f) + f+1) + ...
        constexpr int CH = DS_WT > 2 && NW > 2 ? 2 : NW;
#pragma unroll
        for (int i = 0; i < DS_MT; i++)
#pragma unroll
            for (int j0 = 0; j0 < NW; j0 += CH) {
                float s[CH][4] = {};
                for (ds_i64 q = f; q <= l; q++) {
                    if (q == b) {
#pragma unroll
                        for (int jj = 0; jj < CH; jj++)
#pragma unroll
                            for (int e = 0; e < 4; e++) s[jj][e] += acc[i][j0 + jj][e];
                        continue;
                    }
                    // tile is q's last segment when the tile starts inside q (slot 1 unless its only one)
                    const int qs = (q == f && (W * q / G) / DS_LPT != tile) ? 1 : 0;
                    const float *p = A.part + (q * 2 + qs) * PB + lane_at + (i * NW + j0) * 4 * 32;
                    float v[CH][4];
#pragma unroll
                    for (int jj = 0; jj < CH; jj++)
#pragma unroll
                        for (int e = 0; e < 4; e++) v[jj][e] = j0 + jj < live ? ds_ldcg(p + (jj * 4 + e) * 32) : 0.0f;
#pragma unroll
                    for (int jj = 0; jj < CH; jj++)
#pragma unroll
                        for (int e = 0; e < 4; e++) s[jj][e] += v[jj][e];
                }
#pragma unroll
                for (int jj = 0; jj < CH; jj++)
#pragma unroll
                    for (int e = 0; e < 4; e++) acc[i][j0 + jj][e] = s[jj][e];
            }
        ds_tall_epilogue<NW>(A, T, tile, acc, wn, t0, g, c);
        if (threadIdx.x == 0) A.cnt[tile] = 0;   // ready for the next launch
    }
    ds_csync();   // flag is reused by the next segment
}

// The producer warps fill one stage with cp.async (16 bytes per thread and copy): W rows (pieces of each row, rows
// past N skipped) and, with x_too, the chunk's x rows. Measured on an H200 (GELU-4096 int8, T = 32/64/128): one
// bulk copy per 256-byte row 268/301/466 us, these copies 161/172/296 (with 2 producer warps 163/179/312). Each
// thread copies one 16-byte column of rows p / PER, + NP / PER, ...: a pointer step per copy (the first version,
// which computed each piece's row and column, measured 193/230/391). p: the thread among the producers.
template <int NT, int QW>
__device__ __forceinline__ void ds_tall_fill(const ds_args &A, const ds_range &R, const ds_chunks<QW> &C,
                                             unsigned char *st, long long T, int p, bool w_too, bool x_too)
{
    typedef ds_ring<NT, QW> P;
    constexpr int NP = 32 * DS_PWARPS;
    constexpr int PER = QW * DS_KSTEP * DS_WB / 16, XPER = QW * DS_KSTEP * (int)sizeof(ds_x_t) / 16;  // per row
    static_assert(NP % PER == 0 && NP % XPER == 0, "the producers cover whole rows per pass");
    const ds_i64 tile = R.t0 + C.j;
    if (w_too && (p % PER) * 16 < C.nlg * DS_KSTEP * DS_WB) {
        const int o = (p % PER) * 16;
        const int live = (int)(DS_N - tile * DS_BCP < DS_BCP ? DS_N - tile * DS_BCP : DS_BCP);   // rows per part
#pragma unroll
        for (int part = 0; part < (DS_GATED ? 2 : 1); part++) {
            const ds_w_t *w = part ? (DS_SEP_GATE ? A.wg : A.wu + DS_GATE_OFF) : A.wu;
            const unsigned char *src =
                reinterpret_cast<const unsigned char *>(w + tile * DS_BCP * DS_LDW + C.lg0 * DS_KSTEP) + o;
            unsigned char *dst = st + part * DS_BCP * P::PITCH + o;
            for (int r = p / PER; r < live; r += NP / PER)
                ds_cp16(dst + r * P::PITCH, src + (ds_i64)r * (DS_LDW * DS_WB), true);
        }
    }
    if (x_too && (p % XPER) * 16 < C.nlg * DS_KSTEP * (int)sizeof(ds_x_t)) {
        const int o = (p % XPER) * 16;
        const unsigned char *src = reinterpret_cast<const unsigned char *>(A.x + C.lg0 * DS_KSTEP) + o;
        unsigned char *dst = st + P::WBYTES + o;
        for (int t = p / XPER; t < T; t += NP / XPER)
            ds_cp16(dst + t * (P::XLD * (int)sizeof(ds_x_t)), src + (ds_i64)t * (DS_K * (ds_i64)sizeof(ds_x_t)), true);
    }
}

// The producers walk the block's chunks in the consumers' order like ds_produce: the first stages' weights before
// griddepcontrol.wait, their x after it; each thread's arrival on a stage's full barrier completes when its copies
// so far have landed.
template <int NT, int QW>
__device__ __forceinline__ void ds_tall_produce(const ds_args &A, const ds_range &R, unsigned char *ring,
                                                unsigned long long *full, unsigned long long *empty, long long T, int p)
{
    typedef ds_ring<NT, QW> P;
    ds_chunks<QW> C, X;
    C.start(R);
    int n = 0;
    for (; n < P::S && !C.done(); n++, C.next(R)) ds_tall_fill<NT, QW>(A, R, C, ring + n * P::STAGE, T, p, true, false);
    ds_pdl_wait();
    X.start(R);
    for (int q = 0; q < n; q++, X.next(R)) {
        ds_tall_fill<NT, QW>(A, R, X, ring + q * P::STAGE, T, p, false, true);
        ds_cp_mbar_arrive(full + q);
    }
    int s = 0;
    unsigned ph = 1;
    for (; !C.done(); C.next(R)) {
        ds_mbar_wait(empty + s, ph ^ 1);
        ds_tall_fill<NT, QW>(A, R, C, ring + s * P::STAGE, T, p, true, true);
        ds_cp_mbar_arrive(full + s);
        if (++s == P::S) s = 0, ph ^= 1;
    }
    ds_cp_wait<0>();   // nothing in flight when the block exits
}

template <int NT, int QW>
__device__ __forceinline__ void ds_body_tall(const ds_args &A, long long T, unsigned char *smem)
{
    typedef ds_ring<NT, QW> P;
    constexpr int NW = NT / DS_WT;
    static_assert(!DS_IO && !DS_NORM && DS_WK == 1 && DS_LPR == 1 && NT % DS_WT == 0 && (!DS_GATED || DS_MT % 2 == 0) &&
                      DS_K % DS_KSTEP == 0, "the T <= 128 ring: [out,in] weights, x without a norm, no k split, "
                                            "one piece per row per lane, whole load groups");
    static_assert(P::RING + 16 <= DS_SMEM, "shared memory layout exceeds the launch's");
    unsigned long long *full = reinterpret_cast<unsigned long long *>(smem + P::S * P::STAGE), *empty = full + P::S;
    int *flag = reinterpret_cast<int *>(smem + P::RING);
    ds_range R;
    if (!ds_block_range(R)) return;
    if (threadIdx.x == 0) {
        for (int q = 0; q < P::S; q++) ds_mbar_init(full + q, 32 * DS_PWARPS), ds_mbar_init(empty + q, DS_CWARPS);
        ds_mbar_fence_init();
    }
    __syncthreads();   // the last barrier the producers take part in
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, g = lane >> 2, c = lane & 3;
    if (warp >= DS_CWARPS) {
        ds_tall_produce<NT, QW>(A, R, smem, full, empty, T, threadIdx.x - DS_CTHREADS);
        return;
    }
    const int wn = warp % DS_WN, t0 = 8 * NW * (warp / DS_WN);   // the warp's columns and first token
    const long long Tw = T - t0;                                  // its tokens (token tiles past them skipped)
    DS_TR(const unsigned tn = *(volatile unsigned *)&ds_trace_launch; const unsigned long long g0 = ds_tl_now();
          long long tfull = 0, tcons = 0, tseg = 0;)
    ds_pdl_wait();
    ds_pdl_launch();
    DS_TR(const unsigned long long g1 = ds_tl_now();)
    const int lane_off = ds_keep((wn * ds_tall_colp + g) * P::PITCH + 8 * c * DS_WB);
    const int xlane = ds_keep((t0 + g) * P::XLD + 8 * c);
    int st = 0;
    unsigned ph = 0;
    ds_chunks<QW> K;
    K.start(R);
    for (int j = 0; j < K.nseg; j++) {
        float acc[DS_MT][NW][4] = {};
        for (; K.j == j; K.next(R)) {
            const unsigned char *stage = smem + st * P::STAGE;
            const ds_x_t *xs = reinterpret_cast<const ds_x_t *>(stage + P::WBYTES);
            DS_TR(const long long a = ds_clk();)
            ds_mbar_wait(full + st, ph);
            DS_TR(const long long b = ds_clk(); tfull += b - a;)
            if (K.nlg == QW) ds_tall_consume<NT, QW, true>(acc, stage + lane_off, xs + xlane, K.nlg, Tw, empty + st, lane);
            else ds_tall_consume<NT, QW, false>(acc, stage + lane_off, xs + xlane, K.nlg, Tw, empty + st, lane);
            DS_TR(tcons += ds_clk() - b;)
            if (++st == P::S) st = 0, ph ^= 1;
        }
        DS_TR(const long long a = ds_clk();)
        ds_tall_tile_done<NW>(A, T, R, j, acc, flag, warp, wn, t0, lane, g, c);
        DS_TR(tseg += ds_clk() - a;)
    }
    DS_TR(if (threadIdx.x == 0 && tn == DS_TRACE)
              printf("trace %s block %d sm %u tiles %lld..%lld: start %llu ns, pdl wait %llu ns, done after %llu ns; "
                     "warp 0 cycles: waited on full %lld, consumed %lld, %d segment ends %lld\n", DS_NAME, blockIdx.x,
                     ds_tl_sm(), R.t0, R.t1, g0, g1 - g0, ds_tl_now() - g0, tfull, tcons, K.nseg, tseg);
          if (threadIdx.x == 0 && blockIdx.x == 0) atomicAdd(&ds_trace_launch, 1u);)
}
#endif

// What a fused kernel's entry (templates/stream_fused.cu) takes from its parts: the ring bodies' load groups per
// warp per stage, and two primitives (macros in the host simulation, which namespaces cannot qualify).
constexpr int ds_qw8 = {{QW8}}, ds_qw16 = {{QW16}}, ds_qw32 = {{QW32}}, ds_qw64 = {{QW64}};
__device__ __forceinline__ void ds_fused_pdl_wait() { ds_pdl_wait(); }
__device__ __forceinline__ void ds_fused_fence_init() { ds_mbar_fence_init(); }
#endif

#ifndef DS_DYNAMIC_SMEM
#define DS_DYNAMIC_SMEM(n) extern __shared__ __align__(16) unsigned char n[]
#endif

#ifndef DS_FUSED_PART   // a part of a fused kernel (namespace ds_p1 or ds_p2) has no entry of its own
extern "C" __global__ void __launch_bounds__(DS_THREADS, {{MINB}}) {{NAME}}(long long T{{PARAMS}})
{
    DS_DYNAMIC_SMEM(ds_smem);
    ds_args A = {};
{{BIND}}
{{DISPATCH}}
}
#endif
