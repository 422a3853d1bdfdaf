/* test_mlp_numeric.c — the graph dsmlp_mlp_build makes, run by the reference
** executor, against the block's formula written out here in plain loops
** (double precision): every branch × activation × residual case × layout ×
** bias set; tensor-parallel ranks (P = 2, 4) against P = 1; the LLaMA case
** against residual + attn + MLP (not DeepSpeed's residual + 2·attn + MLP);
** int8 weights with 1, 2 and one-per-row scale groups. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "dtype.h"

#define TOL 1e-12   /* same math in double, different summation order */
#define MAXP 4

/* ------------------------------------------------------------ the data */

typedef struct tdata {
    dsmlp_mlp_config c;   /* the P = 1 config (tp_size 1)                 */
    int64_t T, H, I, F;
    int P;                /* ranks the sharded run uses                   */
    dsmlp_dtype dt, wdt;
    void *A;              /* full attention output (sum of the partials)  */
    void *Ar[MAXP];       /* rank r's A: partial sums for R3, else == A   */
    void *X, *Xn, *bo, *gamma, *beta, *w1, *b1, *w2, *b2;  /* full, P = 1 */
    float *s1, *s2;       /* int8 scales of the P = 1 weights             */
    /* int8 under TP: scales are per shard (dsmlp_mlp_shard refuses them) */
    float *s1r[MAXP], *s2r[MAXP];
} tdata;

static void *xalloc(size_t n)
{
    void *p = calloc(n ? n : 1, 1);
    ck_assert_ptr_nonnull(p);
    return p;
}

static float *rand_scales(int64_t G, int64_t fan_in)
{
    float *s = xalloc((size_t)G * sizeof *s);
    for (int64_t g = 0; g < G; g++) s[g] = (float)((0.5 + tu_uniform()) / (127.0 * sqrt((double)fan_in)));
    return s;
}

/* Values k/16 with 0 < |k| <= 32: sums of up to 4 are exact in bf16, so the
** P = 1 run can take the sum of the ranks' partial A without rounding. */
static void *coarse(dsmlp_dtype t, int64_t n)
{
    void *p = xalloc((size_t)n * dsmlp_dtype_size(t));
    for (int64_t i = 0; i < n; i++) {
        int k;
        do k = (int)(tu_next() % 65) - 32; while (k == 0);
        dsmlpB_dtype_store(t, p, i, k / 16.0);
    }
    return p;
}

static int r3(const dsmlp_mlp_config *c) { return !c->mlp_after_attn; }

static void gen(tdata *d, const dsmlp_mlp_config *c, int64_t T, int P)
{
    memset(d, 0, sizeof *d);
    d->c = *c;
    d->c.tp_size = 1;
    d->c.tp_rank = 0;
    d->T = T;
    d->H = c->hidden;
    d->I = c->intermediate > 0 ? c->intermediate : 4 * c->hidden;
    int gated = 0;
    ck_assert_int_eq(dsmlp_mlp_act_split(NULL, c->activation, NULL, &gated), DSMLP_OK);
    d->F = gated ? 2 : 1;
    d->P = P;
    d->dt = c->dtype;
    d->wdt = c->int8_weights ? DSMLP_I8 : c->dtype;
    int64_t H = d->H, I = d->I, F = d->F, TH = T * H;
    if (r3(c) && P > 1) {   /* per-rank partial sums of the attention output */
        d->A = xalloc((size_t)TH * dsmlp_dtype_size(d->dt));
        for (int r = 0; r < P; r++) d->Ar[r] = coarse(d->dt, TH);
        for (int64_t i = 0; i < TH; i++) {
            double s = 0;
            for (int r = 0; r < P; r++) s += dsmlpB_dtype_load(d->dt, d->Ar[r], i);
            dsmlpB_dtype_store(d->dt, d->A, i, s);
            ck_assert(dsmlpB_dtype_load(d->dt, d->A, i) == s);
        }
    } else {
        d->A = tu_random(d->dt, TH, 1.0);
        for (int r = 0; r < P; r++) d->Ar[r] = d->A;
    }
    d->X = tu_random(d->dt, TH, 1.0);
    d->Xn = tu_random(d->dt, TH, 1.0);
    d->bo = tu_random(d->dt, H, 0.5);
    d->gamma = tu_random(d->dt, H, 1.0);
    d->beta = tu_random(d->dt, H, 0.5);
    d->w1 = tu_random(d->wdt, H * F * I, 1.0 / sqrt((double)H));
    d->b1 = tu_random(d->dt, F * I, 0.5);
    d->w2 = tu_random(d->wdt, I * H, 1.0 / sqrt((double)I));
    d->b2 = tu_random(d->dt, H, 0.5);
    if (c->int8_weights) {
        d->s1 = rand_scales(c->int8_groups, H);
        d->s2 = rand_scales(c->int8_groups, I);
        for (int r = 0; r < P; r++) {
            d->s1r[r] = rand_scales(c->int8_groups, H);
            d->s2r[r] = rand_scales(c->int8_groups, I / P);
        }
    }
}

