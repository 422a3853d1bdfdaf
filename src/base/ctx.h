/*
** ctx.h — struct dsmlp_ctx: the part every layer sees. A context is the
** last-error slot (error.h), a reference count, and runtime state that
** src/runtime attaches (rt, released through rt_free), as a plan carries its
** runtime state. Graphs, plans and script layers made from a context hold a
** reference, so dsmlp_ctx_free never leaves them pointing at freed memory:
** the context goes when the caller and every object made from it let go.
*/
#ifndef DSMLP_BASE_CTX_H
#define DSMLP_BASE_CTX_H

#include <stdatomic.h>
#include "error.h"

struct ctx_runtime;   /* src/runtime/context.h */

struct dsmlp_ctx {
    err_slot            err;                            /* last error          */
    atomic_int          refs;                           /* caller + objects    */
    struct ctx_runtime *rt;                             /* runtime state       */
    void              (*rt_free)(struct ctx_runtime *); /* set by the runtime  */
};

/* A new context with one reference (the caller's) and no runtime state. */
dsmlp_ctx *dsmlpB_ctx_new(void);
/* Takes a reference for an object made from ctx; returns ctx. */
dsmlp_ctx *dsmlpB_ctx_retain(dsmlp_ctx *ctx);
/* Drops one; the last one releases the runtime state and the context. */
void       dsmlpB_ctx_release(dsmlp_ctx *ctx);

#endif
