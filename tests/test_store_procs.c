/* test_store_procs.c — the kernel store across processes and against bad
** files: a second process compiles nothing; 16 processes at once leave one
** valid entry per key and no temp files; truncated / flipped / foreign /
** empty entries are detected, recompiled and replaced; unwritable
** directories work memory-only with one warning. */
#include <grp.h>
#include "test_store_common.h"

/* A private directory (0755, so an unprivileged child can read it) holding
** src written to <dir>/<name>.cu; returns that path (static). */
static const char *src_file(const char *dir, const char *name, const char *src)
{
    static char path[4][PATH_MAX];
    static int slot;
    char *p = path[slot++ & 3];
    snprintf(p, PATH_MAX, "%s/%s.cu", dir, name);
    ts_write_file(p, src, strlen(src));
    chmod(p, 0644);
    return p;
}

START_TEST(second_process_compiles_nothing)
{
    char *dir = tu_tmpdir("procs-second"), *sdir = tu_tmpdir("procs-src");
    dsmlp_ctx *ctx = ts_ctx_in(dir);
    char *src = ts_source("k_second");
    const void *c;
    size_t l;
    char k[65];
    double t0 = ts_now();
    TU_OK(ctx, dsmlpR_store_get(ts_store(ctx), ctx, "k_second", src, "sm_89", &c, &l, k));
    double cold = ts_now() - t0;
    char out[8192];
    t0 = ts_now();
    ts_child_get(src_file(sdir, "k_second", src), "k_second", "sm_89", out, sizeof out);
    double proc = ts_now() - t0;
    ck_assert_int_eq(ts_field(out, "compiles"), 0);
    ck_assert_int_eq(ts_field(out, "hits_disk"), 1);
    ck_assert_int_eq(ts_field(out, "misses"), 0);
    ck_assert_int_eq(ts_field(out, "len"), (long long)l);
    ck_assert_ptr_nonnull(strstr(out, k));
    fprintf(stderr, "timing: cold NVRTC compile through the store %.1f ms; warm disk hit in a fresh process: "
            "%.3f ms from ctx create to cubin (whole child process incl. exec: %.1f ms)\n",
            cold * 1e3, (double)ts_field(out, "us") / 1e3, proc * 1e3);
    dsmlp_ctx_free(ctx);
    free(src);
    tu_rmtree(dir);
    tu_rmtree(sdir);
    free(dir);
    free(sdir);
}
END_TEST

