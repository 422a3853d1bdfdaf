/* exec_run.c — dsmlp_run / dsmlp_run_bound: enqueue every step of a loaded
** plan (main steps, or the small-T route's) on a stream, with the pointers of
** one binding set. No allocation, no synchronization, no host round-trip:
** capturable. */
#include "exec_state.h"
#include "exec_stream.h"
#include "exec_mixed.h"
#include "nccl_ops.h"
#include "context.h"
#include "tp.h"
#include "../compiler/alias.h"
#include "../compiler/route.h"

#include <stdio.h>
#include <string.h>

/* rt->ptr's named entries for set: its pointer, else the plan's own
** (workspace and scratch entries are placed when they change). */
static void resolve(const plan *p, exec_state *rt, const dsmlp_bindings *set)
{
    for (int b = 0; b < p->nbufs; b++) {
        plan_buf_kind k = p->bufs[b].kind;
        if (k == BUF_INPUT || k == BUF_PARAM || k == BUF_OUTPUT) rt->ptr[b] = set->ptr[b] ? set->ptr[b] : rt->def.ptr[b];
    }
}

/* Every external buffer bound, a workspace, no unsafe aliasing, a communicator if needed. */
static dsmlp_status check_ready(dsmlp_plan *pl, exec_state *rt, const CUdeviceptr *ptr, const char *fn)
{
    const plan *p = pl->p;
    char names[1024];
    size_t n = 0;
    int missing = 0;
    names[0] = 0;
    for (int b = 0; b < p->nbufs; b++) {
        if (p->bufs[b].kind == BUF_WORK || p->bufs[b].kind == BUF_SCRATCH || ptr[b]) continue;
        missing++;
        if (n + 1 < sizeof names) {
            int w = snprintf(names + n, sizeof names - n, "%s%s", n ? ", " : "", p->bufs[b].name);
            if (w > 0) n += (size_t)w;
        }
    }
    if (missing)
        return dsmlpB_err_set(pl->ctx, DSMLP_ERR_STATE, "%s: plan '%s' has %d unbound name%s: %s (use dsmlp_bind or dsmlp_upload)",
                       fn, p->graph_name, missing, missing > 1 ? "s" : "", names);
    if (!rt->ws && rt->ws_plan + rt->ws_lt)
        return dsmlpB_err_set(pl->ctx, DSMLP_ERR_STATE,
                       "%s: plan '%s' has no workspace (compiled with external_workspace: install one with "
                       "dsmlp_plan_set_workspace)",
                       fn, p->graph_name);
    int nb = p->nbufs;
    for (int o = 0; o < nb; o++) {
        if (p->bufs[o].kind != BUF_OUTPUT) continue;
        for (int i = 0; i < nb; i++) {
            const char *why = p->bufs[i].kind == BUF_INPUT && ptr[o] == ptr[i] ? dsmlpC_plan_alias_why(p, o, i) : NULL;
            if (why)
                return dsmlpB_err_set(pl->ctx, DSMLP_ERR_UNSUPPORTED,
                               "%s: output '%s' is bound to the same memory as input '%s', which plan '%s' "
                               "cannot do in place: %s; bind a separate output buffer",
                               fn, p->bufs[o].name, p->bufs[i].name, p->graph_name, why);
        }
    }
    if (rt->needs_comm && !rt->comm && !rt->tp)
        return dsmlpB_err_set(pl->ctx, DSMLP_ERR_STATE,
                       "%s: plan '%s' has an all_reduce step but no NCCL communicator or tensor-parallel group "
                       "(dsmlp_set_nccl_comm, dsmlp_plan_set_tp)", fn,
                       p->graph_name);
    return DSMLP_OK;
}

