/*
** exec_tune.c — which route, tile variant and grid serve each token bucket,
** and which kernel each main-route GEMM runs (its generated mixed-input / wgmma
** kernel or cuBLASLt), decided by timing on the device (dsmlp_plan_tune,
** dsmlp-compile --tune) and kept in the kernel store as a tuning record, so
** every later load on the same kind of device (and every bundle) gets the
** measured choice.
**
** Record: store entry named "tune:<graph>" under a key over the device (name,
** SMs, arch), cuBLASLt's version (lt lines name its candidates by index) and
** everything that shapes the plan (every kernel's store key, every cuBLASLt
** GEMM's shape); payload is text:
**     dsmlp-tune 1
**     device <name>|sms <n>
**     bucket <b> stream <0|1> main_us <x> stream_us <y> steps <n> <variant> <grid> ...
**     mixed <b> steps <n> <c> <on> <off> ...   (per main step: 1 its generated kernel, 0 cuBLASLt, -1 the rule;
**                                               the route's µs with and without it, 0 where not timed)
**     lt <b> steps <n> <c> <us> <us_load> ...  (per main step: cuBLASLt's candidate c - 1 where it serves, 0 the
**                                               load's choice; the route's µs with it and with the load's choice)
** A record that does not parse or does not fit the plan is ignored (the
** heuristic stays) and the explanation says so.
*/
#include "exec_tune.h"
#include "exec_stream.h"
#include "exec_mixed.h"
#include "context.h"
#include "../compiler/route.h"
#include "store_int.h"

#include "dtype.h"

#include <blake2.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TUNE_MAGIC "dsmlp-tune 1\n"
#define TUNE_REPS  30
/* a GEMM's kernel choice moves off the rule's only when the other is this much faster: the rule's T ranges are
** themselves measured, and flips at 1% (timed back to back, before graph replays) did not hold up in separate
** processes, 0.7-1.3 us slower on an H200 (bench/RESULTS.md, thirtieth session) */
#define TUNE_FLIP_GAIN 0.02

static void field(blake2b_state *st, const char *s)
{
    uint64_t n = strlen(s);
    uint8_t len[8];
    for (int i = 0; i < 8; i++) len[i] = (uint8_t)(n >> (8 * i));
    blake2b_update(st, len, 8);
    blake2b_update(st, (const uint8_t *)s, n);
}

static void tune_key(const plan *p, const exec_state *rt, uint8_t key[STORE_KEY_BYTES])
{
    blake2b_state st;
    char buf[256];
    blake2b_init(&st, STORE_KEY_BYTES);
    field(&st, "dsmlp-tune-record-1");
    field(&st, DSMLP_VERSION_STRING);
    field(&st, rt->dev->name);
    snprintf(buf, sizeof buf, "%s sms %d", rt->dev->arch, rt->dev->sm_count);
    field(&st, buf);
    field(&st, p->arch);
    snprintf(buf, sizeof buf, "cublasLt %zu", cublasLtGetVersion());   /* its candidates, by index (lt lines) */
    field(&st, buf);
    for (int i = 0; i < p->nkernels; i++) field(&st, p->kernels[i].key[0] ? p->kernels[i].key : p->kernels[i].name);
    for (int i = 0; i < p->nsteps; i++) {
        const plan_step *s = &p->steps[i];
        if (s->kind != STEP_GEMM) continue;
        snprintf(buf, sizeof buf, "gemm %lld %lld %d %d %d %d %d", (long long)s->gemm.n, (long long)s->gemm.k,
                 (int)s->gemm.layout, (int)s->gemm.epi, (int)p->bufs[s->gemm.x].dtype, (int)p->bufs[s->gemm.w].dtype,
                 s->gemm.c >= 0);
        field(&st, buf);
    }
    blake2b_final(&st, key, STORE_KEY_BYTES);
}

int dsmlpR_exec_tune_parse_mixed(const plan *p, const char *line, exec_pick *out)
{
    int b, nsteps, n = 0;
    if (sscanf(line, "mixed %d steps %d%n", &b, &nsteps, &n) < 2 || b < 0 || b >= PLAN_BUCKETS || nsteps != p->nsteps) return -1;
    const char *q = line + n;
    for (int i = 0; i < nsteps; i++) {
        int c, m = 0;
        float on, off;
        if (sscanf(q, " %d %f %f%n", &c, &on, &off, &m) < 3 || c < -1 || c > 1 || !(on >= 0) || !(off >= 0)) return -1;
        q += m;
        const int has = p->steps[i].kind == STEP_GEMM && PLAN_GEMM_HAS_MIXED(&p->steps[i].gemm);
        if (c >= 0 && !has) return -1;
        out[b].gemm[i].use = (signed char)c, out[b].gemm[i].us_on = on, out[b].gemm[i].us_off = off;
    }
    return 0;
}

int dsmlpR_exec_tune_parse_lt(const plan *p, const char *line, exec_pick *out)
{
    int b, nsteps, n = 0;
    if (sscanf(line, "lt %d steps %d%n", &b, &nsteps, &n) < 2 || b < 0 || b >= PLAN_BUCKETS || nsteps != p->nsteps) return -1;
    const char *q = line + n;
    for (int i = 0; i < nsteps; i++) {
        int c, m = 0;
        float us, load;
        if (sscanf(q, " %d %f %f%n", &c, &us, &load, &m) < 3 || c < 0 || c > GEMM_CANDS || !(us >= 0) || !(load >= 0)) return -1;
        q += m;
        if (c > 0 && p->steps[i].kind != STEP_GEMM) return -1;
        out[b].gemm[i].lt = (signed char)c, out[b].gemm[i].us_lt = us, out[b].gemm[i].us_lt_load = load;
    }
    return 0;
}

/* The largest T of bucket b the plan runs (its max_tokens may be fewer). */
static int64_t main_hi(const plan *p, int b)
{
    const int64_t hi = dsmlpR_exec_bucket_tokens(b);
    return hi < p->max_tokens ? hi : p->max_tokens;
}

