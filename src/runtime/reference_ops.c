/* reference_ops.c — the reference executor's row-wise ops and host conversions. */
#include "reference.h"
#include "dtype.h"

#include <math.h>
#include <pthread.h>
#include <string.h>

#define ROWS_PER_CHUNK 16

double dsmlpR_ref_act(dsmlp_act act, double x)
{
    switch (act) {
    case DSMLP_ACT_GELU_TANH: return 0.5 * x * (1.0 + tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)));
    case DSMLP_ACT_GELU_ERF:  return 0.5 * x * (1.0 + erf(x * 0.70710678118654752440));
    case DSMLP_ACT_RELU:      return x < 0 ? 0.0 : x;   /* NaN stays NaN */
    case DSMLP_ACT_SILU:      return x / (1.0 + exp(-x));
    default:                  return NAN;
    }
}

static void rowop_row(const ref_rowop *o, int64_t r)
{
    const int64_t n = o->cols;
    double *y = o->y + r * n;
    const double *a = o->a + (o->a_bcast ? 0 : r * n);
    switch (o->op) {
    case DSMLP_OP_ADD: {
        const double *b = o->b + (o->b_bcast ? 0 : r * n);
        for (int64_t j = 0; j < n; j++) y[j] = a[j] + b[j];
        break;
    }
    case DSMLP_OP_SCALE:
        for (int64_t j = 0; j < n; j++) y[j] = a[j] * o->attr;
        break;
    case DSMLP_OP_BIAS:
        for (int64_t j = 0; j < n; j++) y[j] = a[j] + o->b[j];
        break;
    case DSMLP_OP_GELU_TANH: case DSMLP_OP_GELU_ERF: case DSMLP_OP_RELU: case DSMLP_OP_SILU:
        for (int64_t j = 0; j < n; j++) y[j] = dsmlpR_ref_act(o->act, a[j]);
        break;
    case DSMLP_OP_LAYERNORM: {
        double mean = 0, var = 0;
        for (int64_t j = 0; j < n; j++) mean += a[j];
        mean /= (double)n;
        for (int64_t j = 0; j < n; j++) var += (a[j] - mean) * (a[j] - mean);
        var /= (double)n;   /* biased, as every framework's LayerNorm */
        double inv = 1.0 / sqrt(var + o->attr);
        for (int64_t j = 0; j < n; j++) y[j] = (a[j] - mean) * inv * o->b[j] + (o->c ? o->c[j] : 0.0);
        break;
    }
    case DSMLP_OP_RMSNORM: {
        double ms = 0;
        for (int64_t j = 0; j < n; j++) ms += a[j] * a[j];
        double inv = 1.0 / sqrt(ms / (double)n + o->attr);
        for (int64_t j = 0; j < n; j++) y[j] = a[j] * inv * (o->b[j] + o->offset);
        break;
    }
    case DSMLP_OP_GATED: {
        const double *up = o->b ? o->a + r * n : o->a + r * 2 * n;   /* two values, or [up | gate] */
        const double *gate = o->b ? o->b + r * n : up + n;
        for (int64_t j = 0; j < n; j++) y[j] = up[j] * dsmlpR_ref_act(o->act, gate[j]);
        break;
    }
    case DSMLP_OP_DEQUANT: {   /* a stored weight: q·scale (exact in double) rounded to its dtype */
        double s = o->b[r / o->group_rows];
        for (int64_t j = 0; j < n; j++) y[j] = dsmlpB_dtype_round(o->dt, s * a[j]);
        break;
    }
    default:
        for (int64_t j = 0; j < n; j++) y[j] = NAN;   /* unreachable: the caller checks the op */
        break;
    }
}

static void rowop_chunk(void *arg, int64_t c)
{
    const ref_rowop *o = arg;
    int64_t r1 = (c + 1) * ROWS_PER_CHUNK < o->rows ? (c + 1) * ROWS_PER_CHUNK : o->rows;
    for (int64_t r = c * ROWS_PER_CHUNK; r < r1; r++) rowop_row(o, r);
}

