/* test_dtype.c — element conversions against known bit patterns. */
#include <math.h>
#include <string.h>
#include "testutil.h"
#include "dtype.h"

START_TEST(f16_known_values)
{
    ck_assert_uint_eq(dsmlpB_dtype_f64_to_f16(1.0), 0x3c00);
    ck_assert_uint_eq(dsmlpB_dtype_f64_to_f16(-2.0), 0xc000);
    ck_assert_uint_eq(dsmlpB_dtype_f64_to_f16(65504.0), 0x7bff);
    ck_assert_uint_eq(dsmlpB_dtype_f64_to_f16(65520.0), 0x7c00);          /* rounds to inf */
    ck_assert_uint_eq(dsmlpB_dtype_f64_to_f16(ldexp(1, -24)), 0x0001);    /* smallest subnormal */
    ck_assert_uint_eq(dsmlpB_dtype_f64_to_f16(1.0 + ldexp(1, -11)), 0x3c00); /* tie -> even */
    ck_assert_uint_eq(dsmlpB_dtype_f64_to_f16(1.0 + 3 * ldexp(1, -11)), 0x3c02);
    ck_assert(dsmlpB_dtype_f16_to_f32(0x3555) > 0.333f && dsmlpB_dtype_f16_to_f32(0x3555) < 0.3334f);
}
END_TEST

START_TEST(bf16_known_values)
{
    ck_assert_uint_eq(dsmlpB_dtype_f64_to_bf16(1.0), 0x3f80);
    ck_assert_uint_eq(dsmlpB_dtype_f64_to_bf16(1.0 + ldexp(1, -8)), 0x3f80);     /* tie -> even */
    ck_assert_uint_eq(dsmlpB_dtype_f64_to_bf16(1.0 + 3 * ldexp(1, -8)), 0x3f82);
    ck_assert_float_eq(dsmlpB_dtype_bf16_to_f32(0xc040), -3.0f);
}
END_TEST

START_TEST(round_trip_random)
{
    for (int i = 0; i < 100000; i++) {
        double x = tu_normal() * ldexp(1, (int)(tu_next() % 20) - 10);
        double h = dsmlpB_dtype_round(DSMLP_F16, x), b = dsmlpB_dtype_round(DSMLP_BF16, x);
        ck_assert(fabs(h - x) <= fabs(x) * ldexp(1, -11) + ldexp(1, -25));
        ck_assert(fabs(b - x) <= fabs(x) * ldexp(1, -8));
        ck_assert(dsmlpB_dtype_round(DSMLP_F16, h) == h);
        ck_assert(dsmlpB_dtype_round(DSMLP_BF16, b) == b);
        float f = (float)x;   /* f32 -> f16 must agree with the double path */
        ck_assert_uint_eq(dsmlpB_dtype_f32_to_f16(f), dsmlpB_dtype_f64_to_f16((double)f));
    }
}
END_TEST

START_TEST(int8_saturates)
{
    int8_t q[3];
    dsmlpB_dtype_store(DSMLP_I8, q, 0, 300.0);
    dsmlpB_dtype_store(DSMLP_I8, q, 1, -300.0);
    dsmlpB_dtype_store(DSMLP_I8, q, 2, 2.5);
    ck_assert_int_eq(q[0], 127);
    ck_assert_int_eq(q[1], -128);
    ck_assert_int_eq(q[2], 2);
    ck_assert_str_eq(dsmlp_dtype_name(DSMLP_BF16), "bf16");
    ck_assert_uint_eq(dsmlp_dtype_size(DSMLP_F16), 2);
    ck_assert_uint_eq(dsmlp_dtype_size((dsmlp_dtype)99), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("dtype");
    TCase *tc = tcase_create("conversions");
    tcase_add_test(tc, f16_known_values);
    tcase_add_test(tc, bf16_known_values);
    tcase_add_test(tc, round_trip_random);
    tcase_add_test(tc, int8_saturates);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