int dsmlpR_exec_tunable(const plan *p)
{
    if (p->nssteps || dsmlpR_mixed_tunable(p)) return 1;
    int gemm = 0;
    for (int i = 0; i < p->nsteps; i++) {
        if (p->steps[i].kind == STEP_ALL_REDUCE) return 0;
        gemm |= p->steps[i].kind == STEP_GEMM;
    }
    return gemm;
}

int dsmlpR_exec_apply_lt(const plan *p, exec_state *rt, const char **why)
{
    int rc = 0;
    for (int i = 0; rt->gemm && i < p->nsteps; i++) {
        if (p->steps[i].kind != STEP_GEMM) continue;
        for (int b = 0; b < PLAN_BUCKETS; b++) {
            const int64_t hi = main_hi(p, b);
            gemm_bucket *bk = dsmlpR_exec_bucket_lo(b) <= hi ? dsmlpR_gemm_bucket(&rt->gemm[i], hi) : NULL;
            if (!bk) continue;
            const int c = rt->pick[b].gemm ? rt->pick[b].gemm[i].lt : 0;
            if (dsmlpR_gemm_use(bk, c - 1) != 0) {
                *why = "a cuBLASLt candidate the load does not have", rc = -1;
                dsmlpR_gemm_use(bk, -1);
            }
        }
    }
    return rc;
}

/* Parses a record into picks; 0 when it fits the plan, else -1 with *why. */
static int parse_record(const plan *p, const exec_state *rt, const char *text, size_t len, exec_pick *out,
                        const char **why)
{
    if (len < strlen(TUNE_MAGIC) || memcmp(text, TUNE_MAGIC, strlen(TUNE_MAGIC))) { *why = "not a tuning record"; return -1; }
    char *copy = malloc(len + 1);
    if (!copy) { *why = "out of memory"; return -1; }
    memcpy(copy, text, len);
    copy[len] = 0;
    int seen[PLAN_BUCKETS] = {0}, rc = 0;
    char *save = NULL;
    for (char *line = strtok_r(copy, "\n", &save); line && !rc; line = strtok_r(NULL, "\n", &save)) {
        if (!strncmp(line, "mixed ", 6)) {
            if (dsmlpR_exec_tune_parse_mixed(p, line, out) != 0) *why = "a mixed line does not fit the plan", rc = -1;
            continue;
        }
        if (!strncmp(line, "lt ", 3)) {
            if (dsmlpR_exec_tune_parse_lt(p, line, out) != 0) *why = "an lt line does not fit the plan", rc = -1;
            continue;
        }
        if (strncmp(line, "bucket ", 7)) continue;
        int b, stream, nsteps, n = 0;
        double um, us;
        if (sscanf(line, "bucket %d stream %d main_us %lf stream_us %lf steps %d%n", &b, &stream, &um, &us, &nsteps, &n) < 5 ||
            b < 0 || b >= PLAN_BUCKETS || nsteps != p->nssteps || (stream != 0 && stream != 1) ||
            (stream && !p->nssteps)) {
            *why = "a bucket line does not fit the plan", rc = -1;
            break;
        }
        const char *q = line + n;
        /* main_from stays the heuristic's: the tuner times bucket 0 at T = 1 only */
        out[b].stream = stream, out[b].us_main = um, out[b].us_stream = us;
        for (int i = 0; i < nsteps; i++) {
            int v, g, m = 0;
            if (sscanf(q, " %d %d%n", &v, &g, &m) < 2) { *why = "a bucket line is short", rc = -1; break; }
            q += m;
            const plan_step *s = &p->ssteps[i];
            if (s->kind == STEP_STREAM) {
                if (stream && !dsmlpR_exec_variant_serves(p, s, v, dsmlpR_exec_bucket_hi(p, b))) {
                    *why = "a variant that does not serve its bucket", rc = -1;
                    break;
                }
                if (v < 0 || v >= s->stream.nvariants || g < 1) { *why = "a variant or grid out of range", rc = -1; break; }
                out[b].variant[i] = v, out[b].grid[i] = dsmlpR_exec_grid_clamp(p, rt, s->stream.variant[v], g, dsmlpR_exec_bucket_hi(p, b));
            }
        }
        seen[b] = 1;
    }
    free(copy);
    for (int b = 0; !rc && b < PLAN_BUCKETS; b++)
        if (!seen[b]) { *why = "a bucket is missing", rc = -1; }
        else if (!dsmlpR_exec_pick_consistent(p, &out[b], why)) rc = -1;
    return rc;
}

dsmlp_status dsmlpR_exec_tune_apply_record(dsmlp_ctx *ctx, const plan *p, exec_state *rt)
{
    uint8_t key[STORE_KEY_BYTES];
    tune_key(p, rt, key);
    dsmlpR_store_hex(key, rt->tune_key);
    store *st;
    if (dsmlpR_ctx_store(ctx, &st) != DSMLP_OK) {
        dsmlpB_err_clear(ctx);
        return DSMLP_OK;   /* no store: the heuristic serves */
    }
    const char *kernel, *arch;
    const uint8_t *payload;
    size_t len;
    if (dsmlpR_store_find(st, key, &kernel, &arch, &payload, &len) != 0) return DSMLP_OK;
    exec_pick tmp[PLAN_BUCKETS];
    int ok = 1;
    for (int b = 0; b < PLAN_BUCKETS; b++) {
        tmp[b] = rt->pick[b];
        tmp[b].variant = calloc((size_t)p->nssteps + 1, sizeof(int));
        tmp[b].grid = calloc((size_t)p->nssteps + 1, sizeof(int));
        tmp[b].gemm = malloc(((size_t)p->nsteps + 1) * sizeof *tmp[b].gemm);
        ok &= tmp[b].variant && tmp[b].grid && tmp[b].gemm;
        if (ok) {
            memcpy(tmp[b].variant, rt->pick[b].variant, (size_t)p->nssteps * sizeof(int));
            memcpy(tmp[b].grid, rt->pick[b].grid, (size_t)p->nssteps * sizeof(int));
            for (int i = 0; i < p->nsteps; i++) tmp[b].gemm[i] = EXEC_GEMM_PICK_RULE;
        }
    }
    const char *why = "out of memory", *none;
    if (ok && parse_record(p, rt, (const char *)payload, len, tmp, &why) == 0) {
        exec_pick old[PLAN_BUCKETS];
        for (int b = 0; b < PLAN_BUCKETS; b++) old[b] = rt->pick[b], rt->pick[b] = tmp[b];
        if (dsmlpR_exec_apply_lt(p, rt, &why) == 0) {
            for (int b = 0; b < PLAN_BUCKETS; b++) free(old[b].variant), free(old[b].grid), free(old[b].gemm);
            snprintf(rt->pick_from, sizeof rt->pick_from, "measured: tuning record %.16s... in the kernel store", rt->tune_key);
            return DSMLP_OK;
        }
        for (int b = 0; b < PLAN_BUCKETS; b++) tmp[b] = rt->pick[b], rt->pick[b] = old[b];
        dsmlpR_exec_apply_lt(p, rt, &none);   /* back to the picks before the record */
    }
    for (int b = 0; b < PLAN_BUCKETS; b++) free(tmp[b].variant), free(tmp[b].grid), free(tmp[b].gemm);
    snprintf(rt->pick_from + strlen(rt->pick_from), sizeof rt->pick_from - strlen(rt->pick_from),
             "; tuning record %.16s... ignored: %s", rt->tune_key, why);
    return DSMLP_OK;
}

