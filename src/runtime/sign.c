/* sign.c — Ed25519 keys and bundle signature blocks (see sign.h). */
#define _GNU_SOURCE
#include "sign.h"
#include "context.h"
#include "store_fs.h"

#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const uint8_t dsmlpR_sign_magic[8] = {'D', 'S', 'M', 'L', 'P', 'S', 'G', 1};

#define SIGN_CONTEXT  "dsmlp bundle signature v1"
#define SECRET_HEADER "dsmlp-ed25519-secret 1"
#define PUBLIC_HEADER "dsmlp-ed25519-public 1"

static pthread_once_t sodium_once = PTHREAD_ONCE_INIT;
static int            sodium_ok;

static void sodium_start(void) { sodium_ok = sodium_init() >= 0; }

static dsmlp_status need_sodium(dsmlp_ctx *ctx)
{
    pthread_once(&sodium_once, sodium_start);
    return sodium_ok ? DSMLP_OK : dsmlpB_err_set(ctx, DSMLP_ERR_UNSUPPORTED, "libsodium could not be initialized");
}

void dsmlpR_sign_key_id(const uint8_t pk[SIGN_PK_BYTES], char id[17])
{
    sodium_bin2hex(id, 17, pk, 8);
}

/* Reads "<header>\n<hex>\n" into key[n]. */
static dsmlp_status load_key(dsmlp_ctx *ctx, const char *path, const char *header, uint8_t *key, size_t n,
                             const char *what)
{
    dsmlp_status st = need_sodium(ctx);
    if (st != DSMLP_OK) return st;
    if (!path || !*path) return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "%s: no key file given", what);
    void *buf;
    size_t len;
    if (dsmlpR_store_fs_read(path, &buf, &len) != 0) {
        char eb[128];
        int e = errno;
        return dsmlpB_err_set(ctx, e == ENOENT ? DSMLP_ERR_NOT_FOUND : DSMLP_ERR_IO, "%s: cannot read key file %s (%s)",
                       what, path, dsmlpR_store_fs_strerror(e, eb, sizeof eb));
    }
    char *text = buf;
    size_t hl = strlen(header);
    const char *end = NULL;
    size_t got = 0;
    int ok = len > hl && memcmp(text, header, hl) == 0 && text[hl] == '\n' &&
             sodium_hex2bin(key, n, text + hl + 1, len - hl - 1, "\n", &got, &end) == 0 && got == n;
    for (const char *p = end; ok && p < text + len; p++) ok = *p == '\n';
    sodium_memzero(buf, len);
    free(buf);
    if (!ok)
        return dsmlpB_err_set(ctx, DSMLP_ERR_CORRUPT, "%s: %s is not a %s key file (first line \"%s\", then %zu bytes in hex)",
                       what, path, strstr(header, "secret") ? "secret" : "public", header, n);
    return DSMLP_OK;
}

dsmlp_status dsmlpR_sign_load_secret(dsmlp_ctx *ctx, const char *path, uint8_t sk[SIGN_SK_BYTES])
{
    return load_key(ctx, path, SECRET_HEADER, sk, SIGN_SK_BYTES, "signing key");
}

dsmlp_status dsmlpR_sign_load_public(dsmlp_ctx *ctx, const char *path, uint8_t pk[SIGN_PK_BYTES])
{
    return load_key(ctx, path, PUBLIC_HEADER, pk, SIGN_PK_BYTES, "trusted key");
}

static void signed_message(const uint8_t trailer[32], uint8_t msg[sizeof SIGN_CONTEXT - 1 + 32])
{
    memcpy(msg, SIGN_CONTEXT, sizeof SIGN_CONTEXT - 1);
    memcpy(msg + sizeof SIGN_CONTEXT - 1, trailer, 32);
}

dsmlp_status dsmlpR_sign_block(dsmlp_ctx *ctx, const uint8_t sk[SIGN_SK_BYTES], const uint8_t trailer[32],
                        uint8_t block[SIGN_BLOCK])
{
    dsmlp_status st = need_sodium(ctx);
    if (st != DSMLP_OK) return st;
    uint8_t msg[sizeof SIGN_CONTEXT - 1 + 32];
    signed_message(trailer, msg);
    memset(block, 0, SIGN_BLOCK);
    memcpy(block, dsmlpR_sign_magic, 8);
    crypto_sign_ed25519_sk_to_pk(block + 8, sk);
    crypto_sign_detached(block + 8 + SIGN_PK_BYTES, NULL, msg, sizeof msg, sk);
    return DSMLP_OK;
}

