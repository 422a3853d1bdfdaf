/*
** route.h — builds the plan's small-T route (plan.ssteps): weight-streaming
** kernels with the norm in the first GEMM's prologue, activation/gating and
** residual in the epilogues, int8 weights converted in registers.
*/
#ifndef DSMLP_ROUTE_H
#define DSMLP_ROUTE_H

#include "plan.h"

/* Fills p->ssteps from p->steps for 1 <= T <= stream_max_T (0: no route).
** A plan where no GEMM qualifies gets no route and a reason in stream_why. */
dsmlp_status dsmlpC_route_build(dsmlp_ctx *ctx, plan *p, int64_t stream_max_T, int pipe);
/* Whether small-T route step s runs when the stream step it serves (s->norm_for - 1) runs kernel k_next: a norm
** kept as its own kernel runs only for kernels that do not normalize in their prologue. */
int          dsmlpC_route_step_runs(const plan *p, const plan_step *s, int k_next);
/* Whether step s (of either route) reads buffer b. */
int          dsmlpC_plan_step_reads(const plan *p, const plan_step *s, int b);

#endif