/* ------------------------------------------------------------------ measuring */

typedef struct tuner {
    dsmlp_plan     *pl;
    exec_state     *rt;
    const cuda_api *cu;
    CUstream        st;
    CUevent         e0, e1;
    CUdeviceptr    *mine;      /* [nbufs] buffers the tuner allocated */
    CUdeviceptr    *saved;     /* [nbufs] the caller's bindings       */
} tuner;

static int fill_random(const cuda_api *cu, dsmlp_dtype dt, CUdeviceptr dst, size_t bytes, uint64_t seed)
{
    enum { BLOCK = 1 << 20 };
    unsigned char *h = malloc(BLOCK);
    if (!h) return 0;
    size_t esz = dsmlp_dtype_size(dt);
    uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
    for (size_t i = 0; i < BLOCK / esz; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        double v = ((double)(x >> 11) * 0x1.0p-52 - 1.0) * (dt == DSMLP_I8 ? 100.0 : 0.5);
        dsmlpB_dtype_store(dt, h, (int64_t)i, v != 0 ? v : 0.25);
    }
    int ok = 1;
    for (size_t off = 0; ok && off < bytes; off += BLOCK)
        ok = cu->cuMemcpyHtoD(dst + off, h, bytes - off < BLOCK ? bytes - off : BLOCK) == CUDA_SUCCESS;
    free(h);
    return ok;
}

static void tuner_close(tuner *t)
{
    const plan *p = t->pl->p;
    const cuda_api *cu = t->cu;
    if (t->st) cu->cuStreamSynchronize(t->st);
    for (int b = 0; t->mine && b < p->nbufs; b++) {
        if (t->mine[b]) cu->cuMemFree(t->mine[b]);
        if (t->saved) t->rt->ptr[b] = t->saved[b];
    }
    if (t->e0) cu->cuEventDestroy(t->e0);
    if (t->e1) cu->cuEventDestroy(t->e1);
    if (t->st) cu->cuStreamDestroy(t->st);
    free(t->mine), free(t->saved);
}

/* Random buffers for every input, parameter and output (T up to the buckets' bound). */
static dsmlp_status tuner_open(tuner *t, dsmlp_plan *pl)
{
    dsmlp_ctx *ctx = pl->ctx;
    const plan *p = pl->p;
    memset(t, 0, sizeof *t);
    t->pl = pl, t->rt = pl->rt, t->cu = t->rt->dev->cu;
    const cuda_api *cu = t->cu;
    if (!cu->cuEventCreate || !cu->cuEventRecord || !cu->cuEventSynchronize || !cu->cuEventElapsedTime ||
        !cu->cuStreamCreate || !cu->cuStreamSynchronize || !cu->cuStreamDestroy || !cu->cuEventDestroy)
        return dsmlpB_err_set(ctx, DSMLP_ERR_UNSUPPORTED, "dsmlp_plan_tune: the CUDA driver lacks events or streams");
    t->mine = calloc((size_t)p->nbufs + 1, sizeof *t->mine);
    t->saved = calloc((size_t)p->nbufs + 1, sizeof *t->saved);
    if (!t->mine || !t->saved) return dsmlpB_err_set(ctx, DSMLP_ERR_NOMEM, "dsmlp_plan_tune: out of host memory");
    if (cu->cuStreamCreate(&t->st, 0) != CUDA_SUCCESS || cu->cuEventCreate(&t->e0, 0) != CUDA_SUCCESS ||
        cu->cuEventCreate(&t->e1, 0) != CUDA_SUCCESS)
        return dsmlpB_err_set(ctx, DSMLP_ERR_CUDA, "dsmlp_plan_tune: creating a stream or events failed");
    const int64_t tmax = main_hi(p, PLAN_BUCKETS - 1) > p->stream_max_T ? main_hi(p, PLAN_BUCKETS - 1) : p->stream_max_T;
    for (int b = 0; b < p->nbufs; b++) {
        const plan_buf *B = &p->bufs[b];
        t->saved[b] = t->rt->ptr[b];
        if (B->kind != BUF_INPUT && B->kind != BUF_PARAM && B->kind != BUF_OUTPUT) continue;
        size_t bytes = (size_t)(B->tokens ? tmax : B->rows) * (size_t)B->cols * dsmlp_dtype_size(B->dtype);
        CUresult r = cu->cuMemAlloc(&t->mine[b], (bytes + 255) & ~(size_t)255);
        if (r != CUDA_SUCCESS)
            return dsmlpB_err_set(ctx, DSMLP_ERR_CUDA, "dsmlp_plan_tune: cuMemAlloc of %zu bytes for '%s' failed: %s", bytes,
                           B->name, dsmlpR_cuda_api_errstr(r));
        if (B->kind != BUF_OUTPUT && !fill_random(cu, B->dtype, t->mine[b], bytes, (uint64_t)b + 1))
            return dsmlpB_err_set(ctx, DSMLP_ERR_CUDA, "dsmlp_plan_tune: filling '%s' with random values failed", B->name);
        t->rt->ptr[b] = t->mine[b];
    }
    return DSMLP_OK;
}

