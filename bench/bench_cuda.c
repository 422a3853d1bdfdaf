/* bench_cuda.c — the CUDA driver entry points of the benchmark, through the CUDA runtime (cudart_static). */
#include "bench_cuda.h"

#include <cuda_runtime_api.h>
#include <stdio.h>
#include <stdlib.h>

void bench_cuda_check(CUresult r, const char *what)
{
    if (r != CUDA_SUCCESS) {
        fprintf(stderr, "dsmlp-bench: %s failed (CUresult %d)\n", what, (int)r);
        exit(1);
    }
}

/* The driver's entry points come through the CUDA runtime (linked statically), the one loader outside the
** library; the table keeps the driver API the bench is written in. Names are the base names; the version picks
** the ABI the prototypes in <cuda.h> describe. */
#define LOAD(field, sym)                                                                                     \
    do {                                                                                                     \
        enum cudaDriverEntryPointQueryResult q_;                                                             \
        if (cudaGetDriverEntryPointByVersion(sym, (void **)&cu->field, CUDA_VERSION, cudaEnableDefault, &q_) !=  \
                cudaSuccess ||                                                                               \
            q_ != cudaDriverEntryPointSuccess || !cu->field) {                                               \
            fprintf(stderr, "dsmlp-bench: no CUDA driver entry point %s (no GPU or driver too old)\n", sym);   \
            return 1;                                                                                        \
        }                                                                                                    \
    } while (0)

int bench_cuda_init(bench_cuda *cu) { return bench_cuda_init_device(cu, 0); }

int bench_cuda_init_device(bench_cuda *cu, int ordinal)
{
    int ndev = 0;
    if (cudaGetDeviceCount(&ndev) != cudaSuccess || ndev < 1) {
        fprintf(stderr, "dsmlp-bench: no GPU (the CUDA runtime finds no device): benchmarks need a GPU\n");
        return 1;
    }
    LOAD(Init, "cuInit");
    LOAD(DeviceGet, "cuDeviceGet");
    LOAD(DeviceGetName, "cuDeviceGetName");
    LOAD(DevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain");
    LOAD(CtxSetCurrent, "cuCtxSetCurrent");
    LOAD(MemAlloc, "cuMemAlloc");
    LOAD(MemFree, "cuMemFree");
    LOAD(MemcpyHtoD, "cuMemcpyHtoD");
    LOAD(MemcpyDtoH, "cuMemcpyDtoH");
    LOAD(MemcpyDtoDAsync, "cuMemcpyDtoDAsync");
    LOAD(MemsetD8, "cuMemsetD8");
    LOAD(StreamCreate, "cuStreamCreate");
    LOAD(StreamSynchronize, "cuStreamSynchronize");
    LOAD(StreamBeginCapture, "cuStreamBeginCapture");
    LOAD(StreamEndCapture, "cuStreamEndCapture");
    LOAD(GraphInstantiate, "cuGraphInstantiateWithFlags");
    LOAD(GraphLaunch, "cuGraphLaunch");
    LOAD(GraphExecDestroy, "cuGraphExecDestroy");
    LOAD(GraphDestroy, "cuGraphDestroy");
    LOAD(EventCreate, "cuEventCreate");
    LOAD(EventRecord, "cuEventRecord");
    LOAD(EventSynchronize, "cuEventSynchronize");
    LOAD(EventElapsedTime, "cuEventElapsedTime");
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
