/* A pattern transfer between two stacks in virtual time, one direction: the
 * sender offers the stack bytes of a fixed pattern, the receiver checks every
 * byte it reads against the same pattern. Pattern bytes are never generated
 * per call: they come from one precomputed table, indexed by stream offset, so
 * a step costs what the stack does with the bytes it accepted or delivered.
 * Used by `ustack demo` and by the scenario tests (compiled into both); only
 * the public API. Single-threaded (one shared receive buffer). */
#ifndef US_TOOLS_XFER_H
#define US_TOOLS_XFER_H

#include <stdbool.h>
#include <stdint.h>
#include <ustack/ustack.h>
#include <ustack/sim.h>

#define XFER_ENDLESS UINT64_MAX     /* total: send until the run's time limit */

struct xfer {
    /* set by the caller (or by xfer_connect) */
    struct us_sim *sim;
    struct us_stack *ss, *ds;       /* sending and receiving stack */
    int sfd;                        /* sender's socket */
    int dfd;                        /* receiver's socket; -1: accepted on lfd during the run */
    int lfd;                        /* receiver's listening socket (xfer_connect), or -1 */
    uint64_t total;                 /* bytes to send, or XFER_ENDLESS */
    uint64_t seed;                  /* which stream of the pattern */
    bool close_after;               /* half-close once everything is sent; done at the receiver's EOF */
    uint32_t read_chunk;            /* bytes per us_recv call (0 or more than 64 KiB: 64 KiB) */
    /* results */
    uint64_t sent, got;             /* accepted by the sending stack, read by the receiver */
    bool closed;                    /* the sender half-closed */
    bool eof;                       /* the receiver read the end of the stream */
    bool bad;                       /* a byte read did not match the pattern */
    int err;                        /* first hard socket error (negative errno), or 0 */
    us_time_t t_accepted, t_eof;    /* when the receiver accepted (xfer_connect) and saw EOF */
};

/* Pattern byte at offset i of stream `seed` (what the receiver expects). */
uint8_t xfer_pattern(uint64_t seed, uint64_t i);

/* Sets up the connection: a listening socket on the receiving stack at
 * port, a socket on the sending stack connecting to dst:port. The receiver's
 * socket is accepted by xfer_step. x->sim, ss, ds, total, seed are the
 * caller's; returns 0 or a negative errno (x->err too). */
int xfer_connect(struct xfer *x, us_ip4_t dst, uint16_t port);

/* The sender offers what the stack accepts; bytes counted in x->sent. */
uint64_t xfer_send(struct xfer *x, us_time_t now);
/* The receiver reads up to max bytes and checks them; returns bytes read. */
uint64_t xfer_recv(struct xfer *x, uint64_t max, us_time_t now);
/* One round at the simulator's now: accept, send, half-close, read. Returns
 * false when the transfer is done: an error, EOF, or (without close_after)
 * every byte read. Usable as a us_sim_run_while predicate. */
bool xfer_step(void *x);
/* Runs the simulator while xfer_step says so, until `limit` (virtual time).
 * Returns x->err if a socket failed, -EBADMSG if a byte read did not match,
 * else 0 when done, -ETIMEDOUT or -EDEADLK (from the simulator). */
int xfer_run(struct xfer *x, us_time_t limit);

#endif
