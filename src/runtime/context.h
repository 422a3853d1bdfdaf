/*
** context.h — the runtime's state attached to a context (ctx->rt, see
** src/base/ctx.h): the kernel store and the device, both made on first use,
** and the reference executor's thread count.
*/
#ifndef DSMLP_CONTEXT_H
#define DSMLP_CONTEXT_H

#include "dsmlp.h"
#include "ctx.h"

struct store;    /* src/runtime/store.h  */
struct device;   /* src/runtime/device.h */

struct ctx_runtime {
    struct store  *store;          /* created lazily by ctx_store()          */
    struct device *device;         /* created lazily by the runtime          */
    int            ref_threads;    /* reference executor worker threads      */
    unsigned char  trusted[8][32]; /* Ed25519 keys bundles must be signed by */
    int            ntrusted;       /* 0: unsigned bundles are accepted       */
};

/* The context's kernel store, opened on first use (never NULL on DSMLP_OK). */
dsmlp_status ctx_store(dsmlp_ctx *ctx, struct store **out);

#endif
