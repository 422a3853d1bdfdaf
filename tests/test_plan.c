/*
** test_plan.c — the fusion pass and lowering on the spec's model families:
** exact step lists (P=1 and both ranks of P=2), explain text, general graphs
** through the low-level API, unsupported ops. Plans are built with
** defer_compile (sources and keys, no NVRTC) so this suite is fast.
*/
#include "testutil.h"
#include "compiler/plan.h"
#include "runtime/plan_handle.h"
#include "compiler/alias.h"
#include "compiler/route.h"
#include "runtime/exec_mixed.h"
#include "runtime/exec_stream.h"
#include "runtime/exec_tune.h"
#include "runtime/device.h"

#include <stdlib.h>
#include <string.h>

typedef enum fam { GPT2, OPT, NEOX, GPTJ, BERT, LLAMA, INT8_GPT2, GATED_GELU_LN, NOBIAS_GPT2, NOBIAS_OPT } fam;

static void family(fam f, int P, int rank, dsmlp_dtype dt, dsmlp_mlp_config *c)
{
    dsmlp_mlp_config_default(c);
    c->hidden = 1232, c->dtype = dt, c->tp_size = P, c->tp_rank = rank, c->epsilon = 1e-5;
    switch (f) {
    case GPT2: break;
    case OPT: c->activation = DSMLP_MLP_RELU; break;
    case NEOX: c->mlp_after_attn = 0; break;
    case GPTJ: c->norm = DSMLP_NORM_NONE, c->norm_bias = 0, c->mlp_after_attn = 0, c->attn_bias = 0; break;
    case BERT: c->pre_layer_norm = 0; break;
    case LLAMA:
        c->norm = DSMLP_NORM_RMSNORM, c->activation = DSMLP_MLP_GATED_SILU, c->intermediate = 11008;
        c->attn_bias = c->norm_bias = c->bias1 = c->bias2 = 0;
        break;
    case INT8_GPT2: c->int8_weights = 1, c->int8_groups = 4; break;
    case GATED_GELU_LN: c->activation = DSMLP_MLP_GATED_GELU; break;
    case NOBIAS_GPT2: c->attn_bias = c->norm_bias = c->bias1 = c->bias2 = 0; break;
    case NOBIAS_OPT: c->activation = DSMLP_MLP_RELU, c->attn_bias = c->norm_bias = c->bias1 = c->bias2 = 0; break;
    }
}

static int residual_kernel;   /* dsmlp_compile_options.residual_kernel for build_plan */
static int decode_max = -1;   /* dsmlp_compile_options.decode_max_tokens for build_plan; -1: the default */
static int mixed = -1;        /* dsmlp_compile_options.mixed_gemm for build_plan; -1: the default */
static int max_tok = -1;      /* dsmlp_compile_options.max_tokens for build_plan; -1: the default */

/* g's plan for arch (compiled lazily), with the options above. */
static dsmlp_plan *plan_graph(dsmlp_ctx *ctx, const dsmlp_graph *g, const char *arch)
{
    dsmlp_compile_options o;
    dsmlp_compile_options_default(&o);
    o.arch = arch, o.defer_compile = 1, o.residual_kernel = residual_kernel;
    if (decode_max >= 0) o.decode_max_tokens = decode_max;
    if (mixed >= 0) o.mixed_gemm = mixed;
    if (max_tok > 0) o.max_tokens = max_tok;
    dsmlp_plan *p;
    TU_OK(ctx, dsmlp_plan_build(ctx, g, &o, &p));
    return p;
}

static dsmlp_plan *build_plan(dsmlp_ctx *ctx, const dsmlp_mlp_config *c, const char *arch)
{
    dsmlp_graph *g;
    TU_OK(ctx, dsmlp_graph_create(ctx, "mlp", &g));
    TU_OK(ctx, dsmlp_mlp_build(g, c));
    dsmlp_plan *p = plan_graph(ctx, g, arch);
    dsmlp_graph_free(g);
    return p;
}

/* "a,b,c" against the plan's labels. */
static void expect_steps(dsmlp_ctx *ctx, fam f, int P, int rank, const char *want)
{
    dsmlp_mlp_config c;
    family(f, P, rank, DSMLP_F16, &c);
    dsmlp_plan *p = build_plan(ctx, &c, "sm_90");
    char got[512] = "";
    for (int i = 0; i < dsmlp_plan_steps(p); i++)
        snprintf(got + strlen(got), sizeof got - strlen(got), "%s%s", i ? "," : "", dsmlp_plan_step_label(p, i));
    if (strcmp(got, want)) {
        char *t;
        dsmlp_plan_explain(p, &t);
        fprintf(stderr, "%s\n", t);
        dsmlp_free(t);
    }
    ck_assert_msg(!strcmp(got, want), "family %d P=%d rank %d: steps '%s', wanted '%s'", (int)f, P, rank, got, want);
    dsmlp_plan_free(p);
}

START_TEST(family_steps)
{
    dsmlp_ctx *ctx = tu_ctx();
    expect_steps(ctx, GPT2, 1, 0, "norm,gemm+bias_gelu,gemm+bias_residual");
    expect_steps(ctx, OPT, 1, 0, "norm,gemm+bias_relu,gemm+bias_residual");
    expect_steps(ctx, NEOX, 1, 0, "norm,gemm+bias_gelu,gemm+bias_residual");
    expect_steps(ctx, GPTJ, 1, 0, "residual,gemm+bias_gelu,gemm+bias_residual");
    expect_steps(ctx, BERT, 1, 0, "norm,gemm+bias_gelu,gemm+bias_residual");
    expect_steps(ctx, LLAMA, 1, 0, "norm,gemm,gated,gemm+residual");
    expect_steps(ctx, GATED_GELU_LN, 1, 0, "norm,gemm,gated,gemm+bias_residual");
    expect_steps(ctx, INT8_GPT2, 1, 0, "norm,dequant,gemm+bias_gelu,dequant,gemm+bias_residual");
    expect_steps(ctx, NOBIAS_GPT2, 1, 0, "norm,gemm+gelu,gemm+residual");
    expect_steps(ctx, NOBIAS_OPT, 1, 0, "norm,gemm+relu,gemm+residual");
    dsmlp_ctx_free(ctx);
}
END_TEST

START_TEST(family_steps_tp)
{
    dsmlp_ctx *ctx = tu_ctx();
    expect_steps(ctx, GPT2, 2, 0, "norm,gemm+bias_gelu,gemm+bias_residual,all_reduce");
    expect_steps(ctx, GPT2, 2, 1, "norm,gemm+bias_gelu,gemm,all_reduce");
    expect_steps(ctx, OPT, 2, 1, "norm,gemm+bias_relu,gemm,all_reduce");
    expect_steps(ctx, NEOX, 2, 0, "norm,gemm+bias_gelu,gemm+bias_residual,all_reduce");
    expect_steps(ctx, NEOX, 2, 1, "norm,gemm+bias_gelu,gemm+residual,all_reduce");
    expect_steps(ctx, GPTJ, 2, 0, "residual,gemm+bias_gelu,gemm+bias_residual,all_reduce");
    expect_steps(ctx, GPTJ, 2, 1, "gemm+bias_gelu,gemm+residual,all_reduce");
    expect_steps(ctx, BERT, 2, 0, "norm,gemm+bias_gelu,gemm+bias_residual,all_reduce");
    expect_steps(ctx, BERT, 2, 1, "norm,gemm+bias_gelu,gemm,all_reduce");
    expect_steps(ctx, LLAMA, 2, 0, "norm,gemm,gated,gemm+residual,all_reduce");
    expect_steps(ctx, LLAMA, 2, 1, "norm,gemm,gated,gemm,all_reduce");
    dsmlp_ctx_free(ctx);
}
END_TEST

/* residual_kernel = 1: GEMM2 stays plain and one generated kernel adds
** bias + residual (the alternative to cuBLASLt's beta·C, for measuring). */
START_TEST(residual_kernel_option)
{
    dsmlp_ctx *ctx = tu_ctx();
    residual_kernel = 1;
    expect_steps(ctx, GPT2, 1, 0, "norm,gemm+bias_gelu,gemm+bias,residual");
    expect_steps(ctx, LLAMA, 1, 0, "norm,gemm,gated,gemm,residual");
    expect_steps(ctx, GPT2, 2, 1, "norm,gemm+bias_gelu,gemm,all_reduce");
    residual_kernel = 0;
    dsmlp_ctx_free(ctx);
}
END_TEST

/* decode_max_tokens: every GEMM step gets a GEMV variant (a generated kernel, not a
** step: the step lists stay the same), with the same operands, named for its
** specialization, and the explain text says which variant runs for which T. */
/* GEMMs on dequantized weights get a mixed-input variant (sm_90a kernels in an sm_90 plan) reading the codes and
** scales, with the step's epilogue; none for sm_80, with mixed_gemm = 0, or on float weights. */
START_TEST(mixed_variant)
{
    dsmlp_ctx *ctx = tu_ctx();
    dsmlp_mlp_config c;
    family(INT8_GPT2, 1, 0, DSMLP_F16, &c);
    c.hidden = 1024, c.intermediate = 4096;   /* the kernel's shapes: out a multiple of 128, in of 64 */
    for (int m = -1; m <= 2; m++) {
        mixed = m;
        dsmlp_plan *h = build_plan(ctx, &c, "sm_90");
        const plan *p = h->p;
        int found = 0;
        for (int i = 0; i < p->nsteps; i++) {
            const plan_gemm *g = &p->steps[i].gemm;
            if (p->steps[i].kind != STEP_GEMM) continue;
            if (m == 0) {
                ck_assert_int_eq(g->mixed_kernel[0], -1);
                ck_assert_int_eq(g->mixed_kernel[1], -1);
                ck_assert_int_eq(g->mixed_kernel[2], -1);
                ck_assert_int_eq(g->mixed_kernel[3], -1);
                ck_assert_int_eq(g->mixed_kernel[4], -1);
                continue;
            }
            /* the narrow variants: the same GEMM in 128-, 64-, 32- and 16-token blocks (their own sources, sm_90a) */
            for (int v = 0; v < PLAN_MIXED_VARIANTS; v++) {
                ck_assert_int_ge(g->mixed_kernel[v], 0);
                const plan_kernel *kn = &p->kernels[g->mixed_kernel[v]];
                char def[32];
                snprintf(def, sizeof def, "#define DS_TOK %d", 256 >> v);
                ck_assert_int_eq(kn->rows_per_block, 256 >> v);
                ck_assert_int_eq(kn->args[0], g->d);
                ck_assert_str_eq(dsmlpC_kernel_arch(p, kn), "sm_90a");
                ck_assert_ptr_nonnull(strstr(kn->source, def));
                /* 16- to 64-token blocks run two per SM (each with at most 96 KiB of stages), wider ones one */
                snprintf(def, sizeof def, "#define DS_MINB %d", (256 >> v) <= 64 ? 2 : 1);
                ck_assert_msg(strstr(kn->source, def) != NULL, "%d tokens: no '%s'", 256 >> v, def);
                if ((256 >> v) <= 64) ck_assert_uint_le(kn->smem_bytes, 114 * 1024);
                /* setmaxnreg where the block's producer release covers the consumers' increase: one-block kernels
                ** 40 / 232 (168 at entry), the 64-token code kernels 24 / 96 (72); 16 and 32 tokens keep the bound */
                const int regs_c = (256 >> v) >= 128 ? 232 : (256 >> v) == 64 ? 96 : 0;
                snprintf(def, sizeof def, "#define DS_REGS_CONSUMER %d", regs_c);
                ck_assert_msg(strstr(kn->source, def) != NULL, "%d tokens: no '%s'", 256 >> v, def);
                ck_assert_int_eq(kn->entry_regs_min, (256 >> v) >= 128 ? 168 : (256 >> v) == 64 ? 72 : 0);
                /* 128-token blocks: 8 stages of 24 KiB (200 KiB), 256-token ones 4 of 40 KiB */
                if ((256 >> v) >= 128)
                    ck_assert_msg(strstr(kn->source, (256 >> v) == 128 ? "#define DS_STAGES 8\n" : "#define DS_STAGES 4\n"),
                                  "%d tokens: stages", 256 >> v);
                /* 16- and 32-token blocks copy 256 k per stage, 64-token ones 128 (k = 1024, 4096 here), wide ones 64 */
                const int bk = (256 >> v) <= 32 ? 256 : (256 >> v) == 64 ? 128 : 64;
                snprintf(def, sizeof def, "#define DS_BK %d", bk);
                ck_assert_msg(strstr(kn->source, def) != NULL, "%d tokens: no '%s'", 256 >> v, def);
                ck_assert_int_eq(kn->mixed_bk, bk);
                /* 64-k stages convert the next stage's codes while this one multiplies (DS_XSTAGE) */
                snprintf(def, sizeof def, "#define DS_XSTAGE %d", bk == 64);
                ck_assert_msg(strstr(kn->source, def) != NULL, "%d tokens: no '%s'", 256 >> v, def);
            }
            ck_assert_int_ge(g->mixed_kernel[0], 0);
            const plan_kernel *k = &p->kernels[g->mixed_kernel[0]];
            ck_assert_int_eq(k->kind, KERN_MIXED);
            ck_assert_str_eq(dsmlpC_kernel_arch(p, k), "sm_90a");
            ck_assert_str_eq(dsmlp_plan_kernel_arch(h, g->mixed_kernel[0]), "sm_90a");
            ck_assert_str_eq(p->bufs[g->mixed_q].name, found ? "w2" : "w1");
            ck_assert_str_eq(p->bufs[g->mixed_scales].name, found ? "w2_scales" : "w1_scales");
            ck_assert_int_eq(k->args[0], g->d);
            ck_assert_msg(strstr(k->name, found ? "_lin_bias_c_" : "_gelu_bias_"), "%s", k->name);
            ck_assert_ptr_nonnull(strstr(k->source, "wgmma.mma_async"));
            found++;
        }
        ck_assert_int_eq(found, m == 0 ? 0 : 2);
        dsmlp_plan_free(h);
    }
    mixed = -1;
    dsmlp_plan *h = build_plan(ctx, &c, "sm_80");
    for (int i = 0; i < h->p->nsteps; i++) ck_assert(h->p->steps[i].kind != STEP_GEMM || h->p->steps[i].gemm.mixed_kernel[0] < 0);
    dsmlp_plan_free(h);
    family(INT8_GPT2, 1, 0, DSMLP_F16, &c);   /* 1232 x 4928: out not a multiple of 128, and explain says so */
    h = build_plan(ctx, &c, "sm_90");
    for (int i = 0; i < h->p->nsteps; i++) ck_assert(h->p->steps[i].kind != STEP_GEMM || h->p->steps[i].gemm.mixed_kernel[0] < 0);
    char *text = NULL;
    TU_OK(ctx, dsmlp_plan_explain(h, &text));
    ck_assert_msg(strstr(text, "no mixed-input variant (it needs out a multiple of 128)"), "%s", text);
    free(text);
    dsmlp_plan_free(h);
    family(GPT2, 1, 0, DSMLP_F16, &c);
    h = build_plan(ctx, &c, "sm_90");
    for (int i = 0; i < h->p->nsteps; i++) ck_assert(h->p->steps[i].kind != STEP_GEMM || h->p->steps[i].gemm.mixed_kernel[0] < 0);
    dsmlp_plan_free(h);
    dsmlp_ctx_free(ctx);
}
END_TEST

static CUresult fake_encode(CUtensorMap *m, CUtensorMapDataType d, cuuint32_t r, void *a, const cuuint64_t *gd,
                            const cuuint64_t *gs, const cuuint32_t *bd, const cuuint32_t *es, CUtensorMapInterleave il,
                            CUtensorMapSwizzle sw, CUtensorMapL2promotion l2, CUtensorMapFloatOOBfill oob)
{
    (void)m, (void)d, (void)r, (void)a, (void)gd, (void)gs, (void)bd, (void)es, (void)il, (void)sw, (void)l2, (void)oob;
    return CUDA_SUCCESS;
}

/* The runtime's rule for the mixed-input variant (exec_mixed.c) on a 132-SM device, GELU-4096 int8: both GEMMs from
** T = 2 to 2048 (the second, out 4096 = 32 row tiles, with k split over clusters where its grid is under the SMs),
** at T = 1 too (before the decode GEMV), never above 2048; 16-, 32- or 64-token blocks for T <= 16, 32 or 64, else 128-token blocks
** where they pad less than 256-token ones;
** mixed_gemm = 2 every T, 0 never; none without the driver's tensor-map entry point. */
static CUresult fake_launch_ex(const CUlaunchConfig *c, CUfunction f, void **a, void **e)
{
    (void)c, (void)f, (void)a, (void)e;
    return CUDA_SUCCESS;
}

static CUresult fake_clusters(int *n, CUfunction f, const CUlaunchConfig *c)
{
    (void)f, (void)c;
    *n = 0;
    return CUDA_SUCCESS;
}

/* A 132-SM device whose driver has the entry points the mixed-input GEMMs need (no kernels loaded: occupancy
** queries answered by the fallbacks), for the runtime's choices without a GPU. */
typedef struct fake_rt { cuda_api cu; struct device dev; exec_state rt; } fake_rt;
static void fake_rt_init(fake_rt *f)
{
    memset(f, 0, sizeof *f);
    f->cu.cuTensorMapEncodeTiled = fake_encode, f->cu.cuLaunchKernelEx = fake_launch_ex;
    f->dev.cu = &f->cu, f->dev.sm_count = 132, f->dev.dram_gbs = 3352;   /* an H100 SXM's */
    f->rt.dev = &f->dev;
}

/* The GELU-4096 int8 block (GPT-2's shape scaled: H 4096, I 16384) the runtime-rule tests plan. */
static void gelu4096_int8(dsmlp_mlp_config *c)
{
    family(INT8_GPT2, 1, 0, DSMLP_F16, c);
    c->hidden = 4096, c->intermediate = 16384;
}

/* Its plan for sm_90 (compiled lazily: kernels and sources, no device). */
static dsmlp_plan *gelu4096_int8_plan(dsmlp_ctx *ctx)
{
    dsmlp_mlp_config c;
    gelu4096_int8(&c);
    return build_plan(ctx, &c, "sm_90");
}

static int fake_regs;   /* what fake_func_attr says a kernel was compiled to; < 0: the query fails */
static CUresult fake_func_attr(int *v, CUfunction_attribute a, CUfunction f)
{
    (void)f;
    if (a != CU_FUNC_ATTRIBUTE_NUM_REGS || fake_regs < 0) return CUDA_ERROR_INVALID_VALUE;
    *v = fake_regs;
    return CUDA_SUCCESS;
}

