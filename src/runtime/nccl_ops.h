/* nccl_ops.h — the all_reduce plan step on NCCL (linked dynamically). */
#ifndef DSMLP_NCCL_OPS_H
#define DSMLP_NCCL_OPS_H

#include <stddef.h>
#include <cuda.h>
#include "dsmlp.h"

/* In-place sum of count elements of dtype over comm's ranks, on stream. */
dsmlp_status dsmlpR_nccl_all_reduce(dsmlp_ctx *ctx, void *comm, void *buf, size_t count, dsmlp_dtype dt, CUstream stream,
                             const char *what);

#endif