START_TEST(sixteen_processes_at_once)
{
    enum { NPROC = 16 };
    char *dir = tu_tmpdir("procs-16"), *sdir = tu_tmpdir("procs-16src");
    setenv("DSMLP_CACHE_DIR", dir, 1);
    char *sa = ts_source("k_race_a"), *sb = ts_source("k_race_b");
    char fa[PATH_MAX], fb[PATH_MAX], go[PATH_MAX];
    snprintf(fa, sizeof fa, "%s", src_file(sdir, "k_race_a", sa));
    snprintf(fb, sizeof fb, "%s", src_file(sdir, "k_race_b", sb));
    snprintf(go, sizeof go, "%s/go", sdir);
    pid_t pid[NPROC];
    int fd[NPROC];
    for (int i = 0; i < NPROC; i++) {   /* half of them ask for the keys in the other order */
        char *argv[] = {"child", "--child", "get", go, i & 1 ? fb : fa, i & 1 ? "k_race_b" : "k_race_a", "sm_90",
                        i & 1 ? fa : fb, i & 1 ? "k_race_a" : "k_race_b", "sm_90", NULL};
        pid[i] = ts_spawn(&fd[i], argv);
    }
    usleep(500000);   /* let them all reach the start line */
    ts_write_file(go, "", 0);
    long long compiles = 0, corrupt = 0;
    for (int i = 0; i < NPROC; i++) {
        char out[8192];
        int rc = ts_reap(pid[i], fd[i], out, sizeof out);
        ck_assert_msg(rc == 0, "child %d exited %d: %s", i, rc, out);
        ck_assert_msg(strncmp(out, "ok ", 3) == 0, "child %d: %s", i, out);
        ck_assert_int_eq(ts_field(out, "disk"), 1);
        compiles += ts_field(out, "compiles");
        corrupt += ts_field(out, "corrupt");
    }
    fprintf(stderr, "16 processes: %lld NVRTC compiles in all, %lld corrupt entries seen\n", compiles, corrupt);
    /* Each child missed on its first kernel at the same moment: typically 16
    ** compiles (8 writers per key racing), plus a few for second kernels. */
    ck_assert_int_ge(compiles, 2);
    ck_assert_int_eq(corrupt, 0);   /* nobody ever saw a torn file */
    /* Exactly the two entries: no temp files, no probe, nothing else. */
    char ka[65], kb[65];
    dsmlp_ctx *ctx = tu_ctx();
    TU_OK(ctx, dsmlpR_store_key(ctx, sa, "sm_90", ka));
    TU_OK(ctx, dsmlpR_store_key(ctx, sb, "sm_90", kb));
    char want[200];
    snprintf(want, sizeof want, "%s.dsk\n%s.dsk\n", strcmp(ka, kb) < 0 ? ka : kb, strcmp(ka, kb) < 0 ? kb : ka);
    char *got = ts_listing(dir);
    ck_assert_str_eq(got, want);
    free(got);
    ts_assert_valid_entry(dir, ka);
    ts_assert_valid_entry(dir, kb);
    /* And they are usable: a new context hits both on disk. */
    const void *c;
    size_t l;
    TU_OK(ctx, dsmlpR_store_get(ts_store(ctx), ctx, "k_race_a", sa, "sm_90", &c, &l, ka));
    TU_OK(ctx, dsmlpR_store_get(ts_store(ctx), ctx, "k_race_b", sb, "sm_90", &c, &l, kb));
    dsmlp_cache_stats cs;
    dsmlp_cache_get_stats(ctx, &cs);
    ck_assert_uint_eq(cs.hits_disk, 2);
    ck_assert_uint_eq(cs.compiles, 0);
    dsmlp_ctx_free(ctx);
    free(sa);
    free(sb);
    tu_rmtree(dir);
    tu_rmtree(sdir);
    free(dir);
    free(sdir);
}
END_TEST

/* ------------------------------------------------------------ corruption */

typedef enum { TRUNC_HALF, TRUNC_HEADER, TRUNC_ONE, FLIP_PAYLOAD, FLIP_HEADER, OTHER_KEY, EMPTY, EXTENDED } damage;
static const char *const damage_name[] = {"truncated to half", "truncated inside the header", "one byte short",
                                          "flipped payload byte", "flipped header byte", "another key's content",
                                          "empty file", "extra byte appended"};

