/* test_bundle_trust.c — issue 15, defect 3: a forged bundle with recomputed
** checksums used to be accepted and poison the store (a fake 23-byte payload
** under a real key was then served as cached). Import now checks each
** payload's structure (a cubin for the entry's arch defining the entry's
** kernel; or a "tune:" text record), and signed bundles (Ed25519) are
** required once a trusted key is configured. */
#include <blake2.h>
#include <sys/stat.h>
#include "test_store_common.h"

/* ------------------------------------------------------------ forging */

typedef struct forged {
    const char    *key;       /* hex */
    const char    *arch, *kernel;
    const uint8_t *payload;
    size_t         len;
} forged;

/* Writes a well-formed (checksums right) unsigned bundle of the given
** entries, as an attacker with the format description can. */
static void forge(const char *path, const forged *e, int n)
{
    size_t total = 64 + (size_t)n * 224 + 32;
    for (int i = 0; i < n; i++) total += e[i].len;
    uint8_t *b = calloc(1, total);
    memcpy(b, "DSMLPBN\1", 8);
    b[8] = 1;
    b[12] = (uint8_t)n;
    memcpy(b + 16, DSMLP_VERSION_STRING, strlen(DSMLP_VERSION_STRING));
    for (int k = 0; k < 8; k++) b[32 + k] = (uint8_t)((uint64_t)total >> (8 * k));
    size_t off = 64 + (size_t)n * 224;
    for (int i = 0; i < n; i++) {
        uint8_t *ix = b + 64 + (size_t)i * 224;
        ck_assert_int_eq(dsmlpR_store_unhex(e[i].key, ix), 0);
        memcpy(ix + 32, e[i].arch, strlen(e[i].arch));
        memcpy(ix + 48, e[i].kernel, strlen(e[i].kernel));
        for (int k = 0; k < 8; k++) ix[176 + k] = (uint8_t)((uint64_t)off >> (8 * k));
        for (int k = 0; k < 8; k++) ix[184 + k] = (uint8_t)((uint64_t)e[i].len >> (8 * k));
        blake2b(ix + 192, e[i].payload, NULL, 32, e[i].len, 0);
        memcpy(b + off, e[i].payload, e[i].len);
        off += e[i].len;
    }
    blake2b(b + total - 32, b, NULL, 32, total - 32, 0);
    ts_write_file(path, b, total);
    free(b);
}

typedef struct real_kernel {
    char    *src;
    char     key[65];
    uint8_t *cubin;
    size_t   len;
} real_kernel;

/* A real kernel compiled into dir's store. */
static void real_make(real_kernel *r, dsmlp_ctx *ctx, const char *name, const char *arch)
{
    r->src = ts_source(name);
    const void *c;
    TU_OK(ctx, dsmlpR_store_get(ts_store(ctx), ctx, name, r->src, arch, &c, &r->len, r->key));
    r->cubin = malloc(r->len);
    memcpy(r->cubin, c, r->len);
}

static void real_free(real_kernel *r)
{
    free(r->src);
    free(r->cubin);
}

/* Imports path into an empty store; expects `want` and a message holding
** msg; on refusal the store must stay empty. */
static void import_expect(const char *path, dsmlp_status want, const char *msg)
{
    char *dir = tu_tmpdir("trust-dst");
    dsmlp_ctx *ctx = ts_ctx_in(dir);
    int imported = -1;
    TU_CHECK(ctx, dsmlp_bundle_import(ctx, path, NULL, &imported), want);
    if (msg) TU_MSG_HAS(ctx, msg);
    if (want != DSMLP_OK) ck_assert_int_eq(ts_count_files(dir), 0);
    dsmlp_ctx_free(ctx);
    tu_rmtree(dir);
    free(dir);
}

