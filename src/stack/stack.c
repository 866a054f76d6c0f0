/* The composition root: builds a stack from its layers. Configuration defaults
 * and checks, life cycle (each layer's init writes its own error message), the
 * poll loop that feeds received frames to the link layer and runs timers, and
 * the counter table (every layer's counter list, in one name space).
 *
 * Wiring: link hands IPv4 up to us_ip_input; IP hands TCP and UDP datagrams
 * (and ICMP errors about them) to the entry points registered here. No layer
 * calls a layer above it by name. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../socket/socket.h"

/* ---- counters: one block per layer, in slot order ---- */
#define X(id, name) +1
enum {
    N_LINK = 0
#include "../link/link_counters.def"
    , N_IP = 0
#include "../ip/ip_counters.def"
    , N_UDP = 0
#include "../udp/udp_counters.def"
    , N_TCP = 0
#include "../tcp/tcp_counters.def"
    , N_SOCK = 0
#include "../socket/socket_counters.def"
};
#undef X
enum { N_COUNTERS = N_LINK + N_IP + N_UDP + N_TCP + N_SOCK };

static const char *const counter_names[N_COUNTERS] = {
#define X(id, name) name,
#include "../link/link_counters.def"
#include "../ip/ip_counters.def"
#include "../udp/udp_counters.def"
#include "../tcp/tcp_counters.def"
#include "../socket/socket_counters.def"
#undef X
};

/* Each layer's slot and where its counters start in the flat table. */
static const struct { unsigned slot, first; } blocks[] = {
    { US_LINK_SLOT, 0 },
    { US_IP_SLOT, N_LINK },
    { US_UDP_SLOT, N_LINK + N_IP },
    { US_TCP_SLOT, N_LINK + N_IP + N_UDP },
    { US_SOCK_SLOT, N_LINK + N_IP + N_UDP + N_TCP },
};
#define SLOT_BIT(s) (1u << (s))
_Static_assert((SLOT_BIT(US_LINK_SLOT) | SLOT_BIT(US_IP_SLOT) | SLOT_BIT(US_UDP_SLOT) | SLOT_BIT(US_TCP_SLOT) |
                SLOT_BIT(US_SOCK_SLOT)) ==
               (SLOT_BIT(US_LINK_SLOT) + SLOT_BIT(US_IP_SLOT) + SLOT_BIT(US_UDP_SLOT) + SLOT_BIT(US_TCP_SLOT) +
                SLOT_BIT(US_SOCK_SLOT)), "two layers share a slot");
_Static_assert(US_LINK_SLOT < US_STACK_SLOTS && US_IP_SLOT < US_STACK_SLOTS && US_UDP_SLOT < US_STACK_SLOTS &&
               US_TCP_SLOT < US_STACK_SLOTS && US_SOCK_SLOT < US_STACK_SLOTS, "slot out of range");

/* The stack as allocated here: the part every layer sees, and the counters. */
struct stack_root {
    struct us_stack st;
    uint64_t counters[N_COUNTERS];
};

static struct stack_root *root_of(const struct us_stack *st)
{
    return us_container_of(st, struct stack_root, st);
}

static const struct us_ip_upper udp_upper = { us_udp_input, us_udp_icmp_error };
static const struct us_ip_upper tcp_upper = { us_tcp_input, us_tcp_icmp_error };

