/* explain.c — dsmlpC_plan_explain_text: the plan as readable text (steps, what each absorbed, why). */
#include "plan.h"
#include "emit.h"
#include "error.h"
#include "grow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *bufdesc(const plan *p, int b, char *out, size_t cap)
{
    if (b < 0) { snprintf(out, cap, "-"); return out; }
    const plan_buf *B = &p->bufs[b];
    if (B->tokens) snprintf(out, cap, "%s %s[T,%lld]", B->name, dsmlp_dtype_name(B->dtype), (long long)B->cols);
    else if (B->rows == 1) snprintf(out, cap, "%s %s[%lld]", B->name, dsmlp_dtype_name(B->dtype), (long long)B->cols);
    else snprintf(out, cap, "%s %s[%lld,%lld]", B->name, dsmlp_dtype_name(B->dtype), (long long)B->rows, (long long)B->cols);
    return out;
}

/* The element-wise activation step (KERN_ACT) writing buffer out, or -1 (a gated step writes it, or none). */
static int act_step_writing(const plan *p, int out)
{
    for (int i = 0; i < p->nsteps; i++)
        if (p->steps[i].kind == STEP_KERNEL && p->steps[i].op.kind == KERN_ACT && p->steps[i].op.act.out == out) return i;
    return -1;
}

/* The line for the activation step that GEMM m's decode GEMV (decode) or mixed / wgmma kernels take on, writing out
** (nothing where out < 0): a gated step or an element-wise one. */
static void explain_act(sbuf *b, const plan *p, const plan_gemm *m, int out, int decode)
{
    if (out < 0) return;
    const char *who = decode ? "the decode GEMV also applies" : "its kernels also apply", *where = decode ? "it runs" : "they run";
    const int as = act_step_writing(p, out);
    if (as >= 0)
        dsmlpB_sb_printf(b, "        act: %s step %d's %s%s in %s epilogue, writing %s [T, %lld] directly (that step and the "
                         "[T, %lld] %s are skipped where %s)\n", who, as, p->steps[as].op.act.bias >= 0 ? "bias and " : "",
                         dsmlpC_emit_act_name(p->steps[as].op.act.act), decode ? "its" : "their", p->bufs[out].name,
                         (long long)m->n, (long long)m->n, p->bufs[m->d].name, where);
    else
        dsmlpB_sb_printf(b, "        gated: %s the gated step, writing %s [T, %lld] directly (that step and the [T, %lld] %s are "
                         "skipped where %s)\n", who, p->bufs[out].name, (long long)(m->n / 2), (long long)m->n,
                         p->bufs[m->d].name, where);
}

static const char *epi_name(plan_epilogue e)
{
    static const char *const n[] = {"NONE", "BIAS", "RELU_BIAS", "GELU_BIAS", "RELU", "GELU"};
    return (unsigned)e <= EPI_GELU ? n[e] : "?";
}

