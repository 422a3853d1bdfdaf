/*
** tp_plan.c — a plan attached to a tensor-parallel group: dsmlp_plan_set_tp
** (collective: shapes checked, the channel made once) and the all_reduce
** step, which takes the peer-memory path up to custom_max_bytes and NCCL
** above (and wherever the custom path is off). Every rank computes the same
** choice from the same message size and settings.
*/
#include "tp.h"
#include "context.h"
#include "device.h"
#include "exec_state.h"
#include "nccl_ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What ranks compare before they share a channel. */
typedef struct attach_shape {
    int32_t nsteps;      /* all_reduce steps                    */
    int32_t dtype;
    int64_t cols;        /* of the first one                    */
    int64_t max_elems;   /* largest message, elements           */
} attach_shape;

static dsmlp_status plan_shape(dsmlp_ctx *ctx, const plan *p, attach_shape *sh)
{
    memset(sh, 0, sizeof *sh);
    sh->dtype = -1;
    for (int i = 0; i < p->nsteps; i++) {
        if (p->steps[i].kind != STEP_ALL_REDUCE) continue;
        const plan_buf *b = &p->bufs[p->steps[i].buf];
        int64_t elems = (b->tokens ? p->max_tokens : b->rows) * b->cols;
        if (sh->nsteps && sh->dtype != (int32_t)b->dtype)
            return dsmlpB_err_set(ctx, DSMLP_ERR_UNSUPPORTED,
                           "dsmlp_plan_set_tp: plan '%s' all-reduces both %s and %s values (one dtype per plan)",
                           p->graph_name, dsmlp_dtype_name((dsmlp_dtype)sh->dtype), dsmlp_dtype_name(b->dtype));
        if (!sh->nsteps) sh->dtype = (int32_t)b->dtype, sh->cols = b->cols;
        if (elems > sh->max_elems) sh->max_elems = elems;
        sh->nsteps++;
    }
    return DSMLP_OK;
}

static dsmlp_status make_side(tp_attach *a, dsmlp_ctx *ctx)
{
    const cuda_api *cu = a->tp->dev->cu;
    if (!cu->cuStreamCreate || !cu->cuEventCreate || !cu->cuEventRecord || !cu->cuStreamWaitEvent)
        return dsmlpB_err_set(ctx, DSMLP_ERR_UNSUPPORTED, "overlap needs cuStreamCreate/cuEventCreate/cuStreamWaitEvent");
    CUresult r = cu->cuStreamCreate(&a->side, CU_STREAM_NON_BLOCKING);
    for (int i = 0; r == CUDA_SUCCESS && i < (int)(sizeof a->ev / sizeof *a->ev); i++)
        r = cu->cuEventCreate(&a->ev[i], CU_EVENT_DISABLE_TIMING);
    if (r != CUDA_SUCCESS)
        return dsmlpB_err_set(ctx, DSMLP_ERR_CUDA, "dsmlp_plan_set_tp: the overlap stream and events: %s",
                       dsmlpR_cuda_api_errstr(r));
    return DSMLP_OK;
}

/* Frees what an attachment holds (not linked anywhere any more). */
static void attach_release(tp_attach *a)
{
    dsmlpR_tp_chan_free(a->chan);   /* synchronizes the context */
    const cuda_api *cu = a->tp->dev->cu;
    if (dsmlpR_device_make_current(NULL, a->tp->dev) == DSMLP_OK) {
        for (int i = 0; i < (int)(sizeof a->ev / sizeof *a->ev); i++)
            if (a->ev[i]) cu->cuEventDestroy(a->ev[i]);
        if (a->side) cu->cuStreamDestroy(a->side);
    }
    free(a);
}

void dsmlpR_tp_detach(tp_attach *a)
{
    if (!a) return;
    for (tp_attach **pp = &a->tp->attached; *pp; pp = &(*pp)->next)
        if (*pp == a) {
            *pp = a->next;
            break;
        }
    if (a->rt) a->rt->tp = NULL;
    attach_release(a);
}