/* Enqueues one run of `what` (a route, or one stream kernel when k >= 0, with its norm kernel where that step's norm
** stays its own kernel). */
static dsmlp_status enqueue_what(tuner *t, int64_t T, int route, const exec_pick *pick, int step, int k, int grid)
{
    const plan *p = t->pl->p;
    const int norm = k >= 0 && step > 0 && p->ssteps[step - 1].norm_for == step + 1 &&
                     dsmlpC_route_step_runs(p, &p->ssteps[step - 1], k) ? step - 1 : -1;
    dsmlp_status s = norm >= 0 ? dsmlpR_exec_run_step_kernel(t->pl, &p->ssteps[norm], norm, T, t->st) : DSMLP_OK;
    if (s == DSMLP_OK)
        s = k >= 0 ? dsmlpR_exec_launch_stream(t->pl->ctx, p, t->rt, step, k, grid, T, t->st)
                   : dsmlpR_exec_enqueue(t->pl, T, route, pick, t->st);
    return s;
}

static int cmp_float(const void *a, const void *b)
{
    const float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* µs per run of `what`, as the benchmarks time a block (bench/RESULTS.md): one run captured as a CUDA graph,
** replayed alone between two events, the median of TUNE_REPS replays. Runs back to back on a stream overlap one
** run's tail with the next one's start, which favoured other kernels than the replays did (an H200: the wgmma kernel
** on SwiGLU-4096's first GEMM at T = 33..64 measured 2% faster back to back, 5 us slower replayed; thirtieth
** session). Without the graph entry points: the mean of TUNE_REPS runs back to back, median of 3. */
static double time_it(tuner *t, int64_t T, int route, const exec_pick *pick, int step, int k, int grid)
{
    const cuda_api *cu = t->cu;
    if (cu->cuStreamBeginCapture && cu->cuStreamEndCapture && cu->cuGraphInstantiate && cu->cuGraphLaunch &&
        cu->cuGraphDestroy && cu->cuGraphExecDestroy) {
        CUgraph g = NULL;
        CUgraphExec ge = NULL;
        if (cu->cuStreamBeginCapture(t->st, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL) != CUDA_SUCCESS) return -1;
        const dsmlp_status s = enqueue_what(t, T, route, pick, step, k, grid);
        const CUresult r = cu->cuStreamEndCapture(t->st, &g);
        int ok = s == DSMLP_OK && r == CUDA_SUCCESS && cu->cuGraphInstantiate(&ge, g, 0) == CUDA_SUCCESS;
        float ms[TUNE_REPS];
        for (int i = -3; ok && i < TUNE_REPS; i++) {
            float m = 0;
            ok = cu->cuEventRecord(t->e0, t->st) == CUDA_SUCCESS && cu->cuGraphLaunch(ge, t->st) == CUDA_SUCCESS &&
                 cu->cuEventRecord(t->e1, t->st) == CUDA_SUCCESS && cu->cuEventSynchronize(t->e1) == CUDA_SUCCESS &&
                 cu->cuEventElapsedTime(&m, t->e0, t->e1) == CUDA_SUCCESS;
            if (i >= 0) ms[i] = m;
        }
        if (ge) cu->cuGraphExecDestroy(ge);
        if (g) cu->cuGraphDestroy(g);
        if (!ok) return -1;
        qsort(ms, TUNE_REPS, sizeof *ms, cmp_float);
        return (double)ms[TUNE_REPS / 2] * 1000.0;
    }
    double best[3];
    for (int rep = 0; rep < 3; rep++) {
        for (int i = -2; i < TUNE_REPS; i++) {
            if (i == 0 && cu->cuEventRecord(t->e0, t->st) != CUDA_SUCCESS) return -1;
            if (enqueue_what(t, T, route, pick, step, k, grid) != DSMLP_OK) return -1;
        }
        float ms = 0;
        if (cu->cuEventRecord(t->e1, t->st) != CUDA_SUCCESS || cu->cuEventSynchronize(t->e1) != CUDA_SUCCESS ||
            cu->cuEventElapsedTime(&ms, t->e0, t->e1) != CUDA_SUCCESS)
            return -1;
        best[rep] = (double)ms * 1000.0 / TUNE_REPS;
    }
    double a = best[0], b = best[1], c = best[2];
    return a > b ? (b > c ? b : a > c ? c : a) : (a > c ? a : b > c ? c : b);
}

/* A persistent kernel of steps i and i + 1 replaces their two kernels where it is faster than both together (at the
** resident grid: its blocks wait for each other); step_us holds the steps' best times. */
static void tune_fused(tuner *t, int64_t T, exec_pick *pk, int i, const double *step_us)
{
    const plan *p = t->pl->p;
    const plan_step *s = &p->ssteps[i];
    if (s->kind != STEP_STREAM || s->stream.fused_v < 0 || s->stream.fused_role != 1) return;
    const int v = s->stream.fused_v, k = s->stream.variant[v];
    if (!dsmlpR_exec_variant_serves(p, s, v, T)) return;
    double best = step_us[i] + step_us[i + 1];
    const int64_t cands[2] = {dsmlpR_exec_grid_resident(p, t->rt, k), dsmlpR_exec_grid_tiles(p, t->rt, k)};
    for (int c = 0; c < 2; c++) {
        const int G = dsmlpR_exec_grid_clamp(p, t->rt, k, cands[c], T);
        if (c == 1 && G == dsmlpR_exec_grid_clamp(p, t->rt, k, cands[0], T)) break;
        const double us = time_it(t, T, 1, pk, i, k, G);
        if (us > 0 && us < best) best = us, pk->variant[i] = pk->variant[i + 1] = v, pk->grid[i] = pk->grid[i + 1] = G;
    }
}

/* Sum of the main route's times at T = a and b (both in one bucket), -1 on failure. */
static double time_main2(tuner *t, const exec_pick *pk, int64_t a, int64_t b)
{
    const double x = time_it(t, a, 0, pk, -1, -1, 0), y = a == b ? 0 : time_it(t, b, 0, pk, -1, -1, 0);
    return x > 0 && y >= 0 ? x + y : -1;
}

/* The main route's GEMM kernels in bucket b: each GEMM step with a generated mixed-input / wgmma kernel starts at
** the rule's choice at the bucket's largest T and takes the other one (the generated kernel, or cuBLASLt / dequantize
** + cuBLASLt) where the route is TUNE_FLIP_GAIN faster at the bucket's smallest and largest T together (the smallest
** past the decode GEMVs, which run first either way); step by step, each against the choices made so far. 0, or -1
** when a timing failed. */
static int tune_mixed(tuner *t, int b, exec_pick *pk)
{
    const plan *p = t->pl->p;
    int64_t lo = dsmlpR_exec_bucket_lo(b);
    const int64_t hi = main_hi(p, b);
    if (!dsmlpR_mixed_tunable(p) || hi < lo) return 0;
    for (int i = 0; i < p->nsteps; i++) {   /* the rule's choice (step i's reads only its own pk->gemm[i], still -1) */
        const plan_step *s = &p->steps[i];
        pk->gemm[i] = EXEC_GEMM_PICK_RULE;
        if (s->kind != STEP_GEMM || !PLAN_GEMM_HAS_MIXED(&s->gemm)) continue;
        pk->gemm[i].use = (signed char)dsmlpR_mixed_serves(p, t->rt, &s->gemm, hi);
        const int64_t top = dsmlpR_decode_top(t->rt, &s->gemm);   /* the decode GEMVs serve up to it */
        if (top >= lo) lo = top + 1;
    }
    if (lo > hi) lo = hi;
    double best = time_main2(t, pk, lo, hi);
    if (best < 0) return -1;
    for (int i = 0; i < p->nsteps; i++) {
        exec_gemm_pick *g = &pk->gemm[i];
        if (g->use < 0) continue;
        g->use = (signed char)!g->use;
        const double us = time_main2(t, pk, lo, hi);
        if (us < 0) return -1;
        g->us_on = (float)(g->use ? us : best), g->us_off = (float)(g->use ? best : us);
        if (us * (1 + TUNE_FLIP_GAIN) < best) best = us;
        else g->use = (signed char)!g->use;
    }
    return 0;
}

static const char *gemm_kernel_at(const plan *p, const exec_state *rt, const plan_gemm *g, int64_t T, char *buf, size_t n);

/* cuBLASLt's algorithm for each main-route GEMM step it serves in bucket b (at the bucket's smallest T past the
** decode GEMVs or at its largest): every candidate of the GEMM bucket holding the largest T (gemm.h: the
** heuristic's first ones serving all of it) is timed within the route at both T (each as a graph replay, as the
** generated kernels are) and the fastest kept where it beats the load's choice by TUNE_FLIP_GAIN. The heuristic's
** first choice is not the fastest at every T: DSMLP_GEMM_TUNE's isolated, back-to-back timing found faster ones at
** T = 2..8 and slower ones at 9..32 (GELU-4096 f16 [out,in] on an H200, bench/RESULTS.md, thirty-first session).
** Step by step, each against the choices made so far; after tune_mixed (a faster algorithm does not move its
** choice: see docs/cli.md). A candidate whose timing fails is skipped. */
static void tune_lt(tuner *t, int b, exec_pick *pk)
{
    const plan *p = t->pl->p;
    const int64_t hi = main_hi(p, b);
    for (int i = 0; i < p->nsteps && dsmlpR_exec_bucket_lo(b) <= hi; i++) {
        const plan_step *s = &p->steps[i];
        exec_gemm_pick *g = &pk->gemm[i];
        gemm_bucket *bk = s->kind == STEP_GEMM ? dsmlpR_gemm_bucket(&t->rt->gemm[i], hi) : NULL;
        if (!bk || bk->ncand < 2) continue;
        int64_t lo = dsmlpR_exec_bucket_lo(b);
        const int64_t top = dsmlpR_decode_top(t->rt, &s->gemm);   /* the decode GEMVs serve up to it */
        if (top >= lo) lo = top + 1;
        if (lo < bk->tmin) lo = bk->tmin;
        char la[PLAN_NAME_MAX + 64], lz[PLAN_NAME_MAX + 64];
        if (lo > hi || (!strstr(gemm_kernel_at(p, t->rt, &s->gemm, lo, la, sizeof la), "cuBLASLt") &&
                        !strstr(gemm_kernel_at(p, t->rt, &s->gemm, hi, lz, sizeof lz), "cuBLASLt")))
            continue;
        dsmlpR_gemm_use(bk, -1);
        double best = time_main2(t, pk, lo, hi);
        if (best < 0) continue;
        int pick = bk->loaded;
        g->us_lt_load = (float)best;
        for (int c = 0; c < bk->ncand; c++) {
            if (c == bk->loaded) continue;
            dsmlpR_gemm_use(bk, c);
            const double us = time_main2(t, pk, lo, hi);
            if (us > 0 && us * (1 + TUNE_FLIP_GAIN) < best) best = us, pick = c;
        }
        dsmlpR_gemm_use(bk, pick);
        g->lt = (signed char)(pick + 1), g->us_lt = (float)best;
    }
}

static dsmlp_status measure(tuner *t, char **record, size_t *len)
{
    dsmlp_plan *pl = t->pl;
    const plan *p = pl->p;
    exec_state *rt = t->rt;
    dsmlp_ctx *ctx = pl->ctx;
    char *text = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&text, &n);
    if (!f) return dsmlpB_err_set(ctx, DSMLP_ERR_NOMEM, "dsmlp_plan_tune: out of memory");
    double *step_us = calloc((size_t)p->nssteps + 1, sizeof *step_us);
    if (!step_us) {
        fclose(f);
        free(text);
        return dsmlpB_err_set(ctx, DSMLP_ERR_NOMEM, "dsmlp_plan_tune: out of memory");
    }
    fprintf(f, "%sdevice %s|sms %d\n", TUNE_MAGIC, rt->dev->name, rt->dev->sm_count);
    for (int b = 0; b < PLAN_BUCKETS; b++)   /* cuBLASLt's algorithms: the load's, until measured below */
        for (int i = 0; i < p->nsteps; i++) rt->pick[b].gemm[i].lt = 0;
    const char *why;
    dsmlpR_exec_apply_lt(p, rt, &why);
    for (int b = 0; b < PLAN_BUCKETS; b++) {
        exec_pick *pk = &rt->pick[b];
        if (tune_mixed(t, b, pk) != 0) goto fail;
        tune_lt(t, b, pk);
        int64_t T = !p->nssteps ? main_hi(p, b) : b == 0 ? 1 : dsmlpR_exec_bucket_hi(p, b);
        if (T < 1) T = 1;
        /* a plan of fewer tokens than the bucket holds too (max_tokens 1: bucket 0 was never timed on the route) */
        const int servable = dsmlpR_exec_bucket_lo(b) <= p->stream_max_T;
        pk->us_main = time_it(t, T, 0, pk, -1, -1, 0);
        pk->us_stream = 0;
        pk->stream = 0;
        if (pk->us_main < 0) goto fail;
        if (servable) {
            int ok = 1;
            for (int i = 0; i < p->nssteps && ok; i++) {
                const plan_step *s = &p->ssteps[i];
                if (s->kind != STEP_STREAM) continue;
                double bt = -1;
                for (int v = 0; v < s->stream.nvariants; v++) {
                    if (!dsmlpR_exec_variant_serves(p, s, v, T)) continue;
                    int k = s->stream.variant[v];
                    if (p->kernels[k].sk_fused) continue;   /* timed against the pair below */
                    /* resident blocks, one per SM, one per tile, two waves, whole tiles per block (more waves
                    ** measured slower on an H200: every block pays its prologue, bench/RESULTS.md) */
                    const int64_t res = dsmlpR_exec_grid_resident(p, rt, k), hiT = dsmlpR_exec_bucket_hi(p, b);
                    int64_t cands[5] = {res, rt->dev->sm_count, p->kernels[k].sk_tiles, 2 * res,
                                        dsmlpR_exec_grid_tiles(p, rt, k)};
                    int tried[5], nt = 0;
                    for (int c = 0; c < 5; c++) {
                        int G = dsmlpR_exec_grid_clamp(p, rt, k, cands[c], hiT), seen = 0;
                        for (int q = 0; q < nt; q++) seen |= tried[q] == G;
                        if (seen) continue;
                        tried[nt++] = G;
                        double us = time_it(t, T, 1, pk, i, k, G);
                        if (us > 0 && (bt < 0 || us < bt)) bt = us, pk->variant[i] = v, pk->grid[i] = G;
                    }
                }
                ok = bt > 0;
                step_us[i] = bt;
            }
            for (int i = 0; ok && i + 1 < p->nssteps; i++) tune_fused(t, T, pk, i, step_us);
            if (ok) {
                pk->us_stream = time_it(t, T, 1, pk, -1, -1, 0);
                pk->stream = pk->us_stream > 0 && pk->us_stream < pk->us_main;
            }
        }
        /* as the record keeps them, so that a later load explains the same numbers */
        pk->us_main = round(pk->us_main * 100) / 100, pk->us_stream = round(pk->us_stream * 100) / 100;
        fprintf(f, "bucket %d stream %d main_us %.2f stream_us %.2f steps %d", b, pk->stream, pk->us_main, pk->us_stream,
                p->nssteps);
        for (int i = 0; i < p->nssteps; i++) fprintf(f, " %d %d", pk->variant[i], pk->grid[i] > 0 ? pk->grid[i] : 1);
        fprintf(f, "\nmixed %d steps %d", b, p->nsteps);
        for (int i = 0; i < p->nsteps; i++) {   /* rounded as printed, so a later load explains the same numbers */
            exec_gemm_pick *g = &pk->gemm[i];
            g->us_on = roundf(g->us_on * 100) / 100, g->us_off = roundf(g->us_off * 100) / 100;
            fprintf(f, " %d %.2f %.2f", g->use, g->us_on, g->us_off);
        }
        fprintf(f, "\nlt %d steps %d", b, p->nsteps);
        for (int i = 0; i < p->nsteps; i++) {
            exec_gemm_pick *g = &pk->gemm[i];
            g->us_lt = roundf(g->us_lt * 100) / 100, g->us_lt_load = roundf(g->us_lt_load * 100) / 100;
            fprintf(f, " %d %.2f %.2f", g->lt, g->us_lt, g->us_lt_load);
        }
        fprintf(f, "\n");
    }
    fclose(f);
    free(step_us);
    *record = text, *len = n;
    return DSMLP_OK;
fail:
    fclose(f);
    free(text), free(step_us);
    return dsmlpB_err_set(ctx, DSMLP_ERR_CUDA, "dsmlp_plan_tune: timing plan '%s' failed", p->graph_name);
}

