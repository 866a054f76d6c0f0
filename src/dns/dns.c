/* The DNS stub resolver (include/ustack/dns.h): lookups as state machines on
 * the transport interface, a TTL cache, a hosts file.
 *
 * Paths through this file:
 *   start   us_dns_lookup → literal address / hosts_find / cache_find → done
 *           at once; else a struct lookup and send_attempt
 *   send    send_attempt → (attempts used up: finish TIMEOUT/SERVFAIL) →
 *           udp_socket (a random port) → random ID → dns_build_query →
 *           us_tp_sendto; deadline = now + timeout·2^attempt (≤ timeout_max)
 *   receive us_dns_event → udp_readable: each datagram checked (source
 *           address and port, parse, QR, ID, question) → mismatched++ and
 *           dropped, or on_answer; tcp_event: connect done → write the
 *           length-prefixed query, read the length-prefixed answer → on_answer
 *   answer  on_answer: TC=1 over UDP → tcp_start (RFC 7766); SERVFAIL etc. →
 *           the next attempt at once (the next server); NXDOMAIN → finish
 *           negative; NOERROR → follow_chain: the CNAMEs from the name asked,
 *           the A records of the chain's end → finish OK, or a new query for
 *           the end of the chain, or NODATA
 *   timers  us_dns_step: an attempt past its deadline → timeouts++, the next
 *           attempt; a TCP query past tcp_timeout → the next UDP attempt
 *   finish  finish → cache_put (OK with a TTL, negative with an SOA; never
 *           TIMEOUT/SERVFAIL/LOOP, never a truncated answer) → the lookup
 *           leaves the list, its descriptors close, then done() runs (which
 *           may start lookups) */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ustack/dns.h>
#include "dns_wire.h"

#define PORT_LO 49152u   /* RFC 6335 dynamic ports, where source ports come from */
#define PORT_TRIES 8     /* random ports tried before the transport picks one */
#define TCP_MAX (2 + 65535)

struct cache_ent {
    struct dns_name key;     /* lower case */
    int status;              /* US_DNS_OK, US_DNS_NXDOMAIN, US_DNS_NODATA */
    us_ip4_t addr[US_DNS_MAX_ADDRS];
    uint32_t naddr, cnames;
    struct dns_name canon;
    us_time_t expires;       /* 0: free slot */
};

struct host_ent {
    struct dns_name name;
    us_ip4_t addr;
};

struct lookup {
    struct lookup *next;
    us_dns_done_fn done;
    void *arg;
    struct dns_name asked, qname; /* the name asked for; the one queried now (chain end) */
    struct us_dns_result res;
    uint32_t ttl;            /* smallest TTL along the chain so far */
    uint32_t attempt;        /* queries sent for qname */
    uint32_t server;         /* the server of the attempt in flight */
    int fd, tcp_fd;          /* -1 when none */
    uint16_t id;
    bool servfail;           /* some server answered with an error */
    us_time_t deadline;
    /* TCP: the query with its length, then the answer as it arrives */
    uint8_t *tcp_buf;
    size_t tcp_out, tcp_sent, tcp_got;
};

struct us_dns {
    struct us_tp *tp;
    struct us_dns_config cfg;
    struct lookup *head;
    uint32_t pending;
    struct cache_ent *cache;
    struct host_ent *hosts;
    uint32_t nhosts;
    struct us_dns_stats st;
};

const char *us_dns_strstatus(int s)
{
    switch (s) {
    case US_DNS_OK: return "ok";
    case US_DNS_NXDOMAIN: return "NXDOMAIN (no such name)";
    case US_DNS_NODATA: return "no A record (NODATA)";
    case US_DNS_SERVFAIL: return "server failure (SERVFAIL/REFUSED from every server)";
    case US_DNS_TIMEOUT: return "timed out (no answer from any server)";
    case US_DNS_LOOP: return "CNAME chain too long";
    case US_DNS_BADNAME: return "not a valid name";
    case US_DNS_NOSERVER: return "no DNS server configured (--dns ADDR)";
    case US_DNS_CANCELLED: return "cancelled";
    default: return "unknown status";
    }
}

