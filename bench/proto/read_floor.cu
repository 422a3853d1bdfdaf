// read_floor.cu — how long a pure read of a block's weight bytes takes when timed as dsmlp-bench times a block
// (a CUDA graph replayed, events around each replay, the median), against the floor dsmlp-bench and issue 10 use
// (bytes / the best rate of one 1 GiB read). Kernels read every byte once with 16-byte loads and fold it into one
// word (so nothing is dead code); no arithmetic, no norm, no epilogue: no kernel that streams these bytes can be
// faster in the same form. Forms: one kernel for all the block's bytes, or one kernel a GEMM as the block runs them.
// Build: nvcc -O3 -std=c++17 -arch=sm_90 -o build-gpu/bin/s52/read_floor bench/proto/read_floor.cu
// Run:   read_floor            (prints one line per case; ~20 s on an H200)
#include <cstdio>
#include <vector>
#include <algorithm>
#include <cuda_runtime.h>

#define CK(x) do { cudaError_t e_ = (x); if (e_ != cudaSuccess) { printf("%s: %s\n", #x, cudaGetErrorString(e_)); return 1; } } while (0)

template <bool EF> __device__ __forceinline__ uint4 ld16(const uint4 *p)
{
    uint4 r;
    if (EF) {   // as the decode GEMV loads its weights (templates/gemv.cu ds_ldw_ef)
        unsigned long long pol;
        asm("createpolicy.fractional.L2::evict_first.b64 %0, 1.0;" : "=l"(pol));
        asm volatile("ld.global.nc.L1::no_allocate.L2::cache_hint.v4.u32 {%0,%1,%2,%3}, [%4], %5;"
                     : "=r"(r.x), "=r"(r.y), "=r"(r.z), "=r"(r.w) : "l"(p), "l"(pol));
    } else {
        asm volatile("ld.global.nc.L1::no_allocate.v4.u32 {%0,%1,%2,%3}, [%4];"
                     : "=r"(r.x), "=r"(r.y), "=r"(r.z), "=r"(r.w) : "l"(p));
    }
    return r;
}

// Grid-stride, U loads in flight a thread; a warp instruction covers 512 contiguous bytes.
template <int U, bool EF> __global__ void rd(const uint4 *w, long long n16, unsigned *sink)
{
    unsigned acc = 0;
    const long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n16; i += stride * U) {
        uint4 v[U];
#pragma unroll
        for (int u = 0; u < U; u++) v[u] = i + u * stride < n16 ? ld16<EF>(w + i + u * stride) : make_uint4(0, 0, 0, 0);
#pragma unroll
        for (int u = 0; u < U; u++) acc ^= v[u].x ^ v[u].y ^ v[u].z ^ v[u].w;
    }
    if (acc == 0x12345678u) sink[0] = acc;
}

typedef void (*rd_fn)(const uint4 *, long long, unsigned *);
struct form { const char *name; rd_fn fn; int blocks_per_sm; };

static int sms;
static unsigned *sink;

// Median µs of 101 replays of a graph that runs `fn` once over each of the n pieces (bytes[i] from base[i]), each
// replay between its own events and synchronized, as bench/bench_main.c times a block (proto_cuda.cuh's time_graph
// times five back-to-back replays, which hides the gap between them; it also needs cuBLASLt).
static int time_graph(const form &f, int n, char *const *base, const long long *bytes, double *us)
{
    cudaStream_t s;
    CK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    cudaGraph_t g;
    cudaGraphExec_t ge;
    CK(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal));
    for (int i = 0; i < n; i++)
        f.fn<<<sms * f.blocks_per_sm, 256, 0, s>>>((const uint4 *)base[i], bytes[i] / 16, sink);
    CK(cudaStreamEndCapture(s, &g));
    CK(cudaGraphInstantiate(&ge, g, 0));
    cudaEvent_t e0, e1;
    CK(cudaEventCreate(&e0));
    CK(cudaEventCreate(&e1));
    for (int r = 0; r < 10; r++) CK(cudaGraphLaunch(ge, s));
    std::vector<float> t;
    for (int r = 0; r < 101; r++) {
        CK(cudaEventRecord(e0, s));
        CK(cudaGraphLaunch(ge, s));
        CK(cudaEventRecord(e1, s));
        CK(cudaEventSynchronize(e1));
        float ms;
        CK(cudaEventElapsedTime(&ms, e0, e1));
        t.push_back(ms * 1e3f);
    }
    std::sort(t.begin(), t.end());
    *us = t[t.size() / 2];
    cudaGraphExecDestroy(ge), cudaGraphDestroy(g), cudaEventDestroy(e0), cudaEventDestroy(e1), cudaStreamDestroy(s);
    return 0;
}