static void release(tdata *d)
{
    if (d->Ar[0] != d->A)
        for (int r = 0; r < d->P; r++) free(d->Ar[r]);
    free(d->A); free(d->X); free(d->Xn); free(d->bo); free(d->gamma); free(d->beta);
    free(d->w1); free(d->b1); free(d->w2); free(d->b2); free(d->s1); free(d->s2);
    for (int r = 0; r < MAXP; r++) { free(d->s1r[r]); free(d->s2r[r]); }
}

/* ------------------------------------------------------- the formula */

static double gelu_tanh(double x) { return 0.5 * x * (1 + tanh(0.7978845608028654 * (x + 0.044715 * x * x * x))); }
static double gelu_erf(double x) { return 0.5 * x * (1 + erf(x / sqrt(2.0))); }
static double silu(double x) { return x / (1 + exp(-x)); }
static double relu(double x) { return x > 0 ? x : 0; }

/* One rank's (or the whole, with Ip = I) MLP: yacc += act(h·W1 + b1)·W2,
** with W1 [H, F·Ip] logical (stored in_out, or out_in / int8 transposed),
** gated columns [up | gate], int8 scales over contiguous output-row groups. */
static void mlp_part(const tdata *d, int64_t Ip, const double *h, const void *w1, const float *s1, const void *b1,
                     const void *w2, const float *s2, double *yacc)
{
    const dsmlp_mlp_config *c = &d->c;
    int64_t H = d->H, F = d->F, n1 = F * Ip, G = c->int8_groups;
    int oi = c->int8_weights || c->layout == DSMLP_LAYOUT_OUT_IN;
    double *u = xalloc((size_t)n1 * sizeof *u), *a = xalloc((size_t)Ip * sizeof *a);
    for (int64_t t = 0; t < d->T; t++) {
        for (int64_t j = 0; j < n1; j++) {
            double acc = 0;
            for (int64_t k = 0; k < H; k++) {
                double w = dsmlpB_dtype_load(d->wdt, w1, oi ? j * H + k : k * n1 + j);
                if (c->int8_weights) w = dsmlpB_dtype_round(d->dt, w * s1[j / (n1 / G)]);   /* a stored weight */
                acc += h[t * H + k] * w;
            }
            u[j] = acc + (c->bias1 ? dsmlpB_dtype_load(d->dt, b1, j) : 0);
        }
        for (int64_t j = 0; j < Ip; j++) {
            switch (c->activation) {
            case DSMLP_MLP_GELU_TANH: a[j] = gelu_tanh(u[j]); break;
            case DSMLP_MLP_GELU_ERF: a[j] = gelu_erf(u[j]); break;
            case DSMLP_MLP_RELU: a[j] = relu(u[j]); break;
            case DSMLP_MLP_SILU: a[j] = silu(u[j]); break;
            case DSMLP_MLP_GATED_GELU_TANH: a[j] = u[j] * gelu_tanh(u[Ip + j]); break;
            case DSMLP_MLP_GATED_GELU_ERF: a[j] = u[j] * gelu_erf(u[Ip + j]); break;
            case DSMLP_MLP_GATED_RELU: a[j] = u[j] * relu(u[Ip + j]); break;
            case DSMLP_MLP_GATED_SILU: a[j] = u[j] * silu(u[Ip + j]); break;
            }
        }
        for (int64_t j = 0; j < H; j++) {
            double acc = 0;
            for (int64_t k = 0; k < Ip; k++) {
                double w = dsmlpB_dtype_load(d->wdt, w2, oi ? j * Ip + k : k * H + j);
                if (c->int8_weights) w = dsmlpB_dtype_round(d->dt, w * s2[j / (H / G)]);
                acc += a[k] * w;
            }
            yacc[t * H + j] += acc;
        }
    }
    free(u);
    free(a);
}

/* Per-rank shards for mlp_part, or NULL for the full parameters. */
typedef struct shards {
    void *w1[MAXP], *b1[MAXP], *w2[MAXP];
} shards;