void us_dns_config_default(struct us_dns_config *c)
{
    memset(c, 0, sizeof(*c));
    c->timeout = US_SEC(1);
    c->timeout_max = US_SEC(8);
    c->attempts = 4;
    c->tcp_timeout = US_SEC(5);
    c->cache_max = 256;
    c->max_ttl = 86400;
    c->max_neg_ttl = 3600;
    c->max_cname = 8;
    c->max_inflight = 64;
}

/* ---- hosts file ---- */

static int hosts_add(struct us_dns *d, const char *name, us_ip4_t ip, uint32_t *cap)
{
    struct dns_name n;
    if (dns_name_from_text(name, &n) < 0)
        return 0; /* not a name we could ask for: ignored */
    dns_name_lower(&n);
    if (d->nhosts == *cap) {
        uint32_t c = *cap ? *cap * 2 : 16;
        struct host_ent *h = realloc(d->hosts, c * sizeof(*h));
        if (!h)
            return -ENOMEM;
        d->hosts = h;
        *cap = c;
    }
    d->hosts[d->nhosts++] = (struct host_ent){n, ip};
    return 0;
}

/* "ADDR NAME [ALIAS…]" lines, '#' comments; IPv6 lines are skipped. */
static int hosts_load(struct us_dns *d, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "hosts file %s: %s", path, strerror(errno));
        return -1;
    }
    char line[1024];
    uint32_t cap = 0;
    int rc = 0;
    while (rc == 0 && fgets(line, sizeof(line), f)) {
        char *hash = strchr(line, '#');
        if (hash)
            *hash = 0;
        char *save = NULL, *tok = strtok_r(line, " \t\r\n", &save);
        struct in_addr ia;
        if (!tok || inet_pton(AF_INET, tok, &ia) != 1)
            continue;
        while (rc == 0 && (tok = strtok_r(NULL, " \t\r\n", &save)))
            rc = hosts_add(d, tok, ntohl(ia.s_addr), &cap);
    }
    fclose(f);
    if (rc < 0)
        snprintf(err, errlen, "hosts file %s: out of memory", path);
    return rc;
}

static uint32_t hosts_find(const struct us_dns *d, const struct dns_name *n, us_ip4_t *addr)
{
    uint32_t k = 0;
    for (uint32_t i = 0; i < d->nhosts && k < US_DNS_MAX_ADDRS; i++)
        if (dns_name_eq(&d->hosts[i].name, n))
            addr[k++] = d->hosts[i].addr;
    return k;
}

/* ---- cache ---- */

static struct cache_ent *cache_find(struct us_dns *d, const struct dns_name *key, us_time_t now)
{
    for (uint32_t i = 0; i < d->cfg.cache_max; i++) {
        struct cache_ent *e = &d->cache[i];
        if (e->expires && dns_name_eq(&e->key, key)) {
            if (now < e->expires)
                return e;
            e->expires = 0; /* expired: the slot is free again */
        }
    }
    return NULL;
}

/* The slot for key: its own, a free one, or the one expiring first. */
static struct cache_ent *cache_slot(struct us_dns *d, const struct dns_name *key)
{
    struct cache_ent *victim = NULL;
    for (uint32_t i = 0; i < d->cfg.cache_max; i++) {
        struct cache_ent *e = &d->cache[i];
        if (e->expires && dns_name_eq(&e->key, key))
            return e;
        if (!victim || (victim->expires && e->expires < victim->expires))
            victim = e;
    }
    if (victim && victim->expires)
        d->st.evictions++;
    return victim;
}

static void cache_put(struct us_dns *d, const struct lookup *l, uint32_t ttl, us_time_t now)
{
    if (!d->cfg.cache_max || !ttl)
        return;
    struct cache_ent *e = cache_slot(d, &l->asked);
    e->key = l->asked;
    dns_name_lower(&e->key);
    e->status = l->res.status;
    e->naddr = l->res.naddr;
    memcpy(e->addr, l->res.addr, sizeof(e->addr));
    e->cnames = l->res.cnames;
    e->canon = l->qname;
    e->expires = now + US_SEC(ttl);
}

