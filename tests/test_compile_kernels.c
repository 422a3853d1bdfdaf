/*
** test_compile_kernels.c — dsmlp_compile_kernels: every kernel compiled once on
** several threads, progress reported once per kernel, a second call served by
** the store, the workers' statistics in the caller's context, bad references
** and a failing compile reported with the kernel's name; the workers use the
** caller's store directory; dsmlp_plan_build compiling on compile_threads
** (DSMLP_COMPILE_THREADS), and on the calling thread alone from a memory-only
** store. NVRTC runs on the CPU: no GPU needed.
*/
#include "test_store_common.h"

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

/* A GPT-2-like block planned for sm_90, compiled or not (defer). */
static dsmlp_plan *gpt2_plan(dsmlp_ctx *ctx, int defer)
{
    dsmlp_mlp_config c;
    dsmlp_mlp_config_default(&c);
    c.hidden = 256, c.intermediate = 1024, c.dtype = DSMLP_F16;
    dsmlp_graph *g;
    TU_OK(ctx, dsmlp_graph_create(ctx, "ck", &g));
    TU_OK(ctx, dsmlp_mlp_build(g, &c));
    dsmlp_compile_options o;
    dsmlp_compile_options_default(&o);
    o.arch = "sm_90", o.defer_compile = defer, o.max_tokens = 64;
    dsmlp_plan *p;
    TU_OK(ctx, dsmlp_plan_build(ctx, g, &o, &p));
    dsmlp_graph_free(g);
    return p;
}

static dsmlp_plan *deferred_plan(dsmlp_ctx *ctx) { return gpt2_plan(ctx, 1); }

static dsmlp_ctx *ctx_with(const char *dir, dsmlp_cache_mode mode, int compile_threads)
{
    dsmlp_ctx_options o;
    dsmlp_ctx_options_default(&o);
    o.cache_dir = dir, o.cache_mode = mode, o.compile_threads = compile_threads;
    dsmlp_ctx *ctx;
    ck_assert_int_eq(dsmlp_ctx_create_with(&o, &ctx), DSMLP_OK);
    return ctx;
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

START_TEST(workers_use_the_callers_directory)
{
    char *opt_dir = tu_tmpdir("ck-opt"), *set_dir = tu_tmpdir("ck-set");
    dsmlp_ctx *ctx = ctx_with(opt_dir, DSMLP_CACHE_DISK, 1);
    TU_OK(ctx, dsmlp_cache_set_dir(ctx, set_dir));   /* after creation: the options still name opt_dir */
    dsmlp_plan *p = deferred_plan(ctx);
    const int n = dsmlp_plan_kernels(p);
    dsmlp_kernel_ref *refs = calloc((size_t)n, sizeof *refs);
    for (int i = 0; i < n; i++) refs[i] = (dsmlp_kernel_ref){p, i};
    TU_OK(ctx, dsmlp_compile_kernels(ctx, refs, n, 3, NULL, NULL));
    ck_assert_msg(ts_count_files(set_dir) == n && ts_count_files(opt_dir) == 0,
                  "every kernel in the directory set (%d of %d), none in the options' one (%d)", ts_count_files(set_dir), n,
                  ts_count_files(opt_dir));
    free(refs);
    dsmlp_plan_free(p);
    dsmlp_ctx_free(ctx);
    tu_rmtree(opt_dir), tu_rmtree(set_dir);
    free(opt_dir), free(set_dir);
}
END_TEST

/* dsmlp_plan_build without defer: every kernel compiled once (on 3 threads or 1), each in the store and keyed;
** a second build of the same block compiles nothing. */
START_TEST(plan_build_on_compile_threads)
{
    for (int threads = 3; threads >= 1; threads -= 2) {
        char *dir = tu_tmpdir("ck-build");
        dsmlp_ctx *ctx = ctx_with(dir, DSMLP_CACHE_DISK, threads);
        dsmlp_plan *p = gpt2_plan(ctx, 0);
        const int n = dsmlp_plan_kernels(p);
        ck_assert_int_ge(n, 2);
        dsmlp_cache_stats st;
        dsmlp_cache_get_stats(ctx, &st);
        ck_assert_msg(st.compiles == (uint64_t)n && ts_count_files(dir) == n,
                      "threads %d: %llu compiles, %d entries for %d kernels", threads,
                      (unsigned long long)st.compiles, ts_count_files(dir), n);
        for (int i = 0; i < n; i++) {
            const char *name, *key;
            TU_OK(ctx, dsmlp_plan_kernel(p, i, &name, &key));
            ck_assert_msg(strlen(key) == 64, "threads %d: kernel %d (%s) has no key", threads, i, name);
        }
        dsmlp_plan *q = gpt2_plan(ctx, 0);
        dsmlp_cache_get_stats(ctx, &st);
        ck_assert_msg(st.compiles == (uint64_t)n && st.hits_memory + st.hits_disk >= (uint64_t)n,
                      "threads %d: the second build compiled %llu more", threads, (unsigned long long)st.compiles - n);
        dsmlp_plan_free(q);
        dsmlp_plan_free(p);
        dsmlp_ctx_free(ctx);
        tu_rmtree(dir);
        free(dir);
    }
}
END_TEST

/* From a memory-only store the workers' cubins would be lost to the caller: the calling thread compiles them all,
** so the second build finds every one in memory. */
START_TEST(plan_build_memory_store_compiles_alone)
{
    dsmlp_ctx *ctx = ctx_with(NULL, DSMLP_CACHE_MEMORY, 0);
    dsmlp_plan *p = gpt2_plan(ctx, 0);
    const int n = dsmlp_plan_kernels(p);
    dsmlp_plan *q = gpt2_plan(ctx, 0);
    dsmlp_cache_stats st;
    dsmlp_cache_get_stats(ctx, &st);
    ck_assert_msg(st.compiles == (uint64_t)n && st.hits_memory == (uint64_t)n,
                  "%llu compiles and %llu memory hits for two builds of %d kernels", (unsigned long long)st.compiles,
                  (unsigned long long)st.hits_memory, n);
    dsmlp_plan_free(q);
    dsmlp_plan_free(p);
    dsmlp_ctx_free(ctx);
}
END_TEST

START_TEST(compile_threads_from_env)
{
    dsmlp_ctx_options o;
    dsmlp_ctx_options_default(&o);
    ck_assert_int_eq(o.compile_threads, 0);   /* default: one per online CPU */
    setenv("DSMLP_COMPILE_THREADS", "4", 1);
    dsmlp_ctx_options_from_env(&o);
    ck_assert_int_eq(o.compile_threads, 4);
    setenv("DSMLP_COMPILE_THREADS", "-2", 1);   /* out of range: ignored and said */
    dsmlp_ctx_options_from_env(&o);
    ck_assert_int_eq(o.compile_threads, 4);
    ck_assert_ptr_nonnull(strstr(o.warning, "DSMLP_COMPILE_THREADS='-2'"));
    unsetenv("DSMLP_COMPILE_THREADS");
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
    tcase_add_test(tc, workers_use_the_callers_directory);
    tcase_add_test(tc, plan_build_on_compile_threads);
    tcase_add_test(tc, plan_build_memory_store_compiles_alone);
    tcase_add_test(tc, compile_threads_from_env);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
