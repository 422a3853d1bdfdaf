// {{NAME}}: d[T, {{N}}] = {{EPI_WHAT}} with x[T, {{K}}] ({{X_NAME}}) and W = scales[row / {{RPG}}] * q[{{N}}, {{K}}]
// ({{Q_NAME}} codes as stored, [out,in]), for the main route: a Hopper GEMM that converts the codes in its main loop
// (no dequantized copy of W). sm_90a (wgmma, setmaxnreg). Launch: grid (ceil(T / {{TOK}}), {{N}} / 128, S), block
// 384, dynamic shared memory {{SMEM}} bytes; S > 1 splits k over a cluster of (1, 1, S) blocks (C = S), two groups of
// clusters of C = S / 2, or S plain blocks (C = 1) whose tile's last block sums their parts. tx and tq are tensor
// maps the runtime encodes per run (exec_mixed.c): x with the 128-byte swizzle, boxes of 64 k x {{TOK}} tokens; q
// with the 64- or 128-byte swizzle (DS_BK 64 or 128), boxes of DS_BK k x 128 rows (64 when gated). q and
// prefetch_lines: the codes themselves and how many 128-byte lines of each row the block asks L2 for at entry
// (DS_PREFETCH kernels only; exec_mixed.c prefetch_lines). early: nonzero lets the next launch (programmatic dependent
// launch) take SM slots as this grid's blocks exit (exec_mixed.c dsmlpR_mixed_next_early says where that pays).
//
// Block: 128 weight rows x {{TOK}} tokens, k blocks of {{BK}} through {{STAGES}} shared-memory stages filled by the copy
// engine. Warpgroup 0's first thread issues the copies; warpgroups 1 and 2 own 64 weight rows each and multiply: per
// k16 step a thread reads the two 4-byte words of its row that hold its four codes (k 2c, 2c+1, 2c+8, 2c+9: the
// wgmma register layout of A), converts them exactly (the scales multiply the finished sums), and one m64n{{TOK}}k16
// wgmma multiplies them with the tokens' x through a descriptor. Each warpgroup converts the next 64 k into a second
// register set while this 64 k's wgmmas run (converting into the set they read makes ptxas serialize the wgmmas:
// C7513) and waits for a stage's wgmmas once, before releasing it. The epilogue stages the fp32 sums through shared
// memory as [token][row]; with a split k each block of the cluster then sums its share of the tile's outputs below T
// over the cluster's staged sums (distributed shared memory: no partial sums in global memory, no second kernel) and
// applies the GEMM step's epilogue as cuBLASLt does (act(x·W + bias + C)). Gated (DS_GATED): W = [up | gate]
// ({{N}} / 2 rows each) and the block's 128 rows are 64 up rows (warpgroup 1) and the matching 64 gate rows
// (warpgroup 2), copied as two boxes of 64 rows (tq's boxes are 64 rows high then); the epilogue writes
// d[T, {{N}} / 2] = (up + bias_up) * act(gate + bias_gate), the gated step's output: no [T, {{N}}] intermediate, no
// gated kernel.
// Float weights (DS_QUANT 0: f16/bf16 as stored, no scales): the weight box is the wgmmas' A operand through a
// descriptor too (K-major for [out,in]; MN-major for [in,out], DS_WMN, copied as 64 k x 64 n boxes), and a stage's
// wgmmas stay in flight while the next stage's are issued.
#define DS_N {{N}}LL
#define DS_K {{K}}LL
#define DS_RPG {{RPG}}LL         // weight rows per scale group
#define DS_QUANT {{QUANT}}       // 0: f16/bf16 weights as stored (no scales, both wgmma operands from shared memory);
                                 // 1: int8; 2: fp8 e4m3
#define DS_BF16 {{BF16}}         // x and the converted weights are bf16 (else f16)
#define DS_WG_T "{{WG_T}}"
#define DS_STAGES {{STAGES}}
#define DS_XSTAGE {{XSTAGE}}     // 1: the codes of the next 64 k are converted while this 64 k multiplies across stage
                                 // boundaries too (64-k stages: the 128- and 256-token kernels); 0: within a stage
#define DS_TOK {{TOK}}           // tokens per block: 16, 32, 64, 128 or 256 (the wgmma's n)
#define DS_MINB {{MINB}}          // blocks per SM: 2 for narrow token tiles (short wgmmas: a second block's warpgroups
                                  // fill the tensor pipe while the first's convert or wait)
#define DS_REGS_PRODUCER {{REGS_PRODUCER}}   // setmaxnreg: the producer warpgroup releases down to this many registers and
#define DS_REGS_CONSUMER {{REGS_CONSUMER}}   // the consumers take this many (0: the launch bound's count for all); the
                                             // release must cover the increase (the load checks the entry count)
#define DS_SERIAL_MAX_TOK {{SERIAL_MAX_TOK}}   // the k split without clusters serves kernels of at most this many tokens
#define DS_PREFETCH {{PREFETCH}}     // 1: at entry the block asks L2 for its rows' first lines (ds_prefetch_first)
#define DS_HAS_BIAS {{HAS_BIAS}}
#define DS_HAS_C {{HAS_C}}
#define DS_ACT {{ACT}}           // 0 none, 1 relu, 2 tanh-GELU, 3 erf-GELU, 4 SiLU (an activation step taken on)
#define DS_GATED {{GATED}}       // 1: d = (up + bias_up) * DS_GACT(gate + bias_gate), the gated step fused
#define DS_GACT {{GACT}}
#define DS_NO (DS_GATED ? DS_N / 2 : DS_N)   // output columns
typedef {{D_T}} ds_d_t;
typedef {{S_T}} ds_s_t;
typedef {{B_T}} ds_b_t;
typedef {{C_T}} ds_c_t;

#define DS_BK {{BK}}             // k per stage: 256 or 128 (four or two x boxes; q rows in 128-byte pieces, the
                                 // 128-byte swizzle) or 64 (q rows of 64 bytes, the 64-byte swizzle; float weights:
                                 // 128 bytes); wider row pieces per copy read faster (emit_mixed.c picks)
#define DS_KI (DS_BK < 256)      // a k split's shares interleaved over the cluster (block z: k blocks z, z + S, ...);
                                 // 256-k stages (code kernels of <= 32 tokens) keep contiguous shares (why: below)
#define DS_XB64 (DS_TOK * 64 * 2) // one x box: 64 k x DS_TOK tokens
#define DS_ROWS 128              // weight rows per block
#define DS_XB (DS_XB64 * (DS_BK / 64))
#define DS_WBYTES (DS_QUANT ? 1 : 2)      // bytes per weight element
#define DS_WMN {{WMN}}           // 1: float W stored [in,out] ([k][n]: the wgmma's A operand MN-major), copied as two
                                 // boxes of 64 k x 64 n a stage (the 128-byte swizzle: 128 bytes of n a k row)
#define DS_QB (DS_ROWS * DS_BK * DS_WBYTES)
#define DS_QW (DS_BK * DS_WBYTES > 128 ? 128 : DS_BK * DS_WBYTES)   // bytes of a row per q box (the swizzle span):
#define DS_QWE (DS_QW / DS_WBYTES)        // DS_BK / DS_QWE boxes per stage (the runtime's tensor map: EMIT_MIXED_QBOX)
#define DS_QBOX (DS_ROWS * DS_QW)
#define DS_STAGE (DS_XB + DS_QB)
#define DS_OR (DS_ROWS + 4)      // floats per staged token row (conflict-free staging)

struct alignas(64) ds_tmap { unsigned long long opaque[16]; };   // CUtensorMap's layout