/* The intended block: s = X + A (+ b_o); h = Xn | norm(s) | norm(X);
** out = y + b2 + { s (R1) | h or X (R2) | A + X + b_o (R3) }. `dbl_attn`
** adds A a second time: DeepSpeed's LLaMA result, to show we differ. */
static void formula(const tdata *d, const shards *sh, int dbl_attn, double *out)
{
    const dsmlp_mlp_config *c = &d->c;
    int64_t T = d->T, H = d->H;
    double *s = xalloc((size_t)(T * H) * sizeof *s), *h = xalloc((size_t)(T * H) * sizeof *h);
    double *xrow = xalloc((size_t)H * sizeof *xrow);
#define LD(p, i) dsmlpB_dtype_load(d->dt, (p), (i))
    for (int64_t t = 0; t < T; t++) {
        for (int64_t j = 0; j < H; j++)
            s[t * H + j] = LD(d->X, t * H + j) + LD(d->A, t * H + j) + (c->attn_bias ? LD(d->bo, j) : 0);
        const void *src = c->mlp_after_attn ? NULL : d->X;
        double *x = xrow;
        for (int64_t j = 0; j < H; j++) x[j] = src ? LD(src, t * H + j) : s[t * H + j];
        if (c->norm == DSMLP_NORM_NONE) {
            for (int64_t j = 0; j < H; j++) h[t * H + j] = LD(d->Xn, t * H + j);
        } else if (c->norm == DSMLP_NORM_LAYERNORM) {
            double mu = 0, var = 0;
            for (int64_t j = 0; j < H; j++) mu += x[j];
            mu /= H;
            for (int64_t j = 0; j < H; j++) var += (x[j] - mu) * (x[j] - mu);
            var /= H;
            for (int64_t j = 0; j < H; j++)
                h[t * H + j] = (x[j] - mu) / sqrt(var + c->epsilon) * LD(d->gamma, j) + (c->norm_bias ? LD(d->beta, j) : 0);
        } else {
            double ms = 0;
            for (int64_t j = 0; j < H; j++) ms += x[j] * x[j];
            ms /= H;
            for (int64_t j = 0; j < H; j++)
                h[t * H + j] = x[j] / sqrt(ms + c->epsilon) * (LD(d->gamma, j) + c->gamma_offset);
        }
    }
    for (int64_t i = 0; i < T * H; i++) out[i] = 0;
    if (!sh) {
        mlp_part(d, d->I, h, d->w1, d->s1, d->b1, d->w2, d->s2, out);
    } else {
        for (int r = 0; r < d->P; r++)
            mlp_part(d, d->I / d->P, h, sh->w1[r], d->s1r[r], sh->b1[r], sh->w2[r], d->s2r[r], out);
    }
    for (int64_t t = 0; t < T; t++)
        for (int64_t j = 0; j < H; j++) {
            int64_t i = t * H + j;
            double res;
            if (c->mlp_after_attn && c->pre_layer_norm)
                res = s[i];
            else if (c->mlp_after_attn)
                res = c->norm == DSMLP_NORM_NONE ? LD(d->X, i) : h[i];
            else
                res = LD(d->A, i) + LD(d->X, i) + (c->attn_bias ? LD(d->bo, j) : 0);
            out[i] += res + (c->bias2 ? LD(d->b2, j) : 0) + (dbl_attn ? LD(d->A, i) : 0);
        }
#undef LD
    free(s);
    free(h);
    free(xrow);
}

/* ------------------------------------------------- running the graph */

typedef struct binding {
    dsmlp_host_tensor t[16];
    int n;
    void *tmp[2];   /* w1_up and w1_gate copied out of an [in,out] w1 */
} binding;

/* Half `half` (0 up, 1 gate) of a merged rank weight w1 with Ip outputs per
** half: a pointer into it for [out,in] (row blocks), a copy for [in,out]. */
static void *w1_half(const tdata *d, binding *b, void *w1, int64_t Ip, int half)
{
    size_t wsz = dsmlp_dtype_size(d->wdt);
    if (d->c.int8_weights || d->c.layout == DSMLP_LAYOUT_OUT_IN) return (char *)w1 + (size_t)(half * Ip * d->H) * wsz;
    char *h = xalloc((size_t)(Ip * d->H) * wsz);
    for (int64_t k = 0; k < d->H; k++)
        memcpy(h + (size_t)(k * Ip) * wsz, (char *)w1 + (size_t)(k * 2 * Ip + half * Ip) * wsz, (size_t)Ip * wsz);
    b->tmp[half] = h;
    return h;
}

static void unbind(binding *b)
{
    free(b->tmp[0]), free(b->tmp[1]);
    b->tmp[0] = b->tmp[1] = NULL;
}

static void bind(binding *b, const char *name, dsmlp_dtype dt, void *data)
{
    ck_assert(b->n < 16);
    b->t[b->n++] = (dsmlp_host_tensor){name, dt, data};
}

