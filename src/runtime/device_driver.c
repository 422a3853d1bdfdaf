/* device_driver.c — loads libcuda.so.1 at run time into a cuda_api table. */
#include "cuda_api.h"
#include "context.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static cuda_api       api;
static pthread_once_t api_once = PTHREAD_ONCE_INIT;
static dsmlp_status   api_status;
static char           api_msg[512];

#define STR_(x) #x
#define STR(x)  STR_(x)   /* expands <cuda.h>'s renames first: "cuMemAlloc_v2" */

static void api_load_once(void)
{
    void *lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        api_status = DSMLP_ERR_NO_DEVICE;
        snprintf(api_msg, sizeof api_msg, "no CUDA driver (libcuda.so.1 not found: %s)", dlerror());
        return;
    }
#define LOAD(name)                                                                                       \
    api.name = (__typeof__(api.name))dlsym(lib, STR(name));                                             \
    if (!api.name) {                                                                                      \
        api_status = DSMLP_ERR_NO_DEVICE;                                                               \
        snprintf(api_msg, sizeof api_msg, "CUDA driver too old: libcuda.so.1 lacks %s", STR(name)); \
        return;                                                                                           \
    }
    CUDA_API_FUNCS(LOAD)
#undef LOAD
#define LOAD_OPT(name) api.name = (__typeof__(api.name))dlsym(lib, STR(name));
    CUDA_API_OPTIONAL(LOAD_OPT)
#undef LOAD_OPT
    CUresult r = api.cuInit(0);
    if (r != CUDA_SUCCESS) {
        api_status = DSMLP_ERR_NO_DEVICE;
        snprintf(api_msg, sizeof api_msg, "no GPU: cuInit failed with %s", dsmlpR_cuda_api_errstr(r));
        return;
    }
    api_status = DSMLP_OK;   /* the library stays loaded for the process's life */
}

dsmlp_status dsmlpR_cuda_api_load(dsmlp_ctx *ctx, const cuda_api **out)
{
    pthread_once(&api_once, api_load_once);
    if (api_status != DSMLP_OK) {
        if (out) *out = NULL;
        return dsmlpB_err_set(ctx, api_status, "%s", api_msg);
    }
    if (out) *out = &api;
    return DSMLP_OK;
}

const char *dsmlpR_cuda_api_errstr(CUresult r)
{
    static __thread char buf[256];
    const char *name = NULL, *text = NULL;
    if (api.cuGetErrorName) api.cuGetErrorName(r, &name);
    if (api.cuGetErrorString) api.cuGetErrorString(r, &text);
    if (name)
        snprintf(buf, sizeof buf, "%s (%s)", name, text ? text : "no description");
    else
        snprintf(buf, sizeof buf, "CUresult %d", (int)r);
    return buf;
}