dsmlp_status dsmlp_plan_tune(dsmlp_plan *pl)
{
    if (!pl || !pl->p) return DSMLP_ERR_INVALID_ARG;
    dsmlp_ctx *ctx = pl->ctx;
    const plan *p = pl->p;
    exec_state *rt = pl->rt;
    if (!rt)
        return dsmlpB_err_set(ctx, DSMLP_ERR_STATE, "dsmlp_plan_tune: plan '%s' is not loaded (call dsmlp_plan_load first)",
                       p->graph_name);
    if (!dsmlpR_exec_tunable(p)) {
        snprintf(rt->pick_from, sizeof rt->pick_from, "nothing to tune (no generated GEMM kernel to time against "
                 "cuBLASLt, no GEMM step a run of this plan alone could time: %s); no weight-streaming route: %.400s",
                 p->nsteps ? "it has an all-reduce step" : "no GEMM step", p->stream_why);
        dsmlpB_err_clear(ctx);
        return DSMLP_OK;
    }
    if (!rt->ws && rt->ws_plan + rt->ws_lt)   /* the runs it times need the intermediates */
        return dsmlpB_err_set(ctx, DSMLP_ERR_STATE, "dsmlp_plan_tune: plan '%s' has no workspace (install one with "
                       "dsmlp_plan_set_workspace first)", p->graph_name);
    dsmlp_status s = dsmlpR_device_make_current(ctx, rt->dev);
    if (s != DSMLP_OK) return s;
    tuner t;
    if ((s = tuner_open(&t, pl)) != DSMLP_OK) {
        tuner_close(&t);
        return s;
    }
    char *record = NULL;
    size_t len = 0;
    s = measure(&t, &record, &len);
    tuner_close(&t);
    if (s != DSMLP_OK) {
        dsmlpR_exec_stream_heuristic(p, rt);
        return s;
    }
    uint8_t key[STORE_KEY_BYTES];
    tune_key(p, rt, key);
    dsmlpR_store_hex(key, rt->tune_key);
    snprintf(rt->pick_from, sizeof rt->pick_from, "measured now (tuning record %.16s...)", rt->tune_key);
    store *st;
    if ((s = dsmlpR_ctx_store(ctx, &st)) == DSMLP_OK) {
        char name[STORE_KERNEL_MAX];
        snprintf(name, sizeof name, "tune:%.100s", p->graph_name);
        s = dsmlpR_store_put(st, ctx, key, name, p->arch, record, len);
    }
    free(record);
    if (s == DSMLP_OK) dsmlpB_err_clear(ctx);
    return s;
}