/* Binds every input/param the graph declares; `p` holds rank r's data. */
static void bind_all(const dsmlp_graph *g, binding *b, const tdata *d, void *A, void *w1, void *b1, void *w2,
                     float *s1, float *s2, double *out, int64_t Ip)
{
    b->n = 0;
    b->tmp[0] = b->tmp[1] = NULL;
    size_t esz = dsmlp_dtype_size(d->dt);
    for (int i = 0; i < dsmlp_graph_size(g); i++) {
        dsmlp_value_info v;
        ck_assert_int_eq(dsmlp_value_get(g, i, &v), DSMLP_OK);
        if (v.op != DSMLP_OP_INPUT && v.op != DSMLP_OP_PARAM) continue;
        const char *n = v.name;
        void *p = !strcmp(n, "input") ? A : !strcmp(n, "residual") ? d->X : !strcmp(n, "residual_norm") ? d->Xn
                : !strcmp(n, "attn_bias") ? d->bo : !strcmp(n, "norm_w") ? d->gamma : !strcmp(n, "norm_b") ? d->beta
                : !strcmp(n, "w1") ? w1 : !strcmp(n, "b1") ? b1 : !strcmp(n, "w2") ? w2 : !strcmp(n, "b2") ? d->b2
                : !strcmp(n, "w1_scales") ? (void *)s1 : !strcmp(n, "w2_scales") ? (void *)s2
                : !strcmp(n, "w1_up") ? w1_half(d, b, w1, Ip, 0) : !strcmp(n, "w1_gate") ? w1_half(d, b, w1, Ip, 1)
                : !strcmp(n, "b1_up") ? b1 : !strcmp(n, "b1_gate") ? (char *)b1 + (size_t)Ip * esz : NULL;
        ck_assert_msg(p != NULL, "graph declares unexpected '%s'", n);
        ck_assert_int_eq(v.dtype, !strncmp(n, "w1", 2) || !strcmp(n, "w2") ? (strstr(n, "_scales") ? DSMLP_F32 : d->wdt)
                                  : strstr(n, "_scales") ? DSMLP_F32 : d->dt);
        bind(b, n, v.dtype, p);
    }
    bind(b, "out", DSMLP_F64, out);
}

static void run_p1(dsmlp_ctx *ctx, const tdata *d, double *out)
{
    dsmlp_graph *g = NULL;
    TU_OK(ctx, dsmlp_graph_create(ctx, "p1", &g));
    TU_OK(ctx, dsmlp_mlp_build(g, &d->c));
    binding b;
    bind_all(g, &b, d, d->A, d->w1, d->b1, d->w2, d->s1, d->s2, out, d->I);
    tu_poison(out, (size_t)(d->T * d->H) * sizeof *out);
    TU_OK(ctx, dsmlp_reference_run_f64(g, d->T, b.t, b.n));
    unbind(&b);
    dsmlp_graph_free(g);
}

/* Significand bits of an output dtype: rounding moves a value by at most
** 2^-bits of itself (plus half the smallest f16 subnormal). */
static int sig_bits(dsmlp_dtype t) { return t == DSMLP_F32 ? 24 : t == DSMLP_F16 ? 11 : 8; }

