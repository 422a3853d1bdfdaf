/*
** alias.h — which plan outputs may share memory with which inputs (a caller
** binding an output onto an input, e.g. the block's output onto its residual).
** A property of the plan over both routes: the main steps and the small-T
** route (plan.ssteps) must each allow it. The runtime only reads the answer.
*/
#ifndef DSMLP_ALIAS_H
#define DSMLP_ALIAS_H

#include "plan.h"

/* Fills p->alias: one entry per (output, input) pair that may not share memory, with the reason. */
dsmlp_status dsmlpC_plan_alias_build(dsmlp_ctx *ctx, plan *p);
/* NULL when output buffer out may share memory with input buffer in, else why not. */
const char  *dsmlpC_plan_alias_why(const plan *p, int out, int in);

#endif