void us_config_default(struct us_config *c)
{
    memset(c, 0, sizeof(*c));
    c->prefix_len = 24;
    c->seed = 1;
    c->gratuitous_arp = true;
    c->arp_ttl = US_SEC(60);
    c->arp_retry = US_SEC(1);
    c->arp_max_retries = 3;
    c->arp_queue_len = 64; /* a 64 KiB datagram is 45 fragments */
    c->arp_unres_max = 256;   /* a quarter of the cache: resolved neighbours keep the rest */
    c->arp_pending_max = 256; /* x one pool buffer (~1.7 KB at MTU 1500): ~430 KB at most */
    c->ip_ttl = 64;
    c->reasm_timeout = US_SEC(30);
    c->reasm_max_bytes = 256 * 1024;
    c->icmp_rate_per_sec = 100;
    c->icmp_rate_burst = 10;
    c->tcp_msl = US_SEC(30);
    c->tcp_delack = US_MS(40);
    c->tcp_rto_initial = US_SEC(1);
    c->tcp_rto_min = US_MS(200);
    c->tcp_rto_max = US_SEC(120);
    c->tcp_syn_retries = 6;
    c->tcp_retries = 15;
    c->tcp_sndbuf = 256 * 1024;
    c->tcp_rcvbuf = 256 * 1024;
    c->tcp_max_conns = 1000000;
    c->port_lo = 49152;
    c->port_hi = 65535;
    snprintf(c->tcp_cc, sizeof(c->tcp_cc), "cubic");
    c->tcp_timestamps = c->tcp_sack = c->tcp_wscale = true;
    c->tcp_rack = true;
    c->tcp_hystart = true;
    c->tcp_syncookies = 1;
    c->tcp_synq_max = 1024;
}

static int check_config(const struct us_config *c, char *err, size_t errlen)
{
    if (c->prefix_len > 32) {
        snprintf(err, errlen, "prefix length %u out of range (0..32)", c->prefix_len);
        return -EINVAL;
    }
    if (c->port_lo == 0 || c->port_lo > c->port_hi) {
        snprintf(err, errlen, "ephemeral port range %u..%u is empty", c->port_lo, c->port_hi);
        return -EINVAL;
    }
    if (c->tcp_delack > US_MS(500)) {
        snprintf(err, errlen, "delayed-ACK time above 500 ms (RFC 1122 4.2.3.2)");
        return -EINVAL;
    }
    if (c->tcp_msl == 0 || c->tcp_msl > US_SEC(600)) {
        snprintf(err, errlen, "MSL out of range (1 ns .. 600 s; TIME_WAIT lasts 2*MSL)");
        return -EINVAL;
    }
    if (c->tcp_rto_min == 0 || c->tcp_rto_min > c->tcp_rto_max) {
        snprintf(err, errlen, "RTO bounds invalid (min must be > 0 and <= max)");
        return -EINVAL;
    }
    if (c->tcp_synq_max == 0 || c->tcp_synq_max > 65535) {
        snprintf(err, errlen, "SYN queue bound %u out of range (1..65535)", c->tcp_synq_max);
        return -EINVAL;
    }
    if (c->tcp_syncookies > 2) {
        snprintf(err, errlen, "SYN cookie mode %u out of range (0 off, 1 when the SYN queue is full, 2 always)",
                 c->tcp_syncookies);
        return -EINVAL;
    }
    return 0;
}

static int init_layers(struct us_stack *st, us_time_t now, char *err, size_t errlen)
{
    int rc;
    if ((rc = us_ip_init(st, err, errlen)) < 0 || (rc = us_udp_init(st, err, errlen)) < 0 ||
        (rc = us_tcp_init(st, err, errlen)) < 0 || (rc = us_sock_init(st, err, errlen)) < 0)
        return rc;
    us_ip_register(st, US_IPPROTO_UDP, &udp_upper);
    us_ip_register(st, US_IPPROTO_TCP, &tcp_upper);
    /* last: it may transmit (gratuitous ARP) */
    return us_link_init(st, us_ip_input, now, err, errlen);
}

