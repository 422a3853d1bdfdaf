/* emit.c — fills the CUDA templates; every kernel follows plan.h's calling convention. */
#include "emit.h"
#include "emit_int.h"
#include "embed.h"
#include "error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *dsmlpC_emit_ctype(dsmlp_dtype t)
{
    switch (t) {
    case DSMLP_F32: return "float";
    case DSMLP_F16: return "__half";
    case DSMLP_BF16: return "__nv_bfloat16";
    case DSMLP_I8: return "signed char";
    case DSMLP_FP8_E4M3: return "ds_e4m3";   /* common.cuh */
    default: return "void";
    }
}

const char *dsmlpC_emit_act_fn(dsmlp_act a)
{
    static const char *const f[] = {"ds_gelu_tanh", "ds_gelu_erf", "ds_relu", "ds_silu"};
    return (unsigned)a < DSMLP_ACT_COUNT ? f[a] : "?";
}

const char *dsmlpC_emit_act_name(dsmlp_act a)
{
    static const char *const f[] = {"gelu_tanh", "gelu_erf", "relu", "silu"};
    return (unsigned)a < DSMLP_ACT_COUNT ? f[a] : "?";
}

int dsmlpC_emit_epi_act(plan_epilogue epi, int post_act)
{
    static const int code[DSMLP_ACT_COUNT] = {[DSMLP_ACT_GELU_TANH] = 2, [DSMLP_ACT_GELU_ERF] = 3, [DSMLP_ACT_RELU] = 1,
                                              [DSMLP_ACT_SILU] = 4};
    if (post_act > 0 && post_act <= DSMLP_ACT_COUNT) return code[post_act - 1];
    return epi == EPI_RELU || epi == EPI_RELU_BIAS ? 1 : epi == EPI_GELU || epi == EPI_GELU_BIAS ? 2 : 0;
}

const char *dsmlpC_emit_epi_act_name(int code)
{
    static const dsmlp_act act[] = {DSMLP_ACT_RELU, DSMLP_ACT_GELU_TANH, DSMLP_ACT_GELU_ERF, DSMLP_ACT_SILU};
    return code == 0 ? "" : code >= 1 && code <= 4 ? dsmlpC_emit_act_name(act[code - 1]) : "?";
}

int dsmlpC_emit_vec_width(int64_t n, size_t elem_bytes)
{
    int v = elem_bytes ? (int)(16 / elem_bytes) : 1;
    if (v < 1) v = 1;
    while (v > 1 && n % v) v /= 2;
    return v;
}

static size_t max_elem(const plan *p, const plan_kernel *k)
{
    size_t m = 1;
    for (int i = 0; i < k->nargs; i++) {
        size_t s = dsmlp_dtype_size(p->bufs[k->args[i]].dtype);
        if (s > m) m = s;
    }
    return m;
}

static int arg_is_vec(const plan *p, const plan_kernel *k, int i)
{
    const plan_buf *b = &p->bufs[k->args[i]];
    return !b->tokens && b->rows == 1;
}

static int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
static int64_t round_up(int64_t a, int64_t m) { return ceil_div(a, m) * m; }
static int64_t gcd64(int64_t a, int64_t b) { while (b) { int64_t t = a % b; a = b, b = t; } return a; }

/* Blocks along x: about one vector per thread (256 threads), so that even
** T = 1 spreads a wide row over several SMs. */
static int grid_x_for(int64_t vectors_per_block)
{
    int64_t g = ceil_div(vectors_per_block, 256);
    return (int)(g < 1 ? 1 : g > 65535 ? 65535 : g);
}

/* Rows per block so that the grid's y stays within CUDA's 65535. */
static int64_t min_rpb(int64_t rows) { return rows > 65535 ? ceil_div(rows, 65535) : 1; }

void dsmlpC_emit_params(sbuf *b, const plan *p, const plan_kernel *k, int nout)
{
    for (int i = 0; i < k->nargs; i++)
        dsmlpB_sb_printf(b, ", %s%s *a%d", i < nout ? "" : "const ", dsmlpC_emit_ctype(p->bufs[k->args[i]].dtype), i);
}

/* Fills {{KEY}} placeholders of a template from kv (key, value, ..., NULL)
** and prepends common.cuh: one self-contained source. */
dsmlp_status dsmlpC_emit_fill(dsmlp_ctx *ctx, const char *tmpl, const char *const *kv, char **out)
{
    return dsmlpC_emit_fill_ex(ctx, tmpl, kv, 1, out);
}

/* #undef of every macro tmpl defines (at any depth) but `keep`: what lets a second copy of the template follow the
** first in one source (the fused stream kernel's namespaces). */
dsmlp_status dsmlpC_emit_undefs(dsmlp_ctx *ctx, sbuf *b, const char *tmpl, const char *keep)
{
    const struct embed_file *t = embed_find(dsmlpB_embedded_templates, tmpl);
    if (!t) return dsmlpB_err_set(ctx, DSMLP_ERR_UNSUPPORTED, "codegen: template %s is not built into this library", tmpl);
    const char *s = t->text, *end = t->text + t->len;
    while (s < end) {
        const char *eol = memchr(s, '\n', (size_t)(end - s));
        if (!eol) eol = end;
        const char *q = s;
        while (q < eol && (*q == ' ' || *q == '\t')) q++;
        if (eol - q > 8 && !strncmp(q, "#define ", 8)) {
            q += 8;
            size_t n = 0;
            while (q + n < eol && (q[n] == '_' || (q[n] >= 'A' && q[n] <= 'Z') || (q[n] >= 'a' && q[n] <= 'z') ||
                                   (q[n] >= '0' && q[n] <= '9')))
                n++;
            if (n && !(strlen(keep) == n && !strncmp(q, keep, n))) dsmlpB_sb_printf(b, "#undef %.*s\n", (int)n, q);
        }
        s = eol + 1;
    }
    return b->oom ? dsmlpB_err_set(ctx, DSMLP_ERR_NOMEM, "codegen: out of memory") : DSMLP_OK;
}

/* The header line and common.cuh: the start of a source assembled from several templates. */
dsmlp_status dsmlpC_emit_header(dsmlp_ctx *ctx, sbuf *b, const char *name, const char *what)
{
    const struct embed_file *common = embed_find(dsmlpB_embedded_templates, "common.cuh");
    if (!common) return dsmlpB_err_set(ctx, DSMLP_ERR_UNSUPPORTED, "codegen: template common.cuh is not built into this library");
    dsmlpB_sb_printf(b, "// %s — generated by dsmlp from %s; do not edit.\n", name, what);
    if (DSMLP_TIMELINE) dsmlpB_sb_printf(b, "#define DS_TIMELINE %d\n", DSMLP_TIMELINE);   /* common.cuh's timelines */
    dsmlpB_sb_put(b, common->text, common->len);
    dsmlpB_sb_put(b, "\n", 1);
    return b->oom ? dsmlpB_err_set(ctx, DSMLP_ERR_NOMEM, "codegen: out of memory") : DSMLP_OK;
}

