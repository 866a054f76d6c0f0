/* A tiny DNS server for the resolver's tests, on the transport interface so
 * the same server answers over kernel loopback (tests/unit/test_dns_resolver.c) and on
 * the second simulated ustack host (tests/scenario/test_dns.c). It answers A
 * queries from a table, logs every query it gets (time, ID, source port,
 * over UDP or TCP), and misbehaves on request: drops queries, answers with
 * TC=1, sends spoofed answers first, answers with an error RCODE. */
#ifndef TEST_DNS_SERVER_H
#define TEST_DNS_SERVER_H

#include <errno.h>
#include <string.h>
#include <ustack/dns.h>
#include <ustack/transport.h>
#include "dns/dns_wire.h"

enum { TS_A = 1, TS_CNAME = 5, TS_EMPTY = 0 /* the name exists, without A */ };
struct ts_rec {
    const char *name;
    int type;
    uint32_t addr;           /* TS_A */
    const char *target;      /* TS_CNAME */
    uint32_t ttl;
};

#define TS_LOG 64
struct ts_query {
    us_time_t at;
    uint16_t id, port;
    bool tcp;
    char name[DNS_TEXT_MAX];
};

struct ts_server {
    struct us_tp *tp;
    int udp, spoof_fd, lfd, cfd;
    struct us_tp_addr addr;      /* where it listens */
    const struct ts_rec *rec;
    size_t nrec;
    struct ts_server *also;      /* another server ts_serve serves too */
    uint32_t soa_ttl, soa_min;   /* the SOA of negative answers (soa_min 0: none) */
    /* misbehaviour */
    int drop;                    /* UDP queries to ignore */
    bool truncate;               /* every UDP answer: TC=1, no records */
    bool spoof;                  /* before each answer: wrong ID, wrong question, wrong port */
    int alien_fd;                /* > 0: spoof also the right answer from this socket (another address) */
    bool one_link;               /* a CNAME answer holds one link and nothing else */
    int rcode;                   /* answer every query with this RCODE when not 0 */
    /* what it saw */
    struct ts_query log[TS_LOG];
    uint32_t nlog, udp_queries, tcp_queries;
    uint8_t tcp_in[2 + 1024];
    size_t tcp_got;
};

static inline const struct ts_rec *ts_find(const struct ts_server *s, const struct dns_name *n)
{
    for (size_t i = 0; i < s->nrec; i++) {
        struct dns_name rn;
        if (dns_name_from_text(s->rec[i].name, &rn) == 0 && dns_name_eq(&rn, n))
            return &s->rec[i];
    }
    return NULL;
}

/* The answer to q (a parsed query) into buf; its length. */
static inline size_t ts_answer(const struct ts_server *s, const struct dns_msg *q, uint8_t *buf, size_t cap, bool tcp)
{
    struct dns_writer w;
    uint16_t flags = DNS_F_QR | DNS_F_AA | DNS_F_RD | DNS_F_RA;
    struct dns_name cur = q->qname;
    const struct ts_rec *r = ts_find(s, &cur);
    if (s->rcode) {
        dns_w_init(&w, buf, cap, q->id, (uint16_t)(flags | s->rcode));
        dns_w_question(&w, &q->qname, q->qtype, q->qclass);
        return dns_w_end(&w);
    }
    if (s->truncate && !tcp) {
        dns_w_init(&w, buf, cap, q->id, flags | DNS_F_TC);
        dns_w_question(&w, &q->qname, q->qtype, q->qclass);
        return dns_w_end(&w);
    }
    dns_w_init(&w, buf, cap, q->id, (uint16_t)(flags | (r ? 0 : DNS_R_NXDOMAIN)));
    dns_w_question(&w, &q->qname, q->qtype, q->qclass);
    bool any = false;
    for (int links = 0; r && links < 10; links++) {
        if (r->type == TS_CNAME) {
            struct dns_name t;
            dns_name_from_text(r->target, &t);
            dns_w_cname(&w, &cur, r->ttl, &t);
            any = true;
            cur = t;
            if (s->one_link)
                return dns_w_end(&w);
            r = ts_find(s, &cur);
            continue;
        }
        for (size_t i = 0; i < s->nrec; i++) {
            struct dns_name rn;
            if (s->rec[i].type == TS_A && dns_name_from_text(s->rec[i].name, &rn) == 0 && dns_name_eq(&rn, &cur)) {
                dns_w_a(&w, &cur, s->rec[i].ttl, s->rec[i].addr);
                any = true;
            }
        }
        break;
    }
    (void)any;
    bool negative = !r || r->type == TS_EMPTY;
    if (negative && s->soa_min) {
        struct dns_name zone;
        dns_name_from_text("test", &zone);
        dns_w_soa(&w, &zone, s->soa_ttl, s->soa_min);
    }
    return dns_w_end(&w);
}

