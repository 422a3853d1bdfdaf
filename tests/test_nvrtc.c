/* test_nvrtc.c — NVRTC to cubin: every arch, bad arch, missing headers,
** syntax errors (log + dumped source), dumps, options; a cubin's registers
** and stack frame read back (cubin_info.c). No GPU needed. */
#include "test_store_common.h"
#include "runtime/cubin_info.h"

static const char *const all_archs[] = {"sm_80", "sm_86", "sm_89", "sm_90", "sm_90a"};

START_TEST(every_arch_compiles_to_sass)
{
    dsmlp_ctx *ctx = tu_ctx();
    char *src = ts_source("k_every_arch");
    for (int i = 0; i < 5; i++) {
        ck_assert(dsmlpR_nvrtc_arch_valid(all_archs[i]));
        void *cubin = NULL;
        size_t len = 0;
        double t0 = ts_now();
        TU_OK(ctx, dsmlpR_nvrtc_compile(ctx, "k_every_arch", src, all_archs[i], &cubin, &len));
        fprintf(stderr, "nvrtc %s: %zu-byte cubin in %.1f ms\n", all_archs[i], len, (ts_now() - t0) * 1e3);
        /* A cubin is an ELF image (PTX would be text starting with "//"). */
        ck_assert_uint_gt(len, 64);
        ck_assert(memcmp(cubin, "\x7f" "ELF", 4) == 0);
        /* The kernel symbol is in it. */
        ck_assert_ptr_nonnull(memmem(cubin, len, "k_every_arch", strlen("k_every_arch")));
        free(cubin);
        const char *o = dsmlpR_nvrtc_options_string(all_archs[i]);
        char want[64];
        snprintf(want, sizeof want, "--gpu-architecture=%s ", all_archs[i]);
        ck_assert_msg(strncmp(o, want, strlen(want)) == 0, "options '%s'", o);
        ck_assert_ptr_null(strstr(o, "fast"));   /* no fast-math */
        ck_assert_ptr_null(strstr(o, "-I"));     /* the include dir is not part of the key */
    }
    free(src);
    dsmlp_ctx_free(ctx);
}
END_TEST

START_TEST(invalid_arch_rejected)
{
    dsmlp_ctx *ctx = tu_ctx();
    const char *bad[] = {"sm_75", "sm_100", "compute_90", "SM_90", "sm_9", "", "sm_90a ", NULL};
    char *src = ts_source("k_bad_arch");
    for (int i = 0; i < 8; i++) {
        void *cubin = (void *)1;
        size_t len = 1;
        ck_assert(!dsmlpR_nvrtc_arch_valid(bad[i]));
        ck_assert_str_eq(dsmlpR_nvrtc_options_string(bad[i]), "");
        TU_CHECK(ctx, dsmlpR_nvrtc_compile(ctx, "k_bad_arch", src, bad[i], &cubin, &len), DSMLP_ERR_INVALID_ARG);
        TU_MSG_HAS(ctx, "unknown target arch");
        TU_MSG_HAS(ctx, bad[i] ? bad[i] : "(null)");
        ck_assert_ptr_null(cubin);
        ck_assert_uint_eq(len, 0);
        char key[65];
        TU_CHECK(ctx, dsmlpR_store_key(ctx, src, bad[i], key), DSMLP_ERR_INVALID_ARG);
        TU_MSG_HAS(ctx, "sm_80, sm_86, sm_89, sm_90, sm_90a");
    }
    free(src);
    dsmlp_ctx_free(ctx);
}
END_TEST

START_TEST(missing_headers_say_which_path)
{
    setenv("DSMLP_CUDA_INCLUDE", "/nonexistent", 1);
    dsmlp_ctx *ctx = tu_ctx();
    char *src = ts_source("k_no_headers");
    void *cubin;
    size_t len;
    TU_CHECK(ctx, dsmlpR_nvrtc_compile(ctx, "k_no_headers", src, "sm_90", &cubin, &len), DSMLP_ERR_COMPILE);
    TU_MSG_HAS(ctx, "/nonexistent/cuda_fp16.h");
    TU_MSG_HAS(ctx, "set DSMLP_CUDA_INCLUDE");
    TU_MSG_HAS(ctx, "from DSMLP_CUDA_INCLUDE");
    /* Through the store too, and nothing lands on disk. */
    char *dir = tu_tmpdir("nvrtc-hdr");
    dsmlp_ctx *c2 = ts_ctx_in(dir);
    const void *cb;
    char key[65];
    TU_CHECK(c2, dsmlpR_store_get(ts_store(c2), c2, "k_no_headers", src, "sm_80", &cb, &len, key), DSMLP_ERR_COMPILE);
    TU_MSG_HAS(c2, "/nonexistent/cuda_fp16.h");
    ck_assert_int_eq(ts_count_files(dir), 0);
    /* The build-time default works for a context made without the variable
    ** (options are read once, at creation). */
    unsetenv("DSMLP_CUDA_INCLUDE");
    dsmlp_ctx_free(ctx);
    ctx = tu_ctx();
    TU_OK(ctx, dsmlpR_nvrtc_compile(ctx, "k_no_headers", src, "sm_90", &cubin, &len));
    free(cubin);
    dsmlp_ctx_free(c2);
    tu_rmtree(dir);
    free(dir);
    free(src);
    dsmlp_ctx_free(ctx);
}
END_TEST

