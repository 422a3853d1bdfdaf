/* exec_load.c — dsmlp_plan_load and the plan's release. */
#include "exec_state.h"
#include "exec_stream.h"
#include "exec_mixed.h"
#include "context.h"
#include "store.h"
#include "tp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static dsmlp_status cu_fail(dsmlp_ctx *ctx, const char *what, CUresult r)
{
    return dsmlpB_err_set(ctx, DSMLP_ERR_CUDA, "%s failed: %s", what, dsmlpR_cuda_api_errstr(r));
}

/* A cubin for sm_XY runs on a device sm_XZ with Z >= Y (same major); sm_90a
** only on 9.0. */
static int arch_runs_on(const char *plan_arch, const struct device *d)
{
    int maj = 0, min = 0;
    char suffix = 0;
    if (sscanf(plan_arch, "sm_%1d%1d%c", &maj, &min, &suffix) < 2) return 0;
    if (suffix) return maj == d->cc_major && min == d->cc_minor;
    return maj == d->cc_major && min <= d->cc_minor;
}

void dsmlpR_exec_set_release(exec_state *rt, dsmlp_bindings *s)
{
    const cuda_api *cu = rt && rt->dev ? rt->dev->cu : NULL;
    for (int b = 0; cu && s->owned && b < rt->nbufs; b++)
        if (s->owned[b]) cu->cuMemFree(s->owned[b]);
    free(s->ptr), free(s->owned);
    s->ptr = s->owned = NULL;
}

void dsmlpR_exec_unload(void *rtp)
{
    exec_state *rt = rtp;
    if (!rt) return;
    dsmlpR_tp_detach(rt->tp);
    const cuda_api *cu = rt->dev ? rt->dev->cu : NULL;
    if (cu) {
        CUcontext cur = NULL;
        cu->cuCtxGetCurrent(&cur);
        if (cur != rt->dev->ctx) cu->cuCtxSetCurrent(rt->dev->ctx);
        /* Work the caller queued may still use the workspace or the modules. */
        cu->cuCtxSynchronize();
        dsmlpR_exec_timeline_dump(rt, rt->def.plan ? rt->def.plan->p : NULL);
        for (int k = 0; rt->kern && k < rt->nkernels; k++)
            if (rt->kern[k].mod) cu->cuModuleUnload(rt->kern[k].mod);
        if (rt->ws && rt->ws_owned) cu->cuMemFree(rt->ws);
        if (rt->split_scratch) cu->cuMemFree(rt->split_scratch);
    }
    /* Sets still alive lose their memory now and refuse to run (their rt is gone). */
    for (dsmlp_bindings *s = rt->sets; s; s = s->next) {
        dsmlpR_exec_set_release(rt, s);
        s->rt = NULL;
    }
    dsmlpR_exec_set_release(rt, &rt->def);
    dsmlpR_exec_stream_unload(rt);
    for (int s = 0; rt->gemm && s < rt->nsteps; s++) dsmlpR_gemm_release(&rt->gemm[s]);
    free(rt->kern);
    free(rt->gemm);
    free(rt->ptr);
    free(rt);
}

void dsmlpR_exec_workspace_parts(const plan *p, size_t *plan_part, size_t *lt_part)
{
    int ngemm = 0;
    for (int s = 0; s < p->nsteps; s++) ngemm += p->steps[s].kind == STEP_GEMM;
    *plan_part = (p->ws_bytes + 255) & ~(size_t)255;
    *lt_part = ngemm ? GEMM_LT_WORKSPACE : 0;
}

void dsmlpR_exec_workspace_place(const plan *p, exec_state *rt)
{
    for (int b = 0; b < p->nbufs; b++)
        if (p->bufs[b].kind == BUF_WORK) rt->ptr[b] = rt->ws ? rt->ws + p->bufs[b].ws_offset : 0;
}