/* The load refuses a kernel whose compiled registers cannot cover its warpgroups' register trade (setmaxnreg's
** increase is served from the block's own release: fewer would wait forever), naming both counts. */
START_TEST(entry_regs_check)
{
    dsmlp_ctx *ctx = tu_ctx();
    dsmlp_plan *h = gelu4096_int8_plan(ctx);
    const plan *p = h->p;
    static fake_rt f;
    fake_rt_init(&f);
    f.cu.cuFuncGetAttribute = fake_func_attr;
    int checked = 0;
    for (int i = 0; i < p->nkernels; i++) {
        const plan_kernel *k = &p->kernels[i];
        if (k->kind != KERN_MIXED) continue;
        /* one block a SM (128 / 256 tokens, and the one-a-SM twins "_one"): 40 / 232 registers; two a SM: 24 / 96 at 64 */
        const int need = k->rows_per_block >= 128 || strstr(k->name, "_one") ? 168 : k->rows_per_block == 64 ? 72 : 0;
        ck_assert_int_eq(k->entry_regs_min, need);
        fake_regs = need ? need : 1;
        ck_assert_int_eq(dsmlpR_exec_check_regs(ctx, &f.cu, k, NULL), DSMLP_OK);
        fake_regs = -1;   /* no trade: nothing is asked of the driver */
        ck_assert_int_eq(dsmlpR_exec_check_regs(ctx, &f.cu, k, NULL), need ? DSMLP_ERR_CUDA : DSMLP_OK);
        if (!need) continue;
        ck_assert_msg(strstr(dsmlp_last_error(ctx), "NUM_REGS"), "%s", dsmlp_last_error(ctx));
        fake_regs = need - 8;
        ck_assert_int_eq(dsmlpR_exec_check_regs(ctx, &f.cu, k, NULL), DSMLP_ERR_UNSUPPORTED);
        char want[96];
        snprintf(want, sizeof want, "compiled to %d registers per thread", need - 8);
        ck_assert_msg(strstr(dsmlp_last_error(ctx), want) && strstr(dsmlp_last_error(ctx), k->name), "%s", dsmlp_last_error(ctx));
        snprintf(want, sizeof want, "needs at least %d", need);
        ck_assert_msg(strstr(dsmlp_last_error(ctx), want), "%s", dsmlp_last_error(ctx));
        checked++;
    }
    ck_assert_int_ge(checked, 6);   /* 256-, 128- and 64-token kernels of both GEMMs */
    dsmlp_plan_free(h);
    dsmlp_ctx_free(ctx);
}
END_TEST

static size_t fake_alloc_bytes, fake_set_bytes;   /* what the fake driver was asked for */
static CUresult fake_alloc_result;
static CUresult fake_mem_alloc(CUdeviceptr *d, size_t n)
{
    fake_alloc_bytes = n;
    *d = fake_alloc_result == CUDA_SUCCESS ? (CUdeviceptr)0x100000 : 0;
    return fake_alloc_result;
}
static CUresult fake_memset(CUdeviceptr d, unsigned char v, size_t n)
{
    ck_assert(d == 0x100000 && v == 0);
    fake_set_bytes = n;
    return CUDA_SUCCESS;
}
static CUresult fake_sync(void) { return CUDA_SUCCESS; }

/* The fake device with split scratch and occupancy for p's mixed-input kernels, H100-like: two-a-SM kernels and
** one-a-SM twins; 30 clusters of 4 fit. The caller frees f->rt.kern. */
static void fake_split_rt(fake_rt *f, const plan *p)
{
    fake_rt_init(f);
    f->cu.cuMemAlloc = fake_mem_alloc, f->cu.cuMemsetD8 = fake_memset, f->cu.cuCtxSynchronize = fake_sync;
    f->cu.cuOccupancyMaxActiveClusters = fake_clusters;
    f->rt.kern = calloc((size_t)p->nkernels, sizeof *f->rt.kern);
    ck_assert_ptr_nonnull(f->rt.kern);
    for (int i = 0; i < p->nkernels; i++) {
        const int two = p->kernels[i].rows_per_block <= 64 && !strstr(p->kernels[i].name, "_one");
        f->rt.kern[i].per_sm = two ? 2 : 1;
        for (int s = 2; s <= PLAN_MIXED_SPLIT_MAX; s++) f->rt.kern[i].clusters[s] = s == 4 && !two ? 30 : 132 * (two + 1) / s;
    }
}

/* A k split without clusters (mixed_serial_split, exec_mixed.c): a code GEMM of <= 32-token blocks whose row tiles
** leave half the slots idle (GELU-4096's second GEMM: 32 tiles) splits k over plain blocks of its one-a-SM twin, as
** far as the SMs hold (132 / 32: 4), with cluster 1 (the tile's last block sums); the scratch holds a part for every
** resident block. Not at 64 tokens, not for the first GEMM (128 tiles), not with the option 0, nor where a part or a
** count does not fit, nor where the twin's SMs hold fewer than two blocks a tile (clusters then, as before). */
START_TEST(serial_split_rule)
{
    dsmlp_ctx *ctx = tu_ctx();
    dsmlp_plan *h = gelu4096_int8_plan(ctx);
    const plan *p = h->p;
    static fake_rt f;
    fake_split_rt(&f, p);
    const plan_gemm *g1 = NULL, *g2 = NULL;
    for (int i = 0; i < p->nsteps; i++)
        if (p->steps[i].kind == STEP_GEMM && PLAN_GEMM_HAS_MIXED(&p->steps[i].gemm))
            *(p->steps[i].gemm.n == 4096 ? &g2 : &g1) = &p->steps[i].gemm;
    ck_assert(g1 && g2 && g2->mixed_one[3] >= 0 && g2->mixed_one[4] >= 0 && g2->mixed_one[2] < 0);
    /* the scratch: a part for each of the 32-token kernels' 264 resident blocks, a count for each of 132 tiles */
    f.rt.two_groups = 0, f.rt.serial_split = 1, fake_alloc_result = CUDA_SUCCESS, fake_alloc_bytes = 0;
    ck_assert_int_eq(dsmlpR_mixed_split_scratch(ctx, p, &f.rt), DSMLP_OK);
    ck_assert_uint_eq(f.rt.split_sums, (size_t)264 * 32 * 128 * 4);
    ck_assert_uint_eq(f.rt.split_flags, 132);
    mixed_pick mp;
    ck_assert(dsmlpR_mixed_pick(p, &f.rt, g2, 8, &mp));
    ck_assert(mp.kernel == g2->mixed_one[4] && mp.tokens == 16 && mp.split == 4 && mp.cluster == 1);
    ck_assert(dsmlpR_mixed_pick(p, &f.rt, g2, 32, &mp));
    ck_assert(mp.kernel == g2->mixed_one[3] && mp.tokens == 32 && mp.split == 4 && mp.cluster == 1);
    ck_assert(dsmlpR_mixed_pick(p, &f.rt, g2, 64, &mp) && mp.tokens == 64 && mp.cluster > 1);   /* 64 tokens: clusters */
    ck_assert(dsmlpR_mixed_pick(p, &f.rt, g1, 8, &mp) && mp.kernel == g1->mixed_one[4] && mp.split == 1);
    /* one byte or one count short, or the option off: clusters of the two-a-SM kernel */
    const size_t need = (size_t)32 * 4 * 16 * 128 * 4, have = f.rt.split_sums;
    f.rt.split_sums = need - 1;
    ck_assert(dsmlpR_mixed_pick(p, &f.rt, g2, 8, &mp) && mp.kernel == g2->mixed_kernel[4] && mp.cluster == mp.split && mp.split > 1);
    f.rt.split_sums = need, f.rt.split_flags = 31;
    ck_assert(dsmlpR_mixed_pick(p, &f.rt, g2, 8, &mp) && mp.kernel == g2->mixed_kernel[4] && mp.cluster == mp.split);
    f.rt.split_flags = 32;
    ck_assert(dsmlpR_mixed_pick(p, &f.rt, g2, 8, &mp) && mp.split == 4 && mp.cluster == 1);
    f.rt.serial_split = 0;
    ck_assert(dsmlpR_mixed_pick(p, &f.rt, g2, 8, &mp) && mp.kernel == g2->mixed_kernel[4] && mp.cluster == mp.split && mp.split > 1);
    /* 63 SMs: the twin holds under two blocks a tile (63 / 32), so clusters */
    f.rt.serial_split = 1, f.rt.split_sums = have, f.dev.sm_count = 63;
    for (int i = 0; i < p->nkernels; i++)
        for (int s = 2; s <= PLAN_MIXED_SPLIT_MAX; s++) f.rt.kern[i].clusters[s] = 63 * f.rt.kern[i].per_sm / s;
    ck_assert(dsmlpR_mixed_pick(p, &f.rt, g2, 8, &mp) && mp.kernel == g2->mixed_kernel[4] && mp.cluster == mp.split);
    free(f.rt.kern);
    dsmlp_plan_free(h);
    dsmlp_ctx_free(ctx);
}
END_TEST

/* Which mixed-input kernels let the next launch start as their blocks exit (exec_mixed.c dsmlpR_mixed_next_early):
** GELU-4096 int8's first GEMM at T <= 32, whose second runs the k split without clusters; not with
** mixed_serial_split 0 (the second in clusters: 6-7 us slower started early), not at T = 64 (64-token kernels, the
** second in clusters), never the second GEMM (nothing after it in the block); a float kernel always. */
START_TEST(next_early_rule)
{
    dsmlp_ctx *ctx = tu_ctx();
    dsmlp_plan *h = gelu4096_int8_plan(ctx);
    const plan *p = h->p;
    static fake_rt f;
    fake_split_rt(&f, p);
    f.rt.two_groups = 0, f.rt.serial_split = 1, fake_alloc_result = CUDA_SUCCESS;
    ck_assert_int_eq(dsmlpR_mixed_split_scratch(ctx, p, &f.rt), DSMLP_OK);
    int i1 = -1, i2 = -1;
    for (int i = 0; i < p->nsteps; i++)
        if (p->steps[i].kind == STEP_GEMM && PLAN_GEMM_HAS_MIXED(&p->steps[i].gemm)) *(p->steps[i].gemm.n == 4096 ? &i2 : &i1) = i;
    ck_assert(i1 >= 0 && i2 > i1);
    static const int64_t Ts[] = {3, 8, 16, 32, 64};
    for (int serial = 1; serial >= 0; serial--) {
        f.rt.serial_split = serial;
        for (size_t t = 0; t < sizeof Ts / sizeof *Ts; t++) {
            mixed_pick m1, m2;
            ck_assert(dsmlpR_mixed_pick(p, &f.rt, &p->steps[i1].gemm, Ts[t], &m1));
            ck_assert(dsmlpR_mixed_pick(p, &f.rt, &p->steps[i2].gemm, Ts[t], &m2));
            const int want = serial && Ts[t] <= 32;
            ck_assert_msg(want == (m2.cluster == 1), "T = %lld, serial split %d: the second GEMM in clusters of %d",
                          (long long)Ts[t], serial, m2.cluster);
            ck_assert_msg(dsmlpR_mixed_next_early(p, &f.rt, p->steps, p->nsteps, i1, &m1, Ts[t]) == want,
                          "T = %lld, serial split %d: the first GEMM (%d tokens) lets the second start early: want %d",
                          (long long)Ts[t], serial, m1.tokens, want);
            ck_assert(!dsmlpR_mixed_next_early(p, &f.rt, p->steps, p->nsteps, i2, &m2, Ts[t]));
        }
    }
    free(f.rt.kern);
    dsmlp_plan_free(h);
    /* BERT's float form at H = 4096 (the wgmma kernels on f16 weights as stored): the first GEMM lets the second */
    dsmlp_mlp_config c;
    family(BERT, 1, 0, DSMLP_F16, &c);
    c.hidden = 4096, c.intermediate = 8192;
    mixed = 1, max_tok = 128;
    h = build_plan(ctx, &c, "sm_90");
    mixed = -1, max_tok = -1;
    p = h->p;
    fake_split_rt(&f, p);
    int seen = 0;
    for (int i = 0; i < p->nsteps; i++) {
        if (p->steps[i].kind != STEP_GEMM || !PLAN_GEMM_HAS_MIXED(&p->steps[i].gemm)) continue;
        mixed_pick m = {p->steps[i].gemm.mixed_kernel[2], 64, 1, 1, 0};   /* its 64-token kernel */
        ck_assert(dsmlpR_mixed_next_early(p, &f.rt, p->steps, p->nsteps, i, &m, 64));
        seen++;
    }
    ck_assert_int_eq(seen, 2);
    free(f.rt.kern);
    dsmlp_plan_free(h);
    dsmlp_ctx_free(ctx);
}
END_TEST

/* The split scratch for k splits in two groups of clusters (exec_mixed.c): sized at load for a quarter of the
** resident blocks as tiles (at most max_tokens' tiles) of tokens x 128 fp32 sums and a flag per half of the block
** slots, zeroed; the rule then takes two groups where they fit in it. None with mixed_two_groups 0; a failed
** allocation is DSMLP_ERR_CUDA naming the bytes. */
START_TEST(split_scratch_size)
{
    dsmlp_ctx *ctx = tu_ctx();
    dsmlp_plan *h = gelu4096_int8_plan(ctx);
    const plan *p = h->p;
    ck_assert_int_ge(p->max_tokens, 256);
    static fake_rt f;
    fake_rt_init(&f);
    f.cu.cuMemAlloc = fake_mem_alloc, f.cu.cuMemsetD8 = fake_memset, f.cu.cuCtxSynchronize = fake_sync;
    f.cu.cuOccupancyMaxActiveClusters = fake_clusters;   /* the counts below are what the load-time query found */
    f.rt.kern = calloc((size_t)p->nkernels, sizeof *f.rt.kern);
    ck_assert_ptr_nonnull(f.rt.kern);
    for (int i = 0; i < p->nkernels; i++) {   /* H200-like: 16- to 64-token blocks two per SM; 30 clusters of 4 fit */
        f.rt.kern[i].per_sm = p->kernels[i].rows_per_block <= 64 ? 2 : 1;
        for (int s = 2; s <= PLAN_MIXED_SPLIT_MAX; s++)
            f.rt.kern[i].clusters[s] = s == 4 ? 30 : 132 * f.rt.kern[i].per_sm / s;
    }
    const plan_gemm *g2 = NULL;
    for (int i = 0; i < p->nsteps; i++)
        if (p->steps[i].kind == STEP_GEMM && p->steps[i].gemm.n == 4096) g2 = &p->steps[i].gemm;
    ck_assert_ptr_nonnull(g2);
    f.rt.two_groups = 1, fake_alloc_result = CUDA_SUCCESS, fake_alloc_bytes = fake_set_bytes = 0;
    ck_assert_int_eq(dsmlpR_mixed_split_scratch(ctx, p, &f.rt), DSMLP_OK);
    /* 256-token tiles, 132 / 4 = 33 of them: 33 x 256 x 128 x 4 bytes; flags for 264 / 2 (the two-per-SM kernels) */
    ck_assert_uint_eq(f.rt.split_sums, (size_t)33 * 256 * 128 * 4);
    ck_assert_uint_eq(f.rt.split_flags, 132);
    ck_assert_uint_eq(fake_alloc_bytes, f.rt.split_sums + 132 * sizeof(unsigned));
    ck_assert_uint_eq(fake_set_bytes, fake_alloc_bytes);
    ck_assert(f.rt.split_scratch == 0x100000);
    /* the second GEMM at T = 128 and 256 (32 tiles, clusters of 4 do not all fit): two groups of 2 */
    mixed_pick mp;
    ck_assert(dsmlpR_mixed_pick(p, &f.rt, g2, 128, &mp) && mp.tokens == 128 && mp.split == 4 && mp.cluster == 2);
    ck_assert(dsmlpR_mixed_pick(p, &f.rt, g2, 256, &mp) && mp.tokens == 256 && mp.split == 4 && mp.cluster == 2);
    /* off: nothing allocated, one cluster of 3 a tile */
    memset(&f.rt.split_scratch, 0, sizeof f.rt.split_scratch);
    f.rt.split_sums = f.rt.split_flags = 0, f.rt.two_groups = 0, fake_alloc_bytes = 0;
    ck_assert_int_eq(dsmlpR_mixed_split_scratch(ctx, p, &f.rt), DSMLP_OK);
    ck_assert(fake_alloc_bytes == 0 && f.rt.split_sums == 0 && f.rt.split_scratch == 0);
    ck_assert(dsmlpR_mixed_pick(p, &f.rt, g2, 256, &mp) && mp.split == 3 && mp.cluster == 3);
    /* the allocation fails: an error naming the bytes, no scratch, no two groups */
    f.rt.two_groups = 1, fake_alloc_result = CUDA_ERROR_OUT_OF_MEMORY;
    ck_assert_int_eq(dsmlpR_mixed_split_scratch(ctx, p, &f.rt), DSMLP_ERR_CUDA);
    char want[64];
    snprintf(want, sizeof want, "%zu bytes for the mixed-input GEMMs' split", (size_t)33 * 256 * 128 * 4 + 132 * 4);
    ck_assert_msg(strstr(dsmlp_last_error(ctx), want), "%s", dsmlp_last_error(ctx));
    ck_assert(f.rt.split_sums == 0 && f.rt.split_scratch == 0);
    free(f.rt.kern);
    dsmlp_plan_free(h);
    dsmlp_ctx_free(ctx);
}
END_TEST

static int kernel_has_arg_buf(const plan *p, int k, int b)
{
    for (int a = 0; a < p->kernels[k].nargs; a++)
        if (p->kernels[k].args[a] == b) return 1;
    return 0;
}

/* The code kernels' one-a-SM twins: built for the 64-, 32- and 16-token widths of a GEMM whose 128-row tiles could
** fill 3/4 of an sm_90 part in one wave (GELU-4096's first GEMM, 128 tiles; not its second, 32, nor SwiGLU-4096's
** gated first, 224), and taken where one token tile's row tiles fill 3/4 of the card's SMs and no more. */
/* The code kernels' L2 prefetch at entry (exec_mixed.c prefetch_lines): only kernels of up to 64 tokens on codes
** (their sources say DS_PREFETCH 1, no other kernel's does); 8 lines a row in the 16- / 32-token kernels, 4 in the
** 64-token ones of a block's first GEMM (none in its second); in the first GEMM no more than 16 MiB over the launch;
** none where the launch's blocks do not all fit at once. Blocks a SM as the kernels' sources ask (DS_MINB). */
START_TEST(mixed_prefetch_rule)
{
    dsmlp_ctx *ctx = tu_ctx();
    for (int shape = 0; shape < 3; shape++) {   /* GELU-4096 int8, SwiGLU-4096 int8 (I 14336), GELU-4096 f16 */
        dsmlp_mlp_config c;
        gelu4096_int8(&c);
        if (shape == 1) {
            family(LLAMA, 1, 0, DSMLP_BF16, &c);
            c.hidden = 4096, c.intermediate = 14336, c.int8_weights = 1, c.int8_groups = 4;
        }
        if (shape == 2) c.int8_weights = 0;
        dsmlp_plan *h = build_plan(ctx, &c, "sm_90");
        const plan *p = h->p;
        static fake_rt f;
        fake_rt_init(&f);
        exec_kernel *ek = calloc((size_t)p->nkernels, sizeof *ek);
        ck_assert(ek);
        for (int k = 0; k < p->nkernels; k++)
            ek[k].per_sm = p->kernels[k].source && strstr(p->kernels[k].source, "#define DS_MINB 2") ? 2 : 1;
        f.rt.kern = ek;
        int seen = 0;
        for (int i = 0; i < p->nsteps; i++) {
            const plan_gemm *g = &p->steps[i].gemm;
            if (p->steps[i].kind != STEP_GEMM || !PLAN_GEMM_HAS_MIXED(g)) continue;
            static const int sms[] = {132, 114, 100};
            static const int64_t Ts[] = {3, 8, 16, 17, 32, 33, 64, 65, 128, 256};
            for (size_t a = 0; a < sizeof sms / sizeof *sms; a++)
                for (size_t b = 0; b < sizeof Ts / sizeof *Ts; b++) {
                    f.dev.sm_count = sms[a];
                    mixed_pick mp = {-1, 0, 0, 0, -1};
                    if (!dsmlpR_mixed_pick(p, &f.rt, g, Ts[b], &mp)) continue;
                    const int twin = mp.kernel != g->mixed_kernel[mp.tokens == 64 ? 2 : mp.tokens == 32 ? 3 : mp.tokens == 16 ? 4 : mp.tokens == 128 ? 1 : 0];
                    const int64_t blocks = (Ts[b] + mp.tokens - 1) / mp.tokens * (g->n / 128) * mp.split;
                    const int fits = blocks <= (int64_t)sms[a] * ek[mp.kernel].per_sm;
                    const int codes = g->mixed_scales >= 0, narrow = codes && mp.tokens <= 64, first = g->c < 0;
                    const int lines = mp.tokens <= 32 ? 8 : first ? 4 : 0;
                    const int64_t cap = first ? (16 << 20) / (blocks * 128 * 128) : 8;
                    const int want = narrow && fits ? (int)(lines < cap ? lines : cap) : 0;
                    ck_assert_int_eq(!!strstr(p->kernels[mp.kernel].source, "#define DS_PREFETCH 1"), narrow);
                    ck_assert_msg(mp.prefetch_lines == want, "shape %d n %lld, %d SMs, T = %lld (%d tokens, split %d%s): %d lines, want %d",
                                  shape, (long long)g->n, sms[a], (long long)Ts[b], mp.tokens, mp.split, twin ? ", twin" : "",
                                  mp.prefetch_lines, want);
                    if (codes)
                        seen |= mp.prefetch_lines == 8 ? (twin ? 4 : 1) : mp.prefetch_lines == 4 ? 2 : !fits && narrow ? 8 : 0;
                    else
                        seen |= 16;   /* float weights met */
                }
        }
        /* every kind of case met: 8 lines (and a twin's 8: GELU's first GEMM on 132 SMs), 4 (SwiGLU's first GEMM, 224
        ** tiles: 16 MiB holds 4; GELU's at 64 tokens), a grid past the slots (SwiGLU's first GEMM on 100 SMs: 224 tiles,
        ** 200 slots), float weights' kernels (none) */
        ck_assert_int_eq(seen, shape == 0 ? 7 : shape == 1 ? 11 : 16);
        free(ek);
        dsmlp_plan_free(h);
    }
    dsmlp_ctx_free(ctx);
}
END_TEST

