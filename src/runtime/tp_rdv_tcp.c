/*
** tp_rdv_tcp.c — the TCP transport of the rendezvous (see tp_rdv.h).
**
** Rank 0 listens on PORT; every other rank connects to HOST:PORT (retrying
** until the timeout, since rank 0 may start last) and says hello with its
** rank and world size. Rank 0 refuses a wrong world size or a rank claimed
** twice, telling the offender why. An all-gather is: each rank sends its
** frame + blob to rank 0, rank 0 checks them against its own and sends the
** whole set back (or an error frame, which every rank reports).
*/
#define _GNU_SOURCE
#include "tp_rdv.h"
#include "clock.h"
#include "context.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define TAG_ALL "all"
#define TAG_ERROR "error"
#define TAG_WELCOME "welcome"

/* 1 ok, 0 closed by the peer, -1 error or deadline (errno ETIMEDOUT). */
static int io_all(int fd, void *p, size_t n, double deadline, int writing)
{
    char *c = p;
    while (n) {
        int ms = (int)((deadline - dsmlpB_seconds()) * 1000);
        if (ms <= 0) return errno = ETIMEDOUT, -1;
        struct pollfd pf = {fd, (short)(writing ? POLLOUT : POLLIN), 0};
        int pr = poll(&pf, 1, ms);
        if (pr < 0 && errno == EINTR) continue;
        if (pr < 0) return -1;
        if (pr == 0) return errno = ETIMEDOUT, -1;
        ssize_t k = writing ? send(fd, c, n, MSG_NOSIGNAL) : recv(fd, c, n, 0);
        if (k < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (k < 0) return errno == ECONNRESET || errno == EPIPE ? 0 : -1;
        if (k == 0) return 0;
        c += k, n -= (size_t)k;
    }
    return 1;
}

static dsmlp_status io_fail(tp_rdv *r, dsmlp_ctx *ctx, int rc, int peer, const char *what)
{
    if (rc == 0)
        return dsmlpB_err_set(ctx, DSMLP_ERR_STATE,
                       "tensor-parallel rendezvous %s: rank %d closed its connection during %s (did it exit or fail?)",
                       r->spec, peer, what);
    if (errno == ETIMEDOUT)
        return dsmlpB_err_set(ctx, DSMLP_ERR_STATE,
                       "tensor-parallel rendezvous %s: rank %d waited %.0f s for rank %d during %s: is every rank "
                       "running, with the same WORLD_SIZE and rendezvous?",
                       r->spec, r->rank, r->timeout_s, peer, what);
    return dsmlpB_err_set(ctx, DSMLP_ERR_IO, "tensor-parallel rendezvous %s: talking to rank %d during %s: %s", r->spec, peer,
                   what, strerror(errno));
}

static int send_frame(int fd, const tp_rdv_frame *f, const void *blob, double deadline)
{
    int rc = io_all(fd, (void *)f, sizeof *f, deadline, 1);
    if (rc == 1 && f->bytes) rc = io_all(fd, (void *)blob, (size_t)f->bytes, deadline, 1);
    return rc;
}

/* Rank 0 tells a peer why the group fails (best effort, short deadline). */
static void send_error(tp_rdv *r, int fd, const char *msg)
{
    tp_rdv_frame f;
    dsmlpR_tp_rdv_frame_init(&f, 0, r->size, r->round, TAG_ERROR, strlen(msg));
    send_frame(fd, &f, msg, dsmlpB_seconds() + 2);
}

static void tune_socket(int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* -------------------------------------------------------------- rank 0 */

static dsmlp_status root_listen(tp_rdv *r, dsmlp_ctx *ctx, const char *port)
{
    struct addrinfo hints = {.ai_flags = AI_PASSIVE, .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res;
    int gr = getaddrinfo(NULL, port, &hints, &res);
    if (gr != 0)
        return dsmlpB_err_set(ctx, DSMLP_ERR_IO, "tensor-parallel rendezvous %s: port %s: %s", r->spec, port,
                       gai_strerror(gr));
    int err = 0;
    /* IPv6 first: on Linux one dual-stack socket also takes IPv4 peers. */
    for (int pass = 0; pass < 2 && r->listen_fd < 0; pass++)
        for (struct addrinfo *a = res; a && r->listen_fd < 0; a = a->ai_next) {
            if ((a->ai_family == AF_INET6) != (pass == 0)) continue;
            int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
            if (fd < 0) { err = errno; continue; }
            int one = 1, zero = 0;
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
            if (a->ai_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
            if (bind(fd, a->ai_addr, a->ai_addrlen) == 0 && listen(fd, r->size + 8) == 0) r->listen_fd = fd;
            else err = errno, close(fd);
        }
    freeaddrinfo(res);
    if (r->listen_fd >= 0) return DSMLP_OK;
    if (err == EADDRINUSE)
        return dsmlpB_err_set(ctx, DSMLP_ERR_IO,
                       "tensor-parallel rendezvous %s: rank 0 cannot listen on port %s: it is in use (under torchrun "
                       "MASTER_PORT belongs to torch's own store: set DSMLP_TP_RENDEZVOUS=tcp://HOST:<free port> or "
                       "file:PATH)",
                       r->spec, port);
    return dsmlpB_err_set(ctx, DSMLP_ERR_IO, "tensor-parallel rendezvous %s: rank 0 cannot listen on port %s: %s", r->spec,
                   port, strerror(err));
}

static dsmlp_status root_fail(tp_rdv *r, dsmlp_ctx *ctx, dsmlp_status s, int offender)
{
    for (int j = 1; j < r->size; j++)
        if (r->fds[j] >= 0) send_error(r, r->fds[j], dsmlp_last_error(ctx));
    if (offender >= 0) send_error(r, offender, dsmlp_last_error(ctx));
    return s;
}

static dsmlp_status root_accept(tp_rdv *r, dsmlp_ctx *ctx)
{
    double deadline = dsmlpB_seconds() + r->timeout_s;
    tp_rdv_frame mine;
    dsmlpR_tp_rdv_frame_init(&mine, 0, r->size, 0, "join", 0);
    for (int joined = 1; joined < r->size;) {
        int ms = (int)((deadline - dsmlpB_seconds()) * 1000);
        struct pollfd pf = {r->listen_fd, POLLIN, 0};
        int pr = ms > 0 ? poll(&pf, 1, ms) : 0;
        if (pr < 0 && errno == EINTR) continue;
        if (pr <= 0) {
            char missing[256] = "";
            size_t n = 0;
            for (int j = 1; j < r->size && n + 12 < sizeof missing; j++)
                if (r->fds[j] < 0) n += (size_t)snprintf(missing + n, sizeof missing - n, "%s%d", n ? ", " : "", j);
            return root_fail(r, ctx,
                             dsmlpB_err_set(ctx, DSMLP_ERR_STATE,
                                     "tensor-parallel rendezvous %s: rank 0 waited %.0f s; rank%s %s never connected "
                                     "(are they running, with the same WORLD_SIZE and rendezvous?)",
                                     r->spec, r->timeout_s, r->size - joined > 1 ? "s" : "", missing),
                             -1);
        }
        int fd = accept4(r->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) continue;
        tune_socket(fd);
        tp_rdv_frame got;
        /* A stranger that sends nothing must not hold the group up long. */
        double hello_by = dsmlpB_seconds() + 10 < deadline ? dsmlpB_seconds() + 10 : deadline;
        if (io_all(fd, &got, sizeof got, hello_by, 0) != 1) {
            close(fd);
            continue;
        }
        int j = (int)got.rank;
        dsmlp_status s;
        if (j <= 0 || j >= r->size) {
            s = dsmlpR_tp_rdv_frame_check(ctx, &mine, &got, 1, "a hello");   /* names a size mismatch first */
            if (s == DSMLP_OK)
                s = dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG,
                            "tensor-parallel rendezvous %s: a process says it is rank %d, outside [1, %d)", r->spec,
                            j, r->size);
        } else if (r->fds[j] >= 0) {
            s = dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG,
                        "tensor-parallel rendezvous %s: two processes claim rank %d (check RANK)", r->spec, j);
        } else {
            char where[64];
            snprintf(where, sizeof where, "rank %d's hello", j);
            s = dsmlpR_tp_rdv_frame_check(ctx, &mine, &got, j, where);
        }
        if (s != DSMLP_OK) {
            root_fail(r, ctx, s, fd);
            close(fd);
            return s;
        }
        r->fds[j] = fd;
        joined++;
    }
    tp_rdv_frame w;
    dsmlpR_tp_rdv_frame_init(&w, 0, r->size, 0, TAG_WELCOME, 0);
    for (int j = 1; j < r->size; j++) {
        int rc = send_frame(r->fds[j], &w, NULL, deadline);
        if (rc != 1) return io_fail(r, ctx, rc, j, "the welcome");
    }
    return DSMLP_OK;
}

/* ------------------------------------------------------------ the others */

/* Reads rank 0's answer: `want` frames carry blob (bytes), error frames a message. */
static dsmlp_status read_reply(tp_rdv *r, dsmlp_ctx *ctx, const char *want, void *blob, size_t bytes,
                               double deadline, const char *what)
{
    tp_rdv_frame got;
    int rc = io_all(r->fds[0], &got, sizeof got, deadline, 0);
    if (rc != 1) return io_fail(r, ctx, rc, 0, what);
    if (!strncmp(got.tag, TAG_ERROR, sizeof got.tag)) {
        char msg[2048];
        size_t n = got.bytes < sizeof msg - 1 ? (size_t)got.bytes : sizeof msg - 1;
        if (io_all(r->fds[0], msg, n, deadline, 0) != 1) n = 0;
        msg[n] = 0;
        return dsmlpB_err_set(ctx, DSMLP_ERR_STATE, "tensor-parallel rendezvous %s: rank 0 reports: %s", r->spec,
                       n ? msg : "(no message)");
    }
    if (strncmp(got.tag, want, sizeof got.tag) || got.bytes != bytes)
        return dsmlpB_err_set(ctx, DSMLP_ERR_CORRUPT,
                       "tensor-parallel rendezvous %s: unexpected answer from rank 0 during %s ('%.31s', %llu bytes)",
                       r->spec, what, got.tag, (unsigned long long)got.bytes);
    if (bytes && (rc = io_all(r->fds[0], blob, bytes, deadline, 0)) != 1) return io_fail(r, ctx, rc, 0, what);
    return DSMLP_OK;
}

static dsmlp_status peer_connect(tp_rdv *r, dsmlp_ctx *ctx, const char *host, const char *port)
{
    double deadline = dsmlpB_seconds() + r->timeout_s, wait_ms = 20;
    int err = 0, gai = 0;
    while (r->fds[0] < 0) {
        struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
        if ((gai = getaddrinfo(host, port, &hints, &res)) == 0) {
            for (struct addrinfo *a = res; a && r->fds[0] < 0; a = a->ai_next) {
                int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
                if (fd < 0) { err = errno; continue; }
                if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) r->fds[0] = fd;
                else err = errno, close(fd);
            }
            freeaddrinfo(res);
        }
        if (r->fds[0] >= 0) break;
        if (dsmlpB_seconds() + wait_ms / 1000 > deadline) {
            if (gai)
                return dsmlpB_err_set(ctx, DSMLP_ERR_IO, "tensor-parallel rendezvous %s: cannot resolve %s: %s", r->spec,
                               host, gai_strerror(gai));
            return dsmlpB_err_set(ctx, DSMLP_ERR_STATE,
                           "tensor-parallel rendezvous %s: rank %d could not reach rank 0 at %s:%s for %.0f s (%s): "
                           "is rank 0 running, and MASTER_ADDR/MASTER_PORT right?",
                           r->spec, r->rank, host, port, r->timeout_s, strerror(err));
        }
        struct timespec ts = {0, (long)(wait_ms * 1e6)};
        nanosleep(&ts, NULL);
        if (wait_ms < 200) wait_ms *= 2;
    }
    tune_socket(r->fds[0]);
    tp_rdv_frame hello;
    dsmlpR_tp_rdv_frame_init(&hello, r->rank, r->size, 0, "join", 0);
    int rc = send_frame(r->fds[0], &hello, NULL, deadline);
    if (rc != 1) return io_fail(r, ctx, rc, 0, "the hello");
    return read_reply(r, ctx, TAG_WELCOME, NULL, 0, deadline, "the hello");
}

/* ---------------------------------------------------------------- API */

dsmlp_status dsmlpR_tp_rdv_tcp_open(dsmlp_ctx *ctx, tp_rdv *r, const char *host, const char *port)
{
    int nfds = r->rank == 0 ? r->size : 1;
    if (!(r->fds = malloc(sizeof *r->fds * (size_t)nfds)))
        return dsmlpB_err_set(ctx, DSMLP_ERR_NOMEM, "tensor-parallel rendezvous: out of host memory");
    for (int j = 0; j < nfds; j++) r->fds[j] = -1;
    dsmlp_status s = DSMLP_OK;
    if (r->rank == 0 && r->size > 1) {
        if ((s = root_listen(r, ctx, port)) == DSMLP_OK) s = root_accept(r, ctx);
        if (r->listen_fd >= 0) close(r->listen_fd), r->listen_fd = -1;   /* nobody else may join later */
    } else if (r->rank > 0) {
        s = peer_connect(r, ctx, host, port);
    }
    if (s != DSMLP_OK) return s;
    r->round = 1;
    r->joined = 1;
    return DSMLP_OK;
}

dsmlp_status dsmlpR_tp_rdv_tcp_allgather(tp_rdv *r, dsmlp_ctx *ctx, const char *tag, const void *mine, size_t bytes,
                                  void *all)
{
    tp_rdv_frame f;
    dsmlpR_tp_rdv_frame_init(&f, r->rank, r->size, r->round, tag, bytes);
    double deadline = dsmlpB_seconds() + r->timeout_s;
    char what[96];
    snprintf(what, sizeof what, "exchange '%s'", f.tag);
    if (bytes) memcpy((char *)all + (size_t)r->rank * bytes, mine, bytes);
    if (r->size == 1) return DSMLP_OK;
    size_t total = bytes * (size_t)r->size;
    if (r->rank != 0) {
        int rc = send_frame(r->fds[0], &f, mine, deadline);
        if (rc != 1) return io_fail(r, ctx, rc, 0, what);
        return read_reply(r, ctx, TAG_ALL, all, total, deadline, what);
    }
    for (int j = 1; j < r->size; j++) {
        tp_rdv_frame got;
        int rc = io_all(r->fds[j], &got, sizeof got, deadline, 0);
        if (rc != 1) return root_fail(r, ctx, io_fail(r, ctx, rc, j, what), -1);
        char where[64];
        snprintf(where, sizeof where, "rank %d's message", j);
        dsmlp_status s = dsmlpR_tp_rdv_frame_check(ctx, &f, &got, j, where);
        if (s != DSMLP_OK) return root_fail(r, ctx, s, -1);
        if (bytes && (rc = io_all(r->fds[j], (char *)all + (size_t)j * bytes, bytes, deadline, 0)) != 1)
            return root_fail(r, ctx, io_fail(r, ctx, rc, j, what), -1);
    }
    tp_rdv_frame out;
    dsmlpR_tp_rdv_frame_init(&out, 0, r->size, r->round, TAG_ALL, total);
    for (int j = 1; j < r->size; j++) {
        int rc = send_frame(r->fds[j], &out, all, deadline);
        if (rc != 1) return io_fail(r, ctx, rc, j, what);
    }
    return DSMLP_OK;
}

void dsmlpR_tp_rdv_tcp_close(tp_rdv *r)
{
    if (r->listen_fd >= 0) close(r->listen_fd);
    int nfds = r->rank == 0 ? r->size : 1;
    for (int j = 0; r->fds && j < nfds; j++)
        if (r->fds[j] >= 0) close(r->fds[j]);
}
