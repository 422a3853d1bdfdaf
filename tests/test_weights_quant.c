/*
** test_weights_quant.c — quantize at load: int8 and fp8 blocks (every scale
** layout) read from a checkpoint of float weights (F32, F16, BF16; nn.Linear
** [out,in] with separate or merged up/gate, and GPT-2's Conv1D [in,out]) at
** P = 1 and P = 2. Each quantized weight and its scales must be
** byte-identical to dsmlp_quantize of the same rank slice cut here by hand,
** and to dsmlp_mlp_quantize of the full weight. Then fp8 checkpoints
** (F8_E4M3 + scales) loaded as they are, a plan (built without a GPU) whose
** dsmlp_weights_bind quantizes everything before its first upload, and the
** errors: scales the plan cannot take, scales mapped for a float weight, a
** quantized parameter without "<name>_scales", f16 scales that overflow.
*/
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "st_util.h"

enum { H = 16, I = 24, LAYER = 1 };

typedef enum shape { SPLIT, MERGED, CONV1D } shape;   /* up/gate tensors apart, [up | gate], GPT-2 */

typedef struct qcase {
    const char *what;
    shape       sh;
    dsmlp_dtype qt, sdt;
    int         groups, per_channel, extra, gate;
    const char *st;   /* the checkpoint's dtype */
} qcase;

static const qcase cases[] = {
    {"int8 groups=2, split up/gate, F32", SPLIT, DSMLP_I8, DSMLP_F32, 2, 0, 0, 0, "F32"},
    {"int8 per channel f16 scales, split, BF16", SPLIT, DSMLP_I8, DSMLP_F16, 1, 1, 0, 0, "BF16"},
    {"int8 groups=2 extra grouping + gate scales, merged, F16", MERGED, DSMLP_I8, DSMLP_F32, 2, 0, 1, 1, "F16"},
    {"int8 groups=1 (DeepSpeed), merged, F32", MERGED, DSMLP_I8, DSMLP_F32, 1, 0, 0, 0, "F32"},
    {"int8 groups=4, Conv1D [in,out], F32", CONV1D, DSMLP_I8, DSMLP_F32, 4, 0, 0, 0, "F32"},
    {"fp8 per channel, split, BF16", SPLIT, DSMLP_FP8_E4M3, DSMLP_F32, 1, 1, 0, 0, "BF16"},
    {"fp8 groups=2 gate scales f16, merged, F32", MERGED, DSMLP_FP8_E4M3, DSMLP_F16, 2, 0, 0, 1, "F32"},
    {"fp8 per channel, Conv1D [in,out], F16", CONV1D, DSMLP_FP8_E4M3, DSMLP_F32, 1, 1, 0, 0, "F16"},
};

static char *dir;
static void setup(void) { dir = tu_tmpdir("wquant"); }
static void teardown(void)
{
    tu_rmtree(dir);
    free(dir);
}

static dsmlp_dtype dt_of(const char *st)
{
    return !strcmp(st, "F32") ? DSMLP_F32 : !strcmp(st, "F16") ? DSMLP_F16 : DSMLP_BF16;
}

static void config(const qcase *q, int P, int rk, dsmlp_mlp_config *c)
{
    dsmlp_mlp_config_default(c);
    c->hidden = H, c->intermediate = I, c->dtype = DSMLP_F16, c->tp_size = P, c->tp_rank = rk;
    c->int8_weights = 1, c->int8_groups = q->groups, c->quant_dtype = q->qt, c->quant_scale_dtype = q->sdt;
    c->quant_per_channel = q->per_channel, c->quant_extra_grouping = q->extra, c->quant_gate_scales = q->gate;
    if (q->sh == CONV1D) {   /* GPT-2: LayerNorm, tanh GELU, biases, Conv1D weights */
        c->norm = DSMLP_NORM_LAYERNORM, c->activation = DSMLP_MLP_GELU, c->layout = DSMLP_LAYOUT_IN_OUT;
        c->attn_bias = 0;
    } else {                 /* LLaMA: RMSNorm, SwiGLU, no biases */
        c->norm = DSMLP_NORM_RMSNORM, c->activation = DSMLP_MLP_GATED_SILU, c->layout = DSMLP_LAYOUT_OUT_IN;
        c->attn_bias = c->norm_bias = c->bias1 = c->bias2 = 0, c->split_w1 = q->sh == SPLIT;
    }
}

