#define _GNU_SOURCE
/*
** bundle.c — one file holding a set of kernel-store entries, for shipping
** compiled kernels with a deployment. Layout (little-endian integers):
**   header (64):  magic "DSMLPBN\1" | format u32 | count u32 |
**                 dsmlp version [16] | total file size u64 | zero [24]
**   index (count × 224): key [32] | arch [16] | kernel [128] | offset u64 |
**                 size u64 | BLAKE2b-256 of the payload [32]
**   payloads, in index order
**   trailer (32): BLAKE2b-256 of everything before it
**   signature block (128, signed bundles only; sign.h): Ed25519 over the trailer
** The header's total size covers everything but the signature block. Import
** verifies all of it — checksums, signature against the trusted keys, each
** payload's structure (payload.h) — before the store sees a single entry.
*/
#include "le_bytes.h"
#include "store_int.h"
#include "store_fs.h"
#include "context.h"
#include "nvrtc.h"
#include "payload.h"
#include "sign.h"

#include <blake2.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUNDLE_FORMAT   1u
#define BUNDLE_HDR      64u
#define BUNDLE_IDX      224u
#define BUNDLE_TRAILER  32u

static const uint8_t bundle_magic[8] = {'D', 'S', 'M', 'L', 'P', 'B', 'N', 1};


/* ----------------------------------------------------------------- write */

typedef struct keyset {
    uint8_t (*keys)[STORE_KEY_BYTES];
    size_t n, cap;
    int    oom;
} keyset;

static void keyset_add(keyset *k, const uint8_t key[STORE_KEY_BYTES])
{
    if (k->n == k->cap) {
        size_t cap = k->cap ? 2 * k->cap : 64;
        void *p = realloc(k->keys, cap * sizeof *k->keys);
        if (!p) {
            k->oom = 1;
            return;
        }
        k->keys = p;
        k->cap = cap;
    }
    memcpy(k->keys[k->n++], key, STORE_KEY_BYTES);
}

static int key_cmp(const void *a, const void *b) { return memcmp(a, b, STORE_KEY_BYTES); }

static int collect_mem(const store_entry *e, void *user)
{
    keyset_add(user, e->key);
    return 0;
}

static int collect_disk(const char *dir, const char *name, void *user)
{
    (void)dir;
    uint8_t key[STORE_KEY_BYTES];
    char hex[65];
    memcpy(hex, name, 64);
    hex[64] = '\0';
    if (dsmlpR_store_unhex(hex, key) == 0) keyset_add(user, key);
    return 0;
}