dsmlp_status dsmlp_plan_set_tp(dsmlp_plan *pl, dsmlp_tp *tp)
{
    if (!pl || !pl->p) return DSMLP_ERR_INVALID_ARG;
    dsmlp_ctx *ctx = pl->ctx;
    exec_state *rt = pl->rt;
    const plan *p = pl->p;
    if (!rt)
        return dsmlpB_err_set(ctx, DSMLP_ERR_STATE, "dsmlp_plan_set_tp: plan '%s' is not loaded (call dsmlp_plan_load first)",
                       p->graph_name);
    if (rt->tp) dsmlpR_tp_detach(rt->tp);
    if (!tp) return DSMLP_OK;
    /* Local problems still go through the 'attach' exchange below, so the
    ** other ranks fail with this one instead of waiting for it. */
    dsmlp_status s = DSMLP_OK;
    if (tp->dev->ctx != rt->dev->ctx)
        s = dsmlpB_err_set(ctx, DSMLP_ERR_STATE,
                    "dsmlp_plan_set_tp: plan '%s' runs on GPU %d (%s), the group's rank %d on GPU %d: compile the "
                    "plan after dsmlp_tp_create, on the same context",
                    p->graph_name, (int)rt->dev->dev, rt->dev->name, tp->rank, (int)tp->dev->dev);
    else s = dsmlpR_device_make_current(ctx, tp->dev);
    attach_shape mine, *all = calloc((size_t)tp->size, sizeof *all);
    tp_attach *a = calloc(1, sizeof *a);
    if (!all || !a) s = dsmlpB_err_set(ctx, DSMLP_ERR_NOMEM, "dsmlp_plan_set_tp: out of host memory");
    if (s == DSMLP_OK) s = plan_shape(ctx, p, &mine);
    s = dsmlpR_tp_agree(tp, ctx, "attach", s);
    if (s == DSMLP_OK) s = dsmlpR_tp_allgather(tp, ctx, "attach-shape", &mine, sizeof mine, all);
    for (int j = 0; s == DSMLP_OK && j < tp->size; j++)
        if (memcmp(&all[j], &all[0], sizeof mine))
            s = dsmlpB_err_set(ctx, DSMLP_ERR_STATE,
                        "dsmlp_plan_set_tp: rank %d attaches a plan with %d all-reduce step(s) of %s [%lld elements, "
                        "%lld columns] but rank 0 one with %d of %s [%lld, %lld] (attach the same layers in the same "
                        "order on every rank)",
                        j, all[j].nsteps, all[j].dtype >= 0 ? dsmlp_dtype_name((dsmlp_dtype)all[j].dtype) : "-",
                        (long long)all[j].max_elems, (long long)all[j].cols, all[0].nsteps,
                        all[0].dtype >= 0 ? dsmlp_dtype_name((dsmlp_dtype)all[0].dtype) : "-",
                        (long long)all[0].max_elems, (long long)all[0].cols);
    free(all);
    if (s == DSMLP_OK) {
        a->tp = tp;
        size_t max_bytes = (size_t)mine.max_elems * (mine.nsteps ? dsmlp_dtype_size((dsmlp_dtype)mine.dtype) : 0);
        size_t cap = !tp->custom || tp->size == 1 ? 0 : tp->o.nccl && tp->o.custom_max_bytes < max_bytes
                                                            ? tp->o.custom_max_bytes : max_bytes;
        size_t region = (cap + 15) & ~(size_t)15;
        a->custom_max = cap;   /* messages up to cap take the channel */
        if (region) {
            CUfunction fn;
            s = dsmlpR_tp_agree(tp, ctx, "attach-kernel", dsmlpR_tp_kernel(tp, ctx, (dsmlp_dtype)mine.dtype, &fn));
            if (s == DSMLP_OK) s = dsmlpR_tp_chan_create(tp, ctx, region, &a->chan);
        }
        if (s == DSMLP_OK && tp->o.overlap_chunks > 1) s = make_side(a, ctx);
    }
    if (s != DSMLP_OK) {
        if (a && a->tp) attach_release(a);
        else free(a);
        return s;
    }
    a->rt = rt;
    a->next = tp->attached;
    tp->attached = a;
    rt->tp = a;
    dsmlpB_err_clear(ctx);
    return DSMLP_OK;
}

