/* test_mixed_prefetch.c — the mixed-input kernels' L2 prefetch at entry (templates/mixed.cu ds_prefetch_own), run on
** the host: every kernel of GELU-4096 / SwiGLU-4096 int8 plans whose source carries DS_PREFETCH 1 has that part (its
** defines and the functions, with a ds_prefetch_l2 that records the lines in place of common.cuh's) compiled by g++
** and called for each block of a launch, thread by thread; the lines it asks for must be exactly these of each of the
** block's weight rows (the rows the block's tensor-map boxes copy: 128 rows, or 64 up and the matching 64 gate rows
** when gated), none twice: unsplit, the row's first `lines` 128-byte lines; block z of a k split over S, where the
** shares interleave (stages under 256 k: its k blocks z, z + S, ...), up to DS_BK / 128 lines (at least one) from
** each of its first k blocks, `lines` in all; where they do not (256-k stages), the first `lines` of its contiguous
** share [KT z / S, KT (z + 1) / S). */
#include "testutil.h"
#include "compiler/plan.h"
#include "runtime/plan_handle.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef int (*run_fn)(const unsigned char *q, int n0, int z, int S, int KT, int lines, unsigned threads, uintptr_t *out,
                      int cap);

static long long define_of(const char *src, const char *name)
{
    char key[64];
    snprintf(key, sizeof key, "#define %s ", name);
    const char *p = strstr(src, key);
    ck_assert_msg(p != NULL, "no %s in the kernel source", name);
    return strtoll(p + strlen(key), NULL, 10);
}