dsmlp_status dsmlpR_exec_workspace_zero(dsmlp_ctx *ctx, exec_state *rt, CUdeviceptr ws, size_t bytes)
{
    const cuda_api *cu = rt->dev->cu;
    CUresult r = cu->cuCtxSynchronize();   /* the memory may be in use until now */
    if (r == CUDA_SUCCESS && cu->cuMemsetD8) {
        r = cu->cuMemsetD8(ws, 0, bytes);
    } else if (r == CUDA_SUCCESS) {   /* a driver without cuMemsetD8: copy zeros */
        static const unsigned char zeros[1 << 16];
        for (size_t off = 0; r == CUDA_SUCCESS && off < bytes; off += sizeof zeros)
            r = cu->cuMemcpyHtoD(ws + off, zeros, bytes - off < sizeof zeros ? bytes - off : sizeof zeros);
    }
    if (r == CUDA_SUCCESS) r = cu->cuCtxSynchronize();
    if (r != CUDA_SUCCESS)
        return dsmlpB_err_set(ctx, DSMLP_ERR_CUDA, "zeroing the %zu-byte workspace failed: %s", bytes, dsmlpR_cuda_api_errstr(r));
    return DSMLP_OK;
}

dsmlp_status dsmlpR_exec_check_regs(dsmlp_ctx *ctx, const cuda_api *cu, const plan_kernel *k, CUfunction fn)
{
    if (k->entry_regs_min <= 0) return DSMLP_OK;   /* setmaxnreg: the block's release must cover its increase */
    int regs = 0;
    CUresult r = cu->cuFuncGetAttribute(&regs, CU_FUNC_ATTRIBUTE_NUM_REGS, fn);
    if (r != CUDA_SUCCESS)
        return dsmlpB_err_set(ctx, DSMLP_ERR_CUDA, "kernel %s: cuFuncGetAttribute(NUM_REGS) failed: %s", k->name,
                              dsmlpR_cuda_api_errstr(r));
    if (regs < k->entry_regs_min)
        return dsmlpB_err_set(ctx, DSMLP_ERR_UNSUPPORTED,
                              "kernel %s: compiled to %d registers per thread, but its warpgroups' register trade "
                              "(setmaxnreg) needs at least %d (it would wait forever); not launching it",
                              k->name, regs, k->entry_regs_min);
    return DSMLP_OK;
}

static dsmlp_status load_kernels(dsmlp_ctx *ctx, const plan *p, exec_state *rt)
{
    struct store *store;
    dsmlp_status s = dsmlpR_ctx_store(ctx, &store);
    if (s != DSMLP_OK) return s;
    const cuda_api *cu = rt->dev->cu;
    for (int i = 0; i < p->nkernels; i++) {
        const plan_kernel *k = &p->kernels[i];
        const void *cubin;
        size_t len;
        char key[65];
        const char *arch = dsmlpC_kernel_arch(p, k);
        if ((s = dsmlpR_store_get(store, ctx, k->name, k->source, arch, &cubin, &len, key)) != DSMLP_OK) {
            dsmlpB_err_append(ctx, "while loading kernel %d (%s)", i, k->name);
            return s;
        }
        CUresult r = cu->cuModuleLoadData(&rt->kern[i].mod, cubin);
        if (r != CUDA_SUCCESS)
            return dsmlpB_err_set(ctx, DSMLP_ERR_CUDA, "kernel %s (%s, key %s): cuModuleLoadData failed: %s", k->name,
                           arch, key, dsmlpR_cuda_api_errstr(r));
        if ((r = cu->cuModuleGetFunction(&rt->kern[i].fn, rt->kern[i].mod, k->name)) != CUDA_SUCCESS)
            return dsmlpB_err_set(ctx, DSMLP_ERR_CUDA, "kernel %s: cuModuleGetFunction failed: %s", k->name,
                           dsmlpR_cuda_api_errstr(r));
        if (k->threads < 1 || k->threads > 1024 || k->grid_x < 1 || k->rows_per_block < 1)
            return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG,
                           "kernel %s: bad launch geometry (threads %d, grid_x %d, rows_per_block %d)", k->name,
                           k->threads, k->grid_x, k->rows_per_block);
        /* token-row kernels stride over row blocks (grid.y is capped at launch); fixed-row ones must fit */
        int64_t rows = k->rows_fixed > 0 ? k->rows_fixed : p->max_tokens;
        int64_t gy = (rows + k->rows_per_block - 1) / k->rows_per_block;
        if (k->rows_fixed > 0 && gy > 65535)
            return dsmlpB_err_set(ctx, DSMLP_ERR_UNSUPPORTED,
                           "kernel %s: %lld rows at %d per block need grid.y = %lld > 65535 (lower max_tokens)",
                           k->name, (long long)rows, k->rows_per_block, (long long)gy);
        if (k->smem_bytes > 48 * 1024) {
            if ((int64_t)k->smem_bytes > rt->dev->smem_optin)
                return dsmlpB_err_set(ctx, DSMLP_ERR_UNSUPPORTED,
                               "kernel %s needs %zu bytes of shared memory; %s offers %d per block", k->name,
                               k->smem_bytes, rt->dev->name, rt->dev->smem_optin);
            r = cu->cuFuncSetAttribute(rt->kern[i].fn, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                                       (int)k->smem_bytes);
            if (r != CUDA_SUCCESS)
                return dsmlpB_err_set(ctx, DSMLP_ERR_CUDA, "kernel %s: cuFuncSetAttribute(%zu bytes smem) failed: %s",
                               k->name, k->smem_bytes, dsmlpR_cuda_api_errstr(r));
        }
        if ((s = dsmlpR_exec_check_regs(ctx, cu, k, rt->kern[i].fn)) != DSMLP_OK) return s;
        if (k->kind == KERN_MIXED) dsmlpR_mixed_occupancy(p, rt, i);
        if (k->kind == KERN_GEMV)   /* a GEMV in rounds launches as many blocks as fit at once (dsmlpC_gemv_grid) */
            rt->kern[i].per_sm = dsmlpR_exec_grid_resident(p, rt, i) / rt->dev->sm_count;
    }
    return DSMLP_OK;
}

