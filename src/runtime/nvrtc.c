#define _GNU_SOURCE
/*
** nvrtc.c — generated CUDA source -> SASS (cubin) with NVRTC.
** Needs no GPU. Options are fixed per arch and form part of the store key;
** the include directory is not (it is a location, not a meaning: the headers
** that NVRTC may use are tied to its version, which is in the key).
*/
#include "nvrtc.h"
#include "context.h"
#include "store_fs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <cuda.h>
#include <nvrtc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef DSMLP_CUDA_INCLUDE_DIR
#define DSMLP_CUDA_INCLUDE_DIR "/usr/local/cuda/include"
#endif

/* One row per target: --gpu-architecture makes NVRTC emit SASS (a cubin)
** instead of PTX. No --use_fast_math: results must not change beyond the
** tolerances (fmad stays at NVRTC's default, as with nvcc). */
static const struct {
    const char *arch;
    const char *opts[2];
    const char *joined;
} targets[] = {
    {"sm_80", {"--gpu-architecture=sm_80", "-std=c++17"}, "--gpu-architecture=sm_80 -std=c++17"},
    {"sm_86", {"--gpu-architecture=sm_86", "-std=c++17"}, "--gpu-architecture=sm_86 -std=c++17"},
    {"sm_89", {"--gpu-architecture=sm_89", "-std=c++17"}, "--gpu-architecture=sm_89 -std=c++17"},
    {"sm_90", {"--gpu-architecture=sm_90", "-std=c++17"}, "--gpu-architecture=sm_90 -std=c++17"},
    {"sm_90a", {"--gpu-architecture=sm_90a", "-std=c++17"}, "--gpu-architecture=sm_90a -std=c++17"},
};
#define NTARGETS ((int)(sizeof targets / sizeof targets[0]))
#define NOPTS 2

static int target_index(const char *arch)
{
    if (!arch) return -1;
    for (int i = 0; i < NTARGETS; i++)
        if (strcmp(arch, targets[i].arch) == 0) return i;
    return -1;
}

int dsmlpR_nvrtc_arch_valid(const char *arch) { return target_index(arch) >= 0; }

const char *dsmlp_arch_name(int i) { return i >= 0 && i < NTARGETS ? targets[i].arch : NULL; }

static char           arch_list[NTARGETS * 8];
static pthread_once_t arch_list_once = PTHREAD_ONCE_INIT;

static void arch_list_init(void)
{
    for (int i = 0; i < NTARGETS; i++) {
        if (i) strcat(arch_list, ", ");
        strcat(arch_list, targets[i].arch);
    }
}

const char *dsmlpR_nvrtc_arch_list(void)
{
    pthread_once(&arch_list_once, arch_list_init);
    return arch_list;
}

const char *dsmlpR_nvrtc_options_string(const char *arch)
{
    int i = target_index(arch);
    return i >= 0 ? targets[i].joined : "";
}

static pthread_once_t version_once = PTHREAD_ONCE_INIT;
static char           version_buf[32];

static void version_init(void)
{
    int major = 0, minor = 0;
    if (nvrtcVersion(&major, &minor) == NVRTC_SUCCESS)
        snprintf(version_buf, sizeof version_buf, "%d.%d", major, minor);
    else
        snprintf(version_buf, sizeof version_buf, "unknown");
}

const char *dsmlpR_nvrtc_version_string(void)
{
    pthread_once(&version_once, version_init);
    return version_buf;
}

const char *dsmlp_nvrtc_version(void) { return dsmlpR_nvrtc_version_string(); }

int dsmlp_cuda_version(void) { return CUDA_VERSION; }

/* Kernel names become file names: keep [A-Za-z0-9_.-], replace the rest. */
static void safe_name(char *out, size_t cap, const char *name)
{
    size_t n = 0;
    for (const char *p = name && *name ? name : "kernel"; *p && n + 1 < cap; p++) {
        char c = *p;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                 c == '-' || (c == '.' && n > 0);
        out[n++] = ok ? c : '_';
    }
    out[n] = '\0';
}

/* Writes source to dir/<name>.cu (directory created with parents) through
** a temp file + rename, so a reader never sees half a file. 0 on success. */
static int dump_to_dir(const char *dir, const char *name, const char *source, char *path, size_t cap)
{
    char base[128];
    safe_name(base, sizeof base, name);
    if (dsmlpR_store_fs_mkdir_p(dir, 0777) != 0) return -1;
    if (snprintf(path, cap, "%s/%s.cu", dir, base) >= (int)cap) return -1;
    store_part part = {source, strlen(source)};
    return dsmlpR_store_fs_publish(path, &part, 1, 0, 0644);
}

const char *dsmlpR_nvrtc_dump_source(const char *dir, const char *name, const char *source)
{
    static _Thread_local char path[PATH_MAX];
    path[0] = '\0';
    if (!dir || !*dir || !source) return path;
    if (dump_to_dir(dir, name, source, path, sizeof path) != 0) path[0] = '\0';
    return path;
}