START_TEST(forged_payloads_refused)
{
    char *src = tu_tmpdir("trust-src"), *tmp = tu_tmpdir("trust-tmp");
    dsmlp_ctx *ctx = ts_ctx_in(src);
    real_kernel a80, b90;
    real_make(&a80, ctx, "k_trust_a", "sm_80");
    real_make(&b90, ctx, "k_trust_b", "sm_90");
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/forged.dsb", tmp);
    static const uint8_t fake[23] = "not a kernel, 23 bytes";

    /* the reported attack: 23 bytes under a real kernel's key */
    forge(path, (forged[]){{b90.key, "sm_90", "k_trust_b", fake, sizeof fake}}, 1);
    import_expect(path, DSMLP_ERR_CORRUPT, "not an ELF file");
    /* an ELF that is not a cubin */
    size_t self_n;
    uint8_t *self = ts_read_file("/proc/self/exe", &self_n);
    forge(path, (forged[]){{b90.key, "sm_90", "k_trust_b", self, self_n}}, 1);
    import_expect(path, DSMLP_ERR_CORRUPT, "not a 64-bit CUDA cubin");
    free(self);
    /* a real cubin relabelled for another arch */
    forge(path, (forged[]){{b90.key, "sm_90", "k_trust_a", a80.cubin, a80.len}}, 1);
    import_expect(path, DSMLP_ERR_CORRUPT, "another GPU architecture");
    /* a real cubin under another kernel's name */
    forge(path, (forged[]){{b90.key, "sm_80", "k_trust_b", a80.cubin, a80.len}}, 1);
    import_expect(path, DSMLP_ERR_CORRUPT, "does not define the entry's kernel");
    /* one bad entry refuses the whole bundle */
    forge(path, (forged[]){{a80.key, "sm_80", "k_trust_a", a80.cubin, a80.len},
                           {b90.key, "sm_90", "k_trust_b", fake, sizeof fake}}, 2);
    import_expect(path, DSMLP_ERR_CORRUPT, "entry 1 (kernel k_trust_b, sm_90) is refused");
    /* what the store itself wrote passes */
    forge(path, (forged[]){{a80.key, "sm_80", "k_trust_a", a80.cubin, a80.len},
                           {b90.key, "sm_90", "k_trust_b", b90.cubin, b90.len}}, 2);
    import_expect(path, DSMLP_OK, NULL);
    dsmlp_ctx_free(ctx);
    real_free(&a80);
    real_free(&b90);
    tu_rmtree(src);
    tu_rmtree(tmp);
    free(src);
    free(tmp);
}
END_TEST

/* Tuning records ("tune:..." entries of text) are not cubins. */
START_TEST(tuning_records)
{
    char *tmp = tu_tmpdir("trust-tune");
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/tune.dsb", tmp);
    const char *key = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    static const char good[] = "dsmlp-tune 1\ngemm n=4096 k=4096 T<=8 gemv\n";
    forge(path, (forged[]){{key, "sm_90", "tune:gemm_4096", (const uint8_t *)good, sizeof good - 1}}, 1);
    import_expect(path, DSMLP_OK, NULL);
    static const char head[] = "dsmlp-tune 2\nx\n";
    forge(path, (forged[]){{key, "sm_90", "tune:gemm_4096", (const uint8_t *)head, sizeof head - 1}}, 1);
    import_expect(path, DSMLP_ERR_CORRUPT, "must start with the line \"dsmlp-tune 1\"");
    static const char bin[] = "dsmlp-tune 1\n\x7f" "ELF\x01";
    forge(path, (forged[]){{key, "sm_90", "tune:gemm_4096", (const uint8_t *)bin, sizeof bin - 1}}, 1);
    import_expect(path, DSMLP_ERR_CORRUPT, "must be printable text");
    tu_rmtree(tmp);
    free(tmp);
}
END_TEST

/* ------------------------------------------------------------- signing */