static void damaged_entry_is_replaced(damage d)
{
    char *dir = tu_tmpdir("procs-corrupt");
    dsmlp_ctx *ctx = ts_ctx_in(dir);
    char *src = ts_source("k_bad"), *other = ts_source("k_other");
    const void *c;
    size_t l;
    char k[65], ko[65];
    TU_OK(ctx, dsmlpR_store_get(ts_store(ctx), ctx, "k_bad", src, "sm_80", &c, &l, k));
    TU_OK(ctx, dsmlpR_store_get(ts_store(ctx), ctx, "k_other", other, "sm_80", &c, &l, ko));
    char path[PATH_MAX], opath[PATH_MAX];
    ts_entry_path(dir, k, path, sizeof path);
    ts_entry_path(dir, ko, opath, sizeof opath);
    size_t n, on;
    uint8_t *good = ts_read_file(path, &n), *ogood = ts_read_file(opath, &on);
    uint8_t *bad = malloc(n + on + 1);
    memcpy(bad, good, n);
    size_t bn = n;
    switch (d) {
    case TRUNC_HALF: bn = n / 2; break;
    case TRUNC_HEADER: bn = 1 + (size_t)(tu_next() % (STORE_HDR_SIZE - 1)); break;
    case TRUNC_ONE: bn = n - 1; break;
    case FLIP_PAYLOAD: bad[STORE_HDR_SIZE + tu_next() % (n - STORE_HDR_SIZE)] ^= (uint8_t)(1u << (tu_next() % 8)); break;
    case FLIP_HEADER: bad[tu_next() % STORE_HDR_SIZE] ^= (uint8_t)(1u << (tu_next() % 8)); break;
    case OTHER_KEY: memcpy(bad, ogood, on); bn = on; break;
    case EMPTY: bn = 0; break;
    case EXTENDED: bad[n] = 0; bn = n + 1; break;
    }
    ts_write_file(path, bad, bn);

    /* A fresh context (nothing in memory) must not load it. */
    dsmlp_ctx *c2 = tu_ctx();
    const void *cubin;
    size_t len;
    char k2[65];
    TU_OK(c2, dsmlpR_store_get(ts_store(c2), c2, "k_bad", src, "sm_80", &cubin, &len, k2));
    dsmlp_cache_stats cs;
    dsmlp_cache_get_stats(c2, &cs);
    ck_assert_msg(cs.corrupt_replaced == 1, "%s: corrupt_replaced = %llu", damage_name[d],
                  (unsigned long long)cs.corrupt_replaced);
    ck_assert_uint_eq(cs.hits_disk, 0);
    ck_assert_uint_eq(cs.misses, 1);
    ck_assert_uint_eq(cs.compiles, 1);
    /* What we got is the real kernel, and the file is whole again. */
    ck_assert_uint_eq(len, n - STORE_HDR_SIZE);
    ck_assert(memcmp(cubin, good + STORE_HDR_SIZE, len) == 0);   /* NVRTC output is deterministic */
    ts_assert_valid_entry(dir, k);
    size_t rn;
    uint8_t *now = ts_read_file(path, &rn);
    ck_assert(rn == n && memcmp(now, good, n) == 0);
    free(now);
    ck_assert_int_eq(ts_count_files(dir), 2);
    /* Next time it is an ordinary disk hit. */
    dsmlp_ctx *c3 = tu_ctx();
    TU_OK(c3, dsmlpR_store_get(ts_store(c3), c3, "k_bad", src, "sm_80", &cubin, &len, k2));
    dsmlp_cache_get_stats(c3, &cs);
    ck_assert_uint_eq(cs.hits_disk, 1);
    ck_assert_uint_eq(cs.corrupt_replaced + cs.compiles, 0);
    dsmlp_ctx_free(c3);
    dsmlp_ctx_free(c2);
    dsmlp_ctx_free(ctx);
    free(good);
    free(ogood);
    free(bad);
    free(src);
    free(other);
    tu_rmtree(dir);
    free(dir);
}

START_TEST(damaged_entries_replaced) { damaged_entry_is_replaced((damage)_i); }
END_TEST

/* Every single-bit flip of every byte of an entry fails verification. */
START_TEST(every_byte_is_checked)
{
    char *dir = tu_tmpdir("procs-bytes");
    dsmlp_ctx *ctx = ts_ctx_in(dir);
    char *src = ts_source("k_bytes");
    const void *c;
    size_t l;
    char k[65];
    TU_OK(ctx, dsmlpR_store_get(ts_store(ctx), ctx, "k_bytes", src, "sm_90", &c, &l, k));
    char path[PATH_MAX];
    ts_entry_path(dir, k, path, sizeof path);
    size_t n;
    uint8_t *b = ts_read_file(path, &n), key[32];
    dsmlpR_store_unhex(k, key);
    store_hdr h;
    const char *why;
    ck_assert_int_eq(dsmlpR_store_entry_verify(b, n, key, &h, &why), 0);
    ck_assert_str_eq(h.kernel, "k_bytes");
    ck_assert_str_eq(h.arch, "sm_90");
    for (size_t i = 0; i < n; i++) {
        uint8_t bit = (uint8_t)(1u << (tu_next() % 8));
        b[i] ^= bit;
        ck_assert_msg(dsmlpR_store_entry_verify(b, n, key, &h, &why) != 0, "flip at byte %zu not detected", i);
        b[i] ^= bit;
    }
    for (size_t m = 0; m < n; m++) ck_assert(dsmlpR_store_entry_verify(b, m, key, &h, &why) != 0);
    free(b);
    free(src);
    dsmlp_ctx_free(ctx);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* ------------------------------------------------- unwritable directories */

/* Runs fn(arg) in a forked child as an unprivileged user: the tests run as
** root, for whom permission bits stop nothing, so the child drops to
** "nobody" (65534); without root the caller makes the directory 0555.
** Returns fn's result (0 = pass; it prints why it failed). */
static int as_unprivileged(int (*fn)(void *), void *arg)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        alarm(60);
        if (geteuid() == 0 && (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0)) _exit(80);
        if (geteuid() == 0) _exit(81);
        fflush(stdout);
        _exit(fn(arg));
    }
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert_msg(WIFEXITED(st), "child killed by signal %d", WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    return WEXITSTATUS(st);
}

