/*
** exec_stream.h — the small-T route at run time (exec_stream.c): scratch,
** per-bucket choices, launches of the weight-streaming kernels.
*/
#ifndef DSMLP_EXEC_STREAM_H
#define DSMLP_EXEC_STREAM_H

#include "exec_state.h"

/* Token bucket of T (0: T <= 8, 1: <= 16, ... 4: <= 128) and its largest T. */
int          dsmlpR_exec_bucket(int64_t T);
int          dsmlpR_exec_bucket_tokens(int b);
/* The smallest T of bucket b and the largest the plan's route serves in it (max_tokens 1 for decode: 1), so that a
** plan of fewer tokens than a bucket holds is judged by its own T (hi < lo: the route serves none of the bucket). */
int64_t      dsmlpR_exec_bucket_lo(int b);
int64_t      dsmlpR_exec_bucket_hi(const plan *p, int b);
/* Whether variant v of stream step s serves T tokens. */
int          dsmlpR_exec_variant_serves(const plan *p, const plan_step *s, int v, int64_t T);
/* Grid sizes for up to T tokens: clamped to the kernel's work units, to what the partial-sum scratch holds at T
** and to EXEC_GRID_PER_SM_MAX per SM; resident = SMs x blocks per SM (the occupancy query); default = resident. */
#define EXEC_GRID_PER_SM_MAX 32
int          dsmlpR_exec_grid_clamp(const plan *p, const exec_state *rt, int k, int64_t G, int64_t T);
int          dsmlpR_exec_grid_resident(const plan *p, const exec_state *rt, int k);
int          dsmlpR_exec_grid_default(const plan *p, const exec_state *rt, int k, int64_t T);
/* At most resident blocks with whole tiles each (tiles / ceil(tiles / resident)); with fewer tiles than half the
** resident blocks, each tile in equal parts (tiles x (resident / tiles)); resident where that leaves fewer than 3/4
** of them. */
int          dsmlpR_exec_grid_tiles(const plan *p, const exec_state *rt, int k);
/* Whether stream step i launches nothing with pick (the previous step's persistent kernel runs it); whether the
** pick takes both steps of every persistent pair or neither (0 with *why otherwise). */
int          dsmlpR_exec_step_in_fused(const plan *p, const exec_pick *pick, int i);
int          dsmlpR_exec_pick_consistent(const plan *p, const exec_pick *pick, const char **why);
/* Allocates the scratch, clears the tile counters, picks per bucket (tuning
** record from the store, else the heuristic). */
dsmlp_status dsmlpR_exec_stream_load(dsmlp_ctx *ctx, const plan *p, exec_state *rt);
/* The heuristic's picks (without a stream route: the rule's GEMM choices only), and rt->pick_from saying so. */
void         dsmlpR_exec_stream_heuristic(const plan *p, exec_state *rt);
void         dsmlpR_exec_stream_unload(exec_state *rt);
/* Enqueues stream kernel k of ssteps[step] with `grid` blocks. */
dsmlp_status dsmlpR_exec_launch_stream(dsmlp_ctx *ctx, const plan *p, exec_state *rt, int step, int k, int grid, int64_t T,
                                CUstream stream);

/* Enqueues the generated kernel of kernel step ps (index step of its route), as a run would. */
dsmlp_status dsmlpR_exec_run_step_kernel(dsmlp_plan *pl, const plan_step *ps, int step, int64_t T, CUstream stream);
/* Enqueues every step of one route (0 main, 1 the small-T route with pick). */
dsmlp_status dsmlpR_exec_enqueue(dsmlp_plan *pl, int64_t T, int route, const exec_pick *pick, CUstream st);

#endif
