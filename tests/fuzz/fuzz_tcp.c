/* libFuzzer harness for TCP: drives real connections with arbitrary segments.
 *
 * The harness plays the peer (198.18.0.1) of a stack (198.18.0.2) over a pipe
 * link. It completes a passive handshake to a listener on port 80 and, if the
 * first input byte asks for it, an active one (the stack connects to port
 * 8080), using valid segments it builds itself; then it interprets the rest of
 * the input as a script of operations:
 *
 *   segment     flags, SEQ/ACK as signed offsets from what the peer sent and
 *               what the stack sent, window, options (timestamps and SACK
 *               built from state, or raw option bytes from the input), payload
 *               length and a time advance; IPv4 and TCP checksums are correct so
 *               every segment reaches the TCP logic
 *   app         send / recv / shutdown / close / setsockopt on the stack side
 *   time        let virtual time run (timers: RTO, persist, keepalive, TIME_WAIT)
 *   new SYN     another connection to the listener, accept
 *   garbage     a raw TCP header from the input with valid checksums, or a raw
 *               Ethernet frame
 *
 * Frames the stack sends are parsed to keep the peer's idea of the stack's
 * sequence numbers and timestamps current. Everything is deterministic (seeded
 * stack, virtual clock) and freed at the end, so LeakSanitizer can check it. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <ustack/ustack.h>
#include "wire/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define US_IP 0xC6120002u
#define PEER_IP 0xC6120001u
#define LPORT 80
#define APORT 8080
#define NCONN 4
#define MAX_OPS 2048

static const uint8_t us_mac[6] = {2, 0, 0, 0, 0, 2};
static const uint8_t peer_mac[6] = {2, 0, 0, 0, 0, 1};

/* Input reader: past the end every read yields zero. */
struct rd {
    const uint8_t *p;
    size_t n, off;
};
static uint8_t get8(struct rd *r) { return r->off < r->n ? r->p[r->off++] : 0; }
static uint16_t get16(struct rd *r) { return (uint16_t)((get8(r) << 8) | get8(r)); }
static uint32_t get32(struct rd *r) { return ((uint32_t)get16(r) << 16) | get16(r); }
static size_t getbytes(struct rd *r, uint8_t *dst, size_t n)
{
    size_t k = r->n - r->off < n ? r->n - r->off : n;
    memcpy(dst, r->p + r->off, k);
    memset(dst + k, 0, n - k);
    r->off += k;
    return n;
}

/* One connection as the peer sees it. */
struct conn {
    bool used;
    int fd;               /* stack descriptor, -1 once closed by the application */
    uint16_t pport;       /* peer's port */
    uint16_t sport;       /* stack's port */
    uint32_t snd_nxt;     /* next sequence number the peer sends */
    uint32_t stk_nxt;     /* highest sequence number the stack sent + 1 */
    uint32_t stk_isn;
    bool have_isn;
    bool ts;              /* timestamps in use */
    uint32_t ts_recent;   /* last TSval from the stack */
};

struct h {
    struct us_pktpool *pool;
    struct us_dev *a, *b;
    struct us_stack *st;
    us_time_t now;
    uint32_t peer_clock;  /* TSval the peer sends */
    int lfd;
    struct conn c[NCONN];
    uint8_t scratch[1 << 17];  /* >= the largest send (2 * 65535) and recv */
};

/* Wraps a TCP segment (header+options+payload) in IPv4 and Ethernet with
 * correct checksums and hands it to the stack. */
static void inject_tcp(struct h *h, uint8_t *tcp, size_t len)
{
    uint8_t f[US_ETH_HLEN + US_IP_HLEN + 1480];
    if (len > 1480)
        len = 1480;
    struct us_eth_repr e = {.type = US_ETHERTYPE_IPV4};
    memcpy(e.dst, us_mac, 6);
    memcpy(e.src, peer_mac, 6);
    us_eth_emit(f, &e);
    struct us_ip_hdr ip = {.total_len = (uint16_t)(US_IP_HLEN + len), .df = true, .ttl = 64,
                           .proto = US_IP_PROTO_TCP, .src = PEER_IP, .dst = US_IP};
    us_ip_hdr_write(f + US_ETH_HLEN, &ip);
    uint8_t *t = f + US_ETH_HLEN + US_IP_HLEN;
    memcpy(t, tcp, len);
    if (len >= US_TCP_HLEN)
        us_tcp_csum_fill(t, (uint32_t)len, PEER_IP, US_IP);
    struct us_pkt *p = us_pkt_from(h->pool, f, (uint32_t)(US_ETH_HLEN + US_IP_HLEN + len));
    if (p)
        us_stack_input(h->st, p, h->now);
}

