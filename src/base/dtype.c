/* dtype.c — element types and their conversions (round to nearest even). */
#include "dtype.h"

#include <math.h>
#include <string.h>

static const char *const dtype_names[DSMLP_DTYPE_COUNT] = {"f32", "f16", "bf16", "i8", "f64", "fp8"};
static const size_t dtype_sizes[DSMLP_DTYPE_COUNT] = {4, 2, 2, 1, 8, 1};

const char *dsmlp_dtype_name(dsmlp_dtype t)
{
    return (unsigned)t < DSMLP_DTYPE_COUNT ? dtype_names[t] : "?";
}

size_t dsmlp_dtype_size(dsmlp_dtype t)
{
    return (unsigned)t < DSMLP_DTYPE_COUNT ? dtype_sizes[t] : 0;
}

/* Rounds a finite double to a binary format with `mant` explicit mantissa
** bits, exponent range [emin, emax], nearest-even, with subnormals. */
static double round_to_format(double x, int mant, int emin, int emax)
{
    if (x == 0 || !isfinite(x)) return x;
    int e;
    frexp(x, &e);                       /* x = m·2^e, 0.5 <= |m| < 1 */
    int exp = e - 1;                    /* x = 1.f·2^exp             */
    if (exp < emin) exp = emin;         /* subnormal: fixed quantum  */
    double q = ldexp(1.0, exp - mant);  /* spacing of representable values */
    double r = nearbyint(x / q) * q;    /* default rounding mode: nearest even */
    double maxv = ldexp(2.0 - ldexp(1.0, -mant), emax);
    if (fabs(r) > maxv) return x > 0 ? INFINITY : -INFINITY;
    return r;
}

static uint16_t f16_bits(double r)
{
    if (isnan(r)) return 0x7e00;
    uint16_t sign = signbit(r) ? 0x8000 : 0;
    r = fabs(r);
    if (isinf(r)) return sign | 0x7c00;
    if (r == 0) return sign;
    int e;
    double m = frexp(r, &e);            /* r = m·2^e */
    int exp = e - 1;
    if (exp < -14) {                    /* subnormal: r = k·2^-24 */
        return sign | (uint16_t)ldexp(r, 24);
    }
    uint16_t frac = (uint16_t)((m * 2.0 - 1.0) * 1024.0);
    return sign | (uint16_t)((exp + 15) << 10) | frac;
}

uint16_t dsmlpB_dtype_f64_to_f16(double x) { return f16_bits(round_to_format(x, 10, -14, 15)); }

uint16_t dsmlpB_dtype_f32_to_f16(float f) { return dsmlpB_dtype_f64_to_f16((double)f); }

float dsmlpB_dtype_f16_to_f32(uint16_t h)
{
    int sign = h >> 15, exp = (h >> 10) & 0x1f, frac = h & 0x3ff;
    double v;
    if (exp == 0) v = ldexp(frac, -24);
    else if (exp == 31) v = frac ? NAN : INFINITY;
    else v = ldexp(1024 + frac, exp - 25);
    return (float)(sign ? -v : v);
}

uint16_t dsmlpB_dtype_f64_to_bf16(double x)
{
    if (isnan(x)) return 0x7fc0;
    float f = (float)round_to_format(x, 7, -126, 127);
    uint32_t u;
    memcpy(&u, &f, 4);
    return (uint16_t)(u >> 16);         /* exact: f already has 8 significant bits */
}

uint16_t dsmlpB_dtype_f32_to_bf16(float f) { return dsmlpB_dtype_f64_to_bf16((double)f); }

