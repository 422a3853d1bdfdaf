#define _GNU_SOURCE
/* testutil.c — see testutil.h. */
#include "testutil.h"
#include "dtype.h"

#include <ftw.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

static uint64_t rng_state;

uint64_t tu_seed(void)
{
    const char *env = getenv("DSMLP_TEST_SEED");
    uint64_t seed;
    if (env && *env) {
        seed = strtoull(env, NULL, 0);
    } else {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        seed = (uint64_t)ts.tv_sec * 1000003u ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 32);
    }
    rng_state = seed ? seed : 0x9e3779b97f4a7c15ull;
    fprintf(stderr, "test seed: DSMLP_TEST_SEED=%llu\n", (unsigned long long)seed);
    return seed;
}

uint64_t tu_next(void)   /* splitmix64 */
{
    if (!rng_state) tu_seed();
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

double tu_uniform(void) { return (double)(tu_next() >> 11) * 0x1.0p-53; }

double tu_normal(void)
{
    double u1 = tu_uniform(), u2 = tu_uniform();
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

void tu_fill(dsmlp_dtype t, void *buf, int64_t n, double scale)
{
    for (int64_t i = 0; i < n; i++) {
        double v;
        if (t == DSMLP_I8) {
            do v = (double)(int)(tu_next() % 255) - 127; while (v == 0);
        } else if (t == DSMLP_FP8_E4M3) {   /* like int8: quantized codes of a whole range, scales carry the scale */
            do v = dsmlpB_dtype_round(t, tu_uniform() * 254 - 127); while (v == 0);
        } else {
            do v = dsmlpB_dtype_round(t, scale * tu_normal()); while (v == 0);
        }
        dsmlpB_dtype_store(t, buf, i, v);
    }
}

void *tu_random(dsmlp_dtype t, int64_t n, double scale)
{
    void *p = malloc((size_t)(n > 0 ? n : 1) * dsmlp_dtype_size(t));
    ck_assert_ptr_nonnull(p);
    tu_fill(t, p, n, scale);
    return p;
}

void tu_poison(void *buf, size_t bytes) { memset(buf, 0xff, bytes); }

double tu_rel_error(dsmlp_dtype t, const void *a, const double *ref, int64_t n)
{
    double num = 0, den = 0;
    for (int64_t i = 0; i < n; i++) {
        double x = dsmlpB_dtype_load(t, a, i);
        if (!isfinite(x) || !isfinite(ref[i])) return INFINITY;
        num += (x - ref[i]) * (x - ref[i]);
        den += ref[i] * ref[i];
    }
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

double tu_max_abs_diff(const double *a, const double *b, int64_t n)
{
    double m = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs(a[i] - b[i]);
        if (isnan(d)) return INFINITY;
        if (d > m) m = d;
    }
    return m;
}

char *tu_tmpdir(const char *tag)
{
    const char *base = getenv("TMPDIR");
    if (!base || !*base) base = "/tmp";
    size_t len = strlen(base) + strlen(tag) + 32;
    char *path = malloc(len);
    ck_assert_ptr_nonnull(path);
    snprintf(path, len, "%s/dsmlp-%s-XXXXXX", base, tag);
    ck_assert_ptr_nonnull(mkdtemp(path));
    return path;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb; (void)flag; (void)ftw;
    chmod(path, 0700);
    return remove(path);
}

void tu_rmtree(const char *dir)
{
    if (dir) nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

dsmlp_ctx *tu_ctx(void)
{
    dsmlp_ctx *ctx = NULL;
    ck_assert_int_eq(dsmlp_ctx_create(&ctx), DSMLP_OK);
    return ctx;
}

int tu_run_suite(Suite *s)
{
    tu_seed();
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
