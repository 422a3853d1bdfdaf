/*
** cuda_api.h — the CUDA driver entry points dsmlp uses, as a function table
** filled at run time from dlopen("libcuda.so.1"). The driver is never linked,
** so every binary starts on a machine without one.
**
** Each entry is looked up by the name <cuda.h> maps it to (cuMemAlloc ->
** "cuMemAlloc_v2"), so the ABI is exactly the one the prototypes describe.
*/
#ifndef DSMLP_CUDA_API_H
#define DSMLP_CUDA_API_H

#include <cuda.h>
#include "dsmlp.h"

/* X(name): the driver functions the library needs (loading fails without
** one of them). */
#define CUDA_API_FUNCS(X)                                                                      \
    X(cuInit) X(cuDriverGetVersion) X(cuGetErrorName) X(cuGetErrorString)                      \
    X(cuDeviceGetCount) X(cuDeviceGet) X(cuDeviceGetName) X(cuDeviceGetAttribute)              \
    X(cuDevicePrimaryCtxRetain) X(cuDevicePrimaryCtxRelease) X(cuCtxSetCurrent)                \
    X(cuCtxGetCurrent) X(cuCtxGetDevice) X(cuCtxSynchronize)                                   \
    X(cuModuleLoadData) X(cuModuleUnload) X(cuModuleGetFunction) X(cuFuncSetAttribute)         \
    X(cuLaunchKernel) X(cuMemAlloc) X(cuMemFree) X(cuMemcpyHtoD) X(cuMemcpyDtoH)
/* NULL where the driver lacks them: tests and tools; the runtime uses
** cuLaunchKernelEx (programmatic dependent launch) and the occupancy query
** where present and says so in the plan's explanation where not; tensor
** parallelism (tp_*.c) checks the IPC and peer entry points it needs. */
#define CUDA_API_OPTIONAL(X)                                                                   \
    X(cuMemcpyHtoDAsync) X(cuMemcpyDtoHAsync) X(cuMemcpyDtoDAsync) X(cuMemsetD8)               \
    X(cuMemsetD8Async) X(cuStreamCreate) X(cuStreamDestroy) X(cuStreamSynchronize)             \
    X(cuEventCreate) X(cuEventDestroy) X(cuEventRecord) X(cuEventSynchronize)                  \
    X(cuEventElapsedTime) X(cuStreamBeginCapture) X(cuStreamEndCapture)                        \
    X(cuGraphInstantiate) X(cuGraphLaunch) X(cuGraphDestroy) X(cuGraphExecDestroy)              \
    X(cuLaunchKernelEx) X(cuOccupancyMaxActiveBlocksPerMultiprocessor) X(cuMemsetD32)            \
    X(cuFuncGetAttribute) X(cuStreamWaitEvent) X(cuIpcGetMemHandle) X(cuIpcOpenMemHandle)         \
    X(cuIpcCloseMemHandle) X(cuDeviceGetPCIBusId) X(cuDeviceGetByPCIBusId) X(cuDeviceCanAccessPeer) \
    X(cuMemGetInfo) X(cuTensorMapEncodeTiled) X(cuOccupancyMaxActiveClusters) X(cuModuleGetGlobal)

#define CUDA_API_FIELD(name) __typeof__(&name) name;
typedef struct cuda_api {
    CUDA_API_FUNCS(CUDA_API_FIELD)
    CUDA_API_OPTIONAL(CUDA_API_FIELD)
} cuda_api;
#undef CUDA_API_FIELD

/* Loads the driver once per process (thread-safe) and calls cuInit(0).
** DSMLP_ERR_NO_DEVICE with a message when the library, an entry point or
** cuInit is missing. */
dsmlp_status dsmlpR_cuda_api_load(dsmlp_ctx *ctx, const cuda_api **out);

/* "CUDA_ERROR_INVALID_VALUE (invalid argument)" for r; static storage. */
const char *dsmlpR_cuda_api_errstr(CUresult r);

#endif
