/*
** tp_overlap.c — at large T, GEMM2 and its all-reduce in token chunks: the
** GEMM of chunk c+1 runs on the caller's stream while chunk c is all-reduced
** on a side stream (event fork, joined back before the next step), so the
** communication hides behind the GEMM. Off by default (overlap_chunks = 0)
** until measured on several GPUs: the all-reduce takes SMs from the GEMM and
** smaller GEMMs run less efficiently, so it pays only where the all-reduce
** is a large share (docs/tp.md). Every piece is a capturable launch.
*/
#include "tp.h"
#include "context.h"
#include "exec_state.h"
#include "exec_mixed.h"

#include <stdio.h>

int dsmlpR_tp_overlap_applies(const tp_attach *a, const plan *p, int i, int64_t T)
{
    const dsmlp_tp *tp = a->tp;
    if (tp->o.overlap_chunks < 2 || T < tp->o.overlap_min_tokens || tp->size == 1 || i + 1 >= p->nsteps) return 0;
    const plan_step *g = &p->steps[i], *ar = &p->steps[i + 1];
    if (g->kind != STEP_GEMM || ar->kind != STEP_ALL_REDUCE || ar->buf != g->gemm.d) return 0;
    if (dsmlpR_decode_at(a->rt, &g->gemm, T) >= 0) return 0;
    if (dsmlpR_mixed_serves(p, a->rt, &g->gemm, T)) return 0;   /* the mixed-input kernel runs whole (docs/tp.md) */
    const plan_buf *x = &p->bufs[g->gemm.x], *d = &p->bufs[g->gemm.d];
    return x->tokens && d->tokens && (g->gemm.c < 0 || p->bufs[g->gemm.c].tokens);
}

static CUdeviceptr rows_at(const exec_state *rt, const plan *p, int b, int64_t row)
{
    const plan_buf *pb = &p->bufs[b];
    return rt->ptr[b] + (CUdeviceptr)((size_t)row * (size_t)pb->cols * dsmlp_dtype_size(pb->dtype));
}

dsmlp_status dsmlpR_tp_overlap_run(dsmlp_plan *pl, int i, int64_t T, CUstream stream)
{
    const plan *p = pl->p;
    exec_state *rt = pl->rt;
    tp_attach *a = rt->tp;
    const cuda_api *cu = rt->dev->cu;
    const plan_gemm *g = &p->steps[i].gemm;
    const plan_buf *d = &p->bufs[g->d];
    int chunks = a->tp->o.overlap_chunks;
    /* Chunks of whole 64-token tiles keep the GEMMs efficient. */
    int64_t rows = (T + chunks - 1) / chunks;
    rows = (rows + 63) / 64 * 64;
    char what[96];
    snprintf(what, sizeof what, "dsmlp_run: step %d (%s, overlapped)", i + 1, p->steps[i + 1].label);
    dsmlp_status s = DSMLP_OK;
    int c = 0;
    for (int64_t r0 = 0; r0 < T && s == DSMLP_OK; r0 += rows, c++) {
        int64_t n = T - r0 < rows ? T - r0 : rows;
        s = dsmlpR_gemm_run(pl->ctx, rt->lt, &rt->gemm[i], n, (const void *)(uintptr_t)rows_at(rt, p, g->x, r0),
                     (const void *)(uintptr_t)rt->ptr[g->w],
                     g->bias >= 0 ? (const void *)(uintptr_t)rt->ptr[g->bias] : NULL,
                     g->c >= 0 ? (const void *)(uintptr_t)rows_at(rt, p, g->c, r0) : NULL,
                     (void *)(uintptr_t)rows_at(rt, p, g->d, r0), (void *)(uintptr_t)(rt->ws + rt->ws_plan),
                     rt->ws_lt, stream);
        CUresult r = CUDA_SUCCESS;
        if (s == DSMLP_OK && ((r = cu->cuEventRecord(a->ev[c], stream)) != CUDA_SUCCESS ||
                              (r = cu->cuStreamWaitEvent(a->side, a->ev[c], 0)) != CUDA_SUCCESS))
            s = dsmlpB_err_set(pl->ctx, DSMLP_ERR_CUDA, "%s: chunk %d: %s", what, c, dsmlpR_cuda_api_errstr(r));
        if (s == DSMLP_OK)
            s = dsmlpR_tp_plan_all_reduce(a, pl->ctx, rows_at(rt, p, g->d, r0), (size_t)(n * d->cols), d->dtype, a->side,
                                   what);
    }
    /* Join even after a failure, so the caller's stream never runs ahead of
    ** (or, in a capture, forgets) what the side stream holds. */
    CUevent done = a->ev[sizeof a->ev / sizeof *a->ev - 1];
    CUresult r = cu->cuEventRecord(done, a->side);
    if (r == CUDA_SUCCESS) r = cu->cuStreamWaitEvent(stream, done, 0);
    if (r != CUDA_SUCCESS && s == DSMLP_OK)
        s = dsmlpB_err_set(pl->ctx, DSMLP_ERR_CUDA, "%s: joining the all-reduce stream: %s", what, dsmlpR_cuda_api_errstr(r));
    return s;
}
