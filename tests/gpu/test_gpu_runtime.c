/*
** test_gpu_runtime.c — the runtime's contract on a GPU: output in place into
** residual, CUDA-graph capture and replay equal to a direct run, error paths
** (unbound name, bad T, misaligned pointer, wrong upload size, unknown name)
** that leave the plan usable, and the all_reduce step on a 1-rank NCCL
** communicator.
*/
#include <nccl.h>
#include "gpu_case.h"

static void config(dsmlp_mlp_config *c, int llama)
{
    dsmlp_mlp_config_default(c);
    c->hidden = 768;
    c->intermediate = llama ? 2048 : 3072;
    c->epsilon = 1e-5;
    if (llama) {
        c->norm = DSMLP_NORM_RMSNORM;
        c->activation = DSMLP_MLP_GATED_SILU;
        c->dtype = DSMLP_BF16;
        c->layout = DSMLP_LAYOUT_OUT_IN;
        c->attn_bias = c->norm_bias = c->bias1 = c->bias2 = 0;
    }
}

START_TEST(in_place_into_residual)
{
    dsmlp_ctx *ctx = tu_ctx();
    dsmlp_reference_set_threads(ctx, gu_cores());
    for (int variant = 0; variant < 4; variant++) {
        dsmlp_mlp_config cfg;
        config(&cfg, variant == 1);
        if (variant == 2)   /* GPT-J */
            cfg.norm = DSMLP_NORM_NONE, cfg.mlp_after_attn = 0, cfg.attn_bias = 0, cfg.norm_bias = 0;
        if (variant == 3) cfg.pre_layer_norm = 0;                                                 /* BERT  */
        static const char *const names[] = {"gpt2 f16", "llama bf16", "gpt-j f16", "bert post-LN f16"};
        gu_case c;
        TU_OK(ctx, gu_case_open(&c, ctx, &cfg, 64, names[variant]));
        gu_tensor *res = gu_find(&c, "residual"), *out = &c.t[c.out];
        ck_assert_ptr_nonnull(res);
        TU_OK(ctx, dsmlp_bind(c.pl, out->name, (void *)(uintptr_t)res->dev));
        int64_t T = 37;
        gu_case_inputs(&c, T);
        dsmlp_status s = dsmlp_run(c.pl, T, (void *)c.stream);
        if (s != DSMLP_OK) {
            /* A plan that cannot work in place must say so and why. */
            ck_assert_int_eq(s, DSMLP_ERR_UNSUPPORTED);
            TU_MSG_HAS(ctx, "in place");
            TU_MSG_HAS(ctx, "residual");
            ck_assert_msg(variant >= 2, "%s: in place refused: %s", names[variant], dsmlp_last_error(ctx));
            printf("in place %-18s refused: %s\n", names[variant], dsmlp_last_error(ctx));
        } else {
            GU_CU(c.cu->cuStreamSynchronize(c.stream));
            gu_case_reference(&c, T);
            GU_CU(c.cu->cuMemcpyDtoH(c.got, res->dev, (size_t)(T * res->cols) * dsmlp_dtype_size(res->dtype)));
            double err = tu_rel_error(res->dtype, c.got, c.ref, T * res->cols);
            printf("in place %-18s T=%lld err %.3e\n", names[variant], (long long)T, err);
            ck_assert_msg(err <= gu_tol(c.dtype), "%s in place: error %.3e", names[variant], err);
        }
        gu_case_close(&c);
    }
    dsmlp_ctx_free(ctx);
}
END_TEST

