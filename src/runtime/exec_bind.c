/* exec_bind.c — binding sets (the plan's own and created ones): bind, upload,
** create, free; the NCCL communicator; the workspace. */
#include "exec_state.h"
#include "context.h"

#include <stdio.h>
#include <stdlib.h>
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

static dsmlp_status plan_gone(const dsmlp_bindings *s, const char *fn)
{
    return dsmlpB_err_set(s->ctx, DSMLP_ERR_STATE, "%s: the binding set's plan was freed", fn);
}

/* Common checks; returns the buffer index or -1 with the error set. */
static int find_binding(dsmlp_bindings *set, const char *name, const char *fn, dsmlp_status *s)
{
    dsmlp_ctx *ctx = set->ctx;
    const plan *p = set->plan->p;
    if (!name) {
        *s = dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "%s: name is NULL", fn);
        return -1;
    }
    int b = dsmlpC_plan_find_buf(p, name);
    if (b < 0 || p->bufs[b].kind == BUF_WORK) {
        char names[1024];
        list_names(p, names, sizeof names);
        *s = dsmlpB_err_set(ctx, DSMLP_ERR_NOT_FOUND, "%s: plan '%s' has no input, output or parameter named '%s' (it has: %s)",
                     fn, p->graph_name, name, names);
        return -1;
    }
    return b;
}

static size_t param_bytes(const plan_buf *pb)
{
    return (size_t)(pb->rows > 0 ? pb->rows : 1) * (size_t)pb->cols * dsmlp_dtype_size(pb->dtype);
}

static void drop_owned(exec_state *rt, dsmlp_bindings *set, int b)
{
    if (!set->owned[b]) return;
    /* Queued work may still read it. */
    rt->dev->cu->cuCtxSynchronize();
    rt->dev->cu->cuMemFree(set->owned[b]);
    set->owned[b] = 0;
}

static dsmlp_status set_bind(dsmlp_bindings *set, const char *name, void *device_ptr, const char *fn)
{
    exec_state *rt = set->rt;
    if (!rt) return plan_gone(set, fn);
    dsmlp_status s;
    int b = find_binding(set, name, fn, &s);
    if (b < 0) return s;
    if ((uintptr_t)device_ptr % 16)
        return dsmlpB_err_set(set->ctx, DSMLP_ERR_INVALID_ARG,
                       "%s: pointer %p for %s '%s' is not 16-byte aligned (vector loads and cuBLASLt need it)", fn,
                       device_ptr, kind_name(set->plan->p->bufs[b].kind), name);
    if ((s = dsmlpR_device_make_current(set->ctx, rt->dev)) != DSMLP_OK) return s;
    drop_owned(rt, set, b);
    set->ptr[b] = (CUdeviceptr)(uintptr_t)device_ptr;   /* NULL unbinds */
    return DSMLP_OK;
}

static dsmlp_status set_upload(dsmlp_bindings *set, const char *name, const void *host, size_t bytes, const char *fn)
{
    exec_state *rt = set->rt;
    if (!rt) return plan_gone(set, fn);
    dsmlp_status s;
    int b = find_binding(set, name, fn, &s);
    if (b < 0) return s;
    dsmlp_ctx *ctx = set->ctx;
    const plan_buf *pb = &set->plan->p->bufs[b];
    if (pb->kind != BUF_PARAM)
        return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG,
                       "%s: '%s' is an %s, not a parameter (bind a device pointer with dsmlp_bind)", fn, name,
                       kind_name(pb->kind));
    size_t want = param_bytes(pb);
    if (bytes != want)
        return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "%s: '%s' is [%lld,%lld] %s = %zu bytes, but %zu bytes were given",
                       fn, name, (long long)pb->rows, (long long)pb->cols, dsmlp_dtype_name(pb->dtype), want, bytes);
    if (!host) return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "%s: host data for '%s' is NULL", fn, name);
    if ((s = dsmlpR_device_make_current(ctx, rt->dev)) != DSMLP_OK) return s;
    const cuda_api *cu = rt->dev->cu;
    CUresult r;
    CUdeviceptr mem = set->owned[b];
    if (!mem && (r = cu->cuMemAlloc(&mem, want)) != CUDA_SUCCESS)
        return dsmlpB_err_set(ctx, DSMLP_ERR_CUDA, "%s: cuMemAlloc of %zu bytes for '%s' failed: %s", fn, want, name,
                       dsmlpR_cuda_api_errstr(r));
    if ((r = cu->cuMemcpyHtoD(mem, host, want)) != CUDA_SUCCESS) {
        if (!set->owned[b]) cu->cuMemFree(mem);
        return dsmlpB_err_set(ctx, DSMLP_ERR_CUDA, "%s: cuMemcpyHtoD of %zu bytes for '%s' failed: %s", fn, want, name,
                       dsmlpR_cuda_api_errstr(r));
    }
    set->owned[b] = mem;
    set->ptr[b] = mem;
    /* the copy may still be in flight on the legacy stream, which a non-blocking stream running the plan next
    ** would not wait for */
    if ((r = cu->cuCtxSynchronize()) != CUDA_SUCCESS)
        return dsmlpB_err_set(ctx, DSMLP_ERR_CUDA, "%s: uploading '%s': %s", fn, name, dsmlpR_cuda_api_errstr(r));
    return DSMLP_OK;
}

