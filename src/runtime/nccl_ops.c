/* nccl_ops.c — see nccl_ops.h. */
#include "nccl_ops.h"
#include "context.h"

#include <nccl.h>

dsmlp_status dsmlpR_nccl_all_reduce(dsmlp_ctx *ctx, void *comm, void *buf, size_t count, dsmlp_dtype dt, CUstream stream,
                             const char *what)
{
    ncclDataType_t t;
    switch (dt) {
    case DSMLP_F32: t = ncclFloat32; break;
    case DSMLP_F16: t = ncclFloat16; break;
    case DSMLP_BF16: t = ncclBfloat16; break;
    default:
        return dsmlpB_err_set(ctx, DSMLP_ERR_UNSUPPORTED, "%s: all_reduce of %s is not supported", what,
                       dsmlp_dtype_name(dt));
    }
    ncclResult_t r = ncclAllReduce(buf, buf, count, t, ncclSum, (ncclComm_t)comm, (cudaStream_t)stream);
    if (r != ncclSuccess)
        return dsmlpB_err_set(ctx, DSMLP_ERR_NCCL, "%s: ncclAllReduce of %zu %s elements failed: %s", what, count,
                       dsmlp_dtype_name(dt), ncclGetErrorString(r));
    return DSMLP_OK;
}
