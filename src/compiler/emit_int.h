/*
** emit_int.h — helpers the emitters share (emit.c, emit_stream.c, emit_stream_fused.c, emit_mixed.c):
** template filling, kernel names and parameter lists; they write into grow.h's growing string.
*/
#ifndef DSMLP_EMIT_INT_H
#define DSMLP_EMIT_INT_H

#include "plan.h"
#include "grow.h"

/* N > 0: the norm, mixed-input, decode GEMV and gated kernels keep a global-timer timeline of every block of their
** N-th launch, which the runtime prints when it unloads them (templates/common.cuh, exec_timeline.c,
** bench/timeline.py). -D for measurements only. */
#ifndef DSMLP_TIMELINE
#define DSMLP_TIMELINE 0
#endif
/* Timeline markers for templates without their own (gemv.cu, gated.cu: {{TL_BEGIN}}, {{TL_END}}), emitted only in
** -DDSMLP_TIMELINE builds, so other builds' sources (and kernel store keys) stay as they were. */
#define EMIT_TL_BEGIN "\n    const ds_tl_blk tl = ds_tl_begin();"
#define EMIT_TL_END   " __syncthreads(); if (threadIdx.x == 0) ds_tl_end(tl);"

/* Fills {{KEY}} placeholders of template tmpl from kv (key, value, ..., NULL)
** and prepends common.cuh: one self-contained source in *out. */
dsmlp_status dsmlpC_emit_fill(dsmlp_ctx *ctx, const char *tmpl, const char *const *kv, char **out);
/* ... without the header line and common.cuh (with_common = 0): a part of a larger source */
dsmlp_status dsmlpC_emit_fill_ex(dsmlp_ctx *ctx, const char *tmpl, const char *const *kv, int with_common, char **out);
/* The stream kernel's arguments into its ds_args struct `var`, by role (a fused kernel binds two). */
struct emit_stream_spec;
void dsmlpC_emit_stream_bind(sbuf *b, const char *var, const struct emit_stream_spec *s);
dsmlp_status dsmlpC_emit_header(dsmlp_ctx *ctx, sbuf *b, const char *name, const char *what);
dsmlp_status dsmlpC_emit_undefs(dsmlp_ctx *ctx, sbuf *b, const char *tmpl, const char *keep);
/* ", T0 *a0, const T1 *a1, ..." for k's arguments; the first nout are written. */
void dsmlpC_emit_params(sbuf *b, const plan *p, const plan_kernel *k, int nout);
/* k->name = "dsmlp_<base>_v<vec>[_u<uniq>]", truncated to fit. */
void dsmlpC_emit_set_name(plan_kernel *k, const char *base, int vec, int uniq);

#endif
