/*
** nvrtc.h — run-time compilation of generated CUDA source to SASS (cubin).
** Include path: DSMLP_CUDA_INCLUDE if set, else the build-time toolkit's.
*/
#ifndef DSMLP_NVRTC_H
#define DSMLP_NVRTC_H

#include <stddef.h>
#include "dsmlp.h"

/* Valid targets: sm_80, sm_86, sm_89, sm_90, sm_90a. */
int          nvrtc_arch_valid(const char *arch);
/* The exact option list used for arch, joined by spaces (part of the key). */
const char  *nvrtc_options_string(const char *arch);
/* "13.0" etc. */
const char  *nvrtc_version_string(void);
/* Compiles; on failure DSMLP_ERR_COMPILE with the NVRTC log and, where the
** source was dumped, its path. *cubin is malloc'ed (caller frees). */
dsmlp_status nvrtc_compile(dsmlp_ctx *ctx, const char *name, const char *source, const char *arch,
                           void **cubin, size_t *len);
/* Writes source to $DSMLP_DUMP_DIR/<name>.cu when that variable is set (or
** to dir when non-NULL); returns the path written or "" (static buffer). */
const char  *nvrtc_dump_source(const char *dir, const char *name, const char *source);

#endif