void dsmlpR_ref_rowop_run(int nthreads, const ref_rowop *o)
{
    dsmlpR_ref_parallel(nthreads, (o->rows + ROWS_PER_CHUNK - 1) / ROWS_PER_CHUNK, rowop_chunk, (void *)o);
}

/* ------------------------------------------------------------ conversions */

typedef struct conv_job {
    double      *d;        /* double side, [rows, cols] */
    void        *h;        /* host side                 */
    dsmlp_dtype  hdt, vdt;
    int          raw, transposed, store;
    int64_t      rows, cols;
} conv_job;

/* f16 -> double through a table: weights have 10^8 elements and the bit-exact
** decoder (dsmlpB_dtype_f16_to_f32) is slow. The table is filled from that decoder. */
static double         f16_table[65536];
static pthread_once_t f16_once = PTHREAD_ONCE_INIT;
static void f16_fill(void)
{
    for (uint32_t h = 0; h < 65536; h++) f16_table[h] = dsmlpB_dtype_f16_to_f32((uint16_t)h);
}

static inline double host_get(const conv_job *j, int64_t i)
{
    switch (j->hdt) {
    case DSMLP_F64: return dsmlpB_dtype_round(j->vdt, ((const double *)j->h)[i]);
    case DSMLP_F16: return f16_table[((const uint16_t *)j->h)[i]];
    default:        return dsmlpB_dtype_load(j->hdt, j->h, i);
    }
}

static inline void host_put(const conv_job *j, int64_t i, double x)
{
    dsmlpB_dtype_store(j->hdt, j->h, i, (j->raw && j->hdt == DSMLP_F64) ? x : dsmlpB_dtype_round(j->vdt, x));
}

static void conv_chunk(void *arg, int64_t c)
{
    const conv_job *j = arg;
    int64_t r0 = c * ROWS_PER_CHUNK, r1 = r0 + ROWS_PER_CHUNK < j->rows ? r0 + ROWS_PER_CHUNK : j->rows;
    if (!j->transposed) {
        for (int64_t i = r0 * j->cols; i < r1 * j->cols; i++) {
            if (j->store) host_put(j, i, j->d[i]);
            else j->d[i] = host_get(j, i);
        }
        return;
    }
    /* host [cols, rows]: walk host rows so reads (or writes) stay contiguous per chunk */
    for (int64_t k = 0; k < j->cols; k++)
        for (int64_t r = r0; r < r1; r++) {
            if (j->store) host_put(j, k * j->rows + r, j->d[r * j->cols + k]);
            else j->d[r * j->cols + k] = host_get(j, k * j->rows + r);
        }
}

void dsmlpR_ref_load(int nthreads, double *dst, int64_t rows, int64_t cols, const void *src, dsmlp_dtype sdt,
              dsmlp_dtype vdt, int transposed)
{
    pthread_once(&f16_once, f16_fill);
    conv_job j = {.d = dst, .h = (void *)src, .hdt = sdt, .vdt = vdt, .transposed = transposed, .rows = rows,
                  .cols = cols};
    dsmlpR_ref_parallel(nthreads, (rows + ROWS_PER_CHUNK - 1) / ROWS_PER_CHUNK, conv_chunk, &j);
}

void dsmlpR_ref_store(int nthreads, void *dst, dsmlp_dtype ddt, dsmlp_dtype vdt, int raw, const double *src, int64_t rows,
               int64_t cols, int transposed)
{
    conv_job j = {.d = (double *)src, .h = dst, .hdt = ddt, .vdt = vdt, .raw = raw, .transposed = transposed,
                  .store = 1, .rows = rows, .cols = cols};
    dsmlpR_ref_parallel(nthreads, (rows + ROWS_PER_CHUNK - 1) / ROWS_PER_CHUNK, conv_chunk, &j);
}
