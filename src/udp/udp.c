/* UDP (RFC 768): sockets with bind/connect/sendto/recvfrom.
 *
 * Paths through this file:
 *   input:  us_udp_input → validate length and checksum → find pcb by local port
 *           (connected pcbs matching the remote first) → queue, or port unreachable
 *   output: us_udp_sendto → header + checksum → us_ip_output (fragments if needed)
 *   errors: us_udp_icmp_error → the pcb that sent it remembers ECONNREFUSED */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "udp.h"

enum us_udp_counter {
#define X(id, name) US_C_##id,
#include "udp_counters.def"
#undef X
};
#define US_COUNT(st, id) US_COUNT_SLOT(st, US_UDP_SLOT, US_C_##id)

#define UDP_HLEN 8
#define UDP_HASH 256
#define UDP_RXQ_MAX 256             /* datagrams queued per socket at most */
#define UDP_DEFAULT_RCVBUF (208 * 1024)

struct udp_dgram {
    struct us_pkt *pkt;             /* payload at pkt->data */
    struct us_sockaddr from;
};

struct us_udp_pcb {
    struct us_udp_pcb *hnext;
    us_ip4_t laddr, raddr;
    uint16_t lport, rport;
    bool bound, connected, reuseaddr;
    int pending_err;                /* reported once by the next recv/send */
    uint32_t rcvbuf, queued_bytes;
    struct udp_dgram *rxq;          /* ring, allocated on first datagram */
    uint32_t rx_head, rx_count;
};

struct us_udp_state {
    struct us_udp_pcb *hash[UDP_HASH];
};

static inline struct us_udp_state *udp_state(const struct us_stack *st) { return st->slot[US_UDP_SLOT]; }
static inline unsigned port_hash(uint16_t port) { return port & (UDP_HASH - 1); }

int us_udp_init(struct us_stack *st, char *err, size_t errlen)
{
    st->slot[US_UDP_SLOT] = calloc(1, sizeof(struct us_udp_state));
    if (!udp_state(st)) {
        snprintf(err, errlen, "udp layer: out of memory");
        return -ENOMEM;
    }
    return 0;
}

static void rxq_purge(struct us_udp_pcb *pcb)
{
    while (pcb->rx_count) {
        us_pkt_free(pcb->rxq[pcb->rx_head].pkt);
        pcb->rx_head = (pcb->rx_head + 1) % UDP_RXQ_MAX;
        pcb->rx_count--;
    }
    free(pcb->rxq);
    pcb->rxq = NULL;
    pcb->queued_bytes = 0;
}

void us_udp_fini(struct us_stack *st)
{
    for (unsigned i = 0; i < UDP_HASH; i++) {
        struct us_udp_pcb *p = udp_state(st)->hash[i], *n;
        for (; p; p = n) {
            n = p->hnext;
            rxq_purge(p);
            free(p);
        }
    }
    free(udp_state(st));
    st->slot[US_UDP_SLOT] = NULL;
}

static void hash_unlink(struct us_stack *st, struct us_udp_pcb *pcb)
{
    struct us_udp_pcb **pp = &udp_state(st)->hash[port_hash(pcb->lport)];
    for (; *pp; pp = &(*pp)->hnext)
        if (*pp == pcb) {
            *pp = pcb->hnext;
            return;
        }
}

static bool port_in_use(struct us_stack *st, us_ip4_t addr, uint16_t port, bool reuse)
{
    for (struct us_udp_pcb *p = udp_state(st)->hash[port_hash(port)]; p; p = p->hnext)
        if (p->bound && p->lport == port && (p->laddr == 0 || addr == 0 || p->laddr == addr) &&
            !(reuse && p->reuseaddr))
            return true;
    return false;
}

struct us_udp_pcb *us_udp_open(struct us_stack *st, int *err)
{
    (void)st;
    struct us_udp_pcb *pcb = calloc(1, sizeof(*pcb));
    if (!pcb) {
        *err = -ENOMEM;
        return NULL;
    }
    pcb->rcvbuf = UDP_DEFAULT_RCVBUF;
    return pcb;
}