__device__ __forceinline__ unsigned ds_sa(const void *p) { return (unsigned)__cvta_generic_to_shared(p); }
__device__ __forceinline__ void ds_bar_init(unsigned long long *b, int n)
{
    asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(ds_sa(b)), "r"(n));
}
__device__ __forceinline__ void ds_bar_arrive(unsigned long long *b)
{
    asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];\n" ::"r"(ds_sa(b)) : "memory");
}
__device__ __forceinline__ void ds_bar_expect(unsigned long long *b, unsigned bytes)
{
    asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(ds_sa(b)), "r"(bytes) : "memory");
}
__device__ __forceinline__ void ds_bar_wait(unsigned long long *b, unsigned parity)
{
    unsigned ok;
    do {
        asm volatile("{\n.reg .pred p;\nmbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\nselp.u32 %0, 1, 0, p;\n}\n"
                     : "=r"(ok) : "r"(ds_sa(b)), "r"(parity) : "memory");
    } while (!ok);
}
// A 2-D box (c0 along the contiguous dimension) into shared memory, completing on b.
__device__ __forceinline__ void ds_tma(void *dst, const ds_tmap *m, int c0, int c1, unsigned long long *b)
{
    asm volatile("cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3}], [%4];\n"
                 ::"r"(ds_sa(dst)), "l"(m), "r"(c0), "r"(c1), "r"(ds_sa(b)) : "memory");
}
// The same with an L2 eviction policy.
__device__ __forceinline__ void ds_tma_hint(void *dst, const ds_tmap *m, int c0, int c1, unsigned long long *b,
                                            unsigned long long pol)
{
    asm volatile("cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::bytes.L2::cache_hint "
                 "[%0], [%1, {%2, %3}], [%4], %5;\n"
                 ::"r"(ds_sa(dst)), "l"(m), "r"(c0), "r"(c1), "r"(ds_sa(b)), "l"(pol) : "memory");
}
// The weights' policy: evict first when one token tile reads them once, so that the weight stream does not push
// the block's small operands and the next kernels' code out of L2 (2-3 us at T <= 64); normal when several token
// tiles re-read them from L2 (evict-first measured 0.3-1% slower at T = 1024; bench/RESULTS.md, twenty-fifth session).
__device__ __forceinline__ unsigned long long ds_weight_policy()
{
    unsigned long long p;
    if (gridDim.x == 1) asm volatile("createpolicy.fractional.L2::evict_first.b64 %0, 1.0;\n" : "=l"(p));
    else asm volatile("createpolicy.fractional.L2::evict_normal.b64 %0, 1.0;\n" : "=l"(p));
    return p;
}
// A K-major operand in the 128-byte swizzle layout: rows 128 bytes apart, 8-row groups 1024 apart.
__device__ __forceinline__ unsigned long long ds_desc(unsigned saddr)
{
    return (unsigned long long)((saddr & 0x3ffff) >> 4) | 1ull << 16 | (unsigned long long)(1024 >> 4) << 32 | 1ull << 62;
}
// An MN-major operand in the 128-byte swizzle layout (64 elements of m a 128-byte k row): 8-k-row groups 1024 bytes
// apart. Its m64 fits one swizzle atom, so only the k groups' stride matters; both offsets hold it (their roles swap
// between K- and MN-major layouts).
__device__ __forceinline__ unsigned long long ds_desc_mn(unsigned saddr)
{
    return (unsigned long long)((saddr & 0x3ffff) >> 4) | (unsigned long long)(1024 >> 4) << 16 |
           (unsigned long long)(1024 >> 4) << 32 | 1ull << 62;
}
// Keep the compiler from moving register reads or writes across this point: wgmma reads A and writes the
// accumulators asynchronously, between its issue and the wait.
template <int NR> __device__ __forceinline__ void ds_fence(float (&d)[NR])
{
#pragma unroll
    for (int i = 0; i < NR; i++) asm volatile("" : "+f"(d[i])::"memory");
}
__device__ __forceinline__ void ds_fence(unsigned (&a)[4][4])
{
#pragma unroll
    for (int i = 0; i < 4; i++)
#pragma unroll
        for (int j = 0; j < 4; j++) asm volatile("" : "+r"(a[i][j])::"memory");
}

#if DS_QUANT
// A thread's two codes of a row at one k16 step, k 2c and 2c + 1 (or 2c + 8 and 2c + 9), are half (c & 1) of a
// 4-byte word of the row's 16 codes: sel (ds_code_sel) picks them out of the word for ds_conv2.
__device__ __forceinline__ unsigned ds_code_sel(int c)
{
#if DS_QUANT == 1
    return c & 1 ? 0x4342u : 0x4140u;   // the codes to bytes 0 and 2, the constant operand's byte above each
#else
    return c & 1 ? 0x3232u : 0x1010u;   // the codes to bytes 0 and 1
#endif
}
// The two codes of w that sel picks -> their exact values as a pair (the lower k in the lower half).
__device__ __forceinline__ unsigned ds_conv2(unsigned w, unsigned sel)
{
    unsigned r;
#if DS_QUANT == 1
#if DS_BF16
    r = ds_i8x2_bf16(__byte_perm(w, 0x43434343u, sel));   // [q, 0x43] pairs (common.cuh)
#else
    // [q ^ 0x80, 0x64] is f16 1024 + q + 128; one subtraction of 1152 per pair
    const unsigned p = __byte_perm(w, 0x64646464u, sel) ^ 0x00800080u;
    asm("sub.f16x2 %0, %1, %2;\n" : "=r"(r) : "r"(p), "r"(0x64806480u));
#endif
#else
    r = ds_fp8x2_to_h2((unsigned short)__byte_perm(w, 0, sel));   // common.cuh
#if DS_BF16   // exact: 4 significant bits
    const float2 f = __half22float2(*reinterpret_cast<const __half2 *>(&r));
    const __nv_bfloat162 b = __floats2bfloat162_rn(f.x, f.y);
    r = *reinterpret_cast<const unsigned *>(&b);
#endif
#endif
    return r;
}
// The codes of 64 k (hf: the stage's hf-th 64) of this thread's rows g and g + 8, converted: chunk 4 hf + kk of the
// stage's row sits in box (4 hf) / (DS_QW / 16), chunk ((4 hf) % (DS_QW / 16)) + kk in it, whose swizzled place is
// qo[kk]'s with the chunk's bit 2 flipped when that is 4
__device__ __forceinline__ void ds_conv_hf(unsigned (&c)[4][4], const unsigned char *q, const int (&qo)[4], int hf, unsigned qsel)
{
#pragma unroll
    for (int kk = 0; kk < 4; kk++)
#pragma unroll
        for (int h = 0; h < 2; h++) {
            const unsigned char *r = q + (hf * 4 / (DS_QW / 16)) * DS_QBOX + (qo[kk] ^ (((hf * 4) % (DS_QW / 16)) << 4)) + h * 8 * DS_QW;
            c[kk][h] = ds_conv2(*reinterpret_cast<const unsigned *>(r), qsel);
            c[kk][h + 2] = ds_conv2(*reinterpret_cast<const unsigned *>(r + 8), qsel);
        }
}
#endif

