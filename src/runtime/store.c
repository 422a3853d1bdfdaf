#define _GNU_SOURCE
/*
** store.c — the kernel store: open/close, keys, the memory cache, and
** dsmlpR_store_get (memory -> disk -> NVRTC). One store per context and no shared
** mutable state, so contexts in different threads never touch each other.
*/
#include "store_int.h"
#include "store_fs.h"
#include "context.h"
#include "nvrtc.h"
#include "clock.h"

#include <blake2.h>
#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------ keys */

void dsmlpR_store_hex(const uint8_t key[STORE_KEY_BYTES], char hex[65])
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < STORE_KEY_BYTES; i++) {
        hex[2 * i] = digits[key[i] >> 4];
        hex[2 * i + 1] = digits[key[i] & 15];
    }
    hex[64] = '\0';
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int dsmlpR_store_unhex(const char *hex, uint8_t key[STORE_KEY_BYTES])
{
    if (!hex || strlen(hex) != 2 * STORE_KEY_BYTES) return -1;
    for (int i = 0; i < STORE_KEY_BYTES; i++) {
        int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) return -1;
        key[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

/* Each field is prefixed with its 8-byte length so no two different field
** lists hash the same bytes ("ab"+"c" vs "a"+"bc"). */
static void key_field(blake2b_state *st, const char *s)
{
    uint64_t n = strlen(s);
    uint8_t len[8];
    for (int i = 0; i < 8; i++) len[i] = (uint8_t)(n >> (8 * i));
    blake2b_update(st, len, sizeof len);
    blake2b_update(st, (const uint8_t *)s, n);
}

static void key_compute(const char *source, const char *arch, uint8_t key[STORE_KEY_BYTES])
{
    blake2b_state st;
    blake2b_init(&st, STORE_KEY_BYTES);
    key_field(&st, "dsmlp kernel store key v1");
    key_field(&st, source);
    key_field(&st, dsmlpR_nvrtc_version_string());
    key_field(&st, dsmlpR_nvrtc_options_string(arch));
    key_field(&st, arch);
    key_field(&st, DSMLP_VERSION_STRING);
    blake2b_final(&st, key, STORE_KEY_BYTES);
}

static dsmlp_status check_args(dsmlp_ctx *ctx, const char *source, const char *arch)
{
    if (!source) return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "kernel store: source is NULL");
    if (!dsmlpR_nvrtc_arch_valid(arch))
        return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG,
                       "kernel store: unknown target arch '%s' (valid: %s)", arch ? arch : "(null)",
                       dsmlpR_nvrtc_arch_list());
    return DSMLP_OK;
}

dsmlp_status dsmlpR_store_key(dsmlp_ctx *ctx, const char *source, const char *arch, char key_hex[65])
{
    dsmlp_status st = check_args(ctx, source, arch);
    if (st != DSMLP_OK) return st;
    uint8_t key[STORE_KEY_BYTES];
    key_compute(source, arch, key);
    dsmlpR_store_hex(key, key_hex);
    return DSMLP_OK;
}

/* ---------------------------------------------------------- memory cache */

static size_t slot_of(const uint8_t *key, size_t cap)
{
    uint64_t h;
    memcpy(&h, key, sizeof h);   /* the key is already a uniform hash */
    return (size_t)h & (cap - 1);
}

store_entry *dsmlpR_store_mem_find(store *s, const uint8_t key[STORE_KEY_BYTES])
{
    if (!s->cap) return NULL;
    for (size_t i = slot_of(key, s->cap);; i = (i + 1) & (s->cap - 1)) {
        store_entry *e = s->table[i];
        if (!e) return NULL;
        if (memcmp(e->key, key, STORE_KEY_BYTES) == 0) return e;
    }
}

static int mem_grow(store *s)
{
    size_t cap = s->cap ? 2 * s->cap : 64;
    store_entry **t = calloc(cap, sizeof *t);
    if (!t) return -1;
    for (size_t i = 0; i < s->cap; i++) {
        store_entry *e = s->table[i];
        if (!e) continue;
        size_t j = slot_of(e->key, cap);
        while (t[j]) j = (j + 1) & (cap - 1);
        t[j] = e;
    }
    free(s->table);
    s->table = t;
    s->cap = cap;
    return 0;
}

