/*
** weights_param.c — one block parameter from a checkpoint tensor: the
** tensor named by the map (with the layer index), its row block, the rank's
** slice under tensor parallelism, converted to the parameter's dtype.
**
** A parameter is seen as a 2-D [rows, cols] (a vector is [1, n]); its output
** features run along rows for [out,in] weights and along cols for [in,out]
** weights and vectors. The rank's data is one or two rectangles of the
** tensor's view, copied row by row: nothing is transposed.
*/
#include "weights.h"
#include "error.h"
#include "dtype.h"
#include "compiler/graph.h"
#include "runtime/plan_handle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *split_name(dsmlp_split s)
{
    static const char *const n[] = {"replicated", "split by output features", "split by input features",
                                    "each half split by output features"};
    return (unsigned)s <= DSMLP_SPLIT_OUT_HALVES ? n[s] : "?";
}

static void shape_text(const st_tensor *t, char *buf, size_t cap)
{
    size_t n = (size_t)snprintf(buf, cap, "[");
    for (int d = 0; d < t->rank && n < cap; d++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%lld", d ? "," : "", (long long)t->shape[d]);
    if (n < cap) snprintf(buf + n, cap - n, "]");
}

static void param_text(const w_param *p, char *buf, size_t cap)
{
    if (p->vector)
        snprintf(buf, cap, "%s %s[%lld]", p->name, dsmlp_dtype_name(p->dtype), (long long)p->cols);
    else
        snprintf(buf, cap, "%s %s[%lld,%lld] %s", p->name, dsmlp_dtype_name(p->dtype), (long long)p->rows,
                 (long long)p->cols, p->layout == DSMLP_LAYOUT_OUT_IN ? "[out,in]" : "[in,out]");
}

/* The map's tensor name for layer `layer` ("{i}" replaced). */
static dsmlp_status tensor_name(dsmlp_ctx *ctx, const dsmlp_tensor_ref *r, int layer, char *out, size_t cap)
{
    size_t n = 0;
    for (const char *s = r->tensor; *s; s++) {
        if (!strncmp(s, "{i}", 3)) {
            n += (size_t)snprintf(out + n, n < cap ? cap - n : 0, "%d", layer);
            s += 2;
        } else if (n + 1 < cap) {
            out[n++] = *s, out[n] = 0;
        } else {
            n++;
        }
        if (n >= cap) return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "tensor map: the name of '%s' is too long", r->param);
    }
    if (n < cap) out[n] = 0;
    return DSMLP_OK;
}

