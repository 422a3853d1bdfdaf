#define _GNU_SOURCE
/*
** store_disk.c — entry files of the kernel store: encode, verify, read,
** publish (temp + fsync + rename), and LRU eviction by mtime (a disk hit
** touches the file).
*/
#include "le_bytes.h"
#include "store_int.h"
#include "store_fs.h"

#include <blake2.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const uint8_t entry_magic[8] = {'D', 'S', 'M', 'L', 'P', 'K', 'S', 1};


/* Copies a NUL-padded field; 0 when it is terminated within its width. */
static int get_str(char *dst, const uint8_t *src, size_t width)
{
    size_t n = strnlen((const char *)src, width);
    memcpy(dst, src, n);
    dst[n] = '\0';
    return n < width ? 0 : -1;
}

static void entry_sum(const uint8_t *hdr, const void *payload, size_t len, uint8_t out[32])
{
    blake2b_state st;
    blake2b_init(&st, 32);
    blake2b_update(&st, hdr, STORE_SUM_OFF);
    blake2b_update(&st, payload, len);
    blake2b_final(&st, out, 32);
}

void dsmlpR_store_hdr_encode(uint8_t hdr[STORE_HDR_SIZE], const uint8_t key[STORE_KEY_BYTES], const char *kernel,
                      const char *arch, const void *payload, size_t len)
{
    memset(hdr, 0, STORE_HDR_SIZE);
    memcpy(hdr, entry_magic, 8);
    put32(hdr + 8, STORE_ENTRY_FORMAT);
    put32(hdr + 12, STORE_HDR_SIZE);
    strncpy((char *)hdr + 16, DSMLP_VERSION_STRING, STORE_VERSION_MAX - 1);
    memcpy(hdr + 32, key, STORE_KEY_BYTES);
    strncpy((char *)hdr + 64, arch, STORE_ARCH_MAX - 1);
    strncpy((char *)hdr + 80, kernel, STORE_KERNEL_MAX - 1);
    put64(hdr + 208, len);
    entry_sum(hdr, payload, len, hdr + STORE_SUM_OFF);
}

int dsmlpR_store_name_ok(const char *name)
{
    if (!*name) return 0;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        if (*p < 0x21 || *p > 0x7e) return 0;
    return 1;
}

int dsmlpR_store_hdr_decode(const uint8_t *buf, size_t n, store_hdr *h, const char **why)
{
    if (n == 0) return *why = "empty file", -1;
    if (n < STORE_HDR_SIZE) return *why = "shorter than the entry header", -1;
    if (memcmp(buf, entry_magic, 8) != 0) return *why = "bad magic (not a dsmlp kernel store entry)", -1;
    if (get32(buf + 8) != STORE_ENTRY_FORMAT) return *why = "unknown entry format version", -1;
    if (get32(buf + 12) != STORE_HDR_SIZE) return *why = "bad header size", -1;
    for (unsigned i = STORE_SUM_OFF + 32; i < STORE_HDR_SIZE; i++)   /* padding: every byte is checked */
        if (buf[i]) return *why = "nonzero header padding", -1;
    if (get_str(h->version, buf + 16, STORE_VERSION_MAX) || get_str(h->arch, buf + 64, STORE_ARCH_MAX) ||
        get_str(h->kernel, buf + 80, STORE_KERNEL_MAX))
        return *why = "unterminated text field in the header", -1;
    if (!dsmlpR_store_name_ok(h->kernel) || !dsmlpR_store_name_ok(h->arch))
        return *why = "kernel name or arch holds characters other than printable ASCII", -1;
    memcpy(h->key, buf + 32, STORE_KEY_BYTES);
    h->payload = get64(buf + 208);
    return 0;
}

int dsmlpR_store_entry_verify(const uint8_t *buf, size_t n, const uint8_t *want_key, store_hdr *h, const char **why)
{
    if (dsmlpR_store_hdr_decode(buf, n, h, why) != 0) return -1;
    if (strcmp(h->version, DSMLP_VERSION_STRING) != 0) return *why = "written by another dsmlp version", -1;
    if (want_key && memcmp(h->key, want_key, STORE_KEY_BYTES) != 0) return *why = "holds another key", -1;
    if (h->payload != n - STORE_HDR_SIZE) return *why = "size does not match the header (truncated?)", -1;
    uint8_t sum[32];
    entry_sum(buf, buf + STORE_HDR_SIZE, (size_t)h->payload, sum);
    if (memcmp(sum, buf + STORE_SUM_OFF, 32) != 0) return *why = "checksum mismatch", -1;
    return 0;
}