static dsmlp_status load_state(dsmlp_ctx *ctx, const plan *p, exec_state *rt)
{
    const cuda_api *cu = rt->dev->cu;
    int nb = p->nbufs;
    rt->nkernels = p->nkernels;
    rt->nsteps = p->nsteps;
    rt->nbufs = nb;
    rt->kern = calloc((size_t)p->nkernels + 1, sizeof *rt->kern);
    rt->gemm = calloc((size_t)p->nsteps + 1, sizeof *rt->gemm);
    rt->def.ptr = calloc((size_t)nb + 1, sizeof *rt->def.ptr);
    rt->def.owned = calloc((size_t)nb + 1, sizeof *rt->def.owned);
    rt->ptr = calloc((size_t)nb + 1, sizeof *rt->ptr);
    if (!rt->kern || !rt->gemm || !rt->def.ptr || !rt->def.owned || !rt->ptr)
        return dsmlpB_err_set(ctx, DSMLP_ERR_NOMEM, "out of host memory loading plan '%s'", p->graph_name);

    int ngemm = 0;
    for (int s = 0; s < p->nsteps; s++) {
        if (p->steps[s].kind == STEP_GEMM) ngemm++;
        if (p->steps[s].kind == STEP_ALL_REDUCE) rt->needs_comm = 1;
    }
    dsmlpR_exec_workspace_parts(p, &rt->ws_plan, &rt->ws_lt);
    /* The caller's workspace (compile option external_workspace) comes later, with dsmlp_plan_set_workspace. */
    if (rt->ws_plan + rt->ws_lt && !p->external_workspace) {
        CUresult r = cu->cuMemAlloc(&rt->ws, rt->ws_plan + rt->ws_lt);
        if (r != CUDA_SUCCESS)
            return dsmlpB_err_set(ctx, DSMLP_ERR_CUDA, "plan '%s': cuMemAlloc of the %zu-byte workspace failed: %s",
                           p->graph_name, rt->ws_plan + rt->ws_lt, dsmlpR_cuda_api_errstr(r));
        rt->ws_owned = 1;
        dsmlp_status zs = dsmlpR_exec_workspace_zero(ctx, rt, rt->ws, rt->ws_plan + rt->ws_lt);
        if (zs != DSMLP_OK) return zs;
    }
    for (int b = 0; b < nb; b++) {
        const plan_buf *pb = &p->bufs[b];
        if (pb->kind != BUF_WORK) continue;
        if (pb->ws_offset + pb->ws_bytes > p->ws_bytes)
            return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "plan '%s': buffer %s [%zu, +%zu) lies outside the %zu-byte workspace",
                           p->graph_name, pb->name, pb->ws_offset, pb->ws_bytes, p->ws_bytes);
    }
    dsmlpR_exec_workspace_place(p, rt);

    dsmlp_status s = load_kernels(ctx, p, rt);
    if (s != DSMLP_OK) return s;
    rt->two_groups = ctx_opts(ctx)->mixed_two_groups;
    rt->serial_split = ctx_opts(ctx)->mixed_serial_split;
    if ((s = dsmlpR_mixed_split_scratch(ctx, p, rt)) != DSMLP_OK) return s;
    if (ngemm && (s = dsmlpR_gemm_handle(ctx, rt->dev, &rt->lt)) != DSMLP_OK) return s;
    /* Scratch for timing the GEMM candidates: the largest weight and activation. */
    size_t max_w = 0, max_act = 0;
    dsmlp_dtype tune_dt = DSMLP_DTYPE_COUNT;   /* the GEMMs' output dtype; mixed plans are not tuned */
    int64_t tune_T = p->max_tokens < GEMM_TUNE_MAX_T ? p->max_tokens : GEMM_TUNE_MAX_T;
    for (int i = 0; i < p->nsteps; i++) {
        if (p->steps[i].kind != STEP_GEMM) continue;
        const plan_gemm *g = &p->steps[i].gemm;
        size_t w = (size_t)g->n * (size_t)g->k, a = (size_t)tune_T * (size_t)(g->n > g->k ? g->n : g->k);
        if (w > max_w) max_w = w;
        if (a > max_act) max_act = a;
        dsmlp_dtype dt = p->bufs[g->d].dtype;
        tune_dt = tune_dt == DSMLP_DTYPE_COUNT || tune_dt == dt ? dt : DSMLP_F64;
    }
    gemm_tuner tuner;
    int tuned = ngemm && tune_dt != DSMLP_F64 && rt->ws && ctx_opts(ctx)->gemm_tune &&
                dsmlpR_gemm_tuner_open(&tuner, cu, tune_dt, max_w, max_act, tune_T, rt->ws + rt->ws_plan, rt->ws_lt);
    for (int i = 0; i < p->nsteps && s == DSMLP_OK; i++)
        if (p->steps[i].kind == STEP_GEMM) s = dsmlpR_gemm_prepare(ctx, rt->lt, p, i, &rt->gemm[i], tuned ? &tuner : NULL);
    if (tuned) dsmlpR_gemm_tuner_close(&tuner);
    if (s == DSMLP_OK) s = dsmlpR_exec_stream_load(ctx, p, rt);
    return s;
}

