/*
** fuzz_safetensors.c — libFuzzer target for the safetensors header parser
** (src/model/safetensors.c: dsmlpM_st_parse), built with AddressSanitizer and UBSan
** by tools/fuzz-safetensors.sh. Every input is a whole file image; when it is
** accepted, every invariant the loader relies on is checked and every tensor
** byte is touched, so an accepted range outside the image shows as an ASan
** error.
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "model/safetensors.h"

static void check(int ok)
{
    if (!ok) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static err_slot slot;   /* a context's error slot: messages are formatted too */
    st_file f;
    memset(&f, 0, sizeof f);
    f.fd = -1;
    /* a private copy, exactly size bytes: reads past it are caught */
    uint8_t *img = malloc(size ? size : 1);
    if (!img) return 0;
    memcpy(img, data, size);
    if (dsmlpM_st_parse((dsmlp_ctx *)&slot, "fuzz.safetensors", img, size, &f) == DSMLP_OK) {
        check(f.data >= img && f.data + f.data_size == img + size);
        uint64_t covered = 0;
        for (int i = 0; i < f.n; i++) {
            const st_tensor *t = &f.t[i];
            check(dsmlpM_st_find(&f, t->name) == t);
            check(t->begin <= t->end && t->end <= f.data_size && (unsigned)t->dtype < ST_DTYPE_COUNT);
            uint64_t elems = 1;
            for (int d = 0; d < t->rank; d++) elems *= (uint64_t)t->shape[d];
            check(elems * dsmlpM_st_dtype_size(t->dtype) == t->end - t->begin);
            volatile uint8_t sink = 0;
            for (uint64_t b = t->begin; b < t->end; b++) sink ^= f.data[b];
            (void)sink;
            covered += t->end - t->begin;
        }
        check(covered == f.data_size);   /* no holes, no overlaps */
        dsmlpM_st_close(&f);
    } else {
        check(f.n == 0 && f.t == NULL && slot.msg[0] != 0);
    }
    free(img);
    return 0;
}