dsmlp_status dsmlpC_emit_fill_ex(dsmlp_ctx *ctx, const char *tmpl, const char *const *kv, int with_common, char **out)
{
    const struct embed_file *t = embed_find(dsmlpB_embedded_templates, tmpl);
    if (!t) return dsmlpB_err_set(ctx, DSMLP_ERR_UNSUPPORTED, "codegen: template %s is not built into this library", tmpl);
    sbuf b = {0};
    const char *name = "";
    for (int i = 0; kv[i]; i += 2)
        if (!strcmp(kv[i], "NAME")) name = kv[i + 1];
    if (with_common) {
        char what[96];
        snprintf(what, sizeof what, "templates/%s", tmpl);
        dsmlp_status st = dsmlpC_emit_header(ctx, &b, name, what);
        if (st != DSMLP_OK) {
            free(b.p);
            return st;
        }
    }
    const char *s = t->text, *end = t->text + t->len;
    while (s < end) {
        const char *open = strstr(s, "{{");
        if (!open || open >= end) { dsmlpB_sb_put(&b, s, (size_t)(end - s)); break; }
        dsmlpB_sb_put(&b, s, (size_t)(open - s));
        const char *close = strstr(open + 2, "}}");
        if (!close) { free(b.p); return dsmlpB_err_set(ctx, DSMLP_ERR_UNSUPPORTED, "codegen: template %s: unclosed {{", tmpl); }
        size_t klen = (size_t)(close - open - 2);
        const char *val = NULL;
        for (int i = 0; kv[i]; i += 2)
            if (strlen(kv[i]) == klen && !strncmp(kv[i], open + 2, klen)) { val = kv[i + 1]; break; }
        if (!val) {
            free(b.p);
            return dsmlpB_err_set(ctx, DSMLP_ERR_UNSUPPORTED, "codegen: template %s: no value for placeholder {{%.*s}}",
                           tmpl, (int)klen, open + 2);
        }
        dsmlpB_sb_put(&b, val, strlen(val));
        s = close + 2;
    }
    if (b.oom) { free(b.p); return dsmlpB_err_set(ctx, DSMLP_ERR_NOMEM, "codegen: out of memory emitting %s", tmpl); }
    *out = b.p;
    return DSMLP_OK;
}

void dsmlpC_emit_set_name(plan_kernel *k, const char *base, int vec, int uniq)
{
    char u[16] = "";
    char full[PLAN_NAME_MAX * 3];
    if (uniq > 0) snprintf(u, sizeof u, "_u%d", uniq);
    snprintf(full, sizeof full, "dsmlp_%s_v%d%s", base, vec, u);
    snprintf(k->name, sizeof k->name, "%.*s", (int)sizeof k->name - 1, full);
}

#define I2S(buf, v) (snprintf(buf, sizeof buf, "%lld", (long long)(v)), buf)

/* ------------------------------------------------------------------- norm */

dsmlp_status dsmlpC_emit_norm(dsmlp_ctx *ctx, const plan *p, plan_kernel *k, const emit_norm_spec *s, int uniq)
{
    int vec = dsmlpC_emit_vec_width(s->h, max_elem(p, k));
    int64_t nv = s->h / vec;
    int warp = nv <= 256, threads;
    int64_t rpb;
    if (warp) {
        threads = 128;
        rpb = threads / 32;   /* grid.y strides over row blocks: no dependence on max_tokens */
    } else {
        threads = 64;
        /* one 16-byte piece per thread up to 512 threads: a shorter serial chain per row, 1-2.5 us less at T <= 64
           (bench/RESULTS.md, twenty-fifth session) */
        while (threads < 512 && ceil_div(nv, threads) > 1) threads *= 2;
        rpb = 1;
    }
    dsmlp_dtype ydt = p->bufs[k->args[0]].dtype;
    char base[PLAN_NAME_MAX * 2], side[16] = "";
    if (s->has_side) snprintf(side, sizeof side, "_s%d", s->nextra);
    snprintf(base, sizeof base, "%s%s_%s_h%lld_a%d%s", s->rms ? "rms" : "ln", s->gamma_offset != 0.0 ? "_goff" : "",
             dsmlp_dtype_name(ydt), (long long)s->h, s->nterms, side);
    dsmlpC_emit_set_name(k, base, vec, uniq);

    int tb = 1 + s->has_side + 1 + s->has_beta;  /* first term's argument */
    sbuf ls = {0}, ss = {0}, pr = {0};
    for (int t = 0; t < s->nterms; t++) {
        int a = tb + t;
        dsmlpB_sb_printf(&ls, "                ds_load<DS_VEC>(a%d + %s, t);\n", a, arg_is_vec(p, k, a) ? "c" : "i");
        dsmlpB_sb_printf(&ls, "#pragma unroll\n                for (int j = 0; j < DS_VEC; j++) v[it][j] %s t[j];\n",
                  t ? "+=" : "=");
    }
    if (s->has_side) {
        if (!s->nextra) {
            dsmlpB_sb_printf(&ss, "                ds_store<DS_VEC>(a1 + i, v[it]);\n");
        } else {
            dsmlpB_sb_printf(&ss, "                {\n                    float sd[DS_VEC];\n");
            dsmlpB_sb_printf(&ss, "#pragma unroll\n                    for (int j = 0; j < DS_VEC; j++) sd[j] = v[it][j];\n");
            for (int e = 0; e < s->nextra; e++) {
                int a = tb + s->nterms + e;
                dsmlpB_sb_printf(&ss, "                    ds_load<DS_VEC>(a%d + %s, t);\n", a,
                          arg_is_vec(p, k, a) ? "c" : "i");
                dsmlpB_sb_printf(&ss, "#pragma unroll\n                    for (int j = 0; j < DS_VEC; j++) sd[j] += t[j];\n");
            }
            dsmlpB_sb_printf(&ss, "                    ds_store<DS_VEC>(a1 + i, sd);\n                }\n");
        }
    } else {
        dsmlpB_sb_printf(&ss, "%s", "");
    }
    dsmlpC_emit_params(&pr, p, k, 1 + s->has_side);
    char h[32], v[16], th[16], rp[32], nt[16], eps[40], gam[16], bet[16], what[128], sidew[160], mode[96], goff[40];
    snprintf(eps, sizeof eps, "%.17g", s->eps);
    snprintf(goff, sizeof goff, "%.17g", s->gamma_offset);
    snprintf(gam, sizeof gam, "a%d", 1 + s->has_side);
    snprintf(bet, sizeof bet, "a%d", 2 + s->has_side);
    snprintf(what, sizeof what, "%s", s->rms ? (s->gamma_offset != 0.0 ? "RMSNorm with weight (gamma + offset)" : "RMSNorm")
                                           : (s->has_beta ? "LayerNorm" : "LayerNorm (no beta)"));
    if (s->has_side)
        snprintf(sidew, sizeof sidew, "Also writes the sum%s to a1.", s->nextra ? " plus the extra addends" : "");
    else
        snprintf(sidew, sizeof sidew, "No side output.");
    snprintf(mode, sizeof mode, warp ? "one warp per row, %d rows per pass" : "one block per row (%d threads)",
             warp ? threads / 32 : threads);
    const char *kv[] = {
        "NAME", k->name, "WHAT", what, "NTERMS", I2S(nt, s->nterms), "H", I2S(h, s->h), "EPS", eps,
        "SIDE_WHAT", sidew, "RPB", I2S(rp, rpb), "THREADS", I2S(th, threads), "MODE_WHAT", mode,
        "VEC", I2S(v, vec), "WARP_ROWS", warp ? "1" : "0", "RMS", s->rms ? "1" : "0",
        "HAS_BETA", s->has_beta ? "1" : "0", "HAS_SIDE", s->has_side ? "1" : "0",
        "PARAMS", pr.p ? pr.p : "", "LOAD_SUM", ls.p ? ls.p : "", "SIDE_STORE", ss.p ? ss.p : "",
        "GAMMA", gam, "BETA", bet, "HAS_GAMMA_OFFSET", s->gamma_offset != 0.0 ? "1" : "0", "GAMMA_OFFSET", goff,
        NULL};
    dsmlp_status st = (ls.oom || ss.oom || pr.oom) ? dsmlpB_err_set(ctx, DSMLP_ERR_NOMEM, "codegen: out of memory")
                                                   : dsmlpC_emit_fill(ctx, "norm.cu", kv, &k->source);
    free(ls.p), free(ss.p), free(pr.p);
    k->kind = KERN_NORM;
    k->rows_fixed = 0, k->rows_per_block = (int)rpb, k->grid_x = 1, k->threads = threads, k->smem_bytes = 0;
    return st;
}

