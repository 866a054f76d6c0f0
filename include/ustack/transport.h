/* ustack — the transport interface: TCP streams and UDP datagrams with
 * readiness, a clock and a random source, over ustack's sockets or the kernel's.
 *
 * Application code (the HTTP server and client) is written once against this
 * interface and never reads a clock: it is a state machine that takes `now`
 * and reports its next deadline. A driver loop joins the two:
 *
 *     for (;;) {
 *         us_time_t now = us_tp_now(tp);
 *         n = us_tp_poll(tp, ev, max, now);       // ready descriptors, never blocks
 *         ... handle ev[0..n), compute the next deadline d ...
 *         us_tp_wait(tp, d);                      // until something may be ready, or d
 *     }
 *
 * (us_tp_run() is that loop.) Backends:
 *   ustack  sockets of a struct us_stack (ustack.h); us_tp_wait steps the
 *           stack's driver — the real-time loop (driver.h) or the simulator
 *           (sim.h), so the same application runs in virtual time;
 *   kernel  non-blocking BSD sockets and epoll; us_tp_now is CLOCK_MONOTONIC.
 *
 * Descriptors are the backend's own (a ustack descriptor or a kernel fd).
 * Readiness is level-triggered, like poll(2): a descriptor is reported while it
 * stays ready and is watched. Every call returns >= 0 or a negative errno:
 * -EAGAIN when it would block; us_tp_connect returns the descriptor at once
 * and the connection completes when it becomes writable (us_tp_error says how
 * it ended). Addresses are IPv4 in host byte order. */
#ifndef USTACK_TRANSPORT_H
#define USTACK_TRANSPORT_H

#include <sys/uio.h>
#include "types.h"

struct us_tp;
struct us_driver;

struct us_tp_addr { us_ip4_t ip; uint16_t port; };

/* readiness */
#define US_TP_READ  0x1u   /* data, EOF, or a connection to accept */
#define US_TP_WRITE 0x2u   /* room to write; a connect finished */
#define US_TP_ERR   0x4u   /* reported whenever watched: an error is pending */
#define US_TP_HUP   0x8u   /* reported whenever watched: the connection is gone */

struct us_tp_event {
    int fd;
    unsigned events;       /* US_TP_* */
    void *ctx;             /* as given to us_tp_watch */
};

/* options for us_tp_setopt */
enum { US_TP_NODELAY = 1, US_TP_CORK, US_TP_SNDBUF, US_TP_RCVBUF };

/* ---- backends ------------------------------------------------------------ */
/* drv advances st: us_rt_driver() in real time, us_sim_driver() in virtual
 * time. Several transports may share one driver (one simulator). */
struct us_tp *us_tp_ustack_new(struct us_stack *st, struct us_driver *drv, char *err, size_t errlen);
struct us_tp *us_tp_kernel_new(char *err, size_t errlen);
#if defined(_POSIX_C_SOURCE) || defined(_POSIX_SOURCE)
#include <signal.h>
/* kernel: the signal mask while waiting (epoll_pwait; NULL: the thread's
 * own), as us_rt_set_wait_mask does for the real-time driver. */
void us_tp_kernel_set_wait_mask(struct us_tp *t, const sigset_t *wait_mask);
#endif
/* Closes every descriptor still open. */
void us_tp_free(struct us_tp *t);
const char *us_tp_name(const struct us_tp *t); /* "ustack" or "kernel" */

/* ---- streams ------------------------------------------------------------- */
/* A listener on a (ip 0 = every address, port 0 = an ephemeral port). */
int us_tp_listen(struct us_tp *t, const struct us_tp_addr *a, int backlog, us_time_t now);
int us_tp_accept(struct us_tp *t, int lfd, struct us_tp_addr *peer, us_time_t now);
int us_tp_connect(struct us_tp *t, const struct us_tp_addr *a, us_time_t now);
/* 0 when the connection is up, -EINPROGRESS while connecting, or the error
 * that ended it (-ECONNREFUSED, -ETIMEDOUT, -ECONNRESET …). */
