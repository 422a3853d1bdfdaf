/* test_bundle.c — bundles: write/import round trip (imported entries are
** byte-identical to what dsmlpR_store_get writes and need no compile), chosen keys,
** determinism, and refusals (altered, truncated, foreign version, foreign
** arch, not a bundle) that leave the store exactly as it was. */
#include <blake2.h>
#include "test_store_common.h"

#define NK 4
static const char *const knames[NK] = {"k_bun_a", "k_bun_b", "k_bun_c", "k_bun_d"};
static const char *const karchs[NK] = {"sm_80", "sm_90", "sm_90", "sm_90a"};

typedef struct fixture {
    char *src_dir;            /* the store the bundle is made from */
    char *src[NK];
    char  key[NK][65];
    size_t len[NK];
    char *bundle;             /* path of a bundle with all NK entries */
    char *tmp;
} fixture;

static void fixture_make(fixture *f)
{
    f->src_dir = tu_tmpdir("bun-src");
    f->tmp = tu_tmpdir("bun-tmp");
    dsmlp_ctx *ctx = ts_ctx_in(f->src_dir);
    for (int i = 0; i < NK; i++) {
        f->src[i] = ts_source(knames[i]);
        const void *c;
        TU_OK(ctx, dsmlpR_store_get(ts_store(ctx), ctx, knames[i], f->src[i], karchs[i], &c, &f->len[i], f->key[i]));
    }
    f->bundle = malloc(PATH_MAX);
    snprintf(f->bundle, PATH_MAX, "%s/all.dsb", f->tmp);
    TU_OK(ctx, dsmlp_bundle_write(ctx, f->bundle, NULL, 0));
    dsmlp_ctx_free(ctx);
}

static void fixture_free(fixture *f)
{
    for (int i = 0; i < NK; i++) free(f->src[i]);
    tu_rmtree(f->src_dir);
    tu_rmtree(f->tmp);
    free(f->src_dir);
    free(f->tmp);
    free(f->bundle);
}

START_TEST(round_trip_needs_no_compile)
{
    fixture f;
    fixture_make(&f);
    size_t bn;
    uint8_t *b = ts_read_file(f.bundle, &bn);
    size_t payload = 0;
    for (int i = 0; i < NK; i++) payload += f.len[i];
    ck_assert_uint_eq(bn, 64 + NK * 224 + payload + 32);   /* header, index, cubins, trailer */
    free(b);
    /* Import into an empty store. */
    char *dst = tu_tmpdir("bun-dst");
    dsmlp_ctx *ctx = ts_ctx_in(dst);
    int imported = -1;
    TU_OK(ctx, dsmlp_bundle_import(ctx, f.bundle, NULL, &imported));
    ck_assert_int_eq(imported, NK);
    /* The entries are exactly the files dsmlpR_store_get wrote (same bytes). */
    char *s1 = ts_snapshot(f.src_dir), *s2 = ts_snapshot(dst);
    ck_assert_str_eq(s1, s2);
    free(s1);
    free(s2);
    /* A new context finds all of them: zero compiles. */
    dsmlp_ctx *c2 = tu_ctx();
    for (int i = 0; i < NK; i++) {
        const void *c;
        size_t l;
        char k[65];
        TU_OK(c2, dsmlpR_store_get(ts_store(c2), c2, knames[i], f.src[i], karchs[i], &c, &l, k));
        ck_assert_str_eq(k, f.key[i]);
        ck_assert_uint_eq(l, f.len[i]);
    }
    dsmlp_cache_stats cs;
    dsmlp_cache_get_stats(c2, &cs);
    ck_assert_uint_eq(cs.compiles, 0);
    ck_assert_uint_eq(cs.hits_disk, NK);
    /* Importing with a matching arch filter works, and again is harmless. */
    TU_OK(ctx, dsmlp_bundle_import(ctx, f.bundle, "sm_80,sm_90, sm_90a", &imported));
    ck_assert_int_eq(imported, NK);
    ck_assert_int_eq(ts_count_files(dst), NK);
    dsmlp_ctx_free(c2);
    dsmlp_ctx_free(ctx);
    tu_rmtree(dst);
    free(dst);
    fixture_free(&f);
}
END_TEST

