/*
** exec_tune.h — measured choices for the small-T route and the main route's
** GEMM kernels (exec_tune.c): tuning records in the kernel store,
** dsmlp_plan_tune.
*/
#ifndef DSMLP_EXEC_TUNE_H
#define DSMLP_EXEC_TUNE_H

#include "exec_state.h"

/* Whether dsmlp_plan_tune has something to measure in p: a weight-streaming route, a generated GEMM kernel, or,
** in a plan that runs alone (no all-reduce step: that one needs its group), a GEMM step cuBLASLt serves (its
** candidate algorithms). */
int          dsmlpR_exec_tunable(const plan *p);
/* Looks up the plan's tuning record for this device in the store and applies
** it over the heuristic's picks; absent or unusable records leave them (and
** say so in rt->pick_from). Never fails the load. */
dsmlp_status dsmlpR_exec_tune_apply_record(dsmlp_ctx *ctx, const plan *p, exec_state *rt);
/* A record's "mixed <b> steps <n> <c> <on> <off>..." line into out[b].gemm: 0, or -1 where it does not fit p (a
** bucket or step count off, a choice outside -1..1, 1 for a step without a generated GEMM kernel, a negative time;
** the steps before the bad field may be written: callers parse into a copy). */
int          dsmlpR_exec_tune_parse_mixed(const plan *p, const char *line, exec_pick *out);
/* A record's "lt <b> steps <n> <c> <us> <us_load>..." line into out[b].gemm (c: exec_gemm_pick.lt): 0, or -1 where
** it does not fit p (counts off, c outside 0..GEMM_CANDS, c > 0 on a step that is no GEMM, a negative time). */
int          dsmlpR_exec_tune_parse_lt(const plan *p, const char *line, exec_pick *out);
/* Sets every GEMM step's cuBLASLt algorithm per bucket as rt->pick's lt fields say; 0, or -1 (with *why) where a pick
** names a candidate the load does not have (another cuBLASLt offers fewer): the load's choice serves that one. */
int          dsmlpR_exec_apply_lt(const plan *p, exec_state *rt, const char **why);

#endif