/* The kernel's defines and its prefetch part, with a host harness around them, compiled into a shared object. */
static void *compile_part(const char *src, const char *dir, int idx)
{
    const char *a = strstr(src, "#if DS_PREFETCH\n"), *b = a ? strstr(a, "\n#endif\n\nextern \"C\"") : NULL;
    ck_assert_msg(a && b, "no prefetch part in the kernel source");
    char cc[1200], so[1200];
    snprintf(cc, sizeof cc, "%s/part%d.cc", dir, idx);
    snprintf(so, sizeof so, "%s/part%d.so", dir, idx);
    FILE *f = fopen(cc, "w");
    ck_assert_ptr_nonnull(f);
    fputs("#include <cstdint>\n#define __device__\n#define __forceinline__ inline\n"
          "struct ds_dim { unsigned x; };\nstatic ds_dim threadIdx, blockDim;\n"
          "static uintptr_t *rec; static int nrec, caprec;\n"
          "static void ds_prefetch_l2(const void *p) { if (nrec < caprec) rec[nrec] = (uintptr_t)p; nrec++; }\n", f);
    for (const char *l = src; l < a; l = strchr(l, '\n') + 1) {   /* the defines (DS_N, DS_K, DS_BK, DS_GATED, ...) */
        size_t n = strspn(l + 8, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");   /* object-like ones only: no DS_TL(...) */
        if (!strncmp(l, "#define DS_", 11) && l[8 + n] == ' ') fwrite(l, 1, (size_t)(strchr(l, '\n') + 1 - l), f);
    }
    fwrite(a, 1, (size_t)(b - a) + 8, f);
    fputs("extern \"C\" int run(const unsigned char *q, int n0, int z, int S, int KT, int lines, unsigned threads,"
          " uintptr_t *out, int cap)\n{\n    rec = out, nrec = 0, caprec = cap, blockDim.x = threads;\n"
          "    for (unsigned t = 0; t < threads; t++) threadIdx.x = t, ds_prefetch_own(q, n0, z, S, KT, lines);\n"
          "    return nrec;\n}\n", f);
    fclose(f);
    char cmd[2600];
    snprintf(cmd, sizeof cmd, "g++ -std=c++17 -O1 -Wall -Werror -shared -fPIC -o %s %s", so, cc);
    ck_assert_msg(system(cmd) == 0, "host compile failed: %s", cmd);
    void *h = dlopen(so, RTLD_NOW | RTLD_LOCAL);
    ck_assert_msg(h != NULL, "dlopen %s: %s", so, dlerror());
    return h;
}

static int cmp_addr(const void *a, const void *b)
{
    const uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
    return (x > y) - (x < y);
}

static dsmlp_plan *int8_plan(dsmlp_ctx *ctx, int gated)
{
    dsmlp_mlp_config c;
    dsmlp_mlp_config_default(&c);
    c.hidden = 4096, c.intermediate = gated ? 14336 : 16384, c.dtype = gated ? DSMLP_BF16 : DSMLP_F16, c.epsilon = 1e-5;
    c.int8_weights = 1, c.int8_groups = 4;
    if (gated) {
        c.norm = DSMLP_NORM_RMSNORM, c.activation = DSMLP_MLP_GATED_SILU;
        c.attn_bias = c.norm_bias = c.bias1 = c.bias2 = 0;
    }
    dsmlp_graph *g;
    TU_OK(ctx, dsmlp_graph_create(ctx, "mlp", &g));
    TU_OK(ctx, dsmlp_mlp_build(g, &c));
    dsmlp_compile_options o;
    dsmlp_compile_options_default(&o);
    o.arch = "sm_90", o.defer_compile = 1;
    dsmlp_plan *p;
    TU_OK(ctx, dsmlp_plan_build(ctx, g, &o, &p));
    dsmlp_graph_free(g);
    return p;
}

START_TEST(lines_of_the_block)
{
    dsmlp_ctx *ctx = tu_ctx();
    char *dir = tu_tmpdir("mixed-prefetch");
    const unsigned char *q = (const unsigned char *)(uintptr_t)0x10000000;   /* addresses only: nothing is read */
    enum { CAP = 128 * 64 + 16 };
    uintptr_t *got = malloc(CAP * sizeof *got), *want = malloc(CAP * sizeof *want);
    ck_assert(got && want);
    int parts = 0, gated_parts = 0, wide_parts = 0;   /* kernels checked; gated ones, 256-k ones among them */
    for (int gated = 0; gated < 2; gated++) {   /* GELU-4096 int8, then SwiGLU-4096 int8 */
        dsmlp_plan *h = int8_plan(ctx, gated);
        for (int k = 0; k < h->p->nkernels; k++) {
            const plan_kernel *pk = &h->p->kernels[k];
            if (!pk->source || !strstr(pk->source, "#define DS_PREFETCH 1")) continue;
            void *so = compile_part(pk->source, dir, parts);
            run_fn run;
            *(void **)&run = dlsym(so, "run");
            ck_assert(run != NULL);
            const long long N = define_of(pk->source, "DS_N"), K = define_of(pk->source, "DS_K");
            const long long BK = define_of(pk->source, "DS_BK"), G = define_of(pk->source, "DS_GATED");
            const int KT = (int)(K / BK);
            static const int splits[] = {1, 3, 7}, depths[] = {1, 4, 8, 64};
            for (int y = 0; y < N / 128; y += (y % 7 == 0 ? 1 : 13)) {   /* some row tiles: first, last-ish, spread */
                const int n0 = y * 128;
                for (size_t si = 0; si < sizeof splits / sizeof *splits; si++)
                    for (int z = 0; z < splits[si]; z++)
                        for (size_t di = 0; di < sizeof depths / sizeof *depths; di++) {
                            const int S = splits[si], lines = depths[di];
                            const int n = run(q, n0, z, S, KT, lines, 384, got, CAP);
                            int m = 0;
                            for (int r = 0; r < 128; r++) {
                                const long long row = G ? (r < 64 ? n0 / 2 + r : N / 2 + n0 / 2 + (r - 64)) : n0 + r;
                                if (S == 1 || BK >= 256) {   /* the first lines of its contiguous share */
                                    const int kb0 = KT * z / S, kb1 = KT * (z + 1) / S;
                                    for (int l = 0; l < lines && (long long)l * 128 < (kb1 - kb0) * BK; l++)
                                        want[m++] = (uintptr_t)(q + row * K + (long long)kb0 * BK + (long long)l * 128);
                                }
                                else   /* its own k blocks z, z + S, ...: up to BK / 128 lines (one at least) each */
                                    for (int kb = z, used = 0, per = BK >= 128 ? (int)(BK / 128) : 1; kb < KT && used < lines;
                                         kb += S, used += per)
                                        for (int l = 0; l < per && l < lines - used && l * 128 < BK; l++)
                                            want[m++] = (uintptr_t)(q + row * K + (long long)kb * BK + (long long)l * 128);
                            }
                            ck_assert_msg(n == m, "%s: n0 %d, block %d of %d, %d lines: %d prefetches, want %d", pk->name,
                                          n0, z, S, lines, n, m);
                            qsort(got, (size_t)n, sizeof *got, cmp_addr);
                            qsort(want, (size_t)m, sizeof *want, cmp_addr);
                            for (int i = 0; i < n; i++)
                                ck_assert_msg(got[i] == want[i] && (i == 0 || got[i] != got[i - 1]),
                                              "%s: n0 %d, block %d of %d, %d lines: line %d at offset %llu, want %llu", pk->name, n0,
                                              z, S, lines, i, (unsigned long long)(got[i] - (uintptr_t)q),
                                              (unsigned long long)(want[i] - (uintptr_t)q));
                        }
            }
            dlclose(so);
            parts++, gated_parts += (int)G, wide_parts += BK >= 256;
        }
        dsmlp_plan_free(h);
    }
    /* both blocks' 16/32/64-token kernels (GELU-4096's twins too), SwiGLU-4096's gated first GEMM's among them */
    ck_assert_int_ge(parts - gated_parts, 9);
    ck_assert_int_ge(gated_parts, 3);
    /* both kinds of shares: the 16/32-token kernels' 256-k stages (contiguous), the 64-token ones' (interleaved) */
    ck_assert_int_ge(wide_parts, 1);
    ck_assert_int_ge(parts - wide_parts, 1);
    free(got), free(want);
    tu_rmtree(dir);
    free(dir);
    dsmlp_ctx_free(ctx);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("mixed_prefetch");
    TCase *tc = tcase_create("prefetch");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, lines_of_the_block);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
