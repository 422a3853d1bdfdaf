/*
** plan_handle.h — struct dsmlp_plan: the compiler's plan plus what the
** runtime attaches to it (loaded modules, GEMM descriptors, bindings).
** compile.c owns the struct; the runtime owns rt and sets rt_free so that
** dsmlp_plan_free can release it without knowing its type.
*/
#ifndef DSMLP_PLAN_HANDLE_H
#define DSMLP_PLAN_HANDLE_H

#include "dsmlp.h"
#include "../compiler/plan.h"

struct dsmlp_plan {
    plan      *p;                  /* decisions + kernel sources (compiler)      */
    dsmlp_ctx *ctx;                /* context it was built with (errors, store)  */
    void      *rt;                 /* runtime state, NULL until dsmlp_plan_load  */
    void     (*rt_free)(void *rt); /* releases rt; set by the runtime            */
};

#endif
