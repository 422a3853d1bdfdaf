/* bench_cuda.c — device 0, its name and a stream, through cudart_static. */
#include "bench_cuda.h"

#include <stdio.h>
#include <stdlib.h>

void bench_cuda_check(cudaError_t r, const char *what)
{
    if (r != cudaSuccess) {
        fprintf(stderr, "dsmlp-bench: %s failed: %s\n", what, cudaGetErrorString(r));
        exit(1);
    }
}

int bench_cuda_init(bench_cuda *cu)
{
    int n = 0;
    cudaError_t r = cudaGetDeviceCount(&n);
    if (r != cudaSuccess || n == 0) {
        fprintf(stderr, "dsmlp-bench: no GPU (%s): benchmarks need one\n",
                r != cudaSuccess ? cudaGetErrorString(r) : "no device");
        return 1;
    }
    struct cudaDeviceProp prop;
    bench_cuda_check(cudaSetDevice(0), "cudaSetDevice");
    bench_cuda_check(cudaGetDeviceProperties(&prop, 0), "cudaGetDeviceProperties");
    snprintf(cu->name, sizeof cu->name, "%s", prop.name);
    bench_cuda_check(cudaStreamCreateWithFlags(&cu->stream, cudaStreamNonBlocking), "cudaStreamCreate");
    return 0;
}
