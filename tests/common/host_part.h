/*
** host_part.h — a part of a generated kernel's source (templates/mixed.cu) compiled by g++ on the host with a
** harness around it, so a CPU test can call the kernel's own arithmetic (its L2 prefetch lines);
** and the 4096-wide plans those tests read the kernels of.
*/
#ifndef DSMLP_HOST_PART_H
#define DSMLP_HOST_PART_H

#include "dsmlp.h"

/* The value of the kernel source's "#define NAME <number>" (a Check failure if it has none). */
long long hp_define(const char *src, const char *name);
/* Writes dir/<stem><idx>.cc: prelude, the source's object-like DS_ defines before part, the bytes [part, end), then
** harness; compiles it with g++ into a shared object and opens it (Check failures on any error). */
void     *hp_compile(const char *src, const char *part, const char *end, const char *prelude, const char *harness,
                     const char *dir, const char *stem, int idx);
/* The plan (sm_90, compiled lazily: sources, no device) of GELU-4096 (H 4096, I 16384, f16, LayerNorm) or, gated,
** SwiGLU-4096 (I 14336, bf16, RMSNorm, no biases), with int8 weights in 4 groups (wt DSMLP_I8) or float ones. */
dsmlp_plan *hp_plan_4096(dsmlp_ctx *ctx, int gated, dsmlp_dtype wt);

#endif
