/*
** test_compile_kernels.c — dsmlp_compile_kernels: every kernel compiled once on
** several threads, progress reported once per kernel, a second call served by
** the store, the workers' statistics in the caller's context, bad references
** and a failing compile reported with the kernel's name. NVRTC runs on the
** CPU: no GPU needed.
*/
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

typedef struct seen {
    int n, calls, cached, twice;
    int *hit;
} seen;

static void on_done(void *arg, int i, int was_cached, double seconds)
{
    seen *s = arg;
    ck_assert_int_ge(i, 0);
    ck_assert_int_lt(i, s->n);
    ck_assert(seconds >= 0.0);
    s->twice += s->hit[i]++ > 0;
    s->calls++;
    s->cached += was_cached != 0;
}

/* A GPT-2-like block planned for sm_90 without compiling. */
static dsmlp_plan *deferred_plan(dsmlp_ctx *ctx)
{
    dsmlp_mlp_config c;
    dsmlp_mlp_config_default(&c);
    c.hidden = 256, c.intermediate = 1024, c.dtype = DSMLP_F16;
    dsmlp_graph *g;
    TU_OK(ctx, dsmlp_graph_create(ctx, "ck", &g));
    TU_OK(ctx, dsmlp_mlp_build(g, &c));
    dsmlp_compile_options o;
    dsmlp_compile_options_default(&o);
    o.arch = "sm_90", o.defer_compile = 1, o.max_tokens = 64;
    dsmlp_plan *p;
    TU_OK(ctx, dsmlp_plan_build(ctx, g, &o, &p));
    dsmlp_graph_free(g);
    return p;
}

START_TEST(compiles_each_once_then_hits)
{
    char *dir = tu_tmpdir("ck");
    dsmlp_ctx_options o;
    dsmlp_ctx_options_default(&o);
    o.cache_dir = dir;
    dsmlp_ctx *ctx;
    ck_assert_int_eq(dsmlp_ctx_create_with(&o, &ctx), DSMLP_OK);
    dsmlp_plan *p = deferred_plan(ctx);
    int n = dsmlp_plan_kernels(p);
    ck_assert_int_ge(n, 2);
    dsmlp_kernel_ref *refs = calloc((size_t)n, sizeof *refs);
    for (int i = 0; i < n; i++) refs[i] = (dsmlp_kernel_ref){p, i};
    seen s = {.n = n, .hit = calloc((size_t)n, sizeof(int))};
    TU_OK(ctx, dsmlp_compile_kernels(ctx, refs, n, 3, on_done, &s));
    ck_assert_int_eq(s.calls, n);
    ck_assert_int_eq(s.twice, 0);
    ck_assert_int_eq(s.cached, 0);
    dsmlp_cache_stats st;
    dsmlp_cache_get_stats(ctx, &st);
    ck_assert_msg(st.compiles == (uint64_t)n, "the caller's statistics count every thread's compiles: %llu of %d",
                  (unsigned long long)st.compiles, n);
    for (int i = 0; i < n; i++) {   /* every kernel has its key: compiled, not skipped */
        const char *name, *key;
        TU_OK(ctx, dsmlp_plan_kernel(p, i, &name, &key));
        ck_assert_msg(strlen(key) == 64, "kernel %d (%s) has no key after compiling", i, name);
    }
    /* a second call: the store has them all (workers read the disk, the caller its memory) */
    memset(s.hit, 0, sizeof(int) * (size_t)n);
    s.calls = s.cached = s.twice = 0;
    TU_OK(ctx, dsmlp_compile_kernels(ctx, refs, n, 0, on_done, &s));
    ck_assert_int_eq(s.calls, n);
    ck_assert_int_eq(s.cached, n);
    dsmlp_cache_get_stats(ctx, &st);
    ck_assert_int_eq((int)st.compiles, n);
    free(s.hit);
    free(refs);
    dsmlp_plan_free(p);
    dsmlp_ctx_free(ctx);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(bad_references)
{
    dsmlp_ctx *ctx = tu_ctx();
    dsmlp_plan *p = deferred_plan(ctx);
    dsmlp_kernel_ref refs[2] = {{p, 0}, {p, dsmlp_plan_kernels(p)}};
    TU_CHECK(ctx, dsmlp_compile_kernels(ctx, refs, 2, 2, NULL, NULL), DSMLP_ERR_INVALID_ARG);
    TU_MSG_HAS(ctx, "refs[1] names no kernel of a plan");
    refs[1] = (dsmlp_kernel_ref){NULL, 0};
    TU_CHECK(ctx, dsmlp_compile_kernels(ctx, refs, 2, 2, NULL, NULL), DSMLP_ERR_INVALID_ARG);
    TU_CHECK(ctx, dsmlp_compile_kernels(ctx, NULL, 3, 2, NULL, NULL), DSMLP_ERR_INVALID_ARG);
    TU_OK(ctx, dsmlp_compile_kernels(ctx, NULL, 0, 2, NULL, NULL));   /* nothing to do */
    dsmlp_plan_free(p);
    dsmlp_ctx_free(ctx);
}
END_TEST

START_TEST(failure_names_the_kernel)
{
    dsmlp_ctx_options o;
    dsmlp_ctx_options_default(&o);
    o.cuda_include = "/nonexistent-cuda-include";
    o.cache_mode = DSMLP_CACHE_MEMORY;
    dsmlp_ctx *ctx;
    ck_assert_int_eq(dsmlp_ctx_create_with(&o, &ctx), DSMLP_OK);
    dsmlp_plan *p = deferred_plan(ctx);
    int n = dsmlp_plan_kernels(p);
    dsmlp_kernel_ref *refs = calloc((size_t)n, sizeof *refs);
    for (int i = 0; i < n; i++) refs[i] = (dsmlp_kernel_ref){p, i};
    dsmlp_status s = dsmlp_compile_kernels(ctx, refs, n, 2, NULL, NULL);
    ck_assert_int_ne(s, DSMLP_OK);
    const char *msg = dsmlp_last_error(ctx);
    ck_assert_msg(!strncmp(msg, "kernel dsmlp_", 13) && strstr(msg, "(sm_90): ") && strstr(msg, "/nonexistent-cuda-include"),
                  "message: %s", msg);
    free(refs);
    dsmlp_plan_free(p);
    dsmlp_ctx_free(ctx);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("compile_kernels");
    TCase *tc = tcase_create("pool");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, compiles_each_once_then_hits);
    tcase_add_test(tc, bad_references);
    tcase_add_test(tc, failure_names_the_kernel);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
