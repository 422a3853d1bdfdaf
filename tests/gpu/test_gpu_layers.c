/*
** test_gpu_layers.c — one plan, many layers. A 32-layer model of Gemma-style
** blocks (RMSNorm with weight 1 + w, gated tanh-GELU, separate up and gate
** weights, bf16) runs from ONE plan with 32 binding sets (each layer's
** weights; half of the layers bind w1_gate/w1_up as two row blocks of one
** [gate | up] buffer, Phi-3's layout, read in place), chained through 33
** activation buffers, captured in ONE CUDA graph with a workspace the test
** provides (external_workspace) and shares with a second plan that runs in
** the same graph. Every layer is then checked against the CPU reference
** from its own input (the GPU's output of the layer before). Prints the
** memory: workspace, weights per layer, device memory used, and the time of
** a replay with separate versus merged up/gate weights at T = 1, 16, 256.
*/
#include "gpu_case.h"

enum { LAYERS = 32, H = 1024, I = 2816, T_CHECK = 16 };

typedef struct layer {
    void *norm_w, *w1_up, *w1_gate, *w2;   /* host copies, bf16 */
    CUdeviceptr fused;                      /* [gate | up] [2I, H] for the in-place layers */
    dsmlp_bindings *set;
} layer;

static dsmlp_mlp_config block(int split)
{
    dsmlp_mlp_config c;
    dsmlp_mlp_config_default(&c);
    c.hidden = H, c.intermediate = I, c.dtype = DSMLP_BF16, c.layout = DSMLP_LAYOUT_OUT_IN;
    c.norm = DSMLP_NORM_RMSNORM, c.gamma_offset = 1.0, c.epsilon = 1e-6;
    c.activation = DSMLP_MLP_GATED_GELU_TANH, c.split_w1 = split;
    c.attn_bias = c.norm_bias = c.bias1 = c.bias2 = 0;
    return c;
}

static dsmlp_plan *compile(dsmlp_ctx *ctx, const dsmlp_mlp_config *c, dsmlp_graph **g, int64_t max_tokens)
{
    TU_OK(ctx, dsmlp_graph_create(ctx, c->split_w1 ? "gemma_split" : "gemma_merged", g));
    TU_OK(ctx, dsmlp_mlp_build(*g, c));
    dsmlp_compile_options o;
    dsmlp_compile_options_default(&o);
    o.max_tokens = max_tokens;
    o.external_workspace = 1;
    dsmlp_plan *pl;
    TU_OK(ctx, dsmlp_compile(ctx, *g, &o, &pl));
    return pl;
}

static double mib(size_t b) { return (double)b / (1 << 20); }

/* Captures LAYERS runs (one per set) at T and returns the median replay time in microseconds. */
static double replay_us(const cuda_api *cu, dsmlp_ctx *ctx, dsmlp_plan *pl, dsmlp_bindings **sets, int64_t T,
                        CUstream st, int check_only)
{
    CUgraph graph;
    CUgraphExec exec;
    GU_CU(cu->cuStreamBeginCapture(st, CU_STREAM_CAPTURE_MODE_GLOBAL));
    for (int l = 0; l < LAYERS; l++) TU_OK(ctx, dsmlp_run_bound(pl, sets[l], T, st));
    GU_CU(cu->cuStreamEndCapture(st, &graph));
    GU_CU(cu->cuGraphInstantiate(&exec, graph, 0));
    double med = 0;
    if (check_only) {
        GU_CU(cu->cuGraphLaunch(exec, st));
        GU_CU(cu->cuStreamSynchronize(st));
    } else {
        CUevent a, b;
        GU_CU(cu->cuEventCreate(&a, 0));
        GU_CU(cu->cuEventCreate(&b, 0));
        enum { REPS = 21 };
        float ms[REPS];
        for (int w = 0; w < 3; w++) GU_CU(cu->cuGraphLaunch(exec, st));
        for (int r = 0; r < REPS; r++) {
            GU_CU(cu->cuEventRecord(a, st));
            GU_CU(cu->cuGraphLaunch(exec, st));
            GU_CU(cu->cuEventRecord(b, st));
            GU_CU(cu->cuEventSynchronize(b));
            GU_CU(cu->cuEventElapsedTime(&ms[r], a, b));
        }
        for (int i = 0; i < REPS; i++)   /* median by selection */
            for (int j = i + 1; j < REPS; j++)
                if (ms[j] < ms[i]) { float t = ms[i]; ms[i] = ms[j]; ms[j] = t; }
        med = 1000.0 * ms[REPS / 2];
        cu->cuEventDestroy(a), cu->cuEventDestroy(b);
    }
    cu->cuGraphExecDestroy(exec);
    cu->cuGraphDestroy(graph);
    return med;
}

