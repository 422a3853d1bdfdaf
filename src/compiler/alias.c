/*
** alias.c — output/input alias analysis of a plan. Output o may share memory
** with input i when, in each route, nothing reads i after the first step that
** writes o, and that step works index by index (reads i at exactly the
** elements it writes of o, before it writes them).
*/
#include "alias.h"
#include "error.h"
#include "grow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int kernel_has_arg(const plan_kernel *k, int b)
{
    for (int a = 0; a < k->nargs; a++)
        if (k->args[a] == b) return 1;
    return 0;
}

static int kernel_arg_count(const plan_kernel *k, int b)
{
    int n = 0;
    for (int a = 0; a < k->nargs; a++) n += k->args[a] == b;
    return n;
}

/* A stream step reads every argument of its variants but the ones it only
** writes (out, side); out is also read when it is the residual c. */
static int stream_reads(const plan *p, const plan_stream *st, int b)
{
    if (b == st->c) return 1;
    if (b == st->out || b == st->side) return 0;
    for (int v = 0; v < st->nvariants; v++)
        if (kernel_has_arg(&p->kernels[st->variant[v]], b)) return 1;
    return 0;
}

static int step_reads(const plan *p, const plan_step *s, int b)
{
    if (s->kind == STEP_GEMM)   /* a decode GEMV with its norm also reads the norm's addends */
        return s->gemm.x == b || s->gemm.w == b || s->gemm.bias == b || s->gemm.c == b || s->gemm.mixed_act_bias == b ||
               s->gemm.decode_act_bias == b ||
               (s->gemm.decode_norm >= 0 && kernel_has_arg(&p->kernels[s->gemm.decode_kernel], b));
    if (s->kind == STEP_ALL_REDUCE) return s->buf == b;
    if (s->kind == STEP_STREAM) return stream_reads(p, &s->stream, b);
    return kernel_has_arg(&p->kernels[s->kernel], b);
}

/* Generated kernels count every argument as written (the norm writes its sum and its output). */
static int step_writes(const plan *p, const plan_step *s, int b)
{
    /* a GEMM also writes the activation step's output where its mixed kernels or decode GEMV take it on, and a GEMV
    ** with its norm the norm's sum */
    if (s->kind == STEP_GEMM)
        return s->gemm.d == b || s->gemm.mixed_act_out == b || s->gemm.decode_act_out == b ||
               (s->gemm.decode_norm >= 0 && kernel_has_arg(&p->kernels[s->gemm.decode_kernel], b));
    if (s->kind == STEP_ALL_REDUCE) return s->buf == b;
    if (s->kind == STEP_STREAM) return b >= 0 && (s->stream.out == b || s->stream.side == b);
    return kernel_has_arg(&p->kernels[s->kernel], b);
}

/* Does step s read input i and write output o element by element at the same
** index (so o == i is harmless)? cuBLASLt allows C == D; the norm, residual
** and element-wise kernels read a row before they write it, thread by thread.
** A stream kernel adds its residual c in the epilogue at the index it writes;
** its norm prologue reads every term of a row in every block while one block
** writes the sum: not index by index. */
static int step_same_index(const plan *p, const plan_step *s, int i, int o)
{
    if (s->kind == STEP_GEMM)
        return s->gemm.c == i && s->gemm.d == o && s->gemm.x != i && s->gemm.w != i && s->gemm.bias != i;
    if (s->kind == STEP_STREAM) {
        const plan_stream *st = &s->stream;
        if (st->c != i || st->out != o) return 0;
        for (int v = 0; v < st->nvariants; v++)   /* i passed only as c (and as out when c == out) */
            if (kernel_arg_count(&p->kernels[st->variant[v]], i) != 1 + (i == st->out)) return 0;
        return 1;
    }
    if (s->kind != STEP_KERNEL) return 0;
    plan_kernel_kind kk = p->kernels[s->kernel].kind;
    return kk == KERN_NORM || kk == KERN_RESIDUAL || kk == KERN_ACT || kk == KERN_ELEMWISE;
}

/* Over one step list: 0 when o may alias i, else 1 with the reason in why. */
static int check_route(const plan *p, const plan_step *steps, int n, const char *route, int o, int i, char *why,
                       size_t cap)
{
    int first = -1;
    for (int s = 0; s < n; s++) {
        const plan_step *st = &steps[s];
        if (first < 0 && step_writes(p, st, o)) {
            first = s;
            if (step_reads(p, st, i) && !step_same_index(p, st, i, o)) {
                snprintf(why, cap, "%sstep %d (%s) reads '%s' while it writes '%s' at other indices", route, s,
                         st->label, p->bufs[i].name, p->bufs[o].name);
                return 1;
            }
        } else if (first >= 0 && step_reads(p, st, i)) {
            snprintf(why, cap, "%sstep %d (%s) reads '%s' after step %d (%s) wrote '%s'", route, s, st->label,
                     p->bufs[i].name, first, steps[first].label, p->bufs[o].name);
            return 1;
        }
    }
    return 0;
}

dsmlp_status dsmlpC_plan_alias_build(dsmlp_ctx *ctx, plan *p)
{
    free(p->alias);
    p->alias = NULL, p->nalias = 0;
    int cap = 0;
    for (int o = 0; o < p->nbufs; o++) {
        if (p->bufs[o].kind != BUF_OUTPUT) continue;
        for (int i = 0; i < p->nbufs; i++) {
            if (p->bufs[i].kind != BUF_INPUT) continue;
            plan_alias a = {.out = o, .in = i};
            if (!check_route(p, p->steps, p->nsteps, "", o, i, a.why, sizeof a.why) &&
                !check_route(p, p->ssteps, p->nssteps, "small-T route ", o, i, a.why, sizeof a.why))
                continue;
            if (dsmlpB_grow((void **)&p->alias, &cap, p->nalias, sizeof *p->alias))
                return dsmlpB_err_set(ctx, DSMLP_ERR_NOMEM, "alias analysis: out of memory");
            p->alias[p->nalias++] = a;
        }
    }
    return DSMLP_OK;
}

const char *dsmlpC_plan_alias_why(const plan *p, int out, int in)
{
    for (int a = 0; a < p->nalias; a++)
        if (p->alias[a].out == out && p->alias[a].in == in) return p->alias[a].why;
    return NULL;
}
