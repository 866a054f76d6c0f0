/* ustack — virtual time: several stacks joined by pipe links in one process.
 * The clock jumps to the earliest pending deadline; a run that still waits for
 * something when nothing is pending stops with -EDEADLK. */
#ifndef USTACK_SIM_H
#define USTACK_SIM_H

#include "ustack.h"
#include "driver.h"

struct us_sim;

struct us_sim *us_sim_new(us_time_t start);
void us_sim_free(struct us_sim *sim);          /* does not free the stacks */
int us_sim_add(struct us_sim *sim, struct us_stack *st);
us_time_t us_sim_now(const struct us_sim *sim);
/* Process everything due now, then advance to the next deadline and process it.
 * Returns 0, or -EDEADLK when no stack has anything pending. */
int us_sim_step(struct us_sim *sim);
/* Run every event up to and including time t, then set now = t. Never deadlocks. */
void us_sim_run_until(struct us_sim *sim, us_time_t t);
/* Run while pred(arg) is true. Returns 0 when pred became false, -ETIMEDOUT if
 * virtual time passed `limit`, -EDEADLK if nothing was pending (a stuck run). */
int us_sim_run_while(struct us_sim *sim, bool (*pred)(void *arg), void *arg, us_time_t limit);
/* Events processed so far (steps that polled at least one stack). */
uint64_t us_sim_events(const struct us_sim *sim);
/* A driver for the blocking wrappers. */
struct us_driver *us_sim_driver(struct us_sim *sim);

#endif