/* ---- lookups ---- */

static struct lookup *lookup_of_fd(struct us_dns *d, int fd)
{
    for (struct lookup *l = d->head; l; l = l->next)
        if (l->fd == fd || l->tcp_fd == fd)
            return l;
    return NULL;
}

static void close_fds(struct us_dns *d, struct lookup *l, us_time_t now)
{
    if (l->fd >= 0)
        us_tp_close(d->tp, l->fd, now);
    if (l->tcp_fd >= 0)
        us_tp_close(d->tp, l->tcp_fd, now);
    l->fd = l->tcp_fd = -1;
    free(l->tcp_buf);
    l->tcp_buf = NULL;
}

static void unlink_lookup(struct us_dns *d, struct lookup *l)
{
    for (struct lookup **pp = &d->head; *pp; pp = &(*pp)->next)
        if (*pp == l) {
            *pp = l->next;
            d->pending--;
            return;
        }
}

/* The lookup ends with status: cached when it may be, removed, then done(). */
static void finish(struct us_dns *d, struct lookup *l, int status, uint32_t ttl, us_time_t now)
{
    l->res.status = status;
    l->res.finished = now;
    if (ttl > (status == US_DNS_OK ? d->cfg.max_ttl : d->cfg.max_neg_ttl))
        ttl = status == US_DNS_OK ? d->cfg.max_ttl : d->cfg.max_neg_ttl;
    l->res.ttl = ttl;
    dns_name_to_text(&l->qname, l->res.canon, sizeof(l->res.canon));
    if (status == US_DNS_OK || status == US_DNS_NXDOMAIN || status == US_DNS_NODATA)
        cache_put(d, l, ttl, now);
    unlink_lookup(d, l);
    close_fds(d, l, now);
    if (l->done)
        l->done(l->arg, &l->res);
    free(l);
}

static int random_u16(struct us_dns *d, uint16_t *v) { return us_tp_random(d->tp, v, sizeof(*v)); }

/* A UDP socket on a random port of 49152..65535 (RFC 6056: the port is half
 * of what a spoofer must guess, the ID the other half). */
static int udp_socket(struct us_dns *d, us_time_t now)
{
    for (int i = 0; i < PORT_TRIES; i++) {
        uint16_t r;
        if (random_u16(d, &r) < 0)
            break;
        struct us_tp_addr a = {0, (uint16_t)(PORT_LO + r % (65536u - PORT_LO))};
        int fd = us_tp_udp_open(d->tp, &a, now);
        if (fd != -EADDRINUSE)
            return fd;
    }
    struct us_tp_addr any = {0, 0};
    return us_tp_udp_open(d->tp, &any, now);
}

static struct us_tp_addr server_of(const struct us_dns *d, uint32_t i)
{
    struct us_tp_addr a = d->cfg.server[i];
    if (!a.port)
        a.port = 53;
    return a;
}

static void send_attempt(struct us_dns *d, struct lookup *l, us_time_t now);

static void next_attempt(struct us_dns *d, struct lookup *l, us_time_t now)
{
    close_fds(d, l, now);
    l->attempt++;
    send_attempt(d, l, now);
}