START_TEST(mixed_one_rule)
{
    dsmlp_ctx *ctx = tu_ctx();
    dsmlp_mlp_config c;
    for (int shape = 0; shape < 3; shape++) {   /* GELU-4096 I 16384, GELU-4096 I 8192, SwiGLU-4096 I 14336 */
        gelu4096_int8(&c);
        if (shape == 1) c.intermediate = 8192;
        if (shape == 2) {
            family(LLAMA, 1, 0, DSMLP_BF16, &c);
            c.hidden = 4096, c.intermediate = 14336, c.int8_weights = 1, c.int8_groups = 4;
        }
        dsmlp_plan *h = build_plan(ctx, &c, "sm_90");
        const plan *p = h->p;
        const plan_gemm *g1 = NULL, *g2 = NULL;
        for (int i = 0; i < p->nsteps; i++)
            if (p->steps[i].kind == STEP_GEMM && PLAN_GEMM_HAS_MIXED(&p->steps[i].gemm))
                *(p->steps[i].gemm.n == 4096 ? &g2 : &g1) = &p->steps[i].gemm;
        ck_assert(g1 && g2);
        const int64_t tiles1 = g1->n / 128;   /* EMIT_MIXED_ROWS a tile */
        ck_assert_int_eq(tiles1, shape == 0 ? 128 : shape == 1 ? 64 : 224);
        for (int v = 0; v < PLAN_MIXED_VARIANTS; v++) {
            /* 32 tiles: under 3/4 of any sm_90 part; twins of its 16- and 32-token kernels for a split without clusters */
            ck_assert_int_eq(g2->mixed_one[v] >= 0, v >= 3);
            ck_assert_int_eq(g1->mixed_one[v] >= 0, shape < 2 && v >= 2);
            if (g1->mixed_one[v] < 0) continue;
            const plan_kernel *one = &p->kernels[g1->mixed_one[v]], *two = &p->kernels[g1->mixed_kernel[v]];
            ck_assert_msg(strstr(one->name, "_one") && !strstr(two->name, "_one"), "%s / %s", one->name, two->name);
            ck_assert_int_eq(one->rows_per_block, two->rows_per_block);
            ck_assert_int_gt(one->smem_bytes, two->smem_bytes);   /* one a SM: more stages in flight */
            ck_assert(strstr(one->source, "#define DS_MINB 1") && strstr(two->source, "#define DS_MINB 2"));
        }
        char *text = NULL;
        TU_OK(ctx, dsmlp_plan_explain(h, &text));
        ck_assert_msg(!!strstr(text, "one block a SM: ") == (shape < 2), "%s", text);
        free(text);
        static fake_rt f;
        fake_rt_init(&f);
        /* SMs, T, whether the first GEMM runs its twin */
        static const struct { int sms; int64_t T; int one[2]; } want[] = {
            {132, 3, {1, 0}}, {132, 16, {1, 0}}, {132, 17, {1, 0}}, {132, 64, {1, 0}}, {132, 65, {0, 0}},
            {114, 8, {0, 0}}, {171, 8, {0, 0}}, {170, 8, {1, 0}}, {128, 8, {1, 0}}, {127, 8, {0, 0}},
            {78, 8, {0, 1}}, {85, 3, {0, 1}}, {86, 64, {0, 0}}, {63, 8, {0, 0}}};
        for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
            f.dev.sm_count = want[i].sms;
            for (int g = 0; g < 2; g++) {
                const plan_gemm *m = g ? g2 : g1;
                mixed_pick mp = {-1, 0, 0, 0, 0};
                dsmlpR_mixed_pick(p, &f.rt, m, want[i].T, &mp);
                const int v = mp.tokens == 256 ? 0 : mp.tokens == 128 ? 1 : mp.tokens == 64 ? 2 : mp.tokens == 32 ? 3 : 4;
                const int one = !g && shape < 2 && want[i].one[shape];
                ck_assert_msg(mp.kernel == (one ? m->mixed_one[v] : m->mixed_kernel[v]),
                              "shape %d GEMM %d, %d SMs, T = %lld: kernel %d (twin %d, two a SM %d)", shape, g + 1, want[i].sms,
                              (long long)want[i].T, mp.kernel, m->mixed_one[v], m->mixed_kernel[v]);
                if (one) ck_assert_int_eq(mp.split, 1);
            }
        }
        dsmlp_plan_free(h);
    }
    dsmlp_ctx_free(ctx);
}
END_TEST

START_TEST(mixed_rule)
{
    dsmlp_ctx *ctx = tu_ctx();
    dsmlp_mlp_config c;
    gelu4096_int8(&c);
    dsmlp_plan *h = build_plan(ctx, &c, "sm_90");
    plan *p = h->p;
    const plan_gemm *g1 = NULL, *g2 = NULL;
    for (int i = 0; i < p->nsteps; i++)
        if (p->steps[i].kind == STEP_GEMM) *(p->steps[i].gemm.n == 16384 ? &g1 : &g2) = &p->steps[i].gemm;
    ck_assert(g1 && g2 && g1->mixed_kernel[0] >= 0 && g2->mixed_kernel[0] >= 0);
    /* auto: the wide first GEMM (128 row tiles) gets its GEMV for T = 1 only, and so does the narrow second (32)
    ** behind it: at T = 2 the two mixed kernels chain */
    ck_assert_int_eq(g1->decode_max_T, 1);
    ck_assert_int_eq(g2->decode_max_T, 1);
    ck_assert_ptr_nonnull(strstr(p->kernels[g1->decode_kernel].name, "_t1_"));
    {   /* explain says why each bound */
        char *text = NULL;
        TU_OK(ctx, dsmlp_plan_explain(h, &text));
        ck_assert_msg(strstr(text, "bound: T <= 1 (auto: codes of a wide GEMM (at least 96 mixed-input row tiles)") &&
                          strstr(text, "bound: T <= 1 (auto: codes after a GEMM whose mixed-input kernel takes T = 2"), "%s", text);
        free(text);
    }
    /* the decode GEMVs read the codes and scales, before the mixed kernels, and the dequant copies go */
    ck_assert(g1->decode_q >= 0 && g2->decode_q >= 0 && g1->decode_scales >= 0 && g1->decode_groups == c.int8_groups);
    ck_assert(dsmlpR_gemv_reads_codes(g1, 1) && !dsmlpR_gemv_reads_codes(g1, 2) && dsmlpR_gemv_reads_codes(g2, 1) &&
              !dsmlpR_gemv_reads_codes(g2, 2));
    {   /* a block of narrow GEMMs only (hidden 1024: 32 and 8 row tiles) keeps both GEMVs to T = 2 */
        dsmlp_mlp_config small = c;
        small.hidden = 1024, small.intermediate = 4096;
        dsmlp_plan *hs = build_plan(ctx, &small, "sm_90");
        int gemms = 0;
        for (int i = 0; i < hs->p->nsteps; i++)
            if (hs->p->steps[i].kind == STEP_GEMM) {
                const plan_gemm *g = &hs->p->steps[i].gemm;
                ck_assert(g->mixed_kernel[0] >= 0 && g->decode_q >= 0);
                ck_assert_int_eq(g->decode_max_T, 2);
                ck_assert_ptr_nonnull(strstr(g->decode_why, "codes of a narrow GEMM"));
                gemms++;
            }
        ck_assert_int_eq(gemms, 2);
        dsmlp_plan_free(hs);
    }
    {   /* only the GEMM right after the wide one chains behind it: 4096 -> 16384 (wide) -> 4096 -> 1024 */
        dsmlp_graph *cg;
        TU_OK(ctx, dsmlp_graph_create(ctx, "chain", &cg));
        static const int64_t dims[] = {4096, 16384, 4096, 1024};
        dsmlp_value v, q, sc, w;
        TU_OK(ctx, dsmlp_input(cg, "x", DSMLP_F16, dims[0], &v));
        for (int i = 0; i < 3; i++) {
            char qn[8], sn[8];
            snprintf(qn, sizeof qn, "q%d", i), snprintf(sn, sizeof sn, "s%d", i);
            TU_OK(ctx, dsmlp_param_matrix(cg, qn, DSMLP_I8, dims[i + 1], dims[i], DSMLP_LAYOUT_OUT_IN, &q));
            TU_OK(ctx, dsmlp_param_vector(cg, sn, DSMLP_F32, dims[i + 1], &sc));
            TU_OK(ctx, dsmlp_dequant(cg, q, sc, dims[i + 1], DSMLP_F16, &w));
            TU_OK(ctx, dsmlp_matmul(cg, v, w, &v));
        }
        TU_OK(ctx, dsmlp_output(cg, "y", v));
        dsmlp_plan *hc = plan_graph(ctx, cg, "sm_90");
        int64_t bound[3] = {0, 0, 0};
        int n = 0;
        for (int i = 0; i < hc->p->nsteps; i++)
            if (hc->p->steps[i].kind == STEP_GEMM && n < 3) {
                ck_assert(hc->p->steps[i].gemm.mixed_kernel[0] >= 0);
                bound[n++] = hc->p->steps[i].gemm.decode_max_T;
            }
        ck_assert_int_eq(n, 3);
        ck_assert_msg(bound[0] == 1 && bound[1] == 1 && bound[2] == 2, "GEMV bounds %lld, %lld, %lld; want 1, 1, 2",
                      (long long)bound[0], (long long)bound[1], (long long)bound[2]);
        dsmlp_plan_free(hc);
        dsmlp_graph_free(cg);
    }
    {   /* an explicit decode_max_tokens keeps both GEMVs to T = 2 */
        decode_max = 2;
        dsmlp_plan *h2 = build_plan(ctx, &c, "sm_90");
        for (int i = 0; i < h2->p->nsteps; i++)
            if (h2->p->steps[i].kind == STEP_GEMM) ck_assert_int_eq(h2->p->steps[i].gemm.decode_max_T, 2);
        dsmlp_plan_free(h2);
        decode_max = -1;
    }
    ck_assert(kernel_has_arg_buf(p, g1->decode_kernel, g1->decode_q) && !kernel_has_arg_buf(p, g1->decode_kernel, g1->w));
    {   /* without mixed-input kernels (sm_80) the GEMV on the codes serves T <= 2 (auto), as a float [out,in] one */
        dsmlp_plan *h80 = build_plan(ctx, &c, "sm_80");
        for (int i = 0; i < h80->p->nsteps; i++) {
            const plan_gemm *g = &h80->p->steps[i].gemm;
            if (h80->p->steps[i].kind != STEP_GEMM) continue;
            ck_assert(g->mixed_kernel[0] < 0 && g->decode_q >= 0);
            ck_assert_int_eq(g->decode_max_T, 2);
        }
        dsmlp_plan_free(h80);
    }
    static fake_rt f;
    fake_rt_init(&f);
    /* T, whether each GEMM runs mixed, and the second GEMM's tokens per block and k split */
    static const struct { int64_t T; int first, second, tok2, split2; } want[] = {
        {1, 0, 0, 0, 0}, {2, 1, 1, 16, 4}, {3, 1, 1, 16, 4}, {16, 1, 1, 16, 4}, {17, 1, 1, 32, 4}, {32, 1, 1, 32, 4}, {33, 1, 1, 64, 4}, {64, 1, 1, 64, 4}, {65, 1, 1, 128, 4}, {128, 1, 1, 128, 4}, {129, 1, 1, 256, 4}, {192, 1, 1, 256, 4}, {256, 1, 1, 256, 4},
        {300, 1, 1, 128, 1}, {512, 1, 1, 256, 2}, {575, 1, 1, 128, 1}, {768, 1, 1, 256, 1}, {1000, 1, 1, 256, 1},
        {1024, 1, 1, 256, 1}, {1536, 1, 1, 256, 1}, {2048, 1, 1, 256, 1}, {3072, 1, 1, 256, 1}, {3073, 0, 0, 0, 0}, {8192, 0, 0, 0, 0}};
    ck_assert(dsmlpR_mixed_serves_all(p, &f.rt, 1) && dsmlpR_mixed_serves_all(p, &f.rt, 2));   /* codes read at T = 1, 2 */
    {   /* the norm kernel runs at T = 2 (the first GEMM's mixed kernel reads x), not at T = 1 (its GEMV computes it) */
        int ns = -1;
        for (int i = 0; i < p->nsteps; i++)
            if (p->steps[i].kind == STEP_KERNEL && p->steps[i].op.kind == KERN_NORM) ns = i;
        ck_assert_int_ge(ns, 0);
        ck_assert(dsmlpR_gemv_skips_norm(p, &f.rt, p->steps, p->nsteps, &p->steps[ns], 1));
        ck_assert(!dsmlpR_gemv_skips_norm(p, &f.rt, p->steps, p->nsteps, &p->steps[ns], 2));
    }
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        mixed_pick mp = {-1, 0, 0, 0, 0};
        ck_assert_msg(dsmlpR_mixed_serves(p, &f.rt, g1, want[i].T) == want[i].first, "first GEMM at T = %lld", (long long)want[i].T);
        ck_assert_msg(dsmlpR_mixed_pick(p, &f.rt, g2, want[i].T, &mp) == want[i].second, "second GEMM at T = %lld", (long long)want[i].T);
        if (!want[i].second) continue;
        ck_assert_msg(mp.tokens == want[i].tok2 && mp.split == want[i].split2 &&
                          mp.kernel == g2->mixed_kernel[mp.tokens == 256 ? 0 : mp.tokens == 128 ? 1 : mp.tokens == 64 ? 2 : mp.tokens == 32 ? 3 : 4],
                      "second GEMM at T = %lld: %d tokens per block, k split %d; want %d, %d", (long long)want[i].T, mp.tokens,
                      mp.split, want[i].tok2, want[i].split2);
    }
    /* x's tensor map: whole token tiles of a workspace buffer, never past the rows it holds; T rows of a caller's */
    ck_assert_int_eq(p->bufs[g2->x].kind, BUF_WORK);
    const int64_t cap = (int64_t)(p->bufs[g2->x].ws_bytes / ((size_t)g2->k * 2));
    ck_assert_int_ge(cap, 64);
    ck_assert_int_eq(dsmlpR_mixed_x_rows(p, g2, 2, 32), 32);
    ck_assert_int_eq(dsmlpR_mixed_x_rows(p, g2, 33, 64), 64);
    ck_assert_int_eq(dsmlpR_mixed_x_rows(p, g2, 64, 64), 64);
    ck_assert_int_eq(dsmlpR_mixed_x_rows(p, g2, cap, 256), cap);
    ck_assert_int_eq(dsmlpR_mixed_x_rows(p, g2, cap - 1, 256), cap);
    const size_t ws = p->bufs[g2->x].ws_bytes;   /* a buffer of 100 rows (max_tokens not a multiple of the tile) */
    p->bufs[g2->x].ws_bytes = (size_t)g2->k * 2 * 100;
    ck_assert_int_eq(dsmlpR_mixed_x_rows(p, g2, 99, 256), 100);
    ck_assert_int_eq(dsmlpR_mixed_x_rows(p, g2, 65, 128), 100);
    ck_assert_int_eq(dsmlpR_mixed_x_rows(p, g2, 33, 64), 64);
    p->bufs[g2->x].ws_bytes = ws;
    const plan_buf_kind kind = p->bufs[g2->x].kind;
    p->bufs[g2->x].kind = BUF_INPUT;
    ck_assert_int_eq(dsmlpR_mixed_x_rows(p, g2, 2, 32), 2);
    p->bufs[g2->x].kind = kind;
    p->mixed_mode = 2;
    ck_assert_int_eq(dsmlpR_mixed_serves(p, &f.rt, g1, 1), 1);   /* pinned: before the decode GEMV */
    ck_assert_int_eq(dsmlpR_mixed_serves(p, &f.rt, g2, 2), 1);
    ck_assert_int_eq(dsmlpR_mixed_serves(p, &f.rt, g2, 8192), 1);
    mixed_pick mp;
    /* where the device holds only 30 clusters of 4 (its GPCs' SM counts), 32 row tiles take clusters of 3 */
    f.rt.kern = calloc((size_t)p->nkernels, sizeof *f.rt.kern);
    ck_assert_ptr_nonnull(f.rt.kern);
    for (int v = 0; v < PLAN_MIXED_VARIANTS; v++)
        for (int s = 2; s <= PLAN_MIXED_SPLIT_MAX; s++) f.rt.kern[g2->mixed_kernel[v]].clusters[s] = s == 4 ? 30 : 132 / s;
    f.cu.cuOccupancyMaxActiveClusters = fake_clusters;   /* the counts above are what the load-time query found */
    ck_assert(dsmlpR_mixed_pick(p, &f.rt, g2, 64, &mp) && mp.split == 3 && mp.cluster == 3 && mp.tokens == 64);
    /* Two groups of clusters of 2 where the clusters of 4 do not all fit (4 splits k at least 5/4 as far as 3), with
    ** the split scratch holding the 32 tiles' sums (64 tokens x 128 columns of fp32) and their 32 x 2 flags; one
    ** cluster a tile without it, with one byte or one flag too few, or with mixed_two_groups 0 */
    f.rt.two_groups = 1, f.rt.split_sums = 32 * 64 * 128 * 4, f.rt.split_flags = 32 * 2;
    ck_assert(dsmlpR_mixed_pick(p, &f.rt, g2, 64, &mp) && mp.split == 4 && mp.cluster == 2 && mp.tokens == 64);
    f.rt.split_sums--;
    ck_assert(dsmlpR_mixed_pick(p, &f.rt, g2, 64, &mp) && mp.split == 3 && mp.cluster == 3);
    f.rt.split_sums++, f.rt.split_flags--;
    ck_assert(dsmlpR_mixed_pick(p, &f.rt, g2, 64, &mp) && mp.split == 3 && mp.cluster == 3);
    f.rt.split_flags++, f.rt.two_groups = 0;
    ck_assert(dsmlpR_mixed_pick(p, &f.rt, g2, 64, &mp) && mp.split == 3 && mp.cluster == 3);
    /* a query that says no cluster of 3 or 4 fits (or failed): clusters of 2, or two groups of them */
    for (int v = 0; v < PLAN_MIXED_VARIANTS; v++) f.rt.kern[g2->mixed_kernel[v]].clusters[3] = f.rt.kern[g2->mixed_kernel[v]].clusters[4] = 0;
    ck_assert(dsmlpR_mixed_pick(p, &f.rt, g2, 64, &mp) && mp.split == 2 && mp.cluster == 2);
    f.rt.two_groups = 1;
    ck_assert(dsmlpR_mixed_pick(p, &f.rt, g2, 64, &mp) && mp.split == 4 && mp.cluster == 2);
    f.rt.two_groups = 0;
    /* two blocks per SM (the occupancy query at load): the split counts 2 x 132 block slots; the second GEMM's 32 row
    ** tiles at T = 64 take clusters of 8 where they fit, the first GEMM's 128 at T = 32 clusters of 2 (one per SM: 1) */
    for (int i = 0; i < p->nkernels; i++) {
        f.rt.kern[i].per_sm = 2;
        for (int s = 2; s <= PLAN_MIXED_SPLIT_MAX; s++) f.rt.kern[i].clusters[s] = 264 / s;
    }
    ck_assert(dsmlpR_mixed_pick(p, &f.rt, g2, 64, &mp) && mp.split == 8 && mp.cluster == 8 && mp.tokens == 64);
    /* two groups of 4 only where forced (mixed_two_groups 2, the tests): not 5/4 of 8, nor of 7 where clusters of 8
    ** do not all fit (measured level at T <= 64) */
    f.rt.two_groups = 1, f.rt.split_flags = 32 * 4;
    ck_assert(dsmlpR_mixed_pick(p, &f.rt, g2, 64, &mp) && mp.split == 8 && mp.cluster == 8);
    f.rt.two_groups = 2;
    ck_assert(dsmlpR_mixed_pick(p, &f.rt, g2, 64, &mp) && mp.split == 8 && mp.cluster == 4);
    for (int v = 0; v < PLAN_MIXED_VARIANTS; v++) f.rt.kern[g2->mixed_kernel[v]].clusters[8] = 28;
    f.rt.two_groups = 1;
    ck_assert(dsmlpR_mixed_pick(p, &f.rt, g2, 64, &mp) && mp.split == 7 && mp.cluster == 7);
    f.rt.two_groups = 0, f.rt.split_sums = f.rt.split_flags = 0;
    ck_assert(dsmlpR_mixed_pick(p, &f.rt, g1, 32, &mp) && mp.split == 2 && mp.tokens == 32);
    for (int i = 0; i < p->nkernels; i++) f.rt.kern[i].per_sm = 1;
    ck_assert(dsmlpR_mixed_pick(p, &f.rt, g1, 32, &mp) && mp.split == 1);
    free(f.rt.kern);
    f.rt.kern = NULL;
    f.cu.cuOccupancyMaxActiveClusters = NULL;
    /* without cuLaunchKernelEx no cluster launch: no split */
    f.cu.cuLaunchKernelEx = NULL;
    ck_assert(dsmlpR_mixed_pick(p, &f.rt, g2, 256, &mp) && mp.split == 1);
    f.cu.cuLaunchKernelEx = fake_launch_ex;
    f.cu.cuTensorMapEncodeTiled = NULL;
    ck_assert_int_eq(dsmlpR_mixed_serves(p, &f.rt, g2, 1024), 0);
    f.cu.cuTensorMapEncodeTiled = fake_encode;
    p->mixed_mode = 0;
    ck_assert_int_eq(dsmlpR_mixed_serves(p, &f.rt, g1, 1024), 0);
    /* the dequant step feeding a GEMM is skipped exactly where that GEMM reads the codes: mixed, or its GEMV (T <= 2) */
    p->mixed_mode = 1;
    for (int i = 0; i < p->nsteps; i++) {
        const plan_step *s = &p->steps[i];
        if (s->kind != STEP_KERNEL || s->op.kind != KERN_DEQUANT) continue;
        const plan_gemm *g = s->op.deq.out == g1->w ? g1 : g2;
        for (size_t j = 0; j < sizeof want / sizeof *want; j++)
            ck_assert_int_eq(dsmlpR_mixed_skips_dequant(p, &f.rt, p->steps, p->nsteps, s, want[j].T),
                             want[j].T <= 2 || (g == g1 ? want[j].first : want[j].second));
    }
    dsmlp_plan_free(h);
    dsmlp_ctx_free(ctx);
}
END_TEST