// One m64nTk16 wgmma (T = DS_TOK): A (64 weight rows x 16 k, the mma.sync A layout per warp) from registers, B
// (DS_TOK tokens x 16 k) from shared memory through a descriptor, accumulating into d.
__device__ __forceinline__ void ds_wgmma(float (&d)[DS_TOK / 2], const unsigned (&a)[4], unsigned long long db)
{
#if DS_TOK == 256
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, 1, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n256k16.f32." DS_WG_T "." DS_WG_T " "
                 "{%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15,%16,%17,%18,%19,%20,%21,%22,%23,%24,%25,%26,%27,%28,%29,%30,%31,%32,%33,%34,%35,%36,%37,%38,%39,%40,%41,%42,%43,%44,%45,%46,%47,%48,%49,%50,%51,%52,%53,%54,%55,%56,%57,%58,%59,%60,%61,%62,%63,%64,%65,%66,%67,%68,%69,%70,%71,%72,%73,%74,%75,%76,%77,%78,%79,%80,%81,%82,%83,%84,%85,%86,%87,%88,%89,%90,%91,%92,%93,%94,%95,%96,%97,%98,%99,%100,%101,%102,%103,%104,%105,%106,%107,%108,%109,%110,%111,%112,%113,%114,%115,%116,%117,%118,%119,%120,%121,%122,%123,%124,%125,%126,%127}, {%128, %129, %130, %131}, %132, p, 1, 1, 0;\n}\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63]), "+f"(d[64]), "+f"(d[65]), "+f"(d[66]), "+f"(d[67]), "+f"(d[68]), "+f"(d[69]), "+f"(d[70]), "+f"(d[71]), "+f"(d[72]), "+f"(d[73]), "+f"(d[74]), "+f"(d[75]), "+f"(d[76]), "+f"(d[77]), "+f"(d[78]), "+f"(d[79]), "+f"(d[80]), "+f"(d[81]), "+f"(d[82]), "+f"(d[83]), "+f"(d[84]), "+f"(d[85]), "+f"(d[86]), "+f"(d[87]), "+f"(d[88]), "+f"(d[89]), "+f"(d[90]), "+f"(d[91]), "+f"(d[92]), "+f"(d[93]), "+f"(d[94]), "+f"(d[95]), "+f"(d[96]), "+f"(d[97]), "+f"(d[98]), "+f"(d[99]), "+f"(d[100]), "+f"(d[101]), "+f"(d[102]), "+f"(d[103]), "+f"(d[104]), "+f"(d[105]), "+f"(d[106]), "+f"(d[107]), "+f"(d[108]), "+f"(d[109]), "+f"(d[110]), "+f"(d[111]), "+f"(d[112]), "+f"(d[113]), "+f"(d[114]), "+f"(d[115]), "+f"(d[116]), "+f"(d[117]), "+f"(d[118]), "+f"(d[119]), "+f"(d[120]), "+f"(d[121]), "+f"(d[122]), "+f"(d[123]), "+f"(d[124]), "+f"(d[125]), "+f"(d[126]), "+f"(d[127])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(db));
#elif DS_TOK == 128
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, 1, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n128k16.f32." DS_WG_T "." DS_WG_T " "
                 "{%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15,%16,%17,%18,%19,%20,%21,%22,%23,%24,%25,%26,%27,%28,%29,%30,%31,%32,%33,%34,%35,%36,%37,%38,%39,%40,%41,%42,%43,%44,%45,%46,%47,%48,%49,%50,%51,%52,%53,%54,%55,%56,%57,%58,%59,%60,%61,%62,%63}, {%64, %65, %66, %67}, %68, p, 1, 1, 0;\n}\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(db));
#elif DS_TOK == 64
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, 1, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n64k16.f32." DS_WG_T "." DS_WG_T " "
                 "{%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15,%16,%17,%18,%19,%20,%21,%22,%23,%24,%25,%26,%27,%28,%29,%30,%31}, {%32, %33, %34, %35}, %36, p, 1, 1, 0;\n}\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(db));
#elif DS_TOK == 16
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, 1, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n16k16.f32." DS_WG_T "." DS_WG_T " "
                 "{%0,%1,%2,%3,%4,%5,%6,%7}, {%8, %9, %10, %11}, %12, p, 1, 1, 0;\n}\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(db));
#else
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, 1, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n32k16.f32." DS_WG_T "." DS_WG_T " "
                 "{%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15}, {%16, %17, %18, %19}, %20, p, 1, 1, 0;\n}\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(db));
#endif
}

#if DS_QUANT
// One 64 k of this warpgroup's rows: four wgmmas of the converted codes a with the x box at xa, one commit group.
__device__ __forceinline__ void ds_mma64(float (&d)[DS_TOK / 2], const unsigned (&a)[4][4], unsigned xa)
{
    ds_fence(d);
    asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
    // One descriptor, its start address field (bytes / 16) stepped by 32 bytes a k16 step: shared addresses are
    // below 2^18, so no carry leaves the 14-bit field. Built four times, ptxas spent 5 uniform instructions on each
    // (~20 of ~94 issue slots a thread per 64 k).
    const unsigned long long dx = ds_desc(xa);
#pragma unroll
    for (int kk = 0; kk < 4; kk++) ds_wgmma(d, a[kk], dx + 2 * kk);
    asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
    ds_fence(d);
}
#endif

#if DS_QUANT == 0
#define DS_TRANS_A "{{WMN}}"     // the wgmma's imm-trans-a: A MN-major ([in,out] W, DS_WMN) is transposed
// One m64nTk16 wgmma with A (64 weight rows x 16 k) from shared memory too: both through descriptors.
__device__ __forceinline__ void ds_wgmma_ss(float (&d)[DS_TOK / 2], unsigned long long da, unsigned long long db)
{
#if DS_TOK == 256
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, 1, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n256k16.f32." DS_WG_T "." DS_WG_T " "
                 "{%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15,%16,%17,%18,%19,%20,%21,%22,%23,%24,%25,%26,%27,%28,%29,%30,%31,%32,%33,%34,%35,%36,%37,%38,%39,%40,%41,%42,%43,%44,%45,%46,%47,%48,%49,%50,%51,%52,%53,%54,%55,%56,%57,%58,%59,%60,%61,%62,%63,%64,%65,%66,%67,%68,%69,%70,%71,%72,%73,%74,%75,%76,%77,%78,%79,%80,%81,%82,%83,%84,%85,%86,%87,%88,%89,%90,%91,%92,%93,%94,%95,%96,%97,%98,%99,%100,%101,%102,%103,%104,%105,%106,%107,%108,%109,%110,%111,%112,%113,%114,%115,%116,%117,%118,%119,%120,%121,%122,%123,%124,%125,%126,%127}, %128, %129, p, 1, 1, " DS_TRANS_A ", 0;\n}\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63]), "+f"(d[64]), "+f"(d[65]), "+f"(d[66]), "+f"(d[67]), "+f"(d[68]), "+f"(d[69]), "+f"(d[70]), "+f"(d[71]), "+f"(d[72]), "+f"(d[73]), "+f"(d[74]), "+f"(d[75]), "+f"(d[76]), "+f"(d[77]), "+f"(d[78]), "+f"(d[79]), "+f"(d[80]), "+f"(d[81]), "+f"(d[82]), "+f"(d[83]), "+f"(d[84]), "+f"(d[85]), "+f"(d[86]), "+f"(d[87]), "+f"(d[88]), "+f"(d[89]), "+f"(d[90]), "+f"(d[91]), "+f"(d[92]), "+f"(d[93]), "+f"(d[94]), "+f"(d[95]), "+f"(d[96]), "+f"(d[97]), "+f"(d[98]), "+f"(d[99]), "+f"(d[100]), "+f"(d[101]), "+f"(d[102]), "+f"(d[103]), "+f"(d[104]), "+f"(d[105]), "+f"(d[106]), "+f"(d[107]), "+f"(d[108]), "+f"(d[109]), "+f"(d[110]), "+f"(d[111]), "+f"(d[112]), "+f"(d[113]), "+f"(d[114]), "+f"(d[115]), "+f"(d[116]), "+f"(d[117]), "+f"(d[118]), "+f"(d[119]), "+f"(d[120]), "+f"(d[121]), "+f"(d[122]), "+f"(d[123]), "+f"(d[124]), "+f"(d[125]), "+f"(d[126]), "+f"(d[127])
                 : "l"(da), "l"(db));
