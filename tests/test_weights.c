/*
** test_weights.c — blocks from config.json with their weights from a
** safetensors checkpoint, end to end on the CPU: for each family (Gemma,
** Qwen2, Phi-2, Phi-3, Falcon-7B, GPT-2) the public config shrunk to
** hidden 16 / intermediate 24, a checkpoint written with the family's own
** tensor names and layouts (nn.Linear [out,in], GPT-2's Conv1D [in,out],
** Phi-3's fused gate_up_proj), the parameters read through the tensor map
** (also as the ranks of tensor parallelism, P = 2), run by the reference
** executor and compared with the model's block written here in its own
** terms. Then every layer-level error: missing tensor, wrong shape, wrong
** rank, dtype that does not convert, row block outside the tensor, layer
** outside the model, parameter without a tensor.
*/
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "st_util.h"

enum { H = 16, I = 24, T = 3, LAYERS = 2 };

static char *dir;
static void setup(void) { dir = tu_tmpdir("weights"); }
static void teardown(void)
{
    tu_rmtree(dir);
    free(dir);
}

/* tests/data/hf/<name> with the sizes shrunk, written to dir/config.json. */
static const char *tiny_config(const char *name)
{
    static char path[1024];
    char src[1024];
    snprintf(src, sizeof src, "%s/tests/data/hf/%s", DSMLP_SOURCE_DIR, name);
    json_error_t je;
    json_t *root = json_load_file(src, 0, &je);
    ck_assert_msg(root != NULL, "%s: %s", src, je.text);
    const char *hkey = json_object_get(root, "n_embd") ? "n_embd" : "hidden_size";
    json_object_set_new(root, hkey, json_integer(H));
    if (json_object_get(root, "intermediate_size")) json_object_set_new(root, "intermediate_size", json_integer(I));
    else if (!strcmp(hkey, "n_embd")) json_object_set_new(root, "n_inner", json_integer(I));
    else json_object_set_new(root, "ffn_hidden_size", json_integer(I));
    json_object_set_new(root, "num_hidden_layers", json_integer(LAYERS));
    json_object_set_new(root, "n_layer", json_integer(LAYERS));
    snprintf(path, sizeof path, "%s/config.json", dir);
    ck_assert_int_eq(json_dump_file(root, path, 0), 0);
    json_decref(root);
    return path;
}

/* ------------------------------------------------------ the checkpoint */

typedef struct ckpt {
    st_w  t[32];
    float *data[32];
    int   n;
} ckpt;

/* A random F32 (or BF16-representable F32 stored as BF16) tensor named fmt % layer. */
static float *add(ckpt *c, int layer, const char *fmt, int rows, int cols, double scale)
{
    ck_assert_int_lt(c->n, 32);
    char *name = malloc(160);
    snprintf(name, 160, fmt, layer);
    int64_t n = (int64_t)rows * (cols ? cols : 1);
    float *d = tu_random(DSMLP_F32, n, scale);
    c->data[c->n] = d;
    c->t[c->n] = (st_w){name, "F32", cols ? 2 : 1, {rows, cols}, d, (size_t)n * 4};
    return c->data[c->n++];
}

static void ckpt_write(ckpt *c)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    st_write(path, c->t, c->n);
}

static void ckpt_free(ckpt *c)
{
    for (int i = 0; i < c->n; i++) free((void *)c->t[i].name), free(c->data[i]);
    c->n = 0;
}

/* ------------------------------------------------------ the math */

static double gelu_tanh(double x) { return 0.5 * x * (1 + tanh(sqrt(2 / M_PI) * (x + 0.044715 * x * x * x))); }
static double gelu_erf(double x) { return 0.5 * x * (1 + erf(x / sqrt(2.0))); }
static double silu(double x) { return x / (1 + exp(-x)); }

/* nn.Linear: y[o] = sum_i W[o][i]·x[i] + b[o] (W stored [out, in]). */
static void linear(const float *W, const float *b, const double *x, int in, int out, double *y)
{
    for (int o = 0; o < out; o++) {
        double a = b ? b[o] : 0;
        for (int i = 0; i < in; i++) a += (double)W[o * in + i] * x[i];
        y[o] = a;
    }
}

/* Conv1D: y[o] = sum_i W[i][o]·x[i] + b[o] (W stored [in, out]). */
static void conv1d(const float *W, const float *b, const double *x, int in, int out, double *y)
{
    for (int o = 0; o < out; o++) {
        double a = b ? b[o] : 0;
        for (int i = 0; i < in; i++) a += (double)W[i * out + o] * x[i];
        y[o] = a;
    }
}