/* A gated block's first GEMM: its mixed-input kernels apply the gating themselves ([up | gate] rows in, the gated
** step's output out, with that step's bias), so the runtime skips the gated step exactly where they run; the gated
** output's workspace lives from that GEMM on (it must not share memory with x, which the GEMM still reads). */
START_TEST(mixed_gated)
{
    dsmlp_ctx *ctx = tu_ctx();
    for (int f = 0; f < 2; f++) {
        dsmlp_mlp_config c;
        family(f ? GATED_GELU_LN : LLAMA, 1, 0, f ? DSMLP_F16 : DSMLP_BF16, &c);
        c.hidden = 1024, c.intermediate = 2816, c.int8_weights = 1, c.int8_groups = 4;
        for (int m = 0; m <= 1; m++) {
            mixed = m;
            dsmlp_plan *h = build_plan(ctx, &c, "sm_90");
            plan *p = h->p;
            plan_gemm *g1 = NULL, *g2 = NULL;
            const plan_step *gs = NULL;
            for (int i = 0; i < p->nsteps; i++) {
                if (p->steps[i].kind == STEP_GEMM) *(p->steps[i].gemm.n == 2 * 2816 ? &g1 : &g2) = &p->steps[i].gemm;
                if (p->steps[i].kind == STEP_KERNEL && p->steps[i].op.kind == KERN_GATED) gs = &p->steps[i];
            }
            ck_assert(g1 && g2 && gs);
            ck_assert_int_eq(g2->mixed_act_out, -1);
            if (m == 0) {
                ck_assert_int_eq(g1->mixed_act_out, -1);
                dsmlp_plan_free(h);
                continue;
            }
            ck_assert_int_eq(gs->op.act.in, g1->d);
            ck_assert_int_eq(g1->mixed_gated, 1);
            ck_assert_int_eq(g1->mixed_act_out, gs->op.act.out);
            ck_assert_int_eq(g1->mixed_act_bias, gs->op.act.bias);
            ck_assert_int_eq(g1->mixed_act_bias >= 0, f);   /* the GELU family has b1 (up and gate halves) */
            for (int v = 0; v < PLAN_MIXED_VARIANTS; v++) {
                const plan_kernel *k = &p->kernels[g1->mixed_kernel[v]];
                ck_assert_int_eq(k->args[0], gs->op.act.out);
                ck_assert_int_eq(k->nargs, 4 + f);
                if (f) ck_assert_int_eq(k->args[4], gs->op.act.bias);
                ck_assert_msg(strstr(k->source, "#define DS_GATED 1") && strstr(k->name, "_gated"), "%s", k->name);
                ck_assert_ptr_nonnull(strstr(k->source, f ? "#define DS_GACT ds_gelu" : "#define DS_GACT ds_silu"));
                ck_assert_int_eq(k->grid_x, 2 * 2816 / 128);
                const plan_kernel *k2 = &p->kernels[g2->mixed_kernel[v]];
                ck_assert_ptr_nonnull(strstr(k2->source, "#define DS_GATED 0"));
                ck_assert_int_eq(k2->mixed_bk, v >= 3 ? 256 : v == 2 ? 128 : 64);   /* 2816 = 11 x 256 */
            }
            const plan_buf *o = &p->bufs[g1->mixed_act_out], *x = &p->bufs[g1->x];
            ck_assert(o->kind == BUF_WORK && x->kind == BUF_WORK);
            ck_assert_msg(o->ws_offset >= x->ws_offset + x->ws_bytes || x->ws_offset >= o->ws_offset + o->ws_bytes,
                          "gated output @%zu (%zu B) overlaps x @%zu (%zu B)", o->ws_offset, o->ws_bytes, x->ws_offset,
                          x->ws_bytes);
            char *text = NULL;
            TU_OK(ctx, dsmlp_plan_explain(h, &text));
            ck_assert_msg(strstr(text, "gated: its kernels also apply the gated step"), "%s", text);
            /* int8 codes with f16 activations multiply in f16 pairs in the decode GEMV; with bf16 ones in fp32 */
            ck_assert_msg((strstr(text, "with the f16 activations in f16 pairs") != NULL) == f, "%s", text);
            free(text);
            static fake_rt f;
            fake_rt_init(&f);
            static const int64_t Ts[] = {1, 2, 16, 64, 129, 1000, 2048, 3072, 3073};
            int ran = 0;
            /* the decode GEMV ([out,in] codes dequantized) applies the gating too, where it runs instead */
            ck_assert_int_eq(g1->decode_act_out, gs->op.act.out);
            ck_assert_int_eq(g1->decode_act_bias, gs->op.act.bias);
            ck_assert_ptr_nonnull(strstr(p->kernels[g1->decode_kernel].source, "#define DS_GATED 1"));
            for (size_t i = 0; i < sizeof Ts / sizeof *Ts; i++) {
                const int serves = dsmlpR_mixed_serves(p, &f.rt, g1, Ts[i]), gemv = !serves && Ts[i] <= g1->decode_max_T;
                ck_assert_int_eq(dsmlpR_gemm_applies_act(p, &f.rt, p->steps, p->nsteps, gs, Ts[i]), serves || gemv);
                ran += serves;
            }
            ck_assert_int_eq(dsmlpR_gemm_applies_act(p, &f.rt, p->steps, p->nsteps, gs, 3073), 0);
            ck_assert_int_ge(ran, 2);   /* hidden 1024 is narrow: the rule takes T = 129 and 1000 */
            p->mixed_mode = 2;          /* every T */
            ck_assert_int_eq(dsmlpR_gemm_applies_act(p, &f.rt, p->steps, p->nsteps, gs, 1), 1);
            ck_assert_int_eq(dsmlpR_gemm_applies_act(p, &f.rt, p->steps, p->nsteps, gs, 2), 1);
            ck_assert_int_eq(dsmlpR_gemm_applies_act(p, &f.rt, p->steps, p->nsteps, gs, 4096), 1);
            p->mixed_mode = 0;
            ck_assert_int_eq(dsmlpR_gemm_applies_act(p, &f.rt, p->steps, p->nsteps, gs, 1000), 0);
            dsmlp_plan_free(h);
        }
    }
    /* I = 2880: the second GEMM's k is a multiple of 64, not of 128: its narrow blocks copy 64 k per stage */
    dsmlp_mlp_config c;
    family(LLAMA, 1, 0, DSMLP_BF16, &c);
    c.hidden = 1024, c.intermediate = 2880, c.int8_weights = 1, c.int8_groups = 4;
    mixed = 1;
    dsmlp_plan *h = build_plan(ctx, &c, "sm_90");
    for (int i = 0; i < h->p->nsteps; i++) {
        const plan_gemm *g = &h->p->steps[i].gemm;
        if (h->p->steps[i].kind != STEP_GEMM) continue;
        ck_assert_int_eq(h->p->kernels[g->mixed_kernel[4]].mixed_bk, g->k % 128 ? 64 : 256);
        ck_assert_int_eq(h->p->kernels[g->mixed_kernel[3]].mixed_bk, g->k % 128 ? 64 : 256);
        ck_assert_int_eq(h->p->kernels[g->mixed_kernel[2]].mixed_bk, g->k % 128 ? 64 : 128);
    }
    dsmlp_plan_free(h);
    mixed = -1;
    dsmlp_ctx_free(ctx);
}
END_TEST

/* f16/bf16 weights [out,in] on sm_90 get the wgmma kernels (templates/mixed.cu on the weight as stored: no scales)
** in the 64- and 128-token widths only, either layout ([in,out]: DS_WMN); sm_80 gets none, and plans that never reach
** T = 33 (mixed_gemm 1) only on a narrow output (the second GEMM, n = 1024: want 2), none at max_tokens 1. */
/* An element-wise activation cuBLASLt has no epilogue for (erf-GELU after GEMM1's bias; SiLU without bias) is applied
** by the mixed-input kernels on int8 codes and the wgmma kernels on f16 weights as stored, where they serve (and by
** the decode GEMV at T = 1): the act step is skipped there, and runs where cuBLASLt serves. */
START_TEST(mixed_act_follower)
{
    dsmlp_ctx *ctx = tu_ctx();
    for (int f = 0; f < 3; f++) {
        dsmlp_mlp_config c;
        family(f == 2 ? BERT : INT8_GPT2, 1, 0, f == 1 ? DSMLP_BF16 : DSMLP_F16, &c);
        /* BERT's float form at H = 4096: k = 1024 would split too little to fill 7/10 of the SMs */
        c.hidden = f == 2 ? 4096 : 1024, c.intermediate = f == 2 ? 8192 : 4096;
        c.activation = f == 1 ? DSMLP_MLP_SILU : DSMLP_MLP_GELU_ERF;
        if (f == 1) c.bias1 = 0;
        mixed = 1, max_tok = f == 2 ? 128 : -1;
        dsmlp_plan *h = build_plan(ctx, &c, "sm_90");
        plan *p = h->p;
        plan_gemm *g1 = NULL, *g2 = NULL;
        const plan_step *as = NULL;
        for (int i = 0; i < p->nsteps; i++) {
            if (p->steps[i].kind == STEP_GEMM) *(p->steps[i].gemm.n == c.intermediate ? &g1 : &g2) = &p->steps[i].gemm;
            if (p->steps[i].kind == STEP_KERNEL && p->steps[i].op.kind == KERN_ACT) as = &p->steps[i];
        }
        ck_assert(g1 && g2 && as);
        ck_assert(PLAN_GEMM_HAS_MIXED(g1));
        ck_assert_int_eq(as->op.act.in, g1->d);
        ck_assert_int_eq(g1->mixed_act_out, as->op.act.out);
        ck_assert_int_eq(g1->mixed_act_bias, as->op.act.bias);
        ck_assert_int_eq(g1->mixed_act_bias >= 0, f != 1);
        ck_assert_int_eq(g1->mixed_gated, 0);
        ck_assert_int_eq(g2->mixed_act_out, -1);
        int kernels = 0;
        for (int v = 0; v < PLAN_MIXED_VARIANTS; v++) {
            if (g1->mixed_kernel[v] < 0) continue;
            const plan_kernel *k = &p->kernels[g1->mixed_kernel[v]];
            ck_assert_int_eq(k->args[0], as->op.act.out);
            ck_assert_msg(strstr(k->source, f == 1 ? "#define DS_ACT 4 " : "#define DS_ACT 3 ") &&
                          strstr(k->source, "#define DS_GATED 0") &&
                          strstr(k->name, f == 1 ? "_silu_" : "_gelu_erf_bias_"), "%s", k->name);
            kernels++;
        }
        ck_assert_int_eq(kernels, f == 2 ? 2 : PLAN_MIXED_VARIANTS);   /* float weights: 64- and 128-token widths */
        /* the kernels write the act step's output while they read x: the two must not share workspace */
        const plan_buf *o = &p->bufs[as->op.act.out], *x = &p->bufs[g1->x];
        if (o->kind == BUF_WORK && x->kind == BUF_WORK)
            ck_assert_msg(o->ws_offset >= x->ws_offset + x->ws_bytes || x->ws_offset >= o->ws_offset + o->ws_bytes,
                          "act output @%zu (%zu B) overlaps x @%zu (%zu B)", o->ws_offset, o->ws_bytes, x->ws_offset,
                          x->ws_bytes);
        ck_assert_int_eq(o->kind, BUF_WORK);
        char *text = NULL;
        TU_OK(ctx, dsmlp_plan_explain(h, &text));
        ck_assert_msg(strstr(text, "act: its kernels also apply step"), "%s", text);
        free(text);
        static fake_rt fr;
        fake_rt_init(&fr);
        static const int64_t Ts[] = {1, 2, 16, 64, 100, 128, 129, 1000, 2048, 3000};
        int ran = 0, skipped = 0;
        for (size_t i = 0; i < sizeof Ts / sizeof *Ts; i++) {
            if (Ts[i] > p->max_tokens) continue;
            const int serves = dsmlpR_mixed_serves(p, &fr.rt, g1, Ts[i]), gemv = !serves && Ts[i] <= g1->decode_max_T;
            const int applies = dsmlpR_gemm_applies_act(p, &fr.rt, p->steps, p->nsteps, as, Ts[i]);
            ck_assert_int_eq(applies, serves || (gemv && g1->decode_act_out == as->op.act.out));
            ran += serves, skipped += applies;
        }
        ck_assert_msg(ran >= 1, "form %d: the mixed kernels serve no T", f);
        ck_assert_int_lt(skipped, f == 2 ? 6 : 10);   /* somewhere cuBLASLt serves and the act step runs */
        p->mixed_mode = 0;   /* no mixed kernels: the act step runs wherever the GEMV does not */
        ck_assert_int_eq(dsmlpR_gemm_applies_act(p, &fr.rt, p->steps, p->nsteps, as, 64), 0);
        dsmlp_plan_free(h);
    }
    mixed = -1, max_tok = -1;
    dsmlp_ctx_free(ctx);
}
END_TEST

START_TEST(wgmma_float_variant)
{
    dsmlp_ctx *ctx = tu_ctx();
    static const struct { dsmlp_layout lay; const char *arch; int max_t, want; } cases[] = {
        {DSMLP_LAYOUT_OUT_IN, "sm_90", 256, 1}, {DSMLP_LAYOUT_IN_OUT, "sm_90", 256, 1},
        /* max_tokens 32: only the narrow second GEMM's (5632 rows are under PLAN_FLOAT_PAIR_MIN_ROWS: no pair) */
        {DSMLP_LAYOUT_OUT_IN, "sm_80", 256, 0}, {DSMLP_LAYOUT_OUT_IN, "sm_90", 32, 2},
        {DSMLP_LAYOUT_OUT_IN, "sm_90", 2, 2}, {DSMLP_LAYOUT_IN_OUT, "sm_90", 32, 2}, {DSMLP_LAYOUT_IN_OUT, "sm_90", 2, 2},
        {DSMLP_LAYOUT_OUT_IN, "sm_90", 1, 0}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        dsmlp_mlp_config c;
        family(GATED_GELU_LN, 1, 0, DSMLP_BF16, &c);
        c.hidden = 1024, c.intermediate = 2816, c.layout = cases[i].lay;
        max_tok = cases[i].max_t;
        dsmlp_plan *h = build_plan(ctx, &c, cases[i].arch);
        const plan *p = h->p;
        int gemms = 0;
        for (int s = 0; s < p->nsteps; s++) {
            const plan_gemm *m = &p->steps[s].gemm;
            if (p->steps[s].kind != STEP_GEMM) continue;
            gemms++;
            const int want = cases[i].want == 1 || (cases[i].want == 2 && m->n == 1024);
            ck_assert_msg(PLAN_GEMM_HAS_MIXED(m) == want, "case %zu, n = %lld", i, (long long)m->n);
            if (!want) continue;
            ck_assert_int_eq(m->mixed_q, m->w);
            ck_assert_int_eq(m->mixed_scales, -1);
            ck_assert_int_eq(m->mixed_act_out >= 0, m->n == 2 * 2816);   /* the first GEMM applies the gating */
            for (int v = 0; v < PLAN_MIXED_VARIANTS; v++) {
                ck_assert_int_eq(m->mixed_kernel[v] >= 0, v == 1 || v == 2);
                if (m->mixed_kernel[v] < 0) continue;
                const plan_kernel *k = &p->kernels[m->mixed_kernel[v]];
                ck_assert_int_eq(k->rows_per_block, v == 1 ? 128 : 64);
                ck_assert_ptr_nonnull(strstr(k->source, "#define DS_QUANT 0"));
                ck_assert_ptr_nonnull(strstr(k->source, cases[i].lay == DSMLP_LAYOUT_IN_OUT ? "#define DS_WMN 1" : "#define DS_WMN 0"));
                ck_assert_int_eq(k->nargs, 3 + (m->n == 2 * 2816 ? 1 : 1 + (m->c >= 0)));   /* d, w, x; bias (, C) */
                ck_assert_msg(!strncmp(k->name, "dsmlp_wgmma", 11), "%s", k->name);
                /* 128-token blocks: 6 stages of 32 KiB (200 KiB, as the code kernels' 8 of 24) */
                if (v == 1) ck_assert_msg(strstr(k->source, "#define DS_STAGES 6\n") != NULL, "float 128 tokens: stages");
            }
        }
        ck_assert_int_eq(gemms, 2);
        char *t;
        TU_OK(ctx, dsmlp_plan_explain(h, &t));
        ck_assert_msg((strstr(t, "wgmma variant (reads w1 as stored") != NULL) == (cases[i].want == 1), "case %zu: %s", i, t);
        ck_assert_msg((strstr(t, "wgmma variant (reads w2 as stored") != NULL) == (cases[i].want != 0), "case %zu: %s", i, t);
        ck_assert_msg((strstr(t, "at T = 2..32 (a narrow output, n <= 1024") != NULL) == (cases[i].want != 0), "case %zu: %s", i, t);
        dsmlp_free(t);
        dsmlp_plan_free(h);
    }
    max_tok = -1;
    dsmlp_ctx_free(ctx);
}
END_TEST

