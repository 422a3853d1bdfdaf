/*
** test_tp_rendezvous.c — the tensor-parallel rendezvous with real processes
** (file and TCP on loopback): several processes join, all-gather blobs
** in several rounds, leave no files; and every way it can go wrong gives a
** message that names the problem (world size, rank claimed twice, a rank
** that never comes, ranks out of step, bad specs, unusable paths and ports).
** Also: the launcher environment (dsmlp_tp_options_from_env), option
** checks, groups failing together without a GPU, and the all-reduce kernel
** compiling with NVRTC for each dtype. No GPU needed.
*/
#define _GNU_SOURCE
#include <dirent.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"
#include "runtime/nvrtc.h"
#include "runtime/tp.h"

/* ------------------------------------------------------ child processes */

typedef struct child {
    pid_t pid;
    int   fd;
    char  out[4096];
    int   rc;
} child;

/* What one child does: rank, size, spec; returns its exit code and writes a
** line to fd 1. */
typedef int (*child_fn)(int rank, int size, const char *spec, double timeout, void *arg);

static void spawn(child *c, child_fn fn, int rank, int size, const char *spec, double timeout, void *arg)
{
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    fflush(stdout);
    fflush(stderr);
    c->pid = fork();
    ck_assert_int_ge(c->pid, 0);
    if (c->pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        alarm(60);   /* a hang is a failure, not a stuck suite */
        int rc = fn(rank, size, spec, timeout, arg);
        fflush(stdout);
        _exit(rc);
    }
    close(fds[1]);
    c->fd = fds[0];
}

static void reap(child *c)
{
    size_t used = 0;
    ssize_t r;
    while (used + 1 < sizeof c->out && (r = read(c->fd, c->out + used, sizeof c->out - 1 - used)) > 0)
        used += (size_t)r;
    c->out[used] = 0;
    close(c->fd);
    int ws;
    ck_assert_int_eq(waitpid(c->pid, &ws, 0), c->pid);
    c->rc = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
}

/* Joins, runs three all-gathers of rank-specific blobs of different sizes,
** checks every rank's part, leaves. */
static int child_roundtrip(int rank, int size, const char *spec, double timeout, void *arg)
{
    (void)arg;
    dsmlp_ctx *ctx;
    if (dsmlp_ctx_create(&ctx) != DSMLP_OK) return 3;
    tp_rdv *r;
    if (dsmlpR_tp_rdv_open(ctx, spec, rank, size, timeout, &r) != DSMLP_OK) {
        printf("open: %s\n", dsmlp_last_error(ctx));
        return 1;
    }
    static const size_t sizes[] = {8, 1, 70000};
    for (int round = 0; round < 3; round++) {
        size_t n = sizes[round];
        unsigned char *mine = malloc(n), *all = malloc(n * (size_t)size);
        for (size_t i = 0; i < n; i++) mine[i] = (unsigned char)(rank * 31 + round * 7 + i);
        char tag[16];
        snprintf(tag, sizeof tag, "round%d", round);
        if (dsmlpR_tp_rdv_allgather(r, ctx, tag, mine, n, all) != DSMLP_OK) {
            printf("allgather %d: %s\n", round, dsmlp_last_error(ctx));
            return 1;
        }
        for (int j = 0; j < size; j++)
            for (size_t i = 0; i < n; i++)
                if (all[(size_t)j * n + i] != (unsigned char)(j * 31 + round * 7 + i)) {
                    printf("round %d: rank %d's byte %zu is wrong\n", round, j, i);
                    return 1;
                }
        free(mine);
        free(all);
    }
    dsmlpR_tp_rdv_close(r);
    dsmlp_ctx_free(ctx);
    printf("ok rank %d\n", rank);
    return 0;
}

