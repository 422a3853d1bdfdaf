// common.cuh — helpers every dsmlp kernel shares; the emitter inlines this
// file so NVRTC gets one self-contained source (plus cuda_fp16/cuda_bf16).
// Arithmetic is fp32 with the accurate math library (no fast-math), but for GELU's and SiLU's sigmoid: one exp2
// and one reciprocal of the special-function unit (2 and 1 ulp).
#include <cuda_fp16.h>
#include <cuda_bf16.h>

typedef long long ds_i64;

__device__ __forceinline__ float ds_to_f(float x) { return x; }
__device__ __forceinline__ float ds_to_f(__half x) { return __half2float(x); }
__device__ __forceinline__ float ds_to_f(__nv_bfloat16 x) { return __bfloat162float(x); }
__device__ __forceinline__ float ds_to_f(signed char x) { return (float)x; }
// fp8 e4m3 weights (weight-only): bias 7, no infinities, S.1111.111 is NaN. Decoded exactly on any arch
// (the stream kernels use sm_89's cvt.rn.f16x2.e4m3x2 instead): the code's exponent and mantissa moved
// into an f16's are the value times 2^-8 (bias 15 against 7), subnormals included (they become f16
// normals or keep f16's subnormal grid); one shift and a multiply by 256 instead of the branches that
// made the main route's fp8 dequant kernel ~1.5x slower than int8's (RESULTS.md, thirteenth session).
struct ds_e4m3 { unsigned char bits; };
__device__ __forceinline__ float ds_to_f(ds_e4m3 x)
{
    const unsigned b = x.bits;
    const float v = __half2float(__ushort_as_half((unsigned short)(((b & 0x80u) << 8) | ((b & 0x7fu) << 7)))) * 256.0f;
    return (b & 0x7fu) == 0x7fu ? __uint_as_float(0x7fc00000u) : v;   // NaN (f16 would read 1.875 * 256)
}

// Two fp8 e4m3 codes (low byte first) as an exact f16 pair in one instruction, sm_89+ (the decode GEMV, the W rings
// and the mixed-input GEMMs on fp8 codes; the host simulation has its own, test_plan_sim_shim.h).
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 890
__device__ __forceinline__ unsigned ds_fp8x2_to_h2(unsigned short v)
{
    unsigned r;
    asm("{ .reg .b16 t; mov.b16 t, %1; cvt.rn.f16x2.e4m3x2 %0, t; }\n" : "=r"(r) : "h"(v));
    return r;
}
#endif

template <typename T> __device__ __forceinline__ T ds_from_f(float x);
template <> __device__ __forceinline__ float ds_from_f<float>(float x) { return x; }
template <> __device__ __forceinline__ __half ds_from_f<__half>(float x) { return __float2half_rn(x); }
template <> __device__ __forceinline__ __nv_bfloat16 ds_from_f<__nv_bfloat16>(float x) { return __float2bfloat16_rn(x); }

// Activations (spec 4.7): tanh-GELU and erf-GELU are distinct functions.
// 2^x and 1/x on the special-function unit (2 and 1 ulp; host builds, the plan simulator's, use the library)
__device__ __forceinline__ float ds_exp2_sfu(float x)
{
#ifdef __CUDA_ARCH__
    float r;
    asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(r) : "f"(x));
    return r;
#else
    return exp2f(x);
#endif
}
__device__ __forceinline__ float ds_rcp_sfu(float x)
{
#ifdef __CUDA_ARCH__
    float r;
    asm("rcp.approx.ftz.f32 %0, %1;" : "=f"(r) : "f"(x));
    return r;
#else
    return 1.0f / x;
#endif
}
// 0.5 x (1 + tanh(u)) as x sigmoid(2u), u = sqrt(2/pi) (x + 0.044715 x^3): one exp2 and one reciprocal (~9
// instructions against tanhf's ~30, which the GEMM epilogues spend per output; no cancellation for x < 0, where
// 1 + tanh(u) loses digits). e = 2^(-2u log2 e): inf for u < -44, and x / inf = -0, as GELU's tiny negative values.
__device__ __forceinline__ float ds_gelu_tanh(float x)
{
    const float e = ds_exp2_sfu(-2.302208198144325f * (x + 0.044715f * x * x * x));
    return x * ds_rcp_sfu(1.0f + e);
}
__device__ __forceinline__ float ds_gelu_erf(float x) { return 0.5f * x * (1.0f + erff(x * 0.7071067811865476f)); }
__device__ __forceinline__ float ds_relu(float x) { return x < 0.0f ? 0.0f : x; }  // NaN passes through
__device__ __forceinline__ float ds_silu(float x) { return x * ds_rcp_sfu(1.0f + ds_exp2_sfu(-1.4426950408889634f * x)); }

