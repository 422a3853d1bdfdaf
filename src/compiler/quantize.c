/*
** quantize.c — dsmlp_quantize: symmetric int8 / fp8 e4m3 quantization of a
** host weight, per group of contiguous output rows or per output channel,
** producing the [out,in] weight and the scales dsmlp_dequant reads
** (docs/quant.md). Plain double arithmetic, one pass for the maxima and one
** for the codes, so that every machine writes the same bits.
*/
#include "dtype.h"
#include "error.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* f16 -> double through a table: checkpoints hold 10^8..10^9 elements. */
static float          f16_table[65536];
static pthread_once_t f16_once = PTHREAD_ONCE_INIT;
static void f16_fill(void)
{
    for (uint32_t h = 0; h < 65536; h++) f16_table[h] = dsmlpB_dtype_f16_to_f32((uint16_t)h);
}

static inline double w_at(dsmlp_dtype t, const void *w, size_t i)
{
    switch (t) {
    case DSMLP_F32: return ((const float *)w)[i];
    case DSMLP_F16: return f16_table[((const uint16_t *)w)[i]];
    case DSMLP_BF16: return dsmlpB_dtype_bf16_to_f32(((const uint16_t *)w)[i]);
    default: return ((const double *)w)[i];
    }
}

static const char *qname(dsmlp_dtype t) { return t == DSMLP_FP8_E4M3 ? "fp8" : "int8"; }

/* The smallest scale of type st with scale·qmax >= amax (so no weight clips),
** starting from the nearest; 1 for an all-zero block. -1: beyond st's range. */
static double pick_scale(double amax, double qmax, dsmlp_dtype st)
{
    if (amax == 0) return 1.0;
    double s = amax / qmax;
    if (st == DSMLP_F32) {
        float f = (float)s;
        if ((double)f * qmax < amax) f = nextafterf(f, INFINITY);   /* exact products: 24 + 9 bits */
        return isfinite(f) ? f : -1;   /* only f64 weights reach beyond f32 */
    }
    uint16_t h = dsmlpB_dtype_f64_to_f16(s);
    if ((h & 0x7c00) == 0x7c00) return -1;
    double v = dsmlpB_dtype_f16_to_f32(h);
    if (v * qmax < amax) {
        h++;   /* positive: the next f16 up */
        if ((h & 0x7c00) == 0x7c00) return -1;
        v = dsmlpB_dtype_f16_to_f32(h);
    }
    return v;
}

static dsmlp_status check_args(dsmlp_ctx *ctx, const void *w, dsmlp_dtype wt, dsmlp_layout lay, int64_t rows,
                               int64_t cols, int64_t groups, dsmlp_dtype qt, const void *q, dsmlp_dtype st,
                               const void *scales)
{
    if (!w || !q || !scales)
        return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "quantize: the %s buffer is NULL",
                       !w ? "weight" : !q ? "quantized weight" : "scales");
    if (wt != DSMLP_F32 && wt != DSMLP_F16 && wt != DSMLP_BF16 && wt != DSMLP_F64)
        return dsmlpB_err_set(ctx, DSMLP_ERR_DTYPE, "quantize: weights of dtype %s (want f32, f16, bf16 or f64)",
                       dsmlp_dtype_name(wt));
    if (lay != DSMLP_LAYOUT_IN_OUT && lay != DSMLP_LAYOUT_OUT_IN)
        return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "quantize: unknown layout %d (want IN_OUT=0, OUT_IN=1)", (int)lay);
    if (qt != DSMLP_I8 && qt != DSMLP_FP8_E4M3)
        return dsmlpB_err_set(ctx, DSMLP_ERR_DTYPE, "quantize: quantized dtype %s (want i8 or fp8)", dsmlp_dtype_name(qt));
    if (st != DSMLP_F32 && st != DSMLP_F16)
        return dsmlpB_err_set(ctx, DSMLP_ERR_DTYPE, "quantize: scale dtype %s (want f32 or f16)", dsmlp_dtype_name(st));
    if (rows <= 0 || cols <= 0 || rows > ((int64_t)1 << 40) / cols)
        return dsmlpB_err_set(ctx, DSMLP_ERR_SHAPE, "quantize: a weight of %lld outputs x %lld inputs (both must be > 0, "
                       "at most 2^40 elements)", (long long)rows, (long long)cols);
    if (groups <= 0 || rows % groups != 0)
        return dsmlpB_err_set(ctx, DSMLP_ERR_SHAPE,
                       "quantize: groups=%lld does not divide the %lld output rows (rows = groups for one scale per "
                       "output channel)",
                       (long long)groups, (long long)rows);
    return DSMLP_OK;
}