static dsmlp_status bundle_write(dsmlp_ctx *ctx, const char *path, const char *const *keys, int nkeys,
                                 const char *secret_key_path)
{
    if (!ctx) return DSMLP_ERR_INVALID_ARG;
    uint8_t sk[SIGN_SK_BYTES], sigblock[SIGN_BLOCK];
    if (secret_key_path) {
        dsmlp_status st = dsmlpR_sign_load_secret(ctx, secret_key_path, sk);
        if (st != DSMLP_OK) return st;
    }
    if (!path || !*path) return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "dsmlp_bundle_write: no output path");
    if (nkeys < 0 || (nkeys > 0 && !keys))
        return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "dsmlp_bundle_write: bad key list (nkeys %d)", nkeys);
    store *s;
    dsmlp_status st = dsmlpR_ctx_store(ctx, &s);
    if (st != DSMLP_OK) return st;

    keyset ks = {0};
    if (keys && nkeys > 0) {
        for (int i = 0; i < nkeys; i++) {
            uint8_t key[STORE_KEY_BYTES];
            if (dsmlpR_store_unhex(keys[i], key) != 0) {
                free(ks.keys);
                return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG,
                               "dsmlp_bundle_write: key %d '%s' is not 64 hex digits", i, keys[i] ? keys[i] : "(null)");
            }
            keyset_add(&ks, key);
        }
    } else {   /* every entry: memory and disk */
        dsmlpR_store_mem_each(s, collect_mem, &ks);
        if (s->disk_enabled) dsmlpR_store_disk_scan(s->dir, collect_disk, &ks);
    }
    if (ks.oom) {
        free(ks.keys);
        return dsmlpB_err_set(ctx, DSMLP_ERR_NOMEM, "dsmlp_bundle_write: out of memory");
    }
    /* Sorted and unique: the same store gives the same bundle bytes. */
    if (ks.n) qsort(ks.keys, ks.n, sizeof *ks.keys, key_cmp);
    size_t n = 0;
    for (size_t i = 0; i < ks.n; i++)
        if (n == 0 || memcmp(ks.keys[n - 1], ks.keys[i], STORE_KEY_BYTES) != 0) memcpy(ks.keys[n++], ks.keys[i], STORE_KEY_BYTES);

    uint8_t *index = calloc(n ? n : 1, BUNDLE_IDX);
    store_part *parts = calloc(n + 4, sizeof *parts);
    if (!index || !parts) {
        free(index);
        free(parts);
        free(ks.keys);
        return dsmlpB_err_set(ctx, DSMLP_ERR_NOMEM, "dsmlp_bundle_write: out of memory");
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        const char *kernel, *arch;
        const uint8_t *cubin;
        size_t len;
        if (dsmlpR_store_find(s, ks.keys[i], &kernel, &arch, &cubin, &len) != 0) {
            if (keys && nkeys > 0) {
                char hex[65];
                dsmlpR_store_hex(ks.keys[i], hex);
                st = dsmlpB_err_set(ctx, DSMLP_ERR_NOT_FOUND,
                             "dsmlp_bundle_write: key %s is not in the kernel store (%s)", hex,
                             s->disk_enabled ? s->dir : "memory only");
                goto done;
            }
            continue;   /* vanished or corrupt on disk since the scan: not exported */
        }
        uint8_t *ix = index + m * BUNDLE_IDX;
        memcpy(ix, ks.keys[i], STORE_KEY_BYTES);
        strncpy((char *)ix + 32, arch, STORE_ARCH_MAX - 1);
        strncpy((char *)ix + 48, kernel, STORE_KERNEL_MAX - 1);
        put64(ix + 184, len);
        blake2b(ix + 192, cubin, NULL, 32, len, 0);
        parts[2 + m] = (store_part){cubin, len};
        m++;
    }
    /* Offsets once the count is known (entries may have been skipped). */
    uint64_t off = BUNDLE_HDR + (uint64_t)m * BUNDLE_IDX;
    for (size_t i = 0; i < m; i++) {
        put64(index + i * BUNDLE_IDX + 176, off);
        off += parts[2 + i].len;
    }
    uint8_t hdr[BUNDLE_HDR] = {0}, trailer[BUNDLE_TRAILER];
    memcpy(hdr, bundle_magic, 8);
    put32(hdr + 8, BUNDLE_FORMAT);
    put32(hdr + 12, (uint32_t)m);
    strncpy((char *)hdr + 16, DSMLP_VERSION_STRING, STORE_VERSION_MAX - 1);
    put64(hdr + 32, off + BUNDLE_TRAILER);
    parts[0] = (store_part){hdr, sizeof hdr};
    parts[1] = (store_part){index, m * BUNDLE_IDX};
    blake2b_state bs;
    blake2b_init(&bs, 32);
    for (size_t i = 0; i < m + 2; i++) blake2b_update(&bs, parts[i].data, parts[i].len);
    blake2b_final(&bs, trailer, 32);
    parts[m + 2] = (store_part){trailer, sizeof trailer};
    int nparts = (int)(m + 3);
    if (secret_key_path) {
        st = dsmlpR_sign_block(ctx, sk, trailer, sigblock);
        if (st != DSMLP_OK) goto done;
        parts[nparts++] = (store_part){sigblock, sizeof sigblock};
    }
    if (dsmlpR_store_fs_publish(path, parts, nparts, 1, 0644) != 0) {
        char buf[128];
        st = dsmlpB_err_set(ctx, DSMLP_ERR_IO, "dsmlp_bundle_write: cannot write %s (%s)", path,
                     dsmlpR_store_fs_strerror(errno, buf, sizeof buf));
    }
done:
    memset(sk, 0, sizeof sk);
    free(index);
    free(parts);
    free(ks.keys);
    return st;
}

dsmlp_status dsmlp_bundle_write(dsmlp_ctx *ctx, const char *path, const char *const *keys, int nkeys)
{
    return bundle_write(ctx, path, keys, nkeys, NULL);
}

