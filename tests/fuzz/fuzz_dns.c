/* libFuzzer harness for DNS (src/dns): the wire parser, and the resolver
 * fed the input as the answers to its own queries.
 *
 * Input: MODE(1) then a DNS message.
 *   parser   the message is parsed; what parses must hold its bounds (names
 *            at most 255 bytes of labels at most 63, kept records within the
 *            counts) and survive a round trip through the writer: written
 *            uncompressed and parsed again, the same fields come back.
 *   resolver (always) a resolver on an in-memory transport looks up a name;
 *            every query it sends is answered with the input — bytes 2..11
 *            as the header's flags and counts, the ID of the query, then
 *            (MODE bit 0) the query's own question followed by the rest of
 *            the input, or (bit 0 clear) the input as it is — so the fuzzer
 *            gets past the ID and question checks and into CNAME chains,
 *            negative answers, truncation and the cache. Time then runs out
 *            every attempt, and the name is looked up again (the cache). */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <ustack/dns.h>
#include "dns/dns_wire.h"
#include "transport/tp_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- the parser ---- */

static void check_name(const struct dns_name *n)
{
    size_t i = 0;
    if (n->len < 1)
        abort();
    while (n->b[i]) {
        if (n->b[i] > DNS_LABEL_MAX)
            abort();
        i += (size_t)n->b[i] + 1;
        if (i >= n->len)
            abort();
    }
    if (i + 1 != n->len)
        abort();
}

static void parse_round_trip(const uint8_t *msg, size_t len)
{
    static struct dns_msg m, m2;
    if (dns_parse(msg, len, &m) != DNS_OK)
        return;
    check_name(&m.qname);
    if (m.nrr > DNS_RR_MAX || m.nrr > (uint32_t)m.ancount + m.nscount)
        abort();
    static uint8_t out[65536];
    struct dns_writer w;
    dns_w_init(&w, out, sizeof(out), m.id, m.flags);
    dns_w_question(&w, &m.qname, m.qtype, m.qclass);
    for (uint32_t i = 0; i < m.nrr; i++) {
        const struct dns_rr *r = &m.rr[i];
        check_name(&r->name);
        if (r->type == DNS_T_A)
            dns_w_rr(&w, r->section, &r->name, r->type, r->cls, r->ttl,
                     (uint8_t[4]){(uint8_t)(r->rd.a >> 24), (uint8_t)(r->rd.a >> 16), (uint8_t)(r->rd.a >> 8),
                                  (uint8_t)r->rd.a},
                     4);
        else if (r->type == DNS_T_CNAME)
            check_name(&r->rd.cname), dns_w_rr(&w, r->section, &r->name, r->type, r->cls, r->ttl, r->rd.cname.b,
                                               r->rd.cname.len);
        else if (r->type == DNS_T_SOA) {
            uint8_t rd[22] = {0};
            uint32_t v[5] = {r->rd.soa.serial, 0, 0, 0, r->rd.soa.minimum};
            for (int k = 0; k < 5; k++)
                for (int j = 0; j < 4; j++)
                    rd[2 + 4 * k + j] = (uint8_t)(v[k] >> (24 - 8 * j));
            dns_w_rr(&w, r->section, &r->name, r->type, r->cls, r->ttl, rd, sizeof(rd));
        } else {
            dns_w_rr(&w, r->section, &r->name, r->type, r->cls, r->ttl, NULL, 0);
        }
    }
    size_t n = dns_w_end(&w);
    if (!n)
        abort(); /* at most 32 records of at most 255 + 10 + 255 + 20 bytes fit */
    /* only the kept records were written: the counts say so */
    if (dns_parse(out, n, &m2) != DNS_OK || m2.id != m.id || m2.qtype != m.qtype || m2.nrr != m.nrr ||
        !dns_name_eq(&m2.qname, &m.qname))
        abort();
    for (uint32_t i = 0; i < m.nrr; i++)
        if (m2.rr[i].type != m.rr[i].type || m2.rr[i].ttl != m.rr[i].ttl || !dns_name_eq(&m2.rr[i].name, &m.rr[i].name) ||
            (m.rr[i].type == DNS_T_A && m2.rr[i].rd.a != m.rr[i].rd.a) ||
            (m.rr[i].type == DNS_T_CNAME && !dns_name_eq(&m2.rr[i].rd.cname, &m.rr[i].rd.cname)) ||
            (m.rr[i].type == DNS_T_SOA && (m2.rr[i].rd.soa.serial != m.rr[i].rd.soa.serial ||
                                           m2.rr[i].rd.soa.minimum != m.rr[i].rd.soa.minimum)))
            abort();
    char text[DNS_TEXT_MAX];
    dns_name_to_text(&m.qname, text, sizeof(text));
    if (strlen(text) >= sizeof(text))
        abort();
}

/* ---- the resolver on an in-memory transport ---- */

#define FD 5
#define MAX_ANSWERS 24

struct fake {
    struct us_tp base;
    const uint8_t *in;
    size_t len;
    bool own_question;
    bool open, pending;          /* a socket; a query waiting for its answer */
    uint16_t id;
    struct dns_name q;
    uint32_t answers;
    us_time_t now;
    uint64_t rnd;
};