/* A plan whose GEMM reads its input while writing the output elsewhere in
** it cannot run in place: dsmlp_run refuses, naming the step, and the plan
** still runs with a separate output. */
START_TEST(in_place_refused_when_unsafe)
{
    dsmlp_ctx *ctx = tu_ctx();
    const cuda_api *cu = gu_cu(ctx);
    dsmlp_graph *g;
    dsmlp_value x, w, y;
    TU_OK(ctx, dsmlp_graph_create(ctx, "square", &g));
    TU_OK(ctx, dsmlp_input(g, "x", DSMLP_F16, 256, &x));
    TU_OK(ctx, dsmlp_param_matrix(g, "w", DSMLP_F16, 256, 256, DSMLP_LAYOUT_IN_OUT, &w));
    TU_OK(ctx, dsmlp_matmul(g, x, w, &y));
    TU_OK(ctx, dsmlp_output(g, "y", y));
    dsmlp_compile_options o;
    dsmlp_compile_options_default(&o);
    o.max_tokens = 32;
    dsmlp_plan *pl;
    TU_OK(ctx, dsmlp_compile(ctx, g, &o, &pl));
    void *wh = tu_random(DSMLP_F16, 256 * 256, 1.0 / 16);
    TU_OK(ctx, dsmlp_upload(pl, "w", wh, 256 * 256 * 2));
    CUdeviceptr dx, dy;
    GU_CU(cu->cuMemAlloc(&dx, 32 * 256 * 2));
    GU_CU(cu->cuMemAlloc(&dy, 32 * 256 * 2));
    void *xh = tu_random(DSMLP_F16, 32 * 256, 1.0);
    GU_CU(cu->cuMemcpyHtoD(dx, xh, 32 * 256 * 2));
    TU_OK(ctx, dsmlp_bind(pl, "x", (void *)(uintptr_t)dx));
    TU_OK(ctx, dsmlp_bind(pl, "y", (void *)(uintptr_t)dx));
    TU_CHECK(ctx, dsmlp_run(pl, 32, NULL), DSMLP_ERR_UNSUPPORTED);
    TU_MSG_HAS(ctx, "output 'y' is bound to the same memory as input 'x'");
    TU_MSG_HAS(ctx, "step 0");
    printf("unsafe in place refused: %s\n", dsmlp_last_error(ctx));
    TU_OK(ctx, dsmlp_bind(pl, "y", (void *)(uintptr_t)dy));
    GU_CU(cu->cuMemsetD8(dy, 0xff, 32 * 256 * 2));
    TU_OK(ctx, dsmlp_run(pl, 32, NULL));
    GU_CU(cu->cuCtxSynchronize());
    void *yh = malloc(32 * 256 * 2);
    double *ref = malloc(sizeof(double) * 32 * 256);
    GU_CU(cu->cuMemcpyDtoH(yh, dy, 32 * 256 * 2));
    dsmlp_host_tensor b[] = {{"x", DSMLP_F16, xh}, {"w", DSMLP_F16, wh}, {"y", DSMLP_F64, ref}};
    TU_OK(ctx, dsmlp_reference_run_f64(g, 32, b, 3));
    double err = tu_rel_error(DSMLP_F16, yh, ref, 32 * 256);
    printf("after the refusal: error %.3e\n", err);
    ck_assert(err <= gu_tol(DSMLP_F16));
    dsmlp_plan_free(pl);
    cu->cuMemFree(dx), cu->cuMemFree(dy);
    free(wh), free(xh), free(yh), free(ref);
    dsmlp_graph_free(g);
    dsmlp_ctx_free(ctx);
}
END_TEST

