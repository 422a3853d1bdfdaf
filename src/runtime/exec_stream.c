/*
** exec_stream.c — the small-T route at run time: its scratch memory, which
** route and tile serve each token bucket (a tuning record from the store, else
** the heuristic below), and the launches (programmatic dependent launch where
** the device has it, so a kernel's weight loads start while the previous one
** drains; the kernels wait with griddepcontrol before touching its results).
*/
#include "exec_stream.h"
#include "exec_tune.h"
#include "exec_mixed.h"
#include "context.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The heuristic without a tuning record: the small-T route serves T up to
** this (documented in docs/stream.md; measured on an H200, bench/RESULTS.md:
** with int8 weights it is 2.5-3.8x faster than the main steps at T <= 8 and
** 2.1-2.6x at T = 17-32; at T = 64 the register-fed kernels and the main
** steps were level). */
#define HEURISTIC_STREAM_MAX_T 32
/* ... and up to this where every stream step has a W ring kernel for the bucket: faster than the main steps over
** the bucket on the H200 (2026-12-02, T = 33/48/64: GELU-4096 int8 177/206/240 vs 221/223/223 us, fp8 176/204/235
** vs 283/285/286; SwiGLU-4096 int8 237/276/317 vs 284/286/287; with the ring with warps across tokens, GELU int8
** 149/149/163 us, 2026-12-02 later), and up to T = 128 since that ring's split tiles are summed with every load of
** a part in flight (GELU-4096 int8 T = 64/96/128 106.8/152.0/159.6 vs main steps 223.9/227.3/226.9 us, SwiGLU-4096
** int8 157.1/211.2/223.2 vs 286.8/293.7/295.2, 2026-12-02 evening). */
#define HEURISTIC_RING_MAX_T 128
/* From this T the ring with warps across tokens (plan_stream.tall_v) instead of the T <= 64 ring (wide_v): T = 33
** 97.7 vs 175.9 us, T = 64 106.8 vs 238.5 (GELU-4096 int8, H200, 2026-12-02 evening); at T = 17..32 the T <= 64
** ring's bodies are faster for SwiGLU-4096 int8 (118.8/139.0 vs 137.7/145.9 us at T = 17/32) and level for GELU
** (100.5 vs 98.2 at T = 32). */
#define HEURISTIC_TALL_MIN_T 33
/* From a bucket whose smallest T is at least this, a plan whose quantized GEMMs all run mixed-input kernels on the
** main route (exec_mixed.c) takes the main route: no dequantized copy, 32..128-token wgmma blocks (H200,
** bench/RESULTS.md fifteenth session, main vs the W rings: GELU-4096 int8 T = 17/32/64/128 66.8/66.9/80.1/96.8 vs
** 84.9/100.0/105.6/148.6 us, SwiGLU-4096 int8 102.8/103.4/114.6/132.0 vs 118.4/138.5/150.4/214.7; T = 12/16: GELU-4096
** int8 66.3/66.4 vs 77.3/82.7, fp8 64.7/64.6 vs 76.1/80.5, and since the narrow mixed kernels run two blocks per SM,
** sixteenth session, SwiGLU-4096 int8 94.3/94.3 vs 99.9/103.9). Within bucket 0 (T <= 8) by T: below. */
#define HEURISTIC_MIXED_MIN_T 9
/* Within bucket 0, the main route's mixed-input GEMMs from T = 2, int8 and fp8 codes alike: H200, bench/RESULTS.md
** twenty-first session, W rings vs main: GELU-4096 int8 T = 2/4/8 56.7/60.5/67.5 vs 55.8/55.9/53.8 us, SwiGLU-4096
** int8 76.4/79.7/85.3 vs 72.1/69.4/67.4; fp8 won on the rings at T = 2 then (GELU 53.7 vs 55.0, SwiGLU 70.7 vs 72.3)
** but since x's tensor map covers whole token tiles (exec_mixed.c), the main route wins it too (twenty-third session,
** as loaded: GELU-4096 fp8 T = 2/3 52.0-52.1/52.7 vs 53.1-53.5/55.0-55.5, SwiGLU-4096 fp8 66.4-66.6/66.8-67.1 vs
** 67.5-67.7/69.1-69.3), and T = 1 too since the 16-token kernels run before the decode GEMV (twenty-fourth session,
** as loaded: GELU-4096 int8 50.5-50.6 vs the rings' 55.3, SwiGLU-4096 int8 63.2-63.5 vs 75.3, GELU fp8 49.9-50.2 vs
** 51.6-52.4, SwiGLU fp8 63.5-64.2 vs 66.5-66.8): such a plan's bucket 0 is all main route. */
#define HEURISTIC_MIXED_MIN_T_SMALL 1

