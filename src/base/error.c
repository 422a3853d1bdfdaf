/* error.c — the per-context last-error message. */
#include "ctx.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

dsmlp_status dsmlpB_err_set(dsmlp_ctx *ctx, dsmlp_status s, const char *fmt, ...)
{
    if (!ctx) return s;
    err_slot *e = &ctx->err;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    e->status = s;
    return s;
}

void dsmlpB_err_append(dsmlp_ctx *ctx, const char *fmt, ...)
{
    if (!ctx) return;
    err_slot *e = &ctx->err;
    size_t len = strlen(e->msg);
    if (len + 3 >= sizeof e->msg) return;
    memcpy(e->msg + len, "; ", 2);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg + len + 2, sizeof e->msg - len - 2, fmt, ap);
    va_end(ap);
}

void dsmlpB_err_clear(dsmlp_ctx *ctx)
{
    if (!ctx) return;
    err_slot *e = &ctx->err;
    e->status = DSMLP_OK;
    e->msg[0] = '\0';
}
