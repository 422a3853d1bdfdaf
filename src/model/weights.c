/*
** weights.c — dsmlp_weights: a checkpoint of one safetensors file or of the
** shards a model.safetensors.index.json names. Every file is mapped and its
** header validated at open; the index must name only plain file names in
** its directory, and every tensor it lists must be in the shard it names.
*/
#include "weights.h"
#include "error.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const w_entry *)a)->name, ((const w_entry *)b)->name);
}

void dsmlp_weights_close(dsmlp_weights *w)
{
    if (!w) return;
    for (int i = 0; i < w->nfiles; i++) dsmlpM_st_close(&w->files[i]);
    free(w->files);
    free(w->e);
    free(w->source);
    free(w);
}

static int is_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* Entries of every tensor of a single file. */
static dsmlp_status index_single(dsmlp_weights *w)
{
    const st_file *f = &w->files[0];
    w->e = calloc((size_t)f->n + 1, sizeof *w->e);
    if (!w->e) return dsmlpB_err_set(w->ctx, DSMLP_ERR_NOMEM, "%s: out of memory", f->path);
    for (int i = 0; i < f->n; i++) w->e[i] = (w_entry){f->t[i].name, 0, &f->t[i]};
    w->n = f->n;
    return DSMLP_OK;
}

/* A shard name must be a plain file name: the index may not reach elsewhere. */
static int plain_name(const char *s)
{
    return *s && strcmp(s, ".") && strcmp(s, "..") && !strchr(s, '/') && !strchr(s, '\\');
}

static dsmlp_status open_index(dsmlp_weights *w, const char *index)
{
    dsmlp_ctx *ctx = w->ctx;
    json_error_t je;
    json_t *root = json_load_file(index, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        if (!is_file(index)) return dsmlpB_err_set(ctx, DSMLP_ERR_IO, "cannot open %s: %s", index, strerror(errno));
        return dsmlpB_err_set(ctx, DSMLP_ERR_CORRUPT, "%s: not valid JSON: %s (line %d, column %d)", index, je.text, je.line,
                       je.column);
    }
    dsmlp_status s = DSMLP_OK;
    json_t *map = json_object_get(root, "weight_map");
    char dir[4096];
    snprintf(dir, sizeof dir, "%.4000s", index);
    char *slash = strrchr(dir, '/');
    if (slash) slash[1] = 0;
    else dir[0] = 0;
    if (!json_is_object(map)) {
        s = dsmlpB_err_set(ctx, DSMLP_ERR_CORRUPT, "%s: \"weight_map\" is %s", index, map ? "not an object" : "missing");
        goto done;
    }
    size_t n = json_object_size(map);
    /* Shards: each distinct file once, in the order first named. */
    const char **shard = calloc(n + 1, sizeof *shard);
    w->files = calloc(n + 1, sizeof *w->files);
    w->e = calloc(n + 1, sizeof *w->e);
    if (!shard || !w->files || !w->e) {
        free(shard);
        s = dsmlpB_err_set(ctx, DSMLP_ERR_NOMEM, "%s: out of memory", index);
        goto done;
    }
    const char *key;
    json_t *val;
    json_object_foreach(map, key, val) {
        if (!json_is_string(val) || !plain_name(json_string_value(val))) {
            s = dsmlpB_err_set(ctx, DSMLP_ERR_CORRUPT, "%s: tensor '%s': the shard must be a file name in the index's "
                        "directory, not %s", index, key, json_is_string(val) ? json_string_value(val) : "a non-string");
            break;
        }
        int f;
        for (f = 0; f < w->nfiles && strcmp(shard[f], json_string_value(val)); f++) {}
        if (f == w->nfiles) {
            char path[4096 + 256];
            snprintf(path, sizeof path, "%s%s", dir, json_string_value(val));
            shard[f] = json_string_value(val);
            if ((s = dsmlpM_st_open(ctx, path, &w->files[f])) != DSMLP_OK) {
                dsmlpB_err_append(ctx, "(a shard named by %s)", index);
                break;
            }
            w->nfiles++;
        }
        const st_tensor *t = dsmlpM_st_find(&w->files[f], key);
        if (!t) {
            s = dsmlpB_err_set(ctx, DSMLP_ERR_CORRUPT, "%s: lists tensor '%s' in %s, which has no such tensor", index, key,
                        w->files[f].path);
            break;
        }
        w->e[w->n++] = (w_entry){t->name, f, t};
    }
    free(shard);
done:
    json_decref(root);
    return s;
}

