/* exec_mixed.c — the mixed-input GEMM variant (templates/mixed.cu, docs/quant.md): the rule that picks it per token
** count, and its launch. Its kernel reads x and the weight's codes through tensor maps (the copy engine's
** descriptors), encoded on the host for each launch from the bound pointers: no device work, capturable. */
#include "exec_mixed.h"
#include "exec_stream.h"
#include "cuda_api.h"
#include "device.h"
#include "context.h"
#include "dtype.h"
#include "../compiler/emit.h"

#include <stdio.h>
#include <string.h>

#define MIXED_MAX_T        3072   /* above: dequantize + cuBLASLt (see dsmlpR_mixed_pick) */
#define MIXED_ANY_FILL_T   512    /* up to here the copy costs more than padded token tiles */
#define MIXED_SPLIT_MIN_KB 8      /* k blocks of 64 per block of a split, at least */
#define MIXED_PREFETCH_LINES 8    /* 128-byte lines a weight row asked of L2 at entry by the 16- / 32-token kernels */
#define MIXED_PREFETCH_LINES_64 4 /* by the 64-token kernels of a block's first GEMM */
#define MIXED_PREFETCH_FIRST_BYTES (16 << 20)   /* at most, over a first GEMM's launch */

int dsmlpR_mixed_tunable(const plan *p)
{
    for (int i = 0; p->mixed_mode == 1 && i < p->nsteps; i++)
        if (p->steps[i].kind == STEP_GEMM && PLAN_GEMM_HAS_MIXED(&p->steps[i].gemm)) return 1;
    return 0;
}

/* The tuning record's choice for GEMM g at T (exec_tune.c): 1 its kernel, 0 not, -1 none (the rule decides). */
static int tuned_choice(const plan *p, const exec_state *rt, const plan_gemm *g, int64_t T)
{
    if (p->mixed_mode != 1 || T > dsmlpR_exec_bucket_tokens(PLAN_BUCKETS - 1)) return -1;
    const exec_gemm_pick *m = rt->pick[dsmlpR_exec_bucket(T)].gemm;
    for (int i = 0; m && i < p->nsteps; i++)
        if (&p->steps[i].gemm == g) return m[i].use;
    return -1;
}

/* Blocks of a mixed kernel resident at once: SMs x its load-time occupancy (one per SM where not queried). */
static int block_slots(const exec_state *rt, const exec_kernel *ek)
{
    return rt->dev->sm_count * (ek && ek->per_sm > 0 ? ek->per_sm : 1);
}

/* Bytes of one output tile's fp32 sums in the split scratch: tokens x the 128 rows of a tile. */
static size_t tile_sums_bytes(int64_t tokens)
{
    return (size_t)tokens * EMIT_MIXED_ROWS * sizeof(float);
}

/* Whether a grid of this many blocks, one a SM, fills at least 3/4 of the card's SMs (a pair's first GEMM, a twin). */
static int fills_three_quarters(const exec_state *rt, int64_t blocks)
{
    return blocks * 4 >= (int64_t)rt->dev->sm_count * 3;
}

/* The first lines of each weight row a launch's blocks ask L2 for at entry, before griddepcontrol.wait
** (templates/mixed.cu ds_prefetch_first, in the kernels EMIT_MIXED_PREFETCHES names): the copy engine's first
** stages then find them there or on their way. Measured on an H100 (bench/RESULTS.md, sixtieth session), lines a row
** for the block's first GEMM (no residual: it follows the norm kernel, its blocks resident and waiting through it)
** and its second (adds the residual: its blocks start as the first's last ones exit), T = 3..32 (16- / 32-token
** kernels): GELU-4096 int8 / fp8 0,0 59.2 / 59.2, 0,8 57.1 / 56.7, 4,8 55.4 / 54.9, 8,8 55.2 / 54.4 us at T = 3,
** SwiGLU-4096 int8 74.0, 72.4, 70.1, 72.0: the second GEMM 8 lines (12 lost), the first as many as 16 MiB over its
** launch holds (GELU's 128 tiles 8 lines, SwiGLU's 224 gated ones 4). 64-token kernels: the first GEMM's 4 lines
** 0.3-0.7 us faster, the second's lost up to 5.6 on SwiGLU-8192; the 128-token kernels lost. The copy engine's own
** bulk prefetch of the same boxes lost 5-7 us (twenty-first session), and so did any prefetch ahead of the copies in
** the main loop (8-30 us). None where the launch's blocks do not all fit at once: a later wave would prefetch under
** the running stream. */
static int prefetch_lines(const plan_gemm *g, int tokens, int64_t blocks, int slots)
{
    if (!EMIT_MIXED_PREFETCHES(g->mixed_scales >= 0, tokens) || blocks > slots) return 0;
    const int first = g->c < 0;
    const int64_t cap = first ? MIXED_PREFETCH_FIRST_BYTES / (blocks * EMIT_MIXED_ROWS * 128) : MIXED_PREFETCH_LINES;
    const int lines = tokens == 64 ? (first ? MIXED_PREFETCH_LINES_64 : 0) : MIXED_PREFETCH_LINES;
    return (int)(lines < cap ? lines : cap);
}