/* The kernel GEMM g runs at T on the main route, in exec_run.c's order: its mixed-input / wgmma kernel (and its k
** split, written into buf), the decode GEMV, cuBLASLt. */
static const char *gemm_kernel_at(const plan *p, const exec_state *rt, const plan_gemm *g, int64_t T, char *buf, size_t n)
{
    mixed_pick mp;
    if (dsmlpR_mixed_pick(p, rt, g, T, &mp)) {
        const char *name = p->kernels[mp.kernel].name;
        if (mp.split == 1) return name;
        if (mp.cluster == 1) snprintf(buf, n, "%s (k split in %d: no clusters, the tile's last block sums)", name, mp.split);
        else if (mp.cluster == mp.split) snprintf(buf, n, "%s (k split in %d: a cluster a tile)", name, mp.split);
        else snprintf(buf, n, "%s (k split in %d: two groups of clusters of %d)", name, mp.split, mp.cluster);
        return buf;
    }
    const int gemv = dsmlpR_decode_at(rt, g, T);
    if (gemv >= 0) return p->kernels[gemv].name;
    return g->mixed_scales >= 0 ? "dequantize + cuBLASLt" : "cuBLASLt";
}

/* The main route's GEMMs with a generated kernel in bucket b (T = lo..hi): which kernel at lo and at hi, and whether
** a measurement or the rule chose it. */
static void print_main_gemms(FILE *f, const plan *p, const exec_state *rt, int b, int64_t lo, int64_t hi)
{
    for (int i = 0; i < p->nsteps; i++) {
        const plan_step *s = &p->steps[i];
        const exec_gemm_pick *g = rt->pick[b].gemm ? &rt->pick[b].gemm[i] : NULL;
        if (s->kind != STEP_GEMM) continue;
        if (PLAN_GEMM_HAS_MIXED(&s->gemm)) {   /* its kernel, then (below) cuBLASLt's algorithm where that serves */
            char la[PLAN_NAME_MAX + 64], lz[PLAN_NAME_MAX + 64];
            const char *a = gemm_kernel_at(p, rt, &s->gemm, lo, la, sizeof la), *z = gemm_kernel_at(p, rt, &s->gemm, hi, lz, sizeof lz);
            fprintf(f, "      [%d] %s: %s", i, s->label, a);
            if (strcmp(a, z)) fprintf(f, " at T = %lld, %s at T = %lld", (long long)lo, z, (long long)hi);
            if (p->mixed_mode != 1) fprintf(f, " (pinned by mixed_gemm)\n");
            else if (!g || g->use < 0) fprintf(f, " (the rule in exec_mixed.c)\n");
            else fprintf(f, " (measured: the route %.1f us with its generated kernel, %.1f without, two T summed)\n", g->us_on,
                         g->us_off);
        }
        if (g && g->lt > 0 && rt->gemm) {
            const gemm_bucket *bk = dsmlpR_gemm_bucket(&rt->gemm[i], hi);
            const int n = bk ? bk->ncand : 0;
            fprintf(f, "      [%d] %s: cuBLASLt's candidate %d of %d where cuBLASLt serves (measured: %.1f us with it, %.1f "
                    "with the load's choice, two T summed)\n", i, s->label, g->lt, n, g->us_lt, g->us_lt_load);
        }
    }
}