static void send_attempt(struct us_dns *d, struct lookup *l, us_time_t now)
{
    /* a failed send is a spent attempt: the loop ends within cfg.attempts */
    for (; l->attempt < d->cfg.attempts; l->attempt++) {
        l->server = l->attempt % d->cfg.nservers;
        l->fd = udp_socket(d, now);
        uint8_t q[DNS_UDP_MAX];
        size_t qlen = 0;
        if (l->fd >= 0 && random_u16(d, &l->id) == 0)
            qlen = dns_build_query(q, sizeof(q), l->id, &l->qname, DNS_T_A);
        struct us_tp_addr to = server_of(d, l->server);
        if (qlen && us_tp_sendto(d->tp, l->fd, q, qlen, &to, now) == (ssize_t)qlen &&
            us_tp_watch(d->tp, l->fd, US_TP_READ, d) == 0) {
            d->st.queries_sent++;
            l->res.queries++;
            us_time_t t = d->cfg.timeout;
            for (uint32_t i = 0; i < l->attempt && t < d->cfg.timeout_max; i++)
                t *= 2;
            l->deadline = now + (t < d->cfg.timeout_max ? t : d->cfg.timeout_max);
            return;
        }
        close_fds(d, l, now);
    }
    finish(d, l, l->servfail ? US_DNS_SERVFAIL : US_DNS_TIMEOUT, 0, now);
}

/* The query this lookup sent, and an answer to it? */
static bool answers_us(const struct lookup *l, const struct dns_msg *m)
{
    return (m->flags & DNS_F_QR) && DNS_OPCODE(m->flags) == 0 && m->id == l->id && m->qtype == DNS_T_A &&
           m->qclass == DNS_C_IN && dns_name_eq(&m->qname, &l->qname);
}

/* RFC 2308 5: the negative TTL is the SOA's minimum or its own TTL,
 * whichever is smaller; 0 (not cached) without an SOA. */
static uint32_t negative_ttl(const struct dns_msg *m)
{
    for (uint32_t i = 0; i < m->nrr; i++) {
        const struct dns_rr *r = &m->rr[i];
        if (r->section == 2 && r->type == DNS_T_SOA)
            return r->ttl < r->rd.soa.minimum ? r->ttl : r->rd.soa.minimum;
    }
    return 0;
}

static uint32_t min_u32(uint32_t a, uint32_t b) { return a < b ? a : b; }

/* NOERROR: the CNAMEs from qname in the answer section, then the A records
 * of the chain's end. */
static void follow_chain(struct us_dns *d, struct lookup *l, const struct dns_msg *m, us_time_t now)
{
    struct dns_name cur = l->qname;
    for (bool moved = true; moved;) {
        moved = false;
        for (uint32_t i = 0; i < m->nrr; i++) {
            const struct dns_rr *r = &m->rr[i];
            if (r->section == 1 && r->type == DNS_T_CNAME && r->cls == DNS_C_IN && dns_name_eq(&r->name, &cur)) {
                if (++l->res.cnames > d->cfg.max_cname) {
                    finish(d, l, US_DNS_LOOP, 0, now);
                    return;
                }
                cur = r->rd.cname;
                l->ttl = min_u32(l->ttl, r->ttl);
                moved = true;
                break;
            }
        }
    }
    bool chained = !dns_name_eq(&cur, &l->qname);
    l->qname = cur;
    l->res.naddr = 0;
    for (uint32_t i = 0; i < m->nrr && l->res.naddr < US_DNS_MAX_ADDRS; i++) {
        const struct dns_rr *r = &m->rr[i];
        if (r->section == 1 && r->type == DNS_T_A && r->cls == DNS_C_IN && dns_name_eq(&r->name, &cur)) {
            l->res.addr[l->res.naddr++] = r->rd.a;
            l->ttl = min_u32(l->ttl, r->ttl);
        }
    }
    if (l->res.naddr) {
        finish(d, l, US_DNS_OK, l->ttl, now);
    } else if (chained) {
        /* the chain leaves what this server told: ask for its end */
        close_fds(d, l, now);
        l->attempt = 0;
        l->servfail = false;
        send_attempt(d, l, now);
    } else {
        finish(d, l, US_DNS_NODATA, min_u32(l->ttl, negative_ttl(m)), now);
    }
}

static void tcp_start(struct us_dns *d, struct lookup *l, us_time_t now);