START_TEST(graph_capture_and_replay)
{
    dsmlp_ctx *ctx = tu_ctx();
    dsmlp_reference_set_threads(ctx, gu_cores());
    for (int variant = 0; variant < 2; variant++) {
        dsmlp_mlp_config cfg;
        config(&cfg, variant);
        gu_case c;
        TU_OK(ctx, gu_case_open(&c, ctx, &cfg, 256, variant ? "llama bf16" : "gpt2 f16"));
        gu_tensor *out = &c.t[c.out];
        int64_t T = 100;
        size_t obytes = (size_t)(T * out->cols) * dsmlp_dtype_size(out->dtype);
        /* Direct run. */
        gu_case_inputs(&c, T);
        GU_CU(c.cu->cuMemsetD8Async(out->dev, 0xff, obytes, c.stream));
        TU_OK(ctx, dsmlp_run(c.pl, T, (void *)c.stream));
        GU_CU(c.cu->cuStreamSynchronize(c.stream));
        void *direct = malloc(obytes);
        GU_CU(c.cu->cuMemcpyDtoH(direct, out->dev, obytes));
        /* Capture: nothing may run, allocate or synchronize inside. */
        GU_CU(c.cu->cuMemsetD8Async(out->dev, 0xff, obytes, c.stream));
        GU_CU(c.cu->cuStreamSynchronize(c.stream));
        CUgraph graph;
        CUgraphExec exec;
        GU_CU(c.cu->cuStreamBeginCapture(c.stream, CU_STREAM_CAPTURE_MODE_GLOBAL));
        dsmlp_status s = dsmlp_run(c.pl, T, (void *)c.stream);
        GU_CU(c.cu->cuStreamEndCapture(c.stream, &graph));
        TU_CHECK(ctx, s, DSMLP_OK);
        GU_CU(c.cu->cuGraphInstantiate(&exec, graph, 0));
        GU_CU(c.cu->cuStreamSynchronize(c.stream));
        /* Capturing ran nothing: the output is still poisoned. */
        GU_CU(c.cu->cuMemcpyDtoH(c.got, out->dev, obytes));
        ck_assert_msg(isnan(dsmlpB_dtype_load(out->dtype, c.got, 0)), "capture executed work");
        GU_CU(c.cu->cuGraphLaunch(exec, c.stream));
        GU_CU(c.cu->cuStreamSynchronize(c.stream));
        GU_CU(c.cu->cuMemcpyDtoH(c.got, out->dev, obytes));
        int same = memcmp(c.got, direct, obytes) == 0;
        gu_case_reference(&c, T);
        double err_direct = tu_rel_error(out->dtype, direct, c.ref, T * out->cols);
        double err_graph = tu_rel_error(out->dtype, c.got, c.ref, T * out->cols);
        printf("graph %s: replay %s the direct run; error direct %.3e, replay %.3e\n", c.desc,
               same ? "bit-identical to" : "DIFFERS from", err_direct, err_graph);
        ck_assert_msg(same, "graph replay differs from the direct run");
        /* Replays read the bound memory afresh: new inputs, new result. */
        for (int rep = 0; rep < 3; rep++) {
            gu_case_inputs(&c, T);
            GU_CU(c.cu->cuMemsetD8Async(out->dev, 0xff, obytes, c.stream));
            GU_CU(c.cu->cuGraphLaunch(exec, c.stream));
            GU_CU(c.cu->cuStreamSynchronize(c.stream));
            gu_case_reference(&c, T);
            double err = gu_case_error(&c, T);
            printf("graph %s: replay %d on fresh inputs: error %.3e\n", c.desc, rep, err);
            ck_assert_msg(err <= gu_tol(out->dtype), "replay %d error %.3e", rep, err);
        }
        GU_CU(c.cu->cuGraphExecDestroy(exec));
        GU_CU(c.cu->cuGraphDestroy(graph));
        free(direct);
        gu_case_close(&c);
    }
    dsmlp_ctx_free(ctx);
}
END_TEST