START_TEST(chosen_keys_and_determinism)
{
    fixture f;
    fixture_make(&f);
    dsmlp_ctx *ctx = ts_ctx_in(f.src_dir);
    char p1[PATH_MAX], p2[PATH_MAX];
    snprintf(p1, sizeof p1, "%s/two.dsb", f.tmp);
    snprintf(p2, sizeof p2, "%s/again.dsb", f.tmp);
    const char *keys[2] = {f.key[2], f.key[0]};
    TU_OK(ctx, dsmlp_bundle_write(ctx, p1, keys, 2));
    const char *keys_rev[3] = {f.key[0], f.key[2], f.key[0]};   /* order and repeats do not matter */
    TU_OK(ctx, dsmlp_bundle_write(ctx, p2, keys_rev, 3));
    size_t n1, n2;
    uint8_t *b1 = ts_read_file(p1, &n1), *b2 = ts_read_file(p2, &n2);
    ck_assert(n1 == n2 && memcmp(b1, b2, n1) == 0);
    free(b1);
    free(b2);
    /* Same store, same bundle bytes, whoever writes it. */
    dsmlp_ctx *c2 = tu_ctx();
    TU_OK(c2, dsmlp_bundle_write(c2, p2, NULL, 0));
    b1 = ts_read_file(f.bundle, &n1);
    b2 = ts_read_file(p2, &n2);
    ck_assert(n1 == n2 && memcmp(b1, b2, n1) == 0);
    free(b1);
    free(b2);
    dsmlp_ctx_free(c2);

    char *dst = tu_tmpdir("bun-dst2");
    dsmlp_ctx *c3 = ts_ctx_in(dst);
    int imported;
    TU_OK(c3, dsmlp_bundle_import(c3, p1, "sm_80,sm_90", &imported));
    ck_assert_int_eq(imported, 2);
    ts_assert_valid_entry(dst, f.key[0]);
    ts_assert_valid_entry(dst, f.key[2]);
    ck_assert_int_eq(ts_count_files(dst), 2);

    /* Unknown and malformed keys. */
    const char *missing[1] = {"0000000000000000000000000000000000000000000000000000000000000000"};
    TU_CHECK(ctx, dsmlp_bundle_write(ctx, p1, missing, 1), DSMLP_ERR_NOT_FOUND);
    TU_MSG_HAS(ctx, missing[0]);
    const char *bad[1] = {"xyz"};
    TU_CHECK(ctx, dsmlp_bundle_write(ctx, p1, bad, 1), DSMLP_ERR_INVALID_ARG);
    TU_MSG_HAS(ctx, "'xyz' is not 64 hex digits");
    /* p1 is still the good two-entry bundle (failed writes leave no file). */
    TU_OK(c3, dsmlp_bundle_import(c3, p1, NULL, &imported));
    ck_assert_int_eq(imported, 2);
    char nodir[PATH_MAX];
    snprintf(nodir, sizeof nodir, "%s/no/such/dir/x.dsb", f.tmp);
    TU_CHECK(ctx, dsmlp_bundle_write(ctx, nodir, NULL, 0), DSMLP_ERR_IO);
    TU_MSG_HAS(ctx, nodir);
    char *left = ts_listing(f.tmp);
    ck_assert_str_eq(left, "again.dsb\nall.dsb\ntwo.dsb\n");   /* no temp files left behind */
    free(left);
    dsmlp_ctx_free(c3);
    dsmlp_ctx_free(ctx);
    tu_rmtree(dst);
    free(dst);
    fixture_free(&f);
}
END_TEST

/* ------------------------------------------------------------- refusals */

typedef enum {
    ALTER_PAYLOAD, ALTER_INDEX, ALTER_TRAILER, TRUNCATE, TRUNCATE_HEADER, EXTEND, FOREIGN_VERSION, FOREIGN_ARCH,
    NOT_A_BUNDLE, EMPTY_FILE, CONTROL_NAME, NREFUSE
} refusal;

