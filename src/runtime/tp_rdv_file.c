/*
** tp_rdv_file.c — the file transport of the rendezvous (see tp_rdv.h).
**
** Exchange k of rank j is the file PATH.<k>.<j>: frame + blob, written to a
** private temporary file and published with link(), which fails when the
** name exists — so a rank claimed twice, or files an earlier run left, give
** an error instead of a silent mix-up. A rank that has read every file of
** exchange k knows that all ranks finished reading exchange k-1 (each wrote
** its k-th file after reading them), so it removes its own file of k-1.
** Leaving is one more exchange; then rank 0 waits for every other rank's
** PATH.done.<j> marker and removes the last files.
**
** A rank whose exchange fails writes its message to PATH.err.<rank> and
** takes its files back; ranks waiting for it find that file and fail with
** its message instead of timing out. Error files outlive the run (nobody
** knows when all have read them); one older than the reader's own start is
** stale and ignored, and a rank removes its own stale one when it joins.
*/
#define _GNU_SOURCE
#include "tp_rdv.h"
#include "clock.h"
#include "context.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void round_path(const tp_rdv *r, char *buf, size_t cap, uint64_t round, int rank)
{
    snprintf(buf, cap, "%s.%llu.%d", r->path, (unsigned long long)round, rank);
}

static void err_path(const tp_rdv *r, char *buf, size_t cap, int rank)
{
    snprintf(buf, cap, "%s.err.%d", r->path, rank);
}

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Tells the others why this rank stops (best effort). */
static void write_err(tp_rdv *r, const char *msg)
{
    char path[4096], tmp[4200];
    err_path(r, path, sizeof path, r->rank);
    snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f) return;
    fputs(msg, f);
    if (fclose(f) == 0) rename(tmp, path);
    else unlink(tmp);
}

/* Rank j's error message if it wrote one during this run. */
static int read_err(const tp_rdv *r, int j, char *msg, size_t cap)
{
    char path[4096];
    struct stat st;
    err_path(r, path, sizeof path, j);
    if (stat(path, &st) != 0) return 0;
    double mtime = (double)st.st_mtim.tv_sec + 1e-9 * (double)st.st_mtim.tv_nsec;
    if (mtime < r->opened_at - 2) return 0;   /* an earlier run's (2 s of clock skew allowed) */
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    size_t n = fread(msg, 1, cap - 1, f);
    fclose(f);
    msg[n] = 0;
    return 1;
}

static void pause_ms(double ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)((ms - 1000 * (double)(time_t)(ms / 1000)) * 1e6)};
    nanosleep(&ts, NULL);
}

static int write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return 0;
        c += w, n -= (size_t)w;
    }
    return 1;
}

static int read_all(int fd, void *p, size_t n)
{
    char *c = p;
    while (n) {
        ssize_t g = read(fd, c, n);
        if (g < 0 && errno == EINTR) continue;
        if (g <= 0) return 0;
        c += g, n -= (size_t)g;
    }
    return 1;
}

static dsmlp_status publish(tp_rdv *r, dsmlp_ctx *ctx, const tp_rdv_frame *f, const void *blob)
{
    char final[4096], tmp[4200];
    round_path(r, final, sizeof final, f->round, r->rank);
    snprintf(tmp, sizeof tmp, "%s.tmp%ld", final, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return dsmlpB_err_set(ctx, DSMLP_ERR_IO, "tensor-parallel rendezvous %s: cannot create %s: %s", r->spec, tmp,
                       strerror(errno));
    int ok = write_all(fd, f, sizeof *f) && (!f->bytes || write_all(fd, blob, (size_t)f->bytes));
    int err = errno;
    if (close(fd) != 0 && ok) ok = 0, err = errno;
    if (!ok) {
        unlink(tmp);
        return dsmlpB_err_set(ctx, DSMLP_ERR_IO, "tensor-parallel rendezvous %s: cannot write %s: %s", r->spec, tmp,
                       strerror(err));
    }
    int linked = link(tmp, final);
    err = errno;
    unlink(tmp);
    if (linked != 0 && err == EEXIST)
        return dsmlpB_err_set(ctx, DSMLP_ERR_STATE,
                       "tensor-parallel rendezvous %s: %s already exists: another process claims rank %d (check "
                       "RANK), or an earlier run left its files (remove %s.*, or use a fresh path per job)",
                       r->spec, final, r->rank, r->path);
    if (linked != 0)
        return dsmlpB_err_set(ctx, DSMLP_ERR_IO, "tensor-parallel rendezvous %s: cannot publish %s: %s", r->spec, final,
                       strerror(err));
    r->published = 1;
    return DSMLP_OK;
}

/* Waits for rank j's file of this exchange and reads it into blob. */
static dsmlp_status fetch(tp_rdv *r, dsmlp_ctx *ctx, const tp_rdv_frame *mine, int j, void *blob, double deadline)
{
    char path[4096];
    round_path(r, path, sizeof path, mine->round, j);
    double wait = 0.5;
    int fd;
    while ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        if (errno != ENOENT)
            return dsmlpB_err_set(ctx, DSMLP_ERR_IO, "tensor-parallel rendezvous %s: cannot open %s: %s", r->spec, path,
                           strerror(errno));
        char msg[2048];
        if (read_err(r, j, msg, sizeof msg))
            return dsmlpB_err_set(ctx, DSMLP_ERR_STATE, "tensor-parallel rendezvous %s: rank %d failed: %s", r->spec, j, msg);
        if (dsmlpB_seconds() > deadline)
            return dsmlpB_err_set(ctx, DSMLP_ERR_STATE,
                           "tensor-parallel rendezvous %s: rank %d of %d waited %.0f s for rank %d (%s) at exchange "
                           "'%s': is every rank running, with the same WORLD_SIZE and rendezvous?",
                           r->spec, r->rank, r->size, r->timeout_s, j, path, mine->tag);
        pause_ms(wait);
        if (wait < 20) wait *= 2;
    }
    tp_rdv_frame got;
    dsmlp_status s = DSMLP_OK;
    char where[4200];
    snprintf(where, sizeof where, "file %s", path);
    if (!read_all(fd, &got, sizeof got))
        s = dsmlpB_err_set(ctx, DSMLP_ERR_CORRUPT, "tensor-parallel rendezvous %s: %s is truncated", r->spec, path);
    else if ((s = dsmlpR_tp_rdv_frame_check(ctx, mine, &got, j, where)) == DSMLP_OK && mine->bytes &&
             !read_all(fd, blob, (size_t)mine->bytes))
        s = dsmlpB_err_set(ctx, DSMLP_ERR_CORRUPT, "tensor-parallel rendezvous %s: %s is truncated", r->spec, path);
    close(fd);
    return s;
}