static void on_answer(struct us_dns *d, struct lookup *l, const struct dns_msg *m, bool tcp, us_time_t now)
{
    d->st.answers++;
    l->res.server = server_of(d, l->server);
    if ((m->flags & DNS_F_TC) && !tcp) {
        d->st.truncated++;
        tcp_start(d, l, now);
        return;
    }
    switch (DNS_RCODE(m->flags)) {
    case DNS_R_NOERROR:
        follow_chain(d, l, m, now);
        return;
    case DNS_R_NXDOMAIN:
        finish(d, l, US_DNS_NXDOMAIN, min_u32(l->ttl, negative_ttl(m)), now);
        return;
    default: /* SERVFAIL, REFUSED, FORMERR, NOTIMP: another server may do better */
        d->st.servfail++;
        l->servfail = true;
        next_attempt(d, l, now);
        return;
    }
}

static void udp_readable(struct us_dns *d, struct lookup *l, us_time_t now)
{
    struct us_tp_addr want = server_of(d, l->server);
    struct dns_msg m;
    for (;;) {
        uint8_t buf[4096];
        struct us_tp_addr from;
        ssize_t n = us_tp_recvfrom(d->tp, l->fd, buf, sizeof(buf), &from, now);
        if (n < 0)
            return;
        if (from.ip != want.ip || from.port != want.port || dns_parse(buf, (size_t)n, &m) < 0 ||
            !answers_us(l, &m)) {
            d->st.mismatched++;
            continue;
        }
        on_answer(d, l, &m, false, now);
        return; /* l may be gone */
    }
}

/* ---- TCP (RFC 7766) ---- */

static void tcp_failed(struct us_dns *d, struct lookup *l, us_time_t now) { next_attempt(d, l, now); }

static void tcp_start(struct us_dns *d, struct lookup *l, us_time_t now)
{
    close_fds(d, l, now);
    struct us_tp_addr to = server_of(d, l->server);
    l->tcp_buf = malloc(TCP_MAX);
    size_t qlen = 0;
    if (l->tcp_buf && random_u16(d, &l->id) == 0)
        qlen = dns_build_query(l->tcp_buf + 2, DNS_UDP_MAX, l->id, &l->qname, DNS_T_A);
    if (qlen)
        l->tcp_fd = us_tp_connect(d->tp, &to, now);
    if (!qlen || l->tcp_fd < 0 || us_tp_watch(d->tp, l->tcp_fd, US_TP_WRITE, d) < 0) {
        l->tcp_fd = l->tcp_fd < 0 ? -1 : l->tcp_fd;
        tcp_failed(d, l, now);
        return;
    }
    l->tcp_buf[0] = (uint8_t)(qlen >> 8);
    l->tcp_buf[1] = (uint8_t)qlen;
    l->tcp_out = qlen + 2;
    l->tcp_sent = l->tcp_got = 0;
    l->deadline = now + d->cfg.tcp_timeout;
    d->st.tcp_queries++;
    l->res.queries++;
    l->res.via_tcp = true;
}

/* 1 while more is to come, 0 with a whole answer in tcp_buf, -1 on failure. */
static int tcp_progress(struct us_dns *d, struct lookup *l, unsigned events, us_time_t now)
{
    if (l->tcp_sent < l->tcp_out) {
        if (!(events & (US_TP_WRITE | US_TP_ERR | US_TP_HUP)))
            return 1;
        if (us_tp_error(d->tp, l->tcp_fd) != 0)
            return -1;
        ssize_t n = us_tp_write(d->tp, l->tcp_fd, l->tcp_buf + l->tcp_sent, l->tcp_out - l->tcp_sent, now);
        if (n < 0)
            return n == -EAGAIN ? 1 : -1;
        l->tcp_sent += (size_t)n;
        if (l->tcp_sent == l->tcp_out) {
            l->tcp_got = 0; /* the buffer now takes the answer */
            if (us_tp_watch(d->tp, l->tcp_fd, US_TP_READ, d) < 0)
                return -1;
        }
        return 1;
    }
    for (;;) {
        size_t need = l->tcp_got < 2 ? 2 : 2 + ((size_t)l->tcp_buf[0] << 8 | l->tcp_buf[1]);
        if (l->tcp_got >= need && need > 2)
            return 0;
        ssize_t n = us_tp_read(d->tp, l->tcp_fd, l->tcp_buf + l->tcp_got, need - l->tcp_got, now);
        if (n == -EAGAIN)
            return 1;
        if (n <= 0)
            return -1; /* closed before a whole answer, or an error */
        l->tcp_got += (size_t)n;
    }
}

