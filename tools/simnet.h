/* Two ustack hosts in one process, on a pipe link in virtual time: A
 * (198.18.0.1) and B (198.18.0.2). What `ustack demo` and `ustack sim` run on
 * (and the scenario tests of their scenarios); only the public API. */
#ifndef US_TOOLS_SIMNET_H
#define US_TOOLS_SIMNET_H

#include <stdbool.h>
#include <ustack/ustack.h>
#include <ustack/dev.h>
#include <ustack/sim.h>

#define SIMNET_IP_A 0xC6120001u   /* 198.18.0.1 */
#define SIMNET_IP_B 0xC6120002u   /* 198.18.0.2 */

struct sim_host {
    const char *name;
    us_ip4_t ip;
    uint8_t mac[6];
    struct us_pktpool *pool;
    struct us_dev *dev;       /* top of its device stack */
    struct us_dev *imp;       /* its impairments */
    struct us_stack *st;
};

struct simnet_opts {
    /* Each host's transmit impairments: a frame from A to B passes A's tx
     * only, so `loss` is the loss of one direction (rx is not used). */
    struct us_impair_dir a_tx, b_tx;
    uint64_t seed;            /* stacks and impairments: same seed, same run */
    const char *pcap_a;       /* capture of A's side, or NULL */
    /* Sees every frame A sends (dir 0) and receives (1) from time 0 on, as
     * us_impair_set_filter; NULL: none. */
    us_impair_filter_fn a_filter;
    void *a_filter_arg;
    /* Adjusts each host's configuration before its stack is built (may be NULL). */
    void (*config)(void *arg, struct us_config *cfg, bool is_a);
    void *arg;
};

struct simnet {
    struct us_sim *sim;
    struct sim_host a, b;
};

/* 0, or -1 with the reason in err. Runs 100 ms of virtual time (the
 * gratuitous ARPs) so a scenario starts on a quiet link. */
int simnet_open(struct simnet *n, const struct simnet_opts *o, char *err, size_t errlen);
void simnet_close(struct simnet *n);
us_time_t simnet_now(const struct simnet *n);
/* "  A: tcp.x=1, ..." the non-zero counters of a host, four to a line. */
void simnet_print_counters(const struct sim_host *h);

#endif
