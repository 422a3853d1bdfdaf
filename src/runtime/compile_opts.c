/*
** compile_opts.c — dsmlp_compile_options by name: one table row per field,
** so dsmlp-compile (-O NAME=VALUE), model scripts (per-layer options) and the
** docs reach every option that changes a plan or its kernels. A new field of
** dsmlp_compile_options needs a row here; test_aot_parity checks that the
** rows cover the struct without gaps.
*/
#include "context.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct opt_row {
    dsmlp_option_info info;
    size_t            offset, size;   /* of the field */
} opt_row;

#define ROW(field, kind, lo, hi, help) \
    {{#field, kind, lo, hi, help}, offsetof(dsmlp_compile_options, field), sizeof(((dsmlp_compile_options *)0)->field)}

static const opt_row rows[] = {
    ROW(arch, DSMLP_OPTION_ARCH, 0, 0, "target GPU architecture (dsmlp-compile: --arch)"),
    ROW(max_tokens, DSMLP_OPTION_INT, 1, (int64_t)1 << 40, "largest T dsmlp_run accepts"),
    ROW(tf32, DSMLP_OPTION_BOOL, 0, 1, "allow TF32 in f32 GEMMs"),
    ROW(defer_compile, DSMLP_OPTION_INTERNAL, 0, 1, "plan_build emits sources and keys only (the CLI sets it)"),
    ROW(residual_kernel, DSMLP_OPTION_BOOL, 0, 1, "final bias + residual in a generated kernel, not GEMM2's epilogue"),
    /* upper bounds are the planner's to check (dsmlpC_plan_make says why) */
    ROW(decode_max_tokens, DSMLP_OPTION_INT, -1, INT32_MAX,
        "decode GEMV kernels for T <= this (0: none, -1: per layout, where they measured faster)"),
    ROW(stream_max_tokens, DSMLP_OPTION_INT, -1, INT32_MAX,
        "weight-streaming route for T <= this (0: none, -1: where it measured faster)"),
    ROW(stream_pipe, DSMLP_OPTION_BOOL, 0, 1,
        "the route also gets the W ring variants ([out,in], T <= 8, sm_90; 0: not)"),
    /* how the host program loads the plan, not what it compiles: not an -O or script option */
    ROW(external_workspace, DSMLP_OPTION_INTERNAL, 0, 1, "dsmlp_plan_load allocates no workspace (the host installs one)"),
    ROW(mixed_gemm, DSMLP_OPTION_INT, 0, 2,
        "mixed-input GEMMs on int8/fp8 weights (sm_90; 0: none, 1: T <= 1536 where the grid fills the GPU, 2: every T)"),
};
#define NROWS ((int)(sizeof rows / sizeof rows[0]))

int dsmlp_compile_option_count(void) { return NROWS; }

const dsmlp_option_info *dsmlp_compile_option_info(int i)
{
    return i >= 0 && i < NROWS ? &rows[i].info : NULL;
}

/* Field layout of row i (tests check the rows cover the struct). */
void dsmlpR_compile_option_layout(int i, size_t *offset, size_t *size)
{
    *offset = rows[i].offset;
    *size = rows[i].size;
}

static const opt_row *find_row(const char *name, size_t len)
{
    for (int i = 0; i < NROWS; i++)
        if (strlen(rows[i].info.name) == len && strncmp(rows[i].info.name, name, len) == 0) return &rows[i];
    return NULL;
}

/* The closest row name (for "did you mean"). */
static const char *closest(const char *name, size_t len)
{
    const char *best = NULL;
    size_t best_d = (size_t)-1;
    for (int i = 0; i < NROWS; i++) {
        const char *r = rows[i].info.name;
        size_t n = strlen(r), d = 0;
        for (size_t k = 0; k < (n > len ? n : len); k++) d += k >= n || k >= len || r[k] != name[k];
        if (d < best_d) best_d = d, best = r;
    }
    return best_d <= 3 ? best : NULL;
}

dsmlp_status dsmlp_compile_options_parse(dsmlp_ctx *ctx, dsmlp_compile_options *o, const char *assignment)
{
    if (!o || !assignment) return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "compile option: NULL argument");
    const char *eq = strchr(assignment, '=');
    size_t len = eq ? (size_t)(eq - assignment) : strlen(assignment);
    const opt_row *r = find_row(assignment, len);
    if (!r || r->info.kind == DSMLP_OPTION_INTERNAL) {
        const char *near = closest(assignment, len);
        return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "unknown compile option '%.*s'%s%s%s", (int)len, assignment,
                       near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
    }
    if (!eq || !eq[1])
        return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "compile option '%s' needs a value (%s=VALUE)", r->info.name,
                       r->info.name);
    const char *v = eq + 1;
    char *field = (char *)o + r->offset;
    if (r->info.kind == DSMLP_OPTION_ARCH) {
        int ok = 0;
        for (int i = 0; dsmlp_arch_name(i); i++) ok |= strcmp(v, dsmlp_arch_name(i)) == 0;
        if (!ok) return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "compile option arch: unknown arch '%s'", v);
        for (int i = 0; dsmlp_arch_name(i); i++)   /* a pointer that outlives the caller's string */
            if (strcmp(v, dsmlp_arch_name(i)) == 0) *(const char **)field = dsmlp_arch_name(i);
        return DSMLP_OK;
    }
    long long x;
    if (r->info.kind == DSMLP_OPTION_BOOL && (!strcmp(v, "true") || !strcmp(v, "on") || !strcmp(v, "yes"))) x = 1;
    else if (r->info.kind == DSMLP_OPTION_BOOL && (!strcmp(v, "false") || !strcmp(v, "off") || !strcmp(v, "no")))
        x = 0;
    else {
        char *end;
        errno = 0;
        x = strtoll(v, &end, 10);
        if (errno || *end || end == v)
            return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "compile option %s: '%s' is not a whole number", r->info.name, v);
    }
    if (x < r->info.min || x > r->info.max)
        return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "compile option %s = %lld is outside [%lld, %lld]", r->info.name, x,
                       (long long)r->info.min, (long long)r->info.max);
    if (r->size == sizeof(int64_t)) {
        int64_t y = (int64_t)x;
        memcpy(field, &y, sizeof y);
    } else {
        int y = (int)x;
        memcpy(field, &y, sizeof y);
    }
    return DSMLP_OK;
}

int dsmlp_compile_options_format(const dsmlp_compile_options *o, int i, char *buf, size_t cap)
{
    if (!o || i < 0 || i >= NROWS || !buf || !cap) return -1;
    const char *field = (const char *)o + rows[i].offset;
    if (rows[i].info.kind == DSMLP_OPTION_ARCH) {
        const char *a;
        memcpy(&a, field, sizeof a);
        return snprintf(buf, cap, "%s", a ? a : "(device)");
    }
    long long x;
    if (rows[i].size == sizeof(int64_t)) {
        int64_t y;
        memcpy(&y, field, sizeof y);
        x = y;
    } else {
        int y;
        memcpy(&y, field, sizeof y);
        x = y;
    }
    return snprintf(buf, cap, "%lld", x);
}
