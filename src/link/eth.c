/* Ethernet II framing: the bottom of the stack.
 *
 * Paths through this file:
 *   receive  us_eth_input   -> short / not for us / bad source / unknown type: count, drop
 *                           -> IPv4: pull the header, the IP input the root wired in
 *                           -> ARP:  pull the header, us_arp_input
 *   send     us_eth_output_ip -> limited or subnet broadcast: broadcast MAC
 *                             -> IPv4 multicast: RFC 1112 6.4 group MAC
 *                             -> otherwise: ARP (arp.c) resolves, maybe queues
 *            us_eth_send      -> prepend header in headroom, pad to 60, device xmit
 *   life     us_link_init / us_link_fini, and us_dev_destroy for every device.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "link_priv.h"

const uint8_t us_eth_broadcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

/* The Ethernet II header as plain fields; only eth_parse touches offsets. */
struct eth_hdr {
    uint8_t dst[6];
    uint8_t src[6];
    uint16_t type;
};

static void eth_parse(const uint8_t *p, struct eth_hdr *h)
{
    memcpy(h->dst, p, 6);
    memcpy(h->src, p + 6, 6);
    h->type = us_get16(p + 12);
}

static bool mac_is_multicast(const uint8_t m[6]) { return (m[0] & 1) != 0; }
static bool mac_is_broadcast(const uint8_t m[6]) { return memcmp(m, us_eth_broadcast, 6) == 0; }

void us_dev_destroy(struct us_dev *d)
{
    if (d && d->ops && d->ops->destroy)
        d->ops->destroy(d);
}

int us_link_init(struct us_stack *st, us_link_rx_fn ip_input, us_time_t now, char *err, size_t errlen)
{
    struct us_link_state *ls = calloc(1, sizeof(*ls));
    if (!ls) {
        snprintf(err, errlen, "link layer: out of memory for the ARP cache");
        return -ENOMEM;
    }
    ls->ip_input = ip_input;
    st->slot[US_LINK_SLOT] = ls;
    us_arp_init(st, ls);
    /* RFC 5227 3: announce our address so neighbours with stale entries for it
     * update them. A failed announcement is not fatal: requests still work. */
    if (st->cfg.gratuitous_arp && st->cfg.ip != 0)
        (void)us_arp_announce(st, now);
    return 0;
}

void us_link_fini(struct us_stack *st)
{
    if (!link_state(st))
        return;
    us_arp_fini(st);
    free(link_state(st));
    st->slot[US_LINK_SLOT] = NULL;
}

/* Accept unicast to us and broadcast; every other group address is dropped as
 * not for us (we join no Ethernet multicast groups). */
static bool eth_dst_accepted(const struct us_stack *st, const struct eth_hdr *h)
{
    if (mac_is_broadcast(h->dst))
        return true;
    if (mac_is_multicast(h->dst))
        return false;
    return memcmp(h->dst, st->dev->mac, 6) == 0;
}

void us_eth_input(struct us_stack *st, struct us_pkt *frame, us_time_t now)
{
    US_COUNT(st, ETH_RX);
    if (frame->len < US_ETH_HLEN) {
        US_COUNT(st, ETH_DROP_SHORT);
        us_pkt_free(frame);
        return;
    }
    struct eth_hdr h;
    eth_parse(frame->data, &h);
    if (!eth_dst_accepted(st, &h)) {
        US_COUNT(st, ETH_DROP_NOT_FOR_US);
        us_pkt_free(frame);
        return;
    }
    /* IEEE 802 group bit in a source address is invalid (a reflected or
     * forged frame); learning from it would poison the ARP cache. */
    if (mac_is_multicast(h.src)) {
        US_COUNT(st, ETH_DROP_BAD_SRC);
        us_pkt_free(frame);
        return;
    }
    us_pkt_pull(frame, US_ETH_HLEN);
    switch (h.type) {
    case US_ETHERTYPE_IPV4:
        link_state(st)->ip_input(st, frame, now);
        break;
    case US_ETHERTYPE_ARP:
        us_arp_input(st, frame, now);
        break;
    default:
        US_COUNT(st, ETH_DROP_UNKNOWN_TYPE);
        us_pkt_free(frame);
        break;
    }
}

int us_eth_send(struct us_stack *st, struct us_pkt *pkt, const uint8_t dst[6], uint16_t type, us_time_t now)
{
    uint8_t *h = us_pkt_push(pkt, US_ETH_HLEN);
    if (!h) {
        US_COUNT(st, ETH_DROP_NOMEM);
        us_pkt_free(pkt);
        return -ENOBUFS;
    }
    memcpy(h, dst, 6);
    memcpy(h + 6, st->dev->mac, 6);
    us_put16(h + 12, type);
    /* IEEE 802.3 minimum frame: 64 bytes with FCS, so 60 without it (TAP and
     * the pipe carry no FCS). Pad with zeros; a buffer without tailroom goes out
     * short rather than not at all — TAP and pipe accept it. */
    if (pkt->len < US_ETH_MIN_FRAME) {
        uint32_t pad = US_ETH_MIN_FRAME - pkt->len;
        uint8_t *t = us_pkt_put(pkt, pad);
        if (t)
            memset(t, 0, pad);
    }
    int rc = us_dev_xmit(st->dev, pkt, now);
    if (rc < 0)
        US_COUNT(st, ETH_DROP_TX_FAIL);
    else
        US_COUNT(st, ETH_TX);
    return rc;
}

/* Directed broadcast of our own subnet (RFC 919/922); /31 (RFC 3021) and /32
 * have none. */
static bool is_subnet_broadcast(const struct us_stack *st, us_ip4_t a)
{
    uint8_t len = st->cfg.prefix_len;
    if (len >= 31)
        return false;
    uint32_t mask = len ? ~0u << (32 - len) : 0;
    return (a & mask) == (st->cfg.ip & mask) && (a & ~mask) == ~mask;
}

int us_eth_output_ip(struct us_stack *st, struct us_pkt *pkt, us_ip4_t nexthop, us_time_t now)
{
    if (nexthop == 0xffffffffu || is_subnet_broadcast(st, nexthop))
        return us_eth_send(st, pkt, us_eth_broadcast, US_ETHERTYPE_IPV4, now);
    if ((nexthop >> 28) == 0xe) {
        /* RFC 1112 6.4: 01-00-5E followed by the low 23 bits of the group. */
        uint8_t mac[6] = {0x01, 0x00, 0x5e, (uint8_t)((nexthop >> 16) & 0x7f),
                          (uint8_t)(nexthop >> 8), (uint8_t)nexthop};
        return us_eth_send(st, pkt, mac, US_ETHERTYPE_IPV4, now);
    }
    if (nexthop == 0) {
        US_COUNT(st, ETH_DROP_BAD_NEXTHOP);
        us_pkt_free(pkt);
        return -EINVAL;
    }
    return us_arp_output(st, pkt, nexthop, now);
}
