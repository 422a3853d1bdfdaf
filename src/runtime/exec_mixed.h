/* exec_mixed.h — the mixed-input GEMM variant of GEMM steps on dequantized weights (templates/mixed.cu): where it
** serves, and its launch. */
#ifndef DSMLP_EXEC_MIXED_H
#define DSMLP_EXEC_MIXED_H

#include "exec_state.h"

/* 1 when GEMM step g runs its mixed-input kernel at T on this device (the plan's mixed_mode and the rule: its grid
** fills 7/10 of the SMs, its token tiles are at least 3/4 full, T <= 1536), else 0. */
int dsmlpR_mixed_serves(const plan *p, const exec_state *rt, const plan_gemm *g, int64_t T);
/* 1 when dequant step d of steps[0, n) need not run at T: every GEMM step reading its output runs mixed. */
int dsmlpR_mixed_skips_dequant(const plan *p, const exec_state *rt, const plan_step *steps, int n, const plan_step *d,
                               int64_t T);
/* Launches GEMM step ps's mixed-input kernel for T tokens on st (tensor maps of x and the codes encoded here). */
dsmlp_status dsmlpR_exec_launch_mixed(dsmlp_ctx *ctx, const plan *p, exec_state *rt, const plan_step *ps, int step,
                                      int64_t T, CUstream st);

#endif
