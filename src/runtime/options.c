/*
** options.c — context options: pure defaults, and the one function that
** reads the documented environment variables (dsmlp_ctx_options_from_env).
** The only other readers: dsmlp_tp_options_from_env (tp_env.c, the TP
** launchers' variables) and tp_group.c, which quotes CUDA_VISIBLE_DEVICES in
** an error message.
*/
#define _GNU_SOURCE
#include "context.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void dsmlp_ctx_options_default(dsmlp_ctx_options *o)
{
    if (!o) return;
    memset(o, 0, sizeof *o);
    o->cache_mode = DSMLP_CACHE_DISK;
    o->ref_threads = 1;
    o->decode_max_tokens = DSMLP_CTX_KEEP;
    o->stream_max_tokens = DSMLP_CTX_KEEP;
    o->stream_pipe = DSMLP_CTX_KEEP;
    o->mixed_gemm = DSMLP_CTX_KEEP;
    o->mixed_two_groups = 1;
    o->mixed_serial_split = 1;
}

static void warn(dsmlp_ctx_options *o, const char *var, const char *val, const char *why)
{
    if (!o->warning[0])
        snprintf(o->warning, sizeof o->warning, "ignoring %s='%.80s' (%s)", var, val, why);
}

/* A whole number in [lo, hi] from var, else o->warning and no change. */
static void env_int(dsmlp_ctx_options *o, const char *var, int lo, int hi, int *out)
{
    const char *v = getenv(var);
    if (!v || !*v) return;
    char *end;
    long x = strtol(v, &end, 10);
    if (*end || x < lo || x > hi) {
        char why[64];
        snprintf(why, sizeof why, "not a whole number from %d to %d", lo, hi);
        warn(o, var, v, why);
        return;
    }
    *out = (int)x;
}

static int is_off(const char *v)
{
    return !strcasecmp(v, "off") || !strcmp(v, "0") || !strcasecmp(v, "no") || !strcasecmp(v, "false") ||
           !strcasecmp(v, "disabled");
}

void dsmlp_ctx_options_from_env(dsmlp_ctx_options *o)
{
    if (!o) return;
    const char *v;
    if ((v = getenv("DSMLP_CACHE_DIR")) && *v) o->cache_dir = v;
    if ((v = getenv("XDG_CACHE_HOME")) && *v == '/') o->xdg_cache_home = v;
    if ((v = getenv("HOME")) && *v) o->home = v;
    if ((v = getenv("DSMLP_CACHE")) && *v && is_off(v)) o->cache_mode = DSMLP_CACHE_MEMORY;
    if ((v = getenv("DSMLP_CACHE_MAX_MB")) && *v) {
        char *end;
        double mb = strtod(v, &end);
        if (end != v && *end == '\0' && mb >= 0 && mb < 1e12) o->cache_max_mb = mb;
        else warn(o, "DSMLP_CACHE_MAX_MB", v, "not a size in MB; no size limit");
    }
    if ((v = getenv("DSMLP_DUMP_DIR")) && *v) o->dump_dir = v;
    if ((v = getenv("TMPDIR")) && *v) o->tmp_dir = v;
    if ((v = getenv("DSMLP_CUDA_INCLUDE")) && *v) o->cuda_include = v;
    env_int(o, "DSMLP_DEVICE", 0, 1 << 20, &o->device);
    env_int(o, "DSMLP_REF_THREADS", 0, 1 << 20, &o->ref_threads);
    env_int(o, "DSMLP_COMPILE_THREADS", 0, 1 << 20, &o->compile_threads);
    if ((v = getenv("DSMLP_REF_PORTABLE"))) o->ref_portable = !strcmp(v, "1");
    if ((v = getenv("DSMLP_GEMM_TUNE"))) o->gemm_tune = !strcmp(v, "1") || !strcasecmp(v, "on");
    env_int(o, "DSMLP_DECODE_MAX_TOKENS", -1, 1 << 20, &o->decode_max_tokens);
    env_int(o, "DSMLP_STREAM_MAX_TOKENS", -1, 1 << 20, &o->stream_max_tokens);
    env_int(o, "DSMLP_STREAM_PIPE", 0, 1, &o->stream_pipe);
    env_int(o, "DSMLP_MIXED_GEMM", 0, 2, &o->mixed_gemm);
    env_int(o, "DSMLP_MIXED_TWO_GROUPS", 0, 2, &o->mixed_two_groups);
    env_int(o, "DSMLP_MIXED_SERIAL_SPLIT", 0, 1, &o->mixed_serial_split);
}

static char *dup_or_null(const char *s, int *oom)
{
    if (!s) return NULL;
    char *d = strdup(s);
    if (!d) *oom = 1;
    return d;
}

/* Copies o into the runtime state (strings owned by it). */
int dsmlpR_ctx_options_set(struct ctx_runtime *rt, const dsmlp_ctx_options *o)
{
    int oom = 0;
    rt->opts = *o;
    rt->opts.cache_dir = rt->own[0] = dup_or_null(o->cache_dir, &oom);
    rt->opts.dump_dir = rt->own[1] = dup_or_null(o->dump_dir, &oom);
    rt->opts.tmp_dir = rt->own[2] = dup_or_null(o->tmp_dir, &oom);
    rt->opts.cuda_include = rt->own[3] = dup_or_null(o->cuda_include, &oom);
    rt->opts.xdg_cache_home = rt->own[4] = dup_or_null(o->xdg_cache_home, &oom);
    rt->opts.home = rt->own[5] = dup_or_null(o->home, &oom);
    return oom ? -1 : 0;
}

void dsmlpR_ctx_options_free(struct ctx_runtime *rt)
{
    for (int i = 0; i < 6; i++) free(rt->own[i]);
}

const dsmlp_ctx_options *dsmlp_ctx_get_options(const dsmlp_ctx *ctx)
{
    return ctx && ctx->rt ? &ctx->rt->opts : NULL;
}