static void rmsnorm(const double *x, const float *g, double eps, double offset, double *y)
{
    double ms = 0;
    for (int j = 0; j < H; j++) ms += x[j] * x[j];
    for (int j = 0; j < H; j++) y[j] = x[j] / sqrt(ms / H + eps) * (g[j] + offset);
}

static void layernorm(const double *x, const float *g, const float *b, double eps, double *y)
{
    double mu = 0, var = 0;
    for (int j = 0; j < H; j++) mu += x[j];
    mu /= H;
    for (int j = 0; j < H; j++) var += (x[j] - mu) * (x[j] - mu);
    var /= H;
    for (int j = 0; j < H; j++) y[j] = (x[j] - mu) / sqrt(var + eps) * g[j] + b[j];
}

/* The families' blocks in their own terms (one token). */
typedef enum fam { GEMMA, QWEN2, PHI2, PHI3, FALCON, GPT2 } fam;

typedef struct model {
    fam    f;
    float *norm_w, *norm_b, *up, *gate, *gate_up, *down, *fc1, *b1, *fc2, *b2, *attn_b;
} model;

static void block(const model *m, const double *X, const double *A, const double *Xn, double *out)
{
    double s[H], h[H], u[2 * I], g[I], a[I], y[H];
    for (int j = 0; j < H; j++) s[j] = X[j] + A[j] + (m->attn_b ? m->attn_b[j] : 0);
    switch (m->f) {
    case GEMMA: case QWEN2: case PHI3:
        rmsnorm(s, m->norm_w, m->f == QWEN2 || m->f == GEMMA ? 1e-6 : 1e-5, m->f == GEMMA ? 1.0 : 0.0, h);
        if (m->f == PHI3) {   /* gate, up = gate_up_proj(h).chunk(2) */
            linear(m->gate_up, NULL, h, H, 2 * I, u);
            for (int k = 0; k < I; k++) a[k] = u[I + k] * silu(u[k]);
        } else {
            linear(m->up, NULL, h, H, I, u);
            linear(m->gate, NULL, h, H, I, g);
            for (int k = 0; k < I; k++) a[k] = u[k] * (m->f == GEMMA ? gelu_tanh(g[k]) : silu(g[k]));
        }
        linear(m->down, NULL, a, I, H, y);
        break;
    case PHI2: case FALCON:   /* the MLP reads the shared input_layernorm(X) */
        linear(m->fc1, m->b1, Xn, H, I, u);
        for (int k = 0; k < I; k++) a[k] = m->f == PHI2 ? gelu_tanh(u[k]) : gelu_erf(u[k]);
        linear(m->fc2, m->b2, a, I, H, y);
        break;
    case GPT2:
        layernorm(s, m->norm_w, m->norm_b, 1e-5, h);
        conv1d(m->fc1, m->b1, h, H, I, u);
        for (int k = 0; k < I; k++) a[k] = gelu_tanh(u[k]);
        conv1d(m->fc2, m->b2, a, I, H, y);
        break;
    }
    for (int j = 0; j < H; j++) out[j] = s[j] + y[j];
}