/* --------------------------------------------------------------- elemwise */

/* The CUDA float expression of node i: leaves are x<leaf>. */
static void ew_text(sbuf *b, const plan_ew_op *e, int i)
{
    const plan_ew_node *n = &e->node[i];
    switch (n->op) {
    case DSMLP_OP_INPUT: dsmlpB_sb_printf(b, "x%d", n->leaf); return;
    case DSMLP_OP_ADD: case DSMLP_OP_BIAS:
        dsmlpB_sb_put(b, "(", 1);
        ew_text(b, e, n->src[0]);
        dsmlpB_sb_put(b, " + ", 3);
        ew_text(b, e, n->src[1]);
        dsmlpB_sb_put(b, ")", 1);
        return;
    case DSMLP_OP_SCALE:
        dsmlpB_sb_put(b, "(", 1);
        ew_text(b, e, n->src[0]);
        dsmlpB_sb_printf(b, " * (float)%.17g)", n->c);
        return;
    default: {   /* the activations */
        static const char *const fn[] = {[DSMLP_OP_GELU_TANH] = "ds_gelu_tanh", [DSMLP_OP_GELU_ERF] = "ds_gelu_erf",
                                         [DSMLP_OP_RELU] = "ds_relu", [DSMLP_OP_SILU] = "ds_silu"};
        dsmlpB_sb_printf(b, "%s(", fn[n->op]);
        ew_text(b, e, n->src[0]);
        dsmlpB_sb_put(b, ")", 1);
        return;
    }
    }
}

