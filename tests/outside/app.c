/*
** app.c — a program outside the dsmlp tree, built against an installed dsmlp
** (tests/test_install.sh) and against both libraries with names of its own
** that dsmlp also uses inside (tests/test_symbols.sh: -DCLASH). It needs no
** GPU: it builds a GELU block, plans it without compiling, runs the CPU
** reference, imports a damaged bundle and loads a Lua script, and checks
** each result; exit 0 when all is right.
*/
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dsmlp.h"

#ifdef CLASH
/* Names dsmlp uses internally (its error slot, its store, BLAKE2, Lua):
** the host's own definitions must neither be called by dsmlp nor clash. */
int  clash_calls;
int  dsmlpB_err_set(void *a, int b, const char *fmt, ...) { (void)a, (void)fmt; clash_calls++; return 12345 + b; }
int  dsmlpR_store_get(void) { clash_calls++; return -1; }
int  blake2b(void *out, const void *in, const void *key, size_t outlen, size_t inlen, size_t keylen)
{
    (void)in, (void)key, (void)inlen, (void)keylen;
    memset(out, 0, outlen);
    clash_calls++;
    return 0;
}
#ifdef CLASH_LUA   /* static library only: libdsmlp.so uses the shared liblua5.4.so.0 */
void *lua_newstate(void *f, void *ud) { (void)f, (void)ud; clash_calls++; return NULL; }
#endif
#endif

static int failures;
#define EXPECT(cond, ...)                                   \
    do {                                                    \
        if (!(cond)) {                                      \
            fprintf(stderr, "app: FAIL: " __VA_ARGS__);     \
            fputc('\n', stderr);                            \
            failures++;                                     \
        }                                                   \
    } while (0)

int main(int argc, char **argv)
{
    dsmlp_ctx_options o;
    dsmlp_ctx_options_default(&o);
    o.cache_mode = DSMLP_CACHE_MEMORY;
    dsmlp_ctx *ctx;
    EXPECT(dsmlp_ctx_create_with(&o, &ctx) == DSMLP_OK, "context");

    /* an error through the library's own error slot */
    dsmlp_graph *g;
    EXPECT(dsmlp_graph_create(ctx, "app", &g) == DSMLP_OK, "graph");
    dsmlp_value x;
    dsmlp_status s = dsmlp_input(g, "", DSMLP_F16, 64, &x);
    EXPECT(s == DSMLP_ERR_INVALID_ARG && strstr(dsmlp_last_error(ctx), "name is empty"),
           "dsmlp_input with an empty name: status %d, message '%s'", (int)s, dsmlp_last_error(ctx));

    /* a block, a plan (kernel keys: BLAKE2 inside), the CPU reference */
    dsmlp_mlp_config c;
    dsmlp_mlp_config_default(&c);
    c.hidden = 64;
    c.intermediate = 128;
    c.dtype = DSMLP_F32;
    dsmlp_graph_free(g);
    EXPECT(dsmlp_graph_create(ctx, "block", &g) == DSMLP_OK && dsmlp_mlp_build(g, &c) == DSMLP_OK, "build: %s",
           dsmlp_last_error(ctx));
    dsmlp_compile_options co;
    dsmlp_compile_options_default(&co);
    co.defer_compile = 1;
    co.arch = "sm_90";
    dsmlp_plan *p = NULL;
    EXPECT(dsmlp_plan_build(ctx, g, &co, &p) == DSMLP_OK, "plan: %s", dsmlp_last_error(ctx));
    const char *name = NULL, *key = NULL;
    EXPECT(p && dsmlp_plan_kernel(p, 0, &name, &key) == DSMLP_OK && key && strlen(key) == 64 &&
               strcmp(key, "0000000000000000000000000000000000000000000000000000000000000000") != 0,
           "kernel key '%s'", key ? key : "(none)");
    dsmlp_plan_free(p);
    enum { T = 3 };
    static float in[T * 64], res[T * 64], out[T * 64], norm_w[64], norm_b[64], w1[64 * 128], b1[128], w2[128 * 64],
        b2[64], ab[64];
    float *bufs[] = {in, res, norm_w, norm_b, w1, b1, w2, b2, ab};
    size_t lens[] = {T * 64, T * 64, 64, 64, 64 * 128, 128, 128 * 64, 64, 64};
    for (size_t b = 0; b < sizeof bufs / sizeof *bufs; b++)
        for (size_t i = 0; i < lens[b]; i++) bufs[b][i] = (float)((i * 37 + b * 11) % 19 + 1) / 19.0f - 0.5f;
    dsmlp_host_tensor bind[] = {{"input", DSMLP_F32, in},   {"residual", DSMLP_F32, res}, {"norm_w", DSMLP_F32, norm_w},
                                {"norm_b", DSMLP_F32, norm_b}, {"w1", DSMLP_F32, w1},     {"b1", DSMLP_F32, b1},
                                {"w2", DSMLP_F32, w2},       {"b2", DSMLP_F32, b2},       {"attn_bias", DSMLP_F32, ab},
                                {"out", DSMLP_F32, out}};
    s = dsmlp_reference_run(g, T, bind, (int)(sizeof bind / sizeof *bind));
    EXPECT(s == DSMLP_OK, "reference: %s", dsmlp_last_error(ctx));
    double sum = 0;
    for (int i = 0; i < T * 64; i++) sum += out[i] * out[i];
    EXPECT(sum > 0 && sum < 1e9, "reference output sum of squares %g", sum);

    /* a damaged bundle is refused by its checksum (BLAKE2 inside) */
    const char *bundle = argc > 1 ? argv[1] : "app-damaged.dsb";
    FILE *f = fopen(bundle, "wb");
    if (f) {
        static unsigned char b[64 + 32];
        memcpy(b, "DSMLPBN\1", 8);
        b[8] = 1;
        memcpy(b + 16, dsmlp_version(), strlen(dsmlp_version()));
        b[32] = sizeof b;
        fwrite(b, 1, sizeof b, f);   /* all-zero trailer: not BLAKE2b of the rest */
        fclose(f);
        int n = -1;
        s = dsmlp_bundle_import(ctx, bundle, NULL, &n);
        EXPECT(s == DSMLP_ERR_CORRUPT && strstr(dsmlp_last_error(ctx), "checksum mismatch"),
               "damaged bundle: status %d, '%s'", (int)s, dsmlp_last_error(ctx));
        remove(bundle);
    }

    /* the embedded Lua */
    dsmlp_layers *l = NULL;
    s = dsmlp_script_load_string(ctx, "return { mlp = dsmlp.preset('gpt2', { dtype = 'f16' }) }", "app.lua", NULL, &l);
    EXPECT(s == DSMLP_OK && dsmlp_layers_count(l) == 1, "script: %s", dsmlp_last_error(ctx));
    dsmlp_layers_free(l);
    dsmlp_graph_free(g);
    dsmlp_ctx_free(ctx);
#ifdef CLASH
    EXPECT(clash_calls == 0, "dsmlp called the host's own err_set/store_get/blake2b/lua_newstate %d times",
           clash_calls);
#endif
    printf("app: %s (dsmlp %s)\n", failures ? "FAILED" : "ok", dsmlp_version());
    return failures ? 1 : 0;
}