void dsmlpR_store_entry_path(const store *s, const uint8_t key[STORE_KEY_BYTES], char *path, size_t cap)
{
    char hex[65];
    dsmlpR_store_hex(key, hex);
    snprintf(path, cap, "%s/%s%s", s->dir, hex, STORE_SUFFIX);
}

int dsmlpR_store_disk_read(store *s, const uint8_t key[STORE_KEY_BYTES], store_hdr *h, void **blob, size_t *n)
{
    char path[PATH_MAX + 80];
    dsmlpR_store_entry_path(s, key, path, sizeof path);
    *blob = NULL;
    struct stat st;
    if (stat(path, &st) != 0) return errno == ENOENT ? 1 : 2;
    if (!S_ISREG(st.st_mode) || st.st_size > STORE_ENTRY_MAX) return 2;   /* FIFOs etc. are never opened */   /* no kernel is that big: never read it */
    if (dsmlpR_store_fs_read(path, blob, n) != 0) return errno == ENOENT ? 1 : 2;
    const char *why;
    if (dsmlpR_store_entry_verify(*blob, *n, key, h, &why) != 0) {
        free(*blob);   /* never loaded; the caller recompiles and replaces it */
        *blob = NULL;
        return 2;
    }
    utimensat(AT_FDCWD, path, NULL, 0);   /* last use, for LRU eviction */
    return 0;
}

int dsmlpR_store_disk_write(store *s, const uint8_t key[STORE_KEY_BYTES], const char *kernel, const char *arch,
                     const void *payload, size_t len)
{
    uint8_t hdr[STORE_HDR_SIZE];
    dsmlpR_store_hdr_encode(hdr, key, kernel, arch, payload, len);
    char path[PATH_MAX + 80];
    dsmlpR_store_entry_path(s, key, path, sizeof path);
    store_part parts[2] = {{hdr, sizeof hdr}, {payload, len}};
    if (dsmlpR_store_fs_publish(path, parts, 2, 1, 0644) != 0) return -1;
    s->stats.bytes_written += sizeof hdr + len;
    if (s->max_bytes) dsmlpR_store_disk_evict(s, key);
    return 0;
}

static int is_entry_name(const char *name)
{
    size_t n = strlen(name);
    if (n != 64 + strlen(STORE_SUFFIX) || strcmp(name + 64, STORE_SUFFIX) != 0) return 0;
    for (int i = 0; i < 64; i++)
        if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f'))) return 0;
    return 1;
}

int dsmlpR_store_disk_scan(const char *dir, store_scan_fn fn, void *user)
{
    DIR *d = opendir(dir);
    if (!d) return -1;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        if (is_entry_name(de->d_name) && fn(dir, de->d_name, user)) break;
    closedir(d);
    return 0;
}

typedef struct lru_item {
    char     name[72];
    int64_t  mtime_ns;
    uint64_t bytes;
} lru_item;

typedef struct lru_list {
    lru_item *items;
    size_t    n, cap;
    uint64_t  total;
    int       oom;
} lru_list;

static int lru_collect(const char *dir, const char *name, void *user)
{
    lru_list *l = user;
    char path[PATH_MAX + 80];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    struct stat st;
    if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode)) return 0;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        lru_item *p = realloc(l->items, cap * sizeof *p);
        if (!p) return l->oom = 1;
        l->items = p;
        l->cap = cap;
    }
    lru_item *it = &l->items[l->n++];
    snprintf(it->name, sizeof it->name, "%s", name);
    it->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    it->bytes = (uint64_t)st.st_size;
    l->total += it->bytes;
    return 0;
}

static int lru_cmp(const void *a, const void *b)
{
    const lru_item *x = a, *y = b;
    if (x->mtime_ns != y->mtime_ns) return x->mtime_ns < y->mtime_ns ? -1 : 1;
    return strcmp(x->name, y->name);   /* deterministic among equal times */
}

void dsmlpR_store_disk_evict(store *s, const uint8_t *keep)
{
    if (!s->max_bytes) return;
    lru_list l = {0};
    dsmlpR_store_disk_scan(s->dir, lru_collect, &l);
    if (!l.oom && l.total > s->max_bytes) {
        char keep_name[72] = "";
        if (keep) {
            dsmlpR_store_hex(keep, keep_name);
            strcat(keep_name, STORE_SUFFIX);
        }
        qsort(l.items, l.n, sizeof *l.items, lru_cmp);
        for (size_t i = 0; i < l.n && l.total > s->max_bytes; i++) {
            if (strcmp(l.items[i].name, keep_name) == 0) continue;
            char path[PATH_MAX + 80];
            snprintf(path, sizeof path, "%s/%s", s->dir, l.items[i].name);
            if (unlink(path) == 0) s->stats.evictions++;
            l.total -= l.items[i].bytes;   /* gone either way (another process may have won) */
        }
    }
    free(l.items);
}
