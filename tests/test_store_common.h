/*
** test_store_common.h — helpers for the kernel-store, NVRTC and bundle
** suites: tiny random CUDA sources, directory snapshots, entry checks, and a
** child mode (the test binary re-executed) to act as a second process.
*/
#ifndef DSMLP_TEST_STORE_COMMON_H
#define DSMLP_TEST_STORE_COMMON_H

#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"
#include "runtime/context.h"
#include "runtime/nvrtc.h"
#include "runtime/store.h"
#include "runtime/store_fs.h"
#include "runtime/store_int.h"

/* A small kernel with a fresh random constant, so every call gives a new key
** (and runs never collide with each other's entries). Uses cuda_fp16.h so
** the include path matters. Caller frees. */
static __attribute__((unused)) char *ts_source(const char *name)
{
    char *s = malloc(1024);
    ck_assert_ptr_nonnull(s);
    double c = 1.0 + tu_uniform();
    snprintf(s, 1024,
             "#include <cuda_fp16.h>\n"
             "extern \"C\" __global__ void %s(long long T, __half *x)\n"
             "{\n"
             "    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;\n"
             "    if (i < T) x[i] = __float2half(__half2float(x[i]) * %.17gf);\n"
             "}\n",
             name, c);
    return s;
}

static __attribute__((unused)) double ts_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static __attribute__((unused)) void ts_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    ck_assert_msg(f != NULL, "cannot create %s: %s", path, strerror(errno));
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    ck_assert_int_eq(fclose(f), 0);
}

static __attribute__((unused)) void *ts_read_file(const char *path, size_t *len)
{
    void *b;
    ck_assert_msg(dsmlpR_store_fs_read(path, &b, len) == 0, "cannot read %s: %s", path, strerror(errno));
    return b;
}

static __attribute__((unused)) int ts_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static __attribute__((unused)) void ts_entry_path(const char *dir, const char *key, char *path, size_t cap)
{
    snprintf(path, cap, "%s/%s.dsk", dir, key);
}

/* The file at dir/<key>.dsk exists and verifies as key's entry. */
static __attribute__((unused)) void ts_assert_valid_entry(const char *dir, const char *key)
{
    char path[PATH_MAX];
    ts_entry_path(dir, key, path, sizeof path);
    size_t n;
    uint8_t *b = ts_read_file(path, &n);
    uint8_t k[STORE_KEY_BYTES];
    ck_assert_int_eq(dsmlpR_store_unhex(key, k), 0);
    store_hdr h;
    const char *why = "";
    ck_assert_msg(dsmlpR_store_entry_verify(b, n, k, &h, &why) == 0, "entry %s invalid: %s", path, why);
    free(b);
}

/* Names in dir, sorted, joined by '\n' (caller frees). */
static __attribute__((unused)) char *ts_listing(const char *dir)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    char **names = NULL;
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        names = realloc(names, (n + 1) * sizeof *names);
        names[n++] = strdup(de->d_name);
    }
    closedir(d);
    for (size_t i = 0; i + 1 < n; i++)   /* tiny insertion sort */
        for (size_t j = i + 1; j < n; j++)
            if (strcmp(names[j], names[i]) < 0) {
                char *t = names[i];
                names[i] = names[j];
                names[j] = t;
            }
    size_t len = 1;
    for (size_t i = 0; i < n; i++) len += strlen(names[i]) + 1;
    char *out = calloc(1, len);
    for (size_t i = 0; i < n; i++) {
        strcat(out, names[i]);
        strcat(out, "\n");
        free(names[i]);
    }
    free(names);
    return out;
}

static __attribute__((unused)) int ts_count_files(const char *dir)
{
    char *l = ts_listing(dir);
    int n = 0;
    for (char *p = l; *p; p++) n += *p == '\n';
    free(l);
    return n;
}

/* Listing plus the BLAKE2b of every file's bytes: equal snapshots mean the
** directory did not change. Caller frees. */
#include <blake2.h>
static __attribute__((unused)) char *ts_snapshot(const char *dir)
{
    char *l = ts_listing(dir);
    size_t cap = strlen(l) * 2 + 4096, used = 0;
    char *out = calloc(1, cap);
    for (char *name = l, *nl; *name; name = nl + 1) {
        nl = strchr(name, '\n');
        *nl = '\0';
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", dir, name);
        size_t n;
        uint8_t *b = ts_read_file(path, &n), sum[32];
        blake2b(sum, b, NULL, 32, n, 0);
        free(b);
        char hex[65];
        dsmlpR_store_hex(sum, hex);
        if (used + strlen(name) + 100 > cap) out = realloc(out, cap *= 2);
        used += (size_t)sprintf(out + used, "%s %zu %s\n", name, n, hex);
    }
    free(l);
    return out;
}

