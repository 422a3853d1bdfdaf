/*
** tp_env.c — tensor-parallel options: defaults, the launcher's environment
** (the one place the library reads it, and only when asked), and checks
** whose messages say which variable is missing or inconsistent.
*/
#define _GNU_SOURCE
#include "tp.h"
#include "context.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void dsmlp_tp_options_default(dsmlp_tp_options *o)
{
    if (!o) return;
    memset(o, 0, sizeof *o);
    o->rank = o->size = o->local_rank = o->device = -1;
    o->timeout_s = 300;
    o->nccl = 1;
    o->custom = -1;
    o->custom_max_bytes = 512 * 1024;    /* to be measured on 2/4 GPUs (docs/tp.md) */
    o->two_shot_min_bytes = 256 * 1024;
    o->overlap_chunks = 0;
    o->overlap_min_tokens = 1024;
}

dsmlp_status dsmlpR_tp_options_check(dsmlp_ctx *ctx, const dsmlp_tp_options *o, int need_rank)
{
    if (need_rank) {
        if (o->size < 1)
            return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG,
                           "tensor-parallel group: the size (WORLD_SIZE) is %s; set it to the number of processes",
                           o->size < 0 ? "not set" : "0");
        if (o->rank < 0 || o->rank >= o->size)
            return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG,
                           "tensor-parallel group: rank (RANK) %d is %s",
                           o->rank, o->rank < 0 ? "not set" : "not below the size (WORLD_SIZE)");
        if (o->local_rank >= o->size)
            return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG,
                           "tensor-parallel group: local rank (LOCAL_RANK) %d is not below the size (WORLD_SIZE) %d",
                           o->local_rank, o->size);
        if (o->size > 1 && (!o->rendezvous || !*o->rendezvous))
            return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG,
                           "tensor-parallel group: no rendezvous (set DSMLP_TP_RENDEZVOUS=file:PATH or "
                           "tcp://HOST:PORT, or MASTER_ADDR and MASTER_PORT)");
    }
    if (o->device < -1)
        return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "tensor-parallel group: device %d is not a GPU ordinal", o->device);
    if (o->device < 0 && o->local_rank < 0 && need_rank && o->size > 1)
        return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG,
                       "tensor-parallel group: which GPU? neither the device (DSMLP_TP_DEVICE) nor the local rank "
                       "(LOCAL_RANK) is set");
    if (o->nccl != 0 && o->nccl != 1)
        return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "tensor-parallel group: nccl is %d (0 or 1)", o->nccl);
    if (o->custom < -1 || o->custom > 1)
        return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "tensor-parallel group: custom is %d (-1 auto, 0 off, 1 on)",
                       o->custom);
    if (!o->nccl && o->custom == 0)
        return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG,
                       "tensor-parallel group: with nccl = 0 and custom = 0 no all-reduce is left (enable one)");
    if (o->overlap_chunks < 0 || o->overlap_chunks > 64)
        return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "tensor-parallel group: overlap_chunks %d is outside [0, 64]",
                       o->overlap_chunks);
    if (o->overlap_min_tokens < 1)
        return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "tensor-parallel group: overlap_min_tokens %lld is below 1",
                       (long long)o->overlap_min_tokens);
    if (!(o->timeout_s > 0) || o->timeout_s > 1e6)
        return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "tensor-parallel group: timeout %g s is outside (0, 1e6]",
                       o->timeout_s);
    return DSMLP_OK;
}

/* ------------------------------------------------------- environment */

/* Parses an integer variable into *out; 0 when unset, 1 when set, -1 (error
** set) when malformed or outside [lo, hi]. */
static int env_int(dsmlp_ctx *ctx, const char *name, long long lo, long long hi, long long *out)
{
    const char *v = getenv(name);
    if (!v || !*v) return 0;
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    while (*end == ' ' || *end == '\n') end++;
    if (errno || *end || x < lo || x > hi) {
        dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "%s=%s: expected an integer in [%lld, %lld]", name, v, lo, hi);
        return -1;
    }
    *out = x;
    return 1;
}

/* One launcher's variables: rank, size, local rank. */
typedef struct env_set { const char *rank, *size, *local; } env_set;

static const env_set launchers[] = {
    {"RANK", "WORLD_SIZE", "LOCAL_RANK"},                                                  /* torchrun */
    {"OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK"},       /* Open MPI */
    {"SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID"},                                     /* srun     */
};

static dsmlp_status read_launcher(dsmlp_ctx *ctx, dsmlp_tp_options *o)
{
    const int nl = (int)(sizeof launchers / sizeof *launchers);
    for (int i = 0; i < nl; i++) {
        const env_set *e = &launchers[i];
        long long rank = -1, size = -1, local = -1;
        int hr = env_int(ctx, e->rank, 0, 1 << 30, &rank);
        int hs = env_int(ctx, e->size, 1, 1 << 30, &size);
        int hl = env_int(ctx, e->local, 0, 1 << 30, &local);
        if (hr < 0 || hs < 0 || hl < 0) return DSMLP_ERR_INVALID_ARG;
        if (!hr && !hs) {
            if (hl)
                return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "%s is set but %s and %s are not", e->local, e->rank,
                               e->size);
            continue;
        }
        if (!hr || !hs)
            return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "%s is set but %s is not (a launcher sets both)",
                           hr ? e->rank : e->size, hr ? e->size : e->rank);
        if (rank >= size)
            return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "%s=%lld is not below %s=%lld", e->rank, rank, e->size, size);
        if (hl && local >= size)
            return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "%s=%lld is not below %s=%lld", e->local, local, e->size,
                           size);
        if (hl && local > rank)
            return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG,
                           "%s=%lld is above %s=%lld (a rank's local rank never exceeds its global rank)", e->local,
                           local, e->rank, rank);
        o->rank = (int)rank;
        o->size = (int)size;
        o->local_rank = hl ? (int)local : size == 1 ? 0 : -1;
        return DSMLP_OK;
    }
    return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG,
                   "no tensor-parallel launch found: RANK and WORLD_SIZE are not set (start one process per GPU "
                   "with torchrun, mpirun, srun or tools/tp-launch.sh, or set RANK, WORLD_SIZE and LOCAL_RANK)");
}

