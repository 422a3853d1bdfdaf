/* tp_rdv.c — the rendezvous: spec parsing, frames, dispatch to a transport. */
#define _GNU_SOURCE
#include "tp_rdv.h"
#include "context.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char rdv_magic[8] = {'D', 'S', 'M', 'L', 'P', 'R', 'V', '1'};

void dsmlpR_tp_rdv_frame_init(tp_rdv_frame *f, int rank, int size, uint64_t round, const char *tag, size_t bytes)
{
    memset(f, 0, sizeof *f);
    memcpy(f->magic, rdv_magic, sizeof rdv_magic);
    f->rank = (uint32_t)rank;
    f->size = (uint32_t)size;
    f->round = round;
    snprintf(f->tag, sizeof f->tag, "%s", tag ? tag : "");
    f->bytes = bytes;
}

dsmlp_status dsmlpR_tp_rdv_frame_check(dsmlp_ctx *ctx, const tp_rdv_frame *mine, const tp_rdv_frame *got, int want_rank,
                                const char *where)
{
    if (memcmp(got->magic, rdv_magic, sizeof rdv_magic))
        return dsmlpB_err_set(ctx, DSMLP_ERR_CORRUPT, "tensor-parallel rendezvous: %s is not a dsmlp rendezvous message",
                       where);
    if (got->size != mine->size)
        return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG,
                       "tensor-parallel rendezvous: inconsistent WORLD_SIZE: rank %u says %u, rank %u says %u "
                       "(every rank must be started with the same WORLD_SIZE)",
                       mine->rank, mine->size, got->rank, got->size);
    if ((int)got->rank != want_rank)
        return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "tensor-parallel rendezvous: %s comes from rank %u, expected rank %d",
                       where, got->rank, want_rank);
    if (got->round != mine->round || strncmp(got->tag, mine->tag, sizeof mine->tag))
        return dsmlpB_err_set(ctx, DSMLP_ERR_STATE,
                       "tensor-parallel rendezvous: ranks out of step: rank %u is at exchange %llu ('%s'), rank %u "
                       "at exchange %llu ('%s') (do all ranks make the same calls in the same order?)",
                       mine->rank, (unsigned long long)mine->round, mine->tag, got->rank,
                       (unsigned long long)got->round, got->tag);
    if (got->bytes != mine->bytes)
        return dsmlpB_err_set(ctx, DSMLP_ERR_STATE,
                       "tensor-parallel rendezvous: exchange '%s': rank %u gives %llu bytes, rank %u gives %llu",
                       mine->tag, mine->rank, (unsigned long long)mine->bytes, got->rank,
                       (unsigned long long)got->bytes);
    return DSMLP_OK;
}

/* "tcp://HOST:PORT" -> host, port ("[v6]" loses its brackets). */
static int split_host_port(const char *hp, char *host, size_t hcap, char *port, size_t pcap)
{
    const char *colon;
    if (hp[0] == '[') {
        const char *close = strchr(hp, ']');
        if (!close || close[1] != ':') return 0;
        if ((size_t)(close - hp - 1) >= hcap) return 0;
        snprintf(host, hcap, "%.*s", (int)(close - hp - 1), hp + 1);
        colon = close + 1;
    } else {
        colon = strrchr(hp, ':');
        if (!colon || (size_t)(colon - hp) >= hcap) return 0;
        snprintf(host, hcap, "%.*s", (int)(colon - hp), hp);
    }
    if (!host[0] || strlen(colon + 1) >= pcap) return 0;
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (!colon[1] || *end || p < 1 || p > 65535) return 0;
    snprintf(port, pcap, "%ld", p);
    return 1;
}

dsmlp_status dsmlpR_tp_rdv_open(dsmlp_ctx *ctx, const char *spec, int rank, int size, double timeout_s, tp_rdv **out)
{
    *out = NULL;
    if (!spec || !*spec)
        return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG,
                       "tensor-parallel rendezvous: none given (set DSMLP_TP_RENDEZVOUS=file:PATH or "
                       "tcp://HOST:PORT, or MASTER_ADDR and MASTER_PORT)");
    if (size < 1 || rank < 0 || rank >= size)
        return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "tensor-parallel rendezvous: rank %d is outside [0, %d)", rank,
                       size);
    tp_rdv *r = calloc(1, sizeof *r);
    if (!r || !(r->spec = strdup(spec))) {
        free(r);
        return dsmlpB_err_set(ctx, DSMLP_ERR_NOMEM, "tensor-parallel rendezvous: out of host memory");
    }
    r->rank = rank;
    r->size = size;
    r->timeout_s = timeout_s > 0 ? timeout_s : 300;
    r->listen_fd = -1;
    dsmlp_status s;
    if (!strncmp(spec, "file:", 5)) {
        const char *path = spec + 5;
        if (!strncmp(path, "//", 2)) path += 2;   /* file:///abs/path */
        if (!*path) {
            s = dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "tensor-parallel rendezvous '%s': no file path", spec);
        } else if (!(r->path = strdup(path))) {
            s = dsmlpB_err_set(ctx, DSMLP_ERR_NOMEM, "tensor-parallel rendezvous: out of host memory");
        } else {
            s = dsmlpR_tp_rdv_file_open(ctx, r);
        }
    } else if (!strncmp(spec, "tcp://", 6)) {
        char host[256], port[16];
        r->tcp = 1;
        if (!split_host_port(spec + 6, host, sizeof host, port, sizeof port))
            s = dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG,
                        "tensor-parallel rendezvous '%s': expected tcp://HOST:PORT with a port in [1, 65535]", spec);
        else
            s = dsmlpR_tp_rdv_tcp_open(ctx, r, host, port);
    } else {
        s = dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG,
                    "tensor-parallel rendezvous '%s' is neither file:PATH nor tcp://HOST:PORT", spec);
    }
    if (s != DSMLP_OK) {
        dsmlpR_tp_rdv_close(r);
        return s;
    }
    *out = r;
    return DSMLP_OK;
}

dsmlp_status dsmlpR_tp_rdv_allgather(tp_rdv *r, dsmlp_ctx *ctx, const char *tag, const void *mine, size_t bytes, void *all)
{
    dsmlp_status s = r->tcp ? dsmlpR_tp_rdv_tcp_allgather(r, ctx, tag, mine, bytes, all)
                            : dsmlpR_tp_rdv_file_allgather(r, ctx, tag, mine, bytes, all);
    if (s == DSMLP_OK) r->round++;
    return s;
}

void dsmlpR_tp_rdv_close(tp_rdv *r)
{
    if (!r) return;
    if (r->tcp) dsmlpR_tp_rdv_tcp_close(r);
    else if (r->path) dsmlpR_tp_rdv_file_close(r);
    free(r->fds);
    free(r->path);
    free(r->spec);
    free(r);
}

const char *dsmlpR_tp_rdv_spec(const tp_rdv *r) { return r ? r->spec : ""; }