dsmlp_status dsmlpM_w_slice(const dsmlp_weights *w, const dsmlp_tensor_map *m, const dsmlp_tensor_ref *r, int layer,
                            const w_param *p, w_slice *sl)
{
    dsmlp_ctx *ctx = w->ctx;
    char name[DSMLP_TENSOR_NAME_MAX + 32], what[128], ps[160], ts[160];
    dsmlp_status s = tensor_name(ctx, r, layer, name, sizeof name);
    if (s != DSMLP_OK) return s;
    snprintf(what, sizeof what, "layer %d, parameter '%s'", layer, p->name);
    if ((s = dsmlpM_w_lookup(w, name, what, &sl->e)) != DSMLP_OK) return s;
    const st_tensor *t = sl->e->t;
    sl->file = &w->files[sl->e->file];
    const char *fp = sl->file->path;
    param_text(p, ps, sizeof ps);
    shape_text(t, ts, sizeof ts);
    if (!dsmlpM_w_convertible(t->dtype, p->dtype))
        return dsmlpB_err_set(ctx, DSMLP_ERR_DTYPE,
                       "%s: tensor '%s' is %s, which dsmlp does not convert to %s (parameter %s; it converts F32, F16, "
                       "BF16, F64 to f32, f16, bf16, I8 to i8, F8_E4M3 to fp8, and quantizes F32, F16, BF16, F64 "
                       "into i8 or fp8 parameters)",
                       fp, sl->e->name, dsmlpM_st_dtype_name(t->dtype), dsmlp_dtype_name(p->dtype), ps);
    int as_vector = p->vector && (t->rank == 1 || (t->rank == 2 && t->shape[0] == 1));
    if (t->rank != (p->vector ? 1 : 2) && !as_vector)
        return dsmlpB_err_set(ctx, DSMLP_ERR_SHAPE, "%s: tensor '%s' has shape %s, but parameter %s needs a %s", fp,
                       sl->e->name, ts, ps, p->vector ? "vector (1 dimension)" : "matrix (2 dimensions)");
    /* The view: the map's row block of the tensor, as [VR, VC]. */
    int64_t TR = p->vector ? 1 : t->shape[0], TC = p->vector ? t->shape[t->rank - 1] : t->shape[1];
    int64_t VR = TR, VC = TC, row0 = 0;
    if (r->row_count > 0) {
        int64_t avail = p->vector ? TC : TR;
        if (r->row_begin > avail || r->row_count > avail - r->row_begin)
            return dsmlpB_err_set(ctx, DSMLP_ERR_SHAPE, "%s: tensor '%s' has shape %s: rows [%lld, %lld) for parameter %s lie "
                           "outside it", fp, sl->e->name, ts, (long long)r->row_begin,
                           (long long)(r->row_begin + r->row_count), ps);
        if (p->vector) VC = r->row_count, row0 = r->row_begin;   /* a vector's "rows" are its elements */
        else VR = r->row_count, row0 = r->row_begin;
    }
    size_t esz = dsmlpM_st_dtype_size(t->dtype);
    sl->view = sl->file->data + t->begin + (size_t)row0 * (size_t)(p->vector ? 1 : TC) * esz;
    sl->VC = VC;
    /* What the rank needs: the parameter's shape with the split axis times P. */
    int64_t P = m->tp_size, rk = m->tp_rank, ER = p->rows, EC = p->cols;
    int out_axis = p->vector ? 1 : p->layout == DSMLP_LAYOUT_OUT_IN ? 0 : 1;
    int axis = r->split == DSMLP_SPLIT_IN ? 1 - out_axis : out_axis;
    if (r->split == DSMLP_SPLIT_IN && p->vector)
        return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "tensor map: vector parameter %s cannot be split by input features",
                       ps);
    int64_t NR = ER, NC = EC;
    if (r->split != DSMLP_SPLIT_NONE && axis == 0) NR *= P;
    if (r->split != DSMLP_SPLIT_NONE && axis == 1) NC *= P;
    if (VR != NR || VC != NC) {
        char need[64];
        if (p->vector) snprintf(need, sizeof need, "[%lld]", (long long)NC);
        else snprintf(need, sizeof need, "[%lld,%lld]", (long long)NR, (long long)NC);
        char block[96] = "";
        if (r->row_count > 0)
            snprintf(block, sizeof block, " (rows [%lld, %lld) of it)", (long long)r->row_begin,
                     (long long)(r->row_begin + r->row_count));
        return dsmlpB_err_set(ctx, DSMLP_ERR_SHAPE, "%s: tensor '%s' is %s%s but parameter %s of this block needs %s "
                       "(%s, tp_size %lld)", fp, sl->e->name, ts, block, ps, need, split_name(r->split), (long long)P);
    }
    int64_t len = axis == 0 ? ER : EC;   /* the rank's extent along the split axis */
    w_rect whole = {0, ER, 0, EC, 0, 0};
    sl->nrect = 1;
    sl->rect[0] = whole;
    if (r->split == DSMLP_SPLIT_OUT || r->split == DSMLP_SPLIT_IN) {
        if (axis == 0) sl->rect[0].r0 = rk * len;
        else sl->rect[0].c0 = rk * len;
    } else if (r->split == DSMLP_SPLIT_OUT_HALVES) {
        if (len % 2)
            return dsmlpB_err_set(ctx, DSMLP_ERR_SHAPE, "parameter %s: %lld output features do not split in two halves", ps,
                           (long long)len);
        int64_t h = len / 2, full_half = len * P / 2;
        for (int k = 0; k < 2; k++) {
            w_rect q = whole;
            if (axis == 0) q.r0 = k * full_half + rk * h, q.nr = h, q.dr0 = k * h;
            else q.c0 = k * full_half + rk * h, q.nc = h, q.dc0 = k * h;
            sl->rect[k] = q;
        }
        sl->nrect = 2;
    }
    return DSMLP_OK;
}

