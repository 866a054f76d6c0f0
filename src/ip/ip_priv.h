/* Private state of the IPv4 layer (ip.c, ip_output.c, reasm.c, route.c, icmp.c).
 * No other layer includes this file: they go through ip.h. */
#ifndef US_IP_PRIV_H
#define US_IP_PRIV_H

#include "ip.h"
#include "../wire/wire.h"

enum us_ip_counter {
#define X(id, name) US_C_##id,
#include "ip_counters.def"
#undef X
};
#define US_COUNT(st, id) US_COUNT_SLOT(st, US_IP_SLOT, US_C_##id)
#define US_COUNT_N(st, id, n) US_COUNT_SLOT_N(st, US_IP_SLOT, US_C_##id, n)

#define US_IP_MAXLEN 65535u       /* total length field is 16 bits */
#define US_IP_BCAST 0xFFFFFFFFu   /* limited broadcast (RFC 919) */
/* The header codec (struct us_ip_hdr, US_IP_HLEN, US_IP_FLAG_*) is src/wire's. */

/* ---- routing (route.c) ---- */
struct us_route { us_ip4_t prefix; uint8_t len; us_ip4_t gw; };
#define US_ROUTE_MAX 256u

/* ---- reassembly (reasm.c) ---- */
struct us_reasm;                  /* one datagram being reassembled */

/* ---- ICMP (icmp.c) ---- */
#define US_PING_QUEUE 256u        /* echo replies held for us_ping_recv */
#define US_ICMP_ERRQ 64u          /* received ICMP errors held for us_icmp_error_recv */
#define US_ICMP_QUOTE_MAX 548u    /* RFC 1812 4.3.2.3: ICMP datagram <= 576 bytes */

struct us_ip_state {
    /* routing table, unsorted; look-up is a longest-prefix scan (tables are tiny) */
    struct us_route routes[US_ROUTE_MAX];
    uint32_t nroutes;
    uint16_t next_id;             /* identification counter (RFC 791, RFC 6864) */

    /* reassembly: pending datagrams, oldest first (eviction order) */
    struct us_reasm *reasm_head, *reasm_tail;
    uint32_t reasm_count;
    uint64_t reasm_bytes;         /* memory charged to pending datagrams */

    /* ICMP error token bucket (RFC 1122 3.2.2 / RFC 1812 4.3.2.8); tokens are
     * scaled by 1e9 so a refill of (now - last) * rate needs no division */
    uint64_t icmp_tokens;
    us_time_t icmp_last;
    bool icmp_bucket_started;

    struct us_ping_reply pings[US_PING_QUEUE];
    uint32_t nping;
    struct us_icmp_error errq[US_ICMP_ERRQ];
    uint32_t errq_head, nerr;

    const struct us_ip_upper *upper[256]; /* by protocol number; NULL = unreachable */
};

static inline struct us_ip_state *ip_state(const struct us_stack *st) { return st->slot[US_IP_SLOT]; }

/* Address classes (RFC 1122 3.2.1.3, RFC 1812 4.2.2.11). */
static inline bool us_ip_is_multicast(us_ip4_t a) { return (a >> 28) == 0xE; }
static inline bool us_ip_is_class_e(us_ip4_t a) { return (a >> 28) == 0xF; }
static inline bool us_ip_is_loopback(us_ip4_t a) { return (a >> 24) == 127; }
/* Our subnet's directed broadcast, or 0 if the prefix has none (/31, /32: RFC 3021). */
us_ip4_t us_ip_subnet_bcast(const struct us_stack *st);
/* Broadcast for us: the limited broadcast or our subnet broadcast. */
bool us_ip_is_bcast(const struct us_stack *st, us_ip4_t a);

int us_route_init(struct us_stack *st);

void us_icmp_input(struct us_stack *st, const struct us_ip_info *ip, const uint8_t *data, uint32_t len, us_time_t now);

/* Send `len` bytes (transport header + payload) from a flat buffer: copies into
 * pool packets, fragmenting when needed. For payloads that do not fit one pool
 * buffer (large echo replies, big pings). Returns 0 or -errno. */
int us_ip_output_flat(struct us_stack *st, const uint8_t *data, uint32_t len,
                      const struct us_ip_out *o, us_time_t now);

/* A fragment (MF set or offset != 0) that passed header validation. Takes
 * ownership of pkt; dispatches the datagram when it is complete. */
void us_reasm_input(struct us_stack *st, struct us_pkt *pkt, const struct us_ip_hdr *h,
                    bool broadcast, us_time_t now);
void us_reasm_fini(struct us_stack *st);
/* Hand a complete datagram up by protocol (shared by ip.c and reasm.c). */
void us_ip_dispatch(struct us_stack *st, const struct us_ip_info *info, us_time_t now);

#endif
