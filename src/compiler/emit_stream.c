/* dsmlpC_emit_stream.c — fills templates/stream.cu: the weight-streaming GEMMs of the small-T route. */
#include "emit.h"
#include "emit_int.h"
#include "error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REG_BUDGET 232   /* registers a thread may use (1 block of 256 threads per SM) */
#define REG_BUDGET_2 124 /* ... 2 blocks per SM (<= 128 registers)                      */
#define REG_FIXED  48    /* addresses, cursors, loop state                            */
#define ACC_MAX    128   /* accumulators beyond this leave too little for loads       */
#ifndef DSMLP_STREAM_U_MAX     /* (-D for measurements only) */
#define DSMLP_STREAM_U_MAX 4
#endif
#ifndef DSMLP_STREAM_KCH_MAX
#define DSMLP_STREAM_KCH_MAX 1024
#endif
#define U_MAX      DSMLP_STREAM_U_MAX    /* load groups in flight per warp            */
#define KCH_MAX    DSMLP_STREAM_KCH_MAX  /* k per staged x chunk                      */

/* Dynamic shared memory a block may use: Hopper offers 227 KB, A100 163 KB, the others 99 KB. */
static size_t smem_budget(const char *arch)
{
    if (!strncmp(arch, "sm_90", 5)) return 200 * 1024;
    if (!strcmp(arch, "sm_80")) return 160 * 1024;
    return 96 * 1024;
}

/* The W ring kernels (sm_90) may take nearly all of it: one block per SM (227 KB is the opt-in limit; a T <= 16
** body's resident x needs the room). The T <= 8 body's budget is its own (-D for measurements only). */
#define PIPE_SMEM_BUDGET (224 * 1024)
#ifndef DSMLP_PIPE_SMEM8
#define DSMLP_PIPE_SMEM8 PIPE_SMEM_BUDGET
#endif
/* N > 0: the W ring kernels print SM-cycle counts of their phases (a few blocks, the N-th launch of each kernel).
** -D for measurements only. */
#ifndef DSMLP_RING_TRACE
#define DSMLP_RING_TRACE 0
#endif

static int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

/* Configuration of the body for NT n8-tiles of tokens; 0 when it does not fit. */
typedef struct body { int nt, u, qw; size_t smem; } body;

/* The shared-memory W ring (pipe variants): a stage holds one x chunk's k for every row of the tile, each row
** one bulk copy of at least PIPE_SEG bytes (shorter copies measured slow on an H200: bench/RESULTS.md, read
** patterns); up to PIPE_STAGES_MAX stages (4 stages of 32 rows x 1 KiB streamed at 3.6-3.7 TB/s there). The T <= 64
** body copies half a segment per row: 64 rows of x per stage leave room for two stages of that only. */
#define PIPE_SEG 1024
#define PIPE_STAGES_MAX EMIT_PIPE_STAGES_MAX

static size_t x_smem(int nstaged, int tp, int kch, int padt, size_t xbytes, int bct)
{
    const int xld = kch + ((padt - kch % 64) % 64 + 64) % 64;
    return 2 * (size_t)nstaged * tp * xld * xbytes + (size_t)tp * bct * 4 + 2 * (size_t)tp * 4 + 16;
}

