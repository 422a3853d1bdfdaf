/*
** exec_state.h — the runtime state of a loaded plan (struct dsmlp_plan.rt)
** and the binding sets that hold device pointers for it. Private to
** src/runtime/exec*.c.
**
** Pointers: a binding set holds one pointer per named buffer (inputs,
** outputs, parameters); the plan's default set (rt->def) serves dsmlp_bind,
** dsmlp_upload and dsmlp_run. rt->ptr is the pointer array every step reads:
** its named entries are resolved at the start of each run from the run's set
** (else the default set), its workspace entries are ws + ws_offset (placed
** whenever the workspace changes), its scratch entries are set at load. So
** one plan runs any number of layers.
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
    /* mixed-input GEMMs: clusters of s blocks that fit the device at once (cuOccupancyMaxActiveClusters at load;
    ** 0: none fit or the query failed, so no split of s). A driver without the query: SMs x per_sm / s assumed. */
    int        clusters[PLAN_MIXED_SPLIT_MAX + 1];
    int        per_sm;   /* blocks of it one SM holds at once (occupancy query at load; 0: unknown, 1 assumed) */
} exec_kernel;

struct tp_attach;

struct exec_state;

struct dsmlp_bindings {
    struct exec_state     *rt;      /* NULL once the plan is freed               */
    dsmlp_plan            *plan;
    dsmlp_ctx             *ctx;     /* the plan's context (errors)               */
    CUdeviceptr           *ptr;     /* [nbufs]: bound or uploaded; 0 = unbound   */
    CUdeviceptr           *owned;   /* [nbufs]: memory this set uploaded         */
    struct dsmlp_bindings *next;    /* the plan's list of created sets           */
};

/* A main-route GEMM step's kernel in one token bucket: its generated mixed-input / wgmma kernel or cuBLASLt (or
** dequantize + cuBLASLt); the decode GEMV still comes first where it serves. */
typedef struct exec_gemm_pick {
    signed char use;          /* 1 the generated kernel, 0 cuBLASLt, -1 the rule in exec_mixed.c (not measured)   */
    float       us_on, us_off;/* the route's time with and without it (µs, the bucket's two timed T summed; 0: not timed) */
    signed char lt;           /* cuBLASLt's algorithm where it serves: 0 the load's choice, c + 1 its candidate c in
                              ** the GEMM bucket of the bucket's largest T (gemm.h; measured by dsmlp_plan_tune)      */
    float       us_lt, us_lt_load;  /* the route's time with candidate lt - 1 and with the load's choice (0: not timed) */
} exec_gemm_pick;
#define EXEC_GEMM_PICK_RULE ((exec_gemm_pick){-1, 0, 0, 0, 0, 0})   /* nothing measured: the rule, the load's algorithm */

/* How one token bucket (T <= 8, 16, 32, 64, 128) runs: the main steps or the
** small-T route, for each of its stream steps the variant and grid, and for
** each main-route GEMM step whether its generated kernel serves. */
typedef struct exec_pick {
    int    stream;            /* 1: plan.ssteps                                     */
    int   *variant;           /* [nssteps]: index into ssteps[i].stream.variant      */
    int   *grid;              /* [nssteps]: blocks (stream-K ranges)                 */
    double us_main, us_stream;/* measured block times, 0 when not measured           */
    exec_gemm_pick *gemm;     /* [nsteps]: main-route GEMM step i's kernel (other steps: use -1)        */
    int64_t main_from;        /* > 0: the main route from this T up, in a stream bucket (the heuristic's
                              ** mixed-input GEMMs at T = 2..8, kept under a tuning record, which times
                              ** bucket 0 at T = 1; dsmlp_plan_set_route clears it) */
} exec_pick;

typedef struct exec_state {
    struct device   *dev;
    int              nkernels, nsteps, nbufs;
    cublasLtHandle_t lt;
    exec_kernel     *kern;       /* [nkernels]                                       */
    gemm_op         *gemm;       /* [nsteps]; used by STEP_GEMM entries               */
    CUdeviceptr     *ptr;        /* [nbufs]: the pointers of the run in progress      */
    dsmlp_bindings   def;        /* the plan's own set (dsmlp_bind, dsmlp_run)        */
    dsmlp_bindings  *sets;       /* sets made by dsmlp_bindings_create                */
    CUdeviceptr      ws;         /* workspace: the plan's part, then cuBLASLt's; 0 = none */
    int              ws_owned;   /* dsmlp allocated ws (else the caller installed it) */
    size_t           ws_plan;    /* bytes of the plan's part (256-aligned)            */
    size_t           ws_lt;      /* bytes of cuBLASLt's part                           */
    void            *comm;       /* ncclComm_t from dsmlp_set_nccl_comm                */
    int              needs_comm;
    /* the small-T route */
    CUdeviceptr      scratch;    /* stream partial sums and tile counters              */
    int              grid_max;   /* grid the partial-sum scratch holds at the largest T */
    size_t           part_bytes; /* bytes of that scratch                               */
    exec_pick        pick[PLAN_BUCKETS];
    char             pick_from[PLAN_TEXT_MAX + 256]; /* "heuristic (...)", "tuning record <key>", ...  */
    char             tune_key[65];   /* the plan's tuning-record key on this device    */
    struct tp_attach *tp;        /* dsmlp_plan_set_tp: its group's all-reduce (tp.h)  */
    /* the mixed-input GEMMs' k splits in two groups of clusters or without clusters (exec_mixed.c,
    ** templates/mixed.cu): fp32 sums, tokens x 128 columns for each output tile of a launch (two groups: the first
    ** group's; no clusters: every block's), then a flag for each (tile, block of a group) or a count for each tile,
    ** zero at load and left at zero by every launch; the plan's own, like the stream route's scratch */
    CUdeviceptr      split_scratch;
    size_t           split_sums;   /* bytes of sums (a multiple of 256); 0: neither form */
    size_t           split_flags;  /* flags (unsigned) after them                       */
    int              two_groups;   /* the context's mixed_two_groups                     */
    int              serial_split; /* the context's mixed_serial_split                   */
} exec_state;

/* DSMLP_OK when kernel k, loaded as fn, has the registers per thread its warpgroups' register trade needs
** (plan_kernel.entry_regs_min; setmaxnreg's increase is served from the block's own release, so fewer would wait
** forever), else an error naming both counts. */
dsmlp_status dsmlpR_exec_check_regs(dsmlp_ctx *ctx, const cuda_api *cu, const plan_kernel *k, CUfunction fn);
/* Bytes of the plan's part and of cuBLASLt's part of the workspace. */
void         dsmlpR_exec_workspace_parts(const plan *p, size_t *plan_part, size_t *lt_part);
/* rt->ptr of the workspace buffers from rt->ws (0 without one). */
void         dsmlpR_exec_workspace_place(const plan *p, exec_state *rt);
/* Zeroes bytes at ws and waits for it (kernels keep counters there that start at 0). */
dsmlp_status dsmlpR_exec_workspace_zero(dsmlp_ctx *ctx, exec_state *rt, CUdeviceptr ws, size_t bytes);
/* Frees what set s uploaded (after the device is idle) and its arrays. */
void         dsmlpR_exec_set_release(exec_state *rt, dsmlp_bindings *s);
/* -DDSMLP_TIMELINE=N builds (measurements only): prints the block timeline the kernels' modules kept
** (exec_timeline.c); a no-op otherwise. Call while the modules are loaded and the device is idle. */
void         dsmlpR_exec_timeline_dump(const exec_state *rt, const plan *p);

#endif