/* Joins and makes one exchange tagged by arg (a string); prints the error. */
static int child_tagged(int rank, int size, const char *spec, double timeout, void *arg)
{
    dsmlp_ctx *ctx;
    if (dsmlp_ctx_create(&ctx) != DSMLP_OK) return 3;
    tp_rdv *r;
    dsmlp_status s = dsmlpR_tp_rdv_open(ctx, spec, rank, size, timeout, &r);
    if (s == DSMLP_OK) {
        int x = rank;
        int all[16];
        s = dsmlpR_tp_rdv_allgather(r, ctx, arg ? (const char *)arg : "same", &x, sizeof x, all);
        dsmlpR_tp_rdv_close(r);
    }
    printf("%s %s\n", s == DSMLP_OK ? "ok" : "error:", s == DSMLP_OK ? "" : dsmlp_last_error(ctx));
    dsmlp_ctx_free(ctx);
    return s == DSMLP_OK ? 0 : 1;
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static char *tcp_spec(void)
{
    static char buf[64];
    snprintf(buf, sizeof buf, "tcp://127.0.0.1:%d", free_port());
    return buf;
}

/* Files in dir, not counting error reports (PATH.err.<rank>, which a
** failed rank leaves on purpose). */
static int dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && !strstr(e->d_name, ".err.")) n++;
    closedir(d);
    return n;
}

static void roundtrip(const char *spec, int P)
{
    child c[8];
    for (int r = 0; r < P; r++) spawn(&c[r], child_roundtrip, P - 1 - r, P, spec, 30, NULL);   /* rank 0 starts last */
    for (int r = 0; r < P; r++) {
        reap(&c[r]);
        ck_assert_msg(c[r].rc == 0, "rank %d exited %d: %s", P - 1 - r, c[r].rc, c[r].out);
        ck_assert_ptr_nonnull(strstr(c[r].out, "ok rank"));
    }
}

/* ------------------------------------------------------------ the tests */