/* Shards the full parameters with dsmlp_mlp_shard and runs the P rank
** graphs with dsmlp_reference_run_ranks_f64 (unrounded; every rank's output
** must be the same) into out; dsmlp_reference_run_ranks, which rounds the
** output to its dtype, must agree to within that one rounding. */
static void run_ranks(dsmlp_ctx *ctx, const tdata *d, shards *sh, double *out)
{
    int P = d->P;
    int64_t TH = d->T * d->H, n1 = d->F * d->I / P;
    size_t wsz = dsmlp_dtype_size(d->wdt), esz = dsmlp_dtype_size(d->dt);
    dsmlp_graph *g[MAXP];
    binding b[MAXP];
    const dsmlp_host_tensor *bp[MAXP];
    int nb[MAXP];
    double *o[MAXP] = {NULL};
    ck_assert(P >= 1 && P <= MAXP);
    for (int r = 0; r < P; r++) {
        dsmlp_mlp_config c = d->c;
        c.tp_size = P;
        c.tp_rank = r;
        sh->w1[r] = xalloc((size_t)(n1 * d->H) * wsz);
        sh->w2[r] = xalloc((size_t)(d->I / P * d->H) * wsz);
        sh->b1[r] = xalloc((size_t)n1 * esz);
        dsmlp_mlp_config cm = c;   /* the merged shard [up block | gate block]; bind_all splits it */
        cm.split_w1 = 0;
        TU_OK(ctx, dsmlp_mlp_shard(ctx, &cm, "w1", d->w1, sh->w1[r]));
        TU_OK(ctx, dsmlp_mlp_shard(ctx, &c, "w2", d->w2, sh->w2[r]));
        if (c.bias1) TU_OK(ctx, dsmlp_mlp_shard(ctx, &cm, "b1", d->b1, sh->b1[r]));
        TU_OK(ctx, dsmlp_graph_create(ctx, "rank", &g[r]));
        TU_OK(ctx, dsmlp_mlp_build(g[r], &c));
        o[r] = xalloc((size_t)TH * sizeof(double));
        tu_poison(o[r], (size_t)TH * sizeof(double));
        bind_all(g[r], &b[r], d, d->Ar[r], sh->w1[r], sh->b1[r], sh->w2[r], d->s1r[r], d->s2r[r], o[r], d->I / P);
        bp[r] = b[r].t;
        nb[r] = b[r].n;
    }
    TU_OK(ctx, dsmlp_reference_run_ranks_f64(g, P, d->T, bp, nb));
    for (int r = 0; r < P; r++)
        ck_assert_msg(memcmp(o[r], o[0], (size_t)TH * sizeof(double)) == 0, "rank %d's output differs", r);
    memcpy(out, o[0], (size_t)TH * sizeof(double));

    for (int r = 0; r < P; r++) tu_poison(o[r], (size_t)TH * sizeof(double));
    TU_OK(ctx, dsmlp_reference_run_ranks(g, P, d->T, bp, nb));
    double rel = ldexp(1, -sig_bits(d->dt));
    for (int r = 0; r < P; r++) {
        for (int64_t i = 0; i < TH; i++)
            ck_assert_msg(fabs(o[r][i] - out[i]) <= rel * fabs(out[i]) + ldexp(1, -25),
                          "rank %d element %lld: rounded %.17g, unrounded %.17g", r, (long long)i, o[r][i], out[i]);
        dsmlp_graph_free(g[r]);
        unbind(&b[r]);
        free(o[r]);
    }
}

static void free_shards(shards *sh, int P)
{
    for (int r = 0; r < P; r++) { free(sh->w1[r]); free(sh->b1[r]); free(sh->w2[r]); }
}

static double rel_err(const double *a, const double *ref, int64_t n)
{
    double num = 0, den = 0;
    for (int64_t i = 0; i < n; i++) {
        if (!isfinite(a[i])) return INFINITY;
        num += (a[i] - ref[i]) * (a[i] - ref[i]);
        den += ref[i] * ref[i];
    }
    return sqrt(num / den);
}

static const char *desc(const dsmlp_mlp_config *c, char *buf, size_t n)
{
    snprintf(buf, n, "H=%lld I=%lld %s act=%d norm=%d preLN=%d after=%d layout=%d bo=%d beta=%d b1=%d b2=%d int8=%d/%lld "
             "goff=%g split=%d",
             (long long)c->hidden, (long long)c->intermediate, dsmlp_dtype_name(c->dtype), c->activation, c->norm,
             c->pre_layer_norm, c->mlp_after_attn, c->layout, c->attn_bias, c->norm_bias, c->bias1, c->bias2,
             c->int8_weights, (long long)c->int8_groups, c->gamma_offset, c->split_w1);
    return buf;
}

static const dsmlp_norm norms[3] = {DSMLP_NORM_LAYERNORM, DSMLP_NORM_RMSNORM, DSMLP_NORM_NONE};
#define NACT 8
static const dsmlp_mlp_act acts[NACT] = {DSMLP_MLP_GELU_TANH, DSMLP_MLP_GELU_ERF, DSMLP_MLP_RELU, DSMLP_MLP_SILU,
                                         DSMLP_MLP_GATED_GELU_TANH, DSMLP_MLP_GATED_GELU_ERF, DSMLP_MLP_GATED_RELU,
                                         DSMLP_MLP_GATED_SILU};
static int gated_act(dsmlp_mlp_act a) { return a >= DSMLP_MLP_GATED_GELU_TANH || a == DSMLP_MLP_GATED_GELU ||
                                               a == DSMLP_MLP_GATED_SILU; }
static const dsmlp_dtype dtypes[3] = {DSMLP_F32, DSMLP_F16, DSMLP_BF16};

/* ------------------------------------------------------------- tests */

