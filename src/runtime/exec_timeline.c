/*
** exec_timeline.c — measurements only: in a -DDSMLP_TIMELINE=N build (docs/quant.md) the norm, mixed-input, decode
** GEMV and gated kernels keep, for every block of their module's N-th launch, global-timer times in the module's
** ds_tl_rec (templates/common.cuh). Before the modules are unloaded this prints them, one line per block:
** "tl KIND NAME block sm t0 t1 t2 t3 t4" on stdout, for bench/timeline.py. Other builds print nothing.
*/
#include "exec_state.h"

#include <stdio.h>
#include <stdlib.h>

#ifndef DSMLP_TIMELINE
#define DSMLP_TIMELINE 0
#endif

#if DSMLP_TIMELINE
enum { TL_MAX = 1024, TL_N = 5 };   /* DS_TL_MAX, DS_TL_N */

static int read_global(const cuda_api *cu, CUmodule m, const char *name, void *dst, size_t bytes)
{
    CUdeviceptr p;
    size_t n;
    return cu->cuModuleGetGlobal(&p, &n, m, name) == CUDA_SUCCESS && n == bytes && cu->cuMemcpyDtoH(dst, p, bytes) == CUDA_SUCCESS;
}
#endif

void dsmlpR_exec_timeline_dump(const exec_state *rt, const plan *p)
{
#if DSMLP_TIMELINE
    const cuda_api *cu = rt->dev ? rt->dev->cu : NULL;
    if (!cu || !cu->cuModuleGetGlobal || !rt->kern || !p) return;
    unsigned long long(*rec)[TL_N] = malloc(sizeof(unsigned long long[TL_MAX][TL_N]));
    unsigned *sms = malloc(sizeof(unsigned[TL_MAX]));
    for (int k = 0; rec && sms && k < rt->nkernels && k < p->nkernels; k++) {
        const plan_kernel *pk = &p->kernels[k];
        unsigned n = 0;
        const char *kind = pk->kind == KERN_NORM ? "norm" : pk->kind == KERN_MIXED ? "mixed" : pk->kind == KERN_GEMV ? "gemv"
                         : pk->kind == KERN_GATED ? "gated" : NULL;
        if (!rt->kern[k].mod || !kind) continue;
        if (!read_global(cu, rt->kern[k].mod, "ds_tl_blocks", &n, sizeof n) || n == 0) continue;   /* launch N never ran */
        if (!read_global(cu, rt->kern[k].mod, "ds_tl_rec", rec, sizeof(unsigned long long[TL_MAX][TL_N])) ||
            !read_global(cu, rt->kern[k].mod, "ds_tl_sms", sms, sizeof(unsigned[TL_MAX])))
            continue;
        for (unsigned b = 0; b < n && b < TL_MAX; b++)
            printf("tl %s %s %u %u %llu %llu %llu %llu %llu\n", kind, pk->name, b, sms[b],
                   rec[b][0], rec[b][1], rec[b][2], rec[b][3], rec[b][4]);
    }
    fflush(stdout);
    free(rec), free(sms);
#else
    (void)rt, (void)p;
#endif
}