static void copy_field(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

store_entry *dsmlpR_store_mem_add(store *s, const uint8_t key[STORE_KEY_BYTES], const char *kernel, const char *arch,
                           void *blob, const uint8_t *cubin, size_t len)
{
    store_entry *e = dsmlpR_store_mem_find(s, key);
    if (e) {   /* already there (e.g. imported twice): keep the first */
        free(blob);
        return e;
    }
    if ((s->count + 1) * 2 > s->cap && mem_grow(s) != 0) {
        free(blob);
        return NULL;
    }
    e = calloc(1, sizeof *e);
    if (!e) {
        free(blob);
        return NULL;
    }
    memcpy(e->key, key, STORE_KEY_BYTES);
    copy_field(e->kernel, sizeof e->kernel, kernel);
    copy_field(e->arch, sizeof e->arch, arch);
    e->blob = blob;
    e->cubin = cubin;
    e->len = len;
    e->mtime = (int64_t)time(NULL);
    e->next_all = s->all;
    s->all = e;
    size_t i = slot_of(key, s->cap);
    while (s->table[i]) i = (i + 1) & (s->cap - 1);
    s->table[i] = e;
    s->count++;
    return e;
}

void dsmlpR_store_mem_each(store *s, store_mem_fn fn, void *user)
{
    for (size_t i = 0; i < s->cap; i++)
        if (s->table[i] && fn(s->table[i], user)) return;
}

void dsmlpR_store_mem_forget(store *s)
{
    /* Cubins handed out must outlive this: the entries stay on s->all. */
    if (s->table) memset(s->table, 0, s->cap * sizeof *s->table);
    s->count = 0;
}

/* ------------------------------------------------------------ open/close */

void dsmlpR_store_disable_disk(store *s, const char *fmt, ...)
{
    if (!s->disk_enabled) return;
    s->disk_enabled = 0;
    s->disk_writable = 0;
    if (s->warning[0]) return;   /* one warning only */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->warning, sizeof s->warning, fmt, ap);
    va_end(ap);
}

static void set_warning(store *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_warning(store *s, const char *fmt, ...)
{
    if (s->warning[0]) return;   /* the first one says the most */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->warning, sizeof s->warning, fmt, ap);
    va_end(ap);
}

const char *dsmlpR_store_path_abbrev(const char *path, char *buf, size_t cap)
{
    size_t n = strlen(path), keep = cap > 16 ? (cap - 4) / 2 : 0;
    if (n < cap && n <= 160) return snprintf(buf, cap, "%s", path), buf;
    if (keep > 78) keep = 78;
    snprintf(buf, cap, "%.*s...%s", (int)keep, path, path + n - keep);
    return buf;
}

/* The default directory from the context's options (cache_dir, else
** xdg_cache_home/dsmlp, else home/.cache/dsmlp); -1 with *why on failure. */
static int default_dir(const dsmlp_ctx_options *o, char *out, size_t cap, const char **why)
{
    const char *env = o->cache_dir;
    *why = "path too long";
    if (env && *env) return snprintf(out, cap, "%s", env) < (int)cap ? 0 : (*why = "the cache directory is too long", -1);
    env = o->xdg_cache_home;
    if (env && *env == '/')
        return snprintf(out, cap, "%s/dsmlp", env) < (int)cap ? 0 : (*why = "XDG_CACHE_HOME is too long", -1);
    const char *home = o->home;
    char pwbuf[1024];
    struct passwd pw, *res = NULL;
    if ((!home || !*home) && getpwuid_r(getuid(), &pw, pwbuf, sizeof pwbuf, &res) == 0 && res)
        home = res->pw_dir;
    if (!home || !*home) return *why = "no home directory: set a cache directory (DSMLP_CACHE_DIR)", -1;
    return snprintf(out, cap, "%s/.cache/dsmlp", home) < (int)cap ? 0 : (*why = "HOME is too long", -1);
}

/* Makes the directory and proves we can create files in it (access(2) says
** yes to root even where writes fail, so a real file is tried). A directory
** that exists and can be read but not written is used read-only. */
static void probe_dir(store *s)
{
    char err[128], shown[200];
    dsmlpR_store_path_abbrev(s->dir, shown, sizeof shown);
    if (dsmlpR_store_fs_mkdir_p(s->dir, 0777) != 0) {
        int e = errno;
        dsmlpR_store_disable_disk(s, "kernel cache: cannot create directory %s (%s); using memory only", shown,
                           dsmlpR_store_fs_strerror(e, err, sizeof err));
        return;
    }
    if (dsmlpR_store_fs_probe(s->dir) != 0) {
        int e = errno;
        if ((e == EACCES || e == EPERM || e == EROFS) && access(s->dir, R_OK | X_OK) == 0) {
            s->disk_writable = 0;
            set_warning(s, "kernel cache: directory %s is read-only (%s): its entries are used, new kernels are "
                           "kept in memory only", shown, dsmlpR_store_fs_strerror(e, err, sizeof err));
            return;
        }
        dsmlpR_store_disable_disk(s, "kernel cache: directory %s is not writable (%s); using memory only", shown,
                           dsmlpR_store_fs_strerror(e, err, sizeof err));
        return;
    }
    dsmlpR_store_fs_clean_temps(s->dir, STORE_TEMP_AGE_S);
}

