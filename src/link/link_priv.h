/* Private state of the link layer (Ethernet + ARP), shared by eth.c and arp.c
 * only. No other layer includes this file. */
#ifndef US_LINK_PRIV_H
#define US_LINK_PRIV_H

#include "link.h"

enum us_link_counter {
#define X(id, name) US_C_##id,
#include "link_counters.def"
#undef X
};
#define US_COUNT(st, id) US_COUNT_SLOT(st, US_LINK_SLOT, US_C_##id)
#define US_COUNT_N(st, id, n) US_COUNT_SLOT_N(st, US_LINK_SLOT, US_C_##id, n)

#define US_ARP_CACHE_SIZE 1024u  /* bound on cache entries (resolved + pending) */
#define US_ARP_HASH_BITS 11u     /* 2048 buckets: chains stay short at full cache */
#define US_ARP_NIL UINT32_MAX    /* end of a hash chain / free list */
#define US_ETH_MIN_FRAME 60u     /* minimum frame without FCS (IEEE 802.3) */
#define US_ARP_LEN 28u           /* Ethernet/IPv4 ARP packet (RFC 826) */

enum us_arp_state {
    US_ARP_FREE = 0,
    US_ARP_INCOMPLETE,   /* request sent, packets queued, retry timer armed */
    US_ARP_RESOLVED,     /* mac valid until `expires` (checked lazily, no timer), then
                          * used while a unicast poll confirms it (timer armed) */
};

struct us_arp_entry {
    us_ip4_t ip;
    uint8_t mac[6];
    uint8_t state;
    uint32_t retries;     /* requests sent so far while INCOMPLETE; polls while expired */
    us_time_t expires;    /* RESOLVED: end of life (cfg.arp_ttl after the last update) */
    us_time_t touched;    /* last update or use: the eviction order when the cache is full */
    uint32_t hnext;       /* next entry in the hash chain (or free list) */
    uint32_t unext, uprev;/* INCOMPLETE: the pending list, oldest first */
    struct us_timer timer;/* INCOMPLETE: next retry; RESOLVED and expired: next poll */
    struct us_pktq queue; /* IP packets waiting for the answer */
};

struct us_link_state {
    struct us_arp_entry entries[US_ARP_CACHE_SIZE];
    uint32_t buckets[1u << US_ARP_HASH_BITS];
    uint32_t free_head;
    uint32_t used;
    uint32_t unres_head, unres_tail; /* INCOMPLETE entries in creation order */
    uint32_t unres;       /* INCOMPLETE entries (bounded by cfg.arp_unres_max) */
    uint32_t pending;     /* packets queued on all of them (bounded by cfg.arp_pending_max) */
    uint32_t hash_salt;   /* keyed from st->secret so chains cannot be aimed at */
    us_link_rx_fn ip_input; /* set by the composition root */
};

static inline struct us_link_state *link_state(const struct us_stack *st) { return st->slot[US_LINK_SLOT]; }

/* ---- Ethernet (eth.c) ---- */
/* Prepend an Ethernet header (dst, our MAC, type), pad to the minimum frame and
 * hand to the device. Takes ownership; returns 0 or -errno (counted). */
int us_eth_send(struct us_stack *st, struct us_pkt *pkt, const uint8_t dst[6], uint16_t type, us_time_t now);
extern const uint8_t us_eth_broadcast[6];

/* ---- ARP (arp.c) ---- */
void us_arp_init(struct us_stack *st, struct us_link_state *ls);
void us_arp_fini(struct us_stack *st);
/* A received ARP packet (pkt->data = ARP header). Takes ownership. */
void us_arp_input(struct us_stack *st, struct us_pkt *pkt, us_time_t now);
/* Send pkt to nexthop once resolved (maybe at once). Takes ownership. */
int us_arp_output(struct us_stack *st, struct us_pkt *pkt, us_ip4_t nexthop, us_time_t now);
/* RFC 5227 announcement: an ARP request for our own address. */
int us_arp_announce(struct us_stack *st, us_time_t now);

#endif