/* The smallest T in lo..hi from which every T up to hi runs all of the plan's quantized GEMMs as mixed-input kernels,
** at least HEURISTIC_MIXED_MIN_T_SMALL; 0: none. */
static int64_t main_from(const plan *p, const exec_state *rt, int64_t lo, int64_t hi)
{
    int64_t from = lo > HEURISTIC_MIXED_MIN_T_SMALL ? lo : HEURISTIC_MIXED_MIN_T_SMALL;
    if (from > hi) return 0;
    for (int64_t T = from; T <= hi; T++)
        if (!dsmlpR_mixed_serves_all(p, rt, T)) return 0;
    return from;
}

int dsmlpR_exec_bucket(int64_t T)
{
    int b = 0;
    for (int64_t nt = 8; nt < T && b < PLAN_BUCKETS - 1; nt *= 2) b++;
    return b;
}

int dsmlpR_exec_bucket_tokens(int b) { return 8 << b; }

int64_t dsmlpR_exec_bucket_lo(int b) { return b ? (int64_t)dsmlpR_exec_bucket_tokens(b - 1) + 1 : 1; }

int64_t dsmlpR_exec_bucket_hi(const plan *p, int b)
{
    const int64_t hi = dsmlpR_exec_bucket_tokens(b);
    return hi < p->stream_max_T ? hi : p->stream_max_T;
}

int dsmlpR_exec_variant_serves(const plan *p, const plan_step *s, int v, int64_t T)
{
    return v >= 0 && v < s->stream.nvariants && T <= 8 * (int64_t)p->kernels[s->stream.variant[v]].sk_maxnt;
}

int dsmlpR_exec_step_in_fused(const plan *p, const exec_pick *pick, int i)
{
    const plan_step *s = &p->ssteps[i];
    return s->kind == STEP_STREAM && s->stream.fused_role == 2 && pick->variant[i] == s->stream.fused_v &&
           s->stream.fused_v >= 0;
}

int dsmlpR_exec_pick_consistent(const plan *p, const exec_pick *pick, const char **why)
{
    for (int i = 0; i + 1 < p->nssteps; i++) {
        const plan_step *s = &p->ssteps[i];
        if (s->kind != STEP_STREAM || s->stream.fused_v < 0 || s->stream.fused_role != 1) continue;
        const int a = pick->variant[i] == s->stream.fused_v, b = pick->variant[i + 1] == s->stream.fused_v;
        if (a != b || (a && pick->variant[i] != pick->variant[i + 1])) {
            *why = "a persistent kernel picked for one step of its pair only";
            return 0;
        }
    }
    return 1;
}

/* Blocks of kernel k that fit one SM at once (registers, shared memory). */
static int occupancy(const plan *p, const exec_state *rt, int k)
{
    const cuda_api *cu = rt->dev->cu;
    int n = 0;
    if (cu->cuOccupancyMaxActiveBlocksPerMultiprocessor &&
        cu->cuOccupancyMaxActiveBlocksPerMultiprocessor(&n, rt->kern[k].fn, p->kernels[k].threads,
                                                        p->kernels[k].smem_bytes) != CUDA_SUCCESS)
        n = 0;
    return n > 0 ? n : 1;
}