static void tcp_event(struct us_dns *d, struct lookup *l, unsigned events, us_time_t now)
{
    int rc = tcp_progress(d, l, events, now);
    if (rc > 0)
        return;
    struct dns_msg m;
    if (rc < 0 || dns_parse(l->tcp_buf + 2, l->tcp_got - 2, &m) < 0 || !answers_us(l, &m)) {
        if (rc == 0)
            d->st.mismatched++;
        tcp_failed(d, l, now);
        return;
    }
    on_answer(d, l, &m, true, now);
}

/* ---- the interface ---- */

struct us_dns *us_dns_new(struct us_tp *tp, const struct us_dns_config *cfg, char *err, size_t errlen)
{
    struct us_dns *d = calloc(1, sizeof(*d));
    if (!d) {
        snprintf(err, errlen, "us_dns_new: out of memory");
        return NULL;
    }
    d->tp = tp;
    d->cfg = *cfg;
    if (d->cfg.nservers > US_DNS_MAX_SERVERS)
        d->cfg.nservers = US_DNS_MAX_SERVERS;
    if (!d->cfg.attempts)
        d->cfg.attempts = 1;
    d->cfg.hosts = NULL; /* read now, not kept */
    if (d->cfg.cache_max && !(d->cache = calloc(d->cfg.cache_max, sizeof(*d->cache)))) {
        snprintf(err, errlen, "us_dns_new: out of memory for %u cache entries", d->cfg.cache_max);
        free(d);
        return NULL;
    }
    if (cfg->hosts && hosts_load(d, cfg->hosts, err, errlen) < 0) {
        us_dns_free(d, 0);
        return NULL;
    }
    return d;
}

void us_dns_free(struct us_dns *d, us_time_t now)
{
    if (!d)
        return;
    while (d->head)
        finish(d, d->head, US_DNS_CANCELLED, 0, now);
    free(d->cache);
    free(d->hosts);
    free(d);
}

/* A lookup that ends before any query: answered from what is known. */
static void answer_now(struct lookup *l, int status, const us_ip4_t *addr, uint32_t naddr, uint32_t ttl)
{
    l->res.status = status;
    l->res.naddr = naddr;
    if (naddr)
        memcpy(l->res.addr, addr, naddr * sizeof(*addr));
    l->res.ttl = ttl;
}

static bool known_now(struct us_dns *d, struct lookup *l, const char *name, us_time_t now)
{
    struct in_addr ia;
    if (inet_pton(AF_INET, name, &ia) == 1) {
        us_ip4_t ip = ntohl(ia.s_addr);
        answer_now(l, US_DNS_OK, &ip, 1, 0);
        return true;
    }
    if (dns_name_from_text(name, &l->asked) < 0) {
        answer_now(l, US_DNS_BADNAME, NULL, 0, 0);
        return true;
    }
    l->qname = l->asked;
    us_ip4_t addr[US_DNS_MAX_ADDRS];
    uint32_t n = hosts_find(d, &l->asked, addr);
    if (n) {
        d->st.hosts_hits++;
        l->res.from_hosts = true;
        answer_now(l, US_DNS_OK, addr, n, 0);
        return true;
    }
    const struct cache_ent *e = d->cfg.cache_max ? cache_find(d, &l->asked, now) : NULL;
    if (e) {
        d->st.cache_hits++;
        l->res.from_cache = true;
        l->res.cnames = e->cnames;
        l->qname = e->canon;
        answer_now(l, e->status, e->addr, e->naddr, (uint32_t)((e->expires - now) / US_SEC(1)));
        return true;
    }
    d->st.cache_misses++;
    if (!d->cfg.nservers) {
        answer_now(l, US_DNS_NOSERVER, NULL, 0, 0);
        return true;
    }
    return false;
}