void dsmlpR_store_set_dir(store *s, const char *dir)
{
    s->gen++;   /* memory entries are not known to be in the new directory */
    s->warning[0] = '\0';
    s->disk_enabled = s->disk_writable = !s->disk_off;
    const char *why = "path too long";
    int ok = dir && *dir ? snprintf(s->dir, sizeof s->dir, "%s", dir) < (int)sizeof s->dir
                         : default_dir(&s->opts, s->dir, sizeof s->dir, &why) == 0;
    if (!ok) {
        s->dir[0] = '\0';
        if (strstr(why, "too long"))
            dsmlpR_store_disable_disk(s, "kernel cache: no usable directory (%s: the limit is %d bytes); using memory only",
                               why, (int)sizeof s->dir - 1);
        else
            dsmlpR_store_disable_disk(s, "kernel cache: no usable directory (%s); using memory only", why);
    } else if (s->disk_enabled) {
        probe_dir(s);
    }
    s->stats.disk_enabled = s->disk_enabled;
    s->stats.disk_writable = s->disk_writable;
}

dsmlp_status dsmlpR_store_check_writable(store *s, dsmlp_ctx *ctx, const char *what)
{
    if (s->disk_writable || s->disk_off) return DSMLP_OK;
    char shown[200];
    if (s->disk_enabled)
        return dsmlpB_err_set(ctx, DSMLP_ERR_IO, "%s: the kernel store %s is read-only: nothing changed", what,
                       dsmlpR_store_path_abbrev(s->dir, shown, sizeof shown));
    return dsmlpB_err_set(ctx, DSMLP_ERR_IO, "%s: the kernel store has no usable directory (%s): nothing changed", what,
                   s->warning[0] ? s->warning : "see dsmlp_cache_warning");
}

dsmlp_status dsmlpR_store_open(dsmlp_ctx *ctx, store **out)
{
    *out = NULL;
    store *s = calloc(1, sizeof *s);
    if (!s) return dsmlpB_err_set(ctx, DSMLP_ERR_NOMEM, "kernel store: out of memory");
    const dsmlp_ctx_options *o = ctx_opts(ctx);
    s->opts = *o;   /* the strings live as long as the context, which owns the store */
    s->disk_off = o->cache_mode == DSMLP_CACHE_MEMORY;
    if (o->cache_max_mb > 0) s->max_bytes = (uint64_t)(o->cache_max_mb * 1048576.0);
    dsmlpR_store_set_dir(s, NULL);
    /* A setting from_env had to ignore is the store's warning unless the
    ** directory has a worse one. */
    if (!s->warning[0] && o->warning[0])
        snprintf(s->warning, sizeof s->warning, "kernel cache: %s", o->warning);
    *out = s;
    return DSMLP_OK;
}

void dsmlpR_store_close(store *s)
{
    if (!s) return;
    for (store_entry *e = s->all, *next; e; e = next) {
        next = e->next_all;
        free(e->blob);
        free(e);
    }
    free(s->table);
    free(s);
}

/* -------------------------------------------------------------- lookups */

/* Writes e to the current directory. A failure that concerns this entry
** only (something else at its path) leaves the disk on; any other turns it
** off. Either way the entry stays in memory and the failure is counted, as
** is every kernel a read-only or unusable directory cannot take. */
static void publish(store *s, store_entry *e)
{
    if (s->disk_off) return;   /* memory-only by request: nothing to fail */
    if (!s->disk_writable) {
        s->stats.write_failures++;
        return;
    }
    if (dsmlpR_store_disk_write(s, e->key, e->kernel, e->arch, e->cubin, e->len) != 0) {
        int err = errno;
        char buf[128], hex[65], shown[200];
        dsmlpR_store_hex(e->key, hex);
        dsmlpR_store_path_abbrev(s->dir, shown, sizeof shown);
        s->stats.write_failures++;
        if (err == EISDIR || err == ENOTEMPTY || err == EEXIST) {   /* a directory at its path */
            set_warning(s, "kernel cache: cannot write entry %s%s (%s) in %s; that kernel is kept in memory only",
                        hex, STORE_SUFFIX, dsmlpR_store_fs_strerror(err, buf, sizeof buf), shown);
            return;
        }
        dsmlpR_store_disable_disk(s, "kernel cache: cannot write entry %s%s (%s) in %s; using memory only", hex,
                           STORE_SUFFIX, dsmlpR_store_fs_strerror(err, buf, sizeof buf), shown);
        return;
    }
    e->disk_gen = s->gen;
}