static int decode_wide_on(const exec_state *rt)
{
    return rt->dev->dram_gbs > 0 && rt->dev->dram_gbs < PLAN_DECODE_WIDE_MAX_DRAM_GBS;
}

int dsmlpR_decode_at(const exec_state *rt, const plan_gemm *g, int64_t T)
{
    const int k = plan_gemm_decode_at(g, T);
    return k >= 0 && k == g->decode_wide_kernel && !decode_wide_on(rt) ? -1 : k;
}

int64_t dsmlpR_decode_top(const exec_state *rt, const plan_gemm *g)
{
    if (g->decode_wide_kernel >= 0 && !decode_wide_on(rt)) return g->decode_kernel >= 0 ? g->decode_max_T : 0;
    return plan_gemm_decode_top(g);
}

int dsmlpR_mixed_pick(const plan *p, const exec_state *rt, const plan_gemm *g, int64_t T, mixed_pick *out)
{
    if (!PLAN_GEMM_HAS_MIXED(g) || p->mixed_mode == 0 || !rt->dev->cu->cuTensorMapEncodeTiled || T < 1) return 0;
    /* the decode GEMV on the codes runs first (docs/quant.md), unless mixed_gemm = 2 pins the mixed kernels */
    if (p->mixed_mode != 2 && dsmlpR_gemv_reads_codes(g, T)) return 0;
    const int flt = g->mixed_scales < 0;
    if (p->mixed_mode != 2 && flt && dsmlpR_decode_at(rt, g, T) >= 0) return 0;
    /* a measured choice (dsmlp_plan_tune) replaces the rule below at T <= 128 */
    const int tuned = tuned_choice(p, rt, g, T);
    if (tuned == 0) return 0;
    /* Float weights (f16/bf16 as stored) where they beat cuBLASLt (H200, as loaded, bench/RESULTS.md twenty-ninth
    ** session): [out,in] T = 33..128 (GELU-4096 f16 T = 64 87.3-87.6 -> 82.6-82.8 us, SwiGLU-4096 bf16 107.9-108.0 ->
    ** 100.5-101.2); [in,out] T = 65..128 (SwiGLU T = 128 144.3-144.7 -> 110.2-110.3, GELU T = 100 87.9 -> 83.8; at
    ** T = 33..64 GELU lost 0.4-1.0 there, cuBLASLt reading [in,out] faster). At T = 3..16 they lost up to 2 us, at
    ** 256 20; the decode GEMV serves its T first. On a narrow output they serve T = 2..32 whatever the grid fills
    ** (plan.h PLAN_FLOAT_NARROW: cuBLASLt splits k there and reduces in a kernel of its own, which costs a
    ** latency-bound block more than the generated kernel's smaller grid); as both GEMMs of a block's pair at T =
    ** 3..64 (PLAN_FLOAT_PAIR: a gated block's gating in the first's epilogue saves the gated kernel and the [T, 2I]
    ** round trip; the second starts under the first's tail by programmatic dependent launch, where cuBLASLt's second
    ** GEMM waits, splits k and reduces in a kernel of its own) where the first's tiles fill 3/4 of the SMs, on cards
    ** with a peak DRAM rate under 4 TB/s. */
    const int pair = flt && PLAN_FLOAT_PAIR(g) && T >= PLAN_FLOAT_PAIR_MIN_T && T <= PLAN_FLOAT_PAIR_MAX_T &&
                     fills_three_quarters(rt, g->pair_rows / EMIT_MIXED_ROWS) && rt->dev->dram_gbs > 0 &&
                     rt->dev->dram_gbs < PLAN_FLOAT_PAIR_MAX_DRAM_GBS;   /* H100 yes, H200 no (plan.h) */
    /* a narrow output or a pair: served whatever share of the SMs the grid fills */
    const int any_grid = pair || (flt && PLAN_FLOAT_NARROW(g) && T >= 2 && T <= PLAN_FLOAT_NARROW_MAX_T);
    if (p->mixed_mode != 2 && tuned < 0 && flt && !any_grid &&
        (T < PLAN_FLOAT_MIXED_MIN_T(g->layout) || T > PLAN_FLOAT_MIXED_MAX_T))
        return 0;
    /* Token tiles: one 16-, 32- or 64-token block for T <= 16, 32 or 64 (16-token blocks: half the x copied per
    ** weight byte of 32-token ones, 0.7-3.6 us faster at T = 2..16 in 4096-wide int8/fp8 blocks on the H200,
    ** bench/RESULTS.md twenty-third session); else 128-token ones where they pad fewer tokens than
    ** 256-token ones (T = 65..128, 257..384, ...). A block multiplies all its tokens, padding included: at T <= 128
    ** its wgmmas, not the weight stream, set its time (GELU-4096 int8 in 128-token blocks: 130-135 us at every T =
    ** 33..128, in 64-token blocks 79-80 at T = 17..64). */
    static const int toks[PLAN_MIXED_VARIANTS] = PLAN_MIXED_TOKENS;
    int v = 0;
    for (int w = PLAN_MIXED_VARIANTS - 1; w >= 2 && !v; w--)   /* the narrowest one-block tile that holds T */
        if (T <= toks[w] && g->mixed_kernel[w] >= 0) v = w;
    if (!v && (T + toks[1] - 1) / toks[1] * toks[1] < (T + toks[0] - 1) / toks[0] * toks[0] && g->mixed_kernel[1] >= 0) v = 1;
    if (g->mixed_kernel[v] < 0) v = 1;   /* float weights have no 256-token width */
    const int tok = toks[v];
    const int64_t tiles = (T + tok - 1) / tok, base = tiles * (g->n / EMIT_MIXED_ROWS), kb = g->k / 64;
    /* Blocks resident at once (one or two per SM), each walking its share of k: a grid under that takes as long as a
    ** full one (GELU-4096's
    ** second GEMM at T = 256-512 without a split: ~193 us against dequantize + cuBLASLt's 108-141), so k is split
    ** over clusters of up to 8 blocks while the grid stays within the SMs, and all of a launch's clusters must fit
    ** at once, or the last ones wait for a second wave (GELU-4096's second GEMM at T = 64 in clusters of 4: 57 us
    ** against the first GEMM's 30 for as many bytes; the H200 holds fewer than 32 such clusters): the largest split
    ** whose clusters fit.
    ** Where clusters of a larger split do not all fit, its blocks can run as two groups of clusters of half its size,
    ** the first group handing its sums to the second through global memory (templates/mixed.cu); taken where that
    ** splits k at least 5/4 as far: on the H200 GELU-4096's second GEMM at T = 65..256 then runs in 2 x 2 blocks a
    ** tile instead of clusters of 3 (128 of 132 SMs instead of 96; int8 5.4-9.4 us faster), while 2 x 4 against
    ** clusters of 7 at T <= 64 measured level (bench/RESULTS.md, thirty-seventh session). The second group waits for
    ** the first, so both must be resident at once: all clusters fit, and the launch is cooperative. */
    /* Code kernels of <= 64 tokens run two blocks a SM, but where the row tiles of one token tile fill 3/4 of the SMs
    ** and no more, their one-a-SM twin runs the grid in one wave without a k split (6-10 stages and the one-a-SM
    ** register split): GELU-4096 int8 / fp8 (first GEMM 128 tiles) 0.7-2.4 us faster at T = 3..64 on an H100. Twins
    ** for the 32-tile second GEMMs too (split 4 against 8) gave GELU-4096 0.7-1.3 more but cost SwiGLU-4096 int8
    ** 0.5-1.1 at T = 3..8 (bench/RESULTS.md, fifty-ninth session): the 3/4 fill keeps them to the first kind. */
    int kern = g->mixed_one[v] >= 0 && base <= rt->dev->sm_count && fills_three_quarters(rt, base)
                   ? g->mixed_one[v] : g->mixed_kernel[v];
    const exec_kernel *ek = rt->kern ? &rt->kern[kern] : NULL;   /* its load-time occupancy queries */
    int slots = block_slots(rt, ek);
    const int queried = ek && rt->dev->cu->cuOccupancyMaxActiveClusters;
    int split = 1, two = 0;   /* two: the largest split that runs as two groups, 0 none */
    for (int s = 2; rt->dev->cu->cuLaunchKernelEx && s <= PLAN_MIXED_SPLIT_MAX; s++) {
        if (base * s > slots || kb / s < MIXED_SPLIT_MIN_KB) break;
        if ((queried ? ek->clusters[s] : slots / s) >= base) split = s;
        const int half = s / 2;
        if (s % 2 || half < 2 || (queried ? ek->clusters[half] : slots / half) < 2 * base) continue;
        if ((size_t)base * tile_sums_bytes(tok) <= rt->split_sums &&
            (size_t)(base * half) <= rt->split_flags)
            two = s;
    }
    int cluster = split;
    if (two && (rt->two_groups == 2 || (rt->two_groups == 1 && two * 4 >= split * 5))) split = two, cluster = two / 2;
    /* A code GEMM of <= 32-token blocks whose tiles leave half the slots idle splits k over plain blocks (clusters of
    ** 1): each pushes its sums to the split scratch and the tile's last block adds them (templates/mixed.cu). The
    ** cluster launch itself cost the split: GELU-4096's second GEMM in clusters of 7 two a SM streamed its 64 MiB in
    ** 29.8 us copy-only where 32 x 4 plain blocks one a SM took 25.3, as fast as the unsplit first GEMM (H100,
    ** bench/RESULTS.md, seventy-second session). On the one-a-SM twin where the plan has one (PLAN_MIXED_SERIAL_TWIN),
    ** as far as its slots hold. */
    if (rt->serial_split && !flt && tok <= PLAN_MIXED_SERIAL_MAX_TOKENS && base * 2 <= slots && rt->dev->cu->cuLaunchKernelEx) {
        const int skern = g->mixed_one[v] >= 0 ? g->mixed_one[v] : kern;
        const int sslots = block_slots(rt, rt->kern ? &rt->kern[skern] : NULL);
        int S = (int)(sslots / base) < PLAN_MIXED_SPLIT_MAX ? (int)(sslots / base) : PLAN_MIXED_SPLIT_MAX;
        while (S >= 2 && kb / S < MIXED_SPLIT_MIN_KB) S--;
        if (S >= 2 && (size_t)base * (size_t)S * tile_sums_bytes(tok) <= rt->split_sums &&
            (size_t)base <= rt->split_flags)
            kern = skern, split = S, cluster = 1, slots = sslots;
    }
    if (out) {
        out->kernel = kern, out->tokens = tok, out->split = split, out->cluster = cluster;
        out->prefetch_lines = prefetch_lines(g, tok, base * split, slots);
    }
    if (p->mixed_mode == 2 || tuned == 1) return 1;
    /* The rule (mixed_gemm = 1): the grid fills 7/10 of the SMs; above T = 512 the token tiles are at least 3/4 full
    ** (there a padded tile costs more than the copy saves), and above MIXED_MAX_T the kernel's lower rate costs more
    ** than the copy (GELU-4096 int8 T = 2048 / 3072 / 4096: 798.6 / 1220.6 / 1776.3 us against 860.9 / 1281.6 /
    ** 1655.1; SwiGLU-4096 int8 still ahead at 4096, 2284.3 against 2379.9). Measured on the H200: bench/RESULTS.md,
    ** fifteenth and thirty-fifth sessions. */
    return any_grid || (T <= MIXED_MAX_T && base * split * 10 >= (int64_t)rt->dev->sm_count * 7 &&
           (T <= MIXED_ANY_FILL_T || T * 4 >= tiles * tok * 3));
}

