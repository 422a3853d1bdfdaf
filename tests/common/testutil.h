/*
** testutil.h — shared helpers for the Check suites: fresh random inputs
** (seed printed, DSMLP_TEST_SEED reproduces), poisoned outputs, relative
** errors against the reference, temporary directories, GPU skip.
*/
#ifndef DSMLP_TESTUTIL_H
#define DSMLP_TESTUTIL_H

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include "dsmlp.h"

#define TU_SKIP 77   /* CTest SKIP_RETURN_CODE */

/* Seeds the generator from DSMLP_TEST_SEED or the clock; prints the seed. */
uint64_t tu_seed(void);
uint64_t tu_next(void);
double   tu_uniform(void);                 /* [0, 1)            */
double   tu_normal(void);                  /* N(0, 1)           */
/* n random elements of dtype t (scale·N(0,1), never exactly 0), stored rounded;
** i8 and fp8 (quantized codes) ignore scale: uniform over [-127, 127]. */
void     tu_fill(dsmlp_dtype t, void *buf, int64_t n, double scale);
/* Allocates and fills; caller frees. */
void    *tu_random(dsmlp_dtype t, int64_t n, double scale);
/* Fills with a NaN pattern (0xFF bytes) so unwritten elements show. */
void     tu_poison(void *buf, size_t bytes);
/* ‖a − ref‖ / ‖ref‖ with a in dtype t; NaN anywhere gives INFINITY. */
double   tu_rel_error(dsmlp_dtype t, const void *a, const double *ref, int64_t n);
/* Largest |a_i − b_i| (both doubles). */
double   tu_max_abs_diff(const double *a, const double *b, int64_t n);
/* mkdtemp under $TMPDIR or /tmp; caller frees the string; tu_rmtree removes it. */
char    *tu_tmpdir(const char *tag);
void     tu_rmtree(const char *dir);
/* A context, failing the test on error. */
dsmlp_ctx *tu_ctx(void);
/* Runs a Check suite; returns the process exit code (0 or 1). */
int      tu_run_suite(Suite *s);

/* ck_assert that a call returned `want`, printing the context's message. */
#define TU_CHECK(ctx, call, want)                                                                     \
    do {                                                                                                  \
        dsmlp_status tu_s_ = (call);                                                                      \
        ck_assert_msg(tu_s_ == (want), "%s returned %s (wanted %s): %s", #call, dsmlp_status_name(tu_s_), \
                      dsmlp_status_name(want), dsmlp_last_error(ctx));                                    \
    } while (0)
#define TU_OK(ctx, call) TU_CHECK(ctx, call, DSMLP_OK)
/* Asserts the last error message contains `needle`. */
#define TU_MSG_HAS(ctx, needle)                                                                   \
    ck_assert_msg(strstr(dsmlp_last_error(ctx), (needle)) != NULL, "message \"%s\" lacks \"%s\"", \
                  dsmlp_last_error(ctx), (needle))

#endif