static void map_add(dsmlp_tensor_map *m, const char *param, const char *tensor, dsmlp_split split)
{
    dsmlp_tensor_ref *r = &m->ref[m->count++];
    memset(r, 0, sizeof *r);
    snprintf(r->param, sizeof r->param, "%s", param);
    snprintf(r->tensor, sizeof r->tensor, "%s", tensor);
    r->split = split;
}

/* A checkpoint tensor of the test: its name, shape and data (in its st dtype). */
typedef struct tens { char name[96]; const char *param; int rows, cols; dsmlp_split split; void *data; } tens;

typedef struct tdef { const char *param, *name; int rows, cols; dsmlp_split split; } tdef;

/* Writes the checkpoint of layers 0 and 1 (layer 1 is loaded; layer 0 only
** surrounds it) with weights of scale wscale and fills the map; t[] gets
** layer 1's tensors. */
static int checkpoint(const qcase *q, int P, int rk, double wscale, tens *t, dsmlp_tensor_map *m)
{
    static const tdef split_t[] = {
        {"norm_w", "model.layers.%d.post_attention_layernorm.weight", H, 0, DSMLP_SPLIT_NONE},
        {"w1_up", "model.layers.%d.mlp.up_proj.weight", I, H, DSMLP_SPLIT_OUT},
        {"w1_gate", "model.layers.%d.mlp.gate_proj.weight", I, H, DSMLP_SPLIT_OUT},
        {"w2", "model.layers.%d.mlp.down_proj.weight", H, I, DSMLP_SPLIT_IN}},
        merged_t[] = {
        {"norm_w", "model.layers.%d.post_attention_layernorm.weight", H, 0, DSMLP_SPLIT_NONE},
        {"w1", "model.layers.%d.mlp.up_gate_proj.weight", 2 * I, H, DSMLP_SPLIT_OUT_HALVES},
        {"w2", "model.layers.%d.mlp.down_proj.weight", H, I, DSMLP_SPLIT_IN}},
        conv_t[] = {
        {"norm_w", "h.%d.ln_2.weight", H, 0, DSMLP_SPLIT_NONE}, {"norm_b", "h.%d.ln_2.bias", H, 0, DSMLP_SPLIT_NONE},
        {"w1", "h.%d.mlp.c_fc.weight", H, I, DSMLP_SPLIT_OUT}, {"b1", "h.%d.mlp.c_fc.bias", I, 0, DSMLP_SPLIT_OUT},
        {"w2", "h.%d.mlp.c_proj.weight", I, H, DSMLP_SPLIT_IN}, {"b2", "h.%d.mlp.c_proj.bias", H, 0, DSMLP_SPLIT_NONE}};
    const tdef *src = q->sh == SPLIT ? split_t : q->sh == MERGED ? merged_t : conv_t;
    int n = q->sh == SPLIT ? 4 : q->sh == MERGED ? 3 : 6;
    memset(m, 0, sizeof *m);
    m->layers = 2, m->tp_size = P, m->tp_rank = rk;
    st_w w[2 * 6];
    tens t0[6];
    for (int l = 0; l < 2; l++)
        for (int i = 0; i < n; i++) {
            const tdef *d = &src[i];
            tens *x = l == LAYER ? &t[i] : &t0[i];
            snprintf(x->name, sizeof x->name, d->name, l);
            x->param = d->param, x->rows = d->rows, x->cols = d->cols, x->split = d->split;
            int64_t count = (int64_t)d->rows * (d->cols ? d->cols : 1);
            /* vectors (norm, biases) in F32, weights in the case's dtype */
            const char *st = d->cols ? q->st : "F32";
            x->data = tu_random(dt_of(st), count, d->cols ? wscale : 0.5);
            w[l * n + i] = (st_w){x->name, st, d->cols ? 2 : 1, {d->rows, d->cols}, x->data,
                                  (size_t)count * dsmlp_dtype_size(dt_of(st))};
            if (l == LAYER) map_add(m, d->param, d->name, d->split);
        }
    char path[1024];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    st_write(path, w, 2 * n);
    for (int i = 0; i < n; i++) free(t0[i].data);
    for (int i = 0; i < m->count; i++) {   /* the map names "{i}", not a number */
        char *p = strstr(m->ref[i].tensor, "%d");
        memmove(p + 3, p + 2, strlen(p + 2) + 1);
        memcpy(p, "{i}", 3);
    }
    return n;
}