static dsmlp_status read_rendezvous(dsmlp_ctx *ctx, dsmlp_tp_options *o)
{
    const char *spec = getenv("DSMLP_TP_RENDEZVOUS");
    const char *addr = getenv("MASTER_ADDR"), *port = getenv("MASTER_PORT");
    size_t cap = sizeof o->env_text_;
    if (spec && *spec) {
        if (strlen(spec) >= cap)
            return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "DSMLP_TP_RENDEZVOUS is longer than %zu characters", cap - 1);
        snprintf(o->env_text_, cap, "%s", spec);
    } else if ((addr && *addr) || (port && *port)) {
        if (!addr || !*addr || !port || !*port)
            return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "%s is set but %s is not", addr && *addr ? "MASTER_ADDR" :
                           "MASTER_PORT", addr && *addr ? "MASTER_PORT" : "MASTER_ADDR");
        int v6 = strchr(addr, ':') != NULL;   /* a bare IPv6 address needs brackets */
        if ((size_t)snprintf(o->env_text_, cap, v6 ? "tcp://[%s]:%s" : "tcp://%s:%s", addr, port) >= cap)
            return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "MASTER_ADDR is too long");
    } else {
        return DSMLP_OK;   /* the caller's, if any; dsmlpR_tp_options_check wants one for P > 1 */
    }
    o->rendezvous = o->env_text_;
    return DSMLP_OK;
}

static dsmlp_status read_settings(dsmlp_ctx *ctx, dsmlp_tp_options *o)
{
    long long v;
    int h;
    if ((h = env_int(ctx, "DSMLP_TP_DEVICE", 0, 1 << 20, &v)) < 0) return DSMLP_ERR_INVALID_ARG;
    if (h) o->device = (int)v;
    if ((h = env_int(ctx, "DSMLP_TP_TIMEOUT", 1, 1000000, &v)) < 0) return DSMLP_ERR_INVALID_ARG;
    if (h) o->timeout_s = (double)v;
    if ((h = env_int(ctx, "DSMLP_TP_NCCL", 0, 1, &v)) < 0) return DSMLP_ERR_INVALID_ARG;
    if (h) o->nccl = (int)v;
    if ((h = env_int(ctx, "DSMLP_TP_CUSTOM_MAX_BYTES", 0, 1LL << 40, &v)) < 0) return DSMLP_ERR_INVALID_ARG;
    if (h) o->custom_max_bytes = (size_t)v;
    if ((h = env_int(ctx, "DSMLP_TP_TWO_SHOT_MIN_BYTES", 0, 1LL << 40, &v)) < 0) return DSMLP_ERR_INVALID_ARG;
    if (h) o->two_shot_min_bytes = (size_t)v;
    if ((h = env_int(ctx, "DSMLP_TP_OVERLAP_CHUNKS", 0, 64, &v)) < 0) return DSMLP_ERR_INVALID_ARG;
    if (h) o->overlap_chunks = (int)v;
    if ((h = env_int(ctx, "DSMLP_TP_OVERLAP_MIN_TOKENS", 1, 1LL << 40, &v)) < 0) return DSMLP_ERR_INVALID_ARG;
    if (h) o->overlap_min_tokens = v;
    const char *c = getenv("DSMLP_TP_CUSTOM");
    if (c && *c) {
        if (!strcmp(c, "auto")) o->custom = -1;
        else if (!strcmp(c, "on") || !strcmp(c, "1")) o->custom = 1;
        else if (!strcmp(c, "off") || !strcmp(c, "0")) o->custom = 0;
        else return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "DSMLP_TP_CUSTOM=%s: expected auto, on or off", c);
    }
    return DSMLP_OK;
}

dsmlp_status dsmlp_tp_options_from_env(dsmlp_ctx *ctx, dsmlp_tp_options *o)
{
    if (!o) return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "dsmlp_tp_options_from_env: options are NULL");
    dsmlp_tp_options t = *o;   /* o changes only when everything parsed */
    dsmlp_status s;
    if ((s = read_launcher(ctx, &t)) != DSMLP_OK || (s = read_rendezvous(ctx, &t)) != DSMLP_OK ||
        (s = read_settings(ctx, &t)) != DSMLP_OK || (s = dsmlpR_tp_options_check(ctx, &t, 1)) != DSMLP_OK)
        return s;
    *o = t;
    if (o->rendezvous == t.env_text_) o->rendezvous = o->env_text_;   /* points into o, not the copy */
    dsmlpB_err_clear(ctx);
    return DSMLP_OK;
}
