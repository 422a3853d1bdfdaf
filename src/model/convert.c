/* convert.c — element conversions of the weight loader, bit-exact round to
** nearest even (the same results as compiler/dtype.c, much faster). */
#include "weights.h"
#include "dtype.h"

#include <pthread.h>
#include <string.h>

static float          f16_to_f32[65536];
static pthread_once_t f16_once = PTHREAD_ONCE_INIT;
static void           f16_init(void)
{
    for (uint32_t h = 0; h < 65536; h++) f16_to_f32[h] = dsmlpB_dtype_f16_to_f32((uint16_t)h);
}

static inline float bf16_f32(uint16_t h)
{
    uint32_t x = (uint32_t)h << 16;
    float f;
    memcpy(&f, &x, 4);
    return f;
}

static inline uint16_t f32_bf16(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40);   /* NaN stays a (quiet) NaN */
    return (uint16_t)((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

static inline uint16_t f32_f16(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000u, exp = (x >> 23) & 0xffu, mant = x & 0x7fffffu;
    if (exp == 0xffu) return (uint16_t)(sign | 0x7c00u | (mant ? 0x200u | (mant >> 13) : 0));
    int e = (int)exp - 127 + 15;
    if (e >= 31) return (uint16_t)(sign | 0x7c00u);
    if (e <= 0) {   /* subnormal or zero */
        if (e < -10) return (uint16_t)sign;
        mant |= 0x800000u;
        int shift = 14 - e;
        uint32_t h = mant >> shift, rest = mant & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rest > half || (rest == half && (h & 1u))) h++;
        return (uint16_t)(sign | h);
    }
    uint32_t h = ((uint32_t)e << 10) | (mant >> 13), rest = mant & 0x1fffu;
    if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) h++;   /* a carry into the exponent is right */
    return (uint16_t)(sign | h);
}

int dsmlpM_w_convertible(st_dtype from, dsmlp_dtype to)
{
    if (to == DSMLP_I8) return from == ST_I8;
    if (to == DSMLP_FP8_E4M3) return from == ST_F8_E4M3;   /* float sources are quantized (weights_quant.c) */
    if (to != DSMLP_F32 && to != DSMLP_F16 && to != DSMLP_BF16) return 0;
    return from == ST_F32 || from == ST_F16 || from == ST_BF16 || from == ST_F64;
}

/* Element i of the source as float (F64 is handled apart: one rounding). */
static inline float load_f(const void *src, st_dtype from, size_t i)
{
    switch (from) {
    case ST_F32: { float f; memcpy(&f, (const char *)src + 4 * i, 4); return f; }
    case ST_F16: { uint16_t h; memcpy(&h, (const char *)src + 2 * i, 2); return f16_to_f32[h]; }
    default: { uint16_t h; memcpy(&h, (const char *)src + 2 * i, 2); return bf16_f32(h); }
    }
}

void dsmlpM_w_convert(void *dst, dsmlp_dtype to, const void *src, st_dtype from, size_t n)
{
    if (dsmlpM_st_dtype_dsmlp(from) == to) {
        memcpy(dst, src, n * dsmlp_dtype_size(to));
        return;
    }
    pthread_once(&f16_once, f16_init);
    if (from == ST_F64) {   /* straight from double, so f16/bf16 round once */
        for (size_t i = 0; i < n; i++) {
            double d;
            memcpy(&d, (const char *)src + 8 * i, 8);
            dsmlpB_dtype_store(to, dst, (int64_t)i, d);
        }
        return;
    }
    switch (to) {
    case DSMLP_F32:
        for (size_t i = 0; i < n; i++) ((float *)dst)[i] = load_f(src, from, i);
        break;
    case DSMLP_F16:   /* from F32 or BF16: a float holds the value exactly, one rounding */
        for (size_t i = 0; i < n; i++) ((uint16_t *)dst)[i] = f32_f16(load_f(src, from, i));
        break;
    case DSMLP_BF16:
        for (size_t i = 0; i < n; i++) ((uint16_t *)dst)[i] = f32_bf16(load_f(src, from, i));
        break;
    default:
        break;   /* dsmlpM_w_convertible refused it */
    }
}
