/* Frame decoding for the analyzer: link header (Ethernet with one 802.1Q tag,
 * Linux cooked v1/v2, raw IPv4) → IPv4 → TCP header and options, into struct
 * an_seg. Every read is bounded by the captured length; anything that does not
 * fit is AN_MALFORMED, anything that is not an unfragmented TCP/IPv4 segment is
 * AN_NOT_TCP. Lengths come from the IP header, so a capture with a short
 * snaplen still gives true payload lengths. */
#include <string.h>
#include "an_internal.h"

static uint16_t rd16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static uint32_t rd32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* Offset of the IPv4 header, or -1 (not IPv4), or -2 (truncated). */
static int link_offset(enum us_an_link link, const uint8_t *f, uint32_t caplen)
{
    switch (link) {
    case US_AN_LINK_ETH: {
        if (caplen < 14)
            return -2;
        uint16_t type = rd16(f + 12);
        if (type == 0x8100) {            /* one VLAN tag */
            if (caplen < 18)
                return -2;
            return rd16(f + 16) == 0x0800 ? 18 : -1;
        }
        return type == 0x0800 ? 14 : -1;
    }
    case US_AN_LINK_SLL:                 /* 16-byte header, protocol at 14 */
        if (caplen < 16)
            return -2;
        return rd16(f + 14) == 0x0800 ? 16 : -1;
    case US_AN_LINK_SLL2:                /* 20-byte header, protocol at 0 */
        if (caplen < 20)
            return -2;
        return rd16(f) == 0x0800 ? 20 : -1;
    case US_AN_LINK_IPV4:
        return 0;
    }
    return -1;
}

/* TCP options (RFC 9293 3.2): only those of a SYN matter to the analyzer.
 * A garbage length ends the walk; nothing beyond `n` is read. */
static void parse_options(const uint8_t *o, uint32_t n, struct an_seg *s)
{
    uint32_t i = 0;
    while (i < n) {
        uint8_t kind = o[i];
        if (kind == 0)
            break;
        if (kind == 1) {
            i++;
            continue;
        }
        if (i + 1 >= n || o[i + 1] < 2 || i + o[i + 1] > n)
            break;
        uint8_t len = o[i + 1];
        if (kind == 2 && len == 4)
            s->mss = rd16(o + i + 2);
        else if (kind == 3 && len == 3)
            s->ws = o[i + 2] > 14 ? 14 : o[i + 2];   /* RFC 7323 2.3: treat > 14 as 14 */
        else if (kind == 4 && len == 2)
            s->sack_perm = true;
        else if (kind == 8 && len == 10)
            s->ts = true;
        else if (kind == 5 && len >= 10)
            s->nsack = (uint8_t)((len - 2) / 8);
        i += len;
    }
}

static enum an_parse parse_tcp(const uint8_t *t, uint32_t avail, uint32_t tcplen, struct an_seg *s)
{
    if (tcplen < 20 || avail < 20)
        return AN_MALFORMED;
    uint32_t doff = (uint32_t)(t[12] >> 4) * 4;
    if (doff < 20 || doff > tcplen)
        return AN_MALFORMED;
    s->sport = rd16(t);
    s->dport = rd16(t + 2);
    s->seq = rd32(t + 4);
    s->ack = rd32(t + 8);
    s->flags = t[13] & 0x1f;
    s->wnd = rd16(t + 14);
    s->len = tcplen - doff;
    uint32_t optend = doff < avail ? doff : avail;
    parse_options(t + 20, optend - 20, s);
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
    uint32_t ihl = (uint32_t)(ip[0] & 15) * 4;
    uint32_t tot = rd16(ip + 2);
    if ((ip[0] >> 4) != 4 || ihl < 20 || tot < ihl || caplen < (uint32_t)off + ihl ||
        tot > wirelen - (uint32_t)off)
        return AN_MALFORMED;
    if (ip[9] != 6)
        return AN_NOT_TCP;
    if (rd16(ip + 6) & 0x3fff)            /* a fragment: the analyzer does not reassemble */
        return AN_NOT_TCP;
    s->src = rd32(ip + 12);
    s->dst = rd32(ip + 16);
    uint32_t avail = caplen - (uint32_t)off - ihl;
    if (avail > tot - ihl)
        avail = tot - ihl;
    return parse_tcp(ip + ihl, avail, tot - ihl, s);
}
