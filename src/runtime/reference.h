/*
** reference.h — internals of the CPU reference executor (reference*.c).
** Everything is double precision; a thread pool runs fixed-size chunks, so
** results never depend on the number of threads.
*/
#ifndef DSMLP_REFERENCE_H
#define DSMLP_REFERENCE_H

#include <stdint.h>
#include "dsmlp.h"

#define REF_MAX_THREADS 256

/* Threads the executor uses for ctx: ctx->rt->ref_threads (>= 1), where 1 (the
** default) and 0 (auto) defer to $DSMLP_REF_THREADS, and auto without it
** means every online CPU. */
int  dsmlpR_ref_threads_effective(const dsmlp_ctx *ctx);

/* Runs fn(arg, c) for every chunk c in [0, nchunks) on up to nthreads
** threads (the caller is one of them). Chunks must be independent. If a
** thread cannot be started the remaining ones (at least the caller) do the
** work, so this never fails. */
typedef void (*ref_chunk_fn)(void *arg, int64_t chunk);
void dsmlpR_ref_parallel(int nthreads, int64_t nchunks, ref_chunk_fn fn, void *arg);

/* Y[T,N] = X[T,K] · Wtᵀ, with Wt [N,K] row-major (the weight's out×in view).
** Each Y element is summed in an order fixed by (K) alone. portable: the
** portable copy even where AVX2 is there (option ref_portable). */
void dsmlpR_ref_gemm(int nthreads, int portable, const double *x, int64_t T, int64_t K, const double *wt, int64_t N, double *y);

/* Activations as the IR defines them. */
double dsmlpR_ref_act(dsmlp_act act, double x);

/* ---- row-wise ops and conversions (reference_ops.c) ----
** Values are row-major double matrices; a weight is held as its [out, in]
** view whatever its layout, so matmul reads both operands along K. */
typedef struct ref_rowop {
    dsmlp_op      op;      /* ADD, SCALE, LAYERNORM, RMSNORM, BIAS, the four activations, GATED, DEQUANT */
    dsmlp_act     act;     /* activation ops and GATED                                       */
    double        attr;    /* eps (norms), constant (scale)                                  */
    double        offset;  /* RMSNORM: the weight is γ + offset                              */
    const double *a;       /* x (DEQUANT: q)                                                 */
    const double *b;       /* ADD: other term; norms: γ; BIAS: bias; DEQUANT: scales;
                              GATED: the gate [rows, cols] (a = up), or NULL (a = [up | gate]) */
    const double *c;       /* LAYERNORM: β or NULL                                           */
    int           a_bcast; /* ADD: a / b is one row broadcast over all rows                   */
    int           b_bcast;
    int64_t       group_rows; /* DEQUANT: rows per scale                                     */
    dsmlp_dtype   dt;      /* DEQUANT: the weight's dtype, each product rounded to it once    */
    double       *y;
    int64_t       rows, cols; /* of y */
} ref_rowop;
void dsmlpR_ref_rowop_run(int nthreads, const ref_rowop *o);

/* dst [rows, cols] double from a host buffer of dtype sdt. F64 data is rounded
** to vdt (the value's dtype) so both ways of binding give the same numbers.
** transposed: the host buffer is [cols, rows] (an [in,out] weight). */
void dsmlpR_ref_load(int nthreads, double *dst, int64_t rows, int64_t cols, const void *src, dsmlp_dtype sdt,
              dsmlp_dtype vdt, int transposed);
/* Host buffer of dtype ddt from src [rows, cols]: each element rounded to vdt
** first, unless raw (then an F64 buffer gets the unrounded double).
** transposed: the host buffer is [cols, rows]. */
void dsmlpR_ref_store(int nthreads, void *dst, dsmlp_dtype ddt, dsmlp_dtype vdt, int raw, const double *src, int64_t rows,
               int64_t cols, int transposed);

#endif
