/* fuzz_bundle.c — libFuzzer target: the input is a bundle file, imported
** into a memory-only store. Import must refuse or accept without crashing;
** a refusal imports nothing, an acceptance imports every entry.
** Built with -DDSMLP_FUZZ=ON. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "dsmlp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[64];
    if (!path[0]) {
        snprintf(path, sizeof path, "/dev/shm/dsmlp-fuzz-bundle-%ld", (long)getpid());
        setenv("DSMLP_CACHE", "off", 1);
    }
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    dsmlp_ctx *ctx;
    if (dsmlp_ctx_create(&ctx) != DSMLP_OK) abort();
    int imported = -1;
    dsmlp_status s = dsmlp_bundle_import(ctx, path, NULL, &imported);
    if (s != DSMLP_OK && imported != 0) abort();
    if (s == DSMLP_OK && imported < 0) abort();
    dsmlp_ctx_free(ctx);
    return 0;
}