int dsmlpR_mixed_serves_all(const plan *p, const exec_state *rt, int64_t T)
{
    int n = 0;
    for (int i = 0; i < p->nsteps; i++) {
        const plan_step *s = &p->steps[i];
        if (s->kind != STEP_GEMM || ((!PLAN_GEMM_HAS_MIXED(&s->gemm) || s->gemm.mixed_scales < 0) && s->gemm.decode_q < 0)) continue;
        if (!dsmlpR_mixed_serves(p, rt, &s->gemm, T) && !dsmlpR_gemv_reads_codes(&s->gemm, T)) return 0;
        n++;
    }
    return n > 0;
}

/* Whole token tiles where x is a workspace buffer sized for them (max_tokens rows of k 2-byte values), so no copy
** of x reads out of bounds: the copy engine's zero fill of a box's rows past T made the block 2-5 us slower at
** T = 2..8 than at T = 16 (bench/RESULTS.md, twenty-second session). The rows past T hold other data (zeros from
** load, then earlier steps' values); wgmma keeps token columns apart and the epilogue stores tokens below T only. A
** caller's buffer keeps T rows: its memory past them is not ours to read. */
int64_t dsmlpR_mixed_x_rows(const plan *p, const plan_gemm *g, int64_t T, int tokens)
{
    if (p->bufs[g->x].kind != BUF_WORK || tokens < 1) return T;
    const int64_t cap = (int64_t)(p->bufs[g->x].ws_bytes / ((size_t)g->k * 2));
    const int64_t whole = (T + tokens - 1) / tokens * tokens;
    return whole <= cap ? whole : cap > T ? cap : T;
}

