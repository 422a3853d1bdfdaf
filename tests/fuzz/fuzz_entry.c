/* fuzz_entry.c — libFuzzer target: the input is a kernel-store entry file.
** The reader (header decode, full verification, payload structure check)
** must accept or refuse it without reading out of bounds, and never accept
** bytes whose checksum does not match; the cubin reader (cubin_info.c) the
** same on the raw bytes. Built with -DDSMLP_FUZZ=ON. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "runtime/cubin_info.h"
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
    /* The .nv.info reader (registers, stack frame): a refusal always says why, a success reports what it read. */
    cubin_resources r = {-1, 0};
    why = NULL;
    if (dsmlpR_cubin_resources(buf, size, "dsmlp_kernel", &r, &why) != 0 ? !why : r.regs < 0) abort();
    /* ... and on an entry's payload (checksum unchecked) for the kernel its header names: a mutated real cubin */
    if (size > STORE_HDR_SIZE) {
        char kernel[STORE_KERNEL_MAX + 1];   /* the header's name field (store_disk.c: bytes 80..207) */
        memcpy(kernel, buf + 80, STORE_KERNEL_MAX), kernel[STORE_KERNEL_MAX] = '\0';
        r.regs = -1, why = NULL;
        if (dsmlpR_cubin_resources(buf + STORE_HDR_SIZE, size - STORE_HDR_SIZE, kernel, &r, &why) != 0 ? !why : r.regs < 0)
            abort();
    }
    free(buf);
    return 0;
}
