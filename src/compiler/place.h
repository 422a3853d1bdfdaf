/*
** place.h — workspace placement of a lowered plan (both routes).
*/
#ifndef DSMLP_PLACE_H
#define DSMLP_PLACE_H

#include "plan.h"

/* Sets ws_offset/ws_bytes of every BUF_WORK buffer and p->ws_bytes so that
** buffers alive at the same time in either route never share bytes. */
dsmlp_status dsmlpC_plan_place_workspace(dsmlp_ctx *ctx, plan *p);

#endif