typedef struct ro_case {
    char        cache[PATH_MAX];
    char        bundle[PATH_MAX];
    const char *src_old, *src_new;
    char        key_old[65];
} ro_case;

#define RO_EXPECT(cond, ...)                                                                          \
    do {                                                                                              \
        if (!(cond)) {                                                                                \
            fprintf(stderr, "read-only store: " __VA_ARGS__);                                         \
            fputc('\n', stderr);                                                                      \
            return 1;                                                                                 \
        }                                                                                             \
    } while (0)

/* Issue 15, defects 5 and 6: a valid read-only store is read (it was ignored
** and everything recompiled), and clear / import on it fail with an error
** (they used to report success while nothing changed on disk). */
static int ro_child(void *arg)
{
    ro_case *rc = arg;
    dsmlp_ctx *ctx = ts_ctx_in(rc->cache);
    const void *c;
    size_t l;
    char k[65];
    dsmlp_cache_stats cs;
    RO_EXPECT(dsmlpR_store_get(ts_store(ctx), ctx, "k_ro_old", rc->src_old, "sm_90", &c, &l, k) == DSMLP_OK, "get: %s",
              dsmlp_last_error(ctx));
    dsmlp_cache_get_stats(ctx, &cs);
    RO_EXPECT(cs.hits_disk == 1 && cs.compiles == 0, "an entry already there was recompiled (compiles %llu)",
              (unsigned long long)cs.compiles);
    RO_EXPECT(cs.disk_enabled == 1 && cs.disk_writable == 0, "disk_enabled %d, disk_writable %d", cs.disk_enabled,
              cs.disk_writable);
    const char *w = dsmlp_cache_warning(ctx);
    RO_EXPECT(strstr(w, "read-only") && strstr(w, rc->cache), "warning: [%s]", w);
    /* a new kernel still compiles; that it is not persisted is counted */
    RO_EXPECT(dsmlpR_store_get(ts_store(ctx), ctx, "k_ro_new", rc->src_new, "sm_90", &c, &l, k) == DSMLP_OK, "get new: %s",
              dsmlp_last_error(ctx));
    dsmlp_cache_get_stats(ctx, &cs);
    RO_EXPECT(cs.compiles == 1 && cs.write_failures == 1, "compiles %llu, write_failures %llu",
              (unsigned long long)cs.compiles, (unsigned long long)cs.write_failures);
    dsmlp_status st = dsmlp_cache_clear(ctx);
    RO_EXPECT(st == DSMLP_ERR_IO && strstr(dsmlp_last_error(ctx), "read-only"), "clear: %s: %s",
              dsmlp_status_name(st), dsmlp_last_error(ctx));
    int imported = -1;
    st = dsmlp_bundle_import(ctx, rc->bundle, NULL, &imported);
    RO_EXPECT(st == DSMLP_ERR_IO && imported == 0 && strstr(dsmlp_last_error(ctx), "read-only"),
              "import: %s, imported %d: %s", dsmlp_status_name(st), imported, dsmlp_last_error(ctx));
    dsmlp_ctx_free(ctx);
    return 0;
}