/* A block's partial sums take 2 x T x (its tile's columns) floats (sk_part_bytes holds them for the kernel's
** largest T), so the scratch sized for grid_max blocks at the plan's largest T holds more blocks at smaller T
** (dsmlp_plan_set_route may pin such grids; the tuner stops at two waves, docs/stream.md says why). */
int dsmlpR_exec_grid_clamp(const plan *p, const exec_state *rt, int k, int64_t G, int64_t T)
{
    const plan_kernel *pk = &p->kernels[k];
    if (G > pk->sk_units) G = pk->sk_units;   /* every block gets work: the fixup counts on it */
    const size_t row = pk->sk_part_bytes / (size_t)(8 * (pk->sk_maxnt > 0 ? pk->sk_maxnt : 1));
    if (T < 1) T = 1;
    if (row > 0) {
        const int64_t fit = (int64_t)(rt->part_bytes / (row * (size_t)T));
        if (G > fit) G = fit;
    }
    if (G > EXEC_GRID_PER_SM_MAX * (int64_t)rt->dev->sm_count) G = EXEC_GRID_PER_SM_MAX * (int64_t)rt->dev->sm_count;
    if (pk->sk_fused) {   /* its blocks wait for each other: all must be resident */
        const int64_t R = dsmlpR_exec_grid_resident(p, rt, k);
        if (G > R) G = R;
    }
    return G < 1 ? 1 : (int)G;
}

int dsmlpR_exec_grid_resident(const plan *p, const exec_state *rt, int k)
{
    return occupancy(p, rt, k) * rt->dev->sm_count;
}

int dsmlpR_exec_grid_tiles(const plan *p, const exec_state *rt, int k)
{
    const int64_t R = dsmlpR_exec_grid_resident(p, rt, k), n = p->kernels[k].sk_tiles;
    if (n < 1) return (int)R;
    /* fewer tiles than half the resident blocks: each tile in equal parts, so no block's range straddles two */
    const int64_t per = (n + R - 1) / R, G = 2 * n <= R ? n * (R / n) : (n + per - 1) / per;
    /* where that keeps 3/4 of the resident blocks; for the ring with warps across tokens, whose split tiles cost
    ** little (their parts are summed from registers), 31/32 of them: SwiGLU-4096 int8, whose first GEMM's 224 tiles
    ** whole take 112 blocks, measured 3-5% faster on 132 (H200, 2026-12-02: T = 33/64/128 139.6/150.3/217.1 vs
    ** 146.5/158.4/224.8 us), while GELU-4096's 128 whole tiles on 128 blocks beat 132 (99.0 vs 103.9 at T = 33) */
    return (int)((p->kernels[k].sk_tall ? 32 * G >= 31 * R : 4 * G >= 3 * R) ? G : R);
}

int dsmlpR_exec_grid_default(const plan *p, const exec_state *rt, int k, int64_t T)
{
    /* W rings: whole tiles per block where that keeps 3/4 of the resident blocks (a split tile costs its blocks a
    ** round trip through the partial sums at its end: GEMM2 of GELU-4096 int8, 128 tiles, 128 vs 132 blocks, measured
    ** faster on an H200, bench/RESULTS.md) */
    if (p->kernels[k].sk_ring) return dsmlpR_exec_grid_clamp(p, rt, k, dsmlpR_exec_grid_tiles(p, rt, k), T);
    return dsmlpR_exec_grid_clamp(p, rt, k, dsmlpR_exec_grid_resident(p, rt, k), T);
}

