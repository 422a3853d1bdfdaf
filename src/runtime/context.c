/* context.c — dsmlp_ctx_create: a base context with the runtime's state. */
#include "context.h"
#include "store.h"

#include <stdlib.h>

/* Implemented by the device layer (src/runtime/device*.c). */
void dsmlpR_device_destroy(struct device *d);

static void runtime_free(struct ctx_runtime *rt)
{
    if (rt->store) dsmlpR_store_close(rt->store);
    if (rt->device) dsmlpR_device_destroy(rt->device);
    dsmlpR_ctx_options_free(rt);
    free(rt);
}

dsmlp_status dsmlp_ctx_create_with(const dsmlp_ctx_options *o, dsmlp_ctx **out)
{
    if (!out) return DSMLP_ERR_INVALID_ARG;
    *out = NULL;
    dsmlp_ctx_options def;
    if (!o) {
        dsmlp_ctx_options_default(&def);
        o = &def;
    }
    dsmlp_ctx *ctx = dsmlpB_ctx_new();
    struct ctx_runtime *rt = calloc(1, sizeof *rt);
    if (!ctx || !rt || dsmlpR_ctx_options_set(rt, o) != 0) {
        if (rt) dsmlpR_ctx_options_free(rt);
        free(ctx);
        free(rt);
        return DSMLP_ERR_NOMEM;
    }
    rt->ref_threads = o->ref_threads;
    ctx->rt = rt;
    ctx->rt_free = runtime_free;
    *out = ctx;
    return DSMLP_OK;
}

/* The environment's settings: what programs that do not choose get. */
dsmlp_status dsmlp_ctx_create(dsmlp_ctx **out)
{
    dsmlp_ctx_options o;
    dsmlp_ctx_options_default(&o);
    dsmlp_ctx_options_from_env(&o);
    return dsmlp_ctx_create_with(&o, out);
}

dsmlp_status dsmlpR_ctx_store(dsmlp_ctx *ctx, struct store **out)
{
    if (!ctx->rt->store) {
        dsmlp_status s = dsmlpR_store_open(ctx, &ctx->rt->store);
        if (s != DSMLP_OK) return s;
    }
    *out = ctx->rt->store;
    return DSMLP_OK;
}
