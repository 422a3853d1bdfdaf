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
    dsmlp_ctx_options opts;        /* as given at creation (options.c)       */
    char          *own[6];         /* the copies opts' strings point to      */
    struct store  *store;          /* created lazily by dsmlpR_ctx_store()          */
    struct device *device;         /* created lazily by the runtime          */
    int            ref_threads;    /* reference executor worker threads      */
    unsigned char  trusted[8][32]; /* Ed25519 keys bundles must be signed by */
    int            ntrusted;       /* 0: unsigned bundles are accepted       */
};

/* Copies options into rt (0, or -1 out of memory); frees the copies. */
int          dsmlpR_ctx_options_set(struct ctx_runtime *rt, const dsmlp_ctx_options *o);
void         dsmlpR_ctx_options_free(struct ctx_runtime *rt);
/* The context's options (never NULL). */
static inline const dsmlp_ctx_options *ctx_opts(const dsmlp_ctx *ctx) { return &ctx->rt->opts; }

/* The context's kernel store, opened on first use (never NULL on DSMLP_OK). */
dsmlp_status dsmlpR_ctx_store(dsmlp_ctx *ctx, struct store **out);

#endif
