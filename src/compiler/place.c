/*
** place.c — where the work buffers live in the one workspace: first fit by
** offset among buffers whose lifetimes overlap in either route (the main steps
** and the small-T route read and write different sets at different times: a
** fused stream kernel reads the norm's output while it writes the gated
** output, which the main steps never hold at once).
*/
#include "place.h"
#include "route.h"
#include "error.h"

#include <stdlib.h>
#include <string.h>

#define WS_ALIGN 256

static void touch(int *first, int *last, int b, int step)
{
    if (b < 0) return;
    if (first[b] < 0) first[b] = step;
    last[b] = step;
}

/* Lifetime [first, last] of every buffer over one step list. */
static void lifetimes(const plan *p, const plan_step *steps, int n, int *first, int *last)
{
    for (int b = 0; b < p->nbufs; b++) first[b] = last[b] = -1;
    for (int i = 0; i < n; i++) {
        const plan_step *s = &steps[i];
        if (s->kind == STEP_GEMM) {
            touch(first, last, s->gemm.x, i), touch(first, last, s->gemm.w, i), touch(first, last, s->gemm.bias, i);
            touch(first, last, s->gemm.c, i), touch(first, last, s->gemm.d, i);
            /* its mixed-input kernels or decode GEMV may write the activation step's output here already (lower.c) */
            touch(first, last, s->gemm.mixed_act_out, i), touch(first, last, s->gemm.mixed_act_bias, i);
            touch(first, last, s->gemm.decode_act_out, i), touch(first, last, s->gemm.decode_act_bias, i);
            /* its GEMVs may read a norm's addends, write the norm's sum and use a scratch here */
            for (int d = 0; d < 2; d++) {
                const int kd = d ? s->gemm.decode_wide_kernel : s->gemm.decode_kernel;
                for (int a = 0; kd >= 0 && a < p->kernels[kd].nargs; a++) touch(first, last, p->kernels[kd].args[a], i);
            }
        } else if (s->kind == STEP_KERNEL || s->kind == STEP_STREAM) {
            for (int v = 0; v < (s->kind == STEP_STREAM ? s->stream.nvariants : 1); v++) {
                const plan_kernel *k = &p->kernels[s->kind == STEP_STREAM ? s->stream.variant[v] : s->kernel];
                for (int a = 0; a < k->nargs; a++) touch(first, last, k->args[a], i);
            }
        } else {
            touch(first, last, s->buf, i);
        }
    }
}

static int overlap(const int *first, const int *last, int a, int b)
{
    return first[a] >= 0 && first[b] >= 0 && !(last[a] < first[b] || last[b] < first[a]);
}

/* Token rows of work buffer b: max_tokens, and at least the narrowest mixed-input tile where a mixed-input GEMM reads
** b as x, so that its tensor map covers whole tiles in a decode plan too (max_tokens 1): zero-filled rows past a
** buffer made the block 2-5 us slower at T = 2..8 on the H200 (bench/RESULTS.md, twenty-second session; the runtime's
** dsmlpR_mixed_x_rows reads what this leaves). */
static int64_t token_rows(const plan *p, int b)
{
    static const int toks[PLAN_MIXED_VARIANTS] = PLAN_MIXED_TOKENS;
    int64_t rows = p->max_tokens;
    for (int i = 0; i < p->nsteps; i++) {
        const plan_step *s = &p->steps[i];
        if (s->kind != STEP_GEMM || s->gemm.x != b) continue;
        int last = PLAN_MIXED_VARIANTS - 1;   /* the narrowest tile it has (float weights: 64 tokens) */
        while (last > 0 && s->gemm.mixed_kernel[last] < 0) last--;
        if (s->gemm.mixed_kernel[last] >= 0 && toks[last] > rows) rows = toks[last];
    }
    return rows;
}

dsmlp_status dsmlpC_plan_place_workspace(dsmlp_ctx *ctx, plan *p)
{
    int nb = p->nbufs;
    int *f0 = malloc(((size_t)nb + 1) * sizeof *f0), *l0 = malloc(((size_t)nb + 1) * sizeof *l0);
    int *f1 = malloc(((size_t)nb + 1) * sizeof *f1), *l1 = malloc(((size_t)nb + 1) * sizeof *l1);
    if (!f0 || !l0 || !f1 || !l1) {
        free(f0), free(l0), free(f1), free(l1);
        return dsmlpB_err_set(ctx, DSMLP_ERR_NOMEM, "placing the workspace: out of memory");
    }
    lifetimes(p, p->steps, p->nsteps, f0, l0);
    lifetimes(p, p->ssteps, p->nssteps, f1, l1);
    p->ws_bytes = 0;
    for (int b = 0; b < nb; b++) {
        plan_buf *B = &p->bufs[b];
        if (B->kind != BUF_WORK) continue;
        int64_t rows = B->tokens ? token_rows(p, b) : B->rows;
        B->ws_bytes = (size_t)rows * (size_t)B->cols * dsmlp_dtype_size(B->dtype);
        size_t need = (B->ws_bytes + WS_ALIGN - 1) / WS_ALIGN * WS_ALIGN, off = 0;
        for (int moved = 1; moved;) {
            moved = 0;
            for (int o = 0; o < b; o++) {
                const plan_buf *O = &p->bufs[o];
                if (O->kind != BUF_WORK || !(overlap(f0, l0, o, b) || overlap(f1, l1, o, b))) continue;
                size_t oend = O->ws_offset + (O->ws_bytes + WS_ALIGN - 1) / WS_ALIGN * WS_ALIGN;
                if (off < oend && O->ws_offset < off + need) off = oend, moved = 1;
            }
        }
        B->ws_offset = off;
        if (off + need > p->ws_bytes) p->ws_bytes = off + need;
    }
    free(f0), free(l0), free(f1), free(l1);
    return DSMLP_OK;
}