/* The rule for float wgmma kernels on a narrow output (plan.h PLAN_FLOAT_NARROW): BERT-base f16 on 132 SMs. The second
** GEMM (n 768) takes them at T = 2..32 (past the decode GEMV) in one 64-token block, whatever its grid fills, and
** not at 33..128 (6 tiles, a grid under 7/10 of the SMs); the first (n 3072) keeps cuBLASLt below T = 33. */
START_TEST(float_narrow_rule)
{
    dsmlp_ctx *ctx = tu_ctx();
    static fake_rt f;
    fake_rt_init(&f);
    for (int lay = 0; lay < 2; lay++) {
        dsmlp_mlp_config c;
        family(BERT, 1, 0, DSMLP_F16, &c);
        c.hidden = 768, c.intermediate = 3072, c.layout = lay ? DSMLP_LAYOUT_IN_OUT : DSMLP_LAYOUT_OUT_IN;
        dsmlp_plan *h = build_plan(ctx, &c, "sm_90");
        const plan *p = h->p;
        const plan_gemm *g1 = NULL, *g2 = NULL;
        for (int i = 0; i < p->nsteps; i++)
            if (p->steps[i].kind == STEP_GEMM) *(p->steps[i].gemm.n == 3072 ? &g1 : &g2) = &p->steps[i].gemm;
        ck_assert(g1 && g2 && PLAN_GEMM_HAS_MIXED(g1) && PLAN_GEMM_HAS_MIXED(g2) && g2->n == 768);
        const int64_t gemv = g2->decode_kernel >= 0 ? g2->decode_max_T : 0;   /* [out,in]: 2, [in,out]: 1 (auto) */
        ck_assert_int_eq(gemv, lay ? 1 : 2);
        static const int64_t Ts[] = {1, 2, 3, 8, 16, 32, 33, 64, 65, 128};
        for (size_t i = 0; i < sizeof Ts / sizeof *Ts; i++) {
            const int64_t T = Ts[i];
            mixed_pick mp = {-1, 0, 0, 0, 0};
            const int want2 = T > gemv && T <= PLAN_FLOAT_NARROW_MAX_T;
            ck_assert_msg(dsmlpR_mixed_pick(p, &f.rt, g2, T, &mp) == want2, "layout %d, second GEMM at T = %lld", lay, (long long)T);
            if (want2) ck_assert_msg(mp.tokens == 64 && mp.kernel == g2->mixed_kernel[2], "T = %lld: %d tokens", (long long)T, mp.tokens);
            if (T <= PLAN_FLOAT_NARROW_MAX_T)
                ck_assert_msg(!dsmlpR_mixed_serves(p, &f.rt, g1, T), "layout %d, first GEMM at T = %lld", lay, (long long)T);
        }
        dsmlp_plan_free(h);
    }
    dsmlp_ctx_free(ctx);
}
END_TEST

/* The rule for float wgmma kernels on a block's pair of GEMMs (plan.h PLAN_FLOAT_PAIR), on 132 SMs: both GEMMs of
** SwiGLU-4096 bf16 `[out,in]` (gated) and of GELU-4096 f16 either layout (ungated) take them at T = 3..64 past the decode
** GEMV on a card with an H100's DRAM rate, not an H200's, built wherever max_tokens reaches 3, and as before past 64
** (erf-GELU too, its activation step taken on by the first GEMM's kernels)
** (`[out,in]` from 33, `[in,out]` from 65); not SwiGLU `[in,out]`, not SwiGLU with up and gate apart (split_w1), not
** BERT-base (3072 rows: 24 tiles, under PLAN_FLOAT_PAIR_MIN_ROWS), whose narrow second GEMM keeps T = 2..32. */
START_TEST(float_pair_rule)
{
    dsmlp_ctx *ctx = tu_ctx();
    static fake_rt f;
    fake_rt_init(&f);
    static const int64_t Ts[] = {1, 2, 3, 4, 8, 16, 17, 32, 33, 64, 65, 128};
    /* SwiGLU [out,in], SwiGLU [in,out], GELU [out,in], SwiGLU [out,in] split_w1, GELU [in,out], BERT-base [out,in],
    ** erf-GELU [out,in] (its activation a step the first GEMM's kernels take on) */
    for (int v = 0; v < 7; v++) {
        const int gelu = v == 2 || v >= 4, pair = v == 0 || v == 2 || v == 4 || v == 6;
        dsmlp_mlp_config c;
        family(v == 5 ? BERT : gelu ? GPT2 : LLAMA, 1, 0, gelu ? DSMLP_F16 : DSMLP_BF16, &c);
        if (v == 6) c.activation = DSMLP_MLP_GELU_ERF;
        c.hidden = v == 5 ? 768 : 4096, c.intermediate = v == 5 ? 3072 : gelu ? 16384 : 14336;
        c.layout = v == 1 || v == 4 ? DSMLP_LAYOUT_IN_OUT : DSMLP_LAYOUT_OUT_IN;
        c.split_w1 = v == 3;
        for (int mt = 16; mt <= 128; mt *= 8) {   /* below the 33..128 range, and in it */
            max_tok = mt;
            dsmlp_plan *h = build_plan(ctx, &c, "sm_90");
            const plan *p = h->p;
            const plan_gemm *g1 = NULL, *g2 = NULL;
            for (int i = 0; i < p->nsteps; i++)   /* split_w1: up, gate, down; g1 = up */
                if (p->steps[i].kind == STEP_GEMM && (!g1 || p->steps[i].gemm.n == c.hidden)) *(g1 ? &g2 : &g1) = &p->steps[i].gemm;
            ck_assert(g1 && g2 && g2->n == c.hidden);
            const int narrow2 = v == 5;   /* BERT's second GEMM (768 rows): T = 2..32 on any card */
            const int from1 = pair ? PLAN_FLOAT_PAIR_MIN_T : PLAN_FLOAT_MIXED_MIN_T(c.layout), from2 = narrow2 ? 2 : from1;
            ck_assert_msg(PLAN_GEMM_HAS_MIXED(g1) == (mt >= from1), "block %d, max_tokens %d: first GEMM's kernels", v, mt);
            ck_assert_msg(PLAN_GEMM_HAS_MIXED(g2) == (mt >= from2), "block %d, max_tokens %d: second GEMM's kernels", v, mt);
            ck_assert_msg(PLAN_FLOAT_PAIR(g1) == pair && PLAN_FLOAT_PAIR(g2) == pair, "block %d: pair %lld / %lld", v,
                          (long long)g1->pair_rows, (long long)g2->pair_rows);
            if (pair) ck_assert(g1->pair_rows == g1->n && g2->pair_rows == g1->n);
            /* auto: T <= 2 but [in,out] weights under 32 MiB (BERT's): T = 1 (lower.c) */
            ck_assert_int_eq(g1->decode_max_T, c.layout == DSMLP_LAYOUT_IN_OUT && v == 5 ? 1 : 2);
            /* and a second GEMV for T = 3..4 on the 4096-wide blocks' weights (at least 32 MiB), not BERT's */
            for (const plan_gemm *g = g1; g; g = g == g1 ? g2 : NULL) {
                ck_assert_msg((g->decode_wide_kernel >= 0) == (v != 5), "block %d: wide GEMV %d", v, g->decode_wide_kernel);
                ck_assert_int_eq(plan_gemm_decode_top(g), v == 5 ? g->decode_max_T : PLAN_DECODE_WIDE_MAX_T);
                f.dev.dram_gbs = 4915;   /* an H200's: not measured there, the wide GEMV stays off */
                ck_assert_int_eq(dsmlpR_decode_top(&f.rt, g), g->decode_max_T);
                ck_assert_int_eq(dsmlpR_decode_at(&f.rt, g, 3), -1);
                f.dev.dram_gbs = 3352;
                ck_assert_int_eq(dsmlpR_decode_at(&f.rt, g, 3), v == 5 ? -1 : g->decode_wide_kernel);
                char tw[16];
                snprintf(tw, sizeof tw, "_t%d", PLAN_DECODE_WIDE_BUILD_T);
                if (v != 5) ck_assert_ptr_nonnull(strstr(p->kernels[g->decode_wide_kernel].name, tw));
            }
            for (int card = 0; card < 2; card++) {   /* an H100 SXM's peak DRAM rate, then an H200's: not there */
                f.dev.dram_gbs = card ? 4915 : 3352;
                for (size_t i = 0; i < sizeof Ts / sizeof *Ts && Ts[i] <= mt; i++) {
                    const int64_t T = Ts[i];
                    const int paired = pair && !card && T >= PLAN_FLOAT_PAIR_MIN_T && T <= PLAN_FLOAT_PAIR_MAX_T;
                    const int std = v != 5 && T >= PLAN_FLOAT_MIXED_MIN_T(c.layout);   /* BERT's grids fill no 7/10 */
                    const int want1 = (paired || std) && T > dsmlpR_decode_top(&f.rt, g1) && PLAN_GEMM_HAS_MIXED(g1);
                    const int want2 = (paired || std || (narrow2 && T >= 2 && T <= PLAN_FLOAT_NARROW_MAX_T)) && T > dsmlpR_decode_top(&f.rt, g2) &&
                                      PLAN_GEMM_HAS_MIXED(g2);
                    mixed_pick mp = {-1, 0, 0, 0, 0};
                    ck_assert_msg(dsmlpR_mixed_pick(p, &f.rt, g1, T, &mp) == want1, "block %d, card %d, max_tokens %d: first GEMM "
                                  "at T = %lld", v, card, mt, (long long)T);
                    if (want1 && T <= 64) ck_assert_msg(mp.tokens == 64 && mp.kernel == g1->mixed_kernel[2], "T = %lld: %d tokens",
                                                        (long long)T, mp.tokens);
                    ck_assert_msg(dsmlpR_mixed_serves(p, &f.rt, g2, T) == want2, "block %d, card %d, max_tokens %d: second GEMM "
                                  "at T = %lld", v, card, mt, (long long)T);
                }
            }
            f.dev.sm_count = 171;   /* a card with more SMs than GELU-4096's 128 tiles fill 3/4 of: not there */
            f.dev.dram_gbs = 3352;
            if (v == 2) ck_assert(!dsmlpR_mixed_pick(p, &f.rt, g1, 8, NULL) && !dsmlpR_mixed_serves(p, &f.rt, g2, 8));
            f.dev.sm_count = 132;
            char *t;
            TU_OK(ctx, dsmlp_plan_explain(h, &t));
            const char *range = strstr(t, "at T = 3..64 (one of a block's pair of GEMMs, on cards with a peak DRAM rate under 4000 GB/s");
            ck_assert_msg((range != NULL) == pair, "block %d: explain %s the pair's range", v, pair ? "lacks" : "has");
            dsmlp_free(t);
            dsmlp_plan_free(h);
        }
    }
    max_tok = -1;
    dsmlp_ctx_free(ctx);
}
END_TEST

/* A tuning record's per-bucket GEMM choice (exec_pick.gemm) over the rule in dsmlpR_mixed_pick, and the record's
** "mixed" lines: what fits the plan is taken, anything else refused. */
START_TEST(tuned_gemm_choice)
{
    dsmlp_ctx *ctx = tu_ctx();
    static fake_rt f;
    fake_rt_init(&f);
    f.dev.dram_gbs = 4915;   /* an H200's: the rule leaves GELU-4096's pair to cuBLASLt at T <= 32 */
    static exec_gemm_pick picks[PLAN_BUCKETS][16];
    for (int b = 0; b < PLAN_BUCKETS; b++) {
        f.rt.pick[b].gemm = picks[b];
        for (int i = 0; i < 16; i++) picks[b][i] = EXEC_GEMM_PICK_RULE;
    }
    dsmlp_mlp_config c;
    family(GPT2, 1, 0, DSMLP_F16, &c);
    c.hidden = 4096, c.intermediate = 16384, c.layout = DSMLP_LAYOUT_OUT_IN;
    max_tok = 256;
    dsmlp_plan *h = build_plan(ctx, &c, "sm_90");
    const plan *p = h->p;
    ck_assert_int_le(p->nsteps, 16);
    int g1 = -1, g2 = -1;
    for (int i = 0; i < p->nsteps; i++)
        if (p->steps[i].kind == STEP_GEMM) *(g1 < 0 ? &g1 : &g2) = i;
    const plan_gemm *m1 = &p->steps[g1].gemm, *m2 = &p->steps[g2].gemm;
    ck_assert(PLAN_GEMM_HAS_MIXED(m1) && PLAN_GEMM_HAS_MIXED(m2) && m1->decode_max_T == 2);
    /* the rule: cuBLASLt at T = 8, the wgmma kernels at T = 64, not past 128 */
    ck_assert(!dsmlpR_mixed_serves(p, &f.rt, m1, 8) && dsmlpR_mixed_serves(p, &f.rt, m1, 64) && !dsmlpR_mixed_serves(p, &f.rt, m1, 200));
    picks[0][g1].use = 1, picks[3][g2].use = 0;   /* T <= 8: the first GEMM's kernel; T = 33..64: not the second's */
    mixed_pick mp = {-1, 0, 0, 0, 0};
    ck_assert(dsmlpR_mixed_pick(p, &f.rt, m1, 8, &mp) && mp.tokens == 64 && mp.kernel == m1->mixed_kernel[2]);
    ck_assert(dsmlpR_mixed_serves(p, &f.rt, m1, 3));   /* the wide decode GEMV (T = 3..4) is off on an H200 */
    ck_assert(!dsmlpR_mixed_serves(p, &f.rt, m1, 2));   /* the decode GEMV still comes first */
    f.dev.dram_gbs = 3352;   /* an H100's: the wide GEMV serves T = 3..4 before the tuned choice */
    ck_assert(!dsmlpR_mixed_serves(p, &f.rt, m1, 4) && dsmlpR_mixed_serves(p, &f.rt, m1, 5));
    ck_assert(plan_gemm_decode_at(m1, 4) == m1->decode_wide_kernel && plan_gemm_decode_at(m1, 2) == m1->decode_kernel);
    f.dev.dram_gbs = 4915;
    ck_assert(!dsmlpR_mixed_serves(p, &f.rt, m2, 8));   /* the rule where nothing was measured */
    ck_assert(!dsmlpR_mixed_serves(p, &f.rt, m2, 64) && dsmlpR_mixed_serves(p, &f.rt, m1, 64));
    ck_assert(dsmlpR_mixed_serves(p, &f.rt, m2, 65));   /* the next bucket: the rule */
    picks[0][g1].use = picks[3][g2].use = -1;
    /* record lines: a good one, then each kind of misfit */
    exec_pick *out = f.rt.pick;
    char line[256];
    int n = snprintf(line, sizeof line, "mixed 3 steps %d", p->nsteps);
    for (int i = 0; i < p->nsteps; i++)
        n += snprintf(line + n, sizeof line - (size_t)n, i == g1 ? " 1 160.50 171.25" : i == g2 ? " 0 158.00 157.75" : " -1 0 0");
    ck_assert_int_eq(dsmlpR_exec_tune_parse_mixed(p, line, out), 0);
    ck_assert(picks[3][g1].use == 1 && picks[3][g1].us_on == 160.5f && picks[3][g1].us_off == 171.25f);
    ck_assert(picks[3][g2].use == 0 && picks[3][g2].us_off == 157.75f && picks[3][0].use == -1);
    ck_assert(dsmlpR_mixed_serves(p, &f.rt, m1, 40) && !dsmlpR_mixed_serves(p, &f.rt, m2, 40));
    char bad[256];
    snprintf(bad, sizeof bad, "mixed 5 steps %d", p->nsteps);   /* bucket out of range */
    ck_assert_int_eq(dsmlpR_exec_tune_parse_mixed(p, bad, out), -1);
    snprintf(bad, sizeof bad, "mixed 1 steps %d 1 1 1", p->nsteps + 1);   /* another plan's step count */
    ck_assert_int_eq(dsmlpR_exec_tune_parse_mixed(p, bad, out), -1);
    ck_assert_int_eq(dsmlpR_exec_tune_parse_mixed(p, "mixed 1 steps 3 -1 0 0 1 1 1", out), -1);   /* short */
    n = snprintf(bad, sizeof bad, "mixed 1 steps %d", p->nsteps);
    for (int i = 0; i < p->nsteps; i++) n += snprintf(bad + n, sizeof bad - (size_t)n, " 1 1 1");   /* 1 on the norm step */
    ck_assert_int_eq(dsmlpR_exec_tune_parse_mixed(p, bad, out), -1);
    n = snprintf(bad, sizeof bad, "mixed 1 steps %d", p->nsteps);
    for (int i = 0; i < p->nsteps; i++) n += snprintf(bad + n, sizeof bad - (size_t)n, i == g1 ? " 2 1 1" : " -1 0 0");
    ck_assert_int_eq(dsmlpR_exec_tune_parse_mixed(p, bad, out), -1);   /* a choice outside -1..1 */
    n = snprintf(bad, sizeof bad, "mixed 1 steps %d", p->nsteps);
    for (int i = 0; i < p->nsteps; i++) n += snprintf(bad + n, sizeof bad - (size_t)n, i == g1 ? " 1 -5 1" : " -1 0 0");
    ck_assert_int_eq(dsmlpR_exec_tune_parse_mixed(p, bad, out), -1);   /* a negative time */

    /* "lt" lines: cuBLASLt's candidate per GEMM step and bucket; they leave the kernel choice alone */
    n = snprintf(line, sizeof line, "lt 2 steps %d", p->nsteps);
    for (int i = 0; i < p->nsteps; i++)
        n += snprintf(line + n, sizeof line - (size_t)n, i == g1 ? " 3 150.25 155.50" : i == g2 ? " 1 150.25 150.25" : " 0 0 0");
    ck_assert_int_eq(dsmlpR_exec_tune_parse_lt(p, line, out), 0);
    ck_assert(picks[2][g1].lt == 3 && picks[2][g1].us_lt == 150.25f && picks[2][g1].us_lt_load == 155.5f);
    ck_assert(picks[2][g2].lt == 1 && picks[2][0].lt == 0 && picks[3][g1].lt == 0 && picks[3][g1].use == 1);
    const char *lt_bad[] = {" 9 1 1", " 1 -1 1", " -1 0 0"};   /* past GEMM_CANDS, a negative time, below 0 */
    for (size_t j = 0; j < sizeof lt_bad / sizeof *lt_bad; j++) {
        n = snprintf(bad, sizeof bad, "lt 1 steps %d", p->nsteps);
        for (int i = 0; i < p->nsteps; i++) n += snprintf(bad + n, sizeof bad - (size_t)n, i == g1 ? lt_bad[j] : " 0 0 0");
        ck_assert_msg(dsmlpR_exec_tune_parse_lt(p, bad, out) == -1, "%s", bad);
    }
    n = snprintf(bad, sizeof bad, "lt 1 steps %d", p->nsteps);
    for (int i = 0; i < p->nsteps; i++) n += snprintf(bad + n, sizeof bad - (size_t)n, " 2 1 1");   /* 2 on the norm step */
    ck_assert_int_eq(dsmlpR_exec_tune_parse_lt(p, bad, out), -1);
    snprintf(bad, sizeof bad, "lt 1 steps %d 0 0 0", p->nsteps + 1);
    ck_assert_int_eq(dsmlpR_exec_tune_parse_lt(p, bad, out), -1);

    /* ... and set the algorithm of the GEMM bucket holding each bucket's largest T (candidates told apart by a byte) */
    static gemm_op ops[16];
    memset(ops, 0, sizeof ops);
    for (int i = 0; i < p->nsteps; i++) {
        static const int64_t edges[][2] = {{1, 1}, {2, 8}, {9, 16}, {17, 32}, {33, 64}, {65, 128}, {129, 256}};
        ops[i].nbucket = 7;
        for (int j = 0; j < 7; j++) {
            gemm_bucket *bk = &ops[i].bucket[j];
            bk->tmin = edges[j][0], bk->tmax = edges[j][1], bk->valid = 1, bk->ncand = 4, bk->loaded = 1;
            for (int c = 0; c < 4; c++) memset(&bk->cand[c], 10 * j + c, sizeof bk->cand[c]);
            bk->algo = bk->cand[1];
        }
    }
    f.rt.gemm = ops;
    const char *why = NULL;
    ck_assert_int_eq(dsmlpR_exec_apply_lt(p, &f.rt, &why), 0);
    ck_assert_int_eq(((unsigned char *)&ops[g1].bucket[3].algo)[0], 32);   /* bucket 2 (T <= 32): candidate 2 */
    ck_assert_int_eq(((unsigned char *)&ops[g2].bucket[3].algo)[0], 30);   /* candidate 0 */
    ck_assert_int_eq(((unsigned char *)&ops[g1].bucket[4].algo)[0], 41);   /* T <= 64: the load's choice */
    picks[2][g1].lt = 5;   /* a candidate this load does not have: refused, the load's choice serves */
    ck_assert_int_eq(dsmlpR_exec_apply_lt(p, &f.rt, &why), -1);
    ck_assert_ptr_nonnull(why);
    ck_assert_int_eq(((unsigned char *)&ops[g1].bucket[3].algo)[0], 31);
    f.rt.gemm = NULL;
    max_tok = -1;
    dsmlp_plan_free(h);
    dsmlp_ctx_free(ctx);
}
END_TEST

