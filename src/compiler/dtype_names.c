/* dtype_names.c — dsmlp_dtype_parse: dtype names and the aliases frameworks use. */
#include "dsmlp.h"

#include <strings.h>

static const struct { const char *name; dsmlp_dtype t; } dtype_aliases[] = {
    {"f32", DSMLP_F32},   {"fp32", DSMLP_F32},    {"float32", DSMLP_F32}, {"float", DSMLP_F32},
    {"f16", DSMLP_F16},   {"fp16", DSMLP_F16},    {"float16", DSMLP_F16}, {"half", DSMLP_F16},
    {"bf16", DSMLP_BF16}, {"bfloat16", DSMLP_BF16},
    {"i8", DSMLP_I8},     {"int8", DSMLP_I8},
    {"f64", DSMLP_F64},   {"fp64", DSMLP_F64},    {"float64", DSMLP_F64}, {"double", DSMLP_F64},
};

dsmlp_status dsmlp_dtype_parse(const char *name, dsmlp_dtype *out)
{
    if (!name || !out) return DSMLP_ERR_INVALID_ARG;
    for (size_t i = 0; i < sizeof dtype_aliases / sizeof *dtype_aliases; i++)
        if (strcasecmp(name, dtype_aliases[i].name) == 0) {
            *out = dtype_aliases[i].t;
            return DSMLP_OK;
        }
    return DSMLP_ERR_NOT_FOUND;
}