int us_tp_error(struct us_tp *t, int fd);
/* > 0 bytes, 0 at the end of the stream, -EAGAIN, or an error */
ssize_t us_tp_read(struct us_tp *t, int fd, void *buf, size_t len, us_time_t now);
/* Bytes accepted (maybe fewer than offered), -EAGAIN when none, or an error. */
ssize_t us_tp_write(struct us_tp *t, int fd, const void *buf, size_t len, us_time_t now);
ssize_t us_tp_writev(struct us_tp *t, int fd, const struct iovec *iov, int iovcnt, us_time_t now);
/* Ends our direction (a FIN); reading continues. */
int us_tp_shutdown(struct us_tp *t, int fd, us_time_t now);
int us_tp_close(struct us_tp *t, int fd, us_time_t now);
int us_tp_setopt(struct us_tp *t, int fd, int opt, int val, us_time_t now);
int us_tp_local_addr(struct us_tp *t, int fd, struct us_tp_addr *a);
int us_tp_peer_addr(struct us_tp *t, int fd, struct us_tp_addr *a);

/* ---- datagrams ----------------------------------------------------------- */
/* A UDP socket bound to a (ip 0 = every address, port 0 = an ephemeral port);
 * -EADDRINUSE when the port is taken. Readable (US_TP_READ) while a datagram
 * is queued; closed with us_tp_close. */
int us_tp_udp_open(struct us_tp *t, const struct us_tp_addr *a, us_time_t now);
/* One datagram to `to`: len bytes, or an error (-EAGAIN, -EMSGSIZE …). */
ssize_t us_tp_sendto(struct us_tp *t, int fd, const void *buf, size_t len, const struct us_tp_addr *to,
                     us_time_t now);
/* The next datagram (bytes beyond len are discarded) and who sent it
 * (from may be NULL): its length up to len, or -EAGAIN when none is queued. */
ssize_t us_tp_recvfrom(struct us_tp *t, int fd, void *buf, size_t len, struct us_tp_addr *from, us_time_t now);

/* ---- randomness ---------------------------------------------------------- */
/* len random bytes: ustack, the stack's source (seeded in the simulator, so
 * runs repeat); kernel, getrandom(2). 0 or a negative errno. */
int us_tp_random(struct us_tp *t, void *buf, size_t len);

/* ---- readiness and time -------------------------------------------------- */
/* Interest in US_TP_READ / US_TP_WRITE (0 = none); ctx comes back with events. */
int us_tp_watch(struct us_tp *t, int fd, unsigned events, void *ctx);
/* Watched descriptors that are ready now; never blocks. */
int us_tp_poll(struct us_tp *t, struct us_tp_event *ev, int max, us_time_t now);
/* Blocks until a watched descriptor may be ready or `deadline` (US_TIME_NEVER:
 * no limit). ustack: one step of the driver (which also serves every other
 * stack it drives). Returns 0, -EINTR (kernel: a signal interrupted the wait;
 * ustack: the real-time driver's stop condition holds) or -EDEADLK (nothing
 * watched or pending, and no deadline). */
int us_tp_wait(struct us_tp *t, us_time_t deadline);
/* The transport's clock: the driver's time (virtual or CLOCK_MONOTONIC). */
us_time_t us_tp_now(struct us_tp *t);

/* The driver loop: calls step(arg, now), which handles whatever is ready and
 * returns its next deadline, then waits for it, until `until` (absolute,
 * US_TIME_NEVER = forever) or *stop is true after a step (0), or the wait
 * fails (-EINTR, -EDEADLK: a signal handler that sets *stop makes the run
 * end with -EINTR or 0; the caller decides whether to run on). */
int us_tp_run(struct us_tp *t, us_time_t (*step)(void *arg, us_time_t now), void *arg,
              const volatile bool *stop, us_time_t until);

#endif