START_TEST(thirty_two_layers_one_plan_one_graph)
{
    dsmlp_ctx *ctx = tu_ctx();
    const cuda_api *cu = gu_cu(ctx);
    size_t free0 = 0, total = 0, free1 = 0;
    if (cu->cuMemGetInfo) cu->cuMemGetInfo(&free0, &total);
    const int64_t max_tokens = 256;
    dsmlp_mlp_config cs = block(1), cm = block(0);
    dsmlp_graph *gs, *gm;
    dsmlp_plan *ps = compile(ctx, &cs, &gs, max_tokens), *pm = compile(ctx, &cm, &gm, max_tokens);
    /* one workspace for both plans: they run one after the other on one stream */
    size_t wss, wsm;
    TU_OK(ctx, dsmlp_plan_workspace_size(ps, &wss));
    TU_OK(ctx, dsmlp_plan_workspace_size(pm, &wsm));
    size_t ws_bytes = wss > wsm ? wss : wsm;
    CUdeviceptr ws;
    GU_CU(cu->cuMemAlloc(&ws, ws_bytes));
    GU_CU(cu->cuMemsetD8(ws, 0xab, ws_bytes));
    TU_OK(ctx, dsmlp_plan_set_workspace(ps, (void *)(uintptr_t)ws, ws_bytes));
    TU_OK(ctx, dsmlp_plan_set_workspace(pm, (void *)(uintptr_t)ws, ws_bytes));
    unsigned char *probe = malloc(ws_bytes);
    GU_CU(cu->cuMemcpyDtoH(probe, ws, ws_bytes));
    for (size_t i = 0; i < ws_bytes; i++) ck_assert_msg(probe[i] == 0, "workspace byte %zu is not zeroed", i);
    free(probe);

    /* activations: act[l] is layer l's residual, act[l + 1] its output; the attention input is one buffer for all */
    size_t act_bytes = (size_t)(max_tokens * H) * 2;
    CUdeviceptr act[LAYERS + 1], attn;
    for (int l = 0; l <= LAYERS; l++) GU_CU(cu->cuMemAlloc(&act[l], act_bytes));
    GU_CU(cu->cuMemAlloc(&attn, act_bytes));
    TU_OK(ctx, dsmlp_bind(ps, "input", (void *)(uintptr_t)attn));   /* inherited by every set */
    TU_OK(ctx, dsmlp_bind(pm, "input", (void *)(uintptr_t)attn));

    layer L[LAYERS];
    dsmlp_bindings *sets[LAYERS], *msets[LAYERS];
    size_t wbytes = (size_t)I * H * 2, weights_total = 0;
    for (int l = 0; l < LAYERS; l++) {
        layer *y = &L[l];
        y->norm_w = malloc(H * 2), y->w1_up = malloc(wbytes), y->w1_gate = malloc(wbytes), y->w2 = malloc(wbytes);
        gu_fill(DSMLP_BF16, y->norm_w, H, 0.1, 0);   /* Gemma's w: the weight is 1 + w */
        gu_fill(DSMLP_BF16, y->w1_up, (int64_t)I * H, 1 / sqrt((double)H), 0);
        gu_fill(DSMLP_BF16, y->w1_gate, (int64_t)I * H, 1 / sqrt((double)H), 0);
        gu_fill(DSMLP_BF16, y->w2, (int64_t)I * H, 1 / sqrt((double)I), 0);
        TU_OK(ctx, dsmlp_bindings_create(ps, &y->set));
        sets[l] = y->set;
        TU_OK(ctx, dsmlp_bindings_upload(y->set, "norm_w", y->norm_w, H * 2));
        TU_OK(ctx, dsmlp_bindings_upload(y->set, "w2", y->w2, wbytes));
        if (l % 2) {   /* Phi-3's fused [gate | up], read in place as two row blocks */
            GU_CU(cu->cuMemAlloc(&y->fused, 2 * wbytes));
            GU_CU(cu->cuMemcpyHtoD(y->fused, y->w1_gate, wbytes));
            GU_CU(cu->cuMemcpyHtoD(y->fused + wbytes, y->w1_up, wbytes));
            TU_OK(ctx, dsmlp_bindings_bind(y->set, "w1_gate", (void *)(uintptr_t)y->fused));
            TU_OK(ctx, dsmlp_bindings_bind(y->set, "w1_up", (void *)(uintptr_t)(y->fused + wbytes)));
            weights_total += 2 * wbytes;
        } else {
            TU_OK(ctx, dsmlp_bindings_upload(y->set, "w1_up", y->w1_up, wbytes));
            TU_OK(ctx, dsmlp_bindings_upload(y->set, "w1_gate", y->w1_gate, wbytes));
        }
        TU_OK(ctx, dsmlp_bindings_bind(y->set, "residual", (void *)(uintptr_t)act[l]));
        TU_OK(ctx, dsmlp_bindings_bind(y->set, "out", (void *)(uintptr_t)act[l + 1]));
        weights_total += dsmlp_bindings_bytes(y->set);
        /* the merged plan's set: w1 = [up | gate] uploaded whole */
        unsigned char *w1 = malloc(2 * wbytes);
        memcpy(w1, y->w1_up, wbytes), memcpy(w1 + wbytes, y->w1_gate, wbytes);
        TU_OK(ctx, dsmlp_bindings_create(pm, &msets[l]));
        TU_OK(ctx, dsmlp_bindings_upload(msets[l], "w1", w1, 2 * wbytes));
        TU_OK(ctx, dsmlp_bindings_upload(msets[l], "norm_w", y->norm_w, H * 2));
        TU_OK(ctx, dsmlp_bindings_upload(msets[l], "w2", y->w2, wbytes));
        TU_OK(ctx, dsmlp_bindings_bind(msets[l], "residual", (void *)(uintptr_t)act[l]));
        TU_OK(ctx, dsmlp_bindings_bind(msets[l], "out", (void *)(uintptr_t)act[l + 1]));
        free(w1);
    }
    /* a set of another plan is refused */
    ck_assert_int_eq(dsmlp_run_bound(pm, sets[0], 1, NULL), DSMLP_ERR_INVALID_ARG);
    TU_MSG_HAS(ctx, "belongs to another plan");
    if (cu->cuMemGetInfo) cu->cuMemGetInfo(&free1, &total);

    CUstream st;
    GU_CU(cu->cuStreamCreate(&st, CU_STREAM_NON_BLOCKING));
    /* inputs, poisoned outputs, one graph of 32 layers */
    unsigned char *hx = malloc(act_bytes), *ha = malloc(act_bytes);
    gu_fill(DSMLP_BF16, hx, T_CHECK * H, 1.0, 0);
    gu_fill(DSMLP_BF16, ha, T_CHECK * H, 1.0, 0);
    GU_CU(cu->cuMemcpyHtoD(act[0], hx, (size_t)T_CHECK * H * 2));
    GU_CU(cu->cuMemcpyHtoD(attn, ha, (size_t)T_CHECK * H * 2));
    for (int l = 1; l <= LAYERS; l++) GU_CU(cu->cuMemsetD8(act[l], 0xff, act_bytes));
    GU_CU(cu->cuCtxSynchronize());   /* legacy-stream copies and memsets: st (non-blocking) does not wait for them */
    replay_us(cu, ctx, ps, sets, T_CHECK, st, 1);

    /* every layer against the reference from the GPU's input to that layer */
    double worst = 0;
    int worst_l = -1;
    unsigned char *in = malloc(act_bytes), *out = malloc(act_bytes);
    double *ref = malloc(sizeof(double) * T_CHECK * H);
    for (int l = 0; l < LAYERS; l++) {
        GU_CU(cu->cuMemcpyDtoH(in, act[l], (size_t)T_CHECK * H * 2));
        GU_CU(cu->cuMemcpyDtoH(out, act[l + 1], (size_t)T_CHECK * H * 2));
        dsmlp_host_tensor b[] = {
            {"input", DSMLP_BF16, ha}, {"residual", DSMLP_BF16, in}, {"norm_w", DSMLP_BF16, L[l].norm_w},
            {"w1_up", DSMLP_BF16, L[l].w1_up}, {"w1_gate", DSMLP_BF16, L[l].w1_gate}, {"w2", DSMLP_BF16, L[l].w2},
            {"out", DSMLP_F64, ref},
        };
        TU_OK(ctx, dsmlp_reference_run_f64(gs, T_CHECK, b, 7));
        double e = tu_rel_error(DSMLP_BF16, out, ref, T_CHECK * H);
        ck_assert_msg(e <= gu_tol(DSMLP_BF16), "layer %d: relative error %g (tolerance %g)", l, e, gu_tol(DSMLP_BF16));
        if (e > worst) worst = e, worst_l = l;
    }
    printf("== 32 layers, one plan, 32 binding sets, one CUDA graph (card %s, bf16, H %d, I %d, T %d): every layer "
           "passes, worst relative error %.3e at layer %d (tolerance %.1e)\n",
           gu_card(ctx), H, I, T_CHECK, worst, worst_l, gu_tol(DSMLP_BF16));
    printf("   memory: one workspace %.1f MiB (max_tokens %lld; shared by 2 plans), weights %.1f MiB per layer, "
           "%.1f MiB for 32 layers, activations %.1f MiB; device memory used by the test %.1f MiB\n",
           mib(ws_bytes), (long long)max_tokens, mib(weights_total / LAYERS), mib(weights_total),
           mib((LAYERS + 2) * act_bytes), cu->cuMemGetInfo ? mib(free0 - free1) : -1.0);
    for (int k = 0; k < 3; k++) {
        int64_t T = k == 0 ? 1 : k == 1 ? 16 : 256;
        double us = replay_us(cu, ctx, ps, sets, T, st, 0), um = replay_us(cu, ctx, pm, msets, T, st, 0);
        printf("   T=%-4lld 32-layer replay: separate up/gate %8.1f us, merged [up|gate] %8.1f us (%.3fx)\n",
               (long long)T, us, um, us / um);
    }
    fflush(stdout);

    for (int l = 0; l < LAYERS; l++) {
        dsmlp_bindings_free(L[l].set);
        if (l == 0) continue;   /* layer 0's merged set outlives its plan below: it must refuse, not crash */
        dsmlp_bindings_free(msets[l]);
    }
    dsmlp_plan_free(pm);
    ck_assert_int_eq(dsmlp_bindings_upload(msets[0], "w2", L[0].w2, wbytes), DSMLP_ERR_STATE);
    TU_MSG_HAS(ctx, "plan was freed");
    ck_assert_int_eq(dsmlp_run_bound(ps, msets[0], 1, NULL), DSMLP_ERR_INVALID_ARG);
    dsmlp_bindings_free(msets[0]);
    for (int l = 0; l < LAYERS; l++) {
        free(L[l].norm_w), free(L[l].w1_up), free(L[l].w1_gate), free(L[l].w2);
        if (L[l].fused) cu->cuMemFree(L[l].fused);
    }
    dsmlp_plan_free(ps);
    for (int l = 0; l <= LAYERS; l++) cu->cuMemFree(act[l]);
    cu->cuMemFree(attn), cu->cuMemFree(ws), cu->cuStreamDestroy(st);
    free(hx), free(ha), free(in), free(out), free(ref);
    dsmlp_graph_free(gs), dsmlp_graph_free(gm);
    dsmlp_ctx_free(ctx);
}
END_TEST