/* A launch of kernel k over grid (x, y, split), in clusters of (1, 1, cluster) blocks where cluster > 1 (split, or
** half of it: two groups, cooperative so that all are resident at once), and with programmatic dependent launch where
** pdl is set (its blocks may start while the previous kernel runs; they wait before reading anything); at[3] must
** outlive *cfg. */
static void launch_config(CUlaunchConfig *cfg, CUlaunchAttribute *at, const plan_kernel *k, unsigned x, unsigned y,
                          unsigned split, unsigned cluster, int pdl, CUstream st)
{
    unsigned n = 0;
    memset(at, 0, 3 * sizeof *at);
    if (cluster > 1) {
        at[n].id = CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION;
        at[n].value.clusterDim.x = 1, at[n].value.clusterDim.y = 1, at[n].value.clusterDim.z = cluster;
        n++;
    }
    if (cluster > 1 && cluster < split) {   /* two groups: the second waits for the first (cluster 1: nobody waits) */
        at[n].id = CU_LAUNCH_ATTRIBUTE_COOPERATIVE;
        at[n].value.cooperative = 1;
        n++;
    }
    if (pdl) {
        at[n].id = CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION;
        at[n].value.programmaticStreamSerializationAllowed = 1;
        n++;
    }
    memset(cfg, 0, sizeof *cfg);
    cfg->gridDimX = x, cfg->gridDimY = y, cfg->gridDimZ = split;
    cfg->blockDimX = (unsigned)k->threads, cfg->blockDimY = 1, cfg->blockDimZ = 1;
    cfg->sharedMemBytes = (unsigned)k->smem_bytes, cfg->hStream = st, cfg->attrs = at, cfg->numAttrs = n;
}

