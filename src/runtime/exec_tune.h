/*
** exec_tune.h — measured choices for the small-T route and the main route's
** GEMM kernels (exec_tune.c): tuning records in the kernel store,
** dsmlp_plan_tune.
*/
#ifndef DSMLP_EXEC_TUNE_H
#define DSMLP_EXEC_TUNE_H

#include "exec_state.h"

/* Looks up the plan's tuning record for this device in the store and applies
** it over the heuristic's picks; absent or unusable records leave them (and
** say so in rt->pick_from). Never fails the load. */
dsmlp_status dsmlpR_exec_tune_apply_record(dsmlp_ctx *ctx, const plan *p, exec_state *rt);
/* A record's "mixed <b> steps <n> <c> <on> <off>..." line into out[b].gemm: 0, or -1 where it does not fit p (a
** bucket or step count off, a choice outside -1..1, 1 for a step without a generated GEMM kernel, a negative time;
** the steps before the bad field may be written: callers parse into a copy). */
int          dsmlpR_exec_tune_parse_mixed(const plan *p, const char *line, exec_pick *out);

#endif
