/* host_part.c — see host_part.h. */
#include "host_part.h"
#include "testutil.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

long long hp_define(const char *src, const char *name)
{
    char key[64];
    snprintf(key, sizeof key, "#define %s ", name);
    const char *p = strstr(src, key);
    ck_assert_msg(p != NULL, "no %s in the kernel source", name);
    return strtoll(p + strlen(key), NULL, 10);
}

void *hp_compile(const char *src, const char *part, const char *end, const char *prelude, const char *harness,
                 const char *dir, const char *stem, int idx)
{
    char cc[1200], so[1200];
    snprintf(cc, sizeof cc, "%s/%s%d.cc", dir, stem, idx);
    snprintf(so, sizeof so, "%s/%s%d.so", dir, stem, idx);
    FILE *f = fopen(cc, "w");
    ck_assert_ptr_nonnull(f);
    fputs(prelude, f);
    for (const char *l = src; l < part; l = strchr(l, '\n') + 1) {   /* the defines (DS_N, DS_K, DS_BK, ...) */
        size_t n = strspn(l + 8, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");   /* object-like ones only: no DS_TL(...) */
        if (!strncmp(l, "#define DS_", 11) && l[8 + n] == ' ') fwrite(l, 1, (size_t)(strchr(l, '\n') + 1 - l), f);
    }
    fwrite(part, 1, (size_t)(end - part), f);
    fputs(harness, f);
    fclose(f);
    char cmd[2600];
    snprintf(cmd, sizeof cmd, "g++ -std=c++17 -O1 -Wall -Werror -shared -fPIC -o %s %s", so, cc);
    ck_assert_msg(system(cmd) == 0, "host compile failed: %s", cmd);
    void *h = dlopen(so, RTLD_NOW | RTLD_LOCAL);
    ck_assert_msg(h != NULL, "dlopen %s: %s", so, dlerror());
    return h;
}

dsmlp_plan *hp_plan_4096(dsmlp_ctx *ctx, int gated, dsmlp_dtype wt)
{
    dsmlp_mlp_config c;
    dsmlp_mlp_config_default(&c);
    c.hidden = 4096, c.intermediate = gated ? 14336 : 16384, c.dtype = gated ? DSMLP_BF16 : DSMLP_F16, c.epsilon = 1e-5;
    if (wt == DSMLP_I8) c.int8_weights = 1, c.int8_groups = 4;
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