static void inject_arp_request(struct h *h)
{
    uint8_t f[US_ETH_HLEN + 28];
    struct us_eth_repr e = {.type = US_ETHERTYPE_ARP};
    memset(e.dst, 0xff, 6);
    memcpy(e.src, peer_mac, 6);
    us_eth_emit(f, &e);
    uint8_t *a = f + US_ETH_HLEN;         /* RFC 826 request: Ethernet, IPv4 */
    us_put16(a, 1), us_put16(a + 2, US_ETHERTYPE_IPV4), a[4] = 6, a[5] = 4, us_put16(a + 6, 1);
    memcpy(a + 8, peer_mac, 6), us_put32(a + 14, PEER_IP);
    memset(a + 18, 0, 6), us_put32(a + 24, US_IP);
    struct us_pkt *p = us_pkt_from(h->pool, f, sizeof(f));
    if (p)
        us_stack_input(h->st, p, h->now);
}

static struct conn *find_conn(struct h *h, uint16_t pport, uint16_t sport)
{
    for (int i = 0; i < NCONN; i++)
        if (h->c[i].used && h->c[i].pport == pport && h->c[i].sport == sport)
            return &h->c[i];
    return NULL;
}

/* Learns from one TCP segment the stack sent. */
static void observe_tcp(struct h *h, const uint8_t *t, size_t len)
{
    struct us_tcp_repr r;
    enum us_tcp_parse_rc rc = us_tcp_parse(t, (uint32_t)len, &r);
    if (rc == US_TCP_SHORT || rc == US_TCP_BAD_OFFSET)
        return;
    struct conn *c = find_conn(h, r.dport, r.sport);
    if (!c)
        return;
    if (r.flags & US_TH_SYN) {
        c->stk_isn = r.seq;
        c->have_isn = true;
        c->stk_nxt = r.seq + 1;
    }
    uint32_t end = r.seq + r.len + !!(r.flags & US_TH_SYN) + !!(r.flags & US_TH_FIN);
    if (c->have_isn && (int32_t)(end - c->stk_nxt) > 0)
        c->stk_nxt = end;
    if (r.ts)                 /* the stack's own options: a malformed one ends the walk */
        c->ts_recent = r.tsval;
}

/* Receives and discards what the stack sent, learning sequence numbers. */
static void drain(struct h *h)
{
    struct us_pkt *out[64];
    int n;
    while ((n = us_dev_recv(h->b, out, 64, h->now)) > 0) {
        for (int i = 0; i < n; i++) {
            const uint8_t *f = out[i]->data;
            uint32_t len = out[i]->len;
            struct us_eth_repr e;
            struct us_ip_hdr ip;
            int el = us_eth_parse(f, len, &e), ihl;
            if (el >= 0 && e.type == US_ETHERTYPE_IPV4 &&
                (ihl = us_ip_hdr_check(f + el, len - (uint32_t)el, &ip)) >= 0 && ip.proto == US_IP_PROTO_TCP &&
                ip.total_len <= len - (uint32_t)el)
                observe_tcp(h, f + el + ihl, ip.total_len - (uint32_t)ihl);
            us_pkt_free(out[i]);
        }
    }
}

static void step(struct h *h, us_time_t dt)
{
    h->now += dt;
    h->peer_clock += (uint32_t)(dt / US_MS(1)) + 1;
    us_stack_poll(h->st, h->now);
    drain(h);
}

/* Let timers run for up to `span`, jumping from deadline to deadline. */
static void run_timers(struct h *h, us_time_t span)
{
    us_time_t end = h->now + span;
    for (int i = 0; i < 64 && h->now < end; i++) {
        us_time_t d = us_stack_poll(h->st, h->now);
        drain(h);
        if (d == US_TIME_NEVER || d > end)
            d = end;
        step(h, d > h->now ? d - h->now : US_MS(1));
    }
}

/* Options of a segment: timestamps from state and SACK blocks relative to the
 * stack's sequence space, or raw bytes from the input (into raw[40]). */
