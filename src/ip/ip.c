/* IPv4 input: header validation, address checks, hand-off to reassembly or to
 * the transport protocols. Also the layer's life cycle (the header codec is
 * src/wire's).
 *
 * Paths through us_ip_input (every drop counted with its reason):
 *   too short / bad version / bad IHL / bad total length / bad checksum → drop
 *   source broadcast, multicast, class E, loopback or our own → drop (bad source)
 *   destination not ours, not 255.255.255.255, not our subnet broadcast → drop
 *   MF or offset != 0 → us_reasm_input (reasm.c)
 *   otherwise → us_ip_dispatch: ICMP, a registered transport (us_ip_register),
 *               or protocol unreachable. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ip_priv.h"

int us_ip_init(struct us_stack *st, char *err, size_t errlen)
{
    struct us_ip_state *ips = calloc(1, sizeof(*ips));
    if (!ips) {
        snprintf(err, errlen, "ip layer: out of memory");
        return -ENOMEM;
    }
    st->slot[US_IP_SLOT] = ips;
    /* RFC 6864 / RFC 7739: a random start keeps IDs of successive runs (and of
     * different hosts) apart, so stale fragments do not reassemble with new ones. */
    ips->next_id = (uint16_t)us_rng_next(&st->rng);
    int rc = us_route_init(st);
    if (rc < 0) {
        snprintf(err, errlen, "ip layer: on-link route %u.%u.%u.%u/%u: %s", st->cfg.ip >> 24,
                 (st->cfg.ip >> 16) & 255, (st->cfg.ip >> 8) & 255, st->cfg.ip & 255,
                 st->cfg.prefix_len, strerror(-rc));
        free(ips);
        st->slot[US_IP_SLOT] = NULL;
    }
    return rc;
}

void us_ip_fini(struct us_stack *st)
{
    if (!ip_state(st))
        return;
    us_reasm_fini(st);
    free(ip_state(st));
    st->slot[US_IP_SLOT] = NULL;
}

void us_ip_register(struct us_stack *st, uint8_t proto, const struct us_ip_upper *up)
{
    ip_state(st)->upper[proto] = up;
}

/* RFC 1122 3.2.1.1 / 3.2.1.2: structural checks. Trims link padding to the
 * total length. Returns true if the header is sound; counts the drop otherwise. */
static bool ip_validate(struct us_stack *st, struct us_pkt *pkt, struct us_ip_hdr *h)
{
    if (pkt->len < US_IP_HLEN) {
        US_COUNT(st, IP_DROP_SHORT);
        return false;
    }
    us_ip_hdr_parse(pkt->data, h);
    if (h->version != 4) {
        US_COUNT(st, IP_DROP_BAD_VERSION);
        return false;
    }
    uint32_t hlen = (uint32_t)h->ihl * 4u;
    if (h->ihl < 5 || hlen > pkt->len) {
        US_COUNT(st, IP_DROP_BAD_HLEN);
        return false;
    }
    if (h->total_len < hlen || h->total_len > pkt->len) {
        US_COUNT(st, IP_DROP_BAD_LEN);
        return false;
    }
    /* Ethernet pads short frames to 60 bytes: the total length is authoritative. */
    us_pkt_trim(pkt, h->total_len);
    /* The checksum covers the header including options, which we skip without
     * interpreting (RFC 1122 3.2.1.8 lets a host ignore options it does not know). */
    if (us_csum(pkt->data, hlen) != 0) {
        US_COUNT(st, IP_DROP_BAD_CSUM);
        return false;
    }
    return true;
}

/* RFC 1122 3.2.1.3: a host silently discards datagrams from a source that cannot
 * be a single host (broadcast, multicast, class E, loopback) or that claims to be
 * us (a reflection or spoof). 0.0.0.0 is allowed: hosts booting use it. */
static bool ip_source_ok(const struct us_stack *st, us_ip4_t src)
{
    return !(us_ip_is_bcast(st, src) || us_ip_is_multicast(src) || us_ip_is_class_e(src) ||
             us_ip_is_loopback(src) || (src != 0 && src == st->cfg.ip));
}

void us_ip_input(struct us_stack *st, struct us_pkt *pkt, us_time_t now)
{
    struct us_ip_hdr h;
    US_COUNT(st, IP_RX);
    if (!ip_validate(st, pkt, &h))
        goto out;
    if (!ip_source_ok(st, h.src)) {
        US_COUNT(st, IP_DROP_BAD_SRC);
        goto out;
    }
    bool bcast = us_ip_is_bcast(st, h.dst);
    if (!bcast && !us_ip_is_local(st, h.dst)) {
        US_COUNT(st, IP_DROP_NOT_FOR_US); /* we are a host: no forwarding (RFC 1122 3.3.1) */
        goto out;
    }
    if (h.mf || h.frag_off != 0) {
        US_COUNT(st, IP_FRAG_RX);
        us_reasm_input(st, pkt, &h, bcast, now);
        return;
    }
    struct us_ip_info info = {
        .src = h.src, .dst = h.dst, .proto = h.proto, .ttl = h.ttl, .tos = h.tos, .id = h.id,
        .broadcast = bcast, .dgram = pkt->data, .dgram_len = pkt->len,
        .hdr_len = (uint32_t)h.ihl * 4u,
    };
    us_ip_dispatch(st, &info, now);
out:
    us_pkt_free(pkt);
}

void us_ip_dispatch(struct us_stack *st, const struct us_ip_info *info, us_time_t now)
{
    const uint8_t *payload = info->dgram + info->hdr_len;
    uint32_t plen = info->dgram_len - info->hdr_len;
    const struct us_ip_upper *up = ip_state(st)->upper[info->proto];
    if (info->proto == US_IPPROTO_ICMP) {
        US_COUNT(st, IP_DELIVERED);
        us_icmp_input(st, info, payload, plen, now);
    } else if (up) {
        US_COUNT(st, IP_DELIVERED);
        up->input(st, info, payload, plen, now);
    } else {
        /* RFC 1122 3.2.2.1: a host SHOULD generate protocol unreachable. */
        US_COUNT(st, IP_DROP_UNKNOWN_PROTO);
        us_icmp_send_error(st, US_ICMP_UNREACH, US_ICMP_UNREACH_PROTO, info, now);
    }
}
