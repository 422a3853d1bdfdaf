/* emit_mixed.c — the mixed-input GEMM variant of a GEMM step on a dequantized weight (templates/mixed.cu): a
** Hopper wgmma GEMM that reads the int8/fp8 codes and converts them in its main loop, so the main route at large T
** needs no dequantized copy of the weight (issue 10; measured in bench/RESULTS.md). The same kernel serves f16/bf16
** weights as stored (either layout, both wgmma operands from shared memory) at T = 33..128, where cuBLASLt streams
** them slower (docs/quant.md "The same kernels on f16/bf16 weights"). */
#include "emit.h"
#include "emit_int.h"
#include "error.h"

#include <stdio.h>
#include <string.h>

/* Stages of 64 k: as many as fit MIXED_SMEM_STAGES bytes (more bytes in flight where the block's multiply is short),
** at least enough for the epilogue's fp32 staging of tokens x 132 floats. 256 tokens: 4 stages of 40 KiB. The
** 128-token kernels take MIXED_SMEM_STAGES_128: codes 8 stages of 24 KiB instead of 6 (GELU-4096 int8 T = 65..128
** 0.4-2.3 us faster), float weights 6 of 32 KiB instead of 5 (SwiGLU-4096 bf16 T = 65..128 1.3-3.7 us faster,
** GELU-4096 f16 level); the same budget at 256 tokens, 5 stages instead of 4, was 1.8-35 us slower at T = 256 / 1024
** (bench/RESULTS.md, thirty-sixth and thirty-seventh sessions). Code blocks of at most MIXED_TWO_PER_SM tokens run two
** per SM, each with MIXED_SMEM_STAGES_2 bytes of stages (their conversion binds them per SM, sixteenth session), but
** their one-a-SM twins (spec one_per_sm, name tag "_one"; plan_gemm.mixed_one) run one a SM with the float kernels'
** stages and register split, for the GEMMs whose row tiles fill the SMs in one wave (exec_mixed.c). Float
** weights stream without a conversion, and two a SM the dispatcher fills a SM's two slots before the next SM, so a grid
** under the slots leaves SMs idle (thirty-eighth session): their 64-token blocks run one a SM with MIXED_SMEM_STAGES
** (6 stages of 24 KiB, not 4) and the one-a-SM register split (H100, both GEMMs on them: GELU-4096 f16 2.0-3.7 us
** faster at T = 3..64, SwiGLU-8192 bf16 6-13, SwiGLU-4096 level to 1.7; BERT-base as loaded 0.2-0.5 at T = 3..32;
** bench/RESULTS.md, fifty-eighth session). */
#define MIXED_SMEM_STAGES     (160 * 1024)
#define MIXED_SMEM_STAGES_128 (200 * 1024)
#define MIXED_SMEM_STAGES_2   (96 * 1024)
#define MIXED_TWO_PER_SM      64

const char *dsmlpC_emit_mixed_unsupported(const char *arch, dsmlp_layout layout, dsmlp_dtype q, dsmlp_dtype x,
                                          dsmlp_dtype d, int64_t n, int64_t k)
{
    if (strcmp(arch, "sm_90") && strcmp(arch, "sm_90a")) return "needs sm_90 (wgmma)";
    if ((x != DSMLP_F16 && x != DSMLP_BF16) || d != x) return "needs f16 or bf16 activations and output alike";
    if (layout != DSMLP_LAYOUT_OUT_IN && q != x) return "needs the weight [out,in]";   /* float weights: either */
    if (q != DSMLP_I8 && q != DSMLP_FP8_E4M3 && q != x) return "needs int8 or fp8 codes, or weights of x's dtype";
    if (n % EMIT_MIXED_ROWS) return "needs out a multiple of 128";
    if (k % 64) return "needs in a multiple of 64";
    if (k > ((int64_t)1 << 31) - 64 || n > ((int64_t)1 << 31) - 128) return "is too large for 32-bit box coordinates";
    return NULL;
}

static const char *epi_what(plan_epilogue e)
{
    static const char *const t[] = {"x·W", "x·W + bias", "relu(x·W + bias)", "gelu_tanh(x·W + bias)", "relu(x·W)",
                                    "gelu_tanh(x·W)"};
    return (unsigned)e <= EPI_GELU ? t[e] : "?";
}