/* Writes a 2-layer checkpoint with the family's names; m gets layer 1's tensors. */
static void make_checkpoint(fam f, model *m, ckpt *c)
{
    memset(m, 0, sizeof *m);
    m->f = f;
    double ws = 1 / sqrt((double)H), vs = 1 / sqrt((double)I);
    for (int l = 0; l < LAYERS; l++) {
        model x;
        memset(&x, 0, sizeof x);
        x.f = f;
        switch (f) {
        case GEMMA: case QWEN2:
            x.norm_w = add(c, l, "model.layers.%d.post_attention_layernorm.weight", H, 0, 0.5);
            x.up = add(c, l, "model.layers.%d.mlp.up_proj.weight", I, H, ws);
            x.gate = add(c, l, "model.layers.%d.mlp.gate_proj.weight", I, H, ws);
            x.down = add(c, l, "model.layers.%d.mlp.down_proj.weight", H, I, vs);
            break;
        case PHI3:
            x.norm_w = add(c, l, "model.layers.%d.post_attention_layernorm.weight", H, 0, 0.5);
            x.gate_up = add(c, l, "model.layers.%d.mlp.gate_up_proj.weight", 2 * I, H, ws);
            x.down = add(c, l, "model.layers.%d.mlp.down_proj.weight", H, I, vs);
            break;
        case PHI2:
            x.attn_b = add(c, l, "model.layers.%d.self_attn.dense.bias", H, 0, 0.5);
            /* fall through */
        case FALCON:
            x.fc1 = add(c, l, f == PHI2 ? "model.layers.%d.mlp.fc1.weight" : "transformer.h.%d.mlp.dense_h_to_4h.weight",
                        I, H, ws);
            if (f == PHI2) x.b1 = add(c, l, "model.layers.%d.mlp.fc1.bias", I, 0, 0.5);
            x.fc2 = add(c, l, f == PHI2 ? "model.layers.%d.mlp.fc2.weight" : "transformer.h.%d.mlp.dense_4h_to_h.weight",
                        H, I, vs);
            if (f == PHI2) x.b2 = add(c, l, "model.layers.%d.mlp.fc2.bias", H, 0, 0.5);
            break;
        case GPT2:   /* a GPT2LMHeadModel checkpoint: "transformer." before the names */
            x.attn_b = add(c, l, "transformer.h.%d.attn.c_proj.bias", H, 0, 0.5);
            x.norm_w = add(c, l, "transformer.h.%d.ln_2.weight", H, 0, 0.5);
            x.norm_b = add(c, l, "transformer.h.%d.ln_2.bias", H, 0, 0.5);
            x.fc1 = add(c, l, "transformer.h.%d.mlp.c_fc.weight", H, I, ws);
            x.b1 = add(c, l, "transformer.h.%d.mlp.c_fc.bias", I, 0, 0.5);
            x.fc2 = add(c, l, "transformer.h.%d.mlp.c_proj.weight", I, H, vs);
            x.b2 = add(c, l, "transformer.h.%d.mlp.c_proj.bias", H, 0, 0.5);
            break;
        }
        if (l == 1) *m = x;
    }
    ckpt_write(c);
}

/* ------------------------------------------------------ the run */

/* Runs layer 1 of the checkpoint through the config's block as P ranks. */
static void run_layer(dsmlp_ctx *ctx, const char *config, int P, const double *X, const double *A, const double *Xn,
                      double *out)
{
    dsmlp_hf_model m;
    TU_OK(ctx, dsmlp_hf_config(ctx, config, &m));
    ck_assert_int_eq(m.tensors.layers, LAYERS);
    dsmlp_weights *w;
    TU_OK(ctx, dsmlp_weights_open(ctx, dir, &w));
    dsmlp_graph *g[2];
    dsmlp_host_tensor bind[2][20];
    const dsmlp_host_tensor *bp[2];
    int nb[2];
    double *outs[2];
    void *bufs[2][20];
    static const double zeros[T * H];
    m.mlp.dtype = DSMLP_F32;
    for (int r = 0; r < P; r++) {
        m.mlp.tp_size = m.tensors.tp_size = P;
        m.mlp.tp_rank = m.tensors.tp_rank = r;
        TU_OK(ctx, dsmlp_graph_create(ctx, m.model_type, &g[r]));
        TU_OK(ctx, dsmlp_mlp_build(g[r], &m.mlp));
        TU_OK(ctx, dsmlp_weights_check(w, g[r], &m.tensors, 0));
        TU_OK(ctx, dsmlp_weights_check(w, g[r], &m.tensors, 1));
        int n = 0;
        for (int i = 0; i < dsmlp_graph_size(g[r]); i++) {
            dsmlp_value_info v;
            TU_OK(ctx, dsmlp_value_get(g[r], i, &v));
            if (v.op == DSMLP_OP_INPUT) {
                /* With the parallel residual each rank's attention output is a partial sum (dsmlp_mlp_build):
                ** rank 0 holds all of A here. */
                const double *a = r > 0 && !m.mlp.mlp_after_attn ? zeros : A;
                const double *src = !strcmp(v.name, "input") ? a : !strcmp(v.name, "residual") ? X : Xn;
                bind[r][n] = (dsmlp_host_tensor){v.name, DSMLP_F64, (void *)src};
                bufs[r][n++] = NULL;
            } else if (v.op == DSMLP_OP_PARAM) {
                size_t bytes = (size_t)(v.rank == 1 ? v.dims[0] : v.dims[0] * v.dims[1]) * 4;
                void *p = malloc(bytes);
                tu_poison(p, bytes);
                TU_OK(ctx, dsmlp_weights_param(w, g[r], &m.tensors, 1, v.name, p, bytes));
                bind[r][n] = (dsmlp_host_tensor){v.name, DSMLP_F32, p};
                bufs[r][n++] = p;
            }
        }
        outs[r] = malloc(sizeof(double) * T * H);
        tu_poison(outs[r], sizeof(double) * T * H);
        bind[r][n] = (dsmlp_host_tensor){"out", DSMLP_F64, outs[r]};
        bufs[r][n++] = NULL;
        bp[r] = bind[r];
        nb[r] = n;
    }
    if (P == 1) TU_OK(ctx, dsmlp_reference_run_f64(g[0], T, bind[0], nb[0]));
    else TU_OK(ctx, dsmlp_reference_run_ranks_f64(g, P, T, bp, nb));
    memcpy(out, outs[0], sizeof(double) * T * H);
    for (int r = 0; r < P; r++) {
        for (int i = 0; i < nb[r]; i++) free(bufs[r][i]);
        free(outs[r]);
        dsmlp_graph_free(g[r]);
    }
    dsmlp_weights_close(w);
}