dsmlp_status dsmlp_bundle_write_signed(dsmlp_ctx *ctx, const char *path, const char *const *keys, int nkeys,
                                       const char *secret_key_path)
{
    if (ctx && (!secret_key_path || !*secret_key_path))
        return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "dsmlp_bundle_write_signed: no secret key file given");
    return bundle_write(ctx, path, keys, nkeys, secret_key_path);
}

/* ---------------------------------------------------------------- import */

/* An entry for entry_arch serves plans for asked: the same arch, or its arch-specific form (a plan for sm_90
** carries sm_90a kernels: dsmlpC_kernel_arch). */
static int arch_serves(const char *asked, const char *entry_arch)
{
    const size_t n = strlen(asked);
    return strcmp(asked, entry_arch) == 0 || (strncmp(asked, entry_arch, n) == 0 && strcmp(entry_arch + n, "a") == 0);
}

/* "sm_80, sm_90" -> validated list in archs (at most 16). */
static dsmlp_status parse_archs(dsmlp_ctx *ctx, const char *list, char archs[][STORE_ARCH_MAX], int *n)
{
    *n = 0;
    const char *p = list;
    while (*p) {
        while (*p == ' ' || *p == ',') p++;
        if (!*p) break;
        const char *q = p;
        while (*q && *q != ',' && *q != ' ') q++;
        size_t len = (size_t)(q - p);
        char a[STORE_ARCH_MAX];
        snprintf(a, sizeof a, "%.*s", (int)(len < sizeof a ? len : sizeof a - 1), p);
        if (len >= sizeof a || !dsmlpR_nvrtc_arch_valid(a))
            return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG,
                           "dsmlp_bundle_import: unknown arch '%.*s' in '%s' (valid: %s)", (int)len, p, list,
                           dsmlpR_nvrtc_arch_list());
        if (*n == 16) return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "dsmlp_bundle_import: too many archs in '%s'", list);
        memcpy(archs[(*n)++], a, sizeof a);
        p = q;
    }
    if (*n == 0) return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "dsmlp_bundle_import: empty arch list '%s'", list);
    return DSMLP_OK;
}

typedef struct bundle_item {
    int            skip;       /* for an arch the importer did not ask for */
    const uint8_t *key;
    char           arch[STORE_ARCH_MAX + 1];
    char           kernel[STORE_KERNEL_MAX + 1];
    const uint8_t *payload;
    size_t         len;
} bundle_item;

static int get_str(char *dst, const uint8_t *src, size_t width)
{
    size_t n = strnlen((const char *)src, width);
    memcpy(dst, src, n);
    dst[n] = '\0';
    return n < width ? 0 : -1;
}

/* The signature (b[n..n+SIGN_BLOCK) when is_signed) against the trusted keys:
** with keys configured, only a valid signature by one of them passes; without,
** a signed bundle's signature must still be valid. */
static dsmlp_status check_signature(dsmlp_ctx *ctx, const char *path, const uint8_t *b, size_t n, int is_signed)
{
    const struct ctx_runtime *rt = ctx->rt;
    uint8_t pk[SIGN_PK_BYTES];
    char id[17];
    if (!is_signed)
        return rt->ntrusted ? dsmlpB_err_set(ctx, DSMLP_ERR_CORRUPT,
                                      "bundle %s: not signed, and this context only accepts bundles signed by a "
                                      "trusted key (dsmlp_bundle_trust / --trust)", path)
                            : DSMLP_OK;
    if (dsmlpR_sign_check_block(b + n, b + n - BUNDLE_TRAILER, pk) != 0)
        return dsmlpB_err_set(ctx, DSMLP_ERR_CORRUPT, "bundle %s: the signature does not verify (altered after signing?)",
                       path);
    if (!rt->ntrusted) return DSMLP_OK;
    for (int i = 0; i < rt->ntrusted; i++)
        if (memcmp(rt->trusted[i], pk, SIGN_PK_BYTES) == 0) return DSMLP_OK;
    dsmlpR_sign_key_id(pk, id);
    return dsmlpB_err_set(ctx, DSMLP_ERR_CORRUPT, "bundle %s: signed by key %s..., which is not a trusted key", path, id);
}

