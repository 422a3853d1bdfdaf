/*
** test_safetensors.c — the safetensors reader: well-formed files (lookup,
** info, conversion to every float dtype, names found by their suffix),
** sharded checkpoints through model.safetensors.index.json, and every kind
** of malformed file or index, each with its own error naming the file and
** the tensor.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "testutil.h"
#include "st_util.h"
#include "dtype.h"

static char *dir;
static char path[1024];

static void setup(void) { dir = tu_tmpdir("st"); }
static void teardown(void)
{
    tu_rmtree(dir);
    free(dir);
}

static const char *in_dir(const char *name)
{
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return path;
}

/* Opening `header` + n data bytes fails with want and a message holding the needles. */
#define REFUSES(ctx, header, hlen, nbytes, want, ...)                                               \
    do {                                                                                            \
        static unsigned char data_[4096];                                                           \
        st_write_raw(in_dir("bad.safetensors"), header, hlen, data_, nbytes);                       \
        dsmlp_weights *w_ = (dsmlp_weights *)0x1;                                                   \
        TU_CHECK(ctx, dsmlp_weights_open(ctx, path, &w_), want);                                    \
        ck_assert_ptr_null(w_);                                                                     \
        TU_MSG_HAS(ctx, "bad.safetensors");                                                         \
        const char *needles_[] = {__VA_ARGS__};                                                     \
        for (size_t i_ = 0; i_ < sizeof needles_ / sizeof *needles_; i_++) TU_MSG_HAS(ctx, needles_[i_]); \
    } while (0)

#define T1(name, dt, n, off) "\"" name "\":{\"dtype\":\"" dt "\",\"shape\":[" #n "],\"data_offsets\":" off "}"