#elif DS_TOK == 128
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, 1, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n128k16.f32." DS_WG_T "." DS_WG_T " "
                 "{%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15,%16,%17,%18,%19,%20,%21,%22,%23,%24,%25,%26,%27,%28,%29,%30,%31,%32,%33,%34,%35,%36,%37,%38,%39,%40,%41,%42,%43,%44,%45,%46,%47,%48,%49,%50,%51,%52,%53,%54,%55,%56,%57,%58,%59,%60,%61,%62,%63}, %64, %65, p, 1, 1, " DS_TRANS_A ", 0;\n}\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63])
                 : "l"(da), "l"(db));
#elif DS_TOK == 64
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, 1, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n64k16.f32." DS_WG_T "." DS_WG_T " "
                 "{%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15,%16,%17,%18,%19,%20,%21,%22,%23,%24,%25,%26,%27,%28,%29,%30,%31}, %32, %33, p, 1, 1, " DS_TRANS_A ", 0;\n}\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31])
                 : "l"(da), "l"(db));
#elif DS_TOK == 32
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, 1, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n32k16.f32." DS_WG_T "." DS_WG_T " "
                 "{%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15}, %16, %17, p, 1, 1, " DS_TRANS_A ", 0;\n}\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15])
                 : "l"(da), "l"(db));
#elif DS_TOK == 16
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, 1, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n16k16.f32." DS_WG_T "." DS_WG_T " "
                 "{%0,%1,%2,%3,%4,%5,%6,%7}, %8, %9, p, 1, 1, " DS_TRANS_A ", 0;\n}\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7])
                 : "l"(da), "l"(db));
#endif
}
#endif

// The GEMM step's epilogue on one fp32 sum (as cuBLASLt: act(x·W + bias + C)), from its bias and C values as read
// (ds_epi_in: the serial split's tail reads them with the parts, not after the sums)
struct ds_epi_in { float b, c; };
__device__ __forceinline__ ds_epi_in ds_epi_load(const ds_b_t *bias, const ds_c_t *c, ds_i64 t, ds_i64 col)
{
    ds_epi_in e = {0.0f, 0.0f};
#if DS_HAS_BIAS
    e.b = ds_to_f(bias[col]);
#endif
#if DS_HAS_C
    e.c = ds_to_f(c[t * DS_N + col]);
#endif
    (void)bias, (void)c, (void)t, (void)col;
    return e;
}
__device__ __forceinline__ float ds_epi_apply(float v, ds_epi_in e)
{
#if DS_HAS_BIAS
    v += e.b;
#endif
#if DS_HAS_C
    v += e.c;
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
    (void)e;
    return v;
}

// The weight row of the block's row f (0..127): gated blocks hold 64 up rows, then the matching 64 gate rows.
__device__ __forceinline__ ds_i64 ds_wrow(int n0, int f)
{
#if DS_GATED
    return f < 64 ? n0 / 2 + f : DS_N / 2 + n0 / 2 + (f - 64);
#else
    return (ds_i64)n0 + f;
#endif
}

// Distributed shared memory: this block's shared address a as seen in cluster block r.
__device__ __forceinline__ unsigned ds_mapa(unsigned a, unsigned r)
{
    unsigned o;
    asm volatile("mapa.shared::cluster.u32 %0, %1, %2;\n" : "=r"(o) : "r"(a), "r"(r));
    return o;
}
__device__ __forceinline__ float4 ds_ld_cluster(unsigned a)
{
    float4 v;
    asm volatile("ld.shared::cluster.v4.f32 {%0, %1, %2, %3}, [%4];\n" : "=f"(v.x), "=f"(v.y), "=f"(v.z), "=f"(v.w) : "r"(a) : "memory");
    return v;
}
// Four staged sums at p, summed over the cluster's S blocks in block order (the same order in every block: the sum
// does not depend on which block takes the slice).
__device__ __forceinline__ float4 ds_cluster_sum(const float *p, int S)
{
    if (S == 1) return *reinterpret_cast<const float4 *>(p);
    const unsigned a = ds_sa(p);
    float4 v = ds_ld_cluster(ds_mapa(a, 0));
    for (int r = 1; r < S; r++) {
        const float4 u = ds_ld_cluster(ds_mapa(a, (unsigned)r));
        v.x += u.x, v.y += u.y, v.z += u.z, v.w += u.w;
    }
    return v;
}

// Every thread of the cluster's blocks: shared-memory writes before it are visible to the cluster's reads after it.
__device__ __forceinline__ void ds_cluster_sync()
{
    asm volatile("barrier.cluster.arrive.release;\nbarrier.cluster.wait.acquire;\n" ::: "memory");
}

#if DS_PREFETCH
// Before griddepcontrol.wait, the block's threads ask L2 for the first `lines` 128-byte lines of each of its 128 code
// rows in k blocks [kb0, kb1) (q: the codes, [N][K]; gated: its 64 up rows, then the matching 64 gate rows), so
// the first stages' copies find them there or on their way. prefetch.global.L2 from every thread, not the copy
// engine's bulk prefetch (5-7 us slower, twenty-first session); where and how deep: exec_mixed.c prefetch_lines.
// Token tiles past the first (blockIdx.x > 0) read the same rows and ask for nothing. (tests/test_mixed_prefetch.c
// compiles this part on the host with a ds_prefetch_l2 of its own that records the lines.)
__device__ __forceinline__ void ds_prefetch_first(const unsigned char *q, int n0, int kb0, int kb1, int lines)
{
    const long long bytes = (long long)(kb1 - kb0) * DS_BK;
    for (int i = threadIdx.x; i < DS_ROWS * lines; i += blockDim.x) {
        const int r = i / lines, l = i - r * lines;
        const long long row = DS_GATED ? (r < DS_ROWS / 2 ? n0 / 2 + r : DS_N / 2 + n0 / 2 + (r - DS_ROWS / 2)) : (long long)n0 + r;
        if ((long long)l * 128 < bytes && row < DS_N)
            ds_prefetch_l2(q + row * DS_K + (long long)kb0 * DS_BK + (long long)l * 128);
    }
}
// Block z of S: `lines` lines a row from the start of its own k blocks. Interleaved shares (DS_KI: k blocks z, z + S,
// ...): up to DS_BK / 128 (at least one) from each of its first k blocks; contiguous shares: the first `lines` of its
// share [KT z / S, KT (z + 1) / S). Unsplit (S = 1), the first `lines` lines of the whole row.
__device__ __forceinline__ void ds_prefetch_own(const unsigned char *q, int n0, int z, int S, int KT, int lines)
{
    if (S == 1 || !DS_KI) {
        ds_prefetch_first(q, n0, KT * z / S, KT * (z + 1) / S, lines);
        return;
    }
    const int per = DS_BK >= 128 ? DS_BK / 128 : 1;
    for (int kb = z, used = 0; kb < KT && used < lines; kb += S, used += per)
        ds_prefetch_first(q, n0, kb, kb + 1, per < lines - used ? per : lines - used);
}
#endif

