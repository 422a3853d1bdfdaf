/* device.c — one CUDA device per context: primary context, arch, name. */
#include "device.h"
#include "context.h"

#include <cublasLt.h>
#include <stdio.h>
#include <stdlib.h>

static dsmlp_status cu_fail(dsmlp_ctx *ctx, const char *what, CUresult r)
{
    return dsmlpB_err_set(ctx, DSMLP_ERR_CUDA, "%s failed: %s", what, dsmlpR_cuda_api_errstr(r));
}

static dsmlp_status pick_device(dsmlp_ctx *ctx, const cuda_api *cu, CUdevice *dev, CUcontext *cur)
{
    int count = 0;
    CUresult r = cu->cuDeviceGetCount(&count);
    if (r != CUDA_SUCCESS)
        return dsmlpB_err_set(ctx, DSMLP_ERR_NO_DEVICE, "no GPU: cuDeviceGetCount failed with %s", dsmlpR_cuda_api_errstr(r));
    if (count <= 0) return dsmlpB_err_set(ctx, DSMLP_ERR_NO_DEVICE, "no GPU: cuDeviceGetCount returned 0");
    /* An embedding engine that already made a context current (PyTorch does
    ** with the primary one) decides the device. */
    *cur = NULL;
    if (cu->cuCtxGetCurrent(cur) == CUDA_SUCCESS && *cur && cu->cuCtxGetDevice(dev) == CUDA_SUCCESS)
        return DSMLP_OK;
    *cur = NULL;
    int ordinal = ctx_opts(ctx)->device;
    if (ordinal < 0 || ordinal >= count)
        return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "device %d (option device, DSMLP_DEVICE): not a device ordinal in "
                       "[0, %d)", ordinal, count);
    r = cu->cuDeviceGet(dev, ordinal);
    return r == CUDA_SUCCESS ? DSMLP_OK : cu_fail(ctx, "cuDeviceGet", r);
}

dsmlp_status dsmlpR_device_get(dsmlp_ctx *ctx, struct device **out)
{
    if (ctx->rt->device) {
        *out = ctx->rt->device;
        return dsmlpR_device_make_current(ctx, ctx->rt->device);
    }
    *out = NULL;
    const cuda_api *cu;
    dsmlp_status s = dsmlpR_cuda_api_load(ctx, &cu);
    if (s != DSMLP_OK) return s;
    CUdevice dev;
    CUcontext cur;
    if ((s = pick_device(ctx, cu, &dev, &cur)) != DSMLP_OK) return s;

    struct device *d = calloc(1, sizeof *d);
    if (!d) return dsmlpB_err_set(ctx, DSMLP_ERR_NOMEM, "out of host memory for the device state");
    d->cu = cu;
    d->dev = dev;
    CUresult r;
    /* Always retain the primary context: cuBLASLt (runtime API) uses it. */
    if ((r = cu->cuDevicePrimaryCtxRetain(&d->ctx, dev)) != CUDA_SUCCESS) {
        free(d);
        return cu_fail(ctx, "cuDevicePrimaryCtxRetain", r);
    }
    if (!cur && (r = cu->cuCtxSetCurrent(d->ctx)) != CUDA_SUCCESS) {
        cu->cuDevicePrimaryCtxRelease(dev);
        free(d);
        return cu_fail(ctx, "cuCtxSetCurrent", r);
    }
    if (cur) d->ctx = cur;   /* run in the caller's context, not beside it */
    cu->cuDeviceGetAttribute(&d->cc_major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev);
    cu->cuDeviceGetAttribute(&d->cc_minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, dev);
    cu->cuDeviceGetAttribute(&d->sm_count, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, dev);
    cu->cuDeviceGetAttribute(&d->smem_optin, CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN, dev);
    cu->cuDeviceGetAttribute(&d->l2_bytes, CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE, dev);
    int mem_khz = 0, bus_bits = 0;   /* double data rate: two transfers a clock */
    if (cu->cuDeviceGetAttribute(&mem_khz, CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE, dev) == CUDA_SUCCESS &&
        cu->cuDeviceGetAttribute(&bus_bits, CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH, dev) == CUDA_SUCCESS)
        d->dram_gbs = (int)(2.0 * mem_khz * 1e3 * (bus_bits / 8) / 1e9);
    snprintf(d->arch, sizeof d->arch, "sm_%d%d", d->cc_major, d->cc_minor);
    d->pdl = d->cc_major >= 9 && cu->cuLaunchKernelEx != NULL;
    if (cu->cuDeviceGetName(d->name, (int)sizeof d->name, dev) != CUDA_SUCCESS)
        snprintf(d->name, sizeof d->name, "CUDA device %d", (int)dev);
    ctx->rt->device = d;
    *out = d;
    return DSMLP_OK;
}

dsmlp_status dsmlpR_device_make_current(dsmlp_ctx *ctx, struct device *d)
{
    CUcontext cur = NULL;
    if (d->cu->cuCtxGetCurrent(&cur) == CUDA_SUCCESS && cur == d->ctx) return DSMLP_OK;
    CUresult r = d->cu->cuCtxSetCurrent(d->ctx);
    return r == CUDA_SUCCESS ? DSMLP_OK : cu_fail(ctx, "cuCtxSetCurrent", r);
}

void dsmlpR_device_destroy(struct device *d)
{
    if (!d) return;
    if (d->lt) cublasLtDestroy((cublasLtHandle_t)d->lt);
    d->cu->cuDevicePrimaryCtxRelease(d->dev);
    free(d);
}

int dsmlp_device_available(dsmlp_ctx *ctx)
{
    if (!ctx) return 0;
    struct device *d;
    return dsmlpR_device_get(ctx, &d) == DSMLP_OK;
}

const char *dsmlp_device_arch(dsmlp_ctx *ctx)
{
    if (!ctx) return NULL;
    struct device *d;
    return dsmlpR_device_get(ctx, &d) == DSMLP_OK ? d->arch : NULL;
}
