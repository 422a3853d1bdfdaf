/*
** cubin_info.h — what ptxas made of a kernel, read from its cubin without a
** CUDA toolkit or a GPU: the symbol that defines it, its register count and
** its stack frame (spilled registers and locally indexed arrays live there:
** a generated streaming kernel must have none). The numbers are those of
** ptxas -v and cuobjdump -res-usage, from the .nv.info attributes.
*/
#ifndef DSMLP_CUBIN_INFO_H
#define DSMLP_CUBIN_INFO_H

#include <stddef.h>

typedef struct cubin_resources {
    int      regs;          /* registers a thread */
    unsigned frame_bytes;   /* stack frame a thread (0: no spills, no local arrays) */
} cubin_resources;

/* The SM number the cubin was built for (90 for sm_90 and sm_90a), with
** *defines 1 when a function symbol that is not undefined names kernel (one
** parse for both of the store's import checks); -1 with *why when it is not
** a 64-bit CUDA ELF. */
int dsmlpR_cubin_sm(const void *cubin, size_t len, const char *kernel, int *defines, const char **why);
/* 0 with *out filled, or -1 with *why (static text): not a 64-bit CUDA ELF,
** no such kernel, or no register count recorded for it. */
int dsmlpR_cubin_resources(const void *cubin, size_t len, const char *kernel, cubin_resources *out, const char **why);

#endif