/* Checks the whole image; fills items (count entries). */
static dsmlp_status bundle_verify(dsmlp_ctx *ctx, const char *path, const uint8_t *b, size_t n, const char *archlist,
                                  bundle_item **items_out, uint32_t *count_out)
{
    *items_out = NULL;
    if (n < 8 || memcmp(b, bundle_magic, 8) != 0)
        return dsmlpB_err_set(ctx, DSMLP_ERR_CORRUPT, "bundle %s: not a dsmlp bundle (bad magic, %zu bytes)", path, n);
    if (n < BUNDLE_HDR + BUNDLE_TRAILER)
        return dsmlpB_err_set(ctx, DSMLP_ERR_CORRUPT, "bundle %s: truncated (%zu bytes, shorter than the header)", path, n);
    char version[STORE_VERSION_MAX + 1];
    int vbad = get_str(version, b + 16, STORE_VERSION_MAX);
    /* Version first: a bundle from another release may use another layout. */
    if (get32(b + 8) != BUNDLE_FORMAT || vbad || strcmp(version, DSMLP_VERSION_STRING) != 0)
        return dsmlpB_err_set(ctx, DSMLP_ERR_VERSION,
                       "bundle %s: written by dsmlp %s (bundle format %u); this is dsmlp %s (format %u): refused, "
                       "rebuild it with this version's dsmlp-compile",
                       path, vbad ? "?" : version, get32(b + 8), DSMLP_VERSION_STRING, BUNDLE_FORMAT);
    uint64_t total = get64(b + 32);
    int is_signed = total < n && n - total == SIGN_BLOCK && total >= BUNDLE_HDR + BUNDLE_TRAILER &&
                    memcmp(b + total, dsmlpR_sign_magic, 8) == 0;
    if (total != n && !is_signed)
        return dsmlpB_err_set(ctx, DSMLP_ERR_CORRUPT, "bundle %s: header says %llu bytes but the file has %zu (truncated?)",
                       path, (unsigned long long)total, n);
    n = (size_t)total;   /* from here on: the bundle without its signature block */
    uint8_t sum[32];
    blake2b(sum, b, NULL, 32, n - BUNDLE_TRAILER, 0);
    if (memcmp(sum, b + n - BUNDLE_TRAILER, 32) != 0)
        return dsmlpB_err_set(ctx, DSMLP_ERR_CORRUPT, "bundle %s: checksum mismatch (the file was altered or damaged)", path);
    dsmlp_status sst = check_signature(ctx, path, b, n, is_signed);
    if (sst != DSMLP_OK) return sst;
    uint32_t count = get32(b + 12);
    uint64_t body_end = n - BUNDLE_TRAILER, idx_end = BUNDLE_HDR + (uint64_t)count * BUNDLE_IDX;
    if (idx_end > body_end)
        return dsmlpB_err_set(ctx, DSMLP_ERR_CORRUPT, "bundle %s: index of %u entries does not fit in %zu bytes", path,
                       count, n);
    char archs[16][STORE_ARCH_MAX];
    int narchs = 0;
    if (archlist && strcmp(archlist, "local") == 0) {
        const char *dev = dsmlp_device_arch(ctx);
        if (!dev)
            return dsmlpB_err_set(ctx, DSMLP_ERR_NO_DEVICE, "bundle %s: importing only the local arch's entries needs a GPU (%s)",
                           path, dsmlp_last_error(ctx));
        archlist = dev;
    }
    if (archlist) {
        dsmlp_status st = parse_archs(ctx, archlist, archs, &narchs);
        if (st != DSMLP_OK) {
            dsmlpB_err_append(ctx, "bundle %s: nothing imported", path);
            return st;
        }
    }
    bundle_item *items = calloc(count ? count : 1, sizeof *items);
    if (!items) return dsmlpB_err_set(ctx, DSMLP_ERR_NOMEM, "bundle %s: out of memory for %u entries", path, count);
    dsmlp_status st = DSMLP_OK;
    for (uint32_t i = 0; i < count && st == DSMLP_OK; i++) {
        const uint8_t *ix = b + BUNDLE_HDR + (size_t)i * BUNDLE_IDX;
        bundle_item *it = &items[i];
        const char *why;
        char hex[65];
        dsmlpR_store_hex(ix, hex);
        uint64_t off = get64(ix + 176), len = get64(ix + 184);
        it->key = ix;
        if (get_str(it->arch, ix + 32, STORE_ARCH_MAX) || get_str(it->kernel, ix + 48, STORE_KERNEL_MAX) ||
            !dsmlpR_store_name_ok(it->kernel))
            st = dsmlpB_err_set(ctx, DSMLP_ERR_CORRUPT,
                         "bundle %s: entry %u (%s) has a malformed kernel name (empty, unterminated, or not printable "
                         "ASCII)", path, i, hex);
        else if (off < idx_end || off > body_end || len > body_end - off)
            st = dsmlpB_err_set(ctx, DSMLP_ERR_CORRUPT, "bundle %s: entry %u (%s) points outside the file", path, i, hex);
        if (st != DSMLP_OK) break;
        blake2b(sum, b + off, NULL, 32, (size_t)len, 0);
        if (memcmp(sum, ix + 192, 32) != 0)
            st = dsmlpB_err_set(ctx, DSMLP_ERR_CORRUPT, "bundle %s: entry %u (%s, %s) fails its checksum", path, i,
                         it->kernel, hex);
        else if (!dsmlpR_nvrtc_arch_valid(it->arch))
            st = dsmlpB_err_set(ctx, DSMLP_ERR_VERSION, "bundle %s: entry %u (%s) is for unknown arch '%s'", path, i,
                         it->kernel, it->arch);
        else if ((why = dsmlpR_payload_check(it->kernel, it->arch, b + off, (size_t)len)) != NULL)
            st = dsmlpB_err_set(ctx, DSMLP_ERR_CORRUPT, "bundle %s: entry %u (kernel %s, %s) is refused: %s", path, i,
                         it->kernel, it->arch, why);
        else if (narchs) {   /* verified like every entry, then kept or skipped */
            it->skip = 1;
            for (int a = 0; a < narchs; a++) it->skip &= !arch_serves(archs[a], it->arch);
        }
        it->payload = b + off;
        it->len = (size_t)len;
    }
    if (st != DSMLP_OK) {
        free(items);
        return st;
    }
    *items_out = items;
    *count_out = count;
    return DSMLP_OK;
}