/* _i = norm · NACT + activation; inside: residual case (mlp_after_attn ×
** pre_layer_norm) × layout × every subset of the biases the norm allows;
** RMSNorm with and without Gemma's weight offset, gated with merged or
** separate up and gate weights. */
START_TEST(every_branch_p1)
{
    dsmlp_ctx *ctx = tu_ctx();
    dsmlp_norm norm = norms[_i / NACT];
    int nbias = norm == DSMLP_NORM_LAYERNORM ? 16 : 8, cases = 0;
    double worst = 0;
    for (int mode = 0; mode < 4; mode++)
        for (int lay = 0; lay < 2; lay++)
            for (int bm = 0; bm < nbias; bm++) {
                dsmlp_mlp_config c;
                dsmlp_mlp_config_default(&c);
                c.hidden = 8 * (1 + (int64_t)(tu_next() % 4));          /* 8..32 */
                c.intermediate = 16 * (1 + (int64_t)(tu_next() % 4));   /* 16..64 */
                c.dtype = dtypes[(mode + lay + bm) % 3];
                c.activation = acts[_i % NACT];
                c.norm = norm;
                c.gamma_offset = norm == DSMLP_NORM_RMSNORM && (bm & 2) ? 1.0 : 0.0;
                c.split_w1 = gated_act(c.activation) && ((mode + bm) & 1);
                c.mlp_after_attn = mode & 1;
                c.pre_layer_norm = mode >> 1;
                c.layout = (dsmlp_layout)lay;
                c.epsilon = bm & 1 ? 1e-5 : 1e-12;
                c.attn_bias = bm & 1;
                c.bias1 = (bm >> 1) & 1;
                c.bias2 = (bm >> 2) & 1;
                c.norm_bias = (bm >> 3) & 1;
                tdata d;
                gen(&d, &c, 3, 1);
                int64_t n = d.T * d.H;
                double *got = xalloc((size_t)n * sizeof *got), *want = xalloc((size_t)n * sizeof *want);
                run_p1(ctx, &d, got);
                formula(&d, NULL, 0, want);
                double e = rel_err(got, want, n);
                char buf[256];
                ck_assert_msg(e <= TOL, "%s: relative error %g", desc(&c, buf, sizeof buf), e);
                if (e > worst) worst = e;
                free(got); free(want);
                release(&d);
                cases++;
            }
    fprintf(stderr, "every_branch_p1 norm=%d act=%d: %d cases, worst relative error %.3g\n", norm, acts[_i % NACT],
            cases, worst);
    dsmlp_ctx_free(ctx);
}
END_TEST

/* Sharded execution (dsmlp_mlp_shard + the ranks' graphs + all_reduce)
** equals the P = 1 run and the formula. _i = norm · 4 + activation. */
START_TEST(tensor_parallel)
{
    dsmlp_ctx *ctx = tu_ctx();
    int cases = 0;
    double worst = 0;
    for (int P = 2; P <= 4; P *= 2)
        for (int mode = 0; mode < 4; mode++)
            for (int lay = 0; lay < 2; lay++)
                for (int biases = 0; biases < 2; biases++) {
                    dsmlp_mlp_config c;
                    dsmlp_mlp_config_default(&c);
                    c.hidden = 8 * (1 + (int64_t)(tu_next() % 4));
                    c.intermediate = 16 * (1 + (int64_t)(tu_next() % 4));
                    c.dtype = dtypes[(mode + lay + biases) % 3];
                    c.activation = acts[_i % NACT];
                    c.norm = norms[_i / NACT];
                    c.gamma_offset = c.norm == DSMLP_NORM_RMSNORM && biases ? 1.0 : 0.0;
                    c.split_w1 = gated_act(c.activation) && ((mode + lay) & 1);
                    c.mlp_after_attn = mode & 1;
                    c.pre_layer_norm = mode >> 1;
                    c.layout = (dsmlp_layout)lay;
                    c.epsilon = 1e-5;
                    c.attn_bias = c.bias1 = c.bias2 = biases;
                    c.norm_bias = biases && c.norm == DSMLP_NORM_LAYERNORM;
                    tdata d;
                    gen(&d, &c, 3, P);
                    int64_t n = d.T * d.H;
                    double *p1 = xalloc((size_t)n * sizeof(double)), *pp = xalloc((size_t)n * sizeof(double));
                    double *want = xalloc((size_t)n * sizeof(double));
                    shards sh;
                    run_p1(ctx, &d, p1);
                    run_ranks(ctx, &d, &sh, pp);
                    formula(&d, NULL, 0, want);
                    char buf[256];
                    double e = rel_err(pp, p1, n), f = rel_err(pp, want, n);
                    ck_assert_msg(e <= TOL, "P=%d %s: sharded vs P=1: relative error %g", P, desc(&c, buf, sizeof buf), e);
                    ck_assert_msg(f <= TOL, "P=%d %s: sharded vs formula: relative error %g", P, desc(&c, buf, sizeof buf), f);
                    if (e > worst) worst = e;
                    free_shards(&sh, P);
                    free(p1); free(pp); free(want);
                    release(&d);
                    cases++;
                }
    fprintf(stderr, "tensor_parallel norm=%d act=%d: %d cases (P=2,4), worst sharded-vs-P1 relative error %.3g\n",
            norms[_i / NACT], acts[_i % NACT], cases, worst);
    dsmlp_ctx_free(ctx);
}
END_TEST

