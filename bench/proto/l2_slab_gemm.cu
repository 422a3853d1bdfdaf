// l2_slab_gemm.cu — measurement only (not part of dsmlp): can the main route's int8 GEMMs at large T avoid the
// whole dequantized f16 copy per run (issue 10: T >= 1024 int8 <= 1.05x f16) by dequantizing a slab of the weight
// at a time into a buffer that stays in L2, and multiplying each slab as it is made?
//
//   f16     GEMM1 and GEMM2 on f16 weights (the f16 block's GEMMs)
//   whole   dequantize all of W1, GEMM1, all of W2, GEMM2 (what main runs)
//   slab    GEMM1 in slabs of its output rows (N), GEMM2 in slabs of its k with an f32 accumulator (full N keeps
//           every GEMM's tile count; an earlier N-slab GEMM2 left 32 of 132 SMs busy), one stream
//   overlap the same with each slab's dequant on a second stream, one slab ahead (double buffer)
//   n2      slabs along N for both GEMMs (no accumulator; for large T, where the accumulator leaves L2)
// Each variant is captured into a CUDA graph and timed over replays (median of 30 runs of 5 replays). GELU-4096
// shapes: H = 4096, I = 16384; per-row f32 scales; x, W random.
//
//   nvcc -O2 -std=c++17 -arch=sm_90 bench/proto/l2_slab_gemm.cu -lcublasLt -o l2_slab_gemm && ./l2_slab_gemm 1024
#include "proto_cuda.cuh"

static const long H = 4096, I = 16384;

// out[r, c] = s[r0 + r] * q[(r0 + r) * ld + c0 + c] for r < rows (grid.y), c < cols (8 codes per thread: one 16-byte
// store); no index division
__global__ void deq(__half *out, const signed char *q, const float *s, long r0, long c0, long cols, long ld)
{
    const long r = blockIdx.y;
    for (long c = (blockIdx.x * (long)blockDim.x + threadIdx.x) * 8; c < cols; c += (long)gridDim.x * blockDim.x * 8) {
        uint2 raw = *reinterpret_cast<const uint2 *>(q + (r0 + r) * ld + c0 + c);
        const signed char *b = reinterpret_cast<const signed char *>(&raw);
        float sc = s[r0 + r];
        alignas(16) __half h[8];
        for (int j = 0; j < 8; j++) h[j] = __float2half_rn((float)b[j] * sc);
        *reinterpret_cast<uint4 *>(out + r * cols + c) = *reinterpret_cast<uint4 *>(h);
    }
}

__global__ void to_half(__half *y, const float *acc, long n)
{
    for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x) y[i] = __float2half_rn(acc[i]);
}

static void deq_launch(cudaStream_t st, __half *out, const signed char *q, const float *s, long r0, long c0, long rows, long cols, long ld)
{
    dim3 grid((unsigned)((cols / 8 + 255) / 256), (unsigned)rows);
    deq<<<grid, 256, 0, st>>>(out, q, s, r0, c0, cols, ld);
}

struct bufs {
    long T;
    __half *x, *w1, *w2, *h, *y, *slab[2];
    signed char *q1, *q2;
    float *s1, *s2, *acc;
};

enum mode { F16, WHOLE, SLAB, OVERLAP, N2, DEQ_ONLY, GEMM_ONLY };