static const char *broken_src =
    "extern \"C\" __global__ void k_broken(long long T, float *x)\n"
    "{\n"
    "    x[0] = undeclared_thing + ;\n"
    "}\n";

/* The message names the dump path; returns it (static). */
static const char *dump_path_in(const char *msg)
{
    static char path[PATH_MAX];
    const char *p = strstr(msg, "source dumped to ");
    ck_assert_msg(p != NULL, "no dump path in: %s", msg);
    p += strlen("source dumped to ");
    size_t n = strcspn(p, ";");
    snprintf(path, sizeof path, "%.*s", (int)n, p);
    return path;
}

START_TEST(syntax_error_gives_log_and_dump)
{
    unsetenv("DSMLP_DUMP_DIR");
    dsmlp_ctx *ctx = tu_ctx();
    void *cubin;
    size_t len;
    TU_CHECK(ctx, dsmlpR_nvrtc_compile(ctx, "k_broken", broken_src, "sm_80", &cubin, &len), DSMLP_ERR_COMPILE);
    TU_MSG_HAS(ctx, "k_broken");
    TU_MSG_HAS(ctx, "sm_80");
    TU_MSG_HAS(ctx, "undeclared_thing");   /* NVRTC's log */
    TU_MSG_HAS(ctx, "error");
    const char *path = dump_path_in(dsmlp_last_error(ctx));
    size_t n;
    char *b = ts_read_file(path, &n);   /* a temp file we made and named */
    ck_assert_uint_eq(n, strlen(broken_src));
    ck_assert(memcmp(b, broken_src, n) == 0);
    free(b);
    unlink(path);

    /* With DSMLP_DUMP_DIR (created with parents) the source goes there. */
    char *dir = tu_tmpdir("nvrtc-dump");
    char sub[PATH_MAX];
    snprintf(sub, sizeof sub, "%s/a/b", dir);
    setenv("DSMLP_DUMP_DIR", sub, 1);
    dsmlp_ctx_free(ctx);
    ctx = tu_ctx();   /* options are read at creation */
    TU_CHECK(ctx, dsmlpR_nvrtc_compile(ctx, "k_broken", broken_src, "sm_90", &cubin, &len), DSMLP_ERR_COMPILE);
    char want[PATH_MAX + 16];
    snprintf(want, sizeof want, "%s/k_broken.cu", sub);
    ck_assert_str_eq(dump_path_in(dsmlp_last_error(ctx)), want);
    b = ts_read_file(want, &n);
    ck_assert(n == strlen(broken_src) && memcmp(b, broken_src, n) == 0);
    free(b);
    /* Through the store: same status, nothing cached. */
    char *cdir = tu_tmpdir("nvrtc-store");
    dsmlp_ctx *c2 = ts_ctx_in(cdir);
    const void *cb;
    char key[65];
    TU_CHECK(c2, dsmlpR_store_get(ts_store(c2), c2, "k_broken", broken_src, "sm_90", &cb, &len, key), DSMLP_ERR_COMPILE);
    TU_MSG_HAS(c2, "undeclared_thing");
    dsmlp_cache_stats cs;
    dsmlp_cache_get_stats(c2, &cs);
    ck_assert_uint_eq(cs.compiles, 0);
    ck_assert_uint_eq(cs.misses, 1);
    ck_assert_int_eq(ts_count_files(cdir), 0);
    unsetenv("DSMLP_DUMP_DIR");
    dsmlp_ctx_free(c2);
    tu_rmtree(cdir);
    free(cdir);
    tu_rmtree(dir);
    free(dir);
    dsmlp_ctx_free(ctx);
}
END_TEST

/* A kernel whose array is indexed at run time lives in a stack frame (local memory); one with a launch bound of 32
** registers keeps at most 32. cubin_info reads both from the cubin. */
static const char frame_src[] =
    "extern \"C\" __global__ void __launch_bounds__(1024, 2) k_frame(float *x, int n)\n"
    "{\n"
    "    float a[64];\n"
    "    for (int i = 0; i < 64; i++) a[i] = x[i * n + threadIdx.x];\n"
    "    x[threadIdx.x] = a[(threadIdx.x * 7 + n) & 63];\n"
    "}\n";

