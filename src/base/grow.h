/*
** grow.h — growing buffers: a string that a failed allocation marks
** instead of stopping (callers check oom once, at the end), and room for one
** more item in an int-counted array of any type (the compiler's plans and
** passes).
*/
#ifndef DSMLP_BASE_GROW_H
#define DSMLP_BASE_GROW_H

#include <stddef.h>

/* A growing string; {0} is empty. p is NUL-terminated once anything was added; oom sticks. */
typedef struct sbuf { char *p; size_t n, cap; int oom; } sbuf;

void dsmlpB_sb_put(sbuf *b, const char *s, size_t len);
void dsmlpB_sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Makes *arr (an array of `size`-byte items, *cap of them) hold at least n + 1 items, the new ones zeroed.
** Returns 0, or -1 when out of memory (*arr and *cap unchanged). */
int dsmlpB_grow(void **arr, int *cap, int n, size_t size);

#endif