static void refuse(refusal r)
{
    fixture f;
    fixture_make(&f);
    size_t n;
    uint8_t *b = ts_read_file(f.bundle, &n);
    uint8_t *m = malloc(n + 1);
    memcpy(m, b, n);
    size_t mn = n;
    const char *arch = NULL;
    dsmlp_status want = DSMLP_ERR_CORRUPT;
    const char *msg = "";
    size_t payload0 = 64 + NK * 224;
    switch (r) {
    case ALTER_PAYLOAD:
        m[payload0 + tu_next() % (n - 32 - payload0)] ^= 0x10;
        msg = "checksum mismatch";
        break;
    case ALTER_INDEX:
        m[64 + tu_next() % (NK * 224)] ^= 0x01;
        msg = "checksum mismatch";
        break;
    case ALTER_TRAILER:
        m[n - 1 - tu_next() % 32] ^= 0x80;
        msg = "checksum mismatch";
        break;
    case TRUNCATE:
        mn = 96 + (size_t)(tu_next() % (n - 96));
        msg = "truncated";
        break;
    case TRUNCATE_HEADER:
        mn = 8 + (size_t)(tu_next() % 80);
        msg = "truncated";
        break;
    case EXTEND:
        m[n] = 0;
        mn = n + 1;
        msg = "header says";
        break;
    case FOREIGN_VERSION: {   /* a well-formed bundle from "0.0.9": checksum recomputed */
        memset(m + 16, 0, 16);
        memcpy(m + 16, "0.0.9", 5);
        blake2b(m + n - 32, m, NULL, 32, n - 32, 0);
        want = DSMLP_ERR_VERSION;
        msg = "written by dsmlp 0.0.9";
        break;
    }
    case FOREIGN_ARCH:   /* a valid bundle with an arch list that has an unknown arch */
        arch = "sm_90,sm_99";
        want = DSMLP_ERR_INVALID_ARG;
        msg = "unknown arch 'sm_99'";
        break;
    case NOT_A_BUNDLE:
        memcpy(m, "#!/bin/sh\n", 10);
        msg = "not a dsmlp bundle";
        break;
    case EMPTY_FILE:
        mn = 0;
        msg = "not a dsmlp bundle";
        break;
    case CONTROL_NAME:   /* issue 15, defect 7: terminal escapes and a fake line in a kernel name */
        memcpy(m + 64 + 48, "k\x1b[2J\nfake", 10);
        blake2b(m + n - 32, m, NULL, 32, n - 32, 0);
        msg = "kernel name";
        break;
    default: break;
    }
    char bad[PATH_MAX];
    snprintf(bad, sizeof bad, "%s/bad.dsb", f.tmp);
    ts_write_file(bad, m, mn);
    /* A store that already holds something. */
    char *dst = tu_tmpdir("bun-refuse");
    dsmlp_ctx *ctx = ts_ctx_in(dst);
    char *own = ts_source("k_own");
    const void *c;
    size_t l;
    char k[65];
    TU_OK(ctx, dsmlpR_store_get(ts_store(ctx), ctx, "k_own", own, "sm_90", &c, &l, k));
    char *before = ts_snapshot(dst);
    int imported = -1;
    TU_CHECK(ctx, dsmlp_bundle_import(ctx, bad, arch, &imported), want);
    TU_MSG_HAS(ctx, msg);
    TU_MSG_HAS(ctx, bad);
    ck_assert_int_eq(imported, 0);
    char *after = ts_snapshot(dst);
    ck_assert_str_eq(before, after);   /* names and contents unchanged */
    /* Nothing got into memory either: the kernels still need compiling. */
    dsmlp_cache_reset_stats(ctx);
    TU_OK(ctx, dsmlpR_store_get(ts_store(ctx), ctx, knames[1], f.src[1], karchs[1], &c, &l, k));
    dsmlp_cache_stats cs;
    dsmlp_cache_get_stats(ctx, &cs);
    ck_assert_uint_eq(cs.compiles, 1);
    free(before);
    free(after);
    free(own);
    free(b);
    free(m);
    dsmlp_ctx_free(ctx);
    tu_rmtree(dst);
    free(dst);
    fixture_free(&f);
}

START_TEST(bad_bundles_refused_store_untouched) { refuse((refusal)_i); }
END_TEST

