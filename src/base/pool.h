/*
** pool.h — the tree's one parallel-for: fn(arg, i, worker) for every item i
** in [0, n) on up to nthreads threads; worker in [0, nthreads) names the
** thread (per-thread state such as a dsmlp_ctx), the calling thread being
** worker 0. Items are handed out one at a time (an atomic counter), so slow
** items do not leave threads idle. Never fails: threads that cannot start
** leave their share to the others.
*/
#ifndef DSMLP_BASE_POOL_H
#define DSMLP_BASE_POOL_H

#include <stdint.h>

#define POOL_MAX_THREADS 256

typedef void (*pool_item_fn)(void *arg, int64_t item, int worker);
void dsmlpB_parallel(int nthreads, int64_t n, pool_item_fn fn, void *arg);
/* Online CPUs, at least 1, at most POOL_MAX_THREADS. */
int  dsmlpB_online_cpus(void);

#endif