// One memory access of N elements (N * sizeof(T) <= 16 bytes, pointer aligned
// to that size): 16-byte accesses when the emitter could prove alignment.
template <int BYTES> struct ds_raw;
template <> struct ds_raw<16> { typedef uint4 t; };
template <> struct ds_raw<8> { typedef uint2 t; };
template <> struct ds_raw<4> { typedef unsigned int t; };
template <> struct ds_raw<2> { typedef unsigned short t; };
template <> struct ds_raw<1> { typedef unsigned char t; };

template <int N, typename T>
__device__ __forceinline__ void ds_load(const T *p, float (&v)[N])
{
    typedef typename ds_raw<N * sizeof(T)>::t R;
    alignas(N * sizeof(T)) T e[N];
    *reinterpret_cast<R *>(e) = *reinterpret_cast<const R *>(p);
#pragma unroll
    for (int j = 0; j < N; j++) v[j] = ds_to_f(e[j]);
}

template <int N, typename T>
__device__ __forceinline__ void ds_store(T *p, const float (&v)[N])
{
    typedef typename ds_raw<N * sizeof(T)>::t R;
    alignas(N * sizeof(T)) T e[N];
#pragma unroll
    for (int j = 0; j < N; j++) e[j] = ds_from_f<T>(v[j]);
    *reinterpret_cast<R *>(p) = *reinterpret_cast<const R *>(e);
}

// Timelines (measurements only: -DDSMLP_TIMELINE=N builds, where the emitter defines DS_TIMELINE N before this
// file): every block of a module's N-th launch keeps its times on the global nanosecond timer (one clock for all
// SMs) in the module's ds_tl_rec; the runtime prints them when it unloads the module (exec_timeline.c), so no kernel
// calls printf (a call would serialize its wgmmas). bench/timeline.py reads the lines. A kernel takes tl =
// ds_tl_begin() at its start, may mark times 1..3 (ds_tl_mark), and one thread ends it (ds_tl_end), all inside
// DS_TL(...), which is empty in other builds. (The W ring's trace, stream.cu, uses the same clock and SM id.)
#define DS_TL_MAX 1024   // blocks recorded per launch
#define DS_TL_N 5        // times per block: start, (mixed kernels: copies may start, first stage in, last stage
                         // multiplied), end
#ifndef DS_TIMELINE
#define DS_TIMELINE 0
#endif
#ifdef __CUDA_ARCH__
__device__ __forceinline__ unsigned long long ds_tl_now()
{
    unsigned long long t;
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
    return t;
}
__device__ __forceinline__ unsigned ds_tl_sm()
{
    unsigned s;
    asm volatile("mov.u32 %0, %%smid;" : "=r"(s));
    return s;
}
#endif
#if DS_TIMELINE && defined(__CUDA_ARCH__)
__device__ unsigned ds_tl_launch;   // this module's launches so far (the last block of each to end counts it:
                                    // a kernel of more blocks than fit at once starts some after block 0 ended)
__device__ unsigned ds_tl_ended;    // blocks of the current launch that ended
__device__ unsigned long long ds_tl_rec[DS_TL_MAX][DS_TL_N];
__device__ unsigned ds_tl_sms[DS_TL_MAX], ds_tl_blocks;   // each block's SM; blocks in launch N
struct ds_tl_blk {
    unsigned long long t0;
    unsigned block;
    bool rec;   // a block of launch N, within DS_TL_MAX
};
__device__ __forceinline__ ds_tl_blk ds_tl_begin()
{
    const unsigned b = blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z);
    return {ds_tl_now(), b, *(volatile unsigned *)&ds_tl_launch == DS_TIMELINE && b < DS_TL_MAX};
}
__device__ __forceinline__ void ds_tl_mark(const ds_tl_blk &t, int i)
{
    if (t.rec) ds_tl_rec[t.block][i] = ds_tl_now();
}
__device__ __forceinline__ void ds_tl_end(const ds_tl_blk &t)
{
    if (t.rec) {
        ds_tl_rec[t.block][0] = t.t0, ds_tl_rec[t.block][4] = ds_tl_now(), ds_tl_sms[t.block] = ds_tl_sm();
        if (t.block == 0) ds_tl_blocks = gridDim.x * gridDim.y * gridDim.z;
    }
    __threadfence();
    if (atomicAdd(&ds_tl_ended, 1u) == gridDim.x * gridDim.y * gridDim.z - 1) {   // every block has begun
        ds_tl_ended = 0;
        __threadfence();
        atomicAdd(&ds_tl_launch, 1u);
    }
}
#define DS_TL(...) __VA_ARGS__
#else
#define DS_TL(...)
#endif

