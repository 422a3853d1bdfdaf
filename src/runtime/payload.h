/*
** payload.h — structural checks of a store entry's payload before a bundle's
** entries may enter the store. Checksums only catch accidents; these rules
** make a forged entry at least be what it claims: a kernel entry is a 64-bit
** CUDA ELF (cubin) for the entry's architecture that defines the entry's
** kernel as a function; a tuning record (kernel name "tune:...") is printable
** text whose first line is "dsmlp-tune 1". Trust is another matter: a valid
** cubin is still code (docs/kernel-store.md, "Trust").
*/
#ifndef DSMLP_PAYLOAD_H
#define DSMLP_PAYLOAD_H

#include <stddef.h>

#define PAYLOAD_TUNE_PREFIX "tune:"
#define PAYLOAD_TUNE_HEADER "dsmlp-tune 1"

/* NULL when the payload fits its entry, else why not (static text). */
const char *dsmlpR_payload_check(const char *kernel, const char *arch, const void *payload, size_t len);

#endif
