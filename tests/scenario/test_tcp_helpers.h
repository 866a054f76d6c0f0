/* Helpers for the TCP scenario tests: a wire tap that records every TCP
 * segment each host sends (parsed into a plain struct), optional per-segment
 * drop rules, and small socket helpers. Header-only: each scenario test is its
 * own executable. */
#ifndef TEST_TCP_HELPERS_H
#define TEST_TCP_HELPERS_H

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "testutil.h"
#include "wire/wire.h"

enum { F_FIN = 1, F_SYN = 2, F_RST = 4, F_PSH = 8, F_ACK = 16 };

struct seg {
    us_time_t t;
    int host;                 /* 0 = A sent it, 1 = B sent it */
    uint8_t flags;
    uint32_t seq, ack, len;
    uint16_t wnd;
    uint16_t mss;             /* 0 = absent */
    int ws;                   /* -1 = absent */
    bool sack_perm, ts;
    int nsack;
    uint32_t sack0_l, sack0_r;
};

struct trace;
/* Return true to drop this segment (the tap still records it, marked dropped). */
typedef bool (*tt_rule)(struct trace *tr, const struct seg *s, uint8_t *frame, uint32_t len);

struct tap { struct trace *tr; int host; };
struct trace {
    struct seg *v;
    size_t n, cap;
    bool *dropped;
    tt_rule rule;
    tt_rule rx_rule;          /* called when a host receives a segment (dir 1), before the stack sees it */
    void *arg;
    struct tap taps[2];
    bool on;
};

/* A captured frame's headers, for rules that edit it in place. */
struct tt_frame {
    struct us_ip_hdr ip;
    struct us_tcp_repr tcp;
    uint8_t *t;               /* the TCP header inside the frame */
};

/* One captured Ethernet frame → struct seg, through the stack's wire module
 * (src/wire): false when it is not a TCP/IPv4 segment. */
static inline bool tt_parse_frame(const uint8_t *f, uint32_t len, struct seg *s, struct tt_frame *fr)
{
    struct us_eth_repr e;
    int el = us_eth_parse(f, len, &e);
    if (el < 0 || e.type != US_ETHERTYPE_IPV4)
        return false;
    int ihl = us_ip_hdr_check(f + el, len - (uint32_t)el, &fr->ip);
    if (ihl < 0 || fr->ip.proto != US_IP_PROTO_TCP || fr->ip.total_len > len - (uint32_t)el)
        return false;
    fr->t = (uint8_t *)(uintptr_t)(f + el + ihl);
    const struct us_tcp_repr *r = &fr->tcp;
    if (us_tcp_parse(fr->t, fr->ip.total_len - (uint32_t)ihl, &fr->tcp) != US_TCP_OK)
        return false;
    memset(s, 0, sizeof(*s));
    s->seq = r->seq;
    s->ack = r->ack;
    s->flags = r->flags;
    s->wnd = r->wnd;
    s->len = r->len;
    s->mss = r->mss;
    s->ws = r->wscale;
    s->sack_perm = r->sack_perm;
    s->ts = r->ts;
    s->nsack = r->nsack;
    s->sack0_l = r->sack[0][0];
    s->sack0_r = r->sack[0][1];
    return true;
}

static inline bool tt_parse(const uint8_t *f, uint32_t len, struct seg *s)
{
    struct tt_frame fr;
    return tt_parse_frame(f, len, s, &fr);
}

/* After a rule edited the TCP bytes of fr: a correct checksum again. */
static inline void tt_fix_csum(const struct tt_frame *fr)
{
    us_tcp_csum_fill(fr->t, fr->tcp.hlen + fr->tcp.len, fr->ip.src, fr->ip.dst);
}

/* A middlebox that strips the window-scale option from SYN-ACKs (STALL.md
 * way 6): install with us_impair_set_mangle on the server's impair device. The
 * option bytes become NOPs and the TCP checksum is updated (RFC 1624). */