START_TEST(malformed_files)
{
    dsmlp_ctx *ctx = tu_ctx();
    /* shorter than the length field */
    FILE *f = fopen(in_dir("bad.safetensors"), "wb");
    fwrite("abcde", 1, 5, f);
    fclose(f);
    dsmlp_weights *w = NULL;
    TU_CHECK(ctx, dsmlp_weights_open(ctx, path, &w), DSMLP_ERR_CORRUPT);
    TU_MSG_HAS(ctx, "5 bytes: too short for a safetensors file");
    REFUSES(ctx, "{}", (uint64_t)200 << 20, 0, DSMLP_ERR_CORRUPT, "header length 209715200 exceeds the 104857600-byte limit");
    REFUSES(ctx, "{}", 5000, 0, DSMLP_ERR_CORRUPT, "truncated: the header is 5000 bytes but only 2 follow");
    REFUSES(ctx, "{\"a\":", UINT64_MAX, 0, DSMLP_ERR_CORRUPT, "the header is not valid JSON");
    REFUSES(ctx, "[1,2]", UINT64_MAX, 0, DSMLP_ERR_CORRUPT, "the header is JSON but not an object");
    REFUSES(ctx, "{\"w\":[1]}", UINT64_MAX, 0, DSMLP_ERR_CORRUPT, "tensor 'w': its header entry is not a JSON object");
    REFUSES(ctx, "{\"w\":{\"shape\":[2],\"data_offsets\":[0,8]}}", UINT64_MAX, 8, DSMLP_ERR_CORRUPT,
            "tensor 'w': \"dtype\" is missing");
    REFUSES(ctx, "{" T1("w", "F17", 2, "[0,8]") "}", UINT64_MAX, 8, DSMLP_ERR_CORRUPT, "tensor 'w': unknown dtype \"F17\"");
    REFUSES(ctx, "{\"w\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", UINT64_MAX, 8, DSMLP_ERR_CORRUPT,
            "tensor 'w': shape[0] is not a non-negative integer");
    REFUSES(ctx, "{\"w\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,2],\"data_offsets\":[0,8]}}", UINT64_MAX, 8,
            DSMLP_ERR_CORRUPT, "tensor 'w': shape has 9 dimensions (at most 8)");
    REFUSES(ctx, "{\"w\":{\"dtype\":\"F32\",\"shape\":[2]}}", UINT64_MAX, 8, DSMLP_ERR_CORRUPT,
            "tensor 'w': \"data_offsets\" is missing");
    REFUSES(ctx, "{" T1("w", "F32", 2, "[8,0]") "}", UINT64_MAX, 8, DSMLP_ERR_CORRUPT,
            "tensor 'w': data_offsets [8, 0] end before they begin");
    /* truncated data: the header promises 8 bytes, 4 are there */
    REFUSES(ctx, "{" T1("w", "F32", 2, "[0,8]") "}", UINT64_MAX, 4, DSMLP_ERR_CORRUPT,
            "tensor 'w': data_offsets [0, 8] reach past the end of the data (4 bytes)", "truncated");
    REFUSES(ctx, "{" T1("w", "F32", 3, "[0,8]") "}", UINT64_MAX, 8, DSMLP_ERR_CORRUPT,
            "tensor 'w': shape [3] of F32 is 12 bytes but data_offsets [0, 8] span 8");
    REFUSES(ctx, "{" T1("a", "F32", 2, "[0,8]") "," T1("b", "F32", 2, "[4,12]") "}", UINT64_MAX, 12, DSMLP_ERR_CORRUPT,
            "tensors 'a' [0, 8) and 'b' [4, 12) overlap");
    REFUSES(ctx, "{" T1("a", "F32", 2, "[0,8]") "," T1("b", "F32", 2, "[12,20]") "}", UINT64_MAX, 20, DSMLP_ERR_CORRUPT,
            "data bytes [8, 12) before tensor 'b' belong to no tensor");
    REFUSES(ctx, "{" T1("a", "F32", 2, "[0,8]") "}", UINT64_MAX, 12, DSMLP_ERR_CORRUPT,
            "the last 4 data bytes (from 8) belong to no tensor");
    REFUSES(ctx, "{" T1("a", "F32", 2, "[0,8]") "," T1("a", "F32", 2, "[0,8]") "}", UINT64_MAX, 8, DSMLP_ERR_CORRUPT,
            "duplicate object key");
    REFUSES(ctx, "{\"__metadata__\":[]," T1("a", "F32", 2, "[0,8]") "}", UINT64_MAX, 8, DSMLP_ERR_CORRUPT,
            "\"__metadata__\" is not a JSON object");
    REFUSES(ctx, "{\"w\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,8]}}", UINT64_MAX, 8,
            DSMLP_ERR_CORRUPT, "tensor 'w': the shape's element count overflows");
    /* not there, not a file */
    TU_CHECK(ctx, dsmlp_weights_open(ctx, in_dir("none.safetensors"), &w), DSMLP_ERR_IO);
    TU_MSG_HAS(ctx, "cannot open");
    TU_MSG_HAS(ctx, "none.safetensors");
    TU_CHECK(ctx, dsmlp_weights_open(ctx, dir, &w), DSMLP_ERR_IO);
    TU_MSG_HAS(ctx, "no model.safetensors or model.safetensors.index.json");
    dsmlp_ctx_free(ctx);
}
END_TEST

