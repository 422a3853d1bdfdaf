/*
** test_runtime_nodevice.c — without a GPU (CI), the runtime says so clearly:
** dsmlp_device_available is 0, dsmlp_device_arch NULL, dsmlp_compile and
** dsmlp_plan_load fail with DSMLP_ERR_NO_DEVICE and a message naming what
** is missing, and nothing crashes. Skips (77) where a device exists.
*/
#include <string.h>
#include "testutil.h"

static dsmlp_graph *small_graph(dsmlp_ctx *ctx)
{
    dsmlp_graph *g;
    dsmlp_value x, w, y;
    TU_OK(ctx, dsmlp_graph_create(ctx, "small", &g));
    TU_OK(ctx, dsmlp_input(g, "x", DSMLP_F16, 64, &x));
    TU_OK(ctx, dsmlp_param_matrix(g, "w", DSMLP_F16, 64, 128, DSMLP_LAYOUT_IN_OUT, &w));
    TU_OK(ctx, dsmlp_matmul(g, x, w, &y));
    TU_OK(ctx, dsmlp_output(g, "y", y));
    return g;
}

static void assert_no_device_message(dsmlp_ctx *ctx)
{
    const char *m = dsmlp_last_error(ctx);
    ck_assert_msg(!strncmp(m, "no CUDA driver (libcuda.so.1 not found", 38) || !strncmp(m, "no GPU: ", 8),
                  "unclear no-device message: \"%s\"", m);
}

START_TEST(device_absent)
{
    dsmlp_ctx *ctx = tu_ctx();
    ck_assert_int_eq(dsmlp_device_available(ctx), 0);
    assert_no_device_message(ctx);
    ck_assert_ptr_null(dsmlp_device_arch(ctx));
    ck_assert_int_eq(dsmlp_device_available(NULL), 0);
    ck_assert_ptr_null(dsmlp_device_arch(NULL));
    dsmlp_ctx_free(ctx);
}
END_TEST

START_TEST(compile_says_no_device)
{
    dsmlp_ctx *ctx = tu_ctx();
    dsmlp_graph *g = small_graph(ctx);
    dsmlp_plan *pl = (dsmlp_plan *)&pl;   /* must be reset to NULL */
    TU_CHECK(ctx, dsmlp_compile(ctx, g, NULL, &pl), DSMLP_ERR_NO_DEVICE);
    ck_assert_ptr_null(pl);
    assert_no_device_message(ctx);
    /* Asking twice gives the same answer (the driver probe is cached). */
    TU_CHECK(ctx, dsmlp_compile(ctx, g, NULL, &pl), DSMLP_ERR_NO_DEVICE);
    assert_no_device_message(ctx);
    dsmlp_graph_free(g);
    dsmlp_ctx_free(ctx);
}
END_TEST

START_TEST(compile_null_arguments)
{
    dsmlp_ctx *ctx = tu_ctx();
    dsmlp_plan *pl;
    TU_CHECK(ctx, dsmlp_compile(ctx, NULL, NULL, &pl), DSMLP_ERR_INVALID_ARG);
    TU_MSG_HAS(ctx, "graph is NULL");
    ck_assert_int_eq(dsmlp_run(NULL, 1, NULL), DSMLP_ERR_INVALID_ARG);
    ck_assert_int_eq(dsmlp_bind(NULL, "x", NULL), DSMLP_ERR_INVALID_ARG);
    ck_assert_int_eq(dsmlp_upload(NULL, "x", NULL, 0), DSMLP_ERR_INVALID_ARG);
    ck_assert_int_eq(dsmlp_plan_load(NULL), DSMLP_ERR_INVALID_ARG);
    dsmlp_ctx_free(ctx);
}
END_TEST

/* Binding sets and workspaces need a loaded plan; the workspace size does not. */
START_TEST(bindings_need_a_loaded_plan)
{
    dsmlp_ctx *ctx = tu_ctx();
    dsmlp_graph *g;
    TU_OK(ctx, dsmlp_graph_create(ctx, "ws", &g));
    dsmlp_mlp_config c;
    dsmlp_mlp_config_default(&c);
    c.hidden = 64;
    c.activation = DSMLP_MLP_GATED_SILU;
    c.split_w1 = 1;
    TU_OK(ctx, dsmlp_mlp_build(g, &c));
    dsmlp_compile_options o;
    dsmlp_compile_options_default(&o);
    o.arch = "sm_90";
    o.defer_compile = 1;
    o.max_tokens = 128;
    o.external_workspace = 1;
    dsmlp_plan *pl;
    TU_OK(ctx, dsmlp_plan_build(ctx, g, &o, &pl));
    size_t ws = 0;
    TU_OK(ctx, dsmlp_plan_workspace_size(pl, &ws));
    /* up and gate [128, 256] f16 each, the gated result, and cuBLASLt's 32 MiB */
    ck_assert_uint_ge(ws, (size_t)3 * 128 * 256 * 2 + ((size_t)32 << 20));
    dsmlp_bindings *b = (dsmlp_bindings *)0x1;
    TU_CHECK(ctx, dsmlp_bindings_create(pl, &b), DSMLP_ERR_STATE);
    ck_assert_ptr_null(b);
    TU_MSG_HAS(ctx, "is not loaded");
    TU_CHECK(ctx, dsmlp_plan_set_workspace(pl, NULL, 0), DSMLP_ERR_STATE);
    TU_CHECK(ctx, dsmlp_run_bound(pl, NULL, 1, NULL), DSMLP_ERR_STATE);
    ck_assert_int_eq(dsmlp_bindings_create(NULL, &b), DSMLP_ERR_INVALID_ARG);
    ck_assert_int_eq(dsmlp_bindings_bind(NULL, "w1_up", NULL), DSMLP_ERR_INVALID_ARG);
    ck_assert_int_eq(dsmlp_bindings_upload(NULL, "w1_up", NULL, 0), DSMLP_ERR_INVALID_ARG);
    ck_assert_int_eq(dsmlp_run_bound(NULL, NULL, 1, NULL), DSMLP_ERR_INVALID_ARG);
    ck_assert_uint_eq(dsmlp_bindings_bytes(NULL), 0);
    dsmlp_bindings_free(NULL);
    dsmlp_plan_free(pl);
    dsmlp_graph_free(g);
    dsmlp_ctx_free(ctx);
}
END_TEST

int main(void)
{
    dsmlp_ctx *ctx = NULL;
    if (dsmlp_ctx_create(&ctx) != DSMLP_OK) return 1;
    int present = dsmlp_device_available(ctx);
    dsmlp_ctx_free(ctx);
    if (present) {
        printf("skipped: a GPU is present (this suite checks the no-device path)\n");
        return TU_SKIP;
    }
    Suite *s = suite_create("runtime_nodevice");
    TCase *tc = tcase_create("nodevice");
    tcase_add_test(tc, device_absent);
    tcase_add_test(tc, compile_says_no_device);
    tcase_add_test(tc, compile_null_arguments);
    tcase_add_test(tc, bindings_need_a_loaded_plan);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