static inline void tt_strip_wscale(void *arg, int dir, uint8_t *f, uint32_t len, us_time_t now)
{
    (void)arg;
    (void)now;
    struct seg s;
    struct tt_frame fr;
    if (dir != 0 || !tt_parse_frame(f, len, &s, &fr) || s.flags != (F_SYN | F_ACK))
        return;
    struct us_tcp_opt o;
    uint32_t pos = US_TCP_HLEN;
    while (us_tcp_opt_next(fr.t, fr.tcp.hlen, &pos, &o) > 0)
        if (o.kind == US_TCPOPT_WSCALE) {
            us_tcp_opt_strip(fr.t, fr.tcp.hlen, &o);
            return;
        }
}

static inline bool tt_filter(void *arg, int dir, const uint8_t *frame, uint32_t len, us_time_t now)
{
    struct tap *tp = arg;
    struct trace *tr = tp->tr;
    struct seg s;
    if (!tr->on || !tt_parse(frame, len, &s))
        return false;
    s.t = now;
    s.host = tp->host;
    if (dir == 1)
        return tr->rx_rule ? tr->rx_rule(tr, &s, (uint8_t *)(uintptr_t)frame, len) : false;
    bool drop = tr->rule ? tr->rule(tr, &s, (uint8_t *)(uintptr_t)frame, len) : false;
    if (tr->n == tr->cap) {
        tr->cap = tr->cap ? tr->cap * 2 : 1024;
        tr->v = realloc(tr->v, tr->cap * sizeof(*tr->v));
        tr->dropped = realloc(tr->dropped, tr->cap * sizeof(*tr->dropped));
    }
    tr->dropped[tr->n] = drop;
    tr->v[tr->n++] = s;
    return drop;
}

static inline void tt_clear(struct trace *tr) { tr->n = 0; }

/* Segment r from src to dst with plen payload bytes (byte i is i), handed
 * straight to B's stack as a frame from A's link: what A's stack would not
 * send. r is emitted as given (r.wscale = -1: no window-scale option). */
static inline void tt_inject(struct tu_net *n, us_ip4_t src, us_ip4_t dst, const struct us_tcp_repr *r,
                             uint32_t plen)
{
    uint8_t f[US_ETH_HLEN + US_IP_HLEN + 1480];
    struct us_eth_repr e = {.type = US_ETHERTYPE_IPV4};
    memcpy(e.dst, n->b.mac, 6);
    memcpy(e.src, n->a.mac, 6);
    us_eth_emit(f, &e);
    uint8_t *t = f + US_ETH_HLEN + US_IP_HLEN;
    uint32_t hlen = us_tcp_emit(t, r);
    assert_true(hlen + plen <= 1480);
    for (uint32_t i = 0; i < plen; i++)
        t[hlen + i] = (uint8_t)i;
    us_tcp_csum_fill(t, hlen + plen, src, dst);
    struct us_ip_hdr ip = {.total_len = (uint16_t)(US_IP_HLEN + hlen + plen), .df = true, .ttl = 64,
                           .proto = US_IP_PROTO_TCP, .src = src, .dst = dst};
    us_ip_hdr_write(f + US_ETH_HLEN, &ip);
    struct us_pkt *p = us_pkt_from(n->b.pool, f, US_ETH_HLEN + US_IP_HLEN + hlen + plen);
    assert_non_null(p);
    us_stack_input(n->b.st, p, us_sim_now(n->sim));
}

/* Two hosts, taps on both, ARP warmed up by one ping, trace cleared. */
static inline void tt_net(struct tu_net *n, struct trace *tr, const struct tu_opts *o)
{
    memset(tr, 0, sizeof(*tr));
    tu_net_init(n, o);
    for (int h = 0; h < 2; h++) {
        tr->taps[h].tr = tr;
        tr->taps[h].host = h;
        us_impair_set_filter(h ? n->b.imp : n->a.imp, tt_filter, &tr->taps[h]);
    }
    us_ping_send(n->a.st, TU_IP_B, 1, 1, 8, us_sim_now(n->sim));
    us_sim_run_until(n->sim, us_sim_now(n->sim) + US_SEC(1));
    tr->on = true;
}

static inline void tt_free(struct tu_net *n, struct trace *tr)
{
    tu_net_free(n);
    free(tr->v);
    free(tr->dropped);
}

static inline us_time_t tt_now(struct tu_net *n) { return us_sim_now(n->sim); }
static inline void tt_run(struct tu_net *n, us_time_t dt) { us_sim_run_until(n->sim, us_sim_now(n->sim) + dt); }