static int do_bind(struct us_stack *st, struct us_udp_pcb *pcb, us_ip4_t addr, uint16_t port)
{
    if (addr && !us_ip_is_local(st, addr))
        return -EADDRNOTAVAIL;
    if (port == 0) {
        /* RFC 6056 algorithm 1: random start, linear probe */
        uint32_t n = (uint32_t)st->cfg.port_hi - st->cfg.port_lo + 1;
        uint32_t off = (uint32_t)us_rng_below(&st->rng, n);
        for (uint32_t i = 0; i < n; i++) {
            uint16_t cand = (uint16_t)(st->cfg.port_lo + (off + i) % n);
            if (!port_in_use(st, addr, cand, false)) {
                port = cand;
                break;
            }
        }
        if (port == 0)
            return -EADDRNOTAVAIL;
    } else if (port_in_use(st, addr, port, pcb->reuseaddr)) {
        return -EADDRINUSE;
    }
    pcb->laddr = addr;
    pcb->lport = port;
    pcb->bound = true;
    pcb->hnext = udp_state(st)->hash[port_hash(port)];
    udp_state(st)->hash[port_hash(port)] = pcb;
    return 0;
}

int us_udp_bind(struct us_stack *st, struct us_udp_pcb *pcb, const struct us_sockaddr *a)
{
    if (pcb->bound)
        return -EINVAL;
    return do_bind(st, pcb, a->addr, a->port);
}

int us_udp_connect(struct us_stack *st, struct us_udp_pcb *pcb, const struct us_sockaddr *a)
{
    if (a->addr == 0 || a->port == 0)
        return -EINVAL;
    if (!pcb->bound) {
        int rc = do_bind(st, pcb, 0, 0);
        if (rc < 0)
            return rc;
    }
    pcb->raddr = a->addr;
    pcb->rport = a->port;
    pcb->connected = true;
    return 0;
}

ssize_t us_udp_sendto(struct us_stack *st, struct us_udp_pcb *pcb, const void *buf, size_t len,
                      const struct us_sockaddr *to, us_time_t now)
{
    struct us_sockaddr dst;
    if (to) {
        dst = *to;
    } else if (pcb->connected) {
        dst.addr = pcb->raddr;
        dst.port = pcb->rport;
    } else {
        return -EDESTADDRREQ;
    }
    if (dst.port == 0 || dst.addr == 0)
        return -EINVAL;
    if (len > 65535 - 20 - UDP_HLEN)
        return -EMSGSIZE;
    if (pcb->pending_err) {
        int e = pcb->pending_err;
        pcb->pending_err = 0;
        return -e;
    }
    if (!pcb->bound) {
        int rc = do_bind(st, pcb, 0, 0);
        if (rc < 0)
            return rc;
    }
    struct us_pkt *pkt = us_pkt_alloc_size(st->pool, (uint32_t)(len + UDP_HLEN + 20 + US_ETH_HLEN));
    if (!pkt) {
        US_COUNT(st, UDP_DROP_NOMEM);
        return -ENOBUFS;
    }
    uint8_t *h = us_pkt_put(pkt, (uint32_t)(UDP_HLEN + len));
    us_ip4_t src = pcb->laddr ? pcb->laddr : st->cfg.ip;
    us_put16(h, pcb->lport);
    us_put16(h + 2, dst.port);
    us_put16(h + 4, (uint16_t)(UDP_HLEN + len));
    us_put16(h + 6, 0);
    memcpy(h + UDP_HLEN, buf, len);
    uint32_t sum = us_csum_pseudo(src, dst.addr, US_IPPROTO_UDP, (uint16_t)(UDP_HLEN + len));
    uint16_t c = us_csum_fold(us_csum_partial(h, UDP_HLEN + len, sum));
    us_put16(h + 6, c ? c : 0xffff); /* RFC 768: a computed zero is sent as all ones */
    struct us_ip_out o = {.src = src, .dst = dst.addr, .proto = US_IPPROTO_UDP};
    int rc = us_ip_output(st, pkt, &o, now);
    if (rc < 0)
        return rc;
    US_COUNT(st, UDP_TX);
    return (ssize_t)len;
}

