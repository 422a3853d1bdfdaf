/* test_store.c — the kernel store in one process: miss then hit, keys,
** entry format, default directories, DSMLP_CACHE=off, set_dir, list and
** clear, stale temp files, the size limit. (Several processes, corruption
** and unwritable directories: test_store_procs.c.) */
#include "test_store_common.h"

static void stats(dsmlp_ctx *ctx, dsmlp_cache_stats *cs) { dsmlp_cache_get_stats(ctx, cs); }

START_TEST(miss_then_hit)
{
    char *dir = tu_tmpdir("store-hit");
    dsmlp_ctx *ctx = ts_ctx_in(dir);
    store *s = ts_store(ctx);
    ck_assert_str_eq(dsmlp_cache_dir(ctx), dir);
    char *src = ts_source("k_hit");
    const void *c1, *c2;
    size_t l1, l2;
    char k1[65], k2[65], kk[65];
    double t0 = ts_now();
    TU_OK(ctx, dsmlpR_store_get(s, ctx, "k_hit", src, "sm_90", &c1, &l1, k1));
    double cold = ts_now() - t0;
    dsmlp_cache_stats cs;
    stats(ctx, &cs);
    ck_assert_uint_eq(cs.misses, 1);
    ck_assert_uint_eq(cs.compiles, 1);
    ck_assert_uint_eq(cs.hits_memory + cs.hits_disk, 0);
    ck_assert(cs.compile_seconds > 0 && cs.compile_seconds <= cold + 1e-3);
    ck_assert_uint_eq(cs.bytes_written, l1 + STORE_HDR_SIZE);
    ck_assert_int_eq(cs.disk_enabled, 1);
    ck_assert(memcmp(c1, "\x7f" "ELF", 4) == 0);
    TU_OK(ctx, dsmlpR_store_key(ctx, src, "sm_90", kk));
    ck_assert_str_eq(k1, kk);
    ts_assert_valid_entry(dir, k1);
    ck_assert_int_eq(ts_count_files(dir), 1);   /* the entry only: no temp, no probe */

    TU_OK(ctx, dsmlpR_store_get(s, ctx, "k_hit", src, "sm_90", &c2, &l2, k2));
    stats(ctx, &cs);
    ck_assert_uint_eq(cs.compiles, 1);
    ck_assert_uint_eq(cs.hits_memory, 1);
    ck_assert_ptr_eq(c1, c2);
    ck_assert_uint_eq(l1, l2);
    ck_assert_str_eq(k1, k2);

    /* Reset keeps the cache, zeroes the counters. */
    dsmlp_cache_reset_stats(ctx);
    stats(ctx, &cs);
    ck_assert_uint_eq(cs.compiles + cs.hits_memory + cs.misses + cs.bytes_written, 0);
    ck_assert_int_eq(cs.disk_enabled, 1);
    ck_assert_str_eq(dsmlp_cache_warning(ctx), "");

    /* A fresh context (same process) finds it on disk, compiles nothing,
    ** and the bytes are the ones compiled. */
    dsmlp_ctx *c3 = tu_ctx();
    t0 = ts_now();
    const void *c4;
    size_t l4;
    TU_OK(c3, dsmlpR_store_get(ts_store(c3), c3, "k_hit", src, "sm_90", &c4, &l4, k2));
    double warm = ts_now() - t0;
    stats(c3, &cs);
    ck_assert_uint_eq(cs.compiles, 0);
    ck_assert_uint_eq(cs.hits_disk, 1);
    ck_assert_uint_eq(cs.bytes_read, l1 + STORE_HDR_SIZE);
    ck_assert(l4 == l1 && memcmp(c4, c1, l1) == 0);
    fprintf(stderr, "timing: cold store_get (NVRTC) %.1f ms, disk hit (new ctx, same process) %.3f ms\n",
            cold * 1e3, warm * 1e3);
    dsmlp_ctx_free(c3);
    dsmlp_ctx_free(ctx);
    free(src);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(key_covers_source_and_arch)
{
    dsmlp_ctx *ctx = tu_ctx();
    char *a = ts_source("k_key"), *b = ts_source("k_key");
    char ka[65], ka2[65], kb[65], ka80[65], ka90a[65];
    TU_OK(ctx, dsmlpR_store_key(ctx, a, "sm_90", ka));
    TU_OK(ctx, dsmlpR_store_key(ctx, a, "sm_90", ka2));
    TU_OK(ctx, dsmlpR_store_key(ctx, b, "sm_90", kb));
    TU_OK(ctx, dsmlpR_store_key(ctx, a, "sm_80", ka80));
    TU_OK(ctx, dsmlpR_store_key(ctx, a, "sm_90a", ka90a));
    ck_assert_str_eq(ka, ka2);
    ck_assert_str_ne(ka, kb);
    ck_assert_str_ne(ka, ka80);
    ck_assert_str_ne(ka, ka90a);
    ck_assert_uint_eq(strlen(ka), 64);
    ck_assert_uint_eq(strspn(ka, "0123456789abcdef"), 64);
    /* One changed byte anywhere in the source changes the key. */
    size_t n = strlen(a);
    size_t pos = (size_t)(tu_next() % n);
    a[pos] = a[pos] == ' ' ? '\t' : ' ';
    TU_OK(ctx, dsmlpR_store_key(ctx, a, "sm_90", ka2));
    ck_assert_str_ne(ka, ka2);
    /* It is BLAKE2b-256 over length-prefixed fields, as documented. */
    a[pos] = a[pos] == ' ' ? '\t' : ' ';
    blake2b_state st;
    blake2b_init(&st, 32);
    const char *fields[] = {"dsmlp kernel store key v1", b, dsmlpR_nvrtc_version_string(), dsmlpR_nvrtc_options_string("sm_90"),
                            "sm_90", DSMLP_VERSION_STRING};
    for (int i = 0; i < 6; i++) {
        uint64_t len = strlen(fields[i]);
        uint8_t le[8];
        for (int j = 0; j < 8; j++) le[j] = (uint8_t)(len >> (8 * j));
        blake2b_update(&st, le, 8);
        blake2b_update(&st, (const uint8_t *)fields[i], len);
    }
    uint8_t key[32];
    blake2b_final(&st, key, 32);
    char hex[65];
    dsmlpR_store_hex(key, hex);
    ck_assert_str_eq(hex, kb);
    free(a);
    free(b);
    dsmlp_ctx_free(ctx);
}
END_TEST

START_TEST(default_directories)
{
    char *t = tu_tmpdir("store-dirs");
    char want[PATH_MAX];
    unsetenv("DSMLP_CACHE_DIR");
    setenv("XDG_CACHE_HOME", t, 1);
    dsmlp_ctx *ctx = tu_ctx();
    snprintf(want, sizeof want, "%s/dsmlp", t);
    ck_assert_str_eq(dsmlp_cache_dir(ctx), want);
    ck_assert(ts_exists(want));   /* created */
    dsmlp_ctx_free(ctx);

    unsetenv("XDG_CACHE_HOME");
    setenv("HOME", t, 1);
    ctx = tu_ctx();
    snprintf(want, sizeof want, "%s/.cache/dsmlp", t);   /* parents created too */
    ck_assert_str_eq(dsmlp_cache_dir(ctx), want);
    ck_assert(ts_exists(want));

    /* set_dir switches; NULL returns to the rules. */
    char other[PATH_MAX];
    snprintf(other, sizeof other, "%s/x/y/z", t);
    TU_OK(ctx, dsmlp_cache_set_dir(ctx, other));
    ck_assert_str_eq(dsmlp_cache_dir(ctx), other);
    ck_assert(ts_exists(other));
    TU_OK(ctx, dsmlp_cache_set_dir(ctx, NULL));
    ck_assert_str_eq(dsmlp_cache_dir(ctx), want);
    dsmlp_ctx_free(ctx);

    setenv("DSMLP_CACHE_DIR", other, 1);   /* wins over everything */
    setenv("XDG_CACHE_HOME", t, 1);
    ctx = tu_ctx();
    ck_assert_str_eq(dsmlp_cache_dir(ctx), other);
    dsmlp_ctx_free(ctx);
    tu_rmtree(t);
    free(t);
}
END_TEST

typedef struct seen_list {
    char keys[8][65];
    char kernels[8][64];
    int  n;
} seen_list;

static int collect(const dsmlp_cache_entry *e, void *u)
{
    seen_list *s = u;
    ck_assert_int_lt(s->n, 8);
    snprintf(s->keys[s->n], 65, "%s", e->key);
    snprintf(s->kernels[s->n], 64, "%s", e->kernel);
    ck_assert(e->bytes > STORE_HDR_SIZE);
    ck_assert(e->mtime > 1700000000);
    s->n++;
    return 0;
}

static int collect_mem(const dsmlp_cache_entry *e, void *u)
{
    seen_list *s = u;
    ck_assert_int_lt(s->n, 8);
    snprintf(s->keys[s->n], 65, "%s", e->key);
    snprintf(s->kernels[s->n], 64, "%s", e->kernel);
    ck_assert_str_eq(e->arch, "sm_80");
    ck_assert(e->bytes > 64);   /* memory entries: the cubin */
    s->n++;
    return 0;
}

static int stop(const dsmlp_cache_entry *e, void *u)
{
    (void)e;
    (*(int *)u)++;
    return 1;
}

START_TEST(cache_off_is_memory_only)
{
    char *dir = tu_tmpdir("store-off");
    setenv("DSMLP_CACHE", "off", 1);
    dsmlp_ctx *ctx = ts_ctx_in(dir);
    char *src = ts_source("k_off");
    const void *c;
    size_t l;
    char k[65];
    TU_OK(ctx, dsmlpR_store_get(ts_store(ctx), ctx, "k_off", src, "sm_80", &c, &l, k));
    TU_OK(ctx, dsmlpR_store_get(ts_store(ctx), ctx, "k_off", src, "sm_80", &c, &l, k));
    dsmlp_cache_stats cs;
    stats(ctx, &cs);
    ck_assert_int_eq(cs.disk_enabled, 0);
    ck_assert_uint_eq(cs.compiles, 1);
    ck_assert_uint_eq(cs.hits_memory, 1);
    ck_assert_uint_eq(cs.bytes_written, 0);
    ck_assert_int_eq(ts_count_files(dir), 0);
    ck_assert_str_eq(dsmlp_cache_warning(ctx), "");   /* asked for: no warning */
    /* list shows the memory entry */
    seen_list sl = {0};
    TU_OK(ctx, dsmlp_cache_list(ctx, collect_mem, &sl));
    ck_assert_str_eq(sl.keys[0], k);
    ck_assert_str_eq(sl.kernels[0], "k_off");
    int seen = sl.n;
    ck_assert_int_eq(seen, 1);
    dsmlp_ctx_free(ctx);
    /* A second context cannot see it: nothing went to disk. */
    ctx = tu_ctx();
    TU_OK(ctx, dsmlpR_store_get(ts_store(ctx), ctx, "k_off", src, "sm_80", &c, &l, k));
    stats(ctx, &cs);
    ck_assert_uint_eq(cs.compiles, 1);
    unsetenv("DSMLP_CACHE");
    dsmlp_ctx_free(ctx);
    free(src);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(set_dir_republishes_memory_entries)
{
    char *d1 = tu_tmpdir("store-d1"), *d2 = tu_tmpdir("store-d2");
    dsmlp_ctx *ctx = ts_ctx_in(d1);
    char *src = ts_source("k_move");
    const void *c;
    size_t l;
    char k[65];
    TU_OK(ctx, dsmlpR_store_get(ts_store(ctx), ctx, "k_move", src, "sm_86", &c, &l, k));
    TU_OK(ctx, dsmlp_cache_set_dir(ctx, d2));
    TU_OK(ctx, dsmlpR_store_get(ts_store(ctx), ctx, "k_move", src, "sm_86", &c, &l, k));
    dsmlp_cache_stats cs;
    stats(ctx, &cs);
    ck_assert_uint_eq(cs.compiles, 1);
    ck_assert_uint_eq(cs.hits_memory, 1);
    ts_assert_valid_entry(d1, k);
    ts_assert_valid_entry(d2, k);   /* the new directory has it too */
    dsmlp_ctx_free(ctx);
    free(src);
    tu_rmtree(d1);
    tu_rmtree(d2);
    free(d1);
    free(d2);
}
END_TEST

START_TEST(list_and_clear)
{
    char *dir = tu_tmpdir("store-list");
    dsmlp_ctx *ctx = ts_ctx_in(dir);
    char *sa = ts_source("k_list_a"), *sb = ts_source("k_list_b");
    const void *c;
    size_t l;
    char ka[65], kb[65];
    TU_OK(ctx, dsmlpR_store_get(ts_store(ctx), ctx, "k_list_a", sa, "sm_80", &c, &l, ka));
    TU_OK(ctx, dsmlpR_store_get(ts_store(ctx), ctx, "k_list_b", sb, "sm_90", &c, &l, kb));
    /* Someone else's file in the directory is neither listed nor removed. */
    char foreign[PATH_MAX];
    snprintf(foreign, sizeof foreign, "%s/notes.txt", dir);
    ts_write_file(foreign, "mine", 4);
    seen_list sl = {0};
    TU_OK(ctx, dsmlp_cache_list(ctx, collect, &sl));
    ck_assert_int_eq(sl.n, 2);
    int a_first = strcmp(ka, kb) < 0;   /* listed in key order */
    ck_assert_str_eq(sl.keys[a_first ? 0 : 1], ka);
    ck_assert_str_eq(sl.kernels[a_first ? 0 : 1], "k_list_a");
    ck_assert_str_eq(sl.keys[a_first ? 1 : 0], kb);
    /* A visitor returning nonzero stops. */
    int calls = 0;
    TU_OK(ctx, dsmlp_cache_list(ctx, stop, &calls));
    ck_assert_int_eq(calls, 1);

    TU_OK(ctx, dsmlp_cache_clear(ctx));
    char *left = ts_listing(dir);
    ck_assert_str_eq(left, "notes.txt\n");
    free(left);
    sl.n = 0;
    TU_OK(ctx, dsmlp_cache_list(ctx, collect, &sl));
    ck_assert_int_eq(sl.n, 0);
    /* Cleared means cleared in memory too: the next get compiles. */
    dsmlp_cache_reset_stats(ctx);
    TU_OK(ctx, dsmlpR_store_get(ts_store(ctx), ctx, "k_list_a", sa, "sm_80", &c, &l, ka));
    dsmlp_cache_stats cs;
    stats(ctx, &cs);
    ck_assert_uint_eq(cs.compiles, 1);
    ts_assert_valid_entry(dir, ka);
    TU_CHECK(ctx, dsmlp_cache_list(ctx, NULL, NULL), DSMLP_ERR_INVALID_ARG);
    dsmlp_ctx_free(ctx);
    free(sa);
    free(sb);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* Issue 15, defect 7: an entry whose kernel name holds control characters
** (terminal escapes, a fake line), even with a valid checksum, is not an
** entry: never listed, never loaded. */
START_TEST(control_characters_in_names_refused)
{
    char *dir = tu_tmpdir("store-ctl");
    dsmlp_ctx *ctx = ts_ctx_in(dir);
    char *src = ts_source("k_ctl");
    char key[65], path[PATH_MAX];
    TU_OK(ctx, dsmlpR_store_key(ctx, src, "sm_90", key));
    uint8_t k[STORE_KEY_BYTES], hdr[STORE_HDR_SIZE];
    ck_assert_int_eq(dsmlpR_store_unhex(key, k), 0);
    static const char payload[] = "\x7f" "ELF not really";
    dsmlpR_store_hdr_encode(hdr, k, "k\x1b[2J\nfake entry", "sm_90", payload, sizeof payload);
    ts_entry_path(dir, key, path, sizeof path);
    uint8_t file[STORE_HDR_SIZE + sizeof payload];
    memcpy(file, hdr, sizeof hdr);
    memcpy(file + sizeof hdr, payload, sizeof payload);
    ts_write_file(path, file, sizeof file);
    seen_list sl = {0};
    TU_OK(ctx, dsmlp_cache_list(ctx, collect, &sl));
    ck_assert_int_eq(sl.n, 0);
    const void *c;
    size_t l;
    char k2[65];
    TU_OK(ctx, dsmlpR_store_get(ts_store(ctx), ctx, "k_ctl", src, "sm_90", &c, &l, k2));
    dsmlp_cache_stats cs;
    stats(ctx, &cs);
    ck_assert_uint_eq(cs.corrupt_replaced, 1);   /* recompiled and replaced */
    ck_assert_uint_eq(cs.hits_disk, 0);
    ts_assert_valid_entry(dir, key);
    dsmlp_ctx_free(ctx);
    free(src);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(stale_temp_files_removed_on_open)
{
    char *dir = tu_tmpdir("store-tmp");
    char old[PATH_MAX], fresh[PATH_MAX], other[PATH_MAX];
    snprintf(old, sizeof old, "%s/.abc.dsk" STORE_TMP_MARK "123.00ff", dir);
    snprintf(fresh, sizeof fresh, "%s/.def.dsk" STORE_TMP_MARK "456.00ee", dir);
    snprintf(other, sizeof other, "%s/.hidden-but-not-ours", dir);
    ts_write_file(old, "x", 1);
    ts_write_file(fresh, "y", 1);
    ts_write_file(other, "z", 1);
    struct timespec t[2] = {{time(NULL) - 3600, 0}, {time(NULL) - 3600, 0}};
    ck_assert_int_eq(utimensat(AT_FDCWD, old, t, 0), 0);
    ck_assert_int_eq(utimensat(AT_FDCWD, other, t, 0), 0);
    dsmlp_ctx *ctx = ts_ctx_in(dir);
    ts_store(ctx);
    ck_assert(!ts_exists(old));     /* a dead writer's leftover */
    ck_assert(ts_exists(fresh));    /* may belong to a live writer */
    ck_assert(ts_exists(other));    /* not ours */
    dsmlp_ctx_free(ctx);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

static void set_mtime(const char *dir, const char *key, time_t when)
{
    char path[PATH_MAX];
    ts_entry_path(dir, key, path, sizeof path);
    struct timespec t[2] = {{when, 0}, {when, 0}};
    ck_assert_int_eq(utimensat(AT_FDCWD, path, t, 0), 0);
}

static off_t file_size(const char *dir, const char *key)
{
    char path[PATH_MAX];
    ts_entry_path(dir, key, path, sizeof path);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    return st.st_size;
}

START_TEST(size_limit_evicts_lru)
{
    char *dir = tu_tmpdir("store-lru");
    char *src[4];
    char key[4][65];
    const char *names[4] = {"k_lru_a", "k_lru_b", "k_lru_c", "k_lru_d"};
    for (int i = 0; i < 4; i++) src[i] = ts_source(names[i]);
    /* Fill A, B, C without a limit; D goes to a scratch dir to learn its size. */
    unsetenv("DSMLP_CACHE_MAX_MB");
    dsmlp_ctx *ctx = ts_ctx_in(dir);
    const void *c;
    size_t l;
    for (int i = 0; i < 3; i++) TU_OK(ctx, dsmlpR_store_get(ts_store(ctx), ctx, names[i], src[i], "sm_90", &c, &l, key[i]));
    dsmlp_ctx_free(ctx);
    char *scratch = tu_tmpdir("store-lru2");
    ctx = ts_ctx_in(scratch);
    TU_OK(ctx, dsmlpR_store_get(ts_store(ctx), ctx, names[3], src[3], "sm_90", &c, &l, key[3]));
    off_t sd = file_size(scratch, key[3]);
    dsmlp_ctx_free(ctx);
    tu_rmtree(scratch);
    free(scratch);
    off_t sa = file_size(dir, key[0]), sb = file_size(dir, key[1]), sc = file_size(dir, key[2]);
    /* Ages: A oldest, then B, then C. */
    time_t now = time(NULL);
    set_mtime(dir, key[0], now - 300);
    set_mtime(dir, key[1], now - 200);
    set_mtime(dir, key[2], now - 100);
    /* Room for three of the four entries, not four. */
    double limit = (double)(sa + sc + sd) + (double)(sb < sa ? sb : sa) / 2;
    char mb[64];
    snprintf(mb, sizeof mb, "%.12f", limit / 1048576.0);
    setenv("DSMLP_CACHE_MAX_MB", mb, 1);
    ctx = ts_ctx_in(dir);
    /* Using A (a disk hit) makes it the most recent; B becomes the oldest. */
    TU_OK(ctx, dsmlpR_store_get(ts_store(ctx), ctx, names[0], src[0], "sm_90", &c, &l, key[0]));
    dsmlp_cache_stats cs;
    stats(ctx, &cs);
    ck_assert_uint_eq(cs.hits_disk, 1);
    ck_assert_uint_eq(cs.evictions, 0);
    TU_OK(ctx, dsmlpR_store_get(ts_store(ctx), ctx, names[3], src[3], "sm_90", &c, &l, key[3]));
    stats(ctx, &cs);
    ck_assert_uint_eq(cs.compiles, 1);
    ck_assert_uint_eq(cs.evictions, 1);
    char path[PATH_MAX];
    ts_entry_path(dir, key[1], path, sizeof path);
    ck_assert_msg(!ts_exists(path), "B (least recently used) should be evicted");
    ts_assert_valid_entry(dir, key[0]);
    ts_assert_valid_entry(dir, key[2]);
    ts_assert_valid_entry(dir, key[3]);
    ck_assert_int_eq(ts_count_files(dir), 3);

    /* A tiny limit keeps only the entry just written. */
    setenv("DSMLP_CACHE_MAX_MB", "0.000001", 1);
    dsmlp_ctx *c2 = ts_ctx_in(dir);
    TU_OK(c2, dsmlpR_store_get(ts_store(c2), c2, names[1], src[1], "sm_90", &c, &l, key[1]));
    stats(c2, &cs);
    ck_assert_uint_eq(cs.evictions, 3);
    ck_assert_int_eq(ts_count_files(dir), 1);
    ts_assert_valid_entry(dir, key[1]);
    dsmlp_ctx_free(c2);

    /* Nonsense is ignored with a warning, not an error. */
    setenv("DSMLP_CACHE_MAX_MB", "lots", 1);
    c2 = ts_ctx_in(dir);
    ts_store(c2);
    ck_assert_ptr_nonnull(strstr(dsmlp_cache_warning(c2), "DSMLP_CACHE_MAX_MB='lots'"));
    stats(c2, &cs);
    ck_assert_int_eq(cs.disk_enabled, 1);
    dsmlp_ctx_free(c2);
    unsetenv("DSMLP_CACHE_MAX_MB");
    dsmlp_ctx_free(ctx);
    for (int i = 0; i < 4; i++) free(src[i]);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(bad_arguments)
{
    char *dir = tu_tmpdir("store-args");
    dsmlp_ctx *ctx = ts_ctx_in(dir);
    store *s = ts_store(ctx);
    char *src = ts_source("k_args");
    const void *c;
    size_t l;
    char k[65];
    TU_CHECK(ctx, dsmlpR_store_get(s, ctx, "k_args", src, "sm_75", &c, &l, k), DSMLP_ERR_INVALID_ARG);
    TU_MSG_HAS(ctx, "'sm_75'");
    TU_CHECK(ctx, dsmlpR_store_get(s, ctx, "k_args", NULL, "sm_90", &c, &l, k), DSMLP_ERR_INVALID_ARG);
    TU_MSG_HAS(ctx, "source is NULL");
    TU_CHECK(ctx, dsmlpR_store_get(s, ctx, "", src, "sm_90", &c, &l, k), DSMLP_ERR_INVALID_ARG);
    TU_MSG_HAS(ctx, "kernel name");
    ck_assert_int_eq(ts_count_files(dir), 0);
    dsmlp_ctx_free(ctx);
    free(src);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* dsmlp-compile -j N: one context per thread, one directory, same kernels. */
#include <pthread.h>
typedef struct thread_job {
    const char *src[2];
    char        key[2][65];
    dsmlp_status st;
    char        msg[256];
} thread_job;

static void *thread_main(void *arg)
{
    thread_job *j = arg;
    dsmlp_ctx *ctx;
    if ((j->st = dsmlp_ctx_create(&ctx)) != DSMLP_OK) return NULL;
    store *s;
    j->st = dsmlpR_ctx_store(ctx, &s);
    for (int i = 0; i < 2 && j->st == DSMLP_OK; i++) {
        const void *c;
        size_t l;
        j->st = dsmlpR_store_get(s, ctx, i ? "k_thr_b" : "k_thr_a", j->src[i], "sm_90", &c, &l, j->key[i]);
    }
    snprintf(j->msg, sizeof j->msg, "%s", dsmlp_last_error(ctx));
    dsmlp_ctx_free(ctx);
    return NULL;
}

START_TEST(threads_with_own_contexts)
{
    enum { NT = 6 };
    char *dir = tu_tmpdir("store-thr");
    setenv("DSMLP_CACHE_DIR", dir, 1);
    char *a = ts_source("k_thr_a"), *b = ts_source("k_thr_b");
    thread_job jobs[NT];
    pthread_t th[NT];
    for (int i = 0; i < NT; i++) {
        memset(&jobs[i], 0, sizeof jobs[i]);
        jobs[i].src[0] = i & 1 ? b : a;   /* half in the other order */
        jobs[i].src[1] = i & 1 ? a : b;
        ck_assert_int_eq(pthread_create(&th[i], NULL, thread_main, &jobs[i]), 0);
    }
    for (int i = 0; i < NT; i++) {
        ck_assert_int_eq(pthread_join(th[i], NULL), 0);
        ck_assert_msg(jobs[i].st == DSMLP_OK, "thread %d: %s", i, jobs[i].msg);
    }
    ck_assert_int_eq(ts_count_files(dir), 2);
    ts_assert_valid_entry(dir, jobs[0].key[0]);
    ts_assert_valid_entry(dir, jobs[0].key[1]);
    free(a);
    free(b);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--child") == 0) return ts_child_main(argc, argv);
    unsetenv("DSMLP_CACHE");
    unsetenv("DSMLP_CACHE_MAX_MB");
    Suite *s = suite_create("store");
    TCase *tc = tcase_create("store");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, miss_then_hit);
    tcase_add_test(tc, key_covers_source_and_arch);
    tcase_add_test(tc, default_directories);
    tcase_add_test(tc, cache_off_is_memory_only);
    tcase_add_test(tc, set_dir_republishes_memory_entries);
    tcase_add_test(tc, list_and_clear);
    tcase_add_test(tc, control_characters_in_names_refused);
    tcase_add_test(tc, stale_temp_files_removed_on_open);
    tcase_add_test(tc, size_limit_evicts_lru);
    tcase_add_test(tc, bad_arguments);
    tcase_add_test(tc, threads_with_own_contexts);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