void dsmlpM_w_gather(const w_slice *sl, const w_param *p, void *host)
{
    st_dtype from = sl->e->t->dtype;
    size_t ssz = dsmlpM_st_dtype_size(from), dsz = dsmlp_dtype_size(p->dtype);
    for (int k = 0; k < sl->nrect; k++) {
        const w_rect *q = &sl->rect[k];
        for (int64_t i = 0; i < q->nr; i++) {
            const unsigned char *src = sl->view + ((size_t)(q->r0 + i) * (size_t)sl->VC + (size_t)q->c0) * ssz;
            unsigned char *dst = (unsigned char *)host + ((size_t)(q->dr0 + i) * (size_t)p->cols + (size_t)q->dc0) * dsz;
            dsmlpM_w_convert(dst, p->dtype, src, from, (size_t)q->nc);
        }
    }
}

/* The rank's data as it lies in the file, when no copy is needed. */
static const void *in_place(const w_slice *sl, const w_param *p)
{
    const w_rect *q = &sl->rect[0];
    if (sl->nrect != 1 || q->c0 != 0 || q->nc != sl->VC || dsmlpM_st_dtype_dsmlp(sl->e->t->dtype) != p->dtype) return NULL;
    return sl->view + (size_t)q->r0 * (size_t)sl->VC * dsmlpM_st_dtype_size(sl->e->t->dtype);
}

static size_t param_bytes(const w_param *p)
{
    return (size_t)p->rows * (size_t)p->cols * dsmlp_dtype_size(p->dtype);
}

/* ------------------------------------------------------------ parameters */

/* A name longer than the slot is no parameter of ours (graph names are shorter); never truncate it silently. */
static int copy_name(w_param *p, const char *name)
{
    size_t len = strlen(name);
    if (len >= sizeof p->name) return 0;
    memcpy(p->name, name, len + 1);
    return 1;
}

static int from_graph(const dsmlp_graph *g, const char *name, w_param *p)
{
    dsmlp_value v = dsmlpC_graph_find(g, DSMLP_OP_PARAM, name);
    if (v == DSMLP_NONE) return 0;
    const graph_node *n = graph_at(g, v);
    if (!copy_name(p, name)) return 0;
    p->dtype = n->dtype, p->vector = n->rank == 1, p->layout = n->layout;
    p->rows = p->vector ? 1 : n->dims[0], p->cols = p->vector ? n->dims[0] : n->dims[1];
    return 1;
}

static int from_plan(const dsmlp_plan *pl, const char *name, w_param *p)
{
    int b = dsmlpC_plan_find_buf(pl->p, name);
    if (b < 0 || pl->p->bufs[b].kind != BUF_PARAM) return 0;
    const plan_buf *pb = &pl->p->bufs[b];
    if (!copy_name(p, name)) return 0;
    /* plan buffers keep no rank: a parameter of one row is taken as a vector */
    p->dtype = pb->dtype, p->vector = pb->rows <= 1;
    p->rows = pb->rows > 0 ? pb->rows : 1, p->cols = pb->cols, p->layout = pb->layout;
    return 1;
}

static const dsmlp_tensor_ref *find_ref(const dsmlp_tensor_map *m, const char *param)
{
    for (int i = 0; i < m->count; i++)
        if (!strcmp(m->ref[i].param, param)) return &m->ref[i];
    return NULL;
}

