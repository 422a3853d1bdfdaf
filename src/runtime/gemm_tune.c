/* gemm_tune.c — time cuBLASLt candidates on scratch buffers (see gemm_tune.h). */
#include "gemm_tune.h"

#include "dtype.h"

#include <stdlib.h>
#include <string.h>

/* Fills n elements of dt at dst with uniform [-1, 1) values: a 1 MiB random
** block made on the host, copied over the buffer tile by tile. */
static int fill_random(const cuda_api *cu, dsmlp_dtype dt, CUdeviceptr dst, size_t bytes)
{
    enum { BLOCK = 1 << 20 };
    unsigned char *h = malloc(BLOCK);
    if (!h) return 0;
    size_t esz = dsmlp_dtype_size(dt);
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < BLOCK / esz; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        double v = (double)(x >> 11) * 0x1.0p-52 - 1.0;
        dsmlpB_dtype_store(dt, h, (int64_t)i, v != 0 ? v : 0.5);
    }
    int ok = 1;
    for (size_t off = 0; ok && off < bytes; off += BLOCK)
        ok = cu->cuMemcpyHtoD(dst + off, h, bytes - off < BLOCK ? bytes - off : BLOCK) == CUDA_SUCCESS;
    free(h);
    return ok;
}

int dsmlpR_gemm_tuner_open(gemm_tuner *t, const cuda_api *cu, dsmlp_dtype dt, size_t max_w_elems, size_t max_act_elems,
                    int64_t tmax, CUdeviceptr ws, size_t ws_bytes)
{
    memset(t, 0, sizeof *t);
    if (!cu->cuEventCreate || !cu->cuEventRecord || !cu->cuEventSynchronize ||
        !cu->cuEventElapsedTime || !cu->cuEventDestroy || !dsmlp_dtype_size(dt))
        return 0;
    const size_t esz = dsmlp_dtype_size(dt);
    size_t wbytes = max_w_elems * esz, abytes = max_act_elems * esz;
    t->cu = cu;
    if (cu->cuMemAlloc(&t->w, wbytes) != CUDA_SUCCESS || cu->cuMemAlloc(&t->x, abytes) != CUDA_SUCCESS ||
        cu->cuMemAlloc(&t->d, abytes) != CUDA_SUCCESS || cu->cuMemAlloc(&t->bias, 1 << 20) != CUDA_SUCCESS ||
        cu->cuEventCreate(&t->e0, 0) != CUDA_SUCCESS || cu->cuEventCreate(&t->e1, 0) != CUDA_SUCCESS) {
        dsmlpR_gemm_tuner_close(t);
        return 0;
    }
    if (!fill_random(cu, dt, t->w, wbytes) || !fill_random(cu, dt, t->x, abytes) ||
        !fill_random(cu, dt, t->d, abytes) || !fill_random(cu, dt, t->bias, 1 << 20)) {
        dsmlpR_gemm_tuner_close(t);
        return 0;
    }
    t->ws = ws, t->ws_bytes = ws_bytes, t->tmax = tmax, t->dtype = dt;
    return 1;
}

void dsmlpR_gemm_tuner_close(gemm_tuner *t)
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

double dsmlpR_gemm_tuner_time(gemm_tuner *t, cublasLtHandle_t lt, cublasLtMatmulDesc_t desc, cublasLtMatrixLayout_t a,
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
