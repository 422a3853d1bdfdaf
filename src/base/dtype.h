/* dtype.h — element types: names, sizes, and exact conversions to/from double. */
#ifndef DSMLP_DTYPE_H
#define DSMLP_DTYPE_H

#include <stdint.h>
#include "dsmlp.h"

/* 1 for the quantized weight codes (int8, fp8 e4m3): one byte an element, scales beside them. */
static inline int dsmlpB_dtype_is_code(dsmlp_dtype t) { return t == DSMLP_I8 || t == DSMLP_FP8_E4M3; }
/* Element i of a buffer of type t, as a double. */
double   dsmlpB_dtype_load(dsmlp_dtype t, const void *buf, int64_t i);
/* Rounds x to t (round to nearest even; int8 and fp8 saturate) and stores it. */
void     dsmlpB_dtype_store(dsmlp_dtype t, void *buf, int64_t i, double x);
/* x rounded to t, as a double (identity for f64). */
double   dsmlpB_dtype_round(dsmlp_dtype t, double x);

uint16_t dsmlpB_dtype_f32_to_f16(float f);
float    dsmlpB_dtype_f16_to_f32(uint16_t h);
uint16_t dsmlpB_dtype_f32_to_bf16(float f);
float    dsmlpB_dtype_bf16_to_f32(uint16_t h);
/* Double to f16/bf16 with a single rounding (not via float). */
uint16_t dsmlpB_dtype_f64_to_f16(double x);
uint16_t dsmlpB_dtype_f64_to_bf16(double x);
/* fp8 e4m3: exact decode (0x7f/0xff NaN); encode rounds to nearest even and
** saturates to ±448 (inf too: e4m3 has none), NaN -> 0x7f. */
double   dsmlpB_dtype_e4m3_to_f64(uint8_t b);
uint8_t  dsmlpB_dtype_f64_to_e4m3(double x);

#endif
