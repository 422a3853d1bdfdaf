/*
** verify.h — what verify.c and verify_tp.c share: the driver subset the tool
** loads at run time (it must start without a driver) and the host numbers
** (random values, dtype conversions, tolerances).
*/
#ifndef DSMLP_COMPILE_VERIFY_H
#define DSMLP_COMPILE_VERIFY_H

#include <stddef.h>
#include <stdint.h>
#include "cli.h"

/* ------------------------------------------------------ the driver subset */

typedef int                cu_result;   /* CUresult; 0 = CUDA_SUCCESS */
typedef unsigned long long cu_ptr;      /* CUdeviceptr (64-bit)       */

typedef struct cu_api {
    void *lib;
    cu_result (*init)(unsigned);
    cu_result (*device_get)(int *, int);
    cu_result (*device_count)(int *);
    cu_result (*primary_retain)(void **, int);
    cu_result (*primary_release)(int);
    cu_result (*ctx_get_current)(void **);
    cu_result (*ctx_set_current)(void *);
    cu_result (*ctx_synchronize)(void);
    cu_result (*mem_alloc)(cu_ptr *, size_t);
    cu_result (*mem_free)(cu_ptr);
    cu_result (*htod)(cu_ptr, const void *, size_t);
    cu_result (*dtoh)(void *, cu_ptr, size_t);
    cu_result (*memset8)(cu_ptr, unsigned char, size_t);
    cu_result (*error_string)(cu_result, const char **);
    int       retained;
} cu_api;

int         cu_load(cu_api *cu);
/* Makes a context current: the runtime's if it left one, else GPU 0's. */
int         cu_ready(cu_api *cu);
const char *cu_err(const cu_api *cu, cu_result r);

extern uint64_t rng_state;          /* seeded from DSMLP_SEED or the clock */
double      uniform(void);          /* [-1, 1), never 0 */
void        store_elem(dsmlp_dtype t, void *buf, int64_t i, double v);
double      load_elem(dsmlp_dtype t, const void *buf, int64_t i);
double      tolerance(dsmlp_dtype t);   /* f32 1e-5, f16 2e-3, bf16 1.6e-2 */

#define VERIFY_MAX_T 128

/* A tensor-parallel layer (verify_tp.c): runs its P ranks as processes of
** this program (one per GPU; --tp-oversubscribe lets ranks share GPUs) and
** compares them with the P = 1 reference. Returns 0 pass, 1 fail, 2 skipped
** (with a line saying why), 3 not enough GPUs (with a line), -1 no GPU. */
int verify_tp_layer(const cli_opts *o, const dsmlp_layers *layers, int layer, int ngpu);
/* The rank process: main() runs it when DSMLP_COMPILE_TP_WORKER is set. */
int verify_tp_worker(const char *model, const char *layer);

#endif