dsmlp_status dsmlp_weights_open(dsmlp_ctx *ctx, const char *path, dsmlp_weights **out)
{
    if (!out) return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "dsmlp_weights_open: out is NULL");
    *out = NULL;
    if (!path) return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "dsmlp_weights_open: path is NULL");
    dsmlp_weights *w = calloc(1, sizeof *w);
    if (!w || !(w->source = strdup(path))) {
        free(w);
        return dsmlpB_err_set(ctx, DSMLP_ERR_NOMEM, "dsmlp_weights_open: out of memory");
    }
    w->ctx = ctx;
    char buf[4096 + 64];
    struct stat st;
    const char *file = path;
    int index = strlen(path) > 5 && !strcmp(path + strlen(path) - 5, ".json");
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        snprintf(buf, sizeof buf, "%s/model.safetensors.index.json", path);
        index = is_file(buf);
        if (!index) snprintf(buf, sizeof buf, "%s/model.safetensors", path);
        if (!is_file(buf)) {
            dsmlp_weights_close(w);
            return dsmlpB_err_set(ctx, DSMLP_ERR_IO, "%s: no model.safetensors or model.safetensors.index.json in it", path);
        }
        file = buf;
    }
    dsmlp_status s;
    if (index) {
        s = open_index(w, file);
    } else {
        w->files = calloc(1, sizeof *w->files);
        s = !w->files ? dsmlpB_err_set(ctx, DSMLP_ERR_NOMEM, "dsmlp_weights_open: out of memory") : dsmlpM_st_open(ctx, file, &w->files[0]);
        if (s == DSMLP_OK) w->nfiles = 1, s = index_single(w);
    }
    if (s != DSMLP_OK) {
        dsmlp_weights_close(w);
        return s;
    }
    qsort(w->e, (size_t)w->n, sizeof *w->e, cmp_entry);
    *out = w;
    dsmlpB_err_clear(ctx);
    return DSMLP_OK;
}

int dsmlp_weights_count(const dsmlp_weights *w) { return w ? w->n : 0; }
int dsmlp_weights_files(const dsmlp_weights *w) { return w ? w->nfiles : 0; }

/* ------------------------------------------------------------ lookup */

static size_t edit_distance(const char *a, const char *b)
{
    enum { N = 200 };
    size_t la = strnlen(a, N), lb = strnlen(b, N);
    size_t prev[N + 1], cur[N + 1];
    for (size_t j = 0; j <= lb; j++) prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]), del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, cur, sizeof prev);
    }
    return prev[lb];
}

static int ends_with_part(const char *s, const char *suffix)
{
    size_t ls = strlen(s), lx = strlen(suffix);
    return ls > lx && s[ls - lx - 1] == '.' && !strcmp(s + ls - lx, suffix);
}

dsmlp_status dsmlpM_w_lookup(const dsmlp_weights *w, const char *name, const char *what, const w_entry **out)
{
    w_entry key = {.name = name};
    const w_entry *e = w->n ? bsearch(&key, w->e, (size_t)w->n, sizeof *w->e, cmp_entry) : NULL;
    if (e) {
        *out = e;
        return DSMLP_OK;
    }
    /* A checkpoint of a model with a head: "bert.encoder...", "transformer.h...". */
    const w_entry *found = NULL;
    for (int i = 0; i < w->n; i++) {
        if (!ends_with_part(w->e[i].name, name)) continue;
        if (found)
            return dsmlpB_err_set(w->ctx, DSMLP_ERR_INVALID_ARG, "%s: tensor '%s' is ambiguous in %s: '%s' and '%s' both end "
                           "with it", what, name, w->source, found->name, w->e[i].name);
        found = &w->e[i];
    }
    if (found) {
        *out = found;
        return DSMLP_OK;
    }
    const char *best = NULL;
    size_t bestd = (size_t)-1;
    for (int i = 0; i < w->n; i++) {
        const char *n = w->e[i].name;
        size_t ln = strlen(n), lx = strlen(name);
        size_t d = edit_distance(ln > lx ? n + (ln - lx) : n, name);   /* compare the tails */
        if (d < bestd) bestd = d, best = n;
    }
    if (best && bestd <= strlen(name) / 3)
        return dsmlpB_err_set(w->ctx, DSMLP_ERR_NOT_FOUND, "%s: no tensor '%s' in %s (%d tensors in %d file%s; closest: '%s')",
                       what, name, w->source, w->n, w->nfiles, w->nfiles == 1 ? "" : "s", best);
    return dsmlpB_err_set(w->ctx, DSMLP_ERR_NOT_FOUND, "%s: no tensor '%s' in %s (%d tensors in %d file%s)", what, name,
                   w->source, w->n, w->nfiles, w->nfiles == 1 ? "" : "s");
}

