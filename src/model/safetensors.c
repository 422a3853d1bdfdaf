/* safetensors.c — mapping and validating .safetensors files (see safetensors.h). */
#include "safetensors.h"
#include "error.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct { const char *name; size_t size; dsmlp_dtype dsmlp; } st_types[ST_DTYPE_COUNT] = {
    [ST_F32] = {"F32", 4, DSMLP_F32},    [ST_F16] = {"F16", 2, DSMLP_F16},
    [ST_BF16] = {"BF16", 2, DSMLP_BF16}, [ST_F64] = {"F64", 8, DSMLP_F64},
    [ST_I8] = {"I8", 1, DSMLP_I8},       [ST_U8] = {"U8", 1, DSMLP_DTYPE_COUNT},
    [ST_I16] = {"I16", 2, DSMLP_DTYPE_COUNT}, [ST_U16] = {"U16", 2, DSMLP_DTYPE_COUNT},
    [ST_I32] = {"I32", 4, DSMLP_DTYPE_COUNT}, [ST_U32] = {"U32", 4, DSMLP_DTYPE_COUNT},
    [ST_I64] = {"I64", 8, DSMLP_DTYPE_COUNT}, [ST_U64] = {"U64", 8, DSMLP_DTYPE_COUNT},
    [ST_BOOL] = {"BOOL", 1, DSMLP_DTYPE_COUNT}, [ST_F8_E4M3] = {"F8_E4M3", 1, DSMLP_FP8_E4M3},
    [ST_F8_E5M2] = {"F8_E5M2", 1, DSMLP_DTYPE_COUNT},
};

const char *dsmlpM_st_dtype_name(st_dtype t) { return (unsigned)t < ST_DTYPE_COUNT ? st_types[t].name : "?"; }
size_t      dsmlpM_st_dtype_size(st_dtype t) { return (unsigned)t < ST_DTYPE_COUNT ? st_types[t].size : 0; }
dsmlp_dtype dsmlpM_st_dtype_dsmlp(st_dtype t) { return (unsigned)t < ST_DTYPE_COUNT ? st_types[t].dsmlp : DSMLP_DTYPE_COUNT; }

static void free_tensors(st_file *f)
{
    for (int i = 0; f->t && i < f->n; i++) free(f->t[i].name);
    free(f->t);
    f->t = NULL;
    f->n = 0;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(((const st_tensor *)a)->name, ((const st_tensor *)b)->name);
}

static int cmp_begin(const void *a, const void *b)
{
    const st_tensor *x = *(const st_tensor *const *)a, *y = *(const st_tensor *const *)b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    return x->end < y->end ? -1 : x->end > y->end;
}

/* A JSON integer in [0, 2^63). */
static int json_uint(const json_t *v, uint64_t *out)
{
    if (!json_is_integer(v) || json_integer_value(v) < 0) return 0;
    *out = (uint64_t)json_integer_value(v);
    return 1;
}