dsmlp_status dsmlpC_emit_mixed(dsmlp_ctx *ctx, const plan *p, plan_kernel *k, const emit_mixed_spec *s, int uniq)
{
    const plan_buf *B = p->bufs;
    const dsmlp_dtype dt = B[k->args[0]].dtype, qt = B[k->args[1]].dtype;
    const int quant = qt == DSMLP_I8 ? 1 : qt == DSMLP_FP8_E4M3 ? 2 : 0, xa = 2 + (quant > 0);   /* float: no scales */
    const dsmlp_dtype st = quant ? B[k->args[2]].dtype : DSMLP_F32, xt = B[k->args[xa]].dtype;
    const char *why = dsmlpC_emit_mixed_unsupported(p->arch, s->io ? DSMLP_LAYOUT_IN_OUT : DSMLP_LAYOUT_OUT_IN, qt, xt, dt, s->n, s->k);
    if (why) return dsmlpB_err_set(ctx, DSMLP_ERR_UNSUPPORTED, "codegen: mixed-input GEMM n = %lld, k = %lld %s",
                                   (long long)s->n, (long long)s->k, why);
    static const int widths[PLAN_MIXED_VARIANTS] = PLAN_MIXED_TOKENS;
    int known = 0;
    for (int v = 0; v < PLAN_MIXED_VARIANTS; v++) known |= s->tokens == widths[v];
    if (!known)
        return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "codegen: mixed-input GEMM of %d tokens per block (16, 32, 64, 128 or 256)",
                              s->tokens);
    if (s->groups <= 0 || s->n % s->groups)
        return dsmlpB_err_set(ctx, DSMLP_ERR_SHAPE, "codegen: mixed-input GEMM of %lld rows in %lld scale groups: groups must divide rows",
                              (long long)s->n, (long long)s->groups);
    if (s->gated && (s->epi != EPI_NONE || s->has_c))
        return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "codegen: a gated mixed-input GEMM takes no GEMM epilogue or C");
    if (s->post_act && (s->gated || s->has_c || s->post_act > DSMLP_ACT_COUNT || (s->epi != EPI_NONE && s->epi != EPI_BIAS)))
        return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "codegen: a mixed-input GEMM's own activation (%d) needs no gating, "
                              "no C and an epilogue without one", s->post_act - 1);
    const int act = dsmlpC_emit_epi_act(s->epi, s->post_act);
    char what[96], base[PLAN_NAME_MAX * 2];
    if (s->gated)
        snprintf(what, sizeof what, "(up%s) * %s(gate%s) of x·W", s->has_bias ? " + bias" : "", dsmlpC_emit_act_name(s->gact),
                 s->has_bias ? " + bias" : "");
    else if (s->post_act)
        snprintf(what, sizeof what, "%s(x·W%s)", dsmlpC_emit_epi_act_name(act), s->has_bias ? " + bias" : "");
    else
        snprintf(what, sizeof what, "%s%s", epi_what(s->epi), s->has_c ? " + C (before the activation, as cuBLASLt)" : "");
    snprintf(base, sizeof base, "%s%d_%s_%s_n%lld_k%lld_g%lld_%s%s%s%s", quant ? "mixed" : "wgmma", s->tokens, dsmlp_dtype_name(qt), dsmlp_dtype_name(dt),
             (long long)s->n, (long long)s->k, (long long)s->groups,
             s->gated ? dsmlpC_emit_act_name(s->gact) : act == 2 ? "gelu" : act ? dsmlpC_emit_epi_act_name(act) : "lin",
             s->gated ? "_gated" : "", s->has_bias ? "_bias" : "", s->has_c ? "_c" : "");
    if (s->io) snprintf(base + strlen(base), sizeof base - strlen(base), "_io");
    const int narrow_codes = quant && s->tokens <= MIXED_TWO_PER_SM;   /* two blocks a SM, unless built as a twin */
    if (narrow_codes && s->one_per_sm) snprintf(base + strlen(base), sizeof base - strlen(base), "_one");
    dsmlpC_emit_set_name(k, base, 16, uniq);
    const int ba = xa + 1, ca = ba + s->has_bias;
    const int minb = narrow_codes && !s->one_per_sm ? 2 : 1;
    /* Narrow blocks stream the weight: 128 k per stage, copied as 128-byte row pieces (bench/proto/tma_patterns.cu:
    ** 3.42 TB/s against 3.25 for 64-byte ones), 256 k (two 128-byte pieces a row) for 16- and 32-token blocks (SwiGLU-4096
    ** int8 T = 16 86.0 -> 82.9 us); wide ones multiply more per byte and keep more, smaller stages. */
    /* Float weights: 64 k a stage (one 128-byte row piece: 16 KiB of W, several stages in flight) */
    const int bk = !quant ? 64 : s->tokens <= 32 && s->k % 256 == 0 ? 256 : minb == 2 && s->k % 128 == 0 ? 128 : 64;
    const size_t stage = (size_t)s->tokens * bk * 2 + EMIT_MIXED_ROWS * (size_t)bk * (quant ? 1 : 2), staging = (size_t)s->tokens * (EMIT_MIXED_ROWS + 4) * 4;
    const size_t budget = minb == 2 ? MIXED_SMEM_STAGES_2 : s->tokens == 128 ? MIXED_SMEM_STAGES_128 : MIXED_SMEM_STAGES;
    int stages = (int)(budget / stage);
    while ((size_t)stages * stage < staging) stages++;
    const size_t smem = (size_t)stages * stage + 2 * (size_t)stages * 8 + 1024;
    /* where a stage is 64 k (the 128- and 256-token kernels) the next stage's codes are converted while this stage
    ** multiplies (GELU-4096 int8 T = 1024 418-422 -> 408 us); with wider stages (T <= 64) the same loop across
    ** stages was 6-21 us slower than the one within a stage (bench/RESULTS.md, thirty-fifth session) */
    const char *xstage = quant && bk == 64 ? "1" : "0";
    /* setmaxnreg (registers per thread: the producer warpgroup's, then the two consumer warpgroups'). One block per
    ** SM: 40 and 232. The 64-token code kernels (two per SM): 24 and 96 - at the launch bound's 80 ptxas serialized
    ** their wgmmas (C7512; GELU-4096 int8 T = 33..64 2.0-2.4 us faster, SwiGLU 2.9-4.5, thirty-sixth session). The
    ** 16- and 32-token ones keep the launch bound's count. */
    const int regs_p = minb == 1 ? 40 : s->tokens == 64 ? 24 : 0, regs_c = minb == 1 ? 232 : regs_p ? 96 : 0;
    char nn[32], kk[32], rpg[32], stg[16], sm[24], tok[16], mb[8], bks[8], rp[8], rc[8];
    snprintf(rp, sizeof rp, "%d", regs_p);
    snprintf(rc, sizeof rc, "%d", regs_c);
    snprintf(mb, sizeof mb, "%d", minb);
    snprintf(bks, sizeof bks, "%d", bk);
    snprintf(sm, sizeof sm, "%zu", smem);
    char act_s[4] = {(char)('0' + act), 0};
    snprintf(stg, sizeof stg, "%d", stages);
    snprintf(tok, sizeof tok, "%d", s->tokens);
    snprintf(nn, sizeof nn, "%lld", (long long)s->n);
    snprintf(kk, sizeof kk, "%lld", (long long)s->k);
    snprintf(rpg, sizeof rpg, "%lld", (long long)(s->n / s->groups));
    char smt[8];
    snprintf(smt, sizeof smt, "%d", PLAN_MIXED_SERIAL_MAX_TOKENS);
    const char *kv[] = {"NAME", k->name, "N", nn, "K", kk, "RPG", rpg, "EPI_WHAT", what,
                        "QUANT", quant == 1 ? "1" : quant == 2 ? "2" : "0",
                        "Q_NAME", quant == 1 ? "int8" : quant == 2 ? "fp8 e4m3" : dsmlp_dtype_name(qt),
                        "BF16", xt == DSMLP_BF16 ? "1" : "0", "WG_T", xt == DSMLP_BF16 ? "bf16" : "f16",
                        "X_NAME", dsmlp_dtype_name(xt), "STAGES", stg, "BK", bks, "SMEM", sm, "TOK", tok, "MINB", mb, "XSTAGE", xstage,
                        "REGS_PRODUCER", rp, "REGS_CONSUMER", rc, "SERIAL_MAX_TOK", smt,
                        "PREFETCH", EMIT_MIXED_PREFETCHES(quant, s->tokens) ? "1" : "0",
                        "GATED", s->gated ? "1" : "0", "WMN", s->io && !quant ? "1" : "0", "GACT", s->gated ? dsmlpC_emit_act_fn(s->gact) : "ds_relu",
                        "HAS_BIAS", s->has_bias ? "1" : "0", "HAS_C", s->has_c ? "1" : "0", "ACT", act_s,
                        "D_T", dsmlpC_emit_ctype(dt), "S_T", dsmlpC_emit_ctype(st),
                        "B_T", dsmlpC_emit_ctype(s->has_bias ? B[k->args[ba]].dtype : dt),
                        "C_T", dsmlpC_emit_ctype(s->has_c ? B[k->args[ca]].dtype : dt), NULL};
    dsmlp_status r = dsmlpC_emit_fill(ctx, "mixed.cu", kv, &k->source);
    k->kind = KERN_MIXED;
    k->arch_a = 1;   /* wgmma and setmaxnreg: sm_90a */
    k->rows_fixed = 0, k->rows_per_block = s->tokens, k->grid_x = (int)(s->n / EMIT_MIXED_ROWS), k->threads = 384;
    k->smem_bytes = smem;
    k->mixed_bk = bk;
    /* an increase the block's own release cannot cover waits forever: the pool is the block's registers at entry */
    k->entry_regs_min = regs_c ? (128 * regs_p + 256 * regs_c + 383) / 384 : 0;
    return r;
}
