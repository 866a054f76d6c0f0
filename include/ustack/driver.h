/* ustack — drivers and blocking wrappers.
 *
 * A driver advances one or more stacks: the real-time driver waits with epoll
 * for frames or the next deadline; the simulator jumps virtual time. Blocking
 * wrappers retry a non-blocking call, stepping the driver in between. */
#ifndef USTACK_DRIVER_H
#define USTACK_DRIVER_H

#include "ustack.h"

struct us_driver {
    us_time_t (*now)(struct us_driver *d);
    /* Wait for the next event (at most until `limit`) and process it.
     * Returns 0, -EINTR (stop requested), -EDEADLK (virtual time: nothing pending). */
    int (*step)(struct us_driver *d, us_time_t limit);
};

/* ---- real time ------------------------------------------------------------ */
struct us_rt;
/* Drives one stack on its device with CLOCK_MONOTONIC. */
struct us_rt *us_rt_new(struct us_stack *st, char *err, size_t errlen);
void us_rt_free(struct us_rt *rt);
us_time_t us_rt_clock(void);          /* CLOCK_MONOTONIC in ns */
us_time_t us_rt_wall_offset(void);    /* CLOCK_REALTIME - CLOCK_MONOTONIC, for pcap stamps */
struct us_driver *us_rt_driver(struct us_rt *rt);
/* Stop flag set by SIGINT/SIGTERM once us_rt_install_signals() was called. */
void us_rt_install_signals(void);
bool us_rt_stop_requested(void);
/* Run until `until` (absolute, US_TIME_NEVER = forever) or a stop signal. */
int us_rt_run(struct us_rt *rt, us_time_t until);

/* ---- blocking wrappers ------------------------------------------------------
 * Each returns like its non-blocking call, or -ETIMEDOUT after `timeout` ns of
 * driver time (US_TIME_NEVER = no limit), -EINTR on a stop signal. */
int us_blk_connect(struct us_driver *d, struct us_stack *st, int fd, const struct us_sockaddr *a, us_time_t timeout);
int us_blk_accept(struct us_driver *d, struct us_stack *st, int fd, struct us_sockaddr *peer, us_time_t timeout);
/* Sends all len bytes (or fails). */
ssize_t us_blk_send(struct us_driver *d, struct us_stack *st, int fd, const void *buf, size_t len, us_time_t timeout);
/* Returns when at least one byte (or EOF = 0) is available. */
ssize_t us_blk_recv(struct us_driver *d, struct us_stack *st, int fd, void *buf, size_t len, us_time_t timeout);
ssize_t us_blk_recvfrom(struct us_driver *d, struct us_stack *st, int fd, void *buf, size_t len,
                        struct us_sockaddr *from, us_time_t timeout);
/* Waits until the connection is fully closed by both sides or timeout. */
int us_blk_close(struct us_driver *d, struct us_stack *st, int fd, us_time_t timeout);

#endif