void dsmlpR_exec_stream_heuristic(const plan *p, exec_state *rt)
{
    const char *why;
    if (!p->nssteps) {   /* only the main route's GEMM choices: the rule's */
        for (int b = 0; b < PLAN_BUCKETS; b++) {
            rt->pick[b].us_main = rt->pick[b].us_stream = 0;
            for (int i = 0; rt->pick[b].gemm && i < p->nsteps; i++) rt->pick[b].gemm[i] = EXEC_GEMM_PICK_RULE;
        }
        snprintf(rt->pick_from, sizeof rt->pick_from, "the rule in exec_mixed.c and cuBLASLt's first candidate (no "
                 "tuning record; dsmlp-compile --tune measures)");
        dsmlpR_exec_apply_lt(p, rt, &why);   /* cuBLASLt's algorithms: the load's (cannot fail: no picks) */
        return;
    }
    for (int b = 0; b < PLAN_BUCKETS; b++) {
        exec_pick *pk = &rt->pick[b];
        /* judged at the bucket's largest T the route serves (a decode plan's T = 1, not 8) */
        const int64_t T = dsmlpR_exec_bucket_hi(p, b);
        pk->stream = dsmlpR_exec_bucket_lo(b) <= T && T <= HEURISTIC_RING_MAX_T;
        pk->us_main = pk->us_stream = 0, pk->main_from = 0;
        for (int i = 0; pk->gemm && i < p->nsteps; i++) pk->gemm[i] = EXEC_GEMM_PICK_RULE;
        for (int i = 0; i < p->nssteps; i++) {
            const plan_step *s = &p->ssteps[i];
            if (s->kind != STEP_STREAM) continue;
            /* T <= 8: the wide-run tile with 2 blocks per SM (variant 1); T <= 32: variant 5 (the tuner's picks,
            ** bench/RESULTS.md); above, the first variant serving the bucket. With quantized weights at T <= 32 a
            ** W ring where it serves the bucket (faster there on the H200: GELU-4096 int8 T = 1 62.9 vs 68.8 us;
            ** slower with f16/bf16 weights): at T <= 8 the last T <= 16 one (8 consumer warps: 55.6 us; the T <= 64
            ** ring with the norm as its own kernel 63.9), at T = 9..16 the first (16 consumer warps: 88.8 vs 91.3 us
            ** at T = 16), at T = 17..32 the T <= 64 ring (wide_v; with the norm as its own kernel where the step has
            ** one: T = 32 97.8 vs 189.9 us, 2026-12-02), at T = 33..128 the ring with warps across tokens (tall_v,
            ** likewise; above); never the persistent pair (level with the two kernels at
            ** T <= 8, slower at 16, 2026-12-02: the tuner may take it). */
            int v = b == 0 && s->stream.nvariants > 1 ? 1 : T <= 32 && s->stream.nvariants > 5 ? 5 : 0;
            int ring = 0;
            const int want = T <= 16 ? -1 : T >= HEURISTIC_TALL_MIN_T && s->stream.tall_v >= 0 ? s->stream.tall_v
                                                                                              : s->stream.wide_v;
            for (int i = 0, n = s->stream.nvariants; T <= HEURISTIC_RING_MAX_T && i < n; i++) {
                const int q = T <= 16 && T > 8 ? i : n - 1 - i;   /* T = 9..16: from the first variant */
                const plan_kernel *k = &p->kernels[s->stream.variant[q]];
                /* the T <= 64 and 128 rings past T = 16 only, where they are wanted */
                if (T > 16 ? q != want : q == s->stream.wide_v || q == s->stream.tall_v) continue;
                if (k->sk_ring && k->sk_quant && !k->sk_fused && dsmlpR_exec_variant_serves(p, s, q, T)) {
                    v = q, ring = 1;
                    break;
                }
            }
            if (T > HEURISTIC_STREAM_MAX_T && !ring) pk->stream = 0;
            for (int q = 0; q < s->stream.nvariants && !dsmlpR_exec_variant_serves(p, s, v, T); q++) v = q;
            if (!dsmlpR_exec_variant_serves(p, s, v, T)) pk->stream = 0;
            pk->variant[i] = v;
            pk->grid[i] = dsmlpR_exec_grid_default(p, rt, s->stream.variant[v], T);
        }
    }
    for (int b = 0; b < PLAN_BUCKETS; b++) {   /* quantized weights: the main route's mixed-input GEMMs where they serve */
        const int64_t lo = dsmlpR_exec_bucket_lo(b), hi = dsmlpR_exec_bucket_tokens(b);
        if (lo >= HEURISTIC_MIXED_MIN_T && dsmlpR_mixed_serves_all(p, rt, lo) && dsmlpR_mixed_serves_all(p, rt, hi)) rt->pick[b].stream = 0;
        else if (rt->pick[b].stream) {
            /* all of the bucket: the main route; main_from 2 then serves a tuning record that puts T = 1 back on
            ** the rings (the tuner times bucket 0 at T = 1 only) */
            const int64_t from = main_from(p, rt, lo, hi);
            rt->pick[b].main_from = from == 1 ? 2 : from;
            if (from == lo) rt->pick[b].stream = 0;
        }
    }
    snprintf(rt->pick_from, sizeof rt->pick_from,
             "heuristic: the weight-streaming route for T <= %d (T <= %d on W rings; from T = %lld, or %d within the first "
             "bucket, the main route where all its quantized GEMMs run mixed-input kernels), resident blocks "
             "(W rings: whole tiles per block) (no tuning record; dsmlp-compile --tune measures)",
             HEURISTIC_STREAM_MAX_T, HEURISTIC_RING_MAX_T, (long long)HEURISTIC_MIXED_MIN_T, HEURISTIC_MIXED_MIN_T_SMALL);
    dsmlpR_exec_apply_lt(p, rt, &why);
}