/* The decode GEMV on [out,in] codes multiplies them with f16 activations in f16 pairs: int8 anywhere, fp8 from
** sm_89 (its pair conversion; before it fp32, and the template refuses the pairs); bf16 activations in fp32. */
START_TEST(decode_half_pairs)
{
    dsmlp_ctx *ctx = tu_ctx();
    static const struct { dsmlp_dtype q, x; const char *arch; int pairs; } cases[] = {
        {DSMLP_FP8_E4M3, DSMLP_F16, "sm_90", 1}, {DSMLP_FP8_E4M3, DSMLP_F16, "sm_80", 0},
        {DSMLP_I8, DSMLP_F16, "sm_80", 1},       {DSMLP_FP8_E4M3, DSMLP_BF16, "sm_90", 0}};
    decode_max = 1, mixed = 0;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        dsmlp_mlp_config c;
        family(GPT2, 1, 0, cases[i].x, &c);
        c.hidden = 1024, c.intermediate = 4096, c.layout = DSMLP_LAYOUT_OUT_IN;
        c.int8_weights = 1, c.quant_dtype = cases[i].q, c.int8_groups = 4;
        dsmlp_plan *h = build_plan(ctx, &c, cases[i].arch);
        int gemvs = 0;
        for (int s = 0; s < h->p->nsteps; s++) {
            const plan_gemm *m = &h->p->steps[s].gemm;
            if (h->p->steps[s].kind != STEP_GEMM || m->decode_kernel < 0) continue;
            const plan_kernel *k = &h->p->kernels[m->decode_kernel];
            gemvs++;
            ck_assert_msg(k->gemv_half_mac == cases[i].pairs, "case %zu: %s", i, k->name);
            ck_assert_ptr_nonnull(strstr(k->source, cases[i].pairs ? "#define DS_HALF_MAC 1" : "#define DS_HALF_MAC 0"));
        }
        ck_assert_int_eq(gemvs, 2);
        char *t;
        TU_OK(ctx, dsmlp_plan_explain(h, &t));
        ck_assert_msg((strstr(t, "with the f16 activations in f16 pairs") != NULL) == cases[i].pairs, "case %zu: %s", i, t);
        dsmlp_free(t);
        dsmlp_plan_free(h);
    }
    decode_max = -1, mixed = -1;
    dsmlp_ctx_free(ctx);
}
END_TEST

START_TEST(decode_variant)
{
    dsmlp_ctx *ctx = tu_ctx();
    decode_max = 8;
    expect_steps(ctx, GPT2, 1, 0, "norm,gemm+bias_gelu,gemm+bias_residual");
    expect_steps(ctx, LLAMA, 2, 1, "norm,gemm,gated,gemm,all_reduce");
    expect_steps(ctx, INT8_GPT2, 1, 0, "norm,dequant,gemm+bias_gelu,dequant,gemm+bias_residual");
    dsmlp_mlp_config c;
    family(GPT2, 1, 0, DSMLP_F16, &c);
    dsmlp_plan *h = build_plan(ctx, &c, "sm_90");
    const plan *p = h->p;
    ck_assert_int_eq(p->nkernels, 3);   /* norm + two GEMVs */
    /* the first GEMV computes the norm (3 addends, the sum output): its arguments follow the GEMV's own */
    const char *want[] = {"dsmlp_gemv_io_f16_n4928_k1232_bias_gelu_ln3s_t8_v8", "dsmlp_gemv_io_f16_n1232_k4928_bias_c_t8_v8"};
    int g = 0;
    for (int i = 0; i < p->nsteps; i++) {
        const plan_gemm *m = &p->steps[i].gemm;
        if (p->steps[i].kind != STEP_GEMM) continue;
        ck_assert_int_ge(m->decode_kernel, 0);
        ck_assert_int_eq(m->decode_max_T, 8);
        const plan_kernel *k = &p->kernels[m->decode_kernel];
        ck_assert_int_eq(k->kind, KERN_GEMV);
        ck_assert_msg(!strcmp(k->name, want[g]), "GEMV %d named %s, wanted %s", g, k->name, want[g]);
        ck_assert_int_eq(k->args[0], m->d);
        ck_assert_int_eq(k->args[1], m->x);
        ck_assert_int_eq(k->args[2], m->w);
        ck_assert_int_eq(k->args[3], m->bias);
        const plan_norm_op *no = m->decode_norm >= 0 ? &p->steps[m->decode_norm].op.norm : NULL;
        ck_assert_int_eq(m->decode_norm >= 0, g == 0);
        ck_assert_int_eq(k->nargs, (m->c >= 0 ? 5 : 4) + (no ? (no->side >= 0) + 1 + (no->beta >= 0) + no->nterms : 0));
        if (no) ck_assert_int_eq(no->out, m->x);
        if (m->c >= 0) ck_assert_int_eq(k->args[4], m->c);
        ck_assert_int_eq(k->rows_per_block, 8);   /* one block row for any T <= 8 */
        ck_assert_ptr_nonnull(strstr(k->source, "#define DS_IO 1"));
        ck_assert_ptr_nonnull(strstr(k->source, "if (T <= 4) { ds_body<4>"));
        g++;
    }
    ck_assert_int_eq(g, 2);
    char *t;
    TU_OK(ctx, dsmlp_plan_explain(h, &t));
    ck_assert_msg(strstr(t, "variants: T <= 8: decode GEMV kernel dsmlp_gemv_io_f16_n4928_k1232_bias_gelu_ln3s_t8_v8"), "%s", t);
    ck_assert_msg(strstr(t, "norm: the decode GEMV also computes step 0's norm"), "%s", t);
    ck_assert_msg(strstr(t, "T > 8: cuBLASLt"), "%s", t);
    ck_assert_ptr_null(strstr(t, "(not compiled)"));
    dsmlp_free(t);
    dsmlp_plan_free(h);
    /* [out,in] weights: a warp per output column; max_tokens below the bound caps it */
    family(OPT, 1, 0, DSMLP_BF16, &c);
    c.layout = DSMLP_LAYOUT_OUT_IN;
    dsmlp_graph *gr;
    TU_OK(ctx, dsmlp_graph_create(ctx, "mlp", &gr));
    TU_OK(ctx, dsmlp_mlp_build(gr, &c));
    dsmlp_compile_options o;
    dsmlp_compile_options_default(&o);
    o.arch = "sm_80", o.defer_compile = 1, o.decode_max_tokens = 8, o.max_tokens = 4;
    TU_OK(ctx, dsmlp_plan_build(ctx, gr, &o, &h));
    p = h->p;
    ck_assert_int_eq(p->steps[1].gemm.decode_max_T, 4);
    ck_assert_str_eq(p->kernels[p->steps[1].gemm.decode_kernel].name, "dsmlp_gemv_oi_bf16_n4928_k1232_bias_relu_ln3s_t4_v8");
    ck_assert_ptr_nonnull(strstr(p->kernels[p->steps[1].gemm.decode_kernel].source, "#define DS_IO 0"));
    /* 4928 columns one per warp: 616 blocks of one round; launched in 3 rounds of 206 blocks where 264 fit at once
    ** (4 columns per warp would fill 154), 4 rounds of 154 where 200 do, 1 round where all fit */
    const plan_kernel *gk = &p->kernels[p->steps[1].gemm.decode_kernel];
    ck_assert_int_eq(gk->grid_x, 616);
    ck_assert_int_eq(gk->gemv_rounds, 1);
    ck_assert_ptr_nonnull(strstr(gk->source, "#define DS_CW 1 "));
    ck_assert_int_eq(dsmlpC_gemv_grid(gk, 264), 206);
    ck_assert_int_eq(dsmlpC_gemv_grid(gk, 200), 154);
    ck_assert_int_eq(dsmlpC_gemv_grid(gk, 616), 616);
    ck_assert_int_eq(dsmlpC_gemv_grid(gk, 0), 616);   /* no occupancy known: the one-round grid */
    dsmlp_plan_free(h);
    /* 0 disables; out of range is an error naming the option */
    o.max_tokens = 0, o.decode_max_tokens = 0;
    TU_OK(ctx, dsmlp_plan_build(ctx, gr, &o, &h));
    ck_assert_int_eq(h->p->steps[1].gemm.decode_kernel, -1);
    TU_OK(ctx, dsmlp_plan_explain(h, &t));
    ck_assert_msg(strstr(t, "variants: cuBLASLt for every T"), "%s", t);
    dsmlp_free(t);
    dsmlp_plan_free(h);
    o.decode_max_tokens = 9;
    TU_CHECK(ctx, dsmlp_plan_build(ctx, gr, &o, &h), DSMLP_ERR_INVALID_ARG);
    ck_assert_msg(strstr(dsmlp_last_error(ctx), "decode_max_tokens = 9 is outside [-1, 8]"), "%s", dsmlp_last_error(ctx));
    o.decode_max_tokens = -2;
    TU_CHECK(ctx, dsmlp_plan_build(ctx, gr, &o, &h), DSMLP_ERR_INVALID_ARG);
    /* -1, auto (the default): [out,in] GEMVs serve T <= 2, [in,out] ones T = 1 under 32 MiB of weight (measured,
    ** lower.c), T <= 2 from there (below) */
    o.decode_max_tokens = -1;
    TU_OK(ctx, dsmlp_plan_build(ctx, gr, &o, &h));
    ck_assert_int_eq(h->p->steps[1].gemm.decode_max_T, 2);
    ck_assert_ptr_nonnull(strstr(h->p->kernels[h->p->steps[1].gemm.decode_kernel].name, "_t2_"));
    dsmlp_plan_free(h);
    dsmlp_graph_free(gr);
    decode_max = -1;
    family(GPT2, 1, 0, DSMLP_F16, &c);   /* [in,out], 1232 x 4928 f16: 12 MB a weight */
    h = build_plan(ctx, &c, "sm_90");
    for (int i = 0; i < h->p->nsteps; i++)
        if (h->p->steps[i].kind == STEP_GEMM) ck_assert_int_eq(h->p->steps[i].gemm.decode_max_T, 1);
    dsmlp_plan_free(h);
    c.hidden = 2048, c.intermediate = 8192;   /* 32 MiB a weight: T <= 2, the second GEMV splitting k */
    h = build_plan(ctx, &c, "sm_90");
    for (int i = 0; i < h->p->nsteps; i++)
        if (h->p->steps[i].kind == STEP_GEMM) {
            const plan_gemm *g = &h->p->steps[i].gemm;
            ck_assert_int_eq(g->decode_max_T, 2);
            ck_assert_int_eq(strstr(h->p->kernels[g->decode_kernel].name, "_t2_s") != NULL, g->n == 2048);
        }
    dsmlp_plan_free(h);
    dsmlp_ctx_free(ctx);
}
END_TEST

