/* ustack — drivers and blocking wrappers.
 *
 * A driver advances one or more stacks: the real-time driver waits with epoll
 * for frames or the next deadline; the simulator jumps virtual time. Blocking
 * wrappers retry a non-blocking call, stepping the driver in between. */
#ifndef USTACK_DRIVER_H
#define USTACK_DRIVER_H

#include <signal.h>
#include "ustack.h"

struct us_driver {
    us_time_t (*now)(struct us_driver *d);
    /* Wait for the next event (at most until `limit`) and process it.
     * Returns 0, -EINTR (the stop condition holds), -EDEADLK (virtual time:
     * nothing pending). */
    int (*step)(struct us_driver *d, us_time_t limit);
};

/* ---- real time ------------------------------------------------------------ */
struct us_rt;
/* Drives one stack on its device with CLOCK_MONOTONIC. The library installs
 * no signal handlers: a program that stops on a signal sets a stop condition. */
struct us_rt *us_rt_new(struct us_stack *st, char *err, size_t errlen);
void us_rt_free(struct us_rt *rt);
us_time_t us_rt_clock(void);          /* CLOCK_MONOTONIC in ns */
us_time_t us_rt_wall_offset(void);    /* CLOCK_REALTIME - CLOCK_MONOTONIC, for pcap stamps */
struct us_driver *us_rt_driver(struct us_rt *rt);
/* Stop condition: step returns -EINTR, before waiting and after every wait,
 * once stop(arg) is true (stop NULL: never). */
void us_rt_set_stop(struct us_rt *rt, bool (*stop)(void *arg), void *arg);
#if defined(_POSIX_C_SOURCE) || defined(_POSIX_SOURCE)
/* The signal mask while waiting (as for pselect; NULL: the thread's own). A
 * program that stops on a signal blocks it, sets a flag in its handler that
 * the stop condition reads, and passes the mask that unblocks it: the signal
 * is then taken only in the driver, never lost between the check and the
 * wait. (Without it a signal may arrive after the check, and the wait lasts
 * until a frame or a deadline.) */
void us_rt_set_wait_mask(struct us_rt *rt, const sigset_t *wait_mask);
#endif
/* Run until `until` (absolute, US_TIME_NEVER = forever) or the stop condition. */
int us_rt_run(struct us_rt *rt, us_time_t until);

/* ---- blocking wrappers ------------------------------------------------------
 * Each returns like its non-blocking call, or -ETIMEDOUT after `timeout` ns of
 * driver time (US_TIME_NEVER = no limit), -EINTR when the driver stops. `flags`
 * are those of us_send/us_recv; with US_MSG_DONTWAIT the call is tried once. */
int us_blk_connect(struct us_driver *d, struct us_stack *st, int fd, const struct us_sockaddr *a, us_time_t timeout);
int us_blk_accept(struct us_driver *d, struct us_stack *st, int fd, struct us_sockaddr *peer, us_time_t timeout);
/* Sends all len bytes (or fails). */
ssize_t us_blk_send(struct us_driver *d, struct us_stack *st, int fd, const void *buf, size_t len, int flags,
                    us_time_t timeout);
/* Returns when at least one byte (or EOF = 0) is available. */
ssize_t us_blk_recv(struct us_driver *d, struct us_stack *st, int fd, void *buf, size_t len, int flags,
                    us_time_t timeout);
ssize_t us_blk_recvfrom(struct us_driver *d, struct us_stack *st, int fd, void *buf, size_t len, int flags,
                        struct us_sockaddr *from, us_time_t timeout);
/* Waits until the connection is fully closed by both sides or timeout. */
int us_blk_close(struct us_driver *d, struct us_stack *st, int fd, us_time_t timeout);

#endif
