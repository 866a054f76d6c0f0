/* Frame decoding for the analyzer: link header (Ethernet with one 802.1Q tag,
 * Linux cooked v1/v2, raw IPv4) → IPv4 → TCP header and options, into struct
 * an_seg. Every read is bounded by the captured length; anything that does not
 * fit is AN_MALFORMED, anything that is not an unfragmented TCP/IPv4 segment is
 * AN_NOT_TCP. Lengths come from the IP header, so a capture with a short
 * snaplen still gives true payload lengths. */
#include <string.h>
#include "an_internal.h"
#include "../wire/wire.h"

/* Offset of the IPv4 header, or -1 (not IPv4), or -2 (truncated). */
static int link_offset(enum us_an_link link, const uint8_t *f, uint32_t caplen)
{
    switch (link) {
    case US_AN_LINK_ETH: {               /* one VLAN tag skipped */
        struct us_eth_repr e;
        int hl = us_eth_parse(f, caplen, &e);
        if (hl < 0)
            return -2;
        return e.type == US_ETHERTYPE_IPV4 ? hl : -1;
    }
    case US_AN_LINK_SLL:                 /* 16-byte header, protocol at 14 */
        if (caplen < 16)
            return -2;
        return us_get16(f + 14) == US_ETHERTYPE_IPV4 ? 16 : -1;
    case US_AN_LINK_SLL2:                /* 20-byte header, protocol at 0 */
        if (caplen < 20)
            return -2;
        return us_get16(f) == US_ETHERTYPE_IPV4 ? 20 : -1;
    case US_AN_LINK_IPV4:
        return 0;
    }
    return -1;
}

/* The TCP header (src/wire): a malformed option ends the walk but keeps the
 * segment, and only the options of a SYN matter to the analyzer. */
static enum an_parse parse_tcp(const uint8_t *t, uint32_t avail, uint32_t tcplen, struct an_seg *s)
{
    struct us_tcp_repr r;
    enum us_tcp_parse_rc rc = us_tcp_parse_trunc(t, avail, tcplen, &r);
    if (rc == US_TCP_SHORT || rc == US_TCP_BAD_OFFSET)
        return AN_MALFORMED;
    s->sport = r.sport;
    s->dport = r.dport;
    s->seq = r.seq;
    s->ack = r.ack;
    s->flags = r.flags & 0x1f;
    s->wnd = r.wnd;
    s->len = r.len;
    s->mss = r.mss;
    s->ws = r.wscale;
    s->sack_perm = r.sack_perm;
    s->ts = r.ts;
    s->nsack = r.nsack;
    return AN_TCP;
}

enum an_parse an_parse_frame(enum us_an_link link, const uint8_t *f, uint32_t caplen, uint32_t wirelen,
                             struct an_seg *s)
{
    memset(s, 0, sizeof(*s));
    s->ws = -1;
    if (!f)
        return AN_MALFORMED;
    if (wirelen < caplen)
        wirelen = caplen;
    int off = link_offset(link, f, caplen);
    if (off == -1)
        return AN_NOT_TCP;
    if (off < 0 || caplen < (uint32_t)off + 20)
        return AN_MALFORMED;
    const uint8_t *ip = f + off;
    struct us_ip_hdr h;
    int ihl = us_ip_hdr_check(ip, caplen - (uint32_t)off, &h);
    if (ihl < 0 || h.total_len > wirelen - (uint32_t)off)
        return AN_MALFORMED;
    if (h.proto != US_IP_PROTO_TCP)
        return AN_NOT_TCP;
    if (h.mf || h.frag_off)               /* a fragment: the analyzer does not reassemble */
        return AN_NOT_TCP;
    s->src = h.src;
    s->dst = h.dst;
    uint32_t avail = caplen - (uint32_t)off - (uint32_t)ihl;
    if (avail > h.total_len - (uint32_t)ihl)
        avail = h.total_len - (uint32_t)ihl;
    return parse_tcp(ip + ihl, avail, h.total_len - (uint32_t)ihl, s);
}
