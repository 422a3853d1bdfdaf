/* exec_mixed.c — the mixed-input GEMM variant (templates/mixed.cu, docs/quant.md): the rule that picks it per token
** count, and its launch. Its kernel reads x and the weight's codes through tensor maps (the copy engine's
** descriptors), encoded on the host for each launch from the bound pointers: no device work, capturable. */
#include "exec_mixed.h"
#include "cuda_api.h"
#include "device.h"
#include "context.h"
#include "../compiler/emit.h"

#include <stdio.h>

#define MIXED_MAX_T 1536   /* above: dequantize + cuBLASLt (see dsmlpR_mixed_serves) */

int dsmlpR_mixed_serves(const plan *p, const exec_state *rt, const plan_gemm *g, int64_t T)
{
    if (g->mixed_kernel < 0 || p->mixed_mode == 0 || !rt->dev->cu->cuTensorMapEncodeTiled) return 0;
    if (g->decode_kernel >= 0 && T <= g->decode_max_T) return 0;   /* the decode GEMV runs first (exec_run.c) */
    if (p->mixed_mode == 2) return 1;
    /* One block per 256 tokens x 128 rows, one block per SM, each walking all of k: a grid under 7/10 of the SMs
    ** takes as long as a full one (GELU-4096's second GEMM, 32-64 blocks at T = 256-512: ~193 us, where dequantize +
    ** cuBLASLt takes 108-141), a nearly empty last token tile costs a whole wave (T = 300), and above MIXED_MAX_T the
    ** kernel's lower rate (560-650 TFLOP/s against cuBLASLt's 740) costs more than the copy it saves (GELU-4096 int8
    ** T = 2048: 977 us against 897). Measured on the H200: bench/RESULTS.md, fourteenth session. */
    const int64_t tiles = (T + EMIT_MIXED_TOKENS - 1) / EMIT_MIXED_TOKENS, blocks = tiles * (g->n / EMIT_MIXED_ROWS);
    return T <= MIXED_MAX_T && blocks * 10 >= (int64_t)rt->dev->sm_count * 7 && T * 4 >= tiles * EMIT_MIXED_TOKENS * 3;
}

int dsmlpR_mixed_skips_dequant(const plan *p, const exec_state *rt, const plan_step *steps, int n, const plan_step *d,
                               int64_t T)
{
    int readers = 0;
    for (int i = 0; i < n; i++) {
        const plan_step *s = &steps[i];
        if (s->kind == STEP_GEMM && s->gemm.w == d->op.deq.out) {
            if (!dsmlpR_mixed_serves(p, rt, &s->gemm, T)) return 0;
            readers++;
        }
        if (s->kind == STEP_KERNEL && s != d) {   /* any other kernel reading the dequantized weight needs it */
            const plan_kernel *k = &p->kernels[s->kernel];
            for (int a = 0; a < k->nargs; a++)
                if (k->args[a] == d->op.deq.out) return 0;
        }
        if (s->kind == STEP_STREAM) return 0;   /* the small-T route's kernels read the weight their own way */
    }
    return readers > 0;
}

/* rows x cols row-major (elements of esize bytes), boxes of 64 columns x box_rows rows. ptr is 16-byte aligned, as
** the copy engine needs: bindings are checked when bound (exec_bind.c), the workspace is 256-aligned. */
static dsmlp_status encode(dsmlp_ctx *ctx, const cuda_api *cu, CUtensorMap *m, CUtensorMapDataType dt, size_t esize,
                           CUdeviceptr ptr, int64_t rows, int64_t cols, int box_rows, CUtensorMapSwizzle sw,
                           const char *what, const char *buf)
{
    const cuuint64_t dims[2] = {(cuuint64_t)cols, (cuuint64_t)rows}, strides[1] = {(cuuint64_t)cols * esize};
    const cuuint32_t box[2] = {64, (cuuint32_t)box_rows}, es[2] = {1, 1};
    CUresult r = cu->cuTensorMapEncodeTiled(m, dt, 2, (void *)(uintptr_t)ptr, dims, strides, box, es,
                                            CU_TENSOR_MAP_INTERLEAVE_NONE, sw, CU_TENSOR_MAP_L2_PROMOTION_L2_256B,
                                            CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
    if (r != CUDA_SUCCESS)
        return dsmlpB_err_set(ctx, DSMLP_ERR_CUDA, "%s: cuTensorMapEncodeTiled for '%s' ([%lld, %lld]) failed: %s", what, buf,
                              (long long)rows, (long long)cols, dsmlpR_cuda_api_errstr(r));
    return DSMLP_OK;
}

dsmlp_status dsmlpR_exec_launch_mixed(dsmlp_ctx *ctx, const plan *p, exec_state *rt, const plan_step *ps, int step,
                                      int64_t T, CUstream st)
{
    const plan_gemm *g = &ps->gemm;
    const plan_kernel *k = &p->kernels[g->mixed_kernel];
    const cuda_api *cu = rt->dev->cu;
    char what[96];
    snprintf(what, sizeof what, "dsmlp_run: step %d (%s)", step, ps->label);
    CUtensorMap tx, tq;
    const dsmlp_dtype xt = p->bufs[g->x].dtype;
    dsmlp_status s = encode(ctx, cu, &tx, xt == DSMLP_BF16 ? CU_TENSOR_MAP_DATA_TYPE_BFLOAT16 : CU_TENSOR_MAP_DATA_TYPE_FLOAT16,
                            2, rt->ptr[g->x], T, g->k, EMIT_MIXED_TOKENS, CU_TENSOR_MAP_SWIZZLE_128B, what, p->bufs[g->x].name);
    if (s == DSMLP_OK)
        s = encode(ctx, cu, &tq, CU_TENSOR_MAP_DATA_TYPE_UINT8, 1, rt->ptr[g->mixed_q], g->n, g->k, EMIT_MIXED_ROWS,
                   CU_TENSOR_MAP_SWIZZLE_64B, what, p->bufs[g->mixed_q].name);
    if (s != DSMLP_OK) return s;
    long long TT = (long long)T;
    CUdeviceptr none = 0;
    void *args[] = {&tx, &tq, &TT, &rt->ptr[g->d], &rt->ptr[g->mixed_scales], g->bias >= 0 ? &rt->ptr[g->bias] : &none,
                    g->c >= 0 ? &rt->ptr[g->c] : &none};
    const int64_t tiles = (T + EMIT_MIXED_TOKENS - 1) / EMIT_MIXED_TOKENS;
    if (tiles > 65535)
        return dsmlpB_err_set(ctx, DSMLP_ERR_UNSUPPORTED, "%s: T = %lld needs more than 65535 token tiles", what, (long long)T);
    /* tokens along x: consecutive blocks share a weight tile, which L2 then serves to the others */
    CUresult r = cu->cuLaunchKernel(rt->kern[g->mixed_kernel].fn, (unsigned)tiles, (unsigned)k->grid_x, 1,
                                    (unsigned)k->threads, 1, 1, (unsigned)k->smem_bytes, st, args, NULL);
    if (r != CUDA_SUCCESS)
        return dsmlpB_err_set(ctx, DSMLP_ERR_CUDA, "%s: cuLaunchKernel of %s (grid %lld x %d, block %d, smem %zu) failed: %s",
                              what, k->name, (long long)tiles, k->grid_x, k->threads, k->smem_bytes, dsmlpR_cuda_api_errstr(r));
    return DSMLP_OK;
}
