/*
** pool.h — the tests' one thread pool: fn(arg, i, worker) for every item i
** in [0, n) on up to nthreads threads (worker in [0, nthreads) names the
** thread, for per-thread state such as a dsmlp_ctx). Items are handed out one
** at a time, so slow ones do not leave threads idle. Never fails: threads
** that cannot start leave their share to the others (the caller is worker 0).
*/
#ifndef DSMLP_TEST_POOL_H
#define DSMLP_TEST_POOL_H

#include <stdint.h>

typedef void (*tc_item_fn)(void *arg, int64_t i, int worker);
void tc_parallel(int nthreads, int64_t n, tc_item_fn fn, void *arg);
/* Online CPUs, at least 1, at most 64. */
int  tc_cores(void);

#endif
