/* prelude.h — the names the C fragments in README.md and docs/ use without
** declaring them (tests/test_docs.sh compiles every fragment against the
** public header with this in front). Add a name here only when a fragment
** means "the caller's own variable". */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dsmlp.h"

extern dsmlp_ctx   *ctx;
extern dsmlp_graph *g;
extern dsmlp_plan  *plan;                 /* from an earlier fragment of the same page */
extern dsmlp_mlp_config c;
extern size_t      bytes;
extern int64_t    T, H;
extern void      *stream;
extern void      *d_w1, *d_w2, *d_attn_out, *d_attn;   /* caller-owned device buffers */
extern void      *d_x[];
#define N 4                                           /* a layer count */
extern dsmlp_bindings *layer[N];
extern dsmlp_weights  *w;
extern dsmlp_hf_model  model;
extern dsmlp_compile_options opts;
extern const void *host_gamma;
extern const void *w1_full, *full_w1;
extern void       *shard;
extern void       *w1_rank, *a, *x, *w1, *gpu_out;
extern double     *ref;
void   die(const char *msg);
void   build_plan(const char *name, const dsmlp_graph *g);
double tu_rel_error(dsmlp_dtype t, const void *a, const double *ref, int64_t n);   /* tests/common/testutil.h */
