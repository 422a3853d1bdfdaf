/* plan.c — dsmlpC_plan_make: fuse -> lower (+ emit); plan lifetime and lookups. */
#include "plan.h"
#include "fuse.h"
#include "lower.h"
#include "error.h"
#include "grow.h"
#include "emit.h"
#include "route.h"
#include "place.h"
#include "alias.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

dsmlp_status dsmlpC_plan_make(dsmlp_ctx *ctx, const dsmlp_graph *g, const dsmlp_compile_options *o, plan **out)
{
    if (!g || !o || !out) return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "plan_make: null argument");
    *out = NULL;
    if (!o->arch || strlen(o->arch) >= sizeof((plan *)0)->arch)
        return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "plan_make: no target arch");
    plan *p = calloc(1, sizeof *p);
    if (!p) return dsmlpB_err_set(ctx, DSMLP_ERR_NOMEM, "plan_make: out of memory");
    snprintf(p->graph_name, sizeof p->graph_name, "%s", g->name);
    snprintf(p->arch, sizeof p->arch, "%s", o->arch);
    p->max_tokens = o->max_tokens > 0 ? o->max_tokens : 8192;
    p->tf32 = o->tf32;
    p->external_workspace = o->external_workspace != 0;
    if (o->decode_max_tokens < -1 || o->decode_max_tokens > EMIT_GEMV_MAX_T) {
        dsmlpC_plan_destroy(p);
        return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG,
                       "plan_make: decode_max_tokens = %d is outside [-1, %d] (-1: auto, 0 disables the decode GEMV kernels)",
                       o->decode_max_tokens, EMIT_GEMV_MAX_T);
    }
    p->decode_auto = o->decode_max_tokens == -1;
    const int64_t decode = p->decode_auto ? PLAN_DECODE_AUTO_MAX_T : o->decode_max_tokens;
    p->decode_max_tokens = decode < p->max_tokens ? decode : p->max_tokens;
    if (o->mixed_gemm < 0 || o->mixed_gemm > 2) {
        dsmlpC_plan_destroy(p);
        return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG,
                       "plan_make: mixed_gemm = %d (0: none, 1: where the rule picks it, 2: every T it supports)", o->mixed_gemm);
    }
    p->mixed_mode = o->mixed_gemm;
    fuse_result r;
    dsmlp_status s = dsmlpC_fuse_graph(ctx, g, o->residual_kernel, &r);
    if (s != DSMLP_OK) {
        dsmlpC_plan_destroy(p);
        return s;
    }
    s = dsmlpC_lower_plan(ctx, &r, p);
    snprintf(p->notes, sizeof p->notes, "%s", r.notes);
    dsmlpC_fuse_free(&r);
    if (s == DSMLP_OK) {
        if (o->stream_max_tokens < -1 || o->stream_max_tokens > PLAN_STREAM_MAX_T)
            s = dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG,
                        "plan_make: stream_max_tokens = %d is outside [-1, %d] (-1: auto, 0: no weight-streaming route)",
                        o->stream_max_tokens, PLAN_STREAM_MAX_T);
        else if (o->stream_pipe != 0 && o->stream_pipe != 1)
            s = dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "plan_make: stream_pipe = %d (0: off, 1: the W ring variants)",
                               o->stream_pipe);
        else
            s = dsmlpC_route_build(ctx, p, o->stream_max_tokens, o->stream_pipe);
    }
    if (s == DSMLP_OK) s = dsmlpC_plan_place_workspace(ctx, p);
    if (s == DSMLP_OK) s = dsmlpC_plan_alias_build(ctx, p);
    if (s != DSMLP_OK) {
        dsmlpC_plan_destroy(p);
        return s;
    }
    *out = p;
    return DSMLP_OK;
}

void dsmlpC_plan_destroy(plan *p)
{
    if (!p) return;
    for (int i = 0; i < p->nkernels; i++) free(p->kernels[i].source);
    free(p->kernels), free(p->steps), free(p->ssteps), free(p->bufs), free(p->alias);
    free(p);
}

int dsmlpC_plan_find_buf(const plan *p, const char *name)
{
    if (!p || !name) return -1;
    for (int i = 0; i < p->nbufs; i++)
        if (p->bufs[i].kind != BUF_WORK && p->bufs[i].kind != BUF_SCRATCH && !strcmp(p->bufs[i].name, name)) return i;
    return -1;
}

int dsmlpC_plan_add_scratch(plan *p, int *cap, const char *name, size_t bytes, int per_block)
{
    if (dsmlpB_grow((void **)&p->bufs, cap, p->nbufs, sizeof *p->bufs)) return -1;
    plan_buf *b = &p->bufs[p->nbufs];
    memset(b, 0, sizeof *b);
    b->kind = BUF_SCRATCH;
    snprintf(b->name, sizeof b->name, "%s", name);
    b->dtype = DSMLP_F32, b->rows = 1, b->cols = (int64_t)(bytes / 4), b->ws_bytes = bytes, b->per_block = per_block;
    return p->nbufs++;
}

const char *dsmlpC_kernel_arch(const plan *p, const plan_kernel *k)
{
    return k->arch_a && strcmp(p->arch, "sm_90") == 0 ? "sm_90a" : p->arch;
}

int dsmlpC_arch_fp8_cvt(const plan *p) { return atoi(p->arch + 3) >= 89; }

int dsmlpC_gemv_grid(const plan_kernel *k, int64_t resident)
{
    if (!k->gemv_rounds || resident < 1 || k->grid_x <= resident) return k->grid_x;
    const int64_t rounds = (k->grid_x + resident - 1) / resident;
    return (int)((k->grid_x + rounds - 1) / rounds);
}
