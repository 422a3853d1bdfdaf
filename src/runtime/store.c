/* store.c — PLACEHOLDER until the kernel store lands. */
#include "store.h"
#include "context.h"

dsmlp_status store_open(dsmlp_ctx *ctx, store **out)
{
    *out = NULL;
    return err_set(ctx, DSMLP_ERR_UNSUPPORTED, "the kernel store is not built yet");
}

void store_close(store *s) { (void)s; }