int dsmlpR_sign_check_block(const uint8_t block[SIGN_BLOCK], const uint8_t trailer[32], uint8_t pk[SIGN_PK_BYTES])
{
    pthread_once(&sodium_once, sodium_start);
    if (!sodium_ok || memcmp(block, dsmlpR_sign_magic, 8) != 0) return -1;
    for (unsigned i = 8 + SIGN_PK_BYTES + SIGN_SIG_BYTES; i < SIGN_BLOCK; i++)
        if (block[i]) return -1;
    uint8_t msg[sizeof SIGN_CONTEXT - 1 + 32];
    signed_message(trailer, msg);
    memcpy(pk, block + 8, SIGN_PK_BYTES);
    return crypto_sign_verify_detached(block + 8 + SIGN_PK_BYTES, msg, sizeof msg, pk) == 0 ? 0 : -1;
}

/* Writes text to path, refusing to replace an existing file (a lost secret
** key cannot be recovered). */
static dsmlp_status write_new(dsmlp_ctx *ctx, const char *path, const char *text, unsigned mode)
{
    if (access(path, F_OK) == 0)
        return dsmlpB_err_set(ctx, DSMLP_ERR_IO, "dsmlp_keygen: %s exists; not overwritten (remove it first)", path);
    store_part part = {text, strlen(text)};
    if (dsmlpR_store_fs_publish(path, &part, 1, 1, mode) != 0) {
        char eb[128];
        return dsmlpB_err_set(ctx, DSMLP_ERR_IO, "dsmlp_keygen: cannot write %s (%s)", path,
                       dsmlpR_store_fs_strerror(errno, eb, sizeof eb));
    }
    return DSMLP_OK;
}

dsmlp_status dsmlp_keygen(dsmlp_ctx *ctx, const char *secret_path, const char *public_path)
{
    if (!ctx) return DSMLP_ERR_INVALID_ARG;
    if (!secret_path || !*secret_path || !public_path || !*public_path)
        return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "dsmlp_keygen: both key file paths are required");
    dsmlp_status st = need_sodium(ctx);
    if (st != DSMLP_OK) return st;
    if (access(public_path, F_OK) == 0)
        return dsmlpB_err_set(ctx, DSMLP_ERR_IO, "dsmlp_keygen: %s exists; not overwritten (remove it first)", public_path);
    uint8_t pk[SIGN_PK_BYTES], sk[SIGN_SK_BYTES];
    crypto_sign_keypair(pk, sk);
    char text[sizeof SECRET_HEADER + 2 * SIGN_SK_BYTES + 8];
    snprintf(text, sizeof text, "%s\n", SECRET_HEADER);
    sodium_bin2hex(text + strlen(text), 2 * SIGN_SK_BYTES + 1, sk, SIGN_SK_BYTES);
    strcat(text, "\n");
    st = write_new(ctx, secret_path, text, 0600);
    sodium_memzero(text, sizeof text);
    sodium_memzero(sk, sizeof sk);
    if (st != DSMLP_OK) return st;
    snprintf(text, sizeof text, "%s\n", PUBLIC_HEADER);
    sodium_bin2hex(text + strlen(text), 2 * SIGN_PK_BYTES + 1, pk, SIGN_PK_BYTES);
    strcat(text, "\n");
    if ((st = write_new(ctx, public_path, text, 0644)) != DSMLP_OK) unlink(secret_path);
    return st;
}

dsmlp_status dsmlp_bundle_trust(dsmlp_ctx *ctx, const char *public_key_path)
{
    if (!ctx) return DSMLP_ERR_INVALID_ARG;
    struct ctx_runtime *rt = ctx->rt;
    uint8_t pk[SIGN_PK_BYTES];
    dsmlp_status st = dsmlpR_sign_load_public(ctx, public_key_path, pk);
    if (st != DSMLP_OK) return st;
    for (int i = 0; i < rt->ntrusted; i++)
        if (memcmp(rt->trusted[i], pk, SIGN_PK_BYTES) == 0) return DSMLP_OK;
    if (rt->ntrusted == SIGN_TRUST_MAX)
        return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "dsmlp_bundle_trust: at most %d trusted keys", SIGN_TRUST_MAX);
    memcpy(rt->trusted[rt->ntrusted++], pk, SIGN_PK_BYTES);
    return DSMLP_OK;
}
