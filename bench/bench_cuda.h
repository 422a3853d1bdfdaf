/* bench_cuda.h — the benchmark's stream and device name. Its CUDA calls use
** the runtime API, linked statically (cudart_static loads the driver at run
** time, so the bench starts without a GPU and says so). */
#ifndef DSMLP_BENCH_CUDA_H
#define DSMLP_BENCH_CUDA_H

#include <cuda_runtime.h>

typedef struct bench_cuda {
    cudaStream_t stream;
    char         name[256];
} bench_cuda;

/* The process-wide state (dsmlp-bench is single-threaded). */
extern bench_cuda bench_cu;

/* 0 on success; otherwise prints why and returns nonzero. */
int  bench_cuda_init(bench_cuda *cu);
/* Aborts the benchmark with a message when r is not cudaSuccess. */
void bench_cuda_check(cudaError_t r, const char *what);

#endif
