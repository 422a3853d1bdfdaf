/*
** verify.h — what verify.c and verify_tp.c share: the host numbers (random
** values, dtype conversions through dsmlp_convert). Device memory comes from
** the library (dsmlp_device_*), tolerances too (dsmlp_tolerance).
*/
#ifndef DSMLP_COMPILE_VERIFY_H
#define DSMLP_COMPILE_VERIFY_H

#include <stddef.h>
#include <stdint.h>
#include "cli.h"

extern uint64_t rng_state;          /* seeded from DSMLP_SEED or the clock */
double      uniform(void);          /* [-1, 1), never 0 */
void        store_elem(dsmlp_dtype t, void *buf, int64_t i, double v);
double      load_elem(dsmlp_dtype t, const void *buf, int64_t i);

#define VERIFY_MAX_T 128

/* A tensor-parallel layer (verify_tp.c): runs its P ranks as processes of
** this program (one per GPU; --tp-oversubscribe lets ranks share GPUs) and
** compares them with the P = 1 reference. Returns 0 pass, 1 fail, 2 skipped
** (with a line saying why), 3 not enough GPUs (with a line), -1 no GPU. */
int verify_tp_layer(const cli_opts *o, const dsmlp_layers *layers, int layer, int ngpu);
/* The rank process: main() runs it when DSMLP_COMPILE_TP_WORKER is set. */
int verify_tp_worker(const char *model, const char *layer);

#endif
