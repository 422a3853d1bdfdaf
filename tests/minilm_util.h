/*
** minilm_util.h — the all-MiniLM-L6-v2 checkpoint and its fixtures, shared by
** tests/test_minilm.c (CPU reference) and tests/gpu/test_gpu_minilm.c.
**
** The checkpoint is fetched by tools/fetch-minilm.sh (tools/test.sh runs it)
** into $DSMLP_MINILM_DIR, else build/data/all-MiniLM-L6-v2. Without it the
** tests skip, unless DSMLP_REQUIRE_MINILM=1 (CI) makes that a failure.
** Fixtures: tests/data/minilm/fixtures.safetensors (make_fixtures.py there).
*/
#ifndef DSMLP_MINILM_UTIL_H
#define DSMLP_MINILM_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "testutil.h"

#define MINILM_LAYERS 6
#define MINILM_H 384

static inline const char *minilm_dir(void)
{
    static char buf[1024];
    const char *e = getenv("DSMLP_MINILM_DIR");
    if (e && *e) return e;
    snprintf(buf, sizeof buf, "%s/data/all-MiniLM-L6-v2", DSMLP_BINARY_DIR);
    return buf;
}

/* 1 when the checkpoint is there; else prints why and exits 77 (skip), or 1 when it is required. */
static inline void minilm_require(void)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/model.safetensors", minilm_dir());
    if (access(path, R_OK) == 0) return;
    const char *req = getenv("DSMLP_REQUIRE_MINILM");
    if (req && !strcmp(req, "1")) {
        fprintf(stderr, "%s is missing and DSMLP_REQUIRE_MINILM=1: run tools/fetch-minilm.sh\n", path);
        exit(1);
    }
    printf("skipped: %s is missing (tools/fetch-minilm.sh fetches it)\n", path);
    exit(TU_SKIP);
}

static inline const char *minilm_fixtures(void)
{
    static char buf[1024];
    snprintf(buf, sizeof buf, "%s/tests/data/minilm/fixtures.safetensors", DSMLP_SOURCE_DIR);
    return buf;
}

/* Fixture tensor layer.<l>.<what> as float [T, 384]; T from its shape. */
static inline float *minilm_fixture(dsmlp_ctx *ctx, dsmlp_weights *fx, int l, const char *what, int64_t *T)
{
    char name[64];
    snprintf(name, sizeof name, "layer.%d.%s", l, what);
    dsmlp_tensor_info info;
    TU_OK(ctx, dsmlp_weights_find(fx, name, &info));
    ck_assert_int_eq(info.rank, 2);
    ck_assert_int_eq(info.shape[1], MINILM_H);
    *T = info.shape[0];
    float *p = malloc((size_t)(*T * MINILM_H) * sizeof *p);
    ck_assert_ptr_nonnull(p);
    TU_OK(ctx, dsmlp_weights_read(fx, name, DSMLP_F32, p, (size_t)(*T * MINILM_H) * sizeof *p));
    return p;
}

/* ‖got − want‖ / ‖want‖ over n floats. */
static inline double minilm_rel(const double *got, const float *want, int64_t n)
{
    double num = 0, den = 0;
    for (int64_t i = 0; i < n; i++) {
        if (got[i] != got[i]) return INFINITY;
        num += (got[i] - want[i]) * (got[i] - want[i]);
        den += (double)want[i] * want[i];
    }
    return sqrt(num / den);
}

#endif