static inline void ts_log(struct ts_server *s, const struct dns_msg *q, uint16_t port, bool tcp, us_time_t now)
{
    if (s->nlog < TS_LOG) {
        struct ts_query *l = &s->log[s->nlog++];
        l->at = now, l->id = q->id, l->port = port, l->tcp = tcp;
        dns_name_to_text(&q->qname, l->name, sizeof(l->name));
    }
}

/* Wrong ID, then the right ID for another question, then the right answer
 * from another port: each must be dropped by the resolver. */
static inline void ts_send_spoofs(struct ts_server *s, const struct dns_msg *q, const struct us_tp_addr *to, us_time_t now)
{
    uint8_t buf[DNS_UDP_MAX];
    struct dns_msg f = *q;
    f.id = (uint16_t)(q->id + 1);
    size_t n = ts_answer(s, &f, buf, sizeof(buf), false);
    us_tp_sendto(s->tp, s->udp, buf, n, to, now);
    f.id = q->id;
    dns_name_from_text("spoofed.test", &f.qname);
    struct dns_writer w;
    dns_w_init(&w, buf, sizeof(buf), q->id, DNS_F_QR | DNS_F_RA);
    dns_w_question(&w, &f.qname, DNS_T_A, DNS_C_IN);
    dns_w_a(&w, &q->qname, 3600, 0x0a0a0a0a);
    n = dns_w_end(&w);
    us_tp_sendto(s->tp, s->udp, buf, n, to, now);
    struct dns_msg g = *q;
    n = ts_answer(s, &g, buf, sizeof(buf), false);
    us_tp_sendto(s->tp, s->spoof_fd, buf, n, to, now);
    if (s->alien_fd > 0)
        us_tp_sendto(s->tp, s->alien_fd, buf, n, to, now);
}

static inline void ts_serve_udp(struct ts_server *s, us_time_t now)
{
    for (;;) {
        uint8_t buf[DNS_UDP_MAX + 1];
        struct us_tp_addr from;
        ssize_t n = us_tp_recvfrom(s->tp, s->udp, buf, sizeof(buf), &from, now);
        if (n < 0)
            return;
        struct dns_msg q;
        if (dns_parse(buf, (size_t)n, &q) < 0)
            continue;
        s->udp_queries++;
        ts_log(s, &q, from.port, false, now);
        if (s->drop > 0) {
            s->drop--;
            continue;
        }
        if (s->spoof)
            ts_send_spoofs(s, &q, &from, now);
        size_t len = ts_answer(s, &q, buf, DNS_UDP_MAX, false);
        us_tp_sendto(s->tp, s->udp, buf, len, &from, now);
    }
}