extern "C" __global__ void __launch_bounds__(384, DS_MINB)
{{NAME}}(const __grid_constant__ ds_tmap tx, const __grid_constant__ ds_tmap tq, long long T, ds_d_t *d_out,
         const ds_s_t *scales, const ds_b_t *bias, const ds_c_t *cin, float *part, unsigned *flag, int C,
         const unsigned char *q, int prefetch_lines, int early)
{
    extern __shared__ unsigned char ds_smem_raw[];
    unsigned char *sm = ds_smem_raw + ((1024 - (ds_sa(ds_smem_raw) & 1023)) & 1023);   // swizzled boxes: 1024-aligned
    unsigned long long *full = reinterpret_cast<unsigned long long *>(sm + DS_STAGES * DS_STAGE), *empty = full + DS_STAGES;
    const int tid = threadIdx.x, wg = tid >> 7;
    const int t0 = blockIdx.x * DS_TOK, n0 = blockIdx.y * DS_ROWS, KT = (int)(DS_K / DS_BK);
    // k split: block z of the cluster (its rank: cluster (1, 1, S) = grid z). Interleaved (DS_KI) it takes k blocks
    // z, z + S, z + 2S, ..., so that a cluster's blocks read adjacent pieces of each row at about the same time
    // instead of S places far apart: split GEMMs 0.5-3.6 us faster at T = 8..256 on an H100 (bench/RESULTS.md,
    // sixty-eighth and sixty-ninth sessions). The code kernels of <= 32 tokens (256 k a stage: each piece is already
    // two 128-byte lines a row) lost 0.4-0.7 us with it at T = 3..16 on an H100 (sixty-ninth): they keep contiguous
    // shares [KT z / S, KT (z + 1) / S). Its i-th stage holds k block DS_KB(i).
    const int S = (int)gridDim.z, z = (int)blockIdx.z;
    const int kb0 = DS_KI ? 0 : KT * z / S, kb1 = DS_KI ? (KT - z + S - 1) / S : KT * (z + 1) / S;
#define DS_KB(i) (DS_KI ? (i) * S + z : kb0 + (i))
    // Two groups (S = 2C, clusters of C; exec_mixed.c): the tile's first C blocks sum their cluster's k share and push
    // it to part[]; the last C sum theirs, wait for that (flag[]), add it and apply the epilogue. The launch is
    // cooperative, so all blocks are resident and the wait ends. (C = S: one cluster, no global partial sums.)
    const int zc = z % C, grp = z / C;
    DS_TL(const ds_tl_blk tl = ds_tl_begin();)
#if DS_PREFETCH
    if (prefetch_lines > 0 && blockIdx.x == 0) ds_prefetch_own(q, n0, z, S, KT, prefetch_lines);
#endif
    if (tid == 0) {
        for (int i = 0; i < DS_STAGES; i++) ds_bar_init(full + i, 1), ds_bar_init(empty + i, 2);
        asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
    }
    __syncthreads();

    if (wg == 0) {   // the producer: one thread issues both boxes of each k block once its stage is free
#if DS_REGS_CONSUMER
        asm volatile("setmaxnreg.dec.sync.aligned.u32 {{REGS_PRODUCER}};\n");
#endif
        if (tid == 0) {
            // Nothing is copied before the previous kernel completes: issuing the first stages' weights early (x after
            // the wait) measured 4-5 us slower at T = 16 (bench/RESULTS.md, nineteenth session)
            const unsigned long long wpol = ds_weight_policy();
#if !DS_QUANT
            // The next GEMM (launched with programmatic dependent launch: exec_mixed.c) may take SM slots as this
            // grid's blocks exit instead of ~2 us after the last one. It waits for this grid's end before it reads
            // anything. The float kernels let it at entry (after their last copy measured level: H200, seventy-seventh
            // session).
            if (early) ds_dependents_may_start();
#endif
            ds_wait_prerequisites();
            DS_TL(ds_tl_mark(tl, 1);)   // copies may start
            for (int kt = kb0; kt < kb1; kt++) {
                const int i = kt - kb0, s = i % DS_STAGES;
                if (i >= DS_STAGES) ds_bar_wait(empty + s, ((i / DS_STAGES) & 1) ^ 1);
                ds_bar_expect(full + s, DS_STAGE);
#pragma unroll
                for (int b = 0; b < DS_BK / 64; b++) ds_tma(sm + s * DS_STAGE + b * DS_XB64, &tx, DS_KB(i) * DS_BK + b * 64, t0, full + s);
#pragma unroll
                for (int b = 0; b < DS_BK / DS_QWE; b++) {
                    unsigned char *qs = sm + s * DS_STAGE + DS_XB + b * DS_QBOX;
#if DS_WMN   // (DS_BK = 64: one b) coordinates (n, k); the block's 64 up and 64 gate columns, or its 128
                    ds_tma_hint(qs, &tq, DS_GATED ? n0 / 2 : n0, DS_KB(i) * DS_BK, full + s, wpol);
                    ds_tma_hint(qs + DS_QBOX / 2, &tq, DS_GATED ? (int)(DS_N / 2) + n0 / 2 : n0 + 64, DS_KB(i) * DS_BK, full + s, wpol);
#elif DS_GATED
                    ds_tma_hint(qs, &tq, DS_KB(i) * DS_BK + b * DS_QWE, n0 / 2, full + s, wpol);   // up rows
                    ds_tma_hint(qs + DS_QBOX / 2, &tq, DS_KB(i) * DS_BK + b * DS_QWE, (int)(DS_N / 2) + n0 / 2, full + s, wpol);   // gate
#else
                    ds_tma_hint(qs, &tq, DS_KB(i) * DS_BK + b * DS_QWE, n0, full + s, wpol);
#endif
                }
            }
#if DS_QUANT
            // The code kernels, once this block's last copy is issued (at entry: up to 1.9 us less gain in gated
            // blocks; exec_mixed.c says which kernels may).
            if (early) ds_dependents_may_start();
#endif
        }
        __syncwarp();
        if (C > 1) ds_cluster_sync(), ds_cluster_sync();   // the consumers' two (below)
        return;
    }

    ds_wait_prerequisites();   // the epilogue reads C, which an earlier kernel may write
#if DS_REGS_CONSUMER   // the block's own producer release covers it (emit_mixed.c; checked at load: exec_load.c)
    asm volatile("setmaxnreg.inc.sync.aligned.u32 {{REGS_CONSUMER}};\n");
#endif
    const int cw = wg - 1, w4 = (tid >> 5) & 3, lane = tid & 31, g = lane >> 2, c = lane & 3;
    float d[DS_TOK / 2];
#pragma unroll
    for (int i = 0; i < DS_TOK / 2; i++) d[i] = 0.0f;
#if DS_QUANT == 0
    // Float weights: this warpgroup's 64 rows of each W box (128 bytes of k a row, the 128-byte swizzle, as x's) go to
    // the wgmmas through a descriptor too. A stage's wgmmas stay in flight while the next stage's are issued; the
    // stage is released once they are done (wait_group 1 after the next commit).
    int held = -1;   // the stage whose wgmmas may still read it
    for (int kt = kb0; kt < kb1; kt++) {
        const int i = kt - kb0, s = i % DS_STAGES;
        ds_bar_wait(full + s, (i / DS_STAGES) & 1);
        DS_TL(if (tid == 128 && i == 0) ds_tl_mark(tl, 2);)   // first stage in
        const unsigned wa = ds_sa(sm + s * DS_STAGE + DS_XB) + cw * 64 * DS_QW;   // [in,out]: box cw (64 x 128 bytes too)
        ds_fence(d);
        asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
#pragma unroll
        for (int hf = 0; hf < DS_BK / 64; hf++) {
            const unsigned long long dx = ds_desc(ds_sa(sm + s * DS_STAGE + hf * DS_XB64));   // stepped below
#if DS_WMN
            const unsigned long long dw = ds_desc_mn(wa);
#else
            const unsigned long long dw = ds_desc(wa + hf * DS_QBOX);
#endif
#pragma unroll
            for (int kk = 0; kk < 4; kk++)
#if DS_WMN   // k16 step kk: 16 k rows of 128 bytes further
                ds_wgmma_ss(d, dw + 128 * kk, dx + 2 * kk);
#else
                ds_wgmma_ss(d, dw + 2 * kk, dx + 2 * kk);
#endif
        }
        asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
        ds_fence(d);
        asm volatile("wgmma.wait_group.sync.aligned 1;\n" ::: "memory");
        ds_fence(d);
        if (held >= 0 && (tid & 127) == 0) ds_bar_arrive(empty + held);
        held = s;
    }
    asm volatile("wgmma.wait_group.sync.aligned 0;\n" ::: "memory");
    ds_fence(d);
    (void)held;   // its stage is never refilled: the producer is done
#else
    // Rows g and g + 8 of this warp's 16. The q box's 16-byte chunk j of row r sits at r * 64 + ((j ^ ((r >> 1) & 3))
    // << 4) (the 64-byte swizzle) or r * 128 + ((j ^ (r & 7)) << 4) (the 128-byte one): the warp's eight rows in
    // distinct banks. Bytes 2c, 2c + 1 of each 8 are ours: half c & 1 of word c / 2 and of word 2 + c / 2, two 4-byte
    // loads (a 16-byte load of the chunk, shared by the quad's four threads, read each byte four times: the shared
    // memory's bandwidth, not the copies, then set a block's pace)
    const int qrow = (cw * 64 + w4 * 16 + g) * DS_QW + 4 * (c >> 1), qsw = DS_QW == 128 ? g : (g >> 1) & 3;
    const unsigned qsel = ds_code_sel(c);
    int qo[4];   // row g's word for k16 step kk of a k block's first 64 k (a later 64 k: another box, or chunk kk + 4)
#pragma unroll
    for (int kk = 0; kk < 4; kk++) qo[kk] = qrow + ((kk ^ qsw) << 4);
    // Two register sets: the next 64 k's codes are converted while this 64 k's wgmmas run (wait_group 1 frees the
    // set the previous ones read before it is written again; SwiGLU-4096 int8 T = 2..32 4-6 us faster than one set
    // and a wait for every 64 k, bench/RESULTS.md, thirty-third session). Within a stage (below, #else) for 128- and
    // 256-k stages; across stages (DS_XSTAGE) for 64-k ones (the 128- and 256-token kernels).
    unsigned cur[2][4][4];
#if DS_XSTAGE
    // The block's 64-k stages h = 0..H-1 in order: stage h + 1's codes are converted into the other register set
    // while stage h's wgmmas run, and a stage is released once its wgmmas are done (wait_group 1 at the next step).
    // Without this, each stage's conversion waited for the previous stage's wgmmas (GELU-4096 int8
    // T = 128 / 1024 1.2-1.6 / 10-14 us faster, SwiGLU-4096 int8 T = 256 / 1024 6 / 28-35; bench/RESULTS.md,
    // thirty-fifth session). For 128- and 256-k stages the within-stage loop below is faster (T <= 64: 6-21 us).
    static_assert(DS_BK == 64, "converting across stages takes stages of 64 k (emit_mixed.c)");
    const int H = kb1 - kb0;   // the block's stages of 64 k
    ds_bar_wait(full, 0);
    DS_TL(if (tid == 128) ds_tl_mark(tl, 2);)   // first stage in
    ds_conv_hf(cur[0], sm + DS_XB, qo, 0, qsel);
    // One step: stage s's wgmmas from register set A; unless it is the last, the next stage ns (parity nph) waited for
    // and converted into set B once the step before's wgmmas are done, which releases that step's stage (none before
    // the first)
#define DS_XSTEP(A, B, s, first, last, ns, nph)                                                                    \
    {                                                                                                              \
        ds_mma64(d, cur[A], ds_sa(sm + (s) * DS_STAGE));                                                           \
        if (!(last)) {                                                                                             \
            asm volatile("wgmma.wait_group.sync.aligned 1;\n" ::: "memory");                                       \
            ds_fence(d);                                                                                           \
            ds_fence(cur[B]);   /* read by the wgmmas of the step before until here */                             \
            if (!(first) && (tid & 127) == 0) ds_bar_arrive(empty + ((s) + DS_STAGES - 1) % DS_STAGES);            \
            ds_bar_wait(full + (ns), (nph));                                                                       \
            ds_conv_hf(cur[B], sm + (ns) * DS_STAGE + DS_XB, qo, 0, qsel);                                         \
        }                                                                                                          \
    }
    // stage h of the block's, its indices computed
#define DS_XSTEP_H(h, A, B) DS_XSTEP(A, B, (h) % DS_STAGES, (h) == 0, (h) + 1 >= H, ((h) + 1) % DS_STAGES,            \
                                     (unsigned)(((h) + 1) / DS_STAGES) & 1u)
    int h = 0;