int us_dns_lookup(struct us_dns *d, const char *name, us_dns_done_fn done, void *arg, us_time_t now)
{
    if (d->pending >= d->cfg.max_inflight)
        return -EBUSY;
    struct lookup *l = calloc(1, sizeof(*l));
    if (!l)
        return -ENOMEM;
    l->done = done;
    l->arg = arg;
    l->fd = l->tcp_fd = -1;
    l->ttl = UINT32_MAX;
    snprintf(l->res.name, sizeof(l->res.name), "%s", name);
    l->res.started = l->res.finished = now;
    if (known_now(d, l, name, now)) {
        if (l->qname.len)
            dns_name_to_text(&l->qname, l->res.canon, sizeof(l->res.canon));
        else /* an address, or not a name */
            snprintf(l->res.canon, sizeof(l->res.canon), "%s", name);
        if (done)
            done(arg, &l->res);
        free(l);
        return 0;
    }
    l->next = d->head;
    d->head = l;
    d->pending++;
    send_attempt(d, l, now);
    return 0;
}

void us_dns_cancel(struct us_dns *d, void *arg, us_time_t now)
{
    for (struct lookup *l = d->head; l;) {
        struct lookup *next = l->next;
        if (l->arg == arg) {
            l->done = NULL;
            finish(d, l, US_DNS_CANCELLED, 0, now);
        }
        l = next;
    }
}

bool us_dns_event(struct us_dns *d, const struct us_tp_event *ev, us_time_t now)
{
    if (ev->ctx != d)
        return false;
    struct lookup *l = lookup_of_fd(d, ev->fd);
    if (!l)
        return true; /* closed since the poll */
    if (ev->fd == l->tcp_fd)
        tcp_event(d, l, ev->events, now);
    else
        udp_readable(d, l, now);
    return true;
}

us_time_t us_dns_step(struct us_dns *d, us_time_t now)
{
    /* one expired lookup at a time: handling it may change the list */
    for (bool again = true; again;) {
        again = false;
        for (struct lookup *l = d->head; l; l = l->next)
            if (l->deadline <= now) {
                if (l->tcp_fd < 0)
                    d->st.timeouts++;
                next_attempt(d, l, now);
                again = true;
                break;
            }
    }
    us_time_t next = US_TIME_NEVER;
    for (struct lookup *l = d->head; l; l = l->next)
        if (l->deadline < next)
            next = l->deadline;
    return next;
}

uint32_t us_dns_pending(const struct us_dns *d) { return d->pending; }

struct resolve_wait {
    bool done;
    struct us_dns_result *r;
};

static void resolve_done(void *arg, const struct us_dns_result *r)
{
    struct resolve_wait *w = arg;
    *w->r = *r;
    w->done = true;
}

int us_dns_resolve(struct us_dns *d, const char *name, struct us_dns_result *r)
{
    struct resolve_wait w = {false, r};
    us_time_t now = us_tp_now(d->tp);
    int rc = us_dns_lookup(d, name, resolve_done, &w, now);
    while (rc == 0 && !w.done) {
        struct us_tp_event ev[8];
        int n = us_tp_poll(d->tp, ev, 8, now);
        for (int i = 0; i < n && !w.done; i++)
            us_dns_event(d, &ev[i], now);
        us_time_t next = w.done ? now : us_dns_step(d, now);
        if (w.done)
            break;
        rc = us_tp_wait(d->tp, next);
        now = us_tp_now(d->tp);
    }
    if (rc < 0 && !w.done)
        us_dns_cancel(d, &w, now);
    return rc < 0 && !w.done ? rc : 0;
}

void us_dns_get_stats(const struct us_dns *d, struct us_dns_stats *s) { *s = d->st; }

void us_dns_flush(struct us_dns *d)
{
    for (uint32_t i = 0; i < d->cfg.cache_max; i++)
        d->cache[i].expires = 0;
}