static inline void ts_serve_tcp(struct ts_server *s, us_time_t now)
{
    if (s->cfd < 0) {
        s->cfd = us_tp_accept(s->tp, s->lfd, NULL, now);
        if (s->cfd < 0)
            return;
        s->tcp_got = 0;
        us_tp_watch(s->tp, s->cfd, US_TP_READ, s);
    }
    for (;;) {
        ssize_t n = us_tp_read(s->tp, s->cfd, s->tcp_in + s->tcp_got, sizeof(s->tcp_in) - s->tcp_got, now);
        if (n <= 0) {
            if (n != -EAGAIN) {
                us_tp_close(s->tp, s->cfd, now);
                s->cfd = -1;
            }
            return;
        }
        s->tcp_got += (size_t)n;
        size_t need = s->tcp_got >= 2 ? 2u + ((size_t)s->tcp_in[0] << 8 | s->tcp_in[1]) : SIZE_MAX;
        struct dns_msg q;
        if (s->tcp_got < need || dns_parse(s->tcp_in + 2, need - 2, &q) < 0)
            continue;
        struct us_tp_addr peer = {0, 0};
        us_tp_peer_addr(s->tp, s->cfd, &peer);
        s->tcp_queries++;
        ts_log(s, &q, peer.port, true, now);
        uint8_t out[2 + 4096];
        size_t len = ts_answer(s, &q, out + 2, sizeof(out) - 2, true);
        out[0] = (uint8_t)(len >> 8), out[1] = (uint8_t)len;
        us_tp_write(s->tp, s->cfd, out, len + 2, now);
        s->tcp_got = 0;
    }
}

/* Serves whatever arrived (call after every wait). */
static inline void ts_serve(struct ts_server *s, us_time_t now)
{
    for (; s; s = s->also) {
        ts_serve_udp(s, now);
        ts_serve_tcp(s, now);
    }
}

static inline void ts_start(struct ts_server *s, struct us_tp *tp, us_ip4_t ip, uint16_t port, const struct ts_rec *rec,
                     size_t nrec)
{
    memset(s, 0, sizeof(*s));
    s->tp = tp;
    s->rec = rec, s->nrec = nrec;
    s->cfd = -1;
    us_time_t now = us_tp_now(tp);
    struct us_tp_addr a = {ip, port}, any = {ip, 0};
    s->udp = us_tp_udp_open(tp, &a, now);
    assert_true(s->udp >= 0);
    assert_int_equal(us_tp_local_addr(tp, s->udp, &s->addr), 0);
    s->addr.ip = ip;
    a.port = s->addr.port;
    s->lfd = us_tp_listen(tp, &a, 4, now);
    assert_true(s->lfd >= 0);
    s->spoof_fd = us_tp_udp_open(tp, &any, now);
    assert_true(s->spoof_fd >= 0);
    us_tp_watch(tp, s->udp, US_TP_READ, s);
    us_tp_watch(tp, s->lfd, US_TP_READ, s);
}

/* Runs the client's transport (and the server's, when another) until the
 * lookups of d are done or `limit` (then fails): events to the resolver,
 * the server served after every wait. */
static inline void ts_run(struct ts_server *s, struct us_tp *cli, struct us_dns *d, us_time_t limit)
{
    while (us_dns_pending(d)) {
        us_time_t now = us_tp_now(cli);
        if (now > limit)
            fail_msg("lookups still pending at %llu ns", (unsigned long long)now);
        struct us_tp_event ev[16];
        int n = us_tp_poll(cli, ev, 16, now);
        for (int i = 0; i < n; i++)
            us_dns_event(d, &ev[i], now);
        ts_serve(s, now);
        us_time_t next = us_dns_step(d, now);
        if (!us_dns_pending(d))
            break;
        us_tp_wait(cli, next < limit ? next : limit);
        ts_serve(s, us_tp_now(cli));
    }
}

/* A lookup's outcome, as its done callback saw it. */
struct ts_got {
    struct us_dns_result res;
    int done;
};

static inline void ts_on_done(void *arg, const struct us_dns_result *r)
{
    struct ts_got *g = arg;
    g->res = *r;
    g->done++;
}

/* One lookup of name run to its end (ts_run, at most `patience`). */
static inline const struct us_dns_result *ts_lookup(struct ts_server *s, struct us_tp *cli, struct us_dns *d, const char *name,
                                             struct ts_got *g, us_time_t patience)
{
    g->done = 0;
    assert_int_equal(us_dns_lookup(d, name, ts_on_done, g, us_tp_now(cli)), 0);
    ts_run(s, cli, d, us_tp_now(cli) + patience);
    assert_int_equal(g->done, 1);
    return &g->res;
}

#endif