START_TEST(signed_bundles)
{
    char *src = tu_tmpdir("trust-sig-src"), *tmp = tu_tmpdir("trust-sig");
    char sk[PATH_MAX], pk[PATH_MAX], sk2[PATH_MAX], pk2[PATH_MAX], signed_path[PATH_MAX], plain[PATH_MAX],
        other[PATH_MAX];
    snprintf(sk, sizeof sk, "%s/a.key", tmp);
    snprintf(pk, sizeof pk, "%s/a.pub", tmp);
    snprintf(sk2, sizeof sk2, "%s/b.key", tmp);
    snprintf(pk2, sizeof pk2, "%s/b.pub", tmp);
    snprintf(signed_path, sizeof signed_path, "%s/signed.dsb", tmp);
    snprintf(plain, sizeof plain, "%s/plain.dsb", tmp);
    snprintf(other, sizeof other, "%s/other.dsb", tmp);
    dsmlp_ctx *ctx = ts_ctx_in(src);
    TU_OK(ctx, dsmlp_keygen(ctx, sk, pk));
    TU_OK(ctx, dsmlp_keygen(ctx, sk2, pk2));
    struct stat st;
    ck_assert_int_eq(stat(sk, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);   /* the secret stays private */
    TU_CHECK(ctx, dsmlp_keygen(ctx, sk, pk), DSMLP_ERR_IO);   /* never overwritten */
    TU_MSG_HAS(ctx, "exists; not overwritten");
    real_kernel k;
    real_make(&k, ctx, "k_sig", "sm_90");
    TU_OK(ctx, dsmlp_bundle_write_signed(ctx, signed_path, NULL, 0, sk));
    TU_OK(ctx, dsmlp_bundle_write_signed(ctx, other, NULL, 0, sk2));
    TU_OK(ctx, dsmlp_bundle_write(ctx, plain, NULL, 0));
    TU_CHECK(ctx, dsmlp_bundle_write_signed(ctx, plain, NULL, 0, pk), DSMLP_ERR_CORRUPT);   /* a public key */
    TU_MSG_HAS(ctx, "is not a secret key file");
    dsmlp_ctx_free(ctx);

    /* without trusted keys: signed and unsigned both import */
    import_expect(signed_path, DSMLP_OK, NULL);
    import_expect(plain, DSMLP_OK, NULL);

    char *dir = tu_tmpdir("trust-sig-dst");
    ctx = ts_ctx_in(dir);
    TU_OK(ctx, dsmlp_bundle_trust(ctx, pk));
    TU_CHECK(ctx, dsmlp_bundle_trust(ctx, sk), DSMLP_ERR_CORRUPT);
    int imported = -1;
    TU_CHECK(ctx, dsmlp_bundle_import(ctx, plain, NULL, &imported), DSMLP_ERR_CORRUPT);
    TU_MSG_HAS(ctx, "not signed");
    TU_CHECK(ctx, dsmlp_bundle_import(ctx, other, NULL, &imported), DSMLP_ERR_CORRUPT);
    TU_MSG_HAS(ctx, "which is not a trusted key");
    ck_assert_int_eq(ts_count_files(dir), 0);
    /* tampering after signing: a flipped signature byte, or a flipped
    ** payload byte with the checksums recomputed */
    size_t n;
    uint8_t *b = ts_read_file(signed_path, &n);
    char bad[PATH_MAX];
    snprintf(bad, sizeof bad, "%s/bad.dsb", tmp);
    b[n - 128 + 8 + 32 + 5] ^= 1;
    ts_write_file(bad, b, n);
    TU_CHECK(ctx, dsmlp_bundle_import(ctx, bad, NULL, &imported), DSMLP_ERR_CORRUPT);
    TU_MSG_HAS(ctx, "signature does not verify");
    b[n - 128 + 8 + 32 + 5] ^= 1;
    b[64 + 224 + 100] ^= 1;
    blake2b(b + 64 + 192, b + 64 + 224, NULL, 32, n - 128 - 32 - 64 - 224, 0);
    blake2b(b + n - 128 - 32, b, NULL, 32, n - 128 - 32, 0);
    ts_write_file(bad, b, n);
    TU_CHECK(ctx, dsmlp_bundle_import(ctx, bad, NULL, &imported), DSMLP_ERR_CORRUPT);
    TU_MSG_HAS(ctx, "signature does not verify");
    /* the signature block cut off: an unsigned bundle, refused */
    ts_write_file(bad, b, n - 128);
    TU_CHECK(ctx, dsmlp_bundle_import(ctx, bad, NULL, &imported), DSMLP_ERR_CORRUPT);
    TU_MSG_HAS(ctx, "not signed");
    ck_assert_int_eq(ts_count_files(dir), 0);
    /* the real one passes and serves the kernel without compiling */
    TU_OK(ctx, dsmlp_bundle_import(ctx, signed_path, NULL, &imported));
    ck_assert_int_eq(imported, 1);
    const void *c;
    size_t l;
    char key[65];
    TU_OK(ctx, dsmlpR_store_get(ts_store(ctx), ctx, "k_sig", k.src, "sm_90", &c, &l, key));
    dsmlp_cache_stats cs;
    dsmlp_cache_get_stats(ctx, &cs);
    ck_assert_uint_eq(cs.compiles, 0);
    free(b);
    real_free(&k);
    dsmlp_ctx_free(ctx);
    tu_rmtree(dir);
    tu_rmtree(src);
    tu_rmtree(tmp);
    free(dir);
    free(src);
    free(tmp);
}
END_TEST

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--child") == 0) return ts_child_main(argc, argv);
    unsetenv("DSMLP_CACHE");
    unsetenv("DSMLP_CACHE_MAX_MB");
    Suite *s = suite_create("bundle_trust");
    TCase *tc = tcase_create("trust");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, forged_payloads_refused);
    tcase_add_test(tc, tuning_records);
    tcase_add_test(tc, signed_bundles);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