dsmlp_status dsmlpC_plan_explain_text(const plan *p, char **text)
{
    if (!p || !text) return DSMLP_ERR_INVALID_ARG;
    sbuf b = {0};
    static const char *const kinds[] = {"input", "param", "output", "work", "scratch"};
    dsmlpB_sb_printf(&b, "plan for graph '%s': target %s, max_tokens %lld, %d step(s), %d generated kernel(s), workspace %zu bytes\n",
       p->graph_name, p->arch, (long long)p->max_tokens, p->nsteps, p->nkernels, p->ws_bytes);
    dsmlpB_sb_printf(&b, "buffers:\n");
    for (int i = 0; i < p->nbufs; i++) {
        char d[128];
        const plan_buf *B = &p->bufs[i];
        dsmlpB_sb_printf(&b, "  %-6s %s", kinds[B->kind], bufdesc(p, i, d, sizeof d));
        if (!B->tokens && B->rows > 1) dsmlpB_sb_printf(&b, " %s", B->layout == DSMLP_LAYOUT_IN_OUT ? "[in,out]" : "[out,in]");
        if (B->kind == BUF_WORK) dsmlpB_sb_printf(&b, " @%zu (%zu bytes)", B->ws_offset, B->ws_bytes);
        dsmlpB_sb_printf(&b, "\n");
    }
    dsmlpB_sb_printf(&b, "steps:\n");
    for (int i = 0; i < p->nsteps; i++) {
        const plan_step *s = &p->steps[i];
        char a[128], w[128], d[128], c[128], bi[128];
        dsmlpB_sb_printf(&b, "  [%d] %s\n", i, s->label);
        if (s->kind == STEP_GEMM) {
            const plan_gemm *m = &s->gemm;
            dsmlpB_sb_printf(&b, "      gemm: %s = %s x %s%s (n=%lld, k=%lld), epilogue %s", bufdesc(p, m->d, d, sizeof d),
               bufdesc(p, m->x, a, sizeof a), bufdesc(p, m->w, w, sizeof w),
               m->layout == DSMLP_LAYOUT_IN_OUT ? " [in,out]" : "^T [out,in]", (long long)m->n, (long long)m->k,
               epi_name(m->epi));
            if (m->bias >= 0) dsmlpB_sb_printf(&b, ", bias %s", bufdesc(p, m->bias, bi, sizeof bi));
            if (m->c >= 0) dsmlpB_sb_printf(&b, ", + C %s (beta=1)", bufdesc(p, m->c, c, sizeof c));
            dsmlpB_sb_printf(&b, "\n");
            if (m->decode_kernel >= 0) {
                const plan_kernel *k = &p->kernels[m->decode_kernel];
                const int split = k->rows_fixed > 0 ? (int)k->rows_fixed : 1;
                dsmlpB_sb_printf(&b, "      variants: T <= %lld: decode GEMV kernel %s  key %s, grid (%d, %d)%s%s, block %d; "
                       "T > %lld: cuBLASLt\n",
                   (long long)m->decode_max_T, k->name, k->key[0] ? k->key : "(not compiled)", k->grid_x, split,
                   k->gemv_rounds ? " or fewer blocks in rounds (as many as the device holds at once)" : "",
                   split > 1 ? " (k split over the blocks along y; the last of a column's blocks adds their sums)" : "",
                   k->threads, (long long)plan_gemm_decode_top(m));
                if (m->decode_why) dsmlpB_sb_printf(&b, "        bound: T <= %lld (%s)\n", (long long)m->decode_max_T, m->decode_why);
                if (m->decode_wide_kernel >= 0) {
                    const plan_kernel *w = &p->kernels[m->decode_wide_kernel];
                    const int ws = w->rows_fixed > 0 ? (int)w->rows_fixed : 1;
                    dsmlpB_sb_printf(&b, "        T = %lld..%lld: decode GEMV kernel %s  key %s, grid (%d, %d)%s, block %d (built for %d "
                           "tokens, without the norm; auto: a float weight of 32 to 256 MiB; on cards with a peak DRAM rate under %d GB/s)\n",
                       (long long)m->decode_max_T + 1, (long long)m->decode_wide_max_T, w->name, w->key[0] ? w->key : "(not compiled)",
                       w->grid_x, ws, w->gemv_rounds ? " or fewer blocks in rounds" : "", w->threads, PLAN_DECODE_WIDE_BUILD_T, PLAN_DECODE_WIDE_MAX_DRAM_GBS);
                }
                explain_act(&b, p, m, m->decode_act_out, 1);
                if (m->decode_norm >= 0)
                    dsmlpB_sb_printf(&b, "        norm: the decode GEMV also computes step %d's norm into its x stage (that step is skipped "
                           "where it runs)\n", m->decode_norm);
                if (m->decode_q >= 0)
                    dsmlpB_sb_printf(&b, "        codes: the decode GEMV reads %s and %s (%lld scale groups) and converts in registers%s: no "
                           "dequantized copy where it runs (the dequant step is skipped)\n",
                       p->bufs[m->decode_q].name, p->bufs[m->decode_scales].name, (long long)m->decode_groups,
                       k->gemv_half_mac ? ", multiplying them with the f16 activations in f16 pairs (sums of 8, fp32 every 16)" : "");
            } else {
                dsmlpB_sb_printf(&b, "      variants: cuBLASLt for every T\n");
            }
            if (PLAN_GEMM_HAS_MIXED(m) && m->mixed_scales < 0) {
                char narrow[256] = "", range[512];
                if (PLAN_FLOAT_NARROW(m))
                    snprintf(narrow, sizeof narrow, "at T = 2..%d (a narrow output, n <= %d: cuBLASLt would split k and reduce in a "
                             "kernel of its own) and ", PLAN_FLOAT_NARROW_MAX_T, PLAN_FLOAT_NARROW_N);
                else if (PLAN_FLOAT_PAIR(m))
                    snprintf(narrow, sizeof narrow, "at T = %d..%d (one of a block's pair of GEMMs, on cards with a peak DRAM rate "
                             "under %d GB/s where the first's %lld rows fill 3/4 of the SMs in 128-row tiles) and ",
                             PLAN_FLOAT_PAIR_MIN_T, PLAN_FLOAT_PAIR_MAX_T, PLAN_FLOAT_PAIR_MAX_DRAM_GBS, (long long)m->pair_rows);
                snprintf(range, sizeof range, "%sat T = %d..%d where its grid (split) fills 7/10 of the SMs (not where the decode GEMV "
                         "serves), %s", narrow, PLAN_FLOAT_MIXED_MIN_T(m->layout), PLAN_FLOAT_MIXED_MAX_T,
                         narrow[0] || PLAN_FLOAT_MIXED_MIN_T(m->layout) <= 64 ? "one 64-token block for T <= 64, else 128-token ones"
                                                                             : "in 128-token blocks");
                dsmlpB_sb_printf(&b, "      wgmma variant (reads %s as stored, both operands through shared memory): runs instead of cuBLASLt %s\n",
                   p->bufs[m->w].name, p->mixed_mode == 2 ? "at every T (mixed_gemm = 2)" : range);
            } else if (PLAN_GEMM_HAS_MIXED(m)) {
                const int every = p->mixed_mode == 2;
                dsmlpB_sb_printf(&b, "      mixed-input variant (reads %s and %s, no dequantized copy): runs instead of cuBLASLt and the decode GEMV %s%s, and then "
                       "the dequant step writing %s is skipped; one 16-, 32- or 64-token block for T <= 16, 32 or 64, else 128 or 256 (fewer padded "
                       "tokens), k split over clusters of up to %d blocks while the grid is under the SMs\n",
                   p->bufs[m->mixed_q].name, p->bufs[m->mixed_scales].name,
                   every ? "at every T (mixed_gemm = 2)"
                   : m->decode_q >= 0 ? "(which serves its T first, on the codes) up to T = 2048 "
                                      : "at T = 1..2048 ",
                   every ? "" : "where its grid (split) fills 7/10 of the SMs, above T = 512 with token tiles at least 3/4 full",
                   p->bufs[m->w].name, PLAN_MIXED_SPLIT_MAX);
            }
            if (PLAN_GEMM_HAS_MIXED(m)) {   /* either kind: the gating they apply, their kernels */
                explain_act(&b, p, m, m->mixed_act_out, 0);
                for (int v = 0; v < PLAN_MIXED_VARIANTS; v++) {
                    if (m->mixed_kernel[v] < 0) continue;
                    const plan_kernel *k = &p->kernels[m->mixed_kernel[v]];
                    dsmlpB_sb_printf(&b, "        %3d tokens per block: %s  key %s (%s), grid (ceil(T / %d), %d, split), block %d, %zu B shared\n",
                       k->rows_per_block, k->name, k->key[0] ? k->key : "(not compiled)", dsmlpC_kernel_arch(p, k),
                       k->rows_per_block, k->grid_x, k->threads, k->smem_bytes);
                    if (m->mixed_one[v] < 0) continue;
                    const plan_kernel *o = &p->kernels[m->mixed_one[v]];
                    const int fill = PLAN_MIXED_ONE_BUILT(o->grid_x);   /* else built for the k split without clusters */
                    dsmlpB_sb_printf(&b, "            one block a SM%s: %s  key %s, %zu B shared, where its %d row tiles %s\n",
                       fill ? "" : " for a k split without clusters", o->name, o->key[0] ? o->key : "(not compiled)",
                       o->smem_bytes, o->grid_x, fill ? "fill 3/4 of the SMs and no more (else two a SM)" : "leave half the SMs idle");
                }
            }
        } else if (s->kind == STEP_KERNEL) {
            const plan_kernel *k = &p->kernels[s->kernel];
            dsmlpB_sb_printf(&b, "      kernel %s  key %s\n", k->name, k->key[0] ? k->key : "(not compiled)");
            dsmlpB_sb_printf(&b, "      args:");
            for (int j = 0; j < k->nargs; j++) dsmlpB_sb_printf(&b, "%s %s", j ? "," : "", bufdesc(p, k->args[j], a, sizeof a));
            dsmlpB_sb_printf(&b, "\n      launch: grid (%d, ceil(%s / %d)), block %d\n", k->grid_x,
               k->rows_fixed > 0 ? "rows" : "T", k->rows_per_block, k->threads);
        } else {
            dsmlpB_sb_printf(&b, "      all_reduce (sum over the tensor-parallel group) in place on %s\n",
               bufdesc(p, s->buf, a, sizeof a));
        }
        dsmlpB_sb_printf(&b, "      absorbs: %s\n", s->absorbed[0] ? s->absorbed : "(no graph op: introduced by the compiler)");
        if (s->why[0]) dsmlpB_sb_printf(&b, "      why: %s\n", s->why);
    }
    if (p->nssteps) {
        dsmlpB_sb_printf(&b, "small-T route (weight-streaming kernels), may serve T <= %lld; which T it serves is chosen at load:\n",
           (long long)p->stream_max_T);
        for (int i = 0; i < p->nssteps; i++) {
            const plan_step *s = &p->ssteps[i];
            char a[128];
            if (s->kind != STEP_STREAM) {
                dsmlpB_sb_printf(&b, "  [%d] %s (main step %d)\n", i, s->label, s->main_step);
                if (s->norm_for) dsmlpB_sb_printf(&b, "      why: %s\n", s->why);   /* a norm kept as its own kernel */
                continue;
            }
            dsmlpB_sb_printf(&b, "  [%d] %s\n", i, s->label);
            for (int v = 0; v < s->stream.nvariants; v++) {
                const plan_kernel *k = &p->kernels[s->stream.variant[v]];
                dsmlpB_sb_printf(&b, "      variant %d: %s  key %s (%s)\n", v, k->name, k->key[0] ? k->key : "(not compiled)", k->sk_what);
            }
            const plan_kernel *k = &p->kernels[s->stream.variant[0]];
            dsmlpB_sb_printf(&b, "      args:");
            for (int j = 0; j < k->nargs; j++) dsmlpB_sb_printf(&b, "%s %s", j ? "," : "", bufdesc(p, k->args[j], a, sizeof a));
            dsmlpB_sb_printf(&b, "\n      absorbs: %s\n      why: %s\n", s->absorbed, s->why);
        }
    } else {
        dsmlpB_sb_printf(&b, "small-T route: none (%s)\n", p->stream_why);
    }
    if (p->notes[0]) dsmlpB_sb_printf(&b, "notes:\n%s", p->notes);
    if (b.oom || !b.p) {
        free(b.p);
        return DSMLP_ERR_NOMEM;
    }
    *text = b.p;
    return DSMLP_OK;
}
