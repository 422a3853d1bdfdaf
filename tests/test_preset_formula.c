/*
** test_preset_formula.c — every preset's graph (at small sizes: hidden 16,
** intermediate 24, f32) run by the reference executor against its model's
** block written out here as a plain formula with the model's real
** activation: tanh GELU for GPT-2, BLOOM, GPT-J, GPT-NeoX-20B and Phi-2
** (gelu_new / bloom_gelu / gelu_fast), exact erf GELU for BERT and Falcon,
** ReLU for OPT, SiLU-gated for LLaMA, Mistral, Qwen2 and Phi-3, tanh-gated
** with the (1 + w) RMSNorm for Gemma. A preset missing here fails the test.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "test_lua_util.h"

enum { H = 16, I = 24, T = 3 };

typedef double (*act_fn)(double);
static double gelu_tanh(double x) { return 0.5 * x * (1 + tanh(sqrt(2 / M_PI) * (x + 0.044715 * x * x * x))); }
static double gelu_erf(double x) { return 0.5 * x * (1 + erf(x / sqrt(2.0))); }
static double relu(double x) { return x > 0 ? x : 0; }
static double silu(double x) { return x / (1 + exp(-x)); }

/* The block families: where the norm sits, what the residual adds, the activation. */
typedef enum shape {
    PRE_LN,        /* out = s + W2·act(W1·LN(s) + b1) + b2, s = X + A + b_o     (GPT-2, OPT, BLOOM) */
    POST_LN,       /* h = LN(s); out = h + W2·act(W1·h + b1) + b2               (BERT, OPT-350m)   */
    SHARED_LN,     /* out = X + A (+ b_o) + W2·act(W1·Xn + b1) + b2, Xn given   (GPT-J, Phi-2, Falcon) */
    PARALLEL_LN,   /* out = X + A + b_o + W2·act(W1·LN(X) + b1) + b2            (GPT-NeoX)         */
    GATED_RMS      /* out = X + A + W2·(up(h) ⊙ act(gate(h))), h = RMS(X + A)·(γ + offset)         */
} shape;

typedef struct family {
    const char *prefix;
    shape       s;
    act_fn      act;
    double      eps, gamma_offset;
} family;

static const family families[] = {
    {"gpt2", PRE_LN, gelu_tanh, 1e-5, 0},       {"opt-350m", POST_LN, relu, 1e-5, 0},
    {"opt-", PRE_LN, relu, 1e-5, 0},            {"bloom-", PRE_LN, gelu_tanh, 1e-5, 0},
    {"gpt-j-", SHARED_LN, gelu_tanh, 1e-5, 0},  {"gpt-neox-", PARALLEL_LN, gelu_tanh, 1e-5, 0},
    {"bert-", POST_LN, gelu_erf, 1e-12, 0},     {"llama", GATED_RMS, silu, 1e-5, 0},
    {"mistral-", GATED_RMS, silu, 1e-5, 0},     {"qwen2-", GATED_RMS, silu, 1e-6, 0},
    {"gemma-", GATED_RMS, gelu_tanh, 1e-6, 1.0}, {"phi-2", SHARED_LN, gelu_tanh, 1e-5, 0},
    {"phi-3-", GATED_RMS, silu, 1e-5, 0},       {"falcon-", SHARED_LN, gelu_erf, 1e-5, 0},
};

static const family *family_of(const char *name)
{
    for (size_t i = 0; i < sizeof families / sizeof *families; i++)
        if (!strncmp(name, families[i].prefix, strlen(families[i].prefix))) return &families[i];
    return NULL;
}

/* The layer's bound data as doubles (the graph is f32, so exactly); freed with it. */
typedef struct data {
    tl_binding b;
    const dsmlp_graph *g;
    double *pool[16];
    int npool;
} data;

static const double *get(data *d, const char *name)
{
    for (int i = 0; i < d->b.n; i++)
        if (!strcmp(d->b.t[i].name, name)) {
            ck_assert_int_eq(d->b.t[i].dtype, DSMLP_F32);
            ck_assert_int_lt(d->npool, 16);
            double *v = malloc((size_t)d->b.count[i] * sizeof *v);
            ck_assert_ptr_nonnull(v);
            for (int64_t k = 0; k < d->b.count[i]; k++) v[k] = ((const float *)d->b.t[i].data)[k];
            return d->pool[d->npool++] = v;
        }
    return NULL;
}

static void layernorm(const double *x, const double *g, const double *b, double eps, double *y)
{
    double mu = 0, var = 0;
    for (int j = 0; j < H; j++) mu += x[j];
    mu /= H;
    for (int j = 0; j < H; j++) var += (x[j] - mu) * (x[j] - mu);
    var /= H;
    for (int j = 0; j < H; j++) y[j] = (x[j] - mu) / sqrt(var + eps) * g[j] + (b ? b[j] : 0);
}