/* Rank rk's slice of a full weight cut by hand, in the checkpoint's own
** layout and dtype: rows/cols of the stored [rows, cols] tensor. */
static void *cut(const tens *x, dsmlp_dtype dt, int out_rows, int P, int rk, int64_t *R, int64_t *C)
{
    size_t e = dsmlp_dtype_size(dt);
    int along_rows = (x->split != DSMLP_SPLIT_IN) == (out_rows != 0);   /* which stored axis P divides */
    int64_t r = x->rows, c = x->cols;
    if (x->split == DSMLP_SPLIT_NONE) along_rows = 1, P = 1, rk = 0;
    *R = along_rows ? r / P : r, *C = along_rows ? c : c / P;
    unsigned char *out = malloc((size_t)(*R * *C) * e);
    const unsigned char *in = x->data;
    for (int64_t i = 0; i < *R; i++) {
        int64_t si = i;
        if (along_rows && x->split == DSMLP_SPLIT_OUT_HALVES)   /* [up | gate]: each half's block */
            si = (i < *R / 2 ? 0 : r / 2) + rk * (*R / 2) + i % (*R / 2);
        else if (along_rows) si = rk * *R + i;
        memcpy(out + (size_t)(i * *C) * e, in + (size_t)(si * c + (along_rows ? 0 : rk * *C)) * e, (size_t)*C * e);
    }
    return out;
}

START_TEST(quantized_from_float)
{
    const qcase *q = &cases[_i / 2];
    int P = 1 + _i % 2;
    dsmlp_ctx *ctx = tu_ctx();
    for (int rk = 0; rk < P; rk++) {
        dsmlp_mlp_config c;
        config(q, P, rk, &c);
        dsmlp_graph *g;
        TU_OK(ctx, dsmlp_graph_create(ctx, "block", &g));
        TU_OK(ctx, dsmlp_mlp_build(g, &c));
        tens t[6];
        dsmlp_tensor_map m;
        int n = checkpoint(q, P, rk, 0.25, t, &m);
        dsmlp_weights *w;
        TU_OK(ctx, dsmlp_weights_open(ctx, dir, &w));
        TU_OK(ctx, dsmlp_weights_check(w, g, &m, LAYER));   /* scales: made by quantizing, unmapped */
        for (int i = 0; i < n; i++) {
            if (!t[i].cols) continue;
            char sname[64];
            snprintf(sname, sizeof sname, "%s_scales", t[i].param);
            dsmlp_dtype dt = dt_of(q->st);
            int64_t R, C, ns;
            void *slice = cut(&t[i], dt, q->sh != CONV1D, P, rk, &R, &C);
            int64_t rows = q->sh == CONV1D ? C : R, cols = q->sh == CONV1D ? R : C;   /* output features, inputs */
            TU_OK(ctx, dsmlp_mlp_scales(ctx, &c, sname, &ns));
            size_t qb = (size_t)(rows * cols), sb = (size_t)ns * dsmlp_dtype_size(q->sdt);
            unsigned char *want_q = malloc(qb), *want_s = malloc(sb), *mq = malloc(qb), *ms = malloc(sb);
            unsigned char *got_q = malloc(qb), *got_s = malloc(sb);
            tu_poison(got_q, qb), tu_poison(got_s, sb);
            dsmlp_layout lay = q->sh == CONV1D ? DSMLP_LAYOUT_IN_OUT : DSMLP_LAYOUT_OUT_IN;
            TU_OK(ctx, dsmlp_quantize(ctx, slice, dt, lay, rows, cols, ns, q->qt, want_q, q->sdt, want_s));
            TU_OK(ctx, dsmlp_mlp_quantize(ctx, &c, t[i].param, t[i].data, dt, lay, mq, ms));
            TU_OK(ctx, dsmlp_weights_param(w, g, &m, LAYER, t[i].param, got_q, qb));
            TU_OK(ctx, dsmlp_weights_param(w, g, &m, LAYER, sname, got_s, sb));
            ck_assert_msg(!memcmp(got_q, want_q, qb), "%s P=%d rank %d: %s differs from dsmlp_quantize", q->what, P,
                          rk, t[i].param);
            ck_assert_msg(!memcmp(got_s, want_s, sb), "%s P=%d rank %d: %s differs", q->what, P, rk, sname);
            ck_assert_msg(!memcmp(got_q, mq, qb) && !memcmp(got_s, ms, sb),
                          "%s P=%d rank %d: %s differs from dsmlp_mlp_quantize", q->what, P, rk, t[i].param);
            /* not a degenerate quantization: the codes use the range */
            int nonzero = 0;
            for (size_t k = 0; k < qb; k++) nonzero += got_q[k] != 0;
            ck_assert_int_gt(nonzero, (int)(qb / 2));
            free(slice), free(want_q), free(want_s), free(mq), free(ms), free(got_q), free(got_s);
        }
        dsmlp_weights_close(w);
        for (int i = 0; i < n; i++) free(t[i].data);
        dsmlp_graph_free(g);
    }
    dsmlp_ctx_free(ctx);
}
END_TEST

