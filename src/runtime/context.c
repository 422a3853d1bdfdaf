/* context.c — dsmlp_ctx: creation, last error, status names, version. */
#include "context.h"
#include "store.h"

#include <stdlib.h>

static const char *const status_names[DSMLP_STATUS_COUNT] = {
    "DSMLP_OK", "DSMLP_ERR_INVALID_ARG", "DSMLP_ERR_SHAPE", "DSMLP_ERR_DTYPE", "DSMLP_ERR_NOMEM",
    "DSMLP_ERR_NOT_FOUND", "DSMLP_ERR_UNSUPPORTED", "DSMLP_ERR_COMPILE", "DSMLP_ERR_IO", "DSMLP_ERR_CORRUPT",
    "DSMLP_ERR_VERSION", "DSMLP_ERR_SCRIPT", "DSMLP_ERR_NO_DEVICE", "DSMLP_ERR_CUDA", "DSMLP_ERR_CUBLAS",
    "DSMLP_ERR_NCCL", "DSMLP_ERR_STATE",
};

const char *dsmlp_status_name(dsmlp_status s)
{
    return (unsigned)s < DSMLP_STATUS_COUNT ? status_names[s] : "DSMLP_ERR_?";
}

const char *dsmlp_version(void) { return DSMLP_VERSION_STRING; }

/* Implemented by the device layer (src/runtime/device*.c). */
void device_destroy(struct device *d);

dsmlp_status dsmlp_ctx_create(dsmlp_ctx **out)
{
    if (!out) return DSMLP_ERR_INVALID_ARG;
    dsmlp_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx) return DSMLP_ERR_NOMEM;
    ctx->ref_threads = 1;
    *out = ctx;
    return DSMLP_OK;
}

void dsmlp_ctx_free(dsmlp_ctx *ctx)
{
    if (!ctx) return;
    if (ctx->store) store_close(ctx->store);
    if (ctx->device) device_destroy(ctx->device);
    free(ctx);
}

const char *dsmlp_last_error(const dsmlp_ctx *ctx)
{
    return ctx ? ctx->err.msg : "no context";
}

dsmlp_status ctx_store(dsmlp_ctx *ctx, struct store **out)
{
    if (!ctx->store) {
        dsmlp_status s = store_open(ctx, &ctx->store);
        if (s != DSMLP_OK) return s;
    }
    *out = ctx->store;
    return DSMLP_OK;
}

void dsmlp_free(void *p) { free(p); }