#if DS_STAGES % 2 == 0
    // Groups of DS_STAGES steps, every one with a next stage: stage and register-set indices known at compile time,
    // no bound checks; the rest in pairs below (h stays even). The 128-token kernels' 8 stages: GELU-4096 int8 T = 128
    // 75.0-76.3 -> 72.4-73.6 us, SwiGLU 101.1-101.9 -> 95.3-97.0 (H100; bench/RESULTS.md, forty-ninth session); the
    // 256-token kernels' 4 level
    for (; h + DS_STAGES < H; h += DS_STAGES) {
        const unsigned ph = (unsigned)(h / DS_STAGES) & 1u;
#pragma unroll
        for (int u = 0; u < DS_STAGES; u++)
            DS_XSTEP(u & 1, (u + 1) & 1, u, u == 0 && h == 0, false, (u + 1) % DS_STAGES, ph ^ (unsigned)((u + 1) / DS_STAGES))
    }
#endif
    // (pairs, then an odd tail: a pair with its second step conditional made ptxas serialize, C7515)
    for (; h + 1 < H; h += 2) {
        DS_XSTEP_H(h, 0, 1)
        DS_XSTEP_H(h + 1, 1, 0)
    }
    if (h < H) DS_XSTEP_H(h, 0, 1)
#undef DS_XSTEP_H
#undef DS_XSTEP
    asm volatile("wgmma.wait_group.sync.aligned 0;\n" ::: "memory");
    ds_fence(d);
    ds_fence(cur[0]), ds_fence(cur[1]);
    if ((tid & 127) == 0) ds_bar_arrive(empty + (H - 1) % DS_STAGES);
#else
    // Stage s of the block's i-th k block (parity ph): its codes converted 64 k at a time while the 64 k before multiply
#define DS_KSTEP(i, s, ph)                                                                                         \
    {                                                                                                              \
        ds_bar_wait(full + (s), (ph));                                                                             \
        DS_TL(if (tid == 128 && (i) == 0) ds_tl_mark(tl, 2);)   /* first stage in */                               \
        const unsigned char *q = sm + (s) * DS_STAGE + DS_XB;                                                      \
        ds_conv_hf(cur[0], q, qo, 0, qsel);                                                                        \
        _Pragma("unroll") for (int hf = 0; hf < DS_BK / 64; hf++) {                                                \
            ds_mma64(d, cur[hf & 1], ds_sa(sm + (s) * DS_STAGE + hf * DS_XB64));                                   \
            if (hf + 1 < DS_BK / 64) {                                                                             \
                asm volatile("wgmma.wait_group.sync.aligned 1;\n" ::: "memory");                                   \
                ds_fence(d);                                                                                       \
                ds_fence(cur[(hf + 1) & 1]);   /* read by the wgmmas of hf - 1 until here */                       \
                ds_conv_hf(cur[(hf + 1) & 1], q, qo, hf + 1, qsel);                                                \
            }                                                                                                      \
        }                                                                                                          \
        asm volatile("wgmma.wait_group.sync.aligned 0;\n" ::: "memory");                                           \
        ds_fence(d);                                                                                               \
        ds_fence(cur[0]), ds_fence(cur[1]);                                                                        \
        if ((tid & 127) == 0) ds_bar_arrive(empty + (s));                                                          \
    }
    // Groups of DS_STAGES k blocks (stage indices known at compile time, as above: GELU-4096 int8 T = 2..16 0.3-0.7 us
    // faster, SwiGLU level), then the rest one by one
    int i = 0;
    for (; i + DS_STAGES <= kb1 - kb0; i += DS_STAGES) {
        const unsigned ph = (unsigned)(i / DS_STAGES) & 1u;
#pragma unroll
        for (int u = 0; u < DS_STAGES; u++) DS_KSTEP(i + u, u, ph)
    }
    for (; i < kb1 - kb0; i++) DS_KSTEP(i, i % DS_STAGES, (unsigned)(i / DS_STAGES) & 1u)
