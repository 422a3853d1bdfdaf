/* fuzz_lua.c — libFuzzer target: the input is a model script. Whatever it
** does, dsmlp_script_load_string must return (the instruction limit is
** small), never crash, never leak (LeakSanitizer), and on success give
** layers that the reference shapes accept. Built with -DDSMLP_FUZZ=ON. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "dsmlp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *src = malloc(size + 1);
    if (!src) return 0;
    memcpy(src, data, size);
    src[size] = '\0';
    dsmlp_ctx *ctx;
    if (dsmlp_ctx_create(&ctx) != DSMLP_OK) abort();
    dsmlp_script_options o;
    dsmlp_script_options_default(&o);
    o.instruction_limit = 2000000;
    dsmlp_layers *l = NULL;
    dsmlp_status s = dsmlp_script_load_string(ctx, src, "fuzz.lua", &o, &l);
    if (s == DSMLP_OK) {
        if (!l || dsmlp_layers_count(l) < 1) abort();
        for (int i = 0; i < dsmlp_layers_count(l); i++) {
            char *text = NULL;
            if (dsmlp_graph_dump(dsmlp_layers_graph(l, i), &text) != DSMLP_OK) abort();
            dsmlp_free(text);
        }
    } else if (l || !dsmlp_last_error(ctx)[0]) {
        abort();   /* a failure must leave no layers and say why */
    }
    dsmlp_layers_free(l);
    dsmlp_ctx_free(ctx);
    free(src);
    return 0;
}
