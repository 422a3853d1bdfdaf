/* device.c — PLACEHOLDER until the runtime lands: reports no device. */
#include "device.h"
#include "context.h"

dsmlp_status device_get(dsmlp_ctx *ctx, struct device **out)
{
    *out = NULL;
    return err_set(ctx, DSMLP_ERR_NO_DEVICE, "the GPU runtime is not built yet");
}

void device_destroy(struct device *d) { (void)d; }
