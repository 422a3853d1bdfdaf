/*
** exec.h — the runtime side of a plan: what dsmlp_plan_load attaches to
** struct dsmlp_plan's `rt` pointer (modules, functions, cuBLASLt descriptors,
** bindings, workspace) and how it is released.
*/
#ifndef DSMLP_EXEC_H
#define DSMLP_EXEC_H

#include "dsmlp.h"

/* Frees everything dsmlp_plan_load made (device memory it owns included).
** rt may be NULL. dsmlp_plan_load installs it as the plan's rt_free. */
void dsmlpR_exec_unload(void *rt);

#endif