static dsmlp_status check_args(const dsmlp_weights *w, const dsmlp_tensor_map *m, int layer, const char *fn)
{
    if (!m) return dsmlpB_err_set(w->ctx, DSMLP_ERR_INVALID_ARG, "%s: the tensor map is NULL (a graph from dsmlp.hf carries "
                           "one: dsmlp_graph_tensor_map)", fn);
    if (layer < 0 || (m->layers > 0 && layer >= m->layers))
        return dsmlpB_err_set(w->ctx, DSMLP_ERR_INVALID_ARG, "%s: layer %d is not a layer of the model (it has %d)", fn, layer,
                       m->layers);
    if (m->tp_size < 1 || m->tp_rank < 0 || m->tp_rank >= m->tp_size)
        return dsmlpB_err_set(w->ctx, DSMLP_ERR_INVALID_ARG, "%s: tensor map tp_rank %d of tp_size %d", fn, m->tp_rank,
                       m->tp_size);
    return DSMLP_OK;
}

/* ------------------------------------------------------------ quantize at load */

/* Where parameters are declared: a graph (check, param) or a plan (bind). */
typedef struct w_src { const dsmlp_graph *g; const dsmlp_plan *pl; } w_src;

static int param_of(const w_src *src, const char *name, w_param *p)
{
    return src->g ? from_graph(src->g, name, p) : from_plan(src->pl, name, p);
}

static int is_float(st_dtype t) { return t == ST_F32 || t == ST_F16 || t == ST_BF16 || t == ST_F64; }

/* One parameter to load: a plain slice, or (quant) a float tensor quantized
** into p and its scales sp, read through the float view f. */
typedef struct w_job {
    w_param p, f, sp;
    w_slice sl;
    int     quant;
} w_job;

/* 1 when p is int8/fp8 and r's tensor for this layer is float: quantized at load. */
static int quantizes(const dsmlp_weights *w, const dsmlp_tensor_ref *r, int layer, const w_param *p)
{
    char name[DSMLP_TENSOR_NAME_MAX + 32];
    const w_entry *e;
    if (!dsmlpB_dtype_is_code(p->dtype) || tensor_name(w->ctx, r, layer, name, sizeof name) != DSMLP_OK) return 0;
    if (dsmlpM_w_lookup(w, name, "", &e) != DSMLP_OK) {
        dsmlpB_err_clear(w->ctx);   /* the slice reports the missing tensor */
        return 0;
    }
    return is_float(e->t->dtype);
}

/* The job for parameter p (mapped by r): every check, no data read. */
static dsmlp_status prepare(const dsmlp_weights *w, const w_src *src, const dsmlp_tensor_map *m,
                            const dsmlp_tensor_ref *r, int layer, const w_param *p, w_job *j)
{
    j->p = *p;
    j->quant = quantizes(w, r, layer, p);
    if (!j->quant) return dsmlpM_w_slice(w, m, r, layer, p, &j->sl);
    char sname[80];
    snprintf(sname, sizeof sname, "%s_scales", p->name);
    if (!param_of(src, sname, &j->sp))
        return dsmlpB_err_set(w->ctx, DSMLP_ERR_NOT_FOUND, "layer %d, parameter '%s' (%s) comes from a float tensor, to be "
                              "quantized at load, but the block has no parameter '%s' for its scales", layer, p->name,
                              dsmlp_dtype_name(p->dtype), sname);
    if (find_ref(m, sname))
        return dsmlpB_err_set(w->ctx, DSMLP_ERR_INVALID_ARG, "layer %d: the tensor map names a tensor for '%s', but '%s' "
                              "comes from a float tensor and is quantized at load, which makes its scales; map '%s' only "
                              "for a checkpoint stored quantized (I8, F8_E4M3)", layer, sname, p->name, sname);
    return dsmlpM_wq_prepare(w, m, r, layer, p, &j->sp, &j->f, &j->sl);
}

