/* fuse_explain.c — the fusion pass's explain sentences and step labels. */
#include "fuse_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void dsmlpC_fuse_appendf(char *buf, size_t cap, const char *fmt, ...)
{
    size_t n = strlen(buf);
    if (n + 1 >= cap) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + n, cap - n, fmt, ap);
    va_end(ap);
}

void dsmlpC_fuse_terms_text(const fz *z, const int *t, int n, char *out, size_t cap)
{
    out[0] = 0;
    for (int i = 0; i < n; i++) {
        const char *sep = i ? " + " : "";
        if (t[i] < z->g->n && fz_node(z, t[i])->name[0]) dsmlpC_fuse_appendf(out, cap, "%s%s", sep, fz_node(z, t[i])->name);
        else dsmlpC_fuse_appendf(out, cap, "%s%%%d", sep, t[i]);
    }
}

static void act_why(char *why, size_t cap, dsmlp_op a, int bias, int int8)
{
    const char *what = bias ? "bias+" : "";
    if (int8)
        dsmlpC_fuse_appendf(why, cap, "%s%s: the weight is dequantized int8, activation epilogues are not used -> generated kernel",
                     what, dsmlp_op_name(a));
    else if (a == DSMLP_OP_GELU_ERF)
        dsmlpC_fuse_appendf(why, cap, "%s%s: cuBLASLt has no erf-GELU epilogue -> generated kernel", what, dsmlp_op_name(a));
    else if (a == DSMLP_OP_SILU)
        dsmlpC_fuse_appendf(why, cap, "%s%s: cuBLASLt has no SiLU epilogue -> generated kernel", what, dsmlp_op_name(a));
}

void dsmlpC_fuse_tail_why(char *why, size_t cap, const fuse_tail *t, int int8)
{
    const char *act = t->act != DSMLP_OP_COUNT ? dsmlp_op_name(t->act) : "";
    switch (t->kind) {
    case TAIL_NONE: break;
    case TAIL_BIAS: dsmlpC_fuse_appendf(why, cap, "bias -> cuBLASLt BIAS epilogue"); break;
    case TAIL_BIAS_ACT:
        dsmlpC_fuse_appendf(why, cap, "bias+%s -> cuBLASLt %s epilogue", act,
                            t->act == DSMLP_OP_RELU ? "RELU_BIAS" : "GELU_BIAS");
        break;
    case TAIL_BIAS_ACT_KERNEL: act_why(why, cap, t->act, 1, int8); break;
    case TAIL_BIAS_GATED: dsmlpC_fuse_appendf(why, cap, "bias+gated: the bias goes into the generated gated kernel"); break;
    case TAIL_BIAS_SCALE: dsmlpC_fuse_appendf(why, cap, "bias+scale: no epilogue scales -> generated kernel"); break;
    case TAIL_ACT:
        dsmlpC_fuse_appendf(why, cap, "%s -> cuBLASLt %s epilogue", act, t->act == DSMLP_OP_RELU ? "RELU" : "GELU");
        break;
    case TAIL_ACT_KERNEL: act_why(why, cap, t->act, 0, int8); break;
    case TAIL_GATED: dsmlpC_fuse_appendf(why, cap, "gated activation -> generated gated kernel"); break;
    }
}

void dsmlpC_fuse_residual_why(char *why, size_t cap, const fuse_residual *res, const char *pwhy)
{
    if (res->vec_only) {
        dsmlpC_fuse_appendf(why, cap, "%s%d more bias vector(s) after the GEMM: a C tensor cannot carry them -> generated kernel",
                            *why ? "; " : "", res->nv);
        return;
    }
    if (!res->ok) return;
    /* one sentence for the whole epilogue */
    int n = res->nt + res->nv, bias = res->bias >= 0;
    snprintf(why, cap, "%sresidual (%d term%s) -> cuBLASLt %sbeta=1 C", bias ? "bias + " : "", n, n > 1 ? "s" : "",
             bias ? "BIAS epilogue + " : "");
    if (*pwhy) dsmlpC_fuse_appendf(why, cap, "; %s", pwhy);
}

void dsmlpC_fuse_ew_why(const fz *z, fuse_group *G)
{
    if (G->ew.kind == KERN_ACT) {
        if (!*G->why)
            dsmlpC_fuse_appendf(G->why, sizeof G->why, "%s%s in one generated kernel", G->nnodes == 2 ? "bias+" : "",
                                dsmlp_op_name(fz_op(z, G->ew.root)));
    } else if (G->ew.kind == KERN_RESIDUAL) {
        dsmlpC_fuse_appendf(G->why, sizeof G->why, "%d add/bias op(s) in one generated sum kernel", G->nnodes);
    } else {
        dsmlpC_fuse_appendf(G->why, sizeof G->why, "%d element-wise op(s) in one generated kernel", G->nnodes);
    }
}

void dsmlpC_fuse_label(fuse_group *G)
{
    static const char *const epi[] = {"", "+bias", "+bias_relu", "+bias_gelu", "+relu", "+gelu"};
    switch (G->kind) {
    case FG_GEMM:
        if (G->gemm.c >= 0)
            snprintf(G->label, sizeof G->label, "gemm%s", G->gemm.bias >= 0 ? "+bias_residual" : "+residual");
        else
            snprintf(G->label, sizeof G->label, "gemm%s", epi[G->gemm.epi]);
        break;
    case FG_NORM: snprintf(G->label, sizeof G->label, "norm"); break;
    case FG_GATED: snprintf(G->label, sizeof G->label, "gated"); break;
    case FG_DEQUANT: snprintf(G->label, sizeof G->label, "dequant"); break;
    case FG_ALL_REDUCE: snprintf(G->label, sizeof G->label, "all_reduce"); break;
    case FG_EW:   /* a pre-sum or copy has no expression tree */
        snprintf(G->label, sizeof G->label, "%s",
                 G->ew.kind == KERN_ACT ? "act" : G->ew.kind == KERN_RESIDUAL ? "residual"
                                                : G->ew.root < 0 ? "copy" : "elemwise");
        break;
    }
}
