/*
** store.h — the kernel store: memory cache + disk cache of compiled cubins.
** Key = BLAKE2b-256 (libb2) over source, NVRTC version, compile options, full
** arch and dsmlp version. Disk entries: header (magic, format, key, kernel
** name, arch, payload size, payload checksum) + payload; written to a
** per-writer temp file and published with one rename(); verified on read.
*/
#ifndef DSMLP_STORE_H
#define DSMLP_STORE_H

#include <stddef.h>
#include <stdint.h>
#include "dsmlp.h"

typedef struct store store;

dsmlp_status dsmlpR_store_open(dsmlp_ctx *ctx, store **out);   /* reads env: DSMLP_CACHE*, XDG */
void         dsmlpR_store_close(store *s);

/* Returns the cubin for (name, source, arch), from memory, disk or a fresh
** NVRTC compile (then stored). *cubin stays owned by the store and lives as
** long as it. key_hex receives the 64-char key. */
dsmlp_status dsmlpR_store_get(store *s, dsmlp_ctx *ctx, const char *kernel_name, const char *source, const char *arch,
                       const void **cubin, size_t *len, char key_hex[65]);

/* Key only (no compile); used by explain and the CLI. */
dsmlp_status dsmlpR_store_key(dsmlp_ctx *ctx, const char *source, const char *arch, char key_hex[65]);

#endif
