/*
** nvrtc.h — run-time compilation of generated CUDA source to SASS (cubin).
** Include path: DSMLP_CUDA_INCLUDE if set, else the build-time toolkit's.
*/
#ifndef DSMLP_NVRTC_H
#define DSMLP_NVRTC_H

#include <stddef.h>
#include "dsmlp.h"

/* Valid targets: the table in nvrtc.c (dsmlp_arch_name lists it). */
int          dsmlpR_nvrtc_arch_valid(const char *arch);
/* "sm_80, sm_86, ..." for messages: the one arch table, in nvrtc.c. */
const char  *dsmlpR_nvrtc_arch_list(void);
/* The exact option list used for arch, joined by spaces (part of the key). */
const char  *dsmlpR_nvrtc_options_string(const char *arch);
/* "13.0" etc. */
const char  *dsmlpR_nvrtc_version_string(void);
/* Compiles; on failure DSMLP_ERR_COMPILE with the NVRTC log and, where the
** source was dumped, its path. *cubin is malloc'ed (caller frees). */
dsmlp_status dsmlpR_nvrtc_compile(dsmlp_ctx *ctx, const char *name, const char *source, const char *arch,
                           void **cubin, size_t *len);
/* Writes source to dir/<name>.cu (dir: the context's dump_dir option, i.e.
** DSMLP_DUMP_DIR; NULL: nothing); returns the path written or "" (static,
** per thread). */
const char  *dsmlpR_nvrtc_dump_source(const char *dir, const char *name, const char *source);

#endif