/* Internal view: the GEMM2 of GPT-2 reads the norm's side output as C and
** writes "out"; the all-reduce runs in place on "out". */
START_TEST(gpt2_buffers)
{
    dsmlp_ctx *ctx = tu_ctx();
    dsmlp_mlp_config c;
    family(GPT2, 2, 0, DSMLP_BF16, &c);
    dsmlp_plan *h = build_plan(ctx, &c, "sm_80");
    const plan *p = h->p;
    ck_assert_int_eq(p->nsteps, 4);
    const plan_kernel *norm = &p->kernels[p->steps[0].kernel];
    ck_assert_int_eq(norm->kind, KERN_NORM);
    ck_assert_int_eq(norm->nargs, 7); /* y, side, gamma, beta, input, residual, attn_bias */
    const plan_gemm *g1 = &p->steps[1].gemm, *g2 = &p->steps[2].gemm;
    ck_assert_int_eq(g1->epi, EPI_GELU_BIAS);
    ck_assert_int_eq(g1->x, norm->args[0]);
    ck_assert_int_eq(g1->bias, dsmlpC_plan_find_buf(p, "b1"));
    ck_assert_int_eq(g1->n, 4 * 1232 / 2); /* column shard */
    ck_assert_int_eq(g1->k, 1232);
    ck_assert_int_eq(g2->epi, EPI_BIAS);
    ck_assert_int_eq(g2->c, norm->args[1]);
    ck_assert_int_eq(g2->x, g1->d);
    ck_assert_int_eq(g2->d, dsmlpC_plan_find_buf(p, "out"));
    ck_assert_int_eq(g2->bias, dsmlpC_plan_find_buf(p, "b2"));
    ck_assert_int_eq(p->steps[3].kind, STEP_ALL_REDUCE);
    ck_assert_int_eq(p->steps[3].buf, dsmlpC_plan_find_buf(p, "out"));
    /* every declared name is bindable */
    const char *names[] = {"input", "residual", "attn_bias", "norm_w", "norm_b", "w1", "b1", "w2", "b2", "out"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        ck_assert_msg(dsmlpC_plan_find_buf(p, names[i]) >= 0, "no buffer %s", names[i]);
    /* workspace: norm out + side + GEMM1 out; side lives until GEMM2 */
    size_t want_min = (size_t)p->max_tokens * 1232 * 2 * 2 + (size_t)p->max_tokens * 2464 * 2;
    ck_assert_msg(p->ws_bytes >= want_min && p->ws_bytes <= want_min + 4096, "ws %zu", p->ws_bytes);
    dsmlp_plan_free(h);
    dsmlp_ctx_free(ctx);
}
END_TEST

/* NeoX: the norm normalizes X alone but writes X + A + b_o for GEMM2's C. */
START_TEST(neox_side_sum)
{
    dsmlp_ctx *ctx = tu_ctx();
    dsmlp_mlp_config c;
    family(NEOX, 1, 0, DSMLP_F16, &c);
    dsmlp_plan *h = build_plan(ctx, &c, "sm_90");
    const plan *p = h->p;
    const plan_kernel *norm = &p->kernels[p->steps[0].kernel];
    ck_assert_int_eq(norm->nargs, 7); /* y, side, gamma, beta, residual | input, attn_bias */
    ck_assert_int_eq(norm->args[4], dsmlpC_plan_find_buf(p, "residual"));
    ck_assert_int_eq(norm->args[5], dsmlpC_plan_find_buf(p, "input"));
    ck_assert_int_eq(norm->args[6], dsmlpC_plan_find_buf(p, "attn_bias"));
    ck_assert_int_eq(p->steps[2].gemm.c, norm->args[1]);
    ck_assert_ptr_nonnull(strstr(norm->source, "ds_load<DS_VEC>(a5 + i, t)"));
    dsmlp_plan_free(h);
    dsmlp_ctx_free(ctx);
}
END_TEST

static char *explain(dsmlp_ctx *ctx, fam f, int P, int rank)
{
    dsmlp_mlp_config c;
    family(f, P, rank, DSMLP_F16, &c);
    if (f == GPT2) c.hidden = 768;
    if (f == LLAMA) c.hidden = 4096, c.intermediate = 14336, c.dtype = DSMLP_BF16;
    dsmlp_plan *p = build_plan(ctx, &c, "sm_90");
    char *t;
    TU_OK(ctx, dsmlp_plan_explain(p, &t));
    dsmlp_plan_free(p);
    return t;
}

START_TEST(explain_text)
{
    dsmlp_ctx *ctx = tu_ctx();
    char *t = explain(ctx, GPT2, 1, 0);
    if (getenv("DSMLP_TEST_VERBOSE")) printf("%s\n", t);
    const char *want[] = {"[0] norm", "%9 add, %10 bias, %11 layernorm", "writes the sum %10", "kernel dsmlp_ln_f16_h768_a3_s0_v8",
                          "key ", "bias+gelu_tanh -> cuBLASLt GELU_BIAS epilogue", "[2] gemm+bias_residual",
                          "+ C ws", "epilogue BIAS", "buffers:", "output out f16[T,768]", "target sm_90"};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        ck_assert_msg(strstr(t, want[i]) != NULL, "explain lacks \"%s\":\n%s", want[i], t);
    ck_assert_ptr_null(strstr(t, "(not compiled)")); /* defer_compile still computes keys */
    dsmlp_free(t);
    t = explain(ctx, LLAMA, 1, 0);
    if (getenv("DSMLP_TEST_VERBOSE")) printf("%s\n", t);
    const char *want2[] = {"rmsnorm", "kernel dsmlp_gated_silu_bf16_n14336_v8", "gated activation -> generated gated kernel",
                           "[3] gemm+residual", "kernel dsmlp_rms_bf16_h4096_a2_s0_v8"};
    for (size_t i = 0; i < sizeof want2 / sizeof *want2; i++)
        ck_assert_msg(strstr(t, want2[i]) != NULL, "explain lacks \"%s\":\n%s", want2[i], t);
    dsmlp_free(t);
    dsmlp_ctx_free(ctx);
}
END_TEST

/* erf-GELU after GEMM1 cannot be an epilogue: a generated act kernel, and the explain says why. */
START_TEST(gelu_erf_not_epilogue)
{
    dsmlp_ctx *ctx = tu_ctx();
    dsmlp_graph *g;
    dsmlp_value x, w, b, m, mb, a;
    TU_OK(ctx, dsmlp_graph_create(ctx, "erf", &g));
    TU_OK(ctx, dsmlp_input(g, "x", DSMLP_F16, 512, &x));
    TU_OK(ctx, dsmlp_param_matrix(g, "w", DSMLP_F16, 512, 2048, DSMLP_LAYOUT_IN_OUT, &w));
    TU_OK(ctx, dsmlp_param_vector(g, "b", DSMLP_F16, 2048, &b));
    TU_OK(ctx, dsmlp_matmul(g, x, w, &m));
    TU_OK(ctx, dsmlp_bias(g, m, b, &mb));
    TU_OK(ctx, dsmlp_gelu_erf(g, mb, &a));
    TU_OK(ctx, dsmlp_output(g, "y", a));
    dsmlp_compile_options o;
    dsmlp_compile_options_default(&o);
    o.arch = "sm_80", o.defer_compile = 1;
    dsmlp_plan *p;
    TU_OK(ctx, dsmlp_plan_build(ctx, g, &o, &p));
    ck_assert_int_eq(dsmlp_plan_steps(p), 2);
    ck_assert_str_eq(dsmlp_plan_step_label(p, 0), "gemm");
    ck_assert_str_eq(dsmlp_plan_step_label(p, 1), "act");
    char *t;
    TU_OK(ctx, dsmlp_plan_explain(p, &t));
    ck_assert_msg(strstr(t, "bias+gelu_erf: cuBLASLt has no erf-GELU epilogue -> generated kernel"), "%s", t);
    ck_assert_msg(strstr(t, "dsmlp_act_bias_gelu_erf_f16_n2048_v8"), "%s", t);
    /* where the decode GEMV serves (T = 1: [in,out] weights, decode auto), it applies the bias and erf-GELU in its
    ** epilogue, writing the act step's output; the act step is skipped there and runs above */
    ck_assert_msg(strstr(t, "act: the decode GEMV also applies step 1's bias and gelu_erf in its epilogue, writing y [T, 2048]"),
                  "%s", t);
    dsmlp_free(t);
    const plan *pp = p->p;
    const plan_gemm *gm = &pp->steps[0].gemm;
    const plan_step *as = &pp->steps[1];
    ck_assert_int_eq(gm->decode_max_T, 1);
    ck_assert_int_eq(gm->decode_act_out, as->op.act.out);
    ck_assert_int_eq(gm->decode_act_bias, as->op.act.bias);
    const plan_kernel *k = &pp->kernels[gm->decode_kernel];
    ck_assert_msg(strstr(k->name, "_bias_gelu_erf_t1") && strstr(k->source, "#define DS_ACT 3 "), "%s", k->name);
    ck_assert_int_eq(k->args[0], as->op.act.out);
    ck_assert_int_eq(k->args[3], as->op.act.bias);
    static fake_rt f;
    fake_rt_init(&f);
    ck_assert_int_eq(dsmlpR_gemm_applies_act(pp, &f.rt, pp->steps, pp->nsteps, as, 1), 1);
    ck_assert_int_eq(dsmlpR_gemm_applies_act(pp, &f.rt, pp->steps, pp->nsteps, as, 2), 0);
    dsmlp_plan_free(p);
    dsmlp_graph_free(g);
    /* SiLU without bias, [out,in], decode to T = 4: DS_ACT 4, no bias argument; a second reader of the GEMM's output
    ** keeps the act step a step of its own */
    for (int second = 0; second < 2; second++) {
        dsmlp_value s2;
        TU_OK(ctx, dsmlp_graph_create(ctx, "silu", &g));
        TU_OK(ctx, dsmlp_input(g, "x", DSMLP_BF16, 512, &x));
        TU_OK(ctx, dsmlp_param_matrix(g, "w", DSMLP_BF16, 2048, 512, DSMLP_LAYOUT_OUT_IN, &w));
        TU_OK(ctx, dsmlp_matmul(g, x, w, &m));
        TU_OK(ctx, dsmlp_silu(g, m, &a));
        TU_OK(ctx, dsmlp_output(g, "y", a));
        if (second) {
            TU_OK(ctx, dsmlp_scale(g, m, 2.0, &s2));
            TU_OK(ctx, dsmlp_output(g, "z", s2));
        }
        o.arch = "sm_90", o.decode_max_tokens = 4;
        TU_OK(ctx, dsmlp_plan_build(ctx, g, &o, &p));
        pp = p->p, gm = &pp->steps[0].gemm;
        ck_assert_int_eq(pp->steps[0].kind, STEP_GEMM);
        ck_assert_int_ge(gm->decode_kernel, 0);
        k = &pp->kernels[gm->decode_kernel];
        if (second) {
            ck_assert_int_eq(gm->decode_act_out, -1);
            ck_assert_msg(strstr(k->source, "#define DS_ACT 0 "), "%s", k->name);
        } else {
            ck_assert_int_eq(pp->steps[1].op.kind, KERN_ACT);
            ck_assert_int_eq(gm->decode_act_out, pp->steps[1].op.act.out);
            ck_assert_int_eq(gm->decode_act_bias, -1);
            ck_assert_msg(strstr(k->name, "_silu_t4") && strstr(k->source, "#define DS_ACT 4 "), "%s", k->name);
            ck_assert_int_eq(k->nargs, 3);
            for (int T = 1; T <= 5; T++)
                ck_assert_int_eq(dsmlpR_gemm_applies_act(pp, &f.rt, pp->steps, pp->nsteps, &pp->steps[1], T), T <= 4);
        }
        dsmlp_plan_free(p);
        dsmlp_graph_free(g);
    }
    dsmlp_ctx_free(ctx);
}
END_TEST

/* A hand-built graph: two adds, a scale, silu without gate, two outputs. */
START_TEST(general_graph)
{
    dsmlp_ctx *ctx = tu_ctx();
    dsmlp_graph *g;
    dsmlp_value a, b, c, s1, s2, sc, si, w, m, o2;
    TU_OK(ctx, dsmlp_graph_create(ctx, "general", &g));
    TU_OK(ctx, dsmlp_input(g, "a", DSMLP_F32, 1001, &a));
    TU_OK(ctx, dsmlp_input(g, "b", DSMLP_F32, 1001, &b));
    TU_OK(ctx, dsmlp_input(g, "c", DSMLP_F32, 1001, &c));
    TU_OK(ctx, dsmlp_add(g, a, b, &s1));
    TU_OK(ctx, dsmlp_add(g, s1, c, &s2));
    TU_OK(ctx, dsmlp_scale(g, s2, 0.125, &sc));
    TU_OK(ctx, dsmlp_silu(g, sc, &si));
    TU_OK(ctx, dsmlp_param_matrix(g, "w", DSMLP_F32, 64, 1001, DSMLP_LAYOUT_OUT_IN, &w));
    TU_OK(ctx, dsmlp_matmul(g, si, w, &m));
    TU_OK(ctx, dsmlp_relu(g, s2, &o2));   /* s2 has two users: stored */
    TU_OK(ctx, dsmlp_output(g, "y", m));
    TU_OK(ctx, dsmlp_output(g, "z", o2));
    TU_OK(ctx, dsmlp_output(g, "a_copy", a));
    dsmlp_compile_options o;
    dsmlp_compile_options_default(&o);
    o.arch = "sm_90", o.defer_compile = 1;
    dsmlp_plan *h;
    TU_OK(ctx, dsmlp_plan_build(ctx, g, &o, &h));
    char *t;
    TU_OK(ctx, dsmlp_plan_explain(h, &t));
    if (getenv("DSMLP_TEST_VERBOSE")) printf("%s\n", t);
    /* every op is computed by some step */
    const char *ops[] = {"%3 add", "%4 add", "%5 scale", "%6 silu", "%8 matmul", "%9 relu"};
    for (size_t i = 0; i < sizeof ops / sizeof *ops; i++) ck_assert_msg(strstr(t, ops[i]), "lacks %s:\n%s", ops[i], t);
    const plan *p = h->p;
    char labels[256] = "";
    for (int i = 0; i < p->nsteps; i++) snprintf(labels + strlen(labels), sizeof labels - strlen(labels), "%s%s", i ? "," : "", p->steps[i].label);
    ck_assert_msg(!strcmp(labels, "residual,elemwise,gemm,act,copy"), "%s", labels);
    ck_assert_int_eq(p->steps[2].gemm.d, dsmlpC_plan_find_buf(p, "y"));
    ck_assert_int_eq(p->kernels[p->steps[4].kernel].args[0], dsmlpC_plan_find_buf(p, "a_copy"));
    ck_assert_int_eq(p->kernels[p->steps[4].kernel].args[1], dsmlpC_plan_find_buf(p, "a"));
    /* N = 1001 is odd: 16-byte accesses on the flat index plus a scalar tail */
    const plan_kernel *k = &p->kernels[p->steps[1].kernel];
    ck_assert_ptr_nonnull(strstr(k->source, "#define DS_VEC 4"));
    ck_assert_ptr_nonnull(strstr(k->source, "ds_silu((x0 * (float)0.125))"));
    ck_assert_int_eq(k->rows_per_block % 4, 0);
    dsmlp_free(t);
    dsmlp_plan_free(h);
    dsmlp_graph_free(g);
    dsmlp_ctx_free(ctx);
}
END_TEST

/* Output/input aliasing is a property of the plan over both routes. "h" =
** x + a written by the norm kernel reads x at the index it writes: on the
** main steps h may share x's memory. The small-T route's stream kernel writes
** h in one block while every block still reads x for its norm: not there,
** and it writes y while it reads x (the main route's GEMM reads only n). */
START_TEST(alias_both_routes)
{
    dsmlp_ctx *ctx = tu_ctx();
    for (int stream = 0; stream < 2; stream++) {
        dsmlp_graph *g;
        dsmlp_value x, a, h, gamma, n, w, y;
        TU_OK(ctx, dsmlp_graph_create(ctx, "alias", &g));
        TU_OK(ctx, dsmlp_input(g, "x", DSMLP_F16, 256, &x));
        TU_OK(ctx, dsmlp_input(g, "a", DSMLP_F16, 256, &a));
        TU_OK(ctx, dsmlp_add(g, x, a, &h));
        TU_OK(ctx, dsmlp_param_vector(g, "gamma", DSMLP_F16, 256, &gamma));
        TU_OK(ctx, dsmlp_rmsnorm(g, h, gamma, 1e-5, &n));
        TU_OK(ctx, dsmlp_param_matrix(g, "w", DSMLP_F16, 256, 512, DSMLP_LAYOUT_IN_OUT, &w));
        TU_OK(ctx, dsmlp_matmul(g, n, w, &y));
        TU_OK(ctx, dsmlp_output(g, "h", h));
        TU_OK(ctx, dsmlp_output(g, "y", y));
        dsmlp_compile_options o;
        dsmlp_compile_options_default(&o);
        o.arch = "sm_90", o.defer_compile = 1, o.max_tokens = 256, o.stream_max_tokens = stream ? 64 : 0;
        dsmlp_plan *pl;
        TU_OK(ctx, dsmlp_plan_build(ctx, g, &o, &pl));
        const plan *p = pl->p;
        ck_assert_int_eq(p->nssteps > 0, stream);
        int bx = dsmlpC_plan_find_buf(p, "x"), ba = dsmlpC_plan_find_buf(p, "a");
        int bh = dsmlpC_plan_find_buf(p, "h"), by = dsmlpC_plan_find_buf(p, "y");
        const char *why = dsmlpC_plan_alias_why(p, bh, bx);
        if (!stream) {
            ck_assert_msg(!why, "main route refuses h over x: %s", why);
        } else {
            ck_assert_ptr_nonnull(why);
            ck_assert_msg(strstr(why, "small-T route step 0 (stream+norm") &&
                          strstr(why, "reads 'x' while it writes 'h' at other indices"), "%s", why);
        }
        ck_assert_int_eq(!dsmlpC_plan_alias_why(p, bh, ba), !stream);
        /* y: the main GEMM reads n, written before; the stream kernel reads x while it writes y */
        why = dsmlpC_plan_alias_why(p, by, bx);
        ck_assert_msg(!why == !stream, "stream %d: y over x: %s", stream, why ? why : "allowed");
        dsmlp_plan_free(pl);
        dsmlp_graph_free(g);
    }
    dsmlp_ctx_free(ctx);
}
END_TEST

/* The weight-streaming route's context options: DSMLP_STREAM_MAX_TOKENS and
** DSMLP_STREAM_PIPE reach dsmlp_ctx_options through from_env (out-of-range
** values are ignored and named in the warning), and a context's value
** overrides the compile options' in dsmlp_plan_build. */
static dsmlp_graph *stream_graph(dsmlp_ctx *ctx)
{
    dsmlp_graph *g;
    dsmlp_value x, gamma, n, w, y;
    TU_OK(ctx, dsmlp_graph_create(ctx, "s", &g));
    TU_OK(ctx, dsmlp_input(g, "x", DSMLP_F16, 256, &x));
    TU_OK(ctx, dsmlp_param_vector(g, "gamma", DSMLP_F16, 256, &gamma));
    TU_OK(ctx, dsmlp_rmsnorm(g, x, gamma, 1e-5, &n));
    /* [out,in] weights: the layout the shared-memory pipeline variants take */
    TU_OK(ctx, dsmlp_param_matrix(g, "w", DSMLP_F16, 512, 256, DSMLP_LAYOUT_OUT_IN, &w));
    TU_OK(ctx, dsmlp_matmul(g, n, w, &y));
    TU_OK(ctx, dsmlp_output(g, "y", y));
    return g;
}

/* The plan's kernels ("name key" lines) built in a context with the given
** overrides from compile options with the given values. */
static void stream_kernels(int ctx_max, int ctx_pipe, int opt_max, int opt_pipe, int64_t *max_T, char *out, size_t cap)
{
    dsmlp_ctx_options co;
    dsmlp_ctx_options_default(&co);
    co.cache_mode = DSMLP_CACHE_MEMORY;
    co.stream_max_tokens = ctx_max, co.stream_pipe = ctx_pipe;
    dsmlp_ctx *ctx;
    ck_assert_int_eq(dsmlp_ctx_create_with(&co, &ctx), DSMLP_OK);
    ck_assert_int_eq(dsmlp_ctx_get_options(ctx)->stream_max_tokens, ctx_max);
    ck_assert_int_eq(dsmlp_ctx_get_options(ctx)->stream_pipe, ctx_pipe);
    dsmlp_graph *g = stream_graph(ctx);
    dsmlp_compile_options o;
    dsmlp_compile_options_default(&o);
    o.arch = "sm_90", o.defer_compile = 1, o.max_tokens = 256;
    o.stream_max_tokens = opt_max, o.stream_pipe = opt_pipe;
    dsmlp_plan *pl;
    TU_OK(ctx, dsmlp_plan_build(ctx, g, &o, &pl));
    *max_T = pl->p->stream_max_T;
    out[0] = 0;
    for (int i = 0; i < dsmlp_plan_kernels(pl); i++) {
        const char *name, *key;
        TU_OK(ctx, dsmlp_plan_kernel(pl, i, &name, &key));
        size_t len = strlen(out);
        ck_assert_int_lt(snprintf(out + len, cap - len, "%s %s\n", name, key), (int)(cap - len));
    }
    dsmlp_plan_free(pl);
    dsmlp_graph_free(g);
    dsmlp_ctx_free(ctx);
}

START_TEST(ctx_stream_options)
{
    dsmlp_ctx_options o;
    dsmlp_ctx_options_default(&o);
    ck_assert_int_eq(o.stream_max_tokens, DSMLP_CTX_KEEP);   /* the defaults leave the compile options alone */
    ck_assert_int_eq(o.stream_pipe, DSMLP_CTX_KEEP);
    setenv("DSMLP_STREAM_MAX_TOKENS", "16", 1);
    setenv("DSMLP_STREAM_PIPE", "1", 1);
    dsmlp_ctx_options_from_env(&o);
    ck_assert_int_eq(o.stream_max_tokens, 16);
    ck_assert_int_eq(o.stream_pipe, 1);
    ck_assert_str_eq(o.warning, "");
    setenv("DSMLP_STREAM_PIPE", "0", 1);
    dsmlp_ctx_options_default(&o);
    dsmlp_ctx_options_from_env(&o);
    ck_assert_int_eq(o.stream_pipe, 0);
    ck_assert_str_eq(o.warning, "");
    unsetenv("DSMLP_STREAM_MAX_TOKENS");
    setenv("DSMLP_STREAM_PIPE", "2", 1);   /* out of range: ignored ... */
    dsmlp_ctx_options_default(&o);
    dsmlp_ctx_options_from_env(&o);
    ck_assert_int_eq(o.stream_pipe, DSMLP_CTX_KEEP);
    ck_assert_msg(strstr(o.warning, "DSMLP_STREAM_PIPE='2'") && strstr(o.warning, "from 0 to 1"), "%s", o.warning);
    setenv("DSMLP_STREAM_PIPE", "yes", 1);   /* ... as is a word */
    dsmlp_ctx_options_default(&o);
    dsmlp_ctx_options_from_env(&o);
    ck_assert_int_eq(o.stream_pipe, DSMLP_CTX_KEEP);
    ck_assert_msg(strstr(o.warning, "DSMLP_STREAM_PIPE='yes'"), "%s", o.warning);
    unsetenv("DSMLP_STREAM_PIPE");
    setenv("DSMLP_STREAM_MAX_TOKENS", "-2", 1);
    dsmlp_ctx_options_default(&o);
    dsmlp_ctx_options_from_env(&o);
    ck_assert_int_eq(o.stream_max_tokens, DSMLP_CTX_KEEP);
    ck_assert_msg(strstr(o.warning, "DSMLP_STREAM_MAX_TOKENS='-2'"), "%s", o.warning);
    unsetenv("DSMLP_STREAM_MAX_TOKENS");

    /* a context's stream_max_tokens wins over the compile options' */
    static char a[32768], b[32768];
    int64_t ta, tb;
    stream_kernels(4, DSMLP_CTX_KEEP, 0, 0, &ta, a, sizeof a);
    stream_kernels(DSMLP_CTX_KEEP, DSMLP_CTX_KEEP, 4, 0, &tb, b, sizeof b);
    ck_assert_int_eq(ta, 4);
    ck_assert_int_eq(tb, 4);
    ck_assert_str_eq(a, b);
    stream_kernels(0, DSMLP_CTX_KEEP, 4, 0, &ta, a, sizeof a);
    ck_assert_int_eq(ta, 0);
    /* up to T = 16 without the W ring: the T <= 32 bodies serve T = 9..16 (they were once left out) */
    stream_kernels(16, DSMLP_CTX_KEEP, 16, 0, &ta, a, sizeof a);
    ck_assert_int_eq(ta, 16);
    ck_assert_msg(strstr(a, "_t32_"), "no T <= 32 body in %s", a);
    /* ... and so does its stream_pipe: the plan is the one built with that compile option */
    stream_kernels(4, 1, 4, 0, &ta, a, sizeof a);
    stream_kernels(4, DSMLP_CTX_KEEP, 4, 1, &tb, b, sizeof b);
    ck_assert_str_eq(a, b);
    stream_kernels(4, 0, 4, 1, &ta, a, sizeof a);
    stream_kernels(4, DSMLP_CTX_KEEP, 4, 0, &tb, b, sizeof b);
    ck_assert_str_eq(a, b);
    /* stream_pipe = 1 adds the W ring kernels ([out,in] weights on sm_90) */
    stream_kernels(4, DSMLP_CTX_KEEP, 4, 1, &ta, a, sizeof a);
    ck_assert_str_ne(a, b);
    ck_assert_msg(strstr(a, "p_t8") && !strstr(b, "p_t8"), "W ring kernels: with %s / without %s", a, b);
}
END_TEST

/* The W ring for T <= 64 (variant wide_v of both stream steps) and the ring with warps across tokens for T <= 128
** (tall_v): GEMM1's without its prologue norm, the route keeping the norm step before it, run only for kernels that
** do not normalize; the T <= 16 rings keep the norm. */
START_TEST(route_norm_own_kernel)
{
    dsmlp_ctx *ctx = tu_ctx();
    dsmlp_mlp_config c;
    family(INT8_GPT2, 1, 0, DSMLP_F16, &c);
    c.hidden = 1024, c.intermediate = 4096;   /* k a multiple of the ring's load group */
    dsmlp_plan *h = build_plan(ctx, &c, "sm_90");
    const plan *p = h->p;
    ck_assert_int_eq(p->nssteps, 3);
    const plan_step *n = &p->ssteps[0], *s1 = &p->ssteps[1], *s2 = &p->ssteps[2];
    ck_assert_int_eq(n->kind, STEP_KERNEL);
    ck_assert_int_eq(p->kernels[n->kernel].kind, KERN_NORM);
    ck_assert_int_eq(n->norm_for, 2);   /* serves ssteps[1] */
    ck_assert_int_eq(s1->kind, STEP_STREAM);
    ck_assert_int_eq(s2->kind, STEP_STREAM);
    ck_assert_int_ge(s1->stream.wide_v, 0);
    ck_assert_int_eq(s1->stream.wide_v, s2->stream.wide_v);   /* one index: one configuration of the route */
    ck_assert_int_eq(s1->stream.fused_v, s2->stream.fused_v);
    const plan_kernel *w1 = &p->kernels[s1->stream.variant[s1->stream.wide_v]];
    const plan_kernel *w2 = &p->kernels[s2->stream.variant[s2->stream.wide_v]];
    ck_assert(w1->sk_ring && !w1->sk_norm && w1->sk_maxnt == 8);
    ck_assert(w2->sk_ring && !w2->sk_norm && w2->sk_maxnt == 8);
    ck_assert_int_eq(s1->stream.tall_v, s1->stream.wide_v + 1);
    ck_assert_int_eq(s1->stream.tall_v, s2->stream.tall_v);
    const plan_kernel *t1 = &p->kernels[s1->stream.variant[s1->stream.tall_v]];
    const plan_kernel *t2 = &p->kernels[s2->stream.variant[s2->stream.tall_v]];
    /* GPT-2's GEMMs have no gating: 4 consumer warps across tokens (x 4 across columns) + 4 producers */
    ck_assert(t1->sk_ring && !t1->sk_norm && t1->sk_maxnt == 16 && t1->threads == 32 * (16 + 4));
    ck_assert(t2->sk_ring && !t2->sk_norm && t2->sk_maxnt == 16);
    ck_assert_msg(strstr(t1->sk_what, "tokens/warp"), "%s", t1->sk_what);
    /* w1 and t1 read the norm's output; every other GEMM1 kernel normalizes itself */
    int reads = 0, treads = 0;
    for (int a = 0; a < w1->nargs; a++) reads |= w1->args[a] == p->kernels[n->kernel].args[0];
    for (int a = 0; a < t1->nargs; a++) treads |= t1->args[a] == p->kernels[n->kernel].args[0];
    ck_assert_msg(reads && treads, "the T <= 64 / 128 ring does not read the norm's output");
    for (int v = 0; v < s1->stream.nvariants; v++) {
        const int k = s1->stream.variant[v], own = v == s1->stream.wide_v || v == s1->stream.tall_v;
        ck_assert_int_eq(p->kernels[k].sk_norm, !own);
        ck_assert_int_eq(dsmlpC_route_step_runs(p, n, k), own);
        if (p->kernels[k].sk_ring && !own) ck_assert_int_le(p->kernels[k].sk_maxnt, 2);
    }
    char *t;
    TU_OK(ctx, dsmlp_plan_explain(h, &t));
    ck_assert_msg(strstr(t, "the norm as its own kernel: runs only when step 1 picks a kernel without it"), "%s", t);
    ck_assert_msg(strstr(t, "the 8-warp ring for T <= 64 with the norm as its own kernel"), "%s", t);
    ck_assert_msg(strstr(t, "the ring with 4 token warps for T <= 128 with the norm as its own kernel"), "%s", t);
    dsmlp_free(t);
    dsmlp_plan_free(h);
    dsmlp_ctx_free(ctx);
}
END_TEST

/* The T <= 128 ring's warps across tokens: 4 in a block without gating (GPT-2: route_norm_own_kernel), 2 in both
** steps of a gated block, each with 4 warps across columns and 4 producer warps. */
START_TEST(route_tall_warps)
{
    dsmlp_ctx *ctx = tu_ctx();
    dsmlp_mlp_config c;
    family(LLAMA, 1, 0, DSMLP_BF16, &c);
    c.hidden = 1024, c.intermediate = 4096, c.int8_weights = 1, c.int8_groups = 4;
    dsmlp_plan *h = build_plan(ctx, &c, "sm_90");
    const plan *p = h->p;
    int seen = 0;
    for (int i = 0; i < p->nssteps; i++) {
        const plan_step *s = &p->ssteps[i];
        if (s->kind != STEP_STREAM || s->stream.tall_v < 0) continue;
        const plan_kernel *k = &p->kernels[s->stream.variant[s->stream.tall_v]];
        const int gated = strstr(k->name, "_gsilu_") != NULL;
        ck_assert_msg(k->threads == 32 * (4 * 2 + 4), "%s: %d threads", k->name, k->threads);
        seen |= 1 << gated;
    }
    ck_assert_int_eq(seen, 3);   /* both: the gated GEMM and the down projection */
    char *t;
    TU_OK(ctx, dsmlp_plan_explain(h, &t));
    ck_assert_msg(strstr(t, "the ring with 2 token warps for T <= 128 with the norm as its own kernel"), "%s", t);
    dsmlp_free(t);
    dsmlp_plan_free(h);
    dsmlp_ctx_free(ctx);
}
END_TEST

/* An all_reduce whose operand is read by someone else gets a copy; a value
** summed after the all_reduce stays after it. */
START_TEST(all_reduce_order)
{
    dsmlp_ctx *ctx = tu_ctx();
    dsmlp_graph *g;
    dsmlp_value x, r, w, m, ar, y, z;
    TU_OK(ctx, dsmlp_graph_create(ctx, "ar", &g));
    TU_OK(ctx, dsmlp_input(g, "x", DSMLP_BF16, 256, &x));
    TU_OK(ctx, dsmlp_input(g, "r", DSMLP_BF16, 256, &r));
    TU_OK(ctx, dsmlp_param_matrix(g, "w", DSMLP_BF16, 256, 256, DSMLP_LAYOUT_IN_OUT, &w));
    TU_OK(ctx, dsmlp_matmul(g, x, w, &m));
    TU_OK(ctx, dsmlp_all_reduce(g, m, &ar));
    TU_OK(ctx, dsmlp_add(g, ar, r, &y));
    TU_OK(ctx, dsmlp_all_reduce(g, x, &z));
    TU_OK(ctx, dsmlp_output(g, "y", y));
    TU_OK(ctx, dsmlp_output(g, "z", z));
    dsmlp_compile_options o;
    dsmlp_compile_options_default(&o);
    o.arch = "sm_90", o.defer_compile = 1;
    dsmlp_plan *h;
    TU_OK(ctx, dsmlp_plan_build(ctx, g, &o, &h));
    const plan *p = h->p;
    char labels[256] = "";
    for (int i = 0; i < p->nsteps; i++) snprintf(labels + strlen(labels), sizeof labels - strlen(labels), "%s%s", i ? "," : "", p->steps[i].label);
    ck_assert_msg(!strcmp(labels, "gemm,all_reduce,residual,copy,all_reduce"), "%s", labels);
    ck_assert_int_eq(p->steps[1].buf, p->steps[0].gemm.d);
    ck_assert_int_eq(p->bufs[p->steps[1].buf].kind, BUF_WORK);
    ck_assert_int_eq(p->steps[4].buf, dsmlpC_plan_find_buf(p, "z"));
    dsmlp_plan_free(h);
    dsmlp_graph_free(g);
    dsmlp_ctx_free(ctx);
}
END_TEST

/* Workspace reuse: a buffer whose last reader ran gives its space back. */
START_TEST(workspace_reuse)
{
    dsmlp_ctx *ctx = tu_ctx();
    dsmlp_graph *g;
    dsmlp_value x, v[6];
    TU_OK(ctx, dsmlp_graph_create(ctx, "chain", &g));
    TU_OK(ctx, dsmlp_input(g, "x", DSMLP_F16, 512, &x));
    dsmlp_value cur = x;
    for (int i = 0; i < 4; i++) {  /* each relu has two users (next relu and an add), so each is stored */
        TU_OK(ctx, dsmlp_relu(g, cur, &v[i]));
        cur = v[i];
    }
    dsmlp_value s;
    TU_OK(ctx, dsmlp_add(g, v[3], v[2], &s));
    TU_OK(ctx, dsmlp_output(g, "y", s));
    dsmlp_compile_options o;
    dsmlp_compile_options_default(&o);
    o.arch = "sm_90", o.defer_compile = 1, o.max_tokens = 100;
    dsmlp_plan *h;
    TU_OK(ctx, dsmlp_plan_build(ctx, g, &o, &h));
    const plan *p = h->p;
    /* v0, v1 die early; at most 3 work buffers live at once (v2 stays until the add) */
    size_t one = 100 * 512 * 2;
    ck_assert_msg(p->ws_bytes <= 3 * one, "ws %zu > %zu", p->ws_bytes, 3 * one);
    for (int a = 0; a < p->nbufs; a++)
        for (int b = a + 1; b < p->nbufs; b++) {
            const plan_buf *A = &p->bufs[a], *B = &p->bufs[b];
            if (A->kind != BUF_WORK || B->kind != BUF_WORK) continue;
            /* buffers touched by the same step never overlap */
            for (int i = 0; i < p->nsteps; i++) {
                const plan_kernel *k = p->steps[i].kind == STEP_KERNEL ? &p->kernels[p->steps[i].kernel] : NULL;
                int ha = 0, hb = 0;
                for (int j = 0; k && j < k->nargs; j++) ha |= k->args[j] == a, hb |= k->args[j] == b;
                if (ha && hb)
                    ck_assert(A->ws_offset + A->ws_bytes <= B->ws_offset || B->ws_offset + B->ws_bytes <= A->ws_offset);
            }
        }
    dsmlp_plan_free(h);
    dsmlp_graph_free(g);
    dsmlp_ctx_free(ctx);
}
END_TEST

START_TEST(bad_arch_and_no_output)
{
    dsmlp_ctx *ctx = tu_ctx();
    dsmlp_graph *g;
    dsmlp_value x, y;
    TU_OK(ctx, dsmlp_graph_create(ctx, "g", &g));
    TU_OK(ctx, dsmlp_input(g, "x", DSMLP_F16, 64, &x));
    TU_OK(ctx, dsmlp_relu(g, x, &y));
    dsmlp_compile_options o;
    dsmlp_compile_options_default(&o);
    o.defer_compile = 1;
    dsmlp_plan *p = NULL;
    TU_CHECK(ctx, dsmlp_plan_build(ctx, g, &o, &p), DSMLP_ERR_INVALID_ARG);
    TU_MSG_HAS(ctx, "has no output");
    TU_OK(ctx, dsmlp_output(g, "y", y));
    o.arch = "sm_75";
    TU_CHECK(ctx, dsmlp_plan_build(ctx, g, &o, &p), DSMLP_ERR_INVALID_ARG);
    TU_MSG_HAS(ctx, "'sm_75' is not supported");
    TU_MSG_HAS(ctx, "sm_80, sm_86, sm_89, sm_90, sm_90a");
    ck_assert_ptr_null(p);
    o.arch = NULL;  /* no device here: sm_90 */
    TU_OK(ctx, dsmlp_plan_build(ctx, g, &o, &p));
    ck_assert_str_eq(dsmlp_plan_arch(p), "sm_90"); /* no device here; H100/H200 are sm_90 too */
    ck_assert_int_eq(p->p->max_tokens, 8192);
    const char *name, *key;
    TU_OK(ctx, dsmlp_plan_kernel(p, 0, &name, &key));
    ck_assert_int_eq((int)strlen(key), 64);
    TU_CHECK(ctx, dsmlp_plan_kernel(p, 5, &name, &key), DSMLP_ERR_NOT_FOUND);
    TU_MSG_HAS(ctx, "no kernel 5");
    dsmlp_plan_free(p);
    dsmlp_graph_free(g);
    dsmlp_ctx_free(ctx);
}
END_TEST

/* A graph the lowering cannot do names the op. */
START_TEST(unsupported_op)
{
    dsmlp_ctx *ctx = tu_ctx();
    dsmlp_graph *g;
    dsmlp_value x, w, q, m;
    TU_OK(ctx, dsmlp_graph_create(ctx, "bad", &g));
    TU_OK(ctx, dsmlp_input(g, "x", DSMLP_F16, 64, &x));
    TU_OK(ctx, dsmlp_param_matrix(g, "w", DSMLP_F16, 64, 64, DSMLP_LAYOUT_IN_OUT, &w));
    TU_OK(ctx, dsmlp_matmul(g, x, w, &m));
    TU_OK(ctx, dsmlp_output(g, "y", m));
    /* Corrupt the op of the matmul (as a future op this compiler does not know would look). */
    g->nodes[m].op = DSMLP_OP_COUNT;
    (void)q;
    dsmlp_compile_options o;
    dsmlp_compile_options_default(&o);
    o.arch = "sm_90", o.defer_compile = 1;
    dsmlp_plan *p = NULL;
    TU_CHECK(ctx, dsmlp_plan_build(ctx, g, &o, &p), DSMLP_ERR_UNSUPPORTED);
    TU_MSG_HAS(ctx, "cannot lower op %2");
    ck_assert_ptr_null(p);
    g->nodes[m].op = DSMLP_OP_MATMUL;
    dsmlp_graph_free(g);
    dsmlp_ctx_free(ctx);
}
END_TEST

/* An unused op is reported, not silently computed or dropped. */
START_TEST(dead_op_noted)
{
    dsmlp_ctx *ctx = tu_ctx();
    dsmlp_graph *g;
    dsmlp_value x, y, d;
    TU_OK(ctx, dsmlp_graph_create(ctx, "dead", &g));
    TU_OK(ctx, dsmlp_input(g, "x", DSMLP_F16, 64, &x));
    TU_OK(ctx, dsmlp_relu(g, x, &y));
    TU_OK(ctx, dsmlp_silu(g, x, &d));
    TU_OK(ctx, dsmlp_output(g, "y", y));
    dsmlp_compile_options o;
    dsmlp_compile_options_default(&o);
    o.arch = "sm_90", o.defer_compile = 1;
    dsmlp_plan *p;
    TU_OK(ctx, dsmlp_plan_build(ctx, g, &o, &p));
    ck_assert_int_eq(dsmlp_plan_steps(p), 1);
    char *t;
    TU_OK(ctx, dsmlp_plan_explain(p, &t));
    ck_assert_msg(strstr(t, "%2 silu: result unused, not computed"), "%s", t);
    dsmlp_free(t);
    dsmlp_plan_free(p);
    dsmlp_graph_free(g);
    dsmlp_ctx_free(ctx);
}
END_TEST

/* Which route the heuristic gives each token bucket of a quantized 4096-wide block on a 132-SM device with the driver
** entry points the mixed-input GEMMs need: the W rings up to T = 8 (16 for a gated block), the main route (mixed
** kernels) from there; with mixed_gemm = 0 the W rings up to T = 128, as before. */
static void route_buckets(int gated, int mixed_mode, int max_tokens, int *stream_to, int64_t *main_from0)
{
    dsmlp_ctx *ctx = tu_ctx();
    dsmlp_mlp_config c;
    family(gated ? LLAMA : INT8_GPT2, 1, 0, gated ? DSMLP_BF16 : DSMLP_F16, &c);
    c.int8_weights = 1, c.int8_groups = 4, c.hidden = 4096, c.intermediate = gated ? 14336 : 16384;
    mixed = mixed_mode, max_tok = max_tokens;
    dsmlp_plan *h = build_plan(ctx, &c, "sm_90");
    mixed = -1, max_tok = -1;
    plan *p = h->p;
    ck_assert_int_gt(p->nssteps, 0);
    static fake_rt f;
    fake_rt_init(&f);
    for (int b = 0; b < PLAN_BUCKETS; b++) {
        f.rt.pick[b].variant = calloc((size_t)p->nssteps + 1, sizeof(int));
        f.rt.pick[b].grid = calloc((size_t)p->nssteps + 1, sizeof(int));
        ck_assert(f.rt.pick[b].variant && f.rt.pick[b].grid);
    }
    dsmlpR_exec_stream_heuristic(p, &f.rt);
    *stream_to = 0, *main_from0 = f.rt.pick[0].main_from;
    for (int b = 0; b < PLAN_BUCKETS; b++) {
        if (f.rt.pick[b].stream) {
            ck_assert_msg(*stream_to == dsmlpR_exec_bucket_tokens(b) / 2 || b == 0, "bucket %d on the W rings after a main one", b);
            *stream_to = dsmlpR_exec_bucket_tokens(b);
        }
        free(f.rt.pick[b].variant), free(f.rt.pick[b].grid);
    }
    dsmlp_plan_free(h);
    dsmlp_ctx_free(ctx);
}

START_TEST(mixed_route)
{
    int to;
    int64_t from;
    /* the mixed kernels serve every T: the main route from T = 1; main_from 2 for a tuning record's rings at T = 1 */
    route_buckets(0, -1, 0, &to, &from);
    ck_assert_int_eq(to, 0);
    ck_assert_int_eq(from, 2);
    route_buckets(1, -1, 0, &to, &from);
    ck_assert_int_eq(to, 0);
    route_buckets(0, 0, 0, &to, &from);   /* no mixed kernels: the W rings up to T = 128 */
    ck_assert_int_eq(to, 128);
    ck_assert_int_eq(from, 0);
    /* a plan for fewer tokens than bucket 0 holds streams them (it ran the dequantize-then-GEMM steps before) */
    for (int mt = 1; mt <= 4; mt *= 2) {
        route_buckets(0, 0, mt, &to, &from);
        ck_assert_msg(to == 8, "max_tokens %d: bucket 0 not on the weight-streaming route", mt);
        route_buckets(1, -1, mt, &to, &from);
        ck_assert_int_eq(to, 0);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("plan");
    TCase *tc = tcase_create("plan");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, family_steps);
    tcase_add_test(tc, family_steps_tp);
    tcase_add_test(tc, residual_kernel_option);
    tcase_add_test(tc, decode_variant);
    tcase_add_test(tc, mixed_variant);
    tcase_add_test(tc, mixed_rule);
    tcase_add_test(tc, mixed_one_rule);
    tcase_add_test(tc, mixed_prefetch_rule);
    tcase_add_test(tc, entry_regs_check);
    tcase_add_test(tc, mixed_gated);
    tcase_add_test(tc, mixed_route);
    tcase_add_test(tc, gpt2_buffers);
    tcase_add_test(tc, neox_side_sum);
    tcase_add_test(tc, decode_half_pairs);
    tcase_add_test(tc, wgmma_float_variant);
    tcase_add_test(tc, float_narrow_rule);
    tcase_add_test(tc, float_pair_rule);
    tcase_add_test(tc, split_scratch_size);
    tcase_add_test(tc, serial_split_rule);
    tcase_add_test(tc, next_early_rule);
    tcase_add_test(tc, tuned_gemm_choice);
    tcase_add_test(tc, explain_text);
    tcase_add_test(tc, route_norm_own_kernel);
    tcase_add_test(tc, route_tall_warps);
    tcase_add_test(tc, gelu_erf_not_epilogue);
    tcase_add_test(tc, general_graph);
    tcase_add_test(tc, alias_both_routes);
    tcase_add_test(tc, ctx_stream_options);
    tcase_add_test(tc, all_reduce_order);
    tcase_add_test(tc, workspace_reuse);
    tcase_add_test(tc, bad_arch_and_no_output);
    tcase_add_test(tc, unsupported_op);
    tcase_add_test(tc, dead_op_noted);
    tcase_add_test(tc, mixed_act_follower);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