static const struct { const char *config; fam f; } families[] = {
    {"gemma-2b.json", GEMMA}, {"qwen2-1.5b.json", QWEN2}, {"phi-2.json", PHI2},
    {"phi-3-mini-4k.json", PHI3}, {"falcon-7b.json", FALCON}, {"gpt2.json", GPT2},
};

START_TEST(family_blocks_from_checkpoints)
{
    dsmlp_ctx *ctx = tu_ctx();
    const char *config = tiny_config(families[_i].config);
    model m;
    ckpt c = {0};
    make_checkpoint(families[_i].f, &m, &c);
    double X[T * H], A[T * H], Xn[T * H], want[T * H], got[T * H];
    /* f32 values: the reference rounds f64 inputs to the graph dtype */
    for (int i = 0; i < T * H; i++) X[i] = (float)tu_normal(), A[i] = (float)tu_normal(), Xn[i] = (float)tu_normal();
    for (int t = 0; t < T; t++) block(&m, X + t * H, A + t * H, Xn + t * H, want + t * H);
    for (int P = 1; P <= 2; P++) {
        run_layer(ctx, config, P, X, A, Xn, got);
        double num = 0, den = 0;
        for (int i = 0; i < T * H; i++) num += (got[i] - want[i]) * (got[i] - want[i]), den += want[i] * want[i];
        ck_assert_msg(sqrt(num / den) < 1e-12, "%s P=%d: relative error %g against the model's block",
                      families[_i].config, P, sqrt(num / den));
        fprintf(stderr, "%-20s P=%d: relative error %.2e against the block in its own terms\n", families[_i].config, P,
                sqrt(num / den));
    }
    ckpt_free(&c);
    dsmlp_ctx_free(ctx);
}
END_TEST

/* ------------------------------------------------------ layer errors */

static void expect(dsmlp_ctx *ctx, dsmlp_status want, const char *a, const char *b)
{
    ck_assert_msg(strstr(dsmlp_last_error(ctx), a) && (!b || strstr(dsmlp_last_error(ctx), b)),
                  "message \"%s\" lacks \"%s\" / \"%s\"", dsmlp_last_error(ctx), a, b ? b : "");
    (void)want;
}