START_TEST(well_formed_and_conversions)
{
    dsmlp_ctx *ctx = tu_ctx();
    enum { N = 257 };
    float *f32 = tu_random(DSMLP_F32, N, 3.0);
    f32[0] = 65520.0f;    /* rounds to f16 infinity  */
    f32[1] = 1e-8f;       /* an f16 subnormal        */
    f32[2] = -0.0f;
    uint16_t *f16 = tu_random(DSMLP_F16, N, 1.0), *bf16 = tu_random(DSMLP_BF16, N, 1.0);
    st_w t[] = {
        {"bert.encoder.layer.0.output.dense.weight", "F32", 1, {N}, f32, sizeof(float) * N},
        {"h16", "F16", 1, {N}, f16, 2 * N},
        {"hbf", "BF16", 1, {N}, bf16, 2 * N},
        {"empty", "F32", 2, {0, 4}, "", 0},
        {"ints", "I32", 1, {2}, "\1\0\0\0\2\0\0\0", 8},
    };
    st_write(in_dir("model.safetensors"), t, 5);
    dsmlp_weights *w;
    TU_OK(ctx, dsmlp_weights_open(ctx, dir, &w));   /* the directory's model.safetensors */
    ck_assert_int_eq(dsmlp_weights_count(w), 5);
    ck_assert_int_eq(dsmlp_weights_files(w), 1);
    dsmlp_tensor_info info;
    /* found by the name without the model's prefix */
    TU_OK(ctx, dsmlp_weights_find(w, "encoder.layer.0.output.dense.weight", &info));
    ck_assert_str_eq(info.name, "bert.encoder.layer.0.output.dense.weight");
    ck_assert_str_eq(info.dtype_name, "F32");
    ck_assert_int_eq(info.rank, 1);
    ck_assert_int_eq(info.shape[0], N);
    ck_assert_uint_eq(info.bytes, 4 * N);
    ck_assert_ptr_nonnull(strstr(info.file, "model.safetensors"));
    TU_OK(ctx, dsmlp_weights_find(w, "ints", &info));
    ck_assert_int_eq(info.dtype, DSMLP_DTYPE_COUNT);
    /* a near miss names the closest tensor */
    TU_CHECK(ctx, dsmlp_weights_find(w, "encoder.layer.0.output.dense.wieght", &info), DSMLP_ERR_NOT_FOUND);
    TU_MSG_HAS(ctx, "closest: 'bert.encoder.layer.0.output.dense.weight'");
    /* every conversion equals compiler/dtype.c's rounding */
    const char *srcs[] = {"bert.encoder.layer.0.output.dense.weight", "h16", "hbf"};
    const dsmlp_dtype sdt[] = {DSMLP_F32, DSMLP_F16, DSMLP_BF16};
    const void *sdata[] = {f32, f16, bf16};
    for (int s = 0; s < 3; s++)
        for (int d = 0; d < 3; d++) {
            dsmlp_dtype to = sdt[d];
            unsigned char out[4 * N];
            tu_poison(out, sizeof out);
            TU_OK(ctx, dsmlp_weights_read(w, srcs[s], to, out, (size_t)N * dsmlp_dtype_size(to)));
            for (int i = 0; i < N; i++) {
                double want = dsmlpB_dtype_round(to, dsmlpB_dtype_load(sdt[s], sdata[s], i)), got = dsmlpB_dtype_load(to, out, i);
                ck_assert_msg(got == want || (isnan(got) && isnan(want)),
                              "%s -> %s element %d: got %.9g want %.9g", dsmlp_dtype_name(sdt[s]),
                              dsmlp_dtype_name(to), i, got, want);
                if (want == 0) ck_assert(signbit(got) == signbit(want));
            }
        }
    unsigned char small[8];
    TU_CHECK(ctx, dsmlp_weights_read(w, "ints", DSMLP_F32, small, 8), DSMLP_ERR_DTYPE);
    TU_MSG_HAS(ctx, "tensor 'ints' is I32, which dsmlp does not convert to f32");
    TU_CHECK(ctx, dsmlp_weights_read(w, "h16", DSMLP_F32, small, 8), DSMLP_ERR_INVALID_ARG);
    TU_MSG_HAS(ctx, "257 elements");
    dsmlp_weights_close(w);
    free(f32), free(f16), free(bf16);
    dsmlp_ctx_free(ctx);
}
END_TEST