// enqueues one block's GEMMs (no epilogues) the given way; ns: slab rows of GEMM1 (and of GEMM2 for N2), ks: slab k of GEMM2
static void enqueue(const bufs &b, mode md, long ns, long ks, cudaStream_t s0, cudaStream_t s1, cudaEvent_t *ev)
{
    const long T = b.T;
    if (md == F16) {
        gemm(s0, b.w1, H, b.x, H, b.h, I, CUDA_R_16F, I, T, H, 0);
        gemm(s0, b.w2, I, b.h, I, b.y, H, CUDA_R_16F, H, T, I, 0);
        return;
    }
    if (md == WHOLE) {
        deq_launch(s0, b.w1, b.q1, b.s1, 0, 0, I, H, H);
        gemm(s0, b.w1, H, b.x, H, b.h, I, CUDA_R_16F, I, T, H, 0);
        deq_launch(s0, b.w2, b.q2, b.s2, 0, 0, H, I, I);
        gemm(s0, b.w2, I, b.h, I, b.y, H, CUDA_R_16F, H, T, I, 0);
        return;
    }
    // slab jobs: GEMM1 row slabs, then GEMM2 k slabs (or row slabs for N2)
    struct job { int g; long off, len; };
    std::vector<job> jobs;
    for (long r = 0; r < I; r += ns) jobs.push_back({1, r, std::min(ns, I - r)});
    if (md == N2) for (long r = 0; r < H; r += ns) jobs.push_back({2, r, std::min(ns, H - r)});
    else for (long k = 0; k < I; k += ks) jobs.push_back({2, k, std::min(ks, I - k)});
    auto make = [&](cudaStream_t st, const job &j, __half *dst) {
        if (j.g == 1) deq_launch(st, dst, b.q1, b.s1, j.off, 0, j.len, H, H);
        else if (md == N2) deq_launch(st, dst, b.q2, b.s2, j.off, 0, j.len, I, I);
        else deq_launch(st, dst, b.q2, b.s2, 0, j.off, H, j.len, I);
    };
    int n2first = 1;
    auto mult = [&](cudaStream_t st, const job &j, const __half *src) {
        if (j.g == 1) gemm(st, src, H, b.x, H, b.h + j.off, I, CUDA_R_16F, j.len, T, H, 0);
        else if (md == N2) gemm(st, src, I, b.h, I, b.y + j.off, H, CUDA_R_16F, j.len, T, I, 0);
        else { gemm(st, src, j.len, b.h + j.off, I, b.acc, H, CUDA_R_32F, H, T, j.len, n2first ? 0.0f : 1.0f); n2first = 0; }
    };
    if (md == OVERLAP) {
        // s1 makes slab i into slab[i % 2] once s0 has finished multiplying slab i - 2; s0 multiplies after it is made
        cudaEventRecord(ev[0], s0);
        cudaStreamWaitEvent(s1, ev[0], 0);
        for (size_t i = 0; i < jobs.size(); i++) {
            if (i >= 2) cudaStreamWaitEvent(s1, ev[2 + (i - 2) % 2], 0);   // slab buffer free again
            make(s1, jobs[i], b.slab[i % 2]);
            cudaEventRecord(ev[4 + i % 2], s1);
            cudaStreamWaitEvent(s0, ev[4 + i % 2], 0);
            mult(s0, jobs[i], b.slab[i % 2]);
            cudaEventRecord(ev[2 + i % 2], s0);
        }
        cudaEventRecord(ev[1], s1);
        cudaStreamWaitEvent(s0, ev[1], 0);
    } else {
        for (size_t i = 0; i < jobs.size(); i++) {
            if (md != GEMM_ONLY) make(s0, jobs[i], b.slab[i % 2]);
            if (md != DEQ_ONLY) mult(s0, jobs[i], b.slab[i % 2]);
        }
    }
    if (md != N2 && md != DEQ_ONLY) to_half<<<132 * 8, 256, 0, s0>>>(b.y, b.acc, T * H);
}