dsmlp_status dsmlp_bundle_import(dsmlp_ctx *ctx, const char *path, const char *arch, int *imported)
{
    if (imported) *imported = 0;
    if (!ctx) return DSMLP_ERR_INVALID_ARG;
    if (!path || !*path) return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "dsmlp_bundle_import: no bundle path");
    store *s;
    dsmlp_status st = dsmlpR_ctx_store(ctx, &s);
    if (st != DSMLP_OK) return st;
    void *buf;
    size_t n;
    if (dsmlpR_store_fs_read(path, &buf, &n) != 0) {
        int e = errno;
        char eb[128];
        return dsmlpB_err_set(ctx, e == ENOENT ? DSMLP_ERR_NOT_FOUND : DSMLP_ERR_IO, "bundle %s: cannot read (%s)", path,
                       e == EINVAL ? "not a regular file" : dsmlpR_store_fs_strerror(e, eb, sizeof eb));
    }
    bundle_item *items;
    uint32_t count = 0;
    st = bundle_verify(ctx, path, buf, n, arch, &items, &count);
    if (st == DSMLP_OK && (st = dsmlpR_store_check_writable(s, ctx, "dsmlp_bundle_import")) != DSMLP_OK) free(items);
    if (st == DSMLP_OK) {
        /* Verified as a whole; now each entry goes in as dsmlpR_store_get writes it. */
        uint32_t done = 0, i = 0;
        for (; i < count && st == DSMLP_OK; i++)
            if (!items[i].skip && (st = dsmlpR_store_put(s, ctx, items[i].key, items[i].kernel, items[i].arch,
                                                  items[i].payload, items[i].len)) == DSMLP_OK)
                done++;
        if (st != DSMLP_OK)
            dsmlpB_err_append(ctx, "bundle %s: %u of %u entries were imported before the failure", path, done, count);
        if (imported) *imported = (int)done;
        free(items);
    }
    free(buf);
    return st;
}