dsmlp_status dsmlp_plan_load(dsmlp_plan *pl)
{
    if (!pl || !pl->p) return DSMLP_ERR_INVALID_ARG;
    dsmlp_ctx *ctx = pl->ctx;
    const plan *p = pl->p;
    if (pl->rt) return dsmlpB_err_set(ctx, DSMLP_ERR_STATE, "plan '%s' is already loaded", p->graph_name);
    struct device *dev;
    dsmlp_status s = dsmlpR_device_get(ctx, &dev);
    if (s != DSMLP_OK) return s;
    if (!arch_runs_on(p->arch, dev))
        return dsmlpB_err_set(ctx, DSMLP_ERR_UNSUPPORTED, "plan '%s' was compiled for %s, which does not run on %s (%s)",
                       p->graph_name, p->arch, dev->name, dev->arch);
    exec_state *rt = calloc(1, sizeof *rt);
    if (!rt) return dsmlpB_err_set(ctx, DSMLP_ERR_NOMEM, "out of host memory loading plan '%s'", p->graph_name);
    rt->dev = dev;
    rt->def.rt = rt, rt->def.plan = pl, rt->def.ctx = ctx;
    if ((s = load_state(ctx, p, rt)) != DSMLP_OK) {
        dsmlpR_exec_unload(rt);
        return s;
    }
    pl->rt = rt;
    pl->rt_free = dsmlpR_exec_unload;
    dsmlpB_err_clear(ctx);
    return DSMLP_OK;
}