static dsmlp_status run_kernel(dsmlp_plan *pl, exec_state *rt, const plan_step *ps, int step, int kernel, int64_t T,
                               CUstream stream)
{
    const plan *p = pl->p;
    const plan_kernel *k = &p->kernels[kernel];
    long long TT = (long long)T;
    void *args[PLAN_MAX_ARGS + 1];
    args[0] = &TT;
    for (int a = 0; a < k->nargs; a++) args[a + 1] = &rt->ptr[k->args[a]];
    int64_t rows = k->rows_fixed > 0 ? k->rows_fixed : T;
    int64_t gy64 = (rows + k->rows_per_block - 1) / k->rows_per_block;
    unsigned gy = (unsigned)(gy64 > 65535 ? 65535 : gy64);   /* the kernels stride over the rest */
    const int gx = dsmlpC_gemv_grid(k, (int64_t)rt->kern[kernel].per_sm * rt->dev->sm_count);
    CUresult r = rt->dev->cu->cuLaunchKernel(rt->kern[kernel].fn, (unsigned)gx, gy, 1,
                                             (unsigned)k->threads, 1, 1, (unsigned)k->smem_bytes, stream, args, NULL);
    if (r != CUDA_SUCCESS)
        return dsmlpB_err_set(pl->ctx, DSMLP_ERR_CUDA,
                       "dsmlp_run: step %d (%s): cuLaunchKernel of %s (grid %d x %u, block %d, smem %zu) failed: %s",
                       step, ps->label, k->name, gx, gy, k->threads, k->smem_bytes, dsmlpR_cuda_api_errstr(r));
    return DSMLP_OK;
}

dsmlp_status dsmlpR_exec_run_step_kernel(dsmlp_plan *pl, const plan_step *ps, int step, int64_t T, CUstream stream)
{
    return run_kernel(pl, pl->rt, ps, step, ps->kernel, T, stream);
}

/* One step of either route (steps[0, n)); gemm state is per main step. */
static dsmlp_status run_step(dsmlp_plan *pl, exec_state *rt, const plan_step *steps, int n, int i, int gi,
                             const exec_pick *pick, int64_t T, CUstream st)
{
    const plan *p = pl->p;
    const plan_step *ps = &steps[i];
    if (ps->kind == STEP_KERNEL && ps->op.kind == KERN_DEQUANT && dsmlpR_mixed_skips_dequant(p, rt, steps, n, ps, T))
        return DSMLP_OK;   /* every GEMM reading the dequantized weight reads the codes itself */
    if (ps->kind == STEP_KERNEL && (ps->op.kind == KERN_GATED || ps->op.kind == KERN_ACT) &&
        dsmlpR_gemm_applies_act(p, rt, steps, n, ps, T))
        return DSMLP_OK;   /* the GEMM before it (mixed-input kernel or decode GEMV) applied the activation */
    if (ps->kind == STEP_KERNEL && ps->op.kind == KERN_NORM && dsmlpR_gemv_skips_norm(p, rt, steps, n, ps, T))
        return DSMLP_OK;   /* the decode GEMV after it computes the norm itself */
    if (ps->kind == STEP_KERNEL && ps->norm_for) {   /* a norm kept as its own kernel: only if the GEMM lacks it */
        const int j = ps->norm_for - 1;
        if (!dsmlpC_route_step_runs(p, ps, p->ssteps[j].stream.variant[pick->variant[j]])) return DSMLP_OK;
    }
    if (ps->kind == STEP_KERNEL) return run_kernel(pl, rt, ps, i, ps->kernel, T, st);
    if (ps->kind == STEP_STREAM && dsmlpR_exec_step_in_fused(p, pick, i)) return DSMLP_OK;   /* ran in step i - 1's */
    if (ps->kind == STEP_STREAM)
        return dsmlpR_exec_launch_stream(pl->ctx, p, rt, i, ps->stream.variant[pick->variant[i]], pick->grid[i], T, st);
    mixed_pick mp;   /* the mixed-input variant before the decode GEMV: it reads no dequantized copy */
    if (ps->kind == STEP_GEMM && dsmlpR_mixed_pick(p, rt, &ps->gemm, T, &mp))
        return dsmlpR_exec_launch_mixed(pl->ctx, p, rt, ps, i, &mp, dsmlpR_mixed_next_early(p, rt, steps, n, i, &mp, T),
                                        T, st);   /* mixed-input variant */
    const int gemv = ps->kind == STEP_GEMM ? dsmlpR_decode_at(rt, &ps->gemm, T) : -1;
    if (gemv >= 0) return run_kernel(pl, rt, ps, i, gemv, T, st);   /* decode GEMV variant */
    if (ps->kind == STEP_GEMM) {
        const plan_gemm *g = &ps->gemm;
        return dsmlpR_gemm_run(pl->ctx, rt->lt, &rt->gemm[gi], T, (const void *)(uintptr_t)rt->ptr[g->x],
                        (const void *)(uintptr_t)rt->ptr[g->w],
                        g->bias >= 0 ? (const void *)(uintptr_t)rt->ptr[g->bias] : NULL,
                        g->c >= 0 ? (const void *)(uintptr_t)rt->ptr[g->c] : NULL, (void *)(uintptr_t)rt->ptr[g->d],
                        (void *)(uintptr_t)(rt->ws + rt->ws_plan), rt->ws_lt, st);
    }
    const plan_buf *b = &p->bufs[ps->buf];
    char what[96];
    snprintf(what, sizeof what, "dsmlp_run: step %d (%s)", i, ps->label);
    size_t count = (size_t)(b->tokens ? T : b->rows) * (size_t)b->cols;
    if (rt->tp) return dsmlpR_tp_plan_all_reduce(rt->tp, pl->ctx, rt->ptr[ps->buf], count, b->dtype, st, what);
    return dsmlpR_nccl_all_reduce(pl->ctx, rt->comm, (void *)(uintptr_t)rt->ptr[ps->buf], count, b->dtype, st, what);
}

