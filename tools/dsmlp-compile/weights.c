/* weights.c — --weights: the checkpoint against every model layer of the script's layers. */
#include "cli.h"

#include <stdio.h>

int weights_check(dsmlp_ctx *ctx, const dsmlp_layers *layers, const char *path, int quiet, dsmlp_weights **out)
{
    *out = NULL;
    dsmlp_weights *w;
    if (dsmlp_weights_open(ctx, path, &w) != DSMLP_OK) {
        cli_error("--weights: %s", dsmlp_last_error(ctx));
        return CLI_EXIT_WEIGHTS;
    }
    int mapped = 0;
    for (int l = 0; l < dsmlp_layers_count(layers); l++) {
        const dsmlp_graph *g = dsmlp_layers_graph(layers, l);
        const dsmlp_tensor_map *m = dsmlp_graph_tensor_map(g);
        const char *name = dsmlp_layers_name(layers, l);
        if (!m) {
            if (!quiet) printf("weights: layer %s has no tensor map (not built with dsmlp.hf): not checked\n", name);
            continue;
        }
        int n = m->layers > 0 ? m->layers : 1;
        for (int i = 0; i < n; i++)
            if (dsmlp_weights_check(w, g, m, i) != DSMLP_OK) {
                cli_error("--weights: layer %s, model layer %d: %s", name, i, dsmlp_last_error(ctx));
                dsmlp_weights_close(w);
                return CLI_EXIT_WEIGHTS;
            }
        mapped++;
        if (!quiet)
            printf("weights: layer %s: %d model layer%s match %s (%d tensors in %d file%s)\n", name, n, n == 1 ? "" : "s",
                   path, dsmlp_weights_count(w), dsmlp_weights_files(w), dsmlp_weights_files(w) == 1 ? "" : "s");
    }
    if (!mapped) {
        cli_error("--weights: no layer of the script has a tensor map (build layers with dsmlp.hf to load a "
                  "checkpoint)");
        dsmlp_weights_close(w);
        return CLI_EXIT_WEIGHTS;
    }
    fflush(stdout);
    *out = w;
    return CLI_EXIT_OK;
}
