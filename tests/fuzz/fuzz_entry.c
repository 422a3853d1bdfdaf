/* fuzz_entry.c — libFuzzer target: the input is a kernel-store entry file.
** The reader (header decode, full verification, payload structure check)
** must accept or refuse it without reading out of bounds, and never accept
** bytes whose checksum does not match. Built with -DDSMLP_FUZZ=ON. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "runtime/payload.h"
#include "runtime/store_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    store_hdr h;
    const char *why = NULL;
    uint8_t *buf = malloc(size ? size : 1);   /* exact size: ASan sees any overread */
    if (!buf) return 0;
    memcpy(buf, data, size);
    if (dsmlpR_store_entry_verify(buf, size, NULL, &h, &why) == 0) {
        if (h.payload != size - STORE_HDR_SIZE || !dsmlpR_store_name_ok(h.kernel)) abort();
        dsmlpR_payload_check(h.kernel, h.arch, buf + STORE_HDR_SIZE, (size_t)h.payload);
    } else if (!why) {
        abort();
    }
    /* The payload checker alone, on the raw bytes as a cubin and as a record. */
    dsmlpR_payload_check("dsmlp_kernel", "sm_90", buf, size);
    dsmlpR_payload_check("tune:x", "sm_90", buf, size);
    free(buf);
    return 0;
}