dsmlp_status dsmlp_tp_reserve(dsmlp_tp *tp, size_t max_bytes)
{
    if (!tp) return DSMLP_ERR_INVALID_ARG;
    dsmlp_ctx *ctx = tp->ctx;
    dsmlp_status s = dsmlpR_device_make_current(ctx, tp->dev);
    if (tp->own) attach_release(tp->own), tp->own = NULL;
    tp_attach *a = calloc(1, sizeof *a);
    if (!a) s = dsmlpB_err_set(ctx, DSMLP_ERR_NOMEM, "dsmlp_tp_reserve: out of host memory");
    uint64_t mine = max_bytes, *all = calloc((size_t)tp->size, sizeof *all);
    if (!all && s == DSMLP_OK) s = dsmlpB_err_set(ctx, DSMLP_ERR_NOMEM, "dsmlp_tp_reserve: out of host memory");
    s = dsmlpR_tp_agree(tp, ctx, "reserve", s);
    if (s == DSMLP_OK) s = dsmlpR_tp_allgather(tp, ctx, "reserve-size", &mine, sizeof mine, all);
    for (int j = 0; s == DSMLP_OK && j < tp->size; j++)
        if (all[j] != mine)
            s = dsmlpB_err_set(ctx, DSMLP_ERR_STATE, "dsmlp_tp_reserve: rank %d reserves %llu bytes, rank %d %llu", j,
                        (unsigned long long)all[j], tp->rank, (unsigned long long)mine);
    free(all);
    if (s == DSMLP_OK) {
        a->tp = tp;
        size_t cap = !tp->custom || tp->size == 1 ? 0
                     : tp->o.nccl && tp->o.custom_max_bytes < max_bytes ? tp->o.custom_max_bytes : max_bytes;
        size_t region = (cap + 15) & ~(size_t)15;
        a->custom_max = cap;
        CUfunction fn;
        static const dsmlp_dtype dts[] = {DSMLP_F32, DSMLP_F16, DSMLP_BF16};
        for (int i = 0; region && s == DSMLP_OK && i < 3; i++)
            s = dsmlpR_tp_agree(tp, ctx, "reserve-kernel", dsmlpR_tp_kernel(tp, ctx, dts[i], &fn));
        if (region && s == DSMLP_OK) s = dsmlpR_tp_chan_create(tp, ctx, region, &a->chan);
    }
    if (s != DSMLP_OK) {
        if (a && a->tp) attach_release(a);
        else free(a);
        return s;
    }
    tp->own = a;
    dsmlpB_err_clear(ctx);
    return DSMLP_OK;
}

dsmlp_status dsmlp_tp_all_reduce(dsmlp_tp *tp, void *buf, size_t count, dsmlp_dtype dt, void *stream)
{
    if (!tp) return DSMLP_ERR_INVALID_ARG;
    dsmlp_ctx *ctx = tp->ctx;
    if (dt != DSMLP_F32 && dt != DSMLP_F16 && dt != DSMLP_BF16)
        return dsmlpB_err_set(ctx, DSMLP_ERR_UNSUPPORTED, "dsmlp_tp_all_reduce: %s is not supported (f32, f16, bf16)",
                       dsmlp_dtype_name(dt));
    if (count && (!buf || (uintptr_t)buf % 16))
        return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "dsmlp_tp_all_reduce: buffer %p is %s", buf,
                       buf ? "not 16-byte aligned" : "NULL");
    dsmlp_status s = dsmlpR_device_make_current(ctx, tp->dev);
    if (s != DSMLP_OK) return s;
    if (tp->own) return dsmlpR_tp_plan_all_reduce(tp->own, ctx, (CUdeviceptr)(uintptr_t)buf, count, dt, (CUstream)stream,
                                           "dsmlp_tp_all_reduce");
    if (tp->size == 1) return DSMLP_OK;
    if (tp->comm)
        return dsmlpR_nccl_all_reduce(ctx, tp->comm, buf, count, dt, (CUstream)stream, "dsmlp_tp_all_reduce");
    return dsmlpB_err_set(ctx, DSMLP_ERR_STATE, "dsmlp_tp_all_reduce: the group has no NCCL: call dsmlp_tp_reserve first");
}

dsmlp_status dsmlpR_tp_plan_all_reduce(tp_attach *a, dsmlp_ctx *ctx, CUdeviceptr buf, size_t count, dsmlp_dtype dt,
                                CUstream stream, const char *what)
{
    if (a->tp->size == 1) return DSMLP_OK;   /* a sum over one rank */
    size_t bytes = count * dsmlp_dtype_size(dt);
    if (a->chan && bytes <= a->custom_max)
        return dsmlpR_tp_chan_all_reduce(a->chan, ctx, buf, buf, count, dt, stream, what);
    if (a->tp->comm) return dsmlpR_nccl_all_reduce(ctx, a->tp->comm, (void *)(uintptr_t)buf, count, dt, stream, what);
    return dsmlpB_err_set(ctx, DSMLP_ERR_STATE, "%s: %zu bytes exceed the peer-memory channel and the group has no NCCL",
                   what, bytes);
}
