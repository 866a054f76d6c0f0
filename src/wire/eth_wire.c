/* Ethernet II and IPv4 headers: the fixed fields, parse and build.
 *
 *   us_eth_parse / us_eth_emit      Ethernet II; one 802.1Q tag is skipped
 *   us_ip_hdr_parse / _check / _write  the 20-byte IPv4 header (RFC 791 3.1) */
#include <string.h>
#include "wire.h"

int us_eth_parse(const uint8_t *f, uint32_t len, struct us_eth_repr *e)
{
    if (len < US_ETH_HLEN)
        return -1;
    memcpy(e->dst, f, 6);
    memcpy(e->src, f + 6, 6);
    e->type = us_get16(f + 12);
    e->hlen = US_ETH_HLEN;
    if (e->type == US_ETHERTYPE_VLAN) {   /* IEEE 802.1Q: TCI, then the inner type */
        if (len < US_ETH_HLEN + 4)
            return -1;
        e->type = us_get16(f + 16);
        e->hlen = US_ETH_HLEN + 4;
    }
    return (int)e->hlen;
}

void us_eth_emit(uint8_t *f, const struct us_eth_repr *e)
{
    memcpy(f, e->dst, 6);
    memcpy(f + 6, e->src, 6);
    us_put16(f + 12, e->type);
}

void us_ip_hdr_parse(const uint8_t *p, struct us_ip_hdr *h)
{
    uint16_t frag = us_get16(p + 6);
    h->version = p[0] >> 4;
    h->ihl = p[0] & 0x0F;
    h->tos = p[1];
    h->total_len = us_get16(p + 2);
    h->id = us_get16(p + 4);
    h->df = (frag & US_IP_FLAG_DF) != 0;
    h->mf = (frag & US_IP_FLAG_MF) != 0;
    h->frag_off = (uint32_t)(frag & US_IP_OFFMASK) * 8u;
    h->ttl = p[8];
    h->proto = p[9];
    h->csum = us_get16(p + 10);
    h->src = us_get32(p + 12);
    h->dst = us_get32(p + 16);
}

int us_ip_hdr_check(const uint8_t *p, uint32_t len, struct us_ip_hdr *h)
{
    if (len < US_IP_HLEN)
        return -1;
    us_ip_hdr_parse(p, h);
    uint32_t hlen = (uint32_t)h->ihl * 4u;
    if (h->version != 4 || h->ihl < 5 || len < hlen || h->total_len < hlen)
        return -1;
    return (int)hlen;
}

void us_ip_hdr_write(uint8_t *p, const struct us_ip_hdr *h)
{
    uint16_t frag = (uint16_t)((h->frag_off / 8u) & US_IP_OFFMASK);
    if (h->df)
        frag |= US_IP_FLAG_DF;
    if (h->mf)
        frag |= US_IP_FLAG_MF;
    p[0] = 0x45;
    p[1] = h->tos;
    us_put16(p + 2, h->total_len);
    us_put16(p + 4, h->id);
    us_put16(p + 6, frag);
    p[8] = h->ttl;
    p[9] = h->proto;
    us_put16(p + 10, 0);
    us_put32(p + 12, h->src);
    us_put32(p + 16, h->dst);
    us_put16(p + 10, us_csum(p, US_IP_HLEN));
}
