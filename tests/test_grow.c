/* test_grow.c — the growing string and array (src/base/grow.h) that the compiler's emitters and passes share. */
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "grow.h"

START_TEST(string_appends_and_formats)
{
    sbuf b = {0};
    dsmlpB_sb_put(&b, "ab", 2);
    dsmlpB_sb_printf(&b, "-%d-%s", 42, "x");
    dsmlpB_sb_put(&b, "", 0);
    ck_assert(!b.oom);
    ck_assert_str_eq(b.p, "ab-42-x");
    ck_assert_uint_eq(b.n, 7);
    free(b.p);
}
END_TEST

/* Pieces far longer than any fixed scratch buffer, and many of them: the string moves several times. */
START_TEST(string_long_pieces)
{
    const size_t piece = 10007;
    char *s = malloc(piece + 1);
    ck_assert_ptr_nonnull(s);
    for (size_t i = 0; i < piece; i++) s[i] = (char)('a' + i % 26);
    s[piece] = 0;
    sbuf b = {0};
    for (int r = 0; r < 7; r++) {
        if (r % 2) dsmlpB_sb_printf(&b, "%s|%d", s, r);
        else dsmlpB_sb_put(&b, s, piece);
    }
    ck_assert(!b.oom);
    size_t at = 0;
    for (int r = 0; r < 7; r++) {
        ck_assert_int_eq(memcmp(b.p + at, s, piece), 0);
        at += piece;
        if (r % 2) {
            char tail[8];
            snprintf(tail, sizeof tail, "|%d", r);
            ck_assert_int_eq(memcmp(b.p + at, tail, strlen(tail)), 0);
            at += strlen(tail);
        }
    }
    ck_assert_uint_eq(b.n, at);
    ck_assert_uint_eq(strlen(b.p), at);
    free(b.p);
    free(s);
}
END_TEST

START_TEST(string_oom_sticks)
{
    sbuf b = {0};
    dsmlpB_sb_put(&b, "abc", 3);
    b.oom = 1;
    dsmlpB_sb_put(&b, "def", 3);
    dsmlpB_sb_printf(&b, "%d", 7);
    ck_assert_uint_eq(b.n, 3);
    ck_assert_str_eq(b.p, "abc");
    free(b.p);
}
END_TEST

typedef struct item { int a; double b; } item;

START_TEST(array_keeps_items_and_zeroes_new_ones)
{
    item *v = NULL;
    int cap = 0, n = 0;
    for (; n < 1000; n++) {
        ck_assert_int_eq(dsmlpB_grow((void **)&v, &cap, n, sizeof *v), 0);
        ck_assert_int_gt(cap, n);
        ck_assert_int_eq(v[n].a, 0);              /* new room is zeroed */
        ck_assert(v[n].b == 0.0);
        v[n].a = 3 * n + 1, v[n].b = n * 0.5;
    }
    for (int i = 0; i < n; i++) {
        ck_assert_int_eq(v[i].a, 3 * i + 1);
        ck_assert(v[i].b == i * 0.5);
    }
    for (int i = n; i < cap; i++) ck_assert_int_eq(v[i].a, 0);
    const int before = cap;
    ck_assert_int_eq(dsmlpB_grow((void **)&v, &cap, cap - 1, sizeof *v), 0);   /* room left: nothing moves */
    ck_assert_int_eq(cap, before);
    free(v);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("grow");
    TCase *tc = tcase_create("grow");
    tcase_add_test(tc, string_appends_and_formats);
    tcase_add_test(tc, string_long_pieces);
    tcase_add_test(tc, string_oom_sticks);
    tcase_add_test(tc, array_keeps_items_and_zeroes_new_ones);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