static struct us_udp_pcb *lookup(struct us_stack *st, const struct us_ip_info *ip, uint16_t sport, uint16_t dport)
{
    struct us_udp_pcb *best = NULL;
    int best_score = -1;
    for (struct us_udp_pcb *p = udp_state(st)->hash[port_hash(dport)]; p; p = p->hnext) {
        if (!p->bound || p->lport != dport)
            continue;
        if (p->laddr && p->laddr != ip->dst)
            continue;
        int score = 0;
        if (p->connected) {
            if (p->raddr != ip->src || p->rport != sport)
                continue;
            score += 2;
        }
        if (p->laddr)
            score += 1;
        if (score > best_score) {
            best = p;
            best_score = score;
        }
    }
    return best;
}

void us_udp_input(struct us_stack *st, const struct us_ip_info *ip, const uint8_t *d, uint32_t len, us_time_t now)
{
    if (len < UDP_HLEN) {
        US_COUNT(st, UDP_DROP_SHORT);
        return;
    }
    uint16_t sport = us_get16(d), dport = us_get16(d + 2), ulen = us_get16(d + 4), csum = us_get16(d + 6);
    if (ulen < UDP_HLEN || ulen > len) {
        US_COUNT(st, UDP_DROP_BAD_LEN);
        return;
    }
    len = ulen; /* bytes past the UDP length are IP padding */
    if (csum != 0) {
        uint32_t sum = us_csum_pseudo(ip->src, ip->dst, US_IPPROTO_UDP, (uint16_t)len);
        if (us_csum_fold(us_csum_partial(d, len, sum)) != 0) {
            US_COUNT(st, UDP_DROP_BAD_CSUM);
            return;
        }
    }
    US_COUNT(st, UDP_RX);
    struct us_udp_pcb *pcb = lookup(st, ip, sport, dport);
    if (!pcb) {
        US_COUNT(st, UDP_DROP_NO_PORT);
        /* RFC 1122 4.1.3.1: port unreachable, never for broadcasts */
        if (!ip->broadcast)
            us_icmp_send_error(st, US_ICMP_UNREACH, US_ICMP_UNREACH_PORT, ip, now);
        return;
    }
    uint32_t plen = len - UDP_HLEN;
    if (pcb->rx_count >= UDP_RXQ_MAX || pcb->queued_bytes + plen > pcb->rcvbuf) {
        US_COUNT(st, UDP_DROP_RCVBUF_FULL);
        return;
    }
    if (!pcb->rxq && !(pcb->rxq = calloc(UDP_RXQ_MAX, sizeof(*pcb->rxq)))) {
        US_COUNT(st, UDP_DROP_NOMEM);
        return;
    }
    struct us_pkt *pkt = us_pkt_alloc_size(st->pool, plen);
    if (!pkt) {
        US_COUNT(st, UDP_DROP_NOMEM);
        return;
    }
    memcpy(us_pkt_put(pkt, plen), d + UDP_HLEN, plen);
    struct udp_dgram *slot = &pcb->rxq[(pcb->rx_head + pcb->rx_count) % UDP_RXQ_MAX];
    slot->pkt = pkt;
    slot->from.addr = ip->src;
    slot->from.port = sport;
    pcb->rx_count++;
    pcb->queued_bytes += plen;
}