static struct fake *F(struct us_tp *t) { return (struct fake *)(void *)t; }

static int f_udp_open(struct us_tp *t, const struct us_tp_addr *a, us_time_t now)
{
    (void)a, (void)now;
    if (F(t)->open)
        abort(); /* one query in flight: the last socket must be closed */
    F(t)->open = true;
    return FD;
}

static ssize_t f_sendto(struct us_tp *t, int fd, const void *buf, size_t len, const struct us_tp_addr *to, us_time_t now)
{
    (void)to, (void)now;
    struct fake *f = F(t);
    struct dns_msg *m = malloc(sizeof(*m));
    if (fd != FD || !m || dns_parse(buf, len, m) != DNS_OK)
        abort(); /* the resolver's own queries always parse */
    f->id = m->id;
    f->q = m->qname;
    f->pending = true;
    free(m);
    return (ssize_t)len;
}

static ssize_t f_recvfrom(struct us_tp *t, int fd, void *buf, size_t cap, struct us_tp_addr *from, us_time_t now)
{
    (void)fd, (void)now;
    struct fake *f = F(t);
    if (!f->pending)
        return -EAGAIN;
    f->pending = false; /* one answer per query, or none: it is lost */
    if (f->answers >= MAX_ANSWERS || f->len < 12)
        return -EAGAIN;
    f->answers++;
    uint8_t *b = buf;
    size_t n = 0;
    b[n++] = (uint8_t)(f->id >> 8), b[n++] = (uint8_t)f->id;
    memcpy(b + n, f->in + 2, 10), n += 10;
    const uint8_t *rest = f->in + 12;
    size_t rlen = f->len - 12;
    if (f->own_question) {
        b[4] = 0, b[5] = 1;
        memcpy(b + n, f->q.b, f->q.len), n += f->q.len;
        memcpy(b + n, "\0\1\0\1", 4), n += 4;
    }
    if (rlen > cap - n)
        rlen = cap - n;
    memcpy(b + n, rest, rlen), n += rlen;
    *from = (struct us_tp_addr){0x7f000035u, 53};
    return (ssize_t)n;
}

static int f_close(struct us_tp *t, int fd, us_time_t now)
{
    (void)now;
    if (fd == FD)
        F(t)->open = false;
    return 0;
}

static int f_connect(struct us_tp *t, const struct us_tp_addr *a, us_time_t now)
{
    (void)t, (void)a, (void)now;
    return -ECONNREFUSED; /* a TC=1 answer tries TCP: refused, the next attempt */
}

static int f_watch(struct us_tp *t, int fd, unsigned events, void *ctx)
{
    (void)t, (void)fd, (void)events, (void)ctx;
    return 0;
}

static int f_random(struct us_tp *t, void *buf, size_t len)
{
    struct fake *f = F(t);
    for (size_t i = 0; i < len; i++) {
        f->rnd = f->rnd * 6364136223846793005ull + 1442695040888963407ull;
        ((uint8_t *)buf)[i] = (uint8_t)(f->rnd >> 56);
    }
    return 0;
}

static us_time_t f_now(struct us_tp *t) { return F(t)->now; }

static const struct us_tp_ops fake_ops = {
    .name = "fake",
    .udp_open = f_udp_open,
    .sendto = f_sendto,
    .recvfrom = f_recvfrom,
    .close = f_close,
    .connect = f_connect,
    .watch = f_watch,
    .random = f_random,
    .now = f_now,
};

static void on_done(void *arg, const struct us_dns_result *r)
{
    int *done = arg;
    if (r->naddr > US_DNS_MAX_ADDRS || r->status < 0 || r->status > US_DNS_CANCELLED)
        abort();
    (*done)++;
}

static void resolve(const uint8_t *in, size_t len, bool own_question)
{
    struct fake f = {.base.ops = &fake_ops, .in = in, .len = len, .own_question = own_question, .now = 1};
    struct us_dns_config cfg;
    us_dns_config_default(&cfg);
    cfg.server[0] = (struct us_tp_addr){0x7f000035u, 53};
    cfg.nservers = 1;
    cfg.cache_max = 4;
    char err[128];
    struct us_dns *d = us_dns_new(&f.base, &cfg, err, sizeof(err));
    if (!d)
        abort();
    int done = 0;
    if (us_dns_lookup(d, "www.example.com", on_done, &done, f.now) != 0)
        abort();
    /* answers while they come, then every timer to its end */
    for (int round = 0; round < 256 && us_dns_pending(d); round++) {
        struct us_tp_event ev = {FD, US_TP_READ, d};
        if (f.pending && f.answers < MAX_ANSWERS) {
            us_dns_event(d, &ev, f.now);
            continue;
        }
        us_time_t next = us_dns_step(d, f.now);
        if (next == US_TIME_NEVER)
            break;
        f.now = next;
    }
    if (us_dns_pending(d) || done != 1)
        abort(); /* every lookup ends, once */
    f.now += US_SEC(1);
    if (us_dns_lookup(d, "WWW.example.com", on_done, &done, f.now) != 0)
        abort();
    us_dns_free(d, f.now);
    if (done != 2 || f.open)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    parse_round_trip(data + 1, size - 1);
    resolve(data + 1, size - 1, data[0] & 1);
    return 0;
}
