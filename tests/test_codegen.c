/*
** test_codegen.c — the emitter: deterministic sources, specialization in the
** source and the kernel name, DSMLP_DUMP_DIR, compiling a whole plan through
** the store (memory-only), and the launch geometry the runtime relies on.
*/
#include "testutil.h"
#include "compiler/plan.h"
#include "compiler/emit.h"
#include "runtime/plan_handle.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static dsmlp_graph *mlp(dsmlp_ctx *ctx, int gated, dsmlp_dtype dt, int64_t H, double eps)
{
    dsmlp_graph *g;
    TU_OK(ctx, dsmlp_graph_create(ctx, gated ? "swiglu" : "gelu", &g));
    dsmlp_mlp_config c;
    dsmlp_mlp_config_default(&c);
    c.hidden = H, c.dtype = dt, c.epsilon = eps;
    if (gated) {
        c.norm = DSMLP_NORM_RMSNORM, c.activation = DSMLP_MLP_GATED_SILU, c.intermediate = 14336;
        c.attn_bias = c.norm_bias = c.bias1 = c.bias2 = 0;
    }
    TU_OK(ctx, dsmlp_mlp_build(g, &c));
    return g;
}

static dsmlp_plan *build(dsmlp_ctx *ctx, const dsmlp_graph *g, int defer)
{
    dsmlp_compile_options o;
    dsmlp_compile_options_default(&o);
    o.arch = "sm_90", o.defer_compile = defer;
    o.decode_max_tokens = 0, o.mixed_gemm = 0;   /* these tests index the norm/act/gated kernels; the GEMV and the
                                                  ** wgmma kernels have their own (test_plan) */
    dsmlp_plan *p;
    TU_OK(ctx, dsmlp_plan_build(ctx, g, &o, &p));
    return p;
}

START_TEST(deterministic)
{
    dsmlp_ctx *a = tu_ctx(), *b = tu_ctx();
    for (int gated = 0; gated < 2; gated++) {
        dsmlp_graph *g1 = mlp(a, gated, DSMLP_BF16, 4096, 1e-6), *g2 = mlp(b, gated, DSMLP_BF16, 4096, 1e-6);
        dsmlp_plan *p1 = build(a, g1, 1), *p2 = build(b, g2, 1);
        ck_assert_int_eq(p1->p->nkernels, p2->p->nkernels);
        ck_assert_int_gt(p1->p->nkernels, 0);
        for (int i = 0; i < p1->p->nkernels; i++) {
            ck_assert_str_eq(p1->p->kernels[i].name, p2->p->kernels[i].name);
            ck_assert_str_eq(p1->p->kernels[i].source, p2->p->kernels[i].source);
            ck_assert_str_eq(p1->p->kernels[i].key, p2->p->kernels[i].key);
        }
        char *t1, *t2;
        TU_OK(a, dsmlp_plan_explain(p1, &t1));
        TU_OK(b, dsmlp_plan_explain(p2, &t2));
        ck_assert_str_eq(t1, t2);
        dsmlp_free(t1), dsmlp_free(t2);
        dsmlp_plan_free(p1), dsmlp_plan_free(p2);
        dsmlp_graph_free(g1), dsmlp_graph_free(g2);
    }
    /* a different epsilon is a different source (and key) */
    dsmlp_graph *g1 = mlp(a, 0, DSMLP_F16, 1024, 1e-5), *g2 = mlp(a, 0, DSMLP_F16, 1024, 1e-6);
    dsmlp_plan *p1 = build(a, g1, 1), *p2 = build(a, g2, 1);
    ck_assert_str_ne(p1->p->kernels[0].source, p2->p->kernels[0].source);
    ck_assert_str_ne(p1->p->kernels[0].key, p2->p->kernels[0].key);
    ck_assert_ptr_nonnull(strstr(p1->p->kernels[0].source, "#define DS_EPS ((float)1.0000000000000001e-05)"));
    ck_assert_ptr_nonnull(strstr(p2->p->kernels[0].source, "#define DS_EPS ((float)9.9999999999999995e-07)"));
    dsmlp_plan_free(p1), dsmlp_plan_free(p2);
    dsmlp_graph_free(g1), dsmlp_graph_free(g2);
    dsmlp_ctx_free(a), dsmlp_ctx_free(b);
}
END_TEST

/* Names and sources carry the specialization; T is a run-time argument. */
START_TEST(specialization)
{
    dsmlp_ctx *ctx = tu_ctx();
    dsmlp_graph *g = mlp(ctx, 1, DSMLP_BF16, 4096, 1e-5);
    dsmlp_plan *h = build(ctx, g, 1);
    const plan *p = h->p;
    ck_assert_int_eq(p->nkernels, 2);
    const plan_kernel *n = &p->kernels[0], *q = &p->kernels[1];
    ck_assert_str_eq(n->name, "dsmlp_rms_bf16_h4096_a2_s0_v8");
    ck_assert_str_eq(q->name, "dsmlp_gated_silu_bf16_n14336_v8");
    const char *want[] = {"extern \"C\" __global__", "(long long T, __nv_bfloat16 *a0, const __nv_bfloat16 *a1)",
                          "#define DS_N 14336LL", "#define DS_VEC 8", "ds_silu(gate[j])", "ex2.approx.ftz.f32", "rcp.approx.ftz.f32", "erff(", "ds_gelu_tanh("};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        ck_assert_msg(strstr(q->source, want[i]), "gated source lacks %s", want[i]);
    ck_assert_ptr_null(strstr(q->source, "__expf"));      /* no fast-math library: the SFU only in the sigmoid */
    ck_assert_ptr_null(strstr(q->source, "#include \"")); /* self-contained */
    ck_assert_ptr_null(strstr(q->source, "{{"));
    ck_assert_ptr_nonnull(strstr(n->source, "#define DS_RMS 1"));
    ck_assert_ptr_nonnull(strstr(n->source, "#define DS_HAS_SIDE 1"));
    /* geometry: rows = T, grid y within 65535 for max_tokens */
    ck_assert_int_eq(q->rows_fixed, 0);
    ck_assert_int_le((p->max_tokens + q->rows_per_block - 1) / q->rows_per_block, 65535);
    ck_assert_int_eq(q->threads, 256);
    ck_assert_int_eq(n->threads % 32, 0);
    dsmlp_plan_free(h);
    dsmlp_graph_free(g);
    dsmlp_ctx_free(ctx);
}
END_TEST