void dsmlpR_mixed_occupancy(const plan *p, exec_state *rt, int k)
{
    const cuda_api *cu = rt->dev->cu;
    int n1 = 0;
    rt->kern[k].per_sm = cu->cuOccupancyMaxActiveBlocksPerMultiprocessor &&
                                 cu->cuOccupancyMaxActiveBlocksPerMultiprocessor(&n1, rt->kern[k].fn, p->kernels[k].threads,
                                                                                 p->kernels[k].smem_bytes) == CUDA_SUCCESS
                             ? n1
                             : 0;
    for (int s = 2; s <= PLAN_MIXED_SPLIT_MAX; s++) {
        rt->kern[k].clusters[s] = 0;
        if (!cu->cuOccupancyMaxActiveClusters) continue;
        CUlaunchAttribute at[3];
        CUlaunchConfig cfg;
        launch_config(&cfg, at, &p->kernels[k], 1, 1, (unsigned)s, (unsigned)s, 0, NULL);
        int n = 0;   /* a failed query (e.g. too much shared memory for s blocks of a GPC) counts as none fitting */
        if (cu->cuOccupancyMaxActiveClusters(&n, rt->kern[k].fn, &cfg) == CUDA_SUCCESS) rt->kern[k].clusters[s] = n;
    }
}