/* Pipe bodies (T <= 8 or 16): shared memory as templates/stream.cu's ds_ring: stages of W rows (plus x rows without a
** norm), the mbarriers, the resident normalized x (with a norm), the k-warp slices and the reduction buffer. */
static int pipe_qw(const emit_stream_spec *s, size_t wbytes, int nt)
{
    const int kstep = 32 * s->lpr;
    const size_t seg = nt >= 8 ? PIPE_SEG / 2 : PIPE_SEG;
    int qw = 1;
    while ((size_t)qw * s->wk * kstep * wbytes < seg) qw++;
    return qw;
}
static int64_t pad_to(int64_t n, int padt) { return n + ((padt - n % 64) % 64 + 64) % 64; }
static size_t pipe_bytes(const emit_stream_spec *s, int nt, size_t wbytes, size_t xbytes, int stages)
{
    const int tp = 8 * nt, bct = s->wn * 16 * s->mt, kch = pipe_qw(s, wbytes, nt) * s->wk * 32 * s->lpr;
    const int padt = s->lpr == 1 ? 32 : 8;
    const int wpad = s->el * wbytes == 16 ? (s->lpr == 1 ? 64 : 16) : (s->lpr == 1 ? 32 : 64);
    const size_t stage = (size_t)bct * (kch * wbytes + wpad) + (s->norm ? 0 : (size_t)tp * pad_to(kch, padt) * xbytes);
    const size_t ring = (size_t)stages * stage + 16 * (size_t)stages;
    const size_t xres = s->norm ? (size_t)tp * pad_to(s->k, padt) * xbytes : 0;
    return ring + xres + ((size_t)s->wk * tp * (bct + 4) + (size_t)tp * bct + 2 * tp) * 4 + 16;
}
/* The most stages (PIPE_STAGES_MAX down to 2) that fit beside the body's x; 0 when not even two do. */
static int make_pipe_body(const emit_stream_spec *s, int nt, size_t wbytes, size_t xbytes, body *b)
{
    const size_t reserve = s->fused_part ? EMIT_FUSED_BAR_BYTES : 0;
    for (int stages = PIPE_STAGES_MAX; stages >= 2; stages--) {
        const size_t smem = pipe_bytes(s, nt, wbytes, xbytes, stages);
        if (smem + reserve <= (nt == 1 ? DSMLP_PIPE_SMEM8 : PIPE_SMEM_BUDGET)) {
            *b = (body){nt, stages, pipe_qw(s, wbytes, nt), smem};   /* u: the ring's stages */
            return 1;
        }
    }
    return 0;
}

/* The T <= 128 ring (warps across tokens, templates/stream.cu ds_body_tall): stages of W rows and x rows, row
** copies of TALL_SEG bytes of W (a stage of 128 rows x 256 B beside 128 rows of x fits twice), its mbarriers and
** the segment-end flag; no k-warp slices or reduction buffer (the sums stay in registers). */
#define TALL_SEG 256
/* its producer warps (cp.async issue: one warp could not keep up; -D for measurements only) */
#ifndef DSMLP_TALL_PWARPS
#define DSMLP_TALL_PWARPS 4
#endif
#define TALL_PWARPS DSMLP_TALL_PWARPS
static int tall_qw(size_t wbytes)
{
    int qw = 1;
    while ((size_t)qw * 32 * wbytes < TALL_SEG) qw++;
    return qw;
}
static size_t tall_bytes(const emit_stream_spec *s, int nt, size_t wbytes, size_t xbytes, int stages)
{
    const int tp = 8 * nt, bct = s->wn * 16 * s->mt, kch = tall_qw(wbytes) * 32;
    const int wpad = s->el * wbytes == 16 ? 64 : 32;   /* templates/stream.cu DS_WPAD with one piece per row */
    const size_t stage = (size_t)bct * (kch * wbytes + wpad) + (size_t)tp * pad_to(kch, 32) * xbytes;
    return (size_t)stages * stage + 16 * (size_t)stages + 16;
}
static int make_tall_body(const emit_stream_spec *s, int nt, size_t wbytes, size_t xbytes, body *b)
{
    for (int stages = PIPE_STAGES_MAX; stages >= 2; stages--) {
        const size_t smem = tall_bytes(s, nt, wbytes, xbytes, stages);
        if (smem <= PIPE_SMEM_BUDGET) {
            *b = (body){nt, stages, tall_qw(wbytes), smem};
            return 1;
        }
    }
    return 0;
}

static const body *body_nt(const body *b, int nb, int nt)
{
    for (int i = 0; i < nb; i++)
        if (b[i].nt == nt) return &b[i];
    return NULL;
}