/* One header entry into t; the message names file and tensor. */
static dsmlp_status parse_entry(dsmlp_ctx *ctx, const char *path, const char *name, const json_t *e,
                                uint64_t data_size, st_tensor *t)
{
#define BAD(...) dsmlpB_err_set(ctx, DSMLP_ERR_CORRUPT, __VA_ARGS__)
    if (!json_is_object(e)) return BAD("%s: tensor '%s': its header entry is not a JSON object", path, name);
    const json_t *dt = json_object_get(e, "dtype"), *shape = json_object_get(e, "shape");
    const json_t *off = json_object_get(e, "data_offsets");
    if (!json_is_string(dt)) return BAD("%s: tensor '%s': \"dtype\" is %s", path, name, dt ? "not a string" : "missing");
    const char *dts = json_string_value(dt);
    t->dtype = ST_DTYPE_COUNT;
    for (int k = 0; k < ST_DTYPE_COUNT; k++)
        if (!strcmp(dts, st_types[k].name)) t->dtype = (st_dtype)k;
    if (t->dtype == ST_DTYPE_COUNT)
        return BAD("%s: tensor '%s': unknown dtype \"%.32s\" (safetensors has F64, F32, F16, BF16, I64, I32, I16, I8, "
                   "U64, U32, U16, U8, BOOL, F8_E4M3, F8_E5M2)",
                   path, name, dts);
    if (!json_is_array(shape)) return BAD("%s: tensor '%s': \"shape\" is %s", path, name, shape ? "not an array" : "missing");
    if (json_array_size(shape) > ST_RANK_MAX)
        return BAD("%s: tensor '%s': shape has %zu dimensions (at most %d)", path, name, json_array_size(shape),
                   ST_RANK_MAX);
    t->rank = (int)json_array_size(shape);
    uint64_t elems = 1;
    for (int d = 0; d < t->rank; d++) {
        uint64_t n;
        if (!json_uint(json_array_get(shape, (size_t)d), &n))
            return BAD("%s: tensor '%s': shape[%d] is not a non-negative integer", path, name, d);
        if (n && elems > UINT64_MAX / n) return BAD("%s: tensor '%s': the shape's element count overflows", path, name);
        t->shape[d] = (int64_t)n;
        elems *= n;
    }
    if (!json_is_array(off) || json_array_size(off) != 2)
        return BAD("%s: tensor '%s': \"data_offsets\" is %s", path, name,
                   !off ? "missing" : "not an array [begin, end]");
    if (!json_uint(json_array_get(off, 0), &t->begin) || !json_uint(json_array_get(off, 1), &t->end))
        return BAD("%s: tensor '%s': data_offsets are not non-negative integers", path, name);
    if (t->begin > t->end)
        return BAD("%s: tensor '%s': data_offsets [%llu, %llu] end before they begin", path, name,
                   (unsigned long long)t->begin, (unsigned long long)t->end);
    if (t->end > data_size)
        return BAD("%s: tensor '%s': data_offsets [%llu, %llu] reach past the end of the data (%llu bytes): the file "
                   "is truncated or the offsets are wrong",
                   path, name, (unsigned long long)t->begin, (unsigned long long)t->end,
                   (unsigned long long)data_size);
    uint64_t esz = st_types[t->dtype].size;
    if (elems > UINT64_MAX / esz || elems * esz != t->end - t->begin) {
        char dims[160] = "";
        size_t n = 0;
        for (int d = 0; d < t->rank && n < sizeof dims - 24; d++)
            n += (size_t)snprintf(dims + n, sizeof dims - n, "%s%lld", d ? "," : "", (long long)t->shape[d]);
        return BAD("%s: tensor '%s': shape [%s] of %s is %llu bytes but data_offsets [%llu, %llu] span %llu", path,
                   name, dims, st_types[t->dtype].name, elems > UINT64_MAX / esz ? 0ULL : (unsigned long long)(elems * esz),
                   (unsigned long long)t->begin, (unsigned long long)t->end,
                   (unsigned long long)(t->end - t->begin));
    }
    return DSMLP_OK;
#undef BAD
}

/* No two tensors share a byte and every byte of the data belongs to one. */
static dsmlp_status check_layout(dsmlp_ctx *ctx, const char *path, st_file *f)
{
    if (f->n == 0) {
        if (f->data_size)
            return dsmlpB_err_set(ctx, DSMLP_ERR_CORRUPT, "%s: %llu bytes of data but no tensor in the header", path,
                           (unsigned long long)f->data_size);
        return DSMLP_OK;
    }
    st_tensor **by = malloc((size_t)f->n * sizeof *by);
    if (!by) return dsmlpB_err_set(ctx, DSMLP_ERR_NOMEM, "%s: out of memory", path);
    for (int i = 0; i < f->n; i++) by[i] = &f->t[i];
    qsort(by, (size_t)f->n, sizeof *by, cmp_begin);
    dsmlp_status s = DSMLP_OK;
    uint64_t at = 0;   /* end of the bytes indexed so far */
    for (int i = 0; i < f->n && s == DSMLP_OK; i++) {
        const st_tensor *t = by[i];
        if (t->begin < at && t->begin != t->end)
            s = dsmlpB_err_set(ctx, DSMLP_ERR_CORRUPT, "%s: tensors '%s' [%llu, %llu) and '%s' [%llu, %llu) overlap", path,
                        by[i - 1]->name, (unsigned long long)by[i - 1]->begin, (unsigned long long)by[i - 1]->end,
                        t->name, (unsigned long long)t->begin, (unsigned long long)t->end);
        else if (t->begin > at)
            s = dsmlpB_err_set(ctx, DSMLP_ERR_CORRUPT,
                        "%s: data bytes [%llu, %llu) before tensor '%s' belong to no tensor (safetensors data has no "
                        "holes)",
                        path, (unsigned long long)at, (unsigned long long)t->begin, t->name);
        if (t->end > at) at = t->end;
    }
    if (s == DSMLP_OK && at != f->data_size)
        s = dsmlpB_err_set(ctx, DSMLP_ERR_CORRUPT, "%s: the last %llu data bytes (from %llu) belong to no tensor", path,
                    (unsigned long long)(f->data_size - at), (unsigned long long)at);
    free(by);
    return s;
}