/* LLaMA: RMSNorm, SwiGLU, no biases. out = X + A + MLP(RMSNorm(X + A));
** DeepSpeed's CUDA path gives X + 2·A + MLP (spec §4.6). */
START_TEST(llama_counts_attention_once)
{
    dsmlp_ctx *ctx = tu_ctx();
    for (int P = 1; P <= 4; P *= 2) {
        dsmlp_mlp_config c;
        dsmlp_mlp_config_default(&c);
        c.hidden = 32;
        c.intermediate = 64;
        c.dtype = DSMLP_BF16;
        c.activation = DSMLP_MLP_GATED_SILU;
        c.norm = DSMLP_NORM_RMSNORM;
        c.layout = DSMLP_LAYOUT_OUT_IN;
        c.epsilon = 1e-5;
        c.attn_bias = c.norm_bias = c.bias1 = c.bias2 = 0;
        tdata d;
        gen(&d, &c, 3, P);
        int64_t n = d.T * d.H;
        double *got = xalloc((size_t)n * sizeof(double)), *once = xalloc((size_t)n * sizeof(double));
        double *twice = xalloc((size_t)n * sizeof(double));
        shards sh;
        if (P == 1)
            run_p1(ctx, &d, got);
        else
            run_ranks(ctx, &d, &sh, got);
        formula(&d, NULL, 0, once);
        formula(&d, NULL, 1, twice);
        double e1 = rel_err(got, once, n), e2 = rel_err(got, twice, n);
        fprintf(stderr, "llama P=%d: vs X+A+MLP %.3g, vs X+2A+MLP (DeepSpeed) %.3g\n", P, e1, e2);
        ck_assert_msg(e1 <= TOL, "P=%d: residual + attn + MLP: relative error %g", P, e1);
        ck_assert_msg(e2 > 0.1, "P=%d: output is close to residual + 2·attn + MLP (%g)", P, e2);
        if (P > 1) free_shards(&sh, P);
        free(got); free(once); free(twice);
        release(&d);
    }
    dsmlp_ctx_free(ctx);
}
END_TEST

/* R1 with b2 but no b_o: b2 is added once (DeepSpeed adds it twice). */
START_TEST(b2_once_without_attn_bias)
{
    dsmlp_ctx *ctx = tu_ctx();
    dsmlp_mlp_config c;
    dsmlp_mlp_config_default(&c);
    c.hidden = 16;
    c.intermediate = 32;
    c.dtype = DSMLP_F32;
    c.attn_bias = 0;
    c.epsilon = 1e-5;
    tdata d;
    gen(&d, &c, 3, 1);
    int64_t n = d.T * d.H;
    double got[48], want[48];
    run_p1(ctx, &d, got);
    formula(&d, NULL, 0, want);
    ck_assert(rel_err(got, want, n) <= TOL);
    for (int64_t i = 0; i < n; i++) want[i] += dsmlpB_dtype_load(d.dt, d.b2, i % d.H);   /* DeepSpeed's b2 + b2 */
    ck_assert(rel_err(got, want, n) > 1e-3);
    release(&d);
    dsmlp_ctx_free(ctx);
}
END_TEST

/* Widths DeepSpeed's norm kernels do not launch for: H > 16384 (any dtype)
** and 64 < H <= 128 in fp32 (spec §4.7). dsmlp computes them. */
START_TEST(wide_and_odd_norm_widths)
{
    dsmlp_ctx *ctx = tu_ctx();
    const int64_t widths[] = {16400, 96, 100};
    for (int wi = 0; wi < 3; wi++)
        for (int norm = 0; norm < 2; norm++) {
            dsmlp_mlp_config c;
            dsmlp_mlp_config_default(&c);
            c.hidden = widths[wi];
            c.intermediate = 8;
            c.dtype = wi == 0 ? DSMLP_BF16 : DSMLP_F32;
            c.norm = norms[norm];
            c.norm_bias = c.norm == DSMLP_NORM_LAYERNORM;
            c.epsilon = 1e-5;
            tdata d;
            gen(&d, &c, 2, 1);
            int64_t n = d.T * d.H;
            double *got = xalloc((size_t)n * sizeof(double)), *want = xalloc((size_t)n * sizeof(double));
            run_p1(ctx, &d, got);
            formula(&d, NULL, 0, want);
            double e = rel_err(got, want, n);
            ck_assert_msg(e <= TOL, "H=%lld norm=%d: relative error %g", (long long)c.hidden, c.norm, e);
            free(got); free(want);
            release(&d);
        }
    dsmlp_ctx_free(ctx);
}
END_TEST