/* Vector width: 16 bytes where the width allows, smaller powers of two else. */
START_TEST(vector_width)
{
    ck_assert_int_eq(dsmlpC_emit_vec_width(4096, 2), 8);
    ck_assert_int_eq(dsmlpC_emit_vec_width(4096, 4), 4);
    ck_assert_int_eq(dsmlpC_emit_vec_width(1236, 2), 4);
    ck_assert_int_eq(dsmlpC_emit_vec_width(1001, 2), 1);
    ck_assert_int_eq(dsmlpC_emit_vec_width(1002, 4), 2);
    dsmlp_ctx *ctx = tu_ctx();
    dsmlp_graph *g = mlp(ctx, 0, DSMLP_F16, 1236, 1e-5);  /* 1236 = 4 * 309 */
    dsmlp_plan *h = build(ctx, g, 1);
    ck_assert_str_eq(h->p->kernels[0].name, "dsmlp_ln_f16_h1236_a3_s0_v4");
    /* a huge max_tokens changes no kernel: the token-row kernels stride over row blocks past grid.y's 65535
    ** (issue 14: kernels do not depend on options they do not need) */
    dsmlp_compile_options o;
    dsmlp_compile_options_default(&o);
    o.arch = "sm_80", o.defer_compile = 1, o.max_tokens = 1 << 20;
    dsmlp_plan *big, *small;
    TU_OK(ctx, dsmlp_plan_build(ctx, g, &o, &big));
    o.max_tokens = 256;
    TU_OK(ctx, dsmlp_plan_build(ctx, g, &o, &small));
    ck_assert_int_eq(dsmlp_plan_kernels(big), dsmlp_plan_kernels(small));
    for (int i = 0; i < dsmlp_plan_kernels(big); i++) {
        const char *n1, *k1, *n2, *k2;
        TU_OK(ctx, dsmlp_plan_kernel(big, i, &n1, &k1));
        TU_OK(ctx, dsmlp_plan_kernel(small, i, &n2, &k2));
        ck_assert_str_eq(n1, n2);
        ck_assert_msg(!strcmp(k1, k2), "kernel %s: its key changes with max_tokens", n1);
    }
    dsmlp_plan_free(small);
    dsmlp_plan_free(big);
    dsmlp_plan_free(h);
    dsmlp_graph_free(g);
    dsmlp_ctx_free(ctx);
}
END_TEST

static int count_files(const char *dir, const char *suffix)
{
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name), sl = strlen(suffix);
        n += l > sl && !strcmp(e->d_name + l - sl, suffix);
    }
    closedir(d);
    return n;
}

/* DSMLP_DUMP_DIR gets every generated source; the kernels compile through the store. */
START_TEST(dump_and_compile)
{
    char *dir = tu_tmpdir("dump");
    setenv("DSMLP_DUMP_DIR", dir, 1);
    setenv("DSMLP_CACHE", "off", 1);
    dsmlp_ctx *ctx = tu_ctx();
    dsmlp_graph *g = mlp(ctx, 0, DSMLP_F16, 896, 1e-5);
    dsmlp_plan *p = build(ctx, g, 0);
    ck_assert_int_eq(count_files(dir, ".cu"), dsmlp_plan_kernels(p));
    for (int i = 0; i < dsmlp_plan_kernels(p); i++) {
        const char *name, *key;
        TU_OK(ctx, dsmlp_plan_kernel(p, i, &name, &key));
        ck_assert_int_eq((int)strlen(key), 64);
        char path[1024];
        snprintf(path, sizeof path, "%s/%s.cu", dir, name);
        FILE *f = fopen(path, "rb");
        ck_assert_msg(f != NULL, "no dump %s", path);
        fseek(f, 0, SEEK_END);
        long len = ftell(f);
        fclose(f);
        ck_assert_int_eq(len, (long)strlen(p->p->kernels[i].source));
        int cached = -1;
        TU_OK(ctx, dsmlp_plan_compile_kernel(ctx, p, i, &cached));
        ck_assert_int_eq(cached, 1); /* the memory store has it from plan_build */
    }
    unsetenv("DSMLP_DUMP_DIR");
    dsmlp_plan_free(p);
    dsmlp_graph_free(g);
    dsmlp_ctx_free(ctx);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("codegen");
    TCase *tc = tcase_create("codegen");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, deterministic);
    tcase_add_test(tc, specialization);
    tcase_add_test(tc, vector_width);
    tcase_add_test(tc, dump_and_compile);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