static void fill_info(const dsmlp_weights *w, const w_entry *e, dsmlp_tensor_info *out)
{
    memset(out, 0, sizeof *out);
    out->name = e->name;
    out->file = w->files[e->file].path;
    out->dtype_name = dsmlpM_st_dtype_name(e->t->dtype);
    out->dtype = dsmlpM_st_dtype_dsmlp(e->t->dtype);
    out->rank = e->t->rank;
    for (int d = 0; d < e->t->rank && d < 8; d++) out->shape[d] = e->t->shape[d];
    out->bytes = e->t->end - e->t->begin;
}

dsmlp_status dsmlp_weights_tensor(const dsmlp_weights *w, int i, dsmlp_tensor_info *out)
{
    if (!w || !out) return DSMLP_ERR_INVALID_ARG;
    if (i < 0 || i >= w->n)
        return dsmlpB_err_set(w->ctx, DSMLP_ERR_INVALID_ARG, "dsmlp_weights_tensor: %d is outside [0, %d)", i, w->n);
    fill_info(w, &w->e[i], out);
    return DSMLP_OK;
}

dsmlp_status dsmlp_weights_find(const dsmlp_weights *w, const char *name, dsmlp_tensor_info *out)
{
    if (!w || !out) return DSMLP_ERR_INVALID_ARG;
    if (!name) return dsmlpB_err_set(w->ctx, DSMLP_ERR_INVALID_ARG, "dsmlp_weights_find: name is NULL");
    const w_entry *e;
    dsmlp_status s = dsmlpM_w_lookup(w, name, "dsmlp_weights_find", &e);
    if (s == DSMLP_OK) fill_info(w, e, out);
    return s;
}

dsmlp_status dsmlp_weights_read(const dsmlp_weights *w, const char *name, dsmlp_dtype dt, void *host, size_t bytes)
{
    if (!w) return DSMLP_ERR_INVALID_ARG;
    if (!name || !host) return dsmlpB_err_set(w->ctx, DSMLP_ERR_INVALID_ARG, "dsmlp_weights_read: %s is NULL", name ? "host" : "name");
    const w_entry *e;
    dsmlp_status s = dsmlpM_w_lookup(w, name, "dsmlp_weights_read", &e);
    if (s != DSMLP_OK) return s;
    const st_file *f = &w->files[e->file];
    if (!dsmlpM_w_convertible(e->t->dtype, dt))
        return dsmlpB_err_set(w->ctx, DSMLP_ERR_DTYPE, "%s: tensor '%s' is %s, which dsmlp does not convert to %s", f->path,
                       e->name, dsmlpM_st_dtype_name(e->t->dtype), dsmlp_dtype_name(dt));
    size_t n = (size_t)((e->t->end - e->t->begin) / dsmlpM_st_dtype_size(e->t->dtype));
    if (bytes != n * dsmlp_dtype_size(dt))
        return dsmlpB_err_set(w->ctx, DSMLP_ERR_INVALID_ARG, "dsmlp_weights_read: tensor '%s' has %zu elements = %zu bytes of "
                       "%s, but %zu bytes were given", e->name, n, n * dsmlp_dtype_size(dt), dsmlp_dtype_name(dt), bytes);
    dsmlpM_w_convert(host, dt, f->data + e->t->begin, e->t->dtype, n);
    return DSMLP_OK;
}
