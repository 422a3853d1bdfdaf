/*
** device.h — the CUDA driver, loaded at run time (dlopen "libcuda.so.1"),
** never linked. One `struct device` per context, created on first use.
*/
#ifndef DSMLP_DEVICE_H
#define DSMLP_DEVICE_H

#include "dsmlp.h"

struct device;
/* Creates ctx->device (driver loaded, primary context current) or fails with
** DSMLP_ERR_NO_DEVICE and a message saying what is missing. */
dsmlp_status device_get(dsmlp_ctx *ctx, struct device **out);
void         device_destroy(struct device *d);

#endif
