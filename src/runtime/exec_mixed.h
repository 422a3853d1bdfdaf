/* exec_mixed.h — the mixed-input GEMM variant of GEMM steps on dequantized weights (templates/mixed.cu): where it
** serves, and its launch. */
#ifndef DSMLP_EXEC_MIXED_H
#define DSMLP_EXEC_MIXED_H

#include "exec_state.h"

/* How a GEMM step's mixed-input GEMM runs at T: which of its kernels (PLAN_MIXED_TOKENS tokens per block), over how
** many blocks k is split (1: none) and in clusters of how many (split: one cluster a tile; split / 2: two groups, the
** first handing its sums to the second through the plan's split scratch), and how many 128-byte lines of each weight
** row its blocks ask L2 for at entry (0: none). */
typedef struct mixed_pick {
    int kernel, tokens, split, cluster, prefetch_lines;
} mixed_pick;
/* 1 when GEMM step g runs its mixed-input kernel at T on this device (the plan's mixed_mode and the rule in
** exec_mixed.c), with how in *out (may be NULL), else 0. */
int dsmlpR_mixed_pick(const plan *p, const exec_state *rt, const plan_gemm *g, int64_t T, mixed_pick *out);
#define dsmlpR_mixed_serves(p, rt, g, T) dsmlpR_mixed_pick(p, rt, g, T, NULL)
/* 1 when some GEMM step of p has a mixed-input / wgmma kernel under mixed_gemm 1 (auto): a choice the tuner makes
** per token bucket (exec_pick.gemm). */
int dsmlpR_mixed_tunable(const plan *p);
/* 1 when GEMM step g's decode GEMV serves T and reads the weight's codes itself (plan_gemm.decode_q): it runs before
** the mixed-input kernel (but for mixed_gemm = 2). */
#define dsmlpR_gemv_reads_codes(g, T) ((g)->decode_q >= 0 && (g)->decode_kernel >= 0 && (T) <= (g)->decode_max_T)
/* The decode GEMV that serves T tokens of g on this device (plan.h plan_gemm_decode_at; the wide one only on cards
** with a peak DRAM rate under PLAN_DECODE_WIDE_MAX_DRAM_GBS, where it was measured), or -1; and the largest T one serves. */
int     dsmlpR_decode_at(const exec_state *rt, const plan_gemm *g, int64_t T);
int64_t dsmlpR_decode_top(const exec_state *rt, const plan_gemm *g);
/* 1 when the plan has GEMM steps on quantized weights and every one reads the codes itself at T (its mixed-input
** kernel or its decode GEMV: the small-T route choice). */
int dsmlpR_mixed_serves_all(const plan *p, const exec_state *rt, int64_t T);
/* Fills rt->kern[k].per_sm (blocks of mixed-input kernel k one SM holds) and .clusters (how many clusters of
** 2..PLAN_MIXED_SPLIT_MAX of its blocks fit at once: the GPCs' SM counts decide, 132 SMs need not hold 33 clusters of
** 4), from the driver's occupancy queries at load. */
void dsmlpR_mixed_occupancy(const plan *p, exec_state *rt, int k);
/* Allocates and zeroes rt->split_scratch for the k splits in two groups or without clusters (after the occupancy
** queries), unless the context's mixed_two_groups and mixed_serial_split are 0 or the plan has no mixed-input kernel. */
dsmlp_status dsmlpR_mixed_split_scratch(dsmlp_ctx *ctx, const plan *p, exec_state *rt);
/* 1 when dequant step d of steps[0, n) need not run at T: every GEMM step reading its output reads the codes. */
int dsmlpR_mixed_skips_dequant(const plan *p, const exec_state *rt, const plan_step *steps, int n, const plan_step *d,
                               int64_t T);
/* 1 when norm step ns of steps[0, n) need not run at T: the GEMM step reading its output runs its decode GEMV, which
** computes the norm itself (plan_gemm.decode_norm; the mixed-input kernel runs before the GEMV where it serves). */
int dsmlpR_gemv_skips_norm(const plan *p, const exec_state *rt, const plan_step *steps, int n, const plan_step *ns,
                           int64_t T);
/* 1 when activation step gs (KERN_GATED or KERN_ACT) of steps[0, n) need not run at T: the GEMM step writing its input
** runs its mixed-input kernel or its decode GEMV, and that applies the step itself (plan_gemm.mixed_act_out,
** decode_act_out). */
int dsmlpR_gemm_applies_act(const plan *p, const exec_state *rt, const plan_step *steps, int n, const plan_step *gs,
                            int64_t T);
/* The rows of x's tensor map for a launch of `tokens`-token blocks at T: whole token tiles where x is a workspace
** buffer, as many as it holds (at least T); T where x is the caller's. */
int64_t dsmlpR_mixed_x_rows(const plan *p, const plan_gemm *g, int64_t T, int tokens);
/* 1 when step i of steps[0, n), whose mixed-input kernel runs at T as mp says, lets the next launch take SM slots as
** its blocks exit (griddepcontrol.launch_dependents: the next GEMM's mixed-input kernel is launched with programmatic
** dependent launch and waits for this grid's end before it reads): its float kernels, and its code kernels of
** <= PLAN_MIXED_SERIAL_MAX_TOKENS tokens where the next GEMM step runs its mixed-input kernel without clusters. */
int dsmlpR_mixed_next_early(const plan *p, const exec_state *rt, const plan_step *steps, int n, int i,
                            const mixed_pick *mp, int64_t T);
/* Launches GEMM step ps's mixed-input kernel for T tokens on st as mp says (dsmlpR_mixed_pick), letting the next
** launch start early where `early` (dsmlpR_mixed_next_early); the tensor maps of x and the codes are encoded here. */
dsmlp_status dsmlpR_exec_launch_mixed(dsmlp_ctx *ctx, const plan *p, exec_state *rt, const plan_step *ps, int step,
                                      const mixed_pick *mp, int early, int64_t T, CUstream st);

#endif