dsmlp_status dsmlpM_st_parse(dsmlp_ctx *ctx, const char *path, const unsigned char *buf, size_t size, st_file *f)
{
    f->t = NULL, f->n = 0, f->data = NULL, f->data_size = 0;
    if (size < 8)
        return dsmlpB_err_set(ctx, DSMLP_ERR_CORRUPT, "%s: %zu bytes: too short for a safetensors file (8-byte header length)",
                       path, size);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = hlen << 8 | buf[i];
    if (hlen > ST_HEADER_MAX)
        return dsmlpB_err_set(ctx, DSMLP_ERR_CORRUPT,
                       "%s: header length %llu exceeds the %llu-byte limit (not a safetensors file, or corrupt)", path,
                       (unsigned long long)hlen, (unsigned long long)ST_HEADER_MAX);
    if (hlen > size - 8)
        return dsmlpB_err_set(ctx, DSMLP_ERR_CORRUPT, "%s: truncated: the header is %llu bytes but only %zu follow its length",
                       path, (unsigned long long)hlen, size - 8);
    json_error_t je;
    json_t *root = json_loadb((const char *)buf + 8, (size_t)hlen, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return dsmlpB_err_set(ctx, DSMLP_ERR_CORRUPT, "%s: the header is not valid JSON: %s (header byte %d)", path, je.text,
                       je.position);
    dsmlp_status s = DSMLP_OK;
    if (!json_is_object(root)) {
        s = dsmlpB_err_set(ctx, DSMLP_ERR_CORRUPT, "%s: the header is JSON but not an object", path);
        goto done;
    }
    f->data = buf + 8 + hlen;
    f->data_size = size - 8 - hlen;
    size_t cap = json_object_size(root);
    f->t = calloc(cap ? cap : 1, sizeof *f->t);
    if (!f->t) {
        s = dsmlpB_err_set(ctx, DSMLP_ERR_NOMEM, "%s: out of memory for %zu tensors", path, cap);
        goto done;
    }
    const char *key;
    json_t *val;
    json_object_foreach(root, key, val) {
        if (!strcmp(key, "__metadata__")) {
            if (!json_is_object(val)) {
                s = dsmlpB_err_set(ctx, DSMLP_ERR_CORRUPT, "%s: \"__metadata__\" is not a JSON object", path);
                goto done;
            }
            continue;
        }
        st_tensor *t = &f->t[f->n];
        if (!*key) {
            s = dsmlpB_err_set(ctx, DSMLP_ERR_CORRUPT, "%s: a tensor has an empty name", path);
            goto done;
        }
        if ((s = parse_entry(ctx, path, key, val, f->data_size, t)) != DSMLP_OK) goto done;
        if (!(t->name = strdup(key))) {
            s = dsmlpB_err_set(ctx, DSMLP_ERR_NOMEM, "%s: out of memory", path);
            goto done;
        }
        f->n++;
    }
    qsort(f->t, (size_t)f->n, sizeof *f->t, cmp_name);
    s = check_layout(ctx, path, f);
done:
    json_decref(root);
    if (s != DSMLP_OK) {
        free_tensors(f);
        f->data = NULL, f->data_size = 0;
    }
    return s;
}

dsmlp_status dsmlpM_st_open(dsmlp_ctx *ctx, const char *path, st_file *f)
{
    memset(f, 0, sizeof *f);
    f->fd = -1;
    if (!(f->path = strdup(path))) return dsmlpB_err_set(ctx, DSMLP_ERR_NOMEM, "%s: out of memory", path);
    struct stat sb;
    f->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (f->fd < 0 || fstat(f->fd, &sb) != 0) {
        dsmlp_status s = dsmlpB_err_set(ctx, DSMLP_ERR_IO, "cannot open %s: %s", path, strerror(errno));
        dsmlpM_st_close(f);
        return s;
    }
    if (!S_ISREG(sb.st_mode)) {
        dsmlpM_st_close(f);
        return dsmlpB_err_set(ctx, DSMLP_ERR_IO, "%s is not a regular file", path);
    }
    f->size = (size_t)sb.st_size;
    if (f->size > 0) {
        /* Mapped, not read: the tensors are copied (or uploaded) straight from the page cache. */
        f->map = mmap(NULL, f->size, PROT_READ, MAP_PRIVATE, f->fd, 0);
        if (f->map == MAP_FAILED) {
            f->map = NULL;
            dsmlp_status s = dsmlpB_err_set(ctx, DSMLP_ERR_IO, "cannot map %s (%zu bytes): %s", path, f->size, strerror(errno));
            dsmlpM_st_close(f);
            return s;
        }
    }
    dsmlp_status s = dsmlpM_st_parse(ctx, path, f->map ? f->map : (const void *)"", f->size, f);
    if (s != DSMLP_OK) dsmlpM_st_close(f);
    return s;
}

void dsmlpM_st_close(st_file *f)
{
    if (!f) return;
    free_tensors(f);
    if (f->map) munmap(f->map, f->size);
    if (f->fd >= 0) close(f->fd);
    free(f->path);
    memset(f, 0, sizeof *f);
    f->fd = -1;
}

const st_tensor *dsmlpM_st_find(const st_file *f, const char *name)
{
    if (!f->n) return NULL;
    st_tensor key = {.name = (char *)name};
    return bsearch(&key, f->t, (size_t)f->n, sizeof *f->t, cmp_name);
}
