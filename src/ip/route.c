/* IPv4 routing: a small table of (prefix, length, gateway) routes searched by
 * longest prefix match. gw = 0 means on-link: the next hop is the destination.
 *
 * Paths: us_route_init (on-link prefix + default route from the config),
 * us_route_add (public), us_ip_route (look-up), us_ip_mtu, us_ip_is_local. */
#include <errno.h>
#include "ip_priv.h"

static us_ip4_t prefix_mask(uint8_t len)
{
    return len == 0 ? 0 : (us_ip4_t)(0xFFFFFFFFu << (32 - len));
}

us_ip4_t us_ip_subnet_bcast(const struct us_stack *st)
{
    /* RFC 3021: /31 and /32 have no directed broadcast address. */
    if (st->cfg.ip == 0 || st->cfg.prefix_len > 30)
        return 0;
    return st->cfg.ip | ~prefix_mask(st->cfg.prefix_len);
}

bool us_ip_is_bcast(const struct us_stack *st, us_ip4_t a)
{
    us_ip4_t sb = us_ip_subnet_bcast(st);
    return a == US_IP_BCAST || (sb != 0 && a == sb);
}

bool us_ip_is_local(struct us_stack *st, us_ip4_t a)
{
    return a != 0 && a == st->cfg.ip;
}

/* Longest matching route, or NULL. */
static const struct us_route *route_lookup(const struct us_ip_state *ip, us_ip4_t dst)
{
    const struct us_route *best = NULL;
    for (uint32_t i = 0; i < ip->nroutes; i++) {
        const struct us_route *r = &ip->routes[i];
        if ((dst & prefix_mask(r->len)) == r->prefix && (!best || r->len > best->len))
            best = r;
    }
    return best;
}

/* Insert or replace (same prefix and length) without checking the gateway. */
static int route_set(struct us_ip_state *ip, us_ip4_t prefix, uint8_t len, us_ip4_t gw)
{
    prefix &= prefix_mask(len);
    for (uint32_t i = 0; i < ip->nroutes; i++) {
        if (ip->routes[i].prefix == prefix && ip->routes[i].len == len) {
            ip->routes[i].gw = gw;
            return 0;
        }
    }
    if (ip->nroutes == US_ROUTE_MAX)
        return -ENOSPC;
    ip->routes[ip->nroutes++] = (struct us_route){ .prefix = prefix, .len = len, .gw = gw };
    return 0;
}

int us_route_add(struct us_stack *st, us_ip4_t prefix, uint8_t len, us_ip4_t gw)
{
    if (len > 32)
        return -EINVAL;
    if (gw != 0) {
        /* A gateway must itself be reachable on-link (RFC 1122 3.3.1.1): no
         * recursive routes, so the next hop we hand to ARP is always a neighbour. */
        const struct us_route *r = route_lookup(ip_state(st), gw);
        if (!r || r->gw != 0)
            return -ENETUNREACH;
    }
    return route_set(ip_state(st), prefix, len, gw);
}

int us_route_init(struct us_stack *st)
{
    const struct us_config *c = &st->cfg;
    if (c->prefix_len > 32)
        return -EINVAL;
    int rc = 0;
    if (c->ip != 0)
        rc = route_set(ip_state(st), c->ip, c->prefix_len, 0);
    if (rc == 0 && c->gw != 0)
        rc = us_route_add(st, 0, 0, c->gw);
    return rc;
}

int us_ip_route(struct us_stack *st, us_ip4_t dst, us_ip4_t *nexthop)
{
    /* The limited broadcast never leaves the link (RFC 919); the link layer
     * maps it to the Ethernet broadcast address. */
    if (dst == US_IP_BCAST) {
        *nexthop = dst;
        return 0;
    }
    const struct us_route *r = route_lookup(ip_state(st), dst);
    if (!r)
        return -ENETUNREACH;
    *nexthop = r->gw ? r->gw : dst;
    return 0;
}

bool us_ip_neigh_resolved(struct us_stack *st, us_ip4_t dst)
{
    us_ip4_t nh;
    uint8_t mac[6];
    return us_ip_route(st, dst, &nh) == 0 && us_arp_lookup(st, nh, mac) == 1;
}

uint32_t us_ip_mtu(struct us_stack *st, us_ip4_t dst)
{
    (void)dst; /* one interface, no path MTU cache yet */
    return st->dev->mtu > US_IP_HLEN ? st->dev->mtu - US_IP_HLEN : 0;
}
