/*
** gpu_case.h — what the GPU suites share (compiled into the tests' common
** library, tests/common/). A "case" is one MLP config compiled into a plan,
** with random weights uploaded, that is run at several T on fresh random
** inputs and compared with the CPU reference in double precision.
**
** Check's fork mode is turned off (CK_FORK=no): a child forked after the
** driver is initialized cannot use it. Device memory and streams come from
** the library's driver table (runtime/cuda_api.h): one loader in the tree.
*/
#ifndef DSMLP_GPU_CASE_H
#define DSMLP_GPU_CASE_H

/* What the suites used from the old header-only version, kept in one place. */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "dtype.h"
#include "runtime/context.h"
#include "runtime/cuda_api.h"
#include "runtime/device.h"

#define GU_CU(call)                                                                                   \
    do {                                                                                              \
        CUresult gu_r_ = (call);                                                                      \
        ck_assert_msg(gu_r_ == CUDA_SUCCESS, "%s failed: %s", #call, dsmlpR_cuda_api_errstr(gu_r_));         \
    } while (0)

#define GU_MAX_TENSORS 24

typedef struct gu_tensor {
    const char *name;
    dsmlp_op    op;          /* INPUT, PARAM or OUTPUT */
    dsmlp_dtype dtype;
    int64_t     rows, cols;  /* inputs/outputs: cols per token          */
    void       *host;        /* params: whole; inputs: max_tokens rows  */
    CUdeviceptr dev;         /* inputs and outputs                      */
} gu_tensor;

typedef struct gu_case {
    dsmlp_ctx  *ctx;
    dsmlp_graph *g;
    dsmlp_plan *pl;
    const cuda_api *cu;
    CUstream    stream;
    int64_t     max_tokens;
    dsmlp_dtype dtype;      /* of the output                           */
    int         n;
    gu_tensor   t[GU_MAX_TENSORS];
    int         out;        /* index of the output                     */
    double     *ref;        /* [max_tokens * out cols]                 */
    void       *got;        /* output read back                        */
    char        desc[200];
} gu_case;

typedef struct gu_tally {
    int    cases, failed, skipped;
    int    per_dtype[DSMLP_DTYPE_COUNT];
    double worst[DSMLP_DTYPE_COUNT];
    char   worst_desc[DSMLP_DTYPE_COUNT][200];
} gu_tally;

const cuda_api *gu_cu(dsmlp_ctx *ctx);            /* the driver table (fails the test without one) */
const char     *gu_card(dsmlp_ctx *ctx);          /* device name */
int             gu_cores(void);
double          gu_tol(dsmlp_dtype t);             /* dsmlp_tolerance */

/* Uniform in ±sqrt(3)·scale around shift (variance scale²), never 0, rounded
** to t; reproducible with DSMLP_TEST_SEED whatever the number of threads. */
void gu_fill(dsmlp_dtype t, void *buf, int64_t n, double scale, double shift);
/* The one parameter filler: by name ("w1", "w1_scales", "norm_w", biases),
** weights ~ 1/sqrt(fan_in) so activations stay O(1) in every dtype. */
void gu_fill_param_as(const char *name, dsmlp_dtype t, void *buf, int64_t rows, int64_t cols, int64_t fan_in);

gu_tensor   *gu_find(gu_case *c, const char *name);
int64_t      gu_fan_in(gu_case *c, const char *name);
void         gu_fill_param(gu_case *c, gu_tensor *t);
/* Builds cfg into a plan (max_tokens), uploads random parameters, allocates
** inputs and output. DSMLP_OK or the failing status (message in ctx). */
dsmlp_status gu_case_open(gu_case *c, dsmlp_ctx *ctx, const dsmlp_mlp_config *cfg, int64_t max_tokens,
                          const char *desc);
void         gu_case_close(gu_case *c);
void         gu_case_inputs(gu_case *c, int64_t T);      /* fresh random inputs, uploaded */
void         gu_case_reference(gu_case *c, int64_t T);   /* reference of the host inputs into c->ref */
double       gu_case_error(gu_case *c, int64_t T);       /* output read back vs c->ref (INFINITY on NaN) */
/* One full check at T: fresh inputs, poisoned output, run, sync, compare. */
double       gu_case_check(gu_case *c, int64_t T, dsmlp_status *status);
/* Compiles the distinct kernels of every config's plan on all cores into the
** suite's store; returns how many. */
int          gu_precompile(dsmlp_ctx *ctx, const dsmlp_mlp_config *cfgs, int ncfg, int64_t max_tokens);
/* A context with the mixed-input (wgmma) kernels pinned at every T (mixed_gemm = 2) and no weight-streaming route, the
** reference on all cores; NULL (a note naming what, printed) where the device is not sm_90. splits: 0 the k splits as
** the rule says; 1 in clusters, in two groups wherever those fit (mixed_serial_split = 0, mixed_two_groups = 2); 2 in
** clusters as the rule says (mixed_serial_split = 0). */
dsmlp_ctx   *gu_ctx_wgmma_pinned(const char *what, int splits);
/* The same with the options as the environment leaves them (the rule, the tuner's choices). */
dsmlp_ctx   *gu_ctx_sm90(const char *what);

/* Occurrences of what in text (route texts: how many lines say something). */
int          gu_count(const char *text, const char *what);

void gu_tally_add(gu_tally *ty, dsmlp_dtype t, const char *desc, int64_t T, double err, int ok);
void gu_tally_print(const gu_tally *ty, const char *suite, dsmlp_ctx *ctx);
/* The main of every GPU suite: skip without a device, no fork, a private
** kernel store directory. */
int  gu_main(Suite *(*make)(void), const char *tag);

#endif
