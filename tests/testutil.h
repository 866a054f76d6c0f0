/* Shared helpers for unit and scenario tests: two stacks on a pipe link in
 * virtual time, with optional impairments and a pcap of each side. */
#ifndef US_TESTUTIL_H
#define US_TESTUTIL_H

#include <ustack/ustack.h>
#include <ustack/sim.h>
#include <ustack/driver.h>

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
};

/* Builds both hosts and registers them with a new simulator at t = 0.
 * Aborts the test (fails) on any error. */
void tu_net_init(struct tu_net *n, const struct tu_opts *o);
void tu_net_free(struct tu_net *n);
/* Directory for test artefacts (pcaps): $USTACK_TEST_TMP or /tmp/ustack-test. */
const char *tu_tmpdir(void);
/* Deterministic pattern byte at offset i for stream `seed`. */
static inline uint8_t tu_pattern(uint64_t seed, uint64_t i) { uint64_t x = (i + seed * 0x9E3779B97F4A7C15ull) * 0xff51afd7ed558ccdull; return (uint8_t)(x >> 56); }

#endif