/* The plan's BUF_SCRATCH buffers in one allocation: the stream route's partial sums (per grid block) and tile
** counters, the k-split decode GEMVs' counters and sums; every one but the per-block parts zeroed. */
static dsmlp_status alloc_scratch(dsmlp_ctx *ctx, const plan *p, exec_state *rt)
{
    const cuda_api *cu = rt->dev->cu;
    rt->grid_max = 2 * rt->dev->sm_count > 0 ? 2 * rt->dev->sm_count : 1;
    size_t total = 0;
    for (int b = 0; b < p->nbufs; b++) {
        const plan_buf *B = &p->bufs[b];
        if (B->kind != BUF_SCRATCH) continue;
        size_t n = B->per_block ? B->ws_bytes * (size_t)rt->grid_max : B->ws_bytes;
        if (B->per_block) rt->part_bytes = n;
        total += (n + 255) & ~(size_t)255;
    }
    if (!total && !p->nssteps) return DSMLP_OK;
    CUresult r = cu->cuMemAlloc(&rt->scratch, total ? total : 256);
    if (r != CUDA_SUCCESS)
        return dsmlpB_err_set(ctx, DSMLP_ERR_CUDA, "plan '%s': cuMemAlloc of %zu bytes of scratch (partial sums, counters) failed: %s",
                       p->graph_name, total, dsmlpR_cuda_api_errstr(r));
    size_t off = 0;
    for (int b = 0; b < p->nbufs; b++) {
        const plan_buf *B = &p->bufs[b];
        if (B->kind != BUF_SCRATCH) continue;
        size_t n = B->per_block ? B->ws_bytes * (size_t)rt->grid_max : B->ws_bytes;
        rt->ptr[b] = rt->scratch + off;
        /* tile counters (and a split GEMV's) start at zero; every launch leaves them at zero */
        if (!B->per_block && n) {
            r = cu->cuMemsetD8 ? cu->cuMemsetD8(rt->ptr[b], 0, n) : CUDA_ERROR_NOT_SUPPORTED;
            if (r != CUDA_SUCCESS)
                return dsmlpB_err_set(ctx, DSMLP_ERR_CUDA, "plan '%s': clearing the tile counters failed: %s", p->graph_name,
                               dsmlpR_cuda_api_errstr(r));
        }
        off += (n + 255) & ~(size_t)255;
    }
    /* cuMemsetD8 runs on the legacy default stream, which a non-blocking stream does not wait for: without this,
    ** a first run on such a stream could meet counters not yet zeroed (seen on an H200 as wrong tiles, only
    ** when other processes shared the GPU and delayed the memset). */
    r = cu->cuCtxSynchronize();
    if (r != CUDA_SUCCESS)
        return dsmlpB_err_set(ctx, DSMLP_ERR_CUDA, "plan '%s': clearing the tile counters failed: %s", p->graph_name,
                              dsmlpR_cuda_api_errstr(r));
    return DSMLP_OK;
}