static float time_mode(const bufs &b, mode md, long ns, long ks)
{
    cudaStream_t s0, s1;
    int lo, hi;
    CK(cudaDeviceGetStreamPriorityRange(&lo, &hi));
    CK(cudaStreamCreateWithFlags(&s0, cudaStreamNonBlocking));
    CK(cudaStreamCreateWithPriority(&s1, cudaStreamNonBlocking, hi));   // the dequant stream first when SMs free up
    cudaEvent_t ev[6];
    for (auto &e : ev) CK(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
    const float us = time_graph(s0, [&](cudaStream_t st) { enqueue(b, md, ns, ks, st, s1, ev); });
    for (auto &e : ev) cudaEventDestroy(e);
    cudaStreamDestroy(s0), cudaStreamDestroy(s1);
    return us;
}

// max |y - y_f16| / max |y_f16| over T x H: the slab ways against the whole dequant (same math up to f32 sums)
static double check(const bufs &b, mode md, long ns, long ks, const std::vector<__half> &want)
{
    cudaStream_t s0, s1;
    CK(cudaStreamCreate(&s0));
    CK(cudaStreamCreate(&s1));
    cudaEvent_t ev[6];
    for (auto &e : ev) CK(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
    CK(cudaMemset(b.y, 0xff, b.T * H * 2));
    enqueue(b, md, ns, ks, s0, s1, ev);
    CK(cudaStreamSynchronize(s0));
    std::vector<__half> got(b.T * H);
    CK(cudaMemcpy(got.data(), b.y, got.size() * 2, cudaMemcpyDeviceToHost));
    double m = 0, d = 0;
    for (size_t i = 0; i < got.size(); i++) {
        double w = __half2float(want[i]), g = __half2float(got[i]);
        m = std::max(m, std::abs(w));
        d = std::max(d, std::abs(g - w));
        if (g != g) return 1e30;
    }
    for (auto &e : ev) cudaEventDestroy(e);
    cudaStreamDestroy(s0), cudaStreamDestroy(s1);
    return d / m;
}

int main(int argc, char **argv)
{
    cudaDeviceProp pr;
    CK(cudaGetDeviceProperties(&pr, 0));
    printf("card %s, %d SMs, L2 %d MB\n", pr.name, pr.multiProcessorCount, pr.l2CacheSize >> 20);
    proto_init();
    const long maxT = 8192;
    bufs b{};
    CK(cudaMalloc(&b.x, maxT * H * 2));
    CK(cudaMalloc(&b.h, maxT * I * 2));
    CK(cudaMalloc(&b.y, maxT * H * 2));
    CK(cudaMalloc(&b.acc, maxT * H * 4));
    CK(cudaMalloc(&b.w1, I * H * 2));
    CK(cudaMalloc(&b.w2, I * H * 2));
    CK(cudaMalloc(&b.q1, I * H));
    CK(cudaMalloc(&b.q2, I * H));
    CK(cudaMalloc(&b.s1, I * 4));
    CK(cudaMalloc(&b.s2, H * 4));
    CK(cudaMalloc(&b.slab[0], 64L << 20));
    CK(cudaMalloc(&b.slab[1], 64L << 20));
    fill_h<<<1024, 256>>>(b.x, maxT * H, 1, 1.0f);
    fill_i8<<<1024, 256>>>(b.q1, I * H, 2), fill_i8<<<1024, 256>>>(b.q2, I * H, 3);
    fill_f<<<64, 256>>>(b.s1, I, 1.0f / (127 * 64)), fill_f<<<64, 256>>>(b.s2, H, 1.0f / (127 * 128));
    CK(cudaDeviceSynchronize());
    for (int ai = 1; ai < argc; ai++) {
        b.T = atol(argv[ai]);
        // reference: the whole dequant
        {
            cudaStream_t s0;
            CK(cudaStreamCreate(&s0));
            enqueue(b, WHOLE, 0, 0, s0, s0, nullptr);
            CK(cudaStreamSynchronize(s0));
            cudaStreamDestroy(s0);
        }
        std::vector<__half> want(b.T * H);
        CK(cudaMemcpy(want.data(), b.y, want.size() * 2, cudaMemcpyDeviceToHost));
        float f16 = time_mode(b, F16, 0, 0), whole = time_mode(b, WHOLE, 0, 0);
        printf("T=%ld  f16 %.1f us  whole %.1f us (%.2fx f16)\n", b.T, f16, whole, whole / f16);
        const long sl[][2] = {{4096, 4096}, {2048, 2048}, {4096, 2048}, {2048, 4096}, {1024, 1024}};
        for (auto &p : sl) {
            long ns = p[0], ks = p[1];
            float sl_ = time_mode(b, SLAB, ns, ks), ov = time_mode(b, OVERLAP, ns, ks);
            float dq = time_mode(b, DEQ_ONLY, ns, ks), gm = time_mode(b, GEMM_ONLY, ns, ks);
            printf("T=%ld  N-slab %5ld k-slab %5ld: slab %.1f (%.2fx f16; dequants alone %.1f, GEMMs alone %.1f)  "
                   "overlap %.1f (%.2fx)  err slab %.2e overlap %.2e\n",
                   b.T, ns, ks, sl_, sl_ / f16, dq, gm, ov, ov / f16, check(b, SLAB, ns, ks, want), check(b, OVERLAP, ns, ks, want));
        }
        for (long ns : {1024L, 2048L}) {
            float n2 = time_mode(b, N2, ns, 0);
            printf("T=%ld  N-slabs %ld both GEMMs: %.1f (%.2fx f16)  err %.2e\n", b.T, ns, n2, n2 / f16, check(b, N2, ns, 0, want));
        }
        fflush(stdout);
    }
    return 0;
}
