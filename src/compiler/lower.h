/* lower.h — fused groups -> plan buffers, steps, workspace and kernel sources. */
#ifndef DSMLP_LOWER_H
#define DSMLP_LOWER_H

#include "fuse.h"

/* p arrives zeroed with arch, max_tokens, tf32 and graph_name set. */
dsmlp_status dsmlpC_lower_plan(dsmlp_ctx *ctx, const fuse_result *r, plan *p);

#endif