struct us_stack *us_stack_new(const struct us_config *cfg, struct us_dev *dev, us_time_t now,
                              char *err, size_t errlen)
{
    char dummy[8];
    if (!err) {
        err = dummy;
        errlen = sizeof(dummy);
    }
    if (check_config(cfg, err, errlen) < 0)
        return NULL;
    if (!dev || !dev->pool) {
        snprintf(err, errlen, "us_stack_new: device without a packet pool");
        return NULL;
    }
    if (us_pktpool_bufsize(dev->pool) < US_PKT_HEADROOM + US_ETH_HLEN + dev->mtu) {
        snprintf(err, errlen, "packet pool buffers (%u bytes) too small for MTU %u",
                 us_pktpool_bufsize(dev->pool), dev->mtu);
        return NULL;
    }
    struct stack_root *r = calloc(1, sizeof(*r));
    if (!r) {
        snprintf(err, errlen, "us_stack_new: out of memory");
        return NULL;
    }
    struct us_stack *st = &r->st;
    for (size_t i = 0; i < sizeof(blocks) / sizeof(blocks[0]); i++)
        st->ctr[blocks[i].slot] = r->counters + blocks[i].first;
    st->cfg = *cfg;
    st->dev = dev;
    st->pool = dev->pool;
    st->now = now;
    us_timerheap_init(&st->timers);
    if (cfg->deterministic)
        us_rng_seed(&st->rng, cfg->seed ^ ((uint64_t)cfg->ip << 20));
    else if (us_rng_seed_os(&st->rng) < 0)
        us_rng_seed(&st->rng, cfg->seed ^ now ^ (uint64_t)(uintptr_t)st);
    us_rng_bytes(&st->rng, st->secret, sizeof(st->secret));

    if (init_layers(st, now, err, errlen) < 0) {
        us_stack_free(st);
        return NULL;
    }
    return st;
}

void us_stack_free(struct us_stack *st)
{
    if (!st)
        return;
    if (st->slot[US_SOCK_SLOT])
        us_sock_fini(st);
    if (st->slot[US_TCP_SLOT])
        us_tcp_fini(st);
    if (st->slot[US_UDP_SLOT])
        us_udp_fini(st);
    if (st->slot[US_IP_SLOT])
        us_ip_fini(st);
    if (st->slot[US_LINK_SLOT])
        us_link_fini(st);
    us_timerheap_free(&st->timers);
    free(root_of(st));
}

void us_stack_input(struct us_stack *st, struct us_pkt *frame, us_time_t now)
{
    st->now = now;
    us_eth_input(st, frame, now);
}

#define RX_BATCH 64
#define RX_ROUNDS 16 /* bound work per poll so timers are never starved */

us_time_t us_stack_poll(struct us_stack *st, us_time_t now)
{
    st->now = now;
    for (int round = 0; round < RX_ROUNDS; round++) {
        struct us_pkt *batch[RX_BATCH];
        int n = us_dev_recv(st->dev, batch, RX_BATCH, now);
        for (int i = 0; i < n; i++)
            us_eth_input(st, batch[i], now);
        us_timerheap_run(&st->timers, st, now);
        if (n < RX_BATCH && us_dev_next_deadline(st->dev, now) > now)
            break;
    }
    return us_stack_next_deadline(st, now);
}

us_time_t us_stack_next_deadline(struct us_stack *st, us_time_t now)
{
    us_time_t t = us_timerheap_next(&st->timers);
    us_time_t d = us_dev_next_deadline(st->dev, now);
    return d < t ? d : t;
}

struct us_dev *us_stack_dev(struct us_stack *st) { return st->dev; }
const struct us_config *us_stack_config(const struct us_stack *st) { return &st->cfg; }
void us_random_bytes(struct us_stack *st, void *out, size_t len) { us_rng_bytes(&st->rng, out, len); }

size_t us_counter_count(void) { return N_COUNTERS; }
const char *us_counter_name(size_t i) { return i < N_COUNTERS ? counter_names[i] : NULL; }
uint64_t us_counter_get(const struct us_stack *st, size_t i) { return i < N_COUNTERS ? root_of(st)->counters[i] : 0; }

int us_counter_find(const struct us_stack *st, const char *name, uint64_t *val)
{
    for (size_t i = 0; i < N_COUNTERS; i++)
        if (strcmp(counter_names[i], name) == 0) {
            *val = root_of(st)->counters[i];
            return 0;
        }
    return -ENOENT;
}
