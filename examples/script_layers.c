/*
** script_layers.c — embedding dsmlp's Lua front end from C.
**
** Loads a model script with dsmlp_script_load, and for every layer it
** defines: prints the graph's inputs and parameters, builds the fused plan
** (no GPU needed: NVRTC compiles into the kernel store), prints its steps,
** and runs the layer on the CPU reference executor with random inputs and
** weights for T tokens, printing the output's RMS. Running the same plans on
** a GPU is dsmlp_compile + dsmlp_bind + dsmlp_run (see llama_block.c).
**
**   example_script_layers MODEL.lua [T]        default T = 4
**
** Exit codes: 0 ok; 1 a dsmlp call failed (its message is printed); 2 usage.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsmlp.h"

static unsigned long long rng = 0x9e3779b97f4a7c15ull;

static double uniform(void)   /* [-1, 1), never 0 */
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    double v = (double)(rng >> 11) * 0x1.0p-52 - 1.0;
    return v != 0 ? v : 0.5;
}

/* Binds random F64 data to every input and parameter of g; returns the count. */
static int bind_random(const dsmlp_graph *g, int64_t T, dsmlp_host_tensor *bind, double **bufs)
{
    int n = 0;
    for (int v = 0; v < dsmlp_graph_size(g); v++) {
        dsmlp_value_info info;
        if (dsmlp_value_get(g, v, &info) != DSMLP_OK) continue;
        if (info.op != DSMLP_OP_INPUT && info.op != DSMLP_OP_PARAM) continue;
        int64_t count = info.tokens ? T * info.dims[1] : info.rank == 1 ? info.dims[0] : info.dims[0] * info.dims[1];
        double scale = info.rank == 2 && !info.tokens ? 1.0 / sqrt((double)info.dims[0]) : 1.0;
        bufs[n] = malloc((size_t)count * sizeof(double));
        int scales = strstr(info.name, "_scales") != NULL;   /* quantized weights' scales: positive, small */
        for (int64_t i = 0; i < count; i++)
            bufs[n][i] = info.dtype == DSMLP_I8 ? (double)(int)(uniform() * 127)
                         : scales ? (1.5 + uniform()) / (127.0 * 32.0) : uniform() * scale;
        bind[n] = (dsmlp_host_tensor){info.name, DSMLP_F64, bufs[n]};
        printf("    %-6s %-12s %s[", info.op == DSMLP_OP_INPUT ? "input" : "param", info.name,
               dsmlp_dtype_name(info.dtype));
        if (info.tokens) printf("T,%lld]\n", (long long)info.dims[1]);
        else if (info.rank == 1) printf("%lld]\n", (long long)info.dims[0]);
        else printf("%lld,%lld]\n", (long long)info.dims[0], (long long)info.dims[1]);
        n++;
    }
    return n;
}

static int run_layer(dsmlp_ctx *ctx, const char *name, const dsmlp_graph *g, int64_t T)
{
    printf("layer %s\n", name);
    dsmlp_compile_options o;
    dsmlp_compile_options_default(&o);
    o.defer_compile = 1;   /* the plan's steps are all this prints: no NVRTC needed (dsmlp-compile compiles) */
    dsmlp_plan *plan;
    if (dsmlp_plan_build(ctx, g, &o, &plan) != DSMLP_OK) {
        fprintf(stderr, "plan for %s: %s\n", name, dsmlp_last_error(ctx));
        return 1;
    }
    printf("  plan for %s:", dsmlp_plan_arch(plan));
    for (int i = 0; i < dsmlp_plan_steps(plan); i++) printf(" %s", dsmlp_plan_step_label(plan, i));
    printf("\n");
    dsmlp_plan_free(plan);

    int nvals = dsmlp_graph_size(g);
    dsmlp_host_tensor *bind = calloc((size_t)nvals + 1, sizeof *bind);
    double **bufs = calloc((size_t)nvals + 1, sizeof *bufs);
    int nb = bind_random(g, T, bind, bufs);
    double *out = NULL;
    int64_t width = 0;
    for (int v = 0; v < nvals; v++) {   /* the first output */
        dsmlp_value_info info;
        if (dsmlp_value_get(g, v, &info) == DSMLP_OK && info.op == DSMLP_OP_OUTPUT) {
            width = info.dims[1];
            out = malloc((size_t)(T * width) * sizeof(double));
            bufs[nb] = out;
            bind[nb++] = (dsmlp_host_tensor){info.name, DSMLP_F64, out};
            break;
        }
    }
    int rc = 0;
    if (!out) {
        fprintf(stderr, "layer %s has no output\n", name);
        rc = 1;
    } else if (dsmlp_reference_run(g, T, bind, nb) != DSMLP_OK) {
        fprintf(stderr, "reference run of %s: %s\n", name, dsmlp_last_error(ctx));
        rc = 1;
    } else {
        double ss = 0;
        for (int64_t i = 0; i < T * width; i++) ss += out[i] * out[i];
        printf("  reference run, T=%lld: output RMS %.6f\n", (long long)T, sqrt(ss / (double)(T * width)));
    }
    for (int i = 0; i < nb; i++) free(bufs[i]);
    free(bufs);
    free(bind);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: %s MODEL.lua [T]\n", argv[0]);
        return 2;
    }
    int64_t T = argc == 3 ? atoll(argv[2]) : 4;
    if (T < 1) {
        fprintf(stderr, "T must be at least 1\n");
        return 2;
    }
    dsmlp_ctx *ctx;
    if (dsmlp_ctx_create(&ctx) != DSMLP_OK) return 1;
    dsmlp_script_options so;
    dsmlp_script_options_default(&so);
    dsmlp_layers *layers;
    if (dsmlp_script_load(ctx, argv[1], &so, &layers) != DSMLP_OK) {
        fprintf(stderr, "%s\n", dsmlp_last_error(ctx));   /* "model.lua:3: ..." */
        dsmlp_ctx_free(ctx);
        return 1;
    }
    int rc = 0;
    for (int i = 0; i < dsmlp_layers_count(layers) && !rc; i++)
        rc = run_layer(ctx, dsmlp_layers_name(layers, i), dsmlp_layers_graph(layers, i), T);
    dsmlp_layers_free(layers);
    dsmlp_ctx_free(ctx);
    return rc;
}
