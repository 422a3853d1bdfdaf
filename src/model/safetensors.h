/*
** safetensors.h — one .safetensors file, mapped read-only and validated.
**
** Format: an 8-byte little-endian header length N, N bytes of JSON
** {"name": {"dtype": "F16", "shape": [..], "data_offsets": [begin, end]},
** "__metadata__": {...}}, then the data; offsets are relative to the data.
** dsmlpM_st_parse checks everything before any tensor byte is read: the header
** length against a cap and the file, the JSON, each entry's fields, the
** dtype, shape × dtype size = end − begin, offsets inside the data, no two
** tensors overlapping and no byte of the data left unindexed (the format's
** rule). Every message names the file and, where one is at fault, the tensor.
*/
#ifndef DSMLP_SAFETENSORS_H
#define DSMLP_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>
#include "dsmlp.h"

#define ST_HEADER_MAX ((uint64_t)100 << 20)   /* the safetensors reference limit */
#define ST_RANK_MAX 8

/* The dtypes of the format; the first ones dsmlp converts. */
typedef enum st_dtype {
    ST_F32, ST_F16, ST_BF16, ST_F64, ST_I8,
    ST_U8, ST_I16, ST_U16, ST_I32, ST_U32, ST_I64, ST_U64, ST_BOOL, ST_F8_E4M3, ST_F8_E5M2,
    ST_DTYPE_COUNT
} st_dtype;

typedef struct st_tensor {
    char    *name;
    st_dtype dtype;
    int      rank;
    int64_t  shape[ST_RANK_MAX];
    uint64_t begin, end;          /* byte range in the data section */
} st_tensor;

typedef struct st_file {
    char                *path;
    int                  fd;       /* -1 when not opened from a file */
    void                *map;      /* the whole file, read-only       */
    size_t               size;
    const unsigned char *data;     /* start of the data section       */
    uint64_t             data_size;
    st_tensor           *t;        /* sorted by name                  */
    int                  n;
} st_file;

const char *dsmlpM_st_dtype_name(st_dtype t);          /* "F32", ... */
size_t      dsmlpM_st_dtype_size(st_dtype t);
/* The dsmlp dtype of t, or DSMLP_DTYPE_COUNT when dsmlp does not convert it. */
dsmlp_dtype dsmlpM_st_dtype_dsmlp(st_dtype t);

/* Validates the file image buf[0..size) named path (used in messages) and
** fills f's tensor list; f->data points into buf. On error f is empty. */
dsmlp_status dsmlpM_st_parse(dsmlp_ctx *ctx, const char *path, const unsigned char *buf, size_t size, st_file *f);
/* Maps path and dsmlpM_st_parse's it. */
dsmlp_status dsmlpM_st_open(dsmlp_ctx *ctx, const char *path, st_file *f);
void         dsmlpM_st_close(st_file *f);
/* The tensor named name, or NULL. */
const st_tensor *dsmlpM_st_find(const st_file *f, const char *name);

#endif