START_TEST(file_four_processes)
{
    char *dir = tu_tmpdir("tp-file");
    char spec[4200];
    snprintf(spec, sizeof spec, "file:%s/rdv", dir);
    roundtrip(spec, 4);
    ck_assert_msg(dir_entries(dir) == 0, "the file rendezvous left %d files in %s", dir_entries(dir), dir);
    snprintf(spec, sizeof spec, "file://%s/rdv2", dir);   /* the URL form, and a second group in one place */
    roundtrip(spec, 3);
    ck_assert_int_eq(dir_entries(dir), 0);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(tcp_four_processes)
{
    roundtrip(tcp_spec(), 4);
    roundtrip(tcp_spec(), 2);
    char spec[64];   /* localhost may resolve to ::1 first: the connect side tries every address */
    snprintf(spec, sizeof spec, "tcp://localhost:%d", free_port());
    roundtrip(spec, 3);
}
END_TEST

START_TEST(one_rank_needs_nobody)
{
    char *dir = tu_tmpdir("tp-one");
    char spec[4200];
    snprintf(spec, sizeof spec, "file:%s/rdv", dir);
    roundtrip(spec, 1);
    roundtrip(tcp_spec(), 1);
    ck_assert_int_eq(dir_entries(dir), 0);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* Ranks that disagree on WORLD_SIZE: both sides say so. */
static void size_mismatch(const char *spec)
{
    child a, b;
    spawn(&a, child_tagged, 0, 2, spec, 10, NULL);
    spawn(&b, child_tagged, 1, 3, spec, 10, NULL);
    reap(&a);
    reap(&b);
    ck_assert_msg(a.rc == 1 && strstr(a.out, "inconsistent WORLD_SIZE"), "rank 0: %s", a.out);
    ck_assert_msg(b.rc == 1 && strstr(b.out, "inconsistent WORLD_SIZE"), "rank 1: %s", b.out);
}

START_TEST(world_size_mismatch)
{
    char *dir = tu_tmpdir("tp-size");
    char spec[4200];
    snprintf(spec, sizeof spec, "file:%s/rdv", dir);
    size_mismatch(spec);
    size_mismatch(tcp_spec());
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(rank_claimed_twice)
{
    char *dir = tu_tmpdir("tp-dup");
    char spec[4200];
    snprintf(spec, sizeof spec, "file:%s/rdv", dir);
    child c[3];
    spawn(&c[0], child_tagged, 1, 2, spec, 3, NULL);
    usleep(200000);   /* the first rank 1 publishes first */
    spawn(&c[1], child_tagged, 1, 2, spec, 3, NULL);
    reap(&c[1]);
    ck_assert_msg(c[1].rc == 1 && strstr(c[1].out, "another process claims rank 1"), "%s", c[1].out);
    reap(&c[0]);   /* times out waiting for rank 0: also an error, no hang */
    ck_assert_msg(c[0].rc == 1 && strstr(c[0].out, "waited 3 s for rank 0"), "%s", c[0].out);

    const char *tcp = tcp_spec();
    spawn(&c[0], child_tagged, 0, 3, tcp, 10, NULL);
    spawn(&c[1], child_tagged, 1, 3, tcp, 10, NULL);
    usleep(300000);
    spawn(&c[2], child_tagged, 1, 3, tcp, 10, NULL);
    for (int i = 0; i < 3; i++) reap(&c[i]);
    ck_assert_msg(c[0].rc == 1 && strstr(c[0].out, "two processes claim rank 1"), "%s", c[0].out);
    ck_assert_msg(strstr(c[1].out, "claim rank 1") || strstr(c[2].out, "claim rank 1"), "%s | %s", c[1].out,
                  c[2].out);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(missing_rank_times_out)
{
    char *dir = tu_tmpdir("tp-miss");
    char spec[4200];
    snprintf(spec, sizeof spec, "file:%s/rdv", dir);
    child c;
    spawn(&c, child_tagged, 0, 2, spec, 1, NULL);
    reap(&c);
    ck_assert_msg(c.rc == 1 && strstr(c.out, "waited 1 s for rank 1"), "%s", c.out);
    ck_assert_msg(dir_entries(dir) == 0, "a failed join left files");
    char err[4200];
    snprintf(err, sizeof err, "%s/rdv.err.0", dir);
    ck_assert_msg(access(err, F_OK) == 0, "no error report %s", err);
    const char *tcp = tcp_spec();
    spawn(&c, child_tagged, 0, 3, tcp, 1, NULL);
    reap(&c);
    ck_assert_msg(c.rc == 1 && strstr(c.out, "ranks 1, 2 never connected"), "%s", c.out);
    spawn(&c, child_tagged, 2, 3, tcp, 1, NULL);   /* nobody listens */
    reap(&c);
    ck_assert_msg(c.rc == 1 && strstr(c.out, "could not reach rank 0"), "%s", c.out);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(ranks_out_of_step)
{
    char *dir = tu_tmpdir("tp-step");
    char spec[4200];
    snprintf(spec, sizeof spec, "file:%s/rdv", dir);
    for (int t = 0; t < 2; t++) {
        const char *sp = t ? tcp_spec() : spec;
        child a, b;
        spawn(&a, child_tagged, 0, 2, sp, 10, "attach");
        spawn(&b, child_tagged, 1, 2, sp, 10, "barrier");
        reap(&a);
        reap(&b);
        ck_assert_msg(a.rc == 1 && strstr(a.out, "ranks out of step") && strstr(a.out, "'attach'") &&
                          strstr(a.out, "'barrier'"),
                      "rank 0: %s", a.out);
        ck_assert_msg(b.rc == 1 && (strstr(b.out, "out of step") || strstr(b.out, "rank 0 reports")), "rank 1: %s",
                      b.out);
    }
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(bad_specs_and_places)
{
    dsmlp_ctx *ctx = tu_ctx();
    tp_rdv *r = (tp_rdv *)1;
    static const struct { const char *spec, *msg; } bad[] = {
        {"", "none given"},
        {"nfs:/x", "neither file:PATH nor tcp://HOST:PORT"},
        {"file:", "no file path"},
        {"tcp://host", "expected tcp://HOST:PORT"},
        {"tcp://host:0", "port in [1, 65535]"},
        {"tcp://host:70000", "port in [1, 65535]"},
        {"tcp://:123", "expected tcp://HOST:PORT"},
        {"tcp://[::1:5", "expected tcp://HOST:PORT"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        TU_CHECK(ctx, dsmlpR_tp_rdv_open(ctx, bad[i].spec, 0, 2, 1, &r), bad[i].spec[0] ? DSMLP_ERR_INVALID_ARG
                                                                                     : DSMLP_ERR_INVALID_ARG);
        ck_assert_ptr_null(r);
        TU_MSG_HAS(ctx, bad[i].msg);
    }
    TU_CHECK(ctx, dsmlpR_tp_rdv_open(ctx, "file:/x", 2, 2, 1, &r), DSMLP_ERR_INVALID_ARG);
    TU_MSG_HAS(ctx, "rank 2 is outside [0, 2)");
    /* A directory that does not exist, and one we may not write. */
    TU_CHECK(ctx, dsmlpR_tp_rdv_open(ctx, "file:/nonexistent-dsmlp-dir/rdv", 0, 2, 1, &r), DSMLP_ERR_IO);
    TU_MSG_HAS(ctx, "cannot create");
    if (geteuid() != 0) {
        char *dir = tu_tmpdir("tp-ro");
        chmod(dir, 0500);
        char spec[4200];
        snprintf(spec, sizeof spec, "file:%s/rdv", dir);
        TU_CHECK(ctx, dsmlpR_tp_rdv_open(ctx, spec, 0, 2, 1, &r), DSMLP_ERR_IO);
        TU_MSG_HAS(ctx, "Permission denied");
        chmod(dir, 0700);
        tu_rmtree(dir);
        free(dir);
    }
    /* Rank 0 cannot listen on a port somebody holds. */
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    int zero = 0, port = free_port();
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port), .sin6_addr = in6addr_any};
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(listen(fd, 1), 0);
    char spec[64];
    snprintf(spec, sizeof spec, "tcp://127.0.0.1:%d", port);
    TU_CHECK(ctx, dsmlpR_tp_rdv_open(ctx, spec, 0, 2, 1, &r), DSMLP_ERR_IO);
    TU_MSG_HAS(ctx, "it is in use (under torchrun");
    close(fd);
    dsmlp_ctx_free(ctx);
}
END_TEST

/* ------------------------------------------------------- environment */

static const char *const tp_vars[] = {
    "RANK", "WORLD_SIZE", "LOCAL_RANK", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE",
    "OMPI_COMM_WORLD_LOCAL_RANK", "SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID", "MASTER_ADDR", "MASTER_PORT",
    "DSMLP_TP_RENDEZVOUS", "DSMLP_TP_DEVICE", "DSMLP_TP_TIMEOUT", "DSMLP_TP_NCCL", "DSMLP_TP_CUSTOM",
    "DSMLP_TP_CUSTOM_MAX_BYTES", "DSMLP_TP_TWO_SHOT_MIN_BYTES", "DSMLP_TP_OVERLAP_CHUNKS",
    "DSMLP_TP_OVERLAP_MIN_TOKENS",
};

static void env_clear(void)
{
    for (size_t i = 0; i < sizeof tp_vars / sizeof *tp_vars; i++) unsetenv(tp_vars[i]);
}

/* Sets "NAME=VALUE" pairs (NULL-terminated), parses, expects `want`; when it
** fails the message must contain msg and o must be unchanged. */
static void env_case(dsmlp_ctx *ctx, dsmlp_tp_options *o, dsmlp_status want, const char *msg, ...)
{
    env_clear();
    va_list ap;
    va_start(ap, msg);
    for (const char *kv; (kv = va_arg(ap, const char *));) {
        char name[64];
        const char *eq = strchr(kv, '=');
        snprintf(name, sizeof name, "%.*s", (int)(eq - kv), kv);
        setenv(name, eq + 1, 1);
    }
    va_end(ap);
    dsmlp_tp_options_default(o);
    dsmlp_tp_options before = *o;
    TU_CHECK(ctx, dsmlp_tp_options_from_env(ctx, o), want);
    if (want != DSMLP_OK) {
        TU_MSG_HAS(ctx, msg);
        ck_assert_msg(!memcmp(&before, o, sizeof before), "a failed parse changed the options");
    }
}

START_TEST(launcher_environment)
{
    dsmlp_ctx *ctx = tu_ctx();
    dsmlp_tp_options o;
    env_case(ctx, &o, DSMLP_ERR_INVALID_ARG, "RANK and WORLD_SIZE are not set", NULL);
    env_case(ctx, &o, DSMLP_ERR_INVALID_ARG, "RANK is set but WORLD_SIZE is not", "RANK=0", NULL);
    env_case(ctx, &o, DSMLP_ERR_INVALID_ARG, "WORLD_SIZE is set but RANK is not", "WORLD_SIZE=2", NULL);
    env_case(ctx, &o, DSMLP_ERR_INVALID_ARG, "LOCAL_RANK is set but RANK and WORLD_SIZE are not", "LOCAL_RANK=0",
             NULL);
    env_case(ctx, &o, DSMLP_ERR_INVALID_ARG, "RANK=2 is not below WORLD_SIZE=2", "RANK=2", "WORLD_SIZE=2", NULL);
    env_case(ctx, &o, DSMLP_ERR_INVALID_ARG, "RANK=x: expected an integer", "RANK=x", "WORLD_SIZE=2", NULL);
    env_case(ctx, &o, DSMLP_ERR_INVALID_ARG, "WORLD_SIZE=0: expected an integer in [1,", "RANK=0", "WORLD_SIZE=0",
             NULL);
    env_case(ctx, &o, DSMLP_ERR_INVALID_ARG, "LOCAL_RANK=2 is not below WORLD_SIZE=2", "RANK=1", "WORLD_SIZE=2",
             "LOCAL_RANK=2", NULL);
    env_case(ctx, &o, DSMLP_ERR_INVALID_ARG, "LOCAL_RANK=1 is above RANK=0", "RANK=0", "WORLD_SIZE=2",
             "LOCAL_RANK=1", NULL);
    env_case(ctx, &o, DSMLP_ERR_INVALID_ARG, "no rendezvous", "RANK=0", "WORLD_SIZE=2", "LOCAL_RANK=0", NULL);
    env_case(ctx, &o, DSMLP_ERR_INVALID_ARG, "MASTER_ADDR is set but MASTER_PORT is not", "RANK=0", "WORLD_SIZE=2",
             "LOCAL_RANK=0", "MASTER_ADDR=10.0.0.1", NULL);
    env_case(ctx, &o, DSMLP_ERR_INVALID_ARG, "which GPU?", "RANK=0", "WORLD_SIZE=2", "MASTER_ADDR=h",
             "MASTER_PORT=1", NULL);
    env_case(ctx, &o, DSMLP_ERR_INVALID_ARG, "DSMLP_TP_CUSTOM=maybe: expected auto, on or off", "RANK=0",
             "WORLD_SIZE=1", "DSMLP_TP_CUSTOM=maybe", NULL);
    env_case(ctx, &o, DSMLP_ERR_INVALID_ARG, "DSMLP_TP_CUSTOM_MAX_BYTES=12k: expected an integer", "RANK=0",
             "WORLD_SIZE=1", "DSMLP_TP_CUSTOM_MAX_BYTES=12k", NULL);
    env_case(ctx, &o, DSMLP_ERR_INVALID_ARG, "DSMLP_TP_OVERLAP_CHUNKS=65: expected an integer in [0, 64]", "RANK=0",
             "WORLD_SIZE=1", "DSMLP_TP_OVERLAP_CHUNKS=65", NULL);
    env_case(ctx, &o, DSMLP_ERR_INVALID_ARG, "no all-reduce is left", "RANK=0", "WORLD_SIZE=1", "DSMLP_TP_NCCL=0",
             "DSMLP_TP_CUSTOM=off", NULL);

    /* torchrun's set, MASTER_* becoming tcp://, settings read. */
    env_case(ctx, &o, DSMLP_OK, NULL, "RANK=3", "WORLD_SIZE=4", "LOCAL_RANK=1", "MASTER_ADDR=10.0.0.1",
             "MASTER_PORT=29500", "DSMLP_TP_CUSTOM=off", "DSMLP_TP_CUSTOM_MAX_BYTES=65536", "DSMLP_TP_NCCL=1",
             "DSMLP_TP_TIMEOUT=7", "DSMLP_TP_OVERLAP_CHUNKS=4", NULL);
    ck_assert_int_eq(o.rank, 3);
    ck_assert_int_eq(o.size, 4);
    ck_assert_int_eq(o.local_rank, 1);
    ck_assert_int_eq(o.device, -1);
    ck_assert_str_eq(o.rendezvous, "tcp://10.0.0.1:29500");
    ck_assert_int_eq(o.custom, 0);
    ck_assert_uint_eq(o.custom_max_bytes, 65536);
    ck_assert(o.timeout_s == 7);
    ck_assert_int_eq(o.overlap_chunks, 4);
    dsmlp_tp_options copy = o;   /* the string lives in the struct: copies carry it */
    env_clear();
    ck_assert_str_eq(copy.rendezvous, "tcp://10.0.0.1:29500");
    env_case(ctx, &o, DSMLP_OK, NULL, "RANK=0", "WORLD_SIZE=2", "LOCAL_RANK=0", "MASTER_ADDR=fe80::1",
             "MASTER_PORT=29500", NULL);
    ck_assert_str_eq(o.rendezvous, "tcp://[fe80::1]:29500");
    /* DSMLP_TP_RENDEZVOUS wins over MASTER_*; Open MPI's and Slurm's variables. */
    env_case(ctx, &o, DSMLP_OK, NULL, "OMPI_COMM_WORLD_RANK=1", "OMPI_COMM_WORLD_SIZE=2",
             "OMPI_COMM_WORLD_LOCAL_RANK=1", "DSMLP_TP_RENDEZVOUS=file:/shared/job7", "MASTER_ADDR=x",
             "MASTER_PORT=1", NULL);
    ck_assert_int_eq(o.rank, 1);
    ck_assert_int_eq(o.local_rank, 1);
    ck_assert_str_eq(o.rendezvous, "file:/shared/job7");
    env_case(ctx, &o, DSMLP_OK, NULL, "SLURM_PROCID=5", "SLURM_NTASKS=8", "SLURM_LOCALID=1",
             "DSMLP_TP_RENDEZVOUS=tcp://node0:7000", "DSMLP_TP_DEVICE=0", NULL);
    ck_assert_int_eq(o.rank, 5);
    ck_assert_int_eq(o.size, 8);
    ck_assert_int_eq(o.device, 0);
    /* One process alone needs no rendezvous and takes GPU 0. */
    env_case(ctx, &o, DSMLP_OK, NULL, "RANK=0", "WORLD_SIZE=1", NULL);
    ck_assert_int_eq(o.local_rank, 0);
    env_clear();

    /* dsmlp_tp_create checks the same things before it touches anything. */
    dsmlp_tp *tp = (dsmlp_tp *)1;
    dsmlp_tp_options_default(&o);
    TU_CHECK(ctx, dsmlp_tp_create(ctx, &o, &tp), DSMLP_ERR_INVALID_ARG);
    ck_assert_ptr_null(tp);
    TU_MSG_HAS(ctx, "size (WORLD_SIZE) is not set");
    o.size = 2, o.rank = 0, o.local_rank = 0, o.rendezvous = "file:/tmp/x", o.nccl = 0, o.custom = 0;
    TU_CHECK(ctx, dsmlp_tp_create(ctx, &o, &tp), DSMLP_ERR_INVALID_ARG);
    TU_MSG_HAS(ctx, "no all-reduce is left");
    o.custom = 2;
    TU_CHECK(ctx, dsmlp_tp_create(ctx, &o, &tp), DSMLP_ERR_INVALID_ARG);
    TU_MSG_HAS(ctx, "custom is 2");
    TU_CHECK(ctx, dsmlp_tp_create(ctx, NULL, &tp), DSMLP_ERR_INVALID_ARG);
    TU_CHECK(ctx, dsmlp_tp_from_nccl(ctx, NULL, NULL, &tp), DSMLP_ERR_INVALID_ARG);
    TU_MSG_HAS(ctx, "the communicator is NULL");
    ck_assert_int_eq(dsmlp_tp_size(NULL), 0);
    ck_assert_ptr_null(dsmlp_tp_nccl_comm(NULL));
    dsmlp_tp_free(NULL);

    /* P must divide the intermediate size. */
    dsmlp_mlp_config c;
    dsmlp_mlp_config_default(&c);
    c.hidden = 1024, c.intermediate = 4096, c.tp_size = 3, c.tp_rank = 0;
    TU_CHECK(ctx, dsmlp_mlp_config_check(ctx, &c), DSMLP_ERR_SHAPE);
    TU_MSG_HAS(ctx, "intermediate=4096 is not divisible by tp_size=3");
    dsmlp_ctx_free(ctx);
}
END_TEST

/* Without a GPU every rank of a group fails with the same reason, and none
** waits for the others forever. */
static int child_create(int rank, int size, const char *spec, double timeout, void *arg)
{
    (void)arg;
    dsmlp_ctx *ctx;
    if (dsmlp_ctx_create(&ctx) != DSMLP_OK) return 3;
    dsmlp_tp_options o;
    dsmlp_tp_options_default(&o);
    o.rank = rank, o.size = size, o.local_rank = rank, o.rendezvous = spec, o.timeout_s = timeout;
    dsmlp_tp *tp;
    dsmlp_status s = dsmlp_tp_create(ctx, &o, &tp);
    printf("%s: %s\n", dsmlp_status_name(s), dsmlp_last_error(ctx));
    if (s == DSMLP_OK) dsmlp_tp_free(tp);
    dsmlp_ctx_free(ctx);
    return s == DSMLP_ERR_NO_DEVICE ? 0 : 1;
}

START_TEST(group_fails_together_without_gpu)
{
    dsmlp_ctx *ctx = tu_ctx();
    int gpu = dsmlp_device_available(ctx);
    dsmlp_ctx_free(ctx);
    if (gpu) {
        printf("skipped group_fails_together_without_gpu: a GPU is present (tests/gpu/test_gpu_tp_procs covers it)\n");
        return;
    }
    child c[3];
    const char *spec = tcp_spec();
    for (int r = 0; r < 3; r++) spawn(&c[r], child_create, r, 3, spec, 20, NULL);
    for (int r = 0; r < 3; r++) {
        reap(&c[r]);
        ck_assert_msg(c[r].rc == 0, "rank %d: %s", r, c[r].out);
        ck_assert_msg(strstr(c[r].out, "DSMLP_ERR_NO_DEVICE") &&
                          (strstr(c[r].out, "no CUDA driver") || strstr(c[r].out, "no GPU")),
                      "rank %d: %s", r, c[r].out);
    }
}
END_TEST

START_TEST(kernel_compiles)
{
    dsmlp_ctx *ctx = tu_ctx();
    static const dsmlp_dtype dts[] = {DSMLP_F32, DSMLP_F16, DSMLP_BF16};
    for (int i = 0; i < 3; i++) {
        char name[64], *src;
        TU_OK(ctx, dsmlpR_tp_kernel_source(ctx, dts[i], name, &src));
        ck_assert_ptr_null(strstr(src, "{{"));
        for (int a = 0; a < 2; a++) {
            void *cubin;
            size_t len;
            const char *arch = a ? "sm_90" : "sm_80";
            TU_OK(ctx, dsmlpR_nvrtc_compile(ctx, name, src, arch, &cubin, &len));
            ck_assert_uint_gt(len, 1000);
            free(cubin);
        }
        free(src);
    }
    char name[64], *src;
    TU_CHECK(ctx, dsmlpR_tp_kernel_source(ctx, DSMLP_I8, name, &src), DSMLP_ERR_UNSUPPORTED);
    TU_MSG_HAS(ctx, "all-reduce of i8 is not supported");
    dsmlp_ctx_free(ctx);
}
END_TEST

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    Suite *s = suite_create("tp_rendezvous");
    TCase *tc = tcase_create("rdv");
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, file_four_processes);
    tcase_add_test(tc, tcp_four_processes);
    tcase_add_test(tc, one_rank_needs_nobody);
    tcase_add_test(tc, world_size_mismatch);
    tcase_add_test(tc, rank_claimed_twice);
    tcase_add_test(tc, missing_rank_times_out);
    tcase_add_test(tc, ranks_out_of_step);
    tcase_add_test(tc, bad_specs_and_places);
    tcase_add_test(tc, launcher_environment);
    tcase_add_test(tc, group_fails_together_without_gpu);
    tcase_add_test(tc, kernel_compiles);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
