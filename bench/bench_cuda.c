/* bench_cuda.c — dlopen the CUDA driver for the benchmark. */
#include "bench_cuda.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

void bench_cuda_check(CUresult r, const char *what)
{
    if (r != CUDA_SUCCESS) {
        fprintf(stderr, "dsmlp-bench: %s failed (CUresult %d)\n", what, (int)r);
        exit(1);
    }
}

#define LOAD(field, sym)                                                        \
    do {                                                                        \
        *(void **)&cu->field = dlsym(lib, sym);                                 \
        if (!cu->field) {                                                       \
            fprintf(stderr, "dsmlp-bench: driver lacks %s\n", sym);             \
            return 1;                                                           \
        }                                                                       \
    } while (0)

int bench_cuda_init(bench_cuda *cu) { return bench_cuda_init_device(cu, 0); }

int bench_cuda_init_device(bench_cuda *cu, int ordinal)
{
    void *lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        fprintf(stderr, "dsmlp-bench: no CUDA driver (libcuda.so.1 not found): benchmarks need a GPU\n");
        return 1;
    }
    LOAD(Init, "cuInit");
    LOAD(DeviceGet, "cuDeviceGet");
    LOAD(DeviceGetName, "cuDeviceGetName");
    LOAD(DevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain");
    LOAD(CtxSetCurrent, "cuCtxSetCurrent");
    LOAD(MemAlloc, "cuMemAlloc_v2");
    LOAD(MemFree, "cuMemFree_v2");
    LOAD(MemcpyHtoD, "cuMemcpyHtoD_v2");
    LOAD(MemcpyDtoH, "cuMemcpyDtoH_v2");
    LOAD(MemcpyDtoDAsync, "cuMemcpyDtoDAsync_v2");
    LOAD(MemsetD8, "cuMemsetD8_v2");
    LOAD(StreamCreate, "cuStreamCreate");
    LOAD(StreamSynchronize, "cuStreamSynchronize");
    LOAD(StreamBeginCapture, "cuStreamBeginCapture_v2");
    LOAD(StreamEndCapture, "cuStreamEndCapture");
    LOAD(GraphInstantiate, "cuGraphInstantiateWithFlags");
    LOAD(GraphLaunch, "cuGraphLaunch");
    LOAD(GraphExecDestroy, "cuGraphExecDestroy");
    LOAD(GraphDestroy, "cuGraphDestroy");
    LOAD(EventCreate, "cuEventCreate");
    LOAD(EventRecord, "cuEventRecord");
    LOAD(EventSynchronize, "cuEventSynchronize");
    LOAD(EventElapsedTime, "cuEventElapsedTime_v2");
    LOAD(ModuleLoadData, "cuModuleLoadData");
    LOAD(ModuleGetFunction, "cuModuleGetFunction");
    LOAD(LaunchKernel, "cuLaunchKernel");
    LOAD(DeviceGetAttribute, "cuDeviceGetAttribute");
    if (cu->Init(0) != CUDA_SUCCESS || cu->DeviceGet(&cu->dev, ordinal) != CUDA_SUCCESS) {
        fprintf(stderr, "dsmlp-bench: no GPU %d (cuInit/cuDeviceGet failed)\n", ordinal);
        return 1;
    }
    CUcontext ctx;
    bench_cuda_check(cu->DevicePrimaryCtxRetain(&ctx, cu->dev), "cuDevicePrimaryCtxRetain");
    bench_cuda_check(cu->CtxSetCurrent(ctx), "cuCtxSetCurrent");
    bench_cuda_check(cu->DeviceGetName(cu->name, sizeof cu->name, cu->dev), "cuDeviceGetName");
    bench_cuda_check(cu->StreamCreate(&cu->stream, CU_STREAM_NON_BLOCKING), "cuStreamCreate");
    return 0;
}