/* The workspace rules: none installed, too small, misaligned. */
START_TEST(workspace_rules)
{
    dsmlp_ctx *ctx = tu_ctx();
    const cuda_api *cu = gu_cu(ctx);
    dsmlp_mlp_config c = block(1);
    c.hidden = 256, c.intermediate = 512;
    dsmlp_graph *g;
    dsmlp_plan *pl = compile(ctx, &c, &g, 64);
    CUdeviceptr buf;
    size_t need;
    TU_OK(ctx, dsmlp_plan_workspace_size(pl, &need));
    GU_CU(cu->cuMemAlloc(&buf, need + 512));
    const char *names[] = {"input", "residual", "out", "norm_w", "w1_up", "w1_gate", "w2"};
    for (int i = 0; i < 7; i++) TU_OK(ctx, dsmlp_bind(pl, names[i], (void *)(uintptr_t)buf));   /* any pointer */
    TU_CHECK(ctx, dsmlp_run(pl, 1, NULL), DSMLP_ERR_STATE);
    TU_MSG_HAS(ctx, "has no workspace");
    TU_CHECK(ctx, dsmlp_plan_set_workspace(pl, (void *)(uintptr_t)buf, need - 1), DSMLP_ERR_INVALID_ARG);
    TU_MSG_HAS(ctx, "needs");
    TU_CHECK(ctx, dsmlp_plan_set_workspace(pl, (void *)(uintptr_t)(buf + 16), need), DSMLP_ERR_INVALID_ARG);
    TU_MSG_HAS(ctx, "256-byte aligned");
    TU_OK(ctx, dsmlp_plan_set_workspace(pl, NULL, 0));   /* back to one of its own */
    dsmlp_plan_free(pl);
    cu->cuMemFree(buf);
    dsmlp_graph_free(g);
    dsmlp_ctx_free(ctx);
}
END_TEST

static Suite *make(void)
{
    Suite *s = suite_create("gpu_layers");
    TCase *tc = tcase_create("layers");
    tcase_set_timeout(tc, 900);
    tcase_add_test(tc, workspace_rules);
    tcase_add_test(tc, thirty_two_layers_one_plan_one_graph);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return gu_main(make, "layers"); }
