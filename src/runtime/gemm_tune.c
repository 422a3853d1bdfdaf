/* gemm_tune.c — time cuBLASLt candidates on scratch buffers (see gemm_tune.h). */
#include "gemm_tune.h"

#include <stdlib.h>
#include <string.h>

static int tuning_enabled(void)
{
    const char *e = getenv("DSMLP_GEMM_TUNE");
    return !(e && (!strcmp(e, "0") || !strcmp(e, "off")));
}

int gemm_tuner_open(gemm_tuner *t, const cuda_api *cu, size_t max_w_elems, size_t max_act_elems, int64_t tmax,
                    CUdeviceptr ws, size_t ws_bytes)
{
    memset(t, 0, sizeof *t);
    if (!tuning_enabled() || !cu->cuEventCreate || !cu->cuEventRecord || !cu->cuEventSynchronize ||
        !cu->cuEventElapsedTime || !cu->cuMemsetD8 || !cu->cuEventDestroy)
        return 0;
    const size_t esz = 4;   /* scratch sized for f32, the widest element */
    size_t wbytes = max_w_elems * esz, abytes = max_act_elems * esz;
    t->cu = cu;
    if (cu->cuMemAlloc(&t->w, wbytes) != CUDA_SUCCESS || cu->cuMemAlloc(&t->x, abytes) != CUDA_SUCCESS ||
        cu->cuMemAlloc(&t->d, abytes) != CUDA_SUCCESS || cu->cuMemAlloc(&t->bias, 1 << 20) != CUDA_SUCCESS ||
        cu->cuEventCreate(&t->e0, 0) != CUDA_SUCCESS || cu->cuEventCreate(&t->e1, 0) != CUDA_SUCCESS) {
        gemm_tuner_close(t);
        return 0;
    }
    /* 0x2c in every byte: ~0.066 in f16, ~2e-12 in bf16/f32 — small, normal, non-zero. */
    if (cu->cuMemsetD8(t->w, 0x2c, wbytes) != CUDA_SUCCESS || cu->cuMemsetD8(t->x, 0x2c, abytes) != CUDA_SUCCESS ||
        cu->cuMemsetD8(t->d, 0x2c, abytes) != CUDA_SUCCESS || cu->cuMemsetD8(t->bias, 0x2c, 1 << 20) != CUDA_SUCCESS) {
        gemm_tuner_close(t);
        return 0;
    }
    t->ws = ws, t->ws_bytes = ws_bytes, t->tmax = tmax;
    return 1;
}

void gemm_tuner_close(gemm_tuner *t)
{
    const cuda_api *cu = t->cu;
    if (!cu) return;
    if (t->w) cu->cuMemFree(t->w);
    if (t->x) cu->cuMemFree(t->x);
    if (t->d) cu->cuMemFree(t->d);
    if (t->bias) cu->cuMemFree(t->bias);
    if (t->e0) cu->cuEventDestroy(t->e0);
    if (t->e1) cu->cuEventDestroy(t->e1);
    memset(t, 0, sizeof *t);
}

double gemm_tuner_time(gemm_tuner *t, cublasLtHandle_t lt, cublasLtMatmulDesc_t desc, cublasLtMatrixLayout_t a,
                       cublasLtMatrixLayout_t b, cublasLtMatrixLayout_t c, cublasLtMatrixLayout_t d,
                       const cublasLtMatmulAlgo_t *algo, int has_c, int reps)
{
    const cuda_api *cu = t->cu;
    const void *bias = (const void *)t->bias;
    if (cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof bias))
        return -1;
    float alpha = 1.0f, beta = has_c ? 1.0f : 0.0f;
    void *x = (void *)t->x, *w = (void *)t->w, *dd = (void *)t->d, *ws = (void *)t->ws;
    /* one warm-up run, then the timed ones (default stream: load time may sync) */
    for (int i = -1; i < reps; i++) {
        if (i == 0 && cu->cuEventRecord(t->e0, NULL) != CUDA_SUCCESS) return -1;
        if (cublasLtMatmul(lt, desc, &alpha, w, a, x, b, &beta, dd, c, dd, d, algo, ws, t->ws_bytes, NULL))
            return -1;
    }
    float ms = 0;
    if (cu->cuEventRecord(t->e1, NULL) != CUDA_SUCCESS || cu->cuEventSynchronize(t->e1) != CUDA_SUCCESS ||
        cu->cuEventElapsedTime(&ms, t->e0, t->e1) != CUDA_SUCCESS)
        return -1;
    return (double)ms * 1000.0 / reps;
}
