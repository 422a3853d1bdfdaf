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
** BF16, F64 to f32/f16/bf16 (round to nearest even), I8 to i8. */
int  dsmlpM_w_convertible(st_dtype from, dsmlp_dtype to);
void dsmlpM_w_convert(void *dst, dsmlp_dtype to, const void *src, st_dtype from, size_t n);

#endif