/* A failing source always lands somewhere readable: the dump directory, else
** a fresh temp file. Returns the path or "" (static, per thread). */
static const char *dump_failing(const dsmlp_ctx *ctx, const char *name, const char *source)
{
    const char *p = dsmlpR_nvrtc_dump_source(ctx_opts(ctx)->dump_dir, name, source);
    if (*p) return p;
    static _Thread_local char path[PATH_MAX];
    const char *tmpdir = ctx_opts(ctx)->tmp_dir;
    if (!tmpdir || !*tmpdir) tmpdir = "/tmp";
    char base[128];
    safe_name(base, sizeof base, name);
    snprintf(path, sizeof path, "%s/dsmlp-%s-XXXXXX.cu", tmpdir, base);
    int fd = mkstemps(path, 3);
    if (fd < 0) return "";
    size_t n = strlen(source);
    int bad = write(fd, source, n) != (ssize_t)n;
    bad |= close(fd);
    if (bad) {
        unlink(path);
        return "";
    }
    return path;
}

static const char *include_dir(const dsmlp_ctx *ctx)
{
    const char *inc = ctx_opts(ctx)->cuda_include;
    return inc && *inc ? inc : DSMLP_CUDA_INCLUDE_DIR;
}

dsmlp_status dsmlpR_nvrtc_compile(dsmlp_ctx *ctx, const char *name, const char *source, const char *arch, void **cubin,
                           size_t *len)
{
    *cubin = NULL;
    *len = 0;
    int t = target_index(arch);
    if (t < 0)
        return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG,
                       "nvrtc: unknown target arch '%s' (valid: %s)", arch ? arch : "(null)",
                       dsmlpR_nvrtc_arch_list());
    if (!source || !name || !*name)
        return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "nvrtc: kernel name and source are required");

    const char *inc = include_dir(ctx);
    char probe[PATH_MAX], iopt[PATH_MAX + 3];
    snprintf(probe, sizeof probe, "%s/cuda_fp16.h", inc);
    if (access(probe, R_OK) != 0)
        return dsmlpB_err_set(ctx, DSMLP_ERR_COMPILE,
                       "nvrtc: CUDA headers not found: %s is missing (include directory from %s); set "
                       "DSMLP_CUDA_INCLUDE to the toolkit's include directory (the one holding cuda_fp16.h)",
                       probe, ctx_opts(ctx)->cuda_include && *ctx_opts(ctx)->cuda_include
                                  ? "DSMLP_CUDA_INCLUDE"
                                  : "the build-time CUDA toolkit");
    snprintf(iopt, sizeof iopt, "-I%s", inc);

    const char *opts[NOPTS + 1];
    for (int i = 0; i < NOPTS; i++) opts[i] = targets[t].opts[i];
    opts[NOPTS] = iopt;

    char file[160];
    safe_name(file, sizeof file - 3, name);
    strcat(file, ".cu");

    nvrtcProgram prog;
    nvrtcResult r = nvrtcCreateProgram(&prog, source, file, 0, NULL, NULL);
    if (r != NVRTC_SUCCESS)
        return dsmlpB_err_set(ctx, DSMLP_ERR_COMPILE, "nvrtc: cannot create program for kernel '%s': %s", name,
                       nvrtcGetErrorString(r));
    r = nvrtcCompileProgram(prog, NOPTS + 1, opts);
    if (r != NVRTC_SUCCESS) {
        size_t loglen = 0;
        char *log = NULL;
        if (nvrtcGetProgramLogSize(prog, &loglen) == NVRTC_SUCCESS && loglen > 0 && (log = malloc(loglen + 1))) {
            if (nvrtcGetProgramLog(prog, log) != NVRTC_SUCCESS) log[0] = '\0';
            log[loglen] = '\0';
        }
        const char *dumped = dump_failing(ctx, name, source);
        /* The dump path comes before the log so a long log cannot cut it off. */
        dsmlpB_err_set(ctx, DSMLP_ERR_COMPILE,
                "nvrtc: compiling kernel '%s' for %s failed (%s); source dumped to %s; options: %s %s; log:\n%s",
                name, arch, nvrtcGetErrorString(r), *dumped ? dumped : "(could not write the source anywhere)",
                targets[t].joined, iopt, log && *log ? log : "(empty)");
        free(log);
        nvrtcDestroyProgram(&prog);
        return DSMLP_ERR_COMPILE;
    }
    size_t n = 0;
    r = nvrtcGetCUBINSize(prog, &n);
    void *buf = NULL;
    if (r == NVRTC_SUCCESS && n > 0) {
        buf = malloc(n);
        if (!buf) {
            nvrtcDestroyProgram(&prog);
            return dsmlpB_err_set(ctx, DSMLP_ERR_NOMEM, "nvrtc: out of memory for a %zu-byte cubin of '%s'", n, name);
        }
        r = nvrtcGetCUBIN(prog, buf);
    }
    nvrtcDestroyProgram(&prog);
    if (r != NVRTC_SUCCESS || n == 0) {
        free(buf);
        return dsmlpB_err_set(ctx, DSMLP_ERR_COMPILE, "nvrtc: no cubin for kernel '%s' (%s): %s", name, arch,
                       r != NVRTC_SUCCESS ? nvrtcGetErrorString(r) : "empty output");
    }
    *cubin = buf;
    *len = n;
    return DSMLP_OK;
}
