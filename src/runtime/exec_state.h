/*
** exec_state.h — the runtime state of a loaded plan (struct dsmlp_plan.rt).
** Private to src/runtime/exec*.c.
*/
#ifndef DSMLP_EXEC_STATE_H
#define DSMLP_EXEC_STATE_H

#include "exec.h"
#include "gemm.h"
#include "device.h"
#include "plan_handle.h"

typedef struct exec_kernel {
    CUmodule   mod;
    CUfunction fn;
} exec_kernel;

struct tp_attach;
/* How one token bucket (T <= 8, 16, 32, 64, 128) runs: the main steps or the
** small-T route, and for each of its stream steps the variant and grid. */
typedef struct exec_pick {
    int    stream;            /* 1: plan.ssteps                                     */
    int   *variant;           /* [nssteps]: index into ssteps[i].stream.variant      */
    int   *grid;              /* [nssteps]: blocks (stream-K ranges)                 */
    double us_main, us_stream;/* measured block times, 0 when not measured           */
} exec_pick;

typedef struct exec_state {
    struct device   *dev;
    int              nkernels, nsteps, nbufs;
    cublasLtHandle_t lt;
    exec_kernel     *kern;       /* [nkernels]                                       */
    gemm_op         *gemm;       /* [nsteps]; used by STEP_GEMM entries               */
    CUdeviceptr     *ptr;        /* [nbufs]: bound, uploaded or workspace address     */
    CUdeviceptr     *owned;      /* [nbufs]: memory dsmlp_upload allocated            */
    unsigned char   *alias_ok;   /* [nbufs*nbufs]: [o*nbufs+i] output o may alias input i */
    char           **alias_why;  /* [nbufs*nbufs]: why not (NULL when ok)            */
    CUdeviceptr      ws;         /* plan workspace, then the cuBLASLt workspace        */
    size_t           ws_plan;    /* bytes of the plan's part (256-aligned)            */
    size_t           ws_lt;      /* bytes of cuBLASLt's part                           */
    void            *comm;       /* ncclComm_t from dsmlp_set_nccl_comm                */
    int              needs_comm;
    /* the small-T route */
    CUdeviceptr      scratch;    /* stream partial sums and tile counters              */
    int              grid_max;   /* largest grid the partial-sum scratch holds         */
    exec_pick        pick[PLAN_BUCKETS];
    char             pick_from[PLAN_TEXT_MAX + 256]; /* "heuristic (...)", "tuning record <key>", ...  */
    char             tune_key[65];   /* the plan's tuning-record key on this device    */
    struct tp_attach *tp;        /* dsmlp_plan_set_tp: its group's all-reduce (tp.h)  */
} exec_state;

#endif