ssize_t us_udp_recvfrom(struct us_stack *st, struct us_udp_pcb *pcb, void *buf, size_t len, struct us_sockaddr *from,
                        bool peek)
{
    (void)st;
    if (pcb->pending_err && pcb->rx_count == 0) {
        int e = pcb->pending_err;
        pcb->pending_err = 0;
        return -e;
    }
    if (pcb->rx_count == 0)
        return -EAGAIN;
    struct udp_dgram *dg = &pcb->rxq[pcb->rx_head];
    size_t n = dg->pkt->len < len ? dg->pkt->len : len;
    memcpy(buf, dg->pkt->data, n);
    if (from)
        *from = dg->from;
    if (peek)
        return (ssize_t)n;
    pcb->queued_bytes -= dg->pkt->len;
    us_pkt_free(dg->pkt);
    dg->pkt = NULL;
    pcb->rx_head = (pcb->rx_head + 1) % UDP_RXQ_MAX;
    pcb->rx_count--;
    return (ssize_t)n;
}

void us_udp_icmp_error(struct us_stack *st, const struct us_icmp_err *e, us_time_t now)
{
    (void)now;
    for (struct us_udp_pcb *p = udp_state(st)->hash[port_hash(e->sport)]; p; p = p->hnext) {
        if (p->lport != e->sport || (p->laddr && p->laddr != e->src))
            continue;
        /* Like BSD, only connected sockets learn about asynchronous errors. */
        if (p->connected && p->raddr == e->dst && p->rport == e->dport && e->type == US_ICMP_UNREACH)
            p->pending_err = (e->code == US_ICMP_UNREACH_PORT || e->code == US_ICMP_UNREACH_PROTO)
                                 ? ECONNREFUSED : EHOSTUNREACH;
    }
}

void us_udp_close(struct us_stack *st, struct us_udp_pcb *pcb)
{
    if (pcb->bound)
        hash_unlink(st, pcb);
    rxq_purge(pcb);
    free(pcb);
}

short us_udp_poll(struct us_stack *st, struct us_udp_pcb *pcb)
{
    (void)st;
    short ev = US_POLLOUT;
    if (pcb->rx_count)
        ev |= US_POLLIN;
    if (pcb->pending_err)
        ev |= US_POLLERR;
    return ev;
}

int us_udp_getname(struct us_stack *st, struct us_udp_pcb *pcb, struct us_sockaddr *l, struct us_sockaddr *r)
{
    if (l) {
        /* unbound address: 0 (any), or ours once connected — as BSD reports it */
        l->addr = pcb->laddr ? pcb->laddr : (pcb->connected ? st->cfg.ip : 0);
        l->port = pcb->lport;
    }
    if (r) {
        if (!pcb->connected)
            return -ENOTCONN;
        r->addr = pcb->raddr;
        r->port = pcb->rport;
    }
    return 0;
}

int us_udp_setsockopt(struct us_stack *st, struct us_udp_pcb *pcb, int level, int name, const void *val, size_t len)
{
    (void)st;
    if (level != US_SOL_SOCKET || len < sizeof(int))
        return -EINVAL;
    int v;
    memcpy(&v, val, sizeof(v));
    switch (name) {
    case US_SO_REUSEADDR:
        pcb->reuseaddr = v != 0;
        return 0;
    case US_SO_RCVBUF:
        if (v < 256)
            return -EINVAL;
        pcb->rcvbuf = (uint32_t)v;
        return 0;
    case US_SO_SNDBUF:
        return 0; /* datagrams are sent at once: nothing is buffered */
    default:
        return -ENOPROTOOPT;
    }
}

int us_udp_getsockopt(struct us_stack *st, struct us_udp_pcb *pcb, int level, int name, void *val, size_t *len)
{
    (void)st;
    if (level != US_SOL_SOCKET || *len < sizeof(int))
        return -EINVAL;
    int v;
    switch (name) {
    case US_SO_REUSEADDR: v = pcb->reuseaddr; break;
    case US_SO_RCVBUF: v = (int)pcb->rcvbuf; break;
    case US_SO_ERROR: v = pcb->pending_err; pcb->pending_err = 0; break;
    default: return -ENOPROTOOPT;
    }
    memcpy(val, &v, sizeof(v));
    *len = sizeof(v);
    return 0;
}
