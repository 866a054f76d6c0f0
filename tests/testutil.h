/* Shared helpers for unit and scenario tests: two stacks on a pipe link in
 * virtual time, with optional impairments and a pcap of each side. */
#ifndef US_TESTUTIL_H
#define US_TESTUTIL_H

#include <ustack/ustack.h>
#include <ustack/sim.h>
#include <ustack/driver.h>
#include "xfer.h"

#define TU_IP_A 0xC6120001u /* 198.18.0.1 */
#define TU_IP_B 0xC6120002u /* 198.18.0.2 */

struct tu_host {
    struct us_stack *st;
    struct us_pktpool *pool;
    struct us_dev *pipe;   /* bottom */
    struct us_dev *imp;    /* impairments above the pipe (always present, none by default) */
    struct us_dev *cap;    /* capture above impairments, or NULL */
    struct us_dev *top;    /* what the stack uses */
    us_ip4_t ip;
    uint8_t mac[6];
};

struct tu_net {
    struct us_sim *sim;
    struct tu_host a, b;
};

struct tu_opts {
    const char *pcap_prefix;                 /* writes <tmp>/<prefix>-a.pcap and -b.pcap, or NULL */
    struct us_impair_config imp_a, imp_b;    /* impairments at each host's device */
    uint64_t seed;
    uint16_t mtu;                            /* 0 = 1500 */
    void (*cfg_hook)(struct us_config *cfg, int host /*0=a, 1=b*/, void *arg);
    void *cfg_arg;
    /* Optional: a device to stack on top of each host's (it takes `top` as its
     * lower device and destroys it with itself); the stack uses what it returns. */
    struct us_dev *(*dev_hook)(struct us_dev *top, int host, void *arg);
    void *dev_arg;
};

/* Builds both hosts and registers them with a new simulator at t = 0.
 * Aborts the test (fails) on any error. */
void tu_net_init(struct tu_net *n, const struct tu_opts *o);
void tu_net_free(struct tu_net *n);
/* Directory for test artefacts (pcaps): $USTACK_TEST_TMP or /tmp/ustack-test. */
const char *tu_tmpdir(void);
/* Counter value by name; fails the test (cmocka fail_msg) when no counter has
 * that name, so a renamed counter cannot pass as zero. */
uint64_t tu_counter(const struct us_stack *st, const char *name);

/* A -> B bulk transfer of x->total pattern bytes (tools/xfer.h) on a new
 * connection to B:5001; A half-closes once everything is sent. Runs until B
 * read EOF or the virtual-time limit; returns xfer_run's result (0, a socket
 * error, -ETIMEDOUT, -EDEADLK). Sockets stay open (closed by tu_net_free). */
int tu_bulk_run(struct tu_net *n, struct xfer *x, us_time_t limit);

#endif
