/*
** device.h — the CUDA driver, loaded at run time (dlopen "libcuda.so.1"),
** never linked. One `struct device` per context, created on first use.
*/
#ifndef DSMLP_DEVICE_H
#define DSMLP_DEVICE_H

#include "dsmlp.h"
#include "cuda_api.h"

struct device {
    const cuda_api *cu;            /* the process-wide driver table          */
    CUdevice        dev;
    CUcontext       ctx;           /* the device's primary context (retained) */
    int             cc_major, cc_minor;
    int             sm_count;
    int             smem_optin;    /* max dynamic smem per block (opt-in)     */
    int             l2_bytes;
    int             dram_gbs;      /* peak DRAM rate in GB/s (memory clock x bus width; 0: not reported) */
    int             pdl;           /* programmatic dependent launch: cc >= 9.0 and cuLaunchKernelEx */
    char            arch[16];      /* "sm_90"                                 */
    char            name[256];     /* cuDeviceGetName                         */
    void           *lt;            /* cublasLtHandle_t, created lazily        */
};

/* Creates ctx->device (driver loaded, primary context current) or fails with
** DSMLP_ERR_NO_DEVICE and a message saying what is missing. The device is
** the one of the calling thread's current context if there is one, else
** device 0 (DSMLP_DEVICE=<n> picks another). */
dsmlp_status dsmlpR_device_get(dsmlp_ctx *ctx, struct device **out);
void         dsmlpR_device_destroy(struct device *d);
/* Makes d's primary context current on the calling thread (cheap). */
dsmlp_status dsmlpR_device_make_current(dsmlp_ctx *ctx, struct device *d);

#endif
