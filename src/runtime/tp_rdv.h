/*
** tp_rdv.h — the rendezvous of a tensor-parallel group: how P processes that
** a launcher started (torchrun, mpirun, Slurm, tools/tp-launch.sh) find each
** other before NCCL exists. It carries only small host blobs: the NCCL
** unique id, each rank's host and device identity, and the peer-memory
** handles of the custom all-reduce. Data never goes through it.
**
** Two transports, chosen by the spec string:
**   "file:PATH"  (or "file://PATH") — files PATH.<round>.<rank> on a file
**                system every rank sees; each published with link(), so a
**                second claimant of a rank fails instead of overwriting.
**   "tcp://HOST:PORT"              — rank 0 listens on PORT, the others
**                connect to HOST:PORT and stay connected (a star).
** Every exchange is an all-gather of equal-sized blobs with a tag naming the
** step; ranks that disagree on the tag, the size or the world size get an
** error that names both sides instead of a hang.
*/
#ifndef DSMLP_TP_RDV_H
#define DSMLP_TP_RDV_H

#include <stddef.h>
#include "dsmlp.h"

typedef struct tp_rdv tp_rdv;

#define TP_RDV_TAG_MAX 32   /* tags longer than 31 characters are cut */

/* Joins the rendezvous as rank `rank` of `size`; waits up to timeout_s for
** the others. */
dsmlp_status dsmlpR_tp_rdv_open(dsmlp_ctx *ctx, const char *spec, int rank, int size, double timeout_s, tp_rdv **out);
/* Every rank gives `bytes` bytes; `all` receives size·bytes in rank order. */
dsmlp_status dsmlpR_tp_rdv_allgather(tp_rdv *r, dsmlp_ctx *ctx, const char *tag, const void *mine, size_t bytes,
                              void *all);
/* Leaves the rendezvous. The file transport removes its files: ranks wait
** (up to a few seconds) for each other here, so call it on every rank. */
void         dsmlpR_tp_rdv_close(tp_rdv *r);
/* "file:PATH" / "tcp://HOST:PORT" as opened. */
const char  *dsmlpR_tp_rdv_spec(const tp_rdv *r);

/* ------------------------------------------ internals (tp_rdv*.c only) */

#include <stdint.h>

struct tp_rdv {
    int      tcp;            /* 0: file transport, 1: TCP                   */
    int      joined;         /* open succeeded: close talks to the others    */
    int      published;      /* file: this rank's exchange-0 file exists     */
    int      failed;         /* file: an exchange failed; err file written   */
    double   opened_at;      /* file: wall-clock time of open (err files older are stale) */
    int      rank, size;
    double   timeout_s;
    uint64_t round;          /* all-gathers done so far                     */
    char    *spec;
    char    *path;           /* file: the PATH prefix                       */
    int      listen_fd;      /* tcp rank 0                                  */
    int     *fds;            /* tcp: rank 0 [size] (peers), others [1] (root) */
};

dsmlp_status dsmlpR_tp_rdv_file_open(dsmlp_ctx *ctx, tp_rdv *r);
dsmlp_status dsmlpR_tp_rdv_file_allgather(tp_rdv *r, dsmlp_ctx *ctx, const char *tag, const void *mine, size_t bytes,
                                   void *all);
void         dsmlpR_tp_rdv_file_close(tp_rdv *r);
dsmlp_status dsmlpR_tp_rdv_tcp_open(dsmlp_ctx *ctx, tp_rdv *r, const char *host, const char *port);
dsmlp_status dsmlpR_tp_rdv_tcp_allgather(tp_rdv *r, dsmlp_ctx *ctx, const char *tag, const void *mine, size_t bytes,
                                  void *all);
void         dsmlpR_tp_rdv_tcp_close(tp_rdv *r);

typedef struct tp_rdv_frame {   /* header of every blob, host byte order */
    char     magic[8];          /* "DSMLPRV1"                            */
    uint32_t rank, size;
    uint64_t round;
    char     tag[TP_RDV_TAG_MAX];
    uint64_t bytes;
} tp_rdv_frame;

void         dsmlpR_tp_rdv_frame_init(tp_rdv_frame *f, int rank, int size, uint64_t round, const char *tag, size_t bytes);
/* Checks a peer's frame against ours; on a mismatch sets an error naming
** both sides. `where` names the transport's source ("file X", "rank 2's
** connection"). */
dsmlp_status dsmlpR_tp_rdv_frame_check(dsmlp_ctx *ctx, const tp_rdv_frame *mine, const tp_rdv_frame *got, int want_rank,
                                const char *where);

#endif