static dsmlp_status need_loaded(dsmlp_plan *pl, const char *fn, const char *name)
{
    if (pl->rt) return DSMLP_OK;
    return dsmlpB_err_set(pl->ctx, DSMLP_ERR_STATE, "%s('%s'): plan '%s' is not loaded (call dsmlp_plan_load first)", fn,
                   name ? name : "(null)", pl->p->graph_name);
}

dsmlp_status dsmlp_bind(dsmlp_plan *pl, const char *name, void *device_ptr)
{
    if (!pl || !pl->p) return DSMLP_ERR_INVALID_ARG;
    dsmlp_status s = need_loaded(pl, "dsmlp_bind", name);
    return s != DSMLP_OK ? s : set_bind(&((exec_state *)pl->rt)->def, name, device_ptr, "dsmlp_bind");
}

dsmlp_status dsmlp_upload(dsmlp_plan *pl, const char *name, const void *host, size_t bytes)
{
    if (!pl || !pl->p) return DSMLP_ERR_INVALID_ARG;
    dsmlp_status s = need_loaded(pl, "dsmlp_upload", name);
    return s != DSMLP_OK ? s : set_upload(&((exec_state *)pl->rt)->def, name, host, bytes, "dsmlp_upload");
}

dsmlp_status dsmlp_bindings_bind(dsmlp_bindings *b, const char *name, void *device_ptr)
{
    if (!b) return DSMLP_ERR_INVALID_ARG;
    return set_bind(b, name, device_ptr, "dsmlp_bindings_bind");
}

dsmlp_status dsmlp_bindings_upload(dsmlp_bindings *b, const char *name, const void *host, size_t bytes)
{
    if (!b) return DSMLP_ERR_INVALID_ARG;
    return set_upload(b, name, host, bytes, "dsmlp_bindings_upload");
}

size_t dsmlp_bindings_bytes(const dsmlp_bindings *b)
{
    size_t n = 0;
    if (!b || !b->rt) return 0;
    const plan *p = b->plan->p;
    for (int i = 0; i < p->nbufs; i++)
        if (b->owned[i]) n += param_bytes(&p->bufs[i]);
    return n;
}

dsmlp_plan *dsmlp_bindings_plan(const dsmlp_bindings *b)
{
    return b && b->rt ? b->plan : NULL;
}

dsmlp_status dsmlp_bindings_create(dsmlp_plan *pl, dsmlp_bindings **out)
{
    if (!out) return pl ? dsmlpB_err_set(pl->ctx, DSMLP_ERR_INVALID_ARG, "dsmlp_bindings_create: out is NULL")
                        : DSMLP_ERR_INVALID_ARG;
    *out = NULL;
    if (!pl || !pl->p) return DSMLP_ERR_INVALID_ARG;
    dsmlp_status s = need_loaded(pl, "dsmlp_bindings_create", "");
    if (s != DSMLP_OK) return s;
    exec_state *rt = pl->rt;
    dsmlp_bindings *b = calloc(1, sizeof *b);
    if (b) {
        b->ptr = calloc((size_t)rt->nbufs + 1, sizeof *b->ptr);
        b->owned = calloc((size_t)rt->nbufs + 1, sizeof *b->owned);
    }
    if (!b || !b->ptr || !b->owned) {
        if (b) free(b->ptr), free(b->owned);
        free(b);
        return dsmlpB_err_set(pl->ctx, DSMLP_ERR_NOMEM, "dsmlp_bindings_create: out of host memory");
    }
    b->rt = rt, b->plan = pl, b->ctx = pl->ctx;
    b->next = rt->sets;
    rt->sets = b;
    *out = b;
    return DSMLP_OK;
}

