#define _GNU_SOURCE
/* store_fs.c — see store_fs.h. */
#include "store_fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const char *dsmlpR_store_fs_strerror(int err, char *buf, size_t cap)
{
    return strerror_r(err, buf, cap);   /* GNU variant: returns the text */
}

int dsmlpR_store_fs_mkdir_p(const char *path, unsigned mode)
{
    char tmp[PATH_MAX];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof tmp) {
        errno = n ? ENAMETOOLONG : ENOENT;
        return -1;
    }
    memcpy(tmp, path, n + 1);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(tmp, mode) != 0 && errno != EEXIST) return -1;
        *p = '/';
    }
    if (mkdir(tmp, mode) != 0 && errno != EEXIST) return -1;
    struct stat st;
    if (stat(tmp, &st) != 0) return -1;
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}

int dsmlpR_store_fs_read(const char *path, void **buf, size_t *len)
{
    *buf = NULL;
    *len = 0;
    /* O_NONBLOCK: opening a FIFO must not wait for a writer. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return -1;
    struct stat st;
    if (fstat(fd, &st) != 0) goto fail;
    if (!S_ISREG(st.st_mode)) {
        errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
        goto fail;
    }
    size_t cap = (size_t)st.st_size;
    char *b = malloc(cap ? cap : 1);
    if (!b) {
        errno = ENOMEM;
        goto fail;
    }
    size_t got = 0;
    while (got < cap) {   /* a file that shrinks under us is read as what it has */
        ssize_t r = read(fd, b + got, cap - got);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            int e = errno;
            free(b);
            errno = e;
            goto fail;
        }
        if (r == 0) break;
        got += (size_t)r;
    }
    close(fd);
    *buf = b;
    *len = got;
    return 0;
fail:;
    int e = errno;
    close(fd);
    errno = e;
    return -1;
}

static int write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

/* <dir>/.<base>.dsmlp-tmp.<pid>.<random>: unique per writer. */
static int temp_name(char *tmp, size_t cap, const char *dir, size_t dirlen, const char *base)
{
    uint64_t rnd = 0;
    if (getrandom(&rnd, sizeof rnd, GRND_NONBLOCK) != (ssize_t)sizeof rnd) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        rnd ^= (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ull ^ (uint64_t)(uintptr_t)&rnd ^ (uint64_t)gettid();
    }
    int n = snprintf(tmp, cap, "%.*s.%s" STORE_TMP_MARK "%ld.%016llx", (int)dirlen, dir, base, (long)getpid(),
                     (unsigned long long)rnd);
    if (n < 0 || n >= (int)cap) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return 0;
}

int dsmlpR_store_fs_probe(const char *dir)
{
    char d[PATH_MAX], tmp[PATH_MAX];
    if (snprintf(d, sizeof d, "%s/", dir) >= (int)sizeof d || temp_name(tmp, sizeof tmp, d, strlen(d), "probe") != 0) {
        errno = ENAMETOOLONG;
        return -1;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return -1;
    close(fd);
    unlink(tmp);
    return 0;
}

int dsmlpR_store_fs_publish(const char *path, const store_part *parts, int nparts, int do_sync, unsigned mode)
{
    /* The temp file sits beside the target: rename() is atomic only within
    ** one file system. */
    const char *slash = strrchr(path, '/');
    size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0;
    char tmp[PATH_MAX];
    if (temp_name(tmp, sizeof tmp, path, dirlen, path + dirlen) != 0) return -1;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) return -1;
    int bad = 0;
    for (int i = 0; i < nparts && !bad; i++) bad = write_all(fd, parts[i].data, parts[i].len);
    if (!bad && do_sync) bad = fsync(fd);
    int e = errno;
    if (close(fd) != 0 && !bad) {
        bad = 1;
        e = errno;
    }
    if (!bad && rename(tmp, path) != 0) {
        bad = 1;
        e = errno;
    }
    if (bad) {
        unlink(tmp);
        errno = e;
        return -1;
    }
    return 0;
}

int dsmlpR_store_fs_clean_temps(const char *dir, int64_t max_age_s)
{
    DIR *d = opendir(dir);
    if (!d) return 0;
    int removed = 0;
    time_t now = time(NULL);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] != '.' || !strstr(de->d_name, STORE_TMP_MARK)) continue;
        struct stat st;
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode)) continue;
        if ((int64_t)(now - st.st_mtime) < max_age_s) continue;
        if (unlinkat(dirfd(d), de->d_name, 0) == 0) removed++;
    }
    closedir(d);
    return removed;
}