static int make_body(const emit_stream_spec *s, const plan *p, int nt, int nstaged, size_t wbytes, size_t xbytes, body *b)
{
    const int budget = s->min_blocks > 1 ? REG_BUDGET_2 : REG_BUDGET;
    const int kstep = s->io ? 16 : 32 * s->lpr, tp = 8 * nt, mt = s->io ? s->el / 2 * s->lpr : s->mt;
    const int raw_regs = (s->io ? 4 : 2 * s->mt) * s->lpr * (int)((size_t)s->el * wbytes / 4);
    const int acc = 4 * mt * nt, bfrag = 2 * nt * s->lpr;
    if (acc > ACC_MAX) return 0;
    int umax = (budget - REG_FIXED - acc - bfrag) / raw_regs;
    if (umax > U_MAX) umax = U_MAX;
    const int bct = s->wn * (s->io ? 8 * s->el * s->lpr : 16 * s->mt);
    const int padt = s->io ? 16 : s->lpr == 1 ? 32 : 8;
    /* the most loads in flight that fit; then the largest x chunk (up to all of K) that fits */
    for (int u = umax; u >= 1; u--) {
        const int64_t kneed = ceil_div(s->k, (int64_t)kstep * s->wk * u) * kstep * s->wk * u;
        int best = 0;
        size_t best_smem = 0;
        for (int m = 1;; m++) {
            const int qw = m * u, kch = qw * s->wk * kstep;
            if (kch > KCH_MAX && m > 1) break;
            const size_t smem = x_smem(nstaged, tp, kch, padt, xbytes, bct);
            if (smem > smem_budget(p->arch) / (size_t)s->min_blocks) break;   /* blocks per SM share it */
            best = qw, best_smem = smem;
            if (kch >= kneed) break;
        }
        if (best) {
            *b = (body){nt, u, best, best_smem};
            return 1;
        }
    }
    return 0;
}

static const char *act_what(int act)
{
    static const char *const n[] = {"", "relu", "gelu_tanh", "gelu_erf", "silu"};
    return act >= 0 && act <= 4 ? n[act] : "?";
}

static void bind(sbuf *b, const char *var, const char *field, int a, const char *cast)
{
    if (a < 0) return;
    if (cast) dsmlpB_sb_printf(b, "    %s.%s = reinterpret_cast<%s>(a%d);\n", var, field, cast, a);
    else dsmlpB_sb_printf(b, "    %s.%s = a%d;\n", var, field, a);
}

void dsmlpC_emit_stream_bind(sbuf *bd, const char *var, const emit_stream_spec *s)
{
    bind(bd, var, "d", s->a_d, NULL);
    bind(bd, var, "side", s->a_side, NULL);
    bind(bd, var, "x", s->a_x, NULL);
    bind(bd, var, "gamma", s->a_gamma, NULL);
    bind(bd, var, "beta", s->a_beta, NULL);
    for (int i = 0; i < s->nterms; i++) {
        char f[32];
        snprintf(f, sizeof f, "term[%d]", i);
        bind(bd, var, f, s->a_term[i], NULL);
    }
    for (int i = 0; i < s->nextra; i++) {
        char f[32];
        snprintf(f, sizeof f, "extra[%d]", i);
        bind(bd, var, f, s->a_extra[i], NULL);
    }
    bind(bd, var, "wu", s->a_wu, NULL);
    bind(bd, var, "wg", s->a_wg, NULL);
    bind(bd, var, "bias", s->a_bias, NULL);
    bind(bd, var, "c", s->a_c, NULL);
    bind(bd, var, "su", s->a_su, NULL);
    bind(bd, var, "sg", s->a_sg, NULL);
    bind(bd, var, "part", s->a_part, NULL);
    bind(bd, var, "cnt", s->a_cnt, "unsigned *");
}

static dsmlp_dtype dt_of(const plan *p, const plan_kernel *k, int a, dsmlp_dtype dflt)
{
    return a >= 0 ? p->bufs[k->args[a]].dtype : dflt;
}