#undef DS_KSTEP
#endif
#endif
    DS_TL(if (tid == 128) ds_tl_mark(tl, 3);)   // last stage multiplied

    // Epilogue: scaled sums to shared memory as [token][row] (the stages are free once both warpgroups are here),
    // then each thread takes 4 rows of a token: (the cluster's sum,) bias, C, activation, one 4-element store.
    asm volatile("bar.sync 1, 256;\n" ::: "memory");
    float *os = reinterpret_cast<float *>(sm);
    const int f = cw * 64 + w4 * 16 + g;
#if DS_QUANT
    const float s0 = ds_to_f(scales[ds_wrow(n0, f) / DS_RPG]), s1 = ds_to_f(scales[ds_wrow(n0, f + 8) / DS_RPG]);
#else
    constexpr float s0 = 1.0f, s1 = 1.0f;
    (void)scales;
#endif
    const long long left = T - t0;
    const int nt = left < DS_TOK ? (int)left : DS_TOK;   // the tile's tokens below T (the rest are padding)
#pragma unroll
    for (int j = 0; j < DS_TOK / 8; j++) {
        if (8 * j >= nt) break;   // padding tokens are never summed nor stored
        const int tk = 8 * j + 2 * c;
        os[tk * DS_OR + f] = d[4 * j] * s0;
        os[(tk + 1) * DS_OR + f] = d[4 * j + 1] * s0;
        os[tk * DS_OR + f + 8] = d[4 * j + 2] * s1;
        os[(tk + 1) * DS_OR + f + 8] = d[4 * j + 3] * s1;
    }
    if (C > 1) ds_cluster_sync();   // every block's sums staged
    else asm volatile("bar.sync 1, 256;\n" ::: "memory");
    // This block's share of the tile's outputs: (token, 4 columns) items of the tokens below T, split evenly over the
    // cluster (a split by token slices left every block but the first idle at T < DS_TOK / S: at T = 8 in 64-token
    // tiles one block of seven summed all of the cluster's partial sums)
    constexpr int OC = DS_GATED ? DS_ROWS / 2 : DS_ROWS;           // output columns of the block
#if DS_TOK > 16
    const int items = nt * (OC / 4), i0 = items * zc / C, i1 = items * (zc + 1) / C;
#else
    // 16-token tiles (the int8 kernels, T >= 9 where split): token slices, as before (the even spread measured
    // 0.1-0.6 us slower for SwiGLU-4096 int8 at T = 9..16; bench/RESULTS.md, thirty-second session)
    const int i0 = (DS_TOK * zc / C) * (OC / 4), i1 = min(DS_TOK * (zc + 1) / C, nt) * (OC / 4);
#endif
    // the pair of blocks (group 0 and 1, rank zc) that own these items: the tile's partial sums, 128 floats a token
    const long long pair = ((long long)blockIdx.x * gridDim.y + blockIdx.y) * C + zc;
    float *pp = part + ((long long)blockIdx.x * gridDim.y + blockIdx.y) * (DS_TOK * 128LL);
    // The step's epilogue on the tile's summed item (token tk, columns r4..r4 + 3): gated, (up + bias) * act(gate + bias).
    // Its inputs (bias and C; gated: the up and gate biases) are read apart (item_in) so that the serial split's tail
    // can read them with its parts.
    struct ds_item_in { ds_epi_in e[4]; };
    auto item_in = [&](int tk, int r4) {
        const ds_i64 t = (ds_i64)t0 + tk, col = (DS_GATED ? (ds_i64)n0 / 2 : (ds_i64)n0) + r4;
        ds_item_in in;
#pragma unroll
        for (int j = 0; j < 4; j++) {
#if DS_GATED
            in.e[j].b = in.e[j].c = 0.0f;
#if DS_HAS_BIAS
            in.e[j].b = ds_to_f(bias[col + j]), in.e[j].c = ds_to_f(bias[DS_N / 2 + col + j]);   // up's, gate's
#endif
            (void)t, (void)col;
#else
            in.e[j] = ds_epi_load(bias, cin, t, col + j);
#endif
        }
        return in;
    };
    auto finish_in = [&](float4 v, float4 g, int tk, int r4, const ds_item_in &in) {
        const ds_i64 t = (ds_i64)t0 + tk, col = (DS_GATED ? (ds_i64)n0 / 2 : (ds_i64)n0) + r4;
#if DS_GATED
        const float up[4] = {v.x, v.y, v.z, v.w}, gate[4] = {g.x, g.y, g.z, g.w};
        float o[4];
#pragma unroll
        for (int j = 0; j < 4; j++) {
#if DS_HAS_BIAS
            o[j] = (up[j] + in.e[j].b) * DS_GACT(gate[j] + in.e[j].c);
#else
            o[j] = up[j] * DS_GACT(gate[j]);
#endif
        }
#else
        (void)g;
        float o[4] = {ds_epi_apply(v.x, in.e[0]), ds_epi_apply(v.y, in.e[1]), ds_epi_apply(v.z, in.e[2]),
                      ds_epi_apply(v.w, in.e[3])};
#endif
        ds_store<4>(d_out + t * DS_NO + col, o);
    };
    auto finish = [&](float4 v, float4 g, int tk, int r4) { finish_in(v, g, tk, r4, item_in(tk, r4)); };
#if DS_TOK <= DS_SERIAL_MAX_TOK
    // The <= 32-token tails read a thread's items' epilogue inputs before they sum or store any: one L2 round trip for
    // all of them, not one an item. A thread's items at most (256 threads; an item: a token's 4 columns):
    constexpr int NJ = (DS_TOK * (OC / 4) + 255) / 256;
#endif
    const float4 zero4 = make_float4(0.f, 0.f, 0.f, 0.f);