dsmlp_status dsmlpR_exec_stream_load(dsmlp_ctx *ctx, const plan *p, exec_state *rt)
{
    for (int b = 0; b < PLAN_BUCKETS; b++) {
        rt->pick[b].variant = calloc((size_t)p->nssteps + 1, sizeof(int));
        rt->pick[b].grid = calloc((size_t)p->nssteps + 1, sizeof(int));
        rt->pick[b].gemm = malloc(((size_t)p->nsteps + 1) * sizeof *rt->pick[b].gemm);
        if (!rt->pick[b].variant || !rt->pick[b].grid || !rt->pick[b].gemm)
            return dsmlpB_err_set(ctx, DSMLP_ERR_NOMEM, "out of host memory loading plan '%s'", p->graph_name);
        for (int i = 0; i < p->nsteps; i++) rt->pick[b].gemm[i] = EXEC_GEMM_PICK_RULE;
    }
    dsmlp_status st = alloc_scratch(ctx, p, rt);
    if (st != DSMLP_OK) return st;
    if (!p->nssteps) {
        snprintf(rt->pick_from, sizeof rt->pick_from, "no weight-streaming route: %.400s", p->stream_why);
        if (!dsmlpR_exec_tunable(p)) return DSMLP_OK;
        dsmlpR_exec_stream_heuristic(p, rt);   /* a tuning record may still choose the main route's GEMM kernels */
        return dsmlpR_exec_tune_apply_record(ctx, p, rt);
    }
    dsmlpR_exec_stream_heuristic(p, rt);
    return dsmlpR_exec_tune_apply_record(ctx, p, rt);
}

void dsmlpR_exec_stream_unload(exec_state *rt)
{
    for (int b = 0; b < PLAN_BUCKETS; b++) {
        free(rt->pick[b].variant);
        free(rt->pick[b].grid);
        free(rt->pick[b].gemm);
        rt->pick[b].variant = rt->pick[b].grid = NULL;
        rt->pick[b].gemm = NULL;
    }
    if (rt->scratch && rt->dev) rt->dev->cu->cuMemFree(rt->scratch);
    rt->scratch = 0;
}

dsmlp_status dsmlpR_exec_launch_stream(dsmlp_ctx *ctx, const plan *p, exec_state *rt, int step, int k, int grid, int64_t T,
                                CUstream stream)
{
    const plan_kernel *pk = &p->kernels[k];
    const cuda_api *cu = rt->dev->cu;
    long long TT = (long long)T;
    void *args[PLAN_MAX_ARGS + 1];
    args[0] = &TT;
    for (int a = 0; a < pk->nargs; a++) args[a + 1] = &rt->ptr[pk->args[a]];
    CUresult r;
    if (pk->sk_fused && !cu->cuLaunchKernelEx)
        return dsmlpB_err_set(ctx, DSMLP_ERR_UNSUPPORTED, "dsmlp_run: stream step %d (%s): %s needs a cooperative launch "
                              "(cuLaunchKernelEx, CUDA 12)", step, p->ssteps[step].label, pk->name);
    if (cu->cuLaunchKernelEx) {
        /* a persistent kernel's blocks wait for each other: a cooperative launch guarantees they are all resident
        ** (or fails) */
        CUlaunchAttribute at[2];
        memset(at, 0, sizeof at);
        int na = 0;
        if (rt->dev->pdl) {
            at[na].id = CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION;
            at[na++].value.programmaticStreamSerializationAllowed = 1;
        }
        if (pk->sk_fused) at[na].id = CU_LAUNCH_ATTRIBUTE_COOPERATIVE, at[na++].value.cooperative = 1;
        CUlaunchConfig cfg;
        memset(&cfg, 0, sizeof cfg);
        cfg.gridDimX = (unsigned)grid, cfg.gridDimY = 1, cfg.gridDimZ = 1;
        cfg.blockDimX = (unsigned)pk->threads, cfg.blockDimY = 1, cfg.blockDimZ = 1;
        cfg.sharedMemBytes = (unsigned)pk->smem_bytes, cfg.hStream = stream;
        cfg.attrs = at, cfg.numAttrs = (unsigned)na;
        r = cu->cuLaunchKernelEx(&cfg, rt->kern[k].fn, args, NULL);
    } else {
        r = cu->cuLaunchKernel(rt->kern[k].fn, (unsigned)grid, 1, 1, (unsigned)pk->threads, 1, 1,
                               (unsigned)pk->smem_bytes, stream, args, NULL);
    }
    if (r != CUDA_SUCCESS)
        return dsmlpB_err_set(ctx, DSMLP_ERR_CUDA,
                       "dsmlp_run: stream step %d (%s): launch of %s (grid %d, block %d, smem %zu, T %lld) failed: %s",
                       step, p->ssteps[step].label, pk->name, grid, pk->threads, pk->smem_bytes, TT,
                       dsmlpR_cuda_api_errstr(r));
    return DSMLP_OK;
}
