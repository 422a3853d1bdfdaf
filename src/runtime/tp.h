/*
** tp.h — tensor parallelism as deployed: struct dsmlp_tp (a group of P
** processes, one per GPU), its peer-memory all-reduce channels and a plan's
** attachment to a group. Private to src/runtime/tp_*.c and the executor.
**
**   tp_group.c   dsmlp_tp_create / dsmlp_tp_from_nccl: rendezvous, device,
**                NCCL communicator, who shares a host, P2P, the decision
**   tp_env.c     dsmlp_tp_options_default / _from_env and their checks
**   tp_chan.c    peer-memory channels: IPC buffers, the kernel, launches
**   tp_plan.c    dsmlp_plan_set_tp and the all_reduce step (custom / NCCL)
**   tp_rdv*.c    the rendezvous (file or TCP)
*/
#ifndef DSMLP_TP_H
#define DSMLP_TP_H

#include <cuda.h>
#include "dsmlp.h"
#include "tp_rdv.h"
#include "../compiler/plan.h"

struct device;
struct exec_state;
struct tp_attach;

#define TP_MAX_RANKS 8          /* the custom path's limit (NCCL has none)  */
#define TP_MAX_BLOCKS 64        /* blocks of one all-reduce launch           */
/* Layout of each rank's channel allocation (templates/allreduce.cu agrees):
** flags [3 phases][TP_MAX_BLOCKS][TP_MAX_RANKS] u32, then the per-block
** epoch counters, then two halves of (P + 1) regions of data. */
#define TP_CHAN_COUNTERS 6144
#define TP_CHAN_DATA 8192

struct dsmlp_tp {
    dsmlp_ctx        *ctx;
    struct device    *dev;
    dsmlp_tp_options  o;              /* as given, strings copied below         */
    char             *rendezvous;
    int               rank, size;
    tp_rdv           *rdv;            /* NULL for groups made from a caller's comm */
    uint64_t          xround;         /* exchanges through NCCL so far (a label) */
    void             *comm;           /* ncclComm_t or NULL                      */
    int               own_comm;       /* 1: created here, destroyed by tp_free   */
    int               custom;         /* the custom path is on (all ranks agree) */
    int               blocks, threads;/* launch geometry of every channel (equal on all ranks) */
    CUmodule          mod[DSMLP_DTYPE_COUNT];
    CUfunction        fn[DSMLP_DTYPE_COUNT];
    struct tp_attach *attached;       /* plans using the group (detached at free) */
    struct tp_attach *own;            /* dsmlp_tp_reserve's channel, or NULL       */
    char              why[512];       /* why the custom path is off / on          */
    char              desc[1024];     /* dsmlp_tp_describe                        */
};

/* Host all-gather over the group's rendezvous (or its NCCL communicator when
** the group wraps a caller's comm). */
dsmlp_status dsmlpR_tp_allgather(dsmlp_tp *tp, dsmlp_ctx *ctx, const char *tag, const void *mine, size_t bytes, void *all);
/* Every rank passes its own status s (message in ctx when failed); returns
** DSMLP_OK when all succeeded, else an error naming the first failed rank, on
** every rank (so no rank goes on to wait for one that stopped). */
dsmlp_status dsmlpR_tp_agree(dsmlp_tp *tp, dsmlp_ctx *ctx, const char *tag, dsmlp_status s);
/* The all-reduce kernel's name and source for dtype (f32, f16, bf16);
** *src is malloc'ed. */
dsmlp_status dsmlpR_tp_kernel_source(dsmlp_ctx *ctx, dsmlp_dtype dt, char name[64], char **src);
/* The all-reduce kernel for dtype, compiled through the kernel store and
** loaded once per group. */
dsmlp_status dsmlpR_tp_kernel(dsmlp_tp *tp, dsmlp_ctx *ctx, dsmlp_dtype dt, CUfunction *out);
/* Checks options (rank, size, thresholds); used by create and from_env. */
dsmlp_status dsmlpR_tp_options_check(dsmlp_ctx *ctx, const dsmlp_tp_options *o, int need_rank);

/* ------------------------------------------------------ channels */

typedef struct tp_chan {
    dsmlp_tp   *tp;
    CUdeviceptr mine;                    /* this rank's allocation          */
    CUdeviceptr base[TP_MAX_RANKS];      /* every rank's, mapped here       */
    size_t      region;                  /* bytes of one region (capacity)  */
} tp_chan;

/* Collective: every rank allocates (P+1)·2 regions of `region` bytes, the
** ranks exchange IPC handles and open each other's. */
dsmlp_status dsmlpR_tp_chan_create(dsmlp_tp *tp, dsmlp_ctx *ctx, size_t region, tp_chan **out);
/* out[i] = Σ_r in_r[i] for count elements (in may equal out), on stream. No
** host synchronization; capturable. count · size(dt) <= region. */
dsmlp_status dsmlpR_tp_chan_all_reduce(tp_chan *c, dsmlp_ctx *ctx, CUdeviceptr in, CUdeviceptr out, size_t count,
                                dsmlp_dtype dt, CUstream stream, const char *what);
/* Local (no peer waits): a rank touches no peer memory after its last
** all-reduce has completed. Synchronizes the context first. */
void         dsmlpR_tp_chan_free(tp_chan *c);
/* 1 when a message of `bytes` runs two-shot (P >= 4, large enough). */
int          dsmlpR_tp_chan_two_shot(const dsmlp_tp *tp, size_t bytes);

/* ------------------------------------------------ a plan's attachment */

typedef struct tp_attach {
    dsmlp_tp         *tp;
    struct exec_state *rt;              /* the plan's runtime state           */
    tp_chan          *chan;             /* NULL: NCCL only                    */
    size_t            custom_max;       /* bytes up to which chan is used     */
    CUstream          side;             /* overlap: the all-reduce stream     */
    CUevent           ev[2 * 64 + 1];   /* overlap: chunk done / all-reduce done */
    struct tp_attach *next;
} tp_attach;

/* The all_reduce step: custom path or NCCL by size. */
dsmlp_status dsmlpR_tp_plan_all_reduce(tp_attach *a, dsmlp_ctx *ctx, CUdeviceptr buf, size_t count, dsmlp_dtype dt,
                                CUstream stream, const char *what);
/* Frees an attachment (the executor calls it when the plan is unloaded). */
void         dsmlpR_tp_detach(tp_attach *a);

/* Overlap (tp_overlap.c): 1 when step i is a GEMM whose output step i + 1
** all-reduces and T is large enough for the group's overlap_chunks; then
** dsmlpR_tp_overlap_run enqueues both, chunk by chunk, the all-reduces on a side
** stream joined back before it returns. */
int          dsmlpR_tp_overlap_applies(const tp_attach *a, const plan *p, int i, int64_t T);
dsmlp_status dsmlpR_tp_overlap_run(dsmlp_plan *pl, int i, int64_t T, CUstream stream);

#endif
