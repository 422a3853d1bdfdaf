/*
** store_int.h — internals of the kernel store shared by store.c (memory
** cache, get/key), store_disk.c (entry files), bundle.c and cache_api.c.
*/
#ifndef DSMLP_STORE_INT_H
#define DSMLP_STORE_INT_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include "store.h"

#define STORE_KEY_BYTES    32
#define STORE_KERNEL_MAX   128   /* kernel name field, NUL padded */
#define STORE_ARCH_MAX     16
#define STORE_VERSION_MAX  16
#define STORE_WARN_MAX     1024
#define STORE_TEMP_AGE_S   600   /* temp files older than this are stale */

/* Disk entry file "<dir>/<key hex>.dsk" (little-endian integers):
**   0   magic "DSMLPKS\1"            8
**   8   format version (u32)         4
**   12  header size (u32) = 256      4
**   16  dsmlp version, NUL padded    16
**   32  key                          32
**   64  arch, NUL padded             16
**   80  kernel name, NUL padded      128
**   208 payload size (u64)           8
**   216 BLAKE2b-256 over bytes [0,216) and the payload   32
**   248 zero                         8
**   256 payload (the cubin)
*/
#define STORE_ENTRY_FORMAT 1u
#define STORE_HDR_SIZE     256u
#define STORE_SUM_OFF      216u
#define STORE_SUFFIX       ".dsk"
#define STORE_ENTRY_MAX    (1LL << 30)   /* larger files are not entries */

typedef struct store_entry {
    uint8_t             key[STORE_KEY_BYTES];
    char                kernel[STORE_KERNEL_MAX];
    char                arch[STORE_ARCH_MAX];
    void               *blob;      /* owns the bytes cubin points into     */
    const uint8_t      *cubin;
    size_t              len;
    unsigned            disk_gen;  /* dir generation it is known on disk in; 0: not */
    int64_t             mtime;     /* when it entered memory (memory-only list) */
    struct store_entry *next_all;  /* every entry ever made, freed at close */
} store_entry;

struct store {
    dsmlp_ctx_options opts;            /* the context's (cache settings)   */
    char              dir[PATH_MAX];
    int               disk_off;        /* DSMLP_CACHE=off                 */
    int               disk_enabled;    /* entries are read from dir         */
    int               disk_writable;   /* ... and written to it             */
    unsigned          gen;             /* bumped when the directory changes */
    uint64_t          max_bytes;       /* 0: unlimited                     */
    char              warning[STORE_WARN_MAX];
    store_entry     **table;           /* open addressing, by key          */
    size_t            cap, count;
    store_entry      *all;
    dsmlp_cache_stats stats;
};

/* Parsed entry header. */
typedef struct store_hdr {
    uint8_t  key[STORE_KEY_BYTES];
    char     version[STORE_VERSION_MAX + 1];
    char     kernel[STORE_KERNEL_MAX + 1];
    char     arch[STORE_ARCH_MAX + 1];
    uint64_t payload;
} store_hdr;

/* 1 when name is a printable kernel name (ASCII 0x21..0x7e, non-empty):
** names come from bundles and disk, and end up on terminals. */
int          dsmlpR_store_name_ok(const char *name);

/* ---- store.c */
void         dsmlpR_store_hex(const uint8_t key[STORE_KEY_BYTES], char hex[65]);
int          dsmlpR_store_unhex(const char *hex, uint8_t key[STORE_KEY_BYTES]);   /* 0 ok */
store_entry *dsmlpR_store_mem_find(store *s, const uint8_t key[STORE_KEY_BYTES]);
/* Takes ownership of blob. NULL on allocation failure (blob freed). */
store_entry *dsmlpR_store_mem_add(store *s, const uint8_t key[STORE_KEY_BYTES], const char *kernel, const char *arch,
                           void *blob, const uint8_t *cubin, size_t len);
void         dsmlpR_store_mem_forget(store *s);   /* lookups miss; pointers stay valid */
/* Calls fn for every entry in the memory cache (in no particular order)
** until it returns nonzero; the only way other files walk the cache. */
typedef int (*store_mem_fn)(const store_entry *e, void *user);
void         dsmlpR_store_mem_each(store *s, store_mem_fn fn, void *user);
/* Entry by key from memory or (verified) disk, without compiling. 0 found,
** 1 absent (or corrupt on disk). */
int          dsmlpR_store_find(store *s, const uint8_t key[STORE_KEY_BYTES], const char **kernel, const char **arch,
                        const uint8_t **cubin, size_t *len);
/* Puts an entry as dsmlpR_store_get would after compiling (bundle import). */
dsmlp_status dsmlpR_store_put(store *s, dsmlp_ctx *ctx, const uint8_t key[STORE_KEY_BYTES], const char *kernel,
                       const char *arch, const void *cubin, size_t len);
/* Points the store at dir (NULL: default rules) and probes it. */
void         dsmlpR_store_set_dir(store *s, const char *dir);

/* ---- store_disk.c */
void dsmlpR_store_entry_path(const store *s, const uint8_t key[STORE_KEY_BYTES], char *path, size_t cap);
/* Encodes a header for payload. */
void dsmlpR_store_hdr_encode(uint8_t hdr[STORE_HDR_SIZE], const uint8_t key[STORE_KEY_BYTES], const char *kernel,
                      const char *arch, const void *payload, size_t len);
/* Parses the fixed header fields (no checksum); 0 ok, else *why says what. */
int  dsmlpR_store_hdr_decode(const uint8_t *buf, size_t n, store_hdr *h, const char **why);
/* Full verification of a whole file image against want_key (may be NULL);
** 0 valid, else *why. */
int  dsmlpR_store_entry_verify(const uint8_t *buf, size_t n, const uint8_t *want_key, store_hdr *h, const char **why);
/* Reads and verifies key's entry. 0 hit (*blob owns buf, cubin at
** STORE_HDR_SIZE), 1 absent, 2 corrupt (a miss that must be replaced). */
int  dsmlpR_store_disk_read(store *s, const uint8_t key[STORE_KEY_BYTES], store_hdr *h, void **blob, size_t *n);
/* Publishes one entry atomically, then enforces the size limit. 0 or -1
** with errno. */
int  dsmlpR_store_disk_write(store *s, const uint8_t key[STORE_KEY_BYTES], const char *kernel, const char *arch,
                      const void *payload, size_t len);
/* Removes least recently used entries until the directory fits max_bytes;
** keep (may be NULL) is never removed. */
void dsmlpR_store_disk_evict(store *s, const uint8_t *keep);
/* Calls fn for every "<64 hex>.dsk" file in dir. */
typedef int (*store_scan_fn)(const char *dir, const char *name, void *user);   /* nonzero stops */
int  dsmlpR_store_disk_scan(const char *dir, store_scan_fn fn, void *user);
/* Memory-only from now on, with one warning. */
void dsmlpR_store_disable_disk(store *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* DSMLP_OK when entries can be written to disk, or the store is memory-only
** by request (DSMLP_CACHE=off); else DSMLP_ERR_IO "<what>: the kernel store
** ... is read-only / not usable ...". */
dsmlp_status dsmlpR_store_check_writable(store *s, dsmlp_ctx *ctx, const char *what);
/* path, or its start and end around "..." when longer than max (messages
** must keep their reason after a path). Returns buf. */
const char *dsmlpR_store_path_abbrev(const char *path, char *buf, size_t cap);

#endif