static inline int tt_listen(struct us_stack *st, uint16_t port, int backlog, us_time_t now)
{
    int fd = us_socket(st, US_SOCK_STREAM);
    assert_true(fd >= 0);
    struct us_sockaddr a = {0, port};
    assert_int_equal(us_bind(st, fd, &a, now), 0);
    assert_int_equal(us_listen(st, fd, backlog, now), 0);
    return fd;
}

static inline void tt_setint(struct us_stack *st, int fd, int level, int name, int v, us_time_t now)
{
    assert_int_equal(us_setsockopt(st, fd, level, name, &v, sizeof(v), now), 0);
}

/* Connect A's new socket to B:port and accept on B; returns both descriptors. */
static inline void tt_pair(struct tu_net *n, int lfd, uint16_t port, int *afd, int *bfd)
{
    int a = us_socket(n->a.st, US_SOCK_STREAM);
    assert_true(a >= 0);
    struct us_sockaddr to = {TU_IP_B, port};
    assert_int_equal(us_connect(n->a.st, a, &to, tt_now(n)), -EINPROGRESS);
    int b = -EAGAIN;
    for (int i = 0; i < 10000 && b == -EAGAIN; i++) {
        us_sim_step(n->sim);
        b = us_accept(n->b.st, lfd, NULL, tt_now(n));
    }
    assert_true(b >= 0);
    int rc = -EALREADY;
    for (int i = 0; i < 10000 && rc == -EALREADY; i++) {
        rc = us_connect(n->a.st, a, &to, tt_now(n));
        if (rc == -EALREADY)
            us_sim_step(n->sim);
    }
    assert_int_equal(rc, 0);
    *afd = a;
    *bfd = b;
}

/* The usual fixture: two hosts with taps (tt_net, options o or NULL), B
 * listening on port, A's connection to it accepted: *afd and *bfd. Returns
 * the listening socket. */
static inline int tt_setup(struct tu_net *n, struct trace *tr, const struct tu_opts *o, uint16_t port, int *afd,
                           int *bfd)
{
    tt_net(n, tr, o);
    int l = tt_listen(n->b.st, port, 8, us_sim_now(n->sim));
    tt_pair(n, l, port, afd, bfd);
    return l;
}

/* Warms up the fixture's connection a -> b: `bytes` pattern bytes from A to
 * B within `limit`, then `idle` for the last ACKs, after which nothing may be
 * in flight. Fills *ti with A's view, clears the trace and returns the next
 * sequence number A sends (the last ACK B sent, which must exist). */
static inline uint32_t tt_warm_up(struct tu_net *n, struct trace *tr, int a, int b, uint64_t bytes, us_time_t limit,
                                  us_time_t idle, struct us_tcp_info *ti)
{
    struct xfer w = {.sim = n->sim, .ss = n->a.st, .ds = n->b.st, .sfd = a, .dfd = b, .total = bytes, .seed = 1};
    assert_int_equal(xfer_run(&w, tt_now(n) + limit), 0);
    tt_run(n, idle);
    assert_int_equal(us_tcp_info(n->a.st, a, ti), 0);
    assert_int_equal(ti->bytes_in_flight, 0);
    size_t i = tr->n;
    while (i > 0 && tr->v[i - 1].host != 1)
        i--;
    assert_true(i > 0);
    uint32_t base = tr->v[i - 1].ack;
    tt_clear(tr);
    return base;
}

static inline int tt_state(struct us_stack *st, int fd)
{
    struct us_tcp_info ti;
    assert_int_equal(us_tcp_info(st, fd, &ti), 0);
    return ti.state;
}

/* One connection, for us_sim_run_while: runs until its state leaves
 * ESTABLISHED, so the simulator stops at the exact event that changed it. */
struct tt_conn { struct us_stack *st; int fd; };
static inline bool tt_established(void *arg)
{
    struct tt_conn *c = arg;
    return tt_state(c->st, c->fd) == US_TCP_ESTABLISHED;
}

/* Count of control blocks in a stack (netstat). */
static inline void tt_count_cb(void *arg, const struct us_conn_info *c) { (void)c; (*(int *)arg)++; }
static inline int tt_conns(struct us_stack *st)
{
    int k = 0;
    us_tcp_foreach(st, tt_count_cb, &k);
    return k;
}

#endif
