/*
** context.h — struct dsmlp_ctx. Starts with the error slot (see
** src/compiler/error.h); the rest belongs to the runtime.
*/
#ifndef DSMLP_CONTEXT_H
#define DSMLP_CONTEXT_H

#include "dsmlp.h"
#include "../compiler/error.h"

struct store;    /* src/runtime/store.h  */
struct device;   /* src/runtime/device.h */

struct dsmlp_ctx {
    err_slot       err;            /* must stay first */
    struct store  *store;          /* created lazily by ctx_store()          */
    struct device *device;         /* created lazily by the runtime          */
    int            ref_threads;    /* reference executor worker threads      */
};

/* The context's kernel store, opened on first use (never NULL on DSMLP_OK). */
dsmlp_status ctx_store(dsmlp_ctx *ctx, struct store **out);

#endif
