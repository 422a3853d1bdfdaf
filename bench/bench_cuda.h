/* bench_cuda.h — the few CUDA driver calls dsmlp-bench needs, as a table filled
** through the CUDA runtime's driver entry points (cudart_static: the bench
** starts without a GPU and says so; no second driver loader in the tree). */
#ifndef DSMLP_BENCH_CUDA_H
#define DSMLP_BENCH_CUDA_H

#include <cuda.h>

typedef struct bench_cuda {
    CUresult (*Init)(unsigned);
    CUresult (*DeviceGet)(CUdevice *, int);
    CUresult (*DeviceGetName)(char *, int, CUdevice);
    CUresult (*DevicePrimaryCtxRetain)(CUcontext *, CUdevice);
    CUresult (*CtxSetCurrent)(CUcontext);
    CUresult (*MemAlloc)(CUdeviceptr *, size_t);
    CUresult (*MemFree)(CUdeviceptr);
    CUresult (*MemcpyHtoD)(CUdeviceptr, const void *, size_t);
    CUresult (*MemcpyDtoH)(void *, CUdeviceptr, size_t);
    CUresult (*MemcpyDtoDAsync)(CUdeviceptr, CUdeviceptr, size_t, CUstream);
    CUresult (*MemsetD8)(CUdeviceptr, unsigned char, size_t);
    CUresult (*StreamCreate)(CUstream *, unsigned);
    CUresult (*StreamSynchronize)(CUstream);
    CUresult (*StreamBeginCapture)(CUstream, CUstreamCaptureMode);
    CUresult (*StreamEndCapture)(CUstream, CUgraph *);
    CUresult (*GraphInstantiate)(CUgraphExec *, CUgraph, unsigned long long);
    CUresult (*GraphLaunch)(CUgraphExec, CUstream);
    CUresult (*GraphExecDestroy)(CUgraphExec);
    CUresult (*GraphDestroy)(CUgraph);
    CUresult (*EventCreate)(CUevent *, unsigned);
    CUresult (*EventRecord)(CUevent, CUstream);
    CUresult (*EventSynchronize)(CUevent);
    CUresult (*EventElapsedTime)(float *, CUevent, CUevent);
    CUresult (*ModuleLoadData)(CUmodule *, const void *);
    CUresult (*ModuleGetFunction)(CUfunction *, CUmodule, const char *);
    CUresult (*LaunchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned,
                             CUstream, void **, void **);
    CUresult (*DeviceGetAttribute)(int *, CUdevice_attribute, CUdevice);
    CUdevice  dev;
    CUstream  stream;
    char      name[256];
} bench_cuda;

/* The process-wide driver table (dsmlp-bench is single-threaded). */
extern bench_cuda bench_cu;

/* 0 on success; otherwise prints why and returns nonzero. Uses GPU 0, or
** `ordinal` (its primary context is made current). */
int  bench_cuda_init(bench_cuda *cu);
int  bench_cuda_init_device(bench_cuda *cu, int ordinal);
/* Bytes per second a read-only stream reaches (1 GiB summed by a kernel
** compiled with NVRTC): the ceiling of weight streaming. */
double bench_read_bw(void);
/* Aborts the benchmark with a message when r is not CUDA_SUCCESS. */
void bench_cuda_check(CUresult r, const char *what);

/* Shared by the benchmarks (bench_main.c): median µs of `reps` replays of a
** graph after 10 warm-ups; n random elements (unit variance · scale) of dt. */
double time_graph(CUgraphExec g, int reps);
/* Sorts v[0..n) and returns its median (element n / 2). */
double bench_median(float *v, int n);
#include "dsmlp.h"
/* Median µs of `reps` replays of dsmlp_run(plan, T) captured as a graph; -1 with *run set where the run failed. */
double time_plan_graph(dsmlp_plan *plan, int64_t T, int reps, dsmlp_status *run);
void   fill_device(dsmlp_dtype dt, CUdeviceptr dst, size_t n, double scale, unsigned seed);
/* dsmlp-bench --tp (bench_tp.c). */
int    bench_tp_main(int argc, char **argv);

#endif