static dsmlp_status exchange(tp_rdv *r, dsmlp_ctx *ctx, const char *tag, const void *mine, size_t bytes, void *all)
{
    tp_rdv_frame f;
    dsmlpR_tp_rdv_frame_init(&f, r->rank, r->size, r->round, tag, bytes);
    dsmlp_status s = publish(r, ctx, &f, mine);
    if (s != DSMLP_OK) return s;
    if (bytes) memcpy((char *)all + (size_t)r->rank * bytes, mine, bytes);
    double deadline = dsmlpB_seconds() + r->timeout_s;
    for (int j = 0; j < r->size; j++)
        if (j != r->rank && (s = fetch(r, ctx, &f, j, (char *)all + (size_t)j * bytes, deadline)) != DSMLP_OK)
            return s;
    if (r->round > 0) {   /* every rank has read exchange round-1: drop ours */
        char old[4096];
        round_path(r, old, sizeof old, r->round - 1, r->rank);
        unlink(old);
    }
    return DSMLP_OK;
}

dsmlp_status dsmlpR_tp_rdv_file_allgather(tp_rdv *r, dsmlp_ctx *ctx, const char *tag, const void *mine, size_t bytes,
                                   void *all)
{
    dsmlp_status s = exchange(r, ctx, tag, mine, bytes, all);
    if (s != DSMLP_OK && !r->failed) {
        r->failed = 1;
        write_err(r, ctx ? dsmlp_last_error(ctx) : "an exchange failed");
    }
    return s;
}

dsmlp_status dsmlpR_tp_rdv_file_open(dsmlp_ctx *ctx, tp_rdv *r)
{
    char path[4096];
    err_path(r, path, sizeof path, r->rank);
    unlink(path);   /* ours, from an earlier run */
    r->opened_at = wall_now();
    dsmlp_status s = dsmlpR_tp_rdv_file_allgather(r, ctx, "join", NULL, 0, NULL);
    if (s != DSMLP_OK) return s;
    r->round++;
    r->joined = 1;
    return DSMLP_OK;
}

void dsmlpR_tp_rdv_file_close(tp_rdv *r)
{
    char path[4096];
    if (!r->joined) {   /* a failed join: take back what we published (never another's) */
        round_path(r, path, sizeof path, 0, r->rank);
        if (r->published) unlink(path);
        return;
    }
    if (r->failed) {   /* the others learn it from our err file: just take our files back */
        round_path(r, path, sizeof path, r->round, r->rank);
        unlink(path);
        if (r->round) round_path(r, path, sizeof path, r->round - 1, r->rank), unlink(path);
        return;
    }
    double t = r->timeout_s < 30 ? r->timeout_s : 30;
    r->timeout_s = t;
    uint64_t last = r->round;
    if (dsmlpR_tp_rdv_file_allgather(r, NULL, "leave", NULL, 0, NULL) != DSMLP_OK) {
        /* A rank is gone: remove what is ours and stop. */
        round_path(r, path, sizeof path, last, r->rank);
        unlink(path);
        if (last) round_path(r, path, sizeof path, last - 1, r->rank), unlink(path);
        return;
    }
    if (r->rank != 0) {   /* rank 0 removes the 'leave' files once we have read them all */
        snprintf(path, sizeof path, "%s.done.%d", r->path, r->rank);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd >= 0) close(fd);
        return;
    }
    double deadline = dsmlpB_seconds() + t, wait = 0.5;
    for (int j = 1; j < r->size; j++) {
        snprintf(path, sizeof path, "%s.done.%d", r->path, j);
        while (access(path, F_OK) != 0 && dsmlpB_seconds() < deadline) {
            pause_ms(wait);
            if (wait < 20) wait *= 2;
        }
        unlink(path);
    }
    for (int j = 0; j < r->size; j++) round_path(r, path, sizeof path, last, j), unlink(path);
}