float dsmlpB_dtype_bf16_to_f32(uint16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* fp8 e4m3 (OCP FP8 E4M3, PyTorch float8_e4m3fn): sign, 4 exponent bits with
** bias 7, 3 mantissa bits; no infinities; S.1111.111 is NaN; largest 448. */
double dsmlpB_dtype_e4m3_to_f64(uint8_t b)
{
    int e = (b >> 3) & 15, m = b & 7;
    double v;
    if (e == 15 && m == 7) return NAN;
    if (e == 0) v = ldexp(m, -9);                /* subnormal: m·2^-9 */
    else v = ldexp(8 + m, e - 10);               /* 1.m·2^(e-7)       */
    return (b & 0x80) ? -v : v;
}

/* On the double's bits (quantizing a checkpoint encodes 10^8..10^9 values):
** keep 1 + 3 significant bits (fewer below 2^-6), round the rest to nearest
** even; a carry runs into the exponent field as it should. */
uint8_t dsmlpB_dtype_f64_to_e4m3(double x)
{
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    if ((u & 0x7fffffffffffffffull) > 0x7ff0000000000000ull) return 0x7f;   /* NaN */
    uint8_t sign = (u >> 63) ? 0x80 : 0;
    int e = (int)((u >> 52) & 0x7ff) - 1023;
    if (e < -10) return sign;                      /* below half the smallest subnormal 2^-9 */
    if (e > 8) return sign | 0x7e;                 /* >= 512 (inf too): satfinite 448 */
    uint64_t m = (u & 0xfffffffffffffull) | (1ull << 52);
    int shift = e >= -6 ? 49 : 43 - e;             /* normal: 3 fraction bits; subnormal: units of 2^-9 */
    uint64_t r = m >> shift, rem = m & ((1ull << shift) - 1), half = 1ull << (shift - 1);
    if (rem > half || (rem == half && (r & 1))) r++;
    unsigned code = e >= -6 ? ((unsigned)(e + 7) << 3) + (unsigned)(r - 8) : (unsigned)r;
    return sign | (uint8_t)(code > 0x7e ? 0x7e : code);   /* 0x7f would be NaN: satfinite 448 */
}

double dsmlpB_dtype_load(dsmlp_dtype t, const void *buf, int64_t i)
{
    switch (t) {
    case DSMLP_F32:  return ((const float *)buf)[i];
    case DSMLP_F16:  return dsmlpB_dtype_f16_to_f32(((const uint16_t *)buf)[i]);
    case DSMLP_BF16: return dsmlpB_dtype_bf16_to_f32(((const uint16_t *)buf)[i]);
    case DSMLP_I8:   return ((const int8_t *)buf)[i];
    case DSMLP_F64:  return ((const double *)buf)[i];
    case DSMLP_FP8_E4M3: return dsmlpB_dtype_e4m3_to_f64(((const uint8_t *)buf)[i]);
    default:         return NAN;
    }
}

void dsmlpB_dtype_store(dsmlp_dtype t, void *buf, int64_t i, double x)
{
    switch (t) {
    case DSMLP_F32:  ((float *)buf)[i] = (float)x; break;      /* C rounds to nearest */
    case DSMLP_F16:  ((uint16_t *)buf)[i] = dsmlpB_dtype_f64_to_f16(x); break;
    case DSMLP_BF16: ((uint16_t *)buf)[i] = dsmlpB_dtype_f64_to_bf16(x); break;
    case DSMLP_I8: {
        double r = isnan(x) ? 0 : nearbyint(x);
        ((int8_t *)buf)[i] = (int8_t)(r < -128 ? -128 : r > 127 ? 127 : r);
        break;
    }
    case DSMLP_F64:  ((double *)buf)[i] = x; break;
    case DSMLP_FP8_E4M3: ((uint8_t *)buf)[i] = dsmlpB_dtype_f64_to_e4m3(x); break;
    default: break;
    }
}

double dsmlpB_dtype_round(dsmlp_dtype t, double x)
{
    switch (t) {
    case DSMLP_F32:  return (double)(float)x;
    case DSMLP_F16:  return dsmlpB_dtype_f16_to_f32(dsmlpB_dtype_f64_to_f16(x));
    case DSMLP_BF16: return dsmlpB_dtype_bf16_to_f32(dsmlpB_dtype_f64_to_bf16(x));
    case DSMLP_I8: {
        double r = isnan(x) ? 0 : nearbyint(x);
        return r < -128 ? -128 : r > 127 ? 127 : r;
    }
    case DSMLP_FP8_E4M3: return dsmlpB_dtype_e4m3_to_f64(dsmlpB_dtype_f64_to_e4m3(x));
    default:         return x;
    }
}

dsmlp_status dsmlp_convert(void *dst, dsmlp_dtype dst_type, const void *src, dsmlp_dtype src_type, size_t n)
{
    if ((unsigned)dst_type >= DSMLP_DTYPE_COUNT || (unsigned)src_type >= DSMLP_DTYPE_COUNT || (n && (!dst || !src)))
        return DSMLP_ERR_INVALID_ARG;
    for (size_t i = 0; i < n; i++) dsmlpB_dtype_store(dst_type, dst, (int64_t)i, dsmlpB_dtype_load(src_type, src, (int64_t)i));
    return DSMLP_OK;
}

/* The one tolerance table (README, docs/reference.md): what f32 accumulation
** and one rounding of each intermediate to the output dtype leave. */
double dsmlp_tolerance(dsmlp_dtype t)
{
    switch (t) {
    case DSMLP_F32: return 1e-5;
    case DSMLP_F16: return 2e-3;
    case DSMLP_BF16: return 1.6e-2;
    default: return 0;
    }
}