static void build_opts(struct h *h, struct conn *c, struct rd *r, uint8_t mode, struct us_tcp_repr *o,
                       uint8_t *raw)
{
    *o = (struct us_tcp_repr){.wscale = -1};
    if (mode & 0x80) { /* raw option bytes, padded to a multiple of 4 with EOL */
        o->raw_opts_len = (uint8_t)(get8(r) % 41);
        getbytes(r, raw, o->raw_opts_len);
        o->raw_opts = raw;
        return;
    }
    if (c->ts && !(mode & 0x40)) {
        o->ts = true;
        o->tsval = h->peer_clock - (mode & 0x20 ? 0x40000000u : 0); /* old TSval: PAWS */
        o->tsecr = c->ts_recent;
    }
    o->nsack = mode & 3;
    for (int i = 0; i < o->nsack; i++) {
        uint32_t le = c->stk_nxt - (get16(r) % 20000u);
        o->sack[i][0] = le;
        o->sack[i][1] = le + get16(r) % 3000u;
    }
}

/* Sends a segment with the options of `o`; returns the payload bytes sent. */
static size_t send_seg(struct h *h, struct conn *c, uint8_t flags, uint32_t seq, uint32_t ack, uint16_t win,
                       const struct us_tcp_repr *o, size_t plen)
{
    uint8_t t[1480];
    struct us_tcp_repr r = *o;
    r.sport = c->pport;
    r.dport = c->sport;
    r.seq = seq;
    r.ack = ack;
    r.flags = flags;
    r.wnd = win;
    uint32_t hlen = us_tcp_emit(t, &r);
    if (plen > sizeof(t) - hlen)
        plen = sizeof(t) - hlen;
    for (size_t i = 0; i < plen; i++)
        t[hlen + i] = (uint8_t)(seq + i); /* payload = low byte of its sequence number */
    inject_tcp(h, t, hlen + plen);
    return plen;
}

/* The peer's SYN options chosen by bits of `sel`. */
static void syn_opts(struct h *h, uint8_t sel, struct us_tcp_repr *o)
{
    *o = (struct us_tcp_repr){.wscale = -1};
    if (sel & 1)
        o->mss = (uint16_t)(536u + (sel >> 4) * 64u);
    if (sel & 2)
        o->wscale = (int8_t)((sel >> 5) * 2);
    o->sack_perm = (sel & 4) != 0;
    if (sel & 8) {
        o->ts = true;
        o->tsval = h->peer_clock;
    }
}

static struct conn *new_conn(struct h *h, uint16_t pport, uint16_t sport, uint32_t isn)
{
    for (int i = 0; i < NCONN; i++)
        if (!h->c[i].used) {
            h->c[i] = (struct conn){.used = true, .fd = -1, .pport = pport, .sport = sport, .snd_nxt = isn};
            return &h->c[i];
        }
    return NULL;
}

/* SYN to the listener, then (if the stack answered) the final ACK and accept. */
static void passive_open(struct h *h, uint16_t pport, uint32_t isn, uint8_t sel)
{
    struct conn *c = find_conn(h, pport, LPORT);
    if (!c && !(c = new_conn(h, pport, LPORT, isn)))
        return;
    struct us_tcp_repr o;
    uint8_t raw[40];
    syn_opts(h, sel, &o);
    c->snd_nxt = isn;
    send_seg(h, c, US_TH_SYN, c->snd_nxt, 0, 65535, &o, 0);
    c->snd_nxt++;
    c->ts = (sel & 8) != 0;
    step(h, US_US(100));
    if (!c->have_isn)
        return;
    build_opts(h, c, &(struct rd){0}, 0, &o, raw);
    send_seg(h, c, US_TH_ACK, c->snd_nxt, c->stk_nxt, 65535, &o, 0);
    step(h, US_US(100));
    struct us_sockaddr peer;
    int fd = us_accept(h->st, h->lfd, &peer, h->now);
    if (fd >= 0) {
        struct conn *owner = find_conn(h, peer.port, LPORT);
        if (owner && owner->fd < 0)
            owner->fd = fd;
        else
            us_close(h->st, fd, h->now);
    }
}

