/*
** weights_quant.c — quantize at load: a block parameter that is int8 or fp8
** (dsmlp_mlp_build with int8_weights) filled from a float checkpoint tensor.
** The rank's slice is gathered as f32 in the parameter's [out,in]
** arrangement and handed to dsmlp_quantize with the layout the block
** declares: one scale per block of contiguous output rows, as many blocks as
** the parameter "<name>_scales" has elements (every layout of docs/quant.md,
** gate scales and per-channel included, is such a block split of the rank's
** rows), in that parameter's dtype.
*/
#include "weights.h"
#include "error.h"

#include <stdio.h>
#include <stdlib.h>

dsmlp_status dsmlpM_wq_prepare(const dsmlp_weights *w, const dsmlp_tensor_map *m, const dsmlp_tensor_ref *r, int layer,
                               const w_param *p, const w_param *sp, w_param *f, w_slice *sl)
{
    dsmlp_ctx *ctx = w->ctx;
    if (!sp->vector || (sp->dtype != DSMLP_F32 && sp->dtype != DSMLP_F16))
        return dsmlpB_err_set(ctx, DSMLP_ERR_DTYPE, "layer %d, parameter '%s': its scales '%s' are %s[%lld,%lld]; "
                              "quantizing at load needs a vector of f32 or f16", layer, p->name, sp->name,
                              dsmlp_dtype_name(sp->dtype), (long long)sp->rows, (long long)sp->cols);
    if (sp->cols <= 0 || p->rows % sp->cols)
        return dsmlpB_err_set(ctx, DSMLP_ERR_SHAPE, "layer %d, parameter '%s': %lld scales in '%s' do not divide its %lld "
                              "output rows into groups, so it cannot be quantized at load", layer, p->name,
                              (long long)sp->cols, sp->name, (long long)p->rows);
    /* The float view: the parameter's [out,in], or the checkpoint's [in,out]
    ** (GPT-2's Conv1D) where only that shape fits; a square weight is taken
    ** as [out,in] (nn.Linear). */
    *f = *p;
    f->dtype = DSMLP_F32;
    f->layout = DSMLP_LAYOUT_OUT_IN;
    snprintf(f->name, sizeof f->name, "%.24s (%s, quantized at load)", p->name, dsmlp_dtype_name(p->dtype));
    dsmlp_status s = dsmlpM_w_slice(w, m, r, layer, f, sl);
    if (s != DSMLP_ERR_SHAPE || p->rows == p->cols) return s;
    w_param t = *f;
    t.layout = DSMLP_LAYOUT_IN_OUT, t.rows = p->cols, t.cols = p->rows;
    if (dsmlpM_w_slice(w, m, r, layer, &t, sl) == DSMLP_OK) {
        *f = t;
        dsmlpB_err_clear(ctx);
        return DSMLP_OK;
    }
    return dsmlpM_w_slice(w, m, r, layer, f, sl);   /* the [out,in] message: what the block declares */
}

dsmlp_status dsmlpM_wq_run(const dsmlp_weights *w, int layer, const w_slice *sl, const w_param *f, const w_param *p,
                           const w_param *sp, void *q, void *scales)
{
    size_t n = (size_t)f->rows * (size_t)f->cols;
    float *tmp = malloc(n ? n * sizeof *tmp : 1);
    if (!tmp)
        return dsmlpB_err_set(w->ctx, DSMLP_ERR_NOMEM, "layer %d: out of host memory quantizing '%s' (%zu bytes of f32)",
                              layer, p->name, n * sizeof *tmp);
    dsmlpM_w_gather(sl, f, tmp);
    dsmlp_status s = dsmlp_quantize(w->ctx, tmp, DSMLP_F32, f->layout, p->rows, p->cols, sp->cols, p->dtype, q, sp->dtype,
                                    scales);
    if (s != DSMLP_OK)
        dsmlpB_err_append(w->ctx, "quantizing at load: layer %d, parameter '%s' from tensor '%s' of %s, %lld groups, %s "
                          "scales", layer, p->name, sl->e->name, sl->file->path, (long long)sp->cols,
                          dsmlp_dtype_name(sp->dtype));
    free(tmp);
    return s;
}
