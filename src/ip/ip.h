/* IPv4 as the transport layers and the composition root see it: input, output,
 * routing, ICMP errors, and the table of transport protocols (registered by the
 * composition root) that received datagrams and ICMP errors are handed up to. */
#ifndef US_IP_IP_H
#define US_IP_IP_H

#include "../link/link.h"

#define US_IP_SLOT 1                /* st->slot[] / st->ctr[] index (src/core/core.h) */

#define US_IPPROTO_ICMP 1
#define US_IPPROTO_TCP 6
#define US_IPPROTO_UDP 17

/* What ip_input tells the transport layer about a datagram. `dgram` points at
 * the IP header of the whole (reassembled) datagram, so transport layers can
 * quote it in ICMP errors. */
struct us_ip_info {
    us_ip4_t src, dst;
    uint8_t proto, ttl, tos;
    uint16_t id;
    bool broadcast;             /* dst was broadcast: never answer with ICMP errors */
    const uint8_t *dgram;       /* IP header + payload */
    uint32_t dgram_len;
    uint32_t hdr_len;
};

/* A received ICMP error (unreachable, time exceeded, parameter problem) about a
 * datagram we sent, parsed once by icmp.c from the quote (RFC 792: the IP header
 * and the first 8 bytes of its payload; icmp.c has checked that both are there
 * and that the quoted source is ours). */
struct us_icmp_err {
    uint8_t type, code;
    us_ip4_t from;              /* sender of the ICMP message (a router or the peer) */
    us_ip4_t src, dst;          /* quoted IP header: our address, where the datagram went */
    uint8_t proto;              /* quoted protocol */
    uint16_t sport, dport;      /* quoted transport ports (bytes 0..3 for UDP and TCP) */
    uint32_t tcp_seq;           /* quoted TCP sequence number (proto TCP), else 0 */
    uint16_t echo_id;           /* quoted ICMP echo identifier (proto ICMP), else 0 */
    uint16_t mtu;               /* next-hop MTU of a fragmentation-needed error (RFC 1191), 0 if none */
};

/* A transport protocol above IP: where its datagrams and the ICMP errors about
 * datagrams it sent go. */
struct us_ip_upper {
    void (*input)(struct us_stack *st, const struct us_ip_info *ip, const uint8_t *data, uint32_t len, us_time_t now);
    void (*icmp_error)(struct us_stack *st, const struct us_icmp_err *e, us_time_t now);
};

/* 0, or -errno with the reason in err. */
int us_ip_init(struct us_stack *st, char *err, size_t errlen);
void us_ip_fini(struct us_stack *st);
/* Hand datagrams of protocol `proto` (and ICMP errors about them) to `up`;
 * unregistered protocols are answered with protocol unreachable. */
void us_ip_register(struct us_stack *st, uint8_t proto, const struct us_ip_upper *up);
/* A received IPv4 datagram (pkt->data = IP header). Takes ownership. */
void us_ip_input(struct us_stack *st, struct us_pkt *pkt, us_time_t now);
/* Send pkt->data (transport header + payload) as an IPv4 datagram. The IP header
 * is prepended in headroom; larger than the MTU → fragmented (unless df).
 * src = 0 → our address. Takes ownership. Returns 0 or -errno
 * (-ENETUNREACH, -EMSGSIZE, -ENOBUFS). */
struct us_ip_out { us_ip4_t src, dst; uint8_t proto, ttl, tos; bool df; };
int us_ip_output(struct us_stack *st, struct us_pkt *pkt, const struct us_ip_out *o, us_time_t now);
/* Route look-up: returns 0 and the next hop, or -ENETUNREACH. */
int us_ip_route(struct us_stack *st, us_ip4_t dst, us_ip4_t *nexthop);
/* Largest transport payload in one unfragmented datagram. */
uint32_t us_ip_mtu(struct us_stack *st, us_ip4_t dst);
bool us_ip_is_local(struct us_stack *st, us_ip4_t a);
/* The next hop towards dst is resolved (ARP) now. */
bool us_ip_neigh_resolved(struct us_stack *st, us_ip4_t dst);

/* Send an ICMP error quoting the offending datagram (rate limited, RFC 1122 3.2.2
 * rules: never about ICMP errors, broadcasts or non-first fragments). */
void us_icmp_send_error(struct us_stack *st, uint8_t type, uint8_t code, const struct us_ip_info *ip, us_time_t now);
#define US_ICMP_ECHO_REPLY 0
#define US_ICMP_UNREACH 3
#define US_ICMP_ECHO 8
#define US_ICMP_TIME_EXCEEDED 11
#define US_ICMP_UNREACH_PROTO 2
#define US_ICMP_UNREACH_PORT 3
#define US_ICMP_UNREACH_NEEDFRAG 4

#endif