static uint32_t fnv1a(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

/* Name (without "dsmlp_" and "_v<VEC>") and the comment line of an element-wise kernel. */
static void ew_names(const plan *p, const plan_kernel *k, const plan_ew_op *e, int64_t n, const char *ex, char *prefix,
                     size_t pcap, char *what, size_t wcap)
{
    const char *dt = dsmlp_dtype_name(p->bufs[k->args[0]].dtype);
    if (k->kind == KERN_ACT) {
        const plan_ew_node *r = &e->node[e->root];
        int bias = e->node[r->src[0]].op == DSMLP_OP_BIAS;
        snprintf(prefix, pcap, "act_%s%s_%s_n%lld", bias ? "bias_" : "", dsmlp_op_name(r->op), dt, (long long)n);
        snprintf(what, wcap, "%s%s", bias ? "bias + " : "", dsmlp_op_name(r->op));
    } else if (k->kind == KERN_RESIDUAL) {
        snprintf(prefix, pcap, "residual_%s_n%lld_a%d", dt, (long long)n, e->nleaves);
        snprintf(what, wcap, "sum of %d addends", e->nleaves);
    } else if (e->root < 0) {
        snprintf(prefix, pcap, "copy_%s_n%lld", dt, (long long)n);
        snprintf(what, wcap, "copy");
    } else {
        snprintf(prefix, pcap, "ew_%s_n%lld_%08x", dt, (long long)n, fnv1a(ex));
        snprintf(what, wcap, "expression %.400s", ex);
    }
}

dsmlp_status dsmlpC_emit_elemwise(dsmlp_ctx *ctx, const plan *p, plan_kernel *k, const plan_ew_op *e, int64_t n,
                                  int uniq)
{
    int vec = (int)(16 / max_elem(p, k));
    int64_t m = vec / gcd64(n, vec);                 /* RPB * n must be a multiple of vec */
    int64_t rpb = round_up(n >= 1024 * vec ? 1 : (1024 * vec) / n, m);
    sbuf ex = {0}, op = {0}, loads = {0}, va = {0}, sa = {0}, pr = {0};
    if (e->root >= 0) ew_text(&ex, e, e->root);
    for (int l = 0; e->root < 0 && l < e->nleaves; l++) dsmlpB_sb_printf(&ex, "%sx%d", l ? " + " : "", l);
    if (ex.oom) return dsmlpB_err_set(ctx, DSMLP_ERR_NOMEM, "codegen: out of memory");
    char prefix[PLAN_NAME_MAX], what[PLAN_TEXT_MAX];
    ew_names(p, k, e, n, ex.p ? ex.p : "", prefix, sizeof prefix, what, sizeof what);
    dsmlpC_emit_set_name(k, prefix, vec, uniq);
    int nleaves = k->nargs - 1;
    for (int l = 0; l < nleaves; l++) {
        int a = l + 1;
        dsmlpB_sb_printf(&op, "%sfloat x%d", l ? ", " : "", l);
        dsmlpB_sb_printf(&va, "%sx%d[j]", l ? ", " : "", l);
        if (arg_is_vec(p, k, a)) {
            if (n % vec == 0) {
                dsmlpB_sb_printf(&loads, "        float x%d[DS_VEC];\n        ds_load<DS_VEC>(a%d + i %% DS_N, x%d);\n", l, a, l);
            } else {
                dsmlpB_sb_printf(&loads, "        float x%d[DS_VEC];\n#pragma unroll\n        for (int j = 0; j < DS_VEC; j++) x%d[j] = ds_to_f(a%d[(i + j) %% DS_N]);\n",
                          l, l, a);
            }
            dsmlpB_sb_printf(&sa, "%sds_to_f(a%d[i %% DS_N])", l ? ", " : "", a);
        } else {
            dsmlpB_sb_printf(&loads, "        float x%d[DS_VEC];\n        ds_load<DS_VEC>(a%d + i, x%d);\n", l, a, l);
            dsmlpB_sb_printf(&sa, "%sds_to_f(a%d[i])", l ? ", " : "", a);
        }
    }
    if (!nleaves) dsmlpB_sb_printf(&op, "void");
    dsmlpC_emit_params(&pr, p, k, 1);
    int gx = grid_x_for(ceil_div(rpb * n, vec));
    char nn[32], v[16], rp[32], gxs[16];
    const char *kv[] = {"NAME", k->name, "WHAT", what, "N", I2S(nn, n), "VEC", I2S(v, vec), "RPB", I2S(rp, rpb),
                        "THREADS", "256", "GRID_X", I2S(gxs, gx), "OUT_T", dsmlpC_emit_ctype(p->bufs[k->args[0]].dtype),
                        "OP_PARAMS", op.p ? op.p : "", "EXPR", ex.p ? ex.p : "", "PARAMS", pr.p ? pr.p : "",
                        "VEC_LOADS", loads.p ? loads.p : "", "VEC_ARGS", va.p ? va.p : "",
                        "SCALAR_ARGS", sa.p ? sa.p : "", NULL};
    dsmlp_status st = (op.oom || loads.oom || va.oom || sa.oom || pr.oom)
                          ? dsmlpB_err_set(ctx, DSMLP_ERR_NOMEM, "codegen: out of memory")
                          : dsmlpC_emit_fill(ctx, "elemwise.cu", kv, &k->source);
    free(ex.p), free(op.p), free(loads.p), free(va.p), free(sa.p), free(pr.p);
    k->rows_fixed = 0, k->rows_per_block = (int)rpb, k->grid_x = gx, k->threads = 256, k->smem_bytes = 0;
    return st;
}

/* ------------------------------------------------------------------ gated */

dsmlp_status dsmlpC_emit_gated(dsmlp_ctx *ctx, const plan *p, plan_kernel *k, dsmlp_act act, int64_t n, int uniq)
{
    int vec = dsmlpC_emit_vec_width(n, max_elem(p, k));
    int64_t rpb = n >= 1024 * vec ? 1 : (1024 * vec) / n;
    int pair = k->nargs > 1 && p->bufs[k->args[1]].cols == n;   /* up and gate in two buffers */
    int has_bias = k->nargs > (pair ? 3 : 2);
    char base[PLAN_NAME_MAX * 2];
    snprintf(base, sizeof base, "gated_%s%s%s_%s_n%lld", dsmlpC_emit_act_name(act), pair ? "_pair" : "",
             has_bias ? "_bias" : "", dsmlp_dtype_name(p->bufs[k->args[0]].dtype), (long long)n);
    dsmlpC_emit_set_name(k, base, vec, uniq);
    sbuf pr = {0};
    dsmlpC_emit_params(&pr, p, k, 1);
    int gx = grid_x_for(rpb * (n / vec));
    char nn[32], v[16], rp[32], gxs[16], in_what[128];
    if (pair) snprintf(in_what, sizeof in_what, "up (a1) and gate (a2) are [T, %lld] each", (long long)n);
    else snprintf(in_what, sizeof in_what, "x is [T, 2*%lld], up half first, gate half second", (long long)n);
    const char *kv[] = {"NAME", k->name, "N", I2S(nn, n), "ACT", dsmlpC_emit_act_name(act), "ACT_FN", dsmlpC_emit_act_fn(act),
                        "VEC", I2S(v, vec), "RPB", I2S(rp, rpb), "THREADS", "256", "GRID_X", I2S(gxs, gx),
                        "HAS_BIAS", has_bias ? "1" : "0", "Y_T", dsmlpC_emit_ctype(p->bufs[k->args[0]].dtype),
                        "INPUT_WHAT", in_what,
                        "UP", pair ? "a1 + row * DS_N + c" : "a1 + row * (2 * DS_N) + c",
                        "GATE", pair ? "a2 + row * DS_N + c" : "a1 + row * (2 * DS_N) + DS_N + c",
                        "BIAS_UP", pair ? "a3 + c" : "a2 + c", "BIAS_GATE", pair ? "a4 + c" : "a2 + DS_N + c",
                        "PARAMS", pr.p ? pr.p : "", "TL_BEGIN", DSMLP_TIMELINE ? EMIT_TL_BEGIN : "",
                        "TL_END", DSMLP_TIMELINE ? "   " EMIT_TL_END "\n" : "", NULL};
    dsmlp_status st = pr.oom ? dsmlpB_err_set(ctx, DSMLP_ERR_NOMEM, "codegen: out of memory") : dsmlpC_emit_fill(ctx, "gated.cu", kv, &k->source);
    free(pr.p);
    k->kind = KERN_GATED;
    k->rows_fixed = 0, k->rows_per_block = (int)rpb, k->grid_x = gx, k->threads = 256, k->smem_bytes = 0;
    return st;
}

/* ---------------------------------------------------------------- dequant */

dsmlp_status dsmlpC_emit_dequant(dsmlp_ctx *ctx, const plan *p, plan_kernel *k, int64_t groups, int uniq)
{
    const plan_buf *w = &p->bufs[k->args[0]];
    int64_t R = w->rows, C = w->cols;
    if (groups <= 0 || R % groups)
        return dsmlpB_err_set(ctx, DSMLP_ERR_SHAPE, "codegen: dequant of %lld rows into %lld groups: groups must divide rows",
                       (long long)R, (long long)groups);
    int vec = dsmlpC_emit_vec_width(C, max_elem(p, k));
    int64_t rpb = C >= 1024 * vec ? 1 : (1024 * vec) / C;
    if (rpb < min_rpb(R)) rpb = min_rpb(R);
    char base[PLAN_NAME_MAX * 2];
    dsmlp_dtype qt = p->bufs[k->args[1]].dtype;   /* i8 keeps its old names; fp8 says so */
    snprintf(base, sizeof base, "dequant_%s%s%s_r%lld_c%lld_g%lld", qt == DSMLP_I8 ? "" : dsmlp_dtype_name(qt),
             qt == DSMLP_I8 ? "" : "_", dsmlp_dtype_name(w->dtype), (long long)R, (long long)C, (long long)groups);
    dsmlpC_emit_set_name(k, base, vec, uniq);
    sbuf pr = {0};
    dsmlpC_emit_params(&pr, p, k, 1);
    int gx = grid_x_for(rpb * (C / vec));
    char r[32], c[32], g[32], rg[32], v[16], rp[32], gxs[16];
    const char *kv[] = {"NAME", k->name, "R", I2S(r, R), "C", I2S(c, C), "GROUPS", I2S(g, groups),
                        "ROWS_PER_GROUP", I2S(rg, R / groups), "VEC", I2S(v, vec), "RPB", I2S(rp, rpb),
                        "THREADS", "256", "GRID_X", I2S(gxs, gx), "PARAMS", pr.p ? pr.p : "", NULL};
    dsmlp_status st = pr.oom ? dsmlpB_err_set(ctx, DSMLP_ERR_NOMEM, "codegen: out of memory") : dsmlpC_emit_fill(ctx, "dequant.cu", kv, &k->source);
    free(pr.p);
    k->kind = KERN_DEQUANT;
    k->rows_fixed = R, k->rows_per_block = (int)rpb, k->grid_x = gx, k->threads = 256, k->smem_bytes = 0;
    return st;
}

/* ------------------------------------------------------------------- gemv */

static const char *epi_tag(plan_epilogue e)
{
    static const char *const t[] = {"none", "bias", "bias_relu", "bias_gelu", "relu", "gelu"};
    return (unsigned)e <= EPI_GELU ? t[e] : "?";
}

#define GEMV_WAVE 264         /* 2 blocks x 132 SMs (H100 SXM, H200) */
#define GEMV_THREADS 256
#define GEMV_XS_BYTES EMIT_GEMV_XS_BYTES   /* x stage; + at most 8 KiB of reduction slots: < 48 KiB static */

/* An [in,out] GEMV's grid: cw 16-byte column slices a block, `split` blocks along y over k. Unsplit, as many blocks
** as fit in one wave (2 per SM of a 132-SM part; a second, partial wave cost 3% on the H200), each reading at least
** 64 contiguous bytes of a row. A narrow, deep weight then gets 64-byte pieces, half a DRAM burst: SwiGLU-8192's
** second GEMV (n 8192, k 28672) streamed 2.3 TB/s where cuBLASLt's split-k one did 3.0 (bench/RESULTS.md,
** sixty-first session). So where the pieces would be narrower than GEMV_SPLIT_PIECE and the weight is large (a
** small one is latency-bound), blocks take GEMV_SPLIT_PIECE-byte pieces of a k range and split k to fill the wave;
** their partial sums meet in a scratch (templates/gemv.cu ds_split_finish). */
#define GEMV_SPLIT_PIECE 256
#define GEMV_SPLIT_MIN_BYTES ((int64_t)32 << 20)
#define GEMV_SPLIT_MAX 8
#define GEMV_SPLIT_MIN_ROWS 512   /* rows of W a split block reads, at least */
typedef struct gemv_io_grid { int cw, split; int64_t colblocks; } gemv_io_grid;

static gemv_io_grid gemv_io_shape(int64_t n, int64_t k, size_t wsz, int norm)
{
    const int vec = dsmlpC_emit_vec_width(n, wsz);
    const int64_t ns = n / vec;
    int cw = (int)(64 / ((size_t)vec * wsz));
    if (cw < 1) cw = 1;
    while (cw < 32 && ceil_div(ns, cw) > GEMV_WAVE) cw *= 2;
    gemv_io_grid g = {cw, 1, ceil_div(ns, cw)};
    const int wide = (int)(GEMV_SPLIT_PIECE / ((size_t)vec * wsz));
    if (norm || cw >= wide || wide > 32 || n * k * (int64_t)wsz < GEMV_SPLIT_MIN_BYTES) return g;
    const int64_t cb = ceil_div(ns, wide);
    int64_t split = GEMV_WAVE / cb;
    if (split > GEMV_SPLIT_MAX) split = GEMV_SPLIT_MAX;
    if (split > k / GEMV_SPLIT_MIN_ROWS) split = k / GEMV_SPLIT_MIN_ROWS;
    if (split >= 2) g.cw = wide, g.split = (int)split, g.colblocks = cb;
    return g;
}

/* The scratch: the counters (one per column block, whole 256-byte lines), then the partial sums; 0 bytes unsplit. */
static int64_t gemv_cnt_words(const gemv_io_grid *g) { return round_up(g->colblocks, 64); }
static size_t gemv_scratch_bytes(const gemv_io_grid *g, const emit_gemv_spec *s)
{
    return g->split > 1 ? (size_t)(gemv_cnt_words(g) + (int64_t)g->split * s->max_t * s->n) * 4 : 0;
}

size_t dsmlpC_emit_gemv_scratch_bytes(const emit_gemv_spec *s, size_t wsz)
{
    if (s->layout != DSMLP_LAYOUT_IN_OUT || s->gated) return 0;
    const gemv_io_grid g = gemv_io_shape(s->n, s->k, wsz, s->norm != NULL);
    return gemv_scratch_bytes(&g, s);
}

/* The decode GEMV's prologue where it computes the norm before it (lower.c gemv_fuse): every block sums the T rows'
** addends, normalizes them into its x stage (rows past T zeroed), block 0 writing the sum output. */
static void gemv_norm_stage(sbuf *out, const plan *p, const plan_kernel *k, const emit_gemv_spec *s)
{
    const emit_norm_spec *n = s->norm;
    const int nv = dsmlpC_emit_vec_width(s->k, max_elem(p, k));
    int a = 3 + (s->groups > 0) + s->has_bias + s->has_c;   /* the norm's arguments follow the GEMV's own */
    const int side = n->has_side ? a++ : -1, gam = a++, bet = n->has_beta ? a++ : -1, t0 = a;
    char eps[40], goff[40];
    snprintf(eps, sizeof eps, "%.17g", n->eps);
    snprintf(goff, sizeof goff, "%.17g", n->gamma_offset);
    /* The norm's weight and bias are loaded with the first row's addends (no dependent trip after the reductions,
    ** where the other blocks' weight stream keeps L2 busy: GELU-4096 int8 T = 1 0.3-0.6 us, bench/RESULTS.md, fiftieth
    ** session) while they take at most 32 registers a thread; else each where it is used. */
    const int ni = (int)ceil_div(ceil_div(s->k, nv), GEMV_THREADS), early = ni * nv * (bet >= 0 ? 2 : 1) <= 32;
    char gb_load[2][192];
    for (int e = 0; e < 2; e++) {
        const char *ind = e ? "            " : "                ";
        const int len = snprintf(gb_load[e], sizeof gb_load[e], "%sds_load<NV>(a%d + c, g[it]);\n", ind, gam);
        if (bet >= 0) snprintf(gb_load[e] + len, sizeof gb_load[e] - (size_t)len, "%sds_load<NV>(a%d + c, b[it]);\n", ind, bet);
        else snprintf(gb_load[e] + len, sizeof gb_load[e] - (size_t)len, "#pragma unroll\n%sfor (int j = 0; j < NV; j++) b[it][j] = 0.0f;\n", ind);
    }
    char early_loop[512] = "";
    if (early)
        snprintf(early_loop, sizeof early_loop, "#pragma unroll\n"
                 "        for (int it = 0; it < NI; it++) {\n"
                 "            const ds_i64 c = (threadIdx.x + (ds_i64)it * DS_THREADS) * NV;\n"
                 "            if (c >= DS_K) continue;\n"
                 "%s"
                 "        }\n", gb_load[1]);
    dsmlpB_sb_printf(out, "    {   // x = %s of the sum of %d addend(s), whole rows into the stage (no norm kernel at these T)\n"
                     "        __shared__ float ds_nred[32];\n"
                     "        constexpr int NV = %d, NI = (int)((DS_K / NV + DS_THREADS - 1) / DS_THREADS);\n"
                     "        constexpr ds_i64 KP = (DS_K + 15) / 16 * 16;\n"
                     "        float g[NI][NV], b[NI][NV];   // the norm's weight and bias%s\n"
                     "%s"
                     "        for (long long t = 0; t < %d; t++) {\n"
                     "            if (t >= T) {   // rows the bodies multiply but never store\n"
                     "                for (ds_i64 e = threadIdx.x; e < KP; e += DS_THREADS) xs[t * KP + e] = ds_from_f<ds_x_t>(0.0f);\n"
                     "                continue;\n"
                     "            }\n"
                     "            float v[NI][NV], sum = 0.0f;\n"
                     "#pragma unroll\n"
                     "            for (int it = 0; it < NI; it++) {\n"
                     "                const ds_i64 c = (threadIdx.x + (ds_i64)it * DS_THREADS) * NV;\n"
                     "                if (c >= DS_K) continue;\n"
                     "                float u[NV];\n",
                     n->rms ? "RMSNorm" : "LayerNorm", n->nterms, nv,
                     early ? ", loaded with the first row's addends" : " (each loaded where it is used)", early_loop, s->max_t);
    for (int t = 0; t < n->nterms; t++)
        dsmlpB_sb_printf(out, "                ds_load<NV>(a%d + %s, u);\n"
                         "#pragma unroll\n                for (int j = 0; j < NV; j++) v[it][j] %s u[j];\n",
                         t0 + t, arg_is_vec(p, k, t0 + t) ? "c" : "t * DS_K + c", t ? "+=" : "=");
    dsmlpB_sb_printf(out, "#pragma unroll\n                for (int j = 0; j < NV; j++) sum += v[it][j];\n");
    if (side >= 0)
        dsmlpB_sb_printf(out, "                if (blockIdx.x == 0)   // the norm's sum output (a const parameter: one writer)\n"
                         "                    ds_store<NV>(const_cast<%s *>(a%d) + t * DS_K + c, v[it]);\n",
                         dsmlpC_emit_ctype(p->bufs[k->args[side]].dtype), side);
    dsmlpB_sb_printf(out, "            }\n"
                     "            const float mean = %s;\n"
                     "            float sq = 0.0f;\n"
                     "#pragma unroll\n"
                     "            for (int it = 0; it < NI; it++)\n"
                     "                if ((threadIdx.x + (ds_i64)it * DS_THREADS) * NV < DS_K)\n"
                     "#pragma unroll\n"
                     "                    for (int j = 0; j < NV; j++) sq += (v[it][j] - mean) * (v[it][j] - mean);\n"
                     "            const float rstd = rsqrtf(ds_block_sum(sq, ds_nred) / (float)DS_K + (float)%s);\n"
                     "#pragma unroll\n"
                     "            for (int it = 0; it < NI; it++) {\n"
                     "                const ds_i64 c = (threadIdx.x + (ds_i64)it * DS_THREADS) * NV;\n"
                     "                if (c >= DS_K) continue;\n"
                     "%s",
                     n->rms ? "0.0f" : "ds_block_sum(sum, ds_nred) / (float)DS_K", eps, early ? "" : gb_load[0]);
    if (n->writes_x)   /* a later step reads x: block 0 stores it, rounded as the stage holds it */
        dsmlpB_sb_printf(out, "                float o[NV];\n"
                         "#pragma unroll\n"
                         "                for (int j = 0; j < NV; j++) {\n"
                         "                    o[j] = (v[it][j] - mean) * rstd * (g[it][j] + (float)%s) + b[it][j];\n"
                         "                    xs[t * KP + c + j] = ds_from_f<ds_x_t>(o[j]);\n"
                         "                }\n"
                         "                if (blockIdx.x == 0)   // the norm's output for the later steps (one writer)\n"
                         "                    ds_store<NV>(const_cast<%s *>(a1) + t * DS_K + c, o);\n",
                         goff, dsmlpC_emit_ctype(p->bufs[k->args[1]].dtype));
    else
        dsmlpB_sb_printf(out, "#pragma unroll\n"
                         "                for (int j = 0; j < NV; j++)\n"
                         "                    xs[t * KP + c + j] = ds_from_f<ds_x_t>((v[it][j] - mean) * rstd * (g[it][j] + (float)%s) + b[it][j]);\n",
                         goff);
    dsmlpB_sb_printf(out, "            }\n"
                     "        }\n"
                     "        __syncthreads();\n"
                     "    }\n");
}

dsmlp_status dsmlpC_emit_gemv(dsmlp_ctx *ctx, const plan *p, plan_kernel *k, const emit_gemv_spec *s, int uniq)
{
    const int io = s->layout == DSMLP_LAYOUT_IN_OUT;
    dsmlp_dtype dt = p->bufs[k->args[0]].dtype, xt = p->bufs[k->args[1]].dtype, wt = p->bufs[k->args[2]].dtype;
    if (s->max_t < 1 || s->max_t > EMIT_GEMV_MAX_T || s->n < 1 || s->k < 1)
        return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "codegen: gemv for T <= %d, n = %lld, k = %lld: need 1 <= T <= %d",
                       s->max_t, (long long)s->n, (long long)s->k, EMIT_GEMV_MAX_T);
    if (s->gated && (io || s->n % 2 || s->has_c || s->epi != EPI_NONE))
        return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "codegen: a gated gemv needs [out,in] weights, an even n "
                              "(n = %lld) and no epilogue of its own", (long long)s->n);
    if (s->post_act && (s->gated || s->post_act > DSMLP_ACT_COUNT || (s->epi != EPI_NONE && s->epi != EPI_BIAS)))
        return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "codegen: a gemv's own activation (%d) needs no gating and an "
                              "epilogue without one", s->post_act - 1);
    const int quant = s->groups > 0 ? (wt == DSMLP_I8 ? 1 : wt == DSMLP_FP8_E4M3 ? 2 : -1) : 0;
    if (quant && (io || quant < 0 || s->n % s->groups || k->nargs < 4))
        return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "codegen: a quantized gemv needs [out,in] i8 or fp8 codes (%s, %s), "
                              "n = %lld rows in whole scale groups (%lld) and its scales", io ? "[in,out]" : "[out,in]",
                              dsmlp_dtype_name(wt), (long long)s->n, (long long)s->groups);
    size_t wsz = dsmlp_dtype_size(wt), xsz = dsmlp_dtype_size(xt);
    int vec = dsmlpC_emit_vec_width(io ? s->n : s->k, wsz), vx = dsmlpC_emit_vec_width(s->k, xsz);
    int cw = 1, unroll, rounds = 1, split = 1;
    int64_t blocks = 0;
    gemv_io_grid g = {1, 1, 0};
    if (io) {
        g = gemv_io_shape(s->n, s->k, wsz, s->norm != NULL);
        cw = g.cw, split = g.split, blocks = g.colblocks;
        unroll = 16;
        const size_t need = gemv_scratch_bytes(&g, s);
        if (need && (k->nargs < 4 || p->bufs[k->args[k->nargs - 1]].kind != BUF_SCRATCH ||
                     p->bufs[k->args[k->nargs - 1]].ws_bytes < need))
            return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "codegen: gemv n = %lld, k = %lld splits k in %d: its last "
                                  "argument must be a scratch of %zu bytes", (long long)s->n, (long long)s->k, split, need);
    } else {
        /* A warp owns cw columns at a time (at most 4: registers; gated: up and gate rows in pairs); `blocks` cover
        ** the columns in one round, and the runtime launches the fewest rounds that fit the device at once
        ** (dsmlpC_gemv_grid): a partial second wave ran blocks up to 17 us after the first's (GELU-4096 f16's first
        ** GEMM: 512 blocks, bench/RESULTS.md, twenty-fifth session). cw: the fullest grid on a GEMV_WAVE-block
        ** device, fewest rounds on a tie. */
        int64_t nw = GEMV_THREADS / 32, best = 0;
        for (int c = s->gated ? 2 : 1; c <= 4; c *= 2) {
            const int64_t one = ceil_div(s->n, nw * c), r = ceil_div(one, GEMV_WAVE), b = ceil_div(one, r);
            if (b > best || (b == best && r < rounds)) best = b, blocks = one, cw = c, rounds = (int)r;
        }
        unroll = 16;
    }
    if (blocks > 0x7fffffff)
        return dsmlpB_err_set(ctx, DSMLP_ERR_UNSUPPORTED, "codegen: gemv n = %lld needs %lld blocks", (long long)s->n,
                       (long long)blocks);
    int64_t kpad = round_up(s->k, 16), xs = GEMV_XS_BYTES / (int64_t)xsz;
    if (xs > s->max_t * kpad) xs = s->max_t * kpad;
    int red = io ? (GEMV_THREADS / 32) * cw * vec : 1;
    sbuf nst = {0};
    if (s->norm) {   /* x = norm(sum of the addends), computed by every block into its stage (lower.c gemv_fuse) */
        const emit_norm_spec *n = s->norm;
        if (n->h != s->k || n->nextra || xs < s->max_t * kpad || n->nterms < 1)
            return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "codegen: gemv with its norm: h = %lld, k = %lld, %d extra "
                                  "addends, x stage %lld < %d x %lld", (long long)n->h, (long long)s->k, n->nextra,
                                  (long long)xs, s->max_t, (long long)kpad);
        gemv_norm_stage(&nst, p, k, s);
    }

    char base[PLAN_NAME_MAX * 2], dts[32] = "";
    if (wt != dt) snprintf(dts + strlen(dts), sizeof dts - strlen(dts), "_w%s", dsmlp_dtype_name(wt));
    if (xt != dt) snprintf(dts + strlen(dts), sizeof dts - strlen(dts), "_x%s", dsmlp_dtype_name(xt));
    char gtag[48] = "", ntag[32] = "";
    if (s->gated) snprintf(gtag, sizeof gtag, "gated_%s%s", dsmlpC_emit_act_name(s->gated_act), s->has_bias ? "_bias" : "");
    if (s->norm)
        snprintf(ntag, sizeof ntag, "_%s%s%d%s%s", s->norm->rms ? "rms" : "ln", s->norm->gamma_offset != 0.0 ? "goff" : "",
                 s->norm->nterms, s->norm->has_side ? "s" : "", s->norm->writes_x ? "x" : "");
    if (quant) {   /* the scales' groups (per channel: "ch") and type */
        char g[24] = "ch";
        if (s->groups != s->n) I2S(g, s->groups);
        snprintf(dts + strlen(dts), sizeof dts - strlen(dts), "_g%s%s", g, dsmlp_dtype_name(p->bufs[k->args[3]].dtype));
    }
    const int act = dsmlpC_emit_epi_act(s->epi, s->post_act);
    const char *act_fn = dsmlpC_emit_epi_act_name(act);
    char etag[48];
    if (s->post_act) snprintf(etag, sizeof etag, "%s%s", s->epi == EPI_BIAS ? "bias_" : "", act_fn);
    snprintf(base, sizeof base, "gemv_%s_%s%s_n%lld_k%lld_%s%s%s_t%d", io ? "io" : "oi", dsmlp_dtype_name(dt), dts,
             (long long)s->n, (long long)s->k, s->gated ? gtag : s->post_act ? etag : epi_tag(s->epi), s->has_c ? "_c" : "",
             ntag, s->max_t);
    if (split > 1) snprintf(base + strlen(base), sizeof base - strlen(base), "_s%d", split);
    dsmlpC_emit_set_name(k, base, vec, uniq);

    char what[160];
    if (s->gated)
        snprintf(what, sizeof what, "y[T, n / 2] = (up + bu) * %s(gate + bg) of [up | gate] = x·W%s",
                 dsmlpC_emit_act_name(s->gated_act), s->has_bias ? ", bias [bu | bg]" : " (no bias)");
    else
        snprintf(what, sizeof what, "%s%sx·W%s%s%s", act_fn, act ? "(" : "", s->has_bias ? " + bias" : "",
                 s->has_c ? " + C" : "", act ? ")" : "");
    sbuf pr = {0}, dsp = {0};
    dsmlpC_emit_params(&pr, p, k, 1);
    for (int tt = 1; tt < s->max_t; tt *= 2)
        dsmlpB_sb_printf(&dsp, "    if (T <= %d) { ds_body<%d>(T, a0, a1, a2, sc, bias, cptr, xs, ds_red, sp);%s return; }\n", tt, tt,
                         DSMLP_TIMELINE ? EMIT_TL_END : "");
    dsmlpB_sb_printf(&dsp, "    ds_body<%d>(T, a0, a1, a2, sc, bias, cptr, xs, ds_red, sp);%s", s->max_t, DSMLP_TIMELINE ? EMIT_TL_END : "");
    int ba = 3 + (quant > 0), ca = ba + s->has_bias;
    /* int8 or fp8 codes (fp8: sm_89's pair conversion) times f16 x in f16 pairs, 16 codes a load (templates/gemv.cu
    ** ds_hmac16); bf16 x stays fp32 */
    const int half_mac = xt == DSMLP_F16 && vec == 16 && (quant == 1 || (quant == 2 && dsmlpC_arch_fp8_cvt(p)));
    char nn[32], kk[32], v[16], vxs[16], mt[16], th[16], cws[16], un[16], xe[32], re[16], gx[32], bas[16], cas[16], qs[4],
        rpg[32], lw[96], ac[16], pf[16], spl[16], spi[160] = "{nullptr, nullptr}";
    if (split > 1) {
        snprintf(spi, sizeof spi, "{reinterpret_cast<unsigned *>(const_cast<float *>(a%d)), const_cast<float *>(a%d) + %lld}",
                 k->nargs - 1, k->nargs - 1, (long long)gemv_cnt_words(&g));
    }
    snprintf(lw, sizeof lw, "%s%s", io ? "[K, N] (in,out)" : "[N, K] (out,in)",
             quant == 1 ? " = scales[row / rpg] * int8 codes" : quant == 2 ? " = scales[row / rpg] * fp8 e4m3 codes" : "");
    snprintf(bas, sizeof bas, s->has_bias ? "a%d" : "nullptr", ba);
    snprintf(cas, sizeof cas, s->has_c ? "a%d" : "nullptr", ca);
    const char *kv[] = {"NAME", k->name, "N", I2S(nn, s->n), "K", I2S(kk, s->k), "MAXT", I2S(mt, s->max_t),
                        "EPI_WHAT", what, "LAYOUT_WHAT", lw, "QUANT", I2S(qs, quant),
                        "RPG", I2S(rpg, quant ? s->n / s->groups : 1),
                        "S_T", dsmlpC_emit_ctype(quant ? p->bufs[k->args[3]].dtype : DSMLP_F32),
                        "SC_ARG", quant ? "a3" : "nullptr",
                        "VEC", I2S(v, vec), "VX", I2S(vxs, vx), "THREADS", I2S(th, GEMV_THREADS), "IO", io ? "1" : "0",
                        "CW", I2S(cws, cw), "UNROLL", I2S(un, unroll), "XS_ELEMS", I2S(xe, xs),
                        "HAS_BIAS", s->has_bias && !s->gated ? "1" : "0", "HAS_C", s->has_c ? "1" : "0",
                        "GATED", s->gated ? "1" : "0", "GATED_BIAS", s->gated && s->has_bias ? "1" : "0",
                        "GATED_ACT_FN", dsmlpC_emit_act_fn(s->gated ? s->gated_act : DSMLP_ACT_SILU),
                        "ACT", I2S(ac, act), "X_T", dsmlpC_emit_ctype(xt), "W_T", dsmlpC_emit_ctype(wt),
                        "D_T", dsmlpC_emit_ctype(dt), "B_T", dsmlpC_emit_ctype(s->has_bias ? p->bufs[k->args[ba]].dtype : dt),
                        "C_T", dsmlpC_emit_ctype(s->has_c ? p->bufs[k->args[ca]].dtype : dt), "GRID_X", I2S(gx, blocks),
                        "PARAMS", pr.p ? pr.p : "", "RED_ELEMS", I2S(re, red), "BIAS_ARG", bas, "C_ARG", cas,
                        "DISPATCH", dsp.p ? dsp.p : "", "TL_BEGIN", DSMLP_TIMELINE ? EMIT_TL_BEGIN : "",
                        "NORM", s->norm ? "1" : "0", "NORM_STAGE", nst.p ? nst.p : "", "HALF_MAC", half_mac ? "1" : "0", "PF_LINES", I2S(pf, EMIT_GEMV_PREFETCH_LINES),
                        "SPLIT", I2S(spl, split), "SPLIT_INIT", spi, NULL};
    dsmlp_status st = (pr.oom || dsp.oom || nst.oom) ? dsmlpB_err_set(ctx, DSMLP_ERR_NOMEM, "codegen: out of memory")
                                                     : dsmlpC_emit_fill(ctx, "gemv.cu", kv, &k->source);
    free(pr.p), free(dsp.p), free(nst.p);
    k->kind = KERN_GEMV;
    /* T <= max_t rows in one block row; a k split launches `split` of them (grid.y) */
    if (split > 1) k->rows_fixed = split, k->rows_per_block = 1;
    else k->rows_fixed = 0, k->rows_per_block = s->max_t;
    k->grid_x = (int)blocks, k->threads = GEMV_THREADS;
    k->gemv_rounds = !io;
    k->gemv_half_mac = half_mac;
    k->smem_bytes = 0;  /* static shared memory only */
    return st;
}
