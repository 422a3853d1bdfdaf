/*
** weights.h — struct dsmlp_weights (a checkpoint: one or more mapped
** safetensors files) and the conversions the loader uses. Private to
** src/model/.
*/
#ifndef DSMLP_WEIGHTS_H
#define DSMLP_WEIGHTS_H

#include "safetensors.h"

typedef struct w_entry {
    const char      *name;   /* points into the file's tensor list */
    int              file;
    const st_tensor *t;
} w_entry;

struct dsmlp_weights {
    dsmlp_ctx *ctx;
    char      *source;       /* the path given to dsmlp_weights_open */
    st_file   *files;
    int        nfiles;
    w_entry   *e;            /* sorted by name */
    int        n;
};

/* The entry named name: exactly, else the one whose name ends in "." + name.
** NOT_FOUND (with the closest name) or INVALID_ARG (ambiguous) otherwise;
** `what` starts the message. */
dsmlp_status dsmlpM_w_lookup(const dsmlp_weights *w, const char *name, const char *what, const w_entry **out);

/* Conversions of n elements from a stored dtype to a dsmlp dtype: F32, F16,
** BF16, F64 to f32/f16/bf16 (round to nearest even), I8 to i8, F8_E4M3 to
** fp8 e4m3 (float sources of quantized parameters: weights_quant.c). */
int  dsmlpM_w_convertible(st_dtype from, dsmlp_dtype to);
void dsmlpM_w_convert(void *dst, dsmlp_dtype to, const void *src, st_dtype from, size_t n);

/* One parameter of a block as the loader sees it: a 2-D [rows, cols] of its
** storage (a vector is [1, n]). */
typedef struct w_param {
    char         name[64];
    dsmlp_dtype  dtype;
    int          vector;
    int64_t      rows, cols;
    dsmlp_layout layout;
} w_param;

typedef struct w_rect { int64_t r0, nr, c0, nc, dr0, dc0; } w_rect;

/* What to copy for one parameter: one or two rectangles of the tensor's view. */
typedef struct w_slice {
    const st_file       *file;
    const w_entry       *e;
    const unsigned char *view;   /* first byte of the row block */
    int64_t              VC;     /* the view's columns (its row stride) */
    w_rect               rect[2];
    int                  nrect;
} w_slice;

/* The slice of map entry r (layer `layer`, the map's rank) that fills p:
** every check (tensor exists, converts to p->dtype, shape after row block
** and split), no data read. */
dsmlp_status dsmlpM_w_slice(const dsmlp_weights *w, const dsmlp_tensor_map *m, const dsmlp_tensor_ref *r, int layer,
                            const w_param *p, w_slice *sl);
/* The slice's data converted to p->dtype into host ([p->rows, p->cols]). */
void dsmlpM_w_gather(const w_slice *sl, const w_param *p, void *host);

/* Quantize at load (weights_quant.c): a quantized parameter p (i8/fp8) whose
** checkpoint tensor is float, with its scales parameter sp. Prepare checks
** everything (scale count against p's rows; the tensor's shape as p's
** [out,in], or [in,out] where only that fits) and fills the float view f and
** its slice; run gathers the slice as f32 and calls dsmlp_quantize. */
dsmlp_status dsmlpM_wq_prepare(const dsmlp_weights *w, const dsmlp_tensor_map *m, const dsmlp_tensor_ref *r, int layer,
                               const w_param *p, const w_param *sp, w_param *f, w_slice *sl);
dsmlp_status dsmlpM_wq_run(const dsmlp_weights *w, int layer, const w_slice *sl, const w_param *f, const w_param *p,
                           const w_param *sp, void *q, void *scales);

#endif
