/* IPv4 output: header, routing, fragmentation.
 *
 * Paths:
 *   us_ip_output(pkt)    fits the MTU → header pushed into headroom, no copy;
 *                        too big + DF → -EMSGSIZE; too big → fragments copied
 *                        out of pkt into fresh pool packets (RFC 791 3.2).
 *   us_ip_output_flat()  the same from a flat buffer (large ICMP messages that
 *                        never fitted one pool packet). */
#include <errno.h>
#include <string.h>
#include "ip_priv.h"

/* Route and build the header template shared by every fragment. */
static int ip_prepare(struct us_stack *st, const struct us_ip_out *o, uint32_t len,
                      struct us_ip_hdr *h, us_ip4_t *nexthop)
{
    if (len > US_IP_MAXLEN - US_IP_HLEN) {
        US_COUNT(st, IP_DROP_TX_TOO_BIG);
        return -EMSGSIZE;
    }
    if (us_ip_route(st, o->dst, nexthop) < 0) {
        US_COUNT(st, IP_DROP_NO_ROUTE);
        return -ENETUNREACH;
    }
    *h = (struct us_ip_hdr){
        .version = 4, .ihl = 5, .tos = o->tos, .proto = o->proto,
        .ttl = o->ttl ? o->ttl : st->cfg.ip_ttl,
        .total_len = (uint16_t)(len + US_IP_HLEN),
        .id = ip_state(st)->next_id++,
        .df = o->df,
        .src = o->src ? o->src : st->cfg.ip,
        .dst = o->dst,
    };
    if (h->ttl == 0)
        h->ttl = 64; /* RFC 1122 3.2.1.7: TTL must not be 0 on send */
    if (len + US_IP_HLEN > st->dev->mtu && o->df) {
        US_COUNT(st, IP_DROP_DF_TOO_BIG);
        return -EMSGSIZE;
    }
    return 0;
}

static int ip_xmit(struct us_stack *st, struct us_pkt *pkt, us_ip4_t nexthop, us_time_t now)
{
    int rc = us_eth_output_ip(st, pkt, nexthop, now);
    if (rc < 0)
        US_COUNT(st, IP_TX_LINK_ERR);
    return rc;
}

/* Copy data out into pool packets, one per fragment. RFC 791 3.2: every
 * fragment but the last carries a multiple of 8 data bytes; all carry the same
 * ID; MF is set on all but the last. Options are never sent, so each piece has a
 * plain 20-byte header. A datagram that fits the MTU becomes one piece, MF clear. */
static int ip_copy_out(struct us_stack *st, const struct us_ip_hdr *tmpl, const uint8_t *data,
                       uint32_t len, us_ip4_t nexthop, us_time_t now)
{
    bool frag = len + US_IP_HLEN > st->dev->mtu;
    uint32_t chunk = frag ? (st->dev->mtu - US_IP_HLEN) & ~7u : len;
    if (frag && chunk == 0) {
        US_COUNT(st, IP_DROP_TX_TOO_BIG);
        return -EMSGSIZE;
    }
    uint32_t off = 0;
    do {
        uint32_t n = len - off < chunk ? len - off : chunk;
        struct us_pkt *f = us_pkt_alloc(st->pool);
        uint8_t *p = f ? us_pkt_put(f, US_IP_HLEN + n) : NULL;
        if (!p) {
            if (f)
                us_pkt_free(f);
            US_COUNT(st, IP_DROP_NOMEM);
            return -ENOBUFS;
        }
        struct us_ip_hdr h = *tmpl;
        h.total_len = (uint16_t)(US_IP_HLEN + n);
        h.frag_off = off;
        h.mf = off + n < len;
        us_ip_hdr_write(p, &h);
        memcpy(p + US_IP_HLEN, data + off, n);
        if (frag)
            US_COUNT(st, IP_FRAG_CREATED);
        int rc = ip_xmit(st, f, nexthop, now);
        if (rc < 0)
            return rc; /* the rest is useless without this piece */
        off += n;
    } while (off < len);
    return 0;
}

int us_ip_output(struct us_stack *st, struct us_pkt *pkt, const struct us_ip_out *o, us_time_t now)
{
    struct us_ip_hdr h;
    us_ip4_t nexthop;
    int rc = ip_prepare(st, o, pkt->len, &h, &nexthop);
    if (rc < 0) {
        us_pkt_free(pkt);
        return rc;
    }
    US_COUNT(st, IP_TX);
    if (h.total_len <= st->dev->mtu && us_pkt_headroom(pkt) >= US_IP_HLEN) {
        us_ip_hdr_write(us_pkt_push(pkt, US_IP_HLEN), &h);
        return ip_xmit(st, pkt, nexthop, now);
    }
    rc = ip_copy_out(st, &h, pkt->data, pkt->len, nexthop, now);
    us_pkt_free(pkt);
    return rc;
}

int us_ip_output_flat(struct us_stack *st, const uint8_t *data, uint32_t len,
                      const struct us_ip_out *o, us_time_t now)
{
    struct us_ip_hdr h;
    us_ip4_t nexthop;
    int rc = ip_prepare(st, o, len, &h, &nexthop);
    if (rc < 0)
        return rc;
    US_COUNT(st, IP_TX);
    return ip_copy_out(st, &h, data, len, nexthop, now);
}
