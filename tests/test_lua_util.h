/*
** test_lua_util.h — helpers shared by the test_lua*.c suites: load a script
** from a string, find a layer, compare graphs, run the reference executor on
** random inputs bound by name.
*/
#ifndef DSMLP_TEST_LUA_UTIL_H
#define DSMLP_TEST_LUA_UTIL_H

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"

/* Small instruction limit: every test script is tiny, a runaway one stops fast. */
#define TL_INSTRUCTIONS 20000000

static inline dsmlp_script_options tl_options(void)
{
    dsmlp_script_options o;
    dsmlp_script_options_default(&o);
    o.instruction_limit = TL_INSTRUCTIONS;
    return o;
}

/* Runs `src` as "model.lua"; returns the status (layers in *out on success). */
static inline dsmlp_status tl_load(dsmlp_ctx *ctx, const char *src, dsmlp_layers **out)
{
    dsmlp_script_options o = tl_options();
    return dsmlp_script_load_string(ctx, src, "model.lua", &o, out);
}

/* Loads a script that must succeed and define exactly one layer. */
static inline dsmlp_layers *tl_load_one(dsmlp_ctx *ctx, const char *src)
{
    dsmlp_layers *l = NULL;
    TU_OK(ctx, tl_load(ctx, src, &l));
    ck_assert_int_eq(dsmlp_layers_count(l), 1);
    return l;
}

/* Asserts a script fails with DSMLP_ERR_SCRIPT and a message holding every
** needle (the first is typically "model.lua:LINE:"). */
#define TL_FAILS(ctx, src, ...)                                                                     \
    do {                                                                                            \
        dsmlp_layers *tl_l_ = (dsmlp_layers *)0x1;                                                  \
        TU_CHECK(ctx, tl_load(ctx, src, &tl_l_), DSMLP_ERR_SCRIPT);                                 \
        ck_assert_ptr_null(tl_l_);                                                                  \
        const char *tl_needles_[] = {__VA_ARGS__};                                                  \
        for (size_t tl_i_ = 0; tl_i_ < sizeof tl_needles_ / sizeof *tl_needles_; tl_i_++)          \
            TU_MSG_HAS(ctx, tl_needles_[tl_i_]);                                                    \
    } while (0)

static inline int64_t tl_elems(const dsmlp_value_info *v, int64_t T)
{
    if (v->tokens) return T * v->dims[1];
    return v->rank == 1 ? v->dims[0] : v->dims[0] * v->dims[1];
}

/* Host buffers for every input and parameter of a graph (random, in the
** value's dtype) and one f64 buffer per output (poisoned). */
typedef struct tl_binding {
    int                n;
    dsmlp_host_tensor  t[64];
    int64_t            count[64];
} tl_binding;

static inline void tl_bind_random(const dsmlp_graph *g, int64_t T, tl_binding *b)
{
    memset(b, 0, sizeof *b);
    for (int i = 0; i < dsmlp_graph_size(g); i++) {
        dsmlp_value_info v;
        ck_assert_int_eq(dsmlp_value_get(g, i, &v), DSMLP_OK);
        if (v.op != DSMLP_OP_INPUT && v.op != DSMLP_OP_PARAM && v.op != DSMLP_OP_OUTPUT) continue;
        ck_assert_int_lt(b->n, 64);
        int64_t n = tl_elems(&v, T);
        dsmlp_host_tensor *t = &b->t[b->n];
        t->name = v.name;
        if (v.op == DSMLP_OP_OUTPUT) {
            t->dtype = DSMLP_F64;
            t->data = malloc((size_t)n * sizeof(double));
            tu_poison(t->data, (size_t)n * sizeof(double));
        } else {
            t->dtype = v.dtype;
            /* int8 weights get small integers; scales keep int8 · scale moderate */
            t->data = tu_random(v.dtype, n, v.dtype == DSMLP_I8 ? 40.0 : 0.5);
        }
        b->count[b->n] = n;
        b->n++;
    }
}

/* Copies b's input/param buffers (same names) into c, so two graphs with the
** same interface see the same data. */
static inline void tl_share_inputs(const tl_binding *from, tl_binding *to)
{
    for (int i = 0; i < to->n; i++) {
        if (to->t[i].dtype == DSMLP_F64) continue;
        for (int j = 0; j < from->n; j++) {
            if (strcmp(from->t[j].name, to->t[i].name) != 0) continue;
            ck_assert_int_eq(from->count[j], to->count[i]);
            memcpy(to->t[i].data, from->t[j].data, (size_t)to->count[i] * dsmlp_dtype_size(to->t[i].dtype));
        }
    }
}

static inline const double *tl_output(const tl_binding *b, const char *name, int64_t *n)
{
    for (int i = 0; i < b->n; i++)
        if (b->t[i].dtype == DSMLP_F64 && strcmp(b->t[i].name, name) == 0) {
            *n = b->count[i];
            return (const double *)b->t[i].data;
        }
    ck_abort_msg("no output %s", name);
    return NULL;
}

static inline void tl_binding_free(tl_binding *b)
{
    for (int i = 0; i < b->n; i++) free(b->t[i].data);
    b->n = 0;
}

#endif
