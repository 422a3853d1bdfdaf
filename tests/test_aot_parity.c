/* test_aot_parity.c — issue 14: ahead-of-time compilation matches the
** runtime. dsmlp-compile with given options (-O for every layer, per-layer
** options from the script), then this program building the same plans with
** the same options through the same store compiles nothing (store
** statistics: 0 compiles), for default and non-default options; other
** options do compile (the check can fail). And the option table covers
** dsmlp_compile_options without gaps, so a new field cannot be left out. */
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "testutil.h"

void dsmlpR_compile_option_layout(int i, size_t *offset, size_t *size);   /* compile_opts.c */

static const char script[] =
    "local dsmlp = dsmlp or require('dsmlp')\n"
    "dsmlp.layer('plain', dsmlp.mlp{hidden = 64, intermediate = 128, dtype = 'f16', activation = 'gelu'})\n"
    "dsmlp.layer('tuned', dsmlp.mlp{hidden = 64, intermediate = 128, dtype = 'bf16', activation = 'gated_silu',\n"
    "                                norm = 'rmsnorm', bias = false},\n"
    "            {decode_max_tokens = 4, residual_kernel = true, stream_max_tokens = 0})\n";

/* Runs dsmlp-compile on the script into dir with extra arguments. */
static void aot(const char *model, const char *dir, const char *extra)
{
    char cmd[16384];
    snprintf(cmd, sizeof cmd, "'%s/bin/dsmlp-compile' '%s' --cache-dir '%s' --arch sm_90 -q %s", DSMLP_BINARY_DIR, model,
             dir, extra);
    int rc = system(cmd);
    ck_assert_msg(rc == 0, "%s: exit %d", cmd, rc);
}

/* Builds every layer's plan as a server would (defaults, then the global
** settings, then the layer's own) through dir's store; returns the compiles. */
static uint64_t build_all(const char *model, const char *dir, const char *const *global, int nglobal)
{
    dsmlp_ctx_options co;
    dsmlp_ctx_options_default(&co);
    co.cache_dir = dir;
    dsmlp_ctx *ctx;
    ck_assert_int_eq(dsmlp_ctx_create_with(&co, &ctx), DSMLP_OK);
    dsmlp_layers *l;
    TU_OK(ctx, dsmlp_script_load(ctx, model, NULL, &l));
    for (int i = 0; i < dsmlp_layers_count(l); i++) {
        dsmlp_compile_options o;
        dsmlp_compile_options_default(&o);
        for (int k = 0; k < nglobal; k++) TU_OK(ctx, dsmlp_compile_options_parse(ctx, &o, global[k]));
        TU_OK(ctx, dsmlp_layers_options(l, i, ctx, &o));
        o.arch = "sm_90";
        dsmlp_plan *p;
        TU_OK(ctx, dsmlp_plan_build(ctx, dsmlp_layers_graph(l, i), &o, &p));
        dsmlp_plan_free(p);
    }
    dsmlp_cache_stats cs;
    dsmlp_cache_get_stats(ctx, &cs);
    dsmlp_layers_free(l);
    dsmlp_ctx_free(ctx);
    return cs.compiles;
}

