/* bench_read.c — the read-only stream rate of the card: the floor of weight streaming at small T. */
#include "bench_cuda.h"

#include <nvrtc.h>
#include <stdio.h>
#include <stdlib.h>

/* Four independent 16-byte loads in flight per thread per iteration; the xor keeps them live. */
static const char *src =
    "extern \"C\" __global__ void ds_read(const uint4 *p, unsigned long long n, unsigned *out)\n"
    "{\n"
    "    unsigned a = 0, b = 0, c = 0, d = 0;\n"
    "    const unsigned long long stride = (unsigned long long)gridDim.x * blockDim.x;\n"
    "    unsigned long long i = (unsigned long long)blockIdx.x * blockDim.x + threadIdx.x;\n"
    "    for (; i + 3 * stride < n; i += 4 * stride) {\n"
    "        uint4 x = __ldg(p + i), y = __ldg(p + i + stride), z = __ldg(p + i + 2 * stride), w = __ldg(p + i + 3 * stride);\n"
    "        a ^= x.x ^ x.y ^ x.z ^ x.w; b ^= y.x ^ y.y ^ y.z ^ y.w; c ^= z.x ^ z.y ^ z.z ^ z.w; d ^= w.x ^ w.y ^ w.z ^ w.w;\n"
    "    }\n"
    "    for (; i < n; i += stride) { uint4 x = __ldg(p + i); a ^= x.x ^ x.y ^ x.z ^ x.w; }\n"
    "    if ((a ^ b ^ c ^ d) == 0x9e3779b9u) out[0] = a;\n"
    "}\n";

double bench_read_bw(void)
{
    int maj = 0, min = 0, sms = 0;
    bench_cu.DeviceGetAttribute(&maj, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, bench_cu.dev);
    bench_cu.DeviceGetAttribute(&min, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, bench_cu.dev);
    bench_cu.DeviceGetAttribute(&sms, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, bench_cu.dev);
    char arch[64];
    snprintf(arch, sizeof arch, "--gpu-architecture=sm_%d%d", maj, min);
    nvrtcProgram prog;
    const char *opts[] = {arch};
    if (nvrtcCreateProgram(&prog, src, "ds_read.cu", 0, NULL, NULL) != NVRTC_SUCCESS ||
        nvrtcCompileProgram(prog, 1, opts) != NVRTC_SUCCESS) {
        fprintf(stderr, "dsmlp-bench: NVRTC failed on the read-stream kernel\n");
        exit(1);
    }
    size_t n;
    nvrtcGetCUBINSize(prog, &n);
    char *cubin = malloc(n);
    nvrtcGetCUBIN(prog, cubin);
    nvrtcDestroyProgram(&prog);
    CUmodule mod;
    CUfunction fn;
    bench_cuda_check(bench_cu.ModuleLoadData(&mod, cubin), "cuModuleLoadData (read kernel)");
    bench_cuda_check(bench_cu.ModuleGetFunction(&fn, mod, "ds_read"), "cuModuleGetFunction");
    free(cubin);
    size_t bytes = (size_t)1 << 30;
    CUdeviceptr a, out;
    bench_cuda_check(bench_cu.MemAlloc(&a, bytes), "cuMemAlloc (read test)");
    bench_cuda_check(bench_cu.MemAlloc(&out, 64), "cuMemAlloc (read test)");
    bench_cuda_check(bench_cu.MemsetD8(a, 0x3c, bytes), "cuMemsetD8");
    unsigned long long nv = bytes / 16;
    void *args[] = {&a, &nv, &out};
    CUevent e0, e1;
    bench_cuda_check(bench_cu.EventCreate(&e0, 0), "cuEventCreate");
    bench_cuda_check(bench_cu.EventCreate(&e1, 0), "cuEventCreate");
    double best = 0;
    for (int r = 0; r < 12; r++) {
        bench_cuda_check(bench_cu.EventRecord(e0, bench_cu.stream), "cuEventRecord");
        bench_cuda_check(bench_cu.LaunchKernel(fn, (unsigned)(sms * 8), 1, 1, 256, 1, 1, 0, bench_cu.stream, args, NULL),
                         "cuLaunchKernel (read kernel)");
        bench_cuda_check(bench_cu.EventRecord(e1, bench_cu.stream), "cuEventRecord");
        bench_cuda_check(bench_cu.EventSynchronize(e1), "cuEventSynchronize");
        float ms;
        bench_cuda_check(bench_cu.EventElapsedTime(&ms, e0, e1), "cuEventElapsedTime");
        double bw = (double)bytes / (ms * 1e-3);
        if (r >= 2 && bw > best) best = bw;   /* two warm-ups; the best of ten (a ceiling) */
    }
    bench_cu.MemFree(a);
    bench_cu.MemFree(out);
    return best;
}