dsmlp_status dsmlpC_emit_stream(dsmlp_ctx *ctx, const plan *p, plan_kernel *k, const emit_stream_spec *s, int uniq)
{
    const dsmlp_dtype xt = s->norm ? dt_of(p, k, s->a_term[0], DSMLP_F16) : dt_of(p, k, s->a_x, DSMLP_F16);
    const dsmlp_dtype dt = dt_of(p, k, s->a_d, xt), wt = dt_of(p, k, s->a_wu, xt);
    if (xt != DSMLP_F16 && xt != DSMLP_BF16)
        return dsmlpB_err_set(ctx, DSMLP_ERR_UNSUPPORTED, "codegen: stream GEMM needs f16 or bf16 activations, not %s",
                       dsmlp_dtype_name(xt));
    if (s->pipe && (s->io || s->k % (32 * s->lpr) || s->min_blocks != 1 || strncmp(p->arch, "sm_90", 5)))
        return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "codegen: stream GEMM: the W ring takes [out,in] weights, k a "
                              "multiple of %d, one block per SM, sm_90 (k = %lld, %s)", 32 * s->lpr, (long long)s->k, p->arch);
    if (s->el != 8 && !(s->io && s->el == 4))
        return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "codegen: stream GEMM: %d elements per load (8, or 4 for [in,out])",
                       s->el);
    if ((s->gated && s->wn % 2) || s->wn * s->wk * 32 > 1024)
        return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "codegen: stream GEMM: bad warp grid %dx%d", s->wn, s->wk);
    const int tall = s->wt > 1;
    if (tall && (!s->pipe || s->wk != 1 || s->lpr != 1 || s->norm || s->wn * s->wt > 16 || (s->gated && s->mt % 2)))
        return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "codegen: stream GEMM: warps across tokens (%d) need the W ring, "
                              "no k split, one piece per row, no norm and an even piece count when gated", s->wt);
    const size_t wbytes = dsmlp_dtype_size(wt), xbytes = dsmlp_dtype_size(xt);
    int nstaged = s->norm ? 0 : 1;
    for (int i = 0; s->norm && i < s->nterms; i++) nstaged += !s->term_vec[i];
    /* Bodies for T <= 8, 32, 128 (n8 token tiles 1, 4, 16): each body costs NVRTC time, and at these token
    ** counts the kernel streams weights, so padding T = 9 up to 32 costs little (a few more MMAs per load). The W
    ** ring has bodies for T <= 8, 16, 32 and 64 where they fit: with a norm, 32 rows of resident x fit beside two
    ** stages up to K = 2048 or so; without one, a T <= 32 stage (1-byte weights) fits twice beside 8 consumer
    ** warps' slices only, and a T <= 64 one with half-length row segments. */
    static const int nts[] = {1, 4, 16}, pipe_nts[] = {1, 2, 4, 8}, tall_nts[] = {8, 16};
    const int *bnt = tall ? tall_nts : s->pipe ? pipe_nts : nts, nbnt = tall ? 2 : s->pipe ? 4 : 3;
    body bodies[4];
    int nb = 0;
    for (int i = 0; i < nbnt; i++) {
        if (bnt[i] < s->nt_lo || bnt[i] > s->nt_hi || (i > 0 && bnt[i - 1] >= s->max_nt)) continue;
        if (tall ? !make_tall_body(s, bnt[i], wbytes, xbytes, &bodies[nb])
                 : s->pipe ? !make_pipe_body(s, bnt[i], wbytes, xbytes, &bodies[nb])
                           : !make_body(s, p, bnt[i], nstaged, wbytes, xbytes, &bodies[nb]))
            break;
        nb++;
    }
    if (!nb && s->pipe)
        return dsmlpB_err_set(ctx, DSMLP_ERR_UNSUPPORTED, "codegen: stream GEMM n = %lld, k = %lld: the W ring does "
                              "not fit in shared memory", (long long)s->n, (long long)s->k);
    if (!nb)
        return dsmlpB_err_set(ctx, DSMLP_ERR_UNSUPPORTED, "codegen: stream GEMM n = %lld, k = %lld: no tile fits the registers",
                       (long long)s->n, (long long)s->k);
    const int maxnt = bodies[nb - 1].nt, threads = 32 * (s->wn * s->wk * (tall ? s->wt : 1) + (s->pipe ? (tall ? TALL_PWARPS : 1) : 0));
    size_t smem = 0;
    for (int i = 0; i < nb; i++)
        if (bodies[i].smem > smem) smem = bodies[i].smem;
    const int wcol = s->io ? 8 * s->el * s->lpr : 16 * s->mt, bcp = (s->gated ? s->wn / 2 : s->wn) * wcol;
    const int bct = s->wn * wcol, kstep = s->io ? 16 : 32 * s->lpr;

    /* name: dsmlp_ws_<io|oi>_<dt>[_w<wt>]_n<N>_k<K>[_<norm>][_<g?act>]_<el>x<wn>x<wk>_t<maxT>_v<el> */
    char base[PLAN_NAME_MAX * 2], wts[16] = "", nrm[8] = "", act[24] = "";
    if (wt != xt) snprintf(wts, sizeof wts, "_w%s", dsmlp_dtype_name(wt));
    if (s->norm) snprintf(nrm, sizeof nrm, "_%s", s->norm == 2 ? "rms" : "ln");
    if (s->act || s->gated) snprintf(act, sizeof act, "_%s%s", s->gated ? "g" : "", s->act ? act_what(s->act) : "id");
    char tw[16] = "";
    if (tall) snprintf(tw, sizeof tw, "x%dt", s->wt);
    snprintf(base, sizeof base, "ws_%s_%s%s_n%lld_k%lld%s%s_%dx%dx%d%s%s%s_t%d", s->io ? "io" : "oi", dsmlp_dtype_name(xt), wts,
             (long long)s->n, (long long)s->k, nrm, act, s->io ? s->el : s->mt, s->wn, s->wk, tw, s->lpr > 1 ? "w" : "",
             s->min_blocks > 1 ? "b2" : s->pipe ? "p" : "", 8 * maxnt);
    dsmlpC_emit_set_name(k, base, s->el, uniq);

    char what[256] = "", nwhat[200] = "";
    snprintf(what, sizeof what, "%s%s%sx·W%s%s%s%s%s", s->gated ? "(up" : "", s->act && !s->gated ? act_what(s->act) : "",
             s->act && !s->gated ? "(" : "", s->has_scale ? "·scale" : "", s->has_bias ? " + bias" : "",
             s->gated ? ") * " : "", s->gated ? act_what(s->act) : "", s->gated ? "(gate)" : (s->act ? ")" : ""));
    if (s->has_c) snprintf(what + strlen(what), sizeof what - strlen(what), " + C");
    if (s->norm)
        snprintf(nwhat, sizeof nwhat, "; x = %s(sum of %d term(s)) is computed here: every block recomputes the row "
                 "statistics, then normalizes each staged chunk%s", s->norm == 2 ? "RMSNorm" : "LayerNorm", s->nterms,
                 s->has_side ? ", and the block owning tile 0 writes the sum once" : "");

    sbuf tk = {0}, bd = {0}, dsp = {0}, pr = {0};
    dsmlpB_sb_printf(&tk, "__device__ __forceinline__ constexpr bool ds_term_vec(int i) { return false");
    for (int i = 0; i < s->nterms; i++)
        if (s->term_vec[i]) dsmlpB_sb_printf(&tk, " || i == %d", i);
    dsmlpB_sb_printf(&tk, "; }\n__device__ __forceinline__ constexpr bool ds_extra_vec(int i) { return false");
    for (int i = 0; i < s->nextra; i++)
        if (s->extra_vec[i]) dsmlpB_sb_printf(&tk, " || i == %d", i);
    dsmlpB_sb_printf(&tk, "; }\n__device__ __forceinline__ constexpr int ds_staged_term(int s) { return ");
    for (int i = 0, st = 0; i < s->nterms; i++)
        if (!s->term_vec[i]) dsmlpB_sb_printf(&tk, "s == %d ? %d : ", st++, i);
    dsmlpB_sb_printf(&tk, "-1; }");

    dsmlpC_emit_stream_bind(&bd, "A", s);
    for (int i = 0; i < nb; i++)
        if (tall)
            dsmlpB_sb_printf(&dsp, "    if (T <= %d) { ds_body_tall<%d, %d>(A, T, ds_smem); return; }\n", 8 * bodies[i].nt,
                             bodies[i].nt, bodies[i].qw);
        else if (s->pipe)
            dsmlpB_sb_printf(&dsp, "    if (T <= %d) { ds_body_pipe<%d, %d>(A, T, ds_smem); return; }\n", 8 * bodies[i].nt,
                             bodies[i].nt, bodies[i].qw);
        else
            dsmlpB_sb_printf(&dsp, "    if (T <= %d) { ds_body<%d, %d, %d>(A, T, ds_smem); return; }\n", 8 * bodies[i].nt,
                             bodies[i].nt, bodies[i].u, bodies[i].qw);
    int nout = 0;
    while (nout < k->nargs && (nout == s->a_d || nout == s->a_side || nout == s->a_part || nout == s->a_cnt)) nout++;
    dsmlpC_emit_params(&pr, p, k, nout);

    char n_[32], k_[32], ldw[32], goff[32], el[16], mt[16], wn[16], wk[16], maxtp[16], eps[40], go[40], nterms[16],
        nextra[16], nst[16], ac[16], qu[16], sdiv[32], th[16], sm[32], mxt[16], wb[32], trace[16], stg[5][16],
        qw[4][16], wt_[16], pw[16];
    snprintf(n_, sizeof n_, "%lld", (long long)s->n);
    snprintf(k_, sizeof k_, "%lld", (long long)s->k);
    snprintf(ldw, sizeof ldw, "%lld", (long long)s->ldw);
    snprintf(goff, sizeof goff, "%lld", (long long)s->gate_off);
    snprintf(el, sizeof el, "%d", s->el);
    snprintf(mt, sizeof mt, "%d", s->io ? s->el / 2 * s->lpr : s->mt);
    char lpr[16];
    snprintf(lpr, sizeof lpr, "%d", s->lpr);
    snprintf(wn, sizeof wn, "%d", s->wn);
    snprintf(wk, sizeof wk, "%d", s->wk);
    snprintf(maxtp, sizeof maxtp, "%d", 8 * maxnt);
    snprintf(mxt, sizeof mxt, "%d", 8 * maxnt);
    snprintf(eps, sizeof eps, "%.17g", s->eps);
    snprintf(go, sizeof go, "%.17g", s->goff);
    snprintf(nterms, sizeof nterms, "%d", s->nterms);
    snprintf(nextra, sizeof nextra, "%d", s->nextra);
    snprintf(nst, sizeof nst, "%d", nstaged);
    snprintf(ac, sizeof ac, "%d", s->act);
    snprintf(qu, sizeof qu, "%d", s->quant);
    snprintf(sdiv, sizeof sdiv, "%lld", (long long)(s->scale_div > 0 ? s->scale_div : 1));
    snprintf(th, sizeof th, "%d", threads);
    snprintf(sm, sizeof sm, "%zu", smem);
    snprintf(wb, sizeof wb, "%zu", wbytes);
    /* the ring bodies' stage counts (their u) and load groups; unused values for bodies this kernel does not have */
    for (int i = 0; i < 5; i++) {   /* the ring bodies for 1 ... 16 token tiles: STAGES8/QW8 ... STAGES128 */
        const body *rb = s->pipe ? body_nt(bodies, nb, 1 << i) : NULL;
        snprintf(stg[i], sizeof stg[i], "%d", rb ? rb->u : 2);
        if (i < 4) snprintf(qw[i], sizeof qw[i], "%d", rb && !tall ? rb->qw : 0);
    }
    snprintf(wt_, sizeof wt_, "%d", tall ? s->wt : 1);
    snprintf(pw, sizeof pw, "%d", tall ? TALL_PWARPS : 1);
    snprintf(trace, sizeof trace, "%d", DSMLP_RING_TRACE);
    const char *vt = dsmlpC_emit_ctype(s->norm ? dt_of(p, k, s->a_term[0], xt) : xt);
    const char *kv[] = {
        "NAME", k->name, "MAXT", mxt, "N", n_, "WHAT", what,
        "LAYOUT_WHAT", s->io ? "[K, ldw] (in,out)" : "[N, K] (out,in)", "WDT", dsmlp_dtype_name(wt), "EL", el,
        "NORM_WHAT", nwhat, "THREADS", th, "SMEM", sm, "IO", s->io ? "1" : "0", "K", k_, "LDW", ldw,
        "GATED", s->gated ? "1" : "0", "SEP_GATE", s->sep_gate ? "1" : "0", "GATE_OFF", goff, "MT", mt, "WN", wn,
        "WK", wk, "MAXTP", maxtp, "NORM", s->norm == 2 ? "2" : s->norm ? "1" : "0", "EPS", eps, "GOFF", go,
        "HAS_BETA", s->has_beta ? "1" : "0", "HAS_SIDE", s->has_side ? "1" : "0", "NTERMS", nterms, "NEXTRA", nextra,
        "NSTAGED", nst, "ACT", ac, "HAS_BIAS", s->has_bias ? "1" : "0", "HAS_C", s->has_c ? "1" : "0", "QUANT", qu,
        "HAS_SCALE", s->has_scale ? "1" : "0", "SEP_SCALE", s->sep_scale ? "1" : "0", "SCALE_DIV", sdiv,
        "MMA_BF16", xt == DSMLP_BF16 ? "1" : "0", "X_T", dsmlpC_emit_ctype(xt), "D_T", dsmlpC_emit_ctype(dt), "W_T", dsmlpC_emit_ctype(wt),
        "B_T", dsmlpC_emit_ctype(dt_of(p, k, s->a_bias, xt)), "C_T", dsmlpC_emit_ctype(dt_of(p, k, s->a_c, xt)),
        "G_T", dsmlpC_emit_ctype(dt_of(p, k, s->a_gamma, xt)), "S_T", dsmlpC_emit_ctype(dt_of(p, k, s->a_su, DSMLP_F32)),
        "V_T", vt, "W_BYTES", wb, "TERM_KINDS", tk.p ? tk.p : "", "PARAMS", pr.p ? pr.p : "",
        "BIND", bd.p ? bd.p : "", "DISPATCH", dsp.p ? dsp.p : "", "MINB", s->min_blocks > 1 ? "2" : "1", "LPR", lpr,
        "PIPE", s->pipe ? "1" : "0", "STAGES8", stg[0], "STAGES16", stg[1], "STAGES32", stg[2], "STAGES64", stg[3], "STAGES128", stg[4], "TRACE", trace, "WT", wt_, "PWARPS", pw,
        "QW8", qw[0], "QW16", qw[1], "QW32", qw[2], "QW64", qw[3], NULL};
    dsmlp_status st = (tk.oom || bd.oom || dsp.oom || pr.oom) ? dsmlpB_err_set(ctx, DSMLP_ERR_NOMEM, "codegen: out of memory")
                                                              : dsmlpC_emit_fill_ex(ctx, "stream.cu", kv, !s->fused_part, &k->source);
    free(tk.p), free(bd.p), free(dsp.p), free(pr.p);
    k->kind = KERN_STREAM;
    k->rows_fixed = 1, k->rows_per_block = 1, k->grid_x = 1, k->threads = threads, k->smem_bytes = smem;
    k->sk_tiles = ceil_div(s->n, bcp);
    k->sk_units = k->sk_tiles * ceil_div(s->k, kstep);
    k->sk_maxnt = maxnt;
    k->sk_ring = s->pipe != 0, k->sk_quant = s->quant != 0, k->sk_norm = s->norm != 0, k->sk_tall = tall;
    k->sk_part_bytes = 2 * (size_t)(8 * maxnt) * (size_t)bct * sizeof(float);
    if (tall) {
        char stg[24] = "";   /* stages per body: "3/2" (T <= 64 / 128) */
        for (int i = 0; i < nb; i++) snprintf(stg + strlen(stg), sizeof stg - strlen(stg), "%s%d", i ? "/" : "", bodies[i].u);
        snprintf(k->sk_what, sizeof k->sk_what, "[out,in] %d cols/warp x %d tokens/warp, W ring %sx%dx%d B, %dx%d warps + %d cp.async, T<=%d",
                 16 * s->mt / (s->gated ? 2 : 1), 8 * maxnt / s->wt, stg, bct, (int)((size_t)tall_qw(wbytes) * 32 * wbytes),
                 s->wn, s->wt, TALL_PWARPS, 8 * maxnt);
    } else if (s->pipe) {
        char stg[24] = "";   /* stages per body: "4", "4/2", "4/3/2" or "4/3/2/2" (T <= 8 / 16 / 32 / 64) */
        for (int i = 0; i < nb; i++) snprintf(stg + strlen(stg), sizeof stg - strlen(stg), "%s%d", i ? "/" : "", bodies[i].u);
        snprintf(k->sk_what, sizeof k->sk_what, "[out,in] %d cols/warp, %d B per row per lane, W ring %sx%dx%d B, %dx%d warps + producer, T<=%d",
                 wcol, (int)((size_t)s->el * s->lpr * wbytes), stg, bct,
                 (int)((size_t)pipe_qw(s, wbytes, 1) * s->wk * kstep * wbytes), s->wn, s->wk, 8 * maxnt);
    }
    else
        snprintf(k->sk_what, sizeof k->sk_what, "%s %d cols/warp, %d B runs, %dx%d warps, %d block%s/SM, T<=%d",
                 s->io ? "[in,out]" : "[out,in]", wcol, (int)((size_t)s->el * s->lpr * wbytes) * (s->io ? 8 : 4), s->wn,
                 s->wk, s->min_blocks, s->min_blocks > 1 ? "s" : "", 8 * maxnt);
    return st;
}
