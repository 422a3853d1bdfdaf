/* emit_stream_fused.c — one persistent kernel for two W ring GEMMs (templates/stream.cu filled twice, as namespaces
** ds_p1 and ds_p2, then templates/stream_fused.cu's entry): the second GEMM's weights stream while the first
** finishes; a grid barrier guards its x, the first's output (docs/stream.md). */
#include "emit.h"
#include "emit_int.h"
#include "error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

dsmlp_status dsmlpC_emit_stream_fused(dsmlp_ctx *ctx, const plan *p, plan_kernel *k, const emit_stream_spec *s1,
                                      const emit_stream_spec *s2, int a_gbar, int nout, int uniq)
{
    if (!s1->pipe || !s2->pipe || s2->norm || s1->wn != s2->wn || s1->wk != s2->wk)
        return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "codegen: fused stream kernel: two W ring phases with the same "
                              "warps, the second without a norm");
    plan_kernel k1 = *k, k2 = *k;
    k1.source = k2.source = NULL;
    emit_stream_spec a = *s1, b = *s2;
    a.fused_part = 1, b.fused_part = 2;
    dsmlp_status st = dsmlpC_emit_stream(ctx, p, &k1, &a, 0);
    if (st == DSMLP_OK) st = dsmlpC_emit_stream(ctx, p, &k2, &b, 0);
    if (st != DSMLP_OK) {
        free(k1.source), free(k2.source);
        return st;
    }
    const int maxnt = k1.sk_maxnt < k2.sk_maxnt ? k1.sk_maxnt : k2.sk_maxnt;
    const size_t bars = ((k1.smem_bytes > k2.smem_bytes ? k1.smem_bytes : k2.smem_bytes) + 15) / 16 * 16;
    const size_t smem = bars + EMIT_FUSED_BAR_BYTES;

    char base[PLAN_NAME_MAX * 2];
    snprintf(base, sizeof base, "wsf_%s_n%lldk%lld_n%lldk%lld_%dx%d_t%d", dsmlp_dtype_name(p->bufs[k->args[s1->a_wu]].dtype),
             (long long)s1->n, (long long)s1->k, (long long)s2->n, (long long)s2->k, s1->wn, s1->wk, 8 * maxnt);
    dsmlpC_emit_set_name(k, base, s1->el, uniq);

    sbuf bd = {0}, dsp = {0}, pr = {0}, src = {0};
    dsmlpC_emit_stream_bind(&bd, "A1", s1);
    dsmlpC_emit_stream_bind(&bd, "A2", s2);
    dsmlpB_sb_printf(&bd, "    unsigned *gbar = reinterpret_cast<unsigned *>(a%d);\n", a_gbar);
    for (int nt = 1; nt <= maxnt; nt *= 2)   /* the ring bodies: 1, 2, 4 token tiles */
        dsmlpB_sb_printf(&dsp, "    if (T <= %d) { dsf_body<%d, ds_p1::ds_qw%d, %d, ds_p2::ds_qw%d>(A1, A2, T, ds_smem, gbar); return; }\n",
                         8 * nt, nt, 8 * nt, nt, 8 * nt);
    dsmlpC_emit_params(&pr, p, k, nout);
    char what[160], th[16], cw[16], bs[32], sm[32], mxt[16];
    snprintf(what, sizeof what, "%s, then %s", k1.name, k2.name);
    snprintf(th, sizeof th, "%d", k1.threads);
    snprintf(cw, sizeof cw, "%d", s1->wn * s1->wk);
    snprintf(bs, sizeof bs, "%zu", bars);
    snprintf(sm, sizeof sm, "%zu", smem);
    snprintf(mxt, sizeof mxt, "%d", 8 * maxnt);
    const char *kv[] = {"NAME", k->name, "MAXT", mxt, "WHAT", what, "THREADS", th, "CWARPS", cw, "BARS", bs,
                        "SMEM", sm, "PARAMS", pr.p ? pr.p : "", "BIND", bd.p ? bd.p : "", "DISPATCH", dsp.p ? dsp.p : "",
                        NULL};
    char *entry = NULL;
    if (k1.threads != k2.threads)
        st = dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "codegen: fused stream kernel: %d vs %d threads", k1.threads, k2.threads);
    else if (bd.oom || dsp.oom || pr.oom)
        st = dsmlpB_err_set(ctx, DSMLP_ERR_NOMEM, "codegen: out of memory");
    else
        st = dsmlpC_emit_fill_ex(ctx, "stream_fused.cu", kv, 0, &entry);
    if (st == DSMLP_OK) st = dsmlpC_emit_header(ctx, &src, k->name, "templates/stream.cu (twice) and templates/stream_fused.cu");
    if (st == DSMLP_OK) {
        dsmlpB_sb_printf(&src, "#define DS_FUSED_PART 1\nnamespace ds_p1 {\n%s\n}   // namespace ds_p1\n", k1.source);
        st = dsmlpC_emit_undefs(ctx, &src, "stream.cu", "DS_DYNAMIC_SMEM");
    }
    if (st == DSMLP_OK) {
        dsmlpB_sb_printf(&src, "namespace ds_p2 {\n%s\n}   // namespace ds_p2\n", k2.source);
        dsmlpB_sb_put(&src, entry, strlen(entry));
        if (src.oom) st = dsmlpB_err_set(ctx, DSMLP_ERR_NOMEM, "codegen: out of memory");
    }
    free(entry), free(k1.source), free(k2.source), free(bd.p), free(dsp.p), free(pr.p);
    if (st != DSMLP_OK) {
        free(src.p);
        return st;
    }
    k->source = src.p;
    k->kind = KERN_STREAM;
    k->rows_fixed = 1, k->rows_per_block = 1, k->grid_x = 1, k->threads = k1.threads, k->smem_bytes = smem;
    k->sk_tiles = k1.sk_tiles < k2.sk_tiles ? k1.sk_tiles : k2.sk_tiles;
    k->sk_units = k1.sk_units < k2.sk_units ? k1.sk_units : k2.sk_units;   /* every block gets work in both phases */
    k->sk_maxnt = maxnt;
    k->sk_ring = 1, k->sk_quant = s1->quant || s2->quant, k->sk_fused = 1, k->sk_norm = s1->norm != 0;
    k->sk_part_bytes = k1.sk_part_bytes > k2.sk_part_bytes ? k1.sk_part_bytes : k2.sk_part_bytes;
    snprintf(k->sk_what, sizeof k->sk_what, "persistent: both GEMMs through one W ring, %dx%d warps + producer, grid barrier, T<=%d",
             s1->wn, s1->wk, 8 * maxnt);
    return DSMLP_OK;
}