START_TEST(errors_leave_plan_usable)
{
    dsmlp_ctx *ctx = tu_ctx();
    dsmlp_reference_set_threads(ctx, gu_cores());
    dsmlp_mlp_config cfg;
    config(&cfg, 0);
    gu_case c;
    TU_OK(ctx, gu_case_open(&c, ctx, &cfg, 64, "gpt2 f16 errors"));
    dsmlp_status s;

    /* Unbound name at run. */
    TU_OK(ctx, dsmlp_bind(c.pl, "w1", NULL));
    TU_CHECK(ctx, dsmlp_run(c.pl, 8, (void *)c.stream), DSMLP_ERR_STATE);
    TU_MSG_HAS(ctx, "unbound");
    TU_MSG_HAS(ctx, "w1");
    gu_tensor *w1 = gu_find(&c, "w1");
    size_t w1_bytes = (size_t)(w1->rows * w1->cols) * dsmlp_dtype_size(w1->dtype);
    TU_OK(ctx, dsmlp_upload(c.pl, "w1", w1->host, w1_bytes));

    /* T out of range. */
    TU_CHECK(ctx, dsmlp_run(c.pl, 65, (void *)c.stream), DSMLP_ERR_INVALID_ARG);
    TU_MSG_HAS(ctx, "T = 65");
    TU_MSG_HAS(ctx, "[1, 64]");
    TU_CHECK(ctx, dsmlp_run(c.pl, 0, (void *)c.stream), DSMLP_ERR_INVALID_ARG);
    TU_MSG_HAS(ctx, "T = 0");

    /* Misaligned pointer. */
    gu_tensor *in = gu_find(&c, "input");
    TU_CHECK(ctx, dsmlp_bind(c.pl, "input", (void *)(uintptr_t)(in->dev + 2)), DSMLP_ERR_INVALID_ARG);
    TU_MSG_HAS(ctx, "'input'");
    TU_MSG_HAS(ctx, "16-byte aligned");

    /* Wrong upload size: names expected and given. */
    TU_CHECK(ctx, dsmlp_upload(c.pl, "w1", w1->host, w1_bytes - 2), DSMLP_ERR_INVALID_ARG);
    char want[64], given[64];
    snprintf(want, sizeof want, "%zu bytes", w1_bytes);
    snprintf(given, sizeof given, "%zu bytes were given", w1_bytes - 2);
    TU_MSG_HAS(ctx, want);
    TU_MSG_HAS(ctx, given);

    /* Unknown name; upload of an input. */
    TU_CHECK(ctx, dsmlp_bind(c.pl, "w3", (void *)(uintptr_t)in->dev), DSMLP_ERR_NOT_FOUND);
    TU_MSG_HAS(ctx, "'w3'");
    TU_CHECK(ctx, dsmlp_upload(c.pl, "input", in->host, 16), DSMLP_ERR_INVALID_ARG);
    TU_MSG_HAS(ctx, "not a parameter");

    /* No communicator needed here; the plan still computes correctly. */
    for (int64_t T = 1; T <= 64; T += 63) {
        double err = gu_case_check(&c, T, &s);
        TU_CHECK(ctx, s, DSMLP_OK);
        printf("after errors: T=%lld err %.3e\n", (long long)T, err);
        ck_assert_msg(err <= gu_tol(c.dtype), "error %.3e after failed calls", err);
    }
    gu_case_close(&c);
    dsmlp_ctx_free(ctx);
}
END_TEST

START_TEST(all_reduce_one_rank)
{
    dsmlp_ctx *ctx = tu_ctx();
    dsmlp_reference_set_threads(ctx, gu_cores());
    dsmlp_mlp_config cfg;
    config(&cfg, 1);
    cfg.tp_size = 2;   /* rank 0's shard ends with all_reduce */
    cfg.tp_rank = 0;
    gu_case c;
    TU_OK(ctx, gu_case_open(&c, ctx, &cfg, 64, "llama bf16 tp rank 0 of 2"));
    int has_ar = 0;
    for (int i = 0; i < dsmlp_plan_steps(c.pl); i++) has_ar |= !strcmp(dsmlp_plan_step_label(c.pl, i), "all_reduce");
    ck_assert_msg(has_ar, "a tp_size 2 plan has an all_reduce step");
    dsmlp_status s;
    gu_case_check(&c, 5, &s);
    TU_CHECK(ctx, s, DSMLP_ERR_STATE);
    TU_MSG_HAS(ctx, "NCCL communicator");
    /* One rank: the sum over the group is this rank's partial result, which
    ** is what the reference computes for this graph alone. */
    ncclComm_t comm;
    int dev0 = 0;
    ck_assert_int_eq(ncclCommInitAll(&comm, 1, &dev0), ncclSuccess);
    TU_OK(ctx, dsmlp_set_nccl_comm(c.pl, comm));
    for (int64_t T = 1; T <= 64; T += 63) {
        double err = gu_case_check(&c, T, &s);
        TU_CHECK(ctx, s, DSMLP_OK);
        printf("all_reduce (1 rank) T=%lld err %.3e\n", (long long)T, err);
        ck_assert_msg(err <= gu_tol(c.dtype), "error %.3e", err);
    }
    gu_case_close(&c);
    ncclCommDestroy(comm);
    dsmlp_ctx_free(ctx);
}
END_TEST

static Suite *make(void)
{
    Suite *s = suite_create("gpu_runtime");
    TCase *tc = tcase_create("runtime");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, errors_leave_plan_usable);
    tcase_add_test(tc, in_place_into_residual);
    tcase_add_test(tc, in_place_refused_when_unsafe);
    tcase_add_test(tc, graph_capture_and_replay);
    tcase_add_test(tc, all_reduce_one_rank);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return gu_main(make, "gpu-runtime"); }