/* A scales parameter that quantizing its weight at load makes: name is
** "<x>_scales" and x is mapped and quantized at load. Fills x's param. */
static const dsmlp_tensor_ref *made_scales(const dsmlp_weights *w, const w_src *src, const dsmlp_tensor_map *m,
                                           int layer, const char *name, w_param *x)
{
    size_t n = strlen(name), k = strlen("_scales");
    char base[64];
    if (n <= k || n - k >= sizeof base || strcmp(name + n - k, "_scales")) return NULL;
    snprintf(base, sizeof base, "%.*s", (int)(n - k), name);
    const dsmlp_tensor_ref *r = find_ref(m, base);
    return r && param_of(src, base, x) && quantizes(w, r, layer, x) ? r : NULL;
}

/* ------------------------------------------------------------ the API */

dsmlp_status dsmlp_weights_check(const dsmlp_weights *w, const dsmlp_graph *g, const dsmlp_tensor_map *m, int layer)
{
    if (!w) return DSMLP_ERR_INVALID_ARG;
    if (!g) return dsmlpB_err_set(w->ctx, DSMLP_ERR_INVALID_ARG, "dsmlp_weights_check: graph is NULL");
    dsmlp_status s = check_args(w, m, layer, "dsmlp_weights_check");
    w_src src = {g, NULL};
    for (int i = 0; s == DSMLP_OK && i < g->n; i++) {
        const graph_node *n = graph_at(g, i);
        if (n->op != DSMLP_OP_PARAM) continue;
        const dsmlp_tensor_ref *r = find_ref(m, n->name);
        w_param p, x;
        if (!r && made_scales(w, &src, m, layer, n->name, &x)) continue;   /* checked with its weight */
        if (!r)
            return dsmlpB_err_set(w->ctx, DSMLP_ERR_NOT_FOUND, "parameter '%s' of graph '%s' has no tensor in the tensor map",
                           n->name, g->name);
        w_job j;
        from_graph(g, n->name, &p);
        s = prepare(w, &src, m, r, layer, &p, &j);
    }
    return s;
}

dsmlp_status dsmlp_weights_param(const dsmlp_weights *w, const dsmlp_graph *g, const dsmlp_tensor_map *m, int layer,
                                 const char *param, void *host, size_t bytes)
{
    if (!w) return DSMLP_ERR_INVALID_ARG;
    if (!g || !param || !host)
        return dsmlpB_err_set(w->ctx, DSMLP_ERR_INVALID_ARG, "dsmlp_weights_param: %s is NULL",
                       !g ? "graph" : !param ? "param" : "host");
    dsmlp_status s = check_args(w, m, layer, "dsmlp_weights_param");
    if (s != DSMLP_OK) return s;
    w_param p;
    if (!from_graph(g, param, &p))
        return dsmlpB_err_set(w->ctx, DSMLP_ERR_NOT_FOUND, "dsmlp_weights_param: graph '%s' has no parameter '%s'", g->name,
                       param);
    if (bytes != param_bytes(&p))
        return dsmlpB_err_set(w->ctx, DSMLP_ERR_INVALID_ARG, "dsmlp_weights_param: '%s' is %zu bytes, %zu were given", param,
                       param_bytes(&p), bytes);
    /* The scales of a weight quantized at load come from quantizing it. */
    w_src src = {g, NULL};
    w_param x;
    const dsmlp_tensor_ref *r = made_scales(w, &src, m, layer, param, &x);
    int want_scales = r != NULL;
    if (!r) r = find_ref(m, param), x = p;
    if (!r) return dsmlpB_err_set(w->ctx, DSMLP_ERR_NOT_FOUND, "dsmlp_weights_param: the tensor map has no '%s'", param);
    w_job j;
    if ((s = prepare(w, &src, m, r, layer, &x, &j)) != DSMLP_OK) return s;
    if (!j.quant) {
        dsmlpM_w_gather(&j.sl, &j.p, host);
        return DSMLP_OK;
    }
    size_t other = want_scales ? param_bytes(&j.p) : param_bytes(&j.sp);
    void *tmp = malloc(other ? other : 1);
    if (!tmp) return dsmlpB_err_set(w->ctx, DSMLP_ERR_NOMEM, "dsmlp_weights_param: out of host memory (%zu bytes)", other);
    s = dsmlpM_wq_run(w, layer, &j.sl, &j.f, &j.p, &j.sp, want_scales ? tmp : host, want_scales ? host : tmp);
    free(tmp);
    return s;
}