START_TEST(read_only_store_is_read)
{
    char *dir = tu_tmpdir("procs-ro"), *other = tu_tmpdir("procs-ro-src");
    ro_case rc = {0};
    snprintf(rc.cache, sizeof rc.cache, "%s/cache", dir);
    snprintf(rc.bundle, sizeof rc.bundle, "%s/other.bundle", dir);
    ck_assert_int_eq(mkdir(rc.cache, 0755), 0);
    ck_assert_int_eq(chmod(dir, 0755), 0);
    char *old = ts_source("k_ro_old"), *fresh = ts_source("k_ro_new"), *b = ts_source("k_ro_b");
    rc.src_old = old;
    rc.src_new = fresh;
    const void *c;
    size_t l;
    char kb[65];
    dsmlp_ctx *ctx = ts_ctx_in(rc.cache);
    TU_OK(ctx, dsmlpR_store_get(ts_store(ctx), ctx, "k_ro_old", old, "sm_90", &c, &l, rc.key_old));
    dsmlp_ctx_free(ctx);
    ctx = ts_ctx_in(other);
    TU_OK(ctx, dsmlpR_store_get(ts_store(ctx), ctx, "k_ro_b", b, "sm_90", &c, &l, kb));
    TU_OK(ctx, dsmlp_bundle_write(ctx, rc.bundle, NULL, 0));
    dsmlp_ctx_free(ctx);
    ck_assert_int_eq(chmod(rc.bundle, 0644), 0);
    if (geteuid() != 0) ck_assert_int_eq(chmod(rc.cache, 0555), 0);
    char *before = ts_listing(rc.cache);
    ck_assert_int_eq(as_unprivileged(ro_child, &rc), 0);
    char *after = ts_listing(rc.cache);
    ck_assert_str_eq(before, after);   /* nothing written, nothing removed */
    ts_assert_valid_entry(rc.cache, rc.key_old);
    chmod(rc.cache, 0755);
    free(before);
    free(after);
    free(old);
    free(fresh);
    free(b);
    tu_rmtree(dir);
    tu_rmtree(other);
    free(dir);
    free(other);
}
END_TEST