int main()
{
    cudaDeviceProp pr;
    CK(cudaGetDeviceProperties(&pr, 0));
    sms = pr.multiProcessorCount;
    printf("card: %s, %d SMs, L2 %d MiB\n", pr.name, sms, pr.l2CacheSize >> 20);
    const long long GIB = 1LL << 30, MIB = 1LL << 20;
    char *buf;
    CK(cudaMalloc(&buf, GIB + 64 * MIB));
    CK(cudaMalloc(&sink, 64));
    CK(cudaMemset(buf, 0x3c, GIB + 64 * MIB));

    // The floor's rate, as bench/bench_read.c measures it: best of 10 single launches over 1 GiB.
    double rate = 0;
    {
        cudaEvent_t e0, e1;
        CK(cudaEventCreate(&e0));
        CK(cudaEventCreate(&e1));
        for (int r = 0; r < 12; r++) {
            CK(cudaEventRecord(e0));
            rd<4, false><<<sms * 8, 256>>>((const uint4 *)buf, GIB / 16, sink);
            CK(cudaEventRecord(e1));
            CK(cudaEventSynchronize(e1));
            float ms;
            CK(cudaEventElapsedTime(&ms, e0, e1));
            if (r >= 2) rate = std::max(rate, GIB / (ms * 1e-3));
        }
    }
    printf("read-stream rate (1 GiB, best of 10): %.3f TB/s\n", rate / 1e12);

    const form forms[] = {
        {"U4 8 blocks/SM", rd<4, false>, 8}, {"U8 8 blocks/SM", rd<8, false>, 8},
        {"U4 8 blocks/SM evict-first", rd<4, true>, 8}, {"U16 2 blocks/SM evict-first", rd<16, true>, 2},
        {"U8 4 blocks/SM evict-first", rd<8, true>, 4},
    };
    struct blk { const char *name; long long w1, w2, f16_total; };
    const long long h = 4096;
    const blk blocks[] = {
        {"GELU-4096 int8", h * 16384, 16384 * h, 2 * 2 * h * 16384},
        {"SwiGLU-4096 int8", 2 * 14336 * h, h * 14336, 2 * 3 * h * 14336},
        {"GELU-4096 f16", 2 * h * 16384, 2 * 16384 * h, 2 * 2 * h * 16384},
        {"SwiGLU-4096 bf16", 2 * 2 * 14336 * h, 2 * h * 14336, 2 * 3 * h * 14336},
    };
    for (const blk &b : blocks) {
        const double floor16 = b.f16_total / rate * 1e6, floor = (b.w1 + b.w2) / rate * 1e6;
        printf("\n%s: %.1f MiB; its floor %.2f us; the f16 block's floor %.2f us, issue 10's T <= 16 goal (0.60x) %.2f us\n",
               b.name, (b.w1 + b.w2) / (double)MIB, floor, floor16, 0.6 * floor16);
        for (const form &f : forms) {
            char *one[1] = {buf}, *two[2] = {buf, buf + b.w1};
            const long long all[1] = {b.w1 + b.w2}, each[2] = {b.w1, b.w2};
            double u1, u2;
            if (time_graph(f, 1, one, all, &u1) || time_graph(f, 2, two, each, &u2)) return 1;
            printf("  %-30s one kernel %7.2f us (%.2f TB/s, %.3fx floor)   a kernel a GEMM %7.2f us (%.2f TB/s, %.3fx floor)\n",
                   f.name, u1, (b.w1 + b.w2) / u1 / 1e6, u1 / floor, u2, (b.w1 + b.w2) / u2 / 1e6, u2 / floor);
        }
    }
    return 0;
}