void dsmlp_bindings_free(dsmlp_bindings *b)
{
    if (!b) return;
    exec_state *rt = b->rt;
    if (rt) {
        for (dsmlp_bindings **pp = &rt->sets; *pp; pp = &(*pp)->next)
            if (*pp == b) {
                *pp = b->next;
                break;
            }
        int owns = 0;
        for (int i = 0; i < rt->nbufs; i++) owns |= b->owned[i] != 0;
        if (owns && dsmlpR_device_make_current(b->ctx, rt->dev) == DSMLP_OK) rt->dev->cu->cuCtxSynchronize();
    }
    dsmlpR_exec_set_release(rt, b);   /* after the plan was freed this frees the arrays only */
    free(b);
}

dsmlp_status dsmlp_set_nccl_comm(dsmlp_plan *pl, void *nccl_comm)
{
    if (!pl || !pl->p) return DSMLP_ERR_INVALID_ARG;
    dsmlp_status s = need_loaded(pl, "dsmlp_set_nccl_comm", "");
    if (s != DSMLP_OK) return s;
    ((exec_state *)pl->rt)->comm = nccl_comm;
    return DSMLP_OK;
}

/* ---------------------------------------------------------------- workspace */

dsmlp_status dsmlp_plan_workspace_size(const dsmlp_plan *pl, size_t *bytes)
{
    if (!pl || !pl->p || !bytes) return DSMLP_ERR_INVALID_ARG;
    size_t a, b;
    dsmlpR_exec_workspace_parts(pl->p, &a, &b);
    *bytes = a + b;
    return DSMLP_OK;
}

dsmlp_status dsmlp_plan_set_workspace(dsmlp_plan *pl, void *device_ptr, size_t bytes)
{
    if (!pl || !pl->p) return DSMLP_ERR_INVALID_ARG;
    dsmlp_status s = need_loaded(pl, "dsmlp_plan_set_workspace", "");
    if (s != DSMLP_OK) return s;
    exec_state *rt = pl->rt;
    dsmlp_ctx *ctx = pl->ctx;
    size_t need = rt->ws_plan + rt->ws_lt;
    if (device_ptr && (uintptr_t)device_ptr % 256)
        return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "dsmlp_plan_set_workspace: pointer %p is not 256-byte aligned",
                       device_ptr);
    if (device_ptr && bytes < need)
        return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG,
                       "dsmlp_plan_set_workspace: plan '%s' needs %zu bytes of workspace, %zu were given "
                       "(dsmlp_plan_workspace_size)",
                       pl->p->graph_name, need, bytes);
    if ((s = dsmlpR_device_make_current(ctx, rt->dev)) != DSMLP_OK) return s;
    const cuda_api *cu = rt->dev->cu;
    CUdeviceptr ws = (CUdeviceptr)(uintptr_t)device_ptr;
    int owned = 0;
    if (!ws && need) {   /* back to a workspace of our own */
        CUresult r = cu->cuMemAlloc(&ws, need);
        if (r != CUDA_SUCCESS)
            return dsmlpB_err_set(ctx, DSMLP_ERR_CUDA, "plan '%s': cuMemAlloc of the %zu-byte workspace failed: %s",
                           pl->p->graph_name, need, dsmlpR_cuda_api_errstr(r));
        owned = 1;
    }
    if (ws && (s = dsmlpR_exec_workspace_zero(ctx, rt, ws, device_ptr ? bytes : need)) != DSMLP_OK) {
        if (owned) cu->cuMemFree(ws);
        return s;
    }
    if (rt->ws && rt->ws_owned) {
        cu->cuCtxSynchronize();   /* queued runs may still use the old one */
        cu->cuMemFree(rt->ws);
    }
    rt->ws = ws;
    rt->ws_owned = owned;
    dsmlpR_exec_workspace_place(pl->p, rt);
    return DSMLP_OK;
}