START_TEST(cubin_registers_and_frame)
{
    dsmlp_ctx *ctx = tu_ctx();
    char *src = ts_source("k_plain");
    const char *why = NULL;
    for (int i = 0; i < 5; i++) {
        void *cubin = NULL;
        size_t len = 0;
        TU_OK(ctx, dsmlpR_nvrtc_compile(ctx, "k_plain", src, all_archs[i], &cubin, &len));
        cubin_resources r = {-1, 99};
        ck_assert_msg(dsmlpR_cubin_resources(cubin, len, "k_plain", &r, &why) == 0, "%s: %s", all_archs[i], why);
        ck_assert_int_ge(r.regs, 4);   /* a load, a multiply, a store */
        ck_assert_int_le(r.regs, 64);
        ck_assert_uint_eq(r.frame_bytes, 0);
        int want_sm = 0;
        ck_assert_int_eq(sscanf(all_archs[i], "sm_%d", &want_sm), 1);
        int defines = -1;
        ck_assert_int_eq(dsmlpR_cubin_sm(cubin, len, "k_plain", &defines, &why), want_sm);
        ck_assert_int_eq(defines, 1);
        ck_assert_int_eq(dsmlpR_cubin_sm(cubin, len, "k_plai", &defines, &why), want_sm);
        ck_assert_int_eq(defines, 0);
        /* Another kernel name: an error naming why, *out untouched. */
        cubin_resources u = {-7, 7};
        ck_assert_int_eq(dsmlpR_cubin_resources(cubin, len, "k_other", &u, &why), -1);
        ck_assert_ptr_nonnull(strstr(why, "does not define"));
        ck_assert_int_eq(u.regs, -7);
        /* A cut or altered image is refused, never misread. */
        ck_assert_int_eq(dsmlpR_cubin_resources(cubin, 40, "k_plain", &u, &why), -1);
        ck_assert_ptr_nonnull(strstr(why, "not an ELF file"));
        ((unsigned char *)cubin)[18] ^= 0x01;   /* e_machine: no longer EM_CUDA */
        ck_assert_int_eq(dsmlpR_cubin_resources(cubin, len, "k_plain", &u, &why), -1);
        ck_assert_ptr_nonnull(strstr(why, "EM_CUDA"));
        ck_assert_int_eq(dsmlpR_cubin_sm(cubin, len, "k_plain", &defines, &why), -1);
        free(cubin);
    }
    free(src);
    void *cubin = NULL;
    size_t len = 0;
    TU_OK(ctx, dsmlpR_nvrtc_compile(ctx, "k_frame", frame_src, "sm_90", &cubin, &len));
    cubin_resources r = {-1, 0};
    ck_assert_msg(dsmlpR_cubin_resources(cubin, len, "k_frame", &r, &why) == 0, "%s", why);
    ck_assert_int_le(r.regs, 32);
    ck_assert_uint_gt(r.frame_bytes, 0);   /* 216 bytes with CUDA 13.0 (ptxas keeps some of it in registers) */
    free(cubin);
    dsmlp_ctx_free(ctx);
}
END_TEST

START_TEST(dump_source_only_when_asked)
{
    unsetenv("DSMLP_DUMP_DIR");
    char *src = ts_source("k_dump");
    ck_assert_str_eq(dsmlpR_nvrtc_dump_source(NULL, "k_dump", src), "");
    char *dir = tu_tmpdir("nvrtc-dump2");
    setenv("DSMLP_DUMP_DIR", dir, 1);   /* a context made now has it as its dump_dir option */
    dsmlp_ctx *ctx = tu_ctx();
    char want[PATH_MAX];
    snprintf(want, sizeof want, "%s/k_dump.cu", dir);
    ck_assert_str_eq(dsmlp_ctx_get_options(ctx)->dump_dir, dir);
    ck_assert_str_eq(dsmlpR_nvrtc_dump_source(dsmlp_ctx_get_options(ctx)->dump_dir, "k_dump", src), want);
    dsmlp_ctx_free(ctx);
    /* An explicit dir wins; odd characters in names do not escape it. */
    char *dir2 = tu_tmpdir("nvrtc-dump3");
    char want2[PATH_MAX];
    snprintf(want2, sizeof want2, "%s/_._x_y.cu", dir2);
    const char *got = dsmlpR_nvrtc_dump_source(dir2, "../x/y", src);
    ck_assert_str_eq(got, want2);
    size_t n;
    char *b = ts_read_file(want, &n);
    ck_assert(n == strlen(src) && memcmp(b, src, n) == 0);
    free(b);
    ck_assert_int_eq(ts_count_files(dir), 1);   /* no temp file left */
    unsetenv("DSMLP_DUMP_DIR");
    tu_rmtree(dir);
    tu_rmtree(dir2);
    free(dir);
    free(dir2);
    free(src);
}
END_TEST

START_TEST(version_string)
{
    const char *v = dsmlpR_nvrtc_version_string();
    int major = 0, minor = -1;
    ck_assert_int_eq(sscanf(v, "%d.%d", &major, &minor), 2);
    ck_assert_int_ge(major, 11);
    ck_assert_int_ge(minor, 0);
}
END_TEST

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--child") == 0) return ts_child_main(argc, argv);
    Suite *s = suite_create("nvrtc");
    TCase *tc = tcase_create("nvrtc");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, every_arch_compiles_to_sass);
    tcase_add_test(tc, invalid_arch_rejected);
    tcase_add_test(tc, missing_headers_say_which_path);
    tcase_add_test(tc, syntax_error_gives_log_and_dump);
    tcase_add_test(tc, dump_source_only_when_asked);
    tcase_add_test(tc, cubin_registers_and_frame);
    tcase_add_test(tc, version_string);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
