/* grow.c — see grow.h. */
#include "grow.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int sb_reserve(sbuf *b, size_t more)
{
    if (b->oom) return -1;
    if (b->n + more + 1 <= b->cap) return 0;
    size_t cap = (b->cap + more + 1) * 2;
    char *np = realloc(b->p, cap);
    if (!np) { b->oom = 1; return -1; }
    b->p = np, b->cap = cap;
    return 0;
}

void dsmlpB_sb_put(sbuf *b, const char *s, size_t len)
{
    if (sb_reserve(b, len)) return;
    memcpy(b->p + b->n, s, len);
    b->n += len;
    b->p[b->n] = 0;
}

void dsmlpB_sb_printf(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) { b->oom = 1; return; }
    if (sb_reserve(b, (size_t)n)) return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->n, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->n += (size_t)n;
}

int dsmlpB_grow(void **arr, int *cap, int n, size_t size)
{
    if (n < *cap) return 0;
    int nc = *cap * 2 + 8;
    void *na = realloc(*arr, (size_t)nc * size);
    if (!na) return -1;
    memset((char *)na + (size_t)*cap * size, 0, (size_t)(nc - *cap) * size);
    *arr = na, *cap = nc;
    return 0;
}
