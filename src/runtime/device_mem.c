/* device_mem.c — the public device-memory calls (dsmlp_device_*): plain,
** synchronous driver calls on the context's device, for programs that bind
** buffers without using CUDA themselves (dsmlp-compile --verify, bindings). */
#include "context.h"
#include "device.h"

#include <stdint.h>

static dsmlp_status ready(dsmlp_ctx *ctx, struct device **d)
{
    if (!ctx) return DSMLP_ERR_INVALID_ARG;
    return dsmlpR_device_get(ctx, d);
}

static dsmlp_status cu_check(dsmlp_ctx *ctx, CUresult r, const char *what, size_t bytes)
{
    if (r == CUDA_SUCCESS) return DSMLP_OK;
    return dsmlpB_err_set(ctx, DSMLP_ERR_CUDA, "%s (%zu bytes) failed: %s", what, bytes, dsmlpR_cuda_api_errstr(r));
}

dsmlp_status dsmlp_device_alloc(dsmlp_ctx *ctx, size_t bytes, void **device_ptr)
{
    struct device *d;
    if (!device_ptr) return ctx ? dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "dsmlp_device_alloc: out is NULL")
                                : DSMLP_ERR_INVALID_ARG;
    *device_ptr = NULL;
    dsmlp_status s = ready(ctx, &d);
    if (s != DSMLP_OK) return s;
    CUdeviceptr p = 0;
    if ((s = cu_check(ctx, d->cu->cuMemAlloc(&p, bytes ? bytes : 1), "cuMemAlloc", bytes)) != DSMLP_OK) return s;
    *device_ptr = (void *)(uintptr_t)p;
    return DSMLP_OK;
}

void dsmlp_device_free(dsmlp_ctx *ctx, void *device_ptr)
{
    struct device *d;
    if (device_ptr && ready(ctx, &d) == DSMLP_OK) d->cu->cuMemFree((CUdeviceptr)(uintptr_t)device_ptr);
}

dsmlp_status dsmlp_device_upload(dsmlp_ctx *ctx, void *device_ptr, const void *host, size_t bytes)
{
    struct device *d;
    dsmlp_status s = ready(ctx, &d);
    if (s != DSMLP_OK) return s;
    /* a pageable copy may return before its DMA lands, on the legacy stream, which non-blocking streams do not
    ** wait for: finish it here, so any stream may read the data next */
    s = cu_check(ctx, d->cu->cuMemcpyHtoD((CUdeviceptr)(uintptr_t)device_ptr, host, bytes), "cuMemcpyHtoD", bytes);
    return s == DSMLP_OK ? cu_check(ctx, d->cu->cuCtxSynchronize(), "cuCtxSynchronize", 0) : s;
}

dsmlp_status dsmlp_device_download(dsmlp_ctx *ctx, void *host, const void *device_ptr, size_t bytes)
{
    struct device *d;
    dsmlp_status s = ready(ctx, &d);
    if (s != DSMLP_OK) return s;
    return cu_check(ctx, d->cu->cuMemcpyDtoH(host, (CUdeviceptr)(uintptr_t)device_ptr, bytes), "cuMemcpyDtoH", bytes);
}

dsmlp_status dsmlp_device_fill(dsmlp_ctx *ctx, void *device_ptr, unsigned char byte, size_t bytes)
{
    struct device *d;
    dsmlp_status s = ready(ctx, &d);
    if (s != DSMLP_OK) return s;
    s = cu_check(ctx, d->cu->cuMemsetD8((CUdeviceptr)(uintptr_t)device_ptr, byte, bytes), "cuMemsetD8", bytes);
    return s == DSMLP_OK ? cu_check(ctx, d->cu->cuCtxSynchronize(), "cuCtxSynchronize", 0) : s;   /* as upload */
}

dsmlp_status dsmlp_device_sync(dsmlp_ctx *ctx)
{
    struct device *d;
    dsmlp_status s = ready(ctx, &d);
    if (s != DSMLP_OK) return s;
    return cu_check(ctx, d->cu->cuCtxSynchronize(), "cuCtxSynchronize", 0);
}

int dsmlp_device_count(dsmlp_ctx *ctx)
{
    const cuda_api *cu;
    int n = 0;
    if (!ctx || dsmlpR_cuda_api_load(ctx, &cu) != DSMLP_OK || cu->cuDeviceGetCount(&n) != CUDA_SUCCESS) return 0;
    return n;
}