dsmlp_status dsmlp_plan_route_text(const dsmlp_plan *pl, char **text)
{
    if (!pl || !pl->p || !text) return DSMLP_ERR_INVALID_ARG;
    const plan *p = pl->p;
    const exec_state *rt = pl->rt;
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    if (!f) return dsmlpB_err_set(pl->ctx, DSMLP_ERR_NOMEM, "dsmlp_plan_route_text: out of memory");
    if (!p->nssteps) {
        fprintf(f, "every T: the main steps (no weight-streaming route: %s)\n", p->stream_why);
        if (rt && dsmlpR_exec_tunable(p)) {
            fprintf(f, "their GEMM kernels chosen by %s\n", rt->pick_from);
            for (int b = 0; b < PLAN_BUCKETS; b++) {
                const int64_t lo = dsmlpR_exec_bucket_lo(b), hi = main_hi(p, b);
                if (lo > hi) break;
                fprintf(f, "  T %lld..%lld", (long long)lo, (long long)hi);
                if (rt->pick[b].us_main > 0) fprintf(f, " (measured: %.1f us at T = %lld)", rt->pick[b].us_main, (long long)hi);
                fprintf(f, "\n");
                print_main_gemms(f, p, rt, b, lo, hi);
            }
            fprintf(f, "  T > %d: the rule in exec_mixed.c\n", dsmlpR_exec_bucket_tokens(PLAN_BUCKETS - 1));
        }
    } else if (!rt) {
        fprintf(f, "T <= %lld may run the weight-streaming route; which T do is decided at load (tuning record in the "
                   "kernel store, else the heuristic)\n", (long long)p->stream_max_T);
    } else {
        fprintf(f, "chosen by %s\n", rt->pick_from);
        for (int b = 0; b < PLAN_BUCKETS; b++) {
            const int64_t lo = dsmlpR_exec_bucket_lo(b), hi = main_hi(p, b);
            if (lo > p->max_tokens) break;
            const exec_pick *pk = &rt->pick[b];
            int stream = pk->stream && lo <= p->stream_max_T;
            fprintf(f, "  T %lld..%lld: %s", (long long)lo, (long long)hi,
                    stream ? "weight-streaming route" : "main steps");
            if (stream && pk->main_from > 0)
                fprintf(f, " up to T = %lld, from there the main steps (their mixed-input GEMMs)",
                        (long long)pk->main_from - 1);
            if (pk->us_main > 0) fprintf(f, " (measured: main %.1f us, stream %.1f us)", pk->us_main, pk->us_stream);
            fprintf(f, "\n");
            if (!stream || pk->main_from > 0) print_main_gemms(f, p, rt, b, stream ? pk->main_from : lo, hi);
            for (int i = 0; stream && i < p->nssteps; i++) {
                const plan_step *s = &p->ssteps[i];
                if (s->norm_for) {
                    const int j = s->norm_for - 1;
                    if (dsmlpC_route_step_runs(p, s, p->ssteps[j].stream.variant[pk->variant[j]]))
                        fprintf(f, "      [%d] %s: its own kernel (step %d's kernel does not normalize)\n", i, s->label, j);
                    continue;
                }
                if (s->kind != STEP_STREAM) continue;
                const plan_kernel *k = &p->kernels[s->stream.variant[pk->variant[i]]];
                if (dsmlpR_exec_step_in_fused(p, pk, i))
                    fprintf(f, "      [%d] %s: in step %d's persistent kernel\n", i, s->label, i - 1);
                else
                    fprintf(f, "      [%d] %s: %s (%s), grid %d\n", i, s->label, k->name, k->sk_what, pk->grid[i]);
            }
        }
        fprintf(f, "  T > %lld: main steps\n", (long long)(p->stream_max_T < 128 ? p->stream_max_T : 128));
    }
    fclose(f);
    *text = buf;
    return DSMLP_OK;
}