dsmlp_status dsmlpR_mixed_split_scratch(dsmlp_ctx *ctx, const plan *p, exec_state *rt)
{
    const cuda_api *cu = rt->dev->cu;
    /* Two groups split k in 4 or more, so a launch has at most a quarter of the resident blocks as tiles (and at
    ** most the tiles of max_tokens): H200, 4096-wide GEMMs, 128 KiB a tile of 256 tokens, 33 tiles: 4.1 MiB. */
    size_t sums = 0, flags = 0;
    for (int i = 0; (rt->two_groups || rt->serial_split) && i < p->nkernels; i++) {
        const plan_kernel *k = &p->kernels[i];
        if (k->kind != KERN_MIXED || k->rows_per_block < 1) continue;
        const int64_t slots = block_slots(rt, &rt->kern[i]);
        const int64_t all = (p->max_tokens + k->rows_per_block - 1) / k->rows_per_block * k->grid_x;
        const size_t tiles = (size_t)(all < slots / 4 ? all : slots / 4);
        size_t b = rt->two_groups ? tiles * tile_sums_bytes(k->rows_per_block) : 0;
        /* a split without clusters: a part for each resident block (its tiles x split <= the slots; H100 / H200,
        ** 32-token blocks two a SM: 4.1 MiB) */
        const int codes = dsmlpB_dtype_is_code(p->bufs[k->args[1]].dtype);
        if (rt->serial_split && codes && k->rows_per_block <= PLAN_MIXED_SERIAL_MAX_TOKENS &&
            (size_t)slots * tile_sums_bytes(k->rows_per_block) > b)
            b = (size_t)slots * tile_sums_bytes(k->rows_per_block);
        if (b > sums) sums = b;
        if ((size_t)slots / 2 > flags) flags = (size_t)slots / 2;   /* tiles x blocks of a group <= half the slots */
    }
    if (!sums) return DSMLP_OK;
    sums = (sums + 255) & ~(size_t)255;
    const size_t bytes = sums + flags * sizeof(unsigned);
    CUresult r = cu->cuMemAlloc(&rt->split_scratch, bytes);
    if (r == CUDA_SUCCESS) r = cu->cuMemsetD8(rt->split_scratch, 0, bytes);
    if (r == CUDA_SUCCESS) r = cu->cuCtxSynchronize();
    if (r != CUDA_SUCCESS)
        return dsmlpB_err_set(ctx, DSMLP_ERR_CUDA, "plan '%s': %zu bytes for the mixed-input GEMMs' split partial sums: %s "
                              "(DSMLP_MIXED_TWO_GROUPS=0 with DSMLP_MIXED_SERIAL_SPLIT=0 needs none)", p->graph_name, bytes, dsmlpR_cuda_api_errstr(r));
    rt->split_sums = sums, rt->split_flags = flags;
    return DSMLP_OK;
}

int dsmlpR_mixed_skips_dequant(const plan *p, const exec_state *rt, const plan_step *steps, int n, const plan_step *d,
                               int64_t T)
{
    int readers = 0;
    for (int i = 0; i < n; i++) {
        const plan_step *s = &steps[i];
        if (s->kind == STEP_GEMM && s->gemm.w == d->op.deq.out) {
            if (!dsmlpR_mixed_serves(p, rt, &s->gemm, T) && !dsmlpR_gemv_reads_codes(&s->gemm, T)) return 0;
            readers++;
        }
        if (s->kind == STEP_KERNEL && s != d) {   /* any other kernel reading the dequantized weight needs it */
            const plan_kernel *k = &p->kernels[s->kernel];
            for (int a = 0; a < k->nargs; a++)
                if (k->args[a] == d->op.deq.out) return 0;
        }
        if (s->kind == STEP_STREAM) return 0;   /* the small-T route's kernels read the weight their own way */
    }
    return readers > 0;
}

int dsmlpR_gemm_applies_act(const plan *p, const exec_state *rt, const plan_step *steps, int n, const plan_step *gs,
                            int64_t T)
{
    for (int i = 0; i < n; i++) {
        const plan_gemm *g = &steps[i].gemm;
        if (steps[i].kind != STEP_GEMM || g->d != gs->op.act.in) continue;
        const int mixed = dsmlpR_mixed_serves(p, rt, g, T);   /* it runs before the decode GEMV */
        if (g->mixed_act_out >= 0 && g->mixed_act_out == gs->op.act.out && mixed) return 1;
        return g->decode_act_out >= 0 && g->decode_act_out == gs->op.act.out && !mixed && dsmlpR_decode_at(rt, g, T) >= 0;
    }
    return 0;
}

int dsmlpR_gemv_skips_norm(const plan *p, const exec_state *rt, const plan_step *steps, int n, const plan_step *ns,
                           int64_t T)
{
    for (int i = 0; i < n; i++) {
        const plan_gemm *g = &steps[i].gemm;
        if (steps[i].kind == STEP_GEMM && g->decode_norm >= 0 && g->x == ns->op.norm.out)
            return g->decode_kernel >= 0 && T <= g->decode_max_T && !dsmlpR_mixed_serves(p, rt, g, T);
    }
    return 0;
}

