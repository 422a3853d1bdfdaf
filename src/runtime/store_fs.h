/*
** store_fs.h — small file-system helpers shared by the kernel store, bundles
** and NVRTC source dumps: mkdir -p, whole-file read, and the one way dsmlp
** publishes a file (per-writer temp file in the same directory, fsync, one
** rename), so no reader ever sees a torn file.
*/
#ifndef DSMLP_STORE_FS_H
#define DSMLP_STORE_FS_H

#include <stddef.h>
#include <stdint.h>

/* Every temp file dsmlp creates contains this marker in its name, so stale
** ones (a writer killed mid-write) can be recognised and removed. */
#define STORE_TMP_MARK ".dsmlp-tmp."

typedef struct store_part {
    const void *data;
    size_t      len;
} store_part;

/* mkdir -p; 0 or -1 with errno. */
int dsmlpR_store_fs_mkdir_p(const char *path, unsigned mode);
/* Reads the whole file into a malloc'ed buffer; 0 or -1 with errno. Only
** regular files are read (EISDIR, or EINVAL for a FIFO, device or socket),
** and opening never blocks. */
int dsmlpR_store_fs_read(const char *path, void **buf, size_t *len);
/* Writes parts (concatenated) to path atomically: temp file beside it, fsync
** when do_sync, rename. On failure the temp file is removed and -1 returned
** with errno set. mode: permission bits of the new file. */
int dsmlpR_store_fs_publish(const char *path, const store_part *parts, int nparts, int do_sync, unsigned mode);
/* Proves a file can be created in dir (a temp-marked name, removed at
** once); 0 or -1 with errno. */
int dsmlpR_store_fs_probe(const char *dir);
/* Removes temp files (STORE_TMP_MARK in the name) older than max_age_s from
** dir; returns how many were removed. */
int dsmlpR_store_fs_clean_temps(const char *dir, int64_t max_age_s);
/* errno text, thread-safe. */
const char *dsmlpR_store_fs_strerror(int err, char *buf, size_t cap);

#endif