/* fp8 checkpoints (F8_E4M3 codes + F32 scales) load as they are. */
START_TEST(fp8_checkpoint)
{
    dsmlp_ctx *ctx = tu_ctx();
    qcase q = {"fp8 per channel", SPLIT, DSMLP_FP8_E4M3, DSMLP_F32, 1, 1, 0, 0, "F32"};
    dsmlp_mlp_config c;
    config(&q, 1, 0, &c);
    dsmlp_graph *g;
    TU_OK(ctx, dsmlp_graph_create(ctx, "block", &g));
    TU_OK(ctx, dsmlp_mlp_build(g, &c));
    const char *wn[] = {"w1_up", "w1_gate", "w2"};
    int rows[] = {I, I, H}, cols[] = {H, H, I};
    st_w t[7];
    void *data[7];
    char names[7][64];
    dsmlp_tensor_map m = {.layers = 0, .tp_size = 1, .tp_rank = 0};
    data[0] = tu_random(DSMLP_F32, H, 0.5);
    t[0] = (st_w){"norm", "F32", 1, {H}, data[0], 4 * H};
    map_add(&m, "norm_w", "norm", DSMLP_SPLIT_NONE);
    for (int k = 0; k < 3; k++) {
        data[1 + 2 * k] = tu_random(DSMLP_FP8_E4M3, rows[k] * cols[k], 1);
        data[2 + 2 * k] = tu_random(DSMLP_F32, rows[k], 0.01);
        snprintf(names[1 + 2 * k], 64, "%s.weight", wn[k]);
        snprintf(names[2 + 2 * k], 64, "%s.weight_scale", wn[k]);
        t[1 + 2 * k] = (st_w){names[1 + 2 * k], "F8_E4M3", 2, {rows[k], cols[k]}, data[1 + 2 * k],
                              (size_t)(rows[k] * cols[k])};
        t[2 + 2 * k] = (st_w){names[2 + 2 * k], "F32", 1, {rows[k]}, data[2 + 2 * k], 4 * (size_t)rows[k]};
        char sname[64];
        snprintf(sname, sizeof sname, "%s_scales", wn[k]);
        map_add(&m, wn[k], names[1 + 2 * k], DSMLP_SPLIT_NONE);
        map_add(&m, sname, names[2 + 2 * k], DSMLP_SPLIT_NONE);
    }
    char path[1024];
    snprintf(path, sizeof path, "%s/fp8.safetensors", dir);
    st_write(path, t, 7);
    dsmlp_weights *w;
    TU_OK(ctx, dsmlp_weights_open(ctx, path, &w));
    dsmlp_tensor_info info;
    TU_OK(ctx, dsmlp_weights_find(w, "w2.weight", &info));
    ck_assert_int_eq(info.dtype, DSMLP_FP8_E4M3);
    TU_OK(ctx, dsmlp_weights_check(w, g, &m, 0));
    for (int k = 0; k < 7; k++) {
        if (k == 0) continue;
        size_t b = t[k].bytes;
        unsigned char *got = malloc(b);
        tu_poison(got, b);
        const char *param = m.ref[k].param;
        TU_OK(ctx, dsmlp_weights_param(w, g, &m, 0, param, got, b));
        ck_assert_msg(!memcmp(got, data[k], b), "%s is not the checkpoint's bytes", param);
        free(got);
    }
    /* the same codes into an int8 block: not converted */
    dsmlp_graph *g8;
    c.quant_dtype = DSMLP_I8;
    TU_OK(ctx, dsmlp_graph_create(ctx, "int8", &g8));
    TU_OK(ctx, dsmlp_mlp_build(g8, &c));
    TU_CHECK(ctx, dsmlp_weights_check(w, g8, &m, 0), DSMLP_ERR_DTYPE);
    TU_MSG_HAS(ctx, "is F8_E4M3, which dsmlp does not convert to i8");
    /* per-channel scales (24) where the plan has groups=2: both numbers */
    dsmlp_graph *g2;
    c.quant_dtype = DSMLP_FP8_E4M3, c.quant_per_channel = 0, c.int8_groups = 2;
    TU_OK(ctx, dsmlp_graph_create(ctx, "groups", &g2));
    TU_OK(ctx, dsmlp_mlp_build(g2, &c));
    TU_CHECK(ctx, dsmlp_weights_check(w, g2, &m, 0), DSMLP_ERR_SHAPE);
    TU_MSG_HAS(ctx, "tensor 'w1_up.weight_scale' is [24] but parameter w1_up_scales f32[2] of this block needs [2]");
    dsmlp_weights_close(w);
    for (int k = 0; k < 7; k++) free(data[k]);
    dsmlp_graph_free(g), dsmlp_graph_free(g8), dsmlp_graph_free(g2);
    dsmlp_ctx_free(ctx);
}
END_TEST

