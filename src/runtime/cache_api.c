#define _GNU_SOURCE
/* cache_api.c — the public kernel-store calls (dsmlp_cache_*). */
#include "store_int.h"
#include "store_fs.h"
#include "context.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static store *get_store(dsmlp_ctx *ctx)
{
    store *s = NULL;
    if (!ctx || dsmlpR_ctx_store(ctx, &s) != DSMLP_OK) return NULL;
    return s;
}

const char *dsmlp_cache_dir(dsmlp_ctx *ctx)
{
    store *s = get_store(ctx);
    return s ? s->dir : "";
}

dsmlp_status dsmlp_cache_set_dir(dsmlp_ctx *ctx, const char *dir)
{
    if (!ctx) return DSMLP_ERR_INVALID_ARG;
    store *s;
    dsmlp_status st = dsmlpR_ctx_store(ctx, &s);
    if (st != DSMLP_OK) return st;
    if (dir && strlen(dir) >= sizeof s->dir)
        return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "dsmlp_cache_set_dir: path too long (%zu bytes)", strlen(dir));
    dsmlpR_store_set_dir(s, dir);
    return DSMLP_OK;
}

const char *dsmlp_cache_warning(dsmlp_ctx *ctx)
{
    store *s = get_store(ctx);
    return s ? s->warning : "";
}

void dsmlp_cache_get_stats(dsmlp_ctx *ctx, dsmlp_cache_stats *out)
{
    if (!out) return;
    memset(out, 0, sizeof *out);
    store *s = get_store(ctx);
    if (!s) return;
    *out = s->stats;
    out->disk_enabled = s->disk_enabled;
    out->disk_writable = s->disk_writable;
}

void dsmlp_cache_reset_stats(dsmlp_ctx *ctx)
{
    store *s = get_store(ctx);
    if (!s) return;
    memset(&s->stats, 0, sizeof s->stats);
    s->stats.disk_enabled = s->disk_enabled;
    s->stats.disk_writable = s->disk_writable;
}

/* ------------------------------------------------------------------ list */

typedef struct list_item {
    char     key[65];
    char     kernel[STORE_KERNEL_MAX + 1];
    char     arch[STORE_ARCH_MAX + 1];
    uint64_t bytes;
    int64_t  mtime;
} list_item;

typedef struct list_acc {
    list_item *items;
    size_t     n, cap;
    int        oom;
} list_acc;

static list_item *acc_push(list_acc *a)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? 2 * a->cap : 32;
        list_item *p = realloc(a->items, cap * sizeof *p);
        if (!p) {
            a->oom = 1;
            return NULL;
        }
        a->items = p;
        a->cap = cap;
    }
    return &a->items[a->n++];
}

/* Reads the header only; files that are not valid entries are skipped. */
static int list_disk_one(const char *dir, const char *name, void *user)
{
    list_acc *a = user;
    char path[PATH_MAX + 80];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);   /* a FIFO must not block us */
    if (fd < 0) return 0;
    uint8_t hdr[STORE_HDR_SIZE];
    struct stat st;
    int ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && read(fd, hdr, sizeof hdr) == (ssize_t)sizeof hdr;
    close(fd);
    store_hdr h;
    const char *why;
    if (!ok || dsmlpR_store_hdr_decode(hdr, sizeof hdr, &h, &why) != 0) return 0;
    list_item *it = acc_push(a);
    if (!it) return 1;
    dsmlpR_store_hex(h.key, it->key);
    snprintf(it->kernel, sizeof it->kernel, "%s", h.kernel);
    snprintf(it->arch, sizeof it->arch, "%s", h.arch);
    it->bytes = (uint64_t)st.st_size;
    it->mtime = (int64_t)st.st_mtime;
    return 0;
}

static int list_mem_one(const store_entry *e, void *user)
{
    list_acc *a = user;
    list_item *it = acc_push(a);
    if (!it) return 1;
    dsmlpR_store_hex(e->key, it->key);
    snprintf(it->kernel, sizeof it->kernel, "%s", e->kernel);
    snprintf(it->arch, sizeof it->arch, "%s", e->arch);
    it->bytes = e->len;
    it->mtime = e->mtime;
    return 0;
}

static int item_cmp(const void *a, const void *b)
{
    const list_item *x = a, *y = b;
    return strcmp(x->key, y->key);
}

dsmlp_status dsmlp_cache_list(dsmlp_ctx *ctx, dsmlp_cache_visit_fn fn, void *user)
{
    if (!ctx || !fn) return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "dsmlp_cache_list: ctx and fn are required");
    store *s;
    dsmlp_status st = dsmlpR_ctx_store(ctx, &s);
    if (st != DSMLP_OK) return st;
    list_acc a = {0};
    if (s->disk_enabled) {
        if (dsmlpR_store_disk_scan(s->dir, list_disk_one, &a) != 0) {
            int e = errno;
            char buf[128];
            free(a.items);
            return dsmlpB_err_set(ctx, DSMLP_ERR_IO, "dsmlp_cache_list: cannot read directory %s (%s)", s->dir,
                           dsmlpR_store_fs_strerror(e, buf, sizeof buf));
        }
    } else {
        dsmlpR_store_mem_each(s, list_mem_one, &a);
    }
    if (a.oom) {
        free(a.items);
        return dsmlpB_err_set(ctx, DSMLP_ERR_NOMEM, "dsmlp_cache_list: out of memory");
    }
    if (a.n) qsort(a.items, a.n, sizeof *a.items, item_cmp);   /* stable order for people and tests */
    for (size_t i = 0; i < a.n; i++) {
        dsmlp_cache_entry e = {a.items[i].key, a.items[i].kernel, a.items[i].arch, a.items[i].bytes,
                               a.items[i].mtime};
        if (fn(&e, user)) break;
    }
    free(a.items);
    return DSMLP_OK;
}

/* ----------------------------------------------------------------- clear */

typedef struct clear_acc {
    int removed, failed, err;
} clear_acc;

static int clear_one(const char *dir, const char *name, void *user)
{
    clear_acc *c = user;
    char path[PATH_MAX + 80];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (unlink(path) == 0)
        c->removed++;
    else if (errno != ENOENT) {
        c->failed++;
        c->err = errno;
    }
    return 0;
}

dsmlp_status dsmlp_cache_clear(dsmlp_ctx *ctx)
{
    if (!ctx) return DSMLP_ERR_INVALID_ARG;
    store *s;
    dsmlp_status st = dsmlpR_ctx_store(ctx, &s);
    if (st != DSMLP_OK) return st;
    /* A store that cannot be written is not cleared: saying so beats
    ** reporting success while every entry stays on disk. */
    if ((st = dsmlpR_store_check_writable(s, ctx, "dsmlp_cache_clear")) != DSMLP_OK) return st;
    dsmlpR_store_mem_forget(s);
    if (!s->disk_enabled) return DSMLP_OK;
    clear_acc c = {0};
    /* Only "<64 hex>.dsk" entries and our stale temp files: never anything else. */
    dsmlpR_store_disk_scan(s->dir, clear_one, &c);
    dsmlpR_store_fs_clean_temps(s->dir, STORE_TEMP_AGE_S);
    if (c.failed) {
        char buf[128];
        return dsmlpB_err_set(ctx, DSMLP_ERR_IO, "dsmlp_cache_clear: %d entries in %s could not be removed (%s)", c.failed,
                       s->dir, dsmlpR_store_fs_strerror(c.err, buf, sizeof buf));
    }
    return DSMLP_OK;
}