/* y[n] = x[k]·W (+ b); W is [k, n] row-major ([in,out], the presets' default). */
static void linear(const double *x, const double *w, const double *b, int k, int n, double *y)
{
    for (int j = 0; j < n; j++) {
        double acc = b ? b[j] : 0;
        for (int i = 0; i < k; i++) acc += x[i] * w[i * n + j];
        y[j] = acc;
    }
}

static void formula(data *d, const family *f, double *out)
{
    int gated = f->s == GATED_RMS, F = gated ? 2 : 1;
    const double *X = get(d, "residual"), *A = get(d, "input"), *Xn = get(d, "residual_norm");
    const double *bo = get(d, "attn_bias"), *gamma = get(d, "norm_w"), *beta = get(d, "norm_b");
    const double *w1 = get(d, "w1"), *b1 = get(d, "b1"), *w2 = get(d, "w2"), *b2 = get(d, "b2");
    ck_assert_ptr_nonnull(X);
    ck_assert_ptr_nonnull(A);
    ck_assert_ptr_nonnull(w1);
    ck_assert_ptr_nonnull(w2);
    for (int t = 0; t < T; t++) {
        double s[H], h[H], u[2 * I], a[I], y[H], base[H];
        memset(base, 0, sizeof base);
        memset(h, 0, sizeof h);
        const double *x = X + t * H, *at = A + t * H;
        for (int j = 0; j < H; j++) s[j] = x[j] + at[j] + (bo ? bo[j] : 0);
        switch (f->s) {
        case PRE_LN: layernorm(s, gamma, beta, f->eps, h); memcpy(base, s, sizeof s); break;
        case POST_LN: layernorm(s, gamma, beta, f->eps, h); memcpy(base, h, sizeof h); break;
        case SHARED_LN: memcpy(h, Xn + t * H, sizeof h); memcpy(base, s, sizeof s); break;
        case PARALLEL_LN: layernorm(x, gamma, beta, f->eps, h); memcpy(base, s, sizeof s); break;
        case GATED_RMS: {
            double ms = 0;
            for (int j = 0; j < H; j++) ms += s[j] * s[j];
            for (int j = 0; j < H; j++) h[j] = s[j] / sqrt(ms / H + f->eps) * (gamma[j] + f->gamma_offset);
            memcpy(base, s, sizeof s);
            break;
        }
        }
        linear(h, w1, b1, H, F * I, u);
        for (int j = 0; j < I; j++) a[j] = gated ? u[j] * f->act(u[I + j]) : f->act(u[j]);   /* [up | gate] */
        linear(a, w2, b2, I, H, y);
        for (int j = 0; j < H; j++) out[t * H + j] = base[j] + y[j];
    }
}

START_TEST(every_preset_against_its_formula)
{
    dsmlp_ctx *ctx = tu_ctx();
    char src[512];
    snprintf(src, sizeof src,
             "local t = {}\n"
             "for _, n in ipairs(dsmlp.presets()) do\n"
             "  t[n] = dsmlp.preset(n, {hidden = %d, intermediate = %d, dtype = 'f32', layout = 'in_out'})\n"
             "end\nreturn t", H, I);
    dsmlp_layers *l = NULL;
    TU_OK(ctx, tl_load(ctx, src, &l));
    int n = dsmlp_layers_count(l);
    ck_assert_int_ge(n, 35);
    double worst = 0;
    for (int i = 0; i < n; i++) {
        const char *name = dsmlp_layers_name(l, i);
        const family *f = family_of(name);
        ck_assert_msg(f != NULL, "preset %s has no formula in this test: add its family", name);
        data d = {.g = dsmlp_layers_graph(l, i)};
        tl_bind_random(d.g, T, &d.b);
        double got[T * H], want[T * H];
        int o = d.b.n - 1;   /* the output "out", f64 */
        ck_assert_str_eq(d.b.t[o].name, "out");
        tu_poison(d.b.t[o].data, sizeof got);
        TU_OK(ctx, dsmlp_reference_run_f64(d.g, T, d.b.t, d.b.n));
        memcpy(got, d.b.t[o].data, sizeof got);
        formula(&d, f, want);
        double num = 0, den = 0;
        for (int k = 0; k < T * H; k++) num += (got[k] - want[k]) * (got[k] - want[k]), den += want[k] * want[k];
        double e = sqrt(num / den);
        ck_assert_msg(e < 1e-12, "preset %s: relative error %g against its formula", name, e);
        if (e > worst) worst = e;
        tl_binding_free(&d.b);
        for (int k = 0; k < d.npool; k++) free(d.pool[k]);
    }
    fprintf(stderr, "%d presets against their formulas: worst relative error %.3g\n", n, worst);
    dsmlp_layers_free(l);
    dsmlp_ctx_free(ctx);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("preset_formula");
    TCase *tc = tcase_create("formula");
    tcase_add_test(tc, every_preset_against_its_formula);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
