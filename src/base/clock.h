/* clock.h — monotonic seconds, for timings and deadlines. */
#ifndef DSMLP_BASE_CLOCK_H
#define DSMLP_BASE_CLOCK_H

double dsmlpB_seconds(void);

#endif