/* The stack connects to the peer's port 8080; the peer answers SYN-ACK. */
static void active_open(struct h *h, uint8_t sel, uint32_t isn)
{
    int fd = us_socket(h->st, US_SOCK_STREAM);
    if (fd < 0)
        return;
    struct us_sockaddr dst = {PEER_IP, APORT};
    us_connect(h->st, fd, &dst, h->now);
    struct us_sockaddr local;
    if (us_getsockname(h->st, fd, &local) < 0 || !local.port) {
        us_close(h->st, fd, h->now);
        return;
    }
    struct conn *c = new_conn(h, APORT, local.port, isn);
    if (!c) {
        us_close(h->st, fd, h->now);
        return;
    }
    c->fd = fd;
    step(h, US_US(100)); /* SYN leaves (ARP already resolved) */
    if (!c->have_isn)
        return;
    struct us_tcp_repr o;
    syn_opts(h, sel, &o);
    c->ts = (sel & 8) != 0;
    o.tsecr = c->ts_recent; /* the SYN-ACK echoes the stack's TSval */
    send_seg(h, c, US_TH_SYN | US_TH_ACK, c->snd_nxt, c->stk_nxt, 65535, &o, 0);
    c->snd_nxt++;
    step(h, US_US(100));
    us_connect(h->st, fd, &dst, h->now);
}

/* A segment described by the input, relative to the connection's state. */
static void op_segment(struct h *h, struct conn *c, struct rd *r, int kind)
{
    uint8_t flags = get8(r);
    int16_t seq_off = (int16_t)get16(r), ack_off = (int16_t)get16(r);
    uint16_t win = get16(r);
    uint8_t mode = get8(r);
    size_t plen = get16(r) % 1461u;
    if (kind == 0) { /* in-order data with a current ACK: makes progress */
        flags = (uint8_t)(0x10 | (flags & 0x09));
        seq_off = 0;
        ack_off = 0;
    }
    struct us_tcp_repr o;
    uint8_t raw[40];
    build_opts(h, c, r, mode, &o, raw);
    uint32_t seq = c->snd_nxt + (uint32_t)(int32_t)seq_off;
    uint32_t ack = c->stk_nxt + (uint32_t)(int32_t)ack_off;
    size_t sent = send_seg(h, c, flags, seq, ack, win, &o, (flags & US_TH_SYN) ? 0 : plen);
    if (seq == c->snd_nxt && !(flags & US_TH_RST)) /* the peer's stream moves on */
        c->snd_nxt += (uint32_t)sent + !!(flags & US_TH_FIN) + !!(flags & US_TH_SYN);
    step(h, US_MS(get8(r) & 0x3f));
}

static void op_app(struct h *h, struct conn *c, struct rd *r, int kind)
{
    if (c->fd < 0)
        return;
    uint16_t n = get16(r);
    switch (kind) {
    case 6: {
        size_t len = (size_t)n * 2; /* up to 128 KiB: more than the send buffer */
        for (size_t i = 0; i < len; i++)
            h->scratch[i] = (uint8_t)(i * 7);
        us_send(h->st, c->fd, h->scratch, len, 0, h->now);
        break;
    }
    case 7:
        for (int i = 0; i < 8; i++)
            if (us_recv(h->st, c->fd, h->scratch, (size_t)n + 1, 0, h->now) <= 0)
                break;
        break;
    case 8:
        us_shutdown(h->st, c->fd, n % 3, h->now);
        break;
    case 9:
        us_close(h->st, c->fd, h->now);
        c->fd = -1;
        break;
    default: { /* 10: socket options */
        int v = (n >> 8) & 1;
        static const int names[] = {US_TCP_NODELAY, US_TCP_CORK, US_SO_RCVBUF, US_SO_SNDBUF, US_SO_LINGER,
                                    US_SO_KEEPALIVE, US_TCP_KEEPIDLE, US_TCP_DELACK_MS};
        int name = names[n & 7];
        int level = name >= 100 ? US_IPPROTO_TCP : US_SOL_SOCKET;
        if (name == US_SO_LINGER) {
            struct us_linger l = {v, 0};
            us_setsockopt(h->st, c->fd, level, name, &l, sizeof(l), h->now);
        } else {
            int val = name == US_SO_RCVBUF || name == US_SO_SNDBUF ? (int)(n >> 4) * 16 : (int)(n >> 8);
            us_setsockopt(h->st, c->fd, level, name, &val, sizeof(val), h->now);
        }
        struct us_tcp_info ti;
        us_tcp_info(h->st, c->fd, &ti);
        break;
    }
    }
    step(h, 0);
}