/* Largest |w| of every output row; the first non-finite element is an error. */
static dsmlp_status row_maxima(dsmlp_ctx *ctx, const void *w, dsmlp_dtype wt, int io, int64_t rows, int64_t cols,
                               double *rmax)
{
    for (int64_t r = 0; r < rows; r++) rmax[r] = 0;
    int64_t outer = io ? cols : rows, inner = io ? rows : cols;
    for (int64_t a = 0; a < outer; a++) {
        size_t base = (size_t)a * (size_t)inner;
        for (int64_t b = 0; b < inner; b++) {
            double v = fabs(w_at(wt, w, base + (size_t)b));
            int64_t r = io ? b : a;
            if (!isfinite(v))
                return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "quantize: weight element [out %lld, in %lld] is %s",
                               (long long)r, (long long)(io ? a : b), isinf(v) ? "inf" : "nan");
            if (v > rmax[r]) rmax[r] = v;
        }
    }
    return DSMLP_OK;
}

static inline void put_code(dsmlp_dtype qt, void *q, size_t i, double v)
{
    if (qt == DSMLP_I8) {
        double r = nearbyint(v);   /* nearest even; |v| <= 127 by the choice of scale */
        ((int8_t *)q)[i] = (int8_t)(r > 127 ? 127 : r < -127 ? -127 : r);
    } else {
        ((uint8_t *)q)[i] = dsmlpB_dtype_f64_to_e4m3(v);
    }
}

#define TILE 64   /* [in,out] sources are transposed in tiles that stay in cache */

dsmlp_status dsmlp_quantize(dsmlp_ctx *ctx, const void *w, dsmlp_dtype w_dtype, dsmlp_layout w_layout, int64_t rows,
                            int64_t cols, int64_t groups, dsmlp_dtype q_dtype, void *q, dsmlp_dtype scale_dtype,
                            void *scales)
{
    dsmlp_status s = check_args(ctx, w, w_dtype, w_layout, rows, cols, groups, q_dtype, q, scale_dtype, scales);
    if (s != DSMLP_OK) return s;
    pthread_once(&f16_once, f16_fill);
    const int io = w_layout == DSMLP_LAYOUT_IN_OUT;
    const int64_t per = rows / groups;
    const double qmax = q_dtype == DSMLP_I8 ? 127.0 : 448.0;
    double *rmax = malloc((size_t)rows * sizeof *rmax), *sc = malloc((size_t)groups * sizeof *sc);
    if (!rmax || !sc) {
        free(rmax), free(sc);
        return dsmlpB_err_set(ctx, DSMLP_ERR_NOMEM, "quantize: out of memory for %lld row maxima", (long long)rows);
    }
    if ((s = row_maxima(ctx, w, w_dtype, io, rows, cols, rmax)) != DSMLP_OK) goto out;
    for (int64_t g = 0; g < groups; g++) {
        double amax = 0;
        for (int64_t r = g * per; r < (g + 1) * per; r++) amax = rmax[r] > amax ? rmax[r] : amax;
        sc[g] = pick_scale(amax, qmax, scale_dtype);
        if (sc[g] < 0) {
            s = dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG,
                        "quantize: group %lld (rows %lld..%lld) has max |w| = %g, whose %s scale %g exceeds %s",
                        (long long)g, (long long)(g * per), (long long)((g + 1) * per - 1), amax, qname(q_dtype),
                        amax / qmax, scale_dtype == DSMLP_F16 ? "f16's 65504; use f32 scales" : "f32's range");
            goto out;
        }
    }
    if (!io) {
        for (int64_t r = 0; r < rows; r++) {
            const double sr = sc[r / per];
            size_t base = (size_t)r * (size_t)cols;
            for (int64_t c = 0; c < cols; c++) put_code(q_dtype, q, base + (size_t)c, w_at(w_dtype, w, base + (size_t)c) / sr);
        }
    } else {   /* source [cols, rows]: q[r, c] = w[c, r] */
        for (int64_t r0 = 0; r0 < rows; r0 += TILE)
            for (int64_t c0 = 0; c0 < cols; c0 += TILE) {
                int64_t r1 = r0 + TILE < rows ? r0 + TILE : rows, c1 = c0 + TILE < cols ? c0 + TILE : cols;
                for (int64_t r = r0; r < r1; r++) {
                    const double sr = sc[r / per];
                    for (int64_t c = c0; c < c1; c++)
                        put_code(q_dtype, q, (size_t)r * (size_t)cols + (size_t)c,
                                 w_at(w_dtype, w, (size_t)c * (size_t)rows + (size_t)r) / sr);
                }
            }
    }
    for (int64_t g = 0; g < groups; g++) dsmlpB_dtype_store(scale_dtype, scales, g, sc[g]);   /* exact: sc is of that type */
out:
    free(rmax), free(sc);
    return s;
}