dsmlp_status dsmlpR_exec_enqueue(dsmlp_plan *pl, int64_t T, int route, const exec_pick *pick, CUstream st)
{
    const plan *p = pl->p;
    exec_state *rt = pl->rt;
    const plan_step *steps = route ? p->ssteps : p->steps;
    int n = route ? p->nssteps : p->nsteps;
    dsmlp_status s = DSMLP_OK;
    for (int i = 0; i < n && s == DSMLP_OK; i++) {
        if (!route && rt->tp && dsmlpR_tp_overlap_applies(rt->tp, p, i, T)) {
            s = dsmlpR_tp_overlap_run(pl, i, T, st);   /* GEMM i and its all_reduce i + 1, in token chunks */
            i++;
            continue;
        }
        s = run_step(pl, rt, steps, n, i, route ? steps[i].main_step : i, pick, T, st);
    }
    return s;
}

dsmlp_status dsmlp_run_bound(dsmlp_plan *pl, const dsmlp_bindings *set, int64_t T, void *stream)
{
    if (!pl || !pl->p) return DSMLP_ERR_INVALID_ARG;
    const plan *p = pl->p;
    exec_state *rt = pl->rt;
    const char *fn = set ? "dsmlp_run_bound" : "dsmlp_run";
    if (!rt)
        return dsmlpB_err_set(pl->ctx, DSMLP_ERR_STATE, "%s: plan '%s' is not loaded (call dsmlp_plan_load first)", fn,
                       p->graph_name);
    if (set && (!set->rt || set->plan != pl))
        return dsmlpB_err_set(pl->ctx, DSMLP_ERR_INVALID_ARG, "%s: the binding set belongs to %s, not to plan '%s'", fn,
                       set->rt ? "another plan" : "a plan that was freed", p->graph_name);
    if (T < 1 || T > p->max_tokens)
        return dsmlpB_err_set(pl->ctx, DSMLP_ERR_INVALID_ARG, "%s: T = %lld is outside [1, %lld] (plan '%s' max_tokens)", fn,
                       (long long)T, (long long)p->max_tokens, p->graph_name);
    resolve(p, rt, set ? set : &rt->def);
    dsmlp_status s = check_ready(pl, rt, rt->ptr, fn);
    if (s != DSMLP_OK) return s;
    if ((s = dsmlpR_device_make_current(pl->ctx, rt->dev)) != DSMLP_OK) return s;
    const exec_pick *pick = &rt->pick[dsmlpR_exec_bucket(T)];
    int route = T <= p->stream_max_T && pick->stream && !(pick->main_from > 0 && T >= pick->main_from);
    s = dsmlpR_exec_enqueue(pl, T, route, pick, (CUstream)stream);
    if (s == DSMLP_OK) dsmlpB_err_clear(pl->ctx);
    return s;
}

dsmlp_status dsmlp_run(dsmlp_plan *pl, int64_t T, void *stream)
{
    return dsmlp_run_bound(pl, NULL, T, stream);
}