dsmlp_status dsmlp_plan_set_route(dsmlp_plan *pl, int64_t T, int stream, int variant, int grid)
{
    if (!pl || !pl->p) return DSMLP_ERR_INVALID_ARG;
    const plan *p = pl->p;
    exec_state *rt = pl->rt;
    if (!rt)
        return dsmlpB_err_set(pl->ctx, DSMLP_ERR_STATE, "dsmlp_plan_set_route: plan '%s' is not loaded", p->graph_name);
    if (T < 1 || T > p->max_tokens)
        return dsmlpB_err_set(pl->ctx, DSMLP_ERR_INVALID_ARG, "dsmlp_plan_set_route: T = %lld is outside [1, %lld]",
                       (long long)T, (long long)p->max_tokens);
    if (stream && T > p->stream_max_T)
        return dsmlpB_err_set(pl->ctx, DSMLP_ERR_UNSUPPORTED,
                       "dsmlp_plan_set_route: plan '%s' has no weight-streaming route for T = %lld (%s)", p->graph_name,
                       (long long)T, p->stream_why);
    exec_pick *pk = &rt->pick[dsmlpR_exec_bucket(T)];
    const int64_t hi = dsmlpR_exec_bucket_hi(p, dsmlpR_exec_bucket(T));
    for (int i = 0; stream && i < p->nssteps; i++) {
        const plan_step *s = &p->ssteps[i];
        if (s->kind != STEP_STREAM) continue;
        int v = variant >= 0 ? variant : pk->variant[i];
        if (!dsmlpR_exec_variant_serves(p, s, v, hi))
            return dsmlpB_err_set(pl->ctx, DSMLP_ERR_INVALID_ARG,
                           "dsmlp_plan_set_route: step %d (%s) has no variant %d serving T up to %lld (it has %d)", i,
                           s->label, v, (long long)hi, s->stream.nvariants);
    }
    for (int i = 0; stream && i < p->nssteps; i++) {
        const plan_step *s = &p->ssteps[i];
        if (s->kind != STEP_STREAM) continue;
        if (variant >= 0) pk->variant[i] = variant;
        int k = s->stream.variant[pk->variant[i]];
        pk->grid[i] = grid > 0 ? dsmlpR_exec_grid_clamp(p, rt, k, grid, hi) : dsmlpR_exec_grid_default(p, rt, k, hi);
    }
    pk->stream = stream != 0, pk->main_from = 0;
    snprintf(rt->pick_from, sizeof rt->pick_from, "set by dsmlp_plan_set_route");
    dsmlpB_err_clear(pl->ctx);
    return DSMLP_OK;
}

dsmlp_status dsmlp_plan_tune_key(const dsmlp_plan *pl, const char **key)
{
    if (!pl || !pl->p || !key) return DSMLP_ERR_INVALID_ARG;
    const exec_state *rt = pl->rt;
    *key = NULL;
    if (!rt) return dsmlpB_err_set(pl->ctx, DSMLP_ERR_STATE, "dsmlp_plan_tune_key: plan '%s' is not loaded", pl->p->graph_name);
    *key = dsmlpR_exec_tunable(pl->p) ? rt->tune_key : "";
    return DSMLP_OK;
}
