/* graph_tensors.c — the tensor map a graph may carry: where each parameter
** comes from in a checkpoint (metadata; no stage of the compiler reads it). */
#include "graph.h"
#include "error.h"

#include <stdlib.h>
#include <string.h>

static dsmlp_status check_map(const dsmlp_graph *g, const dsmlp_tensor_map *m)
{
    if (m->count < 0 || m->count > DSMLP_TENSOR_MAP_MAX)
        return dsmlpB_err_set(g->ctx, DSMLP_ERR_INVALID_ARG, "tensor map: count %d is outside [0, %d]", m->count,
                       DSMLP_TENSOR_MAP_MAX);
    if (m->tp_size < 1 || m->tp_rank < 0 || m->tp_rank >= m->tp_size)
        return dsmlpB_err_set(g->ctx, DSMLP_ERR_INVALID_ARG, "tensor map: tp_rank %d of tp_size %d is not a rank", m->tp_rank,
                       m->tp_size);
    if (m->layers < 0) return dsmlpB_err_set(g->ctx, DSMLP_ERR_INVALID_ARG, "tensor map: layers = %d", m->layers);
    for (int i = 0; i < m->count; i++) {
        const dsmlp_tensor_ref *r = &m->ref[i];
        if (!memchr(r->param, 0, sizeof r->param) || !memchr(r->tensor, 0, sizeof r->tensor) || !r->param[0] ||
            !r->tensor[0])
            return dsmlpB_err_set(g->ctx, DSMLP_ERR_INVALID_ARG, "tensor map: entry %d has an empty or unterminated name", i);
        if ((unsigned)r->split > DSMLP_SPLIT_OUT_HALVES)
            return dsmlpB_err_set(g->ctx, DSMLP_ERR_INVALID_ARG, "tensor map: '%s' has unknown split %d", r->param,
                           (int)r->split);
        if (r->row_begin < 0 || r->row_count < 0)
            return dsmlpB_err_set(g->ctx, DSMLP_ERR_INVALID_ARG, "tensor map: '%s' has a negative row block", r->param);
        for (int j = 0; j < i; j++)
            if (!strcmp(m->ref[j].param, r->param))
                return dsmlpB_err_set(g->ctx, DSMLP_ERR_INVALID_ARG, "tensor map: parameter '%s' is mapped twice", r->param);
    }
    return DSMLP_OK;
}

dsmlp_status dsmlp_graph_set_tensor_map(dsmlp_graph *g, const dsmlp_tensor_map *m)
{
    if (!g) return DSMLP_ERR_INVALID_ARG;
    if (!m) {
        free(g->tensors);
        g->tensors = NULL;
        return DSMLP_OK;
    }
    dsmlp_status s = check_map(g, m);
    if (s != DSMLP_OK) return s;
    dsmlp_tensor_map *copy = malloc(sizeof *copy);
    if (!copy) return dsmlpB_err_set(g->ctx, DSMLP_ERR_NOMEM, "tensor map: out of memory");
    *copy = *m;
    free(g->tensors);
    g->tensors = copy;
    return DSMLP_OK;
}

const dsmlp_tensor_map *dsmlp_graph_tensor_map(const dsmlp_graph *g)
{
    return g ? g->tensors : NULL;
}
