/*
** exec_tune.h — measured choices for the small-T route (exec_tune.c):
** tuning records in the kernel store, dsmlp_plan_tune.
*/
#ifndef DSMLP_EXEC_TUNE_H
#define DSMLP_EXEC_TUNE_H

#include "exec_state.h"

/* Looks up the plan's tuning record for this device in the store and applies
** it over the heuristic's picks; absent or unusable records leave them (and
** say so in rt->pick_from). Never fails the load. */
dsmlp_status dsmlpR_exec_tune_apply_record(dsmlp_ctx *ctx, const plan *p, exec_state *rt);

#endif
