/*
** error.h — the last-error slot every context carries (as its member err,
** see ctx.h): dsmlpB_err_set and friends record a status and a message there.
*/
#ifndef DSMLP_ERROR_H
#define DSMLP_ERROR_H

#include "dsmlp.h"

#define ERR_MSG_MAX 8192

typedef struct err_slot {
    dsmlp_status status;
    char         msg[ERR_MSG_MAX];
} err_slot;

/* Records status and a printf-style message on ctx; returns status.
** ctx may be NULL (then only the status is returned). */
dsmlp_status dsmlpB_err_set(dsmlp_ctx *ctx, dsmlp_status s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Appends "; <more>" to the current message (for adding context). */
void         dsmlpB_err_append(dsmlp_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void         dsmlpB_err_clear(dsmlp_ctx *ctx);

#endif