static void write_text(const char *name, const char *text)
{
    FILE *f = fopen(in_dir(name), "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

START_TEST(sharded_checkpoints)
{
    dsmlp_ctx *ctx = tu_ctx();
    float a[4] = {1, 2, 3, 4}, b[2] = {5, 6};
    st_w s1[] = {{"layers.0.a", "F32", 1, {4}, a, 16}}, s2[] = {{"layers.1.b", "F32", 1, {2}, b, 8},
                                                                {"layers.1.c", "F32", 1, {2}, b, 8}};
    st_write(in_dir("model-00001-of-00002.safetensors"), s1, 1);
    st_write(in_dir("model-00002-of-00002.safetensors"), s2, 2);
    write_text("model.safetensors.index.json",
               "{\"metadata\": {\"total_size\": 32}, \"weight_map\": {\"layers.0.a\": \"model-00001-of-00002.safetensors\","
               " \"layers.1.b\": \"model-00002-of-00002.safetensors\", \"layers.1.c\": \"model-00002-of-00002.safetensors\"}}");
    dsmlp_weights *w;
    TU_OK(ctx, dsmlp_weights_open(ctx, dir, &w));
    ck_assert_int_eq(dsmlp_weights_count(w), 3);
    ck_assert_int_eq(dsmlp_weights_files(w), 2);
    float got[2];
    TU_OK(ctx, dsmlp_weights_read(w, "layers.1.b", DSMLP_F32, got, sizeof got));
    ck_assert(got[0] == 5 && got[1] == 6);
    dsmlp_tensor_info info;
    TU_OK(ctx, dsmlp_weights_find(w, "layers.0.a", &info));
    ck_assert_ptr_nonnull(strstr(info.file, "model-00001-of-00002.safetensors"));
    dsmlp_weights_close(w);
    /* the index file itself works too */
    TU_OK(ctx, dsmlp_weights_open(ctx, in_dir("model.safetensors.index.json"), &w));
    dsmlp_weights_close(w);

    /* broken indexes */
    w = (dsmlp_weights *)0x1;
    write_text("model.safetensors.index.json", "{\"weight_map\": {\"layers.0.a\": \"../model-00001-of-00002.safetensors\"}}");
    TU_CHECK(ctx, dsmlp_weights_open(ctx, dir, &w), DSMLP_ERR_CORRUPT);
    ck_assert_ptr_null(w);
    TU_MSG_HAS(ctx, "tensor 'layers.0.a': the shard must be a file name in the index's directory");
    write_text("model.safetensors.index.json", "{\"weight_map\": {\"layers.0.a\": \"model-00009-of-00009.safetensors\"}}");
    TU_CHECK(ctx, dsmlp_weights_open(ctx, dir, &w), DSMLP_ERR_IO);
    TU_MSG_HAS(ctx, "model-00009-of-00009.safetensors");
    TU_MSG_HAS(ctx, "a shard named by");
    write_text("model.safetensors.index.json", "{\"weight_map\": {\"layers.0.z\": \"model-00001-of-00002.safetensors\"}}");
    TU_CHECK(ctx, dsmlp_weights_open(ctx, dir, &w), DSMLP_ERR_CORRUPT);
    TU_MSG_HAS(ctx, "lists tensor 'layers.0.z' in");
    TU_MSG_HAS(ctx, "which has no such tensor");
    write_text("model.safetensors.index.json", "{\"metadata\": {}}");
    TU_CHECK(ctx, dsmlp_weights_open(ctx, dir, &w), DSMLP_ERR_CORRUPT);
    TU_MSG_HAS(ctx, "\"weight_map\" is missing");
    write_text("model.safetensors.index.json", "{\"weight_map\": ");
    TU_CHECK(ctx, dsmlp_weights_open(ctx, dir, &w), DSMLP_ERR_CORRUPT);
    TU_MSG_HAS(ctx, "model.safetensors.index.json: not valid JSON");
    /* a malformed shard is named as such */
    write_text("model.safetensors.index.json", "{\"weight_map\": {\"layers.0.a\": \"model-00001-of-00002.safetensors\"}}");
    st_write_raw(in_dir("model-00001-of-00002.safetensors"), "{" T1("layers.0.a", "F32", 4, "[0,16]") "}", UINT64_MAX,
                 a, 8);
    TU_CHECK(ctx, dsmlp_weights_open(ctx, dir, &w), DSMLP_ERR_CORRUPT);
    TU_MSG_HAS(ctx, "model-00001-of-00002.safetensors: tensor 'layers.0.a': data_offsets [0, 16] reach past the end");
    dsmlp_ctx_free(ctx);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("safetensors");
    TCase *tc = tcase_create("safetensors");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, malformed_files);
    tcase_add_test(tc, well_formed_and_conversions);
    tcase_add_test(tc, sharded_checkpoints);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