/* A plan built without a GPU: dsmlp_weights_bind quantizes every weight
** (and fails there on a bad one) before its first upload. */
START_TEST(bind_quantizes_before_upload)
{
    dsmlp_ctx *ctx = tu_ctx();
    const qcase *q = &cases[2];
    for (int bad = 0; bad < 2; bad++) {
        dsmlp_mlp_config c;
        config(q, 2, 1, &c);
        dsmlp_graph *g;
        TU_OK(ctx, dsmlp_graph_create(ctx, "block", &g));
        TU_OK(ctx, dsmlp_mlp_build(g, &c));
        tens t[6];
        dsmlp_tensor_map m;
        int n = checkpoint(q, 2, 1, 0.25, t, &m);
        if (bad) {   /* a NaN in w2, the last weight the map names */
            char path[1024];
            snprintf(path, sizeof path, "%s/model.safetensors", dir);
            FILE *f = fopen(path, "r+b");
            ck_assert_ptr_nonnull(f);
            /* layer 1's w2 is the file's last tensor: its last element, f16 NaN */
            ck_assert_int_eq(fseek(f, -2, SEEK_END), 0);
            unsigned char nan16[2] = {0x00, 0x7e};
            ck_assert_int_eq((int)fwrite(nan16, 1, 2, f), 2);
            ck_assert_int_eq(fclose(f), 0);
        }
        dsmlp_weights *w;
        TU_OK(ctx, dsmlp_weights_open(ctx, dir, &w));
        dsmlp_compile_options o;
        dsmlp_compile_options_default(&o);
        o.arch = "sm_90", o.defer_compile = 1, o.max_tokens = 64;
        dsmlp_plan *p;
        TU_OK(ctx, dsmlp_plan_build(ctx, g, &o, &p));
        if (!bad) {   /* everything checked and quantized: it stops at the first upload, for want of a GPU */
            TU_CHECK(ctx, dsmlp_weights_bind(w, &m, LAYER, p, NULL), DSMLP_ERR_STATE);
            TU_MSG_HAS(ctx, "is not loaded");
        } else {
            TU_CHECK(ctx, dsmlp_weights_bind(w, &m, LAYER, p, NULL), DSMLP_ERR_INVALID_ARG);
            TU_MSG_HAS(ctx, "is nan");
            TU_MSG_HAS(ctx, "quantizing at load: layer 1, parameter 'w2' from tensor 'model.layers.1.mlp.down_proj.weight'");
        }
        dsmlp_plan_free(p);
        dsmlp_weights_close(w);
        for (int i = 0; i < n; i++) free(t[i].data);
        dsmlp_graph_free(g);
    }
    dsmlp_ctx_free(ctx);
}
END_TEST

