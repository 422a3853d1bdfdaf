/*
** reference_gemm.c — the executor's double-precision GEMM, Y = X·Wtᵀ.
**
** Both operands are row-major along K, so the inner loop reads two
** contiguous streams. Work is cut into fixed tiles (TB rows × NB columns of
** Y) that threads take in any order; inside a tile the K loop runs in KC
** blocks. Every element's summation order depends only on K (4 lane partial
** sums per KC block, a fixed horizontal add, the K%4 tail, then the block
** sums in order), never on the tile or the thread, so any thread count gives
** bit-identical results. An AVX2+FMA copy of the same code is used when the
** CPU has it (one choice per process).
*/
#include "reference.h"

#include <stdlib.h>
#include <string.h>

#define MR 3      /* Y rows per micro-kernel    */
#define NR 4      /* Y columns per micro-kernel */
#define TB 192    /* Y rows per tile (multiple of MR) */
#define NB 128    /* Y columns per tile (multiple of NR) */
#define KC 256    /* K block (multiple of 4) */

typedef double v4d __attribute__((vector_size(32)));

/* y[i][j] += Σ_k x[i][k]·w[j][k] over k in [0, kc), for i < mr, j < nr. */
static inline __attribute__((always_inline)) void micro(const int mr, const int nr, const double *x, int64_t ldx,
                                                         const double *w, int64_t ldw, int64_t kc, double *y,
                                                         int64_t ldy)
{
    v4d acc[MR][NR];
#pragma GCC unroll 4
    for (int i = 0; i < MR; i++)
#pragma GCC unroll 4
        for (int j = 0; j < NR; j++) acc[i][j] = (v4d){0, 0, 0, 0};
    int64_t k = 0;
    for (; k + 4 <= kc; k += 4) {
        v4d xv[MR];
#pragma GCC unroll 4
        for (int i = 0; i < mr; i++) memcpy(&xv[i], x + i * ldx + k, sizeof(v4d));
#pragma GCC unroll 4
        for (int j = 0; j < nr; j++) {
            v4d wv;
            memcpy(&wv, w + j * ldw + k, sizeof(v4d));
#pragma GCC unroll 4
            for (int i = 0; i < mr; i++) acc[i][j] += xv[i] * wv;
        }
    }
#pragma GCC unroll 4
    for (int i = 0; i < mr; i++)
#pragma GCC unroll 4
        for (int j = 0; j < nr; j++) {
            double s = (acc[i][j][0] + acc[i][j][1]) + (acc[i][j][2] + acc[i][j][3]);
            for (int64_t kk = k; kk < kc; kk++) s += x[i * ldx + kk] * w[j * ldw + kk];
            y[i * ldy + j] += s;
        }
}

typedef struct gemm_job {
    const double *x, *wt;
    double       *y;
    int64_t       T, K, N, ntt;
} gemm_job;

/* Rows of one tile with a given row count mr (constant after inlining). */
#define TILE_ROWS(MRV)                                                                  \
    do {                                                                                \
        int64_t n = n0;                                                                 \
        for (; n + NR <= n1; n += NR) micro(MRV, NR, xr, K, wt + n * K + k0, K, kc, yr + n, N); \
        for (; n < n1; n++) micro(MRV, 1, xr, K, wt + n * K + k0, K, kc, yr + n, N);    \
    } while (0)

static inline __attribute__((always_inline)) void gemm_tile_body(const gemm_job *j, int64_t c)
{
    const int64_t K = j->K, N = j->N;
    const double *wt = j->wt;
    int64_t t0 = (c % j->ntt) * TB, n0 = (c / j->ntt) * NB;
    int64_t t1 = t0 + TB < j->T ? t0 + TB : j->T, n1 = n0 + NB < N ? n0 + NB : N;
    for (int64_t t = t0; t < t1; t++) memset(j->y + t * N + n0, 0, (size_t)(n1 - n0) * sizeof(double));
    for (int64_t k0 = 0; k0 < K; k0 += KC) {
        int64_t kc = K - k0 < KC ? K - k0 : KC;
        int64_t t = t0;
        for (; t + MR <= t1; t += MR) {
            const double *xr = j->x + t * K + k0;
            double *yr = j->y + t * N;
            TILE_ROWS(MR);
        }
        for (; t < t1; t++) {
            const double *xr = j->x + t * K + k0;
            double *yr = j->y + t * N;
            TILE_ROWS(1);
        }
    }
}

static void gemm_tile_generic(void *arg, int64_t c) { gemm_tile_body(arg, c); }

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx2,fma"))) static void gemm_tile_avx2(void *arg, int64_t c) { gemm_tile_body(arg, c); }
#endif

void dsmlpR_ref_gemm(int nthreads, int portable, const double *x, int64_t T, int64_t K, const double *wt, int64_t N, double *y)
{
    if (T <= 0 || N <= 0) return;
    if (K <= 0) {
        memset(y, 0, (size_t)(T * N) * sizeof(double));
        return;
    }
    gemm_job j = {.x = x, .wt = wt, .y = y, .T = T, .K = K, .N = N, .ntt = (T + TB - 1) / TB};
    int64_t ntiles = j.ntt * ((N + NB - 1) / NB);
    ref_chunk_fn fn = gemm_tile_generic;
#if defined(__x86_64__) && defined(__GNUC__)
    /* ref_portable (DSMLP_REF_PORTABLE=1) forces the portable copy (tests cover it on AVX2 machines). */
    if (!portable && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) fn = gemm_tile_avx2;
#else
    (void)portable;
#endif
    dsmlpR_ref_parallel(nthreads, ntiles, fn, &j);
}