/* Issue 14: a multi-arch bundle (a mixed fleet) imports every verified entry
** without the importer naming the archs; an arch list keeps only those
** archs' entries and their arch-specific forms (sm_90 keeps sm_90a: a plan
** for sm_90 carries sm_90a kernels), the others verified and skipped. */
START_TEST(fleet_bundles)
{
    fixture f;
    fixture_make(&f);
    for (int pass = 0; pass < 2; pass++) {
        char *dst = tu_tmpdir("bun-fleet");
        dsmlp_ctx *ctx = ts_ctx_in(dst);
        int imported = -1;
        TU_OK(ctx, dsmlp_bundle_import(ctx, f.bundle, pass ? "sm_90" : NULL, &imported));
        int want = 0;
        for (int i = 0; i < NK; i++) want += !pass || !strncmp(karchs[i], "sm_90", 5);
        ck_assert_int_eq(imported, want);
        ck_assert_int_eq(ts_count_files(dst), want);
        for (int i = 0; i < NK; i++)
            if (!pass || !strncmp(karchs[i], "sm_90", 5)) ts_assert_valid_entry(dst, f.key[i]);
        dsmlp_ctx_free(ctx);
        tu_rmtree(dst);
        free(dst);
    }
    fixture_free(&f);
}
END_TEST