#if DS_QUANT && DS_TOK <= DS_SERIAL_MAX_TOK   // (the <= 32-token code kernels only: exec_mixed.c takes it for them)
    if (C == 1 && S > 1) {
        // A k split without clusters (C = 1; exec_mixed.c): every block of the tile pushes its staged sums (its nt
        // tokens x 128 rows) to part[tile][z] and counts itself in (flag[tile]); the last of the tile's S blocks sums
        // the S parts in block order (the same order whichever block is last) and applies the epilogue. No block waits
        // for another and no cluster has to fit a GPC: GELU-4096's second GEMM (32 tiles) streams as its first does,
        // where clusters of 7 cost it 3-4 us (bench/RESULTS.md, seventy-second session).
        __shared__ int ds_last;
        const long long tile = (long long)blockIdx.x * gridDim.y + blockIdx.y;
        float *pt = part + tile * S * (DS_TOK * 128LL);
        for (int i = tid - 128; i < nt * 32; i += 256) {   // 32 float4 a token
            const int tk = i >> 5, r4 = (i & 31) * 4;
            __stcg(reinterpret_cast<float4 *>(pt + z * (DS_TOK * 128LL) + tk * 128 + r4),
                   *reinterpret_cast<const float4 *>(os + tk * DS_OR + r4));
        }
        asm volatile("bar.sync 1, 256;\n" ::: "memory");
        if (tid == 128) {
            __threadfence();
            ds_last = atomicAdd(flag + tile, 1u) == (unsigned)S - 1;
            if (ds_last) {
                __threadfence();
                flag[tile] = 0;   // for the next launch (its blocks count themselves in after ds_wait_prerequisites)
            }
        }
        asm volatile("bar.sync 1, 256;\n" ::: "memory");
        if (ds_last) {
            // The last block reads all of a thread's items (NJ at most) at once: their parts, four (or two) at a
            // time, and their epilogue inputs, then sums each item's parts in block order as before (the same bits).
            // An item at a time paid two L2 round trips per item, the parts and then bias and C (GELU-4096's second
            // GEMM at T = 16: 31.5 -> 30.6 us under ncu on an H100, bench/RESULTS.md seventy-fourth session).
            constexpr int RB = DS_GATED && DS_MINB > 1 ? 2 : 4;   // parts a round (4 spilled the gated 80-register kernels)
            const int items = nt * (OC / 4);
            float4 v[NJ], g[NJ];
            ds_item_in in[NJ];
#pragma unroll
            for (int j = 0; j < NJ; j++) {   // (one loop with the zeroing: ptxas schedules the gated kernels as measured)
                const int i = tid - 128 + 256 * j;
                v[j] = g[j] = zero4;
                if (i < items) in[j] = item_in(i / (OC / 4), (i % (OC / 4)) * 4);
            }
            for (int r0 = 0; r0 < S; r0 += RB) {
                float4 u[NJ][RB];
#if DS_GATED
                float4 h[NJ][RB];
#endif
#pragma unroll
                for (int j = 0; j < NJ; j++)
#pragma unroll
                    for (int r = 0; r < RB; r++) {
                        const int i = tid - 128 + 256 * j;
                        u[j][r] = zero4;
#if DS_GATED
                        h[j][r] = zero4;
#endif
                        if (i < items && r0 + r < S) {
                            const float *q = pt + (r0 + r) * (DS_TOK * 128LL) + (i / (OC / 4)) * 128 + (i % (OC / 4)) * 4;
                            u[j][r] = __ldcg(reinterpret_cast<const float4 *>(q));
#if DS_GATED
                            h[j][r] = __ldcg(reinterpret_cast<const float4 *>(q + 64));
#endif
                        }
                    }
#pragma unroll
                for (int j = 0; j < NJ; j++)
#pragma unroll
                    for (int r = 0; r < RB; r++)
                        if (r0 + r < S) {
                            v[j].x += u[j][r].x, v[j].y += u[j][r].y, v[j].z += u[j][r].z, v[j].w += u[j][r].w;
#if DS_GATED
                            g[j].x += h[j][r].x, g[j].y += h[j][r].y, g[j].z += h[j][r].z, g[j].w += h[j][r].w;
#endif
                        }
            }
#pragma unroll
            for (int j = 0; j < NJ; j++) {
                const int i = tid - 128 + 256 * j;
                if (i < items) finish_in(v[j], g[j], i / (OC / 4), (i % (OC / 4)) * 4, in[j]);
            }
        }
    } else
#endif
    if (S > C && grp == 1) {
        // group 1: its cluster's sums of its items first (held in registers: at most DS_TOK / 16 items a thread with
        // clusters of 2 or more), then group 0's, pushed meanwhile
        constexpr int NJ = DS_GATED ? (DS_TOK >= 32 ? DS_TOK / 32 : 1) : DS_TOK / 16;
        float4 av[NJ], ag[NJ];
#pragma unroll
        for (int j = 0; j < NJ; j++) {
            const int i = tid - 128 + i0 + 256 * j, tk = i / (OC / 4), r4 = (i % (OC / 4)) * 4;
            av[j] = ag[j] = zero4;
            if (i < i1) {
                av[j] = ds_cluster_sum(os + tk * DS_OR + r4, C);
#if DS_GATED
                ag[j] = ds_cluster_sum(os + tk * DS_OR + 64 + r4, C);
#endif
            }
        }
        if (tid == 128) {
            unsigned v;
            for (;;) {
                asm volatile("ld.acquire.gpu.global.u32 %0, [%1];\n" : "=r"(v) : "l"(flag + pair) : "memory");
                if (v) break;
                __nanosleep(64);
            }
        }
        asm volatile("bar.sync 1, 256;\n" ::: "memory");
#pragma unroll
        for (int j = 0; j < NJ; j++) {
            const int i = tid - 128 + i0 + 256 * j, tk = i / (OC / 4), r4 = (i % (OC / 4)) * 4;
            if (i >= i1) break;
            const float4 *q = reinterpret_cast<const float4 *>(pp + tk * 128 + r4);
            float4 v = av[j], g = ag[j];
            const float4 u = __ldcg(q);
            v.x += u.x, v.y += u.y, v.z += u.z, v.w += u.w;
#if DS_GATED
            const float4 h = __ldcg(q + 16);
            g.x += h.x, g.y += h.y, g.z += h.z, g.w += h.w;
#endif
            finish(v, g, tk, r4);
        }
    }
#if DS_TOK <= DS_SERIAL_MAX_TOK
    else if (C == 1 && S == 1) {
        // Unsplit: the items' epilogue inputs first
        ds_item_in in[NJ];
#pragma unroll
        for (int j = 0; j < NJ; j++) {
            const int i = tid - 128 + i0 + 256 * j;
            if (i < i1) in[j] = item_in(i / (OC / 4), (i % (OC / 4)) * 4);
        }
#pragma unroll
        for (int j = 0; j < NJ; j++) {
            const int i = tid - 128 + i0 + 256 * j, tk = i / (OC / 4), r4 = (i % (OC / 4)) * 4;
            if (i >= i1) break;
            const float4 v = ds_cluster_sum(os + tk * DS_OR + r4, 1);
#if DS_GATED
            const float4 g = ds_cluster_sum(os + tk * DS_OR + 64 + r4, 1);
#else
            const float4 g = zero4;
#endif
            finish_in(v, g, tk, r4, in[j]);
        }
    }
#endif
    else {
        for (int i = tid - 128 + i0; i < i1; i += 256) {
            const int tk = i / (OC / 4), r4 = (i % (OC / 4)) * 4;
            const float4 v = ds_cluster_sum(os + tk * DS_OR + r4, C);
#if DS_GATED
            const float4 g = ds_cluster_sum(os + tk * DS_OR + 64 + r4, C);
#else
            const float4 g = zero4;
#endif
            if (S > C) {   // group 0: push; group 1's block zc adds these
                float4 *q = reinterpret_cast<float4 *>(pp + tk * 128 + r4);
                __stcg(q, v);
#if DS_GATED
                __stcg(q + 16, g);
#endif
                continue;
            }
            finish(v, g, tk, r4);
        }
    }
    if (S > C && C > 1) {   // two groups (C = 1: the k split above, whose last block summed)
        asm volatile("bar.sync 1, 256;\n" ::: "memory");   // group 0: every item pushed; group 1: every item read
        if (tid == 128) {
            if (grp == 0) {
                __threadfence();
                asm volatile("st.release.gpu.global.u32 [%0], %1;\n" ::"l"(flag + pair), "r"(1u) : "memory");
            } else {
                flag[pair] = 0;   // for the next launch (whose consumers touch flags after ds_wait_prerequisites)
            }
        }
    }
    if (C > 1) ds_cluster_sync();   // no block leaves while another still reads its shared memory
    DS_TL(if (tid == 128) ds_tl_end(tl);)
}