/* A context whose store uses dir (through DSMLP_CACHE_DIR, as a user would). */
static __attribute__((unused)) dsmlp_ctx *ts_ctx_in(const char *dir)
{
    setenv("DSMLP_CACHE_DIR", dir, 1);
    return tu_ctx();
}

static __attribute__((unused)) store *ts_store(dsmlp_ctx *ctx)
{
    store *s = NULL;
    TU_OK(ctx, dsmlpR_ctx_store(ctx, &s));
    ck_assert_ptr_nonnull(s);
    return s;
}

/* ---------------------------------------------------------------- children
** `<test binary> --child get GOFILE SRCFILE NAME ARCH [SRCFILE NAME ARCH]...`:
** a fresh process (new ctx, environment inherited) gets each kernel in turn
** and prints its stats and keys on one line. GOFILE ("-": none): wait for
** that file to exist first, so many children can be released at once. */
static __attribute__((unused)) int ts_child_main(int argc, char **argv)
{
    if (argc < 7 || strcmp(argv[2], "get") != 0 || (argc - 4) % 3 != 0) return 90;
    if (strcmp(argv[3], "-") != 0)
        for (int i = 0; i < 30000 && !ts_exists(argv[3]); i++) usleep(1000);
    double t0 = ts_now();
    dsmlp_ctx *ctx;
    if (dsmlp_ctx_create(&ctx) != DSMLP_OK) return 92;
    store *s;
    dsmlp_status st = dsmlpR_ctx_store(ctx, &s);
    char keys[4096] = "";
    size_t len = 0;
    for (int a = 4; a + 2 < argc && st == DSMLP_OK; a += 3) {
        size_t n;
        char *src;
        if (dsmlpR_store_fs_read(argv[a], (void **)&src, &n) != 0) return 91;
        src = realloc(src, n + 1);
        src[n] = '\0';
        const void *cubin;
        char key[65];
        st = dsmlpR_store_get(s, ctx, argv[a + 1], src, argv[a + 2], &cubin, &len, key);
        free(src);
        if (st == DSMLP_OK && strlen(keys) + 70 < sizeof keys) {
            strcat(keys, keys[0] ? "," : "");
            strcat(keys, key);
        }
    }
    double dt = ts_now() - t0;
    if (st != DSMLP_OK) {
        printf("error %s %s\n", dsmlp_status_name(st), dsmlp_last_error(ctx));
        return 1;
    }
    dsmlp_cache_stats cs;
    dsmlp_cache_get_stats(ctx, &cs);
    printf("ok compiles=%llu hits_disk=%llu hits_memory=%llu misses=%llu corrupt=%llu disk=%d us=%.0f len=%zu "
           "keys=%s warning=[%s]\n",
           (unsigned long long)cs.compiles, (unsigned long long)cs.hits_disk, (unsigned long long)cs.hits_memory,
           (unsigned long long)cs.misses, (unsigned long long)cs.corrupt_replaced, cs.disk_enabled, dt * 1e6, len,
           keys, dsmlp_cache_warning(ctx));
    fflush(stdout);
    dsmlp_ctx_free(ctx);
    return 0;
}

/* Parses "name=<u64>" out of a child's line. */
static __attribute__((unused)) long long ts_field(const char *line, const char *name)
{
    char pat[64];
    snprintf(pat, sizeof pat, " %s=", name);
    const char *p = strstr(line, pat);
    ck_assert_msg(p != NULL, "no %s in child output: %s", name, line);
    return strtoll(p + strlen(pat), NULL, 10);
}

/* Starts the test binary as a child with its stdout on a pipe; returns pid. */
static __attribute__((unused)) pid_t ts_spawn(int *out_fd, char *const argv[])
{
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execv("/proc/self/exe", argv);
        _exit(127);
    }
    close(fds[1]);
    *out_fd = fds[0];
    return pid;
}

/* Reads a child's whole output and waits for it; returns its exit status. */
static __attribute__((unused)) int ts_reap(pid_t pid, int fd, char *buf, size_t cap)
{
    size_t used = 0;
    ssize_t r;
    while (used + 1 < cap && (r = read(fd, buf + used, cap - 1 - used)) > 0) used += (size_t)r;
    buf[used] = '\0';
    close(fd);
    int ws;
    ck_assert_int_eq(waitpid(pid, &ws, 0), pid);
    return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
}

/* Runs one child get and returns its output line in buf (asserting exit 0). */
static __attribute__((unused)) void ts_child_get(const char *srcfile, const char *name, const char *arch, char *buf, size_t cap)
{
    char *argv[] = {"child", "--child", "get", "-", (char *)srcfile, (char *)name, (char *)arch, NULL};
    int fd;
    pid_t pid = ts_spawn(&fd, argv);
    int rc = ts_reap(pid, fd, buf, cap);
    ck_assert_msg(rc == 0, "child exited %d: %s", rc, buf);
}

#endif