/* rows x cols row-major (elements of esize bytes), boxes of box_cols columns x box_rows rows. ptr is 16-byte aligned, as
** the copy engine needs: bindings are checked when bound (exec_bind.c), the workspace is 256-aligned. */
static dsmlp_status encode(dsmlp_ctx *ctx, const cuda_api *cu, CUtensorMap *m, CUtensorMapDataType dt, size_t esize,
                           CUdeviceptr ptr, int64_t rows, int64_t cols, int box_cols, int box_rows, CUtensorMapSwizzle sw,
                           const char *what, const char *buf)
{
    const cuuint64_t dims[2] = {(cuuint64_t)cols, (cuuint64_t)rows}, strides[1] = {(cuuint64_t)cols * esize};
    const cuuint32_t box[2] = {(cuuint32_t)box_cols, (cuuint32_t)box_rows}, es[2] = {1, 1};
    CUresult r = cu->cuTensorMapEncodeTiled(m, dt, 2, (void *)(uintptr_t)ptr, dims, strides, box, es,
                                            CU_TENSOR_MAP_INTERLEAVE_NONE, sw, CU_TENSOR_MAP_L2_PROMOTION_L2_256B,
                                            CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
    if (r != CUDA_SUCCESS)
        return dsmlpB_err_set(ctx, DSMLP_ERR_CUDA, "%s: cuTensorMapEncodeTiled for '%s' ([%lld, %lld]) failed: %s", what, buf,
                              (long long)rows, (long long)cols, dsmlpR_cuda_api_errstr(r));
    return DSMLP_OK;
}

/* Where an early start of the next GEMM pays. The float kernels trigger at entry: the pair's second GEMM (two groups
** of clusters, a cooperative launch) 0.3-0.8 us faster at T = 8..128 (H100, bench/RESULTS.md, seventy-sixth session).
** The code kernels of <= 32 tokens trigger after their last copy where the second GEMM runs clusterless (the serial
** split): 1.7-3.7 us faster at T = 3..32 in the 4096-wide int8 / fp8 blocks (seventy-sixth). A second code GEMM in
** clusters started early loses: 6-7 us at T = 3..16 with mixed_serial_split = 0 and 9-11 us at T = 33..64 where the
** 64-token kernels let it (H200, seventy-seventh session; 9-12 us in the nineteenth), its clusters put into a second
** wave. */
int dsmlpR_mixed_next_early(const plan *p, const exec_state *rt, const plan_step *steps, int n, int i,
                            const mixed_pick *mp, int64_t T)
{
    if (!dsmlpB_dtype_is_code(p->bufs[steps[i].gemm.mixed_q].dtype)) return 1;
    if (mp->tokens > PLAN_MIXED_SERIAL_MAX_TOKENS) return 0;
    for (int j = i + 1; j < n; j++) {
        if (steps[j].kind != STEP_GEMM) continue;
        mixed_pick next;
        return dsmlpR_mixed_pick(p, rt, &steps[j].gemm, T, &next) && next.cluster == 1;
    }
    return 0;
}

dsmlp_status dsmlpR_exec_launch_mixed(dsmlp_ctx *ctx, const plan *p, exec_state *rt, const plan_step *ps, int step,
                                      const mixed_pick *mp, int early, int64_t T, CUstream st)
{
    const plan_gemm *g = &ps->gemm;
    const cuda_api *cu = rt->dev->cu;
    const plan_kernel *k = &p->kernels[mp->kernel];
    char what[96];
    snprintf(what, sizeof what, "dsmlp_run: step %d (%s)", step, ps->label);
    CUtensorMap tx, tq;
    const dsmlp_dtype xt = p->bufs[g->x].dtype;
    dsmlp_status s = encode(ctx, cu, &tx, xt == DSMLP_BF16 ? CU_TENSOR_MAP_DATA_TYPE_BFLOAT16 : CU_TENSOR_MAP_DATA_TYPE_FLOAT16,
                            2, rt->ptr[g->x], dsmlpR_mixed_x_rows(p, g, T, mp->tokens), g->k, 64, mp->tokens, CU_TENSOR_MAP_SWIZZLE_128B, what, p->bufs[g->x].name);
    const int gated = g->mixed_gated;   /* up and gate rows as two boxes of 64 rows */
    const dsmlp_dtype wt = p->bufs[g->mixed_q].dtype;   /* codes, or float weights of x's dtype (no scales) */
    const size_t wb = dsmlpB_dtype_is_code(wt) ? 1 : 2;
    const int qbox = EMIT_MIXED_QBOX(k->mixed_bk, (int)wb);
    const CUtensorMapDataType wdt = wb == 1 ? CU_TENSOR_MAP_DATA_TYPE_UINT8
                                    : wt == DSMLP_BF16 ? CU_TENSOR_MAP_DATA_TYPE_BFLOAT16 : CU_TENSOR_MAP_DATA_TYPE_FLOAT16;
    if (s == DSMLP_OK && wb == 2 && g->layout == DSMLP_LAYOUT_IN_OUT)   /* [k][n]: boxes of 64 n x 64 k (the 128-byte swizzle) */
        s = encode(ctx, cu, &tq, wdt, wb, rt->ptr[g->mixed_q], g->k, g->n, 64, k->mixed_bk, CU_TENSOR_MAP_SWIZZLE_128B, what,
                   p->bufs[g->mixed_q].name);
    else if (s == DSMLP_OK)
        s = encode(ctx, cu, &tq, wdt, wb, rt->ptr[g->mixed_q], g->n, g->k, qbox, gated ? EMIT_MIXED_ROWS / 2 : EMIT_MIXED_ROWS,
                   qbox * wb == 128 ? CU_TENSOR_MAP_SWIZZLE_128B : CU_TENSOR_MAP_SWIZZLE_64B, what, p->bufs[g->mixed_q].name);
    if (s != DSMLP_OK) return s;
    long long TT = (long long)T;
    CUdeviceptr none = 0;
    const int act = g->mixed_act_out >= 0;   /* the kernels apply the activation step after the GEMM (gated or not) */
    const int d = act ? g->mixed_act_out : g->d, bias = act ? g->mixed_act_bias : g->bias;
    /* k splits in two groups or without clusters: the plan's split scratch (partial sums, then flags) */
    CUdeviceptr sums = rt->split_scratch, flags = sums ? sums + rt->split_sums : 0;
    int cluster = mp->cluster;
    int lines = mp->prefetch_lines;
    void *args[] = {&tx, &tq, &TT, &rt->ptr[d], g->mixed_scales >= 0 ? &rt->ptr[g->mixed_scales] : &none, bias >= 0 ? &rt->ptr[bias] : &none,
                    !act && g->c >= 0 ? &rt->ptr[g->c] : &none, &sums, &flags, &cluster, &rt->ptr[g->mixed_q], &lines, &early};
    const int64_t tiles = (T + mp->tokens - 1) / mp->tokens;
    if (tiles > 2147483647)
        return dsmlpB_err_set(ctx, DSMLP_ERR_UNSUPPORTED, "%s: T = %lld needs more than 2^31 - 1 token tiles", what, (long long)T);
    /* tokens along x: consecutive blocks share a weight tile, which L2 then serves to the others; a k split along z,
    ** its blocks one cluster (their sums meet in distributed shared memory) */
    /* Programmatic dependent launch wherever the device has it; the kernel's threads wait (griddepcontrol.wait) before
    ** they copy or read anything. After the norm kernel, which lets its dependents start at entry, the blocks are
    ** resident and their barriers set when the norm ends. After another GEMM they take SM slots as its blocks exit
    ** where that GEMM lets them (`early`: dsmlpR_mixed_next_early), else as its last block exits, ~2 us later. */
    CUresult r;
    const int pdl = rt->dev->pdl;
    if (mp->split > 1 || pdl) {
        CUlaunchAttribute at[3];
        CUlaunchConfig cfg;
        launch_config(&cfg, at, k, (unsigned)tiles, (unsigned)k->grid_x, (unsigned)mp->split, (unsigned)mp->cluster, pdl, st);
        r = cu->cuLaunchKernelEx(&cfg, rt->kern[mp->kernel].fn, args, NULL);
    } else {
        r = cu->cuLaunchKernel(rt->kern[mp->kernel].fn, (unsigned)tiles, (unsigned)k->grid_x, 1, (unsigned)k->threads, 1, 1,
                               (unsigned)k->smem_bytes, st, args, NULL);
    }
    if (r != CUDA_SUCCESS)
        return dsmlpB_err_set(ctx, DSMLP_ERR_CUDA, "%s: launch of %s (grid %lld x %d x %d, clusters of %d, block %d, smem %zu) "
                              "failed: %s%s", what, k->name, (long long)tiles, k->grid_x, mp->split, mp->cluster, k->threads,
                              k->smem_bytes, dsmlpR_cuda_api_errstr(r),
                              mp->cluster < mp->split ? " (a cooperative launch of two groups of clusters: "
                                                        "DSMLP_MIXED_TWO_GROUPS=0 runs one cluster a tile)" : "");
    return DSMLP_OK;
}
