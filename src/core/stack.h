/* The stack object shared by every layer, and the narrow entry points between
 * layers. A layer's private state lives behind its own pointer here and is
 * defined only in that layer's folder. */
#ifndef US_CORE_STACK_H
#define US_CORE_STACK_H

#include <ustack/ustack.h>
#include "timer.h"
#include "rng.h"
#include "counters.h"
#include "checksum.h"

struct us_link_state;
struct us_ip_state;
struct us_udp_state;
struct us_tcp_state;
struct us_sock_state;

struct us_stack {
    struct us_config cfg;
    struct us_dev *dev;
    struct us_pktpool *pool;     /* = dev->pool: transmit buffers come from here */
    us_time_t now;               /* time of the entry point being processed */
    struct us_timerheap timers;
    struct us_rng rng;
    uint8_t secret[16];          /* key for ISN and port-selection hashes */
    uint64_t counters[US_C_MAX];

    int log_level;
    us_log_fn log_fn;
    void *log_arg;

    struct us_link_state *link;
    struct us_ip_state *ip;
    struct us_udp_state *udp;
    struct us_tcp_state *tcp;
    struct us_sock_state *sock;
};

void us_log(struct us_stack *st, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
#define US_LOG(st, lvl, ...) do { if ((st)->log_fn && (lvl) <= (st)->log_level) us_log((st), (lvl), __VA_ARGS__); } while (0)

/* ---- link layer (src/link) ---------------------------------------------- */
#define US_ETH_HLEN 14
#define US_ETHERTYPE_IPV4 0x0800
#define US_ETHERTYPE_ARP 0x0806
int us_link_init(struct us_stack *st, us_time_t now);   /* sends gratuitous ARP if configured */
void us_link_fini(struct us_stack *st);
/* A received frame (ownership passes). */
void us_eth_input(struct us_stack *st, struct us_pkt *frame, us_time_t now);
/* Send an IPv4 datagram (pkt->data = IP header) to next hop `nexthop`; resolves
 * with ARP, queueing while unresolved. Takes ownership. Returns 0 or -errno. */
int us_eth_output_ip(struct us_stack *st, struct us_pkt *pkt, us_ip4_t nexthop, us_time_t now);
/* ARP cache look-ups for tests and netstat. Returns 1 if resolved. */
int us_arp_lookup(struct us_stack *st, us_ip4_t ip, uint8_t mac[6]);

/* ---- IPv4 (src/ip) ------------------------------------------------------ */
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

int us_ip_init(struct us_stack *st);
void us_ip_fini(struct us_stack *st);
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

/* ICMP (src/ip/icmp.c) */
void us_icmp_input(struct us_stack *st, const struct us_ip_info *ip, const uint8_t *data, uint32_t len, us_time_t now);
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

/* ---- transport entry points -------------------------------------------- */
int us_udp_init(struct us_stack *st);
void us_udp_fini(struct us_stack *st);
void us_udp_input(struct us_stack *st, const struct us_ip_info *ip, const uint8_t *data, uint32_t len, us_time_t now);
/* ICMP error about a datagram we sent: quoted = the IP header + 8 bytes we sent. */
void us_udp_icmp_error(struct us_stack *st, uint8_t type, uint8_t code, const uint8_t *quoted, uint32_t len);

int us_tcp_init(struct us_stack *st);
void us_tcp_fini(struct us_stack *st);
void us_tcp_input(struct us_stack *st, const struct us_ip_info *ip, const uint8_t *data, uint32_t len, us_time_t now);
void us_tcp_icmp_error(struct us_stack *st, uint8_t type, uint8_t code, const uint8_t *quoted, uint32_t len);

int us_sock_init(struct us_stack *st);
void us_sock_fini(struct us_stack *st);

#endif