// Two int8 codes as an exact bf16 pair: p holds them in bytes 0 and 2 with 0x43 above each ([q, 0x43]). With q's bit
// 7 cleared that is bf16 128 + (q & 127); with only bit 7 kept, 128 or 256 (the bit is the exponent's lowest): their
// difference is q, exact (an integer of at most 8 significant bits). (The mixed-input GEMMs and the W rings.)
__device__ __forceinline__ unsigned ds_i8x2_bf16(unsigned p)
{
    unsigned r;
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    asm("sub.rn.bf16x2 %0, %1, %2;\n" : "=r"(r) : "r"(p & 0xff7fff7fu), "r"(p & 0xff80ff80u));
#elif defined(__CUDA_ARCH__)   // sub.bf16x2 needs sm_90: an fma by 1 with the second negated
    asm("fma.rn.bf16x2 %0, %1, %2, %3;\n" : "=r"(r) : "r"(p & 0xff7fff7fu), "r"(0x3f803f80u), "r"((p & 0xff80ff80u) ^ 0x80008000u));
#else   // the host simulation (test_plan_sim): the same exact differences through fp32
    const unsigned a = p & 0xff7fff7fu, b = p & 0xff80ff80u;
    const float lo = __uint_as_float((a & 0xffffu) << 16) - __uint_as_float((b & 0xffffu) << 16),
                hi = __uint_as_float(a & 0xffff0000u) - __uint_as_float(b & 0xffff0000u);
    r = (__float_as_uint(lo) >> 16) | (__float_as_uint(hi) & 0xffff0000u);
#endif
    return r;
}

// Programmatic dependent launch: a kernel launched after this one with the PDL attribute may start now (it waits,
// griddepcontrol.wait, for this grid's completion before reading what this grid writes). No-op before sm_90 or
// without such a dependent; one thread of a block suffices.
__device__ __forceinline__ void ds_dependents_may_start()
{
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
#endif
}
__device__ __forceinline__ void ds_wait_prerequisites()
{
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
}
#ifdef __CUDA_ARCH__
// A load through L2 (ld.global.cg), not L1's copy: what other blocks of this grid wrote (split partial sums, tile
// parts). The host simulation has its own (test_plan_sim_shim.h).
template <typename T> __device__ __forceinline__ T ds_ldcg(const T *p) { return __ldcg(p); }
#endif
// Asks L2 for the 128-byte line holding p (no register, no wait): the decode GEMVs' and the mixed-input kernels' weight
// lines at entry. The host simulation records it (test_plan_sim_shim.h ds_sim_prefetch).
__device__ __forceinline__ void ds_prefetch_l2(const void *p)
{
#ifdef __CUDA_ARCH__
    asm volatile("prefetch.global.L2 [%0];" ::"l"(p));
#elif defined(DS_SIM)
    ds_sim_prefetch(p);
#else
    (void)p;
#endif
}

__device__ __forceinline__ float ds_warp_sum(float x)
{
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) x += __shfl_xor_sync(0xffffffffu, x, o);
    return x;
}

// Sum over the block; every thread gets the same value (fixed order).
__device__ __forceinline__ float ds_block_sum(float x, float *red)
{
    x = ds_warp_sum(x);
    __syncthreads();  // red may still be read by a previous call
    if ((threadIdx.x & 31) == 0) red[threadIdx.x >> 5] = x;
    __syncthreads();
    float t = 0.0f;
    for (int w = 0; w < (int)(blockDim.x >> 5); w++) t += red[w];
    return t;
}
