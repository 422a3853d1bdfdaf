/* ctx.c — the context's life (see ctx.h), last error, status names, version. */
#include "ctx.h"

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

dsmlp_ctx *dsmlpB_ctx_new(void)
{
    dsmlp_ctx *ctx = calloc(1, sizeof *ctx);
    if (ctx) atomic_init(&ctx->refs, 1);
    return ctx;
}

dsmlp_ctx *dsmlpB_ctx_retain(dsmlp_ctx *ctx)
{
    if (ctx) atomic_fetch_add(&ctx->refs, 1);
    return ctx;
}

void dsmlpB_ctx_release(dsmlp_ctx *ctx)
{
    if (!ctx || atomic_fetch_sub(&ctx->refs, 1) != 1) return;
    if (ctx->rt && ctx->rt_free) ctx->rt_free(ctx->rt);
    free(ctx);
}

void dsmlp_ctx_free(dsmlp_ctx *ctx) { dsmlpB_ctx_release(ctx); }

const char *dsmlp_last_error(const dsmlp_ctx *ctx)
{
    return ctx ? ctx->err.msg : "no context";
}

void dsmlp_free(void *p) { free(p); }