/* int8 weights: groups 1, 2 and one scale per row (I chosen so that both
** weights of a rank have H rows), P = 1, 2, 4 (scales per shard).
** _i = norm · 4 + activation. */
START_TEST(int8_weights)
{
    dsmlp_ctx *ctx = tu_ctx();
    int cases = 0;
    double worst = 0;
    for (int P = 1; P <= 4; P *= 2)
        for (int gi = 0; gi < 3; gi++)
            for (int mode = 0; mode < 4; mode++) {
                dsmlp_mlp_config c;
                dsmlp_mlp_config_default(&c);
                c.hidden = 16;
                c.activation = acts[_i % NACT];
                int64_t F = gated_act(c.activation) ? 2 : 1;
                c.intermediate = c.hidden * P / F;   /* F·I/P = H rows in w1 */
                c.int8_weights = 1;
                c.int8_groups = gi == 0 ? 1 : gi == 1 ? 2 : c.hidden;
                c.dtype = mode & 1 ? DSMLP_BF16 : DSMLP_F16;
                c.norm = norms[_i / NACT];
                c.norm_bias = c.norm == DSMLP_NORM_LAYERNORM;
                c.mlp_after_attn = mode & 1;
                c.pre_layer_norm = mode >> 1;
                c.layout = (dsmlp_layout)(mode & 1);   /* ignored: int8 is [out,in] */
                c.epsilon = 1e-5;
                tdata d;
                gen(&d, &c, 3, P);
                int64_t n = d.T * d.H;
                double *got = xalloc((size_t)n * sizeof(double)), *want = xalloc((size_t)n * sizeof(double));
                shards sh;
                if (P == 1) {
                    run_p1(ctx, &d, got);
                    formula(&d, NULL, 0, want);
                } else {
                    run_ranks(ctx, &d, &sh, got);
                    formula(&d, &sh, 0, want);
                    free_shards(&sh, P);
                }
                double e = rel_err(got, want, n);
                char buf[256];
                ck_assert_msg(e <= TOL, "P=%d %s: relative error %g", P, desc(&c, buf, sizeof buf), e);
                if (e > worst) worst = e;
                free(got); free(want);
                release(&d);
                cases++;
            }
    fprintf(stderr, "int8 norm=%d act=%d: %d cases (P=1,2,4 x groups 1,2,rows), worst relative error %.3g\n",
            norms[_i / NACT], acts[_i % NACT], cases, worst);
    dsmlp_ctx_free(ctx);
}
END_TEST

/* A scale multiplies its own block of rows and no other: doubling the scale
** of w1's last group changes exactly the outputs that group feeds. */
START_TEST(int8_group_blocks)
{
    dsmlp_ctx *ctx = tu_ctx();
    dsmlp_mlp_config c;
    dsmlp_mlp_config_default(&c);
    c.hidden = 8;
    c.intermediate = 8;
    c.int8_weights = 1;
    c.int8_groups = 4;
    c.norm = DSMLP_NORM_NONE;
    c.norm_bias = 0;
    c.activation = DSMLP_MLP_GELU;   /* never exactly 0, so every w2 row contributes */
    c.bias1 = 0;
    tdata d;
    gen(&d, &c, 3, 1);
    int64_t n = d.T * d.H;
    double a[24], b[24], want[24];
    run_p1(ctx, &d, a);
    d.s2[3] *= 2;   /* w2 rows 6, 7 = output columns 6, 7 */
    run_p1(ctx, &d, b);
    formula(&d, NULL, 0, want);
    ck_assert(rel_err(b, want, n) <= TOL);
    for (int64_t t = 0; t < d.T; t++)
        for (int64_t j = 0; j < d.H; j++) {
            if (j < 6) ck_assert(a[t * d.H + j] == b[t * d.H + j]);
            else ck_assert(a[t * d.H + j] != b[t * d.H + j]);
        }
    release(&d);
    dsmlp_ctx_free(ctx);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("mlp_numeric");
    TCase *tc = tcase_create("numeric");
    tcase_set_timeout(tc, 600);
    tcase_add_loop_test(tc, every_branch_p1, 0, 3 * NACT);
    tcase_add_loop_test(tc, tensor_parallel, 0, 3 * NACT);
    tcase_add_test(tc, llama_counts_attention_once);
    tcase_add_test(tc, b2_once_without_attn_bias);
    tcase_add_test(tc, wide_and_odd_norm_widths);
    tcase_add_loop_test(tc, int8_weights, 0, 3 * NACT);
    tcase_add_test(tc, int8_group_blocks);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
