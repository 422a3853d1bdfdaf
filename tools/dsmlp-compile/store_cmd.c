/* store_cmd.c — --list and --clear over the kernel store, and byte counts. */
#define _GNU_SOURCE
#include "cli.h"

#include <jansson.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct row {
    char    *key, *kernel, *arch;
    uint64_t bytes;
    int64_t  mtime;
} row;

typedef struct rows {
    row *v;
    int  n, cap, nomem;
} rows;

/* A copy of s with bytes outside printable ASCII as \xNN: what a store or
** bundle holds must not reach the terminal raw (escapes, fake lines). */
static char *printable(const char *s)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) n += *p < 0x20 || *p > 0x7e || *p == '\\' ? 4 : 1;
    char *out = malloc(n + 1), *q = out;
    if (!out) return NULL;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p > 0x7e || *p == '\\') q += sprintf(q, "\\x%02x", *p);
        else *q++ = (char)*p;
    *q = '\0';
    return out;
}

static int collect(const dsmlp_cache_entry *e, void *user)
{
    rows *r = user;
    if (r->n == r->cap) {
        int cap = r->cap ? 2 * r->cap : 64;
        row *v = realloc(r->v, (size_t)cap * sizeof *v);
        if (!v) { r->nomem = 1; return 1; }
        r->v = v;
        r->cap = cap;
    }
    row *x = &r->v[r->n];
    x->key = strdup(e->key ? e->key : "");
    x->kernel = printable(e->kernel ? e->kernel : "");
    x->arch = printable(e->arch ? e->arch : "");
    x->bytes = e->bytes;
    x->mtime = e->mtime;
    if (!x->key || !x->kernel || !x->arch) {
        free(x->key), free(x->kernel), free(x->arch);
        r->nomem = 1;
        return 1;
    }
    r->n++;
    return 0;
}

static void rows_free(rows *r)
{
    for (int i = 0; i < r->n; i++) free(r->v[i].key), free(r->v[i].kernel), free(r->v[i].arch);
    free(r->v);
}

/* Stable order: kernel name, then arch, then key (the store's own order is
** whatever the directory gives). */
static int row_cmp(const void *a, const void *b)
{
    const row *x = a, *y = b;
    int c = strcmp(x->kernel, y->kernel);
    if (!c) c = strcmp(x->arch, y->arch);
    if (!c) c = strcmp(x->key, y->key);
    return c;
}

static int load_rows(dsmlp_ctx *ctx, rows *r)
{
    memset(r, 0, sizeof *r);
    dsmlp_status s = dsmlp_cache_list(ctx, collect, r);
    if (s != DSMLP_OK) {
        cli_error("cannot list the kernel store %s: %s", dsmlp_cache_dir(ctx), dsmlp_last_error(ctx));
        rows_free(r);
        return cli_exit_for(s, CLI_EXIT_STORE);
    }
    if (r->nomem) {
        cli_error("out of memory listing the kernel store");
        rows_free(r);
        return CLI_EXIT_OTHER;
    }
    if (r->n) qsort(r->v, (size_t)r->n, sizeof *r->v, row_cmp);   /* qsort(NULL, 0) is undefined */
    return CLI_EXIT_OK;
}

static void fmt_age(int64_t mtime, char *buf, size_t n)
{
    int64_t age = (int64_t)time(NULL) - mtime;
    if (age < 0) age = 0;
    if (age < 120) snprintf(buf, n, "%llds", (long long)age);
    else if (age < 7200) snprintf(buf, n, "%lldm", (long long)(age / 60));
    else if (age < 2 * 86400) snprintf(buf, n, "%lldh", (long long)(age / 3600));
    else snprintf(buf, n, "%lldd", (long long)(age / 86400));
}

/* --list --json: {"dir": ..., "entries": [{"key", "kernel", "arch", "bytes", "mtime"}...]}. */
static int list_json(dsmlp_ctx *ctx, const rows *r)
{
    json_t *arr = json_array(), *top = json_pack("{s:s, s:o}", "dir", dsmlp_cache_dir(ctx), "entries", arr);
    for (int i = 0; top && i < r->n; i++)
        json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:I, s:I}", "key", r->v[i].key, "kernel", r->v[i].kernel,
                                             "arch", r->v[i].arch, "bytes", (json_int_t)r->v[i].bytes, "mtime",
                                             (json_int_t)r->v[i].mtime));
    int ok = top && json_dumpf(top, stdout, JSON_INDENT(1)) == 0;
    putchar('\n');
    json_decref(top);
    if (!ok) cli_error("out of memory writing JSON");
    return ok ? CLI_EXIT_OK : CLI_EXIT_OTHER;
}

int store_cmd_list(dsmlp_ctx *ctx, int json)
{
    rows r;
    int rc = load_rows(ctx, &r);
    if (rc) return rc;
    if (json) {
        rc = list_json(ctx, &r);
        rows_free(&r);
        return rc;
    }
    int wk = 6;
    for (int i = 0; i < r.n; i++) {
        int l = (int)strlen(r.v[i].kernel);
        if (l > wk) wk = l;
    }
    uint64_t total = 0;
    printf("%-64s  %-*s  %-6s  %10s  %s\n", "KEY", wk, "KERNEL", "ARCH", "BYTES", "AGE");
    for (int i = 0; i < r.n; i++) {
        char age[32];
        fmt_age(r.v[i].mtime, age, sizeof age);
        printf("%-64s  %-*s  %-6s  %10llu  %s\n", r.v[i].key, wk, r.v[i].kernel, r.v[i].arch,
               (unsigned long long)r.v[i].bytes, age);
        total += r.v[i].bytes;
    }
    printf("%d entries, %llu bytes in %s\n", r.n, (unsigned long long)total, dsmlp_cache_dir(ctx));
    rows_free(&r);
    return CLI_EXIT_OK;
}

int store_cmd_clear(dsmlp_ctx *ctx, int quiet)
{
    rows r;
    int rc = load_rows(ctx, &r);
    if (rc) return rc;
    int n = r.n;
    rows_free(&r);
    dsmlp_status s = dsmlp_cache_clear(ctx);
    if (s != DSMLP_OK) {
        cli_error("cannot clear the kernel store %s: %s", dsmlp_cache_dir(ctx), dsmlp_last_error(ctx));
        return cli_exit_for(s, CLI_EXIT_STORE);
    }
    if (!quiet) printf("cleared %d entries from %s\n", n, dsmlp_cache_dir(ctx));
    return CLI_EXIT_OK;
}

uint64_t store_bytes_of(dsmlp_ctx *ctx, const char *const *keys, int n)
{
    rows r;
    if (load_rows(ctx, &r)) return 0;
    uint64_t total = 0;
    for (int k = 0; k < n; k++)
        for (int i = 0; i < r.n; i++)
            if (strcmp(r.v[i].key, keys[k]) == 0) {
                total += r.v[i].bytes;
                break;
            }
    rows_free(&r);
    return total;
}