START_TEST(errors)
{
    dsmlp_ctx *ctx = tu_ctx();
    qcase q = cases[0];
    q.sdt = DSMLP_F16;
    dsmlp_mlp_config c;
    config(&q, 1, 0, &c);
    dsmlp_graph *g;
    TU_OK(ctx, dsmlp_graph_create(ctx, "block", &g));
    TU_OK(ctx, dsmlp_mlp_build(g, &c));
    tens t[6];
    dsmlp_tensor_map m;
    int n = checkpoint(&q, 1, 0, 0.25, t, &m);
    dsmlp_weights *w;
    TU_OK(ctx, dsmlp_weights_open(ctx, dir, &w));
    /* scales mapped for a weight that is quantized at load */
    dsmlp_tensor_map m2 = m;
    map_add(&m2, "w1_up_scales", "model.layers.{i}.post_attention_layernorm.weight", DSMLP_SPLIT_NONE);
    TU_CHECK(ctx, dsmlp_weights_check(w, g, &m2, LAYER), DSMLP_ERR_INVALID_ARG);
    TU_MSG_HAS(ctx, "the tensor map names a tensor for 'w1_up_scales', but 'w1_up' comes from a float tensor");
    unsigned char s16[4];
    TU_CHECK(ctx, dsmlp_weights_param(w, g, &m2, LAYER, "w1_up_scales", s16, sizeof s16), DSMLP_ERR_INVALID_ARG);
    dsmlp_weights_close(w);
    for (int i = 0; i < n; i++) free(t[i].data);
    /* weights so large that their int8 scales overflow the block's f16 scales: the scale and f16's limit */
    n = checkpoint(&q, 1, 0, 4e7, t, &m);
    TU_OK(ctx, dsmlp_weights_open(ctx, dir, &w));
    size_t qb = (size_t)I * H;
    unsigned char *qbuf = malloc(qb);
    TU_CHECK(ctx, dsmlp_weights_param(w, g, &m, LAYER, "w1_up", qbuf, qb), DSMLP_ERR_INVALID_ARG);
    TU_MSG_HAS(ctx, "exceeds f16's 65504");
    TU_MSG_HAS(ctx, "quantizing at load: layer 1, parameter 'w1_up' from tensor 'model.layers.1.mlp.up_proj.weight'");
    free(qbuf);
    /* a quantized parameter built op by op, its scales not named "<name>_scales" */
    dsmlp_graph *h;
    dsmlp_value x, wq, s, d, y;
    TU_OK(ctx, dsmlp_graph_create(ctx, "op by op", &h));
    TU_OK(ctx, dsmlp_input(h, "x", DSMLP_F16, H, &x));
    TU_OK(ctx, dsmlp_param_matrix(h, "wq", DSMLP_I8, I, H, DSMLP_LAYOUT_OUT_IN, &wq));
    TU_OK(ctx, dsmlp_param_vector(h, "s", DSMLP_F32, 2, &s));
    TU_OK(ctx, dsmlp_dequant(h, wq, s, 2, DSMLP_F16, &d));
    TU_OK(ctx, dsmlp_matmul(h, x, d, &y));
    TU_OK(ctx, dsmlp_output(h, "y", y));
    dsmlp_tensor_map mh = {.tp_size = 1};
    map_add(&mh, "wq", t[1].name, DSMLP_SPLIT_NONE);
    map_add(&mh, "s", t[0].name, DSMLP_SPLIT_NONE);
    TU_CHECK(ctx, dsmlp_weights_check(w, h, &mh, 0), DSMLP_ERR_NOT_FOUND);
    TU_MSG_HAS(ctx, "parameter 'wq' (i8) comes from a float tensor, to be quantized at load, but the block has no "
                    "parameter 'wq_scales'");
    dsmlp_weights_close(w);
    for (int i = 0; i < n; i++) free(t[i].data);
    dsmlp_graph_free(h);
    dsmlp_graph_free(g);
    dsmlp_ctx_free(ctx);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("weights_quant");
    TCase *tc = tcase_create("weights_quant");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, quantized_from_float, 0, 2 * (int)(sizeof cases / sizeof *cases));
    tcase_add_test(tc, fp8_checkpoint);
    tcase_add_test(tc, bind_quantizes_before_upload);
    tcase_add_test(tc, errors);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