/* Raw TCP header bytes (valid IP and TCP checksums) or a raw Ethernet frame. */
static void op_garbage(struct h *h, struct rd *r, bool frame)
{
    size_t len = frame ? get16(r) % 1515u : get8(r) % 80u;
    uint8_t buf[1515];
    getbytes(r, buf, len);
    if (frame) {
        struct us_pkt *p = us_pkt_from(h->pool, buf, (uint32_t)len);
        if (p)
            us_stack_input(h->st, p, h->now);
    } else {
        if (len >= 4)
            us_put16(buf + 2, (get8(r) & 1) || !h->c[0].used ? LPORT : h->c[0].sport); /* destination port */
        inject_tcp(h, buf, len);
    }
    step(h, US_MS(1));
}

static void accept_all(struct h *h)
{
    struct us_sockaddr peer;
    int fd;
    while ((fd = us_accept(h->st, h->lfd, &peer, h->now)) >= 0) {
        struct conn *c = find_conn(h, peer.port, LPORT);
        if (c && c->fd < 0)
            c->fd = fd;
        else
            us_close(h->st, fd, h->now);
    }
}

static void run_ops(struct h *h, struct rd *r)
{
    for (int ops = 0; ops < MAX_OPS && r->off < r->n; ops++) {
        uint8_t op = get8(r);
        int kind = op & 15;
        struct conn *c = &h->c[(op >> 4) % NCONN];
        if (!c->used)
            c = &h->c[0];
        if (kind <= 5) {
            if (c->used)
                op_segment(h, c, r, kind);
        } else if (kind <= 10) {
            op_app(h, c, r, kind);
        } else if (kind == 11) {
            run_timers(h, US_MS(get16(r)));
        } else if (kind == 12 || kind == 13) {
            op_garbage(h, r, kind == 13);
        } else if (kind == 14) {
            uint8_t sel = get8(r);
            passive_open(h, (uint16_t)(41000 + get8(r)), get32(r), sel);
        } else {
            accept_all(h);
        }
    }
}

static struct us_stack *make_stack(struct h *h)
{
    struct us_config cfg;
    us_config_default(&cfg);
    cfg.ip = US_IP;
    cfg.prefix_len = 24;
    cfg.deterministic = true;
    cfg.seed = 42;
    cfg.tcp_msl = US_SEC(1);          /* short TIME_WAIT: the end of a run frees everything soon */
    cfg.tcp_rto_max = US_SEC(4);
    cfg.tcp_retries = 4;
    cfg.tcp_syn_retries = 2;
    cfg.tcp_sndbuf = 64 * 1024;
    cfg.tcp_rcvbuf = 64 * 1024;
    cfg.tcp_max_conns = 64;
    char err[128];
    return us_stack_new(&cfg, h->a, h->now, err, sizeof(err));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct h *h = calloc(1, sizeof(*h));
    if (!h)
        return 0;
    h->pool = us_pktpool_new(US_PKT_HEADROOM + 14 + 1500 + 64, 4096);
    if (!h->pool || us_pipe_pair(h->pool, 1500, us_mac, peer_mac, &h->a, &h->b) < 0)
        abort();
    h->now = US_MS(1);
    h->peer_clock = 1000;
    if (!(h->st = make_stack(h)))
        abort();
    struct rd r = {data, size, 0};
    inject_arp_request(h); /* the stack learns the peer's MAC */
    step(h, US_MS(1));
    h->lfd = us_socket(h->st, US_SOCK_STREAM);
    struct us_sockaddr la = {0, LPORT};
    us_bind(h->st, h->lfd, &la, h->now);
    us_listen(h->st, h->lfd, 4, h->now);

    uint8_t sel = get8(&r);
    passive_open(h, 40000, get32(&r), sel);
    if (sel & 0x80)
        active_open(h, (uint8_t)(sel ^ 0x0f), get32(&r));
    run_ops(h, &r);

    /* close everything and let every timer run out */
    for (int i = 0; i < NCONN; i++)
        if (h->c[i].used && h->c[i].fd >= 0)
            us_close(h->st, h->c[i].fd, h->now);
    us_close(h->st, h->lfd, h->now);
    run_timers(h, US_SEC(600));
    us_stack_free(h->st);
    us_dev_destroy(h->a);
    us_dev_destroy(h->b);
    us_pktpool_free(h->pool);
    free(h);
    return 0;
}
