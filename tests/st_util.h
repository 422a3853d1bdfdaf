/*
** st_util.h — writing safetensors files in tests: well-formed ones from a
** list of tensors, and raw ones (any header text, any length field, any
** data) for the malformed cases.
*/
#ifndef DSMLP_ST_UTIL_H
#define DSMLP_ST_UTIL_H

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct st_w {
    const char *name;
    const char *dtype;      /* "F32", "BF16", ... */
    int         rank;
    int64_t     shape[4];
    const void *data;
    size_t      bytes;
} st_w;

/* Writes an 8-byte length (hlen, or the header's length when hlen is
** UINT64_MAX), the header text and the data. */
static inline void st_write_raw(const char *path, const char *header, uint64_t hlen, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    ck_assert_msg(f != NULL, "cannot write %s", path);
    uint64_t len = hlen == UINT64_MAX ? strlen(header) : hlen;
    unsigned char le[8];
    for (int i = 0; i < 8; i++) le[i] = (unsigned char)(len >> (8 * i));
    ck_assert(fwrite(le, 1, 8, f) == 8);
    ck_assert(fwrite(header, 1, strlen(header), f) == strlen(header));
    if (n) ck_assert(fwrite(data, 1, n, f) == n);
    ck_assert(fclose(f) == 0);
}

/* A well-formed file: tensors laid out in the order given, offsets computed. */
static inline void st_write(const char *path, const st_w *t, int n)
{
    size_t cap = 256 + (size_t)n * 512, total = 0;
    char *h = malloc(cap);
    ck_assert_ptr_nonnull(h);
    size_t len = (size_t)snprintf(h, cap, "{\"__metadata__\":{\"format\":\"pt\"}");
    for (int i = 0; i < n; i++) {
        len += (size_t)snprintf(h + len, cap - len, ",\"%s\":{\"dtype\":\"%s\",\"shape\":[", t[i].name, t[i].dtype);
        for (int d = 0; d < t[i].rank; d++)
            len += (size_t)snprintf(h + len, cap - len, "%s%lld", d ? "," : "", (long long)t[i].shape[d]);
        len += (size_t)snprintf(h + len, cap - len, "],\"data_offsets\":[%zu,%zu]}", total, total + t[i].bytes);
        total += t[i].bytes;
    }
    snprintf(h + len, cap - len, "}");
    unsigned char *data = malloc(total ? total : 1);
    ck_assert_ptr_nonnull(data);
    for (int i = 0, off = 0; i < n; off += (int)t[i].bytes, i++) memcpy(data + off, t[i].data, t[i].bytes);
    st_write_raw(path, h, UINT64_MAX, data, total);
    free(h);
    free(data);
}

#endif
