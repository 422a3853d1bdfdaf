/*
** sign.h — Ed25519 keys and bundle signatures (libsodium). A signed bundle
** ends with a 128-byte block after its checksum trailer:
**   magic "DSMLPSG\1" [8] | public key [32] | signature [64] | zero [24]
** The signature covers SIGN_CONTEXT followed by the bundle's BLAKE2b-256
** trailer, which itself covers every byte before it.
** Key files are text: a header line and the key in hex
** ("dsmlp-ed25519-secret 1" + 64 bytes, "dsmlp-ed25519-public 1" + 32).
*/
#ifndef DSMLP_SIGN_H
#define DSMLP_SIGN_H

#include <stddef.h>
#include <stdint.h>
#include "dsmlp.h"

#define SIGN_BLOCK      128u
#define SIGN_PK_BYTES   32u
#define SIGN_SK_BYTES   64u
#define SIGN_SIG_BYTES  64u
#define SIGN_TRUST_MAX  8

extern const uint8_t dsmlpR_sign_magic[8];

dsmlp_status dsmlpR_sign_load_secret(dsmlp_ctx *ctx, const char *path, uint8_t sk[SIGN_SK_BYTES]);
dsmlp_status dsmlpR_sign_load_public(dsmlp_ctx *ctx, const char *path, uint8_t pk[SIGN_PK_BYTES]);
/* The signature block for a bundle whose trailer (BLAKE2b-256) is given. */
dsmlp_status dsmlpR_sign_block(dsmlp_ctx *ctx, const uint8_t sk[SIGN_SK_BYTES], const uint8_t trailer[32],
                        uint8_t block[SIGN_BLOCK]);
/* 0 when block is well formed and its signature over trailer verifies with
** the public key it names (copied to pk). */
int          dsmlpR_sign_check_block(const uint8_t block[SIGN_BLOCK], const uint8_t trailer[32], uint8_t pk[SIGN_PK_BYTES]);
/* Short printable id of a public key (first 8 bytes, hex) for messages. */
void         dsmlpR_sign_key_id(const uint8_t pk[SIGN_PK_BYTES], char id[17]);

#endif