/* A cache path below a regular file cannot be created by anyone, root
** included. */
START_TEST(uncreatable_directory_is_memory_only)
{
    char *dir = tu_tmpdir("procs-file");
    char file[PATH_MAX], cache[PATH_MAX + 16];
    snprintf(file, sizeof file, "%s/plain-file", dir);
    ts_write_file(file, "x", 1);
    snprintf(cache, sizeof cache, "%s/cache", file);
    dsmlp_ctx *ctx = ts_ctx_in(cache);
    char *src = ts_source("k_nodir");
    const void *c;
    size_t l;
    char k[65];
    TU_OK(ctx, dsmlpR_store_get(ts_store(ctx), ctx, "k_nodir", src, "sm_86", &c, &l, k));
    TU_OK(ctx, dsmlpR_store_get(ts_store(ctx), ctx, "k_nodir", src, "sm_86", &c, &l, k));
    dsmlp_cache_stats cs;
    dsmlp_cache_get_stats(ctx, &cs);
    ck_assert_int_eq(cs.disk_enabled, 0);
    ck_assert_uint_eq(cs.compiles, 1);
    ck_assert_uint_eq(cs.hits_memory, 1);
    char want[PATH_MAX + 100];
    snprintf(want, sizeof want, "kernel cache: cannot create directory %s (Not a directory); using memory only",
             cache);
    ck_assert_str_eq(dsmlp_cache_warning(ctx), want);
    dsmlp_ctx_free(ctx);
    free(src);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* The directory vanishes after the store opened: the first failed write
** turns the disk off with one warning, and everything keeps working. */
START_TEST(write_failure_degrades_once)
{
    char *dir = tu_tmpdir("procs-gone");
    char cache[PATH_MAX];
    snprintf(cache, sizeof cache, "%s/cache", dir);
    dsmlp_ctx *ctx = ts_ctx_in(cache);
    ts_store(ctx);
    tu_rmtree(cache);
    ts_write_file(cache, "now a file", 10);
    char *a = ts_source("k_gone_a"), *b = ts_source("k_gone_b");
    const void *c;
    size_t l;
    char k[65];
    TU_OK(ctx, dsmlpR_store_get(ts_store(ctx), ctx, "k_gone_a", a, "sm_90", &c, &l, k));
    char w1[STORE_WARN_MAX];
    snprintf(w1, sizeof w1, "%s", dsmlp_cache_warning(ctx));
    ck_assert_ptr_nonnull(strstr(w1, "cannot write entry"));
    ck_assert_ptr_nonnull(strstr(w1, cache));
    TU_OK(ctx, dsmlpR_store_get(ts_store(ctx), ctx, "k_gone_b", b, "sm_90", &c, &l, k));
    ck_assert_str_eq(dsmlp_cache_warning(ctx), w1);   /* one warning, not one per kernel */
    dsmlp_cache_stats cs;
    dsmlp_cache_get_stats(ctx, &cs);
    ck_assert_int_eq(cs.disk_enabled, 0);
    ck_assert_uint_eq(cs.compiles, 2);
    dsmlp_ctx_free(ctx);
    free(a);
    free(b);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* Issue 15, defect 2: a FIFO (or any non-regular file) at an entry path used
** to block the reader forever: compile, list and clear hung. Entries are
** opened without blocking and only regular files are accepted; each call runs
** in a child with an alarm so a regression fails instead of hanging. */
static int count_entries(const dsmlp_cache_entry *e, void *user)
{
    (void)e;
    ++*(int *)user;
    return 0;
}

static int fifo_child(const char *dir, const char *src, int what)
{
    alarm(20);
    dsmlp_ctx *ctx = ts_ctx_in(dir);
    const void *c;
    size_t l;
    char k[65];
    int calls = 0;
    switch (what) {
    case 0: return dsmlpR_store_get(ts_store(ctx), ctx, "k_fifo", src, "sm_90", &c, &l, k) == DSMLP_OK ? 0 : 1;
    case 1: return dsmlp_cache_list(ctx, count_entries, &calls) == DSMLP_OK && calls == 0 ? 0 : 2;
    default: return dsmlp_cache_clear(ctx) == DSMLP_OK ? 0 : 3;
    }
}

START_TEST(fifo_at_entry_path_does_not_block)
{
    char *dir = tu_tmpdir("procs-fifo");
    char *src = ts_source("k_fifo");
    char key[65], path[PATH_MAX];
    dsmlp_ctx *ctx = ts_ctx_in(dir);
    TU_OK(ctx, dsmlpR_store_key(ctx, src, "sm_90", key));
    dsmlp_ctx_free(ctx);
    ts_entry_path(dir, key, path, sizeof path);
    static const char *const what[] = {"compile", "list", "clear"};
    for (int w = 0; w < 3; w++) {
        unlink(path);
        ck_assert_int_eq(mkfifo(path, 0644), 0);
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) _exit(fifo_child(dir, src, w));
        int st;
        ck_assert_int_eq(waitpid(pid, &st, 0), pid);
        ck_assert_msg(WIFEXITED(st), "%s blocked on a FIFO at %s (signal %d)", what[w], path,
                      WIFSIGNALED(st) ? WTERMSIG(st) : 0);
        ck_assert_msg(WEXITSTATUS(st) == 0, "%s with a FIFO at the entry path: exit %d", what[w], WEXITSTATUS(st));
    }
    /* compile replaced the FIFO by a valid entry; clear removed the last one */
    struct stat sb;
    ck_assert_int_ne(lstat(path, &sb), 0);
    free(src);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--child") == 0) return ts_child_main(argc, argv);
    unsetenv("DSMLP_CACHE");
    unsetenv("DSMLP_CACHE_MAX_MB");
    Suite *s = suite_create("store_procs");
    TCase *tc = tcase_create("procs");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, second_process_compiles_nothing);
    tcase_add_test(tc, sixteen_processes_at_once);
    tcase_add_loop_test(tc, damaged_entries_replaced, 0, 8);
    tcase_add_test(tc, every_byte_is_checked);
    tcase_add_test(tc, read_only_store_is_read);
    tcase_add_test(tc, uncreatable_directory_is_memory_only);
    tcase_add_test(tc, write_failure_degrades_once);
    tcase_add_test(tc, fifo_at_entry_path_does_not_block);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