START_TEST(layer_errors)
{
    dsmlp_ctx *ctx = tu_ctx();
    dsmlp_hf_model m;
    TU_OK(ctx, dsmlp_hf_config(ctx, tiny_config("qwen2-1.5b.json"), &m));
    m.mlp.dtype = DSMLP_F32;
    dsmlp_graph *g;
    TU_OK(ctx, dsmlp_graph_create(ctx, "q", &g));
    TU_OK(ctx, dsmlp_mlp_build(g, &m.mlp));
    float *up = tu_random(DSMLP_F32, I * H, 1), *gate = tu_random(DSMLP_F32, I * H, 1);
    float *down = tu_random(DSMLP_F32, H * I, 1), *nw = tu_random(DSMLP_F32, H, 1);
    char path[1024];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    dsmlp_weights *w;
    /* gate_proj of layer 1 missing */
    st_w t[] = {
        {"model.layers.1.post_attention_layernorm.weight", "F32", 1, {H}, nw, 4 * H},
        {"model.layers.1.mlp.up_proj.weight", "F32", 2, {I, H}, up, 4 * I * H},
        {"model.layers.1.mlp.down_proj.weight", "F32", 2, {H, I}, down, 4 * H * I},
        {"model.layers.1.mlp.gate_proj.weight", "F32", 2, {I, H}, gate, 4 * I * H},
    };
    st_write(path, t, 3);
    TU_OK(ctx, dsmlp_weights_open(ctx, dir, &w));
    TU_CHECK(ctx, dsmlp_weights_check(w, g, &m.tensors, 1), DSMLP_ERR_NOT_FOUND);
    expect(ctx, 0, "layer 1, parameter 'w1_gate': no tensor 'model.layers.1.mlp.gate_proj.weight'", "closest: ");
    dsmlp_weights_close(w);
    /* down_proj stored transposed ([I, H], as if [in,out]) */
    t[2].shape[0] = I, t[2].shape[1] = H;
    st_write(path, t, 4);
    TU_OK(ctx, dsmlp_weights_open(ctx, dir, &w));
    TU_CHECK(ctx, dsmlp_weights_check(w, g, &m.tensors, 1), DSMLP_ERR_SHAPE);
    expect(ctx, 0, "model.safetensors: tensor 'model.layers.1.mlp.down_proj.weight' is [24,16]",
           "parameter w2 f32[16,24] [out,in] of this block needs [16,24]");
    dsmlp_weights_close(w);
    /* a tensor parallel rank needs the full tensor: with tp 2 the parameter is half */
    t[2].shape[0] = H, t[2].shape[1] = I;
    st_write(path, t, 4);
    TU_OK(ctx, dsmlp_weights_open(ctx, dir, &w));
    TU_OK(ctx, dsmlp_weights_check(w, g, &m.tensors, 1));
    dsmlp_tensor_map tp = m.tensors;
    tp.tp_size = 2;   /* the map says 2 ranks but the graph was built for 1 */
    TU_CHECK(ctx, dsmlp_weights_check(w, g, &tp, 1), DSMLP_ERR_SHAPE);
    expect(ctx, 0, "needs [48,16]", "split by output features, tp_size 2");
    /* layer outside the model, no map, a parameter the map lacks */
    TU_CHECK(ctx, dsmlp_weights_check(w, g, &m.tensors, 2), DSMLP_ERR_INVALID_ARG);
    expect(ctx, 0, "layer 2 is not a layer of the model (it has 2)", NULL);
    TU_CHECK(ctx, dsmlp_weights_check(w, g, NULL, 0), DSMLP_ERR_INVALID_ARG);
    expect(ctx, 0, "the tensor map is NULL", NULL);
    dsmlp_tensor_map less = m.tensors;
    less.count--;
    TU_CHECK(ctx, dsmlp_weights_check(w, g, &less, 1), DSMLP_ERR_NOT_FOUND);
    expect(ctx, 0, "parameter 'w2' of graph 'q' has no tensor in the tensor map", NULL);
    /* a row block outside the tensor */
    dsmlp_tensor_map rows = m.tensors;
    for (int i = 0; i < rows.count; i++)
        if (!strcmp(rows.ref[i].param, "w1_up")) rows.ref[i].row_begin = 8, rows.ref[i].row_count = I;
    TU_CHECK(ctx, dsmlp_weights_check(w, g, &rows, 1), DSMLP_ERR_SHAPE);
    expect(ctx, 0, "rows [8, 32) for parameter w1_up", "lie outside it");
    dsmlp_weights_close(w);
    /* a vector stored as a matrix, a dtype that does not convert */
    t[0].rank = 2, t[0].shape[0] = 2, t[0].shape[1] = H / 2;
    st_write(path, t, 4);
    TU_OK(ctx, dsmlp_weights_open(ctx, dir, &w));
    TU_CHECK(ctx, dsmlp_weights_check(w, g, &m.tensors, 1), DSMLP_ERR_SHAPE);
    expect(ctx, 0, "tensor 'model.layers.1.post_attention_layernorm.weight' has shape [2,8]", "needs a vector");
    dsmlp_weights_close(w);
    t[0].rank = 1, t[0].shape[0] = H / 2, t[0].dtype = "I64";
    st_write(path, t, 4);
    TU_OK(ctx, dsmlp_weights_open(ctx, dir, &w));
    TU_CHECK(ctx, dsmlp_weights_check(w, g, &m.tensors, 1), DSMLP_ERR_DTYPE);
    expect(ctx, 0, "tensor 'model.layers.1.post_attention_layernorm.weight' is I64, which dsmlp does not convert to f32",
           NULL);
    dsmlp_weights_close(w);
    free(up), free(gate), free(down), free(nw);
    dsmlp_graph_free(g);
    dsmlp_ctx_free(ctx);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("weights");
    TCase *tc = tcase_create("weights");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, family_blocks_from_checkpoints, 0, (int)(sizeof families / sizeof *families));
    tcase_add_test(tc, layer_errors);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