/* Quantizes job j into one host buffer: the codes, then the scales. */
static dsmlp_status stage_quant(const dsmlp_weights *w, int layer, const w_job *j, unsigned char **out)
{
    size_t qb = param_bytes(&j->p), sb = param_bytes(&j->sp);
    if (!(*out = malloc(qb + sb)))
        return dsmlpB_err_set(w->ctx, DSMLP_ERR_NOMEM, "dsmlp_weights_bind: out of host memory for '%s' (%zu bytes)",
                              j->p.name, qb + sb);
    return dsmlpM_wq_run(w, layer, &j->sl, &j->f, &j->p, &j->sp, *out, *out + qb);
}

static dsmlp_status upload(dsmlp_plan *pl, dsmlp_bindings *set, const char *name, const void *src, size_t bytes)
{
    return set ? dsmlp_bindings_upload(set, name, src, bytes) : dsmlp_upload(pl, name, src, bytes);
}

dsmlp_status dsmlp_weights_bind(const dsmlp_weights *w, const dsmlp_tensor_map *m, int layer, dsmlp_plan *pl,
                                dsmlp_bindings *set)
{
    if (!w) return DSMLP_ERR_INVALID_ARG;
    if (!pl || !pl->p) return dsmlpB_err_set(w->ctx, DSMLP_ERR_INVALID_ARG, "dsmlp_weights_bind: plan is NULL");
    dsmlp_status s = check_args(w, m, layer, "dsmlp_weights_bind");
    if (s == DSMLP_OK && set && dsmlp_bindings_plan(set) != pl)
        return dsmlpB_err_set(w->ctx, DSMLP_ERR_INVALID_ARG, "dsmlp_weights_bind: the binding set belongs to %s",
                       dsmlp_bindings_plan(set) ? "another plan" : "a plan that was freed");
    /* Every slice is checked, and every weight quantized at load quantized,
    ** before anything is uploaded: a bad file changes nothing. */
    w_src src = {NULL, pl};
    w_job job[DSMLP_TENSOR_MAP_MAX];
    unsigned char *staged[DSMLP_TENSOR_MAP_MAX] = {0};
    int use[DSMLP_TENSOR_MAP_MAX] = {0};
    for (int i = 0; s == DSMLP_OK && i < m->count; i++) {
        w_param p;
        if ((use[i] = from_plan(pl, m->ref[i].param, &p))) s = prepare(w, &src, m, &m->ref[i], layer, &p, &job[i]);
        if (s == DSMLP_OK && use[i] && job[i].quant) s = stage_quant(w, layer, &job[i], &staged[i]);
    }
    for (int i = 0; s == DSMLP_OK && i < m->count; i++) {
        if (!use[i]) continue;   /* a parameter this block was built without */
        const w_job *j = &job[i];
        size_t bytes = param_bytes(&j->p);
        if (j->quant) {
            s = upload(pl, set, j->p.name, staged[i], bytes);
            if (s == DSMLP_OK) s = upload(pl, set, j->sp.name, staged[i] + bytes, param_bytes(&j->sp));
            continue;
        }
        const void *data = in_place(&j->sl, &j->p);
        void *tmp = NULL;
        if (!data) {
            if (!(tmp = malloc(bytes ? bytes : 1))) {
                s = dsmlpB_err_set(w->ctx, DSMLP_ERR_NOMEM, "dsmlp_weights_bind: out of host memory for '%s' (%zu bytes)",
                                   j->p.name, bytes);
                break;
            }
            dsmlpM_w_gather(&j->sl, &j->p, tmp);
            data = tmp;
        }
        s = upload(pl, set, j->p.name, data, bytes);
        free(tmp);
    }
    for (int i = 0; i < m->count; i++) free(staged[i]);
    return s;
}
