/* exec_bind.c — dsmlp_bind, dsmlp_upload, dsmlp_set_nccl_comm. */
#include "exec_state.h"
#include "context.h"

#include <stdio.h>
#include <string.h>

static const char *kind_name(plan_buf_kind k)
{
    switch (k) {
    case BUF_INPUT: return "input";
    case BUF_PARAM: return "parameter";
    case BUF_OUTPUT: return "output";
    default: return "workspace buffer";
    }
}

/* The plan's bindable names, for "no binding named ..." messages. */
static void list_names(const plan *p, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = 0;
    for (int b = 0; b < p->nbufs && n + 1 < cap; b++) {
        if (p->bufs[b].kind == BUF_WORK) continue;
        int w = snprintf(out + n, cap - n, "%s%s", n ? ", " : "", p->bufs[b].name);
        if (w < 0) break;
        n += (size_t)w;
    }
}

/* Common checks; returns the buffer index or -1 with the error set. */
static int find_binding(dsmlp_plan *pl, const char *name, const char *fn, dsmlp_status *s)
{
    dsmlp_ctx *ctx = pl->ctx;
    const plan *p = pl->p;
    if (!name) {
        *s = err_set(ctx, DSMLP_ERR_INVALID_ARG, "%s: name is NULL", fn);
        return -1;
    }
    if (!pl->rt) {
        *s = err_set(ctx, DSMLP_ERR_STATE, "%s('%s'): plan '%s' is not loaded (call dsmlp_plan_load first)", fn, name,
                     p->graph_name);
        return -1;
    }
    int b = plan_find_buf(p, name);
    if (b < 0 || p->bufs[b].kind == BUF_WORK) {
        char names[1024];
        list_names(p, names, sizeof names);
        *s = err_set(ctx, DSMLP_ERR_NOT_FOUND, "%s: plan '%s' has no input, output or parameter named '%s' (it has: %s)",
                     fn, p->graph_name, name, names);
        return -1;
    }
    return b;
}

static size_t param_bytes(const plan_buf *pb)
{
    return (size_t)(pb->rows > 0 ? pb->rows : 1) * (size_t)pb->cols * dsmlp_dtype_size(pb->dtype);
}

static void drop_owned(exec_state *rt, int b)
{
    if (!rt->owned[b]) return;
    /* Queued work may still read it. */
    rt->dev->cu->cuCtxSynchronize();
    rt->dev->cu->cuMemFree(rt->owned[b]);
    rt->owned[b] = 0;
}

dsmlp_status dsmlp_bind(dsmlp_plan *pl, const char *name, void *device_ptr)
{
    if (!pl || !pl->p) return DSMLP_ERR_INVALID_ARG;
    dsmlp_status s;
    int b = find_binding(pl, name, "dsmlp_bind", &s);
    if (b < 0) return s;
    exec_state *rt = pl->rt;
    if ((uintptr_t)device_ptr % 16)
        return err_set(pl->ctx, DSMLP_ERR_INVALID_ARG,
                       "dsmlp_bind: pointer %p for %s '%s' is not 16-byte aligned (vector loads and cuBLASLt need it)",
                       device_ptr, kind_name(pl->p->bufs[b].kind), name);
    if ((s = device_make_current(pl->ctx, rt->dev)) != DSMLP_OK) return s;
    drop_owned(rt, b);
    rt->ptr[b] = (CUdeviceptr)(uintptr_t)device_ptr;   /* NULL unbinds */
    return DSMLP_OK;
}

dsmlp_status dsmlp_upload(dsmlp_plan *pl, const char *name, const void *host, size_t bytes)
{
    if (!pl || !pl->p) return DSMLP_ERR_INVALID_ARG;
    dsmlp_status s;
    int b = find_binding(pl, name, "dsmlp_upload", &s);
    if (b < 0) return s;
    dsmlp_ctx *ctx = pl->ctx;
    exec_state *rt = pl->rt;
    const plan_buf *pb = &pl->p->bufs[b];
    if (pb->kind != BUF_PARAM)
        return err_set(ctx, DSMLP_ERR_INVALID_ARG,
                       "dsmlp_upload: '%s' is an %s, not a parameter (bind a device pointer with dsmlp_bind)", name,
                       kind_name(pb->kind));
    size_t want = param_bytes(pb);
    if (bytes != want)
        return err_set(ctx, DSMLP_ERR_INVALID_ARG,
                       "dsmlp_upload: '%s' is [%lld,%lld] %s = %zu bytes, but %zu bytes were given", name,
                       (long long)pb->rows, (long long)pb->cols, dsmlp_dtype_name(pb->dtype), want, bytes);
    if (!host) return err_set(ctx, DSMLP_ERR_INVALID_ARG, "dsmlp_upload: host data for '%s' is NULL", name);
    if ((s = device_make_current(ctx, rt->dev)) != DSMLP_OK) return s;
    const cuda_api *cu = rt->dev->cu;
    CUresult r;
    CUdeviceptr mem = rt->owned[b];
    if (!mem && (r = cu->cuMemAlloc(&mem, want)) != CUDA_SUCCESS)
        return err_set(ctx, DSMLP_ERR_CUDA, "dsmlp_upload: cuMemAlloc of %zu bytes for '%s' failed: %s", want, name,
                       cuda_api_errstr(r));
    if ((r = cu->cuMemcpyHtoD(mem, host, want)) != CUDA_SUCCESS) {
        if (!rt->owned[b]) cu->cuMemFree(mem);
        return err_set(ctx, DSMLP_ERR_CUDA, "dsmlp_upload: cuMemcpyHtoD of %zu bytes for '%s' failed: %s", want,
                       name, cuda_api_errstr(r));
    }
    rt->owned[b] = mem;
    rt->ptr[b] = mem;
    return DSMLP_OK;
}

dsmlp_status dsmlp_set_nccl_comm(dsmlp_plan *pl, void *nccl_comm)
{
    if (!pl || !pl->p) return DSMLP_ERR_INVALID_ARG;
    if (!pl->rt)
        return err_set(pl->ctx, DSMLP_ERR_STATE,
                       "dsmlp_set_nccl_comm: plan '%s' is not loaded (call dsmlp_plan_load first)",
                       pl->p->graph_name);
    ((exec_state *)pl->rt)->comm = nccl_comm;
    return DSMLP_OK;
}