/* Memory, then disk. 0 found (*out set), 1 absent, 2 corrupt on disk. */
static int lookup(store *s, const uint8_t key[STORE_KEY_BYTES], store_entry **out)
{
    store_entry *e = dsmlpR_store_mem_find(s, key);
    if (e) {
        *out = e;
        return 0;
    }
    if (!s->disk_enabled) return 1;
    store_hdr h;
    void *blob;
    size_t n;
    int r = dsmlpR_store_disk_read(s, key, &h, &blob, &n);
    if (r != 0) return r;
    e = dsmlpR_store_mem_add(s, key, h.kernel, h.arch, blob, (const uint8_t *)blob + STORE_HDR_SIZE, (size_t)h.payload);
    if (!e) return 1;
    e->disk_gen = s->gen;
    s->stats.hits_disk++;
    s->stats.bytes_read += n;
    *out = e;
    return 0;
}

int dsmlpR_store_find(store *s, const uint8_t key[STORE_KEY_BYTES], const char **kernel, const char **arch,
               const uint8_t **cubin, size_t *len)
{
    store_entry *e;
    uint64_t hits = s->stats.hits_disk, bytes = s->stats.bytes_read;
    if (lookup(s, key, &e) != 0) return 1;
    s->stats.hits_disk = hits;   /* a bundle export is not a cache hit */
    s->stats.bytes_read = bytes;
    *kernel = e->kernel;
    *arch = e->arch;
    *cubin = e->cubin;
    *len = e->len;
    return 0;
}

dsmlp_status dsmlpR_store_get(store *s, dsmlp_ctx *ctx, const char *kernel_name, const char *source, const char *arch,
                       const void **cubin, size_t *len, char key_hex[65])
{
    *cubin = NULL;
    *len = 0;
    dsmlp_status st = check_args(ctx, source, arch);
    if (st != DSMLP_OK) return st;
    if (!kernel_name || !*kernel_name || strlen(kernel_name) >= STORE_KERNEL_MAX)
        return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "kernel store: kernel name '%s' is empty or longer than %d",
                       kernel_name ? kernel_name : "(null)", STORE_KERNEL_MAX - 1);
    uint8_t key[STORE_KEY_BYTES];
    key_compute(source, arch, key);
    char hex[65];
    dsmlpR_store_hex(key, hex);
    if (key_hex) memcpy(key_hex, hex, 65);

    store_entry *e = dsmlpR_store_mem_find(s, key);
    if (e) {
        s->stats.hits_memory++;
        if (e->disk_gen != s->gen) publish(s, e);   /* directory changed since */
    } else {
        int r = lookup(s, key, &e);
        if (r != 0) {
            if (r == 2) s->stats.corrupt_replaced++;   /* replaced by the write below */
            s->stats.misses++;
            void *bin;
            size_t n;
            double t0 = dsmlpB_seconds();
            st = dsmlpR_nvrtc_compile(ctx, kernel_name, source, arch, &bin, &n);
            if (st != DSMLP_OK) return st;
            s->stats.compiles++;
            s->stats.compile_seconds += dsmlpB_seconds() - t0;
            e = dsmlpR_store_mem_add(s, key, kernel_name, arch, bin, bin, n);
            if (!e) return dsmlpB_err_set(ctx, DSMLP_ERR_NOMEM, "kernel store: out of memory adding %s", kernel_name);
            publish(s, e);
        }
    }
    *cubin = e->cubin;
    *len = e->len;
    return DSMLP_OK;
}

dsmlp_status dsmlpR_store_put(store *s, dsmlp_ctx *ctx, const uint8_t key[STORE_KEY_BYTES], const char *kernel,
                       const char *arch, const void *cubin, size_t len)
{
    dsmlp_status st = dsmlpR_store_check_writable(s, ctx, "kernel store");
    if (st != DSMLP_OK) return st;
    if (s->disk_enabled) {
        if (dsmlpR_store_disk_write(s, key, kernel, arch, cubin, len) == 0) return DSMLP_OK;
        int err = errno;
        char buf[128], hex[65], shown[200];
        dsmlpR_store_hex(key, hex);
        return dsmlpB_err_set(ctx, DSMLP_ERR_IO, "kernel store: cannot write entry %s%s (%s) in %s", hex, STORE_SUFFIX,
                       dsmlpR_store_fs_strerror(err, buf, sizeof buf), dsmlpR_store_path_abbrev(s->dir, shown, sizeof shown));
    }
    void *copy = malloc(len ? len : 1);
    if (!copy) return dsmlpB_err_set(ctx, DSMLP_ERR_NOMEM, "kernel store: out of memory (%zu bytes)", len);
    memcpy(copy, cubin, len);
    if (!dsmlpR_store_mem_add(s, key, kernel, arch, copy, copy, len))
        return dsmlpB_err_set(ctx, DSMLP_ERR_NOMEM, "kernel store: out of memory adding %s", kernel);
    return DSMLP_OK;
}