START_TEST(aot_then_runtime_compiles_nothing)
{
    char *dir = tu_tmpdir("aot");
    char model[PATH_MAX], d_def[PATH_MAX], d_big[PATH_MAX];
    snprintf(model, sizeof model, "%s/model.lua", dir);
    snprintf(d_def, sizeof d_def, "%s/default", dir);
    snprintf(d_big, sizeof d_big, "%s/big", dir);
    FILE *f = fopen(model, "w");
    ck_assert_ptr_nonnull(f);
    fputs(script, f);
    fclose(f);

    /* default options (the 'tuned' layer still has its own) */
    aot(model, d_def, "");
    ck_assert_uint_eq(build_all(model, d_def, NULL, 0), 0);

    /* non-default options for every layer: the max_tokens = 65536
    ** (which changes kernels) and decode_max_tokens */
    static const char *const big[] = {"max_tokens=65536", "decode_max_tokens=2"};
    aot(model, d_big, "-O max_tokens=65536 -O decode_max_tokens=2");
    ck_assert_uint_eq(build_all(model, d_big, big, 2), 0);

    /* the check can fail: the default store lacks what the big options need */
    uint64_t n = build_all(model, d_def, big, 2);
    ck_assert_msg(n > 0, "building with other options than the AOT run compiled nothing");
    printf("AOT parity: default and non-default options: 0 compiles at run time; other options: %llu\n",
           (unsigned long long)n);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(option_table_covers_the_struct)
{
    size_t end = 0;
    int n = dsmlp_compile_option_count();
    ck_assert_int_gt(n, 0);
    for (int i = 0; i < n; i++) {
        size_t off, size;
        dsmlpR_compile_option_layout(i, &off, &size);
        /* the next field starts at the first suitably aligned offset: no gap
        ** wide enough for a field the table forgot */
        ck_assert_msg(off >= end && off - end < size, "option table: a field between byte %zu and %zu (%s) has no row",
                      end, off, dsmlp_compile_option_info(i)->name);
        end = off + size;
    }
    ck_assert_msg(sizeof(dsmlp_compile_options) - end < 8,
                  "option table: dsmlp_compile_options has fields after '%s' without a row",
                  dsmlp_compile_option_info(n - 1)->name);
    /* names round-trip through parse and format */
    dsmlp_ctx *ctx = tu_ctx();
    dsmlp_compile_options o;
    dsmlp_compile_options_default(&o);
    TU_OK(ctx, dsmlp_compile_options_parse(ctx, &o, "max_tokens=65536"));
    ck_assert_int_eq(o.max_tokens, 65536);
    TU_OK(ctx, dsmlp_compile_options_parse(ctx, &o, "residual_kernel=true"));
    ck_assert_int_eq(o.residual_kernel, 1);
    TU_CHECK(ctx, dsmlp_compile_options_parse(ctx, &o, "max_tokns=5"), DSMLP_ERR_INVALID_ARG);
    TU_MSG_HAS(ctx, "did you mean 'max_tokens'");
    TU_CHECK(ctx, dsmlp_compile_options_parse(ctx, &o, "defer_compile=1"), DSMLP_ERR_INVALID_ARG);
    TU_CHECK(ctx, dsmlp_compile_options_parse(ctx, &o, "external_workspace=1"), DSMLP_ERR_INVALID_ARG);   /* internal row */
    TU_CHECK(ctx, dsmlp_compile_options_parse(ctx, &o, "tf32=maybe"), DSMLP_ERR_INVALID_ARG);
    /* the weight-streaming route's options: stream_max_tokens (an int from -1) and stream_pipe (0/1, default 1) */
    TU_OK(ctx, dsmlp_compile_options_parse(ctx, &o, "stream_max_tokens=16"));
    ck_assert_int_eq(o.stream_max_tokens, 16);
    TU_CHECK(ctx, dsmlp_compile_options_parse(ctx, &o, "stream_max_tokens=-2"), DSMLP_ERR_INVALID_ARG);
    TU_MSG_HAS(ctx, "compile option stream_max_tokens = -2 is outside [-1, ");
    ck_assert_int_eq(o.stream_max_tokens, 16);
    ck_assert_int_eq(o.stream_pipe, 1);
    TU_OK(ctx, dsmlp_compile_options_parse(ctx, &o, "stream_pipe=0"));
    ck_assert_int_eq(o.stream_pipe, 0);
    TU_OK(ctx, dsmlp_compile_options_parse(ctx, &o, "stream_pipe=1"));
    ck_assert_int_eq(o.stream_pipe, 1);
    TU_OK(ctx, dsmlp_compile_options_parse(ctx, &o, "stream_pipe=off"));
    ck_assert_int_eq(o.stream_pipe, 0);
    TU_OK(ctx, dsmlp_compile_options_parse(ctx, &o, "stream_pipe=true"));
    ck_assert_int_eq(o.stream_pipe, 1);
    TU_CHECK(ctx, dsmlp_compile_options_parse(ctx, &o, "stream_pipe=2"), DSMLP_ERR_INVALID_ARG);
    TU_MSG_HAS(ctx, "compile option stream_pipe = 2 is outside [0, 1]");
    TU_CHECK(ctx, dsmlp_compile_options_parse(ctx, &o, "stream_pipe=-1"), DSMLP_ERR_INVALID_ARG);
    TU_MSG_HAS(ctx, "compile option stream_pipe = -1 is outside [0, 1]");
    ck_assert_int_eq(o.stream_pipe, 1);   /* a rejected value leaves the field alone */
    TU_CHECK(ctx, dsmlp_compile_options_parse(ctx, &o, "stream_pip=1"), DSMLP_ERR_INVALID_ARG);
    TU_MSG_HAS(ctx, "did you mean 'stream_pipe'");
    int pipe_row = -1;
    for (int i = 0; i < n; i++)
        if (!strcmp(dsmlp_compile_option_info(i)->name, "stream_pipe")) pipe_row = i;
    ck_assert_int_ge(pipe_row, 0);
    ck_assert_int_eq(dsmlp_compile_option_info(pipe_row)->kind, DSMLP_OPTION_BOOL);
    ck_assert_int_eq(dsmlp_compile_option_info(pipe_row)->min, 0);
    ck_assert_int_eq(dsmlp_compile_option_info(pipe_row)->max, 1);
    {
        char v[8];
        dsmlp_compile_options def;
        dsmlp_compile_options_default(&def);
        ck_assert_int_eq(def.stream_pipe, 1);   /* on: measured faster for int8 at T <= 8 */
        ck_assert_int_gt(dsmlp_compile_options_format(&def, pipe_row, v, sizeof v), 0);
        ck_assert_str_eq(v, "1");
    }
    char buf[32];
    for (int i = 0; i < n; i++) ck_assert_int_gt(dsmlp_compile_options_format(&o, i, buf, sizeof buf), 0);
    /* a script's per-layer option with a typo fails at its line */
    dsmlp_layers *l = NULL;
    TU_CHECK(ctx, dsmlp_script_load_string(ctx, "dsmlp.layer('a', dsmlp.mlp{hidden = 64},\n  {decode_max_token = 2})",
                                           "m.lua", NULL, &l), DSMLP_ERR_SCRIPT);
    TU_MSG_HAS(ctx, "m.lua:1:");
    TU_MSG_HAS(ctx, "did you mean 'decode_max_tokens'");
    /* per-layer stream_pipe in a script reaches the layer's options; out of range fails naming it */
    TU_OK(ctx, dsmlp_script_load_string(ctx,
                                        "dsmlp.layer('a', dsmlp.mlp{hidden = 64}, {stream_pipe = false, stream_max_tokens = 8})\n"
                                        "dsmlp.layer('b', dsmlp.mlp{hidden = 64})",
                                        "p.lua", NULL, &l));
    ck_assert_int_eq(dsmlp_layers_count(l), 2);
    for (int i = 0; i < 2; i++) {
        dsmlp_compile_options lo;
        dsmlp_compile_options_default(&lo);
        TU_OK(ctx, dsmlp_layers_options(l, i, ctx, &lo));
        ck_assert_int_eq(lo.stream_pipe, i != 0);   /* 'a' turned it off; 'b' keeps the default */
        ck_assert_int_eq(lo.stream_max_tokens, i == 0 ? 8 : -1);
    }
    dsmlp_layers_free(l);
    l = NULL;
    TU_CHECK(ctx, dsmlp_script_load_string(ctx, "dsmlp.layer('a', dsmlp.mlp{hidden = 64},\n  {stream_pipe = 2})",
                                           "q.lua", NULL, &l), DSMLP_ERR_SCRIPT);
    TU_MSG_HAS(ctx, "q.lua:1:");
    TU_MSG_HAS(ctx, "stream_pipe = 2 is outside [0, 1]");
    dsmlp_ctx_free(ctx);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("aot_parity");
    TCase *tc = tcase_create("aot");
    tcase_set_timeout(tc, 1500);
    tcase_add_test(tc, option_table_covers_the_struct);
    tcase_add_test(tc, aot_then_runtime_compiles_nothing);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