START_TEST(import_arguments)
{
    char *dir = tu_tmpdir("bun-args");
    dsmlp_ctx *ctx = ts_ctx_in(dir);
    int imported = 5;
    char missing[PATH_MAX];
    snprintf(missing, sizeof missing, "%s/nope.dsb", dir);
    TU_CHECK(ctx, dsmlp_bundle_import(ctx, missing, NULL, &imported), DSMLP_ERR_NOT_FOUND);
    TU_MSG_HAS(ctx, missing);
    ck_assert_int_eq(imported, 0);
    TU_CHECK(ctx, dsmlp_bundle_import(ctx, NULL, NULL, &imported), DSMLP_ERR_INVALID_ARG);
    /* A bad arch list is an argument error, checked on a good bundle. */
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/empty.dsb", dir);
    TU_OK(ctx, dsmlp_bundle_write(ctx, path, NULL, 0));   /* empty store: empty bundle */
    TU_OK(ctx, dsmlp_bundle_import(ctx, path, NULL, &imported));
    ck_assert_int_eq(imported, 0);
    TU_CHECK(ctx, dsmlp_bundle_import(ctx, path, "sm_90,sm_75", &imported), DSMLP_ERR_INVALID_ARG);
    TU_MSG_HAS(ctx, "unknown arch 'sm_75'");
    TU_CHECK(ctx, dsmlp_bundle_import(ctx, path, ",", &imported), DSMLP_ERR_INVALID_ARG);
    dsmlp_ctx_free(ctx);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* With the disk off, an import fills the memory cache. */
START_TEST(import_memory_only)
{
    fixture f;
    fixture_make(&f);
    setenv("DSMLP_CACHE", "off", 1);
    dsmlp_ctx *ctx = tu_ctx();
    int imported;
    TU_OK(ctx, dsmlp_bundle_import(ctx, f.bundle, NULL, &imported));
    ck_assert_int_eq(imported, NK);
    for (int i = 0; i < NK; i++) {
        const void *c;
        size_t l;
        char k[65];
        TU_OK(ctx, dsmlpR_store_get(ts_store(ctx), ctx, knames[i], f.src[i], karchs[i], &c, &l, k));
    }
    dsmlp_cache_stats cs;
    dsmlp_cache_get_stats(ctx, &cs);
    ck_assert_uint_eq(cs.compiles, 0);
    ck_assert_uint_eq(cs.hits_memory, NK);
    /* and a memory-only store can export them again, byte for byte */
    char again[PATH_MAX];
    snprintf(again, sizeof again, "%s/again.dsb", f.tmp);
    TU_OK(ctx, dsmlp_bundle_write(ctx, again, NULL, 0));
    size_t n1, n2;
    uint8_t *b1 = ts_read_file(f.bundle, &n1), *b2 = ts_read_file(again, &n2);
    ck_assert(n1 == n2 && memcmp(b1, b2, n1) == 0);
    free(b1);
    free(b2);
    unsetenv("DSMLP_CACHE");
    dsmlp_ctx_free(ctx);
    fixture_free(&f);
}
END_TEST

/* The whole path: plans built in one store, shipped as a bundle, imported
** into an empty store; building the same plans there compiles nothing. */
static dsmlp_graph *block(dsmlp_ctx *ctx, int swiglu)
{
    dsmlp_mlp_config cfg;
    dsmlp_mlp_config_default(&cfg);
    cfg.hidden = 512;
    if (swiglu) {
        cfg.intermediate = 1408;
        cfg.dtype = DSMLP_BF16;
        cfg.activation = DSMLP_MLP_GATED_SILU;
        cfg.norm = DSMLP_NORM_RMSNORM;
        cfg.attn_bias = cfg.norm_bias = cfg.bias1 = cfg.bias2 = 0;
    }
    dsmlp_graph *g;
    TU_OK(ctx, dsmlp_graph_create(ctx, swiglu ? "swiglu" : "gelu", &g));
    TU_OK(ctx, dsmlp_mlp_build(g, &cfg));
    return g;
}

static int build_all(dsmlp_ctx *ctx, char keys[][65], int cap, double *secs)
{
    static const char *const archs[2] = {"sm_80", "sm_90"};
    int n = 0;
    double t0 = ts_now();
    for (int sw = 0; sw < 2; sw++)
        for (int a = 0; a < 2; a++) {
            dsmlp_graph *g = block(ctx, sw);
            dsmlp_compile_options o;
            dsmlp_compile_options_default(&o);
            o.arch = archs[a];
            dsmlp_plan *p;
            TU_OK(ctx, dsmlp_plan_build(ctx, g, &o, &p));
            for (int i = 0; i < dsmlp_plan_kernels(p); i++) {
                const char *name, *key;
                TU_OK(ctx, dsmlp_plan_kernel(p, i, &name, &key));
                ck_assert_int_lt(n, cap);
                snprintf(keys[n++], 65, "%s", key);
            }
            dsmlp_plan_free(p);
            dsmlp_graph_free(g);
        }
    *secs = ts_now() - t0;
    return n;
}

START_TEST(plan_build_after_import_compiles_nothing)
{
    char *d1 = tu_tmpdir("bun-plan1"), *d2 = tu_tmpdir("bun-plan2"), *t = tu_tmpdir("bun-plan3");
    char bundle[PATH_MAX];
    snprintf(bundle, sizeof bundle, "%s/model.dsb", t);
    char k1[64][65], k2[64][65];
    double cold, warm;
    dsmlp_ctx *ctx = ts_ctx_in(d1);
    int n1 = build_all(ctx, k1, 64, &cold);
    dsmlp_cache_stats cs;
    dsmlp_cache_get_stats(ctx, &cs);
    ck_assert_int_gt(n1, 0);
    ck_assert_uint_gt(cs.compiles, 0);
    TU_OK(ctx, dsmlp_bundle_write(ctx, bundle, NULL, 0));
    dsmlp_ctx_free(ctx);

    ctx = ts_ctx_in(d2);
    int imported;
    TU_OK(ctx, dsmlp_bundle_import(ctx, bundle, "sm_80,sm_90", &imported));
    ck_assert_int_eq(imported, (int)cs.compiles);
    dsmlp_ctx_free(ctx);
    ctx = tu_ctx();   /* a fresh context: nothing in memory */
    int n2 = build_all(ctx, k2, 64, &warm);
    dsmlp_cache_get_stats(ctx, &cs);
    ck_assert_int_eq(n2, n1);
    ck_assert_uint_eq(cs.compiles, 0);
    ck_assert_uint_eq(cs.misses, 0);
    ck_assert_uint_gt(cs.hits_disk, 0);
    for (int i = 0; i < n1; i++) ck_assert_str_eq(k1[i], k2[i]);
    fprintf(stderr, "timing: GELU + SwiGLU blocks (H=512) for sm_80 + sm_90: %d kernels, cold plan builds %.0f ms, "
            "after bundle import %.1f ms (0 compiles)\n", n1, cold * 1e3, warm * 1e3);
    dsmlp_ctx_free(ctx);
    tu_rmtree(d1);
    tu_rmtree(d2);
    tu_rmtree(t);
    free(d1);
    free(d2);
    free(t);
}
END_TEST

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--child") == 0) return ts_child_main(argc, argv);
    unsetenv("DSMLP_CACHE");
    unsetenv("DSMLP_CACHE_MAX_MB");
    Suite *s = suite_create("bundle");
    TCase *tc = tcase_create("bundle");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, round_trip_needs_no_compile);
    tcase_add_test(tc, chosen_keys_and_determinism);
    tcase_add_loop_test(tc, bad_bundles_refused_store_untouched, 0, NREFUSE);
    tcase_add_test(tc, import_arguments);
    tcase_add_test(tc, fleet_bundles);
    tcase_add_test(tc, import_memory_only);
    tcase_add_test(tc, plan_build_after_import_compiles_nothing);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
